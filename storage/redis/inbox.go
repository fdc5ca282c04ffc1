package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Defaults of an Inbox, used when the matching InboxOptions field is zero.
const (
	// DefaultInboxMaxLen caps the stream should nothing consume it: days of a campaign's events.
	DefaultInboxMaxLen = 100_000
	// DefaultInboxClaimIdle is how long an event stays with a consumer that pulled it and did not
	// acknowledge it before any consumer may pull it again.
	DefaultInboxClaimIdle = 30 * time.Second
)

// InboxOptions configures an Inbox; zero fields take the defaults.
type InboxOptions struct {
	// MaxLen is the length Push trims the stream to, approximately (whole nodes at a time). It is
	// a guard against a stream nobody reads: trimming drops the oldest events, acknowledged or not.
	MaxLen int64
	// ClaimIdle is how long an event pulled and not acknowledged waits before Pull hands it to
	// another consumer (the one that pulled it died, or is stuck).
	ClaimIdle time.Duration
}

// Inbox is a durable queue of raw events over a Redis stream and a consumer group: the webhook
// pushes, each replica pulls as its own consumer, and an event is deleted once acknowledged. An
// event is handed to one consumer at a time; it goes to another only after ClaimIdle without an
// acknowledgement, so a consumer that takes longer than that to handle an event may see it
// handled twice, and an event that is never acknowledged comes back every ClaimIdle. It is safe
// for concurrent use.
type Inbox struct {
	client    goredis.UniversalClient
	stream    string
	group     string
	consumer  string
	maxLen    int64
	claimIdle time.Duration

	mu         sync.Mutex
	groupReady bool
	// claimFrom is where the next XAUTOCLAIM goes on scanning the pending entries, so that a long
	// list of entries still in hand does not hide the stale ones behind it.
	claimFrom string
}

// NewInbox returns an Inbox on the stream key stream, read by consumer as one of group. The
// group is created (with the stream) on first use, reading from the stream's start, so events
// pushed before any consumer existed are not lost.
func NewInbox(client goredis.UniversalClient, stream, group, consumer string, opts InboxOptions) *Inbox {
	in := &Inbox{client: client, stream: stream, group: group, consumer: consumer,
		maxLen: opts.MaxLen, claimIdle: opts.ClaimIdle, claimFrom: "0-0"}
	if in.maxLen <= 0 {
		in.maxLen = DefaultInboxMaxLen
	}
	if in.claimIdle <= 0 {
		in.claimIdle = DefaultInboxClaimIdle
	}
	return in
}

// inboxField is the stream entry's field holding the event.
const inboxField = "d"

// Push stores one raw event; when it returns nil the event is in Redis for a consumer to pull.
func (in *Inbox) Push(ctx context.Context, data []byte) error {
	if in.stream == "" {
		return fmt.Errorf("redis: inbox push: empty stream: %w", ErrInvalidKey)
	}
	if data == nil {
		data = []byte{}
	}
	err := in.client.XAdd(ctx, &goredis.XAddArgs{
		Stream: in.stream, MaxLen: in.maxLen, Approx: true, Values: []any{inboxField, data},
	}).Err()
	if err != nil {
		return fmt.Errorf("redis: inbox push %s: %w", in.stream, err)
	}
	return nil
}

// Pull returns up to limit events (at least one is asked for), ids[i] being data[i]'s id. It first
// takes over events pulled by any consumer more than ClaimIdle ago and not acknowledged, and
// returns them at once; otherwise it reads new events, waiting up to wait for the first (not at
// all when wait is not positive). No event: empty slices and a nil error.
//
// The wait is Redis's BLOCK: ending ctx does not cut it short, so keep wait to seconds.
func (in *Inbox) Pull(ctx context.Context, limit int, wait time.Duration) (ids []string, data [][]byte, err error) {
	if in.stream == "" || in.group == "" || in.consumer == "" {
		return nil, nil, fmt.Errorf("redis: inbox pull: stream, group and consumer are needed: %w", ErrInvalidKey)
	}
	limit = max(limit, 1)
	for attempt := 0; ; attempt++ {
		ids, data, err = in.pull(ctx, limit, wait)
		// The stream was deleted (FLUSHDB, a cleanup) since the group was made: make it again.
		if err != nil && isNoGroup(err) && attempt == 0 {
			in.mu.Lock()
			in.groupReady, in.claimFrom = false, "0-0"
			in.mu.Unlock()
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("redis: inbox pull %s: %w", in.stream, err)
		}
		return ids, data, nil
	}
}

func (in *Inbox) pull(ctx context.Context, limit int, wait time.Duration) ([]string, [][]byte, error) {
	if err := in.ensureGroup(ctx); err != nil {
		return nil, nil, err
	}
	in.mu.Lock()
	start := in.claimFrom
	in.mu.Unlock()
	claimed, next, err := in.client.XAutoClaim(ctx, &goredis.XAutoClaimArgs{
		Stream: in.stream, Group: in.group, Consumer: in.consumer,
		MinIdle: in.claimIdle, Start: start, Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, nil, fmt.Errorf("reclaim: %w", err)
	}
	in.mu.Lock()
	in.claimFrom = next
	in.mu.Unlock()
	ids, data := entries(claimed)
	if len(ids) > 0 {
		return ids, data, nil
	}

	block := time.Duration(-1) // no BLOCK: go-redis sends BLOCK for any Block >= 0, and BLOCK 0 waits forever
	if wait > 0 {
		block = max(wait, time.Millisecond)
	}
	streams, err := in.client.XReadGroup(ctx, &goredis.XReadGroupArgs{
		Group: in.group, Consumer: in.consumer, Streams: []string{in.stream, ">"},
		Count: int64(limit), Block: block,
	}).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read: %w", err)
	}
	for _, s := range streams {
		i, d := entries(s.Messages)
		ids, data = append(ids, i...), append(data, d...)
	}
	return ids, data, nil
}

// entries returns the ids and events of msgs, leaving out any entry deleted while it was
// pending (Redis before 7 reports those with an empty id).
func entries(msgs []goredis.XMessage) ([]string, [][]byte) {
	ids, data := make([]string, 0, len(msgs)), make([][]byte, 0, len(msgs))
	for _, m := range msgs {
		if m.ID == "" {
			continue
		}
		var d []byte
		if v, ok := m.Values[inboxField].(string); ok {
			d = []byte(v)
		}
		ids, data = append(ids, m.ID), append(data, d)
	}
	return ids, data
}

// ensureGroup creates the consumer group, and the stream with it, once per Inbox.
func (in *Inbox) ensureGroup(ctx context.Context) error {
	in.mu.Lock()
	ready := in.groupReady
	in.mu.Unlock()
	if ready {
		return nil
	}
	err := in.client.XGroupCreateMkStream(ctx, in.stream, in.group, "0").Err()
	if err != nil && !isRedisError(err, "BUSYGROUP") {
		return fmt.Errorf("create group %s: %w", in.group, err)
	}
	in.mu.Lock()
	in.groupReady = true
	in.mu.Unlock()
	return nil
}

// isNoGroup reports whether err says the stream or its group does not exist.
func isNoGroup(err error) bool { return isRedisError(err, "NOGROUP") }

// isRedisError reports whether err carries a reply of Redis's with the error code code.
func isRedisError(err error, code string) bool {
	var rerr goredis.Error
	return errors.As(err, &rerr) && strings.HasPrefix(rerr.Error(), code+" ")
}

// Ack marks events handled for good: they leave the group's pending list and the stream, in one
// transaction. Ids that are not pending (acknowledged already, or taken over and acknowledged by
// another consumer) are ignored.
func (in *Inbox) Ack(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	if in.stream == "" || in.group == "" {
		return fmt.Errorf("redis: inbox ack: stream and group are needed: %w", ErrInvalidKey)
	}
	_, err := in.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.XAck(ctx, in.stream, in.group, ids...)
		p.XDel(ctx, in.stream, ids...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis: inbox ack %s: %w", in.stream, err)
	}
	return nil
}

// Len returns how many events the stream holds, pulled or not, for metrics.
func (in *Inbox) Len(ctx context.Context) (int64, error) {
	n, err := in.client.XLen(ctx, in.stream).Result()
	if err != nil {
		return 0, fmt.Errorf("redis: inbox length %s: %w", in.stream, err)
	}
	return n, nil
}
