package export_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/export"
	"github.com/thuduc/maytinhchoem/export/exporttest"
)

// readBook reads an exported workbook with the plain reader and checks that a read-only reader
// reads it whole: each sheet's <dimension> is the range of its cells, with an auto-filter on it.
func readBook(t *testing.T, path string) *exporttest.Workbook {
	t.Helper()
	wb, err := exporttest.Read(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if err := wb.Check(); err != nil {
		t.Error(err)
	}
	return wb
}

func TestExport_ReadOnlyReaders(t *testing.T) {
	for name, c := range map[string]struct {
		src  export.Source
		dims map[string]string
	}{
		"rows": {newSource(), map[string]string{
			"Đăng ký": "A1:Y3", "Ủng hộ": "A1:P3", "Thiết bị": "A1:O2", "Bàn giao": "A1:X2", "Theo trường": "A1:J3"}},
		"empty": {&fakeSource{}, map[string]string{
			"Đăng ký": "A1:Y1", "Ủng hộ": "A1:P1", "Thiết bị": "A1:O1", "Bàn giao": "A1:X1", "Theo trường": "A1:J1"}},
		"many": {rowsSource{n: 3000}, map[string]string{
			"Đăng ký": "A1:Y3001", "Ủng hộ": "A1:P1", "Thiết bị": "A1:O1", "Bàn giao": "A1:X1", "Theo trường": "A1:J1"}},
	} {
		t.Run(name, func(t *testing.T) {
			file, err := newExporter(c.src, t.TempDir()).Export(t.Context(), campaign.ExportFilter{}, campaign.FormatXLSX)
			if err != nil {
				t.Fatal(err)
			}
			wb := readBook(t, file.Path)
			if got, want := wb.Names(), []string{"Đăng ký", "Ủng hộ", "Thiết bị", "Bàn giao", "Theo trường"}; !slices.Equal(got, want) {
				t.Fatalf("sheets = %q, want %q", got, want)
			}
			for _, s := range wb.Sheets {
				if s.Dimension != c.dims[s.Name] {
					t.Errorf("%s <dimension ref=%q>, want %q", s.Name, s.Dimension, c.dims[s.Name])
				}
			}
			if name == "rows" {
				regs := wb.Sheet("Đăng ký").Records()
				if len(regs) != 2 || regs[0]["Mã hồ sơ"] != "TD-000001" || regs[1]["Trạng thái"] != "không được duyệt" {
					t.Errorf("registrations read back = %v", regs)
				}
				schools := wb.Sheet("Theo trường").Records()
				want := []map[string]string{
					{"Trường": "Trường THCS Linh Trung", "Tổng số hồ sơ": "6", "Gia đình tự đăng ký": "3",
						"Từ danh sách trường/phường": "2", "Cán bộ đăng ký giúp": "1", "Chờ xác minh": "2", "Đã duyệt": "3",
						"Trong đó đã trao thiết bị": "1", "Không được duyệt": "1", "Gia đình đã rút hồ sơ": "0"},
					{"Trường": "(không ghi trường)", "Tổng số hồ sơ": "1", "Gia đình tự đăng ký": "1",
						"Từ danh sách trường/phường": "0", "Cán bộ đăng ký giúp": "0", "Chờ xác minh": "0", "Đã duyệt": "0",
						"Trong đó đã trao thiết bị": "0", "Không được duyệt": "0", "Gia đình đã rút hồ sơ": "1"},
				}
				if !slices.EqualFunc(schools, want, maps.Equal) {
					t.Errorf("schools read back = %v,\nwant %v", schools, want)
				}
			}
			// excelize, which reads the cells whatever the dimension says, reads the same.
			f := openXLSX(t, file.Path)
			for _, s := range wb.Sheets {
				rows, err := f.GetRows(s.Name)
				if err != nil {
					t.Fatal(err)
				}
				if len(rows) != len(s.Rows) {
					t.Errorf("%s: excelize reads %d rows, the plain reader %d", s.Name, len(rows), len(s.Rows))
				}
			}
		})
	}
}

func TestExport_OnlyTheSheetsOfTheFilter(t *testing.T) {
	filter := campaign.ExportFilter{Sheets: campaign.ExportSheetsOf(campaign.SheetRegistrations, campaign.SheetDeliveries)}
	want := map[campaign.ExportSheet]int{campaign.SheetRegistrations: 2, campaign.SheetDeliveries: 1}

	src := newSource()
	x, err := newExporter(src, t.TempDir()).Export(t.Context(), filter, campaign.FormatXLSX)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(x.Rows, want) {
		t.Errorf("Rows = %v, want %v", x.Rows, want)
	}
	if got := slices.Sorted(maps.Keys(src.fields)); !slices.Equal(got, []campaign.ExportSheet{campaign.SheetDeliveries, campaign.SheetRegistrations}) {
		t.Errorf("the source was asked for %v, want registrations and deliveries alone", got)
	}
	if got := readBook(t, x.Path).Names(); !slices.Equal(got, []string{"Đăng ký", "Bàn giao"}) {
		t.Errorf("xlsx sheets = %q, want Đăng ký and Bàn giao", got)
	}
	if got := openXLSX(t, x.Path).GetSheetList(); !slices.Equal(got, []string{"Đăng ký", "Bàn giao"}) {
		t.Errorf("xlsx sheets as excelize reads them = %q", got)
	}

	z, err := newExporter(newSource(), t.TempDir()).Export(t.Context(), filter, campaign.FormatCSV)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(z.Rows, want) {
		t.Errorf("csv Rows = %v, want %v", z.Rows, want)
	}
	if names, _ := readZip(t, z.Path); !slices.Equal(names, []string{"dang-ky.csv", "ban-giao.csv"}) {
		t.Errorf("csv files = %q, want dang-ky.csv and ban-giao.csv", names)
	}

	// One sheet alone is the workbook's first, whichever it is.
	only := campaign.ExportFilter{Sheets: campaign.ExportSheetsOf(campaign.SheetDevices)}
	d, err := newExporter(newSource(), t.TempDir()).Export(t.Context(), only, campaign.FormatXLSX)
	if err != nil {
		t.Fatal(err)
	}
	if got := readBook(t, d.Path).Names(); !slices.Equal(got, []string{"Thiết bị"}) {
		t.Errorf("sheets = %q, want Thiết bị", got)
	}
}

func TestExport_AnonymousDonorIsNamedNowhere(t *testing.T) {
	secret := []string{"Trần Văn Bí Mật", "+84987654321", campaign.MaskPhone("+84987654321"), "9 Hẻm Kín"}
	for _, show := range []bool{false, true} {
		filter := campaign.ExportFilter{ShowPhones: show}
		x, err := newExporter(newSource(), t.TempDir()).Export(t.Context(), filter, campaign.FormatXLSX)
		if err != nil {
			t.Fatal(err)
		}
		wb := readBook(t, x.Path)
		for _, s := range wb.Sheets {
			for _, v := range secret {
				if strings.Contains(s.Text(), v) {
					t.Errorf("phones shown %v: sheet %s holds %q of a donor who asked to stay anonymous", show, s.Name, v)
				}
			}
		}
		pledges := wb.Sheet("Ủng hộ").Records()
		if p := pledges[1]; p["Mã phiếu"] != "PL-000046" || p["Nhà hảo tâm"] != "Ẩn danh" || p["Người liên hệ"] != "" ||
			p["Điện thoại"] != "" || p["Địa chỉ đến nhận"] != "" || p["Ẩn danh"] != "có" {
			t.Errorf("anonymous pledge = %v", p)
		}
		if p := pledges[0]; p["Nhà hảo tâm"] != "Công ty TNHH ABC" || p["Người liên hệ"] != "Phạm Minh Đức" {
			t.Errorf("named pledge = %v, want the donor named", p)
		}
		if d := wb.Sheet("Bàn giao").Records()[0]; d["Nhà hảo tâm"] != "Ẩn danh" {
			t.Errorf("delivery donor = %q, want Ẩn danh", d["Nhà hảo tâm"])
		}

		z, err := newExporter(newSource(), t.TempDir()).Export(t.Context(), filter, campaign.FormatCSV)
		if err != nil {
			t.Fatal(err)
		}
		_, contents := readZip(t, z.Path)
		for name, b := range contents {
			for _, v := range secret {
				if strings.Contains(string(b), v) {
					t.Errorf("phones shown %v: %s holds %q of a donor who asked to stay anonymous", show, name, v)
				}
			}
		}
	}

	// A source that already leaves the anonymous donor out still gets "Ẩn danh" written.
	src := newSource()
	src.rows[campaign.SheetPledges] = []map[string]any{with(anonymousPledgeRow, map[string]any{
		"donor_name": "", "contact_person": "", "phone": "", "pickup_address": ""})}
	x, err := newExporter(src, t.TempDir()).Export(t.Context(), campaign.ExportFilter{}, campaign.FormatXLSX)
	if err != nil {
		t.Fatal(err)
	}
	if p := readBook(t, x.Path).Sheet("Ủng hộ").Records()[0]; p["Nhà hảo tâm"] != "Ẩn danh" {
		t.Errorf("donor left out by the source = %q, want Ẩn danh", p["Nhà hảo tâm"])
	}
}

func TestExport_StaffNamedWithTheirRole(t *testing.T) {
	x, err := newExporter(newSource(), t.TempDir()).Export(t.Context(), campaign.ExportFilter{}, campaign.FormatCSV)
	if err != nil {
		t.Fatal(err)
	}
	_, contents := readZip(t, x.Path)
	recs := readCSV(t, "ban-giao.csv", contents["ban-giao.csv"])
	for h, want := range map[string]string{
		"Người phân bổ":    "Lê Văn Cường (Cán bộ phường)",
		"Tình nguyện viên": "Hồ Thị Em (Tình nguyện viên Đoàn)",
	} {
		if got := recs[1][slices.Index(recs[0], h)]; got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	devices := readCSV(t, "thiet-bi.csv", contents["thiet-bi.csv"])
	if got := devices[1][slices.Index(devices[0], "Người kiểm tra")]; got != "telegram:555" {
		t.Errorf("a checker who is no staff = %q, want the chat as the source gave it", got)
	}
}
