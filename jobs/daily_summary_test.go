package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/campaign/campaigntest"
	"github.com/thuduc/maytinhchoem/chart"
	"github.com/thuduc/maytinhchoem/jobs"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// The chart's size in these tests: small, to draw fast, and not the default, to see it is kept.
const chartW, chartH = 480, 600

const wardLinhTrung = "26800"

// summaryAt is 17:00 on 20 September 2021 in Thủ Đức, day 20 of the window.
var summaryAt = utc("2021-09-20T10:00:00Z")

func summaryTick(at time.Time) jobs.Tick {
	return jobs.Tick{Job: "daily_summary", Key: at.In(saigon).Format(time.DateOnly), ScheduledFor: at.In(saigon), Now: at}
}

// summarySubscribers: two of the city (in two languages) and one of a ward.
func summarySubscribers() []campaign.Subscriber {
	return []campaign.Subscriber{
		subscriber(campaign.RoleCityOfficial, "", "101", "vi"),
		subscriber(campaign.RoleEducationOffice, "", "102", "en"),
		subscriber(campaign.RoleWardOfficial, wardLinhTrung, "201", ""),
	}
}

// newDailySummary wires the job as cmd does, drawing real charts with chart.Render.
func newDailySummary(c *campaign.Campaign, box campaign.Outbox, dir string, subs []campaign.Subscriber) (*jobs.DailySummary, *campaigntest.Progress, *notifications) {
	progress := &campaigntest.Progress{Campaign: c, WardSums: true}
	n := &notifications{}
	start := c.Day(c.Start)
	days := &campaigntest.Reminders{Days: map[string][]campaign.DayCount{
		"":            {{Date: start.AddDate(0, 0, 16), Count: 120}, {Date: start.AddDate(0, 0, 17), Count: 300}, {Date: start.AddDate(0, 0, 19), Count: 260}},
		wardLinhTrung: {{Date: start.AddDate(0, 0, 17), Count: 12}},
	}}
	return &jobs.DailySummary{
		Campaign: c, Progress: progress, Subscribers: campaigntest.NewSubscriptions(nil, subs...), Days: days.DeliveriesByDay,
		Messages: fakeMessages{}, Outbox: box, Notify: n.notify, Dir: dir,
		Chart: func(w io.Writer, p campaign.Progress, days []campaign.DayCount, lang string) error {
			return chart.Render(w, c, p, chart.DaysOf(days), chart.Options{Width: chartW, Height: chartH, Lang: lang})
		},
	}, progress, n
}

// checkPNG fails unless path is a PNG image of the test's size.
func checkPNG(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", path, err)
	}
	if cfg.Width != chartW || cfg.Height != chartH {
		t.Errorf("%s is %d×%d, want %d×%d", path, cfg.Width, cfg.Height, chartW, chartH)
	}
}

func TestDailySummary_TextAndChartPerSubscriber(t *testing.T) {
	ctx := context.Background()
	c := campaign.Default()
	db := newTestDB(t)
	dir := filepath.Join(t.TempDir(), "reports")
	job, progress, notified := newDailySummary(c, db.outbox(), dir, summarySubscribers())

	res, err := job.Run(ctx, summaryTick(summaryAt))
	if err != nil {
		t.Fatal(err)
	}
	want := jobs.SummaryResult{Date: "2021-09-20", Subscribers: 3, Scopes: 2, Charts: 3, Queued: 6}
	if res != want {
		t.Errorf("result = %+v, want %+v", res, want)
	}
	if progress.Calls("") != 1 || progress.Calls(wardLinhTrung) != 1 {
		t.Errorf("progress asked for scopes %q, want once each", progress.Scopes())
	}
	if notified.count() != 1 {
		t.Errorf("Notify called %d times", notified.count())
	}
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("reports dir mode %s", m)
	}

	msgs := db.queued()
	keys := keysOf(t, msgs)
	wantKeys := []string{
		"summary:2021-09-20:telegram:101:text", "summary:2021-09-20:telegram:101:chart",
		"summary:2021-09-20:telegram:102:text", "summary:2021-09-20:telegram:102:chart",
		"summary:2021-09-20:telegram:201:text", "summary:2021-09-20:telegram:201:chart",
	}
	if !slices.Equal(keys, wantKeys) {
		t.Fatalf("keys = %q, want %q (each text before its chart)", keys, wantKeys)
	}
	wantTexts := []string{
		`[vi] summary 2021-09-20 scope="" day=20 verified=`, `[vi] chart 2021-09-20 scope=""`,
		`[en] summary 2021-09-20 scope="" day=20 verified=`, `[en] chart 2021-09-20 scope=""`,
		`[vi] summary 2021-09-20 scope="26800" day=20 verified=`, `[vi] chart 2021-09-20 scope="26800"`,
	}
	charts := map[string]bool{}
	for i, m := range msgs {
		if m.Batch != "summary:2021-09-20" || m.Channel != "telegram" || !strings.HasPrefix(m.Text, wantTexts[i]) {
			t.Errorf("message %d = %+v, text want %q…", i, m, wantTexts[i])
		}
		isChart := strings.HasSuffix(m.Key, ":chart")
		if isChart != (m.FilePath != "") {
			t.Errorf("message %s: file %q", m.Key, m.FilePath)
		}
		if !isChart {
			continue
		}
		if m.FileName != "tien-do-20210920.png" || filepath.Dir(m.FilePath) != dir {
			t.Errorf("chart message %s: file %s named %s", m.Key, m.FilePath, m.FileName)
		}
		charts[m.FilePath] = true
		checkPNG(t, m.FilePath)
		if fm := mode(t, m.FilePath); fm != 0o600 {
			t.Errorf("%s mode %s", m.FilePath, fm)
		}
	}
	wantFiles := []string{"summary-2021-09-20-city-en.png", "summary-2021-09-20-city-vi.png", "summary-2021-09-20-ward-26800-vi.png"}
	var files []string
	for p := range charts {
		files = append(files, filepath.Base(p))
	}
	slices.Sort(files)
	if !slices.Equal(files, wantFiles) {
		t.Errorf("charts %q, want %q", files, wantFiles)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("reports dir holds %d files, want the 3 charts", len(entries))
	}

	// Running the day again queues nothing and reuses the charts the queued messages name.
	again, err := job.Run(ctx, summaryTick(summaryAt))
	if err != nil || again.Queued != 0 || again.Charts != 0 {
		t.Errorf("second run = %+v, %v", again, err)
	}
	if n := len(db.queued()); n != 6 {
		t.Errorf("outbox holds %d messages after two runs", n)
	}
	if notified.count() != 1 {
		t.Errorf("Notify called %d times after a run that added nothing", notified.count())
	}
}

// TestDailySummary_TwoProcessesQueueOnce runs the day's summary in two processes at once, each
// with its own connection pool, as when a catch-up and a timer overlap.
func TestDailySummary_TwoProcessesQueueOnce(t *testing.T) {
	ctx := context.Background()
	c := campaign.Default()
	db := newTestDB(t)
	dir := t.TempDir()
	a, _, _ := newDailySummary(c, db.outbox(), dir, summarySubscribers())
	b, _, _ := newDailySummary(c, db.outbox(), dir, summarySubscribers())
	var ra, rb jobs.SummaryResult
	var ea, eb error
	var wg sync.WaitGroup
	ready := make(chan struct{})
	wg.Go(func() { <-ready; ra, ea = a.Run(ctx, summaryTick(summaryAt)) })
	wg.Go(func() { <-ready; rb, eb = b.Run(ctx, summaryTick(summaryAt)) })
	close(ready)
	wg.Wait()
	if ea != nil || eb != nil {
		t.Fatal(ea, eb)
	}
	if ra.Queued+rb.Queued != 6 {
		t.Errorf("queued %d + %d, want 6 in all", ra.Queued, rb.Queued)
	}
	msgs := db.queued()
	keysOf(t, msgs)
	if len(msgs) != 6 {
		t.Errorf("outbox holds %d messages", len(msgs))
	}
	for _, m := range msgs {
		if m.FilePath != "" {
			checkPNG(t, m.FilePath)
		}
	}
}

func TestDailySummary_OutsideWindowSkipped(t *testing.T) {
	c := campaign.Default()
	db := newTestDB(t)
	for _, at := range []string{"2021-08-31T10:00:00Z", "2021-10-01T10:00:00Z", "2021-09-30T17:30:00Z" /* 00:30 on 1/10 */} {
		job, progress, _ := newDailySummary(c, db.outbox(), t.TempDir(), summarySubscribers())
		subs := job.Subscribers.(*campaigntest.Subscriptions)
		res, err := job.Run(context.Background(), summaryTick(utc(at)))
		if err != nil || res.Skipped == "" || res.Queued != 0 {
			t.Errorf("%s: %+v, %v", at, res, err)
		}
		if subs.Lists() != 0 || progress.Calls("") != 0 {
			t.Errorf("%s: stores asked outside the window", at)
		}
	}
	// The last day of the window is in it (17:00 on 30/9).
	job, _, _ := newDailySummary(c, db.outbox(), t.TempDir(), summarySubscribers())
	if res, err := job.Run(context.Background(), summaryTick(utc("2021-09-30T10:00:00Z"))); err != nil || res.Skipped != "" || res.Queued != 6 {
		t.Errorf("30/9: %+v, %v", res, err)
	}
	if n := len(db.queued()); n != 6 {
		t.Errorf("outbox holds %d messages", n)
	}
}

func TestDailySummary_TextOnlyLateAndKeepAdmin(t *testing.T) {
	c := campaign.Default()
	db := newTestDB(t)
	subs := append(summarySubscribers(),
		subscriber(campaign.RoleAdmin, "", "900", "en"),       // still configured
		subscriber(campaign.RoleAdmin, "", "901", "vi"),       // no longer an admin
		subscriber(campaign.RoleWomensUnion, "", "902", "vi")) // a ward role without a ward
	job, _, _ := newDailySummary(c, db.outbox(), "", subs)
	job.Chart = nil
	job.KeepAdmin = func(s campaign.Subscriber) bool { return s.Role != campaign.RoleAdmin || s.ExternalID == "900" }
	tick := summaryTick(summaryAt)
	tick.Late, tick.Now = true, summaryAt.Add(3*time.Hour)
	res, err := job.Run(context.Background(), tick)
	if err != nil {
		t.Fatal(err)
	}
	if res.Subscribers != 4 || res.Queued != 4 || res.Charts != 0 || !res.Late {
		t.Errorf("result = %+v", res)
	}
	var chats []string
	for _, m := range db.queued() {
		if m.FilePath != "" {
			t.Errorf("a chart went without a Chart func: %+v", m)
		}
		chats = append(chats, m.ChatID)
	}
	if want := []string{"101", "102", "201", "900"}; !slices.Equal(chats, want) {
		t.Errorf("chats %q, want %q", chats, want)
	}
}

func TestDailySummary_CleansOldReports(t *testing.T) {
	c := campaign.Default()
	dir := t.TempDir()
	old := filepath.Join(dir, "summary-2021-09-10-city-vi.png")
	if err := os.WriteFile(old, []byte("png"), 0o600); err != nil {
		t.Fatal(err)
	}
	long := time.Now().Add(-8 * 24 * time.Hour)
	if err := os.Chtimes(old, long, long); err != nil {
		t.Fatal(err)
	}
	job, _, _ := newDailySummary(c, newTestDB(t).outbox(), dir, nil)
	// Even a day outside the window cleans: the directory empties after the campaign.
	res, err := job.Run(context.Background(), summaryTick(utc("2021-10-05T10:00:00Z")))
	if err != nil || res.Cleaned != 1 || res.Skipped == "" {
		t.Errorf("result = %+v, %v", res, err)
	}
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old chart still there: %v", err)
	}
}

func TestDailySummary_StoreFailure(t *testing.T) {
	c := campaign.Default()
	db := newTestDB(t)
	job, progress, notified := newDailySummary(c, db.outbox(), t.TempDir(), summarySubscribers())
	progress.Err = errors.New("connection refused")
	if _, err := job.Run(context.Background(), summaryTick(summaryAt)); !errors.Is(err, progress.Err) {
		t.Errorf("err = %v", err)
	}
	job.Subscribers.(*campaigntest.Subscriptions).Err = errors.New("timeout")
	if _, err := job.Run(context.Background(), summaryTick(summaryAt)); err == nil {
		t.Error("a failed subscriber list was not an error")
	}
	if n := len(db.queued()); n != 0 || notified.count() != 0 {
		t.Errorf("queued %d, notified %d after failures", n, notified.count())
	}
}

// TestDailySummary_ChartFailureKeepsText: a chart that cannot be drawn costs its messages only.
func TestDailySummary_ChartFailureKeepsText(t *testing.T) {
	c := campaign.Default()
	db := newTestDB(t)
	job, _, _ := newDailySummary(c, db.outbox(), t.TempDir(), summarySubscribers())
	draw := job.Chart
	job.Chart = func(w io.Writer, p campaign.Progress, days []campaign.DayCount, lang string) error {
		if p.WardCode != "" {
			return errors.New("out of memory")
		}
		return draw(w, p, days, lang)
	}
	res, err := job.Run(context.Background(), summaryTick(summaryAt))
	if err == nil || !strings.Contains(err.Error(), "out of memory") {
		t.Errorf("err = %v", err)
	}
	if res.Queued != 5 {
		t.Errorf("result = %+v, want the ward's text without its chart", res)
	}
}

// TestDailySummary_ThroughTelegram sends the queued summary through the Bot API emulator, as the
// bot's OutboxSender does: each official gets the text, then the chart as a photo.
func TestDailySummary_ThroughTelegram(t *testing.T) {
	r := newOutboxRig(t, 3)
	var subs []campaign.Subscriber
	for i, role := range []campaign.Role{campaign.RoleCityOfficial, campaign.RoleEducationOffice, campaign.RoleWardOfficial} {
		ward := ""
		if role.NeedsWard() {
			ward = wardLinhTrung
		}
		subs = append(subs, subscriber(role, ward, strconv.FormatInt(r.chats[i], 10), "vi"))
	}
	job, _, _ := newDailySummary(campaign.Default(), r.box, t.TempDir(), subs)
	if res, err := job.Run(context.Background(), summaryTick(summaryAt)); err != nil || res.Queued != 6 {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := r.sender(nil)
	go s.Run(ctx)
	if sent, failed, stopped := r.waitDrained("summary:2021-09-20", 30*time.Second); sent != 6 || failed+stopped != 0 {
		t.Fatalf("sent %d, failed %d, stopped %d", sent, failed, stopped)
	}
	for i, chat := range r.chats {
		got := r.emu.Messages(chat)
		if len(got) != 2 {
			t.Fatalf("chat %d got %d messages", chat, len(got))
		}
		if !strings.HasPrefix(got[0].Text, "[vi] summary 2021-09-20") {
			t.Errorf("chat %d: first message %q", chat, got[0].Text)
		}
		doc := got[1]
		if doc.Method != "sendPhoto" || !strings.HasPrefix(doc.Caption, "[vi] chart 2021-09-20") {
			t.Errorf("chat %d: second message %+v", chat, doc)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(doc.FileData))
		if err != nil || cfg.Width != chartW || cfg.Height != chartH {
			t.Errorf("chat %d (%s): chart %d×%d, %v", chat, subs[i].Role, cfg.Width, cfg.Height, err)
		}
	}
}

// TestDailySummary_TwoSchedulersRunOnce wires DailySummary into two Schedulers, as two bot
// processes have, both ticking at 17:00:05 on 20 September 2021: one run, one set of messages.
func TestDailySummary_TwoSchedulersRunOnce(t *testing.T) {
	ctx := context.Background()
	c := campaign.Default()
	db := newTestDB(t)
	dir := t.TempDir()
	var ran sync.Map
	replica := func(name string) *jobs.Scheduler {
		job, _, _ := newDailySummary(c, db.outbox(), dir, summarySubscribers())
		run := func(ctx context.Context, tk jobs.Tick) (any, error) {
			ran.Store(name, tk)
			return job.Run(ctx, tk)
		}
		return newScheduler(t, postgres.NewJobRunStore(db.pool()), nil,
			jobs.Job{Name: "daily_summary", Spec: "0 17 * * *", Run: run, CatchUp: jobs.Until("21:00")})
	}
	a, b := replica("a"), replica("b")
	now := utc("2021-09-20T10:00:05Z")
	var outA, outB []jobs.Outcome
	var wg sync.WaitGroup
	ready := make(chan struct{})
	wg.Go(func() { <-ready; outA = a.RunDue(ctx, now) })
	wg.Go(func() { <-ready; outB = b.RunDue(ctx, now) })
	close(ready)
	wg.Wait()

	outs := append(outA, outB...)
	if len(outs) != 1 {
		t.Fatalf("%d runs made, want 1", len(outs))
	}
	o := outs[0]
	res, ok := o.Result.(jobs.SummaryResult)
	if o.Err != nil || !ok || res.Queued != 6 || o.Key != "2021-09-20" || o.Late {
		t.Errorf("outcome = %+v", o)
	}
	n := 0
	ran.Range(func(any, any) bool { n++; return true })
	if n != 1 {
		t.Errorf("the job ran in %d schedulers", n)
	}
	if msgs := db.queued(); len(msgs) != 6 {
		t.Errorf("outbox holds %d messages", len(msgs))
	} else {
		keysOf(t, msgs)
	}
	last, found, err := postgres.NewJobRunStore(db.pool()).LastRun(ctx, "daily_summary")
	var recorded jobs.SummaryResult
	if err != nil || !found || last.Error != "" || json.Unmarshal(last.Result, &recorded) != nil || recorded != res {
		t.Errorf("recorded run = %+v (%s), %v, %v; want result %+v", last, last.Result, found, err, res)
	}
}
