package flows

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Flow is one conversation as the engine sees it: the commands, buttons, typed words and states
// that route to it, and what it adds to an Engine (its forms, its /start payloads). Each file
// registers its own flows (registerFlow, in its init), so no switch of the engine names a flow.
// It is implemented inside the package only (its parts take a *turn), mostly by flowSpec.
type Flow interface {
	// Name names the flow in the registry (and in errors); unique.
	Name() string
	// Commands are the /commands it answers.
	Commands() []flowCommand
	// Buttons are the button prefixes it answers ("<prefix>:..."); a form's buttons are routed
	// by the form's own prefix (form.prefix), not here.
	Buttons() []flowButton
	// Actions are the main-menu buttons ("g:<action>") it answers.
	Actions() []flowAction
	// Dialogs are the State.Flow values it owns that are not forms, and how each resumes. The
	// package's flows have one, FlowCase (casework.go), whose steps they own (Steps).
	Dialogs() []dialog
	// Steps are the steps of FlowCase it owns: "<owner>.<what>" (or kept under a State.Flow of
	// their own, stepOwner.flow).
	Steps() []stepOwner
	// Words are what it takes from a typed message out of any flow.
	Words() []flowWords
	// Welcome are the buttons it adds to the greeting (welcome), each with its line, if any.
	Welcome() []flowWelcome
	// IdleHelp is what it adds to /help when no form or dialog is in progress.
	IdleHelp() []flowHelp
	// Setup adds to e what depends on its Config (forms, /start payloads); nil for nothing.
	Setup(e *Engine) error
}

// flowCommand is a /command.
type flowCommand struct {
	name string
	// run runs the command with its arguments (trimmed). Commands work at any step; those that do
	// not end the form ask the current question again afterwards.
	run func(c *turn, args string) error
	// menu is the id of the command's description in the channel's command menu (Engine.Commands);
	// "" for a command typed only (staff commands, to keep the menu short).
	menu string
	// rank orders the menu, lowest first.
	rank int
	// shown, when set, says whether the menu offers it with e's Config.
	shown func(e *Engine) bool
	// staff, when set, is the command's line in staff's /help and its place in /whoami's list.
	staff *staffLine
}

// staffLine is how staff's /help and /whoami (staff_help.go) show a staff command, to those who
// may use it: the command says it itself, so no list of the help names another flow's commands.
type staffLine struct {
	// group is the id of the heading of /help the line is under, one of staffHelpGroups.
	group string
	// rank orders the staff commands, lowest first: /whoami's list by rank alone, /help's lines
	// by group (in staffHelpGroups' order), then by rank.
	rank int
	// text is the id of the line: what the command does, with an example. It takes Wards (the
	// sender's ward, every ward, or a school's students) and Scope (their ward, or the city).
	text string
	// may says whether s may use the command with cfg: what campaign.Authorize allows and whether
	// the command's store is configured (staffMay). Nil: every member of the staff.
	may func(cfg Config, s campaign.Staff) bool
}

// flowButton routes the buttons whose data is "<prefix>:<rest>".
type flowButton struct {
	prefix string
	run    func(c *turn, rest string) error
}

// flowAction is a main-menu button, "g:<name>".
type flowAction struct {
	name string
	run  func(c *turn) error
}

// dialog is a State.Flow that is not a form: how the engine resumes it. The package's flows
// share one, FlowCase, and own its steps (stepOwner); a flow may still add a dialog of its own
// (flow_test.go's echo does).
type dialog struct {
	name string
	// expire drops the state when it is old or at a step this version does not know (before
	// anything else of the turn).
	expire func(c *turn)
	// leave, when set, runs when a command or a button arrives (before it is handled).
	leave func(c *turn)
	// ask asks the current question again, with reason (may be "") before it.
	ask func(c *turn, reason string)
	// input takes a typed message (not a command or a button).
	input func(c *turn) error
	// help says /help at the current step (and asks again).
	help func(c *turn)
	// cancelled is the message id /cancel says when it ends the dialog.
	cancelled func(c *turn) string
	// showsKeyboard reports whether a request for the phone may be on the screen in state st.
	showsKeyboard func(st State) bool
}

// stepOwner is a file's share of FlowCase: the steps named "<owner>.<what>".
type stepOwner struct {
	owner string
	// step returns the step named step (State.Step), false for one the owner does not have.
	step func(step string) (caseStep, bool)
	// cancelled, when set, is the message id /cancel says at these steps (else "case.cancelled").
	cancelled string
	// flow, when set, is the State.Flow the owner's steps are kept under, each by its bare name
	// (State{Flow: "staff", Step: "role"}), instead of FlowCase and "<owner>.<what>"; the case
	// dialog runs them all the same. Staff's steps were a dialog of their own before they became
	// case steps: keeping their states as they were lets a chat's saved state go on across a
	// deploy. A flow taken by a form or a dialog, or FlowCase itself, is refused.
	flow string
}

// flowWords takes a typed message out of any flow, if it is its own.
type flowWords struct {
	// rank orders the takers, lowest first: an open question from officials takes any text
	// before words like "xóa" are read as a wish.
	rank int
	take func(c *turn) (handled bool, err error)
}

// flowWelcome is a button of the greeting (welcome), "g:<action>", and a line it adds to the
// greeting's text. The greeting is its text, then the flows' rows of buttons, then the engine's
// own row that switches the language.
type flowWelcome struct {
	// row orders the greeting's rows of buttons, lowest first; buttons with the same row share it,
	// in rank order (lowest first).
	row, rank int
	// text is the id of the button's text; action is the menu action it runs (its data is
	// "g:<action>"), a flowAction of any flow.
	text, action string
	// line, when set, is the id of a line added to the greeting's text (in the order of the rows).
	line string
	// shown, when set, says whether the greeting offers it with e's Config.
	shown func(e *Engine) bool
}

// flowHelp is what a flow adds to /help out of any form or dialog, after the public help.
type flowHelp struct {
	// rank orders the additions, lowest first: staff's own help is said before the assisted
	// form's button is put under the last message.
	rank int
	// add says what the flow adds (messages, or buttons under the last one). It must not fail:
	// help always answers, so a failed look-up only leaves the addition out.
	add func(c *turn)
}

// flowSpec is a Flow given by its parts.
type flowSpec struct {
	name     string
	commands []flowCommand
	buttons  []flowButton
	actions  []flowAction
	dialogs  []dialog
	steps    []stepOwner
	words    []flowWords
	welcome  []flowWelcome
	idleHelp []flowHelp
	setup    func(e *Engine) error
}

func (f flowSpec) Name() string            { return f.name }
func (f flowSpec) Commands() []flowCommand { return f.commands }
func (f flowSpec) Buttons() []flowButton   { return f.buttons }
func (f flowSpec) Actions() []flowAction   { return f.actions }
func (f flowSpec) Dialogs() []dialog       { return f.dialogs }
func (f flowSpec) Steps() []stepOwner      { return f.steps }
func (f flowSpec) Words() []flowWords      { return f.words }
func (f flowSpec) Welcome() []flowWelcome  { return f.welcome }
func (f flowSpec) IdleHelp() []flowHelp    { return f.idleHelp }
func (f flowSpec) Setup(e *Engine) error {
	if f.setup == nil {
		return nil
	}
	return f.setup(e)
}

// routes is what the engine asks: every flow's commands, buttons and states by name.
type routes struct {
	flows    []Flow
	commands map[string]flowCommand
	buttons  map[string]flowButton
	actions  map[string]flowAction
	dialogs  map[string]dialog
	steps    map[string]stepOwner
	// stepFlows are the State.Flow values of step owners that keep their own (stepOwner.flow),
	// each with its owner.
	stepFlows map[string]string
	words     []flowWords
	welcome   []flowWelcome
	idleHelp  []flowHelp
}

func newRoutes() *routes {
	return &routes{
		commands: map[string]flowCommand{}, buttons: map[string]flowButton{}, actions: map[string]flowAction{},
		dialogs: map[string]dialog{}, steps: map[string]stepOwner{}, stepFlows: map[string]string{},
	}
}

// registry holds the flows the package's files register in their init functions. It is written
// only while the package initialises (registerFlow, from init) and read-only afterwards: every
// Engine starts from a copy of it (NewEngine), so nothing written at run time is shared between
// engines or goroutines. A package-level table filled by init is the one way for a file to add
// itself without a central list naming it; a list of constructors in NewEngine would be that list.
var registry = newRoutes()

// registerFlow adds f to the registry; called from a file's init. A name used twice (a flow, a
// command, a button prefix, an action, a dialog, a step owner or its State.Flow), or a command's
// staff line under a heading staffHelpGroups does not have or without a text, is a programming
// error: it panics.
func registerFlow(f Flow) {
	if err := registry.add(f); err != nil {
		panic(err)
	}
}

// put adds v to m under key for flow: a route that is not whole (ok false: no name, no handler,
// a part missing) or a key another flow took is refused.
func put[T any](m map[string]T, flow, what, key string, v T, ok bool) error {
	if !ok {
		return fmt.Errorf("flows: flow %q: %s %q lacks its name or a part", flow, what, key)
	}
	if _, dup := m[key]; dup {
		return fmt.Errorf("flows: flow %q: %s %q taken", flow, what, key)
	}
	m[key] = v
	return nil
}

// add adds f's routes, refusing a name already taken.
func (r *routes) add(f Flow) error {
	name := f.Name()
	if name == "" {
		return fmt.Errorf("flows: a flow without a name")
	}
	for _, g := range r.flows {
		if g.Name() == name {
			return fmt.Errorf("flows: flow %q registered twice", name)
		}
	}
	for _, c := range f.Commands() {
		if l := c.staff; l != nil && (!slices.Contains(staffHelpGroups, l.group) || l.text == "") {
			return fmt.Errorf("flows: flow %q: command %q: a staff line under heading %q, text %q", name, c.name, l.group, l.text)
		}
		if err := put(r.commands, name, "command", c.name, c, c.name != "" && c.run != nil); err != nil {
			return err
		}
	}
	for _, b := range f.Buttons() {
		ok := b.prefix != "" && !strings.Contains(b.prefix, ":") && b.prefix != globalPrefix && b.run != nil
		if err := put(r.buttons, name, "button prefix", b.prefix, b, ok); err != nil {
			return err
		}
	}
	for _, a := range f.Actions() {
		if err := put(r.actions, name, "menu action", a.name, a, a.name != "" && a.run != nil); err != nil {
			return err
		}
	}
	for _, d := range f.Dialogs() {
		ok := d.name != "" && d.expire != nil && d.ask != nil && d.input != nil && d.help != nil && d.cancelled != nil
		if _, taken := r.stepFlows[d.name]; taken {
			return fmt.Errorf("flows: flow %q: dialog %q taken by a step owner", name, d.name)
		}
		if err := put(r.dialogs, name, "dialog", d.name, d, ok); err != nil {
			return err
		}
	}
	for _, s := range f.Steps() {
		if err := put(r.steps, name, "step owner", s.owner, s, s.owner != "" && s.step != nil); err != nil {
			return err
		}
		if s.flow == "" {
			continue
		}
		if _, taken := r.dialogs[s.flow]; taken || s.flow == FlowCase {
			return fmt.Errorf("flows: flow %q: step owner %q: State.Flow %q taken", name, s.owner, s.flow)
		}
		if err := put(r.stepFlows, name, "step owner's State.Flow", s.flow, s.owner, true); err != nil {
			return err
		}
	}
	for _, w := range f.Words() {
		if w.take == nil {
			return fmt.Errorf("flows: flow %q: words without a taker", name)
		}
		r.words = append(r.words, w)
	}
	slices.SortStableFunc(r.words, func(a, b flowWords) int { return a.rank - b.rank })
	for _, w := range f.Welcome() {
		if w.text == "" || w.action == "" {
			return fmt.Errorf("flows: flow %q: a greeting button without a text or an action", name)
		}
		r.welcome = append(r.welcome, w)
	}
	slices.SortStableFunc(r.welcome, func(a, b flowWelcome) int {
		if a.row != b.row {
			return a.row - b.row
		}
		return a.rank - b.rank
	})
	for _, h := range f.IdleHelp() {
		if h.add == nil {
			return fmt.Errorf("flows: flow %q: an idle help without an addition", name)
		}
		r.idleHelp = append(r.idleHelp, h)
	}
	slices.SortStableFunc(r.idleHelp, func(a, b flowHelp) int { return a.rank - b.rank })
	r.flows = append(r.flows, f)
	return nil
}

// clone returns a copy an Engine may add to (tests add their own flows to one engine).
func (r *routes) clone() *routes {
	return &routes{
		flows: slices.Clone(r.flows), commands: maps.Clone(r.commands), buttons: maps.Clone(r.buttons),
		actions: maps.Clone(r.actions), dialogs: maps.Clone(r.dialogs), steps: maps.Clone(r.steps),
		stepFlows: maps.Clone(r.stepFlows), words: slices.Clone(r.words), welcome: slices.Clone(r.welcome), idleHelp: slices.Clone(r.idleHelp),
	}
}

// globalPrefix starts the main menu's buttons: "g:<action>".
const globalPrefix = "g"

// addFlow adds f to this engine only (after NewEngine, before the engine is used) and runs its
// Setup: a test's own flow, without touching the registry other engines start from.
func (e *Engine) addFlow(f Flow) error {
	if err := e.routes.add(f); err != nil {
		return err
	}
	return f.Setup(e)
}

// dialog returns the dialog in progress (a State.Flow that is not a form), nil when none.
func (c *turn) dialog() *dialog {
	if d, ok := c.e.routes.dialogAt(c.st.Flow); ok {
		return &d
	}
	return nil
}

// dialogAt returns the dialog of State.Flow flow: FlowCase's for the State.Flow of a step owner
// that keeps its own (stepOwner.flow).
func (r *routes) dialogAt(flow string) (dialog, bool) {
	if flow == "" {
		return dialog{}, false
	}
	if _, ok := r.stepFlows[flow]; ok {
		flow = FlowCase
	}
	d, ok := r.dialogs[flow]
	return d, ok
}

// ownerAt returns the owner of the case step a state is at: under FlowCase the owner named by
// the part of the step before the dot, else the owner that keeps its steps under flow.
func (r *routes) ownerAt(flow, step string) (stepOwner, bool) {
	owner, ok := r.stepFlows[flow]
	if flow == FlowCase {
		owner, _, _ = strings.Cut(step, ".")
	} else if !ok {
		return stepOwner{}, false
	}
	o, ok := r.steps[owner]
	if !ok || (flow == FlowCase) != (o.flow == "") {
		return stepOwner{}, false // an owner that keeps its own State.Flow has no FlowCase steps
	}
	return o, true
}

// stepAt returns the case step a state is at (State.Flow flow, State.Step step), and its owner.
func (r *routes) stepAt(flow, step string) (caseStep, stepOwner, bool) {
	o, ok := r.ownerAt(flow, step)
	if !ok {
		return caseStep{}, stepOwner{}, false
	}
	s, ok := o.step(step)
	return s, o, ok
}

// caseStepNamed returns the step of FlowCase named step; each file registers its own steps
// (stepOwner, by the part of the name before the dot).
func caseStepNamed(step string) (caseStep, bool) {
	s, _, ok := registry.stepAt(FlowCase, step)
	return s, ok
}

// flowTurn is the type of a flow's turn: the *turn with the flow's own handlers and helpers as its
// methods (allocTurn is struct{ *turn }), so that turn keeps only the engine's and what the flows
// share. The registry's parts take the *turn; fn1, fn0, do1 and do0 adapt a flow's method to them:
// run: fn1(allocTurn.allocateCommand). A flow calls another's method through a conversion,
// verifyTurn(c).showCase(…) (or verifyTurn{c} from a *turn), which shows the coupling where it is.
type flowTurn interface{ ~struct{ *turn } }

// fn1 adapts a flow's method with one argument and one result (a command's or a button's handler).
func fn1[F flowTurn, A, R any](m func(F, A) R) func(*turn, A) R {
	return func(c *turn, a A) R { return m(F{c}, a) }
}

// fn0 adapts a flow's method with no argument and one result (an action, a step's input).
func fn0[F flowTurn, R any](m func(F) R) func(*turn) R {
	return func(c *turn) R { return m(F{c}) }
}

// do1 adapts a flow's method with one argument and no result (a step's question, with its reason).
func do1[F flowTurn, A any](m func(F, A)) func(*turn, A) {
	return func(c *turn, a A) { m(F{c}, a) }
}

// do0 adapts a flow's method with no argument and no result (expire, leave, help).
func do0[F flowTurn](m func(F)) func(*turn) {
	return func(c *turn) { m(F{c}) }
}
