package telegram

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/thuduc/maytinhchoem/chat"
)

// Limits of the webhook handler.
const (
	maxUpdateBytes  = 1 << 20
	webhookDeadline = 10 * time.Second
	secretHeader    = "X-Telegram-Bot-Api-Secret-Token"
)

// validSecret reports whether s is a secret_token Telegram takes: 1-256 of A-Z, a-z, 0-9, _ and -.
func validSecret(s string) bool {
	if len(s) == 0 || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isCommandByte(c) && c != '-' {
			return false
		}
	}
	return true
}

// SetWebhook asks Telegram to POST updates to url with secret in the X-Telegram-Bot-Api-Secret-Token
// header, keeping pending updates. secret must be 1-256 of A-Z, a-z, 0-9, _ and -.
func (a *Adapter) SetWebhook(ctx context.Context, url, secret string) error {
	if url == "" {
		return rejected("setWebhook: empty URL")
	}
	if !validSecret(secret) {
		return rejected("setWebhook: the secret must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
	}
	allowed, err := json.Marshal(allowedUpdates)
	if err != nil {
		return err
	}
	// The library's WebhookConfig predates secret_token, so the call is made by hand.
	params := tgbotapi.Params{
		"url":             url,
		"secret_token":    secret,
		"allowed_updates": string(allowed),
		"max_connections": "40",
	}
	return a.call(ctx, a.httpTimeout, "setWebhook", func(api *tgbotapi.BotAPI) (*tgbotapi.APIResponse, error) {
		return api.MakeRequest("setWebhook", params)
	})
}

// DeleteWebhook removes the webhook, keeping pending updates for getUpdates.
func (a *Adapter) DeleteWebhook(ctx context.Context) error {
	return a.call(ctx, a.httpTimeout, "deleteWebhook", func(api *tgbotapi.BotAPI) (*tgbotapi.APIResponse, error) {
		return api.Request(tgbotapi.DeleteWebhookConfig{DropPendingUpdates: false})
	})
}

// WebhookHandler serves Telegram's webhook POSTs: it checks the secret header (401 without it),
// maps the update and calls handle with the request's context, limited to 10 seconds. It answers
// 200 with an empty body when handle succeeded or the update is of a kind the bot ignores, and 500
// when handle failed, so Telegram delivers the update again (the bot de-duplicates). It does nothing
// else, to answer fast. An invalid secret makes every request fail with 401.
func (a *Adapter) WebhookHandler(secret string, handle func(ctx context.Context, in chat.Update) error) http.Handler {
	if !validSecret(secret) {
		a.log.Error("telegram: webhook secret is invalid; every update will be refused")
	}
	want := sha256.Sum256([]byte(secret))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		// Hashing first keeps the comparison's time independent of the secret's length too.
		got := sha256.Sum256([]byte(r.Header.Get(secretHeader)))
		if !validSecret(secret) || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			a.log.Warn("telegram: webhook request with a missing or wrong secret", "remote", r.RemoteAddr,
				"secret_present", r.Header.Get(secretHeader) != "")
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxUpdateBytes))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "update too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "cannot read update", http.StatusBadRequest)
			return
		}
		in, ok, err := a.ParseUpdate(raw)
		if err != nil {
			a.log.Warn("telegram: webhook update is not JSON of an update", "err", err)
			http.Error(w, "bad update", http.StatusBadRequest)
			return
		}
		if !ok {
			w.WriteHeader(http.StatusOK)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), webhookDeadline)
		defer cancel()
		if err := handle(ctx, in); err != nil {
			a.log.Warn("telegram: handle webhook update; Telegram will redeliver it", "update", in.UpdateID, "err", err)
			http.Error(w, "not handled", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}
