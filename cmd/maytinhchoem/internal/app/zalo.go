package app

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/thuduc/maytinhchoem/bot"
	"github.com/thuduc/maytinhchoem/bot/zalo"
	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/chat"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	redisstore "github.com/thuduc/maytinhchoem/storage/redis"
)

// zaloChannel is the Zalo OA channel of a running bot: the adapter and the durable inbox between
// its webhook and the dispatcher.
type zaloChannel struct {
	adapter *zalo.Adapter
	inbox   *redisstore.Inbox
	files   *postgres.FileStore
}

// newZalo connects the OA (ZALO_*): its token pair shared in PostgreSQL, its menus, interactions
// and inbox in Redis under the app's id, files Zalo cannot carry published as links under
// PUBLIC_URL (refused when it is not set).
func (a *App) newZalo(ctx context.Context) (*zaloChannel, error) {
	d := a.deps
	prefix := d.Config.RedisPrefix + "zalo:" + d.Config.ZaloAppID + ":"
	host, _ := os.Hostname()
	z := &zaloChannel{
		inbox: redisstore.NewInbox(d.Redis, prefix+"inbox", "bot", fmt.Sprintf("%s-%d", host, os.Getpid()), redisstore.InboxOptions{}),
		files: postgres.NewFileStore(d.DB),
	}
	state := redisstore.NewChannelState(d.Redis, prefix)
	var links zalo.FileLinks
	if d.Config.PublicURL != "" {
		links = fileLinks{files: z.files, base: d.Config.PublicURL}
	}
	var err error
	z.adapter, err = zalo.New(ctx, zalo.Config{
		AppID:        d.Config.ZaloAppID,
		AppSecret:    d.Config.ZaloAppSecret,
		OASecret:     d.Config.ZaloOASecret,
		RefreshToken: d.Config.ZaloRefreshToken,
		APIURL:       d.Config.ZaloAPIURL,
		OAuthURL:     d.Config.ZaloOAuthURL,
		Records:      postgres.NewRecordStore(d.DB),
		Menus:        state,
		Interactions: state,
		Links:        links,
		Now:          d.Now,
		Logger:       d.Logger,
	})
	if err != nil {
		return nil, err
	}
	return z, nil
}

// zaloEntry is how to reach the OA with a start payload: Zalo's links carry none, so the person
// opens the OA and sends the line.
func (a *App) zaloEntry(payload string) chat.Entry {
	e := chat.Entry{Channel: zalo.Channel, Name: "Zalo", Typed: "/start " + payload}
	if a.deps.Config.ZaloOAID != "" {
		e.URL = "https://zalo.me/" + a.deps.Config.ZaloOAID
	}
	return e
}

// wireZalo hooks the OA's follows and unfollows to the contacts and adds its paced sender.
func (a *App) wireZalo(ctx context.Context, paced func(bot.Sender, string, float64) *bot.PacedSender) {
	z, log := a.zalo, a.deps.Logger
	stopped := func(userID string, stopped bool) {
		if err := a.contacts.SetContactStopped(context.WithoutCancel(ctx), zalo.Channel, userID, stopped); err != nil {
			log.Error("zalo: record a follow or unfollow", "user", userID, "stopped", stopped, "err", err)
		}
	}
	z.adapter.OnUnfollow(func(userID string) { stopped(userID, true) })
	z.adapter.OnFollow(func(userID string) { stopped(userID, false) })
	a.sender.Add(zalo.Channel, paced(z.adapter, zalo.Channel+":"+a.deps.Config.ZaloAppID, a.deps.Config.ZaloRate))
}

// consumeZalo hands the OA's events from the inbox to the dispatcher until ctx ends, each event
// acknowledged once its own update is handled. A person who writes is reachable again, whatever a
// send outside the window recorded before: the mark is cleared once the update is handled (a
// no-op write when there is none), and an update whose mark could not be cleared is offered again.
func (a *App) consumeZalo(ctx context.Context) error {
	return a.zalo.adapter.Consume(ctx, a.zalo.inbox, func(ctx context.Context, u chat.Update) <-chan error {
		handled := a.dispatcher.Dispatch(ctx, u)
		out := make(chan error, 1)
		go func() {
			err := <-handled
			if err == nil {
				if err = a.contacts.SetContactUnreachable(ctx, zalo.Channel, u.ChatID, false); err != nil {
					err = fmt.Errorf("zalo: mark %s reachable: %w", u.ChatID, err)
				}
			}
			out <- err
		}()
		return out
	})
}

// fileLinks publishes files in PostgreSQL (every replica serves them) under PUBLIC_URL/files/.
type fileLinks struct {
	files *postgres.FileStore
	base  string
}

// Link implements zalo.FileLinks.
func (l fileLinks) Link(ctx context.Context, path, name string, ttl time.Duration) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("file link: %w", err)
	}
	defer f.Close()
	token, err := l.files.Put(ctx, name, f, ttl)
	if err != nil {
		return "", err
	}
	return l.base + "/files/" + url.PathEscape(token), nil
}

// serveFile answers GET /files/{token}: a file published for a person on a channel that cannot
// carry it. The token is the only key (256 random bits); the file is gone once it expires.
func serveFile(files *postgres.FileStore) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name, content, err := files.Open(r.Context(), r.PathValue("token"))
		switch {
		case campaign.ErrorCode(err) == campaign.ENOTFOUND:
			http.Error(w, "Liên kết đã hết hạn hoặc không tồn tại. / The link has expired or does not exist.", http.StatusNotFound)
			return
		case err != nil:
			http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
			return
		}
		ctype := mime.TypeByExtension(filepath.Ext(name))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(content)
	}
}

// sweepFiles removes expired file links every tick until ctx ends.
func (a *App) sweepFiles(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := a.zalo.files.Sweep(ctx); err != nil && !errors.Is(err, context.Canceled) {
			a.deps.Logger.Warn("sweep expired file links", "err", err)
		} else if n > 0 {
			a.deps.Logger.Info("swept expired file links", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
