package roundtrip

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type call struct {
	in, out int
	trip    int64
}

// Calls made at once share trips, never more than Max a trip, and each gets its own result; a
// call made alone runs in a trip of its own at once.
func TestSharer(t *testing.T) {
	var trips atomic.Int64
	var mu sync.Mutex
	largest := 0
	s := &Sharer[call]{Max: 8, Do: func(calls []*call) {
		n := trips.Add(1)
		mu.Lock()
		largest = max(largest, len(calls))
		mu.Unlock()
		time.Sleep(time.Millisecond) // a round trip
		for _, c := range calls {
			c.out, c.trip = c.in*2, n
		}
	}}

	alone := &call{in: 21}
	s.Run(alone)
	if alone.out != 42 || trips.Load() != 1 {
		t.Fatalf("a call alone: out %d after %d trips, want 42 after 1", alone.out, trips.Load())
	}

	const n = 200
	calls := make([]*call, n)
	var wg sync.WaitGroup
	for i := range n {
		calls[i] = &call{in: i}
		wg.Go(func() { s.Run(calls[i]) })
	}
	wg.Wait()
	for i, c := range calls {
		if c.out != 2*i {
			t.Errorf("call %d: out %d, want %d", i, c.out, 2*i)
		}
	}
	got := trips.Load() - 1
	t.Logf("%d calls at once in %d trips, the largest of %d", n, got, largest)
	if got >= n || largest > 8 {
		t.Errorf("%d calls at once took %d trips, the largest of %d calls: want fewer trips than calls, at most 8 a trip", n, got, largest)
	}
}
