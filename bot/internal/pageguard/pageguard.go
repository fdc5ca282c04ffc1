// Package pageguard keeps the emulators' chat pages to the person who started the demo: the
// pages and their API answer only at the Host the demo listens on (against DNS rebinding), and the
// API and files only with the demo's per-run token. Both emulators (telegramtest, zalotest) use it.
package pageguard

import (
	"crypto/subtle"
	"fmt"
	"mime"
	"net/http"
	"strings"
)

// TokenHeader is the header a chat page sends the token in; a link (an image, a download) carries
// it as the token query parameter instead.
const TokenHeader = "X-Demo-Token"

// Guard is one page's rule: Hosts (any when empty) and Token (none when empty).
type Guard struct {
	Hosts []string
	Token string
	// NeedToken is what a call without the token is answered (the page shows it).
	NeedToken string
}

// Allow lets a request to the page (withToken false) or its API and files (withToken true) go on,
// or answers it with fail: a Host not among Hosts 421, a call without Token 403.
func (g Guard) Allow(w http.ResponseWriter, r *http.Request, withToken bool, fail func(w http.ResponseWriter, code int, msg string)) bool {
	if !HostAllowed(g.Hosts, r.Host) {
		fail(w, http.StatusMisdirectedRequest, fmt.Sprintf("this chat page answers only at %s, not at Host %q",
			strings.Join(g.Hosts, ", "), r.Host))
		return false
	}
	if withToken && g.Token != "" && !tokenMatches(g.Token, r) {
		fail(w, http.StatusForbidden, g.NeedToken)
		return false
	}
	return true
}

// HostAllowed says whether a request's Host is one of hosts; any is when hosts is empty.
func HostAllowed(hosts []string, host string) bool {
	if len(hosts) == 0 {
		return true
	}
	for _, h := range hosts {
		if strings.EqualFold(h, host) {
			return true
		}
	}
	return false
}

// tokenMatches says whether a request carries the token, in the header or the query.
func tokenMatches(token string, r *http.Request) bool {
	got := r.Header.Get(TokenHeader)
	if got == "" {
		got = r.URL.Query().Get("token")
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

// IsJSON says whether a request's body is declared as JSON.
func IsJSON(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}
