package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// Serve is production: every setting from the environment, a missing or malformed one named at
// start.
func Serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(serveGCPercent)
	}
	return ServeWith(ctx, args, getenv, stdout, stderr, Clock{})
}

// serveGCPercent is the garbage collector's GOGC for serve when the environment sets none. A
// serve process keeps a small live heap (tens of MB) and allocates per update, so Go's default of
// 100 collects very often; at 200 it collects half as often for a heap about half as large again
// (`loadtest -replicas 3`, 5 Dec 2026: 0.97-1.01 ms of CPU per update against 1.08-1.09 ms; 400
// measured worse). GOGC (or GOMEMLIMIT with GOGC=off) in the environment wins.
const serveGCPercent = 200

// Clock is the time a served bot stands on: the real one in production; tests stand on a
// campaign date, polled like the demo's (see jobs.SchedulerConfig.Poll).
type Clock struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Poll, when set, makes the scheduler follow Now by polling.
	Poll time.Duration
}

// ServeWith is Serve on the clock clk, without changing the garbage collector's setting.
func ServeWith(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, clk Clock) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return err
	}
	if err := cfg.validateServe(); err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	logger := NewLogger(cfg, stderr)
	camp, err := LoadCampaign(cfg)
	if err != nil {
		return err
	}
	db, err := OpenDatabase(ctx, cfg.DatabaseURL,
		postgres.WithStatementTimeout(cfg.DBStatementTimeout), postgres.WithLockTimeout(cfg.DBLockTimeout))
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	defer db.Close()
	rdb, err := OpenRedis(ctx, cfg.RedisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	a, err := New(ctx, Deps{Config: cfg, Campaign: camp, DB: db, Redis: rdb, Logger: logger, Now: clk.Now, SchedulerPoll: clk.Poll})
	if err != nil {
		return err
	}
	logger.Info("maytinhchoem serving", "campaign", camp.ID, "mode", cfg.TelegramMode)
	return a.Run(ctx, cfg.HTTPAddr)
}

// OpenRedis connects to REDIS_URL, waiting a little for a server that is just starting.
func OpenRedis(ctx context.Context, redisURL string) (*goredis.Client, error) {
	opt, err := goredis.ParseURL(redisURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	opt.DialTimeout = 3 * time.Second
	opt.ReadTimeout = 3 * time.Second
	opt.WriteTimeout = 3 * time.Second
	rdb := goredis.NewClient(opt)
	var pingErr error
	for i := 0; i < 10; i++ {
		if pingErr = rdb.Ping(ctx).Err(); pingErr == nil {
			return rdb, nil
		}
		select {
		case <-ctx.Done():
			rdb.Close()
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	rdb.Close()
	return nil, fmt.Errorf("REDIS_URL: cannot reach Redis: %w", pingErr)
}

// Migrate applies the database migrations and exits.
func Migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	url := getenv("DATABASE_URL")
	if url == "" {
		return fmt.Errorf("DATABASE_URL is required")
	}
	db, err := OpenDatabase(ctx, url)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	defer db.Close()
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

// OpenDatabase connects to PostgreSQL and applies the migrations (under goose's lock, so replicas
// starting together migrate once).
func OpenDatabase(ctx context.Context, databaseURL string, opts ...postgres.Option) (*postgres.DB, error) {
	db, err := postgres.Open(ctx, databaseURL, opts...)
	if err != nil {
		return nil, err
	}
	if err := postgres.Migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Healthcheck asks the bot serving on HTTP_ADDR whether it is ready; containers without a shell
// use it as their health check.
func Healthcheck(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	addr := getenv("HTTP_ADDR")
	if addr == "" {
		addr = ":8080"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR: %w", err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 4*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s", resp.Status)
	}
	fmt.Fprintln(stdout, "ready")
	return nil
}
