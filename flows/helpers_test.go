package flows

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/campaign/campaigntest"
	"github.com/thuduc/maytinhchoem/chat"
)

// testStart is the day the conversations in tests happen: mid-campaign, 9:00 in Thủ Đức.
var testStart = time.Date(2021, 9, 10, 9, 0, 0, 0, time.FixedZone("ICT", 7*3600))

// convo is a scripted conversation with an Engine, checking the invariants of every reply.
type convo struct {
	t        *testing.T
	e        *Engine
	regs     *campaigntest.Registrations
	pledges  *campaigntest.Pledges
	contacts *campaigntest.Contacts
	staff    *campaigntest.Staff
	audit    *campaigntest.Audit
	devices  *campaigntest.Devices
	money    *campaigntest.Money
	cases    *campaigntest.Cases
	// family and eraser are /mydata's stores, over cases.
	family *campaigntest.Family
	eraser *campaigntest.Eraser
	// claims is Config.Claims when a scenario set it (withList), else nil.
	claims *campaigntest.Claims
	// outbox is where the fake stores queue their notices; notices holds those of the last input.
	outbox     *campaigntest.Outbox
	notices    []campaign.OutboxMessage
	sess       Session
	st         State
	now        time.Time
	clientLang string
	userID     string
	keys       int
	// ids collects the message ids looked up during the last input.
	ids []string
	// turns records the conversation for golden files.
	turns  []goldenTurn
	record bool
	// others keeps the states of the other chats a scenario talks in (see become).
	others map[string]State
}

func newChat(t *testing.T) *convo {
	t.Helper()
	return newChatWith(t, nil)
}

// newChatWith is newChat with changes to the engine's Config (nil for none). Chats have a staff
// store and an audit log, with testAdmin as the one administrator, and the case work's store
// (Config.Cases and Config.Find, c.cases).
func newChatWith(t *testing.T, change func(*Config)) *convo {
	t.Helper()
	c := &convo{t: t, now: testStart, clientLang: "vi", userID: "1001", sess: Session{Channel: "telegram", ChatID: "1001"}}
	c.regs = campaigntest.NewRegistrations(func() time.Time { return c.now })
	c.pledges = campaigntest.NewPledges(func() time.Time { return c.now })
	c.contacts = &campaigntest.Contacts{}
	c.staff = campaigntest.NewStaff(func() time.Time { return c.now })
	c.audit = &campaigntest.Audit{}
	c.devices = campaigntest.NewDevices(func() time.Time { return c.now })
	c.money = &campaigntest.Money{Devices: c.devices}
	c.cases = campaigntest.NewCases(func() time.Time { return c.now }, campaign.Default(), c.regs, c.devices, c.pledges)
	c.outbox = &campaigntest.Outbox{}
	c.devices.Outbox, c.cases.Outbox = c.outbox, c.outbox
	c.staff.Outbox = c.outbox
	c.cases.Staff = c.staff
	c.family = campaigntest.NewFamily(c.cases, c.staff)
	c.eraser = &campaigntest.Eraser{Cases: c.cases}
	cfg := Config{
		Campaign:      campaign.Default(),
		Registrations: c.regs,
		Pledges:       c.pledges,
		Contacts:      c.contacts,
		Now:           func() time.Time { return c.now },
		NewKey: func() string {
			c.keys++
			return fmt.Sprintf("key-%d", c.keys)
		},
		Staff:    c.staff,
		Audit:    c.audit,
		Admins:   []string{testAdmin},
		Entries:  testEntries,
		Cases:    c.cases,
		Messages: c.cases,
		Find:     c.cases,
		Family:   c.family,
		Eraser:   c.eraser,
	}
	if change != nil {
		change(&cfg)
	}
	c.cases.Campaign = cfg.Campaign
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.observe = func(id string, err error) {
		c.ids = append(c.ids, id)
		if err != nil {
			t.Errorf("message %q: %v", id, err)
		}
	}
	c.e = e
	return c
}

// Inputs.
func text(s string) Input  { return Input{Kind: KindText, Text: s} }
func press(d string) Input { return Input{Kind: KindChoice, Data: d} }
func cmd(name string, args ...string) Input {
	a := strings.Join(args, " ")
	t := "/" + name
	if a != "" {
		t += " " + a
	}
	return Input{Kind: KindCommand, Command: name, Args: a, Text: t}
}
func contact(phone, userID string) Input {
	return Input{Kind: KindContact, Contact: &SharedContact{Phone: phone, UserID: userID, Name: "Lan"}}
}
func other() Input  { return Input{Kind: KindOther} }
func edited() Input { return Input{Kind: KindEdited, Text: "sửa"} }

// send runs one input, checks the replies' invariants and returns them.
func (c *convo) send(in Input) []Output {
	c.t.Helper()
	out, err := c.trySend(in)
	if err != nil {
		c.t.Fatalf("Handle(%s): %v", describe(in), err)
	}
	return out
}

func (c *convo) trySend(in Input) ([]Output, error) {
	c.t.Helper()
	if in.UserID == "" {
		in.UserID = c.userID
	}
	if in.ClientLanguage == "" {
		in.ClientLanguage = c.clientLang
	}
	c.ids = nil
	old := c.st
	next, out, err := c.e.Handle(context.Background(), c.sess, c.st, in)
	c.notices = c.outbox.Take()
	if err != nil {
		if !statesEqual(next, old) {
			c.t.Errorf("Handle(%s) failed but changed the state", describe(in))
		}
		return nil, err
	}
	checkOutputs(c.t, c.e, in, old, next, out)
	checkNotices(c.t, in, c.notices)
	// The bot keeps the state as JSON between inputs; every test goes through that round trip, so a
	// field that does not survive it (a nil map after omitempty, say) shows up here.
	stored, err := json.Marshal(next)
	if err != nil {
		c.t.Fatal(err)
	}
	c.st = State{}
	if err := json.Unmarshal(stored, &c.st); err != nil {
		c.t.Fatal(err)
	}
	if c.record {
		c.turns = append(c.turns, goldenTurnOf(in, out, c.notices, next))
	}
	return out, nil
}

func statesEqual(a, b State) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// checkNotices holds the notices an input queued to the rules of the channels: a text of a message's
// length, buttons whose data every channel carries back.
func checkNotices(t *testing.T, in Input, notices []campaign.OutboxMessage) {
	t.Helper()
	for _, m := range notices {
		if m.Lane != campaign.OutboxNotice || !strings.HasPrefix(m.Key, "notice:") && !strings.HasPrefix(m.Key, "delivery-final:") {
			t.Errorf("%s: notice %q on lane %q", describe(in), m.Key, m.Lane)
		}
		if n := utf8.RuneCountInString(m.Text); n > messageMax || !utf8.ValidString(m.Text) {
			t.Errorf("%s: notice of %d characters: %.80q", describe(in), n, m.Text)
		}
		for _, row := range m.Buttons {
			for _, b := range row {
				if b.Text == "" || len(b.Data) > maxData {
					t.Errorf("%s: notice button %q => %q", describe(in), b.Text, b.Data)
				}
			}
		}
	}
}

// checkOutputs holds every reply to the rules of the channels and the design.
func checkOutputs(t *testing.T, e *Engine, in Input, old, next State, out []Output) {
	t.Helper()
	if len(out) == 0 {
		t.Errorf("%s: no reply", describe(in))
	}
	removed := false
	for _, o := range out {
		if o.Text == "" || !utf8.ValidString(o.Text) {
			t.Errorf("%s: empty or invalid text %q", describe(in), o.Text)
		}
		if n := utf8.RuneCountInString(o.Text); n > messageMax && o.File == nil {
			t.Errorf("%s: message of %d characters: %.80q", describe(in), n, o.Text)
		}
		if len(o.Buttons) > 0 && (o.AskContact != nil || o.EndContactRequest) {
			t.Errorf("%s: a message with choices and a request for the phone (or its end)", describe(in))
		}
		if o.Aside && (!o.EndContactRequest || len(o.Buttons) > 0 || o.File != nil) {
			t.Errorf("%s: an aside that does more than end the request for the phone: %+v", describe(in), o)
		}
		if utf8.RuneCountInString(o.Ack) > 200 {
			t.Errorf("%s: notice longer than a button acknowledgement allows: %q", describe(in), o.Ack)
		}
		if o.Replace && in.Kind != KindChoice {
			t.Errorf("%s: Replace without a pressed button", describe(in))
		}
		for _, row := range o.Buttons {
			if len(row) == 0 {
				t.Errorf("%s: empty row of buttons", describe(in))
			}
			for _, b := range row {
				if b.Text == "" || b.Data == "" || len(b.Data) > chat.MaxDataBytes {
					t.Errorf("%s: bad button %+v (%d bytes)", describe(in), b, len(b.Data))
				}
			}
		}
		removed = removed || o.EndContactRequest || o.AskContact != nil
	}
	if e.showsKeyboard(old) && !e.showsKeyboard(next) && !removed {
		t.Errorf("%s: left the phone question without removing its keyboard", describe(in))
	}
	if next.Flow == FlowStaff {
		if !slices.Contains(staffSteps, next.Step) || next.Misses != 0 || next.Editing {
			t.Errorf("%s: staff flow at unknown step %q: %+v", describe(in), next.Step, next)
		}
	} else if next.Flow == FlowCase {
		if _, ok := caseStepNamed(next.Step); !ok || next.Editing || next.StartedAt.IsZero() {
			t.Errorf("%s: case flow at unknown step %q: %+v", describe(in), next.Step, next)
		}
	} else if _, ok := e.routes.dialogs[next.Flow]; ok && next.Flow != "" {
		if next.StartedAt.IsZero() { // a dialog a test added (flow_test.go)
			t.Errorf("%s: dialog without a start time: %+v", describe(in), next)
		}
	} else if next.Flow != "" {
		f := e.formNamed(next.Flow)
		if f == nil || (f.field(next.Step) == nil && next.Step != stepReview) {
			t.Errorf("%s: state at unknown step %q/%q", describe(in), next.Flow, next.Step)
		}
		if next.IdempotencyKey == "" || next.StartedAt.IsZero() {
			t.Errorf("%s: form without key or start time: %+v", describe(in), next)
		}
	} else if next.Step != "" || next.Misses != 0 || next.Editing || next.IdempotencyKey != "" {
		t.Errorf("%s: idle state with form fields: %+v", describe(in), next)
	}
}

func describe(in Input) string {
	switch in.Kind {
	case KindText:
		return "text " + clip(in.Text, 60)
	case KindCommand:
		return in.Text
	case KindChoice:
		return "press " + in.Data
	case KindContact:
		if in.Contact == nil {
			return "contact <nil>"
		}
		return "contact " + in.Contact.Phone + " of user " + in.Contact.UserID
	}
	return string(in.Kind)
}

func dump(out []Output) string {
	var b strings.Builder
	for _, o := range out {
		fmt.Fprintf(&b, "\n---\n%s", o.Text)
		for _, row := range o.Buttons {
			b.WriteString("\n")
			for _, btn := range row {
				fmt.Fprintf(&b, "[%s|%s] ", btn.Text, btn.Data)
			}
		}
		if k := o.AskContact; k != nil {
			fmt.Fprintf(&b, "\n{contact: %s} %q", k.Label, k.Suggestions)
		}
	}
	return b.String()
}

// allText joins the texts of out.
func allText(out []Output) string {
	var s []string
	for _, o := range out {
		s = append(s, o.Text)
	}
	return strings.Join(s, "\n")
}

// msg is message id in lang with data, as the engine writes it.
func msg(e *Engine, lang, id string, kv ...any) string {
	s, err := e.cat.Text(lang, id, dataOf(kv))
	if err != nil {
		panic(err)
	}
	return s
}

// happyInputs fill a registration up to the review with typical answers.
func (c *convo) happyInputs() []Input {
	return []Input{
		press("g:register"),
		press("r:consent:yes"),
		text("Nguyễn Thị Lan"),
		contact("84912345678", c.userID),
		text("Trần Minh Khang"),
		text("05/09/2012"),
		press("r:level:primary"),
		press("r:grade:3"),
		text("Trường Tiểu học Linh Trung"),
		text("linh trung"),
		text("12 đường số 5, khu phố 3"),
		press("r:circumstances:poor"),
		press("r:circumstances:other"),
		press("r:circumstances:!done"),
		text("Cha mất việc do dịch"),
		press("r:device_situation:shares_phone"),
		press("r:needs:laptop"),
		press("r:needs:!done"),
	}
}

// toStep answers typical answers until the form asks step.
func (c *convo) toStep(step string) []Output {
	c.t.Helper()
	var out []Output
	for _, in := range c.happyInputs() {
		if c.st.Flow == FlowRegistration && c.st.Step == step {
			return out
		}
		out = c.send(in)
	}
	if c.st.Step != step {
		c.t.Fatalf("never reached step %q: %+v\n%s", step, c.st, dump(out))
	}
	return out
}

// toReview fills the registration up to the review.
func (c *convo) toReview() []Output {
	c.t.Helper()
	return c.toStep(stepReview)
}

// become makes the chat the private chat of user id, in app language lang ("" keeps it): the
// state of the chat left is kept and the one of the chat joined taken up, so a scenario can
// have an official, a volunteer and a parent each talk in their own chat.
func (c *convo) become(id, lang string) *convo {
	if c.others == nil {
		c.others = map[string]State{}
	}
	c.others[c.sess.ChatID] = c.st
	c.st = c.others[id]
	c.as(id)
	if lang != "" {
		c.clientLang = lang
	}
	return c
}

// noticeButtons lists the data of the notices' buttons.
func noticeButtons(msgs []campaign.OutboxMessage) []string {
	var out []string
	for _, m := range msgs {
		for _, row := range m.Buttons {
			for _, b := range row {
				out = append(out, b.Data)
			}
		}
	}
	return out
}
