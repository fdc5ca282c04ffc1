package campaigntest

import (
	"sync"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Outbox receives the notices the fake stores queue with their changes, each key once, as the
// real outbox does.
type Outbox struct {
	mu   sync.Mutex
	keys map[string]bool
	// msgs are the messages queued and not yet taken.
	msgs []campaign.OutboxMessage
}

// Queue adds the messages whose key is new. A message without a key, a channel, a chat or a
// text is a bug in the code under test, so it panics.
func (o *Outbox) Queue(msgs []campaign.OutboxMessage) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.keys == nil {
		o.keys = map[string]bool{}
	}
	for _, m := range msgs {
		if m.Key == "" || m.Channel == "" || m.ChatID == "" || m.Text == "" {
			panic("campaigntest: a notice without a key, a channel, a chat or a text: " + m.Key)
		}
		if !o.keys[m.Key] {
			o.keys[m.Key] = true
			o.msgs = append(o.msgs, m)
		}
	}
}

// Take returns the messages queued since the last Take.
func (o *Outbox) Take() []campaign.OutboxMessage {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := o.msgs
	o.msgs = nil
	return out
}

// queueNotices queues what notify gives for rec, as a store does in the change's transaction.
func queueNotices[T any](o *Outbox, notify campaign.Notify[T], rec T) {
	if notify != nil {
		o.Queue(notify(rec))
	}
}
