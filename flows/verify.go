package flows

import (
	"fmt"
	"slices"
	"strings"

	"github.com/thuduc/maytinhchoem/campaign"
)

func init() {
	registerFlow(flowSpec{
		name: "verify",
		commands: []flowCommand{{
			name: "verify", run: fn1(verifyTurn.verifyCommand),
			staff: &staffLine{group: "staff.help.group.cases", rank: 80, text: "staff.help.verify",
				may: staffMay(campaign.ActionVerify, func(c Config) bool { return c.Cases != nil })},
		}},
		buttons: []flowButton{{prefix: verifyPrefix, run: fn1(verifyTurn.verifyChoice)}},
		steps:   []stepOwner{{owner: verifyPrefix, step: verifyStep}},
		words:   []flowWords{{rank: 20, take: func(c *turn) (bool, error) { return verifyTurn{c}.answerUnprompted() }}},
	})
}

// verifyPrefix starts the button data of verification buttons: "v:<action>:<code>[:<value>]".
// Officials press ok, no (then rj:<code>:<reason>), ask and skip; a parent presses reply.
const verifyPrefix = "v"

// Verification steps of FlowCase; the answer answerCaseCode holds the registration's code.
const (
	stepVerifyReason   = "v.reason"   // an official types the reason of a refusal ("other")
	stepVerifyQuestion = "v.question" // an official types a question for the parent
	stepVerifyAnswer   = "v.answer"   // the parent types the answer
	stepVerifyMore     = "v.more"     // the parent may send more of the answer just given
	answerCaseCode     = "code"
	// answerVerifySkip keeps the codes an official put aside with "Để sau", kept between turns
	// (the "last." prefix survives toIdle) so /verify shows the next one; at most verifySkipMax.
	answerVerifySkip = lastPrefix + "verify_skip"
	verifySkipMax    = 30
)

// Lengths of what officials and parents type about a registration.
const (
	reasonMin   = 3
	reasonMax   = 300
	questionMin = 5
	questionMax = 500
	answerMin   = 2
	answerMax   = 1000
	// duplicatesShown is how many possible duplicates a case lists.
	duplicatesShown = 5
	// notesShown is how many of the latest questions and answers a case shows.
	notesShown = 4
)

// Message ids by value.
var (
	rejectLabels = map[campaign.RejectReason]string{
		campaign.RejectNotInArea:   "verify.reject.not_in_area",
		campaign.RejectHasDevice:   "verify.reject.has_device",
		campaign.RejectDuplicate:   "verify.reject.duplicate",
		campaign.RejectNotEligible: "verify.reject.not_eligible",
		campaign.RejectOther:       "verify.reject.other",
	}
	caseStatusLabels = map[campaign.RegistrationStatus]string{
		campaign.StatusSubmitted: "verify.status.submitted",
		campaign.StatusNeedsInfo: "verify.status.needs_info",
		campaign.StatusVerified:  "verify.status.verified",
		campaign.StatusRejected:  "verify.status.rejected",
		campaign.StatusAllocated: "verify.status.allocated",
		campaign.StatusDelivered: "verify.status.delivered",
		campaign.StatusWithdrawn: "mydata.case_status.withdrawn",
	}
)

// verifyStep returns FlowCase's verification steps.
func verifyStep(step string) (caseStep, bool) {
	switch step {
	case stepVerifyReason:
		return caseStep{ask: do1(verifyTurn.askRejectText), input: fn0(verifyTurn.rejectTextInput)}, true
	case stepVerifyQuestion:
		return caseStep{ask: do1(verifyTurn.askQuestion), input: fn0(verifyTurn.questionInput)}, true
	case stepVerifyAnswer:
		return caseStep{ask: do1(verifyTurn.askAnswer), input: fn0(verifyTurn.answerInput), parent: true}, true
	case stepVerifyMore:
		return caseStep{ask: do1(verifyTurn.askMore), input: fn0(verifyTurn.moreInput), parent: true, leaveOnOther: true}, true
	}
	return caseStep{}, false
}

// verifyScope is the ward whose registrations who verifies: their own for ward roles, every
// ward ("") for the others.
func verifyScope(who campaign.Staff) string {
	if who.Role.NeedsWard() {
		return who.WardCode
	}
	return ""
}

// verifyTurn is a turn of the verification (/verify); its methods are the flow's own (see
// flowTurn).
type verifyTurn struct{ *turn }

// verifyCommand is /verify [code]: the next pending registration in the sender's scope, or the
// one named.
func (c verifyTurn) verifyCommand(args string) error {
	if c.casesOff() || c.formBusy() {
		return nil
	}
	who, ok, err := c.authorizeOwn(campaign.ActionVerify)
	if !ok {
		return err
	}
	if c.inCaseFlow() {
		c.toIdle()
	}
	if args != "" {
		code, valid := parseRegistrationCode(c.e.cfg.Campaign, args)
		if !valid {
			c.say(c.t("verify.bad_code", "Query", clip(args, 30)))
			return nil
		}
		return c.showCaseCode(who, code)
	}
	return c.nextCase(who, "")
}

// authorizeOwn authorizes an action over the sender's own scope: their ward for ward roles,
// the whole campaign for the others.
func (c *turn) authorizeOwn(action campaign.Action) (campaign.Staff, bool, error) {
	who, err := c.whoIs()
	if err != nil {
		return campaign.Staff{}, false, err
	}
	return c.authorizeAs(who, action, who.WardCode)
}

// nextCase shows the next pending registration in who's scope, with lead (may be "") before it.
func (c verifyTurn) nextCase(who campaign.Staff, lead string) error {
	skip := splitList(c.st.Answers[answerVerifySkip])
	cases, err := c.e.cfg.Cases.PendingCases(c.ctx, verifyScope(who), skip, 2)
	if err != nil {
		return err
	}
	if len(cases) == 0 {
		text := c.t("verify.none")
		if len(skip) > 0 {
			text = c.t("verify.none_skipped", "Count", len(skip))
			delete(c.st.Answers, answerVerifySkip) // the next /verify starts over with those
		}
		c.say(paragraphs(lead, text))
		return nil
	}
	return c.showCase(who, cases[0], lead, len(cases) > 1)
}

// showCaseCode shows one registration named by code, within who's scope.
func (c verifyTurn) showCaseCode(who campaign.Staff, code string) error {
	k, err := c.e.cfg.Cases.CaseByCode(c.ctx, code)
	if campaign.ErrorCode(err) == campaign.ENOTFOUND {
		c.say(c.t("verify.not_found", "Code", code))
		return nil
	}
	if err != nil {
		return err
	}
	if _, ok, err := c.authorizeAs(who, campaign.ActionVerify, k.WardCode); !ok {
		return err
	}
	return c.showCase(who, k, "", false)
}

// showCase shows a registration in full with its priority, duplicates and notes, and the
// decision buttons when it is pending. Seeing a child's full record is audited.
func (c verifyTurn) showCase(who campaign.Staff, k campaign.Case, lead string, more bool) error {
	if err := c.auditView("registration.view", k.Code, map[string]any{"role": who.Role, "status": k.Status}); err != nil {
		return fmt.Errorf("audit view of %s: %w", k.Code, err)
	}
	score := c.e.cfg.Campaign.Priority(k.Registration)
	lines := []string{
		c.t("verify.case.title", "Code", k.Code, "Status", c.t(caseStatusLabels[k.Status])),
		c.t("verify.case.student", "Name", k.StudentName, "Birth", k.BirthDate.Format("02/01/2006")),
		c.t("verify.case.school", "Grade", k.Grade, "Level", c.t(levelLabels[k.Level][0]), "School", k.School),
		c.t("verify.case.address", "Ward", c.wardName(k.WardCode), "Address", k.Address),
		c.caseParentLine(who, k.Registration),
	}
	source, err := c.caseSourceLines(who, k.Registration)
	if err != nil {
		return err
	}
	lines = append(lines, source...)
	lines = append(lines,
		c.t("verify.case.circumstances", "List", c.circumstancesText(k.Registration)),
		c.t("verify.case.situation", "Situation", c.t(situationLabels[k.DeviceSituation])),
		c.t("verify.case.needs", "List", regTurn(c).listLabels(joinEnum(k.Needs), func(s string) string { return needLabels[campaign.Need(s)] })),
		c.t("verify.case.priority", "Points", score.Points, "Why", c.scoreText(score)),
	)
	if k.Status == campaign.StatusRejected {
		lines = append(lines, c.t("verify.case.rejected", "Reason", c.rejectText(k.Registration)))
	}
	if len(k.Duplicates) > 0 {
		var dups []string
		for i, d := range k.Duplicates {
			if i == duplicatesShown {
				dups = append(dups, "…")
				break
			}
			dups = append(dups, c.t("verify.case.duplicate", "Code", d.Code, "Status", c.t(caseStatusLabels[d.Status])))
		}
		lines = append(lines, c.t("verify.case.duplicates", "List", strings.Join(dups, ", ")))
	}
	if k.AlreadyHelped {
		lines = append(lines, c.t("verify.case.helped"))
	}
	notes := k.Notes
	if len(notes) > notesShown {
		notes = notes[len(notes)-notesShown:]
	}
	for _, n := range notes {
		id := "verify.case.question"
		if n.Message {
			id = "verify.case.message"
		} else if n.Answer {
			id = "verify.case.answer"
		}
		text := clip(n.Text, 300)
		if n.PhotoID != "" {
			text = strings.TrimSpace(text + " " + c.t("verify.case.photo"))
		}
		lines = append(lines, c.t(id, "Text", text, "At", n.At.In(c.e.cfg.Campaign.Location).Format("02/01 15:04")))
	}
	if k.MessageWaiting() {
		lines = append(lines, c.t("verify.case.message_waiting", "Phone", phoneFor(who, k.ParentPhone)))
	}
	o := Output{Text: paragraphs(lead, strings.Join(lines, "\n"))}
	if k.MessageWaiting() && k.Status != campaign.StatusSubmitted {
		// Past verification there is nothing to decide: the family's message is read, acted on
		// (a call, a correction) and marked handled.
		o.Buttons = [][]Button{{{Text: c.t("verify.btn_handled"), Data: verifyData("seen", k.Code)},
			{Text: c.t("verify.btn_skip"), Data: verifyData("skip", k.Code)}}}
		if more {
			o.Text += "\n\n" + c.t("verify.more")
		}
	}
	if k.Status == campaign.StatusSubmitted {
		o.Buttons = [][]Button{
			{{Text: c.t("verify.btn_approve"), Data: verifyData("ok", k.Code)}, {Text: c.t("verify.btn_reject"), Data: verifyData("no", k.Code)}},
			{{Text: c.t("verify.btn_ask"), Data: verifyData("ask", k.Code)}, {Text: c.t("verify.btn_skip"), Data: verifyData("skip", k.Code)}},
		}
		if more {
			o.Text += "\n\n" + c.t("verify.more")
		}
	}
	c.out = append(c.out, o)
	return nil
}

// caseParentLine is the card's line of the parent: the name and phone, and in words what a
// school's or ward's list (or a family without a phone) did not give.
func (c verifyTurn) caseParentLine(who campaign.Staff, r campaign.Registration) string {
	phone := ""
	if r.ParentPhone != "" {
		phone = phoneFor(who, r.ParentPhone)
	}
	if r.ParentName != "" && phone != "" {
		return c.t("verify.case.parent", "Name", r.ParentName, "Phone", phone)
	}
	return c.t("verify.case.parent_missing", "Name", r.ParentName, "Phone", phone)
}

// caseSourceLines are the card's lines on how a registration came, for one not made in a chat:
// the list and its row with who sent it, or whom the family consented before and when; then
// whether the family has linked it to a chat since and, while it has not, whether its phone was
// blocked after wrong birth dates (with /unblock for those who may clear it). A chat's
// registration has none: the card stays as short as it was.
func (c verifyTurn) caseSourceLines(who campaign.Staff, r campaign.Registration) ([]string, error) {
	if r.RegisteredBy == "" || r.Erased() {
		return nil, nil
	}
	by := c.registrarName(r.RegisteredByName, r.RegisteredByRole, registrarSession(r.RegisteredBy))
	var lines []string
	switch r.Source {
	case campaign.SourceList:
		lines = append(lines, c.t("verify.case.source_list", "List", r.ListCode, "Row", r.ListRow, "By", by))
	case campaign.SourceAssisted:
		lines = append(lines, c.t("verify.case.source_assisted", "By", by,
			"Date", r.ConsentAt.In(c.e.cfg.Campaign.Location).Format("02/01/2006")))
	default:
		return nil, nil
	}
	if r.ChatID != "" {
		return append(lines, c.t("verify.case.claimed")), nil
	}
	if r.ParentPhone == "" || c.e.cfg.Claims == nil || r.Status == campaign.StatusWithdrawn {
		return lines, nil
	}
	_, blocked, err := c.e.cfg.Claims.Unclaimed(c.ctx, r.ParentPhone)
	if err != nil {
		return nil, err
	}
	if blocked {
		id := "verify.case.claim_blocked"
		if campaign.Authorize(who, campaign.ActionVerify, r.WardCode) == nil {
			id = "verify.case.claim_blocked_unblock"
		}
		lines = append(lines, c.t(id, "Count", campaign.ClaimTriesMax, "Code", r.Code))
	}
	return lines, nil
}

// registrarSession is the chat of a "channel:id" in registered_by.
func registrarSession(by string) campaign.Session {
	channel, id, _ := strings.Cut(by, ":")
	return campaign.Session{Channel: channel, ChatID: id}
}

func verifyData(parts ...string) string { return verifyPrefix + ":" + strings.Join(parts, ":") }

// verifyChoice runs a verification button; data is what follows "v:".
func (c verifyTurn) verifyChoice(data string) error {
	parts := strings.Split(data, ":")
	if len(parts) < 2 || !registrationCodeShape(parts[1]) {
		c.stale()
		return nil
	}
	action, code := parts[0], parts[1]
	if c.casesOff() {
		return nil
	}
	if action == "reply" {
		return c.startAnswer(code)
	}
	k, err := c.e.cfg.Cases.CaseByCode(c.ctx, code)
	if campaign.ErrorCode(err) == campaign.ENOTFOUND {
		c.stale()
		return nil
	}
	if err != nil {
		return err
	}
	who, ok, err := c.authorize(campaign.ActionVerify, k.WardCode)
	if !ok {
		return err
	}
	// A decision goes to the store even when the registration is no longer pending: the same
	// update run again (its key) returns the first decision, anything else is a conflict. The
	// other buttons only make sense on a pending registration.
	messageOnly := k.MessageWaiting() && (action == "seen" || action == "skip")
	if k.Status != campaign.StatusSubmitted && action != "ok" && action != "rj" && action != "back" && !messageOnly {
		c.notice = c.t("verify.already_decided_notice")
		c.say(c.t("verify.already_decided", "Code", code, "Status", c.t(caseStatusLabels[k.Status])))
		return nil
	}
	switch action {
	case "ok":
		return c.decide(who, campaign.Decision{Code: code, Verdict: campaign.VerdictApprove, Key: c.updateKey()})
	case "no":
		c.askRejectReason(code)
		return nil
	case "rj":
		if len(parts) != 3 || !slices.Contains(campaign.RejectReasons, campaign.RejectReason(parts[2])) {
			break
		}
		r := campaign.RejectReason(parts[2])
		if r == campaign.RejectOther {
			if c.formBusy() {
				return nil
			}
			c.enterCase(stepVerifyReason, map[string]string{answerCaseCode: code})
			c.st.IdempotencyKey = c.e.cfg.NewKey()
			c.askRejectText("")
			return nil
		}
		return c.decide(who, campaign.Decision{Code: code, Verdict: campaign.VerdictReject, Reason: r, Key: c.updateKey()})
	case "ask":
		if c.formBusy() {
			return nil
		}
		c.enterCase(stepVerifyQuestion, map[string]string{answerCaseCode: code})
		c.st.IdempotencyKey = c.e.cfg.NewKey()
		c.askQuestion("")
		return nil
	case "skip":
		skip := splitList(c.st.Answers[answerVerifySkip])
		if !slices.Contains(skip, code) {
			skip = append(skip, code)
		}
		if len(skip) > verifySkipMax {
			skip = skip[len(skip)-verifySkipMax:]
		}
		c.st.Answers[answerVerifySkip] = strings.Join(skip, ",")
		c.notice = c.t("verify.skipped_notice")
		return c.nextCase(who, "")
	case "back":
		if c.inCaseFlow() {
			c.toIdle()
		}
		return c.showCase(who, k, "", false)
	case "seen":
		if c.e.cfg.Messages == nil {
			break
		}
		if err := c.e.cfg.Messages.MessageHandled(c.ctx, code, who); err != nil {
			return err
		}
		c.notice = c.t("verify.handled_notice")
		return c.nextCase(who, c.t("verify.handled", "Code", code))
	}
	c.stale()
	return nil
}

// askRejectReason offers the reasons of a refusal as buttons.
func (c verifyTurn) askRejectReason(code string) {
	var rows [][]Button
	for _, r := range campaign.RejectReasons {
		rows = append(rows, []Button{{Text: c.t(rejectLabels[r]), Data: verifyData("rj", code, string(r))}})
	}
	rows = append(rows, []Button{{Text: c.t("verify.btn_back"), Data: verifyData("back", code)}})
	c.out = append(c.out, Output{Text: c.t("verify.reject.prompt", "Code", code), Buttons: rows})
}

// askRejectText asks for the reason of a refusal "for another reason".
func (c verifyTurn) askRejectText(reason string) {
	code := c.st.Answers[answerCaseCode]
	c.out = append(c.out, Output{
		Text:    paragraphs(reason, c.t("verify.reject.other_prompt", "Code", code, "Max", reasonMax)),
		Buttons: [][]Button{{{Text: c.t("verify.btn_back"), Data: verifyData("back", code)}}},
	})
}

// askQuestion asks for the question to send the parent.
func (c verifyTurn) askQuestion(reason string) {
	code := c.st.Answers[answerCaseCode]
	c.out = append(c.out, Output{
		Text:    paragraphs(reason, c.t("verify.ask.prompt", "Code", code, "Max", questionMax)),
		Buttons: [][]Button{{{Text: c.t("verify.btn_back"), Data: verifyData("back", code)}}},
	})
}

// typedText reads the text typed at a case step, or re-asks with the reason; ok is false then.
func (c verifyTurn) typedText(minLen, maxLen int, ask func(*turn, string)) (string, bool) {
	if c.in.Kind != KindText {
		ask(c.turn, c.t("common.need_text"))
		return "", false
	}
	s, err := parseFreeText(c.in.Text, minLen, maxLen)
	if err != nil {
		ask(c.turn, c.reason(err))
		return "", false
	}
	return s, true
}

// rejectTextInput takes the typed reason of a refusal.
func (c verifyTurn) rejectTextInput() error {
	text, ok := c.typedText(reasonMin, reasonMax, do1(verifyTurn.askRejectText))
	if !ok {
		return nil
	}
	return c.decideTyped(campaign.Decision{Verdict: campaign.VerdictReject, Reason: campaign.RejectOther, Text: text})
}

// questionInput takes the typed question for the parent.
func (c verifyTurn) questionInput() error {
	text, ok := c.typedText(questionMin, questionMax, do1(verifyTurn.askQuestion))
	if !ok {
		return nil
	}
	return c.decideTyped(campaign.Decision{Verdict: campaign.VerdictAskInfo, Text: text})
}

// decideTyped completes a decision typed at a case step: it checks the sender may still decide
// on the registration, then decides with the step's key.
func (c verifyTurn) decideTyped(d campaign.Decision) error {
	d.Code = c.st.Answers[answerCaseCode]
	d.Key = c.st.IdempotencyKey
	k, err := c.e.cfg.Cases.CaseByCode(c.ctx, d.Code)
	if err != nil {
		if campaign.ErrorCode(err) == campaign.ENOTFOUND {
			c.toIdle()
			c.say(c.t("verify.not_found", "Code", d.Code))
			return nil
		}
		return err
	}
	who, ok, err := c.authorize(campaign.ActionVerify, k.WardCode)
	if !ok {
		return err
	}
	return c.decide(who, d)
}

// decide applies a decision, tells the parent in their language and shows the next case.
func (c verifyTurn) decide(who campaign.Staff, d campaign.Decision) error {
	reg, err := c.e.cfg.Cases.Decide(c.ctx, d, who, func(reg campaign.Registration) []campaign.OutboxMessage {
		return c.decisionNotice(d, reg)
	})
	switch campaign.ErrorCode(err) {
	case "":
	case campaign.ECONFLICT:
		if c.inCaseFlow() {
			c.toIdle()
		}
		c.say(c.t("verify.conflict", "Code", d.Code))
		return c.nextCase(who, "")
	case campaign.EINVALID:
		// The store refused what the bot let through: say so and ask again; nothing is lost.
		c.caseAsk(c.t("err.invalid"))
		return nil
	default:
		return err
	}
	c.noticesQueued()
	if c.inCaseFlow() {
		c.toIdle()
	}
	told := c.toldText(reg, who)
	var done string
	switch d.Verdict {
	case campaign.VerdictApprove:
		done = c.t("verify.done.approved", "Code", reg.Code, "Told", told)
	case campaign.VerdictReject:
		done = c.t("verify.done.rejected", "Code", reg.Code, "Reason", c.rejectText(reg), "Told", told)
	case campaign.VerdictAskInfo:
		done = c.t("verify.done.asked", "Code", reg.Code)
		if reg.ChatID == "" {
			done = c.t("verify.done.asked_unclaimed", "Code", reg.Code, "Told", told)
		}
	}
	return c.nextCase(who, done)
}

// toldText says to who, who decided on reg, who was told of the decision (decisionNotice): the
// parent; while no family has claimed it, the staff member who registered it (named, or "you"),
// or those standing in for them; or nobody, and then how to reach the family (its phone as who
// may see it, else through the school).
func (c verifyTurn) toldText(reg campaign.Registration, who campaign.Staff) string {
	r := c.e.reachOf(campaign.Session{Channel: reg.Channel, ChatID: reg.ChatID}, reg.Registrar)
	me := domainSession(c.sess)
	switch {
	case r.family:
		return c.t("verify.told.family")
	case r.registrar:
		name := c.t("verify.told.you")
		if reg.Registrar.Session != me {
			name = c.registrarName(reg.Registrar.Name, reg.Registrar.Role, reg.Registrar.Session)
		}
		return c.t("verify.told.registrar", "Who", name)
	case len(r.standIns) > 0:
		name := c.t("verify.told.you")
		if len(r.standIns) > 1 || r.standIns[0].Channel != me.Channel || r.standIns[0].ChatID != me.ChatID {
			id := "verify.told.ward_staff"
			switch r.standInRole {
			case campaign.RoleSchool:
				id = "verify.told.school_staff"
			case campaign.RoleEducationOffice:
				id = "verify.told.office_staff"
			}
			name = c.t(id, "Count", len(r.standIns))
		}
		return c.t("verify.told.stand_ins", "Who", name)
	}
	phone := ""
	if reg.ParentPhone != "" && campaign.SeesPhones(who.Role) {
		phone = phoneDisplay(reg.ParentPhone)
	}
	return c.t("verify.told.nobody", "Phone", phone)
}

// registrarName names the staff member who registered a family for other staff: "name (role)",
// the role alone when the staff table has no name, an administrator as such, or "the staff member
// who registered the family".
func (c verifyTurn) registrarName(name string, role campaign.Role, s campaign.Session) string {
	label := ""
	if ids, ok := roleLabels[role]; ok {
		label = c.t(ids[0])
	} else if c.e.isAdminAccount(s.Channel, s.ChatID) {
		label = c.t("staff.role.admin")
	}
	name = clip(name, staffNameMax)
	switch {
	case name != "" && label != "":
		return name + " (" + label + ")"
	case name != "":
		return name
	case label != "":
		return label
	}
	return c.t("verify.told.registrar_unnamed")
}

// decisionNotice is what tells the parent of reg, in their language, of the decision d: approved,
// refused with the reason, or the officials' question with a button to answer it. A registration
// no family has claimed tells the staff member who registered it instead, or those standing in
// for one who left (familyNotice); a question then asks them to help the family answer.
func (c verifyTurn) decisionNotice(d campaign.Decision, reg campaign.Registration) []campaign.OutboxMessage {
	hint := ""
	switch d.Verdict {
	case campaign.VerdictApprove, campaign.VerdictReject:
	case campaign.VerdictAskInfo:
		hint = "claim.staff.hint_question"
	default:
		return nil
	}
	build := func(lang string) Output {
		var o Output
		switch d.Verdict {
		case campaign.VerdictApprove:
			o.Text = c.e.text(lang, "verify.parent.approved", map[string]any{"Code": reg.Code})
		case campaign.VerdictReject:
			o.Text = paragraphs(c.e.text(lang, "verify.parent.rejected", map[string]any{"Code": reg.Code, "Reason": c.rejectTextIn(lang, reg)}),
				c.e.contactLines(lang, reg.WardCode))
		case campaign.VerdictAskInfo:
			o.Text = c.e.text(lang, "verify.parent.question", map[string]any{"Code": reg.Code, "Question": d.Text})
			o.Buttons = [][]Button{{{Text: c.e.text(lang, "verify.btn_reply", nil), Data: verifyData("reply", reg.Code)}}}
		}
		return o
	}
	return c.e.familyNotice(c.noticeKey(d.Key, "decision:"+reg.Code), reg.Code, campaign.Session{Channel: reg.Channel, ChatID: reg.ChatID},
		reg.Language, reg.Registrar, hint, build)
}

// rejectText is the reason of a refusal in the turn's language.
func (c verifyTurn) rejectText(r campaign.Registration) string { return c.rejectTextIn(c.lang, r) }

// rejectTextIn is the reason of a refusal in lang: the typed text for "other", else the reason's name.
func (c verifyTurn) rejectTextIn(lang string, r campaign.Registration) string {
	if r.RejectCode == campaign.RejectOther || r.RejectCode == "" {
		if r.RejectReason != "" {
			return clip(r.RejectReason, 150)
		}
	}
	if id, ok := rejectLabels[r.RejectCode]; ok {
		return withoutSymbols(c.e.text(lang, id, nil))
	}
	return c.e.text(lang, "verify.reject.unknown", nil)
}

// startAnswer is the parent's "Trả lời" under a question from officials: it asks for the answer.
func (c verifyTurn) startAnswer(code string) error {
	waiting, err := c.e.cfg.Cases.WaitingForInfo(c.ctx, domainSession(c.sess))
	if err != nil {
		return err
	}
	if !slices.Contains(waiting, code) {
		c.notice = c.t("common.stale")
		c.say(c.t("verify.answer.not_waiting", "Code", code))
		c.resume("")
		return nil
	}
	if c.form() != nil {
		// The registration form in progress stays; the answer can wait until it is sent.
		c.say(c.t("verify.answer.finish_form", "Code", code))
		c.resume("")
		return nil
	}
	c.enterCase(stepVerifyAnswer, map[string]string{answerCaseCode: code})
	c.st.IdempotencyKey = c.e.cfg.NewKey()
	c.askAnswer("")
	return nil
}

// askAnswer asks the parent for the answer to officials' question.
func (c verifyTurn) askAnswer(reason string) {
	c.say(paragraphs(reason, c.t("verify.answer.prompt", "Code", c.st.Answers[answerCaseCode], "Max", answerMax)))
}

// answerInput takes the parent's answer (words, or a photo with or without a caption) after
// "Trả lời" and sends it to the official who asked.
func (c verifyTurn) answerInput() error {
	a, ok := c.answerMessage(do1(verifyTurn.askAnswer))
	if !ok {
		return nil
	}
	return c.answerWith(c.st.Answers[answerCaseCode], a, c.st.IdempotencyKey)
}

// askMore asks for more of an answer given, after a message that cannot be one (a sticker, say).
func (c verifyTurn) askMore(reason string) {
	c.say(paragraphs(reason, c.t("verify.answer.more_prompt", "Code", c.st.Answers[answerCaseCode])))
}

// moreInput takes one more message of the answer just given (the photo asked for, a second line).
// Once officials have decided or asked again it is no longer part of that answer: it is handled
// as a message out of any flow (the answer to a new question, or the welcome).
func (c verifyTurn) moreInput() error {
	a, ok := c.answerMessage(do1(verifyTurn.askMore))
	if !ok {
		return nil
	}
	code := c.st.Answers[answerCaseCode]
	_, err := c.answerStore(code, a, c.updateKey())
	if campaign.ErrorCode(err) == campaign.ENOTFOUND {
		c.toIdle()
		return c.idleMessage()
	}
	if err != nil {
		return err
	}
	c.say(c.t("verify.answer.more_sent", "Code", code))
	return nil
}

// answerUnprompted takes a parent's message out of any flow as the answer to officials' open
// question on one of their registrations (the oldest), without "Trả lời" being pressed first:
// whatever the parent sends next is the answer. handled is false when no question is open (or
// the message is neither words nor a photo).
func (c verifyTurn) answerUnprompted() (handled bool, err error) {
	if c.e.cfg.Cases == nil || (c.in.Kind != KindText && !(c.in.Kind == KindOther && c.in.PhotoID != "")) {
		return false, nil
	}
	waiting, err := c.e.cfg.Cases.WaitingForInfo(c.ctx, domainSession(c.sess))
	if err != nil || len(waiting) == 0 {
		return false, err
	}
	c.st.Answers[answerCaseCode] = waiting[0]
	a, ok := c.answerMessage(do1(verifyTurn.askAnswer))
	if !ok {
		delete(c.st.Answers, answerCaseCode)
		return true, nil
	}
	return true, c.answerWith(waiting[0], a, c.updateKey())
}

// answerMessage reads the input as a message of an answer: a photo (its caption as words) or
// typed words; ask asks again, with the reason, when it is neither.
func (c verifyTurn) answerMessage(ask func(*turn, string)) (campaign.Answer, bool) {
	if c.in.Kind == KindOther && c.in.PhotoID != "" {
		a := campaign.Answer{PhotoID: c.in.PhotoID, PhotoChannel: c.sess.Channel}
		if strings.TrimSpace(c.in.Text) != "" {
			text, err := parseFreeText(c.in.Text, 1, answerMax)
			if err != nil {
				ask(c.turn, c.reason(err))
				return campaign.Answer{}, false
			}
			a.Text = text
		}
		return a, true
	}
	text, ok := c.typedText(answerMin, answerMax, ask)
	return campaign.Answer{Text: text}, ok
}

// answerWith stores the first message of the parent's answer on code and sends it on; the parent
// then stays at "v.more", so what they send next is added to the answer until they start
// something else.
func (c verifyTurn) answerWith(code string, a campaign.Answer, key string) error {
	reg, err := c.answerStore(code, a, key)
	if campaign.ErrorCode(err) == campaign.ENOTFOUND {
		c.toIdle()
		c.say(c.t("verify.answer.not_waiting", "Code", code))
		return nil
	}
	if err != nil {
		return err
	}
	c.enterCase(stepVerifyMore, map[string]string{answerCaseCode: reg.Code})
	c.say(c.t("verify.answer.thanks", "Code", reg.Code))
	return nil
}

// answerStore stores a message of the answer with its notice to the official who asked.
func (c verifyTurn) answerStore(code string, a campaign.Answer, key string) (campaign.Registration, error) {
	reg, _, err := c.e.cfg.Cases.AnswerInfo(c.ctx, code, domainSession(c.sess), a, key,
		func(ia campaign.InfoAnswer) []campaign.OutboxMessage { return c.answerNotice(ia, key) })
	if err == nil {
		c.noticesQueued()
	}
	return reg, err
}

// answerNotice is what brings a message of the parent's answer to whoever holds the case's scope
// now: the official who asked while they may still verify the registration's ward (read with the
// answer: not revoked, not moved to another ward; an administrator while the configuration names
// them), else the ward's verification queue (its verifying staff, in their language; the case is
// back in /verify anyway). The words, or the photo with its caption.
func (c verifyTurn) answerNotice(a campaign.InfoAnswer, key string) []campaign.OutboxMessage {
	code := a.Registration.Code
	textID := "verify.answer.to_official"
	switch {
	case a.Answer.PhotoID != "":
		textID = "verify.answer.photo_to_official"
	case a.More:
		textID = "verify.answer.more_to_official"
	}
	asker := a.Asker
	channel, id, _ := strings.Cut(a.AskedBy, ":")
	if c.e.isAdminAccount(channel, id) {
		asker = campaign.Staff{Channel: channel, ExternalID: id, Role: campaign.RoleAdmin}
	}
	// Staff talk to the bot in private chats, where the chat id is the account id.
	to := []campaign.Recipient{{Channel: channel, ChatID: id, Language: langVI}}
	subject := "answer:" + code
	if campaign.Authorize(asker, campaign.ActionVerify, a.Registration.WardCode) != nil {
		to = a.Verifiers
	}
	var msgs []campaign.OutboxMessage
	for _, r := range to {
		lang := langOf(r.Language)
		o := Output{
			Text:    c.e.text(lang, textID, map[string]any{"Code": code, "Answer": a.Answer.Text}),
			Buttons: [][]Button{{{Text: c.e.text(lang, "verify.btn_open", nil), Data: verifyData("back", code)}}},
		}
		k := subject
		if r.Channel != channel || r.ChatID != id {
			k += ":" + r.Channel + ":" + r.ChatID
		}
		for _, m := range notice(c.noticeKey(key, k), campaign.Session{Channel: r.Channel, ChatID: r.ChatID}, o) {
			m.PhotoID, m.PhotoChannel = a.Answer.PhotoID, a.Answer.PhotoChannel
			msgs = append(msgs, m)
		}
	}
	return msgs
}

// domainSession converts a flows session to the domain's.
func domainSession(s Session) campaign.Session {
	return campaign.Session{Channel: s.Channel, ChatID: s.ChatID}
}

// circumstancesText lists a registration's circumstances, with the text of "other".
func (c verifyTurn) circumstancesText(r campaign.Registration) string {
	var names []string
	for _, k := range r.Circumstances {
		name := withoutSymbols(c.t(circumstanceLabels[k]))
		if k == campaign.CircumstanceOther && r.CircumstanceOther != "" {
			name += ": " + clip(r.CircumstanceOther, 200)
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		return c.t("verify.case.no_circumstances") // "none of these": registered all the same
	}
	return strings.Join(names, "; ")
}

// scoreText explains a priority score in the turn's language: "Mồ côi cha hoặc mẹ do Covid-19 +50; Hộ nghèo +30".
func (c verifyTurn) scoreText(s campaign.Score) string {
	if len(s.Reasons) == 0 {
		return c.t("verify.case.no_points")
	}
	return s.Explain(c.lang, func(key string) string {
		var id string
		r := campaign.Reason{Key: key}
		if k, ok := r.Circumstance(); ok {
			id = circumstanceLabels[k]
		} else if sit, ok := r.Situation(); ok {
			id = situationLabels[sit]
		}
		if id == "" {
			return ""
		}
		return withoutSymbols(c.t(id))
	})
}

// joinEnum joins enumeration values with commas, as answers keep them.
func joinEnum[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ",")
}

// splitList splits a comma-separated answer, "" giving none.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// langOf is a stored language, Vietnamese when unknown.
func langOf(lang string) string {
	if lang == langEN {
		return langEN
	}
	return langVI
}

// registrationCodeShape reports whether s looks like a registration code in button data.
func registrationCodeShape(s string) bool {
	if len(s) < 3 || len(s) > 24 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// parseRegistrationCode reads a registration code as typed: "TD-000123", "td-123", "TD 123",
// "td123", with the campaign's prefix.
func parseRegistrationCode(camp *campaign.Campaign, s string) (string, bool) {
	return parseCode(camp.RegistrationPrefix, s)
}

// parseCode reads "<prefix>-<number>" as typed (any case, "-", " " or nothing between, leading
// zeros optional) and writes it the way codes are stored: the prefix, "-", six digits at least.
func parseCode(prefix, s string) (string, bool) {
	if len(s) > 64 {
		return "", false
	}
	s = strings.ToUpper(cleanText(s))
	rest, ok := strings.CutPrefix(s, strings.ToUpper(prefix))
	if !ok {
		return "", false
	}
	rest = strings.TrimLeft(rest, "- ")
	if rest == "" || len(rest) > 9 {
		return "", false
	}
	n := 0
	for _, r := range rest {
		if r < '0' || r > '9' {
			return "", false
		}
		n = n*10 + int(r-'0')
	}
	if n == 0 {
		return "", false
	}
	return fmt.Sprintf("%s-%06d", strings.ToUpper(prefix), n), true
}
