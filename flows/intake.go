package flows

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/thuduc/maytinhchoem/campaign"
)

func init() {
	registerFlow(flowSpec{
		name: FlowIntake,
		commands: []flowCommand{
			{name: "intake", run: fn1(intakeTurn.startIntake),
				staff: &staffLine{group: "staff.help.group.devices", rank: 140, text: "staff.help.intake", may: mayIntake}},
			{name: "myintake", run: func(c *turn, _ string) error { return intakeTurn{c}.myIntake() },
				staff: &staffLine{group: "staff.help.group.devices", rank: 150, text: "staff.help.myintake", may: mayIntake}},
			{name: "device", run: fn1(intakeTurn.deviceCommand),
				staff: &staffLine{group: "staff.help.group.devices", rank: 160, text: "staff.help.device", may: mayIntake}},
		},
		buttons: []flowButton{{prefix: intakeAfterPrefix, run: fn1(intakeTurn.intakeAfter)}, {prefix: devicePrefix, run: fn1(intakeTurn.deviceChoice)}},
		setup:   setupIntake,
	})
}

// setupIntake adds the intake form to e, when e has a store of devices to take them in to.
func setupIntake(e *Engine) error {
	if e.cfg.Devices == nil {
		return nil
	}
	return e.addForm(intakeForm())
}

// FlowIntake is the State.Flow of a volunteer taking in a device (checked, cleaned, software
// installed) or counted stock (SIMs, USB Wi-Fi, internet packages), from a pledge or as a walk-in gift.
const FlowIntake = "intake"

// Steps of the intake, in the order they are asked; each is also the answer's key.
const (
	stepIntakeSource    = "source"    // a pledge code, or sourceWalkIn
	stepIntakeKind      = "kind"      // an item kind other than money
	stepIntakeQuantity  = "quantity"  // stock
	stepIntakeMonths    = "months"    // internet packages
	stepIntakeBrand     = "brand"     // devices: brand and model, free text
	stepIntakeSerial    = "serial"    // serial or IMEI, or intakeSkip
	stepIntakeCondition = "condition" // new or used
	stepIntakeChecks    = "checks"    // the checklist points that passed, or intakeSkip for none
	stepIntakeWiped     = "wiped"
	stepIntakeCleaned   = "cleaned"
	stepIntakeParts     = "parts"    // parts added, or intakeSkip
	stepIntakeSoftware  = "software" // a school level, or softwareNone
	stepIntakeOutcome   = "outcome"  // ready, needs_parts or unusable
)

// Answers of the intake that are not questions, and values of its choices.
const (
	// answerPromised keeps what the pledge promised, "kind=quantity=months,...", for the kind and
	// quantity buttons.
	answerPromised = "promised"
	// answerCheckedKind is the kind the checklist was answered for: another kind has other points.
	answerCheckedKind = "checked_kind"
	sourceWalkIn      = "walkin"
	intakeSkip        = "-" // no serial, no part added, no point passed
	intakeYes         = "yes"
	intakeNo          = "no"
	softwareNone      = "none"
	// intakeAfterPrefix starts the buttons under a saved intake: "ia:next:<source>", "ia:done".
	intakeAfterPrefix = "ia"
)

// Limits of the intake.
const (
	brandMin = 2
	brandMax = 100
	partsMin = 2
	partsMax = 200
	// myIntakeShown is how many devices /myintake lists, newest first.
	myIntakeShown = 20
)

var (
	// serialTyped is a serial number or an IMEI.
	serialTyped = regexp.MustCompile(`^[A-Z0-9][A-Z0-9 ./-]{2,39}$`)
)

// Message ids by value.
var (
	checkLabels = map[campaign.CheckItem]string{
		campaign.CheckPowersOn:      "intake.check.powers_on",
		campaign.CheckConnects:      "intake.check.connects",
		campaign.CheckCharger:       "intake.check.charger",
		campaign.CheckCables:        "intake.check.cables",
		campaign.CheckCamera:        "intake.check.camera",
		campaign.CheckMicrophone:    "intake.check.microphone",
		campaign.CheckKeyboardMouse: "intake.check.keyboard_mouse",
		campaign.CheckBattery:       "intake.check.battery",
	}
	outcomeLabels = map[campaign.DeviceState]string{
		campaign.DeviceReady:      "intake.outcome.ready",
		campaign.DeviceNeedsParts: "intake.outcome.needs_parts",
		campaign.DeviceUnusable:   "intake.outcome.unusable",
	}
	outcomes         = []campaign.DeviceState{campaign.DeviceReady, campaign.DeviceNeedsParts, campaign.DeviceUnusable}
	intakeStateNames = map[campaign.DeviceState]string{
		campaign.DevicePledged:    "intake.state.pledged",
		campaign.DeviceReceived:   "intake.state.received",
		campaign.DeviceChecking:   "intake.state.checking",
		campaign.DeviceReady:      "intake.state.ready",
		campaign.DeviceNeedsParts: "intake.state.needs_parts",
		campaign.DeviceUnusable:   "intake.state.unusable",
		campaign.DeviceAllocated:  "intake.state.allocated",
		campaign.DeviceDelivered:  "intake.state.delivered",
		campaign.DeviceReturned:   "intake.state.returned",
	}
	// kindNouns are the item kinds counted in a sentence ("1 laptop", "500 SIM 4G").
	kindNouns = map[campaign.ItemKind]string{
		campaign.ItemLaptop:          "intake.noun.laptop",
		campaign.ItemDesktop:         "intake.noun.desktop",
		campaign.ItemTablet:          "intake.noun.tablet",
		campaign.ItemSmartphone:      "intake.noun.smartphone",
		campaign.ItemSIM4G:           "intake.noun.sim_4g",
		campaign.ItemUSBWiFi:         "intake.noun.usb_wifi",
		campaign.ItemInternetPackage: "intake.noun.internet_package",
	}
)

// mayIntake is the staff line's may of /intake, /myintake and /device: the devices' store is
// configured and s may take devices in.
var mayIntake = staffMay(campaign.ActionIntake, func(c Config) bool { return c.Devices != nil })

// intakeTurn is a turn of the intake of devices (/intake); its methods are the flow's own (see
// flowTurn).
type intakeTurn struct{ *turn }

// devicesOff says device intake is not available here (no store configured), and asks the
// current question again; it reports whether it did.
func (c intakeTurn) devicesOff() bool {
	if c.e.cfg.Devices != nil {
		return false
	}
	c.say(c.t("intake.unavailable"))
	c.resume("")
	return true
}

// intakeForm is the form a volunteer fills in for each device or batch of stock taken in: where
// it comes from, what it is and how many, then, for a device, the device itself, its check, its
// software and its outcome. Stock needs no more than its count.
func intakeForm() *form {
	f := &form{
		name:        FlowIntake,
		prefix:      "i",
		reviewLabel: "intake.review.label",
		reviewTitle: "intake.review.title",
		reviewHint:  "intake.review.hint",
		reviewHelp:  "intake.review.help",
		submitLabel: "intake.review.submit",
		submit:      fn1(intakeTurn.submitIntake),
		cancelled:   "intake.cancelled",
	}
	f.fields = slices.Concat(
		intakeSourceFields(),
		intakeKindFields(),
		intakeDeviceFields(),
		intakeCheckFields(),
		intakeSoftwareFields(),
		intakeOutcomeFields(f),
	)
	return f
}

// intakeKindOf is the item kind the intake's answers a are for, "" before it is chosen.
func intakeKindOf(a map[string]string) campaign.ItemKind { return campaign.ItemKind(a[stepIntakeKind]) }

// takesDevice says the answers a take in a device, which is described and checked.
func takesDevice(a map[string]string) bool { return intakeKindOf(a).IsDevice() }

// takesStock says the answers a take in counted stock, which is only counted.
func takesStock(a map[string]string) bool {
	return intakeKindOf(a) != "" && !intakeKindOf(a).IsDevice()
}

// intakeYesNo offers yes and no, for the device's wiping and cleaning.
func intakeYesNo(*turn) []option {
	return []option{
		{value: intakeYes, label: "intake.yes", words: "intake.yes_words"},
		{value: intakeNo, label: "intake.no", words: "intake.no_words"},
	}
}

// showIntakeYesNo shows a yes or no answer on the review.
func showIntakeYesNo(c *turn, v string) string {
	if v == intakeYes {
		return withoutSymbols(c.t("intake.yes"))
	}
	return withoutSymbols(c.t("intake.no"))
}

// skipShown shows an answer that may be intakeSkip: the skip as message id, anything else as typed.
func skipShown(id string) func(*turn, string) string {
	return func(c *turn, v string) string {
		if v == intakeSkip {
			return withoutSymbols(c.t(id))
		}
		return v
	}
}

// countParser reads a typed count, 1 to most, as a field's parse (parseCount).
func countParser(most int, formatID, rangeID string) func(*turn, string) (string, error) {
	return func(_ *turn, s string) (string, error) {
		n, err := parseCount(s, most, formatID, rangeID)
		if err != nil {
			return "", err
		}
		return strconv.Itoa(n), nil
	}
}

// intakeSourceFields ask where the intake comes from: a pledge's code, typed, or a walk-in
// gift. A pledge is checked and what it promised kept, so the next questions offer it; a new
// source forgets a kind it did not promise.
func intakeSourceFields() []*field {
	walkIn := []option{{value: sourceWalkIn, label: "intake.source.walkin", words: "intake.source.walkin_words"}}
	return []*field{{
		name: stepIntakeSource, kind: kindChoice, columns: 1,
		label: "intake.source.label", prompt: "intake.source.prompt", help: "intake.source.help",
		options: func(*turn) []option { return walkIn },
		parse: func(c *turn, s string) (string, error) {
			if o, ok := c.matchOption(walkIn, s); ok {
				return o.value, nil
			}
			p, err := intakeTurn{c}.lookupPledge(s)
			if err != nil {
				return "", err
			}
			if err := (intakeTurn{c}).pledgeSource(p); err != nil {
				return "", err
			}
			return p.Code, nil
		},
		display: func(c *turn, v string) string {
			if v == sourceWalkIn {
				return withoutSymbols(c.t("intake.source.walkin"))
			}
			return v
		},
		accepted: func(c *turn, v string) bool {
			if v == sourceWalkIn {
				delete(c.st.Answers, answerPromised)
			}
			if k := c.st.Answers[stepIntakeKind]; k != "" && !slices.Contains((intakeTurn{c}).intakeKinds(), campaign.ItemKind(k)) {
				delete(c.st.Answers, stepIntakeKind) // the new pledge did not promise it: ask again
			}
			return false
		},
	}}
}

// intakeKindFields ask what is taken in and, for stock, how much: the kind (those the pledge
// promised, else any but money), the quantity of stock and the months of internet packages. The
// buttons offer the promised count first, so a pledge kept as promised is one tap.
func intakeKindFields() []*field {
	return []*field{
		{
			name: stepIntakeKind, kind: kindChoice, columns: 2,
			label: "intake.kind.label", prompt: "intake.kind.prompt", help: "intake.kind.help",
			options: func(c *turn) []option {
				var opts []option
				for _, k := range (intakeTurn{c}).intakeKinds() {
					opts = append(opts, option{value: string(k), label: itemKindLabels[k][0], words: itemKindLabels[k][1]})
				}
				return opts
			},
			display: func(c *turn, v string) string { return c.kindName(campaign.ItemKind(v)) },
			accepted: func(c *turn, v string) bool {
				// Another type has another checklist, and its outcome follows from it.
				if c.st.Answers[answerCheckedKind] != v {
					delete(c.st.Answers, stepIntakeChecks)
					delete(c.st.Answers, stepIntakeOutcome)
					delete(c.st.Answers, answerCheckedKind)
				}
				return false
			},
		},
		{
			name: stepIntakeQuantity, kind: kindChoice, columns: 4, needed: takesStock,
			label: "intake.quantity.label", prompt: "intake.quantity.prompt", help: "intake.quantity.help",
			promptData: func(c *turn) map[string]any {
				return map[string]any{"Kind": c.kindName(intakeKindOf(c.st.Answers)), "Max": c.count(stockQuantityMax)}
			},
			options: func(c *turn) []option {
				quick := []int{1, 10, 50, 100}
				if p, ok := (intakeTurn{c}).promised(intakeKindOf(c.st.Answers)); ok && !slices.Contains(quick, p.quantity) {
					quick = append([]int{p.quantity}, quick...)
				}
				var opts []option
				for _, n := range quick {
					opts = append(opts, option{value: strconv.Itoa(n), label: "intake.quantity.button", data: map[string]any{"N": n}})
				}
				return opts
			},
			parse: countParser(stockQuantityMax, "intake.err.quantity_format", "intake.err.quantity_range"),
		},
		{
			name: stepIntakeMonths, kind: kindChoice, columns: 4,
			label: "intake.months.label", prompt: "intake.months.prompt", help: "intake.months.help",
			needed: func(a map[string]string) bool { return intakeKindOf(a) == campaign.ItemInternetPackage },
			options: func(c *turn) []option {
				quick := []int{1, 3, 6, 12}
				if p, ok := (intakeTurn{c}).promised(campaign.ItemInternetPackage); ok && p.months > 0 && !slices.Contains(quick, p.months) {
					quick = append([]int{p.months}, quick...)
				}
				var opts []option
				for _, n := range quick {
					opts = append(opts, option{value: strconv.Itoa(n), label: "intake.months.button", data: map[string]any{"Count": n}})
				}
				return opts
			},
			parse: countParser(monthsMax, "intake.err.months_format", "intake.err.months_range"),
		},
	}
}

// intakeDeviceFields ask, for a device, which one it is: brand and model, its serial or IMEI
// (skipped when there is none to read), and whether it is new or used, for the device's record.
func intakeDeviceFields() []*field {
	return []*field{
		{
			name: stepIntakeBrand, kind: kindText, needed: takesDevice,
			label: "intake.brand.label", prompt: "intake.brand.prompt", help: "intake.brand.help",
			promptData: func(c *turn) map[string]any { return map[string]any{"Kind": c.kindName(intakeKindOf(c.st.Answers))} },
			parse:      func(_ *turn, s string) (string, error) { return parseFreeText(s, brandMin, brandMax) },
		},
		{
			name: stepIntakeSerial, kind: kindChoice, columns: 1, needed: takesDevice,
			label: "intake.serial.label", prompt: "intake.serial.prompt", help: "intake.serial.help",
			options: func(*turn) []option {
				return []option{{value: intakeSkip, label: "intake.serial.skip", words: "intake.serial.skip_words"}}
			},
			parse: func(c *turn, s string) (string, error) {
				if _, ok := c.matchOption([]option{{value: intakeSkip, label: "intake.serial.skip", words: "intake.serial.skip_words"}}, s); ok {
					return intakeSkip, nil
				}
				return parseSerial(s)
			},
			display: skipShown("intake.serial.none"),
		},
		{
			name: stepIntakeCondition, kind: kindChoice, columns: 2, needed: takesDevice,
			label: "intake.condition.label", prompt: "intake.condition.prompt", help: "intake.condition.help",
			options: func(*turn) []option {
				return []option{
					{value: condNew, label: "intake.condition.new", words: "intake.condition.new_words"},
					{value: condUsed, label: "intake.condition.used", words: "intake.condition.used_words"},
				}
			},
			display: func(c *turn, v string) string {
				if v == condUsed {
					return withoutSymbols(c.t("intake.condition.used"))
				}
				return withoutSymbols(c.t("intake.condition.new"))
			},
		},
	}
}

// intakeCheckFields ask how the device was checked: the points of its type's checklist that
// passed, whether it was wiped and cleaned, and the parts added. The checklist proposes the
// outcome, so answering it again forgets the outcome; a device found not wiped cannot stay ready.
func intakeCheckFields() []*field {
	return []*field{
		{
			name: stepIntakeChecks, kind: kindMulti, columns: 2, needed: takesDevice,
			label: "intake.checks.label", prompt: "intake.checks.prompt", help: "intake.checks.help",
			promptData: func(c *turn) map[string]any { return map[string]any{"Kind": c.kindName(intakeKindOf(c.st.Answers))} },
			options: func(c *turn) []option {
				var opts []option
				for _, it := range campaign.Checklist(campaign.DeviceType(intakeKindOf(c.st.Answers))) {
					opts = append(opts, option{value: string(it), label: checkLabels[it]})
				}
				return opts
			},
			display: func(c *turn, v string) string {
				if v == intakeSkip {
					return c.t("intake.checks.none")
				}
				return regTurn{c}.listLabels(v, func(s string) string { return checkLabels[campaign.CheckItem(s)] })
			},
			accepted: func(c *turn, v string) bool {
				if v == "" {
					c.st.Answers[stepIntakeChecks] = intakeSkip // nothing passed is an answer too
				}
				c.st.Answers[answerCheckedKind] = c.st.Answers[stepIntakeKind]
				delete(c.st.Answers, stepIntakeOutcome) // proposed anew from the checklist
				return false
			},
		},
		{
			name: stepIntakeWiped, kind: kindChoice, columns: 2, needed: takesDevice, options: intakeYesNo, display: showIntakeYesNo,
			label: "intake.wiped.label", prompt: "intake.wiped.prompt", help: "intake.wiped.help",
			accepted: func(c *turn, v string) bool {
				if v == intakeNo && c.st.Answers[stepIntakeOutcome] == string(campaign.DeviceReady) {
					delete(c.st.Answers, stepIntakeOutcome)
					c.lead = c.t("intake.outcome.reask_wipe")
				}
				return false
			},
		},
		{
			name: stepIntakeCleaned, kind: kindChoice, columns: 2, needed: takesDevice, options: intakeYesNo, display: showIntakeYesNo,
			label: "intake.cleaned.label", prompt: "intake.cleaned.prompt", help: "intake.cleaned.help",
		},
		{
			name: stepIntakeParts, kind: kindChoice, columns: 1, needed: takesDevice,
			label: "intake.parts.label", prompt: "intake.parts.prompt", help: "intake.parts.help",
			options: func(*turn) []option {
				return []option{{value: intakeSkip, label: "intake.parts.none", words: "intake.parts.none_words"}}
			},
			parse: func(c *turn, s string) (string, error) {
				if _, ok := c.matchOption([]option{{value: intakeSkip, label: "intake.parts.none", words: "intake.parts.none_words"}}, s); ok {
					return intakeSkip, nil
				}
				return parseFreeText(s, partsMin, partsMax)
			},
			display: skipShown("intake.parts.none"),
		},
	}
}

// intakeSoftwareFields ask which school level's learning software was installed on the device,
// or none; the campaign's list of that level's apps is shown, so the volunteer can check it.
func intakeSoftwareFields() []*field {
	return []*field{{
		name: stepIntakeSoftware, kind: kindChoice, columns: 1, needed: takesDevice,
		label: "intake.software.label", prompt: "intake.software.prompt", help: "intake.software.help",
		options: func(*turn) []option {
			var opts []option
			for _, l := range campaign.SchoolLevels {
				opts = append(opts, option{value: string(l), label: levelLabels[l][0], words: levelLabels[l][1]})
			}
			return append(opts, option{value: softwareNone, label: "intake.software.none", words: "intake.software.none_words"})
		},
		display: func(c *turn, v string) string {
			if v == softwareNone {
				return withoutSymbols(c.t("intake.software.none"))
			}
			return c.t("intake.software.shown", "Level", c.t(levelLabels[campaign.SchoolLevel(v)][0]), "Apps", intakeTurn{c}.apps(campaign.SchoolLevel(v)))
		},
		accepted: func(c *turn, v string) bool {
			if v != softwareNone {
				c.lead = c.t("intake.software.installed", "Level", c.t(levelLabels[campaign.SchoolLevel(v)][0]), "Apps", intakeTurn{c}.apps(campaign.SchoolLevel(v)))
			}
			return false
		},
	}}
}

// intakeOutcomeFields ask the device's state after the check: ready, needs parts or unusable,
// the one the checklist proposes marked. Ready means a student can be given it, so a device not
// wiped is refused it, and the question of form f is asked again with the reason.
func intakeOutcomeFields(f *form) []*field {
	return []*field{{
		name: stepIntakeOutcome, kind: kindChoice, columns: 1, needed: takesDevice,
		label: "intake.outcome.label", prompt: "intake.outcome.prompt", help: "intake.outcome.help",
		promptData: func(c *turn) map[string]any {
			warn := ""
			if c.st.Answers[stepIntakeWiped] != intakeYes {
				warn = "\n" + c.t("intake.outcome.wipe_warning")
			}
			return map[string]any{"Proposed": intakeTurn{c}.outcomeName(intakeTurn{c}.proposedOutcome()), "Warn": warn}
		},
		options: func(c *turn) []option {
			proposed := intakeTurn{c}.proposedOutcome()
			var opts []option
			for _, s := range outcomes {
				mark := ""
				if s == proposed {
					mark = "👉 "
				}
				opts = append(opts, option{value: string(s), label: outcomeLabels[s], data: map[string]any{"Mark": mark}})
			}
			return opts
		},
		display: func(c *turn, v string) string { return intakeTurn{c}.outcomeName(campaign.DeviceState(v)) },
		accepted: func(c *turn, v string) bool {
			if v != string(campaign.DeviceReady) || c.st.Answers[stepIntakeWiped] == intakeYes {
				return false
			}
			// Ready means a student can be given it: another family's data must be gone.
			delete(c.st.Answers, stepIntakeOutcome)
			c.st.Misses++
			c.notice = ""
			c.ask(f, f.field(stepIntakeOutcome), c.t("intake.err.ready_not_wiped"), false)
			return true
		},
	}}
}

// parseSerial checks a serial number or IMEI: 3-40 letters, digits, spaces and . / -, kept in
// upper case.
func parseSerial(s string) (string, error) {
	if len(s) > 200 {
		return "", refuse("intake.err.serial_format")
	}
	v := strings.ToUpper(cleanText(s))
	if v == "" {
		return "", refuse("common.need_text")
	}
	if !serialTyped.MatchString(v) {
		return "", refuse("intake.err.serial_format")
	}
	return v, nil
}

// parsePledgeCode reads a typed pledge code, in any case, and writes it as the store does.
func parsePledgeCode(s string) (string, bool) { return parseCode("PL", s) }

// parseDeviceLabel reads a typed device label, in any case, and writes it as the store does.
func parseDeviceLabel(s string) (string, bool) { return parseCode("TB", s) }

// lookupPledge finds the pledge a typed code names. An unknown or mistyped code is a refusal
// (an *invalid); any other error is a store failure.
func (c intakeTurn) lookupPledge(s string) (campaign.Pledge, error) {
	code, ok := parsePledgeCode(s)
	if !ok {
		return campaign.Pledge{}, refuse("intake.err.code_format", "Query", clip(s, 30))
	}
	if c.e.cfg.Pledges == nil {
		return campaign.Pledge{}, refuse("intake.err.code_unknown", "Code", code)
	}
	p, err := c.e.cfg.Pledges.PledgeByCode(c.ctx, code)
	switch campaign.ErrorCode(err) {
	case "":
		return p, nil
	case campaign.ENOTFOUND:
		return campaign.Pledge{}, refuse("intake.err.code_unknown", "Code", code)
	}
	return campaign.Pledge{}, fmt.Errorf("look up pledge %s: %w", code, err)
}

// pledgeSource checks that things can be taken in against pledge p, keeps what it promised and
// shows it before the next question.
func (c intakeTurn) pledgeSource(p campaign.Pledge) error {
	if p.Status == campaign.PledgeCancelled {
		return refuse("intake.err.pledge_cancelled", "Code", p.Code)
	}
	var parts []string
	for _, k := range campaign.ItemKinds {
		if k == campaign.ItemMoney {
			continue
		}
		quantity, months := 0, 0
		for _, it := range p.Items {
			if it.Kind == k {
				quantity += it.Quantity
				months = max(months, it.Months)
			}
		}
		if quantity > 0 {
			parts = append(parts, string(k)+"="+strconv.Itoa(quantity)+"="+strconv.Itoa(months))
		}
	}
	if len(parts) == 0 {
		return refuse("intake.err.pledge_money_only", "Code", p.Code)
	}
	c.st.Answers[answerPromised] = strings.Join(parts, ",")
	var lines []string
	for i, it := range p.Items {
		if i == maxPledgeItems {
			break
		}
		lines = append(lines, "• "+pledgeTurn(c).itemText(it))
	}
	name := clip(p.DonorName, 60)
	if name == "" {
		name = "—"
	}
	c.lead = c.t("intake.source.found", "Code", p.Code, "Donor", name, "Items", strings.Join(lines, "\n"))
	return nil
}

// promise is what a pledge promised of one kind.
type promise struct {
	kind             campaign.ItemKind
	quantity, months int
}

// promises reads answerPromised.
func (c intakeTurn) promises() []promise {
	var out []promise
	for _, part := range strings.Split(c.st.Answers[answerPromised], ",") {
		f := strings.Split(part, "=")
		if len(f) != 3 {
			continue
		}
		q, err1 := strconv.Atoi(f[1])
		m, err2 := strconv.Atoi(f[2])
		if err1 == nil && err2 == nil {
			out = append(out, promise{kind: campaign.ItemKind(f[0]), quantity: q, months: m})
		}
	}
	return out
}

func (c intakeTurn) promised(k campaign.ItemKind) (promise, bool) {
	for _, p := range c.promises() {
		if p.kind == k {
			return p, true
		}
	}
	return promise{}, false
}

// intakeKinds are the kinds that can be taken in: what the pledge promised, or any but money.
func (c intakeTurn) intakeKinds() []campaign.ItemKind {
	var kinds []campaign.ItemKind
	if src := c.st.Answers[stepIntakeSource]; src != "" && src != sourceWalkIn {
		for _, p := range c.promises() {
			kinds = append(kinds, p.kind)
		}
		if len(kinds) > 0 {
			return kinds
		}
	}
	for _, k := range campaign.ItemKinds {
		if k != campaign.ItemMoney {
			kinds = append(kinds, k)
		}
	}
	return kinds
}

// passedChecks is the checklist as answered.
func (c intakeTurn) passedChecks() map[campaign.CheckItem]bool {
	passed := map[campaign.CheckItem]bool{}
	for _, s := range strings.Split(c.st.Answers[stepIntakeChecks], ",") {
		if s != "" && s != intakeSkip {
			passed[campaign.CheckItem(s)] = true
		}
	}
	return passed
}

func (c intakeTurn) proposedOutcome() campaign.DeviceState {
	return campaign.CheckOutcome(campaign.DeviceType(c.st.Answers[stepIntakeKind]), c.passedChecks())
}

func (c intakeTurn) outcomeName(s campaign.DeviceState) string {
	return withoutSymbols(c.t(outcomeLabels[s], "Mark", ""))
}

func (c intakeTurn) stateName(s campaign.DeviceState) string {
	if id, ok := intakeStateNames[s]; ok {
		return c.t(id)
	}
	return string(s)
}

// apps lists the learning software of a school level, from the campaign.
func (c intakeTurn) apps(l campaign.SchoolLevel) string {
	list := c.e.cfg.Campaign.Software[l]
	if len(list) == 0 {
		return c.t("intake.software.no_list")
	}
	return strings.Join(list, ", ")
}

// startIntake is /intake [code]: a new intake, from a pledge when a code is given (or source is
// sourceWalkIn), or an offer to go on with the form in progress.
func (c intakeTurn) startIntake(source string) error {
	if c.devicesOff() {
		return nil
	}
	if _, ok, err := c.authorize(campaign.ActionIntake, ""); !ok {
		return err
	}
	if c.offerFormInProgress(FlowIntake) {
		return nil
	}
	f := c.e.formNamed(FlowIntake)
	c.openForm(f)
	switch source {
	case "":
	case sourceWalkIn:
		c.st.Answers[stepIntakeSource] = sourceWalkIn
	default:
		p, err := c.lookupPledge(source)
		if err == nil {
			err = c.pledgeSource(p)
		}
		var inv *invalid
		switch {
		case errors.As(err, &inv):
			c.lead = c.reason(err)
			c.st.Misses++
		case err != nil:
			return err
		default:
			c.st.Answers[stepIntakeSource] = p.Code
		}
	}
	misses := c.st.Misses
	err := c.advance(c.e.formNamed(FlowIntake))
	c.st.Misses = misses
	return err
}

// intakeAfter runs the buttons under a saved intake: another device or batch from the same
// source, or done.
func (c intakeTurn) intakeAfter(rest string) error {
	action, source, _ := strings.Cut(rest, ":")
	switch action {
	case "next":
		if source == "" {
			source = sourceWalkIn
		}
		return c.startIntake(source)
	case "done":
		c.say(c.t("intake.finished"))
		c.resume("")
		return nil
	}
	c.stale()
	return nil
}

// submitIntake saves the reviewed intake: a device with its check, or counted stock.
func (c intakeTurn) submitIntake(f *form) error {
	if f.firstMissing(c.st.Answers) != nil {
		return c.advance(f)
	}
	a := c.st.Answers
	kind := campaign.ItemKind(a[stepIntakeKind])
	if kind.IsDevice() && a[stepIntakeOutcome] == string(campaign.DeviceReady) && a[stepIntakeWiped] != intakeYes {
		delete(a, stepIntakeOutcome) // a state from another version
		return c.advance(f)
	}
	by, ok, err := c.authorize(campaign.ActionIntake, "")
	if !ok {
		return err
	}
	// The pledge is read before the store is written: once it is written, nothing may fail.
	var donor *campaign.Pledge
	code := a[stepIntakeSource]
	if code == sourceWalkIn {
		code = ""
	} else {
		p, err := c.lookupPledge(code)
		var inv *invalid
		if errors.As(err, &inv) {
			delete(a, stepIntakeSource)
			c.lead = c.reason(err)
			return c.advance(f)
		}
		if err != nil {
			return err
		}
		donor = &p
	}
	source := code
	if source == "" {
		source = sourceWalkIn
	}
	// One key per form: a device or a batch of stock. "Next device" starts a form with a new key.
	key := c.formKey()
	var saved string
	quantity, months := 1, 0
	if !kind.IsDevice() {
		quantity, _ = strconv.Atoi(a[stepIntakeQuantity])
		months, _ = strconv.Atoi(a[stepIntakeMonths])
	}
	var news []campaign.OutboxMessage
	if donor != nil {
		news = c.donorNews(*donor, c.noticeKey(key, "received:"+donor.Code), "intake.donor.received", func(lang string) string {
			return c.receivedText(lang, kind, quantity, months)
		})
	}
	if kind.IsDevice() {
		d := c.intakeDevice(code, by)
		d.IdempotencyKey = key
		err := c.e.cfg.Devices.IntakeDevice(c.ctx, &d, by, news)
		if campaign.ErrorCode(err) == campaign.EINVALID {
			c.st.Misses = 0
			c.showReview(f, c.t("intake.err.refused", "Code", codeOrWalkIn(c.turn, code), "Kind", c.kindName(kind)))
			return nil
		}
		if err != nil {
			return fmt.Errorf("intake device: %w", err)
		}
		saved = c.t("intake.saved", "Label", d.Label, "Kind", c.kindName(kind), "State", c.stateName(d.State))
	} else {
		err := c.e.cfg.Devices.ReceiveStock(c.ctx, code, kind, quantity, months, key, by, news)
		if campaign.ErrorCode(err) == campaign.EINVALID {
			c.st.Misses = 0
			c.showReview(f, c.t("intake.err.refused", "Code", codeOrWalkIn(c.turn, code), "Kind", c.kindName(kind)))
			return nil
		}
		if err != nil {
			return fmt.Errorf("receive stock: %w", err)
		}
		saved = c.t("intake.stock_saved", "What", c.receivedText(c.lang, kind, quantity, months), "Source", codeOrWalkIn(c.turn, code))
	}
	c.toIdle()
	next := c.t("intake.btn_next_walkin")
	if code != "" {
		next = c.t("intake.btn_next")
	}
	var rows [][]Button
	if d := intakeAfterPrefix + ":next:" + source; len(d) <= maxData {
		rows = append(rows, []Button{{Text: next, Data: d}})
	}
	rows = append(rows, []Button{{Text: c.t("intake.btn_done"), Data: intakeAfterPrefix + ":done"}})
	c.out = append(c.out, Output{Text: saved, Buttons: rows})
	c.noticesQueued()
	return nil
}

func codeOrWalkIn(c *turn, code string) string {
	if code == "" {
		return withoutSymbols(c.t("intake.source.walkin"))
	}
	return code
}

// intakeDevice builds the device taken in from the answers. The first word of the brand and
// model is the brand.
func (c intakeTurn) intakeDevice(code string, by campaign.Staff) campaign.Device {
	a := c.st.Answers
	brand, model, _ := strings.Cut(campaign.NormalizeText(a[stepIntakeBrand]), " ")
	d := campaign.Device{
		Type:       campaign.DeviceType(a[stepIntakeKind]),
		State:      campaign.DeviceState(a[stepIntakeOutcome]),
		PledgeCode: code,
		Brand:      brand,
		Model:      model,
		Used:       a[stepIntakeCondition] == condUsed,
		Checks:     map[campaign.CheckItem]bool{},
		Wiped:      a[stepIntakeWiped] == intakeYes,
		Cleaned:    a[stepIntakeCleaned] == intakeYes,
		CheckedBy:  by.Channel + ":" + by.ExternalID,
	}
	if s := a[stepIntakeSerial]; s != intakeSkip {
		d.Serial = s
	}
	if p := a[stepIntakeParts]; p != intakeSkip {
		d.PartsAdded = campaign.NormalizeText(p)
	}
	if l := a[stepIntakeSoftware]; l != softwareNone {
		d.SoftwareLevel = campaign.SchoolLevel(l)
	}
	passed := c.passedChecks()
	for _, it := range campaign.Checklist(d.Type) {
		d.Checks[it] = passed[it]
	}
	return d
}

// receivedText is what was received, counted, in lang: "1 laptop", "100 internet packages of 6 months".
func (c intakeTurn) receivedText(lang string, k campaign.ItemKind, quantity, months int) string {
	id, ok := kindNouns[k]
	if !ok {
		return string(k)
	}
	return c.e.text(lang, id, map[string]any{"Count": quantity, "Months": months})
}

// donorNews is the notice that tells the donor of p, in their chat (on their channel) and
// language, message id with What, queued under key with what was received.
func (c intakeTurn) donorNews(p campaign.Pledge, key, id string, what func(lang string) string) []campaign.OutboxMessage {
	lang := p.Language
	if lang != langEN {
		lang = langVI
	}
	return notice(key, campaign.Session{Channel: p.Channel, ChatID: p.ChatID},
		Output{Text: c.e.text(lang, id, map[string]any{"Code": p.Code, "What": what(lang)})})
}

// myIntake is /myintake: the devices the sender took in, newest first.
func (c intakeTurn) myIntake() error {
	if c.devicesOff() {
		return nil
	}
	by, ok, err := c.authorize(campaign.ActionIntake, "")
	if !ok {
		return err
	}
	list, err := c.e.cfg.Devices.DevicesCheckedBy(c.ctx, by, myIntakeShown)
	if err != nil {
		return fmt.Errorf("devices checked by: %w", err)
	}
	if len(list) == 0 {
		c.say(c.t("intake.mine.none"))
		c.resume("")
		return nil
	}
	list = list[:min(len(list), myIntakeShown)]
	lines := []string{c.t("intake.mine.title", "Count", len(list))}
	for _, d := range list {
		lines = append(lines, c.t("intake.mine.line", "Label", d.Label, "Kind", c.kindName(campaign.ItemKind(d.Type)),
			"State", c.stateName(d.State), "Date", d.CreatedAt.In(c.e.cfg.Campaign.Location).Format(dateShownAs)))
	}
	c.say(strings.Join(lines, "\n"))
	c.resume("")
	return nil
}
