package zalotest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fast is a redelivery schedule for tests.
var fast = []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}

// mac recomputes Zalo's signature independently of the emulator.
func mac(appID string, body []byte, secret string) string {
	var probe struct {
		Timestamp string `json:"timestamp"`
	}
	_ = json.Unmarshal(body, &probe)
	sum := sha256.Sum256([]byte(appID + string(body) + probe.Timestamp + secret))
	return hex.EncodeToString(sum[:])
}

func TestWebhook_Signature(t *testing.T) {
	for _, bare := range []bool{false, true} {
		h := newHook(t, nil)
		e := newEnv(t, Options{WebhookURL: h.srv.URL, OASecret: "oa-secret", SignWithoutPrefix: bare})
		u := e.emu.AddUser("Lan")
		id, _ := e.emu.SendText(u, "Xin chào")
		waitEvent(t, e.emu, id, delivered)
		r := h.got()[0]
		want := mac("1122334455667788990", r.body, "oa-secret")
		if !bare {
			want = "mac=" + want
		}
		if got := r.header.Get("X-ZEvent-Signature"); got != want {
			t.Errorf("bare=%v: signature %q, want %q", bare, got, want)
		}
		if mac("1122334455667788990", r.body, "app-secret") == strings.TrimPrefix(r.header.Get("X-ZEvent-Signature"), "mac=") {
			t.Error("signed with the app secret, not OASecret")
		}
		if r.header.Get("num_retry") != "" || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("headers = %v", r.header)
		}
	}
}

func TestWebhook_RedeliversOnError(t *testing.T) {
	h := newHook(t, func(n int) (int, time.Duration) {
		if n <= 2 {
			return 500, 0
		}
		return 200, 0
	})
	e := newEnv(t, Options{WebhookURL: h.srv.URL, RedeliverDelays: fast})
	u := e.emu.AddUser("Lan")
	id, _ := e.emu.SendText(u, "Xin chào")
	ev := waitEvent(t, e.emu, id, delivered)
	if ev.Deliveries() != 3 || ev.GaveUp || e.emu.Deliveries(id) != 3 {
		t.Fatalf("attempts = %+v", ev.Attempts)
	}
	var retries []string
	for _, r := range h.got() {
		retries = append(retries, r.header.Get("num_retry"))
		if string(r.body) != string(ev.Body) || r.header.Get("X-ZEvent-Signature") != ev.Signature {
			t.Error("a redelivery changed the body or signature")
		}
	}
	if !slices.Equal(retries, []string{"", "1", "2"}) {
		t.Errorf("num_retry headers = %q", retries)
	}
	if ev.Attempts[0].Status != 500 || ev.Attempts[0].OK || !ev.Attempts[2].OK {
		t.Errorf("attempts = %+v", ev.Attempts)
	}
}

func TestWebhook_RedeliversSlowAnswer(t *testing.T) {
	h := newHook(t, func(n int) (int, time.Duration) {
		if n == 1 {
			return 200, time.Second
		}
		return 200, 0
	})
	e := newEnv(t, Options{WebhookURL: h.srv.URL, RedeliverDelays: fast, SlowAfter: 50 * time.Millisecond})
	u := e.emu.AddUser("Lan")
	start := time.Now()
	id, _ := e.emu.SendText(u, "Xin chào")
	ev := waitEvent(t, e.emu, id, delivered)
	if ev.Deliveries() != 2 || ev.Attempts[0].OK || ev.Attempts[1].NumRetry != 1 || !strings.Contains(ev.Attempts[0].Err, "50ms") {
		t.Fatalf("attempts = %+v", ev.Attempts)
	}
	if time.Since(start) > 900*time.Millisecond {
		t.Error("the slow post was waited for instead of abandoned after SlowAfter")
	}
}

func TestWebhook_GivesUp(t *testing.T) {
	h := newHook(t, func(int) (int, time.Duration) { return 503, 0 })
	e := newEnv(t, Options{WebhookURL: h.srv.URL, RedeliverDelays: fast[:2]})
	u := e.emu.AddUser("Lan")
	id, _ := e.emu.SendText(u, "Xin chào")
	ev := waitEvent(t, e.emu, id, func(e Event) bool { return e.GaveUp })
	if ev.Deliveries() != 3 || ev.Delivered {
		t.Fatalf("attempts = %+v", ev.Attempts)
	}
	// A connection error is a failure too.
	e2 := newEnv(t, Options{WebhookURL: "http://127.0.0.1:1/hook", RedeliverDelays: []time.Duration{}})
	u2 := e2.emu.AddUser("Hoa")
	id2, _ := e2.emu.SendText(u2, "Xin chào")
	if ev := waitEvent(t, e2.emu, id2, func(e Event) bool { return e.GaveUp }); ev.Attempts[0].Err == "" || ev.Attempts[0].Status != 0 {
		t.Fatalf("attempts = %+v", ev.Attempts)
	}
}

func TestWebhook_Duplicates(t *testing.T) {
	h := newHook(t, nil)
	e := newEnv(t, Options{WebhookURL: h.srv.URL, DuplicateEvery: 2})
	u := e.emu.AddUser("Lan")
	var ids []string
	for i := range 4 {
		id, _ := e.emu.SendText(u, "tin "+strconv.Itoa(i))
		ids = append(ids, id)
	}
	for i, id := range ids {
		want := 1
		if i%2 == 1 {
			want = 2
		}
		ev := waitEvent(t, e.emu, id, func(e Event) bool { return len(e.Attempts) >= want })
		time.Sleep(20 * time.Millisecond) // no third post follows
		if n := e.emu.Deliveries(id); n != want || ev.Duplicate != (want == 2) {
			t.Errorf("event %d: %d deliveries (duplicate=%v), want %d", i, n, ev.Duplicate, want)
		}
	}
	seen := map[string]int{}
	for _, r := range h.got() {
		var b struct {
			Message struct {
				MsgID string `json:"msg_id"`
			} `json:"message"`
		}
		_ = json.Unmarshal(r.body, &b)
		seen[b.Message.MsgID]++
	}
	if seen[ids[1]] != 2 || seen[ids[3]] != 2 || seen[ids[0]] != 1 {
		t.Errorf("received = %v", seen)
	}
}

func TestWebhook_SetLaterAndClose(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.emu.AddUser("Lan")
	id, _ := e.emu.Follow(u)
	h := newHook(t, nil)
	e.emu.SetWebhook(h.srv.URL)
	waitEvent(t, e.emu, id, delivered)

	// Close abandons a post the webhook does not answer, and pending redeliveries, at once.
	hang := newHook(t, func(int) (int, time.Duration) { return 200, time.Minute })
	emu := New(Options{WebhookURL: hang.srv.URL, SlowAfter: time.Minute})
	u = emu.AddUser("Hoa")
	_, _ = emu.SendText(u, "Xin chào")
	for len(hang.got()) == 0 {
		time.Sleep(2 * time.Millisecond)
	}
	start := time.Now()
	emu.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
}

func TestWebhook_EventShapes(t *testing.T) {
	h := newHook(t, nil)
	e := newEnv(t, Options{WebhookURL: h.srv.URL, OAID: "4000000000000000001"})
	u := e.emu.AddUser("Lan")
	body := func(id string) map[string]any {
		t.Helper()
		ev := waitEvent(t, e.emu, id, delivered)
		var m map[string]any
		if err := json.Unmarshal(ev.Body, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	keys := func(m map[string]any) []string {
		var k []string
		for key := range m {
			k = append(k, key)
		}
		slices.Sort(k)
		return k
	}
	ts := strconv.FormatInt(campaignDay.UnixMilli(), 10)

	id, _ := e.emu.Follow(u)
	f := body(id)
	if !slices.Equal(keys(f), []string{"app_id", "event_name", "follower", "oa_id", "source", "timestamp", "user_id_by_app"}) ||
		f["event_name"] != "follow" || f["oa_id"] != "4000000000000000001" || f["follower"].(map[string]any)["id"] != u || f["timestamp"] != ts {
		t.Errorf("follow = %v", f)
	}
	id, _ = e.emu.SendText(u, "Tôi muốn tặng máy")
	m := body(id)
	if !slices.Equal(keys(m), []string{"app_id", "event_name", "message", "recipient", "sender", "timestamp", "user_id_by_app"}) ||
		m["event_name"] != "user_send_text" || m["recipient"].(map[string]any)["id"] != "4000000000000000001" ||
		m["sender"].(map[string]any)["id"] != u || m["timestamp"] != ts ||
		m["message"].(map[string]any)["text"] != "Tôi muốn tặng máy" || m["message"].(map[string]any)["msg_id"] != id {
		t.Errorf("user_send_text = %v", m)
	}
	if len(u) != 19 || m["user_id_by_app"] == "" {
		t.Errorf("ids: user %q, by app %v", u, m["user_id_by_app"])
	}

	if _, err := e.emu.SubmitInfo(u, "Lan", "0912345678"); err == nil {
		t.Error("SubmitInfo without a request_user_info succeeded")
	}
	e.sendRequestInfo(t, u)
	id, err := e.emu.SubmitInfoWith(u, Info{Name: "Nguyễn Thị Lan", Phone: "+84 912 345 678", City: "Hà Nội", District: "Ba Đình", Ward: "Kim Mã", Address: "1 Kim Mã"})
	if err != nil {
		t.Fatal(err)
	}
	s := body(id)
	info, _ := s["info"].(map[string]any)
	if s["event_name"] != "user_submit_info" || info["phone"] != "84912345678" || info["name"] != "Nguyễn Thị Lan" ||
		info["city"] != "Hà Nội" || info["district"] != "Ba Đình" || info["ward"] != "Kim Mã" || info["address"] != "1 Kim Mã" ||
		s["sender"].(map[string]any)["id"] != u {
		t.Errorf("user_submit_info = %v", s)
	}

	attachment := func(m map[string]any) map[string]any {
		a := m["message"].(map[string]any)["attachments"].([]any)[0].(map[string]any)
		return a
	}
	id, _ = e.emu.SendImage(u, "Máy của cháu")
	img := body(id)
	a := attachment(img)
	p := a["payload"].(map[string]any)
	if img["event_name"] != "user_send_image" || a["type"] != "image" || img["message"].(map[string]any)["text"] != "Máy của cháu" || p["thumbnail"] == "" {
		t.Errorf("user_send_image = %v", img)
	}
	resp, err := http.Get(p["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || http.DetectContentType(data) != "image/jpeg" {
		t.Errorf("image url %v = %d %s", p["url"], resp.StatusCode, http.DetectContentType(data))
	}

	id, _ = e.emu.SendLocation(u, 21.0278, 105.8342)
	coords := attachment(body(id))["payload"].(map[string]any)["coordinates"].(map[string]any)
	if coords["latitude"] != "21.0278" || coords["longitude"] != "105.8342" {
		t.Errorf("location = %v", coords)
	}
	id, _ = e.emu.SendFile(u, "Giấy xác nhận.pdf")
	fp := attachment(body(id))["payload"].(map[string]any)
	if fp["name"] != "Giấy xác nhận.pdf" || fp["type"] != "pdf" || fp["size"] == "" || len(fp["checksum"].(string)) != 32 || fp["url"] == "" {
		t.Errorf("file = %v", fp)
	}
	id, _ = e.emu.SendSticker(u)
	if a := attachment(body(id)); a["type"] != "sticker" || a["payload"].(map[string]any)["id"] == "" {
		t.Errorf("sticker = %v", a)
	}
	id, _ = e.emu.Unfollow(u)
	if uf := body(id); uf["event_name"] != "unfollow" || uf["follower"].(map[string]any)["id"] != u {
		t.Errorf("unfollow = %v", uf)
	}
}

func TestWebhook_InjectRaw(t *testing.T) {
	h := newHook(t, nil)
	e := newEnv(t, Options{WebhookURL: h.srv.URL})
	garbage := []byte(`{"event_name":"user_send_text",`)
	id := e.emu.InjectRaw(garbage, false)
	waitEvent(t, e.emu, id, delivered)
	replay := []byte(`{"app_id":"1122334455667788990","event_name":"user_send_text","message":{"msg_id":"abc","text":"x"},"timestamp":"1700000000000"}`)
	if got := e.emu.InjectRaw(replay, true); got != "abc" {
		t.Fatalf("id = %q", got)
	}
	waitEvent(t, e.emu, "abc", delivered)
	r := h.got()
	if string(r[0].body) != string(garbage) || r[0].header.Get("X-ZEvent-Signature") != "" {
		t.Errorf("unsigned garbage = %s %v", r[0].body, r[0].header)
	}
	if r[1].header.Get("X-ZEvent-Signature") != "mac="+mac("1122334455667788990", replay, "app-secret") {
		t.Errorf("signed raw = %v", r[1].header)
	}
}
