package telegram

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// Channel is the name of this channel in chat.Update and chat.Reply.
const Channel = "telegram"

// Defaults used when the matching Config field is zero.
const (
	DefaultAPIURL      = "https://api.telegram.org"
	DefaultHTTPTimeout = 20 * time.Second
	DefaultPollTimeout = 25 // seconds
)

// Config configures an Adapter; zero fields take the defaults.
type Config struct {
	// Token is the bot token from @BotFather.
	Token string
	// APIURL is where the Bot API lives; requests go to <APIURL>/bot<token>/<method>.
	APIURL string
	// HTTPTimeout bounds one ordinary Bot API call; a long poll may take PollTimeout longer, a file
	// upload of bytes three times as long, and an upload from disk three times as long plus a
	// second for every 128 KiB of the file.
	HTTPTimeout time.Duration
	// PollTimeout is how many seconds one getUpdates call waits for updates (Telegram's "timeout").
	// It is a count of seconds, not a time.Duration, because that is what the Bot API takes.
	PollTimeout int
	// AllowGroups maps updates from group, supergroup and channel chats too. Off by default: the
	// flows ask for phone numbers and children's details, which must not be answered in a group.
	AllowGroups bool
	// Logger receives what went wrong without being fatal; slog.Default() when nil.
	Logger *slog.Logger
	// Now is the clock stamped on Inputs as Received; time.Now when nil.
	Now func() time.Time

	// backoffMin and backoffMax bound the waits between retries; tests shorten them.
	backoffMin, backoffMax time.Duration
	// busyPoll is how long Poll waits for updates in flight before it asks for more; tests
	// shorten it.
	busyPoll time.Duration
}

// Adapter is a Telegram bot: it maps updates to Inputs and sends Replies. It is safe for concurrent
// use.
type Adapter struct {
	token       string
	endpoint    string // a format for fmt.Sprintf(endpoint, token, method), as the library wants
	username    string
	http        *http.Client
	upload      *http.Client // for uploads from disk, which only their context bounds
	transport   *http.Transport
	ctx         context.Context
	cancel      context.CancelFunc
	log         *slog.Logger
	now         func() time.Time
	httpTimeout time.Duration
	pollTimeout int
	allowGroups bool
	backoffMin  time.Duration
	backoffMax  time.Duration
	busyPoll    time.Duration
	onBlocked   atomic.Pointer[func(chatID string)]
	// conflictSince is when getUpdates began to be answered 409 (Unix ns), 0 when it is not.
	conflictSince atomic.Int64
	answers       answeredQueries
}

// getMeAttempts is how many times New asks getMe before giving up on network errors.
const getMeAttempts = 4

// New connects to the Bot API with cfg and checks the token with getMe, retrying network errors a
// few times. ctx bounds the Adapter's life: when it ends, or Close is called, calls in flight
// (a long poll too) are aborted.
func New(ctx context.Context, cfg Config) (*Adapter, error) {
	a, err := newAdapter(ctx, cfg)
	if err != nil {
		return nil, err
	}
	wait := newBackoff(a.backoffMin, a.backoffMax)
	for attempt := 1; ; attempt++ {
		err = a.getMe(ctx)
		if err == nil {
			return a, nil
		}
		var ae *apiError
		if errors.As(err, &ae) && (ae.code == http.StatusUnauthorized || ae.code == http.StatusNotFound) {
			// Telegram answers 401 for a revoked or unknown token and 404 for a malformed one.
			a.Close()
			return nil, fmt.Errorf("telegram: TELEGRAM_TOKEN rejected by the Bot API (%d %s)", ae.code, ae.desc)
		}
		if attempt == getMeAttempts || ctx.Err() != nil {
			a.Close()
			return nil, fmt.Errorf("telegram: reach the Bot API after %d attempts: %w", attempt, err)
		}
		a.log.Warn("telegram: getMe failed, retrying", "attempt", attempt, "err", err)
		if !sleep(ctx, wait.next()) {
			a.Close()
			return nil, fmt.Errorf("telegram: reach the Bot API: %w", ctx.Err())
		}
	}
}

// newAdapter builds an Adapter without calling the Bot API.
func newAdapter(ctx context.Context, cfg Config) (*Adapter, error) {
	if cfg.Token == "" {
		return nil, errors.New("telegram: TELEGRAM_TOKEN is empty")
	}
	if strings.ContainsAny(cfg.Token, "/?#% \t\r\n") {
		return nil, errors.New("telegram: TELEGRAM_TOKEN is malformed")
	}
	apiURL := strings.TrimRight(cfg.APIURL, "/")
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	if u, err := url.Parse(apiURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("telegram: API URL %q is not an http(s) URL", apiURL)
	}
	a := &Adapter{
		token: cfg.Token,
		// The library formats the endpoint with Sprintf: a literal % in the URL must be escaped.
		endpoint:    strings.ReplaceAll(apiURL, "%", "%%") + "/bot%s/%s",
		log:         cfg.Logger,
		now:         cfg.Now,
		httpTimeout: cfg.HTTPTimeout,
		pollTimeout: cfg.PollTimeout,
		allowGroups: cfg.AllowGroups,
		backoffMin:  cfg.backoffMin,
		backoffMax:  cfg.backoffMax,
		busyPoll:    cfg.busyPoll,
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.httpTimeout <= 0 {
		a.httpTimeout = DefaultHTTPTimeout
	}
	if a.pollTimeout <= 0 {
		a.pollTimeout = DefaultPollTimeout
	}
	if a.backoffMin <= 0 {
		a.backoffMin = 500 * time.Millisecond
	}
	if a.backoffMax <= 0 {
		a.backoffMax = 30 * time.Second
	}
	if a.busyPoll <= 0 {
		a.busyPoll = defaultBusyPoll
	}
	longest := time.Duration(a.pollTimeout)*time.Second + a.httpTimeout
	a.transport = &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: longest, // a long poll answers only when updates come or it times out
		IdleConnTimeout:       90 * time.Second,
		// As many idle connections as the dispatcher sends at once, so a busy minute reuses
		// connections instead of opening and closing one per message.
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		ForceAttemptHTTP2:   true,
	}
	// Each call also carries its own deadline; this one is the backstop, above the longest call.
	a.http = &http.Client{Transport: a.transport, Timeout: 3*a.httpTimeout + longest}
	// A file of tens of MB on a slow uplink outlasts that backstop; its call's deadline grows with
	// the file instead.
	a.upload = &http.Client{Transport: a.transport}
	a.ctx, a.cancel = context.WithCancel(ctx)
	return a, nil
}

// Username is the bot's @username, without the "@".
func (a *Adapter) Username() string { return a.username }

// DeepLink is the link that opens a chat with the bot and hands it /start payload.
func (a *Adapter) DeepLink(payload string) string {
	return "https://t.me/" + a.username + "?start=" + payload
}

// Close aborts calls in flight and releases idle connections. It may be called more than once.
func (a *Adapter) Close() {
	a.cancel()
	a.transport.CloseIdleConnections()
}

// OnBlocked sets fn to be called with the chat id when a user blocks the bot (Telegram's
// my_chat_member update with status "kicked"). fn runs while the update is being mapped, so it must
// be quick; it may be called again for a redelivered update. nil removes it.
func (a *Adapter) OnBlocked(fn func(chatID string)) {
	if fn == nil {
		a.onBlocked.Store(nil)
		return
	}
	a.onBlocked.Store(&fn)
}

func (a *Adapter) getMe(ctx context.Context) error {
	var self tgbotapi.User
	err := a.call(ctx, a.httpTimeout, "getMe", func(api *tgbotapi.BotAPI) (*tgbotapi.APIResponse, error) {
		// NewBotAPIWithClient is the library's way in: it asks getMe and keeps the answer.
		bot, err := tgbotapi.NewBotAPIWithClient(a.token, a.endpoint, api.Client)
		if err != nil {
			return nil, err
		}
		self = bot.Self
		return &tgbotapi.APIResponse{Ok: true}, nil
	})
	if err != nil {
		return err
	}
	if self.UserName == "" {
		return errors.New("telegram: getMe returned no username")
	}
	a.username = self.UserName
	return nil
}

// call runs one Bot API request through the library with ctx (bounded by timeout and the Adapter's
// life) and classifies its error; see classify.
func (a *Adapter) call(ctx context.Context, timeout time.Duration, method string, fn func(api *tgbotapi.BotAPI) (*tgbotapi.APIResponse, error)) error {
	_, err := a.callResult(ctx, timeout, method, fn)
	return err
}

// callResult is call that also returns the library's response.
func (a *Adapter) callResult(ctx context.Context, timeout time.Duration, method string, fn func(api *tgbotapi.BotAPI) (*tgbotapi.APIResponse, error)) (*tgbotapi.APIResponse, error) {
	return a.callWith(ctx, a.http, timeout, method, fn)
}

// callWith is callResult over the given client.
func (a *Adapter) callWith(ctx context.Context, base *http.Client, timeout time.Duration, method string, fn func(api *tgbotapi.BotAPI) (*tgbotapi.APIResponse, error)) (*tgbotapi.APIResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	stop := context.AfterFunc(a.ctx, cancel)
	defer stop()

	client := &callClient{base: base, ctx: ctx, token: a.token}
	// A BotAPI is three strings and a client: one per call is how a context reaches the request.
	api := &tgbotapi.BotAPI{Token: a.token, Client: client}
	api.SetAPIEndpoint(a.endpoint)
	resp, err := fn(api)
	if err != nil {
		return resp, classify(method, client.status, err)
	}
	return resp, nil
}

// callClient is the library's HTTPClient for one call: it attaches the call's context, records the
// HTTP status (the library drops it for uploads) and keeps the token out of errors.
type callClient struct {
	base   *http.Client
	ctx    context.Context
	token  string
	status int
}

// Do implements tgbotapi.HTTPClient.
func (c *callClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.base.Do(req.WithContext(c.ctx))
	if err != nil {
		return nil, redact(err, c.token)
	}
	c.status = resp.StatusCode
	resp.Body = drainingBody{resp.Body}
	return resp, nil
}

// drainingBody reads what the JSON decoder left before closing, so the connection can be reused.
type drainingBody struct{ io.ReadCloser }

func (b drainingBody) Close() error {
	_, _ = io.CopyN(io.Discard, b.ReadCloser, 64<<10)
	return b.ReadCloser.Close()
}

// redact removes the token from err: net/http quotes the request URL, which holds it.
func redact(err error, token string) error {
	var ue *url.Error
	if errors.As(err, &ue) && token != "" && strings.Contains(ue.URL, token) {
		return &url.Error{Op: ue.Op, URL: strings.ReplaceAll(ue.URL, token, "<token>"), Err: ue.Err}
	}
	return err
}

// backoff is a capped exponential wait with jitter.
type backoff struct {
	min, max, cur time.Duration
}

func newBackoff(min, max time.Duration) *backoff { return &backoff{min: min, max: max} }

// next returns the wait before the next attempt: min, then doubling up to max, each ±10%.
func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	jitter := time.Duration(rand.Int64N(int64(b.cur)/5 + 1))
	return b.cur - b.cur/10 + jitter
}

func (b *backoff) reset() { b.cur = 0 }

// sleep waits d or until ctx ends; it reports whether the wait ran out (ctx is still live).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
