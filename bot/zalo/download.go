package zalo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxDownloadBytes is the largest file a person's message may hand the bot: a list of 5,000
// children is well under 1 MB, and Telegram's bots stop at the same 20 MB.
const maxDownloadBytes = 20 << 20

// OpenFile opens a file a person sent (chat.Document.FileID: the attachment's URL on Zalo's CDN),
// streamed. Only an absolute http(s) URL is fetched, with a plain GET that carries no access token
// (a CDN link is its own key). A file over 20 MB (by its Content-Length, or by what arrives), an
// answer 4xx other than 408 and 429 (the link expired or is unknown) and a URL that is not
// http(s) are refused with chat.ErrRejected; other failures (network, 5xx) are plain, worth a
// retry. The download is bounded by ctx, the Adapter's life and a deadline that grows with the
// file: 3 × HTTPTimeout for the answer's headers, then as much again plus a second for every
// 128 KiB announced. Errors and logs name the URL without its query, which on a CDN is often a
// signature. Close the reader to release it.
func (a *Adapter) OpenFile(ctx context.Context, fileID string) (io.ReadCloser, error) {
	u, err := downloadURL(fileID)
	if err != nil {
		return nil, err
	}
	shown := redactURL(u)
	dctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(a.ctx, func() { cancel(errClosed) })
	timer := time.AfterFunc(3*a.cfg.HTTPTimeout, func() { cancel(errDownloadDeadline) })
	release := func() { timer.Stop(); stop(); cancel(nil) }

	req, err := http.NewRequestWithContext(dctx, http.MethodGet, u.String(), nil)
	if err != nil {
		release()
		return nil, rejected("download %s: not a request Go can make", shown)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		release()
		return nil, fmt.Errorf("zalo: download %s: %w", shown, downloadErr(dctx, err))
	}
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
	case code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests:
		_ = drain(resp.Body)
		release()
		return nil, rejected("download %s: HTTP %d", shown, code)
	default:
		_ = drain(resp.Body)
		release()
		return nil, fmt.Errorf("zalo: download %s: HTTP %d", shown, code)
	}
	if resp.ContentLength > maxDownloadBytes {
		_ = resp.Body.Close()
		release()
		return nil, rejected("download %s: %d bytes, over %d MB", shown, resp.ContentLength, maxDownloadBytes>>20)
	}
	size := resp.ContentLength
	if size < 0 {
		size = maxDownloadBytes
	}
	timer.Reset(3*a.cfg.HTTPTimeout + time.Duration(size/uploadBytesPerSecond)*time.Second)
	return &download{body: resp.Body, left: maxDownloadBytes, release: release, ctx: dctx, shown: shown}, nil
}

// errDownloadDeadline and errClosed are why a download was cut off.
var (
	errDownloadDeadline = errors.New("the download ran out of its deadline")
	errClosed           = errors.New("the adapter was closed")
)

// downloadURL checks that fileID is an absolute http(s) URL with a host.
func downloadURL(fileID string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(fileID))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		// The id itself is not quoted: it may be a URL with a signature in it.
		return nil, rejected("open a file: the file id is not an http(s) URL")
	}
	return u, nil
}

// redactURL is u without its user, query and fragment, for errors and logs.
func redactURL(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment = nil, "", false, "", ""
	return c.String()
}

// downloadErr is err with the URL net/http quotes taken out (its query may be a signature), and
// the reason a deadline or the Adapter's end cut the download off.
func downloadErr(ctx context.Context, err error) error {
	err = unwrapURLError(err)
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) && !errors.Is(err, cause) {
		return fmt.Errorf("%w (%w)", cause, err)
	}
	return err
}

// unwrapURLError drops the *url.Error around err, whose text quotes the whole URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// drain reads a little of a body that is not wanted, so the connection can be reused, and closes it.
func drain(body io.ReadCloser) error {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	return body.Close()
}

// download is a file being downloaded: at most left more bytes are read, and Close releases its
// deadline.
type download struct {
	body    io.ReadCloser
	left    int64
	release func()
	ctx     context.Context
	shown   string
}

func (d *download) Read(p []byte) (int, error) {
	if d.left <= 0 {
		// One byte more tells a file of exactly the limit from a longer one.
		var one [1]byte
		n, err := d.body.Read(one[:])
		if n > 0 {
			return 0, rejected("download %s: the file is over %d MB", d.shown, maxDownloadBytes>>20)
		}
		return 0, d.wrap(err)
	}
	if int64(len(p)) > d.left {
		p = p[:d.left]
	}
	n, err := d.body.Read(p)
	d.left -= int64(n)
	return n, d.wrap(err)
}

func (d *download) wrap(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return fmt.Errorf("zalo: download %s: %w", d.shown, downloadErr(d.ctx, err))
}

func (d *download) Close() error {
	err := d.body.Close()
	d.release()
	return err
}
