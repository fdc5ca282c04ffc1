// staff.go holds the staff flow's registration, its steps and buttons (staffStep, staffInput,
// staffChoice), authorize (the one gate of every staff action) and what the staff files share:
// who the sender is, the names of roles and wards, parseRole. The commands are in
// staff_invite.go (/invite, /invites, redeeming an invitation), staff_roster.go (/staff,
// /revoke) and staff_help.go (/whoami, the staff part of /help).

package flows

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

func init() {
	registerFlow(flowSpec{
		name: FlowStaff,
		commands: []flowCommand{
			{name: "whoami", run: func(c *turn, _ string) error { return staffTurn{c}.whoami() },
				staff: &staffLine{group: "staff.help.group.you", rank: 220, text: "staff.help.whoami"}},
			{name: "invite", run: fn1(staffTurn.invite),
				staff: &staffLine{group: "staff.help.group.team", rank: 10, text: "staff.help.invite", may: staffMay(campaign.ActionInvite, nil)}},
			{name: "invites", run: func(c *turn, _ string) error { return staffTurn{c}.invites() },
				staff: &staffLine{group: "staff.help.group.team", rank: 20, text: "staff.help.invites", may: staffMay(campaign.ActionInvite, nil)}},
			{name: "staff", run: func(c *turn, _ string) error { return staffTurn{c}.staffList() },
				staff: &staffLine{group: "staff.help.group.team", rank: 30, text: "staff.help.staff", may: staffMay(campaign.ActionManageStaff, nil)}},
			{name: "revoke", run: fn1(staffTurn.revokeCommand),
				staff: &staffLine{group: "staff.help.group.team", rank: 40, text: "staff.help.revoke", may: staffMay(campaign.ActionManageStaff, nil)}},
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

func staffData(step, value string) string { return staffPrefix + ":" + step + ":" + value }

func (c staffTurn) cancelRow(step string) []Button {
	return []Button{{Text: c.t("common.btn_cancel"), Data: staffData(step, ctlCancel)}}
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
