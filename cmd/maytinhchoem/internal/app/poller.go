package app

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// PollerLeaseTTL is how long the poller lease lasts without renewal: a stand-by takes over this
// long, at most, after the poller dies. It is renewed every third of it.
const PollerLeaseTTL = 9 * time.Second

// conflictTolerance is how long getUpdates may be answered 409 before /readyz fails: a moment
// of it happens when a poller hands over, a sustained one means a webhook is set or another bot
// process polls the token without the lease (another deployment).
const conflictTolerance = 30 * time.Second

// pollAsLeader polls Telegram only while this process holds the bot's poller lease in Redis, so
// of several replicas in polling mode one polls and the others stand by, taking over within
// PollerLeaseTTL when it dies. A poller that cannot renew its lease stops polling once the lease
// may have passed to another, never two pollers fighting with 409s. It returns nil when ctx ends,
// or Poll's error when the token is refused.
func (a *App) pollAsLeader(ctx context.Context) error {
	log := a.deps.Logger.With("bot", a.telegram.Username())
	lease, err := a.dialogs.NewLease("poller:telegram:"+a.telegram.Username(), PollerLeaseTTL)
	if err != nil {
		return err
	}
	var run *pollRun
	var lastHeld time.Time
	defer func() {
		run.stop()
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer rcancel()
		if err := lease.Release(rctx); err != nil {
			log.Warn("release the poller lease", "err", err)
		}
	}()
	tick := time.NewTicker(PollerLeaseTTL / 3)
	defer tick.Stop()
	for {
		held, err := lease.Hold(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			a.leaseTrouble.Store(time.Now().UnixNano())
			log.Warn("hold the poller lease", "err", err)
		case held:
			lastHeld = time.Now()
		}
		switch {
		case held && run == nil:
			run = a.startPolling(ctx)
			log.Info("polling for updates: this process holds the poller lease")
		case !held && run != nil && (err == nil || time.Since(lastHeld) >= PollerLeaseTTL):
			// Another process holds it now, or may: stop before two poll at once.
			if err := run.stop(); err != nil {
				return err
			}
			run = nil
			log.Warn("stopped polling: the poller lease is lost; standing by")
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-run.ended():
			run = nil
			if err != nil && ctx.Err() == nil {
				return err
			}
			// Poll ends without an error only when its context or the adapter's ends: on the way
			// out, the process's context ends a moment later (the adapter's is its sibling, and
			// a parent cancels its children one after another).
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			return errors.New("telegram: polling stopped by itself")
		case <-tick.C:
		}
	}
}

// pollRun is one spell of polling, while the lease is held.
type pollRun struct {
	cancel context.CancelFunc
	done   chan error
}

func (a *App) startPolling(ctx context.Context) *pollRun {
	pctx, cancel := context.WithCancel(ctx)
	r := &pollRun{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- a.telegram.Poll(pctx, a.dialogs, a.dispatcher.HandleBatch) }()
	return r
}

// ended is the channel Poll's result comes on; nil (never ready) when not polling.
func (r *pollRun) ended() <-chan error {
	if r == nil {
		return nil
	}
	return r.done
}

// stop ends the polling and returns Poll's result; nothing when not polling.
func (r *pollRun) stop() error {
	if r == nil {
		return nil
	}
	r.cancel()
	return <-r.done
}

// pollerReady is nil unless polling is in trouble: getUpdates answered 409 for a while (a webhook
// or another poller), or the poller lease could not be held lately.
func (a *App) pollerReady() error {
	if a.telegram == nil || a.deps.Config.TelegramMode != "polling" {
		return nil
	}
	if since, ok := a.telegram.ConflictingSince(); ok && time.Since(since) > conflictTolerance {
		return fmt.Errorf("telegram: getUpdates answered 409 since %s: a webhook is set or another process polls this token",
			since.Format(time.TimeOnly))
	}
	if t := a.leaseTrouble.Load(); t != 0 && time.Since(time.Unix(0, t)) < PollerLeaseTTL {
		return errors.New("telegram: the poller lease cannot be held (Redis)")
	}
	return nil
}
