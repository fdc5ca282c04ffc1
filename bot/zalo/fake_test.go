package zalo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// The test OA. Tokens are spelled so that a leak into a log or an error is easy to find.
const (
	testAppID     = "4300218473298650001"
	testAppSecret = "app-secret-xyz"
	testOASecret  = "oa-secret-abc"
	testUser      = "8312345678901234567"
	testSeed      = "REFRESH-SEED"
)

// testNow is when the fixtures' events happen, ten seconds later.
var testNow = time.Date(2026, 9, 5, 3, 0, 0, 0, time.UTC)

// clock is an injected clock tests move.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: testNow} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeRecords is a RecordStore that holds a real mutex while fn runs, as the row lock of the
// PostgreSQL store does across replicas.
type fakeRecords struct {
	mu      sync.Mutex
	data    map[string][]byte
	updates int
}

func newFakeRecords() *fakeRecords { return &fakeRecords{data: map[string][]byte{}} }

func (s *fakeRecords) LoadRecord(ctx context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.data[key]), nil
}

func (s *fakeRecords) UpdateRecord(ctx context.Context, key string, fn func(current []byte) ([]byte, error)) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updates++
	next, err := fn(bytes.Clone(s.data[key]))
	if err != nil {
		return nil, err
	}
	s.data[key] = bytes.Clone(next)
	return next, nil
}

func (s *fakeRecords) record(t *testing.T) tokenRecord {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var rec tokenRecord
	if err := json.Unmarshal(s.data["zalo:tokens:"+testAppID], &rec); err != nil {
		t.Fatalf("token record: %v", err)
	}
	return rec
}

// fakeMenus is a MenuStore in memory; TTLs are recorded, not enforced.
type fakeMenus struct {
	mu      sync.Mutex
	menus   map[string][]byte
	ttl     time.Duration
	sets    int
	clears  int
	takeErr error
	takers  map[string][]byte // what each event took, for its redeliveries
}

func newFakeMenus() *fakeMenus { return &fakeMenus{menus: map[string][]byte{}} }

func (m *fakeMenus) SetMenu(ctx context.Context, chatID string, data []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.menus[chatID], m.ttl = bytes.Clone(data), ttl
	m.sets++
	return nil
}

func (m *fakeMenus) TakeMenu(ctx context.Context, chatID, eventID string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.takeErr != nil {
		return nil, m.takeErr
	}
	if m.takers == nil {
		m.takers = map[string][]byte{}
	}
	if data, ok := m.takers[chatID+"/"+eventID]; ok {
		return data, nil
	}
	data := m.menus[chatID]
	delete(m.menus, chatID)
	m.takers[chatID+"/"+eventID] = data
	return data, nil
}

func (m *fakeMenus) ClearMenu(ctx context.Context, chatID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.menus, chatID)
	m.clears++
	return nil
}

func (m *fakeMenus) has(chatID string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.menus[chatID] != nil
}

// fakeInteractions is an Interactions in memory.
type fakeInteractions struct {
	mu       sync.Mutex
	last     map[string]time.Time
	touchErr error
}

func newFakeInteractions() *fakeInteractions {
	return &fakeInteractions{last: map[string]time.Time{}}
}

func (f *fakeInteractions) Touch(ctx context.Context, userID string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.touchErr != nil {
		return f.touchErr
	}
	if at.After(f.last[userID]) {
		f.last[userID] = at
	}
	return nil
}

func (f *fakeInteractions) LastInteraction(ctx context.Context, userID string) (time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last[userID], nil
}

func (f *fakeInteractions) set(userID string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last[userID] = at
}

// fakeInbox is an Inbox in memory that offers every unacknowledged event on each Pull, as a
// stream would once the events have been pending long enough.
type fakeInbox struct {
	mu      sync.Mutex
	pushErr error
	next    int
	ids     []string
	events  map[string][]byte
	acked   map[string]bool
	pulls   int
	// handed is when each event was last pulled: as the Redis stream's consumer group, an event
	// pulled and not acknowledged is offered again only claimAfter later.
	handed     map[string]time.Time
	claimAfter time.Duration
}

func newFakeInbox() *fakeInbox {
	return &fakeInbox{events: map[string][]byte{}, acked: map[string]bool{}, handed: map[string]time.Time{}, claimAfter: 20 * time.Millisecond}
}

func (b *fakeInbox) Push(ctx context.Context, data []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pushErr != nil {
		return b.pushErr
	}
	b.next++
	id := fmt.Sprintf("1-%d", b.next)
	b.ids = append(b.ids, id)
	b.events[id] = bytes.Clone(data)
	return nil
}

func (b *fakeInbox) Pull(ctx context.Context, max int, wait time.Duration) ([]string, [][]byte, error) {
	b.mu.Lock()
	b.pulls++
	var ids []string
	var data [][]byte
	for _, id := range b.ids {
		at, handed := b.handed[id]
		if !b.acked[id] && len(ids) < max && (!handed || time.Since(at) >= b.claimAfter) {
			ids, data = append(ids, id), append(data, b.events[id])
			b.handed[id] = time.Now()
		}
	}
	b.mu.Unlock()
	if len(ids) == 0 {
		// Wait a little, not the whole wait: tests end by cancelling ctx.
		sleep(ctx, min(wait, 5*time.Millisecond))
	}
	return ids, data, nil
}

func (b *fakeInbox) Ack(ctx context.Context, ids ...string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, id := range ids {
		b.acked[id] = true
	}
	return nil
}

func (b *fakeInbox) pushed() [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out [][]byte
	for _, id := range b.ids {
		out = append(out, b.events[id])
	}
	return out
}

func (b *fakeInbox) unacked() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, id := range b.ids {
		if !b.acked[id] {
			n++
		}
	}
	return n
}

// fakeLinks is a FileLinks that hands out made-up URLs.
type fakeLinks struct {
	mu    sync.Mutex
	calls []string // name, ttl
}

func (l *fakeLinks) Link(ctx context.Context, path, name string, ttl time.Duration) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, name+" "+ttl.String())
	return "https://files.maytinhchoem.vn/d/abc123", nil
}

// apiCall is one call the fake OA Open API received.
type apiCall struct {
	Path          string
	Token         string
	Body          map[string]any // a JSON call's body
	File          string         // an upload's content
	FileName      string
	FileType      string
	ContentLength int64
}

// message is the call's "message" object.
func (c apiCall) message() map[string]any {
	m, _ := c.Body["message"].(map[string]any)
	return m
}

// text is the call's message text.
func (c apiCall) text() string {
	s, _ := c.message()["text"].(string)
	return s
}

// fakeZalo is the token endpoint and the OA Open API as far as the adapter uses them. Refresh
// tokens work once, as Zalo's do; a refresh also ends the access token it replaces.
type fakeZalo struct {
	t      *testing.T
	server *httptest.Server

	mu         sync.Mutex
	refresh    map[string]bool // refresh tokens that still work
	access     map[string]bool // access tokens that still work
	issued     int
	oauthCalls int
	deadUses   int  // calls with a refresh token that no longer worked
	refuseAll  bool // refuse every refresh token, as for a revoked grant
	calls      []apiCall
	reply      func(c apiCall) (status int, body string)
}

func newFakeZalo(t *testing.T) *fakeZalo {
	t.Helper()
	f := &fakeZalo{t: t, refresh: map[string]bool{testSeed: true}, access: map[string]bool{}}
	f.server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.server.Close)
	return f
}

func (f *fakeZalo) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/v4/oa/access_token" {
		f.serveOAuth(w, r)
		return
	}
	c := apiCall{Path: r.URL.Path, Token: r.Header.Get("access_token"), ContentLength: r.ContentLength}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		if err := r.ParseMultipartForm(10 << 20); err != nil {
			f.t.Errorf("fake Zalo: multipart: %v", err)
		} else if fh := r.MultipartForm.File["file"]; len(fh) == 1 {
			file, _ := fh[0].Open()
			b, _ := io.ReadAll(file)
			file.Close()
			c.File, c.FileName, c.FileType = string(b), fh[0].Filename, fh[0].Header.Get("Content-Type")
		} else {
			f.t.Errorf("fake Zalo: upload without one field \"file\"")
		}
	} else if err := json.NewDecoder(r.Body).Decode(&c.Body); err != nil {
		f.t.Errorf("fake Zalo: %s: body is not JSON: %v", r.URL.Path, err)
	}
	f.mu.Lock()
	valid := f.access[c.Token]
	if valid {
		f.calls = append(f.calls, c)
	}
	n := len(f.calls)
	reply := f.reply
	f.mu.Unlock()
	if !valid {
		_, _ = io.WriteString(w, `{"error":-216,"message":"Access token is invalid"}`)
		return
	}
	if reply != nil {
		if status, body := reply(c); status != 0 {
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
			return
		}
	}
	switch c.Path {
	case "/v3.0/oa/message/cs":
		fmt.Fprintf(w, `{"error":0,"message":"Success","data":{"message_id":"m%d","user_id":%q}}`, n, testUser)
	case "/v2.0/oa/upload/image":
		fmt.Fprintf(w, `{"error":0,"message":"Success","data":{"attachment_id":"att-%d"}}`, n)
	case "/v2.0/oa/upload/file":
		fmt.Fprintf(w, `{"error":0,"message":"Success","data":{"token":"ftok-%d"}}`, n)
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":404,"message":"not found"}`)
	}
}

func (f *fakeZalo) serveOAuth(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		f.t.Errorf("fake Zalo: token form: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.oauthCalls++
	switch {
	case r.Header.Get("secret_key") != testAppSecret:
		_, _ = io.WriteString(w, `{"error":-14002,"error_name":"invalid_client","error_description":"Invalid secret key"}`)
		return
	case r.PostForm.Get("app_id") != testAppID || r.PostForm.Get("grant_type") != "refresh_token":
		f.t.Errorf("fake Zalo: token form %v", r.PostForm)
	}
	rt := r.PostForm.Get("refresh_token")
	if !f.refresh[rt] || f.refuseAll {
		if !f.refuseAll {
			f.deadUses++
		}
		_, _ = io.WriteString(w, `{"error":-14014,"error_name":"invalid_grant","error_description":"Invalid refresh token"}`)
		return
	}
	delete(f.refresh, rt)
	f.issued++
	access, refresh := fmt.Sprintf("ACCESS-%d", f.issued), fmt.Sprintf("REFRESH-%d", f.issued)
	f.access = map[string]bool{access: true}
	f.refresh[refresh] = true
	fmt.Fprintf(w, `{"access_token":%q,"refresh_token":%q,"expires_in":"90000"}`, access, refresh)
}

// Calls returns the API calls so far (not the token endpoint's), optionally only those to path.
func (f *fakeZalo) Calls(path ...string) []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []apiCall
	for _, c := range f.calls {
		if len(path) == 0 || c.Path == path[0] {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeZalo) OAuthCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.oauthCalls
}

// revokeAccess makes the current access token invalid, as Zalo may do before it expires.
func (f *fakeZalo) revokeAccess() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.access = map[string]bool{}
}

// addRefresh makes a refresh token work, as one an operator gets from the developer console.
func (f *fakeZalo) addRefresh(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refresh[token] = true
}

func (f *fakeZalo) setReply(reply func(c apiCall) (int, string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reply = reply
}

// logBuffer collects an adapter's logs, from any goroutine.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fixture is an Adapter with its fakes.
type fixture struct {
	a       *Adapter
	zalo    *fakeZalo
	records *fakeRecords
	menus   *fakeMenus
	inter   *fakeInteractions
	links   *fakeLinks
	clock   *clock
	logs    *logBuffer
}

// config is the test Config over the fixture's fakes.
func (fx *fixture) config() Config {
	return Config{
		AppID:        testAppID,
		AppSecret:    testAppSecret,
		OASecret:     testOASecret,
		RefreshToken: testSeed,
		APIURL:       fx.zalo.server.URL,
		OAuthURL:     fx.zalo.server.URL,
		HTTPTimeout:  5 * time.Second,
		Records:      fx.records,
		Menus:        fx.menus,
		Interactions: fx.inter,
		Links:        fx.links,
		Now:          fx.clock.Now,
		Logger:       slog.New(slog.NewTextHandler(fx.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		backoffMin:   time.Millisecond,
		backoffMax:   5 * time.Millisecond,
	}
}

// newFixture builds fakes and an Adapter over them with New; edit changes the config first.
func newFixture(t *testing.T, edit ...func(*Config)) *fixture {
	t.Helper()
	fx := &fixture{
		zalo:    newFakeZalo(t),
		records: newFakeRecords(),
		menus:   newFakeMenus(),
		inter:   newFakeInteractions(),
		links:   &fakeLinks{},
		clock:   newClock(),
		logs:    &logBuffer{},
	}
	fx.a = fx.newAdapter(t, edit...)
	return fx
}

// newAdapter is another replica over the same fakes.
func (fx *fixture) newAdapter(t *testing.T, edit ...func(*Config)) *Adapter {
	t.Helper()
	cfg := fx.config()
	for _, e := range edit {
		e(&cfg)
	}
	a, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(a.Close)
	t.Cleanup(func() { assertNoTokens(t, "logs", fx.logs.String()) })
	return a
}

// assertNoTokens fails when s holds a token.
func assertNoTokens(t *testing.T, what, s string) {
	t.Helper()
	for _, tok := range []string{"ACCESS-", "REFRESH-"} {
		if strings.Contains(s, tok) {
			t.Errorf("%s hold a token:\n%s", what, s)
		}
	}
}

// offlineAdapter is an Adapter over fresh fakes without a token, for mapping events.
func offlineAdapter(t *testing.T) (*Adapter, *fixture) {
	t.Helper()
	fx := &fixture{
		menus: newFakeMenus(),
		inter: newFakeInteractions(),
		clock: newClock(),
		logs:  &logBuffer{},
	}
	fx.zalo = &fakeZalo{server: &httptest.Server{URL: "http://127.0.0.1:9"}}
	fx.records = newFakeRecords()
	a, err := newAdapter(context.Background(), fx.config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	fx.a = a
	return a, fx
}

func (b *fakeInbox) pullCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pulls
}
