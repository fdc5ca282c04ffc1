package campaign

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// NormalizeText returns s in Unicode NFC with surrounding space trimmed and inner runs of white
// space folded to one space. Every text the bot stores goes through it, so a name typed in
// decomposed (NFD) form by one phone keyboard equals the same name typed on another.
func NormalizeText(s string) string {
	return strings.Join(strings.Fields(norm.NFC.String(s)), " ")
}

// Fold returns s lower-cased without diacritics, for accent-insensitive matching: "Phường Linh
// Trung", "phuong linh trung" and "PHƯỜNG LINH TRUNG" fold alike. Đ/đ is not a base letter plus
// a combining mark, so NFD leaves it alone; it is folded to d explicitly.
func Fold(s string) string {
	out := s
	if !isASCII(s) { // ASCII has no marks to remove: NFD and NFC leave it as it is
		t := foldChains.Get().(transform.Transformer)
		var err error
		if out, _, err = transform.String(t, s); err != nil {
			out = s
		}
		foldChains.Put(t)
	}
	out = strings.Map(func(r rune) rune {
		switch r {
		case 'đ', 'Đ':
			return 'd'
		}
		return unicode.ToLower(r)
	}, out)
	return strings.Join(strings.Fields(out), " ")
}

// foldChains keeps Fold's transformers for reuse: a chain holds a 4 KB buffer for each link
// between two of its transformers, and the bot folds every answer typed and every option it is
// matched against (transform.String resets a chain before use).
var foldChains = sync.Pool{New: func() any {
	return transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
}}

// isASCII says whether s is ASCII only.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
