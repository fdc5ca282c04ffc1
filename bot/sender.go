package bot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/thuduc/maytinhchoem/flows"
)

// Budget paces one channel account's messages across every process that sends for it (one bot
// token, one Zalo app); storage/redis.Budget is the one the bot runs on.
type Budget interface {
	// Wait blocks until a message to chatID may go, or ctx ends. Bulk messages yield to replies
	// and notices (see chat.Lane).
	Wait(ctx context.Context, chatID string, bulk bool) error
	// Pause holds every message of the account, in every process, for d.
	Pause(ctx context.Context, d time.Duration) error
}

// PacedSenderConfig configures a PacedSender. Zero rates mean no limit.
type PacedSenderConfig struct {
	// Budget, when set, is the account's budget shared with the other processes, and the rates
	// below are not used: the account's limits are the Budget's.
	Budget Budget
	// GlobalPerSecond caps messages per second over all chats (Telegram: about 30).
	GlobalPerSecond float64
	GlobalBurst     int
	// PerChatPerSecond caps messages per second to one chat (Telegram: about 1, short bursts
	// tolerated, hence PerChatBurst).
	PerChatPerSecond float64
	PerChatBurst     int
	// Attempts is how often one message is tried (default 5); throttling waits don't count beyond
	// MaxThrottleWait in total.
	Attempts int
	// Backoff is the first pause after a transient failure, doubled each time (default 200ms).
	Backoff time.Duration
	// MaxThrottleWait caps the total time spent honouring retry_after for one message (default 2m).
	MaxThrottleWait time.Duration
	// OnStopped is called when the person blocked the bot.
	OnStopped func(ctx context.Context, channel, chatID string)
	// OnUnreachable is called when the channel will not carry messages to the person until they
	// write again (Zalo's 7-day window).
	OnUnreachable func(ctx context.Context, channel, chatID string)
	Logger        *slog.Logger
	Metrics       *Metrics
}

// PacedSender wraps a channel's Sender: it keeps to the channel's rate limits (the account's Budget
// shared by every process, or limits of its own), waits as long as the channel asks when
// throttled (429 retry_after, which pauses the whole account), retries transient failures with
// backoff, gives up at once on messages the channel rejects, and reports people who blocked the
// bot or are out of the channel's reach.
type PacedSender struct {
	inner  Sender
	cfg    PacedSenderConfig
	global *rate.Limiter

	mu      sync.Mutex
	perChat map[string]*chatLimiter
	swept   time.Time
}

type chatLimiter struct {
	lim  *rate.Limiter
	used time.Time
}

// NewPacedSender wraps inner.
func NewPacedSender(inner Sender, cfg PacedSenderConfig) *PacedSender {
	if cfg.Attempts <= 0 {
		cfg.Attempts = 5
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 200 * time.Millisecond
	}
	if cfg.MaxThrottleWait <= 0 {
		cfg.MaxThrottleWait = 2 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p := &PacedSender{inner: inner, cfg: cfg, perChat: map[string]*chatLimiter{}}
	p.global = limiter(cfg.GlobalPerSecond, cfg.GlobalBurst)
	return p
}

func limiter(perSecond float64, burst int) *rate.Limiter {
	if perSecond <= 0 {
		return rate.NewLimiter(rate.Inf, 1)
	}
	if burst <= 0 {
		burst = 1
	}
	return rate.NewLimiter(rate.Limit(perSecond), burst)
}

func (p *PacedSender) chat(key string) *rate.Limiter {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.swept) > time.Minute {
		for k, c := range p.perChat {
			if now.Sub(c.used) > time.Minute {
				delete(p.perChat, k)
			}
		}
		p.swept = now
	}
	c, ok := p.perChat[key]
	if !ok {
		c = &chatLimiter{lim: limiter(p.cfg.PerChatPerSecond, p.cfg.PerChatBurst)}
		p.perChat[key] = c
	}
	c.used = now
	return c.lim
}

// Send delivers r, pacing and retrying as described on PacedSender. When it returns, r is done
// with for good, so a File marked Remove is removed then (see Sender), never between attempts.
func (p *PacedSender) Send(ctx context.Context, r Reply) error {
	defer removeFile(p.cfg.Logger, r.File)
	chat := p.chat(r.Channel + ":" + r.ChatID)
	wait := p.cfg.Backoff
	var throttled time.Duration
	for attempt := 1; ; attempt++ {
		if err := p.wait(ctx, chat, r); err != nil {
			return err
		}
		err := p.inner.Send(ctx, r)
		var thr *ThrottledError
		switch {
		case err == nil:
			p.cfg.Metrics.sent("ok")
			return nil
		case errors.Is(err, ErrStopped):
			p.cfg.Metrics.sent("stopped")
			if p.cfg.OnStopped != nil {
				p.cfg.OnStopped(ctx, r.Channel, r.ChatID)
			}
			return err
		case errors.Is(err, ErrUnreachable):
			p.cfg.Metrics.sent("unreachable")
			if p.cfg.OnUnreachable != nil {
				p.cfg.OnUnreachable(ctx, r.Channel, r.ChatID)
			}
			return err
		case errors.Is(err, ErrRejected):
			p.cfg.Metrics.sent("rejected")
			p.cfg.Logger.Error("message rejected by channel", "channel", r.Channel, "chat", r.ChatID, "err", err)
			return err
		case errors.As(err, &thr):
			p.cfg.Metrics.sent("throttled")
			d := max(thr.RetryAfter, time.Second)
			if throttled+d > p.cfg.MaxThrottleWait {
				return fmt.Errorf("send to %s:%s: %w", r.Channel, r.ChatID, err)
			}
			throttled += d
			if p.cfg.Budget != nil {
				// Every process holds back, not only this message; the wait is the Budget's.
				if err := p.cfg.Budget.Pause(ctx, d); err != nil {
					p.cfg.Logger.Warn("pause the shared budget", "channel", r.Channel, "err", err)
				}
			} else if err := sleep(ctx, d); err != nil {
				return fmt.Errorf("send: %w", err)
			}
			attempt-- // a throttle is not a failure of the message
		default:
			p.cfg.Metrics.sent("error")
			if attempt >= p.cfg.Attempts {
				return fmt.Errorf("send to %s:%s after %d attempts: %w", r.Channel, r.ChatID, attempt, err)
			}
			if err := sleep(ctx, wait); err != nil {
				return fmt.Errorf("send: %w", err)
			}
			wait *= 2
		}
	}
}

// Router is a Sender that hands each Reply to the Sender of its channel, so a notice to a person on
// another channel than the one who caused it goes out on theirs.
type Router struct {
	senders map[string]Sender
}

// NewRouter returns a Router with no channel; Add them before the first Send.
func NewRouter() *Router { return &Router{senders: map[string]Sender{}} }

// Add makes s the Sender of channel.
func (r *Router) Add(channel string, s Sender) { r.senders[channel] = s }

// Has says whether channel has a Sender.
func (r *Router) Has(channel string) bool { _, ok := r.senders[channel]; return ok }

// Send hands reply to its channel's Sender. A channel this bot does not run is refused with
// ErrRejected (and the reply's temporary file removed): nothing would ever carry it.
func (r *Router) Send(ctx context.Context, reply Reply) error {
	s, ok := r.senders[reply.Channel]
	if !ok {
		removeFile(slog.Default(), reply.File)
		return fmt.Errorf("%w: channel %q is not running here", ErrRejected, reply.Channel)
	}
	return s.Send(ctx, reply)
}

// wait holds r until the account's budget lets it go: the shared Budget when there is one, else
// this process's own limiters. When the Budget fails (Redis away) the message is paced by this
// process's limiters instead, so a message still goes, at a pace that is this process's share.
func (p *PacedSender) wait(ctx context.Context, chat *rate.Limiter, r Reply) error {
	if p.cfg.Budget != nil {
		err := p.cfg.Budget.Wait(ctx, r.ChatID, r.Lane == chatLaneBulk)
		if err == nil || ctx.Err() != nil {
			if err != nil {
				return fmt.Errorf("send: %w", err)
			}
			return nil
		}
		p.cfg.Logger.Warn("shared budget unavailable; pacing this process alone", "channel", r.Channel, "err", err)
	}
	if err := p.global.Wait(ctx); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	if err := chat.Wait(ctx); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// removeFile removes a reply's temporary file, if it is one. A file already gone is no error: a
// send that failed because the file was missing still ends here.
func removeFile(log *slog.Logger, f *flows.File) {
	if f == nil || !f.Remove || f.Path == "" {
		return
	}
	if err := os.Remove(f.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		log.Warn("remove a sent file", "path", f.Path, "err", err)
	}
}
