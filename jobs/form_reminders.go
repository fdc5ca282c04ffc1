package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// DialogScanner walks a channel's stored dialogs; storage/redis.Store is one.
type DialogScanner interface {
	// Dialogs calls fn once for each chat's dialog of channel (nil data for an emptied one); an
	// error from fn stops the walk and is returned.
	Dialogs(ctx context.Context, channel string, fn func(chatID string, data []byte) error) error
}

// FormReminders reminds parents (and donors) of a form they left unfinished: once a form has
// waited After, its chat gets one reminder, with a button to go on.
//
// One reminder per form, ever, however many processes run the job and however many hours find
// the form still unfinished: the reminder is queued under the key
// "form-reminder:<channel>:<chat>:<notice key>", where the notice's key tells the form from the
// chat's later ones (its start time), and the outbox adds a key once. The dialog itself is not
// written, so the job never races the chat's own updates; Messages.FormReminder may still skip
// forms its dialog marks as reminded.
type FormReminders struct {
	// Channels are the channels whose dialogs are walked ("telegram", "zalo"); each reminder
	// goes on the channel its form is on.
	Channels []string
	Dialogs  DialogScanner
	Messages Messages
	// After is how long a form waits before its reminder (Schedule.FormReminderAfter).
	After  time.Duration
	Outbox campaign.Outbox
	// Notify wakes the outbox's sender; nil leaves the messages to its poll.
	Notify func()
	// Now is the campaign's clock; the tick's Now when nil.
	Now func() time.Time
}

// FormRemindersResult is what one run of FormReminders did.
type FormRemindersResult struct {
	Scanned int `json:"scanned"` // dialogs read
	Due     int `json:"due"`     // forms waiting long enough for a reminder
	Queued  int `json:"queued"`  // reminders the outbox added: the due ones not reminded before
}

// Run walks the dialogs and queues the reminders due, enqueueBatch at a time while walking, so
// a walk over 100,000 dialogs holds a few hundred messages at most. A failure of Redis or the
// outbox ends the run with an error; what was queued stays queued, and the next hour's run goes
// on from there without repeating it.
func (j *FormReminders) Run(ctx context.Context, t Tick) (FormRemindersResult, error) {
	var res FormRemindersResult
	if j.After <= 0 {
		return res, errors.New("jobs: FormReminders.After must be positive")
	}
	now := t.Now
	if j.Now != nil {
		now = j.Now()
	}
	q := newQueue(j.Outbox)
	var err error
	for _, channel := range j.Channels {
		err = j.Dialogs.Dialogs(ctx, channel, func(chatID string, data []byte) error {
			if data == nil {
				return nil
			}
			res.Scanned++
			n, ok := j.Messages.FormReminder(data, now, j.After)
			if !ok {
				return nil
			}
			res.Due++
			return q.add(ctx, campaign.OutboxMessage{
				Key:   "form-reminder:" + channel + ":" + chatID + ":" + n.Key,
				Batch: "form-reminders", Channel: channel, ChatID: chatID, Text: n.Text, Buttons: n.Buttons,
			})
		})
		if err != nil {
			break
		}
	}
	if err == nil {
		err = q.flush(ctx)
	}
	res.Queued = q.added
	notify(j.Notify, q.added)
	if err != nil {
		return res, fmt.Errorf("form reminders: %w", err)
	}
	return res, nil
}
