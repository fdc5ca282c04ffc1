package chart

import (
	"fmt"
	"strconv"
	"time"

	"github.com/thuduc/maytinhchoem/locales"
)

// words are the chart's texts in one language, from the catalog (package locales, ids
// "chart.*"): the fixed ones looked up once a chart, the ones with figures as they are drawn.
type words struct {
	cat         *locales.Catalog
	lang        string
	notStarted  string
	ended       string
	wardsTitle  string
	wardsNote   string
	wardTitle   string // heading of the panel of a ward summary's single row
	wardNote    string
	registered  string
	verified    string
	delivered   string
	noData      string
	cumTitle    string
	thousandSep string
}

// withFigures are the ids of the texts drawn with figures, looked up when drawn.
var withFigures = []string{"chart.day_of", "chart.figures_at", "chart.date", "chart.delivered_so_far", "chart.plan_by"}

// wordsFor returns the chart's words in lang; like campaign.Text.In, any language but English
// is Vietnamese. It fails on a message the catalog lacks, which the catalog's tests rule out,
// so that drawing need not fail.
func wordsFor(lang string) (words, error) {
	cat, err := locales.Load()
	if err != nil {
		return words{}, fmt.Errorf("chart: %w", err)
	}
	if lang != locales.EN {
		lang = locales.VI
	}
	var missing error
	text := func(id string) string {
		s, err := cat.Text(lang, id, nil)
		if err != nil && missing == nil {
			missing = fmt.Errorf("chart: words: %w", err)
		}
		return s
	}
	w := words{
		cat:         cat,
		lang:        lang,
		notStarted:  text("chart.not_started"),
		ended:       text("chart.ended"),
		wardsTitle:  text("chart.wards_title"),
		wardsNote:   text("chart.wards_note"),
		wardTitle:   text("chart.ward_title"),
		wardNote:    text("chart.ward_note"),
		registered:  text("chart.registered"),
		verified:    text("chart.verified"),
		delivered:   text("chart.delivered"),
		noData:      text("chart.no_data"),
		cumTitle:    text("chart.cumulative_title"),
		thousandSep: text("chart.thousands_sep"),
	}
	for _, id := range withFigures {
		text(id)
	}
	return w, missing
}

// text is message id with data; wordsFor has checked that the catalog has it.
func (w words) text(id string, data map[string]any) string {
	s, _ := w.cat.Text(w.lang, id, data)
	return s
}

// count writes n with the language's thousands separator: 3.200 in Vietnamese, 3,200 in English.
func (w words) count(n int) string {
	s := strconv.Itoa(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + w.thousandSep + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// dayOfWindow says where day stands in a window of days days: "ngày 20/30".
func (w words) dayOfWindow(day, days int) string {
	switch {
	case day < 1:
		return w.notStarted
	case day > days:
		return w.ended
	}
	return w.text("chart.day_of", map[string]any{"Day": day, "Days": days})
}

// date says the summary's date and the day of the window: "Ngày 20/09/2021 (ngày 20/30)".
func (w words) date(date time.Time, day string) string {
	return w.text("chart.date", map[string]any{"Date": dayMonthYear(date), "Day": day})
}

// figuresAt says when the figures were taken: "số liệu lúc 17:00".
func (w words) figuresAt(clock string) string {
	return w.text("chart.figures_at", map[string]any{"Time": clock})
}

// deliveredSoFar is the legend of the deliveries line: "Đã trao: 3.200".
func (w words) deliveredSoFar(n int) string {
	return w.text("chart.delivered_so_far", map[string]any{"Delivered": w.count(n)})
}

// planBy is the legend of the plan line: "Kế hoạch đến 20/09: 4.100".
func (w words) planBy(date time.Time, n int) string {
	return w.text("chart.plan_by", map[string]any{"Date": dayMonth(date), "Planned": w.count(n)})
}

// Dates are day first in both languages: the English text is read in Vietnam.
func dayMonthYear(t time.Time) string { return t.Format("02/01/2006") }
func dayMonth(t time.Time) string     { return t.Format("02/01") }
