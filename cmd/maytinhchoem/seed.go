//go:build !serveonly

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/thuduc/maytinhchoem/cmd/maytinhchoem/internal/app"
	"github.com/thuduc/maytinhchoem/storage/postgres/seed"
)

// runSeed fills an empty database with a realistic campaign: `maytinhchoem seed --students N`.
func runSeed(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	students := fs.Int("students", 3200, "students, each registered once")
	devices := fs.Int("devices", 0, "devices taken in (0: 3 for every 10 students)")
	pledges := fs.Int("pledges", 0, "pledges (0: one for every 20 students)")
	seedN := fs.Int64("seed", 1, "the same seed and options give the same data")
	date := fs.String("date", "", "the moment the data stands on, YYYY-MM-DD or YYYY-MM-DDTHH:MM in the campaign's time zone (default: now)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *students < 1 {
		return fmt.Errorf("-students: want at least 1, got %d", *students)
	}
	if *devices < 0 || *pledges < 0 {
		return errors.New("-devices and -pledges must not be negative")
	}
	cfg, err := app.LoadConfig(getenv)
	if err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		return errors.New("DATABASE_URL is required: seed fills that database")
	}
	camp, err := app.LoadCampaign(cfg)
	if err != nil {
		return err
	}
	var at time.Time
	if *date != "" {
		if at, err = app.ParseCampaignTime(camp, *date, app.SummaryClock(camp)); err != nil {
			return fmt.Errorf("-date: %w", err)
		}
	}
	db, err := app.OpenDatabase(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	defer db.Close()
	res, err := seed.Fill(ctx, db, camp, seed.Options{Students: *students, Devices: *devices, Pledges: *pledges, Seed: *seedN, Now: at})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded in %s: %d students, %d registrations, %d contacts, %d pledges (%d items), %d money records, %d devices, %d deliveries, %d stock rows\n",
		res.Elapsed.Round(time.Millisecond), res.Students, res.Registrations, res.Contacts, res.Pledges, res.PledgeItems,
		res.Money, res.Devices, res.Deliveries, res.Stock)
	return nil
}
