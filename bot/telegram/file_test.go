package telegram

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/bot"
	"github.com/thuduc/maytinhchoem/bot/telegram/telegramtest"
	"github.com/thuduc/maytinhchoem/chat"
)

// tempFile writes data to a new file in the test's directory and returns its path.
func tempFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// quietLog logs to the test, shown only when it fails.
func quietLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, nil))
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(7, 9))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// A volunteer's photo comes in with its file_id, and the bot shows it to an official by that id,
// with a caption and buttons to accept or refuse the proof.
func TestEmulator_PhotoInAndOut(t *testing.T) {
	emu, a := emulated(t, telegramtest.Options{Limits: telegramtest.Limits{Disabled: true}})
	box := &inbox{ch: make(chan chat.Update, 4)}
	startPoll(t, a, newMemOffsets(), box.handle)
	volunteer := telegramtest.User{ID: 5550007, FirstName: "Tuấn", LanguageCode: "vi"}
	official := emu.AddChat(lan)
	proof := append([]byte("\x89PNG\r\n\x1a\n"), randomBytes(2000)...)

	emu.SendPhotoWith(volunteer.ID, volunteer, "Đã giao máy cho em Hùng", proof)
	in := box.next(t)
	if in.Kind != chat.KindOther || in.Text != "Đã giao máy cho em Hùng" || in.PhotoID == "" || in.ChatID != "5550007" {
		t.Fatalf("photo input = %+v", in)
	}
	emu.SendText(volunteer.ID, volunteer, "xong")
	if in := box.next(t); in.PhotoID != "" {
		t.Errorf("a text carries PhotoID %q", in.PhotoID)
	}

	buttons := [][]chat.Button{{{Text: "Xác nhận", Data: "proof:ok:7"}, {Text: "Từ chối", Data: "proof:no:7"}}}
	r := chat.Reply{Channel: Channel, ChatID: fmt.Sprint(official), Output: chat.Output{
		Text:    "Bằng chứng giao máy #7 từ Tuấn",
		Buttons: buttons,
		File:    &chat.File{PhotoID: in.PhotoID},
	}}
	if err := a.Send(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	msgs := emu.Messages(official)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want the photo alone", len(msgs))
	}
	m := msgs[0]
	if m.Method != "sendPhoto" || m.FileID != in.PhotoID || !bytes.Equal(m.FileData, proof) || m.Caption != "Bằng chứng giao máy #7 từ Tuấn" {
		t.Errorf("photo = %+v", m)
	}
	if got := strings.Join(m.Buttons(), "|"); got != "Xác nhận|Từ chối" {
		t.Errorf("buttons = %q", got)
	}

	// A file_id Telegram never gave out is the bot's mistake: rejected, not retried.
	r.File = &chat.File{PhotoID: "AgACAgIAAxkBAAIBmade-up"}
	if err := a.Send(context.Background(), r); !errors.Is(err, chat.ErrRejected) {
		t.Errorf("unknown photo: err = %v, want ErrRejected", err)
	}
	checkRejected(t, emu, "wrong file identifier/HTTP URL specified")
	if n := len(emu.RejectedCalls()); n != 1 {
		t.Errorf("%d rejected calls, want the made-up file_id only", n)
	}
}

func TestEmulator_SendFile(t *testing.T) {
	export := randomBytes(3 << 20) // an export of a few MB, uploaded from disk
	buttons := [][]chat.Button{{{Text: "Xuất lại", Data: "export:again"}}}
	// 1024 UTF-16 units, 1000 characters: each emoji counts twice, as Telegram counts.
	fits := strings.Repeat("😀", 24) + strings.Repeat("a", 976)
	tests := []struct {
		name  string
		out   func(path string) chat.Output
		check func(t *testing.T, emu *telegramtest.Server, msgs []telegramtest.Message, err error)
	}{
		{
			name: "document with caption and buttons",
			out: func(path string) chat.Output {
				return chat.Output{Text: "  Danh sách đã duyệt, ngày 07/09  ", Buttons: buttons,
					File: &chat.File{Path: path, Name: "Đã duyệt 07-09.xlsx", Remove: true}}
			},
			check: func(t *testing.T, emu *telegramtest.Server, msgs []telegramtest.Message, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if len(msgs) != 1 {
					t.Fatalf("%d messages, want 1", len(msgs))
				}
				m := msgs[0]
				if m.Method != "sendDocument" || m.Document != "Đã duyệt 07-09.xlsx" || m.Caption != "Danh sách đã duyệt, ngày 07/09" {
					t.Errorf("document = %s %q %q", m.Method, m.Document, m.Caption)
				}
				if !bytes.Equal(m.FileData, export) {
					t.Errorf("emulator got %d bytes, not the %d of the file", len(m.FileData), len(export))
				}
				if got := m.Buttons(); len(got) != 1 || got[0] != "Xuất lại" {
					t.Errorf("buttons = %q", got)
				}
			},
		},
		{
			name: "an image goes as a photo, shown in the chat without a download",
			out: func(path string) chat.Output {
				return chat.Output{Text: "Biểu đồ tiến độ", File: &chat.File{Path: path, Name: "tien-do-20210920.PNG"}}
			},
			check: func(t *testing.T, emu *telegramtest.Server, msgs []telegramtest.Message, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if len(msgs) != 1 || msgs[0].Method != "sendPhoto" || msgs[0].Caption != "Biểu đồ tiến độ" || !bytes.Equal(msgs[0].FileData, export) {
					t.Errorf("messages = %+v", msgs)
				}
			},
		},
		{
			name: "caption of exactly 1024 UTF-16 units stays a caption",
			out: func(path string) chat.Output {
				return chat.Output{Text: fits, Buttons: buttons, File: &chat.File{Path: path, Name: "a.xlsx"}}
			},
			check: func(t *testing.T, emu *telegramtest.Server, msgs []telegramtest.Message, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if len(msgs) != 1 || msgs[0].Caption != fits || len(msgs[0].Buttons()) != 1 {
					t.Errorf("messages = %+v", msgs)
				}
			},
		},
		{
			name: "longer caption goes first as text with the buttons, the file after without",
			out: func(path string) chat.Output {
				return chat.Output{Text: fits + "!", Buttons: buttons, File: &chat.File{Path: path, Name: "a.xlsx"}}
			},
			check: func(t *testing.T, emu *telegramtest.Server, msgs []telegramtest.Message, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if len(msgs) != 2 {
					t.Fatalf("%d messages, want text and file", len(msgs))
				}
				text, doc := msgs[0], msgs[1]
				if text.Method != "sendMessage" || text.Text != fits+"!" || len(text.Buttons()) != 1 {
					t.Errorf("text = %s %d chars, buttons %q", text.Method, len([]rune(text.Text)), text.Buttons())
				}
				if doc.Method != "sendDocument" || doc.Caption != "" || doc.InlineKeyboard != nil || !bytes.Equal(doc.FileData, export) {
					t.Errorf("file = %s caption %q buttons %v, %d bytes", doc.Method, doc.Caption, doc.Buttons(), len(doc.FileData))
				}
			},
		},
		{
			name: "without a name the file's own name is used",
			out:  func(path string) chat.Output { return chat.Output{File: &chat.File{Path: path}} },
			check: func(t *testing.T, emu *telegramtest.Server, msgs []telegramtest.Message, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if len(msgs) != 1 || msgs[0].Document != "export.xlsx" || msgs[0].Caption != "" {
					t.Errorf("messages = %+v", msgs)
				}
			},
		},
		{
			name: "a missing file is refused before anything is sent, even a long caption",
			out: func(path string) chat.Output {
				return chat.Output{Text: strings.Repeat("chữ ", 400), File: &chat.File{Path: path + ".gone", Name: "a.xlsx", Remove: true}}
			},
			check: func(t *testing.T, emu *telegramtest.Server, msgs []telegramtest.Message, err error) {
				if !errors.Is(err, chat.ErrRejected) || !errors.Is(err, os.ErrNotExist) {
					t.Errorf("err = %v, want ErrRejected wrapping ErrNotExist", err)
				}
				if len(msgs) != 0 || emu.Calls("sendMessage")+emu.Calls("sendDocument") != 0 {
					t.Errorf("sent %d messages", len(msgs))
				}
			},
		},
		{
			name: "a directory is refused",
			out: func(path string) chat.Output {
				return chat.Output{File: &chat.File{Path: filepath.Dir(path), Name: "a.xlsx"}}
			},
			check: func(t *testing.T, emu *telegramtest.Server, msgs []telegramtest.Message, err error) {
				if !errors.Is(err, chat.ErrRejected) || emu.Calls("sendDocument") != 0 {
					t.Errorf("err = %v, %d calls", err, emu.Calls("sendDocument"))
				}
			},
		},
		{
			name: "a file and a photo at once is refused",
			out: func(path string) chat.Output {
				return chat.Output{File: &chat.File{Path: path, PhotoID: "AgAD"}}
			},
			check: func(t *testing.T, emu *telegramtest.Server, msgs []telegramtest.Message, err error) {
				if !errors.Is(err, chat.ErrRejected) || len(msgs) != 0 {
					t.Errorf("err = %v, %d messages", err, len(msgs))
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, a := emulated(t, telegramtest.Options{Limits: telegramtest.Limits{Disabled: true}})
			cid := emu.AddChat(lan)
			path := tempFile(t, "export.xlsx", export)
			r := chat.Reply{Channel: Channel, ChatID: fmt.Sprint(cid), Output: tt.out(path)}
			err := a.Send(context.Background(), r)
			tt.check(t, emu, emu.Messages(cid), err)
			if !exists(path) {
				t.Error("the adapter removed the file: only the caller knows no retry follows")
			}
			checkRejected(t, emu)
		})
	}
}

// A keyboard removal the engine put on a file reply goes with the file, unless inline buttons do.
func TestEmulator_SendFileRemovesKeyboard(t *testing.T) {
	emu, a := emulated(t, telegramtest.Options{Limits: telegramtest.Limits{Disabled: true}})
	cid := emu.AddChat(lan)
	send := func(o chat.Output) {
		t.Helper()
		if err := a.Send(context.Background(), chat.Reply{Channel: Channel, ChatID: fmt.Sprint(cid), Output: o}); err != nil {
			t.Fatal(err)
		}
	}
	keyboard := chat.Output{Text: "Số điện thoại?", AskContact: &chat.ContactRequest{Label: "Chia sẻ số"}}
	send(keyboard)
	send(chat.Output{Text: "Báo cáo", EndContactRequest: true, File: &chat.File{Path: tempFile(t, "a.xlsx", []byte("PK")), Name: "a.xlsx"}})
	if kb := emu.CurrentKeyboard(cid); kb != nil {
		t.Errorf("keyboard still shown: %+v", kb)
	}
	if m, _ := emu.LastMessage(cid); m.Method != "sendDocument" || !m.RemoveKeyboard {
		t.Errorf("file = %s, removes keyboard: %v", m.Method, m.RemoveKeyboard)
	}
	send(keyboard)
	send(chat.Output{Text: "Báo cáo", EndContactRequest: true, Buttons: [][]chat.Button{{{Text: "Xuất lại", Data: "x"}}},
		File: &chat.File{Path: tempFile(t, "b.xlsx", []byte("PK")), Name: "b.xlsx"}})
	if m, _ := emu.LastMessage(cid); len(m.Buttons()) != 1 || m.RemoveKeyboard {
		t.Errorf("inline buttons should win the one reply_markup: %+v", m)
	}
	checkRejected(t, emu)
}

// attempt is one call of the adapter by the PacedSender.
type attempt struct {
	fileThere bool
	err       error
}

// spySender stands between the PacedSender and the adapter: it notes whether the file is still
// there at each attempt and what came back.
type spySender struct {
	inner interface {
		Send(context.Context, chat.Reply) error
	}
	path       string
	afterError func(error)

	mu       sync.Mutex
	attempts []attempt
}

func (s *spySender) Send(ctx context.Context, r chat.Reply) error {
	there := exists(s.path)
	err := s.inner.Send(ctx, r)
	s.mu.Lock()
	s.attempts = append(s.attempts, attempt{there, err})
	s.mu.Unlock()
	if err != nil && s.afterError != nil {
		s.afterError(err)
	}
	return err
}

// clock is a flood-limit clock the test moves by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// File.Remove through the sender the bot really uses: the file is gone once the reply is done
// for good, and still there for every attempt before.
func TestEmulator_FileRemovedWhenDone(t *testing.T) {
	data := randomBytes(64 << 10)
	tests := []struct {
		name       string
		setup      func(emu *telegramtest.Server, cid int64) (chatID string)
		remove     bool
		wantErr    error
		wantSent   bool
		wantKept   bool
		wantReject string
	}{
		{name: "sent", remove: true, wantSent: true},
		{name: "kept when Remove is not set", remove: false, wantSent: true, wantKept: true},
		{
			name:       "refused by Telegram",
			setup:      func(*telegramtest.Server, int64) string { return "424242" },
			remove:     true,
			wantErr:    chat.ErrRejected,
			wantReject: "chat not found",
		},
		{
			name:    "bot blocked",
			setup:   func(emu *telegramtest.Server, cid int64) string { emu.Block(cid); return fmt.Sprint(cid) },
			remove:  true,
			wantErr: chat.ErrStopped,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, a := emulated(t, telegramtest.Options{Limits: telegramtest.Limits{Disabled: true}})
			cid := emu.AddChat(lan)
			chatID := fmt.Sprint(cid)
			if tt.setup != nil {
				chatID = tt.setup(emu, cid)
			}
			path := tempFile(t, "bao-cao.xlsx", data)
			spy := &spySender{inner: a, path: path}
			p := bot.NewPacedSender(spy, bot.PacedSenderConfig{Attempts: 3, Backoff: time.Millisecond, Logger: quietLog(t)})
			err := p.Send(context.Background(), chat.Reply{Channel: Channel, ChatID: chatID, Output: chat.Output{
				Text: "Báo cáo", File: &chat.File{Path: path, Name: "Báo cáo.xlsx", Remove: tt.remove},
			}})
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if len(spy.attempts) != 1 || !spy.attempts[0].fileThere {
				t.Errorf("attempts = %+v, want one, with the file there", spy.attempts)
			}
			if exists(path) != tt.wantKept {
				t.Errorf("file there after Send: %v, want %v", exists(path), tt.wantKept)
			}
			msgs := emu.Messages(cid)
			if tt.wantSent != (len(msgs) == 1) || tt.wantSent && !bytes.Equal(msgs[0].FileData, data) {
				t.Errorf("emulator has %d messages, want sent: %v", len(msgs), tt.wantSent)
			}
			if tt.wantReject != "" {
				checkRejected(t, emu, tt.wantReject)
			} else {
				checkRejected(t, emu)
			}
		})
	}

	t.Run("kept between the attempts of a 429, removed after", func(t *testing.T) {
		// One message a second, no burst, on a clock the test moves: the second message of the
		// second is throttled until the clock moves on.
		flood := &clock{now: testNow}
		emu, a := emulated(t, telegramtest.Options{Limits: telegramtest.Limits{PerChatPerSecond: 1, PerChatBurst: 1, Now: flood.Now}})
		cid := emu.AddChat(lan)
		if err := a.Send(context.Background(), chat.Reply{Channel: Channel, ChatID: fmt.Sprint(cid), Output: chat.Output{Text: "Đang xuất báo cáo…"}}); err != nil {
			t.Fatal(err)
		}
		path := tempFile(t, "bao-cao.xlsx", data)
		spy := &spySender{inner: a, path: path, afterError: func(error) { flood.Add(2 * time.Second) }}
		p := bot.NewPacedSender(spy, bot.PacedSenderConfig{Attempts: 3, Backoff: time.Millisecond, Logger: quietLog(t)})
		err := p.Send(context.Background(), chat.Reply{Channel: Channel, ChatID: fmt.Sprint(cid), Output: chat.Output{
			Text: "Báo cáo", File: &chat.File{Path: path, Name: "Báo cáo.xlsx", Remove: true},
		}})
		if err != nil {
			t.Fatal(err)
		}
		var te *chat.ThrottledError
		if len(spy.attempts) != 2 || !errors.As(spy.attempts[0].err, &te) || spy.attempts[1].err != nil {
			t.Fatalf("attempts = %+v, want a 429 then success", spy.attempts)
		}
		if !spy.attempts[0].fileThere || !spy.attempts[1].fileThere {
			t.Errorf("file there at the attempts: %v, %v; want both", spy.attempts[0].fileThere, spy.attempts[1].fileThere)
		}
		if exists(path) {
			t.Error("file still there after the reply was sent")
		}
		msgs := emu.Messages(cid)
		if len(msgs) != 2 || msgs[1].Document != "Báo cáo.xlsx" || !bytes.Equal(msgs[1].FileData, data) {
			t.Errorf("messages = %d, last %q", len(msgs), msgs[len(msgs)-1].Document)
		}
		if m := emu.Metrics(); m.TooManyRequests != 1 {
			t.Errorf("429s = %d, want 1", m.TooManyRequests)
		}
		checkRejected(t, emu)
	})

	t.Run("a missing file fails once, for good", func(t *testing.T) {
		emu, a := emulated(t, telegramtest.Options{})
		cid := emu.AddChat(lan)
		path := filepath.Join(t.TempDir(), "gone.xlsx")
		spy := &spySender{inner: a, path: path}
		p := bot.NewPacedSender(spy, bot.PacedSenderConfig{Attempts: 5, Backoff: time.Millisecond, Logger: quietLog(t)})
		err := p.Send(context.Background(), chat.Reply{Channel: Channel, ChatID: fmt.Sprint(cid), Output: chat.Output{
			Text: "Báo cáo", File: &chat.File{Path: path, Name: "a.xlsx", Remove: true},
		}})
		if !errors.Is(err, chat.ErrRejected) {
			t.Errorf("err = %v, want ErrRejected", err)
		}
		if len(spy.attempts) != 1 || emu.Calls("sendDocument") != 0 {
			t.Errorf("%d attempts, %d calls; want one attempt and no call", len(spy.attempts), emu.Calls("sendDocument"))
		}
	})
}

// An upload from disk streams: sending a 24 MB file allocates a small part of that, and what
// arrives is the whole file under its name.
func TestAdapter_SendFileStreams(t *testing.T) {
	const size = 24 << 20
	var (
		mu       sync.Mutex
		received int64
		name     string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/getMe") {
			_, _ = io.WriteString(w, defaultAnswer("getMe"))
			return
		}
		_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err != nil {
				break
			}
			if part.FormName() == "document" {
				n, _ := io.Copy(io.Discard, part)
				mu.Lock()
				received, name = n, part.FileName()
				mu.Unlock()
			}
		}
		_, _ = io.WriteString(w, defaultAnswer("sendDocument"))
	}))
	t.Cleanup(srv.Close)
	a, err := New(context.Background(), testConfig(t, srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	path := filepath.Join(t.TempDir(), "big.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil { // sparse: the test itself holds none of it
		t.Fatal(err)
	}
	f.Close()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err = a.Send(context.Background(), chat.Reply{Channel: Channel, ChatID: "5550001", Output: chat.Output{
		File: &chat.File{Path: path, Name: "Ảnh giao máy.zip"},
	}})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if received != size || name != "Ảnh giao máy.zip" {
		t.Errorf("server got %d bytes named %q, want %d named Ảnh giao máy.zip", received, name, size)
	}
	// Client and server together; reading the file whole would cost at least its size.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/4 {
		t.Errorf("sending allocated %d bytes for a %d-byte file", alloc, size)
	}
}
