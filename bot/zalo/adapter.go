package zalo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/thuduc/maytinhchoem/chat"
)

// Channel is the name of this channel in chat.Update and chat.Reply.
const Channel = "zalo"

// Defaults used when the matching Config field is zero.
const (
	DefaultAPIURL        = "https://openapi.zalo.me"
	DefaultOAuthURL      = "https://oauth.zaloapp.com"
	DefaultHTTPTimeout   = 15 * time.Second
	DefaultRefreshAhead  = time.Hour
	DefaultWebhookMaxAge = 90 * time.Minute
	DefaultWindow        = 7 * 24 * time.Hour
	DefaultLinkTTL       = 24 * time.Hour
)

// Config configures an Adapter; zero durations and URLs take the defaults.
type Config struct {
	// AppID and AppSecret are the Zalo app's, from the developer console.
	AppID     string
	AppSecret string
	// OASecret is the secret the webhook's signature is made with; "" means AppSecret, since
	// sources disagree on which of the two Zalo uses.
	OASecret string
	// RefreshToken is the refresh token an operator pasted. It seeds the shared token pair once;
	// pasting a different one later replaces the pair (see New).
	RefreshToken string
	// APIURL and OAuthURL are where the OA Open API and the token endpoint live.
	APIURL   string
	OAuthURL string
	// HTTPTimeout bounds one API call; an upload gets three times as long plus a second for every
	// 128 KiB of the file.
	HTTPTimeout time.Duration
	// RefreshAhead is how long before the access token expires it is refreshed, so a busy hour
	// never runs into an expired token.
	RefreshAhead time.Duration
	// WebhookMaxAge is how far from now an event's timestamp may be. The default, 90 minutes,
	// lets Zalo's own redeliveries (30 s to 1 h later) through; a replay inside it is caught by
	// the bot's de-duplication on the message id.
	WebhookMaxAge time.Duration
	// Window is how long after a person's last interaction Zalo lets the OA write to them.
	Window time.Duration
	// LinkTTL is how long a download link to a file Zalo cannot carry works.
	LinkTTL time.Duration
	// ContactImageURL is the picture on the card that asks for the phone number; none when "".
	ContactImageURL string

	// Records holds the token pair every replica shares; Menus the numbered lists awaiting an
	// answer; Interactions each person's last interaction. All three are required.
	Records      RecordStore
	Menus        MenuStore
	Interactions Interactions
	// Links publishes files Zalo cannot carry (a workbook); when nil such files are refused with
	// chat.ErrRejected.
	Links FileLinks

	// Now is the clock for token expiry, the window, webhook timestamps and Received; time.Now
	// when nil.
	Now func() time.Time
	// Logger receives what went wrong without being fatal; slog.Default() when nil.
	Logger *slog.Logger

	// SyncEvery is how often the shared token pair is looked at (another replica may have
	// rotated it; it may be due for a refresh); a minute when zero.
	SyncEvery time.Duration

	// backoffMin and backoffMax bound Consume's pauses; tests shorten them.
	backoffMin, backoffMax time.Duration
}

// Adapter is a Zalo OA: it maps webhook events to chat.Updates and sends chat.Replies through the
// OA Open API. It is safe for concurrent use.
type Adapter struct {
	cfg       Config
	apiURL    string
	oauthURL  string
	oaSecret  string
	seed      string // sha256 hex of cfg.RefreshToken
	recordKey string
	http      *http.Client
	transport *http.Transport
	log       *slog.Logger
	now       func() time.Time
	ctx       context.Context
	cancel    context.CancelFunc

	tok        atomic.Pointer[tokenState]
	deadLogged atomic.Bool // the dead token was logged at Error, once until it is revived
	staleSeed  sync.Once   // the configured refresh token is an older one, warned once

	onFollow   atomic.Pointer[func(userID string)]
	onUnfollow atomic.Pointer[func(userID string)]
}

// New checks cfg and makes sure the OA has a token pair: the one every replica shares in
// cfg.Records, or, when there is none yet or the operator pasted a different RefreshToken, a new
// one exchanged for cfg.RefreshToken and stored before use. It fails when there is no pair and
// none could be had (the token endpoint or the store is unreachable); a refresh token the endpoint
// refuses does not fail New but makes Ready report ErrTokenDead, so the rest of the bot still runs.
//
// ctx bounds the Adapter's life: New starts a loop that looks at the shared pair every minute and
// refreshes it ahead of expiry, which ends with ctx or Close.
func New(ctx context.Context, cfg Config) (*Adapter, error) {
	a, err := newAdapter(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := a.syncTokens(ctx); err != nil && a.tok.Load() == nil {
		a.Close()
		return nil, fmt.Errorf("zalo: get an access token: %w", err)
	} else if err != nil {
		a.log.Warn("zalo: refresh the access token; keeping the current one", "err", err)
	}
	go a.keepTokens()
	return a, nil
}

// newAdapter builds an Adapter without touching the network or the stores.
func newAdapter(ctx context.Context, cfg Config) (*Adapter, error) {
	switch {
	case strings.TrimSpace(cfg.AppID) == "":
		return nil, errors.New("zalo: ZALO_APP_ID is empty")
	case cfg.AppSecret == "":
		return nil, errors.New("zalo: ZALO_APP_SECRET is empty")
	case cfg.RefreshToken == "":
		return nil, errors.New("zalo: ZALO_REFRESH_TOKEN is empty")
	case cfg.Records == nil:
		return nil, errors.New("zalo: no record store for the token pair")
	case cfg.Menus == nil:
		return nil, errors.New("zalo: no menu store")
	case cfg.Interactions == nil:
		return nil, errors.New("zalo: no interaction store")
	}
	apiURL, err := baseURL("ZALO_API_URL", cfg.APIURL, DefaultAPIURL)
	if err != nil {
		return nil, err
	}
	oauthURL, err := baseURL("ZALO_OAUTH_URL", cfg.OAuthURL, DefaultOAuthURL)
	if err != nil {
		return nil, err
	}
	setDefault(&cfg.HTTPTimeout, DefaultHTTPTimeout)
	setDefault(&cfg.RefreshAhead, DefaultRefreshAhead)
	setDefault(&cfg.WebhookMaxAge, DefaultWebhookMaxAge)
	setDefault(&cfg.Window, DefaultWindow)
	setDefault(&cfg.LinkTTL, DefaultLinkTTL)
	setDefault(&cfg.SyncEvery, time.Minute)
	setDefault(&cfg.backoffMin, 500*time.Millisecond)
	setDefault(&cfg.backoffMax, 30*time.Second)
	seed := sha256.Sum256([]byte(cfg.RefreshToken))
	a := &Adapter{
		cfg:       cfg,
		apiURL:    apiURL,
		oauthURL:  oauthURL,
		oaSecret:  cfg.OASecret,
		seed:      hex.EncodeToString(seed[:]),
		recordKey: "zalo:tokens:" + cfg.AppID,
		log:       cfg.Logger,
		now:       cfg.Now,
	}
	if a.oaSecret == "" {
		a.oaSecret = cfg.AppSecret
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.transport = &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 3 * cfg.HTTPTimeout,
		IdleConnTimeout:       90 * time.Second,
		// As many idle connections as the dispatcher sends at once, so a busy minute reuses them.
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		ForceAttemptHTTP2:   true,
	}
	// Every call carries its own deadline, which grows with an upload's size: no overall timeout.
	a.http = &http.Client{Transport: a.transport}
	a.ctx, a.cancel = context.WithCancel(ctx)
	return a, nil
}

func baseURL(name, s, def string) (string, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "/")
	if s == "" {
		return def, nil
	}
	if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("zalo: %s %q is not an http(s) URL", name, s)
	}
	return s, nil
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Close stops the token loop and aborts calls in flight. It may be called more than once.
func (a *Adapter) Close() {
	a.cancel()
	a.transport.CloseIdleConnections()
}

// Capabilities are what a Zalo OA message can show.
func (a *Adapter) Capabilities() chat.Capabilities {
	return chat.Capabilities{
		TextLimit:         maxTextRunes,
		ButtonsPerMessage: maxButtons,
		PayloadBytes:      maxPayloadBytes,
		Edits:             false,
		Toasts:            false,
		ContactRequest:    true,
	}
}

// Ready reports whether the OA can send: nil, or an error wrapping ErrTokenDead once its refresh
// token was refused, until an operator configures a new one. /readyz reports it.
func (a *Adapter) Ready() error {
	_, err := a.accessToken()
	return err
}

// OnFollow sets fn to be called with the user's id when a person follows the OA; the follow also
// comes as a /start command. fn runs while the event is being mapped, so it must be quick; it may
// be called again for a redelivered event. nil removes it.
func (a *Adapter) OnFollow(fn func(userID string)) { storeHook(&a.onFollow, fn) }

// OnUnfollow sets fn to be called with the user's id when a person unfollows the OA, after which
// Zalo refuses to carry messages to them; the bot marks the contact stopped. It runs like OnFollow's.
func (a *Adapter) OnUnfollow(fn func(userID string)) { storeHook(&a.onUnfollow, fn) }

func storeHook(p *atomic.Pointer[func(string)], fn func(string)) {
	if fn == nil {
		p.Store(nil)
		return
	}
	p.Store(&fn)
}

func callHook(p *atomic.Pointer[func(string)], userID string) {
	if fn := p.Load(); fn != nil {
		(*fn)(userID)
	}
}

// backoff is a capped exponential wait with jitter.
type backoff struct {
	min, max, cur time.Duration
}

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
