package flows

import (
	"fmt"
	"strings"

	"github.com/thuduc/maytinhchoem/campaign"
)

// devicePrefix starts the buttons of /device: "dv:mv:<label>:<from>:<to>" offers a move,
// "dv:ok:..." confirms it, "dv:no:<label>" keeps the device as it is. They carry the state
// the device was in, so a button pressed after the device moved is stale.
const devicePrefix = "dv"

// deviceCommand is /device <label> [state]: the device and the states it may move to.
func (c intakeTurn) deviceCommand(args string) error {
	if c.devicesOff() {
		return nil
	}
	if _, ok, err := c.authorize(campaign.ActionIntake, ""); !ok {
		return err
	}
	words := strings.Fields(args)
	label, ok := "", len(words) > 0
	if ok {
		label, ok = parseDeviceLabel(words[0])
	}
	if !ok {
		c.say(c.t("intake.device.usage"))
		c.resume("")
		return nil
	}
	d, found, err := c.device(label)
	if !found {
		return err
	}
	if len(words) > 1 {
		typed := strings.Join(words[1:], " ")
		next, ok := c.matchState(typed)
		if !ok {
			c.say(c.t("intake.device.state_unknown", "Query", clip(typed, 40)))
			c.showDevice(d)
			c.resume("")
			return nil
		}
		if err := d.State.Move(next); err != nil {
			c.say(c.moveRefusal(d, next))
			c.resume("")
			return nil
		}
		if c.heldByDelivery(d, next) {
			return nil
		}
		c.confirmMove(d, next)
		c.resume("")
		return nil
	}
	c.showDevice(d)
	c.resume("")
	return nil
}

// device finds a device; when there is none it has said so (found false, err nil).
func (c intakeTurn) device(label string) (campaign.Device, bool, error) {
	d, err := c.e.cfg.Devices.DeviceByLabel(c.ctx, label)
	switch campaign.ErrorCode(err) {
	case "":
		return d, true, nil
	case campaign.ENOTFOUND:
		c.say(c.t("intake.device.unknown", "Label", label))
		c.resume("")
		return d, false, nil
	}
	return d, false, fmt.Errorf("device %s: %w", label, err)
}

// matchState finds the device state a typed text names: its value or its name in any language.
func (c intakeTurn) matchState(text string) (campaign.DeviceState, bool) {
	if s := campaign.DeviceState(strings.ToLower(strings.TrimSpace(text))); s.Valid() {
		return s, true
	}
	var opts []option
	for _, s := range campaign.DeviceStates {
		opts = append(opts, option{value: string(s), label: intakeStateNames[s]})
	}
	if o, ok := c.matchOption(opts, text); ok {
		return campaign.DeviceState(o.value), true
	}
	return "", false
}

// deviceData is the data of a /device button: its action, the device's label, then values.
func deviceData(action, label string, values ...string) string {
	return devicePrefix + ":" + action + ":" + strings.Join(append([]string{label}, values...), ":")
}

// heldByDelivery refuses politely to mark delivered by hand a device a pending delivery holds,
// pointing to /deliveries, where the hand-over is recorded with who received it; it reports
// whether it did (Device.MoveByHand's ECONFLICT).
func (c intakeTurn) heldByDelivery(d campaign.Device, next campaign.DeviceState) bool {
	if _, err := d.MoveByHand(next); campaign.ErrorCode(err) != campaign.ECONFLICT {
		return false
	}
	c.say(c.t("intake.device.deliver_elsewhere", "Label", d.Label, "Code", d.Delivery))
	c.resume("")
	return true
}

// showDevice shows a device with a button for each state a volunteer may move it to; a device a
// pending delivery holds says so, and is offered no "delivered" (Device.CanMoveByHand).
func (c intakeTurn) showDevice(d campaign.Device) {
	source := c.t("intake.device.walkin")
	switch {
	case d.PledgeCode != "":
		source = d.PledgeCode
	case d.MoneyID > 0:
		source = c.t("intake.device.bought", "ID", d.MoneyID)
	}
	model := strings.TrimSpace(d.Brand + " " + d.Model)
	kind := strings.TrimSpace(c.kindName(campaign.ItemKind(d.Type)) + " " + clip(model, brandMax))
	text := c.t("intake.device.card", "Label", d.Label, "Kind", kind, "State", c.stateName(d.State), "Source", source)
	if d.Delivery != "" {
		text += "\n" + c.t("intake.device.on_delivery", "Code", d.Delivery)
	}
	var buttons []Button
	for _, s := range campaign.DeviceStates {
		if !d.CanMoveByHand(s) {
			continue
		}
		if data := deviceData("mv", d.Label, string(d.State), string(s)); len(data) <= maxData {
			buttons = append(buttons, Button{Text: c.t("intake.device.btn_move", "State", c.stateName(s)), Data: data})
		}
	}
	if len(buttons) == 0 {
		text += "\n" + c.t("intake.device.final")
	}
	c.out = append(c.out, Output{Text: text, Buttons: grid(buttons, 1)})
}

// confirmMove asks to confirm moving d to next; when that releases the delivery that holds d,
// it says what that does: the delivery cancelled, the child back on the list, the family told.
func (c intakeTurn) confirmMove(d campaign.Device, next campaign.DeviceState) {
	yes := deviceData("ok", d.Label, string(d.State), string(next))
	no := deviceData("no", d.Label)
	if len(yes) > maxData || len(no) > maxData {
		c.say(c.t("intake.device.usage"))
		return
	}
	text := c.t("intake.device.confirm", "Label", d.Label, "From", c.stateName(d.State), "To", c.stateName(next))
	if release, _ := d.MoveByHand(next); release {
		text = paragraphs(c.t("intake.device.confirm_release", "Label", d.Label, "Code", d.Delivery), text)
	}
	c.out = append(c.out, Output{
		Text: text,
		Buttons: [][]Button{{
			{Text: c.t("intake.device.btn_yes"), Data: yes},
			{Text: c.t("intake.device.btn_no"), Data: no},
		}},
	})
}

// moveRefusal says in words why d cannot move to next.
func (c intakeTurn) moveRefusal(d campaign.Device, next campaign.DeviceState) string {
	var allowed []string
	for _, s := range campaign.DeviceStates {
		if d.State.CanMoveByHand(s) {
			allowed = append(allowed, c.stateName(s))
		}
	}
	switch {
	case len(allowed) == 0:
		return c.t("intake.device.move_final", "Label", d.Label, "State", c.stateName(d.State))
	case d.State.CanMoveByHand(next):
		// The transition is allowed, so the store refused for another reason (the device's record).
		return c.t("intake.device.move_refused", "Label", d.Label, "To", c.stateName(next))
	}
	return c.t("intake.device.move_invalid", "Label", d.Label, "State", c.stateName(d.State),
		"To", c.stateName(next), "Allowed", strings.Join(allowed, ", "))
}

// deviceChoice runs a /device button; rest is what follows "dv:".
func (c intakeTurn) deviceChoice(rest string) error {
	action, args, _ := strings.Cut(rest, ":")
	parts := strings.Split(args, ":")
	if c.devicesOff() {
		return nil
	}
	by, ok, err := c.authorize(campaign.ActionIntake, "")
	if !ok {
		return err
	}
	label := parts[0]
	if action == "no" && len(parts) == 1 {
		c.say(c.t("intake.device.kept", "Label", label))
		c.resume("")
		return nil
	}
	if (action != "mv" && action != "ok") || len(parts) != 3 {
		c.stale()
		return nil
	}
	from, to := campaign.DeviceState(parts[1]), campaign.DeviceState(parts[2])
	d, found, err := c.device(label)
	if !found {
		return err
	}
	if d.State != from || !from.CanMoveByHand(to) {
		c.deviceChanged(d) // the device moved since the button was sent
		return nil
	}
	if c.heldByDelivery(d, to) {
		return nil
	}
	if action == "mv" {
		c.notice = c.t("common.chosen", "Label", c.stateName(to))
		c.confirmMove(d, to)
		c.resume("")
		return nil
	}
	var released *campaign.Delivery
	moved, err := c.e.cfg.Devices.MoveDevice(c.ctx, label, to, by, "", func(dl campaign.Delivery) []campaign.OutboxMessage {
		released = &dl
		return c.recheckNotice(dl)
	})
	switch campaign.ErrorCode(err) {
	case "":
	case campaign.ECONFLICT:
		// A delivery took the device since the card was shown: the card as it is now.
		now, found, err := c.device(label)
		if !found {
			return err
		}
		c.deviceChanged(now)
		return nil
	case campaign.EINVALID:
		c.say(c.moveRefusal(d, to))
		c.resume("")
		return nil
	case campaign.ENOTFOUND:
		c.say(c.t("intake.device.unknown", "Label", label))
		c.resume("")
		return nil
	default:
		return fmt.Errorf("move device %s: %w", label, err)
	}
	if moved.Label == "" {
		moved = d
		moved.State = to
	}
	c.say(c.t("intake.device.moved", "Label", moved.Label, "From", c.stateName(from), "To", c.stateName(moved.State)))
	if released != nil {
		c.noticesQueued()
		c.say(paragraphs(c.t("intake.device.released", "Code", released.Code), c.releaseReach(*released)))
	}
	c.resume("")
	return nil
}

// deviceChanged says d moved since its button or card was shown and shows its card as it is now.
func (c intakeTurn) deviceChanged(d campaign.Device) {
	c.notice = c.t("common.stale")
	c.say(c.t("intake.device.changed", "Label", d.Label))
	c.showDevice(d)
	c.resume("")
}

// recheckNotice tells the family of delivery dl, whose device a volunteer took back as unfit
// before the hand-over, that it needs another check and that they will be told when another is
// allocated: the device's kind only, no label or model. A family with no chat hears it through
// staff (familyNotice).
func (c intakeTurn) recheckNotice(dl campaign.Delivery) []campaign.OutboxMessage {
	return c.e.familyNotice(c.noticeKey(c.updateKey(), "recheck:"+dl.Code), dl.RegistrationCode, dl.Parent, dl.ParentLanguage,
		dl.Registrar, "", func(lang string) Output {
			return Output{Text: c.e.text(lang, "parent.device_recheck", map[string]any{
				"Code": dl.Code, "What": c.e.allocWhat(lang, "", dl.DeviceType, dl.Stock),
			})}
		})
}

// releaseReach says how the family of released delivery dl heard of it: in its own chat, through
// the staff who registered it or those standing in for them, or not at all (then the volunteer
// is asked to call), so nobody is told a family knows when it cannot.
func (c intakeTurn) releaseReach(dl campaign.Delivery) string {
	switch r := c.e.deliveryReach(dl); {
	case r.family:
		return c.t("intake.device.family_told")
	case r.registrar:
		return c.t("intake.device.family_via_staff")
	case len(r.standIns) > 0:
		return c.t("intake.device.family_via_stand_ins")
	}
	return c.t("intake.device.family_not_told")
}
