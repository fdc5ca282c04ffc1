package telegram

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/chat"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name      string
		answer    func(attempt int) (int, string)
		wantErr   string // "" for success
		wantCalls int
	}{
		{
			name:      "token accepted",
			answer:    func(int) (int, string) { return 0, "" },
			wantCalls: 1,
		},
		{
			name:      "401 is a clear error at once",
			answer:    func(int) (int, string) { return apiErr(401, "Unauthorized", 0) },
			wantErr:   "TELEGRAM_TOKEN rejected",
			wantCalls: 1,
		},
		{
			name: "5xx is retried",
			answer: func(attempt int) (int, string) {
				if attempt < 3 {
					return apiErr(502, "Bad Gateway", 0)
				}
				return 0, ""
			},
			wantCalls: 3,
		},
		{
			name:      "gives up after a few attempts",
			answer:    func(int) (int, string) { return http.StatusServiceUnavailable, "<html>down</html>" },
			wantErr:   "after 4 attempts",
			wantCalls: 4,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var attempts atomic.Int32
			f := newFakeAPI(t, func(c apiCall) (int, string) {
				return tt.answer(int(attempts.Add(1)))
			})
			a, err := New(context.Background(), testConfig(t, f.server.URL))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				defer a.Close()
				if a.Username() != "maytinh_bot" {
					t.Errorf("Username = %q", a.Username())
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one saying %q", err, tt.wantErr)
			}
			if got := len(f.Calls("getMe")); got != tt.wantCalls {
				t.Errorf("getMe called %d times, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestNew_config(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"empty token", Config{}},
		{"token with a slash", Config{Token: "1:a/b"}},
		{"API URL not http", Config{Token: testToken, APIURL: "ftp://example.org"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(context.Background(), tt.cfg); err == nil {
				t.Error("New accepted the config")
			}
		})
	}
}

func TestNew_unreachableHidesToken(t *testing.T) {
	f := newFakeAPI(t, nil)
	f.server.Close()
	_, err := New(context.Background(), testConfig(t, f.server.URL))
	if err == nil {
		t.Fatal("New succeeded against a closed server")
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("error shows the token: %v", err)
	}
}

// A long poll in flight is aborted by Close, and by the end of New's context.
func TestAdapter_Close_abortsLongPoll(t *testing.T) {
	for _, how := range []string{"Close", "context"} {
		t.Run(how, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			f := newFakeAPI(t, func(c apiCall) (int, string) {
				if c.Method == "getUpdates" {
					<-release // a long poll that never answers
				}
				return 0, ""
			})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cfg := testConfig(t, f.server.URL)
			cfg.PollTimeout = 60
			a, err := New(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				done <- a.Poll(context.Background(), newMemOffsets(), func(context.Context, []chat.Update) error { return nil })
			}()
			waitFor(t, "a long poll", func() bool { return len(f.Calls("getUpdates")) > 0 })
			if how == "Close" {
				a.Close()
			} else {
				cancel()
			}
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Poll = %v, want nil", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Poll still running after the adapter ended")
			}
		})
	}
}

func TestClassify(t *testing.T) {
	if err := classify("x", 0, nil); err != nil {
		t.Errorf("classify(nil) = %v", err)
	}
	plain := errors.New("connection reset")
	if err := classify("sendMessage", 0, plain); !errors.Is(err, plain) {
		t.Errorf("network error not wrapped: %v", err)
	}
}
