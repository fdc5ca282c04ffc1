package flows

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/thuduc/maytinhchoem/campaign"
)

// goldenBroadcast is the golden directory of /broadcast (a FlowCase owner, "b.").
const goldenBroadcast = "broadcast"

const broadcastText = "Kính gửi quý phụ huynh,\nSáng thứ Bảy 18/9, phường trao máy tại nhà văn hóa khu phố 3. Xin mang theo giấy hẹn."

func broadcastScenarios() []scenario {
	return []scenario{
		{goldenBroadcast, "ward_with_edits", func(c *convo) {
			f := c.withNotify()
			c.become(officialID, "vi")
			c.send(cmd("broadcast"))
			c.send(text("xin chào"))
			c.send(press("b:aud:ward"))
			c.send(press("b:ward:!p=1"))
			c.send(press("b:ward:!p=0"))
			c.send(press("b:ward:" + wardLT))
			c.send(other())
			c.send(text("   "))
			c.send(text(strings.Repeat("Thông báo dài. ", 240)))
			c.send(text(broadcastText))
			c.send(press("b:prev:edit"))
			c.send(other())
			c.send(press("b:text:!keep"))
			c.send(press("b:prev:edit"))
			c.send(text(broadcastText + "\nTrân trọng."))
			c.send(text("gửi đi"))
			c.send(press("b:prev:send"))
			c.send(press("b:prev:send"))
			c.send(press("b:pr:BC-000001"))
			f.bcs.Advance("BC-000001", 80, 3, 2)
			c.send(cmd("broadcast", "bc-1"))
		}},
		{goldenBroadcast, "parents_en", func(c *convo) {
			c.withNotify()
			c.become(cultureID, "en")
			c.send(cmd("broadcast"))
			c.send(press("b:aud:parents"))
			c.send(cmd("help"))
			c.send(text("The hand-over of devices starts on 17 September. Please keep your phone on."))
			c.send(press("b:prev:send"))
			c.send(press("b:pr:BC-000001"))
		}},
		{goldenBroadcast, "nobody_and_refusals", func(c *convo) {
			f := c.withNotify()
			f.bcs.SetAudience(campaign.Audience{Kind: campaign.AudienceDonors}, 0)
			c.become(wardOffID, "vi")
			c.send(cmd("broadcast"))
			c.become("3101", "vi")
			c.send(cmd("broadcast"))
			c.become(officialID, "vi")
			c.send(cmd("broadcast"))
			c.send(text("nhà hảo tâm"))
			c.send(text("Cảm ơn quý nhà hảo tâm đã ủng hộ chương trình."))
			c.send(press("b:prev:send"))
			c.send(press("b:prev:aud"))
			c.send(press("b:aud:ward"))
			c.send(text("thảo điền"))
			c.send(press("b:prev:aud"))
			c.send(press("b:aud:staff"))
			c.send(cmd("broadcast"))
			c.send(cmd("cancel"))
			c.send(cmd("broadcast", "hello"))
			c.send(cmd("broadcast", "BC-000099"))
		}},
	}
}

// toBroadcastPreview composes a broadcast to kind (a ward: Linh Trung) with text, as who.
func (c *convo) toBroadcastPreview(who string, kind campaign.AudienceKind, body string) []Output {
	c.t.Helper()
	c.become(who, "")
	c.send(cmd("broadcast"))
	out := c.send(press("b:aud:" + string(kind)))
	if kind == campaign.AudienceWard {
		c.send(press("b:ward:!p=1"))
		out = c.send(press("b:ward:" + wardLT))
	}
	if c.st.Step != bcStepText {
		c.t.Fatalf("not asked for the text: %+v%s", c.st, dump(out))
	}
	out = c.send(text(body))
	if c.st.Step != bcStepPreview {
		c.t.Fatalf("no preview: %+v%s", c.st, dump(out))
	}
	return out
}

func TestBroadcast_EachAudience(t *testing.T) {
	for _, kind := range campaign.AudienceKinds {
		t.Run(string(kind), func(t *testing.T) {
			c := newChatWith(t, nil)
			f := c.withNotify()
			c.clientLang = "vi"
			out := c.toBroadcastPreview(officialID, kind, broadcastText)
			want := f.bcs.AudienceSize(campaign.Audience{Kind: kind, WardCode: wardLT})
			header := "📢 Thông báo từ UBND và Ủy ban MTTQ Việt Nam TP. Thủ Đức"
			if len(out) != 2 || out[0].Text != header+"\n\n"+broadcastText || len(out[0].Buttons) != 0 {
				t.Fatalf("the preview is not the message itself:%s", dump(out))
			}
			wantText(t, out, "Thông báo sẽ tới "+c.e.talk("vi").count(want)+" người")
			if d := buttonData(out); !slices.Equal(d, []string{"b:prev:send", "b:prev:edit", "b:prev:aud", "b:prev:!cancel"}) {
				t.Errorf("preview buttons %q", d)
			}
			if kind == campaign.AudienceWard {
				wantText(t, out, "Phường Linh Trung")
			}
			out = c.send(press("b:prev:send"))
			list := f.bcs.Created()
			if len(list) != 1 || f.bcs.Creates() != 1 || f.woken != 1 {
				t.Fatalf("created %d (calls %d, woken %d)", len(list), f.bcs.Creates(), f.woken)
			}
			b := list[0]
			wantAud := campaign.Audience{Kind: kind}
			if kind == campaign.AudienceWard {
				wantAud.WardCode = wardLT
			}
			if b.Audience != wantAud || b.ByChannel != "telegram" || b.ByChatID != officialID ||
				b.Texts["vi"] != header+"\n\n"+broadcastText ||
				b.Texts["en"] != "📢 Announcement from The People's Committee and the Fatherland Front of Thu Duc City\n\n"+broadcastText {
				t.Errorf("broadcast %+v", b.Broadcast)
			}
			wantText(t, out, "BC-000001")
			wantText(t, out, c.e.talk("vi").count(want)+" người")
			if d := buttonData(out); !slices.Equal(d, []string{"b:pr:BC-000001"}) || c.st.Flow != "" {
				t.Errorf("after sending: buttons %q, state %+v", d, c.st)
			}
		})
	}
}

func TestBroadcast_BadInputsKeepTheText(t *testing.T) {
	c := newChat(t)
	f := c.withNotify()
	c.become(officialID, "vi")
	c.send(cmd("broadcast"))
	c.send(press("b:aud:staff"))
	for _, tt := range []struct {
		in   Input
		want string
	}{
		{other(), "chỉ gửi được chữ"},
		{Input{Kind: KindOther, PhotoID: "photo-1", Text: "chú thích"}, "chỉ gửi được chữ"},
		{text("  \n "), "Nội dung đang trống"},
		{text(strings.Repeat("a", bcTextMax+1)), "Nội dung dài 3.501 ký tự, vượt giới hạn 3.500 ký tự"},
		{text(strings.Repeat("😀", bcTextMax+1)), "Nội dung dài 3.501 ký tự"},
		{edited(), "Tin nhắn đã sửa không được đọc"},
	} {
		out := c.send(tt.in)
		wantText(t, out, tt.want)
		if c.st.Step != bcStepText || c.st.Answers[bcAnswerText] != "" {
			t.Errorf("%s: state %+v", describe(tt.in), c.st)
		}
	}
	// Exactly the limit is taken.
	c.send(text(strings.Repeat("b", bcTextMax)))
	if c.st.Step != bcStepPreview || len(c.st.Answers[bcAnswerText]) != bcTextMax {
		t.Fatalf("the longest text was refused: %+v", c.st.Step)
	}
	c.send(press("b:prev:edit"))
	c.send(text(broadcastText))
	key := c.st.IdempotencyKey
	if key == "" {
		t.Fatal("the preview has no key")
	}

	// Bad inputs after "Sửa" keep the text typed before, and show it again.
	out := c.send(press("b:prev:edit"))
	if len(out) != 2 || out[0].Text != broadcastText || !slices.Contains(buttonData(out), "b:text:!keep") {
		t.Errorf("editing does not show the current text:%s", dump(out))
	}
	for _, in := range []Input{other(), text(""), text(strings.Repeat("x", 4000))} {
		out := c.send(in)
		if c.st.Answers[bcAnswerText] != broadcastText || c.st.Step != bcStepText || out[0].Text != broadcastText {
			t.Errorf("%s lost the text: %+v%s", describe(in), c.st, dump(out))
		}
	}
	c.send(press("b:text:!keep"))
	if c.st.Step != bcStepPreview || c.st.IdempotencyKey != key {
		t.Errorf("keeping the text changed the broadcast: %+v (key was %s)", c.st, key)
	}
	// A typed message at the preview, /help and a stale button keep it too.
	for _, in := range []Input{text("gửi"), other(), cmd("help"), press("b:aud:parents"), press("b:text:!keep")} {
		c.send(in)
		if c.st.Step != bcStepPreview || c.st.Answers[bcAnswerText] != broadcastText || c.st.IdempotencyKey != key {
			t.Errorf("%s: state %+v", describe(in), c.st)
		}
	}
	// A new text is another broadcast: another key.
	c.send(press("b:prev:edit"))
	c.send(text("Nội dung mới"))
	if c.st.IdempotencyKey == key || c.st.IdempotencyKey == "" {
		t.Errorf("a new text kept the key %q", key)
	}
	c.send(press("b:prev:send"))
	if l := f.bcs.Created(); len(l) != 1 || !strings.HasSuffix(l[0].Texts["vi"], "\n\nNội dung mới") {
		t.Errorf("sent %+v", l)
	}
}

func TestBroadcast_SendQueuesOnce(t *testing.T) {
	c := newChat(t)
	f := c.withNotify()
	c.toBroadcastPreview(officialID, campaign.AudienceParents, broadcastText)
	before := c.st
	out := c.send(press("b:prev:send"))
	wantText(t, out, "BC-000001")
	// A second tap finds the chat idle: the button is stale, nothing reaches the store.
	out = c.send(press("b:prev:send"))
	wantText(t, out, msg(c.e, "vi", "common.stale_idle"))
	if f.bcs.Creates() != 1 {
		t.Errorf("a second tap reached the store: %d calls", f.bcs.Creates())
	}
	// The update run again from the state before (the bot crashed before saving it): the same key,
	// the store returns the first broadcast, nothing more is queued.
	c.st = before
	out = c.send(press("b:prev:send"))
	wantText(t, out, "BC-000001")
	if f.bcs.Creates() != 2 || len(f.bcs.Created()) != 1 || f.bcs.KeysSeen()[0] != f.bcs.KeysSeen()[1] {
		t.Errorf("a retry queued again: calls %d, broadcasts %d, keys %q", f.bcs.Creates(), len(f.bcs.Created()), f.bcs.KeysSeen())
	}
	// A store failure keeps the preview (Handle returns the error, the state is the old one).
	c.toBroadcastPreview(officialID, campaign.AudienceStaff, "Họp giao ban lúc 8 giờ.")
	f.bcs.CreateErr = errors.New("connection reset")
	if _, err := c.trySend(press("b:prev:send")); err == nil || c.st.Step != bcStepPreview {
		t.Errorf("store failure: %v, state %+v", err, c.st)
	}
	f.bcs.CreateErr = nil
	c.send(press("b:prev:send"))
	if n := len(f.bcs.Created()); n != 2 {
		t.Errorf("%d broadcasts after the retry", n)
	}
}

func TestBroadcast_Nobody(t *testing.T) {
	c := newChat(t)
	f := c.withNotify()
	f.bcs.SetAudience(campaign.Audience{Kind: campaign.AudienceDonors}, 0)
	c.become(officialID, "vi")
	c.send(cmd("broadcast"))
	c.send(press("b:aud:donors"))
	out := c.send(text(broadcastText))
	wantText(t, out, "Hiện chưa có ai để gửi tới (mọi nhà hảo tâm đã đăng ký ủng hộ)")
	if d := buttonData(out); slices.Contains(d, "b:prev:send") || c.st.IdempotencyKey != "" {
		t.Errorf("nobody to send to, yet: buttons %q, key %q", d, c.st.IdempotencyKey)
	}
	c.send(press("b:prev:send")) // an old button
	if f.bcs.Creates() != 0 {
		t.Error("a broadcast to nobody was created")
	}
	out = c.send(press("b:prev:aud"))
	out = append(out, c.send(press("b:aud:staff"))...)
	wantText(t, out, "Thông báo sẽ tới 48 người")
	if c.st.Answers[bcAnswerText] != broadcastText {
		t.Error("changing the audience lost the text")
	}
}

func TestBroadcast_TypedChoicesAndCancel(t *testing.T) {
	c := newChat(t)
	c.withNotify()
	c.become(cultureID, "vi")
	c.send(cmd("broadcast"))
	c.send(text("Một phường"))
	if c.st.Step != bcStepWard {
		t.Fatalf("typed audience: %+v", c.st)
	}
	out := c.send(text("xyz"))
	wantText(t, out, "xyz")
	out = c.send(text("linh"))
	if c.st.Step != bcStepWard || len(buttonData(out)) < 2 {
		t.Errorf("several wards are not offered:%s", dump(out))
	}
	out = c.send(text("linh trung"))
	wantText(t, out, "Phường Linh Trung")
	if c.st.Step != bcStepText || c.st.Answers[bcAnswerWard] != wardLT {
		t.Fatalf("typed ward: %+v", c.st)
	}
	c.send(text(broadcastText))
	out = c.send(cmd("broadcast")) // again while composing: nothing is lost
	wantText(t, out, "đang soạn dở")
	if c.st.Step != bcStepPreview {
		t.Errorf("/broadcast again left the preview: %+v", c.st)
	}
	out = c.send(cmd("cancel"))
	wantText(t, out, msg(c.e, "vi", "broadcast.cancelled"))
	c.send(cmd("broadcast"))
	out = c.send(press("b:aud:!cancel"))
	wantText(t, out, msg(c.e, "vi", "broadcast.cancelled"))
	if c.st.Flow != "" {
		t.Errorf("cancel left %+v", c.st)
	}
}

func TestBroadcast_Progress(t *testing.T) {
	c := newChat(t)
	f := c.withNotify()
	c.toBroadcastPreview(cultureID, campaign.AudienceParents, broadcastText)
	c.send(press("b:prev:send"))
	out := c.send(press("b:pr:BC-000001"))
	wantText(t, out, "Đã gửi: 0/1.250")
	wantText(t, out, "Đang chờ: 1.250")
	if d := buttonData(out); !slices.Equal(d, []string{"b:pr:BC-000001"}) {
		t.Errorf("no refresh button while sending: %q", d)
	}
	f.bcs.Advance("BC-000001", 1200, 30, 20)
	c.become(officialID, "en")
	out = c.send(cmd("broadcast", "bc-000001"))
	for _, w := range []string{"Sent: 1,200/1,250", "▓▓▓▓▓▓▓▓▓░ 96%", "failed: 30", "blocked the bot: 20", "All sent."} {
		wantText(t, out, w)
	}
	if len(buttonData(out)) != 0 {
		t.Errorf("a refresh button once all is sent:%s", dump(out))
	}
	out = c.send(cmd("broadcast", "BC-000002"))
	wantText(t, out, "There is no announcement BC-000002")
	out = c.send(cmd("broadcast", "hello world"))
	wantText(t, out, "/broadcast BC-000012")
	// Only the roles that broadcast see the progress.
	c.become(wardOffID, "vi")
	out = c.send(press("b:pr:BC-000001"))
	wantText(t, out, "không dùng được lệnh này")
	f.bcs.ProgressErr = errors.New("timeout")
	c.become(officialID, "vi")
	if _, err := c.trySend(press("b:pr:BC-000001")); err == nil {
		t.Error("a store failure was not returned")
	}
}

func TestBroadcast_Refusals(t *testing.T) {
	c := newChat(t)
	f := c.withNotify()
	for _, tt := range []struct {
		id, want string
	}{
		{wardOffID, "Vai trò «Cán bộ phường» không dùng được lệnh này."},
		{eduID, "không dùng được lệnh này"},
		{"3101", msg(c.e, "vi", "staff.refused")},
	} {
		c.become(tt.id, "vi")
		out := c.send(cmd("broadcast"))
		wantText(t, out, tt.want)
		if c.st.Flow != "" {
			t.Errorf("%s: state %+v", tt.id, c.st)
		}
	}
	refused := c.audit.Refused()
	if len(refused) != 3 || refused[0].Subject != auditBroadcast || refused[0].Actor != "telegram:"+wardOffID {
		t.Errorf("refusals audited: %+v", refused)
	}
	// A role revoked while composing: the next tap is refused and the composition dropped.
	c.toBroadcastPreview(officialID, campaign.AudienceStaff, broadcastText)
	if err := c.staff.RevokeStaff(t.Context(), "telegram", officialID, "test"); err != nil {
		t.Fatal(err)
	}
	c.send(press("b:prev:send"))
	if f.bcs.Creates() != 0 || c.st.Flow != "" {
		t.Errorf("a revoked official broadcast: %d, %+v", f.bcs.Creates(), c.st)
	}
	// The administrator may.
	c.toBroadcastPreview(testAdmin, campaign.AudienceDonors, broadcastText)
	c.send(press("b:prev:send"))
	if f.bcs.Creates() != 1 {
		t.Error("the administrator could not broadcast")
	}
}

func TestBroadcast_FormInProgressAndUnavailable(t *testing.T) {
	c := newChat(t)
	c.withNotify()
	c.become(officialID, "vi")
	c.send(press("g:register"))
	c.send(press("r:consent:yes"))
	out := c.send(cmd("broadcast"))
	wantText(t, out, msg(c.e, "vi", "staff.finish_form"))
	if c.st.Flow != FlowRegistration {
		t.Errorf("the form was dropped: %+v", c.st)
	}
	// The progress can be seen from a form; the form's question follows.
	out = c.send(cmd("broadcast", "BC-000001"))
	wantText(t, out, "Không tìm thấy thông báo BC-000001")
	if c.st.Flow != FlowRegistration {
		t.Errorf("the form was dropped: %+v", c.st)
	}

	c = newChat(t)
	c.staff.Add(officialID, "Phạm Thị Mai", campaign.RoleCityOfficial, "")
	c.become(officialID, "vi")
	for _, in := range []Input{cmd("broadcast"), press("b:pr:BC-000001"), press("b:prev:send"), cmd("subscribe"), cmd("unsubscribe")} {
		wantText(t, c.send(in), msg(c.e, "vi", "case.unavailable"))
	}
}
