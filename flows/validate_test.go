package flows

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/thuduc/maytinhchoem/campaign"
)

// reasonOf is the message id a validator refused with, "" when it accepted.
func reasonOf(err error) string {
	var inv *invalid
	if errors.As(err, &inv) {
		return inv.ID
	}
	if err != nil {
		return "?" + err.Error()
	}
	return ""
}

var nfd = norm.NFD.String

func TestParseName(t *testing.T) {
	tests := []struct {
		in, want, reason string
	}{
		{"Nguyễn Thị Lan", "Nguyễn Thị Lan", ""},
		{nfd("Nguyễn Thị Lan"), "Nguyễn Thị Lan", ""},
		{"  nguyễn   văn   an ", "Nguyễn Văn An", ""},
		{"NGUYỄN VĂN AN", "Nguyễn Văn An", ""},
		{"đặng thị ánh", "Đặng Thị Ánh", ""},
		{"H'Hen Niê", "H'Hen Niê", ""},
		{"Lê-Trần McLaren", "Lê-Trần McLaren", ""},
		{"Nguyễn\tThị\nLan", "Nguyễn Thị Lan", ""},
		{"", "", "common.need_text"},
		{"   ", "", "common.need_text"},
		{"\u200b", "", "common.need_text"},
		{"x", "", "reg.err.name_short"},
		{"Lan", "", "reg.err.name_one_word"},
		{"Lan 2", "", "reg.err.name_digits"},
		{"Nguyễn Văn ½", "", "reg.err.name_digits"},
		{"🙂🙂", "", "reg.err.name_symbols"},
		{"Nguyễn Thị Lan 🙂", "", "reg.err.name_symbols"},
		{"Robert'); DROP TABLE students;--", "", "reg.err.name_symbols"},
		{"Lan\xff Anh", "Lan Anh", ""},
		{strings.Repeat("a", 10000), "", "reg.err.name_long"},
		{"Nguyễn " + strings.Repeat("a", 94), "", "reg.err.name_long"},
		{"Nguyễn " + strings.Repeat("a", 93), "Nguyễn " + strings.Repeat("a", 93), ""},
	}
	for _, tt := range tests {
		got, err := parseName(tt.in)
		if r := reasonOf(err); r != tt.reason || got != tt.want {
			t.Errorf("parseName(%.40q) = %q, %q; want %q, %q", tt.in, got, r, tt.want, tt.reason)
		}
	}
}

func TestParseFreeText(t *testing.T) {
	tests := []struct {
		in, want, reason string
	}{
		{"Trường THCS Linh Trung", "Trường THCS Linh Trung", ""},
		{nfd("Trường THCS Linh Trung"), "Trường THCS Linh Trung", ""},
		{"  12   đường số 5 ", "12 đường số 5", ""},
		{"'; DROP TABLE registrations; --", "'; DROP TABLE registrations; --", ""},
		{"Tiểu học 🏫", "Tiểu học 🏫", ""},
		{"🏫🏫🏫", "", "reg.err.text_no_letters"},
		{"123", "", "reg.err.text_no_letters"},
		{"a", "", "reg.err.text_short"},
		{"", "", "common.need_text"},
		{strings.Repeat("a", 10000), "", "reg.err.text_long"},
		{strings.Repeat("á", 151), "", "reg.err.text_long"},
		{strings.Repeat("á", 150), strings.Repeat("á", 150), ""},
	}
	for _, tt := range tests {
		got, err := parseFreeText(tt.in, schoolMin, schoolMax)
		if r := reasonOf(err); r != tt.reason || got != tt.want {
			t.Errorf("parseFreeText(%.40q) = %q, %q; want %q, %q", tt.in, got, r, tt.want, tt.reason)
		}
	}
}

func TestParsePhone(t *testing.T) {
	tests := []struct {
		in, want, reason string
	}{
		{"0912 345 678", "+84912345678", ""},
		{"+84 912345678", "+84912345678", ""},
		{"84912345678", "+84912345678", ""},
		{"091.234.5678", "+84912345678", ""},
		{"0912-345-678", "+84912345678", ""},
		{"(+84) 912 345 678", "+84912345678", ""},
		{"0084912345678", "+84912345678", ""},
		{"０９１２３４５６７８", "+84912345678", ""}, // full-width digits from some keyboards
		{"0333 333 333", "+84333333333", ""},
		{"0868 123 456", "+84868123456", ""},
		{"0123456789", "", "reg.err.phone_invalid"},
		{"028 3896 1234", "", "reg.err.phone_landline"},
		{"+84 28 3896 1234", "", "reg.err.phone_landline"},
		{"1900 1234", "", "reg.err.phone_format"},
		{"1900 123 456", "", "reg.err.phone_invalid"},
		{"+1 202 555 0123", "", "reg.err.phone_not_vn"},
		{"+44 20 7946 0958", "", "reg.err.phone_not_vn"},
		{"0912345678901", "", "reg.err.phone_invalid"},
		{"số tôi là 0912345678", "", "reg.err.phone_format"},
		{"", "", "reg.err.phone_format"},
		{"🙂", "", "reg.err.phone_format"},
		{strings.Repeat("9", 10000), "", "reg.err.phone_format"},
		{"09123+45678", "", "reg.err.phone_format"},
	}
	for _, tt := range tests {
		got, err := parsePhone(tt.in)
		if r := reasonOf(err); r != tt.reason || got != tt.want {
			t.Errorf("parsePhone(%.40q) = %q, %q; want %q, %q", tt.in, got, r, tt.want, tt.reason)
		}
	}
	for range 2 { // the second time from what phoneDisplay kept
		if got := phoneDisplay("+84912345678"); got != "0912 345 678" {
			t.Errorf("phoneDisplay = %q", got)
		}
		if got := phoneDisplay("not a phone"); got != "not a phone" {
			t.Errorf("phoneDisplay of what is no phone = %q, want it as it is", got)
		}
	}
}

func TestParseBirthDate(t *testing.T) {
	camp := campaign.Default() // its school year starts on 5 September 2021
	tests := []struct {
		in, want, reason string
	}{
		{"5/9/2012", "2012-09-05", ""},
		{"05/09/2012", "2012-09-05", ""},
		{"05-09-2012", "2012-09-05", ""},
		{"05.09.2012", "2012-09-05", ""},
		{"5 9 2012", "2012-09-05", ""},
		{"05/09/12", "2012-09-05", ""},
		{"2012-09-05", "2012-09-05", ""},
		{"2012/9/5", "2012-09-05", ""},
		{"05092012", "2012-09-05", ""},
		{"ngày 5 tháng 9 năm 2012", "2012-09-05", ""},
		{" 5 / 9 / 2012 ", "2012-09-05", ""},
		{"29/02/2012", "2012-02-29", ""},
		{"05/09/16", "2016-09-05", ""},          // 5 on the school year's first day: just old enough
		{"06/09/2016", "", "reg.err.age_young"}, // 5 a day later
		{"05/09/2001", "2001-09-05", ""},        // 20 on the school year's first day
		{"06/09/2000", "2000-09-06", ""},        // 20 then, though 21 today: the school year counts
		{"05/09/2000", "", "reg.err.age_old"},   // 21 on the school year's first day
		{"29/02/2011", "", "reg.err.date_impossible"},
		{"31/02/2012", "", "reg.err.date_impossible"},
		{"32/01/2012", "", "reg.err.date_impossible"},
		{"12/13/2012", "", "reg.err.date_impossible"},
		{"00/01/2012", "", "reg.err.date_impossible"},
		{"11/09/2021", "", "reg.err.date_future"},
		{"05/09/2030", "", "reg.err.date_future"},
		{"01/01/2019", "", "reg.err.age_young"},
		{"11/09/2016", "", "reg.err.age_young"},
		{"05/09/25", "", "reg.err.age_old"}, // 2025 is ahead, so 1925
		{"01/01/1990", "", "reg.err.age_old"},
		{"5/9", "", "reg.err.date_no_year"},
		{"5/9/212", "", "reg.err.date_format"},
		{"tháng 9", "", "reg.err.date_format"},
		{"abc", "", "reg.err.date_format"},
		{"", "", "reg.err.date_format"},
		{"'; DROP TABLE x", "", "reg.err.date_format"},
		{strings.Repeat("1", 10000), "", "reg.err.date_format"},
	}
	for _, tt := range tests {
		got, err := parseBirthDate(tt.in, testStart, camp)
		var gotS string
		if err == nil {
			gotS = got.Format(dateLayout)
			if got.Location() != time.UTC || got.Hour() != 0 {
				t.Errorf("parseBirthDate(%q) = %v, want midnight UTC", tt.in, got)
			}
		}
		if r := reasonOf(err); r != tt.reason || gotS != tt.want {
			t.Errorf("parseBirthDate(%.40q) = %q, %q; want %q, %q", tt.in, gotS, r, tt.want, tt.reason)
		}
	}
	// Late evening UTC is already the next day in Thủ Đức: a date of that day is not in the future
	// there (only too young), while it is in a campaign on UTC.
	lateUTC := time.Date(2021, 9, 10, 17, 30, 0, 0, time.UTC)
	if _, err := parseBirthDate("11/09/2021", lateUTC, camp); reasonOf(err) != "reg.err.age_young" {
		t.Errorf("today in the campaign's time zone: %v", err)
	}
	utc := *camp
	utc.Location = time.UTC
	if _, err := parseBirthDate("11/09/2021", lateUTC, &utc); reasonOf(err) != "reg.err.date_future" {
		t.Errorf("tomorrow in UTC: %v", err)
	}
	if _, err := parseBirthDate("12/09/2021", lateUTC, camp); reasonOf(err) != "reg.err.date_future" {
		t.Errorf("future in the campaign's time zone: %v", err)
	}
	// Filled in years later (a campaign replayed, the bot's clock today): the age is still the
	// one in the campaign's school year, and the future is still today's.
	later := time.Date(2026, 3, 1, 9, 0, 0, 0, camp.Location)
	for in, reason := range map[string]string{
		"05/09/2005": "",                  // grade 11 in 2021-22, 20 in 2026
		"01/01/2000": "reg.err.age_old",   // 21 in 2021-22
		"01/01/2019": "reg.err.age_young", // 2 in 2021-22
		"01/01/2022": "reg.err.age_young", // born after the school year began
		"01/01/2027": "reg.err.date_future",
	} {
		if _, err := parseBirthDate(in, later, camp); reasonOf(err) != reason {
			t.Errorf("%s in 2026: %v, want %q", in, err, reason)
		}
	}
	var inv *invalid
	if _, err := parseBirthDate("01/01/2019", testStart, camp); !errors.As(err, &inv) || inv.Data["SchoolYear"] != "2021-2022" {
		t.Errorf("the reason does not name the school year: %+v", inv)
	}
	// A campaign built by hand, without a school year, counts from the one under way.
	bare := &campaign.Campaign{Location: camp.Location}
	if _, err := parseBirthDate("06/09/2016", testStart, bare); reasonOf(err) != "reg.err.age_young" {
		t.Errorf("no school year: %v", err)
	}
}

func TestParseGrade(t *testing.T) {
	tests := []struct {
		in     string
		want   int
		reason string
	}{
		{"3", 3, ""},
		{"lớp 3", 3, ""},
		{"Lớp 3A", 3, ""},
		{"3a2", 3, ""},
		{"grade 7", 7, ""},
		{"10A1", 10, ""},
		{" 12 ", 12, ""},
		{"lop 11", 11, ""},
		{"13", 0, "reg.err.grade_range"},
		{"0", 0, "reg.err.grade_range"},
		{"ba", 0, "reg.err.grade_format"},
		{"-3", 0, "reg.err.grade_format"},
		{"", 0, "reg.err.grade_format"},
		{"tiểu học", 0, "reg.err.grade_format"},
	}
	for _, tt := range tests {
		got, err := parseGrade(tt.in)
		if r := reasonOf(err); r != tt.reason || got != tt.want {
			t.Errorf("parseGrade(%q) = %d, %q; want %d, %q", tt.in, got, r, tt.want, tt.reason)
		}
	}
}

func TestSplitNameDate(t *testing.T) {
	tests := []struct{ in, name, rest string }{
		{"Trần Minh Khang, 05/09/2012", "Trần Minh Khang", "05/09/2012"},
		{"Trần Minh Khang 5/9/2012", "Trần Minh Khang", "5/9/2012"},
		{"Trần Minh Khang sinh ngày 5 tháng 9 năm 2012", "Trần Minh Khang", "5 tháng 9 năm 2012"},
		{"Trần Minh Khang - NS: 05.09.2012", "Trần Minh Khang", "05.09.2012"},
		{"Nguyễn Thị-Lan (5/9/2012)", "Nguyễn Thị-Lan", "5/9/2012)"},
		{"Trần Minh Khang", "Trần Minh Khang", ""},
		{"05/09/2012", "05/09/2012", ""},
		{"sinh ngày 05/09/2012", "sinh ngày 05/09/2012", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		if name, rest := splitNameDate(tt.in); name != tt.name || rest != tt.rest {
			t.Errorf("splitNameDate(%q) = %q, %q; want %q, %q", tt.in, name, rest, tt.name, tt.rest)
		}
	}
}

// seeds are the awkward inputs every fuzz target starts from.
var seeds = []string{
	"", " ", "0912 345 678", "+84 912345678", "84912345678", "091.234.5678", "0123456789",
	"5/9/2012", "05/09/12", "2012-09-05", "31/02/2012", "Nguyễn Thị Lan", nfd("Nguyễn Thị Lan"),
	"🙂🙂", "'; DROP TABLE x; --", "lớp 10A1", "\xff\xfe", "\u200b\u202e", strings.Repeat("9", 300),
}

func checkText(t *testing.T, in, out string, maxLen int) {
	t.Helper()
	if !utf8.ValidString(out) || !norm.NFC.IsNormalString(out) {
		t.Fatalf("%q gave %q: not valid NFC UTF-8", in, out)
	}
	if n := utf8.RuneCountInString(out); n < 1 || n > maxLen {
		t.Fatalf("%q gave %q: %d characters", in, out, n)
	}
	if strings.TrimSpace(out) != out || strings.Contains(out, "  ") {
		t.Fatalf("%q gave %q: spaces not folded", in, out)
	}
	for _, r := range out {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			t.Fatalf("%q gave %q: control or format character %U", in, out, r)
		}
	}
}

func FuzzParsePhone(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parsePhone(s)
		if err != nil {
			if reasonOf(err) == "" || reasonOf(err)[0] == '?' {
				t.Fatalf("%q: error without a reason: %v", s, err)
			}
			return
		}
		if len(got) != 12 || !strings.HasPrefix(got, "+84") || strings.Trim(got[1:], "0123456789") != "" {
			t.Fatalf("%q gave %q, not +84 and 9 digits", s, got)
		}
		if again, err := parsePhone(got); err != nil || again != got {
			t.Fatalf("%q gave %q, which reads back as %q, %v", s, got, again, err)
		}
		if again, err := parsePhone(phoneDisplay(got)); err != nil || again != got {
			t.Fatalf("%q shown as %q reads back as %q, %v", got, phoneDisplay(got), again, err)
		}
	})
}

func FuzzParseBirthDate(f *testing.F) {
	for _, s := range seeds {
		f.Add(s, int64(0))
	}
	f.Add("11/09/2016", int64(30600))
	camp := campaign.Default()
	loc := camp.Location
	f.Fuzz(func(t *testing.T, s string, shift int64) {
		now := testStart.Add(time.Duration(shift%(400*86400)) * time.Second)
		got, err := parseBirthDate(s, now, camp)
		if err != nil {
			if r := reasonOf(err); r == "" || r[0] == '?' {
				t.Fatalf("%q: error without a reason: %v", s, err)
			}
			return
		}
		local := now.In(loc)
		today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
		if got.Location() != time.UTC || got.Hour() != 0 || got.Minute() != 0 {
			t.Fatalf("%q gave %v, not midnight UTC", s, got)
		}
		if got.After(today) {
			t.Fatalf("%q gave %v, after today %v", s, got, today)
		}
		start := camp.SchoolYearStart
		first := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
		if got.AddDate(ageMin, 0, 0).After(first) || !got.AddDate(ageMax+1, 0, 0).After(first) {
			t.Fatalf("%q gave %v: not %d-%d years old on %v", s, got, ageMin, ageMax, first)
		}
		if again, err := parseBirthDate(got.Format(dateShownAs), now, camp); err != nil || !again.Equal(got) {
			t.Fatalf("%q gave %v, which reads back as %v, %v", s, got, again, err)
		}
	})
}

func FuzzParseName(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseName(s)
		if err != nil {
			if r := reasonOf(err); r == "" || r[0] == '?' {
				t.Fatalf("%q: error without a reason: %v", s, err)
			}
			return
		}
		checkText(t, s, got, nameMax)
		if strings.IndexFunc(got, unicode.IsDigit) >= 0 || len(strings.Fields(got)) < 2 {
			t.Fatalf("%q gave %q: digits or one word", s, got)
		}
		if again, err := parseName(got); err != nil || again != got {
			t.Fatalf("%q gave %q, which reads back as %q, %v", s, got, again, err)
		}
	})
}

func FuzzParseFreeText(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseFreeText(s, addressMin, addressMax)
		if err != nil {
			if r := reasonOf(err); r == "" || r[0] == '?' {
				t.Fatalf("%q: error without a reason: %v", s, err)
			}
			return
		}
		checkText(t, s, got, addressMax)
		if utf8.RuneCountInString(got) < addressMin {
			t.Fatalf("%q gave %q: too short", s, got)
		}
		if again, err := parseFreeText(got, addressMin, addressMax); err != nil || again != got {
			t.Fatalf("%q gave %q, which reads back as %q, %v", s, got, again, err)
		}
	})
}

func FuzzParseGrade(f *testing.F) {
	for _, s := range seeds {
		f.Add(s, uint8(0))
	}
	f.Add("7A", uint8(1))
	f.Add("10a1", uint8(2))
	f.Fuzz(func(t *testing.T, s string, _ uint8) {
		got, err := parseGrade(s)
		if err != nil {
			if r := reasonOf(err); r == "" || r[0] == '?' {
				t.Fatalf("%q: error without a reason: %v", s, err)
			}
			return
		}
		if _, ok := levelOfGrade(got); !ok {
			t.Fatalf("%q gave grade %d, of no school level", s, got)
		}
	})
}
