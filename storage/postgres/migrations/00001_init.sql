-- +goose Up

-- People the bot talks to, one row per chat on a channel.
CREATE TABLE contacts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel     text        NOT NULL,
    external_id text        NOT NULL,
    name        text        NOT NULL DEFAULT '',
    language    text        NOT NULL DEFAULT '',
    role        text        NOT NULL DEFAULT '',
    ward_code   text,       -- the ward a staff member works in; NULL for parents and donors
    stopped     boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    UNIQUE (channel, external_id)
);

-- Children. Two parents may register the same child: the row is shared and the second
-- registration is flagged, so name_key (campaign.Fold of full_name) is deliberately not unique.
CREATE TABLE students (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id text        NOT NULL,
    full_name   text        NOT NULL CHECK (full_name <> ''),
    name_key    text        NOT NULL CHECK (name_key <> ''),
    birth_date  date        NOT NULL,
    ward_code   text        NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX students_identity_idx ON students (campaign_id, name_key, birth_date, ward_code);

CREATE TABLE registrations (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id         text        NOT NULL,
    code                text        NOT NULL UNIQUE,
    status              text        NOT NULL DEFAULT 'submitted'
        CHECK (status IN ('submitted', 'verified', 'rejected', 'allocated', 'delivered')),
    reject_reason       text        NOT NULL DEFAULT '',
    channel             text        NOT NULL,
    chat_id             text        NOT NULL,
    user_id             text        NOT NULL DEFAULT '',
    language            text        NOT NULL DEFAULT '',
    parent_name         text        NOT NULL CHECK (parent_name <> ''),
    parent_phone        text        NOT NULL CHECK (parent_phone ~ '^\+[1-9][0-9]{6,14}$'),
    student_id          bigint      NOT NULL REFERENCES students (id),
    level               text        NOT NULL
        CHECK (level IN ('primary', 'lower_secondary', 'upper_secondary')),
    grade               integer     NOT NULL CHECK (grade BETWEEN 1 AND 12),
    school              text        NOT NULL,
    ward_code           text        NOT NULL,
    address             text        NOT NULL,
    circumstances       text[]      NOT NULL DEFAULT '{}'
        CHECK (circumstances <@ ARRAY['poor', 'near_poor', 'orphan_one_covid', 'orphan_both_covid',
                                      'covid_hardship', 'other']::text[]),
    circumstance_other  text        NOT NULL DEFAULT '',
    device_situation    text        NOT NULL CHECK (device_situation IN ('none', 'shares_phone', 'broken')),
    needs               text[]      NOT NULL
        CHECK (cardinality(needs) > 0 AND needs <@ ARRAY['laptop', 'desktop', 'tablet', 'smartphone',
                                                         'sim_4g', 'usb_wifi', 'internet_package']::text[]),
    idempotency_key     text        NOT NULL UNIQUE CHECK (idempotency_key <> ''),
    possible_duplicate_of text[]    NOT NULL DEFAULT '{}',
    consent_at          timestamptz NOT NULL,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    CONSTRAINT registrations_level_grade_check CHECK (
        (level = 'primary' AND grade BETWEEN 1 AND 5) OR
        (level = 'lower_secondary' AND grade BETWEEN 6 AND 9) OR
        (level = 'upper_secondary' AND grade BETWEEN 10 AND 12))
);
CREATE INDEX registrations_chat_idx ON registrations (channel, chat_id);
CREATE INDEX registrations_ward_status_idx ON registrations (ward_code, status);
CREATE INDEX registrations_status_idx ON registrations (status);
-- The possible-duplicate lookup lists a student's registrations.
CREATE INDEX registrations_student_idx ON registrations (student_id);

-- The last number issued per code prefix. The row is updated inside the submit transaction, so a
-- rolled-back submit gives its number back and codes stay gap-free.
-- Registration codes come from one sequence per prefix, made on first use
-- (registration_code_<prefix>): see RegistrationStore.

CREATE TABLE audit_log (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL,
    actor   text        NOT NULL,
    action  text        NOT NULL,
    subject text        NOT NULL DEFAULT '',
    before  jsonb,
    after   jsonb
);
CREATE INDEX audit_log_subject_idx ON audit_log (subject);
CREATE INDEX audit_log_actor_at_idx ON audit_log (actor, at);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE registrations;
DROP TABLE students;
DROP TABLE contacts;
