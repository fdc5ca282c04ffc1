package telegram

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/thuduc/maytinhchoem/bot/telegram/telegramtest"
	"github.com/thuduc/maytinhchoem/chat"
)

// A list a person sends reaches the flows as a Document whose FileID OpenFile downloads through
// getFile; a file over Telegram's 20 MB is refused as no retry mends.
func TestEmulator_OpenFile(t *testing.T) {
	emu, a := emulated(t, telegramtest.Options{})
	cid := emu.AddChat(lan)
	in := &inbox{ch: make(chan chat.Update, 4)}
	stop := startPoll(t, a, newMemOffsets(), in.handle)
	defer func() { _ = stop() }()

	list := []byte("Họ và tên,Ngày sinh,Lớp\nNguyễn Văn An,05/09/2014,6A\n")
	emu.SendDocumentWith(cid, lan, "danh-sach.csv", list)
	emu.SendDocumentWith(cid, lan, "qua-lon.xlsx", make([]byte, 20<<20+1))
	small, big := in.next(t), in.next(t)
	if small.Kind != chat.KindOther || small.Document == nil || small.Document.Name != "danh-sach.csv" || small.Document.Size != int64(len(list)) {
		t.Fatalf("document input = %+v (document %+v)", small, small.Document)
	}

	f, err := a.OpenFile(context.Background(), small.Document.FileID)
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	got, err := io.ReadAll(f)
	if err != nil || !bytes.Equal(got, list) {
		t.Errorf("read %q, %v; want the list", got, err)
	}
	if err := f.Close(); err != nil {
		t.Error(err)
	}

	if _, err := a.OpenFile(context.Background(), big.Document.FileID); !errors.Is(err, chat.ErrRejected) {
		t.Errorf("OpenFile of 20 MB + 1 = %v, want rejected", err)
	}
	if _, err := a.OpenFile(context.Background(), "BQADnope"); !errors.Is(err, chat.ErrRejected) {
		t.Errorf("OpenFile of an unknown file_id = %v, want rejected", err)
	}
	checkRejected(t, emu, "file is too big", "invalid file_id")
}

// A download longer than 20 MB is cut off with an error, whatever getFile said.
func TestDownload_capped(t *testing.T) {
	d := &download{body: io.NopCloser(bytes.NewReader(make([]byte, 100))), left: 60, release: func() {}}
	n, err := io.Copy(io.Discard, d)
	if n != 60 || !errors.Is(err, chat.ErrRejected) {
		t.Errorf("copied %d, %v; want 60 and rejected", n, err)
	}
	d = &download{body: io.NopCloser(bytes.NewReader(make([]byte, 60))), left: 60, release: func() {}}
	if n, err := io.Copy(io.Discard, d); n != 60 || err != nil {
		t.Errorf("exactly the limit: copied %d, %v", n, err)
	}
}
