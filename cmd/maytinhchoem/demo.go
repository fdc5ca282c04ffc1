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
//
// The demo stands on a day inside the campaign's registration window unless -date says otherwise
// (see demoDay): a demo of a past campaign would otherwise refuse every family that tries it. When
// that day is not today, the whole bot runs on a shifted clock; both chat pages say which day it is
// and whether registration is open on it (see demoNote).
func runDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "where the chat page and the emulated Bot API listen")
	dataDir := fs.String("data", ".data/demo-postgres", "folder of the demo's private PostgreSQL cluster (when DATABASE_URL is not set)")
	date := fs.String("date", "", "stand on this campaign day (YYYY-MM-DD, keeping the time of day, or YYYY-MM-DDTHH:MM; the campaign's time zone), "+
		"even one outside the registration window; default: now when registration is open today, "+
		"else the window's first day plus a third of its length (Thủ Đức 2021: 2021-09-10) at today's time of day")
	seedStudents := fs.Int("seed", 0, "fill an empty demo database with a realistic campaign of this many students, as it stands on the demo's day")
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
	realNow := time.Now()
	at, why := demoDay(camp, realNow), "today: registration is open"
	if *date != "" {
		clock := realNow.In(camp.Location).Format("15:04:05")
		if at, err = parseCampaignTime(camp, *date, clock); err != nil {
			return fmt.Errorf("-date: %w", err)
		}
		why = "-date"
	} else if !at.Equal(realNow) {
		why = "today is outside the registration window"
	}
	now := time.Now
	shifted := false
	if *date != "" || !at.Equal(realNow) {
		offset := at.Sub(realNow)
		now = func() time.Time { return time.Now().Add(offset) }
		shifted = true
	}
	note := demoNote(camp, at)
	logger.Info("demo day", "day", at.In(camp.Location).Format("2006-01-02 15:04"), "because", why,
		"registration_open", camp.RegistrationPhaseAt(at) == campaign.RegistrationIsOpen)
	if *seedStudents < 0 {
		return fmt.Errorf("-seed: want a number of students, got %d", *seedStudents)
	}

	// The emulators and their chat pages: Telegram's at /, Zalo's at /zalo/, both APIs on one
	// server (their paths do not overlap).
	emu := telegramtest.New(telegramtest.Options{Token: demoToken, Now: now, PageNote: note})
	defer emu.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("-addr %s: %w (is another demo running?)", *addr, err)
	}
	base := "http://" + ln.Addr().String()
	zemu := zalotest.New(zalotest.Options{
		AppID: demoZaloAppID, AppSecret: demoZaloSecret, OAID: demoZaloOAID, Now: now, BaseURL: base,
		WebhookURL: base + demoZaloWebhook, Logger: logger, PageNote: note,
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
	fmt.Fprintf(stdout, "\nmaytinhchoem demo (%s), it is %s\n%s\n", camp.Name.VI, now().In(camp.Location).Format("15:04 02/01/2006"), note)
	fmt.Fprintf(stdout, "Open http://%s in a browser and talk to the bot as a parent or a donor on Telegram,\n", ln.Addr())
	fmt.Fprintf(stdout, "or http://%s/zalo/ to do it on Zalo (follow the OA first). Ctrl+C stops.\n", ln.Addr())
	fmt.Fprintf(stdout, "Administrators (they invite staff with /invite): %v; http://%s/?user=%d acts as the first.\n\n", cfg.admins, ln.Addr(), demoAdmin)
	return a.run(ctx, "")
}

// demoDay is the moment the demo stands on when -date is not given. It is now itself when
// registration is open today, so that the demo runs on the real clock whenever it can. Otherwise
// it is a day inside the registration window, so that a family trying the demo can register: the
// window's first day plus a third of the days from its first to its last (rounded down; Thủ Đức
// 2021, 1–30 September, gives 10 September), far enough in for the campaign to have a past and
// early enough for a pledge or a delivery to still lie ahead. The time of day is now's in the
// campaign's time zone, to the second, as -date keeps it.
func demoDay(c *campaign.Campaign, now time.Time) time.Time {
	if c.RegistrationPhaseAt(now) == campaign.RegistrationIsOpen {
		return now
	}
	open, last := c.RegistrationOpen.In(c.Location), c.RegistrationClose.In(c.Location)
	day := open.AddDate(0, 0, daysBetween(open, last)/3)
	t := now.In(c.Location)
	return time.Date(day.Year(), day.Month(), day.Day(), t.Hour(), t.Minute(), t.Second(), 0, c.Location)
}

// daysBetween counts the calendar days from a's date to b's, each read in its own zone.
func daysBetween(a, b time.Time) int {
	date := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	return int(date(b).Sub(date(a)).Hours() / 24)
}

// demoNote is the line the chat pages show under their header: the demo's day and the
// registration window, and whether registration is open on that day; Vietnamese, then English.
func demoNote(c *campaign.Campaign, at time.Time) string {
	at = at.In(c.Location)
	open, last := c.RegistrationOpen.In(c.Location), c.RegistrationClose.In(c.Location)
	vi, en := "chiến dịch nhận đăng ký "+viDayRange(open, last), enDayRange(open, last)
	switch c.RegistrationPhaseAt(at) {
	case campaign.RegistrationNotYetOpen:
		vi, en = "chưa mở đăng ký; "+vi, "registration not open yet; open "+en
	case campaign.RegistrationClosed:
		vi, en = "đã hết hạn đăng ký; "+vi, "registration closed; it was open "+en
	default:
		en = "registration open " + en
	}
	return fmt.Sprintf("Bản demo: hôm nay là %s (%s) · Demo day: %s (%s)", at.Format("02/01/2006"), vi, at.Format("2 Jan 2006"), en)
}

// viDayRange writes the days from a to b as Vietnamese readers do: "01/09–30/09/2021".
func viDayRange(a, b time.Time) string {
	switch {
	case daysBetween(a, b) == 0:
		return b.Format("02/01/2006")
	case a.Year() == b.Year():
		return a.Format("02/01") + "–" + b.Format("02/01/2006")
	}
	return a.Format("02/01/2006") + "–" + b.Format("02/01/2006")
}

// enDayRange writes the days from a to b in English: "1–30 Sep 2021", "15 Aug – 15 Sep 2021".
func enDayRange(a, b time.Time) string {
	switch {
	case daysBetween(a, b) == 0:
		return b.Format("2 Jan 2006")
	case a.Year() == b.Year() && a.Month() == b.Month():
		return a.Format("2") + "–" + b.Format("2 Jan 2006")
	case a.Year() == b.Year():
		return a.Format("2 Jan") + " – " + b.Format("2 Jan 2006")
	}
	return a.Format("2 Jan 2006") + " – " + b.Format("2 Jan 2006")
}
