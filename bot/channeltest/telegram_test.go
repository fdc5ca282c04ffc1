package channeltest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/bot/telegram"
	"github.com/thuduc/maytinhchoem/bot/telegram/telegramtest"
	"github.com/thuduc/maytinhchoem/chat"
)

const (
	tgToken        = "7000000001:channeltest-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	tgTextUnits    = 4096 // UTF-16 units of a Telegram message text
	tgCaptionUnits = 1024 // of a caption
	tgNoticeUnits  = 200  // of a callback answer
)

// TestTelegram sends every golden conversation through the Telegram adapter to the Bot API
// emulator; see the package documentation.
func TestTelegram(t *testing.T) {
	t.Parallel()
	convs := loadGoldens(t)
	var seen visits
	var n counts
	t.Run("golden", func(t *testing.T) {
		for _, c := range convs {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				newTelegramRun(t).conversation(c, &seen, &n)
			})
		}
	})
	if !filterActive() {
		seen.check(t, "telegram", convs)
	}
	t.Logf("telegram: %d conversations, %d outputs (%d as edits of the pressed message), %d new messages, %d buttons pressed and mapped back",
		n.conversations.Load(), n.outputs.Load(), n.edits.Load(), n.messages.Load(), n.buttons.Load())
}

// telegramRun is one conversation against its own emulator.
type telegramRun struct {
	t     *testing.T
	ctx   context.Context
	emu   *telegramtest.Server
	url   string
	a     *telegram.Adapter
	chats map[string]int64 // "" is the person of the conversation, else a "to" address
	users map[int64]telegramtest.User
	dir   string
}

func newTelegramRun(t *testing.T) *telegramRun {
	emu := telegramtest.New(telegramtest.Options{Token: tgToken, BotUsername: "maytinh_bot", Limits: telegramtest.Limits{Disabled: true}})
	srv := httptest.NewServer(emu)
	t.Cleanup(func() {
		emu.Close()
		srv.Close()
	})
	a, err := telegram.New(context.Background(), telegram.Config{
		Token: tgToken, APIURL: srv.URL, HTTPTimeout: 5 * time.Second, PollTimeout: 1,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("telegram.New: %v", err)
	}
	t.Cleanup(a.Close)
	r := &telegramRun{t: t, ctx: t.Context(), emu: emu, url: srv.URL, a: a,
		chats: map[string]int64{}, users: map[int64]telegramtest.User{}, dir: t.TempDir()}
	r.chat("")
	return r
}

// chat is the chat of the person of the conversation (""), or of the person a "to" address names.
func (r *telegramRun) chat(to string) int64 {
	if id, ok := r.chats[to]; ok {
		return id
	}
	u := telegramtest.User{ID: int64(5550001 + len(r.chats)), FirstName: "Người dùng", LastName: strconv.Itoa(len(r.chats) + 1), LanguageCode: "vi"}
	id := r.emu.AddChat(u)
	r.chats[to], r.users[id] = id, u
	return id
}

func (r *telegramRun) conversation(c conversation, seen *visits, n *counts) {
	t := r.t
	sent := 0
	for i, turn := range c.Turns {
		var in chat.Update
		if data, ok := pressInput(turn.Input); ok {
			in = r.press(data)
		}
		answered := false
		outs := turn.Output
		for j, g := range outs {
			b := buildOutput(t, r.dir, g)
			reply := chat.Reply{Output: b.out, Channel: telegram.Channel}
			where := fmt.Sprintf("turn %d (%s), output %d", i+1, turn.Input, j+1)
			if b.photo != "" {
				// The golden's photo id is no file_id this emulator has: only the caption goes.
				reply.File = nil
			}
			if b.to != "" {
				// A notice to another person, as the outbox sends it: it neither answers the press
				// nor replaces anything.
				reply.ChatID = strconv.FormatInt(r.chat(b.to), 10)
				reply.Replace, reply.Ack = false, ""
			} else {
				reply.ChatID = strconv.FormatInt(r.chat(""), 10)
				if !answered {
					reply.AckID = in.AckID
					answered = true
				}
				if reply.Replace && in.Kind == chat.KindChoice {
					reply.ReplaceID = in.MessageID
				}
			}
			r.send(where, reply, n)
			sent++
			n.outputs.Add(1)
		}
		if len(outs) == 0 && in.AckID != "" {
			// The dispatcher still answers the press, silently.
			r.send(fmt.Sprintf("turn %d (%s), the press's answer", i+1, turn.Input),
				chat.Reply{Channel: telegram.Channel, ChatID: in.ChatID, AckID: in.AckID}, n)
		}
	}
	// Nothing refused, an edit that would change nothing ("message is not modified") included:
	// the flows never ask for one.
	for _, rc := range r.emu.RejectedCalls() {
		t.Errorf("the Bot API emulator refused %s: %d %s %v", rc.Method, rc.Code, rc.Description, rc.Params)
	}
	if unknown := r.emu.UnknownParams(); len(unknown) > 0 {
		t.Errorf("parameters the Bot API does not know: %v", unknown)
	}
	if !t.Failed() {
		seen.done(c.name, sent)
		n.conversations.Add(1)
	}
}

// press presses the newest button with data in the person's chat, as the golden's input did, and
// returns the update the adapter makes of it; the zero Update when no message shows that button
// (a stale or made-up press in the golden).
func (r *telegramRun) press(data string) chat.Update {
	cid := r.chat("")
	msgs := r.emu.Messages(cid)
	for _, m := range slices.Backward(msgs) {
		if m.Deleted {
			continue
		}
		for _, row := range m.InlineKeyboard {
			for _, b := range row {
				if b.CallbackData == data {
					return r.pressButton(cid, m.MessageID, data)
				}
			}
		}
	}
	return chat.Update{}
}

// pressButton presses a button, reads the update from the emulator and checks what the adapter
// makes of it.
func (r *telegramRun) pressButton(cid int64, messageID int, data string) chat.Update {
	t := r.t
	t.Helper()
	id, err := r.emu.PressButton(cid, r.users[cid], messageID, data)
	if err != nil {
		t.Fatalf("press %q under message %d: %v", data, messageID, err)
	}
	raw := r.update(id)
	in, ok, err := r.a.ParseUpdate(raw)
	if err != nil || !ok {
		t.Fatalf("ParseUpdate of the press of %q: ok %v, err %v: %s", data, ok, err, raw)
	}
	if in.Kind != chat.KindChoice || in.Data != data || in.ChatID != strconv.FormatInt(cid, 10) ||
		in.MessageID != strconv.Itoa(messageID) || in.AckID == "" {
		t.Errorf("pressing %q under message %d came back as %+v", data, messageID, in.Input)
	}
	return in
}

// update fetches the update with id from the emulator (getUpdates, which also confirms those
// before it).
func (r *telegramRun) update(id int64) json.RawMessage {
	t := r.t
	t.Helper()
	url := fmt.Sprintf("%s/bot%s/getUpdates?offset=%d&timeout=0", r.url, tgToken, id)
	req, err := http.NewRequestWithContext(r.ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		OK     bool              `json:"ok"`
		Result []json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(body, &env); err != nil || !env.OK {
		t.Fatalf("getUpdates: %v %s", err, body)
	}
	for _, raw := range env.Result {
		var u struct {
			UpdateID int64 `json:"update_id"`
		}
		if json.Unmarshal(raw, &u) == nil && u.UpdateID == id {
			return raw
		}
	}
	t.Fatalf("getUpdates has no update %d: %s", id, body)
	return nil
}

// send sends one reply and checks what the chat shows.
func (r *telegramRun) send(where string, reply chat.Reply, n *counts) {
	t := r.t
	t.Helper()
	cid, _ := strconv.ParseInt(reply.ChatID, 10, 64)
	before := map[int]telegramtest.Message{}
	for _, m := range r.emu.Messages(cid) {
		before[m.MessageID] = m
	}
	answers := len(r.emu.CallbackAnswers(cid))
	if err := r.a.Send(r.ctx, reply); err != nil {
		t.Errorf("%s: Send: %v", where, err)
		return
	}
	var fresh []telegramtest.Message
	var replaced *telegramtest.Message // the pressed message a Replace names, after the Send
	changed := false
	for _, m := range r.emu.Messages(cid) {
		old, ok := before[m.MessageID]
		switch {
		case !ok:
			fresh = append(fresh, m)
		case strconv.Itoa(m.MessageID) == reply.ReplaceID:
			replaced = &m
			changed = m.Text != old.Text || !slices.Equal(m.Buttons(), old.Buttons()) || m.Edited != old.Edited
		}
	}
	n.messages.Add(int64(len(fresh)))

	if reply.AckID != "" {
		got := r.emu.CallbackAnswers(cid)
		if len(got) != answers+1 {
			t.Errorf("%s: the button press was answered %d times", where, len(got)-answers)
		} else if want := truncateUnits(reply.Ack, tgNoticeUnits); got[len(got)-1].Text != want {
			t.Errorf("%s: the press was answered %q, want the ack %q", where, got[len(got)-1].Text, want)
		}
	}
	text := strings.TrimSpace(reply.Text)
	if text == "" && reply.File == nil {
		if len(fresh) > 0 {
			t.Errorf("%s: a reply without text sent %d messages", where, len(fresh))
		}
		return
	}
	var shown []telegramtest.Message
	switch {
	case len(fresh) > 0:
		if changed {
			t.Errorf("%s: the reply both edited message %s and sent %d new ones", where, reply.ReplaceID, len(fresh))
		}
		shown = fresh
	case replaced != nil:
		// Edited in place.
		shown = []telegramtest.Message{*replaced}
		n.edits.Add(1)
	default:
		t.Errorf("%s: nothing shown for %q", where, clip(text))
		return
	}

	var parts []string
	var keyboard *telegramtest.Message
	file := false
	for i := range shown {
		m := &shown[i]
		if u := utf16Len(m.Text); u > tgTextUnits {
			t.Errorf("%s: message %d has %d UTF-16 units, Telegram takes %d", where, m.MessageID, u, tgTextUnits)
		}
		if u := utf16Len(m.Caption); u > tgCaptionUnits {
			t.Errorf("%s: caption of message %d has %d UTF-16 units, Telegram takes %d", where, m.MessageID, u, tgCaptionUnits)
		}
		if m.Document != "" || m.Photo != "" {
			file = true
			if reply.File != nil && m.Document != reply.File.Name && m.Photo != reply.File.Name {
				t.Errorf("%s: file sent as %q/%q, want %q", where, m.Document, m.Photo, reply.File.Name)
			}
		}
		parts = append(parts, m.Text, m.Caption)
		if m.InlineKeyboard != nil {
			if keyboard != nil {
				t.Errorf("%s: inline buttons under messages %d and %d", where, keyboard.MessageID, m.MessageID)
			}
			keyboard = m
		}
	}
	if reply.File != nil && !file {
		t.Errorf("%s: the file %s was not sent", where, reply.File.Name)
	}
	if got := normalizeSpace(strings.Join(parts, " ")); got != normalizeSpace(text) {
		t.Errorf("%s: the chat shows\n%s\nwant\n%s", where, got, normalizeSpace(text))
	}

	want := reply.Buttons
	switch {
	case len(flatButtons(reply.Output)) == 0 && keyboard != nil:
		t.Errorf("%s: message %d has buttons %v, the output none", where, keyboard.MessageID, keyboard.Buttons())
	case len(flatButtons(reply.Output)) > 0 && keyboard == nil:
		t.Errorf("%s: the output's buttons are not shown", where)
	case keyboard != nil:
		if got := inlineRows(keyboard.InlineKeyboard); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("%s: inline keyboard %v, want %v", where, got, want)
		}
		if keyboard.MessageID != shown[len(shown)-1].MessageID {
			t.Errorf("%s: the buttons are not under the last part", where)
		}
		for _, b := range flatButtons(reply.Output) {
			r.pressButton(cid, keyboard.MessageID, b.Data)
			n.buttons.Add(1)
		}
	}

	kb := r.emu.CurrentKeyboard(cid)
	if c := reply.AskContact; c != nil {
		want := [][]telegramtest.KeyboardButton{{{Text: c.Label, RequestContact: true}}}
		for _, s := range c.Suggestions {
			want = append(want, []telegramtest.KeyboardButton{{Text: s}})
		}
		if !slices.EqualFunc(kb, want, slices.Equal) {
			t.Errorf("%s: reply keyboard %+v, want %+v", where, kb, want)
		}
	} else if reply.EndContactRequest && len(reply.Buttons) == 0 && kb != nil {
		t.Errorf("%s: the phone keyboard is still shown after the end of the request: %+v", where, kb)
	}
}

// inlineRows is an inline keyboard as chat.Buttons.
func inlineRows(rows [][]telegramtest.Button) [][]chat.Button {
	var out [][]chat.Button
	for _, row := range rows {
		var r []chat.Button
		for _, b := range row {
			r = append(r, chat.Button{Text: b.Text, Data: b.CallbackData})
		}
		out = append(out, r)
	}
	return out
}

// utf16Len counts UTF-16 code units, Telegram's measure of texts.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}

// truncateUnits shortens s to at most limit UTF-16 units ending in "…", as the adapter cuts acks.
func truncateUnits(s string, limit int) string {
	if utf16Len(s) <= limit {
		return s
	}
	units := 0
	for i, r := range s {
		w := 1
		if r >= 0x10000 {
			w = 2
		}
		if units+w > limit-1 {
			return s[:i] + "…"
		}
		units += w
	}
	return s
}

// clip shortens a text for a failure message.
func clip(s string) string {
	if r := []rune(s); len(r) > 80 {
		return string(r[:80]) + "…"
	}
	return s
}
