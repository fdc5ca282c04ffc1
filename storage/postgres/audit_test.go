package postgres_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

func TestAuditLog(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	log := postgres.NewAuditLog(db)
	ctx := t.Context()

	at := campaignDay().Add(-time.Hour) // before the clock: entries come oldest first
	entries := []campaign.AuditEntry{
		{At: at, Actor: "telegram:42", Action: "registration.view", Subject: "TD-000007"},
		{Actor: "telegram:42", Action: "registration.verify", Subject: "TD-000007",
			Before: map[string]string{"status": "submitted"}, After: map[string]string{"status": "verified"}},
		{Actor: "system", Action: "summary.send", Subject: "daily"},
	}
	for _, e := range entries {
		if err := log.Audit(ctx, e); err != nil {
			t.Fatalf("Audit(%s): %v", e.Action, err)
		}
	}

	got, err := log.Entries(ctx, "TD-000007")
	if err != nil {
		t.Fatalf("Entries: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("%d entries, want 2", len(got))
	}

	t.Run("given time kept", func(t *testing.T) {
		if !got[0].At.Equal(at) || got[0].Before != nil || got[0].After != nil {
			t.Errorf("entry %+v", got[0])
		}
	})

	t.Run("zero time from the clock", func(t *testing.T) {
		if !got[1].At.After(campaignDay()) || got[1].Action != "registration.verify" {
			t.Errorf("entry %+v", got[1])
		}
	})

	t.Run("before and after as JSON", func(t *testing.T) {
		for _, f := range []struct {
			name string
			v    any
			want string
		}{{"before", got[1].Before, "submitted"}, {"after", got[1].After, "verified"}} {
			raw, ok := f.v.(json.RawMessage)
			if !ok {
				t.Fatalf("%s is %T", f.name, f.v)
			}
			var m map[string]string
			if err := json.Unmarshal(raw, &m); err != nil || m["status"] != f.want {
				t.Errorf("%s = %s (%v), want status %s", f.name, raw, err, f.want)
			}
		}
	})

	t.Run("actor and action required", func(t *testing.T) {
		err := log.Audit(ctx, campaign.AuditEntry{Subject: "x"})
		if code := campaign.ErrorCode(err); code != campaign.EINVALID {
			t.Errorf("Audit: %v (code %q), want %q", err, code, campaign.EINVALID)
		}
	})
}

// auditLog returns every row of audit_log as "id at actor action subject before after", in the
// order written, to show that nothing but appending ever changes it.
func auditLog(t testing.TB, db *postgres.DB) []string {
	t.Helper()
	var rows []string
	err := db.SQLX().Select(&rows, `
		SELECT concat_ws(' ', id, to_char(at, 'YYYY-MM-DD"T"HH24:MI:SS.US'), actor, action, subject,
			coalesce(before::text, '-'), coalesce(after::text, '-'))
		FROM audit_log ORDER BY id`)
	if err != nil {
		t.Fatalf("audit log: %v", err)
	}
	return rows
}

// The audit log cannot be rewritten: UPDATE, DELETE and TRUNCATE are refused on both of the
// bot's pools, even though the tests connect as a superuser that owns every table, and even a
// statement that would touch no row.
func TestAuditLog_AppendOnly(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	ctx := t.Context()
	log := postgres.NewAuditLog(db)
	for _, e := range []campaign.AuditEntry{
		{Actor: "telegram:8101", Action: "registration.verify", Subject: "TD-000001", After: map[string]string{"status": "verified"}},
		{Actor: campaign.FamilyActor, Action: "registration.answer", Subject: "TD-000001"},
	} {
		if err := log.Audit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	before := auditLog(t, db)
	for name, pool := range map[string]interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	}{"stores": db.SQLX(), "maintenance": db.MaintenanceSQLX()} {
		for _, q := range []string{
			`UPDATE audit_log SET actor = 'family' WHERE actor = 'telegram:8101'`,
			`UPDATE audit_log SET after = after - 'status'`,
			`UPDATE audit_log SET actor = actor WHERE false`,
			`DELETE FROM audit_log WHERE subject = 'TD-000001'`,
			`DELETE FROM audit_log WHERE false`,
			`TRUNCATE audit_log`,
		} {
			_, err := pool.ExecContext(ctx, q)
			if pqErr := pq.As(err, "42501"); pqErr == nil || !strings.Contains(pqErr.Message, "append-only") {
				t.Errorf("%s: %s = %v, want refused as append-only", name, q, err)
			}
		}
	}
	if after := auditLog(t, db); !slices.Equal(after, before) {
		t.Errorf("audit log changed:\n%q\nwant\n%q", after, before)
	}
	// Appending still works.
	if err := log.Audit(ctx, campaign.AuditEntry{Actor: "system", Action: "summary.send", Subject: "daily"}); err != nil {
		t.Errorf("Audit after the refusals: %v", err)
	}
}

// An entry that would carry a free text (under the keys such texts once had) is refused.
func TestAuditLog_RefusesFreeText(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	log := postgres.NewAuditLog(db)
	for _, e := range []campaign.AuditEntry{
		{Actor: "telegram:8101", Action: "registration.ask_info", Subject: "TD-000001", After: map[string]any{"status": "needs_info", "text": "Cháu học trường nào?"}},
		{Actor: "telegram:8101", Action: "data.find", After: map[string]string{"query": "+84903123456"}},
		{Actor: "telegram:7001", Action: "device.move", Subject: "TB-000001", Before: map[string]any{"note": "cho em An"}},
	} {
		if err := log.Audit(t.Context(), e); campaign.ErrorCode(err) != campaign.EINVALID {
			t.Errorf("Audit(%s %v %v) = %v, want EINVALID", e.Action, e.Before, e.After, err)
		}
	}
	if rows := auditLog(t, db); len(rows) != 0 {
		t.Errorf("written: %q", rows)
	}
}

// Nothing a family, a donor or an official types reaches the audit log, nor a family's or a
// donor's chat: a family registers, is asked a question and answers it, writes to officials,
// asks for a correction after verification, is told of a device a volunteer noted about it,
// chooses the hand-over, says it never came, confirms it at last; another family is refused for
// a reason in an official's words, a third withdraws from its chat; a donor pledges. The log
// keeps every step, by the family or the donor, with codes, states and counts.
func TestAuditLog_NothingPersonal(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	w := newFamilyWork(t)
	w.join(t, "8101", campaign.RoleWardOfficial, wardLinhTrung)
	const (
		question  = "Cháu học lớp mấy, nhà ở hẻm 45 phải không?"
		answer    = "Dạ lớp 4, hẻm 45 Lê Văn Chí, gọi 0903 123 456"
		message   = "Nhà tôi đã chuyển về hẻm 99"
		request   = "Xin sửa trường thành Trường Tiểu học Linh Đông"
		rejection = "Gia đình đã nhận máy của Công ty Ánh Dương cho bé Hoa"
		devNote   = "Để dành cho em Nguyễn Văn An"
		recipient = "Lê Văn Cường"
		missing   = "Tôi không nhận được, hỏi anh Cường 0903123456"
	)
	family := w.register(t, "Nguyễn Văn An", nil)
	if _, err := w.cases.Decide(ctx, campaign.Decision{Code: family.Code, Verdict: campaign.VerdictAskInfo, Text: question, Key: "q"}, wardOfficial, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.cases.AnswerInfo(ctx, family.Code, parentChat, campaign.Answer{Text: answer}, "a", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := w.cases.MessageOfficials(ctx, family.Code, parentChat, campaign.Answer{Text: message}, "m", nil); err != nil {
		t.Fatal(err)
	}
	w.decide(t, campaign.Decision{Code: family.Code, Verdict: campaign.VerdictApprove})
	if _, err := w.family.Correct(ctx, family.Code, parentChat, campaign.Correction{Field: campaign.CorrectSchool,
		Value: "Trường Tiểu học Linh Đông", Request: request}, "c", nil); err != nil {
		t.Fatal(err)
	}
	refused := w.register(t, "Lê Thị Hoa", func(r *campaign.Registration) { r.ChatID, r.UserID = "1002", "1002" })
	if _, err := w.cases.Decide(ctx, campaign.Decision{Code: refused.Code, Verdict: campaign.VerdictReject,
		Reason: campaign.RejectOther, Text: rejection, Key: "r"}, wardOfficial, nil); err != nil {
		t.Fatal(err)
	}
	withdrawn := w.register(t, "Phạm Minh Khôi", func(r *campaign.Registration) { r.ChatID, r.UserID = "1003", "1003" })
	if _, err := w.family.Withdraw(ctx, withdrawn.Code, campaign.Session{Channel: "telegram", ChatID: "1003"}, "telegram:1003", "w", nil); err != nil {
		t.Fatal(err)
	}

	device := intake(t, w.devices, campaign.Device{Type: campaign.DeviceTablet, State: campaign.DeviceReady, Checks: allChecksPassed(campaign.DeviceTablet)})
	for _, move := range []struct {
		to   campaign.DeviceState
		note string
	}{{campaign.DeviceChecking, devNote}, {campaign.DeviceReady, ""}} {
		if _, err := w.devices.MoveDevice(ctx, device.Label, move.to, volunteer, move.note, nil); err != nil {
			t.Fatal(err)
		}
	}
	d := w.allocate(t, campaign.Allocation{Code: family.Code, DeviceLabel: device.Label}, "al")
	if _, err := w.cases.SetHandover(ctx, d.Code, parentChat, campaign.HandoverSchool); err != nil {
		t.Fatal(err)
	}
	if _, err := w.cases.MarkDelivered(ctx, d.Code, recipient, "photo-1", "d1", volunteer, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := w.cases.ReportNotReceived(ctx, d.Code, parentChat, missing, "nr", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := w.cases.MarkDelivered(ctx, d.Code, recipient, "photo-2", "d2", volunteer, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.cases.ConfirmDelivery(ctx, d.Code, parentChat, nil); err != nil {
		t.Fatal(err)
	}
	pledge := submitPledge(t, w.pledges, validPledge("pledge"))

	rows := strings.Join(auditLog(t, w.db), "\n")
	for _, text := range []string{question, answer, message, request, rejection, devNote, recipient, missing,
		"hẻm 45", "0903", "+84903123456", "Nguyễn Văn An", "Trần Thị Bình",
		"telegram:1001", "telegram:1002", "telegram:1003", "telegram:" + pledge.ChatID} {
		if strings.Contains(rows, text) {
			t.Errorf("the audit log holds %q:\n%s", text, rows)
		}
	}
	// Every step is there, by whom it was done.
	for _, want := range []string{
		"family registration.create " + family.Code, "telegram:8101 registration.ask_info " + family.Code,
		"family registration.answer " + family.Code, "family registration.message " + family.Code,
		"family registration.correction_request " + family.Code, `telegram:8101 registration.reject ` + refused.Code,
		"family registration.withdraw " + withdrawn.Code, "telegram:7001 device.move " + device.Label,
		"family delivery.handover " + d.Code, "family delivery.not_received " + d.Code,
		"family delivery.confirmed " + d.Code, "donor pledge.create " + pledge.Code,
	} {
		if !strings.Contains(rows, " "+want+" ") {
			t.Errorf("the audit log lacks %q:\n%s", want, rows)
		}
	}
}

// Migration 00020 takes out of the rows written before it what the erasures used to: a
// family's or a donor's chat as actor, an official's question or reason, a volunteer's note, the
// words of a search. Staff stay named; a refusal keeps its actor.
func TestAuditLog_MigrationCleansEarlierRows(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := dbAtVersion(t, 19)
	// A registration from chat telegram:1001, written as the schema of then had it (the store's
	// submit needs the submit_registration of migration 00028), with its submit's audit row, by
	// the family already.
	var student int64
	if err := db.SQLX().Get(&student, `INSERT INTO students (campaign_id, full_name, name_key, birth_date, ward_code, created_at)
		VALUES ('thu-duc-2021', 'Nguyễn Văn An', 'nguyen van an', '2012-05-03', '26800', now()) RETURNING id`); err != nil {
		t.Fatal(err)
	}
	r := campaign.Registration{Code: "TD-000001"}
	if _, err := db.SQLX().Exec(`
		INSERT INTO registrations (campaign_id, code, status, channel, chat_id, user_id, parent_name, parent_phone,
			student_id, level, grade, school, ward_code, address, device_situation, needs, idempotency_key,
			consent_at, created_at, updated_at)
		VALUES ('thu-duc-2021', $1, 'submitted', 'telegram', '1001', '1001', 'Trần Thị Bình', '+84903123456',
			$2, 'primary', 4, 'Trường Tiểu học Linh Trung', '26800', '', 'shares_phone', '{tablet}', 'earlier',
			now(), now(), now())`, r.Code, student); err != nil {
		t.Fatal(err)
	}
	legacy := []struct{ actor, action, subject, before, after string }{
		{"family", "registration.create", r.Code, "", `{"code": "` + r.Code + `", "ward": "26800", "grade": 4, "level": "primary", "status": "submitted", "possible_duplicate": false}`},
		{"telegram:1001", "registration.create", r.Code, "", `{"code": "` + r.Code + `", "status": "submitted"}`},
		{"telegram:8101", "registration.ask_info", r.Code, `{"status": "submitted"}`, `{"status": "needs_info", "text": "Cháu ở hẻm 45?"}`},
		{"telegram:1001", "registration.answer", r.Code, `{"status": "needs_info"}`, `{"status": "submitted"}`},
		{"telegram:8101", "registration.reject", r.Code, "", `{"status": "rejected", "reason": "other", "text": "Đã nhận máy của trường"}`},
		{"telegram:1001", "registration.withdraw", r.Code, `{"status": "submitted"}`, `{"status": "withdrawn"}`},
		{"telegram:9701", "registration.withdraw", r.Code, `{"status": "submitted"}`, `{"status": "withdrawn"}`},
		{"telegram:1001", "delivery.confirmed", "GH-000001", `{"status": "delivered"}`, `{"status": "confirmed"}`},
		{"telegram:7001", "device.move", "TB-000001", `{"state": "ready"}`, `{"state": "checking", "note": "Để dành cho em An"}`},
		{"telegram:8001", "data.find", "", "", `{"query": "+8490****456"}`},
		{"telegram:3001", "pledge.create", "PL-000001", "", `{"code": "PL-000001", "donor_kind": "individual"}`},
		{"telegram:2002", "registration.erase", "TD-000009", "", `{"reason": "family_self", "status": "submitted"}`},
		{"telegram:9701", "registration.erase", "TD-000008", "", `{"reason": "family_request", "status": "submitted"}`},
		{"telegram:5004", "auth.refused", "staff.invite", "", `{"role": ""}`},
	}
	for _, l := range legacy {
		_, err := db.SQLX().Exec(`INSERT INTO audit_log (at, actor, action, subject, before, after)
			VALUES (now(), $1, $2, $3, nullif($4, '')::jsonb, nullif($5, '')::jsonb)`, l.actor, l.action, l.subject, l.before, l.after)
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := postgres.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := db.SQLX().Select(&got, `SELECT concat_ws(' ', actor, action, coalesce(before::text, '-'), coalesce(after::text, '-'))
		FROM audit_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		// The submit's own entry, by the family already.
		`family registration.create - {"code": "` + r.Code + `", "ward": "26800", "grade": 4, "level": "primary", "status": "submitted", "possible_duplicate": false}`,
		`family registration.create - {"code": "` + r.Code + `", "status": "submitted"}`,
		`telegram:8101 registration.ask_info {"status": "submitted"} {"status": "needs_info"}`,
		`family registration.answer {"status": "needs_info"} {"status": "submitted"}`,
		`telegram:8101 registration.reject - {"reason": "other", "status": "rejected"}`,
		`family registration.withdraw {"status": "submitted"} {"status": "withdrawn"}`,
		`telegram:9701 registration.withdraw {"status": "submitted"} {"status": "withdrawn"}`,
		`family delivery.confirmed {"status": "delivered"} {"status": "confirmed"}`,
		`telegram:7001 device.move {"state": "ready"} {"state": "checking"}`,
		`telegram:8001 data.find - {"kind": "unknown"}`,
		`donor pledge.create - {"code": "PL-000001", "donor_kind": "individual"}`,
		`family registration.erase - {"reason": "family_self", "status": "submitted"}`,
		`telegram:9701 registration.erase - {"reason": "family_request", "status": "submitted"}`,
		`telegram:5004 auth.refused - {"role": ""}`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("after migration 00020:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
