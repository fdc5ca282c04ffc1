package flows

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// goldenMydata is the golden directory of /mydata and /erase.
const goldenMydata = "mydata"

// myChild is a registration of the chat's family, changed by edit.
func (c *convo) myChild(edit func(*campaign.Registration)) campaign.Registration {
	c.t.Helper()
	r := campaign.Registration{
		CampaignID: "thu-duc-2021", Channel: c.sess.Channel, ChatID: c.sess.ChatID, UserID: c.sess.ChatID, Language: "vi",
		ParentName: "Nguyễn Thị Lan", ParentPhone: "+84912345678", StudentName: "Trần Minh Khang",
		BirthDate: time.Date(2012, 9, 5, 0, 0, 0, 0, time.UTC), Level: campaign.LevelPrimary, Grade: 3,
		School: "Trường Tiểu học Linh Trung", WardCode: wardLT, Address: "12 đường số 5, khu phố 3",
		Circumstances: []campaign.Circumstance{campaign.CircumstancePoor}, DeviceSituation: campaign.SituationSharesPhone,
		Needs: []campaign.Need{campaign.NeedTablet},
	}
	if edit != nil {
		edit(&r)
	}
	return c.cases.AddRegistration(r)
}

// mydataScenarios are the golden conversations of /mydata and /erase (testdata/mydata).
func mydataScenarios() []scenario {
	return []scenario{
		{goldenMydata, "list_show_words", func(c *convo) {
			c.send(cmd("mydata"))
			c.record = false
			c.myChild(nil)
			c.myChild(func(r *campaign.Registration) {
				r.StudentName, r.Status, r.Level, r.Grade = "Trần Minh Khôi", campaign.StatusDelivered, campaign.LevelLowerSecondary, 7
				r.Circumstances, r.CircumstanceOther = []campaign.Circumstance{campaign.CircumstanceOther}, "Cha mất việc do dịch"
			})
			c.become("1002", "vi").myChild(nil) // another family's
			c.become("1001", "vi")
			c.record = true
			c.send(text("Xóa"))
			c.send(press("md:show:TD-000002"))
			c.send(press("md:list"))
			c.send(cmd("mydata", "td-1"))
			c.send(cmd("mydata", "TD-000099"))
			c.send(cmd("mydata", "abc"))
			c.send(press("md:fix:address:TD-000002"))
			c.send(press("md:show:TD-000003"))
			c.send(text("hủy đăng ký"))
			c.send(text("delete my data"))
			c.send(text("xóa giúp tôi cái này")) // not just the words: the welcome
		}},
		{goldenMydata, "correct_before_verification", func(c *convo) {
			c.record = false
			c.myChild(nil)
			c.record = true
			c.send(cmd("mydata"))
			c.send(press("md:fix:address:TD-000001"))
			c.send(text("12"))
			c.send(other())
			c.send(cmd("help"))
			c.send(text("45 Lê Lợi, khu phố 2"))
			c.send(press("md:redo:TD-000001"))
			c.send(text("45 Lê Lợi, khu phố 2, tổ 7"))
			c.send(press("md:yes:TD-000001"))
			c.send(press("md:yes:TD-000001"))
			c.send(press("md:fix:phone:TD-000001"))
			c.send(text("0123"))
			c.send(contact("84987000111", "4242"))
			c.send(text("0987 000 111"))
			c.send(text("có"))
			c.send(press("md:fix:school:TD-000001"))
			c.send(text("trường tiểu học linh trung"))
			c.send(press("md:fix:school:TD-000001"))
			c.send(press("md:no:TD-000001"))
			c.send(cmd("mydata"))
		}},
		{goldenMydata, "correct_after_verification", func(c *convo) {
			c.record = false
			c.staff.Add(wardOffID, "Phạm Thị Phường", campaign.RoleWardOfficial, wardLT)
			c.staff.Add(womenID, "Trương Thị Hội", campaign.RoleWomensUnion, wardLT)
			c.staff.Add(wardTDID, "Lý Văn Điền", campaign.RoleWardOfficial, wardTD)
			c.myChild(func(r *campaign.Registration) { r.Status = campaign.StatusVerified })
			c.record = true
			c.send(cmd("mydata"))
			c.send(press("md:fix:phone:TD-000001"))
			c.send(text("0987 000 111"))
			c.send(press("md:yes:TD-000001"))
			c.become(wardOffID, "vi")
			c.send(press("v:back:TD-000001"))
		}},
		{goldenMydata, "withdraw_pending", func(c *convo) {
			c.record = false
			c.myChild(func(r *campaign.Registration) { r.Status = campaign.StatusNeedsInfo })
			c.record = true
			c.send(cmd("mydata"))
			c.send(press("md:wd:TD-000001"))
			c.send(text("không"))
			c.send(press("md:wd:TD-000001"))
			c.send(text("có lẽ"))
			c.send(press("md:yes:TD-000001"))
			c.send(cmd("status"))
			c.send(cmd("mydata"))
			c.send(press("md:wd:TD-000001"))
		}},
		{goldenMydata, "withdraw_allocated", func(c *convo) {
			c.record = false
			c.withCases("vi").allocateAll()
			c.become(volunteerID, "vi")
			c.send(press("d:fail:GH-000012"))
			c.send(press("d:fr:GH-000012:not_home"))
			c.become(parentA, "vi")
			c.record = true
			c.send(cmd("mydata"))
			c.send(press("md:wd:TD-000001"))
			c.send(press("md:yes:TD-000001"))
			c.become(eduID, "vi")
			c.send(cmd("allocate"))
		}},
		{goldenMydata, "delete_pending", func(c *convo) {
			c.record = false
			c.myChild(nil)
			c.st.Answers = map[string]string{lastPrefix + stepParentName: "Nguyễn Thị Lan", lastPrefix + stepPhone: "+84912345678"}
			c.record = true
			c.send(text("xoá dữ liệu"))
			c.send(press("md:del:TD-000001"))
			c.send(cmd("help"))
			c.send(press("md:redo:TD-000001"))
			c.send(press("md:yes:TD-000001"))
			c.send(cmd("mydata"))
			c.send(press("md:yes:TD-000001"))
		}},
		{goldenMydata, "delete_allocated", func(c *convo) {
			c.record = false
			c.withCases("vi").allocateAll()
			c.become(parentA, "vi")
			c.record = true
			c.send(cmd("mydata"))
			c.send(press("md:del:TD-000001"))
			c.send(press("md:yes:TD-000001"))
		}},
		{goldenMydata, "delete_delivered", func(c *convo) {
			c.record = false
			c.myChild(func(r *campaign.Registration) { r.Status = campaign.StatusDelivered })
			c.myChild(func(r *campaign.Registration) { r.StudentName = "Trần Minh Khôi" })
			c.record = true
			c.send(press("md:del:TD-000001"))
			c.send(press("md:yes:TD-000001"))
			c.send(cmd("mydata"))
		}},
		{goldenMydata, "erase_by_admin", func(c *convo) {
			c.record = false
			c.withCases("vi").allocateAll()
			c.become(testAdmin, "vi")
			c.record = true
			c.send(cmd("erase"))
			c.send(cmd("erase", "TD-000099", "đơn số 1"))
			c.send(cmd("erase", "TD-000001"))
			c.send(cmd("erase", "TD-000001", "đơn của Trần Minh Khang"))
			c.send(cmd("erase", "TD-000001", "gọi 0912 343 001"))
			c.send(cmd("erase", "td-1", "đơn số 45 ngày 12/9/2021"))
			c.send(press("md:no:TD-000001"))
			c.send(cmd("erase", "TD-000001", "đơn số 45 ngày 12/9/2021"))
			c.send(text("có"))
			c.send(cmd("erase", "TD-000001", "đơn số 45 ngày 12/9/2021"))
			c.become(wardOffID, "vi")
			c.send(cmd("erase", "TD-000002", "đơn số 46"))
			c.become(parentB, "en")
			c.send(cmd("erase", "TD-000002", "request 46"))
		}},
		{goldenMydata, "mydata_english", func(c *convo) {
			c.clientLang = "en-US"
			c.record = false
			c.myChild(func(r *campaign.Registration) { r.Status = campaign.StatusAllocated; r.Language = "en" })
			c.record = true
			c.send(text("my data"))
			c.send(press("md:fix:school:TD-000001"))
			c.send(text("Linh Trung Lower Secondary School"))
			c.send(text("yes"))
			c.send(press("md:del:TD-000001"))
			c.send(text("no"))
			c.send(press("md:wd:TD-000001"))
			c.send(cmd("cancel"))
		}},
	}
}

// A message of nothing but words asking for one's data opens /mydata, in either language; a
// sentence that merely contains one of them does not.
func TestMydata_Words(t *testing.T) {
	c := newChat(t)
	for _, w := range []string{"xóa", "Xoá", "XÓA DỮ LIỆU", "hủy đăng ký", "huy dang ky", "sửa", "Sửa thông tin!", "delete", "Delete my data", "withdraw", "dữ liệu của tôi"} {
		c.send(text(w))
		if !slices.Contains(c.ids, "mydata.none") {
			t.Errorf("%q did not open /mydata: %v", w, c.ids)
		}
	}
	for _, w := range []string{"xin chào", "xóa giúp tôi", "sửa xe", "delete everything now"} {
		c.send(text(w))
		if slices.Contains(c.ids, "mydata.none") {
			t.Errorf("%q opened /mydata", w)
		}
	}
	for _, lang := range []string{langVI, langEN} {
		var names []string
		for _, cm := range c.e.Commands(lang) {
			names = append(names, cm.Name)
		}
		if !slices.Contains(names, "mydata") || slices.Contains(names, "erase") {
			t.Errorf("%s command menu %v", lang, names)
		}
	}
}

// Deleting withdraws first, then erases as the family (by ErasedActor, for family_self), and
// leaves nothing of the family in the dialog; run again after a lost save, it says the same.
func TestMydata_DeleteLeavesNothingInTheDialog(t *testing.T) {
	c := newChat(t)
	c.myChild(nil)
	c.st.Answers = map[string]string{lastPrefix + stepParentName: "Nguyễn Thị Lan", lastPrefix + stepPhone: "+84912345678"}
	c.send(cmd("mydata"))
	c.send(press("md:del:TD-000001"))
	out := c.rerun(press("md:yes:TD-000001"))
	wantText(t, out, msg(c.e, langVI, "mydata.delete.done", "Code", "TD-000001"))
	// The second run finds the registration erased, off the chat: it says so without a store call.
	if got := c.eraser.Calls(); !slices.Equal(got, []string{"TD-000001 family family_self"}) {
		t.Errorf("erasures %q", got)
	}
	if keys := c.cases.KeysOf("Withdraw"); len(keys) != 1 || keys[0] != "key-1:withdraw" {
		t.Errorf("withdrawals with keys %q", keys)
	}
	b, _ := json.Marshal(c.st)
	for _, trace := range []string{"Nguyễn Thị Lan", "912345678", "TD-000001", "Khang"} {
		if strings.Contains(string(b), trace) {
			t.Errorf("the dialog still holds %q: %s", trace, b)
		}
	}
	r := c.cases.Registration("TD-000001")
	if !r.Erased() || r.Status != campaign.StatusWithdrawn {
		t.Errorf("registration after deletion: %+v", r)
	}
	if !slices.Contains(c.cases.AuditActions(), "registration.withdraw TD-000001") {
		t.Errorf("audit %v", c.cases.AuditActions())
	}
}

// A withdrawal run again after a lost save withdraws once and says the same; the volunteer is
// told once.
func TestMydata_WithdrawRunTwice(t *testing.T) {
	c := newChat(t).withCases("vi")
	c.allocateAll()
	c.become(parentA, "vi")
	c.send(press("md:wd:TD-000001"))
	c.rerun(press("md:yes:TD-000001"))
	if n := c.cases.CallCount("Withdraw"); n != 2 {
		t.Errorf("Withdraw called %d times", n)
	}
	if got := c.cases.Device("TB-000123"); got.State != campaign.DeviceReady {
		t.Errorf("laptop = %s, want ready", got.State)
	}
	if d := c.cases.Delivery("GH-000012"); d.Code != "" {
		t.Errorf("the delivery is still there: %+v", d)
	}
	if r := c.cases.Registration("TD-000001"); r.Status != campaign.StatusWithdrawn {
		t.Errorf("registration %s", r.Status)
	}
}

// What the confirmation said may change before the press: the registration is shown afresh and
// nothing happens.
func TestMydata_ChangedBeforeTheConfirmation(t *testing.T) {
	c := newChat(t)
	c.myChild(nil)
	c.send(press("md:wd:TD-000001"))
	c.regs.Edit(func(rs []campaign.Registration) { rs[0].Status = campaign.StatusAllocated })
	out := c.send(press("md:yes:TD-000001"))
	wantText(t, out, msg(c.e, langVI, "mydata.changed", "Code", "TD-000001", "Status", msg(c.e, langVI, "status.allocated")))
	if c.cases.CallCount("Withdraw") != 0 || c.st.Flow != "" {
		t.Errorf("withdrew %d times, state %+v", c.cases.CallCount("Withdraw"), c.st)
	}
	// The store's word wins too: someone else's change between the read and the write.
	c.send(press("md:del:TD-000001"))
	c.cases.Fail("Withdraw", campaign.Errorf(campaign.ECONFLICT, "delivered meanwhile"))
	out = c.send(press("md:yes:TD-000001"))
	if !slices.Contains(c.ids, "mydata.changed") || len(c.eraser.Calls()) != 0 {
		t.Errorf("after a conflict: erasures %v%s", c.eraser.Calls(), dump(out))
	}
}

// A store that fails leaves the confirmation as it was, to be pressed again; an erasure whose
// database part went through but not the rest (a file, a dialog) is done.
func TestMydata_StoreFailures(t *testing.T) {
	c := newChat(t)
	c.myChild(func(r *campaign.Registration) { r.Status = campaign.StatusRejected })
	c.send(press("md:del:TD-000001"))
	before := c.st
	c.eraser.Err = campaign.Errorf(campaign.EUNAVAILABLE, "database away")
	if _, err := c.trySend(press("md:yes:TD-000001")); err == nil || !statesEqual(c.st, before) {
		t.Fatalf("failed erasure: %v, state %+v", err, c.st)
	}
	c.eraser.ErrAfter = true
	out := c.send(press("md:yes:TD-000001"))
	wantText(t, out, msg(c.e, langVI, "mydata.delete.done", "Code", "TD-000001"))
	if c.cases.CallCount("Withdraw") != 0 {
		t.Error("a rejected registration was withdrawn")
	}

	c = newChat(t)
	c.myChild(nil)
	c.send(press("md:fix:school:TD-000001"))
	c.send(text("Trường THCS Linh Trung"))
	c.cases.Fail("Correct", campaign.Errorf(campaign.EINVALID, "too long for the store"))
	out = c.send(press("md:yes:TD-000001"))
	if c.st.Step != myStepFix || !slices.Contains(c.ids, "err.invalid") {
		t.Errorf("refused correction: state %+v%s", c.st, dump(out))
	}
}

// A registration form in progress is never replaced by /mydata's questions; /mydata itself shows
// and then asks the form's question again.
func TestMydata_FormInProgress(t *testing.T) {
	c := newChat(t)
	c.myChild(nil)
	form := State{Flow: FlowRegistration, Step: stepParentName, IdempotencyKey: "k", StartedAt: c.now, UpdatedAt: c.now,
		Answers: map[string]string{stepConsent: c.now.Format(time.RFC3339)}}
	c.st = form
	for _, in := range []Input{press("md:fix:address:TD-000001"), press("md:wd:TD-000001"), press("md:del:TD-000001")} {
		c.send(in)
		if !slices.Contains(c.ids, "mydata.finish_form") || c.st.Flow != FlowRegistration || c.st.Step != stepParentName {
			t.Errorf("%s: ids %v, state %+v", describe(in), c.ids, c.st)
		}
	}
	c.send(cmd("mydata"))
	if !slices.Contains(c.ids, "mydata.show.title") || c.st.Flow != FlowRegistration {
		t.Errorf("/mydata in a form: ids %v, state %+v", c.ids, c.st)
	}
}

// Without the family's store or the eraser, /mydata shows what is kept and offers nothing it
// cannot do; /erase says it is off.
func TestMydata_WithoutStores(t *testing.T) {
	c := newChatWith(t, func(cfg *Config) { cfg.Family, cfg.Eraser = nil, nil })
	c.myChild(nil)
	out := c.send(cmd("mydata"))
	if d := buttonData(out); len(d) != 0 {
		t.Errorf("buttons %v", d)
	}
	wantText(t, out, "12 đường số 5, khu phố 3")
	c.send(press("md:del:TD-000001"))
	if !slices.Contains(c.ids, "common.stale_idle") {
		t.Errorf("delete without an eraser: %v", c.ids)
	}
	c.as(testAdmin).send(cmd("erase", "TD-000001", "đơn số 45"))
	if !slices.Contains(c.ids, "mydata.erase.unavailable") {
		t.Errorf("/erase without an eraser: %v", c.ids)
	}
}

// An administrator's erasure is audited twice: the tombstone by the eraser, and the request's
// reference, which names nobody.
func TestMydata_EraseAudited(t *testing.T) {
	c := newChat(t)
	c.myChild(nil)
	c.as(testAdmin)
	c.send(cmd("erase", "TD-000001", "đơn số 45 ngày 12/9/2021"))
	c.send(press("md:yes:TD-000001"))
	if got := c.eraser.Calls(); !slices.Equal(got, []string{"TD-000001 telegram:" + testAdmin + " family_request"}) {
		t.Errorf("erasures %q", got)
	}
	var found bool
	for _, e := range c.audit.Entries() {
		if e.Action == auditEraseRequest && e.Subject == "TD-000001" && e.Actor == "telegram:"+testAdmin {
			found = true
			if b, _ := json.Marshal(e.After); !strings.Contains(string(b), "đơn số 45 ngày 12/9/2021") {
				t.Errorf("request audited as %s", b)
			}
		}
	}
	if !found {
		t.Errorf("no %s in %+v", auditEraseRequest, c.audit.Entries())
	}
	if r := c.cases.Registration("TD-000001"); !r.Erased() || r.Status != campaign.StatusWithdrawn {
		t.Errorf("registration %+v", r)
	}
	// Someone without the role is refused and audited.
	c.as("1001").send(cmd("erase", "TD-000001", "đơn số 45"))
	if !slices.Contains(c.ids, "staff.refused") {
		t.Errorf("a parent's /erase: %v", c.ids)
	}
}
