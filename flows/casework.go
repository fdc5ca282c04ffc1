package flows

import (
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// FlowCase is the State.Flow while someone is typing a text that belongs to a record: an official
// writing a reject reason or a question for a parent, a parent answering it, a volunteer writing
// the recipient's name or sending the proof photo. It is a single question, not a form: the step
// says what is being typed and the answers hold the record's code. Each file owns its steps, named
// "<owner>.<what>" (verify.go "v.", allocate.go "a.", deliver.go "d.", parent side "h.",
// broadcast.go "b.").
//
// It is the one dialog of the package's flows (the other mechanism is the form engine, form.go):
// staff.go's invitation and revocation taps are case steps too, kept under State.Flow FlowStaff
// with their bare names ("role"), as they were saved before (stepOwner.flow).
const FlowCase = "case"

// caseFlowExpiry is how long a staff member's case question waits; a parent answering officials
// has Config.IdleExpiry, as a form does, and a step may say its own (caseStep.expiry).
const caseFlowExpiry = 2 * time.Hour

func init() {
	registerFlow(flowSpec{
		name: FlowCase,
		dialogs: []dialog{{
			name:   FlowCase,
			expire: do0(caseTurn.expireCase),
			leave: func(c *turn) {
				if s, ok := (caseTurn{c}).atStep(); ok && s.leaveOnOther {
					c.toIdle()
				}
			},
			ask:   (*turn).caseAsk,
			input: fn0(caseTurn.caseInput),
			help: func(c *turn) {
				help := c.t("case.help_step")
				if s, ok := (caseTurn{c}).atStep(); ok && s.help != "" {
					help = c.t(s.help)
				}
				c.say(help)
				c.resume("")
			},
			cancelled: func(c *turn) string {
				if o, ok := c.e.routes.ownerAt(c.st.Flow, c.st.Step); ok && o.cancelled != "" {
					return o.cancelled
				}
				return "case.cancelled"
			},
			showsKeyboard: func(st State) bool {
				s, _, ok := registry.stepAt(st.Flow, st.Step)
				return ok && s.asksPhone
			},
		}},
	})
}

// caseStep is one question of FlowCase.
type caseStep struct {
	// ask asks the question again, with reason (may be "") before it.
	ask func(c *turn, reason string)
	// input takes a typed message (text, or a photo with PhotoID) at this step.
	input func(c *turn) error
	// parent marks a step a parent is at (it expires like a form).
	parent bool
	// help is the message /help says at this step; "" for the general "type the text" one.
	help string
	// leaveOnOther ends the step when a command or a button arrives (something else is started).
	leaveOnOther bool
	// asksPhone marks a step that requests the phone (a keyboard to take away when left).
	asksPhone bool
	// expiry, when set, is how long the step waits for its answer, instead of caseFlowExpiry (or
	// Config.IdleExpiry at a parent's step): staff's invitation and revocation taps wait
	// staffFlowExpiry. Either way the step is dropped without a word.
	expiry time.Duration
	// leaveOnRefusal ends the step when authorize refuses the sender anything, instead of asking
	// it again under the refusal: staff's half-made invitation or revocation, by someone who may
	// no longer make one (an administrator removed from the configuration).
	leaveOnRefusal bool
}

// inCaseFlow reports whether the chat is at a step of FlowCase ("<owner>.<what>"). Steps an owner
// keeps under a State.Flow of its own (staff's, stepOwner.flow) are not: the case work's commands
// and buttons, which end the FlowCase step they find, leave those alone, as they always have.
// c.dialog() != nil is true at either.
func (c *turn) inCaseFlow() bool { return c.st.Flow == FlowCase }

// enterCase starts FlowCase at step with answers (the record's code and the like), dropping any
// earlier case step (staff's too). Callers check first that no form is in progress (formBusy).
func (c *turn) enterCase(step string, answers map[string]string) {
	c.toIdle()
	c.st.Flow = FlowCase
	c.st.Step = step
	c.st.StartedAt = c.now
	for k, v := range answers {
		c.st.Answers[k] = v
	}
}

// caseTurn is a turn of the case dialog (FlowCase), whose steps the flows own; its methods are the
// flow's own (see flowTurn).
type caseTurn struct{ *turn }

// atStep returns the case step the chat is at, false at none (or at one this version does not
// know).
func (c caseTurn) atStep() (caseStep, bool) {
	s, _, ok := c.e.routes.stepAt(c.st.Flow, c.st.Step)
	return s, ok
}

// expireCase drops a case question that is old or at a step this version does not know, without
// a word.
func (c caseTurn) expireCase() {
	s, ok := c.atStep()
	limit := caseFlowExpiry
	switch {
	case s.expiry > 0:
		limit = s.expiry
	case s.parent:
		limit = c.e.cfg.IdleExpiry
	}
	if !ok || c.now.Sub(c.st.UpdatedAt) > limit {
		c.toIdle()
	}
}

// caseAsk asks the current case question again.
func (c *turn) caseAsk(reason string) {
	if s, _, ok := c.e.routes.stepAt(c.st.Flow, c.st.Step); ok {
		s.ask(c, reason)
		return
	}
	c.toIdle()
	if reason != "" {
		c.say(reason)
	}
}

// caseInput handles a message (not a command or button) in FlowCase.
func (c caseTurn) caseInput() error {
	s, ok := c.atStep()
	if !ok {
		c.toIdle()
		c.welcome()
		return nil
	}
	if c.in.Kind == KindEdited {
		s.ask(c.turn, c.t("common.edited_idle"))
		return nil
	}
	return s.input(c.turn)
}

// casesOff says the case work is not available here (no store configured) and asks the current
// question again; it reports whether it did.
func (c *turn) casesOff() bool {
	if c.e.cfg.Cases != nil {
		return false
	}
	c.say(c.t("case.unavailable"))
	c.resume("")
	return true
}

// auditView writes an audit row for something seen or sent (a child's record, an export).
func (c *turn) auditView(action, subject string, after any) error {
	if c.e.cfg.Audit == nil {
		return nil
	}
	return c.e.cfg.Audit.Audit(c.ctx, campaign.AuditEntry{
		At: c.now, Actor: c.actor(), Action: action, Subject: subject, After: after,
	})
}

// phoneFor shows a phone number in full to roles that need it, masked to the others.
func phoneFor(who campaign.Staff, e164 string) string {
	if campaign.SeesPhones(who.Role) {
		return e164
	}
	return campaign.MaskPhone(e164)
}
