package flows

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/campaign/campaigntest"
)

// goldenClaim names the claim's golden files (testdata/claim/).
const goldenClaim = "claim"

// The family of the list's children, and its phone.
const (
	claimParent = "3201"
	claimPhone  = "+84912345678"
)

// withList gives the chat claims (Config.Claims) and the ward official of Linh Trung who sent the
// list DS-000001 with the children of phone claimPhone: TD-000001 Trần Minh Khang (5/9/2012),
// and, with both, TD-000002 Trần Minh Châu (12/3/2010).
func (c *convo) withList(both bool) *convo {
	c.t.Helper()
	claims := campaigntest.NewClaims(c.regs, func() time.Time { return c.now })
	c.e.cfg.Claims = claims
	c.claims = claims
	c.staff.Add(wardOffID, "Phạm Thị Phường", campaign.RoleWardOfficial, wardLT)
	children := []struct {
		name  string
		birth time.Time
		grade int
	}{
		{"Trần Minh Khang", time.Date(2012, 9, 5, 0, 0, 0, 0, time.UTC), 3},
		{"Trần Minh Châu", time.Date(2010, 3, 12, 0, 0, 0, 0, time.UTC), 6},
	}
	if !both {
		children = children[:1]
	}
	for i, ch := range children {
		level, _ := levelOfGrade(ch.grade)
		c.cases.AddRegistration(campaign.Registration{
			CampaignID: "thu-duc-2021", Language: "vi", ParentPhone: claimPhone, StudentName: ch.name,
			BirthDate: ch.birth, Level: level, Grade: ch.grade, School: "Trường Linh Trung", WardCode: wardLT,
			Address: "12 đường số 5, khu phố 3", Circumstances: []campaign.Circumstance{campaign.CircumstancePoor},
			DeviceSituation: campaign.SituationNone, Needs: []campaign.Need{campaign.NeedLaptop},
			Source: campaign.SourceList, ListID: 1, ListRow: 3 + i, RegisteredBy: "telegram:" + wardOffID,
			ListCode: "DS-000001", RegisteredByName: "Phạm Thị Phường", RegisteredByRole: campaign.RoleWardOfficial,
			Registrar: &campaign.Registrar{Session: campaign.Session{Channel: "telegram", ChatID: wardOffID},
				Language: "vi", Active: true, Source: campaign.SourceList, ListCode: "DS-000001",
				Name: "Phạm Thị Phường", Role: campaign.RoleWardOfficial},
		})
	}
	c.become(claimParent, "vi")
	return c
}

// claimWardID2 is a second ward official of Linh Trung, beside the list's sender (wardOffID).
const claimWardID2 = "7023"

// revokeRegistrar makes the list's sender former staff: their role is revoked, and the list's
// registrations name standIns (of role standInRole) as the store would read them.
func (c *convo) revokeRegistrar(standInRole campaign.Role, standIns ...string) {
	c.t.Helper()
	if err := c.staff.RevokeStaff(c.t.Context(), "telegram", wardOffID, "telegram:"+testAdmin); err != nil {
		c.t.Fatal(err)
	}
	var ins []campaign.Recipient
	for _, id := range standIns {
		ins = append(ins, campaign.Recipient{Channel: "telegram", ChatID: id, Language: "vi"})
	}
	c.regs.Edit(func(regs []campaign.Registration) {
		for i := range regs {
			if reg := regs[i].Registrar; reg != nil {
				reg.Active, reg.StandIns, reg.StandInRole = false, ins, standInRole
			}
		}
	})
}

// claimToPhone starts a registration and answers up to the phone, sharing the family's contact.
func (c *convo) claimToPhone() {
	c.send(press("g:register"))
	c.send(press("r:consent:yes"))
	c.send(text("Trần Thị Hoa"))
	c.send(contact("84912345678", c.userID))
}

func claimScenarios() []scenario {
	return []scenario{
		{goldenClaim, "after_phone_in_form", func(c *convo) {
			c.withList(false)
			c.claimToPhone()
			c.send(text("05/09/2012"))
			c.send(cmd("status"))
			c.send(press("md:list"))
		}},
		{goldenClaim, "wrong_date_then_right", func(c *convo) {
			c.withList(false)
			c.send(cmd("status"))
			c.send(press("cl:start"))
			c.send(text("0912 345 67")) // a digit short
			c.send(text("0912 345 678"))
			c.send(text("tháng 9")) // not a date: not a wrong try
			c.send(text("06/09/2012"))
			c.send(text("5/9/2012"))
			c.send(press("g:status"))
		}},
		{goldenClaim, "three_wrong", func(c *convo) {
			c.withList(false)
			c.claimToPhone()
			c.send(text("01/01/2012"))
			c.send(text("02/01/2012"))
			c.send(text("03/01/2012"))
			c.send(cmd("status"))
			// The phone is no longer offered: the form goes on.
			c.claimToPhone()
		}},
		{goldenClaim, "two_children_one_phone", func(c *convo) {
			c.withList(true)
			c.claimToPhone()
			c.send(text("12/03/2010"))
			c.send(text("05/09/2012"))
			c.send(cmd("mydata"))
		}},
		{goldenClaim, "register_another", func(c *convo) {
			c.withList(false)
			c.claimToPhone()
			c.send(cmd("help"))
			c.send(press("cl:form"))
			c.send(text("Trần Minh Tâm"))
		}},
		{goldenClaim, "registrar_revoked", func(c *convo) {
			// The list's sender has left: the ward's two verifiers stand in; one of them decides
			// and both get the notice to pass on.
			c.withList(true)
			c.staff.Add(womenID, "Lê Thị Hội", campaign.RoleWomensUnion, wardLT)
			c.staff.Add(claimWardID2, "Võ Văn Phường", campaign.RoleWardOfficial, wardLT)
			c.revokeRegistrar(campaign.RoleWardOfficial, womenID, claimWardID2)
			c.become(womenID, "vi")
			c.send(cmd("verify", "TD-000001"))
			c.send(press("v:ok:TD-000001"))
			c.send(press("v:ask:TD-000002"))
			c.send(text("Xin gửi ảnh giấy xác nhận hộ nghèo"))
		}},
		{goldenClaim, "nobody_to_tell", func(c *convo) {
			// The list's sender has left and nobody stands in: whoever decides is told to reach the
			// family themselves, by phone when they see phones.
			c.withList(true)
			c.staff.Add(womenID, "Lê Thị Hội", campaign.RoleWomensUnion, wardLT)
			c.staff.Add(eduID, "Phòng GD", campaign.RoleEducationOffice, "")
			c.revokeRegistrar("")
			c.become(womenID, "vi")
			c.send(press("v:ok:TD-000001"))
			c.become(eduID, "vi")
			c.send(press("v:no:TD-000002"))
			c.send(press("v:rj:TD-000002:has_device"))
		}},
		{goldenClaim, "unblock", func(c *convo) {
			// Three wrong dates block the phone; the family calls the ward, whose official sees the
			// block on the card and clears it; the family then links its child.
			c.withList(false)
			c.staff.Add(wardTDID, "Ngô Văn Điền", campaign.RoleWardOfficial, wardTD)
			c.claimToPhone()
			c.send(text("01/01/2012"))
			c.send(text("02/01/2012"))
			c.send(text("03/01/2012"))
			c.become(wardTDID, "vi")
			c.send(cmd("unblock", "0912 345 678")) // another ward's official: nothing in scope
			c.become(wardOffID, "vi")
			c.send(cmd("verify", "TD-000001"))
			c.send(cmd("unblock"))
			c.send(cmd("unblock", "số của mẹ em"))
			c.send(cmd("unblock", "TD-000001"))
			c.send(cmd("unblock", "0912345678"))
			c.become(claimParent, "vi")
			c.send(cmd("status"))
			c.send(press("cl:start"))
			c.send(contact("84912345678", c.userID))
			c.send(text("5/9/2012"))
		}},
		{goldenClaim, "notices_until_claimed", func(c *convo) {
			c.withList(true)
			// The official approves TD-000001 before the family links it: the list's sender hears.
			c.become(wardOffID, "vi")
			c.send(cmd("verify", "TD-000001"))
			c.send(press("v:ok:TD-000001"))
			c.become(claimParent, "vi")
			c.send(cmd("status"))
			c.send(press("cl:start"))
			c.send(contact("84912345678", c.userID))
			c.send(text("05/09/2012"))
			c.send(text("12/03/2010"))
			// Now the question goes to the family, with its button.
			c.become(wardOffID, "vi")
			c.send(cmd("verify", "TD-000002"))
			c.send(press("v:ask:TD-000002"))
			c.send(text("Xin gửi ảnh giấy xác nhận hộ nghèo"))
		}},
	}
}

// TestClaim_QuestionToRegistrar: a question about a registration no family has claimed goes to
// the staff member who registered it, asking them to help the family answer, without the
// family's button; a revoked registrar gets nothing and the family counts as not told.
func TestClaim_QuestionToRegistrar(t *testing.T) {
	c := newChat(t).withList(false)
	c.become(wardOffID, "vi")
	c.send(cmd("verify", "TD-000001"))
	c.send(press("v:ask:TD-000001"))
	c.send(text("Xin gửi ảnh giấy xác nhận hộ nghèo"))
	if len(c.notices) != 1 || c.notices[0].ChatID != wardOffID || c.notices[0].Channel != "telegram" {
		t.Fatalf("notices %+v, want one to the registrar", c.notices)
	}
	m := c.notices[0]
	for _, want := range []string{"TD-000001", "DS-000001", "Xin gửi ảnh giấy xác nhận hộ nghèo", msg(c.e, langVI, "claim.staff.hint_question")} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("notice lacks %q:\n%s", want, m.Text)
		}
	}
	if len(m.Buttons) != 0 {
		t.Errorf("the family's reply button went to staff: %+v", m.Buttons)
	}

	reg := campaign.Delivery{RegistrationCode: "TD-000001", Code: "GH-000001",
		Registrar: &campaign.Registrar{Session: campaign.Session{Channel: "telegram", ChatID: "9999"}, Source: campaign.SourceAssisted}}
	if r := c.e.deliveryReach(reg); !r.nobody() {
		t.Errorf("an inactive registrar with nobody standing in reached: %+v", r)
	}
	if got := c.e.DeliveryFinalized(reg); len(got) != 0 {
		t.Errorf("a notice to an inactive registrar: %+v", got)
	}
	// Who stands in for them gets it instead, each keyed apart, saying why.
	reg.Registrar.StandIns = []campaign.Recipient{{Channel: "telegram", ChatID: "7101", Language: "en"}, {Channel: "zalo", ChatID: "7102"}}
	reg.Registrar.StandInRole = campaign.RoleWardOfficial
	if r := c.e.deliveryReach(reg); r.family || r.registrar || len(r.standIns) != 2 {
		t.Errorf("stand-ins not reached: %+v", r)
	}
	got := c.e.DeliveryFinalized(reg)
	if len(got) != 2 || got[0].ChatID != "7101" || got[1].ChatID != "7102" || got[0].Key == got[1].Key ||
		!strings.Contains(got[0].Text, msg(c.e, langEN, "claim.staff.via_assisted")) || !strings.Contains(got[1].Text, msg(c.e, langVI, "claim.staff.via_assisted")) ||
		!strings.Contains(got[1].Text, "GH-000001") || !strings.Contains(got[1].Text, "/find TD-000001") {
		t.Errorf("DeliveryFinalized with stand-ins: %+v", got)
	}
	reg.Registrar.StandIns = nil
	reg.Registrar.Active = true
	got = c.e.DeliveryFinalized(reg)
	if len(got) != 1 || got[0].ChatID != "9999" || !strings.Contains(got[0].Text, msg(c.e, langVI, "claim.staff.via_assisted")) {
		t.Errorf("DeliveryFinalized of an assisted registration: %+v", got)
	}
}

// TestClaim_Audit: the store's audit rows of a claim and of a blocked phone are the codes only.
func TestClaim_Audit(t *testing.T) {
	c := newChat(t).withList(true)
	c.claimToPhone()
	c.send(text("12/03/2010"))
	c.send(text("01/01/2012"))
	c.send(text("02/01/2012"))
	out := c.send(text("03/01/2012"))
	if !strings.Contains(allText(out), msg(c.e, langVI, "claim.blocked", "Count", campaign.ClaimTriesMax)) {
		t.Fatalf("three wrong dates after a claim: %s", dump(out))
	}
	want := []string{"registration.claim TD-000002", "registration.claim_blocked TD-000001"}
	if !slices.Equal(c.claims.AuditActions(), want) {
		t.Errorf("audit %q, want %q", c.claims.AuditActions(), want)
	}
	if c.st.Flow != "" {
		t.Errorf("state after the block: %+v", c.st)
	}
}

// TestClaim_UnblockScope: /unblock is for who may verify the ward of a registration the phone may
// claim: the education office anywhere, an official of another ward finds nothing, a school or a
// volunteer is refused (audited); what it clears is audited by code, by the official.
func TestClaim_UnblockScope(t *testing.T) {
	c := newChat(t).withList(false)
	c.claims.SetFailures(claimPhone, campaign.ClaimTriesMax)
	c.staff.Add(wardTDID, "Ngô Văn Điền", campaign.RoleWardOfficial, wardTD)
	c.staff.Add(volunteerID, "Đoàn Văn Giao", campaign.RoleVolunteer, "")
	c.staff.AddMember(campaign.Staff{Channel: "telegram", ExternalID: "7330", Name: "Cô Lan", Role: campaign.RoleSchool,
		WardCode: wardLT, School: "Trường Linh Trung"})
	c.staff.Add(eduID, "Phòng GD", campaign.RoleEducationOffice, "")

	for _, id := range []string{volunteerID, "7330"} {
		c.become(id, "vi")
		before := len(c.audit.Refused())
		c.send(cmd("unblock", "0912345678"))
		if got := c.audit.Refused(); len(got) != before+1 || got[len(got)-1].Subject != string(campaign.ActionVerify) {
			t.Errorf("/unblock by %s was not refused: %+v", id, got[before:])
		}
	}
	c.become(wardTDID, "vi")
	if out := allText(c.send(cmd("unblock", "TD-000001"))); !strings.Contains(out,
		msg(c.e, langVI, "claim.unblock.none", "Subject", msg(c.e, langVI, "claim.unblock.of_code", "Code", "TD-000001"))) {
		t.Errorf("another ward's official: %s", out)
	}
	if c.claims.Failures(claimPhone) != campaign.ClaimTriesMax || len(c.claims.AuditActions()) != 0 {
		t.Fatalf("cleared by someone out of scope: %v %q", c.claims.Failures(claimPhone), c.claims.AuditActions())
	}
	c.become(eduID, "vi")
	out := allText(c.send(cmd("unblock", "0912 345 678")))
	if !strings.Contains(out, msg(c.e, langVI, "claim.unblock.done", "Subject", msg(c.e, langVI, "claim.unblock.of_phone", "Phone", "0912 345 678"),
		"Codes", "TD-000001", "Count", campaign.ClaimTriesMax)) {
		t.Errorf("the education office's /unblock: %s", out)
	}
	if want := []string{"registration.claim_unblock TD-000001 by telegram:" + eduID}; !slices.Equal(c.claims.AuditActions(), want) {
		t.Errorf("audit %q, want %q", c.claims.AuditActions(), want)
	}
	if n, blocked, _ := c.claims.Unclaimed(t.Context(), claimPhone); n != 1 || blocked {
		t.Errorf("after the unblock: %d, %v", n, blocked)
	}
}
