package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/chat"
	"github.com/thuduc/maytinhchoem/flows"
)

// scriptedSender returns the scripted errors in turn, then nil.
type scriptedSender struct {
	mu    sync.Mutex
	errs  []error
	calls []time.Time
}

func (s *scriptedSender) Send(ctx context.Context, r Reply) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, time.Now())
	if len(s.errs) == 0 {
		return nil
	}
	err := s.errs[0]
	s.errs = s.errs[1:]
	return err
}

func TestPacedSender_Send(t *testing.T) {
	reply := Reply{Output: flows.Output{Text: "hi"}, Channel: "test", ChatID: "1"}
	tests := []struct {
		name        string
		errs        []error
		wantErr     error
		wantCalls   int
		wantStopped bool
		minElapsed  time.Duration
		wantUnreach bool
	}{
		{"ok", nil, nil, 1, false, 0, false},
		{"throttled waits retry_after then succeeds", []error{&ThrottledError{RetryAfter: time.Second}}, nil, 2, false, time.Second, false},
		{"transient errors are retried", []error{errors.New("eof"), errors.New("eof")}, nil, 3, false, 0, false},
		{"gives up after attempts", []error{errors.New("1"), errors.New("2"), errors.New("3")}, errors.New("x"), 3, false, 0, false},
		{"stopped is reported and not retried", []error{ErrStopped}, ErrStopped, 1, true, 0, false},
		{"rejected is not retried", []error{ErrRejected}, ErrRejected, 1, false, 0, false},
		{"unreachable is reported and not retried", []error{fmt.Errorf("zalo: -230: %w", ErrUnreachable)}, ErrUnreachable, 1, false, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inner := &scriptedSender{errs: tt.errs}
			stopped, unreachable := false, false
			p := NewPacedSender(inner, PacedSenderConfig{Attempts: 3, Backoff: time.Millisecond,
				OnStopped:     func(ctx context.Context, channel, chatID string) { stopped = channel == "test" && chatID == "1" },
				OnUnreachable: func(ctx context.Context, channel, chatID string) { unreachable = channel == "test" && chatID == "1" }})
			start := time.Now()
			err := p.Send(context.Background(), reply)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("err = %v", err)
			case tt.wantErr != nil && err == nil:
				t.Fatal("no error")
			case !errors.Is(err, tt.wantErr) && (tt.wantErr == ErrStopped || tt.wantErr == ErrRejected || tt.wantErr == ErrUnreachable):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if len(inner.calls) != tt.wantCalls {
				t.Errorf("calls = %d, want %d", len(inner.calls), tt.wantCalls)
			}
			if stopped != tt.wantStopped || unreachable != tt.wantUnreach {
				t.Errorf("stopped = %v, unreachable = %v", stopped, unreachable)
			}
			if el := time.Since(start); el < tt.minElapsed {
				t.Errorf("returned after %s, want at least %s", el, tt.minElapsed)
			}
		})
	}
}

func TestPacedSender_RateLimits(t *testing.T) {
	inner := &scriptedSender{}
	// 20/s overall, 5/s per chat with no burst: 5 messages to one chat take about 0.8s.
	p := NewPacedSender(inner, PacedSenderConfig{GlobalPerSecond: 20, GlobalBurst: 1, PerChatPerSecond: 5, PerChatBurst: 1})
	start := time.Now()
	for range 5 {
		if err := p.Send(context.Background(), Reply{Channel: "test", ChatID: "1"}); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el < 700*time.Millisecond {
		t.Errorf("5 messages to one chat took %s, want >= 0.8s at 5/s", el)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Send(ctx, Reply{Channel: "test", ChatID: "1"}); err == nil {
		t.Error("a cancelled send returned no error")
	}
}

// existsSender notes, at every attempt, whether the reply's file is still there, and returns the
// scripted errors in turn.
type existsSender struct {
	scriptedSender
	there []bool
}

func (s *existsSender) Send(ctx context.Context, r Reply) error {
	_, err := os.Stat(r.File.Path)
	s.mu.Lock()
	s.there = append(s.there, err == nil)
	s.mu.Unlock()
	return s.scriptedSender.Send(ctx, r)
}

func TestPacedSender_RemovesFile(t *testing.T) {
	tests := []struct {
		name     string
		errs     []error
		remove   bool
		cancel   bool
		attempts int
		wantKept bool
	}{
		{name: "after success", remove: true, attempts: 1},
		{name: "not without Remove", remove: false, attempts: 1, wantKept: true},
		{name: "after a throttle and success, not between", errs: []error{&ThrottledError{RetryAfter: time.Millisecond}}, remove: true, attempts: 2},
		{name: "after transient errors and success, not between", errs: []error{errors.New("eof"), errors.New("eof")}, remove: true, attempts: 3},
		{name: "after giving up", errs: []error{errors.New("1"), errors.New("2"), errors.New("3")}, remove: true, attempts: 3},
		{name: "after a rejection", errs: []error{ErrRejected}, remove: true, attempts: 1},
		{name: "after the person blocked the bot", errs: []error{ErrStopped}, remove: true, attempts: 1},
		{name: "when cancelled before sending", remove: true, cancel: true, attempts: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "export.xlsx")
			if err := os.WriteFile(path, []byte("PK"), 0o600); err != nil {
				t.Fatal(err)
			}
			inner := &existsSender{scriptedSender: scriptedSender{errs: tt.errs}}
			// A second is the shortest throttle wait; this test's throttle case takes it.
			p := NewPacedSender(inner, PacedSenderConfig{Attempts: 3, Backoff: time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
			ctx, cancel := context.WithCancel(context.Background())
			if tt.cancel {
				cancel()
			}
			defer cancel()
			_ = p.Send(ctx, Reply{Output: flows.Output{Text: "báo cáo", File: &flows.File{Path: path, Name: "a.xlsx", Remove: tt.remove}}, Channel: "test", ChatID: "1"})
			if len(inner.there) != tt.attempts {
				t.Fatalf("%d attempts, want %d", len(inner.there), tt.attempts)
			}
			for i, there := range inner.there {
				if !there {
					t.Errorf("file gone at attempt %d", i+1)
				}
			}
			if _, err := os.Stat(path); (err == nil) != tt.wantKept {
				t.Errorf("file kept = %v, want %v", err == nil, tt.wantKept)
			}
		})
	}
}

func TestRouter_Send(t *testing.T) {
	tg, zl := &scriptedSender{}, &scriptedSender{errs: []error{ErrUnreachable}}
	r := NewRouter()
	r.Add("telegram", tg)
	r.Add("zalo", zl)
	if err := r.Send(context.Background(), Reply{Channel: "telegram", ChatID: "1", Output: flows.Output{Text: "a"}}); err != nil {
		t.Fatal(err)
	}
	if err := r.Send(context.Background(), Reply{Channel: "zalo", ChatID: "2", Output: flows.Output{Text: "b"}}); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("zalo err = %v, want the zalo sender's", err)
	}
	if len(tg.calls) != 1 || len(zl.calls) != 1 || !r.Has("zalo") || r.Has("viber") {
		t.Errorf("calls telegram %d zalo %d", len(tg.calls), len(zl.calls))
	}
	file := filepath.Join(t.TempDir(), "a.xlsx")
	if err := os.WriteFile(file, []byte("PK"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := r.Send(context.Background(), Reply{Channel: "viber", ChatID: "3", Output: flows.Output{Text: "c", File: &flows.File{Path: file, Remove: true}}})
	if !errors.Is(err, ErrRejected) {
		t.Errorf("unknown channel: err = %v, want ErrRejected", err)
	}
	if _, statErr := os.Stat(file); !os.IsNotExist(statErr) {
		t.Errorf("the file of a reply no channel carries is still there: %v", statErr)
	}
}

// fakeBudget records what the PacedSender asks of a shared budget.
type fakeBudget struct {
	mu     sync.Mutex
	waits  []string // "chat bulk"
	pauses []time.Duration
	fail   error
}

func (b *fakeBudget) Wait(ctx context.Context, chatID string, bulk bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.waits = append(b.waits, fmt.Sprint(chatID, " ", bulk))
	return b.fail
}

func (b *fakeBudget) Pause(ctx context.Context, d time.Duration) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pauses = append(b.pauses, d)
	return nil
}

// With a shared budget, every attempt waits on it (bulk told apart), a 429 pauses the whole
// account instead of sleeping here, and a budget that fails (Redis away) still lets the message
// go at this process's own pace.
func TestPacedSender_SharedBudget(t *testing.T) {
	budget := &fakeBudget{}
	inner := &scriptedSender{errs: []error{&ThrottledError{RetryAfter: 3 * time.Second}}}
	p := NewPacedSender(inner, PacedSenderConfig{Budget: budget, Backoff: time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	start := time.Now()
	if err := p.Send(context.Background(), Reply{Channel: "test", ChatID: "7", Output: flows.Output{Text: "tin"}, Lane: chat.LaneBulk}); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("the sender slept %s itself; the budget's pause is the wait", el)
	}
	if !slices.Equal(budget.waits, []string{"7 true", "7 true"}) || !slices.Equal(budget.pauses, []time.Duration{3 * time.Second}) {
		t.Errorf("waits %q, pauses %v", budget.waits, budget.pauses)
	}
	budget.fail = errors.New("redis down")
	if err := p.Send(context.Background(), Reply{Channel: "test", ChatID: "8", Output: flows.Output{Text: "trả lời"}}); err != nil {
		t.Errorf("with the budget down: %v, want the message sent", err)
	}
	if got := budget.waits[len(budget.waits)-1]; got != "8 false" {
		t.Errorf("a reply waited as %q, want not bulk", got)
	}
}
