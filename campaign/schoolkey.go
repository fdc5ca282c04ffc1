package campaign

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// SchoolKey folds a school's name to compare schools: "Trường THCS Linh Trung", "THCS Linh
// Trung", "trung học cơ sở linh trung" and "TRƯỜNG THCS LINH TRUNG." are one school, whose key
// is "thcs linh trung". It is what a school member's scope compares (AuthorizeRecord, and in SQL
// the registrations' school_key column).
//
// The rules, in order: the name in NFC; each letter with accents (Vietnamese and the other Latin
// letters that decompose to one) as its base letter in lower case, đ as d, A-Z lower-cased, a-z
// and 0-9 kept, anything else (punctuation, other scripts) a space; spaces folded; the levels'
// full names as their abbreviations ("trung hoc co so" is "thcs", "trung hoc pho thong" and
// "pho thong trung hoc" "thpt", "tieu hoc" "th", "pho thong co so" "ptcs"), as whole words; then
// a leading "truong" (or "tr", as in "Tr. THCS") dropped, once each, in that order.
//
// The level stays in the key: "THCS Bình Thọ" and "Tiểu học Bình Thọ" are two schools. The
// abbreviations are the ones schools' lists and parents write; a name written otherwise ("cấp
// 2") is another key. The same function is in SQL, school_key (migration 00025), which writes
// the registrations' school_key column; storage tests check the two agree on every letter.
func SchoolKey(name string) string {
	if name == "" {
		return ""
	}
	s := strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
			return r
		}
		if b, ok := schoolKeyLetters[r]; ok {
			return b
		}
		return ' '
	}, norm.NFC.String(name))
	s = " " + strings.Join(strings.Fields(s), " ") + " "
	for _, w := range schoolKeyWords {
		s = strings.ReplaceAll(s, " "+w[0]+" ", " "+w[1]+" ")
	}
	s = strings.TrimSpace(s)
	for _, p := range schoolKeyPrefixes {
		s = strings.TrimPrefix(s, p+" ")
	}
	return s
}

// SchoolKeyLevelOnly reports whether a school's name says no more than its level ("THCS",
// "Trường Tiểu học", or nothing with letters or digits): as a school member's school it would
// take in every school of the level.
func SchoolKeyLevelOnly(name string) bool {
	for _, w := range strings.Fields(SchoolKey(name)) {
		if !schoolKeyLevels[w] {
			return false
		}
	}
	return true
}

// schoolKeyWords are the levels' full names and the abbreviations schools go by, applied in
// this order.
var schoolKeyWords = [][2]string{
	{"trung hoc co so", "thcs"},
	{"trung hoc pho thong", "thpt"},
	{"pho thong trung hoc", "thpt"},
	{"tieu hoc", "th"},
	{"pho thong co so", "ptcs"},
}

// schoolKeyLevels are the abbreviations of the levels, and the words for a school, as keys.
var schoolKeyLevels = map[string]bool{"th": true, "thcs": true, "thpt": true, "ptcs": true, "truong": true, "tr": true}

// schoolKeyPrefixes are the words in front of a name that do not make another school.
var schoolKeyPrefixes = []string{"truong", "tr"}

// schoolKeyLetters maps the Latin letters with accents (U+00C0-U+024F, U+1E00-U+1EFF: every
// Vietnamese letter) that fold to one base letter, and A-Z, to that letter in lower case.
var schoolKeyLetters = func() map[rune]rune {
	m := map[rune]rune{}
	for r := 'A'; r <= 'Z'; r++ {
		m[r] = r + 'a' - 'A'
	}
	for _, span := range [][2]rune{{0xC0, 0x24F}, {0x1E00, 0x1EFF}} {
		for r := span[0]; r <= span[1]; r++ {
			f := Fold(string(r))
			if utf8.RuneCountInString(f) == 1 && 'a' <= f[0] && f[0] <= 'z' {
				m[r] = rune(f[0])
			}
		}
	}
	return m
}()

// SchoolKeyLetters returns the letters SchoolKey folds to a base letter other than a-z and
// 0-9, in code point order, and their letters: for checking the SQL function against it.
func SchoolKeyLetters() (from, to []rune) {
	for _, span := range [][2]rune{{'A', 'Z'}, {0xC0, 0x24F}, {0x1E00, 0x1EFF}} {
		for r := span[0]; r <= span[1]; r++ {
			if b, ok := schoolKeyLetters[r]; ok {
				from, to = append(from, r), append(to, b)
			}
		}
	}
	return from, to
}
