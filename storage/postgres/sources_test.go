package postgres_test

import (
	"archive/zip"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// sourcedRegistration is one registration of the sources' dataset.
type sourcedRegistration struct {
	source campaign.Source
	ward   string
	school string
	status campaign.RegistrationStatus
}

// sourcedDataset has registrations of every source, in two wards, with one school written three
// ways ("THCS Linh Trung", "Trường THCS Linh Trung", "trường thcs linh trung"), in every status
// group (withdrawn too), and one erased (no school).
var sourcedDataset = []sourcedRegistration{
	{campaign.SourceChat, "26800", "THCS Linh Trung", campaign.StatusVerified},
	{campaign.SourceChat, "26800", "THCS Linh Trung", campaign.StatusWithdrawn},
	{campaign.SourceChat, "26800", "Trường THCS Linh Trung", campaign.StatusRejected},
	{campaign.SourceChat, "26800", "Trường Tiểu học Linh Trung", campaign.StatusSubmitted},
	{campaign.SourceChat, "26794", "THPT Thủ Đức", campaign.StatusDelivered},
	{campaign.SourceChat, "26800", "", campaign.StatusNeedsInfo}, // erased: its school blanked
	{campaign.SourceList, "26800", "trường thcs linh trung", campaign.StatusSubmitted},
	{campaign.SourceList, "26800", "Tiểu học Linh Trung", campaign.StatusAllocated},
	{campaign.SourceList, "26794", "THPT Thủ Đức", campaign.StatusVerified},
	{campaign.SourceAssisted, "26800", "THCS Linh Trung", campaign.StatusSubmitted},
	{campaign.SourceAssisted, "26794", "Trường THPT Thủ Đức", campaign.StatusWithdrawn},
}

// Staff of the sources' dataset: who sent the list, who registered families on their behalf.
var (
	listSender = campaign.Staff{Channel: "telegram", ExternalID: "7501", Name: "Lê Thị Giáo", Role: campaign.RoleEducationOffice}
	assistant  = campaign.Staff{Channel: "zalo", ExternalID: "8801", Name: "Võ Thị Hội", Role: campaign.RoleWomensUnion, WardCode: "26800"}
)

// seedSources stores sourcedDataset: chat registrations through the registration store, the list
// rows through the list store (one list), assisted ones as the assisted registration stores them
// (no chat, the staff member as registrar and witness), then each moved to its status.
func seedSources(t *testing.T, db *postgres.DB, c *campaign.Campaign) {
	t.Helper()
	ctx := t.Context()
	regs := postgres.NewRegistrationStore(db, c)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.SQLX().ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for i, s := range []campaign.Staff{listSender, assistant} {
		inv := exportExec(t, db, `
			INSERT INTO invitations (code_hash, role, ward_code, created_by, created_at, expires_at, used_at, used_by)
			VALUES (sha256($1::bytea), $2, nullif($3, ''), 'telegram:1', $4::timestamptz, $4::timestamptz + interval '1 day', $4::timestamptz, $5)`,
			[]byte(fmt.Sprint("sources-invitation", i)), string(s.Role), s.WardCode, exportUTC(10, 0, 0), s.Channel+":"+s.ExternalID)
		exportExec(t, db, `
			INSERT INTO staff (channel, external_id, name, role, ward_code, invitation_id, created_at, updated_at)
			VALUES ($1, $2, $3, $4, nullif($5, ''), $6, $7, $7)`,
			s.Channel, s.ExternalID, s.Name, string(s.Role), s.WardCode, inv, exportUTC(10, 0, 0))
	}
	list := campaign.ListImport{Sender: listSender, Actor: "telegram:7501", FileHash: "sources-list"}
	var listed []int
	for i, d := range sourcedDataset {
		r := validRegistration(fmt.Sprintf("sources-%d", i))
		r.StudentName = fmt.Sprintf("Nguyễn Văn %c", 'A'+i)
		r.ChatID = fmt.Sprint(9100 + i)
		r.WardCode, r.School = d.ward, d.school
		if d.school == "" {
			r.School = "Trường sẽ xóa"
		}
		if d.source == campaign.SourceList {
			r.Channel, r.ChatID, r.UserID, r.ParentName, r.ParentPhone = "", "", "", "", ""
			list.Rows = append(list.Rows, campaign.ListRow{Row: len(list.Rows) + 2, Registration: r})
			listed = append(listed, i)
			continue
		}
		r = submit(t, regs, r)
		if d.source == campaign.SourceAssisted {
			exec(`UPDATE registrations SET source = 'assisted', registered_by = 'zalo:8801', consent_witness = 'zalo:8801',
				channel = '', chat_id = '', user_id = '' WHERE id = $1`, r.ID)
		}
		exec(`UPDATE registrations SET status = $2, school = $3 WHERE id = $1`, r.ID, string(d.status), d.school)
	}
	list.RowsRead = len(list.Rows)
	res, err := postgres.NewListStore(db, c).ImportList(ctx, &list)
	if err != nil || len(res.Accepted) != len(listed) {
		t.Fatalf("ImportList: %+v, %v; want %d accepted", res, err, len(listed))
	}
	for k, a := range res.Accepted {
		exec(`UPDATE registrations SET status = $2 WHERE code = $1`, a.Code, string(sourcedDataset[listed[k]].status))
	}
}

// want counts sourcedDataset as the figures should: in ward ("" for the city).
func wantSources(ward string) (campaign.RegistrationCounts, map[string]campaign.RegistrationCounts) {
	var total campaign.RegistrationCounts
	schools := map[string]campaign.RegistrationCounts{}
	for _, d := range sourcedDataset {
		if ward != "" && d.ward != ward {
			continue
		}
		total.Count(d.status, d.source, 1)
		key := map[string]string{
			"THCS Linh Trung": "thcs", "Trường THCS Linh Trung": "thcs", "trường thcs linh trung": "thcs",
			"Trường Tiểu học Linh Trung": "th", "Tiểu học Linh Trung": "th",
			"THPT Thủ Đức": "thpt", "Trường THPT Thủ Đức": "thpt", "": "",
		}[d.school]
		sc := schools[key]
		sc.Count(d.status, d.source, 1)
		schools[key] = sc
	}
	return total, schools
}

func TestProgressStore_BySourceAndSchool(t *testing.T) {
	db := newDB(t)
	c := campaign.Default()
	seedSources(t, db, c)
	s := postgres.NewProgressStore(db, c)

	for _, ward := range []string{"", "26800", "26794"} {
		t.Run("ward "+ward, func(t *testing.T) {
			got := progress(t, s, progressNow, ward)
			sameProgress(t, got, counted(t, db, c, progressNow, ward))
			r := got.Registrations
			want, wantSchools := wantSources(ward)
			want.NewToday = r.NewToday
			if r != want {
				t.Errorf("registrations %+v, want %+v", r, want)
			}
			// The figures add up every way they are shown.
			if r.BySource.Sum() != r.Total || r.Verified+r.Rejected+r.Pending+r.Withdrawn != r.Total {
				t.Errorf("%+v: sources (%d) and statuses (%d) do not add up to the total %d", r,
					r.BySource.Sum(), r.Verified+r.Rejected+r.Pending+r.Withdrawn, r.Total)
			}
			bySchools := 0
			var sources campaign.SourceCounts
			for _, sc := range got.Schools {
				bySchools += sc.Total
				for _, src := range campaign.Sources {
					sources.Add(src, sc.BySource.Of(src))
				}
				if sc.BySource.Sum() != sc.Total || sc.Verified+sc.Rejected+sc.Pending+sc.Withdrawn != sc.Total {
					t.Errorf("school %q: %+v does not add up", sc.Name, sc)
				}
			}
			if bySchools != r.Total || sources != r.BySource {
				t.Errorf("schools add up to %d (sources %+v), want the total %d (%+v)", bySchools, sources, r.Total, r.BySource)
			}
			if len(got.Schools) != len(wantSchools) {
				t.Fatalf("schools %+v, want %d of them", got.Schools, len(wantSchools))
			}
			for _, sc := range got.Schools {
				w, ok := wantSchools[map[string]string{"thcs linh trung": "thcs", "th linh trung": "th", "thpt thu duc": "thpt", "": ""}[sc.Key]]
				if !ok || sc.RegistrationCounts != w {
					t.Errorf("school %q (%q): %+v, want %+v", sc.Name, sc.Key, sc.RegistrationCounts, w)
				}
			}
		})
	}

	city := progress(t, s, progressNow, "")
	// The most registrations first, under the name most of them write; no school last.
	if sc := city.Schools[0]; sc.Name != "THCS Linh Trung" || sc.Total != 5 || sc.BySource != (campaign.SourceCounts{Chat: 3, List: 1, Assisted: 1}) {
		t.Errorf("first school %+v, want THCS Linh Trung with 5 (3 chat, 1 list, 1 assisted)", sc)
	}
	if last := city.Schools[len(city.Schools)-1]; last.Key != "" || last.Name != "" || last.Total != 1 {
		t.Errorf("last school %+v, want the registrations without a school", last)
	}
	if city.Registrations.BySource != (campaign.SourceCounts{Chat: 6, List: 3, Assisted: 2}) || city.Registrations.Withdrawn != 2 {
		t.Errorf("city %+v, want 6 chat, 3 list, 2 assisted, 2 withdrawn", city.Registrations)
	}
}

// The export's "Theo trường" sheet and its registrations sheet hold the same registrations: per
// school and per source, the counts of one are the rows of the other, and the progress figures'.
func TestExportSource_CountsBySchoolAndSource(t *testing.T) {
	db := newDB(t)
	c := campaign.Default()
	seedSources(t, db, c)
	// An assisted registration whose registrar is no longer in the staff table: named by the
	// word "cán bộ", never by the chat id.
	if _, err := db.SQLX().Exec(`UPDATE registrations SET registered_by = 'telegram:424242', consent_witness = 'telegram:424242'
		WHERE id = (SELECT max(id) FROM registrations WHERE source = 'assisted')`); err != nil {
		t.Fatal(err)
	}
	progressStore := postgres.NewProgressStore(db, c)
	ward, err := campaign.ScopeExport(campaign.Staff{Role: campaign.RoleWardOfficial, WardCode: "26800"}, campaign.ExportFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		f      campaign.ExportFilter
		scope  string // the progress figures to compare with; "-" for none
		rows   int
		source map[string]int
	}{
		{"city", campaign.ExportFilter{}, "", 11,
			map[string]int{"Gia đình tự đăng ký": 6, "Danh sách trường/phường": 3, "Cán bộ đăng ký giúp": 2}},
		{"ward official", ward, "26800", 8,
			map[string]int{"Gia đình tự đăng ký": 5, "Danh sách trường/phường": 2, "Cán bộ đăng ký giúp": 1}},
		{"waiting for verification", campaign.ExportFilter{Status: campaign.StatusSubmitted}, "-", 3,
			map[string]int{"Gia đình tự đăng ký": 1, "Danh sách trường/phường": 1, "Cán bộ đăng ký giúp": 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file, wb := exportWorkbook(t, db, c, tt.f)
			regs := exportSheet(t, wb, "Đăng ký")
			schools := exportSheet(t, wb, "Theo trường")
			if len(regs) != tt.rows || file.Rows[campaign.SheetSchools] != len(schools) {
				t.Fatalf("%d registrations (want %d), %d school rows (Rows says %d)", len(regs), tt.rows, len(schools), file.Rows[campaign.SheetSchools])
			}
			// The registrations sheet, counted by hand: by school key, and by source.
			type tally struct{ total, chat, list, assisted int }
			bySchool := map[string]*tally{}
			bySource := map[string]int{}
			for _, r := range regs {
				k := campaign.SchoolKey(r["Trường"])
				if bySchool[k] == nil {
					bySchool[k] = &tally{}
				}
				b := bySchool[k]
				b.total++
				bySource[r["Nguồn đăng ký"]]++
				switch r["Nguồn đăng ký"] {
				case "Gia đình tự đăng ký":
					b.chat++
					exportCheck(t, r["Mã hồ sơ"], r, map[string]string{"Mã danh sách": "", "Dòng trong danh sách": "",
						"Cán bộ đăng ký giúp / gửi danh sách": "", "Hình thức đồng ý": "Phụ huynh đồng ý qua tin nhắn"})
				case "Danh sách trường/phường":
					b.list++
					if r["Mã danh sách"] != "DS-000001" || r["Dòng trong danh sách"] == "" {
						t.Errorf("%s: list %q row %q", r["Mã hồ sơ"], r["Mã danh sách"], r["Dòng trong danh sách"])
					}
					exportCheck(t, r["Mã hồ sơ"], r, map[string]string{"Cán bộ đăng ký giúp / gửi danh sách": "Lê Thị Giáo (Phòng Giáo dục)",
						"Hình thức đồng ý": "Theo danh sách trường/phường"})
				case "Cán bộ đăng ký giúp":
					b.assisted++
					if who := r["Cán bộ đăng ký giúp / gửi danh sách"]; who != "Võ Thị Hội (Hội Phụ nữ phường)" && who != "cán bộ" {
						t.Errorf("%s: registered by %q", r["Mã hồ sơ"], who)
					}
					exportCheck(t, r["Mã hồ sơ"], r, map[string]string{"Mã danh sách": "", "Hình thức đồng ý": "Trực tiếp, có cán bộ chứng kiến"})
				default:
					t.Errorf("%s: source %q", r["Mã hồ sơ"], r["Nguồn đăng ký"])
				}
			}
			if !maps.Equal(bySource, tt.source) {
				t.Errorf("registrations by source %v, want %v", bySource, tt.source)
			}
			n := func(r map[string]string, h string) int {
				v, err := strconv.Atoi(r[h])
				if err != nil {
					t.Fatalf("%s %s = %q: %v", r["Trường"], h, r[h], err)
				}
				return v
			}
			sum := 0
			for _, s := range schools {
				k := campaign.SchoolKey(s["Trường"])
				if s["Trường"] == "(không ghi trường)" {
					k = ""
				}
				want := bySchool[k]
				if want == nil {
					t.Errorf("school row %q has no registration", s["Trường"])
					continue
				}
				delete(bySchool, k)
				got := tally{n(s, "Tổng số hồ sơ"), n(s, "Gia đình tự đăng ký"), n(s, "Từ danh sách trường/phường"), n(s, "Cán bộ đăng ký giúp")}
				if got != *want {
					t.Errorf("school %q: %+v, the registrations sheet %+v", s["Trường"], got, *want)
				}
				if st := n(s, "Chờ xác minh") + n(s, "Đã duyệt") + n(s, "Không được duyệt") + n(s, "Gia đình đã rút hồ sơ"); st != got.total {
					t.Errorf("school %q: statuses add up to %d, total %d", s["Trường"], st, got.total)
				}
				sum += got.total
			}
			if len(bySchool) != 0 || sum != len(regs) {
				t.Errorf("schools add up to %d of %d registrations; missing %v", sum, len(regs), bySchool)
			}
			if tt.scope == "-" {
				return
			}
			p := progress(t, progressStore, progressNow, tt.scope)
			if p.Registrations.Total != len(regs) || len(p.Schools) != len(schools) {
				t.Errorf("progress: %d registrations in %d schools; the export %d in %d", p.Registrations.Total, len(p.Schools), len(regs), len(schools))
			}
			for i, sc := range p.Schools {
				if i < len(schools) && (n(schools[i], "Tổng số hồ sơ") != sc.Total || n(schools[i], "Cán bộ đăng ký giúp") != sc.BySource.Assisted) {
					t.Errorf("school %d: the summary's %+v, the export's %v", i, sc, schools[i])
				}
			}
			_, contents := readXLSXParts(t, file.Path)
			for name, b := range contents {
				if strings.Contains(string(b), "424242") || strings.Contains(string(b), "8801") {
					t.Errorf("%s holds a registrar's chat id", name)
				}
			}
		})
	}
}

// readXLSXParts returns the parts of a workbook by name.
func readXLSXParts(t *testing.T, path string) ([]string, map[string][]byte) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	parts := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, f.Name)
		parts[f.Name] = b
	}
	return names, parts
}

// A list's row and an assisted registration wait in the officials' queue and are proposed for
// allocation exactly like the family's own chat registration with the same circumstances:
// the same score, and an order set by when they came, never by how.
func TestCaseStore_SourcesAlike(t *testing.T) {
	db := newDB(t)
	c := campaign.Default()
	ctx := t.Context()
	regs := postgres.NewRegistrationStore(db, c)
	cases := postgres.NewCaseStore(db, c)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.SQLX().ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// The list's row came first, then the assisted registration, then the chat's.
	child := func(name string) campaign.Registration {
		r := validRegistration("alike-" + name)
		r.StudentName, r.ChatID = "Trần Văn "+name, "alike-"+name
		return r
	}
	l := child("Danh")
	l.Channel, l.ChatID, l.UserID, l.ParentName, l.ParentPhone = "", "", "", "", ""
	res, err := postgres.NewListStore(db, c).ImportList(ctx, &campaign.ListImport{Sender: listSender, Actor: "telegram:7501",
		FileHash: "alike", RowsRead: 1, Rows: []campaign.ListRow{{Row: 2, Registration: l}}})
	if err != nil || len(res.Accepted) != 1 {
		t.Fatalf("ImportList: %+v, %v", res, err)
	}
	listCode := res.Accepted[0].Code
	assisted := submit(t, regs, child("Giúp"))
	exec(`UPDATE registrations SET source = 'assisted', registered_by = 'zalo:8801', consent_witness = 'zalo:8801',
		channel = '', chat_id = '', user_id = '' WHERE id = $1`, assisted.ID)
	chat := submit(t, regs, child("Chát"))
	for i, code := range []string{listCode, assisted.Code, chat.Code} {
		exec(`UPDATE registrations SET created_at = $2 WHERE code = $1`, code, progressNow.Add(time.Duration(i-10)*time.Hour))
	}
	order := []string{listCode, assisted.Code, chat.Code}

	pending, err := cases.PendingCases(ctx, "", nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	var queue []string
	for _, p := range pending {
		queue = append(queue, p.Code)
	}
	if !slices.Equal(queue, order) {
		t.Errorf("officials' queue %q, want the order they came in %q", queue, order)
	}

	exec(`UPDATE registrations SET status = 'verified'`)
	prop, err := cases.Proposal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(prop.Candidates) != 3 {
		t.Fatalf("candidates %+v, want the three", prop.Candidates)
	}
	byCode := map[string]campaign.Candidate{}
	for _, cand := range prop.Candidates {
		byCode[cand.Code] = cand
	}
	want := byCode[chat.Code]
	if want.Score.Points == 0 {
		t.Fatal("the chat's candidate scored nothing: the comparison proves little")
	}
	for _, code := range []string{listCode, assisted.Code} {
		got := byCode[code]
		got.Code, got.CreatedAt = want.Code, want.CreatedAt
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: candidate %+v, want the chat's %+v", code, got, want)
		}
	}
	// Two tablets for three children alike: the two who came first get them, whatever their source.
	allocs, skips := campaign.Match(prop.Candidates, campaign.Supply{Devices: []campaign.ReadyDevice{
		{Label: "TB-000001", Type: campaign.DeviceTablet}, {Label: "TB-000002", Type: campaign.DeviceTablet}}}, c.MatchRules())
	if len(allocs) != 2 || allocs[0].Code != listCode || allocs[1].Code != assisted.Code || len(skips) != 1 || skips[0].Code != chat.Code {
		t.Errorf("allocations %+v, skips %+v; want the list's and the assisted one served, in that order", allocs, skips)
	}
}
