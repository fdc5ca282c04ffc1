package postgres

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/thuduc/maytinhchoem/campaign"
)

// registrarColumns and registrarJoins read, beside a registration r, whom its notices go to while
// no family has claimed it (campaign.Registrar): the list's code, and the language, standing,
// name and role of the staff member in registered_by ("channel:id"); while that staff member is
// not active, the stand-ins (registrarStandIns). The name and role are read whether or not the
// family claimed the registration (the case card says who registered it). A registration with a
// chat costs a join on the staff table's account index, nothing more.
const (
	registrarColumns = `coalesce(il.code, '') AS list_code, coalesce(rc.language, '') AS registrar_language,
		(r.chat_id = '' AND r.registered_by <> '' AND coalesce(reg_by.active, false)) AS registrar_active,
		coalesce(reg_by.name, '') AS registered_by_name,
		CASE WHEN r.registered_by = '' THEN '' ELSE coalesce(reg_by.role, nullif(il.role, ''), '') END AS registered_by_role,
		CASE WHEN r.chat_id = '' AND r.registered_by <> '' AND r.erased_at IS NULL AND NOT coalesce(reg_by.active, false)
			THEN (` + registrarStandIns + `) ELSE '' END AS registrar_stand_ins`
	registrarJoins = `
	LEFT JOIN import_lists il ON il.id = r.list_id
	LEFT JOIN contacts rc ON r.chat_id = '' AND r.registered_by <> ''
		AND rc.channel = split_part(r.registered_by, ':', 1)
		AND rc.external_id = substr(r.registered_by, strpos(r.registered_by, ':') + 1)
	LEFT JOIN LATERAL (SELECT nullif(st.name, '') AS name, st.role, st.active FROM staff st
		WHERE r.registered_by <> '' AND st.channel = split_part(r.registered_by, ':', 1)
			AND st.external_id = substr(r.registered_by, strpos(r.registered_by, ':') + 1)
		ORDER BY st.active DESC, st.id DESC LIMIT 1) reg_by ON true
	`
	// registrarStandIns is, as JSON (campaign.Recipient and the tier's role), who stands in for a
	// registrar who is no longer active staff (campaign.Registrar.StandIns): the first tier that
	// has anyone of 1. the school's active staff, when a school sent the list (or registered the
	// family: no list and a school registrar), matched on school_key (migration 00025); 2. the
	// ward's verifiers (ward officials and Women's Union), 3. the education office, as
	// wardOfficials chooses them for a family's messages. Contacts that stopped the bot are left out.
	registrarStandIns = `SELECT coalesce(json_agg(json_build_object('channel', x.channel, 'chat_id', x.external_id,
			'language', x.language, 'role', x.tier_role) ORDER BY x.channel, x.external_id)::text, '')
		FROM (
			SELECT sf.channel, sf.external_id, coalesce(ct.language, '') AS language, t.tier,
				CASE t.tier WHEN 1 THEN 'school' WHEN 2 THEN 'ward_official' ELSE 'education_office' END AS tier_role,
				min(t.tier) OVER () AS best
			FROM staff sf
			LEFT JOIN contacts ct ON ct.channel = sf.channel AND ct.external_id = sf.external_id
			CROSS JOIN LATERAL (SELECT CASE
				WHEN sf.role = 'school' AND r.school_key <> ''
					AND (il.role = 'school' OR (r.list_id IS NULL AND reg_by.role = 'school'))
					AND school_key_of(sf.school) = r.school_key THEN 1
				WHEN sf.role IN ('ward_official', 'womens_union') AND sf.ward_code = r.ward_code THEN 2
				WHEN sf.role = 'education_office' THEN 3 END AS tier) t
			WHERE sf.active AND ct.stopped IS NOT TRUE AND t.tier IS NOT NULL
		) x WHERE x.tier = x.best`
)

// registrarRow is what registrarColumns read.
type registrarRow struct {
	ListCode          string `db:"list_code"`
	RegistrarLanguage string `db:"registrar_language"`
	RegistrarActive   bool   `db:"registrar_active"`
	RegisteredByName  string `db:"registered_by_name"`
	RegisteredByRole  string `db:"registered_by_role"`
	StandIns          string `db:"registrar_stand_ins"`
}

// standInRow is one stand-in as registrarStandIns writes it.
type standInRow struct {
	Channel  string `json:"channel"`
	ChatID   string `json:"chat_id"`
	Language string `json:"language"`
	Role     string `json:"role"`
}

// registrar is the Registrar of a registration with chatID, registeredBy and source, nil when it
// has a chat (or was registered by nobody: a chat's registration, erased).
func (row registrarRow) registrar(chatID, registeredBy, source string) (*campaign.Registrar, error) {
	channel, id, ok := strings.Cut(registeredBy, ":")
	if chatID != "" || !ok || channel == "" || id == "" {
		return nil, nil
	}
	reg := &campaign.Registrar{
		Session:  campaign.Session{Channel: channel, ChatID: id},
		Language: row.RegistrarLanguage, Active: row.RegistrarActive,
		Source: campaign.Source(source), ListCode: row.ListCode,
		Name: row.RegisteredByName, Role: campaign.Role(row.RegisteredByRole),
	}
	if row.StandIns != "" {
		var ins []standInRow
		if err := json.Unmarshal([]byte(row.StandIns), &ins); err != nil {
			return nil, fmt.Errorf("postgres: registrar's stand-ins: %w", err)
		}
		for _, in := range ins {
			reg.StandIns = append(reg.StandIns, campaign.Recipient{Channel: in.Channel, ChatID: in.ChatID, Language: in.Language})
			reg.StandInRole = campaign.Role(in.Role)
		}
	}
	return reg, nil
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
	err := db.tx(ctx, "claim", txOptions{}, func(tx *sqlx.Tx) error {
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

// ClaimBlockOf says where phone stands with claims (see campaign.ClaimStore).
func (s *ClaimStore) ClaimBlockOf(ctx context.Context, phone string) (campaign.ClaimBlock, error) {
	phone = campaign.NormalizeText(phone)
	if !e164.MatchString(phone) {
		return campaign.ClaimBlock{}, campaign.Errorf(campaign.EINVALID, "claim: phone %q is not in E.164 form", phone)
	}
	return s.claimBlock(ctx, s.regs.db.db, phone)
}

// claimBlock reads where phone stands, in q.
func (s *ClaimStore) claimBlock(ctx context.Context, q sqlx.QueryerContext, phone string) (campaign.ClaimBlock, error) {
	var out campaign.ClaimBlock
	var att struct {
		Failures int          `db:"failures"`
		Blocked  sql.NullTime `db:"blocked_at"`
	}
	err := sqlx.GetContext(ctx, q, &att, `SELECT failures, blocked_at FROM claim_attempts WHERE campaign_id = $1 AND phone_hash = $2`,
		s.regs.c.ID, phoneHash(phone))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return out, wrapErr(err, "postgres: claim: attempts")
	}
	out.Failures, out.Blocked = att.Failures, att.Blocked.Valid
	var holders []struct {
		Code     string `db:"code"`
		WardCode string `db:"ward_code"`
		School   string `db:"school"`
	}
	err = sqlx.SelectContext(ctx, q, &holders, `SELECT r.code, r.ward_code, r.school FROM registrations r WHERE `+unclaimedWhere+` ORDER BY r.id`,
		s.regs.c.ID, phone)
	if err != nil {
		return out, wrapErr(err, "postgres: claim: registrations of a phone")
	}
	for _, h := range holders {
		out.Holders = append(out.Holders, campaign.ClaimHolder{Code: h.Code, WardCode: h.WardCode, School: h.School})
	}
	return out, nil
}

// Unblock clears the wrong birth dates counted for phone (see campaign.ClaimStore), taking turns
// with claims of the same phone on their advisory lock.
func (s *ClaimStore) Unblock(ctx context.Context, phone, by string) (campaign.ClaimBlock, error) {
	phone, by = campaign.NormalizeText(phone), campaign.NormalizeText(by)
	switch {
	case !e164.MatchString(phone):
		return campaign.ClaimBlock{}, campaign.Errorf(campaign.EINVALID, "unblock: phone %q is not in E.164 form", phone)
	case by == "" || utf8.RuneCountInString(by) > maxIDLen:
		return campaign.ClaimBlock{}, campaign.Errorf(campaign.EINVALID, "unblock: who unblocks is required")
	}
	c, db, hash := s.regs.c, s.regs.db, phoneHash(phone)
	now := db.now()
	var out campaign.ClaimBlock
	err := db.tx(ctx, "unblock claims", txOptions{}, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "claim|"+c.ID+"|"+hash); err != nil {
			return wrapErr(err, "postgres: unblock: lock")
		}
		var err error
		if out, err = s.claimBlock(ctx, tx, phone); err != nil {
			return err
		}
		if out.Failures == 0 && !out.Blocked {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM claim_attempts WHERE campaign_id = $1 AND phone_hash = $2`, c.ID, hash); err != nil {
			return wrapErr(err, "postgres: unblock")
		}
		for _, h := range out.Holders {
			if err := insertAudit(ctx, tx, campaign.AuditEntry{At: now, Actor: by, Action: "registration.claim_unblock", Subject: h.Code,
				Before: map[string]any{"tries": out.Failures, "blocked": out.Blocked}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return campaign.ClaimBlock{}, err
	}
	return out, nil
}
