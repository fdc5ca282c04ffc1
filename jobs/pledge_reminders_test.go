package jobs_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/campaign/campaigntest"
	"github.com/thuduc/maytinhchoem/jobs"
)

func TestPledgeReminders_OncePerPledge(t *testing.T) {
	ctx := context.Background()
	now := utc("2021-09-20T03:00:00Z")
	store := &campaigntest.Reminders{Pledges: []campaign.PledgeAwaiting{
		{Code: "CK-000001", Channel: "telegram", ChatID: "21", Language: "vi", Devices: 2, CreatedAt: now.Add(-8 * 24 * time.Hour)},
		{Code: "CK-000002", Channel: "telegram", ChatID: "22", Language: "en", Devices: 1, CreatedAt: now.Add(-6 * 24 * time.Hour)}, // not yet
		{Code: "CK-000003", Channel: "zalo", ChatID: "z23", Language: "vi", Devices: 5, CreatedAt: now.Add(-10 * 24 * time.Hour)},
		{Code: "CK-000004", Devices: 1, CreatedAt: now.Add(-9 * 24 * time.Hour)}, // taken at a ward office
	}}
	db := newTestDB(t)
	n := &notifications{}
	clock := now
	job := &jobs.PledgeReminders{Reminders: store, After: 7 * 24 * time.Hour, Messages: fakeMessages{}, Outbox: db.outbox(),
		Notify: n.notify, Now: func() time.Time { return clock }}
	res, err := job.Run(ctx, jobs.Tick{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (jobs.PledgeRemindersResult{Due: 3, Queued: 2, NoChat: 1}); res != want {
		t.Errorf("result = %+v, want %+v", res, want)
	}
	var got []string
	for _, m := range db.queued() {
		got = append(got, m.Key+" "+m.Channel+":"+m.ChatID+" "+m.Text)
		if len(m.Buttons) != 1 || m.Buttons[0][0].Data != "cancel:"+m.Key[len("pledge-reminder:"):] || m.Batch != "pledge-reminders" {
			t.Errorf("message %+v", m)
		}
	}
	want := []string{"pledge-reminder:CK-000001 telegram:21 [vi] pledge CK-000001 of 2 devices", "pledge-reminder:CK-000003 zalo:z23 [vi] pledge CK-000003 of 5 devices"}
	if !slices.Equal(got, want) {
		t.Errorf("queued %q, want %q", got, want)
	}
	// Two days on, the second pledge is due too; the first ones are not reminded again.
	clock = now.Add(2 * 24 * time.Hour)
	if res, err := job.Run(ctx, jobs.Tick{}); err != nil || res.Due != 4 || res.Queued != 1 {
		t.Errorf("two days on: %+v, %v", res, err)
	}
	if res, err := job.Run(ctx, jobs.Tick{}); err != nil || res.Queued != 0 {
		t.Errorf("again: %+v, %v", res, err)
	}
	if len(db.queued()) != 3 || n.count() != 2 {
		t.Errorf("outbox holds %d, notified %d", len(db.queued()), n.count())
	}

	// The tick's clock serves when Now is nil.
	job.Now = nil
	store.Err = errors.New("connection refused")
	if _, err := job.Run(ctx, jobs.Tick{Now: now}); !errors.Is(err, store.Err) {
		t.Errorf("store failure: %v", err)
	}
}
