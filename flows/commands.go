package flows

import (
	"strings"

	"github.com/thuduc/maytinhchoem/campaign"
)

func init() {
	registerFlow(flowSpec{
		name: "core",
		commands: []flowCommand{
			{name: "start", run: fn1(coreTurn.start), menu: "cmd.start", rank: 10},
			{name: "cancel", run: func(c *turn, _ string) error { c.cancel(); return nil }, menu: "cmd.cancel", rank: 60},
			{name: "help", run: func(c *turn, _ string) error { c.help(); return nil }, menu: "cmd.help", rank: 70},
			{name: "lang", run: fn1(coreTurn.langCommand), menu: "cmd.lang", rank: 80},
		},
		actions: []flowAction{
			{name: "lang:vi", run: func(c *turn) error { return coreTurn{c}.setLang(langVI) }},
			{name: "lang:en", run: func(c *turn) error { return coreTurn{c}.setLang(langEN) }},
			{name: "resume", run: fn0(coreTurn.resumeAction)},
			{name: "restart", run: fn0(coreTurn.restartAction)},
		},
	})
}

// command runs a /command, as the flow that registered it says. Commands work at any step; those
// that do not end the form ask the current question again afterwards.
func (c *turn) command() error {
	if cmd, ok := c.e.routes.commands[c.in.Command]; ok {
		return cmd.run(c, strings.TrimSpace(c.in.Args))
	}
	c.say(c.t("common.unknown_command", "Command", clip(c.in.Command, 32)))
	c.resume("")
	return nil
}

// coreTurn is a turn of the engine's own flow (/start, /lang, resume, restart); its methods are the
// flow's own (see flowTurn).
type coreTurn struct{ *turn }

// langCommand is /lang: /lang vi and /lang en choose at once, else the choice is offered.
func (c coreTurn) langCommand(args string) error {
	switch lang := strings.ToLower(args); lang {
	case langVI, langEN:
		return c.setLang(lang)
	}
	c.chooseLang()
	return nil
}

// start greets, follows a deep-link payload, or offers to go on with a form in progress.
func (c coreTurn) start(payload string) error {
	if c.dialog() != nil {
		c.toIdle() // a half-made invitation or a typed reason is a few taps, not worth an offer to resume
	}
	if payload != "" {
		for _, d := range c.e.deepLinks {
			if payload == d.payload || (d.prefix && strings.HasPrefix(payload, d.payload)) {
				return d.handle(c.turn, payload)
			}
		}
		c.say(c.t("common.deeplink_unknown"))
	}
	if f := c.form(); f != nil {
		c.offerResume(f)
		return nil
	}
	c.welcome()
	return nil
}

// offerResume tells where the form in progress stands and offers to go on or start again.
func (c *turn) offerResume(f *form) {
	where := c.t(f.reviewLabel)
	if fld := f.field(c.st.Step); fld != nil {
		where = c.t(fld.label)
	}
	c.out = append(c.out, Output{
		Text: c.t("common.in_progress", "Step", where),
		Buttons: [][]Button{{
			{Text: c.t("common.btn_resume"), Data: "g:resume"},
			{Text: c.t("common.btn_restart"), Data: "g:restart"},
		}},
	})
}

// cancel leaves the form (or dialog) at once; the message, its flow's, says how to start again.
func (c *turn) cancel() {
	if d := c.dialog(); d != nil {
		done := d.cancelled(c)
		c.toIdle()
		c.say(c.t(done))
		return
	}
	f := c.form()
	if f == nil {
		c.say(c.t("common.cancel_idle"))
		return
	}
	done := "common.cancelled"
	if f.cancelled != "" {
		done = f.cancelled
	}
	c.toIdle()
	c.say(c.t(done))
}

// help explains the current question and asks it again, or explains the bot: out of any form or
// dialog, the public help (whom a family can reach), then what each flow adds (flowHelp, by rank).
func (c *turn) help() {
	f := c.form()
	if d := c.dialog(); f == nil && d != nil {
		d.help(c)
		return
	}
	if f == nil {
		c.say(paragraphs(c.t("common.help_idle"), c.contactLines(c.familyWard())))
		for _, h := range c.e.routes.idleHelp {
			h.add(c)
		}
		return
	}
	c.st.Misses = 0
	if fld := f.field(c.st.Step); fld != nil {
		c.say(c.t(fld.help))
	} else {
		c.say(c.t(f.reviewHelp))
	}
	c.resume("")
}

// resume asks the current question of the form in progress again, if there is one, with reason
// (if any) before it.
func (c *turn) resume(reason string) {
	if f := c.form(); f != nil {
		formTurn{c}.reask(f, reason)
	} else if d := c.dialog(); d != nil {
		d.ask(c, reason)
	}
}

func (c coreTurn) chooseLang() {
	c.out = append(c.out, Output{
		Text: c.t("lang.choose"),
		Buttons: [][]Button{{
			{Text: c.t("lang.btn_vi"), Data: "g:lang:vi"},
			{Text: c.t("lang.btn_en"), Data: "g:lang:en"},
		}},
	})
}

// setLang keeps the chosen language in the state and the contact, then shows the current
// question (or the greeting) in it.
func (c coreTurn) setLang(lang string) error {
	if c.e.cfg.Contacts != nil {
		err := c.e.cfg.Contacts.UpsertContact(c.ctx, campaign.Contact{
			Channel: c.sess.Channel, ExternalID: c.sess.ChatID, Name: c.in.UserName, Language: lang,
		})
		if err != nil {
			return err
		}
	}
	c.st.Lang = lang
	c.lang = lang
	c.say(c.t("lang.set"))
	if c.form() != nil || c.dialog() != nil {
		c.resume("")
	} else {
		c.welcome()
	}
	return nil
}

// choice runs a pressed button. Buttons of the main menu are "g:<action>", each action its flow's;
// other buttons go to the flow that registered their prefix, or carry a form's prefix and the step
// they belong to, so a button left over from an earlier question is never applied to the current one.
func (c *turn) choice() error {
	prefix, rest, _ := strings.Cut(c.in.Data, ":")
	if prefix == globalPrefix {
		if a, ok := c.e.routes.actions[rest]; ok {
			return a.run(c)
		}
		c.stale()
		return nil
	}
	if b, ok := c.e.routes.buttons[prefix]; ok {
		return b.run(c, rest)
	}
	step, value, _ := strings.Cut(rest, ":")
	f := c.e.formWithPrefix(prefix)
	if f == nil || c.form() != f || step != c.st.Step {
		c.stale()
		return nil
	}
	return formTurn{c}.formChoice(f, value)
}

// resumeAction is "Tiếp tục": the form in progress goes on.
func (c coreTurn) resumeAction() error {
	if c.form() == nil {
		c.say(c.t("common.resume_none"))
		c.welcome()
		return nil
	}
	c.st.Misses = 0
	c.resume("")
	return nil
}

// restartAction is "Làm lại từ đầu": the form in progress, or the main form, afresh.
func (c coreTurn) restartAction() error {
	f := c.form()
	if f == nil {
		f = c.e.mainForm
	} else {
		c.say(c.t("common.restarted"))
	}
	return c.startForm(f)
}

// stale answers a button that no longer applies: a polite note and the current question.
func (c *turn) stale() {
	c.notice = c.t("common.stale")
	if c.form() == nil && c.dialog() == nil {
		c.say(c.t("common.stale_idle"))
		return
	}
	c.resume(c.notice)
}
