package redis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	goredis "github.com/redis/go-redis/v9"
)

// BudgetLimits are a channel account's sending limits.
type BudgetLimits struct {
	// PerSecond and Burst bound the account's messages over all chats (Telegram: about 30 a
	// second per bot; Zalo: about 4,000 calls a minute per app).
	PerSecond float64
	Burst     int
	// PerChatPerSecond and PerChatBurst bound the messages to one chat (Telegram: about one a
	// second, short bursts tolerated); zero means no limit per chat.
	PerChatPerSecond float64
	PerChatBurst     int
	// BulkShare is the part of PerSecond that bulk messages (broadcasts, reminders, summaries)
	// may use while people are in a conversation; the rest is kept for their replies and
	// notices. Default 0.5. When nobody has been answered for InteractiveWindow, bulk uses all.
	BulkShare float64
	// InteractiveWindow is how long after a reply or a notice bulk keeps to its share; default 2s.
	InteractiveWindow time.Duration
}

// Budget is one channel account's sending budget, shared by every process that sends for it: GCRA
// rate limits in Redis (go-redis/redis_rate) for the account and for each chat, a bulk share that
// yields to replies, and a pause every process honours when the channel asks to wait.
//
// Keys, under the prefix given to NewBudget ("mtce:budget:telegram:<bot id>:"):
//
//	account         the account's GCRA state
//	bulk            bulk messages' GCRA state (their share)
//	chat:<chatID>   one chat's GCRA state
//	pause           set, with a TTL, while the channel asked to wait
//	interactive     set, with a TTL, while replies and notices are being sent
type Budget struct {
	// bulkTurn lets one bulk message of this process at a time wait on Redis: the others queue
	// here, in order, so a broadcast of thousands asks Redis about the budget once per message
	// sent, not once per waiting message per retry. replyTurn does the same for replies and
	// notices, which also makes them go in the order they came.
	bulkTurn, replyTurn chan struct{}
	// markedAt is when this process last marked the account interactive (Unix ns).
	markedAt atomic.Int64
	client   goredis.UniversalClient
	limiter  *redis_rate.Limiter
	prefix   string
	limits   BudgetLimits
	account  redis_rate.Limit
	chat     redis_rate.Limit
	bulk     redis_rate.Limit
}

// NewBudget returns the budget of the account whose keys are under prefix. A zero PerSecond means
// no limit over all chats (the per-chat limit and pauses still hold).
func NewBudget(client goredis.UniversalClient, prefix string, l BudgetLimits) *Budget {
	if l.BulkShare <= 0 || l.BulkShare > 1 {
		l.BulkShare = 0.5
	}
	if l.InteractiveWindow <= 0 {
		l.InteractiveWindow = 2 * time.Second
	}
	b := &Budget{client: client, limiter: redis_rate.NewLimiter(probingClient{client}), prefix: prefix, limits: l, bulkTurn: make(chan struct{}, 1), replyTurn: make(chan struct{}, 1)}
	b.account = limitOf(l.PerSecond, l.Burst)
	b.chat = limitOf(l.PerChatPerSecond, l.PerChatBurst)
	b.bulk = limitOf(l.PerSecond*l.BulkShare, int(math.Ceil(float64(max(l.Burst, 1))*l.BulkShare)))
	return b
}

// limitOf is a GCRA limit of perSecond messages a second with burst, expressed in whole messages
// per period as redis_rate wants; zero perSecond is no limit.
func limitOf(perSecond float64, burst int) redis_rate.Limit {
	if perSecond <= 0 {
		return redis_rate.Limit{}
	}
	burst = max(burst, 1)
	if perSecond >= 1 {
		// Whole messages per second, and fractions kept by a longer period: 2.5/s = 5 per 2 s.
		period := time.Second
		rate := perSecond
		for rate != math.Trunc(rate) && period < time.Minute {
			rate *= 2
			period *= 2
		}
		return redis_rate.Limit{Rate: int(math.Round(rate)), Burst: burst, Period: period}
	}
	return redis_rate.Limit{Rate: 1, Burst: burst, Period: time.Duration(float64(time.Second) / perSecond)}
}

// maxBudgetWait bounds one sleep between looks, so a pause lifted or a budget freed by another
// process is seen soon.
const maxBudgetWait = 500 * time.Millisecond

// Wait blocks until a message to chatID may go, or ctx ends: within the chat's limit first (a
// chat held by its own limit holds up nobody else), then while the account is paused, then, for
// bulk, within the bulk share (all of the budget when nobody has been answered lately), then
// within the account's limit. Replies and notices mark the account interactive, which keeps bulk
// to its share. A Redis failure is returned: the caller retries the message as for any failure to
// send.
//
// The waiters of a process take turns for the account's budget, in the order they came (replies
// and notices in one line, bulk in another): when many chats wait at once, the message the budget
// frees goes to the one that waited longest in this process, not to whichever looks first, so no
// parent loses every race for minutes. Each chat's token is taken once, before its turn.
//
// The account's state (paused, interactive) is read in the round trip that takes the chat's
// token (see probingClient), and used when the message's turn comes at once; a message that
// waited for its turn reads it again.
func (b *Budget) Wait(ctx context.Context, chatID string, bulk bool) error {
	probe := &stateProbe{pauseKey: b.prefix + "pause", interactiveKey: b.prefix + "interactive"}
	if err := b.waitFor(context.WithValue(ctx, stateProbeKey{}, probe), "chat:"+chatID, b.chat); err != nil {
		return err
	}
	turn := b.replyTurn
	if bulk {
		turn = b.bulkTurn
	}
	select {
	case turn <- struct{}{}:
	default:
		probe.read = false // the state may change while other messages of this process go first
		select {
		case turn <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer func() { <-turn }()
	// shared is whether bulk's share was spent already: like the chat's token, it is taken once,
	// not again each time the account's budget makes the message wait.
	shared := !bulk
	for {
		pause, interactive, fresh := probe.use()
		if !fresh {
			var err error
			if pause, interactive, err = b.state(ctx); err != nil {
				return err
			}
		}
		if pause > 0 {
			if err := sleepCtx(ctx, pause); err != nil {
				return err
			}
			continue
		}
		if !shared {
			limit := b.bulk
			if !interactive {
				limit = b.account
			}
			if wait, err := b.take(ctx, "bulk", limit); err != nil || wait > 0 {
				if err == nil {
					err = sleepCtx(ctx, wait)
				}
				if err != nil {
					return err
				}
				continue
			}
			shared = true
		}
		wait, err := b.take(ctx, "account", b.account)
		if err != nil {
			return err
		}
		if wait > 0 {
			if err := sleepCtx(ctx, wait); err != nil {
				return err
			}
			continue
		}
		if !bulk {
			return b.markInteractive(ctx)
		}
		return nil
	}
}

// waitFor takes one message of limit under key, waiting as long as it says.
func (b *Budget) waitFor(ctx context.Context, key string, limit redis_rate.Limit) error {
	for {
		wait, err := b.take(ctx, key, limit)
		if err != nil {
			return err
		}
		if wait <= 0 {
			return nil
		}
		if err := sleepCtx(ctx, wait); err != nil {
			return err
		}
	}
}

// markInteractive keeps the account marked interactive for InteractiveWindow. The mark is
// refreshed at most every half window by this process: a reply a second does not cost a Redis
// round trip each.
func (b *Budget) markInteractive(ctx context.Context) error {
	now := time.Now().UnixNano()
	if last := b.markedAt.Load(); now-last < int64(b.limits.InteractiveWindow/2) {
		return nil
	}
	if err := b.client.Set(ctx, b.prefix+"interactive", 1, b.limits.InteractiveWindow).Err(); err != nil {
		return fmt.Errorf("redis: budget: mark interactive: %w", err)
	}
	b.markedAt.Store(now)
	return nil
}

// state reads, in one round trip, how long the account is still paused and whether replies or
// notices went lately.
func (b *Budget) state(ctx context.Context) (pause time.Duration, interactive bool, err error) {
	pipe := b.client.Pipeline()
	ttl := pipe.PTTL(ctx, b.prefix+"pause")
	live := pipe.Exists(ctx, b.prefix+"interactive")
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		return 0, false, fmt.Errorf("redis: budget: %w", err)
	}
	pause, interactive = stateOf(ttl, live)
	return pause, interactive, nil
}

// stateOf is the state the pause key's PTTL and the interactive key's EXISTS say: the time left
// to wait (at most maxBudgetWait, so a pause lifted early is seen) and whether people are being
// answered.
func stateOf(ttl *goredis.DurationCmd, live *goredis.IntCmd) (pause time.Duration, interactive bool) {
	if d := ttl.Val(); d > 0 {
		pause = min(d, maxBudgetWait)
	}
	return pause, live.Val() > 0
}

// stateProbe asks probingClient to read the account's state (its pause and interactive keys)
// in the round trip of the next script it runs; read says it did, and the values are then those of
// the last such trip.
type stateProbe struct {
	pauseKey, interactiveKey string

	read        bool
	pause       time.Duration
	interactive bool
}

// stateProbeKey is the context key of a call's stateProbe.
type stateProbeKey struct{}

// use returns the state the probe read, once: fresh says whether it had one.
func (p *stateProbe) use() (pause time.Duration, interactive, fresh bool) {
	fresh, p.read = p.read, false
	return p.pause, p.interactive, fresh
}

// probingClient is the client redis_rate runs its GCRA script on. It runs it as the client
// would; when the call's context carries a stateProbe, it reads the account's state in the same
// pipeline, so that taking a chat's token and reading whether the account is paused cost one
// round trip, not two. The library's script and its NOSCRIPT fallback are left as they are.
type probingClient struct{ goredis.UniversalClient }

// EvalSha implements redis_rate's client.
func (c probingClient) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *goredis.Cmd {
	p, _ := ctx.Value(stateProbeKey{}).(*stateProbe)
	if p == nil {
		return c.UniversalClient.EvalSha(ctx, sha1, keys, args...)
	}
	pipe := c.UniversalClient.Pipeline()
	cmd := pipe.EvalSha(ctx, sha1, keys, args...)
	ttl := pipe.PTTL(ctx, p.pauseKey)
	live := pipe.Exists(ctx, p.interactiveKey)
	_, _ = pipe.Exec(ctx) // the script's error is on cmd; a state not read is read again
	p.read = ttl.Err() == nil && live.Err() == nil
	if p.read {
		p.pause, p.interactive = stateOf(ttl, live)
	}
	return cmd
}

// take spends one message of limit under key, or says how long to wait for one.
func (b *Budget) take(ctx context.Context, key string, limit redis_rate.Limit) (time.Duration, error) {
	if limit.IsZero() {
		return 0, nil
	}
	res, err := b.limiter.Allow(ctx, b.prefix+key, limit)
	if err != nil {
		return 0, fmt.Errorf("redis: budget %s: %w", key, err)
	}
	if res.Allowed > 0 {
		return 0, nil
	}
	return min(max(res.RetryAfter, time.Millisecond), maxBudgetWait), nil
}

// Pause holds every message of the account, in every process, for d: the channel said to wait
// (a 429's retry_after). A longer pause already set is kept.
func (b *Budget) Pause(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	key := b.prefix + "pause"
	current, err := b.client.PTTL(ctx, key).Result()
	if err != nil {
		return fmt.Errorf("redis: budget pause: %w", err)
	}
	if current >= d {
		return nil
	}
	if err := b.client.Set(ctx, key, 1, d).Err(); err != nil {
		return fmt.Errorf("redis: budget pause: %w", err)
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
