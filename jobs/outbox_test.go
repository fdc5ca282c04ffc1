package jobs_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/bot"
	"github.com/thuduc/maytinhchoem/bot/telegram"
	"github.com/thuduc/maytinhchoem/bot/telegram/telegramtest"
	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/chat"
	"github.com/thuduc/maytinhchoem/jobs"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	"github.com/thuduc/maytinhchoem/storage/postgres/postgrestest"
	redisstore "github.com/thuduc/maytinhchoem/storage/redis"
	"github.com/thuduc/maytinhchoem/storage/redis/redistest"
)

const emulatorToken = "123456:TEST-outbox"

// outboxRig is a Telegram emulator enforcing Telegram's flood limits (30 a second overall, 1 a
// second per chat with bursts of 3, 429 with retry_after beyond) and an outbox in PostgreSQL.
type outboxRig struct {
	t     *testing.T
	emu   *telegramtest.Server
	url   string
	box   *postgres.Outbox
	chats []int64
}

func newOutboxRig(t *testing.T, chats int) *outboxRig {
	t.Helper()
	emu := telegramtest.New(telegramtest.Options{Token: emulatorToken})
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { srv.Close(); emu.Close() })
	r := &outboxRig{t: t, emu: emu, url: srv.URL, box: postgres.NewOutbox(postgrestest.NewDB(t))}
	for i := range chats {
		r.chats = append(r.chats, emu.AddChat(telegramtest.User{ID: int64(7000 + i)}))
	}
	return r
}

// sender starts what one bot process has: its own adapter and PacedSender (Telegram's rates),
// and an OutboxSender over the shared outbox.
func (r *outboxRig) sender(stopped func(ctx context.Context, channel, chatID string)) *jobs.OutboxSender {
	r.t.Helper()
	return r.senderWith(stopped, nil)
}

// senderWith is sender with the account's budget shared in Redis, as serve runs it, when budget
// is set.
func (r *outboxRig) senderWith(stopped func(ctx context.Context, channel, chatID string), budget bot.Budget) *jobs.OutboxSender {
	r.t.Helper()
	a, err := telegram.New(context.Background(), telegram.Config{Token: emulatorToken, APIURL: r.url,
		HTTPTimeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(a.Close)
	paced := bot.NewPacedSender(a, bot.PacedSenderConfig{
		GlobalPerSecond: 30, GlobalBurst: 10, PerChatPerSecond: 1, PerChatBurst: 1,
		OnStopped: stopped, Logger: slog.New(slog.DiscardHandler), Budget: budget,
	})
	return jobs.NewOutboxSender(jobs.OutboxSenderConfig{
		Outbox: r.box, Sender: paced, Logger: slog.New(slog.DiscardHandler),
		Batch: 40, Lease: 10 * time.Second, Poll: 100 * time.Millisecond, Backoff: 200 * time.Millisecond,
	})
}

// enqueue queues n messages over the rig's chats, message i to chat i mod len(chats), and
// returns the texts each chat must get.
func (r *outboxRig) enqueue(batch string, n int) map[int64][]string {
	r.t.Helper()
	want := map[int64][]string{}
	msgs := make([]campaign.OutboxMessage, n)
	for i := range msgs {
		chat := r.chats[i%len(r.chats)]
		text := fmt.Sprintf("Tin %d của đợt %s", i, batch)
		msgs[i] = campaign.OutboxMessage{Key: fmt.Sprintf("%s:%d", batch, i), Batch: batch,
			Channel: telegram.Channel, ChatID: strconv.FormatInt(chat, 10), Text: text}
		want[chat] = append(want[chat], text)
	}
	added, err := r.box.Enqueue(context.Background(), msgs)
	if err != nil || added != n {
		r.t.Fatalf("Enqueue = %d, %v", added, err)
	}
	return want
}

// waitDrained waits until no message of the batch is queued, and returns its progress.
func (r *outboxRig) waitDrained(batch string, within time.Duration) (sent, failed, stopped int) {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for {
		q, s, f, st, err := r.box.BatchProgress(context.Background(), batch)
		if err != nil {
			r.t.Fatal(err)
		}
		if q == 0 {
			return s, f, st
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("batch %s still has %d queued after %s (sent %d, failed %d, stopped %d)", batch, q, within, s, f, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// received returns the texts the emulator holds for each chat, sorted.
func (r *outboxRig) received() map[int64][]string {
	got := map[int64][]string{}
	for _, c := range r.chats {
		for _, m := range r.emu.Messages(c) {
			text := m.Text
			if m.Document != "" || m.Photo != "" {
				text = m.Caption
			}
			got[c] = append(got[c], text)
		}
		slices.Sort(got[c])
	}
	return got
}

// checkExactlyOnce fails unless every chat got exactly want (in any order) but the skipped ones,
// which got nothing.
func (r *outboxRig) checkExactlyOnce(want map[int64][]string, skipped ...int64) {
	r.t.Helper()
	got := r.received()
	total := 0
	for _, c := range r.chats {
		w := slices.Clone(want[c])
		if slices.Contains(skipped, c) {
			w = nil
		}
		slices.Sort(w)
		total += len(got[c])
		if !slices.Equal(got[c], w) {
			r.t.Errorf("chat %d got %d messages %q, want %q", c, len(got[c]), got[c], w)
		}
	}
	r.t.Logf("%d messages received; emulator: %d sendMessage calls, %d answered 429, %d answered 403",
		total, r.emu.Metrics().Calls["sendMessage"], r.emu.Metrics().TooManyRequests, r.emu.Metrics().Forbidden)
}

// TestOutboxSender_TwoSendersUnderFloodLimits sends 200 messages to 60 chats with two senders at
// once, as two bot processes would, each pacing itself at Telegram's 30 a second, so together
// they go over the emulator's limit and meet 429s. One person blocked the bot.
func TestOutboxSender_TwoSendersUnderFloodLimits(t *testing.T) {
	r := newOutboxRig(t, 60)
	want := r.enqueue("bc1", 200)
	blocked := r.chats[7] // gets messages 7, 67, 127 and 187
	r.emu.Block(blocked)
	// One more message carries a file, as a chart or workbook would.
	chart := filepath.Join(t.TempDir(), "chart.png")
	if err := os.WriteFile(chart, []byte("\x89PNG\r\n\x1a\nnot really"), 0o600); err != nil {
		t.Fatal(err)
	}
	fileChat := r.chats[3]
	if _, err := r.box.Enqueue(context.Background(), []campaign.OutboxMessage{{Key: "bc1:file", Batch: "bc1",
		Channel: telegram.Channel, ChatID: strconv.FormatInt(fileChat, 10), Text: "Biểu đồ tiến độ",
		FilePath: chart, FileName: "tien-do.png", Buttons: [][]campaign.OutboxButton{{{Text: "Chi tiết", Data: "progress"}}}}}); err != nil {
		t.Fatal(err)
	}
	want[fileChat] = append(want[fileChat], "Biểu đồ tiến độ")

	var mu sync.Mutex
	var stoppedChats []string
	onStopped := func(_ context.Context, channel, chatID string) {
		mu.Lock()
		defer mu.Unlock()
		stoppedChats = append(stoppedChats, channel+":"+chatID)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, b := r.sender(onStopped), r.sender(onStopped)
	var wg sync.WaitGroup
	started := time.Now()
	wg.Go(func() { a.Run(ctx) })
	wg.Go(func() { b.Run(ctx) })
	sent, failed, stopped := r.waitDrained("bc1", 60*time.Second)
	took := time.Since(started)
	cancel()
	wg.Wait()

	if sent != 197 || failed != 0 || stopped != 4 {
		t.Errorf("progress: sent %d, failed %d, stopped %d; want 197, 0, 4", sent, failed, stopped)
	}
	r.checkExactlyOnce(want, blocked)
	if r.emu.Metrics().TooManyRequests == 0 {
		t.Error("the emulator answered no 429: the test did not exercise flood control")
	}
	if len(stoppedChats) == 0 || slices.IndexFunc(stoppedChats, func(s string) bool { return s != "telegram:"+strconv.FormatInt(blocked, 10) }) >= 0 {
		t.Errorf("stopped chats reported: %v", stoppedChats)
	}
	doc, _ := r.emu.LastMessage(fileChat)
	for _, m := range r.emu.Messages(fileChat) {
		if m.Photo != "" {
			doc = m
		}
	}
	if doc.Method != "sendPhoto" || doc.Caption != "Biểu đồ tiến độ" || string(doc.FileData) != "\x89PNG\r\n\x1a\nnot really" {
		t.Errorf("file message = %+v", doc)
	}
	if _, ok := doc.Button("Chi tiết"); !ok {
		t.Errorf("file message lost its button: %+v", doc.InlineKeyboard)
	}
	t.Logf("201 messages over 60 chats by two senders in %s", took.Round(10*time.Millisecond))
}

// TestOutboxSender_RestartLosesAndRepeatsNothing stops a sender midway through a broadcast, as a
// deploy would, and lets a new one finish it.
func TestOutboxSender_RestartLosesAndRepeatsNothing(t *testing.T) {
	r := newOutboxRig(t, 60)
	want := r.enqueue("bc2", 200)

	first := r.sender(nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { first.Run(ctx); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, s, _, _, err := r.box.BatchProgress(context.Background(), "bc2")
		if err != nil {
			t.Fatal(err)
		}
		if s >= 60 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d sent after 30s", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	q, s, _, _, _ := r.box.BatchProgress(context.Background(), "bc2")
	if q == 0 || s == 200 {
		t.Fatalf("the first sender finished before it was stopped (queued %d, sent %d)", q, s)
	}
	if n := r.emu.Metrics().BotMessages; n != s {
		t.Errorf("after the stop the emulator holds %d messages and the outbox says %d sent", n, s)
	}
	t.Logf("stopped after %d sent, %d queued", s, q)

	second := r.sender(nil)
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go second.Run(ctx2)
	second.Notify()
	// Everything released goes at once, not after a lease: well under the 10 s lease.
	sent, failed, stopped := r.waitDrained("bc2", 30*time.Second)
	if sent != 200 || failed != 0 || stopped != 0 {
		t.Errorf("progress: sent %d, failed %d, stopped %d", sent, failed, stopped)
	}
	r.checkExactlyOnce(want)
}

// TestOutboxSender_RetriesAndGivesUp checks the outcomes that do not come from Telegram's
// answers to a good message: a transient failure retried until it succeeds, one retried until
// the attempts run out, a message the channel rejects, and two to a person out of the channel's
// window (tried once, both settled unreachable, never retried).
func TestOutboxSender_RetriesAndGivesUp(t *testing.T) {
	ctx := context.Background()
	box := postgres.NewOutbox(postgrestest.NewDB(t))
	flaky := &flakySender{fails: map[string]int{"1": 2, "2": 100}, rejects: map[string]bool{"3": true}, unreachable: map[string]bool{"5": true}}
	var settledMu sync.Mutex
	var settled []string
	s := jobs.NewOutboxSender(jobs.OutboxSenderConfig{Outbox: box, Sender: flaky, Logger: slog.New(slog.DiscardHandler),
		Backoff: time.Millisecond, MaxAttempts: 3,
		OnSettled: func(m campaign.OutboxMessage, st campaign.OutboxStatus) {
			settledMu.Lock()
			defer settledMu.Unlock()
			settled = append(settled, fmt.Sprintf("%s@%d:%s", m.ChatID, m.Attempts, st))
		}})
	var msgs []campaign.OutboxMessage
	for _, chat := range []string{"1", "2", "3", "4"} {
		msgs = append(msgs, campaign.OutboxMessage{Key: "k" + chat, Batch: "b", Channel: "telegram", ChatID: chat, Text: "hi " + chat})
	}
	msgs = append(msgs, campaign.OutboxMessage{Key: "k5a", Batch: "b", Channel: "zalo", ChatID: "5", Text: "hi 5"},
		campaign.OutboxMessage{Key: "k5b", Batch: "b", Channel: "zalo", ChatID: "5", Text: "again 5"})
	if _, err := box.Enqueue(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if q, _, _, _, _ := box.BatchProgress(ctx, "b"); q == 0 {
			break
		}
		s.SendDue(ctx)
		time.Sleep(5 * time.Millisecond)
	}
	q, sent, failed, stopped, err := box.BatchProgress(ctx, "b")
	if err != nil || q != 0 || sent != 2 || failed != 4 || stopped != 0 { // failed counts the unreachable
		t.Errorf("progress = %d queued, %d sent, %d failed, %d stopped, %v", q, sent, failed, stopped, err)
	}
	slices.Sort(settled)
	want := []string{"1@1:pending", "1@2:pending", "1@3:sent", "2@1:pending", "2@2:pending", "2@3:failed", "3@1:failed", "4@1:sent",
		"5@1:unreachable", "5@1:unreachable"}
	if !slices.Equal(settled, want) {
		t.Errorf("settled %v, want %v", settled, want)
	}
	if got := flaky.delivered(); !slices.Equal(got, []string{"1", "4"}) {
		t.Errorf("delivered to %v", got)
	}
	if flaky.notBulk != 0 {
		t.Errorf("%d outbox messages went in another lane than bulk", flaky.notBulk)
	}
	if flaky.tried["5"] != 1 {
		t.Errorf("the person out of the window was tried %d times, want once", flaky.tried["5"])
	}
}

// flakySender fails a chat's first sends, or rejects them.
type flakySender struct {
	mu          sync.Mutex
	fails       map[string]int
	rejects     map[string]bool
	unreachable map[string]bool
	tried       map[string]int
	sent        []string
	notBulk     int // messages that came in another lane than bulk
}

func (f *flakySender) Send(_ context.Context, r bot.Reply) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tried == nil {
		f.tried = map[string]int{}
	}
	f.tried[r.ChatID]++
	if r.Lane != chat.LaneBulk {
		f.notBulk++
	}
	if f.unreachable[r.ChatID] {
		return fmt.Errorf("zalo: -230 outside the 7-day window: %w", bot.ErrUnreachable)
	}
	if f.rejects[r.ChatID] {
		return fmt.Errorf("400 Bad Request: chat not found: %w", bot.ErrRejected)
	}
	if f.fails[r.ChatID] > 0 {
		f.fails[r.ChatID]--
		return fmt.Errorf("502 Bad Gateway")
	}
	f.sent = append(f.sent, r.ChatID)
	return nil
}

func (f *flakySender) delivered() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.sent)
	slices.Sort(out)
	return out
}

// A notice queued while a broadcast drains is claimed at once by the notices' own loop, and the
// shared budget lets it past the bulk messages waiting their turn: it arrives while most of the
// broadcast is still queued (before lanes it came after all of it).
func TestOutboxSender_NoticeDoesNotWaitForBulk(t *testing.T) {
	r := newOutboxRig(t, 61)
	family, others := r.chats[60], r.chats[:60]
	r.chats = others
	r.enqueue("bc", 300) // 10 seconds at 30 a second
	r.chats = append(others, family)
	client, prefix := redistest.New(t)
	s := r.senderWith(nil, redisstore.NewBudget(client, prefix+"budget:", redisstore.BudgetLimits{
		PerSecond: 27, Burst: 27, PerChatPerSecond: 0.9, PerChatBurst: 3}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for r.emu.Metrics().Calls["sendMessage"] < 20 {
		time.Sleep(20 * time.Millisecond)
	}
	_, err := r.box.Enqueue(context.Background(), []campaign.OutboxMessage{{Key: "notice:decision:TD-000001:k", Channel: telegram.Channel,
		ChatID: strconv.FormatInt(family, 10), Text: "✅ Hồ sơ TD-000001 đã được duyệt.", Lane: campaign.OutboxNotice}})
	if err != nil {
		t.Fatal(err)
	}
	s.Notify()
	asked := time.Now()
	for len(r.emu.Messages(family)) == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	queued, sent, _, _, err := r.box.BatchProgress(context.Background(), "bc")
	if err != nil {
		t.Fatal(err)
	}
	if queued < 150 {
		t.Errorf("the notice arrived after %d of the broadcast's 300 messages were sent (%d still queued); want it before most of them", sent, queued)
	}
	t.Logf("the notice arrived with %d of the broadcast sent, %d queued, after %s; 429s %d", sent, queued, time.Since(asked), r.emu.Metrics().TooManyRequests)
}
