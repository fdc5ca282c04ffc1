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
