package flows

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/thuduc/maytinhchoem/campaign"
)

func init() {
	registerFlow(flowSpec{
		name: FlowPledge,
		commands: []flowCommand{
			{name: "pledge", run: fn1(pledgeTurn.pledgeCommand), menu: "cmd.pledge", rank: 30, shown: pledgesTaken},
			{name: "pledges", run: fn1(pledgeTurn.pledgesCommand), menu: "cmd.pledges", rank: 31, shown: pledgesTaken},
		},
		actions: []flowAction{{name: "pledge", run: fn0(pledgeTurn.startPledge)}, {name: "pledges", run: fn0(pledgeTurn.pledges)}},
		// the donors' line and button, under the families' registration
		welcome: []flowWelcome{{row: 20, text: "pledge.btn_start", action: "pledge", line: "pledge.welcome", shown: pledgesTaken}},
		setup:   (*Engine).addPledgeFlow,
	})
}

// pledgesTaken says whether e takes pledges (a pledge store is configured): the command menu and
// the greeting offer the pledge only then.
func pledgesTaken(e *Engine) bool { return e.cfg.Pledges != nil }

// FlowPledge is the State.Flow of a donor pledging devices, connectivity or money.
const FlowPledge = "pledge"

// DefaultMoneyCeiling is the amount (VND) above which a pledged sum is asked to be confirmed when
// Config.MoneyCeiling is zero: an extra zero typed by mistake is easy to miss.
const DefaultMoneyCeiling int64 = 100_000_000

// Steps of the pledge, in the order they are asked; each is also the answer's key. The pledge
// shares stepPhone and stepWard (and their code) with the registration.
const (
	stepDonorKind     = "donor_kind"
	stepDonorName     = "donor_name"   // an individual's own name
	stepOrgName       = "org_name"     // a body's name
	stepContactName   = "contact_name" // a body's contact person
	stepItems         = "items"        // the item loop: "more" while adding, "done" once finished
	stepItemKind      = "item_kind"
	stepItemCondition = "item_condition"
	stepItemQuantity  = "item_quantity"
	stepItemMonths    = "item_months"
	stepItemComplete  = "item_complete"
	stepItemAmount    = "item_amount"
	stepItemConfirm   = "item_confirm"
	stepDelivery      = "delivery"
	stepPickupAddress = "pickup_address"
	stepPickupDate    = "pickup_date"
	stepThanks        = "thanks"
)

// itemSteps are the questions about the item being added: a draft until the item is complete.
var itemSteps = []string{stepItemKind, stepItemCondition, stepItemQuantity, stepItemMonths, stepItemComplete, stepItemAmount, stepItemConfirm}

// Values of the pledge's choices and controls.
const (
	itemsMore     = "more"
	itemsDone     = "done"
	condNew       = "new"
	condUsed      = "used"
	answerYes     = "yes"
	answerNo      = "no"
	confirmFix    = "fix"
	thanksPublic  = "public"
	thanksAnon    = "anonymous"
	ctlItemBack   = "!back" // leave the item being added, back to "more or done?"
	ctlItemRemove = "!rm="  // remove item N: "!rm=<N>=<item as stored>"
	itemComplete  = "complete"
	itemParts     = "parts"
)

// Limits of a pledge.
const (
	maxPledgeItems    = 10
	deviceQuantityMax = 1000
	stockQuantityMax  = 100_000
	monthsMax         = 36
	moneyMin          = 1000 // VND: less is surely a missing unit ("5" for "5 triệu")
	pickupDaysMax     = 60
	orgNameMax        = 150
	// pledgesShown is how many pledges /pledges lists, newest first.
	pledgesShown = 5
)

// Message ids of the pledge's choices, by value.
var (
	donorKindLabels = map[campaign.DonorKind][2]string{ // label, typed words
		campaign.DonorIndividual:      {"pledge.donor_kind.individual", "pledge.donor_kind.individual_words"},
		campaign.DonorBusiness:        {"pledge.donor_kind.business", "pledge.donor_kind.business_words"},
		campaign.DonorOrganisation:    {"pledge.donor_kind.organisation", "pledge.donor_kind.organisation_words"},
		campaign.DonorReligious:       {"pledge.donor_kind.religious", "pledge.donor_kind.religious_words"},
		campaign.DonorParentsCouncil:  {"pledge.donor_kind.parents_council", "pledge.donor_kind.parents_council_words"},
		campaign.DonorTelecomOperator: {"pledge.donor_kind.telecom_operator", "pledge.donor_kind.telecom_operator_words"},
	}
	itemKindLabels = map[campaign.ItemKind][2]string{
		campaign.ItemLaptop:          {"pledge.item_kind.laptop", "pledge.item_kind.laptop_words"},
		campaign.ItemDesktop:         {"pledge.item_kind.desktop", "pledge.item_kind.desktop_words"},
		campaign.ItemTablet:          {"pledge.item_kind.tablet", "pledge.item_kind.tablet_words"},
		campaign.ItemSmartphone:      {"pledge.item_kind.smartphone", "pledge.item_kind.smartphone_words"},
		campaign.ItemSIM4G:           {"pledge.item_kind.sim_4g", "pledge.item_kind.sim_4g_words"},
		campaign.ItemUSBWiFi:         {"pledge.item_kind.usb_wifi", "pledge.item_kind.usb_wifi_words"},
		campaign.ItemInternetPackage: {"pledge.item_kind.internet_package", "pledge.item_kind.internet_package_words"},
		campaign.ItemMoney:           {"pledge.item_kind.money", "pledge.item_kind.money_words"},
	}
	deliveryLabels = map[campaign.DeliveryMethod]string{
		campaign.DeliverToWard:   "pledge.delivery.ward_office",
		campaign.DeliverToFront:  "pledge.delivery.front",
		campaign.DeliverByPickup: "pledge.delivery.pickup",
	}
	deliveryMethods   = []campaign.DeliveryMethod{campaign.DeliverToWard, campaign.DeliverToFront, campaign.DeliverByPickup}
	deviceStateLabels = map[campaign.DeviceState]string{
		campaign.DevicePledged:    "pledge.device.pledged",
		campaign.DeviceReceived:   "pledge.device.received",
		campaign.DeviceChecking:   "pledge.device.checking",
		campaign.DeviceReady:      "pledge.device.ready",
		campaign.DeviceNeedsParts: "pledge.device.needs_parts",
		campaign.DeviceUnusable:   "pledge.device.unusable",
		campaign.DeviceAllocated:  "pledge.device.allocated",
		campaign.DeviceDelivered:  "pledge.device.delivered",
		campaign.DeviceReturned:   "pledge.device.returned",
	}
	pledgeStatusLabels = map[campaign.PledgeStatus]string{
		campaign.PledgeOpen:      "pledge.status.pledged",
		campaign.PledgePartly:    "pledge.status.partly",
		campaign.PledgeReceived:  "pledge.status.received",
		campaign.PledgeCancelled: "pledge.status.cancelled",
	}
	levelWords = map[campaign.SchoolLevel]string{
		campaign.LevelPrimary:        "pledge.level.primary",
		campaign.LevelLowerSecondary: "pledge.level.lower_secondary",
		campaign.LevelUpperSecondary: "pledge.level.upper_secondary",
	}
)

// addPledgeFlow adds the pledge form and its deep links when pledges are taken, and deep links
// that say they are not otherwise.
func (e *Engine) addPledgeFlow() error {
	start := fn1(pledgeTurn.pledgeCommand)
	e.deepLinks = append(e.deepLinks,
		deepLink{payload: "pledge", handle: start},
		deepLink{payload: "ungho", handle: start},
	)
	if e.cfg.Pledges == nil {
		return nil
	}
	pf := pledgeForm(e.cfg.Campaign, e.cfg.MoneyCeiling)
	if err := e.addForm(pf); err != nil {
		return err
	}
	for _, w := range e.cfg.Campaign.Wards {
		if d := pf.data(stepWard, w.Code); len(d) > maxData {
			return fmt.Errorf("flows: ward code %q makes button data longer than %d bytes", w.Code, maxData)
		}
	}
	return nil
}

// pledgeTurn is a turn of the donor's pledge form and /pledges; its methods are the flow's own (see
// flowTurn).
type pledgeTurn struct{ *turn }

// pledgesOff says pledges are not taken here (no store configured), and asks the current
// question again; it reports whether it did.
func (c pledgeTurn) pledgesOff() bool {
	if c.e.cfg.Pledges != nil {
		return false
	}
	c.say(c.t("pledge.unavailable"))
	c.resume("")
	return true
}

// startPledge starts the pledge form (or offers to go on with the form in progress).
func (c pledgeTurn) startPledge() error {
	if c.pledgesOff() {
		return nil
	}
	return c.startOrOffer(c.e.formNamed(FlowPledge))
}

// pledgeCommand is /pledge and the pledge's deep links: it starts the form; the arguments (a deep
// link's payload) are not used.
func (c pledgeTurn) pledgeCommand(string) error { return c.startPledge() }

// pledgesCommand is /pledges: it lists the chat's pledges; the arguments are not used.
func (c pledgeTurn) pledgesCommand(string) error { return c.pledges() }

// pledgeForm is the form a donor fills in to pledge items: who gives, a phone to reach them, the
// items one at a time, how they reach the campaign and how to be thanked, then the review.
// ceiling is the amount of money above which a pledged sum is asked to be confirmed.
func pledgeForm(camp *campaign.Campaign, ceiling int64) *form {
	f := &form{
		name:        FlowPledge,
		prefix:      "p",
		reviewLabel: "pledge.review.label",
		reviewTitle: "pledge.review.title",
		reviewHint:  "pledge.review.hint",
		reviewHelp:  "pledge.review.help",
		submitLabel: "pledge.review.submit",
		submit:      fn1(pledgeTurn.submitPledge),
		cancelled:   "pledge.cancelled",
	}
	f.fields = slices.Concat(
		donorFields(camp),
		[]*field{donorPhoneField(), itemsField()},
		itemDraftFields(f, ceiling),
		deliveryFields(camp),
		pickupFields(camp),
		[]*field{thanksField()},
	)
	return f
}

// donorKind is the kind of donor the answers name ("" before it is asked).
func donorKind(a map[string]string) campaign.DonorKind { return campaign.DonorKind(a[stepDonorKind]) }

// draftKind is the kind of the item being added ("" before it is asked).
func draftKind(a map[string]string) campaign.ItemKind { return campaign.ItemKind(a[stepItemKind]) }

// addingItems says the item list is still open: the donor has not said it is done.
func addingItems(a map[string]string) bool { return a[stepItems] != itemsDone }

// typedName reads a person's name (parseName), for a form field's parse.
func typedName(_ *turn, s string) (string, error) { return parseName(s) }

// donorFields ask who gives: the kind of donor, then an individual's own name, or a body's name
// and its contact person. The kind decides which names are asked, and whom the thanks and the
// next steps address.
func donorFields(camp *campaign.Campaign) []*field {
	return []*field{
		{
			name: stepDonorKind, kind: kindChoice, columns: 2,
			label: "pledge.donor_kind.label", prompt: "pledge.donor_kind.prompt", help: "pledge.donor_kind.help",
			promptData: func(c *turn) map[string]any { return map[string]any{"Campaign": camp.Name.In(c.lang)} },
			options: func(*turn) []option {
				var opts []option
				for _, k := range campaign.DonorKinds {
					opts = append(opts, option{value: string(k), label: donorKindLabels[k][0], words: donorKindLabels[k][1]})
				}
				return opts
			},
			display: func(c *turn, v string) string {
				return withoutSymbols(c.t(donorKindLabels[campaign.DonorKind(v)][0]))
			},
		},
		{
			name: stepDonorName, kind: kindText, parse: typedName,
			label: "pledge.donor_name.label", prompt: "pledge.donor_name.prompt", help: "pledge.donor_name.help",
			needed: func(a map[string]string) bool { return donorKind(a) != "" && !donorKind(a).HasContactPerson() },
		},
		{
			name: stepOrgName, kind: kindText,
			label: "pledge.org_name.label", prompt: "pledge.org_name.prompt", help: "pledge.org_name.help",
			promptData: func(c *turn) map[string]any {
				return map[string]any{"Kind": strings.ToLower(withoutSymbols(c.t(donorKindLabels[donorKind(c.st.Answers)][0])))}
			},
			parse:  func(_ *turn, s string) (string, error) { return parseOrgName(s) },
			needed: func(a map[string]string) bool { return donorKind(a).HasContactPerson() && donorKind(a) != "" },
		},
		{
			name: stepContactName, kind: kindText, parse: typedName,
			label: "pledge.contact_name.label", prompt: "pledge.contact_name.prompt", help: "pledge.contact_name.help",
			needed: func(a map[string]string) bool { return donorKind(a).HasContactPerson() && donorKind(a) != "" },
		},
	}
}

// donorPhoneField asks the donor's mobile number, the registration's question in the pledge's
// words: volunteers call it about the hand-over. It is shown back once saved.
func donorPhoneField() *field {
	return &field{
		name: stepPhone, kind: kindPhone,
		label: "reg.phone.label", prompt: "pledge.phone.prompt", help: "reg.phone.help",
		parse:   func(_ *turn, s string) (string, error) { return parsePhone(s) },
		display: func(_ *turn, v string) string { return phoneDisplay(v) },
		accepted: func(c *turn, v string) bool {
			c.say(c.t("reg.phone.saved", "Phone", phoneDisplay(v)))
			return false
		},
	}
}

// itemsField asks, once an item is added, whether to add another or the list is done, showing
// the list with a button to remove each item. Its answer is "done" once the list is finished;
// the items themselves are under itemPrefix (pledge_items.go).
func itemsField() *field {
	return &field{
		name: stepItems, kind: kindChoice, columns: 2,
		label: "pledge.items.label", prompt: "pledge.items.prompt", help: "pledge.items.help",
		needed: func(a map[string]string) bool { return itemCount(a) > 0 },
		promptData: func(c *turn) map[string]any {
			list := pledgeTurn{c}.itemList() + "\n\n"
			if c.st.Editing && c.st.Answers[stepItems] != "" {
				list = "" // shown as the current answer
			}
			return map[string]any{"Items": list}
		},
		options: func(c *turn) []option {
			var opts []option
			if itemCount(c.st.Answers) < maxPledgeItems {
				opts = append(opts, option{value: itemsMore, label: "pledge.items.more", words: "pledge.items.more_words"})
			}
			return append(opts, option{value: itemsDone, label: "common.btn_done", words: "common.done_words"})
		},
		display: func(c *turn, _ string) string { return "\n" + pledgeTurn{c}.itemLines() },
		extra:   fn1(pledgeTurn.removeButtons),
		control: func(c *turn, f *form, v string) (bool, error) { return pledgeTurn{c}.removeTapped(f, v) },
		accepted: func(c *turn, _ string) bool {
			if itemCount(c.st.Answers) == 0 {
				delete(c.st.Answers, stepItems) // a state from another version: ask for an item
			}
			return false
		},
	}
}

// removeButtons are the items question's buttons that remove an item, one per item.
func (c pledgeTurn) removeButtons(f *form) [][]Button {
	var buttons []Button
	for i := range itemCount(c.st.Answers) {
		buttons = append(buttons, Button{
			Text: c.t("pledge.items.remove", "N", i+1),
			Data: f.data(stepItems, removeValue(i+1, c.st.Answers[itemKey(i+1)])),
		})
	}
	return grid(buttons, 3)
}

// removeTapped handles a tap on a remove button (v is removeValue's): it drops the item, then
// asks for an item again if none is left, else "another, or done?". It reports whether v was
// such a tap; one from before another removal is ignored, so the wrong item is never removed.
func (c pledgeTurn) removeTapped(f *form, v string) (bool, error) {
	p, ok := strings.CutPrefix(v, ctlItemRemove)
	if !ok {
		return false, nil
	}
	num, enc, _ := strings.Cut(p, "=")
	n, err := strconv.Atoi(num)
	it, ok := itemAt(c.st.Answers, n)
	if err != nil || !ok || c.st.Answers[itemKey(n)] != enc {
		return false, nil // a button from before a removal: never remove the wrong item
	}
	c.removeItem(n)
	c.lead = c.t("pledge.items.removed", "Item", c.itemText(it))
	if itemCount(c.st.Answers) == 0 {
		delete(c.st.Answers, stepItems)
		return true, c.advance(f)
	}
	c.st.Misses = 0
	c.ask(f, f.field(stepItems), "", false)
	return true, nil
}

// itemDraftFields ask about the item being added, in order: its kind, then only what that kind
// needs (a device's condition, a count, an internet package's months, whether a device is
// complete, a sum of money and, above ceiling, its confirmation). The answer that completes the
// item adds it to the list (commitItem), and "another, or done?" is asked next.
func itemDraftFields(f *form, ceiling int64) []*field {
	commit := func(c *turn, _ string) bool { pledgeTurn{c}.commitItem(f); return false }
	return []*field{
		itemKindField(),
		itemConditionField(commit),
		itemQuantityField(commit),
		itemMonthsField(commit),
		itemCompleteField(commit),
		itemAmountField(commit),
		itemConfirmField(f, ceiling),
	}
}

// itemKindField asks what the item is: a kind of device, connectivity or money. Once an item is
// in the list, a button leaves the item being added and goes back to "another, or done?".
func itemKindField() *field {
	return &field{
		name: stepItemKind, kind: kindChoice, columns: 2,
		label: "pledge.item_kind.label", prompt: "pledge.item_kind.prompt", help: "pledge.item_kind.help",
		needed: addingItems,
		options: func(*turn) []option {
			var opts []option
			for _, k := range campaign.ItemKinds {
				opts = append(opts, option{value: string(k), label: itemKindLabels[k][0], words: itemKindLabels[k][1]})
			}
			return opts
		},
		display: func(c *turn, v string) string { return c.kindName(campaign.ItemKind(v)) },
		extra: func(c *turn, f *form) [][]Button {
			if itemCount(c.st.Answers) == 0 {
				return nil
			}
			return [][]Button{{{Text: c.t("pledge.item_kind.back"), Data: f.data(stepItemKind, ctlItemBack)}}}
		},
		control: func(c *turn, f *form, v string) (bool, error) {
			if v != ctlItemBack || itemCount(c.st.Answers) == 0 {
				return false, nil
			}
			pledgeTurn{c}.clearDraft()
			delete(c.st.Answers, stepItems)
			return true, c.advance(f)
		},
	}
}

// itemConditionField asks whether a device is new or used: volunteers check and clean used ones.
func itemConditionField(commit func(*turn, string) bool) *field {
	return &field{
		name: stepItemCondition, kind: kindChoice, columns: 2, accepted: commit,
		label: "pledge.item_condition.label", prompt: "pledge.item_condition.prompt", help: "pledge.item_condition.help",
		needed:     func(a map[string]string) bool { return addingItems(a) && draftKind(a).IsDevice() },
		promptData: func(c *turn) map[string]any { return map[string]any{"Kind": c.kindName(draftKind(c.st.Answers))} },
		options: func(*turn) []option {
			return []option{
				{value: condNew, label: "pledge.item_condition.new", words: "pledge.item_condition.new_words"},
				{value: condUsed, label: "pledge.item_condition.used", words: "pledge.item_condition.used_words"},
			}
		},
	}
}

// itemQuantityField asks how many of the item are given (anything but money), up to quantityMax
// of its kind; the quick buttons are small counts for devices, larger ones for SIMs and the like.
func itemQuantityField(commit func(*turn, string) bool) *field {
	return &field{
		name: stepItemQuantity, kind: kindChoice, columns: 4, accepted: commit,
		label: "pledge.item_quantity.label", prompt: "pledge.item_quantity.prompt", help: "pledge.item_quantity.help",
		needed: func(a map[string]string) bool {
			return addingItems(a) && draftKind(a) != "" && draftKind(a) != campaign.ItemMoney
		},
		promptData: func(c *turn) map[string]any {
			return map[string]any{"Kind": c.kindName(draftKind(c.st.Answers)), "Max": c.count(quantityMax(draftKind(c.st.Answers)))}
		},
		options: func(c *turn) []option {
			quick := []int{10, 50, 100, 500}
			if draftKind(c.st.Answers).IsDevice() {
				quick = []int{1, 2, 5, 10}
			}
			var opts []option
			for _, n := range quick {
				opts = append(opts, option{value: strconv.Itoa(n), label: "pledge.item_quantity.button", data: map[string]any{"N": n}})
			}
			return opts
		},
		parse: func(c *turn, s string) (string, error) {
			most := quantityMax(draftKind(c.st.Answers))
			n, err := parseCount(s, most, "pledge.err.quantity_format", "pledge.err.quantity_range")
			if inv, ok := err.(*invalid); ok && inv.ID == "pledge.err.quantity_range" {
				inv.Data["Max"] = c.count(most)
			}
			if err != nil {
				return "", err
			}
			return strconv.Itoa(n), nil
		},
	}
}

// itemMonthsField asks how many months an internet package pays for, up to monthsMax.
func itemMonthsField(commit func(*turn, string) bool) *field {
	return &field{
		name: stepItemMonths, kind: kindChoice, columns: 4, accepted: commit,
		label: "pledge.item_months.label", prompt: "pledge.item_months.prompt", help: "pledge.item_months.help",
		needed: func(a map[string]string) bool { return addingItems(a) && draftKind(a) == campaign.ItemInternetPackage },
		options: func(*turn) []option {
			var opts []option
			for _, n := range []int{1, 3, 6, 12} {
				opts = append(opts, option{value: strconv.Itoa(n), label: "pledge.item_months.button", data: map[string]any{"Count": n}})
			}
			return opts
		},
		parse: func(_ *turn, s string) (string, error) {
			n, err := parseCount(s, monthsMax, "pledge.err.months_format", "pledge.err.months_range")
			if err != nil {
				return "", err
			}
			return strconv.Itoa(n), nil
		},
	}
}

// itemCompleteField asks whether a device connects to the internet and comes with its charger
// and cables (a desktop: whether the set is complete); those that do not are still taken, flagged
// as needing parts.
func itemCompleteField(commit func(*turn, string) bool) *field {
	return &field{
		name: stepItemComplete, kind: kindChoice, columns: 2, accepted: commit,
		label: "pledge.item_complete.label", prompt: "pledge.item_complete.prompt", help: "pledge.item_complete.help",
		needed: func(a map[string]string) bool { return addingItems(a) && draftKind(a).IsDevice() },
		promptData: func(c *turn) map[string]any {
			q := c.t("pledge.item_complete.question_device", "Kind", c.kindName(draftKind(c.st.Answers)))
			if draftKind(c.st.Answers) == campaign.ItemDesktop {
				q = c.t("pledge.item_complete.question_desktop")
			}
			return map[string]any{"Question": q}
		},
		options: func(*turn) []option {
			return []option{
				{value: answerYes, label: "pledge.yes", words: "pledge.yes_words"},
				{value: answerNo, label: "pledge.no", words: "pledge.no_words"},
			}
		},
	}
}

// itemAmountField asks the sum of money given, in VND (parseAmount).
func itemAmountField(commit func(*turn, string) bool) *field {
	return &field{
		name: stepItemAmount, kind: kindText, accepted: commit,
		label: "pledge.item_amount.label", prompt: "pledge.item_amount.prompt", help: "pledge.item_amount.help",
		needed: func(a map[string]string) bool { return addingItems(a) && draftKind(a) == campaign.ItemMoney },
		parse: func(_ *turn, s string) (string, error) {
			n, err := parseAmount(s)
			if err != nil {
				return "", err
			}
			return strconv.FormatInt(n, 10), nil
		},
		display: func(_ *turn, v string) string { return formatAmount(v) },
	}
}

// itemConfirmField asks to confirm a sum of money above ceiling, as an extra zero typed by mistake
// is easy to miss; "fix" asks the sum again, "yes" adds the item to the list.
func itemConfirmField(f *form, ceiling int64) *field {
	return &field{
		name: stepItemConfirm, kind: kindChoice, columns: 2,
		label: "pledge.item_confirm.label", prompt: "pledge.item_confirm.prompt", help: "pledge.item_confirm.help",
		needed: func(a map[string]string) bool {
			n, err := strconv.ParseInt(a[stepItemAmount], 10, 64)
			return addingItems(a) && draftKind(a) == campaign.ItemMoney && err == nil && n > ceiling
		},
		promptData: func(c *turn) map[string]any {
			return map[string]any{"Amount": formatAmount(c.st.Answers[stepItemAmount])}
		},
		options: func(*turn) []option {
			return []option{
				{value: answerYes, label: "pledge.yes", words: "pledge.yes_words"},
				{value: confirmFix, label: "pledge.item_confirm.fix", words: "pledge.item_confirm.fix_words"},
			}
		},
		accepted: func(c *turn, v string) bool {
			if v == confirmFix {
				delete(c.st.Answers, stepItemAmount)
				delete(c.st.Answers, stepItemConfirm)
				return false
			}
			pledgeTurn{c}.commitItem(f)
			return false
		},
	}
}

// deliveryFields ask how the items reach the campaign: brought to a ward office (then which
// ward), to the city's Fatherland Front, or picked up from the donor (pickupFields).
func deliveryFields(camp *campaign.Campaign) []*field {
	return []*field{
		{
			name: stepDelivery, kind: kindChoice, columns: 1,
			label: "pledge.delivery.label", prompt: "pledge.delivery.prompt", help: "pledge.delivery.help",
			options: func(c *turn) []option {
				var opts []option
				for _, m := range deliveryMethods {
					opts = append(opts, option{value: string(m), label: deliveryLabels[m], data: map[string]any{"City": camp.City.In(c.lang)}})
				}
				return opts
			},
			display: func(c *turn, v string) string {
				return withoutSymbols(c.t(deliveryLabels[campaign.DeliveryMethod(v)], "City", camp.City.In(c.lang)))
			},
		},
		{
			name: stepWard, kind: kindWard,
			label: "pledge.ward.label", prompt: "pledge.ward.prompt", help: "pledge.ward.help",
			needed: func(a map[string]string) bool { return a[stepDelivery] == string(campaign.DeliverToWard) },
			promptData: func(c *turn) map[string]any {
				page, pages := c.wardPage()
				return map[string]any{"Page": page + 1, "Pages": pages}
			},
			display: func(c *turn, v string) string {
				if w, ok := camp.Ward(v); ok {
					return w.DisplayName(c.lang)
				}
				return v
			},
		},
	}
}

// pickupFields ask, when the items are picked up, where and on which day (today or later, at
// most pickupDaysMax days ahead, in the campaign's time zone).
func pickupFields(camp *campaign.Campaign) []*field {
	days := pickupDays(camp)
	return []*field{
		{
			name: stepPickupAddress, kind: kindText,
			label: "pledge.pickup_address.label", prompt: "pledge.pickup_address.prompt", help: "pledge.pickup_address.help",
			needed: func(a map[string]string) bool { return a[stepDelivery] == string(campaign.DeliverByPickup) },
			parse:  func(_ *turn, s string) (string, error) { return parseFreeText(s, addressMin, addressMax) },
		},
		{
			name: stepPickupDate, kind: kindChoice, columns: 2,
			label: "pledge.pickup_date.label", prompt: "pledge.pickup_date.prompt", help: "pledge.pickup_date.help",
			needed:     func(a map[string]string) bool { return a[stepDelivery] == string(campaign.DeliverByPickup) },
			promptData: func(*turn) map[string]any { return map[string]any{"Max": pickupDaysMax} },
			options:    days,
			parse: func(c *turn, s string) (string, error) {
				if o, ok := c.matchOption(days(c), s); ok {
					return o.value, nil
				}
				d, err := parsePickupDate(s, c.now, camp.Location)
				if err != nil {
					return "", err
				}
				return d.Format(dateLayout), nil
			},
			display: func(_ *turn, v string) string {
				d, err := time.Parse(dateLayout, v)
				if err != nil {
					return v
				}
				return d.Format(dateShownAs)
			},
		},
	}
}

// pickupDays offers the pickup days a tap away, today and tomorrow in the campaign's time zone;
// other dates are typed.
func pickupDays(camp *campaign.Campaign) func(c *turn) []option {
	return func(c *turn) []option {
		today := localDate(c.now, camp.Location)
		tomorrow := today.AddDate(0, 0, 1)
		return []option{
			{value: today.Format(dateLayout), label: "pledge.pickup_date.today", data: map[string]any{"Date": today.Format("02/01")}, words: "pledge.pickup_date.today_words"},
			{value: tomorrow.Format(dateLayout), label: "pledge.pickup_date.tomorrow", data: map[string]any{"Date": tomorrow.Format("02/01")}, words: "pledge.pickup_date.tomorrow_words"},
		}
	}
}

// thanksField asks, last before the review, whether the donor's name may be on the organisers'
// published list of thanks, or the pledge stays anonymous.
func thanksField() *field {
	return &field{
		name: stepThanks, kind: kindChoice, columns: 1,
		label: "pledge.thanks.label", prompt: "pledge.thanks.prompt", help: "pledge.thanks.help",
		options: func(*turn) []option {
			return []option{
				{value: thanksPublic, label: "pledge.thanks.public", words: "pledge.thanks.public_words"},
				{value: thanksAnon, label: "pledge.thanks.anonymous", words: "pledge.thanks.anonymous_words"},
			}
		},
		display: func(c *turn, v string) string {
			if v == thanksAnon {
				return withoutSymbols(c.t("pledge.thanks.anonymous"))
			}
			return withoutSymbols(c.t("pledge.thanks.public"))
		},
	}
}

// quantityMax is the most of one item kind a pledge line may count.
func quantityMax(k campaign.ItemKind) int {
	if k.IsDevice() {
		return deviceQuantityMax
	}
	return stockQuantityMax
}

// kindName is an item kind's name without its emoji.
func (c *turn) kindName(k campaign.ItemKind) string {
	l, ok := itemKindLabels[k]
	if !ok {
		return string(k)
	}
	return withoutSymbols(c.t(l[0]))
}

// count writes a number with the thousands separator of the turn's language.
func (c *turn) count(n int) string {
	s := campaign.FormatVND(int64(n))
	s = strings.TrimSuffix(s, " đ")
	if c.lang == langEN {
		s = strings.ReplaceAll(s, ".", ",")
	}
	return s
}

// formatAmount shows a stored amount of VND.
func formatAmount(v string) string {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return v
	}
	return campaign.FormatVND(n)
}

// parseOrgName checks the name of a business, organisation or other body: free text of 2-150
// characters with letters, digits, spaces and the punctuation such names use (& . , - ' ’ ( ) /).
func parseOrgName(s string) (string, error) {
	v, err := parseFreeText(s, nameMin, orgNameMax)
	if err != nil {
		return "", err
	}
	for _, r := range v {
		switch {
		case unicode.IsLetter(r), unicode.IsMark(r), unicode.IsDigit(r), r == ' ':
		case strings.ContainsRune("&.,-'’()/", r):
		default:
			return "", refuse("pledge.err.org_symbols")
		}
	}
	return v, nil
}

var countTyped = regexp.MustCompile(`^(\d{1,3}(?:[.,]\d{3})+|\d+)\s*([a-z][a-z ]{0,19})?$`)

// parseCount reads a count typed as "2", "2 cái", "1.000" or "12 tháng", between 1 and max;
// formatID and rangeID are the messages for text that is not a count and a count out of range.
func parseCount(s string, most int, formatID, rangeID string) (int, error) {
	if len(s) > 64 {
		return 0, refuse(formatID)
	}
	g := countTyped.FindStringSubmatch(campaign.Fold(cleanText(s)))
	if g == nil {
		return 0, refuse(formatID)
	}
	digits := strings.NewReplacer(".", "", ",", "").Replace(g[1])
	n, err := strconv.Atoi(digits)
	if err != nil || len(digits) > 9 || n < 1 || n > most {
		return 0, refuse(rangeID, "Max", most)
	}
	return n, nil
}

// parseAmount reads a sum of money with campaign.ParseVND and says what is wrong with one it
// refuses: not a sum, zero or negative, or too small to be meant.
func parseAmount(s string) (int64, error) {
	if len(s) > 64 {
		return 0, refuse("pledge.err.money_format")
	}
	s = cleanText(s)
	if n, ok := campaign.ParseVND(s); ok {
		if n < moneyMin {
			return 0, refuse("pledge.err.money_small", "Amount", campaign.FormatVND(n))
		}
		return n, nil
	}
	if t := strings.TrimLeft(s, "-−– "); t != s {
		if _, ok := campaign.ParseVND(t); ok {
			return 0, refuse("pledge.err.money_positive")
		}
	}
	if strings.Contains(s, "0") && !strings.ContainsAny(s, "123456789") {
		if _, ok := campaign.ParseVND(strings.ReplaceAll(s, "0", "1")); ok {
			return 0, refuse("pledge.err.money_positive")
		}
	}
	return 0, refuse("pledge.err.money_format")
}

// parsePickupDate reads a pickup date written day first ("15/9/2021", "15-09-2021", "15/9" for
// this year) or as "2021-09-15": today or later, at most pickupDaysMax days ahead, in loc. It
// returns the date at midnight UTC.
func parsePickupDate(s string, now time.Time, loc *time.Location) (time.Time, error) {
	if len(s) > 64 {
		return time.Time{}, refuse("pledge.err.date_format")
	}
	s = strings.TrimSpace(dateWords.ReplaceAllString(campaign.Fold(cleanText(s)), " "))
	today := localDate(now, loc)
	var y, m, d int
	if g := isoDate.FindStringSubmatch(s); g != nil {
		y, m, d = atoi(g[1]), atoi(g[2]), atoi(g[3])
	} else {
		parts := dateParts.Split(s, -1)
		for _, p := range parts {
			if !allDigits.MatchString(p) || len(p) > 4 {
				return time.Time{}, refuse("pledge.err.date_format")
			}
		}
		if len(parts) < 2 || len(parts) > 3 || len(parts[0]) > 2 || len(parts[1]) > 2 {
			return time.Time{}, refuse("pledge.err.date_format")
		}
		d, m, y = atoi(parts[0]), atoi(parts[1]), today.Year()
		if len(parts) == 3 {
			switch len(parts[2]) {
			case 4:
				y = atoi(parts[2])
			case 2:
				y = 2000 + atoi(parts[2])
			default:
				return time.Time{}, refuse("pledge.err.date_format")
			}
		}
	}
	if !validDate(y, m, d) {
		return time.Time{}, refuse("reg.err.date_impossible")
	}
	date := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	switch {
	case date.Before(today):
		return time.Time{}, refuse("pledge.err.date_past")
	case date.After(today.AddDate(0, 0, pickupDaysMax)):
		return time.Time{}, refuse("pledge.err.date_far", "Max", pickupDaysMax)
	}
	return date, nil
}

// pledge builds what is submitted from the answers; ok is false when an answer is missing or no
// longer holds (a pickup date now past), and the form then asks again.
func (c pledgeTurn) pledge() (campaign.Pledge, bool) {
	a := c.st.Answers
	items, ok := pledgeItems(a)
	if !ok || len(items) == 0 {
		for i := range itemCount(a) {
			delete(a, itemKey(i+1))
		}
		delete(a, stepItems)
		return campaign.Pledge{}, false
	}
	kind := campaign.DonorKind(a[stepDonorKind])
	p := campaign.Pledge{
		Channel:        c.sess.Channel,
		ChatID:         c.sess.ChatID,
		UserID:         c.in.UserID,
		Language:       c.lang,
		DonorKind:      kind,
		DonorName:      campaign.NormalizeText(a[stepDonorName]),
		Phone:          a[stepPhone],
		Items:          items,
		Delivery:       campaign.DeliveryMethod(a[stepDelivery]),
		WardCode:       a[stepWard],
		PickupAddress:  campaign.NormalizeText(a[stepPickupAddress]),
		Anonymous:      a[stepThanks] == thanksAnon,
		IdempotencyKey: c.st.IdempotencyKey,
	}
	if kind.HasContactPerson() {
		p.DonorName = campaign.NormalizeText(a[stepOrgName])
		p.ContactPerson = campaign.NormalizeText(a[stepContactName])
	}
	if p.Delivery == campaign.DeliverByPickup {
		d, err := time.Parse(dateLayout, a[stepPickupDate])
		if err != nil || d.Before(localDate(c.now, c.e.cfg.Campaign.Location)) {
			delete(a, stepPickupDate)
			if err == nil {
				c.lead = c.t("pledge.err.date_past")
			}
			return campaign.Pledge{}, false
		}
		p.PickupDate = d
	}
	return p, true
}

// submitPledge sends the reviewed pledge. A retried submit carries the same idempotency key and
// gets the same record back, so the donor sees the same code.
func (c pledgeTurn) submitPledge(f *form) error {
	if f.firstMissing(c.st.Answers) != nil {
		return c.advance(f)
	}
	p, ok := c.pledge()
	if !ok {
		return c.advance(f)
	}
	submitted, err := c.submitOnce(f, &p.IdempotencyKey, "pledge.submit_invalid", func() error {
		_, err := c.e.cfg.Pledges.SubmitPledge(c.ctx, &p)
		return err
	})
	if !submitted || err != nil {
		return err
	}
	c.toIdle()
	c.st.Answers[lastPrefix+stepPhone] = p.Phone
	var next string
	switch p.Delivery {
	case campaign.DeliverToWard:
		ward := p.WardCode
		if w, ok := c.e.cfg.Campaign.Ward(p.WardCode); ok {
			ward = w.DisplayName(c.lang)
		}
		next = c.t("pledge.next.ward", "Ward", ward, "Code", p.Code)
	case campaign.DeliverToFront:
		next = c.t("pledge.next.front", "City", c.e.cfg.Campaign.City.In(c.lang), "Code", p.Code)
	default:
		next = c.t("pledge.next.pickup", "Phone", phoneDisplay(p.Phone), "Address", clip(p.PickupAddress, addressMax), "Date", p.PickupDate.Format(dateShownAs))
	}
	name := p.DonorName
	if p.ContactPerson != "" {
		name = p.ContactPerson
	}
	c.out = append(c.out, Output{
		Text: c.t("pledge.submitted", "Name", clip(name, nameMax), "Code", p.Code, "Next", next),
		Buttons: [][]Button{
			{{Text: c.t("pledge.btn_list"), Data: "g:pledges"}},
			{{Text: c.t("pledge.btn_another"), Data: "g:pledge"}},
		},
	})
	return nil
}

// pledges lists the chat's pledges and where what they gave is now, then asks the current
// question again if a form is in progress. It names no child: deliveries are counted by school
// level and ward.
func (c pledgeTurn) pledges() error {
	if c.pledgesOff() {
		return nil
	}
	list, err := c.e.cfg.Pledges.PledgesByChat(c.ctx, c.sess.Channel, c.sess.ChatID)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		c.out = append(c.out, Output{
			Text:    c.t("pledge.list.none"),
			Buttons: [][]Button{{{Text: c.t("pledge.btn_start"), Data: "g:pledge"}}},
		})
		c.resume("")
		return nil
	}
	blocks := []string{c.t("pledge.list.count", "Count", len(list))}
	for i, p := range list {
		if i == pledgesShown {
			blocks = append(blocks, c.t("pledge.list.more", "Count", len(list)-pledgesShown))
			break
		}
		blocks = append(blocks, c.pledgeBlock(p))
	}
	// Blocks are packed into messages of at most messageMax characters.
	var cur string
	for _, b := range blocks {
		if cur != "" && utf8.RuneCountInString(cur)+utf8.RuneCountInString(b)+2 > messageMax {
			c.say(cur)
			cur = ""
		}
		if cur != "" {
			cur += "\n\n"
		}
		cur += b
	}
	c.say(cur)
	c.resume("")
	return nil
}

// localDate is t's calendar date in loc, at midnight UTC (how dates are kept in answers).
func localDate(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// pledgeBlock is one pledge in /pledges: its code, date and status, what it gives, and where
// that is now.
func (c pledgeTurn) pledgeBlock(p campaign.PledgeProgress) string {
	status := c.t("pledge.status.unknown")
	if id, ok := pledgeStatusLabels[p.Status]; ok {
		status = c.t(id)
	}
	date := p.CreatedAt.In(c.e.cfg.Campaign.Location).Format(dateShownAs)
	lines := []string{c.t("pledge.list.header", "Code", p.Code, "Date", date, "Status", status)}
	for i, it := range p.Items {
		if i == maxPledgeItems {
			break
		}
		lines = append(lines, c.t("pledge.list.item", "Item", c.itemText(it)))
	}
	var states []string
	for _, s := range campaign.DeviceStates {
		if n := p.Devices[s]; n > 0 {
			states = append(states, c.t(deviceStateLabels[s], "Count", n))
		}
	}
	if len(states) > 0 {
		lines = append(lines, c.t("pledge.list.devices", "States", strings.Join(states, ", ")))
	}
	var stock []string
	for _, k := range campaign.ItemKinds {
		if n := p.StockReceived[k]; n > 0 && !k.IsDevice() && k != campaign.ItemMoney {
			stock = append(stock, c.t("pledge.item.stock", "Quantity", c.count(n), "Kind", c.kindName(k)))
		}
	}
	if len(stock) > 0 {
		lines = append(lines, c.t("pledge.list.stock", "Stock", strings.Join(stock, ", ")))
	}
	if p.MoneyReceived > 0 {
		lines = append(lines, c.t("pledge.list.money", "Amount", campaign.FormatVND(p.MoneyReceived)))
	}
	total := 0
	var where []string
	for _, d := range p.Delivered {
		if d.Count <= 0 {
			continue
		}
		total += d.Count
		ward := d.WardCode
		if w, ok := c.e.cfg.Campaign.Ward(d.WardCode); ok {
			ward = w.DisplayName(c.lang)
		}
		level := c.t("pledge.level.unknown")
		if id, ok := levelWords[d.Level]; ok {
			level = c.t(id)
		}
		where = append(where, c.t("pledge.list.delivered_line", "Count", d.Count, "Level", level, "Ward", ward))
	}
	if total > 0 {
		lines = append(lines, c.t("pledge.list.delivered", "Count", total, "Where", strings.Join(where, "; ")))
	}
	if len(states) == 0 && len(stock) == 0 && p.MoneyReceived == 0 && p.Status != campaign.PledgeCancelled {
		lines = append(lines, c.t("pledge.list.waiting"))
	}
	return strings.Join(lines, "\n")
}
