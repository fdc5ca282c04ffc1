package export_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/export"
)

// hcm is the campaign's zone.
var hcm = campaign.Default().Location

// exportTime is when the tests export: 17:30 on 20 Sept 2021 in Ho Chi Minh City.
var exportTime = time.Date(2021, 9, 20, 10, 30, 0, 0, time.UTC)

// fakeSource serves fixed rows, each a map from field to value, and records what it was asked.
type fakeSource struct {
	rows map[campaign.ExportSheet][]map[string]any
	// failSheet and failAt make Rows fail with err before row failAt of failSheet.
	failSheet campaign.ExportSheet
	failAt    int
	err       error

	filters []campaign.ExportFilter
	fields  map[campaign.ExportSheet][]string
}

func (s *fakeSource) Rows(ctx context.Context, sheet campaign.ExportSheet, fields []string, f campaign.ExportFilter, fn func([]any) error) error {
	s.filters = append(s.filters, f)
	if s.fields == nil {
		s.fields = map[campaign.ExportSheet][]string{}
	}
	s.fields[sheet] = slices.Clone(fields)
	row := make([]any, len(fields))
	for i, r := range s.rows[sheet] {
		if sheet == s.failSheet && i == s.failAt {
			return s.err
		}
		for j, k := range fields {
			v, ok := r[k]
			if !ok {
				return fmt.Errorf("fake source: unknown field %s of %s", k, sheet)
			}
			row[j] = v
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	if sheet == s.failSheet && s.failAt >= len(s.rows[sheet]) {
		return s.err
	}
	return nil
}

// with returns a copy of m with the changes.
func with(m map[string]any, changes map[string]any) map[string]any {
	out := maps.Clone(m)
	maps.Copy(out, changes)
	return out
}

var (
	registrationRow = map[string]any{
		"code":                "TD-000001",
		"status":              string(campaign.StatusVerified),
		"reject_code":         "",
		"reject_text":         "",
		"ward_code":           "26800",
		"ward_name":           "Phường Linh Trung",
		"student_name":        "Nguyễn Văn An",
		"birth_date":          time.Date(2010, 5, 3, 0, 0, 0, 0, time.UTC),
		"level":               campaign.LevelLowerSecondary, // a campaign type is a string type too
		"grade":               7,
		"school":              "Trường THCS Linh Trung",
		"address":             "12 đường số 8, khu phố 3",
		"parent_name":         "Trần Thị Bình",
		"parent_phone":        "+84903123456",
		"circumstances":       []string{"poor", "other"},
		"circumstance_other":  "Cha mất việc do dịch",
		"device_situation":    "shares_phone",
		"needs":               []campaign.Need{campaign.NeedTablet, campaign.NeedSIM4G},
		"possible_duplicates": []string{"TD-000000"},
		"created_at":          time.Date(2021, 9, 15, 2, 5, 0, 0, time.UTC),
		"decided_by":          "Lê Văn Cường",
		"decided_by_role":     "ward_official",
		"decided_at":          time.Date(2021, 9, 16, 3, 0, 0, 0, time.UTC),
		"source":              string(campaign.SourceChat),
		"list_code":           "",
		"list_row":            int64(0),
		"registered_by":       "",
		"registered_by_role":  "",
		"consent":             export.ConsentChat,
	}
	pledgeRow = map[string]any{
		"code":           "PL-000045",
		"status":         "partly",
		"donor_kind":     "business",
		"donor_name":     "Công ty TNHH ABC",
		"contact_person": "Phạm Minh Đức",
		"phone":          "+84912345678",
		"items": []campaign.PledgeItem{
			{Kind: campaign.ItemLaptop, Quantity: 2, Used: true, Complete: true},
			{Kind: campaign.ItemSIM4G, Quantity: 500},
			{Kind: campaign.ItemMoney, Amount: 5_000_000},
		},
		"money_pledged":  int64(5_000_000),
		"money_received": int64(0),
		"delivery":       "pickup",
		"ward_code":      "",
		"ward_name":      "",
		"pickup_address": "1 Võ Văn Ngân",
		"pickup_date":    time.Date(2021, 9, 18, 0, 0, 0, 0, time.UTC),
		"anonymous":      false,
		"created_at":     time.Date(2021, 9, 14, 23, 0, 0, 0, time.UTC),
	}
	// anonymousPledgeRow is a donor who asked not to be named: no sheet shows who they are.
	anonymousPledgeRow = with(pledgeRow, map[string]any{
		"code": "PL-000046", "status": "received", "donor_kind": "individual", "donor_name": "Trần Văn Bí Mật",
		"contact_person": "Trần Văn Bí Mật", "phone": "+84987654321", "pickup_address": "9 Hẻm Kín",
		"anonymous": true,
	})
	deviceRow = map[string]any{
		"label":             "TB-000123",
		"type":              "tablet",
		"state":             "ready",
		"brand":             "Samsung",
		"model":             "Galaxy Tab A7",
		"serial":            "R52R1234",
		"used":              true,
		"pledge_code":       "",
		"origin":            export.OriginWalkIn,
		"software_level":    "",
		"checked_by":        "telegram:555", // no staff row: the source gives the chat as it is
		"checked_by_role":   "",
		"registration_code": "",
		"ward_code":         "",
		"ward_name":         "",
		"created_at":        time.Date(2021, 9, 16, 1, 0, 0, 0, time.UTC),
		"updated_at":        time.Date(2021, 9, 16, 1, 30, 0, 0, time.UTC),
	}
	deliveryRow = map[string]any{
		"code":              "GH-000012",
		"status":            "confirmed",
		"registration_code": "TD-000001",
		"student_name":      "Nguyễn Văn An",
		"level":             "lower_secondary",
		"grade":             int64(7),
		"ward_code":         "26800",
		"ward_name":         "Phường Linh Trung",
		"handover":          "school",
		"device_label":      "TB-000124",
		"device_type":       "laptop",
		"stock":             []string{"sim_4g"},
		"pledge_code":       "PL-000046",
		"origin":            export.OriginPurchase,
		"donor_name":        "Trần Văn Bí Mật",
		"donor_anonymous":   true,
		"allocated_by":      "Lê Văn Cường",
		"allocated_by_role": "ward_official",
		"allocated_at":      time.Date(2021, 9, 17, 2, 0, 0, 0, time.UTC),
		"attempts":          1,
		"last_failure":      "not_home",
		"last_failure_note": "gọi không nghe máy",
		"volunteer":         "Hồ Thị Em",
		"volunteer_role":    "volunteer",
		"recipient_name":    "Trần Thị Bình",
		"has_photo":         true,
		"delivered_at":      time.Date(2021, 9, 18, 9, 15, 0, 0, time.UTC),
		"confirmed_at":      time.Date(2021, 9, 19, 1, 0, 0, 0, time.UTC),
		"auto_confirmed":    false,
	}
)

// newSource returns a source of one or two rows per sheet: a verified registration and a
// rejected one, a business pledge and an anonymous donor's, a walk-in device, a delivery of a
// device bought with the anonymous donor's money.
func newSource() *fakeSource {
	return &fakeSource{rows: map[campaign.ExportSheet][]map[string]any{
		campaign.SheetRegistrations: {
			registrationRow,
			with(registrationRow, map[string]any{
				"code": "TD-000002", "status": "rejected", "reject_code": "other",
				"reject_text": "Gia đình đã chuyển đi", "student_name": "=HYPERLINK(\"http://x\")",
				"circumstances": []string{}, "circumstance_other": "", "possible_duplicates": []string(nil),
				"decided_by": "", "decided_by_role": "", "decided_at": time.Time{}, "level": "primary", "grade": 3,
				// A row of a school's list, sent by the education office.
				"source": campaign.SourceList, "list_code": "DS-000004", "list_row": int64(17),
				"registered_by": "Lê Thị Giáo", "registered_by_role": "education_office", "consent": export.ConsentList,
			}),
		},
		campaign.SheetPledges:    {pledgeRow, anonymousPledgeRow},
		campaign.SheetDevices:    {deviceRow},
		campaign.SheetDeliveries: {deliveryRow},
		campaign.SheetSchools: {schoolRow, with(schoolRow, map[string]any{"school": "", "total": 1, "chat": 1, "list": 0, "assisted": 0,
			"pending": 0, "verified": 0, "delivered": 0, "rejected": 0, "withdrawn": 1})},
	}}
}

// schoolRow is a school's counts: 6 registrations, by source and by status.
var schoolRow = map[string]any{
	"school": "Trường THCS Linh Trung", "total": 6, "chat": 3, "list": 2, "assisted": 1,
	"pending": 2, "verified": 3, "delivered": 1, "rejected": 1, "withdrawn": 0,
}

// newExporter returns an exporter into dir at exportTime.
func newExporter(src export.Source, dir string) *export.Exporter {
	return export.New(src, export.Options{Dir: dir, Now: func() time.Time { return exportTime }, Location: hcm})
}

// openXLSX opens an exported workbook, closed when the test ends.
func openXLSX(t *testing.T, path string) *excelize.File {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// cellValue returns the value of a cell as Excel shows it, or raw.
func cellValue(t *testing.T, f *excelize.File, sheet, ref string, raw bool) string {
	t.Helper()
	v, err := f.GetCellValue(sheet, ref, excelize.Options{RawCellValue: raw})
	if err != nil {
		t.Fatalf("%s!%s: %v", sheet, ref, err)
	}
	return v
}

// column returns the letter of the column headed header in row 1 of sheet.
func column(t *testing.T, f *excelize.File, sheet, header string) string {
	t.Helper()
	rows, err := f.GetRows(sheet)
	if err != nil || len(rows) == 0 {
		t.Fatalf("rows of %s: %v", sheet, err)
	}
	i := slices.Index(rows[0], header)
	if i < 0 {
		t.Fatalf("%s has no column %q; headers %q", sheet, header, rows[0])
	}
	name, _ := excelize.ColumnNumberToName(i + 1)
	return name
}

func TestExport_XLSX(t *testing.T) {
	dir := t.TempDir()
	src := newSource()
	file, err := newExporter(src, dir).Export(t.Context(), campaign.ExportFilter{}, campaign.FormatXLSX)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(file.Path) != dir {
		t.Errorf("Path = %s, want a file in %s", file.Path, dir)
	}
	if want := "maytinhchoem-20210920-1730.xlsx"; file.Name != want {
		t.Errorf("Name = %q, want %q", file.Name, want)
	}
	wantRows := map[campaign.ExportSheet]int{campaign.SheetRegistrations: 2, campaign.SheetPledges: 2, campaign.SheetDevices: 1, campaign.SheetDeliveries: 1,
		campaign.SheetSchools: 2}
	if !maps.Equal(file.Rows, wantRows) {
		t.Errorf("Rows = %v, want %v", file.Rows, wantRows)
	}
	for _, sheet := range campaign.ExportSheets {
		if got, want := src.fields[sheet], export.Fields(sheet); !slices.Equal(got, want) {
			t.Errorf("fields asked of %s = %q, want %q", sheet, got, want)
		}
	}

	f := openXLSX(t, file.Path)
	if got, want := f.GetSheetList(), []string{"Đăng ký", "Ủng hộ", "Thiết bị", "Bàn giao", "Theo trường"}; !slices.Equal(got, want) {
		t.Fatalf("sheets = %q, want %q", got, want)
	}

	t.Run("headers", func(t *testing.T) {
		rows, err := f.GetRows("Đăng ký")
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"Mã hồ sơ", "Trạng thái", "Lý do không duyệt", "Mã phường", "Phường", "Họ tên học sinh",
			"Ngày sinh", "Cấp học", "Lớp", "Trường", "Địa chỉ", "Họ tên phụ huynh", "Điện thoại phụ huynh",
			"Hoàn cảnh", "Thiết bị hiện có", "Cần hỗ trợ", "Có thể trùng với hồ sơ", "Thời điểm đăng ký",
			"Nguồn đăng ký", "Mã danh sách", "Dòng trong danh sách", "Cán bộ đăng ký giúp / gửi danh sách",
			"Hình thức đồng ý", "Người xác minh", "Thời điểm xác minh"}
		if !slices.Equal(rows[0], want) {
			t.Errorf("registration headers = %q, want %q", rows[0], want)
		}
		for _, sheet := range f.GetSheetList() {
			styleID, err := f.GetCellStyle(sheet, "A1")
			if err != nil {
				t.Fatal(err)
			}
			style, err := f.GetStyle(styleID)
			if err != nil {
				t.Fatal(err)
			}
			if style.Font == nil || !style.Font.Bold {
				t.Errorf("%s!A1 is not bold", sheet)
			}
			panes, err := f.GetPanes(sheet)
			if err != nil {
				t.Fatal(err)
			}
			if !panes.Freeze || panes.YSplit != 1 || panes.TopLeftCell != "A2" {
				t.Errorf("%s panes = %+v, want the header row frozen", sheet, panes)
			}
		}
		if w, err := f.GetColWidth("Đăng ký", "K"); err != nil || w != 36 {
			t.Errorf("width of the address column = %v, %v; want 36", w, err)
		}
		// Excel repairs a workbook whose column widths are out of order.
		_, parts := readZip(t, file.Path)
		cols := regexp.MustCompile(`<col min="(\d+)"`).FindAllStringSubmatch(string(parts["xl/worksheets/sheet1.xml"]), -1)
		if len(cols) != 25 {
			t.Fatalf("sheet1.xml has %d <col> widths, want 25", len(cols))
		}
		for i, m := range cols {
			if m[1] != strconv.Itoa(i+1) {
				t.Errorf("<col> %d is column %s, want the columns in order", i+1, m[1])
			}
		}
	})

	t.Run("registrations", func(t *testing.T) {
		s := "Đăng ký"
		for _, c := range []struct{ header, row, want string }{
			{"Mã hồ sơ", "2", "TD-000001"},
			{"Trạng thái", "2", "đã xác minh"},
			{"Lý do không duyệt", "2", ""},
			{"Phường", "2", "Phường Linh Trung"},
			{"Ngày sinh", "2", "03/05/2010"},
			{"Cấp học", "2", "THCS"},
			{"Lớp", "2", "7"},
			{"Điện thoại phụ huynh", "2", "+8490****456"},
			{"Hoàn cảnh", "2", "Hộ nghèo, Khác: Cha mất việc do dịch"},
			{"Thiết bị hiện có", "2", "Dùng chung điện thoại của cha mẹ"},
			{"Cần hỗ trợ", "2", "Máy tính bảng, SIM 4G"},
			{"Có thể trùng với hồ sơ", "2", "TD-000000"},
			{"Thời điểm đăng ký", "2", "15/09/2021 09:05"}, // 02:05 UTC is 09:05 in the campaign zone
			{"Người xác minh", "2", "Lê Văn Cường (Cán bộ phường)"},
			{"Thời điểm xác minh", "2", "16/09/2021 10:00"},
			{"Trạng thái", "3", "không được duyệt"},
			{"Lý do không duyệt", "3", "Lý do khác: Gia đình đã chuyển đi"},
			{"Cấp học", "3", "Tiểu học"},
			{"Hoàn cảnh", "3", ""},
			{"Thời điểm xác minh", "3", ""},
			{"Nguồn đăng ký", "2", "Gia đình tự đăng ký"},
			{"Mã danh sách", "2", ""},
			{"Dòng trong danh sách", "2", ""},
			{"Cán bộ đăng ký giúp / gửi danh sách", "2", ""},
			{"Hình thức đồng ý", "2", "Phụ huynh đồng ý qua tin nhắn"},
			{"Nguồn đăng ký", "3", "Danh sách trường/phường"},
			{"Mã danh sách", "3", "DS-000004"},
			{"Dòng trong danh sách", "3", "17"},
			{"Cán bộ đăng ký giúp / gửi danh sách", "3", "Lê Thị Giáo (Phòng Giáo dục)"},
			{"Hình thức đồng ý", "3", "Theo danh sách trường/phường"},
			// A text is a text in a workbook: no formula runs.
			{"Họ tên học sinh", "3", "=HYPERLINK(\"http://x\")"},
		} {
			ref := column(t, f, s, c.header) + c.row
			if got := cellValue(t, f, s, ref, false); got != c.want {
				t.Errorf("%s (%s) = %q, want %q", c.header, ref, got, c.want)
			}
		}
		if formula, _ := f.GetCellFormula(s, column(t, f, s, "Họ tên học sinh")+"3"); formula != "" {
			t.Errorf("student name became the formula %q", formula)
		}
	})

	t.Run("types", func(t *testing.T) {
		s := "Đăng ký"
		birth := column(t, f, s, "Ngày sinh") + "2"
		// 3 May 2010 is day 40301 of Excel's calendar: a real date, not a text.
		if got := cellValue(t, f, s, birth, true); got != "40301" {
			t.Errorf("birth date raw = %q, want the serial 40301", got)
		}
		created := column(t, f, s, "Thời điểm đăng ký") + "2"
		if got := cellValue(t, f, s, created, true); !strings.HasPrefix(got, "44454.378") { // 15/09/2021 09:05
			t.Errorf("created_at raw = %q, want the serial 44454.378...", got)
		}
		assertNumFmt(t, f, s, birth, "dd/mm/yyyy")
		assertNumFmt(t, f, s, created, "dd/mm/yyyy hh:mm")
		grade := column(t, f, s, "Lớp") + "2"
		if typ, _ := f.GetCellType(s, grade); typ == excelize.CellTypeInlineString || typ == excelize.CellTypeSharedString {
			t.Errorf("grade is a text cell (%v), want a number", typ)
		}
		if typ, _ := f.GetCellType(s, "A2"); typ != excelize.CellTypeInlineString {
			t.Errorf("code cell type = %v, want an inline string", typ)
		}

		p := "Ủng hộ"
		pledged := column(t, f, p, "Tiền hứa ủng hộ (đ)") + "2"
		if got := cellValue(t, f, p, pledged, true); got != "5000000" {
			t.Errorf("money pledged raw = %q, want 5000000", got)
		}
		assertNumFmt(t, f, p, pledged, "#,##0")
		if got := cellValue(t, f, p, column(t, f, p, "Tiền đã nhận (đ)")+"2", true); got != "" {
			t.Errorf("no money received = %q, want an empty cell", got)
		}
	})

	t.Run("pledges devices deliveries", func(t *testing.T) {
		for _, c := range []struct{ sheet, header, want string }{
			{"Ủng hộ", "Trạng thái", "đã nhận một phần"},
			{"Ủng hộ", "Loại nhà hảo tâm", "Doanh nghiệp"},
			{"Ủng hộ", "Nhà hảo tâm", "Công ty TNHH ABC"},
			{"Ủng hộ", "Người liên hệ", "Phạm Minh Đức"},
			{"Ủng hộ", "Điện thoại", "+8491****678"},
			{"Ủng hộ", "Địa chỉ đến nhận", "1 Võ Văn Ngân"},
			{"Ủng hộ", "Nội dung ủng hộ", "2 laptop (đã qua sử dụng); 500 SIM 4G; 5.000.000 đ"},
			{"Ủng hộ", "Cách gửi", "Nhờ đến nhận tại địa chỉ"},
			{"Ủng hộ", "Ngày đến nhận", "18/09/2021"},
			{"Ủng hộ", "Ẩn danh", "không"},
			{"Ủng hộ", "Thời điểm ghi nhận", "15/09/2021 06:00"},
			{"Thiết bị", "Loại thiết bị", "Máy tính bảng"},
			{"Thiết bị", "Tình trạng", "sẵn sàng"},
			{"Thiết bị", "Mới/cũ", "đã qua sử dụng"},
			{"Thiết bị", "Nguồn", "tặng trực tiếp"},
			{"Thiết bị", "Phần mềm học tập", "chưa cài"},
			{"Thiết bị", "Người kiểm tra", "telegram:555"},
			{"Bàn giao", "Trạng thái", "gia đình đã xác nhận"},
			{"Bàn giao", "Nơi bàn giao", "Tại trường"},
			{"Bàn giao", "Loại thiết bị", "Laptop"},
			{"Bàn giao", "Kết nối kèm theo", "SIM 4G"},
			{"Bàn giao", "Nguồn thiết bị", "mua bằng tiền ủng hộ (PL-000046)"},
			{"Bàn giao", "Nhà hảo tâm", "Ẩn danh"},
			{"Bàn giao", "Người phân bổ", "Lê Văn Cường (Cán bộ phường)"},
			{"Bàn giao", "Tình nguyện viên", "Hồ Thị Em (Tình nguyện viên Đoàn)"},
			{"Bàn giao", "Số lần giao không thành", "1"},
			{"Bàn giao", "Lần giao không thành gần nhất", "Gia đình vắng nhà: gọi không nghe máy"},
			{"Bàn giao", "Ảnh bàn giao", "có"},
			{"Bàn giao", "Thời điểm trao", "18/09/2021 16:15"},
			{"Bàn giao", "Tự động xác nhận", "không"},
		} {
			ref := column(t, f, c.sheet, c.header) + "2"
			if got := cellValue(t, f, c.sheet, ref, false); got != c.want {
				t.Errorf("%s %s = %q, want %q", c.sheet, c.header, got, c.want)
			}
		}
	})
}

// assertNumFmt checks the number format of a cell's style.
func assertNumFmt(t *testing.T, f *excelize.File, sheet, ref, want string) {
	t.Helper()
	id, err := f.GetCellStyle(sheet, ref)
	if err != nil {
		t.Fatal(err)
	}
	style, err := f.GetStyle(id)
	if err != nil {
		t.Fatal(err)
	}
	if style.CustomNumFmt == nil || *style.CustomNumFmt != want {
		t.Errorf("%s!%s number format = %v, want %q", sheet, ref, style.CustomNumFmt, want)
	}
}

// readZip returns the files of a ZIP in order, with their contents.
func readZip(t *testing.T, path string) (names []string, contents map[string][]byte) {
	t.Helper()
	r, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	contents = map[string][]byte{}
	for _, zf := range r.File {
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
		contents[zf.Name] = b
	}
	return names, contents
}

// readCSV parses a CSV file after its BOM, failing the test when it has none.
func readCSV(t *testing.T, name string, b []byte) [][]string {
	t.Helper()
	body, ok := bytes.CutPrefix(b, []byte("\xef\xbb\xbf"))
	if !ok {
		t.Fatalf("%s does not start with a UTF-8 BOM: % x", name, b[:min(len(b), 8)])
	}
	records, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return records
}

func TestExport_CSV(t *testing.T) {
	file, err := newExporter(newSource(), t.TempDir()).Export(t.Context(), campaign.ExportFilter{}, campaign.FormatCSV)
	if err != nil {
		t.Fatal(err)
	}
	if want := "maytinhchoem-20210920-1730.zip"; file.Name != want {
		t.Errorf("Name = %q, want %q", file.Name, want)
	}
	names, contents := readZip(t, file.Path)
	if want := []string{"dang-ky.csv", "ung-ho.csv", "thiet-bi.csv", "ban-giao.csv", "theo-truong.csv"}; !slices.Equal(names, want) {
		t.Fatalf("files = %q, want %q", names, want)
	}

	reg := readCSV(t, "dang-ky.csv", contents["dang-ky.csv"])
	if len(reg) != 3 {
		t.Fatalf("dang-ky.csv has %d records, want a header and 2 rows", len(reg))
	}
	if !strings.Contains(string(contents["dang-ky.csv"]), "\r\n") {
		t.Error("records do not end in CRLF")
	}
	header := reg[0]
	get := func(rec []string, h string) string {
		i := slices.Index(header, h)
		if i < 0 {
			t.Fatalf("no column %q in %q", h, header)
		}
		return rec[i]
	}
	for _, c := range []struct{ header, want string }{
		{"Mã hồ sơ", "TD-000001"},
		{"Trạng thái", "đã xác minh"},
		{"Ngày sinh", "03/05/2010"},
		{"Cấp học", "THCS"},
		{"Lớp", "7"},
		{"Điện thoại phụ huynh", "+8490****456"},
		{"Hoàn cảnh", "Hộ nghèo, Khác: Cha mất việc do dịch"},
		{"Thời điểm đăng ký", "15/09/2021 09:05"},
	} {
		if got := get(reg[1], c.header); got != c.want {
			t.Errorf("%s = %q, want %q", c.header, got, c.want)
		}
	}
	// The public typed this name: the spreadsheet must show it, not run it.
	if got, want := get(reg[2], "Họ tên học sinh"), `'=HYPERLINK("http://x")`; got != want {
		t.Errorf("formula-like name = %q, want %q", got, want)
	}

	pledges := readCSV(t, "ung-ho.csv", contents["ung-ho.csv"])
	if got := pledges[1][slices.Index(pledges[0], "Tiền hứa ủng hộ (đ)")]; got != "5000000" {
		t.Errorf("money in CSV = %q, want plain digits 5000000", got)
	}
	if got := pledges[1][slices.Index(pledges[0], "Nội dung ủng hộ")]; got != "2 laptop (đã qua sử dụng); 500 SIM 4G; 5.000.000 đ" {
		t.Errorf("items = %q", got)
	}
	deliveries := readCSV(t, "ban-giao.csv", contents["ban-giao.csv"])
	if len(deliveries) != 2 || len(deliveries[0]) != 24 {
		t.Fatalf("ban-giao.csv = %d records of %d fields, want 2 of 24", len(deliveries), len(deliveries[0]))
	}
	if got := deliveries[1][slices.Index(deliveries[0], "Nhà hảo tâm")]; got != "Ẩn danh" {
		t.Errorf("anonymous donor = %q, want Ẩn danh", got)
	}
}

func TestExport_Phones(t *testing.T) {
	for _, c := range []struct {
		show bool
		want string
	}{{false, "+8490****456"}, {true, "+84903123456"}} {
		t.Run(fmt.Sprintf("show=%v", c.show), func(t *testing.T) {
			e := newExporter(newSource(), t.TempDir())
			filter := campaign.ExportFilter{ShowPhones: c.show}

			x, err := e.Export(t.Context(), filter, campaign.FormatXLSX)
			if err != nil {
				t.Fatal(err)
			}
			f := openXLSX(t, x.Path)
			if got := cellValue(t, f, "Đăng ký", column(t, f, "Đăng ký", "Điện thoại phụ huynh")+"2", false); got != c.want {
				t.Errorf("xlsx phone = %q, want %q", got, c.want)
			}

			z, err := e.Export(t.Context(), filter, campaign.FormatCSV)
			if err != nil {
				t.Fatal(err)
			}
			_, contents := readZip(t, z.Path)
			recs := readCSV(t, "dang-ky.csv", contents["dang-ky.csv"])
			if got := recs[1][slices.Index(recs[0], "Điện thoại phụ huynh")]; got != c.want {
				t.Errorf("csv phone = %q, want %q", got, c.want)
			}
		})
	}
}

func TestExport_FilterAndName(t *testing.T) {
	src := newSource()
	e := export.New(src, export.Options{
		Dir: t.TempDir(), Now: func() time.Time { return exportTime }, Location: hcm, Prefix: "td",
	})
	filter := campaign.ExportFilter{
		WardCode: "26800", Status: campaign.StatusVerified,
		From: time.Date(2021, 9, 15, 0, 0, 0, 0, hcm), To: time.Date(2021, 9, 16, 0, 0, 0, 0, hcm),
	}
	file, err := e.Export(t.Context(), filter, campaign.FormatXLSX)
	if err != nil {
		t.Fatal(err)
	}
	if want := "td-26800-20210920-1730.xlsx"; file.Name != want {
		t.Errorf("Name = %q, want %q", file.Name, want)
	}
	if len(src.filters) != len(campaign.ExportSheets) {
		t.Fatalf("Rows called %d times, want once per sheet", len(src.filters))
	}
	for _, got := range src.filters {
		if got != filter {
			t.Errorf("source got filter %+v, want %+v", got, filter)
		}
	}
}

func TestExport_SourceErrorRemovesFile(t *testing.T) {
	errDB := errors.New("connection reset")
	for _, format := range []campaign.ExportFormat{campaign.FormatXLSX, campaign.FormatCSV} {
		for _, failAt := range []int{0, 1} {
			t.Run(fmt.Sprintf("%s/row%d", format, failAt), func(t *testing.T) {
				dir := t.TempDir()
				src := newSource()
				src.failSheet, src.failAt, src.err = campaign.SheetDevices, failAt, errDB
				_, err := newExporter(src, dir).Export(t.Context(), campaign.ExportFilter{}, format)
				if !errors.Is(err, errDB) {
					t.Fatalf("err = %v, want the source's error wrapped", err)
				}
				if !strings.Contains(err.Error(), "devices") {
					t.Errorf("err = %v, want it to name the sheet", err)
				}
				assertEmptyDir(t, dir)
			})
		}
	}
}

func TestExport_BadValueRemovesFile(t *testing.T) {
	dir := t.TempDir()
	src := newSource()
	src.rows[campaign.SheetPledges] = []map[string]any{with(pledgeRow, map[string]any{"money_pledged": "5 triệu"})}
	_, err := newExporter(src, dir).Export(t.Context(), campaign.ExportFilter{}, campaign.FormatXLSX)
	if err == nil || !strings.Contains(err.Error(), "money_pledged") || !strings.Contains(err.Error(), "string") {
		t.Fatalf("err = %v, want a type error naming the column and the type", err)
	}
	assertEmptyDir(t, dir)
}

func TestExport_Cancelled(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := newExporter(newSource(), dir).Export(ctx, campaign.ExportFilter{}, campaign.FormatXLSX)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	assertEmptyDir(t, dir)
}

func TestExport_Invalid(t *testing.T) {
	from := time.Date(2021, 9, 20, 0, 0, 0, 0, hcm)
	for name, c := range map[string]struct {
		f      campaign.ExportFilter
		format campaign.ExportFormat
	}{
		"format": {campaign.ExportFilter{}, "pdf"},
		"ward":   {campaign.ExportFilter{WardCode: "../26800"}, campaign.FormatXLSX},
		"status": {campaign.ExportFilter{Status: "lost"}, campaign.FormatCSV},
		"period": {campaign.ExportFilter{From: from, To: from.Add(-time.Hour)}, campaign.FormatXLSX},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := newExporter(newSource(), dir).Export(t.Context(), c.f, c.format)
			if code := campaign.ErrorCode(err); code != campaign.EINVALID {
				t.Errorf("err = %v (code %q), want EINVALID", err, code)
			}
			assertEmptyDir(t, dir)
		})
	}
}

func TestExport_Empty(t *testing.T) {
	file, err := newExporter(&fakeSource{}, t.TempDir()).Export(t.Context(), campaign.ExportFilter{}, campaign.FormatXLSX)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range campaign.ExportSheets {
		if n, ok := file.Rows[s]; !ok || n != 0 {
			t.Errorf("Rows[%s] = %d, %v; want 0, true", s, n, ok)
		}
	}
	f := openXLSX(t, file.Path)
	rows, err := f.GetRows("Bàn giao")
	if err != nil || len(rows) != 1 || rows[0][0] != "Mã bàn giao" {
		t.Errorf("empty deliveries sheet = %q, %v; want the header alone", rows, err)
	}
}

// assertEmptyDir checks that an export left nothing behind in dir, excelize's spill files included.
func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left behind: %s", e.Name())
	}
}
