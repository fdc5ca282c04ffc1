package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/thuduc/maytinhchoem/campaign"
)

// What erasure does, table by table (migrations 00001-00017). It keeps what the campaign's
// figures and the donors' traceability need and nothing that names, reaches or locates a family:
//
//   - registrations: kept: code, campaign, status, reject_code, ward, level, grade,
//     circumstances, device_situation, needs, language, possible_duplicate_of (codes),
//     consent_at, created_at, decided_by/at (staff). Blanked: parent_name, parent_phone, school,
//     address, circumstance_other and reject_reason (free text), chat_id and user_id (the
//     family's account on the channel: an erased registration belongs to no chat, so
//     RegistrationsByChat no longer lists it and no notice or broadcast reaches the family for
//     it); idempotency_key becomes "erased:<code>" (the form's key lived in the family's dialog;
//     a submit retried after the erasure makes a new registration rather than return a blank
//     one). erased_at is set. The counters (registration_counts) do not move: ward and status
//     are unchanged. The counters by school (registration_school_counts, migration 00027) move
//     the registration to the "no school" count, and the row that named its school is deleted
//     once it counts nobody: no counter keeps an erased family's school.
//   - students: the child's row is blanked (name, name_key, birth date 0001-01-01, which reads
//     back as the zero time), unless another registration shares it (a second parent registered
//     the same child): that one keeps it and the erased registration gets a blank row of its own.
//     "Already helped" can no longer recognise the child, which is what erasure means.
//   - registration_notes: the officials' questions and the parent's answers (words, and the
//     channel's ids of the photos sent with them) are deleted.
//   - deliveries: kept: code, status, device, stock, handover, attempts, last_failure (a code),
//     volunteer and allocated_by (staff), every date, auto_confirmed: a delivered device stays
//     countable (delivery_counts do not move). Blanked: recipient_name, photo_id (the channel's
//     file id of the proof photo, which the bot never downloads: without the id nobody here can
//     fetch it), last_failure_note.
//   - devices, device_events: kept (the device, its state and allocated_registration_id, which
//     tells a donor the level and ward their device reached). Their notes are free text typed
//     by volunteers: mentions of the family are masked ("***"); at the end of retention the
//     notes of devices that reached the campaign's children are blanked.
//   - case_keys: the keys of the case work on the registration and its delivery are deleted
//     (they only de-duplicate retried updates).
//   - contacts: the family's chat is deleted from contacts when nothing else ties it to the
//     campaign (a live registration, a pledge, a staff role, a subscription); otherwise its name
//     is blanked when it is the parent's. On each channel erased on, a stopped contact of chat ''
//     makes every audience leave erased records out (see migration 00017).
//   - outbox: messages not yet sent to the family's chat (when nothing else ties it), about the
//     registration or its delivery (keys carry the code), or whose text mentions the family, are
//     deleted; sent ones are kept for the counts with their text, buttons, file and photo
//     blanked, and those to the family's chat lose the chat id too.
//   - audit_log: append-only (migration 00020: a trigger refuses UPDATE, DELETE and TRUNCATE),
//     so untouched but for the tombstone ErasureActionRegistration (who, when, which code, why,
//     and the status, ward and delivery code it stays countable as). Nothing personal was
//     written there to begin with (audit.go): what the family did is by campaign.FamilyActor,
//     never its chat (a tombstone asked from the family's own chat too); subjects are codes
//     (the registration's, its delivery's, its device's label: codes are the tombstone); no free
//     text (an official's question or reason, the parent's answer, a volunteer's note), and a
//     search (data.find) keeps the kind of query and the codes found, never a phone or a name.
//   - claim_attempts: the wrong birth dates typed to claim with a phone (kept as its sha256) are
//     deleted with the registration holding the phone, unless another registration not erased may
//     still claim with it (the count protects that one); the retention pass deletes those of
//     every phone no remaining registration may claim with. An administrator's /unblock clears
//     them too.
//   - file_links: published exports (download links for Zalo) may list the family: deleted,
//     charts (.png) kept. The officials export again.
//   - broadcasts, money: officials' texts and notes mentioning the family are masked.
//   - pledges, pledge_items, money, stock, purchases: a donor's data, not the family's:
//     untouched by a family's erasure. At the end of retention a pledge keeps its code, kind,
//     items, status, delivery method, ward, dates and its devices (the traceability), loses its
//     chat, phone, contact person and pickup address, and an individual donor's name; a
//     business's or an organisation's name is not personal data and stays in the campaign's
//     account of who gave what. Money notes of those pledges are blanked.
//   - staff, invitations, subscriptions: the officials and volunteers acting in their role,
//     kept for accountability (the audit log names them).
//   - registration_counts, registration_school_counts, device_counts, delivery_counts, job_runs,
//     channel_records, goose_db_version: figures, job results, channel tokens: no personal data
//     (a school's name is kept while a registration not erased still counts under it).
//
// Outside PostgreSQL, the family's dialog lives in Redis and the final report's workbooks in
// REPORTS_DIR: jobs.Retention, the campaign.Eraser, clears those after the store's erasure.

// masked replaces a mention of an erased family in a free text.
const masked = "***"

// erasedChat replaces the chat of a sent outbox message to an erased family.
const erasedChat = "erased"

// erasedBirthDate is the birth date of an erased child: year 1, Go's zero time.
const erasedBirthDate = "0001-01-01"

// minMention is the shortest text searched for as a mention of the family: shorter ones ("An")
// are parts of too many other words.
const minMention = 5

// Bounds on one statement of an erasure: a single one searches the free texts of whole tables
// (seconds over a million messages), a retention batch blanks the outbox's history at its end.
const (
	erasureStatementTimeout   = 2 * time.Minute
	retentionStatementTimeout = 15 * time.Minute
)

// defaultErasureBatch is how many registrations or pledges one transaction of AnonymizeExpired
// erases.
const defaultErasureBatch = 500

// PrivacyStore erases personal data: a family's on request (EraseRegistration), everyone's once
// the campaign's retention is over (AnonymizeExpired). See the comment above for what each table
// keeps.
type PrivacyStore struct {
	db *DB
	c  *campaign.Campaign
	// Batch is how many records one transaction of AnonymizeExpired erases; 500 when not
	// positive.
	Batch int
}

var _ campaign.ErasureStore = (*PrivacyStore)(nil)

// NewPrivacyStore returns a PrivacyStore of campaign c over db.
func NewPrivacyStore(db *DB, c *campaign.Campaign) *PrivacyStore {
	return &PrivacyStore{db: db, c: c}
}

// eraseTarget is a registration about to be erased, with what it holds and where it reaches.
type eraseTarget struct {
	ID                int64          `db:"id"`
	Code              string         `db:"code"`
	Status            string         `db:"status"`
	WardCode          string         `db:"ward_code"`
	Level             string         `db:"level"`
	Grade             int            `db:"grade"`
	Channel           string         `db:"channel"`
	ChatID            string         `db:"chat_id"`
	UserID            string         `db:"user_id"`
	StudentID         int64          `db:"student_id"`
	ParentName        string         `db:"parent_name"`
	ParentPhone       string         `db:"parent_phone"`
	Address           string         `db:"address"`
	School            string         `db:"school"`
	CircumstanceOther string         `db:"circumstance_other"`
	RejectReason      string         `db:"reject_reason"`
	StudentName       string         `db:"full_name"`
	NameKey           string         `db:"name_key"`
	BirthDate         string         `db:"birth_date"`
	Duplicates        int            `db:"duplicates"`
	ErasedAt          sql.NullTime   `db:"erased_at"`
	DeliveryID        sql.NullInt64  `db:"delivery_id"`
	DeliveryCode      string         `db:"delivery_code"`
	DeliveryStatus    string         `db:"delivery_status"`
	RecipientName     string         `db:"recipient_name"`
	PhotoID           string         `db:"photo_id"`
	FailureNote       string         `db:"failure_note"`
	DeviceID          sql.NullInt64  `db:"device_id"`
	DeviceLabel       string         `db:"device_label"`
	Notes             pq.StringArray `db:"notes"`
	NotePhotos        pq.StringArray `db:"note_photos"`
}

// selectEraseTargets reads eraseTarget columns; a WHERE clause and the lock follow it.
const selectEraseTargets = `
	SELECT r.id, r.code, r.status, r.ward_code, r.level, r.grade, r.channel, r.chat_id, r.user_id,
		r.student_id, r.parent_name, r.parent_phone, r.address, r.school, r.circumstance_other,
		r.reject_reason, s.full_name, s.name_key, to_char(s.birth_date, 'YYYY-MM-DD') AS birth_date,
		cardinality(r.possible_duplicate_of) AS duplicates, r.erased_at,
		dl.id AS delivery_id, coalesce(dl.code, '') AS delivery_code, coalesce(dl.status, '') AS delivery_status,
		coalesce(dl.recipient_name, '') AS recipient_name, coalesce(dl.photo_id, '') AS photo_id,
		coalesce(dl.last_failure_note, '') AS failure_note, d.id AS device_id, coalesce(d.label, '') AS device_label,
		ARRAY(SELECT n.body FROM registration_notes n WHERE n.registration_id = r.id ORDER BY n.id) AS notes,
		ARRAY(SELECT n.photo_id FROM registration_notes n WHERE n.registration_id = r.id AND n.photo_id <> '' ORDER BY n.id) AS note_photos
	FROM registrations r
	JOIN students s ON s.id = r.student_id
	LEFT JOIN deliveries dl ON dl.registration_id = r.id
	LEFT JOIN devices d ON d.id = dl.device_id
	`

// kept returns what the registration keeps.
func (t eraseTarget) kept() campaign.ErasureKept {
	return campaign.ErasureKept{
		Status: campaign.RegistrationStatus(t.Status), WardCode: t.WardCode, Level: campaign.SchoolLevel(t.Level),
		Grade: t.Grade, DeliveryStatus: campaign.DeliveryStatus(t.DeliveryStatus), DeviceLabel: t.DeviceLabel,
		PossibleRepeats: t.Duplicates,
	}
}

// actors are the "channel:id" the family's chat and user go by: an erasure asked as one of them
// is the family's own, and its tombstone is by campaign.FamilyActor.
func (t eraseTarget) actors() []string {
	if t.ChatID == "" {
		return nil
	}
	out := []string{t.Channel + ":" + t.ChatID}
	if t.UserID != "" && t.UserID != t.ChatID {
		out = append(out, t.Channel+":"+t.UserID)
	}
	return out
}

// mentions are the texts that, found elsewhere, name, reach or locate the family: names (as
// stored, lower-cased and without diacritics), the address and school, the birth date as stored
// and as written, the ids of the photos (the proof of delivery, those sent with answers) and the
// family's own words. Phones are looked for by newMentionSearch.
func (t eraseTarget) mentions() []string {
	var out []string
	add := func(s string) {
		if utf8.RuneCountInString(s) >= minMention && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, name := range []string{t.StudentName, t.ParentName, t.RecipientName} {
		add(name)
		add(strings.ToLower(name))
		add(campaign.Fold(name))
	}
	for _, s := range []string{t.Address, t.School, t.PhotoID, t.CircumstanceOther, t.RejectReason, t.FailureNote} {
		add(s)
	}
	for _, n := range t.Notes {
		add(n)
	}
	for _, p := range t.NotePhotos {
		add(p)
	}
	if b, err := time.Parse(campaign.DateLayout, t.BirthDate); err == nil && t.BirthDate != erasedBirthDate {
		add(t.BirthDate)
		add(b.Format("02/01/2006"))
		add(b.Format("2/1/2006"))
	}
	return out
}

// mentionSearch looks for a family's mentions in free texts: the texts of mentions() with LIKE,
// and the phones, written any way, with a regular expression of their digits. PostgreSQL runs a
// LIKE ANY over a million messages in about a second, and the same texts as one case-insensitive
// regular expression in eleven, so only the phone, which no LIKE can match in all its forms, is
// a regular expression (0.6 s).
type mentionSearch struct {
	likes pq.StringArray // "%text%", escaped for LIKE
	phone string         // matches any of the phones; "" when none
	mask  string         // matches every mention, for regexp_replace and Go; "" when none
}

func newMentionSearch(texts, phones []string) mentionSearch {
	m := mentionSearch{likes: pq.StringArray{}}
	escape := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	var alts, phoneAlts []string
	for _, s := range texts {
		m.likes = append(m.likes, "%"+escape.Replace(s)+"%")
		alts = append(alts, "(?:"+regexp.QuoteMeta(s)+")")
	}
	for _, p := range phones {
		if pat := phonePattern(p); pat != "" && !slices.Contains(phoneAlts, "(?:"+pat+")") {
			phoneAlts = append(phoneAlts, "(?:"+pat+")")
		}
	}
	m.phone = strings.Join(phoneAlts, "|")
	m.mask = strings.Join(append(alts, phoneAlts...), "|")
	return m
}

// cond is SQL that is true when expr mentions the family, the LIKE patterns being parameter
// $likes and the phone's expression $phone.
func (mentionSearch) cond(expr string, likes, phone int) string {
	return fmt.Sprintf("(%[1]s LIKE ANY($%[2]d) OR ($%[3]d <> '' AND %[1]s ~ $%[3]d))", expr, likes, phone)
}

// phonePattern matches a phone number written as people write it: +84 90 312 3456, 0903.123.456,
// 84903123456. Only the national digits are fixed; any of " .-()" may come between them. The
// expression is valid for PostgreSQL and Go alike.
func phonePattern(e164 string) string {
	if !e164Phone.MatchString(e164) {
		return ""
	}
	national := e164[1:]
	prefix := `\+?`
	if rest, ok := strings.CutPrefix(national, "84"); ok {
		national, prefix = rest, `(?:\+?84|0)`
	}
	sep := `[ .()-]*`
	return prefix + sep + strings.Join(strings.Split(national, ""), sep)
}

// e164Phone is a stored phone number.
var e164Phone = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// EraseRegistration erases the family's personal data of the campaign's registration code (in any
// case) in one transaction, as the comment at the top of this file says table by table, and writes
// the tombstone: an audit entry campaign.ErasureActionRegistration by by (a staff member's
// "channel:id", "system", or campaign.FamilyActor, which by becomes when it is the family's own
// chat) about the code, with the reason, status and ward. The child's possible-duplicate
// lock (the one submits take) is held, so a concurrent registration of the same child either
// sees the child's row before or shares none of it.
//
// An unknown code is ENOTFOUND; an empty by or an unknown reason EINVALID. A registration erased
// before is returned with Already set and nothing is written. The search of the free texts reads
// whole tables (0.9 s per erasure beside a million messages and a million audit entries,
// BenchmarkPrivacyStore_EraseRegistration): the transaction runs on the maintenance pool with
// statements bounded by two minutes rather than the stores' ten seconds.
func (s *PrivacyStore) EraseRegistration(ctx context.Context, code, by string, reason campaign.ErasureReason) (campaign.Erasure, error) {
	code, by = normalizeCode(code), campaign.NormalizeText(by)
	if code == "" {
		return campaign.Erasure{}, campaign.Errorf(campaign.EINVALID, "erase: no registration code")
	}
	if by == "" || utf8.RuneCountInString(by) > maxIDLen {
		return campaign.Erasure{}, campaign.Errorf(campaign.EINVALID, "erase: who erases is required")
	}
	if !slices.Contains(campaign.ErasureReasons, reason) {
		return campaign.Erasure{}, campaign.Errorf(campaign.EINVALID, "erase: unknown reason %q", reason)
	}
	now := s.db.now()
	var out campaign.Erasure
	err := s.db.tx(ctx, "erase registration", maintenanceTx(erasureStatementTimeout), func(tx *sqlx.Tx) error {
		var t eraseTarget
		err := tx.GetContext(ctx, &t, selectEraseTargets+`WHERE r.campaign_id = $1 AND r.code = $2 FOR UPDATE OF r`, s.c.ID, code)
		if errors.Is(err, sql.ErrNoRows) {
			return campaign.Errorf(campaign.ENOTFOUND, "no registration %s", code)
		}
		if err != nil {
			return wrapErr(err, "postgres: erase registration")
		}
		out = campaign.Erasure{Code: t.Code, DeliveryCode: t.DeliveryCode, Reason: reason, Kept: t.kept()}
		if t.ErasedAt.Valid {
			out.Already, out.At = true, t.ErasedAt.Time.UTC()
			return nil
		}
		if t.NameKey != "" {
			// The submit's key for a possible duplicate of this child (submit_registration).
			childKey := s.c.ID + "|" + t.NameKey + "|" + t.BirthDate + "|" + t.WardCode
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, childKey); err != nil {
				return wrapErr(err, "postgres: erase registration: lock child")
			}
		}
		// The audit log keeps no family's chat, the tombstone included.
		actor := by
		if slices.Contains(t.actors(), by) {
			actor = campaign.FamilyActor
		}
		counts, tied, err := s.erase(ctx, tx, []eraseTarget{t}, actor, reason, now, true)
		if err != nil {
			return err
		}
		out.At, out.Erased = now, counts
		out.Family = campaign.Session{Channel: t.Channel, ChatID: t.ChatID}
		out.FamilyKept = tied[out.Family]
		return nil
	})
	if err != nil {
		return campaign.Erasure{}, err
	}
	return out, nil
}

// erase erases targets, locked by the caller, in tx; actor and reason go into their tombstones.
// thorough also looks for the family's mentions in the free texts of other records (device,
// money and broadcast notes, the outbox), which only a single erasure can afford:
// the retention pass blanks those texts wholesale instead (anonymizeRest). It returns the counts
// and, for each family chat, whether something else still ties it to the bot.
func (s *PrivacyStore) erase(ctx context.Context, tx *sqlx.Tx, targets []eraseTarget, actor string, reason campaign.ErasureReason, now time.Time, thorough bool) (campaign.ErasureCounts, map[campaign.Session]bool, error) {
	var counts campaign.ErasureCounts
	// Arrays go to PostgreSQL as '{}' when empty, never as NULL, which ANY and ALL would read as
	// unknown.
	ids, students, deviceIDs := pq.Int64Array{}, pq.Int64Array{}, pq.Int64Array{}
	codes, names := pq.StringArray{}, pq.StringArray{}
	var (
		chats            []campaign.Session
		mentions, phones []string
	)
	for _, t := range targets {
		ids = append(ids, t.ID)
		students = append(students, t.StudentID)
		codes = append(codes, t.Code)
		if t.DeliveryCode != "" {
			codes = append(codes, t.DeliveryCode)
		}
		if t.DeviceID.Valid {
			deviceIDs = append(deviceIDs, t.DeviceID.Int64)
		}
		if t.ChatID != "" {
			if c := (campaign.Session{Channel: t.Channel, ChatID: t.ChatID}); !slices.Contains(chats, c) {
				chats = append(chats, c)
			}
		}
		names = append(names, t.ParentName)
		mentions = append(mentions, t.mentions()...)
		phones = append(phones, t.ParentPhone)
	}
	exec := func(what, query string, args ...any) (int, error) {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return 0, wrapErr(err, "postgres: erase: "+what)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, wrapErr(err, "postgres: erase: "+what)
		}
		return int(n), nil
	}

	// The child. A row another registration shares stays with it; the erased one gets its own.
	shared := pq.Int64Array{}
	err := tx.SelectContext(ctx, &shared, `
		SELECT DISTINCT student_id FROM registrations WHERE student_id = ANY($1) AND id <> ALL($2)`, students, ids)
	if err != nil {
		return counts, nil, wrapErr(err, "postgres: erase: shared students")
	}
	for _, t := range targets {
		if !slices.Contains(shared, t.StudentID) {
			continue
		}
		_, err := exec("own student", `
			WITH blank AS (
				INSERT INTO students (campaign_id, full_name, name_key, birth_date, ward_code, created_at, erased_at)
				SELECT campaign_id, '', '', $3, ward_code, $2, $2 FROM students WHERE id = $4
				RETURNING id
			)
			UPDATE registrations SET student_id = (SELECT id FROM blank) WHERE id = $1`,
			t.ID, now, erasedBirthDate, t.StudentID)
		if err != nil {
			return counts, nil, err
		}
	}
	if counts.StudentRows, err = exec("students", `
		UPDATE students SET full_name = '', name_key = '', birth_date = $3, erased_at = $2
		WHERE id = ANY($1) AND id <> ALL($4) AND erased_at IS NULL`, students, now, erasedBirthDate, shared); err != nil {
		return counts, nil, err
	}

	// The registration: ward, status and the rest of the figures unchanged, so the counters
	// (statement triggers of migration 00008) add nothing.
	if _, err := exec("registrations", `
		UPDATE registrations SET parent_name = '', parent_phone = '', school = '', address = '',
			circumstance_other = '', reject_reason = '', chat_id = '', user_id = '',
			idempotency_key = 'erased:' || code, erased_at = $2, updated_at = $2
		WHERE id = ANY($1)`, ids, now); err != nil {
		return counts, nil, err
	}
	// The wrong birth dates typed to claim with the family's phone (claim_attempts, the phone as
	// its sha256), unless a registration not erased may still claim with the phone: the count
	// and the block protect that one (a twin's) from guessing.
	claimPhones, claimHashes := pq.StringArray{}, pq.StringArray{}
	for _, p := range phones {
		if p != "" && !slices.Contains(claimPhones, p) {
			claimPhones, claimHashes = append(claimPhones, p), append(claimHashes, phoneHash(p))
		}
	}
	if len(claimHashes) > 0 {
		if counts.ClaimAttempts, err = exec("claim attempts", `
			DELETE FROM claim_attempts ca WHERE ca.campaign_id = $1 AND ca.phone_hash = ANY($2)
				AND NOT EXISTS (SELECT 1 FROM registrations r
					WHERE r.campaign_id = $1 AND r.parent_phone = ANY($3) AND r.chat_id = '' AND r.registered_by <> ''
						AND r.erased_at IS NULL AND r.status <> 'withdrawn'
						AND encode(sha256(convert_to(r.parent_phone, 'UTF8')), 'hex') = ca.phone_hash)`,
			s.c.ID, claimHashes, claimPhones); err != nil {
			return counts, nil, err
		}
	}
	if counts.Notes, err = exec("notes", `DELETE FROM registration_notes WHERE registration_id = ANY($1)`, ids); err != nil {
		return counts, nil, err
	}
	// delivered_at is unchanged, so the deliveries' counters (migration 00011) add nothing.
	if _, err := exec("deliveries", `
		UPDATE deliveries SET recipient_name = '', photo_id = '', last_failure_note = '', erased_at = $2
		WHERE registration_id = ANY($1)`, ids, now); err != nil {
		return counts, nil, err
	}
	if thorough {
		// The retention pass deletes these once, at its end (anonymizeRest).
		if counts.CaseKeys, err = exec("case keys", `DELETE FROM case_keys WHERE subject = ANY($1)`, codes); err != nil {
			return counts, nil, err
		}
	}

	// The audit log is append-only and holds nothing of the family: only the tombstone is added
	// (below).
	if !thorough && len(deviceIDs) > 0 {
		// The volunteers' notes on the devices that reached the children: only retention blanks
		// them whole; a single erasure masks the family's mentions in them below.
		var n int
		err := tx.GetContext(ctx, &n, `
			WITH d AS (UPDATE devices SET note = '' WHERE id = ANY($1) AND note <> '' RETURNING 1),
			e AS (UPDATE device_events SET note = '' WHERE device_id = ANY($1) AND note <> '' AND note <> ALL($2) RETURNING 1)
			SELECT (SELECT count(*) FROM d) + (SELECT count(*) FROM e)`, deviceIDs, codes)
		if err != nil {
			return counts, nil, wrapErr(err, "postgres: erase: device notes")
		}
		counts.Mentions += n
	}
	if err := tombstones(ctx, tx, targets, actor, reason, now); err != nil {
		return counts, nil, err
	}

	// The family's chats: deleted from contacts when nothing else ties them, otherwise without
	// the parent's name. The registrations are already off them, so a registration still on the
	// chat is another one.
	split, err := splitChats(ctx, tx, chats)
	if err != nil {
		return counts, nil, err
	}
	tied, freeCh, freeID := split.tied, split.freeCh, split.freeID
	if counts.Contacts, err = forgetContacts(ctx, tx, split, chats, names, now); err != nil {
		return counts, nil, err
	}

	if !thorough {
		return counts, tied, nil
	}

	// The outbox: what is to the family's chat (when nothing else ties it) or about the
	// registration or its delivery. Keys name the record as ":<code>:" or end with ":<code>".
	patterns := make(pq.StringArray, 0, 2*len(codes))
	for _, c := range codes {
		patterns = append(patterns, "%:"+c+":%", "%:"+c)
	}
	m := newMentionSearch(mentions, phones)
	// One scan of the outbox finds both what is to delete and what is to blank. Every notice
	// about the case is keyed by its code (flows' noticeKey); the texts are searched too, those
	// of notices and broadcasts (the officials' own words): bulk messages (summaries, milestones,
	// reminders) are written from figures, and searching a million of them took three seconds.
	var outbox struct {
		Deleted int `db:"deleted"`
		Blanked int `db:"blanked"`
	}
	err = tx.GetContext(ctx, &outbox, `
		WITH hit AS (
			SELECT id, status IN ('pending', 'sending') AS unsent,
				(channel, chat_id) IN (SELECT * FROM unnest($2::text[], $3::text[])) AS family
			FROM outbox
			WHERE key LIKE ANY($1) OR (channel, chat_id) IN (SELECT * FROM unnest($2::text[], $3::text[]))
				OR ((lane = 'notice' OR batch LIKE 'broadcast:%') AND (`+m.cond("text", 4, 5)+`
					OR (buttons <> '[]'::jsonb AND `+m.cond("buttons::text", 4, 5)+`)
					OR (photo_id <> '' AND `+m.cond("photo_id", 4, 5)+`)))
		), deleted AS (
			DELETE FROM outbox o USING hit WHERE o.id = hit.id AND hit.unsent RETURNING 1
		), blanked AS (
			UPDATE outbox o SET text = '', buttons = '[]', file_path = '', file_name = '', photo_id = '', photo_channel = '',
				last_error = '', updated_at = $6,
				key = CASE WHEN hit.family THEN 'erased:' || o.id ELSE o.key END,
				chat_id = CASE WHEN hit.family THEN $7 ELSE o.chat_id END
			FROM hit WHERE o.id = hit.id AND NOT hit.unsent
			RETURNING 1
		)
		SELECT (SELECT count(*) FROM deleted) AS deleted, (SELECT count(*) FROM blanked) AS blanked`,
		patterns, freeCh, freeID, m.likes, m.phone, now, erasedChat)
	if err != nil {
		return counts, nil, wrapErr(err, "postgres: erase: outbox")
	}
	counts.OutboxDeleted, counts.OutboxBlanked = outbox.Deleted, outbox.Blanked
	// Exports published as links may list the family; charts do not.
	if counts.FileLinks, err = exec("file links", `DELETE FROM file_links WHERE lower(name) NOT LIKE '%.png'`); err != nil {
		return counts, nil, err
	}
	if m.mask == "" {
		return counts, tied, nil
	}
	// Mentions in free texts typed about other records.
	for _, col := range []struct{ table, column string }{
		{"devices", "note"}, {"devices", "parts_added"}, {"device_events", "note"}, {"money", "note"},
		{"deliveries", "last_failure_note"},
	} {
		n, err := exec("mentions in "+col.table, `UPDATE `+col.table+` SET `+col.column+` = regexp_replace(`+col.column+`, $3, $4, 'g')
			WHERE `+m.cond(col.column, 1, 2), m.likes, m.phone, m.mask, masked)
		if err != nil {
			return counts, nil, err
		}
		counts.Mentions += n
	}
	re, err := regexp.Compile(m.mask)
	if err != nil {
		return counts, nil, fmt.Errorf("postgres: erase: mentions: %w", err)
	}
	n, err := maskJSON(ctx, tx, re, "broadcasts", []string{"texts"}, m.cond("texts::text", 1, 2), m.likes, m.phone)
	if err != nil {
		return counts, nil, err
	}
	counts.Mentions += n
	return counts, tied, nil
}

// chatTies reports, for each chat, whether something still ties it to the bot: a registration
// (of any campaign) or pledge not erased, an active staff role, a subscription, a role on the
// contact.
func chatTies(ctx context.Context, q sqlx.QueryerContext, chats []campaign.Session) (map[campaign.Session]bool, error) {
	out := make(map[campaign.Session]bool, len(chats))
	if len(chats) == 0 {
		return out, nil
	}
	ch, id := make(pq.StringArray, len(chats)), make(pq.StringArray, len(chats))
	for i, c := range chats {
		ch[i], id[i] = c.Channel, c.ChatID
	}
	var rows []struct {
		Channel string `db:"channel"`
		ChatID  string `db:"chat_id"`
		Tied    bool   `db:"tied"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, `
		SELECT c.channel, c.chat_id,
			EXISTS (SELECT 1 FROM registrations r WHERE r.channel = c.channel AND r.chat_id = c.chat_id AND r.erased_at IS NULL)
			OR EXISTS (SELECT 1 FROM pledges p WHERE p.channel = c.channel AND p.chat_id = c.chat_id AND p.erased_at IS NULL)
			OR EXISTS (SELECT 1 FROM staff st WHERE st.channel = c.channel AND st.external_id = c.chat_id AND st.active)
			OR EXISTS (SELECT 1 FROM subscriptions sb WHERE sb.channel = c.channel AND sb.external_id = c.chat_id)
			OR EXISTS (SELECT 1 FROM contacts ct WHERE ct.channel = c.channel AND ct.external_id = c.chat_id AND ct.role <> '')
			AS tied
		FROM unnest($1::text[], $2::text[]) AS c (channel, chat_id)`, ch, id)
	if err != nil {
		return nil, wrapErr(err, "postgres: erase: chat ties")
	}
	for _, r := range rows {
		out[campaign.Session{Channel: r.Channel, ChatID: r.ChatID}] = r.Tied
	}
	return out, nil
}

// chatSplit is the chats of erased records split by whether something else still ties them to
// the bot (see chatTies), as the array pairs the statements take.
type chatSplit struct {
	tied                           map[campaign.Session]bool
	freeCh, freeID, tiedCh, tiedID pq.StringArray
}

func splitChats(ctx context.Context, q sqlx.QueryerContext, chats []campaign.Session) (chatSplit, error) {
	tied, err := chatTies(ctx, q, chats)
	if err != nil {
		return chatSplit{}, err
	}
	s := chatSplit{tied: tied, freeCh: pq.StringArray{}, freeID: pq.StringArray{}, tiedCh: pq.StringArray{}, tiedID: pq.StringArray{}}
	for _, c := range chats {
		if tied[c] {
			s.tiedCh, s.tiedID = append(s.tiedCh, c.Channel), append(s.tiedID, c.ChatID)
		} else {
			s.freeCh, s.freeID = append(s.freeCh, c.Channel), append(s.freeID, c.ChatID)
		}
	}
	return s, nil
}

// forgetContacts takes the erased people out of contacts: a chat nothing else ties is deleted,
// a tied one keeps its row without the erased names; then each channel gets the stopped contact
// of the empty chat (nobodyContacts). It returns how many contact rows changed.
func forgetContacts(ctx context.Context, tx *sqlx.Tx, s chatSplit, chats []campaign.Session, names pq.StringArray, now time.Time) (int, error) {
	var n int
	err := tx.GetContext(ctx, &n, `
		WITH gone AS (
			DELETE FROM contacts WHERE (channel, external_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
			RETURNING 1
		), renamed AS (
			UPDATE contacts SET name = '', updated_at = $6
			WHERE (channel, external_id) IN (SELECT * FROM unnest($3::text[], $4::text[])) AND name <> '' AND name = ANY($5)
			RETURNING 1
		)
		SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM renamed)`, s.freeCh, s.freeID, s.tiedCh, s.tiedID, names, now)
	if err != nil {
		return 0, wrapErr(err, "postgres: erase: contacts")
	}
	return n, nobodyContacts(ctx, tx, chats, now)
}

// nobodyContacts makes sure each channel of chats has the stopped contact of the empty chat, which
// keeps erased records out of every audience (migration 00017).
func nobodyContacts(ctx context.Context, tx *sqlx.Tx, chats []campaign.Session, now time.Time) error {
	var channels pq.StringArray
	for _, c := range chats {
		if !slices.Contains(channels, c.Channel) {
			channels = append(channels, c.Channel)
		}
	}
	if len(channels) == 0 {
		return nil
	}
	slices.Sort(channels)
	_, err := tx.ExecContext(ctx, `
		INSERT INTO contacts (channel, external_id, stopped, created_at, updated_at)
		SELECT ch, '', true, $2, $2 FROM unnest($1::text[]) AS ch
		ON CONFLICT (channel, external_id) DO UPDATE SET stopped = true, name = '', role = ''
		WHERE NOT contacts.stopped OR contacts.name <> '' OR contacts.role <> ''`, channels, now)
	if err != nil {
		return wrapErr(err, "postgres: erase: nobody's contact")
	}
	return nil
}

// tombstones writes the audit entry of each target's erasure: who, when, which code, why, and
// what the registration stays as in the figures; nothing that names the family.
func tombstones(ctx context.Context, tx *sqlx.Tx, targets []eraseTarget, actor string, reason campaign.ErasureReason, now time.Time) error {
	codes, statuses := make(pq.StringArray, len(targets)), make(pq.StringArray, len(targets))
	wards, deliveries := make(pq.StringArray, len(targets)), make(pq.StringArray, len(targets))
	for i, t := range targets {
		codes[i], statuses[i], wards[i], deliveries[i] = t.Code, t.Status, t.WardCode, t.DeliveryCode
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO audit_log (at, actor, action, subject, after)
		SELECT $1, $2, $3, t.code, jsonb_strip_nulls(jsonb_build_object('reason', $4::text, 'status', t.status,
			'ward', t.ward, 'delivery', nullif(t.delivery, '')))
		FROM unnest($5::text[], $6::text[], $7::text[], $8::text[]) WITH ORDINALITY AS t (code, status, ward, delivery, n)
		ORDER BY t.n`, now, actor, campaign.ErasureActionRegistration, string(reason), codes, statuses, wards, deliveries)
	if err != nil {
		return wrapErr(err, "postgres: erase: tombstones")
	}
	return nil
}

// maskJSON masks, in the jsonb columns of table's rows that where selects (its parameters start
// at $1), every string that re matches, with the match replaced by masked; it returns how many
// rows changed. The texts are walked in Go, so the JSON stays valid whatever the mention holds.
func maskJSON(ctx context.Context, tx *sqlx.Tx, re *regexp.Regexp, table string, columns []string, where string, args ...any) (int, error) {
	rows, err := tx.QueryxContext(ctx, `SELECT id, `+strings.Join(columns, ", ")+` FROM `+table+` WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return 0, wrapErr(err, "postgres: erase: mentions in "+table)
	}
	type change struct {
		id     int64
		values []any
	}
	var changes []change
	for rows.Next() {
		vals := make([][]byte, len(columns))
		dest := []any{new(int64)}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return 0, wrapErr(err, "postgres: erase: mentions in "+table)
		}
		c := change{id: *dest[0].(*int64), values: make([]any, len(columns))}
		changed := false
		for i, raw := range vals {
			if raw == nil {
				continue // NULL stays NULL
			}
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				rows.Close()
				return 0, fmt.Errorf("postgres: erase: mentions in %s %d: %w", table, c.id, err)
			}
			v, ch := maskValue(v, re)
			b, err := json.Marshal(v)
			if err != nil {
				rows.Close()
				return 0, fmt.Errorf("postgres: erase: mentions in %s %d: %w", table, c.id, err)
			}
			c.values[i], changed = string(b), changed || ch
			if !ch {
				c.values[i] = string(raw)
			}
		}
		if changed {
			changes = append(changes, c)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, wrapErr(err, "postgres: erase: mentions in "+table)
	}
	rows.Close()
	for _, c := range changes {
		sets := make([]string, len(columns))
		for i, col := range columns {
			sets[i] = fmt.Sprintf("%s = $%d::text::jsonb", col, i+2)
		}
		args := append([]any{c.id}, c.values...)
		if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET `+strings.Join(sets, ", ")+` WHERE id = $1`, args...); err != nil {
			return 0, wrapErr(err, "postgres: erase: mentions in "+table)
		}
	}
	return len(changes), nil
}

// maskValue returns v (decoded JSON) with re's matches in its strings, keys included, masked.
func maskValue(v any, re *regexp.Regexp) (any, bool) {
	switch x := v.(type) {
	case string:
		if re.MatchString(x) {
			return re.ReplaceAllLiteralString(x, masked), true
		}
	case []any:
		changed := false
		for i, e := range x {
			var c bool
			x[i], c = maskValue(e, re)
			changed = changed || c
		}
		return x, changed
	case map[string]any:
		changed := false
		out := make(map[string]any, len(x))
		for k, e := range x {
			e, c := maskValue(e, re)
			if re.MatchString(k) {
				k, c = re.ReplaceAllLiteralString(k, masked), true
			}
			out[k], changed = e, changed || c
		}
		return out, changed
	}
	return v, false
}

// AnonymizeExpired erases, once Campaign.RetentionEnd has passed on the store's clock, every
// registration of the campaign not erased yet and anonymises the pledges of its donors (those
// made up to the campaign's last day, and any whose device reached one of its children), in
// transactions of Batch records each, then blanks what is left in the wholesale texts:
//
//   - each registration as EraseRegistration does, with a tombstone by "system" for reason
//     campaign.ErasureRetention, and the notes of the devices that reached the children blanked;
//   - each pledge: chat, user, phone, contact person and pickup address blanked, an individual's
//     name too (a body's name stays), its money notes blanked, and a tombstone "pledge.anonymize"
//     (its audit entries were by campaign.DonorActor from the start);
//   - messages queued up to the campaign's last day and never sent are deleted; sent ones queued
//     before the retention's end lose their text, buttons, file and photo, and their chat when
//     nothing ties it to the bot any more; case keys of erased records and published exports are
//     deleted. The audit log, append-only, gets the tombstones and nothing else.
//
// Before the retention's end it is ECONFLICT and nothing changes. A registration made after the
// campaign's end is kept its RetentionMonths from when it was made. The work runs on the
// maintenance pool, its statements bounded by 15 minutes rather than the stores' 10 seconds (a
// campaign of a million registrations takes minutes); registrations locked by someone else
// meanwhile are skipped, and the next pass erases them. Each record is erased once: a second
// pass finds nothing to do and counts nothing.
func (s *PrivacyStore) AnonymizeExpired(ctx context.Context) (campaign.Anonymization, error) {
	var out campaign.Anonymization
	now := s.db.now()
	if !s.c.RetentionOver(now) {
		return out, campaign.Errorf(campaign.ECONFLICT, "the campaign's personal data is kept until %s",
			s.c.RetentionEnd().Format(time.RFC3339))
	}
	batch := s.Batch
	if batch <= 0 {
		batch = defaultErasureBatch
	}
	// A registration is kept RetentionMonths after the later of the campaign's end and its own
	// making: one made after the end (a bot left running past its calendar) keeps its months
	// too, rather than vanishing the moment it is made.
	keptSince := now.AddDate(0, -s.c.RetentionMonths, 0)
	add := func(c campaign.ErasureCounts) {
		out.Notes += c.Notes
		out.StudentRows += c.StudentRows
		out.OutboxDeleted += c.OutboxDeleted
		out.OutboxBlanked += c.OutboxBlanked
		out.Contacts += c.Contacts
		out.CaseKeys += c.CaseKeys
		out.Mentions += c.Mentions
		out.FileLinks += c.FileLinks
		out.ClaimAttempts += c.ClaimAttempts
	}
	// Each transaction's results are taken only once it committed: a run retried after a
	// conflict (see DB.tx) starts from the same place and counts nothing twice.
	var last int64
	for {
		var n int
		var next int64
		var counts campaign.ErasureCounts
		err := s.db.tx(ctx, "anonymize registrations", maintenanceTx(retentionStatementTimeout), func(tx *sqlx.Tx) error {
			var targets []eraseTarget
			err := tx.SelectContext(ctx, &targets, selectEraseTargets+`
				WHERE r.campaign_id = $1 AND r.erased_at IS NULL AND r.id > $2 AND r.created_at < $4
				ORDER BY r.id LIMIT $3 FOR UPDATE OF r SKIP LOCKED`, s.c.ID, last, batch, keptSince)
			if err != nil {
				return wrapErr(err, "postgres: anonymize registrations")
			}
			if n = len(targets); n == 0 {
				return nil
			}
			next = targets[n-1].ID
			counts, _, err = s.erase(ctx, tx, targets, systemActor, campaign.ErasureRetention, now, false)
			return err
		})
		if err != nil {
			return out, err
		}
		if n == 0 {
			break
		}
		last = next
		add(counts)
		out.Registrations += n
	}
	last = 0
	for {
		var n, contacts int
		var next int64
		err := s.db.tx(ctx, "anonymize pledges", maintenanceTx(retentionStatementTimeout), func(tx *sqlx.Tx) error {
			var err error
			n, next, contacts, err = s.anonymizePledges(ctx, tx, last, batch, now)
			return err
		})
		if err != nil {
			return out, err
		}
		out.Contacts += contacts
		if n == 0 {
			break
		}
		last = next
		out.Pledges += n
	}
	var rest campaign.ErasureCounts
	err := s.db.tx(ctx, "anonymize the rest", maintenanceTx(retentionStatementTimeout), func(tx *sqlx.Tx) error {
		var err error
		rest, err = s.anonymizeRest(ctx, tx, now)
		return err
	})
	if err == nil {
		add(rest)
	}
	return out, err
}

// pledgeTarget is a pledge about to be anonymised.
type pledgeTarget struct {
	ID            int64  `db:"id"`
	Code          string `db:"code"`
	Channel       string `db:"channel"`
	ChatID        string `db:"chat_id"`
	DonorName     string `db:"donor_name"`
	ContactPerson string `db:"contact_person"`
}

// anonymizePledges anonymises the next batch of the campaign's donors' pledges after the id
// after; it returns how many, the last id, and how many contacts went or lost their name.
func (s *PrivacyStore) anonymizePledges(ctx context.Context, tx *sqlx.Tx, after int64, batch int, now time.Time) (n int, last int64, contacts int, err error) {
	endNext := s.c.End.AddDate(0, 0, 1) // the campaign's End is its last day, at local midnight
	var targets []pledgeTarget
	err = tx.SelectContext(ctx, &targets, `
		SELECT p.id, p.code, p.channel, p.chat_id, p.donor_name, p.contact_person
		FROM pledges p
		WHERE p.erased_at IS NULL AND p.id > $1
			AND (p.created_at < $2 OR EXISTS (
				SELECT 1 FROM devices d JOIN registrations r ON r.id = d.allocated_registration_id
				WHERE d.pledge_id = p.id AND r.campaign_id = $3))
		ORDER BY p.id LIMIT $4 FOR UPDATE OF p SKIP LOCKED`, after, endNext, s.c.ID, batch)
	if err != nil {
		return 0, after, 0, wrapErr(err, "postgres: anonymize pledges")
	}
	if len(targets) == 0 {
		return 0, after, 0, nil
	}
	ids, codes, names := pq.Int64Array{}, pq.StringArray{}, pq.StringArray{}
	var chats []campaign.Session
	for _, p := range targets {
		ids, codes = append(ids, p.ID), append(codes, p.Code)
		names = append(names, p.DonorName, p.ContactPerson)
		if c := (campaign.Session{Channel: p.Channel, ChatID: p.ChatID}); !slices.Contains(chats, c) {
			chats = append(chats, c)
		}
	}
	_, err = tx.ExecContext(ctx, `
		UPDATE pledges SET chat_id = '', user_id = '', phone = '', contact_person = '', pickup_address = '',
			donor_name = CASE WHEN donor_kind = 'individual' THEN '' ELSE donor_name END,
			erased_at = $2, updated_at = $2
		WHERE id = ANY($1)`, ids, now)
	if err != nil {
		return 0, after, 0, wrapErr(err, "postgres: anonymize pledges")
	}
	_, err = tx.ExecContext(ctx, `UPDATE money SET note = '' WHERE pledge_id = ANY($1) AND note <> ''`, ids)
	if err != nil {
		return 0, after, 0, wrapErr(err, "postgres: anonymize pledges: money notes")
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO audit_log (at, actor, action, subject, after)
		SELECT $2, $3, 'pledge.anonymize', code, jsonb_build_object('reason', $4::text)
		FROM unnest($1::text[]) AS code`, codes, now, systemActor, string(campaign.ErasureRetention))
	if err != nil {
		return 0, after, 0, wrapErr(err, "postgres: anonymize pledges: tombstones")
	}
	split, err := splitChats(ctx, tx, chats)
	if err != nil {
		return 0, after, 0, err
	}
	if contacts, err = forgetContacts(ctx, tx, split, chats, names, now); err != nil {
		return 0, after, 0, err
	}
	return len(targets), targets[len(targets)-1].ID, contacts, nil
}

// anonymizeRest blanks, once the records are erased, what the retention pass leaves to wholesale
// statements rather than to each record: case keys of erased records, sent messages queued before
// the retention's end (and their chat when nothing ties it to the bot any more), published
// exports.
func (s *PrivacyStore) anonymizeRest(ctx context.Context, tx *sqlx.Tx, now time.Time) (campaign.ErasureCounts, error) {
	var c campaign.ErasureCounts
	end := s.c.RetentionEnd()
	count := func(n *int, what, query string, args ...any) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return wrapErr(err, "postgres: anonymize: "+what)
		}
		m, err := res.RowsAffected()
		if err != nil {
			return wrapErr(err, "postgres: anonymize: "+what)
		}
		*n += int(m)
		return nil
	}
	if err := count(&c.CaseKeys, "case keys", `
		DELETE FROM case_keys k
		WHERE EXISTS (SELECT 1 FROM registrations r WHERE r.code = k.subject AND r.erased_at IS NOT NULL)
		   OR EXISTS (SELECT 1 FROM deliveries dl WHERE dl.code = k.subject AND dl.erased_at IS NOT NULL)`); err != nil {
		return c, err
	}
	// Messages queued about the campaign and still not sent half a year on will never go: the
	// sender gives up on a message within hours.
	if err := count(&c.OutboxDeleted, "stale outbox", `
		DELETE FROM outbox WHERE status IN ('pending', 'sending') AND created_at < $1`, s.c.End.AddDate(0, 0, 1)); err != nil {
		return c, err
	}
	if err := count(&c.OutboxBlanked, "outbox", `
		WITH untied AS (
			SELECT o.id FROM outbox o
			WHERE o.status NOT IN ('pending', 'sending') AND o.created_at < $1 AND o.chat_id <> $3
			  AND NOT EXISTS (SELECT 1 FROM registrations r WHERE r.channel = o.channel AND r.chat_id = o.chat_id AND r.erased_at IS NULL)
			  AND NOT EXISTS (SELECT 1 FROM pledges p WHERE p.channel = o.channel AND p.chat_id = o.chat_id AND p.erased_at IS NULL)
			  AND NOT EXISTS (SELECT 1 FROM staff st WHERE st.channel = o.channel AND st.external_id = o.chat_id AND st.active)
			  AND NOT EXISTS (SELECT 1 FROM subscriptions sb WHERE sb.channel = o.channel AND sb.external_id = o.chat_id)
			  AND NOT EXISTS (SELECT 1 FROM contacts ct WHERE ct.channel = o.channel AND ct.external_id = o.chat_id AND ct.role <> '')
		)
		UPDATE outbox o SET text = '', buttons = '[]', file_path = '', file_name = '', photo_id = '', photo_channel = '',
			last_error = '', updated_at = $2,
			key = CASE WHEN o.id IN (SELECT id FROM untied) THEN 'erased:' || o.id ELSE o.key END,
			chat_id = CASE WHEN o.id IN (SELECT id FROM untied) THEN $3 ELSE o.chat_id END
		WHERE o.status NOT IN ('pending', 'sending') AND o.created_at < $1
		  AND (o.text <> '' OR o.buttons <> '[]'::jsonb OR o.file_path <> '' OR o.file_name <> '' OR o.photo_id <> ''
		       OR o.last_error <> '' OR o.id IN (SELECT id FROM untied))`, end, now, erasedChat); err != nil {
		return c, err
	}
	if err := count(&c.FileLinks, "file links", `DELETE FROM file_links WHERE lower(name) NOT LIKE '%.png'`); err != nil {
		return c, err
	}
	// Wrong birth dates counted for phones no registration kept longer (one made after the
	// campaign's end) may still claim with: those of phones whose registrations were erased, and of
	// phones a family corrected since.
	if err := count(&c.ClaimAttempts, "claim attempts", `
		DELETE FROM claim_attempts ca WHERE ca.campaign_id = $1
			AND NOT EXISTS (SELECT 1 FROM registrations r
				WHERE r.campaign_id = $1 AND r.chat_id = '' AND r.registered_by <> '' AND r.parent_phone <> ''
					AND r.erased_at IS NULL AND r.status <> 'withdrawn'
					AND encode(sha256(convert_to(r.parent_phone, 'UTF8')), 'hex') = ca.phone_hash)`, s.c.ID); err != nil {
		return c, err
	}
	return c, nil
}

// WithdrawFiles fails the outbox messages still queued to send one of paths, so a sender does not
// retry them against a file an erasure removed; it returns how many.
func (s *PrivacyStore) WithdrawFiles(ctx context.Context, paths []string) (int, error) {
	if len(paths) == 0 {
		return 0, nil
	}
	res, err := s.db.db.ExecContext(ctx, `
		UPDATE outbox SET status = 'failed', lease_until = NULL, last_error = 'file removed by an erasure',
			updated_at = $2
		WHERE status IN ('pending', 'sending') AND file_path = ANY($1)`, pq.StringArray(paths), s.db.now())
	if err != nil {
		return 0, wrapErr(err, "postgres: withdraw files")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrapErr(err, "postgres: withdraw files")
	}
	return int(n), nil
}

// maintenanceTx is how the privacy work runs its transactions: on the maintenance pool, with
// bounds of its own. An erasure searches free texts table-wide, which takes seconds in a database
// of a million records: the stores' statement timeout would cut it, so the transaction sets
// statementTimeout per statement and the stores' lock timeout. A deadlock or serialization
// failure is retried as DB.tx says.
func maintenanceTx(statementTimeout time.Duration) txOptions {
	return txOptions{maintenance: true, statementTimeout: statementTimeout, lockTimeout: DefaultLockTimeout}
}
