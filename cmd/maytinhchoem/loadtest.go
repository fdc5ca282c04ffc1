//go:build !serveonly

package main

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"
	goredis "github.com/redis/go-redis/v9"

	"github.com/thuduc/maytinhchoem/bot/telegram/telegramtest"
	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/cmd/maytinhchoem/internal/app"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// loadStep is one thing a simulated parent does, and how many bot messages (sent or edited) answer it.
type loadStep struct {
	text    string // typed text, or
	press   string // callback data of a button on the latest bot message that has it, or
	contact bool   // share one's own contact
	child   bool   // type this parent's child's name and birth date (childAnswer)
	replies int
}

// givenNames make the simulated children distinct (with the birth dates), as real ones are.
var givenNames = []string{"An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hoa", "Hùng", "Khang",
	"Lan", "Linh", "Long", "Mai", "Minh", "Nam", "Ngọc", "Phúc", "Quân", "Thảo", "Trang", "Tú", "Việt", "Yến"}

// parentScript is a whole registration of a typical family (two circumstances, two needs): 12
// updates, as a parent on a phone would send them, each answered by one message. Answers that
// go together come in one message (the child's name and birth date, the address and its ward)
// and the lists are typed.
var parentScript = []loadStep{
	{text: "/start dangky", replies: 1},
	{press: "r:consent:yes", replies: 1},
	{text: "Nguyễn Thị Lan", replies: 1},
	{contact: true, replies: 1}, // the number is said with the next question
	{child: true, replies: 1},   // each parent's own child, so no two are possible duplicates
	{press: "r:grade:3", replies: 1},
	{text: "Trường Tiểu học Linh Trung", replies: 1},
	{text: "12 đường số 5, khu phố 3, Linh Trung", replies: 1},
	{text: "hộ nghèo, khó khăn do covid", replies: 1},
	{press: "r:device_situation:none", replies: 1},
	{text: "máy tính bảng, sim 4g", replies: 1},
	{press: "r:review:submit", replies: 1},
}

// childAnswer is what simulated parent n types about the child: a name and a birth date in one
// message, which with the ward tell the children of a run apart (tens of thousands of them). The
// children are born 2011-2015, grade 3 in 2021-22 give or take two years, so the grade is not
// questioned.
func childAnswer(n int) string {
	k := n / len(givenNames)
	return fmt.Sprintf("Trần Văn %s, %d/%d/%d", givenNames[n%len(givenNames)], 1+k%28, 1+(k/28)%12, 2011+(k/336)%5)
}

// roundTrips counts Redis round trips: one per command or pipeline sent.
type roundTrips struct{ n atomic.Int64 }

func (h *roundTrips) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (h *roundTrips) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}
func (h *roundTrips) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// redisReads is the server's total_reads_processed (INFO stats), -1 when it does not say.
func redisReads(ctx context.Context, rdb *goredis.Client) int64 {
	info, err := rdb.Info(ctx, "stats").Result()
	if err != nil {
		return -1
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_reads_processed:"); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				return n
			}
		}
	}
	return -1
}

// loadResult is what a load test measured.
type loadResult struct {
	loadCheck
	Elapsed          time.Duration
	UpdatesPerSecond float64
	P50, P99, Max    time.Duration
	RedisPerUpdate   float64 // with the bot in this process only
	// RedisReadsPerUpdate is Redis's own count of the requests it read (INFO stats
	// total_reads_processed), from every client of the server, per update: with replicas, whose
	// commands this process cannot count, it stands for their round trips. 0 when unknown.
	RedisReadsPerUpdate float64
	ExactlyOnce         bool
	EmulatorRejections  int
	TooManyRequests     int
	BroadcastSent       int
	// Webhook is the emulator's count of webhook deliveries, with the replicas in webhook mode.
	Webhook *telegramtest.Metrics
}

// runLoadtest simulates parents completing registrations at once through the emulator against
// real Redis and PostgreSQL, and prints throughput, latency, what a registration costs and whether
// anything was lost or doubled; it fails when something was.
func runLoadtest(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	parents := fs.Int("parents", 350, "simulated parents registering at once")
	workers := fs.Int("workers", 64, "chats handled at once by the dispatcher (the bot in this process; replicas keep serve's default)")
	dbURL := fs.String("db", firstNonEmpty(getenv("TEST_DATABASE_URL"), getenv("DATABASE_URL"), "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL server; a scratch database is made on it and dropped afterwards")
	redisURL := fs.String("redis", firstNonEmpty(getenv("TEST_REDIS_URL"), getenv("REDIS_URL"), "redis://127.0.0.1:6379/0"),
		"Redis server; keys go under a scratch prefix, deleted afterwards")
	think := fs.Duration("think", 200*time.Millisecond, "each parent pauses a random time up to this before every answer, as people do (0: answer at once, every parent in lockstep, which measures capacity)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file (of this process: with -replicas, the emulator and the parents)")
	channel := fs.String("channel", "telegram", "telegram, or zalo: the parents register on the Zalo OA emulator, which keeps Zalo's budget of calls a minute")
	zaloPerMinute := fs.Int("zalo-budget", 4000, "zalo: the emulator's calls a minute per app before -32 (Zalo's is about 4,000)")
	zaloSendRate := fs.Float64("zalo-send-rate", 0, "zalo: the bot's sends per second on Zalo (ZALO_SEND_RATE; 0 keeps its default)")
	limits := fs.Bool("limits", false, "telegram: Telegram's flood limits on, in the emulator and in the bot (30/s, 1/s per chat), as in production")
	budget := fs.Bool("budget", false, "telegram, without -limits: the bot keeps its sending budget in Redis as in production, with limits far above the load, so that what the budget costs is counted (the emulator has no flood limits)")
	broadcast := fs.Int("broadcast", 0, "telegram: queue a broadcast to this many families (chats of the emulator) as the parents start, to see what it costs them; the run waits until it is sent and checks each family got it once")
	tokenDays := fs.Int("token-days", 10, "zalo: afterwards, run three replicas this many days on the emulator's clock and count the token refreshes (0: skip)")
	replicas := fs.Int("replicas", 0, "run the bot as this many serve processes of this binary, configured by their environment as in production (0: one bot in this process)")
	mode := fs.String("mode", "webhook", "with -replicas, telegram: webhook (the emulator posts to a round-robin proxy in front of the replicas) or polling (one replica polls, elected by the poller lease); Zalo is always webhook")
	kill := fs.Bool("kill", false, "with -replicas: kill -9 one replica (in polling mode, the poller) when the parents are done with half their updates, and start it again 2 s later")
	replicaCPUs := fs.Int("replica-cpus", 1, "with -replicas: the CPUs each serve process may use (its GOMAXPROCS), as the compose file's cpus limit gives each replica; 0: Go's default, every CPU of the machine")
	pgRestart := fs.Bool("pg-restart", false, "restart the local PostgreSQL (pg_ctlcluster) in the middle of the run (with -kill: the kill at a third, the restart at two thirds); skipped when this machine cannot")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	modeSet := false
	fs.Visit(func(f *flag.Flag) { modeSet = modeSet || f.Name == "mode" })
	switch {
	case *parents < 1:
		return fmt.Errorf("-parents must be at least 1")
	case *replicas < 0:
		return fmt.Errorf("-replicas must not be negative")
	case *mode != "webhook" && *mode != "polling":
		return fmt.Errorf("-mode: webhook or polling, got %q", *mode)
	case modeSet && *replicas == 0:
		return fmt.Errorf("-mode needs -replicas: the bot in this process polls")
	case modeSet && *mode == "polling" && *channel == "zalo":
		return fmt.Errorf("-mode polling: Zalo has webhooks only")
	case *budget && *channel == "zalo":
		return fmt.Errorf("-budget is Telegram's: the Zalo run keeps its budget always (-zalo-send-rate)")
	case *kill && *replicas == 0:
		return fmt.Errorf("-kill needs -replicas: it kills a serve process")
	}
	o := loadOptions{Parents: *parents, Workers: *workers, Think: *think, ServerURL: *dbURL, RedisURL: *redisURL, Log: stderr,
		Replicas: *replicas, ReplicaCPUs: *replicaCPUs, Mode: *mode, Kill: *kill}
	if *pgRestart {
		cmd, err := pgRestartCommand()
		if err != nil {
			fmt.Fprintf(stdout, "pg-restart:         skipped: %v\n", err)
		}
		o.PGRestart = cmd
	}
	switch *channel {
	case "telegram":
	case "zalo":
		o.ZaloPerMinute, o.ZaloSendRate, o.TokenDays = *zaloPerMinute, *zaloSendRate, *tokenDays
		return printZaloLoad(ctx, stdout, o)
	default:
		return fmt.Errorf("-channel: telegram or zalo, got %q", *channel)
	}
	o.Limits, o.Budget, o.Broadcast = *limits, *budget, *broadcast
	res, err := loadtest(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "parents:            %d (%d updates each, %d in all), think time up to %s\n", res.Parents, len(parentScript), res.UpdatesSent, *think)
	fmt.Fprintf(stdout, "elapsed:            %s\n", res.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(stdout, "updates per second: %.0f\n", res.UpdatesPerSecond)
	fmt.Fprintf(stdout, "update -> reply:    p50 %s, p99 %s, max %s\n", res.P50.Round(10*time.Microsecond), res.P99.Round(10*time.Microsecond), res.Max.Round(10*time.Microsecond))
	if o.Replicas == 0 {
		fmt.Fprintf(stdout, "redis round trips:  %.2f per update\n", res.RedisPerUpdate)
	} else if res.RedisReadsPerUpdate > 0 {
		fmt.Fprintf(stdout, "redis round trips:  %.2f per update (Redis's count of requests read, from every client of the server)\n", res.RedisReadsPerUpdate)
	}
	if m := res.Webhook; m != nil {
		fmt.Fprintf(stdout, "webhook:            %d updates delivered, %d failed attempts (retried), %d updates dropped after every attempt failed\n",
			m.WebhookDeliveries, m.WebhookFailures, m.WebhookDropped)
	}
	limit := 0.0
	if *limits {
		limit = 30
		fmt.Fprintf(stdout, "flood limits:       on (30/s, 1/s per chat); 429 answers: %d\n", res.TooManyRequests)
	}
	if *budget && !*limits {
		fmt.Fprintf(stdout, "bot budget:         in Redis, at 100,000/s and 10,000/s per chat (never reached)\n")
	}
	if *broadcast > 0 {
		fmt.Fprintf(stdout, "broadcast:          %d families queued, %d sent while the parents registered\n", *broadcast, res.BroadcastSent)
	}
	fmt.Fprintf(stdout, "registrations:      %d stored, %d distinct codes, exactly once: %v\n", res.Registrations, res.DistinctCodes, res.ExactlyOnce)
	res.print(stdout, limit)
	return res.err()
}

type loadOptions struct {
	Parents, Workers    int
	Think               time.Duration
	ServerURL, RedisURL string
	Log                 io.Writer
	// Zalo's: the emulator's budget of calls a minute, the bot's sends a second (0: its
	// default), and the days the token replicas run (0: not at all).
	ZaloPerMinute int
	ZaloSendRate  float64
	TokenDays     int
	// Telegram's: flood limits on (in the emulator and the bot), the bot's budget on at limits it
	// never reaches (without Limits), and a broadcast to this many families queued at the start.
	Limits    bool
	Budget    bool
	Broadcast int
	// Replicas is how many serve processes run the bot (0: one app in this process), in Mode
	// (Telegram's webhook or polling), started from Executable (this binary when empty), each
	// with ReplicaCPUs as its GOMAXPROCS (0: Go's default).
	Replicas    int
	ReplicaCPUs int
	Mode        string
	Executable  string
	// Kill kills a replica in the middle of the run; PGRestart, when set, is the command that
	// restarts PostgreSQL then.
	Kill      bool
	PGRestart []string
}

// sendRates are the bot's SEND_RATE_GLOBAL and SEND_RATE_PER_CHAT: Telegram's with Limits; with
// Budget, rates a hundred times above anything the load test sends, so the budget in Redis is
// made and asked for every message without holding one back; none otherwise (no budget is made).
func (o loadOptions) sendRates() (global, perChat float64) {
	switch {
	case o.Limits:
		return 30, 1
	case o.Budget:
		return 100_000, 10_000
	}
	return 0, 0
}

// printZaloLoad runs loadtestZalo and prints what it measured.
func printZaloLoad(ctx context.Context, stdout io.Writer, o loadOptions) error {
	res, err := loadtestZalo(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "channel:            zalo (the emulator allows %d calls a minute)\n", o.ZaloPerMinute)
	fmt.Fprintf(stdout, "parents:            %d (a follow and %d updates each, %d in all), think time up to %s\n", res.Parents, len(zaloParentScript), res.UpdatesSent, o.Think)
	fmt.Fprintf(stdout, "elapsed:            %s\n", res.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(stdout, "registrations:      %.0f per minute\n", res.PerMinute)
	fmt.Fprintf(stdout, "update -> answer:   p50 %s, p99 %s, max %s\n", res.P50.Round(time.Millisecond), res.P99.Round(time.Millisecond), res.Max.Round(time.Millisecond))
	fmt.Fprintf(stdout, "OA API calls:       %d (%.1f per registration), %d refused with -32\n", res.APICalls, float64(res.APICalls)/float64(max(res.Parents, 1)), res.Throttled)
	fmt.Fprintf(stdout, "registrations:      %d stored, exactly once: %v\n", res.Registrations, res.ExactlyOnce)
	if res.TokenDays > 0 {
		fmt.Fprintf(stdout, "token refreshes:    %d in %d days across %d replicas (%.2f a day)\n", res.TokenRefreshes, res.TokenDays, res.TokenRefreshReplicas, float64(res.TokenRefreshes)/float64(res.TokenDays))
	}
	res.print(stdout, 0)
	return res.err()
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// scratchEnv is a load test's own database and Redis prefix, removed by cleanup.
type scratchEnv struct {
	db      *postgres.DB
	dbURL   string
	rdb     *goredis.Client
	prefix  string
	trips   *roundTrips
	cleanup func()
}

// newScratch makes a scratch database on o.ServerURL and a scratch key prefix on o.RedisURL, with
// every Redis command counted.
func newScratch(ctx context.Context, o loadOptions) (*scratchEnv, error) {
	suffix := make([]byte, 6)
	_, _ = crand.Read(suffix)
	scratch := "mtce_loadtest_" + hex.EncodeToString(suffix)
	var undo []func()
	env := &scratchEnv{cleanup: func() {
		for _, f := range slices.Backward(undo) {
			f()
		}
	}}
	fail := func(err error) (*scratchEnv, error) {
		env.cleanup()
		return nil, err
	}
	admin, err := sql.Open("postgres", o.ServerURL)
	if err != nil {
		return fail(fmt.Errorf("-db: %w", err))
	}
	undo = append(undo, func() { admin.Close() })
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(scratch)); err != nil {
		return fail(fmt.Errorf("create scratch database (is PostgreSQL running? bash scripts/test starts it): %w", err))
	}
	undo = append(undo, func() {
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(scratch)+" WITH (FORCE)")
	})
	u, err := url.Parse(o.ServerURL)
	if err != nil {
		return fail(err)
	}
	u.Path = "/" + scratch
	env.dbURL = u.String()
	if env.db, err = app.OpenDatabase(ctx, env.dbURL); err != nil {
		return fail(err)
	}
	undo = append(undo, func() { env.db.Close() })
	if env.rdb, err = app.OpenRedis(ctx, o.RedisURL); err != nil {
		return fail(err)
	}
	env.prefix = scratch + ":"
	undo = append(undo, func() {
		var keys []string
		iter := env.rdb.Scan(context.Background(), 0, env.prefix+"*", 1000).Iterator()
		for iter.Next(context.Background()) {
			keys = append(keys, iter.Val())
			if len(keys) == 1000 {
				env.rdb.Unlink(context.Background(), keys...)
				keys = keys[:0]
			}
		}
		if len(keys) > 0 {
			env.rdb.Unlink(context.Background(), keys...)
		}
		env.rdb.Close()
	})
	env.trips = &roundTrips{}
	env.rdb.AddHook(env.trips)
	return env, nil
}

// loadtest runs the Telegram load test: the emulator, the bot (in this process, or o.Replicas
// serve processes), o.Parents parents registering at once, an optional broadcast, and the
// disruptions asked for in the middle; then it counts what came.
func loadtest(ctx context.Context, o loadOptions) (loadResult, error) {
	var res loadResult
	env, err := newScratch(ctx, o)
	if err != nil {
		return res, err
	}
	defer env.cleanup()

	// The emulator, without flood limits unless asked: this measures the bot, not Telegram's pacing.
	events := newChatEvents()
	var (
		latMu     sync.Mutex
		latencies []time.Duration
	)
	emu := telegramtest.New(telegramtest.Options{
		Token:  demoToken,
		Limits: telegramtest.Limits{Disabled: !o.Limits},
		// Telegram redelivers a webhook update for far longer than the emulator's default ten
		// attempts (about 6 s): past strandedAfter here, so that an update is lost only by the bot.
		WebhookAttempts: 100,
		OnBotMessage: func(ev telegramtest.BotMessageEvent) {
			if ev.SinceUpdate > 0 {
				latMu.Lock()
				latencies = append(latencies, ev.SinceUpdate)
				latMu.Unlock()
			}
			events.deliver(ev)
		},
	})
	defer emu.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	emuURL := "http://" + ln.Addr().String()

	var (
		a        *app.App // the bot in this process, or
		replicas *replicaSet
		proxy    *roundRobin
		appDone  <-chan error
		stopApp  = func() {}
	)
	if o.Replicas == 0 {
		cfg, err := app.LoadConfig(func(string) string { return "" })
		if err != nil {
			return res, err
		}
		cfg.TelegramToken = demoToken
		cfg.TelegramAPIURL = emuURL
		cfg.RedisPrefix = env.prefix
		cfg.RateGlobal, cfg.RatePerChat = o.sendRates()
		if a, appDone, stopApp, err = startInProcess(ctx, cfg, o, env, ""); err != nil {
			return res, err
		}
		defer stopApp()
		// Wait until the bot polls, so its start-up is not counted.
		for emu.Metrics().Calls["getUpdates"] == 0 && emu.Metrics().Calls["deleteWebhook"] == 0 {
			select {
			case <-ctx.Done():
				return res, ctx.Err()
			case err := <-appDone:
				return res, fmt.Errorf("bot stopped: %w", err)
			case <-time.After(10 * time.Millisecond):
			}
		}
	} else {
		if replicas, proxy, err = startTelegramReplicas(ctx, o, env, emuURL, emu); err != nil {
			return res, err
		}
		defer replicas.stop()
		if proxy != nil {
			defer proxy.Close()
		}
	}
	time.Sleep(100 * time.Millisecond)
	tripsBefore := env.trips.n.Load()
	readsBefore := redisReads(ctx, env.rdb)

	var families []int64
	if o.Broadcast > 0 {
		// Families to announce to: chats of the emulator, queued as /broadcast queues them.
		msgs := make([]campaign.OutboxMessage, o.Broadcast)
		for i := range msgs {
			chat := emu.AddChat(telegramtest.User{ID: int64(8_000_000 + i), FirstName: "Gia đình", LanguageCode: "vi"})
			families = append(families, chat)
			msgs[i] = campaign.OutboxMessage{Key: fmt.Sprintf("loadtest-broadcast:%d", i), Batch: "loadtest-broadcast",
				Channel: "telegram", ChatID: fmt.Sprint(chat), Text: "📢 Thông báo: lịch trao máy tại phường vào thứ Bảy."}
		}
		if _, err := postgres.NewOutbox(env.db).Enqueue(ctx, msgs); err != nil {
			return res, err
		}
		if a != nil {
			a.NotifyOutbox() // replicas look for due messages every few seconds
		}
	}
	dis := newDisruptor(o.Parents*len(parentScript), disruptions(o, replicas)...)

	callsBefore := apiCalls(emu)
	cpuBefore, botBefore := processCPU(), replicas.cpuSoFar()
	start := time.Now()
	runs := make([]parentRun, o.Parents)
	chats := make([]int64, o.Parents)
	var wg sync.WaitGroup
	for i := range o.Parents {
		user := telegramtest.User{ID: int64(5_000_000 + i), FirstName: "Phụ huynh", LanguageCode: "vi"}
		chats[i] = emu.AddChat(user)
		ch := events.register(chats[i])
		wg.Go(func() {
			runs[i] = simulateParent(ctx, emu, chats[i], user, ch, o.Think, func() { dis.advance(ctx, 1) })
			dis.advance(ctx, len(parentScript)-len(runs[i].sent)) // what a stranded parent never sends
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	parentsDone := time.Now()
	ownCPU := processCPU() - cpuBefore
	res.BotCPUWhileRegistering = replicas.cpuSoFar() - botBefore
	res.APICalls = apiCalls(emu) - callsBefore - len(events.between(families, start, parentsDone))
	res.Parents, res.Exchanges = o.Parents, len(parentScript)
	latMu.Lock()
	res.P50, res.P99, res.Max = percentiles(latencies)
	latMu.Unlock()
	trips := env.trips.n.Load() - tripsBefore

	var disrupted time.Time
	res.Disruptions, res.Troubles, disrupted = dis.wait()
	if len(families) > 0 {
		waitForBroadcast(ctx, events, families)
	}
	settle(ctx, disrupted)
	expect := make([]int, len(parentScript))
	for i, step := range parentScript {
		expect[i] = step.replies
	}
	for i, run := range runs {
		replies := events.times(chats[i])
		res.Replies.add(tallyReplies(expect, run.sent, replies))
		res.UpdatesSent += len(run.sent)
		res.BotMessages += len(replies)
		if run.stranded != "" {
			res.Stranded = append(res.Stranded, fmt.Sprintf("parent %d, %s", 5_000_000+i, run.stranded))
		}
	}
	res.UpdatesPerSecond = float64(res.UpdatesSent) / res.Elapsed.Seconds()
	res.RedisPerUpdate = float64(trips) / float64(max(res.UpdatesSent, 1))
	if readsBefore >= 0 {
		if reads := redisReads(ctx, env.rdb); reads >= readsBefore {
			res.RedisReadsPerUpdate = float64(reads-readsBefore) / float64(max(res.UpdatesSent, 1))
		}
	}
	if len(families) > 0 {
		res.Broadcast = tallyBroadcast(events, families, parentsDone)
		res.BroadcastSent = len(events.between(families, time.Time{}, parentsDone))
	}

	res.stopBot(o, replicas, proxy, ownCPU, stopApp, appDone)
	res.TooManyRequests = emu.Metrics().TooManyRequests
	if proxy != nil {
		m := emu.Metrics()
		res.Webhook = &m
	}
	res.EmulatorRejections = len(emu.RejectedCalls())
	chatIDs := make([]string, len(chats))
	for i, c := range chats {
		chatIDs[i] = fmt.Sprint(c)
	}
	if err := res.countRegistrations(ctx, env, "telegram", chatIDs); err != nil {
		return res, err
	}
	res.ExactlyOnce = res.Registrations == o.Parents && res.DistinctCodes == o.Parents
	return res, nil
}

// startInProcess runs the bot in this process on cfg, serving HTTP on httpAddr when it is set. It
// returns the app, the channel its run's end comes on, and a function that stops it.
func startInProcess(ctx context.Context, cfg app.Config, o loadOptions, env *scratchEnv, httpAddr string) (*app.App, <-chan error, func(), error) {
	cfg.LogLevel = "warn"
	camp, err := loadtestCampaign(time.Now())
	if err != nil {
		return nil, nil, nil, err
	}
	appCtx, stop := context.WithCancel(ctx)
	a, err := app.New(appCtx, app.Deps{Config: cfg, Campaign: camp, DB: env.db, Redis: env.rdb, Logger: app.NewLogger(cfg, o.Log), Workers: o.Workers})
	if err != nil {
		stop()
		return nil, nil, nil, err
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(appCtx, httpAddr) }()
	return a, done, stop, nil
}

// startTelegramReplicas starts o.Replicas serve processes on the emulator at emuURL: in webhook
// mode behind a round-robin proxy the emulator posts to, in polling mode electing their poller.
// It returns once every replica is ready and the bot receives updates.
func startTelegramReplicas(ctx context.Context, o loadOptions, env *scratchEnv, emuURL string, emu *telegramtest.Server) (*replicaSet, *roundRobin, error) {
	rs, err := newReplicaSet(o.Executable, o.Replicas, o.ReplicaCPUs, o.Log)
	if err != nil {
		return nil, nil, err
	}
	settings := map[string]string{
		"TELEGRAM_TOKEN": demoToken, "TELEGRAM_API_URL": emuURL, "TELEGRAM_MODE": o.Mode,
		"DATABASE_URL": env.dbURL, "REDIS_URL": o.RedisURL, "REDIS_KEY_PREFIX": env.prefix,
		"METRICS_ADDR": "off", "LOG_LEVEL": "info", // info: the poller says when it takes the lease
	}
	global, perChat := o.sendRates()
	settings["SEND_RATE_GLOBAL"] = strconv.FormatFloat(global, 'f', -1, 64)
	settings["SEND_RATE_PER_CHAT"] = strconv.FormatFloat(perChat, 'f', -1, 64)
	var proxy *roundRobin
	if o.Mode == "webhook" {
		if proxy, err = startRoundRobin(rs.addrs()); err != nil {
			return nil, nil, err
		}
		secret := make([]byte, 16)
		_, _ = crand.Read(secret)
		settings["WEBHOOK_URL"] = proxy.URL() + "/telegram/webhook"
		settings["WEBHOOK_SECRET"] = hex.EncodeToString(secret)
	}
	fail := func(err error) (*replicaSet, *roundRobin, error) {
		rs.stop()
		if proxy != nil {
			proxy.Close()
		}
		return nil, nil, err
	}
	if err := rs.start(ctx, settings); err != nil {
		return fail(err)
	}
	// Every replica sets the webhook as it starts; in polling mode the poller deletes it before
	// its first getUpdates (which the emulator counts only once the long poll is answered).
	deadline := time.Now().Add(30 * time.Second)
	for o.Mode == "webhook" && emu.Calls("setWebhook") < o.Replicas || o.Mode == "polling" && emu.Calls("deleteWebhook") == 0 {
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("the replicas did not set the webhook or poll within 30s"))
		}
		select {
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return rs, proxy, nil
}

// apiCalls counts the Bot API calls the emulator has answered, failed ones included.
func apiCalls(emu *telegramtest.Server) int {
	n := 0
	for _, c := range emu.Metrics().Calls {
		n += c
	}
	return n
}

// percentiles returns the median, the 99th percentile and the maximum of d, which it sorts.
func percentiles(d []time.Duration) (p50, p99, most time.Duration) {
	slices.Sort(d)
	n := len(d)
	if n == 0 {
		return 0, 0, 0
	}
	return d[n*50/100], d[min(n-1, n*99/100)], d[n-1]
}

// waitForBroadcast waits until every family has had a message, or none has come for a minute
// (longer than an outbox message stays with a sender that died before settling it).
func waitForBroadcast(ctx context.Context, events *chatEvents, families []int64) {
	reached, since := -1, time.Now()
	for time.Since(since) < time.Minute {
		n := 0
		for _, f := range families {
			if len(events.times(f)) > 0 {
				n++
			}
		}
		if n == len(families) {
			return
		}
		if n != reached {
			reached, since = n, time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// tallyBroadcast counts how the broadcast reached the families: missing and doubled by chat, and
// its pace against everything the bot sent meanwhile.
func tallyBroadcast(events *chatEvents, families []int64, parentsDone time.Time) *broadcastTally {
	t := &broadcastTally{Families: len(families)}
	var first, last time.Time
	afterParents := 0
	for _, f := range families {
		times := events.times(f)
		switch {
		case len(times) == 0:
			t.Missing++
		case len(times) > 1:
			t.Doubled++
		}
		for _, at := range times {
			t.Sent++
			if at.After(parentsDone) {
				afterParents++
			}
			if first.IsZero() || at.Before(first) {
				first = at
			}
			if at.After(last) {
				last = at
			}
		}
	}
	t.Took = last.Sub(first)
	if t.Took <= 0 {
		return t
	}
	t.PerSecond = float64(t.Sent-1) / t.Took.Seconds()
	if d := last.Sub(parentsDone); d > 0 {
		t.AfterParents = float64(afterParents) / d.Seconds()
	}
	all := 0
	for _, at := range events.everyMessage() {
		if !at.Before(first) && !at.After(last) {
			all++
		}
	}
	t.AllPerSecond = float64(all-1) / t.Took.Seconds()
	return t
}

// chatEvents routes the emulator's bot-message events to each simulated parent, and keeps when
// every bot message came, by chat, to count replies and broadcasts afterwards.
type chatEvents struct {
	mu    sync.Mutex
	chans map[int64]chan telegramtest.BotMessageEvent
	at    map[int64][]time.Time
	all   []time.Time
}

func newChatEvents() *chatEvents {
	return &chatEvents{chans: map[int64]chan telegramtest.BotMessageEvent{}, at: map[int64][]time.Time{}}
}

func (e *chatEvents) register(chat int64) chan telegramtest.BotMessageEvent {
	ch := make(chan telegramtest.BotMessageEvent, 64)
	e.mu.Lock()
	e.chans[chat] = ch
	e.mu.Unlock()
	return ch
}

func (e *chatEvents) deliver(ev telegramtest.BotMessageEvent) {
	e.mu.Lock()
	e.at[ev.ChatID] = append(e.at[ev.ChatID], ev.At)
	e.all = append(e.all, ev.At)
	ch := e.chans[ev.ChatID]
	e.mu.Unlock()
	if ch != nil {
		select {
		case ch <- ev:
		default:
		}
	}
}

// times are when the bot's messages to chat came.
func (e *chatEvents) times(chat int64) []time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.at[chat])
}

// between are when the bot's messages to chats came from from to to.
func (e *chatEvents) between(chats []int64, from, to time.Time) []time.Time {
	var out []time.Time
	for _, c := range chats {
		for _, at := range e.times(c) {
			if !at.Before(from) && !at.After(to) {
				out = append(out, at)
			}
		}
	}
	return out
}

// everyMessage is when each of the bot's messages came, to any chat.
func (e *chatEvents) everyMessage() []time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.all)
}

// simulateParent walks parentScript, waiting for the bot's answer to each step. A parent left
// without an answer for strandedAfter gives up and is counted as stranded: they do not send again.
// sentOne is called after each update sent.
func simulateParent(ctx context.Context, emu *telegramtest.Server, chat int64, user telegramtest.User, events <-chan telegramtest.BotMessageEvent, think time.Duration, sentOne func()) parentRun {
	var run parentRun
	strand := func(step int, format string, args ...any) parentRun {
		run.stranded = fmt.Sprintf("step %d: %s; last message: %q", step, fmt.Sprintf(format, args...), lastText(emu.Messages(chat)))
		return run
	}
	for i, step := range parentScript {
		if think > 0 {
			time.Sleep(rand.N(think))
		}
		deadline := time.After(strandedAfter)
		msgID := 0
		if step.press != "" {
			// The button comes with the answer to the last step, which a message doubled early
			// may have stood in for: wait for it.
			var ok bool
			for msgID, ok = findButton(emu.Messages(chat), step.press); !ok; msgID, ok = findButton(emu.Messages(chat), step.press) {
				select {
				case <-events:
				case <-ctx.Done():
					return strand(i, "%v", ctx.Err())
				case <-deadline:
					return strand(i, "no button %q within %s", step.press, strandedAfter)
				}
			}
		}
		// Whatever came before this update answers an earlier one (doubled): not this step's.
		for len(events) > 0 {
			<-events
		}
		run.sent = append(run.sent, time.Now())
		switch {
		case step.text != "":
			emu.SendText(chat, user, step.text)
		case step.contact:
			emu.SendContact(chat, user, "+84912345678", user.ID)
		case step.child:
			emu.SendText(chat, user, childAnswer(int(user.ID)))
		case step.press != "":
			if _, err := emu.PressButton(chat, user, msgID, step.press); err != nil {
				return strand(i, "%v", err)
			}
		}
		sentOne()
		for range step.replies {
			select {
			case <-events:
			case <-ctx.Done():
				return strand(i, "%v", ctx.Err())
			case <-deadline:
				return strand(i, "no answer within %s", strandedAfter)
			}
		}
	}
	// The code may come after a doubled message that stood in for the submit's answer.
	deadline := time.After(strandedAfter)
	for !slices.ContainsFunc(emu.Messages(chat), func(m telegramtest.Message) bool { return strings.Contains(m.Text, "TD-") }) {
		select {
		case <-events:
		case <-ctx.Done():
			run.stranded = fmt.Sprintf("after the submit: %v", ctx.Err())
			return run
		case <-deadline:
			run.stranded = fmt.Sprintf("after the submit: no registration code within %s; last message: %q", strandedAfter, lastText(emu.Messages(chat)))
			return run
		}
	}
	return run
}

func findButton(msgs []telegramtest.Message, data string) (int, bool) {
	for i := len(msgs) - 1; i >= 0; i-- {
		for _, row := range msgs[i].InlineKeyboard {
			for _, b := range row {
				if b.CallbackData == data {
					return msgs[i].MessageID, true
				}
			}
		}
	}
	return 0, false
}

func lastText(msgs []telegramtest.Message) string {
	if len(msgs) == 0 {
		return ""
	}
	return msgs[len(msgs)-1].Text
}
