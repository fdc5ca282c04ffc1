package postgres

import (
	"context"
	"database/sql"
	"time"

	"github.com/jmoiron/sqlx"
)

// TxAttempts is how many times in all DB.tx runs a transaction that keeps conflicting.
const TxAttempts = txAttempts

// RunTx runs fn as the stores run their transactions (DB.tx), at isolation.
func (db *DB) RunTx(ctx context.Context, isolation sql.IsolationLevel, fn func(tx *sqlx.Tx) error) error {
	return db.tx(ctx, "test", txOptions{isolation: isolation}, fn)
}

// RunMaintenanceTx runs fn as the privacy work runs its transactions: on the maintenance pool,
// with statementTimeout and the stores' lock timeout set for the transaction.
func (db *DB) RunMaintenanceTx(ctx context.Context, statementTimeout time.Duration, fn func(tx *sqlx.Tx) error) error {
	return db.tx(ctx, "test", maintenanceTx(statementTimeout), fn)
}

// WrapErr is wrapErr, for the external tests to wrap errors as the stores do.
func WrapErr(err error, msg string) error { return wrapErr(err, msg) }
