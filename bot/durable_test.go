package bot

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/flows"
)

// threeFlow answers every update with three messages, the first answering the press.
type threeFlow struct {
	silentFlow
	file string // when set, the third message carries this file
}

func (threeFlow) ErrorReply(string, error) flows.Output { return flows.Output{Text: "sorry"} }

func (f threeFlow) Handle(ctx context.Context, sess flows.Session, st flows.State, in flows.Input) (flows.State, []flows.Output, error) {
	st.Step = "next"
	out := []flows.Output{{Text: "one", Ack: "ok"}, {Text: "two"}, {Text: "three"}}
	if f.file != "" {
		out[2].File = &flows.File{Path: f.file, Name: "export.xlsx", Remove: true}
	}
	return st, out, nil
}

// dyingSender sends until its budget of sends is spent, then dies: it ends the process's context
// and fails, as a send cut off by kill -9 would never return.
type dyingSender struct {
	recordingSender
	left int
	die  context.CancelFunc
}

func (s *dyingSender) Send(ctx context.Context, r Reply) error {
	s.mu.Lock()
	if s.left == 0 {
		s.mu.Unlock()
		s.die()
		return ctx.Err()
	}
	s.left--
	s.mu.Unlock()
	return s.recordingSender.Send(ctx, r)
}

func pressInput(update string) Input {
	return Input{Input: flows.Input{Kind: flows.KindChoice, Data: "x", UpdateID: update}, Channel: "test", ChatID: "1", AckID: "cb-" + update, MessageID: "9"}
}

// A process that dies after its first reply: the update delivered again sends the other two, once,
// without answering the old press; delivered a third time it sends nothing.
func TestDispatcher_RedeliveredUpdateSendsTheRest(t *testing.T) {
	dialogs := newMemDialogs()
	ctx, die := context.WithCancel(context.Background())
	first := &dyingSender{left: 1, die: die}
	if err := newTestDispatcher(dialogs, threeFlow{}, first).Handle(ctx, pressInput("5")); err != nil {
		t.Fatal(err)
	}
	if got := first.texts(); !slices.Equal(got, []string{"one"}) || first.sent[0].AckID != "cb-5" {
		t.Fatalf("before dying: %q", got)
	}
	// The update comes again at once, to another process: the dead one's lease still holds.
	second := &recordingSender{}
	d := newTestDispatcher(dialogs, threeFlow{}, second)
	if err := d.Handle(context.Background(), pressInput("5")); !errors.Is(err, errRepliesHeld) {
		t.Fatalf("redelivery under the lease = %v, want errRepliesHeld", err)
	}
	dialogs.leaseRunsOut("test", "5")
	if err := d.Handle(context.Background(), pressInput("5")); err != nil {
		t.Fatal(err)
	}
	if got := second.texts(); !slices.Equal(got, []string{"two", "three"}) {
		t.Errorf("after the redelivery: %q, want the two replies not sent", got)
	}
	for _, r := range second.sent {
		if r.AckID != "" {
			t.Errorf("a resumed reply answers the old press: %+v", r)
		}
	}
	if err := d.Handle(context.Background(), pressInput("5")); err != nil || len(second.sent) != 2 {
		t.Errorf("third delivery: %v, %d sent; want nothing more", err, len(second.sent))
	}
	if len(dialogs.pending) != 0 {
		t.Errorf("replies still recorded: %v", dialogs.pending)
	}
	if st := dialogs.state(t, "1"); st.Step != "next" {
		t.Errorf("dialog %+v, want the step saved once", st)
	}
}

// A resumed reply whose file went with the process that made it becomes an apology.
func TestDispatcher_ResumedReplyWithoutItsFile(t *testing.T) {
	dialogs := newMemDialogs()
	file := filepath.Join(t.TempDir(), "export.xlsx")
	if err := os.WriteFile(file, []byte("PK"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, die := context.WithCancel(context.Background())
	first := &dyingSender{left: 2, die: die}
	if err := newTestDispatcher(dialogs, threeFlow{file: file}, first).Handle(ctx, pressInput("6")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	dialogs.leaseRunsOut("test", "6")
	second := &recordingSender{}
	if err := newTestDispatcher(dialogs, threeFlow{file: file}, second).Handle(context.Background(), pressInput("6")); err != nil {
		t.Fatal(err)
	}
	if got := second.texts(); len(got) != 1 || got[0] != "sorry" || second.sent[0].File != nil {
		t.Errorf("resumed: %+v, want the apology alone", second.sent)
	}
}

// A sender whose replies another process took over (its lease ran out while it was stuck) stops
// at once, so the two do not both send the rest.
func TestDispatcher_LostLeaseStopsTheSends(t *testing.T) {
	dialogs := newMemDialogs()
	var once sync.Once
	sender := &hookSender{before: func(r Reply) {
		if r.Text == "two" {
			once.Do(func() {
				dialogs.leaseRunsOut("test", "7")
				_, _, _, _ = dialogs.TakeReplies(context.Background(), "test", "1", "7", "other")
			})
		}
	}}
	if err := newTestDispatcher(dialogs, threeFlow{}, sender).Handle(context.Background(), pressInput("7")); err != nil {
		t.Fatal(err)
	}
	if got := sender.texts(); !slices.Equal(got, []string{"one", "two"}) {
		t.Errorf("sent %q, want it to stop after the send under way", got)
	}
}

// hookSender runs before ahead of each send.
type hookSender struct {
	recordingSender
	before func(Reply)
}

func (s *hookSender) Send(ctx context.Context, r Reply) error {
	s.before(r)
	return s.recordingSender.Send(ctx, r)
}

// A process that died after saving a step, whose update the channel never delivers again (a
// webhook answered once the step was saved): another process's sweeper sends the rest.
func TestDispatcher_SweeperSendsWhatADeadProcessLeft(t *testing.T) {
	dialogs := newMemDialogs()
	ctx, die := context.WithCancel(context.Background())
	first := &dyingSender{left: 1, die: die}
	if err := newTestDispatcher(dialogs, threeFlow{}, first).Handle(ctx, pressInput("8")); err != nil {
		t.Fatal(err)
	}
	dialogs.leaseRunsOut("test", "8")
	second := &recordingSender{}
	d := newTestDispatcher(dialogs, threeFlow{}, second)
	run, stop := context.WithCancel(context.Background())
	d.Start(run)
	done := make(chan struct{})
	go func() { d.SweepReplies(run, 5*time.Millisecond); close(done) }()
	for deadline := time.Now().Add(5 * time.Second); len(second.texts()) < 2 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	<-done
	d.Wait()
	if got := second.texts(); !slices.Equal(got, []string{"two", "three"}) {
		t.Errorf("the sweeper sent %q, want the two replies left", got)
	}
	if st := dialogs.state(t, "1"); st.Step != "next" {
		t.Errorf("dialog %+v: the flow ran again", st)
	}
}

// gateSender holds every send until the gate opens.
type gateSender struct {
	recordingSender
	gate chan struct{}
}

func (s *gateSender) Send(ctx context.Context, r Reply) error {
	select {
	case <-s.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.recordingSender.Send(ctx, r)
}

// With AckAfterSave the caller hears back once the step is saved, before the channel's pace lets
// the replies go, and the replies are not cut off when the caller's context ends (a webhook
// request answered).
func TestDispatcher_AckAfterSave(t *testing.T) {
	dialogs, sender := newMemDialogs(), &gateSender{gate: make(chan struct{})}
	d := NewDispatcher(DispatcherConfig{Flow: threeFlow{}, Dialogs: dialogs, Sender: sender, Workers: 4, Backoff: time.Millisecond, AckAfterSave: true})
	run, stop := context.WithCancel(context.Background())
	defer func() { stop(); d.Wait() }()
	d.Start(run)
	request, answered := context.WithCancel(context.Background())
	if err := d.HandleOne(request, pressInput("9")); err != nil {
		t.Fatal(err)
	}
	answered()
	if st := dialogs.state(t, "1"); st.Step != "next" || len(sender.texts()) != 0 {
		t.Fatalf("after the answer: dialog %+v, sent %q; want saved and nothing sent yet", st, sender.texts())
	}
	close(sender.gate)
	for deadline := time.Now().Add(5 * time.Second); len(sender.texts()) < 3 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if got := sender.texts(); !slices.Equal(got, []string{"one", "two", "three"}) {
		t.Errorf("sent %q after the gate opened", got)
	}
}
