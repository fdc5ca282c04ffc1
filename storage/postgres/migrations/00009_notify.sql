-- +goose Up

-- Staff who asked for the daily summary and the milestones (/subscribe). role and ward_code are
-- the account's when it subscribed, kept for the record: what a subscriber gets follows the
-- staff table at sending time, so a revoked member gets nothing. Admins are named in the
-- configuration, not in staff, so their rows say 'admin' and the caller checks them against it.
CREATE TABLE subscriptions (
    channel     text        NOT NULL CHECK (channel <> ''),
    external_id text        NOT NULL CHECK (external_id <> ''),
    role        text        NOT NULL CHECK (role IN ('admin', 'city_official', 'education_office', 'ward_official',
                                                     'womens_union', 'volunteer', 'culture_info')),
    ward_code   text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (channel, external_id)
);

-- Announcements officials send to an audience (campaign.Broadcast). The messages themselves are
-- outbox rows of batch 'broadcast:<code>', queued in the transaction that inserts the row. Codes
-- (BC-000012) come from the sequence broadcast_code_bc, made on first use like the pledge codes.
CREATE TABLE broadcasts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            text        NOT NULL UNIQUE,
    campaign_id     text        NOT NULL,
    audience        text        NOT NULL CHECK (audience IN ('parents', 'donors', 'staff', 'ward')),
    ward_code       text        NOT NULL DEFAULT '',
    texts           jsonb       NOT NULL
        CHECK (jsonb_typeof(texts) = 'object' AND coalesce(texts->>'vi', '') <> ''),
    by_channel      text        NOT NULL CHECK (by_channel <> ''),
    by_chat_id      text        NOT NULL CHECK (by_chat_id <> ''),
    recipients      integer     NOT NULL DEFAULT 0 CHECK (recipients >= 0),
    idempotency_key text        NOT NULL UNIQUE CHECK (idempotency_key <> ''),
    created_at      timestamptz NOT NULL,
    CONSTRAINT broadcasts_ward_check CHECK ((audience = 'ward') = (ward_code <> ''))
);

-- The chats of a campaign's parents, all of them or one ward's, read from the index alone when
-- its pages are all-visible (a broadcast's preview counts them, and the broadcast queues them).
CREATE INDEX registrations_campaign_ward_chat_idx ON registrations (campaign_id, ward_code, channel, chat_id);

-- +goose Down
DROP INDEX registrations_campaign_ward_chat_idx;
DROP TABLE broadcasts;
DROP SEQUENCE IF EXISTS broadcast_code_bc;
DROP TABLE subscriptions;
