package flows

import (
	"github.com/thuduc/maytinhchoem/locales"
)

// Languages the bot talks in; the words are in the shared catalog (package locales). Vietnamese
// is the default and the fallback.
const (
	langVI = locales.VI
	langEN = locales.EN
)
