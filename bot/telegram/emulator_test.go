package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/bot/telegram/telegramtest"
	"github.com/thuduc/maytinhchoem/chat"
)

// The tests in this file run the real library against the Bot API emulator, which holds every call
// against the official description of the Bot API.

var lan = telegramtest.User{ID: 5550001, FirstName: "Lan", LastName: "Nguyễn", LanguageCode: "vi"}

// emulated starts the emulator and an Adapter connected to it. The emulator must find no call
// the adapter got wrong by the end of the test.
func emulated(t *testing.T, opts telegramtest.Options) (*telegramtest.Server, *Adapter) {
	t.Helper()
	opts.Token = testToken
	if opts.BotUsername == "" {
		opts.BotUsername = "maytinh_bot"
	}
	emu := telegramtest.New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(func() {
		emu.Close()
		srv.Close()
	})
	a, err := New(context.Background(), testConfig(t, srv.URL))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(a.Close)
	t.Cleanup(func() {
		if unknown := emu.UnknownParams(); len(unknown) > 0 {
			t.Errorf("parameters the Bot API does not know: %v", unknown)
		}
	})
	return emu, a
}

// checkRejected fails the test for calls the emulator refused, but those whose description
// contains one of allowed.
func checkRejected(t *testing.T, emu *telegramtest.Server, allowed ...string) {
	t.Helper()
	for _, rc := range emu.RejectedCalls() {
		ok := false
		for _, a := range allowed {
			ok = ok || strings.Contains(rc.Description, a)
		}
		if !ok {
			t.Errorf("emulator refused %s: %d %s %v", rc.Method, rc.Code, rc.Description, rc.Params)
		}
	}
}

// inbox collects what Poll hands over.
type inbox struct {
	ch chan chat.Update
}

func (b *inbox) handle(_ context.Context, batch []chat.Update) error {
	for _, in := range batch {
		b.ch <- in
	}
	return nil
}

func (b *inbox) next(t *testing.T) chat.Update {
	t.Helper()
	select {
	case in := <-b.ch:
		return in
	case <-time.After(10 * time.Second):
		t.Fatal("no input came")
		return chat.Update{}
	}
}

func wait(t *testing.T, emu *telegramtest.Server, chatID int64, n int) []telegramtest.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, err := emu.WaitForMessages(ctx, chatID, n)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// A conversation through the emulator: a command with a payload, inline buttons pressed and
// ticked in place, a contact shared through a request_contact keyboard that is then removed.
func TestEmulator_conversation(t *testing.T) {
	emu, a := emulated(t, telegramtest.Options{Limits: telegramtest.Limits{Disabled: true}})
	box := &inbox{ch: make(chan chat.Update, 16)}
	startPoll(t, a, newMemOffsets(), box.handle)
	ctx := context.Background()
	cid := emu.AddChat(lan)
	send := func(o chat.Output, edit string, callback string) {
		t.Helper()
		r := chat.Reply{Output: o, Channel: Channel, ChatID: fmt.Sprint(cid), ReplaceID: edit, AckID: callback}
		if err := a.Send(ctx, r); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}

	emu.SendText(cid, lan, "/start reg-2021")
	in := box.next(t)
	if in.Kind != chat.KindCommand || in.Command != "start" || in.Args != "reg-2021" || in.UserID != "5550001" ||
		in.ChatID != "5550001" || in.ClientLanguage != "vi" || in.Channel != "telegram" {
		t.Fatalf("start input = %+v", in)
	}

	subjects := [][]chat.Button{{{Text: "Toán", Data: "subj:math"}, {Text: "Văn", Data: "subj:lit"}}, {{Text: "Xong", Data: "subj:done"}}}
	send(chat.Output{Text: "Con học môn gì? (chọn nhiều)", Buttons: subjects}, "", "")
	msgs := wait(t, emu, cid, 1)
	question := msgs[0]
	if got := question.Buttons(); !reflect.DeepEqual(got, []string{"Toán", "Văn", "Xong"}) {
		t.Fatalf("buttons = %v", got)
	}

	if _, err := emu.PressButton(cid, lan, question.MessageID, "subj:math"); err != nil {
		t.Fatal(err)
	}
	in = box.next(t)
	if in.Kind != chat.KindChoice || in.Data != "subj:math" || in.MessageID != strconv.Itoa(question.MessageID) || in.AckID == "" {
		t.Fatalf("callback input = %+v", in)
	}
	ticked := [][]chat.Button{{{Text: "✓ Toán", Data: "subj:math"}, {Text: "Văn", Data: "subj:lit"}}, {{Text: "Xong", Data: "subj:done"}}}
	send(chat.Output{Text: "Con học môn gì? (chọn nhiều)", Buttons: ticked, Replace: true, Ack: "Đã chọn Toán"}, in.MessageID, in.AckID)
	msgs = emu.Messages(cid)
	if len(msgs) != 1 || !msgs[0].Edited || msgs[0].Buttons()[0] != "✓ Toán" {
		t.Fatalf("after the edit: %+v", msgs)
	}
	answers := emu.CallbackAnswers(cid)
	if len(answers) != 1 || answers[0].Text != "Đã chọn Toán" {
		t.Fatalf("callback answers = %+v", answers)
	}

	// The same press again unticks it, in place too.
	if _, err := emu.PressButton(cid, lan, question.MessageID, "subj:math"); err != nil {
		t.Fatal(err)
	}
	in = box.next(t)
	send(chat.Output{Text: "Con học môn gì? (chọn nhiều)", Buttons: subjects, Replace: true, Ack: "Đã bỏ Toán"}, in.MessageID, in.AckID)
	if msgs := emu.Messages(cid); len(msgs) != 1 || msgs[0].Buttons()[0] != "Toán" {
		t.Fatalf("after the second press: %+v", msgs)
	}
	if answers := emu.CallbackAnswers(cid); len(answers) != 2 || answers[1].Text != "Đã bỏ Toán" {
		t.Fatalf("callback answers = %+v, want one per press", answers)
	}

	send(chat.Output{Text: "Cho xin số điện thoại", AskContact: &chat.ContactRequest{Label: "📱 Gửi số"}}, "", "")
	if kb := emu.CurrentKeyboard(cid); len(kb) != 1 || !kb[0][0].RequestContact {
		t.Fatalf("keyboard = %+v", kb)
	}
	if m, _ := emu.LastMessage(cid); !m.OneTimeKeyboard {
		t.Errorf("keyboard is not one-time: %+v", m)
	}
	emu.SendContact(cid, lan, "84901234567", lan.ID)
	in = box.next(t)
	if in.Kind != chat.KindContact || in.Contact == nil || in.Contact.Phone != "84901234567" || in.Contact.UserID != in.UserID {
		t.Fatalf("contact input = %+v", in)
	}
	send(chat.Output{Text: "Cảm ơn!", EndContactRequest: true}, "", "")
	if kb := emu.CurrentKeyboard(cid); kb != nil {
		t.Errorf("keyboard still shown: %+v", kb)
	}
	if m, _ := emu.LastMessage(cid); !m.RemoveKeyboard {
		t.Errorf("last message did not remove the keyboard: %+v", m)
	}

	emu.SendSticker(cid, lan)
	if in = box.next(t); in.Kind != chat.KindOther {
		t.Errorf("sticker input = %+v", in)
	}
	emu.SendPhoto(cid, lan)
	if in = box.next(t); in.Kind != chat.KindOther {
		t.Errorf("photo input = %+v", in)
	}
	emu.SendText(cid, lan, "Linh Trung")
	text := box.next(t)
	if _, err := emu.EditText(cid, lan, atoi(t, text.MessageID), "Linh Tây"); err != nil {
		t.Fatal(err)
	}
	if in = box.next(t); in.Kind != chat.KindEdited || in.Text != "Linh Tây" || in.MessageID != text.MessageID {
		t.Errorf("edited input = %+v", in)
	}
	checkRejected(t, emu)
}

func TestEmulator_Send(t *testing.T) {
	long := strings.Repeat("Phường Linh Trung, Thủ Đức: 12 em cần máy 😀\n", 120) // over 4096 UTF-16 units
	tests := []struct {
		name  string
		setup func(emu *telegramtest.Server, cid int64)
		reply chat.Output
		check func(t *testing.T, msgs []telegramtest.Message, err error)
	}{
		{
			name:  "long text in parts, buttons on the last",
			reply: chat.Output{Text: long, Buttons: [][]chat.Button{{{Text: "Tiếp", Data: "next"}}}},
			check: func(t *testing.T, msgs []telegramtest.Message, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if len(msgs) != 2 {
					t.Fatalf("%d messages, want 2", len(msgs))
				}
				if msgs[0].InlineKeyboard != nil || len(msgs[1].Buttons()) != 1 {
					t.Errorf("buttons: first %v, last %v", msgs[0].Buttons(), msgs[1].Buttons())
				}
				if got := msgs[0].Text + "\n" + msgs[1].Text; got != strings.TrimSpace(long) {
					t.Errorf("parts do not add up to the text")
				}
			},
		},
		{
			name:  "blocked bot is stopped",
			setup: func(emu *telegramtest.Server, cid int64) { emu.Block(cid) },
			reply: chat.Output{Text: "Nhắc nhở"},
			check: func(t *testing.T, msgs []telegramtest.Message, err error) {
				if !errors.Is(err, chat.ErrStopped) {
					t.Errorf("err = %v, want ErrStopped", err)
				}
			},
		},
		{
			name:  "flood limit is a ThrottledError",
			reply: chat.Output{Text: "x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, a := emulated(t, telegramtest.Options{})
			cid := emu.AddChat(lan)
			if tt.setup != nil {
				tt.setup(emu, cid)
			}
			r := chat.Reply{Output: tt.reply, Channel: Channel, ChatID: fmt.Sprint(cid)}
			if tt.check == nil { // the flood case: send until Telegram asks to wait
				var err error
				for i := 0; i < 10 && err == nil; i++ {
					err = a.Send(context.Background(), r)
				}
				var te *chat.ThrottledError
				if !errors.As(err, &te) || te.RetryAfter < time.Second {
					t.Errorf("err = %v, want a ThrottledError of a second or more", err)
				}
				checkRejected(t, emu)
				return
			}
			err := a.Send(context.Background(), r)
			tt.check(t, emu.Messages(cid), err)
			checkRejected(t, emu)
		})
	}
}

func TestEmulator_SendDocument(t *testing.T) {
	emu, a := emulated(t, telegramtest.Options{})
	cid := emu.AddChat(lan)
	data := []byte("phuong,can,da_nhan\nLinh Trung,12,7\n")
	if err := a.SendDocument(context.Background(), fmt.Sprint(cid), "tien-do.csv", data, "Tiến độ ngày 7/9"); err != nil {
		t.Fatal(err)
	}
	if err := a.SendPhoto(context.Background(), fmt.Sprint(cid), "bieu-do.png", []byte("\x89PNG\r\n\x1a\n"), ""); err != nil {
		t.Fatal(err)
	}
	msgs := emu.Messages(cid)
	if len(msgs) != 2 {
		t.Fatalf("%d messages", len(msgs))
	}
	if msgs[0].Document != "tien-do.csv" || string(msgs[0].FileData) != string(data) || msgs[0].Caption != "Tiến độ ngày 7/9" {
		t.Errorf("document = %+v", msgs[0])
	}
	if msgs[1].Photo != "bieu-do.png" {
		t.Errorf("photo = %+v", msgs[1])
	}
	emu.Block(cid)
	if err := a.SendDocument(context.Background(), fmt.Sprint(cid), "x.csv", data, ""); !errors.Is(err, chat.ErrStopped) {
		t.Errorf("upload to a blocked chat: %v, want ErrStopped", err)
	}
	checkRejected(t, emu)
}

func TestEmulator_Poll(t *testing.T) {
	t.Run("a restart with the same store does not deliver confirmed updates again", func(t *testing.T) {
		emu, first := emulated(t, telegramtest.Options{})
		cid := emu.AddChat(lan)
		store := newMemOffsets()
		rec := &recorder{}
		stop := startPoll(t, first, store, rec.handle)
		emu.SendText(cid, lan, "một")
		emu.SendText(cid, lan, "hai")
		waitFor(t, "two updates", func() bool { return rec.count() == 2 })
		waitFor(t, "the offset", func() bool { return store.get(first.OffsetKey()) > 0 })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		first.Close()

		emu.SendText(cid, lan, "ba") // while no bot is polling
		second, err := New(context.Background(), testConfig(t, apiURLOf(t, first)))
		if err != nil {
			t.Fatal(err)
		}
		defer second.Close()
		rec2 := &recorder{}
		stop = startPoll(t, second, store, rec2.handle)
		waitFor(t, "the update sent while down", func() bool { return rec2.count() == 1 })
		emu.SendText(cid, lan, "bốn")
		waitFor(t, "the next update", func() bool { return rec2.count() == 2 })
		// Telegram learns of a handled update from the next getUpdates's offset; one stopped
		// before that call leaves it to the offset store (the next poller starts past it).
		waitFor(t, "the next update confirmed", func() bool { return emu.PendingUpdates() == 0 })
		_ = stop()
		all := append(rec.all(), rec2.all()...)
		var texts []string
		for _, s := range all {
			texts = append(texts, s[strings.Index(s, ":")+1:])
		}
		if got := strings.Join(texts, ","); got != "một,hai,ba,bốn" {
			t.Errorf("handled %s", got)
		}
		if emu.PendingUpdates() != 0 {
			t.Errorf("%d updates left unconfirmed", emu.PendingUpdates())
		}
		checkRejected(t, emu)
	})

	t.Run("a failing handle gets the same batch again", func(t *testing.T) {
		emu, a := emulated(t, telegramtest.Options{})
		cid := emu.AddChat(lan)
		emu.SendText(cid, lan, "x")
		emu.SendText(cid, lan, "y")
		rec := &recorder{fail: 2}
		store := newMemOffsets()
		stop := startPoll(t, a, store, rec.handle)
		waitFor(t, "three tries", func() bool { return rec.count() == 6 })
		waitFor(t, "the offset", func() bool { return store.get(a.OffsetKey()) > 0 })
		_ = stop()
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for i, b := range rec.batches {
			if !reflect.DeepEqual(b, rec.batches[0]) {
				t.Errorf("batch %d = %v, want %v", i, b, rec.batches[0])
			}
		}
	})

	t.Run("a user blocking the bot goes to OnBlocked", func(t *testing.T) {
		emu, a := emulated(t, telegramtest.Options{})
		cid := emu.AddChat(lan)
		var mu sync.Mutex
		var blocked []string
		a.OnBlocked(func(chatID string) {
			mu.Lock()
			blocked = append(blocked, chatID)
			mu.Unlock()
		})
		rec := &recorder{}
		stop := startPoll(t, a, newMemOffsets(), rec.handle)
		raw, _ := json.Marshal(map[string]any{"my_chat_member": map[string]any{
			"chat": map[string]any{"id": cid, "type": "private", "first_name": "Lan"},
			"from": map[string]any{"id": cid, "is_bot": false, "first_name": "Lan"}, "date": 1631000000,
			"old_chat_member": map[string]any{"user": map[string]any{"id": 123456, "is_bot": true, "first_name": "Bot"}, "status": "member"},
			"new_chat_member": map[string]any{"user": map[string]any{"id": 123456, "is_bot": true, "first_name": "Bot"}, "status": "kicked", "until_date": 0},
		}})
		if _, err := emu.InjectRaw(raw); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "OnBlocked", func() bool { mu.Lock(); defer mu.Unlock(); return len(blocked) == 1 })
		_ = stop()
		if blocked[0] != fmt.Sprint(cid) || rec.count() != 0 {
			t.Errorf("blocked %v, handled %v", blocked, rec.all())
		}
	})
}

// apiURLOf is the API URL an Adapter was configured with.
func apiURLOf(t *testing.T, a *Adapter) string {
	t.Helper()
	return strings.TrimSuffix(strings.ReplaceAll(a.endpoint, "%%", "%"), "/bot%s/%s")
}

func TestEmulator_Webhook(t *testing.T) {
	emu, a := emulated(t, telegramtest.Options{WebhookBackoff: 5 * time.Millisecond, WebhookAttempts: 3})
	cid := emu.AddChat(lan)
	got := make(chan chat.Update, 4)
	hook := httptest.NewServer(a.WebhookHandler(testSecret, func(_ context.Context, in chat.Update) error {
		got <- in
		return nil
	}))
	defer hook.Close()
	wrong := 0
	var wrongMu sync.Mutex
	impostor := httptest.NewServer(a.WebhookHandler("another_secret", func(context.Context, chat.Update) error {
		wrongMu.Lock()
		wrong++
		wrongMu.Unlock()
		return nil
	}))
	defer impostor.Close()

	if err := a.SetWebhook(context.Background(), hook.URL+"/telegram", testSecret); err != nil {
		t.Fatal(err)
	}
	emu.SendText(cid, lan, "/status")
	select {
	case in := <-got:
		if in.Command != "status" || in.ChatID != fmt.Sprint(cid) {
			t.Errorf("webhook input = %+v", in)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no update through the webhook")
	}

	// A handler with another secret refuses the deliveries: handle is never called.
	if err := a.SetWebhook(context.Background(), impostor.URL+"/telegram", testSecret); err != nil {
		t.Fatal(err)
	}
	emu.SendText(cid, lan, "x")
	waitFor(t, "deliveries given up", func() bool { return emu.Metrics().WebhookDropped == 1 })
	wrongMu.Lock()
	if wrong != 0 {
		t.Errorf("handle called %d times with the wrong secret", wrong)
	}
	wrongMu.Unlock()

	if err := a.DeleteWebhook(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkRejected(t, emu)
}

func TestEmulator_SetCommands(t *testing.T) {
	emu, a := emulated(t, telegramtest.Options{})
	vi := []Command{{Name: "start", Description: "Bắt đầu"}, {Name: "dangky", Description: "Đăng ký cho con"}}
	en := []Command{{Name: "start", Description: "Start"}, {Name: "dangky", Description: "Register a child"}}
	if err := a.SetCommands(context.Background(), map[string][]Command{"vi": vi, "en": en}); err != nil {
		t.Fatal(err)
	}
	want := func(list []Command) []telegramtest.BotCommand {
		var out []telegramtest.BotCommand
		for _, c := range list {
			out = append(out, telegramtest.BotCommand{Command: c.Name, Description: c.Description})
		}
		return out
	}
	for lang, list := range map[string][]Command{"vi": vi, "en": en, "": vi} {
		if got := emu.Commands(lang); !reflect.DeepEqual(got, want(list)) {
			t.Errorf("commands %q = %+v, want %+v", lang, got, want(list))
		}
	}
	checkRejected(t, emu)
}

// atoi reads a message id the adapter gave as a string.
func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("message id %q: %v", s, err)
	}
	return n
}

// Telegram answers 429 to a message sent too fast into one chat; the sender sends the Reply again
// later, and the press it carries is not answered twice (Telegram would refuse the second answer).
func TestEmulator_answersAPressOnce(t *testing.T) {
	emu, a := emulated(t, telegramtest.Options{})
	box := &inbox{ch: make(chan chat.Update, 4)}
	startPoll(t, a, newMemOffsets(), box.handle)
	ctx := context.Background()
	cid := emu.AddChat(lan)
	question := chat.Reply{Output: chat.Output{Text: "Chọn phường", Buttons: [][]chat.Button{{{Text: "Linh Trung", Data: "w:26800"}}}},
		Channel: Channel, ChatID: fmt.Sprint(cid)}
	if err := a.Send(ctx, question); err != nil {
		t.Fatal(err)
	}
	msg := wait(t, emu, cid, 1)[0]
	if _, err := emu.PressButton(cid, lan, msg.MessageID, "w:26800"); err != nil {
		t.Fatal(err)
	}
	in := box.next(t)
	r := chat.Reply{Output: chat.Output{Text: "Đã chọn Linh Trung", Ack: "Linh Trung"}, Channel: Channel, ChatID: in.ChatID, AckID: in.AckID}
	var te *chat.ThrottledError
	var err error
	for i := 0; i < 10 && !errors.As(err, &te); i++ {
		err = a.Send(ctx, r)
	}
	if !errors.As(err, &te) {
		t.Fatalf("no 429 after 10 messages into one chat: %v", err)
	}
	if n := emu.Calls("answerCallbackQuery"); n != 1 {
		t.Errorf("answerCallbackQuery called %d times, want 1", n)
	}
	if answers := emu.CallbackAnswers(cid); len(answers) != 1 || answers[0].Text != "Linh Trung" {
		t.Errorf("answers = %+v", answers)
	}
	checkRejected(t, emu)
}

// stuckHandler handles updates at once, but the one whose text is "chậm", which it holds until
// released, 30 seconds at most, or Poll stops (then it is not handled).
type stuckHandler struct {
	release chan struct{}
	mu      sync.Mutex
	handled []string // "chat:text"
}

func (h *stuckHandler) handle(ctx context.Context, batch []chat.Update) error {
	for _, in := range batch {
		if in.Text == "chậm" {
			select {
			case <-h.release:
			case <-time.After(30 * time.Second):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		h.mu.Lock()
		h.handled = append(h.handled, in.ChatID+":"+in.Text)
		h.mu.Unlock()
	}
	return nil
}

func (h *stuckHandler) has(s string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Contains(h.handled, s)
}

func (h *stuckHandler) all() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.handled)
}

// One chat stuck on a slow update holds up no other chat; its own next update waits behind it,
// and the offset stored (and confirmed to Telegram) stays at the slow update until it is done.
func TestEmulator_Poll_slowChat(t *testing.T) {
	minh := telegramtest.User{ID: 5550002, FirstName: "Minh", LanguageCode: "vi"}

	t.Run("other chats go on", func(t *testing.T) {
		emu, a := emulated(t, telegramtest.Options{})
		slow, fast := emu.AddChat(lan), emu.AddChat(minh)
		h := &stuckHandler{release: make(chan struct{})}
		store := newMemOffsets()
		stop := startPoll(t, a, store, h.handle)
		stuck := emu.SendText(slow, lan, "chậm")
		emu.SendText(slow, lan, "sau")
		for i := range 5 {
			text := fmt.Sprint("nhanh ", i)
			start := time.Now()
			emu.SendText(fast, minh, text)
			waitFor(t, text, func() bool { return h.has(fmt.Sprint(fast, ":", text)) })
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("%q took %v behind the slow chat", text, d)
			}
		}
		if got := h.all(); slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, fmt.Sprint(slow, ":")) }) {
			t.Errorf("the slow chat's updates were handled while the first was stuck: %v", got)
		}
		if got := store.get(a.OffsetKey()); got > stuck {
			t.Errorf("offset stored %d while update %d is being handled", got, stuck)
		}
		if n := emu.PendingUpdates(); n < 2 {
			t.Errorf("Telegram holds %d updates, want the slow one and those after it", n)
		}

		close(h.release)
		last := emu.SendText(fast, minh, "cuối")
		waitFor(t, "the slow chat", func() bool { return h.has(fmt.Sprint(slow, ":sau")) })
		waitFor(t, "the offset past every update", func() bool { return store.get(a.OffsetKey()) == last+1 })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		var order []string
		for _, s := range h.all() {
			if strings.HasPrefix(s, fmt.Sprint(slow, ":")) {
				order = append(order, s)
			}
		}
		if want := []string{fmt.Sprint(slow, ":chậm"), fmt.Sprint(slow, ":sau")}; !reflect.DeepEqual(order, want) {
			t.Errorf("the slow chat's updates handled as %v, want %v", order, want)
		}
		checkRejected(t, emu)
	})

	t.Run("a restart gets the update that was in flight again", func(t *testing.T) {
		emu, first := emulated(t, telegramtest.Options{})
		slow, fast := emu.AddChat(lan), emu.AddChat(minh)
		h := &stuckHandler{release: make(chan struct{})}
		store := newMemOffsets()
		stop := startPoll(t, first, store, h.handle)
		stuck := emu.SendText(slow, lan, "chậm")
		emu.SendText(fast, minh, "nhanh")
		waitFor(t, "the other chat", func() bool { return h.has(fmt.Sprint(fast, ":nhanh")) })
		// The poller dies with the slow update in flight.
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		first.Close()
		if got := store.get(first.OffsetKey()); got != stuck {
			t.Fatalf("offset stored %d, want %d, the update in flight", got, stuck)
		}

		second, err := New(context.Background(), testConfig(t, apiURLOf(t, first)))
		if err != nil {
			t.Fatal(err)
		}
		defer second.Close()
		rec := &recorder{}
		stop = startPoll(t, second, store, rec.handle)
		waitFor(t, "the updates again", func() bool { return rec.count() == 2 })
		_ = stop()
		// The slow update comes again; so does the one handled after it, which the bot's
		// de-duplication skips. They are of two chats, handled side by side.
		if got := fmt.Sprint(slices.Sorted(slices.Values(rec.all()))); got != fmt.Sprintf("[%d:chậm %d:nhanh]", stuck, stuck+1) {
			t.Errorf("second run handled %s", got)
		}
		checkRejected(t, emu)
	})
}
