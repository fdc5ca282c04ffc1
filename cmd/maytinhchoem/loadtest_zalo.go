package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/thuduc/maytinhchoem/bot/zalo"
	"github.com/thuduc/maytinhchoem/bot/zalo/zalotest"
	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/chat"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	redisstore "github.com/thuduc/maytinhchoem/storage/redis"
)

// zaloStep is one thing a simulated Zalo parent does and how many OA messages answer it.
type zaloStep struct {
	text    string // typed text, or
	tap     string // the query button with this choice on the latest message that has it, or
	pick    string // the number of this label in the latest numbered list, or
	info    bool   // share the phone from the request_user_info card
	child   bool   // type this parent's child's name
	birth   bool   // type this parent's child's birth date
	replies int
}

// zaloParentScript is a whole registration on Zalo, 17 updates, answered as Zalo asks: query
// buttons, numbered lists by number or label, the phone from the info card.
var zaloParentScript = []zaloStep{
	{text: "/start dangky", replies: 1},
	{tap: "r:consent:yes", replies: 1},
	{text: "Nguyễn Thị Lan", replies: 2}, // the question, then the card asking for the phone
	{info: true, replies: 2},
	{child: true, replies: 1},
	{birth: true, replies: 1},
	{tap: "r:level:primary", replies: 1},
	{text: "3", replies: 1},
	{text: "Trường Tiểu học Linh Trung", replies: 1},
	{text: "linh trung", replies: 1},
	{text: "12 đường số 5, khu phố 3", replies: 1},
	{pick: "Hộ nghèo", replies: 1},
	{text: "Xong", replies: 1},
	{tap: "r:device_situation:none", replies: 1},
	{pick: "Máy tính bảng", replies: 1},
	{text: "Xong", replies: 1},
	{pick: "✅ Gửi đăng ký", replies: 1},
}

// zaloLoadResult is what a Zalo load test measured.
type zaloLoadResult struct {
	Parents, Updates     int
	Elapsed              time.Duration
	PerMinute            float64 // registrations completed per minute
	P50, P99, Max        time.Duration
	APICalls, Throttled  int
	Registrations        int
	ExactlyOnce          bool
	TokenDays            int
	TokenRefreshes       int
	TokenRefreshReplicas int
}

// loadtestZalo has o.Parents follow the OA and register a child each at once, through the Zalo
// emulator with Zalo's budget of o.ZaloPerMinute calls a minute, the bot pacing its sends at
// ZALO_SEND_RATE. Then, when o.TokenDays is set, three replicas' adapters run that many days on
// the emulator's clock to count the token refreshes.
func loadtestZalo(ctx context.Context, o loadOptions) (zaloLoadResult, error) {
	var res zaloLoadResult
	env, err := newScratch(ctx, o)
	if err != nil {
		return res, err
	}
	defer env.cleanup()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	botLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	botAddr := botLn.Addr().String()
	botLn.Close() // the bot listens there itself
	emu := zalotest.New(zalotest.Options{AppSecret: "loadtest-secret", RatePerMinute: o.ZaloPerMinute,
		WebhookURL: "http://" + botAddr + "/zalo/webhook", BaseURL: "http://" + ln.Addr().String()})
	defer emu.Close()
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		return res, err
	}
	emuURL := "http://" + ln.Addr().String()
	cfg.ZaloAppID, cfg.ZaloAppSecret, cfg.ZaloRefreshToken = "3066178286528016436", "loadtest-secret", emu.IssueRefreshToken()
	cfg.ZaloAPIURL, cfg.ZaloOAuthURL = emuURL, emuURL
	cfg.RedisPrefix = env.prefix
	cfg.MetricsAddr = "" // nothing scrapes a load test; a busy :9090 must not stop it
	// As on Telegram, the per-chat pacing is left out (simulated parents answer far faster than
	// people): what is measured is the bot within Zalo's per-app budget.
	cfg.RatePerChat = 0
	if o.ZaloSendRate > 0 {
		cfg.ZaloRate = o.ZaloSendRate
	}
	cfg.LogLevel = "warn"
	appCtx, stopApp := context.WithCancel(ctx)
	defer stopApp()
	a, err := newApp(appCtx, appDeps{cfg: cfg, campaign: campaign.Default(), db: env.db, redis: env.rdb, logger: newLogger(cfg, o.Log), workers: o.Workers})
	if err != nil {
		return res, err
	}
	appDone := make(chan error, 1)
	go func() { appDone <- a.run(appCtx, botAddr) }()
	if err := waitListening(ctx, botAddr, appDone); err != nil {
		return res, err
	}

	start := time.Now()
	var (
		wg        sync.WaitGroup
		latMu     sync.Mutex
		latencies []time.Duration
	)
	errs := make(chan error, o.Parents)
	for i := range o.Parents {
		wg.Go(func() {
			lat, err := simulateZaloParent(ctx, emu, i, o.Think)
			latMu.Lock()
			latencies = append(latencies, lat...)
			latMu.Unlock()
			if err != nil {
				errs <- fmt.Errorf("parent %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	close(errs)
	var failures []error
	for err := range errs {
		failures = append(failures, err)
	}
	res.Parents, res.Updates = o.Parents, o.Parents*(len(zaloParentScript)+1) // +1: the follow
	res.PerMinute = float64(o.Parents) / res.Elapsed.Minutes()
	slices.Sort(latencies)
	if n := len(latencies); n > 0 {
		res.P50, res.P99, res.Max = latencies[n*50/100], latencies[min(n-1, n*99/100)], latencies[n-1]
	}
	res.APICalls, res.Throttled = emu.APICalls()
	stopApp()
	<-appDone
	if res.Registrations, err = a.regs.Count(ctx); err != nil {
		return res, err
	}
	res.ExactlyOnce = len(failures) == 0 && res.Registrations == o.Parents
	if len(failures) > 0 {
		return res, fmt.Errorf("%d parents failed, first: %w", len(failures), failures[0])
	}
	if o.TokenDays > 0 {
		res.TokenDays, res.TokenRefreshReplicas = o.TokenDays, 3
		if res.TokenRefreshes, err = simulateTokenDays(ctx, env, res.TokenRefreshReplicas, o.TokenDays); err != nil {
			return res, fmt.Errorf("token days: %w", err)
		}
	}
	return res, nil
}

// waitListening waits until addr accepts connections (the bot's HTTP server is up).
func waitListening(ctx context.Context, addr string, appDone <-chan error) error {
	for {
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-appDone:
			return fmt.Errorf("bot stopped: %w", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// simulateZaloParent follows the OA and walks zaloParentScript, waiting for the OA's answers to
// each step; it returns the time from each update to its last answer.
func simulateZaloParent(ctx context.Context, emu *zalotest.Server, i int, think time.Duration) ([]time.Duration, error) {
	user := emu.AddUser(fmt.Sprintf("Phụ huynh %d", i))
	var lat []time.Duration
	seen := 0
	wait := func(step, n int, sent time.Time) error {
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		msgs, err := emu.WaitForMessages(wctx, user, seen+n)
		if err != nil {
			return fmt.Errorf("step %d: %w", step, err)
		}
		seen = len(msgs)
		lat = append(lat, msgs[len(msgs)-1].Time.Sub(sent))
		return nil
	}
	sent := time.Now()
	if _, err := emu.Follow(user); err != nil {
		return lat, err
	}
	if err := wait(-1, 1, sent); err != nil {
		return lat, err
	}
	for n, step := range zaloParentScript {
		if think > 0 {
			time.Sleep(rand.N(think))
		}
		msgs := emu.Messages(user)
		sent = time.Now()
		var err error
		switch {
		case step.text != "":
			_, err = emu.SendText(user, step.text)
		case step.child:
			_, err = emu.SendText(user, "Trần Văn "+givenNames[i%len(givenNames)])
		case step.birth:
			k := i / len(givenNames)
			_, err = emu.SendText(user, fmt.Sprintf("%d/%d/%d", 1+k%28, 1+(k/28)%12, 2008+(k/336)%6))
		case step.info:
			_, err = emu.SubmitInfo(user, "Lan", "0912345678")
		case step.tap != "":
			err = tapChoice(emu, user, msgs, step.tap)
		case step.pick != "":
			err = pickNumbered(emu, user, msgs, step.pick)
		}
		if err != nil {
			return lat, fmt.Errorf("step %d: %w", n, err)
		}
		if err := wait(n, step.replies, sent); err != nil {
			return lat, err
		}
	}
	if last := emu.Messages(user); len(last) == 0 || !strings.Contains(last[len(last)-1].Text, "TD-") {
		return lat, errors.New("no registration code in the last message")
	}
	return lat, nil
}

// tapChoice taps the query button carrying data on the newest message that has one.
func tapChoice(emu *zalotest.Server, user string, msgs []zalotest.Message, data string) error {
	for _, m := range slices.Backward(msgs) {
		for j, b := range m.Buttons {
			if b.Payload == "#c:"+data {
				_, err := emu.Tap(user, m.ID, j)
				return err
			}
		}
	}
	return fmt.Errorf("no button %q", data)
}

// pickNumbered types the number of label in the newest numbered list.
func pickNumbered(emu *zalotest.Server, user string, msgs []zalotest.Message, label string) error {
	re := regexp.MustCompile(`(?m)^(\d+)\. ` + regexp.QuoteMeta(label) + `$`)
	for _, m := range slices.Backward(msgs) {
		if n := re.FindStringSubmatch(m.Text); n != nil {
			_, err := emu.SendText(user, n[1])
			return err
		}
	}
	return fmt.Errorf("no numbered choice %q", label)
}

// simulateTokenDays runs replicas Zalo adapters, each with its own database pool over env's
// database, for days on the emulator's clock, a message an hour from each, and returns how many
// times the token endpoint issued a pair (the first exchange of the pasted token included).
func simulateTokenDays(ctx context.Context, env *scratchEnv, replicas, days int) (int, error) {
	clk := zalotest.NewClock(time.Date(2021, 9, 1, 8, 0, 0, 0, time.UTC))
	emu := zalotest.New(zalotest.Options{AppSecret: "token-days-secret", Now: clk.Now, RatePerMinute: -1})
	defer emu.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	user := emu.AddUser("Lan")
	if _, err := emu.Follow(user); err != nil {
		return 0, err
	}
	seed := emu.IssueRefreshToken()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var adapters []*zalo.Adapter
	for r := range replicas {
		db, err := postgres.Open(ctx, env.dbURL)
		if err != nil {
			return 0, err
		}
		defer db.Close()
		state := redisstore.NewChannelState(env.rdb, fmt.Sprintf("%stokendays:%d:", env.prefix, r))
		a, err := zalo.New(ctx, zalo.Config{
			AppID: "3066178286528016436", AppSecret: "token-days-secret", RefreshToken: seed,
			APIURL: base, OAuthURL: base, Records: postgres.NewRecordStore(db), Menus: state, Interactions: state,
			Now: clk.Now, SyncEvery: 5 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			return 0, err
		}
		defer a.Close()
		adapters = append(adapters, a)
	}
	for hour := range days * 24 {
		clk.Advance(time.Hour)
		time.Sleep(15 * time.Millisecond) // the replicas' token loops look at the pair
		if _, err := emu.SendText(user, "chào"); err != nil {
			return 0, err
		}
		for r, a := range adapters {
			err := a.Send(ctx, chat.Reply{Channel: zalo.Channel, ChatID: user, Output: chat.Output{Text: fmt.Sprintf("giờ %d, bản %d", hour, r)}})
			if err != nil {
				return 0, fmt.Errorf("hour %d, replica %d: %w", hour, r, err)
			}
		}
	}
	for r, a := range adapters {
		if err := a.Ready(); err != nil {
			return 0, fmt.Errorf("replica %d: %w", r, err)
		}
	}
	return emu.RefreshCount(), nil
}
