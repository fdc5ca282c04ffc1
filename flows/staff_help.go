// staff_help.go holds what the sender may do as staff: /whoami and the staff part of /help.
// Each command says its own line (flowCommand.staff: heading, rank, text, who may use it); this
// file keeps only the headings' order, and asks notify for its scope name and assist for its
// buttons.

package flows

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/thuduc/maytinhchoem/campaign"
)

// staffHelpGroups are the headings of staff's /help, in the order it shows them: each staff
// command's line (flowCommand.staff) names the one it is under, and a group with no command the
// sender may use is left out. Registration refuses a line under a heading not here.
var staffHelpGroups = []string{
	"staff.help.group.team",
	"staff.help.group.cases",
	"staff.help.group.devices",
	"staff.help.group.news",
	"staff.help.group.you",
}

// staffMay is a staff line's may for a command that needs action a in the member's own ward (or
// the city), and whose store on says is configured (nil: always).
func staffMay(a campaign.Action, on func(Config) bool) func(Config, campaign.Staff) bool {
	return func(cfg Config, s campaign.Staff) bool {
		return (on == nil || on(cfg)) && campaign.Authorize(s, a, s.WardCode) == nil
	}
}

// staffHelpMax is the longest message of the staff help: 2,000 characters (the smallest
// message a channel carries), so no adapter cuts a group of commands in two.
const staffHelpMax = 2000

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

// staffCommands are the commands with a staff line that s may use with the engine's Config, in
// their lines' rank order; none for someone without a role.
func (c staffTurn) staffCommands(s campaign.Staff) []flowCommand {
	if s.Role == "" {
		return nil
	}
	var cmds []flowCommand
	for _, fc := range c.e.routes.commands {
		if l := fc.staff; l != nil && (l.may == nil || l.may(c.e.cfg, s)) {
			cmds = append(cmds, fc)
		}
	}
	slices.SortFunc(cmds, func(a, b flowCommand) int {
		return cmp.Or(cmp.Compare(a.staff.rank, b.staff.rank), strings.Compare(a.name, b.name))
	})
	return cmds
}

// staffCommandNames are the staff commands s may use ("/verify"), none for someone without a role.
func (c staffTurn) staffCommandNames(s campaign.Staff) []string {
	var names []string
	for _, fc := range c.staffCommands(s) {
		names = append(names, "/"+fc.name)
	}
	return names
}

// staffHelp is the staff part of /help for s: a heading, then each group of the commands s may
// use, a line each saying what it does with an example, in as few messages of at most
// staffHelpMax characters as hold them (a group is never split). None for someone without a role.
func (c staffTurn) staffHelp(s campaign.Staff) []string {
	cmds := c.staffCommands(s)
	if len(cmds) == 0 {
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
		for _, fc := range cmds {
			if fc.staff.group == g {
				lines = append(lines, c.t(fc.staff.text, "Wards", wards, "Scope", scope))
			}
		}
		if len(lines) > 0 {
			parts = append(parts, c.t(g)+"\n"+strings.Join(lines, "\n"))
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
