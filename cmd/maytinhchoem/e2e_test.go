package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/bot/telegram/telegramtest"
	"github.com/thuduc/maytinhchoem/bot/zalo/zalotest"
	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/cmd/maytinhchoem/internal/app"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	"github.com/thuduc/maytinhchoem/storage/postgres/postgrestest"
	"github.com/thuduc/maytinhchoem/storage/redis/redistest"
)

// harness runs the real bot through run("serve") against the emulator, a database of its own and
// a Redis prefix of its own.
type harness struct {
	t      *testing.T
	emu    *telegramtest.Server
	emuURL string
	env    map[string]string
	db     *postgres.DB
	stop   context.CancelFunc
	done   chan error
	logs   *syncBuffer
	// startCount counts the bot's starts; each publishes three command lists.
	startCount int
	// clk is the time the bot stands on; the real clock when zero.
	clk app.Clock
	// zemu is the Zalo OA emulator when the bot runs Zalo too (newZaloHarness).
	zemu *zalotest.Server
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newHarness(t *testing.T, extraEnv map[string]string) *harness {
	t.Helper()
	return newHarnessWithLimits(t, telegramtest.Limits{Disabled: true}, extraEnv)
}

// newHarnessWithLimits is newHarness with the emulator enforcing limits (flood control).
func newHarnessWithLimits(t *testing.T, limits telegramtest.Limits, extraEnv map[string]string) *harness {
	t.Helper()
	return newHarnessAt(t, limits, campaignClock(), extraEnv)
}

// campaignClock stands the bot on a day of the default campaign's registration window
// (10 September 2021, 09:00 in Saigon), moving at the real pace: outside the window families are
// told registration is not open, and children's ages are checked against its school year.
func campaignClock() app.Clock { return newTestClock(saigonTime("2021-09-10T09:00")).clock() }

// newHarnessAt is newHarnessWithLimits with the bot standing on clk.
func newHarnessAt(t *testing.T, limits telegramtest.Limits, clk app.Clock, extraEnv map[string]string) *harness {
	t.Helper()
	emu := telegramtest.New(telegramtest.Options{Token: demoToken, Limits: limits})
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { srv.Close(); emu.Close() })
	dbURL := extraEnv["DATABASE_URL"]
	if dbURL == "" {
		dbURL = postgrestest.NewDatabaseURL(t)
	}
	_, prefix := redistest.New(t)
	h := &harness{t: t, emu: emu, emuURL: srv.URL, logs: &syncBuffer{}, clk: clk, env: map[string]string{
		"TELEGRAM_TOKEN":     demoToken,
		"TELEGRAM_API_URL":   srv.URL,
		"DATABASE_URL":       dbURL,
		"REDIS_URL":          redisURL(),
		"REDIS_KEY_PREFIX":   prefix,
		"HTTP_ADDR":          "127.0.0.1:0",
		"METRICS_ADDR":       "127.0.0.1:0", // many bots run at once here: not :9090
		"SEND_RATE_GLOBAL":   "0",
		"SEND_RATE_PER_CHAT": "0", // pacing has its own tests; here it would only slow the chat down
		"LOG_LEVEL":          "debug",
	}}
	for k, v := range extraEnv {
		h.env[k] = v
	}
	t.Cleanup(func() {
		h.stopBot()
		if t.Failed() {
			t.Logf("bot log:\n%s", h.logs.String())
		}
	})
	h.startBot()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if clk.Now != nil {
		db.Now = clk.Now // what the test writes is dated on the bot's day
	}
	h.db = db
	return h
}

func redisURL() string {
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	return redistest.DefaultURL
}

func (h *harness) startBot() {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	h.done = make(chan error, 1)
	go func() {
		h.done <- app.ServeWith(ctx, nil, func(k string) string { return h.env[k] }, io.Discard, h.logs, h.clk)
	}()
	// Ready when the bot has published its commands (it does that before polling or webhooks).
	deadline := time.Now().Add(20 * time.Second)
	for h.emu.Calls("setMyCommands") < 3*(h.startCount+1) {
		select {
		case err := <-h.done:
			h.t.Fatalf("bot stopped at start: %v\n%s", err, h.logs.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("bot did not start\n%s", h.logs.String())
		}
	}
	h.startCount++
}

func (h *harness) stopBot() {
	if h.stop == nil {
		return
	}
	h.stop()
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("bot returned %v", err)
		}
	case <-time.After(20 * time.Second):
		h.t.Error("bot did not stop")
	}
	h.stop = nil
}

// parent is a person chatting with the bot through the emulator.
type parent struct {
	h    *harness
	user telegramtest.User
	chat int64
	seen int // bot messages already looked at
}

func (h *harness) parent(id int64, lang string) *parent {
	u := telegramtest.User{ID: id, FirstName: "Lan", LanguageCode: lang}
	return &parent{h: h, user: u, chat: h.emu.AddChat(u)}
}

// waitNew waits for n new bot messages and returns them.
func (p *parent) waitNew(n int) []telegramtest.Message {
	p.h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	msgs, err := p.h.emu.WaitForMessages(ctx, p.chat, p.seen+n)
	if err != nil {
		p.h.t.Fatalf("waiting for %d bot messages after %d: %v; have %q\n%s", n, p.seen, err, texts(p.h.emu.Messages(p.chat)), p.h.logs.String())
	}
	out := msgs[p.seen:]
	p.seen = len(msgs)
	return out
}

// say types text and returns the bot's reply (the last of n messages).
func (p *parent) say(text string, n int) telegramtest.Message {
	p.h.t.Helper()
	p.h.emu.SendText(p.chat, p.user, text)
	got := p.waitNew(n)
	return got[len(got)-1]
}

// press presses the button with data on the newest message that has it, and waits for the
// reply: n new messages, or an edit of the pressed message when n is 0.
func (p *parent) press(data string, n int) telegramtest.Message {
	p.h.t.Helper()
	msgs := p.h.emu.Messages(p.chat)
	id, ok := findButton(msgs, data)
	if !ok {
		p.h.t.Fatalf("no button %q; last message %q", data, lastText(msgs))
	}
	before := editedText(msgs, id)
	if _, err := p.h.emu.PressButton(p.chat, p.user, id, data); err != nil {
		p.h.t.Fatal(err)
	}
	if n > 0 {
		got := p.waitNew(n)
		return got[len(got)-1]
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		msgs := p.h.emu.Messages(p.chat)
		for _, m := range msgs {
			if m.MessageID == id && buttonsOf(m) != before {
				return m
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.h.t.Fatalf("pressing %q changed nothing", data)
	return telegramtest.Message{}
}

func editedText(msgs []telegramtest.Message, id int) string {
	for _, m := range msgs {
		if m.MessageID == id {
			return buttonsOf(m)
		}
	}
	return ""
}

func buttonsOf(m telegramtest.Message) string {
	return fmt.Sprint(m.Text, m.InlineKeyboard)
}

func texts(msgs []telegramtest.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Text)
	}
	return out
}

// registerUntilReview walks the form from /start to the review.
func (p *parent) registerUntilReview(childName string) telegramtest.Message {
	p.h.t.Helper()
	toStudentName(p)
	return p.answerChild(child{name: childName})
}

// child is what a parent answers about a child, from the name to the needs; empty fields take
// the values of a primary-school pupil of Linh Trung.
type child struct {
	name, birth, level, grade, school, ward, address, circumstance, situation, need string
}

// answerChild answers from the child's name to the needs and returns the review.
func (p *parent) answerChild(c child) telegramtest.Message {
	p.h.t.Helper()
	or := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	p.say(c.name, 1)
	p.say(or(c.birth, "05/09/2012"), 1)
	var asked telegramtest.Message // the grade says the level: one question
	if g := or(c.grade, "3"); c.level == "" || c.level == "primary" {
		asked = p.press("r:grade:"+g, 1)
	} else {
		asked = p.say(g, 1) // typed, as the grade may also be
	}
	if strings.Contains(buttonsOf(asked), "r:grade_check:yes") {
		p.press("r:grade_check:yes", 1) // a grade unusual for the birth year is confirmed once
	}
	p.say(or(c.school, "Trường Tiểu học Linh Trung"), 1)
	p.say(or(c.ward, "linh trung"), 1)
	p.say(or(c.address, "12 đường số 5, khu phố 3"), 1)
	p.press("r:circumstances:"+or(c.circumstance, "poor"), 0)
	p.press("r:circumstances:!done", 1)
	p.press("r:device_situation:"+or(c.situation, "none"), 1)
	p.press("r:needs:"+or(c.need, "tablet"), 0)
	return p.press("r:needs:!done", 1)
}

func (h *harness) count() int {
	h.t.Helper()
	n, err := postgres.NewRegistrationStore(h.db, campaign.Default()).Count(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

func TestServe_RegistrationByPolling(t *testing.T) {
	h := newHarness(t, nil)
	p := h.parent(1001, "vi")
	review := p.registerUntilReview("Trần Minh Khang")
	for _, want := range []string{"Nguyễn Thị Lan", "0912 345 678", "Trần Minh Khang", "05/09/2012", "Phường Linh Trung", "Hộ nghèo", "Máy tính bảng"} {
		if !strings.Contains(review.Text, want) {
			t.Errorf("review lacks %q:\n%s", want, review.Text)
		}
	}
	done := p.press("r:review:submit", 1)
	if !strings.Contains(done.Text, "TD-000001") {
		t.Fatalf("submit reply = %q, want the code TD-000001", done.Text)
	}
	status := p.say("/status", 1)
	if !strings.Contains(status.Text, "TD-000001") || !strings.Contains(status.Text, "Trần Minh Khang") {
		t.Errorf("/status = %q", status.Text)
	}
	reg, err := postgres.NewRegistrationStore(h.db, campaign.Default()).ByCode(context.Background(), "TD-000001")
	if err != nil {
		t.Fatal(err)
	}
	if reg.ParentPhone != "+84912345678" || reg.WardCode != "26800" || reg.Grade != 3 || reg.ChatID != "1001" {
		t.Errorf("stored registration = %+v", reg)
	}
	if n := h.count(); n != 1 {
		t.Errorf("registrations = %d, want 1", n)
	}
	// The command menu is published in both languages, and nothing the bot sent was refused.
	if len(h.emu.Commands("vi")) == 0 || len(h.emu.Commands("en")) == 0 {
		t.Error("commands not set in both languages")
	}
	if rej := h.emu.RejectedCalls(); len(rej) > 0 {
		t.Errorf("the emulator refused calls: %+v", rej)
	}
}

func TestServe_RestartInTheMiddleOfAForm(t *testing.T) {
	h := newHarness(t, nil)
	p := h.parent(1002, "vi")
	p.say("/start dangky", 1)
	p.press("r:consent:yes", 1)
	p.say("Nguyễn Thị Lan", 1)
	h.stopBot()
	// Typed while the bot was down: delivered after the restart, not lost.
	h.emu.SendContact(p.chat, p.user, "0912345678", p.user.ID)
	h.startBot()
	p.waitNew(1)
	review := p.answerChild(child{name: "Lê Văn An", birth: "1/1/2010", grade: "5", school: "Trường Tiểu học Bình Chiểu",
		ward: "binh chieu", address: "34 đường Tô Ngọc Vân", circumstance: "near_poor", situation: "broken", need: "laptop"})
	if !strings.Contains(review.Text, "Nguyễn Thị Lan") || !strings.Contains(review.Text, "0912 345 678") {
		t.Fatalf("answers from before the restart are missing:\n%s", review.Text)
	}
	p.press("r:review:submit", 1)
	if n := h.count(); n != 1 {
		t.Errorf("registrations = %d, want 1", n)
	}
}

func TestServe_TwoAnswersAtOnce(t *testing.T) {
	h := newHarness(t, nil)
	p := h.parent(1003, "vi")
	p.say("/start dangky", 1)
	p.press("r:consent:yes", 1)
	// Two messages arrive together: the parent's name, then (without waiting) the phone.
	h.emu.SendText(p.chat, p.user, "Phạm Thị Hoa")
	h.emu.SendText(p.chat, p.user, "0987654321")
	got := p.waitNew(2) // phone prompt; phone confirmation with the child's name prompt
	if !strings.Contains(got[1].Text, "0987 654 321") {
		t.Fatalf("replies = %q, want both answers taken in order", texts(got))
	}
	p.answerChild(child{name: "Phạm Văn Bình", birth: "02/03/2008", level: "lower_secondary", grade: "8", school: "THCS Trường Thọ",
		ward: "truong tho", address: "5 Đặng Văn Bi", circumstance: "covid_hardship", situation: "shares_phone", need: "laptop"})
	// Submit pressed twice in a row (a double tap): one registration.
	msgs := h.emu.Messages(p.chat)
	id, _ := findButton(msgs, "r:review:submit")
	for range 2 {
		if _, err := h.emu.PressButton(p.chat, p.user, id, "r:review:submit"); err != nil {
			t.Fatal(err)
		}
	}
	got = p.waitNew(2)
	if !strings.Contains(got[0].Text, "TD-000001") {
		t.Errorf("first reply = %q", got[0].Text)
	}
	time.Sleep(200 * time.Millisecond)
	if n := h.count(); n != 1 {
		t.Errorf("registrations = %d after a double submit, want 1", n)
	}
}

func TestServe_Webhook(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	const secret = "s3cret_Token-1"
	hookURL := "http://" + addr + "/telegram/webhook"
	h := newHarness(t, map[string]string{
		"TELEGRAM_MODE":  "webhook",
		"WEBHOOK_URL":    hookURL,
		"WEBHOOK_SECRET": secret,
		"HTTP_ADDR":      addr,
	})
	p := h.parent(1004, "en")
	p.registerUntilReview("Vo Thi Mai")
	done := p.press("r:review:submit", 1)
	if !strings.Contains(done.Text, "TD-000001") {
		t.Fatalf("submit reply = %q", done.Text)
	}

	post := func(secretHeader *string, body string) int {
		req, _ := http.NewRequest(http.MethodPost, hookURL, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if secretHeader != nil {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", *secretHeader)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	update := fmt.Sprintf(`{"update_id":900001,"message":{"message_id":9001,"date":1631260800,"chat":{"id":%d,"type":"private"},"from":{"id":%d,"is_bot":false,"first_name":"Lan"},"text":"/status","entities":[{"type":"bot_command","offset":0,"length":7}]}}`, p.chat, p.user.ID)
	wrong := "nope"
	empty := ""
	for name, hdr := range map[string]*string{"missing": nil, "wrong": &wrong, "empty": &empty} {
		if code := post(hdr, update); code != http.StatusUnauthorized {
			t.Errorf("%s secret: status %d, want 401", name, code)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(h.emu.Messages(p.chat)); n != p.seen {
		t.Fatalf("a refused webhook call made the bot answer")
	}
	// The same update delivered twice gets one answer.
	good := secret
	for range 2 {
		if code := post(&good, update); code != http.StatusOK {
			t.Fatalf("status %d, want 200", code)
		}
	}
	got := p.waitNew(1)
	if !strings.Contains(got[0].Text, "TD-000001") {
		t.Errorf("/status = %q", got[0].Text)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(h.emu.Messages(p.chat)); n != p.seen {
		t.Errorf("a repeated update was answered twice")
	}
	if resp, err := http.Get("http://" + addr + "/readyz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("/readyz: %v %v", resp, err)
	}
	// /metrics is not on the webhooks' listener: TestServe_MetricsOnTheirOwnAddress.
}

func TestServe_BlockedUserIsMarkedStopped(t *testing.T) {
	h := newHarness(t, nil)
	p := h.parent(1005, "vi")
	p.say("/start", 1)
	h.emu.Block(p.chat)
	// An update that reaches the bot without unblocking it (writing would unblock, as on Telegram):
	// the bot's reply gets 403 "blocked by the user".
	update := fmt.Sprintf(`{"message":{"message_id":77,"date":1631260800,"chat":{"id":%d,"type":"private"},"from":{"id":%d,"is_bot":false,"first_name":"Lan"},"text":"/help","entities":[{"type":"bot_command","offset":0,"length":5}]}}`, p.chat, p.user.ID)
	if _, err := h.emu.InjectRaw([]byte(update)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := postgres.NewContactStore(h.db).Contact(context.Background(), "telegram", "1005")
		if err == nil && c.Stopped {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("a 403 from the Bot API did not mark the contact stopped")
}

func TestServe_BadInputsStoreNothing(t *testing.T) {
	h := newHarness(t, nil)
	tests := []struct {
		name, input, want string
		// setup walks the form to the question the input answers.
		setup func(p *parent)
	}{
		{"a phone that is no mobile", "0123456789", "không phải số di động", toPhone},
		{"empty after trimming", "   ", "Số điện thoại", toPhone},
		{"10,000 characters", strings.Repeat("9", 10000), "Số điện thoại", toPhone},
		{"emoji as a name", "😀😀😀", "biểu tượng", toStudentName},
		{"SQL-looking name", "Robert'); DROP TABLE students;--", "Họ và tên, ngày sinh của con", toStudentName},
		{"a birth date in the future", "01/01/2099", "tương lai", toBirthDate},
		{"grade 13", "13", "từ 1 đến 12", toGrade},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := h.parent(int64(2000+i), "vi")
			tt.setup(p)
			reply := p.say(tt.input, 1)
			if !strings.Contains(reply.Text, tt.want) {
				t.Errorf("reply %q lacks %q", reply.Text, tt.want)
			}
		})
	}
	if n := h.count(); n != 0 {
		t.Errorf("registrations = %d, want 0", n)
	}
	// A name typed in decomposed (NFD) form is taken, and stored composed (NFC).
	p := h.parent(2100, "vi")
	toStudentName(p)
	if reply := p.say("Nguye\u0302\u0303n Va\u0306n An", 1); !strings.Contains(reply.Text, "Ngày sinh") {
		t.Errorf("an NFD name was not accepted: %q", reply.Text)
	}
}

func toPhone(p *parent) {
	p.say("/start dangky", 1)
	p.press("r:consent:yes", 1)
	p.say("Nguyễn Thị Lan", 1)
}

func toStudentName(p *parent) {
	toPhone(p)
	p.h.emu.SendContact(p.chat, p.user, "+84912345678", p.user.ID)
	p.waitNew(1) // the number said with the next question
}

func toBirthDate(p *parent) {
	toStudentName(p)
	p.say("Trần Minh Khang", 1)
}

func toGrade(p *parent) {
	toBirthDate(p)
	p.say("05/09/2012", 1)
}

func TestServe_ConfigurationErrorsNameTheSetting(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"nothing set", map[string]string{}, []string{"TELEGRAM_TOKEN or the ZALO_* settings are required", "DATABASE_URL is required", "REDIS_URL is required"}},
		{"zalo half set", map[string]string{"ZALO_APP_ID": "1234567890", "DATABASE_URL": "postgres://x/y", "REDIS_URL": "redis://x"}, []string{"ZALO_APP_SECRET is required", "ZALO_REFRESH_TOKEN is required"}},
		{"zalo malformed", map[string]string{"ZALO_APP_ID": "app-1", "ZALO_APP_SECRET": "s", "ZALO_REFRESH_TOKEN": "r", "ZALO_API_URL": "openapi", "ZALO_WEBHOOK_PATH": "zalo", "ZALO_SEND_RATE": "0", "DATABASE_URL": "postgres://x/y", "REDIS_URL": "redis://x"},
			[]string{"ZALO_APP_ID", "ZALO_API_URL", "ZALO_WEBHOOK_PATH", "ZALO_SEND_RATE"}},
		{"bad admins", map[string]string{"ADMINS": "telegram:12,viber:3,zalo:abc,42"}, []string{`ADMINS: must be channel:id pairs (telegram:123, zalo:4567) separated by commas, got "viber:3"`, `got "zalo:abc"`, `got "42"`}},
		{"bad public url", map[string]string{"PUBLIC_URL": "bot.example.org"}, []string{"PUBLIC_URL"}},
		{"bad mode", map[string]string{"TELEGRAM_MODE": "carrier-pigeon"}, []string{"TELEGRAM_MODE"}},
		{"webhook without url", map[string]string{"TELEGRAM_TOKEN": "1:a", "DATABASE_URL": "postgres://x/y", "REDIS_URL": "redis://x", "TELEGRAM_MODE": "webhook"}, []string{"WEBHOOK_URL is required", "WEBHOOK_SECRET is required"}},
		{"bad secret", map[string]string{"TELEGRAM_TOKEN": "1:a", "DATABASE_URL": "postgres://x/y", "REDIS_URL": "redis://x", "TELEGRAM_MODE": "webhook", "WEBHOOK_URL": "https://example.org/h", "WEBHOOK_SECRET": "has spaces"}, []string{"WEBHOOK_SECRET"}},
		{"bad admin ids", map[string]string{"ADMIN_TELEGRAM_IDS": "12,abc"}, []string{"ADMIN_TELEGRAM_IDS"}},
		{"bad duration", map[string]string{"DIALOG_IDLE_EXPIRY": "a week"}, []string{"DIALOG_IDLE_EXPIRY"}},
		{"bad database url", map[string]string{"TELEGRAM_TOKEN": "1:a", "DATABASE_URL": "mysql://x", "REDIS_URL": "redis://x"}, []string{"DATABASE_URL"}},
		{"missing campaign file", map[string]string{"TELEGRAM_TOKEN": "1:a", "DATABASE_URL": "postgres://127.0.0.1:1/x", "REDIS_URL": "redis://x", "CAMPAIGN_FILE": "/nonexistent.json"}, []string{"CAMPAIGN_FILE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), []string{"serve"}, func(k string) string { return tt.env[k] }, io.Discard, io.Discard)
			if err == nil {
				t.Fatal("serve started with a bad configuration")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

func TestLoadtest_StoresEveryRegistrationOnce(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"loadtest", "-parents", "15", "-redis", redisURL(), "-db", postgrestest.ServerURL()},
		func(string) string { return "" }, &out, io.Discard)
	if err != nil {
		t.Fatalf("loadtest: %v\n%s", err, out.String())
	}
	for _, want := range []string{"updates per second:", "p99", "redis round trips:", "15 stored, 15 distinct codes, exactly once: true"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestServe_FloodControlIsHonoured(t *testing.T) {
	// Telegram allows about one message a second in a chat. The bot's own pacing is off here, so
	// the emulator answers 429 with retry_after, and the bot must wait and send again.
	h := newHarnessWithLimits(t, telegramtest.Limits{GlobalPerSecond: 30, GlobalBurst: 30, PerChatPerSecond: 1, PerChatBurst: 1}, nil)
	p := h.parent(4001, "vi")
	for range 3 {
		h.emu.SendText(p.chat, p.user, "/help")
	}
	got := p.waitNew(3)
	for i, m := range got {
		if m.Text != got[0].Text || m.Text == "" {
			t.Errorf("reply %d = %q, want the same help three times", i, m.Text)
		}
	}
	time.Sleep(1500 * time.Millisecond)
	if n := len(h.emu.Messages(p.chat)); n != 3 {
		t.Errorf("%d messages in the chat, want 3 (none lost, none repeated)", n)
	}
	if h.emu.Metrics().TooManyRequests == 0 {
		t.Error("the emulator never answered 429: the test did not test flood control")
	}
}
