package flows

import (
	"strings"

	"github.com/thuduc/maytinhchoem/locales"
)

// Languages the bot talks in; the words are in the shared catalog (package locales). Vietnamese
// is the default and the fallback.
const (
	langVI = locales.VI
	langEN = locales.EN
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
