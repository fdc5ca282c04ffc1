package telegramtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// push queues an update for getUpdates or the webhook; call with s.mu held. Updates of a kind the
// bot has not asked for (allowed_updates) are not created, as with Telegram.
func (s *Server) push(id, chatID int64, kind string, raw json.RawMessage) {
	now := time.Now()
	s.arrived[id] = now
	s.metrics.Updates++
	if c := s.chats[chatID]; c != nil {
		c.pending = append(c.pending, now)
	}
	if len(s.allowedUpdates) > 0 && !slices.Contains(s.allowedUpdates, kind) {
		return
	}
	s.queue = append(s.queue, &pendingUpdate{id: id, chatID: chatID, raw: raw})
	s.notify()
}

// pushUpdate numbers and queues an update made by the user side; call with s.mu held.
func (s *Server) pushUpdate(chatID int64, u *wireUpdate) int64 {
	u.UpdateID = s.nextUpdateID
	s.nextUpdateID++
	kind := "message"
	switch {
	case u.EditedMessage != nil:
		kind = "edited_message"
	case u.CallbackQuery != nil:
		kind = "callback_query"
	}
	raw, _ := json.Marshal(u) // plain structs: cannot fail
	s.push(u.UpdateID, chatID, kind, raw)
	return u.UpdateID
}

// confirm forgets updates the bot has seen, as getUpdates' offset does; call with s.mu held.
func (s *Server) confirm(offset int64) {
	switch {
	case offset > 0:
		s.queue = slices.DeleteFunc(s.queue, func(u *pendingUpdate) bool { return u.id < offset })
	case offset < 0 && int(-offset) < len(s.queue):
		s.queue = slices.Clone(s.queue[len(s.queue)-int(-offset):])
	}
}

func parseAllowedUpdates(p *callParams) ([]string, bool) {
	raw, ok := p.values["allowed_updates"]
	if !ok {
		return nil, false
	}
	var list []string
	_ = json.Unmarshal([]byte(raw), &list) // the description's checks have made sure of its shape
	return list, true
}

func (s *Server) getUpdates(r *http.Request, p *callParams) (any, *apiError) {
	offset, _ := strconv.ParseInt(p.values["offset"], 10, 64)
	limit, _ := strconv.Atoi(p.values["limit"])
	if limit < 1 || limit > 100 {
		limit = 100
	}
	timeout, _ := strconv.Atoi(p.values["timeout"])
	timer := time.NewTimer(time.Duration(max(timeout, 0)) * time.Second)
	defer timer.Stop()
	expired := timeout <= 0

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hook != nil {
		return nil, conflict("can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
	}
	if list, ok := parseAllowedUpdates(p); ok {
		s.allowedUpdates = list
	}
	s.confirm(offset)
	s.pollGen++
	gen := s.pollGen
	s.notify() // an older poll still waiting is now terminated
	for {
		if s.hook != nil {
			return nil, conflict("can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
		}
		if gen != s.pollGen {
			return nil, conflict("terminated by other getUpdates request; make sure that only one bot instance is running")
		}
		out := make([]json.RawMessage, 0, min(limit, len(s.queue)))
		for _, u := range s.queue {
			if len(out) == limit {
				break
			}
			out = append(out, u.raw)
		}
		if len(out) > 0 || expired {
			return out, nil
		}
		expired = s.waitLocked(r, timer)
	}
}

// webhook is a set webhook and its delivery loop.
type webhook struct {
	url     string
	secret  string
	ip      string
	maxConn int
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	// inflight and busyChats, under s.mu, keep one delivery per chat so a chat's updates arrive in order.
	inflight  map[int64]bool
	busyChats map[int64]bool
}

// hookError is the last failed webhook delivery, reported by getWebhookInfo.
type hookError struct {
	date    time.Time
	message string
}

// stop ends the delivery loop and waits for deliveries in flight; nil is a no-op.
func (h *webhook) stop() {
	if h == nil {
		return
	}
	h.cancel()
	<-h.done
}

// replaceHook stops the current webhook and installs h (nil for none); call with s.hookMu held.
func (s *Server) replaceHook(h *webhook, dropPending bool) {
	s.mu.Lock()
	old := s.hook
	s.hook = nil
	s.mu.Unlock()
	old.stop()
	s.mu.Lock()
	s.hook = h
	if dropPending {
		s.queue = nil
	}
	s.lastHookError = hookError{}
	s.notify()
	s.mu.Unlock()
	if h != nil {
		go s.deliverLoop(h)
	}
}

func validSecretToken(t string) bool {
	return regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`).MatchString(t)
}

func (s *Server) setWebhook(_ *http.Request, p *callParams) (any, *apiError) {
	drop, _ := parseBool(p.values["drop_pending_updates"])
	rawURL := p.values["url"]
	if rawURL == "" { // an empty url removes the webhook
		s.hookMu.Lock()
		defer s.hookMu.Unlock()
		s.replaceHook(nil, drop)
		return true, nil
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		// Telegram wants HTTPS; plain HTTP is allowed here so tests can use httptest servers.
		return nil, badRequest("bad webhook: An HTTPS URL must be provided for webhook")
	}
	secret, hasSecret := p.values["secret_token"]
	if hasSecret && !validSecretToken(secret) {
		return nil, badRequest("secret token contains unallowed characters")
	}
	maxConn, _ := strconv.Atoi(p.values["max_connections"])
	if maxConn <= 0 {
		maxConn = 40
	}
	maxConn = min(maxConn, 100)
	ctx, cancel := context.WithCancel(context.Background())
	h := &webhook{
		url: rawURL, secret: secret, ip: p.values["ip_address"], maxConn: maxConn,
		ctx: ctx, cancel: cancel, done: make(chan struct{}),
		inflight: map[int64]bool{}, busyChats: map[int64]bool{},
	}
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	if list, ok := parseAllowedUpdates(p); ok {
		s.mu.Lock()
		s.allowedUpdates = list
		s.mu.Unlock()
	}
	s.replaceHook(h, drop)
	return true, nil
}

func (s *Server) deleteWebhook(_ *http.Request, p *callParams) (any, *apiError) {
	drop, _ := parseBool(p.values["drop_pending_updates"])
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	s.replaceHook(nil, drop)
	return true, nil
}

func (s *Server) getWebhookInfo(*http.Request, *callParams) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info := struct {
		URL                  string   `json:"url"`
		HasCustomCertificate bool     `json:"has_custom_certificate"`
		PendingUpdateCount   int      `json:"pending_update_count"`
		IPAddress            string   `json:"ip_address,omitempty"`
		LastErrorDate        int64    `json:"last_error_date,omitempty"`
		LastErrorMessage     string   `json:"last_error_message,omitempty"`
		MaxConnections       int      `json:"max_connections,omitempty"`
		AllowedUpdates       []string `json:"allowed_updates,omitempty"`
	}{PendingUpdateCount: len(s.queue), AllowedUpdates: s.allowedUpdates}
	if h := s.hook; h != nil {
		info.URL, info.IPAddress, info.MaxConnections = h.url, h.ip, h.maxConn
	}
	if !s.lastHookError.date.IsZero() {
		info.LastErrorDate, info.LastErrorMessage = s.lastHookError.date.Unix(), s.lastHookError.message
	}
	return info, nil
}

// deliverLoop posts queued updates to the webhook: up to max_connections at a time, one at a time
// per chat.
func (s *Server) deliverLoop(h *webhook) {
	var wg sync.WaitGroup
	defer close(h.done)
	defer wg.Wait()
	for {
		s.mu.Lock()
		var batch []*pendingUpdate
		seen := map[int64]bool{}
		for _, u := range s.queue {
			if len(h.inflight) >= h.maxConn {
				break
			}
			if h.inflight[u.id] || h.busyChats[u.chatID] || seen[u.chatID] {
				seen[u.chatID] = true
				continue
			}
			seen[u.chatID] = true
			h.inflight[u.id], h.busyChats[u.chatID] = true, true
			batch = append(batch, u)
		}
		changed := s.changed
		s.mu.Unlock()
		for _, u := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.deliver(h, u)
			}()
		}
		select {
		case <-h.ctx.Done():
			return
		case <-changed:
		}
	}
}

// deliver posts one update until the webhook answers 2xx, retrying with a doubling backoff, and
// drops it after Options.WebhookAttempts failures.
func (s *Server) deliver(h *webhook, u *pendingUpdate) {
	backoff := s.opts.WebhookBackoff
	for attempt := 1; ; attempt++ {
		err := s.post(h, u)
		s.mu.Lock()
		if err != nil && h.ctx.Err() == nil {
			s.metrics.WebhookFailures++
			msg := err.Error()
			s.lastHookError = hookError{date: s.opts.Now(), message: strings.ToUpper(msg[:1]) + msg[1:]}
		}
		finished := err == nil || attempt >= s.opts.WebhookAttempts || h.ctx.Err() != nil
		if finished {
			switch {
			case err == nil:
				s.metrics.WebhookDeliveries++
			case h.ctx.Err() == nil:
				s.metrics.WebhookDropped++
				s.log.Warn("telegramtest: webhook update dropped", "update_id", u.id, "err", err)
			}
			if err == nil || h.ctx.Err() == nil { // on a stopped webhook the update stays for getUpdates
				s.queue = slices.DeleteFunc(s.queue, func(q *pendingUpdate) bool { return q.id == u.id })
			}
			delete(h.inflight, u.id)
			delete(h.busyChats, u.chatID)
			s.notify()
		}
		s.mu.Unlock()
		if finished {
			return
		}
		select {
		case <-h.ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// post sends one update to the webhook. A 2xx answer may carry a Bot API call, which Telegram runs
// ("making requests when getting updates"); the emulator does too.
func (s *Server) post(h *webhook, u *pendingUpdate) error {
	req, err := http.NewRequestWithContext(h.ctx, http.MethodPost, h.url, bytes.NewReader(u.raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if h.secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", h.secret)
	}
	resp, err := s.opts.WebhookClient.Do(req)
	if err != nil {
		return fmt.Errorf("connection refused: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxRequestBytes))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("wrong response from the webhook: %s", resp.Status)
	}
	if len(bytes.TrimSpace(body)) > 0 {
		s.runWebhookReply(h.ctx, resp.Header.Get("Content-Type"), body)
	}
	return nil
}

// runWebhookReply runs a Bot API call that came back in a webhook's answer.
func (s *Server) runWebhookReply(ctx context.Context, contentType string, body []byte) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/", bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", contentType)
	p, e := parseParams(nil, req)
	if e != nil || p.values["method"] == "" {
		return
	}
	name := p.values["method"]
	delete(p.values, "method")
	switch strings.ToLower(name) {
	case "setwebhook", "deletewebhook", "getupdates":
		// These would wait for the delivery that carries them; Telegram does not run them from a reply either.
		s.log.Warn("telegramtest: call in webhook reply ignored", "method", name)
		return
	}
	if _, e := s.call(req, name, p); e != nil {
		s.log.Warn("telegramtest: call in webhook reply failed", "method", name, "err", e.description)
	}
}
