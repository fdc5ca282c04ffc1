package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/jobs"
	"github.com/thuduc/maytinhchoem/storage/redis"
	"github.com/thuduc/maytinhchoem/storage/redis/redistest"
)

// newDialogs returns a Redis dialog store of the test's own (a unique key prefix, removed at the
// end) and a function that saves a chat's dialog as the bot would.
func newDialogs(t *testing.T) (*redis.Store, func(chat string, d any)) {
	t.Helper()
	store, save := newChannelDialogs(t)
	return store, func(chat string, d any) { t.Helper(); save("telegram", chat, d) }
}

// newChannelDialogs is newDialogs whose save names the channel.
func newChannelDialogs(t *testing.T) (*redis.Store, func(channel, chat string, d any)) {
	t.Helper()
	client, prefix := redistest.New(t)
	store := redis.New(client, redis.Options{Prefix: prefix})
	ctx := context.Background()
	if err := store.LoadScripts(ctx); err != nil {
		t.Fatal(err)
	}
	save := func(channel, chat string, d any) {
		t.Helper()
		var data []byte
		if d != nil {
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			data = b
		}
		_, version, _, err := store.Load(ctx, channel, chat, "")
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := store.Save(ctx, channel, chat, version, data, ""); err != nil || !ok {
			t.Fatalf("save dialog %s: %v, %v", chat, ok, err)
		}
	}
	return store, save
}

func TestFormReminders_OncePerForm(t *testing.T) {
	ctx := context.Background()
	dialogs, save := newDialogs(t)
	now := utc("2021-09-20T03:00:00Z")
	save("11", formDialog{Form: "registration", Started: now.Add(-30 * time.Hour)})             // due
	save("12", formDialog{Form: "registration", Started: now.Add(-2 * time.Hour)})              // too recent
	save("13", formDialog{Form: "registration", Started: now.Add(-50 * time.Hour), Done: true}) // finished
	save("14", formDialog{Form: "pledge", Started: now.Add(-24 * time.Hour)})                   // just due
	save("15", map[string]string{"idle": "menu"})                                               // no form
	save("16", nil)                                                                             // emptied

	db := newTestDB(t)
	clock := now
	n := &notifications{}
	job := func() *jobs.FormReminders {
		return &jobs.FormReminders{Channels: []string{"telegram"}, Dialogs: dialogs, Messages: fakeMessages{}, After: 24 * time.Hour,
			Outbox: db.outbox(), Notify: n.notify, Now: func() time.Time { return clock }}
	}
	a, b := job(), job()
	res, err := a.Run(ctx, jobs.Tick{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (jobs.FormRemindersResult{Scanned: 5, Due: 2, Queued: 2}); res != want {
		t.Errorf("result = %+v, want %+v", res, want)
	}
	msgs := db.queued()
	var keys []string
	for _, m := range msgs {
		keys = append(keys, m.Key)
		if len(m.Buttons) != 1 || m.Buttons[0][0].Data != "resume" || m.Batch != "form-reminders" {
			t.Errorf("message %+v", m)
		}
	}
	slices.Sort(keys)
	started11 := strconv.FormatInt(now.Add(-30*time.Hour).Unix(), 10)
	want := []string{"form-reminder:telegram:11:" + started11, "form-reminder:telegram:14:" + strconv.FormatInt(now.Add(-24*time.Hour).Unix(), 10)}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %q, want %q", keys, want)
	}

	// The next hours, in two processes at once: the same forms are still due and reminded no more.
	for hour := 1; hour <= 3; hour++ {
		clock = now.Add(time.Duration(hour) * time.Hour)
		var ra, rb jobs.FormRemindersResult
		var ea, eb error
		var wg sync.WaitGroup
		wg.Go(func() { ra, ea = a.Run(ctx, jobs.Tick{}) })
		wg.Go(func() { rb, eb = b.Run(ctx, jobs.Tick{}) })
		wg.Wait()
		if ea != nil || eb != nil || ra.Due != 2 || ra.Queued+rb.Queued != 0 {
			t.Errorf("hour %d: %+v %v / %+v %v", hour, ra, ea, rb, eb)
		}
	}
	// Chat 11 gives up and starts a new form, which gets its own reminder a day later, when chat
	// 12's form is due too; chat 14's was reminded already.
	save("11", formDialog{Form: "registration", Started: clock})
	clock = clock.Add(25 * time.Hour)
	if res, err := a.Run(ctx, jobs.Tick{}); err != nil || res.Due != 3 || res.Queued != 2 {
		t.Errorf("a day on: %+v, %v", res, err)
	}
	keys = nil
	for _, m := range db.queued()[2:] {
		keys = append(keys, m.Key)
	}
	slices.Sort(keys)
	want = []string{"form-reminder:telegram:11:" + strconv.FormatInt(now.Add(3*time.Hour).Unix(), 10),
		"form-reminder:telegram:12:" + strconv.FormatInt(now.Add(-2*time.Hour).Unix(), 10)}
	if !slices.Equal(keys, want) {
		t.Errorf("a day on: keys %q, want %q", keys, want)
	}
	if n.count() != 2 {
		t.Errorf("Notify called %d times, want once per run that added", n.count())
	}
}

// TestFormReminders_ManyDialogs walks 1,200 due forms: they reach the outbox in lists of at most
// 500 while the walk goes on.
func TestFormReminders_ManyDialogs(t *testing.T) {
	ctx := context.Background()
	dialogs, save := newDialogs(t)
	now := utc("2021-09-20T03:00:00Z")
	for i := range 1200 {
		save(strconv.Itoa(100000+i), formDialog{Form: "registration", Started: now.Add(-48 * time.Hour)})
	}
	db := newTestDB(t)
	box := &countingOutbox{Outbox: db.outbox()}
	job := &jobs.FormReminders{Channels: []string{"telegram"}, Dialogs: dialogs, Messages: fakeMessages{}, After: 24 * time.Hour,
		Outbox: box, Now: func() time.Time { return now }}
	res, err := job.Run(ctx, jobs.Tick{})
	if err != nil || res.Scanned != 1200 || res.Due != 1200 || res.Queued != 1200 {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	if box.calls != 3 || box.largest > 500 {
		t.Errorf("%d Enqueue calls, largest %d", box.calls, box.largest)
	}
	keysOf(t, db.queued())

	// An outbox failure ends the run with the error.
	boom := errors.New("connection reset")
	box.failNext = boom
	if _, err := job.Run(ctx, jobs.Tick{}); !errors.Is(err, boom) {
		t.Errorf("outbox failure: %v", err)
	}
	if _, err := (&jobs.FormReminders{Channels: []string{"telegram"}, Dialogs: dialogs, Messages: fakeMessages{}, Outbox: box}).Run(ctx, jobs.Tick{}); err == nil {
		t.Error("After 0 accepted")
	}
}

// Only the channels named are walked (the Redis store keys dialogs by channel), and each
// reminder goes on the channel of its form.
func TestFormReminders_Channels(t *testing.T) {
	dialogs, save := newChannelDialogs(t)
	now := utc("2021-09-20T03:00:00Z")
	save("telegram", "11", formDialog{Form: "registration", Started: now.Add(-30 * time.Hour)})
	save("zalo", "7213456789012345678", formDialog{Form: "pledge", Started: now.Add(-30 * time.Hour)})
	db := newTestDB(t)
	job := &jobs.FormReminders{Channels: []string{"viber"}, Dialogs: dialogs, Messages: fakeMessages{}, After: time.Hour,
		Outbox: db.outbox(), Now: func() time.Time { return now }}
	if res, err := job.Run(context.Background(), jobs.Tick{}); err != nil || res != (jobs.FormRemindersResult{}) {
		t.Errorf("viber: %+v, %v", res, err)
	}
	job.Channels = []string{"telegram", "zalo"}
	res, err := job.Run(context.Background(), jobs.Tick{})
	if err != nil || res.Scanned != 2 || res.Queued != 2 {
		t.Fatalf("telegram and zalo: %+v, %v", res, err)
	}
	got := map[string]string{}
	for _, m := range db.queued() {
		got[m.Channel+":"+m.ChatID] = m.Text
	}
	if got["telegram:11"] != "finish your registration" || got["zalo:7213456789012345678"] != "finish your pledge" {
		t.Errorf("queued %v, want one reminder on each channel", got)
	}
}

var _ campaign.Outbox = (*countingOutbox)(nil)
