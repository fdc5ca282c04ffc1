package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/chat"
)

// updateQueue is Telegram's side of getUpdates: updates wait until a call with a higher offset
// confirms them.
type updateQueue struct {
	mu      sync.Mutex
	pending []string // raw updates, in order
	fail    func(call int) (int, string)
	calls   int
}

func (q *updateQueue) push(raw ...string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pending = append(q.pending, raw...)
}

func (q *updateQueue) answer(c apiCall) (int, string) {
	if c.Method != "getUpdates" {
		return 0, ""
	}
	q.mu.Lock()
	q.calls++
	if q.fail != nil {
		if status, body := q.fail(q.calls); status != 0 {
			q.mu.Unlock()
			return status, body
		}
	}
	offset, _ := strconv.ParseInt(c.Form.Get("offset"), 10, 64)
	var kept []string
	for _, raw := range q.pending {
		var u struct {
			UpdateID int64 `json:"update_id"`
		}
		_ = json.Unmarshal([]byte(raw), &u)
		if u.UpdateID >= offset {
			kept = append(kept, raw)
		}
	}
	q.pending = kept
	limit, _ := strconv.Atoi(c.Form.Get("limit"))
	if limit > 0 && len(kept) > limit {
		kept = kept[:limit]
	}
	q.mu.Unlock()
	if len(kept) == 0 {
		time.Sleep(10 * time.Millisecond) // a long poll that times out at once
	}
	body := `{"ok":true,"result":[`
	for i, raw := range kept {
		if i > 0 {
			body += ","
		}
		body += raw
	}
	return http.StatusOK, body + "]}"
}

func textUpdate(id int, text string) string {
	return fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":1,"from":{"id":42,"first_name":"A"},"chat":{"id":42,"type":"private"},"text":%q}}`, id, id, text)
}

// recorder is a handle func that keeps what it was given.
type recorder struct {
	mu      sync.Mutex
	batches [][]string // update ids
	fail    int        // fail this many calls first
}

func (r *recorder) handle(_ context.Context, batch []chat.Update) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]string, len(batch))
	for i, in := range batch {
		ids[i] = in.UpdateID + ":" + in.Text
	}
	r.batches = append(r.batches, ids)
	if r.fail > 0 {
		r.fail--
		return errors.New("redis down")
	}
	return nil
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, b := range r.batches {
		out = append(out, b...)
	}
	return out
}

func (r *recorder) count() int { return len(r.all()) }

// startPoll runs Poll until the returned stop is called; stop returns Poll's result.
func startPoll(t *testing.T, a *Adapter, store OffsetStore, h func(context.Context, []chat.Update) error) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Poll(ctx, store, h) }()
	var once sync.Once
	var result error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case result = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Poll did not return after its context ended")
			}
		})
		return result
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func TestAdapter_Poll(t *testing.T) {
	t.Run("delivers in order and stores the offset", func(t *testing.T) {
		q := &updateQueue{}
		q.push(textUpdate(10, "một"), textUpdate(11, "hai"), textUpdate(12, "ba"))
		f := newFakeAPI(t, q.answer)
		a := newTestAdapter(t, f)
		store := newMemOffsets()
		rec := &recorder{}
		stop := startPoll(t, a, store, rec.handle)
		waitFor(t, "three updates", func() bool { return rec.count() == 3 })
		waitFor(t, "the offset", func() bool { return store.get("telegram:maytinh_bot") == 13 })
		q.push(textUpdate(13, "bốn"))
		waitFor(t, "the fourth update", func() bool { return rec.count() == 4 })
		if err := stop(); err != nil {
			t.Fatalf("Poll = %v", err)
		}
		if got, want := rec.all(), []string{"10:một", "11:hai", "12:ba", "13:bốn"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("handled %v, want %v", got, want)
		}
		if store.get("telegram:maytinh_bot") != 14 {
			t.Errorf("offset = %d, want 14", store.get("telegram:maytinh_bot"))
		}
		calls := f.Calls("deleteWebhook", "getUpdates")
		if calls[0].Method != "deleteWebhook" || calls[0].Form.Get("drop_pending_updates") == "true" {
			t.Errorf("first call %s %v, want deleteWebhook keeping pending updates", calls[0].Method, calls[0].Form)
		}
		gu := calls[1].Form
		if gu.Get("limit") != "100" || gu.Get("timeout") != "1" ||
			!sameJSONOrText(gu.Get("allowed_updates"), `["message","edited_message","callback_query","my_chat_member"]`) {
			t.Errorf("getUpdates form = %v", gu)
		}
	})

	t.Run("a restart with the same store does not deliver confirmed updates again", func(t *testing.T) {
		q := &updateQueue{}
		q.push(textUpdate(20, "a"), textUpdate(21, "b"))
		f := newFakeAPI(t, q.answer)
		store := newMemOffsets()

		first := newTestAdapter(t, f)
		rec1 := &recorder{}
		stop := startPoll(t, first, store, rec1.handle)
		waitFor(t, "the first run", func() bool { return store.get("telegram:maytinh_bot") == 22 })
		_ = stop()
		first.Close()

		// Telegram kept them, as it does when a poller dies before its next getUpdates.
		q.push(textUpdate(20, "a"), textUpdate(21, "b"), textUpdate(22, "c"))
		second := newTestAdapter(t, f)
		rec2 := &recorder{}
		stop = startPoll(t, second, store, rec2.handle)
		waitFor(t, "the new update", func() bool { return rec2.count() >= 1 })
		_ = stop()
		if got := rec2.all(); fmt.Sprint(got) != "[22:c]" {
			t.Errorf("second run handled %v, want only [22:c]", got)
		}
		last := f.Calls("getUpdates")
		if len(last) == 0 {
			t.Fatal("no getUpdates")
		}
	})

	t.Run("a failing handle gets the same batch again before the offset moves", func(t *testing.T) {
		q := &updateQueue{}
		q.push(textUpdate(30, "x"), textUpdate(31, "y"))
		f := newFakeAPI(t, q.answer)
		a := newTestAdapter(t, f)
		store := newMemOffsets()
		rec := &recorder{fail: 2}
		stop := startPoll(t, a, store, rec.handle)
		waitFor(t, "the offset", func() bool { return store.get("telegram:maytinh_bot") == 32 })
		_ = stop()
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if len(rec.batches) != 3 {
			t.Fatalf("handle called %d times, want 3: %v", len(rec.batches), rec.batches)
		}
		for i, b := range rec.batches {
			if fmt.Sprint(b) != "[30:x 31:y]" {
				t.Errorf("batch %d = %v", i, b)
			}
		}
		store.mu.Lock()
		defer store.mu.Unlock()
		if fmt.Sprint(store.sets) != "[telegram:maytinh_bot=32]" {
			t.Errorf("offsets stored %v, want one, after the batch was handled", store.sets)
		}
	})

	t.Run("ignored and undecodable updates move the offset without reaching handle", func(t *testing.T) {
		q := &updateQueue{}
		q.push(`{"update_id":40,"channel_post":{"message_id":1,"date":1,"chat":{"id":-1,"type":"channel"},"text":"x"}}`,
			`{"update_id":41,"message":"not an object"}`,
			textUpdate(42, "ok"))
		f := newFakeAPI(t, q.answer)
		a := newTestAdapter(t, f)
		store := newMemOffsets()
		rec := &recorder{}
		stop := startPoll(t, a, store, rec.handle)
		waitFor(t, "the offset", func() bool { return store.get("telegram:maytinh_bot") == 43 })
		_ = stop()
		if got := rec.all(); fmt.Sprint(got) != "[42:ok]" {
			t.Errorf("handled %v", got)
		}
	})

	t.Run("409 and 5xx are retried", func(t *testing.T) {
		q := &updateQueue{fail: func(call int) (int, string) {
			switch call {
			case 1:
				return apiErr(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first", 0)
			case 2:
				return apiErr(502, "Bad Gateway", 0)
			case 3:
				return apiErr(429, "Too Many Requests: retry after 1", 1)
			}
			return 0, ""
		}}
		q.push(textUpdate(50, "sau"))
		f := newFakeAPI(t, q.answer)
		a := newTestAdapter(t, f)
		rec := &recorder{}
		stop := startPoll(t, a, newMemOffsets(), rec.handle)
		waitFor(t, "the update", func() bool { return rec.count() == 1 })
		if err := stop(); err != nil {
			t.Errorf("Poll = %v", err)
		}
	})

	t.Run("a sustained 409 is reported until a poll succeeds", func(t *testing.T) {
		conflicting := true
		var mu sync.Mutex
		q := &updateQueue{fail: func(int) (int, string) {
			mu.Lock()
			defer mu.Unlock()
			if conflicting {
				return apiErr(409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running", 0)
			}
			return 0, ""
		}}
		f := newFakeAPI(t, q.answer)
		a := newTestAdapter(t, f)
		if _, ok := a.ConflictingSince(); ok {
			t.Fatal("conflicting before any poll")
		}
		stop := startPoll(t, a, newMemOffsets(), (&recorder{}).handle)
		waitFor(t, "the conflict noted", func() bool { _, ok := a.ConflictingSince(); return ok })
		mu.Lock()
		conflicting = false
		mu.Unlock()
		waitFor(t, "the conflict cleared", func() bool { _, ok := a.ConflictingSince(); return !ok })
		if err := stop(); err != nil {
			t.Errorf("Poll = %v", err)
		}
	})

	t.Run("a revoked token ends Poll with an error", func(t *testing.T) {
		q := &updateQueue{fail: func(int) (int, string) { return apiErr(401, "Unauthorized", 0) }}
		f := newFakeAPI(t, q.answer)
		a := newTestAdapter(t, f)
		err := a.Poll(context.Background(), newMemOffsets(), (&recorder{}).handle)
		if err == nil {
			t.Fatal("Poll = nil")
		}
	})

	t.Run("the stored offset is where polling starts", func(t *testing.T) {
		q := &updateQueue{}
		f := newFakeAPI(t, q.answer)
		a := newTestAdapter(t, f)
		store := newMemOffsets()
		_ = store.SetOffset(context.Background(), "telegram:maytinh_bot", 777)
		stop := startPoll(t, a, store, (&recorder{}).handle)
		waitFor(t, "a poll", func() bool { return len(f.Calls("getUpdates")) > 0 })
		_ = stop()
		if got := f.Calls("getUpdates")[0].Form.Get("offset"); got != "777" {
			t.Errorf("offset sent %q, want 777", got)
		}
	})
}

func chatUpdate(id, chatID int, text string) string {
	return fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":1,"from":{"id":%d,"first_name":"A"},"chat":{"id":%d,"type":"private"},"text":%q}}`, id, id, chatID, chatID, text)
}

// At most pollLimit updates are in flight from the oldest one not handled: more wait, in
// Telegram's queue, until it is done.
func TestAdapter_Poll_boundsUpdatesInFlight(t *testing.T) {
	q := &updateQueue{}
	q.push(chatUpdate(1000, 1, "chậm"))
	for i := 1; i < 150; i++ {
		q.push(chatUpdate(1000+i, 1+i, "nhanh"))
	}
	f := newFakeAPI(t, q.answer)
	cfg := testConfig(t, f.server.URL)
	cfg.busyPoll = 20 * time.Millisecond
	a, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	h := &stuckHandler{release: make(chan struct{})}
	store := newMemOffsets()
	stop := startPoll(t, a, store, h.handle)
	waitFor(t, "the window's other updates", func() bool { return len(h.all()) == pollLimit-1 })
	time.Sleep(200 * time.Millisecond) // ten busy polls' time
	if n := len(h.all()); n != pollLimit-1 {
		t.Errorf("%d updates handled behind the stuck one, want %d", n, pollLimit-1)
	}
	if got := store.get(a.OffsetKey()); got != 1000 {
		t.Errorf("offset stored %d, want 1000, the stuck update", got)
	}
	close(h.release)
	waitFor(t, "every update", func() bool { return len(h.all()) == 150 })
	waitFor(t, "the offset", func() bool { return store.get(a.OffsetKey()) == 1150 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if calls := len(f.Calls("getUpdates")); calls > 40 {
		t.Errorf("%d getUpdates calls: a full window should wait, not ask again", calls)
	}
}
