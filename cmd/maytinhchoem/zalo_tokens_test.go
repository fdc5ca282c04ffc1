package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/bot/zalo"
	"github.com/thuduc/maytinhchoem/bot/zalo/zalotest"
	"github.com/thuduc/maytinhchoem/chat"
	"github.com/thuduc/maytinhchoem/cmd/maytinhchoem/internal/app"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	"github.com/thuduc/maytinhchoem/storage/postgres/postgrestest"
	redisstore "github.com/thuduc/maytinhchoem/storage/redis"
	"github.com/thuduc/maytinhchoem/storage/redis/redistest"
)

// zaloReplicas are three bot processes' Zalo adapters, each with its own database pool, over one
// database, one Redis and the emulator, on one settable clock.
type zaloReplicas struct {
	t        *testing.T
	clk      *zalotest.Clock
	emu      *zalotest.Server
	url      string
	dbURL    string
	user     string
	adapters []*zalo.Adapter
}

func newZaloReplicas(t *testing.T, n int) *zaloReplicas {
	t.Helper()
	clk := zalotest.NewClock(time.Date(2021, 9, 1, 8, 0, 0, 0, time.UTC))
	emu := zalotest.New(zalotest.Options{AppSecret: "replica-secret", Now: clk.Now, RatePerMinute: -1})
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { srv.Close(); emu.Close() })
	r := &zaloReplicas{t: t, clk: clk, emu: emu, url: srv.URL, dbURL: postgrestest.NewDatabaseURL(t)}
	r.user = emu.AddUser("Lan")
	if _, err := emu.Follow(r.user); err != nil {
		t.Fatal(err)
	}
	seed := emu.IssueRefreshToken()
	for range n {
		r.start(seed)
	}
	return r
}

// start adds a replica configured with the refresh token seed.
func (r *zaloReplicas) start(seed string) *zalo.Adapter {
	r.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db, err := app.OpenDatabase(ctx, r.dbURL)
	if err != nil {
		r.t.Fatal(err)
	}
	client, prefix := redistest.New(r.t)
	state := redisstore.NewChannelState(client, prefix)
	a, err := zalo.New(ctx, zalo.Config{
		AppID: "3066178286528016436", AppSecret: "replica-secret", RefreshToken: seed,
		APIURL: r.url, OAuthURL: r.url, Records: postgres.NewRecordStore(db), Menus: state, Interactions: state,
		Now: r.clk.Now, SyncEvery: 5 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { a.Close(); cancel(); db.Close() })
	r.adapters = append(r.adapters, a)
	return a
}

// hour moves the clock an hour on, lets the replicas' token loops look at the pair, and has the
// person write (staying inside the 7-day window) and every replica send them a message; it
// returns the replicas' send errors.
func (r *zaloReplicas) hour(i int) []error {
	r.clk.Advance(time.Hour)
	time.Sleep(15 * time.Millisecond)
	if _, err := r.emu.SendText(r.user, "chào"); err != nil {
		r.t.Fatal(err)
	}
	var errs []error
	for j, a := range r.adapters {
		err := a.Send(context.Background(), chat.Reply{Channel: zalo.Channel, ChatID: r.user, Output: chat.Output{Text: fmt.Sprintf("giờ %d, bản %d", i, j)}})
		errs = append(errs, err)
	}
	return errs
}

// Three replicas over ten days on the emulator's clock (access tokens live 25 hours, refresh
// tokens are single-use), a message an hour from each: every message goes, and the pair is
// refreshed about once a day in all, never once per replica, and never with a spent refresh token
// (simulateTokenDays fails on any send error or a replica not ready).
func TestZaloTokens_ThreeReplicasOverTenDays(t *testing.T) {
	env, err := newScratch(context.Background(), loadOptions{ServerURL: postgrestest.ServerURL(), RedisURL: redisURL()})
	if err != nil {
		t.Fatal(err)
	}
	defer env.cleanup()
	n, err := simulateTokenDays(context.Background(), env, 3, 10)
	if err != nil {
		t.Fatal(err)
	}
	// One exchange of the pasted token, then one refresh an hour before each expiry.
	if n < 10 || n > 12 {
		t.Errorf("%d refreshes over 10 days by 3 replicas, want about 11 (one a day)", n)
	}
}

// A refresh token killed mid-run (a person revoked the app): the replicas stop sending with
// ErrTokenDead and report not ready, nobody keeps calling the token endpoint, and a new pasted
// refresh token brings Zalo back.
func TestZaloTokens_RefreshTokenKilled(t *testing.T) {
	r := newZaloReplicas(t, 3)
	for i := range 30 {
		r.hour(i)
	}
	r.emu.KillRefreshTokens()
	var dead bool
	for i := 30; i < 60 && !dead; i++ {
		errs := r.hour(i)
		dead = errors.Is(errs[0], zalo.ErrTokenDead)
	}
	if !dead {
		t.Fatal("sends still succeed a day after the refresh token was killed")
	}
	attempts := r.emu.RefreshCount()
	for i := 60; i < 72; i++ {
		for j, err := range r.hour(i) {
			if !errors.Is(err, zalo.ErrTokenDead) {
				t.Errorf("hour %d, replica %d: %v, want ErrTokenDead", i, j, err)
			}
		}
	}
	if n := r.emu.RefreshCount(); n != attempts {
		t.Errorf("the token endpoint was called %d more times with a dead token, want none", n-attempts)
	}
	for j, a := range r.adapters {
		if err := a.Ready(); !errors.Is(err, zalo.ErrTokenDead) {
			t.Errorf("replica %d: Ready = %v, want ErrTokenDead", j, err)
		}
	}
	// An operator pastes a new refresh token and restarts: Zalo works again.
	revived := r.start(r.emu.IssueRefreshToken())
	if err := revived.Ready(); err != nil {
		t.Fatalf("after a new refresh token: %v", err)
	}
	if err := revived.Send(context.Background(), chat.Reply{Channel: zalo.Channel, ChatID: r.user, Output: chat.Output{Text: "lại được rồi"}}); err != nil {
		t.Errorf("send after a new refresh token: %v", err)
	}
}
