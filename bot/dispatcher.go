package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
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
	// UpdateDeadline bounds loading the dialog, running the flow and saving the dialog for one
	// update (default DefaultUpdateDeadline; negative for none), so one chat stuck on a slow store
	// or a hung call holds one of the Workers, and its own updates queued behind it, only that
	// long. When it runs out the person is asked to send again and the dialog is left as it was.
	UpdateDeadline time.Duration
}

// DefaultUpdateDeadline is the UpdateDeadline when none is configured: far above a normal update
// (milliseconds) and a store's own retries, below the minute after which people give up on a bot.
const DefaultUpdateDeadline = 30 * time.Second

// Dispatcher turns Inputs into Replies: it skips updates already handled, handles each chat's
// updates in order, loads the chat's dialog, runs the flow, saves the dialog with a
// compare-and-set on its version and sends the replies. A submit that writes PostgreSQL carries the
// dialog's idempotency key, so when a save loses a race and the flow runs again, nothing is written
// twice.
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
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Dispatcher{cfg: cfg, log: cfg.Logger, slots: make(chan struct{}, cfg.Workers),
		stopped: make(chan struct{}), chats: map[string]*chatQueue{}, apologized: map[string]time.Time{}}
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
// worker per chat, chosen by a hash, the chats sharing its worker would wait behind it.
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
		d.wg.Add(1)
		go d.run(key, q)
	}
	q.jobs = append(q.jobs, job{ctx: ctx, in: in, done: done})
	return done
}

// run handles the inputs of one chat in order until none is waiting.
func (d *Dispatcher) run(key string, q *chatQueue) {
	defer d.wg.Done()
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
		if err == nil {
			err = d.Handle(j.ctx, j.in)
		}
		<-d.slots
		j.done <- err
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

// Handle handles one input now, on the calling goroutine. Callers that need per-chat order use
// Dispatch instead.
func (d *Dispatcher) Handle(ctx context.Context, in Input) (err error) {
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
				return nil
			}
			d.apologize(ctx, in, flows.State{}, err)
			return fmt.Errorf("load dialog %s:%s: %w", in.Channel, in.ChatID, err)
		}
		if seen {
			result = "duplicate"
			return nil
		}
		var st flows.State
		if len(data) > 0 {
			if err := json.Unmarshal(data, &st); err != nil {
				// A record this version cannot read is not worth stopping the chat for.
				d.log.Error("dialog unreadable, starting afresh", "channel", in.Channel, "chat", in.ChatID, "err", err)
				st = flows.State{}
			}
		}
		next, outs, flowErr := d.runFlow(work, sess, st, in)
		if overran(work) {
			// Also when the flow finished after all: its state is not saved that late.
			d.discard(outs)
			result = "deadline"
			d.giveUp(ctx, in, st, errors.Join(flowErr, context.Cause(work)))
			return nil
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
			return fmt.Errorf("encode dialog: %w", err)
		}
		var saved bool
		err = d.retry(work, func() error {
			var err error
			saved, err = d.cfg.Dialogs.Save(work, in.Channel, in.ChatID, version, encoded, in.UpdateID)
			return err
		})
		if err != nil {
			d.discard(outs)
			if overran(work) {
				result = "deadline"
				d.giveUp(ctx, in, st, err)
				return nil
			}
			d.apologize(ctx, in, st, err)
			return fmt.Errorf("save dialog %s:%s: %w", in.Channel, in.ChatID, err)
		}
		if !saved {
			// Another replica handled this chat (or this very update) since we loaded: load again.
			// The flow's writes are idempotent, so running it again doubles nothing; what it said
			// this time is dropped, with any file it made for it.
			d.discard(outs)
			if conflicts >= 10 {
				return fmt.Errorf("dialog %s:%s: too many conflicting saves", in.Channel, in.ChatID)
			}
			continue
		}
		d.send(ctx, in, next, outs)
		return nil
	}
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
	d.send(ctx, in, st, []flows.Output{out})
}

// send delivers the outputs in order, in the language of st; the first one answers a pressed button. Once the person
// turns out to have blocked the bot, the rest of their outputs are dropped, but messages to other
// people still go, each on that person's own channel (the Sender routes by Reply.Channel).
func (d *Dispatcher) send(ctx context.Context, in Input, st flows.State, outs []flows.Output) {
	if len(outs) == 0 && in.AckID != "" {
		outs = []flows.Output{{}}
	}
	answered, stopped := false, false
	lang := d.cfg.Flow.Language(st, in.Input)
	for _, o := range outs {
		r := Reply{Output: o, Channel: in.Channel, ChatID: in.ChatID}
		if o.To != nil {
			// A message for someone else: it neither answers the button nor replaces anything.
			r.Channel, r.ChatID, r.Output.To, r.Replace, r.Ack = o.To.Channel, o.To.ChatID, nil, false, ""
			r.Lane = chatLaneNotice
			if r.Channel == "" {
				r.Channel = in.Channel
			}
			if err := d.cfg.Sender.Send(ctx, r); err != nil {
				d.log.Warn("send to another chat failed", "channel", r.Channel, "chat", r.ChatID, "err", err)
			}
			continue
		}
		if stopped {
			d.discard([]flows.Output{o})
			continue
		}
		if !answered {
			r.AckID = in.AckID
			answered = true
		}
		r.Lang = lang
		if o.Replace && in.Kind == flows.KindChoice {
			r.ReplaceID = in.MessageID
		}
		if err := d.cfg.Sender.Send(ctx, r); err != nil {
			d.log.Warn("send failed", "channel", in.Channel, "chat", in.ChatID, "err", err)
			stopped = errors.Is(err, ErrStopped) || errors.Is(err, ErrUnreachable)
		}
	}
	if !answered && in.AckID != "" && !stopped {
		// Every output went to other people: the press is still answered, so the spinner stops.
		if err := d.cfg.Sender.Send(ctx, Reply{Channel: in.Channel, ChatID: in.ChatID, AckID: in.AckID, Lang: lang}); err != nil {
			d.log.Warn("answer a button press", "channel", in.Channel, "chat", in.ChatID, "err", err)
		}
	}
}

// discard removes the temporary files of outputs that will never be handed to the Sender (see
// Sender); those that are, the Sender removes once it is done with them.
func (d *Dispatcher) discard(outs []flows.Output) {
	for _, o := range outs {
		removeFile(d.log, o.File)
	}
}
