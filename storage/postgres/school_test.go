package postgres_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/export"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// The school_key_of function of migration 00025 is campaign.SchoolKey rule for rule: every letter
// SchoolKey folds, every other letter of the Latin blocks (which both make a space), and names as
// schools and parents write them give the same key in SQL and in Go.
func TestSchoolKey_SQLAgreesWithGo(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	inputs := []string{
		"Trường THCS Linh Trung", "THCS Linh Trung", "trung học cơ sở linh trung", "TRƯỜNG THCS LINH TRUNG.",
		"Trường Trung học cơ sở  Linh   Trung", "Tr. THCS Linh Trung", "Trường Tiểu học Bình Thọ", "TH Bình Thọ",
		"Trường THPT Thủ Đức", "Trường Phổ thông trung học Thủ Đức", "Trường TH&THCS Việt Úc", "THCS-THPT Hoa Sen",
		"Trường Trường Chinh", "Trường", "tr", "", "   ", "!!!", "Trường Tiểu học tiểu học", "Phổ thông cơ sở Linh Xuân",
		"Tiểu học Đặng Thị Rành (cơ sở 2)", "Trường THCS Nguyễn Văn Bá – Linh Chiểu", "École Française", "Trường Quốc tế 123",
		"Truong thcs linh trung", "THCS Linh Trung\n", "Ｔrường THCS", "日本語学校", "Tiểu học Linh Trung", // NFD below
		"Tie\u0302\u0301u ho\u0323c Linh Trung",
	}
	from, _ := campaign.SchoolKeyLetters()
	for _, r := range from {
		inputs = append(inputs, string(r), "x"+string(r)+"y")
	}
	for _, span := range [][2]rune{{0x20, 0x7E}, {0xA0, 0x24F}, {0x1E00, 0x1EFF}} {
		for r := span[0]; r <= span[1]; r++ {
			inputs = append(inputs, "a"+string(r)+"b")
		}
	}
	var got []string
	if err := db.SQLX().Select(&got, `SELECT school_key_of(x) FROM unnest($1::text[]) WITH ORDINALITY AS u(x, n) ORDER BY n`,
		pq.Array(inputs)); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(inputs) {
		t.Fatalf("%d keys for %d names", len(got), len(inputs))
	}
	bad := 0
	for i, in := range inputs {
		if want := campaign.SchoolKey(in); got[i] != want {
			bad++
			if bad <= 10 {
				t.Errorf("school_key_of(%q) = %q, SchoolKey = %q", in, got[i], want)
			}
		}
	}
	if got[0] != "thcs linh trung" || got[2] != "thcs linh trung" {
		t.Errorf("keys %q, %q; want thcs linh trung", got[0], got[2])
	}
}

// A school is invited with its name and ward, and its member acts for that school: the invitation,
// the staff row, the list of staff, the audit and a revocation carry the school.
func TestStaffStore_SchoolRole(t *testing.T) {
	t.Parallel()
	db, s, _ := newStaffStore(t)
	ctx := t.Context()
	code, err := s.CreateInvitation(ctx, campaign.Invitation{Role: campaign.RoleSchool, WardCode: "26800",
		School: "  Trường THCS   Linh Trung ", CreatedBy: "telegram:1", ExpiresAt: campaignDay().Add(24 * time.Hour)})
	if err != nil {
		t.Fatalf("CreateInvitation(school): %v", err)
	}
	invs, err := s.Invitations(ctx)
	if err != nil || len(invs) != 1 || invs[0].Role != campaign.RoleSchool || invs[0].WardCode != "26800" || invs[0].School != "Trường THCS Linh Trung" {
		t.Fatalf("Invitations = %+v, %v; want the school's, its name normalised", invs, err)
	}
	entries, err := postgres.NewAuditLog(db).Entries(ctx, "invitation:1")
	if err != nil || len(entries) != 1 || !strings.Contains(string(entries[0].After.(json.RawMessage)), `"school": "Trường THCS Linh Trung"`) &&
		!strings.Contains(string(entries[0].After.(json.RawMessage)), `"school":"Trường THCS Linh Trung"`) {
		t.Errorf("invitation audit = %+v, %v; want the school", entries, err)
	}

	// The member was a volunteer: the school replaces that role.
	redeem(t, s, invite(t, s, campaign.RoleVolunteer, ""), campaign.Staff{Channel: "telegram", ExternalID: "42", Name: "Cô Lan"})
	r, err := s.RedeemInvitation(ctx, code, campaign.Staff{Channel: "telegram", ExternalID: "42", Name: "Cô Lan", School: "forged"}, true, nil)
	if err != nil {
		t.Fatalf("RedeemInvitation: %v", err)
	}
	want := campaign.Staff{Channel: "telegram", ExternalID: "42", Name: "Cô Lan", Role: campaign.RoleSchool, WardCode: "26800", School: "Trường THCS Linh Trung"}
	if r.Staff != want || r.Invitation.School != want.School || r.Previous.Role != campaign.RoleVolunteer {
		t.Errorf("redemption = %+v, want the school bound over the volunteer role", r)
	}
	got, err := s.StaffMember(ctx, "telegram", "42")
	if err != nil || got != want {
		t.Errorf("StaffMember = %+v, %v; want %+v", got, err, want)
	}
	list, err := s.ListStaff(ctx)
	if err != nil || len(list) != 1 || list[0] != want {
		t.Errorf("ListStaff = %+v, %v", list, err)
	}
	if role, ward := contactRole(t, db, "telegram", "42"); role != "school" || ward != "26800" {
		t.Errorf("contact role %q ward %q", role, ward)
	}
	joins, err := postgres.NewAuditLog(db).Entries(ctx, "staff:telegram:42")
	if err != nil || len(joins) != 2 || !strings.Contains(strings.ReplaceAll(string(joins[1].After.(json.RawMessage)), " ", ""), `"school":"TrườngTHCSLinhTrung"`) {
		t.Errorf("join audit = %+v, %v", joins, err)
	}

	// The tables hold the rule too: a school without a name, or a ward role with one, is refused.
	for _, q := range []string{
		`UPDATE staff SET school = '' WHERE external_id = '42'`,
		`UPDATE staff SET ward_code = NULL WHERE external_id = '42'`,
		`UPDATE invitations SET school = 'THCS Linh Trung' WHERE role = 'volunteer'`,
	} {
		if _, err := db.SQLX().Exec(q); err == nil {
			t.Errorf("%s: accepted", q)
		}
	}

	if err := s.RevokeStaff(ctx, "telegram", "42", "telegram:1"); err != nil {
		t.Fatal(err)
	}
	revoked, err := postgres.NewAuditLog(db).Entries(ctx, "staff:telegram:42")
	if err != nil || len(revoked) != 3 || revoked[2].Action != "staff.revoke" ||
		!strings.Contains(strings.ReplaceAll(string(revoked[2].Before.(json.RawMessage)), " ", ""), `"school":"TrườngTHCSLinhTrung"`) {
		t.Errorf("revoke audit = %+v, %v", revoked, err)
	}

	// A school is no subscriber of the summary.
	_, err = postgres.NewSubscriptionStore(db).Subscribe(ctx, want)
	wantCode(t, "Subscribe(school)", err, campaign.EINVALID)
}

// schoolWork is case work with children of two schools, one written two ways, and a third
// school's child with the same phone, and the deliveries of one child of each school.
type schoolWork struct {
	*caseWork
	linhTrung, linhTrungLong, binhTho, erased campaign.Registration
	school                                    campaign.Staff
}

func newSchoolWork(t *testing.T) *schoolWork {
	t.Helper()
	w := &schoolWork{caseWork: newCaseWork(t)}
	w.linhTrung = w.verified(t, "Nguyễn Văn An", func(r *campaign.Registration) {
		r.School = "THCS Linh Trung"
		r.Level, r.Grade = campaign.LevelLowerSecondary, 7
	})
	w.linhTrungLong = w.register(t, "Lê Thị Hoa", func(r *campaign.Registration) {
		r.School, r.WardCode, r.Level, r.Grade = "Trường Trung học cơ sở Linh Trung", wardLinhXuan, campaign.LevelLowerSecondary, 6
	})
	w.binhTho = w.verified(t, "Trần Minh Khang", func(r *campaign.Registration) {
		r.School = "Trường THCS Bình Thọ"
		r.Level, r.Grade = campaign.LevelLowerSecondary, 7
	})
	w.erased = w.register(t, "Phạm Văn Dũng", func(r *campaign.Registration) { r.School = "THCS Linh Trung" })
	if _, err := postgres.NewPrivacyStore(w.db, w.c).EraseRegistration(t.Context(), w.erased.Code, "telegram:9001", campaign.ErasureFamilyRequest); err != nil {
		t.Fatal(err)
	}
	w.allocate(t, campaign.Allocation{Code: w.linhTrung.Code, DeviceLabel: w.readyDevice(t, campaign.DeviceLaptop, "").Label}, "a1")
	w.allocate(t, campaign.Allocation{Code: w.binhTho.Code, DeviceLabel: w.readyDevice(t, campaign.DeviceLaptop, "").Label}, "a2")
	w.school = campaign.Staff{Channel: "telegram", ExternalID: "7001", Role: campaign.RoleSchool, WardCode: wardLinhTrung, School: "Trường THCS Linh Trung"}
	return w
}

// A school's search by phone finds its own students only (in any ward, its name written any
// way), never another school's child with the same phone, nor an erased registration.
func TestFindStore_SchoolScope(t *testing.T) {
	t.Parallel()
	w := newSchoolWork(t)
	ctx := t.Context()
	find := postgres.NewFindStore(w.db, w.c)
	const phone = "+84903123456" // every child's parent in validRegistration
	codes := func(scope campaign.FindScope) []string {
		t.Helper()
		regs, pledges, err := find.FindByPhone(ctx, phone, scope, 10)
		if err != nil {
			t.Fatalf("FindByPhone(%+v): %v", scope, err)
		}
		var out []string
		for _, r := range regs {
			out = append(out, r.Code)
		}
		for _, p := range pledges {
			out = append(out, p.Code)
		}
		slices.Sort(out)
		return out
	}
	mine := []string{w.linhTrung.Code, w.linhTrungLong.Code}
	slices.Sort(mine)
	scope := campaign.FindScopeOf(w.school)
	if scope != (campaign.FindScope{School: w.school.School, Registrations: true}) {
		t.Errorf("FindScopeOf(school) = %+v", scope)
	}
	if got := codes(scope); !slices.Equal(got, mine) {
		t.Errorf("the school finds %q, want its two students %q", got, mine)
	}
	other := w.school
	other.School = "THCS Bình Thọ"
	if got := codes(campaign.FindScopeOf(other)); !slices.Equal(got, []string{w.binhTho.Code}) {
		t.Errorf("Bình Thọ finds %q, want %q", got, w.binhTho.Code)
	}
	for _, nobody := range []string{"", "Trường THCS", "!!!"} {
		s := w.school
		s.School = nobody
		if got := codes(campaign.FindScopeOf(s)); len(got) != 0 {
			t.Errorf("a school named %q finds %q, want nothing", nobody, got)
		}
		if got := codes(campaign.FindScope{School: nobody, Registrations: true}); nobody != "" && len(got) != 0 {
			t.Errorf("a scope of school %q finds %q, want nothing", nobody, got)
		}
	}
	// The key follows the school: a family's correction moves the child to another school.
	moved, err := postgres.NewFamilyStore(w.db, w.c).Correct(ctx, w.linhTrungLong.Code, parentChat,
		campaign.Correction{Field: campaign.CorrectSchool, Value: "THCS Bình Thọ"}, "fix-school", nil)
	if err != nil || !moved.Applied {
		t.Fatalf("Correct school = %+v, %v", moved, err)
	}
	if got := codes(scope); !slices.Equal(got, []string{w.linhTrung.Code}) {
		t.Errorf("after the correction the school finds %q, want %q", got, w.linhTrung.Code)
	}
	var key string
	if err := w.db.SQLX().Get(&key, `SELECT school_key FROM registrations WHERE code = $1`, w.erased.Code); err != nil || key != "" {
		t.Errorf("erased registration's school_key = %q, %v; want empty", key, err)
	}
}

// A school's export holds its own students and their deliveries, no other school's, and no
// pledges or devices (which have no school).
func TestExportSource_SchoolScope(t *testing.T) {
	t.Parallel()
	w := newSchoolWork(t)
	src := postgres.NewExportSource(w.db, w.c)
	f, err := campaign.ScopeExport(w.school, campaign.ExportFilter{School: "THCS Bình Thọ"})
	if err != nil {
		t.Fatal(err)
	}
	if f.School != w.school.School || !f.ShowPhones || f.Sheets != campaign.ExportSheetsOf(campaign.SheetRegistrations, campaign.SheetDeliveries) {
		t.Errorf("ScopeExport(school) = %+v", f)
	}
	codes := func(sheet campaign.ExportSheet, f campaign.ExportFilter) ([]string, error) {
		var out []string
		field := "code"
		if sheet == campaign.SheetDeliveries {
			field = "registration_code"
		}
		err = src.Rows(t.Context(), sheet, []string{field}, f, func(row []any) error {
			out = append(out, row[0].(string))
			return nil
		})
		slices.Sort(out)
		return out, err
	}
	mine := []string{w.linhTrung.Code, w.linhTrungLong.Code}
	slices.Sort(mine)
	if got, err := codes(campaign.SheetRegistrations, f); err != nil || !slices.Equal(got, mine) {
		t.Errorf("registrations = %q, %v; want %q", got, err, mine)
	}
	if got, err := codes(campaign.SheetDeliveries, f); err != nil || !slices.Equal(got, []string{w.linhTrung.Code}) {
		t.Errorf("deliveries = %q, %v; want the delivery of %s", got, err, w.linhTrung.Code)
	}
	inWard := f
	inWard.WardCode = wardLinhXuan
	if got, err := codes(campaign.SheetRegistrations, inWard); err != nil || !slices.Equal(got, []string{w.linhTrungLong.Code}) {
		t.Errorf("registrations in Linh Xuân = %q, %v", got, err)
	}
	all := f
	all.Sheets = 0 // every sheet: pledges and devices have no school to keep to
	for _, sheet := range []campaign.ExportSheet{campaign.SheetPledges, campaign.SheetDevices} {
		called := false
		err := src.Rows(t.Context(), sheet, export.Fields(sheet), all, func([]any) error { called = true; return nil })
		if campaign.ErrorCode(err) != campaign.EUNAUTHORIZED || called {
			t.Errorf("%s with a school: %v, rows %v; want EUNAUTHORIZED and none", sheet, err, called)
		}
	}
	noName := f
	noName.School = "!!!"
	_, err = codes(campaign.SheetRegistrations, noName)
	wantCode(t, "a school without a key", err, campaign.EINVALID)

	// The whole file, as /export writes it.
	e := export.New(src, export.Options{Dir: t.TempDir(), Location: w.c.Location})
	file, err := e.Export(t.Context(), f, campaign.FormatXLSX)
	if err != nil {
		t.Fatal(err)
	}
	if file.Rows[campaign.SheetRegistrations] != 2 || file.Rows[campaign.SheetDeliveries] != 1 || len(file.Rows) != 2 {
		t.Errorf("export rows = %v, want 2 registrations and 1 delivery", file.Rows)
	}
}

// Migration 00025 gives the registrations stored before it their school key (an erased one's is
// empty), which follows every later write of the school and no write may set.
func TestSchoolMigration_FillsTheKeysOfEarlierRows(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := dbAtVersion(t, 24)
	for i, school := range []string{"Trường Trung học cơ sở Linh Trung", "THCS Bình Thọ", ""} {
		var student int64
		if err := db.SQLX().Get(&student, `INSERT INTO students (campaign_id, full_name, name_key, birth_date, ward_code, created_at)
			VALUES ('thu-duc-2021', 'Em ' || $1::text, 'em ' || $1::text, '2012-05-03', '26800', now()) RETURNING id`, i); err != nil {
			t.Fatal(err)
		}
		erased := any(nil)
		if school == "" {
			erased = "2021-09-20"
		}
		if _, err := db.SQLX().Exec(`
			INSERT INTO registrations (campaign_id, code, status, channel, chat_id, parent_name, parent_phone,
				student_id, level, grade, school, ward_code, address, device_situation, needs, idempotency_key,
				consent_at, created_at, updated_at, erased_at)
			VALUES ('thu-duc-2021', 'TD-00000' || $1::text, 'submitted', 'telegram', '1001', CASE WHEN $4::timestamptz IS NULL THEN 'Phụ huynh' ELSE '' END,
				CASE WHEN $4::timestamptz IS NULL THEN '+84900000001' ELSE '' END, $2, 'lower_secondary', 7, $3, '26800', '', 'none', '{laptop}',
				'key' || $1::text, now(), now(), now(), $4)`, i+1, student, school, erased); err != nil {
			t.Fatal(err)
		}
	}
	if err := postgres.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := db.SQLX().Select(&keys, `SELECT school_key FROM registrations ORDER BY code`); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, []string{"thcs linh trung", "thcs binh tho", ""}) {
		t.Errorf("keys of the earlier rows = %q", keys)
	}
	// A later write of the school moves the key with it.
	if _, err := db.SQLX().Exec(`UPDATE registrations SET school = 'Tiểu học Linh Trung' WHERE code = 'TD-000002'`); err != nil {
		t.Fatal(err)
	}
	var key string
	if err := db.SQLX().Get(&key, `SELECT school_key FROM registrations WHERE code = 'TD-000002'`); err != nil || key != "th linh trung" {
		t.Errorf("key after an update = %q, %v", key, err)
	}
	// The key is the database's own: no write may set it.
	if _, err := db.SQLX().Exec(`UPDATE registrations SET school_key = 'thcs binh tho' WHERE code = 'TD-000001'`); err == nil {
		t.Error("school_key was written directly")
	}
}
