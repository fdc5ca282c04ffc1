package zalo

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sign is the X-ZEvent-Signature of body, computed here apart from the adapter's code.
func sign(appID, body, timestamp, secret string) string {
	return fmt.Sprintf("mac=%x", sha256.Sum256([]byte(appID+body+timestamp+secret)))
}

// eventAt is a user_send_text event of appID at t, in epoch milliseconds.
func eventAt(appID string, t time.Time) (body, timestamp string) {
	timestamp = fmt.Sprint(t.UnixMilli())
	body = fmt.Sprintf(`{"app_id":%q,"event_name":"user_send_text","timestamp":%q,"sender":{"id":%q},`+
		`"recipient":{"id":"579745863508352884"},"message":{"text":"xin chào","msg_id":"m-%s"}}`, appID, timestamp, testUser, timestamp)
	return body, timestamp
}

func TestAdapter_WebhookHandler(t *testing.T) {
	fixture, err := os.ReadFile(filepath.Join("testdata", "user_send_text.json"))
	if err != nil {
		t.Fatal(err)
	}
	good := string(fixture)
	goodSig := sign(testAppID, good, "1788577190000", testOASecret)
	otherApp, otherTS := eventAt("999", testNow)
	stale, staleTS := eventAt(testAppID, testNow.Add(-91*time.Minute))
	redelivered, redeliveredTS := eventAt(testAppID, testNow.Add(-61*time.Minute))
	future, futureTS := eventAt(testAppID, testNow.Add(2*time.Hour))
	seconds, err := os.ReadFile(filepath.Join("testdata", "timestamp_seconds.json"))
	if err != nil {
		t.Fatal(err)
	}
	numeric := strings.Replace(good, `"timestamp":"1788577190000"`, `"timestamp":1788577190000`, 1)

	tests := []struct {
		name       string
		method     string
		body       string
		signature  string // header value; "-" for no header
		secret     string // Config.OASecret
		pushErr    error
		wantStatus int
		wantPushed bool
	}{
		{name: "good signature", body: good, signature: goodSig, wantStatus: 200, wantPushed: true},
		{name: "without mac=", body: good, signature: strings.TrimPrefix(goodSig, "mac="), wantStatus: 200, wantPushed: true},
		{name: "upper-case hex", body: good, signature: "mac=" + strings.ToUpper(strings.TrimPrefix(goodSig, "mac=")), wantStatus: 200, wantPushed: true},
		{name: "app secret when no OA secret", body: good, secret: "-", signature: sign(testAppID, good, "1788577190000", testAppSecret), wantStatus: 200, wantPushed: true},
		{name: "timestamp in seconds", body: string(seconds), signature: sign(testAppID, string(seconds), "1788577190", testOASecret), wantStatus: 200, wantPushed: true},
		{name: "timestamp as a number", body: numeric, signature: sign(testAppID, numeric, "1788577190000", testOASecret), wantStatus: 200, wantPushed: true},
		{name: "Zalo's last redelivery, an hour later", body: redelivered, signature: sign(testAppID, redelivered, redeliveredTS, testOASecret), wantStatus: 200, wantPushed: true},
		{name: "bad signature", body: good, signature: sign(testAppID, good, "1788577190000", "guess"), wantStatus: 401},
		{name: "signature of another body", body: good + " ", signature: goodSig, wantStatus: 401},
		{name: "missing signature", body: good, signature: "-", wantStatus: 401},
		{name: "empty signature", body: good, signature: "mac=", wantStatus: 401},
		{name: "wrong app_id", body: otherApp, signature: sign("999", otherApp, otherTS, testOASecret), wantStatus: 401},
		{name: "stale timestamp", body: stale, signature: sign(testAppID, stale, staleTS, testOASecret), wantStatus: 401},
		{name: "future timestamp", body: future, signature: sign(testAppID, future, futureTS, testOASecret), wantStatus: 401},
		{name: "invalid JSON", body: `{"app_id":`, signature: goodSig, wantStatus: 400},
		{name: "GET", method: "GET", wantStatus: 405},
		{name: "too large", body: `{"x":"` + strings.Repeat("a", 1<<20) + `"}`, signature: goodSig, wantStatus: 413},
		{name: "inbox failure asks for redelivery", body: good, signature: goodSig, pushErr: errors.New("redis down"), wantStatus: 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, fx := offlineAdapter(t)
			switch tt.secret {
			case "-":
				a.oaSecret = testAppSecret // as New sets it when OASecret is ""
			case "":
			default:
				a.oaSecret = tt.secret
			}
			inbox := newFakeInbox()
			inbox.pushErr = tt.pushErr
			method := tt.method
			if method == "" {
				method = "POST"
			}
			req := httptest.NewRequest(method, "/zalo/webhook", strings.NewReader(tt.body))
			if tt.signature != "-" {
				req.Header.Set("X-ZEvent-Signature", tt.signature)
			}
			rec := httptest.NewRecorder()
			a.WebhookHandler(inbox).ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d (%s)", rec.Code, tt.wantStatus, rec.Body)
			}
			pushed := inbox.pushed()
			if (len(pushed) > 0) != tt.wantPushed {
				t.Fatalf("pushed %d events, want pushed: %v", len(pushed), tt.wantPushed)
			}
			if tt.wantPushed && string(pushed[0]) != tt.body {
				t.Errorf("pushed %q, want the raw body", pushed[0])
			}
			// The handler only stores the event: mapping it (which records the interaction and
			// takes menus) is Consume's business.
			if len(fx.inter.last) != 0 {
				t.Errorf("the handler mapped the event: interactions %v", fx.inter.last)
			}
		})
	}
}

func TestAdapter_WebhookHandler_replay(t *testing.T) {
	a, _ := offlineAdapter(t)
	inbox := newFakeInbox()
	h := a.WebhookHandler(inbox)
	body, ts := eventAt(testAppID, testNow.Add(-time.Minute))
	for i := 0; i < 2; i++ {
		req := httptest.NewRequest("POST", "/zalo/webhook", strings.NewReader(body))
		req.Header.Set("X-ZEvent-Signature", sign(testAppID, body, ts, testOASecret))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("delivery %d: status %d", i+1, rec.Code)
		}
	}
	// A replay inside the window is accepted; the bot de-duplicates on the message id.
	if n := len(inbox.pushed()); n != 2 {
		t.Errorf("inbox holds %d events, want the same one twice", n)
	}
}

func TestAdapter_WebhookHandler_answersAtOnce(t *testing.T) {
	a, _ := offlineAdapter(t)
	inbox := newFakeInbox()
	server := httptest.NewServer(a.WebhookHandler(inbox))
	defer server.Close()
	body, ts := eventAt(testAppID, testNow)
	req, _ := http.NewRequest("POST", server.URL, strings.NewReader(body))
	req.Header.Set("X-ZEvent-Signature", sign(testAppID, body, ts, testOASecret))
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || time.Since(start) > time.Second {
		t.Errorf("status %d after %v, want 200 well within Zalo's 2 s", resp.StatusCode, time.Since(start))
	}
}
