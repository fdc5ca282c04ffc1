package telegram

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const testToken = "123456:TEST-token_abc"

// fakeAPI is a canned Bot API: it records every call and answers with reply, or with a plain
// success when reply is nil or returns a zero status.
type fakeAPI struct {
	t      *testing.T
	server *httptest.Server

	mu    sync.Mutex
	calls []apiCall
	reply func(c apiCall) (status int, body string)
}

// apiCall is one request the fake received.
type apiCall struct {
	Method string
	Form   url.Values
	Files  map[string]string // form field -> file content
	Names  map[string]string // form field -> file name
}

func newFakeAPI(t *testing.T, reply func(c apiCall) (int, string)) *fakeAPI {
	t.Helper()
	f := &fakeAPI{t: t, reply: reply}
	f.server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.server.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	prefix := "/bot" + testToken + "/"
	if !strings.HasPrefix(r.URL.Path, prefix) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"ok":false,"error_code":404,"description":"Not Found"}`)
		return
	}
	c := apiCall{Method: strings.TrimPrefix(r.URL.Path, prefix), Files: map[string]string{}, Names: map[string]string{}}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		if err := r.ParseMultipartForm(10 << 20); err != nil {
			f.t.Errorf("fake API: multipart: %v", err)
		}
		c.Form = url.Values(r.MultipartForm.Value)
		for field, headers := range r.MultipartForm.File {
			file, err := headers[0].Open()
			if err != nil {
				f.t.Errorf("fake API: open %s: %v", field, err)
				continue
			}
			b, _ := io.ReadAll(file)
			_ = file.Close()
			c.Files[field] = string(b)
			c.Names[field] = headers[0].Filename
		}
	} else {
		if err := r.ParseForm(); err != nil {
			f.t.Errorf("fake API: form: %v", err)
		}
		c.Form = r.PostForm
	}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	reply := f.reply
	f.mu.Unlock()

	status, body := 0, ""
	if reply != nil {
		status, body = reply(c)
	}
	if status == 0 {
		status, body = http.StatusOK, defaultAnswer(c.Method)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func defaultAnswer(method string) string {
	switch method {
	case "getMe":
		return `{"ok":true,"result":{"id":999,"is_bot":true,"first_name":"Máy tính","username":"maytinh_bot"}}`
	case "getUpdates":
		return `{"ok":true,"result":[]}`
	case "sendMessage", "editMessageText", "sendDocument", "sendPhoto":
		return `{"ok":true,"result":{"message_id":77,"date":1631000000,"chat":{"id":5550001,"type":"private"},"text":"ok"}}`
	}
	return `{"ok":true,"result":true}`
}

// apiErr is the body of a Bot API refusal.
func apiErr(code int, desc string, retryAfter int) (int, string) {
	body := map[string]any{"ok": false, "error_code": code, "description": desc}
	if retryAfter > 0 {
		body["parameters"] = map[string]any{"retry_after": retryAfter}
	}
	b, _ := json.Marshal(body)
	return code, string(b)
}

// Calls returns the calls so far, optionally only those of methods.
func (f *fakeAPI) Calls(methods ...string) []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []apiCall
	for _, c := range f.calls {
		if len(methods) == 0 || contains(methods, c.Method) {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeAPI) setReply(reply func(c apiCall) (int, string)) {
	f.mu.Lock()
	f.reply = reply
	f.mu.Unlock()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var testNow = time.Date(2021, 9, 7, 8, 0, 0, 0, time.FixedZone("ICT", 7*3600))

// testConfig is a Config for a test server at apiURL with short retries and a quiet logger.
func testConfig(t *testing.T, apiURL string) Config {
	return Config{
		Token:       testToken,
		APIURL:      apiURL,
		HTTPTimeout: 5 * time.Second,
		PollTimeout: 1,
		Logger:      slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:         func() time.Time { return testNow },
		backoffMin:  5 * time.Millisecond,
		backoffMax:  40 * time.Millisecond,
	}
}

// newTestAdapter connects an Adapter to f.
func newTestAdapter(t *testing.T, f *fakeAPI) *Adapter {
	t.Helper()
	a, err := New(context.Background(), testConfig(t, f.server.URL))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(a.Close)
	return a
}

// offlineAdapter is an Adapter that has not called the API, for mapping tests.
func offlineAdapter(t *testing.T) *Adapter {
	t.Helper()
	a, err := newAdapter(context.Background(), testConfig(t, "http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	a.username = "maytinh_bot"
	t.Cleanup(a.Close)
	return a
}

// testWriter sends log lines to t.Log, so they show only for failing tests.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// memOffsets is an OffsetStore in memory that, like storage/redis, never moves an offset back.
type memOffsets struct {
	mu      sync.Mutex
	offsets map[string]int64
	sets    []string
}

func newMemOffsets() *memOffsets { return &memOffsets{offsets: map[string]int64{}} }

func (m *memOffsets) Offset(_ context.Context, key string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.offsets[key], nil
}

func (m *memOffsets) SetOffset(_ context.Context, key string, offset int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sets = append(m.sets, fmt.Sprintf("%s=%d", key, offset))
	if offset > m.offsets[key] {
		m.offsets[key] = offset
	}
	return nil
}

func (m *memOffsets) get(key string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.offsets[key]
}

// waitFor polls cond until it holds or the test has waited too long.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
