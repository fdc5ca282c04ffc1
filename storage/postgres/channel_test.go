package postgres_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	"github.com/thuduc/maytinhchoem/storage/postgres/postgrestest"
)

// counter is the record the RecordStore tests update.
type counter struct {
	N int `json:"n"`
}

// increment is an UpdateRecord fn adding one to a counter record.
func increment(current []byte) ([]byte, error) {
	var c counter
	if current != nil {
		if err := json.Unmarshal(current, &c); err != nil {
			return nil, err
		}
	}
	c.N++
	return json.Marshal(c)
}

// counterOf reads a counter record, -1 when there is none.
func counterOf(t testing.TB, data []byte) int {
	t.Helper()
	if data == nil {
		return -1
	}
	var c counter
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("record %q: %v", data, err)
	}
	return c.N
}

func TestRecordStore_LoadAndUpdate(t *testing.T) {
	t.Parallel()
	s := postgres.NewRecordStore(newDB(t))
	ctx := t.Context()

	t.Run("absent key", func(t *testing.T) {
		got, err := s.LoadRecord(ctx, "zalo:oa:1:token")
		if err != nil || got != nil {
			t.Errorf("LoadRecord = %q, %v; want nil, nil", got, err)
		}
	})

	t.Run("round trip", func(t *testing.T) {
		var seen [][]byte
		fn := func(current []byte) ([]byte, error) {
			seen = append(seen, current)
			return increment(current)
		}
		for want := 1; want <= 2; want++ {
			stored, err := s.UpdateRecord(ctx, "zalo:oa:1:token", fn)
			if err != nil || counterOf(t, stored) != want {
				t.Fatalf("UpdateRecord #%d = %q, %v; want n=%d", want, stored, err, want)
			}
			loaded, err := s.LoadRecord(ctx, "zalo:oa:1:token")
			if err != nil || !bytes.Equal(loaded, stored) {
				t.Errorf("LoadRecord = %q, %v; want what UpdateRecord returned, %q", loaded, err, stored)
			}
		}
		if len(seen) != 2 || seen[0] != nil || counterOf(t, seen[1]) != 1 {
			t.Errorf("fn saw %q; want nil, then n=1", seen)
		}
	})

	t.Run("fn error stores nothing", func(t *testing.T) {
		refused := errors.New("token endpoint said no")
		_, err := s.UpdateRecord(ctx, "zalo:oa:1:token", func(current []byte) ([]byte, error) {
			return []byte(`{"n":100}`), refused
		})
		if !errors.Is(err, refused) {
			t.Errorf("UpdateRecord = %v; want fn's error", err)
		}
		_, err = s.UpdateRecord(ctx, "fresh", func([]byte) ([]byte, error) { return nil, refused })
		if !errors.Is(err, refused) {
			t.Errorf("UpdateRecord of a new key = %v; want fn's error", err)
		}
		if got, _ := s.LoadRecord(ctx, "zalo:oa:1:token"); counterOf(t, got) != 2 {
			t.Errorf("after a failed fn the record is %q; want n=2", got)
		}
		if got, _ := s.LoadRecord(ctx, "fresh"); got != nil {
			t.Errorf("after a failed fn a new key holds %q", got)
		}
	})

	t.Run("not JSON", func(t *testing.T) {
		for _, bad := range [][]byte{nil, []byte("{"), []byte("tok")} {
			_, err := s.UpdateRecord(ctx, "zalo:oa:1:token", func([]byte) ([]byte, error) { return bad, nil })
			wantCode(t, "UpdateRecord returning "+string(bad), err, campaign.EINVALID)
		}
		if got, _ := s.LoadRecord(ctx, "zalo:oa:1:token"); counterOf(t, got) != 2 {
			t.Errorf("after invalid values the record is %q; want n=2", got)
		}
	})

	t.Run("bad key", func(t *testing.T) {
		_, err := s.LoadRecord(ctx, "")
		wantCode(t, "LoadRecord of an empty key", err, campaign.EINVALID)
		_, err = s.UpdateRecord(ctx, strings.Repeat("k", 201), increment)
		wantCode(t, "UpdateRecord of a long key", err, campaign.EINVALID)
	})
}

// TestRecordStore_Replicas has three pools on one database, as three replicas would, increment
// one counter at once: the record ends exact, no increment lost.
func TestRecordStore_Replicas(t *testing.T) {
	t.Parallel()
	dbURL := postgrestest.NewDatabaseURL(t)
	stores := make([]*postgres.RecordStore, 3)
	for i := range stores {
		db, err := postgres.Open(t.Context(), dbURL)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = db.Close() })
		if i == 0 {
			if err := postgres.Migrate(t.Context(), db); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
		}
		stores[i] = postgres.NewRecordStore(db)
	}

	const workers, rounds = 10, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	start := make(chan struct{})
	for w := range workers {
		s := stores[w%len(stores)]
		wg.Go(func() {
			<-start
			for range rounds {
				if _, err := s.UpdateRecord(context.Background(), "shared", increment); err != nil {
					errs <- err
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("UpdateRecord: %v", err)
	}
	got, err := stores[1].LoadRecord(t.Context(), "shared")
	if err != nil || counterOf(t, got) != workers*rounds {
		t.Errorf("counter = %q, %v; want n=%d", got, err, workers*rounds)
	}
}

// TestRecordStore_UpdateWaits holds one update inside its fn and checks that a second one waits
// for it and then sees what it stored, while a plain read does not wait.
func TestRecordStore_UpdateWaits(t *testing.T) {
	t.Parallel()
	dbURL := postgrestest.NewDatabaseURL(t)
	var stores [2]*postgres.RecordStore
	for i := range stores {
		db, err := postgres.Open(t.Context(), dbURL)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = db.Close() })
		if i == 0 {
			if err := postgres.Migrate(t.Context(), db); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
		}
		stores[i] = postgres.NewRecordStore(db)
	}
	ctx := t.Context()

	inFirst, release := make(chan struct{}), make(chan struct{})
	firstDone := make(chan error, 1)
	go func() {
		_, err := stores[0].UpdateRecord(ctx, "token", func(current []byte) ([]byte, error) {
			close(inFirst)
			<-release // a slow token refresh
			return increment(current)
		})
		firstDone <- err
	}()
	<-inFirst

	inSecond := make(chan []byte, 1)
	secondDone := make(chan error, 1)
	go func() {
		_, err := stores[1].UpdateRecord(ctx, "token", func(current []byte) ([]byte, error) {
			inSecond <- current
			return increment(current)
		})
		secondDone <- err
	}()

	select {
	case current := <-inSecond:
		t.Fatalf("the second fn ran (with %q) while the first was still inside its own", current)
	case <-time.After(300 * time.Millisecond):
	}
	if got, err := stores[1].LoadRecord(ctx, "token"); err != nil || got != nil {
		t.Errorf("LoadRecord during the first update = %q, %v; want nil, not waiting", got, err)
	}

	close(release)
	if err := <-firstDone; err != nil {
		t.Fatalf("first UpdateRecord: %v", err)
	}
	select {
	case current := <-inSecond:
		if counterOf(t, current) != 1 {
			t.Errorf("the second fn saw %q; want the first's n=1", current)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second fn never ran")
	}
	if err := <-secondDone; err != nil {
		t.Fatalf("second UpdateRecord: %v", err)
	}
	if got, _ := stores[0].LoadRecord(ctx, "token"); counterOf(t, got) != 2 {
		t.Errorf("record = %q; want n=2", got)
	}
}

// newFileStore returns a FileStore on a fresh database whose clock the test moves.
func newFileStore(t *testing.T) (*postgres.FileStore, *outboxClock) {
	t.Helper()
	db := newDB(t)
	clock := &outboxClock{t: campaignDay()}
	db.Now = clock.Now
	return postgres.NewFileStore(db), clock
}

func TestFileStore_PutOpen(t *testing.T) {
	t.Parallel()
	s, _ := newFileStore(t)
	ctx := t.Context()

	content := make([]byte, 2<<20)
	_, _ = rand.Read(content)
	token, err := s.Put(ctx, "  Báo cáo tổng kết.xlsx ", bytes.NewReader(content), time.Hour)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(token); err != nil || len(raw) != 32 {
		t.Errorf("token %q is not 32 bytes in base64url: %v", token, err)
	}
	name, got, err := s.Open(ctx, token)
	if err != nil || name != "Báo cáo tổng kết.xlsx" || !bytes.Equal(got, content) {
		t.Fatalf("Open = %q, %d bytes (equal %v), %v; want the 2 MB file back", name, len(got), bytes.Equal(got, content), err)
	}

	// A file is read from where it stands, its size told by Stat.
	path := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(path, []byte("skip:kept"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(5, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	fromFile, err := s.Put(ctx, "notes.txt", f, time.Hour)
	if err != nil {
		t.Fatalf("Put of a file: %v", err)
	}
	if _, got, err := s.Open(ctx, fromFile); err != nil || string(got) != "kept" {
		t.Errorf("Open of the file = %q, %v; want %q", got, err, "kept")
	}

	other, err := s.Put(ctx, "empty.txt", strings.NewReader(""), time.Hour)
	if err != nil || other == token {
		t.Fatalf("second Put = %q, %v; want another token", other, err)
	}
	if name, got, err := s.Open(ctx, other); err != nil || name != "empty.txt" || got == nil || len(got) != 0 {
		t.Errorf("Open of an empty file = %q, %v, %v", name, got, err)
	}

	for _, tok := range []string{"", "nope", token[:len(token)-1], strings.Repeat("a", 500)} {
		_, _, err := s.Open(ctx, tok)
		wantCode(t, "Open of token "+tok, err, campaign.ENOTFOUND)
	}
}

func TestFileStore_Invalid(t *testing.T) {
	t.Parallel()
	s, _ := newFileStore(t)
	ctx := t.Context()

	// A file that says its size is refused unread (a sparse file costs no disk).
	big, err := os.Create(filepath.Join(t.TempDir(), "big.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	if err := big.Truncate(postgres.MaxFileSize + 1); err != nil {
		t.Fatal(err)
	}
	_, err = s.Put(ctx, "big.xlsx", big, time.Hour)
	wantCode(t, "Put of a file over the limit", err, campaign.EINVALID)
	if at, _ := big.Seek(0, io.SeekCurrent); at != 0 {
		t.Errorf("the big file was read up to %d", at)
	}
	// A stream is cut at the limit (a lower one: 50 MB through a buffer is slow under -race).
	s.MaxSize = 1 << 20
	_, err = s.Put(ctx, "big.xlsx", io.LimitReader(zeros{}, s.MaxSize+1), time.Hour)
	wantCode(t, "Put of a stream over the limit", err, campaign.EINVALID)
	s.MaxSize = 0
	_, err = s.Put(ctx, " ", strings.NewReader("x"), time.Hour)
	wantCode(t, "Put without a name", err, campaign.EINVALID)
	_, err = s.Put(ctx, strings.Repeat("n", 256), strings.NewReader("x"), time.Hour)
	wantCode(t, "Put with a long name", err, campaign.EINVALID)
	_, err = s.Put(ctx, "a.txt", strings.NewReader("x"), 0)
	wantCode(t, "Put without a lifetime", err, campaign.EINVALID)

	broken := errors.New("disk gone")
	if _, err := s.Put(ctx, "a.txt", io.MultiReader(strings.NewReader("x"), errReader{broken}), time.Hour); !errors.Is(err, broken) {
		t.Errorf("Put from a failing reader = %v; want its error", err)
	}
	if n, err := s.Sweep(ctx); err != nil || n != 0 {
		t.Errorf("Sweep = %d, %v; nothing should have been stored", n, err)
	}
}

func TestFileStore_Expiry(t *testing.T) {
	t.Parallel()
	s, clock := newFileStore(t)
	ctx := t.Context()

	short, err := s.Put(ctx, "short.xlsx", strings.NewReader("short"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	long, err := s.Put(ctx, "long.xlsx", strings.NewReader("long"), 3*time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	clock.Add(time.Hour - time.Second)
	if _, got, err := s.Open(ctx, short); err != nil || string(got) != "short" {
		t.Errorf("Open a second before expiry = %q, %v", got, err)
	}
	if n, err := s.Sweep(ctx); err != nil || n != 0 {
		t.Errorf("Sweep before expiry = %d, %v; want 0", n, err)
	}

	clock.Add(time.Second)
	_, _, err = s.Open(ctx, short)
	wantCode(t, "Open at expiry, before the sweep", err, campaign.ENOTFOUND)
	if n, err := s.Sweep(ctx); err != nil || n != 1 {
		t.Errorf("Sweep = %d, %v; want 1", n, err)
	}
	_, _, err = s.Open(ctx, short)
	wantCode(t, "Open after the sweep", err, campaign.ENOTFOUND)
	if _, got, err := s.Open(ctx, long); err != nil || string(got) != "long" {
		t.Errorf("Open of the file still valid = %q, %v", got, err)
	}

	clock.Add(2 * time.Hour)
	if n, err := s.Sweep(ctx); err != nil || n != 1 {
		t.Errorf("second Sweep = %d, %v; want 1", n, err)
	}
}

// zeros reads as endless zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// errReader fails every read with err.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestContactStore_Unreachable(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	clock := &outboxClock{t: campaignDay()}
	db.Now = clock.Now
	s := postgres.NewContactStore(db)
	ctx := t.Context()

	since := func(externalID string) *time.Time {
		t.Helper()
		var at *time.Time
		if err := db.SQLX().Get(&at, `SELECT unreachable_since FROM contacts WHERE channel = 'zalo' AND external_id = $1`, externalID); err != nil {
			t.Fatalf("unreachable_since of %s: %v", externalID, err)
		}
		return at
	}
	check := func(what string, want campaign.Contact) {
		t.Helper()
		got, err := s.Contact(ctx, want.Channel, want.ExternalID)
		if err != nil || got != want {
			t.Errorf("%s: Contact = %+v, %v; want %+v", what, got, err, want)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	must(s.SetContactUnreachable(ctx, "zalo", "u1", true))
	check("unreachable before any message", campaign.Contact{Channel: "zalo", ExternalID: "u1", Unreachable: true})
	first := clock.Now()
	if at := since("u1"); at == nil || !at.Equal(first) {
		t.Errorf("unreachable_since = %v, want %v", at, first)
	}

	clock.Add(time.Hour)
	must(s.SetContactUnreachable(ctx, "zalo", "u1", true))
	if at := since("u1"); at == nil || !at.Equal(first) {
		t.Errorf("unreachable_since after a second mark = %v, want the first %v", at, first)
	}
	must(s.UpsertContact(ctx, campaign.Contact{Channel: "zalo", ExternalID: "u1", Name: "Lê Văn Dũng", Language: "vi"}))
	must(s.SetContactStopped(ctx, "zalo", "u1", true))
	check("upserted and stopped", campaign.Contact{Channel: "zalo", ExternalID: "u1", Name: "Lê Văn Dũng", Language: "vi",
		Stopped: true, Unreachable: true})
	must(s.SetContactStopped(ctx, "zalo", "u1", false))

	must(s.SetContactUnreachable(ctx, "zalo", "u1", false))
	check("wrote again", campaign.Contact{Channel: "zalo", ExternalID: "u1", Name: "Lê Văn Dũng", Language: "vi"})
	if at := since("u1"); at != nil {
		t.Errorf("unreachable_since after clearing = %v", at)
	}
	clock.Add(time.Hour)
	must(s.SetContactUnreachable(ctx, "zalo", "u1", true))
	if at := since("u1"); at == nil || !at.Equal(clock.Now()) {
		t.Errorf("unreachable_since after a new mark = %v, want %v", at, clock.Now())
	}

	must(s.SetContactUnreachable(ctx, "zalo", "u2", false))
	_, err := s.Contact(ctx, "zalo", "u2")
	wantCode(t, "Contact after clearing an unknown contact", err, campaign.ENOTFOUND)
	wantCode(t, "SetContactUnreachable without a chat", s.SetContactUnreachable(ctx, "zalo", " ", true), campaign.EINVALID)
}

// TestContactStore_ReachableAtOnce: contacts who write at the same moment are cleared together,
// each as if alone: every one of them is reachable afterwards, on its own channel only, and a
// contact who did not write stays unreachable.
func TestContactStore_ReachableAtOnce(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	s := postgres.NewContactStore(db)
	ctx := t.Context()
	const n = 200
	for i := range n {
		for _, ch := range []string{"zalo", "telegram"} {
			if err := s.SetContactUnreachable(ctx, ch, fmt.Sprint("p", i), true); err != nil {
				t.Fatal(err)
			}
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n - 1 { // p<n-1> does not write
		wg.Go(func() { errs <- s.SetContactUnreachable(ctx, "zalo", fmt.Sprint("p", i), false) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var zalo, telegram int
	if err := db.SQLX().Get(&zalo, `SELECT count(*) FROM contacts WHERE channel = 'zalo' AND unreachable_since IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	if err := db.SQLX().Get(&telegram, `SELECT count(*) FROM contacts WHERE channel = 'telegram' AND unreachable_since IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	if zalo != 1 || telegram != n {
		t.Errorf("unreachable after %d wrote on Zalo: %d on Zalo, %d on Telegram; want 1 (who did not write) and %d", n-1, zalo, telegram, n)
	}
	if c, err := s.Contact(ctx, "zalo", fmt.Sprint("p", n-1)); err != nil || !c.Unreachable {
		t.Errorf("the contact who did not write: %+v, %v; want unreachable", c, err)
	}
}

func TestOutbox_MarkUnreachable(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := newDB(t)
	clock := &outboxClock{t: campaignDay()}
	db.Now = clock.Now
	box := postgres.NewOutbox(db)
	msgs := broadcast("b9", 3)
	// A later message to the chat that is out of the window stays queued: they may write by then.
	msgs = append(msgs, campaign.OutboxMessage{Key: "b9:later", Batch: "b9", Channel: "telegram", ChatID: "1002",
		Text: "later", NotBefore: clock.Now().Add(time.Hour)})
	if _, err := box.Enqueue(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	got, err := box.Claim(ctx, "", 10, time.Minute)
	if err != nil || len(got) != 3 {
		t.Fatalf("claimed %d, %v; want 3", len(got), err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(box.MarkSent(ctx, got[0]))
	must(box.MarkFailed(ctx, got[1], "400 Bad Request", time.Time{}))
	must(box.MarkUnreachable(ctx, got[2], "zalo -213: "+strings.Repeat("x", 2000)))

	if err := box.MarkUnreachable(ctx, got[2], "again"); !errors.Is(err, campaign.ErrLeaseLost) {
		t.Errorf("MarkUnreachable of a settled message = %v; want ErrLeaseLost", err)
	}
	stale := got[0]
	stale.Attempts = 7
	if err := box.MarkUnreachable(ctx, stale, "stale"); !errors.Is(err, campaign.ErrLeaseLost) {
		t.Errorf("MarkUnreachable under another claim = %v; want ErrLeaseLost", err)
	}

	var row struct {
		Status    string     `db:"status"`
		LastError string     `db:"last_error"`
		Lease     *time.Time `db:"lease_until"`
	}
	if err := db.SQLX().Get(&row, `SELECT status, last_error, lease_until FROM outbox WHERE id = $1`, got[2].ID); err != nil {
		t.Fatal(err)
	}
	if row.Status != "unreachable" || !strings.HasPrefix(row.LastError, "zalo -213: ") ||
		len([]rune(row.LastError)) != 1000 || row.Lease != nil {
		t.Errorf("unreachable row = %s, %d-rune error, lease %v", row.Status, len([]rune(row.LastError)), row.Lease)
	}

	// Final: never claimed again. The chat's later message is still pending.
	clock.Add(2 * time.Hour)
	again, err := box.Claim(ctx, "", 10, time.Minute)
	if err != nil || len(again) != 1 || again[0].Key != "b9:later" {
		t.Fatalf("claim after settling = %+v, %v; want only b9:later", again, err)
	}
	must(box.MarkUnreachable(ctx, again[0], "still out of the window"))

	// The four counts of campaign.Outbox hold unreachable messages in failed.
	q, s, f, st, err := box.BatchProgress(ctx, "b9")
	if err != nil || q != 0 || s != 1 || f != 3 || st != 0 {
		t.Errorf("BatchProgress = %d %d %d %d, %v; want 0 queued, 1 sent, 3 failed, 0 stopped", q, s, f, st, err)
	}
}

func TestBroadcastStore_BroadcastProgressUnreachable(t *testing.T) {
	t.Parallel()
	w := audienceWork(t)
	ctx := t.Context()
	// A parent out of the window is still a recipient: the outbox tries and counts them.
	if err := w.contacts.SetContactUnreachable(ctx, "telegram", "1002", true); err != nil {
		t.Fatal(err)
	}
	b := campaign.Broadcast{Audience: campaign.Audience{Kind: campaign.AudienceParents},
		Texts: map[string]string{"vi": "Thông báo"}, ByChannel: "telegram", ByChatID: "8001"}
	if _, err := w.broadcasts.CreateBroadcast(ctx, &b, "unreachable"); err != nil {
		t.Fatal(err)
	}
	if b.Recipients != 3 {
		t.Fatalf("recipients = %d, want 3 (the unreachable parent included)", b.Recipients)
	}
	msgs, err := w.outbox.Claim(ctx, "", 10, time.Minute)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("Claim = %d messages, %v; want 3", len(msgs), err)
	}
	for _, m := range msgs {
		switch m.ChatID {
		case "1002":
			err = w.outbox.MarkUnreachable(ctx, m, "out of the 7-day window")
		case "1001":
			err = w.outbox.MarkFailed(ctx, m, "400 Bad Request", time.Time{})
		default:
			err = w.outbox.MarkSent(ctx, m)
		}
		if err != nil {
			t.Fatalf("settle %s: %v", m.Key, err)
		}
	}
	p, err := w.broadcasts.BroadcastProgress(ctx, b.Code)
	if err != nil || p.Queued != 0 || p.Sent != 1 || p.Failed != 1 || p.Stopped != 0 || p.Unreachable != 1 || !p.Done() {
		t.Errorf("progress = %+v, %v; want done, 1 sent, 1 failed, 1 unreachable", p, err)
	}
}
