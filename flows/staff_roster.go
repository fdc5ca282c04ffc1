// staff_roster.go holds who has a role: /staff lists them, and /revoke (or a button of the list)
// asks to confirm, then removes a role.

package flows

import (
	"fmt"
	"strings"

	"github.com/thuduc/maytinhchoem/campaign"
)

func (c staffTurn) askConfirm(reason string) {
	a := c.st.Answers
	text := c.t("staff.revoke.confirm", "Name", a[answerName], "Role", c.roleName(campaign.Role(a[staffStepRole])))
	c.out = append(c.out, Output{Text: paragraphs(reason, text), Buttons: [][]Button{{
		{Text: c.t("staff.revoke.btn_yes"), Data: staffData(staffStepConfirm, confirmYes)},
		{Text: c.t("staff.revoke.btn_no"), Data: staffData(staffStepConfirm, confirmNo)},
	}}})
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
