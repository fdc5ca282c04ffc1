package flows

import (
	"strings"
	"unicode/utf8"

	"github.com/thuduc/maytinhchoem/campaign"
)

// command runs a /command. Commands work at any step; those that do not end the form ask the
// current question again afterwards.
func (c *turn) command() error {
	args := strings.TrimSpace(c.in.Args)
	switch c.in.Command {
	case "start":
		return c.start(args)
	case "status":
		return c.status()
	case "talk":
		return c.talk()
	case "mydata":
		return c.mydataCommand(args)
	case "erase":
		return c.eraseCommand(args)
	case "pledge":
		return c.startPledge()
	case "pledges":
		return c.pledges()
	case "cancel":
		c.cancel()
		return nil
	case "help":
		c.help()
		return nil
	case "whoami":
		return c.whoami()
	case "invite":
		return c.invite(args)
	case "invites":
		return c.invites()
	case "staff":
		return c.staffList()
	case "revoke":
		return c.revokeCommand(args)
	case "intake":
		return c.startIntake(args)
	case "myintake":
		return c.myIntake()
	case "device":
		return c.deviceCommand(args)
	case "money":
		return c.moneyCommand(args)
	case "buy":
		return c.buyCommand(args)
	case "verify":
		return c.verifyCommand(args)
	case "allocate":
		return c.allocateCommand(args)
	case "deliveries":
		return c.deliveriesCommand(args)
	case "find":
		return c.findCommand(args)
	case "export":
		return c.exportCommand(args)
	case "summary":
		return c.summaryCommand()
	case "subscribe":
		return c.subscribeCommand()
	case "unsubscribe":
		return c.unsubscribeCommand()
	case "broadcast":
		return c.broadcastCommand(args)
	case "import":
		return c.importCommand()
	case "assist":
		return c.assistCommand()
	case "unblock":
		return c.unblockCommand(args)
	case "lang":
		switch lang := strings.ToLower(args); lang {
		case langVI, langEN:
			return c.setLang(lang)
		}
		c.chooseLang()
		return nil
	}
	c.say(c.t("common.unknown_command", "Command", clip(c.in.Command, 32)))
	c.resume("")
	return nil
}

// start greets, follows a deep-link payload, or offers to go on with a form in progress.
func (c *turn) start(payload string) error {
	if c.inStaffFlow() || c.inCaseFlow() {
		c.toIdle() // a half-made invitation or revocation is a few taps, not worth an offer to resume
	}
	if payload != "" {
		for _, d := range c.e.deepLinks {
			if payload == d.payload || (d.prefix && strings.HasPrefix(payload, d.payload)) {
				return d.handle(c, payload)
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

// cancel leaves the form at once; the message says how to start again.
func (c *turn) cancel() {
	if c.inBroadcast() {
		c.toIdle()
		c.say(c.t("broadcast.cancelled"))
		return
	}
	if c.inCaseFlow() {
		c.toIdle()
		c.say(c.t("case.cancelled"))
		return
	}
	if c.inStaffFlow() {
		c.toIdle()
		c.say(c.t("staff.cancelled"))
		return
	}
	if c.form() == nil {
		c.say(c.t("common.cancel_idle"))
		return
	}
	done := c.t("common.cancelled")
	if c.st.Flow == FlowPledge {
		done = c.t("pledge.cancelled")
	}
	if c.st.Flow == FlowIntake || c.st.Flow == FlowMoney {
		done = c.t("intake.cancelled")
	}
	if c.st.Flow == FlowAssist {
		done = c.t("assist.cancelled")
	}
	c.toIdle()
	c.say(done)
}

// help explains the current question and asks it again, or explains the bot.
func (c *turn) help() {
	f := c.form()
	if f == nil && c.inStaffFlow() {
		c.say(c.t("staff.help_step"))
		c.resume("")
		return
	}
	if f == nil && c.inCaseFlow() {
		help := c.t("case.help_step")
		if s, ok := caseStepNamed(c.st.Step); ok && s.help != "" {
			help = c.t(s.help)
		}
		c.say(help)
		c.resume("")
		return
	}
	if f == nil {
		c.say(c.helpIdle())
		c.offerAssist()
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
		c.reask(f, reason)
	} else if c.inStaffFlow() {
		c.staffAsk(reason, false)
	} else if c.inCaseFlow() {
		c.caseAsk(reason)
	}
}

func (c *turn) chooseLang() {
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
func (c *turn) setLang(lang string) error {
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
	if c.form() != nil || c.inStaffFlow() || c.inCaseFlow() {
		c.resume("")
	} else {
		c.welcome()
	}
	return nil
}

// choice runs a pressed button. Buttons of the main menu start with "g:"; a form's
// buttons carry the form's prefix and the step they belong to, so a button left over from an
// earlier question is never applied to the current one.
func (c *turn) choice() error {
	data := c.in.Data
	if rest, ok := strings.CutPrefix(data, "g:"); ok {
		return c.globalChoice(rest)
	}
	if handled, err := c.intakeChoice(data); handled {
		return err
	}
	if rest, ok := strings.CutPrefix(data, staffPrefix+":"); ok {
		return c.staffChoice(rest)
	}
	if rest, ok := strings.CutPrefix(data, mydataPrefix+":"); ok {
		return c.mydataChoice(rest)
	}
	if rest, ok := strings.CutPrefix(data, assistAfterPrefix+":"); ok {
		return c.assistAfter(rest)
	}
	if handled, err := c.caseChoice(data); handled {
		return err
	}
	prefix, rest, _ := strings.Cut(data, ":")
	step, value, _ := strings.Cut(rest, ":")
	f := c.e.formWithPrefix(prefix)
	if f == nil || c.form() != f || step != c.st.Step {
		c.stale()
		return nil
	}
	return c.formChoice(f, value)
}

func (c *turn) globalChoice(action string) error {
	switch action {
	case "register":
		return c.startOrOffer(c.e.forms[0])
	case "status":
		return c.status()
	case "talk":
		return c.talk()
	case "pledge":
		return c.startPledge()
	case "pledges":
		return c.pledges()
	case "lang:vi":
		return c.setLang(langVI)
	case "lang:en":
		return c.setLang(langEN)
	case "resume":
		if c.form() == nil {
			c.say(c.t("common.resume_none"))
			c.welcome()
			return nil
		}
		c.st.Misses = 0
		c.resume("")
		return nil
	case "restart":
		f := c.form()
		if f == nil {
			f = c.e.forms[0]
		} else {
			c.say(c.t("common.restarted"))
		}
		return c.startForm(f)
	}
	c.stale()
	return nil
}

// stale answers a button that no longer applies: a polite note and the current question.
func (c *turn) stale() {
	c.notice = c.t("common.stale")
	if c.form() == nil && !c.inStaffFlow() && !c.inCaseFlow() {
		c.say(c.t("common.stale_idle"))
		return
	}
	c.resume(c.notice)
}

// clip shortens s to at most n characters, for echoing what a user typed.
func clip(s string, n int) string {
	s = cleanText(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
