package zalotest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// A file a person sends is linked in user_send_file on the emulator's CDN, which serves it as
// Zalo's does: to anyone holding the link (no access token, and not behind the chat page's
// token), nothing else: an unknown id, an upload of the OA's and another method are refused.
func TestCDN_filesPeopleSend(t *testing.T) {
	e := newEnv(t, Options{PageToken: "page-secret"})
	e.emu.SetBaseURL(e.ts.URL)
	u := e.follower(t, "Bảo")
	list := []byte("STT,Họ và tên học sinh\n1,Lê Thị Hoa\n")
	id, err := e.emu.SendFileData(u, "danh sách.csv", list)
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := e.emu.EventByID(id)
	var body struct {
		Message struct {
			Attachments []struct {
				Payload struct {
					URL  string `json:"url"`
					Name string `json:"name"`
				} `json:"payload"`
			} `json:"attachments"`
		} `json:"message"`
	}
	if err := json.Unmarshal(ev.Body, &body); err != nil || len(body.Message.Attachments) != 1 {
		t.Fatalf("event %s: %v", ev.Body, err)
	}
	link := body.Message.Attachments[0].Payload.URL
	if !strings.HasPrefix(link, e.ts.URL+"/zalo/cdn/") || !strings.HasSuffix(link, "/danh%20s%C3%A1ch.csv") {
		t.Fatalf("url = %q", link)
	}
	get := func(method, url string) (int, http.Header, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, data
	}
	code, h, data := get("GET", link)
	if code != 200 || !bytes.Equal(data, list) || h.Get("Content-Type") != "application/octet-stream" || h.Get("Content-Length") != strconv.Itoa(len(list)) {
		t.Errorf("GET the link = %d %v %q", code, h, data)
	}
	if code, _, data := get("HEAD", link); code != 200 || len(data) != 0 {
		t.Errorf("HEAD the link = %d %q", code, data)
	}
	if code, _, _ := get("POST", link); code != http.StatusMethodNotAllowed {
		t.Errorf("POST the link = %d, want 405", code)
	}
	// The page's copy of the same file stays behind the page's token.
	mediaID := strings.SplitN(strings.TrimPrefix(link, e.ts.URL+"/zalo/cdn/"), "/", 2)[0]
	if code, _, _ := get("GET", e.ts.URL+"/zalo/media/"+mediaID); code != http.StatusForbidden {
		t.Errorf("the page's media without its token = %d, want 403", code)
	}

	pdf := e.upload(t, "/v2.0/oa/upload/file", "Biên bản.pdf", []byte("%PDF-1.4\n%%EOF\n"))
	var d struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(pdf.Data, &d); err != nil || d.Token == "" {
		t.Fatalf("upload = %+v", pdf)
	}
	for _, path := range []string{"/zalo/cdn/NOSUCHFILE/a.csv", "/zalo/cdn/" + d.Token + "/Biên bản.pdf", "/zalo/cdn/", "/zalo/cdn/" + mediaID + "x/danh.csv"} {
		if code, _, _ := get("GET", e.ts.URL+path); code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, code)
		}
	}
	if n := e.emu.CDNDownloads(); n != 6 { // GET, HEAD and the four refused; not the POST
		t.Errorf("CDNDownloads = %d, want 6", n)
	}
}
