package telegram

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// maxDownloadBytes is the largest file a bot may download: Telegram's getFile refuses bigger ones
// ("file is too big").
const maxDownloadBytes = 20 << 20

// OpenFile opens a file a person sent (chat.Document.FileID): getFile for its path, then a
// download from <api>/file/bot<token>/<file_path>, streamed. A file over 20 MB, one Telegram does
// not know and a download longer than 20 MB are refused with chat.ErrRejected. The download is
// bounded by ctx, the Adapter's life and a deadline that grows with the file; Close the reader
// to release it.
func (a *Adapter) OpenFile(ctx context.Context, fileID string) (io.ReadCloser, error) {
	if fileID == "" {
		return nil, rejected("open a file: no file_id")
	}
	var f tgbotapi.File
	_, err := a.callResult(ctx, a.httpTimeout, "getFile", func(api *tgbotapi.BotAPI) (*tgbotapi.APIResponse, error) {
		resp, err := api.Request(tgbotapi.FileConfig{FileID: fileID})
		if err != nil {
			return resp, err
		}
		return resp, json.Unmarshal(resp.Result, &f)
	})
	if err != nil {
		return nil, err
	}
	switch {
	case f.FileSize > maxDownloadBytes:
		return nil, rejected("open a file: %d bytes, over Telegram's 20 MB", f.FileSize)
	case f.FilePath == "":
		return nil, rejected("open a file: getFile gave no file_path")
	}

	timeout := 3*a.httpTimeout + time.Duration(f.FileSize/uploadBytesPerSecond)*time.Second
	dctx, cancel := context.WithTimeout(ctx, timeout)
	stop := context.AfterFunc(a.ctx, cancel)
	release := func() { stop(); cancel() }
	req, err := http.NewRequestWithContext(dctx, http.MethodGet, a.fileURL(f.FilePath), nil)
	if err != nil {
		release()
		return nil, fmt.Errorf("telegram: download: %w", redact(err, a.token))
	}
	resp, err := a.upload.Do(req)
	if err != nil {
		release()
		return nil, fmt.Errorf("telegram: download: %w", redact(err, a.token))
	}
	if resp.StatusCode != http.StatusOK {
		_ = drainingBody{resp.Body}.Close()
		release()
		err := fmt.Errorf("telegram: download: HTTP %d", resp.StatusCode)
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusRequestTimeout {
			return nil, rejected("download: HTTP %d", resp.StatusCode)
		}
		return nil, err
	}
	if resp.ContentLength > maxDownloadBytes {
		_ = resp.Body.Close()
		release()
		return nil, rejected("open a file: %d bytes, over Telegram's 20 MB", resp.ContentLength)
	}
	return &download{body: resp.Body, left: maxDownloadBytes, release: release, token: a.token}, nil
}

// fileURL is where a file_path downloads from: the API's address with /file/bot<token>/.
func (a *Adapter) fileURL(filePath string) string {
	api := strings.ReplaceAll(strings.TrimSuffix(a.endpoint, "/bot%s/%s"), "%%", "%")
	return api + "/file/bot" + a.token + "/" + strings.TrimLeft(filePath, "/")
}

// download is a file being downloaded: at most left more bytes are read, and Close releases its
// deadline.
type download struct {
	body    io.ReadCloser
	left    int64
	release func()
	token   string
}

func (d *download) Read(p []byte) (int, error) {
	if d.left <= 0 {
		// One byte more tells a file of exactly the limit from a longer one.
		var one [1]byte
		n, err := d.body.Read(one[:])
		if n > 0 {
			return 0, rejected("download: the file is over Telegram's 20 MB")
		}
		if err != nil && err != io.EOF {
			err = fmt.Errorf("telegram: download: %w", redact(err, d.token))
		}
		return 0, err
	}
	if int64(len(p)) > d.left {
		p = p[:d.left]
	}
	n, err := d.body.Read(p)
	d.left -= int64(n)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("telegram: download: %w", redact(err, d.token))
	}
	return n, err
}

func (d *download) Close() error {
	err := d.body.Close()
	d.release()
	return err
}
