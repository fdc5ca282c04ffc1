// staff_invite.go holds the invitations: /invite (a role, a school's name, a ward, then the
// link), /invites with a button to revoke each, and redeeming an invitation from its deep link,
// with the question whether it replaces a role already held.

package flows

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/thuduc/maytinhchoem/campaign"
)

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
	return formTurn(c).matchTypedWard(text,
		func(code string) error { return c.createInvitation(campaign.Role(c.st.Answers[staffStepRole]), code) },
		func(reason string) { c.askWard(reason, false) },
		func(v string) string { return staffData(staffStepWard, v) })
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
