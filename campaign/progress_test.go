package campaign

import (
	"fmt"
	"testing"
	"time"
)

// utc is a moment given in UTC; the default campaign's zone is UTC+7, so 17:00Z is local midnight.
func utc(month time.Month, day, hour, minute, sec int) time.Time {
	return time.Date(2021, month, day, hour, minute, sec, 0, time.UTC)
}

func TestCampaign_WindowDay(t *testing.T) {
	c := Default()
	tests := []struct {
		name   string
		at     time.Time
		want   int
		inside bool
	}{
		{"last second of 31/8 local", utc(8, 31, 16, 59, 59), 0, false},
		{"first second of 1/9 local", utc(8, 31, 17, 0, 0), 1, true},
		{"1/9 noon local", utc(9, 1, 5, 0, 0), 1, true},
		{"last second of 16/9 local", utc(9, 16, 16, 59, 59), 16, true},
		{"first second of 17/9 local", utc(9, 16, 17, 0, 0), 17, true},
		{"last second of 30/9 local", utc(9, 30, 16, 59, 59), 30, true},
		{"first second of 1/10 local", utc(9, 30, 17, 0, 0), 31, false},
		{"a week before", utc(8, 25, 3, 0, 0), -6, false},
		{"same moment in another zone", time.Date(2021, 9, 17, 0, 30, 0, 0, c.Location), 17, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, inside := c.WindowDay(tt.at)
			if n != tt.want || inside != tt.inside {
				t.Errorf("WindowDay(%s) = %d, %v; want %d, %v", tt.at.Format(time.RFC3339), n, inside, tt.want, tt.inside)
			}
		})
	}
	if got := c.WindowDays(); got != 30 {
		t.Errorf("WindowDays() = %d, want 30", got)
	}
}

func TestCampaign_LocalDate(t *testing.T) {
	c := Default()
	for _, tt := range []struct {
		at   time.Time
		want string
	}{
		{utc(9, 16, 16, 59, 59), "2021-09-16"},
		{utc(9, 16, 17, 0, 0), "2021-09-17"},
	} {
		got := c.LocalDate(tt.at)
		if got.Format(DateLayout) != tt.want || got.Location() != c.Location || got.Hour() != 0 {
			t.Errorf("LocalDate(%s) = %s, want %s at local midnight", tt.at.Format(time.RFC3339), got, tt.want)
		}
	}
}

func TestCampaign_PlannedDeliveries(t *testing.T) {
	c := Default() // hand-over 17/9 to 30/9: 14 days
	tests := []struct {
		name  string
		at    time.Time
		total int
		want  int
	}{
		{"16/9 end of day", utc(9, 16, 16, 59, 59), 3200, 0},
		{"17/9 first second", utc(9, 16, 17, 0, 0), 3200, 229}, // ceil(3200/14) = ceil(228.57)
		{"17/9 evening", utc(9, 17, 13, 0, 0), 3200, 229},
		{"23/9, day 7 of 14", utc(9, 23, 5, 0, 0), 3200, 1600},
		{"24/9, day 8 of 14", utc(9, 24, 5, 0, 0), 3200, 1829}, // ceil(3200*8/14) = ceil(1828.57)
		{"29/9, day 13", utc(9, 29, 5, 0, 0), 3200, 2972},      // ceil(2971.43)
		{"30/9 first second", utc(9, 29, 17, 0, 0), 3200, 3200},
		{"1/10", utc(10, 1, 5, 0, 0), 3200, 3200},
		{"far after", utc(12, 1, 5, 0, 0), 7, 7},
		{"one to deliver, first day", utc(9, 17, 5, 0, 0), 1, 1},
		{"nothing to deliver", utc(9, 20, 5, 0, 0), 0, 0},
		{"negative total", utc(9, 20, 5, 0, 0), -5, 0},
		{"14 over 14 days", utc(9, 18, 5, 0, 0), 14, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.PlannedDeliveries(tt.at, tt.total); got != tt.want {
				t.Errorf("PlannedDeliveries(%s, %d) = %d, want %d", tt.at.Format(time.RFC3339), tt.total, got, tt.want)
			}
		})
	}

	t.Run("never decreases and ends at total", func(t *testing.T) {
		prev := 0
		for at := utc(9, 10, 10, 0, 0); at.Before(utc(10, 5, 0, 0, 0)); at = at.Add(time.Hour) {
			got := c.PlannedDeliveries(at, 1000)
			if got < prev || got > 1000 {
				t.Fatalf("PlannedDeliveries(%s) = %d after %d", at.Format(time.RFC3339), got, prev)
			}
			prev = got
		}
		if prev != 1000 {
			t.Errorf("after the window the plan is %d, want 1000", prev)
		}
	})

	t.Run("no handover milestone spreads over the window", func(t *testing.T) {
		c := Default()
		c.Milestones = nil // the window is 1/9 to 30/9: 30 days
		if got := c.PlannedDeliveries(utc(9, 1, 5, 0, 0), 300); got != 10 {
			t.Errorf("day 1 of 30 = %d, want 10", got)
		}
		if got := c.PlannedDeliveries(utc(8, 31, 5, 0, 0), 300); got != 0 {
			t.Errorf("before the window = %d, want 0", got)
		}
	})

	t.Run("one-day handover", func(t *testing.T) {
		c := Default()
		c.Milestones = []Milestone{{Key: MilestoneHandover, Date: time.Date(2021, 9, 20, 0, 0, 0, 0, c.Location)}}
		if got := c.PlannedDeliveries(utc(9, 19, 16, 59, 59), 50); got != 0 {
			t.Errorf("the day before = %d, want 0", got)
		}
		if got := c.PlannedDeliveries(utc(9, 19, 17, 0, 0), 50); got != 50 {
			t.Errorf("the day itself = %d, want 50", got)
		}
	})
}

func TestCampaign_Milestones(t *testing.T) {
	c := Default() // plan 13/9, launch 15/9, handover 17-30/9, final_report 1/10
	tests := []struct {
		name      string
		at        time.Time
		on, next  string // "" for none
		daysAhead int
	}{
		{"1/9", utc(9, 1, 5, 0, 0), "", "plan", 12},
		{"12/9 late evening", utc(9, 12, 16, 59, 59), "", "plan", 1},
		{"13/9 first second", utc(9, 12, 17, 0, 0), "plan", "launch", 2},
		{"15/9", utc(9, 15, 5, 0, 0), "launch", "handover", 2},
		{"16/9 last second", utc(9, 16, 16, 59, 59), "", "handover", 1},
		{"17/9", utc(9, 16, 17, 0, 0), "handover", "final_report", 14},
		{"30/9", utc(9, 30, 5, 0, 0), "handover", "final_report", 1},
		{"1/10", utc(9, 30, 17, 0, 0), "final_report", "", 0},
		{"2/10", utc(10, 2, 5, 0, 0), "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			on, ok := c.MilestoneOn(tt.at)
			if ok != (tt.on != "") || on.Key != tt.on {
				t.Errorf("MilestoneOn = %q, %v; want %q", on.Key, ok, tt.on)
			}
			next, ok := c.NextMilestone(tt.at)
			if ok != (tt.next != "") || next.Key != tt.next {
				t.Errorf("NextMilestone = %q, %v; want %q", next.Key, ok, tt.next)
			}
			p := Progress{At: tt.at}
			p.Settle(c)
			if tt.next != "" && (p.Next == nil || p.Next.Key != tt.next || p.DaysToNext != tt.daysAhead) {
				t.Errorf("Settle: Next = %v in %d days, want %s in %d", p.Next, p.DaysToNext, tt.next, tt.daysAhead)
			}
			if tt.next == "" && p.Next != nil {
				t.Errorf("Settle: Next = %v, want none", p.Next.Key)
			}
			if (p.Today == nil) != (tt.on == "") || (p.Today != nil && p.Today.Key != tt.on) {
				t.Errorf("Settle: Today = %v, want %q", p.Today, tt.on)
			}
		})
	}

	t.Run("a day inside a period is the more specific", func(t *testing.T) {
		c := Default()
		c.Milestones = append(c.Milestones, Milestone{Key: "visit", Date: time.Date(2021, 9, 20, 0, 0, 0, 0, c.Location)})
		if m, _ := c.MilestoneOn(utc(9, 20, 5, 0, 0)); m.Key != "visit" {
			t.Errorf("MilestoneOn(20/9) = %q, want visit", m.Key)
		}
		if m, _ := c.MilestoneOn(utc(9, 21, 5, 0, 0)); m.Key != "handover" {
			t.Errorf("MilestoneOn(21/9) = %q, want handover", m.Key)
		}
		// The milestones need not be listed in date order.
		if m, _ := c.NextMilestone(utc(9, 18, 5, 0, 0)); m.Key != "visit" {
			t.Errorf("NextMilestone(18/9) = %q, want visit", m.Key)
		}
	})
}

func TestProgress_Settle(t *testing.T) {
	c := Default()
	p := Progress{
		At:            utc(9, 23, 12, 0, 0), // 19:00 on 23/9, day 7 of 14 of the hand-over
		Registrations: RegistrationCounts{Total: 500, Verified: 280},
		Wards: []WardProgress{
			{Code: "26800", Registered: 100, Verified: 60, Delivered: 50},
			{Code: "26794", Registered: 90, Verified: 80, Delivered: 40},
			{Code: "26797", Registered: 40, Verified: 30, Delivered: 20},
			{Code: "26803", Registered: 0},
			{Code: "26770", Registered: 50, Verified: 40, Delivered: 30},
		},
	}
	p.Settle(c)
	if p.Date.Format(DateLayout) != "2021-09-23" || p.Day != 23 || !p.InWindow {
		t.Errorf("date %s day %d in window %v, want 2021-09-23 day 23 in window", p.Date.Format(DateLayout), p.Day, p.InWindow)
	}
	if p.Target != 3200 {
		t.Errorf("Target = %d, want 3200", p.Target)
	}
	if want := 140; p.Planned != want { // 280 × 7/14
		t.Errorf("Planned = %d, want %d", p.Planned, want)
	}
	var got []string
	for _, w := range p.Wards {
		got = append(got, fmt.Sprintf("%s:%d", w.Code, w.Gap))
	}
	want := "[26794:40 26770:10 26797:10 26800:10 26803:0]"
	if fmt.Sprint(got) != want {
		t.Errorf("wards = %v, want %s", got, want)
	}

	ward := Progress{At: p.At, WardCode: "26800", Registrations: RegistrationCounts{Verified: 14}, Wards: []WardProgress{{Code: "26800", Verified: 14, Delivered: 9}}}
	ward.Settle(c)
	if ward.Target != 0 || ward.Planned != 7 { // 14 × 7/14
		t.Errorf("ward: Target %d Planned %d, want 0 and 7", ward.Target, ward.Planned)
	}
	if len(ward.Wards) != 1 || ward.Wards[0].Gap != 5 {
		t.Errorf("ward: Wards = %+v, want one row with gap 5", ward.Wards)
	}
}

func TestPledgeCounts_DeviceCount(t *testing.T) {
	p := PledgeCounts{Devices: map[DeviceType]int{DeviceLaptop: 3, DeviceTablet: 4}}
	if got := p.DeviceCount(); got != 7 {
		t.Errorf("DeviceCount() = %d, want 7", got)
	}
}

func TestProgressBar(t *testing.T) {
	tests := []struct {
		done, total, width int
		want               string
	}{
		{0, 3200, 10, "░░░░░░░░░░ 0%"},
		{1280, 3200, 10, "▓▓▓▓░░░░░░ 40%"},
		{3199, 3200, 10, "▓▓▓▓▓▓▓▓▓░ 99%"}, // not rounded up to a full bar
		{3200, 3200, 10, "▓▓▓▓▓▓▓▓▓▓ 100%"},
		{3840, 3200, 10, "▓▓▓▓▓▓▓▓▓▓ 120%"},
		{5, 0, 10, "░░░░░░░░░░ –"},
		{0, 0, 4, "░░░░ –"},
		{1, 3, 6, "▓▓░░░░ 33%"},
		{2, 4, 0, "▓▓▓▓▓░░░░░ 50%"}, // default width
		{-3, 10, 5, "░░░░░ 0%"},
	}
	for _, tt := range tests {
		if got := ProgressBar(tt.done, tt.total, tt.width); got != tt.want {
			t.Errorf("ProgressBar(%d, %d, %d) = %q, want %q", tt.done, tt.total, tt.width, got, tt.want)
		}
	}
}
