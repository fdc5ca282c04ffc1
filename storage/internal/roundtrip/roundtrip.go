// Package roundtrip lets the calls that a store's callers make at the same moment share one round
// trip to its server (storage/redis's scripts, storage/postgres's "reachable again" writes).
// Nothing waits to fill a trip: the first caller runs its own at once; callers that come while a
// trip is under way queue, and the next trip carries all of them, run by the first of them. A
// caller therefore waits at most for one trip in flight before its own, and under load one trip
// serves many calls.
package roundtrip

import "sync"

// Sharer runs calls of type T in shared trips. Set Do (and Max) before the first Run; it is safe
// for concurrent use after.
type Sharer[T any] struct {
	// Do runs one trip's calls and records each one's result in it.
	Do func(calls []*T)
	// Max bounds the calls of one trip (at least 1), so a burst does not make one enormous trip.
	Max int

	mu      sync.Mutex
	running bool // a caller is running a trip, and will hand the next one on
	queue   []*waiter[T]
}

// waiter is a call waiting for a trip; turn receives true when its caller is to run the next trip
// (its own call in it), false once its call has run.
type waiter[T any] struct {
	call *T
	turn chan bool
}

// Run runs call in a trip, its own or one shared with calls that came meanwhile, and returns once
// that trip is done: call then holds its result, as Do set it.
func (s *Sharer[T]) Run(call *T) {
	w := &waiter[T]{call: call}
	s.mu.Lock()
	if s.running {
		w.turn = make(chan bool, 1)
		s.queue = append(s.queue, w)
		s.mu.Unlock()
		if !<-w.turn {
			return
		}
		s.mu.Lock() // our turn to run a trip: the calls queued so far, ours first
	} else {
		s.running = true
		s.queue = append(s.queue, w)
	}
	n := min(len(s.queue), max(s.Max, 1))
	trip := s.queue[:n:n]
	s.queue = s.queue[n:]
	s.mu.Unlock()

	calls := make([]*T, n)
	for i, t := range trip {
		calls[i] = t.call
	}
	s.Do(calls)

	s.mu.Lock()
	if len(s.queue) > 0 {
		// Hand the next trip to the first caller waiting, so that ours returns now.
		next := s.queue[0]
		s.mu.Unlock()
		next.turn <- true
	} else {
		s.running = false
		s.mu.Unlock()
	}
	for _, t := range trip {
		if t != w {
			t.turn <- false
		}
	}
}
