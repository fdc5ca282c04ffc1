package zalotest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// campaignDay is the clock's start in tests: a morning of the campaign, Vietnam time.
var campaignDay = time.Date(2025, 9, 5, 9, 0, 0, 0, time.FixedZone("ICT", 7*3600))

// env is an emulator on a test server with a settable clock and a valid access token.
type env struct {
	emu   *Server
	ts    *httptest.Server
	clock *Clock
	token string
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	clock := NewClock(campaignDay)
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	if opts.AppID == "" {
		opts.AppID = "1122334455667788990"
	}
	if opts.AppSecret == "" {
		opts.AppSecret = "app-secret"
	}
	emu := New(opts)
	ts := httptest.NewServer(emu)
	t.Cleanup(func() {
		emu.Close()
		ts.Close()
	})
	return &env{emu: emu, ts: ts, clock: clock, token: emu.IssueAccessToken()}
}

// advance moves the clock and takes a fresh access token, as the adapter would refresh it.
func (e *env) advance(d time.Duration) {
	e.clock.Advance(d)
	e.token = e.emu.IssueAccessToken()
}

// answer is the Open API's envelope.
type answer struct {
	Error   int             `json:"error"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// do calls the emulator and decodes Zalo's envelope; every answer must be HTTP 200.
func (e *env) do(t *testing.T, method, path, token, contentType string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("access_token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s = HTTP %d, Zalo answers 200: %s", method, path, resp.StatusCode, raw)
	}
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("%s %s: %v in %s", method, path, err, raw)
	}
	return a
}

// send posts to /v3.0/oa/message/cs with the env's token.
func (e *env) send(t *testing.T, body string) answer {
	t.Helper()
	return e.do(t, "POST", "/v3.0/oa/message/cs", e.token, "application/json", []byte(body))
}

// sendText sends a text to a user and returns the message_id, failing the test on an error.
func (e *env) sendText(t *testing.T, userID, text string) string {
	t.Helper()
	a := e.send(t, `{"recipient":{"user_id":"`+userID+`"},"message":{"text":`+quote(text)+`}}`)
	if a.Error != 0 {
		t.Fatalf("send %q to %s: %d %s", text, userID, a.Error, a.Message)
	}
	var d struct {
		MessageID string `json:"message_id"`
		UserID    string `json:"user_id"`
	}
	_ = json.Unmarshal(a.Data, &d)
	if d.MessageID == "" || d.UserID != userID {
		t.Fatalf("send answer data = %s", a.Data)
	}
	return d.MessageID
}

// follower adds a person who follows the OA.
func (e *env) follower(t *testing.T, name string) string {
	t.Helper()
	id := e.emu.AddUser(name)
	if _, err := e.emu.Follow(id); err != nil {
		t.Fatal(err)
	}
	return id
}

// upload posts a multipart file to an upload endpoint. The buffer is sized up front: copies of
// megabytes are slow under the race detector.
func (e *env) upload(t *testing.T, path, name string, data []byte) answer {
	t.Helper()
	var buf bytes.Buffer
	buf.Grow(len(data) + 1024)
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(data)
	_ = mw.Close()
	return e.do(t, "POST", path, e.token, mw.FormDataContentType(), buf.Bytes())
}

func wantError(t *testing.T, a answer, code int, substr string) {
	t.Helper()
	if a.Error != code || !strings.Contains(a.Message, substr) {
		t.Fatalf("answer = %d %q, want %d containing %q", a.Error, a.Message, code, substr)
	}
}

// hook is a webhook receiver that records what it gets and answers as respond says.
type hook struct {
	mu      sync.Mutex
	reqs    []hookReq
	respond func(n int) (status int, delay time.Duration)
	srv     *httptest.Server
}

type hookReq struct {
	body   []byte
	header http.Header
}

func newHook(t *testing.T, respond func(n int) (int, time.Duration)) *hook {
	t.Helper()
	h := &hook{respond: respond}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.reqs = append(h.reqs, hookReq{body, r.Header.Clone()})
		n := len(h.reqs)
		h.mu.Unlock()
		status, delay := 200, time.Duration(0)
		if h.respond != nil {
			status, delay = h.respond(n)
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
			}
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) got() []hookReq {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookReq(nil), h.reqs...)
}

// waitEvent waits up to five seconds for an event to satisfy cond.
func waitEvent(t *testing.T, emu *Server, id string, cond func(Event) bool) Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ev, err := emu.WaitEvent(ctx, id, cond)
	if err != nil {
		t.Fatalf("%v; event so far: %+v", err, ev.Attempts)
	}
	return ev
}

func delivered(e Event) bool { return e.Delivered }

// --- tokens ---

func (e *env) refresh(t *testing.T, secret, appID, refreshToken string) (map[string]any, int) {
	t.Helper()
	form := url.Values{"app_id": {appID}, "grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	req, _ := http.NewRequest("POST", e.ts.URL+"/v4/oa/access_token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("secret_key", secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out, resp.StatusCode
}

func TestToken_RotationIsSingleUse(t *testing.T) {
	e := newEnv(t, Options{})
	first := e.emu.IssueRefreshToken()
	got, status := e.refresh(t, "app-secret", "1122334455667788990", first)
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	if exp, ok := got["expires_in"].(string); !ok || exp != "90000" {
		t.Fatalf("expires_in = %#v, want the string \"90000\"", got["expires_in"])
	}
	access, _ := got["access_token"].(string)
	second, _ := got["refresh_token"].(string)
	if access == "" || second == "" || second == first {
		t.Fatalf("answer = %v", got)
	}
	if !e.emu.AccessTokenValid(access) || e.emu.RefreshCount() != 1 {
		t.Fatal("new access token not valid or refresh not counted")
	}
	// The old refresh token is dead at once: HTTP 200 and Zalo's error shape.
	got, status = e.refresh(t, "app-secret", "1122334455667788990", first)
	if status != 200 || got["error"] != float64(-14014) || got["error_name"] != "Invalid refresh token" || got["error_description"] == "" {
		t.Fatalf("reuse = %d %v", status, got)
	}
	// Rotating again kills the access token issued before it (RotateKillsAccess defaults to true).
	got, _ = e.refresh(t, "app-secret", "1122334455667788990", second)
	third, _ := got["access_token"].(string)
	wantError(t, e.do(t, "POST", "/v3.0/oa/quota/message", access, "application/json", []byte(`{"user_id":"1"}`)), -220, "")
	if e.emu.AccessTokenValid(access) || !e.emu.AccessTokenValid(third) || e.emu.RefreshCount() != 2 {
		t.Fatal("rotation did not kill the older access token, or killed the new one")
	}
}

func TestToken_RotationMayKeepAccess(t *testing.T) {
	e := newEnv(t, Options{RotateKillsAccess: new(false)})
	got, _ := e.refresh(t, "app-secret", "1122334455667788990", e.emu.IssueRefreshToken())
	got, _ = e.refresh(t, "app-secret", "1122334455667788990", got["refresh_token"].(string))
	if !e.emu.AccessTokenValid(e.token) || !e.emu.AccessTokenValid(got["access_token"].(string)) {
		t.Fatal("with RotateKillsAccess false, older access tokens must live on")
	}
}

func TestToken_LifetimesOnTheClock(t *testing.T) {
	e := newEnv(t, Options{})
	refresh := e.emu.IssueRefreshToken()
	e.clock.Advance(AccessTokenTTL - time.Second)
	if !e.emu.AccessTokenValid(e.token) {
		t.Fatal("access token died before 25 h")
	}
	e.clock.Advance(time.Second)
	a := e.do(t, "POST", "/v3.0/oa/quota/message", e.token, "application/json", []byte(`{"user_id":"1"}`))
	wantError(t, a, -220, "expired")
	e.clock.Set(campaignDay.AddDate(0, 3, 0))
	got, _ := e.refresh(t, "app-secret", "1122334455667788990", refresh)
	if got["error"] != float64(-14014) {
		t.Fatalf("a refresh token three months old = %v", got)
	}
}

func TestToken_EndpointErrors(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.emu.IssueRefreshToken()
	cases := []struct {
		name, secret, appID string
		code                float64
	}{
		{"wrong secret_key", "nope", "1122334455667788990", -14003},
		{"no secret_key", "", "1122334455667788990", -14003},
		{"wrong app_id", "app-secret", "42", -14002},
	}
	for _, c := range cases {
		got, status := e.refresh(t, c.secret, c.appID, tok)
		if status != 200 || got["error"] != c.code || got["error_name"] == nil || got["access_token"] != nil {
			t.Errorf("%s: %d %v, want error %v", c.name, status, got, c.code)
		}
	}
	// None of those used the token up.
	if got, _ := e.refresh(t, "app-secret", "1122334455667788990", tok); got["access_token"] == nil {
		t.Fatalf("refresh after refused attempts = %v", got)
	}
	// A person revokes the app: every refresh token dies.
	live := e.emu.IssueRefreshToken()
	e.emu.KillRefreshTokens()
	if got, _ := e.refresh(t, "app-secret", "1122334455667788990", live); got["error"] != float64(-14014) {
		t.Fatalf("refresh after revocation = %v", got)
	}
	form := url.Values{"app_id": {"1122334455667788990"}, "grant_type": {"authorization_code"}, "code": {"x"}}
	req, _ := http.NewRequest("POST", e.ts.URL+"/v4/oa/access_token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("secret_key", "app-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if out["error"] == nil || out["access_token"] != nil {
		t.Fatalf("authorization_code = %v, want an error", out)
	}
}

func TestAPI_AccessTokenHeader(t *testing.T) {
	e := newEnv(t, Options{})
	body := []byte(`{"user_id":"1"}`)
	wantError(t, e.do(t, "POST", "/v3.0/oa/quota/message", "", "application/json", body), -216, "invalid")
	wantError(t, e.do(t, "POST", "/v3.0/oa/quota/message", "made-up", "application/json", body), -216, "invalid")
	// Authorization: Bearer is not how Zalo takes the token.
	req, _ := http.NewRequest("POST", e.ts.URL+"/v3.0/oa/quota/message", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var a answer
	_ = json.NewDecoder(resp.Body).Decode(&a)
	resp.Body.Close()
	wantError(t, a, -216, "")
	e.emu.KillAccessTokens()
	wantError(t, e.do(t, "POST", "/v3.0/oa/quota/message", e.token, "application/json", body), -220, "")
}

func TestAPI_RateLimit(t *testing.T) {
	e := newEnv(t, Options{RatePerMinute: 3})
	u := e.follower(t, "Lan")
	for i := range 3 {
		e.sendText(t, u, "tin "+string(rune('a'+i)))
	}
	wantError(t, e.send(t, `{"recipient":{"user_id":"`+u+`"},"message":{"text":"x"}}`), -32, "per minute")
	e.clock.Advance(time.Minute)
	e.sendText(t, u, "sau một phút")
	if calls, throttled := e.emu.APICalls(); calls != 5 || throttled != 1 {
		t.Errorf("APICalls = %d, %d; want 5 calls, 1 throttled", calls, throttled)
	}
}

func TestAPI_FailNext(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.follower(t, "Lan")
	e.emu.FailNext("/v3.0/oa/message/cs", -244, "User has blocked this message type")
	wantError(t, e.send(t, `{"recipient":{"user_id":"`+u+`"},"message":{"text":"x"}}`), -244, "blocked")
	e.sendText(t, u, "lần sau thì được")
}

func TestAPI_UserDetailAndQuota(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.follower(t, "Nguyễn Thị Lan")
	a := e.do(t, "GET", "/v3.0/oa/user/detail?data="+url.QueryEscape(`{"user_id":"`+u+`"}`), e.token, "", nil)
	var d map[string]any
	if a.Error != 0 || json.Unmarshal(a.Data, &d) != nil {
		t.Fatalf("user/detail = %+v", a)
	}
	if d["user_id"] != u || d["display_name"] != "Nguyễn Thị Lan" || d["user_is_follower"] != true ||
		d["user_last_interaction_date"] != "05/09/2025" || d["shared_info"] != nil {
		t.Fatalf("user/detail data = %v", d)
	}
	e.sendRequestInfo(t, u)
	if _, err := e.emu.SubmitInfo(u, "Lan", "0912 345 678"); err != nil {
		t.Fatal(err)
	}
	a = e.do(t, "GET", "/v3.0/oa/user/detail?data="+url.QueryEscape(`{"user_id":"`+u+`"}`), e.token, "", nil)
	_ = json.Unmarshal(a.Data, &d)
	shared, _ := d["shared_info"].(map[string]any)
	if shared["phone"] != "84912345678" || shared["name"] != "Lan" {
		t.Fatalf("shared_info = %v", d["shared_info"])
	}
	wantError(t, e.do(t, "GET", "/v3.0/oa/user/detail?data="+url.QueryEscape(`{"user_id":"123"}`), e.token, "", nil), -201, "")

	e.advance(3 * 24 * time.Hour)
	a = e.do(t, "POST", "/v3.0/oa/quota/message", e.token, "application/json", []byte(`{"user_id":"`+u+`"}`))
	var q struct {
		LastInteraction int64  `json:"last_interaction"`
		InWindow        bool   `json:"in_window"`
		QuotaType       string `json:"quota_type"`
	}
	_ = json.Unmarshal(a.Data, &q)
	if a.Error != 0 || q.LastInteraction != campaignDay.UnixMilli() || !q.InWindow || q.QuotaType != "paid" {
		t.Fatalf("quota = %+v %s", a, a.Data)
	}
}
