package flows

import (
	"slices"
	"strings"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

func init() {
	registerFlow(flowSpec{
		name: "mydata",
		commands: []flowCommand{
			{name: "mydata", run: fn1(mydataTurn.mydataCommand), menu: "mydata.cmd", rank: 50},
			{name: "erase", run: fn1(mydataTurn.eraseCommand),
				staff: &staffLine{group: "staff.help.group.team", rank: 50, text: "staff.help.erase",
					may: staffMay(campaign.ActionErase, func(c Config) bool { return c.Eraser != nil && c.Family != nil })}},
		},
		buttons: []flowButton{{prefix: mydataPrefix, run: fn1(mydataTurn.mydataChoice)}},
		steps:   []stepOwner{{owner: "my", step: mydataStep}},
		words: []flowWords{{rank: 40, take: func(c *turn) (bool, error) {
			if !(mydataTurn{c}).wantsMydata() {
				return false, nil
			}
			return true, mydataTurn{c}.mydataCommand("")
		}}},
	})
}

// /mydata ("Dữ liệu của tôi"; also a message of just "xóa", "sửa", "hủy đăng ký", "delete"...):
// a family's way back to what it registered. It shows each registration made from the chat with
// everything kept about it, and the actions its status allows (campaign.FamilyStore says which):
// correct the address, the phone or the school (at once before verification, as a request the
// ward's officials see after), withdraw it (an allocated device goes back to the pool and whoever
// was handling its delivery is told, through the outbox), or delete it (campaign.Eraser: the
// family's personal data erased everywhere, the figures kept; one that still waits for officials
// or its device is withdrawn first, so the figures no longer count a child who left). Each asks
// once for confirmation and says what will and will not be kept. An administrator erases by code on a family's written
// request with /erase.
//
// Buttons: "md:list", "md:show:<code>", "md:fix:<field>:<code>", "md:wd:<code>", "md:del:<code>",
// then, at the step they belong to, "md:yes:<code>", "md:redo:<code>" and "md:no:<code>". Each
// carries its registration's code, so a button of another registration is never applied to the
// one in hand; the family's buttons act only on registrations of the chat.

// mydataPrefix starts the data of /mydata's buttons.
const mydataPrefix = "md"

// FlowCase steps of /mydata ("my."), and their answers.
const (
	myStepFix     = "my.fix"     // the family types the new address, phone or school
	myStepConfirm = "my.confirm" // the family confirms a correction, a withdrawal or a deletion
	myStepErase   = "my.erase"   // an administrator confirms an erasure on a written request
	myAnswerCode  = "my.code"
	// myAnswerField is the field being corrected, myAnswerValue its new value and myAnswerOld
	// the value kept now; myAnswerAction what is being confirmed; myAnswerStatus the status the
	// confirmation was shown for (a change meanwhile makes it show again); myAnswerName the
	// child's name the confirmation names; myAnswerReason the administrator's reference to the
	// family's written request, myAnswerWard the ward of the registration it erases.
	myAnswerField  = "my.field"
	myAnswerValue  = "my.value"
	myAnswerOld    = "my.old"
	myAnswerAction = "my.action"
	myAnswerStatus = "my.status"
	myAnswerName   = "my.name"
	myAnswerReason = "my.reason"
	myAnswerWard   = "my.ward"
)

// Actions confirmed at myStepConfirm, and the button actions.
const (
	myFix      = "fix"
	myWithdraw = "wd"
	myDelete   = "del"
	myYes      = "yes"
	myNo       = "no"
	myRedo     = "redo"
	myShow     = "show"
	myList     = "list"
)

// Lengths of the administrator's reference to a family's written request.
const (
	eraseReasonMin = 3
	eraseReasonMax = 300
)

// auditEraseRequest is the audit action that keeps an administrator's reference to the written
// request an erasure answered (its tombstone keeps only the reason's code).
const auditEraseRequest = "registration.erase_request"

// Message ids by correction field: the field's name in a sentence, its button, its prompt.
var fixLabels = map[campaign.CorrectionField][3]string{
	campaign.CorrectAddress: {"mydata.field.address", "mydata.btn_fix_address", "mydata.fix.prompt_address"},
	campaign.CorrectPhone:   {"mydata.field.phone", "mydata.btn_fix_phone", "mydata.fix.prompt_phone"},
	campaign.CorrectSchool:  {"mydata.field.school", "mydata.btn_fix_school", "mydata.fix.prompt_school"},
}

// mydataStep returns FlowCase's /mydata steps.
func mydataStep(step string) (caseStep, bool) {
	switch step {
	case myStepFix:
		return caseStep{ask: do1(mydataTurn.myAskFix), input: fn0(mydataTurn.myFixInput), parent: true, help: "mydata.help_fix"}, true
	case myStepConfirm:
		return caseStep{ask: do1(mydataTurn.myAskConfirm), input: fn0(mydataTurn.myConfirmInput), parent: true, help: "mydata.help_confirm"}, true
	case myStepErase:
		return caseStep{ask: do1(mydataTurn.myAskErase), input: fn0(mydataTurn.myConfirmInput), help: "mydata.help_confirm"}, true
	}
	return caseStep{}, false
}

func mydataData(parts ...string) string { return mydataPrefix + ":" + strings.Join(parts, ":") }

// mydataTurn is a turn of /mydata and /erase; its methods are the flow's own (see flowTurn).
type mydataTurn struct{ *turn }

// inMydata reports whether the chat is at a step of /mydata.
func (c mydataTurn) inMydata() bool { return c.inCaseFlow() && strings.HasPrefix(c.st.Step, "my.") }

// wantsMydata reports whether a message out of any flow is nothing but words that ask for one's
// data ("xóa", "hủy đăng ký", "sửa thông tin", "delete my data"), in either language.
func (c mydataTurn) wantsMydata() bool {
	if c.in.Kind != KindText {
		return false
	}
	_, ok := c.matchOption([]option{{value: "mydata", label: "mydata.menu", words: "mydata.words"}}, c.in.Text)
	return ok
}

// mydataCommand is /mydata [code]: the registrations made from the chat, or the one named, with
// what is kept about them. A correction or a confirmation in hand is dropped (nothing was
// changed yet); a form in progress is asked again after.
func (c mydataTurn) mydataCommand(args string) error {
	if c.inMydata() {
		c.toIdle()
	}
	regs, err := c.e.cfg.Registrations.RegistrationsByChat(c.ctx, c.sess.Channel, c.sess.ChatID)
	if err != nil {
		return err
	}
	if args != "" {
		code, ok := parseRegistrationCode(c.e.cfg.Campaign, args)
		if !ok {
			c.say(c.t("mydata.bad_code", "Query", clip(args, 30)))
			c.resume("")
			return nil
		}
		i := slices.IndexFunc(regs, func(r campaign.Registration) bool { return r.Code == code })
		if i < 0 {
			c.say(paragraphs(c.t("mydata.unknown_code", "Code", code), c.contactLines(c.familyWard())))
			c.resume("")
			return nil
		}
		c.myShow(regs[i], "", len(regs) > 1)
		c.resume("")
		return nil
	}
	switch len(regs) {
	case 0:
		c.out = append(c.out, Output{Text: paragraphs(c.t("mydata.none"), c.contactLines("")), Buttons: claimTurn(c).claimButton()})
	case 1:
		c.myShow(regs[0], "", false)
	default:
		c.myList(regs, "")
	}
	c.resume("")
	return nil
}

// myList lists the chat's registrations, newest first, each a button that shows it.
func (c mydataTurn) myList(regs []campaign.Registration, lead string) {
	lines := []string{c.t("mydata.list", "Count", len(regs))}
	var rows [][]Button
	for i, r := range regs {
		if i == statusShown {
			lines = append(lines, c.t("mydata.list_more", "Count", len(regs)-statusShown))
			break
		}
		lines = append(lines, c.t("status.line", "Code", r.Code, "Name", clip(r.StudentName, 100), "Status", statusTurn(c).statusText(r)))
		rows = append(rows, []Button{{Text: c.t("mydata.btn_pick", "Code", r.Code, "Name", clip(r.StudentName, 30)),
			Data: mydataData(myShow, r.Code)}})
	}
	lines = append(lines, "", c.t("mydata.list_pick"))
	c.out = append(c.out, Output{Text: paragraphs(lead, strings.Join(lines, "\n")), Buttons: rows})
}

// myShow shows one registration: everything kept about it, what its status allows, whom to
// reach, and a button for each action allowed.
func (c mydataTurn) myShow(r campaign.Registration, lead string, others bool) {
	camp := c.e.cfg.Campaign
	lines := []string{
		c.t("mydata.show.title", "Code", r.Code, "Status", statusTurn(c).statusText(r)),
		c.t("mydata.show.kept"),
		c.t("mydata.show.parent", "Name", r.ParentName, "Phone", phoneDisplay(r.ParentPhone)),
		c.t("mydata.show.student", "Name", r.StudentName, "Birth", r.BirthDate.Format("02/01/2006")),
		c.t("mydata.show.school", "Grade", c.e.allocLevelGrade(c.lang, r.Level, r.Grade), "School", r.School),
		c.t("mydata.show.address", "Address", r.Address, "Ward", c.wardName(r.WardCode)),
		c.t("mydata.show.circumstances", "List", orDash(verifyTurn(c).circumstancesText(r))),
		c.t("mydata.show.situation", "Situation", c.t(situationLabels[r.DeviceSituation])),
		c.t("mydata.show.needs", "List", regTurn(c).listLabels(joinEnum(r.Needs), func(s string) string { return needLabels[campaign.Need(s)] })),
		c.t("mydata.show.since", "Date", r.CreatedAt.In(camp.Location).Format("02/01/2006"), "Until", c.keptUntil()),
	}
	var can string
	switch {
	case r.Status.CorrectedDirectly():
		can = c.t("mydata.can.before")
	case r.Status == campaign.StatusAllocated:
		can = c.t("mydata.can.allocated")
	case r.Status.Correctable():
		can = c.t("mydata.can.after")
	case r.Status == campaign.StatusDelivered:
		can = c.t("mydata.can.delivered")
	case r.Status == campaign.StatusRejected:
		can = c.t("mydata.can.rejected")
	default:
		can = c.t("mydata.can.withdrawn")
	}
	var rows [][]Button
	if c.e.cfg.Family != nil && r.Status.Correctable() {
		var fix []Button
		for _, f := range campaign.CorrectionFields {
			fix = append(fix, Button{Text: c.t(fixLabels[f][1]), Data: mydataData(myFix, string(f), r.Code)})
		}
		rows = append(rows, fix)
	}
	var last []Button
	if c.e.cfg.Family != nil && r.Status.Withdrawable() {
		last = append(last, Button{Text: c.t("mydata.btn_withdraw"), Data: mydataData(myWithdraw, r.Code)})
	}
	if c.e.cfg.Eraser != nil {
		last = append(last, Button{Text: c.t("mydata.btn_delete"), Data: mydataData(myDelete, r.Code)})
	}
	if len(last) > 0 {
		rows = append(rows, last)
	}
	if others {
		rows = append(rows, []Button{{Text: c.t("mydata.menu"), Data: mydataData(myList)}})
	}
	c.out = append(c.out, Output{
		Text:    paragraphs(lead, strings.Join(lines, "\n"), can, c.contactLines(r.WardCode)),
		Buttons: rows,
	})
}

// keptUntil is the last day personal data is kept, in the campaign's time zone.
func (c mydataTurn) keptUntil() string {
	camp := c.e.cfg.Campaign
	return camp.RetentionEnd().Add(-time.Nanosecond).In(camp.Location).Format("02/01/2006")
}

// myRegistration finds the chat's registration code; ok is false when the chat has none such
// (another chat's, erased, or unknown).
func (c mydataTurn) myRegistration(code string) (campaign.Registration, []campaign.Registration, bool, error) {
	regs, err := c.e.cfg.Registrations.RegistrationsByChat(c.ctx, c.sess.Channel, c.sess.ChatID)
	if err != nil {
		return campaign.Registration{}, nil, false, err
	}
	for _, r := range regs {
		if r.Code == code {
			return r, regs, true, nil
		}
	}
	return campaign.Registration{}, regs, false, nil
}

// mydataChoice runs a /mydata button; rest is what follows "md:".
func (c mydataTurn) mydataChoice(rest string) error {
	parts := strings.Split(rest, ":")
	action := parts[0]
	if action == myList {
		return c.mydataCommand("")
	}
	code := parts[len(parts)-1]
	if len(parts) < 2 || !registrationCodeShape(code) {
		c.stale()
		return nil
	}
	switch action {
	case myYes, myRedo:
		return c.myAnswer(action, code)
	case myNo:
		label := "mydata.btn_no"
		if c.st.Step == myStepFix {
			label = "common.btn_keep"
		}
		if c.inMydata() && c.st.Answers[myAnswerCode] == code {
			c.toIdle()
		}
		c.notice = c.t("common.chosen", "Label", withoutSymbols(c.t(label)))
		c.say(c.t("mydata.cancelled", "Code", code))
		c.resume("")
		return nil
	}
	if c.st.Step == myStepErase {
		c.toIdle() // the family's buttons are not the administrator's confirmation
	}
	r, regs, ok, err := c.myRegistration(code)
	if err != nil {
		return err
	}
	if !ok {
		c.notice = c.t("common.stale")
		c.say(paragraphs(c.t("mydata.gone", "Code", code), c.contactLines("")))
		c.resume("")
		return nil
	}
	switch {
	case action == myShow && len(parts) == 2:
		if c.inMydata() {
			c.toIdle()
		}
		c.myShow(r, "", len(regs) > 1)
		c.resume("")
		return nil
	case action == myFix && len(parts) == 3:
		f := campaign.CorrectionField(parts[1])
		if _, known := fixLabels[f]; !known || c.e.cfg.Family == nil {
			break
		}
		if !r.Status.Correctable() {
			return c.myChanged(r, regs)
		}
		if c.myFormBusy() {
			return nil
		}
		c.notice = c.t("common.chosen", "Label", withoutSymbols(c.t(fixLabels[f][1])))
		c.enterCase(myStepFix, map[string]string{myAnswerCode: code, myAnswerField: string(f),
			myAnswerStatus: string(r.Status), myAnswerOld: myValue(r, f)})
		c.st.IdempotencyKey = c.e.cfg.NewKey()
		c.myAskFix("")
		return nil
	case (action == myWithdraw || action == myDelete) && len(parts) == 2:
		if (action == myWithdraw && c.e.cfg.Family == nil) || (action == myDelete && c.e.cfg.Eraser == nil) {
			break
		}
		if action == myWithdraw && !r.Status.Withdrawable() {
			return c.myChanged(r, regs)
		}
		if c.myFormBusy() {
			return nil
		}
		label := "mydata.btn_withdraw"
		if action == myDelete {
			label = "mydata.btn_delete"
		}
		c.notice = c.t("common.chosen", "Label", withoutSymbols(c.t(label)))
		c.enterCase(myStepConfirm, map[string]string{myAnswerCode: code, myAnswerAction: action,
			myAnswerStatus: string(r.Status), myAnswerName: clip(r.StudentName, nameMax)})
		c.st.IdempotencyKey = c.e.cfg.NewKey()
		c.myAskConfirm("")
		return nil
	}
	c.stale()
	return nil
}

// myFormBusy keeps a registration form in progress: the family finishes or cancels it first.
func (c mydataTurn) myFormBusy() bool {
	if c.form() == nil {
		return false
	}
	c.say(c.t("mydata.finish_form"))
	c.resume("")
	return true
}

// myChanged says the registration moved on since its buttons were shown, and shows it as it is.
func (c mydataTurn) myChanged(r campaign.Registration, regs []campaign.Registration) error {
	if c.inMydata() {
		c.toIdle()
	}
	c.notice = c.t("common.stale")
	c.myShow(r, c.t("mydata.changed", "Code", r.Code, "Status", statusTurn(c).statusText(r)), len(regs) > 1)
	c.resume("")
	return nil
}

// myValue is the value a registration keeps for a correctable field, as the family reads it.
func myValue(r campaign.Registration, f campaign.CorrectionField) string {
	switch f {
	case campaign.CorrectAddress:
		return r.Address
	case campaign.CorrectPhone:
		return phoneDisplay(r.ParentPhone)
	}
	return r.School
}

// myField is the field being corrected.
func (c mydataTurn) myField() campaign.CorrectionField {
	return campaign.CorrectionField(c.st.Answers[myAnswerField])
}

// myAskFix asks for the new value of the field being corrected.
func (c mydataTurn) myAskFix(reason string) {
	a := c.st.Answers
	f := c.myField()
	c.out = append(c.out, Output{
		Text:    paragraphs(reason, c.t(fixLabels[f][2], "Code", a[myAnswerCode], "Current", orDash(a[myAnswerOld]))),
		Buttons: [][]Button{{{Text: c.t("common.btn_keep"), Data: mydataData(myNo, a[myAnswerCode])}}},
	})
}

// myFixInput takes the new value: typed (or, for the phone, the family's own contact shared).
func (c mydataTurn) myFixInput() error {
	f := c.myField()
	var value string
	var err error
	switch {
	case f == campaign.CorrectPhone && c.in.Kind == KindContact && c.in.Contact != nil:
		if c.in.Contact.UserID != "" && c.in.Contact.UserID != c.in.UserID {
			c.myAskFix(c.t("mydata.fix.phone_not_own"))
			return nil
		}
		value, err = parsePhone(c.in.Contact.Phone)
	case c.in.Kind != KindText:
		c.myAskFix(c.t("common.need_text"))
		return nil
	case f == campaign.CorrectPhone:
		value, err = parsePhone(c.in.Text)
	case f == campaign.CorrectAddress:
		value, err = parseFreeText(c.in.Text, addressMin, addressMax)
	default:
		value, err = parseFreeText(c.in.Text, schoolMin, schoolMax)
	}
	if err != nil {
		c.myAskFix(c.reason(err))
		return nil
	}
	shown := value
	if f == campaign.CorrectPhone {
		shown = phoneDisplay(value)
	}
	if campaign.Fold(shown) == campaign.Fold(c.st.Answers[myAnswerOld]) {
		code := c.st.Answers[myAnswerCode]
		c.toIdle()
		c.say(c.t("mydata.fix.same", "Code", code, "Field", c.t(fixLabels[f][0])))
		return nil
	}
	c.st.Step = myStepConfirm
	c.st.Answers[myAnswerAction] = myFix
	c.st.Answers[myAnswerValue] = value
	c.myAskConfirm("")
	return nil
}

// myAskConfirm asks to confirm what is in hand: a correction (direct or a request), a withdrawal
// or a deletion, saying what will and will not be kept.
func (c mydataTurn) myAskConfirm(reason string) {
	a := c.st.Answers
	code, status := a[myAnswerCode], campaign.RegistrationStatus(a[myAnswerStatus])
	no := Button{Text: c.t("mydata.btn_no"), Data: mydataData(myNo, code)}
	var text string
	var rows [][]Button
	switch a[myAnswerAction] {
	case myFix:
		f := c.myField()
		id := "mydata.fix.confirm_request"
		if status.CorrectedDirectly() {
			id = "mydata.fix.confirm_direct"
		}
		text = c.t(id, "Code", code, "Field", c.t(fixLabels[f][0]), "Old", orDash(a[myAnswerOld]), "New", c.myNewValue())
		rows = [][]Button{
			{{Text: c.t("mydata.btn_confirm"), Data: mydataData(myYes, code)}, {Text: c.t("mydata.btn_redo"), Data: mydataData(myRedo, code)}},
			{no},
		}
	case myWithdraw:
		id := "mydata.withdraw.confirm"
		if status == campaign.StatusAllocated {
			id = "mydata.withdraw.confirm_allocated"
		}
		text = c.t(id, "Code", code, "Name", a[myAnswerName], "Until", c.keptUntil())
		rows = [][]Button{{{Text: c.t("mydata.btn_withdraw"), Data: mydataData(myYes, code)}, no}}
	default:
		text = c.myDeleteText(false, code, a[myAnswerName], status)
		rows = [][]Button{{{Text: c.t("mydata.btn_delete_yes"), Data: mydataData(myYes, code)}, no}}
	}
	c.out = append(c.out, Output{Text: paragraphs(reason, text), Buttons: rows})
}

// myDeleteText is the confirmation of an erasure of code (the child's name given to the family):
// what goes, what stays, and what happens first for a registration in status; the family is
// spoken to about "your child", an administrator about the family.
func (c mydataTurn) myDeleteText(admin bool, code, name string, status campaign.RegistrationStatus) string {
	var parts []string
	if admin {
		parts = append(parts, c.t("mydata.erase.confirm", "Code", code), c.t("mydata.erase.what"))
		switch {
		case status == campaign.StatusAllocated:
			parts = append(parts, c.t("mydata.erase.withdraw_allocated"))
		case status.Withdrawable():
			parts = append(parts, c.t("mydata.erase.withdraw_first"))
		case status == campaign.StatusDelivered:
			parts = append(parts, c.t("mydata.erase.delivery_kept"))
		}
		return paragraphs(append(parts, c.t("mydata.erase.final"))...)
	}
	parts = append(parts, c.t("mydata.delete.confirm", "Code", code, "Name", name), c.t("mydata.delete.what"))
	switch {
	case status == campaign.StatusAllocated:
		parts = append(parts, c.t("mydata.delete.withdraw_allocated"))
	case status.Withdrawable():
		parts = append(parts, c.t("mydata.delete.withdraw_first"))
	case status == campaign.StatusDelivered:
		parts = append(parts, c.t("mydata.delete.delivery_kept"))
	}
	return paragraphs(append(parts, c.t("mydata.delete.final"))...)
}

// withdrawnFirst reports whether a registration confirmed for a withdrawal or an erasure in
// status shown may be withdrawn now because this very confirmation withdrew it (run again after
// its save was lost, or an erasure cut short after its withdrawal): what the confirmation said
// still holds, and the store's key tells a repeat from someone else's change.
func withdrawnFirst(action string, shown, now campaign.RegistrationStatus) bool {
	return (action == myDelete || action == myWithdraw) && shown.Withdrawable() && now == campaign.StatusWithdrawn
}

// myNewValue is the new value being confirmed, as the family reads it.
func (c mydataTurn) myNewValue() string {
	v := c.st.Answers[myAnswerValue]
	if c.myField() == campaign.CorrectPhone {
		return phoneDisplay(v)
	}
	return v
}

// myConfirmInput reads a typed answer to a confirmation: "có" confirms, "không" cancels; anything
// else asks again, nothing lost.
func (c mydataTurn) myConfirmInput() error {
	code := c.st.Answers[myAnswerCode]
	if c.in.Kind == KindText {
		opts := []option{{value: myYes, label: "mydata.btn_confirm", words: "mydata.yes_words"},
			{value: myNo, label: "mydata.btn_no", words: "mydata.no_words"}}
		if o, ok := c.matchOption(opts, c.in.Text); ok {
			if o.value == myNo {
				c.toIdle()
				c.say(c.t("mydata.cancelled", "Code", code))
				return nil
			}
			return c.myAnswer(myYes, code)
		}
	}
	c.caseAsk(c.t("mydata.use_buttons"))
	return nil
}

// myAnswer runs "yes" or "redo" on the confirmation of code in hand; a button of another
// confirmation, or of one already answered, is stale.
func (c mydataTurn) myAnswer(action, code string) error {
	if !c.inMydata() || c.st.Step == myStepFix || c.st.Answers[myAnswerCode] != code {
		c.stale()
		return nil
	}
	if c.st.Step == myStepErase {
		if action != myYes {
			c.stale()
			return nil
		}
		return c.eraseConfirmed()
	}
	what := c.st.Answers[myAnswerAction]
	if action == myRedo {
		if what != myFix {
			c.stale()
			return nil
		}
		c.st.Step = myStepFix
		delete(c.st.Answers, myAnswerValue)
		delete(c.st.Answers, myAnswerAction)
		c.myAskFix("")
		return nil
	}
	r, regs, ok, err := c.myRegistration(code)
	if err != nil {
		return err
	}
	if !ok {
		if what == myDelete && c.e.cfg.Family != nil {
			// The same confirmation run again (its first run's save was lost): the code was this
			// chat's, and erasing it is what took it off the chat.
			if r, err := c.e.cfg.Family.RegistrationByCode(c.ctx, code); err == nil && r.Erased() {
				return c.myDeleted(code, r.WardCode, len(regs))
			}
		}
		c.toIdle()
		c.say(paragraphs(c.t("mydata.gone", "Code", code), c.contactLines("")))
		return nil
	}
	if shown := campaign.RegistrationStatus(c.st.Answers[myAnswerStatus]); r.Status != shown && !withdrawnFirst(what, shown, r.Status) {
		// What the confirmation said would happen may no longer be so: show it afresh.
		return c.myChanged(r, regs)
	}
	switch what {
	case myFix:
		return c.myCorrect(r, regs)
	case myWithdraw:
		return c.myWithdraw(r)
	}
	return c.myDelete(r, regs)
}

// myCorrect makes the confirmed correction: at once before verification, else a request to the
// ward's officials, who are told through the outbox.
func (c mydataTurn) myCorrect(r campaign.Registration, regs []campaign.Registration) error {
	f, key := c.myField(), c.formKey()
	corr := campaign.Correction{Field: f, Value: c.st.Answers[myAnswerValue]}
	corr.Request = c.e.text(langVI, "mydata.note.correction", map[string]any{
		"Field": c.e.text(langVI, fixLabels[f][0], nil), "Value": c.myNewValue()})
	done, err := c.e.cfg.Family.Correct(c.ctx, r.Code, domainSession(c.sess), corr, key,
		func(d campaign.Corrected) []campaign.OutboxMessage { return c.correctionNotices(d, key) })
	switch campaign.ErrorCode(err) {
	case "":
	case campaign.ENOTFOUND:
		c.toIdle()
		c.say(paragraphs(c.t("mydata.gone", "Code", r.Code), c.contactLines("")))
		return nil
	case campaign.ECONFLICT:
		return c.myChanged(r, regs)
	case campaign.EINVALID:
		// The store refused what the bot let through: the value is asked again, nothing lost.
		c.st.Step = myStepFix
		c.myAskFix(c.t("err.invalid"))
		return nil
	default:
		return err
	}
	c.toIdle()
	field := c.t(fixLabels[f][0])
	if done.Applied {
		c.say(c.t("mydata.fix.done", "Code", r.Code, "Field", field))
		return nil
	}
	c.noticesQueued()
	c.say(paragraphs(c.t("mydata.fix.requested", "Code", r.Code, "Field", field), c.contactLines(r.WardCode)))
	return nil
}

// correctionNotices tell the ward's officials of a family's correction request, in their
// language, with the button that opens the registration.
func (c mydataTurn) correctionNotices(d campaign.Corrected, key string) []campaign.OutboxMessage {
	if d.Applied {
		return nil
	}
	reg, f := d.Registration, d.Correction.Field
	value := d.Correction.Value
	if f == campaign.CorrectPhone {
		value = phoneDisplay(value)
	}
	var msgs []campaign.OutboxMessage
	for _, o := range d.Officials {
		lang := langOf(o.Language)
		out := Output{
			Text: c.e.text(lang, "mydata.notice.correction", map[string]any{"Code": reg.Code,
				"Ward": c.e.allocWardName(lang, reg.WardCode), "Field": c.e.text(lang, fixLabels[f][0], nil), "Value": value}),
			Buttons: [][]Button{{{Text: c.e.text(lang, "verify.btn_open", nil), Data: verifyData("back", reg.Code)}}},
		}
		msgs = append(msgs, notice(c.noticeKey(key, "correction:"+reg.Code+":"+o.Channel+":"+o.ChatID),
			campaign.Session{Channel: o.Channel, ChatID: o.ChatID}, out)...)
	}
	return msgs
}

// myWithdraw withdraws the registration after the family confirmed it.
func (c mydataTurn) myWithdraw(r campaign.Registration) error {
	w, err := c.withdraw(r.Code, domainSession(c.sess), c.sess.Channel+":"+c.sess.ChatID)
	if err != nil || w == nil {
		return err
	}
	c.toIdle()
	if w.DeliveryCode != "" {
		c.say(c.t("mydata.withdraw.done_allocated", "Code", r.Code, "What", c.e.allocWhat(c.lang, "", w.DeviceType, w.Stock)))
		return nil
	}
	c.say(c.t("mydata.withdraw.done", "Code", r.Code))
	return nil
}

// withdraw withdraws code (from the family's chat parent, or by an administrator with parent
// zero) with the turn's key, telling whoever was handling its delivery. A registration gone or
// moved on meanwhile has been answered (w is nil then).
func (c mydataTurn) withdraw(code string, parent campaign.Session, by string) (*campaign.Withdrawal, error) {
	key := c.formKey()
	w, err := c.e.cfg.Family.Withdraw(c.ctx, code, parent, by, key+":withdraw",
		func(w campaign.Withdrawal) []campaign.OutboxMessage { return c.withdrawnNotice(w, key) })
	switch campaign.ErrorCode(err) {
	case "":
	case campaign.ENOTFOUND, campaign.ECONFLICT:
		if c.st.Step == myStepErase {
			// The administrator's erasure goes on: the registration was erased or moved on
			// meanwhile, which the erasure sees for itself.
			return &campaign.Withdrawal{}, nil
		}
		if campaign.ErrorCode(err) == campaign.ENOTFOUND {
			c.toIdle()
			c.say(paragraphs(c.t("mydata.gone", "Code", code), c.contactLines("")))
			return nil, nil
		}
		r, regs, ok, err := c.myRegistration(code)
		if err != nil {
			return nil, err
		}
		if !ok {
			c.toIdle()
			c.say(paragraphs(c.t("mydata.gone", "Code", code), c.contactLines("")))
			return nil, nil
		}
		return nil, c.myChanged(r, regs)
	default:
		return nil, err
	}
	c.noticesQueued()
	return &w, nil
}

// withdrawnNotice tells whoever was handling the cancelled delivery that it is off and its
// device back in the pool. Staff are written to in Vietnamese, as the case work does.
func (c mydataTurn) withdrawnNotice(w campaign.Withdrawal, key string) []campaign.OutboxMessage {
	if w.DeliveryCode == "" || w.Handler == "" {
		return nil
	}
	channel, id, _ := strings.Cut(w.Handler, ":")
	// Staff talk to the bot in private chats, where the chat id is the account id.
	return notice(c.noticeKey(key, "withdrawn:"+w.Registration.Code), campaign.Session{Channel: channel, ChatID: id},
		Output{Text: c.e.text(langVI, "mydata.notice.withdrawn", map[string]any{
			"Code": w.Registration.Code, "Delivery": w.DeliveryCode,
			"What": c.e.allocWhat(langVI, w.DeviceLabel, w.DeviceType, w.Stock),
		})})
}

// myDelete erases the family's personal data of the registration after it confirmed: withdrawn
// first when it still waits for officials or a device (so the figures no longer count a child
// who left, and an allocated device goes back to the pool), then erased everywhere. The dialog
// is emptied by this turn's own save: nothing of the family stays in it.
func (c mydataTurn) myDelete(r campaign.Registration, regs []campaign.Registration) error {
	if r.Status.Withdrawable() && c.e.cfg.Family != nil {
		w, err := c.withdraw(r.Code, domainSession(c.sess), c.sess.Channel+":"+c.sess.ChatID)
		if err != nil || w == nil {
			return err
		}
	}
	e, err := c.e.cfg.Eraser.Erase(c.ctx, r.Code, campaign.ErasedActor, campaign.ErasureFamilySelf)
	switch {
	case e.Code != "":
		// The database's erasure is what counts; a dialog or a file it could not clear goes at
		// its expiry.
	case campaign.ErrorCode(err) == campaign.ENOTFOUND:
		c.toIdle()
		c.say(paragraphs(c.t("mydata.gone", "Code", r.Code), c.contactLines("")))
		return nil
	case err != nil:
		return err
	}
	return c.myDeleted(r.Code, r.WardCode, len(regs)-1)
}

// myDeleted says the registration code (of ward) is erased, with how many registrations the chat
// has left, and empties the dialog: the turn's save leaves nothing of the family in it.
func (c mydataTurn) myDeleted(code, ward string, left int) error {
	*c.st = State{Lang: c.st.Lang, Answers: map[string]string{}}
	text := c.t("mydata.delete.done", "Code", code)
	if left > 0 {
		text = paragraphs(text, c.t("mydata.delete.others", "Count", left))
	}
	c.say(paragraphs(text, c.contactLines(ward)))
	return nil
}

// eraseCommand is an administrator's /erase <code> <reason>: the family's personal data of a
// registration erased on its written request, after one confirmation. The reason is the
// reference of the request (its number and date); it is kept in the audit log after the
// erasure, so it may not name the family.
func (c mydataTurn) eraseCommand(args string) error {
	if c.e.cfg.Eraser == nil || c.e.cfg.Family == nil {
		c.say(c.t("mydata.erase.unavailable"))
		c.resume("")
		return nil
	}
	if _, ok, err := c.authorize(campaign.ActionErase, ""); !ok {
		return err
	}
	if c.formBusy() {
		return nil
	}
	first, rest, _ := strings.Cut(strings.TrimSpace(args), " ")
	code, ok := parseRegistrationCode(c.e.cfg.Campaign, first)
	if !ok || strings.TrimSpace(rest) == "" {
		c.say(c.t("mydata.erase.usage"))
		c.resume("")
		return nil
	}
	reason, err := parseFreeText(rest, eraseReasonMin, eraseReasonMax)
	if err != nil {
		c.say(paragraphs(c.reason(err), c.t("mydata.erase.usage")))
		c.resume("")
		return nil
	}
	r, err := c.e.cfg.Family.RegistrationByCode(c.ctx, code)
	switch {
	case campaign.ErrorCode(err) == campaign.ENOTFOUND:
		c.say(c.t("mydata.erase.not_found", "Code", code))
		c.resume("")
		return nil
	case err != nil:
		return err
	case r.Erased():
		c.say(c.t("mydata.erase.already", "Code", r.Code))
		c.resume("")
		return nil
	case namesFamily(reason, r):
		c.say(paragraphs(c.t("mydata.erase.names_family"), c.t("mydata.erase.usage")))
		c.resume("")
		return nil
	}
	c.enterCase(myStepErase, map[string]string{myAnswerCode: r.Code, myAnswerReason: reason, myAnswerStatus: string(r.Status),
		myAnswerWard: r.WardCode})
	c.st.IdempotencyKey = c.e.cfg.NewKey()
	c.myAskErase("")
	return nil
}

// namesFamily reports whether text mentions the child's or the parent's name, or the phone.
func namesFamily(text string, r campaign.Registration) bool {
	folded := campaign.Fold(text)
	for _, name := range []string{r.StudentName, r.ParentName} {
		if n := campaign.Fold(name); n != "" && strings.Contains(folded, n) {
			return true
		}
	}
	digits := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, s)
	}
	national := strings.TrimPrefix(r.ParentPhone, "+84")
	return len(national) >= 9 && strings.Contains(digits(text), national)
}

// myAskErase asks the administrator to confirm the erasure, saying what goes and what stays.
func (c mydataTurn) myAskErase(reason string) {
	a := c.st.Answers
	code, status := a[myAnswerCode], campaign.RegistrationStatus(a[myAnswerStatus])
	text := c.myDeleteText(true, code, "", status)
	text = paragraphs(c.t("mydata.erase.request", "Ward", c.wardName(a[myAnswerWard]),
		"Status", c.t(caseStatusLabels[status]), "Reason", a[myAnswerReason]), text)
	c.out = append(c.out, Output{Text: paragraphs(reason, text), Buttons: [][]Button{{
		{Text: c.t("mydata.btn_delete_yes"), Data: mydataData(myYes, code)},
		{Text: c.t("mydata.btn_no"), Data: mydataData(myNo, code)},
	}}})
}

// eraseConfirmed erases the registration in hand on the administrator's confirmation: withdrawn
// first when it still waits (its device back to the pool, whoever handled its delivery told),
// then erased everywhere with a tombstone by the administrator, then the request's reference
// audited.
func (c mydataTurn) eraseConfirmed() error {
	who, ok, err := c.authorize(campaign.ActionErase, "")
	if !ok {
		return err
	}
	code, reason := c.st.Answers[myAnswerCode], c.st.Answers[myAnswerReason]
	r, err := c.e.cfg.Family.RegistrationByCode(c.ctx, code)
	if err != nil && campaign.ErrorCode(err) != campaign.ENOTFOUND {
		return err
	}
	shown := campaign.RegistrationStatus(c.st.Answers[myAnswerStatus])
	if err == nil && !r.Erased() && r.Status != shown && !withdrawnFirst(myDelete, shown, r.Status) {
		// It moved on since the confirmation: say what erasing it now does.
		c.st.Answers[myAnswerStatus] = string(r.Status)
		c.myAskErase(c.t("mydata.changed", "Code", code, "Status", c.t(caseStatusLabels[r.Status])))
		return nil
	}
	actor := c.actor()
	var w *campaign.Withdrawal
	if err == nil && !r.Erased() && r.Status.Withdrawable() {
		if w, err = c.withdraw(code, campaign.Session{}, actor); err != nil || w == nil {
			return err
		}
	}
	e, err := c.e.cfg.Eraser.Erase(c.ctx, code, actor, campaign.ErasureFamilyRequest)
	switch {
	case e.Code != "":
	case campaign.ErrorCode(err) == campaign.ENOTFOUND:
		c.toIdle()
		c.say(c.t("mydata.erase.not_found", "Code", code))
		return nil
	case err != nil:
		return err
	}
	c.toIdle()
	if e.Already {
		c.say(c.t("mydata.erase.already", "Code", e.Code))
		return nil
	}
	if c.e.cfg.Audit != nil {
		err := c.e.cfg.Audit.Audit(c.ctx, campaign.AuditEntry{At: c.now, Actor: actor, Action: auditEraseRequest, Subject: e.Code,
			After: map[string]any{"request": reason, "role": who.Role}})
		if err != nil {
			return err
		}
	}
	text := c.t("mydata.erase.done", "Code", e.Code, "Status", c.t(caseStatusLabels[e.Kept.Status]),
		"Ward", c.wardName(e.Kept.WardCode), "Notes", e.Erased.Notes, "Outbox", e.Erased.OutboxDeleted+e.Erased.OutboxBlanked,
		"Files", e.FilesRemoved)
	if w != nil && w.DeliveryCode != "" {
		text = paragraphs(text, c.t("mydata.erase.withdrawn", "Delivery", w.DeliveryCode,
			"What", c.e.allocWhat(c.lang, w.DeviceLabel, w.DeviceType, w.Stock)))
	}
	c.say(text)
	return nil
}
