package redis_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/thuduc/maytinhchoem/storage/redis"
	"github.com/thuduc/maytinhchoem/storage/redis/redistest"
)

func newChannelState(t *testing.T) (*redis.ChannelState, *goredis.Client, string) {
	t.Helper()
	client, prefix := redistest.New(t)
	prefix += "zalo:4321:"
	return redis.NewChannelState(client, prefix), client, prefix
}

func TestChannelState_Menu(t *testing.T) {
	ctx := t.Context()
	s, client, prefix := newChannelState(t)

	if got, err := s.TakeMenu(ctx, "c1", "e0"); err != nil || got != nil {
		t.Errorf("TakeMenu with no menu = %q, %v; want nil, nil", got, err)
	}
	if err := s.SetMenu(ctx, "c1", []byte("old"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMenu(ctx, "c1", []byte(`["Có","Không"]`), 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	ttl, err := client.PTTL(ctx, prefix+"menu:c1").Result()
	if err != nil || ttl <= 9*time.Minute || ttl > 10*time.Minute {
		t.Errorf("menu TTL = %v, %v; want about 10m", ttl, err)
	}
	got, err := s.TakeMenu(ctx, "c1", "e1")
	if err != nil || string(got) != `["Có","Không"]` {
		t.Errorf("TakeMenu = %q, %v; want the latest menu", got, err)
	}
	if got, err := s.TakeMenu(ctx, "c1", "e2"); err != nil || got != nil {
		t.Errorf("TakeMenu by a later event = %q, %v; want nil: a menu is taken once", got, err)
	}
	// The event that took it, delivered again, gets the same menu and leaves a newer one alone;
	// the event that took nothing still takes nothing.
	if err := s.SetMenu(ctx, "c1", []byte("newer"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, err := s.TakeMenu(ctx, "c1", "e1"); err != nil || string(got) != `["Có","Không"]` {
		t.Errorf("TakeMenu by the same event again = %q, %v; want the menu it took", got, err)
	}
	if got, err := s.TakeMenu(ctx, "c1", "e2"); err != nil || got != nil {
		t.Errorf("TakeMenu by e2 again = %q, %v; want nil as the first time", got, err)
	}
	if got, err := s.TakeMenu(ctx, "c1", "e3"); err != nil || string(got) != "newer" {
		t.Errorf("TakeMenu by a new event = %q, %v; want the newer menu", got, err)
	}
	if ttl, err := client.PTTL(ctx, prefix+"menutakers:c1").Result(); err != nil || ttl < 23*time.Hour {
		t.Errorf("takers TTL = %v, %v; want about a day", ttl, err)
	}
	if _, err := s.TakeMenu(ctx, "c1", ""); !errors.Is(err, redis.ErrInvalidKey) {
		t.Errorf("TakeMenu without an event = %v", err)
	}

	// Of many takers at once, one gets the menu.
	if err := s.SetMenu(ctx, "c2", []byte("m"), time.Hour); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	taken := 0
	for i := range 8 {
		wg.Go(func() {
			if got, err := s.TakeMenu(ctx, "c2", fmt.Sprint("e", i)); err == nil && got != nil {
				mu.Lock()
				taken++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if taken != 1 {
		t.Errorf("the menu was taken %d times, want 1", taken)
	}

	if err := s.SetMenu(ctx, "c3", []byte("m"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.ClearMenu(ctx, "c3"); err != nil {
		t.Fatal(err)
	}
	if err := s.ClearMenu(ctx, "c3"); err != nil {
		t.Errorf("ClearMenu without a menu = %v", err)
	}
	if got, _ := s.TakeMenu(ctx, "c3", "e1"); got != nil {
		t.Errorf("TakeMenu after ClearMenu = %q", got)
	}

	if err := s.SetMenu(ctx, "", []byte("m"), time.Hour); !errors.Is(err, redis.ErrInvalidKey) {
		t.Errorf("SetMenu without a chat = %v", err)
	}
	if err := s.SetMenu(ctx, "c4", []byte("m"), 0); err == nil {
		t.Error("SetMenu without a ttl succeeded")
	}
}

func TestChannelState_Touch(t *testing.T) {
	ctx := t.Context()
	s, client, prefix := newChannelState(t)
	day := time.Date(2021, 9, 15, 2, 0, 0, 0, time.UTC)

	if got, err := s.LastInteraction(ctx, "u1"); err != nil || !got.IsZero() {
		t.Errorf("LastInteraction of a stranger = %v, %v; want the zero time", got, err)
	}
	steps := []struct {
		at, want time.Time
	}{
		{day, day},
		{day.Add(-time.Hour), day}, // earlier: kept the later
		{day.Add(90 * time.Minute), day.Add(90 * time.Minute)}, // later: replaces
		{day.Add(90*time.Minute + 1500*time.Microsecond), day.Add(90*time.Minute + time.Millisecond)},
	}
	for i, st := range steps {
		if err := s.Touch(ctx, "u1", st.at); err != nil {
			t.Fatalf("Touch #%d: %v", i, err)
		}
		got, err := s.LastInteraction(ctx, "u1")
		if err != nil || !got.Equal(st.want) || got.Location() != time.UTC {
			t.Errorf("after Touch(%v) LastInteraction = %v, %v; want %v UTC", st.at, got, err, st.want)
		}
	}
	ttl, err := client.PTTL(ctx, prefix+"last:u1").Result()
	if err != nil || ttl <= redis.InteractionTTL-time.Minute || ttl > redis.InteractionTTL {
		t.Errorf("interaction TTL = %v, %v; want about %v", ttl, err, redis.InteractionTTL)
	}

	// Replicas touching at once in any order leave the latest time.
	times := make([]time.Time, 50)
	for i := range times {
		times[i] = day.Add(time.Duration(rand.IntN(1_000_000)) * time.Millisecond)
	}
	var wg sync.WaitGroup
	for _, at := range times {
		wg.Go(func() {
			if err := s.Touch(ctx, "u2", at); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	latest := slices.MaxFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	if got, err := s.LastInteraction(ctx, "u2"); err != nil || !got.Equal(latest) {
		t.Errorf("after concurrent touches LastInteraction = %v, %v; want %v", got, err, latest)
	}

	if err := s.Touch(ctx, "", day); !errors.Is(err, redis.ErrInvalidKey) {
		t.Errorf("Touch without a user = %v", err)
	}
	if err := s.Touch(ctx, "u3", time.Time{}); err == nil {
		t.Error("Touch at the zero time succeeded")
	}
}

// newInbox returns an inbox on a stream of the test's own, read by consumer.
func newInbox(client *goredis.Client, prefix, consumer string, opts redis.InboxOptions) *redis.Inbox {
	return redis.NewInbox(client, prefix+"zalo:inbox", "handlers", consumer, opts)
}

func TestInbox_PushPullAck(t *testing.T) {
	ctx := t.Context()
	client, prefix := redistest.New(t)
	in := newInbox(client, prefix, "replica-1", redis.InboxOptions{})

	if ids, data, err := in.Pull(ctx, 10, 0); err != nil || len(ids) != 0 || len(data) != 0 {
		t.Fatalf("Pull of an empty inbox = %v, %q, %v", ids, data, err)
	}
	events := []string{`{"event_name":"user_send_text","message":{"text":"1"}}`, `{"event_name":"follow"}`, ""}
	for _, e := range events {
		if err := in.Push(ctx, []byte(e)); err != nil {
			t.Fatalf("Push: %v", err)
		}
	}
	if n, err := in.Len(ctx); err != nil || n != 3 {
		t.Errorf("Len = %d, %v; want 3", n, err)
	}
	ids, data, err := in.Pull(ctx, 2, 0)
	if err != nil || len(ids) != 2 || string(data[0]) != events[0] || string(data[1]) != events[1] {
		t.Fatalf("Pull(2) = %v, %q, %v; want the first two events in order", ids, data, err)
	}
	rest, restData, err := in.Pull(ctx, 10, 0)
	if err != nil || len(rest) != 1 || len(restData[0]) != 0 {
		t.Fatalf("second Pull = %v, %q, %v; want the empty third event", rest, restData, err)
	}
	// Pulled and not acknowledged, but not idle long enough to come back.
	if again, _, err := in.Pull(ctx, 10, 0); err != nil || len(again) != 0 {
		t.Errorf("third Pull = %v, %v; want nothing", again, err)
	}

	if err := in.Ack(ctx, append(ids, rest...)...); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if err := in.Ack(ctx, ids[0]); err != nil {
		t.Errorf("Ack twice = %v", err)
	}
	if err := in.Ack(ctx); err != nil {
		t.Errorf("Ack of nothing = %v", err)
	}
	if n, err := in.Len(ctx); err != nil || n != 0 {
		t.Errorf("Len after Ack = %d, %v; want 0: acknowledged events are deleted", n, err)
	}
	pending, err := client.XPending(ctx, prefix+"zalo:inbox", "handlers").Result()
	if err != nil || pending.Count != 0 {
		t.Errorf("pending after Ack = %+v, %v; want none", pending, err)
	}
}

func TestInbox_ClaimAfterIdle(t *testing.T) {
	ctx := t.Context()
	client, prefix := redistest.New(t)
	opts := redis.InboxOptions{ClaimIdle: 200 * time.Millisecond}
	dead := newInbox(client, prefix, "replica-dead", opts)
	alive := newInbox(client, prefix, "replica-alive", opts)

	if err := dead.Push(ctx, []byte("e1")); err != nil {
		t.Fatal(err)
	}
	ids, _, err := dead.Pull(ctx, 10, 0)
	if err != nil || len(ids) != 1 {
		t.Fatalf("Pull = %v, %v", ids, err)
	}
	// The replica that pulled it dies without acknowledging.
	if got, _, err := alive.Pull(ctx, 10, 0); err != nil || len(got) != 0 {
		t.Fatalf("Pull before ClaimIdle = %v, %v; want nothing", got, err)
	}
	time.Sleep(250 * time.Millisecond)
	got, data, err := alive.Pull(ctx, 10, 0)
	if err != nil || len(got) != 1 || got[0] != ids[0] || string(data[0]) != "e1" {
		t.Fatalf("Pull after ClaimIdle = %v, %q, %v; want %s taken over", got, data, err, ids[0])
	}
	if err := alive.Ack(ctx, got...); err != nil {
		t.Fatal(err)
	}
	time.Sleep(250 * time.Millisecond)
	if again, _, err := dead.Pull(ctx, 10, 0); err != nil || len(again) != 0 {
		t.Errorf("Pull after the take-over was acknowledged = %v, %v; want nothing", again, err)
	}
}

func TestInbox_ConsumersShare(t *testing.T) {
	ctx := t.Context()
	client, prefix := redistest.New(t)
	const events = 300
	for i := range events {
		if err := newInbox(client, prefix, "webhook", redis.InboxOptions{}).Push(ctx, fmt.Appendf(nil, "e%d", i)); err != nil {
			t.Fatal(err)
		}
	}

	// Two replicas with three workers each pull until the inbox is drained.
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for r := range 2 {
		in := newInbox(client, prefix, fmt.Sprintf("replica-%d", r), redis.InboxOptions{})
		for range 3 {
			wg.Go(func() {
				for {
					ids, data, err := in.Pull(ctx, 7, 0)
					if err != nil {
						t.Error(err)
						return
					}
					if len(ids) == 0 {
						return
					}
					mu.Lock()
					for _, d := range data {
						seen[string(d)]++
					}
					mu.Unlock()
					if err := in.Ack(ctx, ids...); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	if len(seen) != events {
		t.Errorf("%d distinct events pulled, want %d", len(seen), events)
	}
	for e, n := range seen {
		if n != 1 {
			t.Errorf("event %s pulled %d times", e, n)
		}
	}
}

func TestInbox_Wait(t *testing.T) {
	ctx := t.Context()
	client, prefix := redistest.New(t)
	in := newInbox(client, prefix, "replica-1", redis.InboxOptions{})

	start := time.Now()
	if ids, _, err := in.Pull(ctx, 10, 150*time.Millisecond); err != nil || len(ids) != 0 {
		t.Fatalf("Pull of an empty inbox = %v, %v", ids, err)
	}
	if waited := time.Since(start); waited < 140*time.Millisecond {
		t.Errorf("Pull returned after %v; want it to wait 150ms", waited)
	}

	type result struct {
		data [][]byte
		err  error
		at   time.Time
	}
	done := make(chan result, 1)
	go func() {
		_, data, err := in.Pull(ctx, 10, 5*time.Second)
		done <- result{data, err, time.Now()}
	}()
	time.Sleep(100 * time.Millisecond)
	pushed := time.Now()
	if err := newInbox(client, prefix, "webhook", redis.InboxOptions{}).Push(ctx, []byte("woke")); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || len(r.data) != 1 || string(r.data[0]) != "woke" {
			t.Errorf("waiting Pull = %q, %v", r.data, r.err)
		}
		if d := r.at.Sub(pushed); d > time.Second {
			t.Errorf("waiting Pull returned %v after the push", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("waiting Pull did not return")
	}
}

func TestInbox_TrimAndRecreate(t *testing.T) {
	ctx := t.Context()
	client, prefix := redistest.New(t)
	in := newInbox(client, prefix, "replica-1", redis.InboxOptions{MaxLen: 10})

	for i := range 1000 {
		if err := in.Push(ctx, fmt.Appendf(nil, "e%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// Trimming is by whole nodes (100 entries by default), so the length is about MaxLen.
	if n, err := in.Len(ctx); err != nil || n >= 200 {
		t.Errorf("Len = %d, %v; want trimmed near 10", n, err)
	}

	// The stream and its group vanish (a flush); pulling makes them again.
	if _, _, err := in.Pull(ctx, 1, 0); err != nil {
		t.Fatal(err)
	}
	if err := client.Del(ctx, prefix+"zalo:inbox").Err(); err != nil {
		t.Fatal(err)
	}
	if ids, _, err := in.Pull(ctx, 1, 0); err != nil || len(ids) != 0 {
		t.Fatalf("Pull after the stream vanished = %v, %v", ids, err)
	}
	if err := in.Push(ctx, []byte("after")); err != nil {
		t.Fatal(err)
	}
	if _, data, err := in.Pull(ctx, 10, 0); err != nil || len(data) != 1 || string(data[0]) != "after" {
		t.Errorf("Pull after the group was made again = %q, %v", data, err)
	}
}

func TestInbox_PushBeforeGroup(t *testing.T) {
	ctx := t.Context()
	client, prefix := redistest.New(t)
	// The webhook may push before any consumer made the group: nothing is lost.
	if err := newInbox(client, prefix, "webhook", redis.InboxOptions{}).Push(ctx, []byte("early")); err != nil {
		t.Fatal(err)
	}
	_, data, err := newInbox(client, prefix, "replica-1", redis.InboxOptions{}).Pull(ctx, 10, 0)
	if err != nil || len(data) != 1 || string(data[0]) != "early" {
		t.Errorf("Pull = %q, %v; want the early event", data, err)
	}
}

// One process holds the lease; another takes it only when it is released or expires.
func TestLease_OneHolder(t *testing.T) {
	client, prefix := redistest.New(t)
	s := redis.New(client, redis.Options{Prefix: prefix})
	ctx := t.Context()
	a, err := s.NewLease("poller", 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.NewLease("poller", 300*time.Millisecond)
	if held, err := a.Hold(ctx); err != nil || !held {
		t.Fatalf("a takes a free lease: %v, %v", held, err)
	}
	if held, _ := b.Hold(ctx); held {
		t.Fatal("b took a held lease")
	}
	// a renews it past its first ttl; b still cannot take it.
	for range 3 {
		time.Sleep(150 * time.Millisecond)
		if held, _ := a.Hold(ctx); !held {
			t.Fatal("a lost the lease it renewed")
		}
		if held, _ := b.Hold(ctx); held {
			t.Fatal("b took a renewed lease")
		}
	}
	// a stops renewing (it died): b takes over once it expires.
	time.Sleep(350 * time.Millisecond)
	if held, _ := b.Hold(ctx); !held {
		t.Fatal("b did not take an expired lease")
	}
	if held, _ := a.Hold(ctx); held {
		t.Fatal("a came back and took the lease b holds")
	}
	// b releases it: a takes it at once.
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if held, _ := a.Hold(ctx); !held {
		t.Fatal("a did not take a released lease")
	}
	if err := b.Release(ctx); err != nil { // releasing what one does not hold changes nothing
		t.Fatal(err)
	}
	if held, _ := a.Hold(ctx); !held {
		t.Fatal("b's second release freed a's lease")
	}
}

// TestChannelState_ConcurrentCallsShareRoundTrips: many chats on Zalo at once record their
// interactions, store and take their menus and read their windows; each call answers as it would
// alone, in fewer round trips than calls.
func TestChannelState_ConcurrentCallsShareRoundTrips(t *testing.T) {
	ctx := t.Context()
	client, prefix := redistest.New(t)
	s := redis.NewChannelState(client, prefix+"zalo:4321:")
	hook := &countHook{}
	client.AddHook(hook)

	const chats = 64
	at := time.UnixMilli(1_700_000_000_000).UTC()
	atOnce(t, chats, func(c int) error {
		chat := fmt.Sprint("u", c)
		if err := s.Touch(ctx, chat, at.Add(time.Duration(c)*time.Millisecond)); err != nil {
			return err
		}
		if err := s.SetMenu(ctx, chat, []byte("menu of "+chat), time.Hour); err != nil {
			return err
		}
		if got, err := s.LastInteraction(ctx, chat); err != nil || !got.Equal(at.Add(time.Duration(c)*time.Millisecond)) {
			return fmt.Errorf("%s: last interaction %v, %v", chat, got, err)
		}
		if got, err := s.TakeMenu(ctx, chat, "e1"); err != nil || string(got) != "menu of "+chat {
			return fmt.Errorf("%s: took %q, %v", chat, got, err)
		}
		if got, err := s.TakeMenu(ctx, chat, "e2"); err != nil || got != nil {
			return fmt.Errorf("%s: a second event took %q, %v; want nothing left", chat, got, err)
		}
		if got, err := s.LastInteraction(ctx, chat+"-nobody"); err != nil || !got.IsZero() {
			return fmt.Errorf("%s: nobody's last interaction %v, %v", chat, got, err)
		}
		return s.ClearMenu(ctx, chat)
	})
	trips, commands := hook.take()
	calls := 0
	for _, c := range commands {
		if c == "evalsha" || c == "eval" {
			calls++
		}
	}
	t.Logf("%d calls in %d round trips", calls, trips)
	if calls < chats*7 || trips >= calls {
		t.Errorf("%d round trips for %d script calls (want %d calls at least, in fewer trips)", trips, calls, chats*7)
	}
}
