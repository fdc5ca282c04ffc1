package postgres_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

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
