package zalo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/thuduc/maytinhchoem/chat"
)

// maxAnswerBytes bounds what is read of an API answer.
const maxAnswerBytes = 1 << 20

// requestBody makes a request's body afresh for each attempt, since a call refused for its token
// is sent again; size is -1 when unknown.
type requestBody func() (body io.ReadCloser, contentType string, size int64, err error)

// jsonBody is a requestBody of v as JSON.
func jsonBody(v any) (requestBody, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return func() (io.ReadCloser, string, int64, error) {
		return io.NopCloser(bytes.NewReader(b)), "application/json", int64(len(b)), nil
	}, nil
}

// call POSTs to the OA Open API at path with the access token and returns the answer's data. When
// Zalo refuses the token (-216, -220) the pair is refreshed once (or taken from the replica that
// just refreshed it) and the call made once more. Errors are classified as APIError says; op names
// the call in them.
func (a *Adapter) call(ctx context.Context, op, path string, timeout time.Duration, body requestBody) (json.RawMessage, error) {
	token, err := a.accessToken()
	if err != nil {
		return nil, fmt.Errorf("zalo: %s: %w", op, err)
	}
	data, err := a.callOnce(ctx, path, timeout, token, body)
	if !tokenRefused(err) {
		return data, wrapOp(op, err)
	}
	fresh, rerr := a.refreshAfter(ctx, token)
	if rerr != nil {
		return nil, fmt.Errorf("zalo: %s: %w, then: %w", op, err, rerr)
	}
	if fresh == token {
		a.log.Error("zalo: the API refused the access token and no newer one could be had", "op", op, "err", err)
		return nil, wrapOp(op, err)
	}
	data, err = a.callOnce(ctx, path, timeout, fresh, body)
	if tokenRefused(err) {
		a.log.Error("zalo: the API refused a freshly refreshed access token", "op", op, "err", err)
	}
	return data, wrapOp(op, err)
}

func tokenRefused(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.Code == codeTokenInvalid || ae.Code == codeTokenExpired)
}

func wrapOp(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("zalo: %s: %w", op, err)
}

// callOnce makes one request. The token goes in the access_token header, never in the URL, so
// net/http's errors, which quote the URL, cannot leak it.
func (a *Adapter) callOnce(ctx context.Context, path string, timeout time.Duration, token string, body requestBody) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	stop := context.AfterFunc(a.ctx, cancel)
	defer stop()

	rc, contentType, size, err := body()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.apiURL+path, rc)
	if err != nil {
		rc.Close()
		return nil, err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("access_token", token)
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return nil, fmt.Errorf("HTTP %d, reading the answer: %w", resp.StatusCode, err)
	}
	status := resp.StatusCode
	if status == http.StatusTooManyRequests {
		return nil, fmt.Errorf("HTTP 429: %w", &chat.ThrottledError{RetryAfter: throttledRetryWait})
	}
	var ans struct {
		Error   flexInt         `json:"error"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	jsonErr := json.Unmarshal(raw, &ans)
	switch {
	case jsonErr == nil && ans.Error != 0:
		return nil, apiError(int(ans.Error), ans.Message)
	case status >= 500 || status == http.StatusRequestTimeout:
		return nil, fmt.Errorf("HTTP %d", status)
	case status < 200 || status > 299:
		// Zalo answers everything with 200: this is a proxy or a wrong URL, which a retry won't mend.
		return nil, fmt.Errorf("HTTP %d: %w", status, chat.ErrRejected)
	case jsonErr != nil:
		return nil, fmt.Errorf("HTTP %d, an answer that is not JSON", status)
	}
	return ans.Data, nil
}
