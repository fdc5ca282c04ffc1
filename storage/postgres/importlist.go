package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/thuduc/maytinhchoem/campaign"
)

// ListStore keeps the lists schools and wards send (issue 15) as registrations of source "list".
type ListStore struct {
	regs *RegistrationStore
}

var _ campaign.ListStore = (*ListStore)(nil)

// NewListStore returns a ListStore for campaign c over db.
func NewListStore(db *DB, c *campaign.Campaign) *ListStore {
	return &ListStore{regs: NewRegistrationStore(db, c)}
}

// reachable drops the messages that have nobody to reach: a registration from a list or made on
// a family's behalf has no chat until the family claims it, and what would tell the family is
// not queued (the outbox holds no message to nobody).
func reachable(msgs []campaign.OutboxMessage) []campaign.OutboxMessage {
	out := msgs[:0:0]
	for _, m := range msgs {
		if m.ChatID != "" && m.Channel != "" {
			out = append(out, m)
		}
	}
	return out
}

// ImportList stores l in one transaction: the list's record, its accepted rows as registrations
// (status submitted, source "list", no chat), one "registration.create" audit row per
// registration and one "list.import" row with the counts and each row's decision (row numbers,
// reason codes and registration codes, never a cell's words). A row whose child the campaign
// already has (same folded name, birth date and ward, from any source, an earlier list
// included) is not stored: it comes back in Duplicates with the existing codes. Imports of the
// campaign take turns on an advisory lock, so a resend racing its first send adds nothing.
//
// It does not store its rows through submit_registration, the function that stores a chat's and
// an assisted registration (RegistrationStore.submit): a list of 5,000 rows would be 5,000 runs
// of it, each with its own lock, look-ups and inserts, where the statements here do each step
// once for the whole list (BenchmarkImportList_5000 in flows). Its rules differ as well: a child
// the campaign has is reported, not stored again, and one lock on the campaign stands for the
// children's. What a registration stores, and its "registration.create" audit row, are
// therefore written in both places, and a change to one is made to the other.
func (s *ListStore) ImportList(ctx context.Context, l *campaign.ListImport) (campaign.ListResult, error) {
	var res campaign.ListResult
	if l == nil || l.Actor == "" || l.FileHash == "" {
		return res, campaign.Errorf(campaign.EINVALID, "a list needs its sender and its file's hash")
	}
	if len(l.Rows)+len(l.Refused) > campaign.ListRowsMax {
		return res, campaign.Errorf(campaign.EINVALID, "a list holds at most %d rows", campaign.ListRowsMax)
	}
	rows := make([]campaign.Registration, len(l.Rows))
	for i, r := range l.Rows {
		reg := normalizeRegistration(r.Registration)
		if err := s.validateRow(&reg); err != nil {
			return res, fmt.Errorf("row %d: %w", r.Row, err)
		}
		rows[i] = reg
	}
	seq, err := s.regs.codeSequence(ctx)
	if err != nil {
		return res, err
	}
	c, db := s.regs.c, s.regs.db
	now := db.now()
	err = db.tx(ctx, "import list", txOptions{}, func(tx *sqlx.Tx) error {
		res = campaign.ListResult{} // a retry starts afresh
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "list|"+c.ID); err != nil {
			return wrapErr(err, "postgres: import list: lock")
		}
		if err := tx.GetContext(ctx, &res.Again, `SELECT EXISTS (SELECT 1 FROM import_lists WHERE campaign_id = $1 AND file_hash = $2)`, c.ID, l.FileHash); err != nil {
			return wrapErr(err, "postgres: import list: earlier sends")
		}
		err = tx.QueryRowxContext(ctx, `
			INSERT INTO import_lists (campaign_id, code, sent_by, role, ward_code, school, file_hash,
			                          rows_read, accepted, duplicates, refused, created_at)
			VALUES ($1, format_code($2, nextval('import_list_code')), $3, $4, $5, $6, $7, $8, 0, 0, $9, $10)
			RETURNING id, code`,
			c.ID, campaign.ListPrefix, l.Actor, string(l.Sender.Role), l.Sender.WardCode, l.Sender.School,
			l.FileHash, l.RowsRead, len(l.Refused), now).Scan(&res.ListID, &res.Code)
		if err != nil {
			return wrapErr(err, "postgres: import list: record")
		}

		// The children the campaign already has, by the row's position in rows.
		n := len(rows)
		keys, births, wards := make(pq.StringArray, n), make(pq.StringArray, n), make(pq.StringArray, n)
		for i, r := range rows {
			keys[i], births[i], wards[i] = campaign.Fold(r.StudentName), r.BirthDate.Format(campaign.DateLayout), r.WardCode
		}
		existing := map[int][]campaign.ListExisting{}
		if n > 0 {
			var found []struct {
				Ord    int    `db:"ord"`
				Code   string `db:"code"`
				Ward   string `db:"ward_code"`
				School string `db:"school"`
				Source string `db:"source"`
			}
			err = tx.SelectContext(ctx, &found, `
				SELECT k.ord, r.code, r.ward_code, r.school, r.source
				FROM unnest($2::text[], $3::date[], $4::text[]) WITH ORDINALITY AS k(nk, bd, w, ord)
				JOIN students st ON st.campaign_id = $1 AND st.name_key = k.nk AND st.birth_date = k.bd
				                 AND st.ward_code = k.w
				JOIN registrations r ON r.student_id = st.id
				ORDER BY k.ord, r.id`, c.ID, keys, births, wards)
			if err != nil {
				return wrapErr(err, "postgres: import list: duplicates")
			}
			for _, f := range found {
				existing[f.Ord-1] = append(existing[f.Ord-1], campaign.ListExisting{
					Code: f.Code, WardCode: f.Ward, School: f.School, Source: campaign.Source(f.Source)})
			}
		}

		var (
			rowNos                                      []int64
			names, nameKeys, bds, wds, parents, phones  pq.StringArray
			levels, schools, addrs, circs, others, sits pq.StringArray
			needs                                       pq.StringArray
			grades                                      []int64
		)
		for i, r := range rows {
			if e := existing[i]; len(e) > 0 {
				res.Duplicates = append(res.Duplicates, campaign.ListDuplicate{Row: l.Rows[i].Row, Existing: e})
				continue
			}
			rowNos = append(rowNos, int64(l.Rows[i].Row))
			names, nameKeys, bds, wds = append(names, r.StudentName), append(nameKeys, keys[i]), append(bds, births[i]), append(wds, r.WardCode)
			parents, phones = append(parents, r.ParentName), append(phones, r.ParentPhone)
			levels, grades, schools, addrs = append(levels, string(r.Level)), append(grades, int64(r.Grade)), append(schools, r.School), append(addrs, r.Address)
			circs, others = append(circs, strings.Join(toStrings(r.Circumstances), ",")), append(others, r.CircumstanceOther)
			sits, needs = append(sits, string(r.DeviceSituation)), append(needs, strings.Join(toStrings(r.Needs), ","))
		}
		if len(rowNos) > 0 {
			// Rows of the same child in one list were refused before (duplicate_in_file), so a
			// (name, birth date, ward) here is new and names one student.
			var made []struct {
				Code string `db:"code"`
				Row  int    `db:"list_row"`
			}
			err = tx.SelectContext(ctx, &made, `
				WITH input AS (
					SELECT * FROM unnest($4::bigint[], $5::text[], $6::text[], $7::date[], $8::text[], $9::text[],
					                     $10::text[], $11::text[], $12::bigint[], $13::text[], $14::text[],
					                     $15::text[], $16::text[], $17::text[], $18::text[])
					     AS i(row_no, name, nk, bd, ward, parent, phone, level, grade, school, addr, circ, other, sit, need)
				), st AS (
					INSERT INTO students (campaign_id, full_name, name_key, birth_date, ward_code, created_at)
					SELECT $1, name, nk, bd, ward, $19 FROM input ORDER BY row_no
					RETURNING id, name_key, birth_date, ward_code
				), numbered AS (
					SELECT i.*, st.id AS student_id, format_code($2, nextval($3::regclass)) AS code
					FROM (SELECT * FROM input ORDER BY row_no) i
					JOIN st ON st.name_key = i.nk AND st.birth_date = i.bd AND st.ward_code = i.ward
				), reg AS (
					INSERT INTO registrations (
						campaign_id, code, status, channel, chat_id, user_id, language,
						parent_name, parent_phone, student_id, level, grade, school, ward_code, address,
						circumstances, circumstance_other, device_situation, needs,
						idempotency_key, possible_duplicate_of, consent_at, created_at, updated_at,
						source, list_id, list_row, registered_by)
					SELECT $1, code, 'submitted', '', '', '', 'vi',
						parent, phone, student_id, level, grade, school, ward, addr,
						string_to_array(circ, ','), other, sit, string_to_array(need, ','),
						'list:' || $20::bigint || ':' || row_no, '{}', $19, $19, $19,
						'list', $20::bigint, row_no, $21
					FROM numbered ORDER BY row_no
					RETURNING code, ward_code, level, grade, list_row
				), audited AS (
					INSERT INTO audit_log (at, actor, action, subject, before, after)
					SELECT $19, $21, 'registration.create', code, NULL,
						jsonb_build_object('code', code, 'ward', ward_code, 'level', level, 'grade', grade,
						                   'status', 'submitted', 'source', 'list', 'list', $22::text, 'row', list_row)
					FROM reg ORDER BY list_row
				)
				SELECT code, list_row FROM reg ORDER BY list_row`,
				c.ID, c.RegistrationPrefix, seq, pq.Array(rowNos), names, nameKeys, bds, wds, parents, phones,
				levels, pq.Array(grades), schools, addrs, circs, others, sits, needs, now, res.ListID, l.Actor, res.Code)
			if err != nil {
				return wrapErr(err, "postgres: import list: registrations")
			}
			for _, m := range made {
				res.Accepted = append(res.Accepted, campaign.ListAccepted{Row: m.Row, Code: m.Code})
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE import_lists SET accepted = $2, duplicates = $3 WHERE id = $1`,
			res.ListID, len(res.Accepted), len(res.Duplicates)); err != nil {
			return wrapErr(err, "postgres: import list: counts")
		}
		if err := insertAudit(ctx, tx, listAudit(now, l, res)); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	return res, nil
}

// listAudit is the "list.import" audit row: counts, and each refused or duplicate row's number
// with its reason code or the codes it matched.
func listAudit(now time.Time, l *campaign.ListImport, res campaign.ListResult) campaign.AuditEntry {
	refused := make(map[string]string, len(l.Refused))
	for _, r := range l.Refused {
		refused[strconv.Itoa(r.Row)] = r.Reason
	}
	dups := make(map[string][]string, len(res.Duplicates))
	for _, d := range res.Duplicates {
		for _, e := range d.Existing {
			dups[strconv.Itoa(d.Row)] = append(dups[strconv.Itoa(d.Row)], e.Code)
		}
	}
	after := map[string]any{
		"role": string(l.Sender.Role), "ward": l.Sender.WardCode, "rows": l.RowsRead,
		"accepted": len(res.Accepted), "duplicates": len(res.Duplicates), "refused": len(l.Refused),
		"again": res.Again, "refused_rows": refused, "duplicate_rows": dups,
	}
	return campaign.AuditEntry{At: now, Actor: l.Actor, Action: "list.import", Subject: res.Code, After: after}
}

// validateRow checks a normalised row as the registration store checks a chat's, but without a
// chat, and with the parent's name, phone and the address optional.
func (s *ListStore) validateRow(r *campaign.Registration) error {
	in := *r
	in.Channel, in.ChatID = "list", "list"
	if in.ParentName == "" {
		in.ParentName = "-"
	}
	if in.ParentPhone == "" {
		in.ParentPhone = "+84900000000"
	}
	if in.Address == "" {
		in.Address = "-"
	}
	if in.ConsentAt.IsZero() {
		in.ConsentAt = s.regs.db.now()
	}
	return s.regs.validate(&in)
}
