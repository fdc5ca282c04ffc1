package zalo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/thuduc/maytinhchoem/chat"
)

// choicePrefix starts the payload of the query buttons the adapter sends: a tapped button comes
// back as a user_send_text with this text, which is how it is told from typed text.
const choicePrefix = "#c:"

// How Consume pulls events from the inbox: up to consumeBatch at a time, waiting up to
// consumeWait for the first, with at most consumeInFlight being handled; acknowledgements are
// given up after ackTimeout.
const (
	consumeBatch    = 100
	consumeWait     = time.Second
	consumeInFlight = 200
	ackTimeout      = 5 * time.Second
)

// errBadEvent marks an event that cannot be read: delivering it again will not help.
var errBadEvent = errors.New("zalo: not a Zalo event")

// event is a webhook event, as much of it as the adapter reads; any part may be missing.
type event struct {
	EventName string     `json:"event_name"`
	Timestamp flexString `json:"timestamp"`
	Sender    struct {
		ID      flexString `json:"id"`
		AdminID flexString `json:"admin_id"`
	} `json:"sender"`
	Recipient struct {
		ID flexString `json:"id"`
	} `json:"recipient"`
	Follower struct {
		ID flexString `json:"id"`
	} `json:"follower"`
	Message struct {
		Text  string     `json:"text"`
		MsgID flexString `json:"msg_id"`
		// Attachments are read one by one, so one of an unexpected shape costs only itself.
		Attachments []json.RawMessage `json:"attachments"`
	} `json:"message"`
	Info struct {
		Name  string     `json:"name"`
		Phone flexString `json:"phone"`
	} `json:"info"`
}

// ToUpdate maps one webhook event, as JSON, to an update. ok is false for events the bot does not
// act on: unfollow (which goes to OnUnfollow), echoes of the OA's own messages, receipts, a click
// on "chat now", unknown events. A follow comes as the command "start" (and goes to OnFollow).
// Every message and follow is recorded in Interactions, which decides the 7-day window; a text
// takes the chat's pending numbered list (see Send) and is mapped to its choice when it answers
// it. err is set when raw is not a Zalo event, and when a store fails (then the event is worth
// mapping again later).
func (a *Adapter) ToUpdate(ctx context.Context, raw []byte) (in chat.Update, ok bool, err error) {
	return a.mapEvent(ctx, raw)
}

func (a *Adapter) mapEvent(ctx context.Context, raw []byte) (chat.Update, bool, error) {
	var e event
	if err := json.Unmarshal(raw, &e); err != nil {
		return chat.Update{}, false, fmt.Errorf("%w: %w", errBadEvent, err)
	}
	name := e.EventName
	user := string(e.Sender.ID)
	switch {
	case name == "":
		return chat.Update{}, false, fmt.Errorf("%w: no event_name", errBadEvent)
	case strings.HasPrefix(name, "oa_send_"):
		a.noteEcho(&e)
		return chat.Update{}, false, nil
	case name == "follow" || name == "unfollow":
		user = string(e.Follower.ID)
	case name == "user_received_message" || name == "user_seen_message" || name == "user_reacted_message":
		return chat.Update{}, false, nil
	case name == "user_click_chatnow" || name == "user_submit_info" || strings.HasPrefix(name, "user_send_"):
	default:
		a.log.Debug("zalo: unknown event ignored", "event", name)
		return chat.Update{}, false, nil
	}
	if user == "" {
		if name == "user_click_chatnow" {
			return chat.Update{}, false, nil // sources disagree on whether it names the user
		}
		return chat.Update{}, false, fmt.Errorf("%w: %s without a user id", errBadEvent, name)
	}
	if name == "unfollow" {
		a.log.Info("zalo: unfollowed", "user", user)
		callHook(&a.onUnfollow, user)
		return chat.Update{}, false, nil
	}
	at, ok := parseTimestamp(e.Timestamp)
	if !ok {
		at = a.now()
	}
	if err := a.cfg.Interactions.Touch(ctx, user, at); err != nil {
		return chat.Update{}, false, fmt.Errorf("zalo: record the interaction of %s: %w", user, err)
	}

	in := chat.Update{Channel: Channel, ChatID: user, Received: a.now()}
	in.UserID = user
	in.UpdateID = string(e.Message.MsgID)
	if in.UpdateID == "" {
		in.UpdateID = name + ":" + user + ":" + string(e.Timestamp)
	}
	in.MessageID = string(e.Message.MsgID)
	switch name {
	case "follow":
		callHook(&a.onFollow, user)
		// A new follower is greeted as Telegram greets /start.
		in.Kind, in.Command, in.Text = chat.KindCommand, "start", "/start"
	case "user_click_chatnow":
		return chat.Update{}, false, nil
	case "user_send_text":
		return a.fromText(ctx, in, e.Message.Text)
	case "user_submit_info":
		in.Kind = chat.KindContact
		in.Contact = &chat.Contact{Phone: string(e.Info.Phone), Name: strings.TrimSpace(e.Info.Name), UserID: user}
	case "user_send_image":
		in.Kind, in.Text, in.PhotoID = chat.KindOther, e.Message.Text, firstImage(e.Message.Attachments)
	case "user_send_file":
		// A file (a list of children, say): the flows open it by its URL through OpenFile.
		in.Kind, in.Text, in.Document = chat.KindOther, e.Message.Text, firstFile(e.Message.Attachments)
	default:
		// A sticker, GIF, voice note, video, location, file, link or business card: the flows only
		// say what they expected.
		in.Kind, in.Text = chat.KindOther, e.Message.Text
	}
	return in, true, nil
}

// fromText maps a text message: a tapped query button (choicePrefix), a command, the answer to a
// numbered list, or plain text. The chat's menu is taken on any text, so it answers only the
// message right after it.
func (a *Adapter) fromText(ctx context.Context, in chat.Update, text string) (chat.Update, bool, error) {
	data, err := a.cfg.Menus.TakeMenu(ctx, in.ChatID, in.UpdateID)
	if err != nil {
		return chat.Update{}, false, fmt.Errorf("zalo: take the menu of %s: %w", in.ChatID, err)
	}
	in.Kind, in.Text = chat.KindText, text
	if choice, ok := strings.CutPrefix(text, choicePrefix); ok && choice != "" {
		in.Kind, in.Text, in.Data = chat.KindChoice, "", choice
		return in, true, nil
	}
	if command, args, ok := splitCommand(text); ok {
		in.Kind, in.Command, in.Args = chat.KindCommand, command, args
		return in, true, nil
	}
	if data == nil {
		return in, true, nil
	}
	var m menu
	if err := json.Unmarshal(data, &m); err != nil {
		a.log.Warn("zalo: a stored menu is not JSON; the answer is taken as text", "chat", in.ChatID, "err", err)
		return in, true, nil
	}
	if c, ok := m.match(text); ok {
		if c.Data != "" {
			in.Kind, in.Text, in.Data = chat.KindChoice, "", c.Data
		} else {
			in.Text = c.Text
		}
	}
	return in, true, nil
}

// splitCommand reads "/name args" (name: 1-32 of A-Za-z0-9_, followed by white space or the end),
// Telegram's rule for commands, which Zalo users type the same way.
func splitCommand(text string) (name, args string, ok bool) {
	if !strings.HasPrefix(text, "/") {
		return "", "", false
	}
	end := 1
	for end < len(text) && isCommandByte(text[end]) {
		end++
	}
	if end == 1 || end-1 > 32 {
		return "", "", false
	}
	if end < len(text) && !strings.ContainsRune(" \t\r\n", rune(text[end])) {
		return "", "", false
	}
	return strings.ToLower(text[1:end]), strings.TrimSpace(text[end:]), true
}

func isCommandByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// firstImage is the URL of the first image attachment, "" when there is none.
func firstImage(attachments []json.RawMessage) string {
	for _, raw := range attachments {
		var att struct {
			Type    string `json:"type"`
			Payload struct {
				URL string `json:"url"`
			} `json:"payload"`
		}
		if json.Unmarshal(raw, &att) != nil {
			continue
		}
		if (att.Type == "image" || att.Type == "") && att.Payload.URL != "" {
			return att.Payload.URL
		}
	}
	return ""
}

// firstFile is the first file attachment ({size,name,checksum,type,url}) as a document whose
// FileID is its URL, nil when there is none with an http(s) URL. A missing name is made from the
// type ("tep.xlsx"); a size that is not a number is 0 (unknown).
func firstFile(attachments []json.RawMessage) *chat.Document {
	for _, raw := range attachments {
		var att struct {
			Type    string `json:"type"`
			Payload struct {
				Size flexString `json:"size"`
				Name string     `json:"name"`
				Type string     `json:"type"`
				URL  string     `json:"url"`
			} `json:"payload"`
		}
		if json.Unmarshal(raw, &att) != nil || att.Type != "file" && att.Type != "" {
			continue
		}
		p := att.Payload
		if _, err := downloadURL(p.URL); err != nil {
			continue
		}
		name := strings.TrimSpace(p.Name)
		if name == "" {
			name = "tep"
			if ext := strings.Trim(strings.TrimSpace(p.Type), "."); ext != "" && !strings.ContainsAny(ext, "/\\") {
				name += "." + ext
			}
		}
		size, err := strconv.ParseInt(string(p.Size), 10, 64)
		if err != nil || size < 0 {
			size = 0
		}
		return &chat.Document{Name: name, Size: size, FileID: p.URL}
	}
	return nil
}

// noteEcho logs an echo of a message the OA sent: a person answering from the OA's inbox is worth
// knowing about, since the bot did not write it.
func (a *Adapter) noteEcho(e *event) {
	if e.Sender.AdminID != "" {
		a.log.Info("zalo: a person answered from the OA inbox", "user", string(e.Recipient.ID),
			"admin", string(e.Sender.AdminID), "event", e.EventName)
		return
	}
	a.log.Debug("zalo: echo of the OA's own message", "user", string(e.Recipient.ID), "event", e.EventName)
}

// Consume handles the events the webhook stored in inbox until ctx ends (or the Adapter is
// closed), then returns nil once the events in hand are done. It maps each event with ToUpdate, in
// the order they came, and hands each input to handle, which returns at once with a channel that
// receives the outcome when the update is handled durably (bot.Dispatcher.Dispatch, which keeps
// each chat's updates in order). Each event is acknowledged as soon as its own update is handled,
// so a chat stuck on a slow update (up to the dispatcher's deadline) holds up only its own events,
// never the next pull: up to consumeInFlight events are in hand at once. Events that map to
// nothing or cannot be read are acknowledged at once. An event whose handling failed is left
// unacknowledged: the inbox offers it again after a while (the bot de-duplicates it; a numbered
// list maps the same way again, see MenuStore). When a store of the mapping fails, the rest of
// the pull is left for that redelivery and Consume pauses with a capped exponential backoff.
func (a *Adapter) Consume(ctx context.Context, inbox Inbox, handle func(ctx context.Context, u chat.Update) <-chan error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(a.ctx, cancel)
	defer stop()

	acks := a.startAcker(inbox)
	slots := make(chan struct{}, consumeInFlight)
	var inHand sync.WaitGroup
	defer func() {
		inHand.Wait()
		acks.close()
	}()
	wait := &backoff{min: a.cfg.backoffMin, max: a.cfg.backoffMax}
	for ctx.Err() == nil {
		// Wait for room for one event at least.
		select {
		case slots <- struct{}{}:
			<-slots
		case <-ctx.Done():
			continue
		}
		ids, data, err := inbox.Pull(ctx, min(consumeBatch, consumeInFlight-len(slots)), consumeWait)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("zalo: pull events from the inbox", "err", err)
				sleep(ctx, wait.next())
			}
			continue
		}
		failed := false
		for k, raw := range data[:min(len(data), len(ids))] {
			id := ids[k]
			in, ok, err := a.mapEvent(ctx, raw)
			switch {
			case errors.Is(err, errBadEvent):
				a.log.Warn("zalo: skip an event that cannot be read", "err", err)
				acks.add(id)
				continue
			case err != nil:
				if ctx.Err() == nil {
					a.log.Warn("zalo: map events; they will be offered again", "events", len(ids)-k, "err", err)
				}
				failed = true
			case !ok:
				acks.add(id)
				continue
			}
			if failed {
				break
			}
			slots <- struct{}{}
			done := handle(ctx, in)
			inHand.Add(1)
			go func() {
				defer inHand.Done()
				err := <-done
				<-slots
				if err != nil {
					if ctx.Err() == nil {
						a.log.Warn("zalo: handle an event; it will be offered again", "chat", in.ChatID, "err", err)
					}
					return
				}
				acks.add(id)
			}()
		}
		if failed {
			sleep(ctx, wait.next())
		} else {
			wait.reset()
		}
	}
	return nil
}

// acker acknowledges handled events in groups: under load one XACK covers many events.
type acker struct {
	ids  chan string
	done chan struct{}
}

// startAcker starts acknowledging the ids added to it, until close.
func (a *Adapter) startAcker(inbox Inbox) *acker {
	k := &acker{ids: make(chan string, consumeInFlight+consumeBatch), done: make(chan struct{})}
	go func() {
		defer close(k.done)
		for id := range k.ids {
			group := []string{id}
		more:
			for len(group) < consumeBatch {
				select {
				case id, ok := <-k.ids:
					if !ok {
						break more
					}
					group = append(group, id)
				default:
					break more
				}
			}
			// Not under Consume's ctx: events handled while it ends are still acknowledged.
			ctx, cancel := context.WithTimeout(context.Background(), ackTimeout)
			if err := inbox.Ack(ctx, group...); err != nil {
				a.log.Warn("zalo: acknowledge handled events; they will be offered again", "events", len(group), "err", err)
			}
			cancel()
		}
	}()
	return k
}

func (k *acker) add(id string) { k.ids <- id }

// close acknowledges what was added and stops.
func (k *acker) close() {
	close(k.ids)
	<-k.done
}
