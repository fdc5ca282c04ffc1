-- +goose Up

-- A run that failed (the database was away, a store refused) is claimed again, a few times, by
-- the scheduler's retries: attempts counts the claims of the run.
ALTER TABLE job_runs ADD COLUMN attempts integer NOT NULL DEFAULT 1 CHECK (attempts >= 1);

-- +goose Down
ALTER TABLE job_runs DROP COLUMN attempts;
