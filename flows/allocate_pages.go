// allocate_pages.go holds the city-scale proposal's views: the summary by ward, a page of a ward
// or of every ward, and the question asked before everything ticked in a view is confirmed.

package flows

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/thuduc/maytinhchoem/campaign"
)

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
