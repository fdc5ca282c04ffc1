package postgres

import (
	"context"
	"io/fs"

	"github.com/pressly/goose/v3"
)

// MigrateTo brings the schema up to version and no further, for the external tests of a
// migration over the rows an earlier schema held.
func MigrateTo(ctx context.Context, db *DB, version int64) error {
	provider, err := migrationProvider(db)
	if err != nil {
		return err
	}
	_, err = provider.UpTo(ctx, version)
	return err
}

// MigrateDownTo rolls the schema back to version, for the tests of a migration's Down.
func MigrateDownTo(ctx context.Context, db *DB, version int64) error {
	provider, err := migrationProvider(db)
	if err != nil {
		return err
	}
	_, err = provider.DownTo(ctx, version)
	return err
}

// migrationProvider runs the package's migrations on db's maintenance pool.
func migrationProvider(db *DB) (*goose.Provider, error) {
	migrations, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, db.maintenance.DB, migrations, goose.WithDisableGlobalRegistry(true))
}
