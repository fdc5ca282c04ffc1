package chart

import (
	"fmt"
	"strconv"
	"time"
)

// words holds the chart's texts in one language. They are few and only the chart draws them,
// so they live here rather than in the flows' message catalogue.
type words struct {
	dayOf       string // "(ngày 20/30)": day of the window, and how many
	notStarted  string
	ended       string
	figuresAt   string // "số liệu lúc 17:00"
	wardsTitle  string
	wardsNote   string
	wardTitle   string // heading of the panel of a ward summary's single row
	wardNote    string
	registered  string
	verified    string
	delivered   string
	noData      string
	cumTitle    string
	deliveredN  string // legend: deliveries so far
	planN       string // legend: the plan by the day shown
	thousandSep string
}

var vi = words{
	dayOf:       "ngày %d/%d",
	notStarted:  "chưa bắt đầu",
	ended:       "đã kết thúc",
	figuresAt:   "số liệu lúc %s",
	wardsTitle:  "Theo phường",
	wardsNote:   "Xếp theo số em đã duyệt còn chờ thiết bị, nhiều nhất ở trên; số ghi: đã trao/đăng ký",
	wardTitle:   "Số em",
	wardNote:    "Số ghi: đã trao/đăng ký",
	registered:  "Đăng ký",
	verified:    "Đã duyệt",
	delivered:   "Đã trao",
	noData:      "Chưa có số liệu",
	cumTitle:    "Thiết bị đã trao cộng dồn so với kế hoạch",
	deliveredN:  "Đã trao: %s",
	planN:       "Kế hoạch đến %s: %s",
	thousandSep: ".",
}

var en = words{
	dayOf:       "day %d of %d",
	notStarted:  "not started",
	ended:       "ended",
	figuresAt:   "figures at %s",
	wardsTitle:  "By ward",
	wardsNote:   "Most verified children still waiting for a device on top; figures: delivered/registered",
	wardTitle:   "Children",
	wardNote:    "Figures: delivered/registered",
	registered:  "Registered",
	verified:    "Verified",
	delivered:   "Delivered",
	noData:      "No figures yet",
	cumTitle:    "Cumulative deliveries against the plan",
	deliveredN:  "Delivered: %s",
	planN:       "Plan by %s: %s",
	thousandSep: ",",
}

// wordsFor follows campaign.Text.In: English for "en", Vietnamese for anything else.
func wordsFor(lang string) words {
	if lang == "en" {
		return en
	}
	return vi
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

// dayOfWindow says where day stands in a window of days days.
func (w words) dayOfWindow(day, days int) string {
	switch {
	case day < 1:
		return w.notStarted
	case day > days:
		return w.ended
	}
	return fmt.Sprintf(w.dayOf, day, days)
}

// Dates are day first in both languages: the English text is read in Vietnam.
func dayMonthYear(t time.Time) string { return t.Format("02/01/2006") }
func dayMonth(t time.Time) string     { return t.Format("02/01") }
