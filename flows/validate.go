package flows

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"

	"github.com/thuduc/maytinhchoem/campaign"
)

// invalid is why a typed answer was refused: the id of the message that tells the user, and the
// message's template data. Validators return it as their error so tests can check the reason.
type invalid struct {
	ID   string
	Data map[string]any
}

func (e *invalid) Error() string { return e.ID }

func refuse(id string, kv ...any) *invalid {
	return &invalid{ID: id, Data: dataOf(kv)}
}

// dataOf turns "Key", value pairs into template data.
func dataOf(kv []any) map[string]any {
	if len(kv) == 0 {
		return nil
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// Limits of typed answers, in characters after normalisation.
const (
	nameMin      = 2
	nameMax      = 100
	schoolMin    = 2
	schoolMax    = 150
	addressMin   = 5
	addressMax   = 200
	otherTextMin = 2
	otherTextMax = 200
	// inputMax bounds what is even looked at: no answer the flows ask for is longer, and refusing
	// early keeps a pasted novel from costing time.
	inputMax = 4096
	// Ages that can be in grades 1-12, on the first day of the campaign's school year.
	ageMin = 5
	ageMax = 20
)

// cleanText makes typed text safe to keep: valid UTF-8 without control or format characters, in
// NFC with white space folded (campaign.NormalizeText).
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || r == '\r' {
			return ' '
		}
		if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
	return campaign.NormalizeText(s)
}

// parseName checks a person's full name: letters (any script, with their marks), spaces and the
// punctuation names use (. ' - ’), at least two words, 2-100 characters. A name typed all in
// lower or upper case is put in title case, as officials write it; mixed case is kept as typed.
func parseName(s string) (string, error) {
	if utf8.RuneCountInString(s) > inputMax {
		return "", refuse("reg.err.name_long", "Max", nameMax)
	}
	s = cleanText(s)
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return "", refuse("common.need_text")
	}
	if n > nameMax {
		return "", refuse("reg.err.name_long", "Max", nameMax)
	}
	letters := 0
	for _, r := range s {
		switch {
		case unicode.IsLetter(r):
			letters++
		case unicode.IsMark(r), r == ' ', r == '.', r == '\'', r == '-', r == '’':
		case unicode.IsDigit(r), unicode.IsNumber(r):
			return "", refuse("reg.err.name_digits")
		default:
			return "", refuse("reg.err.name_symbols")
		}
	}
	if letters < nameMin {
		return "", refuse("reg.err.name_short", "Min", nameMin)
	}
	words := 0
	for _, w := range strings.Fields(s) {
		if strings.IndexFunc(w, unicode.IsLetter) >= 0 {
			words++
		}
	}
	if words < 2 {
		return "", refuse("reg.err.name_one_word")
	}
	if s == strings.ToLower(s) || s == strings.ToUpper(s) {
		s = norm.NFC.String(cases.Title(language.Vietnamese).String(s))
	}
	return s, nil
}

// parseFreeText checks a free-text answer (school, address, a circumstance): min-max characters
// with at least one letter. Anything else is kept as typed, SQL-looking or not: it is data.
func parseFreeText(s string, minLen, maxLen int) (string, error) {
	if utf8.RuneCountInString(s) > inputMax {
		return "", refuse("reg.err.text_long", "Max", maxLen)
	}
	s = cleanText(s)
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0:
		return "", refuse("common.need_text")
	case n > maxLen:
		return "", refuse("reg.err.text_long", "Max", maxLen)
	case n < minLen:
		return "", refuse("reg.err.text_short", "Min", minLen)
	case strings.IndexFunc(s, unicode.IsLetter) < 0:
		return "", refuse("reg.err.text_no_letters")
	}
	return s, nil
}

// parsePhone reads a Vietnamese mobile number as people type it ("0912 345 678", "+84 912345678",
// "84912345678", "091.234.5678") and returns it in E.164 (+84 and nine digits).
func parsePhone(s string) (string, error) {
	if len(s) > 64 {
		return "", refuse("reg.err.phone_format")
	}
	s = strings.TrimSpace(norm.NFKC.String(strings.ToValidUTF8(s, "")))
	digits, plus := 0, false
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && digits == 0 && !plus:
			plus = true
		case r == ' ', r == '.', r == '-', r == '(', r == ')':
		default:
			return "", refuse("reg.err.phone_format")
		}
	}
	if digits < 9 || digits > 15 {
		return "", refuse("reg.err.phone_format")
	}
	num, err := phonenumbers.Parse(s, "VN")
	if err != nil {
		return "", refuse("reg.err.phone_format")
	}
	if num.GetCountryCode() != 84 {
		return "", refuse("reg.err.phone_not_vn")
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", refuse("reg.err.phone_invalid")
	}
	switch phonenumbers.GetNumberType(num) {
	case phonenumbers.MOBILE:
	case phonenumbers.FIXED_LINE:
		return "", refuse("reg.err.phone_landline")
	default:
		return "", refuse("reg.err.phone_invalid")
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	if len(e164) != 12 || !strings.HasPrefix(e164, "+84") {
		return "", refuse("reg.err.phone_invalid")
	}
	return e164, nil
}

// phoneDisplay writes an E.164 Vietnamese number the way it is written at home: 0912 345 678.
func phoneDisplay(e164 string) string {
	if s, ok := shownPhones.Load(e164); ok {
		return s.(string)
	}
	num, err := phonenumbers.Parse(e164, "VN")
	if err != nil {
		return e164
	}
	s := phonenumbers.Format(num, phonenumbers.NATIONAL)
	if shownPhonesCount.Add(1) <= maxShownPhones {
		shownPhones.Store(e164, s)
	}
	return s
}

// shownPhones keeps phoneDisplay's answers: a form shows its phone on every review and
// confirmation, and parsing it again with the numbering plan's patterns took 2% of the bot's CPU.
// At most maxShownPhones are kept (a campaign's families are a few thousand), so a stream of
// distinct numbers cannot grow it without end.
var (
	shownPhones      sync.Map
	shownPhonesCount atomic.Int64
)

const maxShownPhones = 20_000

var (
	isoDate   = regexp.MustCompile(`^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$`)
	dateParts = regexp.MustCompile(`[\s/.\-,]+`)
	dateWords = regexp.MustCompile(`\b(ngay|thang|nam|sinh)\b`)
	allDigits = regexp.MustCompile(`^\d+$`)
)

// parseBirthDate reads a date of birth written day first ("5/9/2012", "05-09-2012", "05.09.2012",
// "5 9 2012", "05/09/12", "05092012", "ngày 5 tháng 9 năm 2012") or as "2012-09-05", and checks
// that it exists, is not after today (in the campaign's time zone) and gives the age of a school
// child (5-20) on the first day of the campaign's school year, not today: a campaign's children
// are as old as they were in its year, whenever the form is filled in. It returns the date at
// midnight UTC. A two-digit year is 20yy unless that is in the future.
func parseBirthDate(s string, now time.Time, camp *campaign.Campaign) (time.Time, error) {
	if len(s) > 64 {
		return time.Time{}, refuse("reg.err.date_format")
	}
	s = campaign.Fold(cleanText(s))
	s = strings.TrimSpace(dateWords.ReplaceAllString(s, " "))
	today := now.In(camp.Location)
	todayUTC := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	var y, m, d int
	if g := isoDate.FindStringSubmatch(s); g != nil {
		y, m, d = atoi(g[1]), atoi(g[2]), atoi(g[3])
	} else {
		var parts []string
		if allDigits.MatchString(s) && len(s) == 8 {
			parts = []string{s[:2], s[2:4], s[4:]}
		} else {
			parts = dateParts.Split(s, -1)
		}
		for _, p := range parts {
			if !allDigits.MatchString(p) {
				return time.Time{}, refuse("reg.err.date_format")
			}
		}
		switch {
		case len(parts) == 2 && len(parts[0]) <= 2 && len(parts[1]) <= 2:
			return time.Time{}, refuse("reg.err.date_no_year")
		case len(parts) != 3 || len(parts[0]) > 2 || len(parts[1]) > 2:
			return time.Time{}, refuse("reg.err.date_format")
		}
		d, m = atoi(parts[0]), atoi(parts[1])
		switch len(parts[2]) {
		case 4:
			y = atoi(parts[2])
		case 2:
			y = 2000 + atoi(parts[2])
			if validDate(y, m, d) && time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).After(todayUTC) {
				y -= 100
			}
		default:
			return time.Time{}, refuse("reg.err.date_format")
		}
	}
	if !validDate(y, m, d) {
		return time.Time{}, refuse("reg.err.date_impossible")
	}
	date := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if date.After(todayUTC) {
		return time.Time{}, refuse("reg.err.date_future")
	}
	start := camp.SchoolYearStart
	if start.IsZero() { // a campaign built by hand rather than read from a file
		start = campaign.DefaultSchoolYearStart(today)
	}
	age := start.Year() - y
	if start.Month() < time.Month(m) || (start.Month() == time.Month(m) && start.Day() < d) {
		age--
	}
	year := fmt.Sprintf("%d-%d", start.Year(), start.Year()+1)
	if age < ageMin {
		return time.Time{}, refuse("reg.err.age_young", "Min", ageMin, "SchoolYear", year)
	}
	if age > ageMax {
		return time.Time{}, refuse("reg.err.age_old", "Max", ageMax, "SchoolYear", year)
	}
	return date, nil
}

// splitNameDate splits "Trần Minh Khang, 05/09/2012" (or "… sinh ngày 5 tháng 9 năm 2012") into
// the name and the date: a name has no digits, so the date starts at the first one. rest is ""
// when there is no name or no date.
func splitNameDate(s string) (name, rest string) {
	i := strings.IndexFunc(s, unicode.IsDigit)
	if i <= 0 || len(s) > inputMax {
		return s, ""
	}
	const between = " ,;:-–(/."
	words := strings.Fields(strings.TrimRight(s[:i], between))
	for len(words) > 0 && nameDateWords[campaign.Fold(strings.Trim(words[len(words)-1], between))] {
		words = words[:len(words)-1]
	}
	name = strings.TrimRight(strings.Join(words, " "), between)
	if name == "" {
		return s, ""
	}
	return name, s[i:]
}

// nameDateWords are words between a child's name and birth date, folded ("sinh ngày", "born").
var nameDateWords = map[string]bool{"sinh": true, "ngay": true, "ns": true, "sn": true, "born": true, "on": true, "dob": true, "date": true, "of": true, "birth": true}

func validDate(y, m, d int) bool {
	if y < 1 || m < 1 || m > 12 || d < 1 {
		return false
	}
	return d <= time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || len(s) > 6 {
		return -1
	}
	return n
}

// dateLayout is how a date is stored in a form's answers and shown back.
const (
	dateLayout    = "2006-01-02"
	dateShownAs   = "02/01/2006"
	gradeMaxTyped = 12
)

var gradeTyped = regexp.MustCompile(`^(?:lop|grade|class|khoi|year)?\s*(\d{1,2})\s*(?:[a-z][a-z0-9]{0,3})?$`)

// parseGrade reads a grade typed as "7", "lớp 7", "grade 7" or a class name such as "7A" or
// "10A1": grades 1-12, whose level the grade says.
func parseGrade(s string) (int, error) {
	if len(s) > 64 {
		return 0, refuse("reg.err.grade_format")
	}
	g := gradeTyped.FindStringSubmatch(campaign.Fold(cleanText(s)))
	if g == nil {
		return 0, refuse("reg.err.grade_format")
	}
	n := atoi(g[1])
	if n < 1 || n > gradeMaxTyped {
		return 0, refuse("reg.err.grade_range")
	}
	return n, nil
}
