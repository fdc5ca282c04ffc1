package jobs_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	"github.com/thuduc/maytinhchoem/storage/postgres/postgrestest"
)

// The fakes stand in for the stores being written in storage/postgres; the outbox the jobs queue
// into is the real one, since its unique keys are what makes each message go once.

// testDB is a fresh migrated database: pools on it, one per bot process a test plays, and a
// plain connection to read the outbox table.
type testDB struct {
	t   *testing.T
	url string
	raw *sql.DB
}

func newTestDB(t *testing.T) *testDB {
	t.Helper()
	url := postgrestest.NewDatabaseURL(t)
	d := &testDB{t: t, url: url}
	d.pool() // migrates
	raw, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	d.raw = raw
	return d
}

// pool opens a connection pool of its own, as another bot process would have.
func (d *testDB) pool() *postgres.DB {
	d.t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, d.url)
	if err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(func() { _ = db.Close() })
	if err := postgres.Migrate(ctx, db); err != nil {
		d.t.Fatal(err)
	}
	return db
}

func (d *testDB) outbox() *postgres.Outbox { return postgres.NewOutbox(d.pool()) }

// queued returns the outbox's messages in the order they were queued, the order a chat gets them.
func (d *testDB) queued() []campaign.OutboxMessage {
	d.t.Helper()
	rows, err := d.raw.Query(`SELECT key, batch, channel, chat_id, text, buttons, file_path, file_name FROM outbox ORDER BY id`)
	if err != nil {
		d.t.Fatal(err)
	}
	defer rows.Close()
	var out []campaign.OutboxMessage
	for rows.Next() {
		var m campaign.OutboxMessage
		var buttons []byte
		if err := rows.Scan(&m.Key, &m.Batch, &m.Channel, &m.ChatID, &m.Text, &buttons, &m.FilePath, &m.FileName); err != nil {
			d.t.Fatal(err)
		}
		if err := json.Unmarshal(buttons, &m.Buttons); err != nil {
			d.t.Fatal(err)
		}
		if len(m.Buttons) == 0 {
			m.Buttons = nil
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		d.t.Fatal(err)
	}
	return out
}

// keysOf lists the messages' keys, failing the test when one is there twice.
func keysOf(t *testing.T, msgs []campaign.OutboxMessage) []string {
	t.Helper()
	var keys []string
	for _, m := range msgs {
		if slices.Contains(keys, m.Key) {
			t.Errorf("key %s queued twice", m.Key)
		}
		keys = append(keys, m.Key)
	}
	return keys
}

// countingOutbox counts the Enqueue calls and the largest list given to one.
type countingOutbox struct {
	campaign.Outbox
	mu       sync.Mutex
	calls    int
	largest  int
	failNext error
}

func (o *countingOutbox) Enqueue(ctx context.Context, msgs []campaign.OutboxMessage) (int, error) {
	o.mu.Lock()
	o.calls++
	o.largest = max(o.largest, len(msgs))
	err := o.failNext
	o.failNext = nil
	o.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return o.Outbox.Enqueue(ctx, msgs)
}

// fakeMessages writes texts that say what they were made from.
type fakeMessages struct{}

func (fakeMessages) SummaryText(lang string, p campaign.Progress) string {
	return fmt.Sprintf("[%s] summary %s scope=%q day=%d verified=%d", lang, p.Date.Format(time.DateOnly), p.WardCode, p.Day, p.Registrations.Verified)
}

func (fakeMessages) ChartCaption(lang string, p campaign.Progress) string {
	return fmt.Sprintf("[%s] chart %s scope=%q", lang, p.Date.Format(time.DateOnly), p.WardCode)
}

func (fakeMessages) MilestoneText(lang string, ev campaign.MilestoneEvent, p campaign.Progress, withWorkbook bool) string {
	return fmt.Sprintf("[%s] milestone %s scope=%q workbook=%t", lang, ev.Key(), p.WardCode, withWorkbook)
}

// formDialog is the part of a stored dialog fakeMessages.FormReminder reads.
type formDialog struct {
	Form    string    `json:"form"`
	Started time.Time `json:"started"`
	Done    bool      `json:"done"`
}

func (fakeMessages) FormReminder(dialog []byte, now time.Time, after time.Duration) (campaign.Notice, bool) {
	var d formDialog
	if err := json.Unmarshal(dialog, &d); err != nil || d.Form == "" || d.Done || now.Sub(d.Started) < after {
		return campaign.Notice{}, false
	}
	return campaign.Notice{Key: strconv.FormatInt(d.Started.Unix(), 10), Text: "finish your " + d.Form,
		Buttons: [][]campaign.OutboxButton{{{Text: "Tiếp tục", Data: "resume"}}}}, true
}

func (fakeMessages) PledgeReminder(p campaign.PledgeAwaiting) campaign.Notice {
	return campaign.Notice{Text: fmt.Sprintf("[%s] pledge %s of %d devices", p.Language, p.Code, p.Devices),
		Buttons: [][]campaign.OutboxButton{{{Text: "Huỷ", Data: "cancel:" + p.Code}}}}
}

func (fakeMessages) MorningCount(lang string, pending int, wardCode string) campaign.Notice {
	return campaign.Notice{Text: fmt.Sprintf("[%s] %d pending in %q", lang, pending, wardCode),
		Buttons: [][]campaign.OutboxButton{{{Text: "Duyệt", Data: "verify"}}}}
}

func (fakeMessages) BroadcastDone(lang string, p campaign.BroadcastProgress) string {
	return fmt.Sprintf("[%s] broadcast %s done: %d sent, %d failed, %d stopped of %d", lang, p.Code, p.Sent, p.Failed, p.Stopped, p.Recipients)
}

// fakeSubscriptions lists a fixed set of subscribers.
type fakeSubscriptions struct {
	campaign.SubscriptionStore // the job only lists them
	subs                       []campaign.Subscriber
	err                        error
	mu                         sync.Mutex
	calls                      int
}

func (s *fakeSubscriptions) Subscribers(context.Context) ([]campaign.Subscriber, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return slices.Clone(s.subs), s.err
}

func subscriber(role campaign.Role, ward, chat, lang string) campaign.Subscriber {
	return campaign.Subscriber{Staff: campaign.Staff{Channel: "telegram", ExternalID: chat, Name: "Staff " + chat, Role: role, WardCode: ward}, Language: lang}
}

// fakeProgress makes settled figures: every ward of the campaign for the city, the ward alone for
// a ward, with counts that tell the scopes apart.
type fakeProgress struct {
	c     *campaign.Campaign
	mu    sync.Mutex
	calls map[string]int
	err   error
}

func newFakeProgress(c *campaign.Campaign) *fakeProgress {
	return &fakeProgress{c: c, calls: map[string]int{}}
}

func (f *fakeProgress) Progress(_ context.Context, at time.Time, ward string) (campaign.Progress, error) {
	f.mu.Lock()
	f.calls[ward]++
	err := f.err
	f.mu.Unlock()
	if err != nil {
		return campaign.Progress{}, err
	}
	p := campaign.Progress{At: at, WardCode: ward}
	for i, w := range f.c.Wards {
		if ward != "" && w.Code != ward {
			continue
		}
		wp := campaign.WardProgress{Code: w.Code, Registered: 100 + i, Verified: 80 + i, Delivered: 40 + i}
		p.Wards = append(p.Wards, wp)
		p.Registrations.Total += wp.Registered
		p.Registrations.Verified += wp.Verified
		p.Delivered += wp.Delivered
	}
	if len(p.Wards) == 0 {
		return p, campaign.Errorf(campaign.ENOTFOUND, "no ward %s", ward)
	}
	p.Settle(f.c)
	return p, nil
}

func (f *fakeProgress) callsFor(ward string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[ward]
}

// fakeReminders answers the reminder queries from fixed lists.
type fakeReminders struct {
	pledges []campaign.PledgeAwaiting
	pending map[string]int
	staff   []campaign.Subscriber
	days    map[string][]campaign.DayCount
	err     error
}

func (f *fakeReminders) PledgesAwaiting(_ context.Context, before time.Time) ([]campaign.PledgeAwaiting, error) {
	var out []campaign.PledgeAwaiting
	for _, p := range f.pledges {
		if p.CreatedAt.Before(before) {
			out = append(out, p)
		}
	}
	return out, f.err
}

func (f *fakeReminders) PendingVerifications(context.Context) (map[string]int, error) {
	return f.pending, f.err
}

func (f *fakeReminders) DeliveriesByDay(_ context.Context, ward string, until time.Time) ([]campaign.DayCount, error) {
	var out []campaign.DayCount
	for _, d := range f.days[ward] {
		if !d.Date.After(until) {
			out = append(out, d)
		}
	}
	return out, f.err
}

func (f *fakeReminders) ActiveStaff(context.Context) ([]campaign.Subscriber, error) {
	return slices.Clone(f.staff), f.err
}

// fakeExporter writes a small file per export into its own temporary folder, as the real one
// writes a temporary workbook.
type fakeExporter struct {
	tmp   string
	mu    sync.Mutex
	calls []campaign.ExportFilter
	fail  map[string]error // by ward code
}

func (e *fakeExporter) Export(_ context.Context, f campaign.ExportFilter, format campaign.ExportFormat) (campaign.ExportFile, error) {
	e.mu.Lock()
	e.calls = append(e.calls, f)
	err := e.fail[f.WardCode]
	e.mu.Unlock()
	if err != nil {
		return campaign.ExportFile{}, err
	}
	if format != campaign.FormatXLSX {
		return campaign.ExportFile{}, fmt.Errorf("format %s", format)
	}
	file, err := os.CreateTemp(e.tmp, "export-*.xlsx")
	if err != nil {
		return campaign.ExportFile{}, err
	}
	defer file.Close()
	if _, err := fmt.Fprintf(file, "workbook ward=%q phones=%t", f.WardCode, f.ShowPhones); err != nil {
		return campaign.ExportFile{}, err
	}
	return campaign.ExportFile{Path: file.Name(), Name: "maytinhchoem.xlsx"}, nil
}

func (e *fakeExporter) exports() []campaign.ExportFilter {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.calls)
}

// leftovers lists the exporter's temporary files still there.
func (e *fakeExporter) leftovers(t *testing.T) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(e.tmp, "*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// fakeBroadcasts knows the broadcasts and counts their messages in the real outbox.
type fakeBroadcasts struct {
	campaign.BroadcastStore
	box   campaign.Outbox
	mu    sync.Mutex
	byID  map[string]campaign.Broadcast
	calls int
}

func (f *fakeBroadcasts) BroadcastProgress(ctx context.Context, code string) (campaign.BroadcastProgress, error) {
	f.mu.Lock()
	f.calls++
	b, ok := f.byID[code]
	f.mu.Unlock()
	if !ok {
		return campaign.BroadcastProgress{}, campaign.Errorf(campaign.ENOTFOUND, "no broadcast %s", code)
	}
	q, s, fl, st, err := f.box.BatchProgress(ctx, b.Batch())
	if err != nil {
		return campaign.BroadcastProgress{}, err
	}
	return campaign.BroadcastProgress{Broadcast: b, Queued: q, Sent: s, Failed: fl, Stopped: st}, nil
}

func (f *fakeBroadcasts) progressCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// counter of Notify calls.
type notifications struct {
	mu sync.Mutex
	n  int
}

func (n *notifications) notify() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.n++
}

func (n *notifications) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.n
}
