-- +goose Up

-- Small records a channel adapter shares between replicas, durably: a Zalo OA's token pair, say
-- (RecordStore). Writers take turns on a transaction-scoped advisory lock on the key, so a record
-- that does not exist yet is created once.
CREATE TABLE channel_records (
    key        text        PRIMARY KEY CHECK (key <> ''),
    data       jsonb       NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Files published as short-lived download links, for a channel that cannot carry them (Zalo and
-- a workbook): FileStore. The token is the link's secret; expired rows are swept.
CREATE TABLE file_links (
    token      text        PRIMARY KEY CHECK (token <> ''),
    name       text        NOT NULL CHECK (name <> ''),
    content    bytea       NOT NULL,
    size       bigint      NOT NULL CHECK (size >= 0),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX file_links_expires_idx ON file_links (expires_at);

-- Since when a channel will not carry messages to the contact until they write again (Zalo's
-- 7-day window); NULL while they are reachable. Unlike stopped, the person did nothing wrong and
-- is still queued for; the adapter refuses their messages at once and the outbox counts them.
ALTER TABLE contacts ADD COLUMN unreachable_since timestamptz;

-- A final status of its own for a message the channel would not carry because the person is out
-- of its window, so a broadcast's report tells them apart from real failures.
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'stopped', 'unreachable'));

-- +goose Down
UPDATE outbox SET status = 'failed' WHERE status = 'unreachable';
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'stopped'));
ALTER TABLE contacts DROP COLUMN unreachable_since;
DROP TABLE file_links;
DROP TABLE channel_records;
