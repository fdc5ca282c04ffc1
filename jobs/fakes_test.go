package jobs_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/campaign/campaigntest"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	"github.com/thuduc/maytinhchoem/storage/postgres/postgrestest"
)

// The stores are campaigntest's fakes; the outbox the jobs queue into is the real one, since its
// unique keys are what makes each message go once.

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

func subscriber(role campaign.Role, ward, chat, lang string) campaign.Subscriber {
	return campaign.Subscriber{Staff: campaign.Staff{Channel: "telegram", ExternalID: chat, Name: "Staff " + chat, Role: role, WardCode: ward}, Language: lang}
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

// leftovers lists the exporter's temporary files still there.
func leftovers(t *testing.T, exp *campaigntest.Exporter) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(exp.Dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
