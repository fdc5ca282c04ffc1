package redis

import (
	"context"

	goredis "github.com/redis/go-redis/v9"

	"github.com/thuduc/maytinhchoem/storage/internal/roundtrip"
)

// batcher runs the scripts of one update's handling (Load, SaveStep, RepliesSent) that several
// chats ask for at the same moment as one pipeline: one connection taken from the pool, one write
// and one read instead of one of each per call, on both sides. Nothing waits to fill a batch (see
// roundtrip.Sharer): the first caller runs its script at once, as before; callers that come while
// a round trip is under way queue, and the next round trip carries all of them. Each call stays
// one script, atomic on its own: only the trip is shared (the store needs a single Redis, so every
// key is on the one server).
type batcher struct {
	client goredis.UniversalClient
	trips  roundtrip.Sharer[batchCall]
}

// newBatcher returns a batcher of scripts on client.
func newBatcher(client goredis.UniversalClient) *batcher {
	b := &batcher{client: client}
	b.trips.Do, b.trips.Max = b.exec, maxBatch
	return b
}

// batchCall is one script call waiting for a round trip.
type batchCall struct {
	ctx    context.Context
	script *goredis.Script
	keys   []string
	args   []any
	cmd    *goredis.Cmd
}

// maxBatch bounds one round trip's scripts, so a burst does not make one enormous pipeline.
const maxBatch = 128

// run runs script with keys and args, sharing a round trip with concurrent calls.
func (b *batcher) run(ctx context.Context, script *goredis.Script, keys []string, args ...any) *goredis.Cmd {
	c := &batchCall{ctx: ctx, script: script, keys: keys, args: args}
	b.trips.Run(c)
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
