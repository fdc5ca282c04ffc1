package telegramtest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

const testToken = "123456:TEST-token_abc"

// parent is the person most tests talk as: a private chat's id is the person's id.
var parent = User{ID: 501, FirstName: "Lan", LastName: "Nguyễn", Username: "lan_ng", LanguageCode: "vi"}

// newEmulator starts an emulator on a test HTTP server and connects the real library to it.
func newEmulator(t *testing.T, opts Options) (*Server, *httptest.Server, *tgbotapi.BotAPI) {
	t.Helper()
	if opts.Token == "" {
		opts.Token = testToken
	}
	emu := New(opts)
	ts := httptest.NewServer(emu)
	t.Cleanup(func() {
		emu.Close()
		ts.Close()
	})
	bot, err := tgbotapi.NewBotAPIWithAPIEndpoint(opts.Token, ts.URL+"/bot%s/%s")
	if err != nil {
		t.Fatalf("connect the library: %v", err)
	}
	return emu, ts, bot
}

// tgError unwraps the library's error for a failed call.
func tgError(t *testing.T, err error) *tgbotapi.Error {
	t.Helper()
	if err == nil {
		t.Fatal("call succeeded, want an error")
	}
	var e *tgbotapi.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *tgbotapi.Error", err, err)
	}
	return e
}

// eventually waits up to five seconds for cond, for state that settles after an HTTP answer.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
	}
}

// fakeClock is a clock a test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestServer_GetMe(t *testing.T) {
	_, _, bot := newEmulator(t, Options{})
	if bot.Self.UserName != "maytinhchoem_bot" || !bot.Self.IsBot || bot.Self.ID != 123456 {
		t.Fatalf("getMe = %+v, want maytinhchoem_bot with id 123456", bot.Self)
	}
	if bot.Self.FirstName != "Máy tính cho em" {
		t.Errorf("first name = %q", bot.Self.FirstName)
	}
}

func TestServer_Unauthorized(t *testing.T) {
	emu, ts, _ := newEmulator(t, Options{})
	_, err := tgbotapi.NewBotAPIWithAPIEndpoint("999:wrong", ts.URL+"/bot%s/%s")
	e := tgError(t, err)
	if e.Code != 401 || e.Message != "Unauthorized" {
		t.Fatalf("error = %d %q, want 401 Unauthorized", e.Code, e.Message)
	}
	if rc := emu.RejectedCalls(); len(rc) != 1 || rc[0].Code != 401 {
		t.Errorf("rejected calls = %+v, want the 401", rc)
	}
}

func TestServer_GetUpdatesLongPoll(t *testing.T) {
	emu, _, bot := newEmulator(t, Options{})
	type result struct {
		updates []tgbotapi.Update
		err     error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		u, err := bot.GetUpdates(tgbotapi.UpdateConfig{Timeout: 10})
		done <- result{u, err}
	}()
	time.Sleep(100 * time.Millisecond)
	id := emu.SendText(parent.ID, parent, "/start ma_gioi_thieu")
	var r result
	select {
	case r = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("long poll did not return when the update arrived")
	}
	if r.err != nil {
		t.Fatalf("getUpdates: %v", r.err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("long poll took %v", time.Since(start))
	}
	if len(r.updates) != 1 {
		t.Fatalf("got %d updates, want 1", len(r.updates))
	}
	u := r.updates[0]
	if int64(u.UpdateID) != id || u.Message == nil {
		t.Fatalf("update = %+v, want id %d with a message", u, id)
	}
	m := u.Message
	if !m.IsCommand() || m.Command() != "start" || m.CommandArguments() != "ma_gioi_thieu" {
		t.Errorf("command = %q args %q, want start ma_gioi_thieu", m.Command(), m.CommandArguments())
	}
	if m.From.ID != parent.ID || m.From.LanguageCode != "vi" || m.From.UserName != "lan_ng" {
		t.Errorf("from = %+v", m.From)
	}
	if m.Chat.ID != parent.ID || m.Chat.Type != "private" || m.Date == 0 {
		t.Errorf("chat = %+v date %d", m.Chat, m.Date)
	}
	if at, ok := emu.UpdateArrived(id); !ok || at.Before(start) {
		t.Errorf("UpdateArrived = %v %v", at, ok)
	}
}

func TestServer_GetUpdatesOffsetConfirms(t *testing.T) {
	emu, _, bot := newEmulator(t, Options{})
	emu.SendText(parent.ID, parent, "một")
	last := emu.SendText(parent.ID, parent, "hai")

	got, err := bot.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || len(got) != 2 {
		t.Fatalf("first poll = %d updates, %v; want 2", len(got), err)
	}
	if got[0].Message.Text != "một" || got[1].Message.Text != "hai" || got[1].Message.MessageID <= got[0].Message.MessageID {
		t.Errorf("updates out of order: %q %q", got[0].Message.Text, got[1].Message.Text)
	}
	again, err := bot.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || len(again) != 2 {
		t.Fatalf("unconfirmed updates must come again: %d, %v", len(again), err)
	}
	confirmed, err := bot.GetUpdates(tgbotapi.UpdateConfig{Offset: int(last) + 1})
	if err != nil || len(confirmed) != 0 {
		t.Fatalf("after confirming: %d updates, %v; want none", len(confirmed), err)
	}
	if n := emu.PendingUpdates(); n != 0 {
		t.Errorf("pending = %d, want 0", n)
	}
	limited, err := bot.GetUpdates(tgbotapi.UpdateConfig{Limit: 1})
	if err != nil || len(limited) != 0 {
		t.Errorf("limit poll on empty queue = %d, %v", len(limited), err)
	}
}

func TestServer_InlineKeyboardAndCallback(t *testing.T) {
	emu, _, bot := newEmulator(t, Options{})
	chatID := emu.AddChat(parent)
	msg := tgbotapi.NewMessage(chatID, "Con đang học lớp mấy?")
	msg.ReplyMarkup = tgbotapi.NewInlineKeyboardMarkup(
		tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("Lớp 6", "grade:6"), tgbotapi.NewInlineKeyboardButtonData("Lớp 7", "grade:7")),
		tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonURL("Hướng dẫn", "https://example.org/huong-dan")),
	)
	sent, err := bot.Send(msg)
	if err != nil {
		t.Fatalf("sendMessage: %v", err)
	}
	if sent.MessageID == 0 || sent.From == nil || !sent.From.IsBot || sent.Chat.ID != chatID || sent.ReplyMarkup == nil {
		t.Fatalf("returned message = %+v", sent)
	}
	last, ok := emu.LastMessage(chatID)
	if !ok || last.Text != "Con đang học lớp mấy?" || last.MessageID != sent.MessageID {
		t.Fatalf("LastMessage = %+v", last)
	}
	if b, ok := last.Button("Lớp 7"); !ok || b.CallbackData != "grade:7" {
		t.Errorf("button Lớp 7 = %+v %v", b, ok)
	}
	if b, _ := last.Button("Hướng dẫn"); b.URL != "https://example.org/huong-dan" {
		t.Errorf("URL button = %+v", b)
	}
	if got := strings.Join(last.Buttons(), ","); got != "Lớp 6,Lớp 7,Hướng dẫn" {
		t.Errorf("buttons = %s", got)
	}

	if _, err := emu.PressButton(chatID, parent, sent.MessageID, "grade:9"); err == nil {
		t.Error("pressing a button that is not there succeeded")
	}
	if _, err := emu.PressButton(chatID, parent, sent.MessageID+5, "grade:7"); err == nil {
		t.Error("pressing a button under a missing message succeeded")
	}
	id, err := emu.PressButton(chatID, parent, sent.MessageID, "grade:7")
	if err != nil {
		t.Fatalf("PressButton: %v", err)
	}
	ups, err := bot.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || len(ups) != 1 {
		t.Fatalf("getUpdates = %d, %v", len(ups), err)
	}
	q := ups[0].CallbackQuery
	if int64(ups[0].UpdateID) != id || q == nil {
		t.Fatalf("update = %+v, want a callback query", ups[0])
	}
	if q.Data != "grade:7" || q.From.ID != parent.ID || q.Message == nil || q.Message.MessageID != sent.MessageID || q.ChatInstance == "" || q.ID == "" {
		t.Fatalf("callback query = %+v", q)
	}
	if q.Message.ReplyMarkup == nil || len(q.Message.ReplyMarkup.InlineKeyboard) != 2 {
		t.Errorf("callback message keyboard = %+v", q.Message.ReplyMarkup)
	}
	if _, err := bot.Request(tgbotapi.NewCallback(q.ID, "Đã chọn lớp 7")); err != nil {
		t.Fatalf("answerCallbackQuery: %v", err)
	}
	e := tgError(t, func() error { _, err := bot.Request(tgbotapi.NewCallback(q.ID, "lần hai")); return err }())
	if e.Code != 400 || e.Message != "Bad Request: query is too old and response timeout expired or query ID is invalid" {
		t.Errorf("second answer = %d %q", e.Code, e.Message)
	}
	if rc := emu.RejectedCalls(); len(rc) == 0 || rc[len(rc)-1].Method != "answerCallbackQuery" || rc[len(rc)-1].Params["callback_query_id"] != q.ID {
		t.Errorf("the second answer is not among the rejected calls: %+v", rc)
	}
	answers := emu.CallbackAnswers(chatID)
	if len(answers) != 1 || answers[0].Text != "Đã chọn lớp 7" || answers[0].Data != "grade:7" || answers[0].MessageID != sent.MessageID {
		t.Errorf("answers = %+v", answers)
	}
}

func TestServer_RequestContactKeyboard(t *testing.T) {
	emu, _, bot := newEmulator(t, Options{})
	chatID := emu.AddChat(parent)
	msg := tgbotapi.NewMessage(chatID, "Vui lòng chia sẻ số điện thoại.")
	msg.ReplyMarkup = tgbotapi.NewOneTimeReplyKeyboard(
		tgbotapi.NewKeyboardButtonRow(tgbotapi.NewKeyboardButtonContact("📱 Chia sẻ số điện thoại")),
		tgbotapi.NewKeyboardButtonRow(tgbotapi.NewKeyboardButton("Huỷ")),
	)
	sent, err := bot.Send(msg)
	if err != nil {
		t.Fatalf("send keyboard: %v", err)
	}
	if sent.ReplyMarkup != nil {
		t.Errorf("a reply keyboard came back as an inline one: %+v", sent.ReplyMarkup)
	}
	last, _ := emu.LastMessage(chatID)
	if len(last.ReplyKeyboard) != 2 || !last.ReplyKeyboard[0][0].RequestContact || last.ReplyKeyboard[1][0].Text != "Huỷ" || !last.OneTimeKeyboard {
		t.Fatalf("reply keyboard = %+v one time %v", last.ReplyKeyboard, last.OneTimeKeyboard)
	}
	if kb := emu.CurrentKeyboard(chatID); len(kb) != 2 {
		t.Fatalf("current keyboard = %+v", kb)
	}

	id := emu.SendContact(chatID, parent, "+84912345678", parent.ID)
	ups, err := bot.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || len(ups) != 1 || int64(ups[0].UpdateID) != id {
		t.Fatalf("getUpdates = %+v, %v", ups, err)
	}
	c := ups[0].Message.Contact
	if c == nil || c.PhoneNumber != "+84912345678" || c.UserID != parent.ID || c.FirstName != "Lan" {
		t.Fatalf("contact = %+v", c)
	}
	if kb := emu.CurrentKeyboard(chatID); kb != nil {
		t.Errorf("one-time keyboard still shown after use: %+v", kb)
	}

	msg = tgbotapi.NewMessage(chatID, "Cảm ơn!")
	msg.ReplyMarkup = tgbotapi.NewReplyKeyboard(tgbotapi.NewKeyboardButtonRow(tgbotapi.NewKeyboardButton("Menu")))
	if _, err := bot.Send(msg); err != nil {
		t.Fatal(err)
	}
	msg = tgbotapi.NewMessage(chatID, "Xong.")
	msg.ReplyMarkup = tgbotapi.NewRemoveKeyboard(false)
	if _, err := bot.Send(msg); err != nil {
		t.Fatal(err)
	}
	last, _ = emu.LastMessage(chatID)
	if !last.RemoveKeyboard || emu.CurrentKeyboard(chatID) != nil {
		t.Errorf("remove_keyboard: message %+v, keyboard %+v", last, emu.CurrentKeyboard(chatID))
	}
}

func TestServer_Validation(t *testing.T) {
	emu, _, bot := newEmulator(t, Options{Limits: Limits{Disabled: true}})
	chatID := emu.AddChat(parent)
	withMarkup := func(text string, markup any) tgbotapi.MessageConfig {
		m := tgbotapi.NewMessage(chatID, text)
		m.ReplyMarkup = markup
		return m
	}
	html := func(text string) tgbotapi.MessageConfig {
		m := tgbotapi.NewMessage(chatID, text)
		m.ParseMode = tgbotapi.ModeHTML
		return m
	}
	tests := []struct {
		name    string
		send    tgbotapi.Chattable
		wantErr string // empty: accepted
	}{
		{"4096 characters", tgbotapi.NewMessage(chatID, strings.Repeat("a", 4096)), ""},
		{"4097 characters", tgbotapi.NewMessage(chatID, strings.Repeat("a", 4097)), "Bad Request: message is too long"},
		{"4096 Vietnamese letters", tgbotapi.NewMessage(chatID, strings.Repeat("ệ", 4096)), ""},
		{"emoji count two UTF-16 units", tgbotapi.NewMessage(chatID, strings.Repeat("😀", 2049)), "Bad Request: message is too long"},
		{"HTML tags do not count", html("<b>" + strings.Repeat("a", 4096) + "</b>"), ""},
		{"only spaces", tgbotapi.NewMessage(chatID, "   "), "Bad Request: message text is empty"},
		{"unknown chat", tgbotapi.NewMessage(9999, "xin chào"), "Bad Request: chat not found"},
		{"callback data of 64 bytes", withMarkup("a", tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("x", strings.Repeat("d", 64))))), ""},
		{"callback data of 65 bytes", withMarkup("a", tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("x", strings.Repeat("d", 65))))), "Bad Request: BUTTON_DATA_INVALID"},
		{"callback data of 22 Vietnamese letters is 66 bytes", withMarkup("a", tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("x", strings.Repeat("ệ", 22))))), "Bad Request: BUTTON_DATA_INVALID"},
		{"inline button without action", withMarkup("a", tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.InlineKeyboardButton{Text: "x"}))), "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"},
		{"button without text", withMarkup("a", tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("", "d")))), "Bad Request: BUTTON_TEXT_INVALID"},
		{"HTML that is fine", html("Xin <b>chào</b> &lt;5 tuổi&gt; &amp; <i>bạn</i>"), ""},
		{"HTML with a bare <", html("trẻ <5 tuổi"), `Bad Request: can't parse entities: Unsupported start tag "5" at byte offset 6`},
		{"HTML unclosed", html("<b>đậm"), `Bad Request: can't parse entities: Can't find end tag corresponding to start tag "b"`},
		{"caption of 1025", func() tgbotapi.Chattable {
			p := tgbotapi.NewPhoto(chatID, tgbotapi.FileID("AgACAgIAAx"))
			p.Caption = strings.Repeat("c", 1025)
			return p
		}(), "Bad Request: message caption is too long"},
		{"chat action", tgbotapi.NewChatAction(chatID, tgbotapi.ChatTyping), ""},
		{"unknown chat action", tgbotapi.NewChatAction(chatID, "dancing"), "Bad Request: wrong parameter action in request"},
		{"command with capitals", tgbotapi.NewSetMyCommands(tgbotapi.BotCommand{Command: "Start", Description: "Bắt đầu"}), "Bad Request: BOT_COMMAND_INVALID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bot.Request(tt.send)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			e := tgError(t, err)
			if e.Code != 400 || e.Message != tt.wantErr {
				t.Fatalf("error = %d %q, want 400 %q", e.Code, e.Message, tt.wantErr)
			}
		})
	}
	var refused int
	for _, tt := range tests {
		if tt.wantErr != "" {
			refused++
		}
	}
	if got := len(emu.RejectedCalls()); got != refused {
		t.Errorf("RejectedCalls has %d calls, want %d", got, refused)
	}
	if m := emu.Metrics(); m.Rejected != refused {
		t.Errorf("Metrics.Rejected = %d, want %d", m.Rejected, refused)
	}
}

func TestServer_MissingRequiredParameter(t *testing.T) {
	emu, _, bot := newEmulator(t, Options{})
	chatID := emu.AddChat(parent)
	tests := []struct {
		method  string
		params  tgbotapi.Params
		wantErr string
	}{
		{"sendMessage", tgbotapi.Params{"text": "thiếu chat_id"}, "Bad Request: chat_id is empty"},
		{"sendMessage", tgbotapi.Params{"chat_id": "501"}, "Bad Request: message text is empty"},
		{"sendChatAction", tgbotapi.Params{"chat_id": "501"}, "Bad Request: action is empty"},
		{"answerCallbackQuery", tgbotapi.Params{"text": "x"}, "Bad Request: callback_query_id is empty"},
		{"sendDocument", tgbotapi.Params{"chat_id": "501"}, "Bad Request: there is no document in the request"},
		{"setMyCommands", tgbotapi.Params{}, "Bad Request: commands is empty"},
		{"setMyCommands", tgbotapi.Params{"commands": `[{"command":"start"}]`}, `Bad Request: can't parse commands: BotCommand: field "description" is required`},
		{"setMyCommands", tgbotapi.Params{"commands": `[{"command":"start","description":"Bắt đầu"}]`, "scope": `{"type":"chat"}`}, `Bad Request: can't parse scope: BotCommandScopeChat: field "chat_id" is required`},
		{"sendMessage", tgbotapi.Params{"chat_id": "501", "text": "x", "reply_markup": `{"inline_keyboard":"no"}`}, "Bad Request: can't parse reply_markup: InlineKeyboardMarkup: field \"inline_keyboard\": expected an Array of Array of InlineKeyboardButton"},
		{"sendMessage", tgbotapi.Params{"chat_id": "501", "text": "x", "reply_markup": `{"foo":1}`}, "Bad Request: can't parse reply_markup: object matches none of InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove, ForceReply"},
		{"editMessageText", tgbotapi.Params{"chat_id": "501", "message_id": "x", "text": "y"}, `Bad Request: field "message_id" must be of type Integer`},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.wantErr, func(t *testing.T) {
			_, err := bot.MakeRequest(tt.method, tt.params)
			e := tgError(t, err)
			if e.Code != 400 || e.Message != tt.wantErr {
				t.Fatalf("error = %d %q, want 400 %q", e.Code, e.Message, tt.wantErr)
			}
		})
	}
	if len(emu.Messages(chatID)) != 0 {
		t.Errorf("refused calls left messages: %+v", emu.Messages(chatID))
	}
	rejected := emu.RejectedCalls()
	if len(rejected) != len(tests) || rejected[0].Method != "sendMessage" || rejected[0].Params["text"] != "thiếu chat_id" {
		t.Errorf("rejected = %+v", rejected)
	}
}

func TestServer_UnknownMethodAndParams(t *testing.T) {
	emu, _, bot := newEmulator(t, Options{})
	chatID := emu.AddChat(parent)
	_, err := bot.MakeRequest("sendPoll", tgbotapi.Params{"chat_id": "501"})
	if e := tgError(t, err); e.Code != 404 || e.Message != "Not Found" {
		t.Errorf("unknown method = %d %q, want 404 Not Found", e.Code, e.Message)
	}
	// The library still sends disable_web_page_preview, which Bot API 7 replaced: accepted, noted.
	msg := tgbotapi.NewMessage(chatID, "Xem https://example.org")
	msg.DisableWebPagePreview = true
	if _, err := bot.Send(msg); err != nil {
		t.Fatalf("send: %v", err)
	}
	if got := emu.UnknownParams()["sendMessage"]; len(got) != 1 || got[0] != "disable_web_page_preview" {
		t.Errorf("unknown params = %v", emu.UnknownParams())
	}
	if emu.Calls("sendMessage") != 1 || emu.Calls("sendmessage") != 1 || emu.Calls("sendPoll") != 1 {
		t.Errorf("calls: sendMessage %d sendPoll %d", emu.Calls("sendMessage"), emu.Calls("sendPoll"))
	}
}

func TestServer_FloodLimits(t *testing.T) {
	clock := &fakeClock{now: time.Date(2021, 9, 6, 8, 0, 0, 0, time.UTC)}
	t.Run("per chat", func(t *testing.T) {
		emu, _, bot := newEmulator(t, Options{Limits: Limits{Now: clock.Now}})
		chatID := emu.AddChat(parent)
		for i := range 3 {
			if _, err := bot.Send(tgbotapi.NewMessage(chatID, "tin nhắn")); err != nil {
				t.Fatalf("message %d of the burst refused: %v", i+1, err)
			}
		}
		_, err := bot.Send(tgbotapi.NewMessage(chatID, "một tin quá nhiều"))
		e := tgError(t, err)
		if e.Code != 429 || e.RetryAfter < 1 || e.Message != "Too Many Requests: retry after 1" {
			t.Fatalf("error = %d %q retry_after %d, want 429 with retry_after >= 1", e.Code, e.Message, e.RetryAfter)
		}
		if n := len(emu.Messages(chatID)); n != 3 {
			t.Errorf("chat has %d messages, want 3", n)
		}
		if m := emu.Metrics(); m.TooManyRequests != 1 || m.Calls["sendMessage"] != 4 || m.Rejected != 0 {
			t.Errorf("metrics = %+v", m)
		}
		clock.Add(time.Duration(e.RetryAfter) * time.Second)
		if _, err := bot.Send(tgbotapi.NewMessage(chatID, "sau khi chờ")); err != nil {
			t.Fatalf("after waiting retry_after: %v", err)
		}
	})
	t.Run("global", func(t *testing.T) {
		emu, _, bot := newEmulator(t, Options{Limits: Limits{Now: clock.Now, GlobalPerSecond: 2, GlobalBurst: 2, PerChatBurst: 10}})
		for i := int64(1); i <= 2; i++ {
			if _, err := bot.Send(tgbotapi.NewMessage(emu.AddChat(User{ID: i}), "x")); err != nil {
				t.Fatal(err)
			}
		}
		_, err := bot.Send(tgbotapi.NewMessage(emu.AddChat(User{ID: 3}), "x"))
		if e := tgError(t, err); e.Code != 429 || e.RetryAfter < 1 {
			t.Fatalf("error = %d retry_after %d", e.Code, e.RetryAfter)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		emu, _, bot := newEmulator(t, Options{Limits: Limits{Disabled: true}})
		chatID := emu.AddChat(parent)
		for range 50 {
			if _, err := bot.Send(tgbotapi.NewMessage(chatID, "x")); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestServer_Blocked(t *testing.T) {
	emu, _, bot := newEmulator(t, Options{})
	chatID := emu.AddChat(parent)
	emu.Block(chatID)
	_, err := bot.Send(tgbotapi.NewMessage(chatID, "Nhắc lịch nhận máy"))
	if e := tgError(t, err); e.Code != 403 || e.Message != "Forbidden: bot was blocked by the user" {
		t.Fatalf("error = %d %q", e.Code, e.Message)
	}
	if m := emu.Metrics(); m.Forbidden != 1 || len(emu.RejectedCalls()) != 0 {
		t.Errorf("a 403 is the world, not a bad call: %+v, rejected %v", m, emu.RejectedCalls())
	}
	emu.Unblock(chatID)
	if _, err := bot.Send(tgbotapi.NewMessage(chatID, "Nhắc lịch nhận máy")); err != nil {
		t.Fatalf("after Unblock: %v", err)
	}
	emu.Block(chatID)
	emu.SendText(chatID, parent, "/start") // writing again restarts the bot
	if _, err := bot.Send(tgbotapi.NewMessage(chatID, "Chào lại")); err != nil {
		t.Fatalf("after the person wrote again: %v", err)
	}
}

func TestServer_EditMessage(t *testing.T) {
	emu, _, bot := newEmulator(t, Options{Limits: Limits{Disabled: true}})
	chatID := emu.AddChat(parent)
	kb := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("Xác nhận", "ok")))
	msg := tgbotapi.NewMessage(chatID, "Bước 1/3")
	msg.ReplyMarkup = kb
	sent, err := bot.Send(msg)
	if err != nil {
		t.Fatal(err)
	}
	same := tgbotapi.NewEditMessageTextAndMarkup(chatID, sent.MessageID, "Bước 1/3", kb)
	e := tgError(t, func() error { _, err := bot.Send(same); return err }())
	if e.Code != 400 || e.Message != "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message" {
		t.Fatalf("identical edit = %d %q", e.Code, e.Message)
	}
	if rc := emu.RejectedCalls(); len(rc) != 1 || rc[0].Method != "editMessageText" || rc[0].Code != 400 {
		t.Errorf("rejected calls = %+v, want the identical edit", rc)
	}
	edited, err := bot.Send(tgbotapi.NewEditMessageTextAndMarkup(chatID, sent.MessageID, "Bước 2/3", kb))
	if err != nil {
		t.Fatalf("edit: %v", err)
	}
	if edited.EditDate == 0 || edited.Text != "Bước 2/3" || edited.MessageID != sent.MessageID {
		t.Errorf("edited = %+v", edited)
	}
	msgs := emu.Messages(chatID)
	if len(msgs) != 1 || !msgs[0].Edited || msgs[0].Text != "Bước 2/3" || len(msgs[0].InlineKeyboard) != 1 {
		t.Fatalf("messages = %+v", msgs)
	}
	// Without reply_markup an edit removes the inline keyboard, as in Telegram.
	if _, err := bot.Send(tgbotapi.NewEditMessageText(chatID, sent.MessageID, "Bước 2/3")); err != nil {
		t.Fatalf("edit dropping the keyboard: %v", err)
	}
	if last, _ := emu.LastMessage(chatID); last.InlineKeyboard != nil {
		t.Errorf("keyboard kept: %+v", last.InlineKeyboard)
	}
	if _, err := bot.Send(tgbotapi.NewEditMessageReplyMarkup(chatID, sent.MessageID, kb)); err != nil {
		t.Fatalf("editMessageReplyMarkup: %v", err)
	}
	if last, _ := emu.LastMessage(chatID); len(last.InlineKeyboard) != 1 {
		t.Errorf("keyboard not back: %+v", last)
	}
	_, err = bot.Send(tgbotapi.NewEditMessageText(chatID, 77, "x"))
	if e := tgError(t, err); e.Message != "Bad Request: message to edit not found" {
		t.Errorf("missing message = %q", e.Message)
	}
	if _, err := bot.Request(tgbotapi.NewDeleteMessage(chatID, sent.MessageID)); err != nil {
		t.Fatalf("deleteMessage: %v", err)
	}
	if last, _ := emu.LastMessage(chatID); !last.Deleted {
		t.Errorf("not marked deleted: %+v", last)
	}
}

func TestServer_SendDocumentAndPhotoUpload(t *testing.T) {
	emu, ts, bot := newEmulator(t, Options{})
	chatID := emu.AddChat(parent)
	csv := []byte("ma_hs,ho_ten\nHS001,Nguyễn Văn A\n")
	doc := tgbotapi.NewDocument(chatID, tgbotapi.FileBytes{Name: "bao-cao.csv", Bytes: csv})
	doc.Caption = "Báo cáo ngày 06/09"
	sent, err := bot.Send(doc)
	if err != nil {
		t.Fatalf("sendDocument upload: %v", err)
	}
	if sent.Document == nil || sent.Document.FileName != "bao-cao.csv" || sent.Document.FileSize != len(csv) || sent.Caption != "Báo cáo ngày 06/09" {
		t.Fatalf("returned message = %+v, document %+v", sent, sent.Document)
	}
	last, _ := emu.LastMessage(chatID)
	if last.Document != "bao-cao.csv" || string(last.FileData) != string(csv) || last.Method != "sendDocument" || last.Caption != "Báo cáo ngày 06/09" {
		t.Fatalf("recorded = %+v", last)
	}
	resp, err := http.Get(ts.URL + "/api/file?id=" + sent.Document.FileID)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != string(csv) {
		t.Errorf("/api/file = %d %q", resp.StatusCode, body)
	}

	png := []byte("\x89PNG\r\n\x1a\nfake")
	photo, err := bot.Send(tgbotapi.NewPhoto(chatID, tgbotapi.FileBytes{Name: "qr.png", Bytes: png}))
	if err != nil {
		t.Fatalf("sendPhoto upload: %v", err)
	}
	if len(photo.Photo) == 0 || photo.Photo[len(photo.Photo)-1].FileID == "" {
		t.Fatalf("photo sizes = %+v", photo.Photo)
	}
	// Sending the same photo again by its file_id, as bots do, finds the upload.
	if _, err := bot.Send(tgbotapi.NewPhoto(chatID, tgbotapi.FileID(photo.Photo[len(photo.Photo)-1].FileID))); err != nil {
		t.Fatalf("sendPhoto by file_id: %v", err)
	}
	if last, _ := emu.LastMessage(chatID); string(last.FileData) != string(png) || last.Photo == "" {
		t.Errorf("photo by file_id = %+v", last)
	}
	// Uploads go through multipart, where the library does not copy the error code: check the text.
	_, err = bot.Send(tgbotapi.NewDocument(424242, tgbotapi.FileBytes{Name: "x.txt", Bytes: []byte("x")}))
	if e := tgError(t, err); e.Message != "Bad Request: chat not found" {
		t.Errorf("upload to unknown chat = %q", e.Message)
	}
}

func TestServer_Commands(t *testing.T) {
	emu, _, bot := newEmulator(t, Options{})
	vi := []tgbotapi.BotCommand{{Command: "start", Description: "Bắt đầu"}, {Command: "dangky", Description: "Đăng ký cho con"}}
	en := []tgbotapi.BotCommand{{Command: "start", Description: "Start"}}
	if _, err := bot.Request(tgbotapi.NewSetMyCommandsWithScopeAndLanguage(tgbotapi.NewBotCommandScopeDefault(), "vi", vi...)); err != nil {
		t.Fatalf("setMyCommands vi: %v", err)
	}
	if _, err := bot.Request(tgbotapi.NewSetMyCommands(en...)); err != nil {
		t.Fatalf("setMyCommands: %v", err)
	}
	if got := emu.Commands("vi"); len(got) != 2 || got[1].Command != "dangky" {
		t.Errorf("Commands(vi) = %+v", got)
	}
	if got := emu.Commands(""); len(got) != 1 || got[0].Description != "Start" {
		t.Errorf("Commands() = %+v", got)
	}
	got, err := bot.GetMyCommandsWithConfig(tgbotapi.NewGetMyCommandsWithScopeAndLanguage(tgbotapi.NewBotCommandScopeDefault(), "vi"))
	if err != nil || len(got) != 2 {
		t.Errorf("getMyCommands vi = %+v, %v", got, err)
	}
	if _, err := bot.Request(tgbotapi.NewSetMyCommandsWithScope(tgbotapi.NewBotCommandScopeChat(parent.ID), en...)); err != nil {
		t.Errorf("setMyCommands with chat scope: %v", err)
	}
}

func TestServer_Webhook(t *testing.T) {
	type delivery struct {
		secret string
		update tgbotapi.Update
	}
	got := make(chan delivery, 16)
	var mu sync.Mutex
	failures := map[int]int{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u tgbotapi.Update
		if err := json.NewDecoder(r.Body).Decode(&u); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// The first delivery of a "flaky" text fails twice, to exercise the retries.
		if u.Message != nil && u.Message.Text == "flaky" {
			mu.Lock()
			failures[u.UpdateID]++
			n := failures[u.UpdateID]
			mu.Unlock()
			if n <= 2 {
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
		}
		got <- delivery{r.Header.Get("X-Telegram-Bot-Api-Secret-Token"), u}
	}))
	defer hook.Close()
	emu, _, bot := newEmulator(t, Options{WebhookBackoff: time.Millisecond})

	if _, err := bot.MakeRequest("setWebhook", tgbotapi.Params{"url": hook.URL, "secret_token": "bad secret!"}); tgError(t, err).Code != 400 {
		t.Fatalf("a secret with a space and ! was accepted")
	}
	if _, err := bot.MakeRequest("setWebhook", tgbotapi.Params{"url": hook.URL, "secret_token": "s3cret_Token-1"}); err != nil {
		t.Fatalf("setWebhook: %v", err)
	}
	info, err := bot.GetWebhookInfo()
	if err != nil || !info.IsSet() || info.URL != hook.URL || info.MaxConnections != 40 {
		t.Fatalf("webhook info = %+v, %v", info, err)
	}

	id := emu.SendText(parent.ID, parent, "xin chào")
	select {
	case d := <-got:
		if d.secret != "s3cret_Token-1" || int64(d.update.UpdateID) != id || d.update.Message.Text != "xin chào" {
			t.Fatalf("delivery = %+v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook delivery")
	}

	_, err = bot.GetUpdates(tgbotapi.UpdateConfig{})
	if e := tgError(t, err); e.Code != 409 || !strings.HasPrefix(e.Message, "Conflict: can't use getUpdates method while webhook is active") {
		t.Fatalf("getUpdates with a webhook = %d %q", e.Code, e.Message)
	}

	// One chat's updates arrive in order, even when one of them needs retries.
	texts := []string{"1", "flaky", "3", "4"}
	for _, txt := range texts {
		emu.SendText(parent.ID, parent, txt)
	}
	for i, want := range texts {
		select {
		case d := <-got:
			if d.update.Message.Text != want {
				t.Fatalf("delivery %d = %q, want %q", i, d.update.Message.Text, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("delivery %d (%q) missing", i, want)
		}
	}
	eventually(t, func() bool { return emu.Metrics().WebhookDeliveries == 5 })
	if m := emu.Metrics(); m.WebhookFailures != 2 || m.Conflicts != 1 {
		t.Errorf("metrics = %+v", m)
	}
	info, _ = bot.GetWebhookInfo()
	if !strings.HasPrefix(info.LastErrorMessage, "Wrong response from the webhook: 503") || info.PendingUpdateCount != 0 {
		t.Errorf("webhook info after failures = %+v", info)
	}

	if _, err := bot.Request(tgbotapi.DeleteWebhookConfig{}); err != nil {
		t.Fatalf("deleteWebhook: %v", err)
	}
	emu.SendText(parent.ID, parent, "sau khi xoá webhook")
	ups, err := bot.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || len(ups) != 1 || ups[0].Message.Text != "sau khi xoá webhook" {
		t.Fatalf("getUpdates after deleteWebhook = %+v, %v", ups, err)
	}
}

func TestServer_WebhookReplyCarriesACall(t *testing.T) {
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u tgbotapi.Update
		if err := json.NewDecoder(r.Body).Decode(&u); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_ = tgbotapi.WriteToHTTPResponse(w, tgbotapi.NewMessage(u.Message.Chat.ID, "Đã nhận: "+u.Message.Text))
	}))
	defer hook.Close()
	emu, _, bot := newEmulator(t, Options{})
	wh, err := tgbotapi.NewWebhook(hook.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bot.Request(wh); err != nil {
		t.Fatalf("setWebhook: %v", err)
	}
	emu.SendText(parent.ID, parent, "chào bot")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msgs, err := emu.WaitForMessages(ctx, parent.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if msgs[0].Text != "Đã nhận: chào bot" {
		t.Errorf("reply = %q", msgs[0].Text)
	}
}

func TestServer_GetUpdatesChanAndLatencyHook(t *testing.T) {
	events := make(chan BotMessageEvent, 4)
	emu, _, bot := newEmulator(t, Options{OnBotMessage: func(ev BotMessageEvent) { events <- ev }})
	updates := bot.GetUpdatesChan(tgbotapi.UpdateConfig{Timeout: 1})
	defer bot.StopReceivingUpdates()
	go func() {
		for u := range updates {
			if u.Message != nil {
				_, _ = bot.Send(tgbotapi.NewMessage(u.Message.Chat.ID, "Chào "+u.Message.From.FirstName))
			}
		}
	}()
	emu.SendText(parent.ID, parent, "/start")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msgs, err := emu.WaitForMessages(ctx, parent.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if msgs[0].Text != "Chào Lan" {
		t.Errorf("reply = %q", msgs[0].Text)
	}
	ev := <-events
	if ev.ChatID != parent.ID || ev.SinceUpdate <= 0 || ev.Method != "sendMessage" || ev.MessageID != msgs[0].MessageID {
		t.Errorf("event = %+v", ev)
	}
}

func TestServer_UserSideUpdates(t *testing.T) {
	emu, _, bot := newEmulator(t, Options{})
	textID := emu.SendText(parent.ID, parent, "Nguyễn Văn A")
	emu.SendPhoto(parent.ID, parent)
	emu.SendSticker(parent.ID, parent)
	emu.SendDocument(parent.ID, parent, "giay-khai-sinh.pdf")
	if _, err := emu.EditText(parent.ID, parent, 1, "Nguyễn Văn B"); err != nil {
		t.Fatalf("EditText: %v", err)
	}
	if _, err := emu.EditText(parent.ID, parent, 2, "x"); err == nil {
		t.Error("editing a photo as text succeeded")
	}
	rawID, err := emu.InjectRaw(json.RawMessage(`{"my_chat_member":{"chat":{"id":501,"type":"private"},"date":1630915200}}`))
	if err != nil {
		t.Fatal(err)
	}
	ups, err := bot.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || len(ups) != 6 {
		t.Fatalf("getUpdates = %d, %v", len(ups), err)
	}
	if int64(ups[0].UpdateID) != textID || ups[0].Message.MessageID != 1 {
		t.Errorf("first = %+v", ups[0])
	}
	if len(ups[1].Message.Photo) == 0 || ups[2].Message.Sticker == nil || ups[3].Message.Document.FileName != "giay-khai-sinh.pdf" {
		t.Errorf("photo/sticker/document = %+v %+v %+v", ups[1].Message, ups[2].Message, ups[3].Message)
	}
	if e := ups[4].EditedMessage; e == nil || e.Text != "Nguyễn Văn B" || e.EditDate == 0 || e.MessageID != 1 {
		t.Errorf("edited = %+v", ups[4].EditedMessage)
	}
	if int64(ups[5].UpdateID) != rawID || ups[5].MyChatMember == nil || ups[5].MyChatMember.Chat.ID != 501 {
		t.Errorf("raw = %+v", ups[5])
	}
	if m := emu.Metrics(); m.Updates != 6 {
		t.Errorf("Metrics.Updates = %d", m.Updates)
	}
}

func TestServer_CloseReleasesLongPoll(t *testing.T) {
	emu, _, bot := newEmulator(t, Options{})
	done := make(chan error, 1)
	go func() {
		_, err := bot.GetUpdates(tgbotapi.UpdateConfig{Timeout: 30})
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	emu.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("getUpdates after Close: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not release the long poll")
	}
}

func TestServer_NewerPollTerminatesOlder(t *testing.T) {
	_, _, bot := newEmulator(t, Options{})
	done := make(chan error, 1)
	go func() {
		_, err := bot.GetUpdates(tgbotapi.UpdateConfig{Timeout: 30})
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	if _, err := bot.GetUpdates(tgbotapi.UpdateConfig{}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if e := tgError(t, err); e.Code != 409 || !strings.Contains(e.Message, "terminated by other getUpdates request") {
			t.Errorf("older poll = %d %q", e.Code, e.Message)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("older poll still waiting")
	}
}

func TestServer_JSONBodyAndQueryParameters(t *testing.T) {
	emu, ts, _ := newEmulator(t, Options{})
	chatID := emu.AddChat(parent)
	body := `{"chat_id":501,"text":"JSON","reply_markup":{"inline_keyboard":[[{"text":"A","callback_data":"a"}]]}}`
	resp, err := http.Post(ts.URL+"/bot"+testToken+"/sendMessage", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		OK     bool `json:"ok"`
		Result struct {
			MessageID   int             `json:"message_id"`
			ReplyMarkup json.RawMessage `json:"reply_markup"`
		} `json:"result"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&env)
	resp.Body.Close()
	if !env.OK || env.Result.MessageID != 1 || !strings.Contains(string(env.Result.ReplyMarkup), `"callback_data":"a"`) {
		t.Fatalf("JSON call = %+v", env)
	}
	resp, err = http.Get(ts.URL + "/bot" + testToken + "/sendMessage?chat_id=501&text=query")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if last, _ := emu.LastMessage(chatID); resp.StatusCode != 200 || last.Text != "query" {
		t.Fatalf("query call = %d, last %+v", resp.StatusCode, last)
	}
	resp, err = http.Post(ts.URL+"/bot"+testToken+"/sendMessage", "application/json", strings.NewReader(`{"chat_id":`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("broken JSON = %d", resp.StatusCode)
	}
}
