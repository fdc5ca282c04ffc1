package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	goredis "github.com/redis/go-redis/v9"

	"github.com/thuduc/maytinhchoem/bot"
	"github.com/thuduc/maytinhchoem/bot/telegram"
	"github.com/thuduc/maytinhchoem/bot/zalo"
	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/chat"
	"github.com/thuduc/maytinhchoem/export"
	"github.com/thuduc/maytinhchoem/flows"
	"github.com/thuduc/maytinhchoem/jobs"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	redisstore "github.com/thuduc/maytinhchoem/storage/redis"
)

// Deps is what an App is built from; serve, demo, loadtest and the tests each provide them.
type Deps struct {
	Config   Config
	Campaign *campaign.Campaign
	DB       *postgres.DB
	Redis    goredis.UniversalClient
	// Now is the bot's clock; time.Now when nil.
	Now func() time.Time
	// Logger is slog.Default() when nil.
	Logger *slog.Logger
	// Workers is how many chats the dispatcher handles at once (0: its default, 64).
	Workers int
	// SchedulerPoll, when set, makes the scheduler follow Now by polling (a shifted clock).
	SchedulerPoll time.Duration
	// Mount, when set, also registers the channels' routes (the Zalo webhook, file links) on
	// another server: the demo's, which has no HTTP_ADDR of the bot's own.
	Mount func(pattern string, h http.Handler)
}

// App is the running bot: a channel adapter feeding a dispatcher.
type App struct {
	deps      Deps
	registry  *prometheus.Registry
	dialogs   *redisstore.Store
	contacts  *postgres.ContactStore
	regs      *postgres.RegistrationStore
	staff     *postgres.StaffStore
	pledges   *postgres.PledgeStore
	cases     *postgres.CaseStore
	exporter  *export.Exporter
	progress  *postgres.ProgressStore
	reminders *postgres.ReminderStore
	// subscriptions and broadcasts are what /subscribe and /broadcast keep.
	subscriptions *postgres.SubscriptionStore
	broadcasts    *postgres.BroadcastStore
	jobRuns       *postgres.JobRunStore
	outbox        *postgres.Outbox
	outboxSender  *jobs.OutboxSender
	scheduler     *jobs.Scheduler
	// broadcastReport tells officials when their broadcast is sent.
	broadcastReport *jobs.BroadcastReport
	engine          *flows.Engine
	// telegram is the Telegram channel, nil when TELEGRAM_TOKEN is not set.
	telegram *telegram.Adapter
	// zalo is the Zalo OA channel, nil when the ZALO_* settings are not set.
	zalo *zaloChannel
	// leaseTrouble is when this process last failed to hold or renew the poller lease (Unix ns).
	leaseTrouble atomic.Int64
	// sender hands every message to its channel's paced sender.
	sender     *bot.Router
	dispatcher *bot.Dispatcher
}

// LoadCampaign returns the campaign of CAMPAIGN_FILE, or the embedded default.
func LoadCampaign(cfg Config) (*campaign.Campaign, error) {
	if cfg.CampaignFile == "" {
		return campaign.Default(), nil
	}
	c, err := campaign.LoadFile(cfg.CampaignFile)
	if err != nil {
		return nil, fmt.Errorf("CAMPAIGN_FILE: %w", err)
	}
	return c, nil
}

// NewLogger is the text logger at LOG_LEVEL every command of the binary logs with.
func NewLogger(cfg Config, w interface{ Write([]byte) (int, error) }) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// New wires the bot together and connects to Telegram (or the emulator).
func New(ctx context.Context, d Deps) (*App, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	a := &App{deps: d, registry: prometheus.NewRegistry()}
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := bot.NewMetrics(a.registry)

	d.DB.Now = d.Now
	// A form nobody finished leaves Redis a day after the flow would call it expired.
	a.dialogs = redisstore.New(d.Redis, redisstore.Options{Prefix: d.Config.RedisPrefix, DialogTTL: redisstore.DialogTTLFor(d.Config.IdleExpiry)})
	a.contacts = postgres.NewContactStore(d.DB)
	a.regs = postgres.NewRegistrationStore(d.DB, d.Campaign)
	var err error
	if d.Config.telegramOn() {
		a.telegram, err = telegram.New(ctx, telegram.Config{
			Token:  d.Config.TelegramToken,
			APIURL: d.Config.TelegramAPIURL,
			Logger: d.Logger,
		})
		if err != nil {
			return nil, err
		}
	}
	if d.Config.zaloOn() {
		if a.zalo, err = a.newZalo(ctx); err != nil {
			return nil, err
		}
	}
	a.staff = postgres.NewStaffStore(d.DB)
	a.pledges = postgres.NewPledgeStore(d.DB)
	a.cases = postgres.NewCaseStore(d.DB, d.Campaign)
	a.exporter = export.New(postgres.NewExportSource(d.DB, d.Campaign), export.Options{
		Dir: d.Config.ExportDir, Now: d.Now, Location: d.Campaign.Location,
	})
	a.progress = postgres.NewProgressStore(d.DB, d.Campaign)
	a.reminders = postgres.NewReminderStore(d.DB, d.Campaign)
	a.subscriptions = postgres.NewSubscriptionStore(d.DB)
	a.broadcasts = postgres.NewBroadcastStore(d.DB, d.Campaign)
	a.jobRuns = postgres.NewJobRunStore(d.DB)
	a.outbox = postgres.NewOutbox(d.DB)
	engine, err := flows.NewEngine(flows.Config{
		Campaign:      d.Campaign,
		Registrations: a.regs,
		Contacts:      a.contacts,
		Now:           d.Now,
		IdleExpiry:    d.Config.IdleExpiry,
		Staff:         a.staff,
		Audit:         postgres.NewAuditLog(d.DB),
		Admins:        d.Config.admins,
		Entries:       a.entries,
		InvitationTTL: d.Config.InvitationTTL,
		Pledges:       a.pledges,
		MoneyCeiling:  d.Config.MoneyCeiling,
		Devices:       postgres.NewDeviceStore(d.DB),
		Money:         postgres.NewMoneyStore(d.DB),
		Cases:         a.cases,
		Messages:      a.cases,
		Find:          postgres.NewFindStore(d.DB, d.Campaign),
		Exporter:      a.exporter,
		ConfirmAfter:  d.Config.ConfirmAfter,
		Progress:      a.progress,
		Chart:         chartFunc(d.Campaign, a.reminders),
		Subscriptions: a.subscriptions,
		Broadcasts:    a.broadcasts,
		Family:        postgres.NewFamilyStore(d.DB, d.Campaign),
		Eraser:        a.retention(),
		Lists:         postgres.NewListStore(d.DB, d.Campaign),
		ListReader:    export.ListReader{},
		Claims:        postgres.NewClaimStore(d.DB, d.Campaign),
		Files:         a.fileOpener(),
		OnQueued:      func() { a.outboxSender.Notify() }, // set below, before any update is handled
	})
	if err != nil {
		return nil, err
	}
	a.engine = engine

	markStopped := func(ctx context.Context, channel, chatID string) {
		if err := a.contacts.SetContactStopped(ctx, channel, chatID, true); err != nil {
			d.Logger.Error("mark contact stopped", "channel", channel, "chat", chatID, "err", err)
		}
	}
	markUnreachable := func(ctx context.Context, channel, chatID string) {
		if err := a.contacts.SetContactUnreachable(ctx, channel, chatID, true); err != nil {
			d.Logger.Error("mark contact unreachable", "channel", channel, "chat", chatID, "err", err)
		}
	}
	a.sender = bot.NewRouter()
	// paced wraps a channel account's adapter in a sender whose budget is shared, through Redis,
	// by every process that sends for the same account.
	paced := func(inner bot.Sender, account string, perSecond float64) *bot.PacedSender {
		return bot.NewPacedSender(inner, bot.PacedSenderConfig{
			Budget:           a.budget(account, perSecond),
			GlobalPerSecond:  perSecond,
			GlobalBurst:      int(max(perSecond, 1)),
			PerChatPerSecond: d.Config.RatePerChat,
			PerChatBurst:     perChatBurst,
			OnStopped:        markStopped,
			OnUnreachable:    markUnreachable,
			Logger:           d.Logger,
			Metrics:          metrics,
		})
	}
	if a.telegram != nil {
		a.telegram.OnBlocked(func(chatID string) { markStopped(context.WithoutCancel(ctx), telegram.Channel, chatID) })
		a.sender.Add(telegram.Channel, paced(a.telegram, telegram.Channel+":"+a.telegram.Username(), d.Config.RateGlobal))
	}
	if a.zalo != nil {
		a.wireZalo(ctx, paced)
	}
	// Broadcasts, summaries and reminders leave through the outbox, drained at the pace the
	// dialogs' replies share.
	report := &jobs.BroadcastReport{Broadcasts: a.broadcasts, Messages: engine, Outbox: a.outbox,
		Notify: func() { a.outboxSender.Notify() }, Language: a.contactLanguage, Logger: d.Logger}
	a.broadcastReport = report
	a.outboxSender = jobs.NewOutboxSender(jobs.OutboxSenderConfig{
		Outbox: a.outbox, Sender: a.sender, Now: d.Now, Logger: d.Logger, OnSettled: report.Settled,
	})
	if a.scheduler, err = a.newScheduler(); err != nil {
		return nil, fmt.Errorf("campaign schedule: %w", err)
	}
	a.dispatcher = bot.NewDispatcher(bot.DispatcherConfig{
		Flow:           engine,
		Dialogs:        a.dialogs,
		Sender:         a.sender,
		Logger:         d.Logger,
		Workers:        d.Workers,
		Metrics:        metrics,
		UpdateDeadline: d.Config.UpdateDeadline,
		// A webhook is answered, the poller's offset moved and an inbox event acknowledged once
		// the step is saved with its replies; the replies then go at the channel's pace, and a
		// process that dies before they are all sent leaves them to another's sweeper.
		AckAfterSave: true,
		ReplyLease:   redisstore.DefaultReplyLease,
	})
	return a, nil
}

// perChatBurst is how many messages may go to one chat at once: one under the three Telegram
// tolerates, as the rates keep a tenth under its limits. With the rate alone a tenth under, a
// message held up a tenth of a second between its token and the wire (a busy replica on one
// core, a full network queue) could reach a chat whose bucket was empty: `loadtest -replicas 3
// -limits` gave one answer 429 in two of four runs at a burst of 3, none in three at 2. A reply
// and its keyboard (two messages) still go at once.
const perChatBurst = 2

// budget is the sending budget of a channel account ("telegram:<bot>", "zalo:<app id>") in Redis,
// shared by every process of the bot: perSecond over all chats, SEND_RATE_PER_CHAT to one chat
// (bursts of perChatBurst), bulk yielding half to replies while people are answered. With no limit at all
// (the load test measuring the bot alone) there is nothing to share and none is made.
func (a *App) budget(account string, perSecond float64) bot.Budget {
	if perSecond <= 0 && a.deps.Config.RatePerChat <= 0 {
		return nil
	}
	// The budget keeps a tenth under the channel's limits: the channel measures when messages
	// arrive, and the network's jitter would otherwise push one pair of them over (a 429, which
	// pauses the whole account); a chat's burst is perChatBurst.
	const margin = 0.9
	return redisstore.NewBudget(a.deps.Redis, a.deps.Config.RedisPrefix+"budget:"+account+":", redisstore.BudgetLimits{
		PerSecond: perSecond * margin, Burst: int(max(perSecond*margin, 1)),
		PerChatPerSecond: a.deps.Config.RatePerChat * margin, PerChatBurst: perChatBurst,
	})
}

// channels names the channels this bot runs.
func (a *App) channels() []string {
	var out []string
	if a.telegram != nil {
		out = append(out, telegram.Channel)
	}
	if a.zalo != nil {
		out = append(out, zalo.Channel)
	}
	return out
}

// entries are the ways to reach the bot with a start payload, on each channel it runs (invitation
// links), Telegram's first.
func (a *App) entries(payload string) []chat.Entry {
	var out []chat.Entry
	if a.telegram != nil {
		out = append(out, chat.Entry{Channel: telegram.Channel, Name: "Telegram",
			URL: a.telegram.DeepLink(payload)})
	}
	if a.zalo != nil {
		out = append(out, a.zaloEntry(payload))
	}
	return out
}

// setCommands publishes the command menu in Vietnamese and English.
func (a *App) setCommands(ctx context.Context) error {
	cmds := map[string][]telegram.Command{}
	for _, lang := range []string{"vi", "en"} {
		for _, c := range a.engine.Commands(lang) {
			cmds[lang] = append(cmds[lang], telegram.Command{Name: c.Name, Description: c.Description})
		}
	}
	return a.telegram.SetCommands(ctx, cmds)
}

// Run handles updates until ctx is done: by long polling, or by webhook on the HTTP server.
func (a *App) Run(ctx context.Context, httpAddr string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.dispatcher.Start(ctx)
	defer a.dispatcher.Wait()
	if a.telegram != nil {
		defer a.telegram.Close()
		if err := a.setCommands(ctx); err != nil {
			a.deps.Logger.Warn("setMyCommands failed; the command menu may be stale", "err", err)
		}
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		rctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		err := errors.Join(a.deps.DB.Ping(rctx), a.dialogs.Ping(rctx), a.pollerReady())
		if a.zalo != nil {
			err = errors.Join(err, a.zalo.adapter.Ready())
		}
		if err != nil {
			a.deps.Logger.Warn("not ready", "err", err)
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})

	errc := make(chan error, 4)
	// loops are the goroutines that hand updates to the dispatcher; they are waited for before
	// Redis is closed, so a poller gives its lease back on the way out.
	var loops sync.WaitGroup
	defer loops.Wait()
	telegramWebhook := a.telegram != nil && a.deps.Config.TelegramMode == "webhook"
	if telegramWebhook {
		u, err := url.Parse(a.deps.Config.WebhookURL)
		if err != nil {
			return fmt.Errorf("WEBHOOK_URL: %w", err)
		}
		path := u.Path
		if path == "" {
			path = "/"
		}
		mux.Handle("POST "+path, a.telegram.WebhookHandler(a.deps.Config.WebhookSecret, a.dispatcher.HandleOne))
	}
	if a.zalo != nil {
		routes := map[string]http.Handler{
			"POST " + a.deps.Config.ZaloWebhookPath: a.zalo.adapter.WebhookHandler(a.zalo.inbox),
			"GET /files/{token}":                    serveFile(a.zalo.files),
		}
		for pattern, h := range routes {
			mux.Handle(pattern, h)
			if a.deps.Mount != nil {
				a.deps.Mount(pattern, h)
			}
		}
		loops.Go(func() { errc <- a.consumeZalo(ctx) })
		a.deps.Logger.Info("zalo webhook", "path", a.deps.Config.ZaloWebhookPath)
	}
	var srv, metricsSrv *http.Server
	if httpAddr != "" {
		// /metrics listens on METRICS_ADDR, apart from the webhooks' public listener; a process
		// that serves no HTTP (the demo, the Telegram load test) serves no metrics either.
		var metricsLn net.Listener
		if addr := a.deps.Config.MetricsAddr; addr != "" {
			var err error
			if metricsLn, err = net.Listen("tcp", addr); err != nil {
				return fmt.Errorf("METRICS_ADDR %s: %w", addr, err)
			}
		}
		ln, err := net.Listen("tcp", httpAddr)
		if err != nil {
			if metricsLn != nil {
				metricsLn.Close()
			}
			return fmt.Errorf("HTTP_ADDR %s: %w", httpAddr, err)
		}
		srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second, WriteTimeout: 30 * time.Second}
		a.deps.Logger.Info("http listening", "addr", ln.Addr().String())
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("http server: %w", err)
			}
		}()
		if metricsLn != nil {
			metrics := http.NewServeMux()
			metrics.Handle("GET /metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{}))
			metricsSrv = &http.Server{Handler: metrics, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
			a.deps.Logger.Info("metrics listening", "addr", metricsLn.Addr().String())
			go func() {
				if err := metricsSrv.Serve(metricsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
					errc <- fmt.Errorf("metrics server: %w", err)
				}
			}()
		}
	}
	switch {
	case telegramWebhook:
		if err := a.telegram.SetWebhook(ctx, a.deps.Config.WebhookURL, a.deps.Config.WebhookSecret); err != nil {
			return fmt.Errorf("setWebhook: %w", err)
		}
		a.deps.Logger.Info("webhook set", "url", a.deps.Config.WebhookURL)
	case a.telegram != nil:
		loops.Go(func() { errc <- a.pollAsLeader(ctx) })
	}
	loops.Go(func() { a.dispatcher.SweepReplies(ctx, repliesSweepEvery) })
	defer a.RunJobs(ctx)()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	for _, s := range []*http.Server{srv, metricsSrv} {
		if s != nil {
			_ = s.Shutdown(sctx)
		}
	}
	return err
}

// NotifyOutbox tells the outbox sender that messages were queued, so it sends them now rather
// than at its next look (the load test queues a broadcast beside the bot).
func (a *App) NotifyOutbox() { a.outboxSender.Notify() }

// Close lets go of the channels' adapters (calls in flight, idle connections, Zalo's token
// loop), for an App whose Run was not called: Run closes Telegram's itself on its way out.
func (a *App) Close() {
	if a.telegram != nil {
		a.telegram.Close()
	}
	if a.zalo != nil {
		a.zalo.adapter.Close()
	}
}

// repliesSweepEvery is how often each process looks for replies a dead process left unsent.
const repliesSweepEvery = 2 * time.Second

// RunJobs starts what works in the background: the finalizer, the outbox sender and, unless
// JOBS=false, the scheduler, which first catches up on the runs missed today. The function it
// returns waits for them once ctx is done.
func (a *App) RunJobs(ctx context.Context) (wait func()) {
	var background sync.WaitGroup
	background.Go(func() { a.outboxSender.Run(ctx) })
	if a.zalo != nil {
		background.Go(func() { a.sweepFiles(ctx, sweepEvery) })
	}
	if a.deps.Config.JobsEnabled {
		for _, o := range a.scheduler.Start(ctx) {
			a.deps.Logger.Info("caught up a missed run", "job", o.Job, "key", o.Key, "scheduled_for", o.ScheduledFor, "err", o.Err)
		}
	}
	return func() {
		a.scheduler.Stop()
		background.Wait()
		a.broadcastReport.Wait() // checks the last sends started
	}
}

// contactLanguage is the language of a chat's contact, "" when unknown.
func (a *App) contactLanguage(ctx context.Context, channel, chatID string) string {
	c, err := a.contacts.Contact(ctx, channel, chatID)
	if err != nil {
		return ""
	}
	return c.Language
}

// sweepEvery is how often expired file links are removed.
const sweepEvery = 10 * time.Minute

// fileOpener opens the files people send (a list from a school or ward) through the channel they
// came by (flows.FileOpener).
type fileOpener struct {
	telegram *telegram.Adapter
	zalo     *zalo.Adapter
}

// fileOpener is the opener of the channels this process runs.
func (a *App) fileOpener() fileOpener {
	o := fileOpener{telegram: a.telegram}
	if a.zalo != nil {
		o.zalo = a.zalo.adapter
	}
	return o
}

func (o fileOpener) OpenFile(ctx context.Context, channel, fileID string) (io.ReadCloser, error) {
	var (
		f   io.ReadCloser
		err error
	)
	switch {
	case channel == telegram.Channel && o.telegram != nil:
		f, err = o.telegram.OpenFile(ctx, fileID)
	case channel == zalo.Channel && o.zalo != nil:
		// The id is the file's link on Zalo's CDN, whose query may be a signature: never quoted.
		f, err = o.zalo.OpenFile(ctx, fileID)
		fileID = "(a Zalo link)"
	default:
		return nil, campaign.Errorf(campaign.EUNAVAILABLE, "files sent on %q cannot be opened", channel)
	}
	if errors.Is(err, chat.ErrRejected) {
		// Too big, gone or unknown: no retry mends it, and the sender is told the file was not read.
		return nil, fmt.Errorf("%w: %w", campaign.Errorf(campaign.EINVALID, "%s file %s cannot be opened", channel, fileID), err)
	}
	return f, err
}
