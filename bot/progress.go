package bot

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/thuduc/maytinhchoem/chat"
	"github.com/thuduc/maytinhchoem/flows"
)

// ProgressEditor is a channel that can show a long step's progress in one message it edits in
// place (chat.Capabilities.Edits): Telegram's adapter is one, Zalo's (which cannot edit) is not.
type ProgressEditor interface {
	// SendProgress sends text as a new message and returns its id.
	SendProgress(ctx context.Context, chatID, text string) (messageID string, err error)
	// EditProgress replaces the text of that message.
	EditProgress(ctx context.Context, chatID, messageID, text string) error
}

// ProgressSender is a Sender that can show progress on some of its channels: Router and
// PacedSender, over adapters that are ProgressEditors.
type ProgressSender interface {
	// ProgressEditor returns the editor of channel, nil when that channel cannot edit messages.
	ProgressEditor(channel string) ProgressEditor
}

// Defaults of the Dispatcher's progress messages.
const (
	// DefaultProgressEvery is how often a progress message is edited at most.
	DefaultProgressEvery = 2 * time.Second
	// progressCallTimeout bounds one send or edit of a progress message.
	progressCallTimeout = 5 * time.Second
)

// ProgressEditor returns the editor of channel's Sender, nil when it has none.
func (r *Router) ProgressEditor(channel string) ProgressEditor {
	return progressEditorOf(r.senders[channel], channel)
}

// ProgressEditor returns the inner Sender's editor for channel, paced as the messages are (the
// account's budget and the chat's rate), nil when the inner Sender cannot edit. A progress
// message that is throttled or fails is not tried again: the caller gives up showing progress.
func (p *PacedSender) ProgressEditor(channel string) ProgressEditor {
	inner := progressEditorOf(p.inner, channel)
	if inner == nil {
		return nil
	}
	return pacedEditor{p: p, inner: inner, channel: channel}
}

// progressEditorOf is s's editor for channel: s itself, or the one it gives, nil when none.
func progressEditorOf(s Sender, channel string) ProgressEditor {
	switch v := s.(type) {
	case nil:
		return nil
	case ProgressSender:
		return v.ProgressEditor(channel)
	case ProgressEditor:
		return v
	}
	return nil
}

type pacedEditor struct {
	p       *PacedSender
	inner   ProgressEditor
	channel string
}

func (e pacedEditor) pace(ctx context.Context, chatID string) error {
	return e.p.wait(ctx, e.p.chat(e.channel+":"+chatID), Reply{Channel: e.channel, ChatID: chatID, Lane: chat.LaneReply})
}

func (e pacedEditor) SendProgress(ctx context.Context, chatID, text string) (string, error) {
	if err := e.pace(ctx, chatID); err != nil {
		return "", err
	}
	return e.inner.SendProgress(ctx, chatID, text)
}

func (e pacedEditor) EditProgress(ctx context.Context, chatID, messageID, text string) error {
	if err := e.pace(ctx, chatID); err != nil {
		return err
	}
	return e.inner.EditProgress(ctx, chatID, messageID, text)
}

// progressMessage is a step's flows.Progress on a channel that edits messages: the first text
// shown is sent as a message of its own, and later ones edit it, at most once every `every` (a
// text shown in between waits, and only the newest is shown), never to the text it already shows.
// The sends run on a goroutine of their own, so the step never waits for the channel; settle
// waits for them once the step is done, so the progress never lands after the step's replies.
// The message is not one of the step's replies: it is not recorded with them, not sent again when
// the update is, and a failure to send or edit it (logged) only stops the progress of that step.
type progressMessage struct {
	ed      ProgressEditor
	channel string
	chatID  string
	every   time.Duration
	ctx     context.Context // the calls' context; the step's own deadline does not cut them off
	log     *slog.Logger

	mu       sync.Mutex
	want     string        // the newest text shown
	shown    string        // the text the message shows
	id       string        // the message's id, "" until it is sent
	last     time.Time     // when it was last sent or edited
	failed   bool          // a send or edit failed: no more
	settling bool          // the step is done: show the newest text at once, or nothing if none went yet
	running  chan struct{} // closed when the loop returns; nil while none runs
	kick     chan struct{}
}

// progress returns the progress message of an update of in's chat, nil when its channel cannot
// edit messages or progress is off. ctx is what its calls run under.
func (d *Dispatcher) progress(ctx context.Context, in Input) *progressMessage {
	if d.cfg.ProgressEvery < 0 || in.Kind == kindResume {
		return nil
	}
	ps, ok := d.cfg.Sender.(ProgressSender)
	if !ok {
		return nil
	}
	ed := ps.ProgressEditor(in.Channel)
	if ed == nil {
		return nil
	}
	return &progressMessage{ed: ed, channel: in.Channel, chatID: in.ChatID, every: d.cfg.ProgressEvery,
		ctx: ctx, log: d.log, kick: make(chan struct{}, 1)}
}

// Show implements flows.Progress.
func (p *progressMessage) Show(text string) {
	text = strings.TrimSpace(text)
	if text == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failed || p.settling {
		return
	}
	p.want = text
	if p.running == nil {
		p.running = make(chan struct{})
		go p.loop(p.running)
		return
	}
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// loop sends or edits the message until it shows the newest text.
func (p *progressMessage) loop(done chan struct{}) {
	defer close(done)
	for {
		p.mu.Lock()
		if p.failed || p.want == p.shown || p.settling && p.id == "" {
			p.running = nil
			p.mu.Unlock()
			return
		}
		text, id := p.want, p.id
		wait := time.Duration(0)
		if id != "" && !p.settling {
			wait = time.Until(p.last.Add(p.every))
		}
		p.mu.Unlock()
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-p.kick: // a newer text, or the step is done: look again
			case <-p.ctx.Done():
			}
			t.Stop()
			if p.ctx.Err() != nil {
				p.fail(p.ctx.Err())
			}
			continue
		}
		newID, err := p.put(id, text)
		p.mu.Lock()
		if err == nil {
			p.shown, p.last = text, time.Now()
			if id == "" {
				p.id = newID
			}
		}
		p.mu.Unlock()
		if err != nil {
			p.fail(err)
		}
	}
}

// put sends the message (id "") or edits it to text.
func (p *progressMessage) put(id, text string) (string, error) {
	ctx, cancel := context.WithTimeout(p.ctx, progressCallTimeout)
	defer cancel()
	if id == "" {
		return p.ed.SendProgress(ctx, p.chatID, text)
	}
	return id, p.ed.EditProgress(ctx, p.chatID, id, text)
}

func (p *progressMessage) fail(err error) {
	p.mu.Lock()
	p.failed = true
	p.mu.Unlock()
	p.log.Warn("show progress; the step goes on without it", "channel", p.channel, "chat", p.chatID, "err", err)
}

// settle ends the step's progress: the newest text is shown at once if the message was sent (a
// message not sent yet is not sent any more), and settle returns once no call is in flight. A
// step run again (a store failed, a save lost a race) may show progress again after it. nil is
// a no-op.
func (p *progressMessage) settle() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.settling = true
	done := p.running
	p.mu.Unlock()
	if done != nil {
		select {
		case p.kick <- struct{}{}:
		default:
		}
		<-done
	}
	p.mu.Lock()
	p.settling = false
	p.mu.Unlock()
}

var _ flows.Progress = (*progressMessage)(nil)
