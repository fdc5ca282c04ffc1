package flows

import (
	"archive/zip"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/export"
	"github.com/thuduc/maytinhchoem/export/exporttest"
)

// The anonymous donor of the rows typedSource gives: who they are is in no sheet of any export.
var anonymousDonor = []string{"Trần Văn Bí Mật", "+84987654321", campaign.MaskPhone("+84987654321"), "9 Hẻm Kín"}

// typedSource gives one row per sheet, each field a value of the Go type its column takes, and
// the donor of the pledge (and of the delivered device) anonymous.
type typedSource struct{ asked []campaign.ExportSheet }

func (s *typedSource) Rows(_ context.Context, sheet campaign.ExportSheet, fields []string, _ campaign.ExportFilter, fn func([]any) error) error {
	s.asked = append(s.asked, sheet)
	at := time.Date(2021, 9, 15, 2, 0, 0, 0, time.UTC)
	row := make([]any, len(fields))
	for i, k := range fields {
		switch k {
		case "birth_date", "created_at", "updated_at", "decided_at", "pickup_date", "allocated_at", "delivered_at", "confirmed_at":
			row[i] = at
		case "grade", "attempts", "list_row", "total", "chat", "list", "assisted", "pending", "verified", "delivered",
			"rejected", "withdrawn":
			row[i] = 7
		case "money_pledged", "money_received":
			row[i] = int64(1_000_000)
		case "used", "has_photo", "auto_confirmed":
			row[i] = false
		case "anonymous", "donor_anonymous":
			row[i] = true
		case "circumstances", "needs", "possible_duplicates", "stock":
			row[i] = []string{}
		case "items":
			row[i] = []campaign.PledgeItem{{Kind: campaign.ItemLaptop, Quantity: 1, Complete: true}}
		case "code":
			row[i] = "X-000001"
		case "donor_name", "contact_person":
			row[i] = anonymousDonor[0]
		case "phone":
			row[i] = anonymousDonor[1]
		case "pickup_address":
			row[i] = anonymousDonor[3]
		case "origin":
			row[i] = export.OriginPledge
		default:
			row[i] = ""
		}
	}
	return fn(row)
}

// sentFile returns the path of the file a reply sends.
func sentFile(t *testing.T, out []Output) string {
	t.Helper()
	for _, o := range out {
		if o.File != nil {
			return o.File.Path
		}
	}
	t.Fatalf("no file sent:%s", dump(out))
	return ""
}

// exportRoles are the people of a find chat, with what an export gives each: the sheets (nil when
// refused) and the caption's counts of the fake exporter's rows.
var exportRoles = []struct {
	name, id string
	sheets   []campaign.ExportSheet
	counts   string
	titles   []string // of the workbook's sheets
}{
	{"admin", testAdmin, campaign.ExportSheets, "4 hồ sơ, 1 lời ủng hộ, 3 thiết bị, 0 lượt bàn giao, 2 trường",
		[]string{"Đăng ký", "Ủng hộ", "Thiết bị", "Bàn giao", "Theo trường"}},
	{"city official", officialID, campaign.ExportSheets, "4 hồ sơ, 1 lời ủng hộ, 3 thiết bị, 0 lượt bàn giao, 2 trường",
		[]string{"Đăng ký", "Ủng hộ", "Thiết bị", "Bàn giao", "Theo trường"}},
	{"education office", eduID,
		[]campaign.ExportSheet{campaign.SheetRegistrations, campaign.SheetDevices, campaign.SheetDeliveries, campaign.SheetSchools},
		"4 hồ sơ, 3 thiết bị, 0 lượt bàn giao, 2 trường", []string{"Đăng ký", "Thiết bị", "Bàn giao", "Theo trường"}},
	{"ward official", wardOffID,
		[]campaign.ExportSheet{campaign.SheetRegistrations, campaign.SheetDeliveries, campaign.SheetSchools},
		"4 hồ sơ, 0 lượt bàn giao, 2 trường", []string{"Đăng ký", "Bàn giao", "Theo trường"}},
	{"volunteer", volunteerID, nil, "", nil},
	{"women's union", womenID, nil, "", nil},
	{"culture office", cultureID, nil, "", nil},
}

// TestExport_SheetsOfEveryRole: each role's /export asks for the sheets the role may see and no
// other, says only those in its caption and audits them.
func TestExport_SheetsOfEveryRole(t *testing.T) {
	for _, r := range exportRoles {
		t.Run(r.name, func(t *testing.T) {
			c, x := newFindChat(t)
			c.become(r.id, "vi")
			out := c.send(cmd("export"))
			out = append(out, c.send(press("x:xlsx"))...)
			if r.sheets == nil {
				if len(x.Filters()) != 0 || !strings.Contains(allText(out), "không dùng được lệnh này") {
					t.Fatalf("exported %+v:%s", x.Filters(), dump(out))
				}
				return
			}
			if len(x.Filters()) != 1 {
				t.Fatalf("%d exports:%s", len(x.Filters()), dump(out))
			}
			if got := x.Filters()[0].Sheets.List(); !slices.Equal(got, r.sheets) {
				t.Errorf("sheets asked = %v, want %v", got, r.sheets)
			}
			if text := allText(out); !strings.Contains(text, ": "+r.counts+". Tệp") {
				t.Errorf("caption does not count %q:%s", r.counts, dump(out))
			}
			var audited []campaign.AuditEntry
			for _, e := range c.audit.Entries() {
				if e.Action == "data.export" {
					audited = append(audited, e)
				}
			}
			want := campaign.ExportSheetsOf(r.sheets...).String()
			if len(audited) != 1 || audited[0].After.(map[string]any)["sheets"] != want {
				t.Errorf("export audited = %+v, want sheets %s", audited, want)
			}
		})
	}
}

// TestExport_WorkbookOfEveryRole sends each role's /export through the real exporter and reads
// the workbook sent as a read-only reader does: each sheet's dimension and filter are right, the
// sheets are those the role may see, and the anonymous donor is named in none.
func TestExport_WorkbookOfEveryRole(t *testing.T) {
	for _, r := range exportRoles {
		if r.sheets == nil {
			continue // refused: TestExport_SheetsOfEveryRole
		}
		t.Run(r.name, func(t *testing.T) {
			c, _ := newFindChat(t)
			src := &typedSource{}
			c.e.cfg.Exporter = export.New(src, export.Options{Dir: t.TempDir(), Location: campaign.Default().Location})
			c.become(r.id, "vi")
			wb, err := exporttest.Read(sentFile(t, c.send(cmd("export", "xlsx"))))
			if err != nil {
				t.Fatal(err)
			}
			if err := wb.Check(); err != nil {
				t.Error(err)
			}
			if got := wb.Names(); !slices.Equal(got, r.titles) {
				t.Errorf("sheets = %q, want %q", got, r.titles)
			}
			if !slices.Equal(src.asked, r.sheets) {
				t.Errorf("the source was asked for %v, want %v", src.asked, r.sheets)
			}
			for _, s := range wb.Sheets {
				if len(s.Records()) != 1 {
					t.Errorf("%s has %d rows, want 1", s.Name, len(s.Records()))
				}
				for _, v := range anonymousDonor {
					if strings.Contains(s.Text(), v) {
						t.Errorf("%s names the anonymous donor: %q", s.Name, v)
					}
				}
			}
			if p := wb.Sheet("Ủng hộ"); p != nil && p.Records()[0]["Nhà hảo tâm"] != "Ẩn danh" {
				t.Errorf("pledge donor = %q, want Ẩn danh", p.Records()[0]["Nhà hảo tâm"])
			}
			if d := wb.Sheet("Bàn giao"); d.Records()[0]["Nhà hảo tâm"] != "Ẩn danh" {
				t.Errorf("delivery donor = %q, want Ẩn danh", d.Records()[0]["Nhà hảo tâm"])
			}
		})
	}

	// The ZIP of CSV files holds the same sheets.
	c, _ := newFindChat(t)
	c.e.cfg.Exporter = export.New(&typedSource{}, export.Options{Dir: t.TempDir()})
	c.become(wardOffID, "vi")
	path := sentFile(t, c.send(cmd("export", "csv")))
	names, contents := zipFiles(t, path)
	if !slices.Equal(names, []string{"dang-ky.csv", "ban-giao.csv", "theo-truong.csv"}) {
		t.Errorf("ward official's CSV files = %q, want dang-ky.csv, ban-giao.csv and theo-truong.csv", names)
	}
	for name, b := range contents {
		for _, v := range anonymousDonor {
			if strings.Contains(b, v) {
				t.Errorf("%s names the anonymous donor: %q", name, v)
			}
		}
	}
}

// TestExport_VietnameseWords: /export takes its filter words in Vietnamese, with or without
// accents, hyphens or spaces, and still in English; statuses too.
func TestExport_VietnameseWords(t *testing.T) {
	loc := campaign.Default().Location
	from, to := time.Date(2021, 9, 1, 0, 0, 0, 0, loc), time.Date(2021, 9, 21, 0, 0, 0, 0, loc)
	for _, tc := range []struct {
		args     string
		ward     string
		status   campaign.RegistrationStatus
		from, to time.Time
	}{
		{"phuong Linh Trung trang-thai da-duyet tu 1/9 den 20/9", wardLT, campaign.StatusVerified, from, to},
		{"phường linh trung trạng thái đã duyệt từ ngày 1/9 đến ngày 20/9", wardLT, campaign.StatusVerified, from, to},
		{"Phường Linh Trung Trạng-Thái Đã-Xác-Minh Từ 1/9 Đến 20/9", wardLT, campaign.StatusVerified, from, to},
		{"ward Linh Trung status verified from 1/9 to 20/9", wardLT, campaign.StatusVerified, from, to},
		{"trangthai cho-xac-minh", "", campaign.StatusSubmitted, time.Time{}, time.Time{}},
		{"trang-thai chờ bổ sung thông tin", "", campaign.StatusNeedsInfo, time.Time{}, time.Time{}},
		{"status needs_info", "", campaign.StatusNeedsInfo, time.Time{}, time.Time{}},
		{"status needs-info", "", campaign.StatusNeedsInfo, time.Time{}, time.Time{}},
		// "từ" starts a date, and "từ chối" is a status.
		{"trạng thái từ chối từ 1/9", "", campaign.StatusRejected, from, time.Time{}},
		{"trang-thai khong-duyet den 20/9", "", campaign.StatusRejected, time.Time{}, to},
		{"trang-thai da-phan-bo", "", campaign.StatusAllocated, time.Time{}, time.Time{}},
		{"trang-thai đã trao thiết bị phuong 26800", wardLT, campaign.StatusDelivered, time.Time{}, time.Time{}},
	} {
		c, x := newFindChat(t)
		c.become(officialID, "vi")
		out := c.send(cmd("export", tc.args))
		if len(x.Filters()) != 1 {
			t.Errorf("/export %s: not exported:%s", tc.args, dump(out))
			continue
		}
		f := x.Filters()[0]
		if f.WardCode != tc.ward || f.Status != tc.status || !f.From.Equal(tc.from) || !f.To.Equal(tc.to) {
			t.Errorf("/export %s: filter = %+v, want ward %q status %q from %v to %v", tc.args, f, tc.ward, tc.status, tc.from, tc.to)
		}
	}
	for _, bad := range []string{"trang-thai dang-lam", "trang-thai", "trạng thái đã", "tu", "den 31/2", "phuong xyz"} {
		c, x := newFindChat(t)
		c.become(officialID, "vi")
		out := c.send(cmd("export", bad))
		if len(x.Filters()) != 0 || !strings.Contains(allText(out), "Cách dùng: /export [csv] [phuong") {
			t.Errorf("/export %s:%s", bad, dump(out))
		}
	}
}

// TestExportStatusWords: every status has words, and no word names two.
func TestExportStatusWords(t *testing.T) {
	seen := map[string]campaign.RegistrationStatus{}
	for _, s := range campaign.RegistrationStatuses {
		if len(exportStatusWords[s]) == 0 {
			t.Errorf("status %s has no words for /export", s)
		}
	}
	for s, words := range exportStatusWords {
		for _, w := range words {
			if w != exportWordKey(w) {
				t.Errorf("%s: word %q is not a key", s, w)
			}
			if other, ok := seen[w]; ok {
				t.Errorf("%q names %s and %s", w, other, s)
			}
			seen[w] = s
			if exportKeyword(w) {
				t.Errorf("%q of %s is a keyword", w, s)
			}
		}
	}
}

// zipFiles returns the names of a ZIP's files in order, and their texts.
func zipFiles(t *testing.T, path string) ([]string, map[string]string) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	contents := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, f.Name)
		contents[f.Name] = string(b)
	}
	return names, contents
}
