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

// pageCall makes a request to the emulator with a chosen Host and headers and returns the status
// and body.
func pageCall(t *testing.T, method, url, host string, header map[string]string, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// With a page token, nobody without it acts as a person, reads a chat or downloads a file; the
// page itself loads and tells how to get in; the bot's own API needs only the bot token.
func TestServer_PageToken(t *testing.T) {
	const token = "PAGETOKEN123"
	emu, ts, bot := newEmulator(t, Options{PageToken: token, Limits: Limits{Disabled: true}})
	chatID := emu.AddChat(User{ID: 1, FirstName: "Admin"})
	doc, err := bot.Send(tgbotapi.NewDocument(chatID, tgbotapi.FileBytes{Name: "danh-sach.csv", Bytes: []byte("ho_ten\nNguyễn Văn A\n")}))
	if err != nil {
		t.Fatalf("the Bot API without the page token: %v", err)
	}
	fileURL := ts.URL + "/api/file?id=" + doc.Document.FileID
	jsonCT := map[string]string{"Content-Type": "application/json"}
	withHeader := map[string]string{"Content-Type": "application/json", "X-Demo-Token": token}
	wrong := map[string]string{"Content-Type": "application/json", "X-Demo-Token": "guess"}

	for _, tc := range []struct {
		name, method, url string
		header            map[string]string
		body              string
	}{
		{"open a chat as the administrator", "GET", ts.URL + "/api/chat?user=1", nil, ""},
		{"read a chat", "GET", ts.URL + "/api/messages?user=1&since=0", nil, ""},
		{"read a chat, wrong token", "GET", ts.URL + "/api/messages?user=1&since=0", wrong, ""},
		{"read a chat, wrong token in the query", "GET", ts.URL + "/api/messages?user=1&since=0&token=guess", nil, ""},
		{"send as the administrator", "POST", ts.URL + "/api/send", jsonCT, `{"user":1,"text":"/invite"}`},
		{"send, wrong token", "POST", ts.URL + "/api/send", wrong, `{"user":1,"text":"/invite"}`},
		{"share a contact", "POST", ts.URL + "/api/contact", jsonCT, `{"user":1,"phone":"+84912345678"}`},
		{"press a button", "POST", ts.URL + "/api/press", jsonCT, `{"user":1,"message_id":1,"data":"x"}`},
		{"send a photo", "POST", ts.URL + "/api/photo", jsonCT, `{"user":1}`},
		{"download a file", "GET", fileURL + "&download=1", nil, ""},
	} {
		code, body := pageCall(t, tc.method, tc.url, "", tc.header, tc.body)
		if code != http.StatusForbidden || !strings.Contains(body, "mở đúng đường link in ra khi chạy demo") {
			t.Errorf("%s without the token = %d %s, want 403 saying to open the printed link", tc.name, code, body)
		}
	}
	if ups, err := bot.GetUpdates(tgbotapi.UpdateConfig{}); err != nil || len(ups) != 0 {
		t.Fatalf("updates from calls without the token = %+v, %v", ups, err)
	}

	// With the token, in the header as the page sends it or in the query as its links carry it.
	if code, body := pageCall(t, "GET", ts.URL+"/api/chat?user=1", "", withHeader, ""); code != 200 {
		t.Errorf("/api/chat with the token = %d %s", code, body)
	}
	if code, body := pageCall(t, "POST", ts.URL+"/api/send", "", withHeader, `{"user":1,"text":"/start"}`); code != 200 {
		t.Errorf("/api/send with the token = %d %s", code, body)
	}
	if code, body := pageCall(t, "GET", ts.URL+"/api/messages?user=1&since=0&token="+token, "", nil, ""); code != 200 || !strings.Contains(body, "danh-sach.csv") {
		t.Errorf("/api/messages with the token in the query = %d %s", code, body)
	}
	if code, body := pageCall(t, "GET", fileURL+"&download=1&token="+token, "", nil, ""); code != 200 || !strings.Contains(body, "Nguyễn Văn A") {
		t.Errorf("/api/file with the token = %d %s", code, body)
	}
	if ups, err := bot.GetUpdates(tgbotapi.UpdateConfig{}); err != nil || len(ups) != 1 || ups[0].Message.Text != "/start" {
		t.Fatalf("updates = %+v, %v; want the one /start sent with the token", ups, err)
	}

	// The page loads without the token, keeps the one in its URL, sends it and says how to get in.
	code, page := pageCall(t, "GET", ts.URL+"/", "", nil, "")
	if code != 200 {
		t.Fatalf("GET / without the token = %d", code)
	}
	for _, want := range []string{`get("token")`, `"X-Demo-Token": TOKEN`, "mở đúng đường link in ra khi chạy demo", `withToken(m.photo.url)`, `withToken(f.url + "&download=1")`, `withToken("/zalo/")`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if n := strings.Count(page, "fetch("); n != 1 {
		t.Errorf("the page calls fetch %d times; want once, in api(), which adds the token", n)
	}
}

// With page hosts, the page and its API answer only under those names: a page of another site
// whose name is made to resolve to 127.0.0.1 (DNS rebinding) gets nothing. The Bot API is apart.
func TestServer_PageHosts(t *testing.T) {
	emu, ts, bot := newEmulator(t, Options{PageHosts: []string{"127.0.0.1:8080", "localhost:8080"}})
	emu.AddChat(User{ID: 1, FirstName: "Admin"})
	for _, host := range []string{"evil.example:8080", "127.0.0.1.nip.io:8080", "127.0.0.1:9999"} {
		for _, path := range []string{"/", "/api/chat?user=1", "/api/messages?user=1&since=0"} {
			if code, body := pageCall(t, "GET", ts.URL+path, host, nil, ""); code != http.StatusMisdirectedRequest {
				t.Errorf("GET %s with Host %s = %d %s, want 421", path, host, code, body)
			}
		}
		if code, _ := pageCall(t, "POST", ts.URL+"/api/send", host, map[string]string{"Content-Type": "application/json"}, `{"user":1,"text":"hi"}`); code != http.StatusMisdirectedRequest {
			t.Errorf("POST /api/send with Host %s = %d, want 421", host, code)
		}
	}
	for _, host := range []string{"127.0.0.1:8080", "LOCALHOST:8080"} {
		if code, body := pageCall(t, "GET", ts.URL+"/api/chat?user=1", host, nil, ""); code != 200 {
			t.Errorf("GET /api/chat with Host %s = %d %s", host, code, body)
		}
	}
	// The bot reaches the Bot API under the test server's own address, which is not a page host.
	if _, err := bot.GetMe(); err != nil {
		t.Errorf("getMe: %v", err)
	}
	if ups, err := bot.GetUpdates(tgbotapi.UpdateConfig{}); err != nil || len(ups) != 0 {
		t.Errorf("updates = %+v, %v; want none", ups, err)
	}
}

// The page's POSTs take only JSON declared as such: a form on another site cannot post one
// without the browser asking first.
func TestServer_PageContentType(t *testing.T) {
	_, ts, bot := newEmulator(t, Options{})
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
		for _, path := range []string{"send", "contact", "press", "photo"} {
			code, body := pageCall(t, "POST", ts.URL+"/api/"+path, "", map[string]string{"Content-Type": ct}, `{"user":9,"text":"hi","phone":"+84912345678"}`)
			if code != http.StatusUnsupportedMediaType || !strings.Contains(body, "application/json") {
				t.Errorf("POST /api/%s as %q = %d %s, want 415", path, ct, code, body)
			}
		}
	}
	if ups, err := bot.GetUpdates(tgbotapi.UpdateConfig{}); err != nil || len(ups) != 0 {
		t.Fatalf("updates from refused posts = %+v, %v", ups, err)
	}
	if code, body := pageCall(t, "POST", ts.URL+"/api/send", "", map[string]string{"Content-Type": "application/json; charset=utf-8"}, `{"user":9,"text":"hi"}`); code != 200 {
		t.Errorf("POST /api/send as JSON with a charset = %d %s", code, body)
	}
}
