package flows

import (
	"strings"

	"github.com/thuduc/maytinhchoem/campaign"
)

// contactLines names whom a family can reach: the office of ward (when the code is a ward of the
// campaign) and the campaign's hotline (when the file has one), one line each. Everything the bot
// tells a family to take elsewhere ("ask the ward", a rejection, /help, /mydata) ends with it.
func (c *turn) contactLines(ward string) string { return c.e.contactLines(c.lang, ward) }

// contactLines is turn.contactLines in lang, for a notice to someone else.
func (e *Engine) contactLines(lang, ward string) string {
	camp := e.cfg.Campaign
	var lines []string
	if o, ok := camp.WardOffice(ward); ok {
		lines = append(lines, e.text(lang, "contact.office", map[string]any{"Name": o.Name.In(lang), "Details": officeDetails(lang, o)}))
	}
	if h := camp.Contacts.Hotline; h.Phone != "" {
		lines = append(lines, e.text(lang, "contact.hotline", map[string]any{"Name": h.Name.In(lang), "Details": officeDetails(lang, h)}))
	}
	return strings.Join(lines, "\n")
}

// officeDetails joins what is known of an office: address, phone, hours.
func officeDetails(lang string, o campaign.Office) string {
	var parts []string
	if o.Address != "" {
		parts = append(parts, o.Address)
	}
	if o.Phone != "" {
		parts = append(parts, "☎️ "+o.Phone)
	}
	if h := o.Hours.In(lang); h != "" {
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

// registrationOpen reports whether families may begin a registration now; when not, it says so:
// when registration opens or closed, what to do instead, and whom to reach.
func (c *turn) registrationOpen() bool {
	shut := c.registrationShut()
	if shut != "" {
		c.say(shut)
	}
	return shut == ""
}

// registrationShut says, outside the registration window, when it opens or that it closed, what
// to do instead and whom to reach; "" inside it.
func (c *turn) registrationShut() string {
	camp := c.e.cfg.Campaign
	id := ""
	switch camp.RegistrationPhaseAt(c.now) {
	case campaign.RegistrationNotYetOpen:
		id = "reg.window.not_open"
	case campaign.RegistrationClosed:
		id = "reg.window.closed"
	default:
		return ""
	}
	return paragraphs(c.t(id, "Open", camp.RegistrationOpen.Format(dateShownAs), "Close", camp.RegistrationClose.Format(dateShownAs)),
		c.contactLines(c.familyWard()))
}
