package flows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"

	"github.com/thuduc/maytinhchoem/campaign"
)

func init() {
	registerFlow(flowSpec{
		name: "deliver",
		commands: []flowCommand{{
			name: "deliveries", run: fn1(deliverTurn.deliveriesCommand),
			staff: &staffLine{group: "staff.help.group.cases", rank: 100, text: "staff.help.deliveries",
				may: staffMay(campaign.ActionDeliver, func(c Config) bool { return c.Cases != nil })},
		}},
		buttons: []flowButton{{prefix: deliverPrefix, run: fn1(deliverTurn.deliverChoice)}, {prefix: parentPrefix, run: fn1(deliverTurn.parentChoice)}},
		steps:   []stepOwner{{owner: deliverPrefix, step: deliverStep}, {owner: parentPrefix, step: parentStep}},
	})
}

// Button prefixes of deliveries: deliverPrefix for volunteers' buttons, parentPrefix for the
// parent's (where to receive, "Đã nhận", answering officials).
//
// Volunteers: "d:ok:<code>" delivered, "d:fail:<code>" could not deliver; then, at the step they
// belong to, "d:rp:<code>" (the parent received it), "d:skip:<code>" (no photo),
// "d:fr:<code>:<reason>" and "d:x:<code>" (cancel). Parents: "h:home:<code>", "h:school:<code>",
// "h:got:<code>", "h:miss:<code>" (not received). Every button carries its delivery's code, so a button of another delivery is
// never applied to the one in progress.
const (
	deliverPrefix = "d"
	parentPrefix  = "h"
)

// FlowCase steps of a volunteer, and their answers.
const (
	deliverStepRecipient = "d.recipient" // the recipient's name, typed
	deliverStepPhoto     = "d.photo"     // an optional photo as proof
	deliverStepFail      = "d.fail"      // why the delivery failed, buttons
	deliverStepFailNote  = "d.failnote"  // a short note for "other"
	parentStepMissing    = "h.missing"   // the parent's words on a device that never arrived
	// deliverAnswerCode is the delivery's code; deliverAnswerParent the parent's name, offered
	// as the recipient; deliverAnswerRecipient the name given; deliverAnswerPhoto a photo sent
	// before the name.
	deliverAnswerCode      = "d.code"
	deliverAnswerParent    = "d.parent"
	deliverAnswerRecipient = "d.name"
	deliverAnswerPhoto     = "d.photo_id"
)

// Button actions.
const (
	deliverDone      = "ok"
	deliverFail      = "fail"
	deliverByParent  = "rp"
	deliverSkipPhoto = "skip"
	deliverReason    = "fr"
	deliverCancel    = "x"
	parentHome       = "home"
	parentSchool     = "school"
	parentReceived   = "got"
	parentMissing    = "miss"
)

const (
	// deliverListed is how many open deliveries /deliveries shows, one message each.
	deliverListed = 10
	// deliverCodeMax is the longest delivery code the buttons carry, so that the longest of them,
	// "d:fr:<code>:wrong_address", stays within maxData. The store's codes are
	// GH-000012; a longer one can still be seen in the list, not pressed.
	deliverCodeMax = maxData - len("d:fr::wrong_address")
	// Limits of a failure's note.
	failNoteMin = 2
	failNoteMax = 200
)

// Message ids by value.
var (
	failReasonLabels = map[campaign.FailReason][3]string{ // button, typed words, in a sentence
		campaign.FailNotHome:      {"deliver.fail.not_home", "deliver.fail.not_home_words", "deliver.reason.not_home"},
		campaign.FailWrongAddress: {"deliver.fail.wrong_address", "deliver.fail.wrong_address_words", "deliver.reason.wrong_address"},
		campaign.FailOther:        {"deliver.fail.other", "deliver.fail.other_words", "deliver.reason.other"},
	}
	deliverStatusNames = map[campaign.DeliveryStatus]string{
		campaign.DeliveryPending:   "deliver.status.pending",
		campaign.DeliveryDelivered: "deliver.status.delivered",
		campaign.DeliveryConfirmed: "deliver.status.confirmed",
	}
)

func deliverData(action, code string, values ...string) string {
	return deliverPrefix + ":" + strings.Join(append([]string{action, code}, values...), ":")
}

func parentData(action, code string) string { return parentPrefix + ":" + action + ":" + code }

// deliverLang is a stored language as one the bot talks in.
func deliverLang(lang string) string {
	if lang == langEN {
		return langEN
	}
	return langVI
}

// deliverStep returns FlowCase's volunteer steps ("d.*").
func deliverStep(step string) (caseStep, bool) {
	switch step {
	case deliverStepRecipient:
		return caseStep{ask: do1(deliverTurn.deliverAskRecipient), input: fn0(deliverTurn.deliverRecipientInput)}, true
	case deliverStepPhoto:
		return caseStep{ask: do1(deliverTurn.deliverAskPhoto), input: fn0(deliverTurn.deliverPhotoInput)}, true
	case deliverStepFail:
		return caseStep{ask: do1(deliverTurn.deliverAskFail), input: fn0(deliverTurn.deliverFailInput), help: "case.help_buttons"}, true
	case deliverStepFailNote:
		return caseStep{ask: do1(deliverTurn.deliverAskFailNote), input: fn0(deliverTurn.deliverFailNoteInput)}, true
	}
	return caseStep{}, false
}

// parentStep returns FlowCase's parent steps ("h.*"). The parent's choices about a delivery are
// buttons that carry the delivery's code; only "not received" asks for words.
func parentStep(step string) (caseStep, bool) {
	if step == parentStepMissing {
		return caseStep{ask: do1(deliverTurn.parentAskMissing), input: fn0(deliverTurn.parentMissingInput), parent: true}, true
	}
	return caseStep{}, false
}

// deliverTurn is a turn of the deliveries (/deliveries) and of a family's answer to one; its
// methods are the flow's own (see flowTurn).
type deliverTurn struct{ *turn }

// deliveriesCommand is /deliveries: the open deliveries, those with failed attempts first, one
// message each with "delivered" and "could not deliver" buttons.
func (c deliverTurn) deliveriesCommand(string) error {
	if c.casesOff() {
		return nil
	}
	who, ok, err := c.authorize(campaign.ActionDeliver, "")
	if !ok {
		return err
	}
	list, err := c.e.cfg.Cases.OpenDeliveries(c.ctx, "", deliverListed)
	if err != nil {
		return fmt.Errorf("open deliveries: %w", err)
	}
	if len(list) == 0 {
		c.say(c.t("deliver.list.none"))
		c.resume("")
		return nil
	}
	list = list[:min(len(list), deliverListed)]
	codes := make([]string, len(list))
	for i, d := range list {
		codes[i] = d.Code
	}
	// The cards show children's names, addresses and parents' phones: who saw them is kept.
	if err := c.auditView("delivery.view", strings.Join(codes, ","), map[string]any{"codes": codes}); err != nil {
		return fmt.Errorf("audit delivery view: %w", err)
	}
	c.say(c.t("deliver.list.title", "Count", len(list)))
	for _, d := range list {
		o := Output{Text: c.deliverCard(d, who)}
		if d.Code != "" && len(d.Code) <= deliverCodeMax {
			o.Buttons = [][]Button{{
				{Text: c.t("deliver.btn_done"), Data: deliverData(deliverDone, d.Code)},
				{Text: c.t("deliver.btn_fail"), Data: deliverData(deliverFail, d.Code)},
			}}
		}
		c.out = append(c.out, o)
	}
	c.resume("")
	return nil
}

// deliverCard is what a volunteer needs to hand a delivery over.
func (c deliverTurn) deliverCard(d campaign.Delivery, who campaign.Staff) string {
	where := c.t("deliver.where.home", "Address", orDash(clip(d.Address, addressMax)))
	if d.Handover == campaign.HandoverSchool {
		where = c.t("deliver.where.school", "School", orDash(clip(d.School, schoolMax)))
	}
	lines := []string{c.t("deliver.card", "Code", d.Code, "Ward", c.e.allocWardName(c.lang, d.WardCode), "Where", where,
		"Student", orDash(clip(d.StudentName, nameMax)), "Level", c.e.allocLevelGrade(c.lang, d.Level, d.Grade),
		"Parent", orDash(clip(d.ParentName, nameMax)), "Phone", orDash(phoneFor(who, d.ParentPhone)),
		"What", c.e.allocWhat(c.lang, d.DeviceLabel, d.DeviceType, d.Stock))}
	if d.Attempts > 0 {
		reason := c.t("deliver.fail.unknown")
		if l, ok := failReasonLabels[d.LastFailure]; ok {
			reason = c.t(l[2])
		} else if d.LastFailure == campaign.FailNotReceived {
			reason = c.t("deliver.reason.not_received", "Words", orDash(clip(d.LastFailureNote, failNoteMax)))
		}
		lines = append(lines, c.t("deliver.card_attempts", "Count", d.Attempts, "Reason", reason))
	}
	return strings.Join(lines, "\n")
}

// deliverChoice runs a volunteer's button; rest is what follows "d:".
func (c deliverTurn) deliverChoice(rest string) error {
	action, args, _ := strings.Cut(rest, ":")
	code, value, _ := strings.Cut(args, ":")
	if code == "" || len(code) > deliverCodeMax {
		c.deliverStale()
		return nil
	}
	switch action {
	case deliverDone, deliverFail:
		return c.deliverStart(action, code)
	}
	step := map[string]string{deliverByParent: deliverStepRecipient, deliverSkipPhoto: deliverStepPhoto, deliverReason: deliverStepFail}[action]
	inStep := c.inCaseFlow() && c.st.Answers[deliverAnswerCode] == code && strings.HasPrefix(c.st.Step, "d.")
	if !inStep || (step != "" && c.st.Step != step) || (step == "" && action != deliverCancel) {
		c.deliverStale()
		return nil
	}
	if action == deliverCancel {
		c.toIdle()
		c.say(c.t("deliver.cancelled", "Code", code))
		return nil
	}
	if c.casesOff() {
		return nil
	}
	switch action {
	case deliverByParent:
		name := c.st.Answers[deliverAnswerParent]
		if name == "" {
			c.deliverStale()
			return nil
		}
		c.notice = c.t("common.chosen", "Label", name)
		return c.deliverRecipient(name)
	case deliverSkipPhoto:
		c.notice = c.t("common.chosen", "Label", withoutSymbols(c.t("deliver.btn_skip")))
		return c.deliverMark("")
	}
	// deliverReason
	reason := campaign.FailReason(value)
	l, ok := failReasonLabels[reason]
	if !ok {
		c.deliverStale()
		return nil
	}
	c.notice = c.t("common.chosen", "Label", withoutSymbols(c.t(l[0])))
	return c.deliverFailReason(reason)
}

// deliverStale answers a volunteer's button that no longer applies: in a form or at a case step
// (staff's too), with the question asked again under the note (stale).
func (c deliverTurn) deliverStale() {
	if c.form() != nil || c.dialog() != nil {
		c.stale()
		return
	}
	c.notice = c.t("common.stale")
	c.say(c.t("deliver.stale"))
}

// deliverStart begins recording a hand-over (action deliverDone) or a failed attempt
// (deliverFail) of the delivery code, once it is known to be still open.
func (c deliverTurn) deliverStart(action, code string) error {
	if c.casesOff() {
		return nil
	}
	if _, ok, err := c.authorizeOrDrop(campaign.ActionDeliver); !ok {
		return err
	}
	if c.formBusy() {
		return nil
	}
	d, err := c.e.cfg.Cases.DeliveryByCode(c.ctx, code)
	switch campaign.ErrorCode(err) {
	case "":
	case campaign.ENOTFOUND:
		c.say(c.t("deliver.gone", "Code", code))
		c.resume("")
		return nil
	default:
		return fmt.Errorf("delivery %s: %w", code, err)
	}
	if d.Status != campaign.DeliveryPending {
		c.say(c.t("deliver.not_open", "Code", d.Code, "Status", c.deliverStatus(d.Status)))
		c.resume("")
		return nil
	}
	step := deliverStepRecipient
	if action == deliverFail {
		step = deliverStepFail
	}
	c.enterCase(step, map[string]string{deliverAnswerCode: d.Code, deliverAnswerParent: clip(d.ParentName, nameMax)})
	// One key per attempt to record: a retried save writes once, a new press makes a new record.
	c.st.IdempotencyKey = c.e.cfg.NewKey()
	c.caseAsk("")
	return nil
}

func (c deliverTurn) deliverStatus(s campaign.DeliveryStatus) string {
	if id, ok := deliverStatusNames[s]; ok {
		return c.t(id)
	}
	return string(s)
}

func (c deliverTurn) deliverCode() string { return c.st.Answers[deliverAnswerCode] }

func (c deliverTurn) deliverCancelRow() []Button {
	return []Button{{Text: c.t("common.btn_cancel"), Data: deliverData(deliverCancel, c.deliverCode())}}
}

func (c deliverTurn) deliverAskRecipient(reason string) {
	code := c.deliverCode()
	var rows [][]Button
	if name := c.st.Answers[deliverAnswerParent]; name != "" {
		rows = append(rows, []Button{{Text: c.t("deliver.btn_parent", "Name", clip(name, staffButtonName)), Data: deliverData(deliverByParent, code)}})
	}
	rows = append(rows, c.deliverCancelRow())
	prompt := c.t("deliver.recipient.prompt", "Code", code)
	if c.st.Answers[deliverAnswerPhoto] != "" {
		prompt = c.t("deliver.recipient.photo_kept", "Code", code)
	}
	c.out = append(c.out, Output{Text: paragraphs(reason, prompt), Buttons: rows})
}

// deliverRecipientInput takes the recipient's name; a photo sent first is kept for the proof.
func (c deliverTurn) deliverRecipientInput() error {
	if c.in.PhotoID != "" {
		c.st.Answers[deliverAnswerPhoto] = c.in.PhotoID
		if strings.TrimSpace(c.in.Text) == "" {
			c.deliverAskRecipient("")
			return nil
		}
		// A caption is read as the name.
	} else if c.in.Kind != KindText {
		c.deliverAskRecipient(c.t("common.need_text"))
		return nil
	}
	name, err := parseRecipient(c.in.Text)
	if err != nil {
		c.deliverAskRecipient(c.reason(err))
		return nil
	}
	return c.deliverRecipient(name)
}

// deliverRecipient keeps the recipient's name and asks for the photo, or records the hand-over
// when the photo came first.
func (c deliverTurn) deliverRecipient(name string) error {
	c.st.Answers[deliverAnswerRecipient] = name
	if photo := c.st.Answers[deliverAnswerPhoto]; photo != "" {
		return c.deliverMark(photo)
	}
	c.st.Step = deliverStepPhoto
	c.deliverAskPhoto("")
	return nil
}

// parseRecipient checks the name of who received a device: parseName's rules, except that one
// word is enough (the person at the door may give only a first name). parseName refuses a single
// word only after every other check has passed, so its other reasons stand as they are.
func parseRecipient(s string) (string, error) {
	v, err := parseName(s)
	var inv *invalid
	if !errors.As(err, &inv) || inv.ID != "reg.err.name_one_word" {
		return v, err
	}
	v = cleanText(s)
	if v == strings.ToLower(v) || v == strings.ToUpper(v) {
		v = norm.NFC.String(cases.Title(language.Vietnamese).String(v))
	}
	return v, nil
}

func (c deliverTurn) deliverAskPhoto(reason string) {
	code := c.deliverCode()
	c.out = append(c.out, Output{
		Text: paragraphs(reason, c.t("deliver.photo.prompt", "Code", code, "Name", c.st.Answers[deliverAnswerRecipient])),
		Buttons: [][]Button{
			{{Text: c.t("deliver.btn_skip"), Data: deliverData(deliverSkipPhoto, code)}},
			c.deliverCancelRow(),
		},
	})
}

// deliverPhotoInput takes the proof photo, or the skip word.
func (c deliverTurn) deliverPhotoInput() error {
	switch {
	case c.in.PhotoID != "":
		return c.deliverMark(c.in.PhotoID)
	case c.in.Kind == KindText:
		skip := []option{{value: deliverSkipPhoto, label: "deliver.btn_skip", words: "deliver.skip_words"}}
		if _, ok := c.matchOption(skip, c.in.Text); ok {
			return c.deliverMark("")
		}
		c.deliverAskPhoto(c.t("deliver.photo.text"))
	default:
		c.deliverAskPhoto(c.t("deliver.photo.not_photo"))
	}
	return nil
}

// deliverMark records the hand-over, confirms it to the volunteer and asks the parent to
// confirm. The key is the state's, so a save retried after a store error writes once.
func (c deliverTurn) deliverMark(photoID string) error {
	code, name := c.deliverCode(), c.st.Answers[deliverAnswerRecipient]
	if name == "" {
		c.st.Step = deliverStepRecipient // a state from another version
		c.deliverAskRecipient("")
		return nil
	}
	who, ok, err := c.authorizeOrDrop(campaign.ActionDeliver)
	if !ok {
		return err
	}
	d, err := c.e.cfg.Cases.MarkDelivered(c.ctx, code, name, photoID, c.formKey(), who, func(d campaign.Delivery) []campaign.OutboxMessage {
		return c.deliveredNotice(d, name)
	})
	if done, err := c.deliverRefused(code, err, "mark delivered"); done {
		return err
	}
	c.noticesQueued()
	c.toIdle()
	done := c.t("deliver.done", "Code", code, "Name", name)
	if photoID != "" {
		done = c.t("deliver.done_photo", "Code", code, "Name", name)
	}
	next := c.t("deliver.done_parent")
	if d.Parent.ChatID == "" {
		// A family registered by a list or by staff that has not claimed its registration: no
		// "Đã nhận" button reaches it; the hand-over becomes final on its own.
		next = c.t("deliver.done_unlinked", "Days", c.e.confirmDays())
	}
	c.say(done + " " + next)
	return nil
}

// deliveredNotice asks the family of d, in their language, to confirm that name received the
// device.
func (c deliverTurn) deliveredNotice(d campaign.Delivery, name string) []campaign.OutboxMessage {
	build := func(lang string) Output {
		o := Output{Text: c.e.text(lang, "parent.delivered", map[string]any{
			"Code": d.Code, "What": c.e.allocWhat(lang, "", d.DeviceType, d.Stock), "Name": name, "Count": c.e.confirmDays(),
		})}
		got, miss := parentData(parentReceived, d.Code), parentData(parentMissing, d.Code)
		if len(got) <= maxData && len(miss) <= maxData {
			o.Buttons = [][]Button{{{Text: c.e.text(lang, "parent.btn_received", nil), Data: got},
				{Text: c.e.text(lang, "parent.btn_missing", nil), Data: miss}}}
		}
		return o
	}
	return c.e.familyNotice(c.noticeKey(c.formKey(), "delivered:"+d.Code), d.RegistrationCode, d.Parent, d.ParentLanguage,
		d.Registrar, "claim.staff.hint_delivered", build)
}

// deliverRefused turns a store's answer to a volunteer's save into a reply: done is true when the
// save did not happen, with err the failure to return (nil when the volunteer was told why).
func (c deliverTurn) deliverRefused(code string, err error, what string) (done bool, _ error) {
	switch campaign.ErrorCode(err) {
	case "":
		return false, nil
	case campaign.ECONFLICT:
		c.toIdle()
		c.say(c.t("deliver.conflict", "Code", code))
		return true, nil
	case campaign.ENOTFOUND:
		c.toIdle()
		c.say(c.t("deliver.gone", "Code", code))
		return true, nil
	}
	return true, fmt.Errorf("%s %s: %w", what, code, err)
}

// confirmDays is Config.ConfirmAfter in whole days, at least 1.
func (e *Engine) confirmDays() int {
	return max(1, int(e.cfg.ConfirmAfter/(24*time.Hour)))
}

func failReasonOptions() []option {
	var opts []option
	for _, r := range campaign.FailReasons {
		opts = append(opts, option{value: string(r), label: failReasonLabels[r][0], words: failReasonLabels[r][1]})
	}
	return opts
}

func (c deliverTurn) deliverAskFail(reason string) {
	code := c.deliverCode()
	var rows [][]Button
	for _, o := range failReasonOptions() {
		rows = append(rows, []Button{{Text: c.t(o.label), Data: deliverData(deliverReason, code, o.value)}})
	}
	rows = append(rows, c.deliverCancelRow())
	c.out = append(c.out, Output{Text: paragraphs(reason, c.t("deliver.fail.prompt", "Code", code)), Buttons: rows})
}

// deliverFailInput matches a typed reason against the buttons.
func (c deliverTurn) deliverFailInput() error {
	if c.in.Kind == KindText {
		if o, ok := c.matchOption(failReasonOptions(), c.in.Text); ok {
			return c.deliverFailReason(campaign.FailReason(o.value))
		}
	}
	c.deliverAskFail(c.t("common.use_buttons"))
	return nil
}

// deliverFailReason records a failed attempt, or asks for a note when the reason is "other".
func (c deliverTurn) deliverFailReason(r campaign.FailReason) error {
	if r == campaign.FailOther {
		c.st.Step = deliverStepFailNote
		c.deliverAskFailNote("")
		return nil
	}
	return c.deliverMarkFailed(r, "")
}

func (c deliverTurn) deliverAskFailNote(reason string) {
	c.out = append(c.out, Output{
		Text:    paragraphs(reason, c.t("deliver.failnote.prompt", "Code", c.deliverCode(), "Max", failNoteMax)),
		Buttons: [][]Button{c.deliverCancelRow()},
	})
}

func (c deliverTurn) deliverFailNoteInput() error {
	if c.in.Kind != KindText {
		c.deliverAskFailNote(c.t("common.need_text"))
		return nil
	}
	note, err := parseFreeText(c.in.Text, failNoteMin, failNoteMax)
	if err != nil {
		c.deliverAskFailNote(c.reason(err))
		return nil
	}
	return c.deliverMarkFailed(campaign.FailOther, note)
}

// deliverMarkFailed records a failed attempt: the delivery goes back to the list. A parent who
// was not at home is told the volunteer came and will call.
func (c deliverTurn) deliverMarkFailed(r campaign.FailReason, note string) error {
	code := c.deliverCode()
	who, ok, err := c.authorizeOrDrop(campaign.ActionDeliver)
	if !ok {
		return err
	}
	d, err := c.e.cfg.Cases.MarkFailed(c.ctx, code, r, note, c.formKey(), who, func(d campaign.Delivery) []campaign.OutboxMessage {
		// A parent who was not at home is told the volunteer came and will call.
		if r != campaign.FailNotHome {
			return nil
		}
		return c.e.familyNotice(c.noticeKey(c.formKey(), "not-home:"+d.Code), d.RegistrationCode, d.Parent, d.ParentLanguage,
			d.Registrar, "", func(lang string) Output {
				return Output{Text: c.e.text(lang, "parent.not_home", map[string]any{
					"Code": d.Code, "What": c.e.allocWhat(lang, "", d.DeviceType, d.Stock),
				})}
			})
	})
	if done, err := c.deliverRefused(code, err, "mark failed"); done {
		return err
	}
	c.noticesQueued()
	c.toIdle()
	if d.Code == "" {
		d.Code = code
	}
	c.say(c.t("deliver.failed", "Code", d.Code, "Reason", c.t(failReasonLabels[r][2]), "Count", max(d.Attempts, 1)))
	return nil
}

// parentChoice runs a parent's button about a delivery; rest is what follows "h:".
func (c deliverTurn) parentChoice(rest string) error {
	action, code, _ := strings.Cut(rest, ":")
	if code == "" || (action != parentHome && action != parentSchool && action != parentReceived && action != parentMissing) {
		c.stale()
		return nil
	}
	if c.casesOff() {
		return nil
	}
	parent := campaign.Session{Channel: c.sess.Channel, ChatID: c.sess.ChatID}
	switch action {
	case parentReceived:
		return c.parentReceived(code, parent)
	case parentMissing:
		return c.parentStartMissing(code)
	}
	h := campaign.HandoverHome
	if action == parentSchool {
		h = campaign.HandoverSchool
	}
	d, err := c.e.cfg.Cases.SetHandover(c.ctx, code, parent, h)
	switch campaign.ErrorCode(err) {
	case "":
	case campaign.ENOTFOUND, campaign.ECONFLICT:
		c.say(c.t("parent.handover.closed", "Code", code))
		c.resume("")
		return nil
	default:
		return fmt.Errorf("set handover %s: %w", code, err)
	}
	if h == campaign.HandoverSchool {
		c.notice = c.t("common.chosen", "Label", withoutSymbols(c.t("parent.btn_school")))
		c.say(c.t("parent.handover.school", "Code", code, "School", orDash(clip(d.School, schoolMax))))
	} else {
		c.notice = c.t("common.chosen", "Label", withoutSymbols(c.t("parent.btn_home")))
		c.say(c.t("parent.handover.home", "Code", code))
	}
	c.resume("")
	return nil
}

// parentStartMissing is the parent's "Chưa nhận được" on a delivery marked delivered: it asks
// what happened. A form in progress stays: the parent finishes or cancels it first.
func (c deliverTurn) parentStartMissing(code string) error {
	d, err := c.e.cfg.Cases.DeliveryByCode(c.ctx, code)
	switch {
	case campaign.ErrorCode(err) == campaign.ENOTFOUND:
	case err != nil:
		return fmt.Errorf("delivery %s: %w", code, err)
	}
	if err != nil || d.Parent != (campaign.Session{Channel: c.sess.Channel, ChatID: c.sess.ChatID}) || d.Status != campaign.DeliveryDelivered {
		// Still on its way, already final, or not this family's: nothing to reopen.
		c.say(paragraphs(c.t("parent.missing.closed", "Code", code), c.contactLines(c.familyWard())))
		c.resume("")
		return nil
	}
	if c.form() != nil {
		c.say(c.t("parent.missing.finish_form", "Code", code))
		c.resume("")
		return nil
	}
	c.notice = c.t("common.chosen", "Label", withoutSymbols(c.t("parent.btn_missing")))
	c.enterCase(parentStepMissing, map[string]string{deliverAnswerCode: code})
	c.st.IdempotencyKey = c.e.cfg.NewKey()
	c.parentAskMissing("")
	return nil
}

// parentAskMissing asks the parent what happened to a device that never arrived.
func (c deliverTurn) parentAskMissing(reason string) {
	c.say(paragraphs(reason, c.t("parent.missing.prompt", "Code", c.st.Answers[deliverAnswerCode], "Max", failNoteMax)))
}

// parentMissingInput takes the parent's words: the delivery is reopened for the volunteers, who
// are told, and is no longer made final on its own.
func (c deliverTurn) parentMissingInput() error {
	words, ok := verifyTurn(c).typedText(failNoteMin, failNoteMax, do1(deliverTurn.parentAskMissing))
	if !ok {
		return nil
	}
	code := c.st.Answers[deliverAnswerCode]
	parent := campaign.Session{Channel: c.sess.Channel, ChatID: c.sess.ChatID}
	_, err := c.e.cfg.Cases.ReportNotReceived(c.ctx, code, parent, words, c.formKey(), func(d campaign.Delivery) []campaign.OutboxMessage {
		channel, id, _ := strings.Cut(d.Volunteer, ":")
		// Staff talk to the bot in private chats, where the chat id is the account id.
		return notice(c.noticeKey(c.formKey(), "not-received:"+d.Code), campaign.Session{Channel: channel, ChatID: id},
			Output{Text: c.e.text(langVI, "deliver.not_received.volunteer", map[string]any{
				"Code": d.Code, "What": c.e.allocWhat(langVI, d.DeviceLabel, d.DeviceType, d.Stock),
				"Name": orDash(clip(d.RecipientName, nameMax)), "Words": words,
			})})
	})
	switch campaign.ErrorCode(err) {
	case "":
	case campaign.ENOTFOUND, campaign.ECONFLICT:
		c.toIdle()
		c.say(paragraphs(c.t("parent.missing.closed", "Code", code), c.contactLines(c.familyWard())))
		return nil
	default:
		return fmt.Errorf("not received %s: %w", code, err)
	}
	c.noticesQueued()
	c.toIdle()
	c.say(c.t("parent.missing.reported", "Code", code))
	return nil
}

// parentReceived records the parent's "Đã nhận" and tells the donor, once.
func (c deliverTurn) parentReceived(code string, parent campaign.Session) error {
	_, already, err := c.e.cfg.Cases.ConfirmDelivery(c.ctx, code, parent, func(d campaign.Delivery) []campaign.OutboxMessage {
		// Once per delivery: the store calls this only when the delivery becomes confirmed.
		return c.e.donorReached(d, "notice:reached:"+d.Code)
	})
	switch campaign.ErrorCode(err) {
	case "":
	case campaign.ENOTFOUND, campaign.ECONFLICT:
		c.say(c.t("parent.received.not_found", "Code", code))
		c.resume("")
		return nil
	default:
		return fmt.Errorf("confirm delivery %s: %w", code, err)
	}
	if already {
		c.say(c.t("parent.received.already", "Code", code))
		c.resume("")
		return nil
	}
	c.noticesQueued()
	c.notice = c.t("common.chosen", "Label", withoutSymbols(c.t("parent.btn_received")))
	c.say(c.t("parent.received.thanks", "Code", code))
	c.resume("")
	return nil
}

// donorReached tells the donor of d, when the device came from a pledge whose donor has a chat,
// that it reached a student: the school level and the ward only, never the child's name or code.
func (e *Engine) donorReached(d campaign.Delivery, key string) []campaign.OutboxMessage {
	if d.Donor == nil {
		return nil
	}
	lang := deliverLang(d.DonorLanguage)
	o := Output{Text: e.text(lang, "deliver.donor.reached", map[string]any{
		"What":  e.allocWhat(lang, "", d.DeviceType, nil),
		"Level": e.allocLevelName(lang, d.Level),
		"Ward":  e.allocWardName(lang, d.WardCode),
	})}
	return notice(key, *d.Donor, o)
}

// DeliveryFinalized returns the messages to queue when d became final without the parent's
// "Đã nhận" (CaseStore.FinalizeDeliveries, Config.ConfirmAfter after the hand-over): a short note
// to the parent and, when the device came from a pledge, the donor's news (school level and ward
// only), each keyed once per delivery and person; a person without a chat is left out (a family
// that has not claimed a list's or an assisted registration hears through its registrar).
func (e *Engine) DeliveryFinalized(d campaign.Delivery) []campaign.OutboxMessage {
	finalKey := func(to campaign.Session) string {
		return "delivery-final:" + d.Code + ":" + to.Channel + ":" + to.ChatID
	}
	to := d.Parent
	if (to.Channel == "" || to.ChatID == "") && d.Registrar != nil {
		to = d.Registrar.Session // not claimed yet: the staff member who registered the family
	}
	out := e.familyNotice(finalKey(to), d.RegistrationCode, d.Parent, d.ParentLanguage, d.Registrar, "",
		func(lang string) Output {
			return Output{Text: e.text(lang, "parent.auto_confirmed", map[string]any{
				"Code": d.Code, "What": e.allocWhat(lang, "", d.DeviceType, d.Stock), "Count": e.confirmDays(),
			})}
		})
	if d.Donor != nil {
		out = append(out, e.donorReached(d, finalKey(*d.Donor))...)
	}
	return out
}
