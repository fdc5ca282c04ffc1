package flows

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/thuduc/maytinhchoem/campaign"
)

func init() {
	registerFlow(flowSpec{
		name: "broadcast",
		commands: []flowCommand{{
			name: "broadcast", run: fn1(broadcastTurn.broadcastCommand),
			staff: &staffLine{group: "staff.help.group.news", rank: 210, text: "staff.help.broadcast",
				may: func(cfg Config, s campaign.Staff) bool { return cfg.Broadcasts != nil && mayBroadcast(s.Role) }},
		}},
		buttons: []flowButton{{prefix: broadcastPrefix, run: fn1(broadcastTurn.broadcastChoice)}},
		steps:   []stepOwner{{owner: broadcastPrefix, step: broadcastStep, cancelled: "broadcast.cancelled"}},
	})
}

// broadcastPrefix starts the button data of /broadcast's buttons: "b:<step>:<value>" at a step
// of the composition (aud, ward, text, prev), and "b:pr:<code>" (progress), which works at any
// time.
const broadcastPrefix = "b"

// FlowCase steps of a broadcast being composed, and their answers. The idempotency key of the
// broadcast is State.IdempotencyKey, chosen when the preview is first shown and kept while the
// audience and the text stay the same, so a second tap or a retried update queues once.
const (
	bcStepAudience = "b.aud"  // who it goes to, buttons
	bcStepWard     = "b.ward" // which ward, for AudienceWard: paged buttons or a typed name
	bcStepText     = "b.text" // the text, typed
	bcStepPreview  = "b.prev" // the preview: send, edit the text, cancel
	bcAnswerKind   = "b.kind"
	bcAnswerWard   = "b.ward_code"
	bcAnswerText   = "b.body"
	bcAnswerCount  = "b.count" // recipients counted for the preview
)

// Button values of the preview, and the step of the progress button.
const (
	bcSend     = "send"
	bcEdit     = "edit"
	bcAudience = "aud"
	bcProgress = "pr"
	// auditBroadcast is the subject of the audit row of a refused /broadcast: its action.
	auditBroadcast = string(campaign.ActionBroadcast)
)

// bcTextMax is the longest text a broadcast takes, in characters: with its one-line header it stays
// one message where flows can (messageMax); a channel with shorter messages splits it.
const bcTextMax = 3500

// audienceLabels are the message ids of each audience's button and of its name in a sentence.
var audienceLabels = map[campaign.AudienceKind][2]string{
	campaign.AudienceParents: {"broadcast.aud.parents", "broadcast.to.parents"},
	campaign.AudienceDonors:  {"broadcast.aud.donors", "broadcast.to.donors"},
	campaign.AudienceStaff:   {"broadcast.aud.staff", "broadcast.to.staff"},
	campaign.AudienceWard:    {"broadcast.aud.ward", "broadcast.to.ward"},
}

// broadcastCode is a broadcast's code as typed: "BC-000012", "bc-12", "BC12".
var broadcastCode = regexp.MustCompile(`^` + campaign.BroadcastPrefix + `-?([0-9]{1,9})$`)

// mayBroadcast reports whether a role may send announcements and follow them, as
// campaign.Authorize decides for ActionBroadcast (a city-wide action).
func mayBroadcast(r campaign.Role) bool {
	return campaign.Authorize(campaign.Staff{Role: r}, campaign.ActionBroadcast, "") == nil
}

// broadcastStep returns FlowCase's broadcast steps ("b.*").
func broadcastStep(step string) (caseStep, bool) {
	switch step {
	case bcStepAudience:
		return caseStep{ask: do1(broadcastTurn.askAudience), input: fn0(broadcastTurn.audienceInput), help: "case.help_buttons"}, true
	case bcStepWard:
		return caseStep{ask: func(c *turn, reason string) { broadcastTurn{c}.askBroadcastWard(reason, false) }, input: fn0(broadcastTurn.broadcastWardInput), help: "broadcast.help_ward"}, true
	case bcStepText:
		return caseStep{ask: do1(broadcastTurn.askBroadcastText), input: fn0(broadcastTurn.broadcastTextInput), help: "broadcast.help_text"}, true
	case bcStepPreview:
		return caseStep{ask: do1(broadcastTurn.askPreview), input: fn0(broadcastTurn.previewInput), help: "case.help_buttons"}, true
	}
	return caseStep{}, false
}

// broadcastTurn is a turn of /broadcast; its methods are the flow's own (see flowTurn).
type broadcastTurn struct{ *turn }

func (c broadcastTurn) inBroadcast() bool {
	return c.inCaseFlow() && strings.HasPrefix(c.st.Step, broadcastPrefix+".")
}

func broadcastData(step, value string) string {
	return broadcastPrefix + ":" + step + ":" + value
}

// authorizeBroadcast is authorize for ActionBroadcast (city-wide). A refusal is said and audited
// as authorize does, and ends a broadcast being composed (instead of asking its question again
// under the refusal).
func (c broadcastTurn) authorizeBroadcast() (campaign.Staff, bool, error) {
	if c.inBroadcast() {
		return c.authorizeOrDrop(campaign.ActionBroadcast)
	}
	return c.authorize(campaign.ActionBroadcast, "")
}

// broadcastsOff says /broadcast is not available here and asks the current question again; it
// reports whether it did.
func (c broadcastTurn) broadcastsOff() bool {
	if c.e.cfg.Broadcasts != nil {
		return false
	}
	c.say(c.t("case.unavailable"))
	c.resume("")
	return true
}

// broadcastCommand is /broadcast: compose an announcement (audience, text, preview, send), or
// with a code, /broadcast BC-000012, see how one is being sent.
func (c broadcastTurn) broadcastCommand(args string) error {
	if c.broadcastsOff() {
		return nil
	}
	if _, ok, err := c.authorizeBroadcast(); !ok {
		return err
	}
	if args != "" {
		m := broadcastCode.FindStringSubmatch(strings.ToUpper(strings.TrimSpace(args)))
		if m == nil {
			c.say(c.t("broadcast.usage"))
			c.resume("")
			return nil
		}
		n, _ := strconv.Atoi(m[1])
		return c.showBroadcastProgress(fmt.Sprintf("%s-%06d", campaign.BroadcastPrefix, n))
	}
	if c.formBusy() {
		return nil
	}
	if c.inBroadcast() {
		// What was typed is kept: the official goes on, or cancels to start afresh.
		c.say(c.t("broadcast.in_progress"))
		c.resume("")
		return nil
	}
	c.enterCase(bcStepAudience, nil)
	c.askAudience("")
	return nil
}

func (c broadcastTurn) askAudience(reason string) {
	var buttons []Button
	for _, k := range campaign.AudienceKinds {
		buttons = append(buttons, Button{Text: c.t(audienceLabels[k][0]), Data: broadcastData(bcAudience, string(k))})
	}
	rows := append(grid(buttons, 2), []Button{{Text: c.t("common.btn_cancel"), Data: broadcastData(bcAudience, ctlCancel)}})
	c.out = append(c.out, Output{Text: paragraphs(reason, c.t("broadcast.audience_prompt")), Buttons: rows})
}

func audienceOptions() []option {
	var opts []option
	for _, k := range campaign.AudienceKinds {
		opts = append(opts, option{value: string(k), label: audienceLabels[k][0]})
	}
	return opts
}

// audienceInput takes an audience typed as its button's text ("phụ huynh").
func (c broadcastTurn) audienceInput() error {
	if c.in.Kind == KindText {
		if o, ok := c.matchOption(audienceOptions(), c.in.Text); ok {
			return c.chooseAudience(campaign.AudienceKind(o.value))
		}
	}
	c.askAudience(c.t("common.use_buttons"))
	return nil
}

// chooseAudience keeps the audience and asks the ward, or goes on to the text (or straight to the
// preview when the text was typed before the audience was changed).
func (c broadcastTurn) chooseAudience(k campaign.AudienceKind) error {
	if _, ok := audienceLabels[k]; !ok {
		c.stale()
		return nil
	}
	if k != campaign.AudienceKind(c.st.Answers[bcAnswerKind]) {
		c.st.IdempotencyKey = "" // another broadcast
	}
	c.st.Answers[bcAnswerKind] = string(k)
	if k == campaign.AudienceWard {
		c.st.Step = bcStepWard
		c.st.Page = 0
		if w := c.st.Answers[bcAnswerWard]; w != "" {
			c.st.Page = wardIndex(c.e.cfg.Campaign, w) / wardsPerPage
		}
		c.askBroadcastWard("", false)
		return nil
	}
	delete(c.st.Answers, bcAnswerWard)
	return c.afterAudience()
}

// afterAudience asks the text, or shows the preview when there is one already.
func (c broadcastTurn) afterAudience() error {
	if c.st.Answers[bcAnswerText] != "" {
		return c.preview()
	}
	c.st.Step = bcStepText
	c.askBroadcastText("")
	return nil
}

func wardIndex(camp *campaign.Campaign, code string) int {
	for i, w := range camp.Wards {
		if w.Code == code {
			return i
		}
	}
	return 0
}

func (c broadcastTurn) askBroadcastWard(reason string, edit bool) {
	page, pages := c.wardPage()
	lead := c.lead
	c.lead = ""
	rows := formTurn(c).wardPageRows(func(v string) string { return broadcastData("ward", v) })
	rows = append(rows, []Button{{Text: c.t("common.btn_cancel"), Data: broadcastData("ward", ctlCancel)}})
	c.out = append(c.out, Output{
		Text:    paragraphs(lead, reason, c.t("broadcast.ward_prompt", "Page", page+1, "Pages", pages)),
		Buttons: rows,
		Replace: edit,
	})
}

// broadcastWardInput matches a typed ward name as the registration does: one match is taken,
// several are offered, none or too many show the list.
func (c broadcastTurn) broadcastWardInput() error {
	text := strings.TrimSpace(c.in.Text)
	if c.in.Kind != KindText || text == "" {
		c.askBroadcastWard(c.t("common.need_text"), false)
		return nil
	}
	return formTurn(c).matchTypedWard(text, c.chooseBroadcastWard,
		func(reason string) { c.askBroadcastWard(reason, false) },
		func(v string) string { return broadcastData("ward", v) })
}

func (c broadcastTurn) chooseBroadcastWard(code string) error {
	if code != c.st.Answers[bcAnswerWard] {
		c.st.IdempotencyKey = ""
	}
	c.st.Answers[bcAnswerWard] = code
	c.st.Page = 0
	return c.afterAudience()
}

// audience is the audience being composed; ok is false for a state that lacks one.
func (c broadcastTurn) audience() (campaign.Audience, bool) {
	a := campaign.Audience{Kind: campaign.AudienceKind(c.st.Answers[bcAnswerKind])}
	if _, ok := audienceLabels[a.Kind]; !ok {
		return a, false
	}
	if a.Kind == campaign.AudienceWard {
		a.WardCode = c.st.Answers[bcAnswerWard]
		if _, ok := c.e.cfg.Campaign.Ward(a.WardCode); !ok {
			return a, false
		}
	}
	return a, true
}

// audienceName names an audience in a sentence.
func (c broadcastTurn) audienceName(a campaign.Audience) string {
	l, ok := audienceLabels[a.Kind]
	if !ok {
		return string(a.Kind)
	}
	return c.t(l[1], "Ward", c.wardName(a.WardCode))
}

// askBroadcastText asks for the text; a text typed before is shown first, exactly, with a button
// to keep it.
func (c broadcastTurn) askBroadcastText(reason string) {
	a, _ := c.audience()
	lead := c.lead
	c.lead = ""
	o := Output{Text: paragraphs(lead, reason, c.t("broadcast.text_prompt", "Audience", c.audienceName(a), "Max", c.count(bcTextMax),
		"Header", c.e.broadcastHeader(c.lang)))}
	if cur := c.st.Answers[bcAnswerText]; cur != "" {
		c.say(cur)
		o.Text = paragraphs(lead, reason, c.t("broadcast.text_current"))
		o.Buttons = [][]Button{{{Text: c.t("common.btn_keep"), Data: broadcastData("text", ctlKeep)}}}
	}
	o.Buttons = append(o.Buttons, []Button{{Text: c.t("common.btn_cancel"), Data: broadcastData("text", ctlCancel)}})
	c.out = append(c.out, o)
}

// broadcastTextInput takes the text: not empty, at most bcTextMax, text only. A refused input
// leaves a text typed before as it was.
func (c broadcastTurn) broadcastTextInput() error {
	if c.in.Kind != KindText {
		c.askBroadcastText(c.t("broadcast.err.not_text"))
		return nil
	}
	body := strings.TrimSpace(norm.NFC.String(strings.ToValidUTF8(c.in.Text, "")))
	if body == "" {
		c.askBroadcastText(c.t("broadcast.err.empty"))
		return nil
	}
	if n := utf8.RuneCountInString(body); n > bcTextMax {
		c.askBroadcastText(c.t("broadcast.err.too_long", "Length", c.count(n), "Max", c.count(bcTextMax)))
		return nil
	}
	if body != c.st.Answers[bcAnswerText] {
		c.st.IdempotencyKey = ""
	}
	c.st.Answers[bcAnswerText] = body
	return c.preview()
}

// broadcastHeader is the line above the official's text in lang.
func (e *Engine) broadcastHeader(lang string) string {
	return e.text(lang, "broadcast.header", map[string]any{"Organizer": e.cfg.Campaign.Organizer.In(lang)})
}

// broadcastTexts is the message by language: the header in that language over the text.
func (e *Engine) broadcastTexts(body string) map[string]string {
	return map[string]string{
		langVI: e.broadcastHeader(langVI) + "\n\n" + body,
		langEN: e.broadcastHeader(langEN) + "\n\n" + body,
	}
}

// preview counts the recipients and shows the message as they will see it. The broadcast's
// idempotency key is chosen here, once for this audience and text.
func (c broadcastTurn) preview() error {
	a, ok := c.audience()
	if !ok || c.st.Answers[bcAnswerText] == "" {
		c.toIdle() // a state from another version
		c.stale()
		return nil
	}
	n, err := c.e.cfg.Broadcasts.CountAudience(c.ctx, a)
	if err != nil {
		return fmt.Errorf("count audience: %w", err)
	}
	c.st.Step = bcStepPreview
	c.st.Answers[bcAnswerCount] = strconv.Itoa(n)
	if n > 0 {
		c.formKey()
	}
	c.askPreview("")
	return nil
}

// askPreview shows the message and the count kept by preview, with send, edit and cancel (or,
// with nobody to send to, another audience and cancel).
func (c broadcastTurn) askPreview(reason string) {
	a, _ := c.audience()
	n, _ := strconv.Atoi(c.st.Answers[bcAnswerCount])
	lead := c.lead
	c.lead = ""
	if n <= 0 {
		c.out = append(c.out, Output{
			Text: paragraphs(lead, reason, c.t("broadcast.nobody", "Audience", c.audienceName(a))),
			Buttons: [][]Button{
				{{Text: c.t("broadcast.btn_audience"), Data: broadcastData("prev", bcAudience)}},
				{{Text: c.t("common.btn_cancel"), Data: broadcastData("prev", ctlCancel)}},
			},
		})
		return
	}
	if lead != "" {
		c.say(lead)
	}
	c.say(c.e.broadcastTexts(c.st.Answers[bcAnswerText])[c.lang])
	c.out = append(c.out, Output{
		Text: paragraphs(reason, c.t("broadcast.preview", "Count", n, "N", c.count(n), "Audience", c.audienceName(a))),
		Buttons: [][]Button{
			{{Text: c.t("broadcast.btn_send"), Data: broadcastData("prev", bcSend)}},
			{{Text: c.t("broadcast.btn_edit"), Data: broadcastData("prev", bcEdit)}, {Text: c.t("broadcast.btn_audience"), Data: broadcastData("prev", bcAudience)}},
			{{Text: c.t("common.btn_cancel"), Data: broadcastData("prev", ctlCancel)}},
		},
	})
}

// previewInput answers a message typed at the preview: the buttons decide.
func (c broadcastTurn) previewInput() error {
	c.askPreview(c.t("broadcast.use_buttons"))
	return nil
}

// broadcastChoice runs a /broadcast button; rest is what follows "b:".
func (c broadcastTurn) broadcastChoice(rest string) error {
	step, value, _ := strings.Cut(rest, ":")
	if c.broadcastsOff() {
		return nil
	}
	if step == bcProgress {
		if _, ok, err := c.authorizeBroadcast(); !ok {
			return err
		}
		return c.showBroadcastProgress(value)
	}
	if !c.inBroadcast() || c.st.Step != broadcastPrefix+"."+step {
		c.stale()
		return nil
	}
	if _, ok, err := c.authorizeBroadcast(); !ok {
		return err
	}
	if value == ctlCancel {
		c.toIdle()
		c.say(c.t("broadcast.cancelled"))
		return nil
	}
	switch c.st.Step {
	case bcStepAudience:
		k := campaign.AudienceKind(value)
		if l, ok := audienceLabels[k]; ok {
			c.notice = c.t("common.chosen", "Label", withoutSymbols(c.t(l[0])))
			return c.chooseAudience(k)
		}
	case bcStepWard:
		if p, ok := strings.CutPrefix(value, ctlPage); ok {
			if n, err := strconv.Atoi(p); err == nil && n >= 0 {
				c.st.Page = n
				c.askBroadcastWard("", true)
				return nil
			}
		}
		if w, ok := c.e.cfg.Campaign.Ward(value); ok {
			c.notice = c.t("common.chosen", "Label", w.DisplayName(c.lang))
			return c.chooseBroadcastWard(w.Code)
		}
	case bcStepText:
		if value == ctlKeep && c.st.Answers[bcAnswerText] != "" {
			return c.preview()
		}
	case bcStepPreview:
		switch value {
		case bcSend:
			return c.sendBroadcast()
		case bcEdit:
			c.st.Step = bcStepText
			c.askBroadcastText("")
			return nil
		case bcAudience:
			c.st.Step = bcStepAudience
			c.askAudience("")
			return nil
		}
	}
	c.stale()
	return nil
}

// sendBroadcast records the broadcast, which queues its messages, with the key chosen at the
// preview: pressing "Gửi" again after a failure, or the same update run again, queues nothing
// more. The store audits it.
func (c broadcastTurn) sendBroadcast() error {
	a, ok := c.audience()
	n, _ := strconv.Atoi(c.st.Answers[bcAnswerCount])
	body := c.st.Answers[bcAnswerText]
	if !ok || body == "" || n <= 0 || c.st.IdempotencyKey == "" {
		c.stale()
		return nil
	}
	b := campaign.Broadcast{Audience: a, Texts: c.e.broadcastTexts(body), ByChannel: c.sess.Channel, ByChatID: c.sess.ChatID}
	if _, err := c.e.cfg.Broadcasts.CreateBroadcast(c.ctx, &b, c.st.IdempotencyKey); err != nil {
		return fmt.Errorf("create broadcast: %w", err)
	}
	if c.e.cfg.OnQueued != nil {
		c.e.cfg.OnQueued()
	}
	c.toIdle()
	o := Output{Text: c.t("broadcast.queued", "Code", b.Code, "Count", b.Recipients, "N", c.count(b.Recipients), "Audience", c.audienceName(a))}
	if d := broadcastData(bcProgress, b.Code); b.Code != "" && len(d) <= maxData {
		o.Buttons = [][]Button{{{Text: c.t("broadcast.btn_progress"), Data: d}}}
	}
	c.out = append(c.out, o)
	return nil
}

// showBroadcastProgress says where the messages of broadcast code stand, with a button to look
// again while some are left to send.
func (c broadcastTurn) showBroadcastProgress(code string) error {
	p, err := c.e.cfg.Broadcasts.BroadcastProgress(c.ctx, code)
	if campaign.ErrorCode(err) == campaign.ENOTFOUND {
		c.say(c.t("broadcast.not_found", "Code", clip(code, 30)))
		c.resume("")
		return nil
	}
	if err != nil {
		return fmt.Errorf("broadcast progress: %w", err)
	}
	loc := c.e.cfg.Campaign.Location
	if loc == nil {
		loc = time.UTC
	}
	state := c.t("broadcast.progress_sending")
	if p.Done() {
		state = c.t("broadcast.progress_done")
	}
	o := Output{Text: c.t("broadcast.progress", "Code", p.Code, "Audience", c.audienceName(p.Audience),
		"At", p.CreatedAt.In(loc).Format("15:04 02/01"), "Sent", c.count(p.Sent), "Total", c.count(p.Recipients),
		"Bar", campaign.ProgressBar(p.Sent, p.Recipients, 10), "Queued", c.count(p.Queued), "Failed", c.count(p.Failed),
		"Stopped", c.count(p.Stopped), "Unreachable", c.count(p.Unreachable), "State", state)}
	if d := broadcastData(bcProgress, p.Code); !p.Done() && len(d) <= maxData {
		o.Buttons = [][]Button{{{Text: c.t("broadcast.btn_progress"), Data: d}}}
	}
	c.out = append(c.out, o)
	c.resume("")
	return nil
}
