package postgres

import "github.com/jmoiron/sqlx"

// SQLX exposes the pool to the package's external tests, which look at tables directly.
func (db *DB) SQLX() *sqlx.DB { return db.db }
