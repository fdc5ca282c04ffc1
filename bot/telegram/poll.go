package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/thuduc/maytinhchoem/chat"
)

// OffsetStore keeps the long-polling offset across restarts; storage/redis implements it.
type OffsetStore interface {
	Offset(ctx context.Context, key string) (int64, error)
	SetOffset(ctx context.Context, key string, offset int64) error
}

// allowedUpdates are the update kinds the bot asks Telegram for.
var allowedUpdates = []string{
	tgbotapi.UpdateTypeMessage,
	tgbotapi.UpdateTypeEditedMessage,
	tgbotapi.UpdateTypeCallbackQuery,
	tgbotapi.UpdateTypeMyChatMember,
}

// pollLimit is how many updates one getUpdates call may return (Telegram's maximum).
const pollLimit = 100

// OffsetKey is the key Poll keeps the offset under in an OffsetStore.
func (a *Adapter) OffsetKey() string { return "telegram:" + a.username }

// defaultBusyPoll is how long Poll waits for the updates it handed over before asking Telegram
// for more while some are still being handled: the most a chat's update waits behind another
// chat's slow one.
const defaultBusyPoll = 500 * time.Millisecond

// Poll receives updates by long polling until ctx ends, then returns nil once the updates it
// handed over are done with (handle sees ctx end). It first deletes any webhook (keeping pending
// updates) and reads the offset from offsets, so a restart neither loses nor repeats updates.
//
// Updates go to handle chat by chat: each call carries updates of one chat, in order, and a
// chat's next call waits for its previous one, while other chats' calls run at the same time, so
// one chat stuck on a slow update holds up no other. handle returns only when every input was
// handled durably; when it fails, the same updates are offered again after a pause (the bot
// de-duplicates by update id), before any later update of that chat.
//
// Telegram forgets every update below the offset of a getUpdates call, so Poll never asks with
// an offset past an update still being handled: the offset, sent and stored, is the lowest
// update id not yet handled. Telegram keeps answering with those updates at once, so while some
// are in flight Poll asks again only every defaultBusyPoll (skipping those it has), and after a
// crash the updates from the stored offset on come again, the handled among them skipped by the
// bot's de-duplication. A getUpdates answers at most pollLimit updates from that offset, which
// bounds the updates in flight: when that many wait behind one still being handled (the
// Dispatcher's deadline per update bounds how long), Poll waits for it.
//
// Errors of the Bot API or the store are logged and retried with a capped exponential backoff;
// Poll returns an error only when the token is rejected.
func (a *Adapter) Poll(ctx context.Context, offsets OffsetStore, handle func(ctx context.Context, batch []chat.Update) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(a.ctx, cancel)
	defer stop()

	key := a.OffsetKey()
	wait := newBackoff(a.backoffMin, a.backoffMax)
	for {
		err := a.DeleteWebhook(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		if fatalPollError(err) {
			return fmt.Errorf("telegram: poll: %w", err)
		}
		a.log.Warn("telegram: delete webhook before polling", "err", err)
		if !sleep(ctx, a.retryWait(wait, err)) {
			return nil
		}
	}
	wait.reset()
	var offset int64
	for {
		var err error
		offset, err = offsets.Offset(ctx, key)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		a.log.Warn("telegram: read polling offset", "key", key, "err", err)
		if !sleep(ctx, wait.next()) {
			return nil
		}
	}
	wait.reset()
	a.log.Info("telegram: polling", "bot", a.username, "offset", offset)

	p := &poller{a: a, handle: handle, next: offset, inflight: map[int64]bool{}, lanes: map[string]*lane{},
		changed: make(chan struct{})}
	stored := offset
	store := func(ctx context.Context) {
		from, _ := p.watermark()
		if from == stored {
			return
		}
		// A failed write is not lost: the next one stores the offset then reached.
		if err := offsets.SetOffset(ctx, key, from); err != nil {
			if ctx.Err() == nil {
				a.log.Warn("telegram: store polling offset", "key", key, "offset", from, "err", err)
			}
			return
		}
		stored = from
	}
	defer func() {
		cancel() // a fatal error ends the handling in flight too
		p.wg.Wait()
		// What was handled while stopping is stored too, so a restart does not offer it again.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.httpTimeout)
		defer cancel()
		store(ctx)
	}()

	for {
		store(ctx)
		from, busy := p.watermark()
		timeout := a.pollTimeout
		if busy {
			timeout = 0 // Telegram answers at once with the updates in flight anyway
		}
		got, answered, err := a.getUpdates(ctx, from, p.seen(), timeout)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if fatalPollError(err) {
				return fmt.Errorf("telegram: poll: %w", err)
			}
			if errorCode(err) == http.StatusConflict {
				a.conflictSince.CompareAndSwap(0, a.now().UnixNano())
				a.log.Warn("telegram: getUpdates conflicts with a webhook or another poller", "err", err)
			} else {
				a.log.Warn("telegram: getUpdates", "err", err)
			}
			if !sleep(ctx, a.retryWait(wait, err)) {
				return nil
			}
			continue
		}
		wait.reset()
		a.conflictSince.Store(0)
		fresh := p.take(ctx, got)
		if _, busy := p.watermark(); !busy {
			continue
		}
		full := answered >= pollLimit && fresh == 0
		if !p.settle(ctx, a.busyPoll, full) {
			return nil
		}
	}
}

// ConflictingSince is when getUpdates began to be answered 409 (a webhook is set, or another
// process polls with the same token) with no success since; ok is false when it is not.
func (a *Adapter) ConflictingSince() (since time.Time, ok bool) {
	ns := a.conflictSince.Load()
	if ns == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, ns), true
}

// fetched is one update getUpdates returned: its id and, when the bot handles its kind, the input.
type fetched struct {
	id    int64
	in    chat.Update
	input bool
}

// poller is Poll's bookkeeping: the updates handed over and not yet handled, and one lane per
// chat that hands its updates to handle in order.
type poller struct {
	a      *Adapter
	handle func(context.Context, []chat.Update) error
	wg     sync.WaitGroup

	mu sync.Mutex
	// next is one past the highest update id taken: ids below it were handed over or skipped.
	next     int64
	inflight map[int64]bool // taken, not yet handled
	lanes    map[string]*lane
	changed  chan struct{} // closed and replaced when an update was handled
	full     int64         // the update the last full window waited behind, to log it once
}

// lane holds one chat's updates not yet given to handle; a goroutine runs while it has any.
type lane struct {
	queue []fetched
}

// watermark is the lowest update id not yet handled, the offset to ask and store; busy says
// whether any update is being handled.
func (p *poller) watermark() (from int64, busy bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.watermarkLocked(), len(p.inflight) > 0
}

func (p *poller) watermarkLocked() int64 {
	from := p.next
	for id := range p.inflight {
		from = min(from, id)
	}
	return from
}

// seen is one past the highest update id taken.
func (p *poller) seen() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.next
}

// take hands the updates not seen before to their chats' lanes and returns how many there were.
func (p *poller) take(ctx context.Context, got []fetched) (fresh int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range got {
		if f.id < p.next {
			continue // in flight or handled already: Telegram still holds it, as Poll asked
		}
		p.next = f.id + 1
		fresh++
		if !f.input {
			continue // nothing to handle
		}
		p.inflight[f.id] = true
		key := "chat:" + f.in.ChatID
		if f.in.ChatID == "" {
			key = "update:" + f.in.UpdateID
		}
		l := p.lanes[key]
		if l == nil {
			l = &lane{}
			p.lanes[key] = l
			p.wg.Add(1)
			go p.run(ctx, key, l)
		}
		l.queue = append(l.queue, f)
	}
	return fresh
}

// run gives l's updates to handle, all those waiting at a time, until none is left.
func (p *poller) run(ctx context.Context, key string, l *lane) {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		batch := l.queue
		l.queue = nil
		if len(batch) == 0 {
			delete(p.lanes, key)
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		ins := make([]chat.Update, len(batch))
		for i, f := range batch {
			ins[i] = f.in
		}
		if !p.a.handleBatch(ctx, ins, p.handle) {
			// Stopping: the updates stay unhandled, so the stored offset stays below them.
			p.mu.Lock()
			delete(p.lanes, key)
			p.mu.Unlock()
			return
		}
		p.mu.Lock()
		for _, f := range batch {
			delete(p.inflight, f.id)
		}
		close(p.changed)
		p.changed = make(chan struct{})
		p.mu.Unlock()
	}
}

// settle waits until no update is in flight or d has passed, and reports false when ctx ended.
// When the last answer was full of updates already taken (a window of pollLimit behind the
// oldest one in flight), asking again would bring nothing new: it waits for that one instead.
func (p *poller) settle(ctx context.Context, d time.Duration, full bool) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	p.mu.Lock()
	start := p.watermarkLocked()
	if full && p.full != start {
		p.full = start
		p.a.log.Warn("telegram: polling waits for an update still being handled", "update", start,
			"waiting", pollLimit)
	}
	p.mu.Unlock()
	for {
		p.mu.Lock()
		busy, moved, changed := len(p.inflight) > 0, p.watermarkLocked() != start, p.changed
		p.mu.Unlock()
		if !busy || (full && moved) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-changed:
		case <-timer.C:
			if !full {
				return true
			}
		}
	}
}

// handleBatch gives batch to handle until it succeeds; false when ctx ended first.
func (a *Adapter) handleBatch(ctx context.Context, batch []chat.Update, handle func(context.Context, []chat.Update) error) bool {
	wait := newBackoff(a.backoffMin, a.backoffMax)
	for {
		err := handle(ctx, batch)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		a.log.Warn("telegram: handle updates, retrying them", "first", batch[0].UpdateID,
			"count", len(batch), "err", err)
		if !sleep(ctx, wait.next()) {
			return false
		}
	}
}

// getUpdates polls once from offset, waiting up to timeout seconds, and maps the updates not seen
// before (ids from seen on; those below were mapped when they first came, and mapping one again
// would run OnBlocked again). answered counts every update of the answer. Updates are decoded one
// by one: the library's GetUpdates would fail the whole answer, and so stall polling forever, on
// one update it cannot decode; such an update is returned without an input, to be skipped.
func (a *Adapter) getUpdates(ctx context.Context, offset, seen int64, timeout int) (got []fetched, answered int, err error) {
	params := tgbotapi.Params{}
	if offset != 0 {
		params["offset"] = strconv.FormatInt(offset, 10)
	}
	params.AddNonZero("limit", pollLimit)
	params.AddNonZero("timeout", timeout)
	if err := params.AddInterface("allowed_updates", allowedUpdates); err != nil {
		return nil, 0, err
	}
	wait := time.Duration(timeout)*time.Second + a.httpTimeout
	resp, err := a.callResult(ctx, wait, "getUpdates", func(api *tgbotapi.BotAPI) (*tgbotapi.APIResponse, error) {
		return api.MakeRequest("getUpdates", params)
	})
	if err != nil {
		return nil, 0, err
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(resp.Result, &raws); err != nil {
		return nil, 0, fmt.Errorf("telegram: getUpdates: decode result: %w", err)
	}
	for _, raw := range raws {
		var id struct {
			UpdateID int64 `json:"update_id"`
		}
		if err := json.Unmarshal(raw, &id); err != nil {
			a.log.Warn("telegram: skip an update without an id", "err", err)
			continue
		}
		if id.UpdateID < max(offset, seen) {
			continue // confirmed, or taken already and still held by Telegram as Poll asked
		}
		f := fetched{id: id.UpdateID}
		u, err := decodeUpdate(raw)
		if err != nil || u == nil {
			a.log.Warn("telegram: skip an undecodable update", "update", id.UpdateID, "err", err)
		} else {
			f.in, f.input = a.toInput(u)
		}
		got = append(got, f)
	}
	return got, len(raws), nil
}

// fatalPollError is an error no wait will cure: the token was revoked.
func fatalPollError(err error) bool {
	code := errorCode(err)
	return code == http.StatusUnauthorized || code == http.StatusNotFound
}

// retryWait is the pause after err: Telegram's retry_after when it gave one, else the backoff.
func (a *Adapter) retryWait(b *backoff, err error) time.Duration {
	var te *chat.ThrottledError
	if errors.As(err, &te) {
		return te.RetryAfter
	}
	return b.next()
}
