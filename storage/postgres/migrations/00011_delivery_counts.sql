-- +goose Up

-- Deliveries handed over, counted by the child's campaign and ward and by quarter of an hour of
-- the hand-over (UTC), for the daily summary's chart (ReminderStore.DeliveriesByDay). Counting
-- them by joining 100,000 deliveries to a million registrations took 350 ms; summing these rows
-- takes a few. Quarters of an hour, not days, because the day is the campaign's local day and
-- every time zone's midnight falls on a quarter. Kept by statement triggers and striped like the
-- counters of migration 00008. A delivery counts once it has a delivered_at, which is set in the
-- same transaction as its registration's status 'delivered', so the counts add up to
-- Progress.Delivered.
CREATE TABLE delivery_counts (
    campaign_id text        NOT NULL,
    ward_code   text        NOT NULL,
    slot        timestamptz NOT NULL,
    stripe      smallint    NOT NULL,
    n           bigint      NOT NULL,
    PRIMARY KEY (campaign_id, ward_code, slot, stripe)
);

-- +goose StatementBegin
CREATE FUNCTION delivery_slot(t timestamptz) RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
    SELECT to_timestamp(floor(extract(epoch FROM t) / 900) * 900)
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION count_deliveries_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO delivery_counts AS c (campaign_id, ward_code, slot, stripe, n)
    SELECT r.campaign_id, r.ward_code, x.slot, (pg_backend_pid() % 16)::smallint, sum(x.d)
    FROM (SELECT registration_id, delivery_slot(delivered_at) AS slot, -1 AS d FROM old_rows WHERE delivered_at IS NOT NULL
          UNION ALL
          SELECT registration_id, delivery_slot(delivered_at), 1 FROM new_rows WHERE delivered_at IS NOT NULL) x
    JOIN registrations r ON r.id = x.registration_id
    GROUP BY r.campaign_id, r.ward_code, x.slot HAVING sum(x.d) <> 0
    ORDER BY r.campaign_id, r.ward_code, x.slot
    ON CONFLICT (campaign_id, ward_code, slot, stripe) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION count_deliveries_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO delivery_counts AS c (campaign_id, ward_code, slot, stripe, n)
    SELECT r.campaign_id, r.ward_code, delivery_slot(x.delivered_at), (pg_backend_pid() % 16)::smallint, count(*)
    FROM new_rows x JOIN registrations r ON r.id = x.registration_id
    WHERE x.delivered_at IS NOT NULL
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (campaign_id, ward_code, slot, stripe) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION count_deliveries_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO delivery_counts AS c (campaign_id, ward_code, slot, stripe, n)
    SELECT r.campaign_id, r.ward_code, delivery_slot(x.delivered_at), (pg_backend_pid() % 16)::smallint, -count(*)
    FROM old_rows x JOIN registrations r ON r.id = x.registration_id
    WHERE x.delivered_at IS NOT NULL
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (campaign_id, ward_code, slot, stripe) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION count_deliveries_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM delivery_counts;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER deliveries_count_insert AFTER INSERT ON deliveries
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_deliveries_insert();
CREATE TRIGGER deliveries_count_update AFTER UPDATE ON deliveries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_deliveries_change();
CREATE TRIGGER deliveries_count_delete AFTER DELETE ON deliveries
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION count_deliveries_delete();
CREATE TRIGGER deliveries_count_truncate AFTER TRUNCATE ON deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION count_deliveries_truncate();

INSERT INTO delivery_counts (campaign_id, ward_code, slot, stripe, n)
SELECT r.campaign_id, r.ward_code, delivery_slot(dl.delivered_at), 0, count(*)
FROM deliveries dl JOIN registrations r ON r.id = dl.registration_id
WHERE dl.delivered_at IS NOT NULL
GROUP BY 1, 2, 3;

-- +goose Down
DROP TRIGGER deliveries_count_truncate ON deliveries;
DROP TRIGGER deliveries_count_delete ON deliveries;
DROP TRIGGER deliveries_count_update ON deliveries;
DROP TRIGGER deliveries_count_insert ON deliveries;
DROP FUNCTION count_deliveries_truncate();
DROP FUNCTION count_deliveries_delete();
DROP FUNCTION count_deliveries_insert();
DROP FUNCTION count_deliveries_change();
DROP FUNCTION delivery_slot(timestamptz);
DROP TABLE delivery_counts;
