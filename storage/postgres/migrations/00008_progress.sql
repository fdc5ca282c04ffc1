-- +goose Up

-- Counters behind the daily progress summary (ProgressStore, storage/postgres/progress.go).
-- Counting a million registrations by ward and status took 65 ms while every page was
-- all-visible, but 1.1 to 2.7 s once 5% of them had changed since the last vacuum (an index-only
-- scan then reads the table too), and verifying, allocating and delivering change registrations
-- all day. So the counts are kept as rows change, by statement triggers (one aggregated upsert
-- per statement, so a bulk load costs one statement, not a million), and reading them costs a
-- few hundred rows.
--
-- A count is split into stripes, the writing backend's pid modulo 16, so concurrent submits in
-- one ward do not queue on one row lock until their commit (a single gap-free counter row once
-- made 200 parents submitting together wait 0.4 s). A stripe may go negative (a registration
-- counted in one stripe is decided from another backend): the count is the sum over stripes.
-- Rows within a statement are upserted in key order, so two writers of one stripe lock in the
-- same order.
CREATE TABLE registration_counts (
    campaign_id text     NOT NULL,
    ward_code   text     NOT NULL,
    status      text     NOT NULL,
    stripe      smallint NOT NULL,
    n           bigint   NOT NULL,
    PRIMARY KEY (campaign_id, ward_code, status, stripe)
);

-- Devices by state, striped the same way. Devices belong to no campaign.
CREATE TABLE device_counts (
    state  text     NOT NULL,
    stripe smallint NOT NULL,
    n      bigint   NOT NULL,
    PRIMARY KEY (state, stripe)
);

-- +goose StatementBegin
CREATE FUNCTION count_registrations_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO registration_counts AS c (campaign_id, ward_code, status, stripe, n)
    SELECT campaign_id, ward_code, status, (pg_backend_pid() % 16)::smallint, count(*)
    FROM new_rows GROUP BY campaign_id, ward_code, status ORDER BY campaign_id, ward_code, status
    ON CONFLICT (campaign_id, ward_code, status, stripe) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION count_registrations_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO registration_counts AS c (campaign_id, ward_code, status, stripe, n)
    SELECT campaign_id, ward_code, status, (pg_backend_pid() % 16)::smallint, sum(d)
    FROM (SELECT campaign_id, ward_code, status, -1 AS d FROM old_rows
          UNION ALL
          SELECT campaign_id, ward_code, status, 1 FROM new_rows) x
    GROUP BY campaign_id, ward_code, status HAVING sum(d) <> 0
    ORDER BY campaign_id, ward_code, status
    ON CONFLICT (campaign_id, ward_code, status, stripe) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION count_registrations_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO registration_counts AS c (campaign_id, ward_code, status, stripe, n)
    SELECT campaign_id, ward_code, status, (pg_backend_pid() % 16)::smallint, -count(*)
    FROM old_rows GROUP BY campaign_id, ward_code, status ORDER BY campaign_id, ward_code, status
    ON CONFLICT (campaign_id, ward_code, status, stripe) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION count_registrations_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM registration_counts;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION count_devices_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO device_counts AS c (state, stripe, n)
    SELECT state, (pg_backend_pid() % 16)::smallint, count(*) FROM new_rows GROUP BY state ORDER BY state
    ON CONFLICT (state, stripe) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION count_devices_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO device_counts AS c (state, stripe, n)
    SELECT state, (pg_backend_pid() % 16)::smallint, sum(d)
    FROM (SELECT state, -1 AS d FROM old_rows UNION ALL SELECT state, 1 FROM new_rows) x
    GROUP BY state HAVING sum(d) <> 0 ORDER BY state
    ON CONFLICT (state, stripe) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION count_devices_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO device_counts AS c (state, stripe, n)
    SELECT state, (pg_backend_pid() % 16)::smallint, -count(*) FROM old_rows GROUP BY state ORDER BY state
    ON CONFLICT (state, stripe) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION count_devices_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM device_counts;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER registrations_count_insert AFTER INSERT ON registrations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_registrations_insert();
CREATE TRIGGER registrations_count_update AFTER UPDATE ON registrations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_registrations_update();
CREATE TRIGGER registrations_count_delete AFTER DELETE ON registrations
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION count_registrations_delete();
CREATE TRIGGER registrations_count_truncate AFTER TRUNCATE ON registrations
    FOR EACH STATEMENT EXECUTE FUNCTION count_registrations_truncate();

CREATE TRIGGER devices_count_insert AFTER INSERT ON devices
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_devices_insert();
CREATE TRIGGER devices_count_update AFTER UPDATE ON devices
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_devices_update();
CREATE TRIGGER devices_count_delete AFTER DELETE ON devices
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION count_devices_delete();
CREATE TRIGGER devices_count_truncate AFTER TRUNCATE ON devices
    FOR EACH STATEMENT EXECUTE FUNCTION count_devices_truncate();

-- Rows written before this migration. The triggers above hold their tables' locks until the
-- migration commits, so no write falls between the triggers and these counts.
INSERT INTO registration_counts (campaign_id, ward_code, status, stripe, n)
SELECT campaign_id, ward_code, status, 0, count(*) FROM registrations GROUP BY campaign_id, ward_code, status;
INSERT INTO device_counts (state, stripe, n)
SELECT state, 0, count(*) FROM devices GROUP BY state;

-- "New today": the registrations of one local day, read in creation order; ward_code is included
-- so a ward's count needs no visit to the table for pages already vacuumed.
CREATE INDEX registrations_campaign_created_idx ON registrations (campaign_id, created_at) INCLUDE (ward_code);

-- A ward's supply: the pledges brought to its office.
CREATE INDEX pledges_ward_office_idx ON pledges (ward_code) WHERE delivery = 'ward_office';

-- +goose Down
DROP INDEX pledges_ward_office_idx;
DROP INDEX registrations_campaign_created_idx;
DROP TRIGGER devices_count_truncate ON devices;
DROP TRIGGER devices_count_delete ON devices;
DROP TRIGGER devices_count_update ON devices;
DROP TRIGGER devices_count_insert ON devices;
DROP TRIGGER registrations_count_truncate ON registrations;
DROP TRIGGER registrations_count_delete ON registrations;
DROP TRIGGER registrations_count_update ON registrations;
DROP TRIGGER registrations_count_insert ON registrations;
DROP FUNCTION count_devices_truncate;
DROP FUNCTION count_devices_delete;
DROP FUNCTION count_devices_update;
DROP FUNCTION count_devices_insert;
DROP FUNCTION count_registrations_truncate;
DROP FUNCTION count_registrations_delete;
DROP FUNCTION count_registrations_update;
DROP FUNCTION count_registrations_insert;
DROP TABLE device_counts;
DROP TABLE registration_counts;
