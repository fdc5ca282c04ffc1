package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/chart"
	"github.com/thuduc/maytinhchoem/flows"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// ParseCampaignTime reads a moment of the campaign given as "2021-09-20" (at clock on that day)
// or "2021-09-20T16:58" / "2021-09-20 16:58", in the campaign's time zone.
func ParseCampaignTime(c *campaign.Campaign, s, clock string) (time.Time, error) {
	given := strings.TrimSpace(s)
	s = strings.Replace(given, " ", "T", 1)
	if len(s) == len("2006-01-02") {
		s += "T" + clock
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, c.Location); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("want YYYY-MM-DD or YYYY-MM-DDTHH:MM (%s time), got %q", c.Location, given)
}

// SummaryClock is the local time of day of the daily summary, "17:00" when the spec names none.
func SummaryClock(c *campaign.Campaign) string {
	if at, ok := c.Schedule.SummaryAt(); ok {
		return at
	}
	return "17:00"
}

// renderChart draws the summary chart of p into w, counting the deliveries per day from rs.
func renderChart(ctx context.Context, w io.Writer, c *campaign.Campaign, rs campaign.ReminderStore, p campaign.Progress, lang string) error {
	counts, err := rs.DeliveriesByDay(ctx, p.WardCode, p.At)
	if err != nil {
		return fmt.Errorf("deliveries by day: %w", err)
	}
	return chart.Render(w, c, p, chart.DaysOf(counts), chart.Options{Lang: lang})
}

// chartFunc is /summary's chart: a temporary PNG the sender removes once it is sent.
func chartFunc(c *campaign.Campaign, rs campaign.ReminderStore) flows.ChartFunc {
	return func(ctx context.Context, p campaign.Progress, lang string) (string, error) {
		f, err := os.CreateTemp("", "tien-do-*.png")
		if err != nil {
			return "", err
		}
		err = renderChart(ctx, f, c, rs, p, lang)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(f.Name())
			return "", err
		}
		return f.Name(), nil
	}
}

// Summary prints one day's summary as the daily job would send it, and writes its chart,
// without sending anything: `maytinhchoem summary --date 2021-09-20`.
func Summary(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("summary", flag.ContinueOnError)
	fs.SetOutput(stderr)
	date := fs.String("date", "", "the day to report on, YYYY-MM-DD (at the summary's hour) or YYYY-MM-DDTHH:MM, campaign time zone; today when empty")
	ward := fs.String("ward", "", "a ward's code: that ward's summary instead of the city's")
	lang := fs.String("lang", "vi", "language of the text and chart: vi or en")
	png := fs.String("png", "", "where to write the chart (default tien-do-<date>[-<ward>].png in the current folder); \"-\" for none")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *lang != "vi" && *lang != "en" {
		return fmt.Errorf("-lang: want vi or en, got %q", *lang)
	}
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		return errors.New("DATABASE_URL is required: the summary counts the campaign's database")
	}
	camp, err := LoadCampaign(cfg)
	if err != nil {
		return err
	}
	at := time.Now()
	if *date != "" {
		if at, err = ParseCampaignTime(camp, *date, SummaryClock(camp)); err != nil {
			return fmt.Errorf("-date: %w", err)
		}
	}
	if *ward != "" {
		if _, ok := camp.Ward(*ward); !ok {
			return fmt.Errorf("-ward: the campaign has no ward %q", *ward)
		}
	}
	db, err := OpenDatabase(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	defer db.Close()
	engine, err := flows.NewEngine(flows.Config{
		Campaign: camp, Registrations: postgres.NewRegistrationStore(db, camp), Now: func() time.Time { return at },
	})
	if err != nil {
		return err
	}
	p, err := postgres.NewProgressStore(db, camp).Progress(ctx, at, *ward)
	if err != nil {
		return fmt.Errorf("progress: %w", err)
	}
	fmt.Fprintln(stdout, engine.SummaryText(*lang, p))
	if *png == "-" {
		return nil
	}
	path := *png
	if path == "" {
		path = "tien-do-" + p.Date.Format("2006-01-02")
		if *ward != "" {
			path += "-" + *ward
		}
		path += ".png"
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tien-do-*.png")
	if err != nil {
		return fmt.Errorf("-png: %w", err)
	}
	defer os.Remove(tmp.Name())
	err = renderChart(ctx, tmp, camp, postgres.NewReminderStore(db, camp), p, *lang)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("-png: %w", err)
	}
	fmt.Fprintf(stderr, "chart written to %s\n", path)
	return nil
}
