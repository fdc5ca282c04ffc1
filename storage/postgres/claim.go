package postgres

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/thuduc/maytinhchoem/campaign"
)

// registrarColumns and registrarJoins read, beside a registration r, whom its notices go to while
// no family has claimed it (campaign.Registrar): the list's code, and the language and standing
// of the staff member in registered_by ("channel:id"). The joins find nothing for a registration
// with a chat, so reading a family's registrations costs no more than before.
const (
	registrarColumns = `coalesce(il.code, '') AS list_code, coalesce(rc.language, '') AS registrar_language,
		(r.chat_id = '' AND r.registered_by <> '' AND EXISTS (
			SELECT 1 FROM staff rs WHERE rs.active AND rs.channel = split_part(r.registered_by, ':', 1)
				AND rs.external_id = substr(r.registered_by, strpos(r.registered_by, ':') + 1))) AS registrar_active`
	registrarJoins = `
	LEFT JOIN import_lists il ON il.id = r.list_id
	LEFT JOIN contacts rc ON r.chat_id = '' AND r.registered_by <> ''
		AND rc.channel = split_part(r.registered_by, ':', 1)
		AND rc.external_id = substr(r.registered_by, strpos(r.registered_by, ':') + 1)
	`
)

// registrarRow is what registrarColumns read.
type registrarRow struct {
	ListCode          string `db:"list_code"`
	RegistrarLanguage string `db:"registrar_language"`
	RegistrarActive   bool   `db:"registrar_active"`
}

// registrar is the Registrar of a registration with chatID, registeredBy and source, nil when it
// has a chat (or was registered by nobody: a chat's registration, erased).
func (row registrarRow) registrar(chatID, registeredBy, source string) *campaign.Registrar {
	channel, id, ok := strings.Cut(registeredBy, ":")
	if chatID != "" || !ok || channel == "" || id == "" {
		return nil
	}
	return &campaign.Registrar{
		Session:  campaign.Session{Channel: channel, ChatID: id},
		Language: row.RegistrarLanguage, Active: row.RegistrarActive,
		Source: campaign.Source(source), ListCode: row.ListCode,
	}
}

// ClaimStore links the registrations made without a chat to the family's chat (issue 15).
type ClaimStore struct {
	regs *RegistrationStore
}

var _ campaign.ClaimStore = (*ClaimStore)(nil)

// NewClaimStore returns a ClaimStore for campaign c over db.
func NewClaimStore(db *DB, c *campaign.Campaign) *ClaimStore {
	return &ClaimStore{regs: NewRegistrationStore(db, c)}
}

// unclaimedWhere selects, from registrations r, those a phone ($2) may claim in campaign $1:
// made without a chat by staff, not erased, not withdrawn.
const unclaimedWhere = `r.campaign_id = $1 AND r.parent_phone = $2 AND r.chat_id = '' AND r.registered_by <> ''
	AND r.parent_phone <> '' AND r.erased_at IS NULL AND r.status <> 'withdrawn'`

// phoneHash is how claim_attempts names a phone.
func phoneHash(phone string) string {
	h := sha256.Sum256([]byte(phone))
	return hex.EncodeToString(h[:])
}

// Unclaimed counts the registrations phone may claim; blocked when it had too many wrong dates.
func (s *ClaimStore) Unclaimed(ctx context.Context, phone string) (int, bool, error) {
	phone = campaign.NormalizeText(phone)
	if !e164.MatchString(phone) {
		return 0, false, campaign.Errorf(campaign.EINVALID, "claim: phone %q is not in E.164 form", phone)
	}
	var out struct {
		N       int  `db:"n"`
		Blocked bool `db:"blocked"`
	}
	err := s.regs.db.db.GetContext(ctx, &out, `
		SELECT (SELECT count(*) FROM registrations r WHERE `+unclaimedWhere+`) AS n,
			EXISTS (SELECT 1 FROM claim_attempts WHERE campaign_id = $1 AND phone_hash = $3 AND blocked_at IS NOT NULL) AS blocked`,
		s.regs.c.ID, phone, phoneHash(phone))
	if err != nil {
		return 0, false, wrapErr(err, "postgres: unclaimed registrations")
	}
	if out.Blocked {
		return 0, true, nil
	}
	return out.N, false, nil
}

// Claim links the unclaimed registrations of r.Phone whose child was born on r.BirthDate to
// r.Family (see campaign.ClaimStore). Claims of one phone take turns on an advisory lock, and
// the registrations are locked, so two chats claiming the same registration at once make one
// claim: the second finds it taken.
func (s *ClaimStore) Claim(ctx context.Context, r campaign.ClaimRequest) (campaign.ClaimResult, error) {
	var res campaign.ClaimResult
	n := campaign.NormalizeText
	r.Phone, r.Family.Channel, r.Family.ChatID = n(r.Phone), n(r.Family.Channel), n(r.Family.ChatID)
	r.UserID, r.Language, r.ParentName, r.Key = n(r.UserID), n(r.Language), n(r.ParentName), n(r.Key)
	if r.Language == "" {
		r.Language = defaultLanguage
	}
	switch {
	case !e164.MatchString(r.Phone):
		return res, campaign.Errorf(campaign.EINVALID, "claim: phone %q is not in E.164 form", r.Phone)
	case r.BirthDate.IsZero():
		return res, campaign.Errorf(campaign.EINVALID, "claim: no birth date")
	case r.Family.Channel == "" || r.Family.ChatID == "":
		return res, campaign.Errorf(campaign.EINVALID, "claim: no family chat")
	case utf8.RuneCountInString(r.Family.ChatID) > maxIDLen || utf8.RuneCountInString(r.UserID) > maxIDLen ||
		utf8.RuneCountInString(r.Key) > maxIDLen || utf8.RuneCountInString(r.ParentName) > maxNameLen:
		return res, campaign.Errorf(campaign.EINVALID, "claim: a text is too long")
	}
	y, m, d := r.BirthDate.Date()
	birth := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Format(campaign.DateLayout)
	c, db, hash := s.regs.c, s.regs.db, phoneHash(r.Phone)
	now := db.now()
	err := runTxRetry(ctx, db, "claim", func(tx *sqlx.Tx) error {
		res = campaign.ClaimResult{}
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "claim|"+c.ID+"|"+hash); err != nil {
			return wrapErr(err, "postgres: claim: lock")
		}
		var att struct {
			Failures int          `db:"failures"`
			LastKey  string       `db:"last_key"`
			Blocked  sql.NullTime `db:"blocked_at"`
		}
		err := tx.GetContext(ctx, &att, `SELECT failures, last_key, blocked_at FROM claim_attempts WHERE campaign_id = $1 AND phone_hash = $2`, c.ID, hash)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return wrapErr(err, "postgres: claim: attempts")
		}
		res.Failures = att.Failures
		if att.Blocked.Valid {
			res.Blocked = true
			return nil
		}
		var found []struct {
			ID      int64  `db:"id"`
			Code    string `db:"code"`
			Source  string `db:"source"`
			Channel string `db:"channel"`
			ChatID  string `db:"chat_id"`
			Parent  string `db:"parent_name"`
		}
		err = tx.SelectContext(ctx, &found, `
			SELECT r.id, r.code, r.source, r.channel, r.chat_id, r.parent_name
			FROM registrations r JOIN students st ON st.id = r.student_id
			WHERE r.campaign_id = $1 AND r.parent_phone = $2 AND st.birth_date = $3::date AND r.registered_by <> ''
				AND r.erased_at IS NULL AND r.status <> 'withdrawn'
			ORDER BY r.id
			FOR UPDATE OF r`, c.ID, r.Phone, birth)
		if err != nil {
			return wrapErr(err, "postgres: claim: registrations")
		}
		var claim, mine []int64
		for _, f := range found {
			switch {
			case f.ChatID == "":
				claim = append(claim, f.ID)
				after := map[string]any{"source": f.Source, "channel": r.Family.Channel, "parent_name_filled": f.Parent == "" && r.ParentName != ""}
				if err := insertAudit(ctx, tx, campaign.AuditEntry{At: now, Actor: campaign.FamilyActor,
					Action: "registration.claim", Subject: f.Code, Before: map[string]any{"claimed": false}, After: after}); err != nil {
					return err
				}
			case f.Channel == r.Family.Channel && f.ChatID == r.Family.ChatID:
				mine = append(mine, f.ID)
			default:
				res.Taken++
			}
		}
		if len(claim) > 0 {
			_, err = tx.ExecContext(ctx, `
				UPDATE registrations SET channel = $2, chat_id = $3, user_id = $4, language = $5,
					parent_name = CASE WHEN parent_name = '' THEN $6 ELSE parent_name END,
					claimed_at = $7, updated_at = $7
				WHERE id = ANY($1)`, pq.Array(claim), r.Family.Channel, r.Family.ChatID, r.UserID, r.Language, r.ParentName, now)
			if err != nil {
				return wrapErr(err, "postgres: claim")
			}
			// The family showed it knows the child: earlier slips no longer count.
			if _, err := tx.ExecContext(ctx, `DELETE FROM claim_attempts WHERE campaign_id = $1 AND phone_hash = $2`, c.ID, hash); err != nil {
				return wrapErr(err, "postgres: claim: attempts")
			}
			res.Failures = 0
		}
		if ids := slices.Concat(claim, mine); len(ids) > 0 {
			var rows []registrationRow
			if err := tx.SelectContext(ctx, &rows, selectRegistrations+`WHERE r.id = ANY($1) ORDER BY r.id`, pq.Array(ids)); err != nil {
				return wrapErr(err, "postgres: claim: read back")
			}
			for _, row := range rows {
				reg, err := row.registration()
				if err != nil {
					return err
				}
				res.Claimed = append(res.Claimed, reg)
			}
		}
		if err := tx.GetContext(ctx, &res.Left, `SELECT count(*) FROM registrations r WHERE `+unclaimedWhere, c.ID, r.Phone); err != nil {
			return wrapErr(err, "postgres: claim: left")
		}
		if len(found) > 0 {
			return nil
		}
		// A wrong birth date (the same update's retry counts once).
		if r.Key != "" && r.Key == att.LastKey {
			return nil
		}
		res.Failures++
		res.Blocked = res.Failures >= campaign.ClaimTriesMax
		var blockedAt any
		if res.Blocked {
			blockedAt = now
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO claim_attempts (campaign_id, phone_hash, failures, last_key, blocked_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (campaign_id, phone_hash) DO UPDATE
			SET failures = EXCLUDED.failures, last_key = EXCLUDED.last_key, blocked_at = EXCLUDED.blocked_at, updated_at = EXCLUDED.updated_at`,
			c.ID, hash, res.Failures, r.Key, blockedAt, now)
		if err != nil {
			return wrapErr(err, "postgres: claim: count a wrong date")
		}
		if !res.Blocked {
			return nil
		}
		var codes []string
		if err := tx.SelectContext(ctx, &codes, `SELECT r.code FROM registrations r WHERE `+unclaimedWhere+` ORDER BY r.id`, c.ID, r.Phone); err != nil {
			return wrapErr(err, "postgres: claim: blocked registrations")
		}
		for _, code := range codes {
			if err := insertAudit(ctx, tx, campaign.AuditEntry{At: now, Actor: campaign.FamilyActor,
				Action: "registration.claim_blocked", Subject: code, After: map[string]any{"tries": res.Failures}}); err != nil {
				return err
			}
		}
		res.Left = 0
		return nil
	})
	if err != nil {
		return campaign.ClaimResult{}, err
	}
	return res, nil
}

// runTxRetry runs fn in a transaction, once more after a serialization failure or a deadlock.
func runTxRetry(ctx context.Context, db *DB, what string, fn func(tx *sqlx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := runTx(ctx, db, nil, what, fn)
		if err != nil && attempt < 2 && isRetryableConflict(err) {
			continue
		}
		return err
	}
}
