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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"
	goredis "github.com/redis/go-redis/v9"

	"github.com/thuduc/maytinhchoem/bot/telegram/telegramtest"
	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// loadStep is one thing a simulated parent does, and how many bot messages (sent or edited) answer it.
type loadStep struct {
	text    string // typed text, or
	press   string // callback data of a button on the latest bot message that has it, or
	contact bool   // share one's own contact
	child   bool   // type this parent's child's name
	birth   bool   // type this parent's child's birth date
	replies int
}

// givenNames make the simulated children distinct (with the birth dates), as real ones are.
var givenNames = []string{"An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hoa", "Hùng", "Khang",
	"Lan", "Linh", "Long", "Mai", "Minh", "Nam", "Ngọc", "Phúc", "Quân", "Thảo", "Trang", "Tú", "Việt", "Yến"}

// parentScript is a whole registration: 17 updates, as a parent on a phone would send them.
var parentScript = []loadStep{
	{text: "/start dangky", replies: 1},
	{press: "r:consent:yes", replies: 1},
	{text: "Nguyễn Thị Lan", replies: 1},
	{contact: true, replies: 2},
	{child: true, replies: 1}, // each parent's own child: a name...
	{birth: true, replies: 1}, // ...and a birth date, so no two are possible duplicates
	{press: "r:level:primary", replies: 1},
	{press: "r:grade:3", replies: 1},
	{text: "Trường Tiểu học Linh Trung", replies: 1},
	{text: "linh trung", replies: 1},
	{text: "12 đường số 5, khu phố 3", replies: 1},
	{press: "r:circumstances:poor", replies: 1},
	{press: "r:circumstances:!done", replies: 1},
	{press: "r:device_situation:none", replies: 1},
	{press: "r:needs:tablet", replies: 1},
	{press: "r:needs:!done", replies: 1},
	{press: "r:review:submit", replies: 1},
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

// loadResult is what a load test measured.
type loadResult struct {
	Parents, Updates   int
	Elapsed            time.Duration
	UpdatesPerSecond   float64
	P50, P99, Max      time.Duration
	RedisPerUpdate     float64
	Registrations      int
	DistinctCodes      int
	ExactlyOnce        bool
	EmulatorRejections int
	TooManyRequests    int
	BroadcastSent      int
}

// runLoadtest simulates parents completing registrations at once through the emulator against
// real Redis and PostgreSQL, and prints throughput, latency and Redis round trips per update.
func runLoadtest(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	parents := fs.Int("parents", 350, "simulated parents registering at once")
	workers := fs.Int("workers", 64, "chats handled at once by the dispatcher")
	dbURL := fs.String("db", firstNonEmpty(getenv("TEST_DATABASE_URL"), getenv("DATABASE_URL"), "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL server; a scratch database is made on it and dropped afterwards")
	redisURL := fs.String("redis", firstNonEmpty(getenv("TEST_REDIS_URL"), getenv("REDIS_URL"), "redis://127.0.0.1:6379/0"),
		"Redis server; keys go under a scratch prefix, deleted afterwards")
	think := fs.Duration("think", 200*time.Millisecond, "each parent pauses a random time up to this before every answer, as people do (0: answer at once, every parent in lockstep, which measures capacity)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	channel := fs.String("channel", "telegram", "telegram, or zalo: the parents register on the Zalo OA emulator, which keeps Zalo's budget of calls a minute")
	zaloPerMinute := fs.Int("zalo-budget", 4000, "zalo: the emulator's calls a minute per app before -32 (Zalo's is about 4,000)")
	zaloSendRate := fs.Float64("zalo-send-rate", 0, "zalo: the bot's sends per second on Zalo (ZALO_SEND_RATE; 0 keeps its default)")
	limits := fs.Bool("limits", false, "telegram: Telegram's flood limits on, in the emulator and in the bot (30/s, 1/s per chat), as in production")
	broadcast := fs.Int("broadcast", 0, "telegram: queue a broadcast to this many families (chats of the emulator) as the parents start, to see what it costs them")
	tokenDays := fs.Int("token-days", 10, "zalo: afterwards, run three replicas this many days on the emulator's clock and count the token refreshes (0: skip)")
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
	if *parents < 1 {
		return fmt.Errorf("-parents must be at least 1")
	}
	switch *channel {
	case "telegram":
	case "zalo":
		return printZaloLoad(ctx, stdout, loadOptions{Parents: *parents, Workers: *workers, Think: *think, ServerURL: *dbURL, RedisURL: *redisURL,
			Log: stderr, ZaloPerMinute: *zaloPerMinute, ZaloSendRate: *zaloSendRate, TokenDays: *tokenDays})
	default:
		return fmt.Errorf("-channel: telegram or zalo, got %q", *channel)
	}
	res, err := loadtest(ctx, loadOptions{Parents: *parents, Workers: *workers, Think: *think, ServerURL: *dbURL, RedisURL: *redisURL, Log: stderr,
		Limits: *limits, Broadcast: *broadcast})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "parents:            %d (%d updates each, %d in all), think time up to %s\n", res.Parents, len(parentScript), res.Updates, *think)
	fmt.Fprintf(stdout, "elapsed:            %s\n", res.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(stdout, "updates per second: %.0f\n", res.UpdatesPerSecond)
	fmt.Fprintf(stdout, "update -> reply:    p50 %s, p99 %s, max %s\n", res.P50.Round(10*time.Microsecond), res.P99.Round(10*time.Microsecond), res.Max.Round(10*time.Microsecond))
	fmt.Fprintf(stdout, "redis round trips:  %.2f per update\n", res.RedisPerUpdate)
	if *limits {
		fmt.Fprintf(stdout, "flood limits:       on (30/s, 1/s per chat); 429 answers: %d\n", res.TooManyRequests)
	}
	if *broadcast > 0 {
		fmt.Fprintf(stdout, "broadcast:          %d families queued, %d sent while the parents registered\n", *broadcast, res.BroadcastSent)
	}
	fmt.Fprintf(stdout, "registrations:      %d stored, %d distinct codes, exactly once: %v\n", res.Registrations, res.DistinctCodes, res.ExactlyOnce)
	if !res.ExactlyOnce {
		return fmt.Errorf("registrations were not stored exactly once")
	}
	return nil
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
	// Telegram's: flood limits on, and a broadcast to this many families queued at the start.
	Limits    bool
	Broadcast int
}

// printZaloLoad runs loadtestZalo and prints what it measured.
func printZaloLoad(ctx context.Context, stdout io.Writer, o loadOptions) error {
	res, err := loadtestZalo(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "channel:            zalo (the emulator allows %d calls a minute)\n", o.ZaloPerMinute)
	fmt.Fprintf(stdout, "parents:            %d (a follow and %d updates each, %d in all), think time up to %s\n", res.Parents, len(zaloParentScript), res.Updates, o.Think)
	fmt.Fprintf(stdout, "elapsed:            %s\n", res.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(stdout, "registrations:      %.0f per minute\n", res.PerMinute)
	fmt.Fprintf(stdout, "update -> answer:   p50 %s, p99 %s, max %s\n", res.P50.Round(time.Millisecond), res.P99.Round(time.Millisecond), res.Max.Round(time.Millisecond))
	fmt.Fprintf(stdout, "OA API calls:       %d (%.1f per registration), %d refused with -32\n", res.APICalls, float64(res.APICalls)/float64(max(res.Parents, 1)), res.Throttled)
	fmt.Fprintf(stdout, "registrations:      %d stored, exactly once: %v\n", res.Registrations, res.ExactlyOnce)
	if res.TokenDays > 0 {
		fmt.Fprintf(stdout, "token refreshes:    %d in %d days across %d replicas (%.2f a day)\n", res.TokenRefreshes, res.TokenDays, res.TokenRefreshReplicas, float64(res.TokenRefreshes)/float64(res.TokenDays))
	}
	if !res.ExactlyOnce {
		return fmt.Errorf("registrations were not stored exactly once")
	}
	return nil
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
	if env.db, err = openDatabase(ctx, env.dbURL); err != nil {
		return fail(err)
	}
	undo = append(undo, func() { env.db.Close() })
	if env.rdb, err = openRedis(ctx, o.RedisURL); err != nil {
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

func loadtest(ctx context.Context, o loadOptions) (loadResult, error) {
	var res loadResult
	env, err := newScratch(ctx, o)
	if err != nil {
		return res, err
	}
	defer env.cleanup()
	db, rdb, prefix, trips := env.db, env.rdb, env.prefix, env.trips

	// The emulator, without flood limits: this measures the bot, not Telegram's pacing.
	events := &chatEvents{chans: map[int64]chan telegramtest.BotMessageEvent{}}
	var (
		latMu     sync.Mutex
		latencies []time.Duration
	)
	emuLimits := telegramtest.Limits{Disabled: !o.Limits}
	emu := telegramtest.New(telegramtest.Options{
		Token:  demoToken,
		Limits: emuLimits,
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

	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		return res, err
	}
	cfg.TelegramToken = demoToken
	cfg.TelegramAPIURL = "http://" + ln.Addr().String()
	cfg.RedisPrefix = prefix
	cfg.RateGlobal, cfg.RatePerChat = 0, 0
	if o.Limits {
		cfg.RateGlobal, cfg.RatePerChat = 30, 1
	}
	cfg.LogLevel = "warn"
	appCtx, stopApp := context.WithCancel(ctx)
	defer stopApp()
	a, err := newApp(appCtx, appDeps{cfg: cfg, campaign: campaign.Default(), db: db, redis: rdb, logger: newLogger(cfg, o.Log), workers: o.Workers})
	if err != nil {
		return res, err
	}
	appDone := make(chan error, 1)
	go func() { appDone <- a.run(appCtx, "") }()

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
	time.Sleep(100 * time.Millisecond)
	tripsBefore := trips.n.Load()

	if o.Broadcast > 0 {
		// Families to announce to: chats of the emulator, queued as /broadcast queues them.
		msgs := make([]campaign.OutboxMessage, o.Broadcast)
		for i := range msgs {
			chat := emu.AddChat(telegramtest.User{ID: int64(8_000_000 + i), FirstName: "Gia đình", LanguageCode: "vi"})
			msgs[i] = campaign.OutboxMessage{Key: fmt.Sprintf("loadtest-broadcast:%d", i), Batch: "loadtest-broadcast",
				Channel: "telegram", ChatID: fmt.Sprint(chat), Text: "📢 Thông báo: lịch trao máy tại phường vào thứ Bảy."}
		}
		if _, err := postgres.NewOutbox(db).Enqueue(ctx, msgs); err != nil {
			return res, err
		}
		a.outboxSender.Notify()
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, o.Parents)
	for i := range o.Parents {
		user := telegramtest.User{ID: int64(5_000_000 + i), FirstName: "Phụ huynh", LanguageCode: "vi"}
		chat := emu.AddChat(user)
		ch := events.register(chat)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := simulateParent(ctx, emu, chat, user, ch, o.Think); err != nil {
				errs <- fmt.Errorf("parent %d: %w", user.ID, err)
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	close(errs)
	var failures []error
	for err := range errs {
		failures = append(failures, err)
	}
	res.Parents = o.Parents
	res.Updates = o.Parents * len(parentScript)
	res.UpdatesPerSecond = float64(res.Updates) / res.Elapsed.Seconds()
	res.RedisPerUpdate = float64(trips.n.Load()-tripsBefore) / float64(res.Updates)
	latMu.Lock()
	slices.Sort(latencies)
	if n := len(latencies); n > 0 {
		res.P50 = latencies[n*50/100]
		res.P99 = latencies[min(n-1, n*99/100)]
		res.Max = latencies[n-1]
	}
	latMu.Unlock()
	stopApp()
	<-appDone

	if err := db.Ping(ctx); err != nil {
		return res, err
	}
	res.Registrations, err = a.regs.Count(ctx)
	if err != nil {
		return res, err
	}
	codes := map[string]bool{}
	for i := range o.Parents {
		regs, err := a.regs.RegistrationsByChat(ctx, "telegram", fmt.Sprint(5_000_000+i))
		if err != nil {
			return res, err
		}
		for _, r := range regs {
			codes[r.Code] = true
		}
	}
	res.DistinctCodes = len(codes)
	res.EmulatorRejections = len(emu.RejectedCalls())
	res.TooManyRequests = emu.Metrics().TooManyRequests
	if o.Broadcast > 0 {
		if _, res.BroadcastSent, _, _, err = postgres.NewOutbox(db).BatchProgress(ctx, "loadtest-broadcast"); err != nil {
			return res, err
		}
	}
	res.ExactlyOnce = len(failures) == 0 && res.Registrations == o.Parents && res.DistinctCodes == o.Parents
	if len(failures) > 0 {
		return res, fmt.Errorf("%d parents failed, first: %w", len(failures), failures[0])
	}
	return res, nil
}

// chatEvents routes the emulator's bot-message events to each simulated parent.
type chatEvents struct {
	mu    sync.Mutex
	chans map[int64]chan telegramtest.BotMessageEvent
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
	ch := e.chans[ev.ChatID]
	e.mu.Unlock()
	if ch != nil {
		select {
		case ch <- ev:
		default:
		}
	}
}

// simulateParent walks parentScript, waiting for the bot's answer to each step.
func simulateParent(ctx context.Context, emu *telegramtest.Server, chat int64, user telegramtest.User, events <-chan telegramtest.BotMessageEvent, think time.Duration) error {
	for i, step := range parentScript {
		if think > 0 {
			time.Sleep(rand.N(think))
		}
		switch {
		case step.text != "":
			emu.SendText(chat, user, step.text)
		case step.contact:
			emu.SendContact(chat, user, "+84912345678", user.ID)
		case step.child:
			emu.SendText(chat, user, "Trần Văn "+givenNames[int(user.ID)%len(givenNames)])
		case step.birth:
			n := int(user.ID) / len(givenNames)
			emu.SendText(chat, user, fmt.Sprintf("%d/%d/%d", 1+n%28, 1+(n/28)%12, 2008+(n/336)%6))
		case step.press != "":
			msgID, ok := findButton(emu.Messages(chat), step.press)
			if !ok {
				return fmt.Errorf("step %d: no button %q; last message: %q", i, step.press, lastText(emu.Messages(chat)))
			}
			if _, err := emu.PressButton(chat, user, msgID, step.press); err != nil {
				return fmt.Errorf("step %d: %w", i, err)
			}
		}
		for range step.replies {
			select {
			case <-events:
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(30 * time.Second):
				return fmt.Errorf("step %d: no reply in 30s; last message: %q", i, lastText(emu.Messages(chat)))
			}
		}
	}
	if last := lastText(emu.Messages(chat)); !strings.Contains(last, "TD-") {
		return fmt.Errorf("no registration code in the last message %q", last)
	}
	return nil
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
