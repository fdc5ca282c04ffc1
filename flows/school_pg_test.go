package flows

import (
	"archive/zip"
	"context"
	"database/sql"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/chat"
	"github.com/thuduc/maytinhchoem/export"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	"github.com/thuduc/maytinhchoem/storage/postgres/postgrestest"
)

// schoolMember is a school's staff member (issue 15): Trường THCS Linh Trung, in Linh Trung.
var schoolMember = campaign.Staff{Channel: "telegram", ExternalID: "7001", Name: "Cô Hạnh", Role: campaign.RoleSchool,
	WardCode: wardLT, School: "Trường THCS Linh Trung"}

// schoolChat is a chat on real stores (registrations, search, case view, lists, exports) with two
// children registered by their parents on one phone: one of the school (its name written
// without "Trường"), one of another school; the school's member is the sender.
func schoolChat(t *testing.T, files bytesFiles) (c *convo, ours, theirs campaign.Registration, sqlDB *sql.DB) {
	t.Helper()
	dbURL := postgrestest.NewDatabaseURL(t)
	db, err := postgres.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := postgres.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	// A second connection reads the stored rows and the audit log as an auditor would.
	if sqlDB, err = sql.Open("postgres", dbURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sqlDB.Close() })
	now := time.Date(2021, 9, 15, 2, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	camp := campaign.Default()
	regs := postgres.NewRegistrationStore(db, camp)
	child := func(key, name string, birth time.Time, school string) campaign.Registration {
		r := campaign.Registration{Channel: "telegram", ChatID: "1001", UserID: "1001", Language: "vi", ParentName: "Lê Thị Hoa",
			ParentPhone: "+84912345678", StudentName: name, BirthDate: birth, Level: campaign.LevelLowerSecondary, Grade: 6,
			School: school, WardCode: wardLT, Address: "12 đường số 5", DeviceSituation: campaign.SituationNone,
			Needs: []campaign.Need{campaign.NeedLaptop}, IdempotencyKey: key, ConsentAt: now}
		if _, err := regs.SubmitRegistration(context.Background(), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	ours = child("chat-1", "Trần Minh Khang", time.Date(2010, 9, 5, 0, 0, 0, 0, time.UTC), "THCS Linh Trung")
	theirs = child("chat-2", "Lê Bảo Ngọc", time.Date(2010, 3, 7, 0, 0, 0, 0, time.UTC), "Trường THCS Bình Thọ")
	c = newChatWith(t, func(cfg *Config) {
		cfg.Find, cfg.Cases = postgres.NewFindStore(db, camp), postgres.NewCaseStore(db, camp)
		cfg.Lists, cfg.ListReader, cfg.Files = postgres.NewListStore(db, camp), export.ListReader{Dir: t.TempDir()}, files
		cfg.Exporter = export.New(postgres.NewExportSource(db, camp), export.Options{Dir: t.TempDir(), Location: camp.Location})
		cfg.Audit = postgres.NewAuditLog(db)
	})
	c.now = now
	c.staff.AddMember(schoolMember)
	c.become(schoolMember.ExternalID, "vi")
	return c, ours, theirs, sqlDB
}

// A school finds its own students by code and by phone; another school's child reads as a code
// that does not exist, and the refusal is audited.
func TestSchool_FindsOnlyItsOwnStudents(t *testing.T) {
	c, ours, theirs, db := schoolChat(t, nil)
	out := allText(c.send(cmd("find", ours.Code)))
	if !strings.Contains(out, "Trần Minh Khang") || !strings.Contains(out, "+84912345678") {
		t.Errorf("/find of its own student:\n%s", out)
	}
	other := c.send(cmd("find", theirs.Code))
	none := c.send(cmd("find", "TD-999999"))
	if allText(other) != strings.ReplaceAll(allText(none), "TD-999999", theirs.Code) || strings.Contains(allText(other), "Lê Bảo Ngọc") {
		t.Errorf("/find of another school's child:\n%s\nwant the reply for a code that does not exist:\n%s", allText(other), allText(none))
	}
	var refused int
	if err := db.QueryRow(`SELECT count(*) FROM audit_log WHERE action = 'auth.refused' AND subject = $1 AND actor = $2`,
		string(campaign.ActionViewChildData), "telegram:"+schoolMember.ExternalID).Scan(&refused); err != nil || refused != 1 {
		t.Errorf("refusals audited: %d, %v; want 1", refused, err)
	}
	byPhone := allText(c.send(cmd("find", "0912345678")))
	if !strings.Contains(byPhone, ours.Code) || strings.Contains(byPhone, theirs.Code) {
		t.Errorf("/find <phone> by the school:\n%s", byPhone)
	}
	// A forged button is a search like a typed one.
	if out := allText(c.send(press("f:" + theirs.Code))); strings.Contains(out, "Lê Bảo Ngọc") {
		t.Errorf("f:<another school's code>:\n%s", out)
	}
}

// A school's /help teaches what it may do; its list takes its own school whatever the file says,
// names the codes of duplicates of its own students only, and refuses a row without a ward (a
// school's ward is not its students'); its export holds its own students only.
func TestSchool_HelpImportAndExport(t *testing.T) {
	csv := "Họ và tên,Ngày sinh,Lớp,Trường,Phường,Nhu cầu,Số điện thoại\n" +
		"Trần Minh Khang,05/09/2010,6A,THCS Linh Trung,Linh Trung,laptop,\n" + // our student again
		"Lê Bảo Ngọc,07/03/2010,6B,THCS Bình Thọ,Linh Trung,laptop,\n" + // another school's child
		"Phạm Gia Huy,01/02/2010,6A,,,laptop,\n" + // no ward
		"Võ Thị Mai,03/04/2010,6C,THCS Bình Thọ,26800,máy tính bảng,0912000111\n" // taken as the school's
	c, ours, theirs, db := schoolChat(t, bytesFiles{"f1": []byte(csv)})

	help := allText(c.send(cmd("help")))
	for _, want := range []string{"«Trường học» – Trường THCS Linh Trung, Phường Linh Trung", "🏫 Bạn chỉ làm việc với học sinh của Trường THCS Linh Trung",
		"/import —", "/find —", "/export — tải dữ liệu của học sinh Trường THCS Linh Trung"} {
		if !strings.Contains(help, want) {
			t.Errorf("/help lacks %q:\n%s", want, help)
		}
	}
	for _, not := range []string{"/verify", "/summary", "/allocate"} {
		if strings.Contains(help, not) {
			t.Errorf("/help offers %s to a school:\n%s", not, help)
		}
	}

	report := allText(c.send(Input{Kind: KindOther, Document: &chat.Document{Name: "ds.csv", FileID: "f1"}}))
	for _, want := range []string{"✅ Đã nhận: 1", "🔁 Đã có trong hệ thống: 2", "❌ Cần sửa: 1", "Dòng 2: " + ours.Code,
		"Dòng 3: đã được đăng ký (ngoài phạm vi của bạn)", "thiếu phường"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if strings.Contains(report, theirs.Code) {
		t.Errorf("report names another school's code %s:\n%s", theirs.Code, report)
	}
	var school, key string
	if err := db.QueryRow(`SELECT r.school, r.school_key FROM registrations r JOIN students s ON s.id = r.student_id
		WHERE s.full_name = 'Võ Thị Mai'`).Scan(&school, &key); err != nil || school != schoolMember.School || key != "thcs linh trung" {
		t.Errorf("the list's child stored with school %q (key %q), %v; want the sender's", school, key, err)
	}

	out := c.send(cmd("export", "csv"))
	var file *File
	for _, o := range out {
		if o.File != nil {
			file = o.File
			if !strings.Contains(o.Text, "học sinh Trường THCS Linh Trung") || !strings.Contains(o.Text, "2 hồ sơ") {
				t.Errorf("export caption: %q", o.Text)
			}
		}
	}
	if file == nil {
		t.Fatalf("no export file:%s", dump(out))
	}
	zr, err := zip.OpenReader(file.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = zr.Close() }()
	var all strings.Builder
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		_ = rc.Close()
		all.Write(b)
	}
	text := all.String()
	if !strings.Contains(text, ours.Code) || !strings.Contains(text, "Võ Thị Mai") || strings.Contains(text, theirs.Code) || strings.Contains(text, "Lê Bảo Ngọc") {
		t.Errorf("the school's export (%q) holds:\n%s", names, text)
	}
	if !strings.Contains(text, "+84912345678") && !strings.Contains(text, "0912345678") {
		t.Errorf("the school's export masks its families' phones:\n%s", text)
	}
}
