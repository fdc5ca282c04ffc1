package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/jobs"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	"github.com/thuduc/maytinhchoem/storage/postgres/postgrestest"
)

var saigon = mustZone("Asia/Ho_Chi_Minh")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// counter is a job that counts its runs per key.
type counter struct {
	mu   sync.Mutex
	runs map[string]int
	late map[string]bool
}

func newCounter() *counter { return &counter{runs: map[string]int{}, late: map[string]bool{}} }

func (c *counter) run(_ context.Context, t jobs.Tick) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.runs[t.Key]++
	c.late[t.Key] = t.Late
	return map[string]int{"sent": c.runs[t.Key]}, nil
}

func (c *counter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, r := range c.runs {
		n += r
	}
	return n
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newScheduler(t *testing.T, runs *postgres.JobRunStore, now func() time.Time, js ...jobs.Job) *jobs.Scheduler {
	t.Helper()
	s := jobs.NewScheduler(jobs.SchedulerConfig{Location: saigon, Runs: runs, Now: now, Logger: quietLogger()})
	for _, j := range js {
		if err := s.Add(j); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func always(_, _ time.Time) bool { return true }

func TestScheduler_DueAroundLocalMidnight(t *testing.T) {
	s := newScheduler(t, nil, time.Now,
		jobs.Job{Name: "summary", Spec: "0 17 * * *", Run: newCounter().run},
		jobs.Job{Name: "midnight", Spec: "0 0 * * *", Run: newCounter().run, CatchUp: always},
	)
	type due struct {
		job, key string
		at       time.Time
		late     bool
	}
	cases := []struct {
		now  string
		want []due
	}{
		// 16:59:59 in Sài Gòn: the summary's time has not come; today's midnight run is long past.
		{"2021-09-20T09:59:59Z", []due{{"midnight", "2021-09-20", utc("2021-09-19T17:00:00Z"), true}}},
		// 17:00 local is 10:00Z.
		{"2021-09-20T10:00:00Z", []due{
			{"summary", "2021-09-20", utc("2021-09-20T10:00:00Z"), false},
			{"midnight", "2021-09-20", utc("2021-09-19T17:00:00Z"), true}}},
		{"2021-09-20T10:00:59Z", []due{
			{"summary", "2021-09-20", utc("2021-09-20T10:00:00Z"), false},
			{"midnight", "2021-09-20", utc("2021-09-19T17:00:00Z"), true}}},
		// Over a minute late and no CatchUp: the summary is not due any more.
		{"2021-09-20T10:01:01Z", []due{{"midnight", "2021-09-20", utc("2021-09-19T17:00:00Z"), true}}},
		// 23:59:59 local is still the 20th; at 17:00Z it is midnight of the 21st in UTC+7, while
		// UTC is still on the 20th.
		{"2021-09-20T16:59:59Z", []due{{"midnight", "2021-09-20", utc("2021-09-19T17:00:00Z"), true}}},
		{"2021-09-20T17:00:00Z", []due{{"midnight", "2021-09-21", utc("2021-09-20T17:00:00Z"), false}}},
		// The day's first minute local: yesterday's summary is never due today.
		{"2021-09-20T17:00:30Z", []due{{"midnight", "2021-09-21", utc("2021-09-20T17:00:00Z"), false}}},
	}
	for _, c := range cases {
		t.Run(c.now, func(t *testing.T) {
			got := s.Due(utc(c.now))
			if len(got) != len(c.want) {
				t.Fatalf("due %+v, want %+v", got, c.want)
			}
			for i, w := range c.want {
				g := got[i]
				if g.Job != w.job || g.Key != w.key || !g.ScheduledFor.Equal(w.at) || g.Late != w.late {
					t.Errorf("due[%d] = %s %s %s late=%v, want %s %s %s late=%v",
						i, g.Job, g.Key, g.ScheduledFor.UTC().Format(time.RFC3339), g.Late,
						w.job, w.key, w.at.Format(time.RFC3339), w.late)
				}
			}
		})
	}
}

func TestScheduler_RunsOncePerLocalDay(t *testing.T) {
	ctx := context.Background()
	runs := postgres.NewJobRunStore(postgrestest.NewDB(t))
	c := newCounter()
	s := newScheduler(t, runs, nil, jobs.Job{Name: "summary", Spec: "0 17 * * *", Run: c.run})
	steps := []struct {
		now     string
		wantKey string // "" when nothing runs
	}{
		{"2021-09-20T09:59:59Z", ""},
		{"2021-09-20T10:00:00Z", "2021-09-20"},
		{"2021-09-20T10:00:30Z", ""}, // the cron tick again, or another replica's: claimed already
		{"2021-09-20T16:59:00Z", ""},
		{"2021-09-20T17:00:00Z", ""}, // a new local day, before its 17:00
		{"2021-09-21T10:00:00Z", "2021-09-21"},
	}
	for _, st := range steps {
		out := s.RunDue(ctx, utc(st.now))
		switch {
		case st.wantKey == "" && len(out) != 0:
			t.Errorf("at %s ran %+v, want nothing", st.now, out)
		case st.wantKey != "" && (len(out) != 1 || out[0].Key != st.wantKey || out[0].Late || out[0].Err != nil):
			t.Errorf("at %s ran %+v, want %s on time", st.now, out, st.wantKey)
		}
	}
	if c.runs["2021-09-20"] != 1 || c.runs["2021-09-21"] != 1 || c.total() != 2 {
		t.Errorf("runs = %v", c.runs)
	}
	last, ok, err := runs.LastRun(ctx, "summary")
	if err != nil || !ok || last.Key != "2021-09-21" || string(last.Result) != `{"sent": 1}` || last.FinishedAt.IsZero() {
		t.Errorf("last run = %+v, %v, %v", last, ok, err)
	}
}

// TestScheduler_TwoReplicasRunOnce runs two schedulers, each with its own connection pool as two
// bot processes would have, calling RunDue at the same instant for a week.
func TestScheduler_TwoReplicasRunOnce(t *testing.T) {
	ctx := context.Background()
	url := postgrestest.NewDatabaseURL(t)
	open := func() *postgres.DB {
		db, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		if err := postgres.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		return db
	}
	c := newCounter()
	job := jobs.Job{Name: "summary", Spec: "0 17 * * *", Run: c.run}
	a := newScheduler(t, postgres.NewJobRunStore(open()), nil, job)
	b := newScheduler(t, postgres.NewJobRunStore(open()), nil, job)
	var byA, byB atomic.Int32
	start := utc("2021-09-20T10:00:00Z")
	for day := range 7 {
		now := start.AddDate(0, 0, day)
		var wg sync.WaitGroup
		ready := make(chan struct{})
		wg.Go(func() { <-ready; byA.Add(int32(len(a.RunDue(ctx, now)))) })
		wg.Go(func() { <-ready; byB.Add(int32(len(b.RunDue(ctx, now)))) })
		close(ready)
		wg.Wait()
	}
	if c.total() != 7 || len(c.runs) != 7 {
		t.Errorf("runs = %v, want one a day for 7 days", c.runs)
	}
	if byA.Load()+byB.Load() != 7 {
		t.Errorf("replicas report %d + %d runs", byA.Load(), byB.Load())
	}
	t.Logf("replica A ran %d days, replica B %d", byA.Load(), byB.Load())
}

func TestScheduler_CatchUpAtStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runs := postgres.NewJobRunStore(postgrestest.NewDB(t))
	c := newCounter()
	job := jobs.Job{Name: "summary", Spec: "0 17 * * *", Run: c.run, CatchUp: jobs.Until("21:00")}

	// The bot comes up at 18:30 local on the 20th, having been down at 17:00.
	now := utc("2021-09-20T11:30:00Z")
	s := newScheduler(t, runs, func() time.Time { return now }, job)
	out := s.Start(ctx)
	s.Stop()
	if len(out) != 1 || out[0].Key != "2021-09-20" || !out[0].Late || !out[0].ScheduledFor.Equal(utc("2021-09-20T10:00:00Z")) {
		t.Fatalf("catch-up = %+v", out)
	}
	last, _, err := runs.LastRun(ctx, "summary")
	if err != nil || !last.Late || last.Key != "2021-09-20" {
		t.Errorf("stored run = %+v, %v", last, err)
	}

	// A restart at 19:00 (or a second replica starting) finds the run made.
	now = utc("2021-09-20T12:00:00Z")
	s2 := newScheduler(t, runs, func() time.Time { return now }, job)
	if out := s2.Start(ctx); len(out) != 0 {
		t.Errorf("second start ran %+v", out)
	}
	s2.Stop()

	// On the 21st the bot is down at 17:00 and comes up at 21:30 local: too late to be useful.
	now = utc("2021-09-21T14:30:00Z")
	s3 := newScheduler(t, runs, func() time.Time { return now }, job)
	if out := s3.Start(ctx); len(out) != 0 {
		t.Errorf("start after the deadline ran %+v", out)
	}
	s3.Stop()
	// Nor is the 21st's run made on the morning of the 22nd.
	now = utc("2021-09-22T01:00:00Z")
	if out := s3.RunDue(ctx, now); len(out) != 0 {
		t.Errorf("the next morning ran %+v", out)
	}
	if c.total() != 1 {
		t.Errorf("runs = %v", c.runs)
	}
}

func TestScheduler_FailingJobDoesNotStopOthers(t *testing.T) {
	ctx := context.Background()
	runs := postgres.NewJobRunStore(postgrestest.NewDB(t))
	var logs bytes.Buffer
	var logMu sync.Mutex
	s := jobs.NewScheduler(jobs.SchedulerConfig{Location: saigon, Runs: runs,
		Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil))})
	ok := newCounter()
	for _, j := range []jobs.Job{
		{Name: "broken", Spec: "0 17 * * *", Run: func(context.Context, jobs.Tick) (any, error) {
			return nil, errors.New("no officials to tell")
		}},
		{Name: "panicky", Spec: "0 17 * * *", Run: func(context.Context, jobs.Tick) (any, error) { panic("nil map") }},
		{Name: "fine", Spec: "0 17 * * *", Run: ok.run},
	} {
		if err := s.Add(j); err != nil {
			t.Fatal(err)
		}
	}
	out := s.RunDue(ctx, utc("2021-09-20T10:00:00Z"))
	if len(out) != 3 {
		t.Fatalf("outcomes %+v", out)
	}
	errs := map[string]string{}
	for _, o := range out {
		if o.Err != nil {
			errs[o.Job] = o.Err.Error()
		}
	}
	if errs["broken"] != "no officials to tell" || !strings.HasPrefix(errs["panicky"], "job panicky panicked: nil map") ||
		errs["fine"] != "" || ok.runs["2021-09-20"] != 1 {
		t.Errorf("errors %v, fine ran %v", errs, ok.runs)
	}
	broken, _, err := runs.LastRun(ctx, "broken")
	if err != nil || broken.Error != "no officials to tell" || broken.Result != nil || broken.FinishedAt.IsZero() {
		t.Errorf("broken run stored as %+v, %v", broken, err)
	}
	fine, _, _ := runs.LastRun(ctx, "fine")
	var res map[string]int
	if err := json.Unmarshal(fine.Result, &res); err != nil || res["sent"] != 1 || fine.Error != "" {
		t.Errorf("fine run stored as %+v", fine)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logs.String(), `msg="job failed; tried again while its catch-up time lasts" job=broken key=2021-09-20`) ||
		!strings.Contains(logs.String(), `err="no officials to tell"`) ||
		!strings.Contains(logs.String(), `msg="job done" job=fine`) {
		t.Errorf("log:\n%s", logs.String())
	}
}

func TestScheduler_AddRefusesMistakes(t *testing.T) {
	s := jobs.NewScheduler(jobs.SchedulerConfig{Location: saigon})
	run := newCounter().run
	if err := s.Add(jobs.Job{Name: "a", Spec: "0 17 * * *", Run: run}); err != nil {
		t.Fatal(err)
	}
	for _, j := range []jobs.Job{
		{Name: "a", Spec: "0 17 * * *", Run: run},
		{Name: "b", Spec: "17:00", Run: run},
		{Name: "c", Spec: "0 17 * * *"},
	} {
		if err := s.Add(j); err == nil {
			t.Errorf("Add(%s %q) accepted", j.Name, j.Spec)
		}
	}
}

// lockedWriter serialises the writes of jobs logging at once.
type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// The demo stands on a campaign date: its clock is shifted, so cron's real-time timer would never
// fire at the demo's 17:00. With Poll the scheduler follows the injected clock.
func TestScheduler_PollFollowsShiftedClock(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runs := postgres.NewJobRunStore(postgrestest.NewDB(t))
	c := newCounter()
	offset := time.Until(utc("2021-09-20T09:59:59.8Z")) // 16:59:59.8 local on the 20th
	now := func() time.Time { return time.Now().Add(offset) }
	s := jobs.NewScheduler(jobs.SchedulerConfig{Location: saigon, Runs: runs, Now: now, Logger: quietLogger(), Poll: 20 * time.Millisecond})
	if err := s.Add(jobs.Job{Name: "summary", Spec: "0 17 * * *", Run: c.run}); err != nil {
		t.Fatal(err)
	}
	if out := s.Start(ctx); len(out) != 0 {
		t.Fatalf("ran before 17:00: %+v", out)
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.total() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // a few more polls: none may run it again
	s.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.runs["2021-09-20"] != 1 || c.late["2021-09-20"] {
		t.Errorf("runs = %v, late = %v; want one on-time run on 2021-09-20", c.runs, c.late)
	}
}

// A run that fails (the database was away) is claimed again by the next look, by this process or
// another, while its catch-up time lasts, and given up after campaign.MaxRunAttempts claims.
func TestScheduler_FailedRunIsRetried(t *testing.T) {
	ctx := context.Background()
	runs := postgres.NewJobRunStore(postgrestest.NewDB(t))
	var calls, flakyCalls atomic.Int32
	flaky := jobs.Job{Name: "summary", Spec: "0 17 * * *", CatchUp: jobs.Until("21:00"),
		Run: func(context.Context, jobs.Tick) (any, error) {
			if flakyCalls.Add(1) <= 2 {
				return nil, errors.New("database away")
			}
			return "sent", nil
		}}
	broken := jobs.Job{Name: "broken", Spec: "0 17 * * *", CatchUp: jobs.Until("21:00"),
		Run: func(context.Context, jobs.Tick) (any, error) { calls.Add(1); return nil, errors.New("always") }}
	a := newScheduler(t, runs, nil, flaky, broken)
	b := newScheduler(t, runs, nil, flaky, broken)
	at := utc("2021-09-20T10:00:05Z")
	for i := range 10 {
		s := a
		if i%2 == 1 {
			s = b // the other process takes its turn
		}
		s.RunDue(ctx, at.Add(time.Duration(i)*time.Minute))
	}
	if n := flakyCalls.Load(); n != 3 {
		t.Errorf("the flaky job ran %d times, want 3 (two failures, then done)", n)
	}
	last, _, err := runs.LastRun(ctx, "summary")
	if err != nil || last.Error != "" || string(last.Result) != `"sent"` || !last.Late {
		t.Errorf("stored run = %+v, %v", last, err)
	}
	if n := calls.Load(); n != campaign.MaxRunAttempts {
		t.Errorf("the broken job ran %d times, want %d", n, campaign.MaxRunAttempts)
	}
	// After 21:00 nothing is tried again, whatever the attempts left.
	flakyCalls.Store(0)
	if out := a.RunDue(ctx, utc("2021-09-20T14:30:00Z")); len(out) != 0 {
		t.Errorf("ran after the deadline: %+v", out)
	}
}
