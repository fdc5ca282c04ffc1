package flows

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/thuduc/maytinhchoem/campaign"
)

func init() {
	registerFlow(flowSpec{
		name: FlowMoney,
		commands: []flowCommand{
			{name: "money", run: fn1(moneyTurn.moneyCommand),
				staff: &staffLine{group: "staff.help.group.devices", rank: 170, text: "staff.help.money", may: mayMoney}},
			{name: "buy", run: fn1(moneyTurn.buyCommand),
				staff: &staffLine{group: "staff.help.group.devices", rank: 180, text: "staff.help.buy", may: mayMoney}},
		},
		setup: func(e *Engine) error {
			if e.cfg.Money == nil {
				return nil
			}
			return e.addForm(moneyForm())
		},
	})
}

// FlowMoney is the State.Flow of a city official recording money received against a pledge.
const FlowMoney = "money"

// Steps of the money form; each is also the answer's key.
const (
	stepMoneyCode   = "code"
	stepMoneyAmount = "amount"
	stepMoneyNote   = "note" // or intakeSkip
)

// Limits of money records and purchases.
const (
	moneyNoteMax = 200
	// buyQuantityMax keeps the labels of one purchase in one short message.
	buyQuantityMax = 50
)

// moneyForm is the form behind /money <code> <amount> [note]: what the command did not say, or
// said wrongly, is asked; a review confirms the sum before it is recorded.
func moneyForm() *form {
	f := &form{
		name:        FlowMoney,
		prefix:      "m",
		reviewLabel: "intake.money.review_label",
		reviewTitle: "intake.money.review_title",
		reviewHint:  "intake.money.review_hint",
		reviewHelp:  "intake.money.review_help",
		submitLabel: "intake.money.submit",
		submit:      fn1(moneyTurn.submitMoney),
		cancelled:   "intake.cancelled",
	}
	skip := []option{{value: intakeSkip, label: "intake.money.note_skip", words: "intake.money.note_skip_words"}}
	f.fields = []*field{
		{
			name: stepMoneyCode, kind: kindText,
			label: "intake.money.code_label", prompt: "intake.money.code_prompt", help: "intake.money.code_help",
			parse: func(c *turn, s string) (string, error) {
				p, err := intakeTurn{c}.lookupPledge(s)
				if err != nil {
					return "", err
				}
				return p.Code, nil
			},
		},
		{
			name: stepMoneyAmount, kind: kindText,
			label: "intake.money.amount_label", prompt: "intake.money.amount_prompt", help: "intake.money.amount_help",
			parse: func(_ *turn, s string) (string, error) {
				n, err := parseMoney(s)
				if err != nil {
					return "", err
				}
				return strconv.FormatInt(n, 10), nil
			},
			display: func(_ *turn, v string) string { return formatAmount(v) },
		},
		{
			name: stepMoneyNote, kind: kindChoice, columns: 1,
			label: "intake.money.note_label", prompt: "intake.money.note_prompt", help: "intake.money.note_help",
			options: func(*turn) []option { return skip },
			parse: func(c *turn, s string) (string, error) {
				if _, ok := c.matchOption(skip, s); ok {
					return intakeSkip, nil
				}
				return parseFreeText(s, 2, moneyNoteMax)
			},
			display: func(c *turn, v string) string {
				if v == intakeSkip {
					return withoutSymbols(c.t("intake.money.note_skip"))
				}
				return v
			},
		},
	}
	return f
}

// parseMoney reads a sum of money with campaign.ParseVND, saying what is wrong with one it refuses.
func parseMoney(s string) (int64, error) {
	if len(s) > 64 {
		return 0, refuse("intake.err.money_format", "Query", clip(s, 30))
	}
	n, ok := campaign.ParseVND(cleanText(s))
	switch {
	case !ok:
		return 0, refuse("intake.err.money_format", "Query", clip(s, 30))
	case n < moneyMin:
		return 0, refuse("intake.err.money_small", "Amount", campaign.FormatVND(n))
	}
	return n, nil
}

// mayMoney is the staff line's may of /money and /buy: the money's store is configured and s may
// record money.
var mayMoney = staffMay(campaign.ActionRecordMoney, func(c Config) bool { return c.Money != nil })

// moneyTurn is a turn of the receipt of money (/money); its methods are the flow's own (see
// flowTurn).
type moneyTurn struct{ *turn }

// moneyOff says money is not recorded here (no store configured), and asks the current question
// again; it reports whether it did.
func (c moneyTurn) moneyOff() bool {
	if c.e.cfg.Money != nil {
		return false
	}
	c.say(c.t("intake.money.unavailable"))
	c.resume("")
	return true
}

// moneyCommand is /money: the totals alone, or /money <code> <amount> [note] to record money.
func (c moneyTurn) moneyCommand(args string) error {
	if c.moneyOff() {
		return nil
	}
	if _, ok, err := c.authorize(campaign.ActionRecordMoney, ""); !ok {
		return err
	}
	if args == "" {
		received, spent, err := c.e.cfg.Money.MoneyTotals(c.ctx)
		if err != nil {
			return fmt.Errorf("money totals: %w", err)
		}
		c.say(c.t("intake.money.totals", "Received", campaign.FormatVND(received), "Spent", campaign.FormatVND(spent),
			"Left", campaign.FormatVND(received-spent)))
		c.resume("")
		return nil
	}
	if c.offerFormInProgress(FlowMoney) {
		return nil
	}
	f := c.e.formNamed(FlowMoney)
	c.openForm(f)
	var reasons []string
	words := strings.Fields(args)
	p, err := intakeTurn(c).lookupPledge(words[0])
	var inv *invalid
	switch {
	case errors.As(err, &inv):
		reasons = append(reasons, c.reason(err))
	case err != nil:
		return err
	default:
		c.st.Answers[stepMoneyCode] = p.Code
	}
	rest := words[1:]
	if len(rest) > 0 {
		// The amount may be written in up to three words ("5,5 triệu đồng"); the rest is the note.
		parsed := false
		for n := min(3, len(rest)); n >= 1 && !parsed; n-- {
			amount, err := parseMoney(strings.Join(rest[:n], " "))
			if err != nil {
				continue
			}
			parsed = true
			c.st.Answers[stepMoneyAmount] = strconv.FormatInt(amount, 10)
			c.st.Answers[stepMoneyNote] = intakeSkip
			if note := strings.Join(rest[n:], " "); note != "" {
				v, err := parseFreeText(note, 2, moneyNoteMax)
				if err != nil {
					delete(c.st.Answers, stepMoneyNote)
					reasons = append(reasons, c.reason(err))
				} else {
					c.st.Answers[stepMoneyNote] = v
				}
			}
		}
		if !parsed {
			_, err := parseMoney(strings.Join(rest[:min(3, len(rest))], " "))
			reasons = append(reasons, c.reason(err))
		}
	}
	c.lead = strings.Join(reasons, "\n")
	err = c.advance(f)
	if len(reasons) > 0 {
		c.st.Misses = 1
	}
	return err
}

// submitMoney records the reviewed money and tells the donor.
func (c moneyTurn) submitMoney(f *form) error {
	if f.firstMissing(c.st.Answers) != nil {
		return c.advance(f)
	}
	by, ok, err := c.authorize(campaign.ActionRecordMoney, "")
	if !ok {
		return err
	}
	a := c.st.Answers
	amount, err := strconv.ParseInt(a[stepMoneyAmount], 10, 64)
	if err != nil || amount <= 0 {
		delete(a, stepMoneyAmount)
		return c.advance(f)
	}
	// The pledge is read before the store is written: once it is written, nothing may fail.
	p, err := intakeTurn(c).lookupPledge(a[stepMoneyCode])
	var inv *invalid
	if errors.As(err, &inv) {
		delete(a, stepMoneyCode)
		c.lead = c.reason(err)
		return c.advance(f)
	}
	if err != nil {
		return err
	}
	note := a[stepMoneyNote]
	if note == intakeSkip {
		note = ""
	}
	news := intakeTurn(c).donorNews(p, c.noticeKey(c.formKey(), "money:"+p.Code), "intake.donor.money", func(string) string { return campaign.FormatVND(amount) })
	rec, err := c.e.cfg.Money.RecordMoney(c.ctx, p.Code, amount, note, c.formKey(), by, news)
	if campaign.ErrorCode(err) == campaign.EINVALID {
		c.st.Misses = 0
		c.showReview(f, c.t("intake.money.refused", "Code", p.Code))
		return nil
	}
	if err != nil {
		return fmt.Errorf("record money: %w", err)
	}
	c.toIdle()
	c.noticesQueued()
	c.say(c.t("intake.money.recorded", "Amount", campaign.FormatVND(amount), "Code", p.Code, "ID", rec.ID))
	return nil
}

// buyCommand is /buy <money id> <type> <quantity> <total cost>: devices bought with money received,
// each entering the pipeline as received.
func (c moneyTurn) buyCommand(args string) error {
	if c.moneyOff() {
		return nil
	}
	by, ok, err := c.authorize(campaign.ActionRecordMoney, "")
	if !ok {
		return err
	}
	id, kind, quantity, cost, reason := c.parseBuy(args)
	if reason != "" {
		c.say(paragraphs(reason, c.t("intake.buy.usage")))
		c.resume("")
		return nil
	}
	devices := make([]campaign.Device, quantity)
	for i := range devices {
		devices[i] = campaign.Device{Type: campaign.DeviceType(kind), State: campaign.DeviceReceived, MoneyID: id}
	}
	// /buy has no form, so its key is the update's: the same update run again buys nothing more.
	got, err := c.e.cfg.Money.RecordPurchase(c.ctx, id, devices, cost, c.updateKey(), by)
	switch campaign.ErrorCode(err) {
	case "":
	case campaign.EINVALID:
		c.say(c.t("intake.buy.refused", "ID", id, "Cost", campaign.FormatVND(cost)))
		c.resume("")
		return nil
	case campaign.ENOTFOUND:
		c.say(c.t("intake.buy.unknown", "ID", id))
		c.resume("")
		return nil
	default:
		return fmt.Errorf("record purchase: %w", err)
	}
	var labels []string
	for _, d := range got {
		labels = append(labels, d.Label)
	}
	c.say(c.t("intake.buy.done", "What", intakeTurn(c).receivedText(c.lang, kind, quantity, 0), "ID", id,
		"Cost", campaign.FormatVND(cost), "Labels", strings.Join(labels, ", ")))
	c.resume("")
	return nil
}

// parseBuy reads "<money id> <type> <quantity> <total cost>": "3 laptop 2 10tr", "#3 máy tính bảng 5 12,5 triệu".
// reason says what is wrong, "" when nothing is.
func (c moneyTurn) parseBuy(args string) (id int64, kind campaign.ItemKind, quantity int, cost int64, reason string) {
	words := strings.Fields(args)
	if len(args) > 200 || len(words) < 4 {
		return 0, "", 0, 0, c.t("intake.buy.missing")
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(words[0], "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, "", 0, 0, c.t("intake.buy.bad_id", "Query", clip(words[0], 20))
	}
	// The quantity is the first number after the type, which may be several words.
	q := -1
	for i := 2; i < len(words)-1; i++ {
		if _, err := strconv.Atoi(words[i]); err == nil {
			q = i
			break
		}
	}
	if q < 0 {
		return 0, "", 0, 0, c.t("intake.buy.missing")
	}
	typed := strings.Join(words[1:q], " ")
	var opts []option
	for _, t := range campaign.DeviceTypes {
		k := campaign.ItemKind(t)
		opts = append(opts, option{value: string(k), label: itemKindLabels[k][0], words: itemKindLabels[k][1]})
	}
	o, ok := c.matchOption(opts, typed)
	if !ok {
		if _, isDevice := findOption(opts, strings.ToLower(typed)); !isDevice {
			return 0, "", 0, 0, c.t("intake.buy.bad_type", "Query", clip(typed, 30))
		}
		o = option{value: strings.ToLower(typed)}
	}
	n, err := parseCount(words[q], buyQuantityMax, "intake.err.quantity_format", "intake.err.quantity_range")
	if err != nil {
		return 0, "", 0, 0, c.reason(err)
	}
	amount, err := parseMoney(strings.Join(words[q+1:], " "))
	if err != nil {
		return 0, "", 0, 0, c.reason(err)
	}
	return id, campaign.ItemKind(o.value), n, amount, ""
}
