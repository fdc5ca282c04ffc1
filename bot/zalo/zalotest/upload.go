package zalotest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// upload is a stored file: one the OA uploaded (an image's attachment_id, a file's token) or one a
// person sent. Its id is also its path under /zalo/media/.
type upload struct {
	id          string
	kind        string // "image" or "file"
	name        string
	contentType string
	data        []byte
	at          time.Time // on the injected clock
	byOA        bool
}

// uploadLocked finds an OA upload of a kind by id for sending; call with s.mu held.
func (s *Server) uploadLocked(id, kind string) (*upload, *APIError) {
	up := s.uploads[id]
	if up == nil || !up.byOA || up.kind != kind {
		what := "attachment_id"
		if kind == "file" {
			what = "token"
		}
		return nil, invalid(what + " " + quote(id) + " is not an uploaded " + kind)
	}
	if s.now().Sub(up.at) > UploadTTL {
		return nil, apiErr(-100, "The attachment has expired: uploads may be sent for 7 days")
	}
	return up, nil
}

// storeUploadLocked keeps bytes under a new id; call with s.mu held.
func (s *Server) storeUploadLocked(kind, name, contentType string, data []byte, byOA bool) *upload {
	up := &upload{id: rand.Text() + rand.Text(), kind: kind, name: name, contentType: contentType, data: data, at: s.now(), byOA: byOA}
	s.uploads[up.id] = up
	return up
}

// mediaURLLocked is where the emulator serves an upload; call with s.mu held.
func (s *Server) mediaURLLocked(up *upload) string {
	return s.base() + "/zalo/media/" + up.id
}

// cdnURLLocked is where a file a person sent is downloaded from, as Zalo's CDN links such files in
// user_send_file: /zalo/cdn/<id>/<name>, a link that is its own key; call with s.mu held.
func (s *Server) cdnURLLocked(up *upload) string {
	return s.base() + "/zalo/cdn/" + up.id + "/" + url.PathEscape(up.name)
}

// serveCDN answers GET (or HEAD) /zalo/cdn/<id>/<name> with a file a person sent, as Zalo's CDN
// does: no access token and no page token (the unguessable id is the key; the bot must never send
// its access token to a CDN), the bytes as application/octet-stream with their length. An unknown
// id, an upload of the OA's (those are sent by attachment_id or token, never by a link) and a
// malformed path are 404; another method is 405.
func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/zalo/cdn/"), "/")
	s.mu.Lock()
	up := s.uploads[id]
	if up != nil && up.byOA {
		up = nil
	}
	s.cdnGets++ // refused or not
	s.mu.Unlock()
	if up == nil || id == "" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": up.name}))
	w.Header().Set("Content-Length", strconv.Itoa(len(up.data)))
	if r.Method == http.MethodGet {
		_, _ = w.Write(up.data)
	}
}

// CDNDownloads is how many GET and HEAD requests the emulator's CDN (/zalo/cdn/) has answered,
// those refused with 404 included.
func (s *Server) CDNDownloads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cdnGets
}

// readUpload streams the multipart field "file", refusing content over limit with -210; a body
// declared larger than the limit and some room for the framing is refused before it is read.
func readUpload(r *http.Request, limit int64, what string) (name string, data []byte, e *APIError) {
	tooBig := apiErr(-210, "The "+what+" exceeds the limit of "+strconv.FormatInt(limit>>20, 10)+" MB")
	const framing = 64 << 10
	if r.ContentLength > limit+framing {
		return "", nil, tooBig
	}
	r.Body = http.MaxBytesReader(nil, r.Body, limit+framing)
	mr, err := r.MultipartReader()
	if err != nil {
		return "", nil, invalid("the body must be multipart/form-data with a field \"file\": " + err.Error())
	}
	for {
		part, err := mr.NextPart()
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return "", nil, tooBig
			}
			return "", nil, invalid("the multipart field \"file\" is required")
		}
		if part.FormName() != "file" {
			_ = part.Close()
			continue
		}
		var buf bytes.Buffer
		if r.ContentLength > 0 {
			buf.Grow(int(min(r.ContentLength, limit+1))) // one allocation, not a doubling series
		}
		_, err = buf.ReadFrom(io.LimitReader(part, limit+1))
		data = buf.Bytes()
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe) || int64(len(data)) > limit:
			return "", nil, tooBig
		case err != nil:
			return "", nil, invalid("cannot read the file: " + err.Error())
		case len(data) == 0:
			return "", nil, invalid("the file is empty")
		}
		return part.FileName(), data, nil
	}
}

// uploadImage answers POST /v2.0/oa/upload/image (multipart field "file", JPG or PNG by content,
// ≤ 1 MB) with {"attachment_id"}.
func (s *Server) uploadImage(r *http.Request) (any, *APIError) {
	name, data, e := readUpload(r, MaxImageBytes, "image")
	if e != nil {
		return nil, e
	}
	ct := http.DetectContentType(data)
	if ct != "image/jpeg" && ct != "image/png" {
		return nil, invalid("the image must be a JPG or PNG, not " + ct)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	up := s.storeUploadLocked("image", name, ct, data, true)
	return map[string]string{"attachment_id": up.id}, nil
}

// uploadFile answers POST /v2.0/oa/upload/file (multipart field "file", a .pdf, .doc or .docx by
// its name, ≤ 5 MB) with {"token"}.
func (s *Server) uploadFile(r *http.Request) (any, *APIError) {
	name, data, e := readUpload(r, MaxFileBytes, "file")
	if e != nil {
		return nil, e
	}
	ext := strings.ToLower(path.Ext(name))
	ct := map[string]string{
		".pdf":  "application/pdf",
		".doc":  "application/msword",
		".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	}[ext]
	if ct == "" {
		return nil, invalid("file type " + quote(ext) + " is not supported: upload a PDF, DOC or DOCX")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	up := s.storeUploadLocked("file", name, ct, data, true)
	return map[string]string{"token": up.id}, nil
}

// Upload returns the bytes and name of an upload by its attachment_id or token, or of a file a
// person sent by the id in its URL.
func (s *Server) Upload(id string) (name string, data []byte, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if up := s.uploads[id]; up != nil {
		return up.name, up.data, true
	}
	return "", nil, false
}

// serveMedia answers GET /zalo/media/<id>[?download=1] with a stored file.
func (s *Server) serveMedia(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/zalo/media/")
	s.mu.Lock()
	up := s.uploads[id]
	s.mu.Unlock()
	if up == nil {
		http.NotFound(w, r)
		return
	}
	disposition := "inline"
	if r.URL.Query().Get("download") == "1" {
		disposition = "attachment"
	}
	w.Header().Set("Content-Type", up.contentType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": up.name}))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", strconv.Itoa(len(up.data)))
	_, _ = w.Write(up.data)
}
