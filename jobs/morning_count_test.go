package jobs_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/campaign/campaigntest"
	"github.com/thuduc/maytinhchoem/jobs"
)

func TestMorningCount_ByScope(t *testing.T) {
	ctx := context.Background()
	const wardTamBinh = "26803"
	store := &campaigntest.Reminders{
		Pending: map[string]int{wardLinhTrung: 3, "26794": 4},
		Staff: []campaign.Subscriber{
			subscriber(campaign.RoleWardOfficial, wardLinhTrung, "1", "vi"), // 3 in their ward
			subscriber(campaign.RoleWomensUnion, wardLinhTrung, "2", "en"),  // 3 in their ward
			subscriber(campaign.RoleWomensUnion, wardTamBinh, "3", "vi"),    // nothing pending: not told
			subscriber(campaign.RoleEducationOffice, "", "4", "en"),         // the city's 7
			subscriber(campaign.RoleCityOfficial, "", "5", "vi"),            // does not verify
			subscriber(campaign.RoleVolunteer, "", "6", "vi"),               // does not verify
			subscriber(campaign.RoleAdmin, "", "7", "vi"),                   // configured admin: the city's 7
			subscriber(campaign.RoleAdmin, "", "8", "vi"),                   // no longer configured
			subscriber(campaign.RoleWardOfficial, "", "9", "vi"),            // a ward role without a ward
		},
	}
	db := newTestDB(t)
	n := &notifications{}
	job := &jobs.MorningCount{Reminders: store, Messages: fakeMessages{}, Outbox: db.outbox(), Notify: n.notify, Location: saigon,
		KeepAdmin: func(s campaign.Subscriber) bool { return s.Role != campaign.RoleAdmin || s.ExternalID == "7" }}
	// 07:30 on 20 September in Thủ Đức is 00:30 UTC: the key carries the local date.
	tick := jobs.Tick{Job: "morning_count", ScheduledFor: utc("2021-09-20T00:30:00Z")}
	res, err := job.Run(ctx, tick)
	if err != nil {
		t.Fatal(err)
	}
	if want := (jobs.MorningCountResult{Date: "2021-09-20", Pending: 7, Staff: 5, Queued: 4}); res != want {
		t.Errorf("result = %+v, want %+v", res, want)
	}
	var got []string
	for _, m := range db.queued() {
		got = append(got, m.Key+" "+m.Text)
		if m.Batch != "morning:2021-09-20" || len(m.Buttons) != 1 {
			t.Errorf("message %+v", m)
		}
	}
	want := []string{
		`morning:2021-09-20:telegram:1 [vi] 3 pending in "26800"`,
		`morning:2021-09-20:telegram:2 [en] 3 pending in "26800"`,
		`morning:2021-09-20:telegram:4 [en] 7 pending in ""`,
		`morning:2021-09-20:telegram:7 [vi] 7 pending in ""`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("queued %q, want %q", got, want)
	}
	if res, err := job.Run(ctx, tick); err != nil || res.Queued != 0 || n.count() != 1 {
		t.Errorf("again: %+v, %v, notified %d", res, err, n.count())
	}

	store.Err = errors.New("connection refused")
	if _, err := job.Run(ctx, tick); !errors.Is(err, store.Err) {
		t.Errorf("store failure: %v", err)
	}
}
