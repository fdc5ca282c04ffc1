// staff_help.go holds what the sender may do as staff: /whoami and the staff part of /help.
// They ask other flows what those offer: intake's and notify's commands, notify's scope name and
// assist's buttons.

package flows

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/thuduc/maytinhchoem/campaign"
)

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
