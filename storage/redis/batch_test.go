package redis_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
)

// TestStore_ConcurrentCallsShareRoundTrips has many chats handle updates at once: every Load,
// SaveStep and RepliesSent answers as it would alone (the batches only share round trips), and
// they take fewer round trips than calls.
func TestStore_ConcurrentCallsShareRoundTrips(t *testing.T) {
	ctx := t.Context()
	s, client, _ := newStore(t)
	hook := &countHook{}
	client.AddHook(hook)
	if err := s.LoadScripts(ctx); err != nil {
		t.Fatal(err)
	}
	hook.take()

	const chats, steps = 64, 5
	atOnce(t, chats, func(c int) error { return handleSteps(ctx, s, strconv.Itoa(c), steps) })
	trips, commands := hook.take()
	calls := chats * steps * 4 // Load, SaveStep, RepliesSent, and the Load that finds the update seen
	scripts := 0
	for _, c := range commands {
		if c == "evalsha" {
			scripts++
		}
	}
	if scripts != calls {
		t.Errorf("%d scripts run, want %d", scripts, calls)
	}
	t.Logf("%d calls in %d round trips", calls, trips)
	if trips >= calls {
		t.Errorf("%d round trips for %d calls, want fewer", trips, calls)
	}
	for c := range chats {
		data, v, _, err := s.Load(ctx, "tg", strconv.Itoa(c), "")
		if err != nil || v != steps || string(data) != fmt.Sprintf("step %d", steps-1) {
			t.Errorf("chat %d: %q version %d, %v; want step %d, version %d", c, data, v, err, steps-1, steps)
		}
	}

	// Redis lost its scripts (a restart): the calls of a shared round trip fall back to EVAL.
	if err := client.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	atOnce(t, chats, func(c int) error { return handleSteps(ctx, s, "after-flush-"+strconv.Itoa(c), 2) })
}

// handleSteps handles steps updates of chat as the dispatcher does, each with one reply, and
// checks every answer.
func handleSteps(ctx context.Context, s interface {
	Load(ctx context.Context, channel, chatID, updateID string) ([]byte, int64, bool, error)
	SaveStep(ctx context.Context, channel, chatID string, version int64, data []byte, updateID string, replies []byte, count int, owner string) (bool, error)
	RepliesSent(ctx context.Context, channel, chatID, updateID, owner string, n int) (bool, error)
}, chat string, steps int) error {
	for i := range steps {
		update := chat + "-" + strconv.Itoa(i)
		_, v, seen, err := s.Load(ctx, "tg", chat, update)
		if err != nil || seen || v != int64(i) {
			return fmt.Errorf("chat %s step %d: Load version %d seen %v, %v", chat, i, v, seen, err)
		}
		saved, err := s.SaveStep(ctx, "tg", chat, v, fmt.Appendf(nil, "step %d", i), update, []byte(`[{"text":"hi"}]`), 1, "owner-"+update)
		if err != nil || !saved {
			return fmt.Errorf("chat %s step %d: SaveStep saved %v, %v", chat, i, saved, err)
		}
		kept, err := s.RepliesSent(ctx, "tg", chat, update, "owner-"+update, 1)
		if err != nil || !kept {
			return fmt.Errorf("chat %s step %d: RepliesSent kept %v, %v", chat, i, kept, err)
		}
		if _, _, seen, err := s.Load(ctx, "tg", chat, update); err != nil || !seen {
			return fmt.Errorf("chat %s step %d: Load again: seen %v, %v", chat, i, seen, err)
		}
	}
	return nil
}
