package flows

import (
	"crypto/rand"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Messages to other people (the parent told of an official's decision, the donor of a device that
// arrived, the official of a parent's answer) are never sent by the turn that causes them: the
// turn hands them to the store call that makes the change, as a campaign.Notify, and the store
// queues them in the outbox in the change's own transaction. So a message goes exactly when its
// change is kept, is retried by the outbox when the channel refuses it for a while, survives a
// crash of this process, and is not queued again when the change is repeated with the same
// idempotency key (the store applies the change and its notices once).

// notice makes the outbox message that tells the person at to what o says (its text and buttons),
// on the notice lane, which goes before bulk. key makes it once only: the change's own
// idempotency key with what the message is about (see noticeKey). A person without a chat on a
// known channel gets nothing (and the change is not refused for it).
func notice(key string, to campaign.Session, o Output) []campaign.OutboxMessage {
	if to.Channel == "" || to.ChatID == "" {
		return nil
	}
	m := campaign.OutboxMessage{Key: key, Channel: to.Channel, ChatID: to.ChatID, Text: o.Text, Lane: campaign.OutboxNotice}
	for _, row := range o.Buttons {
		r := make([]campaign.OutboxButton, len(row))
		for i, b := range row {
			r[i] = campaign.OutboxButton{Text: b.Text, Data: b.Data}
		}
		m.Buttons = append(m.Buttons, r)
	}
	return []campaign.OutboxMessage{m}
}

// noticeKey is the outbox key of a notice about subject (a code, and who is told) made by a write
// with the idempotency key key: the same write repeated queues nothing new. A write without a key
// is not de-duplicated by its store either, so its notice gets a fresh random key (not one of
// Config.NewKey, which names forms).
func (c *turn) noticeKey(key, subject string) string {
	if key == "" {
		key = rand.Text()
	}
	return "notice:" + subject + ":" + key
}

// noticesQueued wakes the outbox's sender after a store call that may have queued notices, so they
// go now rather than at its next poll.
func (c *turn) noticesQueued() {
	if c.e.cfg.OnQueued != nil {
		c.e.cfg.OnQueued()
	}
}
