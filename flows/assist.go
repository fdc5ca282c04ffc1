package flows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/unicode/norm"

	"github.com/thuduc/maytinhchoem/campaign"
)

func init() {
	registerFlow(flowSpec{
		name: FlowAssist,
		commands: []flowCommand{{
			name: "assist", run: func(c *turn, _ string) error { return assistTurn{c}.assistCommand() },
			staff: &staffLine{group: "staff.help.group.cases", rank: 60, text: "staff.help.assist",
				may: staffMay(campaign.ActionAssist, nil)},
		}},
		buttons: []flowButton{{prefix: assistAfterPrefix, run: fn1(assistTurn.assistAfter)}},
		words:   []flowWords{{rank: 30, take: func(c *turn) (bool, error) { return assistTurn{c}.assistWords() }}},
		// the button that starts the assisted form, under the staff help (rank 10, staff.go)
		idleHelp: []flowHelp{{rank: 20, add: do0(assistTurn.offerAssist)}},
		setup: func(e *Engine) error {
			assist := registrationFormFor(e.cfg.Campaign, true)
			for _, w := range e.cfg.Campaign.Wards {
				if d := assist.data(stepWard, w.Code); len(d) > maxData {
					return fmt.Errorf("flows: ward code %q makes button data longer than %d bytes", w.Code, maxData)
				}
			}
			return e.addForm(assist)
		},
	})
}

// FlowAssist is the State.Flow of a staff member registering a child on a family's behalf
// ("Đăng ký giúp gia đình", /assist): the registration form, as its assisted variant. It has its
// own name and button prefix, so a half-done registration for a family and the staff member's
// own (as a parent) never mix: one is in progress at a time, and the other is offered after.
const FlowAssist = "assist"

const (
	// assistPrefix starts the assisted form's buttons: "as:<step>:<value>".
	assistPrefix = "as"
	// assistAfterPrefix starts the buttons that start the form: "aa:new" (a new family, from
	// /help and /whoami) and, under a submitted registration, "aa:next" (the next child of the
	// same family) and "aa:done".
	assistAfterPrefix = "aa"

	// phoneNone is the assisted form's answer for a family without a phone; phoneNoneCtl is its
	// button's value.
	phoneNone    = "none"
	phoneNoneCtl = "!none"

	// Answers that fix the ward and the school for the whole form, from the staff member's scope
	// when it starts (a ward role's ward; a school's school).
	assistScopeWard   = "scope.ward"
	assistScopeSchool = "scope.school"

	// lastAssist keeps, after a submit, what the next child of the same family shares with the
	// one just registered (the parent, the phone, the ward and the address), for "aa:next".
	lastAssist   = lastPrefix + "assist."
	lastAssistAt = lastAssist + "at"
	// assistVisitMax is how long after a submit "aa:next" still fills in the family's details:
	// a visit, not a week. After it, or after "aa:done" or a new /assist, they are dropped.
	assistVisitMax = 12 * time.Hour
)

// assistShared are the answers the next child of a family shares with the one before.
var assistShared = []string{stepParentName, stepPhone, stepWard, stepAddress}

// assistVariant turns the registration form f into its assisted variant (registrationFormFor).
func assistVariant(f *form) {
	f.name, f.prefix = FlowAssist, assistPrefix
	f.reviewTitle = "assist.review.title"
	f.submit = fn1(assistTurn.submitAssisted)
	f.main = false
	f.start = func(c *turn, _ *form) error { return assistTurn{c}.restartAssist() }
	f.cancelled = "assist.cancelled"
	f.locked = func(c *turn, fld *field) bool {
		switch fld.name {
		case stepWard:
			return c.st.Answers[assistScopeWard] != ""
		case stepSchool:
			return c.st.Answers[assistScopeSchool] != ""
		}
		return false
	}

	consent := f.field(stepConsent)
	regPrompt := consent.promptData
	consent.prompt, consent.help = "assist.consent.prompt", "assist.consent.help"
	consent.promptData = func(c *turn) map[string]any {
		// The family hears the very text a parent reads in the chat.
		return map[string]any{"Consent": c.e.text(c.lang, "reg.consent.prompt", regPrompt(c))}
	}
	consent.options = func(*turn) []option {
		return []option{
			{value: consentYes, label: "assist.consent.yes", words: "assist.consent.yes_words"},
			{value: consentNo, label: "assist.consent.no", words: "assist.consent.no_words"},
		}
	}
	consent.accepted = func(c *turn, v string) bool {
		if v == consentNo {
			c.toIdle()
			c.say(c.t("assist.consent.declined"))
			return true
		}
		// What is kept is when the family agreed in front of the staff member.
		c.st.Answers[stepConsent] = c.now.UTC().Format(time.RFC3339)
		return false
	}

	// The parent's name is asked as in the form (required: the hand-over and the verification
	// need the person raising the child); the last parent of the staff member's own registration
	// is not offered.
	parent := f.field(stepParentName)
	parent.prompt, parent.help = "assist.parent_name.prompt", "assist.parent_name.help"
	parent.extra, parent.control = nil, nil

	phone := f.field(stepPhone)
	phone.kind = kindText // typed: sharing a contact would share the staff member's own number
	// The phone is the family's, not the staff member's: no claim is offered to this chat.
	phone.after = nil
	phone.prompt, phone.help = "assist.phone.prompt", "assist.phone.help"
	phone.parse = func(c *turn, s string) (string, error) {
		if (formTurn{c}).typedYes(cleanText(s), "assist.phone.none_words") {
			return phoneNone, nil
		}
		return parseFamilyPhone(s)
	}
	phone.display = func(c *turn, v string) string {
		if v == phoneNone {
			return c.t("assist.phone.none_shown")
		}
		return phoneDisplay(v)
	}
	phone.extra = func(c *turn, f *form) [][]Button {
		return [][]Button{{{Text: c.t("assist.phone.none"), Data: f.data(stepPhone, phoneNoneCtl)}}}
	}
	phone.control = func(c *turn, f *form, v string) (bool, error) {
		if v != phoneNoneCtl {
			return false, nil
		}
		c.notice = c.t("common.chosen", "Label", c.t("assist.phone.none_shown"))
		return true, c.accept(f, f.field(stepPhone), phoneNone)
	}
	phone.accepted = func(c *turn, v string) bool {
		if v != phoneNone {
			c.lead = c.t("reg.phone.saved", "Phone", phoneDisplay(v))
		}
		return false
	}
}

// parseFamilyPhone reads the family's phone in the assisted form: as parsePhone, but a landline
// is accepted too. A family without a mobile may have a home phone officials can call to verify
// and to arrange the hand-over; only a mobile, though, can later claim the registration from a
// chat (the family shares its own number there).
func parseFamilyPhone(s string) (string, error) {
	v, err := parsePhone(s)
	var inv *invalid
	if !errors.As(err, &inv) {
		return v, err
	}
	switch inv.ID {
	case "reg.err.phone_landline":
		num, perr := phonenumbers.Parse(strings.TrimSpace(norm.NFKC.String(strings.ToValidUTF8(s, ""))), "VN")
		if perr != nil {
			return "", refuse("assist.err.phone_invalid")
		}
		return phonenumbers.Format(num, phonenumbers.E164), nil
	case "reg.err.phone_invalid":
		return "", refuse("assist.err.phone_invalid")
	}
	return "", err
}

// assistTurn is a turn of the registration on a family's behalf (/assist); its methods are the
// flow's own (see flowTurn).
type assistTurn struct{ *turn }

// assistCommand is /assist: a staff member whose role allows it starts registering a child on a
// family's behalf. A form in progress is never dropped: it is offered to go on with (or, when it
// is an assisted one, to start again).
func (c assistTurn) assistCommand() error {
	if staffTurn(c).staffOff() {
		return nil
	}
	return c.startAssist(false)
}

// assistWords starts the assisted form when a staff member types its words out of any flow
// ("đăng ký giúp", "đăng ký giúp gia đình"); handled is false for anyone without a role, whose
// words are a parent's and get the welcome.
func (c assistTurn) assistWords() (handled bool, err error) {
	if c.in.Kind != KindText || c.e.cfg.Staff == nil || !formTurn(c).typedYes(c.in.Text, "assist.words") {
		return false, nil
	}
	who, err := c.whoIs()
	if err != nil || who.Role == "" {
		return false, err
	}
	return true, c.startAssist(false)
}

// startAssist authorises the sender for campaign.ActionAssist in their own scope and opens the
// assisted form: a ward role's ward and a school's school are answered and fixed; next fills in
// what the family's next child shares with the one just registered. Outside the registration
// window the form is begun all the same, with a note: the window is the families' own chat's.
func (c assistTurn) startAssist(next bool) error {
	who, err := c.whoIs()
	if err != nil {
		return err
	}
	if _, ok, err := c.authorizeAs(who, campaign.ActionAssist, who.WardCode); !ok {
		return err
	}
	if c.offerFormInProgress(FlowAssist) {
		return nil
	}
	return c.openAssist(who, next)
}

// restartAssist is "Làm lại từ đầu" of an assisted form in progress: authorised again, then a new,
// empty one for a new family (the registration window does not apply; see assistWindowNote).
func (c assistTurn) restartAssist() error {
	who, err := c.whoIs()
	if err != nil {
		return err
	}
	if _, ok, err := c.authorizeAs(who, campaign.ActionAssist, who.WardCode); !ok {
		return err
	}
	return c.openAssist(who, false)
}

// openAssist opens the assisted form for who, dropping any form in progress (the caller has
// offered to keep it).
func (c assistTurn) openAssist(who campaign.Staff, next bool) error {
	shared := map[string]string{}
	if at, err := time.Parse(time.RFC3339, c.st.Answers[lastAssistAt]); next && err == nil && c.now.Sub(at) <= assistVisitMax {
		for _, k := range assistShared {
			shared[k] = c.st.Answers[lastAssist+k]
		}
	}
	f := c.e.formNamed(FlowAssist)
	c.openForm(f)
	c.forgetFamily()
	if who.Role.NeedsWard() && who.WardCode != "" {
		c.st.Answers[assistScopeWard] = who.WardCode
		shared[stepWard] = who.WardCode
	}
	if who.Role == campaign.RoleSchool && who.School != "" {
		c.st.Answers[assistScopeSchool] = who.School
		shared[stepSchool] = who.School
	}
	for k, v := range shared {
		if v != "" {
			c.st.Answers[k] = v
		}
	}
	if shut := c.assistWindowNote(); shut != "" {
		c.lead = shut
	}
	return c.advance(f)
}

// forgetFamily drops what was kept of the last family registered on its behalf.
func (c assistTurn) forgetFamily() {
	for k := range c.st.Answers {
		if strings.HasPrefix(k, lastAssist) {
			delete(c.st.Answers, k)
		}
	}
}

// assistWindowNote says, outside the registration window, that the window is the families' own
// chat's and this registration is taken all the same; "" inside it. Staff compiled lists before
// the launch, and a family a ward official finds after the chat closed is the one the campaign
// is for: officials decide on it in verification like on any other.
func (c assistTurn) assistWindowNote() string {
	camp := c.e.cfg.Campaign
	switch camp.RegistrationPhaseAt(c.now) {
	case campaign.RegistrationNotYetOpen:
		return c.t("assist.window_not_open", "Open", camp.RegistrationOpen.Format(dateShownAs))
	case campaign.RegistrationClosed:
		return c.t("assist.window_closed", "Close", camp.RegistrationClose.Format(dateShownAs))
	}
	return ""
}

// assistAfter runs the buttons that start the assisted form: "new" (a new family), "next" (the
// next child of the family just registered) and "done".
func (c assistTurn) assistAfter(action string) error {
	switch action {
	case "new", "next":
		if staffTurn(c).staffOff() {
			return nil
		}
		return c.startAssist(action == "next")
	case "done":
		c.forgetFamily()
		c.say(c.t("assist.finished"))
		c.resume("")
		return nil
	}
	c.stale()
	return nil
}

// submitAssisted sends the reviewed assisted form: a registration of source assisted, made and
// witnessed by the staff member (their "channel:id"), with no chat (the family has none until it
// claims it; meanwhile the staff member is its contact). The sender is authorised again for the
// child's ward: a role revoked or moved since the form began is refused, the answers kept. The
// store audits "registration.assist" in the same transaction as the registration, so a retried
// submit neither makes a second record nor a second audit row.
func (c assistTurn) submitAssisted(f *form) error {
	if f.firstMissing(c.st.Answers) != nil {
		return c.advance(f)
	}
	r, ok := regTurn(c).registration()
	if !ok {
		return c.advance(f)
	}
	if _, ok, err := c.authorize(campaign.ActionAssist, r.WardCode); !ok {
		return err
	}
	actor := c.actor()
	r.Channel, r.ChatID, r.UserID = "", "", ""
	r.Source, r.RegisteredBy, r.ConsentWitness = campaign.SourceAssisted, actor, actor
	if r.ParentPhone == phoneNone {
		r.ParentPhone = ""
	}
	submitted, err := c.submitOnce(f, &r.IdempotencyKey, "reg.submit_invalid", func() error {
		_, err := c.e.cfg.Registrations.SubmitRegistration(c.ctx, &r)
		return err
	})
	if !submitted || err != nil {
		return err
	}
	kept := map[string]string{}
	for _, k := range assistShared {
		kept[k] = c.st.Answers[k]
	}
	c.toIdle()
	c.forgetFamily()
	for k, v := range kept {
		c.st.Answers[lastAssist+k] = v
	}
	c.st.Answers[lastAssistAt] = c.now.UTC().Format(time.RFC3339)
	next := c.t("assist.next_no_phone")
	if r.ParentPhone != "" {
		next = c.t("assist.next_phone", "Phone", phoneDisplay(r.ParentPhone))
	}
	text := paragraphs(c.t("assist.submitted", "Code", r.Code, "Student", r.StudentName), next)
	if len(r.PossibleDuplicateOf) > 0 {
		text = paragraphs(text, c.t("assist.duplicate"))
	}
	c.out = append(c.out, Output{Text: text, Buttons: [][]Button{
		{{Text: c.t("assist.btn_next"), Data: assistAfterPrefix + ":next"}},
		{{Text: c.t("assist.btn_done"), Data: assistAfterPrefix + ":done"}},
	}})
	return nil
}

// assistButtons is the button that starts the assisted form, for staff who may use it (under
// /help and /whoami); none for anyone else.
func (c assistTurn) assistButtons(who campaign.Staff) [][]Button {
	if campaign.Authorize(who, campaign.ActionAssist, who.WardCode) != nil {
		return nil
	}
	return [][]Button{{{Text: c.t("assist.btn_start"), Data: assistAfterPrefix + ":new"}}}
}

// offerAssist puts the button that starts the assisted form under the last message said, when
// the sender may use it and the message has no buttons of its own. A failed look-up only leaves
// it out: help must always answer.
func (c assistTurn) offerAssist() {
	if c.e.cfg.Staff == nil || len(c.out) == 0 || len(c.out[len(c.out)-1].Buttons) > 0 {
		return
	}
	who, err := c.whoIs()
	if err != nil {
		return
	}
	c.out[len(c.out)-1].Buttons = c.assistButtons(who)
}
