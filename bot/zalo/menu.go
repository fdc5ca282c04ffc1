package zalo

import (
	"strconv"
	"strings"
	"time"
	"unicode"
)

// menuTTL is how long a numbered list waits for its answer.
const menuTTL = 24 * time.Hour

// menu is a question's choices shown as a numbered list, kept in the MenuStore so a typed number
// or label can be taken as the choice.
type menu struct {
	Choices []menuChoice `json:"choices"`
}

// menuChoice is one line of a numbered list.
type menuChoice struct {
	Label string `json:"label"`
	// Data is the chat.Button's Data, or "" for a suggested answer (see chat.ContactRequest),
	// which is taken as if Text had been typed.
	Data string `json:"data,omitempty"`
	Text string `json:"text,omitempty"`
}

// match finds the choice text answers: its label typed without regard to case, Vietnamese
// accents, emoji or punctuation, or its number ("3", " 3 ", "3.", "số 3"). A list whose labels
// are numbers themselves (quantities) is not numbered (see numeric): there a typed number is a
// label or plain text, never a position, so "3" is never taken as the third line's "10".
func (m *menu) match(text string) (menuChoice, bool) {
	typed := fold(text)
	if typed == "" {
		return menuChoice{}, false
	}
	for _, c := range m.Choices {
		if fold(c.Label) == typed {
			return c, true
		}
	}
	if n, ok := choiceNumber(typed); ok && !m.numeric() {
		if n >= 1 && n <= len(m.Choices) {
			return m.Choices[n-1], true
		}
	}
	return menuChoice{}, false
}

// numeric reports whether a label of the list is a number, so the list is shown with bullets and
// answered by label only.
func (m *menu) numeric() bool {
	for _, c := range m.Choices {
		if _, ok := choiceNumber(fold(c.Label)); ok {
			return true
		}
	}
	return false
}

// choiceNumber reads a folded answer that is only a number, possibly after "so" ("số").
func choiceNumber(folded string) (int, bool) {
	s := strings.TrimSpace(strings.TrimPrefix(folded, "so"))
	if s == "" || len(s) > 4 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// fold makes a text comparable the way a person types it on a phone: lower case, Vietnamese
// letters without their marks (đ as d), composed or not, and anything but letters and digits
// (emoji, symbols, punctuation) as single spaces, trimmed.
func fold(s string) string {
	var b strings.Builder
	space := true
	for _, r := range strings.ToLower(s) {
		if unicode.Is(unicode.Mn, r) {
			continue // a combining mark of a decomposed letter, or an emoji's variation selector
		}
		r = baseLetter(r)
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
			space = false
		} else if !space {
			b.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimRight(b.String(), " ")
}

// The lower-case Vietnamese letters with marks, by the letter they are written on.
const (
	marksA = "àáảãạăằắẳẵặâầấẩẫậ"
	marksE = "èéẻẽẹêềếểễệ"
	marksI = "ìíỉĩị"
	marksO = "òóỏõọôồốổỗộơờớởỡợ"
	marksU = "ùúủũụưừứửữự"
	marksY = "ỳýỷỹỵ"
)

// baseLetter is r without its Vietnamese marks.
func baseLetter(r rune) rune {
	if r < 0x80 {
		return r
	}
	switch {
	case r == 'đ':
		return 'd'
	case strings.ContainsRune(marksA, r):
		return 'a'
	case strings.ContainsRune(marksE, r):
		return 'e'
	case strings.ContainsRune(marksI, r):
		return 'i'
	case strings.ContainsRune(marksO, r):
		return 'o'
	case strings.ContainsRune(marksU, r):
		return 'u'
	case strings.ContainsRune(marksY, r):
		return 'y'
	}
	return r
}
