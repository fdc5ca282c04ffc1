package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

func TestJobRunStore_Claim(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	runs := postgres.NewJobRunStore(db)
	at := time.Date(2021, 9, 20, 10, 0, 0, 0, time.UTC)

	t.Run("once under ten concurrent claimers", func(t *testing.T) {
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				ok, err := runs.Claim(ctx, "daily_summary", "2021-09-20", at, false)
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Errorf("%d claims won, want 1", wins.Load())
		}
	})

	t.Run("another key and another job are other runs", func(t *testing.T) {
		for _, c := range []struct{ job, key string }{{"daily_summary", "2021-09-21"}, {"reminders", "2021-09-20"}} {
			ok, err := runs.Claim(ctx, c.job, c.key, at.Add(24*time.Hour), true)
			if err != nil || !ok {
				t.Errorf("Claim(%s, %s) = %v, %v; want true", c.job, c.key, ok, err)
			}
		}
	})

	t.Run("empty names refused", func(t *testing.T) {
		if _, err := runs.Claim(ctx, "", "k", at, false); campaign.ErrorCode(err) != campaign.EINVALID {
			t.Errorf("empty job: %v", err)
		}
	})
}

func TestJobRunStore_FinishAndLastRun(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	runs := postgres.NewJobRunStore(db)
	if _, ok, err := runs.LastRun(ctx, "daily_summary"); ok || err != nil {
		t.Fatalf("LastRun before any run = %v, %v", ok, err)
	}
	day1 := time.Date(2021, 9, 20, 10, 0, 0, 0, time.UTC)
	day2 := day1.Add(24 * time.Hour)
	for _, at := range []time.Time{day1, day2} {
		if ok, err := runs.Claim(ctx, "daily_summary", at.Format(time.DateOnly), at, at.Equal(day2)); !ok || err != nil {
			t.Fatalf("claim %s = %v, %v", at, ok, err)
		}
	}
	type result struct {
		Registrations int `json:"registrations"`
	}
	if err := runs.Finish(ctx, "daily_summary", "2021-09-20", result{Registrations: 42}, nil); err != nil {
		t.Fatal(err)
	}
	if err := runs.Finish(ctx, "daily_summary", "2021-09-21", result{Registrations: 1}, errors.New("chart: no fonts")); err != nil {
		t.Fatal(err)
	}
	last, ok, err := runs.LastRun(ctx, "daily_summary")
	if err != nil || !ok {
		t.Fatalf("LastRun = %v, %v", ok, err)
	}
	if last.Key != "2021-09-21" || !last.Late || !last.ScheduledFor.Equal(day2) || last.Error != "chart: no fonts" ||
		last.Result != nil || last.FinishedAt.IsZero() || last.FinishedAt.Before(last.StartedAt) {
		t.Errorf("failed run = %+v", last)
	}

	// The first run's result is kept as JSON.
	var stored []byte
	if err := db.SQLX().GetContext(ctx, &stored, `SELECT result FROM job_runs WHERE run_key = '2021-09-20'`); err != nil {
		t.Fatal(err)
	}
	var got result
	if err := json.Unmarshal(stored, &got); err != nil || got.Registrations != 42 {
		t.Errorf("stored result %s", stored)
	}

	if err := runs.Finish(ctx, "daily_summary", "1999-01-01", nil, nil); campaign.ErrorCode(err) != campaign.ENOTFOUND {
		t.Errorf("Finish of an unclaimed run = %v", err)
	}
}

// outboxClock is a settable clock, for leases that run out.
type outboxClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *outboxClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *outboxClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newOutbox(t *testing.T) (*postgres.Outbox, *outboxClock) {
	t.Helper()
	db := newDB(t)
	clock := &outboxClock{t: campaignDay()}
	db.Now = clock.Now
	return postgres.NewOutbox(db), clock
}

func broadcast(batch string, n int) []campaign.OutboxMessage {
	msgs := make([]campaign.OutboxMessage, n)
	for i := range msgs {
		chat := fmt.Sprint(1000 + i)
		msgs[i] = campaign.OutboxMessage{Key: batch + ":telegram:" + chat, Batch: batch, Channel: "telegram",
			ChatID: chat, Text: fmt.Sprintf("message %d", i)}
	}
	return msgs
}

func TestOutbox_Enqueue(t *testing.T) {
	ctx := context.Background()
	box, _ := newOutbox(t)
	msgs := broadcast("b1", 3)
	msgs[0].Buttons = [][]campaign.OutboxButton{{{Text: "Xem", Data: "status"}}}
	msgs[1].FilePath, msgs[1].FileName = "/tmp/chart.png", "tien-do.png"
	if added, err := box.Enqueue(ctx, msgs); err != nil || added != 3 {
		t.Fatalf("Enqueue = %d, %v", added, err)
	}
	// Enqueuing again, with one new message, adds only that one.
	again := append(broadcast("b1", 3), campaign.OutboxMessage{Key: "b1:extra", Batch: "b1", Channel: "telegram", ChatID: "7", Text: "x"})
	if added, err := box.Enqueue(ctx, again); err != nil || added != 1 {
		t.Fatalf("second Enqueue = %d, %v; want 1", added, err)
	}
	got, err := box.Claim(ctx, "", 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("claimed %d, want 4", len(got))
	}
	if got[0].Key != "b1:telegram:1000" || got[0].Text != "message 0" || got[0].Attempts != 1 ||
		got[0].Status != campaign.OutboxSending || !slices.Equal(got[0].Buttons[0], msgs[0].Buttons[0]) {
		t.Errorf("first message = %+v", got[0])
	}
	if got[1].FilePath != "/tmp/chart.png" || got[1].FileName != "tien-do.png" || got[1].Buttons != nil {
		t.Errorf("second message = %+v", got[1])
	}
	if got[3].Key != "b1:extra" {
		t.Errorf("claim order: last is %s", got[3].Key)
	}

	bad := []campaign.OutboxMessage{{Key: "k", Channel: "telegram", ChatID: "1"}}
	if _, err := box.Enqueue(ctx, bad); campaign.ErrorCode(err) != campaign.EINVALID {
		t.Errorf("a message with nothing to send: %v", err)
	}
}

func TestOutbox_ClaimConcurrent(t *testing.T) {
	ctx := context.Background()
	box, _ := newOutbox(t)
	if _, err := box.Enqueue(ctx, broadcast("b", 300)); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for {
				got, err := box.Claim(ctx, "", 7, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					seen[m.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 300 {
		t.Errorf("%d messages claimed, want 300", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("message %d claimed %d times", id, n)
		}
	}
}

func TestOutbox_LeaseAndFence(t *testing.T) {
	ctx := context.Background()
	box, clock := newOutbox(t)
	if _, err := box.Enqueue(ctx, broadcast("b", 2)); err != nil {
		t.Fatal(err)
	}
	first, err := box.Claim(ctx, "", 10, 30*time.Second)
	if err != nil || len(first) != 2 {
		t.Fatalf("claim = %d, %v", len(first), err)
	}
	// Under the lease nobody else gets them.
	clock.Add(20 * time.Second)
	if got, _ := box.Claim(ctx, "", 10, 30*time.Second); len(got) != 0 {
		t.Fatalf("claimed %d messages under a live lease", len(got))
	}
	// A renewed lease holds past the first one's end; the other message's lease runs out.
	if err := box.Renew(ctx, first[:1], 30*time.Second); err != nil {
		t.Fatal(err)
	}
	clock.Add(15 * time.Second)
	again, err := box.Claim(ctx, "", 10, 30*time.Second)
	if err != nil || len(again) != 1 || again[0].ID != first[1].ID || again[0].Attempts != 2 {
		t.Fatalf("after the lease ran out claimed %+v, %v; want message %d at attempt 2", again, err, first[1].ID)
	}
	// The sender that lost the lease cannot report on it any more; the new one can.
	if err := box.MarkSent(ctx, first[1]); !errors.Is(err, campaign.ErrLeaseLost) {
		t.Errorf("MarkSent under a lost lease = %v", err)
	}
	if err := box.MarkSent(ctx, again[0]); err != nil {
		t.Errorf("MarkSent = %v", err)
	}
	if err := box.MarkSent(ctx, again[0]); !errors.Is(err, campaign.ErrLeaseLost) {
		t.Errorf("MarkSent twice = %v", err)
	}
	// Release gives a message back at once, its claim not counted.
	if err := box.Release(ctx, first[:1]); err != nil {
		t.Fatal(err)
	}
	back, err := box.Claim(ctx, "", 10, time.Minute)
	if err != nil || len(back) != 1 || back[0].ID != first[0].ID || back[0].Attempts != 1 {
		t.Errorf("after Release claimed %+v, %v", back, err)
	}
}

func TestOutbox_MarkAndProgress(t *testing.T) {
	ctx := context.Background()
	box, clock := newOutbox(t)
	msgs := broadcast("b7", 5)
	// A second message to the chat of message 3, which will be blocked.
	msgs = append(msgs, campaign.OutboxMessage{Key: "b7:later", Batch: "b7", Channel: "telegram", ChatID: "1003",
		Text: "later", NotBefore: clock.Now().Add(time.Hour)})
	other := campaign.OutboxMessage{Key: "summary:1", Channel: "telegram", ChatID: "1", Text: "s"}
	if _, err := box.Enqueue(ctx, append(msgs, other)); err != nil {
		t.Fatal(err)
	}
	progress := func() [4]int {
		t.Helper()
		q, s, f, st, err := box.BatchProgress(ctx, "b7")
		if err != nil {
			t.Fatal(err)
		}
		return [4]int{q, s, f, st}
	}
	if got := progress(); got != [4]int{6, 0, 0, 0} {
		t.Errorf("progress at start = %v", got)
	}
	got, err := box.Claim(ctx, "", 10, time.Minute)
	if err != nil || len(got) != 6 { // "b7:later" is not due yet
		t.Fatalf("claimed %d, %v", len(got), err)
	}
	byKey := map[string]campaign.OutboxMessage{}
	for _, m := range got {
		byKey[m.Key] = m
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(box.MarkSent(ctx, byKey["b7:telegram:1000"]))
	must(box.MarkSent(ctx, byKey["b7:telegram:1001"]))
	must(box.MarkFailed(ctx, byKey["b7:telegram:1002"], "400 Bad Request: chat not found", time.Time{}))
	must(box.MarkStopped(ctx, byKey["b7:telegram:1003"]))
	must(box.MarkFailed(ctx, byKey["b7:telegram:1004"], "502 Bad Gateway", clock.Now().Add(time.Minute)))
	must(box.MarkSent(ctx, byKey["summary:1"]))
	// Blocking stopped the chat's later message too; the retried one is queued again.
	if got := progress(); got != [4]int{1, 2, 1, 2} {
		t.Errorf("progress = %v, want queued 1, sent 2, failed 1, stopped 2", got)
	}
	if retry, _ := box.Claim(ctx, "", 10, time.Minute); len(retry) != 0 {
		t.Errorf("a retry came back before its time: %+v", retry)
	}
	clock.Add(time.Minute)
	retry, err := box.Claim(ctx, "", 10, time.Minute)
	if err != nil || len(retry) != 1 || retry[0].Key != "b7:telegram:1004" || retry[0].Attempts != 2 ||
		retry[0].LastError != "502 Bad Gateway" {
		t.Fatalf("retry = %+v, %v", retry, err)
	}
	must(box.MarkSent(ctx, retry[0]))
	if got := progress(); got != [4]int{0, 3, 1, 2} {
		t.Errorf("final progress = %v", got)
	}
	if q, s, f, st, err := box.BatchProgress(ctx, "nope"); q+s+f+st != 0 || err != nil {
		t.Errorf("unknown batch = %d %d %d %d %v", q, s, f, st, err)
	}
}
