package flows

import (
	"strings"

	"github.com/thuduc/maytinhchoem/campaign"
)

func init() {
	registerFlow(flowSpec{
		name:     "talk",
		commands: []flowCommand{{name: "talk", run: func(c *turn, _ string) error { return talkTurn{c}.talk() }, menu: "cmd.talk", rank: 40}},
		actions:  []flowAction{{name: "talk", run: fn0(talkTurn.talk)}},
		welcome:  []flowWelcome{{row: 30, rank: 2, text: "common.btn_talk", action: "talk"}},
		buttons:  []flowButton{{prefix: talkPrefix, run: fn1(talkTurn.talkChoice)}},
		steps:    []stepOwner{{owner: talkPrefix, step: talkStep}},
		words: []flowWords{{rank: 50, take: func(c *turn) (bool, error) {
			if !(talkTurn{c}).wantsTalk() {
				return false, nil
			}
			return true, talkTurn{c}.talk()
		}}},
	})
}

// "Talk to an official" (💬 Nhắn cán bộ phường): a family writes to the staff of their ward about
// one of their registrations. What they send (words or a photo, as many messages as they like
// until they press «Xong» or start something else) becomes a note of the registration that the
// ward's staff see in /verify, where the registration waits until someone marks the message
// handled or decides the case; each message also reaches the ward's staff at once (campaign.
// MessageStore). A family without a registration, or a bot without the store, is given the
// campaign's contacts instead. An open question from officials is answered the usual way (an
// answer, not a message): answerUnprompted takes the next message first.

// talkPrefix starts the data of the talk buttons: "t:pick:<code>", "t:done".
const talkPrefix = "t"

// stepTalkMessage is the family typing their message; the answers hold the registration's code.
const stepTalkMessage = "t.message"

// talkStep returns FlowCase's talk steps.
func talkStep(step string) (caseStep, bool) {
	if step == stepTalkMessage {
		return caseStep{ask: do1(talkTurn.askTalk), input: fn0(talkTurn.talkInput), parent: true, help: "talk.help"}, true
	}
	return caseStep{}, false
}

// talkTurn is a turn of a family's messages to the ward's officials (/talk); its methods are the
// flow's own (see flowTurn).
type talkTurn struct{ *turn }

// wantsTalk reports whether a message out of any flow asks for a person: it holds one of the
// words of talk.words ("cán bộ", "nói chuyện", "official"...) in either language, with or without
// accents ("Cho tôi nói chuyện với cán bộ").
func (c talkTurn) wantsTalk() bool {
	if c.in.Kind != KindText {
		return false
	}
	t := campaign.Fold(c.in.Text)
	for _, lang := range []string{langVI, langEN} {
		for _, w := range strings.Split(c.e.text(lang, "talk.words", nil), "|") {
			if w = campaign.Fold(w); w != "" && strings.Contains(t, w) {
				return true
			}
		}
	}
	return false
}

// talk begins a message to officials: about the chat's only registration, or the one the family
// picks; with none, the contacts.
func (c talkTurn) talk() error {
	if c.e.cfg.Messages == nil {
		c.say(paragraphs(c.t("talk.unavailable"), c.contactLines(c.familyWard())))
		c.resume("")
		return nil
	}
	if c.formBusy() {
		return nil
	}
	regs, err := c.e.cfg.Registrations.RegistrationsByChat(c.ctx, c.sess.Channel, c.sess.ChatID)
	if err != nil {
		return err
	}
	if len(regs) == 0 {
		c.say(paragraphs(c.t("talk.no_registration"), c.contactLines("")))
		return nil
	}
	if len(regs) == 1 {
		return c.talkAbout(regs[0].Code)
	}
	var rows [][]Button
	for i, r := range regs {
		if i == statusShown {
			break
		}
		rows = append(rows, []Button{{Text: c.t("talk.pick_button", "Code", r.Code, "Name", clip(r.StudentName, 40)),
			Data: talkPrefix + ":pick:" + r.Code}})
	}
	c.out = append(c.out, Output{Text: c.t("talk.pick"), Buttons: rows})
	return nil
}

// talkAbout asks for the message about the registration code.
func (c talkTurn) talkAbout(code string) error {
	if c.formBusy() {
		return nil
	}
	c.enterCase(stepTalkMessage, map[string]string{answerCaseCode: code})
	c.askTalk("")
	return nil
}

// askTalk asks for the message, naming whom it goes to.
func (c talkTurn) askTalk(reason string) {
	code := c.st.Answers[answerCaseCode]
	c.out = append(c.out, Output{
		Text:    paragraphs(reason, c.t("talk.prompt", "Code", code, "Max", answerMax)),
		Buttons: [][]Button{{{Text: c.t("talk.btn_done"), Data: talkPrefix + ":done"}}},
	})
}

// talkInput sends one message (words, or a photo with its caption) to the ward's staff; the
// family stays at the step, so what they send next goes too, until «Xong».
func (c talkTurn) talkInput() error {
	m, ok := verifyTurn(c).answerMessage(do1(talkTurn.askTalk))
	if !ok {
		return nil
	}
	code := c.st.Answers[answerCaseCode]
	key := c.updateKey()
	_, err := c.e.cfg.Messages.MessageOfficials(c.ctx, code, domainSession(c.sess), m, key,
		func(fm campaign.FamilyMessage) []campaign.OutboxMessage { return c.talkNotices(fm, key) })
	if campaign.ErrorCode(err) == campaign.ENOTFOUND {
		// Erased or withdrawn meanwhile: nothing to attach the message to.
		c.toIdle()
		c.say(paragraphs(c.t("talk.gone", "Code", code), c.contactLines("")))
		return nil
	}
	if err != nil {
		return err
	}
	c.noticesQueued()
	c.out = append(c.out, Output{
		Text:    c.t("talk.sent", "Code", code),
		Buttons: [][]Button{{{Text: c.t("talk.btn_done"), Data: talkPrefix + ":done"}}},
	})
	return nil
}

// talkNotices tell each of the ward's verifying staff of a family's message, with the button
// that opens the case.
func (c talkTurn) talkNotices(fm campaign.FamilyMessage, key string) []campaign.OutboxMessage {
	code := fm.Registration.Code
	textID := "talk.to_official"
	if fm.Message.PhotoID != "" {
		textID = "talk.photo_to_official"
	}
	var msgs []campaign.OutboxMessage
	for _, r := range fm.Officials {
		lang := langOf(r.Language)
		o := Output{
			Text: c.e.text(lang, textID, map[string]any{"Code": code, "Ward": c.e.wardNameIn(lang, fm.Registration.WardCode),
				"Text": fm.Message.Text}),
			Buttons: [][]Button{{{Text: c.e.text(lang, "verify.btn_open", nil), Data: verifyData("back", code)}}},
		}
		for _, m := range notice(c.noticeKey(key, "message:"+code+":"+r.Channel+":"+r.ChatID),
			campaign.Session{Channel: r.Channel, ChatID: r.ChatID}, o) {
			m.PhotoID, m.PhotoChannel = fm.Message.PhotoID, fm.Message.PhotoChannel
			msgs = append(msgs, m)
		}
	}
	return msgs
}

// talkChoice runs the talk buttons; data is what follows "t:".
func (c talkTurn) talkChoice(data string) error {
	action, code, _ := strings.Cut(data, ":")
	switch {
	case action == "pick" && registrationCodeShape(code):
		return c.talkAbout(code)
	case action == "done":
		if c.inCaseFlow() && c.st.Step == stepTalkMessage {
			c.toIdle()
		}
		c.say(paragraphs(c.t("talk.done"), c.contactLines(c.familyWard())))
		return nil
	}
	c.stale()
	return nil
}
