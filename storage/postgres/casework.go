package postgres

import (
	"context"
	"database/sql"
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

// deliveryCodePrefix starts delivery codes, GH-000012 (giao hàng), numbered from the sequence
// delivery_code_gh.
const deliveryCodePrefix = "GH"

// Limits of case work: a note holds the longest answer the bot lets a parent type (1,000
// characters), and lists return 20 records unless asked for more, never more than 500.
const (
	maxNoteLen       = 1000
	defaultCaseLimit = 20
	maxCaseLimit     = 500
)

// Kinds of case_keys rows: the action a key was applied to.
const (
	keyDecide   = "decide"
	keyAnswer   = "answer"
	keyAllocate = "allocate"
	keyDeliver  = "deliver"
	keyFail     = "fail"
	keyMissing  = "not_received"
)

// stockLockKey names the advisory lock that allocations taking stock hold while they count it:
// stock is counted, not locked row by row, so two officials confirming at once take turns on
// this lock instead of both taking the last SIM.
const stockLockKey = "allocation:stock"

// systemActor is the actor of changes no person made, such as the automatic confirmation of
// deliveries.
const systemActor = "system"

// CaseStore keeps the officials' work on registrations: verification (notes and decisions in
// registration_notes and on the registration), allocation of devices and stock (deliveries) and
// the deliveries' hand-over. Every change is audited in its own transaction; repeated updates are
// de-duplicated through case_keys.
type CaseStore struct {
	db   *DB
	c    *campaign.Campaign
	regs *RegistrationStore // its registration scan, shared
	seq  *codeSequence
}

var _ campaign.CaseStore = (*CaseStore)(nil)

// NewCaseStore returns a CaseStore for campaign c over db; c gives the priority rules that order
// pending cases and score candidates.
func NewCaseStore(db *DB, c *campaign.Campaign) *CaseStore {
	return &CaseStore{
		db: db, c: c, regs: NewRegistrationStore(db, c),
		seq: newCodeSequence(db, "delivery_code", deliveryCodePrefix),
	}
}

// PendingCases lists the campaign's registrations waiting for verification, in wardCode (every
// ward when ""), leaving out the codes in skip: at most limit (20 when not positive, never more
// than 500), highest priority first in the order Match serves candidates, each with its notes,
// duplicates and AlreadyHelped. The priority is computed here from the campaign's rules, which
// live in its file, not in SQL; only what scores a registration is read for all of them.
func (s *CaseStore) PendingCases(ctx context.Context, wardCode string, skip []string, limit int) ([]campaign.Case, error) {
	limit = clampLimit(limit, defaultCaseLimit, maxCaseLimit)
	skipCodes := make(pq.StringArray, 0, len(skip))
	for _, code := range skip {
		skipCodes = append(skipCodes, normalizeCode(code))
	}
	var out []campaign.Case
	err := s.db.tx(ctx, "pending cases", snapshotRead, func(tx *sqlx.Tx) error {
		var rows []candidateRow
		err := tx.SelectContext(ctx, &rows, selectCandidates+`
			WHERE r.campaign_id = $1 AND (r.status = 'submitted' OR r.message_at IS NOT NULL) AND r.erased_at IS NULL
				AND ($2::text = '' OR r.ward_code = $2)
				AND r.code <> ALL($3::text[])`,
			s.c.ID, campaign.NormalizeText(wardCode), skipCodes)
		if err != nil {
			return wrapErr(err, "postgres: pending cases")
		}
		candidates := make([]campaign.Candidate, len(rows))
		ids := make(map[string]int64, len(rows))
		messageAt := map[string]time.Time{}
		for i, row := range rows {
			candidates[i] = s.c.Candidate(row.registration(), false)
			ids[row.Code] = row.ID
			if row.MessageAt.Valid {
				messageAt[row.Code] = row.MessageAt.Time
			}
		}
		campaign.SortByPriority(candidates)
		// A family's message waits for nobody's priority: those come first, oldest first.
		slices.SortStableFunc(candidates, func(a, b campaign.Candidate) int {
			ma, mb := messageAt[a.Code], messageAt[b.Code]
			switch {
			case ma.IsZero() && mb.IsZero():
				return 0
			case ma.IsZero():
				return 1
			case mb.IsZero():
				return -1
			}
			return ma.Compare(mb)
		})
		chosen := make([]int64, 0, min(limit, len(candidates)))
		for _, c := range candidates[:min(limit, len(candidates))] {
			chosen = append(chosen, ids[c.Code])
		}
		out, err = s.cases(ctx, tx, chosen)
		return err
	})
	return out, err
}

// CaseByCode returns the campaign's registration with code (in any case) with its notes,
// duplicates and AlreadyHelped, or an ENOTFOUND error.
func (s *CaseStore) CaseByCode(ctx context.Context, code string) (campaign.Case, error) {
	var out campaign.Case
	err := s.db.tx(ctx, "case by code", snapshotRead, func(tx *sqlx.Tx) error {
		var id int64
		err := tx.GetContext(ctx, &id, `SELECT id FROM registrations WHERE campaign_id = $1 AND code = $2`,
			s.c.ID, normalizeCode(code))
		if errors.Is(err, sql.ErrNoRows) {
			return campaign.Errorf(campaign.ENOTFOUND, "no registration %s", normalizeCode(code))
		}
		if err != nil {
			return wrapErr(err, "postgres: case by code")
		}
		cases, err := s.cases(ctx, tx, []int64{id})
		if err != nil {
			return err
		}
		out = cases[0]
		return nil
	})
	return out, err
}

// cases loads the registrations with ids, in that order, with their notes, duplicates and
// AlreadyHelped and whether a family's message waits, in five queries however many there are.
func (s *CaseStore) cases(ctx context.Context, q sqlx.QueryerContext, ids []int64) ([]campaign.Case, error) {
	out := make([]campaign.Case, 0, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	idList := pq.Int64Array(ids)
	regs, err := s.registrationsByID(ctx, q, idList)
	if err != nil {
		return nil, err
	}
	index := make(map[int64]int, len(ids))
	for _, id := range ids {
		reg, ok := regs[id]
		if !ok {
			return nil, fmt.Errorf("postgres: case %d vanished", id)
		}
		index[id] = len(out)
		out = append(out, campaign.Case{Registration: reg})
	}
	var waiting []struct {
		ID        int64     `db:"id"`
		MessageAt time.Time `db:"message_at"`
	}
	err = sqlx.SelectContext(ctx, q, &waiting, `
		SELECT id, message_at FROM registrations WHERE id = ANY($1) AND message_at IS NOT NULL`, idList)
	if err != nil {
		return nil, wrapErr(err, "postgres: case messages")
	}
	for _, w := range waiting {
		out[index[w.ID]].MessageAt = w.MessageAt.UTC()
	}

	var notes []struct {
		RegistrationID int64     `db:"registration_id"`
		At             time.Time `db:"at"`
		Actor          string    `db:"actor"`
		Answer         bool      `db:"answer"`
		Message        bool      `db:"message"`
		Body           string    `db:"body"`
		PhotoID        string    `db:"photo_id"`
		PhotoChannel   string    `db:"photo_channel"`
	}
	err = sqlx.SelectContext(ctx, q, &notes, `
		SELECT registration_id, at, actor, answer, message, body, photo_id, photo_channel FROM registration_notes
		WHERE registration_id = ANY($1) ORDER BY registration_id, id`, idList)
	if err != nil {
		return nil, wrapErr(err, "postgres: case notes")
	}
	for _, n := range notes {
		k := &out[index[n.RegistrationID]]
		k.Notes = append(k.Notes, campaign.Note{At: n.At.UTC(), Actor: n.Actor, Answer: n.Answer, Text: n.Body,
			PhotoID: n.PhotoID, PhotoChannel: n.PhotoChannel, Message: n.Message})
	}

	// A second parent's registration of the same child shares the student row; codes in
	// possible_duplicate_of are listed too, should a student row ever be split.
	var pairs []struct {
		CaseID int64 `db:"case_id"`
		DupID  int64 `db:"dup_id"`
	}
	err = sqlx.SelectContext(ctx, q, &pairs, `
		SELECT case_id, dup_id FROM (
			SELECT c.id AS case_id, d.id AS dup_id, d.created_at
			FROM registrations c JOIN registrations d ON d.student_id = c.student_id AND d.id <> c.id
			WHERE c.id = ANY($1)
			UNION
			SELECT c.id, d.id, d.created_at
			FROM registrations c JOIN registrations d ON d.code = ANY(c.possible_duplicate_of) AND d.id <> c.id
			WHERE c.id = ANY($1)
		) x ORDER BY case_id, created_at, dup_id`, idList)
	if err != nil {
		return nil, wrapErr(err, "postgres: case duplicates")
	}
	if len(pairs) > 0 {
		dupIDs := make(pq.Int64Array, 0, len(pairs))
		for _, p := range pairs {
			if !slices.Contains(dupIDs, p.DupID) {
				dupIDs = append(dupIDs, p.DupID)
			}
		}
		dups, err := s.registrationsByID(ctx, q, dupIDs)
		if err != nil {
			return nil, err
		}
		for _, p := range pairs {
			k := &out[index[p.CaseID]]
			k.Duplicates = append(k.Duplicates, dups[p.DupID])
		}
	}

	var helped []int64
	err = sqlx.SelectContext(ctx, q, &helped, `
		SELECT c.id FROM registrations c JOIN students s ON s.id = c.student_id
		WHERE c.id = ANY($1) AND EXISTS (
			SELECT 1 FROM students s2 JOIN registrations r2 ON r2.student_id = s2.id
			WHERE s2.name_key = s.name_key AND s2.birth_date = s.birth_date
				AND r2.status = 'delivered' AND r2.id <> c.id AND r2.erased_at IS NULL AND s.erased_at IS NULL)`, idList)
	if err != nil {
		return nil, wrapErr(err, "postgres: case already helped")
	}
	for _, id := range helped {
		out[index[id]].AlreadyHelped = true
	}
	return out, nil
}

// registrationsByID returns the registrations with ids, by id.
func (s *CaseStore) registrationsByID(ctx context.Context, q sqlx.QueryerContext, ids pq.Int64Array) (map[int64]campaign.Registration, error) {
	var rows []registrationRow
	if err := sqlx.SelectContext(ctx, q, &rows, selectRegistrations+`WHERE r.id = ANY($1)`, ids); err != nil {
		return nil, wrapErr(err, "postgres: registrations by id")
	}
	out := make(map[int64]campaign.Registration, len(rows))
	for _, row := range rows {
		reg, err := row.registration()
		if err != nil {
			return nil, err
		}
		out[reg.ID] = reg
	}
	return out, nil
}

// Decide applies an official's decision to the campaign's pending registration d.Code (in any
// case), in one transaction with the registration locked: approve makes it verified; reject makes
// it rejected with reject_code d.Reason, and reject_reason d.Text for RejectOther only (the bot
// words the other reasons itself); ask-info makes it needs_info and stores d.Text as a question
// note by the official. decided_by and decided_at record who decided and when, and an audit row
// "registration.verify", "registration.reject" or "registration.ask_info" the change.
//
// An unknown verdict or reason, or RejectOther or ask-info without a text, is EINVALID; an unknown
// code ENOTFOUND. A registration that is not pending is ECONFLICT, unless d.Key was applied to it
// before: the registration is then returned as it is and nothing is written.
func (s *CaseStore) Decide(ctx context.Context, d campaign.Decision, by campaign.Staff, notify campaign.Notify[campaign.Registration]) (campaign.Registration, error) {
	actor, err := staffActor(by)
	if err != nil {
		return campaign.Registration{}, err
	}
	invalid := func(format string, args ...any) error {
		return campaign.Errorf(campaign.EINVALID, "decision: "+format, args...)
	}
	code, text := normalizeCode(d.Code), campaign.NormalizeText(d.Text)
	if code == "" {
		return campaign.Registration{}, invalid("no registration code")
	}
	if utf8.RuneCountInString(text) > maxNoteLen {
		return campaign.Registration{}, invalid("text is longer than %d characters", maxNoteLen)
	}
	if err := validateKey("decision", d.Key); err != nil {
		return campaign.Registration{}, err
	}
	event, ok := d.Verdict.Event()
	if !ok {
		return campaign.Registration{}, invalid("unknown verdict %q", d.Verdict)
	}
	var (
		next         = event.To()
		rejectCode   campaign.RejectReason
		rejectReason string
		action       string
		after        = map[string]any{}
	)
	switch d.Verdict {
	case campaign.VerdictApprove:
		action = "registration.verify"
	case campaign.VerdictReject:
		if !slices.Contains(campaign.RejectReasons, d.Reason) {
			return campaign.Registration{}, invalid("unknown reject reason %q", d.Reason)
		}
		action, rejectCode = "registration.reject", d.Reason
		after["reason"] = d.Reason
		if d.Reason == campaign.RejectOther {
			if text == "" {
				return campaign.Registration{}, invalid("reason %q needs a text", d.Reason)
			}
			// The reason's words stay on the registration (erasure blanks them), not in the
			// append-only audit log: "other" says there were some.
			rejectReason = text
		}
	case campaign.VerdictAskInfo:
		if text == "" {
			return campaign.Registration{}, invalid("a question for the parent is required")
		}
		// The question is in the registration's notes (erasure deletes them), not in the audit.
		action = "registration.ask_info"
	default:
		return campaign.Registration{}, invalid("unknown verdict %q", d.Verdict)
	}
	after["status"] = next
	now := s.db.now()

	var out campaign.Registration
	err = s.db.tx(ctx, "decide", txOptions{}, func(tx *sqlx.Tx) error {
		locked, err := s.lockRegistration(ctx, tx, code)
		if err != nil {
			return err
		}
		applied, err := caseKeyApplied(ctx, tx, d.Key, keyDecide, code)
		if err != nil {
			return err
		}
		if !applied {
			if _, err := locked.Status.Apply(event); err != nil {
				return fmt.Errorf("registration %s no longer pending: %w", code, err)
			}
			_, err = tx.ExecContext(ctx, `
				UPDATE registrations SET status = $2, reject_code = $3, reject_reason = $4, decided_by = $5,
					decided_at = $6, updated_at = $6, message_at = NULL
				WHERE id = $1`, locked.ID, next, rejectCode, rejectReason, actor, now)
			if err != nil {
				return wrapErr(err, "postgres: decide")
			}
			if d.Verdict == campaign.VerdictAskInfo {
				if err := insertNote(ctx, tx, locked.ID, now, actor, false, text); err != nil {
					return err
				}
			}
			if err := insertCaseKey(ctx, tx, d.Key, keyDecide, code, now); err != nil {
				return err
			}
			err = insertAudit(ctx, tx, campaign.AuditEntry{
				At: now, Actor: actor, Action: action, Subject: code,
				Before: map[string]any{"status": locked.Status}, After: after,
			})
			if err != nil {
				return err
			}
		}
		out, err = s.regs.one(ctx, tx, "code", selectRegistrations+`WHERE r.id = $1`, locked.ID)
		if err != nil || applied {
			return err
		}
		return notifyIn(ctx, tx, now, notify, out)
	})
	if err != nil {
		return campaign.Registration{}, err
	}
	return out, nil
}

// AnswerInfo stores a message of the parent's answer to the officials' question on the
// campaign's registration code, made from the chat parent, in one transaction with the
// registration locked: the message (words and/or a photo reference) as a note by
// "<channel>:<chat>"; on a needs_info registration the registration back to submitted and an
// audit row "registration.answer" by campaign.FamilyActor (without the answer); on a
// submitted one whose latest note is this chat's answer (the parent sends more: a second line, the
// photo asked for) the note alone, added to that answer. It returns the registration and the actor
// of the last question. Any other registration, or one of another chat, is ENOTFOUND; an answer
// with neither words nor a photo, or too long, EINVALID. When key was applied to the
// registration before, it is returned as it is and nothing is written.
func (s *CaseStore) AnswerInfo(ctx context.Context, code string, parent campaign.Session, a campaign.Answer, key string, notify campaign.Notify[campaign.InfoAnswer]) (campaign.Registration, string, error) {
	parent = normalizeSession(parent)
	code = normalizeCode(code)
	a.Text, a.PhotoID, a.PhotoChannel = campaign.NormalizeText(a.Text), campaign.NormalizeText(a.PhotoID), campaign.NormalizeText(a.PhotoChannel)
	if parent.Channel == "" || parent.ChatID == "" {
		return campaign.Registration{}, "", campaign.Errorf(campaign.EINVALID, "answer: no parent chat")
	}
	if (a.Text == "" && a.PhotoID == "") || utf8.RuneCountInString(a.Text) > maxNoteLen || utf8.RuneCountInString(a.PhotoID) > maxIDLen {
		return campaign.Registration{}, "", campaign.Errorf(campaign.EINVALID, "answer: words (at most %d characters) or a photo", maxNoteLen)
	}
	if a.PhotoID != "" && a.PhotoChannel == "" {
		a.PhotoChannel = parent.Channel
	}
	if err := validateKey("answer", key); err != nil {
		return campaign.Registration{}, "", err
	}
	actor := parent.Channel + ":" + parent.ChatID
	notWaiting := campaign.Errorf(campaign.ENOTFOUND, "registration %s of this chat is not waiting for an answer", code)
	now := s.db.now()

	var (
		out     campaign.Registration
		askedBy string
		more    bool
	)
	err := s.db.tx(ctx, "answer info", txOptions{}, func(tx *sqlx.Tx) error {
		locked, err := s.lockRegistration(ctx, tx, code)
		if err != nil {
			return err
		}
		if locked.Channel != parent.Channel || locked.ChatID != parent.ChatID {
			return notWaiting
		}
		applied, err := caseKeyApplied(ctx, tx, key, keyAnswer, code)
		if err != nil {
			return err
		}
		if !applied {
			next, err := locked.Status.Apply(campaign.RegistrationAnswer)
			switch {
			case err == nil:
			case locked.Status == campaign.RegistrationAnswer.To():
				// Answered already (and not decided since): more of an answer just given: only while this chat's answer is the latest note.
				// A family's own message to officials (MessageOfficials) answers nothing.
				var last struct {
					Actor   string `db:"actor"`
					Answer  bool   `db:"answer"`
					Message bool   `db:"message"`
				}
				err := tx.GetContext(ctx, &last, `
					SELECT actor, answer, message FROM registration_notes WHERE registration_id = $1 ORDER BY id DESC LIMIT 1`, locked.ID)
				if errors.Is(err, sql.ErrNoRows) || (err == nil && (!last.Answer || last.Message || last.Actor != actor)) {
					return notWaiting
				}
				if err != nil {
					return wrapErr(err, "postgres: answer info: latest note")
				}
				more = true
			default:
				return fmt.Errorf("registration %s of this chat is not waiting for an answer: %w", code, err)
			}
			if err := insertNotePhoto(ctx, tx, locked.ID, now, actor, true, a.Text, a.PhotoID, a.PhotoChannel); err != nil {
				return err
			}
			if !more {
				_, err = tx.ExecContext(ctx, `UPDATE registrations SET status = $3, updated_at = $2 WHERE id = $1`,
					locked.ID, now, next)
				if err != nil {
					return wrapErr(err, "postgres: answer info")
				}
			}
			if err := insertCaseKey(ctx, tx, key, keyAnswer, code, now); err != nil {
				return err
			}
			if !more {
				err = insertAudit(ctx, tx, campaign.AuditEntry{
					At: now, Actor: campaign.FamilyActor, Action: "registration.answer", Subject: code,
					Before: map[string]any{"status": locked.Status},
					After:  map[string]any{"status": next},
				})
				if err != nil {
					return err
				}
			}
		}
		err = tx.GetContext(ctx, &askedBy, `
			SELECT coalesce((SELECT actor FROM registration_notes WHERE registration_id = $1 AND NOT answer
			                 ORDER BY id DESC LIMIT 1), '')`, locked.ID)
		if err != nil {
			return wrapErr(err, "postgres: answer info: asked by")
		}
		out, err = s.regs.one(ctx, tx, "code", selectRegistrations+`WHERE r.id = $1`, locked.ID)
		if err != nil || applied || notify == nil {
			return err
		}
		// Whoever holds the case's scope now: the official who asked, as the staff records hold
		// them at this moment (revoked or moved, the notice chooses the ward's queue instead).
		info := campaign.InfoAnswer{Registration: out, AskedBy: askedBy, Answer: a, More: more}
		if channel, id, ok := strings.Cut(askedBy, ":"); ok {
			var row staffRow
			err := tx.GetContext(ctx, &row, selectStaff+`WHERE active AND channel = $1 AND external_id = $2`, channel, id)
			switch {
			case err == nil:
				info.Asker = row.staff()
			case !errors.Is(err, sql.ErrNoRows):
				return wrapErr(err, "postgres: answer info: the official who asked")
			}
		}
		if info.Verifiers, err = wardOfficials(ctx, tx, out.WardCode); err != nil {
			return err
		}
		return notifyIn(ctx, tx, now, notify, info)
	})
	if err != nil {
		return campaign.Registration{}, "", err
	}
	return out, askedBy, nil
}

// WaitingForInfo lists the codes of the campaign's registrations made from the chat parent that
// wait for the parent's answer, oldest first.
func (s *CaseStore) WaitingForInfo(ctx context.Context, parent campaign.Session) ([]string, error) {
	parent = normalizeSession(parent)
	codes := []string{}
	err := s.db.db.SelectContext(ctx, &codes, `
		SELECT code FROM registrations
		WHERE campaign_id = $1 AND channel = $2 AND chat_id = $3 AND status = 'needs_info'
		ORDER BY created_at, id`, s.c.ID, parent.Channel, parent.ChatID)
	if err != nil {
		return nil, wrapErr(err, "postgres: waiting for info")
	}
	return codes, nil
}

// Proposal returns, in one snapshot, the campaign's verified registrations as candidates scored
// by its rules, with their grade (AlreadyHelped when the child, by folded name and date of birth,
// has a delivered registration in any campaign), the ready devices no pending delivery holds
// with the ward of the office their pledge brought them to ("" for any other), and per stock
// kind what was received less what deliveries took. Each of the three is one query, however many
// rows there are.
func (s *CaseStore) Proposal(ctx context.Context) (campaign.Proposal, error) {
	var out campaign.Proposal
	err := s.db.tx(ctx, "proposal", snapshotRead, func(tx *sqlx.Tx) error {
		var rows []struct {
			candidateRow
			Grade int `db:"grade"`
		}
		err := tx.SelectContext(ctx, &rows, `
			WITH helped AS (
				SELECT DISTINCT s.name_key, s.birth_date
				FROM registrations r JOIN students s ON s.id = r.student_id
				WHERE r.status = 'delivered'
			)
			SELECT r.id, r.code, r.status, r.ward_code, r.level, r.grade, r.needs, r.circumstances,
				r.device_situation, r.created_at, h.name_key IS NOT NULL AS already_helped
			FROM registrations r JOIN students s ON s.id = r.student_id
			LEFT JOIN helped h ON h.name_key = s.name_key AND h.birth_date = s.birth_date
			WHERE r.campaign_id = $1 AND r.status = 'verified' AND r.erased_at IS NULL
			ORDER BY r.id`, s.c.ID)
		if err != nil {
			return wrapErr(err, "postgres: proposal: candidates")
		}
		out.Candidates = make([]campaign.Candidate, len(rows))
		for i, row := range rows {
			reg := row.registration()
			reg.Grade = row.Grade
			out.Candidates[i] = s.c.Candidate(reg, row.AlreadyHelped)
		}

		var devices []struct {
			Label    string `db:"label"`
			Type     string `db:"type"`
			WardCode string `db:"ward_code"`
		}
		err = tx.SelectContext(ctx, &devices, `
			SELECT d.label, d.type, CASE WHEN p.delivery = 'ward_office' THEN p.ward_code ELSE '' END AS ward_code
			FROM devices d LEFT JOIN pledges p ON p.id = d.pledge_id
			WHERE d.state = 'ready'
				AND NOT EXISTS (SELECT 1 FROM deliveries dl WHERE dl.device_id = d.id AND dl.status = 'pending')
			ORDER BY d.label`)
		if err != nil {
			return wrapErr(err, "postgres: proposal: devices")
		}
		out.Supply.Devices = make([]campaign.ReadyDevice, len(devices))
		for i, d := range devices {
			out.Supply.Devices[i] = campaign.ReadyDevice{Label: d.Label, Type: campaign.DeviceType(d.Type), WardCode: d.WardCode}
		}

		out.Supply.Stock, err = stockLeft(ctx, tx, campaign.StockKinds)
		return err
	})
	if err != nil {
		return campaign.Proposal{}, err
	}
	return out, nil
}

// stockLeft counts, for each of kinds, the stock received less what deliveries took.
func stockLeft(ctx context.Context, q sqlx.QueryerContext, kinds []campaign.StockKind) (map[campaign.StockKind]int, error) {
	var rows []struct {
		Kind string `db:"kind"`
		Left int    `db:"left_over"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, `
		SELECT k.kind,
			(coalesce((SELECT sum(quantity) FROM stock WHERE kind = k.kind), 0)
			 - (SELECT count(*) FROM deliveries WHERE k.kind = ANY(stock)))::integer AS left_over
		FROM unnest($1::text[]) AS k (kind)`, toStrings(kinds))
	if err != nil {
		return nil, wrapErr(err, "postgres: stock left")
	}
	out := make(map[campaign.StockKind]int, len(rows))
	for _, r := range rows {
		out[campaign.StockKind(r.Kind)] = r.Left
	}
	return out, nil
}

// allocChunk is how many allocations ConfirmAllocations makes in one transaction: a city's day
// (739 of them, issue 13) is eight transactions of a dozen statements each instead of 739 of a
// dozen, and a chunk holds its rows' locks for a few milliseconds only.
const allocChunk = 100

// ConfirmAllocations makes the allocations real in their order, in transactions of up to
// allocChunk allocations each. A chunk locks its registrations, then its devices (each set in id
// order, in one statement) and, when it takes stock, the stock lock, so concurrent confirmations
// (chunks or single allocations) never wait on each other in a circle. Then each allocation is
// checked in turn against what the chunk has locked and given so far: the registration still
// verified, the device still ready and held by no pending delivery (one a family reopened may
// hold a device moved by hand to ready since), and every stock kind listed still left. For each
// one that passes, the device becomes allocated to the registration (with its event), the
// registration allocated, a pending delivery GH-000012 is made with the stock, and an audit row
// "allocation.confirm" (subject the registration's code) records it; the notices notify gives for
// the chunk's deliveries are queued in the chunk's transaction. An allocation with no device
// label gives connectivity only.
//
// An allocation that fails a check, or names an unknown registration or device, writes nothing
// and its code is returned in stale. When key was applied to a registration's allocation before
// (by this call or an earlier one), its delivery is returned in made as it is now, and nothing is
// written; an empty key is never de-duplicated. So a confirmation cut short and retried with its
// key makes what was left and nothing twice. Malformed allocations are EINVALID before anything
// is written. On a database error the deliveries of the chunks before are returned with it:
// they are committed; the failing chunk wrote nothing.
func (s *CaseStore) ConfirmAllocations(ctx context.Context, allocs []campaign.Allocation, key string, by campaign.Staff, notify campaign.Notify[campaign.Delivery]) ([]campaign.Delivery, []string, error) {
	actor, err := staffActor(by)
	if err != nil {
		return nil, nil, err
	}
	if err := validateKey("allocation", key); err != nil {
		return nil, nil, err
	}
	list := make([]campaign.Allocation, len(allocs))
	for i, a := range allocs {
		a.Code, a.DeviceLabel = normalizeCode(a.Code), normalizeCode(a.DeviceLabel)
		if a.Code == "" {
			return nil, nil, campaign.Errorf(campaign.EINVALID, "allocation %d: no registration code", i+1)
		}
		if a.DeviceLabel == "" && len(a.Stock) == 0 {
			return nil, nil, campaign.Errorf(campaign.EINVALID, "allocation of %s: neither a device nor stock", a.Code)
		}
		for j, k := range a.Stock {
			if !slices.Contains(campaign.StockKinds, k) || slices.Contains(a.Stock[:j], k) {
				return nil, nil, campaign.Errorf(campaign.EINVALID, "allocation of %s: stock %v is not one of each of %v", a.Code, a.Stock, campaign.StockKinds)
			}
		}
		list[i] = a
	}
	seq, err := s.seq.ensure(ctx)
	if err != nil {
		return nil, nil, err
	}
	now := s.db.now()
	var (
		made  []campaign.Delivery
		stale []string
	)
	for chunk := range slices.Chunk(list, allocChunk) {
		var got []allocOutcome
		err := s.db.tx(ctx, "confirm allocations", txOptions{}, func(tx *sqlx.Tx) error {
			var err error
			got, err = s.confirmChunk(ctx, tx, seq, chunk, key, actor, now, notify)
			return err
		})
		if err != nil {
			return made, stale, err
		}
		for i, o := range got {
			if o.ok {
				made = append(made, o.d)
			} else {
				stale = append(stale, chunk[i].Code)
			}
		}
	}
	return made, stale, nil
}

// allocOutcome is what became of one allocation of a chunk: its delivery, or stale.
type allocOutcome struct {
	d  campaign.Delivery
	ok bool
}

// confirmChunk is one transaction of ConfirmAllocations: it returns an outcome per allocation of
// chunk, in order.
func (s *CaseStore) confirmChunk(ctx context.Context, tx *sqlx.Tx, seq string, chunk []campaign.Allocation, key, actor string, now time.Time, notify campaign.Notify[campaign.Delivery]) ([]allocOutcome, error) {
	codes := make(pq.StringArray, 0, len(chunk))
	labels := pq.StringArray{}
	for _, a := range chunk {
		codes = append(codes, a.Code)
		if a.DeviceLabel != "" {
			labels = append(labels, a.DeviceLabel)
		}
	}
	type regRow struct {
		ID     int64                       `db:"id"`
		Code   string                      `db:"code"`
		Status campaign.RegistrationStatus `db:"status"`
	}
	var regRows []regRow
	err := tx.SelectContext(ctx, &regRows, `
		SELECT id, code, status FROM registrations
		WHERE campaign_id = $1 AND code = ANY($2) AND erased_at IS NULL ORDER BY id FOR UPDATE`, s.c.ID, codes)
	if err != nil {
		return nil, wrapErr(err, "postgres: confirm allocations: lock registrations")
	}
	regs := make(map[string]*regRow, len(regRows))
	for i := range regRows {
		regs[regRows[i].Code] = &regRows[i]
	}
	// The registrations are locked: a concurrent call with the key has committed its rows or not
	// begun.
	applied := map[string]bool{}
	if key != "" {
		var subjects []string
		err := tx.SelectContext(ctx, &subjects, `SELECT subject FROM case_keys WHERE key = $1 AND kind = $2 AND subject = ANY($3)`,
			key, keyAllocate, codes)
		if err != nil {
			return nil, wrapErr(err, "postgres: case keys")
		}
		for _, c := range subjects {
			applied[c] = true
		}
	}
	type deviceRow struct {
		ID    int64                `db:"id"`
		Label string               `db:"label"`
		State campaign.DeviceState `db:"state"`
	}
	devices := map[string]*deviceRow{}
	if len(labels) > 0 {
		var rows []deviceRow
		err := tx.SelectContext(ctx, &rows, `SELECT id, label, state FROM devices WHERE label = ANY($1) ORDER BY id FOR UPDATE`, labels)
		if err != nil {
			return nil, wrapErr(err, "postgres: confirm allocations: lock devices")
		}
		for i := range rows {
			devices[rows[i].Label] = &rows[i]
		}
		// A device a pending delivery holds is not allocated again, whatever its state: a
		// delivery the family reopened ("not received") after the device was moved by hand to
		// ready still holds it. Looked for in a statement after the lock, so its snapshot sees
		// the delivery of whoever held the lock before.
		var held []string
		err = tx.SelectContext(ctx, &held, `
			SELECT d.label FROM devices d JOIN deliveries dl ON dl.device_id = d.id AND dl.status = $2
			WHERE d.label = ANY($1)`, labels, campaign.DeliveryPending)
		if err != nil {
			return nil, wrapErr(err, "postgres: confirm allocations: held devices")
		}
		for _, label := range held {
			delete(devices, label)
		}
	}
	var left map[campaign.StockKind]int
	if slices.ContainsFunc(chunk, func(a campaign.Allocation) bool { return len(a.Stock) > 0 && !applied[a.Code] }) {
		// The count runs in a statement after the lock is held, so its snapshot sees the
		// deliveries of whoever held the lock before.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, stockLockKey); err != nil {
			return nil, wrapErr(err, "postgres: confirm allocations: lock stock")
		}
		if left, err = stockLeft(ctx, tx, campaign.StockKinds); err != nil {
			return nil, err
		}
	}

	// Each allocation in turn, against what the ones before it took.
	devFrom, devTo, _ := campaign.AllocationAllocate.Device()
	out := make([]allocOutcome, len(chunk))
	var (
		regIDs, deviceIDs pq.Int64Array
		stocks            pq.StringArray
		newAt             []int // the positions in chunk of the deliveries to make
		events            []deviceEvent
		appliedRegs       = map[int64][]int{} // positions of allocations applied before, by registration
	)
	for i, a := range chunk {
		r := regs[a.Code]
		if r == nil {
			continue
		}
		if applied[a.Code] {
			appliedRegs[r.ID] = append(appliedRegs[r.ID], i)
			continue
		}
		// campaign decides: the registration verified, the device ready (a verified registration
		// has no delivery: allocating makes it).
		was := campaign.AllocationState{Registration: r.Status}
		var dev *deviceRow
		if a.DeviceLabel != "" {
			if dev = devices[a.DeviceLabel]; dev == nil {
				continue
			}
			was.Device = dev.State
		}
		next, err := was.Apply(campaign.AllocationAllocate)
		if err != nil {
			continue
		}
		if slices.ContainsFunc(a.Stock, func(k campaign.StockKind) bool { return left[k] <= 0 }) {
			continue
		}
		r.Status = next.Registration
		if key != "" {
			applied[a.Code] = true // a copy later in the list is the same allocation
		}
		var deviceID int64
		if dev != nil {
			dev.State, deviceID = next.Device, dev.ID
		}
		for _, k := range a.Stock {
			left[k]--
		}
		regIDs, deviceIDs = append(regIDs, r.ID), append(deviceIDs, deviceID)
		stocks = append(stocks, strings.Join(toStrings(a.Stock), ","))
		newAt = append(newAt, i)
	}

	deliveries := map[int64]campaign.Delivery{} // by registration
	if len(newAt) > 0 {
		var rows []struct {
			ID     int64  `db:"id"`
			RegID  int64  `db:"registration_id"`
			Code   string `db:"code"`
			Device int64  `db:"device_id"`
		}
		err := tx.SelectContext(ctx, &rows, `
			INSERT INTO deliveries (code, status, registration_id, device_id, stock, allocated_by, allocated_at)
			SELECT format_code($1, nextval($2::regclass)), $8::text, u.reg, nullif(u.dev, 0), string_to_array(u.stock, ','), $3, $4
			FROM unnest($5::bigint[], $6::bigint[], $7::text[]) WITH ORDINALITY AS u (reg, dev, stock, ord)
			ORDER BY u.ord
			RETURNING id, registration_id, code, coalesce(device_id, 0) AS device_id`,
			deliveryCodePrefix, seq, actor, now, regIDs, deviceIDs, stocks, campaign.AllocationAllocate.Makes())
		if err != nil {
			return nil, wrapErr(err, "postgres: confirm allocations: deliveries")
		}
		code := make(map[int64]string, len(rows))
		ids := make(pq.Int64Array, len(rows))
		for i, row := range rows {
			code[row.RegID], ids[i] = row.Code, row.ID
		}
		_, err = tx.ExecContext(ctx, `UPDATE registrations SET status = $3, updated_at = $2 WHERE id = ANY($1)`,
			regIDs, now, campaign.AllocationAllocate.Registration().To())
		if err != nil {
			return nil, wrapErr(err, "postgres: confirm allocations: registrations")
		}
		var devIDs, devRegs pq.Int64Array
		for j, id := range deviceIDs {
			if id != 0 {
				devIDs, devRegs = append(devIDs, id), append(devRegs, regIDs[j])
				events = append(events, deviceEvent{id, devFrom, devTo, code[regIDs[j]]})
			}
		}
		if len(devIDs) > 0 {
			_, err = tx.ExecContext(ctx, `
				UPDATE devices d SET state = $4, allocated_registration_id = u.reg, updated_at = $3
				FROM unnest($1::bigint[], $2::bigint[]) AS u (dev, reg) WHERE d.id = u.dev`, devIDs, devRegs, now, devTo)
			if err != nil {
				return nil, wrapErr(err, "postgres: confirm allocations: devices")
			}
			if err := insertDeviceEvents(ctx, tx, now, actor, events); err != nil {
				return nil, err
			}
		}
		if key != "" {
			subjects := make(pq.StringArray, len(newAt))
			for j, i := range newAt {
				subjects[j] = chunk[i].Code
			}
			_, err = tx.ExecContext(ctx, `
				INSERT INTO case_keys (key, kind, subject, created_at) SELECT $1, $2, unnest($3::text[]), $4
				ON CONFLICT DO NOTHING`, key, keyAllocate, subjects, now)
			if err != nil {
				return nil, wrapErr(err, "postgres: case key")
			}
		}
		for j, i := range newAt {
			a := chunk[i]
			before := map[string]any{"status": campaign.StatusVerified}
			after := map[string]any{"status": campaign.AllocationAllocate.Registration().To(), "delivery": code[regIDs[j]], "stock": toStrings(a.Stock)}
			if deviceIDs[j] != 0 {
				before["device_state"] = devFrom
				after["device"], after["device_state"] = a.DeviceLabel, devTo
			}
			err := insertAudit(ctx, tx, campaign.AuditEntry{At: now, Actor: actor, Action: "allocation.confirm", Subject: a.Code, Before: before, After: after})
			if err != nil {
				return nil, err
			}
		}
		made, err := s.deliveries(ctx, tx, `dl.id = ANY($2)`, ids)
		if err != nil {
			return nil, err
		}
		for _, d := range made {
			deliveries[regs[d.RegistrationCode].ID] = d
		}
	}
	if len(appliedRegs) > 0 {
		ids := make(pq.Int64Array, 0, len(appliedRegs))
		for id := range appliedRegs {
			ids = append(ids, id)
		}
		before, err := s.deliveries(ctx, tx, `dl.registration_id = ANY($2)`, ids)
		if err != nil {
			return nil, err
		}
		for _, d := range before {
			deliveries[regs[d.RegistrationCode].ID] = d
		}
	}

	var notices []campaign.OutboxMessage
	for _, i := range newAt {
		d := deliveries[regs[chunk[i].Code].ID]
		out[i] = allocOutcome{d: d, ok: true}
		if notify != nil {
			notices = append(notices, notify(d)...)
		}
	}
	for id, positions := range appliedRegs {
		d, ok := deliveries[id]
		for _, i := range positions {
			out[i] = allocOutcome{d: d, ok: ok}
		}
	}
	if _, err := enqueue(ctx, tx, now, reachable(notices)); err != nil {
		return nil, err
	}
	return out, nil
}

// SetHandover records where the family wants the device, on a pending delivery of the campaign
// made for a registration of the chat parent, with an audit row "delivery.handover" by
// campaign.FamilyActor; choosing the place it already has writes nothing. Any other delivery is
// ENOTFOUND, a place that is not home or school EINVALID.
func (s *CaseStore) SetHandover(ctx context.Context, code string, parent campaign.Session, h campaign.Handover) (campaign.Delivery, error) {
	parent = normalizeSession(parent)
	code = normalizeCode(code)
	if h != campaign.HandoverHome && h != campaign.HandoverSchool {
		return campaign.Delivery{}, campaign.Errorf(campaign.EINVALID, "handover: unknown place %q", h)
	}
	now := s.db.now()
	var out campaign.Delivery
	err := s.db.tx(ctx, "set handover", txOptions{}, func(tx *sqlx.Tx) error {
		locked, err := s.lockDelivery(ctx, tx, code)
		if err != nil {
			return err
		}
		if !locked.of(parent) {
			return campaign.Errorf(campaign.ENOTFOUND, "no pending delivery %s for this chat", code)
		}
		if _, err := locked.Status.Apply(campaign.DeliveryChoosePlace); err != nil {
			return fmt.Errorf("no pending delivery %s for this chat: %w", code, err)
		}
		if locked.Handover != h {
			_, err = tx.ExecContext(ctx, `UPDATE deliveries SET handover = $2 WHERE id = $1`, locked.ID, h)
			if err != nil {
				return wrapErr(err, "postgres: set handover")
			}
			err = insertAudit(ctx, tx, campaign.AuditEntry{
				At: now, Actor: campaign.FamilyActor, Action: "delivery.handover", Subject: code,
				Before: map[string]any{"handover": locked.Handover}, After: map[string]any{"handover": h},
			})
			if err != nil {
				return err
			}
		}
		out, err = s.oneDelivery(ctx, tx, "id", `dl.id = $2`, locked.ID)
		return err
	})
	return out, err
}

// OpenDeliveries lists the campaign's pending deliveries in wardCode (the child's ward; every ward
// when ""): those with failed attempts first, then by ward and allocation time; at most limit (20
// when not positive, never more than 500).
func (s *CaseStore) OpenDeliveries(ctx context.Context, wardCode string, limit int) ([]campaign.Delivery, error) {
	limit = clampLimit(limit, defaultCaseLimit, maxCaseLimit)
	return s.deliveries(ctx, s.db.db, `
		dl.status = 'pending' AND r.erased_at IS NULL AND ($2::text = '' OR r.ward_code = $2)
		ORDER BY dl.attempts > 0 DESC, r.ward_code, dl.allocated_at, dl.id LIMIT $3`,
		campaign.NormalizeText(wardCode), limit)
}

// DeliveryByCode returns the campaign's delivery with code (in any case), or an ENOTFOUND error.
func (s *CaseStore) DeliveryByCode(ctx context.Context, code string) (campaign.Delivery, error) {
	return s.oneDelivery(ctx, s.db.db, "code", `dl.code = $2`, normalizeCode(code))
}

// MarkDelivered records the hand-over of a pending delivery to recipient (required) by the
// volunteer by, with the channel's file id of the proof photo (may be ""), in one transaction
// with the delivery locked: the delivery, the device (with its event) and the registration become
// delivered as campaign.AllocationHandOver says (a device someone has moved by hand from
// allocated since stays where it is), and an audit row "delivery.delivered" records it without
// the recipient's name. When key was applied to the delivery before, it is returned unchanged;
// otherwise a delivery that is not pending is ECONFLICT, an unknown one ENOTFOUND.
func (s *CaseStore) MarkDelivered(ctx context.Context, code, recipient, photoID, key string, by campaign.Staff, notify campaign.Notify[campaign.Delivery]) (campaign.Delivery, error) {
	actor, err := staffActor(by)
	if err != nil {
		return campaign.Delivery{}, err
	}
	code, recipient, photoID = normalizeCode(code), campaign.NormalizeText(recipient), campaign.NormalizeText(photoID)
	invalid := func(format string, args ...any) error {
		return campaign.Errorf(campaign.EINVALID, "delivery: "+format, args...)
	}
	if err := checkTexts(invalid, true, textField{"recipient", recipient, maxNameLen}); err != nil {
		return campaign.Delivery{}, err
	}
	if utf8.RuneCountInString(photoID) > maxIDLen {
		return campaign.Delivery{}, invalid("photo id is longer than %d characters", maxIDLen)
	}
	if err := validateKey("delivery", key); err != nil {
		return campaign.Delivery{}, err
	}
	now := s.db.now()
	var out campaign.Delivery
	err = s.db.tx(ctx, "mark delivered", txOptions{}, func(tx *sqlx.Tx) error {
		locked, err := s.lockDelivery(ctx, tx, code)
		if err != nil {
			return err
		}
		applied, err := caseKeyApplied(ctx, tx, key, keyDeliver, code)
		if err != nil {
			return err
		}
		if !applied {
			next, err := locked.Status.Apply(campaign.AllocationHandOver.Delivery())
			if err != nil {
				return fmt.Errorf("delivery %s: %w", code, err)
			}
			_, err = tx.ExecContext(ctx, `
				UPDATE deliveries SET status = $6, recipient_name = $2, photo_id = $3, volunteer = $4,
					delivered_at = $5
				WHERE id = $1`, locked.ID, recipient, photoID, actor, now, next)
			if err != nil {
				return wrapErr(err, "postgres: mark delivered")
			}
			// The registration follows its delivery.
			_, err = tx.ExecContext(ctx, `UPDATE registrations SET status = $3, updated_at = $2 WHERE id = $1`,
				locked.RegistrationID, now, campaign.AllocationHandOver.Registration().To())
			if err != nil {
				return wrapErr(err, "postgres: mark delivered: registration")
			}
			if locked.DeviceID.Valid {
				if _, _, err := moveAllocatedDevice(ctx, tx, now, actor, locked.DeviceID.Int64, campaign.AllocationHandOver, code); err != nil {
					return err
				}
			}
			if err := insertCaseKey(ctx, tx, key, keyDeliver, code, now); err != nil {
				return err
			}
			err = insertAudit(ctx, tx, campaign.AuditEntry{
				At: now, Actor: actor, Action: "delivery.delivered", Subject: code,
				Before: map[string]any{"status": locked.Status},
				After:  map[string]any{"status": next, "photo": photoID != ""},
			})
			if err != nil {
				return err
			}
		}
		out, err = s.oneDelivery(ctx, tx, "id", `dl.id = $2`, locked.ID)
		if err != nil || applied {
			return err
		}
		return notifyIn(ctx, tx, now, notify, out)
	})
	return out, err
}

// MarkFailed records a failed attempt at a pending delivery by the volunteer by, in one
// transaction with the delivery locked: attempts grows by one and the reason and note are kept,
// the delivery stays pending (and comes first in OpenDeliveries), and an audit row
// "delivery.failed" records the reason (not the note, which may locate the family). The note is
// optional, for every reason. key de-duplicates as in MarkDelivered.
func (s *CaseStore) MarkFailed(ctx context.Context, code string, reason campaign.FailReason, note, key string, by campaign.Staff, notify campaign.Notify[campaign.Delivery]) (campaign.Delivery, error) {
	actor, err := staffActor(by)
	if err != nil {
		return campaign.Delivery{}, err
	}
	code, note = normalizeCode(code), campaign.NormalizeText(note)
	if !slices.Contains(campaign.FailReasons, reason) {
		return campaign.Delivery{}, campaign.Errorf(campaign.EINVALID, "delivery: unknown failure reason %q", reason)
	}
	if utf8.RuneCountInString(note) > maxNoteLen {
		return campaign.Delivery{}, campaign.Errorf(campaign.EINVALID, "delivery: note is longer than %d characters", maxNoteLen)
	}
	if err := validateKey("delivery", key); err != nil {
		return campaign.Delivery{}, err
	}
	now := s.db.now()
	var out campaign.Delivery
	err = s.db.tx(ctx, "mark failed", txOptions{}, func(tx *sqlx.Tx) error {
		locked, err := s.lockDelivery(ctx, tx, code)
		if err != nil {
			return err
		}
		applied, err := caseKeyApplied(ctx, tx, key, keyFail, code)
		if err != nil {
			return err
		}
		if !applied {
			next, err := locked.Status.Apply(campaign.DeliveryFail)
			if err != nil {
				return fmt.Errorf("delivery %s: %w", code, err)
			}
			_, err = tx.ExecContext(ctx, `
				UPDATE deliveries SET status = $4, attempts = attempts + 1, last_failure = $2, last_failure_note = $3
				WHERE id = $1`, locked.ID, reason, note, next)
			if err != nil {
				return wrapErr(err, "postgres: mark failed")
			}
			if err := insertCaseKey(ctx, tx, key, keyFail, code, now); err != nil {
				return err
			}
			err = insertAudit(ctx, tx, campaign.AuditEntry{
				At: now, Actor: actor, Action: "delivery.failed", Subject: code,
				Before: map[string]any{"attempts": locked.Attempts},
				After:  map[string]any{"attempts": locked.Attempts + 1, "reason": reason},
			})
			if err != nil {
				return err
			}
		}
		out, err = s.oneDelivery(ctx, tx, "id", `dl.id = $2`, locked.ID)
		if err != nil || applied {
			return err
		}
		return notifyIn(ctx, tx, now, notify, out)
	})
	return out, err
}

// ReportNotReceived takes a delivered delivery back to pending on the parent's word that it never
// reached them, in one transaction with the delivery locked: attempts grows by one with the
// failure not_received and the parent's words as its note, delivered_at is cleared (so the
// delivery counts as not yet handed over, and FinalizeDeliveries leaves it alone), the device and
// the registration go back to allocated as campaign.AllocationNotReceived says (a device someone
// has since moved by hand from delivered, returned say, stays where it is), and an audit row
// "delivery.not_received" by campaign.FamilyActor records it without the words. The volunteer's
// record of the hand-over (recipient, photo) stays, for whoever looks into it. A delivery whose
// device has gone to another delivery since (it came back and was allocated to another child) is
// not reopened: ENOTFOUND, as for a final one, so the family is told to contact the ward. When
// key was applied before, the delivery is returned as it is.
func (s *CaseStore) ReportNotReceived(ctx context.Context, code string, parent campaign.Session, words, key string, notify campaign.Notify[campaign.Delivery]) (campaign.Delivery, error) {
	parent = normalizeSession(parent)
	code, words = normalizeCode(code), campaign.NormalizeText(words)
	if utf8.RuneCountInString(words) > maxNoteLen {
		return campaign.Delivery{}, campaign.Errorf(campaign.EINVALID, "not received: words longer than %d characters", maxNoteLen)
	}
	if err := validateKey("not received", key); err != nil {
		return campaign.Delivery{}, err
	}
	now := s.db.now()
	var out campaign.Delivery
	err := s.db.tx(ctx, "not received", txOptions{}, func(tx *sqlx.Tx) error {
		locked, err := s.lockDelivery(ctx, tx, code)
		if err != nil {
			return err
		}
		if !locked.of(parent) {
			return campaign.Errorf(campaign.ENOTFOUND, "no delivery %s for this chat", code)
		}
		applied, err := caseKeyApplied(ctx, tx, key, keyMissing, code)
		if err != nil {
			return err
		}
		if !applied {
			next, err := locked.Status.Apply(campaign.AllocationNotReceived.Delivery())
			if err != nil {
				return fmt.Errorf("delivery %s not waiting for the family's word: %w", code, err)
			}
			if locked.DeviceID.Valid {
				if err := deviceStillFor(ctx, tx, locked, code); err != nil {
					return err
				}
			}
			_, err = tx.ExecContext(ctx, `
				UPDATE deliveries SET status = $4, delivered_at = NULL, attempts = attempts + 1,
					last_failure = $3, last_failure_note = $2
				WHERE id = $1`, locked.ID, words, campaign.FailNotReceived, next)
			if err != nil {
				return wrapErr(err, "postgres: not received")
			}
			// The registration follows its delivery.
			_, err = tx.ExecContext(ctx, `UPDATE registrations SET status = $3, updated_at = $2 WHERE id = $1`,
				locked.RegistrationID, now, campaign.AllocationNotReceived.Registration().To())
			if err != nil {
				return wrapErr(err, "postgres: not received: registration")
			}
			if locked.DeviceID.Valid {
				// The device's history says "family", never the family's chat, which erasure
				// would have to find there (as a withdrawal's move does).
				_, _, err := moveAllocatedDevice(ctx, tx, now, campaign.WithdrawnActor, locked.DeviceID.Int64, campaign.AllocationNotReceived, code)
				if err != nil {
					return err
				}
			}
			if err := insertCaseKey(ctx, tx, key, keyMissing, code, now); err != nil {
				return err
			}
			err = insertAudit(ctx, tx, campaign.AuditEntry{
				At: now, Actor: campaign.FamilyActor, Action: "delivery.not_received", Subject: code,
				Before: map[string]any{"status": locked.Status},
				After:  map[string]any{"status": next, "attempts": locked.Attempts + 1},
			})
			if err != nil {
				return err
			}
		}
		out, err = s.oneDelivery(ctx, tx, "id", `dl.id = $2`, locked.ID)
		if err != nil || applied {
			return err
		}
		return notifyIn(ctx, tx, now, notify, out)
	})
	return out, err
}

// ConfirmDelivery makes a delivered delivery final on the parent's word, from the chat parent of
// its registration, with an audit row "delivery.confirmed" by campaign.FamilyActor. A confirmed
// one is returned with already true and nothing written; one of another chat, unknown or still
// pending is ENOTFOUND.
func (s *CaseStore) ConfirmDelivery(ctx context.Context, code string, parent campaign.Session, notify campaign.Notify[campaign.Delivery]) (campaign.Delivery, bool, error) {
	parent = normalizeSession(parent)
	code = normalizeCode(code)
	now := s.db.now()
	var (
		out     campaign.Delivery
		already bool
	)
	err := s.db.tx(ctx, "confirm delivery", txOptions{}, func(tx *sqlx.Tx) error {
		locked, err := s.lockDelivery(ctx, tx, code)
		if err != nil {
			return err
		}
		if !locked.of(parent) {
			return campaign.Errorf(campaign.ENOTFOUND, "no delivered delivery %s for this chat", code)
		}
		already = campaign.DeliveryConfirm.Repeated(locked.Status)
		if !already {
			next, err := locked.Status.Apply(campaign.DeliveryConfirm)
			if err != nil {
				return fmt.Errorf("no delivered delivery %s for this chat: %w", code, err)
			}
			_, err = tx.ExecContext(ctx, `UPDATE deliveries SET status = $3, confirmed_at = $2 WHERE id = $1`,
				locked.ID, now, next)
			if err != nil {
				return wrapErr(err, "postgres: confirm delivery")
			}
			err = insertAudit(ctx, tx, campaign.AuditEntry{
				At: now, Actor: campaign.FamilyActor, Action: "delivery.confirmed", Subject: code,
				Before: map[string]any{"status": locked.Status},
				After:  map[string]any{"status": next},
			})
			if err != nil {
				return err
			}
		}
		out, err = s.oneDelivery(ctx, tx, "id", `dl.id = $2`, locked.ID)
		if err != nil || already {
			return err
		}
		return notifyIn(ctx, tx, now, notify, out)
	})
	if err != nil {
		return campaign.Delivery{}, false, err
	}
	return out, already, nil
}

// FinalizeDeliveries makes final, as auto-confirmed, every delivery of the campaign handed over
// before cutoff and not confirmed, with an audit row "delivery.auto_confirmed" by "system" each,
// all in one statement, and returns them in the order they were handed over. A delivery the parent
// confirms meanwhile is left to the parent: the update re-checks the status of each row it waits
// for. The messages notices gives are queued in the outbox in the same transaction.
func (s *CaseStore) FinalizeDeliveries(ctx context.Context, cutoff time.Time, notices campaign.Notify[campaign.Delivery]) ([]campaign.Delivery, error) {
	now := s.db.now()
	var out []campaign.Delivery
	err := s.db.tx(ctx, "finalize deliveries", txOptions{}, func(tx *sqlx.Tx) error {
		var ids pq.Int64Array
		err := tx.SelectContext(ctx, &ids, `
			WITH due AS (
				SELECT dl.id, dl.status FROM deliveries dl JOIN registrations r ON r.id = dl.registration_id
				WHERE r.campaign_id = $1 AND dl.status = ANY($5) AND dl.delivered_at < $3
				FOR UPDATE OF dl
			), done AS (
				UPDATE deliveries dl SET status = $6, confirmed_at = $2, auto_confirmed = true
				FROM due WHERE dl.id = due.id
				RETURNING dl.id, dl.code, dl.status, due.status AS was
			), audit AS (
				INSERT INTO audit_log (at, actor, action, subject, before, after)
				SELECT $2, $4, 'delivery.auto_confirmed', code, jsonb_build_object('status', was),
					jsonb_build_object('status', status, 'auto_confirmed', true)
				FROM done
			)
			SELECT id FROM done`, s.c.ID, now, cutoff.UTC(), systemActor,
			toStrings(campaign.DeliveryAutoConfirm.From()), campaign.DeliveryAutoConfirm.To())
		if err != nil {
			return wrapErr(err, "postgres: finalize deliveries")
		}
		if len(ids) == 0 {
			out = []campaign.Delivery{}
			return nil
		}
		out, err = s.deliveries(ctx, tx, `dl.id = ANY($2) ORDER BY dl.delivered_at, dl.id`, ids)
		if err != nil || notices == nil {
			return err
		}
		var msgs []campaign.OutboxMessage
		for _, d := range out {
			msgs = append(msgs, notices(d)...)
		}
		_, err = enqueue(ctx, tx, now, reachable(msgs))
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// lockedRegistration is what a decision reads of a registration it locked.
type lockedRegistration struct {
	ID      int64                       `db:"id"`
	Status  campaign.RegistrationStatus `db:"status"`
	Channel string                      `db:"channel"`
	ChatID  string                      `db:"chat_id"`
}

// lockRegistration locks the campaign's registration code until tx ends, or returns ENOTFOUND.
func (s *CaseStore) lockRegistration(ctx context.Context, tx *sqlx.Tx, code string) (lockedRegistration, error) {
	var r lockedRegistration
	err := tx.GetContext(ctx, &r, `
		SELECT id, status, channel, chat_id FROM registrations WHERE campaign_id = $1 AND code = $2 AND erased_at IS NULL FOR UPDATE`,
		s.c.ID, code)
	if errors.Is(err, sql.ErrNoRows) {
		return r, campaign.Errorf(campaign.ENOTFOUND, "no registration %s", code)
	}
	if err != nil {
		return r, wrapErr(err, "postgres: lock registration")
	}
	return r, nil
}

// lockedDelivery is what a change of a delivery reads of the delivery it locked.
type lockedDelivery struct {
	ID             int64                   `db:"id"`
	Status         campaign.DeliveryStatus `db:"status"`
	Handover       campaign.Handover       `db:"handover"`
	Attempts       int                     `db:"attempts"`
	RegistrationID int64                   `db:"registration_id"`
	DeviceID       sql.NullInt64           `db:"device_id"`
	Channel        string                  `db:"channel"`
	ChatID         string                  `db:"chat_id"`
}

// of reports whether the delivery is for a registration made from the chat parent.
func (d lockedDelivery) of(parent campaign.Session) bool {
	return d.Channel == parent.Channel && d.ChatID == parent.ChatID
}

// lockDelivery locks the campaign's delivery code until tx ends, or returns ENOTFOUND.
func (s *CaseStore) lockDelivery(ctx context.Context, tx *sqlx.Tx, code string) (lockedDelivery, error) {
	var d lockedDelivery
	err := tx.GetContext(ctx, &d, `
		SELECT dl.id, dl.status, dl.handover, dl.attempts, dl.registration_id, dl.device_id, r.channel, r.chat_id
		FROM deliveries dl JOIN registrations r ON r.id = dl.registration_id
		WHERE r.campaign_id = $1 AND dl.code = $2 AND r.erased_at IS NULL
		FOR UPDATE OF dl`, s.c.ID, code)
	if errors.Is(err, sql.ErrNoRows) {
		return d, campaign.Errorf(campaign.ENOTFOUND, "no delivery %s", code)
	}
	if err != nil {
		return d, wrapErr(err, "postgres: lock delivery")
	}
	return d, nil
}

// deviceStillFor locks the device of delivery d (code) until tx ends and returns ENOTFOUND, as
// for a delivery that cannot be reopened, when the device went to another delivery since: one
// made after d (the device came back, was moved by hand to ready and allocated to another child,
// who may have it already), or another pending one. Reopening d would then put two children's
// deliveries on one device; the family is told to contact the ward instead, where staff can sort
// it out. The device's lock orders this check with an allocation of the device
// (CaseStore.ConfirmAllocations locks it before it looks for a pending delivery holding it).
func deviceStillFor(ctx context.Context, tx *sqlx.Tx, d lockedDelivery, code string) error {
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM devices WHERE id = $1 FOR UPDATE`, d.DeviceID.Int64); err != nil {
		return wrapErr(err, "postgres: lock device")
	}
	var other string
	err := tx.GetContext(ctx, &other, `
		SELECT code FROM deliveries WHERE device_id = $1 AND id <> $2 AND (id > $2 OR status = $3)
		ORDER BY id DESC LIMIT 1`, d.DeviceID.Int64, d.ID, campaign.DeliveryPending)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return wrapErr(err, "postgres: device's later delivery")
	}
	return campaign.Errorf(campaign.ENOTFOUND, "delivery %s cannot be reopened: its device is on delivery %s since", code, other)
}

// moveAllocatedDevice moves the device id of an allocation as event e says, with its event in the
// device's history (note, the delivery's code) by actor, after locking its row: a device in
// another state than the one e moves from (moved by hand since) stays where it is, with no event
// claiming otherwise; moved reports whether it moved, to where. A device e takes back to ready
// loses its allocation.
func moveAllocatedDevice(ctx context.Context, tx *sqlx.Tx, now time.Time, actor string, id int64, e campaign.AllocationEvent, note string) (to campaign.DeviceState, moved bool, err error) {
	var from campaign.DeviceState
	if err := tx.GetContext(ctx, &from, `SELECT state FROM devices WHERE id = $1 FOR UPDATE`, id); err != nil {
		return "", false, wrapErr(err, "postgres: lock device")
	}
	if to, moved = e.MoveDevice(from); !moved {
		return from, false, nil
	}
	_, err = tx.ExecContext(ctx, `
		UPDATE devices SET state = $2, updated_at = $3,
			allocated_registration_id = CASE WHEN $2 IN ('allocated', 'delivered') THEN allocated_registration_id END
		WHERE id = $1`, id, to, now)
	if err != nil {
		return from, false, wrapErr(err, "postgres: move device")
	}
	return to, true, insertDeviceEvents(ctx, tx, now, actor, []deviceEvent{{id, from, to, note}})
}

// insertNote adds a question (answer false) or an answer to a registration's notes.
func insertNote(ctx context.Context, tx *sqlx.Tx, registrationID int64, at time.Time, actor string, answer bool, body string) error {
	return insertNotePhoto(ctx, tx, registrationID, at, actor, answer, body, "", "")
}

// insertNotePhoto is insertNote with a photo the parent sent (its channel's reference).
func insertNotePhoto(ctx context.Context, tx *sqlx.Tx, registrationID int64, at time.Time, actor string, answer bool, body, photoID, photoChannel string) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO registration_notes (registration_id, at, actor, answer, body, photo_id, photo_channel)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		registrationID, at, actor, answer, body, photoID, photoChannel)
	if err != nil {
		return wrapErr(err, "postgres: registration note")
	}
	return nil
}

// caseKeyApplied reports whether key was applied to subject by an action of kind. The caller
// holds the subject's row lock, so a concurrent call with the key has committed its row or not
// begun; an empty key never was applied.
func caseKeyApplied(ctx context.Context, tx *sqlx.Tx, key, kind, subject string) (bool, error) {
	if key == "" {
		return false, nil
	}
	var applied bool
	err := tx.GetContext(ctx, &applied,
		`SELECT EXISTS (SELECT 1 FROM case_keys WHERE key = $1 AND kind = $2 AND subject = $3)`, key, kind, subject)
	if err != nil {
		return false, wrapErr(err, "postgres: case key")
	}
	return applied, nil
}

// insertCaseKey records that key was applied to subject by an action of kind; an empty key is not
// recorded.
func insertCaseKey(ctx context.Context, tx *sqlx.Tx, key, kind, subject string, now time.Time) error {
	if key == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO case_keys (key, kind, subject, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, key, kind, subject, now)
	if err != nil {
		return wrapErr(err, "postgres: case key")
	}
	return nil
}

// clampLimit returns limit, or def when it is not positive, and never more than most.
func clampLimit(limit, def, most int) int {
	if limit <= 0 {
		limit = def
	}
	return min(limit, most)
}

// normalizeSession returns a chat as stored.
func normalizeSession(s campaign.Session) campaign.Session {
	return campaign.Session{Channel: campaign.NormalizeText(s.Channel), ChatID: campaign.NormalizeText(s.ChatID)}
}

// selectCandidates reads candidateRow columns without already_helped; a WHERE clause follows it.
const selectCandidates = `
	SELECT r.id, r.code, r.status, r.ward_code, r.level, r.needs, r.circumstances, r.device_situation,
		r.created_at, false AS already_helped, r.message_at
	FROM registrations r
	`

// candidateRow is what scores a registration and orders it among candidates.
type candidateRow struct {
	ID            int64          `db:"id"`
	Code          string         `db:"code"`
	Status        string         `db:"status"`
	WardCode      string         `db:"ward_code"`
	Level         string         `db:"level"`
	Needs         pq.StringArray `db:"needs"`
	Circumstances pq.StringArray `db:"circumstances"`
	Situation     string         `db:"device_situation"`
	CreatedAt     time.Time      `db:"created_at"`
	AlreadyHelped bool           `db:"already_helped"`
	MessageAt     sql.NullTime   `db:"message_at"`
}

// registration returns the part of a registration the row holds.
func (row candidateRow) registration() campaign.Registration {
	return campaign.Registration{
		ID: row.ID, Code: row.Code, Status: campaign.RegistrationStatus(row.Status), WardCode: row.WardCode,
		Level: campaign.SchoolLevel(row.Level), Needs: fromStrings[campaign.Need](row.Needs),
		Circumstances:   fromStrings[campaign.Circumstance](row.Circumstances),
		DeviceSituation: campaign.DeviceSituation(row.Situation), CreatedAt: row.CreatedAt.UTC(),
	}
}

// oneDelivery returns the campaign's single delivery the condition where selects (its parameters
// start at $2), or an ENOTFOUND error naming what.
func (s *CaseStore) oneDelivery(ctx context.Context, q sqlx.QueryerContext, what, where string, args ...any) (campaign.Delivery, error) {
	ds, err := s.deliveries(ctx, q, where, args...)
	if err != nil {
		return campaign.Delivery{}, err
	}
	if len(ds) == 0 {
		return campaign.Delivery{}, campaign.Errorf(campaign.ENOTFOUND, "no delivery with that %s", what)
	}
	return ds[0], nil
}

// deliveries returns the campaign's deliveries the condition where (and any ORDER BY and LIMIT
// after it) selects; its parameters start at $2, $1 being the campaign.
func (s *CaseStore) deliveries(ctx context.Context, q sqlx.QueryerContext, where string, args ...any) ([]campaign.Delivery, error) {
	var rows []deliveryRow
	err := sqlx.SelectContext(ctx, q, &rows, selectDeliveries+`WHERE r.campaign_id = $1 AND `+where,
		append([]any{s.c.ID}, args...)...)
	if err != nil {
		return nil, wrapErr(err, "postgres: deliveries")
	}
	out := make([]campaign.Delivery, len(rows))
	for i, row := range rows {
		if out[i], err = row.delivery(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// selectDeliveries reads deliveryRow columns: the delivery with what the volunteer needs from the
// registration and the student, the device, and the chat of the donor whose pledge gave it. A
// WHERE clause follows it.
const selectDeliveries = `
	SELECT dl.id, dl.code, dl.status, r.code AS registration_code, s.full_name, r.level, r.grade,
		r.school, r.ward_code, r.address, r.parent_name, r.parent_phone, r.channel, r.chat_id, r.language,
		dl.handover, coalesce(d.label, '') AS device_label, coalesce(d.type, '') AS device_type, dl.stock,
		p.channel AS donor_channel, p.chat_id AS donor_chat_id, coalesce(p.language, '') AS donor_language,
		dl.attempts, dl.last_failure, dl.last_failure_note, dl.volunteer, dl.recipient_name, dl.photo_id,
		dl.allocated_by, dl.allocated_at, dl.delivered_at, dl.confirmed_at, dl.auto_confirmed,
		r.source, r.registered_by, ` + registrarColumns + `
	FROM deliveries dl
	JOIN registrations r ON r.id = dl.registration_id
	JOIN students s ON s.id = r.student_id
	LEFT JOIN devices d ON d.id = dl.device_id
	LEFT JOIN pledges p ON p.id = d.pledge_id ` + registrarJoins

// deliveryRow is a delivery as selectDeliveries reads it.
type deliveryRow struct {
	ID               int64          `db:"id"`
	Code             string         `db:"code"`
	Status           string         `db:"status"`
	RegistrationCode string         `db:"registration_code"`
	StudentName      string         `db:"full_name"`
	Level            string         `db:"level"`
	Grade            int            `db:"grade"`
	School           string         `db:"school"`
	WardCode         string         `db:"ward_code"`
	Address          string         `db:"address"`
	ParentName       string         `db:"parent_name"`
	ParentPhone      string         `db:"parent_phone"`
	Channel          string         `db:"channel"`
	ChatID           string         `db:"chat_id"`
	Language         string         `db:"language"`
	Handover         string         `db:"handover"`
	DeviceLabel      string         `db:"device_label"`
	DeviceType       string         `db:"device_type"`
	Stock            pq.StringArray `db:"stock"`
	DonorChannel     sql.NullString `db:"donor_channel"`
	DonorChatID      sql.NullString `db:"donor_chat_id"`
	DonorLanguage    string         `db:"donor_language"`
	Attempts         int            `db:"attempts"`
	LastFailure      string         `db:"last_failure"`
	LastFailureNote  string         `db:"last_failure_note"`
	Volunteer        string         `db:"volunteer"`
	RecipientName    string         `db:"recipient_name"`
	PhotoID          string         `db:"photo_id"`
	AllocatedBy      string         `db:"allocated_by"`
	AllocatedAt      time.Time      `db:"allocated_at"`
	DeliveredAt      sql.NullTime   `db:"delivered_at"`
	ConfirmedAt      sql.NullTime   `db:"confirmed_at"`
	AutoConfirmed    bool           `db:"auto_confirmed"`
	Source           string         `db:"source"`
	RegisteredBy     string         `db:"registered_by"`
	registrarRow
}

// delivery converts the row to the domain type, with times in UTC (zero when not yet).
func (row deliveryRow) delivery() (campaign.Delivery, error) {
	registrar, err := row.registrar(row.ChatID, row.RegisteredBy, row.Source)
	if err != nil {
		return campaign.Delivery{}, fmt.Errorf("delivery %s: %w", row.Code, err)
	}
	d := campaign.Delivery{
		ID:               row.ID,
		Code:             row.Code,
		Status:           campaign.DeliveryStatus(row.Status),
		RegistrationCode: row.RegistrationCode,
		StudentName:      row.StudentName,
		Level:            campaign.SchoolLevel(row.Level),
		Grade:            row.Grade,
		School:           row.School,
		WardCode:         row.WardCode,
		Address:          row.Address,
		ParentName:       row.ParentName,
		ParentPhone:      row.ParentPhone,
		Parent:           campaign.Session{Channel: row.Channel, ChatID: row.ChatID},
		ParentLanguage:   row.Language,
		Registrar:        registrar,
		Handover:         campaign.Handover(row.Handover),
		DeviceLabel:      row.DeviceLabel,
		DeviceType:       campaign.DeviceType(row.DeviceType),
		Stock:            fromStrings[campaign.StockKind](row.Stock),
		Attempts:         row.Attempts,
		LastFailure:      campaign.FailReason(row.LastFailure),
		LastFailureNote:  row.LastFailureNote,
		Volunteer:        row.Volunteer,
		RecipientName:    row.RecipientName,
		PhotoID:          row.PhotoID,
		AllocatedBy:      row.AllocatedBy,
		AllocatedAt:      row.AllocatedAt.UTC(),
		AutoConfirmed:    row.AutoConfirmed,
	}
	if row.DonorChannel.Valid && row.DonorChatID.Valid {
		d.Donor = &campaign.Session{Channel: row.DonorChannel.String, ChatID: row.DonorChatID.String}
		d.DonorLanguage = row.DonorLanguage
	}
	if row.DeliveredAt.Valid {
		d.DeliveredAt = row.DeliveredAt.Time.UTC()
	}
	if row.ConfirmedAt.Valid {
		d.ConfirmedAt = row.ConfirmedAt.Time.UTC()
	}
	return d, nil
}
