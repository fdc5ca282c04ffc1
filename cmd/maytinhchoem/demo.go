package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/thuduc/maytinhchoem/bot/telegram/telegramtest"
	"github.com/thuduc/maytinhchoem/bot/zalo/zalotest"
	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

const demoToken = "100000001:demo-token-not-secret"

// The demo's Zalo app and OA, served by the emulator.
const (
	demoZaloAppID   = "3066178286528016436"
	demoZaloSecret  = "demo-zalo-secret-not-secret"
	demoZaloOAID    = "4318927402956107562"
	demoZaloWebhook = "/bot/zalo/webhook"
)

// demoAdmin is the chat page's person acting as administrator unless ADMIN_TELEGRAM_IDS says otherwise.
const demoAdmin = 1

// runDemo runs the whole bot on this machine: the Telegram emulator with its chat page, Redis
// in-process unless REDIS_URL is set, and a private PostgreSQL cluster unless DATABASE_URL is set.
func runDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "where the chat page and the emulated Bot API listen")
	dataDir := fs.String("data", ".data/demo-postgres", "folder of the demo's private PostgreSQL cluster (when DATABASE_URL is not set)")
	date := fs.String("date", "", "stand on this campaign day (YYYY-MM-DD, keeping the time of day, or YYYY-MM-DDTHH:MM; the campaign's time zone) instead of now")
	seedStudents := fs.Int("seed", 0, "fill an empty demo database with a realistic campaign of this many students, as it stands at -date")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	camp, err := loadCampaign(cfg)
	if err != nil {
		return err
	}
	now := time.Now
	shifted := false
	if *date != "" {
		clock := time.Now().In(camp.Location).Format("15:04:05")
		at, err := parseCampaignTime(camp, *date, clock)
		if err != nil {
			return fmt.Errorf("-date: %w", err)
		}
		offset := time.Until(at)
		now = func() time.Time { return time.Now().Add(offset) }
		shifted = true
	}
	if *seedStudents < 0 {
		return fmt.Errorf("-seed: want a number of students, got %d", *seedStudents)
	}

	// The emulators and their chat pages: Telegram's at /, Zalo's at /zalo/, both APIs on one
	// server (their paths do not overlap).
	emu := telegramtest.New(telegramtest.Options{Token: demoToken})
	defer emu.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("-addr %s: %w (is another demo running?)", *addr, err)
	}
	base := "http://" + ln.Addr().String()
	zemu := zalotest.New(zalotest.Options{
		AppID: demoZaloAppID, AppSecret: demoZaloSecret, OAID: demoZaloOAID, Now: now, BaseURL: base,
		WebhookURL: base + demoZaloWebhook, Logger: logger,
	})
	defer zemu.Close()
	mux := http.NewServeMux()
	mux.Handle("/", emu)
	for _, prefix := range []string{"/zalo/", "/v4/", "/v3.0/", "/v2.0/"} {
		mux.Handle(prefix, zemu)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("chat page server", "err", err)
		}
	}()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if len(cfg.admins) == 0 {
		// Someone has to invite the staff: in the demo, person 1 of the chat page is the administrator.
		cfg.admins = []string{"telegram:" + strconv.Itoa(demoAdmin)}
	}
	cfg.TelegramToken = demoToken
	cfg.TelegramAPIURL = base
	cfg.TelegramMode = "polling"
	cfg.ZaloAppID, cfg.ZaloAppSecret, cfg.ZaloOAID = demoZaloAppID, demoZaloSecret, demoZaloOAID
	cfg.ZaloRefreshToken = zemu.IssueRefreshToken()
	cfg.ZaloAPIURL, cfg.ZaloOAuthURL, cfg.ZaloWebhookPath = base, base, demoZaloWebhook
	cfg.PublicURL = base

	// Redis.
	var rdb *goredis.Client
	if cfg.RedisURL != "" {
		if rdb, err = openRedis(ctx, cfg.RedisURL); err != nil {
			return err
		}
	} else {
		mr := miniredis.NewMiniRedis()
		if err := mr.StartAddr("127.0.0.1:0"); err != nil {
			return fmt.Errorf("in-process redis: %w", err)
		}
		defer mr.Close()
		// miniredis only ages keys when told to: tell it every second so TTLs expire for real.
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					mr.FastForward(time.Second)
				}
			}
		}()
		rdb = goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
		logger.Info("redis in-process (miniredis); set REDIS_URL to use a server")
	}
	defer rdb.Close()

	// PostgreSQL.
	dbURL := cfg.DatabaseURL
	if dbURL == "" {
		fmt.Fprintf(stdout, "Starting a private PostgreSQL cluster in %s ...\n", *dataDir)
		cluster, err := startPGCluster(ctx, *dataDir)
		if err != nil {
			return err
		}
		defer func() {
			if err := cluster.Stop(); err != nil {
				logger.Error("stopping the demo's PostgreSQL", "err", err)
			} else {
				fmt.Fprintln(stdout, "PostgreSQL stopped.")
			}
		}()
		dbURL = cluster.URL()
	}
	db, err := openDatabase(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer db.Close()
	if *seedStudents > 0 {
		fmt.Fprintf(stdout, "Seeding %d students as the campaign stands on %s ...\n", *seedStudents, now().In(camp.Location).Format("02/01/2006 15:04"))
		res, err := postgres.Seed(ctx, db, camp, postgres.SeedOptions{Students: *seedStudents, Seed: 1, Now: now()})
		switch {
		case campaign.ErrorCode(err) == campaign.ECONFLICT:
			fmt.Fprintln(stdout, "The demo database has records already; -seed left it as it is.")
		case err != nil:
			return fmt.Errorf("-seed: %w", err)
		default:
			fmt.Fprintf(stdout, "Seeded %d registrations, %d pledges, %d devices and %d deliveries in %s.\n",
				res.Registrations, res.Pledges, res.Devices, res.Deliveries, res.Elapsed.Round(time.Millisecond))
		}
	}

	// On a shifted clock cron's timer, which waits on the real one, would never see the demo's
	// 17:00: the scheduler polls the demo's clock instead.
	var poll time.Duration
	if shifted {
		poll = 5 * time.Second
	}
	a, err := newApp(ctx, appDeps{cfg: cfg, campaign: camp, db: db, redis: rdb, logger: logger, now: now, schedulerPoll: poll,
		mount: func(pattern string, h http.Handler) { mux.Handle(pattern, h) }})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nmaytinhchoem demo (%s), it is %s\n", camp.Name.VI, now().In(camp.Location).Format("15:04 02/01/2006"))
	fmt.Fprintf(stdout, "Open http://%s in a browser and talk to the bot as a parent or a donor on Telegram,\n", ln.Addr())
	fmt.Fprintf(stdout, "or http://%s/zalo/ to do it on Zalo (follow the OA first). Ctrl+C stops.\n", ln.Addr())
	fmt.Fprintf(stdout, "Administrators (they invite staff with /invite): %v; http://%s/?user=%d acts as the first.\n\n", cfg.admins, ln.Addr(), demoAdmin)
	return a.run(ctx, "")
}
