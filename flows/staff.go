package flows

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/thuduc/maytinhchoem/campaign"
)

func init() {
	registerFlow(flowSpec{
		name: FlowStaff,
		commands: []flowCommand{
			{name: "whoami", run: func(c *turn, _ string) error { return staffTurn{c}.whoami() }},
			{name: "invite", run: fn1(staffTurn.invite)},
			{name: "invites", run: func(c *turn, _ string) error { return staffTurn{c}.invites() }},
			{name: "staff", run: func(c *turn, _ string) error { return staffTurn{c}.staffList() }},
			{name: "revoke", run: fn1(staffTurn.revokeCommand)},
		},
		buttons:  []flowButton{{prefix: staffPrefix, run: fn1(staffTurn.staffChoice)}},
		idleHelp: []flowHelp{{rank: 10, add: do0(staffTurn.helpIdle)}},
		steps:    []stepOwner{{owner: staffPrefix, step: staffStep, cancelled: "staff.cancelled", flow: FlowStaff}},
		setup: func(e *Engine) error {
			if e.cfg.Staff != nil && (e.cfg.Entries == nil || len(e.cfg.Entries(invitePrefix+"x")) == 0) {
				return errors.New("flows: Config.Entries is required with Staff: invitation links need it")
			}
			e.deepLinks = append(e.deepLinks, deepLink{payload: invitePrefix, prefix: true, handle: func(c *turn, p string) error {
				return staffTurn{c}.redeem(strings.TrimPrefix(p, invitePrefix))
			}})
			return nil
		},
	})
}

// FlowStaff names the staff flow, and is the State.Flow of its case steps: an administrator
// choosing an invitation's role and ward, or confirming a revocation, or someone with a role
// answering whether an invitation replaces it. They are a few taps, not a form: no review, no
// idempotency key; the case dialog runs them (casework.go), so /start drops them, /cancel says
// "staff.cancelled", /help "staff.help_step", and they are dropped without a word after
// staffFlowExpiry. Commands and other buttons do not leave them: the question is asked again.
//
// The steps are kept as State{Flow: "staff", Step: "role"}, as when they were a dialog of their
// own, rather than as FlowCase's "s.role" (stepOwner.flow): a chat's state saved by the earlier
// version (Redis keeps it across a deploy) goes on where it was, and the buttons on screen,
// "s:<step>:<value>", name the step as State.Step does.
const FlowStaff = "staff"

// Steps of the staff flow; the answers are kept under staffStepRole (the role being invited or
// revoked), staffStepSchool (a school's name, typed before its ward) and under answerTarget and
// answerName (who is being revoked). At staffStepReplace a staff member who opened a second
// invitation is asked whether it replaces their role: the code is kept under answerCode, the
// invitation's role, ward and school under staffStepRole, staffStepWard and staffStepSchool, the
// role they have under answerOldRole, answerOldWard and answerOldSchool.
const (
	staffStepRole    = "role"
	staffStepSchool  = "school"
	staffStepWard    = "ward"
	staffStepConfirm = "confirm"
	staffStepReplace = "replace"
)

// staffSteps are the steps a State of FlowStaff may be at.
var staffSteps = []string{staffStepRole, staffStepSchool, staffStepWard, staffStepConfirm, staffStepReplace}

// staffStep returns staff's case steps (kept under State.Flow FlowStaff, see FlowStaff). Each
// takes typed text through staffInput; they wait staffFlowExpiry, and a refusal ends them.
func staffStep(step string) (caseStep, bool) {
	var ask func(c *turn, reason string)
	switch step {
	case staffStepRole:
		ask = do1(staffTurn.askRole)
	case staffStepSchool:
		ask = do1(staffTurn.askSchool)
	case staffStepWard:
		ask = func(c *turn, reason string) { staffTurn{c}.askWard(reason, false) }
	case staffStepConfirm:
		ask = do1(staffTurn.askConfirm)
	case staffStepReplace:
		ask = do1(staffTurn.askReplace)
	default:
		return caseStep{}, false
	}
	return caseStep{ask: ask, input: fn0(staffTurn.staffInput), help: "staff.help_step",
		expiry: staffFlowExpiry, leaveOnRefusal: true}, true
}

const (
	// staffPrefix starts the button data of staff buttons: "s:<step>:<value>".
	staffPrefix = "s"
	// staffRevoke is the step of the revoke buttons of /staff, "s:revoke:<channel>:<id>": they
	// start a confirmation from any state, so they are not tied to a step.
	staffRevoke  = "revoke"
	answerTarget = "target"
	answerName   = "name"
	confirmYes   = "yes"
	confirmNo    = "no"
	invitePrefix = "inv_"
	auditRefused = "auth.refused"
	// staffListed is how many people /staff lists, to stay within messageMax.
	staffListed = 25
	// staffNameMax and staffButtonName are the characters of a name shown in a line and on a button.
	staffNameMax    = 40
	staffButtonName = 24

	// staffFlowExpiry is how long a half-made invitation or revocation waits for its next tap.
	staffFlowExpiry = time.Hour
	// staffSchoolShown is the characters of a school's name shown in a line.
	staffSchoolShown = 80
)

const (
	// staffUninvite is the step of /invites' buttons, "s:uninv:<invitation id>", which revoke an
	// invitation from any state.
	staffUninvite   = "uninv"
	answerCode      = "code"
	answerOldRole   = "old_role"
	answerOldWard   = "old_ward"
	answerOldSchool = "old_school"
	// staffHelpMax is the longest message of the staff help: 2,000 characters (the smallest
	// message a channel carries), so no adapter cuts a group of commands in two.
	staffHelpMax = 2000
)

var (
	// startPayload is a start payload every channel carries: letters, digits, _ and -, at most 64.
	startPayload = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	// accountID is an account id typed after /revoke.
	accountID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)
)

// roleLabels are the message ids of each role's name and of other words that name it when typed.
var roleLabels = map[campaign.Role][2]string{
	campaign.RoleCityOfficial:    {"staff.role.city_official", "staff.role.city_official_words"},
	campaign.RoleEducationOffice: {"staff.role.education_office", "staff.role.education_office_words"},
	campaign.RoleWardOfficial:    {"staff.role.ward_official", "staff.role.ward_official_words"},
	campaign.RoleWomensUnion:     {"staff.role.womens_union", "staff.role.womens_union_words"},
	campaign.RoleVolunteer:       {"staff.role.volunteer", "staff.role.volunteer_words"},
	campaign.RoleCultureInfo:     {"staff.role.culture_info", "staff.role.culture_info_words"},
	campaign.RoleSchool:          {"staff.role.school", "staff.role.school_words"},
}

// staffCommands are the typed staff commands and the action each needs, for the /help line.
// They are not in Commands: the public menu stays short for parents.
// on says whether the command's store is configured (nil: always).
var staffCommands = []struct {
	name   string
	action campaign.Action
	on     func(Config) bool
}{
	{"invite", campaign.ActionInvite, nil},
	{"invites", campaign.ActionInvite, nil},
	{"staff", campaign.ActionManageStaff, nil},
	{"revoke", campaign.ActionManageStaff, nil},
	{"erase", campaign.ActionErase, func(c Config) bool { return c.Eraser != nil && c.Family != nil }},
	{"assist", campaign.ActionAssist, nil},
	{"import", campaign.ActionImportList, func(c Config) bool { return c.Lists != nil && c.ListReader != nil && c.Files != nil }},
	{"verify", campaign.ActionVerify, func(c Config) bool { return c.Cases != nil }},
	{"allocate", campaign.ActionAllocate, func(c Config) bool { return c.Cases != nil }},
	{"deliveries", campaign.ActionDeliver, func(c Config) bool { return c.Cases != nil }},
	{"find", campaign.ActionFind, func(c Config) bool { return c.Find != nil }},
	{"export", campaign.ActionExport, func(c Config) bool { return c.Exporter != nil }},
	{"summary", campaign.ActionViewProgress, func(c Config) bool { return c.Progress != nil }},
}

// staffHelpGroups are the staff commands as /help explains them, in groups under a heading: each
// line says what the command does and gives an example. A command shows for those who may use
// it (staffCommands, intakeCommands, notifyCommands); a group with none is left out. The lines
// take Wards (the sender's ward, every ward, or a school's students) and Scope (their ward, or
// the city).
var staffHelpGroups = []struct {
	title string
	lines []struct{ name, text string }
}{
	{"staff.help.group.team", []struct{ name, text string }{
		{"invite", "staff.help.invite"},
		{"invites", "staff.help.invites"},
		{"staff", "staff.help.staff"},
		{"revoke", "staff.help.revoke"},
		{"erase", "staff.help.erase"},
	}},
	{"staff.help.group.cases", []struct{ name, text string }{
		{"assist", "staff.help.assist"},
		{"import", "staff.help.import"},
		{"verify", "staff.help.verify"},
		{"allocate", "staff.help.allocate"},
		{"deliveries", "staff.help.deliveries"},
		{"find", "staff.help.find"},
		{"export", "staff.help.export"},
	}},
	{"staff.help.group.devices", []struct{ name, text string }{
		{"intake", "staff.help.intake"},
		{"myintake", "staff.help.myintake"},
		{"device", "staff.help.device"},
		{"money", "staff.help.money"},
		{"buy", "staff.help.buy"},
	}},
	{"staff.help.group.news", []struct{ name, text string }{
		{"summary", "staff.help.summary"},
		{"subscribe", "staff.help.subscribe"},
		{"unsubscribe", "staff.help.unsubscribe"},
		{"broadcast", "staff.help.broadcast"},
	}},
	{"staff.help.group.you", []struct{ name, text string }{
		{"whoami", "staff.help.whoami"},
	}},
}

// cleanAdmins trims the configured administrator ids and drops empty ones.
func cleanAdmins(ids []string) []string {
	var out []string
	for _, id := range ids {
		if id = strings.TrimSpace(id); id != "" {
			out = append(out, id)
		}
	}
	return out
}

// staffTurn is a turn of staff's own commands (/invite, /whoami, /staff, /revoke); its methods are
// the flow's own (see flowTurn).
type staffTurn struct{ *turn }

// atOwnStep reports whether the chat is at one of staff's case steps (staffStep).
func (c staffTurn) atOwnStep() bool {
	_, o, ok := c.e.routes.stepAt(c.st.Flow, c.st.Step)
	return ok && o.owner == staffPrefix
}

// enterStaff starts the staff flow at step, dropping an earlier one (or a case step).
func (c staffTurn) enterStaff(step string) {
	c.toIdle()
	c.st.Flow = FlowStaff
	c.st.Step = step
	c.st.StartedAt = c.now
}

// isAdmin reports whether the sender is named in Config.Admins.
func (c staffTurn) isAdmin() bool {
	return c.e.isAdminAccount(c.sess.Channel, c.in.UserID)
}

// isAdminAccount reports whether the account id on channel is named in Config.Admins, now.
func (e *Engine) isAdminAccount(channel, id string) bool {
	if id == "" {
		return false
	}
	for _, a := range e.cfg.Admins {
		if ch, aid, ok := strings.Cut(a, ":"); ok {
			if ch == channel && aid == id {
				return true
			}
		} else if a == id {
			return true
		}
	}
	return false
}

// actor names the sender in audit rows and as the maker of invitations and revocations.
func (c *turn) actor() string {
	id := c.in.UserID
	if id == "" {
		id = c.sess.ChatID
	}
	return c.sess.Channel + ":" + id
}

// whoIs is the sender as staff: an administrator, a staff member found by this chat, or someone
// without a role (Role "").
func (c *turn) whoIs() (campaign.Staff, error) {
	me := campaign.Staff{Channel: c.sess.Channel, ExternalID: c.sess.ChatID, Name: c.in.UserName}
	if (staffTurn{c}).isAdmin() {
		me.Role = campaign.RoleAdmin
		return me, nil
	}
	if c.e.cfg.Staff == nil {
		return me, nil
	}
	s, err := c.e.cfg.Staff.StaffMember(c.ctx, c.sess.Channel, c.sess.ChatID)
	switch campaign.ErrorCode(err) {
	case "":
		return s, nil
	case campaign.ENOTFOUND:
		return me, nil
	}
	return campaign.Staff{}, fmt.Errorf("look up staff member: %w", err)
}

// authorize is the one place the staff flows ask whether the sender may take action (on a record
// of ward; "" for city-wide actions), through campaign.Authorize. On refusal it has replied
// politely, written an "auth.refused" audit row and left a case step that ends on a refusal
// (caseStep.leaveOnRefusal: staff's); err is a store failure.
func (c *turn) authorize(action campaign.Action, ward string) (campaign.Staff, bool, error) {
	who, err := c.whoIs()
	if err != nil {
		return campaign.Staff{}, false, err
	}
	return c.authorizeAs(who, action, ward)
}

// authorizeAs is authorize for a sender already looked up with whoIs in this turn, so a command
// that checks several records asks the staff store once.
func (c *turn) authorizeAs(who campaign.Staff, action campaign.Action, ward string) (campaign.Staff, bool, error) {
	if campaign.Authorize(who, action, ward) == nil {
		return who, true, nil
	}
	if c.e.cfg.Audit != nil {
		after := map[string]string{"role": string(who.Role), "ward": ward}
		if who.WardCode != "" {
			after["own_ward"] = who.WardCode
		}
		err := c.e.cfg.Audit.Audit(c.ctx, campaign.AuditEntry{
			At: c.now, Actor: c.actor(), Action: auditRefused, Subject: string(action), After: after,
		})
		if err != nil {
			return campaign.Staff{}, false, fmt.Errorf("audit refused %s: %w", action, err)
		}
	}
	// Only the role and the ward are said, never the refusal's own text.
	otherWard := who.WardCode
	who.WardCode = ward
	switch {
	case who.Role == "":
		c.say(c.t("staff.refused"))
	case who.Role.NeedsWard() && campaign.Authorize(who, action, ward) == nil:
		c.say(c.t("staff.refused_ward", "Ward", c.wardName(otherWard)))
	default:
		c.say(c.t("staff.refused_role", "Role", staffTurn{c}.roleName(who.Role)))
	}
	if s, _, ok := c.e.routes.stepAt(c.st.Flow, c.st.Step); ok && s.leaveOnRefusal {
		c.toIdle()
	}
	c.resume("")
	return campaign.Staff{}, false, nil
}

// staffOff answers that staff commands are off when no StaffStore is configured.
func (c staffTurn) staffOff() bool {
	if c.e.cfg.Staff != nil {
		return false
	}
	c.say(c.t("staff.unavailable"))
	c.resume("")
	return true
}

// formBusy refuses to start a staff flow while a registration is in progress: a State holds one
// flow, and a parent's answers are never replaced by an administrator's taps.
func (c *turn) formBusy() bool {
	if c.form() == nil {
		return false
	}
	c.say(c.t("staff.finish_form"))
	c.resume("")
	return true
}

func (c staffTurn) roleName(r campaign.Role) string { return c.e.roleNameIn(c.lang, r) }

// roleNameIn is the role's name in lang, for a notice to someone else.
func (e *Engine) roleNameIn(lang string, r campaign.Role) string {
	if r == campaign.RoleAdmin {
		return e.text(lang, "staff.role.admin", nil)
	}
	if l, ok := roleLabels[r]; ok {
		return e.text(lang, l[0], nil)
	}
	return string(r)
}

// roleLabelIn is a role with its ward, if any, in lang: «Cán bộ phường» – Phường Linh Trung.
func (e *Engine) roleLabelIn(lang string, r campaign.Role, ward string) string {
	if ward != "" {
		return e.text(lang, "staff.role_label_ward", map[string]any{"Role": e.roleNameIn(lang, r), "Ward": e.wardNameIn(lang, ward)})
	}
	return e.text(lang, "staff.role_label", map[string]any{"Role": e.roleNameIn(lang, r)})
}

func (c staffTurn) roleLabel(r campaign.Role, ward string) string {
	return c.e.roleLabelIn(c.lang, r, ward)
}

// postLabelIn is a role with its ward and, for a school, its name, in lang: «Trường học» –
// Trường THCS Linh Trung, Phường Linh Trung.
func (e *Engine) postLabelIn(lang string, r campaign.Role, ward, school string) string {
	if school == "" {
		return e.roleLabelIn(lang, r, ward)
	}
	return e.text(lang, "staff.role_label_school", map[string]any{"Role": e.roleNameIn(lang, r),
		"School": clip(school, staffSchoolShown), "Ward": e.wardNameIn(lang, ward)})
}

func (c staffTurn) postLabel(r campaign.Role, ward, school string) string {
	if school == "" {
		return c.roleLabel(r, ward)
	}
	return c.e.postLabelIn(c.lang, r, ward, school)
}

// staffTime writes an instant as dd/mm/yyyy HH:MM in the campaign's time zone.
func (c staffTurn) staffTime(t time.Time) string {
	loc := c.e.cfg.Campaign.Location
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("02/01/2006 15:04")
}

func (c *turn) wardName(code string) string { return c.e.wardNameIn(c.lang, code) }

// wardNameIn is the ward's name in lang, for a notice to someone else.
func (e *Engine) wardNameIn(lang, code string) string {
	if w, ok := e.cfg.Campaign.Ward(code); ok {
		return w.DisplayName(lang)
	}
	return code
}

// roleOptions are the roles an invitation can give, as choices.
func roleOptions() []option {
	opts := make([]option, 0, len(campaign.StaffRoles))
	for _, r := range campaign.StaffRoles {
		opts = append(opts, option{value: string(r), label: roleLabels[r][0], words: roleLabels[r][1]})
	}
	return opts
}

// parseRole reads a role from the start of typed text ("cán bộ phường linh trung",
// "womens_union thao dien") and returns what follows it (a ward's name).
func (c staffTurn) parseRole(text string) (campaign.Role, string, bool) {
	words := strings.Fields(text)
	for n := len(words); n > 0; n-- {
		head := strings.Join(words[:n], " ")
		if r := campaign.Role(head); r.Valid() {
			return r, strings.Join(words[n:], " "), true
		}
		if o, ok := c.matchOption(roleOptions(), head); ok {
			return campaign.Role(o.value), strings.Join(words[n:], " "), true
		}
	}
	return "", "", false
}

// paragraphs joins the parts that are not empty with blank lines.
func paragraphs(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "\n\n")
}

func staffData(step, value string) string { return staffPrefix + ":" + step + ":" + value }

func (c staffTurn) cancelRow(step string) []Button {
	return []Button{{Text: c.t("common.btn_cancel"), Data: staffData(step, ctlCancel)}}
}

func (c staffTurn) askRole(reason string) {
	var buttons []Button
	for _, o := range roleOptions() {
		buttons = append(buttons, Button{Text: c.t(o.label), Data: staffData(staffStepRole, o.value)})
	}
	rows := append(grid(buttons, 1), c.cancelRow(staffStepRole))
	c.out = append(c.out, Output{Text: paragraphs(reason, c.t("staff.invite.role_prompt")), Buttons: rows})
}

func (c staffTurn) askWard(reason string, edit bool) {
	page, pages := c.wardPage()
	lead := c.lead
	c.lead = ""
	text := c.t("staff.invite.ward_prompt", "Role", c.roleName(campaign.Role(c.st.Answers[staffStepRole])), "Page", page+1, "Pages", pages)
	if school := c.st.Answers[staffStepSchool]; school != "" {
		text = c.t("staff.invite.school_ward_prompt", "School", clip(school, staffSchoolShown), "Page", page+1, "Pages", pages)
	}
	rows := formTurn(c).wardPageRows(func(v string) string { return staffData(staffStepWard, v) })
	rows = append(rows, c.cancelRow(staffStepWard))
	c.out = append(c.out, Output{Text: paragraphs(lead, reason, text), Buttons: rows, Replace: edit})
}

// askSchool asks a school's name, typed: there is no list of schools to choose from.
func (c staffTurn) askSchool(reason string) {
	c.out = append(c.out, Output{Text: paragraphs(reason, c.t("staff.invite.school_prompt")),
		Buttons: [][]Button{c.cancelRow(staffStepSchool)}})
}

func (c staffTurn) askConfirm(reason string) {
	a := c.st.Answers
	text := c.t("staff.revoke.confirm", "Name", a[answerName], "Role", c.roleName(campaign.Role(a[staffStepRole])))
	c.out = append(c.out, Output{Text: paragraphs(reason, text), Buttons: [][]Button{{
		{Text: c.t("staff.revoke.btn_yes"), Data: staffData(staffStepConfirm, confirmYes)},
		{Text: c.t("staff.revoke.btn_no"), Data: staffData(staffStepConfirm, confirmNo)},
	}}})
}

// staffInput handles a message (not a command or button) at a staff step; an edited message is
// the case dialog's (caseInput).
func (c staffTurn) staffInput() error {
	switch c.in.Kind {
	case KindText:
		text := strings.TrimSpace(c.in.Text)
		if text == "" {
			break
		}
		if c.st.Step == staffStepConfirm || c.st.Step == staffStepReplace {
			c.resume(c.t("common.use_buttons"))
			return nil
		}
		if _, ok, err := c.authorize(campaign.ActionInvite, ""); !ok {
			return err
		}
		if c.st.Step == staffStepWard {
			return c.staffTypedWard(text)
		}
		if c.st.Step == staffStepSchool {
			return c.staffTypedSchool(text)
		}
		if r, rest, ok := c.parseRole(text); ok {
			return c.chooseRole(r, rest)
		}
		c.askRole(c.t("staff.invite.role_unknown", "Query", clip(text, 40)))
		return nil
	}
	c.resume(c.t("common.need_text"))
	return nil
}

// staffChoice runs a pressed staff button; data is what follows "s:".
func (c staffTurn) staffChoice(data string) error {
	step, value, _ := strings.Cut(data, ":")
	action := campaign.ActionInvite
	switch step {
	case staffStepRole, staffStepSchool, staffStepWard, staffStepConfirm, staffStepReplace:
		// The button names the step bare, as State.Step keeps it (FlowStaff), so buttons still
		// on screen from before work, and one of an earlier question is stale.
		if !c.atOwnStep() || c.st.Step != step {
			c.stale()
			return nil
		}
		if step == staffStepConfirm {
			action = campaign.ActionManageStaff
		}
	case staffRevoke:
		action = campaign.ActionManageStaff
	case staffUninvite:
	default:
		c.stale()
		return nil
	}
	if c.staffOff() {
		return nil
	}
	if step == staffStepReplace {
		// The person answering holds the invitation's code: no role is needed to answer.
		return c.replaceChoice(value)
	}
	if _, ok, err := c.authorize(action, ""); !ok {
		return err
	}
	if value == ctlCancel && c.atOwnStep() {
		c.cancel()
		return nil
	}
	switch step {
	case staffStepRole:
		if r := campaign.Role(value); r.Valid() {
			c.notice = c.t("common.chosen", "Label", c.roleName(r))
			return c.chooseRole(r, "")
		}
	case staffStepWard:
		if p, ok := strings.CutPrefix(value, ctlPage); ok {
			if n, err := strconv.Atoi(p); err == nil && n >= 0 {
				c.st.Page = n
				c.askWard("", true)
				return nil
			}
		}
		if w, ok := c.e.cfg.Campaign.Ward(value); ok {
			c.notice = c.t("common.chosen", "Label", w.DisplayName(c.lang))
			return c.createInvitation(campaign.Role(c.st.Answers[staffStepRole]), w.Code)
		}
	case staffRevoke:
		if channel, id, ok := strings.Cut(value, ":"); ok && channel != "" && accountID.MatchString(id) {
			return c.startRevoke(channel, id)
		}
	case staffUninvite:
		if id, err := strconv.ParseInt(value, 10, 64); err == nil && id > 0 {
			return c.uninvite(id)
		}
	case staffStepConfirm:
		switch value {
		case confirmYes:
			return c.revokeConfirmed()
		case confirmNo:
			name := c.st.Answers[answerName]
			c.toIdle()
			c.say(c.t("staff.revoke.kept", "Name", name))
			return nil
		}
	}
	c.stale()
	return nil
}

// invite is /invite [role [ward]]: it asks what it was not told, then makes the link.
func (c staffTurn) invite(args string) error {
	if c.staffOff() {
		return nil
	}
	if _, ok, err := c.authorize(campaign.ActionInvite, ""); !ok {
		return err
	}
	if c.formBusy() {
		return nil
	}
	c.enterStaff(staffStepRole)
	if args == "" {
		c.askRole("")
		return nil
	}
	r, rest, ok := c.parseRole(args)
	if !ok {
		c.askRole(c.t("staff.invite.role_unknown", "Query", clip(args, 40)))
		return nil
	}
	return c.chooseRole(r, rest)
}

// chooseRole keeps the role and asks its ward (or matches the typed ward), or makes the link
// for a city-wide role. A school's name is asked (or taken from what was typed after the role:
// "/invite trường THCS Linh Trung"), then its ward.
func (c staffTurn) chooseRole(r campaign.Role, ward string) error {
	c.st.Answers[staffStepRole] = string(r)
	delete(c.st.Answers, staffStepSchool)
	if r.NeedsSchool() {
		c.st.Step = staffStepSchool
		if ward == "" {
			c.askSchool("")
			return nil
		}
		return c.staffTypedSchool(ward)
	}
	if !r.NeedsWard() {
		return c.createInvitation(r, "")
	}
	c.st.Step = staffStepWard
	c.st.Page = 0
	if ward == "" {
		c.askWard("", false)
		return nil
	}
	return c.staffTypedWard(ward)
}

// staffTypedWard matches a typed ward name as the registration does: one match makes the link,
// several are offered, none or too many show the list.
func (c staffTurn) staffTypedWard(text string) error {
	var matches []campaign.Ward
	if len(text) <= 200 {
		matches = c.e.cfg.Campaign.MatchWards(cleanText(text))
	}
	query := clip(text, 40)
	switch {
	case len(matches) == 1:
		c.lead = c.t("reg.ward.chosen", "Ward", matches[0].DisplayName(c.lang))
		return c.createInvitation(campaign.Role(c.st.Answers[staffStepRole]), matches[0].Code)
	case len(matches) == 0:
		c.st.Page = 0
		c.askWard(c.t("reg.err.ward_not_found", "Query", query), false)
	case len(matches) > maxWardChoices:
		c.st.Page = 0
		c.askWard(c.t("reg.ward.too_many", "Query", query, "Count", len(matches)), false)
	default:
		c.out = append(c.out, formTurn(c).wardChoices(matches, query, func(v string) string { return staffData(staffStepWard, v) }))
	}
	return nil
}

// staffTypedSchool takes a school's name typed for an invitation, checked as the registration
// form checks a school (parseFreeText), and asks the school's ward. A name that says no more
// than its level ("THCS") is asked again: it would take in every school of the level.
func (c staffTurn) staffTypedSchool(text string) error {
	school, err := parseFreeText(text, schoolMin, schoolMax)
	if err != nil {
		c.askSchool(c.reason(err))
		return nil
	}
	if campaign.SchoolKeyLevelOnly(school) {
		c.askSchool(c.t("staff.invite.school_level_only", "Query", clip(school, 40)))
		return nil
	}
	c.st.Answers[staffStepSchool] = school
	c.st.Step = staffStepWard
	c.st.Page = 0
	c.askWard("", false)
	return nil
}

// createInvitation stores an invitation and gives the administrator its link. A store error is
// returned with the state unchanged, so pressing the button again tries again. A school's name
// is the one kept in the flow.
func (c staffTurn) createInvitation(r campaign.Role, ward string) error {
	school := ""
	if r.NeedsSchool() {
		school = c.st.Answers[staffStepSchool]
	}
	if !r.Valid() || (r.HasWard() && ward == "") || (r.NeedsSchool() && school == "") {
		c.toIdle() // a state from another version
		c.stale()
		return nil
	}
	if !r.HasWard() {
		ward = ""
	}
	expires := c.now.Add(c.e.cfg.InvitationTTL)
	code, err := c.e.cfg.Staff.CreateInvitation(c.ctx, campaign.Invitation{Role: r, WardCode: ward, School: school,
		CreatedBy: c.actor(), ExpiresAt: expires})
	if err != nil {
		return fmt.Errorf("create invitation: %w", err)
	}
	payload := invitePrefix + code
	if !startPayload.MatchString(payload) {
		// The code is a secret: only its length goes to the log.
		return campaign.Errorf(campaign.EINTERNAL, "an invitation code of %d bytes does not fit a /start payload", len(code))
	}
	link := c.entryLinks(payload)
	when := c.staffTime(expires)
	var text string
	if school != "" {
		text = c.t("staff.invite.link_school", "Role", c.roleName(r), "School", clip(school, staffSchoolShown),
			"Ward", c.wardName(ward), "Link", link, "Expires", when)
	} else if ward != "" {
		text = c.t("staff.invite.link_ward", "Role", c.roleName(r), "Ward", c.wardName(ward), "Link", link, "Expires", when)
	} else {
		text = c.t("staff.invite.link", "Role", c.roleName(r), "Link", link, "Expires", when)
	}
	lead := c.lead
	c.lead = ""
	c.toIdle()
	c.say(paragraphs(lead, text))
	return nil
}

// entryLinks writes how to reach the bot with payload: the main channel's link alone when it
// carries the payload and is the only one, else a line per channel.
func (c staffTurn) entryLinks(payload string) string {
	entries := c.e.cfg.Entries(payload)
	if len(entries) == 1 && entries[0].Typed == "" {
		return entries[0].URL
	}
	lines := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Typed == "" {
			lines = append(lines, c.t("staff.invite.entry", "Name", e.Name, "URL", e.URL))
		} else {
			lines = append(lines, c.t("staff.invite.entry_typed", "Name", e.Name, "URL", e.URL, "Typed", e.Typed))
		}
	}
	return strings.Join(lines, "\n")
}

// redeem binds the role of invitation code to this chat (from the deep link /start inv_<code>),
// then goes on with a form in progress. Someone who has a role already is asked first.
func (c staffTurn) redeem(code string) error {
	if c.staffOff() {
		return nil
	}
	if c.in.UserID != "" && c.in.UserID != c.sess.ChatID {
		// In a group every member would share the role bound to the chat.
		c.say(c.t("staff.redeem.private_only"))
		c.resume("")
		return nil
	}
	return c.redeemCode(code, false)
}

// redeemCode redeems code for this chat, replacing a role it has only when replace is set; a
// role that would be replaced by another is asked about (the code is kept in the staff flow).
// The inviter is told by a notice queued with the redemption.
func (c staffTurn) redeemCode(code string, replace bool) error {
	who := campaign.Staff{Channel: c.sess.Channel, ExternalID: c.sess.ChatID, Name: c.in.UserName}
	var r campaign.Redemption
	var err error = campaign.Errorf(campaign.ENOTFOUND, "empty invitation code")
	if code != "" {
		r, err = c.e.cfg.Staff.RedeemInvitation(c.ctx, code, who, replace, c.redemptionNotices)
	}
	if err != nil && campaign.ErrorCode(err) != campaign.ENOTFOUND {
		return fmt.Errorf("redeem invitation: %w", err)
	}
	if c.atOwnStep() {
		c.toIdle() // the question is answered: the code is not kept
	}
	inv, old := r.Invitation, r.Previous
	switch {
	case err != nil:
		c.say(c.t("staff.redeem.invalid"))
	case r.Held && old.Role == inv.Role && old.WardCode == inv.WardCode && old.School == inv.School:
		return c.redeemCode(code, true) // the same role again: nothing to lose
	case r.Held:
		if c.formBusy() {
			return nil
		}
		c.enterStaff(staffStepReplace)
		c.st.Answers[answerCode] = code
		c.st.Answers[staffStepRole], c.st.Answers[staffStepWard] = string(inv.Role), inv.WardCode
		c.st.Answers[answerOldRole], c.st.Answers[answerOldWard] = string(old.Role), old.WardCode
		if inv.School != "" {
			c.st.Answers[staffStepSchool] = inv.School
		}
		if old.School != "" {
			c.st.Answers[answerOldSchool] = old.School
		}
		c.askReplace("")
		return nil
	default:
		c.noticesQueued()
		welcome := c.t("staff.redeem.welcome", "Role", c.roleName(r.Staff.Role))
		switch {
		case r.Staff.School != "":
			welcome = c.t("staff.redeem.welcome_school", "Role", c.roleName(r.Staff.Role),
				"School", clip(r.Staff.School, staffSchoolShown), "Ward", c.wardName(r.Staff.WardCode))
		case r.Staff.WardCode != "":
			welcome = c.t("staff.redeem.welcome_ward", "Role", c.roleName(r.Staff.Role), "Ward", c.wardName(r.Staff.WardCode))
		}
		if old.Role != "" {
			welcome = paragraphs(welcome, c.t("staff.redeem.replaced", "Role", c.postLabel(old.Role, old.WardCode, old.School)))
		}
		c.say(welcome)
	}
	c.resume("")
	return nil
}

// askReplace asks a staff member whether the invitation they opened replaces the role they have.
func (c staffTurn) askReplace(reason string) {
	a := c.st.Answers
	text := c.t("staff.redeem.replace_prompt",
		"Current", c.postLabel(campaign.Role(a[answerOldRole]), a[answerOldWard], a[answerOldSchool]),
		"New", c.postLabel(campaign.Role(a[staffStepRole]), a[staffStepWard], a[staffStepSchool]))
	c.out = append(c.out, Output{Text: paragraphs(reason, text), Buttons: [][]Button{
		{{Text: c.t("staff.redeem.btn_replace"), Data: staffData(staffStepReplace, confirmYes)}},
		{{Text: c.t("staff.redeem.btn_keep"), Data: staffData(staffStepReplace, confirmNo)}},
	}})
}

// replaceChoice answers askReplace: yes redeems the kept code in place of the role, no keeps the
// role and leaves the invitation unused.
func (c staffTurn) replaceChoice(value string) error {
	switch value {
	case confirmYes:
		if c.in.UserID != "" && c.in.UserID != c.sess.ChatID {
			c.stale() // the question was asked in a private chat only
			return nil
		}
		return c.redeemCode(c.st.Answers[answerCode], true)
	case confirmNo:
		old := c.postLabel(campaign.Role(c.st.Answers[answerOldRole]), c.st.Answers[answerOldWard], c.st.Answers[answerOldSchool])
		c.toIdle()
		c.say(c.t("staff.redeem.kept", "Role", old))
		return nil
	}
	c.stale()
	return nil
}

// redemptionNotices tell the invitation's maker who redeemed it (and the role it replaced), in
// their language, with a button to revoke the new role; queued by the store with the redemption.
// Someone redeeming their own invitation is not told twice.
func (c staffTurn) redemptionNotices(r campaign.Redemption) []campaign.OutboxMessage {
	to, s := r.Inviter, r.Staff
	if to.Channel == s.Channel && to.ChatID == s.ExternalID {
		return nil
	}
	lang := langOf(to.Language)
	name := clip(s.Name, staffNameMax)
	if name == "" {
		name = c.e.text(lang, "staff.name_unknown", nil)
	}
	text := c.e.text(lang, "staff.redeem.notice", map[string]any{"ID": r.Invitation.ID,
		"Role": c.e.postLabelIn(lang, s.Role, s.WardCode, s.School), "Name": name, "Account": s.Channel + ":" + s.ExternalID})
	if r.Previous.Role != "" {
		text = paragraphs(text, c.e.text(lang, "staff.redeem.notice_replaced", map[string]any{
			"Role": c.e.postLabelIn(lang, r.Previous.Role, r.Previous.WardCode, r.Previous.School)}))
	}
	o := Output{Text: text}
	if d := staffData(staffRevoke, s.Channel+":"+s.ExternalID); len(d) <= maxData {
		o.Buttons = [][]Button{{{Text: c.e.text(lang, "staff.btn_revoke", map[string]any{"Name": clip(name, staffButtonName)}), Data: d}}}
	}
	// An invitation is redeemed once: its id makes the key.
	key := c.noticeKey("redeemed", "invitation:"+strconv.FormatInt(r.Invitation.ID, 10))
	return notice(key, campaign.Session{Channel: to.Channel, ChatID: to.ChatID}, o)
}

// invites is /invites: the open invitations with their role, ward, maker and expiry, each with a
// button that revokes it.
func (c staffTurn) invites() error {
	if c.staffOff() {
		return nil
	}
	if _, ok, err := c.authorize(campaign.ActionInvite, ""); !ok {
		return err
	}
	list, err := c.e.cfg.Staff.Invitations(c.ctx)
	if err != nil {
		return fmt.Errorf("list invitations: %w", err)
	}
	c.showInvites("", list, false)
	return nil
}

// showInvites lists the invitations of list after lead, in place of the pressed message when
// replace is set, then asks a form's question again.
func (c staffTurn) showInvites(lead string, list []campaign.Invitation, replace bool) {
	if len(list) == 0 {
		c.out = append(c.out, Output{Text: paragraphs(lead, c.t("staff.invites.none")), Replace: replace})
		c.resume("")
		return
	}
	lines := []string{c.t("staff.invites.title", "Count", len(list))}
	var buttons []Button
	for i, inv := range list {
		if i == staffListed {
			lines = append(lines, c.t("staff.invites.more", "Count", len(list)-staffListed))
			break
		}
		by := clip(inv.CreatedBy, 60)
		if inv.CreatedBy == c.actor() {
			by = c.t("staff.invites.by_you")
		}
		lines = append(lines, c.t("staff.invites.line", "ID", inv.ID, "Role", c.postLabel(inv.Role, inv.WardCode, inv.School),
			"By", by, "Expires", c.staffTime(inv.ExpiresAt)))
		buttons = append(buttons, Button{Text: c.t("staff.invites.btn_revoke", "ID", inv.ID), Data: staffData(staffUninvite, strconv.FormatInt(inv.ID, 10))})
	}
	c.out = append(c.out, Output{Text: paragraphs(lead, strings.Join(lines, "\n")), Buttons: grid(buttons, 3), Replace: replace})
	c.resume("")
}

// uninvite revokes the open invitation id (a button of /invites) and lists those left.
func (c staffTurn) uninvite(id int64) error {
	list, err := c.e.cfg.Staff.Invitations(c.ctx)
	if err != nil {
		return fmt.Errorf("list invitations: %w", err)
	}
	i := slices.IndexFunc(list, func(inv campaign.Invitation) bool { return inv.ID == id })
	if i >= 0 {
		err = c.e.cfg.Staff.RevokeInvitation(c.ctx, id, c.actor())
	}
	switch {
	case i < 0 || campaign.ErrorCode(err) == campaign.ENOTFOUND:
		// Used, expired or revoked since the list was shown.
		if i >= 0 {
			list = slices.Delete(list, i, i+1)
		}
		c.showInvites(c.t("staff.invites.gone", "ID", id), list, true)
	case err != nil:
		return fmt.Errorf("revoke invitation: %w", err)
	default:
		inv := list[i]
		c.showInvites(c.t("staff.invites.revoked", "ID", id, "Role", c.postLabel(inv.Role, inv.WardCode, inv.School)), slices.Delete(list, i, i+1), true)
	}
	return nil
}

// whoami says the sender's role and the staff commands it allows.
func (c staffTurn) whoami() error {
	if c.staffOff() {
		return nil
	}
	who, err := c.whoIs()
	if err != nil {
		return err
	}
	switch {
	case who.Role == campaign.RoleAdmin:
		c.say(paragraphs(c.t("staff.whoami.admin"), c.staffHelpLine(who)))
	case who.Role == "":
		c.say(c.t("staff.whoami.none"))
	case who.Role.NeedsSchool():
		c.say(paragraphs(c.t("staff.whoami.role_school", "Role", c.roleName(who.Role), "School", clip(who.School, staffSchoolShown),
			"Ward", c.wardName(who.WardCode)), c.staffHelpLine(who)))
	case who.WardCode != "":
		c.say(paragraphs(c.t("staff.whoami.role_ward", "Role", c.roleName(who.Role), "Ward", c.wardName(who.WardCode)), c.staffHelpLine(who)))
	default:
		c.say(paragraphs(c.t("staff.whoami.role", "Role", c.roleName(who.Role)), c.staffHelpLine(who)))
	}
	if c.form() == nil && c.dialog() == nil {
		c.out[len(c.out)-1].Buttons = assistTurn(c).assistButtons(who)
	}
	c.resume("")
	return nil
}

// staffHelpLine lists the staff commands s may use, "" for someone without a role.
func (c staffTurn) staffHelpLine(s campaign.Staff) string {
	names := c.staffCommandNames(s)
	if len(names) == 0 {
		return ""
	}
	return c.t("staff.help_line", "Commands", strings.Join(names, ", "))
}

// staffCommandNames are the staff commands s may use ("/verify"), none for someone without a role.
func (c staffTurn) staffCommandNames(s campaign.Staff) []string {
	if s.Role == "" {
		return nil
	}
	var names []string
	for _, sc := range staffCommands {
		if (sc.on == nil || sc.on(c.e.cfg)) && campaign.Authorize(s, sc.action, s.WardCode) == nil {
			names = append(names, "/"+sc.name)
		}
	}
	names = append(names, intakeTurn(c).intakeCommands(s)...)
	names = append(names, notifyTurn(c).notifyCommands(s)...)
	return append(names, "/whoami")
}

// staffHelp is the staff part of /help for s: a heading, then each group of the commands s may
// use, a line each saying what it does with an example, in as few messages of at most
// staffHelpMax characters as hold them (a group is never split). None for someone without a role.
func (c staffTurn) staffHelp(s campaign.Staff) []string {
	names := c.staffCommandNames(s)
	if len(names) == 0 {
		return nil
	}
	wards, scope := c.t("staff.help.every_ward"), notifyTurn(c).scopeName("")
	if s.Role.NeedsWard() {
		wards, scope = c.wardName(s.WardCode), c.wardName(s.WardCode)
	}
	title := c.t("staff.help.title", "Role", c.postLabel(s.Role, s.WardCode, s.School))
	if s.Role.NeedsSchool() {
		school := clip(s.School, staffSchoolShown)
		wards = c.t("staff.help.school_students", "School", school)
		title += "\n" + c.t("staff.help.school_scope", "School", school)
	}
	parts := []string{title}
	for _, g := range staffHelpGroups {
		var lines []string
		for _, l := range g.lines {
			if slices.Contains(names, "/"+l.name) {
				lines = append(lines, c.t(l.text, "Wards", wards, "Scope", scope))
			}
		}
		if len(lines) > 0 {
			parts = append(parts, c.t(g.title)+"\n"+strings.Join(lines, "\n"))
		}
	}
	var msgs []string
	for _, p := range parts {
		if n := len(msgs); n > 0 && utf8.RuneCountInString(msgs[n-1])+2+utf8.RuneCountInString(p) <= staffHelpMax {
			msgs[n-1] += "\n\n" + p
		} else {
			msgs = append(msgs, p)
		}
	}
	return msgs
}

// helpIdle is what /help adds outside a form or dialog, after the public help: for staff, what
// each of their commands does. A failed staff look-up only leaves it out: help must always answer.
func (c staffTurn) helpIdle() {
	if c.e.cfg.Staff == nil {
		return
	}
	who, err := c.whoIs()
	if err != nil {
		return
	}
	for _, m := range c.staffHelp(who) {
		c.say(m)
	}
}

// staffList is /staff: the active staff, each with a button to revoke their role.
func (c staffTurn) staffList() error {
	if c.staffOff() {
		return nil
	}
	if _, ok, err := c.authorize(campaign.ActionManageStaff, ""); !ok {
		return err
	}
	return c.showStaff()
}

func (c staffTurn) showStaff() error {
	list, err := c.e.cfg.Staff.ListStaff(c.ctx)
	if err != nil {
		return fmt.Errorf("list staff: %w", err)
	}
	if len(list) == 0 {
		c.say(c.t("staff.list.none"))
		c.resume("")
		return nil
	}
	lines := []string{c.t("staff.list.title", "Count", len(list))}
	var buttons []Button
	for i, s := range list {
		if i == staffListed {
			lines = append(lines, c.t("staff.list.more", "Count", len(list)-staffListed))
			break
		}
		name := c.staffName(s)
		ref := s.ExternalID
		if s.Channel != c.sess.Channel {
			ref = s.Channel + ":" + s.ExternalID
		}
		if s.School != "" {
			lines = append(lines, c.t("staff.list.line_school", "Name", name, "Role", c.roleName(s.Role),
				"School", clip(s.School, staffSchoolShown), "ID", clip(ref, 60)))
		} else if s.WardCode != "" {
			lines = append(lines, c.t("staff.list.line_ward", "Name", name, "Role", c.roleName(s.Role), "Ward", c.wardName(s.WardCode), "ID", clip(ref, 60)))
		} else {
			lines = append(lines, c.t("staff.list.line", "Name", name, "Role", c.roleName(s.Role), "ID", clip(ref, 60)))
		}
		// An id too long for a button's data can still be revoked by typing /revoke.
		if d := staffData(staffRevoke, s.Channel+":"+s.ExternalID); len(d) <= maxData {
			buttons = append(buttons, Button{Text: c.t("staff.btn_revoke", "Name", clip(name, staffButtonName)), Data: d})
		}
	}
	c.out = append(c.out, Output{Text: strings.Join(lines, "\n"), Buttons: grid(buttons, 2)})
	c.resume("")
	return nil
}

func (c staffTurn) staffName(s campaign.Staff) string {
	if n := clip(s.Name, staffNameMax); n != "" {
		return n
	}
	return c.t("staff.name_unknown")
}

// revokeCommand is /revoke <id> (this channel) or /revoke <channel>:<id>; without an id it lists
// the staff.
func (c staffTurn) revokeCommand(args string) error {
	if c.staffOff() {
		return nil
	}
	if _, ok, err := c.authorize(campaign.ActionManageStaff, ""); !ok {
		return err
	}
	if args == "" {
		return c.showStaff()
	}
	channel, id, ok := strings.Cut(args, ":")
	if !ok {
		channel, id = c.sess.Channel, args
	}
	if channel == "" || !accountID.MatchString(id) {
		c.say(c.t("staff.revoke.usage"))
		c.resume("")
		return nil
	}
	return c.startRevoke(channel, id)
}

// startRevoke asks to confirm revoking the role of an account.
func (c staffTurn) startRevoke(channel, id string) error {
	if c.formBusy() {
		return nil
	}
	s, err := c.e.cfg.Staff.StaffMember(c.ctx, channel, id)
	if campaign.ErrorCode(err) == campaign.ENOTFOUND {
		if c.atOwnStep() {
			c.toIdle()
		}
		c.say(c.t("staff.revoke.gone"))
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up staff member: %w", err)
	}
	c.enterStaff(staffStepConfirm)
	c.st.Answers[answerTarget] = channel + ":" + id
	c.st.Answers[answerName] = c.staffName(s)
	c.st.Answers[staffStepRole] = string(s.Role)
	c.askConfirm("")
	return nil
}

// revokeConfirmed removes the role. The person is not told: the bot does not yet send to other
// chats, and the administrator is reminded of that.
func (c staffTurn) revokeConfirmed() error {
	channel, id, _ := strings.Cut(c.st.Answers[answerTarget], ":")
	name := c.st.Answers[answerName]
	err := c.e.cfg.Staff.RevokeStaff(c.ctx, channel, id, c.actor())
	switch campaign.ErrorCode(err) {
	case "":
		c.toIdle()
		c.say(c.t("staff.revoke.done", "Name", name))
	case campaign.ENOTFOUND:
		c.toIdle()
		c.say(c.t("staff.revoke.gone"))
	default:
		return fmt.Errorf("revoke staff: %w", err)
	}
	return nil
}
