package campaign

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// The calendar and the contacts of a campaign file: defaults, the window's edges in the
// campaign's time zone, ages and usual birth years against the school year, and every refusal.
func TestParse_CalendarAndContacts(t *testing.T) {
	base := `"id":"y","name":{"vi":"Y"},"registration_prefix":"Y","start":"2022-03-01","end":"2022-03-31","wards":[{"code":"1","name":"Phường A"},{"code":"2","name":"Phường B","name_en":"Ward B"}]`
	parse := func(extra string) (*Campaign, error) {
		body := "{" + base
		if extra != "" {
			body += "," + extra
		}
		return Parse([]byte(body+"}"), fstest.MapFS{})
	}

	c, err := parse("")
	if err != nil {
		t.Fatal(err)
	}
	if !c.RegistrationOpen.Equal(c.Start) || !c.RegistrationClose.Equal(c.End) {
		t.Errorf("default window %v..%v, want the campaign's %v..%v", c.RegistrationOpen, c.RegistrationClose, c.Start, c.End)
	}
	// A campaign starting in March helps the school year begun the September before.
	if got := c.SchoolYearStart.Format(DateLayout); got != "2021-09-05" || c.SchoolYear() != "2021-2022" {
		t.Errorf("default school year start %s (%s)", got, c.SchoolYear())
	}
	if o, ok := c.WardOffice("2"); !ok || o.Name.VI != "UBND Phường B" || o.Name.EN != "Ward B People's Committee" || o.Phone != "" {
		t.Errorf("default office = %+v, %v", o, ok)
	}
	if _, ok := c.WardOffice("9"); ok {
		t.Error("an office for a ward the campaign lacks")
	}

	c, err = parse(`"registration_open":"2022-03-05","registration_close":"2022-03-20","school_year_start":"2021-09-05",
		"contacts":{"hotline":{"name":{"vi":"Tổng đài"},"phone":"1022"},"office_hours":{"vi":"7:30-17:00"},
		"wards":{"1":{"address":"12 Lê Lợi","phone":"028 3896 0000"}}}`)
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02T15:04", s, c.Location)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for s, want := range map[string]RegistrationPhase{
		"2022-03-04T23:59": RegistrationNotYetOpen, "2022-03-05T00:00": RegistrationIsOpen,
		"2022-03-20T23:59": RegistrationIsOpen, "2022-03-21T00:00": RegistrationClosed,
	} {
		if got := c.RegistrationPhaseAt(at(s)); got != want {
			t.Errorf("phase at %s = %d, want %d", s, got, want)
		}
	}
	// 17:30 UTC on the 20th is already the 21st in Saigon.
	if got := c.RegistrationPhaseAt(time.Date(2022, 3, 20, 17, 30, 0, 0, time.UTC)); got != RegistrationClosed {
		t.Errorf("phase at 00:30 on the 21st in Saigon = %d", got)
	}
	if o, _ := c.WardOffice("1"); o.Address != "12 Lê Lợi" || o.Phone != "028 3896 0000" || o.Hours.VI != "7:30-17:00" || o.Name.VI != "UBND Phường A" {
		t.Errorf("office of ward 1 = %+v", o)
	}
	if got := c.UsualBirthYear(11); got != 2005 {
		t.Errorf("usual birth year of grade 11 in 2021-22 = %d, want 2005", got)
	}
	if got := c.UsualBirthYear(1); got != 2015 {
		t.Errorf("usual birth year of grade 1 in 2021-22 = %d, want 2015", got)
	}
	for birth, want := range map[string]int{"2005-09-05": 16, "2005-09-06": 15, "2015-01-01": 6} {
		b, _ := time.Parse(DateLayout, birth)
		if got := c.AgeAtSchoolYearStart(b); got != want {
			t.Errorf("age on 5/9/2021 of a child born %s = %d, want %d", birth, got, want)
		}
	}

	for extra, wantErr := range map[string]string{
		`"registration_open":"2022-03-20","registration_close":"2022-03-05"`: "before registration_open",
		`"registration_open":"5/3/2022"`:                                     "registration_open",
		`"school_year_start":"2021-13-01"`:                                   "school_year_start",
		`"contacts":{"wards":{"9":{"phone":"1"}}}`:                           "not a ward of the campaign",
		`"contacts":{"wards":{"1":{}}}`:                                      "says nothing",
	} {
		if _, err := parse(extra); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s: err = %v, want one containing %q", extra, err, wantErr)
		}
	}
}
