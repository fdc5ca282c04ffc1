package main

import (
	"bytes"
	"context"
	"image/png"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/bot/telegram/telegramtest"
	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/cmd/maytinhchoem/internal/app"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	"github.com/thuduc/maytinhchoem/storage/postgres/postgrestest"
	"github.com/thuduc/maytinhchoem/storage/postgres/seed"
)

// testClock is a clock the test moves: it runs at the real pace from where it was last put.
type testClock struct{ offset atomic.Int64 }

func newTestClock(at time.Time) *testClock {
	c := &testClock{}
	c.set(at)
	return c
}

func (c *testClock) set(at time.Time) { c.offset.Store(int64(time.Until(at))) }
func (c *testClock) now() time.Time   { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) clock() app.Clock { return app.Clock{Now: c.now, Poll: 50 * time.Millisecond} }
func saigonTime(s string) time.Time   { return mustTime(campaign.Default(), s) }
func mustTime(c *campaign.Campaign, s string) time.Time {
	t, err := app.ParseCampaignTime(c, s, "00:00")
	if err != nil {
		panic(err)
	}
	return t
}

// seededDatabase returns a migrated database holding a seeded campaign of n students as it
// stood at at.
func seededDatabase(t *testing.T, n int, at time.Time) string {
	t.Helper()
	url := postgrestest.NewDatabaseURL(t)
	ctx := context.Background()
	db, err := app.OpenDatabase(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := seed.Fill(ctx, db, campaign.Default(), seed.Options{Students: n, Seed: 7, Now: at}); err != nil {
		t.Fatal(err)
	}
	return url
}

// secondProcess runs another bot process's background work (scheduler, outbox sender) on the
// harness's database, Redis and emulator, as a second replica would: it takes no updates, so
// the two do not fight over getUpdates, but it races the first for every job and message.
func (h *harness) secondProcess(clk app.Clock) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	getenv := func(k string) string { return h.env[k] }
	cfg, err := app.LoadConfig(getenv)
	if err != nil {
		h.t.Fatal(err)
	}
	db, err := app.OpenDatabase(ctx, cfg.DatabaseURL)
	if err != nil {
		h.t.Fatal(err)
	}
	rdb, err := app.OpenRedis(ctx, cfg.RedisURL)
	if err != nil {
		h.t.Fatal(err)
	}
	a, err := app.New(ctx, app.Deps{Config: cfg, Campaign: campaign.Default(), DB: db, Redis: rdb, Logger: app.NewLogger(cfg, h.logs),
		Now: clk.Now, SchedulerPoll: clk.Poll})
	if err != nil {
		h.t.Fatal(err)
	}
	wait := a.RunJobs(ctx)
	h.t.Cleanup(func() {
		cancel()
		wait()
		a.Close()
		rdb.Close()
		db.Close()
	})
}

// settle waits until the chat has received n messages in all, then a little more, and returns
// the new ones: a message that came twice would show in the count.
func (p *parent) settle(n int) []telegramtest.Message {
	p.h.t.Helper()
	got := p.waitNew(n)
	time.Sleep(700 * time.Millisecond) // several polls and outbox rounds of both processes
	if extra := p.h.emu.Messages(p.chat)[p.seen:]; len(extra) > 0 {
		p.h.t.Errorf("chat %d got %d more than the %d expected: %q", p.chat, len(extra), n, texts(extra))
		p.seen += len(extra)
	}
	return got
}

// settleBesidesMorningCount is settle for n messages that may come with the day's morning count
// caught up: on the day a ward official joins, whether the morning count's catch-up (at a
// process's start, retried every minute) finds them already staff depends on the machine's load,
// not on what is tested. The morning count is left out of what it returns.
func (p *parent) settleBesidesMorningCount(n int) []telegramtest.Message {
	p.h.t.Helper()
	got := withoutMorningCount(p.waitNew(n))
	for len(got) < n {
		got = append(got, withoutMorningCount(p.waitNew(1))...)
	}
	time.Sleep(700 * time.Millisecond)
	all := p.h.emu.Messages(p.chat)
	if extra := withoutMorningCount(all[p.seen:]); len(extra) > 0 {
		p.h.t.Errorf("chat %d got %d more than the %d expected: %q", p.chat, len(extra), n, texts(extra))
	}
	p.seen = len(all)
	return got
}

// sayUntil types text and waits until a message pred picks arrives, taking every message up to it;
// it fails after 15 s.
func (p *parent) sayUntil(text string, pred func(telegramtest.Message) bool) telegramtest.Message {
	p.h.t.Helper()
	p.h.emu.SendText(p.chat, p.user, text)
	for {
		for _, m := range p.waitNew(1) {
			if pred(m) {
				return m
			}
		}
	}
}

// withoutMorningCount drops the morning count (see settle) from msgs.
func withoutMorningCount(msgs []telegramtest.Message) []telegramtest.Message {
	return slices.DeleteFunc(slices.Clone(msgs), func(m telegramtest.Message) bool {
		return strings.HasPrefix(m.Text, "☀️")
	})
}

func count(msgs []telegramtest.Message, pred func(telegramtest.Message) bool) int {
	n := 0
	for _, m := range msgs {
		if pred(m) {
			n++
		}
	}
	return n
}

func has(s string) func(telegramtest.Message) bool {
	return func(m telegramtest.Message) bool { return strings.Contains(m.Text+m.Caption, s) }
}

// TestServe_DailyProgressWithTwoProcesses stands two bot processes on a seeded campaign's 20th of
// September: officials subscribe, and at 17:00 each receives the day's summary and its chart
// once; a parent who left a form is reminded once, a day later; the 30th brings the end of the
// hand-over once, and the 1st of October the final report with the workbook for officials who
// may export. Messages of one chat may come in either order when two processes send them, so
// they are found by what they say.
func TestServe_DailyProgressWithTwoProcesses(t *testing.T) {
	clk := newTestClock(saigonTime("2021-09-20T16:50"))
	dbURL := seededDatabase(t, 2000, saigonTime("2021-09-20T16:00"))
	h := newHarnessAt(t, telegramtest.Limits{Disabled: true}, clk.clock(), map[string]string{
		"ADMIN_TELEGRAM_IDS": "9201", "DATABASE_URL": dbURL, "REPORTS_DIR": t.TempDir(),
	})
	reminders := postgres.NewReminderStore(h.db, campaign.Default())
	// pendingIn says whether the ward official gets a morning count today.
	pendingIn := func(ward string) int {
		n, err := reminders.PendingVerifications(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return min(n[ward], 1)
	}
	admin := h.parent(9201, "vi")
	city := h.parent(9202, "vi")
	ward := h.parent(9203, "en")
	fam := h.parent(9204, "vi")
	admin.say("/start", 1)
	city.say("/start "+invite(t, admin, "city_official"), 1)
	// The notice that the city official joined may arrive between the administrator's replies.
	ward.say("/start "+inviteWard(t, admin, "ward_official", "26800"), 1)
	// The morning count, caught up as the officials join, may come in between: the answers are
	// looked for among what arrives.
	if got := city.sayUntil("/subscribe", has("17:00")); !strings.Contains(got.Text, "Thủ Đức") {
		t.Errorf("/subscribe answered %q", got.Text)
	}
	if got := ward.sayUntil("/subscribe", has("17:00")); !strings.Contains(got.Text, "Linh Trung") {
		t.Errorf("the ward official's /subscribe answered %q", got.Text)
	}
	// A parent starts a registration and leaves it at the child's name.
	toStudentName(fam)
	h.secondProcess(clk.clock())

	// 17:00 on the 20th: the summary and its chart, once each, in each one's language and scope.
	clk.set(saigonTime("2021-09-20T17:00"))
	got := city.settle(2)
	text, chart := find(t, got, isText), find(t, got, isFile)
	if !strings.Contains(text.Text, "20/09/2021") || !strings.Contains(text.Text, "20/30") || !strings.Contains(text.Text, "3.200") {
		t.Errorf("the city's summary = %q", text.Text)
	}
	checkChart(t, chart)
	got = ward.settleBesidesMorningCount(2)
	if text := find(t, got, isText); !strings.Contains(text.Text, "day 20/30") || !strings.Contains(text.Text, "Linh Trung") {
		t.Errorf("the ward's summary = %q", text.Text)
	}
	checkChart(t, find(t, got, isFile))
	// /summary gives the same on demand.
	city.say("/summary", 2)
	checkChart(t, find(t, h.emu.Messages(city.chat)[city.seen-2:], isFile))

	// 17:00 on the 21st: a day after the parent left the form, the hourly look reminds them,
	// once, however many hours and processes look; the officials get the 21st's summary (and
	// the ward official the morning count caught up on the jump).
	clk.set(saigonTime("2021-09-21T17:00"))
	got = fam.settle(1)
	if b, ok := got[0].Button("▶️ Tiếp tục"); !ok || b.CallbackData != "g:resume" {
		t.Errorf("the reminder = %q with %v", got[0].Text, got[0].InlineKeyboard)
	}
	city.settle(2)
	ward.settle(2 + pendingIn("26800"))
	clk.set(saigonTime("2021-09-21T18:00"))
	fam.settle(0)
	// The reminder's button takes the parent back to the question they left.
	if next := fam.press("g:resume", 1); !strings.Contains(strings.ToLower(next.Text), "tên") {
		t.Errorf("resuming asked %q", next.Text)
	}

	// The 30th, 08:00: the hand-over ends, announced once.
	clk.set(saigonTime("2021-09-30T08:00"))
	got = city.settle(1)
	if !strings.Contains(got[0].Text, "Trao tặng thiết bị") {
		t.Errorf("the 30th's milestone = %q", got[0].Text)
	}
	got = ward.settle(1 + pendingIn("26800"))
	if count(got, has("Devices handed over")) != 1 {
		t.Errorf("the ward official's 30th = %q", texts(got))
	}

	// 1 October, 08:00: the final report; both may export, so a workbook follows each.
	clk.set(saigonTime("2021-10-01T08:00"))
	got = city.settle(2)
	if report := find(t, got, has("Báo cáo tổng kết")); !strings.Contains(report.Text, "3.200") {
		t.Errorf("the final report = %q", report.Text)
	}
	if book := find(t, got, isFile); !bytes.HasPrefix(book.FileData, []byte("PK")) {
		t.Errorf("the workbook is %q (%d bytes)", book.Document, len(book.FileData))
	}
	got = ward.settle(2 + pendingIn("26800"))
	find(t, got, has("Final report"))
	find(t, got, isFile)
}

func isFile(m telegramtest.Message) bool { return m.Photo != "" || m.Document != "" }
func isText(m telegramtest.Message) bool { return !isFile(m) }

// find returns the one message that pred picks out of msgs.
func find(t *testing.T, msgs []telegramtest.Message, pred func(telegramtest.Message) bool) telegramtest.Message {
	t.Helper()
	var found []telegramtest.Message
	for _, m := range msgs {
		if pred(m) {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d of %d messages match, want 1: %q", len(found), len(msgs), texts(msgs))
	}
	return found[0]
}

func checkChart(t *testing.T, m telegramtest.Message) {
	t.Helper()
	if m.Photo == "" && m.Document == "" {
		t.Fatalf("no chart: %+v", m)
	}
	img, err := png.Decode(bytes.NewReader(m.FileData))
	if err != nil {
		t.Fatalf("the chart is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 400 {
		t.Errorf("the chart is %v", b)
	}
}
