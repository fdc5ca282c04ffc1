-- +goose Up

-- Verification: a registration officials asked about waits for the parent (needs_info).
ALTER TABLE registrations DROP CONSTRAINT registrations_status_check;
ALTER TABLE registrations ADD CONSTRAINT registrations_status_check
    CHECK (status IN ('submitted', 'needs_info', 'verified', 'rejected', 'allocated', 'delivered'));
-- reject_code is campaign.RejectReason; reject_reason (00001) keeps its text for "other".
ALTER TABLE registrations ADD COLUMN reject_code text NOT NULL DEFAULT ''
    CHECK (reject_code IN ('', 'not_in_area', 'has_device', 'duplicate', 'not_eligible', 'other'));
ALTER TABLE registrations ADD COLUMN decided_by text NOT NULL DEFAULT '';
ALTER TABLE registrations ADD COLUMN decided_at timestamptz;
CREATE INDEX registrations_phone_idx ON registrations (parent_phone);
CREATE INDEX pledges_phone_idx ON pledges (phone);
-- Already helped: a child with a delivered registration in any campaign, found by name and birth.
CREATE INDEX students_helped_idx ON students (name_key, birth_date);

-- Questions officials asked about a registration and the parent's answers, in order.
CREATE TABLE registration_notes (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    registration_id bigint      NOT NULL REFERENCES registrations (id),
    at              timestamptz NOT NULL,
    actor           text        NOT NULL CHECK (actor <> ''),
    answer          boolean     NOT NULL,
    body            text        NOT NULL CHECK (body <> '')
);
CREATE INDEX registration_notes_registration_idx ON registration_notes (registration_id, id);

-- A decision or action keyed by the update that made it, so a repeated update writes once.
-- kind names the action ("decide", "allocate", "deliver", "fail", "answer"), subject its record.
CREATE TABLE case_keys (
    key        text        NOT NULL,
    kind       text        NOT NULL,
    subject    text        NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (key, kind, subject)
);

-- An allocated device and/or connectivity on its way to a child. Codes come from the sequence
-- delivery_code_gh, made on first use. At most one delivery per registration: a child gets one
-- device (a returned device would make a new allocation after the registration is reset).
CREATE TABLE deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            text        NOT NULL UNIQUE,
    status          text        NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivered', 'confirmed')),
    registration_id bigint      NOT NULL UNIQUE REFERENCES registrations (id),
    device_id       bigint      UNIQUE REFERENCES devices (id),
    stock           text[]      NOT NULL DEFAULT '{}'
        CHECK (stock <@ ARRAY['sim_4g', 'usb_wifi', 'internet_package']::text[]),
    handover        text        NOT NULL DEFAULT 'home' CHECK (handover IN ('home', 'school')),
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_failure    text        NOT NULL DEFAULT ''
        CHECK (last_failure IN ('', 'not_home', 'wrong_address', 'other')),
    last_failure_note text      NOT NULL DEFAULT '',
    volunteer       text        NOT NULL DEFAULT '',
    recipient_name  text        NOT NULL DEFAULT '',
    photo_id        text        NOT NULL DEFAULT '',
    allocated_by    text        NOT NULL CHECK (allocated_by <> ''),
    allocated_at    timestamptz NOT NULL,
    delivered_at    timestamptz,
    confirmed_at    timestamptz,
    auto_confirmed  boolean     NOT NULL DEFAULT false,
    CONSTRAINT deliveries_something CHECK (device_id IS NOT NULL OR cardinality(stock) > 0),
    CONSTRAINT deliveries_delivered_check CHECK (
        (status = 'pending') = (delivered_at IS NULL)
        AND (status = 'confirmed') = (confirmed_at IS NOT NULL)
        AND (status = 'pending' OR recipient_name <> ''))
);
CREATE INDEX deliveries_status_idx ON deliveries (status, allocated_at);

-- +goose Down
DROP TABLE deliveries;
DROP SEQUENCE IF EXISTS delivery_code_gh;
DROP TABLE case_keys;
DROP TABLE registration_notes;
DROP INDEX students_helped_idx;
DROP INDEX pledges_phone_idx;
DROP INDEX registrations_phone_idx;
ALTER TABLE registrations DROP COLUMN decided_at;
ALTER TABLE registrations DROP COLUMN decided_by;
ALTER TABLE registrations DROP COLUMN reject_code;
ALTER TABLE registrations DROP CONSTRAINT registrations_status_check;
ALTER TABLE registrations ADD CONSTRAINT registrations_status_check
    CHECK (status IN ('submitted', 'verified', 'rejected', 'allocated', 'delivered'));
