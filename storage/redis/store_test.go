package redis_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/thuduc/maytinhchoem/storage/redis"
	"github.com/thuduc/maytinhchoem/storage/redis/redistest"
)

func newStore(t testing.TB) (*redis.Store, *goredis.Client, string) {
	t.Helper()
	client, prefix := redistest.New(t)
	return redis.New(client, redis.Options{Prefix: prefix}), client, prefix
}

func TestStore_Load(t *testing.T) {
	ctx := t.Context()
	s, _, _ := newStore(t)
	if ok, err := s.Save(ctx, "tg", "saved", 0, []byte("x"), "u1"); err != nil || !ok {
		t.Fatalf("Save: ok=%v err=%v", ok, err)
	}
	tests := []struct {
		name, channel, chat, update string
		wantData                    []byte
		wantVersion                 int64
		wantSeen                    bool
	}{
		{name: "missing dialog", channel: "tg", chat: "nobody"},
		{name: "missing dialog, fresh update", channel: "tg", chat: "nobody", update: "u9"},
		{name: "missing dialog, seen update", channel: "tg", chat: "nobody", update: "u1", wantSeen: true},
		{name: "existing dialog", channel: "tg", chat: "saved", wantData: []byte("x"), wantVersion: 1},
		{name: "same chat id on another channel", channel: "zalo", chat: "saved", update: "u1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, v, seen, err := s.Load(ctx, tt.channel, tt.chat, tt.update)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !bytes.Equal(data, tt.wantData) || v != tt.wantVersion || seen != tt.wantSeen {
				t.Errorf("Load = %q, %d, %v; want %q, %d, %v", data, v, seen, tt.wantData, tt.wantVersion, tt.wantSeen)
			}
			if tt.wantData == nil && data != nil {
				t.Errorf("Load data = %#v, want nil", data)
			}
		})
	}
}

func TestStore_Save(t *testing.T) {
	ctx := t.Context()
	s, client, prefix := newStore(t)

	t.Run("roundtrip with version increments", func(t *testing.T) {
		steps := [][]byte{[]byte("first"), []byte(`{"step":2}`), {0, 1, 2, 255}, nil, []byte("after empty")}
		for i, data := range steps {
			_, v, _, err := s.Load(ctx, "tg", "42", "")
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if v != int64(i) {
				t.Fatalf("step %d: version %d, want %d", i, v, i)
			}
			saved, err := s.Save(ctx, "tg", "42", v, data, "")
			if err != nil || !saved {
				t.Fatalf("step %d: Save = %v, %v; want saved", i, saved, err)
			}
			got, v2, _, err := s.Load(ctx, "tg", "42", "")
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !bytes.Equal(got, data) || v2 != v+1 {
				t.Errorf("step %d: Load = %q, %d; want %q, %d", i, got, v2, data, v+1)
			}
		}
	})

	t.Run("refreshes the TTL", func(t *testing.T) {
		short := redis.New(client, redis.Options{Prefix: prefix, DialogTTL: time.Hour})
		if ok, err := short.Save(ctx, "tg", "ttl", 0, []byte("x"), ""); err != nil || !ok {
			t.Fatalf("Save = %v, %v", ok, err)
		}
		ttl, err := client.PTTL(ctx, prefix+"dlg:tg:ttl").Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl <= 59*time.Minute || ttl > time.Hour {
			t.Errorf("PTTL = %v, want about 1h", ttl)
		}
	})

	t.Run("stale version refused and data unchanged", func(t *testing.T) {
		if ok, err := s.Save(ctx, "tg", "stale", 0, []byte("v1"), ""); err != nil || !ok {
			t.Fatalf("Save = %v, %v", ok, err)
		}
		for _, version := range []int64{0, 2, 7} {
			saved, err := s.Save(ctx, "tg", "stale", version, []byte("intruder"), "u-stale")
			if err != nil || saved {
				t.Errorf("Save with version %d = %v, %v; want refused", version, saved, err)
			}
		}
		data, v, seen, err := s.Load(ctx, "tg", "stale", "u-stale")
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != "v1" || v != 1 || seen {
			t.Errorf("Load = %q, %d, seen=%v; want v1, 1, not seen (refused saves mark nothing)", data, v, seen)
		}
	})

	t.Run("racing saves, one winner", func(t *testing.T) {
		const workers = 8
		for round := range 20 {
			chat := "race-" + strconv.Itoa(round)
			var wins atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for w := range workers {
				wg.Go(func() {
					<-start
					saved, err := s.Save(ctx, "tg", chat, 0, []byte(strconv.Itoa(w)), "")
					if err != nil {
						t.Errorf("Save: %v", err)
					}
					if saved {
						wins.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			if n := wins.Load(); n != 1 {
				t.Fatalf("round %d: %d winners, want 1", round, n)
			}
			if _, v, _, err := s.Load(ctx, "tg", chat, ""); err != nil || v != 1 {
				t.Fatalf("round %d: version %d, %v; want 1", round, v, err)
			}
		}
	})

	t.Run("seen update refused", func(t *testing.T) {
		if ok, err := s.Save(ctx, "tg", "dup", 0, []byte("a"), "u100"); err != nil || !ok {
			t.Fatalf("Save = %v, %v", ok, err)
		}
		data, v, seen, err := s.Load(ctx, "tg", "dup", "u100")
		if err != nil {
			t.Fatal(err)
		}
		if !seen || v != 1 || string(data) != "a" {
			t.Fatalf("Load = %q, %d, seen=%v; want a, 1, seen", data, v, seen)
		}
		saved, err := s.Save(ctx, "tg", "dup", 1, []byte("b"), "u100")
		if err != nil || saved {
			t.Fatalf("second Save of u100 = %v, %v; want refused", saved, err)
		}
		if data, v, _, _ := s.Load(ctx, "tg", "dup", ""); string(data) != "a" || v != 1 {
			t.Errorf("after refused Save: %q, %d; want a, 1", data, v)
		}
		if _, _, seen, _ := s.Load(ctx, "zalo", "dup", "u100"); seen {
			t.Error("u100 seen on another channel")
		}
		ttl, err := client.PTTL(ctx, prefix+"seen:tg:u100").Result()
		if err != nil || ttl <= 47*time.Hour || ttl > 48*time.Hour {
			t.Errorf("seen PTTL = %v, %v; want about 48h", ttl, err)
		}
	})

	t.Run("negative version", func(t *testing.T) {
		if _, err := s.Save(ctx, "tg", "neg", -1, nil, ""); err == nil {
			t.Error("Save with version -1: no error")
		}
	})
}

func TestStore_MarkSeen(t *testing.T) {
	ctx := t.Context()
	s, _, _ := newStore(t)
	tests := []struct {
		name, channel, update string
		want                  bool
	}{
		{"first", "tg", "7", true},
		{"second", "tg", "7", false},
		{"other update", "tg", "8", true},
		{"other channel", "zalo", "7", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, err := s.MarkSeen(ctx, tt.channel, tt.update)
			if err != nil || first != tt.want {
				t.Errorf("MarkSeen = %v, %v; want %v", first, err, tt.want)
			}
		})
	}
	t.Run("Load and Save see it", func(t *testing.T) {
		if _, _, seen, err := s.Load(ctx, "tg", "c", "7"); err != nil || !seen {
			t.Errorf("Load seen = %v, %v; want true", seen, err)
		}
		if saved, err := s.Save(ctx, "tg", "c", 0, []byte("x"), "7"); err != nil || saved {
			t.Errorf("Save = %v, %v; want refused", saved, err)
		}
	})
}

func TestStore_InvalidKeys(t *testing.T) {
	ctx := t.Context()
	s, _, _ := newStore(t)
	tests := []struct {
		name string
		call func() error
	}{
		{"Load empty channel", func() error { _, _, _, err := s.Load(ctx, "", "1", ""); return err }},
		{"Load channel with colon", func() error { _, _, _, err := s.Load(ctx, "tg:x", "1", ""); return err }},
		{"Load empty chat", func() error { _, _, _, err := s.Load(ctx, "tg", "", ""); return err }},
		{"Save empty chat", func() error { _, err := s.Save(ctx, "tg", "", 0, nil, ""); return err }},
		{"MarkSeen empty update", func() error { _, err := s.MarkSeen(ctx, "tg", ""); return err }},
		{"Offset empty bot", func() error { _, err := s.Offset(ctx, ""); return err }},
		{"SetOffset empty bot", func() error { return s.SetOffset(ctx, "", 1) }},
		{"TryLock empty name", func() error { _, _, err := s.TryLock(ctx, "", time.Second); return err }},
		{"Dialogs channel with colon", func() error {
			return s.Dialogs(ctx, "a:b", func(string, []byte) error { return nil })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, redis.ErrInvalidKey) {
				t.Errorf("err = %v, want ErrInvalidKey", err)
			}
		})
	}
}

func TestStore_SetOffset(t *testing.T) {
	ctx := t.Context()
	s, _, _ := newStore(t)
	tests := []struct {
		name string
		sets []int64
		want int64
	}{
		{"none", nil, 0},
		{"forward", []int64{3, 5}, 5},
		{"never back", []int64{5, 3}, 5},
		{"equal", []int64{5, 5}, 5},
		{"longer number wins", []int64{9, 10, 2}, 10},
		{"beyond float precision", []int64{9007199254740993, 9007199254740992}, 9007199254740993},
		{"negatives", []int64{-5, -3, -4}, -3},
		{"negative to positive", []int64{-1, 1, -2}, 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bot := "bot" + strconv.Itoa(i)
			for _, o := range tt.sets {
				if err := s.SetOffset(ctx, bot, o); err != nil {
					t.Fatalf("SetOffset(%d): %v", o, err)
				}
			}
			got, err := s.Offset(ctx, bot)
			if err != nil || got != tt.want {
				t.Errorf("Offset = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
	t.Run("concurrent 5 and 3", func(t *testing.T) {
		for round := range 50 {
			bot := "race" + strconv.Itoa(round)
			var wg sync.WaitGroup
			for _, o := range []int64{5, 3} {
				wg.Go(func() {
					if err := s.SetOffset(ctx, bot, o); err != nil {
						t.Errorf("SetOffset: %v", err)
					}
				})
			}
			wg.Wait()
			if got, err := s.Offset(ctx, bot); err != nil || got != 5 {
				t.Fatalf("round %d: Offset = %d, %v; want 5", round, got, err)
			}
		}
	})
}

func TestStore_TryLock(t *testing.T) {
	ctx := t.Context()
	s, client, prefix := newStore(t)

	t.Run("exclusive", func(t *testing.T) {
		unlock, ok, err := s.TryLock(ctx, "daily", time.Minute)
		if err != nil || !ok {
			t.Fatalf("first TryLock = %v, %v", ok, err)
		}
		if ttl, err := client.PTTL(ctx, prefix+"lock:daily").Result(); err != nil || ttl <= 59*time.Second {
			t.Errorf("lock PTTL = %v, %v; want about 1m", ttl, err)
		}
		if _, ok, err := s.TryLock(ctx, "daily", time.Minute); err != nil || ok {
			t.Fatalf("second TryLock = %v, %v; want refused", ok, err)
		}
		if _, ok, err := s.TryLock(ctx, "other", time.Minute); err != nil || !ok {
			t.Fatalf("TryLock of another name = %v, %v; want ok", ok, err)
		}
		if err := unlock(ctx); err != nil {
			t.Fatalf("unlock: %v", err)
		}
		if err := unlock(ctx); !errors.Is(err, redis.ErrLockLost) {
			t.Errorf("second unlock = %v, want ErrLockLost", err)
		}
		if _, ok, err := s.TryLock(ctx, "daily", time.Minute); err != nil || !ok {
			t.Errorf("TryLock after unlock = %v, %v; want ok", ok, err)
		}
	})

	t.Run("expires after ttl, unlock by owner only", func(t *testing.T) {
		unlockA, ok, err := s.TryLock(ctx, "short", 100*time.Millisecond)
		if err != nil || !ok {
			t.Fatalf("TryLock A = %v, %v", ok, err)
		}
		if _, ok, _ := s.TryLock(ctx, "short", time.Minute); ok {
			t.Fatal("B took a held lock")
		}
		time.Sleep(200 * time.Millisecond)
		unlockB, ok, err := s.TryLock(ctx, "short", time.Minute)
		if err != nil || !ok {
			t.Fatalf("TryLock B after expiry = %v, %v; want ok", ok, err)
		}
		if err := unlockA(ctx); !errors.Is(err, redis.ErrLockLost) {
			t.Errorf("A's late unlock = %v, want ErrLockLost", err)
		}
		if _, ok, _ := s.TryLock(ctx, "short", time.Minute); ok {
			t.Fatal("A's late unlock released B's lock")
		}
		if err := unlockB(ctx); err != nil {
			t.Errorf("B's unlock: %v", err)
		}
	})

	t.Run("ttl too short", func(t *testing.T) {
		if _, _, err := s.TryLock(ctx, "tiny", time.Microsecond); err == nil {
			t.Error("TryLock with 1µs ttl: no error")
		}
	})
}

func TestStore_Dialogs(t *testing.T) {
	ctx := t.Context()
	client, prefix := redistest.New(t)
	// Glob characters in the prefix must not widen the SCAN pattern: "[ab]:"
	// unescaped would also match the keys of the "a:" store.
	s := redis.New(client, redis.Options{Prefix: prefix + "[ab]:"})
	neighbour := redis.New(client, redis.Options{Prefix: prefix + "a:"})

	want := map[string]string{}
	for i := range 450 { // several SCAN batches
		chat := strconv.Itoa(i)
		want[chat] = "dialog " + chat
		if ok, err := s.Save(ctx, "tg", chat, 0, []byte(want[chat]), ""); err != nil || !ok {
			t.Fatalf("Save: %v, %v", ok, err)
		}
	}
	if ok, err := s.Save(ctx, "tg", "emptied", 0, nil, ""); err != nil || !ok {
		t.Fatalf("Save: %v, %v", ok, err)
	}
	want["emptied"] = ""
	for _, other := range []struct {
		s       *redis.Store
		channel string
	}{{s, "zalo"}, {s, "tgx"}, {neighbour, "tg"}} {
		if ok, err := other.s.Save(ctx, other.channel, "intruder", 0, []byte("no"), ""); err != nil || !ok {
			t.Fatalf("Save: %v, %v", ok, err)
		}
	}
	if _, err := s.MarkSeen(ctx, "tg", "1"); err != nil {
		t.Fatal(err)
	}

	t.Run("all dialogs of the channel", func(t *testing.T) {
		got := map[string]string{}
		err := s.Dialogs(ctx, "tg", func(chat string, data []byte) error {
			if _, dup := got[chat]; dup {
				t.Errorf("chat %s passed twice", chat)
			}
			if chat == "emptied" && data != nil {
				t.Errorf("emptied dialog data = %#v, want nil", data)
			}
			got[chat] = string(data)
			return nil
		})
		if err != nil {
			t.Fatalf("Dialogs: %v", err)
		}
		if len(got) != len(want) {
			t.Errorf("got %d dialogs, want %d", len(got), len(want))
		}
		for chat, data := range want {
			if g, ok := got[chat]; !ok || g != data {
				t.Errorf("chat %s: %q (present %v), want %q", chat, g, ok, data)
			}
		}
		if _, ok := got["intruder"]; ok {
			t.Error("a dialog of another channel or prefix was passed")
		}
	})

	t.Run("callback error stops", func(t *testing.T) {
		stop := errors.New("stop")
		calls := 0
		err := s.Dialogs(ctx, "tg", func(string, []byte) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Errorf("Dialogs = %v after %d calls; want stop after 1", err, calls)
		}
	})

	t.Run("empty channel", func(t *testing.T) {
		err := s.Dialogs(ctx, "none", func(string, []byte) error { t.Error("called"); return nil })
		if err != nil {
			t.Errorf("Dialogs: %v", err)
		}
	})
}

// countHook records the commands that reach Redis; each Process call or
// pipeline is one round trip.
type countHook struct {
	mu       sync.Mutex
	commands []string
	trips    int
	// noScript makes the next EVALSHA fail with NOSCRIPT without reaching
	// Redis, as after a restart, and still counts it as a round trip.
	noScript bool
}

func (h *countHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *countHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.mu.Lock()
		h.trips++
		h.commands = append(h.commands, cmd.Name())
		fail := h.noScript && cmd.Name() == "evalsha"
		if fail {
			h.noScript = false
		}
		h.mu.Unlock()
		if fail {
			cmd.SetErr(goredis.ErrNoScript)
			return goredis.ErrNoScript
		}
		return next(ctx, cmd)
	}
}

func (h *countHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.mu.Lock()
		h.trips++
		for _, c := range cmds {
			h.commands = append(h.commands, c.Name())
		}
		h.mu.Unlock()
		return next(ctx, cmds)
	}
}

func (h *countHook) take() (trips int, commands []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	trips, commands = h.trips, h.commands
	h.trips, h.commands = 0, nil
	return trips, commands
}

func TestStore_RoundTrips(t *testing.T) {
	ctx := t.Context()
	s, client, _ := newStore(t)
	hook := &countHook{}
	client.AddHook(hook)

	// Put the scripts in the cache: after a Redis restart the first call of
	// each script is EVALSHA, NOSCRIPT, then EVAL.
	if err := s.LoadScripts(ctx); err != nil {
		t.Fatal(err)
	}
	hook.take()

	tests := []struct {
		name string
		call func() error
	}{
		{"Load", func() error { _, _, _, err := s.Load(ctx, "tg", "1", "u1"); return err }},
		{"Save", func() error { _, err := s.Save(ctx, "tg", "1", 0, []byte("x"), "u1"); return err }},
		{"Load without update id", func() error { _, _, _, err := s.Load(ctx, "tg", "1", ""); return err }},
		{"refused Save", func() error { _, err := s.Save(ctx, "tg", "1", 0, []byte("y"), "u2"); return err }},
		{"SetOffset", func() error { return s.SetOffset(ctx, "bot", 9) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err != nil {
				t.Fatal(err)
			}
			trips, commands := hook.take()
			if trips != 1 || !slices.Equal(commands, []string{"evalsha"}) {
				t.Errorf("%d round trips %v, want 1 [evalsha]", trips, commands)
			}
		})
	}

	t.Run("NOSCRIPT falls back to EVAL once", func(t *testing.T) {
		hook.mu.Lock()
		hook.noScript = true
		hook.mu.Unlock()
		data, v, seen, err := s.Load(ctx, "tg", "1", "u1")
		if err != nil || string(data) != "x" || v != 1 || !seen {
			t.Fatalf("Load = %q, %d, %v, %v; want x, 1, seen", data, v, seen, err)
		}
		if trips, commands := hook.take(); trips != 2 || !slices.Equal(commands, []string{"evalsha", "eval"}) {
			t.Errorf("%d round trips %v, want 2 [evalsha eval]", trips, commands)
		}
	})
}

func TestIsUnavailable(t *testing.T) {
	ctx := t.Context()
	s, client, prefix := newStore(t)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}

	closedPort := redis.New(newClient(t, &goredis.Options{Addr: freeAddr(t), DialTimeout: time.Second}), redis.Options{})
	dialErr := closedPort.Ping(ctx)

	loading := redis.New(newClient(t, &goredis.Options{Addr: loadingServer(t), Protocol: 2, DisableIdentity: true}), redis.Options{})
	_, _, _, loadingErr := loading.Load(ctx, "tg", "1", "")

	if err := client.Set(ctx, prefix+"dlg:tg:wrongtype", "string", 0).Err(); err != nil {
		t.Fatal(err)
	}
	_, _, _, wrongTypeErr := s.Load(ctx, "tg", "wrongtype", "")

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	cancelledErr := s.Ping(cancelled)

	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"connection refused", dialErr, true},
		{"LOADING reply", loadingErr, true},
		{"WRONGTYPE reply", wrongTypeErr, false},
		{"cancelled context", cancelledErr, false},
		{"deadline", fmt.Errorf("op: %w", context.DeadlineExceeded), true},
		{"EOF", fmt.Errorf("op: %w", io.EOF), true},
		{"pool timeout", fmt.Errorf("op: %w", goredis.ErrPoolTimeout), true},
		{"nil reply", goredis.Nil, false},
		{"invalid key", redis.ErrInvalidKey, false},
		{"client closed", goredis.ErrClosed, false},
	}
	for _, err := range []error{dialErr, loadingErr, wrongTypeErr, cancelledErr} {
		t.Logf("from a real call: %v", err)
		if err == nil {
			t.Fatal("a call meant to fail succeeded")
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redis.IsUnavailable(tt.err); got != tt.want {
				t.Errorf("IsUnavailable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
