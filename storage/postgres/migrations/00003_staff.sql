-- +goose Up

-- Invitations to join the staff. The code handed out is never stored, only its SHA-256, so a
-- leaked table does not let anyone join. The role list is campaign.StaffRoles; the ward rule is
-- campaign.Role.NeedsWard (ward roles have a ward, city roles none).
CREATE TABLE invitations (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code_hash   bytea       NOT NULL UNIQUE CHECK (octet_length(code_hash) = 32),
    role        text        NOT NULL CHECK (role IN ('city_official', 'education_office', 'ward_official',
                                                     'womens_union', 'volunteer', 'culture_info')),
    ward_code   text,
    created_by  text        NOT NULL CHECK (created_by <> ''),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    used_by     text,       -- channel:external_id of who redeemed it
    revoked_at  timestamptz,
    revoked_by  text,
    CONSTRAINT invitations_ward_check CHECK (
        (role IN ('ward_official', 'womens_union')) = (ward_code IS NOT NULL AND ward_code <> '')
        AND (ward_code IS NULL OR ward_code <> '')),
    CONSTRAINT invitations_expiry_check CHECK (expires_at > created_at),
    CONSTRAINT invitations_used_check CHECK ((used_at IS NULL) = (used_by IS NULL)),
    CONSTRAINT invitations_revoked_check CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
-- The open invitations an admin lists.
CREATE INDEX invitations_open_idx ON invitations (created_at) WHERE used_at IS NULL AND revoked_at IS NULL;

-- Staff roles bound by redeeming an invitation. A row is never deleted: a revoked or replaced role
-- stays, inactive, as history; revoked_by is the revoking actor, or invitation:<id> for the
-- invitation that replaced it.
CREATE TABLE staff (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel       text        NOT NULL CHECK (channel <> ''),
    external_id   text        NOT NULL CHECK (external_id <> ''),
    name          text        NOT NULL DEFAULT '',
    role          text        NOT NULL CHECK (role IN ('city_official', 'education_office', 'ward_official',
                                                       'womens_union', 'volunteer', 'culture_info')),
    ward_code     text,
    invitation_id bigint      NOT NULL UNIQUE REFERENCES invitations (id),
    active        boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoked_by    text,
    CONSTRAINT staff_ward_check CHECK (
        (role IN ('ward_official', 'womens_union')) = (ward_code IS NOT NULL AND ward_code <> '')
        AND (ward_code IS NULL OR ward_code <> '')),
    CONSTRAINT staff_revoked_check CHECK (active = (revoked_at IS NULL) AND (revoked_at IS NULL) = (revoked_by IS NULL))
);
-- An account has at most one active role.
CREATE UNIQUE INDEX staff_active_account_idx ON staff (channel, external_id) WHERE active;

-- +goose Down
DROP TABLE staff;
DROP TABLE invitations;
