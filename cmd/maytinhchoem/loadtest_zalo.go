//go:build !serveonly

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
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/thuduc/maytinhchoem/bot/zalo"
	"github.com/thuduc/maytinhchoem/bot/zalo/zalotest"
	"github.com/thuduc/maytinhchoem/chat"
	"github.com/thuduc/maytinhchoem/cmd/maytinhchoem/internal/app"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	redisstore "github.com/thuduc/maytinhchoem/storage/redis"
)

// zaloStep is one thing a simulated Zalo parent does and how many OA messages answer it.
type zaloStep struct {
	text    string // typed text, or
	tap     string // the query button with this choice on the latest message that has it, or
	pick    string // the number of this label in the latest numbered list, or
	info    bool   // share the phone from the request_user_info card
	child   bool   // type this parent's child's name and birth date (childAnswer)
	replies int
}

// zaloParentScript is a whole registration of a typical family on Zalo (two circumstances,
// two needs), 12 updates, answered as Zalo asks: query buttons, numbered lists by number or
// label (or several numbers at once), the phone from the info card.
var zaloParentScript = []zaloStep{
	{text: "/start dangky", replies: 1},
	{tap: "r:consent:yes", replies: 1},
	{text: "Nguyễn Thị Lan", replies: 2}, // the question, then the card asking for the phone
	{info: true, replies: 1},             // the number is said with the next question
	{child: true, replies: 1},
	{text: "3", replies: 1}, // the grade: the third line of the list
	{text: "Trường Tiểu học Linh Trung", replies: 1},
	{text: "12 đường số 5, khu phố 3, Linh Trung", replies: 1},
	{text: "1, 5", replies: 1}, // the circumstances by their numbers in the list
	{tap: "r:device_situation:none", replies: 1},
	{text: "máy tính bảng, sim 4g", replies: 1},
	{pick: "✅ Gửi đăng ký", replies: 1},
}

// zaloLoadResult is what a Zalo load test measured.
type zaloLoadResult struct {
	loadCheck
	Elapsed              time.Duration
	PerMinute            float64 // registrations completed per minute
	P50, P99, Max        time.Duration
	Throttled            int
	ExactlyOnce          bool
	TokenDays            int
	TokenRefreshes       int
	TokenRefreshReplicas int
}

// loadtestZalo has o.Parents follow the OA and register a child each at once, through the Zalo
// emulator with Zalo's budget of o.ZaloPerMinute calls a minute, the bot (in this process, or
// o.Replicas serve processes behind a round-robin proxy) pacing its sends at ZALO_SEND_RATE. Then,
// when o.TokenDays is set, three replicas' adapters run that many days on the emulator's clock to
// count the token refreshes.
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
	emuURL := "http://" + ln.Addr().String()
	// The webhook is the bot's own HTTP_ADDR, or the proxy in front of the replicas.
	var (
		botAddr  string
		replicas *replicaSet
		proxy    *roundRobin
		hookURL  string
	)
	if o.Replicas == 0 {
		if botAddr, err = localAddr(); err != nil {
			return res, err
		}
		hookURL = "http://" + botAddr + "/zalo/webhook"
	} else {
		if replicas, err = newReplicaSet(o.Executable, o.Replicas, o.ReplicaCPUs, o.Log); err != nil {
			return res, err
		}
		if proxy, err = startRoundRobin(replicas.addrs()); err != nil {
			return res, err
		}
		defer proxy.Close()
		hookURL = proxy.URL() + "/zalo/webhook"
	}
	emu := zalotest.New(zalotest.Options{AppSecret: "loadtest-secret", RatePerMinute: o.ZaloPerMinute, WebhookURL: hookURL, BaseURL: emuURL})
	defer emu.Close()
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	var (
		appDone <-chan error
		stopApp = func() {}
	)
	if replicas == nil {
		cfg, err := app.LoadConfig(func(string) string { return "" })
		if err != nil {
			return res, err
		}
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
		if _, appDone, stopApp, err = startInProcess(ctx, cfg, o, env, botAddr); err != nil {
			return res, err
		}
		defer stopApp()
		if err := waitListening(ctx, botAddr, appDone); err != nil {
			return res, err
		}
	} else {
		settings := map[string]string{
			"ZALO_APP_ID": "3066178286528016436", "ZALO_APP_SECRET": "loadtest-secret", "ZALO_REFRESH_TOKEN": emu.IssueRefreshToken(),
			"ZALO_API_URL": emuURL, "ZALO_OAUTH_URL": emuURL,
			"DATABASE_URL": env.dbURL, "REDIS_URL": o.RedisURL, "REDIS_KEY_PREFIX": env.prefix,
			"METRICS_ADDR": "off", "LOG_LEVEL": "info", "SEND_RATE_PER_CHAT": "0",
		}
		if o.ZaloSendRate > 0 {
			settings["ZALO_SEND_RATE"] = strconv.FormatFloat(o.ZaloSendRate, 'f', -1, 64)
		}
		defer replicas.stop()
		if err := replicas.start(ctx, settings); err != nil {
			return res, err
		}
	}
	dis := newDisruptor(o.Parents*(len(zaloParentScript)+1), disruptions(o, replicas)...)

	callsBefore, _ := emu.APICalls()
	cpuBefore, botBefore := processCPU(), replicas.cpuSoFar()
	start := time.Now()
	var (
		wg        sync.WaitGroup
		latMu     sync.Mutex
		latencies []time.Duration
	)
	runs := make([]parentRun, o.Parents)
	users := make([]string, o.Parents)
	for i := range o.Parents {
		users[i] = emu.AddUser(fmt.Sprintf("Phụ huynh %d", i))
		wg.Go(func() {
			run, lat := simulateZaloParent(ctx, emu, users[i], i, o.Think, func() { dis.advance(ctx, 1) })
			dis.advance(ctx, len(zaloParentScript)+1-len(run.sent)) // what a stranded parent never sends
			runs[i] = run
			latMu.Lock()
			latencies = append(latencies, lat...)
			latMu.Unlock()
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	ownCPU := processCPU() - cpuBefore
	res.BotCPUWhileRegistering = replicas.cpuSoFar() - botBefore
	calls, throttled := emu.APICalls()
	res.APICalls, res.Throttled = calls-callsBefore, throttled
	res.Parents, res.Exchanges = o.Parents, len(zaloParentScript)+1 // +1: the follow
	res.P50, res.P99, res.Max = percentiles(latencies)

	var disrupted time.Time
	res.Disruptions, res.Troubles, disrupted = dis.wait()
	settle(ctx, disrupted)
	expect := []int{1} // the greeting that answers the follow
	for _, step := range zaloParentScript {
		expect = append(expect, step.replies)
	}
	for i, run := range runs {
		var replies []time.Time
		for _, m := range emu.Messages(users[i]) {
			replies = append(replies, m.Time)
		}
		res.Replies.add(tallyReplies(expect, run.sent, replies))
		res.UpdatesSent += len(run.sent)
		res.BotMessages += len(replies)
		if run.stranded != "" {
			res.Stranded = append(res.Stranded, fmt.Sprintf("parent %d, %s", i, run.stranded))
		}
	}
	res.PerMinute = float64(o.Parents-len(res.Stranded)) / res.Elapsed.Minutes()

	res.stopBot(o, replicas, proxy, ownCPU, stopApp, appDone)
	if err := res.countRegistrations(ctx, env, "zalo", users); err != nil {
		return res, err
	}
	res.ExactlyOnce = res.Registrations == o.Parents && res.DistinctCodes == o.Parents
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

// errNoChoice is a button or numbered choice not (yet) on the OA's messages.
var errNoChoice = errors.New("no such choice")

// simulateZaloParent has user follow the OA and walk zaloParentScript, waiting for the OA's
// answers to each step, and returns what they did and the time from each update to its last
// answer. A parent left without an answer for strandedAfter gives up and is counted as stranded:
// they do not send again. sentOne is called after each update sent.
func simulateZaloParent(ctx context.Context, emu *zalotest.Server, user string, i int, think time.Duration, sentOne func()) (parentRun, []time.Duration) {
	var (
		run parentRun
		lat []time.Duration
	)
	strand := func(step string, err error) (parentRun, []time.Duration) {
		last := ""
		if m, ok := emu.LastMessage(user); ok {
			last = m.Text
		}
		run.stranded = fmt.Sprintf("%s: %v; last message: %q", step, err, last)
		return run, lat
	}
	// wait waits until the OA has sent n messages in all, or the deadline.
	wait := func(deadline time.Time, n int) ([]zalotest.Message, error) {
		wctx, cancel := context.WithDeadline(ctx, deadline)
		defer cancel()
		return emu.WaitForMessages(wctx, user, n)
	}
	// do sends one update with send and waits for its replies; a send that finds no choice yet
	// waits for the next message (the answer to the last step, which a message doubled early may
	// have stood in for) and tries again.
	do := func(send func([]zalotest.Message) error, replies int) error {
		deadline := time.Now().Add(strandedAfter)
		for {
			msgs := emu.Messages(user)
			sent := time.Now()
			err := send(msgs)
			if errors.Is(err, errNoChoice) {
				if _, werr := wait(deadline, len(msgs)+1); werr != nil {
					return fmt.Errorf("%w (%w)", err, werr)
				}
				continue
			}
			if err != nil {
				return err
			}
			run.sent = append(run.sent, sent)
			sentOne()
			got, err := wait(deadline, len(msgs)+replies)
			if err != nil {
				return fmt.Errorf("no answer within %s", strandedAfter)
			}
			lat = append(lat, got[len(got)-1].Time.Sub(sent))
			return nil
		}
	}
	if err := do(func([]zalotest.Message) error { _, err := emu.Follow(user); return err }, 1); err != nil {
		return strand("the follow", err)
	}
	for n, step := range zaloParentScript {
		if think > 0 {
			time.Sleep(rand.N(think))
		}
		err := do(func(msgs []zalotest.Message) error {
			var err error
			switch {
			case step.text != "":
				_, err = emu.SendText(user, step.text)
			case step.child:
				_, err = emu.SendText(user, childAnswer(i))
			case step.info:
				_, err = emu.SubmitInfo(user, "Lan", "0912345678")
			case step.tap != "":
				err = tapChoice(emu, user, msgs, step.tap)
			case step.pick != "":
				err = pickNumbered(emu, user, msgs, step.pick)
			}
			return err
		}, step.replies)
		if err != nil {
			return strand(fmt.Sprintf("step %d", n), err)
		}
	}
	// The code may come after a doubled message that stood in for the submit's answer.
	deadline := time.Now().Add(strandedAfter)
	for {
		msgs := emu.Messages(user)
		if slices.ContainsFunc(msgs, func(m zalotest.Message) bool { return strings.Contains(m.Text, "TD-") }) {
			return run, lat
		}
		if _, err := wait(deadline, len(msgs)+1); err != nil {
			return strand("the end", fmt.Errorf("no registration code within %s", strandedAfter))
		}
	}
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
	return fmt.Errorf("%w: button %q", errNoChoice, data)
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
	return fmt.Errorf("%w: numbered %q", errNoChoice, label)
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
