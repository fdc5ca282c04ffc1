package flows

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// goldenClaim names the claim's golden files (testdata/claim/).
const goldenClaim = "claim"

// fakeClaims is an in-memory campaign.ClaimStore over the chat's fakeRegistrations, keeping the
// contract storage/postgres keeps: registrations made by staff without a chat, holding the phone,
// not withdrawn, are claimable; wrong dates count per phone (a retried key once), the
// ClaimTriesMax-th blocks the phone; a registration another chat claimed is Taken.
type fakeClaims struct {
	mu       sync.Mutex
	regs     *fakeRegistrations
	now      func() time.Time
	failures map[string]int
	lastKey  map[string]string
	audit    []string
}

var _ campaign.ClaimStore = (*fakeClaims)(nil)

func claimable(r campaign.Registration, phone string) bool {
	return r.ParentPhone == phone && r.ChatID == "" && r.RegisteredBy != "" && r.Status != campaign.StatusWithdrawn
}

func (s *fakeClaims) Unclaimed(_ context.Context, phone string) (int, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failures[phone] >= campaign.ClaimTriesMax {
		return 0, true, nil
	}
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	n := 0
	for _, r := range s.regs.regs {
		if claimable(r, phone) {
			n++
		}
	}
	return n, false, nil
}

func (s *fakeClaims) Claim(_ context.Context, r campaign.ClaimRequest) (campaign.ClaimResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var res campaign.ClaimResult
	if r.Family.ChatID == "" || r.BirthDate.IsZero() {
		return res, campaign.Errorf(campaign.EINVALID, "claim: no chat or date")
	}
	res.Failures = s.failures[r.Phone]
	if res.Failures >= campaign.ClaimTriesMax {
		res.Blocked = true
		return res, nil
	}
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	found := false
	for i := range s.regs.regs {
		reg := &s.regs.regs[i]
		if reg.ParentPhone != r.Phone || reg.RegisteredBy == "" || !reg.BirthDate.Equal(r.BirthDate) || reg.Status == campaign.StatusWithdrawn {
			continue
		}
		found = true
		switch {
		case reg.ChatID == "":
			reg.Channel, reg.ChatID, reg.UserID, reg.Language = r.Family.Channel, r.Family.ChatID, r.UserID, r.Language
			if reg.ParentName == "" {
				reg.ParentName = r.ParentName
			}
			reg.Registrar, reg.ClaimedAt = nil, s.now()
			s.audit = append(s.audit, "registration.claim "+reg.Code)
			delete(s.failures, r.Phone)
			res.Failures = 0
			res.Claimed = append(res.Claimed, *reg)
		case reg.Channel == r.Family.Channel && reg.ChatID == r.Family.ChatID:
			res.Claimed = append(res.Claimed, *reg)
		default:
			res.Taken++
		}
	}
	for _, reg := range s.regs.regs {
		if claimable(reg, r.Phone) {
			res.Left++
		}
	}
	if found || (r.Key != "" && s.lastKey[r.Phone] == r.Key) {
		return res, nil
	}
	s.lastKey[r.Phone] = r.Key
	s.failures[r.Phone]++
	res.Failures = s.failures[r.Phone]
	if res.Failures >= campaign.ClaimTriesMax {
		res.Blocked, res.Left = true, 0
		for _, reg := range s.regs.regs {
			if claimable(reg, r.Phone) {
				s.audit = append(s.audit, "registration.claim_blocked "+reg.Code)
			}
		}
	}
	return res, nil
}

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
	claims := &fakeClaims{regs: c.regs, now: func() time.Time { return c.now }, failures: map[string]int{}, lastKey: map[string]string{}}
	c.e.cfg.Claims = claims
	c.claims = claims
	c.staff.add(wardOffID, "Phạm Thị Phường", campaign.RoleWardOfficial, wardLT)
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
		c.cases.addRegistration(campaign.Registration{
			CampaignID: "thu-duc-2021", Language: "vi", ParentPhone: claimPhone, StudentName: ch.name,
			BirthDate: ch.birth, Level: level, Grade: ch.grade, School: "Trường Linh Trung", WardCode: wardLT,
			Address: "12 đường số 5, khu phố 3", Circumstances: []campaign.Circumstance{campaign.CircumstancePoor},
			DeviceSituation: campaign.SituationNone, Needs: []campaign.Need{campaign.NeedLaptop},
			Source: campaign.SourceList, ListID: 1, ListRow: 3 + i, RegisteredBy: "telegram:" + wardOffID,
			Registrar: &campaign.Registrar{Session: campaign.Session{Channel: "telegram", ChatID: wardOffID},
				Language: "vi", Active: true, Source: campaign.SourceList, ListCode: "DS-000001"},
		})
	}
	c.become(claimParent, "vi")
	return c
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
	if family, staff := c.e.deliveryReach(reg); family || staff {
		t.Errorf("an inactive registrar reached: family %v staff %v", family, staff)
	}
	if got := c.e.DeliveryFinalized(reg); len(got) != 0 {
		t.Errorf("a notice to an inactive registrar: %+v", got)
	}
	reg.Registrar.Active = true
	got := c.e.DeliveryFinalized(reg)
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
	if !slices.Equal(c.claims.audit, want) {
		t.Errorf("audit %q, want %q", c.claims.audit, want)
	}
	if c.st.Flow != "" {
		t.Errorf("state after the block: %+v", c.st)
	}
}
