-- +goose Up

-- The outbox carries notices to one person about their own case (a decision, a delivery, an
-- answer) beside bulk (broadcasts, summaries, reminders). Notices are claimed first, and by a
-- sender loop of their own, so that a parent is not told of a decision after 3,000 families
-- were told of a broadcast.
ALTER TABLE outbox ADD COLUMN lane text NOT NULL DEFAULT 'bulk' CHECK (lane IN ('notice', 'bulk'));

-- A broadcast's report to the official who sent it was the one notice before this column.
UPDATE outbox SET lane = 'notice' WHERE batch LIKE 'broadcast-done:%';

CREATE INDEX outbox_notice_due_idx ON outbox (next_at, id) WHERE status = 'pending' AND lane = 'notice';

-- +goose Down
DROP INDEX outbox_notice_due_idx;
ALTER TABLE outbox DROP COLUMN lane;
