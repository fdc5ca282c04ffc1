package jobs_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/bot"
	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/campaign/campaigntest"
	"github.com/thuduc/maytinhchoem/jobs"
)

// chatSender delivers every message at once, but to the chats that blocked the bot.
type chatSender struct {
	mu      sync.Mutex
	blocked map[string]bool
	got     map[string][]string // chat -> texts
}

func (s *chatSender) Send(_ context.Context, r bot.Reply) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.blocked[r.ChatID] {
		return fmt.Errorf("403 Forbidden: bot was blocked by the user: %w", bot.ErrStopped)
	}
	if s.got == nil {
		s.got = map[string][]string{}
	}
	s.got[r.ChatID] = append(s.got[r.ChatID], r.Text)
	return nil
}

func (s *chatSender) texts(chat string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got[chat]
}

const broadcastCode = "BC-000001"

func testBroadcast() campaign.Broadcast {
	return campaign.Broadcast{ID: 1, Code: broadcastCode, Audience: campaign.Audience{Kind: campaign.AudienceParents},
		ByChannel: "telegram", ByChatID: "999", Recipients: 30}
}

func newBroadcastReport(box campaign.Outbox) (*jobs.BroadcastReport, *campaigntest.Broadcasts) {
	store := campaigntest.NewBroadcasts(nil)
	store.Queue = box
	store.Add(testBroadcast())
	return &jobs.BroadcastReport{Broadcasts: store, Messages: fakeMessages{}, Outbox: box, Logger: quietLogger(),
		Interval: 10 * time.Millisecond,
		Language: func(_ context.Context, channel, chatID string) string {
			if channel+":"+chatID == "telegram:999" {
				return "en"
			}
			return "vi"
		}}, store
}

// TestBroadcastReport_OnceWhenDone drains a broadcast of 30 messages with two senders, as two
// bot processes would, each telling its own reporter what it settled: the official gets one
// report, written once the last message settled.
func TestBroadcastReport_OnceWhenDone(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	b := testBroadcast()
	var msgs []campaign.OutboxMessage
	for i := range b.Recipients {
		msgs = append(msgs, campaign.OutboxMessage{Key: fmt.Sprintf("%s:%d", b.Batch(), i), Batch: b.Batch(),
			Channel: "telegram", ChatID: fmt.Sprintf("c%d", i), Text: "Thông báo"})
	}
	setup := db.outbox()
	if _, err := setup.Enqueue(ctx, msgs); err != nil {
		t.Fatal(err)
	}

	boxA, boxB := db.outbox(), db.outbox()
	repA, storeA := newBroadcastReport(boxA)
	repB, storeB := newBroadcastReport(boxB)

	// A message said settled while all are queued: the broadcast is not done, nothing is told.
	repA.Settled(msgs[0], campaign.OutboxSent)
	repA.Wait()
	if storeA.Looks() != 1 || len(db.queued()) != 30 {
		t.Fatalf("early check: %d looks, outbox holds %d", storeA.Looks(), len(db.queued()))
	}

	send := &chatSender{blocked: map[string]bool{"c7": true}}
	sender := func(box campaign.Outbox, rep *jobs.BroadcastReport) *jobs.OutboxSender {
		return jobs.NewOutboxSender(jobs.OutboxSenderConfig{Outbox: box, Sender: send, Logger: quietLogger(),
			Batch: 4, Poll: 20 * time.Millisecond, OnSettled: rep.Settled})
	}
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { sender(boxA, repA).Run(runCtx) })
	wg.Go(func() { sender(boxB, repB).Run(runCtx) })
	deadline := time.Now().Add(20 * time.Second)
	for len(send.texts("999")) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	// Give a second report, were one queued, the time to go.
	time.Sleep(200 * time.Millisecond)
	cancel()
	wg.Wait()
	repA.Wait()
	repB.Wait()

	var reports []campaign.OutboxMessage
	for _, m := range db.queued() {
		if strings.HasPrefix(m.Key, "broadcast-done:") {
			reports = append(reports, m)
		}
	}
	if len(reports) != 1 {
		t.Fatalf("%d reports queued, want 1", len(reports))
	}
	r := reports[0]
	want := "[en] broadcast BC-000001 done: 29 sent, 0 failed, 1 stopped of 30"
	if r.Key != "broadcast-done:"+broadcastCode || r.Channel != "telegram" || r.ChatID != "999" || r.Text != want {
		t.Errorf("report = %+v, want text %q", r, want)
	}
	if got := send.texts("999"); len(got) != 1 || got[0] != want {
		t.Errorf("the official got %q", got)
	}
	t.Logf("progress looked at %d + %d times", storeA.Looks(), storeB.Looks())

	// Once reported, a late settle (a retry's outcome, say) looks no more.
	before := storeA.Looks() + storeB.Looks()
	for _, rep := range []*jobs.BroadcastReport{repA, repB} {
		rep.Settled(msgs[1], campaign.OutboxSent)
		rep.Wait()
	}
	// A reporter that saw the broadcast done does not look again; one that did not yet (the other
	// process reported it) looks once and finds the report queued.
	if after := storeA.Looks() + storeB.Looks(); after > before+1 {
		t.Errorf("late settles made %d looks", after-before)
	}
	if n := len(db.queued()); n != 31 {
		t.Errorf("outbox holds %d messages, want 30 and the report", n)
	}
}

func TestBroadcastReport_IgnoresOtherMessages(t *testing.T) {
	db := newTestDB(t)
	rep, store := newBroadcastReport(db.outbox())
	rep.Settled(campaign.OutboxMessage{Batch: "summary:2021-09-20"}, campaign.OutboxSent)
	rep.Settled(campaign.OutboxMessage{Batch: "broadcast-done:" + broadcastCode}, campaign.OutboxSent)
	rep.Settled(campaign.OutboxMessage{Batch: "broadcast:" + broadcastCode}, campaign.OutboxPending) // to be retried
	rep.Wait()
	if n := store.Looks(); n != 0 {
		t.Errorf("%d looks at progress", n)
	}
	// With no message left queued, Check reports at once; an unknown code is an error.
	done, err := rep.Check(context.Background(), broadcastCode)
	if err != nil || !done {
		t.Errorf("Check = %v, %v", done, err)
	}
	if _, err := rep.Check(context.Background(), "BC-999999"); campaign.ErrorCode(err) != campaign.ENOTFOUND {
		t.Errorf("unknown broadcast: %v", err)
	}
	if msgs := db.queued(); len(msgs) != 1 || msgs[0].Key != "broadcast-done:"+broadcastCode {
		t.Errorf("queued %+v", msgs)
	}
}
