package flows

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Staff of the assisted registration's tests.
const (
	assistWardID   = "7311" // ward official of Linh Trung
	assistEduID    = "7312" // education office
	assistSchoolID = "7313" // a lower secondary school's staff
	assistVolID    = "7314" // a volunteer: may not register families
	assistSchool   = "Trường THCS Bình Thọ"
)

// withAssistStaff adds the staff of the assisted registration's tests.
func (c *convo) withAssistStaff() *convo {
	c.staff.Add(assistWardID, "Phạm Thị Phường", campaign.RoleWardOfficial, wardLT)
	c.staff.Add(assistEduID, "Lê Văn Giáo", campaign.RoleEducationOffice, "")
	c.staff.Add(assistVolID, "Trần Văn Tình", campaign.RoleVolunteer, "")
	c.staff.AddMember(campaign.Staff{Channel: "telegram", ExternalID: assistSchoolID,
		Name: "Ngô Thị Trường", Role: campaign.RoleSchool, School: assistSchool})
	return c
}

// assistChild answers the child's questions of the assisted form after the phone, for a ward
// official (the ward fixed): name and birth date in one message, grade and school in one, the
// address, circumstances, device situation and needs.
func assistChild(c *convo, name string) {
	c.send(text(name + ", 05/09/2012"))
	c.send(text("lớp 3, Tiểu học Linh Trung"))
	c.send(text("12 đường số 5, khu phố 3"))
	c.send(text("hộ nghèo, khó khăn do covid"))
	c.send(press("as:device_situation:none"))
	c.send(text("máy tính bảng, sim 4g"))
}

func assistScenarios() []scenario {
	return []scenario{
		{FlowAssist, "ward_official_no_phone", func(c *convo) {
			c.record = false
			c.withAssistStaff()
			c.become(assistWardID, "vi")
			c.record = true
			c.send(cmd("help"))
			c.send(cmd("assist"))
			c.send(press("as:consent:yes"))
			c.send(text("Nguyễn Thị Lan"))
			c.send(press("as:phone:!none"))
			assistChild(c, "Trần Minh Khang")
			c.send(press("as:review:edit.ward")) // the ward is the official's: not editable
			c.send(press("as:review:submit"))
			// The next child of the same family: the parent, phone, ward and address are kept.
			c.send(press("aa:next"))
			c.send(press("as:consent:yes"))
			c.send(text("Trần Thị Mai, 10/02/2014"))
			c.send(cmd("cancel"))
			// The official's own /status has no child of theirs.
			c.send(cmd("status"))
		}},
		{FlowAssist, "family_refuses", func(c *convo) {
			c.record = false
			c.withAssistStaff()
			c.become(assistEduID, "vi")
			c.record = true
			c.send(text("đăng ký giúp"))
			c.send(press("as:consent:no"))
			c.send(cmd("status"))
		}},
		{FlowAssist, "school_staff", func(c *convo) {
			c.record = false
			c.withAssistStaff()
			c.become(assistSchoolID, "vi")
			c.record = true
			c.send(cmd("assist"))
			c.send(text("gia đình đồng ý"))
			c.send(text("Lê Văn Tư"))
			c.send(text("0123456789"))    // not a number
			c.send(text("028 3896 1234")) // a landline: officials can call it
			c.send(text("Lê Bảo Ngọc, 17/03/2009"))
			c.send(text("7A, THCS Linh Trung")) // the school is the sender's: the rest goes
			c.send(text("binh tho"))
			c.send(text("45/2 đường số 9, khu phố 1"))
			c.send(press("as:circumstances:none"))
			c.send(press("as:circumstances:!done"))
			c.send(press("as:device_situation:shares_phone"))
			c.send(press("as:needs:laptop"))
			c.send(press("as:needs:!done"))
			c.send(press("as:review:submit"))
			c.send(press("aa:done"))
		}},
		{FlowAssist, "role_refused", func(c *convo) {
			c.record = false
			c.withAssistStaff()
			c.become(assistVolID, "vi")
			c.record = true
			c.send(cmd("assist"))
			c.send(press("aa:new"))
			c.send(text("đăng ký giúp"))
			// A parent's words are a parent's: the welcome, no refusal.
			c.become("3201", "vi")
			c.send(text("đăng ký giúp"))
			c.send(cmd("assist"))
		}},
	}
}

// The assisted registration stores what the issue asks: source assisted, the staff member as
// registrar and witness, no chat, the family's phone optional, the consent's time.
func TestAssist_StoresAnAssistedRegistration(t *testing.T) {
	c := newChat(t).withAssistStaff()
	c.become(assistWardID, "vi")
	c.send(cmd("assist"))
	c.send(press("as:consent:yes"))
	consentAt := c.now
	c.now = c.now.Add(5 * time.Minute)
	c.send(text("Nguyễn Thị Lan"))
	c.send(press("as:phone:!none"))
	assistChild(c, "Trần Minh Khang")
	if c.st.Flow != FlowAssist || c.st.Step != stepReview {
		t.Fatalf("state %s/%s, want the assisted review", c.st.Flow, c.st.Step)
	}
	out := c.send(press("as:review:submit"))
	if len(c.regs.All()) != 1 {
		t.Fatalf("%d registrations stored, want 1", len(c.regs.All()))
	}
	r := c.regs.All()[0]
	actor := "telegram:" + assistWardID
	if r.Source != campaign.SourceAssisted || r.RegisteredBy != actor || r.ConsentWitness != actor {
		t.Errorf("source %q, by %q, witness %q; want assisted by and witnessed by %s", r.Source, r.RegisteredBy, r.ConsentWitness, actor)
	}
	if r.Channel != "" || r.ChatID != "" || r.UserID != "" || r.ParentPhone != "" {
		t.Errorf("chat %q/%q/%q, phone %q; want none", r.Channel, r.ChatID, r.UserID, r.ParentPhone)
	}
	if !r.ConsentAt.Equal(consentAt) || r.WardCode != wardLT || r.ParentName != "Nguyễn Thị Lan" || r.Grade != 3 {
		t.Errorf("consent %v (want %v), ward %q, parent %q, grade %d", r.ConsentAt, consentAt, r.WardCode, r.ParentName, r.Grade)
	}
	if !strings.Contains(allText(out), r.Code) || !slices.Contains(buttonData(out), "aa:next") {
		t.Errorf("the official is not told the code, or not offered the next child:%s", dump(out))
	}
	// The official's own registrations do not include the family's.
	if mine, _ := c.regs.RegistrationsByChat(t.Context(), "telegram", assistWardID); len(mine) != 0 {
		t.Errorf("the official's chat lists %d registrations", len(mine))
	}
}

// A retried submit (the store failed after the review) makes one record, with one key.
func TestAssist_RetriedSubmitWritesOnce(t *testing.T) {
	c := newChat(t).withAssistStaff()
	c.become(assistEduID, "vi")
	c.send(cmd("assist"))
	c.send(press("as:consent:yes"))
	c.send(text("Nguyễn Thị Lan"))
	c.send(text("0912 345 678"))
	c.send(text("Trần Minh Khang, 05/09/2012"))
	c.send(text("lớp 3, Tiểu học Linh Trung"))
	c.send(text("12 đường số 5, khu phố 3, Linh Trung"))
	c.send(text("hộ nghèo"))
	c.send(press("as:device_situation:none"))
	c.send(text("laptop"))
	if c.st.Step != stepReview {
		t.Fatalf("step %q, want the review", c.st.Step)
	}
	c.regs.SubmitErr = campaign.Errorf(campaign.EUNAVAILABLE, "database down")
	if _, err := c.trySend(press("as:review:submit")); err == nil {
		t.Fatal("a failed store gave no error")
	}
	c.regs.SubmitErr = nil
	key := c.st.IdempotencyKey
	before := c.st
	c.send(press("as:review:submit"))
	c.st = before // the same update handled again, as after a crash before the state was saved
	out := c.send(press("as:review:submit"))
	if len(c.regs.All()) != 1 || c.regs.All()[0].IdempotencyKey != key || c.regs.All()[0].ParentPhone != "+84912345678" {
		t.Fatalf("stored %+v, want one registration with key %s", c.regs.All(), key)
	}
	if !strings.Contains(allText(out), c.regs.All()[0].Code) {
		t.Errorf("the retried submit does not give the same code:%s", dump(out))
	}
}

// The assisted form and the staff member's own registration never mix: their answers, last
// answers and buttons stay apart, and one in progress is offered, never dropped.
func TestAssist_OwnRegistrationAndAssistedDoNotMix(t *testing.T) {
	c := newChat(t).withAssistStaff()
	c.become(assistWardID, "vi")
	// The official registers their own child first.
	c.toReview()
	c.send(press("r:review:submit"))
	if c.st.Answers[lastPrefix+stepParentName] == "" {
		t.Fatal("the own registration kept no last parent name")
	}
	own := c.st.Answers[lastPrefix+stepParentName]
	c.send(cmd("assist"))
	out := c.send(press("as:consent:yes"))
	if c.st.Step != stepParentName || slices.Contains(c.ids, "reg.parent_name.use_last") || slices.Contains(buttonData(out), "as:parent_name:!last") {
		t.Errorf("the assisted form offered the official's own details (step %q):%s", c.st.Step, dump(out))
	}
	c.send(text("Nguyễn Thị Lan"))
	// Their own registration's button is stale here; starting it offers the assisted form back.
	out = c.send(press("r:phone:!help"))
	if c.st.Flow != FlowAssist || c.st.Step != stepPhone || !strings.Contains(allText(out), msg(c.e, langVI, "common.stale")) {
		t.Fatalf("a registration button moved the assisted form to %s/%s:%s", c.st.Flow, c.st.Step, dump(out))
	}
	out = c.send(press("g:register"))
	if c.st.Flow != FlowAssist || !slices.Contains(buttonData(out), "g:resume") {
		t.Errorf("g:register during an assisted form:%s", dump(out))
	}
	// "Làm lại từ đầu" starts a new assisted form, with the ward still fixed.
	c.send(press("g:restart"))
	if c.st.Flow != FlowAssist || c.st.Answers[stepWard] != wardLT || c.st.Answers[stepParentName] != "" {
		t.Errorf("restart: %+v", c.st)
	}
	// The assisted form's submit leaves the official's own last answers as they were.
	c.send(press("as:consent:yes"))
	c.send(text("Nguyễn Thị Lan"))
	c.send(press("as:phone:!none"))
	assistChild(c, "Trần Minh Khang")
	c.send(press("as:review:submit"))
	if got := c.st.Answers[lastPrefix+stepParentName]; got != own {
		t.Errorf("the official's own last parent name = %q, want %q", got, own)
	}
}

// Staff allowed to register families are refused nothing in their own scope, and the rest are
// refused politely, with an audit row naming the action.
func TestAssist_OnlyRolesThatMay(t *testing.T) {
	for _, r := range []campaign.Role{campaign.RoleVolunteer, campaign.RoleCultureInfo, campaign.RoleCityOfficial} {
		c := newChat(t)
		c.staff.Add("7400", "Người thử", r, "")
		c.become("7400", "vi")
		out := c.send(cmd("assist"))
		refused := c.audit.Refused()
		if len(refused) != 1 || refused[0].Subject != string(campaign.ActionAssist) || c.st.Flow != "" {
			t.Errorf("%s: refused %+v, flow %q:%s", r, refused, c.st.Flow, dump(out))
		}
	}
	// A ward official whose role moved to another ward since the form began is refused at the
	// submit; the answers stay.
	c := newChat(t).withAssistStaff()
	c.become(assistWardID, "vi")
	c.send(cmd("assist"))
	c.send(press("as:consent:yes"))
	c.send(text("Nguyễn Thị Lan"))
	c.send(press("as:phone:!none"))
	assistChild(c, "Trần Minh Khang")
	c.staff.Add(assistWardID, "Phạm Thị Phường", campaign.RoleWardOfficial, wardTD)
	c.send(press("as:review:submit"))
	if len(c.regs.All()) != 0 || c.st.Step != stepReview || len(c.audit.Refused()) != 1 {
		t.Errorf("after the move: %d stored, step %q, refusals %+v", len(c.regs.All()), c.st.Step, c.audit.Refused())
	}
}

// Outside the registration window staff may still register a family; the form says why.
func TestAssist_OutsideTheWindow(t *testing.T) {
	c := newChat(t).withAssistStaff()
	c.now = time.Date(2021, 10, 5, 9, 0, 0, 0, testStart.Location())
	c.become(assistWardID, "vi")
	out := c.send(cmd("assist"))
	if c.st.Flow != FlowAssist || !strings.Contains(allText(out), "30/09/2021") {
		t.Errorf("after the window: flow %q:%s", c.st.Flow, dump(out))
	}
	// The family's next child after the visit is a new family: nothing is filled in.
	c.send(press("as:consent:yes"))
	c.send(text("Nguyễn Thị Lan"))
	c.send(press("as:phone:!none"))
	assistChild(c, "Trần Minh Khang")
	c.send(press("as:review:submit"))
	c.now = c.now.Add(assistVisitMax + time.Minute)
	c.send(press("aa:next"))
	c.send(press("as:consent:yes"))
	if c.st.Step != stepParentName || c.st.Answers[stepAddress] != "" {
		t.Errorf("aa:next after the visit: step %q, answers %v", c.st.Step, c.st.Answers)
	}
	for k := range c.st.Answers {
		if strings.HasPrefix(k, lastAssist) {
			t.Errorf("the last family's %s is still kept", k)
		}
	}
}

func TestParseFamilyPhone(t *testing.T) {
	for in, want := range map[string]string{
		"0912 345 678":    "+84912345678",
		"028 3896 1234":   "+842838961234",
		"+84 28 38961234": "+842838961234",
	} {
		if got, err := parseFamilyPhone(in); err != nil || got != want {
			t.Errorf("parseFamilyPhone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, id := range map[string]string{
		"0123456789":      "assist.err.phone_invalid",
		"12":              "reg.err.phone_format",
		"+1 202 555 0101": "reg.err.phone_not_vn",
	} {
		_, err := parseFamilyPhone(in)
		var inv *invalid
		if !errors.As(err, &inv) || inv.ID != id {
			t.Errorf("parseFamilyPhone(%q) = %v, want %s", in, err, id)
		}
	}
}
