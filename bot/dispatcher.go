package bot

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/chat"
	"github.com/thuduc/maytinhchoem/flows"
)

// Flow is the conversation logic the Dispatcher runs; *flows.Engine implements it.
type Flow interface {
	Handle(ctx context.Context, sess flows.Session, st flows.State, in flows.Input) (flows.State, []flows.Output, error)
	ErrorReply(lang string, err error) flows.Output
	Language(st flows.State, in flows.Input) string
}

// DispatcherConfig configures a Dispatcher.
type DispatcherConfig struct {
	Flow    Flow
	Dialogs DialogStore
	Sender  Sender
	Logger  *slog.Logger
	// Workers is how many chats are handled at once (default 64). Updates of one chat are handled
	// one at a time, in the order they arrived.
	Workers int
	// Attempts is how often a store operation is tried before the user is told (default 3).
	Attempts int
	// Backoff is the first wait between attempts, doubled each time (default 100ms).
	Backoff time.Duration
	// Metrics, if set, counts updates and measures handling time.
	Metrics *Metrics
	// AckAfterSave makes Dispatch's result (and HandleOne's, HandleBatch's) come once an update's
	// dialog and replies are saved, before the replies are sent; the chat's next update still
	// waits for them, and they are sent under Start's context, not the caller's. The caller (a
	// webhook's request, the poller's offset, the inbox's acknowledgement) is then not held up by
	// the channel's pace, nor are replies cut off by its deadline: they are durable (see
	// DialogStore), and SweepReplies sends those of a process that died. Off, the result comes
	// after the sends.
	AckAfterSave bool
	// ReplyLease is the lease a sender holds on an update's recorded replies, renewed every third
	// of it while it sends (default DefaultReplyLease; it must match the store's).
	ReplyLease time.Duration
	// UpdateDeadline bounds loading the dialog, running the flow and saving the dialog for one
	// update (default DefaultUpdateDeadline; negative for none), so one chat stuck on a slow store
	// or a hung call holds one of the Workers, and its own updates queued behind it, only that
	// long. When it runs out the person is asked to send again and the dialog is left as it was.
	UpdateDeadline time.Duration
	// ProgressEvery is how often, at most, the message that shows a long step's progress is
	// edited (default DefaultProgressEvery; negative for no progress at all). A step shows
	// progress (flows.Progress, in the context the flow runs under) only on a channel whose Sender
	// gives a ProgressEditor (see ProgressSender): one message, sent then edited in place, never
	// recorded with the step's replies. Elsewhere nothing extra is sent.
	ProgressEvery time.Duration
}

// DefaultUpdateDeadline is the UpdateDeadline when none is configured: far above a normal update
// (milliseconds) and a store's own retries, below the minute after which people give up on a bot.
const DefaultUpdateDeadline = 30 * time.Second

// DefaultReplyLease is the ReplyLease when none is configured (storage/redis's default).
const DefaultReplyLease = 10 * time.Second

// Dispatcher turns Inputs into Replies: it skips updates already handled, handles each chat's
// updates in order, loads the chat's dialog, runs the flow, saves the dialog with a
// compare-and-set on its version and sends the replies. A submit that writes PostgreSQL carries the
// dialog's idempotency key, so when a save loses a race and the flow runs again, nothing is written
// twice.
//
// Replies are durable: they are recorded with the dialog's save and marked as each is sent, so an
// update delivered again after the process died between the save and the sends sends the rest of
// its replies (see DialogStore) instead of being skipped as done.
type Dispatcher struct {
	cfg DispatcherConfig
	log *slog.Logger
	wg  sync.WaitGroup
	// slots holds a token for each chat being handled, Workers at most.
	slots chan struct{}

	mu      sync.Mutex
	started bool
	ctx     context.Context // Start's
	closed  bool            // Start's ctx ended: nothing more is queued
	stopped chan struct{}   // closed once closed and every chat's runner has returned
	// chats holds the updates waiting in each chat that has a runner, in the order they came.
	chats map[string]*chatQueue
	// idle hands a chat that has inputs waiting to a runner whose own chat has none left (see
	// runner): a goroutine that has handled updates has the stack they need, one started afresh
	// grows it again, copying it each time (5% of the bot's CPU in `loadtest -replicas 3`).
	idle chan chatRun
	// runners counts the runners started, for the tests.
	runners atomic.Int64
	// apologized remembers updates whose failure the user was already told about, so a batch
	// retried while Redis is down does not repeat the apology.
	apologized map[string]time.Time
}

type job struct {
	ctx  context.Context
	in   Input
	done chan error
}

// chatQueue is the updates of one chat waiting for its runner.
type chatQueue struct {
	jobs []job
}

// chatRun is a chat for a runner to handle: its key in Dispatcher.chats and its queue.
type chatRun struct {
	key string
	q   *chatQueue
}

// runnerIdle is how long a runner whose chat has no more inputs waits for another chat before it
// ends.
const runnerIdle = 5 * time.Second

// NewDispatcher returns a Dispatcher; call Start before Dispatch.
func NewDispatcher(cfg DispatcherConfig) *Dispatcher {
	if cfg.Workers <= 0 {
		cfg.Workers = 64
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 3
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 100 * time.Millisecond
	}
	if cfg.UpdateDeadline == 0 {
		cfg.UpdateDeadline = DefaultUpdateDeadline
	}
	if cfg.ReplyLease <= 0 {
		cfg.ReplyLease = DefaultReplyLease
	}
	if cfg.ProgressEvery == 0 {
		cfg.ProgressEvery = DefaultProgressEvery
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Dispatcher{cfg: cfg, log: cfg.Logger, slots: make(chan struct{}, cfg.Workers),
		stopped: make(chan struct{}), chats: map[string]*chatQueue{}, idle: make(chan chatRun), apologized: map[string]time.Time{}}
}

// Start lets Dispatch handle inputs until ctx is done; inputs still queued then fail with ctx's
// error, and those being handled see the cancelled context.
func (d *Dispatcher) Start(ctx context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started {
		return
	}
	d.started, d.ctx = true, ctx
	go func() {
		<-ctx.Done()
		d.mu.Lock()
		d.closed = true
		d.mu.Unlock()
		d.wg.Wait()
		close(d.stopped)
	}()
}

// Wait blocks until Start's ctx is done and every input queued was handled or failed.
func (d *Dispatcher) Wait() { <-d.stopped }

// Dispatch queues in behind the earlier inputs of its chat and returns a channel that receives
// the result once the input was handled (nil when handled or skipped as a duplicate).
//
// Each chat with inputs waiting has a runner of its own, which handles them one at a time, in the
// order they came, when one of Workers slots is free. A chat stuck on a slow update (until its
// UpdateDeadline) thus holds up its own inputs and one slot, and no other chat: with a fixed
// worker per chat, chosen by a hash, the chats sharing its worker would wait behind it. A runner
// whose chat is done takes the next chat that comes within runnerIdle instead of ending.
func (d *Dispatcher) Dispatch(ctx context.Context, in Input) <-chan error {
	done := make(chan error, 1)
	key := in.Channel + "\x00" + in.ChatID
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case !d.started:
		done <- errors.New("bot: Dispatch before Start")
		return done
	case d.closed:
		done <- d.ctx.Err()
		return done
	}
	q := d.chats[key]
	if q == nil {
		q = &chatQueue{}
		d.chats[key] = q
		select {
		case d.idle <- chatRun{key: key, q: q}:
		default:
			d.wg.Add(1)
			d.runners.Add(1)
			go d.runner(chatRun{key: key, q: q})
		}
	}
	q.jobs = append(q.jobs, job{ctx: ctx, in: in, done: done})
	return done
}

// runner runs chat, then each chat Dispatch hands it (see idle), until none comes for runnerIdle
// or Start's context ends.
func (d *Dispatcher) runner(chat chatRun) {
	defer d.wg.Done()
	wait := time.NewTimer(runnerIdle)
	defer wait.Stop()
	for {
		d.run(chat.key, chat.q)
		wait.Reset(runnerIdle)
		select {
		case chat = <-d.idle:
		case <-wait.C:
			return
		case <-d.ctx.Done():
			return
		}
	}
}

// run handles the inputs of one chat in order until none is waiting.
func (d *Dispatcher) run(key string, q *chatQueue) {
	for {
		d.mu.Lock()
		if len(q.jobs) == 0 {
			delete(d.chats, key)
			d.mu.Unlock()
			return
		}
		j := q.jobs[0]
		q.jobs[0] = job{}
		q.jobs = q.jobs[1:]
		d.mu.Unlock()
		select {
		case d.slots <- struct{}{}:
		case <-d.ctx.Done():
			j.done <- d.ctx.Err() // so nobody waits forever
			continue
		case <-j.ctx.Done():
			j.done <- j.ctx.Err()
			continue
		}
		err := d.ctx.Err()
		var dl *delivery
		if err == nil {
			dl, err = d.process(j.ctx, j.in)
		}
		<-d.slots // sending waits on the channel's pace, not on a slot
		if d.cfg.AckAfterSave {
			j.done <- err
		}
		if dl != nil {
			ctx, cancel := d.sendContext(j.ctx)
			d.deliver(ctx, j.in, dl)
			cancel()
		}
		if !d.cfg.AckAfterSave {
			j.done <- err
		}
	}
}

// kindResume marks the input SweepReplies dispatches for an update handled before: it only ever
// resumes its replies, and is never run through the flow.
const kindResume chat.InputKind = "bot.resume"

// sendContext is the context replies go out under: ctx's values, ended by Start's context (the
// process stopping) but not by ctx (a webhook request answered, or its deadline).
func (d *Dispatcher) sendContext(ctx context.Context) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(d.ctx, cancel)
	return c, func() { stop(); cancel() }
}

// progressContext is the context a step's progress is shown under: sendContext's once Start ran,
// else ctx's values without its end (Handle called on its own).
func (d *Dispatcher) progressContext(ctx context.Context) (context.Context, context.CancelFunc) {
	d.mu.Lock()
	started := d.ctx != nil
	d.mu.Unlock()
	if started {
		return d.sendContext(ctx)
	}
	return context.WithCancel(context.WithoutCancel(ctx))
}

// SweepReplies sends, every interval until ctx ends, the rest of the replies of updates whose
// sender's lease ran out (a process killed between saving a step and sending its replies): each
// is dispatched again in its chat's order, recognised as handled, and its recorded replies taken
// over (see resume). Every process runs it; the lease gives each update to one.
func (d *Dispatcher) SweepReplies(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		due, err := d.cfg.Dialogs.DueReplies(ctx, 100)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("list replies left unsent", "err", err)
			}
			continue
		}
		for _, ref := range due {
			d.log.Info("resuming the replies of an update whose sender stopped", "channel", ref[0], "chat", ref[1], "update", ref[2])
			d.Dispatch(ctx, Input{Channel: ref[0], ChatID: ref[1], Input: flows.Input{Kind: kindResume, UpdateID: ref[2]}})
		}
	}
}

// HandleBatch dispatches every input and waits for all of them; it returns the first error, after
// which the caller may deliver the same batch again: inputs already handled are skipped.
func (d *Dispatcher) HandleBatch(ctx context.Context, batch []Input) error {
	results := make([]<-chan error, len(batch))
	for i, in := range batch {
		results[i] = d.Dispatch(ctx, in)
	}
	var first error
	for _, r := range results {
		if err := <-r; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// HandleOne dispatches one input and waits for it, for webhooks.
func (d *Dispatcher) HandleOne(ctx context.Context, in Input) error {
	return <-d.Dispatch(ctx, in)
}

// Handle handles one input now, on the calling goroutine, and sends its replies under ctx.
// Callers that need per-chat order use Dispatch instead.
func (d *Dispatcher) Handle(ctx context.Context, in Input) error {
	dl, err := d.process(ctx, in)
	if dl != nil {
		d.deliver(ctx, in, dl)
	}
	return err
}

// delivery is what a handled update still has to send: replies[from:], recorded under owner
// ("" when not recorded); resumed for the replies of an update handled before.
type delivery struct {
	replies []Reply
	from    int
	owner   string
	resumed bool
}

// process handles one input up to its saved dialog and recorded replies, and returns what is
// left to send.
func (d *Dispatcher) process(ctx context.Context, in Input) (dl *delivery, err error) {
	start := time.Now()
	result := "ok"
	defer func() {
		if err != nil {
			result = "error"
		}
		d.cfg.Metrics.observe(result, time.Since(start))
	}()
	// work bounds the handling; the replies go out under ctx, so that replies decided on, with
	// the dialog saved, are not cut off by the deadline.
	work, cancel := d.deadline(ctx)
	defer cancel()
	sess := flows.Session{Channel: in.Channel, ChatID: in.ChatID}
	// A long step shows its progress in a message of its own, outside its recorded replies; its
	// calls run under the replies' context, so the step's deadline does not cut them off.
	progressCtx, progressDone := d.progressContext(ctx)
	defer progressDone()
	prog := d.progress(progressCtx, in)
	flowCtx := work
	if prog != nil {
		flowCtx = flows.WithProgress(work, prog)
	}
	for conflicts := 0; ; conflicts++ {
		var (
			data    []byte
			version int64
			seen    bool
		)
		err := d.retry(work, func() error {
			var err error
			data, version, seen, err = d.cfg.Dialogs.Load(work, in.Channel, in.ChatID, in.UpdateID)
			return err
		})
		if err != nil {
			if overran(work) {
				result = "deadline"
				d.giveUp(ctx, in, flows.State{}, err)
				return nil, nil
			}
			d.apologize(ctx, in, flows.State{}, err)
			return nil, fmt.Errorf("load dialog %s:%s: %w", in.Channel, in.ChatID, err)
		}
		if !seen && in.Kind == kindResume {
			return nil, nil // its seen mark is gone: nothing left to resume
		}
		if seen {
			dl, err := d.resume(work, in)
			result = "duplicate"
			if dl != nil {
				result = "resumed"
			}
			return dl, err
		}
		var st flows.State
		if len(data) > 0 {
			if err := json.Unmarshal(data, &st); err != nil {
				// A record this version cannot read is not worth stopping the chat for.
				d.log.Error("dialog unreadable, starting afresh", "channel", in.Channel, "chat", in.ChatID, "err", err)
				st = flows.State{}
			}
		}
		next, outs, flowErr := d.runFlow(flowCtx, sess, st, in)
		prog.settle() // the progress is shown before anything else is said
		if overran(work) {
			// Also when the flow finished after all: its state is not saved that late.
			d.discard(outs)
			result = "deadline"
			d.giveUp(ctx, in, st, errors.Join(flowErr, context.Cause(work)))
			return nil, nil
		}
		if flowErr != nil {
			// Keep the old state: everything entered so far stays; tell the user to send again.
			d.log.Error("flow failed", "channel", in.Channel, "chat", in.ChatID, "update", in.UpdateID, "err", flowErr)
			next = st
			d.discard(outs)
			outs = []flows.Output{d.cfg.Flow.ErrorReply(d.cfg.Flow.Language(st, in.Input), flowErr)}
			result = "flow_error"
		}
		encoded, err := json.Marshal(next)
		if err != nil {
			d.discard(outs)
			return nil, fmt.Errorf("encode dialog: %w", err)
		}
		replies := d.plan(in, next, outs)
		owner, record, err := d.record(in, replies)
		if err != nil {
			d.discard(outs)
			return nil, err
		}
		var saved bool
		err = d.retry(work, func() error {
			var err error
			saved, err = d.cfg.Dialogs.SaveStep(work, in.Channel, in.ChatID, version, encoded, in.UpdateID, record, len(replies), owner)
			return err
		})
		if err != nil {
			d.discard(outs)
			if overran(work) {
				result = "deadline"
				d.giveUp(ctx, in, st, err)
				return nil, nil
			}
			d.apologize(ctx, in, st, err)
			return nil, fmt.Errorf("save dialog %s:%s: %w", in.Channel, in.ChatID, err)
		}
		if !saved {
			// Another replica handled this chat (or this very update) since we loaded: load again.
			// The flow's writes are idempotent, so running it again doubles nothing; what it said
			// this time is dropped, with any file it made for it.
			d.discard(outs)
			if conflicts >= 10 {
				return nil, fmt.Errorf("dialog %s:%s: too many conflicting saves", in.Channel, in.ChatID)
			}
			continue
		}
		return &delivery{replies: replies, owner: owner}, nil
	}
}

// errRepliesHeld is returned for a redelivered update whose replies another process is still
// sending: the channel delivers it again later, when they are sent or that process's lease ran out.
var errRepliesHeld = errors.New("bot: the update's replies are being sent by another process")

// errFileGone is the cause of the apology that replaces a reply whose file is no longer there when
// the reply is sent again (the process that made it died): the person asks again.
var errFileGone = campaign.Errorf(campaign.EUNAVAILABLE, "the file of a reply is gone")

// resume takes over the rest of the replies of an update handled before whose sends were cut
// off; nil when there are none (a plain duplicate: all sent, or none recorded).
func (d *Dispatcher) resume(work context.Context, in Input) (*delivery, error) {
	if in.UpdateID == "" {
		return nil, nil
	}
	owner := rand.Text()
	var (
		data []byte
		sent int
		busy bool
	)
	err := d.retry(work, func() error {
		var err error
		data, sent, busy, err = d.cfg.Dialogs.TakeReplies(work, in.Channel, in.ChatID, in.UpdateID, owner)
		return err
	})
	switch {
	case err != nil:
		return nil, fmt.Errorf("take replies %s:%s: %w", in.Channel, in.UpdateID, err)
	case busy:
		return nil, errRepliesHeld
	case data == nil:
		return nil, nil
	}
	var replies []Reply
	if err := json.Unmarshal(data, &replies); err != nil || sent > len(replies) {
		d.log.Error("recorded replies unreadable; dropped", "channel", in.Channel, "chat", in.ChatID, "update", in.UpdateID, "err", err)
		if _, err := d.cfg.Dialogs.RepliesSent(work, in.Channel, in.ChatID, in.UpdateID, owner, max(len(replies), sent)); err != nil {
			d.log.Warn("forget unreadable replies", "channel", in.Channel, "update", in.UpdateID, "err", err)
		}
		return nil, nil
	}
	d.log.Info("sending the rest of a redelivered update's replies", "channel", in.Channel, "chat", in.ChatID,
		"update", in.UpdateID, "sent", sent, "of", len(replies))
	return &delivery{replies: replies, from: sent, owner: owner, resumed: true}, nil
}

// plan turns a step's outputs into the replies to send, in order, in the language of st: the first
// answers a pressed button, and a Replace replaces the message whose button was pressed.
func (d *Dispatcher) plan(in Input, st flows.State, outs []flows.Output) []Reply {
	if len(outs) == 0 && in.AckID != "" {
		outs = []flows.Output{{}}
	}
	lang := d.cfg.Flow.Language(st, in.Input)
	replies := make([]Reply, len(outs))
	for i, o := range outs {
		r := Reply{Output: o, Channel: in.Channel, ChatID: in.ChatID, Lang: lang, Prompted: in.Received}
		if i == 0 {
			r.AckID = in.AckID
		}
		if o.Replace && in.Kind == flows.KindChoice {
			r.ReplaceID = in.MessageID
		}
		replies[i] = r
	}
	return replies
}

// record encodes replies to be saved with the dialog, under a fresh owner token; nothing when
// there are none or the update cannot come again (no id).
func (d *Dispatcher) record(in Input, replies []Reply) (owner string, data []byte, err error) {
	if len(replies) == 0 || in.UpdateID == "" {
		return "", nil, nil
	}
	data, err = json.Marshal(replies)
	if err != nil {
		return "", nil, fmt.Errorf("encode replies: %w", err)
	}
	return rand.Text(), data, nil
}

// errUpdateDeadline is the cause of an update's handling running out of its UpdateDeadline. It is
// coded unavailable: the person is asked to try again in a moment, as when a store is down.
var errUpdateDeadline = campaign.Errorf(campaign.EUNAVAILABLE, "the update ran out of its deadline")

// deadline returns the context an update is handled under: ctx bounded by UpdateDeadline.
func (d *Dispatcher) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if d.cfg.UpdateDeadline < 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, d.cfg.UpdateDeadline, errUpdateDeadline)
}

// overran reports whether work ended because the update's deadline ran out, rather than because
// its caller gave up (shutting down, or a webhook request's own deadline).
func overran(work context.Context) bool {
	return errors.Is(context.Cause(work), errUpdateDeadline)
}

// giveUp ends an update that ran out of its deadline as a failed store ends one: the person is
// asked, once, to send it again, and the dialog is not saved, so it stays as it was with everything
// entered before. The update counts as handled (Handle returns nil): delivering it again would
// hold the chat up as long once more, and the person sends it again if it still matters. A form
// submitted before the deadline is not written twice when they do: its write carries the
// idempotency key the saved dialog still holds.
func (d *Dispatcher) giveUp(ctx context.Context, in Input, st flows.State, cause error) {
	d.log.Error("update ran out of its deadline; the person is asked to send it again",
		"channel", in.Channel, "chat", in.ChatID, "update", in.UpdateID, "deadline", d.cfg.UpdateDeadline, "err", cause)
	d.apologize(ctx, in, st, errUpdateDeadline)
}

// runFlow runs the flow, trying again after a pause when a store it uses failed.
func (d *Dispatcher) runFlow(ctx context.Context, sess flows.Session, st flows.State, in Input) (flows.State, []flows.Output, error) {
	var (
		next flows.State
		outs []flows.Output
	)
	err := d.retry(ctx, func() (err error) {
		defer func() {
			// A bug in one flow step must not take every chat down with it: the user gets the
			// apology, the dialog stays as it was, and the stack goes to the log.
			if p := recover(); p != nil {
				d.log.Error("flow panicked", "channel", in.Channel, "chat", in.ChatID, "panic", p, "stack", string(debug.Stack()))
				err = errPanic
			}
		}()
		next, outs, err = d.cfg.Flow.Handle(ctx, sess, st, in.Input)
		if err != nil {
			d.discard(outs)
			outs = nil
		}
		return err
	})
	return next, outs, err
}

// errPanic stands for a flow step that panicked; it is not retried.
var errPanic = errors.New("bot: flow panicked")

// retry runs op up to Attempts times with doubling pauses.
func (d *Dispatcher) retry(ctx context.Context, op func() error) error {
	wait := d.cfg.Backoff
	var err error
	for attempt := 1; ; attempt++ {
		if err = op(); err == nil || errors.Is(err, errPanic) {
			return err
		}
		if attempt >= d.cfg.Attempts || ctx.Err() != nil {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		}
		wait *= 2
	}
}

// apologize tells the user, once per update, that their message could not be handled now.
func (d *Dispatcher) apologize(ctx context.Context, in Input, st flows.State, cause error) {
	key := in.Channel + ":" + in.UpdateID
	d.mu.Lock()
	now := time.Now()
	if _, done := d.apologized[key]; done {
		d.mu.Unlock()
		return
	}
	for k, t := range d.apologized {
		if now.Sub(t) > time.Hour {
			delete(d.apologized, k)
		}
	}
	d.apologized[key] = now
	d.mu.Unlock()
	out := d.cfg.Flow.ErrorReply(d.cfg.Flow.Language(st, in.Input), cause)
	d.deliver(ctx, in, &delivery{replies: d.plan(in, st, []flows.Output{out})})
}

// deliver sends replies[from:] in order, marking each one sent when they were recorded (owner
// set). Once the person turns out to have blocked the bot, or to be out of the channel's reach,
// the rest are dropped. When resumed (the replies of an update handled before), a pressed
// button's answer is left out (its moment passed) and a reply whose file is gone becomes an
// apology. A lost lease (another process took the replies over) stops the sends at once.
func (d *Dispatcher) deliver(ctx context.Context, in Input, dl *delivery) {
	replies, owner, resumed := dl.replies, dl.owner, dl.resumed
	var sent atomic.Int64
	sent.Store(int64(dl.from))
	if owner != "" {
		renewing, stopRenewing := context.WithCancel(ctx)
		defer stopRenewing()
		go d.renewReplies(renewing, in, owner, &sent)
	}
	stopped := false
	for i := dl.from; i < len(replies); i++ {
		r := replies[i]
		if stopped {
			d.discard([]flows.Output{r.Output})
			continue
		}
		if resumed {
			r.AckID = ""
			if f := r.File; f != nil && f.Path != "" && !fileExists(f.Path) {
				r = Reply{Output: d.cfg.Flow.ErrorReply(r.Lang, errFileGone), Channel: r.Channel, ChatID: r.ChatID, Lang: r.Lang}
			}
		}
		if err := d.cfg.Sender.Send(ctx, r); err != nil {
			if ctx.Err() != nil && owner != "" {
				// Shutting down: the replies not sent stay recorded, for another process's sweeper
				// (SweepReplies) or the update's redelivery.
				d.log.Warn("stopped before all replies were sent", "channel", in.Channel, "chat", in.ChatID, "update", in.UpdateID, "sent", i)
				return
			}
			d.log.Warn("send failed", "channel", in.Channel, "chat", in.ChatID, "err", err)
			stopped = errors.Is(err, ErrStopped) || errors.Is(err, ErrUnreachable)
		}
		if owner == "" {
			continue
		}
		n := i + 1
		if stopped {
			n = len(replies) // nothing more will go: forget them
		}
		sent.Store(int64(n))
		kept, err := d.cfg.Dialogs.RepliesSent(ctx, in.Channel, in.ChatID, in.UpdateID, owner, n)
		if err != nil {
			// The replies stay recorded: a redelivery after the lease may repeat this one.
			d.log.Warn("mark a reply sent", "channel", in.Channel, "update", in.UpdateID, "err", err)
		} else if !kept && n < len(replies) {
			d.log.Warn("replies taken over by another process; stopping", "channel", in.Channel, "update", in.UpdateID, "sent", n)
			for _, rest := range replies[n:] {
				d.discard([]flows.Output{rest.Output})
			}
			return
		}
	}
}

// renewReplies renews owner's lease on the update's recorded replies every third of ReplyLease
// until ctx ends, so a sender held up by the channel's pace keeps them; it stops when the lease
// turns out lost (another process took them over).
func (d *Dispatcher) renewReplies(ctx context.Context, in Input, owner string, sent *atomic.Int64) {
	t := time.NewTicker(d.cfg.ReplyLease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		kept, err := d.cfg.Dialogs.RepliesSent(ctx, in.Channel, in.ChatID, in.UpdateID, owner, int(sent.Load()))
		if err == nil && !kept {
			return
		}
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// discard removes the temporary files of outputs that will never be handed to the Sender (see
// Sender); those that are, the Sender removes once it is done with them.
func (d *Dispatcher) discard(outs []flows.Output) {
	for _, o := range outs {
		removeFile(d.log, o.File)
	}
}
