package app

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Config is everything the bot reads from its environment. The README's configuration table lists
// the same variables; keep the two together.
type Config struct {
	TelegramToken  string        `env:"TELEGRAM_TOKEN"`
	TelegramAPIURL string        `env:"TELEGRAM_API_URL" envDefault:"https://api.telegram.org"`
	TelegramMode   string        `env:"TELEGRAM_MODE" envDefault:"polling"`
	WebhookURL     string        `env:"WEBHOOK_URL"`
	WebhookSecret  string        `env:"WEBHOOK_SECRET"`
	HTTPAddr       string        `env:"HTTP_ADDR" envDefault:":8080"`
	MetricsAddr    string        `env:"METRICS_ADDR"`
	DatabaseURL    string        `env:"DATABASE_URL"`
	RedisURL       string        `env:"REDIS_URL"`
	RedisPrefix    string        `env:"REDIS_KEY_PREFIX" envDefault:"mtce:"`
	AdminIDs       string        `env:"ADMIN_TELEGRAM_IDS"`
	Admins         string        `env:"ADMINS"`
	CampaignFile   string        `env:"CAMPAIGN_FILE"`
	IdleExpiry     time.Duration `env:"DIALOG_IDLE_EXPIRY" envDefault:"168h"`
	RateGlobal     float64       `env:"SEND_RATE_GLOBAL" envDefault:"30"`
	RatePerChat    float64       `env:"SEND_RATE_PER_CHAT" envDefault:"1"`
	LogLevel       string        `env:"LOG_LEVEL" envDefault:"info"`
	InvitationTTL  time.Duration `env:"INVITATION_TTL" envDefault:"72h"`
	MoneyCeiling   int64         `env:"MONEY_CONFIRM_ABOVE_VND" envDefault:"100000000"`
	ConfirmAfter   time.Duration `env:"DELIVERY_CONFIRM_AFTER" envDefault:"168h"`
	ExportDir      string        `env:"EXPORT_DIR"`
	ReportsDir     string        `env:"REPORTS_DIR"`
	JobsEnabled    bool          `env:"JOBS" envDefault:"true"`
	// DBStatementTimeout and DBLockTimeout bound every statement of the stores, so one stuck
	// query cannot stall every chat; UpdateDeadline bounds the handling of one update.
	DBStatementTimeout time.Duration `env:"DB_STATEMENT_TIMEOUT" envDefault:"10s"`
	DBLockTimeout      time.Duration `env:"DB_LOCK_TIMEOUT" envDefault:"5s"`
	UpdateDeadline     time.Duration `env:"UPDATE_DEADLINE" envDefault:"30s"`
	PublicURL          string        `env:"PUBLIC_URL"`

	ZaloAppID        string  `env:"ZALO_APP_ID"`
	ZaloAppSecret    string  `env:"ZALO_APP_SECRET"`
	ZaloOASecret     string  `env:"ZALO_OA_SECRET"`
	ZaloRefreshToken string  `env:"ZALO_REFRESH_TOKEN"`
	ZaloOAID         string  `env:"ZALO_OA_ID"`
	ZaloAPIURL       string  `env:"ZALO_API_URL" envDefault:"https://openapi.zalo.me"`
	ZaloOAuthURL     string  `env:"ZALO_OAUTH_URL" envDefault:"https://oauth.zaloapp.com"`
	ZaloWebhookPath  string  `env:"ZALO_WEBHOOK_PATH" envDefault:"/zalo/webhook"`
	ZaloRate         float64 `env:"ZALO_SEND_RATE" envDefault:"50"`

	// admins are the administrators as "channel:id" ("telegram:123", "zalo:4567").
	admins []string
}

// telegramOn and zaloOn say which channels this configuration runs.
func (cfg Config) telegramOn() bool { return cfg.TelegramToken != "" }
func (cfg Config) zaloOn() bool     { return cfg.ZaloAppID != "" || cfg.ZaloRefreshToken != "" }

// isAdmin says whether the account id on channel is a configured administrator.
func (cfg Config) isAdmin(channel, id string) bool {
	return slices.Contains(cfg.admins, channel+":"+id)
}

var (
	webhookSecretPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
	// zaloUserID is an id Zalo gives a person or an OA: digits, beyond 2^53, kept as a string.
	zaloUserID = regexp.MustCompile(`^[0-9]{1,24}$`)
)

// Administrators are the administrators as "channel:id" ("telegram:123", "zalo:4567"), from
// ADMINS and ADMIN_TELEGRAM_IDS and those added with AddAdmin.
func (cfg Config) Administrators() []string { return slices.Clone(cfg.admins) }

// AddAdmin adds an administrator ("channel:id") once.
func (cfg *Config) AddAdmin(id string) {
	if !slices.Contains(cfg.admins, id) {
		cfg.admins = append(cfg.admins, id)
	}
}

// LoadConfig reads the environment through getenv. Settings that are malformed are reported all at
// once, each by its variable's name.
func LoadConfig(getenv func(string) string) (Config, error) {
	var cfg Config
	params, err := env.GetFieldParams(&cfg)
	if err != nil {
		return cfg, err
	}
	vars := map[string]string{}
	for _, p := range params {
		if v := getenv(p.Key); v != "" {
			vars[p.Key] = v
		}
	}
	if err := env.ParseWithOptions(&cfg, env.Options{Environment: vars}); err != nil {
		return cfg, fmt.Errorf("configuration: %w", nameVariables(err))
	}
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	if u, err := url.Parse(cfg.TelegramAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("TELEGRAM_API_URL", "must be an http(s) URL, got %q", cfg.TelegramAPIURL)
	}
	switch cfg.TelegramMode {
	case "polling", "webhook":
	default:
		bad("TELEGRAM_MODE", "must be polling or webhook, got %q", cfg.TelegramMode)
	}
	if cfg.IdleExpiry < time.Minute {
		bad("DIALOG_IDLE_EXPIRY", "must be at least 1m, got %s", cfg.IdleExpiry)
	}
	if cfg.RateGlobal < 0 || cfg.RatePerChat < 0 {
		bad("SEND_RATE_GLOBAL/SEND_RATE_PER_CHAT", "must not be negative")
	}
	if cfg.InvitationTTL < time.Minute {
		bad("INVITATION_TTL", "must be at least 1m, got %s", cfg.InvitationTTL)
	}
	if cfg.DBStatementTimeout < 0 || cfg.DBLockTimeout < 0 {
		bad("DB_STATEMENT_TIMEOUT/DB_LOCK_TIMEOUT", "must not be negative (0: no limit)")
	}
	if cfg.UpdateDeadline < time.Second {
		bad("UPDATE_DEADLINE", "must be at least 1s, got %s", cfg.UpdateDeadline)
	}
	if cfg.ConfirmAfter < time.Hour {
		bad("DELIVERY_CONFIRM_AFTER", "must be at least 1h, got %s", cfg.ConfirmAfter)
	}
	if cfg.MoneyCeiling < 1 {
		bad("MONEY_CONFIRM_ABOVE_VND", "must be a positive amount of VND, got %d", cfg.MoneyCeiling)
	}
	switch cfg.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("LOG_LEVEL", "must be debug, info, warn or error, got %q", cfg.LogLevel)
	}
	for _, f := range strings.FieldsFunc(cfg.AdminIDs, func(r rune) bool { return r == ',' || r == ' ' }) {
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil || id <= 0 {
			bad("ADMIN_TELEGRAM_IDS", "must be numeric Telegram user ids separated by commas, got %q", f)
			continue
		}
		cfg.AddAdmin("telegram:" + strconv.FormatInt(id, 10))
	}
	for _, f := range strings.FieldsFunc(cfg.Admins, func(r rune) bool { return r == ',' || r == ' ' }) {
		channel, id, _ := strings.Cut(f, ":")
		n, err := strconv.ParseInt(id, 10, 64)
		switch {
		case channel != "telegram" && channel != "zalo":
			bad("ADMINS", "must be channel:id pairs (telegram:123, zalo:4567) separated by commas, got %q", f)
		case channel == "telegram" && (err != nil || n <= 0):
			bad("ADMINS", "a Telegram administrator is a numeric user id, got %q", f)
		case channel == "zalo" && !zaloUserID.MatchString(id):
			bad("ADMINS", "a Zalo administrator is the numeric id the OA sees (up to 24 digits), got %q", f)
		default:
			cfg.AddAdmin(channel + ":" + id)
		}
	}
	for name, v := range map[string]string{"ZALO_API_URL": cfg.ZaloAPIURL, "ZALO_OAUTH_URL": cfg.ZaloOAuthURL} {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(name, "must be an http(s) URL, got %q", v)
		}
	}
	if !strings.HasPrefix(cfg.ZaloWebhookPath, "/") || strings.ContainsAny(cfg.ZaloWebhookPath, " ?#{}") {
		bad("ZALO_WEBHOOK_PATH", "must be a path starting with /, got %q", cfg.ZaloWebhookPath)
	}
	if cfg.ZaloRate <= 0 {
		bad("ZALO_SEND_RATE", "must be a positive number of messages per second, got %v", cfg.ZaloRate)
	}
	if cfg.ZaloAppID != "" && !zaloUserID.MatchString(cfg.ZaloAppID) {
		bad("ZALO_APP_ID", "must be the app's numeric id, got %q", cfg.ZaloAppID)
	}
	if cfg.ZaloOAID != "" && !zaloUserID.MatchString(cfg.ZaloOAID) {
		bad("ZALO_OA_ID", "must be the OA's numeric id, got %q", cfg.ZaloOAID)
	}
	if addr, set := vars["METRICS_ADDR"]; !set {
		cfg.MetricsAddr = DefaultMetricsAddr
	} else if addr == "off" {
		cfg.MetricsAddr = ""
	}
	if cfg.MetricsAddr != "" {
		if err := checkMetricsAddr(cfg.MetricsAddr, cfg.HTTPAddr); err != nil {
			bad("METRICS_ADDR", "%v", err)
		}
	}
	if cfg.PublicURL != "" {
		if u, err := url.Parse(cfg.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("PUBLIC_URL", "must be the bot's public http(s) URL, got %q", cfg.PublicURL)
		}
		cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	}
	return cfg, errors.Join(errs...)
}

// DefaultMetricsAddr is METRICS_ADDR when it is not set; Config.MetricsAddr is "" when it is
// "off" (the environment cannot tell an empty variable from an unset one).
const DefaultMetricsAddr = ":9090"

// checkMetricsAddr checks METRICS_ADDR: a host:port of its own, not the one of HTTP_ADDR, since
// /metrics is kept off the public listener of the webhooks.
func checkMetricsAddr(addr, httpAddr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("must be host:port or :port (or off), got %q", addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("must end in a port number (0-65535), got %q", addr)
	}
	hhost, hport, err := net.SplitHostPort(httpAddr)
	if err != nil || port != hport || port == "0" {
		return nil
	}
	anyHost := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	if host == hhost || anyHost(host) || anyHost(hhost) {
		return fmt.Errorf("must not be HTTP_ADDR's address (%q): /metrics has a listener of its own, got %q", httpAddr, addr)
	}
	return nil
}

// validateServe checks what production needs on top of LoadConfig.
func (cfg Config) validateServe() error {
	var errs []error
	missing := func(name, value string) {
		if value == "" {
			errs = append(errs, fmt.Errorf("%s is required", name))
		}
	}
	if !cfg.telegramOn() && !cfg.zaloOn() {
		errs = append(errs, fmt.Errorf("TELEGRAM_TOKEN or the ZALO_* settings are required: no channel to run"))
	}
	if cfg.zaloOn() {
		missing("ZALO_APP_ID", cfg.ZaloAppID)
		missing("ZALO_APP_SECRET", cfg.ZaloAppSecret)
		missing("ZALO_REFRESH_TOKEN", cfg.ZaloRefreshToken)
	}
	missing("DATABASE_URL", cfg.DatabaseURL)
	missing("REDIS_URL", cfg.RedisURL)
	if cfg.TelegramToken != "" && !strings.Contains(cfg.TelegramToken, ":") {
		errs = append(errs, fmt.Errorf("TELEGRAM_TOKEN: does not look like a bot token (<id>:<secret>)"))
	}
	if cfg.DatabaseURL != "" {
		if u, err := url.Parse(cfg.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			errs = append(errs, fmt.Errorf("DATABASE_URL: must be a postgres:// URL"))
		}
	}
	if cfg.RedisURL != "" {
		if u, err := url.Parse(cfg.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			errs = append(errs, fmt.Errorf("REDIS_URL: must be a redis:// or rediss:// URL"))
		}
	}
	if cfg.telegramOn() && cfg.TelegramMode == "webhook" {
		missing("WEBHOOK_URL", cfg.WebhookURL)
		missing("WEBHOOK_SECRET", cfg.WebhookSecret)
		if cfg.WebhookURL != "" {
			if u, err := url.Parse(cfg.WebhookURL); err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
				errs = append(errs, fmt.Errorf("WEBHOOK_URL: must be an https URL Telegram can reach"))
			}
		}
		if cfg.WebhookSecret != "" && !webhookSecretPattern.MatchString(cfg.WebhookSecret) {
			errs = append(errs, fmt.Errorf("WEBHOOK_SECRET: must be 1-256 characters of A-Z, a-z, 0-9, _ and -"))
		}
	}
	return errors.Join(errs...)
}

// nameVariables rewrites the env library's parse errors, which name struct fields, to name the
// environment variable and the value it could not read.
func nameVariables(err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return err
	}
	keys := map[string]string{}
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		if k := t.Field(i).Tag.Get("env"); k != "" {
			keys[t.Field(i).Name] = k
		}
	}
	var errs []error
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) && keys[pe.Name] != "" {
			errs = append(errs, fmt.Errorf("%s: cannot read it as a %s: %w", keys[pe.Name], pe.Type, pe.Err))
			continue
		}
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}
