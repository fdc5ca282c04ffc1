package zalotest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"time"
)

// refreshToken is a refresh token the emulator issued; it works once.
type refreshToken struct {
	expires time.Time
	dead    bool
}

// accessToken is an access token the emulator issued.
type accessToken struct {
	expires time.Time
	killed  bool // by a later rotation or by KillAccessTokens
}

// newToken makes a token as long and opaque as Zalo's.
func newToken() string {
	return rand.Text() + rand.Text() + rand.Text() + rand.Text()
}

// IssueRefreshToken makes a fresh refresh token, as an operator copies one from the developer
// console after granting the app. It lives three months on the clock and works once.
func (s *Server) IssueRefreshToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueRefreshLocked()
}

func (s *Server) issueRefreshLocked() string {
	tok := newToken()
	s.refresh[tok] = &refreshToken{expires: s.now().AddDate(0, 3, 0)}
	return tok
}

// KillRefreshTokens kills every refresh token issued so far, as when a person revokes the app:
// the next refresh fails with -14014 until IssueRefreshToken. Access tokens keep working until they
// expire (see KillAccessTokens).
func (s *Server) KillRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.refresh {
		t.dead = true
	}
}

// KillAccessTokens kills every access token issued so far: the next API call gets -220.
func (s *Server) KillAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.access {
		t.killed = true
	}
}

// RefreshCount is how many refreshes succeeded.
func (s *Server) RefreshCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshCount
}

// AccessTokenValid tells whether an API call with tok would pass the token check now.
func (s *Server) AccessTokenValid(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checkAccessLocked(tok) == nil
}

// IssueAccessToken makes an access token directly, for tests that do not exercise the token
// endpoint. It lives AccessTokenTTL on the clock.
func (s *Server) IssueAccessToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := newToken()
	s.access[tok] = &accessToken{expires: s.now().Add(AccessTokenTTL)}
	return tok
}

// checkAccessLocked checks an access_token header; call with s.mu held.
func (s *Server) checkAccessLocked(tok string) *APIError {
	t := s.access[tok]
	if tok == "" || t == nil {
		return apiErr(-216, "Access token is invalid")
	}
	if t.killed || !s.now().Before(t.expires) {
		return apiErr(-220, "Access token has expired or been removed")
	}
	return nil
}

// tokenError is the token endpoint's error answer (HTTP 200).
type tokenError struct {
	Error       int    `json:"error"`
	Name        string `json:"error_name"`
	Description string `json:"error_description"`
}

// serveToken answers POST /v4/oa/access_token.
//
//	header secret_key: the app secret
//	form: app_id, grant_type=refresh_token, refresh_token
//	→ {"access_token","refresh_token","expires_in":"90000"}
//
// Errors (HTTP 200): -14001 bad request (method, form, grant type), -14002 wrong app_id, -14003
// wrong or missing secret_key, -14014 dead, unknown or expired refresh token.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, name, desc string) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(tokenError{code, name, desc})
	}
	if r.Method != http.MethodPost {
		fail(-14001, "Invalid request", "the token endpoint takes POST")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		fail(-14001, "Invalid request", "cannot read the form body: "+err.Error())
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("secret_key")), []byte(s.opts.AppSecret)) != 1 {
		fail(-14003, "Invalid secret key", "the secret_key header does not match the app's secret")
		return
	}
	if r.PostForm.Get("app_id") != s.opts.AppID {
		fail(-14002, "Invalid app id", "app_id "+quote(r.PostForm.Get("app_id"))+" is not this app")
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "refresh_token":
	case "authorization_code":
		fail(-14001, "Unsupported grant type", "the emulator does not exchange authorization codes; use IssueRefreshToken")
		return
	default:
		fail(-14001, "Invalid grant type", "grant_type "+quote(gt)+" is not refresh_token")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.refresh[r.PostForm.Get("refresh_token")]
	if old == nil || old.dead {
		fail(-14014, "Invalid refresh token", "refresh token is invalid, already used or revoked")
		return
	}
	now := s.now()
	if !now.Before(old.expires) {
		fail(-14014, "Invalid refresh token", "refresh token has expired")
		return
	}
	old.dead = true
	if s.killAccess {
		for _, t := range s.access {
			t.killed = true
		}
	}
	acc := newToken()
	s.access[acc] = &accessToken{expires: now.Add(AccessTokenTTL)}
	s.refreshCount++
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"access_token":  acc,
		"refresh_token": s.issueRefreshLocked(),
		"expires_in":    "90000",
	})
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
