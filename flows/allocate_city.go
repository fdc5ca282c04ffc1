// allocate_city.go holds the city-scale proposal: its snapshot in the state, its buttons, and
// the lines left out or put back by typing. Its views are in allocate_pages.go, its confirmation
// in allocate_confirm.go.

package flows

import (
	"cmp"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/thuduc/maytinhchoem/campaign"
)

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
