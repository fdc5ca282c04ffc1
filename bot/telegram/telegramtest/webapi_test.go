package telegramtest

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// getJSON fetches a URL and decodes its JSON answer.
func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("decode %s: %v", url, err)
	}
	return resp.StatusCode
}

// postJSON posts a JSON body and returns the status.
func postJSON(t *testing.T, url, body string) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestServer_ChatPage(t *testing.T) {
	_, ts, _ := newEmulator(t, Options{})
	resp, err := http.Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"Đây là bản mô phỏng Telegram (demo)", ">Gửi<", "Chia sẻ số điện thoại", "/api/messages", "+84912345678"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if lines := strings.Count(string(body), "\n"); lines > 400 {
		t.Errorf("page has %d lines, keep it under 400", lines)
	}
	resp, err = http.Get(ts.URL + "/nothing-here")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("GET /nothing-here = %d", resp.StatusCode)
	}
}

func TestServer_UserAPI(t *testing.T) {
	emu, ts, bot := newEmulator(t, Options{Limits: Limits{Disabled: true}})
	api := ts.URL + "/api/"

	var chat struct {
		ChatID int64 `json:"chat_id"`
		User   struct {
			FirstName    string `json:"first_name"`
			LanguageCode string `json:"language_code"`
		} `json:"user"`
		Bot struct {
			Username string `json:"username"`
		} `json:"bot"`
	}
	if code := getJSON(t, api+"chat?user=777&lang=en", &chat); code != 200 || chat.ChatID != 777 || chat.Bot.Username != "maytinhchoem_bot" || chat.User.LanguageCode != "en" {
		t.Fatalf("/api/chat = %d %+v", code, chat)
	}
	var bad map[string]string
	if code := getJSON(t, api+"chat?user=abc", &bad); code != 400 || bad["error"] == "" {
		t.Errorf("/api/chat with a bad user = %d %v", code, bad)
	}

	if code := postJSON(t, api+"send", `{"user":777,"lang":"en","text":"/start"}`); code != 200 {
		t.Fatalf("/api/send = %d", code)
	}
	ups, err := bot.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || len(ups) != 1 || ups[0].Message.Text != "/start" || ups[0].Message.From.LanguageCode != "en" || !ups[0].Message.IsCommand() {
		t.Fatalf("update from the page = %+v, %v", ups, err)
	}
	offset := ups[0].UpdateID + 1

	reply := tgbotapi.NewMessage(777, "<b>Chào</b> bạn &amp; gia đình\n<i>Chọn:</i>")
	reply.ParseMode = tgbotapi.ModeHTML
	reply.ReplyMarkup = tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("Đăng ký", "reg")))
	sent, err := bot.Send(reply)
	if err != nil {
		t.Fatal(err)
	}
	if sent.Text != "Chào bạn & gia đình\nChọn:" {
		t.Errorf("text without tags = %q", sent.Text)
	}
	keyboard := tgbotapi.NewMessage(777, "Chia sẻ số <script>alert(1)</script> của bạn")
	keyboard.ReplyMarkup = tgbotapi.NewReplyKeyboard(tgbotapi.NewKeyboardButtonRow(tgbotapi.NewKeyboardButtonContact("Chia sẻ số điện thoại")))
	if _, err := bot.Send(keyboard); err != nil {
		t.Fatal(err)
	}

	var page pageUpdate
	getJSON(t, api+"messages?user=777&since=0", &page)
	if len(page.Messages) != 3 {
		t.Fatalf("messages = %+v", page.Messages)
	}
	user, first, second := page.Messages[0], page.Messages[1], page.Messages[2]
	if user.From != "user" || user.HTML != "/start" || first.From != "bot" {
		t.Errorf("sides = %+v %+v", user, first)
	}
	if first.HTML != "<b>Chào</b> bạn &amp; gia đình\n<i>Chọn:</i>" {
		t.Errorf("rendered HTML = %q", first.HTML)
	}
	if second.HTML != "Chia sẻ số &lt;script&gt;alert(1)&lt;/script&gt; của bạn" {
		t.Errorf("plain text not escaped: %q", second.HTML)
	}
	if len(first.Inline) != 1 || first.Inline[0][0].CallbackData != "reg" {
		t.Errorf("inline keyboard = %+v", first.Inline)
	}
	if len(page.Keyboard) != 1 || !page.Keyboard[0][0].RequestContact || page.Keyboard[0][0].Text != "Chia sẻ số điện thoại" {
		t.Errorf("reply keyboard = %+v", page.Keyboard)
	}

	// Nothing new: a poll without wait answers at once with no messages.
	var idle pageUpdate
	getJSON(t, api+"messages?user=777&since="+itoa(page.Cursor), &idle)
	if len(idle.Messages) != 0 || idle.Cursor != page.Cursor {
		t.Errorf("idle poll = %+v", idle)
	}

	// A long poll returns when the bot edits a message; the edit replaces the bubble.
	done := make(chan pageUpdate, 1)
	go func() {
		var next pageUpdate
		if resp, err := http.Get(api + "messages?user=777&wait=10&since=" + itoa(page.Cursor)); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&next)
			resp.Body.Close()
		}
		done <- next
	}()
	time.Sleep(100 * time.Millisecond)
	if _, err := bot.Send(tgbotapi.NewEditMessageText(777, sent.MessageID, "Đã cập nhật")); err != nil {
		t.Fatal(err)
	}
	select {
	case next := <-done:
		if len(next.Messages) != 1 || next.Messages[0].MessageID != sent.MessageID || !next.Messages[0].Edited || next.Messages[0].HTML != "Đã cập nhật" || next.Cursor <= page.Cursor {
			t.Errorf("long poll = %+v", next)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("long poll did not return on the edit")
	}

	if code := postJSON(t, api+"contact", `{"user":777,"lang":"en","phone":"+84912345678"}`); code != 200 {
		t.Fatalf("/api/contact = %d", code)
	}
	if code := postJSON(t, api+"press", `{"user":777,"lang":"en","message_id":`+itoa(int64(sent.MessageID))+`,"data":"nope"}`); code != 400 {
		t.Errorf("/api/press with unknown data = %d", code)
	}
	if _, err := bot.Send(tgbotapi.NewEditMessageTextAndMarkup(777, sent.MessageID, "Chọn lại", tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("Đăng ký", "reg"))))); err != nil {
		t.Fatal(err)
	}
	if code := postJSON(t, api+"press", `{"user":777,"lang":"en","message_id":`+itoa(int64(sent.MessageID))+`,"data":"reg"}`); code != 200 {
		t.Fatalf("/api/press = %d", code)
	}
	ups, err = bot.GetUpdates(tgbotapi.UpdateConfig{Offset: offset})
	if err != nil || len(ups) != 2 {
		t.Fatalf("updates after contact and press = %d, %v", len(ups), err)
	}
	if c := ups[0].Message.Contact; c == nil || c.PhoneNumber != "+84912345678" || c.UserID != 777 {
		t.Errorf("contact = %+v", ups[0].Message)
	}
	q := ups[1].CallbackQuery
	if q == nil || q.Data != "reg" || q.From.ID != 777 {
		t.Fatalf("callback = %+v", ups[1])
	}
	if _, err := bot.Request(tgbotapi.NewCallbackWithAlert(q.ID, "Đã ghi nhận")); err != nil {
		t.Fatal(err)
	}
	var notices pageUpdate
	getJSON(t, api+"messages?user=777&since="+itoa(page.Cursor), &notices)
	if len(notices.Notices) != 1 || notices.Notices[0].Text != "Đã ghi nhận" || !notices.Notices[0].ShowAlert {
		t.Errorf("notices = %+v", notices.Notices)
	}
	if code := postJSON(t, api+"send", `{"user":777,"text":"   "}`); code != 400 {
		t.Errorf("empty text = %d", code)
	}
	if code := postJSON(t, api+"send", `not json`); code != 400 {
		t.Errorf("bad JSON = %d", code)
	}
	if n := len(emu.RejectedCalls()); n != 0 {
		t.Errorf("rejected calls: %+v", emu.RejectedCalls())
	}
}

func itoa(n int64) string {
	return strconv.FormatInt(n, 10)
}

func TestServer_PageNote(t *testing.T) {
	const note = "Bản demo: hôm nay là 10/09/2021 · Demo day: 10 Sep 2021 <b>&</b>"
	_, ts, _ := newEmulator(t, Options{PageNote: note})
	var chat struct {
		Note *string `json:"note"`
	}
	if code := getJSON(t, ts.URL+"/api/chat?user=5", &chat); code != 200 || chat.Note == nil || *chat.Note != note {
		t.Fatalf("/api/chat = %d, note %v; want %q", code, chat.Note, note)
	}
	_, plain, _ := newEmulator(t, Options{})
	chat.Note = nil
	if code := getJSON(t, plain.URL+"/api/chat?user=5", &chat); code != 200 || chat.Note == nil || *chat.Note != "" {
		t.Fatalf("/api/chat without a note = %d, note %v; want \"\"", code, chat.Note)
	}

	// The page shows it as text, and only when there is one.
	resp, err := http.Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`<p id="note" hidden>`, `$("note").textContent = info.note || ""`, `$("note").hidden = !info.note`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(string(body), "innerHTML = info.note") {
		t.Error("the page puts the note in as markup")
	}
}
