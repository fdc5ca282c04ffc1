package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Defaults of a BroadcastReport.
const (
	// DefaultBroadcastCheckTimeout bounds one look at a broadcast's progress and the queuing of
	// its report.
	DefaultBroadcastCheckTimeout = 10 * time.Second
	// DefaultBroadcastCheckInterval is the least time between two looks at one broadcast while
	// its messages keep settling: a broadcast to 10,000 chats settles 30 messages a second, and
	// one count a second tells as soon as it is done, give or take a second.
	DefaultBroadcastCheckInterval = time.Second
)

// broadcastBatchPrefix starts the outbox batch of a broadcast's messages (campaign.Broadcast.Batch).
// The report's own batch, "broadcast-done:<code>", does not start with it.
const broadcastBatchPrefix = "broadcast:"

// broadcastRetries is how many times a look that failed (the database away) is made again
// when no further settled message would bring another.
const broadcastRetries = 3

// BroadcastReport tells the official who sent a broadcast how it went, once all its messages
// are settled (sent, failed, or the person blocked the bot). It is not a scheduled job: give
// Settled to OutboxSenderConfig.OnSettled, and it looks at a broadcast's progress as its
// messages settle.
//
// The report is queued under the key "broadcast-done:<code>", which the outbox adds once: when
// several senders, in one process or several, see the broadcast done at once, the official is
// told once.
//
// The gap: the report is queued by the process that settles one of the last messages, right
// after it settles. If that process dies between recording the last outcome and queuing the
// report, no message of the broadcast is left to settle and nothing looks again, so the report
// is not sent; the official still sees the progress on asking for it. The stores cannot list
// the broadcasts not yet reported, so nothing here sweeps them; a caller that knows a code
// (the flow showing a broadcast's progress, say) may call Check to queue the missing report.
type BroadcastReport struct {
	Broadcasts campaign.BroadcastStore
	Messages   Messages
	Outbox     campaign.Outbox
	// Notify wakes the outbox's sender; nil leaves the report to its poll.
	Notify func()
	// Language returns the language of a chat ("vi" or "en"); nil writes in Vietnamese.
	Language func(ctx context.Context, channel, chatID string) string
	Logger   *slog.Logger
	// Timeout bounds one check (DefaultBroadcastCheckTimeout when 0); Interval spaces the checks
	// of one broadcast (DefaultBroadcastCheckInterval when 0).
	Timeout  time.Duration
	Interval time.Duration

	mu sync.Mutex
	// checking holds the broadcasts whose check goroutine runs, with whether a message settled
	// since its last look (so it must look again).
	checking map[string]bool
	// reported holds the broadcasts whose report this process queued or found queued.
	reported map[string]bool
	running  sync.WaitGroup
}

// broadcastReportPrefix starts the key and batch of a broadcast's report to its sender.
const broadcastReportPrefix = "broadcast-done:"

// Settled is an OutboxSenderConfig.OnSettled: when m is a broadcast's message and settled for
// good, it looks, in the background, whether the broadcast is done and then queues its report.
// At most one look per broadcast is under way in a process; messages settling meanwhile make it
// look once more after Interval, so the last message's settling is never missed for a look
// that began before it. It returns at once, never holding up the sender.
func (j *BroadcastReport) Settled(m campaign.OutboxMessage, status campaign.OutboxStatus) {
	code, ok := strings.CutPrefix(m.Batch, broadcastBatchPrefix)
	if !ok || code == "" {
		return
	}
	switch status {
	case campaign.OutboxSent, campaign.OutboxFailed, campaign.OutboxStopped, campaign.OutboxUnreachable:
	default:
		return // pending again for a retry: the broadcast is not done
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.reported[code] {
		return
	}
	if _, ok := j.checking[code]; ok {
		j.checking[code] = true
		return
	}
	if j.checking == nil {
		j.checking, j.reported = map[string]bool{}, map[string]bool{}
	}
	j.checking[code] = false
	j.running.Add(1)
	go j.watch(code)
}

// watch looks at the broadcast until it is done or no message settled since its last look.
func (j *BroadcastReport) watch(code string) {
	defer j.running.Done()
	timeout, interval := j.Timeout, j.Interval
	if timeout <= 0 {
		timeout = DefaultBroadcastCheckTimeout
	}
	if interval <= 0 {
		interval = DefaultBroadcastCheckInterval
	}
	failures := 0
	for {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		done, err := j.Check(ctx, code)
		cancel()
		if err != nil {
			failures++
			j.logger().Warn("broadcast report: check failed", "code", code, "attempt", failures, "err", err)
		}
		j.mu.Lock()
		again := j.checking[code] || (err != nil && failures <= broadcastRetries)
		if done {
			j.reported[code] = true
		}
		if done || !again {
			delete(j.checking, code)
			j.mu.Unlock()
			return
		}
		j.checking[code] = false
		j.mu.Unlock()
		time.Sleep(interval)
	}
}

// Check queues the broadcast's report if all its messages are settled, and reports whether they
// are (the report is then queued, now or before). The report goes to the official who sent the
// broadcast, in their language.
func (j *BroadcastReport) Check(ctx context.Context, code string) (done bool, err error) {
	p, err := j.Broadcasts.BroadcastProgress(ctx, code)
	if err != nil {
		return false, fmt.Errorf("broadcast report %s: %w", code, err)
	}
	if !p.Done() {
		return false, nil
	}
	if p.ByChannel == "" || p.ByChatID == "" {
		return true, nil // nobody to tell
	}
	lang := "vi"
	if j.Language != nil {
		lang = language(j.Language(ctx, p.ByChannel, p.ByChatID))
	}
	key := broadcastReportPrefix + code
	added, err := j.Outbox.Enqueue(ctx, []campaign.OutboxMessage{{Key: key, Batch: key, Lane: campaign.OutboxNotice,
		Channel: p.ByChannel, ChatID: p.ByChatID, Text: j.Messages.BroadcastDone(lang, p)}})
	if err != nil {
		return false, fmt.Errorf("broadcast report %s: %w", code, err)
	}
	notify(j.Notify, added)
	return true, nil
}

// Wait waits for the checks under way; call it after the senders stopped.
func (j *BroadcastReport) Wait() { j.running.Wait() }

func (j *BroadcastReport) logger() *slog.Logger {
	if j.Logger != nil {
		return j.Logger
	}
	return slog.Default()
}
