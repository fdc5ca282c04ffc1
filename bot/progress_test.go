package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/flows"
)

// progressFlow shows "read 1" … "read n" while it runs, pausing pause after each, then answers
// "done"; it notes whether its context carried a Progress.
type progressFlow struct {
	n     int
	pause time.Duration
	texts func(i int) string

	mu  sync.Mutex
	had []bool
}

func (f *progressFlow) Handle(ctx context.Context, sess flows.Session, st flows.State, in flows.Input) (flows.State, []flows.Output, error) {
	p := flows.ProgressFrom(ctx)
	f.mu.Lock()
	f.had = append(f.had, p != nil)
	f.mu.Unlock()
	for i := 1; i <= f.n; i++ {
		if p != nil {
			text := "read " + strconv.Itoa(i)
			if f.texts != nil {
				text = f.texts(i)
			}
			p.Show(text)
		}
		time.Sleep(f.pause)
	}
	return st, []flows.Output{{Text: "done"}}, nil
}

func (f *progressFlow) ErrorReply(string, error) flows.Output         { return flows.Output{Text: "sorry"} }
func (f *progressFlow) Language(flows.State, flows.Input) string      { return "vi" }
func (f *progressFlow) hadProgress() []bool                           { f.mu.Lock(); defer f.mu.Unlock(); return f.had }
func (s *editingSender) ProgressEditor(channel string) ProgressEditor { return s }

// editingSender is a channel that edits messages: it logs, in order, every reply sent and every
// progress message sent or edited, and fails progress calls while failProgress is set.
type editingSender struct {
	mu           sync.Mutex
	log          []string // "send:<text>", "progress:<id>:<text>", "edit:<id>:<text>"
	shown        map[string]string
	failProgress error
	nextID       int
}

func (s *editingSender) Send(ctx context.Context, r Reply) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, "send:"+r.Text)
	return nil
}

func (s *editingSender) SendProgress(ctx context.Context, chatID, text string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failProgress != nil {
		s.log = append(s.log, "failed:"+text)
		return "", s.failProgress
	}
	s.nextID++
	id := strconv.Itoa(s.nextID)
	if s.shown == nil {
		s.shown = map[string]string{}
	}
	s.shown[id] = text
	s.log = append(s.log, "progress:"+id+":"+text)
	return id, nil
}

func (s *editingSender) EditProgress(ctx context.Context, chatID, messageID, text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failProgress != nil {
		s.log = append(s.log, "failed:"+text)
		return s.failProgress
	}
	if s.shown[messageID] == text {
		return fmt.Errorf("edit %s to the text it shows, %q: message is not modified", messageID, text)
	}
	s.shown[messageID] = text
	s.log = append(s.log, "edit:"+messageID+":"+text)
	return nil
}

func (s *editingSender) events() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

// countingDialogs records how many replies each step recorded.
type countingDialogs struct {
	*memDialogs
	mu       sync.Mutex
	recorded []int
}

func (c *countingDialogs) SaveStep(ctx context.Context, channel, chatID string, version int64, data []byte, updateID string, replies []byte, count int, owner string) (bool, error) {
	c.mu.Lock()
	c.recorded = append(c.recorded, count)
	c.mu.Unlock()
	return c.memDialogs.SaveStep(ctx, channel, chatID, version, data, updateID, replies, count, owner)
}

// A long step on a channel that edits shows its progress in one message, sent once and then
// edited at most every ProgressEvery, never to the text it shows, ending on the newest text, all
// before the step's reply; the message is not among the step's recorded replies.
func TestDispatcher_Progress(t *testing.T) {
	editor := &editingSender{}
	router := NewRouter()
	router.Add("test", NewPacedSender(editor, PacedSenderConfig{}))
	flow := &progressFlow{n: 60, pause: 5 * time.Millisecond}
	dialogs := &countingDialogs{memDialogs: newMemDialogs()}
	d := NewDispatcher(DispatcherConfig{Flow: flow, Dialogs: dialogs, Sender: router, Workers: 2, Backoff: time.Millisecond,
		ProgressEvery: 60 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d.Start(ctx)
	start := time.Now()
	if err := d.HandleOne(ctx, textInput("1", 1, "danh-sach.xlsx")); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)

	ev := editor.events()
	var sends, edits int
	last := ""
	for i, e := range ev {
		switch {
		case len(e) > 9 && e[:9] == "progress:":
			sends++
		case len(e) > 5 && e[:5] == "edit:":
			edits++
		case e == "send:done":
			if i != len(ev)-1 {
				t.Errorf("the reply went before the progress was done: %q", ev)
			}
		}
		if e == last {
			t.Errorf("the same progress twice in a row: %q", ev)
		}
		last = e
	}
	if sends != 1 || edits < 1 {
		t.Errorf("%d progress messages sent and %d edits, want 1 and at least 1: %q", sends, edits, ev)
	}
	// 60 texts over ~300 ms: an edit every 60 ms at most, and the last one once the step is done.
	if most := int(took/(60*time.Millisecond)) + 2; edits > most {
		t.Errorf("%d edits in %v, want at most %d: %q", edits, took, most, ev)
	}
	if n := len(ev); n < 2 || ev[n-2] != "edit:1:read 60" || ev[n-1] != "send:done" {
		t.Errorf("want the newest text shown, then the reply: %q", ev)
	}
	if dialogs.recorded[0] != 1 {
		t.Errorf("recorded %d replies, want 1 (the progress is not one)", dialogs.recorded[0])
	}
}

// A step that shows the same text again and again sends one message and edits nothing; a short
// step whose first progress has not gone yet when it ends shows none at all.
func TestDispatcher_ProgressSameText(t *testing.T) {
	editor := &editingSender{}
	flow := &progressFlow{n: 20, pause: 5 * time.Millisecond, texts: func(int) string { return "  ⏳ Đang đọc…  " }}
	d := NewDispatcher(DispatcherConfig{Flow: flow, Dialogs: newMemDialogs(), Sender: editor, Workers: 2, Backoff: time.Millisecond,
		ProgressEvery: 10 * time.Millisecond})
	if err := d.Handle(context.Background(), textInput("1", 1, "x")); err != nil {
		t.Fatal(err)
	}
	if ev := editor.events(); fmt.Sprint(ev) != fmt.Sprint([]string{"progress:1:⏳ Đang đọc…", "send:done"}) {
		t.Errorf("events = %q", ev)
	}
}

// A progress message that cannot be sent (a channel refusing it, throttled) stops the step's
// progress, nothing more: the step's reply goes as ever.
func TestDispatcher_ProgressFails(t *testing.T) {
	editor := &editingSender{failProgress: errors.New("HTTP 429: retry after 30")}
	flow := &progressFlow{n: 30, pause: 2 * time.Millisecond}
	d := NewDispatcher(DispatcherConfig{Flow: flow, Dialogs: newMemDialogs(), Sender: editor, Workers: 2, Backoff: time.Millisecond,
		ProgressEvery: 5 * time.Millisecond})
	if err := d.Handle(context.Background(), textInput("1", 1, "x")); err != nil {
		t.Fatal(err)
	}
	if ev := editor.events(); len(ev) != 2 || ev[0] != "failed:read 1" || ev[1] != "send:done" {
		t.Errorf("events = %q, want one failed attempt and the reply", ev)
	}
}

// A channel that cannot edit (its Sender gives no editor), or progress turned off: the step's
// context carries no Progress, and nothing but the reply is sent.
func TestDispatcher_NoProgress(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sender func(s *editingSender) Sender
		every  time.Duration
	}{
		{"a channel without edits", func(s *editingSender) Sender {
			r := NewRouter()
			r.Add("test", NewPacedSender(&recordingSender{}, PacedSenderConfig{}))
			r.Add("other", s)
			return r
		}, 0},
		{"a plain Sender", func(s *editingSender) Sender { return &recordingSender{} }, 0},
		{"progress off", func(s *editingSender) Sender { return s }, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			editor := &editingSender{}
			flow := &progressFlow{n: 3}
			d := NewDispatcher(DispatcherConfig{Flow: flow, Dialogs: newMemDialogs(), Sender: tc.sender(editor), Backoff: time.Millisecond,
				ProgressEvery: tc.every})
			if err := d.Handle(context.Background(), textInput("1", 1, "x")); err != nil {
				t.Fatal(err)
			}
			if had := flow.hadProgress(); len(had) != 1 || had[0] {
				t.Errorf("the flow had a Progress: %v", had)
			}
			for _, e := range editor.events() {
				if e != "send:done" {
					t.Errorf("sent %q", e)
				}
			}
		})
	}
}
