-- +goose Up

-- format_code writes a record code the way people read them out: PL-000045, TB-000123; numbers
-- past 999999 keep all their digits.
-- +goose StatementBegin
CREATE FUNCTION format_code(p_prefix text, p_number bigint) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT p_prefix || '-' || CASE WHEN p_number < 1000000 THEN lpad(p_number::text, 6, '0')
                                   ELSE p_number::text END
$$;
-- +goose StatementEnd

-- What donors promise. Codes come from the sequence pledge_code_pl, made on first use by
-- PledgeStore like the registration codes. Enumerations are campaign.DonorKinds,
-- campaign.DeliveryMethod and campaign.PledgeStatus.
CREATE TABLE pledges (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            text        NOT NULL UNIQUE,
    status          text        NOT NULL DEFAULT 'pledged'
        CHECK (status IN ('pledged', 'partly', 'received', 'cancelled')),
    channel         text        NOT NULL CHECK (channel <> ''),
    chat_id         text        NOT NULL CHECK (chat_id <> ''),
    user_id         text        NOT NULL DEFAULT '',
    language        text        NOT NULL DEFAULT '',
    donor_kind      text        NOT NULL CHECK (donor_kind IN ('individual', 'business', 'organisation',
                                                               'religious', 'parents_council', 'telecom_operator')),
    donor_name      text        NOT NULL CHECK (donor_name <> ''),
    contact_person  text        NOT NULL DEFAULT '',
    phone           text        NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    delivery        text        NOT NULL CHECK (delivery IN ('ward_office', 'front', 'pickup')),
    ward_code       text        NOT NULL DEFAULT '',
    pickup_address  text        NOT NULL DEFAULT '',
    pickup_date     date,
    anonymous       boolean     NOT NULL DEFAULT false,
    idempotency_key text        NOT NULL UNIQUE CHECK (idempotency_key <> ''),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CONSTRAINT pledges_ward_check CHECK (delivery <> 'ward_office' OR ward_code <> ''),
    CONSTRAINT pledges_pickup_check CHECK (
        delivery <> 'pickup' OR (pickup_address <> '' AND pickup_date IS NOT NULL))
);
CREATE INDEX pledges_chat_idx ON pledges (channel, chat_id);
CREATE INDEX pledges_status_idx ON pledges (status);

-- The lines of a pledge, in the donor's order. Kinds are campaign.ItemKinds: devices and stock
-- are counted in quantity, money in amount (VND), internet packages also have their months.
CREATE TABLE pledge_items (
    pledge_id bigint  NOT NULL REFERENCES pledges (id),
    position  integer NOT NULL CHECK (position > 0),
    kind      text    NOT NULL CHECK (kind IN ('laptop', 'desktop', 'tablet', 'smartphone',
                                               'sim_4g', 'usb_wifi', 'internet_package', 'money')),
    quantity  integer NOT NULL DEFAULT 0 CHECK (quantity >= 0),
    used      boolean NOT NULL DEFAULT false,
    complete  boolean NOT NULL DEFAULT false,
    months    integer NOT NULL DEFAULT 0 CHECK (months BETWEEN 0 AND 36),
    amount    bigint  NOT NULL DEFAULT 0 CHECK (amount >= 0),
    PRIMARY KEY (pledge_id, position),
    CONSTRAINT pledge_items_measure_check CHECK (
        CASE kind
            WHEN 'money' THEN amount > 0 AND quantity = 0 AND months = 0
            WHEN 'internet_package' THEN quantity > 0 AND amount = 0 AND months > 0
            ELSE quantity > 0 AND amount = 0 AND months = 0
        END)
);

-- Money received against a pledge, and how much of it was spent on devices (RecordPurchase).
CREATE TABLE money (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pledge_id   bigint      NOT NULL REFERENCES pledges (id),
    amount      bigint      NOT NULL CHECK (amount > 0),
    spent       bigint      NOT NULL DEFAULT 0 CHECK (spent >= 0),
    note        text        NOT NULL DEFAULT '',
    recorded_by text        NOT NULL CHECK (recorded_by <> ''),
    created_at  timestamptz NOT NULL,
    CONSTRAINT money_spent_within_amount CHECK (spent <= amount)
);
CREATE INDEX money_pledge_idx ON money (pledge_id);

-- Devices tracked one by one. Labels come from the sequence device_label_tb, made on first use.
-- A device comes from a pledge (pledge_id), was bought with money (money_id), or is a walk-in gift
-- (neither). allocated_registration_id is the registration a device is allocated or delivered to,
-- set by the allocation work to come; PledgesByChat already counts delivered devices through it.
CREATE TABLE devices (
    id                        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    label                     text        NOT NULL UNIQUE,
    type                      text        NOT NULL CHECK (type IN ('laptop', 'desktop', 'tablet', 'smartphone')),
    state                     text        NOT NULL CHECK (state IN ('pledged', 'received', 'checking', 'ready',
                                                                    'needs_parts', 'unusable', 'allocated',
                                                                    'delivered', 'returned')),
    pledge_id                 bigint      REFERENCES pledges (id),
    money_id                  bigint      REFERENCES money (id),
    brand                     text        NOT NULL DEFAULT '',
    model                     text        NOT NULL DEFAULT '',
    serial                    text        NOT NULL DEFAULT '',
    used                      boolean     NOT NULL DEFAULT false,
    checks                    jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(checks) = 'object'),
    wiped                     boolean     NOT NULL DEFAULT false,
    cleaned                   boolean     NOT NULL DEFAULT false,
    parts_added               text        NOT NULL DEFAULT '',
    software_level            text        NOT NULL DEFAULT ''
        CHECK (software_level IN ('', 'primary', 'lower_secondary', 'upper_secondary')),
    note                      text        NOT NULL DEFAULT '',
    checked_by                text        NOT NULL DEFAULT '',
    allocated_registration_id bigint      REFERENCES registrations (id),
    created_at                timestamptz NOT NULL,
    updated_at                timestamptz NOT NULL,
    CONSTRAINT devices_origin_check CHECK (pledge_id IS NULL OR money_id IS NULL)
);
CREATE INDEX devices_state_idx ON devices (state);
CREATE INDEX devices_pledge_idx ON devices (pledge_id);
CREATE INDEX devices_money_idx ON devices (money_id);
CREATE INDEX devices_checked_by_idx ON devices (checked_by, created_at);
CREATE INDEX devices_allocated_registration_idx ON devices (allocated_registration_id);

-- The history of each device: one row per change of state; from_state is NULL when it entered.
CREATE TABLE device_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id  bigint      NOT NULL REFERENCES devices (id),
    at         timestamptz NOT NULL,
    actor      text        NOT NULL CHECK (actor <> ''),
    from_state text,
    to_state   text        NOT NULL,
    note       text        NOT NULL DEFAULT ''
);
CREATE INDEX device_events_device_idx ON device_events (device_id, id);

-- Connectivity counted rather than tracked: SIMs, USB Wi-Fi, internet packages with their months.
-- pledge_id is NULL for a walk-in gift.
CREATE TABLE stock (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pledge_id   bigint      REFERENCES pledges (id),
    kind        text        NOT NULL CHECK (kind IN ('sim_4g', 'usb_wifi', 'internet_package')),
    quantity    integer     NOT NULL CHECK (quantity > 0),
    months      integer     NOT NULL DEFAULT 0 CHECK (months BETWEEN 0 AND 36),
    received_by text        NOT NULL CHECK (received_by <> ''),
    created_at  timestamptz NOT NULL,
    CONSTRAINT stock_package_months CHECK ((kind = 'internet_package') = (months > 0))
);
CREATE INDEX stock_pledge_idx ON stock (pledge_id);

-- +goose Down
DROP TABLE stock;
DROP TABLE device_events;
DROP TABLE devices;
DROP TABLE money;
DROP TABLE pledge_items;
DROP TABLE pledges;
DROP FUNCTION format_code;
DROP SEQUENCE IF EXISTS pledge_code_pl;
DROP SEQUENCE IF EXISTS device_label_tb;
