package campaign

import (
	"strings"
	"unicode"

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
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
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
