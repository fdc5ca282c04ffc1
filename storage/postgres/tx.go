package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jmoiron/sqlx"
)

// The transaction helper's retry: how many times in all a transaction is run, and the backoff
// before the second run (doubled before each further one, with jitter).
const (
	txAttempts     = 3
	txFirstBackoff = 10 * time.Millisecond
)

// txOptions says how db.tx runs a transaction. The zero value is a READ COMMITTED read-write
// transaction of the stores' pool, under the pool's statement and lock timeouts, retried.
type txOptions struct {
	// isolation and readOnly are sql.TxOptions': a snapshot read is
	// {isolation: sql.LevelRepeatableRead, readOnly: true}.
	isolation sql.IsolationLevel
	readOnly  bool
	// maintenance runs the transaction on the maintenance pool, which has no statement or lock
	// timeout of its own: set statementTimeout and lockTimeout with it.
	maintenance bool
	// statementTimeout and lockTimeout, when positive, are set with SET LOCAL at the start of the
	// transaction, for its statements only.
	statementTimeout, lockTimeout time.Duration
	// once runs fn a single time: for a fn with effects outside the transaction (a caller's
	// callback that makes an HTTP call), which running again would repeat.
	once bool
}

// tx runs fn in one transaction and commits it when fn returns nil. It is the one way the stores
// open a transaction.
//
// Retry: when the run fails only because a concurrent transaction conflicted with it, a
// serialization failure (SQLSTATE 40001) or a deadlock (40P01), from fn's statements or from the
// commit, the whole transaction is run again from the start, txAttempts (3) times in all, after a
// short jittered backoff (10ms, then 20ms, each between half and all of it). fn reads everything
// again under its locks, so a later run decides afresh; fn must therefore set, not accumulate,
// what it hands back through its closure. No other error is retried: a lock_timeout or
// statement_timeout (55P03, 57014) means the database is busy and running again would only wait
// again; constraint violations and the stores' own campaign errors are answers. Nothing is retried
// once ctx has ended. Three runs, because two transactions that deadlock once rarely do so twice
// (the loser's retry runs after the winner committed); a third conflict in a row says the rows are
// hot, and the caller hears it.
//
// Every transaction of the stores runs here, and all are retried but RecordStore.UpdateRecord's
// (once: its fn is the caller's callback, a token refresh over HTTP, which must not run twice).
// A retry is safe for the writes because a failed run was rolled back whole and the idempotency
// keys, advisory locks and outbox rows are taken again inside the next run. The single-statement
// submits (SubmitRegistration from a chat, SubmitPledge) are no transaction of this helper and
// keep their own one retry; the seed generator (package seed) keeps its bulk transaction, which
// is never run twice.
//
// Errors: fn's error is returned as it is (the stores wrap theirs with wrapErr); a failure to
// begin, set the timeouts or commit is wrapped with wrapErr as "postgres: <what>" (": commit").
// A conflict that outlasts the retries is thus what it was before the helper: the last run's
// error, coded campaign.EUNAVAILABLE by wrapErr, with the driver's error in the chain.
//
// The transaction is rolled back on every error, and when fn panics (the panic goes on).
func (db *DB) tx(ctx context.Context, what string, opts txOptions, fn func(tx *sqlx.Tx) error) error {
	attempts := txAttempts
	if opts.once {
		attempts = 1
	}
	backoff := txFirstBackoff
	for attempt := 1; ; attempt++ {
		err := db.txRun(ctx, what, opts, fn)
		if err == nil || attempt >= attempts || !isRetryableConflict(err) || ctx.Err() != nil {
			return err
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff *= 2
	}
}

// txRun is one run of db.tx.
func (db *DB) txRun(ctx context.Context, what string, opts txOptions, fn func(tx *sqlx.Tx) error) error {
	pool := db.db
	if opts.maintenance {
		pool = db.maintenance
	}
	var txOpts *sql.TxOptions
	if opts.isolation != sql.LevelDefault || opts.readOnly {
		txOpts = &sql.TxOptions{Isolation: opts.isolation, ReadOnly: opts.readOnly}
	}
	tx, err := pool.BeginTxx(ctx, txOpts)
	if err != nil {
		return wrapErr(err, "postgres: "+what)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit; also runs when fn panics
	if err := setLocalTimeouts(ctx, tx, opts.statementTimeout, opts.lockTimeout); err != nil {
		return wrapErr(err, "postgres: "+what)
	}
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return wrapErr(err, "postgres: "+what+": commit")
	}
	return nil
}

// setLocalTimeouts sets statement_timeout and lock_timeout, those that are positive, for the rest
// of the transaction, in one round trip.
func setLocalTimeouts(ctx context.Context, tx *sqlx.Tx, statement, lock time.Duration) error {
	var set string
	if statement > 0 {
		set += fmt.Sprintf(`SET LOCAL statement_timeout = %d;`, statement.Milliseconds())
	}
	if lock > 0 {
		set += fmt.Sprintf(`SET LOCAL lock_timeout = %d;`, lock.Milliseconds())
	}
	if set == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, set)
	return err
}

// snapshotRead is a read-only REPEATABLE READ transaction: its queries see one snapshot.
var snapshotRead = txOptions{isolation: sql.LevelRepeatableRead, readOnly: true}
