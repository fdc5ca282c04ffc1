package campaign

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// wardPrefixes are the words before a ward's proper name, folded, as people may or may not type them.
var wardPrefixes = []string{"phuong ", "p. ", "p.", "p ", "xa ", "thi tran ", "ward "}

// MatchWards finds the wards a typed name means, without regard to accents, case or a leading
// "Phường"/"P.": "linh trung" finds Phường Linh Trung. An exact match of the folded short name
// (or the code) wins alone; otherwise every ward whose name contains all typed words is returned,
// so "binh" offers the Bình wards to choose from.
func (c *Campaign) MatchWards(input string) []Ward {
	q := Fold(input)
	for _, p := range wardPrefixes {
		if strings.HasPrefix(q, p) {
			q = strings.TrimSpace(strings.TrimPrefix(q, p))
			break
		}
	}
	q = strings.TrimSuffix(q, " ward")
	if q == "" {
		return nil
	}
	if w, ok := c.Ward(q); ok {
		return []Ward{w}
	}
	var exact, partial []Ward
	words := strings.Fields(q)
	for i, w := range c.Wards {
		var short, full string
		if i < len(c.wardFolds) {
			short, full = c.wardFolds[i][0], c.wardFolds[i][1]
		} else { // a Campaign built by hand rather than by Parse
			short, full = Fold(w.ShortName), Fold(w.Name)
		}
		if short == q || full == q {
			exact = append(exact, w)
			continue
		}
		all := true
		for _, word := range words {
			if !containsWord(short, word) {
				all = false
				break
			}
		}
		if all {
			partial = append(partial, w)
		}
	}
	if len(exact) > 0 {
		return exact
	}
	return partial
}

// containsWord reports whether word starts a word of s, so "tan" finds "Tân Phú" and "Tăng
// Nhơn Phú A" but "an" does not find "Tân".
func containsWord(s, word string) bool {
	for _, f := range strings.Fields(s) {
		if strings.HasPrefix(f, word) {
			return true
		}
	}
	return false
}

// WardIn finds the ward an address names: after "Phường" or "P." ("12 đường số 5, P. Linh
// Trung"), or as a whole part between commas ("12 đường số 5, khu phố 3, Linh Trung"). A ward's
// name anywhere else in the address is not taken, since streets are often named like wards
// ("đường Tam Bình" need not be in Phường Tam Bình). ok is false when the address names no ward
// so, or more than one.
func (c *Campaign) WardIn(address string) (Ward, bool) {
	found := map[string]Ward{}
	c.eachWardPart(address, func(part string, afterMarker bool) {
		for i, w := range c.Wards {
			short, full := c.wardFold(i)
			if part == short || part == full {
				found[w.Code] = w
			}
		}
		if !afterMarker {
			return
		}
		// After a marker the name may run on into the rest of the address ("p. linh trung tp thu
		// duc"): the longest name that ends at a word's end is the ward.
		best, bestLen := Ward{}, 0
		for i, w := range c.Wards {
			short, _ := c.wardFold(i)
			if len(short) > bestLen && strings.HasPrefix(part, short) && wordEnds(part, len(short)) {
				best, bestLen = w, len(short)
			}
		}
		if bestLen > 0 {
			found[best.Code] = best
		}
	})
	if len(found) != 1 {
		return Ward{}, false
	}
	for _, w := range found {
		return w, true
	}
	return Ward{}, false
}

// SuggestWards returns the wards whose names are nearest a name that matches none ("linh trug"
// finds Linh Trung), at most three, in the campaign's order; none when no name is near enough to
// be a slip of the finger. The words after "Phường"/"P." and each part of an address between
// commas are tried as well as the whole input.
func (c *Campaign) SuggestWards(input string) []Ward {
	best := map[string]int{}
	c.eachWardPart(input, func(part string, afterMarker bool) {
		words := strings.Fields(part)
		for i, w := range c.Wards {
			short, full := c.wardFold(i)
			for _, name := range []string{short, full} {
				candidate := part
				if n := len(strings.Fields(name)); afterMarker && len(words) > n {
					candidate = strings.Join(words[:n], " ") // the words a name that long would take
				}
				d := editDistance(candidate, name)
				if d > slipsAllowed(name) {
					continue
				}
				if old, ok := best[w.Code]; !ok || d < old {
					best[w.Code] = d
				}
			}
		}
	})
	if len(best) == 0 {
		return nil
	}
	least := -1
	for _, d := range best {
		if least < 0 || d < least {
			least = d
		}
	}
	var out []Ward
	for _, w := range c.Wards {
		if d, ok := best[w.Code]; ok && d == least && len(out) < 3 {
			out = append(out, w)
		}
	}
	return out
}

// eachWardPart calls f with the folded parts of a typed text that may name a ward: the whole text
// and each part between commas, without a leading "Phường"/"P." or a trailing "ward", and the
// text after each "Phường"/"P." up to the next comma (afterMarker).
func (c *Campaign) eachWardPart(input string, f func(part string, afterMarker bool)) {
	if len(input) > 400 {
		return
	}
	q := Fold(input)
	parts := strings.FieldsFunc(q, func(r rune) bool { return r == ',' || r == ';' })
	if len(parts) > 1 {
		parts = append(parts, q)
	}
	for _, p := range parts {
		if p = trimWardPrefix(strings.Trim(p, " .-")); p != "" {
			f(p, false)
		}
	}
	for _, p := range parts {
		for i := 0; i < len(p); i++ {
			if i > 0 && !strings.ContainsRune(" ,;.-(", rune(p[i-1])) {
				continue
			}
			for _, m := range []string{"phuong ", "phuong.", "p.", "p "} {
				if rest, ok := strings.CutPrefix(p[i:], m); ok {
					if rest = strings.Trim(rest, " .-"); rest != "" {
						f(rest, true)
					}
					break
				}
			}
		}
	}
}

// wardFold returns the i-th ward's folded short and full name.
func (c *Campaign) wardFold(i int) (short, full string) {
	if i < len(c.wardFolds) {
		return c.wardFolds[i][0], c.wardFolds[i][1]
	}
	w := c.Wards[i] // a Campaign built by hand rather than by Parse
	return Fold(w.ShortName), Fold(w.Name)
}

// trimWardPrefix drops a leading "phuong "/"p." and a trailing " ward" from a folded name.
func trimWardPrefix(q string) string {
	for _, p := range wardPrefixes {
		if strings.HasPrefix(q, p) {
			q = strings.TrimSpace(strings.TrimPrefix(q, p))
			break
		}
	}
	return strings.TrimSuffix(q, " ward")
}

// wordEnds reports whether s has no letter or digit right after its first n bytes.
func wordEnds(s string, n int) bool {
	if n >= len(s) {
		return true
	}
	r, _ := utf8.DecodeRuneInString(s[n:])
	return !unicode.IsLetter(r) && !unicode.IsDigit(r)
}

// slipsAllowed is how many typing slips a name of that length may have and still be suggested:
// none in a very short name (too many names are one letter apart), one up to 7 letters, two above.
func slipsAllowed(name string) int {
	switch n := utf8.RuneCountInString(name); {
	case n <= 4:
		return 0
	case n <= 7:
		return 1
	}
	return 2
}

// editDistance is the number of letters to insert, delete, change or swap with the next to turn a
// into b (Damerau-Levenshtein, optimal string alignment).
func editDistance(a, b string) int {
	s, t := []rune(a), []rune(b)
	if len(s) > 64 || len(t) > 64 {
		return max(len(s), len(t))
	}
	d := make([][]int, len(s)+1)
	for i := range d {
		d[i] = make([]int, len(t)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(s); i++ {
		for j := 1; j <= len(t); j++ {
			cost := 1
			if s[i-1] == t[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && s[i-1] == t[j-2] && s[i-2] == t[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(s)][len(t)]
}
