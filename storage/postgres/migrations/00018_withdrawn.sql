-- +goose Up

-- A family withdraws a registration (/mydata, FamilyStore.Withdraw): it becomes 'withdrawn', for
-- good. An allocated one loses its pending delivery (the row is deleted; the audit keeps its code,
-- device and stock), its device goes back to ready and its stock back to stock. The counters of
-- migration 00008 follow the status by their triggers.
ALTER TABLE registrations DROP CONSTRAINT registrations_status_check;
ALTER TABLE registrations ADD CONSTRAINT registrations_status_check
    CHECK (status IN ('submitted', 'needs_info', 'verified', 'rejected', 'allocated', 'delivered', 'withdrawn'));

-- +goose Down
-- A withdrawn registration cannot be put back as it was: a Down over withdrawn rows fails here
-- rather than leave them unchecked.
ALTER TABLE registrations DROP CONSTRAINT registrations_status_check;
ALTER TABLE registrations ADD CONSTRAINT registrations_status_check
    CHECK (status IN ('submitted', 'needs_info', 'verified', 'rejected', 'allocated', 'delivered'));
