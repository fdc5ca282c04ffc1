package telegram

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/thuduc/maytinhchoem/chat"
)

// apiError is a refusal by the Bot API. It unwraps to chat.ErrStopped or chat.ErrRejected when the
// caller must not retry, and to nothing when a retry may help (5xx).
type apiError struct {
	method string
	code   int
	desc   string
	kind   error
}

func (e *apiError) Error() string {
	return "telegram: " + e.method + ": " + strconv.Itoa(e.code) + " " + e.desc
}

func (e *apiError) Unwrap() error { return e.kind }

// classify turns an error of the library into what the caller of a Sender acts on:
//   - 429: *chat.ThrottledError with Telegram's retry_after;
//   - 403 (blocked, kicked, deactivated user): wraps chat.ErrStopped;
//   - other 4xx: wraps chat.ErrRejected, resending the same will not help;
//   - 5xx, network errors, answers that are not the Bot API's: a plain error, the caller may retry
//     (but a 4xx page from a proxy is rejected, and its 429 throttled).
//
// status is the HTTP status of the answer, 0 when there was none; it stands in for the error code
// the library leaves out of upload errors.
func classify(method string, status int, err error) error {
	if err == nil {
		return nil
	}
	var te *tgbotapi.Error
	if !errors.As(err, &te) {
		var tv tgbotapi.Error
		if errors.As(err, &tv) {
			te = &tv
		}
	}
	if te == nil {
		// No Bot API answer: a network error, or a page from a proxy in front of the API.
		switch {
		case status == http.StatusTooManyRequests:
			return &chat.ThrottledError{RetryAfter: time.Second}
		case status >= 400 && status < 500 && status != http.StatusRequestTimeout:
			return fmt.Errorf("telegram: %s: HTTP %d: %w: %w", method, status, err, chat.ErrRejected)
		case status != 0 && status != http.StatusOK:
			return fmt.Errorf("telegram: %s: HTTP %d: %w", method, status, err)
		}
		return fmt.Errorf("telegram: %s: %w", method, err)
	}
	code := te.Code
	if code == 0 {
		code = status // the library leaves the code out of upload errors
	}
	if code == http.StatusTooManyRequests || te.RetryAfter > 0 {
		return &chat.ThrottledError{RetryAfter: time.Duration(max(te.RetryAfter, 1)) * time.Second}
	}
	ae := &apiError{method: method, code: code, desc: te.Message}
	switch {
	case code == http.StatusForbidden:
		ae.kind = chat.ErrStopped
	case code >= 400 && code < 500:
		ae.kind = chat.ErrRejected
	}
	return ae
}

// errorCode is the Bot API error code carried by err, or 0.
func errorCode(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.code
	}
	var te *chat.ThrottledError
	if errors.As(err, &te) {
		return http.StatusTooManyRequests
	}
	return 0
}

// descriptionHas reports whether err is a Bot API refusal whose description contains s.
func descriptionHas(err error, s string) bool {
	var ae *apiError
	return errors.As(err, &ae) && strings.Contains(strings.ToLower(ae.desc), s)
}

// rejected makes a programming error found before calling the API (callback data too long...).
func rejected(format string, args ...any) error {
	return fmt.Errorf("telegram: %s: %w", fmt.Sprintf(format, args...), chat.ErrRejected)
}
