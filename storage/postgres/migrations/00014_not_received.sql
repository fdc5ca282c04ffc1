-- +goose Up

-- A parent who never got the device handed over says so ("Chưa nhận được"): the delivery goes
-- back to pending with this reason and the parent's words, for the volunteers, and is never made
-- final automatically meanwhile (only delivered ones are).
ALTER TABLE deliveries DROP CONSTRAINT deliveries_last_failure_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_last_failure_check
    CHECK (last_failure IN ('', 'not_home', 'wrong_address', 'other', 'not_received'));

-- +goose Down
UPDATE deliveries SET last_failure = 'other' WHERE last_failure = 'not_received';
ALTER TABLE deliveries DROP CONSTRAINT deliveries_last_failure_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_last_failure_check
    CHECK (last_failure IN ('', 'not_home', 'wrong_address', 'other'));
