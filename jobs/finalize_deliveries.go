package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/thuduc/maytinhchoem/bot"
	"github.com/thuduc/maytinhchoem/campaign"
)

// FinalizeDeliveries makes final the deliveries handed over more than After ago that the parent
// never confirmed with "Đã nhận", and tells the parent and the donor through the outbox. The store
// makes each delivery final once and queues its messages in the same transaction, so a delivery is
// final exactly when its messages are queued: two processes running the job at once, a crash or a
// channel refusing for a while, tell nobody twice and lose no message (the outbox retries it).
type FinalizeDeliveries struct {
	Cases campaign.CaseStore
	// Notices returns the messages for an auto-confirmed delivery, each with Output.To set
	// (flows.Engine.DeliveryFinalized).
	Notices func(d campaign.Delivery) []bot.Output
	Now     func() time.Time
	// After is how long after the hand-over a delivery becomes final (CONFIRM_AFTER).
	After time.Duration
	// Notify wakes the outbox's sender; nil leaves the messages to its poll.
	Notify func()
}

// FinalizeResult is what one run did.
type FinalizeResult struct {
	Finalized int `json:"finalized"` // deliveries made final
	Queued    int `json:"queued"`    // messages queued for their parents and donors
}

// Run finalizes what is due and queues the notices.
func (j *FinalizeDeliveries) Run(ctx context.Context, _ Tick) (FinalizeResult, error) {
	var res FinalizeResult
	if j.After <= 0 {
		return res, errors.New("jobs: FinalizeDeliveries.After must be positive")
	}
	done, err := j.Cases.FinalizeDeliveries(ctx, j.Now().Add(-j.After), func(d campaign.Delivery) []campaign.OutboxMessage {
		var msgs []campaign.OutboxMessage
		for _, o := range j.Notices(d) {
			if o.To == nil {
				continue
			}
			msgs = append(msgs, campaign.OutboxMessage{
				Key:   "delivery-final:" + d.Code + ":" + o.To.Channel + ":" + o.To.ChatID,
				Batch: "delivery-final", Channel: o.To.Channel, ChatID: o.To.ChatID, Text: o.Text,
				Buttons: outboxButtons(o.Buttons),
			})
		}
		return msgs
	})
	if err != nil {
		return FinalizeResult{}, fmt.Errorf("finalize deliveries: %w", err)
	}
	res.Finalized = len(done)
	for _, d := range done {
		for _, o := range j.Notices(d) {
			if o.To != nil {
				res.Queued++
			}
		}
	}
	notify(j.Notify, res.Queued)
	return res, nil
}

// outboxButtons keeps a message's buttons in the outbox's form.
func outboxButtons(rows [][]bot.Button) [][]campaign.OutboxButton {
	var out [][]campaign.OutboxButton
	for _, row := range rows {
		r := make([]campaign.OutboxButton, len(row))
		for i, b := range row {
			r[i] = campaign.OutboxButton{Text: b.Text, Data: b.Data}
		}
		out = append(out, r)
	}
	return out
}
