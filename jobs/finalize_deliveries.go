package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/thuduc/maytinhchoem/bot"
	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/chat"
)

// FinalizeDeliveries makes final the deliveries handed over more than After ago that the parent
// never confirmed with "Đã nhận", and tells the parent and the donor. The store makes each
// delivery final once, in a transaction, so two processes running the job at once tell nobody
// twice; a message that cannot be sent is logged in the result and not retried (the delivery is
// final either way).
type FinalizeDeliveries struct {
	Cases campaign.CaseStore
	// Notices returns the messages for an auto-confirmed delivery, each with Output.To set
	// (flows.Engine.DeliveryFinalized).
	Notices func(d campaign.Delivery) []bot.Output
	Sender  bot.Sender
	Now     func() time.Time
	// After is how long after the hand-over a delivery becomes final (CONFIRM_AFTER).
	After time.Duration
}

// FinalizeResult is what one run did.
type FinalizeResult struct {
	Finalized int      // deliveries made final
	Sent      int      // messages sent
	Failed    []string // "<delivery code>: <error>" of messages not sent
}

// Run finalizes what is due and sends the notices.
func (j *FinalizeDeliveries) Run(ctx context.Context) (FinalizeResult, error) {
	var res FinalizeResult
	if j.After <= 0 {
		return res, errors.New("jobs: FinalizeDeliveries.After must be positive")
	}
	done, err := j.Cases.FinalizeDeliveries(ctx, j.Now().Add(-j.After))
	if err != nil {
		return res, fmt.Errorf("finalize deliveries: %w", err)
	}
	res.Finalized = len(done)
	for _, d := range done {
		for _, o := range j.Notices(d) {
			if o.To == nil {
				continue
			}
			r := bot.Reply{Output: o, Channel: o.To.Channel, ChatID: o.To.ChatID, Lane: chat.LaneNotice}
			r.To = nil
			if err := j.Sender.Send(ctx, r); err != nil {
				res.Failed = append(res.Failed, d.Code+": "+err.Error())
				continue
			}
			res.Sent++
		}
	}
	return res, nil
}
