-- +goose Up

-- A family writes to the officials of their ward about a registration ("talk to an official"):
-- the note is marked as a message (not an answer to a question), and the registration keeps when
-- the oldest message not yet handled came, so that it shows in the ward's /verify queue whatever
-- its status until an official handles it.
ALTER TABLE registration_notes ADD COLUMN message boolean NOT NULL DEFAULT false;
ALTER TABLE registrations ADD COLUMN message_at timestamptz;
CREATE INDEX registrations_message_idx ON registrations (campaign_id, ward_code) WHERE message_at IS NOT NULL;

-- +goose Down
DROP INDEX registrations_message_idx;
ALTER TABLE registrations DROP COLUMN message_at;
ALTER TABLE registration_notes DROP COLUMN message;
