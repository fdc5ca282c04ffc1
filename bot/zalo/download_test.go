package zalo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/bot/zalo/zalotest"
	"github.com/thuduc/maytinhchoem/chat"
)

// A file a person sends through the emulator comes as a Document whose FileID opens it: the bytes
// sent, from the emulator's CDN, with one download.
func TestAdapter_OpenFile_emulator(t *testing.T) {
	emu := zalotest.New(zalotest.Options{AppID: testAppID, AppSecret: testAppSecret, Now: newClock().Now, PageToken: "page-secret"})
	ts := httptest.NewServer(emu)
	t.Cleanup(func() { ts.Close(); emu.Close() })
	emu.SetBaseURL(ts.URL)
	user := emu.AddUser("Bảo")
	list := []byte("STT,Họ và tên học sinh,Ngày sinh\n1,Lê Thị Hoa,12/03/2013\n")
	id, err := emu.SendFileData(user, "danh sách phường.csv", list)
	if err != nil {
		t.Fatal(err)
	}
	ev, ok := emu.EventByID(id)
	if !ok {
		t.Fatal("no event")
	}
	a, _ := offlineAdapter(t)
	in, ok, err := a.ToUpdate(context.Background(), ev.Body)
	if err != nil || !ok {
		t.Fatalf("ToUpdate = %v, %v", ok, err)
	}
	d := in.Document
	if in.Kind != chat.KindOther || d == nil || d.Name != "danh sách phường.csv" || d.Size != int64(len(list)) || d.FileID == "" {
		t.Fatalf("update = %+v, document %+v", in, d)
	}
	f, err := a.OpenFile(context.Background(), d.FileID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	if err != nil || f.Close() != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, list) {
		t.Errorf("downloaded %q, want %q", got, list)
	}
	if n := emu.CDNDownloads(); n != 1 {
		t.Errorf("CDN downloads = %d, want 1", n)
	}

	// A link the CDN does not know: refused, so the person is told the file could not be had.
	_, err = a.OpenFile(context.Background(), ts.URL+"/zalo/cdn/NOSUCHFILE/danh-sach.csv")
	if !errors.Is(err, chat.ErrRejected) {
		t.Errorf("unknown file: err = %v, want ErrRejected", err)
	}
}

// fileServer serves handler and records what each request carried.
type fileServer struct {
	*httptest.Server
	mu      sync.Mutex
	headers []http.Header
	methods []string
}

func newFileServer(t *testing.T, handler http.HandlerFunc) *fileServer {
	t.Helper()
	s := &fileServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.headers = append(s.headers, r.Header.Clone())
		s.methods = append(s.methods, r.Method)
		s.mu.Unlock()
		handler(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestAdapter_OpenFile(t *testing.T) {
	const secret = "SIG-s3cr3t"
	chunked := func(n int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			block := bytes.Repeat([]byte("a"), 64<<10)
			for n > 0 {
				k := min(n, len(block))
				if _, err := w.Write(block[:k]); err != nil {
					return
				}
				n -= k
			}
		}
	}
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		wantSize int
		rejected bool // the error wraps chat.ErrRejected
		failed   bool // a plain error, worth a retry
		atOpen   bool // the error comes from OpenFile, not from reading
	}{
		{name: "ok", handler: chunked(1000), wantSize: 1000},
		{name: "exactly 20 MB without a length", handler: chunked(maxDownloadBytes), wantSize: maxDownloadBytes},
		{name: "over 20 MB without a length", handler: chunked(maxDownloadBytes + 1), rejected: true},
		{name: "over 20 MB by its length", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(maxDownloadBytes+1))
			_, _ = w.Write([]byte("a"))
		}, rejected: true, atOpen: true},
		{name: "expired link", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "signature expired "+r.URL.RawQuery, http.StatusForbidden)
		}, rejected: true, atOpen: true},
		{name: "gone", handler: http.NotFound, rejected: true, atOpen: true},
		{name: "CDN down", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "busy", http.StatusBadGateway)
		}, failed: true, atOpen: true},
		{name: "throttled", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "slow down", http.StatusTooManyRequests)
		}, failed: true, atOpen: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, fx := offlineAdapter(t)
			srv := newFileServer(t, tt.handler)
			f, err := a.OpenFile(context.Background(), srv.URL+"/f/danh-sach.xlsx?sig="+secret)
			if err == nil {
				var data []byte
				data, err = io.ReadAll(f)
				if cerr := f.Close(); cerr != nil {
					t.Errorf("Close: %v", cerr)
				}
				if err == nil && len(data) != tt.wantSize {
					t.Errorf("read %d bytes, want %d", len(data), tt.wantSize)
				}
			} else if !tt.atOpen {
				t.Errorf("OpenFile: %v, want the error while reading", err)
			}
			switch {
			case tt.rejected && !errors.Is(err, chat.ErrRejected):
				t.Errorf("err = %v, want ErrRejected", err)
			case tt.failed && (err == nil || errors.Is(err, chat.ErrRejected)):
				t.Errorf("err = %v, want a plain error", err)
			case !tt.rejected && !tt.failed && err != nil:
				t.Errorf("err = %v", err)
			}
			if err != nil && (strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "/f/danh-sach.xlsx")) {
				t.Errorf("err = %q: want the URL's path and not its query", err)
			}
			if strings.Contains(fx.logs.String(), secret) {
				t.Errorf("logs hold the URL's query:\n%s", fx.logs)
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if len(srv.methods) != 1 || srv.methods[0] != http.MethodGet {
				t.Errorf("requests %v, want one GET", srv.methods)
			}
			for _, h := range srv.headers {
				if h.Get("access_token") != "" || h.Get("Authorization") != "" {
					t.Errorf("the download carried credentials: %v", h)
				}
			}
		})
	}
}

func TestAdapter_OpenFile_badIDs(t *testing.T) {
	a, _ := offlineAdapter(t)
	for _, id := range []string{"", "f1", "/zalo/cdn/x", "ftp://files.example/a.csv", "file:///etc/passwd", "https://", "javascript:alert(1)"} {
		if _, err := a.OpenFile(context.Background(), id); !errors.Is(err, chat.ErrRejected) {
			t.Errorf("OpenFile(%q) = %v, want ErrRejected", id, err)
		}
	}
}

// A CDN that does not answer, or stops half-way, is cut off by the download's deadline, without
// the URL's query in the error; a network failure is plain too.
func TestAdapter_OpenFile_deadline(t *testing.T) {
	const secret = "SIG-s3cr3t"
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	a, _ := offlineAdapter(t)
	a.cfg.HTTPTimeout = 50 * time.Millisecond // 150 ms for the headers

	silent := newFileServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	start := time.Now()
	_, err := a.OpenFile(context.Background(), silent.URL+"/f/a.csv?sig="+secret)
	if err == nil || errors.Is(err, chat.ErrRejected) || !errors.Is(err, errDownloadDeadline) || strings.Contains(err.Error(), secret) {
		t.Errorf("silent CDN: err = %v, want the deadline, without the query", err)
	}
	t.Logf("silent CDN: %v", err)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gave up after %v", d)
	}

	// Headers announce 1 MB (deadline 150 ms + 150 ms + 8 s), then the body stalls: the caller's
	// context ends it.
	stalled := newFileServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(1<<20))
		_, _ = w.Write([]byte("STT,"))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	f, err := a.OpenFile(ctx, stalled.URL+"/f/a.csv?sig="+secret)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(f)
	_ = f.Close()
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("stalled body: err = %v", err)
	}
	t.Logf("stalled body: %v", err)

	_, err = a.OpenFile(context.Background(), "http://127.0.0.1:9/f/a.csv?sig="+secret)
	if err == nil || errors.Is(err, chat.ErrRejected) || strings.Contains(err.Error(), secret) {
		t.Errorf("no server: err = %v, want a plain error without the query", err)
	}
}
