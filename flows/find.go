package flows

import (
	"slices"
	"strings"

	"github.com/thuduc/maytinhchoem/campaign"
)

func init() {
	registerFlow(flowSpec{
		name: "find",
		commands: []flowCommand{{
			name: "find", run: fn1(findTurn.findCommand),
			staff: &staffLine{group: "staff.help.group.cases", rank: 110, text: "staff.help.find",
				may: staffMay(campaign.ActionFind, func(c Config) bool { return c.Find != nil })},
		}},
		buttons: []flowButton{{prefix: findPrefix, run: fn1(findTurn.findChoice)}},
	})
}

// findPrefix starts the buttons of /find's result lists: "f:<code>" opens one record.
const findPrefix = "f"

// findListed is how many registrations and pledges a phone search lists.
const findListed = 10

// findTurn is a turn of /find; its methods are the flow's own (see flowTurn).
type findTurn struct{ *turn }

// findCommand is /find <code or phone>: a registration, pledge, device or delivery by its code,
// or the registrations and pledges made with a phone number, within the sender's scope. Each
// record found by its code is checked on its own (a ward official finds only their ward's
// children, a school only its own students), and a record outside the scope is refused like any
// staff action, and audited; a phone search asks the store for the sender's scope only
// (campaign.FindScopeOf).
func (c findTurn) findCommand(args string) error {
	if c.e.cfg.Find == nil {
		c.say(c.t("case.unavailable"))
		c.resume("")
		return nil
	}
	who, ok, err := c.authorizeOwn(campaign.ActionFind)
	if !ok {
		return err
	}
	query := strings.TrimSpace(args)
	if query == "" {
		c.say(c.t("find.usage"))
		c.resume("")
		return nil
	}
	if err := c.find(who, query); err != nil {
		return err
	}
	c.resume("")
	return nil
}

// findChoice opens a record listed by a phone search; data is its code. A button is a search
// like a typed one (its data may be forged: "f:<phone>" searches), audited by find.
func (c findTurn) findChoice(code string) error {
	if c.e.cfg.Find == nil {
		c.stale()
		return nil
	}
	who, ok, err := c.authorizeOwn(campaign.ActionFind)
	if !ok {
		return err
	}
	return c.find(who, code)
}

// find shows what query names. It is the one place a search runs, so every search is audited
// ("data.find", the kind of query and its code, and whether it came typed or from a button)
// whatever started it: a typed /find or a button, forged or not. A phone search is audited by
// findPhone, with the codes it found.
func (c findTurn) find(who campaign.Staff, query string) error {
	if kind, code := c.findQuery(query); kind != findByPhone {
		if err := c.findAudit(kind, code, nil); err != nil {
			return err
		}
	}
	if code, ok := parseRegistrationCode(c.e.cfg.Campaign, query); ok {
		return c.findRegistration(who, code)
	}
	if code, ok := parsePledgeCode(query); ok {
		return c.findPledge(who, code)
	}
	if label, ok := parseDeviceLabel(query); ok {
		return c.findDevice(who, label)
	}
	if code, ok := parseCode("GH", query); ok {
		return c.findDelivery(who, code)
	}
	if phone, err := parsePhone(query); err == nil {
		return c.findPhone(who, phone)
	}
	c.say(c.t("find.unknown", "Query", clip(query, 40)))
	return nil
}

// findRegistration shows a child's record to those who may see it.
func (c findTurn) findRegistration(who campaign.Staff, code string) error {
	if c.e.cfg.Cases == nil {
		r, err := c.e.cfg.Find.RegistrationByCode(c.ctx, code)
		if campaign.ErrorCode(err) == campaign.ENOTFOUND {
			c.say(c.t("find.not_found", "Code", code))
			return nil
		}
		if err != nil {
			return err
		}
		return c.showFoundRegistration(who, campaign.Case{Registration: r})
	}
	k, err := c.e.cfg.Cases.CaseByCode(c.ctx, code)
	if campaign.ErrorCode(err) == campaign.ENOTFOUND {
		c.say(c.t("find.not_found", "Code", code))
		return nil
	}
	if err != nil {
		return err
	}
	return c.showFoundRegistration(who, k)
}

// showFoundRegistration shows k in full after checking the sender may see its ward's (or its
// school's) children. Only those who may verify it get the decision buttons; the possible
// duplicates listed are those the sender may see (a school sees no code of another school's
// registration, even of the same child).
func (c findTurn) showFoundRegistration(who campaign.Staff, k campaign.Case) error {
	if ok, err := c.findAllowed(who, campaign.ActionViewChildData, k.WardCode, k.School, k.Code); !ok {
		return err
	}
	k.Duplicates = slices.DeleteFunc(slices.Clone(k.Duplicates), func(d campaign.Registration) bool {
		return campaign.AuthorizeRecord(who, campaign.ActionViewChildData, d.WardCode, d.School) != nil
	})
	if err := verifyTurn(c).showCase(who, k, "", false); err != nil {
		return err
	}
	if campaign.Authorize(who, campaign.ActionVerify, k.WardCode) != nil {
		c.out[len(c.out)-1].Buttons = nil
	}
	return nil
}

// findPledge shows a pledge to those who may see donors' pledges.
func (c findTurn) findPledge(who campaign.Staff, code string) error {
	if c.e.cfg.Pledges == nil {
		c.say(c.t("case.unavailable"))
		return nil
	}
	p, err := c.e.cfg.Pledges.PledgeByCode(c.ctx, code)
	if campaign.ErrorCode(err) == campaign.ENOTFOUND {
		c.say(c.t("find.not_found", "Code", code))
		return nil
	}
	if err != nil {
		return err
	}
	if ok, err := c.findAllowed(who, campaign.ActionViewPledges, p.WardCode, "", p.Code); !ok {
		return err
	}
	if err := c.auditView("donor.view", p.Code, map[string]any{"role": who.Role}); err != nil {
		return err
	}
	donor := p.DonorName
	if p.ContactPerson != "" {
		donor += " (" + p.ContactPerson + ")"
	}
	c.say(paragraphs(
		pledgeTurn(c).pledgeBlock(campaign.PledgeProgress{Pledge: p}),
		c.t("find.pledge.donor", "Name", donor, "Phone", phoneFor(who, p.Phone)),
	))
	return nil
}

// findDevice shows a device to those who may see the pipeline.
func (c findTurn) findDevice(who campaign.Staff, label string) error {
	if c.e.cfg.Devices == nil {
		c.say(c.t("case.unavailable"))
		return nil
	}
	if _, ok, err := c.authorizeAs(who, campaign.ActionViewDevices, ""); !ok {
		return err
	}
	d, found, err := intakeTurn(c).device(label)
	if !found {
		return err
	}
	intakeTurn(c).showDevice(d)
	if campaign.Authorize(who, campaign.ActionIntake, "") != nil {
		c.out[len(c.out)-1].Buttons = nil // only volunteers move devices
	}
	return nil
}

// findDelivery shows a delivery to volunteers and to officials of its ward.
func (c findTurn) findDelivery(who campaign.Staff, code string) error {
	if c.e.cfg.Cases == nil {
		c.say(c.t("case.unavailable"))
		return nil
	}
	d, err := c.e.cfg.Cases.DeliveryByCode(c.ctx, code)
	if campaign.ErrorCode(err) == campaign.ENOTFOUND {
		c.say(c.t("find.not_found", "Code", code))
		return nil
	}
	if err != nil {
		return err
	}
	action := campaign.ActionViewChildData
	if who.Role == campaign.RoleVolunteer {
		action = campaign.ActionDeliver
	}
	if ok, err := c.findAllowed(who, action, d.WardCode, d.School, d.Code); !ok {
		return err
	}
	if err := c.auditView("delivery.view", d.Code, map[string]any{"role": who.Role}); err != nil {
		return err
	}
	what := d.DeviceLabel
	if what == "" {
		what = c.t("find.delivery.connectivity")
	}
	c.say(c.t("find.delivery.card", "Code", d.Code, "Registration", d.RegistrationCode, "Device", what,
		"Ward", c.wardName(d.WardCode), "Status", c.t(deliveryStatusLabels[d.Status]), "Attempts", d.Attempts))
	return nil
}

// deliveryStatusLabels name the delivery statuses.
var deliveryStatusLabels = map[campaign.DeliveryStatus]string{
	campaign.DeliveryPending:   "find.delivery.pending",
	campaign.DeliveryDelivered: "find.delivery.delivered",
	campaign.DeliveryConfirmed: "find.delivery.confirmed",
}

// findPhone lists the registrations and pledges made with a phone number within the sender's
// scope. The store filters by the scope, so nothing outside it is read, listed or counted: the
// reply is the same whether or not the number was used elsewhere.
func (c findTurn) findPhone(who campaign.Staff, phone string) error {
	scope := campaign.FindScopeOf(who)
	var regs []campaign.Registration
	var pledges []campaign.Pledge
	if !scope.Empty() {
		var err error
		if regs, pledges, err = c.e.cfg.Find.FindByPhone(c.ctx, phone, scope, findListed); err != nil {
			return err
		}
	}
	var lines []string
	var buttons []Button
	found := []string{}
	for _, r := range regs {
		if campaign.AuthorizeRecord(who, campaign.ActionViewChildData, r.WardCode, r.School) != nil {
			continue // never from a store that keeps to the scope; not counted either
		}
		found = append(found, r.Code)
		lines = append(lines, c.t("find.phone.registration", "Code", r.Code, "Ward", c.wardName(r.WardCode),
			"Status", c.t(caseStatusLabels[r.Status])))
		buttons = append(buttons, Button{Text: r.Code, Data: findPrefix + ":" + r.Code})
	}
	for _, p := range pledges {
		if campaign.Authorize(who, campaign.ActionViewPledges, p.WardCode) != nil {
			continue
		}
		found = append(found, p.Code)
		lines = append(lines, c.t("find.phone.pledge", "Code", p.Code, "Date", p.CreatedAt.In(c.e.cfg.Campaign.Location).Format(dateShownAs)))
		buttons = append(buttons, Button{Text: p.Code, Data: findPrefix + ":" + p.Code})
	}
	if err := c.findAudit(findByPhone, "", found); err != nil {
		return err
	}
	shown := phoneFor(who, phone)
	if len(lines) == 0 {
		c.say(c.t("find.phone.none", "Phone", shown))
		return nil
	}
	text := c.t("find.phone.title", "Phone", shown) + "\n" + strings.Join(lines, "\n")
	c.out = append(c.out, Output{Text: text, Buttons: grid(buttons, 3)})
	return nil
}

// The kinds of query a search is audited as (findQuery).
const (
	findByRegistration = "registration"
	findByPledge       = "pledge"
	findByDevice       = "device"
	findByDelivery     = "delivery"
	findByPhone        = "phone"
	findByUnknown      = "unknown"
)

// findQuery is the kind of record q names, as find reads it, and its code ("" for a phone or
// nothing known).
func (c findTurn) findQuery(q string) (kind, code string) {
	if code, ok := parseRegistrationCode(c.e.cfg.Campaign, q); ok {
		return findByRegistration, code
	}
	if code, ok := parsePledgeCode(q); ok {
		return findByPledge, code
	}
	if label, ok := parseDeviceLabel(q); ok {
		return findByDevice, label
	}
	if code, ok := parseCode("GH", q); ok {
		return findByDelivery, code
	}
	if _, err := parsePhone(q); err == nil {
		return findByPhone, ""
	}
	return findByUnknown, ""
}

// findAudit writes a search's "data.find" row: the kind of query, the code it names or the codes
// a phone search found (found, nil for the others), and whether it came typed or from a button.
// Never the query's own words (a phone, a name typed for a code): the audit log is append-only,
// nothing personal goes into it.
func (c findTurn) findAudit(kind, code string, found []string) error {
	via := "command"
	if c.in.Kind == KindChoice {
		via = "button"
	}
	after := map[string]any{"kind": kind, "via": via}
	if code != "" {
		after["code"] = code
	}
	if found != nil {
		after["codes"] = found
	}
	return c.auditView("data.find", "", after)
}

// findAllowed checks that who may see a record of ward (and school, for a child's record; "" for
// others) found by its code (audited as any refusal). A ward role asking for another ward's
// record, or a school for another school's student, is told the code is not found in their
// scope, as for a code that does not exist: a reply never says that a code exists elsewhere.
func (c findTurn) findAllowed(who campaign.Staff, action campaign.Action, ward, school, code string) (bool, error) {
	if campaign.AuthorizeRecord(who, action, ward, school) == nil {
		return true, nil
	}
	n := len(c.out)
	// Refused: authorizeAs audits it and says so (Authorize refuses what AuthorizeRecord did).
	_, ok, err := c.authorizeAs(who, action, ward)
	if err != nil {
		return false, err
	}
	if ok {
		// Authorize lets a role through that AuthorizeRecord held back: never so today, as
		// AuthorizeRecord only adds a check; refused all the same, as out of scope.
		c.say(c.t("find.not_found", "Code", code))
		return false, nil
	}
	if (who.Role.NeedsWard() || who.Role.NeedsSchool()) && who.Role.May(action) {
		// The role may, in its own ward or school: this record is out of its scope.
		c.out = c.out[:n]
		c.say(c.t("find.not_found", "Code", code))
	}
	return false, nil
}
