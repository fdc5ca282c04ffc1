package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate brings the schema up to date with the embedded migrations. It holds a PostgreSQL
// session advisory lock while it runs, so replicas started together migrate once: the others wait
// for the lock, then find nothing left to do.
func Migrate(ctx context.Context, db *DB) error {
	migrations, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	// Poll the lock every second for up to 5 minutes: a long migration on another replica is
	// waited for, not raced.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("postgres: migration lock: %w", err)
	}
	// On the maintenance pool: a migration that builds an index over a million rows must not be
	// cut by the stores' statement timeout.
	provider, err := goose.NewProvider(goose.DialectPostgres, db.maintenance.DB, migrations,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return wrapErr(err, "postgres: migrate")
	}
	return nil
}
