package postgres

import (
	"unicode/utf8"

	"github.com/thuduc/maytinhchoem/campaign"
)

// validateAssisted checks a normalised assisted registration (campaign.SourceAssisted, made by
// staff on a family's behalf; submit stores it) as validate checks a chat's, but without a chat
// (it must have none: the family claims it later), with the parent's name and phone optional (a
// family may have no phone; a landline is a phone), and with who registered the family and who
// witnessed its consent required.
func (s *RegistrationStore) validateAssisted(r *campaign.Registration) error {
	invalid := func(format string, args ...any) error {
		return campaign.Errorf(campaign.EINVALID, "assisted registration: "+format, args...)
	}
	if r.Channel != "" || r.ChatID != "" || r.UserID != "" {
		return invalid("has a chat; the family's chat comes when it claims the registration")
	}
	if r.RegisteredBy == "" || r.ConsentWitness == "" {
		return invalid("needs who registered the family and who witnessed its consent")
	}
	if utf8.RuneCountInString(r.RegisteredBy) > maxIDLen || utf8.RuneCountInString(r.ConsentWitness) > maxIDLen {
		return invalid("registered by or witness is longer than %d characters", maxIDLen)
	}
	if r.ParentPhone != "" && !e164.MatchString(r.ParentPhone) {
		return invalid("parent phone %q is not in E.164 form", r.ParentPhone)
	}
	in := *r
	in.Channel, in.ChatID = "assisted", "assisted"
	if in.ParentName == "" {
		in.ParentName = "-"
	}
	if in.ParentPhone == "" {
		in.ParentPhone = "+84900000000"
	}
	return s.validate(&in)
}
