package flows

import (
	"github.com/thuduc/maytinhchoem/campaign"
)

func init() {
	registerFlow(flowSpec{
		name:     "status",
		commands: []flowCommand{{name: "status", run: func(c *turn, _ string) error { return statusTurn{c}.status() }, menu: "cmd.status", rank: 20}},
		actions:  []flowAction{{name: "status", run: fn0(statusTurn.status)}},
		welcome:  []flowWelcome{{row: 30, rank: 1, text: "common.btn_status", action: "status"}},
	})
}

// statusShown is how many registrations /status lists, newest first; a message stays short on a
// cheap phone and within messageMax.
const statusShown = 8

var statusLabels = map[campaign.RegistrationStatus]string{
	campaign.StatusSubmitted: "status.submitted",
	campaign.StatusNeedsInfo: "status.needs_info",
	campaign.StatusVerified:  "status.verified",
	campaign.StatusRejected:  "status.rejected",
	campaign.StatusAllocated: "status.allocated",
	campaign.StatusDelivered: "status.delivered",
	campaign.StatusWithdrawn: "mydata.status.withdrawn",
}

// statusTurn is a turn of /status; its methods are the flow's own (see flowTurn).
type statusTurn struct{ *turn }

// status lists the chat's registrations, then asks the current question again if a form is in
// progress.
func (c statusTurn) status() error {
	regs, err := c.e.cfg.Registrations.RegistrationsByChat(c.ctx, c.sess.Channel, c.sess.ChatID)
	if err != nil {
		return err
	}
	if len(regs) == 0 {
		// A school's or ward's list may hold the child: "🏫 Trường/phường đã đăng ký giúp tôi".
		if shut := c.registrationShut(); shut == "" {
			c.out = append(c.out, Output{Text: c.t("status.none"), Buttons: claimTurn(c).claimButton()})
		} else {
			// Outside the window /start would not register: say so, and whom to reach.
			c.out = append(c.out, Output{Text: paragraphs(c.t("status.none_window"), shut), Buttons: claimTurn(c).claimButton()})
		}
	} else {
		text := c.t("status.count", "Count", len(regs))
		var replies [][]Button
		refused := false
		for i, r := range regs {
			if i == statusShown {
				text += "\n" + c.t("status.more", "Count", len(regs)-statusShown)
				break
			}
			text += "\n" + c.t("status.line", "Code", r.Code, "Name", clip(r.StudentName, 100), "Status", c.statusText(r))
			refused = refused || r.Status == campaign.StatusRejected
			if r.Status == campaign.StatusNeedsInfo && c.e.cfg.Cases != nil {
				// Officials asked a question: the answer is one tap away here too.
				replies = append(replies, []Button{{Text: c.t("status.btn_reply", "Code", r.Code), Data: verifyData("reply", r.Code)}})
			}
		}
		if refused {
			// Whom to ask about a refusal: the newest registration's ward office and the hotline.
			text = paragraphs(text, c.contactLines(regs[0].WardCode))
		}
		c.out = append(c.out, Output{Text: text, Buttons: replies})
	}
	c.resume("")
	return nil
}

// statusText says where a registration stands, with the reason of a refusal.
func (c statusTurn) statusText(r campaign.Registration) string {
	id, ok := statusLabels[r.Status]
	if !ok {
		return c.t("status.unknown")
	}
	if r.Status == campaign.StatusRejected {
		if r.RejectReason == "" && r.RejectCode == "" {
			return c.t("status.rejected_no_reason")
		}
		return c.t(id, "Reason", verifyTurn(c).rejectText(r))
	}
	return c.t(id)
}
