// Package telegramtest is a Telegram Bot API emulator: an http.Handler that answers the Bot API
// well enough for github.com/go-telegram-bot-api/telegram-bot-api/v5 to run against it, holds every
// call against the official description of the methods the bot uses (embedded as botapi.json),
// applies Telegram's limits and wording of errors, and plays the people on the other side of the
// chats, from Go tests or from a chat page served at "/".
//
// Point the library at it with
//
//	srv := httptest.NewServer(telegramtest.New(telegramtest.Options{Token: token}))
//	bot, err := tgbotapi.NewBotAPIWithAPIEndpoint(token, srv.URL+"/bot%s/%s")
//
// Decisions worth knowing when a test fails:
//   - Text and caption lengths are counted in UTF-16 code units after HTML parsing, as Telegram
//     counts them: "ệ" is one, "😀" two. parse_mode HTML is parsed and malformed HTML refused;
//     Markdown modes are stored and counted as sent.
//   - Only sending methods are flood-limited (see Limits); 400, 401 and 404 answers are the bot's
//     mistakes and are kept for RejectedCalls, while 403, 409 and 429 are counted in Metrics only.
//   - Parameters the description does not know are accepted and listed by UnknownParams.
//   - Files: what the bot uploads (once the call succeeds) and what a person sends get file_ids
//     the bot may send again, a photo by either of its sizes. Other file_ids are refused with
//     "wrong file identifier/HTTP URL specified", a photo's sent as a document or the reverse with
//     "type of file mismatch"; http(s) URLs are taken without being fetched. getFile gives a
//     known file a file_path to download from /file/bot<token>/<file_path>, and refuses a file
//     over 20 MB with "file is too big".
//   - A person who writes to the bot unblocks it, as Telegram's "Restart" button does.
//   - Times: message dates come from Options.Now (the campaign's calendar); flood limits refill on
//     Limits.Now; latencies (UpdateArrived, OnBotMessage) are wall-clock.
package telegramtest

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed web/index.html
var chatPage []byte

// Options configure a Server. The zero value gives an emulator that accepts any token.
type Options struct {
	// Token is the only bot token accepted; calls with another get 401 Unauthorized. Empty accepts
	// any token.
	Token string
	// BotUsername is the bot's username in getMe; default "maytinhchoem_bot".
	BotUsername string
	// BotName is the bot's first_name in getMe; default "Máy tính cho em".
	BotName string
	// Limits are the flood limits on sending methods.
	Limits Limits
	// Now is the calendar clock that dates messages; default time.Now.
	Now func() time.Time
	// Spec is a Bot API description in the format of botapi.json to hold calls against instead of
	// the embedded copy.
	Spec []byte
	// SpecFile is a path to read Spec from when Spec is empty.
	SpecFile string
	// OnBotMessage, when set, is called after every message the bot sends or edits, outside the
	// emulator's lock, so that a load test can measure the time from an update to its reply.
	OnBotMessage func(BotMessageEvent)
	// WebhookClient posts updates to a webhook; default a client with a 30-second timeout.
	WebhookClient *http.Client
	// WebhookAttempts is how many times one update is posted before it is dropped; default 10.
	WebhookAttempts int
	// WebhookBackoff is the wait after the first failed post, doubled after each further failure
	// up to one second; default 50ms.
	WebhookBackoff time.Duration
	// Logger receives webhook delivery problems; default discards them.
	Logger *slog.Logger
	// PageNote is a line the chat page shows under its header, such as the demo's day; empty shows
	// none. It is plain text (GET /api/chat returns it as "note").
	PageNote string
	// PageToken, when set, guards the chat page's API and files (everything under /api/): a
	// request must carry it in the X-Demo-Token header, or as a token query parameter (links and
	// <img> cannot send headers), or it gets 403. The page itself (/) loads without it, reads it
	// from its own URL (/?token=…) and sends it on every call; opened without it, the page says to
	// open the link the demo printed. Empty: no check, as the emulator's tests use it. The Bot API
	// (/bot<token>/…) is never behind it: the bot token guards that.
	PageToken string
	// PageHosts, when set, are the only Host header values ("127.0.0.1:8080", compared without
	// regard to case) the chat page and its API answer to; any other gets 421 Misdirected Request.
	// It defends against DNS rebinding, where a web page whose name is made to resolve to
	// 127.0.0.1 calls the page's API with its own name as Host. Empty: any Host.
	PageHosts []string
}

// Limits are Telegram's flood limits as token buckets, global and per chat. Sending methods
// (sendMessage, sendPhoto, sendDocument, sendSticker, sendContact, copyMessage, editMessage*)
// take a token from both; an empty bucket answers 429 Too Many Requests with retry_after.
type Limits struct {
	// Disabled turns every limit off, for load tests that measure the bot rather than Telegram.
	Disabled bool
	// GlobalPerSecond is the sustained rate across all chats; default 30, Telegram's published figure.
	GlobalPerSecond float64
	// GlobalBurst is how many calls may go at once across all chats; default 30.
	GlobalBurst int
	// PerChatPerSecond is the sustained rate in one chat; default 1.
	PerChatPerSecond float64
	// PerChatBurst is how many messages one chat may get at once; default 3. Telegram asks for no
	// more than one message per second in a chat but tolerates short bursts, such as a reply
	// followed by a keyboard, and answers 429 only when they go on; a burst of 1 would flag bots
	// Telegram accepts.
	PerChatBurst int
	// Now is the clock the buckets refill on; default time.Now. It is apart from Options.Now so that
	// a test standing on a fixed campaign day still sees buckets refill; inject it to test retry
	// timing without sleeping.
	Now func() time.Time
}

// Server is the emulator: mount it on any listener. Its methods are safe for concurrent use.
type Server struct {
	opts    Options
	spec    *apiSpec
	botUser wireUser
	log     *slog.Logger
	flood   *floodControl

	hookMu sync.Mutex // serialises webhook changes, which wait for deliveries to stop

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced on every change that a waiter may care about
	closed    chan struct{}
	closeOnce sync.Once

	nextUpdateID   int64
	queue          []*pendingUpdate
	arrived        map[int64]time.Time
	allowedUpdates []string
	pollGen        int64
	hook           *webhook
	lastHookError  hookError

	chats        map[int64]*chatState
	version      int64
	queries      map[string]*callbackQuery
	nextQueryID  int64
	files        map[string]*storedFile
	nextFileID   int64
	paths        map[string]*storedFile // by the file_path getFile gave out
	nextFilePath int64
	commands     map[string][]BotCommand

	calls    map[string]int
	metrics  Metrics
	rejected []RejectedCall
	unknown  map[string]map[string]bool
}

// pendingUpdate is an update not yet confirmed by getUpdates or delivered to the webhook.
type pendingUpdate struct {
	id     int64
	chatID int64
	raw    json.RawMessage
}

// storedFile is a file the emulator knows by its file_id: one the bot uploaded or sent by URL, or
// one a person sent. The bot may send it again by that id, and the chat page shows it.
type storedFile struct {
	id          string
	kind        string // "photo" or "document": Telegram refuses a file_id sent as the other
	name        string
	contentType string
	data        []byte // nil for a file sent by URL
	path        string // the file_path getFile gave out, "" before
}

// New builds an emulator. It panics when Options.Spec or Options.SpecFile is given and cannot be
// read as a Bot API description, which is a mistake in the test's setup.
func New(opts Options) *Server {
	if opts.BotUsername == "" {
		opts.BotUsername = "maytinhchoem_bot"
	}
	if opts.BotName == "" {
		opts.BotName = "Máy tính cho em"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.WebhookClient == nil {
		opts.WebhookClient = &http.Client{Timeout: 30 * time.Second}
	}
	if opts.WebhookAttempts <= 0 {
		opts.WebhookAttempts = 10
	}
	if opts.WebhookBackoff <= 0 {
		opts.WebhookBackoff = 50 * time.Millisecond
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	raw := opts.Spec
	if len(raw) == 0 && opts.SpecFile != "" {
		b, err := os.ReadFile(opts.SpecFile)
		if err != nil {
			panic(fmt.Sprintf("telegramtest: read Bot API description: %v", err))
		}
		raw = b
	}
	if len(raw) == 0 {
		raw = embeddedSpec
	}
	spec, err := loadSpec(raw)
	if err != nil {
		panic(err.Error())
	}
	return &Server{
		opts:         opts,
		spec:         spec,
		botUser:      wireUser{ID: botID(opts.Token), IsBot: true, FirstName: opts.BotName, Username: opts.BotUsername},
		log:          logger,
		flood:        newFloodControl(opts.Limits),
		changed:      make(chan struct{}),
		closed:       make(chan struct{}),
		nextUpdateID: 100000001,
		arrived:      map[int64]time.Time{},
		chats:        map[int64]*chatState{},
		queries:      map[string]*callbackQuery{},
		files:        map[string]*storedFile{},
		paths:        map[string]*storedFile{},
		commands:     map[string][]BotCommand{},
		calls:        map[string]int{},
		unknown:      map[string]map[string]bool{},
	}
}

// botID takes the bot's id from its token ("123456:ABC..."), as Telegram's ids and tokens agree.
func botID(token string) int64 {
	if head, _, ok := strings.Cut(token, ":"); ok {
		if id, err := strconv.ParseInt(head, 10, 64); err == nil && id > 0 {
			return id
		}
	}
	return 7000000001
}

// Close releases long-poll waiters and stops webhook delivery. The handler keeps answering
// afterwards, but getUpdates no longer waits.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closed) })
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	s.mu.Lock()
	h := s.hook
	s.hook = nil
	s.mu.Unlock()
	h.stop()
}

// ServeHTTP routes /bot<token>/<method> to the Bot API, /file/bot<token>/<file_path> to the
// downloads of files getFile gave a path for, /api/ to the user side and / to the chat
// page; the last two only for Options.PageHosts, the API only with Options.PageToken (see guardPage).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/bot"):
		s.serveBotAPI(w, r)
	case strings.HasPrefix(p, "/file/bot"):
		s.serveFile(w, r)
	case strings.HasPrefix(p, "/api/"):
		if s.guardPage(w, r, true) {
			s.serveUserAPI(w, r)
		}
	case p == "/" || p == "/index.html":
		if !s.guardPage(w, r, false) {
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(chatPage)
	default:
		http.NotFound(w, r)
	}
}

// waitLocked releases s.mu until something changes, the timer fires, the request ends or the
// emulator closes, then takes s.mu again; expired is true for anything but a change.
func (s *Server) waitLocked(r *http.Request, timer *time.Timer) (expired bool) {
	changed := s.changed
	s.mu.Unlock()
	defer s.mu.Lock()
	select {
	case <-changed:
		return false
	case <-timer.C:
	case <-r.Context().Done():
	case <-s.closed:
	}
	return true
}

// notify wakes every waiter; call with s.mu held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// nextVersion stamps a change for the chat page's cursor; call with s.mu held.
func (s *Server) nextVersion() int64 {
	s.version++
	return s.version
}

// apiError is a Bot API error answer.
type apiError struct {
	code        int
	description string
	retryAfter  int
}

func badRequest(msg string) *apiError {
	return &apiError{code: http.StatusBadRequest, description: "Bad Request: " + msg}
}

func forbidden(msg string) *apiError {
	return &apiError{code: http.StatusForbidden, description: "Forbidden: " + msg}
}

func conflict(msg string) *apiError {
	return &apiError{code: http.StatusConflict, description: "Conflict: " + msg}
}

var _ http.Handler = (*Server)(nil)

// writeEnvelope answers in Telegram's envelope; the HTTP status is the error code, as Telegram's.
func writeEnvelope(w http.ResponseWriter, result any, e *apiError) {
	w.Header().Set("Content-Type", "application/json")
	if e == nil {
		_ = json.NewEncoder(w).Encode(struct {
			OK     bool `json:"ok"`
			Result any  `json:"result"`
		}{true, result})
		return
	}
	type parameters struct {
		RetryAfter int `json:"retry_after"`
	}
	body := struct {
		OK          bool        `json:"ok"`
		ErrorCode   int         `json:"error_code"`
		Description string      `json:"description"`
		Parameters  *parameters `json:"parameters,omitempty"`
	}{false, e.code, e.description, nil}
	if e.retryAfter > 0 {
		body.Parameters = &parameters{RetryAfter: e.retryAfter}
	}
	w.WriteHeader(e.code)
	_ = json.NewEncoder(w).Encode(body)
}
