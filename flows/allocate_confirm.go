// allocate_confirm.go holds the confirmation of a proposal, line by line or city-scale: the
// allocations made through CaseStore.ConfirmAllocations, the reply that says what was made and
// how the families were told, and each family's message. It also holds how a device, a school
// level and a ward are named in a language, which deliver.go and mydata.go use too.

package flows

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/thuduc/maytinhchoem/campaign"
)

// allocConfirm makes the ticked allocations real, reports what was made and what had changed,
// and asks each family where to receive the device. A store error is returned with the state
// (and its idempotency key) kept, so pressing again writes once.
func (c allocTurn) allocConfirm(lines []allocLine, who campaign.Staff) error {
	sel := c.allocSelected(len(lines))
	var picked []campaign.Allocation
	for i, l := range lines {
		if sel[i] {
			picked = append(picked, l.alloc)
		}
	}
	if len(picked) == 0 {
		c.allocShow(c.t("alloc.none_selected"), false)
		return nil
	}
	made, stale, ok, err := c.confirmPicked(picked, who)
	if !ok {
		return err
	}
	c.toIdle()
	var parts []string
	if len(made) > 0 {
		list := []string{c.t("alloc.done", "Count", len(made))}
		for _, d := range made {
			list = append(list, c.t("alloc.done_line", "Reg", d.RegistrationCode, "What",
				c.e.allocWhat(c.lang, d.DeviceLabel, d.DeviceType, d.Stock), "Code", d.Code))
		}
		parts = append(parts, strings.Join(list, "\n"))
	}
	if len(stale) > 0 {
		parts = append(parts, c.t("alloc.stale_items", "Count", len(stale), "Codes", strings.Join(stale, ", ")))
	}
	if len(made) == 0 && len(stale) == 0 {
		parts = append(parts, c.t("alloc.none_made"))
	}
	parts = append(parts, c.reachLines(made, "alloc.parents_told")...)
	c.say(paragraphs(parts...))
	return nil
}

// allocParentMessage tells a family, in lang, that their child was allocated a device
// and asks where to receive it.
func (c allocTurn) allocParentMessage(d campaign.Delivery, lang string) Output {
	o := Output{Text: c.e.text(lang, "parent.allocated", map[string]any{
		"Campaign": c.e.cfg.Campaign.Name.In(lang), "Reg": d.RegistrationCode,
		"What": c.e.allocWhat(lang, "", d.DeviceType, d.Stock), "Code": d.Code,
	})}
	home, school := parentData(parentHome, d.Code), parentData(parentSchool, d.Code)
	if len(home) <= maxData && len(school) <= maxData {
		o.Buttons = [][]Button{{
			{Text: c.e.text(lang, "parent.btn_home", nil), Data: home},
			{Text: c.e.text(lang, "parent.btn_school", nil), Data: school},
		}}
	}
	return o
}

// confirmPicked confirms picked under the proposal's key, each parent told by their own notice
// queued with their delivery. ok is false when there is nothing more to say: another official
// confirmed first (said here) or err is set.
func (c allocTurn) confirmPicked(picked []campaign.Allocation, who campaign.Staff) (made []campaign.Delivery, stale []string, ok bool, err error) {
	made, stale, err = c.e.cfg.Cases.ConfirmAllocations(c.ctx, picked, c.formKey(), who, func(d campaign.Delivery) []campaign.OutboxMessage {
		return c.e.familyNotice(c.noticeKey(c.formKey(), "allocated:"+d.Code), d.RegistrationCode, d.Parent, d.ParentLanguage,
			d.Registrar, "claim.staff.hint_handover", func(lang string) Output { return c.allocParentMessage(d, lang) })
	})
	switch campaign.ErrorCode(err) {
	case "":
		c.noticesQueued()
		return made, stale, true, nil
	case campaign.ECONFLICT:
		c.toIdle()
		c.say(c.t("alloc.conflict"))
		return nil, nil, false, nil
	}
	return nil, nil, false, fmt.Errorf("confirm allocations: %w", err)
}

// reachLines says how the families of new deliveries were told, a line per way that reached any:
// in their own chat (toldID, with the count), through the staff who registered them, through
// staff standing in for them, or not at all.
func (c allocTurn) reachLines(made []campaign.Delivery, toldID string) []string {
	n := c.e.reachCounts(made)
	var lines []string
	for _, l := range []struct {
		id    string
		count int
	}{{toldID, n.told}, {"alloc.parents_via_staff", n.viaStaff}, {"alloc.parents_via_stand_ins", n.viaStandIns}, {"alloc.parents_not_told", n.notTold}} {
		if l.count > 0 {
			lines = append(lines, c.t(l.id, "Count", l.count))
		}
	}
	return lines
}

// allocCityConfirm makes the ticked lines among idx real, reports what was made and what had
// changed, keeps the rest of the proposal numbered afresh under a new key, and shows what is left:
// the first page of the view after a page, the summary after a whole view. A store error is
// returned with the state (and its key) kept, so pressing again finishes the work and makes
// nothing twice.
func (c allocTurn) allocCityConfirm(p cityProposal, idx []int, scope string, page bool, who campaign.Staff) error {
	var picked []campaign.Allocation
	for _, i := range idx {
		if !p.off[i] {
			picked = append(picked, p.lines[i].alloc())
		}
	}
	if len(picked) == 0 {
		c.st.Step = allocStepList
		c.allocCityAsk(c.t("alloc.city_none_ticked"))
		return nil
	}
	made, stale, ok, err := c.confirmPicked(picked, who)
	if !ok {
		return err
	}
	gone := map[string]bool{}
	for _, d := range made {
		gone[d.RegistrationCode] = true
	}
	for _, code := range stale {
		gone[code] = true
	}
	var left cityProposal
	for i, l := range p.lines {
		if !gone[l.code] {
			left.lines = append(left.lines, l)
			left.off = append(left.off, p.off[i])
		}
	}
	total, _ := strconv.Atoi(c.st.Answers[allocAnswerMade])
	total += len(made)
	report := c.allocCityReport(made, stale)
	c.notice = c.t("alloc.notice_made", "Count", len(made))
	if len(left.lines) == 0 {
		c.toIdle()
		c.say(paragraphs(report, c.t("alloc.city_finished", "Count", total)))
		return nil
	}
	c.st.IdempotencyKey = c.e.cfg.NewKey()
	c.st.Step, c.st.Page = allocStepList, 0
	c.st.Answers[allocAnswerMade] = strconv.Itoa(total)
	c.allocTakeSupply(made)
	c.setCity(left)
	c.say(report)
	if page && left.ticked(left.in(scope)) > 0 {
		c.st.Answers[allocAnswerView] = scope
		return c.allocCityPage("", false)
	}
	c.st.Answers[allocAnswerView] = ""
	c.allocCitySummary("", false)
	return nil
}

// allocTakeSupply takes what made took out of the ready devices and stock the summary counts.
func (c allocTurn) allocTakeSupply(made []campaign.Delivery) {
	ready, _ := strconv.Atoi(c.st.Answers[allocAnswerReady])
	stock := map[campaign.StockKind]int{}
	keys, counts := allocCounts(c.st.Answers[allocAnswerStock])
	for i, k := range keys {
		stock[campaign.StockKind(k)] = counts[i]
	}
	for _, d := range made {
		if d.DeviceLabel != "" {
			ready--
		}
		for _, k := range d.Stock {
			stock[k]--
		}
	}
	c.st.Answers[allocAnswerReady] = strconv.Itoa(max(ready, 0))
	c.st.Answers[allocAnswerStock] = allocCountStock(stock)
}

// allocCityReport counts what a confirmation made (with the range of its deliveries' codes), the
// families who will be told and those who cannot be, and names the first stale lines.
func (c allocTurn) allocCityReport(made []campaign.Delivery, stale []string) string {
	var parts []string
	if len(made) > 0 {
		codes := made[0].Code
		if len(made) > 1 {
			codes += " … " + made[len(made)-1].Code
		}
		lines := append([]string{c.t("alloc.city_done", "Count", len(made), "Codes", codes)}, c.reachLines(made, "alloc.city_parents")...)
		parts = append(parts, strings.Join(lines, "\n"))
	}
	if len(stale) > 0 {
		codes := strings.Join(stale[:min(len(stale), allocStaleListed)], ", ")
		if len(stale) > allocStaleListed {
			codes += " " + c.t("alloc.more_codes", "Count", len(stale)-allocStaleListed)
		}
		parts = append(parts, c.t("alloc.stale_items", "Count", len(stale), "Codes", codes))
	}
	if len(parts) == 0 {
		parts = append(parts, c.t("alloc.none_made"))
	}
	return paragraphs(parts...)
}

// allocWhat is a device with its label and the stock added, "TB-000003 (Laptop) + SIM 4G", in
// lang; the label is left out when "".
func (e *Engine) allocWhat(lang, label string, t campaign.DeviceType, stock []campaign.StockKind) string {
	var parts []string
	if t != "" {
		name := e.allocKindName(lang, campaign.ItemKind(t))
		if label != "" {
			name = e.text(lang, "alloc.device", map[string]any{"Label": label, "Type": name})
		}
		parts = append(parts, name)
	}
	for _, k := range stock {
		parts = append(parts, e.allocKindName(lang, campaign.ItemKind(k)))
	}
	return strings.Join(parts, " + ")
}

// allocKindName is an item kind's name in lang without its emoji.
func (e *Engine) allocKindName(lang string, k campaign.ItemKind) string {
	l, ok := itemKindLabels[k]
	if !ok {
		return string(k)
	}
	return withoutSymbols(e.text(lang, l[0], nil))
}

// allocLevelName is a school level in a few words ("THCS", "lower secondary").
func (e *Engine) allocLevelName(lang string, l campaign.SchoolLevel) string {
	if id, ok := levelWords[l]; ok {
		return e.text(lang, id, nil)
	}
	return e.text(lang, "pledge.level.unknown", nil)
}

// allocLevelGrade is a school level and grade ("THCS lớp 7"); the level alone when the grade is
// not known.
func (e *Engine) allocLevelGrade(lang string, l campaign.SchoolLevel, grade int) string {
	if grade <= 0 {
		return e.allocLevelName(lang, l)
	}
	return e.text(lang, "alloc.level_grade", map[string]any{"Level": e.allocLevelName(lang, l), "Grade": grade})
}

// allocWardName is a ward's name in lang; an unknown code is shown as it is.
func (e *Engine) allocWardName(lang, code string) string {
	if w, ok := e.cfg.Campaign.Ward(code); ok {
		return w.DisplayName(lang)
	}
	if code == "" {
		return "—"
	}
	return code
}
