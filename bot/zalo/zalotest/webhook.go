package zalotest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// event is a webhook event and its delivery record.
type event struct {
	Event
	queue string
}

// queue holds the events of one person not yet posted for the first time; one goroutine at a time
// drains it, so a person's events first arrive in order. A failed event is redelivered apart, so it
// does not hold the later ones back.
type queue struct {
	key     string
	pending []*event
	running bool
}

// Signature computes the X-ZEvent-Signature value for a body as Zalo does: "mac=" (unless
// withoutPrefix) and the lowercase hex SHA-256 of appID + body + timestamp + secret, where timestamp
// is the string of the body's "timestamp" field.
func Signature(appID string, body []byte, secret string, withoutPrefix bool) string {
	h := sha256.New()
	h.Write([]byte(appID))
	h.Write(body)
	h.Write([]byte(bodyTimestamp(body)))
	h.Write([]byte(secret))
	sum := hex.EncodeToString(h.Sum(nil))
	if withoutPrefix {
		return sum
	}
	return "mac=" + sum
}

// bodyTimestamp returns the "timestamp" field of a JSON body as a string: the text of a string,
// the digits of a number, "" when missing or not JSON.
func bodyTimestamp(body []byte) string {
	var probe struct {
		Timestamp json.RawMessage `json:"timestamp"`
	}
	if json.Unmarshal(body, &probe) != nil || len(probe.Timestamp) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(probe.Timestamp, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(probe.Timestamp))
}

// SetWebhook changes where events are posted; "" stops posting (events wait). Events waiting for a
// webhook are posted once one is set.
func (s *Server) SetWebhook(url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hookURL = url
	for _, q := range s.queues {
		s.kickLocked(q)
	}
}

// pushLocked records an event, signs it and queues it for delivery; call with s.mu held.
func (s *Server) pushLocked(id, name, userID string, body []byte, signed bool) *event {
	s.eventCount++
	e := &event{Event: Event{ID: id, Name: name, UserID: userID, Body: body}, queue: userID}
	if signed {
		e.Signature = Signature(s.opts.AppID, body, s.opts.OASecret, s.opts.SignWithoutPrefix)
	}
	if n := s.opts.DuplicateEvery; n > 0 && s.eventCount%n == 0 {
		e.Duplicate = true
	}
	s.events = append(s.events, e)
	s.eventByID[id] = e
	q := s.queues[e.queue]
	if q == nil {
		q = &queue{key: e.queue}
		s.queues[e.queue] = q
	}
	q.pending = append(q.pending, e)
	s.kickLocked(q)
	s.notify()
	return e
}

// pushJSONLocked marshals an event body and queues it signed; call with s.mu held.
func (s *Server) pushJSONLocked(id, name, userID string, v any) *event {
	body, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("zalotest: marshal %s event: %v", name, err)) // plain structs: cannot fail
	}
	return s.pushLocked(id, name, userID, body, true)
}

// kickLocked starts draining a queue when there is something to post and somewhere to post it;
// call with s.mu held.
func (s *Server) kickLocked(q *queue) {
	if q.running || s.closed || s.hookURL == "" || len(q.pending) == 0 {
		return
	}
	q.running = true
	s.wg.Add(1)
	go s.drain(q)
}

// drain posts a queue's events for the first time, in order.
func (s *Server) drain(q *queue) {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		if s.closed || s.hookURL == "" || len(q.pending) == 0 {
			q.running = false
			s.mu.Unlock()
			return
		}
		e := q.pending[0]
		q.pending = q.pending[1:]
		url := s.hookURL
		s.mu.Unlock()
		if s.post(url, e, 0, false) {
			s.duplicate(e)
			continue
		}
		s.wg.Add(1)
		go s.redeliver(e)
	}
}

// redeliver posts a failed event again on the RedeliverDelays schedule until it succeeds.
func (s *Server) redeliver(e *event) {
	defer s.wg.Done()
	for i, d := range s.opts.RedeliverDelays {
		t := time.NewTimer(d)
		select {
		case <-s.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		s.mu.Lock()
		url := s.hookURL
		s.mu.Unlock()
		if s.post(url, e, i+1, false) {
			s.duplicate(e)
			return
		}
	}
	s.mu.Lock()
	e.GaveUp = true
	s.notify()
	s.mu.Unlock()
	s.log.Warn("zalotest: gave up delivering an event", "event", e.Name, "id", e.ID)
}

// duplicate posts an event chosen by DuplicateEvery once more.
func (s *Server) duplicate(e *event) {
	if e.Duplicate {
		s.mu.Lock()
		url := s.hookURL
		s.mu.Unlock()
		s.post(url, e, 0, true)
	}
}

// post sends an event once and records the attempt; it reports a 2xx answer within SlowAfter.
func (s *Server) post(url string, e *event, numRetry int, dup bool) bool {
	a := Attempt{NumRetry: numRetry, Duplicate: dup}
	start := time.Now()
	if url == "" {
		a.Err = "no webhook set"
	} else {
		ctx, cancel := context.WithTimeout(s.ctx, s.opts.SlowAfter)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(e.Body))
		if err != nil {
			a.Err = err.Error()
		} else {
			// Zalo's own spelling of the header names; Go would canonicalise them through Set.
			req.Header["Content-Type"] = []string{"application/json"}
			req.Header["User-Agent"] = []string{"zalotest-webhook/1.0"}
			if e.Signature != "" {
				req.Header["X-ZEvent-Signature"] = []string{e.Signature}
			}
			if numRetry > 0 {
				req.Header["num_retry"] = []string{strconv.Itoa(numRetry)}
			}
			resp, err := s.opts.WebhookClient.Do(req)
			if err != nil {
				a.Err = err.Error()
			} else {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
				resp.Body.Close()
				a.Status = resp.StatusCode
			}
		}
		a.Elapsed = time.Since(start)
		switch {
		case a.Err != "" && ctx.Err() == context.DeadlineExceeded:
			a.Err = "no answer within " + s.opts.SlowAfter.String()
		case a.Err != "":
		case a.Status < 200 || a.Status > 299:
			a.Err = "answered " + strconv.Itoa(a.Status)
		case a.Elapsed > s.opts.SlowAfter:
			a.Err = "answered after " + a.Elapsed.String() + ", more than " + s.opts.SlowAfter.String()
		default:
			a.OK = true
		}
	}
	s.mu.Lock()
	e.Attempts = append(e.Attempts, a)
	if a.OK {
		e.Delivered = true
	}
	s.notify()
	s.mu.Unlock()
	if !a.OK && s.ctx.Err() == nil {
		s.log.Info("zalotest: webhook delivery failed", "event", e.Name, "id", e.ID, "num_retry", numRetry, "err", a.Err)
	}
	return a.OK
}

// InjectRaw posts a body as an event, as is: garbage, an event shape the user side has no method
// for, or a replay of an earlier body. Signed bodies get the signature Zalo would compute (from the
// body's "timestamp"); unsigned ones go without the header. Delivery and redelivery are as for
// other events. It returns the event's id: the body's message.msg_id when it has one ("<msg_id>#2",
// "#3"… when that id is taken, as by a replay), a made-up one otherwise.
func (s *Server) InjectRaw(body []byte, signed bool) string {
	var probe struct {
		EventName string `json:"event_name"`
		Sender    struct {
			ID string `json:"id"`
		} `json:"sender"`
		Message struct {
			MsgID string `json:"msg_id"`
		} `json:"message"`
	}
	_ = json.Unmarshal(body, &probe)
	id := probe.Message.MsgID
	if id == "" {
		id = newMsgID()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.eventByID[id] != nil { // a replay: keep each injection apart
		base := id
		for n := 2; s.eventByID[id] != nil; n++ {
			id = base + "#" + strconv.Itoa(n)
		}
	}
	return s.pushLocked(id, probe.EventName, probe.Sender.ID, slices.Clone(body), signed).ID
}

// Events returns every event made so far, in order, with its deliveries.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Event, 0, len(s.events))
	for _, e := range s.events {
		out = append(out, e.snapshot())
	}
	return out
}

// EventByID returns the event with an id: a msg_id, or the id a user-side method or InjectRaw
// returned.
func (s *Server) EventByID(id string) (Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.eventByID[id]; e != nil {
		return e.snapshot(), true
	}
	return Event{}, false
}

// Deliveries counts the posts of the event with an id, duplicates and failures included.
func (s *Server) Deliveries(id string) int {
	e, _ := s.EventByID(id)
	return len(e.Attempts)
}

// WaitEvent waits until the event with an id satisfies cond (for example that it was Delivered, or
// has three Attempts), then returns it, or fails when ctx ends first.
func (s *Server) WaitEvent(ctx context.Context, id string, cond func(Event) bool) (Event, error) {
	for {
		s.mu.Lock()
		var ev Event
		e := s.eventByID[id]
		if e != nil {
			ev = e.snapshot()
		}
		changed, closed := s.changed, s.closed
		s.mu.Unlock()
		if e != nil && cond(ev) {
			return ev, nil
		}
		if closed {
			return ev, fmt.Errorf("zalotest: emulator closed while waiting for event %s", id)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ev, fmt.Errorf("zalotest: event %s (%d attempts): %w", id, len(ev.Attempts), ctx.Err())
		}
	}
}

// snapshot copies an event for callers; call with s.mu held.
func (e *event) snapshot() Event {
	out := e.Event
	out.Attempts = slices.Clone(e.Attempts)
	return out
}
