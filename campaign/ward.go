package campaign

import "strings"

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
