package postgres_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	"github.com/thuduc/maytinhchoem/storage/postgres/postgrestest"
)

func TestOpen(t *testing.T) {
	t.Parallel()

	t.Run("ping", func(t *testing.T) {
		t.Parallel()
		db := postgrestest.NewDB(t)
		if err := db.Ping(t.Context()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})

	t.Run("malformed URL fails at once", func(t *testing.T) {
		t.Parallel()
		if _, err := postgres.Open(t.Context(), "postgres://%zz"); err == nil {
			t.Fatal("Open: no error")
		}
	})

	t.Run("unknown database fails at once", func(t *testing.T) {
		t.Parallel()
		u, err := url.Parse(postgrestest.ServerURL())
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/no_such_database_here"
		start := time.Now()
		_, err = postgres.Open(t.Context(), u.String())
		if err == nil {
			t.Fatal("Open: no error")
		}
		if pq.As(err) == nil {
			t.Errorf("Open: error %v does not unwrap to *pq.Error", err)
		}
		if code := campaign.ErrorCode(err); code != campaign.EINTERNAL {
			t.Errorf("Open: code %q, want %q (retrying will not help)", code, campaign.EINTERNAL)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Open took %v: a missing database is not worth retrying", d)
		}
	})

	t.Run("unreachable server is unavailable", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		defer cancel()
		// Port 1 on loopback refuses connections.
		_, err := postgres.Open(ctx, "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=1")
		if err == nil {
			t.Fatal("Open: no error")
		}
		if code := campaign.ErrorCode(err); code != campaign.EUNAVAILABLE {
			t.Errorf("Open: code %q, want %q; error: %v", code, campaign.EUNAVAILABLE, err)
		}
		var netErr net.Error
		if !errors.As(err, &netErr) {
			t.Errorf("Open: error %v does not unwrap to the network error", err)
		}
	})
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	dbURL := postgrestest.NewDatabaseURL(t)

	// Two replicas starting together.
	replicas := make([]*postgres.DB, 2)
	for i := range replicas {
		db, err := postgres.Open(t.Context(), dbURL)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = db.Close() })
		replicas[i] = db
	}
	var wg sync.WaitGroup
	errs := make([]error, len(replicas))
	for i, db := range replicas {
		wg.Go(func() { errs[i] = postgres.Migrate(t.Context(), db) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate on replica %d: %v", i, err)
		}
	}

	t.Run("tables exist", func(t *testing.T) {
		for _, table := range []string{"contacts", "students", "registrations", "audit_log"} {
			var exists bool
			if err := replicas[0].SQLX().Get(&exists, "SELECT to_regclass($1) IS NOT NULL", table); err != nil {
				t.Fatalf("look for %s: %v", table, err)
			}
			if !exists {
				t.Errorf("table %s does not exist", table)
			}
		}
	})

	t.Run("applied once", func(t *testing.T) {
		var n int
		if err := replicas[0].SQLX().Get(&n, "SELECT count(*) FROM goose_db_version WHERE version_id = 1"); err != nil {
			t.Fatalf("read goose_db_version: %v", err)
		}
		if n != 1 {
			t.Errorf("migration 1 recorded %d times, want 1", n)
		}
	})

	t.Run("again is a no-op", func(t *testing.T) {
		if err := postgres.Migrate(t.Context(), replicas[1]); err != nil {
			t.Errorf("Migrate: %v", err)
		}
	})
}

func TestOpen_Timeouts(t *testing.T) {
	t.Parallel()
	dbURL := postgrestest.NewDatabaseURL(t)
	open := func(t *testing.T, url string, opts ...postgres.Option) *postgres.DB {
		t.Helper()
		db, err := postgres.Open(t.Context(), url, opts...)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	show := func(t *testing.T, db *sqlx.DB, name string) string {
		t.Helper()
		var v string
		if err := db.Get(&v, "SHOW "+name); err != nil {
			t.Fatalf("SHOW %s: %v", name, err)
		}
		return v
	}

	t.Run("every connection has them, the maintenance pool none", func(t *testing.T) {
		t.Parallel()
		db := open(t, dbURL)
		if got := show(t, db.SQLX(), "statement_timeout"); got != "10s" {
			t.Errorf("statement_timeout = %s, want 10s", got)
		}
		if got := show(t, db.SQLX(), "lock_timeout"); got != "5s" {
			t.Errorf("lock_timeout = %s, want 5s", got)
		}
		for _, name := range []string{"statement_timeout", "lock_timeout"} {
			if got := show(t, db.MaintenanceSQLX(), name); got != "0" {
				t.Errorf("maintenance %s = %s, want 0", name, got)
			}
		}
	})

	t.Run("the URL's settings, and options over them", func(t *testing.T) {
		t.Parallel()
		withURL := dbURL + "&statement_timeout=1234&lock_timeout=2s"
		if got := show(t, open(t, withURL).SQLX(), "statement_timeout"); got != "1234ms" {
			t.Errorf("statement_timeout from the URL = %s, want 1234ms", got)
		}
		db := open(t, withURL, postgres.WithStatementTimeout(0), postgres.WithLockTimeout(1500*time.Millisecond))
		if got := show(t, db.SQLX(), "statement_timeout"); got != "0" {
			t.Errorf("statement_timeout = %s, want 0 (none)", got)
		}
		if got := show(t, db.SQLX(), "lock_timeout"); got != "1500ms" {
			t.Errorf("lock_timeout = %s, want 1500ms", got)
		}
	})

	t.Run("a statement running too long fails", func(t *testing.T) {
		t.Parallel()
		db := open(t, dbURL, postgres.WithStatementTimeout(200*time.Millisecond))
		start := time.Now()
		_, err := db.SQLX().ExecContext(t.Context(), "SELECT pg_sleep(5)")
		if pqErr := pq.As(err); pqErr == nil || pqErr.Code != "57014" || !strings.Contains(pqErr.Message, "statement timeout") {
			t.Fatalf("pg_sleep(5) = %v, want 57014 canceling statement due to statement timeout", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("the statement failed after %v, with a timeout of 200ms", d)
		}
		// The maintenance pool (migrations, the seed) is not bounded.
		if _, err := db.MaintenanceSQLX().ExecContext(t.Context(), "SELECT pg_sleep(0.4)"); err != nil {
			t.Errorf("pg_sleep(0.4) on the maintenance pool: %v", err)
		}
	})

	t.Run("a lock waited for too long fails fast, and the bot may try again", func(t *testing.T) {
		t.Parallel()
		db := open(t, dbURL, postgres.WithLockTimeout(100*time.Millisecond))
		if err := postgres.Migrate(t.Context(), db); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		contacts := postgres.NewContactStore(db)
		c := campaign.Contact{Channel: "telegram", ExternalID: "7001", Name: "Lan"}
		if err := contacts.UpsertContact(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		// Another transaction holds the contact's row, as a hung one would.
		holder, err := db.SQLX().BeginTxx(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = holder.Rollback() }()
		if _, err := holder.Exec(`UPDATE contacts SET name = 'Bình' WHERE channel = 'telegram' AND external_id = '7001'`); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err = contacts.UpsertContact(t.Context(), c)
		if pqErr := pq.As(err); pqErr == nil || pqErr.Code != "55P03" {
			t.Fatalf("UpsertContact = %v, want 55P03 lock_not_available", err)
		}
		if code := campaign.ErrorCode(err); code != campaign.EUNAVAILABLE {
			t.Errorf("code %q, want %q: the person is asked to try again", code, campaign.EUNAVAILABLE)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("the wait failed after %v, with a lock timeout of 100ms", d)
		}
	})
}
