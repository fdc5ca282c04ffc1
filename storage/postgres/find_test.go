package postgres_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

func TestFindStore_RegistrationByCode(t *testing.T) {
	t.Parallel()
	w := newCaseWork(t)
	ctx := t.Context()
	find := postgres.NewFindStore(w.db, w.c)
	r := w.register(t, "Nguyễn Văn An", nil)
	rejected := w.decide(t, campaign.Decision{Code: r.Code, Verdict: campaign.VerdictReject, Reason: campaign.RejectOther, Text: "Gia đình đã chuyển đi"})

	got, err := find.RegistrationByCode(ctx, " "+strings.ToLower(r.Code))
	if err != nil {
		t.Fatalf("RegistrationByCode: %v", err)
	}
	if !reflect.DeepEqual(got, rejected) {
		t.Errorf("RegistrationByCode =\n%+v\nwant what Decide returned\n%+v", got, rejected)
	}
	if got.Status != campaign.StatusRejected || got.RejectCode != campaign.RejectOther || got.RejectReason != "Gia đình đã chuyển đi" {
		t.Errorf("read back %s %q %q, want rejected for another reason with its text", got.Status, got.RejectCode, got.RejectReason)
	}
	_, err = find.RegistrationByCode(ctx, "TD-999999")
	wantCode(t, "unknown code", err, campaign.ENOTFOUND)

	// Another campaign's registration is not this campaign's to find.
	old := insertHelpedChild(t, w.db, "hcm-2020", "Lê Văn Tám", validRegistration("").BirthDate)
	_, err = find.RegistrationByCode(ctx, old)
	wantCode(t, "another campaign's code", err, campaign.ENOTFOUND)
}

// everything is the scope of a city-wide role that sees children and pledges (an administrator).
var everything = campaign.FindScope{Registrations: true, Pledges: true}

func TestFindStore_FindByPhone(t *testing.T) {
	t.Parallel()
	w := newCaseWork(t)
	ctx := t.Context()
	find := postgres.NewFindStore(w.db, w.c)
	const phone = "+84903123456" // validRegistration's parent, who also gives
	first := w.register(t, "Nguyễn Văn An", nil)
	w.register(t, "Someone Else's Child", func(r *campaign.Registration) { r.ParentPhone = "+84909999999" })
	second := w.verified(t, "Nguyễn Thị Bé", nil)

	asDonor := validPledge("parent gives")
	asDonor.Phone = phone
	asDonor = submitPledge(t, w.pledges, asDonor)
	submitPledge(t, w.pledges, validPledge("another donor"))
	again := validPledge("parent gives again")
	again.Phone = phone
	again.Items = []campaign.PledgeItem{{Kind: campaign.ItemSIM4G, Quantity: 2}}
	again = submitPledge(t, w.pledges, again)

	regs, pledges, err := find.FindByPhone(ctx, phone, everything, 10)
	if err != nil {
		t.Fatalf("FindByPhone: %v", err)
	}
	if len(regs) != 2 || !reflect.DeepEqual(regs[0], second) || !reflect.DeepEqual(regs[1], first) {
		t.Errorf("registrations =\n%+v\nwant the second then the first\n%+v\n%+v", regs, second, first)
	}
	if len(pledges) != 2 || !reflect.DeepEqual(pledges[0], again) || !reflect.DeepEqual(pledges[1], asDonor) {
		t.Errorf("pledges =\n%+v\nwant the later then the earlier, with their items\n%+v\n%+v", pledges, again, asDonor)
	}

	regs, pledges, err = find.FindByPhone(ctx, phone, everything, 1)
	if err != nil || len(regs) != 1 || regs[0].Code != second.Code || len(pledges) != 1 || pledges[0].Code != again.Code {
		t.Errorf("FindByPhone limit 1 = %d registrations, %d pledges, %v; want the newest of each", len(regs), len(pledges), err)
	}

	regs, pledges, err = find.FindByPhone(ctx, "+84900000009", everything, 10)
	if err != nil || len(regs) != 0 || len(pledges) != 0 {
		t.Errorf("FindByPhone(unknown) = %v, %v, %v; want nothing", regs, pledges, err)
	}
	var codes []string
	regs, _, err = find.FindByPhone(ctx, "+84909999999", everything, 0)
	for _, r := range regs {
		codes = append(codes, r.Code)
	}
	if err != nil || !slices.Equal(codes, []string{"TD-000002"}) {
		t.Errorf("FindByPhone(the other parent) = %v, %v", codes, err)
	}

	for _, bad := range []string{"0903123456", "", "+84 903 123 456"} {
		_, _, err := find.FindByPhone(ctx, bad, everything, 10)
		wantCode(t, "phone "+bad, err, campaign.EINVALID)
	}
}

// A search by phone is scoped in the query: a ward's scope reads its ward's children only, a
// kind of record the role may not see is not read, and nothing outside the scope comes back to
// be counted (issue 13: /find <phone> used to read every ward and filter in Go).
func TestFindStore_FindByPhoneIsScopedInTheQuery(t *testing.T) {
	t.Parallel()
	w := newCaseWork(t)
	ctx := t.Context()
	find := postgres.NewFindStore(w.db, w.c)
	const phone = "+84903123456"
	linhTrung := w.register(t, "Nguyễn Văn An", nil)
	thaoDien := w.register(t, "Trần Thị Bình", func(r *campaign.Registration) { r.WardCode = "27088" })
	atFront := validPledge("gives at the front")
	atFront.Phone = phone
	atFront = submitPledge(t, w.pledges, atFront)
	atWard := validPledge("gives at the ward office")
	atWard.Phone, atWard.Delivery, atWard.WardCode = phone, campaign.DeliverToWard, "27088"
	atWard = submitPledge(t, w.pledges, atWard)

	codes := func(regs []campaign.Registration, pledges []campaign.Pledge) []string {
		var out []string
		for _, r := range regs {
			out = append(out, r.Code)
		}
		for _, p := range pledges {
			out = append(out, p.Code)
		}
		return out
	}
	for _, tt := range []struct {
		name  string
		scope campaign.FindScope
		want  []string
	}{
		{"everything", everything, []string{thaoDien.Code, linhTrung.Code, atWard.Code, atFront.Code}},
		{"ward official of Linh Trung", campaign.FindScopeOf(campaign.Staff{Role: campaign.RoleWardOfficial, WardCode: "26800"}), []string{linhTrung.Code}},
		{"ward official of Thảo Điền", campaign.FindScopeOf(campaign.Staff{Role: campaign.RoleWardOfficial, WardCode: "27088"}), []string{thaoDien.Code}},
		{"ward official of another ward", campaign.FindScopeOf(campaign.Staff{Role: campaign.RoleWomensUnion, WardCode: "26737"}), nil},
		{"ward role without a ward", campaign.FindScopeOf(campaign.Staff{Role: campaign.RoleWardOfficial}), nil},
		{"education office", campaign.FindScopeOf(campaign.Staff{Role: campaign.RoleEducationOffice}), []string{thaoDien.Code, linhTrung.Code}},
		{"volunteer", campaign.FindScopeOf(campaign.Staff{Role: campaign.RoleVolunteer}), []string{atWard.Code, atFront.Code}},
		{"city official", campaign.FindScopeOf(campaign.Staff{Role: campaign.RoleCityOfficial}), []string{thaoDien.Code, linhTrung.Code, atWard.Code, atFront.Code}},
		{"culture office", campaign.FindScopeOf(campaign.Staff{Role: campaign.RoleCultureInfo}), nil},
		{"no role", campaign.FindScopeOf(campaign.Staff{}), nil},
		{"pledges of a ward office", campaign.FindScope{WardCode: "27088", Pledges: true}, []string{atWard.Code}},
	} {
		regs, pledges, err := find.FindByPhone(ctx, phone, tt.scope, 10)
		if err != nil {
			t.Fatalf("%s: FindByPhone: %v", tt.name, err)
		}
		if got := codes(regs, pledges); !slices.Equal(got, tt.want) {
			t.Errorf("%s (%+v): found %v, want %v", tt.name, tt.scope, got, tt.want)
		}
	}
	// The limit counts what the scope sees: the newest of Linh Trung, though Thảo Điền's is newer.
	regs, _, err := find.FindByPhone(ctx, phone, campaign.FindScope{WardCode: "26800", Registrations: true}, 1)
	if err != nil || len(regs) != 1 || regs[0].Code != linhTrung.Code {
		t.Errorf("limit 1 in Linh Trung = %v, %v; want %s", codes(regs, nil), err, linhTrung.Code)
	}
}

// A parent's answer is read with who holds the case's scope now (issue 13): the official who
// asked as the staff records hold them at the answer (revoked: no role; moved: their new ward),
// and the ward's verifiers, so the notice can go to the ward's queue instead.
func TestCaseStore_AnswerInfoReadsWhoHoldsTheScopeNow(t *testing.T) {
	t.Parallel()
	w := newNotifyWork(t)
	ctx := t.Context()
	asker := w.join(t, "8101", campaign.RoleWardOfficial, wardLinhTrung)
	w.join(t, "8102", campaign.RoleWomensUnion, wardLinhTrung)
	w.join(t, "8104", campaign.RoleEducationOffice, "")
	r := w.register(t, "Võ Thị Sáu", nil)

	answer := func(text string) campaign.InfoAnswer {
		t.Helper()
		if _, err := w.cases.Decide(ctx, campaign.Decision{Code: r.Code, Verdict: campaign.VerdictAskInfo, Text: "Cháu học trường nào?"}, asker, nil); err != nil {
			t.Fatalf("Decide: %v", err)
		}
		var got campaign.InfoAnswer
		_, _, err := w.cases.AnswerInfo(ctx, r.Code, parentChat, campaign.Answer{Text: text}, "", func(ia campaign.InfoAnswer) []campaign.OutboxMessage {
			got = ia
			return nil
		})
		if err != nil {
			t.Fatalf("AnswerInfo: %v", err)
		}
		return got
	}
	ward := []campaign.Recipient{{Channel: "telegram", ChatID: "8101"}, {Channel: "telegram", ChatID: "8102"}}
	got := answer("Trường Tiểu học Linh Trung")
	if got.AskedBy != "telegram:8101" || got.Asker.Role != campaign.RoleWardOfficial || got.Asker.WardCode != wardLinhTrung ||
		!slices.Equal(got.Verifiers, ward) {
		t.Errorf("in role: asker %+v, verifiers %+v", got.Asker, got.Verifiers)
	}

	if err := w.staff.RevokeStaff(ctx, "telegram", "8101", "telegram:1"); err != nil {
		t.Fatal(err)
	}
	got = answer("Lớp 4")
	if got.AskedBy != "telegram:8101" || got.Asker.Role != "" ||
		!slices.Equal(got.Verifiers, []campaign.Recipient{{Channel: "telegram", ChatID: "8102"}}) {
		t.Errorf("revoked: asker %+v, verifiers %+v; want no role and the ward's other verifier", got.Asker, got.Verifiers)
	}

	w.join(t, "8101", campaign.RoleWardOfficial, wardLinhXuan)
	got = answer("Lớp 4A")
	if got.Asker.Role != campaign.RoleWardOfficial || got.Asker.WardCode != wardLinhXuan || campaign.Authorize(got.Asker, campaign.ActionVerify, r.WardCode) == nil {
		t.Errorf("moved: asker %+v, want the official of their new ward", got.Asker)
	}
}
