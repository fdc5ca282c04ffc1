package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"golang.org/x/text/unicode/norm"

	"github.com/thuduc/maytinhchoem/campaign"
)

// maxBroadcastText is the longest text of a broadcast in one language, in characters: a backstop
// above what /broadcast takes (3,500 and a header line); adapters split a long text as their
// channel needs.
const maxBroadcastText = 4096

// SubscriptionStore keeps who gets the daily summary and the milestones, in the subscriptions
// table.
type SubscriptionStore struct {
	db *DB
}

var _ campaign.SubscriptionStore = (*SubscriptionStore)(nil)

// NewSubscriptionStore returns a SubscriptionStore over db.
func NewSubscriptionStore(db *DB) *SubscriptionStore { return &SubscriptionStore{db: db} }

// Subscribe stores the subscription of s with its role and ward as they are now; subscribing
// again updates them and keeps the first subscription's time. The role must be a staff role
// (with a ward exactly for ward roles) or campaign.RoleAdmin (stored without a ward); the store
// does not check that s is staff, the caller has authorised it.
func (st *SubscriptionStore) Subscribe(ctx context.Context, s campaign.Staff) (bool, error) {
	channel, externalID := campaign.NormalizeText(s.Channel), campaign.NormalizeText(s.ExternalID)
	role, ward := campaign.Role(campaign.NormalizeText(string(s.Role))), campaign.NormalizeText(s.WardCode)
	if err := validateAccount(channel, externalID); err != nil {
		return false, err
	}
	switch {
	case role == campaign.RoleAdmin:
		ward = ""
	case role.NeedsSchool():
		// A school sees its own students, not the figures of a ward or the city (ActionViewProgress).
		return false, campaign.Errorf(campaign.EINVALID, "subscribe: a school gets no summary")
	default:
		if err := validateStaffRole(role, ward, ""); err != nil {
			return false, err
		}
	}
	var created bool
	// xmax is 0 on a row this statement inserted, and the updating transaction's id on one it
	// updated.
	err := st.db.db.QueryRowxContext(ctx, `
		INSERT INTO subscriptions (channel, external_id, role, ward_code, created_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (channel, external_id) DO UPDATE SET role = EXCLUDED.role, ward_code = EXCLUDED.ward_code
		RETURNING xmax = 0`,
		channel, externalID, role, ward, st.db.now()).Scan(&created)
	if err != nil {
		return false, wrapErr(err, "postgres: subscribe")
	}
	return created, nil
}

// Unsubscribe deletes the account's subscription; removed is false when there was none.
func (st *SubscriptionStore) Unsubscribe(ctx context.Context, channel, externalID string) (bool, error) {
	res, err := st.db.db.ExecContext(ctx, `DELETE FROM subscriptions WHERE channel = $1 AND external_id = $2`,
		campaign.NormalizeText(channel), campaign.NormalizeText(externalID))
	if err != nil {
		return false, wrapErr(err, "postgres: unsubscribe")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, wrapErr(err, "postgres: unsubscribe")
	}
	return n > 0, nil
}

// Subscribed reports whether the account has a subscription row, whatever its role is now.
func (st *SubscriptionStore) Subscribed(ctx context.Context, channel, externalID string) (bool, error) {
	var ok bool
	err := st.db.db.GetContext(ctx, &ok,
		`SELECT EXISTS (SELECT 1 FROM subscriptions WHERE channel = $1 AND external_id = $2)`,
		campaign.NormalizeText(channel), campaign.NormalizeText(externalID))
	if err != nil {
		return false, wrapErr(err, "postgres: subscribed")
	}
	return ok, nil
}

// Subscribers lists the subscribers whose contact has not blocked the bot, ordered by channel and
// id, each with the contact's language ("" without one).
//
// A staff subscriber is listed only while the account has an active staff role, with that role
// and ward (not the ones stored when it subscribed), so a revoked or moved member gets the right
// scope or nothing. A subscriber stored as campaign.RoleAdmin is listed as stored, with Role
// admin and no ward: admins are named in the configuration, which this store does not know, so
// the caller must drop those no longer in it. A subscriber who has become a school is left out:
// a school gets no summary.
func (st *SubscriptionStore) Subscribers(ctx context.Context) ([]campaign.Subscriber, error) {
	var rows []subscriberRow
	err := st.db.db.SelectContext(ctx, &rows, `
		SELECT s.channel, s.external_id,
			coalesce(nullif(sf.name, ''), ct.name, '') AS name,
			CASE WHEN s.role = 'admin' THEN 'admin' ELSE sf.role END AS role,
			CASE WHEN s.role = 'admin' THEN '' ELSE coalesce(sf.ward_code, '') END AS ward_code,
			coalesce(ct.language, '') AS language, s.created_at
		FROM subscriptions s
		LEFT JOIN staff sf ON sf.channel = s.channel AND sf.external_id = s.external_id AND sf.active
		LEFT JOIN contacts ct ON ct.channel = s.channel AND ct.external_id = s.external_id
		WHERE (s.role = 'admin' OR (sf.id IS NOT NULL AND sf.role <> 'school')) AND ct.stopped IS NOT TRUE
		ORDER BY s.channel, s.external_id`)
	if err != nil {
		return nil, wrapErr(err, "postgres: subscribers")
	}
	return subscribers(rows), nil
}

// subscriberRow is a subscriber or active staff member as Subscribers and ActiveStaff read them.
type subscriberRow struct {
	Channel    string       `db:"channel"`
	ExternalID string       `db:"external_id"`
	Name       string       `db:"name"`
	Role       string       `db:"role"`
	WardCode   string       `db:"ward_code"`
	Language   string       `db:"language"`
	CreatedAt  sql.NullTime `db:"created_at"`
}

// subscribers converts rows; Since stays zero for rows without a subscription time.
func subscribers(rows []subscriberRow) []campaign.Subscriber {
	out := make([]campaign.Subscriber, 0, len(rows))
	for _, r := range rows {
		s := campaign.Subscriber{
			Staff: campaign.Staff{Channel: r.Channel, ExternalID: r.ExternalID, Name: r.Name,
				Role: campaign.Role(r.Role), WardCode: r.WardCode},
			Language: r.Language,
		}
		if r.CreatedAt.Valid {
			s.Since = r.CreatedAt.Time.UTC()
		}
		out = append(out, s)
	}
	return out
}

// BroadcastStore records broadcasts in the broadcasts table and queues their messages in the
// outbox.
type BroadcastStore struct {
	db  *DB
	c   *campaign.Campaign
	seq *codeSequence
}

var _ campaign.BroadcastStore = (*BroadcastStore)(nil)

// NewBroadcastStore returns a BroadcastStore of campaign c over db: c's registrations make the
// parents' audiences and its wards are the ones a ward broadcast may name.
func NewBroadcastStore(db *DB, c *campaign.Campaign) *BroadcastStore {
	return &BroadcastStore{db: db, c: c, seq: newCodeSequence(db, "broadcast_code", campaign.BroadcastPrefix)}
}

// audienceChats are the chats of each audience, before stopped contacts are left out, as
// (channel, chat_id) rows without repeats; $1 is the campaign and $2 the ward. Pledges belong to
// no campaign, so donors are every chat that pledged, cancelled pledges included. A registration
// without a chat (a list's or an assisted one no family has claimed, or an erased one) has nobody
// to broadcast to: its family hears through the staff who registered it.
var audienceChats = map[campaign.AudienceKind]string{
	campaign.AudienceParents: `SELECT DISTINCT channel, chat_id FROM registrations WHERE campaign_id = $1 AND chat_id <> ''`,
	campaign.AudienceDonors:  `SELECT DISTINCT channel, chat_id FROM pledges`,
	campaign.AudienceStaff:   `SELECT channel, external_id FROM staff WHERE active`,
	campaign.AudienceWard: `
		SELECT channel, chat_id FROM registrations WHERE campaign_id = $1 AND ward_code = $2 AND chat_id <> ''
		UNION
		SELECT channel, external_id FROM staff WHERE active AND ward_code = $2`,
}

// audienceQuery returns the query of a's recipients (channel, chat_id, language), ordered by
// channel and chat, without the contacts who blocked the bot. The language is the contact's, or
// when it has none the one the chat last registered or pledged in, or "". Its parameters are the
// campaign ($1) and the ward ($2).
func audienceQuery(kind campaign.AudienceKind) string {
	// COALESCE evaluates its arguments only as far as the first that is not null, so the
	// fallbacks are looked up only for chats whose contact has no language.
	// The params CTE gives both parameters their type when the audience uses neither.
	return `
		WITH params (campaign_id, ward_code) AS (SELECT $1::text, $2::text),
		chats (channel, chat_id) AS (` + audienceChats[kind] + `)
		SELECT c.channel, c.chat_id,
			coalesce(nullif(ct.language, ''),
				(SELECT r.language FROM registrations r WHERE r.channel = c.channel AND r.chat_id = c.chat_id
				 AND r.language <> '' ORDER BY r.id DESC LIMIT 1),
				(SELECT p.language FROM pledges p WHERE p.channel = c.channel AND p.chat_id = c.chat_id
				 AND p.language <> '' ORDER BY p.id DESC LIMIT 1),
				'') AS language
		FROM chats c
		LEFT JOIN contacts ct ON ct.channel = c.channel AND ct.external_id = c.chat_id
		WHERE ct.stopped IS NOT TRUE
		ORDER BY c.channel, c.chat_id`
}

// validateAudience returns a normalised, with an EINVALID error for an unknown kind, a ward
// audience without a ward the campaign knows, or another kind with a ward.
func (s *BroadcastStore) validateAudience(a campaign.Audience) (campaign.Audience, error) {
	a.Kind = campaign.AudienceKind(campaign.NormalizeText(string(a.Kind)))
	a.WardCode = campaign.NormalizeText(a.WardCode)
	if _, ok := audienceChats[a.Kind]; !ok {
		return a, campaign.Errorf(campaign.EINVALID, "broadcast: unknown audience %q", a.Kind)
	}
	if a.Kind == campaign.AudienceWard {
		if a.WardCode == "" {
			return a, campaign.Errorf(campaign.EINVALID, "broadcast: a ward audience needs a ward")
		}
		if _, ok := s.c.Ward(a.WardCode); !ok {
			return a, campaign.Errorf(campaign.EINVALID, "broadcast: the campaign has no ward %q", a.WardCode)
		}
	} else if a.WardCode != "" {
		return a, campaign.Errorf(campaign.EINVALID, "broadcast: audience %s takes no ward", a.Kind)
	}
	return a, nil
}

// CountAudience counts the chats a broadcast to a would be queued for now (contacts who blocked
// the bot left out). An invalid audience is an EINVALID error.
func (s *BroadcastStore) CountAudience(ctx context.Context, a campaign.Audience) (int, error) {
	a, err := s.validateAudience(a)
	if err != nil {
		return 0, err
	}
	var n int
	err = s.db.db.GetContext(ctx, &n, `SELECT count(*) FROM (`+audienceQuery(a.Kind)+`) x`, s.c.ID, a.WardCode)
	if err != nil {
		return 0, wrapErr(err, "postgres: count audience")
	}
	return n, nil
}

// CreateBroadcast records b and queues its messages in one transaction, as the contract says:
// one outbox message per recipient, keyed "broadcast:<code>:<channel>:<chat>", in batch b.Batch(),
// due at once, in the recipient's language (b.Texts[language], or b.Texts["vi"] when that is
// missing or empty), and an audit row "broadcast.create" by ByChannel:ByChatID with the audience
// and the number of recipients. It fills ID, Code (BC-000012), Recipients and CreatedAt.
//
// Creations of one idemKey take turns on an advisory lock, so of two at once one creates and the
// other returns its broadcast (created false) without queueing anything. Texts are stored in NFC.
// An invalid audience, a missing Vietnamese text, a text longer than one message, or a missing
// sender or key is an EINVALID error and nothing is stored.
func (s *BroadcastStore) CreateBroadcast(ctx context.Context, b *campaign.Broadcast, idemKey string) (bool, error) {
	if b == nil {
		return false, campaign.Errorf(campaign.EINVALID, "no broadcast")
	}
	in, err := s.validateBroadcast(*b)
	if err != nil {
		return false, err
	}
	idemKey = campaign.NormalizeText(idemKey)
	if err := validateKey("broadcast", idemKey); err != nil {
		return false, err
	}
	if idemKey == "" {
		return false, campaign.Errorf(campaign.EINVALID, "broadcast: an idempotency key is required")
	}
	texts, err := json.Marshal(in.Texts)
	if err != nil {
		return false, fmt.Errorf("postgres: create broadcast: texts: %w", err)
	}
	seq, err := s.seq.ensure(ctx)
	if err != nil {
		return false, err
	}
	now := s.db.now()

	var created bool
	err = s.db.tx(ctx, "create broadcast", txOptions{}, func(tx *sqlx.Tx) error {
		if err := lockKey(ctx, tx, "broadcast", idemKey); err != nil {
			return err
		}
		existing, err := s.one(ctx, tx, "idempotency key", `WHERE idempotency_key = $1`, idemKey)
		if err == nil {
			in, created = existing, false
			return nil
		}
		if campaign.ErrorCode(err) != campaign.ENOTFOUND {
			return err
		}

		err = tx.QueryRowxContext(ctx, `
			INSERT INTO broadcasts (code, campaign_id, audience, ward_code, texts, by_channel, by_chat_id,
				idempotency_key, created_at)
			VALUES (format_code($1, nextval($2::regclass)), $3, $4, $5, $6::text::jsonb, $7, $8, $9, $10)
			RETURNING id, code`,
			campaign.BroadcastPrefix, seq, s.c.ID, in.Audience.Kind, in.Audience.WardCode, string(texts),
			in.ByChannel, in.ByChatID, idemKey, now,
		).Scan(&in.ID, &in.Code)
		if err != nil {
			return wrapErr(err, "postgres: create broadcast")
		}
		in.CreatedAt = now

		// The texts are read from the row just inserted, so the outbox gets what was recorded.
		res, err := tx.ExecContext(ctx, `
			INSERT INTO outbox (key, batch, channel, chat_id, text, next_at, created_at, updated_at)
			SELECT $3 || ':' || a.channel || ':' || a.chat_id, $3, a.channel, a.chat_id,
				coalesce(nullif(b.texts->>a.language, ''), b.texts->>'vi'), $4, $4, $4
			FROM (`+audienceQuery(in.Audience.Kind)+`) a, broadcasts b
			WHERE b.id = $5
			ORDER BY a.channel, a.chat_id
			ON CONFLICT (key) DO NOTHING`,
			s.c.ID, in.Audience.WardCode, in.Batch(), now, in.ID)
		if err != nil {
			return wrapErr(err, "postgres: create broadcast: queue messages")
		}
		n, err := res.RowsAffected()
		if err != nil {
			return wrapErr(err, "postgres: create broadcast: queue messages")
		}
		in.Recipients = int(n)
		if _, err := tx.ExecContext(ctx, `UPDATE broadcasts SET recipients = $2 WHERE id = $1`, in.ID, in.Recipients); err != nil {
			return wrapErr(err, "postgres: create broadcast: recipients")
		}
		created = true
		return insertAudit(ctx, tx, campaign.AuditEntry{
			At: now, Actor: in.ByChannel + ":" + in.ByChatID, Action: "broadcast.create", Subject: in.Code,
			After: struct {
				Audience   campaign.AudienceKind `json:"audience"`
				Ward       string                `json:"ward,omitempty"`
				Recipients int                   `json:"recipients"`
			}{in.Audience.Kind, in.Audience.WardCode, in.Recipients},
		})
	})
	if err != nil {
		return false, err
	}
	*b = in
	return created, nil
}

// validateBroadcast returns b normalised, or an EINVALID error.
func (s *BroadcastStore) validateBroadcast(b campaign.Broadcast) (campaign.Broadcast, error) {
	invalid := func(format string, args ...any) error {
		return campaign.Errorf(campaign.EINVALID, "broadcast: "+format, args...)
	}
	out := campaign.Broadcast{
		ByChannel: campaign.NormalizeText(b.ByChannel),
		ByChatID:  campaign.NormalizeText(b.ByChatID),
		Texts:     make(map[string]string, len(b.Texts)),
	}
	var err error
	if out.Audience, err = s.validateAudience(b.Audience); err != nil {
		return out, err
	}
	if err := checkTexts(invalid, true,
		textField{"sender channel", out.ByChannel, maxIDLen},
		textField{"sender chat", out.ByChatID, maxIDLen},
	); err != nil {
		return out, err
	}
	// Line breaks are the official's layout: texts are put in NFC, not folded.
	for lang, text := range b.Texts {
		lang = campaign.NormalizeText(lang)
		text = strings.TrimSpace(norm.NFC.String(text))
		if lang == "" || utf8.RuneCountInString(lang) > maxIDLen {
			return out, invalid("a text needs a language")
		}
		if text == "" {
			continue
		}
		if n := utf8.RuneCountInString(text); n > maxBroadcastText {
			return out, invalid("the %s text has %d characters; at most %d", lang, n, maxBroadcastText)
		}
		out.Texts[lang] = text
	}
	if out.Texts["vi"] == "" {
		return out, invalid("a Vietnamese text is required")
	}
	return out, nil
}

// BroadcastProgress returns the broadcast with code (in any case) and the outbox counts of its
// batch: Queued is pending and being sent; Unreachable, out of the channel's window, is apart from
// Failed. An unknown code is an ENOTFOUND error.
func (s *BroadcastStore) BroadcastProgress(ctx context.Context, code string) (campaign.BroadcastProgress, error) {
	b, err := s.one(ctx, s.db.db, "code", `WHERE code = $1`, normalizeCode(code))
	if err != nil {
		return campaign.BroadcastProgress{}, err
	}
	c, err := NewOutbox(s.db).batchCounts(ctx, b.Batch())
	if err != nil {
		return campaign.BroadcastProgress{}, err
	}
	return campaign.BroadcastProgress{Broadcast: b, Queued: c.queued, Sent: c.sent, Failed: c.failed,
		Stopped: c.stopped, Unreachable: c.unreachable}, nil
}

// one returns the broadcast that where (a WHERE clause of broadcasts) selects, or an ENOTFOUND
// error naming what.
func (s *BroadcastStore) one(ctx context.Context, q sqlx.QueryerContext, what, where string, args ...any) (campaign.Broadcast, error) {
	var row struct {
		ID         int64     `db:"id"`
		Code       string    `db:"code"`
		Audience   string    `db:"audience"`
		WardCode   string    `db:"ward_code"`
		Texts      []byte    `db:"texts"`
		ByChannel  string    `db:"by_channel"`
		ByChatID   string    `db:"by_chat_id"`
		Recipients int       `db:"recipients"`
		CreatedAt  time.Time `db:"created_at"`
	}
	err := sqlx.GetContext(ctx, q, &row, `
		SELECT id, code, audience, ward_code, texts, by_channel, by_chat_id, recipients, created_at
		FROM broadcasts `+where, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return campaign.Broadcast{}, campaign.Errorf(campaign.ENOTFOUND, "no broadcast with that %s", what)
	}
	if err != nil {
		return campaign.Broadcast{}, wrapErr(err, "postgres: broadcast by "+what)
	}
	b := campaign.Broadcast{
		ID: row.ID, Code: row.Code,
		Audience:  campaign.Audience{Kind: campaign.AudienceKind(row.Audience), WardCode: row.WardCode},
		ByChannel: row.ByChannel, ByChatID: row.ByChatID, Recipients: row.Recipients, CreatedAt: row.CreatedAt.UTC(),
	}
	if err := json.Unmarshal(row.Texts, &b.Texts); err != nil {
		return campaign.Broadcast{}, fmt.Errorf("postgres: broadcast %s: texts: %w", row.Code, err)
	}
	return b, nil
}

// ReminderStore finds who needs a reminder or the morning count, and counts the hand-overs by
// day for the progress chart.
type ReminderStore struct {
	db *DB
	c  *campaign.Campaign
}

var _ campaign.ReminderStore = (*ReminderStore)(nil)

// NewReminderStore returns a ReminderStore of campaign c over db.
func NewReminderStore(db *DB, c *campaign.Campaign) *ReminderStore {
	return &ReminderStore{db: db, c: c}
}

// PledgesAwaiting lists the pledges made before before, not cancelled, that pledged devices of
// which none was received (no device of the pledge past state pledged), oldest first, with the
// donor's chat, the contact's language (or the pledge's when the contact has none) and the number
// of devices pledged. Donors who blocked the bot are left out.
//
// A pledge stays in the list on every call until a device arrives or it is cancelled: the caller
// keys its reminder (campaign.Notice.Key) so that it is sent once.
func (s *ReminderStore) PledgesAwaiting(ctx context.Context, before time.Time) ([]campaign.PledgeAwaiting, error) {
	var rows []struct {
		Code      string    `db:"code"`
		Channel   string    `db:"channel"`
		ChatID    string    `db:"chat_id"`
		Language  string    `db:"language"`
		Devices   int       `db:"devices"`
		CreatedAt time.Time `db:"created_at"`
	}
	err := s.db.db.SelectContext(ctx, &rows, `
		SELECT p.code, p.channel, p.chat_id, coalesce(nullif(ct.language, ''), p.language) AS language,
			i.devices, p.created_at
		FROM pledges p
		JOIN (SELECT pledge_id, sum(quantity)::int AS devices FROM pledge_items
		      WHERE kind = ANY($2::text[]) GROUP BY pledge_id) i ON i.pledge_id = p.id
		LEFT JOIN contacts ct ON ct.channel = p.channel AND ct.external_id = p.chat_id
		WHERE p.created_at < $1 AND p.status <> 'cancelled' AND ct.stopped IS NOT TRUE
		  AND NOT EXISTS (SELECT 1 FROM devices d WHERE d.pledge_id = p.id AND d.state <> 'pledged')
		ORDER BY p.created_at, p.id`,
		before.UTC(), toStrings(campaign.DeviceTypes))
	if err != nil {
		return nil, wrapErr(err, "postgres: pledges awaiting")
	}
	out := make([]campaign.PledgeAwaiting, 0, len(rows))
	for _, r := range rows {
		out = append(out, campaign.PledgeAwaiting{Code: r.Code, Channel: r.Channel, ChatID: r.ChatID,
			Language: r.Language, Devices: r.Devices, CreatedAt: r.CreatedAt.UTC()})
	}
	return out, nil
}

// PendingVerifications counts the campaign's registrations in status submitted by ward code; a
// registration waiting for a parent's answer is in status needs_info and is not counted. Wards
// with none are absent. The counts come from the counters ProgressStore reads, so they agree with
// its pending figure less the registrations waiting for information.
func (s *ReminderStore) PendingVerifications(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.db.QueryContext(ctx, `
		SELECT ward_code, sum(n) FROM registration_counts
		WHERE campaign_id = $1 AND status = $2
		GROUP BY ward_code HAVING sum(n) > 0`, s.c.ID, campaign.StatusSubmitted)
	if err != nil {
		return nil, wrapErr(err, "postgres: pending verifications")
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var ward string
		var n int
		if err := rows.Scan(&ward, &n); err != nil {
			return nil, wrapErr(err, "postgres: pending verifications")
		}
		out[ward] = n
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr(err, "postgres: pending verifications")
	}
	return out, nil
}

// DeliveriesByDay counts the hand-overs (deliveries marked delivered, a device and/or
// connectivity each) by the campaign-local day they were handed over, for the city (wardCode "")
// or the children of one ward, up to and including until's local day, oldest first. Days without
// a hand-over are absent: the caller fills them in when it draws a chart.
//
// It sums the counters of migration 00011 (deliveries with a hand-over time, which is set in the
// same transaction as the registration's status delivered), so the days add up to what
// ProgressStore counts as delivered. A registration's ward is read when its delivery changes:
// no path moves a registration to another ward after its hand-over.
func (s *ReminderStore) DeliveriesByDay(ctx context.Context, wardCode string, until time.Time) ([]campaign.DayCount, error) {
	ward := campaign.NormalizeText(wardCode)
	if ward != "" {
		if _, ok := s.c.Ward(ward); !ok {
			return nil, campaign.Errorf(campaign.ENOTFOUND, "the campaign has no ward %q", ward)
		}
	}
	end := s.c.LocalDate(until).AddDate(0, 0, 1)
	var rows []struct {
		Day   string `db:"day"`
		Count int    `db:"n"`
	}
	// The counters of migration 00011, by quarter of an hour: local midnight always starts one.
	err := s.db.db.SelectContext(ctx, &rows, `
		SELECT to_char(slot AT TIME ZONE $2, 'YYYY-MM-DD') AS day, sum(n) AS n
		FROM delivery_counts
		WHERE campaign_id = $1 AND slot < $3 AND ($4::text = '' OR ward_code = $4)
		GROUP BY 1 HAVING sum(n) <> 0 ORDER BY 1`,
		s.c.ID, s.c.Location.String(), end.UTC(), ward)
	if err != nil {
		return nil, wrapErr(err, "postgres: deliveries by day")
	}
	out := make([]campaign.DayCount, 0, len(rows))
	for _, r := range rows {
		d, err := time.ParseInLocation(campaign.DateLayout, r.Day, s.c.Location)
		if err != nil {
			return nil, fmt.Errorf("postgres: deliveries by day: %w", err)
		}
		out = append(out, campaign.DayCount{Date: d, Count: r.Count})
	}
	return out, nil
}

// ActiveStaff lists the active staff whose contact has not blocked the bot, ordered by channel
// and id, with the contact's language ("" without one); Since is zero.
func (s *ReminderStore) ActiveStaff(ctx context.Context) ([]campaign.Subscriber, error) {
	var rows []subscriberRow
	err := s.db.db.SelectContext(ctx, &rows, `
		SELECT sf.channel, sf.external_id, coalesce(nullif(sf.name, ''), ct.name, '') AS name, sf.role,
			coalesce(sf.ward_code, '') AS ward_code, coalesce(ct.language, '') AS language,
			NULL::timestamptz AS created_at
		FROM staff sf
		LEFT JOIN contacts ct ON ct.channel = sf.channel AND ct.external_id = sf.external_id
		WHERE sf.active AND ct.stopped IS NOT TRUE
		ORDER BY sf.channel, sf.external_id`)
	if err != nil {
		return nil, wrapErr(err, "postgres: active staff")
	}
	return subscribers(rows), nil
}
