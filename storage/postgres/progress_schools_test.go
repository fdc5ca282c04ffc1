package postgres_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// schoolCountersDiffer counts the (campaign, ward, school, source, status) whose counter in
// registration_school_counts (migration 00027) differs from a count of the registrations table.
func schoolCountersDiffer(t testing.TB, db *postgres.DB) int {
	t.Helper()
	var n int
	err := db.SQLX().Get(&n, `
		SELECT count(*) FROM (
			SELECT campaign_id, ward_code, school, source, status, count(*) AS n FROM registrations GROUP BY 1, 2, 3, 4, 5
		) r FULL JOIN (
			SELECT campaign_id, ward_code, school, source, status, sum(n) AS n FROM registration_school_counts
			GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0
		) c USING (campaign_id, ward_code, school, source, status)
		WHERE r.n IS DISTINCT FROM c.n`)
	if err != nil {
		t.Fatalf("compare the school counters: %v", err)
	}
	return n
}

// TestProgressStore_SchoolCountersFollowChurn: the counters by school and source follow what
// the stores do to registrations (chat submits, a list, assisted registrations, decisions from
// several connections at once, withdrawals, a family's corrections of the school, erasures, a
// claim, a move to another ward, a deletion, bulk updates), and the summary read from them is the
// one counted from the table, for the city and each ward.
func TestProgressStore_SchoolCountersFollowChurn(t *testing.T) {
	w := newClaimWork(t) // a list of three in Linh Trung, and a chat registration
	ctx := t.Context()
	families := postgres.NewFamilyStore(w.db, w.c)
	privacy := postgres.NewPrivacyStore(w.db, w.c)
	office := campaign.Staff{Channel: "telegram", ExternalID: "8150", Name: "Lâm Thị Phòng", Role: campaign.RoleEducationOffice}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := w.db.SQLX().ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	decide := func(code string, v campaign.Verdict) {
		t.Helper()
		d := campaign.Decision{Code: code, Verdict: v}
		if v == campaign.VerdictReject {
			d.Reason = campaign.RejectHasDevice
		}
		if _, err := w.cases.Decide(ctx, d, office, nil); err != nil {
			t.Fatalf("Decide(%+v): %v", d, err)
		}
	}

	// Chat registrations in three wards, one school written several ways.
	const misspelt, onlyOne = "THCS Linh Trugn", "Trường THCS Chỉ Một Em"
	schools := []string{"THCS Linh Trung", "Trường THCS Linh Trung", "trường thcs linh trung", "Tiểu học Bình Thọ", "THPT Thủ Đức"}
	wards := []string{wardLinhTrung, wardLinhXuan, "26803"}
	var chat []campaign.Registration
	for i := range 20 {
		chat = append(chat, w.register(t, fmt.Sprintf("Trịnh Văn %c", 'A'+i), func(r *campaign.Registration) {
			r.School, r.WardCode = schools[i%len(schools)], wards[i%len(wards)]
			switch i {
			case 11:
				r.School = misspelt // corrected below
			case 14:
				r.School = onlyOne // erased below
			}
			r.BirthDate = r.BirthDate.AddDate(0, 0, i)
		}))
	}
	// Assisted registrations, with and without the family's phone.
	var assisted []campaign.Registration
	for i := range 3 {
		r := assistedRegistration(fmt.Sprint("school-counts-assisted-", i))
		r.StudentName = fmt.Sprintf("Kiều Thị %c", 'A'+i)
		r.School, r.WardCode = schools[(i+1)%len(schools)], wards[i%len(wards)]
		if i == 0 {
			r.ParentPhone, r.BirthDate = "+84906000555", birthB
		}
		assisted = append(assisted, submit(t, w.regs, r))
	}
	// A second list, of another ward.
	sender := campaign.Staff{Channel: "telegram", ExternalID: "8150", Role: campaign.RoleEducationOffice}
	rows := []campaign.ListRow{
		listChild(2, "Ông Văn Một", "", "", "1 đường Một", birthA),
		listChild(3, "Ông Văn Hai", "", "", "2 đường Hai", birthB),
	}
	rows[0].Registration.School, rows[0].Registration.WardCode = "THPT Thủ Đức", wardLinhXuan
	rows[1].Registration.School, rows[1].Registration.WardCode = "Trường THPT Thủ Đức", wardLinhXuan
	list, err := postgres.NewListStore(w.db, w.c).ImportList(ctx, &campaign.ListImport{
		Sender: sender, Actor: "telegram:8150", FileHash: "school-counts", RowsRead: 2, Rows: rows})
	if err != nil || len(list.Accepted) != 2 {
		t.Fatalf("ImportList = %+v, %v", list, err)
	}
	if n := schoolCountersDiffer(t, w.db); n != 0 {
		t.Fatalf("after the submits and lists, %d counters differ from the table", n)
	}

	// Officials decide and correct from several connections at once, their transactions open
	// together.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			tx, err := w.db.SQLX().BeginTxx(ctx, nil)
			if err != nil {
				errs <- err
				return
			}
			defer func() { _ = tx.Rollback() }()
			status := []string{"verified", "rejected", "needs_info", "verified"}[i%4]
			if _, err := tx.ExecContext(ctx, `UPDATE registrations SET status = $2, school = school || ' ' WHERE id = $1`,
				chat[i].ID, status); err != nil {
				errs <- err
				return
			}
			time.Sleep(10 * time.Millisecond) // keep the transaction open while the others write
			errs <- tx.Commit()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent decisions: %v", err)
		}
	}

	// Decisions through the case store; an allocation and a delivery.
	decide(chat[8].Code, campaign.VerdictApprove)
	decide(chat[9].Code, campaign.VerdictApprove)
	decide(chat[10].Code, campaign.VerdictReject)
	decide(assisted[1].Code, campaign.VerdictApprove)
	decide(list.Accepted[0].Code, campaign.VerdictApprove)
	decide(w.list.Accepted[1].Code, campaign.VerdictReject)
	tablet := w.readyDevice(t, campaign.DeviceTablet, "")
	d := w.allocate(t, campaign.Allocation{Code: chat[8].Code, DeviceLabel: tablet.Label}, "school-counts-allocate")
	w.deliver(t, d.Code, "school-counts-deliver")

	// The family corrects the school (twice for one child: back and forth), withdraws two.
	correct := func(code, school, key string) {
		t.Helper()
		if _, err := families.Correct(ctx, code, parentChat, campaign.Correction{Field: campaign.CorrectSchool, Value: school}, key, nil); err != nil {
			t.Fatalf("Correct(%s, %q): %v", code, school, err)
		}
	}
	correct(chat[11].Code, "Trường THCS Linh Trung", "school-counts-c1") // was misspelt
	correct(chat[12].Code, "THPT Thủ Đức", "school-counts-c2")
	correct(chat[12].Code, "Trường Tiểu học Bình Thọ", "school-counts-c3")
	correct(chat[17].Code, "THCS Linh Trung", "school-counts-c4")
	for i, code := range []string{chat[13].Code, chat[9].Code} {
		if _, err := families.Withdraw(ctx, code, parentChat, "telegram:1001", fmt.Sprint("school-counts-w", i), nil); err != nil {
			t.Fatalf("Withdraw(%s): %v", code, err)
		}
	}

	// Erasures blank the school: a chat's, a list's row, an assisted one, a withdrawn one.
	for _, code := range []string{chat[14].Code, w.list.Accepted[2].Code, assisted[2].Code, chat[13].Code} {
		if _, err := privacy.EraseRegistration(ctx, code, "telegram:9001", campaign.ErasureFamilyRequest); err != nil {
			t.Fatalf("EraseRegistration(%s): %v", code, err)
		}
	}

	// The family claims the list's rows of its phone and the assisted registration of its own:
	// neither school, source nor status moves.
	w.claim(t, phoneTwo, birthA, family, "school-counts-k1")
	w.claim(t, "+84906000555", birthB, family, "school-counts-k2")

	// A registration moved to another ward, one deleted, statements that change nothing counted
	// or many rows at once.
	exec(`UPDATE registrations SET ward_code = '26803' WHERE id = $1`, chat[15].ID)
	exec(`DELETE FROM registrations WHERE id = $1`, chat[16].ID)
	exec(`UPDATE registrations SET updated_at = updated_at WHERE id % 2 = 0`)
	exec(`UPDATE registrations SET status = 'verified' WHERE status = 'needs_info'`)
	exec(`UPDATE registrations SET school = upper(school) WHERE ward_code = $1 AND status = 'submitted'`, wardLinhXuan)

	if n := schoolCountersDiffer(t, w.db); n != 0 {
		t.Errorf("after the churn, %d counters differ from the table", n)
	}
	s := postgres.NewProgressStore(w.db, w.c)
	var city campaign.Progress
	for _, ward := range append([]string{""}, wards...) {
		got := progress(t, s, progressNow, ward)
		sameProgress(t, got, counted(t, w.db, w.c, progressNow, ward))
		if ward == "" {
			city = got
		}
	}
	// The churn reached every kind of count, or the comparison proves little.
	r := city.Registrations
	if r.Total != 28 || r.BySource.List != 5 || r.BySource.Assisted != 3 || r.Withdrawn != 2 || r.Rejected < 2 || city.Delivered != 1 {
		t.Errorf("city %+v, delivered %d: want 28 (5 listed, 3 assisted, 2 withdrawn, rejected ones) and one delivered", r, city.Delivered)
	}
	var erased *campaign.SchoolCount
	for i := range city.Schools {
		if city.Schools[i].Key == "" {
			erased = &city.Schools[i]
		}
	}
	if erased == nil || erased.Total != 4 || erased.BySource != (campaign.SourceCounts{Chat: 2, List: 1, Assisted: 1}) {
		t.Errorf("registrations without a school = %+v, want the 4 erased (2 chat, 1 list, 1 assisted)", erased)
	}
	// A row counts the registrations of its stripe and is gone when none is left: no count is
	// zero or below, and no row names a school nobody writes any more (an erased family's, a
	// spelling the family corrected).
	var empty, gone int
	if err := w.db.SQLX().Get(&empty, `SELECT count(*) FROM registration_school_counts WHERE n <= 0`); err != nil || empty != 0 {
		t.Errorf("%d school counters at zero or below (%v)", empty, err)
	}
	if err := w.db.SQLX().Get(&gone, `SELECT count(*) FROM registration_school_counts WHERE school IN ($1, $2)`, misspelt, onlyOne); err != nil || gone != 0 {
		t.Errorf("%d school counters still name %q or %q (%v)", gone, misspelt, onlyOne, err)
	}

	// Truncating empties the counters too.
	exec(`TRUNCATE registrations CASCADE`)
	var left int
	if err := w.db.SQLX().Get(&left, `SELECT count(*) FROM registration_school_counts`); err != nil || left != 0 {
		t.Errorf("after TRUNCATE, %d school counters left (%v)", left, err)
	}
}

// Migration 00027 counts the registrations stored before it, and its triggers count the writes
// after it.
func TestSchoolCountsMigration_CountsEarlierRows(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := dbAtVersion(t, 26)
	for i, r := range []struct{ school, source, status, ward string }{
		{"THCS Linh Trung", "chat", "submitted", "26800"},
		{"THCS Linh Trung", "chat", "submitted", "26800"},
		{"Trường THCS Linh Trung", "chat", "verified", "26800"},
		{"THCS Linh Trung", "assisted", "submitted", "26800"},
		{"THPT Thủ Đức", "chat", "rejected", "26794"},
		{"", "chat", "withdrawn", "26794"},
	} {
		var student int64
		if err := db.SQLX().Get(&student, `INSERT INTO students (campaign_id, full_name, name_key, birth_date, ward_code, created_at)
			VALUES ('thu-duc-2021', 'Em ' || $1::text, 'em ' || $1::text, '2012-05-03', $2, now()) RETURNING id`, i, r.ward); err != nil {
			t.Fatal(err)
		}
		chat, by, erased := "1001", "", any(nil)
		if r.source == "assisted" {
			chat, by = "", "zalo:7213001"
		}
		if r.school == "" {
			erased = "2021-09-20"
		}
		if _, err := db.SQLX().Exec(`
			INSERT INTO registrations (campaign_id, code, status, channel, chat_id, parent_name, parent_phone,
				student_id, level, grade, school, ward_code, address, device_situation, needs, idempotency_key,
				consent_at, created_at, updated_at, erased_at, source, registered_by, consent_witness)
			VALUES ('thu-duc-2021', 'TD-00000' || $1::text, $2, CASE WHEN $3 = '' THEN '' ELSE 'telegram' END, $3,
				CASE WHEN $4::timestamptz IS NULL AND $3 <> '' THEN 'Phụ huynh' ELSE '' END,
				CASE WHEN $4::timestamptz IS NULL AND $3 <> '' THEN '+84900000001' ELSE '' END,
				$5, 'lower_secondary', 7, $6, $7, '', 'none', '{laptop}', 'key' || $1::text, now(), now(), now(), $4,
				$8, $9, $9)`,
			i+1, r.status, chat, erased, student, r.school, r.ward, r.source, by); err != nil {
			t.Fatal(err)
		}
	}
	if err := postgres.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	type count struct {
		Ward   string `db:"ward_code"`
		School string `db:"school"`
		Source string `db:"source"`
		Status string `db:"status"`
		N      int    `db:"n"`
	}
	var got []count
	if err := db.SQLX().Select(&got, `SELECT ward_code, school, source, status, sum(n) AS n FROM registration_school_counts
		GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`); err != nil {
		t.Fatal(err)
	}
	want := []count{
		{"26794", "", "chat", "withdrawn", 1},
		{"26794", "THPT Thủ Đức", "chat", "rejected", 1},
		{"26800", "THCS Linh Trung", "assisted", "submitted", 1},
		{"26800", "THCS Linh Trung", "chat", "submitted", 2},
		{"26800", "Trường THCS Linh Trung", "chat", "verified", 1},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("counters of the earlier rows:\n got %v\nwant %v", got, want)
	}
	// Later writes are counted by the triggers.
	if _, err := db.SQLX().Exec(`UPDATE registrations SET school = 'THCS Linh Trung', status = 'verified' WHERE code = 'TD-000001'`); err != nil {
		t.Fatal(err)
	}
	if n := schoolCountersDiffer(t, db); n != 0 {
		t.Errorf("after an update, %d counters differ from the table", n)
	}
}

// BenchmarkSubmit_SchoolCounters measures what the counters of migration 00027 cost a submit:
// the same submits with their triggers and without.
func BenchmarkSubmit_SchoolCounters(b *testing.B) {
	for _, bc := range []struct {
		name    string
		counted bool
	}{{"counted", true}, {"uncounted", false}} {
		b.Run(bc.name, func(b *testing.B) {
			db := newDB(b)
			if !bc.counted {
				for _, op := range []string{"insert", "update", "delete", "truncate"} {
					if _, err := db.SQLX().Exec(`DROP TRIGGER registrations_school_count_` + op + ` ON registrations`); err != nil {
						b.Fatal(err)
					}
				}
			}
			s := postgres.NewRegistrationStore(db, campaign.Default())
			i := 0
			for b.Loop() {
				r := validRegistration(fmt.Sprintf("bench-%d", i))
				r.StudentName = fmt.Sprintf("Nguyễn Văn %d", i)
				i++
				if _, err := s.SubmitRegistration(b.Context(), &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
