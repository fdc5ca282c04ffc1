package jobs

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/thuduc/maytinhchoem/bot"
	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/chat"
)

// Defaults of an OutboxSender.
const (
	// DefaultOutboxBatch is how many messages one claim takes: two seconds of Telegram's 30 a
	// second, so a batch is sent well within its lease.
	DefaultOutboxBatch = 60
	// DefaultOutboxLease is how long a claimed message stays the sender's without a renewal. It is
	// the longest a message of a crashed sender waits before another sender retries it.
	DefaultOutboxLease = 30 * time.Second
	// DefaultOutboxPoll is how often an idle sender looks for due messages it was not told about.
	DefaultOutboxPoll = 2 * time.Second
	// DefaultOutboxAttempts is how many claims a message gets before a transient failure is final.
	DefaultOutboxAttempts = 5
	// DefaultOutboxBackoff is the wait before the first retry of a failed message, doubled for
	// each further attempt up to maxOutboxBackoff.
	DefaultOutboxBackoff = 30 * time.Second
	// DefaultOutboxGrace is how long a stopping sender lets the sends under way finish.
	DefaultOutboxGrace = 10 * time.Second

	maxOutboxBackoff = 30 * time.Minute
	// bookkeepingTimeout bounds recording a send's outcome, which is done even when the sender
	// is stopping: an unrecorded send is one the next sender would repeat.
	bookkeepingTimeout = 10 * time.Second
)

// OutboxSenderConfig configures an OutboxSender. Zero values take the defaults above.
type OutboxSenderConfig struct {
	Outbox campaign.Outbox
	// Sender sends the messages: the bot's PacedSender, which keeps to the channel's rates
	// (Telegram's 30 a second overall and 1 a second per chat) and honours 429 retry_after, shared
	// with the dialogs so that both together stay within the limits.
	Sender      bot.Sender
	Now         func() time.Time
	Logger      *slog.Logger
	Batch       int
	Lease       time.Duration
	Poll        time.Duration
	MaxAttempts int
	Backoff     time.Duration
	Grace       time.Duration
	// OnStopped is called when a person blocked the bot. Leave it nil when the Sender is a
	// PacedSender that reports them already.
	OnStopped func(ctx context.Context, channel, chatID string)
	// OnSettled is called after each message's attempt is recorded, with where the message now
	// stands (pending again for a retry), so a broadcast can show its progress (BatchProgress).
	OnSettled func(m campaign.OutboxMessage, status campaign.OutboxStatus)
}

// OutboxSender drains the outbox through a bot.Sender. Any number of them may run on one
// database, in one process or several: the outbox's claim gives each message to one of them.
//
// A message is sent at most once unless a sender dies mid-send (see campaign.Outbox.Claim); a
// sender that is stopped finishes the sends it started, within Grace, and gives back the
// messages it had not started, so a restart neither loses nor repeats anything.
type OutboxSender struct {
	cfg OutboxSenderConfig
	// wake has a channel for each of Run's loops: one for notices alone, one for everything.
	wake [2]chan struct{}
}

// NewOutboxSender returns an OutboxSender; call Run to start it.
func NewOutboxSender(cfg OutboxSenderConfig) *OutboxSender {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultOutboxBatch
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultOutboxLease
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultOutboxPoll
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultOutboxAttempts
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultOutboxBackoff
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultOutboxGrace
	}
	return &OutboxSender{cfg: cfg, wake: [2]chan struct{}{make(chan struct{}, 1), make(chan struct{}, 1)}}
}

// Notify wakes the sender at once, for a caller that has just enqueued messages.
func (s *OutboxSender) Notify() {
	for _, w := range s.wake {
		select {
		case w <- struct{}{}:
		default: // a wake-up is pending already
		}
	}
}

// Run sends due messages until ctx ends, then returns once the sends under way are recorded.
//
// It runs two loops. One takes every lane, notices first; the other notices alone, so that a
// decision's message to a parent queued while the first is busy with a batch of a broadcast
// (seconds, at the pace bulk gets) goes at once, with the priority the Sender gives its lane.
func (s *OutboxSender) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.loop(ctx, campaign.OutboxNotice, s.wake[0]) })
	s.loop(ctx, "", s.wake[1])
	wg.Wait()
}

// loop sends lane's due messages until ctx ends. A full batch is followed by the next one at
// once; otherwise it sleeps until Notify or the next poll.
func (s *OutboxSender) loop(ctx context.Context, lane campaign.OutboxLane, wake <-chan struct{}) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		n := s.sendDue(ctx, lane)
		if ctx.Err() != nil {
			return
		}
		if n >= s.cfg.Batch {
			continue
		}
		timer.Reset(s.cfg.Poll)
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-timer.C:
		}
	}
}

// SendDue claims one batch of due messages of every lane, sends them and records the outcomes,
// and returns how many it claimed. Each chat's messages go in the order they were queued, one
// chat after another's concurrently, so that the Sender's per-chat pace holds up only that chat.
func (s *OutboxSender) SendDue(ctx context.Context) int { return s.sendDue(ctx, "") }

// sendDue is SendDue for one lane ("" for all).
func (s *OutboxSender) sendDue(ctx context.Context, lane campaign.OutboxLane) int {
	if ctx.Err() != nil {
		return 0
	}
	msgs, err := s.cfg.Outbox.Claim(ctx, lane, s.cfg.Batch, s.cfg.Lease)
	if err != nil {
		if ctx.Err() == nil {
			s.cfg.Logger.Error("outbox: claim failed", "err", err)
		}
		return 0
	}
	if len(msgs) == 0 {
		return 0
	}

	// Sends that started are let finish for Grace after ctx ends: an HTTP call cut off midway
	// may have reached the channel, and would be repeated by the next sender.
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	stopAfter := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(s.cfg.Grace, cancelSends)
		context.AfterFunc(sendCtx, func() { t.Stop() })
	})
	defer stopAfter()

	renewDone := make(chan struct{})
	var renewWG sync.WaitGroup
	renewWG.Go(func() { s.renew(sendCtx, msgs, renewDone) })

	var order []string
	byChat := map[string][]campaign.OutboxMessage{}
	for _, m := range msgs {
		k := m.Channel + ":" + m.ChatID
		if _, ok := byChat[k]; !ok {
			order = append(order, k)
		}
		byChat[k] = append(byChat[k], m)
	}
	var wg sync.WaitGroup
	for _, k := range order {
		chat := byChat[k]
		wg.Go(func() {
			var ended campaign.OutboxStatus
			var endedBy error
			for i, m := range chat {
				if ctx.Err() != nil {
					s.release(ctx, chat[i:])
					return
				}
				if ended != "" {
					// The person blocked the bot, or is out of the channel's window, a moment ago:
					// the rest of this batch would meet the same answer.
					s.settle(ctx, m, endedBy, ended)
					continue
				}
				switch st, err := s.sendOne(ctx, sendCtx, m); st {
				case campaign.OutboxStopped, campaign.OutboxUnreachable:
					ended, endedBy = st, err
				}
			}
		})
	}
	wg.Wait()
	close(renewDone)
	renewWG.Wait()
	return len(msgs)
}

// renew keeps the batch's leases alive while the Sender paces or waits out a 429; messages
// already recorded are left alone by the outbox.
func (s *OutboxSender) renew(ctx context.Context, msgs []campaign.OutboxMessage, done <-chan struct{}) {
	t := time.NewTicker(s.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.cfg.Outbox.Renew(ctx, msgs, s.cfg.Lease); err != nil {
				s.cfg.Logger.Warn("outbox: renewing leases failed", "err", err)
			}
		}
	}
}

// bookkeeping returns a context for recording outcomes that outlives ctx briefly.
func bookkeeping(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
}

func (s *OutboxSender) release(ctx context.Context, msgs []campaign.OutboxMessage) {
	bctx, cancel := bookkeeping(ctx)
	defer cancel()
	if err := s.cfg.Outbox.Release(bctx, msgs); err != nil {
		// The lease runs out instead and another sender takes them over; nothing was sent.
		s.cfg.Logger.Warn("outbox: releasing unsent messages failed", "count", len(msgs), "err", err)
	}
}

// sendOne sends m, records the outcome and returns it with the send's error; "" when the outcome
// is unknown.
func (s *OutboxSender) sendOne(ctx, sendCtx context.Context, m campaign.OutboxMessage) (campaign.OutboxStatus, error) {
	err := s.cfg.Sender.Send(sendCtx, reply(m))
	var status campaign.OutboxStatus
	switch {
	case err == nil:
		status = campaign.OutboxSent
	case errors.Is(err, bot.ErrStopped):
		status = campaign.OutboxStopped
		if s.cfg.OnStopped != nil {
			bctx, cancel := bookkeeping(ctx)
			s.cfg.OnStopped(bctx, m.Channel, m.ChatID)
			cancel()
		}
	case errors.Is(err, bot.ErrUnreachable):
		status = campaign.OutboxUnreachable
	case errors.Is(err, bot.ErrRejected):
		status = campaign.OutboxFailed
	case sendCtx.Err() != nil:
		// Cut off by the end of the grace period: whether the channel got it is unknown, so the
		// message is left to its lease, after which another sender tries it.
		s.log(m).Warn("outbox: send cut off by shutdown; retried after the lease", "err", err)
		return "", err
	case m.Attempts < s.cfg.MaxAttempts:
		status = campaign.OutboxPending
	default:
		status = campaign.OutboxFailed
	}
	return s.settle(ctx, m, err, status), err
}

func (s *OutboxSender) log(m campaign.OutboxMessage) *slog.Logger {
	return s.cfg.Logger.With("outbox_id", m.ID, "key", m.Key, "channel", m.Channel, "chat", m.ChatID, "attempt", m.Attempts)
}

// settle records that m's attempt ended in status, because of sendErr when it failed.
func (s *OutboxSender) settle(ctx context.Context, m campaign.OutboxMessage, sendErr error, status campaign.OutboxStatus) campaign.OutboxStatus {
	bctx, cancel := bookkeeping(ctx)
	defer cancel()
	var err error
	switch status {
	case campaign.OutboxSent:
		err = s.cfg.Outbox.MarkSent(bctx, m)
	case campaign.OutboxStopped:
		err = s.cfg.Outbox.MarkStopped(bctx, m)
	case campaign.OutboxUnreachable:
		reason := "not reachable on the channel until they write"
		if sendErr != nil {
			reason = sendErr.Error()
		}
		s.log(m).Info("outbox: person not reachable on the channel now; counted, not retried", "err", sendErr)
		err = s.cfg.Outbox.MarkUnreachable(bctx, m, reason)
	case campaign.OutboxPending:
		retryAt := s.cfg.Now().Add(s.backoff(m.Attempts, sendErr))
		s.log(m).Warn("outbox: send failed, will retry", "err", sendErr, "retry_at", retryAt)
		err = s.cfg.Outbox.MarkFailed(bctx, m, sendErr.Error(), retryAt)
	default:
		s.log(m).Error("outbox: send failed for good", "err", sendErr)
		err = s.cfg.Outbox.MarkFailed(bctx, m, sendErr.Error(), time.Time{})
	}
	if err != nil {
		// ErrLeaseLost: this sender was too slow and another took the message over; if both sent
		// it, the person got it twice, which the lease's renewals exist to prevent.
		s.log(m).Error("outbox: recording the outcome failed", "status", status, "err", err)
		return status
	}
	if s.cfg.OnSettled != nil {
		s.cfg.OnSettled(m, status)
	}
	return status
}

// backoff is the wait before retrying a message after its attempt-th failure, at least what a
// throttling channel asked for.
func (s *OutboxSender) backoff(attempt int, err error) time.Duration {
	d := s.cfg.Backoff
	for i := 1; i < attempt && d < maxOutboxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxOutboxBackoff)
	var thr *bot.ThrottledError
	if errors.As(err, &thr) {
		d = max(d, thr.RetryAfter)
	}
	return d
}

// reply makes the bot.Reply of an outbox message. Its file is never marked Remove: the outbox's
// files belong to the job that queued them (one chart may go to many officials).
func reply(m campaign.OutboxMessage) bot.Reply {
	// Bulk (broadcasts, summaries, milestones, reminders) yields to the people in a conversation
	// and to notices; a notice (a decision, a delivery, a broadcast's report to its sender) yields
	// only to replies.
	lane := chat.LaneBulk
	if m.Lane == campaign.OutboxNotice {
		lane = chat.LaneNotice
	}
	r := bot.Reply{Channel: m.Channel, ChatID: m.ChatID, Output: bot.Output{Text: m.Text}, Lane: lane}
	for _, row := range m.Buttons {
		out := make([]bot.Button, len(row))
		for i, b := range row {
			out[i] = bot.Button{Text: b.Text, Data: b.Data}
		}
		r.Buttons = append(r.Buttons, out)
	}
	if m.PhotoID != "" {
		r.File = &bot.File{PhotoID: m.PhotoID, PhotoChannel: m.PhotoChannel}
	}
	if m.FilePath != "" {
		r.File = &bot.File{Path: m.FilePath, Name: m.FileName}
	}
	return r
}
