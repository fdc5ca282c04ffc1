package campaign

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MilestoneHandover is the key of the milestone whose period is the hand-over window: the plan
// for deliveries (PlannedDeliveries) is spread over it.
const MilestoneHandover = "handover"

// LocalDate returns the calendar date of t in the campaign's time zone, at local midnight. It is
// Day under the name the schedule arithmetic reads with.
func (c *Campaign) LocalDate(t time.Time) time.Time { return c.Day(t) }

// WindowDays returns how many days the campaign's window has, both ends included.
func (c *Campaign) WindowDays() int { return daysBetween(c.Start, c.End) + 1 }

// WindowDay returns which day of the campaign's window t falls on, counted in the campaign's time
// zone: 1 on the Start date, WindowDays() on the End date. Outside the window n keeps counting
// (0 the day before Start, WindowDays()+1 the day after End) and inWindow is false, so a summary
// can still say "3 days before the start".
//
// (Campaign.Day already names the local date, so the day number has a name of its own.)
func (c *Campaign) WindowDay(t time.Time) (n int, inWindow bool) {
	n = daysBetween(c.Start, c.LocalDate(t)) + 1
	return n, n >= 1 && n <= c.WindowDays()
}

// MilestoneOn returns the milestone that falls on date's local day: one dated that day, or a
// period (Date to End) that includes it. When several do, the one starting latest wins, because a
// one-day event inside a period says more about the day than the period does.
func (c *Campaign) MilestoneOn(date time.Time) (Milestone, bool) {
	day := c.LocalDate(date)
	var found Milestone
	ok := false
	for _, m := range c.Milestones {
		last := m.End
		if last.IsZero() {
			last = m.Date
		}
		if daysBetween(m.Date, day) < 0 || daysBetween(day, last) < 0 {
			continue
		}
		if !ok || daysBetween(found.Date, m.Date) > 0 {
			found, ok = m, true
		}
	}
	return found, ok
}

// NextMilestone returns the first milestone that starts after t's local day (earliest first, the
// file's order between milestones of one day); ok is false when none is left. A milestone of
// today is not "next": MilestoneOn tells what today is.
func (c *Campaign) NextMilestone(t time.Time) (Milestone, bool) {
	day := c.LocalDate(t)
	var found Milestone
	ok := false
	for _, m := range c.Milestones {
		if daysBetween(day, m.Date) <= 0 {
			continue
		}
		if !ok || daysBetween(m.Date, found.Date) > 0 {
			found, ok = m, true
		}
	}
	return found, ok
}

// handoverPeriod returns the first and last day of the hand-over: the "handover" milestone (a
// milestone without an End is one day), or the whole window when the campaign has none.
func (c *Campaign) handoverPeriod() (first, last time.Time) {
	m, ok := c.Milestone(MilestoneHandover)
	if !ok {
		return c.Start, c.End
	}
	if m.End.IsZero() {
		return m.Date, m.Date
	}
	return m.Date, m.End
}

// PlannedDeliveries returns how many of total deliveries the plan expects done by the end of t's
// local day. The plan spreads total evenly over the days of the hand-over period (17 to 30
// September in the default campaign: 14 days): none before its first day, ceil(total × k / days)
// by the end of its k-th day, all of it from its last day on. Rounding up keeps the plan
// demanding: a day's share of one device is still a device to deliver that day.
//
// The daily summary passes the verified count (Progress.Registrations.Verified), not the
// campaign's target: children are handed devices only once verified, and a ward has no target
// of its own.
func (c *Campaign) PlannedDeliveries(t time.Time, total int) int {
	if total <= 0 {
		return 0
	}
	first, last := c.handoverPeriod()
	day := c.LocalDate(t)
	k := daysBetween(first, day) + 1
	days := daysBetween(first, last) + 1
	switch {
	case k < 1:
		return 0
	case k >= days:
		return total
	}
	return int((int64(total)*int64(k) + int64(days) - 1) / int64(days))
}

// daysBetween returns the number of calendar days from a's date to b's date, each read in its
// own location; negative when b is before a. Dates are compared as civil dates in UTC, so a
// daylight-saving change (none in Vietnam, but a campaign file may name another zone) never makes
// a day 23 or 25 hours long.
func daysBetween(a, b time.Time) int {
	ua := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	ub := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int(ub.Sub(ua).Hours() / 24)
}

// Progress is where the campaign stands at one moment, for the whole city (WardCode "") or one
// ward: the figures of the daily summary. A ProgressStore counts them; Settle adds what follows
// from the counts and the schedule.
type Progress struct {
	// At is the moment the figures stand on; Date is its local date, at local midnight.
	At   time.Time
	Date time.Time
	// Day is the day of the window Date falls on (see WindowDay); InWindow is false outside it.
	Day      int
	InWindow bool
	// WardCode is the ward the figures are scoped to, "" for the city.
	WardCode string
	// Target is the number of students the campaign aims to equip (3,200 in Thủ Đức); 0 for a
	// ward, which has no target of its own.
	Target int

	Registrations RegistrationCounts
	Pledges       PledgeCounts
	Devices       DevicePipeline

	// Delivered is the number of children whose delivery was handed over (registrations
	// delivered); Planned is how many the plan wants handed over by the end of Date:
	// PlannedDeliveries(At, Registrations.Verified).
	Delivered int
	Planned   int

	// Wards has one row per ward, the widest gap first (then by code): every ward of the campaign
	// for the city, only the ward itself for a ward.
	Wards []WardProgress

	// Schools counts the scope's registrations by school (SchoolTally.Schools: most first, the
	// registrations without a school last); their totals add up to Registrations.Total.
	Schools []SchoolCount

	// Today is the milestone that falls on Date, nil when none; Next the next one, nil when none
	// is left, DaysToNext days away.
	Today      *Milestone
	Next       *Milestone
	DaysToNext int
}

// RegistrationCounts counts registrations by where they stand. Verified counts every
// registration officials approved, also those allocated or delivered since, because approval is
// what the campaign is measured on; Pending is what still waits for officials or the parent
// (submitted and needs_info); Withdrawn those the family withdrew. Total is all of them, rejected
// and withdrawn included, so the figures add up both ways:
//
//	Total = Verified + Rejected + Pending + Withdrawn = BySource.Sum()
type RegistrationCounts struct {
	Total     int
	NewToday  int // created on the local day of Progress.At
	Verified  int // verified + allocated + delivered
	Rejected  int
	Pending   int // submitted + needs_info
	Withdrawn int
	// BySource counts them by how they came: a family's chat, a list, staff on the family's behalf.
	BySource SourceCounts
}

// PledgeCounts sums what donors promised in pledges that were not cancelled, and the money
// actually received. For a ward it counts the pledges brought to that ward's office.
type PledgeCounts struct {
	Pledges       int                // pledges not cancelled
	Devices       map[DeviceType]int // devices promised, by type
	MoneyPledged  int64              // VND promised
	MoneyReceived int64              // VND received (money records), whether spent or not
	SIMs          int
	USBWiFi       int
	Packages      int // internet packages, whatever their months
}

// DeviceCount returns the number of devices promised, all types together.
func (p PledgeCounts) DeviceCount() int {
	n := 0
	for _, v := range p.Devices {
		n += v
	}
	return n
}

// DevicePipeline counts devices by where they are now, each device once. Received is every
// device taken in, in any state, so Received = InWork + Ready + Unusable + Allocated + Delivered.
// For a ward, devices not yet allocated count where they are kept (the ward office their pledge
// was brought to), allocated and delivered ones by the child's ward.
type DevicePipeline struct {
	Received  int
	InWork    int // received, checking, needs_parts or returned: volunteers still have it
	Ready     int // checked, wiped, software installed: can be allocated
	Unusable  int
	Allocated int // promised to a child, not yet handed over
	Delivered int
}

// WardProgress is one ward's line of the summary. Gap is Verified − Delivered: approved children
// still waiting for their device, the ward's unmet need that allocation and delivery can close.
type WardProgress struct {
	Code       string
	Registered int // all registrations of the ward, rejected included
	Verified   int // verified + allocated + delivered
	Delivered  int
	Gap        int
}

// Settle fills what follows from the counts and the campaign's schedule: Date, Day, InWindow,
// Target, Planned, Today, Next, DaysToNext and each ward's Gap, and sorts Wards widest gap first.
// p.At, p.WardCode and the counts must be set.
func (p *Progress) Settle(c *Campaign) {
	p.Date = c.LocalDate(p.At)
	p.Day, p.InWindow = c.WindowDay(p.At)
	p.Target = 0
	if p.WardCode == "" {
		p.Target = c.TargetStudents
	}
	p.Planned = c.PlannedDeliveries(p.At, p.Registrations.Verified)
	p.Today, p.Next, p.DaysToNext = nil, nil, 0
	if m, ok := c.MilestoneOn(p.At); ok {
		p.Today = &m
	}
	if m, ok := c.NextMilestone(p.At); ok {
		p.Next = &m
		p.DaysToNext = daysBetween(p.Date, m.Date)
	}
	for i := range p.Wards {
		p.Wards[i].Gap = p.Wards[i].Verified - p.Wards[i].Delivered
	}
	slices.SortFunc(p.Wards, func(a, b WardProgress) int {
		if a.Gap != b.Gap {
			return cmp.Compare(b.Gap, a.Gap)
		}
		return strings.Compare(a.Code, b.Code)
	})
}

// ProgressStore counts the campaign's progress figures.
type ProgressStore interface {
	// Progress returns the figures at the moment at, for the city when wardCode is "" and for
	// that ward otherwise (ENOTFOUND for a ward the campaign does not have), settled (see
	// Progress.Settle). Records created after at still count: the figures are those of now,
	// with "new today" and the plan read on at's local day.
	Progress(ctx context.Context, at time.Time, wardCode string) (Progress, error)
}

// Cells of a text progress bar: done and to do. They render in the same width in the fonts of
// Telegram and Zalo, unlike emoji squares.
const (
	barDone     = "▓"
	barToDo     = "░"
	defaultBarW = 10
)

// ProgressBar draws done out of total as a text bar of width cells (10 when width < 1) followed
// by the percentage, "▓▓▓▓░░░░░░ 40%". Cells and percentage are rounded down, so the bar is full
// and says 100% only when everything is done; past the total the bar stays full and the
// percentage says how far past (120%). With nothing to do (total ≤ 0) the bar is empty and the
// percentage is "–", since no share of nothing is meaningful.
func ProgressBar(done, total, width int) string {
	if width < 1 {
		width = defaultBarW
	}
	done = max(done, 0)
	if total <= 0 {
		return strings.Repeat(barToDo, width) + " –"
	}
	filled := min(int(int64(done)*int64(width)/int64(total)), width)
	pct := int64(done) * 100 / int64(total)
	return strings.Repeat(barDone, filled) + strings.Repeat(barToDo, width-filled) + " " + strconv.FormatInt(pct, 10) + "%"
}
