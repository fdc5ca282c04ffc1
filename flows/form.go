package flows

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"github.com/thuduc/maytinhchoem/campaign"
)

// fieldKind says how a field is asked and answered.
type fieldKind int

const (
	kindText   fieldKind = iota // typed text, checked by parse
	kindChoice                  // one of options: a button, or typed and matched (or parsed)
	kindMulti                   // several of options, ticked in place, then "done"
	kindPhone                   // a number typed or shared as a contact, asked with a reply keyboard
	kindWard                    // one of the campaign's wards: paged buttons, or typed and matched
)

// option is one choice of a choice or multi-choice field.
type option struct {
	value string
	label string         // message id of its button text
	data  map[string]any // template data of label
	words string         // message id of other words ("a|b|c") that choose it when typed; "" for none
	// exclusive is an option of a multi-choice that excludes the others ("none of these"):
	// ticking it unticks them, ticking another unticks it.
	exclusive bool
}

// field is one question of a form. Fields are data: the form engine asks them in order, checks
// the answers and re-asks with the reason when an answer is refused.
type field struct {
	name   string // the step's name and the answer's key
	kind   fieldKind
	label  string // message id: the field's name on the review
	prompt string // message id: the question
	help   string // message id: what /help says at this step
	// promptData is the prompt's template data.
	promptData func(c *turn) map[string]any
	// options are the choices of kindChoice and kindMulti fields.
	options func(c *turn) []option
	columns int // buttons per row
	// rowSizes, when set, lays the options out in rows of these sizes (grades by school level),
	// the rest in rows of columns.
	rowSizes []int
	// parse checks a typed answer and returns what to store; for kindChoice it replaces matching
	// the typed text with the options.
	parse func(c *turn, text string) (string, error)
	// display shows a stored answer to the user; the answer itself when nil.
	display func(c *turn, value string) string
	// needed says whether the field is asked given the other answers; always when nil.
	needed func(answers map[string]string) bool
	// clears lists answers that no longer hold once this field changes (the grade, after the level).
	clears []string
	// fixed fields are not offered for editing on the review (consent).
	fixed bool
	// minPicks is the fewest choices of a kindMulti field; noneReason is the message when fewer.
	minPicks   int
	noneReason string
	// extra adds rows of buttons under the question.
	extra func(c *turn, f *form) [][]Button
	// control handles the field's own "!" button values; handled is false for values it does not know.
	control func(c *turn, f *form, value string) (handled bool, err error)
	// accepted runs after a valid answer is stored; stop ends the form's progress (consent declined).
	accepted func(c *turn, value string) (stop bool)
	// after runs when a valid answer was stored by accept (typed, shared or pressed), before the
	// form moves on; handled says it took the turn over (the phone's claim offer). An error is a
	// store's: the old state is kept.
	after func(c *turn, value string) (handled bool, err error)
	// more splits a typed answer that goes on with the answer to the field named then ("Trần Minh
	// Khang 5/9/2012"): own is this field's part, rest the other's ("" when there is none), so
	// one message answers two questions.
	more func(c *turn, text string) (own, rest string)
	then string
	// addressField is, for a kindWard field, the field a typed address answers when it is typed
	// to the ward question ("12 đường số 5, khu phố 3, Linh Trung"): the ward it names is taken,
	// and the address with it.
	addressField string
	// formerly lists fields of an older version this one took over: an edit button of such a
	// field, on a review sent before, edits this one.
	formerly []string
}

func (fld *field) show(c *turn, value string) string {
	if fld.display != nil {
		return fld.display(c, value)
	}
	return value
}

func (fld *field) isNeeded(answers map[string]string) bool {
	return fld.needed == nil || fld.needed(answers)
}

// form is a flow made of fields, ending in a review with edit buttons and a submit.
type form struct {
	name   string // State.Flow
	prefix string // first part of its buttons' data
	fields []*field
	// Message ids of the review.
	reviewLabel, reviewTitle, reviewHint, reviewHelp, submitLabel string
	// submit sends the reviewed answers.
	submit func(c *turn, f *form) error
	// locked, when set, says which fields are fixed for this person in this form (an official's
	// ward): answered when the form starts, shown on the review without an edit button, and never
	// answered by the rest of a typed answer to another field.
	locked func(c *turn, fld *field) bool
	// start, when set, starts the form instead of opening it empty and asking its first question
	// (startForm): a check first, or answers filled in.
	start func(c *turn, f *form) error
	// cancelled is the message id /cancel says when it ends the form; "" for "common.cancelled".
	cancelled string
	// main marks the form the greeting's first button and "Làm lại từ đầu" start; one per engine.
	main bool
}

// isLocked reports whether fld is fixed in this form for the person filling it in.
func (f *form) isLocked(c *turn, fld *field) bool {
	return f.locked != nil && fld != nil && f.locked(c, fld)
}

func (f *form) field(name string) *field {
	for _, fld := range f.fields {
		if fld.name == name {
			return fld
		}
	}
	return nil
}

// fieldOrFormer is the field named name, or the one that took over a field of that name.
func (f *form) fieldOrFormer(name string) *field {
	if fld := f.field(name); fld != nil {
		return fld
	}
	for _, fld := range f.fields {
		if slices.Contains(fld.formerly, name) {
			return fld
		}
	}
	return nil
}

// data is the button data of a button of step: "<prefix>:<step>:<value>".
func (f *form) data(step, value string) string {
	return f.prefix + ":" + step + ":" + value
}

// firstMissing is the first needed field without an answer, nil when the form is complete.
func (f *form) firstMissing(answers map[string]string) *field {
	for _, fld := range f.fields {
		if fld.isNeeded(answers) && answers[fld.name] == "" {
			return fld
		}
	}
	return nil
}

// Button values that are not answers. They start with "!", which no answer value does.
const (
	ctlHelp   = "!help"
	ctlCancel = "!cancel"
	ctlRetry  = "!retry"
	ctlKeep   = "!keep"
	ctlDone   = "!done"
	ctlPage   = "!p="
)

// The review step and its button values.
const (
	stepReview   = "review"
	reviewSubmit = "submit"
	reviewEdit   = "edit."
)

// missesBeforeHelp is the miss on which help and cancel are offered beside the question.
const missesBeforeHelp = 3

// draftKey keeps the choices of a multi-choice question until "done", so leaving the question
// (or keeping the old answer when editing) does not change the answer.
func draftKey(name string) string { return "~" + name }

// formTurn is a turn of the form engine (the form dialog every form flow uses); its methods are the
// flow's own (see flowTurn).
type formTurn struct{ *turn }

// formInput handles a message (not a command or button) while a form is in progress.
func (c formTurn) formInput(f *form) error {
	fld := f.field(c.st.Step)
	if fld == nil && c.st.Step != stepReview {
		return c.advance(f) // a step this version does not know: ask what is missing
	}
	switch c.in.Kind {
	case KindEdited:
		c.reask(f, c.t("common.edited"))
		return nil
	case KindText:
		if strings.TrimSpace(c.in.Text) == "" {
			break
		}
		if fld == nil {
			c.miss(f, refuse("common.use_buttons"), false)
			return nil
		}
		return c.answerText(f, fld, c.in.Text)
	case KindContact:
		if fld != nil && fld.kind == kindPhone && c.in.Contact != nil {
			if c.in.Contact.UserID == "" || c.in.Contact.UserID != c.in.UserID {
				c.miss(f, refuse("reg.err.contact_not_own"), false)
				return nil
			}
			return c.answerText(f, fld, c.in.Contact.Phone)
		}
	}
	c.miss(f, refuse("common.need_text"), false)
	return nil
}

func (c formTurn) answerText(f *form, fld *field, text string) error {
	if fld.more != nil {
		own, rest := fld.more(c.turn, text)
		next := f.field(fld.then)
		if rest != "" && next != nil && next.isNeeded(c.st.Answers) && !f.isLocked(c.turn, next) {
			return c.answerTwo(f, fld, own, next, rest)
		}
		if rest == "" || f.isLocked(c.turn, next) {
			text = own // the rest would answer a fixed field: it goes
		}
	}
	switch fld.kind {
	case kindMulti:
		return c.typedMulti(f, fld, text)
	case kindWard:
		return c.typedWard(f, fld, text)
	case kindChoice:
		if fld.parse == nil {
			if o, ok := c.matchOption(fld.options(c.turn), text); ok {
				return c.accept(f, fld, o.value)
			}
			c.miss(f, refuse("common.use_buttons"), false)
			return nil
		}
	}
	v, err := fld.parse(c.turn, text)
	if inv := (*invalid)(nil); err != nil && !errors.As(err, &inv) {
		return err // a store failed while checking (a pledge code looked up): the state is kept
	}
	if err != nil {
		c.miss(f, err, false)
		return nil
	}
	return c.accept(f, fld, v)
}

// answerTwo takes a typed answer that answers next too: own must do for fld, else the whole is
// refused as if typed alone; rest then answers next as if typed to it, so a rest refused asks
// next with the reason, fld's answer kept.
func (c formTurn) answerTwo(f *form, fld *field, own string, next *field, rest string) error {
	v, err := fld.parse(c.turn, own)
	if inv := (*invalid)(nil); err != nil && !errors.As(err, &inv) {
		return err
	}
	if err != nil {
		c.miss(f, err, false)
		return nil
	}
	if c.store(f, fld, v) {
		return nil
	}
	c.st.Step = next.name
	return c.answerText(f, next, rest)
}

// formChoice handles a button of the current step.
func (c formTurn) formChoice(f *form, value string) error {
	fld := f.field(c.st.Step)
	switch value {
	case ctlHelp:
		c.help()
		return nil
	case ctlRetry:
		c.st.Misses = 0
		c.reask(f, "")
		return nil
	case ctlCancel:
		c.cancel()
		return nil
	case ctlKeep:
		if fld != nil && c.st.Editing && c.st.Answers[fld.name] != "" {
			delete(c.st.Answers, draftKey(fld.name))
			return c.advance(f)
		}
	}
	if fld == nil {
		if c.st.Step == stepReview {
			return c.reviewChoice(f, value)
		}
		c.stale()
		return nil
	}
	if fld.control != nil && strings.HasPrefix(value, "!") {
		if handled, err := fld.control(c.turn, f, value); handled {
			return err
		}
	}
	switch fld.kind {
	case kindChoice:
		if o, ok := findOption(fld.options(c.turn), value); ok {
			c.notice = c.t("common.chosen", "Label", withoutSymbols(c.e.text(c.lang, o.label, o.data)))
			return c.accept(f, fld, o.value)
		}
	case kindMulti:
		if value == ctlDone {
			return c.finishMulti(f, fld, true)
		}
		if _, ok := findOption(fld.options(c.turn), value); ok {
			c.toggle(fld, value)
			c.ask(f, fld, "", true)
			return nil
		}
	case kindWard:
		if p, ok := strings.CutPrefix(value, ctlPage); ok {
			if n, err := strconv.Atoi(p); err == nil && n >= 0 {
				c.st.Page = n
				c.ask(f, fld, "", true)
				return nil
			}
		}
		if w, ok := c.e.cfg.Campaign.Ward(value); ok {
			c.notice = c.t("common.chosen", "Label", w.DisplayName(c.lang))
			return c.acceptWard(f, fld, w, "")
		}
	}
	c.stale()
	return nil
}

// accept stores a valid answer and moves on.
func (c *turn) accept(f *form, fld *field, value string) error {
	if (formTurn{c}).store(f, fld, value) {
		return nil
	}
	if fld.after != nil {
		if handled, err := fld.after(c, value); handled || err != nil {
			return err
		}
	}
	return c.advance(f)
}

// store keeps a valid answer, drops what it makes wrong or not needed, and runs the field's
// accepted; stop is accepted's.
func (c formTurn) store(f *form, fld *field, value string) (stop bool) {
	c.st.Answers[fld.name] = value
	delete(c.st.Answers, draftKey(fld.name))
	for _, k := range fld.clears {
		delete(c.st.Answers, k)
	}
	for _, g := range f.fields {
		if !g.isNeeded(c.st.Answers) {
			delete(c.st.Answers, g.name)
		}
	}
	c.st.Misses = 0
	return fld.accepted != nil && fld.accepted(c.turn, value)
}

// advance asks the first question still unanswered, or shows the review when none is. While
// editing from the review that is the review again, unless the change made another answer
// needed (a new level needs a new grade).
func (c *turn) advance(f *form) error {
	c.st.Page = 0
	c.st.Misses = 0
	if next := f.firstMissing(c.st.Answers); next != nil {
		c.st.Step = next.name
		c.ask(f, next, "", false)
		return nil
	}
	c.st.Step = stepReview
	c.st.Editing = false
	c.showReview(f, "")
	return nil
}

// miss counts a refused answer and asks again with the reason.
func (c formTurn) miss(f *form, err error, edit bool) {
	c.st.Misses++
	c.reaskEdit(f, c.reason(err), edit)
}

// reason is the message for a refused answer.
func (c *turn) reason(err error) string {
	var inv *invalid
	if errors.As(err, &inv) {
		return c.e.text(c.lang, inv.ID, inv.Data)
	}
	return c.t("common.use_buttons")
}

// reask asks the current step again, with reason before it when not "".
func (c formTurn) reask(f *form, reason string) { c.reaskEdit(f, reason, false) }

func (c formTurn) reaskEdit(f *form, reason string, edit bool) {
	fld := f.field(c.st.Step)
	if fld == nil && c.st.Step != stepReview {
		// A step this version does not know (a state saved by another version): the first
		// question still unanswered, else the review.
		c.st.Step = stepReview
		if fld = f.firstMissing(c.st.Answers); fld != nil {
			c.st.Step = fld.name
		}
	}
	if fld != nil {
		c.ask(f, fld, reason, edit)
		return
	}
	c.showReview(f, reason)
}

// ask sends the question of fld with its buttons; edit re-draws the message whose button was
// pressed instead (ticks, pages).
func (c *turn) ask(f *form, fld *field, reason string, edit bool) {
	var b strings.Builder
	for _, s := range []string{c.lead, reason} {
		if s != "" {
			b.WriteString(s)
			b.WriteString("\n\n")
		}
	}
	c.lead = ""
	current := c.st.Answers[fld.name]
	if c.st.Editing && current != "" {
		b.WriteString(c.t("common.current", "Value", fld.show(c, current)))
		b.WriteString("\n")
	}
	var pd map[string]any
	if fld.promptData != nil {
		pd = fld.promptData(c)
	}
	b.WriteString(c.e.text(c.lang, fld.prompt, pd))
	o := Output{Text: b.String(), Replace: edit}
	switch fld.kind {
	case kindChoice:
		o.Buttons = formTurn{c}.optionRows(f, fld, nil)
	case kindMulti:
		o.Buttons = formTurn{c}.optionRows(f, fld, formTurn{c}.selection(fld))
		o.Buttons = append(o.Buttons, []Button{{Text: c.t("common.btn_done"), Data: f.data(fld.name, ctlDone)}})
	case kindWard:
		o.Buttons = formTurn{c}.wardRows(f, fld)
	case kindPhone:
		o.AskContact = &ContactRequest{Label: c.t("reg.phone.share")}
		prefill := c.st.Answers[lastPrefix+fld.name]
		if c.st.Editing && current != "" {
			prefill = current
		}
		if prefill != "" {
			// Sending it sends the number as text, which is checked like a typed one.
			o.AskContact.Suggestions = []string{phoneDisplay(prefill)}
		}
	}
	if fld.extra != nil {
		o.Buttons = append(o.Buttons, fld.extra(c, f)...)
	}
	if c.st.Editing && current != "" && o.AskContact == nil {
		o.Buttons = append(o.Buttons, []Button{{Text: c.t("common.btn_keep"), Data: f.data(fld.name, ctlKeep)}})
	}
	stuck := c.st.Misses >= missesBeforeHelp
	if stuck && o.AskContact == nil {
		o.Buttons = append(o.Buttons, formTurn{c}.stuckRow(f))
	}
	c.out = append(c.out, o)
	if stuck && o.AskContact != nil {
		// The request for the phone stays alone with its question; the offer of help follows.
		c.out = append(c.out, Output{Text: c.t("common.stuck"), Buttons: [][]Button{formTurn{c}.stuckRow(f)}})
	}
}

// stuckRow offers help, cancelling or trying again, after repeated misses.
func (c formTurn) stuckRow(f *form) []Button {
	return []Button{
		{Text: c.t("common.btn_help"), Data: f.data(c.st.Step, ctlHelp)},
		{Text: c.t("common.btn_cancel"), Data: f.data(c.st.Step, ctlCancel)},
		{Text: c.t("common.btn_retry"), Data: f.data(c.st.Step, ctlRetry)},
	}
}

// optionRows lays out a field's options as buttons, ticking those in ticked.
func (c formTurn) optionRows(f *form, fld *field, ticked []string) [][]Button {
	var buttons []Button
	for _, o := range fld.options(c.turn) {
		text := c.e.text(c.lang, o.label, o.data)
		if slices.Contains(ticked, o.value) {
			text = c.t("common.ticked", "Label", text)
		}
		buttons = append(buttons, Button{Text: text, Data: f.data(fld.name, o.value)})
	}
	var rows [][]Button
	for _, n := range fld.rowSizes {
		if n = min(n, len(buttons)); n > 0 {
			rows = append(rows, buttons[:n:n])
			buttons = buttons[n:]
		}
	}
	return append(rows, grid(buttons, fld.columns)...)
}

// grid lays buttons out in rows of n (1 when n < 1).
func grid(buttons []Button, n int) [][]Button {
	n = max(n, 1)
	var rows [][]Button
	for len(buttons) > 0 {
		k := min(n, len(buttons))
		rows = append(rows, buttons[:k:k])
		buttons = buttons[k:]
	}
	return rows
}

func findOption(opts []option, value string) (option, bool) {
	for _, o := range opts {
		if o.value == value {
			return o, true
		}
	}
	return option{}, false
}

// matchOption finds the option a typed text names: its button text (without emoji or a
// parenthesis) or one of its words, in any language, regardless of accents and case.
func (c *turn) matchOption(opts []option, text string) (option, bool) {
	q := choiceKey(text)
	if q == "" {
		return option{}, false
	}
	for _, o := range opts {
		if slices.Contains(c.e.keysOf(o), q) {
			return o, true
		}
	}
	return option{}, false
}

// keysOf returns the choice keys of o's button text and other words in both languages. They are
// kept once computed: options are data, their texts do not change while the engine runs, and a
// typed answer is matched against every option of its question (rendering and folding them each
// time was a tenth of the bot's CPU per update). Tests that observe message look-ups get them
// computed afresh, so every look-up is seen.
func (e *Engine) keysOf(o option) []string {
	if e.observe != nil {
		return optionKeys(e, o)
	}
	k := o.label + "\x00" + o.words + "\x00" + fmt.Sprint(o.data) // fmt sorts a map's keys
	if v, ok := e.optionKeys.Load(k); ok {
		return v.([]string)
	}
	keys := optionKeys(e, o)
	e.optionKeys.Store(k, keys)
	return keys
}

// optionKeys computes keysOf.
func optionKeys(e *Engine, o option) []string {
	var keys []string
	for _, lang := range []string{langVI, langEN} {
		cands := []string{e.text(lang, o.label, o.data)}
		if o.words != "" {
			cands = append(cands, strings.Split(e.text(lang, o.words, nil), "|")...)
		}
		for _, cand := range cands {
			if k := choiceKey(cand); k != "" {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// choiceKey reduces a button text or typed answer to what matters for matching: folded, without
// leading symbols, a trailing parenthesis or closing punctuation.
func choiceKey(s string) string {
	if len(s) > 200 {
		return ""
	}
	s = campaign.Fold(cleanText(s))
	if i := strings.Index(s, "("); i > 0 {
		s = s[:i]
	}
	return strings.TrimFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// selection is what is ticked on a multi-choice question: the draft, else the stored answer.
func (c formTurn) selection(fld *field) []string {
	v, ok := c.st.Answers[draftKey(fld.name)]
	if !ok {
		v = c.st.Answers[fld.name]
	}
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// setSelection keeps sel as the draft, in the options' order.
func (c formTurn) setSelection(fld *field, sel []string) {
	var ordered []string
	for _, o := range fld.options(c.turn) {
		if slices.Contains(sel, o.value) {
			ordered = append(ordered, o.value)
		}
	}
	c.st.Answers[draftKey(fld.name)] = strings.Join(ordered, ",")
}

func (c formTurn) toggle(fld *field, value string) {
	sel := c.selection(fld)
	if i := slices.Index(sel, value); i >= 0 {
		sel = slices.Delete(sel, i, i+1)
	} else {
		sel = tick(fld.options(c.turn), sel, value)
	}
	c.setSelection(fld, sel)
}

// tick adds value to sel, unticking what it excludes: the others when it is exclusive ("none of
// these"), the exclusive ones when it is not.
func tick(opts []option, sel []string, value string) []string {
	o, _ := findOption(opts, value)
	var out []string
	for _, v := range sel {
		other, _ := findOption(opts, v)
		if v != value && !o.exclusive && !other.exclusive {
			out = append(out, v)
		}
	}
	return append(out, value)
}

// typedMulti takes a typed list as the whole answer: the options it names ("hộ nghèo, khác", or
// "1, 5" by their places, as channels that number choices show them) are ticked, with those
// ticked before, and the question is done, the answer said before the next one. Naming nothing
// but «xong» finishes with what is ticked; a word that names no option asks again.
func (c formTurn) typedMulti(f *form, fld *field, text string) error {
	done := option{value: ctlDone, label: "common.btn_done", words: "common.done_words"}
	opts := fld.options(c.turn)
	var typed []string
	for _, tok := range c.listItems(text) {
		if _, ok := c.matchOption([]option{done}, tok); ok {
			continue
		}
		o, ok := c.matchOption(opts, tok)
		if n, err := strconv.Atoi(strings.TrimSuffix(tok, ".")); !ok && err == nil && n >= 1 && n <= len(opts) {
			o, ok = opts[n-1], true
		}
		if !ok {
			c.miss(f, refuse("common.use_buttons"), false)
			return nil
		}
		typed = append(typed, o.value)
	}
	sel := c.selection(fld)
	before := len(sel)
	for _, exclusiveFirst := range []bool{true, false} {
		// Typed together, the others win over "none of these".
		for _, v := range typed {
			if o, _ := findOption(opts, v); o.exclusive == exclusiveFirst && !slices.Contains(sel, v) {
				sel = tick(opts, sel, v)
			}
		}
	}
	if len(typed) > 0 || len(sel) != before {
		c.setSelection(fld, sel)
	}
	if len(sel) >= fld.minPicks {
		c.lead = c.t("common.chosen", "Label", c.t("common.line", "Label", c.t(fld.label), "Value", fld.show(c.turn, strings.Join(c.selection(fld), ","))))
	}
	return c.finishMulti(f, fld, false)
}

// listItems splits a typed list at commas, semicolons, new lines, "+" and the word "và" (or
// "and"), and numbers written with spaces ("1 3 5") at the spaces; items are trimmed.
func (c formTurn) listItems(text string) []string {
	if len(text) > inputMax {
		return []string{text}
	}
	var items []string
	for _, tok := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ';' || r == '\n' || r == '+' }) {
		words := strings.Fields(tok)
		numbers := len(words) > 1
		var part []string
		for _, w := range words {
			if _, err := strconv.Atoi(strings.TrimSuffix(w, ".")); err != nil {
				numbers = false
			}
			if k := campaign.Fold(w); k == "va" || k == "and" || k == "&" {
				items = append(items, strings.Join(part, " "))
				part = nil
				continue
			}
			part = append(part, w)
		}
		if numbers {
			items = append(items, words...)
			continue
		}
		items = append(items, strings.Join(part, " "))
	}
	out := items[:0]
	for _, it := range items {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out
}

// finishMulti stores the ticked options when there are enough.
//
// Too few ticked on a press of «Xong» redraws the pressed question with the reason only when that
// changes it: the first such miss puts the reason in, and the one that reaches missesBeforeHelp
// adds the offer of help. Any other press would redraw the message exactly as it is, an edit a
// channel that edits messages refuses, so the reason is said in a message of its own.
func (c formTurn) finishMulti(f *form, fld *field, edit bool) error {
	sel := c.selection(fld)
	if len(sel) < fld.minPicks {
		c.st.Misses++
		r := c.t(fld.noneReason)
		if edit && c.st.Misses != 1 && c.st.Misses != missesBeforeHelp {
			c.say(r)
			return nil
		}
		if edit {
			c.notice = r
		}
		c.ask(f, fld, r, edit)
		return nil
	}
	return c.accept(f, fld, strings.Join(sel, ","))
}

// Wards are offered wardsPerPage at a time, two per row; a typed name matching more than
// maxWardChoices wards asks for more of the name. A form's ward question shows a campaign of at
// most wardsAtOnceMax wards on one keyboard, in alphabetical order, up to wardColumns a row and
// about wardRowChars characters of names across (a city's wards, Thủ Đức's 34, are quicker to
// find on one screen than on pages, and long names need the width of a half row on a phone).
const (
	wardsPerPage   = 8
	maxWardChoices = 10
	wardsAtOnceMax = 40
	wardColumns    = 3
	wardRowChars   = 36
)

// wardPage is the page of wards shown (clamped) and the number of pages.
func (c *turn) wardPage() (page, pages int) {
	n := len(c.e.cfg.Campaign.Wards)
	per := wardsPerPage
	if (formTurn{c}).wardsAtOnce() {
		per = max(n, 1)
	}
	pages = max(1, (n+per-1)/per)
	page = min(max(c.st.Page, 0), pages-1)
	c.st.Page = page
	return page, pages
}

// wardsAtOnce reports whether the question asked is a form's ward question of a campaign with
// few enough wards to show them all at once.
func (c formTurn) wardsAtOnce() bool {
	f := c.form()
	if f == nil || len(c.e.cfg.Campaign.Wards) > wardsAtOnceMax {
		return false
	}
	fld := f.field(c.st.Step)
	return fld != nil && fld.kind == kindWard
}

func (c formTurn) wardRows(f *form, fld *field) [][]Button {
	data := func(v string) string { return f.data(fld.name, v) }
	if !c.wardsAtOnce() {
		return c.wardPageRows(data)
	}
	wards := slices.Clone(c.e.cfg.Campaign.Wards)
	order := collate.New(language.Vietnamese)
	slices.SortStableFunc(wards, func(a, b campaign.Ward) int { return order.CompareString(a.ShortName, b.ShortName) })
	buttons := make([]Button, 0, len(wards))
	for _, w := range wards {
		buttons = append(buttons, Button{Text: w.ShortName, Data: data(w.Code)})
	}
	return packRows(buttons, wardColumns, wardRowChars)
}

// packRows lays buttons out in order, up to columns a row, starting a new row when the row's
// buttons, each as wide as its widest, would pass width characters.
func packRows(buttons []Button, columns, width int) [][]Button {
	var rows [][]Button
	var row []Button
	widest := 0
	for _, b := range buttons {
		n := utf8.RuneCountInString(b.Text)
		if len(row) > 0 && (len(row) == columns || (len(row)+1)*max(widest, n) > width) {
			rows = append(rows, row)
			row, widest = nil, 0
		}
		row = append(row, b)
		widest = max(widest, n)
	}
	if len(row) > 0 {
		rows = append(rows, row)
	}
	return rows
}

// wardPageRows lays out the shown page of wards, two per row, with previous/next buttons; data
// makes a button's button data from a ward code or a page control.
func (c formTurn) wardPageRows(data func(value string) string) [][]Button {
	page, pages := c.wardPage()
	wards := c.e.cfg.Campaign.Wards
	end := min((page+1)*wardsPerPage, len(wards))
	var buttons []Button
	for _, w := range wards[page*wardsPerPage : end] {
		buttons = append(buttons, Button{Text: w.ShortName, Data: data(w.Code)})
	}
	rows := grid(buttons, 2)
	var nav []Button
	if page > 0 {
		nav = append(nav, Button{Text: c.t("reg.ward.prev"), Data: data(ctlPage + strconv.Itoa(page-1))})
	}
	if page < pages-1 {
		nav = append(nav, Button{Text: c.t("reg.ward.next"), Data: data(ctlPage + strconv.Itoa(page+1))})
	}
	if nav != nil {
		rows = append(rows, nav)
	}
	return rows
}

// matchTypedWard matches a ward name typed outside a form (staff's invitation, a broadcast's
// ward) as the registration does: one match is chosen (choose, with a line saying which), a few
// are offered as buttons whose data data makes, none or too many ask again (ask) with the reason
// and the list from its first page.
func (c formTurn) matchTypedWard(text string, choose func(code string) error, ask func(reason string), data func(string) string) error {
	var matches []campaign.Ward
	if len(text) <= 200 {
		matches = c.e.cfg.Campaign.MatchWards(cleanText(text))
	}
	query := clip(text, 40)
	switch {
	case len(matches) == 1:
		c.lead = c.t("reg.ward.chosen", "Ward", matches[0].DisplayName(c.lang))
		return choose(matches[0].Code)
	case len(matches) == 0:
		c.st.Page = 0
		ask(c.t("reg.err.ward_not_found", "Query", query))
	case len(matches) > maxWardChoices:
		c.st.Page = 0
		ask(c.t("reg.ward.too_many", "Query", query, "Count", len(matches)))
	default:
		c.out = append(c.out, c.wardChoices(matches, query, data))
	}
	return nil
}

// typedWard matches a typed ward name: one match is taken (and said), several are offered as
// buttons, too many show the list. An address typed instead (when the field takes one) is kept,
// with the ward it names. A name that matches none gets the nearest names offered ("Ý bạn
// là…?", which "đúng" answers), else the list.
func (c formTurn) typedWard(f *form, fld *field, text string) error {
	camp := c.e.cfg.Campaign
	data := func(v string) string { return f.data(fld.name, v) }
	var clean string
	if len(text) <= 4*addressMax {
		clean = cleanText(text)
	}
	if code := c.st.Answers[draftKey(fld.name)]; code != "" && c.typedYes(clean, "reg.ward.yes_words") {
		if w, ok := camp.Ward(code); ok {
			c.lead = c.t("reg.ward.chosen", "Ward", w.DisplayName(c.lang))
			return c.acceptWard(f, fld, w, "")
		}
	}
	delete(c.st.Answers, draftKey(fld.name))
	var matches []campaign.Ward
	if len(clean) <= 200 {
		matches = camp.MatchWards(clean)
	}
	query := clip(text, 40)
	if len(matches) == 1 {
		c.lead = c.t("reg.ward.chosen", "Ward", matches[0].DisplayName(c.lang))
		return c.acceptWard(f, fld, matches[0], "")
	}
	if len(matches) > 1 && len(matches) <= maxWardChoices {
		c.out = append(c.out, c.wardChoices(matches, query, data))
		return nil
	}
	address := ""
	if fld.addressField != "" && addressLike(clean) {
		address, _ = parseFreeText(clean, addressMin, addressMax)
	}
	if w, ok := camp.WardIn(clean); ok {
		// "12 đường số 5, P. Linh Trung", or "UBND phường Linh Trung".
		if address == "" {
			c.lead = c.t("reg.ward.chosen", "Ward", w.DisplayName(c.lang))
		} else {
			c.lead = c.t("reg.ward.chosen_address", "Ward", w.DisplayName(c.lang), "Address", address)
		}
		return c.acceptWard(f, fld, w, address)
	}
	if len(matches) > maxWardChoices {
		c.st.Page = 0
		c.ask(f, fld, c.t("reg.ward.too_many", "Query", query, "Count", len(matches)), false)
		return nil
	}
	lead := c.t("reg.ward.near_miss", "Query", query)
	if address != "" {
		// The address is kept for when the ward is chosen: nothing typed is lost.
		c.st.Answers[draftKey(fld.addressField)] = address
		lead = c.t("reg.ward.address_kept")
	}
	if near := camp.SuggestWards(clean); len(near) > 0 {
		if address == "" {
			c.st.Misses++
		}
		if len(near) == 1 {
			c.st.Answers[draftKey(fld.name)] = near[0].Code
		}
		c.out = append(c.out, c.wardSuggestion(near, lead, data))
		return nil
	}
	c.st.Page = 0
	if address != "" {
		c.ask(f, fld, c.t("reg.ward.address_kept"), false)
		return nil
	}
	c.st.Misses++
	c.ask(f, fld, c.t("reg.err.ward_not_found", "Query", query), false)
	return nil
}

// addressLike reports whether a text typed to the ward question looks like a home address rather
// than a ward's name: at least three words and a number, as a house, lane or quarter has ("12
// đường số 5", "khu phố 3"). "Linh Trung, Thủ Đức" names the ward only: the address is asked.
func addressLike(s string) bool {
	return len(strings.Fields(s)) >= 3 && strings.IndexFunc(s, unicode.IsDigit) >= 0
}

// acceptWard takes w as the ward question's answer, with the address typed with it (or kept
// from before, when the ward was not found in it) as the answer of the field's addressField.
func (c formTurn) acceptWard(f *form, fld *field, w campaign.Ward, address string) error {
	if fld.addressField != "" {
		if address == "" {
			address = c.st.Answers[draftKey(fld.addressField)]
		}
		delete(c.st.Answers, draftKey(fld.addressField))
		if address != "" {
			c.st.Answers[fld.addressField] = address
		}
	}
	return c.accept(f, fld, w.Code)
}

// wardSuggestion offers the wards nearest a name that matched none, and the whole list, after
// lead (what was not found).
func (c formTurn) wardSuggestion(near []campaign.Ward, lead string, data func(value string) string) Output {
	var rows [][]Button
	for _, w := range near {
		rows = append(rows, []Button{{Text: c.t("reg.ward.suggested", "Ward", w.ShortName), Data: data(w.Code)}})
	}
	rows = append(rows, []Button{{Text: c.t("reg.ward.all"), Data: data(ctlPage + "0")}})
	text := c.t("reg.ward.suggest_several")
	if len(near) == 1 {
		text = c.t("reg.ward.suggest_one", "Ward", near[0].DisplayName(c.lang))
	}
	return Output{Text: lead + " " + text, Buttons: rows}
}

// typedYes reports whether text is one of the words of the message id words ("có|đúng"), in
// either language.
func (c formTurn) typedYes(text, words string) bool {
	_, ok := c.matchOption([]option{{value: "yes", label: words, words: words}}, text)
	return ok
}

// wardChoices offers the wards a typed name matched, and the whole list; data makes a button's
// button data from a ward code or a page control.
func (c formTurn) wardChoices(matches []campaign.Ward, query string, data func(value string) string) Output {
	var buttons []Button
	for _, w := range matches {
		buttons = append(buttons, Button{Text: w.ShortName, Data: data(w.Code)})
	}
	rows := grid(buttons, 2)
	rows = append(rows, []Button{{Text: c.t("reg.ward.all"), Data: data(ctlPage + "0")}})
	return Output{Text: c.t("reg.ward.several", "Count", len(matches), "Query", query), Buttons: rows}
}

// showReview lists every answer with a button to edit each and one to submit.
func (c *turn) showReview(f *form, reason string) {
	var b strings.Builder
	for _, s := range []string{c.lead, reason} {
		if s != "" {
			b.WriteString(s)
			b.WriteString("\n\n")
		}
	}
	c.lead = ""
	b.WriteString(c.t(f.reviewTitle))
	var edits []Button
	for _, fld := range f.fields {
		v := c.st.Answers[fld.name]
		if fld.fixed || v == "" {
			continue
		}
		label := c.t(fld.label)
		b.WriteString("\n")
		b.WriteString(c.t("common.line", "Label", label, "Value", fld.show(c, v)))
		if f.isLocked(c, fld) {
			continue
		}
		edits = append(edits, Button{Text: c.t("common.btn_edit", "Field", label), Data: f.data(stepReview, reviewEdit+fld.name)})
	}
	b.WriteString("\n\n")
	b.WriteString(c.t(f.reviewHint))
	rows := grid(edits, 2)
	rows = append(rows, []Button{{Text: c.t(f.submitLabel), Data: f.data(stepReview, reviewSubmit)}})
	if c.st.Misses >= missesBeforeHelp {
		rows = append(rows, formTurn{c}.stuckRow(f))
	}
	c.out = append(c.out, Output{Text: b.String(), Buttons: rows})
}

// reviewChoice submits or starts editing one answer.
func (c formTurn) reviewChoice(f *form, value string) error {
	if value == reviewSubmit {
		return f.submit(c.turn, f)
	}
	if name, ok := strings.CutPrefix(value, reviewEdit); ok {
		if fld := f.fieldOrFormer(name); fld != nil && !fld.fixed && !f.isLocked(c.turn, fld) && c.st.Answers[fld.name] != "" {
			c.st.Step = fld.name
			c.st.Editing = true
			c.st.Misses = 0
			c.st.Page = 0
			if fld.kind == kindWard {
				c.st.Page = slices.IndexFunc(c.e.cfg.Campaign.Wards, func(w campaign.Ward) bool {
					return w.Code == c.st.Answers[fld.name]
				}) / wardsPerPage
			}
			c.ask(f, fld, "", false)
			return nil
		}
	}
	c.stale()
	return nil
}

// submitOnce stores a reviewed form through submit with the form's idempotency key (set into *key,
// and chosen now if the form has none yet), so a retried submit gets the first record back. A
// store that finds the record invalid shows the review again with the message invalidID
// (submitted false, no error); any other failure is returned, the state kept.
func (c *turn) submitOnce(f *form, key *string, invalidID string, submit func() error) (submitted bool, err error) {
	if *key == "" {
		c.st.IdempotencyKey = c.e.cfg.NewKey()
		*key = c.st.IdempotencyKey
	}
	if err := submit(); err != nil {
		if campaign.ErrorCode(err) == campaign.EINVALID {
			c.st.Misses = 0
			c.showReview(f, c.t(invalidID))
			return false, nil
		}
		return false, fmt.Errorf("submit %s: %w", f.name, err)
	}
	return true, nil
}
