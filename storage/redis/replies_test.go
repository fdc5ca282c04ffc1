package redis_test

import (
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/storage/redis"
	"github.com/thuduc/maytinhchoem/storage/redis/redistest"
)

// A step's replies are saved with its dialog, marked as they go, forgotten once all are sent, and
// handed to a redelivery only once their sender's lease ran out.
func TestStore_DurableReplies(t *testing.T) {
	ctx := t.Context()
	client, prefix := redistest.New(t)
	lease := 300 * time.Millisecond
	s := redis.New(client, redis.Options{Prefix: prefix, ReplyLease: lease})

	ok, err := s.SaveStep(ctx, "telegram", "42", 0, []byte("dialog"), "u1", []byte(`["a","b","c"]`), 3, "p1")
	if err != nil || !ok {
		t.Fatalf("SaveStep = %v, %v", ok, err)
	}
	if _, _, seen, err := s.Load(ctx, "telegram", "42", "u1"); err != nil || !seen {
		t.Fatalf("Load after the save: seen=%v, %v", seen, err)
	}
	if kept, err := s.RepliesSent(ctx, "telegram", "42", "u1", "p1", 1); err != nil || !kept {
		t.Fatalf("RepliesSent(1) = %v, %v", kept, err)
	}
	// The sender died. Its lease holds a while: a redelivery waits.
	if r, _, busy, err := s.TakeReplies(ctx, "telegram", "42", "u1", "p2"); err != nil || !busy || r != nil {
		t.Fatalf("TakeReplies under the lease = %q, busy %v, %v; want busy", r, busy, err)
	}
	if due, err := s.DueReplies(ctx, 10); err != nil || len(due) != 0 {
		t.Fatalf("DueReplies under the lease = %v, %v; want none", due, err)
	}
	time.Sleep(lease + 100*time.Millisecond)
	if due, err := s.DueReplies(ctx, 10); err != nil || len(due) != 1 || due[0] != [3]string{"telegram", "42", "u1"} {
		t.Fatalf("DueReplies after the lease = %v, %v; want the update", due, err)
	}
	r, sent, busy, err := s.TakeReplies(ctx, "telegram", "42", "u1", "p2")
	if err != nil || busy || string(r) != `["a","b","c"]` || sent != 1 {
		t.Fatalf("TakeReplies after the lease = %q, %d sent, busy %v, %v", r, sent, busy, err)
	}
	// The old sender, back from a stall, is told to stop; the new one finishes.
	if kept, err := s.RepliesSent(ctx, "telegram", "42", "u1", "p1", 2); err != nil || kept {
		t.Errorf("the old sender's RepliesSent = %v, %v; want it refused", kept, err)
	}
	if kept, err := s.RepliesSent(ctx, "telegram", "42", "u1", "p2", 2); err != nil || !kept {
		t.Errorf("RepliesSent(2) = %v, %v", kept, err)
	}
	if kept, err := s.RepliesSent(ctx, "telegram", "42", "u1", "p2", 3); err != nil || !kept {
		t.Errorf("RepliesSent(3) = %v, %v", kept, err)
	}
	if r, _, busy, err := s.TakeReplies(ctx, "telegram", "42", "u1", "p3"); err != nil || busy || r != nil {
		t.Errorf("TakeReplies once all were sent = %q, busy %v, %v; want nothing", r, busy, err)
	}
	if due, err := s.DueReplies(ctx, 10); err != nil || len(due) != 0 {
		t.Errorf("DueReplies once all were sent = %v, %v", due, err)
	}
	if n, err := client.Keys(ctx, prefix+"out*").Result(); err != nil || len(n) != 0 {
		t.Errorf("keys left: %v, %v", n, err)
	}

	// A step without replies, or an update without an id, records none.
	if ok, err := s.SaveStep(ctx, "telegram", "43", 0, []byte("d"), "u2", nil, 0, ""); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if r, _, busy, err := s.TakeReplies(ctx, "telegram", "43", "u2", "p4"); err != nil || busy || r != nil {
		t.Errorf("TakeReplies of a silent step = %q, %v, %v", r, busy, err)
	}
	if _, err := s.SaveStep(ctx, "telegram", "44", 0, []byte("d"), "u3", []byte("[1]"), 1, ""); err == nil {
		t.Error("replies without an owner were accepted")
	}
	// A save that loses its compare-and-set records no replies either.
	if ok, err := s.SaveStep(ctx, "telegram", "42", 0, []byte("stale"), "u5", []byte(`["x"]`), 1, "p5"); err != nil || ok {
		t.Fatalf("stale SaveStep = %v, %v", ok, err)
	}
	if r, _, _, err := s.TakeReplies(ctx, "telegram", "42", "u5", "p6"); err != nil || r != nil {
		t.Errorf("a lost save left replies %q, %v", r, err)
	}
}
