-- +goose Up

-- Idempotency keys of the volunteer and money writes, so that a flow step run again for the same
-- input (a lost compare-and-set on the dialog, a crash before it was saved) writes nothing twice.
-- A key is optional: rows written without one (and all rows from before) are never de-duplicated.
ALTER TABLE devices ADD COLUMN idempotency_key text CHECK (idempotency_key <> '');
CREATE UNIQUE INDEX devices_idempotency_key_idx ON devices (idempotency_key) WHERE idempotency_key IS NOT NULL;

ALTER TABLE stock ADD COLUMN idempotency_key text CHECK (idempotency_key <> '');
CREATE UNIQUE INDEX stock_idempotency_key_idx ON stock (idempotency_key) WHERE idempotency_key IS NOT NULL;

ALTER TABLE money ADD COLUMN idempotency_key text CHECK (idempotency_key <> '');
CREATE UNIQUE INDEX money_idempotency_key_idx ON money (idempotency_key) WHERE idempotency_key IS NOT NULL;

-- One row per RecordPurchase: what a money record paid for a batch of devices. The devices it
-- bought point to it, so a repeated purchase returns them. Purchases made before this migration
-- have no row.
CREATE TABLE purchases (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    money_id        bigint      NOT NULL REFERENCES money (id),
    cost            bigint      NOT NULL CHECK (cost > 0),
    bought_by       text        NOT NULL CHECK (bought_by <> ''),
    idempotency_key text        CHECK (idempotency_key <> ''),
    created_at      timestamptz NOT NULL
);
CREATE INDEX purchases_money_idx ON purchases (money_id);
CREATE UNIQUE INDEX purchases_idempotency_key_idx ON purchases (idempotency_key) WHERE idempotency_key IS NOT NULL;

ALTER TABLE devices ADD COLUMN purchase_id bigint REFERENCES purchases (id);
CREATE INDEX devices_purchase_idx ON devices (purchase_id);
ALTER TABLE devices ADD CONSTRAINT devices_purchase_money_check CHECK (purchase_id IS NULL OR money_id IS NOT NULL);

-- +goose Down
ALTER TABLE devices DROP COLUMN purchase_id;
DROP TABLE purchases;
ALTER TABLE money DROP COLUMN idempotency_key;
ALTER TABLE stock DROP COLUMN idempotency_key;
ALTER TABLE devices DROP COLUMN idempotency_key;
