package campaign

import (
	"fmt"
	"strings"
	"time"
)

// The campaign's calendar: when families may register and which school year the children are in.
// Staff work (verification, allocation, delivery, reports) is not bound by it: a registration
// window that closes on the 20th still has its cases worked until the end and beyond.

// RegistrationPhase says where a moment stands against the registration window.
type RegistrationPhase int

const (
	// RegistrationNotYetOpen: before RegistrationOpen.
	RegistrationNotYetOpen RegistrationPhase = iota - 1
	// RegistrationIsOpen: from the first moment of RegistrationOpen's day to the last of
	// RegistrationClose's.
	RegistrationIsOpen
	// RegistrationClosed: after RegistrationClose's day.
	RegistrationClosed
)

// RegistrationPhaseAt returns where now stands against the registration window.
func (c *Campaign) RegistrationPhaseAt(now time.Time) RegistrationPhase {
	switch {
	case now.Before(c.RegistrationOpen):
		return RegistrationNotYetOpen
	case !now.Before(c.RegistrationClose.AddDate(0, 0, 1)):
		return RegistrationClosed
	}
	return RegistrationIsOpen
}

// DefaultSchoolYearStart is the school year's first day when the campaign file names none: 5
// September (Vietnam's opening day) of the year in which the campaign starts, or of the year
// before when the campaign starts before July (it then helps the school year already under way).
func DefaultSchoolYearStart(start time.Time) time.Time {
	y := start.Year()
	if start.Month() < time.July {
		y--
	}
	return time.Date(y, time.September, 5, 0, 0, 0, 0, start.Location())
}

// SchoolYear returns the school year's label, "2021-2022".
func (c *Campaign) SchoolYear() string {
	y := c.SchoolYearStart.Year()
	return fmt.Sprintf("%d-%d", y, y+1)
}

// UsualBirthYear is the birth year of a child in grade at its usual age in the campaign's school
// year: grade 1 is the year the child turns 6 (Luật Giáo dục 2019, Điều 28), so a 2021-22 grade 1
// child was born in 2015 and a grade 11 one in 2005.
func (c *Campaign) UsualBirthYear(grade int) int {
	return c.SchoolYearStart.Year() - 5 - grade
}

// AgeAtSchoolYearStart returns the child's age in whole years on the school year's first day.
func (c *Campaign) AgeAtSchoolYearStart(birth time.Time) int {
	s := c.SchoolYearStart
	age := s.Year() - birth.Year()
	if s.Month() < birth.Month() || (s.Month() == birth.Month() && s.Day() < birth.Day()) {
		age--
	}
	return age
}

// Office is a place a family can reach a person: a ward office or a hotline.
type Office struct {
	// Name is who answers: "UBND Phường Linh Trung", "Tổng đài 1022".
	Name Text `json:"name"`
	// Address is where the office is, if it is one.
	Address string `json:"address"`
	// Phone is the number to call, as people write it ("028 3896 0000").
	Phone string `json:"phone"`
	// Hours is when someone answers ("Thứ Hai–Thứ Sáu 7:30–11:30, 13:00–17:00").
	Hours Text `json:"hours"`
}

// Contacts are the people a family can reach: the campaign's hotline and each ward's office.
type Contacts struct {
	// Hotline is the campaign's (or city's) line for anything; it may be empty.
	Hotline Office `json:"hotline"`
	// OfficeHours are the ward offices' hours when a ward's own entry gives none.
	OfficeHours Text `json:"office_hours"`
	// Wards are the ward offices by ward code; a ward not listed is "UBND <ward name>" with
	// OfficeHours and no address or phone.
	Wards map[string]Office `json:"wards"`
}

// WardOffice returns the office a family of the ward reaches; ok is false when the code is not a
// ward of the campaign.
func (c *Campaign) WardOffice(code string) (Office, bool) {
	w, ok := c.Ward(code)
	if !ok {
		return Office{}, false
	}
	o := c.Contacts.Wards[code]
	if o.Name.VI == "" {
		o.Name = Text{VI: "UBND " + w.Name}
		if w.NameEN != "" {
			o.Name.EN = w.NameEN + " People's Committee"
		}
	}
	if o.Hours.VI == "" {
		o.Hours = c.Contacts.OfficeHours
	}
	return o, true
}

type fileCalendar struct {
	RegistrationOpen  string `json:"registration_open"`
	RegistrationClose string `json:"registration_close"`
	SchoolYearStart   string `json:"school_year_start"`
}

// parseCalendar sets the registration window (by default the campaign's Start to End) and the
// school year's start.
func (c *Campaign) parseCalendar(f fileCalendar) error {
	var err error
	day := func(s, name string, def time.Time) (time.Time, error) {
		if s == "" {
			return def, nil
		}
		t, err := time.ParseInLocation(DateLayout, s, c.Location)
		if err != nil {
			return time.Time{}, fmt.Errorf("%s: %w", name, err)
		}
		return t, nil
	}
	if c.RegistrationOpen, err = day(f.RegistrationOpen, "registration_open", c.Start); err != nil {
		return err
	}
	if c.RegistrationClose, err = day(f.RegistrationClose, "registration_close", c.End); err != nil {
		return err
	}
	if c.RegistrationClose.Before(c.RegistrationOpen) {
		return fmt.Errorf("registration_close %s is before registration_open %s",
			c.RegistrationClose.Format(DateLayout), c.RegistrationOpen.Format(DateLayout))
	}
	if c.SchoolYearStart, err = day(f.SchoolYearStart, "school_year_start", DefaultSchoolYearStart(c.Start)); err != nil {
		return err
	}
	return nil
}

// checkContacts refuses contacts of wards the campaign does not have: a typo would otherwise send
// families of the real ward to the default office silently.
func (c *Campaign) checkContacts() error {
	for code, o := range c.Contacts.Wards {
		if _, ok := c.wardByCode[code]; !ok {
			return fmt.Errorf("contacts.wards: %s is not a ward of the campaign", code)
		}
		if strings.TrimSpace(o.Phone+o.Address) == "" && o.Name.VI == "" && o.Hours.VI == "" {
			return fmt.Errorf("contacts.wards: %s says nothing", code)
		}
	}
	return nil
}
