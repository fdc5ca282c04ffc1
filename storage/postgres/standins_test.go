package postgres_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// standInWork is a database with staff around two lists of Linh Trung's children: one a school
// (THCS Linh Trung, telegram:7100) sent, one a ward official of Linh Trung (telegram:7201) sent,
// and a child of Linh Xuân, a ward with no verifier, on the school's list.
type standInWork struct {
	*caseWork
	staff                           *postgres.StaffStore
	contacts                        *postgres.ContactStore
	schoolChild, wardChild, xuan    string
	schoolSender, wardSender        campaign.Staff
	schoolMate, otherSchool         campaign.Staff
	womensUnion, farWard, eduOffice campaign.Staff
}

func newStandInWork(t *testing.T) *standInWork {
	t.Helper()
	ctx := t.Context()
	w := &standInWork{caseWork: newCaseWork(t)}
	w.staff, w.contacts = postgres.NewStaffStore(w.db), postgres.NewContactStore(w.db)
	join := func(id string, role campaign.Role, ward, school, lang string) campaign.Staff {
		t.Helper()
		code, err := w.staff.CreateInvitation(ctx, campaign.Invitation{Role: role, WardCode: ward, School: school, CreatedBy: "telegram:1",
			ExpiresAt: campaignDay().Add(7 * 24 * time.Hour)})
		if err != nil {
			t.Fatalf("invite %s: %v", id, err)
		}
		s := redeem(t, w.staff, code, campaign.Staff{Channel: "telegram", ExternalID: id, Name: "Cán bộ " + id, Role: role, WardCode: ward, School: school})
		if err := w.contacts.UpsertContact(ctx, campaign.Contact{Channel: "telegram", ExternalID: id, Language: lang}); err != nil {
			t.Fatal(err)
		}
		return s
	}
	w.schoolSender = join("7100", campaign.RoleSchool, wardLinhTrung, "Trường THCS Linh Trung", "vi")
	w.schoolMate = join("7101", campaign.RoleSchool, wardLinhTrung, "trung học cơ sở Linh Trung", "en")
	w.otherSchool = join("7102", campaign.RoleSchool, wardLinhTrung, "THCS Bình Thọ", "vi")
	w.wardSender = join("7201", campaign.RoleWardOfficial, wardLinhTrung, "", "vi")
	w.womensUnion = join("7202", campaign.RoleWomensUnion, wardLinhTrung, "", "en")
	w.farWard = join("7203", campaign.RoleWardOfficial, "26797", "", "vi")
	w.eduOffice = join("7301", campaign.RoleEducationOffice, "", "", "vi")

	lists := postgres.NewListStore(w.db, w.c)
	row := func(n int, name string, ward string) campaign.ListRow {
		r := listChild(n, name, "", "+8490600"+string(rune('0'+n))+"111", "1 đường Thử", time.Date(2011, 1, n, 0, 0, 0, 0, time.UTC))
		r.Registration.School, r.Registration.WardCode = "THCS Linh Trung", ward
		r.Registration.Level, r.Registration.Grade = campaign.LevelLowerSecondary, 6
		return r
	}
	res, err := lists.ImportList(ctx, &campaign.ListImport{Sender: w.schoolSender, Actor: "telegram:7100", FileHash: "s1", RowsRead: 2,
		Rows: []campaign.ListRow{row(2, "Lâm Văn Trường", wardLinhTrung), row(3, "Lâm Văn Xuân", wardLinhXuan)}})
	if err != nil || len(res.Accepted) != 2 {
		t.Fatalf("the school's list = %+v, %v", res, err)
	}
	w.schoolChild, w.xuan = res.Accepted[0].Code, res.Accepted[1].Code
	res, err = lists.ImportList(ctx, &campaign.ListImport{Sender: w.wardSender, Actor: "telegram:7201", FileHash: "w1", RowsRead: 1,
		Rows: []campaign.ListRow{row(4, "Lâm Văn Phường", wardLinhTrung)}})
	if err != nil || len(res.Accepted) != 1 {
		t.Fatalf("the ward's list = %+v, %v", res, err)
	}
	w.wardChild = res.Accepted[0].Code
	return w
}

// registrar reads code's Registrar, by code and through its case, which must agree.
func (w *standInWork) registrar(t *testing.T, code string) *campaign.Registrar {
	t.Helper()
	r, err := w.regs.ByCode(t.Context(), code)
	if err != nil {
		t.Fatal(err)
	}
	k, err := w.cases.CaseByCode(t.Context(), code)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.Registrar, k.Registrar) {
		t.Errorf("%s: ByCode's registrar %+v, CaseByCode's %+v", code, r.Registrar, k.Registrar)
	}
	return r.Registrar
}

func recipients(ss ...campaign.Staff) []campaign.Recipient {
	var out []campaign.Recipient
	for _, s := range ss {
		out = append(out, campaign.Recipient{Channel: s.Channel, ChatID: s.ExternalID})
	}
	return out
}

// chats drops the languages, compared on their own.
func chats(rs []campaign.Recipient) []campaign.Recipient {
	out := slices.Clone(rs)
	for i := range out {
		out[i].Language = ""
	}
	return out
}

// TestRegistrar_StandIns: while the staff member who sent a list is active, the family's notices
// are theirs and nobody stands in; once revoked, a school's list goes to the school's other
// active staff (its name written another way, not another school's), then, with none, to the
// ward's verifiers, and for a ward without any to the education office; a ward's list goes to
// the ward's verifiers. A verifier who stopped the bot is left out; a claimed registration has
// no registrar but keeps who registered it.
func TestRegistrar_StandIns(t *testing.T) {
	ctx := t.Context()
	w := newStandInWork(t)

	reg := w.registrar(t, w.schoolChild)
	if reg == nil || !reg.Active || reg.StandIns != nil || reg.Name != "Cán bộ 7100" || reg.Role != campaign.RoleSchool ||
		reg.Source != campaign.SourceList || reg.ListCode == "" {
		t.Fatalf("active school registrar = %+v", reg)
	}

	if err := w.staff.RevokeStaff(ctx, "telegram", "7100", "telegram:1"); err != nil {
		t.Fatal(err)
	}
	reg = w.registrar(t, w.schoolChild)
	if reg == nil || reg.Active || reg.StandInRole != campaign.RoleSchool ||
		!reflect.DeepEqual(reg.StandIns, []campaign.Recipient{{Channel: "telegram", ChatID: "7101", Language: "en"}}) {
		t.Errorf("revoked school registrar = %+v; want the school's other member 7101 only", reg)
	}
	if reg != nil && (reg.Name != "Cán bộ 7100" || reg.Role != campaign.RoleSchool) {
		t.Errorf("a revoked registrar keeps their name and role: %+v", reg)
	}
	// The same list's child of Linh Xuân: the school stands in too, wherever the child lives.
	if reg := w.registrar(t, w.xuan); reg == nil || reg.StandInRole != campaign.RoleSchool || !reflect.DeepEqual(chats(reg.StandIns), recipients(w.schoolMate)) {
		t.Errorf("Linh Xuân's child of the school's list: %+v", reg)
	}

	if err := w.staff.RevokeStaff(ctx, "telegram", "7101", "telegram:1"); err != nil {
		t.Fatal(err)
	}
	reg = w.registrar(t, w.schoolChild)
	want := []campaign.Recipient{{Channel: "telegram", ChatID: "7201", Language: "vi"}, {Channel: "telegram", ChatID: "7202", Language: "en"}}
	if reg == nil || reg.StandInRole != campaign.RoleWardOfficial || !reflect.DeepEqual(reg.StandIns, want) {
		t.Errorf("no school staff left: %+v; want the ward's verifiers %+v", reg, want)
	}
	if reg := w.registrar(t, w.xuan); reg == nil || reg.StandInRole != campaign.RoleEducationOffice || !reflect.DeepEqual(chats(reg.StandIns), recipients(w.eduOffice)) {
		t.Errorf("a ward without verifiers: %+v; want the education office", reg)
	}

	// A ward's list: the ward's verifiers while the sender is active are not asked; once revoked,
	// the other verifier of the ward (not a school of the same name), who then stops the bot.
	if reg := w.registrar(t, w.wardChild); reg == nil || !reg.Active || reg.StandIns != nil {
		t.Errorf("active ward registrar = %+v", reg)
	}
	if err := w.staff.RevokeStaff(ctx, "telegram", "7201", "telegram:1"); err != nil {
		t.Fatal(err)
	}
	if reg := w.registrar(t, w.wardChild); reg == nil || reg.StandInRole != campaign.RoleWardOfficial || !reflect.DeepEqual(chats(reg.StandIns), recipients(w.womensUnion)) {
		t.Errorf("revoked ward registrar = %+v; want the Women's Union of the ward", reg)
	}
	if err := w.contacts.SetContactStopped(ctx, "telegram", "7202", true); err != nil {
		t.Fatal(err)
	}
	if reg := w.registrar(t, w.wardChild); reg == nil || reg.StandInRole != campaign.RoleEducationOffice || !reflect.DeepEqual(chats(reg.StandIns), recipients(w.eduOffice)) {
		t.Errorf("the ward's last verifier stopped the bot: %+v; want the education office", reg)
	}

	// Deliveries carry the same registrar (allocation, hand-over and final notices).
	dev := w.readyDevice(t, campaign.DeviceLaptop, "")
	w.decide(t, campaign.Decision{Code: w.wardChild, Verdict: campaign.VerdictApprove})
	made := w.allocate(t, campaign.Allocation{Code: w.wardChild, DeviceLabel: dev.Label}, "si1")
	if made.Registrar == nil || !reflect.DeepEqual(chats(made.Registrar.StandIns), recipients(w.eduOffice)) {
		t.Errorf("the allocation's registrar = %+v", made.Registrar)
	}
	d, err := w.cases.DeliveryByCode(ctx, made.Code)
	if err != nil || d.Registrar == nil || !reflect.DeepEqual(chats(d.Registrar.StandIns), recipients(w.eduOffice)) {
		t.Errorf("the delivery's registrar = %+v, %v", d.Registrar, err)
	}

	// A claimed registration: no registrar, but the card still says who registered it.
	if _, err := postgres.NewClaimStore(w.db, w.c).Claim(ctx, campaign.ClaimRequest{Phone: "+84906002111", BirthDate: time.Date(2011, 1, 2, 0, 0, 0, 0, time.UTC),
		Family: campaign.Session{Channel: "zalo", ChatID: "7213999"}, Key: "c1"}); err != nil {
		t.Fatal(err)
	}
	r, err := w.regs.ByCode(ctx, w.schoolChild)
	if err != nil || r.Registrar != nil || r.ChatID != "7213999" || r.RegisteredByName != "Cán bộ 7100" || r.RegisteredByRole != campaign.RoleSchool || r.ListCode == "" {
		t.Errorf("claimed: registrar %+v, chat %q, registered by %q (%s), list %q, %v", r.Registrar, r.ChatID, r.RegisteredByName, r.RegisteredByRole, r.ListCode, err)
	}
}
