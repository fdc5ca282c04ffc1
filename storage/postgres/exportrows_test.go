package postgres_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/xuri/excelize/v2"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/export"
	"github.com/thuduc/maytinhchoem/export/exporttest"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	"github.com/thuduc/maytinhchoem/storage/postgres/postgrestest"
)

// The rows are seeded with plain SQL, so these tests depend on the schema alone, not on the stores
// that write it in the bot. Times are UTC; the campaign's clock is 7 hours ahead.

// exportUTC is a moment of September 2021, UTC.
func exportUTC(day, hour, minute int) time.Time {
	return time.Date(2021, 9, day, hour, minute, 0, 0, time.UTC)
}

// exportReg is a registration to seed; zero fields take the defaults of exportSeedRegistration.
type exportReg struct {
	code, status, ward, student, level string
	grade                              int
	birth                              time.Time
	phone                              string
	circumstances                      []string
	other                              string
	rejectCode, rejectText             string
	decidedBy                          string
	decidedAt                          *time.Time
	createdAt                          time.Time
}

// exportSeedRegistration inserts a registration and its student and returns the registration's id.
func exportSeedRegistration(t testing.TB, db *postgres.DB, c *campaign.Campaign, r exportReg) int64 {
	t.Helper()
	if r.level == "" {
		r.level, r.grade = "primary", 3
	}
	if r.birth.IsZero() {
		r.birth = time.Date(2012, 1, 2, 0, 0, 0, 0, time.UTC)
	}
	if r.phone == "" {
		r.phone = "+84903000000"
	}
	if r.circumstances == nil {
		r.circumstances = []string{"poor"}
	}
	var id int64
	err := db.SQLX().QueryRowx(`
		WITH s AS (
			INSERT INTO students (campaign_id, full_name, name_key, birth_date, ward_code, created_at)
			VALUES ($1, $3, $4, $5, $6, $15) RETURNING id)
		INSERT INTO registrations (campaign_id, code, status, reject_code, reject_reason, channel, chat_id,
			parent_name, parent_phone, student_id, level, grade, school, ward_code, address, circumstances,
			circumstance_other, device_situation, needs, idempotency_key, consent_at, created_at, updated_at,
			decided_by, decided_at)
		SELECT $1, $2, $7, $8, $9, 'telegram', '1001', 'Trần Thị Bình', $10, s.id, $11, $12,
			'Trường ' || $2::text, $6, '12 đường số 8, khu phố 3', $13, $14, 'shares_phone',
			'{tablet,sim_4g}', 'key-' || $2::text, $15, $15, $15, $16, $17
		FROM s RETURNING id`,
		c.ID, r.code, r.student, campaign.Fold(r.student), r.birth, r.ward, r.status, r.rejectCode,
		r.rejectText, r.phone, r.level, r.grade, pq.StringArray(r.circumstances), r.other, r.createdAt,
		r.decidedBy, r.decidedAt,
	).Scan(&id)
	if err != nil {
		t.Fatalf("seed registration %s: %v", r.code, err)
	}
	return id
}

// exportExec runs a seeding statement and returns the id it returns, if any.
func exportExec(t testing.TB, db *postgres.DB, q string, args ...any) int64 {
	t.Helper()
	var id int64
	if err := db.SQLX().QueryRowx(q+" RETURNING id", args...).Scan(&id); err != nil {
		t.Fatalf("seed: %v\n%s", err, q)
	}
	return id
}

// exportRun runs a seeding statement.
func exportRun(t testing.TB, db *postgres.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.SQLX().Exec(q, args...); err != nil {
		t.Fatalf("seed: %v\n%s", err, q)
	}
}

// exportFixture is a small campaign in three wards:
//
//	26800 Linh Trung: TD-000001 (delivered: laptop TB-000001 of pledge PL-000001, GH-000001
//	      confirmed after one failed attempt), TD-000002 (rejected); pledge PL-000001 brought to
//	      the ward office; TB-000005 (ready, of PL-000001)
//	26794 Linh Xuân:  TD-000003 (submitted), TD-000004 (allocated TB-000002 of PL-000001 and a
//	      USB Wi-Fi, GH-000002 pending)
//	26797 Bình Chiểu: TD-000005 (delivered a tablet TB-000003 bought with the money of the
//	      anonymous pledge PL-000002, GH-000003), TD-000006 (allocated an internet package alone,
//	      GH-000004)
//
// and, in no ward, PL-000002 (money, brought to the Front), PL-000003 (a pickup) and TB-000004 (a
// walk-in gift being checked).
func exportFixture(t testing.TB) (*postgres.DB, *campaign.Campaign) {
	t.Helper()
	db := postgrestest.NewDB(t)
	c := campaign.Default()

	// Staff, whose names the export writes instead of their chat ids.
	for i, s := range []struct{ id, name, role, ward string }{
		{"900", "Lê Văn Cường", "ward_official", "26800"},
		{"901", "Hồ Thị Em", "volunteer", ""},
	} {
		inv := exportExec(t, db, `
			INSERT INTO invitations (code_hash, role, ward_code, created_by, created_at, expires_at, used_at, used_by)
			VALUES (sha256($1::bytea), $2, nullif($3, ''), 'telegram:1', $4::timestamptz, $4::timestamptz + interval '1 day', $4::timestamptz, $5)`,
			[]byte(fmt.Sprint("invitation", i)), s.role, s.ward, exportUTC(10, 0, 0), "telegram:"+s.id)
		exportExec(t, db, `
			INSERT INTO staff (channel, external_id, name, role, ward_code, invitation_id, created_at, updated_at)
			VALUES ('telegram', $1, $2, $3, nullif($4, ''), $5, $6, $6)`,
			s.id, s.name, s.role, s.ward, inv, exportUTC(10, 0, 0))
	}

	decided := exportUTC(16, 3, 0)
	r1 := exportSeedRegistration(t, db, c, exportReg{code: "TD-000001", status: "delivered", ward: "26800",
		student: "Nguyễn Văn An", level: "lower_secondary", grade: 7, birth: time.Date(2010, 5, 3, 0, 0, 0, 0, time.UTC),
		phone: "+84903123456", circumstances: []string{"poor", "other"}, other: "Cha mất việc do dịch",
		decidedBy: "telegram:900", decidedAt: &decided, createdAt: exportUTC(15, 2, 5)})
	exportSeedRegistration(t, db, c, exportReg{code: "TD-000002", status: "rejected", ward: "26800",
		student: "Lý Thị Hai", rejectCode: "other", rejectText: "Gia đình đã chuyển đi",
		decidedBy: "telegram:900", decidedAt: &decided, createdAt: exportUTC(16, 4, 0)})
	exportSeedRegistration(t, db, c, exportReg{code: "TD-000003", status: "submitted", ward: "26794",
		student: "Đỗ Văn Ba", level: "upper_secondary", grade: 10, createdAt: exportUTC(17, 5, 0)})
	r4 := exportSeedRegistration(t, db, c, exportReg{code: "TD-000004", status: "allocated", ward: "26794",
		student: "Phan Thị Bốn", createdAt: exportUTC(18, 1, 0)})
	r5 := exportSeedRegistration(t, db, c, exportReg{code: "TD-000005", status: "delivered", ward: "26797",
		student: "Vũ Văn Năm", createdAt: exportUTC(19, 1, 0)})
	r6 := exportSeedRegistration(t, db, c, exportReg{code: "TD-000006", status: "allocated", ward: "26797",
		student: "Mai Thị Sáu", createdAt: exportUTC(19, 2, 0)})

	pledge := `INSERT INTO pledges (code, status, channel, chat_id, donor_kind, donor_name, contact_person,
			phone, delivery, ward_code, pickup_address, pickup_date, anonymous, idempotency_key, created_at, updated_at)
		VALUES ($1, $2, 'telegram', '2001', $3, $4, $5, $6, $7, $8, $9, $10, $11, 'key-' || $1::text, $12, $12)`
	item := `INSERT INTO pledge_items (pledge_id, position, kind, quantity, used, complete, months, amount)
		VALUES ($1, $2, $3, $4, $5, $6, 0, $7)`
	p1 := exportExec(t, db, pledge, "PL-000001", "partly", "business", "Công ty TNHH ABC", "Phạm Minh Đức",
		"+84912345678", "ward_office", "26800", "", nil, false, exportUTC(14, 23, 0))
	exportRun(t, db, item, p1, 1, "laptop", 3, true, true, 0)
	exportRun(t, db, item, p1, 2, "sim_4g", 500, false, false, 0)
	p2 := exportExec(t, db, pledge, "PL-000002", "received", "individual", "Trần Văn Bí Mật", "",
		"+84987654321", "front", "", "", nil, true, exportUTC(15, 3, 0))
	exportRun(t, db, item, p2, 1, "money", 0, false, false, 5_000_000)
	p3 := exportExec(t, db, pledge, "PL-000003", "pledged", "religious", "Chùa Phước Long", "Thích Minh Tâm",
		"+84911222333", "pickup", "", "5 Lê Văn Việt", time.Date(2021, 9, 18, 0, 0, 0, 0, time.UTC), false,
		exportUTC(16, 2, 0))
	exportRun(t, db, item, p3, 1, "tablet", 1, false, true, 0)
	money := exportExec(t, db, `INSERT INTO money (pledge_id, amount, spent, recorded_by, created_at)
		VALUES ($1, 3000000, 3000000, 'telegram:900', $2)`, p2, exportUTC(15, 4, 0))

	device := `INSERT INTO devices (label, type, state, pledge_id, money_id, brand, model, serial, used,
			software_level, checked_by, allocated_registration_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`
	d1 := exportExec(t, db, device, "TB-000001", "laptop", "delivered", p1, nil, "Dell", "Latitude E7450",
		"CN-0ABC", true, "lower_secondary", "telegram:901", r1, exportUTC(16, 1, 0), exportUTC(18, 9, 15))
	d2 := exportExec(t, db, device, "TB-000002", "laptop", "allocated", p1, nil, "HP", "ProBook 440", "",
		true, "primary", "telegram:901", r4, exportUTC(16, 2, 0), exportUTC(18, 2, 0))
	d3 := exportExec(t, db, device, "TB-000003", "tablet", "delivered", nil, money, "Samsung", "Galaxy Tab A7",
		"R52R1234", false, "primary", "telegram:901", r5, exportUTC(17, 1, 0), exportUTC(19, 3, 0))
	exportExec(t, db, device, "TB-000004", "smartphone", "checking", nil, nil, "Oppo", "A15", "", true, "",
		"telegram:777", nil, exportUTC(19, 4, 0), exportUTC(19, 4, 0))
	exportExec(t, db, device, "TB-000005", "laptop", "ready", p1, nil, "Lenovo", "ThinkPad T450", "", true,
		"primary", "telegram:901", nil, exportUTC(17, 2, 0), exportUTC(17, 2, 0))

	delivery := `INSERT INTO deliveries (code, status, registration_id, device_id, stock, handover, attempts,
			last_failure, last_failure_note, volunteer, recipient_name, photo_id, allocated_by, allocated_at,
			delivered_at, confirmed_at, auto_confirmed)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'telegram:900', $13, $14, $15, $16)`
	exportExec(t, db, delivery, "GH-000001", "confirmed", r1, d1, pq.StringArray{"sim_4g"}, "school", 1,
		"not_home", "gọi không nghe máy", "telegram:901", "Trần Thị Bình", "AgADBAAD", exportUTC(17, 2, 0),
		exportUTC(18, 9, 15), exportUTC(19, 1, 0), false)
	exportExec(t, db, delivery, "GH-000002", "pending", r4, d2, pq.StringArray{"usb_wifi"}, "home", 0,
		"", "", "", "", "", exportUTC(18, 2, 0), nil, nil, false)
	exportExec(t, db, delivery, "GH-000003", "delivered", r5, d3, pq.StringArray{}, "home", 0,
		"", "", "telegram:777", "Vũ Văn Cha", "", exportUTC(18, 3, 0), exportUTC(19, 3, 0), nil, false)
	exportExec(t, db, delivery, "GH-000004", "pending", r6, nil, pq.StringArray{"internet_package"}, "home", 0,
		"", "", "", "", "", exportUTC(19, 5, 0), nil, nil, false)
	return db, c
}

// exportWorkbook exports the fixture's rows that f chooses to XLSX and opens the workbook.
func exportWorkbook(t *testing.T, db *postgres.DB, c *campaign.Campaign, f campaign.ExportFilter) (campaign.ExportFile, *excelize.File) {
	t.Helper()
	e := export.New(postgres.NewExportSource(db, c), export.Options{
		Dir: t.TempDir(), Location: c.Location, Now: func() time.Time { return exportUTC(20, 10, 30) },
	})
	file, err := e.Export(t.Context(), f, campaign.FormatXLSX)
	if err != nil {
		t.Fatalf("Export(%+v): %v", f, err)
	}
	// A read-only reader, which trusts each sheet's <dimension>, reads every row.
	book, err := exporttest.Read(file.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := book.Check(); err != nil {
		t.Error(err)
	}
	wb, err := excelize.OpenFile(file.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = wb.Close() })
	return file, wb
}

// exportSheet reads a sheet as rows keyed by header, as Excel shows the cells.
func exportSheet(t *testing.T, wb *excelize.File, sheet string) []map[string]string {
	t.Helper()
	rows, err := wb.GetRows(sheet)
	if err != nil {
		t.Fatalf("sheet %s: %v", sheet, err)
	}
	if len(rows) == 0 {
		t.Fatalf("sheet %s has no header", sheet)
	}
	var out []map[string]string
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			if i < len(r) {
				m[h] = r[i]
			} else {
				m[h] = ""
			}
		}
		out = append(out, m)
	}
	return out
}

// exportFirstColumn returns the first column of each row of a sheet: the records' codes.
func exportFirstColumn(t *testing.T, wb *excelize.File, sheet string) []string {
	t.Helper()
	rows, err := wb.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, r := range rows[1:] {
		codes = append(codes, r[0])
	}
	return codes
}

// exportRow returns the row of a sheet whose first column is code.
func exportRow(t *testing.T, rows []map[string]string, header, code string) map[string]string {
	t.Helper()
	for _, r := range rows {
		if r[header] == code {
			return r
		}
	}
	t.Fatalf("no row %s", code)
	return nil
}

// exportCheck compares the cells of a row with want.
func exportCheck(t *testing.T, what string, row, want map[string]string) {
	t.Helper()
	for _, h := range slices.Sorted(maps.Keys(want)) {
		got, ok := row[h]
		if !ok {
			t.Errorf("%s: no column %q", what, h)
			continue
		}
		if got != want[h] {
			t.Errorf("%s %s = %q, want %q", what, h, got, want[h])
		}
	}
}

func TestExportSource_AllSheets(t *testing.T) {
	db, c := exportFixture(t)
	file, wb := exportWorkbook(t, db, c, campaign.ExportFilter{ShowPhones: true})

	want := map[campaign.ExportSheet]int{campaign.SheetRegistrations: 6, campaign.SheetPledges: 3, campaign.SheetDevices: 5, campaign.SheetDeliveries: 4,
		campaign.SheetSchools: 6}
	if !maps.Equal(file.Rows, want) {
		t.Errorf("Rows = %v, want %v", file.Rows, want)
	}
	if got, want := wb.GetSheetList(), []string{"Đăng ký", "Ủng hộ", "Thiết bị", "Bàn giao", "Theo trường"}; !slices.Equal(got, want) {
		t.Fatalf("sheets = %q, want %q", got, want)
	}
	if got := exportFirstColumn(t, wb, "Đăng ký"); !slices.Equal(got, []string{"TD-000001", "TD-000002", "TD-000003", "TD-000004", "TD-000005", "TD-000006"}) {
		t.Errorf("registrations = %q, want all six in the order they came", got)
	}

	regs := exportSheet(t, wb, "Đăng ký")
	exportCheck(t, "TD-000001", exportRow(t, regs, "Mã hồ sơ", "TD-000001"), map[string]string{
		"Trạng thái":             "đã trao thiết bị",
		"Lý do không duyệt":      "",
		"Mã phường":              "26800",
		"Phường":                 "Phường Linh Trung",
		"Họ tên học sinh":        "Nguyễn Văn An",
		"Ngày sinh":              "03/05/2010",
		"Cấp học":                "THCS",
		"Lớp":                    "7",
		"Trường":                 "Trường TD-000001",
		"Họ tên phụ huynh":       "Trần Thị Bình",
		"Điện thoại phụ huynh":   "+84903123456",
		"Hoàn cảnh":              "Hộ nghèo, Khác: Cha mất việc do dịch",
		"Thiết bị hiện có":       "Dùng chung điện thoại của cha mẹ",
		"Cần hỗ trợ":             "Máy tính bảng, SIM 4G",
		"Có thể trùng với hồ sơ": "",
		"Thời điểm đăng ký":      "15/09/2021 09:05",
		"Người xác minh":         "Lê Văn Cường (Cán bộ phường)",
		"Thời điểm xác minh":     "16/09/2021 10:00",
	})
	exportCheck(t, "TD-000002", exportRow(t, regs, "Mã hồ sơ", "TD-000002"), map[string]string{
		"Trạng thái":        "không được duyệt",
		"Lý do không duyệt": "Lý do khác: Gia đình đã chuyển đi",
		"Cấp học":           "Tiểu học",
	})
	exportCheck(t, "TD-000003", exportRow(t, regs, "Mã hồ sơ", "TD-000003"), map[string]string{
		"Trạng thái":         "chờ xác minh",
		"Phường":             "Phường Linh Xuân",
		"Cấp học":            "THPT",
		"Người xác minh":     "",
		"Thời điểm xác minh": "",
	})

	pledges := exportSheet(t, wb, "Ủng hộ")
	exportCheck(t, "PL-000001", exportRow(t, pledges, "Mã phiếu", "PL-000001"), map[string]string{
		"Trạng thái":          "đã nhận một phần",
		"Loại nhà hảo tâm":    "Doanh nghiệp",
		"Nhà hảo tâm":         "Công ty TNHH ABC",
		"Người liên hệ":       "Phạm Minh Đức",
		"Điện thoại":          "+84912345678",
		"Nội dung ủng hộ":     "3 laptop (đã qua sử dụng); 500 SIM 4G",
		"Tiền hứa ủng hộ (đ)": "",
		"Cách gửi":            "Mang đến UBND phường",
		"Phường":              "Phường Linh Trung",
		"Ẩn danh":             "không",
		"Thời điểm ghi nhận":  "15/09/2021 06:00",
	})
	exportCheck(t, "PL-000002", exportRow(t, pledges, "Mã phiếu", "PL-000002"), map[string]string{
		"Nhà hảo tâm":         "Ẩn danh", // the donor asked not to be named: nothing says who they are
		"Điện thoại":          "",
		"Nội dung ủng hộ":     "5.000.000 đ",
		"Tiền hứa ủng hộ (đ)": "5,000,000", // excelize shows #,##0 in its own (English) locale
		"Tiền đã nhận (đ)":    "3,000,000",
		"Cách gửi":            "Mang đến Ủy ban MTTQ",
		"Ẩn danh":             "có",
	})
	exportCheck(t, "PL-000003", exportRow(t, pledges, "Mã phiếu", "PL-000003"), map[string]string{
		"Loại nhà hảo tâm": "Cơ sở tôn giáo",
		"Cách gửi":         "Nhờ đến nhận tại địa chỉ",
		"Địa chỉ đến nhận": "5 Lê Văn Việt",
		"Ngày đến nhận":    "18/09/2021",
		"Phường":           "",
	})
	// Amounts are numbers, for officials to add up.
	if v, _ := wb.GetCellValue("Ủng hộ", "H3", excelize.Options{RawCellValue: true}); v != "5000000" {
		t.Errorf("money pledged by PL-000002 (H3) raw = %q, want 5000000", v)
	}

	devices := exportSheet(t, wb, "Thiết bị")
	for label, want := range map[string]map[string]string{
		"TB-000001": {"Loại thiết bị": "Laptop", "Tình trạng": "đã trao", "Hãng": "Dell", "Mẫu máy": "Latitude E7450",
			"Số serial/IMEI": "CN-0ABC", "Mới/cũ": "đã qua sử dụng", "Nguồn": "PL-000001", "Phần mềm học tập": "THCS",
			"Người kiểm tra": "Hồ Thị Em (Tình nguyện viên Đoàn)", "Phân bổ cho hồ sơ": "TD-000001", "Mã phường": "26800",
			"Thời điểm nhập": "16/09/2021 08:00", "Cập nhật lần cuối": "18/09/2021 16:15"},
		"TB-000002": {"Phân bổ cho hồ sơ": "TD-000004", "Mã phường": "26794", "Phường": "Phường Linh Xuân"},
		"TB-000003": {"Loại thiết bị": "Máy tính bảng", "Mới/cũ": "mới", "Nguồn": "mua bằng tiền ủng hộ (PL-000002)",
			"Mã phường": "26797"},
		"TB-000004": {"Loại thiết bị": "Điện thoại thông minh", "Tình trạng": "đang kiểm tra", "Nguồn": "tặng trực tiếp",
			"Phần mềm học tập": "chưa cài", "Người kiểm tra": "telegram:777", "Mã phường": "", "Phân bổ cho hồ sơ": ""},
		"TB-000005": {"Tình trạng": "sẵn sàng", "Mã phường": "26800", "Phân bổ cho hồ sơ": ""},
	} {
		exportCheck(t, label, exportRow(t, devices, "Mã thiết bị", label), want)
	}

	deliveries := exportSheet(t, wb, "Bàn giao")
	exportCheck(t, "GH-000001", exportRow(t, deliveries, "Mã bàn giao", "GH-000001"), map[string]string{
		"Trạng thái":                    "gia đình đã xác nhận",
		"Mã hồ sơ":                      "TD-000001",
		"Họ tên học sinh":               "Nguyễn Văn An",
		"Cấp học":                       "THCS",
		"Lớp":                           "7",
		"Phường":                        "Phường Linh Trung",
		"Nơi bàn giao":                  "Tại trường",
		"Mã thiết bị":                   "TB-000001",
		"Loại thiết bị":                 "Laptop",
		"Kết nối kèm theo":              "SIM 4G",
		"Nguồn thiết bị":                "PL-000001",
		"Nhà hảo tâm":                   "Công ty TNHH ABC",
		"Người phân bổ":                 "Lê Văn Cường (Cán bộ phường)",
		"Thời điểm phân bổ":             "17/09/2021 09:00",
		"Số lần giao không thành":       "1",
		"Lần giao không thành gần nhất": "Gia đình vắng nhà: gọi không nghe máy",
		"Tình nguyện viên":              "Hồ Thị Em (Tình nguyện viên Đoàn)",
		"Người nhận":                    "Trần Thị Bình",
		"Ảnh bàn giao":                  "có",
		"Thời điểm trao":                "18/09/2021 16:15",
		"Thời điểm xác nhận":            "19/09/2021 08:00",
		"Tự động xác nhận":              "không",
	})
	exportCheck(t, "GH-000002", exportRow(t, deliveries, "Mã bàn giao", "GH-000002"), map[string]string{
		"Trạng thái":       "chờ trao",
		"Nơi bàn giao":     "Tại nhà",
		"Mã thiết bị":      "TB-000002",
		"Kết nối kèm theo": "USB Wi-Fi",
		"Thời điểm trao":   "",
		"Ảnh bàn giao":     "không",
	})
	exportCheck(t, "GH-000003", exportRow(t, deliveries, "Mã bàn giao", "GH-000003"), map[string]string{
		"Trạng thái":       "đã trao",
		"Nguồn thiết bị":   "mua bằng tiền ủng hộ (PL-000002)",
		"Nhà hảo tâm":      "Ẩn danh", // the money's donor asked not to be named
		"Tình nguyện viên": "telegram:777",
		"Kết nối kèm theo": "",
	})
	exportCheck(t, "GH-000004", exportRow(t, deliveries, "Mã bàn giao", "GH-000004"), map[string]string{
		"Mã thiết bị":      "",
		"Loại thiết bị":    "",
		"Nguồn thiết bị":   "",
		"Nhà hảo tâm":      "",
		"Kết nối kèm theo": "Gói cước Internet",
	})
}

func TestExportSource_WardFilter(t *testing.T) {
	db, c := exportFixture(t)
	for _, tc := range []struct {
		ward                                     string
		regs, pledges, devices, deliveries, name []string
	}{
		{ward: "26800",
			regs: []string{"TD-000001", "TD-000002"}, pledges: []string{"PL-000001"},
			// TB-000002 came from the ward's office but went to a child of Linh Xuân.
			devices: []string{"TB-000001", "TB-000005"}, deliveries: []string{"GH-000001"}},
		{ward: "26794",
			regs: []string{"TD-000003", "TD-000004"}, devices: []string{"TB-000002"}, deliveries: []string{"GH-000002"}},
		{ward: "26797",
			regs: []string{"TD-000005", "TD-000006"}, devices: []string{"TB-000003"}, deliveries: []string{"GH-000003", "GH-000004"}},
		{ward: "27118"}, // Thủ Thiêm, with nothing
	} {
		t.Run(tc.ward, func(t *testing.T) {
			file, wb := exportWorkbook(t, db, c, campaign.ExportFilter{WardCode: tc.ward})
			if want := "maytinhchoem-" + tc.ward + "-20210920-1730.xlsx"; file.Name != want {
				t.Errorf("Name = %q, want %q", file.Name, want)
			}
			for sheet, want := range map[string][]string{"Đăng ký": tc.regs, "Ủng hộ": tc.pledges, "Thiết bị": tc.devices, "Bàn giao": tc.deliveries} {
				if got := exportFirstColumn(t, wb, sheet); !slices.Equal(got, want) {
					t.Errorf("%s = %q, want %q", sheet, got, want)
				}
			}
			// A ward official's export masks phones unless the caller lets them show.
			for _, r := range exportSheet(t, wb, "Đăng ký") {
				if p := r["Điện thoại phụ huynh"]; p != "+8490****000" && p != "+8490****456" {
					t.Errorf("%s phone = %q, want it masked", r["Mã hồ sơ"], p)
				}
			}
		})
	}
}

func TestExportSource_StatusFilter(t *testing.T) {
	db, c := exportFixture(t)
	file, wb := exportWorkbook(t, db, c, campaign.ExportFilter{Status: campaign.StatusDelivered})
	if got := exportFirstColumn(t, wb, "Đăng ký"); !slices.Equal(got, []string{"TD-000001", "TD-000005"}) {
		t.Errorf("registrations = %q, want the delivered ones", got)
	}
	if got := exportFirstColumn(t, wb, "Bàn giao"); !slices.Equal(got, []string{"GH-000001", "GH-000003"}) {
		t.Errorf("deliveries = %q, want those of delivered registrations", got)
	}
	// Pledges and devices have no registration status: all of them.
	if file.Rows[campaign.SheetPledges] != 3 || file.Rows[campaign.SheetDevices] != 5 {
		t.Errorf("Rows = %v, want every pledge and device", file.Rows)
	}
}

func TestExportSource_PeriodFilter(t *testing.T) {
	db, c := exportFixture(t)
	// 16 and 17 September in the campaign's clock: 15/09 17:00 to 17/09 17:00 UTC.
	from := time.Date(2021, 9, 16, 0, 0, 0, 0, c.Location)
	_, wb := exportWorkbook(t, db, c, campaign.ExportFilter{From: from, To: from.AddDate(0, 0, 2)})
	for sheet, want := range map[string][]string{
		"Đăng ký":  {"TD-000002", "TD-000003"},
		"Ủng hộ":   {"PL-000003"},
		"Thiết bị": {"TB-000001", "TB-000002", "TB-000003", "TB-000005"},
		// by allocation time: GH-000002 was allocated on 18/09 at 09:00
		"Bàn giao": {"GH-000001"},
	} {
		if got := exportFirstColumn(t, wb, sheet); !slices.Equal(got, want) {
			t.Errorf("%s = %q, want %q", sheet, got, want)
		}
	}
}

func TestExportSource_CSV(t *testing.T) {
	db, c := exportFixture(t)
	e := export.New(postgres.NewExportSource(db, c), export.Options{Dir: t.TempDir(), Location: c.Location})
	file, err := e.Export(t.Context(), campaign.ExportFilter{WardCode: "26797"}, campaign.FormatCSV)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(file.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	rc, err := zr.File[3].Open()
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if zr.File[3].Name != "ban-giao.csv" || len(recs) != 3 || recs[1][0] != "GH-000003" || recs[2][0] != "GH-000004" {
		t.Errorf("%s = %q, want the header and GH-000003, GH-000004", zr.File[3].Name, recs)
	}
}

// TestExportSource_ScopeOfEveryRole exports the fixture as each role would (campaign.ScopeExport)
// and reads the workbook back as a read-only reader does: only the sheets the role may see, a
// ward official's of their ward alone, and the anonymous donor of PL-000002 named in none.
func TestExportSource_ScopeOfEveryRole(t *testing.T) {
	db, c := exportFixture(t)
	secrets := []string{"Trần Văn Bí Mật", "+84987654321", campaign.MaskPhone("+84987654321")}
	for _, tc := range []struct {
		name   string
		who    campaign.Staff
		sheets []string // nil: refused
		rows   map[string]int
	}{
		{"admin", campaign.Staff{Role: campaign.RoleAdmin},
			[]string{"Đăng ký", "Ủng hộ", "Thiết bị", "Bàn giao", "Theo trường"},
			map[string]int{"Đăng ký": 6, "Ủng hộ": 3, "Thiết bị": 5, "Bàn giao": 4, "Theo trường": 6}},
		{"city official", campaign.Staff{Role: campaign.RoleCityOfficial},
			[]string{"Đăng ký", "Ủng hộ", "Thiết bị", "Bàn giao", "Theo trường"},
			map[string]int{"Đăng ký": 6, "Ủng hộ": 3, "Thiết bị": 5, "Bàn giao": 4, "Theo trường": 6}},
		{"education office", campaign.Staff{Role: campaign.RoleEducationOffice},
			[]string{"Đăng ký", "Thiết bị", "Bàn giao", "Theo trường"},
			map[string]int{"Đăng ký": 6, "Thiết bị": 5, "Bàn giao": 4, "Theo trường": 6}},
		{"ward official", campaign.Staff{Role: campaign.RoleWardOfficial, WardCode: "26800"},
			[]string{"Đăng ký", "Bàn giao", "Theo trường"},
			map[string]int{"Đăng ký": 2, "Bàn giao": 1, "Theo trường": 2}},
		{"volunteer", campaign.Staff{Role: campaign.RoleVolunteer}, nil, nil},
		{"women's union", campaign.Staff{Role: campaign.RoleWomensUnion, WardCode: "26800"}, nil, nil},
		{"culture office", campaign.Staff{Role: campaign.RoleCultureInfo}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Each asks for the whole city: a ward official still gets their ward alone.
			f, err := campaign.ScopeExport(tc.who, campaign.ExportFilter{})
			if tc.sheets == nil {
				if campaign.ErrorCode(err) != campaign.EUNAUTHORIZED {
					t.Fatalf("ScopeExport = %+v, %v; want EUNAUTHORIZED", f, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, format := range []campaign.ExportFormat{campaign.FormatXLSX, campaign.FormatCSV} {
				e := export.New(postgres.NewExportSource(db, c), export.Options{Dir: t.TempDir(), Location: c.Location})
				file, err := e.Export(t.Context(), f, format)
				if err != nil {
					t.Fatal(err)
				}
				if len(file.Rows) != len(tc.sheets) {
					t.Errorf("%s: Rows = %v, want %d sheets", format, file.Rows, len(tc.sheets))
				}
				texts := map[string]string{}
				if format == campaign.FormatXLSX {
					wb, err := exporttest.Read(file.Path)
					if err != nil {
						t.Fatal(err)
					}
					if err := wb.Check(); err != nil {
						t.Error(err)
					}
					if got := wb.Names(); !slices.Equal(got, tc.sheets) {
						t.Fatalf("sheets = %q, want %q", got, tc.sheets)
					}
					for _, s := range wb.Sheets {
						if n := len(s.Records()); n != tc.rows[s.Name] {
							t.Errorf("%s has %d rows, want %d", s.Name, n, tc.rows[s.Name])
						}
						texts[s.Name] = s.Text()
					}
				} else {
					zr, err := zip.OpenReader(file.Path)
					if err != nil {
						t.Fatal(err)
					}
					var names []string
					for _, zf := range zr.File {
						rc, err := zf.Open()
						if err != nil {
							t.Fatal(err)
						}
						b, err := io.ReadAll(rc)
						rc.Close()
						if err != nil {
							t.Fatal(err)
						}
						names = append(names, zf.Name)
						texts[zf.Name] = string(b)
					}
					zr.Close()
					if len(names) != len(tc.sheets) {
						t.Errorf("csv files = %q, want %d", names, len(tc.sheets))
					}
				}
				for name, text := range texts {
					for _, v := range secrets {
						if strings.Contains(text, v) {
							t.Errorf("%s %s names the anonymous donor: %q", format, name, v)
						}
					}
				}
			}
		})
	}
}

// TestExportSource_RefusesSheetsOutOfScope: the source reads no sheet the filter leaves out.
func TestExportSource_RefusesSheetsOutOfScope(t *testing.T) {
	db, c := exportFixture(t)
	src := postgres.NewExportSource(db, c)
	f := campaign.ExportFilter{WardCode: "26800", Sheets: campaign.ExportSheetsOf(campaign.SheetRegistrations, campaign.SheetDeliveries)}
	for _, sheet := range []campaign.ExportSheet{campaign.SheetPledges, campaign.SheetDevices} {
		called := false
		err := src.Rows(t.Context(), sheet, export.Fields(sheet), f, func([]any) error { called = true; return nil })
		if campaign.ErrorCode(err) != campaign.EUNAUTHORIZED || called {
			t.Errorf("%s: err = %v, rows given %v; want EUNAUTHORIZED and none", sheet, err, called)
		}
	}
	n := 0
	if err := src.Rows(t.Context(), campaign.SheetRegistrations, export.Fields(campaign.SheetRegistrations), f,
		func([]any) error { n++; return nil }); err != nil || n != 2 {
		t.Errorf("registrations: %d rows, %v; want the ward's 2", n, err)
	}
}

// TestExportSource_AnonymousDonorNotRead: who an anonymous donor is does not leave the database.
func TestExportSource_AnonymousDonorNotRead(t *testing.T) {
	db, c := exportFixture(t)
	src := postgres.NewExportSource(db, c)
	fields := []string{"code", "donor_name", "contact_person", "phone", "pickup_address", "anonymous"}
	got := map[string][]any{}
	if err := src.Rows(t.Context(), campaign.SheetPledges, fields, campaign.ExportFilter{}, func(row []any) error {
		got[row[0].(string)] = slices.Clone(row[1:])
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := []any{"", "", "", "", true}; !slices.Equal(got["PL-000002"], want) {
		t.Errorf("anonymous PL-000002 = %q, want nothing of who they are", got["PL-000002"])
	}
	if want := []any{"Chùa Phước Long", "Thích Minh Tâm", "+84911222333", "5 Lê Văn Việt", false}; !slices.Equal(got["PL-000003"], want) {
		t.Errorf("PL-000003 = %q, want %q", got["PL-000003"], want)
	}
	var donors []string
	if err := src.Rows(t.Context(), campaign.SheetDeliveries, []string{"donor_name", "donor_anonymous"}, campaign.ExportFilter{},
		func(row []any) error {
			donors = append(donors, fmt.Sprint(row[0], "/", row[1]))
			return nil
		}); err != nil {
		t.Fatal(err)
	}
	// GH-000003's tablet was bought with the anonymous donor's money.
	if want := []string{"Công ty TNHH ABC/false", "Công ty TNHH ABC/false", "/true", "/false"}; !slices.Equal(donors, want) {
		t.Errorf("donors of the deliveries = %q, want %q", donors, want)
	}
}

func TestExportSource_UnknownField(t *testing.T) {
	db := postgrestest.NewDB(t)
	src := postgres.NewExportSource(db, campaign.Default())
	err := src.Rows(t.Context(), campaign.SheetDevices, []string{"label", "price"}, campaign.ExportFilter{},
		func([]any) error { return nil })
	if campaign.ErrorCode(err) != campaign.EINVALID {
		t.Errorf("err = %v, want EINVALID", err)
	}
	err = src.Rows(t.Context(), "stock", nil, campaign.ExportFilter{}, func([]any) error { return nil })
	if campaign.ErrorCode(err) != campaign.EINVALID {
		t.Errorf("unknown sheet: err = %v, want EINVALID", err)
	}
	// Every field the export asks for is known.
	for _, sheet := range campaign.ExportSheets {
		if err := src.Rows(t.Context(), sheet, export.Fields(sheet), campaign.ExportFilter{}, func([]any) error { return nil }); err != nil {
			t.Errorf("%s: %v", sheet, err)
		}
	}
}

// BenchmarkExportXLSX exports registrations to a workbook from PostgreSQL: the time, the bytes
// allocated, and the peak of the heap during the export (peak-heap-MB), which stays bounded as
// the rows grow because rows stream from the database into excelize's spill files.
func BenchmarkExportXLSX(b *testing.B) {
	const total = 50_000
	db := postgrestest.NewDB(b)
	c := campaign.Default()
	wards := make([]string, len(c.Wards))
	for i, w := range c.Wards {
		wards[i] = w.Code
	}
	start := exportUTC(13, 0, 0)
	// Registration i is made i seconds after start, so a period chooses the first n.
	if _, err := db.SQLX().Exec(`
		WITH s AS (
			INSERT INTO students (campaign_id, full_name, name_key, birth_date, ward_code, created_at)
			SELECT $1, 'Nguyễn Văn Học Sinh ' || g, 'nguyen van hoc sinh ' || g, date '2008-01-01' + g % 4000,
				($3::text[])[1 + g % cardinality($3::text[])], $4
			FROM generate_series(1, $2) g
			RETURNING id, ward_code)
		INSERT INTO registrations (campaign_id, code, status, channel, chat_id, parent_name, parent_phone,
			student_id, level, grade, school, ward_code, address, circumstances, device_situation, needs,
			idempotency_key, consent_at, created_at, updated_at)
		SELECT $1, 'TD-' || lpad(s.id::text, 6, '0'), 'submitted', 'telegram', s.id::text, 'Trần Thị Phụ Huynh',
			'+849' || lpad(s.id::text, 8, '0'), s.id,
			'lower_secondary', 6 + s.id % 4, 'Trường THCS Linh Trung', s.ward_code,
			s.id || ' đường số 8, khu phố 3', '{poor,covid_hardship}', 'shares_phone', '{laptop,sim_4g}',
			'bench-' || s.id, $4, $4 + s.id * interval '1 second', $4 + s.id * interval '1 second'
		FROM s`, c.ID, total, pq.StringArray(wards), start); err != nil {
		b.Fatal(err)
	}
	e := export.New(postgres.NewExportSource(db, c), export.Options{Dir: b.TempDir(), Location: c.Location})

	for _, n := range []int{5_000, total} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			f := campaign.ExportFilter{To: start.Add(time.Duration(n)*time.Second + time.Millisecond)}
			peak := exportWatchHeap(b.Context())
			b.ReportAllocs()
			for b.Loop() {
				file, err := e.Export(b.Context(), f, campaign.FormatXLSX)
				if err != nil {
					b.Fatal(err)
				}
				if file.Rows[campaign.SheetRegistrations] != n {
					b.Fatalf("%d rows, want %d", file.Rows[campaign.SheetRegistrations], n)
				}
				b.StopTimer()
				if err := os.Remove(file.Path); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MB")
		})
	}
}

// exportWatchHeap samples the live heap every few milliseconds until the returned function is
// called, which returns the highest sample.
func exportWatchHeap(ctx context.Context) func() uint64 {
	var (
		mu   sync.Mutex
		peak uint64
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			mu.Lock()
			peak = max(peak, sample[0].Value.Uint64())
			mu.Unlock()
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}
