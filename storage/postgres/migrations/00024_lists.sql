-- +goose Up

-- Registrations that did not come from a family's chat (issue 15): from a school's or a ward's
-- list (source 'list': which list, which row, who sent it) or made by staff on a family's behalf
-- (source 'assisted': who registered, who witnessed the consent). Such a registration has no
-- chat until the family claims it (channel and chat_id ''), and may have no parent's name or
-- phone. Priority, matching, erasure and retention read these rows as any other.
CREATE TABLE import_lists (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id   text        NOT NULL,
    code          text        NOT NULL UNIQUE,
    -- The sender, "channel:id" (staff, never a family), with the role and scope it acted in.
    sent_by       text        NOT NULL CHECK (sent_by <> ''),
    role          text        NOT NULL,
    ward_code     text        NOT NULL DEFAULT '',
    school        text        NOT NULL DEFAULT '',
    -- sha256 of the file's bytes: a resend is recognised (and changes nothing).
    file_hash     text        NOT NULL,
    rows_read     integer     NOT NULL,
    accepted      integer     NOT NULL,
    duplicates    integer     NOT NULL,
    refused       integer     NOT NULL,
    created_at    timestamptz NOT NULL
);
CREATE INDEX import_lists_hash_idx ON import_lists (campaign_id, file_hash);
CREATE SEQUENCE import_list_code;

ALTER TABLE registrations ADD COLUMN source text NOT NULL DEFAULT 'chat'
    CHECK (source IN ('chat', 'list', 'assisted'));
ALTER TABLE registrations ADD COLUMN list_id bigint REFERENCES import_lists (id);
ALTER TABLE registrations ADD COLUMN list_row integer;
-- registered_by: the staff member ("channel:id") who sent the list or registered the family;
-- consent_witness: who saw the family consent in person (an assisted registration).
ALTER TABLE registrations ADD COLUMN registered_by text NOT NULL DEFAULT '';
ALTER TABLE registrations ADD COLUMN consent_witness text NOT NULL DEFAULT '';
ALTER TABLE registrations ADD CONSTRAINT registrations_list_check CHECK (
    (source = 'chat' AND list_id IS NULL) OR
    (source = 'list' AND list_id IS NOT NULL AND list_row IS NOT NULL AND registered_by <> '') OR
    (source = 'assisted' AND registered_by <> ''));
CREATE INDEX registrations_list_idx ON registrations (list_id) WHERE list_id IS NOT NULL;

-- A list or assisted registration may have no parent's name or phone.
ALTER TABLE registrations DROP CONSTRAINT registrations_parent_name_check;
ALTER TABLE registrations ADD CONSTRAINT registrations_parent_name_check
    CHECK (parent_name <> '' OR erased_at IS NOT NULL OR source <> 'chat');
ALTER TABLE registrations DROP CONSTRAINT registrations_parent_phone_check;
ALTER TABLE registrations ADD CONSTRAINT registrations_parent_phone_check
    CHECK (parent_phone ~ '^\+[1-9][0-9]{6,14}$' OR
           ((erased_at IS NOT NULL OR source <> 'chat') AND parent_phone = ''));

-- +goose Down
ALTER TABLE registrations DROP CONSTRAINT registrations_parent_phone_check;
ALTER TABLE registrations ADD CONSTRAINT registrations_parent_phone_check
    CHECK (parent_phone ~ '^\+[1-9][0-9]{6,14}$' OR (erased_at IS NOT NULL AND parent_phone = ''));
ALTER TABLE registrations DROP CONSTRAINT registrations_parent_name_check;
ALTER TABLE registrations ADD CONSTRAINT registrations_parent_name_check
    CHECK (parent_name <> '' OR erased_at IS NOT NULL);
DROP INDEX registrations_list_idx;
ALTER TABLE registrations DROP CONSTRAINT registrations_list_check;
ALTER TABLE registrations DROP COLUMN consent_witness;
ALTER TABLE registrations DROP COLUMN registered_by;
ALTER TABLE registrations DROP COLUMN list_row;
ALTER TABLE registrations DROP COLUMN list_id;
ALTER TABLE registrations DROP COLUMN source;
DROP SEQUENCE import_list_code;
DROP TABLE import_lists;
