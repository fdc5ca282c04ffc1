package zalo

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Limits of the webhook handler.
const (
	maxEventBytes   = 1 << 20
	signatureHeader = "X-ZEvent-Signature"
	// pushDeadline keeps the answer inside the 2 seconds Zalo waits before it counts a failure.
	pushDeadline = 1500 * time.Millisecond
)

// WebhookHandler serves Zalo's webhook POSTs. It checks the event and stores it in inbox, and does
// nothing else: Zalo wants an answer within 2 seconds and delivers at least once, so events are
// handled later by Consume, from the inbox, where a crash cannot lose them. It answers
//   - 200 once the event is in the inbox;
//   - 401 when the X-ZEvent-Signature header is missing or wrong, the event is for another app,
//     or its timestamp is further than WebhookMaxAge from now (a replay);
//   - 400 when the body is not a JSON object, 413 when it is over 1 MB, 405 for other methods;
//   - 500 when the inbox fails, so Zalo delivers the event again.
//
// The signature is "mac=" and the lower-case hex SHA-256 of app_id, the raw body, the body's
// timestamp and the OA secret, concatenated (Zalo's MacUtils); the header is also taken without
// "mac=", since sources disagree. A replay inside WebhookMaxAge is accepted: the bot de-duplicates
// on the message id.
func (a *Adapter) WebhookHandler(inbox Inbox) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEventBytes))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "event too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "cannot read event", http.StatusBadRequest)
			return
		}
		var head struct {
			AppID     flexString `json:"app_id"`
			Timestamp flexString `json:"timestamp"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			a.log.Warn("zalo: webhook body is not a JSON event", "remote", r.RemoteAddr, "err", err)
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		header := r.Header.Get(signatureHeader)
		if !validSignature(header, string(head.AppID), raw, string(head.Timestamp), a.oaSecret) {
			a.log.Warn("zalo: webhook event with a missing or wrong signature", "remote", r.RemoteAddr,
				"signature_present", header != "")
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if string(head.AppID) != a.cfg.AppID {
			a.log.Warn("zalo: webhook event for another app", "app_id", string(head.AppID))
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		at, ok := parseTimestamp(head.Timestamp)
		if age := a.now().Sub(at); !ok || age > a.cfg.WebhookMaxAge || age < -a.cfg.WebhookMaxAge {
			a.log.Warn("zalo: webhook event with a stale or missing timestamp", "timestamp", string(head.Timestamp))
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), pushDeadline)
		defer cancel()
		if err := inbox.Push(ctx, raw); err != nil {
			a.log.Warn("zalo: store a webhook event; Zalo will deliver it again", "err", err)
			http.Error(w, "not stored", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// validSignature checks header against the signature of an event, in constant time.
func validSignature(header, appID string, raw []byte, timestamp, secret string) bool {
	got := strings.ToLower(strings.TrimSpace(header))
	got = strings.TrimPrefix(got, "mac=")
	want := signature(appID, raw, timestamp, secret)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// signature is the lower-case hex SHA-256 of app_id + body + timestamp + secret.
func signature(appID string, raw []byte, timestamp, secret string) string {
	h := sha256.New()
	h.Write([]byte(appID))
	h.Write(raw)
	h.Write([]byte(timestamp))
	h.Write([]byte(secret))
	return hex.EncodeToString(h.Sum(nil))
}

// parseTimestamp reads an event's timestamp: epoch milliseconds, or seconds when below 1e12, as
// some of Zalo's examples show.
func parseTimestamp(s flexString) (time.Time, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(string(s)), 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, false
	}
	if n < 1e12 {
		return time.Unix(n, 0).UTC(), true
	}
	return time.UnixMilli(n).UTC(), true
}
