package flows

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/thuduc/maytinhchoem/campaign"
)

func init() {
	registerFlow(flowSpec{
		name:     "allocate",
		commands: []flowCommand{{name: "allocate", run: fn1(allocTurn.allocateCommand)}},
		buttons:  []flowButton{{prefix: allocPrefix, run: fn1(allocTurn.allocChoice)}},
		steps:    []stepOwner{{owner: allocPrefix, step: allocStep}},
	})
}

// allocPrefix starts the button data of /allocate's buttons: "a:t:<tag>:<n>" ticks or unticks
// line n, "a:ok:<tag>" confirms the ticked lines and "a:no:<tag>" drops the proposal; a proposal
// reviewed by ward and page has its own (see allocCityData). The tag names the proposal (it comes
// from its idempotency key), so a button of an older proposal is stale instead of acting on the
// newer one.
const allocPrefix = "a"

// The allocation's FlowCase step and its answers.
const (
	// allocStepReview is an official looking at a proposal, ticking lines and confirming.
	allocStepReview = "a.review"
	// allocLinePrefix keeps line n of the proposal under "a.<n>" (1-based):
	// code|label|type|stock|points|level|grade|ward|reasons|score (see allocLine).
	allocLinePrefix = "a."
	// allocAnswerSel is the ticked lines, "1,2,4".
	allocAnswerSel = "a.sel"
	// allocAnswerMore counted the allocations proposed beyond those shown; a proposal larger than
	// allocShown now goes by ward and page, so it is always "0", still written so that the states
	// (and golden conversations) of line-by-line proposals read as before.
	allocAnswerMore = "a.more"
	// allocAnswerSkips counts the children left waiting by reason, "no_fitting_device=3,...".
	allocAnswerSkips = "a.skips"
	// allocAnswerReady counts the ready devices; allocAnswerStock the stock, "sim_4g=10,...".
	allocAnswerReady = "a.ready"
	allocAnswerStock = "a.stock"
)

const (
	// allocShown is how many allocations a proposal shows line by line, each with its own toggle:
	// one message on a phone. A larger proposal is reviewed by ward and page (allocStepList).
	allocShown = 10
	// allocExplainMax bounds a line's explanation of points, so ten lines stay one message.
	allocExplainMax = 120
)

// Message ids by value.
var (
	allocReasonLabels = map[campaign.MatchReason]string{
		campaign.MatchTypeRequested:    "alloc.reason.type_requested",
		campaign.MatchLevelFit:         "alloc.reason.level_fit",
		campaign.MatchSameWard:         "alloc.reason.same_ward",
		campaign.MatchConnectivityOnly: "alloc.reason.connectivity_only",
	}
	// allocSkipOrder is the order the reasons children wait are listed in: what more devices
	// would solve first.
	allocSkipOrder  = []campaign.SkipReason{campaign.SkipNoFittingDevice, campaign.SkipNoStock, campaign.SkipAlreadyHelped, campaign.SkipNothingAsked, campaign.SkipServed, campaign.SkipRejected, campaign.SkipDuplicate}
	allocSkipLabels = map[campaign.SkipReason]string{
		campaign.SkipNoFittingDevice: "alloc.skip.no_fitting_device",
		campaign.SkipNoStock:         "alloc.skip.no_stock",
		campaign.SkipAlreadyHelped:   "alloc.skip.already_helped",
		campaign.SkipNothingAsked:    "alloc.skip.nothing_asked",
		campaign.SkipServed:          "alloc.skip.served",
		campaign.SkipRejected:        "alloc.skip.rejected",
		campaign.SkipDuplicate:       "alloc.skip.duplicate",
	}
)

// allocLine is one proposed allocation with what the official is shown about the child.
type allocLine struct {
	alloc campaign.Allocation
	level campaign.SchoolLevel
	grade int
	ward  string
	score campaign.Score
}

// encode writes the line as an answer; ok is false when a value holds a separator (a code or
// label no store makes), and such a line is not offered.
func (l allocLine) encode() (string, bool) {
	a := l.alloc
	var stock, reasons, score []string
	for _, k := range a.Stock {
		stock = append(stock, string(k))
	}
	for _, r := range a.Reasons {
		reasons = append(reasons, string(r))
	}
	for _, r := range l.score.Reasons {
		score = append(score, r.Key+"="+strconv.Itoa(r.Points))
	}
	fields := []string{a.Code, a.DeviceLabel, string(a.DeviceType), strings.Join(stock, "+"), strconv.Itoa(a.Points),
		string(l.level), strconv.Itoa(l.grade), l.ward, strings.Join(reasons, "+"), strings.Join(score, "+")}
	for _, f := range fields[:3] {
		if strings.ContainsAny(f, "|+=,") {
			return "", false
		}
	}
	if a.Code == "" || strings.ContainsAny(l.ward, "|+=,") {
		return "", false
	}
	return strings.Join(fields, "|"), true
}

// decodeAllocLine reads an answer written by encode.
func decodeAllocLine(s string) (allocLine, bool) {
	f := strings.Split(s, "|")
	if len(f) != 10 || f[0] == "" {
		return allocLine{}, false
	}
	points, err1 := strconv.Atoi(f[4])
	grade, err2 := strconv.Atoi(f[6])
	if err1 != nil || err2 != nil {
		return allocLine{}, false
	}
	l := allocLine{
		alloc: campaign.Allocation{Code: f[0], DeviceLabel: f[1], DeviceType: campaign.DeviceType(f[2]), Points: points},
		level: campaign.SchoolLevel(f[5]), grade: grade, ward: f[7],
		score: campaign.Score{Points: points},
	}
	for _, k := range splitNonEmpty(f[3], "+") {
		l.alloc.Stock = append(l.alloc.Stock, campaign.StockKind(k))
	}
	for _, r := range splitNonEmpty(f[8], "+") {
		l.alloc.Reasons = append(l.alloc.Reasons, campaign.MatchReason(r))
	}
	for _, r := range splitNonEmpty(f[9], "+") {
		key, pts, ok := strings.Cut(r, "=")
		n, err := strconv.Atoi(pts)
		if !ok || err != nil {
			return allocLine{}, false
		}
		l.score.Reasons = append(l.score.Reasons, campaign.Reason{Key: key, Points: n})
	}
	return l, true
}

func splitNonEmpty(s, sep string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, sep)
}

// allocTag names a proposal in its buttons: a short hash of its idempotency key.
func allocTag(key string) string {
	h := fnv.New32a()
	h.Write([]byte(key))
	return fmt.Sprintf("%08x", h.Sum32())
}

func allocData(action, tag string, n ...int) string {
	d := allocPrefix + ":" + action + ":" + tag
	for _, i := range n {
		d += ":" + strconv.Itoa(i)
	}
	return d
}

// allocStep returns FlowCase's allocation steps ("a.*").
func allocStep(step string) (caseStep, bool) {
	switch step {
	case allocStepList:
		return caseStep{
			help:  "alloc.help_list",
			ask:   func(c *turn, reason string) { allocTurn{c}.allocCityAsk(reason) },
			input: func(c *turn) error { return allocTurn{c}.allocCityInput() },
		}, true
	case allocStepSure:
		return caseStep{
			help: "case.help_buttons",
			ask:  func(c *turn, reason string) { allocTurn{c}.allocCitySure(reason) },
			input: func(c *turn) error {
				allocTurn{c}.allocCitySure(c.t("common.use_buttons"))
				return nil
			},
		}, true
	case allocStepReview:
		return caseStep{
			help: "case.help_buttons",
			ask:  func(c *turn, reason string) { allocTurn{c}.allocShow(reason, false) },
			input: func(c *turn) error {
				allocTurn{c}.allocShow(c.t("common.use_buttons"), false)
				return nil
			},
		}, true
	}
	return caseStep{}, false
}

// allocTurn is a turn of the allocation flow (/allocate); its methods are the flow's own (see
// flowTurn).
type allocTurn struct{ *turn }

// allocateCommand is /allocate: the proposal of who gets which ready device and stock, highest
// priority first, for the official to tick and confirm: line by line up to allocShown, else by
// ward and page (allocCityStart).
func (c allocTurn) allocateCommand(string) error {
	if c.casesOff() {
		return nil
	}
	if _, ok, err := c.authorize(campaign.ActionAllocate, ""); !ok {
		return err
	}
	if c.formBusy() {
		return nil
	}
	p, err := c.e.cfg.Cases.Proposal(c.ctx)
	if err != nil {
		return fmt.Errorf("allocation proposal: %w", err)
	}
	allocs, skips := campaign.Match(p.Candidates, p.Supply, c.e.cfg.Campaign.MatchRules())
	answers := map[string]string{
		allocAnswerSkips: allocCountSkips(skips),
		allocAnswerReady: strconv.Itoa(len(distinctLabels(p.Supply.Devices))),
		allocAnswerStock: allocCountStock(p.Supply.Stock),
	}
	if len(allocs) == 0 {
		if c.inCaseFlow() && c.st.Step == allocStepReview {
			c.toIdle() // an older proposal is not to be confirmed after this one said there is nothing
		}
		c.say(c.allocNothing(len(p.Candidates), answers))
		c.resume("")
		return nil
	}
	candidates := map[string]campaign.Candidate{}
	for _, cand := range p.Candidates {
		if _, seen := candidates[cand.Code]; !seen {
			candidates[cand.Code] = cand
		}
	}
	if len(allocs) > allocShown {
		c.allocCityStart(allocs, candidates, answers)
		return nil
	}
	n := 0
	for _, a := range allocs {
		cand := candidates[a.Code]
		line := allocLine{alloc: a, level: cand.Level, grade: cand.Grade, ward: cand.WardCode, score: cand.Score}
		if line.score.Points != a.Points {
			line.score = campaign.Score{Points: a.Points}
		}
		enc, ok := line.encode()
		if !ok {
			continue
		}
		n++
		answers[allocLinePrefix+strconv.Itoa(n)] = enc
	}
	answers[allocAnswerMore] = "0"
	sel := make([]string, n)
	for i := range n {
		sel[i] = strconv.Itoa(i + 1)
	}
	answers[allocAnswerSel] = strings.Join(sel, ",")
	c.enterCase(allocStepReview, answers)
	c.st.IdempotencyKey = c.e.cfg.NewKey()
	c.allocShow("", false)
	return nil
}

func distinctLabels(devices []campaign.ReadyDevice) []string {
	var labels []string
	for _, d := range devices {
		labels = append(labels, d.Label)
	}
	slices.Sort(labels)
	return slices.Compact(labels)
}

// allocCountSkips counts the children left waiting by reason, in allocSkipOrder.
func allocCountSkips(skips []campaign.Skip) string {
	counts := map[campaign.SkipReason]int{}
	for _, s := range skips {
		counts[s.Reason]++
	}
	var parts []string
	for _, r := range allocSkipOrder {
		if counts[r] > 0 {
			parts = append(parts, string(r)+"="+strconv.Itoa(counts[r]))
		}
	}
	return strings.Join(parts, ",")
}

// allocCountStock writes the stock left, by kind in StockKinds' order.
func allocCountStock(stock map[campaign.StockKind]int) string {
	var parts []string
	for _, k := range campaign.StockKinds {
		if stock[k] > 0 {
			parts = append(parts, string(k)+"="+strconv.Itoa(stock[k]))
		}
	}
	return strings.Join(parts, ",")
}

// allocCounts reads "key=n,key=n".
func allocCounts(s string) ([]string, []int) {
	var keys []string
	var counts []int
	for _, part := range splitNonEmpty(s, ",") {
		k, v, _ := strings.Cut(part, "=")
		n, err := strconv.Atoi(v)
		if err == nil && n > 0 {
			keys = append(keys, k)
			counts = append(counts, n)
		}
	}
	return keys, counts
}

// allocSummary says how many children still wait and why, and what is ready.
func (c allocTurn) allocSummary(a map[string]string) string {
	var lines []string
	keys, counts := allocCounts(a[allocAnswerSkips])
	waiting := 0
	var why []string
	for i, k := range keys {
		waiting += counts[i]
		label, ok := allocSkipLabels[campaign.SkipReason(k)]
		if !ok {
			continue
		}
		why = append(why, c.t("alloc.skip_count", "Reason", c.t(label), "Count", counts[i]))
	}
	if waiting > 0 {
		lines = append(lines, c.t("alloc.waiting", "Count", waiting, "Why", strings.Join(why, "; ")))
	}
	ready, _ := strconv.Atoi(a[allocAnswerReady])
	lines = append(lines, c.t("alloc.ready", "Count", ready))
	keys, counts = allocCounts(a[allocAnswerStock])
	var stock []string
	for i, k := range keys {
		stock = append(stock, c.kindName(campaign.ItemKind(k))+" "+c.count(counts[i]))
	}
	if len(stock) > 0 {
		lines = append(lines, c.t("alloc.stock", "List", strings.Join(stock, ", ")))
	}
	return strings.Join(lines, "\n")
}

// allocNothing says why nothing can be allocated, with the summary.
func (c allocTurn) allocNothing(candidates int, a map[string]string) string {
	if candidates == 0 {
		return c.t("alloc.no_children")
	}
	ready, _ := strconv.Atoi(a[allocAnswerReady])
	if ready == 0 && a[allocAnswerStock] == "" {
		return paragraphs(c.t("alloc.no_supply"), c.allocSummary(a))
	}
	return paragraphs(c.t("alloc.none_matched"), c.allocSummary(a))
}

// allocLines reads the proposal kept in the state; ok is false for a state this version cannot
// read.
func (c allocTurn) allocLines() ([]allocLine, bool) {
	var lines []allocLine
	for i := 1; ; i++ {
		v, found := c.st.Answers[allocLinePrefix+strconv.Itoa(i)]
		if !found {
			break
		}
		l, ok := decodeAllocLine(v)
		if !ok {
			return nil, false
		}
		lines = append(lines, l)
	}
	return lines, len(lines) > 0
}

// allocSelected reads which of n lines are ticked.
func (c allocTurn) allocSelected(n int) []bool {
	sel := make([]bool, n)
	for _, s := range splitNonEmpty(c.st.Answers[allocAnswerSel], ",") {
		if i, err := strconv.Atoi(s); err == nil && i >= 1 && i <= n {
			sel[i-1] = true
		}
	}
	return sel
}

func (c allocTurn) setAllocSelected(sel []bool) {
	var parts []string
	for i, on := range sel {
		if on {
			parts = append(parts, strconv.Itoa(i+1))
		}
	}
	c.st.Answers[allocAnswerSel] = strings.Join(parts, ",")
}

// allocShow shows the proposal kept in the state with its toggles, with reason (if any) before
// it; edit redraws the message whose button was pressed.
func (c allocTurn) allocShow(reason string, edit bool) {
	lines, ok := c.allocLines()
	if !ok {
		c.toIdle()
		c.say(paragraphs(reason, c.t("alloc.gone")))
		return
	}
	sel := c.allocSelected(len(lines))
	tag := allocTag(c.st.IdempotencyKey)
	text := []string{c.t("alloc.title", "Count", len(lines))}
	var toggles []Button
	picked := 0
	for i, l := range lines {
		mark := "⬜"
		if sel[i] {
			mark = "✅"
			picked++
		}
		text = append(text, c.allocLineText(i+1, mark, l))
		toggles = append(toggles, Button{Text: c.t("alloc.btn_toggle", "Mark", mark, "N", i+1, "Code", l.alloc.Code), Data: allocData("t", tag, i+1)})
	}
	body := strings.Join(text, "\n\n")
	rows := grid(toggles, 2)
	if picked > 0 {
		rows = append(rows, []Button{{Text: c.t("alloc.btn_confirm", "Count", picked), Data: allocData("ok", tag)}})
	}
	rows = append(rows, []Button{{Text: c.t("common.btn_cancel"), Data: allocData("no", tag)}})
	c.out = append(c.out, Output{Text: paragraphs(reason, body, c.allocSummary(c.st.Answers)), Buttons: rows, Replace: edit})
}

// allocLineText is line n of the proposal.
func (c allocTurn) allocLineText(n int, mark string, l allocLine) string {
	why := clip(l.score.Explain(c.lang, c.allocScoreLabel), allocExplainMax)
	if why == "" {
		why = "—"
	}
	var reasons []string
	for _, r := range l.alloc.Reasons {
		if id, ok := allocReasonLabels[r]; ok {
			reasons = append(reasons, c.t(id))
		}
	}
	what := c.e.allocWhat(c.lang, l.alloc.DeviceLabel, l.alloc.DeviceType, l.alloc.Stock)
	if len(reasons) > 0 {
		what += " · " + strings.Join(reasons, ", ")
	}
	return c.t("alloc.line", "N", n, "Mark", mark, "Code", l.alloc.Code, "Level", c.e.allocLevelGrade(c.lang, l.level, l.grade),
		"Ward", c.e.allocWardName(c.lang, l.ward), "Points", l.alloc.Points, "Why", why, "What", what)
}

// allocScoreLabel names a priority reason (a circumstance or a device situation) for Explain.
func (c allocTurn) allocScoreLabel(key string) string {
	r := campaign.Reason{Key: key}
	if k, ok := r.Circumstance(); ok {
		return c.t(circumstanceLabels[k])
	}
	if s, ok := r.Situation(); ok {
		return c.t(situationLabels[s])
	}
	return ""
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

// authorizeOrDrop is authorize (city-wide) for a button of the case work. A refusal (a role
// revoked since the question was asked) also drops the case question, instead of asking it
// again under the refusal; a form in progress is kept.
func (c *turn) authorizeOrDrop(action campaign.Action) (campaign.Staff, bool, error) {
	if !c.inCaseFlow() {
		return c.authorize(action, "")
	}
	saved := *c.st
	saved.Answers = maps.Clone(saved.Answers)
	c.toIdle()
	who, ok, err := c.authorize(action, "")
	if ok {
		*c.st = saved
	}
	return who, ok, err
}

// allocChoice runs a button of a proposal; rest is what follows "a:".
func (c allocTurn) allocChoice(rest string) error {
	action, args, _ := strings.Cut(rest, ":")
	tag, n, _ := strings.Cut(args, ":")
	step := c.st.Step
	if !c.inCaseFlow() || (step != allocStepReview && step != allocStepList && step != allocStepSure) || tag != allocTag(c.st.IdempotencyKey) {
		c.allocStale()
		return nil
	}
	if c.casesOff() {
		return nil
	}
	who, ok, err := c.authorizeOrDrop(campaign.ActionAllocate)
	if !ok {
		return err
	}
	if step != allocStepReview {
		return c.allocCityChoice(action, n, who)
	}
	lines, ok := c.allocLines()
	if !ok {
		c.toIdle()
		c.say(c.t("alloc.gone"))
		return nil
	}
	switch action {
	case "t":
		i, err := strconv.Atoi(n)
		if err != nil || i < 1 || i > len(lines) {
			break
		}
		sel := c.allocSelected(len(lines))
		sel[i-1] = !sel[i-1]
		c.setAllocSelected(sel)
		if sel[i-1] {
			c.notice = c.t("alloc.notice_on", "Code", lines[i-1].alloc.Code)
		} else {
			c.notice = c.t("alloc.notice_off", "Code", lines[i-1].alloc.Code)
		}
		c.allocShow("", true)
		return nil
	case "ok":
		return c.allocConfirm(lines, who)
	case "no":
		c.toIdle()
		c.say(c.t("alloc.cancelled"))
		return nil
	}
	c.allocStale()
	return nil
}

// allocStale answers a proposal's button that no longer applies: the proposal was confirmed,
// dropped or replaced.
func (c allocTurn) allocStale() {
	c.notice = c.t("common.stale")
	c.say(c.t("alloc.stale"))
	c.resume("")
}

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

// The city-scale proposal (issue 13). A day of a city's campaign matches hundreds of children at
// once (739 on a seeded day), more than a message can show or an official can tick one by one,
// ten at a time. A proposal of more than allocShown lines is reviewed by ward and by page
// instead, and confirmed a page, a ward or everything at once:
//
//   - /allocate shows a summary: how many children in how many wards, the count of each ward, a
//     button per ward, "📄 Xem tất cả" and "✅ Xác nhận tất cả". Ward buttons carry no count: a
//     channel that shows more than five buttons as a numbered list answered by typing a number
//     would read a count in a label ("Tam Phú · 3") as another line's number.
//   - A ward, or every ward, is shown allocPageLines compact lines a page ("47. ✅ TD-000123 · THCS
//     lớp 7 · ⭐54 → TB-000456 (Laptop) + SIM 4G"), within messageMax in the worst case and mostly
//     within 2,000 characters (the smallest message a channel carries). Lines are numbered once for the whole proposal (grouped by
//     ward in the campaign's order, highest priority first within a ward), so a number means the
//     same child in every view. A line whose child or device changed since (another official, a
//     device sent back) is marked ⚠️.
//   - A line is left out by typing "bỏ 3" (or "bỏ 3, 5-7") and put back with "chọn 3"; a bare
//     number turns a line over. Typed, not a button per line: 25 toggles would bury a page, and a
//     channel that lists many buttons by number would take a typed "3" for its own third line. A
//     page has at most five buttons (previous, next, confirm this page, confirm the whole ward or
//     everything, back to the wards), which every channel shows as buttons, leaving typed words to
//     the flow.
//   - "✅ Xác nhận trang này" confirms the ticked lines of the page at once (the official has just
//     read them) and shows the first page of what is left of the view. "✅ Xác nhận tất cả" (or
//     "cả phường") confirms every ticked line of the view, pages not seen included, after one
//     question that says how many and how many are left out (allocStepSure).
//
// The proposal is kept as it was shown (a snapshot in the state: code, device and stock per line,
// and the wards' runs; about 20 kB for 739 lines), not worked out again at each press: devices keep
// arriving while an official reviews, and a new Match would move lines under their eyes. What
// changed meanwhile the store finds when confirming: those lines are reported (the first
// allocStaleListed codes) and dropped, never fatal. A page's details (level, grade, points, the
// device's type, what changed) are read afresh from Proposal.
//
// A confirmation hands the ticked lines to CaseStore.ConfirmAllocations with the proposal's key;
// the store makes them in chunks of its own, a transaction each, so a retried update (the same key)
// never allocates twice, and one cut short by an error finishes when pressed again. Then the lines
// made or stale leave the snapshot, the rest are numbered again and the key changes, so the buttons
// and numbers of earlier messages are stale rather than wrong. Each family is told by its own
// notice, queued in the outbox's notice lane with its delivery; the official's reply counts them
// and names the deliveries' range instead of listing 739 lines.
const (
	// allocStepList is the city-scale proposal: the summary by ward, or a page of a view.
	allocStepList = "a.list"
	// allocStepSure asks once before everything ticked in a view is confirmed.
	allocStepSure = "a.sure"

	// allocAnswerLines is the snapshot's lines in order, "code|label|stock+stock;…".
	allocAnswerLines = "a.lines"
	// allocAnswerWards is the wards' runs over the lines, "26800:45,27088:30" ("-" for no ward).
	allocAnswerWards = "a.wards"
	// allocAnswerOff is the line numbers left out, "3,5-7".
	allocAnswerOff = "a.off"
	// allocAnswerView is what is shown: "" the summary; a ward's code, or allocAllWards, its pages
	// (State.Page is the page, from 0).
	allocAnswerView = "a.view"
	// allocAnswerMade counts the allocations this proposal made so far.
	allocAnswerMade = "a.made"

	// allocAllWards is the view, and the scope of a confirmation, of every ward.
	allocAllWards = "*"
	// allocNoWard stands for lines of a child without a known ward.
	allocNoWard = "-"
	// allocPageLines is how many lines a page shows.
	allocPageLines = 25
	// allocStaleListed is how many stale codes a report names.
	allocStaleListed = 20
	// allocMarksMost bounds how many lines one typed "bỏ 1-5000" may touch.
	allocMarksMost = 1000
)

// cityLine is a line of the city-scale proposal: who gets what, and the child's ward.
type cityLine struct {
	code, label string
	stock       []campaign.StockKind
	ward        string
}

// cityProposal is the snapshot of a city-scale proposal with the lines left out.
type cityProposal struct {
	lines []cityLine
	off   []bool
}

func (l cityLine) alloc() campaign.Allocation {
	return campaign.Allocation{Code: l.code, DeviceLabel: l.label, Stock: slices.Clone(l.stock)}
}

// cityField reports whether s can be kept in the snapshot's encoding.
func cityField(s string) bool { return !strings.ContainsAny(s, "|;+,:") }

// encode writes the snapshot's lines and wards' runs.
func (p cityProposal) encode() (lines, wards string) {
	var ls, runs []string
	n := 0
	for i, l := range p.lines {
		var stock []string
		for _, k := range l.stock {
			stock = append(stock, string(k))
		}
		ls = append(ls, l.code+"|"+l.label+"|"+strings.Join(stock, "+"))
		n++
		if i+1 == len(p.lines) || p.lines[i+1].ward != l.ward {
			runs = append(runs, wardKey(l.ward)+":"+strconv.Itoa(n))
			n = 0
		}
	}
	return strings.Join(ls, ";"), strings.Join(runs, ",")
}

// decodeCity reads a snapshot written by encode, with the lines left out; ok is false for one
// this version cannot read.
func decodeCity(lines, wards, off string) (cityProposal, bool) {
	var p cityProposal
	for _, l := range splitNonEmpty(lines, ";") {
		f := strings.Split(l, "|")
		if len(f) != 3 || f[0] == "" || (f[1] == "" && f[2] == "") {
			return cityProposal{}, false
		}
		line := cityLine{code: f[0], label: f[1]}
		for _, k := range splitNonEmpty(f[2], "+") {
			line.stock = append(line.stock, campaign.StockKind(k))
		}
		p.lines = append(p.lines, line)
	}
	i := 0
	for _, r := range splitNonEmpty(wards, ",") {
		w, n, _ := strings.Cut(r, ":")
		k, err := strconv.Atoi(n)
		if err != nil || k < 1 || i+k > len(p.lines) {
			return cityProposal{}, false
		}
		if w == allocNoWard {
			w = ""
		}
		for ; k > 0; k-- {
			p.lines[i].ward = w
			i++
		}
	}
	if i != len(p.lines) || len(p.lines) == 0 {
		return cityProposal{}, false
	}
	p.off = decodeRanges(off, len(p.lines))
	return p, true
}

// encodeRanges writes the true positions of set as 1-based numbers and ranges, "3,5-7".
func encodeRanges(set []bool) string {
	var parts []string
	for i := 0; i < len(set); i++ {
		if !set[i] {
			continue
		}
		j := i
		for j+1 < len(set) && set[j+1] {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(i+1))
		} else {
			parts = append(parts, strconv.Itoa(i+1)+"-"+strconv.Itoa(j+1))
		}
		i = j
	}
	return strings.Join(parts, ",")
}

// decodeRanges reads encodeRanges' numbers into a set of n; numbers beyond it are ignored.
func decodeRanges(s string, n int) []bool {
	set := make([]bool, n)
	for _, part := range splitNonEmpty(s, ",") {
		a, b, isRange := strings.Cut(part, "-")
		from, err1 := strconv.Atoi(a)
		to, err2 := from, error(nil)
		if isRange {
			to, err2 = strconv.Atoi(b)
		}
		if err1 != nil || err2 != nil {
			continue
		}
		for i := max(from, 1); i <= min(to, n); i++ {
			set[i-1] = true
		}
	}
	return set
}

// in returns the positions of the lines of scope: a ward's, or every line for allocAllWards.
func (p cityProposal) in(scope string) []int {
	var idx []int
	for i, l := range p.lines {
		if scope == allocAllWards || wardKey(l.ward) == scope {
			idx = append(idx, i)
		}
	}
	return idx
}

// ticked counts the lines of idx not left out.
func (p cityProposal) ticked(idx []int) int {
	n := 0
	for _, i := range idx {
		if !p.off[i] {
			n++
		}
	}
	return n
}

// wardKey is a ward's code as a view and button data name it.
func wardKey(code string) string {
	if code == "" {
		return allocNoWard
	}
	return code
}

// allocPage returns the positions of page (from 0) of idx, and the number of pages.
func allocPage(idx []int, page int) ([]int, int) {
	pages := max((len(idx)+allocPageLines-1)/allocPageLines, 1)
	page = min(max(page, 0), pages-1)
	return idx[page*allocPageLines : min((page+1)*allocPageLines, len(idx))], pages
}

// allocCityData is the data of a city-scale proposal's button: "a:v:<tag>:<scope>:<page>" shows
// a page (from 1) of a view, "a:s:<tag>" the summary, "a:cp:<tag>:<scope>:<page>" confirms a
// page's ticked lines, "a:ca:<tag>:<scope>" asks before confirming all of a view and
// "a:cy:<tag>:<scope>" confirms them; "a:no:<tag>" drops the proposal.
func allocCityData(action, tag string, args ...string) string {
	return strings.Join(append([]string{allocPrefix, action, tag}, args...), ":")
}

// allocCityStart keeps allocs (in Match's order) as the snapshot, grouped by ward, and shows the
// summary.
func (c allocTurn) allocCityStart(allocs []campaign.Allocation, candidates map[string]campaign.Candidate, answers map[string]string) {
	var p cityProposal
	for _, a := range allocs {
		l := cityLine{code: a.Code, label: a.DeviceLabel, stock: a.Stock, ward: candidates[a.Code].WardCode}
		if !cityField(l.code) || !cityField(l.label) || !cityField(l.ward) || l.code == "" || l.ward == allocNoWard {
			continue // no store makes such a code or label; it is not offered
		}
		p.lines = append(p.lines, l)
	}
	rank := map[string]int{}
	for i, w := range c.e.cfg.Campaign.Wards {
		rank[w.Code] = i
	}
	wardRank := func(code string) int {
		if i, ok := rank[code]; ok {
			return i
		}
		return len(rank)
	}
	slices.SortStableFunc(p.lines, func(a, b cityLine) int {
		return cmp.Or(cmp.Compare(wardRank(a.ward), wardRank(b.ward)), strings.Compare(a.ward, b.ward))
	})
	p.off = make([]bool, len(p.lines))
	c.enterCase(allocStepList, answers)
	c.st.IdempotencyKey = c.e.cfg.NewKey()
	c.setCity(p)
	c.st.Answers[allocAnswerView] = ""
	c.allocCitySummary("", false)
}

// city reads the snapshot kept in the state; ok is false for a state this version cannot read.
func (c allocTurn) city() (cityProposal, bool) {
	return decodeCity(c.st.Answers[allocAnswerLines], c.st.Answers[allocAnswerWards], c.st.Answers[allocAnswerOff])
}

func (c allocTurn) setCity(p cityProposal) {
	c.st.Answers[allocAnswerLines], c.st.Answers[allocAnswerWards] = p.encode()
	c.st.Answers[allocAnswerOff] = encodeRanges(p.off)
}

// allocCityGone ends a city-scale proposal this version cannot read.
func (c allocTurn) allocCityGone(reason string) {
	c.toIdle()
	c.say(paragraphs(reason, c.t("alloc.gone")))
}

// allocCityAsk shows the current view again (after /help, or a form resumed).
func (c allocTurn) allocCityAsk(reason string) {
	if c.st.Answers[allocAnswerView] == "" {
		c.allocCitySummary(reason, false)
		return
	}
	if err := c.allocCityPage(reason, false); err != nil {
		// The page's details could not be read: the summary needs none.
		c.st.Answers[allocAnswerView] = ""
		c.allocCitySummary(reason, false)
	}
}

// allocScopeName is a view's name: a ward's, or every ward.
func (c allocTurn) allocScopeName(scope string) string {
	switch scope {
	case allocAllWards:
		return c.t("alloc.scope_all")
	case allocNoWard:
		return c.t("alloc.ward_unknown")
	}
	return c.e.allocWardName(c.lang, scope)
}

// allocWardShort is a ward's short name, for its button and the summary's counts.
func (c allocTurn) allocWardShort(code string) string {
	if code == "" {
		return c.t("alloc.ward_unknown")
	}
	if w, ok := c.e.cfg.Campaign.Ward(code); ok && w.ShortName != "" {
		return w.ShortName
	}
	return c.e.allocWardName(c.lang, code)
}

// allocCitySummary shows the city-scale proposal by ward, with reason (if any) before it.
func (c allocTurn) allocCitySummary(reason string, edit bool) {
	p, ok := c.city()
	if !ok {
		c.allocCityGone(reason)
		return
	}
	tag := allocTag(c.st.IdempotencyKey)
	var counts []string
	var wards []Button
	for i, l := range p.lines {
		if i > 0 && l.ward == p.lines[i-1].ward {
			continue
		}
		n := len(p.in(wardKey(l.ward)))
		counts = append(counts, c.t("alloc.ward_count", "Ward", c.allocWardShort(l.ward), "Count", n))
		wards = append(wards, Button{Text: c.allocWardShort(l.ward), Data: allocCityData("v", tag, wardKey(l.ward), "1")})
	}
	all := p.in(allocAllWards)
	ticked := p.ticked(all)
	text := []string{c.t("alloc.city_title", "Count", len(p.lines), "Wards", len(wards)) + "\n" + strings.Join(counts, " · ")}
	var status []string
	if made, _ := strconv.Atoi(c.st.Answers[allocAnswerMade]); made > 0 {
		status = append(status, c.t("alloc.city_made", "Count", made))
	}
	if off := len(p.lines) - ticked; off > 0 {
		status = append(status, c.t("alloc.city_off", "Count", off))
	}
	text = append(text, strings.Join(status, "\n"), c.allocSummary(c.st.Answers))
	rows := grid(wards, 3)
	rows = append(rows, []Button{{Text: c.t("alloc.btn_view_all"), Data: allocCityData("v", tag, allocAllWards, "1")}})
	if ticked > 0 {
		rows = append(rows, []Button{{Text: c.t("alloc.btn_confirm_everything"), Data: allocCityData("ca", tag, allocAllWards)}})
	}
	rows = append(rows, []Button{{Text: c.t("common.btn_cancel"), Data: allocCityData("no", tag)}})
	c.out = append(c.out, Output{Text: paragraphs(append([]string{reason}, text...)...), Buttons: rows, Replace: edit})
}

// allocCityPage shows the page of the view in the state, with reason (if any) before it. The
// lines' details are read afresh; an error reading them is returned with nothing shown.
func (c allocTurn) allocCityPage(reason string, edit bool) error {
	p, ok := c.city()
	if !ok {
		c.allocCityGone(reason)
		return nil
	}
	scope := c.st.Answers[allocAnswerView]
	idx := p.in(scope)
	if len(idx) == 0 {
		c.st.Answers[allocAnswerView] = ""
		c.allocCitySummary(reason, edit)
		return nil
	}
	page, pages := allocPage(idx, c.st.Page)
	c.st.Page = min(max(c.st.Page, 0), pages-1)
	fresh, err := c.e.cfg.Cases.Proposal(c.ctx)
	if err != nil {
		return fmt.Errorf("allocation proposal: %w", err)
	}
	cands := map[string]campaign.Candidate{}
	for _, cand := range fresh.Candidates {
		cands[cand.Code] = cand
	}
	ready := map[string]campaign.DeviceType{}
	for _, d := range fresh.Supply.Devices {
		ready[d.Label] = d.Type
	}
	tag := allocTag(c.st.IdempotencyKey)
	text := []string{c.t("alloc.page_title", "Scope", c.allocScopeName(scope), "Page", c.st.Page+1, "Pages", pages)}
	changed := false
	for k, i := range page {
		l := p.lines[i]
		if scope == allocAllWards && (k == 0 || p.lines[page[k-1]].ward != l.ward) {
			text = append(text, c.t("alloc.ward_heading", "Ward", c.allocWardShort(l.ward), "Count", len(p.in(wardKey(l.ward)))))
		}
		mark := "✅"
		if p.off[i] {
			mark = "⬜"
		}
		cand, verified := cands[l.code]
		t, isReady := ready[l.label]
		if l.label == "" {
			isReady = true
		}
		what := c.e.allocWhat(c.lang, l.label, t, l.stock)
		if !isReady {
			// The device is no longer ready: its label, without the type only a ready one shows.
			what = strings.Join(slices.DeleteFunc([]string{l.label, c.e.allocWhat(c.lang, "", "", l.stock)}, func(s string) bool { return s == "" }), " + ")
		}
		if !verified || !isReady {
			changed = true
			text = append(text, c.t("alloc.page_line_changed", "N", i+1, "Mark", mark, "Code", l.code, "What", what))
			continue
		}
		text = append(text, c.t("alloc.page_line", "N", i+1, "Mark", mark, "Code", l.code,
			"Level", c.e.allocLevelGrade(c.lang, cand.Level, cand.Grade), "Points", cand.Score.Points, "What", what))
	}
	inScope, onPage := p.ticked(idx), p.ticked(page)
	tail := []string{c.t("alloc.page_ticked", "Count", inScope, "Total", len(idx))}
	if changed {
		tail = append(tail, c.t("alloc.page_changed"))
	}
	tail = append(tail, c.t("alloc.page_hint"))

	var nav []Button
	if c.st.Page > 0 {
		nav = append(nav, Button{Text: c.t("alloc.btn_prev"), Data: allocCityData("v", tag, scope, strconv.Itoa(c.st.Page))})
	}
	if c.st.Page+1 < pages {
		nav = append(nav, Button{Text: c.t("alloc.btn_next"), Data: allocCityData("v", tag, scope, strconv.Itoa(c.st.Page+2))})
	}
	var rows [][]Button
	if len(nav) > 0 {
		rows = append(rows, nav)
	}
	if onPage > 0 {
		rows = append(rows, []Button{{Text: c.t("alloc.btn_confirm_page", "Count", onPage), Data: allocCityData("cp", tag, scope, strconv.Itoa(c.st.Page+1))}})
	}
	if pages > 1 && inScope > onPage {
		id := "alloc.btn_confirm_ward"
		if scope == allocAllWards {
			id = "alloc.btn_confirm_all"
		}
		rows = append(rows, []Button{{Text: c.t(id, "Count", inScope), Data: allocCityData("ca", tag, scope)}})
	}
	rows = append(rows, []Button{{Text: c.t("alloc.btn_wards"), Data: allocCityData("s", tag)}})
	c.out = append(c.out, Output{Text: paragraphs(reason, strings.Join(text, "\n"), strings.Join(tail, "\n")), Buttons: rows, Replace: edit})
	return nil
}

// allocCitySure asks, once, before everything ticked in the scope kept in allocAnswerView is
// confirmed.
func (c allocTurn) allocCitySure(reason string) {
	p, ok := c.city()
	if !ok {
		c.allocCityGone(reason)
		return
	}
	scope := c.st.Answers[allocAnswerView]
	idx := p.in(scope)
	ticked := p.ticked(idx)
	tag := allocTag(c.st.IdempotencyKey)
	back := allocCityData("v", tag, scope, strconv.Itoa(c.st.Page+1))
	if ticked == 0 {
		c.st.Step = allocStepList
		c.allocCityAsk(paragraphs(reason, c.t("alloc.city_none_ticked")))
		return
	}
	wards := 0
	for k, i := range idx {
		if k == 0 || p.lines[idx[k-1]].ward != p.lines[i].ward {
			wards++
		}
	}
	text := []string{c.t("alloc.sure", "Count", ticked, "Scope", c.allocScopeName(scope)), c.t("alloc.sure_wards", "Count", wards)}
	if off := len(idx) - ticked; off > 0 {
		text = append(text, c.t("alloc.sure_off", "Count", off))
	}
	text = append(text, c.t("alloc.sure_parents"))
	c.out = append(c.out, Output{Text: paragraphs(reason, strings.Join(text, "\n")), Buttons: [][]Button{
		{{Text: c.t("alloc.btn_sure", "Count", ticked), Data: allocCityData("cy", tag, scope)}},
		{{Text: c.t("alloc.btn_back"), Data: back}},
	}})
}

// allocCityChoice runs a button of a city-scale proposal; args is what follows the tag.
func (c allocTurn) allocCityChoice(action, args string, who campaign.Staff) error {
	p, ok := c.city()
	if !ok {
		c.allocCityGone("")
		return nil
	}
	scope, n, _ := strings.Cut(args, ":")
	page, err := strconv.Atoi(n)
	known := scope == allocAllWards || len(p.in(scope)) > 0
	switch {
	case action == "s":
		c.st.Step, c.st.Page = allocStepList, 0
		c.st.Answers[allocAnswerView] = ""
		c.allocCitySummary("", true)
		return nil
	case action == "v" && known && err == nil && page >= 1:
		c.st.Step, c.st.Page = allocStepList, page-1
		c.st.Answers[allocAnswerView] = scope
		return c.allocCityPage("", true)
	case action == "cp" && known && err == nil && page >= 1:
		// Also from the question about everything: the page was shown, and is what is pressed.
		lines, _ := allocPage(p.in(scope), page-1)
		return c.allocCityConfirm(p, lines, scope, true, who)
	case action == "ca" && known:
		c.st.Step = allocStepSure
		if c.st.Answers[allocAnswerView] != scope {
			c.st.Answers[allocAnswerView], c.st.Page = scope, 0
		}
		c.allocCitySure("")
		return nil
	case action == "cy" && known && c.st.Step == allocStepSure && c.st.Answers[allocAnswerView] == scope:
		return c.allocCityConfirm(p, p.in(scope), scope, false, who)
	case action == "no":
		c.toIdle()
		c.say(c.t("alloc.cancelled"))
		return nil
	}
	c.allocStale()
	return nil
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

// allocCityInput takes a typed message at a city-scale proposal: lines left out or put back
// ("bỏ 3, 5-7", "chọn 3", a bare "3" turns a line over), a ward's name, or "tất cả".
func (c allocTurn) allocCityInput() error {
	text := strings.TrimSpace(c.in.Text)
	if c.in.Kind != KindText || text == "" || len(text) > 300 {
		c.allocCityAsk(c.t("alloc.typed_how"))
		return nil
	}
	p, ok := c.city()
	if !ok {
		c.allocCityGone("")
		return nil
	}
	if mode, nums, ok := parseAllocMarks(text); ok {
		if c.st.Answers[allocAnswerView] == "" {
			c.allocCitySummary(c.t("alloc.typed_open_page"), false)
			return nil
		}
		return c.allocCityPage(c.allocMark(p, mode, nums), false)
	}
	switch campaign.Fold(cleanText(text)) {
	case "tat ca", "xem tat ca", "all", "every ward", "all wards":
		c.st.Answers[allocAnswerView], c.st.Page = allocAllWards, 0
		return c.allocCityPage("", false)
	}
	if matches := c.e.cfg.Campaign.MatchWards(cleanText(text)); len(matches) == 1 && len(p.in(matches[0].Code)) > 0 {
		c.st.Answers[allocAnswerView], c.st.Page = matches[0].Code, 0
		return c.allocCityPage("", false)
	}
	c.allocCityAsk(c.t("alloc.typed_how"))
	return nil
}

// allocMark leaves out (mode < 0), puts back (mode > 0) or turns over (0) the numbered lines,
// keeps the result and says what changed.
func (c allocTurn) allocMark(p cityProposal, mode int, nums []int) string {
	nums = slices.Compact(slices.Sorted(slices.Values(nums)))
	var off, on, unknown []string
	for _, n := range nums {
		if n < 1 || n > len(p.lines) {
			unknown = append(unknown, strconv.Itoa(n))
			continue
		}
		was := p.off[n-1]
		switch {
		case mode < 0:
			p.off[n-1] = true
		case mode > 0:
			p.off[n-1] = false
		default:
			p.off[n-1] = !was
		}
		if p.off[n-1] == was {
			continue
		}
		name := strconv.Itoa(n) + " (" + p.lines[n-1].code + ")"
		if p.off[n-1] {
			off = append(off, name)
		} else {
			on = append(on, name)
		}
	}
	c.setCity(p)
	list := func(names []string) string {
		if len(names) > 10 {
			return strings.Join(names[:10], ", ") + " " + c.t("alloc.more_codes", "Count", len(names)-10)
		}
		return strings.Join(names, ", ")
	}
	var said []string
	if len(off) > 0 {
		said = append(said, c.t("alloc.marked_off", "List", list(off)))
	}
	if len(on) > 0 {
		said = append(said, c.t("alloc.marked_on", "List", list(on)))
	}
	if len(unknown) > 0 {
		said = append(said, c.t("alloc.marked_unknown", "List", list(unknown)))
	}
	if len(said) == 0 {
		said = append(said, c.t("alloc.marked_none"))
	}
	return strings.Join(said, "\n")
}

// allocMarkVerbs are the words that start a typed mark, folded: -1 leaves lines out, +1 puts them
// back. Longer words first, so "bo chon" is not read as "bo" and "chon".
var allocMarkVerbs = []struct {
	word string
	mode int
}{
	{"khong chon", -1}, {"bo chon", -1}, {"chon lai", 1}, {"lay lai", 1},
	{"untick", -1}, {"remove", -1}, {"exclude", -1}, {"drop", -1}, {"skip", -1}, {"khong", -1}, {"loai", -1}, {"bo", -1}, {"-", -1},
	{"include", 1}, {"tick", 1}, {"keep", 1}, {"add", 1}, {"chon", 1}, {"lay", 1}, {"giu", 1}, {"them", 1}, {"+", 1},
}

// parseAllocMarks reads a typed mark: an optional verb, then line numbers and ranges ("3, 5-7 và
// 9"); ok is false for anything else. Ranges are cut at allocMarksMost lines.
func parseAllocMarks(text string) (mode int, nums []int, ok bool) {
	s := campaign.Fold(text)
	s = strings.NewReplacer("–", "-", "—", "-", "#", " ", "dong ", " ", "so ", " ", "line ", " ", "lines ", " ").Replace(s)
	for _, v := range allocMarkVerbs {
		if rest, found := strings.CutPrefix(s, v.word); found && (v.word == "-" || v.word == "+" || rest == "" || !isLetter(rest[0])) {
			mode, s = v.mode, rest
			break
		}
	}
	s = allocRangeDash.ReplaceAllString(s, "-")
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '.' || r == '&' || r == ' ' }) {
		if tok == "va" || tok == "and" {
			continue
		}
		a, b, isRange := strings.Cut(tok, "-")
		from, err := strconv.Atoi(a)
		if err != nil || from < 0 {
			return 0, nil, false
		}
		to := from
		if isRange {
			if to, err = strconv.Atoi(b); err != nil || to < from {
				return 0, nil, false
			}
		}
		for n := from; n <= to && len(nums) < allocMarksMost; n++ {
			nums = append(nums, n)
		}
	}
	return mode, nums, len(nums) > 0
}

// allocRangeDash is a dash between two numbers with spaces around it.
var allocRangeDash = regexp.MustCompile(`\s*-\s*`)

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' }

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
