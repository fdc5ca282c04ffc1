package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

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
	// Workers is how many chats are handled at once (default 64). Updates of one chat always go
	// to the same worker, so they are handled in the order they arrived.
	Workers int
	// Attempts is how often a store operation is tried before the user is told (default 3).
	Attempts int
	// Backoff is the first wait between attempts, doubled each time (default 100ms).
	Backoff time.Duration
	// Metrics, if set, counts updates and measures handling time.
	Metrics *Metrics
}

// Dispatcher turns Inputs into Replies: it skips updates already handled, handles each chat's
// updates in order, loads the chat's dialog, runs the flow, saves the dialog with a
// compare-and-set on its version and sends the replies. A submit that writes PostgreSQL carries the
// dialog's idempotency key, so when a save loses a race and the flow runs again, nothing is written
// twice.
type Dispatcher struct {
	cfg     DispatcherConfig
	log     *slog.Logger
	queues  []chan job
	wg      sync.WaitGroup
	mu      sync.Mutex
	started bool
	// apologized remembers updates whose failure the user was already told about, so a batch
	// retried while Redis is down does not repeat the apology.
	apologized map[string]time.Time
}

type job struct {
	ctx  context.Context
	in   Input
	done chan error
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
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Dispatcher{cfg: cfg, log: cfg.Logger, apologized: map[string]time.Time{}}
}

// Start launches the workers; they stop when ctx is done, after finishing queued inputs' handling
// attempts (which see the cancelled context).
func (d *Dispatcher) Start(ctx context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started {
		return
	}
	d.started = true
	d.queues = make([]chan job, d.cfg.Workers)
	for i := range d.queues {
		q := make(chan job, 256)
		d.queues[i] = q
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			for {
				select {
				case <-ctx.Done():
					// Fail what is still queued so nobody waits forever.
					for {
						select {
						case j := <-q:
							j.done <- ctx.Err()
						default:
							return
						}
					}
				case j := <-q:
					j.done <- d.Handle(j.ctx, j.in)
				}
			}
		}()
	}
}

// Wait blocks until the workers have stopped.
func (d *Dispatcher) Wait() { d.wg.Wait() }

// Dispatch queues in on its chat's worker and returns a channel that receives the result once the
// input was handled (nil when handled or skipped as a duplicate).
func (d *Dispatcher) Dispatch(ctx context.Context, in Input) <-chan error {
	done := make(chan error, 1)
	h := fnv.New32a()
	h.Write([]byte(in.Channel))
	h.Write([]byte{0})
	h.Write([]byte(in.ChatID))
	q := d.queues[int(h.Sum32()%uint32(len(d.queues)))]
	select {
	case q <- job{ctx: ctx, in: in, done: done}:
	case <-ctx.Done():
		done <- ctx.Err()
	}
	return done
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
	sess := flows.Session{Channel: in.Channel, ChatID: in.ChatID}
	for conflicts := 0; ; conflicts++ {
		var (
			data    []byte
			version int64
			seen    bool
		)
		err := d.retry(ctx, func() error {
			var err error
			data, version, seen, err = d.cfg.Dialogs.Load(ctx, in.Channel, in.ChatID, in.UpdateID)
			return err
		})
		if err != nil {
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
		next, outs, flowErr := d.runFlow(ctx, sess, st, in)
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
		err = d.retry(ctx, func() error {
			var err error
			saved, err = d.cfg.Dialogs.Save(ctx, in.Channel, in.ChatID, version, encoded, in.UpdateID)
			return err
		})
		if err != nil {
			d.discard(outs)
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
}

// discard removes the temporary files of outputs that will never be handed to the Sender (see
// Sender); those that are, the Sender removes once it is done with them.
func (d *Dispatcher) discard(outs []flows.Output) {
	for _, o := range outs {
		removeFile(d.log, o.File)
	}
}
