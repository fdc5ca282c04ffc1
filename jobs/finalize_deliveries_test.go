package jobs

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// finalizingStore finalizes each delivery once and queues its notices with it, like the
// PostgreSQL store's transaction.
type finalizingStore struct {
	campaign.CaseStore // the other methods are not used by the job
	pending            []campaign.Delivery
	cutoffs            []time.Time
	queued             []campaign.OutboxMessage
	err                error
}

func (s *finalizingStore) FinalizeDeliveries(_ context.Context, cutoff time.Time, notices campaign.Notify[campaign.Delivery]) ([]campaign.Delivery, error) {
	s.cutoffs = append(s.cutoffs, cutoff)
	if s.err != nil {
		return nil, s.err
	}
	var done, left []campaign.Delivery
	for _, d := range s.pending {
		if d.DeliveredAt.Before(cutoff) {
			d.Status, d.AutoConfirmed = campaign.DeliveryConfirmed, true
			done = append(done, d)
			s.queued = append(s.queued, notices(d)...)
		} else {
			left = append(left, d)
		}
	}
	s.pending = left
	return done, nil
}

// The parent and the donor of each delivery made final are told through the outbox, with the
// change; a later run finds nothing new and queues nothing.
func TestFinalizeDeliveries_QueuesParentAndDonorOnce(t *testing.T) {
	now := time.Date(2021, 9, 28, 10, 0, 0, 0, time.UTC)
	store := &finalizingStore{pending: []campaign.Delivery{
		{Code: "GH-000001", DeliveredAt: now.Add(-8 * 24 * time.Hour), Parent: campaign.Session{Channel: "zalo", ChatID: "7213456789012345678"},
			Donor: &campaign.Session{Channel: "telegram", ChatID: "21"}},
		{Code: "GH-000002", DeliveredAt: now.Add(-6 * 24 * time.Hour), Parent: campaign.Session{Channel: "telegram", ChatID: "12"}},
		{Code: "GH-000003", DeliveredAt: now.Add(-9 * 24 * time.Hour), Parent: campaign.Session{Channel: "telegram", ChatID: "13"}},
	}}
	// As flows.Engine.DeliveryFinalized: one message a person, keyed by delivery and person.
	notices := func(d campaign.Delivery) []campaign.OutboxMessage {
		out := []campaign.OutboxMessage{{Key: "delivery-final:" + d.Code + ":" + d.Parent.Channel + ":" + d.Parent.ChatID,
			Channel: d.Parent.Channel, ChatID: d.Parent.ChatID, Text: "final " + d.Code, Lane: campaign.OutboxNotice,
			Buttons: [][]campaign.OutboxButton{{{Text: "Đã nhận", Data: "h:got:" + d.Code}}}}}
		if d.Donor != nil {
			out = append(out, campaign.OutboxMessage{Key: "delivery-final:" + d.Code + ":" + d.Donor.Channel + ":" + d.Donor.ChatID,
				Channel: d.Donor.Channel, ChatID: d.Donor.ChatID, Text: "donor " + d.Code, Lane: campaign.OutboxNotice})
		}
		return out
	}
	woken := 0
	job := &FinalizeDeliveries{Cases: store, Notices: notices, Now: func() time.Time { return now }, After: 7 * 24 * time.Hour,
		Notify: func() { woken++ }}
	res, err := job.Run(context.Background(), Tick{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Finalized != 2 || res.Queued != 3 || woken != 1 {
		t.Errorf("result = %+v, sender woken %d times", res, woken)
	}
	if !store.cutoffs[0].Equal(now.Add(-7 * 24 * time.Hour)) {
		t.Errorf("cutoff = %s", store.cutoffs[0])
	}
	var got []string
	for _, m := range store.queued {
		got = append(got, m.Key+" "+m.Channel+":"+m.ChatID+" "+m.Text)
	}
	want := []string{
		"delivery-final:GH-000001:zalo:7213456789012345678 zalo:7213456789012345678 final GH-000001",
		"delivery-final:GH-000001:telegram:21 telegram:21 donor GH-000001",
		"delivery-final:GH-000003:telegram:13 telegram:13 final GH-000003",
	}
	if !slices.Equal(got, want) {
		t.Errorf("queued\n%q\nwant\n%q", got, want)
	}
	if b := store.queued[0].Buttons; len(b) != 1 || b[0][0].Data != "h:got:GH-000001" {
		t.Errorf("the parent's buttons = %+v", b)
	}
	res, err = job.Run(context.Background(), Tick{})
	if err != nil || res.Finalized != 0 || res.Queued != 0 || len(store.queued) != 3 || woken != 1 {
		t.Errorf("second run = %+v, %v; queued %d, woken %d", res, err, len(store.queued), woken)
	}
}

func TestFinalizeDeliveries_Errors(t *testing.T) {
	store := &finalizingStore{err: errors.New("connection refused")}
	job := &FinalizeDeliveries{Cases: store, Notices: func(campaign.Delivery) []campaign.OutboxMessage { return nil }, Now: time.Now, After: time.Hour}
	if _, err := job.Run(context.Background(), Tick{}); !errors.Is(err, store.err) {
		t.Errorf("store failure = %v", err)
	}
	job.After = 0
	if _, err := job.Run(context.Background(), Tick{}); err == nil {
		t.Error("After 0 accepted")
	}
}
