package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// txDB returns a pool over a new empty database with a table tx_rows of two rows, (1, 0) and (2, 0).
func txDB(t *testing.T) *postgres.DB {
	t.Helper()
	db := emptyDB(t)
	_, err := db.SQLX().ExecContext(t.Context(), `
		CREATE TABLE tx_rows (id int PRIMARY KEY, n int NOT NULL);
		INSERT INTO tx_rows VALUES (1, 0), (2, 0)`)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// rowN returns tx_rows.n of row id.
func rowN(t *testing.T, db *postgres.DB, id int) int {
	t.Helper()
	var n int
	if err := db.SQLX().GetContext(t.Context(), &n, `SELECT n FROM tx_rows WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	return n
}

// forceSerializationFailure makes the transaction fail with a real 40001 from the server.
func forceSerializationFailure(ctx context.Context, tx *sqlx.Tx) error {
	_, err := tx.ExecContext(ctx, `DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = 'serialization_failure'; END $$`)
	return wrap(err, "postgres: test")
}

// wrap wraps a failed statement's err as the stores do; nil stays nil.
func wrap(err error, msg string) error {
	if err == nil {
		return nil
	}
	return postgres.WrapErr(err, msg)
}

// sqlState returns the SQLSTATE of the driver's error in err's chain, or "".
func sqlState(err error) string {
	if pqErr := pq.As(err); pqErr != nil {
		return string(pqErr.Code)
	}
	return ""
}

func TestTxRetriesSerializationFailure(t *testing.T) {
	t.Parallel()
	db := txDB(t)
	var attempts int
	err := db.RunTx(t.Context(), sql.LevelRepeatableRead, func(tx *sqlx.Tx) error {
		attempts++
		var n int
		if err := tx.GetContext(t.Context(), &n, `SELECT n FROM tx_rows WHERE id = 1`); err != nil {
			return wrap(err, "postgres: test: read")
		}
		if attempts == 1 {
			// Another session changes the row after this snapshot was taken: the UPDATE below
			// then fails with "could not serialize access due to concurrent update".
			if _, err := db.SQLX().ExecContext(t.Context(), `UPDATE tx_rows SET n = 10 WHERE id = 1`); err != nil {
				t.Errorf("concurrent update: %v", err)
			}
		}
		_, err := tx.ExecContext(t.Context(), `UPDATE tx_rows SET n = $1 WHERE id = 1`, n+1)
		return wrap(err, "postgres: test: write")
	})
	if err != nil {
		t.Fatalf("tx = %v, want success after a retry", err)
	}
	if attempts != 2 {
		t.Errorf("%d runs, want 2: one failed with 40001, one succeeded", attempts)
	}
	if n := rowN(t, db, 1); n != 11 {
		t.Errorf("n = %d, want 11: the retry read the concurrent update's 10", n)
	}
}

func TestTxRetriesDeadlock(t *testing.T) {
	t.Parallel()
	db := txDB(t)
	var runs atomic.Int32
	ready := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	// lockBoth locks first, then second; on its first run it waits, holding first, until the
	// other transaction holds its own first row, so the two wait on each other.
	lockBoth := func(me, first, second int) func(tx *sqlx.Tx) error {
		attempt := 0
		return func(tx *sqlx.Tx) error {
			attempt++
			runs.Add(1)
			if _, err := tx.ExecContext(t.Context(), `UPDATE tx_rows SET n = n + 1 WHERE id = $1`, first); err != nil {
				return wrap(err, "postgres: test: first row")
			}
			if attempt == 1 {
				close(ready[me])
				select {
				case <-ready[1-me]:
				case <-time.After(10 * time.Second):
					return errors.New("the other transaction never started")
				}
			}
			_, err := tx.ExecContext(t.Context(), `UPDATE tx_rows SET n = n + 1 WHERE id = $1`, second)
			return wrap(err, "postgres: test: second row")
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for me, order := range [2][2]int{{1, 2}, {2, 1}} {
		wg.Go(func() { errs[me] = db.RunTx(t.Context(), sql.LevelDefault, lockBoth(me, order[0], order[1])) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("transaction %d = %v, want success: the deadlock's loser is run again", i, err)
		}
	}
	if n := runs.Load(); n != 3 {
		t.Errorf("%d runs, want 3: both once, the deadlock's loser once more", n)
	}
	if a, b := rowN(t, db, 1), rowN(t, db, 2); a != 2 || b != 2 {
		t.Errorf("rows (%d, %d), want (2, 2): each transaction counted once", a, b)
	}
}

func TestTxGivesUpAfterTheBound(t *testing.T) {
	t.Parallel()
	db := txDB(t)
	var attempts int
	err := db.RunTx(t.Context(), sql.LevelDefault, func(tx *sqlx.Tx) error {
		attempts++
		if _, err := tx.ExecContext(t.Context(), `UPDATE tx_rows SET n = n + 1 WHERE id = 1`); err != nil {
			return err
		}
		return forceSerializationFailure(t.Context(), tx)
	})
	if attempts != postgres.TxAttempts {
		t.Errorf("%d runs, want %d", attempts, postgres.TxAttempts)
	}
	if sqlState(err) != "40001" {
		t.Errorf("err = %v, want the last run's 40001", err)
	}
	if code := campaign.ErrorCode(err); code != campaign.EUNAVAILABLE {
		t.Errorf("code %q, want %q: the person is asked to try again, as before the helper", code, campaign.EUNAVAILABLE)
	}
	if n := rowN(t, db, 1); n != 0 {
		t.Errorf("n = %d, want 0: every run rolled back", n)
	}
}

func TestTxDoesNotRetryOtherErrors(t *testing.T) {
	t.Parallel()
	db := txDB(t)
	refused := campaign.Errorf(campaign.EINVALID, "refused")
	for name, tc := range map[string]struct {
		fn    func(tx *sqlx.Tx) error
		check func(err error) bool
	}{
		"unique violation": {
			fn: func(tx *sqlx.Tx) error {
				_, err := tx.ExecContext(t.Context(), `INSERT INTO tx_rows VALUES (1, 5)`)
				return wrap(err, "postgres: test")
			},
			check: func(err error) bool { return sqlState(err) == "23505" },
		},
		"a store's own error": {
			fn:    func(tx *sqlx.Tx) error { return refused },
			check: func(err error) bool { return errors.Is(err, refused) },
		},
	} {
		t.Run(name, func(t *testing.T) {
			var attempts int
			err := db.RunTx(t.Context(), sql.LevelDefault, func(tx *sqlx.Tx) error {
				attempts++
				if _, err := tx.ExecContext(t.Context(), `UPDATE tx_rows SET n = n + 1 WHERE id = 2`); err != nil {
					return err
				}
				return tc.fn(tx)
			})
			if !tc.check(err) {
				t.Errorf("err = %v", err)
			}
			if attempts != 1 {
				t.Errorf("%d runs, want 1", attempts)
			}
			if n := rowN(t, db, 2); n != 0 {
				t.Errorf("n = %d, want 0: the failed transaction rolled back", n)
			}
		})
	}
}

func TestTxDoesNotRetryOnceTheContextEnded(t *testing.T) {
	t.Parallel()
	db := txDB(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var attempts int
	err := db.RunTx(ctx, sql.LevelDefault, func(tx *sqlx.Tx) error {
		attempts++
		err := forceSerializationFailure(ctx, tx)
		cancel()
		return err
	})
	if attempts != 1 || sqlState(err) != "40001" {
		t.Errorf("%d runs, err = %v; want 1 run and its 40001", attempts, err)
	}
}

func TestTxRollsBackOnPanic(t *testing.T) {
	t.Parallel()
	db := txDB(t)
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want the panic to go on", r)
			}
		}()
		_ = db.RunTx(t.Context(), sql.LevelDefault, func(tx *sqlx.Tx) error {
			if _, err := tx.ExecContext(t.Context(), `UPDATE tx_rows SET n = 7 WHERE id = 1`); err != nil {
				t.Error(err)
			}
			panic("boom")
		})
	}()
	if n := rowN(t, db, 1); n != 0 {
		t.Errorf("n = %d, want 0: the panicking transaction rolled back", n)
	}
	if inUse := db.SQLX().Stats().InUse; inUse != 0 {
		t.Errorf("%d connections in use, want 0: the transaction's went back to the pool", inUse)
	}
	// The row is not left locked: a statement with the pool's lock timeout gets it at once.
	if _, err := db.SQLX().ExecContext(t.Context(), `UPDATE tx_rows SET n = 1 WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
}

func TestTxSetsLocalTimeouts(t *testing.T) {
	t.Parallel()
	db := txDB(t)
	var statement, lock string
	err := db.RunMaintenanceTx(t.Context(), 1500*time.Millisecond, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(t.Context(), &statement, `SHOW statement_timeout`); err != nil {
			return err
		}
		return tx.GetContext(t.Context(), &lock, `SHOW lock_timeout`)
	})
	if err != nil {
		t.Fatal(err)
	}
	if statement != "1500ms" || lock != "5s" {
		t.Errorf("statement_timeout %q, lock_timeout %q; want 1500ms and 5s", statement, lock)
	}
	// SET LOCAL ends with the transaction: the maintenance pool has no bound again.
	if err := db.MaintenanceSQLX().GetContext(t.Context(), &statement, `SHOW statement_timeout`); err != nil {
		t.Fatal(err)
	}
	if statement != "0" {
		t.Errorf("statement_timeout after the transaction %q, want 0", statement)
	}
}
