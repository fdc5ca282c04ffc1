// text.go holds the package's small text helpers: joining paragraphs, clipping what a user typed
// to echo it, quoting a button's text, a dash for an empty field. Normalising typed text is
// validate.go's (cleanText).

package flows

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// paragraphs joins the parts that are not empty with blank lines.
func paragraphs(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "\n\n")
}

// clip shortens s to at most n characters, for echoing what a user typed.
func clip(s string, n int) string {
	s = cleanText(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// withoutSymbols drops the emoji a button text starts with, to quote it in a notice.
func withoutSymbols(s string) string {
	return strings.TrimLeftFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// orDash is s, or a dash for nothing, for a card's empty field.
func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
