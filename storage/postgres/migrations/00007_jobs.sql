-- +goose Up

-- Runs of scheduled jobs. The unique (job, run_key) is what lets several bot processes on one
-- database run each job once per key (per local day for a daily job): the first to insert the row
-- runs the job, the others find it there.
CREATE TABLE job_runs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job           text        NOT NULL CHECK (job <> ''),
    run_key       text        NOT NULL CHECK (run_key <> ''),
    scheduled_for timestamptz NOT NULL,
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz,
    late          boolean     NOT NULL DEFAULT false,
    result        jsonb,
    error         text        NOT NULL DEFAULT '',
    UNIQUE (job, run_key)
);
-- LastRun reads a job's latest run.
CREATE INDEX job_runs_job_scheduled_idx ON job_runs (job, scheduled_for DESC);

-- Messages to send, drained by the bot's outbox senders at the channel's pace. A message is
-- claimed (status 'sending') under a lease; a sender that dies leaves the lease to run out and
-- the message is claimed again.
CREATE TABLE outbox (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key         text        NOT NULL UNIQUE CHECK (key <> ''),
    batch       text        NOT NULL DEFAULT '',
    channel     text        NOT NULL CHECK (channel <> ''),
    chat_id     text        NOT NULL CHECK (chat_id <> ''),
    text        text        NOT NULL DEFAULT '',
    buttons     jsonb       NOT NULL DEFAULT '[]',
    file_path   text        NOT NULL DEFAULT '',
    file_name   text        NOT NULL DEFAULT '',
    status      text        NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'stopped')),
    attempts    integer     NOT NULL DEFAULT 0,
    next_at     timestamptz NOT NULL,
    lease_until timestamptz,
    last_error  text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    sent_at     timestamptz,
    CHECK ((status = 'sending') = (lease_until IS NOT NULL))
);
-- The claim query's two halves: messages due, and messages whose sender's lease ran out. Both
-- indexes are partial, so the sent history does not slow the claim down as it grows.
CREATE INDEX outbox_due_idx ON outbox (next_at, id) WHERE status = 'pending';
CREATE INDEX outbox_lease_idx ON outbox (lease_until) WHERE status = 'sending';
-- BatchProgress, and MarkStopped stopping a chat's other pending messages.
CREATE INDEX outbox_batch_idx ON outbox (batch, status) WHERE batch <> '';
CREATE INDEX outbox_chat_pending_idx ON outbox (channel, chat_id) WHERE status = 'pending';

-- +goose Down
DROP TABLE outbox;
DROP TABLE job_runs;
