package main

import (
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// withWindow returns the default campaign with another registration window.
func withWindow(t *testing.T, open, last string) *campaign.Campaign {
	t.Helper()
	c := *campaign.Default()
	var err error
	if c.RegistrationOpen, err = time.ParseInLocation(campaign.DateLayout, open, c.Location); err != nil {
		t.Fatal(err)
	}
	if c.RegistrationClose, err = time.ParseInLocation(campaign.DateLayout, last, c.Location); err != nil {
		t.Fatal(err)
	}
	return &c
}

func TestDemoDay(t *testing.T) {
	camp := campaign.Default()
	loc := camp.Location
	at := func(y int, m time.Month, d, hh, mm, ss int) time.Time { return time.Date(y, m, d, hh, mm, ss, 0, loc) }
	if got := camp.RegistrationOpen; !got.Equal(at(2021, 9, 1, 0, 0, 0)) {
		t.Fatalf("the default campaign's registration opens %v; this test expects 1 September 2021", got)
	}
	if got := camp.RegistrationClose; !got.Equal(at(2021, 9, 30, 0, 0, 0)) {
		t.Fatalf("the default campaign's registration closes %v; this test expects 30 September 2021", got)
	}
	for _, tc := range []struct {
		name string
		now  time.Time
		want time.Time
	}{
		{"inside: now itself", at(2021, 9, 20, 14, 3, 7).Add(123 * time.Millisecond), at(2021, 9, 20, 14, 3, 7).Add(123 * time.Millisecond)},
		{"first moment of the window", at(2021, 9, 1, 0, 0, 0), at(2021, 9, 1, 0, 0, 0)},
		{"last moment of the window", at(2021, 9, 30, 23, 59, 59), at(2021, 9, 30, 23, 59, 59)},
		{"before: a day inside, at now's time", at(2021, 8, 31, 23, 59, 59), at(2021, 9, 10, 23, 59, 59)},
		{"long before", at(2020, 1, 15, 8, 30, 0), at(2021, 9, 10, 8, 30, 0)},
		{"just after", at(2021, 10, 1, 0, 0, 0), at(2021, 9, 10, 0, 0, 0)},
		{"today, years after", at(2026, 12, 5, 9, 15, 42).Add(987 * time.Millisecond), at(2021, 9, 10, 9, 15, 42)},
		// The time of day is the campaign's: 02:15 UTC is 09:15 in Hồ Chí Minh City.
		{"now in another zone", time.Date(2026, 12, 5, 2, 15, 0, 0, time.UTC), at(2021, 9, 10, 9, 15, 0)},
		{"its time of day crosses midnight in the campaign's zone", time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC), at(2021, 9, 10, 3, 0, 0)},
	} {
		got := demoDay(camp, tc.now)
		if !got.Equal(tc.want) || got.Location() != loc {
			t.Errorf("%s: demoDay(%v) = %v, want %v", tc.name, tc.now, got, tc.want)
		}
		if camp.RegistrationPhaseAt(got) != campaign.RegistrationIsOpen {
			t.Errorf("%s: demoDay(%v) = %v is outside the registration window", tc.name, tc.now, got)
		}
	}
}

func TestDemoDay_OtherWindows(t *testing.T) {
	now := time.Date(2026, 12, 5, 9, 15, 0, 0, time.UTC) // 16:15 in the campaign's zone
	for _, tc := range []struct {
		open, last, want string
	}{
		{"2021-09-01", "2021-09-01", "2021-09-01"}, // a window of one day
		{"2021-09-01", "2021-09-02", "2021-09-01"},
		{"2021-09-01", "2021-09-04", "2021-09-02"},
		{"2021-08-15", "2021-09-14", "2021-08-25"}, // across months
		{"2021-12-20", "2022-01-19", "2021-12-30"}, // across years
		{"2030-03-01", "2030-05-31", "2030-03-31"}, // a window to come
	} {
		c := withWindow(t, tc.open, tc.last)
		got := demoDay(c, now)
		want, _ := time.ParseInLocation("2006-01-02 15:04", tc.want+" 16:15", c.Location)
		if !got.Equal(want) {
			t.Errorf("window %s..%s: demoDay = %v, want %v", tc.open, tc.last, got, want)
		}
	}
}

func TestDemoNote(t *testing.T) {
	camp := campaign.Default()
	at := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 10, 0, 0, 0, camp.Location) }
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{at(2021, 9, 10), "Bản demo: hôm nay là 10/09/2021 (chiến dịch nhận đăng ký 01/09–30/09/2021) · Demo day: 10 Sep 2021 (registration open 1–30 Sep 2021)"},
		{at(2021, 8, 20), "Bản demo: hôm nay là 20/08/2021 (chưa mở đăng ký; chiến dịch nhận đăng ký 01/09–30/09/2021) · Demo day: 20 Aug 2021 (registration not open yet; open 1–30 Sep 2021)"},
		{at(2026, 12, 5), "Bản demo: hôm nay là 05/12/2026 (đã hết hạn đăng ký; chiến dịch nhận đăng ký 01/09–30/09/2021) · Demo day: 5 Dec 2026 (registration closed; it was open 1–30 Sep 2021)"},
	} {
		if got := demoNote(camp, tc.at); got != tc.want {
			t.Errorf("demoNote(%v)\n got %s\nwant %s", tc.at, got, tc.want)
		}
	}
	for _, tc := range []struct {
		open, last, vi, en string
	}{
		{"2021-09-01", "2021-09-01", "01/09/2021", "1 Sep 2021"},
		{"2021-08-15", "2021-09-14", "15/08–14/09/2021", "15 Aug – 14 Sep 2021"},
		{"2021-12-20", "2022-01-19", "20/12/2021–19/01/2022", "20 Dec 2021 – 19 Jan 2022"},
	} {
		c := withWindow(t, tc.open, tc.last)
		if got := viDayRange(c.RegistrationOpen, c.RegistrationClose); got != tc.vi {
			t.Errorf("viDayRange %s..%s = %q, want %q", tc.open, tc.last, got, tc.vi)
		}
		if got := enDayRange(c.RegistrationOpen, c.RegistrationClose); got != tc.en {
			t.Errorf("enDayRange %s..%s = %q, want %q", tc.open, tc.last, got, tc.en)
		}
	}
}
