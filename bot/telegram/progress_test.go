package telegram

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/thuduc/maytinhchoem/bot/telegram/telegramtest"
	"github.com/thuduc/maytinhchoem/chat"
)

// A progress message is sent once and edited in place; an edit to the text it shows is not an
// error (Telegram's "message is not modified" is taken as done); a message that is gone is
// ErrRejected. The emulator refuses nothing else.
func TestEmulator_Progress(t *testing.T) {
	emu, a := emulated(t, telegramtest.Options{})
	cid := emu.AddChat(lan)
	chatID := strconv.FormatInt(cid, 10)
	ctx := context.Background()

	id, err := a.SendProgress(ctx, chatID, "⏳ Đang đọc danh sách: đã đọc 500 dòng…")
	if err != nil || id == "" {
		t.Fatalf("SendProgress = %q, %v", id, err)
	}
	for _, text := range []string{"⏳ Đang đọc danh sách: đã đọc 1000 dòng…", "✅ Đã xử lý xong 1200 dòng."} {
		if err := a.EditProgress(ctx, chatID, id, text); err != nil {
			t.Fatalf("EditProgress(%q): %v", text, err)
		}
	}
	if err := a.EditProgress(ctx, chatID, id, "✅ Đã xử lý xong 1200 dòng."); err != nil {
		t.Errorf("an edit to the same text: %v", err)
	}
	msgs := emu.Messages(cid)
	if len(msgs) != 1 || strconv.Itoa(msgs[0].MessageID) != id || msgs[0].Text != "✅ Đã xử lý xong 1200 dòng." || !msgs[0].Edited {
		t.Errorf("messages = %+v, want the one message, edited", msgs)
	}
	if n := emu.Calls("sendMessage"); n != 1 {
		t.Errorf("sendMessage called %d times", n)
	}
	checkRejected(t, emu, "message is not modified")

	if err := a.EditProgress(ctx, chatID, "999999", "⏳ …"); !errors.Is(err, chat.ErrRejected) {
		t.Errorf("editing a message that is not there: %v, want ErrRejected", err)
	}
	for _, bad := range [][3]string{{"x", id, "a"}, {chatID, "x", "a"}, {chatID, id, "  "}} {
		if err := a.EditProgress(ctx, bad[0], bad[1], bad[2]); !errors.Is(err, chat.ErrRejected) {
			t.Errorf("EditProgress(%q) = %v, want ErrRejected", bad, err)
		}
	}
	if _, err := a.SendProgress(ctx, chatID, " "); !errors.Is(err, chat.ErrRejected) {
		t.Errorf("SendProgress without a text = %v, want ErrRejected", err)
	}
}
