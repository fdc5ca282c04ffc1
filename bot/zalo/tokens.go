package zalo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrTokenDead means the token endpoint refused the OA's refresh token: nothing can be sent on
// Zalo until an operator pastes a new one (ZALO_REFRESH_TOKEN). Retrying does not help.
var ErrTokenDead = errors.New("zalo: the OA's refresh token is dead")

func deadError(reason string) error {
	return fmt.Errorf("%w (%s): an operator must paste a new ZALO_REFRESH_TOKEN", ErrTokenDead, reason)
}

const (
	// accessLifetime is assumed when the token endpoint does not say (Zalo documents 25 hours).
	accessLifetime = 25 * time.Hour
	// minRefreshGap keeps a token refused right after its refresh from being rotated again by
	// every message that follows: at most one rotation a minute across replicas.
	minRefreshGap = time.Minute
	// maxOldSeeds is how many earlier seeds the record remembers (see tokenRecord.OldSeeds).
	maxOldSeeds = 16
)

// tokenRecord is the OA's token pair as every replica shares it in the RecordStore. It holds
// secrets: it is never logged.
type tokenRecord struct {
	AccessToken  string    `json:"access_token,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	ExpiresAt    time.Time `json:"expires_at"`
	RefreshedAt  time.Time `json:"refreshed_at"`
	// Seed is the sha256 hex of the configured refresh token the pair descends from: when an
	// operator pastes another one, the seeds differ and the pasted token replaces the pair.
	Seed string `json:"seed"`
	// OldSeeds are the seeds the pair replaced. A replica still configured with one of them (a
	// rolling deploy) uses the current pair instead of exchanging its long-spent token, which
	// would be refused and kill the pair of every replica.
	OldSeeds []string `json:"old_seeds,omitempty"`
	// Dead is why the token endpoint refused the refresh token; nobody calls it again for this
	// seed.
	Dead string `json:"dead,omitempty"`
}

// tokenState is what a replica keeps in memory of the shared record.
type tokenState struct {
	access string
	dead   string
}

func decodeRecord(raw []byte) (*tokenRecord, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var rec tokenRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, fmt.Errorf("zalo: the stored token pair is not JSON: %w", err)
	}
	return &rec, nil
}

// ours reports whether rec descends from the configured refresh token or from one it replaced.
func (a *Adapter) ours(rec *tokenRecord) bool {
	return rec.Seed == a.seed || slices.Contains(rec.OldSeeds, a.seed)
}

// due reports whether rec's access token should be refreshed now.
func (a *Adapter) due(rec *tokenRecord) bool {
	return !a.now().Add(a.cfg.RefreshAhead).Before(rec.ExpiresAt)
}

// syncTokens takes the shared pair into memory, first seeding or refreshing it when needed. New
// calls it, then the token loop every minute: another replica may have rotated the pair.
func (a *Adapter) syncTokens(ctx context.Context) error {
	raw, err := a.cfg.Records.LoadRecord(ctx, a.recordKey)
	if err != nil {
		return fmt.Errorf("zalo: load the token pair: %w", err)
	}
	rec, err := decodeRecord(raw)
	if err != nil {
		return err
	}
	if rec != nil && a.ours(rec) && (rec.Dead != "" || !a.due(rec)) {
		a.adopt(rec)
		return nil
	}
	_, err = a.updateTokens(ctx, "")
	return err
}

// keepTokens runs syncTokens every minute until the Adapter is closed.
func (a *Adapter) keepTokens() {
	t := time.NewTicker(a.cfg.SyncEvery)
	defer t.Stop()
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(a.ctx, 4*a.cfg.HTTPTimeout)
		if err := a.syncTokens(ctx); err != nil && a.ctx.Err() == nil {
			a.log.Warn("zalo: keep the access token fresh", "err", err)
		}
		cancel()
	}
}

// updateTokens seeds, refreshes or just re-reads the shared pair under the store's lock and takes
// the result into memory. failed, when set, is an access token the API refused: the pair is then
// refreshed unless someone already did. Inside the lock the current record is always looked at
// again, so replicas never spend the single-use refresh token twice, and a new pair is committed
// before anyone uses it.
func (a *Adapter) updateTokens(ctx context.Context, failed string) (*tokenRecord, error) {
	// A caller giving up must not abort an exchange Zalo may already have made, or the commit of
	// its answer: the spent refresh token would be all that is left.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 4*a.cfg.HTTPTimeout)
	defer cancel()
	raw, err := a.cfg.Records.UpdateRecord(ctx, a.recordKey, func(current []byte) ([]byte, error) {
		cur, err := decodeRecord(current)
		if err != nil {
			return nil, err
		}
		next, err := a.nextRecord(ctx, cur, failed)
		if err != nil {
			return nil, err
		}
		return json.Marshal(next)
	})
	if err != nil {
		return nil, fmt.Errorf("zalo: update the token pair: %w", err)
	}
	rec, err := decodeRecord(raw)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, errors.New("zalo: the token store returned no record")
	}
	a.adopt(rec)
	return rec, nil
}

// nextRecord decides, under the lock, what the shared record becomes.
func (a *Adapter) nextRecord(ctx context.Context, cur *tokenRecord, failed string) (*tokenRecord, error) {
	if cur == nil || !a.ours(cur) {
		// First start, or an operator pasted a new refresh token.
		next, err := a.exchangeInto(ctx, a.cfg.RefreshToken)
		if err != nil {
			return nil, err
		}
		next.Seed = a.seed
		if cur != nil {
			next.OldSeeds = append(slices.Clone(cur.OldSeeds), cur.Seed)
			next.OldSeeds = slices.DeleteFunc(next.OldSeeds, func(s string) bool { return s == a.seed || s == "" })
			next.OldSeeds = next.OldSeeds[max(0, len(next.OldSeeds)-maxOldSeeds):]
		}
		return next, nil
	}
	switch {
	case cur.Dead != "":
		return cur, nil
	case failed == "" && !a.due(cur):
		return cur, nil // another replica refreshed it meanwhile
	case failed != "" && cur.AccessToken != failed:
		return cur, nil // another replica refreshed it since the failed call
	case failed != "" && a.now().Sub(cur.RefreshedAt) < minRefreshGap:
		return cur, nil
	}
	next, err := a.exchangeInto(ctx, cur.RefreshToken)
	if err != nil {
		return nil, err
	}
	next.Seed, next.OldSeeds = cur.Seed, cur.OldSeeds
	return next, nil
}

// exchangeInto exchanges refreshToken for a new pair. A refusal is not an error: it comes back as a
// dead record, to be stored so that every replica stops.
func (a *Adapter) exchangeInto(ctx context.Context, refreshToken string) (*tokenRecord, error) {
	now := a.now()
	access, refresh, lifetime, err := a.exchange(ctx, refreshToken)
	var refused *refusedError
	if errors.As(err, &refused) {
		return &tokenRecord{RefreshedAt: now, Dead: refused.reason}, nil
	}
	if err != nil {
		return nil, err
	}
	return &tokenRecord{AccessToken: access, RefreshToken: refresh, ExpiresAt: now.Add(lifetime), RefreshedAt: now}, nil
}

// adopt takes rec into memory, logging a dead token once.
func (a *Adapter) adopt(rec *tokenRecord) {
	if rec.Seed != a.seed {
		a.staleSeed.Do(func() {
			a.log.Warn("zalo: ZALO_REFRESH_TOKEN is one the shared token pair has replaced; using the shared pair")
		})
	}
	if rec.Dead != "" && a.deadLogged.CompareAndSwap(false, true) {
		a.log.Error("zalo: the OA's refresh token was refused; nothing is sent on Zalo until an operator pastes a new ZALO_REFRESH_TOKEN",
			"reason", rec.Dead)
	}
	if rec.Dead == "" {
		a.deadLogged.Store(false)
	}
	a.tok.Store(&tokenState{access: rec.AccessToken, dead: rec.Dead})
}

// accessToken is the token API calls carry, or why there is none.
func (a *Adapter) accessToken() (string, error) {
	t := a.tok.Load()
	switch {
	case t == nil:
		return "", errors.New("zalo: no access token yet")
	case t.dead != "":
		return "", deadError(t.dead)
	}
	return t.access, nil
}

// refreshAfter refreshes the pair after the API refused failed (-216, -220) and returns the access
// token to retry with, which is failed again when no newer one could be had.
func (a *Adapter) refreshAfter(ctx context.Context, failed string) (string, error) {
	rec, err := a.updateTokens(ctx, failed)
	if err != nil {
		return "", err
	}
	if rec.Dead != "" {
		return "", deadError(rec.Dead)
	}
	return rec.AccessToken, nil
}

// refusedError is the token endpoint refusing a refresh token.
type refusedError struct{ reason string }

func (e *refusedError) Error() string { return "zalo: refresh token refused: " + e.reason }

// exchange asks the token endpoint for a new pair. An answer carrying an error (Zalo answers them
// with HTTP 200) is a *refusedError, except a rate limit; no answer, a 5xx or an answer that cannot
// be read is a plain error worth retrying later. Tokens never appear in the errors.
func (a *Adapter) exchange(ctx context.Context, refreshToken string) (access, refresh string, lifetime time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.HTTPTimeout)
	defer cancel()
	form := url.Values{"refresh_token": {refreshToken}, "app_id": {a.cfg.AppID}, "grant_type": {"refresh_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.oauthURL+"/v4/oa/access_token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", "", 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("secret_key", a.cfg.AppSecret)
	resp, err := a.http.Do(req)
	if err != nil {
		return "", "", 0, fmt.Errorf("zalo: token endpoint: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", "", 0, fmt.Errorf("zalo: token endpoint: read the answer: %w", err)
	}
	if resp.StatusCode >= 500 {
		return "", "", 0, fmt.Errorf("zalo: token endpoint: HTTP %d", resp.StatusCode)
	}
	var ans struct {
		AccessToken      string     `json:"access_token"`
		RefreshToken     string     `json:"refresh_token"`
		ExpiresIn        flexString `json:"expires_in"`
		Error            flexInt    `json:"error"`
		ErrorName        string     `json:"error_name"`
		ErrorDescription string     `json:"error_description"`
		Message          string     `json:"message"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return "", "", 0, fmt.Errorf("zalo: token endpoint: HTTP %d, an answer that is not JSON", resp.StatusCode)
	}
	if ans.Error != 0 || ans.ErrorName != "" {
		reason := strings.TrimSpace(fmt.Sprintf("error %d %s %s %s", ans.Error, ans.ErrorName, ans.ErrorDescription, ans.Message))
		if ans.Error == codeRateLimit {
			return "", "", 0, fmt.Errorf("zalo: token endpoint: %s", reason)
		}
		return "", "", 0, &refusedError{reason: reason}
	}
	if resp.StatusCode != http.StatusOK || ans.AccessToken == "" || ans.RefreshToken == "" {
		return "", "", 0, fmt.Errorf("zalo: token endpoint: HTTP %d without a token pair", resp.StatusCode)
	}
	lifetime = accessLifetime
	if secs, err := strconv.Atoi(string(ans.ExpiresIn)); err == nil && secs > 0 {
		lifetime = time.Duration(secs) * time.Second
	}
	return ans.AccessToken, ans.RefreshToken, lifetime, nil
}
