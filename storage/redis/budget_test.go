package redis_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/storage/redis"
	"github.com/thuduc/maytinhchoem/storage/redis/redistest"
)

// spend has workers take messages from b (each to its own chats) until d is over, and returns how
// many were let through.
func spend(t *testing.T, bs []*redis.Budget, workers int, d time.Duration, bulk bool) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var n atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		b := bs[w%len(bs)]
		wg.Go(func() {
			for i := 0; ; i++ {
				if err := b.Wait(ctx, fmt.Sprintf("w%d-%d", w, i), bulk); err != nil {
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return int(n.Load())
}

// Three processes sharing one account's budget send, together, what the account allows.
func TestBudget_SharedByReplicas(t *testing.T) {
	client, prefix := redistest.New(t)
	limits := redis.BudgetLimits{PerSecond: 40, Burst: 10}
	replicas := []*redis.Budget{
		redis.NewBudget(client, prefix+"budget:", limits),
		redis.NewBudget(client, prefix+"budget:", limits),
		redis.NewBudget(client, prefix+"budget:", limits),
	}
	n := spend(t, replicas, 9, 1500*time.Millisecond, false)
	// 40 a second for 1.5 s and the burst of 10: 70; a little slack for timing.
	if n < 60 || n > 75 {
		t.Errorf("three replicas sent %d in 1.5 s, want about 70 (40/s and a burst of 10), never three times that", n)
	}
}

// A pause asked by one process (a 429's retry_after) holds the others too.
func TestBudget_PauseHoldsEveryProcess(t *testing.T) {
	client, prefix := redistest.New(t)
	limits := redis.BudgetLimits{PerSecond: 100, Burst: 100}
	a, b := redis.NewBudget(client, prefix+"budget:", limits), redis.NewBudget(client, prefix+"budget:", limits)
	ctx := context.Background()
	if err := a.Pause(ctx, 400*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := a.Pause(ctx, 50*time.Millisecond); err != nil { // a shorter pause keeps the longer
		t.Fatal(err)
	}
	start := time.Now()
	if err := b.Wait(ctx, "c1", false); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 350*time.Millisecond {
		t.Errorf("another process sent %s into a 400 ms pause", el)
	}
}

// One chat gets about one message a second after a short burst.
func TestBudget_PerChat(t *testing.T) {
	client, prefix := redistest.New(t)
	b := redis.NewBudget(client, prefix+"budget:", redis.BudgetLimits{PerSecond: 100, Burst: 100, PerChatPerSecond: 4, PerChatBurst: 2})
	ctx := context.Background()
	start := time.Now()
	for range 6 {
		if err := b.Wait(ctx, "same-chat", false); err != nil {
			t.Fatal(err)
		}
	}
	// A burst of 2, then 4 more at 4 a second: about a second.
	if el := time.Since(start); el < 900*time.Millisecond || el > 2*time.Second {
		t.Errorf("6 messages to one chat at 4/s with a burst of 2 took %s, want about 1 s", el)
	}
}

// Bulk keeps to its share while people are being answered, and uses the whole budget when
// nobody is; replies are not held behind it.
func TestBudget_BulkYieldsToReplies(t *testing.T) {
	client, prefix := redistest.New(t)
	limits := redis.BudgetLimits{PerSecond: 40, Burst: 4, BulkShare: 0.5, InteractiveWindow: 300 * time.Millisecond}
	b := redis.NewBudget(client, prefix+"budget:", limits)
	alone := spend(t, []*redis.Budget{b}, 6, time.Second, true)

	b2 := redis.NewBudget(client, prefix+"budget2:", limits)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var replies atomic.Int64
	var slowest atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			start := time.Now()
			if err := b2.Wait(ctx, fmt.Sprintf("parent-%d", i), false); err != nil {
				return
			}
			replies.Add(1)
			if d := int64(time.Since(start)); d > slowest.Load() {
				slowest.Store(d)
			}
			time.Sleep(100 * time.Millisecond) // a parent's pace: ten replies a second
		}
	})
	bulk := spend(t, []*redis.Budget{b2}, 6, time.Second, true)
	wg.Wait()
	if alone < 38 || alone > 48 {
		t.Errorf("bulk alone sent %d in 1 s, want about 40 + the burst", alone)
	}
	if bulk > 30 {
		t.Errorf("bulk sent %d in 1 s while parents were answered, want about half of 40", bulk)
	}
	if replies.Load() < 8 || time.Duration(slowest.Load()) > 150*time.Millisecond {
		t.Errorf("replies: %d in 1 s, the slowest waited %s; want about 10, none held behind bulk", replies.Load(), time.Duration(slowest.Load()))
	}
}

// A reply's wait costs two round trips when nothing holds it: its chat's token with the
// account's state in one, the account's token in the other. The state read with the chat's
// token is honoured: a pause another process asked holds it.
func TestBudget_StateReadWithTheChatsToken(t *testing.T) {
	client, prefix := redistest.New(t)
	limits := redis.BudgetLimits{PerSecond: 100, Burst: 100, PerChatPerSecond: 10, PerChatBurst: 5, InteractiveWindow: time.Hour}
	a, b := redis.NewBudget(client, prefix+"budget:", limits), redis.NewBudget(client, prefix+"budget:", limits)
	ctx := context.Background()
	if err := b.Wait(ctx, "c0", false); err != nil { // marks the account interactive: a round trip of its own
		t.Fatal(err)
	}
	hook := &countHook{}
	client.AddHook(hook)
	for _, chat := range []string{"c1", "c2", "c3"} {
		if err := b.Wait(ctx, chat, false); err != nil {
			t.Fatal(err)
		}
	}
	if trips, commands := hook.take(); trips != 6 {
		t.Errorf("3 replies took %d round trips (%q), want 2 each", trips, commands)
	}

	if err := a.Pause(ctx, 400*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := b.Wait(ctx, "c4", false); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 350*time.Millisecond {
		t.Errorf("a reply went %s into another process's 400 ms pause", el)
	}
}
