//go:build !serveonly

package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/lib/pq"
	goredis "github.com/redis/go-redis/v9"

	"github.com/thuduc/maytinhchoem/bot/telegram/telegramtest"
	"github.com/thuduc/maytinhchoem/bot/zalo/zalotest"
	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/cmd/maytinhchoem/internal/app"
	"github.com/thuduc/maytinhchoem/storage/postgres/seed"
)

// demoToken is the bot token of the load test and the tests; the demo makes one per run (see
// runDemo), with the same bot id.
const demoToken = "100000001:demo-token-not-secret"

// The demo's Zalo app and OA, served by the emulator; the app secret is made per run.
const (
	demoZaloAppID   = "3066178286528016436"
	demoZaloOAID    = "4318927402956107562"
	demoZaloWebhook = "/bot/zalo/webhook"
)

// demoAdmin is the chat page's person acting as administrator unless ADMIN_TELEGRAM_IDS says otherwise.
const demoAdmin = 1

// runDemo runs the whole bot on this machine: the Telegram emulator with its chat page, Redis
// in-process unless REDIS_URL is set, and a private PostgreSQL cluster unless DATABASE_URL is set.
//
// The chat pages let whoever opens them act as anyone, the administrator included, so the demo
// keeps them to the person who started it:
//   - A token made at random for each run (crypto/rand) goes in the links the demo prints
//     (http://127.0.0.1:8080/?token=…); the pages send it on every call and put it in their file
//     links, and the emulators answer 403 to their page API and files without it (Options.PageToken).
//     The bot token, the Zalo app secret and the in-process Redis's password are made per run too,
//     so that nobody else on the machine calls the emulated Bot API, forges the Zalo webhook's
//     events or reads the conversations in Redis; the private PostgreSQL cluster listens on a unix
//     socket in its own folder only (see startPGCluster).
//   - The pages and their API answer only to a Host of the demo's own address (demoPageHosts),
//     against DNS rebinding; their POSTs take only application/json.
//   - The demo runs only on a database of this machine (checkDemoDatabase): on another it would
//     send that database's outbox, meant for real families, to the emulator. -allow-remote-db
//     overrides this. -reset empties the demo's database first (resetDemoDatabase), only ever on
//     this machine, the flag itself being the confirmation.
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
	reset := fs.Bool("reset", false, "empty the demo's database first (its private cluster, or a DATABASE_URL on this machine, never one elsewhere): everything in it is deleted")
	allowRemoteDB := fs.Bool("allow-remote-db", false, "run on a DATABASE_URL that is not on this machine; the demo sends that database's outbox to its emulator, "+
		"so families in it would never get their messages")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := app.LoadConfig(getenv)
	if err != nil {
		return err
	}
	if err := checkDemoDatabase(cfg.DatabaseURL, *allowRemoteDB, *reset); err != nil {
		return err
	}
	logger := app.NewLogger(cfg, stderr)
	camp, err := app.LoadCampaign(cfg)
	if err != nil {
		return err
	}
	realNow := time.Now()
	at, why := demoDay(camp, realNow), "today: registration is open"
	if *date != "" {
		clock := realNow.In(camp.Location).Format("15:04:05")
		if at, err = app.ParseCampaignTime(camp, *date, clock); err != nil {
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

	// This run's secrets: the chat pages' token, the bot token (its id stays the demo's), the Zalo
	// app secret, which signs the webhook's events, and the in-process Redis's password.
	pageToken, botToken, zaloSecret, redisPassword := rand.Text(), "100000001:"+rand.Text(), rand.Text(), rand.Text()

	// The emulators and their chat pages: Telegram's at /, Zalo's at /zalo/, both APIs on one
	// server (their paths do not overlap).
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("-addr %s: %w (is another demo running?)", *addr, err)
	}
	base := "http://" + ln.Addr().String()
	hosts := demoPageHosts(ln.Addr().(*net.TCPAddr))
	emu := telegramtest.New(telegramtest.Options{Token: botToken, Now: now, PageNote: note, PageToken: pageToken, PageHosts: hosts})
	defer emu.Close()
	zemu := zalotest.New(zalotest.Options{
		AppID: demoZaloAppID, AppSecret: zaloSecret, OAID: demoZaloOAID, Now: now, BaseURL: base,
		WebhookURL: base + demoZaloWebhook, Logger: logger, PageNote: note, PageToken: pageToken, PageHosts: hosts,
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
	if len(cfg.Administrators()) == 0 {
		// Someone has to invite the staff: in the demo, person 1 of the chat page is the administrator.
		cfg.AddAdmin("telegram:" + strconv.Itoa(demoAdmin))
	}
	cfg.TelegramToken = botToken
	cfg.TelegramAPIURL = base
	cfg.TelegramMode = "polling"
	cfg.ZaloAppID, cfg.ZaloAppSecret, cfg.ZaloOAID = demoZaloAppID, zaloSecret, demoZaloOAID
	cfg.ZaloRefreshToken = zemu.IssueRefreshToken()
	cfg.ZaloAPIURL, cfg.ZaloOAuthURL, cfg.ZaloWebhookPath = base, base, demoZaloWebhook
	cfg.PublicURL = base

	// Redis.
	var rdb *goredis.Client
	if cfg.RedisURL != "" {
		if rdb, err = app.OpenRedis(ctx, cfg.RedisURL); err != nil {
			return err
		}
	} else {
		mr := miniredis.NewMiniRedis()
		mr.RequireAuth(redisPassword) // it listens on 127.0.0.1, where anyone on the machine may connect
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
		rdb = goredis.NewClient(&goredis.Options{Addr: mr.Addr(), Password: redisPassword})
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
	} else if _, local, _ := databaseHost(dbURL); !local {
		logger.Warn("the demo runs on a database that is not on this machine (-allow-remote-db): its outbox goes to the emulator")
	}
	if *reset {
		what, err := resetDemoDatabase(ctx, dbURL)
		if err != nil {
			return fmt.Errorf("-reset: %w", err)
		}
		fmt.Fprintf(stdout, "-reset: %s.\n", what)
	}
	db, err := app.OpenDatabase(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer db.Close()
	if *seedStudents > 0 {
		fmt.Fprintf(stdout, "Seeding %d students as the campaign stands on %s ...\n", *seedStudents, now().In(camp.Location).Format("02/01/2006 15:04"))
		res, err := seed.Fill(ctx, db, camp, seed.Options{Students: *seedStudents, Seed: 1, Now: now()})
		switch {
		case campaign.ErrorCode(err) == campaign.ECONFLICT:
			fmt.Fprint(stdout, seedConflictMessage(*seedStudents))
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
	a, err := app.New(ctx, app.Deps{Config: cfg, Campaign: camp, DB: db, Redis: rdb, Logger: logger, Now: now, SchedulerPoll: poll,
		Mount: func(pattern string, h http.Handler) { mux.Handle(pattern, h) }})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nmaytinhchoem demo (%s), it is %s\n%s\n", camp.Name.VI, now().In(camp.Location).Format("15:04 02/01/2006"), note)
	writeDemoLinks(stdout, base, pageToken, cfg.Administrators())
	return a.Run(ctx, "")
}

// writeDemoLinks prints the chat pages' links, each with this run's token: the pages refuse
// anyone without it.
func writeDemoLinks(w io.Writer, base, pageToken string, admins []string) {
	fmt.Fprintf(w, "Open %s/?token=%s in a browser and talk to the bot as a parent or a donor on Telegram,\n", base, pageToken)
	fmt.Fprintf(w, "or %s/zalo/?token=%s to do it on Zalo (follow the OA first). Ctrl+C stops.\n", base, pageToken)
	fmt.Fprintf(w, "Administrators (they invite staff with /invite): %v; %s/?user=%d&token=%s acts as the first.\n", admins, base, demoAdmin, pageToken)
	fmt.Fprintf(w, "The token is new at every run: the pages answer nobody without it, so keep these links to yourself.\n\n")
}

// seedConflictMessage says that -seed found a database in use, and how to start it again.
func seedConflictMessage(students int) string {
	return fmt.Sprintf("The demo database has records already; -seed left it as it is.\n"+
		"To seed it anew, add -reset, which first deletes everything in the demo's database: bash scripts/demo -reset -seed %d\n", students)
}

// demoPageHosts are the Host header values the chat pages answer to (telegramtest and zalotest
// Options.PageHosts): the listener's address, and for a loopback listener localhost, 127.0.0.1 and
// ::1 with its port. A listener on every interface (-addr :8080) adds each interface's address and
// the machine's name, so that the pages open from another machine too. A web page of any other
// name gets nothing, even when its name resolves to this machine (DNS rebinding).
func demoPageHosts(addr *net.TCPAddr) []string {
	port := strconv.Itoa(addr.Port)
	hosts := []string{addr.String()}
	add := func(host string) {
		names := []string{net.JoinHostPort(host, port)}
		if port == "80" { // a browser leaves the default port out of Host
			names = append(names, strings.TrimSuffix(net.JoinHostPort(host, port), ":80"))
		}
		for _, h := range names {
			if !slices.Contains(hosts, h) {
				hosts = append(hosts, h)
			}
		}
	}
	add(addr.IP.String())
	if addr.IP.IsLoopback() || addr.IP.IsUnspecified() {
		add("127.0.0.1")
		add("localhost")
		add("::1")
	}
	if addr.IP.IsUnspecified() {
		if ifaddrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range ifaddrs {
				if ipnet, ok := a.(*net.IPNet); ok {
					add(ipnet.IP.String())
				}
			}
		}
		if name, err := os.Hostname(); err == nil && name != "" {
			add(name)
		}
	}
	return hosts
}

// checkDemoDatabase refuses a DATABASE_URL (empty: the private cluster) that is not on this
// machine, unless allowRemote: the demo drains the database's outbox into its emulator, so on a
// real campaign's database the families would never get their messages, and its test families
// would mix with real ones. -reset is refused on such a database whatever allowRemote says.
func checkDemoDatabase(databaseURL string, allowRemote, reset bool) error {
	if databaseURL == "" {
		return nil
	}
	where, local, err := databaseHost(databaseURL)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	switch {
	case local:
		return nil
	case reset:
		return fmt.Errorf("-reset deletes everything in the demo's database and runs only on a database of this machine; "+
			"DATABASE_URL points at %s (-allow-remote-db does not change this)", where)
	case !allowRemote:
		return fmt.Errorf("DATABASE_URL points at %s, not at this machine: the demo would send that database's outbox "+
			"(the bot's messages to families and staff) to its emulator instead of Telegram and Zalo, so real families would "+
			"never get them, and its test families would mix with real ones. Unset DATABASE_URL for the demo's own database, "+
			"use one on this machine (localhost, 127.0.0.1, ::1 or a unix socket), or add -allow-remote-db if you mean it", where)
	}
	return nil
}

// databaseHost says where a PostgreSQL connection string (a URL or key=value pairs, with the PG*
// environment variables filling what it leaves out, as the driver reads them) connects, and
// whether every host it may try is on this machine: a unix socket, localhost, or a loopback
// address. Another name of this machine, or its address on a network, counts as elsewhere.
func databaseHost(databaseURL string) (where string, local bool, err error) {
	cfg, err := pq.NewConfig(databaseURL)
	if err != nil {
		return "", false, err
	}
	type target struct {
		host string
		addr netip.Addr
	}
	targets := []target{{cfg.Host, cfg.Hostaddr}}
	for _, m := range cfg.Multi {
		targets = append(targets, target{m.Host, m.Hostaddr})
	}
	var names []string
	local = true
	for _, t := range targets {
		name, ok := t.host, false
		switch {
		case t.addr.IsValid(): // hostaddr is where it connects; host is only a name then
			name, ok = t.addr.String(), t.addr.IsLoopback()
		case t.host == "" || strings.HasPrefix(t.host, "/") || strings.HasPrefix(t.host, "@"): // default, unix socket
			ok = true
			if name == "" {
				name = "localhost"
			}
		case strings.EqualFold(strings.TrimSuffix(t.host, "."), "localhost"):
			ok = true
		default:
			ip, err := netip.ParseAddr(strings.Trim(t.host, "[]"))
			ok = err == nil && ip.IsLoopback()
		}
		names = append(names, name)
		local = local && ok
	}
	return strings.Join(names, ", "), local, nil
}

// resetDemoDatabase empties the demo's database: it drops the schema the bot's tables are in (the
// connection's current schema, public unless the URL sets a search_path) with everything in it
// and makes it again, empty; openDatabase then migrates it afresh. It runs only on a database of
// this machine (databaseHost), and only where the bot's migrations ran (goose_db_version is in
// that schema), so that another program's database is never emptied; a database without them is
// left as it is. It says what it did.
func resetDemoDatabase(ctx context.Context, databaseURL string) (string, error) {
	where, local, err := databaseHost(databaseURL)
	if err != nil {
		return "", err
	}
	if !local {
		return "", fmt.Errorf("%s is not on this machine: the demo never resets it", where)
	}
	connector, err := pq.NewConnector(databaseURL)
	if err != nil {
		return "", err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	// A bot still connected to it (another demo) holds locks: fail instead of waiting for it.
	if _, err := conn.ExecContext(ctx, "SET lock_timeout = '10s'"); err != nil {
		return "", err
	}
	var schema, database string
	var ours bool
	err = conn.QueryRowContext(ctx, `SELECT coalesce(current_schema(), ''), current_database(),
		current_schema() IS NOT NULL AND to_regclass(format('%I.goose_db_version', current_schema())) IS NOT NULL`).Scan(&schema, &database, &ours)
	if err != nil {
		return "", err
	}
	if !ours {
		return fmt.Sprintf("database %s at %s has none of the bot's tables, nothing to empty", database, where), nil
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer func() { _ = tx.Rollback() }()
	q := pq.QuoteIdentifier(schema)
	if _, err := tx.ExecContext(ctx, "DROP SCHEMA "+q+" CASCADE; CREATE SCHEMA "+q); err != nil {
		return "", fmt.Errorf("empty schema %s of database %s (is another demo running on it?): %w", schema, database, err)
	}
	if err := tx.Commit(); err != nil {
		return "", err
	}
	return fmt.Sprintf("emptied schema %s of database %s at %s", schema, database, where), nil
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
