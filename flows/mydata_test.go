package flows

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// goldenMydata is the golden directory of /mydata and /erase.
const goldenMydata = "mydata"

// fakeFamily is an in-memory campaign.FamilyStore over the chat's fakeCases, keeping the contracts
// of campaign/family.go as storage/postgres does: the chat's registrations only, corrections at
// once before verification and as a note after (the ward's verifying staff, from the fakeStaff,
// told), withdrawals that cancel a pending delivery and put its device back to ready and its
// stock back, a key applied before returning what it did.
type fakeFamily struct {
	cases *fakeCases
	staff *fakeStaff
	// withdrawals remembers each key's withdrawal, corrected each key's correction.
	withdrawals map[string]campaign.Withdrawal
	corrected   map[string]campaign.Corrected
}

var _ campaign.FamilyStore = (*fakeFamily)(nil)

var fakeE164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// Correct implements campaign.FamilyStore.
func (f *fakeFamily) Correct(_ context.Context, code string, parent campaign.Session, c campaign.Correction, key string, notify campaign.Notify[campaign.Corrected]) (campaign.Corrected, error) {
	s := f.cases
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("Correct", key); err != nil {
		return campaign.Corrected{}, err
	}
	code, c.Value = normCode(code), campaign.NormalizeText(c.Value)
	if _, ok := fixLabels[c.Field]; !ok || c.Value == "" || (c.Field == campaign.CorrectPhone && !fakeE164.MatchString(c.Value)) {
		return campaign.Corrected{}, campaign.Errorf(campaign.EINVALID, "correction: %s %q", c.Field, c.Value)
	}
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	r := s.reg(code)
	if r == nil || r.Channel != parent.Channel || r.ChatID != parent.ChatID {
		return campaign.Corrected{}, campaign.Errorf(campaign.ENOTFOUND, "no registration %s of this chat", code)
	}
	if done, ok := f.corrected[key+"|"+code]; ok && key != "" {
		done.Registration = *r
		return done, nil
	}
	if !r.Status.Correctable() {
		return campaign.Corrected{}, campaign.Errorf(campaign.ECONFLICT, "registration %s is %s", code, r.Status)
	}
	out := campaign.Corrected{Correction: c}
	actor := parent.Channel + ":" + parent.ChatID
	if r.Status.CorrectedDirectly() {
		switch c.Field {
		case campaign.CorrectAddress:
			r.Address = c.Value
		case campaign.CorrectPhone:
			r.ParentPhone = c.Value
		case campaign.CorrectSchool:
			r.School = c.Value
		}
		r.UpdatedAt, out.Applied = s.now(), true
		s.record(actor, "registration.correct", code, map[string]any{"status": r.Status}, map[string]any{"field": c.Field})
	} else {
		if c.Request == "" {
			return campaign.Corrected{}, campaign.Errorf(campaign.EINVALID, "correction: no request")
		}
		// As storage/postgres: a message that waits for the ward in /verify.
		s.notes[code] = append(s.notes[code], campaign.Note{At: s.now(), Actor: actor, Answer: true, Message: true, Text: c.Request})
		if s.messageAt == nil {
			s.messageAt = map[string]time.Time{}
		}
		if s.messageAt[code].IsZero() {
			s.messageAt[code] = s.now()
		}
		out.Officials = f.officials(r.WardCode)
		s.record(actor, "registration.correction_request", code, map[string]any{"status": r.Status}, map[string]any{"field": c.Field})
	}
	out.Registration = *r
	if key != "" {
		f.corrected[key+"|"+code] = out
	}
	queueNotices(s.outbox, notify, out)
	return out, nil
}

// officials are the fake staff who verify ward, or the education office when it has none.
func (f *fakeFamily) officials(ward string) []campaign.Recipient {
	f.staff.mu.Lock()
	defer f.staff.mu.Unlock()
	var inWard, edu []campaign.Recipient
	for _, m := range f.staff.members {
		to := campaign.Recipient{Channel: m.Channel, ChatID: m.ExternalID}
		switch {
		case m.Role.NeedsWard() && m.WardCode == ward:
			inWard = append(inWard, to)
		case m.Role == campaign.RoleEducationOffice:
			edu = append(edu, to)
		}
	}
	if len(inWard) == 0 {
		inWard = edu
	}
	slices.SortFunc(inWard, func(a, b campaign.Recipient) int { return strings.Compare(a.ChatID, b.ChatID) })
	return inWard
}

// Withdraw implements campaign.FamilyStore.
func (f *fakeFamily) Withdraw(_ context.Context, code string, parent campaign.Session, by, key string, notify campaign.Notify[campaign.Withdrawal]) (campaign.Withdrawal, error) {
	s := f.cases
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("Withdraw", key); err != nil {
		return campaign.Withdrawal{}, err
	}
	if by == "" {
		return campaign.Withdrawal{}, campaign.Errorf(campaign.EINVALID, "withdraw: nobody")
	}
	code = normCode(code)
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	r := s.reg(code)
	if r == nil || r.Erased() || (parent.ChatID != "" && (r.Channel != parent.Channel || r.ChatID != parent.ChatID)) {
		return campaign.Withdrawal{}, campaign.Errorf(campaign.ENOTFOUND, "no registration %s of this chat", code)
	}
	if w, ok := f.withdrawals[key+"|"+code]; ok && key != "" {
		w.Registration = *r
		return w, nil
	}
	if !r.Status.Withdrawable() {
		return campaign.Withdrawal{}, campaign.Errorf(campaign.ECONFLICT, "registration %s is %s", code, r.Status)
	}
	w := campaign.Withdrawal{Before: r.Status}
	if i := slices.IndexFunc(s.deliveries, func(d campaign.Delivery) bool { return d.RegistrationCode == code }); i >= 0 {
		d := s.deliveries[i]
		if d.Status != campaign.DeliveryPending {
			return campaign.Withdrawal{}, campaign.Errorf(campaign.ECONFLICT, "delivery %s is %s", d.Code, d.Status)
		}
		w.DeliveryCode, w.Stock, w.Handler = d.Code, slices.Clone(d.Stock), d.Volunteer
		for _, e := range slices.Backward(s.audit) {
			if w.Handler == "" && e.Subject == d.Code && e.Action == "delivery.failed" {
				w.Handler = e.Actor
			}
		}
		if w.Handler == "" {
			w.Handler = d.AllocatedBy
		}
		if d.DeviceLabel != "" {
			s.devices.mu.Lock()
			if dev := s.dev(d.DeviceLabel); dev != nil && dev.State == campaign.DeviceAllocated {
				dev.State, dev.UpdatedAt = campaign.DeviceReady, s.now()
				w.DeviceLabel, w.DeviceType = dev.Label, dev.Type
			}
			s.devices.mu.Unlock()
		}
		for _, k := range d.Stock {
			s.stockTaken[k]--
		}
		s.deliveries = slices.Delete(s.deliveries, i, i+1)
	}
	r.Status, r.UpdatedAt = campaign.StatusWithdrawn, s.now()
	w.Registration = *r
	if key != "" {
		f.withdrawals[key+"|"+code] = w
	}
	s.record(by, "registration.withdraw", code, map[string]any{"status": w.Before, "delivery": w.DeliveryCode}, map[string]any{"status": r.Status})
	queueNotices(s.outbox, notify, w)
	return w, nil
}

// RegistrationByCode implements campaign.FamilyStore.
func (f *fakeFamily) RegistrationByCode(_ context.Context, code string) (campaign.Registration, error) {
	s := f.cases
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("FamilyRegistration"); err != nil {
		return campaign.Registration{}, err
	}
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	if r := s.reg(normCode(code)); r != nil {
		return *r, nil
	}
	return campaign.Registration{}, campaign.Errorf(campaign.ENOTFOUND, "no registration %s", code)
}

// fakeEraser is a campaign.Eraser over the chat's fakeCases: the registration loses everything
// that names the family and its chat (as storage/postgres's erasure), its notes go, and the call
// is recorded.
type fakeEraser struct {
	mu    sync.Mutex
	cases *fakeCases
	calls []string // "code by reason"
	// err is returned instead of erasing; with errAfter it is returned after erasing (a dialog or
	// a file that could not be cleared).
	err      error
	errAfter bool
}

var _ campaign.Eraser = (*fakeEraser)(nil)

// Erase implements campaign.Eraser.
func (e *fakeEraser) Erase(_ context.Context, code, by string, reason campaign.ErasureReason) (campaign.Erasure, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, code+" "+by+" "+string(reason))
	if e.err != nil && !e.errAfter {
		return campaign.Erasure{}, e.err
	}
	s := e.cases
	s.mu.Lock()
	defer s.mu.Unlock()
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	r := s.reg(normCode(code))
	if r == nil {
		return campaign.Erasure{}, campaign.Errorf(campaign.ENOTFOUND, "no registration %s", code)
	}
	out := campaign.Erasure{Code: r.Code, Reason: reason, At: s.now(),
		Kept: campaign.ErasureKept{Status: r.Status, WardCode: r.WardCode, Level: r.Level, Grade: r.Grade}}
	if r.Erased() {
		out.Already = true
		return out, nil
	}
	out.Family = campaign.Session{Channel: r.Channel, ChatID: r.ChatID}
	out.Erased.Notes = len(s.notes[r.Code])
	delete(s.notes, r.Code)
	r.ParentName, r.ParentPhone, r.StudentName, r.BirthDate = "", "", "", time.Time{}
	r.School, r.Address, r.CircumstanceOther, r.RejectReason, r.ChatID, r.UserID = "", "", "", "", "", ""
	for i := range s.deliveries {
		if d := &s.deliveries[i]; d.RegistrationCode == r.Code {
			out.DeliveryCode, out.Kept.DeliveryStatus, out.Kept.DeviceLabel = d.Code, d.Status, d.DeviceLabel
			d.StudentName, d.ParentName, d.ParentPhone, d.Address, d.School, d.RecipientName = "", "", "", "", "", ""
			d.Parent = campaign.Session{}
		}
	}
	s.record(by, campaign.ErasureActionRegistration, r.Code, nil, map[string]any{"reason": reason})
	if e.errAfter {
		return out, e.err
	}
	return out, nil
}

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
	return c.cases.addRegistration(r)
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
			c.staff.add(wardOffID, "Phạm Thị Phường", campaign.RoleWardOfficial, wardLT)
			c.staff.add(womenID, "Trương Thị Hội", campaign.RoleWomensUnion, wardLT)
			c.staff.add(wardTDID, "Lý Văn Điền", campaign.RoleWardOfficial, wardTD)
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
	if got := c.eraser.calls; !slices.Equal(got, []string{"TD-000001 family family_self"}) {
		t.Errorf("erasures %q", got)
	}
	if keys := c.cases.keysOf("Withdraw"); len(keys) != 1 || keys[0] != "key-1:withdraw" {
		t.Errorf("withdrawals with keys %q", keys)
	}
	b, _ := json.Marshal(c.st)
	for _, trace := range []string{"Nguyễn Thị Lan", "912345678", "TD-000001", "Khang"} {
		if strings.Contains(string(b), trace) {
			t.Errorf("the dialog still holds %q: %s", trace, b)
		}
	}
	r := c.cases.registration("TD-000001")
	if !r.Erased() || r.Status != campaign.StatusWithdrawn {
		t.Errorf("registration after deletion: %+v", r)
	}
	if !slices.Contains(c.cases.auditActions(), "registration.withdraw TD-000001") {
		t.Errorf("audit %v", c.cases.auditActions())
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
	if n := c.cases.callCount("Withdraw"); n != 2 {
		t.Errorf("Withdraw called %d times", n)
	}
	if got := c.cases.device("TB-000123"); got.State != campaign.DeviceReady {
		t.Errorf("laptop = %s, want ready", got.State)
	}
	if d := c.cases.delivery("GH-000012"); d.Code != "" {
		t.Errorf("the delivery is still there: %+v", d)
	}
	if r := c.cases.registration("TD-000001"); r.Status != campaign.StatusWithdrawn {
		t.Errorf("registration %s", r.Status)
	}
}

// What the confirmation said may change before the press: the registration is shown afresh and
// nothing happens.
func TestMydata_ChangedBeforeTheConfirmation(t *testing.T) {
	c := newChat(t)
	c.myChild(nil)
	c.send(press("md:wd:TD-000001"))
	c.regs.mu.Lock()
	c.regs.regs[0].Status = campaign.StatusAllocated
	c.regs.mu.Unlock()
	out := c.send(press("md:yes:TD-000001"))
	wantText(t, out, msg(c.e, langVI, "mydata.changed", "Code", "TD-000001", "Status", msg(c.e, langVI, "status.allocated")))
	if c.cases.callCount("Withdraw") != 0 || c.st.Flow != "" {
		t.Errorf("withdrew %d times, state %+v", c.cases.callCount("Withdraw"), c.st)
	}
	// The store's word wins too: someone else's change between the read and the write.
	c.send(press("md:del:TD-000001"))
	c.cases.fail("Withdraw", campaign.Errorf(campaign.ECONFLICT, "delivered meanwhile"))
	out = c.send(press("md:yes:TD-000001"))
	if !slices.Contains(c.ids, "mydata.changed") || len(c.eraser.calls) != 0 {
		t.Errorf("after a conflict: erasures %v%s", c.eraser.calls, dump(out))
	}
}

// A store that fails leaves the confirmation as it was, to be pressed again; an erasure whose
// database part went through but not the rest (a file, a dialog) is done.
func TestMydata_StoreFailures(t *testing.T) {
	c := newChat(t)
	c.myChild(func(r *campaign.Registration) { r.Status = campaign.StatusRejected })
	c.send(press("md:del:TD-000001"))
	before := c.st
	c.eraser.err = campaign.Errorf(campaign.EUNAVAILABLE, "database away")
	if _, err := c.trySend(press("md:yes:TD-000001")); err == nil || !statesEqual(c.st, before) {
		t.Fatalf("failed erasure: %v, state %+v", err, c.st)
	}
	c.eraser.errAfter = true
	out := c.send(press("md:yes:TD-000001"))
	wantText(t, out, msg(c.e, langVI, "mydata.delete.done", "Code", "TD-000001"))
	if c.cases.callCount("Withdraw") != 0 {
		t.Error("a rejected registration was withdrawn")
	}

	c = newChat(t)
	c.myChild(nil)
	c.send(press("md:fix:school:TD-000001"))
	c.send(text("Trường THCS Linh Trung"))
	c.cases.fail("Correct", campaign.Errorf(campaign.EINVALID, "too long for the store"))
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
	if got := c.eraser.calls; !slices.Equal(got, []string{"TD-000001 telegram:" + testAdmin + " family_request"}) {
		t.Errorf("erasures %q", got)
	}
	var found bool
	for _, e := range c.audit.entries {
		if e.Action == auditEraseRequest && e.Subject == "TD-000001" && e.Actor == "telegram:"+testAdmin {
			found = true
			if b, _ := json.Marshal(e.After); !strings.Contains(string(b), "đơn số 45 ngày 12/9/2021") {
				t.Errorf("request audited as %s", b)
			}
		}
	}
	if !found {
		t.Errorf("no %s in %+v", auditEraseRequest, c.audit.entries)
	}
	if r := c.cases.registration("TD-000001"); !r.Erased() || r.Status != campaign.StatusWithdrawn {
		t.Errorf("registration %+v", r)
	}
	// Someone without the role is refused and audited.
	c.as("1001").send(cmd("erase", "TD-000001", "đơn số 45"))
	if !slices.Contains(c.ids, "staff.refused") {
		t.Errorf("a parent's /erase: %v", c.ids)
	}
}
