package flows

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/campaign/campaigntest"
	"github.com/thuduc/maytinhchoem/chat"
	"github.com/thuduc/maytinhchoem/export"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	"github.com/thuduc/maytinhchoem/storage/postgres/postgrestest"
)

// bytesFiles opens files kept in memory, as a channel's download would.
type bytesFiles map[string][]byte

func (f bytesFiles) OpenFile(_ context.Context, _, id string) (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(f[id])), nil
}

// schoolList writes a workbook of n children with a merged title above a header of two rows
// with merged cells, an extra column, dates as Excel serials and as text, and the bad rows the report must name.
func schoolList(t testing.TB, camp *campaign.Campaign, n int, chatChild []string) []byte {
	t.Helper()
	f := excelize.NewFile()
	sh := f.GetSheetName(0)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.SetCellValue(sh, "A1", "DANH SÁCH HỌC SINH CHƯA CÓ THIẾT BỊ HỌC TRỰC TUYẾN"))
	must(f.MergeCell(sh, "A1", "M1"))
	// A header on two rows, as schools write them: "Phụ huynh" merged over the parent's name
	// and phone, every other heading merged down over both rows.
	header := []any{"STT", "Họ và tên học sinh", "Ngày sinh", "Lớp", "Trường", "Phường", "Địa chỉ",
		"Phụ huynh", "", "Hoàn cảnh", "Tình trạng thiết bị", "Nhu cầu", "Ghi chú"}
	must(f.SetSheetRow(sh, "A2", &header))
	must(f.SetSheetRow(sh, "H3", &[]any{"Họ tên", "Số điện thoại"}))
	must(f.MergeCell(sh, "H2", "I2"))
	for _, col := range []string{"A", "B", "C", "D", "E", "F", "G", "J", "K", "L", "M"} {
		must(f.MergeCell(sh, col+"2", col+"3"))
	}
	family := []string{"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng"}
	middle := []string{"Văn", "Thị", "Minh", "Ngọc", "Thanh", "Quốc", "Gia", "Bảo", "Hoài", "Đức"}
	given := strings.Fields("An Bình Chi Dũng Giang Hà Hải Hùng Khang Khoa Lan Linh Long Mai Nam Nga Ngân Nhi Phong Phúc Quân Quang Sơn Tâm Thảo Thắng Thư Tiến Trang Trí Trung Tú Tuấn Uyên Vân Việt Vinh Xuân Yến Đạt Hiếu Hòa Kiên Lộc Mạnh Nhân Phương Tài Thịnh Toàn")
	ward := camp.Wards[0]
	for i := range n {
		r := i + 4
		name := fmt.Sprintf("%s %s %s", family[i%10], middle[(i/10)%10], given[(i/100)%50])
		birth := time.Date(2010, time.Month(1+i%12), 1+(i/12)%28, 0, 0, 0, 0, time.UTC)
		var date any = (birth.Sub(time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)).Hours() / 24)
		if i%2 == 1 {
			date = birth.Format("02/01/2006")
		}
		row := []any{i + 1, name, date, "6A", "Trường THCS Linh Trung", ward.Code, "12 đường số 5, KP3",
			"Trần Thị Mai", "0912345678", "hộ nghèo, covid", "dùng chung điện thoại", "laptop, sim 4g", "ghi chú"}
		switch i {
		case 10:
			row[2] = "31/02/2010" // no such day
		case 20:
			row[3] = "13" // no grade 13
		case 30:
			row[5] = "Phường Không Tồn Tại"
		case 40:
			row[1], row[2] = fmt.Sprintf("%s %s %s", family[0], middle[0], given[0]), "01/01/2010" // row 3's child again
		case 50:
			row[1], row[2], row[5] = chatChild[0], chatChild[1], chatChild[2]
		case 60:
			row[8] = "028 3896 1234" // a landline
		case 70:
			row[1] = ""
		}
		cell, _ := excelize.CoordinatesToCellName(1, r)
		must(f.SetSheetRow(sh, cell, &row))
	}
	var b bytes.Buffer
	must(f.Write(&b))
	return b.Bytes()
}

func TestImportList_SchoolListPostgres(t *testing.T) {
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
	sqlDB, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sqlDB.Close() })
	now := time.Date(2021, 9, 15, 2, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	camp := campaign.Default()
	regs := postgres.NewRegistrationStore(db, camp)
	ward := camp.Wards[0]
	parent := campaign.Registration{Channel: "telegram", ChatID: "1001", ParentName: "Lê Thị Hoa", ParentPhone: "+84912345678",
		StudentName: "Trần Minh Khang", BirthDate: time.Date(2010, 9, 5, 0, 0, 0, 0, time.UTC), Level: campaign.LevelLowerSecondary,
		Grade: 6, School: "THCS Linh Trung", WardCode: ward.Code, Address: "12 đường số 5", DeviceSituation: campaign.SituationNone,
		Needs: []campaign.Need{campaign.NeedLaptop}, IdempotencyKey: "chat-1", ConsentAt: now}
	if _, err := regs.SubmitRegistration(context.Background(), &parent); err != nil {
		t.Fatal(err)
	}
	const n = 5000
	files := bytesFiles{"f1": schoolList(t, camp, n, []string{"Trần Minh Khang", "05/09/2010", ward.Code})}
	c := newChatWith(t, func(cfg *Config) {
		cfg.Lists, cfg.ListReader, cfg.Files = postgres.NewListStore(db, camp), export.ListReader{Dir: t.TempDir()}, files
	})
	c.sess.ChatID, c.userID = testAdmin, testAdmin
	c.now = now
	doc := Input{Kind: KindOther, Document: &chat.Document{Name: "danh-sach.xlsx", FileID: "f1"}}
	start := time.Now()
	out := c.send(doc)
	t.Logf("%d rows imported in %v", n, time.Since(start))
	text := allText(out)
	// The report is exactly the one expected (testdata/import/school_list_5000.txt), and so is
	// the file of refused rows sent back to fix (read back as text, one line per row).
	golden(t, "testdata/import/school_list_5000.txt", strings.ReplaceAll(text, parent.Code, "<chat code>"))
	if len(out) != 2 || out[1].File == nil {
		t.Fatalf("want the report and the file of refused rows, got %d outputs", len(out))
	}
	golden(t, "testdata/import/school_list_5000_refused.txt", refusedRows(t, out[1].File.Path))
	count := func() int {
		n, err := regs.Count(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := count(); got != 4994 {
		t.Errorf("%d registrations, want 4993 from the list and 1 from a chat", got)
	}
	// The first child's row, read under the two-row header: the parent's name is the one under
	// "Phụ huynh", not the child's; the Excel serial is the birth date; source, list and row kept.
	var got struct {
		Student, Parent, Phone, Source, By string
		Birth                              time.Time
		Row                                int
	}
	if err := sqlDB.QueryRow(`SELECT s.full_name, r.parent_name, r.parent_phone, r.source, r.registered_by, s.birth_date, r.list_row
		FROM registrations r JOIN students s ON s.id = r.student_id WHERE r.list_row = 4`).Scan(&got.Student, &got.Parent, &got.Phone, &got.Source, &got.By, &got.Birth, &got.Row); err != nil {
		t.Fatal(err)
	}
	if got.Student != "Nguyễn Văn An" || got.Parent != "Trần Thị Mai" || got.Phone != "+84912345678" || got.Source != "list" ||
		got.By != "telegram:"+testAdmin || !got.Birth.Equal(time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("row 4 stored as %+v", got)
	}
	// Every row's decision is audited by code (accepted, duplicate, refused), never by its words.
	var created, refusedRows, dupRows int
	if err := sqlDB.QueryRow(`SELECT count(*) FROM audit_log WHERE action = 'registration.create' AND after->>'source' = 'list'`).Scan(&created); err != nil {
		t.Fatal(err)
	}
	if err := sqlDB.QueryRow(`SELECT (SELECT count(*) FROM jsonb_object_keys(after->'refused_rows')),
		(SELECT count(*) FROM jsonb_object_keys(after->'duplicate_rows'))
		FROM audit_log WHERE action = 'list.import' AND subject = 'DS-000001'`).Scan(&refusedRows, &dupRows); err != nil {
		t.Fatal(err)
	}
	if created != 4993 || refusedRows != 6 || dupRows != 1 {
		t.Errorf("audit: %d rows created, %d refused, %d duplicates; want 4993, 6, 1", created, refusedRows, dupRows)
	}
	// The same file again adds nothing.
	text = allText(c.send(doc))
	if !strings.Contains(text, "✅ Đã nhận: 0") || !strings.Contains(text, "🔁 Đã có trong hệ thống: 4994") || !strings.Contains(text, "đã được gửi trước đây") {
		t.Errorf("resend report:\n%s", text)
	}
	if got := count(); got != 4994 {
		t.Errorf("after the resend, %d registrations, want 4994", got)
	}
}

// golden compares got with the file at path, or rewrites it with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// refusedRows reads the workbook of refused rows back as text: one line per row, cells joined
// by " | ".
func refusedRows(t *testing.T, path string) string {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	rows, err := f.GetRows(f.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strings.Join(r, " | "))
		b.WriteByte('\n')
	}
	return b.String()
}

// BenchmarkImportList_5000 imports a 5,000-row school list (the 5,000-row test's file: a header
// on two rows, Excel serial and text dates, six bad rows; the chat child is not there, so its row is taken) into an empty, migrated database:
// reading the workbook streaming, checking each row as the chat form would, and storing the
// accepted rows with their audit in one transaction. It reports rows per second.
func BenchmarkImportList_5000(b *testing.B) {
	camp := campaign.Default()
	const n = 5000
	files := bytesFiles{"f1": schoolList(b, camp, n, []string{"Trần Minh Khang", "05/09/2010", camp.Wards[0].Code})}
	now := time.Date(2021, 9, 15, 2, 0, 0, 0, time.UTC)
	doc := Input{Kind: KindOther, UserID: testAdmin, Document: &chat.Document{Name: "danh-sach.xlsx", FileID: "f1"}}
	sess := Session{Channel: "telegram", ChatID: testAdmin}
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		db := postgrestest.NewDB(b)
		db.Now = func() time.Time { return now }
		e, err := NewEngine(Config{
			Campaign: camp, Registrations: campaigntest.NewRegistrations(func() time.Time { return now }),
			Now: func() time.Time { return now }, Admins: []string{testAdmin},
			Lists: postgres.NewListStore(db, camp), ListReader: export.ListReader{Dir: b.TempDir()}, Files: files,
		})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		_, out, err := e.Handle(context.Background(), sess, State{}, doc)
		elapsed += time.Since(start)
		if err != nil || len(out) != 2 || !strings.Contains(out[0].Text, "✅ Đã nhận: 4994") {
			b.Fatalf("import: %v, %d outputs: %s", err, len(out), allText(out))
		}
	}
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "rows/s")
}
