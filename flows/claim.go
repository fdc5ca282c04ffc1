package flows

import (
	"maps"
	"strings"

	"github.com/thuduc/maytinhchoem/campaign"
)

func init() {
	registerFlow(flowSpec{
		name:     "claim",
		commands: []flowCommand{{name: "unblock", run: fn1(claimTurn.unblockCommand)}},
		buttons:  []flowButton{{prefix: claimPrefix, run: fn1(claimTurn.claimChoice)}},
		steps:    []stepOwner{{owner: claimPrefix, step: claimStep}},
	})
}

// Claiming (issue 15). A school's or a ward's list, or staff registering a family on its behalf,
// makes registrations without a chat, which may hold the family's phone. When a family shares a
// phone that such registrations hold — at the registration form's phone question, or after
// "🏫 Trường/phường đã đăng ký giúp tôi" under /status or /mydata when the chat has no registration
// — the bot says the school or ward registered a child with this number and asks the child's
// birth date (typed, read as the form reads dates). The registrations of that phone born on
// that date are linked to the chat (ClaimStore.Claim): from then on /status, /mydata and the
// notices reach the family. Nothing about the child (name, school, ward) is shown before the date
// matches: whoever types a number learns only that registrations exist. A wrong date is asked
// again with the tries left; the third (campaign.ClaimTriesMax, counted per phone by the store,
// whatever the chat) ends the offer for good and names whom to contact. Several children on one
// phone are confirmed one date at a time (one date may match several). Coming from the form, the
// form is kept aside: "📝 Đăng ký em khác" goes back to it (the child is not on the list); a claim
// ends it, so the same child is not registered twice.
//
// Until a registration is claimed, what the bot would tell its family goes to the staff member
// who registered it (Registrar), worded for staff, in their language (familyNotice).

// claimPrefix starts the claim's buttons: "cl:start", "cl:form", "cl:done".
const claimPrefix = "cl"

// FlowCase steps of a claim, and their answers.
const (
	claimStepPhone = "cl.phone" // the family shares or types the phone the school or ward has
	claimStepBirth = "cl.birth" // the family types the child's birth date
	// claimAnswerPhone is the phone being claimed, E.164; claimFormPrefix keeps the registration
	// form's answers (and claimFormKey, claimFormStep its key and step) while the claim is asked,
	// so "📝 Đăng ký em khác" goes on where it was.
	claimAnswerPhone = "cl.phone"
	claimFormPrefix  = "cl.form."
	claimFormKey     = "cl.formkey"
)

// Claim buttons' actions.
const (
	claimStart = "start"
	claimForm  = "form"
	claimDone  = "done"
)

// claimStep returns FlowCase's claim steps.
func claimStep(step string) (caseStep, bool) {
	switch step {
	case claimStepPhone:
		return caseStep{ask: do1(claimTurn.claimAskPhone), input: fn0(claimTurn.claimPhoneInput), parent: true, help: "claim.help_phone", asksPhone: true}, true
	case claimStepBirth:
		return caseStep{ask: do1(claimTurn.claimAskBirth), input: fn0(claimTurn.claimBirthInput), parent: true, help: "claim.help_birth"}, true
	}
	return caseStep{}, false
}

func claimData(action string) string { return claimPrefix + ":" + action }

// claimTurn is a turn of a family's claim of what a list or staff registered for it; its methods
// are the flow's own (see flowTurn).
type claimTurn struct{ *turn }

// claimButton is "🏫 Trường/phường đã đăng ký giúp tôi", offered where a chat has no registration;
// nil when claims are off.
func (c claimTurn) claimButton() [][]Button {
	if c.e.cfg.Claims == nil {
		return nil
	}
	return [][]Button{{{Text: c.t("claim.btn_start"), Data: claimData(claimStart)}}}
}

// claimChoice runs a claim's button; action is what follows "cl:".
func (c claimTurn) claimChoice(action string) error {
	if c.e.cfg.Claims == nil {
		c.stale()
		return nil
	}
	switch action {
	case claimStart:
		if c.form() != nil {
			c.say(c.t("claim.finish_form"))
			c.resume("")
			return nil
		}
		c.enterCase(claimStepPhone, nil)
		c.claimAskPhone("")
		return nil
	case claimForm:
		if !c.inCaseFlow() || c.st.Step != claimStepBirth || c.st.Answers[claimFormKey] == "" {
			c.stale()
			return nil
		}
		c.notice = c.t("common.chosen", "Label", withoutSymbols(c.t("claim.btn_form")))
		return c.claimBackToForm()
	case claimDone:
		if !c.inCaseFlow() || !strings.HasPrefix(c.st.Step, claimPrefix+".") {
			c.stale()
			return nil
		}
		c.toIdle()
		c.notice = c.t("common.chosen", "Label", withoutSymbols(c.t("claim.btn_done")))
		c.out = append(c.out, Output{Text: c.t("claim.ended"), Buttons: c.claimAfterButtons()})
		return nil
	}
	c.stale()
	return nil
}

// claimAskPhone asks for the phone the school or ward has, as the form asks it.
func (c claimTurn) claimAskPhone(reason string) {
	o := Output{Text: paragraphs(reason, c.t("claim.phone_prompt")), AskContact: &ContactRequest{Label: c.t("reg.phone.share")}}
	if last := c.st.Answers[lastPrefix+stepPhone]; last != "" {
		o.AskContact.Suggestions = []string{phoneDisplay(last)}
	}
	c.out = append(c.out, o)
}

// claimPhoneInput takes the phone (shared as the sender's own contact, or typed).
func (c claimTurn) claimPhoneInput() error {
	var raw string
	switch {
	case c.in.Kind == KindContact && c.in.Contact != nil:
		if c.in.Contact.UserID == "" || c.in.Contact.UserID != c.in.UserID {
			c.claimAskPhone(c.t("reg.err.contact_not_own"))
			return nil
		}
		raw = c.in.Contact.Phone
	case c.in.Kind == KindText && strings.TrimSpace(c.in.Text) != "":
		raw = c.in.Text
	default:
		c.claimAskPhone(c.t("common.need_text"))
		return nil
	}
	phone, err := parsePhone(raw)
	if err != nil {
		c.claimAskPhone(c.reason(err))
		return nil
	}
	_, err = c.claimOffer(phone, false)
	return err
}

// claimOffer looks up the registrations phone may claim and, when there are some, offers the
// claim (asks the birth date). inForm says the phone was given in the registration form, which
// is kept aside; else the family asked to claim, and a phone with nothing to claim (or blocked)
// is said so. In the form nothing is said then and the form goes on (handled false).
func (c claimTurn) claimOffer(phone string, inForm bool) (handled bool, err error) {
	if c.e.cfg.Claims == nil {
		return false, nil
	}
	n, blocked, err := c.e.cfg.Claims.Unclaimed(c.ctx, phone)
	if err != nil {
		return false, err
	}
	if n == 0 {
		if inForm {
			return false, nil
		}
		c.toIdle()
		id := "claim.none"
		if blocked {
			id = "claim.blocked_before"
		}
		c.out = append(c.out, Output{Text: paragraphs(c.t(id, "Phone", phoneDisplay(phone)), c.contactLines("")),
			Buttons: [][]Button{{{Text: c.t("common.btn_register"), Data: "g:register"}}}})
		return true, nil
	}
	answers := map[string]string{claimAnswerPhone: phone}
	if inForm {
		for k, v := range c.st.Answers {
			if !strings.HasPrefix(k, lastPrefix) {
				answers[claimFormPrefix+k] = v
			}
		}
		answers[claimFormKey] = c.formKey()
		c.lead = "" // the phone is named in the offer
	}
	c.enterCase(claimStepBirth, answers)
	c.say(c.t("claim.found", "Count", n, "Phone", phoneDisplay(phone)))
	c.claimAskBirth("")
	return true, nil
}

// claimAskBirth asks the child's birth date, with the way back to the form when it came from it.
func (c claimTurn) claimAskBirth(reason string) {
	var rows [][]Button
	if c.st.Answers[claimFormKey] != "" {
		rows = append(rows, []Button{{Text: c.t("claim.btn_form"), Data: claimData(claimForm)}})
	}
	rows = append(rows, []Button{{Text: c.t("claim.btn_done"), Data: claimData(claimDone)}})
	c.out = append(c.out, Output{Text: paragraphs(reason, c.t("claim.birth_prompt")), Buttons: rows})
}

// claimBirthInput takes the child's birth date and claims what it matches.
func (c claimTurn) claimBirthInput() error {
	if c.in.Kind != KindText || strings.TrimSpace(c.in.Text) == "" {
		c.claimAskBirth(c.t("common.need_text"))
		return nil
	}
	birth, err := parseBirthDate(c.in.Text, c.now, c.e.cfg.Campaign)
	if err != nil {
		// Not a date (or not a school child's): asked again, not counted as a wrong try.
		c.claimAskBirth(c.reason(err))
		return nil
	}
	phone := c.st.Answers[claimAnswerPhone]
	parent := c.st.Answers[claimFormPrefix+stepParentName]
	if parent == "" {
		parent = c.st.Answers[lastPrefix+stepParentName]
	}
	res, err := c.e.cfg.Claims.Claim(c.ctx, campaign.ClaimRequest{
		Phone: phone, BirthDate: birth, Family: domainSession(c.sess), UserID: c.in.UserID,
		Language: c.lang, ParentName: parent, Key: c.updateKey(),
	})
	switch campaign.ErrorCode(err) {
	case "":
	case campaign.EINVALID:
		c.toIdle()
		c.say(c.t("err.invalid"))
		return nil
	default:
		return err
	}
	switch {
	case len(res.Claimed) > 0:
		return c.claimed(res, phone, parent)
	case res.Blocked:
		c.toIdle()
		c.say(paragraphs(c.t("claim.blocked", "Count", campaign.ClaimTriesMax), c.contactLines("")))
		return nil
	case res.Taken > 0:
		if res.Left > 0 {
			c.claimAskBirth(c.t("claim.taken"))
			return nil
		}
		c.toIdle()
		c.say(paragraphs(c.t("claim.taken"), c.contactLines("")))
		return nil
	}
	c.claimAskBirth(c.t("claim.wrong", "Count", campaign.ClaimTriesMax-res.Failures))
	return nil
}

// claimed tells the family what is now linked to its chat, with each child's status; while the
// phone holds more unclaimed registrations the next birth date is asked.
func (c claimTurn) claimed(res campaign.ClaimResult, phone, parent string) error {
	lines := []string{c.t("claim.done", "Count", len(res.Claimed))}
	for _, r := range res.Claimed {
		lines = append(lines, c.t("status.line", "Code", r.Code, "Name", clip(r.StudentName, 100), "Status", statusTurn(c).statusText(r)))
	}
	text := strings.Join(lines, "\n")
	if res.Left > 0 {
		c.say(text)
		c.claimAskBirth(c.t("claim.more", "Count", res.Left))
		return nil
	}
	c.toIdle()
	// The next registration of this chat offers them, as after a submit.
	c.st.Answers[lastPrefix+stepPhone] = phone
	if parent != "" {
		c.st.Answers[lastPrefix+stepParentName] = parent
	}
	c.out = append(c.out, Output{Text: paragraphs(text, c.t("claim.what_next")), Buttons: c.claimAfterButtons()})
	return nil
}

// claimAfterButtons are /status and /mydata, and a registration of another child.
func (c claimTurn) claimAfterButtons() [][]Button {
	return [][]Button{
		{{Text: c.t("common.btn_status"), Data: "g:status"}, {Text: c.t("claim.btn_mydata"), Data: mydataData(myList)}},
		{{Text: c.t("reg.btn_another"), Data: "g:register"}},
	}
}

// claimBackToForm gives the registration form kept aside back, where it was.
func (c claimTurn) claimBackToForm() error {
	kept := map[string]string{}
	for k, v := range c.st.Answers {
		if name, ok := strings.CutPrefix(k, claimFormPrefix); ok {
			kept[name] = v
		}
	}
	key, started := c.st.Answers[claimFormKey], c.st.StartedAt
	f := c.e.formNamed(FlowRegistration)
	c.openForm(f)
	maps.Copy(c.st.Answers, kept)
	c.st.IdempotencyKey = key
	c.st.StartedAt = started
	c.lead = c.t("claim.back_to_form")
	return c.advance(f)
}

// familyNotice is the notice that tells the family of registration code what build writes in a
// language: to the family's chat in its language when it has one; else, for a registration no
// family has claimed yet, to the staff member who registered it (reg), in theirs, under a line
// that says which registration and how it came, for the school or ward to pass it on, with hint
// (a message id, may be "") saying what the family would do with it. When that staff member is no
// longer active staff (revoked), the same goes to whoever stands in for them (reg.StandIns: the
// school's staff for a school's list, else the ward's verifiers, else the education office), each
// in their language and keyed apart, with a line saying why it reaches them; with nobody, the
// notice is dropped as for a family without a chat, and the officials' reports say so.
func (e *Engine) familyNotice(key, code string, family campaign.Session, familyLang string, reg *campaign.Registrar, hint string, build func(lang string) Output) []campaign.OutboxMessage {
	reach := e.reachOf(family, reg)
	switch {
	case reach.family:
		return notice(key, family, build(langOf(familyLang)))
	case reach.registrar:
		return notice(key, reg.Session, Output{Text: e.staffNotice(langOf(reg.Language), code, reg, "claim.staff.notice", hint, build)})
	}
	var out []campaign.OutboxMessage
	for _, r := range reach.standIns {
		to := campaign.Session{Channel: r.Channel, ChatID: r.ChatID}
		text := e.staffNotice(langOf(r.Language), code, reg, "claim.staff.notice_stand_in", hint, build)
		out = append(out, notice(key+":"+r.Channel+":"+r.ChatID, to, Output{Text: text})...)
	}
	return out
}

// staffNotice is what tells staff in lang, under the line id (with the code and how the
// registration came), what the family of code would be told, and hint. The family's buttons
// (answer, where to receive, received) act from the family's chat only: staff get the words.
func (e *Engine) staffNotice(lang, code string, reg *campaign.Registrar, id, hint string, build func(lang string) Output) string {
	via := e.text(lang, "claim.staff.via_assisted", nil)
	if reg.Source == campaign.SourceList {
		via = e.text(lang, "claim.staff.via_list", map[string]any{"List": reg.ListCode})
	}
	text := e.text(lang, id, map[string]any{"Code": code, "Via": via, "Text": build(lang).Text})
	if hint != "" {
		text = paragraphs(text, e.text(lang, hint, nil))
	}
	return text
}

// familyReach is who hears what the bot tells the family of a registration: its own chat, the
// staff member who registered it (registrar), or those who stand in for a registrar who is no
// longer active staff; none of them when nobody can.
type familyReach struct {
	family, registrar bool
	standIns          []campaign.Recipient
	standInRole       campaign.Role
}

// nobody reports whether nobody hears.
func (r familyReach) nobody() bool { return !r.family && !r.registrar && len(r.standIns) == 0 }

// reachOf says who hears what the bot tells the family of a registration with the chat family
// and, while no family has claimed it, the registrar reg: the registrar while active staff, or
// an administrator the configuration names; else reg's stand-ins.
func (e *Engine) reachOf(family campaign.Session, reg *campaign.Registrar) familyReach {
	switch {
	case family.Channel != "" && family.ChatID != "":
		return familyReach{family: true}
	case reg == nil:
		return familyReach{}
	case reg.Channel != "" && reg.ChatID != "" && (reg.Active || e.isAdminAccount(reg.Channel, reg.ChatID)):
		return familyReach{registrar: true}
	}
	return familyReach{standIns: reg.StandIns, standInRole: reg.StandInRole}
}

// deliveryReach says how the family of d hears of it: directly (its chat), through staff (the
// staff member who registered it, or those who stand in for them: not claimed yet), or not at all.
func (e *Engine) deliveryReach(d campaign.Delivery) familyReach {
	return e.reachOf(d.Parent, d.Registrar)
}

// reachTally counts how the families of deliveries hear of them (deliveryReach).
type reachTally struct{ told, viaStaff, viaStandIns, notTold int }

// reachCounts counts how the families of ds hear of their deliveries.
func (e *Engine) reachCounts(ds []campaign.Delivery) reachTally {
	var n reachTally
	for _, d := range ds {
		switch r := e.deliveryReach(d); {
		case r.family:
			n.told++
		case r.registrar:
			n.viaStaff++
		case len(r.standIns) > 0:
			n.viaStandIns++
		default:
			n.notTold++
		}
	}
	return n
}

// unblockCommand is /unblock <phone or registration code>: after three wrong birth dates
// (campaign.ClaimTriesMax) a phone claims nothing more, for good, and a family that mistyped asks
// the school, the ward or the hotline for help. Someone who may verify the ward of a registration
// the phone may claim (the ward's verifiers, the education office, administrators), having
// checked with the family on the phone, clears the count: the family tries again, with every
// try. A code stands for its registration's phone, so an official who sees phones masked can
// name it too. A phone with nothing in the sender's scope gets the same reply as one that holds
// nothing; the store audits the unblock on each registration (registration.claim_unblock).
func (c claimTurn) unblockCommand(args string) error {
	who, ok, err := c.authorizeOwn(campaign.ActionVerify)
	if !ok {
		return err
	}
	if c.e.cfg.Claims == nil {
		c.say(c.t("case.unavailable"))
		c.resume("")
		return nil
	}
	defer c.resume("")
	args = strings.TrimSpace(args)
	var phone, subject, named string
	if code, isCode := parseRegistrationCode(c.e.cfg.Campaign, args); isCode && c.e.cfg.Cases != nil {
		k, err := c.e.cfg.Cases.CaseByCode(c.ctx, code)
		switch {
		case campaign.ErrorCode(err) == campaign.ENOTFOUND:
		case err != nil:
			return err
		default:
			phone = k.ParentPhone
		}
		subject, named = c.t("claim.unblock.of_code", "Code", code), code
		if phone == "" {
			c.say(c.t("claim.unblock.none", "Subject", subject))
			return nil
		}
	} else if p, perr := parsePhone(args); args != "" && perr == nil {
		phone, subject = p, c.t("claim.unblock.of_phone", "Phone", phoneDisplay(p))
	} else {
		c.say(c.t("claim.unblock.usage"))
		return nil
	}
	b, err := c.e.cfg.Claims.ClaimBlockOf(c.ctx, phone)
	if err != nil {
		return err
	}
	var codes []string
	for _, h := range b.Holders {
		if campaign.Authorize(who, campaign.ActionVerify, h.WardCode) == nil {
			codes = append(codes, h.Code)
		}
	}
	switch {
	case len(codes) == 0:
		c.say(c.t("claim.unblock.none", "Subject", subject))
		return nil
	case b.Failures == 0 && !b.Blocked:
		c.say(c.t("claim.unblock.not_blocked", "Subject", subject))
		return nil
	}
	before, err := c.e.cfg.Claims.Unblock(c.ctx, phone, c.actor())
	if err != nil {
		return err
	}
	if before.Failures == 0 && !before.Blocked {
		// Someone else cleared it meanwhile.
		c.say(c.t("claim.unblock.not_blocked", "Subject", subject))
		return nil
	}
	listed := strings.Join(codes, ", ")
	if listed == named {
		listed = "" // the subject names it already
	}
	c.say(c.t("claim.unblock.done", "Subject", subject, "Codes", listed, "Count", campaign.ClaimTriesMax))
	return nil
}
