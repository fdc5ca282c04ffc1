// allocate.go holds /allocate: the flow's registration and steps, the proposal (campaign.Match
// over CaseStore.Proposal) and the review of a small one line by line, each line with its toggle.
// A proposal of more than allocShown lines goes by ward and page (allocate_city.go,
// allocate_pages.go); confirming and telling the families is in allocate_confirm.go.

package flows

import (
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/thuduc/maytinhchoem/campaign"
)

func init() {
	registerFlow(flowSpec{
		name: "allocate",
		commands: []flowCommand{{
			name: "allocate", run: fn1(allocTurn.allocateCommand),
			staff: &staffLine{group: "staff.help.group.cases", rank: 90, text: "staff.help.allocate",
				may: staffMay(campaign.ActionAllocate, func(c Config) bool { return c.Cases != nil })},
		}},
		buttons: []flowButton{{prefix: allocPrefix, run: fn1(allocTurn.allocChoice)}},
		steps:   []stepOwner{{owner: allocPrefix, step: allocStep}},
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
