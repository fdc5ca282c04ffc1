package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// FinalizeDeliveries makes final the deliveries handed over more than After ago that the parent
// never confirmed with "Đã nhận", and tells the parent and the donor through the outbox. The store
// makes each delivery final once and queues its messages in the same transaction, so a delivery is
// final exactly when its messages are queued: two processes running the job at once, a crash or a
// channel refusing for a while, tell nobody twice and lose no message (the outbox retries it).
type FinalizeDeliveries struct {
	Cases campaign.CaseStore
	// Notices returns the messages for an auto-confirmed delivery, keyed once per delivery and
	// person (flows.Engine.DeliveryFinalized).
	Notices campaign.Notify[campaign.Delivery]
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
	done, err := j.Cases.FinalizeDeliveries(ctx, j.Now().Add(-j.After), j.Notices)
	if err != nil {
		return FinalizeResult{}, fmt.Errorf("finalize deliveries: %w", err)
	}
	res.Finalized = len(done)
	for _, d := range done {
		res.Queued += len(j.Notices(d))
	}
	notify(j.Notify, res.Queued)
	return res, nil
}
