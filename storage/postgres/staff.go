package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/thuduc/maytinhchoem/campaign"
)

// invitationCodeBytes is the randomness of an invitation code: 192 bits, which nobody guesses.
// In base64 RawURLEncoding it is 32 characters of A-Z a-z 0-9 _ -, so it fits Telegram's /start
// deep-link payload (at most 64 characters of that alphabet) with room to spare.
const invitationCodeBytes = 24

// maxInvitationCodeLen is the longest text RedeemInvitation hashes; anything longer is no code of
// ours (Telegram allows 64 characters in a /start payload).
const maxInvitationCodeLen = 64

// redeemAttempts bounds the retries of a redemption that lost a race on the account's one active
// role (the same person redeeming two invitations at once); a deadlock is retried by DB.tx.
const redeemAttempts = 3

// errNoOpenInvitation is the message of every failed redemption: whether the code was unknown,
// used, expired or revoked is for the log only.
const errNoOpenInvitation = "no open invitation with that code"

// StaffStore keeps staff and their invitations, in the staff and invitations tables, and keeps
// the role and ward of the staff's contacts in step.
type StaffStore struct {
	db *DB
}

var _ campaign.StaffStore = (*StaffStore)(nil)

// NewStaffStore returns a StaffStore over db.
func NewStaffStore(db *DB) *StaffStore {
	return &StaffStore{db: db}
}

// CreateInvitation stores an invitation for inv.Role, in inv.WardCode for a ward role or a
// school, for the school inv.School (its name, stored in NFC with spaces folded) for a school,
// made by inv.CreatedBy, that expires at inv.ExpiresAt, and returns its code: 32 characters of
// A-Z a-z 0-9 _ - from crypto/rand, which fit a Telegram /start payload. Only the code's SHA-256
// is stored, and the audit row (staff.invite) records the role, ward, school and expiry, never
// the code.
//
// An invalid role, a ward role or school without a ward, a city role with one, a school without
// a name that says more than its level or another role with a school, or an expiry that is not
// after the clock's now is an EINVALID error. The ward is not checked against the campaign's
// wards: the store does not know the campaign, the caller does.
func (s *StaffStore) CreateInvitation(ctx context.Context, inv campaign.Invitation) (string, error) {
	role := campaign.Role(campaign.NormalizeText(string(inv.Role)))
	wardCode := campaign.NormalizeText(inv.WardCode)
	school := campaign.NormalizeText(inv.School)
	createdBy := campaign.NormalizeText(inv.CreatedBy)
	expires := inv.ExpiresAt
	if err := validateStaffRole(role, wardCode, school); err != nil {
		return "", err
	}
	if createdBy == "" {
		return "", campaign.Errorf(campaign.EINVALID, "invitation: the inviter is required")
	}
	now := s.db.now()
	expires = expires.UTC().Truncate(time.Microsecond)
	if !expires.After(now) {
		return "", campaign.Errorf(campaign.EINVALID, "invitation: expiry %s is not in the future", expires.Format(time.RFC3339))
	}

	code := newInvitationCode()
	hash := sha256.Sum256([]byte(code))
	err := s.db.tx(ctx, "create invitation", txOptions{}, func(tx *sqlx.Tx) error {
		var id int64
		err := tx.QueryRowxContext(ctx, `
			INSERT INTO invitations (code_hash, role, ward_code, school, created_by, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			RETURNING id`,
			hash[:], role, nullIfEmpty(wardCode), school, createdBy, now, expires,
		).Scan(&id)
		if err != nil {
			return wrapErr(err, "postgres: create invitation")
		}
		return insertAudit(ctx, tx, campaign.AuditEntry{
			At: now, Actor: createdBy, Action: string(campaign.ActionInvite), Subject: invitationSubject(id),
			After: struct {
				Role    campaign.Role `json:"role"`
				Ward    string        `json:"ward,omitempty"`
				School  string        `json:"school,omitempty"`
				Expires time.Time     `json:"expires"`
			}{role, wardCode, school, expires},
		})
	})
	if err != nil {
		return "", err
	}
	return code, nil
}

// newInvitationCode returns a fresh random code. crypto/rand.Read never fails (since Go 1.24 it
// crashes the program instead of returning an error), so there is no error to handle.
func newInvitationCode() string {
	b := make([]byte, invitationCodeBytes)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// RedeemInvitation binds the role of the invitation with code to who, once, in one transaction:
// the open invitation is locked, so of two people redeeming one code at once exactly one succeeds;
// an earlier active role of the account is deactivated (when replace is set); the invitation is
// marked used; the staff row is inserted; the contact's role and ward are set; the join is
// audited (staff.join); and notify's messages are queued in the outbox. who gives the account and
// name; its Role, WardCode and School are ignored, the invitation decides them.
//
// An account that has an active role and replace not set is Held: nothing changes, the
// invitation stays open, and the result names the invitation and the role kept.
//
// An unknown, used, expired or revoked code is an ENOTFOUND error with the same message for
// all four (the wrapping text says which, for the log), and nothing changes.
func (s *StaffStore) RedeemInvitation(ctx context.Context, code string, who campaign.Staff, replace bool, notify campaign.Notify[campaign.Redemption]) (campaign.Redemption, error) {
	code = campaign.NormalizeText(code)
	who.Channel = campaign.NormalizeText(who.Channel)
	who.ExternalID = campaign.NormalizeText(who.ExternalID)
	who.Name = truncateRunes(campaign.NormalizeText(who.Name), maxNameLen)
	if err := validateAccount(who.Channel, who.ExternalID); err != nil {
		return campaign.Redemption{}, err
	}
	if code == "" || len(code) > maxInvitationCodeLen {
		return campaign.Redemption{}, fmt.Errorf("postgres: redeem invitation: malformed code: %w",
			campaign.Errorf(campaign.ENOTFOUND, errNoOpenInvitation))
	}
	hash := sha256.Sum256([]byte(code))
	for attempt := 1; ; attempt++ {
		r, err := s.redeem(ctx, hash[:], who, replace, notify)
		if err != nil && attempt < redeemAttempts && isActiveRoleRace(err) {
			continue
		}
		if isActiveRoleRace(err) {
			return campaign.Redemption{}, fmt.Errorf("postgres: redeem invitation: %w: %w",
				campaign.Errorf(campaign.ECONFLICT, "the account is being given another role at the same time"), err)
		}
		return r, err
	}
}

// redeem is one attempt of RedeemInvitation.
func (s *StaffStore) redeem(ctx context.Context, hash []byte, who campaign.Staff, replace bool, notify campaign.Notify[campaign.Redemption]) (campaign.Redemption, error) {
	now := s.db.now()
	account := who.Channel + ":" + who.ExternalID
	var out campaign.Redemption
	err := s.db.tx(ctx, "redeem invitation", txOptions{}, func(tx *sqlx.Tx) error {
		out = campaign.Redemption{}
		// Under READ COMMITTED a second redeemer of the same row waits for the first's row lock,
		// then re-checks the WHERE clause against the committed row, finds it used and gets
		// nothing.
		var inv invitationRow
		err := tx.GetContext(ctx, &inv, selectInvitation+`
			WHERE code_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2
			FOR UPDATE`, hash, now)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("postgres: redeem invitation: %s code: %w",
				s.whyNotOpen(ctx, tx, hash, now), campaign.Errorf(campaign.ENOTFOUND, errNoOpenInvitation))
		}
		if err != nil {
			return wrapErr(err, "postgres: redeem invitation")
		}
		out.Invitation = inv.invitation()

		var previous []staffRow
		err = tx.SelectContext(ctx, &previous, selectStaff+`
			WHERE channel = $1 AND external_id = $2 AND active FOR UPDATE`, who.Channel, who.ExternalID)
		if err != nil {
			return wrapErr(err, "postgres: redeem invitation: the earlier role")
		}
		if len(previous) > 0 {
			out.Previous = previous[0].staff()
			if !replace {
				out.Held = true
				return nil // nothing written: the commit only releases the locks
			}
			_, err = tx.ExecContext(ctx, `
				UPDATE staff SET active = false, revoked_at = $3, revoked_by = $4, updated_at = $3
				WHERE channel = $1 AND external_id = $2 AND active`,
				who.Channel, who.ExternalID, now, invitationSubject(inv.ID))
			if err != nil {
				return wrapErr(err, "postgres: redeem invitation: replace the earlier role")
			}
		}

		_, err = tx.ExecContext(ctx, `UPDATE invitations SET used_at = $2, used_by = $3 WHERE id = $1`,
			inv.ID, now, account)
		if err != nil {
			return wrapErr(err, "postgres: redeem invitation: mark it used")
		}
		out.Invitation.UsedAt, out.Invitation.UsedBy = now, account

		_, err = tx.ExecContext(ctx, `
			INSERT INTO staff (channel, external_id, name, role, ward_code, school, invitation_id, active, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, true, $8, $8)`,
			who.Channel, who.ExternalID, who.Name, inv.Role, inv.WardCode, inv.School, inv.ID, now)
		if err != nil {
			return wrapErr(err, "postgres: redeem invitation: bind the role")
		}

		_, err = tx.ExecContext(ctx, `
			INSERT INTO contacts (channel, external_id, name, role, ward_code, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6)
			ON CONFLICT (channel, external_id) DO UPDATE SET
				name       = CASE WHEN EXCLUDED.name = '' THEN contacts.name ELSE EXCLUDED.name END,
				role       = EXCLUDED.role,
				ward_code  = EXCLUDED.ward_code,
				updated_at = EXCLUDED.updated_at`,
			who.Channel, who.ExternalID, who.Name, inv.Role, inv.WardCode, now)
		if err != nil {
			return wrapErr(err, "postgres: redeem invitation: contact")
		}

		out.Staff = campaign.Staff{Channel: who.Channel, ExternalID: who.ExternalID, Name: who.Name,
			Role: campaign.Role(inv.Role), WardCode: inv.WardCode.String, School: inv.School}
		entry := campaign.AuditEntry{
			At: now, Actor: account, Action: "staff.join", Subject: staffSubject(who.Channel, who.ExternalID),
			After: struct {
				Role       campaign.Role `json:"role"`
				Ward       string        `json:"ward,omitempty"`
				School     string        `json:"school,omitempty"`
				Invitation int64         `json:"invitation"`
			}{out.Staff.Role, out.Staff.WardCode, out.Staff.School, inv.ID},
		}
		if len(previous) > 0 {
			entry.Before = staffRole{Role: previous[0].Role, WardCode: previous[0].WardCode, School: previous[0].School}.audit()
		}
		if err := insertAudit(ctx, tx, entry); err != nil {
			return err
		}
		if out.Inviter, err = inviter(ctx, tx, inv.CreatedBy); err != nil {
			return err
		}
		return notifyIn(ctx, tx, now, notify, out)
	})
	if err != nil {
		return campaign.Redemption{}, err
	}
	return out, nil
}

// inviter is the chat of an invitation's maker (its created_by, channel:id), with the language
// of its contact ("" when it has none).
func inviter(ctx context.Context, tx *sqlx.Tx, createdBy string) (campaign.Recipient, error) {
	channel, id, ok := strings.Cut(createdBy, ":")
	if !ok || channel == "" || id == "" {
		return campaign.Recipient{}, nil
	}
	r := campaign.Recipient{Channel: channel, ChatID: id}
	err := tx.GetContext(ctx, &r.Language, `SELECT language FROM contacts WHERE channel = $1 AND external_id = $2`, channel, id)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return campaign.Recipient{}, wrapErr(err, "postgres: redeem invitation: the inviter's language")
	}
	return r, nil
}

// whyNotOpen says, for the log, why no open invitation has hash at now.
func (s *StaffStore) whyNotOpen(ctx context.Context, tx *sqlx.Tx, hash []byte, now time.Time) string {
	var used, revoked, expired bool
	err := tx.QueryRowxContext(ctx, `
		SELECT used_at IS NOT NULL, revoked_at IS NOT NULL, expires_at <= $2
		FROM invitations WHERE code_hash = $1`, hash, now,
	).Scan(&used, &revoked, &expired)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "unknown"
	case err != nil:
		return "unchecked"
	case used:
		return "used"
	case revoked:
		return "revoked"
	case expired:
		return "expired"
	}
	return "contended" // opened by a transaction that has since rolled back: try again
}

// isActiveRoleRace reports whether err is the account's one-active-role index refusing a second
// active row, which happens when one person redeems two invitations at the same moment; the
// redemption that lost runs again and replaces the winner's role.
func isActiveRoleRace(err error) bool {
	pqErr := pq.As(err, pqerror.UniqueViolation)
	return pqErr != nil && pqErr.Constraint == "staff_active_account_idx"
}

// StaffMember returns the active role of the account externalID on channel, or an ENOTFOUND
// error when it has none.
func (s *StaffStore) StaffMember(ctx context.Context, channel, externalID string) (campaign.Staff, error) {
	var row staffRow
	err := s.db.db.GetContext(ctx, &row, selectStaff+`WHERE active AND channel = $1 AND external_id = $2`,
		campaign.NormalizeText(channel), campaign.NormalizeText(externalID))
	if errors.Is(err, sql.ErrNoRows) {
		return campaign.Staff{}, campaign.Errorf(campaign.ENOTFOUND, "%s:%s has no staff role", channel, externalID)
	}
	if err != nil {
		return campaign.Staff{}, wrapErr(err, "postgres: staff member")
	}
	return row.staff(), nil
}

// ListStaff lists the active staff by role (in the order of campaign.StaffRoles), ward and name.
func (s *StaffStore) ListStaff(ctx context.Context) ([]campaign.Staff, error) {
	var rows []staffRow
	err := s.db.db.SelectContext(ctx, &rows, selectStaff+`
		WHERE active
		ORDER BY array_position($1::text[], role), ward_code NULLS FIRST, school, name, id`,
		toStrings(campaign.StaffRoles))
	if err != nil {
		return nil, wrapErr(err, "postgres: list staff")
	}
	out := make([]campaign.Staff, 0, len(rows))
	for _, row := range rows {
		out = append(out, row.staff())
	}
	return out, nil
}

// RevokeStaff removes the active role of the account externalID on channel, clears the role and
// ward of its contact and audits the revocation (staff.revoke) as by. An account without an
// active role is an ENOTFOUND error.
func (s *StaffStore) RevokeStaff(ctx context.Context, channel, externalID, by string) error {
	channel, externalID, by = campaign.NormalizeText(channel), campaign.NormalizeText(externalID), campaign.NormalizeText(by)
	if err := validateAccount(channel, externalID); err != nil {
		return err
	}
	if by == "" {
		return campaign.Errorf(campaign.EINVALID, "staff: the revoker is required")
	}
	now := s.db.now()
	return s.db.tx(ctx, "revoke staff", txOptions{}, func(tx *sqlx.Tx) error {
		var revoked []staffRole
		err := sqlx.SelectContext(ctx, tx, &revoked, `
			UPDATE staff SET active = false, revoked_at = $3, revoked_by = $4, updated_at = $3
			WHERE channel = $1 AND external_id = $2 AND active
			RETURNING role, ward_code, school`,
			channel, externalID, now, by)
		if err != nil {
			return wrapErr(err, "postgres: revoke staff")
		}
		if len(revoked) == 0 {
			return campaign.Errorf(campaign.ENOTFOUND, "%s:%s has no staff role", channel, externalID)
		}
		// The staff table is the truth about roles given by invitation; the contact follows it.
		_, err = tx.ExecContext(ctx, `
			UPDATE contacts SET role = '', ward_code = NULL, updated_at = $3
			WHERE channel = $1 AND external_id = $2`,
			channel, externalID, now)
		if err != nil {
			return wrapErr(err, "postgres: revoke staff: contact")
		}
		return insertAudit(ctx, tx, campaign.AuditEntry{
			At: now, Actor: by, Action: "staff.revoke", Subject: staffSubject(channel, externalID),
			Before: revoked[0].audit(),
		})
	})
}

// RevokeInvitation withdraws the invitation id, so its code can no longer be redeemed, and audits
// it (staff.invite_revoke) as by. An unknown, used or already revoked invitation is an ENOTFOUND
// error; an expired one may still be revoked, which changes nothing but the record.
func (s *StaffStore) RevokeInvitation(ctx context.Context, id int64, by string) error {
	by = campaign.NormalizeText(by)
	if by == "" {
		return campaign.Errorf(campaign.EINVALID, "invitation: the revoker is required")
	}
	now := s.db.now()
	return s.db.tx(ctx, "revoke invitation", txOptions{}, func(tx *sqlx.Tx) error {
		var revoked []staffRole
		err := sqlx.SelectContext(ctx, tx, &revoked, `
			UPDATE invitations SET revoked_at = $2, revoked_by = $3
			WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL
			RETURNING role, ward_code, school`,
			id, now, by)
		if err != nil {
			return wrapErr(err, "postgres: revoke invitation")
		}
		if len(revoked) == 0 {
			return campaign.Errorf(campaign.ENOTFOUND, "no open invitation %d", id)
		}
		return insertAudit(ctx, tx, campaign.AuditEntry{
			At: now, Actor: by, Action: "staff.invite_revoke", Subject: invitationSubject(id),
			Before: revoked[0].audit(),
		})
	})
}

// Invitations lists the open invitations (not used, revoked or expired), oldest first.
func (s *StaffStore) Invitations(ctx context.Context) ([]campaign.Invitation, error) {
	var rows []invitationRow
	err := s.db.db.SelectContext(ctx, &rows, selectInvitation+`
		WHERE used_at IS NULL AND revoked_at IS NULL AND expires_at > $1
		ORDER BY created_at, id`, s.db.now())
	if err != nil {
		return nil, wrapErr(err, "postgres: invitations")
	}
	out := make([]campaign.Invitation, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.invitation())
	}
	return out, nil
}

// selectInvitation reads invitationRow columns; a WHERE clause follows it.
const selectInvitation = `SELECT id, role, ward_code, school, created_by, created_at, expires_at, used_at, used_by, revoked_at FROM invitations `

// invitationRow is an invitation as selectInvitation reads it.
type invitationRow struct {
	ID        int64          `db:"id"`
	Role      string         `db:"role"`
	WardCode  sql.NullString `db:"ward_code"`
	School    string         `db:"school"`
	CreatedBy string         `db:"created_by"`
	CreatedAt time.Time      `db:"created_at"`
	ExpiresAt time.Time      `db:"expires_at"`
	UsedAt    sql.NullTime   `db:"used_at"`
	UsedBy    sql.NullString `db:"used_by"`
	RevokedAt sql.NullTime   `db:"revoked_at"`
}

func (r invitationRow) invitation() campaign.Invitation {
	inv := campaign.Invitation{ID: r.ID, Role: campaign.Role(r.Role), WardCode: r.WardCode.String, School: r.School,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(), UsedBy: r.UsedBy.String}
	if r.UsedAt.Valid {
		inv.UsedAt = r.UsedAt.Time.UTC()
	}
	if r.RevokedAt.Valid {
		inv.RevokedAt = r.RevokedAt.Time.UTC()
	}
	return inv
}

// validateStaffRole checks that role can be given by invitation, with a ward exactly when it has
// one (ward roles and schools), and a school's name, saying more than its level, exactly when it
// is a school.
func validateStaffRole(role campaign.Role, wardCode, school string) error {
	switch {
	case !role.Valid():
		return campaign.Errorf(campaign.EINVALID, "invitation: %q is not a staff role", role)
	case role.HasWard() && wardCode == "":
		return campaign.Errorf(campaign.EINVALID, "invitation: role %s needs a ward", role)
	case !role.HasWard() && wardCode != "":
		return campaign.Errorf(campaign.EINVALID, "invitation: role %s is city-wide and takes no ward", role)
	case utf8.RuneCountInString(wardCode) > maxIDLen:
		return campaign.Errorf(campaign.EINVALID, "invitation: ward code is longer than %d characters", maxIDLen)
	case role.NeedsSchool() && campaign.SchoolKeyLevelOnly(school):
		return campaign.Errorf(campaign.EINVALID, "invitation: a school needs a name that says more than its level")
	case !role.NeedsSchool() && school != "":
		return campaign.Errorf(campaign.EINVALID, "invitation: role %s takes no school", role)
	case utf8.RuneCountInString(school) > maxSchoolLen:
		return campaign.Errorf(campaign.EINVALID, "invitation: school name is longer than %d characters", maxSchoolLen)
	}
	return nil
}

// validateAccount checks a normalised channel and external id.
func validateAccount(channel, externalID string) error {
	if channel == "" || externalID == "" {
		return campaign.Errorf(campaign.EINVALID, "staff: an account needs a channel and an external id")
	}
	if utf8.RuneCountInString(channel) > maxIDLen || utf8.RuneCountInString(externalID) > maxIDLen {
		return campaign.Errorf(campaign.EINVALID, "staff: channel or external id is longer than %d characters", maxIDLen)
	}
	return nil
}

// selectStaff reads staffRow columns; a WHERE clause follows it.
const selectStaff = `SELECT channel, external_id, name, role, ward_code, school FROM staff `

// staffRow is a staff member as selectStaff reads it.
type staffRow struct {
	Channel    string         `db:"channel"`
	ExternalID string         `db:"external_id"`
	Name       string         `db:"name"`
	Role       string         `db:"role"`
	WardCode   sql.NullString `db:"ward_code"`
	School     string         `db:"school"`
}

func (row staffRow) staff() campaign.Staff {
	return campaign.Staff{Channel: row.Channel, ExternalID: row.ExternalID, Name: row.Name,
		Role: campaign.Role(row.Role), WardCode: row.WardCode.String, School: row.School}
}

// staffRole is the role, ward and school an UPDATE ... RETURNING hands back, for the audit.
type staffRole struct {
	Role     string         `db:"role"`
	WardCode sql.NullString `db:"ward_code"`
	School   string         `db:"school"`
}

// audit is the role as the audit log records it (a school's name is an institution's, given by
// an administrator: no family's text).
func (r staffRole) audit() any {
	return struct {
		Role   string `json:"role"`
		Ward   string `json:"ward,omitempty"`
		School string `json:"school,omitempty"`
	}{r.Role, r.WardCode.String, r.School}
}

// invitationSubject is the audit subject of an invitation.
func invitationSubject(id int64) string { return "invitation:" + strconv.FormatInt(id, 10) }

// staffSubject is the audit subject of a staff account.
func staffSubject(channel, externalID string) string { return "staff:" + channel + ":" + externalID }

// nullIfEmpty stores "" as SQL NULL.
func nullIfEmpty(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// truncateRunes returns s cut to at most n characters.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
