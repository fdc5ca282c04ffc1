package campaign

import (
	"bytes"
	"embed"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	// The campaign's time zone must load in a static binary on a machine without tzdata.
	_ "time/tzdata"
)

//go:embed default_thu_duc_2021.json wards_thu_duc_2021.csv
var defaultFiles embed.FS

// DateLayout is how dates are written in a campaign file.
const DateLayout = "2006-01-02"

// Text is a user-facing text in Vietnamese and English.
type Text struct {
	VI string `json:"vi"`
	EN string `json:"en"`
}

// In returns the text in lang ("vi" or "en"), falling back to Vietnamese.
func (t Text) In(lang string) string {
	if lang == "en" && t.EN != "" {
		return t.EN
	}
	return t.VI
}

// Milestone is a dated step of the campaign's schedule; End is set for a period.
type Milestone struct {
	Key  string    `json:"key"`
	Date time.Time `json:"-"`
	End  time.Time `json:"-"`
	Name Text      `json:"name"`
}

// Ward is an administrative ward the campaign covers.
type Ward struct {
	Code           string `json:"code"`
	Name           string `json:"name"`
	ShortName      string `json:"short_name"`
	ShortNameASCII string `json:"short_name_ascii"`
	NameEN         string `json:"name_en"`
	District       string `json:"former_district,omitempty"`
}

// DisplayName returns the ward's name in lang.
func (w Ward) DisplayName(lang string) string {
	if lang == "en" && w.NameEN != "" {
		return w.NameEN
	}
	return w.Name
}

// Campaign is one city's campaign for one period: everything that differs between Thủ Đức 2021
// and another city or year. It is read from a JSON file (see Load) and never changed after.
type Campaign struct {
	ID                 string
	Name               Text
	City               Text
	Organizer          Text
	RegistrationPrefix string
	TargetStudents     int
	Location           *time.Location
	Start, End         time.Time
	Milestones         []Milestone
	Wards              []Ward
	// Software lists the learning software volunteers install, by school level.
	Software map[SchoolLevel][]string
	// PriorityRules score registrations (see Priority) and say who matching leaves out.
	PriorityRules PriorityRules
	// Schedule says when the jobs run (DefaultSchedule unless the file says otherwise).
	Schedule Schedule
	// RetentionMonths is how many months after End personal data is kept (see RetentionEnd);
	// DefaultRetentionMonths unless the file says otherwise.
	RetentionMonths int
	// RegistrationOpen and RegistrationClose are the first and last days families may register
	// (midnight of each in Location); Start and End unless the file says otherwise.
	RegistrationOpen, RegistrationClose time.Time
	// SchoolYearStart is the first day of the school year the campaign equips children for;
	// children's ages and grades are checked against it, not against today.
	SchoolYearStart time.Time
	// Contacts are whom families can reach (see WardOffice).
	Contacts Contacts

	wardByCode map[string]int
	// wardFolds holds each ward's folded short and full name, for MatchWards.
	wardFolds [][2]string
}

type fileMilestone struct {
	Key  string `json:"key"`
	Date string `json:"date"`
	End  string `json:"end"`
	Name Text   `json:"name"`
}

type file struct {
	ID                 string                   `json:"id"`
	Name               Text                     `json:"name"`
	City               Text                     `json:"city"`
	Organizer          Text                     `json:"organizer"`
	RegistrationPrefix string                   `json:"registration_prefix"`
	TargetStudents     int                      `json:"target_students"`
	TimeZone           string                   `json:"time_zone"`
	Start              string                   `json:"start"`
	End                string                   `json:"end"`
	Milestones         []fileMilestone          `json:"milestones"`
	Wards              []Ward                   `json:"wards"`
	WardsCSV           string                   `json:"wards_csv"`
	Software           map[SchoolLevel][]string `json:"software"`
	Priority           *filePriority            `json:"priority"`
	Schedule           *fileSchedule            `json:"schedule"`
	RetentionMonths    *int                     `json:"retention_months"`
	Contacts           Contacts                 `json:"contacts"`
	fileCalendar
}

// DefaultSource returns the embedded default campaign's file and the folder its wards_csv is read
// from, for a copy with something changed (the load test moves its registration window).
func DefaultSource() ([]byte, fs.FS) {
	b, err := defaultFiles.ReadFile("default_thu_duc_2021.json")
	if err != nil {
		panic(err) // embedded at build time
	}
	return b, defaultFiles
}

// Default returns the embedded default campaign, Thủ Đức City, September 2021.
func Default() *Campaign {
	b, err := defaultFiles.ReadFile("default_thu_duc_2021.json")
	if err != nil {
		panic(err) // embedded at build time
	}
	c, err := Parse(b, defaultFiles)
	if err != nil {
		panic(fmt.Sprintf("embedded default campaign: %v", err))
	}
	return c
}

// LoadFile reads a campaign file. A "wards_csv" in it names a CSV file relative to the campaign
// file's folder, in the columns of the GSO list (code,name,short_name,short_name_ascii,name_en,...);
// wards may instead be listed inline under "wards".
func LoadFile(path string) (*Campaign, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read campaign file: %w", err)
	}
	c, err := Parse(b, os.DirFS(filepath.Dir(path)))
	if err != nil {
		return nil, fmt.Errorf("campaign file %s: %w", path, err)
	}
	return c, nil
}

// Parse reads a campaign from JSON; dir resolves a "wards_csv" reference.
func Parse(b []byte, dir fs.FS) (*Campaign, error) {
	var f file
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if f.ID == "" {
		return nil, fmt.Errorf("id is missing")
	}
	if f.Name.VI == "" {
		return nil, fmt.Errorf("name.vi is missing")
	}
	if f.RegistrationPrefix == "" || len(f.RegistrationPrefix) > 4 || strings.ToUpper(f.RegistrationPrefix) != f.RegistrationPrefix {
		return nil, fmt.Errorf("registration_prefix must be 1-4 upper-case letters, got %q", f.RegistrationPrefix)
	}
	if f.TargetStudents < 0 {
		return nil, fmt.Errorf("target_students must not be negative")
	}
	tz := f.TimeZone
	if tz == "" {
		tz = "Asia/Ho_Chi_Minh"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("time_zone: %w", err)
	}
	c := &Campaign{
		ID: f.ID, Name: f.Name, City: f.City, Organizer: f.Organizer,
		RegistrationPrefix: f.RegistrationPrefix, TargetStudents: f.TargetStudents, Location: loc,
	}
	if c.Start, err = time.ParseInLocation(DateLayout, f.Start, loc); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	if c.End, err = time.ParseInLocation(DateLayout, f.End, loc); err != nil {
		return nil, fmt.Errorf("end: %w", err)
	}
	if c.End.Before(c.Start) {
		return nil, fmt.Errorf("end %s is before start %s", f.End, f.Start)
	}
	for _, m := range f.Milestones {
		ms := Milestone{Key: m.Key, Name: m.Name}
		if ms.Date, err = time.ParseInLocation(DateLayout, m.Date, loc); err != nil {
			return nil, fmt.Errorf("milestone %q date: %w", m.Key, err)
		}
		if m.End != "" {
			if ms.End, err = time.ParseInLocation(DateLayout, m.End, loc); err != nil {
				return nil, fmt.Errorf("milestone %q end: %w", m.Key, err)
			}
		}
		c.Milestones = append(c.Milestones, ms)
	}
	c.Software = map[SchoolLevel][]string{}
	for level, apps := range f.Software {
		if _, _, ok := level.Grades(); !ok {
			return nil, fmt.Errorf("software: unknown school level %q", level)
		}
		c.Software[level] = apps
	}
	if c.PriorityRules, err = parsePriority(f.Priority); err != nil {
		return nil, fmt.Errorf("priority: %w", err)
	}
	if c.Schedule, err = parseSchedule(f.Schedule); err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	c.RetentionMonths = DefaultRetentionMonths
	if f.RetentionMonths != nil {
		// 0 would erase what a family may still ask about the day after the end; a long period
		// is the organiser's call, but a typo of years is not.
		if *f.RetentionMonths < 1 || *f.RetentionMonths > 120 {
			return nil, fmt.Errorf("retention_months must be 1 to 120, got %d", *f.RetentionMonths)
		}
		c.RetentionMonths = *f.RetentionMonths
	}
	if err := c.parseCalendar(f.fileCalendar); err != nil {
		return nil, err
	}
	c.Contacts = f.Contacts
	c.Wards = f.Wards
	if f.WardsCSV != "" {
		if len(c.Wards) > 0 {
			return nil, fmt.Errorf("give wards or wards_csv, not both")
		}
		r, err := dir.Open(f.WardsCSV)
		if err != nil {
			return nil, fmt.Errorf("wards_csv: %w", err)
		}
		defer r.Close()
		if c.Wards, err = ReadWardsCSV(r); err != nil {
			return nil, fmt.Errorf("wards_csv: %w", err)
		}
	}
	if len(c.Wards) == 0 {
		return nil, fmt.Errorf("no wards")
	}
	c.wardByCode = make(map[string]int, len(c.Wards))
	for i, w := range c.Wards {
		if w.Code == "" || w.Name == "" {
			return nil, fmt.Errorf("ward %d: code and name are required", i+1)
		}
		if _, dup := c.wardByCode[w.Code]; dup {
			return nil, fmt.Errorf("ward code %s appears twice", w.Code)
		}
		c.Wards[i].Name = NormalizeText(w.Name)
		if w.ShortName == "" {
			c.Wards[i].ShortName = c.Wards[i].Name
		}
		c.wardByCode[w.Code] = i
		c.wardFolds = append(c.wardFolds, [2]string{Fold(c.Wards[i].ShortName), Fold(c.Wards[i].Name)})
	}
	if err := c.checkContacts(); err != nil {
		return nil, err
	}
	return c, nil
}

// ReadWardsCSV reads wards from a CSV with a header row naming at least the columns code and name;
// short_name, short_name_ascii, name_en and former_district are used when present.
func ReadWardsCSV(r io.Reader) ([]Ward, error) {
	cr := csv.NewReader(r)
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("no rows")
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	if _, ok := col["code"]; !ok {
		return nil, fmt.Errorf("no code column")
	}
	if _, ok := col["name"]; !ok {
		return nil, fmt.Errorf("no name column")
	}
	get := func(row []string, name string) string {
		if i, ok := col[name]; ok && i < len(row) {
			return strings.TrimSpace(row[i])
		}
		return ""
	}
	var wards []Ward
	for _, row := range rows[1:] {
		wards = append(wards, Ward{
			Code: get(row, "code"), Name: get(row, "name"), ShortName: get(row, "short_name"),
			ShortNameASCII: get(row, "short_name_ascii"), NameEN: get(row, "name_en"),
			District: get(row, "former_district"),
		})
	}
	return wards, nil
}

// Ward returns the ward with the given code.
func (c *Campaign) Ward(code string) (Ward, bool) {
	i, ok := c.wardByCode[code]
	if !ok {
		return Ward{}, false
	}
	return c.Wards[i], true
}

// Day returns the calendar day of t in the campaign's time zone, at midnight.
func (c *Campaign) Day(t time.Time) time.Time {
	t = t.In(c.Location)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, c.Location)
}

// Milestone returns the milestone with the given key.
func (c *Campaign) Milestone(key string) (Milestone, bool) {
	for _, m := range c.Milestones {
		if m.Key == key {
			return m, true
		}
	}
	return Milestone{}, false
}
