package flows

import (
	"strings"

	"github.com/thuduc/maytinhchoem/campaign"
)

// contactLines names whom a family can reach: the office of ward (when the code is a ward of the
// campaign) and the campaign's hotline (when the file has one), one line each. Everything the bot
// tells a family to take elsewhere ("ask the ward", a rejection, /help, /mydata) ends with it.
func (c *turn) contactLines(ward string) string {
	camp := c.e.cfg.Campaign
	var lines []string
	if o, ok := camp.WardOffice(ward); ok {
		lines = append(lines, c.t("contact.office", "Name", o.Name.In(c.lang), "Details", c.officeDetails(o)))
	}
	if h := camp.Contacts.Hotline; h.Phone != "" {
		lines = append(lines, c.t("contact.hotline", "Name", h.Name.In(c.lang), "Details", c.officeDetails(h)))
	}
	return strings.Join(lines, "\n")
}

// officeDetails joins what is known of an office: address, phone, hours.
func (c *turn) officeDetails(o campaign.Office) string {
	var parts []string
	if o.Address != "" {
		parts = append(parts, o.Address)
	}
	if o.Phone != "" {
		parts = append(parts, "☎️ "+o.Phone)
	}
	if h := o.Hours.In(c.lang); h != "" {
		parts = append(parts, h)
	}
	return strings.Join(parts, " · ")
}

// familyWard is the ward of the chat's newest registration, "" when it has none or the look-up
// fails: contacts then name the hotline only, and whatever asked for them still answers.
func (c *turn) familyWard() string {
	regs, err := c.e.cfg.Registrations.RegistrationsByChat(c.ctx, c.sess.Channel, c.sess.ChatID)
	if err != nil || len(regs) == 0 {
		return ""
	}
	return regs[0].WardCode
}
