package jobs

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/bot"
	"github.com/thuduc/maytinhchoem/campaign"
)

// finalizingStore finalizes each delivery once, like the PostgreSQL store's transaction.
type finalizingStore struct {
	campaign.CaseStore // the other methods are not used by the job
	pending            []campaign.Delivery
	cutoffs            []time.Time
	err                error
}

func (s *finalizingStore) FinalizeDeliveries(_ context.Context, cutoff time.Time) ([]campaign.Delivery, error) {
	s.cutoffs = append(s.cutoffs, cutoff)
	if s.err != nil {
		return nil, s.err
	}
	var done, left []campaign.Delivery
	for _, d := range s.pending {
		if d.DeliveredAt.Before(cutoff) {
			d.Status, d.AutoConfirmed = campaign.DeliveryConfirmed, true
			done = append(done, d)
		} else {
			left = append(left, d)
		}
	}
	s.pending = left
	return done, nil
}

type recordingSender struct {
	sent []bot.Reply
	fail map[string]error
}

func (s *recordingSender) Send(_ context.Context, r bot.Reply) error {
	if err := s.fail[r.ChatID]; err != nil {
		return err
	}
	s.sent = append(s.sent, r)
	return nil
}

func TestFinalizeDeliveries_TellsParentAndDonorOnce(t *testing.T) {
	now := time.Date(2021, 9, 28, 10, 0, 0, 0, time.UTC)
	store := &finalizingStore{pending: []campaign.Delivery{
		{Code: "GH-000001", DeliveredAt: now.Add(-8 * 24 * time.Hour), Parent: campaign.Session{Channel: "telegram", ChatID: "11"},
			Donor: &campaign.Session{Channel: "telegram", ChatID: "21"}},
		{Code: "GH-000002", DeliveredAt: now.Add(-6 * 24 * time.Hour), Parent: campaign.Session{Channel: "telegram", ChatID: "12"}},
		{Code: "GH-000003", DeliveredAt: now.Add(-9 * 24 * time.Hour), Parent: campaign.Session{Channel: "telegram", ChatID: "13"}},
	}}
	sender := &recordingSender{fail: map[string]error{"13": bot.ErrStopped}}
	notices := func(d campaign.Delivery) []bot.Output {
		out := []bot.Output{{Text: "final " + d.Code, To: &bot.Session{Channel: d.Parent.Channel, ChatID: d.Parent.ChatID}}}
		if d.Donor != nil {
			out = append(out, bot.Output{Text: "donor " + d.Code, To: &bot.Session{Channel: d.Donor.Channel, ChatID: d.Donor.ChatID}})
		}
		return out
	}
	job := &FinalizeDeliveries{Cases: store, Notices: notices, Sender: sender, Now: func() time.Time { return now }, After: 7 * 24 * time.Hour}
	res, err := job.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Finalized != 2 || res.Sent != 2 || len(res.Failed) != 1 || res.Failed[0] != "GH-000003: "+bot.ErrStopped.Error() {
		t.Errorf("result = %+v", res)
	}
	if !store.cutoffs[0].Equal(now.Add(-7 * 24 * time.Hour)) {
		t.Errorf("cutoff = %s", store.cutoffs[0])
	}
	var got []string
	for _, r := range sender.sent {
		if r.To != nil {
			t.Errorf("a reply kept To: %+v", r)
		}
		got = append(got, r.ChatID+" "+r.Text)
	}
	if want := []string{"11 final GH-000001", "21 donor GH-000001"}; !slices.Equal(got, want) {
		t.Errorf("sent %q, want %q", got, want)
	}
	// The next run finds nothing new: nobody is told twice.
	res, err = job.Run(context.Background())
	if err != nil || res.Finalized != 0 || len(sender.sent) != 2 {
		t.Errorf("second run = %+v, %v; sent %d", res, err, len(sender.sent))
	}
}

func TestFinalizeDeliveries_Errors(t *testing.T) {
	store := &finalizingStore{err: errors.New("connection refused")}
	job := &FinalizeDeliveries{Cases: store, Notices: func(campaign.Delivery) []bot.Output { return nil },
		Sender: &recordingSender{}, Now: time.Now, After: time.Hour}
	if _, err := job.Run(context.Background()); !errors.Is(err, store.err) {
		t.Errorf("store failure = %v", err)
	}
	job.After = 0
	if _, err := job.Run(context.Background()); err == nil {
		t.Error("After 0 accepted")
	}
}
