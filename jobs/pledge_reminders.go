package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// PledgeReminders asks donors about pledges none of whose devices arrived After the pledge was
// made.
//
// One reminder per pledge, ever: it is queued under the key "pledge-reminder:<pledge code>",
// which the outbox adds once, so the hourly runs that keep finding the pledge waiting, and two
// processes running the job at once, queue nothing more.
type PledgeReminders struct {
	Reminders campaign.ReminderStore
	// After is how long after the pledge its donor is reminded (Schedule.PledgeReminderAfter).
	After    time.Duration
	Messages Messages
	Outbox   campaign.Outbox
	// Notify wakes the outbox's sender; nil leaves the messages to its poll.
	Notify func()
	// Now is the campaign's clock; the tick's Now when nil.
	Now func() time.Time
}

// PledgeRemindersResult is what one run of PledgeReminders did.
type PledgeRemindersResult struct {
	Due    int `json:"due"`    // pledges waiting long enough
	Queued int `json:"queued"` // reminders the outbox added: the due ones not reminded before
	// NoChat counts due pledges without a donor's chat (taken at a ward office), left alone.
	NoChat int `json:"no_chat,omitempty"`
}

// Run queues the reminders due. A store or outbox failure ends the run with an error; the
// reminders queued before stay queued.
func (j *PledgeReminders) Run(ctx context.Context, t Tick) (PledgeRemindersResult, error) {
	var res PledgeRemindersResult
	if j.After <= 0 {
		return res, errors.New("jobs: PledgeReminders.After must be positive")
	}
	now := t.Now
	if j.Now != nil {
		now = j.Now()
	}
	due, err := j.Reminders.PledgesAwaiting(ctx, now.Add(-j.After))
	if err != nil {
		return res, fmt.Errorf("pledge reminders: %w", err)
	}
	res.Due = len(due)
	q := newQueue(j.Outbox)
	for _, p := range due {
		if p.Channel == "" || p.ChatID == "" {
			res.NoChat++
			continue
		}
		n := j.Messages.PledgeReminder(p)
		if err = q.add(ctx, campaign.OutboxMessage{Key: "pledge-reminder:" + p.Code, Batch: "pledge-reminders",
			Channel: p.Channel, ChatID: p.ChatID, Text: n.Text, Buttons: n.Buttons}); err != nil {
			break
		}
	}
	if err == nil {
		err = q.flush(ctx)
	}
	res.Queued = q.added
	notify(j.Notify, q.added)
	if err != nil {
		return res, fmt.Errorf("pledge reminders: %w", err)
	}
	return res, nil
}
