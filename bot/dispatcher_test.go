package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/flows"
)

// memDialogs is an in-memory DialogStore with the same compare-and-set contract as storage/redis;
// the real store is exercised end to end in cmd/maytinhchoem's tests.
type memDialogs struct {
	mu       sync.Mutex
	data     map[string][]byte
	version  map[string]int64
	seen     map[string]bool
	failLoad int // fail this many Loads
	failSave int // fail this many Saves
	// beforeSave runs once before the next Save, to simulate another replica writing in between.
	beforeSave func()
	// pending holds each update's replies not all sent, by "channel:update".
	pending map[string]*memPending
}

// memPending is an update's recorded replies; held says the owner's lease is live.
type memPending struct {
	chatID      string
	data        []byte
	total, sent int
	owner       string
	held        bool
}

func newMemDialogs() *memDialogs {
	return &memDialogs{data: map[string][]byte{}, version: map[string]int64{}, seen: map[string]bool{}, pending: map[string]*memPending{}}
}

func (m *memDialogs) RepliesSent(_ context.Context, channel, _, updateID, owner string, n int) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.pending[channel+":"+updateID]
	if p == nil || !p.held || p.owner != owner {
		return false, nil
	}
	if n >= p.total {
		delete(m.pending, channel+":"+updateID)
	} else {
		p.sent = max(p.sent, n)
	}
	return true, nil
}

func (m *memDialogs) DueReplies(_ context.Context, limit int) ([][3]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out [][3]string
	for k, p := range m.pending {
		channel, update, _ := strings.Cut(k, ":")
		if !p.held && len(out) < limit {
			out = append(out, [3]string{channel, p.chatID, update})
		}
	}
	return out, nil
}

func (m *memDialogs) TakeReplies(_ context.Context, channel, _, updateID, owner string) ([]byte, int, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.pending[channel+":"+updateID]
	switch {
	case p == nil:
		return nil, 0, false, nil
	case p.held:
		return nil, 0, true, nil
	}
	p.owner, p.held = owner, true
	return p.data, p.sent, false, nil
}

// leaseRunsOut ends the lease on an update's replies, as time does when their sender died.
func (m *memDialogs) leaseRunsOut(channel, updateID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p := m.pending[channel+":"+updateID]; p != nil {
		p.held = false
	}
}

func (m *memDialogs) Load(ctx context.Context, channel, chatID, updateID string) ([]byte, int64, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failLoad > 0 {
		m.failLoad--
		return nil, 0, false, errors.New("connection refused")
	}
	k := channel + ":" + chatID
	return m.data[k], m.version[k], m.seen[channel+":"+updateID], nil
}

func (m *memDialogs) SaveStep(ctx context.Context, channel, chatID string, version int64, data []byte, updateID string, replies []byte, count int, owner string) (bool, error) {
	if f := m.beforeSave; f != nil {
		m.beforeSave = nil
		f()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failSave > 0 {
		m.failSave--
		return false, errors.New("connection refused")
	}
	k := channel + ":" + chatID
	if m.version[k] != version || m.seen[channel+":"+updateID] {
		return false, nil
	}
	m.data[k] = data
	m.version[k] = version + 1
	m.seen[channel+":"+updateID] = true
	if count > 0 && updateID != "" {
		m.pending[channel+":"+updateID] = &memPending{chatID: chatID, data: replies, total: count, owner: owner, held: true}
	}
	return true, nil
}

func (m *memDialogs) state(t *testing.T, chat string) flows.State {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	var st flows.State
	if b := m.data["test:"+chat]; len(b) > 0 {
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// countingFlow appends every text to the state's "log" answer and counts its runs; it fails while
// fail > 0.
type countingFlow struct {
	mu   sync.Mutex
	runs int
	fail int
}

func (f *countingFlow) Handle(ctx context.Context, sess flows.Session, st flows.State, in flows.Input) (flows.State, []flows.Output, error) {
	f.mu.Lock()
	f.runs++
	failing := f.fail > 0
	if failing {
		f.fail--
	}
	f.mu.Unlock()
	if failing {
		return flows.State{}, nil, campaign.Errorf(campaign.EUNAVAILABLE, "database down")
	}
	if st.Answers == nil {
		st.Answers = map[string]string{}
	}
	st.Answers["log"] += in.Text + ";"
	return st, []flows.Output{{Text: "got " + in.Text}}, nil
}

func (f *countingFlow) ErrorReply(lang string, err error) flows.Output {
	return flows.Output{Text: "sorry:" + campaign.ErrorCode(err)}
}

func (f *countingFlow) Language(st flows.State, in flows.Input) string { return "vi" }

type recordingSender struct {
	mu    sync.Mutex
	sent  []Reply
	err   error
	calls int
}

func (s *recordingSender) Send(ctx context.Context, r Reply) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.err != nil {
		return s.err
	}
	s.sent = append(s.sent, r)
	return nil
}

func (s *recordingSender) texts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.sent {
		out = append(out, r.Text)
	}
	return out
}

func textInput(chat string, update int, text string) Input {
	return Input{
		Input:   flows.Input{Kind: flows.KindText, Text: text, UpdateID: strconv.Itoa(update)},
		Channel: "test",
		ChatID:  chat,
	}
}

func newTestDispatcher(dialogs DialogStore, flow Flow, sender Sender) *Dispatcher {
	return NewDispatcher(DispatcherConfig{Flow: flow, Dialogs: dialogs, Sender: sender, Workers: 4, Backoff: time.Millisecond})
}

func TestDispatcher_Handle(t *testing.T) {
	t.Run("duplicate update is skipped", func(t *testing.T) {
		dialogs, flow, sender := newMemDialogs(), &countingFlow{}, &recordingSender{}
		d := newTestDispatcher(dialogs, flow, sender)
		ctx := context.Background()
		for range 3 {
			if err := d.Handle(ctx, textInput("1", 7, "a")); err != nil {
				t.Fatal(err)
			}
		}
		if got := dialogs.state(t, "1").Answers["log"]; got != "a;" {
			t.Errorf("log = %q, want one a", got)
		}
		if got := len(sender.texts()); got != 1 {
			t.Errorf("sent %d replies, want 1", got)
		}
	})
	t.Run("a conflicting save reloads and runs the flow again", func(t *testing.T) {
		dialogs, flow, sender := newMemDialogs(), &countingFlow{}, &recordingSender{}
		d := newTestDispatcher(dialogs, flow, sender)
		ctx := context.Background()
		if err := d.Handle(ctx, textInput("1", 1, "a")); err != nil {
			t.Fatal(err)
		}
		// Another replica handles update 2 between our load and our save of update 3.
		dialogs.beforeSave = func() {
			other := newTestDispatcher(dialogs, &countingFlow{}, &recordingSender{})
			if err := other.Handle(ctx, textInput("1", 2, "b")); err != nil {
				t.Error(err)
			}
		}
		if err := d.Handle(ctx, textInput("1", 3, "c")); err != nil {
			t.Fatal(err)
		}
		if got := dialogs.state(t, "1").Answers["log"]; got != "a;b;c;" {
			t.Errorf("log = %q, want a;b;c; (nothing lost)", got)
		}
		if flow.runs != 3 { // a, c (lost the race), c again
			t.Errorf("flow ran %d times, want 3", flow.runs)
		}
		if got := sender.texts(); len(got) != 2 {
			t.Errorf("replies = %q, want 2 (one per update)", got)
		}
	})
	t.Run("a failing flow keeps the old state and apologises", func(t *testing.T) {
		dialogs, flow, sender := newMemDialogs(), &countingFlow{}, &recordingSender{}
		d := newTestDispatcher(dialogs, flow, sender)
		ctx := context.Background()
		if err := d.Handle(ctx, textInput("1", 1, "a")); err != nil {
			t.Fatal(err)
		}
		flow.fail = 10
		if err := d.Handle(ctx, textInput("1", 2, "b")); err != nil {
			t.Fatal(err)
		}
		if got := dialogs.state(t, "1").Answers["log"]; got != "a;" {
			t.Errorf("log = %q, want the answers before the failure", got)
		}
		texts := sender.texts()
		if len(texts) != 2 || texts[1] != "sorry:unavailable" {
			t.Errorf("replies = %q, want an apology last", texts)
		}
		if flow.runs != 1+3 {
			t.Errorf("flow ran %d times, want 1 + 3 attempts", flow.runs)
		}
	})
	t.Run("a flow failing once is retried", func(t *testing.T) {
		dialogs, flow, sender := newMemDialogs(), &countingFlow{fail: 1}, &recordingSender{}
		d := newTestDispatcher(dialogs, flow, sender)
		if err := d.Handle(context.Background(), textInput("1", 1, "a")); err != nil {
			t.Fatal(err)
		}
		if got := sender.texts(); len(got) != 1 || got[0] != "got a" {
			t.Errorf("replies = %q", got)
		}
	})
	t.Run("redis down: error returned, user told once", func(t *testing.T) {
		dialogs, flow, sender := newMemDialogs(), &countingFlow{}, &recordingSender{}
		dialogs.failLoad = 100
		d := newTestDispatcher(dialogs, flow, sender)
		ctx := context.Background()
		for range 2 {
			if err := d.Handle(ctx, textInput("1", 1, "a")); err == nil {
				t.Fatal("no error while the store is down")
			}
		}
		if got := sender.texts(); len(got) != 1 || got[0] != "sorry:internal" {
			t.Errorf("replies = %q, want one apology", got)
		}
		dialogs.failLoad = 0
		if err := d.Handle(ctx, textInput("1", 1, "a")); err != nil {
			t.Fatal(err)
		}
		if got := dialogs.state(t, "1").Answers["log"]; got != "a;" {
			t.Errorf("log = %q after recovery", got)
		}
	})
	t.Run("a pressed button is answered even without output", func(t *testing.T) {
		dialogs, sender := newMemDialogs(), &recordingSender{}
		d := newTestDispatcher(dialogs, silentFlow{}, sender)
		in := Input{Input: flows.Input{Kind: flows.KindChoice, Data: "x", UpdateID: "1"}, Channel: "test", ChatID: "1", AckID: "cb1", MessageID: "5"}
		if err := d.Handle(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		if len(sender.sent) != 1 || sender.sent[0].AckID != "cb1" || sender.sent[0].Text != "" {
			t.Errorf("sent = %+v, want one bare callback answer", sender.sent)
		}
	})
}

type silentFlow struct{}

func (silentFlow) Handle(ctx context.Context, sess flows.Session, st flows.State, in flows.Input) (flows.State, []flows.Output, error) {
	return st, nil, nil
}
func (silentFlow) ErrorReply(string, error) flows.Output    { return flows.Output{} }
func (silentFlow) Language(flows.State, flows.Input) string { return "vi" }

func TestDispatcher_HandleBatch(t *testing.T) {
	dialogs, flow, sender := newMemDialogs(), &countingFlow{}, &recordingSender{}
	d := newTestDispatcher(dialogs, flow, sender)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); d.Wait() }()
	d.Start(ctx)
	var batch []Input
	update := 0
	for i := range 50 {
		for chat := range 5 {
			update++
			batch = append(batch, textInput(strconv.Itoa(chat), update, fmt.Sprint(i)))
		}
	}
	if err := d.HandleBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}
	// The same batch delivered again (a poller retrying after a crash) changes nothing.
	if err := d.HandleBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}
	want := ""
	for i := range 50 {
		want += fmt.Sprint(i) + ";"
	}
	for chat := range 5 {
		if got := dialogs.state(t, strconv.Itoa(chat)).Answers["log"]; got != want {
			t.Errorf("chat %d log = %q, want every answer once, in order", chat, got)
		}
	}
	if got := len(sender.texts()); got != 250 {
		t.Errorf("sent %d replies, want 250", got)
	}
}

type panickingFlow struct{ silentFlow }

func (panickingFlow) Handle(ctx context.Context, sess flows.Session, st flows.State, in flows.Input) (flows.State, []flows.Output, error) {
	panic("a bug in a flow step")
}

func (panickingFlow) ErrorReply(string, error) flows.Output { return flows.Output{Text: "sorry"} }

func TestDispatcher_HandleRecoversFromPanic(t *testing.T) {
	dialogs, sender := newMemDialogs(), &recordingSender{}
	d := newTestDispatcher(dialogs, panickingFlow{}, sender)
	if err := d.Handle(context.Background(), textInput("1", 1, "a")); err != nil {
		t.Fatal(err)
	}
	if got := sender.texts(); len(got) != 1 || got[0] != "sorry" {
		t.Errorf("replies = %q, want the apology", got)
	}
}

// fileFlow makes a new file at every run and replies with it, as an export does; shape, when
// set, builds the outputs around the file instead.
type fileFlow struct {
	silentFlow
	dir   string
	fail  error
	shape func(file *flows.File) []flows.Output

	mu   sync.Mutex
	made []string
}

func (f *fileFlow) Handle(ctx context.Context, sess flows.Session, st flows.State, in flows.Input) (flows.State, []flows.Output, error) {
	f.mu.Lock()
	path := filepath.Join(f.dir, fmt.Sprintf("run-%d.xlsx", len(f.made)+1))
	f.made = append(f.made, path)
	f.mu.Unlock()
	if err := os.WriteFile(path, []byte("PK"), 0o600); err != nil {
		return st, nil, err
	}
	file := &flows.File{Path: path, Name: "export.xlsx", Remove: true}
	outs := []flows.Output{{Text: "export", File: file}}
	if f.shape != nil {
		outs = f.shape(file)
	}
	return st, outs, f.fail
}

// stoppingSender fails every reply to chat "1" as blocked and records the others.
type stoppingSender struct{ recordingSender }

func (s *stoppingSender) Send(ctx context.Context, r Reply) error {
	if r.ChatID == "1" {
		return fmt.Errorf("send: %w", ErrStopped)
	}
	return s.recordingSender.Send(ctx, r)
}

// The Dispatcher removes the files of outputs it never hands to the Sender; those it hands over
// are the Sender's to remove (PacedSender does, once no retry follows).
func TestDispatcher_RemovesFilesNeverSent(t *testing.T) {
	exists := func(path string) bool { _, err := os.Stat(path); return err == nil }
	t.Run("a conflicting save drops the first run's file and sends the second's", func(t *testing.T) {
		dialogs, sender := newMemDialogs(), &recordingSender{}
		flow := &fileFlow{dir: t.TempDir()}
		d := newTestDispatcher(dialogs, flow, sender)
		ctx := context.Background()
		dialogs.beforeSave = func() {
			other := newTestDispatcher(dialogs, &countingFlow{}, &recordingSender{})
			if err := other.Handle(ctx, textInput("1", 1, "b")); err != nil {
				t.Error(err)
			}
		}
		if err := d.Handle(ctx, textInput("1", 2, "export")); err != nil {
			t.Fatal(err)
		}
		if len(flow.made) != 2 {
			t.Fatalf("flow ran %d times, want 2", len(flow.made))
		}
		if exists(flow.made[0]) {
			t.Error("the dropped run's file is still there")
		}
		if len(sender.sent) != 1 || sender.sent[0].File == nil || sender.sent[0].File.Path != flow.made[1] {
			t.Fatalf("sent = %+v, want the second run's file", sender.sent)
		}
		if !exists(flow.made[1]) {
			t.Error("the Dispatcher removed a file it handed to the Sender")
		}
	})
	t.Run("a failing flow's files are removed", func(t *testing.T) {
		dialogs, sender := newMemDialogs(), &recordingSender{}
		flow := &fileFlow{dir: t.TempDir(), fail: campaign.Errorf(campaign.EUNAVAILABLE, "database down")}
		d := newTestDispatcher(dialogs, flow, sender)
		if err := d.Handle(context.Background(), textInput("1", 1, "export")); err != nil {
			t.Fatal(err)
		}
		if len(flow.made) != 3 {
			t.Fatalf("flow ran %d times, want 3 attempts", len(flow.made))
		}
		for _, p := range flow.made {
			if exists(p) {
				t.Errorf("%s is still there", filepath.Base(p))
			}
		}
		if len(sender.sent) != 1 || sender.sent[0].File != nil {
			t.Errorf("sent = %+v, want the apology alone", sender.sent)
		}
	})
	t.Run("a failed save drops the file", func(t *testing.T) {
		dialogs, sender := newMemDialogs(), &recordingSender{}
		dialogs.failSave = 100
		flow := &fileFlow{dir: t.TempDir()}
		d := newTestDispatcher(dialogs, flow, sender)
		if err := d.Handle(context.Background(), textInput("1", 1, "export")); err == nil {
			t.Fatal("no error while the store is down")
		}
		if len(flow.made) != 1 || exists(flow.made[0]) {
			t.Errorf("made %v, want one file, removed", flow.made)
		}
		for _, r := range sender.sent {
			if r.File != nil {
				t.Errorf("sent a file: %+v", r)
			}
		}
	})
	t.Run("once the user blocked the bot, their files are dropped", func(t *testing.T) {
		dialogs, sender := newMemDialogs(), &stoppingSender{}
		dir := t.TempDir()
		second := filepath.Join(dir, "second.xlsx")
		if err := os.WriteFile(second, []byte("PK"), 0o600); err != nil {
			t.Fatal(err)
		}
		flow := &fileFlow{dir: dir, shape: func(file *flows.File) []flows.Output {
			return []flows.Output{
				{Text: "done"},
				{Text: "export", File: &flows.File{Path: second, Remove: true}},
				{Text: "and another", File: file},
			}
		}}
		d := newTestDispatcher(dialogs, flow, sender)
		if err := d.Handle(context.Background(), textInput("1", 1, "export")); err != nil {
			t.Fatal(err)
		}
		if exists(second) || exists(flow.made[0]) {
			t.Error("a blocked user's file is still there")
		}
		if len(sender.sent) != 0 {
			t.Errorf("sent = %+v to a user who blocked the bot", sender.sent)
		}
	})
}

// stuckFlow is a flow stuck on a store that does not answer: it waits until its context ends (or
// ignores it and finishes late), then behaves like countingFlow. Texts other than "stuck" go
// through at once.
type stuckFlow struct {
	countingFlow
	ignoreContext bool
	late          time.Duration
}

func (f *stuckFlow) Handle(ctx context.Context, sess flows.Session, st flows.State, in flows.Input) (flows.State, []flows.Output, error) {
	if in.Text == "stuck" {
		if f.ignoreContext {
			time.Sleep(f.late)
		} else {
			<-ctx.Done()
			return flows.State{}, nil, fmt.Errorf("query: %w", ctx.Err())
		}
	}
	return f.countingFlow.Handle(ctx, sess, st, in)
}

func TestDispatcher_UpdateDeadline(t *testing.T) {
	newDispatcher := func(flow Flow, dialogs DialogStore, sender Sender) *Dispatcher {
		return NewDispatcher(DispatcherConfig{Flow: flow, Dialogs: dialogs, Sender: sender, Workers: 1,
			Backoff: time.Millisecond, UpdateDeadline: 100 * time.Millisecond})
	}

	for _, tt := range []struct {
		name string
		flow *stuckFlow
	}{
		{"a flow that honours its context", &stuckFlow{}},
		{"a flow that finishes after the deadline", &stuckFlow{ignoreContext: true, late: 300 * time.Millisecond}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dialogs, sender := newMemDialogs(), &recordingSender{}
			d := newDispatcher(tt.flow, dialogs, sender)
			ctx := context.Background()
			if err := d.Handle(ctx, textInput("1", 1, "Lan")); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if err := d.Handle(ctx, textInput("1", 2, "stuck")); err != nil {
				t.Errorf("Handle = %v, want nil: the person was told, delivering it again holds the chat up again", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Handle took %v with a deadline of 100ms", d)
			}
			if got := sender.texts(); fmt.Sprint(got) != "[got Lan sorry:unavailable]" {
				t.Errorf("sent %q, want the answer to Lan and one apology", got)
			}
			// The dialog stays as it was, and the update is not marked handled.
			if got := dialogs.state(t, "1").Answers["log"]; got != "Lan;" {
				t.Errorf("dialog log = %q, want %q", got, "Lan;")
			}
			dialogs.mu.Lock()
			version, seen := dialogs.version["test:1"], dialogs.seen["test:2"]
			dialogs.mu.Unlock()
			if version != 1 || seen {
				t.Errorf("version %d, update seen %v: the dialog was saved", version, seen)
			}
		})
	}

	t.Run("a chat stuck holds the one worker only that long", func(t *testing.T) {
		dialogs, sender := newMemDialogs(), &recordingSender{}
		d := newDispatcher(&stuckFlow{}, dialogs, sender)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		d.Start(ctx)
		start := time.Now()
		if err := d.HandleBatch(ctx, []Input{textInput("1", 1, "stuck"), textInput("2", 2, "Minh")}); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("the batch took %v behind a chat stuck with a deadline of 100ms", d)
		}
		if got := slices.Sorted(slices.Values(sender.texts())); fmt.Sprint(got) != "[got Minh sorry:unavailable]" {
			t.Errorf("sent %q", got)
		}
	})

	t.Run("a chat stuck holds up no other chat", func(t *testing.T) {
		dialogs, sender := ctxDialogs{newMemDialogs()}, &recordingSender{}
		// Two workers: with a worker chosen by a hash of the chat, one chat in two would wait.
		d := NewDispatcher(DispatcherConfig{Flow: &stuckFlow{}, Dialogs: dialogs, Sender: sender, Workers: 2,
			Backoff: time.Millisecond, UpdateDeadline: time.Minute})
		ctx, cancel := context.WithCancel(context.Background())
		defer func() { cancel(); d.Wait() }()
		d.Start(ctx)
		stuck := d.Dispatch(ctx, textInput("1", 1, "stuck"))
		start := time.Now()
		for i := range 10 {
			chat := strconv.Itoa(2 + i)
			if err := <-d.Dispatch(ctx, textInput(chat, 10+i, "Minh")); err != nil {
				t.Fatalf("chat %s: %v", chat, err)
			}
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("ten other chats took %v beside a stuck one", d)
		}
		select {
		case err := <-stuck:
			t.Fatalf("the stuck update finished: %v", err)
		default:
		}
		later := d.Dispatch(ctx, textInput("1", 2, "sau"))
		cancel()
		if err := <-stuck; err == nil {
			t.Error("the stuck update succeeded after its caller gave up")
		}
		if err := <-later; err == nil {
			t.Error("the stuck chat's next update was handled after the Dispatcher stopped")
		}
	})

	t.Run("a caller that gives up is not the deadline", func(t *testing.T) {
		dialogs, sender := ctxDialogs{newMemDialogs()}, &recordingSender{}
		d := newDispatcher(&stuckFlow{}, dialogs, sender)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		// The caller (a webhook request's own deadline, say) ends first: Handle fails, so the
		// update comes again.
		if err := d.Handle(ctx, textInput("1", 1, "stuck")); err == nil {
			t.Error("Handle = nil, want the caller's error")
		}
	})
}

// ctxDialogs is memDialogs failing, as Redis does, once the context has ended.
type ctxDialogs struct{ *memDialogs }

func (m ctxDialogs) Load(ctx context.Context, channel, chatID, updateID string) ([]byte, int64, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, false, err
	}
	return m.memDialogs.Load(ctx, channel, chatID, updateID)
}

func (m ctxDialogs) SaveStep(ctx context.Context, channel, chatID string, version int64, data []byte, updateID string, replies []byte, count int, owner string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	return m.memDialogs.SaveStep(ctx, channel, chatID, version, data, updateID, replies, count, owner)
}

// TestDispatcher_RunnersAreReused: chats whose inputs come one after the other are handled by the
// one runner, which waits for the next chat instead of ending (a new goroutine grows its stack
// again); chats at once still get a runner each; and an idle runner does not hold up the stop.
func TestDispatcher_RunnersAreReused(t *testing.T) {
	dialogs, flow, sender := newMemDialogs(), &countingFlow{}, &recordingSender{}
	d := newTestDispatcher(dialogs, flow, sender)
	ctx, cancel := context.WithCancel(context.Background())
	d.Start(ctx)
	for chat := range 20 {
		if err := d.HandleOne(ctx, textInput(strconv.Itoa(chat), chat+1, "a")); err != nil {
			t.Fatal(err)
		}
	}
	// A runner takes a chat once it waits for one: a chat that comes in the microsecond between
	// its last reply and its wait gets a runner of its own, so a few more than one may start.
	if got := d.runners.Load(); got > 10 {
		t.Errorf("20 chats one after the other started %d runners, want about 1", got)
	}
	for chat := range 20 {
		if got := dialogs.state(t, strconv.Itoa(chat)).Answers["log"]; got != "a;" {
			t.Errorf("chat %d log = %q, want its one answer", chat, got)
		}
	}

	// Chats at once: each has a runner while it is handled, none waits behind another's.
	release := make(chan struct{})
	blocking := &blockingFlow{entered: make(chan struct{}, 3), release: release}
	d2 := newTestDispatcher(newMemDialogs(), blocking, &recordingSender{})
	d2.Start(ctx)
	var results []<-chan error
	for chat := range 3 {
		results = append(results, d2.Dispatch(ctx, textInput(strconv.Itoa(chat), chat+1, "x")))
	}
	for range 3 {
		select {
		case <-blocking.entered:
		case <-time.After(10 * time.Second):
			t.Fatal("three chats at once were not handled at once")
		}
	}
	close(release)
	for _, r := range results {
		if err := <-r; err != nil {
			t.Fatal(err)
		}
	}

	stopped := make(chan struct{})
	go func() { cancel(); d.Wait(); d2.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(runnerIdle / 2):
		t.Fatalf("the dispatchers did not stop within %s of their context's end: an idle runner holds them", runnerIdle/2)
	}
}

// blockingFlow says when a chat's input has entered it, and holds every input until release.
type blockingFlow struct {
	silentFlow
	entered chan struct{}
	release chan struct{}
}

func (f *blockingFlow) Handle(ctx context.Context, sess flows.Session, st flows.State, in flows.Input) (flows.State, []flows.Output, error) {
	f.entered <- struct{}{}
	<-f.release
	return st, nil, nil
}

// TestDispatcher_RepliesSayWhatPromptedThem: a step's replies carry when the person's message
// they answer was received, also when they are resumed from their record.
func TestDispatcher_RepliesSayWhatPromptedThem(t *testing.T) {
	dialogs, flow, sender := newMemDialogs(), &countingFlow{}, &recordingSender{}
	d := newTestDispatcher(dialogs, flow, sender)
	in := textInput("1", 1, "a")
	in.Received = time.Date(2021, 9, 13, 8, 30, 0, 0, time.UTC)
	if err := d.Handle(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	sender.mu.Lock()
	defer sender.mu.Unlock()
	if len(sender.sent) == 0 {
		t.Fatal("nothing sent")
	}
	for _, r := range sender.sent {
		if !r.Prompted.Equal(in.Received) {
			t.Errorf("reply %q prompted at %v, want %v", r.Text, r.Prompted, in.Received)
		}
	}
	var recorded []Reply
	if err := json.Unmarshal(mustRecord(t, d, in, sender.sent), &recorded); err != nil || !recorded[0].Prompted.Equal(in.Received) {
		t.Errorf("recorded %+v, %v: the time is lost when replies are resumed", recorded, err)
	}
}

func mustRecord(t *testing.T, d *Dispatcher, in Input, replies []Reply) []byte {
	t.Helper()
	_, data, err := d.record(in, replies)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
