// Package zalotest is a Zalo Official Account (OA) emulator: an http.Handler that answers the parts
// of the OA Open API the bot uses (the token endpoint, consultation messages, uploads, the user
// profile and the message quota), holds every call to Zalo's shapes, limits and error codes, plays
// the people who chat with the OA, and posts their events, signed, to the bot's webhook the way
// Zalo does: at least once, redelivered on failure or slowness, sometimes twice. A chat page for
// the demo is served at "/zalo/".
//
// Endpoints (each exactly this path; mount the emulator at the root of a listener, beside the
// Telegram emulator if need be, whose paths do not collide):
//
//	POST /v4/oa/access_token                 the OAuth token endpoint (refresh_token grant)
//	POST /v3.0/oa/message/cs                 consultation messages
//	POST /v2.0/oa/upload/image, /upload/file uploads (multipart field "file")
//	GET  /v3.0/oa/user/detail?data={…}       a person's profile
//	POST /v3.0/oa/quota/message              the window of a person (also under /v2.0)
//	GET  /zalo/, /zalo/api/…, /zalo/media/…  the chat page, its API, stored files
//	GET  /zalo/cdn/<id>/<name>               a file a person sent, as Zalo's CDN serves it
//
// Point the adapter's base URLs at it:
//
//	emu := zalotest.New(zalotest.Options{AppID: "1", AppSecret: "s", WebhookURL: hook.URL})
//	ts := httptest.NewServer(emu)
//	// OAuth base: ts.URL (POST /v4/oa/access_token); Open API base: ts.URL (/v3.0/..., /v2.0/...).
//	refresh := emu.IssueRefreshToken() // what an operator pastes from the developer console
//	user := emu.AddUser("Lan")
//	emu.Follow(user)
//
// Decisions worth knowing when a test fails:
//   - Every answer of the Open API is HTTP 200 with {"error":0,"message":"Success","data":…} or
//     {"error":<negative code>,"message":…}; the token endpoint answers HTTP 200 with the token pair
//     or {"error":<code>,"error_name":…,"error_description":…}.
//   - The order of checks on /v3.0/oa/message/cs is: access token (-216, -220), rate (-32), the
//     body's shape and limits (-201, -233, -100), then the recipient: unknown (-201), banned (-227),
//     not a follower (-213), last interaction older than 7 days (-230).
//   - Times that Zalo measures (token lifetimes, the 7-day window, upload expiry, the rate limit's
//     minute, event timestamps) run on Options.Now; webhook timing (SlowAfter, RedeliverDelays) is
//     wall-clock. With a frozen Options.Now the rate limit's minute never ends: move the clock.
//   - Events made while no webhook is set wait and are delivered once SetWebhook sets one.
//   - A first delivery carries no num_retry header; redeliveries carry num_retry: 1, 2, ….
//     A duplicate (Options.DuplicateEvery) is the same body and signature posted again right after
//     a successful delivery, without num_retry.
//   - Location coordinates and file sizes in events are strings, as Zalo's samples show them.
package zalotest

import (
	"context"
	_ "embed"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/thuduc/maytinhchoem/bot/internal/pageguard"
)

//go:embed web/index.html
var chatPage []byte

// Zalo's fixed lifetimes and limits, on the injected clock.
const (
	// AccessTokenTTL is how long an access token lives.
	AccessTokenTTL = 25 * time.Hour
	// Window is how long after a person's last interaction the OA may send them consultation
	// messages.
	Window = 7 * 24 * time.Hour
	// UploadTTL is how long an uploaded image's attachment_id or a file's token may be sent.
	UploadTTL = 7 * 24 * time.Hour
	// MaxTextRunes is the longest message text, in characters (runes).
	MaxTextRunes = 2000
	// MaxButtons is the most buttons under one message.
	MaxButtons = 5
	// MaxImageBytes is the largest image /v2.0/oa/upload/image takes.
	MaxImageBytes = 1 << 20
	// MaxFileBytes is the largest file /v2.0/oa/upload/file takes.
	MaxFileBytes = 5 << 20
)

// DefaultRedeliverDelays is Zalo's redelivery schedule after a failed delivery.
var DefaultRedeliverDelays = []time.Duration{30 * time.Second, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour}

// Options configure a Server. The zero value works: ids and secrets get defaults.
type Options struct {
	// AppID is the app's id, in events' app_id and in signatures; default "3066178286528016436".
	AppID string
	// AppSecret is the app's secret key, which the token endpoint wants in its secret_key header;
	// default "zalotest-app-secret".
	AppSecret string
	// OASecret is the secret webhook signatures are made with; default AppSecret.
	OASecret string
	// OAID is the OA's id, the recipient of user events; default "4318927402956107562".
	OAID string
	// OAName is the OA's name on the chat page; default "Máy tính cho em".
	OAName string
	// Now is the clock Zalo's times run on; default time.Now. See Clock for a settable one.
	Now func() time.Time
	// WebhookURL is where events are posted; it may be set later with SetWebhook.
	WebhookURL string
	// RatePerMinute is how many Open API calls (token endpoint excluded) the app may make in a
	// minute before getting -32; default 4000, negative for no limit.
	RatePerMinute int
	// RedeliverDelays are the waits before each redelivery of a failed event; nil gives
	// DefaultRedeliverDelays, an empty non-nil slice no redelivery at all. Scale it down in tests.
	RedeliverDelays []time.Duration
	// SlowAfter is how long the webhook may take to answer before the delivery counts as failed
	// (the request is abandoned then); default 2s.
	SlowAfter time.Duration
	// DuplicateEvery makes every Nth event be delivered twice; 0 never.
	DuplicateEvery int
	// SignWithoutPrefix sends the signature as the bare hex digest, without "mac=".
	SignWithoutPrefix bool
	// RotateKillsAccess says whether refreshing kills the access tokens issued before; nil means
	// true. Write new(false) to keep them alive until they expire.
	RotateKillsAccess *bool
	// BaseURL is the emulator's own address, used in the media URLs of events; default the
	// address of the first request it serves, or "http://zalotest.local" before that.
	BaseURL string
	// WebhookClient posts events; default a plain http.Client (SlowAfter bounds each post).
	WebhookClient *http.Client
	// Logger receives webhook delivery problems; default discards them.
	Logger *slog.Logger
	// PageNote is a line the chat page shows under its header, such as the demo's day; empty shows
	// none. It is plain text (the page API's people and open return it as "note").
	PageNote string
	// PageToken, when set, guards the chat page's API and the files it shows (/zalo/api/…,
	// /zalo/media/…): a request must carry it in the X-Demo-Token header, or as a token query
	// parameter (links and <img> cannot send headers), or it gets 403. The page itself (/zalo/)
	// loads without it, reads it from its own URL (/zalo/?token=…) and sends it on every call;
	// opened without it, the page says to open the link the demo printed. Empty: no check, as the
	// emulator's tests use it. The OAuth and Open API paths are never behind it: the app secret and
	// access tokens guard those. Nor is the CDN link of a file a person sent (/zalo/cdn/<id>/…,
	// what user_send_file names, which the bot downloads as it would from Zalo): its random id is
	// its key, as on Zalo.
	PageToken string
	// PageHosts, when set, are the only Host header values ("127.0.0.1:8080", compared without
	// regard to case) the chat page, its API and its files answer to; any other gets 421
	// Misdirected Request. It defends against DNS rebinding, where a web page whose name is made
	// to resolve to 127.0.0.1 calls the page's API with its own name as Host. Empty: any Host.
	PageHosts []string
}

// Server is the emulator: mount it on any listener. Its methods are safe for concurrent use.
type Server struct {
	opts       Options
	log        *slog.Logger
	killAccess bool
	ctx        context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change a waiter may care about
	closed  bool
	baseURL string
	hookURL string

	refresh      map[string]*refreshToken
	access       map[string]*accessToken
	refreshCount int

	calls     []time.Time // Open API calls within the last minute, for the rate limit
	apiCalls  int         // Open API calls ever
	throttled int         // of which refused with -32
	failNext  map[string][]APIError

	users     map[string]*user
	userOrder []string
	seq       int64 // stamps transcript entries for the chat page's cursor
	messages  map[string]*entry
	uploads   map[string]*upload
	cdnGets   int // GET and HEAD requests answered at /zalo/cdn/

	events     []*event
	eventByID  map[string]*event
	eventCount int
	queues     map[string]*queue
}

// New builds an emulator.
func New(opts Options) *Server {
	if opts.AppID == "" {
		opts.AppID = "3066178286528016436"
	}
	if opts.AppSecret == "" {
		opts.AppSecret = "zalotest-app-secret"
	}
	if opts.OASecret == "" {
		opts.OASecret = opts.AppSecret
	}
	if opts.OAID == "" {
		opts.OAID = "4318927402956107562"
	}
	if opts.OAName == "" {
		opts.OAName = "Máy tính cho em"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RatePerMinute == 0 {
		opts.RatePerMinute = 4000
	}
	if opts.RedeliverDelays == nil {
		opts.RedeliverDelays = DefaultRedeliverDelays
	}
	if opts.SlowAfter <= 0 {
		opts.SlowAfter = 2 * time.Second
	}
	if opts.WebhookClient == nil {
		opts.WebhookClient = &http.Client{}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		opts:       opts,
		log:        logger,
		killAccess: opts.RotateKillsAccess == nil || *opts.RotateKillsAccess,
		ctx:        ctx,
		cancel:     cancel,
		changed:    make(chan struct{}),
		baseURL:    strings.TrimRight(opts.BaseURL, "/"),
		hookURL:    opts.WebhookURL,
		refresh:    map[string]*refreshToken{},
		access:     map[string]*accessToken{},
		failNext:   map[string][]APIError{},
		users:      map[string]*user{},
		messages:   map[string]*entry{},
		uploads:    map[string]*upload{},
		eventByID:  map[string]*event{},
		queues:     map[string]*queue{},
	}
}

// Close stops webhook delivery, abandoning posts in flight and pending redeliveries, and waits for
// its goroutines; waiters (WaitForMessages, WaitEvent) return. The handler keeps answering.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		s.notify()
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// SetBaseURL sets the emulator's own address, used in the media URLs of events.
func (s *Server) SetBaseURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.baseURL = strings.TrimRight(u, "/")
}

// ServeHTTP routes the OAuth and Open API paths, the chat page at /zalo/, its API at /zalo/api/
// and media at /zalo/media/; the last three only for Options.PageHosts, the API and media only
// with Options.PageToken (see guardPage).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.learnBaseURL(r)
	switch p := r.URL.Path; {
	case p == "/v4/oa/access_token":
		s.serveToken(w, r)
	case p == "/v3.0/oa/message/cs":
		s.serveAPI(w, r, p, s.sendMessage)
	case p == "/v2.0/oa/upload/image":
		s.serveAPI(w, r, p, s.uploadImage)
	case p == "/v2.0/oa/upload/file":
		s.serveAPI(w, r, p, s.uploadFile)
	case p == "/v3.0/oa/user/detail":
		s.serveAPI(w, r, p, s.userDetail)
	case p == "/v3.0/oa/quota/message", p == "/v2.0/oa/quota/message":
		s.serveAPI(w, r, p, s.quota)
	case p == "/zalo" || p == "/zalo/" || p == "/zalo/index.html":
		if !s.guardPage(w, r, false) {
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(chatPage)
	case strings.HasPrefix(p, "/zalo/api/"):
		if s.guardPage(w, r, true) {
			s.servePageAPI(w, r)
		}
	case strings.HasPrefix(p, "/zalo/cdn/"):
		s.serveCDN(w, r)
	case strings.HasPrefix(p, "/zalo/media/"):
		if s.guardPage(w, r, true) {
			s.serveMedia(w, r)
		}
	default:
		http.NotFound(w, r)
	}
}

var _ http.Handler = (*Server)(nil)

// learnBaseURL takes the emulator's address from the first request when none is configured.
func (s *Server) learnBaseURL(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.baseURL != "" || r.Host == "" || !pageguard.HostAllowed(s.opts.PageHosts, r.Host) {
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	s.baseURL = scheme + "://" + r.Host
}

// base returns the emulator's address; call with s.mu held.
func (s *Server) base() string {
	if s.baseURL == "" {
		return "http://zalotest.local"
	}
	return s.baseURL
}

// notify wakes every waiter; call with s.mu held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// now reads the injected clock.
func (s *Server) now() time.Time { return s.opts.Now() }

// APIError is a Zalo error answer: a negative code and its message.
type APIError struct {
	Code    int
	Message string
}

// Error renders the error as Zalo's answer would read.
func (e *APIError) Error() string { return "zalo error " + strconv.Itoa(e.Code) + ": " + e.Message }

func apiErr(code int, msg string) *APIError { return &APIError{Code: code, Message: msg} }

// invalid is -201, the Open API's answer to a malformed or out-of-limit parameter.
func invalid(msg string) *APIError { return apiErr(-201, "Parameters are invalid: "+msg) }

// writeAPI answers in the Open API's envelope, always HTTP 200.
func writeAPI(w http.ResponseWriter, data any, e *APIError) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if e != nil {
		_ = json.NewEncoder(w).Encode(struct {
			Error   int    `json:"error"`
			Message string `json:"message"`
		}{e.Code, e.Message})
		return
	}
	_ = json.NewEncoder(w).Encode(struct {
		Data    any    `json:"data"`
		Error   int    `json:"error"`
		Message string `json:"message"`
	}{data, 0, "Success"})
}

// Clock is a settable clock for Options.Now, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock forward by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}
