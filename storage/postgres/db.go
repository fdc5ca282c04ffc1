// Package postgres keeps the campaign's records in PostgreSQL: registrations, students, contacts,
// staff and their invitations, pledges, devices, stock, money and the audit log, over sqlx and
// lib/pq, with the schema as embedded goose migrations.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Pool settings for a small (2-core) host that runs the bot and PostgreSQL side by side: a few
// busy connections serve more requests than many waiting ones.
const (
	maxOpenConns    = 16
	maxIdleConns    = 8
	connMaxLifetime = 30 * time.Minute
	connMaxIdleTime = 5 * time.Minute
)

// How long Open waits for a server that is still starting (a container started together with
// the bot, or the test script's server).
const (
	openRetryFor      = 5 * time.Second
	openFirstBackoff  = 100 * time.Millisecond
	openMaxBackoff    = time.Second
	defaultPingWindow = 2 * time.Second
)

// Bounds on one statement of the stores, so that one stuck query (a lock held by a hung
// transaction, a plan gone wrong) fails, and the bot tells that person to try again, instead of
// holding a connection, and the chat behind it, for good. A submit takes milliseconds; the
// heaviest read of the bot (an export of a ward's records) takes a second or two.
const (
	DefaultStatementTimeout = 10 * time.Second
	DefaultLockTimeout      = 5 * time.Second
)

// The maintenance pool (migrations, the seed generator) is small: one migration or one seed at a
// time, and the lock goose holds while migrating.
const (
	maintenanceOpenConns   = 4
	maintenanceIdleConns   = 1
	maintenanceConnMaxIdle = time.Minute
)

// DB is a pool of connections to the campaign's PostgreSQL database.
type DB struct {
	db *sqlx.DB
	// maintenance reaches the same database without the stores' statement and lock timeouts, for
	// work that is long by nature: migrations (an index built over a million rows), the seed
	// generator (a million rows in one transaction, then VACUUM) and exports streaming a city.
	maintenance *sqlx.DB

	// Now returns the current time; every timestamp the stores write comes from it, so tests and
	// the demo can stand on any day of the campaign. Set it before the stores are used.
	Now func() time.Time
}

// Option changes how Open sets up the pool.
type Option func(*options)

type options struct {
	statementTimeout, lockTimeout       time.Duration
	statementTimeoutSet, lockTimeoutSet bool
}

// WithStatementTimeout bounds how long one statement of the stores may run (PostgreSQL's
// statement_timeout; DefaultStatementTimeout when not given, or the URL's statement_timeout when it
// has one); 0 lifts the bound. A statement that runs longer fails, coded campaign.EUNAVAILABLE.
func WithStatementTimeout(d time.Duration) Option {
	return func(o *options) { o.statementTimeout, o.statementTimeoutSet = d, true }
}

// WithLockTimeout bounds how long one statement waits for a lock a row, a table or an advisory
// lock is held under (PostgreSQL's lock_timeout; DefaultLockTimeout when not given, or the URL's
// lock_timeout when it has one); 0 lifts the bound. A wait that lasts longer fails, coded
// campaign.EUNAVAILABLE.
func WithLockTimeout(d time.Duration) Option {
	return func(o *options) { o.lockTimeout, o.lockTimeoutSet = d, true }
}

// Open connects to the database at databaseURL (a postgres:// URL or a lib/pq key=value string)
// and waits up to a few seconds for the server to answer, so a server that is just starting is
// tolerated. A malformed URL, an unknown database or refused credentials fail at once.
//
// Every connection of the pool runs with a statement_timeout and a lock_timeout (see
// WithStatementTimeout and WithLockTimeout), set when it connects, so no statement and no caller
// can forget them. Migrate and the seed generator (see Maintenance) use connections of their own
// without them.
//
// Unless the URL says otherwise, queries send their parameters with binary_parameters=yes, which
// lets lib/pq run a query with parameters in one round trip instead of two (measured: a submit
// went from 2.5 to 1.8 ms).
func Open(ctx context.Context, databaseURL string, opts ...Option) (*DB, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pq.NewConfig(withBinaryParameters(databaseURL))
	if err != nil {
		return nil, fmt.Errorf("postgres: parse database URL: %w", err)
	}
	bounded := cfg.Clone()
	setTimeout(bounded.Runtime, "statement_timeout", DefaultStatementTimeout, o.statementTimeout, o.statementTimeoutSet)
	setTimeout(bounded.Runtime, "lock_timeout", DefaultLockTimeout, o.lockTimeout, o.lockTimeoutSet)
	connector, err := pq.NewConnectorConfig(bounded)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse database URL: %w", err)
	}
	unbounded := cfg.Clone()
	unbounded.Runtime["statement_timeout"], unbounded.Runtime["lock_timeout"] = "0", "0"
	maintenance, err := pq.NewConnectorConfig(unbounded)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse database URL: %w", err)
	}

	sqlDB := sql.OpenDB(connector)
	sqlDB.SetMaxOpenConns(maxOpenConns)
	sqlDB.SetMaxIdleConns(maxIdleConns)
	sqlDB.SetConnMaxLifetime(connMaxLifetime)
	sqlDB.SetConnMaxIdleTime(connMaxIdleTime)
	// Opening a pool connects nothing: the maintenance pool costs a connection only while used.
	maintDB := sql.OpenDB(maintenance)
	maintDB.SetMaxOpenConns(maintenanceOpenConns)
	maintDB.SetMaxIdleConns(maintenanceIdleConns)
	maintDB.SetConnMaxIdleTime(maintenanceConnMaxIdle)
	db := &DB{db: sqlx.NewDb(sqlDB, "postgres"), maintenance: sqlx.NewDb(maintDB, "postgres"), Now: time.Now}

	if err := db.pingWithRetry(ctx); err != nil {
		_ = sqlDB.Close()
		_ = maintDB.Close()
		return nil, err
	}
	return db, nil
}

// setTimeout sets the run-time parameter name to the option's value when it was given, else to
// def unless the URL set it.
func setTimeout(runtime map[string]string, name string, def, value time.Duration, given bool) {
	switch {
	case given:
		runtime[name] = strconv.FormatInt(value.Milliseconds(), 10)
	case runtime[name] == "":
		runtime[name] = strconv.FormatInt(def.Milliseconds(), 10)
	}
}

// pingWithRetry pings until the server answers, backing off between tries, for at most
// openRetryFor or until ctx ends. Only errors that a starting server gives are retried.
func (db *DB) pingWithRetry(ctx context.Context) error {
	deadline := time.Now().Add(openRetryFor)
	backoff := openFirstBackoff
	for {
		err := db.db.PingContext(ctx)
		if err == nil {
			return nil
		}
		if !isTransient(err) || time.Now().Add(backoff).After(deadline) {
			return wrapErr(err, "postgres: connect")
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return wrapErr(errors.Join(ctx.Err(), err), "postgres: connect")
		case <-t.C:
		}
		backoff = min(2*backoff, openMaxBackoff)
	}
}

// Close closes every connection of the pool.
func (db *DB) Close() error {
	err := errors.Join(db.db.Close(), db.maintenance.Close())
	if err != nil {
		return fmt.Errorf("postgres: close: %w", err)
	}
	return nil
}

// Ping checks that the database answers, for a readiness probe. When ctx has no deadline a
// short one is used, so a probe never hangs on a dead server.
func (db *DB) Ping(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultPingWindow)
		defer cancel()
	}
	if err := db.db.PingContext(ctx); err != nil {
		return wrapErr(err, "postgres: ping")
	}
	return nil
}

// Maintenance is the pool without the stores' statement and lock timeouts, for long work done
// beside the stores: the seed generator's bulk load of a million rows in one transaction, then
// VACUUM. The stores never use it for a chat's work.
func (db *DB) Maintenance() *sqlx.DB { return db.maintenance }

// now returns the clock's time in UTC at the microsecond precision PostgreSQL keeps, so a value
// written and read back compares equal.
func (db *DB) now() time.Time {
	return db.Now().UTC().Truncate(time.Microsecond)
}

// wrapErr wraps a database error with a message. A transient failure (the server is unreachable,
// restarting or overloaded; a serialization failure or deadlock) is also coded
// campaign.EUNAVAILABLE so the bot can ask the user to try again; the driver's error stays in the
// chain for errors.Is and errors.As either way.
func wrapErr(err error, msg string) error {
	if isTransient(err) {
		return fmt.Errorf("%s: %w: %w", msg, campaign.Errorf(campaign.EUNAVAILABLE, "transient database failure"), err)
	}
	return fmt.Errorf("%s: %w", msg, err)
}

// isTransient reports whether err is a failure that may go away when the same request is made
// again a little later.
func isTransient(err error) bool {
	if err == nil {
		return false
	}
	if pqErr := pq.As(err); pqErr != nil {
		switch pqErr.Code {
		case pqerror.TRSerializationFailure, pqerror.TRDeadlockDetected, pqerror.TooManyConnections,
			pqerror.AdminShutdown, pqerror.CrashShutdown, pqerror.CannotConnectNow,
			// statement_timeout and lock_timeout: the server was busy or a lock held too long.
			pqerror.QueryCanceled, pqerror.LockNotAvailable:
			return true
		}
		return pqErr.Code.Class() == pqerror.ClassConnectionException
	}
	var netErr net.Error
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr):
		return true
	}
	return false
}

// isRetryableConflict reports whether a transaction failed only because another one ran at the
// same time, so running it again is safe for an idempotent write.
func isRetryableConflict(err error) bool {
	return pq.As(err, pqerror.TRSerializationFailure, pqerror.TRDeadlockDetected) != nil
}

// isAlreadyThere reports whether a CREATE ... IF NOT EXISTS lost a race with another session
// creating the same object (PostgreSQL can then report a unique violation or a duplicate).
func isAlreadyThere(err error) bool {
	return pq.As(err, pqerror.UniqueViolation, pqerror.DuplicateTable, pqerror.DuplicateObject) != nil
}

// withBinaryParameters adds binary_parameters=yes to a postgres:// URL that does not set it.
func withBinaryParameters(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return databaseURL // a key=value string, or malformed: NewConnector reports it
	}
	q := u.Query()
	if q.Has("binary_parameters") {
		return databaseURL
	}
	q.Set("binary_parameters", "yes")
	u.RawQuery = q.Encode()
	return u.String()
}

// textField is a text a record is validated on: its name for the message and its longest length.
type textField struct {
	name  string
	value string
	max   int
}

// checkTexts returns, through invalid, the first field that is too long, or empty when required.
func checkTexts(invalid func(format string, args ...any) error, required bool, fields ...textField) error {
	for _, f := range fields {
		if required && f.value == "" {
			return invalid("%s is required", f.name)
		}
		if utf8.RuneCountInString(f.value) > f.max {
			return invalid("%s is longer than %d characters", f.name, f.max)
		}
	}
	return nil
}
