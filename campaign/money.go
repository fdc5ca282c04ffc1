package campaign

import (
	"math"
	"strconv"
	"strings"
	"unicode"
)

// ParseVND reads an amount of Vietnamese đồng as people type it: "5 triệu", "5tr", "5,5 triệu",
// "500k", "500 nghìn", "5.000.000", "5,000,000 đ", "5000000 VND", "1 tỷ". Dots and commas between
// groups of three digits are thousands separators; otherwise a single comma or dot before a unit is
// a decimal point ("1,5tr" is 1,500,000). ok is false for anything else, for zero, and for amounts
// that are not a whole number of đồng or do not fit in an int64.
func ParseVND(s string) (amount int64, ok bool) {
	t := strings.ToLower(NormalizeText(s))
	t = strings.Join(strings.Fields(t), "")
	for _, suffix := range []string{"vnđ", "vnd", "đồng", "dong", "đ", "d"} {
		if strings.HasSuffix(t, suffix) {
			t = strings.TrimSuffix(t, suffix)
			break
		}
	}
	multiplier := int64(1)
	for _, u := range []struct {
		word string
		mult int64
	}{
		{"triệu", 1_000_000}, {"trieu", 1_000_000}, {"tr", 1_000_000}, {"m", 1_000_000},
		{"nghìn", 1_000}, {"nghin", 1_000}, {"ngàn", 1_000}, {"ngan", 1_000}, {"k", 1_000},
		{"tỷ", 1_000_000_000}, {"tỉ", 1_000_000_000}, {"ty", 1_000_000_000}, {"ti", 1_000_000_000},
	} {
		if strings.HasSuffix(t, u.word) {
			t, multiplier = strings.TrimSuffix(t, u.word), u.mult
			break
		}
	}
	if t == "" {
		return 0, false
	}
	for _, r := range t {
		if !unicode.IsDigit(r) && r != '.' && r != ',' {
			return 0, false
		}
	}
	if grouped(t, '.') || grouped(t, ',') {
		t = strings.NewReplacer(".", "", ",", "").Replace(t)
	} else if strings.Count(t, ".")+strings.Count(t, ",") == 1 && multiplier > 1 {
		t = strings.Replace(t, ",", ".", 1)
	} else if strings.ContainsAny(t, ".,") {
		return 0, false
	}
	whole, frac, _ := strings.Cut(t, ".")
	if whole == "" || len(frac) > 9 {
		return 0, false
	}
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || n > math.MaxInt64/multiplier {
		return 0, false
	}
	amount = n * multiplier
	if frac != "" {
		// Exact decimal arithmetic: "1,1 tỷ" is 1,100,000,000, not a float's neighbour of it.
		f, err := strconv.ParseInt(frac, 10, 64)
		if err != nil {
			return 0, false
		}
		scale := int64(math.Pow10(len(frac)))
		if (f*multiplier)%scale != 0 || f*multiplier/scale > math.MaxInt64-amount {
			return 0, false
		}
		amount += f * multiplier / scale
	}
	if amount <= 0 {
		return 0, false
	}
	return amount, true
}

// grouped reports whether s is digits in groups of three separated by sep ("5.000.000"), with a
// first group of one to three digits and at least one separator.
func grouped(s string, sep rune) bool {
	parts := strings.Split(s, string(sep))
	if len(parts) < 2 || len(parts[0]) < 1 || len(parts[0]) > 3 {
		return false
	}
	for i, p := range parts {
		if strings.ContainsAny(p, ".,") {
			return false
		}
		if i > 0 && len(p) != 3 {
			return false
		}
	}
	return true
}

// FormatVND writes an amount the Vietnamese way: 5.000.000 đ.
func FormatVND(amount int64) string {
	neg := amount < 0
	s := strconv.FormatInt(amount, 10)
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(r)
	}
	out := b.String() + " đ"
	if neg {
		return "-" + out
	}
	return out
}
