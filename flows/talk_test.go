package flows

import (
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// "Talk to an official": a family without a registration gets the contacts; with one, what they
// send reaches the ward's staff at once and waits for them in /verify, before and after
// verification, until deciding the case or «Đã xử lý» handles it.
func TestTalk_ToTheWard(t *testing.T) {
	c := newChat(t)
	hotline := msg(c.e, langVI, "contact.hotline", "Name", "Tổng đài 1022 của TP. Hồ Chí Minh", "Details", "☎️ 1022 · 24/7")
	if out := c.send(press("g:talk")); allText(out) != msg(c.e, langVI, "talk.no_registration")+"\n\n"+hotline || c.st.Flow != "" {
		t.Fatalf("no registration:%s", dump(out))
	}

	c.toReview()
	c.send(press("r:review:submit"))
	reg := c.regs.All()[0]
	const official = "6006"
	c.staff.Add(official, "Đỗ An", campaign.RoleWardOfficial, reg.WardCode)
	c.cases.Verifiers = []campaign.Recipient{{Channel: "telegram", ChatID: official, Language: "vi"}}

	// Typed words out of any flow reach the same place as the button.
	out := c.send(text("Cho tôi nói chuyện với cán bộ"))
	if c.st.Step != stepTalkMessage || !strings.Contains(allText(out), reg.Code) {
		t.Fatalf("typed request:%+v%s", c.st, dump(out))
	}
	// A sticker is neither words nor a photo: asked again, nothing sent, still at the step.
	if out := c.send(Input{Kind: KindOther}); c.cases.CallCount("MessageOfficials") != 0 || c.st.Step != stepTalkMessage ||
		!strings.Contains(allText(out), msg(c.e, langVI, "talk.prompt", "Code", reg.Code, "Max", answerMax)) {
		t.Errorf("a sticker:%+v%s", c.st, dump(out))
	}
	out = c.send(text("Nhà tôi đã chuyển sang số 12 đường 7, xin cán bộ gọi lại"))
	if allText(out) != msg(c.e, langVI, "talk.sent", "Code", reg.Code) {
		t.Errorf("sent:%s", dump(out))
	}
	notices := c.notices
	c.send(Input{Kind: KindOther, PhotoID: "photo-certificate", Text: "giấy xác nhận"})
	notices = append(notices, c.notices...)
	if len(notices) != 2 || notices[0].ChatID != official || !strings.Contains(notices[0].Text, "số 12 đường 7") ||
		notices[1].PhotoID != "photo-certificate" || !strings.Contains(notices[1].Text, "giấy xác nhận") {
		t.Fatalf("notices to the ward: %+v", notices)
	}
	if out := c.send(press("t:done")); c.st.Flow != "" || !strings.HasPrefix(allText(out), msg(c.e, langVI, "talk.done")) {
		t.Errorf("done:%+v%s", c.st, dump(out))
	}

	// The official sees the messages on the case and decides: that handles them.
	c.become(official, "vi")
	out = c.send(cmd("verify"))
	if s := allText(out); !strings.Contains(s, "✉️") || !strings.Contains(s, "số 12 đường 7") || !strings.Contains(s, "📨") {
		t.Fatalf("the case does not show the message:%s", dump(out))
	}
	c.send(press("v:ok:" + reg.Code))
	if out := c.send(cmd("verify")); allText(out) != msg(c.e, langVI, "verify.none") {
		t.Fatalf("after deciding:%s", dump(out))
	}

	// After verification a message brings the case back, with «Đã xử lý» instead of a decision.
	c.become("1001", "vi")
	c.send(press("g:talk"))
	c.send(text("Bao giờ con tôi nhận được máy ạ?"))
	c.become(official, "vi")
	out = c.send(cmd("verify"))
	if len(out) != 1 || len(out[0].Buttons) != 1 || out[0].Buttons[0][0].Data != "v:seen:"+reg.Code {
		t.Fatalf("a verified case with a message:%s", dump(out))
	}
	out = c.send(press("v:seen:" + reg.Code))
	if !strings.Contains(allText(out), msg(c.e, langVI, "verify.handled", "Code", reg.Code)) || !strings.Contains(allText(out), msg(c.e, langVI, "verify.none")) {
		t.Errorf("handled:%s", dump(out))
	}
	// Another ward's official may not mark it.
	other := "26800" // Linh Trung
	if reg.WardCode == other {
		other = wardTD
	}
	c.staff.Add("7007", "Lê Bình", campaign.RoleWardOfficial, other)
	c.become("1001", "vi")
	c.send(press("g:talk"))
	c.send(text("Xin gọi lại giúp tôi"))
	c.become("7007", "vi")
	if out := c.send(press("v:seen:" + reg.Code)); strings.Contains(allText(out), msg(c.e, langVI, "verify.handled", "Code", reg.Code)) {
		t.Errorf("another ward's official handled it:%s", dump(out))
	}
	if c.cases.MessageAt(reg.Code).IsZero() {
		t.Error("another ward's official cleared the message")
	}
}

// talkScenarios are the golden conversations of families writing to officials and of the
// registration window.
func talkScenarios() []scenario {
	return []scenario{
		{"talk", "family_writes_to_the_ward", func(c *convo) {
			c.record = false
			c.withPending()
			c.cases.Verifiers = []campaign.Recipient{
				{Channel: "telegram", ChatID: wardOffID, Language: "vi"},
				{Channel: "telegram", ChatID: womenID, Language: "en"},
			}
			c.become("3999", "vi")
			c.record = true
			c.send(press("g:talk")) // no registration: the contacts
			c.become("3101", "vi")
			c.send(text("Cho tôi nói chuyện với cán bộ"))
			c.send(other())
			c.send(text("Nhà tôi đã chuyển sang số 8 đường 12, xin cán bộ gọi lại"))
			c.send(Input{Kind: KindOther, PhotoID: "AgACAgUAAxkBAAIBQ2giay", Text: "Giấy xác nhận hộ nghèo"})
			c.send(press("t:done"))
			c.become(wardOffID, "vi")
			c.send(cmd("verify"))
			c.send(press("v:ok:TD-000001"))
			c.become("3101", "vi")
			c.send(cmd("talk"))
			c.send(text("Bao giờ con tôi nhận được máy ạ?"))
			c.become(wardOffID, "vi")
			c.send(cmd("verify"))
			c.send(press("v:seen:TD-000001"))
		}},
		{"talk", "registration_window", func(c *convo) {
			c.now = time.Date(2021, 8, 25, 9, 0, 0, 0, c.now.Location())
			c.send(cmd("start"))
			c.send(press("g:register"))
			c.now = time.Date(2021, 10, 2, 9, 0, 0, 0, c.now.Location())
			c.send(cmd("start", "dangky"))
			c.send(cmd("status"))
		}},
	}
}

// The words that ask for a person are the locale's, in either language, with or without accents.
func TestTalk_TypedWords(t *testing.T) {
	for _, typed := range []string{"cho toi noi chuyen voi can bo", "I want to talk to an official", "Gặp người thật"} {
		c := newChat(t)
		if out := c.send(text(typed)); !strings.HasPrefix(allText(out), msg(c.e, langVI, "talk.no_registration")) {
			t.Errorf("%q:%s", typed, dump(out))
		}
	}
	c := newChat(t)
	if out := c.send(text("xin chào")); strings.Contains(allText(out), msg(c.e, langVI, "talk.no_registration")) {
		t.Errorf("a greeting asked for an official:%s", dump(out))
	}
}
