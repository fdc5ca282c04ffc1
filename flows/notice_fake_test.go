package flows

import (
	"sync"

	"github.com/thuduc/maytinhchoem/campaign"
)

// fakeOutbox receives the notices the fake stores queue with their changes, each key once, as the
// real outbox does.
type fakeOutbox struct {
	mu   sync.Mutex
	keys map[string]bool
	// msgs are the messages queued and not yet taken.
	msgs []campaign.OutboxMessage
}

// queue adds the messages whose key is new.
func (o *fakeOutbox) queue(msgs []campaign.OutboxMessage) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.keys == nil {
		o.keys = map[string]bool{}
	}
	for _, m := range msgs {
		if m.Key == "" || m.Channel == "" || m.ChatID == "" || m.Text == "" {
			panic("flows: a notice without a key, a channel, a chat or a text: " + m.Key)
		}
		if !o.keys[m.Key] {
			o.keys[m.Key] = true
			o.msgs = append(o.msgs, m)
		}
	}
}

// take returns the messages queued since the last take.
func (o *fakeOutbox) take() []campaign.OutboxMessage {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := o.msgs
	o.msgs = nil
	return out
}

// queueNotices queues what notify gives for rec, as a store does in the change's transaction.
func queueNotices[T any](o *fakeOutbox, notify campaign.Notify[T], rec T) {
	if notify != nil {
		o.queue(notify(rec))
	}
}

// noticeButtons lists the data of the notices' buttons.
func noticeButtons(msgs []campaign.OutboxMessage) []string {
	var out []string
	for _, m := range msgs {
		for _, row := range m.Buttons {
			for _, b := range row {
				out = append(out, b.Data)
			}
		}
	}
	return out
}
