package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/cmd/maytinhchoem/internal/app"
)

// Two processes in polling mode with one token: one polls, the other stands by (no 409s, every
// message answered once); when the poller stops, the stand-by takes over within the lease's
// renewal period.
func TestServe_OnePollerOfTwoProcesses(t *testing.T) {
	h := newHarness(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &syncBuffer{}
	go func() {
		done <- app.ServeWith(ctx, nil, func(k string) string { return h.env[k] }, io.Discard, logs, h.clk)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("the second process returned %v", err)
		}
		if t.Failed() {
			t.Logf("second process:\n%s", logs.String())
		}
	})
	p := h.parent(1301, "vi")
	for range 4 {
		p.say("/status", 1)
	}
	time.Sleep(time.Second)
	if n := len(h.emu.Messages(p.chat)); n != p.seen {
		t.Errorf("%d messages for 4 commands, want 4: two processes answered", n)
	}
	if strings.Contains(logs.String(), "holds the poller lease") {
		t.Error("the second process polls while the first holds the lease")
	}

	h.stopBot() // the poller leaves (and gives the lease up)
	start := time.Now()
	if got := p.say("/status", 1); got.Text == "" {
		t.Fatal("no answer after the poller left")
	}
	if el := time.Since(start); el > app.PollerLeaseTTL {
		t.Errorf("the stand-by took %s to take over, want under %s", el, app.PollerLeaseTTL)
	}
	if !strings.Contains(logs.String(), "holds the poller lease") {
		t.Error("the second process did not say it took the lease")
	}
	if c := h.emu.Metrics().Conflicts; c != 0 {
		t.Errorf("%d getUpdates conflicts, want none", c)
	}
}
