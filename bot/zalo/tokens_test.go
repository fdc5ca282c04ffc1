package zalo

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/chat"
)

func TestNew_config(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no app id", func(c *Config) { c.AppID = " " }, "ZALO_APP_ID is empty"},
		{"no app secret", func(c *Config) { c.AppSecret = "" }, "ZALO_APP_SECRET is empty"},
		{"no refresh token", func(c *Config) { c.RefreshToken = "" }, "ZALO_REFRESH_TOKEN is empty"},
		{"bad API URL", func(c *Config) { c.APIURL = "openapi.zalo.me" }, "ZALO_API_URL"},
		{"bad OAuth URL", func(c *Config) { c.OAuthURL = "ftp://x" }, "ZALO_OAUTH_URL"},
		{"no records", func(c *Config) { c.Records = nil }, "record store"},
		{"no menus", func(c *Config) { c.Menus = nil }, "menu store"},
		{"no interactions", func(c *Config) { c.Interactions = nil }, "interaction store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := &fixture{zalo: newFakeZalo(t), records: newFakeRecords(), menus: newFakeMenus(),
				inter: newFakeInteractions(), clock: newClock(), logs: &logBuffer{}}
			cfg := fx.config()
			tt.edit(&cfg)
			_, err := New(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one naming %q", err, tt.want)
			}
			if fx.zalo.OAuthCalls() != 0 {
				t.Error("called the token endpoint with a bad config")
			}
		})
	}
}

func TestNew_seedsOnce(t *testing.T) {
	fx := newFixture(t)
	if n := fx.zalo.OAuthCalls(); n != 1 {
		t.Fatalf("%d calls to the token endpoint, want 1", n)
	}
	rec := fx.records.record(t)
	if want := fmt.Sprintf("%x", sha256.Sum256([]byte(testSeed))); rec.Seed != want {
		t.Errorf("seed %q, want the sha256 of the configured token", rec.Seed)
	}
	if rec.AccessToken != "ACCESS-1" || rec.RefreshToken != "REFRESH-1" || !rec.ExpiresAt.Equal(testNow.Add(25*time.Hour)) {
		t.Errorf("record %+v", rec)
	}
	if err := fx.a.Ready(); err != nil {
		t.Errorf("Ready: %v", err)
	}
	if c := fx.a.Capabilities(); c != (chat.Capabilities{TextLimit: 2000, ButtonsPerMessage: 5, PayloadBytes: 1000, ContactRequest: true}) {
		t.Errorf("capabilities %+v", c)
	}
	// Another replica, or a restart, takes the stored pair.
	b := fx.newAdapter(t)
	if n := fx.zalo.OAuthCalls(); n != 1 {
		t.Errorf("%d calls to the token endpoint after a second New, want still 1", n)
	}
	if err := b.Send(context.Background(), reply(chat.Output{Text: "hi"})); err != nil {
		t.Errorf("second replica: %v", err)
	}
}

func TestNew_tokenEndpointDown(t *testing.T) {
	fx := &fixture{zalo: newFakeZalo(t), records: newFakeRecords(), menus: newFakeMenus(),
		inter: newFakeInteractions(), clock: newClock(), logs: &logBuffer{}}
	cfg := fx.config()
	fx.zalo.server.Close()
	if _, err := New(context.Background(), cfg); err == nil {
		t.Fatal("New succeeded without a token pair")
	} else {
		assertNoTokens(t, "the error", err.Error())
		if strings.Contains(err.Error(), testSeed) {
			t.Errorf("the error holds the refresh token: %v", err)
		}
	}
	if len(fx.records.data) != 0 {
		t.Error("a record was stored although the exchange failed")
	}
}

func TestAdapter_refreshesAhead(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	fx.clock.Add(23 * time.Hour) // 2 h before expiry, RefreshAhead is 1 h
	if err := fx.a.syncTokens(ctx); err != nil {
		t.Fatal(err)
	}
	if n := fx.zalo.OAuthCalls(); n != 1 {
		t.Errorf("refreshed %d times 2 h before expiry, want not yet", n-1)
	}
	fx.clock.Add(time.Hour + time.Minute)
	if err := fx.a.syncTokens(ctx); err != nil {
		t.Fatal(err)
	}
	if n := fx.zalo.OAuthCalls(); n != 2 {
		t.Errorf("%d calls to the token endpoint, want a refresh within RefreshAhead", n)
	}
	if err := fx.a.Send(ctx, reply(chat.Output{Text: "hi"})); err != nil {
		t.Errorf("Send with the refreshed token: %v", err)
	}
	if calls := fx.zalo.Calls(); len(calls) != 1 || calls[0].Token != "ACCESS-2" {
		t.Errorf("calls %+v, want one with the new token", calls)
	}
}

func TestAdapter_loopRefreshes(t *testing.T) {
	fx := newFixture(t, func(c *Config) { c.SyncEvery = 5 * time.Millisecond })
	fx.clock.Add(24*time.Hour + time.Minute)
	deadline := time.Now().Add(5 * time.Second)
	for fx.zalo.OAuthCalls() < 2 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(30 * time.Millisecond) // more ticks: none may refresh again
	if n := fx.zalo.OAuthCalls(); n != 2 {
		t.Errorf("%d calls to the token endpoint, want the loop to refresh once", n)
	}
	fx.a.Close()
}

// TestAdapter_tokenRace runs three replicas through every rotation at once: each rotation must
// call the token endpoint exactly once, and no replica may ever present a spent refresh token.
func TestAdapter_tokenRace(t *testing.T) {
	fx := &fixture{zalo: newFakeZalo(t), records: newFakeRecords(), menus: newFakeMenus(),
		inter: newFakeInteractions(), links: &fakeLinks{}, clock: newClock(), logs: &logBuffer{}}
	replicas := make([]*Adapter, 3)
	parallel := func(fn func(i int, a *Adapter)) {
		var wg sync.WaitGroup
		for i := range replicas {
			wg.Add(1)
			go func() { defer wg.Done(); fn(i, replicas[i]) }()
		}
		wg.Wait()
	}
	// Three replicas start at once on a fresh database.
	parallel(func(i int, _ *Adapter) {
		a, err := New(context.Background(), fx.config())
		if err != nil {
			t.Errorf("replica %d: New: %v", i, err)
			return
		}
		t.Cleanup(a.Close)
		replicas[i] = a
	})
	if t.Failed() {
		t.FailNow()
	}
	check := func(stage string, wantOAuth int) {
		t.Helper()
		if n := fx.zalo.OAuthCalls(); n != wantOAuth {
			t.Errorf("%s: %d calls to the token endpoint, want %d", stage, n, wantOAuth)
		}
		fx.zalo.mu.Lock()
		dead := fx.zalo.deadUses
		fx.zalo.mu.Unlock()
		if dead != 0 {
			t.Fatalf("%s: a spent refresh token was presented %d times", stage, dead)
		}
	}
	check("start", 1)

	// The refresh falls due on all three at once.
	fx.clock.Add(24*time.Hour + time.Minute)
	parallel(func(i int, a *Adapter) {
		if err := a.syncTokens(context.Background()); err != nil {
			t.Errorf("replica %d: sync: %v", i, err)
		}
	})
	check("refresh ahead", 2)

	// Zalo revokes the access token: every replica's next message is refused with -216. (A token
	// refused within a minute of its refresh is not rotated again: the clock moves on first.)
	fx.clock.Add(2 * time.Minute)
	fx.zalo.revokeAccess()
	parallel(func(i int, a *Adapter) {
		for range 3 {
			if err := a.Send(context.Background(), reply(chat.Output{Text: "hi"})); err != nil {
				t.Errorf("replica %d: Send: %v", i, err)
			}
		}
	})
	check("refresh after -216", 3)
	for _, c := range fx.zalo.Calls() {
		if c.Token != "ACCESS-3" {
			t.Errorf("a message went with %s, want ACCESS-3", c.Token)
		}
	}
	if n := len(fx.zalo.Calls()); n != 9 {
		t.Errorf("%d messages got through, want 9", n)
	}
	assertNoTokens(t, "logs", fx.logs.String())
}

func TestAdapter_Send_refreshesOnce(t *testing.T) {
	for _, code := range []int{-216, -220} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			fx := newFixture(t)
			fx.clock.Add(2 * time.Minute) // past minRefreshGap since the seed
			refused := false
			fx.zalo.setReply(func(c apiCall) (int, string) {
				if c.Token == "ACCESS-1" && !refused {
					refused = true // the fake's handler runs one call at a time here
					return 200, fmt.Sprintf(`{"error":%d,"message":"Access token is expired"}`, code)
				}
				return 0, ""
			})
			if err := fx.a.Send(context.Background(), reply(chat.Output{Text: "hi"})); err != nil {
				t.Fatalf("Send: %v", err)
			}
			calls := fx.zalo.Calls()
			if len(calls) != 2 || calls[1].Token != "ACCESS-2" {
				t.Errorf("calls %+v, want the refused one and its retry with the new token", calls)
			}
			if n := fx.zalo.OAuthCalls(); n != 2 {
				t.Errorf("%d calls to the token endpoint, want one refresh after the seed", n)
			}
		})
	}
}

func TestAdapter_Send_tokenRefusedAfterRefresh(t *testing.T) {
	fx := newFixture(t)
	fx.clock.Add(2 * time.Minute) // past minRefreshGap since the seed
	fx.zalo.setReply(func(apiCall) (int, string) { return 200, `{"error":-216,"message":"Access token is invalid"}` })
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		err := fx.a.Send(ctx, reply(chat.Output{Text: "hi"}))
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != -216 || errors.Is(err, chat.ErrRejected) || errors.Is(err, chat.ErrUnreachable) {
			t.Errorf("send %d: err = %v, want a plain -216", i, err)
		}
	}
	// One refresh for the first message; the next ones, refused within a minute of it, do not
	// rotate the pair again.
	if n := fx.zalo.OAuthCalls(); n != 2 {
		t.Errorf("%d calls to the token endpoint, want 2", n)
	}
	if !strings.Contains(fx.logs.String(), "level=ERROR") {
		t.Error("a token refused after its refresh was not logged at Error")
	}
}

func TestAdapter_deadRefreshToken(t *testing.T) {
	fx := &fixture{zalo: newFakeZalo(t), records: newFakeRecords(), menus: newFakeMenus(),
		inter: newFakeInteractions(), links: &fakeLinks{}, clock: newClock(), logs: &logBuffer{}}
	fx.zalo.refuseAll = true
	a := fx.newAdapter(t) // New succeeds: the rest of the bot still runs
	ctx := context.Background()

	if err := a.Ready(); !errors.Is(err, ErrTokenDead) {
		t.Errorf("Ready = %v, want ErrTokenDead", err)
	}
	err := a.Send(ctx, reply(chat.Output{Text: "hi"}))
	if !errors.Is(err, ErrTokenDead) || errors.Is(err, chat.ErrRejected) || errors.Is(err, chat.ErrUnreachable) || errors.Is(err, chat.ErrStopped) {
		t.Errorf("Send = %v, want a plain error wrapping ErrTokenDead", err)
	}
	if rec := fx.records.record(t); rec.Dead == "" || rec.AccessToken != "" {
		t.Errorf("record %+v, want it marked dead", rec)
	}
	// Nobody calls the token endpoint again for this seed: not the loop, not another replica.
	fx.clock.Add(30 * time.Hour)
	if err := a.syncTokens(ctx); err != nil {
		t.Errorf("sync: %v", err)
	}
	b := fx.newAdapter(t)
	if err := b.Ready(); !errors.Is(err, ErrTokenDead) {
		t.Errorf("second replica: Ready = %v", err)
	}
	if n := fx.zalo.OAuthCalls(); n != 1 {
		t.Errorf("%d calls to the token endpoint, want 1", n)
	}
	if n := len(fx.zalo.Calls()); n != 0 {
		t.Errorf("%d API calls with a dead token", n)
	}
	if n := strings.Count(fx.logs.String(), "level=ERROR"); n != 2 {
		t.Errorf("%d Error lines, want one per replica:\n%s", n, fx.logs)
	}

	// An operator pastes a new refresh token: the replica configured with it revives the pair, and
	// the others, still configured with the old one, take it up at their next look.
	fx.zalo.mu.Lock()
	fx.zalo.refuseAll = false
	fx.zalo.mu.Unlock()
	fx.zalo.addRefresh("REFRESH-PASTED")
	c := fx.newAdapter(t, func(c *Config) { c.RefreshToken = "REFRESH-PASTED" })
	if err := c.Ready(); err != nil {
		t.Fatalf("revived replica: Ready = %v", err)
	}
	if err := a.syncTokens(ctx); err != nil || a.Ready() != nil {
		t.Errorf("old replica after the paste: sync %v, Ready %v", err, a.Ready())
	}
	if n := fx.zalo.OAuthCalls(); n != 2 {
		t.Errorf("%d calls to the token endpoint, want 2", n)
	}
	if err := a.Send(ctx, reply(chat.Output{Text: "hi"})); err != nil {
		t.Errorf("old replica: Send = %v", err)
	}
}

func TestAdapter_deadOnRefresh(t *testing.T) {
	fx := newFixture(t)
	fx.zalo.mu.Lock()
	fx.zalo.refuseAll = true
	fx.zalo.mu.Unlock()
	fx.clock.Add(24*time.Hour + time.Minute)
	if err := fx.a.syncTokens(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := fx.a.Ready(); !errors.Is(err, ErrTokenDead) {
		t.Errorf("Ready = %v, want ErrTokenDead", err)
	}
	if err := fx.a.syncTokens(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := fx.zalo.OAuthCalls(); n != 2 {
		t.Errorf("%d calls to the token endpoint, want 2 (the seed, the refused refresh)", n)
	}
}

// TestAdapter_rollingDeploy: while a new refresh token is rolled out, replicas still configured
// with the old one must not exchange it again: it is spent, the refusal would mark the new pair
// dead.
func TestAdapter_rollingDeploy(t *testing.T) {
	fx := newFixture(t)
	fx.zalo.addRefresh("REFRESH-PASTED")
	b := fx.newAdapter(t, func(c *Config) { c.RefreshToken = "REFRESH-PASTED" })
	ctx := context.Background()
	if n := fx.zalo.OAuthCalls(); n != 2 {
		t.Fatalf("%d calls to the token endpoint, want the seed and the pasted token", n)
	}
	for range 2 {
		if err := fx.a.syncTokens(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := fx.newAdapter(t).accessToken(); err != nil {
			t.Fatal(err)
		}
	}
	if n := fx.zalo.OAuthCalls(); n != 2 {
		t.Errorf("%d calls to the token endpoint, want still 2", n)
	}
	fx.zalo.mu.Lock()
	dead := fx.zalo.deadUses
	fx.zalo.mu.Unlock()
	if dead != 0 {
		t.Errorf("a spent refresh token was presented %d times", dead)
	}
	for _, a := range []*Adapter{fx.a, b} {
		if err := a.Send(ctx, reply(chat.Output{Text: "hi"})); err != nil {
			t.Errorf("Send: %v", err)
		}
	}
	if !strings.Contains(fx.logs.String(), "one the shared token pair has replaced") {
		t.Error("the stale configuration was not warned about")
	}
}
