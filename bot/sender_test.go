package bot

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

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
	}{
		{"ok", nil, nil, 1, false, 0},
		{"throttled waits retry_after then succeeds", []error{&ThrottledError{RetryAfter: time.Second}}, nil, 2, false, time.Second},
		{"transient errors are retried", []error{errors.New("eof"), errors.New("eof")}, nil, 3, false, 0},
		{"gives up after attempts", []error{errors.New("1"), errors.New("2"), errors.New("3")}, errors.New("x"), 3, false, 0},
		{"stopped is reported and not retried", []error{ErrStopped}, ErrStopped, 1, true, 0},
		{"rejected is not retried", []error{ErrRejected}, ErrRejected, 1, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inner := &scriptedSender{errs: tt.errs}
			stopped := false
			p := NewPacedSender(inner, PacedSenderConfig{Attempts: 3, Backoff: time.Millisecond,
				OnStopped: func(ctx context.Context, channel, chatID string) { stopped = channel == "test" && chatID == "1" }})
			start := time.Now()
			err := p.Send(context.Background(), reply)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("err = %v", err)
			case tt.wantErr != nil && err == nil:
				t.Fatal("no error")
			case tt.wantErr == ErrStopped && !errors.Is(err, ErrStopped), tt.wantErr == ErrRejected && !errors.Is(err, ErrRejected):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if len(inner.calls) != tt.wantCalls {
				t.Errorf("calls = %d, want %d", len(inner.calls), tt.wantCalls)
			}
			if stopped != tt.wantStopped {
				t.Errorf("stopped = %v", stopped)
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
