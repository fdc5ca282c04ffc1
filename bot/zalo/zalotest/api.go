package zalotest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// serveAPI runs the checks every Open API call goes through (method, access_token header, rate,
// injected failures) and then h, and answers in Zalo's envelope.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, path string, h func(*http.Request) (any, *APIError)) {
	method := http.MethodPost
	if path == "/v3.0/oa/user/detail" {
		method = http.MethodGet
	}
	if r.Method != method {
		writeAPI(w, nil, invalid(path+" takes "+method))
		return
	}
	s.mu.Lock()
	e := s.checkAccessLocked(r.Header.Get("access_token"))
	if e == nil {
		e = s.rateLocked()
	}
	if e == nil {
		if q := s.failNext[path]; len(q) > 0 {
			f := q[0]
			s.failNext[path] = q[1:]
			e = &f
		}
	}
	s.mu.Unlock()
	if e != nil {
		writeAPI(w, nil, e)
		return
	}
	data, e := h(r)
	writeAPI(w, data, e)
}

// rateLocked counts a call against the per-minute limit, or answers -32 past it; call with s.mu
// held.
func (s *Server) rateLocked() *APIError {
	s.apiCalls++
	if s.opts.RatePerMinute < 0 {
		return nil
	}
	now := s.now()
	cut := 0
	for cut < len(s.calls) && !s.calls[cut].After(now.Add(-time.Minute)) {
		cut++
	}
	s.calls = s.calls[cut:]
	if len(s.calls) >= s.opts.RatePerMinute {
		s.throttled++
		return apiErr(-32, "The app has exceeded its limit of "+strconv.Itoa(s.opts.RatePerMinute)+" requests per minute")
	}
	s.calls = append(s.calls, now)
	return nil
}

// APICalls is how many Open API calls (the token endpoint aside) the emulator has answered, and
// Throttled how many of them it refused with -32 for the rate.
func (s *Server) APICalls() (calls, throttled int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apiCalls, s.throttled
}

// FailNext makes the next call to an Open API path (such as "/v3.0/oa/message/cs") answer the
// given error after the token and rate checks, for codes the emulator has no other way to produce
// (-244, -211, -234, …). Calls queue: two FailNext fail the next two calls.
func (s *Server) FailNext(path string, code int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext[path] = append(s.failNext[path], APIError{Code: code, Message: message})
}

// readJSONBody reads a JSON request body of at most 1 MB.
func readJSONBody(r *http.Request, v any) *APIError {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil {
		return invalid("cannot read the body: " + err.Error())
	}
	if len(body) > 1<<20 {
		return apiErr(-210, "The request body exceeds 1 MB")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return invalid("the body is not the expected JSON: " + err.Error())
	}
	return nil
}

// userIDField reads a user_id given as a JSON string or a bare number.
func userIDField(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// sendMessage answers POST /v3.0/oa/message/cs.
func (s *Server) sendMessage(r *http.Request) (any, *APIError) {
	var req struct {
		Recipient struct {
			UserID json.RawMessage `json:"user_id"`
		} `json:"recipient"`
		Message json.RawMessage `json:"message"`
	}
	if e := readJSONBody(r, &req); e != nil {
		return nil, e
	}
	userID := userIDField(req.Recipient.UserID)
	if userID == "" {
		return nil, invalid("recipient.user_id is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.parseMessageLocked(req.Message)
	if e != nil {
		return nil, e
	}
	u := s.users[userID]
	if u == nil {
		return nil, invalid("recipient.user_id " + userID + " is not a user of this OA")
	}
	if m.QuoteID != "" && !u.hasMessage(m.QuoteID) {
		return nil, invalid("quote_message_id " + m.QuoteID + " is not a message of this conversation")
	}
	if e := s.reachableLocked(u); e != nil {
		return nil, e
	}
	m.UserID = userID
	s.storeOAMessageLocked(u, m)
	return map[string]string{"message_id": m.ID, "user_id": userID}, nil
}

// reachableLocked applies the rules on who the OA may write to; call with s.mu held.
func (s *Server) reachableLocked(u *user) *APIError {
	switch {
	case u.banned:
		return apiErr(-227, "User is banned or has been inactive for more than 45 days")
	case !u.follower:
		return apiErr(-213, "User has not followed the OA")
	case u.last.IsZero() || s.now().Sub(u.last) > Window:
		return apiErr(-230, "User has not interacted with the OA in the last 7 days")
	}
	return nil
}

// storeOAMessageLocked gives an OA message its id and time, adds it to the conversation and echoes
// it to the webhook; call with s.mu held.
func (s *Server) storeOAMessageLocked(u *user, m *Message) {
	m.ID = newMsgID()
	m.Time = s.now()
	e := &entry{fromOA: true, time: m.Time, id: m.ID, msg: m}
	s.addEntryLocked(u, e)
	s.messages[m.ID] = e
	if m.RequestInfo != nil {
		u.infoRequested = true
	}
	s.echoLocked(u, m)
}

// userDetail answers GET /v3.0/oa/user/detail?data={"user_id":"…"}.
//
//	→ {"user_id","user_id_by_app","display_name","user_alias","is_sensitive","avatar",
//	   "user_is_follower","user_last_interaction_date":"DD/MM/YYYY",
//	   "shared_info":{"name","phone","address"}}   (shared_info only once the person shared)
func (s *Server) userDetail(r *http.Request) (any, *APIError) {
	raw := r.URL.Query().Get("data")
	if raw == "" {
		return nil, invalid("data is required")
	}
	var q struct {
		UserID json.RawMessage `json:"user_id"`
	}
	if err := json.Unmarshal([]byte(raw), &q); err != nil {
		return nil, invalid("data is not JSON: " + err.Error())
	}
	id := userIDField(q.UserID)
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[id]
	if u == nil {
		return nil, invalid("user_id " + quote(id) + " is not a user of this OA")
	}
	type shared struct {
		Name    string `json:"name"`
		Phone   string `json:"phone"`
		Address string `json:"address"`
	}
	out := struct {
		UserID      string  `json:"user_id"`
		UserIDByApp string  `json:"user_id_by_app"`
		DisplayName string  `json:"display_name"`
		UserAlias   string  `json:"user_alias"`
		IsSensitive bool    `json:"is_sensitive"`
		Avatar      string  `json:"avatar"`
		IsFollower  bool    `json:"user_is_follower"`
		LastDate    string  `json:"user_last_interaction_date"`
		SharedInfo  *shared `json:"shared_info,omitempty"`
	}{UserID: u.id, UserIDByApp: u.byApp, DisplayName: u.name, IsFollower: u.follower}
	if !u.last.IsZero() {
		out.LastDate = u.last.In(vietnam).Format("02/01/2006")
	}
	if u.shared != nil {
		out.SharedInfo = &shared{Name: u.shared.Name, Phone: u.shared.Phone, Address: u.shared.Address}
	}
	return out, nil
}

// vietnam is Indochina Time, in which Zalo writes dates.
var vietnam = time.FixedZone("ICT", 7*3600)

// quota answers POST /v3.0/oa/quota/message {"user_id"}.
//
//	→ {"user_id","is_follower","last_interaction": epoch ms (0 never),
//	   "free_until": epoch ms (last + 48 h), "window_expires": epoch ms (last + 7 days),
//	   "in_window": bool, "quota_type": "free" | "paid" | "none"}
func (s *Server) quota(r *http.Request) (any, *APIError) {
	var q struct {
		UserID json.RawMessage `json:"user_id"`
	}
	if e := readJSONBody(r, &q); e != nil {
		return nil, e
	}
	id := userIDField(q.UserID)
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[id]
	if u == nil {
		return nil, invalid("user_id " + quote(id) + " is not a user of this OA")
	}
	out := struct {
		UserID          string `json:"user_id"`
		IsFollower      bool   `json:"is_follower"`
		LastInteraction int64  `json:"last_interaction"`
		FreeUntil       int64  `json:"free_until"`
		WindowExpires   int64  `json:"window_expires"`
		InWindow        bool   `json:"in_window"`
		QuotaType       string `json:"quota_type"`
	}{UserID: u.id, IsFollower: u.follower, QuotaType: "none"}
	if !u.last.IsZero() {
		now := s.now()
		out.LastInteraction = u.last.UnixMilli()
		out.FreeUntil = u.last.Add(48 * time.Hour).UnixMilli()
		out.WindowExpires = u.last.Add(Window).UnixMilli()
		out.InWindow = now.Sub(u.last) <= Window
		switch {
		case now.Sub(u.last) <= 48*time.Hour:
			out.QuotaType = "free"
		case out.InWindow:
			out.QuotaType = "paid"
		}
	}
	return out, nil
}

// hasMessage tells whether id is a message of the conversation, either side's.
func (u *user) hasMessage(id string) bool {
	return slices.ContainsFunc(u.entries, func(e *entry) bool { return e.id == id })
}
