package flows

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/chat"
	"github.com/thuduc/maytinhchoem/locales"
)

// Config is what an Engine needs from the outside.
type Config struct {
	Campaign      *campaign.Campaign
	Registrations campaign.RegistrationStore
	Contacts      campaign.ContactStore // may be nil: the chosen language then lives only in State
	Now           func() time.Time      // the clock; time.Now when nil
	// IdleExpiry is how long an untouched form is kept; an older one is dropped and the user told.
	// Default 7 days.
	IdleExpiry time.Duration
	// NewKey returns a new idempotency key for a form; default 16 random bytes in hex.
	NewKey func() string
	// Staff keeps staff roles and invitations; nil turns the staff commands off (they say so).
	Staff campaign.StaffStore
	// Audit records refused staff commands; may be nil.
	Audit campaign.AuditLog
	// Admins are the account ids of administrators: "<channel>:<id>" matches that id on that
	// channel only; a bare "12345" matches it on any channel.
	Admins []string
	// Entries gives, for a start payload, how to reach the bot with it on each channel it runs
	// on (invitation links); required with Staff. The first entry is the main one.
	Entries func(payload string) []chat.Entry
	// InvitationTTL is how long an invitation link works; default 72 hours.
	InvitationTTL time.Duration
	// Pledges keeps donors' pledges; nil turns /pledge and /pledges off (they say so).
	Pledges campaign.PledgeStore
	// MoneyCeiling (VND) is the pledged sum above which the donor is asked to confirm it;
	// default DefaultMoneyCeiling.
	MoneyCeiling int64
	// Devices keeps devices and counted stock; nil turns /intake, /myintake and /device off (they
	// say so).
	Devices campaign.DeviceStore
	// Money keeps money received and devices bought with it; nil turns /money and /buy off.
	Money campaign.MoneyStore
	// Cases keeps verification, allocation and delivery; nil turns /verify, /allocate and
	// /deliveries off (they say so).
	Cases campaign.CaseStore
	// Messages keeps families' messages to officials ("talk to an official"); nil gives families
	// the contacts instead.
	Messages campaign.MessageStore
	// Find looks records up for /find; nil turns /find off. /find also uses Pledges and Devices.
	Find campaign.FindStore
	// Exporter writes /export files; nil turns /export off.
	Exporter campaign.Exporter
	// Progress counts the campaign's figures for /summary; nil turns it off.
	Progress campaign.ProgressStore
	// Chart draws the summary's chart; nil sends the summary as text only.
	Chart ChartFunc
	// ConfirmAfter is how long after a hand-over a delivery becomes final without the parent's
	// "Đã nhận" (the parent is told); default DefaultConfirmAfter.
	ConfirmAfter time.Duration
	// Subscriptions keeps who gets the daily summary and the milestones; nil turns /subscribe and
	// /unsubscribe off (they say so).
	Subscriptions campaign.SubscriptionStore
	// Broadcasts records announcements and queues their messages; nil turns /broadcast off.
	Broadcasts campaign.BroadcastStore
	// Family keeps what a family does with its own registrations (/mydata's corrections and
	// withdrawals, an administrator's /erase); nil leaves /mydata showing what is kept only.
	Family campaign.FamilyStore
	// Eraser erases a family's personal data everywhere (/mydata's deletion, /erase); nil
	// turns deletion off.
	Eraser campaign.Eraser
	// Lists stores the lists of children schools and wards send (/import), read by ListReader
	// from files Files opens; any of them nil turns /import off.
	Lists      campaign.ListStore
	ListReader campaign.ListReader
	Files      FileOpener
	// Claims links the registrations of lists and assisted registrations to the family's chat
	// when the family shares their phone (claim.go); nil turns claiming off.
	Claims campaign.ClaimStore
	// OnQueued, when set, is called after a store call queued messages in the outbox (a
	// broadcast's, or notices to other people: see notice.go), to wake the outbox's sender.
	OnQueued func()
}

// DefaultConfirmAfter is Config.ConfirmAfter when zero.
const DefaultConfirmAfter = 7 * 24 * time.Hour

// DefaultInvitationTTL is how long an invitation link works when Config.InvitationTTL is zero.
const DefaultInvitationTTL = 72 * time.Hour

// DefaultIdleExpiry is how long an untouched form is kept when Config.IdleExpiry is zero.
const DefaultIdleExpiry = 7 * 24 * time.Hour

// Command is a bot command with its description, for a channel's command menu.
type Command struct {
	Name        string
	Description string
}

// Engine runs the conversations. It holds no per-chat data: everything a chat needs is in its
// State, so one Engine serves every chat concurrently.
type Engine struct {
	cfg       Config
	cat       *locales.Catalog
	routes    *routes // the registry's flows, and any a test added to this engine (addFlow)
	forms     []*form
	mainForm  *form // the form the greeting's first button and "Làm lại từ đầu" start (form.main)
	deepLinks []deepLink
	// observe, when set (by tests), sees every message id looked up and the lookup's error.
	observe func(id string, err error)
	// optionKeys holds the choice keys of options' texts once computed (see Engine.optionKeys).
	optionKeys sync.Map
}

// NewEngine checks cfg, fills its defaults and loads the messages.
func NewEngine(cfg Config) (*Engine, error) {
	if cfg.Campaign == nil {
		return nil, errors.New("flows: Config.Campaign is required")
	}
	if cfg.Registrations == nil {
		return nil, errors.New("flows: Config.Registrations is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.IdleExpiry <= 0 {
		cfg.IdleExpiry = DefaultIdleExpiry
	}
	if cfg.NewKey == nil {
		cfg.NewKey = randomKey
	}
	if cfg.MoneyCeiling <= 0 {
		cfg.MoneyCeiling = DefaultMoneyCeiling
	}
	if cfg.ConfirmAfter <= 0 {
		cfg.ConfirmAfter = DefaultConfirmAfter
	}
	if cfg.InvitationTTL <= 0 {
		cfg.InvitationTTL = DefaultInvitationTTL
	}
	cfg.Admins = cleanAdmins(cfg.Admins)
	cat, err := locales.Load()
	if err != nil {
		return nil, fmt.Errorf("flows: %w", err)
	}
	e := &Engine{cfg: cfg, cat: cat, routes: registry.clone()}
	// Each flow adds what depends on the Config: its forms, its /start payloads.
	for _, f := range e.routes.flows {
		if err := f.Setup(e); err != nil {
			return nil, err
		}
	}
	if e.mainForm == nil {
		return nil, errors.New("flows: no main form registered")
	}
	return e, nil
}

// addForm adds a form to the engine (from a flow's Setup), refusing a name or prefix already
// taken; a form marked main is the one the greeting starts.
func (e *Engine) addForm(f *form) error {
	if e.formNamed(f.name) != nil || e.formWithPrefix(f.prefix) != nil || f.prefix == globalPrefix {
		return fmt.Errorf("flows: form %q (prefix %q) added twice", f.name, f.prefix)
	}
	if _, taken := e.routes.buttons[f.prefix]; taken {
		return fmt.Errorf("flows: form %q: button prefix %q taken", f.name, f.prefix)
	}
	if _, taken := e.routes.dialogAt(f.name); taken {
		return fmt.Errorf("flows: form %q: name taken by a dialog", f.name)
	}
	if f.main {
		if e.mainForm != nil {
			return fmt.Errorf("flows: two main forms (%q, %q)", e.mainForm.name, f.name)
		}
		e.mainForm = f
	}
	e.forms = append(e.forms, f)
	return nil
}

func randomKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// maxData is the most bytes a button's data may hold: what every channel carries back.
const maxData = chat.MaxDataBytes

// messageMax is the most characters flows put in one message, a screenful or two on a cheap
// phone. A channel whose limit is lower splits a longer one at its line breaks.
const messageMax = 4000

// deepLink handles a /start payload: an exact payload, or a prefix when prefix is set.
type deepLink struct {
	payload string
	prefix  bool
	handle  func(c *turn, payload string) error
}

// Language is the language to talk in: st.Lang when chosen with /lang, else English for users whose
// app is in English, else Vietnamese.
func (e *Engine) Language(st State, in Input) string {
	switch st.Lang {
	case langVI, langEN:
		return st.Lang
	}
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(in.ClientLanguage)), "en") {
		return langEN
	}
	return langVI
}

// Commands lists the bot's commands with descriptions in lang, for the channel's command menu:
// those their flows put in it (flowCommand.menu), in their rank. Staff commands (/invite, /staff,
// /revoke, /whoami) are typed and left out, to keep it short.
func (e *Engine) Commands(lang string) []Command {
	var cmds []flowCommand
	for _, c := range e.routes.commands {
		if c.menu != "" && (c.shown == nil || c.shown(e)) {
			cmds = append(cmds, c)
		}
	}
	slices.SortFunc(cmds, func(a, b flowCommand) int { return cmp.Or(a.rank-b.rank, strings.Compare(a.name, b.name)) })
	out := make([]Command, 0, len(cmds))
	for _, c := range cmds {
		out = append(out, Command{Name: c.name, Description: e.text(lang, c.menu, nil)})
	}
	return out
}

// ErrorReply is the polite message for an error that Handle (or the bot) returned, in lang. It
// depends only on the error's code (campaign.ErrorCode), never on its text.
func (e *Engine) ErrorReply(lang string, err error) Output {
	id := "err.temporary"
	switch campaign.ErrorCode(err) {
	case campaign.ENOTFOUND:
		id = "err.not_found"
	case campaign.EINVALID:
		id = "err.invalid"
	case campaign.EUNAUTHORIZED:
		id = "err.unauthorized"
	case campaign.ECONFLICT:
		id = "err.conflict"
	}
	return Output{Text: e.text(lang, id, nil)}
}

func (e *Engine) text(lang, id string, data map[string]any) string {
	s, err := e.cat.Text(lang, id, data)
	if e.observe != nil {
		e.observe(id, err)
	}
	return s
}

func (e *Engine) formNamed(name string) *form {
	for _, f := range e.forms {
		if f.name == name {
			return f
		}
	}
	return nil
}

func (e *Engine) formWithPrefix(prefix string) *form {
	for _, f := range e.forms {
		if f.prefix == prefix {
			return f
		}
	}
	return nil
}

// Handle runs one input against a chat's state and returns the next state and the messages to
// send. It returns an error only when a store failed: the caller then keeps the old state, so
// nothing the user entered is lost, and sends ErrorReply.
func (e *Engine) Handle(ctx context.Context, sess Session, st State, in Input) (State, []Output, error) {
	c := &turn{e: e, ctx: ctx, sess: sess, in: in, now: e.cfg.Now()}
	next := st
	next.Answers = maps.Clone(st.Answers) // the caller's old state must stay as it was
	if next.Answers == nil {
		// A state read back from storage has no map when it had no answers (omitempty).
		next.Answers = map[string]string{}
	}
	c.st = &next
	c.lang = e.Language(next, in)
	if err := c.run(); err != nil {
		return st, nil, err
	}
	c.finish(st)
	return next, c.out, nil
}

// turn is the handling of one input.
type turn struct {
	e    *Engine
	ctx  context.Context
	sess Session
	in   Input
	st   *State
	lang string
	now  time.Time
	out  []Output
	// lead is a line put before the next question (e.g. which ward a typed name matched).
	lead string
	// notice acknowledges a pressed button (Output.Ack).
	notice string
}

// t returns message id in the turn's language; kv are template data as "Key", value pairs.
func (c *turn) t(id string, kv ...any) string {
	return c.e.text(c.lang, id, dataOf(kv))
}

// say adds a plain message.
func (c *turn) say(text string) {
	c.out = append(c.out, Output{Text: text})
}

// form returns the form in progress, nil when idle.
func (c *turn) form() *form {
	if c.st.Flow == "" {
		return nil
	}
	return c.e.formNamed(c.st.Flow)
}

func (c *turn) run() error {
	if d := c.dialog(); d != nil {
		d.expire(c)
	} else if c.st.Flow != "" && c.form() == nil {
		c.toIdle() // a flow this version does not know (a state saved by another version)
	}
	if c.form() != nil && !c.st.UpdatedAt.IsZero() && c.now.Sub(c.st.UpdatedAt) > c.e.cfg.IdleExpiry {
		days := max(1, int(c.e.cfg.IdleExpiry/(24*time.Hour)))
		c.toIdle()
		c.say(c.t("common.expired", "Count", days))
		if c.in.Kind == KindCommand {
			return c.command()
		}
		c.welcome()
		return nil
	}
	if d := c.dialog(); d != nil && d.leave != nil && (c.in.Kind == KindCommand || c.in.Kind == KindChoice) {
		d.leave(c) // e.g. starting something else ends an answer to officials
	}
	switch c.in.Kind {
	case KindCommand:
		return c.command()
	case KindChoice:
		return c.choice()
	}
	if f := c.form(); f != nil {
		return formTurn{c}.formInput(f)
	}
	if d := c.dialog(); d != nil {
		return d.input(c)
	}
	if c.in.Kind == KindEdited {
		c.say(c.t("common.edited_idle"))
		return nil
	}
	return c.idleMessage()
}

// idleMessage handles a message out of any flow: the first flow that takes it (flowWords, in
// their rank: the answer to officials' open question when the person has one, words like "xóa"),
// else the welcome.
func (c *turn) idleMessage() error {
	for _, w := range c.e.routes.words {
		if handled, err := w.take(c); handled || err != nil {
			return err
		}
	}
	c.welcome()
	return nil
}

// finish stamps the state and makes sure a reply keyboard from a question that is no longer
// asked goes away.
func (c *turn) finish(old State) {
	if c.st.Flow == "" {
		c.toIdle()
	} else if c.st.StartedAt.IsZero() {
		c.st.StartedAt = c.now
	}
	c.st.UpdatedAt = c.now
	if c.notice != "" && c.in.Kind == KindChoice && len(c.out) > 0 && c.out[0].Ack == "" {
		c.out[0].Ack = c.notice
	}
	if c.e.showsKeyboard(old) && !c.e.showsKeyboard(*c.st) {
		c.removeKeyboard()
	}
}

// showsKeyboard reports whether a request for the phone may be on the person's screen in state st.
func (e *Engine) showsKeyboard(st State) bool {
	if d, ok := e.routes.dialogAt(st.Flow); ok {
		return d.showsKeyboard != nil && d.showsKeyboard(st)
	}
	f := e.formNamed(st.Flow)
	if f == nil {
		return false
	}
	fld := f.field(st.Step)
	return fld != nil && fld.kind == kindPhone
}

// removeKeyboard ends the request for the phone on the first message without choices, adding a
// short one (an Aside, which channels with nothing to take away leave out) when there is none:
// the end of the request travels on a message of its own kind on some channels.
func (c *turn) removeKeyboard() {
	for i, o := range c.out {
		if o.AskContact != nil {
			return // a new request replaces the old one
		}
		if len(o.Buttons) == 0 && !o.Replace && o.File == nil {
			c.out[i].EndContactRequest = true
			return
		}
	}
	c.out = append([]Output{{Text: c.t("common.ok"), EndContactRequest: true, Aside: true}}, c.out...)
}

// lastPrefix marks answers kept between forms (to offer the parent's name and phone again).
const lastPrefix = "last."

// toIdle ends any form, keeping the language and the answers worth offering again.
func (c *turn) toIdle() {
	keep := map[string]string{} // never nil: the next form writes into it
	for k, v := range c.st.Answers {
		if strings.HasPrefix(k, lastPrefix) {
			keep[k] = v
		}
	}
	*c.st = State{Lang: c.st.Lang, Answers: keep, UpdatedAt: c.st.UpdatedAt}
}

// formKey returns the idempotency key of the form in progress, giving it one when a state saved
// without one has none. A step run again for the same input from the same state gets the same
// key, so the store writes once.
func (c *turn) formKey() string {
	if c.st.IdempotencyKey == "" {
		c.st.IdempotencyKey = c.e.cfg.NewKey()
	}
	return c.st.IdempotencyKey
}

// updateKey returns an idempotency key for a write made by one update outside a form:
// "<channel>:<chat>:<update id>", or "" (no de-duplication) when the update has no id.
func (c *turn) updateKey() string {
	if c.in.UpdateID == "" {
		return ""
	}
	return c.sess.Channel + ":" + c.sess.ChatID + ":" + c.in.UpdateID
}

// startForm begins f afresh with a new idempotency key, or as the form's own start says
// (form.start): the registration checks the campaign's registration window first (outside it the
// family is told when it opens or that it has closed, and a form in progress stays as it was; a
// form begun inside the window may still be sent after it closes, within the form's idle expiry),
// the assisted registration checks the staff member's role.
func (c *turn) startForm(f *form) error {
	if f.start != nil {
		return f.start(c, f)
	}
	c.openForm(f)
	return c.advance(f)
}

// openForm makes f the form in progress, empty, with a new idempotency key; the caller asks its
// first question (after prefilling answers, if it has any).
func (c *turn) openForm(f *form) {
	c.toIdle()
	c.st.Flow = f.name
	c.st.IdempotencyKey = c.e.cfg.NewKey()
	c.st.StartedAt = c.now
}

// offerFormInProgress, when a form other than the one a staff command would start is in
// progress, says to finish it first and offers to go on or start again; it reports whether it did.
// A form is never dropped silently.
func (c *turn) offerFormInProgress(next string) bool {
	cur := c.form()
	if cur == nil {
		return false
	}
	if cur.name != next {
		c.say(c.t("staff.finish_form"))
	}
	c.offerResume(cur)
	return true
}

// startOrOffer starts f, or, when a form is in progress, asks whether to go on with it or start
// again: answers are never dropped silently.
func (c *turn) startOrOffer(f *form) error {
	if cur := c.form(); cur != nil {
		c.offerResume(cur)
		return nil
	}
	return c.startForm(f)
}

// welcome is the greeting with the main choices: the flows' buttons (flowWelcome, by row and
// rank, with their lines under the greeting's text), then the button that switches the language.
func (c *turn) welcome() {
	other := langEN
	if c.lang == langEN {
		other = langVI
	}
	o := Output{Text: c.t("common.welcome", "Campaign", c.e.cfg.Campaign.Name.In(c.lang))}
	row := 0
	for _, w := range c.e.routes.welcome {
		if w.shown != nil && !w.shown(c.e) {
			continue
		}
		if w.line != "" {
			o.Text += "\n" + c.t(w.line)
		}
		b := Button{Text: c.t(w.text), Data: globalPrefix + ":" + w.action}
		if n := len(o.Buttons); n > 0 && row == w.row {
			o.Buttons[n-1] = append(o.Buttons[n-1], b)
		} else {
			o.Buttons = append(o.Buttons, []Button{b})
		}
		row = w.row
	}
	o.Buttons = append(o.Buttons, []Button{{Text: c.t("common.btn_lang_other"), Data: globalPrefix + ":lang:" + other}})
	c.out = append(c.out, o)
}
