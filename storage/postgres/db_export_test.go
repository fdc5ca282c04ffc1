package postgres

import "github.com/jmoiron/sqlx"

// MaintenanceSQLX exposes the maintenance pool to the package's external tests.
func (db *DB) MaintenanceSQLX() *sqlx.DB { return db.maintenance }
