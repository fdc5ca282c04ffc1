package zalo

import (
	"fmt"
	"time"

	"github.com/thuduc/maytinhchoem/chat"
)

// Error codes of the OA Open API the adapter acts on.
const (
	codeRateLimit      = -32  // over the app's ~4,000 requests a minute
	codeTokenInvalid   = -216 // access token invalid
	codeTokenExpired   = -220 // access token expired or removed
	codeOutsideWindow  = -230 // the person has not interacted with the OA for 7 days
	codeNotFollower    = -213 // the person does not follow the OA
	codeUserInactive   = -227 // banned, or inactive for 45 days
	codeTypeBlocked    = -244 // the person blocked this type of message
	throttledRetryWait = 10 * time.Second
)

// APIError is a non-zero error in an answer of the OA Open API. It unwraps to what the caller does
// next: chat.ErrUnreachable (outside the 7-day window, not a follower, inactive, blocked),
// *chat.ThrottledError (-32), chat.ErrRejected (any other negative code: the message as it is
// will not go), or nothing (an access token refused even after a refresh: worth a retry later).
type APIError struct {
	Code    int
	Message string
	kind    error
}

// Error implements error.
func (e *APIError) Error() string { return fmt.Sprintf("API error %d: %s", e.Code, e.Message) }

// Unwrap returns the class of the error, see APIError.
func (e *APIError) Unwrap() error { return e.kind }

// apiError classifies a non-zero code of the OA Open API.
func apiError(code int, message string) *APIError {
	e := &APIError{Code: code, Message: message}
	switch code {
	case codeTokenInvalid, codeTokenExpired:
		// The caller refreshes the token and retries once; a second refusal stays plain.
	case codeOutsideWindow, codeNotFollower, codeUserInactive, codeTypeBlocked:
		e.kind = chat.ErrUnreachable
	case codeRateLimit:
		e.kind = &chat.ThrottledError{RetryAfter: throttledRetryWait}
	default:
		if code < 0 {
			e.kind = chat.ErrRejected
		}
	}
	return e
}

// rejected makes an error for a reply that cannot be sent as it is, found before calling Zalo.
func rejected(format string, args ...any) error {
	return fmt.Errorf("zalo: %s: %w", fmt.Sprintf(format, args...), chat.ErrRejected)
}
