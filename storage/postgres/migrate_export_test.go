package postgres

import (
	"context"
	"io/fs"

	"github.com/pressly/goose/v3"
)

// MigrateTo brings the schema up to version and no further, for the external tests of a
// migration over the rows an earlier schema held.
func MigrateTo(ctx context.Context, db *DB, version int64) error {
	migrations, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, db.maintenance.DB, migrations, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return err
	}
	_, err = provider.UpTo(ctx, version)
	return err
}
