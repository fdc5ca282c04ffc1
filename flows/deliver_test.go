package flows

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// toOthers returns the texts of notices to other chats, by chat id.
func toOthers(notices []campaign.OutboxMessage) map[string][]string {
	m := map[string][]string{}
	for _, n := range notices {
		m[n.ChatID] = append(m[n.ChatID], n.Text)
	}
	return m
}

// allocated is a chat where the three deliveries of allocateAll wait, talking as the volunteer.
func allocated(t *testing.T) *convo {
	t.Helper()
	c := newChat(t).withCases("vi")
	c.allocateAll()
	c.become(volunteerID, "vi")
	return c
}

func TestDeliveries_Refused(t *testing.T) {
	for _, tt := range []struct {
		name, id string
	}{{"parent", parentA}, {"ward official", wardOffID}, {"culture office", cultureID}, {"education office", eduID}} {
		t.Run(tt.name, func(t *testing.T) {
			c := allocated(t).become(tt.id, "vi")
			before := len(c.audit.Refused())
			out := c.send(cmd("deliveries"))
			if strings.Contains(allText(out), "GH-") || len(out) != 1 {
				t.Errorf("refusal shows deliveries:%s", dump(out))
			}
			refused := c.audit.Refused()
			if len(refused) != before+1 || refused[len(refused)-1].Subject != string(campaign.ActionDeliver) {
				t.Errorf("audit %+v", refused)
			}
			if n := c.cases.CallCount("OpenDeliveries"); n != 0 {
				t.Errorf("OpenDeliveries called %d times", n)
			}
			// Nor can their buttons be pressed.
			out = c.send(press("d:ok:GH-000012"))
			if c.st.Flow != "" || c.cases.CallCount("DeliveryByCode") != 0 || len(c.audit.Refused()) != before+2 {
				t.Errorf("button: state %+v%s", c.st, dump(out))
			}
		})
	}
}

func TestDeliveries_ListAuditedAndPhones(t *testing.T) {
	c := allocated(t)
	out := c.send(cmd("deliveries"))
	if len(out) != 4 || out[0].Text != msg(c.e, langVI, "deliver.list.title", "Count", 3) {
		t.Fatalf("list:%s", dump(out))
	}
	if !strings.Contains(out[1].Text, "+84912343001") || !strings.Contains(out[1].Text, "Trần Minh Khang · THCS lớp 7") {
		t.Errorf("volunteer's card: %q", out[1].Text)
	}
	if got := buttonData(out[1:2]); !slices.Equal(got, []string{"d:ok:GH-000012", "d:fail:GH-000012"}) {
		t.Errorf("buttons %q", got)
	}
	var views []campaign.AuditEntry
	for _, e := range c.audit.Entries() {
		if e.Action == "delivery.view" {
			views = append(views, e)
		}
	}
	if len(views) != 1 || views[0].Subject != "GH-000012,GH-000014,GH-000013" || views[0].Actor != "telegram:"+volunteerID {
		t.Errorf("view audit %+v", views)
	}
	// City officials deliver too, but see phones masked.
	c.become(officialID, "vi")
	out = c.send(cmd("deliveries"))
	if !strings.Contains(out[1].Text, campaign.MaskPhone("+84912343001")) || strings.Contains(out[1].Text, "+84912343001") {
		t.Errorf("city official's card: %q", out[1].Text)
	}
	// A failed audit write shows nothing.
	c.audit.Err = errors.New("disk full")
	if _, err := c.trySend(cmd("deliveries")); err == nil {
		t.Error("audit failure not returned")
	}
}

func TestDeliveries_EmptyAndStoreError(t *testing.T) {
	c := newChat(t).withCases("vi").become(volunteerID, "vi")
	if out := c.send(cmd("deliveries")); allText(out) != msg(c.e, langVI, "deliver.list.none") {
		t.Errorf("empty:%s", dump(out))
	}
	c.cases.Fail("OpenDeliveries", errors.New("timeout"))
	if _, err := c.trySend(cmd("deliveries")); err == nil {
		t.Error("store failure not returned")
	}
}

func TestDeliveries_LongCodeHasNoButtons(t *testing.T) {
	c := newChat(t).withCases("vi").become(volunteerID, "vi")
	long := "GH-" + strings.Repeat("9", 60)
	c.cases.AppendDelivery(campaign.Delivery{Code: long, Status: campaign.DeliveryPending, WardCode: wardLT})
	out := c.send(cmd("deliveries"))
	if len(out) != 2 || len(out[1].Buttons) != 0 || !strings.Contains(out[1].Text, long) {
		t.Errorf("long code:%s", dump(out))
	}
}

func TestDeliver_Delivered(t *testing.T) {
	c := allocated(t)
	c.send(press("d:ok:GH-000012"))
	if c.st.Step != deliverStepRecipient || c.st.IdempotencyKey != "key-2" || c.st.Answers[deliverAnswerCode] != "GH-000012" {
		t.Fatalf("state %+v", c.st)
	}
	c.send(text("bà tư"))
	if c.st.Step != deliverStepPhoto || c.st.Answers[deliverAnswerRecipient] != "Bà Tư" {
		t.Fatalf("state %+v", c.st)
	}
	out := c.send(Input{Kind: KindOther, PhotoID: "photo-1"})
	d := c.cases.Delivery("GH-000012")
	if d.Status != campaign.DeliveryDelivered || d.RecipientName != "Bà Tư" || d.PhotoID != "photo-1" || d.Volunteer != "telegram:"+volunteerID {
		t.Errorf("delivery %+v", d)
	}
	if r := c.cases.Registration("TD-000001"); r.Status != campaign.StatusDelivered {
		t.Errorf("registration %s", r.Status)
	}
	if got := c.cases.KeysOf("MarkDelivered"); !slices.Equal(got, []string{"key-2"}) {
		t.Errorf("keys %q", got)
	}
	parent := toOthers(c.notices)[parentA]
	want := msg(c.e, langVI, "parent.delivered", "Code", "GH-000012", "What", "Laptop + SIM 4G", "Name", "Bà Tư", "Count", 7)
	if len(parent) != 1 || parent[0] != want {
		t.Errorf("parent told %q, want %q", parent, want)
	}
	if !slices.Contains(noticeButtons(c.notices), "h:got:GH-000012") || c.st.Flow != "" {
		t.Errorf("state %+v%s", c.st, dump(out))
	}
}

// A family a list or staff registered that has not claimed its registration gets no "Đã nhận"
// button: the volunteer is told so, not that the parent will be asked.
func TestDeliver_UnlinkedFamily(t *testing.T) {
	c := allocated(t)
	c.cases.EditDelivery("GH-000012", func(d *campaign.Delivery) { d.Parent = campaign.Session{} })
	c.send(press("d:ok:GH-000012"))
	c.send(text("bà tư"))
	out := c.send(text("bỏ qua"))
	want := msg(c.e, langVI, "deliver.done", "Code", "GH-000012", "Name", "Bà Tư") + " " + msg(c.e, langVI, "deliver.done_unlinked", "Days", 7)
	if len(out) != 1 || out[0].Text != want {
		t.Errorf("volunteer told:%s\nwant %q", dump(out), want)
	}
	if got := c.cases.Delivery("GH-000012"); got.Status != campaign.DeliveryDelivered {
		t.Errorf("delivery %+v", got)
	}
}

func TestDeliver_PhotoWithCaptionFirst(t *testing.T) {
	c := allocated(t)
	c.send(press("d:ok:GH-000014"))
	out := c.send(Input{Kind: KindOther, PhotoID: "photo-2", Text: "phạm văn hùng"})
	d := c.cases.Delivery("GH-000014")
	if d.Status != campaign.DeliveryDelivered || d.RecipientName != "Phạm Văn Hùng" || d.PhotoID != "photo-2" || c.st.Flow != "" {
		t.Errorf("delivery %+v%s", d, dump(out))
	}
	// A caption that is not a name keeps the photo and asks for the name.
	c.send(press("d:ok:GH-000013"))
	out = c.send(Input{Kind: KindOther, PhotoID: "photo-3", Text: "😀"})
	if c.st.Step != deliverStepRecipient || c.st.Answers[deliverAnswerPhoto] != "photo-3" ||
		!strings.HasPrefix(allText(out), msg(c.e, langVI, "reg.err.name_symbols")) {
		t.Errorf("state %+v%s", c.st, dump(out))
	}
	c.send(press("d:rp:GH-000013"))
	if d := c.cases.Delivery("GH-000013"); d.PhotoID != "photo-3" || d.RecipientName != "Lê Thị Hồng" {
		t.Errorf("delivery %+v", d)
	}
}

func TestDeliver_StoreErrorKeepsStateAndKey(t *testing.T) {
	c := allocated(t)
	c.send(press("d:ok:GH-000012"))
	c.send(text("Nguyễn Thị Lan"))
	before := c.st
	c.cases.Fail("MarkDelivered", errors.New("connection reset"))
	if _, err := c.trySend(Input{Kind: KindOther, PhotoID: "photo-1"}); err == nil {
		t.Fatal("store error not returned")
	}
	if !statesEqual(c.st, before) || c.st.Answers[deliverAnswerRecipient] != "Nguyễn Thị Lan" {
		t.Errorf("state %+v", c.st)
	}
	c.cases.Fail("MarkDelivered", nil)
	c.send(Input{Kind: KindOther, PhotoID: "photo-1"})
	// The bot crashed before saving the state: the photo is handled again from the old state.
	c.st = before
	out := c.send(Input{Kind: KindOther, PhotoID: "photo-1"})
	if got := c.cases.KeysOf("MarkDelivered"); !slices.Equal(got, []string{"key-2", "key-2", "key-2"}) {
		t.Errorf("keys %q", got)
	}
	if !strings.HasPrefix(allText(out), msg(c.e, langVI, "deliver.done_photo", "Code", "GH-000012", "Name", "Nguyễn Thị Lan")) {
		t.Errorf("retried save:%s", dump(out))
	}
	n := 0
	for _, a := range c.cases.AuditActions() {
		if a == "delivery.delivered GH-000012" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d hand-overs recorded", n)
	}
}

func TestDeliver_Conflict(t *testing.T) {
	c := allocated(t)
	c.send(press("d:ok:GH-000012"))
	c.send(text("Nguyễn Thị Lan"))
	// Another volunteer recorded it meanwhile.
	other := campaign.Staff{Channel: "telegram", ExternalID: "7099", Role: campaign.RoleVolunteer}
	if _, err := c.cases.MarkDelivered(t.Context(), "GH-000012", "Lan", "", "other-key", other, nil); err != nil {
		t.Fatal(err)
	}
	out := c.send(press("d:skip:GH-000012"))
	if allText(out) != msg(c.e, langVI, "deliver.conflict", "Code", "GH-000012") || c.st.Flow != "" {
		t.Errorf("state %+v%s", c.st, dump(out))
	}
	if d := c.cases.Delivery("GH-000012"); d.RecipientName != "Lan" {
		t.Errorf("the other's record changed: %+v", d)
	}
	// A failed attempt on a delivery someone handed over meanwhile.
	c.send(press("d:fail:GH-000014"))
	if _, err := c.cases.MarkDelivered(t.Context(), "GH-000014", "Hùng", "", "other-key", other, nil); err != nil {
		t.Fatal(err)
	}
	out = c.send(press("d:fr:GH-000014:not_home"))
	if allText(out) != msg(c.e, langVI, "deliver.conflict", "Code", "GH-000014") || len(toOthers(c.notices)) != 0 {
		t.Errorf("fail after hand-over:%s", dump(out))
	}
	// Pressing "delivered" on a delivery already handed over says so at once.
	out = c.send(press("d:ok:GH-000014"))
	if allText(out) != msg(c.e, langVI, "deliver.not_open", "Code", "GH-000014", "Status", msg(c.e, langVI, "deliver.status.delivered")) {
		t.Errorf("not open:%s", dump(out))
	}
	// An unknown code.
	out = c.send(press("d:ok:GH-999999"))
	if allText(out) != msg(c.e, langVI, "deliver.gone", "Code", "GH-999999") {
		t.Errorf("unknown:%s", dump(out))
	}
}

func TestDeliver_Failed(t *testing.T) {
	c := allocated(t)
	c.send(press("d:fail:GH-000013"))
	out := c.send(text("hôm nay trời mưa"))
	if !strings.HasPrefix(allText(out), msg(c.e, langVI, "common.use_buttons")) || c.st.Step != deliverStepFail {
		t.Errorf("typed text:%s", dump(out))
	}
	c.send(press("d:fr:GH-000013:not_home"))
	d := c.cases.Delivery("GH-000013")
	if d.Status != campaign.DeliveryPending || d.Attempts != 1 || d.LastFailure != campaign.FailNotHome {
		t.Errorf("delivery %+v", d)
	}
	parent := toOthers(c.notices)[parentB]
	if len(parent) != 1 || parent[0] != msg(c.e, langEN, "parent.not_home", "Code", "GH-000013", "What", "Tablet") {
		t.Errorf("parent told %q", parent)
	}
	// A button of another delivery never applies to the one in progress.
	c.send(press("d:fail:GH-000014"))
	c.send(press("d:fr:GH-000013:wrong_address"))
	if d := c.cases.Delivery("GH-000013"); d.Attempts != 1 || c.st.Step != deliverStepFail {
		t.Errorf("stale reason applied: %+v, state %+v", d, c.st)
	}
	c.send(press("d:fr:GH-000014:bogus"))
	c.send(press("d:fr:GH-000014:wrong_address"))
	if d := c.cases.Delivery("GH-000014"); d.Attempts != 1 || d.LastFailure != campaign.FailWrongAddress {
		t.Errorf("delivery %+v", d)
	}
	// Failures come first in the list.
	out = c.send(cmd("deliveries"))
	if len(out) != 4 || !strings.HasPrefix(out[1].Text, "📦 GH-000014") || !strings.HasPrefix(out[2].Text, "📦 GH-000013") {
		t.Errorf("list:%s", dump(out))
	}
	if !strings.Contains(out[2].Text, msg(c.e, langVI, "deliver.card_attempts", "Count", 1, "Reason", msg(c.e, langVI, "deliver.reason.not_home"))) {
		t.Errorf("card: %q", out[2].Text)
	}
	// A store error keeps the state; the retry uses the same key.
	c.send(press("d:fail:GH-000012"))
	c.send(press("d:fr:GH-000012:other"))
	before := c.st
	c.cases.Fail("MarkFailed", errors.New("timeout"))
	if _, err := c.trySend(text("Cổng khóa")); err == nil || !statesEqual(c.st, before) {
		t.Errorf("store error: %v, state %+v", err, c.st)
	}
	c.cases.Fail("MarkFailed", nil)
	c.send(text("Cổng khóa"))
	keys := c.cases.KeysOf("MarkFailed")
	if len(keys) != 4 || keys[2] != keys[3] || keys[2] == keys[1] {
		t.Errorf("keys %q", keys)
	}
}

func TestParseRecipient(t *testing.T) {
	for _, tt := range []struct{ in, want, err string }{
		{"lan", "Lan", ""},
		{"Nguyễn Thị Lan", "Nguyễn Thị Lan", ""},
		{"  BÀ TƯ ", "Bà Tư", ""},
		{"Lan 2", "", "reg.err.name_digits"},
		{"😀", "", "reg.err.name_symbols"},
		{"L", "", "reg.err.name_short"},
		{"", "", "common.need_text"},
		{strings.Repeat("a", 101), "", "reg.err.name_long"},
	} {
		got, err := parseRecipient(tt.in)
		var inv *invalid
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("parseRecipient(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		case tt.err != "" && (!errors.As(err, &inv) || inv.ID != tt.err):
			t.Errorf("parseRecipient(%q) = %q, %v; want %s", tt.in, got, err, tt.err)
		}
	}
}

func TestParent_ReceivedTellsDonorOnce(t *testing.T) {
	c := allocated(t)
	c.deliver("GH-000012")
	c.deliver("GH-000013")
	c.become(parentA, "vi")
	c.send(press("h:got:GH-000012"))
	firstNotices := c.notices
	second := c.send(press("h:got:GH-000012"))
	donor := toOthers(firstNotices)[donorChat]
	want := msg(c.e, langVI, "deliver.donor.reached", "What", "Laptop", "Level", "THCS", "Ward", "Phường Linh Trung")
	if len(donor) != 1 || donor[0] != want {
		t.Errorf("donor told %q, want %q", donor, want)
	}
	for _, s := range []string{"Trần Minh Khang", "TD-000001", "GH-000012", "Nguyễn Thị Lan"} {
		if strings.Contains(donor[0], s) {
			t.Errorf("the donor's message names %q", s)
		}
	}
	if len(c.notices) != 0 || allText(second) != msg(c.e, langVI, "parent.received.already", "Code", "GH-000012") {
		t.Errorf("second press:%s", dump(second))
	}
	if d := c.cases.Delivery("GH-000012"); d.Status != campaign.DeliveryConfirmed || d.AutoConfirmed {
		t.Errorf("delivery %+v", d)
	}
	// A walk-in device has no donor to tell.
	c.become(parentB, "en")
	out := c.send(press("h:got:GH-000013"))
	if len(toOthers(c.notices)) != 0 || allText(out) != msg(c.e, langEN, "parent.received.thanks", "Code", "GH-000013") {
		t.Errorf("no donor:%s", dump(out))
	}
	// Not yet handed over, or someone else's.
	for _, code := range []string{"GH-000014", "GH-000012"} {
		out := c.send(press("h:got:" + code))
		if allText(out) != msg(c.e, langEN, "parent.received.not_found", "Code", code) {
			t.Errorf("%s:%s", code, dump(out))
		}
	}
	c.cases.Fail("ConfirmDelivery", errors.New("timeout"))
	if _, err := c.trySend(press("h:got:GH-000013")); err == nil {
		t.Error("store failure not returned")
	}
}

func TestParent_Handover(t *testing.T) {
	c := allocated(t).become(parentB, "en")
	out := c.send(press("h:school:GH-000013"))
	if d := c.cases.Delivery("GH-000013"); d.Handover != campaign.HandoverSchool {
		t.Errorf("handover %s", d.Handover)
	}
	if allText(out) != msg(c.e, langEN, "parent.handover.school", "Code", "GH-000013", "School", "Tiểu học An Phú") {
		t.Errorf("reply:%s", dump(out))
	}
	// A parent in the middle of registering another child is asked the question again.
	c.send(press("g:register"))
	out = c.send(press("h:home:GH-000013"))
	if len(out) != 2 || out[0].Text != msg(c.e, langEN, "parent.handover.home", "Code", "GH-000013") || c.st.Flow != FlowRegistration {
		t.Errorf("during a form:%s", dump(out))
	}
	c.cases.Fail("SetHandover", errors.New("timeout"))
	if _, err := c.trySend(press("h:school:GH-000013")); err == nil {
		t.Error("store failure not returned")
	}
	out = c.send(press("h:bogus:GH-000013"))
	if !strings.Contains(allText(out), msg(c.e, langEN, "common.stale")) {
		t.Errorf("unknown action:%s", dump(out))
	}
}

func TestDeliveryFinalized(t *testing.T) {
	c := allocated(t)
	c.deliver("GH-000012")
	c.deliver("GH-000014")
	c.now = c.now.Add(c.e.cfg.ConfirmAfter + time.Hour)
	done, err := c.cases.FinalizeDeliveries(t.Context(), c.now.Add(-c.e.cfg.ConfirmAfter), nil)
	if err != nil || len(done) != 2 {
		t.Fatalf("%d finalized, %v", len(done), err)
	}
	out := c.e.DeliveryFinalized(done[0])
	if len(out) != 2 {
		t.Fatalf("%d messages: %+v", len(out), out)
	}
	if out[0].Channel != "telegram" || out[0].ChatID != parentA || out[0].Key != "delivery-final:GH-000012:telegram:"+parentA ||
		out[0].Text != msg(c.e, langVI, "parent.auto_confirmed", "Code", "GH-000012", "What", "Laptop + SIM 4G", "Count", 7) {
		t.Errorf("parent: %+v", out[0])
	}
	if out[1].Channel != "telegram" || out[1].ChatID != donorChat || out[1].Lane != campaign.OutboxNotice ||
		out[1].Text != msg(c.e, langVI, "deliver.donor.reached", "What", "Laptop", "Level", "THCS", "Ward", "Phường Linh Trung") {
		t.Errorf("donor: %+v", out[1])
	}
	// A walk-in device: the parent only.
	if out := c.e.DeliveryFinalized(done[1]); len(out) != 1 || out[0].ChatID != parentC {
		t.Errorf("walk-in: %+v", out)
	}
	// In each one's language, on their own channel.
	d := done[0]
	d.ParentLanguage, d.DonorLanguage = "en", "en"
	d.Parent.Channel, d.Donor = "zalo", &campaign.Session{Channel: "zalo", ChatID: "z-9"}
	out = c.e.DeliveryFinalized(d)
	if len(out) != 2 || out[0].Channel != "zalo" || out[1].ChatID != "z-9" ||
		out[0].Text != msg(c.e, langEN, "parent.auto_confirmed", "Code", "GH-000012", "What", "Laptop + 4G SIM", "Count", 7) ||
		!strings.Contains(out[1].Text, "a lower secondary student in Linh Trung Ward") {
		t.Errorf("English: %+v", out)
	}
	// No chat, no message.
	if out := c.e.DeliveryFinalized(campaign.Delivery{Code: "GH-1"}); len(out) != 0 {
		t.Errorf("without chats: %+v", out)
	}
}

func TestDeliver_LongestCodeFits(t *testing.T) {
	c := newChat(t).withCases("vi").become(volunteerID, "vi")
	code := "GH-" + strings.Repeat("7", deliverCodeMax-3)
	c.cases.AppendDelivery(campaign.Delivery{Code: code, Status: campaign.DeliveryPending, WardCode: wardLT,
		ParentName: "Nguyễn Thị Lan", Parent: campaign.Session{Channel: "telegram", ChatID: parentA}, DeviceType: campaign.DeviceLaptop})
	// checkOutputs holds every button to 64 bytes; the longest is the wrong-address reason.
	out := c.send(press("d:fail:" + code))
	if d := "d:fr:" + code + ":wrong_address"; len(d) != maxData || !slices.Contains(buttonData(out), d) {
		t.Errorf("%q (%d bytes) not offered:%s", d, len(d), dump(out))
	}
	c.send(press("d:x:" + code))
	c.send(press("d:ok:" + code))
	c.send(press("d:rp:" + code))
	out = c.send(press("d:skip:" + code))
	if !slices.Contains(noticeButtons(c.notices), "h:got:"+code) {
		t.Errorf("parent's button:%s", dump(out))
	}
	// One byte more is never pressed.
	out = c.send(press("d:ok:" + code + "7"))
	if c.cases.CallCount("DeliveryByCode") != 2 || !strings.Contains(allText(out), msg(c.e, langVI, "deliver.stale")) {
		t.Errorf("too long:%s", dump(out))
	}
}
