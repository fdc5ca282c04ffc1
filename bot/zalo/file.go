package zalo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/thuduc/maytinhchoem/chat"
)

const (
	// maxImageBytes and maxFileBytes are Zalo's limits on an uploaded image and document.
	maxImageBytes = 1 << 20
	maxFileBytes  = 5 << 20
	// uploadBytesPerSecond is the slowest uplink an upload is given time for.
	uploadBytesPerSecond = 128 << 10
)

// uploadType says how Zalo stores a file with extension ext: where it goes, the answer's field naming
// it, the most bytes and the content type; ok is false for files Zalo does not take.
func uploadType(ext string) (path, field string, limit int64, contentType string, ok bool) {
	switch ext {
	case ".png":
		return "/v2.0/oa/upload/image", "attachment_id", maxImageBytes, "image/png", true
	case ".jpg", ".jpeg":
		return "/v2.0/oa/upload/image", "attachment_id", maxImageBytes, "image/jpeg", true
	case ".pdf":
		return "/v2.0/oa/upload/file", "token", maxFileBytes, "application/pdf", true
	case ".doc":
		return "/v2.0/oa/upload/file", "token", maxFileBytes, "application/msword", true
	case ".docx":
		return "/v2.0/oa/upload/file", "token", maxFileBytes,
			"application/vnd.openxmlformats-officedocument.wordprocessingml.document", true
	}
	return "", "", 0, "", false
}

// prepareFile makes f sendable and returns the messages that go before the caption (the image or
// document, uploaded to Zalo) and after it (a download link, for a file Zalo does not take: an
// XLSX workbook, a ZIP, an image over 1 MB or a document over 5 MB). A photo Zalo gave us is sent
// by its URL; one from another channel cannot be, and only the caption goes. A file that is
// missing, unreadable or empty wraps chat.ErrRejected; one that needs a link when there are no
// FileLinks is replaced by a line saying it cannot be sent on Zalo.
func (a *Adapter) prepareFile(ctx context.Context, userID string, f *chat.File, lang string) (before, after []outMessage, err error) {
	switch {
	case f.Path == "" && f.PhotoID == "":
		return nil, nil, rejected("a file reply names no file")
	case f.Path != "" && f.PhotoID != "":
		return nil, nil, rejected("a file reply names both a file on disk and a photo")
	case f.PhotoID != "":
		if f.PhotoChannel != "" && f.PhotoChannel != Channel {
			a.log.Info("zalo: a photo from another channel cannot be sent; sending its caption only",
				"user", userID, "photo_channel", f.PhotoChannel)
			return nil, nil, nil
		}
		return []outMessage{mediaMessage(element{MediaType: "image", URL: f.PhotoID})}, nil, nil
	}
	info, err := os.Stat(f.Path)
	if err != nil {
		return nil, nil, fmt.Errorf("zalo: %w: %w", err, chat.ErrRejected)
	}
	switch {
	case !info.Mode().IsRegular():
		return nil, nil, rejected("%s is not a regular file", f.Path)
	case info.Size() == 0:
		return nil, nil, rejected("%s is empty", f.Path)
	}
	name := strings.TrimSpace(f.Name)
	if name == "" {
		name = filepath.Base(f.Path)
	}
	ext := strings.ToLower(filepath.Ext(f.Path))
	if ext == "" {
		ext = strings.ToLower(filepath.Ext(name))
	}
	if path, field, limit, contentType, ok := uploadType(ext); ok && info.Size() <= limit {
		id, err := a.upload(ctx, path, field, f.Path, name, contentType, info.Size())
		if err != nil {
			return nil, nil, err
		}
		if field == "attachment_id" {
			return []outMessage{mediaMessage(element{MediaType: "image", AttachmentID: id})}, nil, nil
		}
		return []outMessage{{Attachment: &attachment{Type: "file", Payload: payload{Token: id}}}}, nil, nil
	}
	if a.cfg.Links == nil {
		// The person asked for it: they are told it cannot come here, never left waiting.
		a.log.Warn("zalo: a file Zalo cannot carry and no download links (PUBLIC_URL); the person is told", "user", userID, "file", name)
		return nil, []outMessage{{Text: fmt.Sprintf(words(lang).noLink, name)}}, nil
	}
	url, err := a.cfg.Links.Link(ctx, f.Path, name, a.cfg.LinkTTL)
	if err != nil {
		return nil, nil, fmt.Errorf("zalo: a download link for %s: %w", name, err)
	}
	w := words(lang)
	return nil, []outMessage{{Text: fmt.Sprintf(w.link, name, url, durationWords(a.cfg.LinkTTL, w))}}, nil
}

func mediaMessage(e element) outMessage {
	return outMessage{Attachment: &attachment{Type: "template", Payload: payload{TemplateType: "media", Elements: []element{e}}}}
}

// upload streams the file at path to Zalo and returns the id its answer names in field.
func (a *Adapter) upload(ctx context.Context, path, field, file, name, contentType string, size int64) (string, error) {
	timeout := 3*a.cfg.HTTPTimeout + time.Duration(size/uploadBytesPerSecond)*time.Second
	data, err := a.call(ctx, "upload "+name, path, timeout, fileBody(file, name, contentType, size))
	if err != nil {
		return "", err
	}
	var ans map[string]flexString
	if err := json.Unmarshal(data, &ans); err != nil || ans[field] == "" {
		return "", fmt.Errorf("zalo: upload %s: the answer names no %s", name, field)
	}
	return string(ans[field]), nil
}

// fileBody is a multipart body with the file at path as the field "file", streamed from disk with
// its length known, since not every server takes a chunked upload.
func fileBody(path, name, contentType string, size int64) requestBody {
	return func() (io.ReadCloser, string, int64, error) {
		file, err := os.Open(path)
		if err != nil {
			return nil, "", 0, fmt.Errorf("%w: %w", err, chat.ErrRejected)
		}
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		h := make(textproto.MIMEHeader)
		quote := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
		h.Set("Content-Disposition", `form-data; name="file"; filename="`+quote.Replace(name)+`"`)
		h.Set("Content-Type", contentType)
		if _, err := mw.CreatePart(h); err != nil {
			file.Close()
			return nil, "", 0, err
		}
		head := bytes.Clone(buf.Bytes())
		buf.Reset()
		if err := mw.Close(); err != nil {
			file.Close()
			return nil, "", 0, err
		}
		tail := bytes.Clone(buf.Bytes())
		body := io.MultiReader(bytes.NewReader(head), io.LimitReader(file, size), bytes.NewReader(tail))
		return readCloser{Reader: body, Closer: file}, mw.FormDataContentType(), int64(len(head)) + size + int64(len(tail)), nil
	}
}

type readCloser struct {
	io.Reader
	io.Closer
}

// durationWords says d in whole hours, or minutes under an hour ("24 giờ", "30 minutes").
func durationWords(d time.Duration, w wording) string {
	if d >= time.Hour {
		return strconv.Itoa(int(d/time.Hour)) + " " + w.hours
	}
	return strconv.Itoa(max(1, int(d/time.Minute))) + " " + w.minutes
}
