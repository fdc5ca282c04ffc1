package flows

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Golden directories of the case work (FlowCase is one flow with several owners).
const (
	goldenVerify   = "verify"
	goldenAllocate = "allocate"
	goldenDeliver  = "deliver"
	goldenFind     = "find"
)

// People of the verification tests.
const (
	womenID  = "7020" // women's union of Linh Trung
	wardTDID = "7021" // ward official of Thảo Điền
)

// withPending gives the chat staff and four registrations waiting for verification:
// TD-000001 (Linh Trung, poor, shares a phone: 32 points), TD-000002 (Linh Trung, orphaned of
// both parents, no device: 64 points, registered later), TD-000003 (Thảo Điền, near-poor) and
// TD-000004 (Linh Trung, other, a possible duplicate of TD-000001). Parents' chats are
// 3101-3104; the parent of TD-000002 uses English.
func (c *convo) withPending() *convo {
	c.t.Helper()
	c.staff.Add(wardOffID, "Phạm Thị Phường", campaign.RoleWardOfficial, wardLT)
	c.staff.Add(womenID, "Trương Thị Hội", campaign.RoleWomensUnion, wardLT)
	c.staff.Add(wardTDID, "Lý Văn Điền", campaign.RoleWardOfficial, wardTD)
	c.staff.Add(eduID, "Lê Văn Giáo", campaign.RoleEducationOffice, "")
	c.staff.Add(volunteerID, "Trần Văn Tình", campaign.RoleVolunteer, "")
	c.staff.Add(officialID, "Phạm Thị Mai", campaign.RoleCityOfficial, "")
	regs := []struct {
		chat, lang, student, ward string
		circ                      []campaign.Circumstance
		situation                 campaign.DeviceSituation
	}{
		{"3101", "vi", "Trần Minh Khang", wardLT, []campaign.Circumstance{campaign.CircumstancePoor}, campaign.SituationSharesPhone},
		{"3102", "en", "Lê Bảo Ngọc", wardLT, []campaign.Circumstance{campaign.CircumstanceOrphanBothCovid}, campaign.SituationNone},
		{"3103", "vi", "Phạm Gia Huy", wardTD, []campaign.Circumstance{campaign.CircumstanceNearPoor}, campaign.SituationBroken},
		{"3104", "vi", "Trần Minh Khang", wardLT, []campaign.Circumstance{campaign.CircumstanceOther}, campaign.SituationNone},
	}
	for i, r := range regs {
		reg := campaign.Registration{
			CampaignID: "thu-duc-2021", Channel: "telegram", ChatID: r.chat, UserID: r.chat, Language: r.lang,
			ParentName: "Nguyễn Thị Lan", ParentPhone: "+849123456" + r.chat[2:], StudentName: r.student,
			BirthDate: time.Date(2012, 9, 5, 0, 0, 0, 0, time.UTC), Level: campaign.LevelPrimary, Grade: 3,
			School: "Tiểu học Linh Trung", WardCode: r.ward, Address: "12 đường số 5, khu phố 3",
			Circumstances: r.circ, DeviceSituation: r.situation, Needs: []campaign.Need{campaign.NeedTablet},
		}
		if r.circ[0] == campaign.CircumstanceOther {
			reg.CircumstanceOther = "Cha mất việc do dịch"
			reg.PossibleDuplicateOf = []string{"TD-000001"}
		}
		if i == 0 {
			reg.CreatedAt = c.now.Add(-time.Hour)
		}
		c.cases.AddRegistration(reg)
	}
	return c
}

func verifyScenarios() []scenario {
	return []scenario{
		{goldenVerify, "approve_reject_ask", func(c *convo) {
			c.withPending().become(wardOffID, "vi")
			c.send(cmd("verify"))
			c.send(press("v:ok:TD-000002"))
			c.send(press("v:no:TD-000001"))
			c.send(press("v:rj:TD-000001:has_device"))
			c.send(press("v:ask:TD-000004"))
			c.send(text("?"))
			c.send(text("Xin gửi ảnh giấy xác nhận hoàn cảnh của gia đình"))
			c.become("3104", "vi")
			c.send(cmd("status"))
			c.send(press("v:reply:TD-000004"))
			c.send(other())
			c.send(text("Tôi sẽ gửi ảnh qua Zalo của phường hôm nay"))
			c.send(press("v:reply:TD-000004"))
			c.become(wardOffID, "vi")
			c.send(press("v:back:TD-000004"))
		}},
		{goldenVerify, "answer_without_the_button", func(c *convo) {
			c.withPending().become(wardOffID, "vi")
			c.send(cmd("verify", "TD-000004"))
			c.send(press("v:ask:TD-000004"))
			c.send(text("Xin gửi ảnh giấy xác nhận hoàn cảnh của gia đình"))
			// The parent just answers: words, then the photo asked for, then another line.
			c.become("3104", "vi")
			c.send(text("Dạ, nhà tôi có giấy xác nhận hộ nghèo"))
			c.send(Input{Kind: KindOther, PhotoID: "AgACAgUAAxkBAAIBQ2giay", Text: "Giấy xác nhận hộ nghèo 2021"})
			c.send(Input{Kind: KindOther, PhotoID: "AgACAgUAAxkBAAIBQ3mat-sau"})
			c.send(other())       // a sticker is not part of an answer
			c.send(cmd("status")) // something else: the answer is over
			c.send(text("xin chào"))
			c.become(wardOffID, "vi")
			c.send(cmd("verify", "TD-000004"))
		}},
		{goldenVerify, "reject_other_and_conflict", func(c *convo) {
			c.withPending().become(womenID, "vi")
			c.send(cmd("verify", "td-4"))
			c.send(press("v:no:TD-000004"))
			c.send(press("v:rj:TD-000004:other"))
			c.send(text("ab"))
			c.send(cmd("help"))
			c.send(text("Gia đình đã chuyển đi nơi khác"))
			// Two officials look at the same registration; the second decision is refused.
			c.send(cmd("verify", "TD-000002"))
			c.become(wardOffID, "vi")
			c.send(press("v:ok:TD-000002"))
			c.become(womenID, "vi")
			c.send(press("v:ok:TD-000002"))
			c.send(press("v:skip:TD-000001"))
			c.send(cmd("verify"))
		}},
		{goldenVerify, "scope_and_refusals", func(c *convo) {
			c.withPending()
			c.become("3101", "vi")
			c.send(cmd("verify"))
			c.become(volunteerID, "vi")
			c.send(cmd("verify"))
			c.become(wardTDID, "vi")
			c.send(cmd("verify", "TD-000001"))
			c.send(cmd("verify"))
			c.send(cmd("verify", "abc"))
			c.send(cmd("verify", "TD-000099"))
			c.become(eduID, "en")
			c.send(cmd("verify"))
		}},
	}
}

func TestVerify_DecisionsReachTheStoreOnce(t *testing.T) {
	c := newChat(t).withPending().become(wardOffID, "vi")
	c.send(cmd("verify"))
	in := press("v:ok:TD-000002")
	in.UpdateID = "77"
	c.send(in)
	if r := c.cases.Registration("TD-000002"); r.Status != campaign.StatusVerified {
		t.Fatalf("TD-000002 is %s after approval", r.Status)
	}
	parent := toOthers(c.notices)["3102"]
	if len(parent) != 1 || !strings.Contains(parent[0], "has been verified") {
		t.Errorf("the English parent was told %q", parent)
	}
	// The same update run again (a retry after a crash) does not decide twice, nor tell the parent
	// twice: the key is the same.
	c.send(in)
	if len(c.notices) != 0 {
		t.Errorf("the retry queued %+v", c.notices)
	}
	if keys := c.cases.KeysOf("Decide"); len(keys) != 2 || keys[0] != keys[1] || keys[0] != "telegram:"+wardOffID+":77" {
		t.Errorf("Decide keys = %q, want the update's key twice", keys)
	}
	if n := strings.Count(strings.Join(c.cases.AuditActions(), ","), "registration.approve"); n != 1 {
		t.Errorf("registration.approve audited %d times, want 1", n)
	}
}

func TestVerify_ShowsPriorityDuplicatesAndMasksPhones(t *testing.T) {
	c := newChat(t).withPending().become(wardOffID, "vi")
	out := c.send(cmd("verify"))
	first := allText(out)
	// The orphan registered later comes first: priority, not order of arrival.
	if !strings.Contains(first, "TD-000002") || !strings.Contains(first, "64 điểm") ||
		!strings.Contains(first, "Mồ côi cả cha lẫn mẹ do Covid-19 +60") {
		t.Errorf("first case:\n%s", first)
	}
	// Ward officials call families: the phone is in full.
	if !strings.Contains(first, "+84912345602") {
		t.Errorf("ward official does not see the phone:\n%s", first)
	}
	out = c.send(cmd("verify", "TD-000004"))
	if text := allText(out); !strings.Contains(text, "Có thể trùng với: TD-000001") || !strings.Contains(text, "Cha mất việc do dịch") {
		t.Errorf("duplicate case:\n%s", text)
	}
	// The education office sees every ward, with phones masked.
	c.become(eduID, "vi")
	text := allText(c.send(cmd("verify", "TD-000003")))
	if strings.Contains(text, "+84912345603") || !strings.Contains(text, campaign.MaskPhone("+84912345603")) {
		t.Errorf("education office sees:\n%s", text)
	}
	views := 0
	for _, e := range c.audit.Entries() {
		if e.Action == "registration.view" {
			views++
		}
	}
	if views != 3 {
		t.Errorf("registration.view audited %d times, want 3", views)
	}
}

func TestVerify_ScopeOfEveryRole(t *testing.T) {
	for _, tt := range []struct {
		who     string
		code    string
		allowed bool
	}{
		{wardOffID, "TD-000001", true},
		{womenID, "TD-000001", true},
		{wardTDID, "TD-000001", false},
		{wardTDID, "TD-000003", true},
		{eduID, "TD-000003", true},
		{officialID, "TD-000001", false}, // the city official allocates, the education office verifies
		{volunteerID, "TD-000001", false},
		{cultureID, "TD-000001", false},
		{"3101", "TD-000001", false},
	} {
		c := newChat(t).withPending()
		c.staff.Add(cultureID, "Võ Văn Hóa", campaign.RoleCultureInfo, "")
		c.become(tt.who, "vi")
		out := c.send(cmd("verify", tt.code))
		shown := strings.Contains(allText(out), "📋 Hồ sơ "+tt.code)
		if shown != tt.allowed {
			t.Errorf("%s /verify %s: shown %v, want %v:%s", tt.who, tt.code, shown, tt.allowed, dump(out))
		}
		if !tt.allowed && len(c.audit.Refused()) != 1 {
			t.Errorf("%s /verify %s: %d refusals audited, want 1", tt.who, tt.code, len(c.audit.Refused()))
		}
		// Pressing a decision button out of scope is refused too, and changes nothing.
		c.send(press("v:ok:" + tt.code))
		if got := c.cases.Registration(tt.code).Status; (got == campaign.StatusVerified) != tt.allowed {
			t.Errorf("%s pressed approve on %s: status %s", tt.who, tt.code, got)
		}
	}
}

func TestVerify_StoreFailureKeepsTheTypedText(t *testing.T) {
	c := newChat(t).withPending().become(wardOffID, "vi")
	c.send(cmd("verify"))
	c.send(press("v:ask:TD-000002"))
	before := c.st
	c.cases.Fail("Decide", errors.New("connection reset"))
	if _, err := c.trySend(text("Xin gửi ảnh giấy chứng tử của cha mẹ")); err == nil {
		t.Fatal("a store failure was not returned")
	}
	if c.st.Step != stepVerifyQuestion || c.st.IdempotencyKey != before.IdempotencyKey {
		t.Errorf("state after the failure = %+v", c.st)
	}
	c.cases.Fail("Decide", nil)
	c.send(text("Xin gửi ảnh giấy chứng tử của cha mẹ"))
	if r := c.cases.Registration("TD-000002"); r.Status != campaign.StatusNeedsInfo {
		t.Fatalf("status = %s, want needs_info", r.Status)
	}
	if keys := c.cases.KeysOf("Decide"); len(keys) != 2 || keys[0] != keys[1] {
		t.Errorf("retried question keys = %q, want one key twice", keys)
	}
	q := toOthers(c.notices)["3102"]
	if len(q) != 1 || !strings.Contains(q[0], "death certificate") && !strings.Contains(q[0], "giấy chứng tử") {
		t.Errorf("the parent got %q", q)
	}
}

func TestVerify_ParentAnswerReachesTheOfficial(t *testing.T) {
	c := newChat(t).withPending().become(wardOffID, "vi")
	c.send(cmd("verify", "TD-000001"))
	c.send(press("v:ask:TD-000001"))
	c.send(text("Gia đình có giấy chứng nhận hộ nghèo không?"))
	c.become("3101", "vi")
	out := c.send(press("v:reply:TD-000001"))
	if c.st.Step != stepVerifyAnswer {
		t.Fatalf("after Trả lời the parent is at %q:%s", c.st.Step, dump(out))
	}
	c.send(text("Có, số giấy 123/2021"))
	official := toOthers(c.notices)[wardOffID]
	if len(official) != 1 || !strings.Contains(official[0], "Có, số giấy 123/2021") {
		t.Errorf("the official got %q", official)
	}
	r := c.cases.Registration("TD-000001")
	if r.Status != campaign.StatusSubmitted {
		t.Errorf("after the answer the registration is %s, want submitted", r.Status)
	}
	k, _ := c.cases.CaseByCode(context.Background(), "TD-000001")
	if len(k.Notes) != 2 || !k.Notes[1].Answer || k.Notes[1].Text != "Có, số giấy 123/2021" {
		t.Errorf("notes = %+v", k.Notes)
	}
	// Another family cannot answer for it.
	c.become("3103", "vi")
	if out := c.send(press("v:reply:TD-000001")); c.st.Flow == FlowCase || !strings.Contains(allText(out), "không chờ bạn trả lời") {
		t.Errorf("another parent pressed reply:%s", dump(out))
	}
}

func TestVerify_SkipCyclesThroughTheQueue(t *testing.T) {
	c := newChat(t).withPending().become(wardOffID, "vi")
	var seen []string
	out := c.send(cmd("verify"))
	for range 4 {
		code := codeShown(out)
		if code == "" {
			break
		}
		seen = append(seen, code)
		out = c.send(press("v:skip:" + code))
	}
	if want := []string{"TD-000002", "TD-000001", "TD-000004"}; !slices.Equal(seen, want) {
		t.Errorf("skipping showed %v, want %v (Thảo Điền's TD-000003 is out of scope)", seen, want)
	}
	if !strings.Contains(allText(out), "để lại 3 hồ sơ") {
		t.Errorf("after skipping all:%s", dump(out))
	}
	if code := codeShown(c.send(cmd("verify"))); code != "TD-000002" {
		t.Errorf("/verify after the queue ran out shows %q, want the first again", code)
	}
}

func TestVerify_CallbackDataFits(t *testing.T) {
	c := newChat(t).withPending().become(wardOffID, "vi")
	out := c.send(cmd("verify"))
	out = append(out, c.send(press("v:no:TD-000002"))...)
	for _, d := range buttonData(out) {
		if len(d) > maxData {
			t.Errorf("button data %q is %d bytes", d, len(d))
		}
	}
	if long := verifyData("rj", "TD-123456789", string(campaign.RejectNotEligible)); len(long) > maxData {
		t.Errorf("the longest reject data is %d bytes", len(long))
	}
}

func TestParseCode(t *testing.T) {
	for in, want := range map[string]string{
		"TD-000123": "TD-000123", "td-123": "TD-000123", "TD 123": "TD-000123", "td123": "TD-000123",
		" TD-1234567 ": "TD-1234567", "TD-0": "", "TD-": "", "XX-1": "", "TD-12a": "", "TD-1234567890": "",
	} {
		got, ok := parseCode("TD", in)
		if got != want || ok != (want != "") {
			t.Errorf("parseCode(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// codeShown is the registration code of the case shown in out, "" when none.
func codeShown(out []Output) string {
	for _, o := range out {
		if i := strings.Index(o.Text, "📋 Hồ sơ "); i >= 0 {
			rest := o.Text[i+len("📋 Hồ sơ "):]
			if j := strings.Index(rest, " "); j > 0 {
				return rest[:j]
			}
		}
	}
	return ""
}
