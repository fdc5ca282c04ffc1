package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
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

// Poll receives updates by long polling until ctx ends, then returns nil. It first deletes any
// webhook (keeping pending updates) and reads the offset from offsets, so a restart neither loses
// nor repeats updates. Each batch of mapped Inputs goes to handle, which returns only when every
// input was handled durably; when it fails the same batch is offered again after a pause (the bot
// de-duplicates by update id), and only then is the offset stored and the batch confirmed to
// Telegram. Errors of the Bot API or the store are logged and retried with a capped exponential
// backoff; Poll returns an error only when the token is rejected.
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

	for {
		batch, next, err := a.getUpdates(ctx, offset)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if fatalPollError(err) {
				return fmt.Errorf("telegram: poll: %w", err)
			}
			if errorCode(err) == http.StatusConflict {
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
		if next <= offset {
			continue // nothing came before the long poll timed out
		}
		if len(batch) > 0 && !a.handleBatch(ctx, batch, handle) {
			return nil
		}
		offset = next
		// A failed write is not lost: the next getUpdates confirms the batch to Telegram, and a
		// later SetOffset stores a higher offset.
		if err := offsets.SetOffset(ctx, key, offset); err != nil && ctx.Err() == nil {
			a.log.Warn("telegram: store polling offset", "key", key, "offset", offset, "err", err)
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
		a.log.Warn("telegram: handle updates, retrying the batch", "first", batch[0].UpdateID,
			"count", len(batch), "err", err)
		if !sleep(ctx, wait.next()) {
			return false
		}
	}
}

// getUpdates long-polls once and maps the updates. next is one past the highest update id seen,
// or offset when none came. Updates are decoded one by one: the library's GetUpdates would fail the
// whole batch, and so stall polling forever, on one update it cannot decode.
func (a *Adapter) getUpdates(ctx context.Context, offset int64) (batch []chat.Update, next int64, err error) {
	params := tgbotapi.Params{}
	if offset != 0 {
		params["offset"] = strconv.FormatInt(offset, 10)
	}
	params.AddNonZero("limit", pollLimit)
	params.AddNonZero("timeout", a.pollTimeout)
	if err := params.AddInterface("allowed_updates", allowedUpdates); err != nil {
		return nil, offset, err
	}
	timeout := time.Duration(a.pollTimeout)*time.Second + a.httpTimeout
	resp, err := a.callResult(ctx, timeout, "getUpdates", func(api *tgbotapi.BotAPI) (*tgbotapi.APIResponse, error) {
		return api.MakeRequest("getUpdates", params)
	})
	if err != nil {
		return nil, offset, err
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(resp.Result, &raws); err != nil {
		return nil, offset, fmt.Errorf("telegram: getUpdates: decode result: %w", err)
	}
	next = offset
	for _, raw := range raws {
		var id struct {
			UpdateID int64 `json:"update_id"`
		}
		if err := json.Unmarshal(raw, &id); err != nil {
			a.log.Warn("telegram: skip an update without an id", "err", err)
			continue
		}
		if id.UpdateID < offset {
			continue // already confirmed; Telegram should not send it again
		}
		next = max(next, id.UpdateID+1)
		u, err := decodeUpdate(raw)
		if err != nil || u == nil {
			a.log.Warn("telegram: skip an undecodable update", "update", id.UpdateID, "err", err)
			continue
		}
		if in, ok := a.toInput(u); ok {
			batch = append(batch, in)
		}
	}
	return batch, next, nil
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
