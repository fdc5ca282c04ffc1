package redis

import (
	"context"
	"sync"

	goredis "github.com/redis/go-redis/v9"
)

// batcher runs the scripts of one update's handling (Load, SaveStep, RepliesSent) that several
// chats ask for at the same moment as one pipeline: one connection taken from the pool, one write
// and one read instead of one of each per call, on both sides. Nothing waits to fill a batch: the
// first caller runs its script at once, as before; callers that come while a round trip is under
// way queue, and the next round trip carries all of them. A caller therefore waits at most for one
// round trip in flight before its own, and each call stays one script, atomic on its own: only
// the trip is shared (the store needs a single Redis, so every key is on the one server).
type batcher struct {
	client goredis.UniversalClient

	mu      sync.Mutex
	running bool // a caller is running a round trip, and the next one after it
	queue   []*batchCall
}

// batchCall is one script call waiting for a round trip.
type batchCall struct {
	ctx    context.Context
	script *goredis.Script
	keys   []string
	args   []any
	cmd    *goredis.Cmd
	// turn receives true when this call's caller is to run the next round trip (its own call
	// included), false once its call has run.
	turn chan bool
}

// maxBatch bounds one round trip's scripts, so a burst does not make one enormous pipeline.
const maxBatch = 128

// run runs script with keys and args, sharing a round trip with concurrent calls.
func (b *batcher) run(ctx context.Context, script *goredis.Script, keys []string, args ...any) *goredis.Cmd {
	c := &batchCall{ctx: ctx, script: script, keys: keys, args: args}
	b.mu.Lock()
	if b.running {
		c.turn = make(chan bool, 1)
		b.queue = append(b.queue, c)
		b.mu.Unlock()
		if !<-c.turn {
			return c.cmd
		}
		// Our turn to run a round trip: the calls queued so far, ours among them.
		b.mu.Lock()
	} else {
		b.running = true
		b.queue = append(b.queue, c)
	}
	n := min(len(b.queue), maxBatch)
	batch := b.queue[:n:n]
	b.queue = b.queue[n:]
	b.mu.Unlock()

	b.exec(batch)

	b.mu.Lock()
	if len(b.queue) > 0 {
		// Hand the next round trip to the first caller waiting, so that ours returns now.
		next := b.queue[0]
		b.mu.Unlock()
		next.turn <- true
	} else {
		b.running = false
		b.mu.Unlock()
	}
	for _, o := range batch {
		if o != c {
			o.turn <- false
		}
	}
	return c.cmd
}

// exec runs the calls of batch, one script each, in one round trip when there are several, and
// sets each one's cmd. A call whose context ended before the trip is not sent.
func (b *batcher) exec(batch []*batchCall) {
	live := batch[:0:0]
	for _, c := range batch {
		if err := c.ctx.Err(); err != nil {
			c.cmd = goredis.NewCmd(c.ctx)
			c.cmd.SetErr(err)
			continue
		}
		live = append(live, c)
	}
	switch len(live) {
	case 0:
		return
	case 1:
		c := live[0]
		c.cmd = c.script.Run(c.ctx, b.client, c.keys, c.args...)
		return
	}
	// The trip is shared, so no one caller's cancellation cuts it off; the client's read and
	// write timeouts bound it.
	ctx := context.WithoutCancel(live[0].ctx)
	pipe := b.client.Pipeline()
	for _, c := range live {
		c.cmd = pipe.EvalSha(c.ctx, c.script.Hash(), c.keys, c.args...)
	}
	_, _ = pipe.Exec(ctx) // each call's error is on its cmd
	for _, c := range live {
		if goredis.HasErrorPrefix(c.cmd.Err(), "NOSCRIPT") {
			// Redis lost its script cache: this script did not run; Run loads it (EVAL).
			c.cmd = c.script.Run(c.ctx, b.client, c.keys, c.args...)
		}
	}
}
