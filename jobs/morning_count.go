package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// MorningCount tells each staff member who verifies registrations how many wait for a verdict in
// their scope: a ward's officials and women's union their ward's, the education office (and
// admins) the whole city's. Nobody is told of nothing: a count of 0 sends no message.
//
// The message is queued under the key "morning:<date>:<channel>:<chat>", which the outbox adds
// once, so a member hears the count once a day however many times, and by however many
// processes, the day's run is made.
//
// It reaches the staff the store holds (ReminderStore.ActiveStaff); admins named only in the
// configuration, never stored, get no morning count.
type MorningCount struct {
	Reminders campaign.ReminderStore
	Messages  Messages
	Outbox    campaign.Outbox
	// Notify wakes the outbox's sender; nil leaves the messages to its poll.
	Notify func()
	// KeepAdmin drops the staff it returns false for (see DailySummary.KeepAdmin).
	KeepAdmin func(campaign.Subscriber) bool
	// Location is the campaign's time zone, in which the key's date is read; nil reads it in
	// the tick's, which the Scheduler gives in the campaign's zone.
	Location *time.Location
}

// MorningCountResult is what one run of MorningCount did.
type MorningCountResult struct {
	Date string `json:"date"`
	Late bool   `json:"late,omitempty"`
	// Pending is the city's count of registrations waiting for a verdict.
	Pending int `json:"pending"`
	// Staff counts the members allowed to verify; those with nothing pending are not told.
	Staff int `json:"staff"`
	// Queued counts the messages the outbox added: 0 when the day's counts were queued before.
	Queued int `json:"queued"`
}

// Run queues the counts of t.ScheduledFor's day. A store or outbox failure ends the run with an
// error; what was queued stays queued.
func (j *MorningCount) Run(ctx context.Context, t Tick) (MorningCountResult, error) {
	day := t.ScheduledFor
	if j.Location != nil {
		day = day.In(j.Location)
	}
	date := day.Format(time.DateOnly)
	res := MorningCountResult{Date: date, Late: t.Late}
	byWard, err := j.Reminders.PendingVerifications(ctx)
	if err != nil {
		return res, fmt.Errorf("morning count: %w", err)
	}
	for _, n := range byWard {
		res.Pending += n
	}
	staff, err := j.Reminders.ActiveStaff(ctx)
	if err != nil {
		return res, fmt.Errorf("morning count: %w", err)
	}
	q := newQueue(j.Outbox)
	for _, s := range staff {
		if j.KeepAdmin != nil && !j.KeepAdmin(s) {
			continue
		}
		// A ward role verifies its ward (Authorize checks the ward is theirs); a city-wide role
		// allowed to verify verifies every ward.
		scope, pending := "", res.Pending
		if s.Role.NeedsWard() {
			scope, pending = s.WardCode, byWard[s.WardCode]
		}
		if campaign.Authorize(s.Staff, campaign.ActionVerify, scope) != nil {
			continue
		}
		res.Staff++
		if pending == 0 {
			continue
		}
		n := j.Messages.MorningCount(language(s.Language), pending, scope)
		if err = q.add(ctx, campaign.OutboxMessage{Key: "morning:" + date + ":" + s.Channel + ":" + s.ExternalID,
			Batch: "morning:" + date, Channel: s.Channel, ChatID: s.ExternalID, Text: n.Text, Buttons: n.Buttons}); err != nil {
			break
		}
	}
	if err == nil {
		err = q.flush(ctx)
	}
	res.Queued = q.added
	notify(j.Notify, q.added)
	if err != nil {
		return res, fmt.Errorf("morning count: %w", err)
	}
	return res, nil
}
