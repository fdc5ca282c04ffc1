package zalotest

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("decode %s: %v", url, err)
	}
	return resp.StatusCode
}

func postJSON(t *testing.T, url, body string) (int, map[string]string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestPage_Served(t *testing.T) {
	e := newEnv(t, Options{})
	resp, err := http.Get(e.ts.URL + "/zalo/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /zalo/ = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"Đây là bản mô phỏng Zalo (demo)", "#0068ff", `href="/"`, ">Telegram<", "Quan tâm", "Chia sẻ", "/zalo/api/messages", "700"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	resp, err = http.Get(e.ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("GET / = %d: the Telegram page lives there, not this one", resp.StatusCode)
	}
}

func TestPage_API(t *testing.T) {
	e := newEnv(t, Options{})
	api := e.ts.URL + "/zalo/api/"

	var open struct {
		OA   map[string]string `json:"oa"`
		User pagePerson        `json:"user"`
	}
	if code := getJSON(t, api+"open?name=Lan", &open); code != 200 || len(open.User.ID) != 19 || open.User.Name != "Lan" || open.User.Follower || open.OA["name"] != "Máy tính cho em" {
		t.Fatalf("open = %d %+v", code, open)
	}
	u := open.User.ID
	if code := getJSON(t, api+"open?user=7111111111111111111&name=Hoa", &open); code != 200 || open.User.ID != "7111111111111111111" || open.User.Name != "Hoa" {
		t.Fatalf("open with id = %d %+v", code, open)
	}
	var people struct {
		People []pagePerson `json:"people"`
	}
	getJSON(t, api+"people", &people)
	if len(people.People) != 2 || people.People[0].ID != u {
		t.Fatalf("people = %+v", people)
	}

	if code, _ := postJSON(t, api+"follow", `{"user":"`+u+`"}`); code != 200 {
		t.Fatalf("follow = %d", code)
	}
	if code, _ := postJSON(t, api+"send", `{"user":"`+u+`","text":"Xin chào"}`); code != 200 {
		t.Fatalf("send = %d", code)
	}
	if code, out := postJSON(t, api+"send", `{"user":"nobody","text":"x"}`); code != 400 || out["error"] == "" {
		t.Fatalf("send as nobody = %d %v", code, out)
	}
	id := e.sendTextWithButton(t, u)
	if code, _ := postJSON(t, api+"tap", `{"user":"`+u+`","message_id":"`+id+`","button":1}`); code != 200 {
		t.Fatalf("tap = %d", code)
	}
	if code, _ := postJSON(t, api+"tap", `{"user":"`+u+`","message_id":"`+id+`","button":7}`); code != 400 {
		t.Fatalf("tap on no button = %d", code)
	}
	if code, _ := postJSON(t, api+"submit_info", `{"user":"`+u+`","name":"Lan","phone":"0912345678"}`); code != 400 {
		t.Fatalf("submit_info before a request = %d", code)
	}
	e.sendRequestInfo(t, u)
	if code, _ := postJSON(t, api+"submit_info", `{"user":"`+u+`","name":"Lan","phone":"0912345678"}`); code != 200 {
		t.Fatalf("submit_info = %d", code)
	}
	if code, _ := postJSON(t, api+"image", `{"user":"`+u+`","text":"ảnh"}`); code != 200 {
		t.Fatalf("image = %d", code)
	}
	if code, _ := postJSON(t, api+"image", `{"user":"`+u+`","image":"`+"aGVsbG8="+`"}`); code != 400 {
		t.Fatalf("image that is not one = %d", code)
	}

	var page struct {
		Cursor   int64         `json:"cursor"`
		Follower bool          `json:"follower"`
		Messages []pageMessage `json:"messages"`
	}
	getJSON(t, api+"messages?user="+u+"&after=0", &page)
	var kinds []string
	for _, m := range page.Messages {
		switch {
		case m.From == "system":
			kinds = append(kinds, "system:"+m.Text)
		case m.Request != nil:
			kinds = append(kinds, "oa:request")
		case len(m.Buttons) > 0:
			kinds = append(kinds, "oa:buttons")
		case m.Info != "":
			kinds = append(kinds, "user:info")
		case m.Image != "":
			kinds = append(kinds, m.From+":image")
		default:
			kinds = append(kinds, m.From+":"+m.Text)
		}
	}
	got := strings.Join(kinds, " ")
	if got != "system:follow user:Xin chào oa:buttons user:Tôi muốn tặng oa:request user:info user:image" || !page.Follower {
		t.Fatalf("transcript = %q (follower %v)", got, page.Follower)
	}
	if page.Messages[2].Buttons[2].Link != "https://maytinhchoem.vn" {
		t.Errorf("URL button = %+v", page.Messages[2].Buttons[2])
	}
	img := page.Messages[len(page.Messages)-1].Image
	resp, err := http.Get(e.ts.URL + img)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("GET %s = %d %s", img, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var after struct {
		Messages []pageMessage `json:"messages"`
	}
	getJSON(t, api+"messages?user="+u+"&after="+strconv.FormatInt(page.Cursor, 10), &after)
	if len(after.Messages) != 0 {
		t.Errorf("after the cursor: %+v", after.Messages)
	}
	if code, _ := postJSON(t, api+"unfollow", `{"user":"`+u+`"}`); code != 200 {
		t.Fatalf("unfollow = %d", code)
	}
}

func TestPage_Note(t *testing.T) {
	const note = "Bản demo: hôm nay là 10/09/2021 · Demo day: 10 Sep 2021 <b>&</b>"
	e := newEnv(t, Options{PageNote: note})
	api := e.ts.URL + "/zalo/api/"
	var got struct {
		Note *string `json:"note"`
	}
	for _, path := range []string{"open?name=Lan", "people"} {
		got.Note = nil
		if code := getJSON(t, api+path, &got); code != 200 || got.Note == nil || *got.Note != note {
			t.Errorf("%s = %d, note %v; want %q", path, code, got.Note, note)
		}
	}
	plain := newEnv(t, Options{})
	got.Note = nil
	if code := getJSON(t, plain.ts.URL+"/zalo/api/open?name=Lan", &got); code != 200 || got.Note == nil || *got.Note != "" {
		t.Errorf("open without a note = %d, note %v; want \"\"", code, got.Note)
	}

	// The page shows it as text, and only when there is one.
	resp, err := http.Get(e.ts.URL + "/zalo/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`<p id="note" hidden>`, `$("note").textContent = d.note || ""`, `$("note").hidden = !d.note`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(string(body), "innerHTML = d.note") {
		t.Error("the page puts the note in as markup")
	}
}

// pageCall makes a request to the emulator with a chosen Host and headers and returns the status
// and body.
func pageCall(t *testing.T, method, url, host string, header map[string]string, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// With a page token, nobody without it acts as a person, lists people, reads a chat or opens a
// file; the page itself loads and tells how to get in; the Open API needs only its own tokens.
func TestPage_Token(t *testing.T) {
	const token = "PAGETOKEN123"
	e := newEnv(t, Options{PageToken: token})
	u := e.follower(t, "Lan")
	e.sendText(t, u, "Chào chị Lan") // the Open API, without the page token
	if _, err := e.emu.SendImage(u, "Giấy khai sinh"); err != nil {
		t.Fatal(err)
	}
	api := e.ts.URL + "/zalo/api/"
	jsonCT := map[string]string{"Content-Type": "application/json"}
	wrong := map[string]string{"Content-Type": "application/json", "X-Demo-Token": "guess"}
	withHeader := map[string]string{"Content-Type": "application/json", "X-Demo-Token": token}

	var page struct {
		Messages []pageMessage `json:"messages"`
	}
	code, body := pageCall(t, "GET", api+"messages?user="+u+"&after=0", "", withHeader, "")
	if err := json.Unmarshal([]byte(body), &page); code != 200 || err != nil || len(page.Messages) == 0 {
		t.Fatalf("messages with the token = %d %s", code, body)
	}
	media := page.Messages[len(page.Messages)-1].Image
	if !strings.HasPrefix(media, "/zalo/media/") {
		t.Fatalf("the person's image = %q", media)
	}
	seen := len(page.Messages)

	for _, tc := range []struct {
		name, method, url string
		header            map[string]string
		body              string
	}{
		{"list people", "GET", api + "people", nil, ""},
		{"open a person's chat", "GET", api + "open?user=" + u, nil, ""},
		{"read a chat", "GET", api + "messages?user=" + u + "&after=0", nil, ""},
		{"read a chat, wrong token", "GET", api + "messages?user=" + u + "&after=0", wrong, ""},
		{"read a chat, wrong token in the query", "GET", api + "messages?user=" + u + "&after=0&token=guess", nil, ""},
		{"send as the person", "POST", api + "send", jsonCT, `{"user":"` + u + `","text":"Hủy hồ sơ"}`},
		{"send, wrong token", "POST", api + "send", wrong, `{"user":"` + u + `","text":"Hủy hồ sơ"}`},
		{"tap", "POST", api + "tap", jsonCT, `{"user":"` + u + `","message_id":"x","button":0}`},
		{"unfollow", "POST", api + "unfollow", jsonCT, `{"user":"` + u + `"}`},
		{"submit info", "POST", api + "submit_info", jsonCT, `{"user":"` + u + `","name":"Lan","phone":"0912345678"}`},
		{"image", "POST", api + "image", jsonCT, `{"user":"` + u + `"}`},
		{"sticker", "POST", api + "sticker", jsonCT, `{"user":"` + u + `"}`},
		{"open a file", "GET", e.ts.URL + media, nil, ""},
		{"download a file", "GET", e.ts.URL + media + "?download=1", nil, ""},
	} {
		code, body := pageCall(t, tc.method, tc.url, "", tc.header, tc.body)
		if code != http.StatusForbidden || !strings.Contains(body, "mở đúng đường link in ra khi chạy demo") {
			t.Errorf("%s without the token = %d %s, want 403 saying to open the printed link", tc.name, code, body)
		}
	}
	_, body = pageCall(t, "GET", api+"messages?user="+u+"&after=0", "", withHeader, "")
	if err := json.Unmarshal([]byte(body), &page); err != nil || len(page.Messages) != seen {
		t.Fatalf("calls without the token changed the chat: %s", body)
	}
	if p, _ := e.emu.Person(u); !p.Follower {
		t.Fatal("a call without the token unfollowed the OA")
	}

	// With the token, in the header as the page sends it or in the query as its links carry it.
	if code, body := pageCall(t, "POST", api+"send", "", withHeader, `{"user":"`+u+`","text":"Xin chào"}`); code != 200 {
		t.Errorf("send with the token = %d %s", code, body)
	}
	if code, body := pageCall(t, "GET", api+"people?token="+token, "", nil, ""); code != 200 || !strings.Contains(body, u) {
		t.Errorf("people with the token in the query = %d %s", code, body)
	}
	if code, _ := pageCall(t, "GET", e.ts.URL+media+"?download=1&token="+token, "", nil, ""); code != 200 {
		t.Errorf("a file with the token = %d", code)
	}

	// The OA sends the person's image back by its URL, as the bot does: the page gets it as a path
	// of its own server, so that its token goes with it.
	a := e.send(t, `{"recipient":{"user_id":"`+u+`"},"message":{"attachment":{"type":"template","payload":{"template_type":"media","elements":[{"media_type":"image","url":"`+e.ts.URL+media+`"}]}}}}`)
	if a.Error != 0 {
		t.Fatalf("send the image back = %+v", a)
	}
	_, body = pageCall(t, "GET", api+"messages?user="+u+"&after=0", "", withHeader, "")
	if err := json.Unmarshal([]byte(body), &page); err != nil || page.Messages[len(page.Messages)-1].Image != media {
		t.Errorf("the OA's image on the page = %+v, want %q", page.Messages[len(page.Messages)-1], media)
	}

	// The page loads without the token, keeps the one in its URL, sends it and says how to get in.
	code, html := pageCall(t, "GET", e.ts.URL+"/zalo/", "", nil, "")
	if code != 200 {
		t.Fatalf("GET /zalo/ without the token = %d", code)
	}
	for _, want := range []string{`get("token")`, `"X-Demo-Token": TOKEN`, "mở đúng đường link in ra khi chạy demo", `withToken(m.image)`, `withToken(m.file.url + "?download=1")`, `withToken("/")`} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if n := strings.Count(html, "fetch("); n != 1 {
		t.Errorf("the page calls fetch %d times; want once, in api(), which adds the token", n)
	}
}

// With page hosts, the page, its API and its files answer only under those names: a page of
// another site whose name is made to resolve to 127.0.0.1 (DNS rebinding) gets nothing. The
// OAuth and Open API paths are apart.
func TestPage_Hosts(t *testing.T) {
	e := newEnv(t, Options{PageHosts: []string{"127.0.0.1:8080", "localhost:8080"}})
	u := e.follower(t, "Lan")
	e.sendText(t, u, "Chào chị Lan") // the Open API under the test server's own address
	if _, err := e.emu.SendImage(u, ""); err != nil {
		t.Fatal(err)
	}
	var page struct {
		Messages []pageMessage `json:"messages"`
	}
	_, body := pageCall(t, "GET", e.ts.URL+"/zalo/api/messages?user="+u+"&after=0", "127.0.0.1:8080", nil, "")
	if err := json.Unmarshal([]byte(body), &page); err != nil || len(page.Messages) == 0 {
		t.Fatalf("messages under an allowed Host: %s", body)
	}
	media := page.Messages[len(page.Messages)-1].Image
	for _, host := range []string{"evil.example:8080", "127.0.0.1.nip.io:8080", "127.0.0.1:9999"} {
		for _, path := range []string{"/zalo/", "/zalo/api/people", "/zalo/api/messages?user=" + u + "&after=0", media} {
			if code, body := pageCall(t, "GET", e.ts.URL+path, host, nil, ""); code != http.StatusMisdirectedRequest {
				t.Errorf("GET %s with Host %s = %d %s, want 421", path, host, code, body)
			}
		}
		if code, _ := pageCall(t, "POST", e.ts.URL+"/zalo/api/send", host, map[string]string{"Content-Type": "application/json"}, `{"user":"`+u+`","text":"hi"}`); code != http.StatusMisdirectedRequest {
			t.Errorf("POST send with Host %s = %d, want 421", host, code)
		}
	}
	for _, host := range []string{"127.0.0.1:8080", "LOCALHOST:8080"} {
		if code, body := pageCall(t, "GET", e.ts.URL+"/zalo/api/people", host, nil, ""); code != 200 {
			t.Errorf("people with Host %s = %d %s", host, code, body)
		}
	}
}

// The page's POSTs take only JSON declared as such: a form on another site cannot post one
// without the browser asking first.
func TestPage_ContentType(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.follower(t, "Lan")
	var page struct {
		Messages []pageMessage `json:"messages"`
	}
	getJSON(t, e.ts.URL+"/zalo/api/messages?user="+u+"&after=0", &page)
	before := len(page.Messages)
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
		for _, action := range []string{"send", "tap", "follow", "unfollow", "submit_info", "image", "sticker"} {
			code, body := pageCall(t, "POST", e.ts.URL+"/zalo/api/"+action, "", map[string]string{"Content-Type": ct}, `{"user":"`+u+`","text":"hi"}`)
			if code != http.StatusUnsupportedMediaType || !strings.Contains(body, "application/json") {
				t.Errorf("POST %s as %q = %d %s, want 415", action, ct, code, body)
			}
		}
	}
	getJSON(t, e.ts.URL+"/zalo/api/messages?user="+u+"&after=0", &page)
	if len(page.Messages) != before {
		t.Fatalf("refused posts changed the chat: %d entries, were %d", len(page.Messages), before)
	}
	if code, body := pageCall(t, "POST", e.ts.URL+"/zalo/api/send", "", map[string]string{"Content-Type": "application/json; charset=utf-8"}, `{"user":"`+u+`","text":"hi"}`); code != 200 {
		t.Errorf("send as JSON with a charset = %d %s", code, body)
	}
}
