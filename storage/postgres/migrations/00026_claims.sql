-- +goose Up

-- A family claims the registrations a school's or ward's list, or staff on its behalf, made with
-- its phone (issue 15): the registration gets the family's chat and claimed_at says when.
ALTER TABLE registrations ADD COLUMN claimed_at timestamptz;

-- The registrations a phone may claim: made without a chat, not erased.
CREATE INDEX registrations_unclaimed_phone_idx ON registrations (campaign_id, parent_phone)
    WHERE chat_id = '' AND registered_by <> '' AND parent_phone <> '' AND erased_at IS NULL;

-- Wrong birth dates given for a phone. The phone is kept as its sha256 (hex), not as a number:
-- the row only needs to be found again. After three (campaign.ClaimTriesMax) the phone is
-- blocked: the family is told whom to contact. last_key keeps a retried update from counting
-- the same wrong date twice.
CREATE TABLE claim_attempts (
    campaign_id text        NOT NULL,
    phone_hash  text        NOT NULL,
    failures    integer     NOT NULL DEFAULT 0 CHECK (failures >= 0),
    last_key    text        NOT NULL DEFAULT '',
    blocked_at  timestamptz,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, phone_hash)
);

-- +goose Down
DROP TABLE claim_attempts;
DROP INDEX registrations_unclaimed_phone_idx;
ALTER TABLE registrations DROP COLUMN claimed_at;
