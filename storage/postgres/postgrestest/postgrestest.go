// Package postgrestest gives each test its own freshly migrated PostgreSQL database, so tests and
// test packages can run in parallel against one server without seeing each other's rows.
package postgrestest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/lib/pq"

	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// DefaultURL is the server the tests use when TEST_DATABASE_URL is not set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// setupTimeout bounds creating, migrating and dropping a test database.
const setupTimeout = 30 * time.Second

// ServerURL returns the URL of the test server: TEST_DATABASE_URL, or DefaultURL.
func ServerURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// NewDB returns a connection to a new, migrated database of its own, dropped when the test ends.
// When the server cannot be reached the test fails, telling how to start it.
func NewDB(t testing.TB) *postgres.DB {
	t.Helper()
	dbURL := NewDatabaseURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		t.Fatalf("postgrestest: open test database: %v", err)
	}
	// Cleanups run last-in first-out: the pool closes before the database is dropped.
	t.Cleanup(func() { _ = db.Close() })
	if err := postgres.Migrate(ctx, db); err != nil {
		t.Fatalf("postgrestest: migrate test database: %v", err)
	}
	return db
}

// NewDatabaseURL creates a new, empty database, dropped when the test ends, and returns its URL,
// for tests that open their own connections (two replicas migrating at once, say).
func NewDatabaseURL(t testing.TB) string {
	t.Helper()
	serverURL := ServerURL()
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("postgrestest: TEST_DATABASE_URL %q must be a postgres:// URL", serverURL)
	}

	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	admin, err := postgres.Open(ctx, serverURL)
	if err != nil {
		t.Fatalf("postgrestest: cannot reach the test PostgreSQL at %s: %v\n"+
			"Start it with: bash scripts/test", u.Redacted(), err)
	}
	// The admin pool goes away at once; dropping uses a connection of its own, because the test's
	// pool must be closed by then.
	defer admin.Close()
	raw, err := sql.Open("postgres", serverURL)
	if err != nil {
		t.Fatalf("postgrestest: %v", err)
	}
	defer raw.Close()

	name := databaseName(t.Name())
	if _, err := raw.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		t.Fatalf("postgrestest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		drop, err := sql.Open("postgres", serverURL)
		if err != nil {
			t.Errorf("postgrestest: drop database %s: %v", name, err)
			return
		}
		defer drop.Close()
		if _, err := drop.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
			t.Errorf("postgrestest: drop database %s: %v", name, err)
		}
	})

	u.Path = "/" + name
	return u.String()
}

// databaseName makes a database name from the test's name and a random suffix: readable in
// pg_stat_activity, unique across parallel tests and packages, within PostgreSQL's 63 bytes.
func databaseName(testName string) string {
	var b strings.Builder
	b.WriteString("test_")
	for _, r := range strings.ToLower(testName) {
		if b.Len() >= 40 {
			break
		}
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	b.WriteByte('_')
	b.WriteString(hex.EncodeToString(suffix))
	return b.String()
}
