package zalotest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"strings"
	"testing"
	"time"
)

// sendRequestInfo sends a request_user_info card to a user.
func (e *env) sendRequestInfo(t *testing.T, userID string) string {
	t.Helper()
	a := e.send(t, `{"recipient":{"user_id":"`+userID+`"},"message":{"attachment":{"type":"template","payload":{
		"template_type":"request_user_info","elements":[{"title":"Chia sẻ số điện thoại","subtitle":"Để trường liên lạc"}]}}}}`)
	if a.Error != 0 {
		t.Fatalf("request_user_info: %d %s", a.Error, a.Message)
	}
	var d struct {
		MessageID string `json:"message_id"`
	}
	_ = json.Unmarshal(a.Data, &d)
	return d.MessageID
}

func buttonsJSON(n int) string {
	var b []string
	for i := range n {
		b = append(b, fmt.Sprintf(`{"title":"Nút %d","type":"oa.query.hide","payload":"#p%d"}`, i, i))
	}
	return "[" + strings.Join(b, ",") + "]"
}

func TestSend_Refusals(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.follower(t, "Lan")
	msg := func(m string) string { return `{"recipient":{"user_id":"` + u + `"},"message":` + m + `}` }
	tmpl := func(payload string) string {
		return msg(`{"text":"Chọn","attachment":{"type":"template","payload":` + payload + `}}`)
	}
	info := func(elements string) string {
		return msg(`{"attachment":{"type":"template","payload":{"template_type":"request_user_info","elements":` + elements + `}}}`)
	}
	cases := []struct {
		name, body string
		code       int
		substr     string
	}{
		{"2001 characters", msg(`{"text":"` + strings.Repeat("ệ", 2001) + `"}`), -201, "2001 characters"},
		{"empty text", msg(`{"text":""}`), -201, "text"},
		{"no message", `{"recipient":{"user_id":"` + u + `"}}`, -201, "message is required"},
		{"no recipient", `{"message":{"text":"x"}}`, -201, "user_id"},
		{"unknown user", `{"recipient":{"user_id":"7000000000000000001"},"message":{"text":"x"}}`, -201, "not a user"},
		{"not JSON", `{"recipient":`, -201, "JSON"},
		{"six buttons", tmpl(`{"buttons":` + buttonsJSON(6) + `}`), -201, "1 to 5"},
		{"no buttons", tmpl(`{"buttons":[]}`), -201, "1 to 5"},
		{"bad button type", tmpl(`{"buttons":[{"title":"A","type":"oa.query.callback","payload":"x"}]}`), -201, "not a button type"},
		{"empty title", tmpl(`{"buttons":[{"title":"","type":"oa.query.show","payload":"x"}]}`), -201, "title is required"},
		{"long title", tmpl(`{"buttons":[{"title":"` + strings.Repeat("a", 101) + `","type":"oa.query.show","payload":"x"}]}`), -201, "title has 101"},
		{"object query payload", tmpl(`{"buttons":[{"title":"A","type":"oa.query.hide","payload":{"x":1}}]}`), -201, "non-empty string"},
		{"long query payload", tmpl(`{"buttons":[{"title":"A","type":"oa.query.hide","payload":"` + strings.Repeat("p", 1001) + `"}]}`), -201, "1001"},
		{"url without url", tmpl(`{"buttons":[{"title":"A","type":"oa.open.url","payload":{"link":"x"}}]}`), -201, "url"},
		{"phone without code", tmpl(`{"buttons":[{"title":"A","type":"oa.open.phone","payload":{}}]}`), -201, "phone_code"},
		{"buttons without text", msg(`{"attachment":{"type":"template","payload":{"buttons":` + buttonsJSON(1) + `}}}`), -201, "text is required"},
		{"two request_user_info elements", info(`[{"title":"A"},{"title":"B"}]`), -201, "exactly one element"},
		{"request_user_info without title", info(`[{"subtitle":"A"}]`), -201, "title is required"},
		{"request_user_info long subtitle", info(`[{"title":"A","subtitle":"` + strings.Repeat("s", 501) + `"}]`), -201, "subtitle"},
		{"unknown template", tmpl(`{"template_type":"list","elements":[]}`), -233, "not supported"},
		{"unknown attachment type", msg(`{"attachment":{"type":"image","payload":{"url":"https://x.vn/a.jpg"}}}`), -233, "not supported"},
		{"media two elements", tmpl(`{"template_type":"media","elements":[{"media_type":"image","url":"https://x.vn/a.jpg"},{"media_type":"image","url":"https://x.vn/b.jpg"}]}`), -201, "exactly one"},
		{"media unknown attachment", tmpl(`{"template_type":"media","elements":[{"media_type":"image","attachment_id":"nope"}]}`), -201, "not an uploaded image"},
		{"media with buttons", tmpl(`{"template_type":"media","elements":[{"media_type":"image","url":"https://x.vn/a.jpg"}],"buttons":` + buttonsJSON(1) + `}`), -201, "buttons go with a text"},
		{"file unknown token", msg(`{"attachment":{"type":"file","payload":{"token":"nope"}}}`), -201, "not an uploaded file"},
		{"unknown quote", msg(`{"text":"x","quote_message_id":"abc"}`), -201, "quote_message_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, e.send(t, c.body), c.code, c.substr)
		})
	}
	if n := len(e.emu.Messages(u)); n != 0 {
		t.Errorf("refused sends stored %d messages", n)
	}
	// The limits themselves pass.
	e.sendText(t, u, strings.Repeat("ệ", 2000))
	if a := e.send(t, tmpl(`{"buttons":`+buttonsJSON(5)+`}`)); a.Error != 0 {
		t.Fatalf("five buttons: %d %s", a.Error, a.Message)
	}
}

func TestSend_StoresAndEchoes(t *testing.T) {
	h := newHook(t, nil)
	e := newEnv(t, Options{WebhookURL: h.srv.URL})
	u := e.follower(t, "Lan")
	a := e.send(t, `{"recipient":{"user_id":"`+u+`"},"message":{"text":"Bạn muốn làm gì?","attachment":{"type":"template","payload":{"buttons":[
		{"title":"Tặng máy","type":"oa.query.hide","payload":"#tang"},
		{"title":"Xem trang","type":"oa.open.url","payload":{"url":"https://maytinhchoem.vn"}},
		{"title":"Gọi","type":"oa.open.phone","payload":{"phone_code":"0912345678"}}]}}}}`)
	if a.Error != 0 || a.Message != "Success" {
		t.Fatalf("send = %+v", a)
	}
	m, ok := e.emu.LastMessage(u)
	if !ok || m.Text != "Bạn muốn làm gì?" || m.Event != "oa_send_text" || !m.Time.Equal(campaignDay) {
		t.Fatalf("stored = %+v", m)
	}
	want := []Button{{Title: "Tặng máy", Type: "oa.query.hide", Payload: "#tang"}, {Title: "Xem trang", Type: "oa.open.url", Payload: "https://maytinhchoem.vn"}, {Title: "Gọi", Type: "oa.open.phone", Payload: "0912345678"}}
	for i, b := range m.Buttons {
		if b.Title != want[i].Title || b.Type != want[i].Type || b.Payload != want[i].Payload {
			t.Errorf("button %d = %+v, want %+v", i, b, want[i])
		}
	}
	ev := waitEvent(t, e.emu, m.ID, delivered)
	var echo struct {
		AppID     string `json:"app_id"`
		EventName string `json:"event_name"`
		Sender    struct {
			ID string `json:"id"`
		} `json:"sender"`
		Recipient struct {
			ID string `json:"id"`
		} `json:"recipient"`
		Message struct {
			Text  string `json:"text"`
			MsgID string `json:"msg_id"`
		} `json:"message"`
		Timestamp string `json:"timestamp"`
	}
	if err := json.Unmarshal(ev.Body, &echo); err != nil {
		t.Fatal(err)
	}
	if echo.EventName != "oa_send_text" || echo.Sender.ID != e.emu.opts.OAID || echo.Recipient.ID != u ||
		echo.Message.MsgID != m.ID || echo.Message.Text != m.Text || echo.AppID != "1122334455667788990" {
		t.Fatalf("echo = %s", ev.Body)
	}
	reqID := e.sendRequestInfo(t, u)
	if ev := waitEvent(t, e.emu, reqID, delivered); ev.Name != "oa_send_list" {
		t.Errorf("request_user_info echo = %s", ev.Name)
	}
	if m, _ := e.emu.LastMessage(u); m.RequestInfo == nil || m.RequestInfo.Title != "Chia sẻ số điện thoại" {
		t.Errorf("request info = %+v", m.RequestInfo)
	}
	// A reply may quote an earlier message.
	a = e.send(t, `{"recipient":{"user_id":"`+u+`"},"message":{"text":"Trả lời","quote_message_id":"`+m.ID+`"}}`)
	if last, _ := e.emu.LastMessage(u); a.Error != 0 || last.QuoteID != m.ID {
		t.Errorf("quote: %+v %+v", a, last)
	}
	// An admin answering from the OA inbox echoes with sender.admin_id.
	id, _ := e.emu.AdminSendText(u, "Chào chị, em là cán bộ phường")
	if ev := waitEvent(t, e.emu, id, delivered); !strings.Contains(string(ev.Body), `"admin_id":"`) {
		t.Errorf("admin echo = %s", ev.Body)
	}
}

func TestSend_Window(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.follower(t, "Lan") // following is an interaction, at campaignDay
	e.advance(Window)
	e.sendText(t, u, "đúng 7 ngày")
	e.advance(time.Second)
	body := `{"recipient":{"user_id":"` + u + `"},"message":{"text":"quá 7 ngày"}}`
	wantError(t, e.send(t, body), -230, "7 days")
	if _, err := e.emu.SendText(u, "Chào OA"); err != nil {
		t.Fatal(err)
	}
	e.sendText(t, u, "lại được")
	// A tap on a query button reopens the window too.
	id := e.sendTextWithButton(t, u)
	e.advance(Window + time.Second)
	wantError(t, e.send(t, body), -230, "")
	if _, err := e.emu.Tap(u, id, 0); err != nil {
		t.Fatal(err)
	}
	e.sendText(t, u, "sau khi bấm nút")
}

func (e *env) sendTextWithButton(t *testing.T, userID string) string {
	t.Helper()
	a := e.send(t, `{"recipient":{"user_id":"`+userID+`"},"message":{"text":"Chọn","attachment":{"type":"template","payload":{"buttons":[
		{"title":"Ẩn","type":"oa.query.hide","payload":"#an"},{"title":"Hiện","type":"oa.query.show","payload":"Tôi muốn tặng"},
		{"title":"Trang","type":"oa.open.url","payload":{"url":"https://maytinhchoem.vn"}}]}}}}`)
	if a.Error != 0 {
		t.Fatalf("send with buttons: %d %s", a.Error, a.Message)
	}
	var d struct {
		MessageID string `json:"message_id"`
	}
	_ = json.Unmarshal(a.Data, &d)
	return d.MessageID
}

func TestSend_FollowersAndBans(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.emu.AddUser("Chưa quan tâm")
	if _, err := e.emu.SendText(u, "Xin chào"); err != nil { // a person may write without following
		t.Fatal(err)
	}
	body := `{"recipient":{"user_id":"` + u + `"},"message":{"text":"x"}}`
	wantError(t, e.send(t, body), -213, "followed")
	if _, err := e.emu.Follow(u); err != nil {
		t.Fatal(err)
	}
	e.sendText(t, u, "đã quan tâm")
	if _, err := e.emu.Follow(u); err == nil {
		t.Error("following twice succeeded")
	}
	if _, err := e.emu.Unfollow(u); err != nil {
		t.Fatal(err)
	}
	wantError(t, e.send(t, body), -213, "")
	_, _ = e.emu.Follow(u)
	_ = e.emu.Ban(u)
	wantError(t, e.send(t, body), -227, "banned")
	_ = e.emu.Unban(u)
	e.sendText(t, u, "hết cấm")
}

func pngBytes(t *testing.T, pad int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	return append(buf.Bytes(), make([]byte, pad)...)
}

func TestUploads(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.follower(t, "Lan")
	img := pngBytes(t, 0)
	a := e.upload(t, "/v2.0/oa/upload/image", "may.png", img)
	var d struct {
		AttachmentID string `json:"attachment_id"`
		Token        string `json:"token"`
	}
	if _ = json.Unmarshal(a.Data, &d); a.Error != 0 || d.AttachmentID == "" {
		t.Fatalf("upload image = %+v", a)
	}
	media := `{"recipient":{"user_id":"` + u + `"},"message":{"text":"Ảnh máy","attachment":{"type":"template","payload":{"template_type":"media","elements":[{"media_type":"image","attachment_id":"` + d.AttachmentID + `"}]}}}}`
	if a := e.send(t, media); a.Error != 0 {
		t.Fatalf("send media: %+v", a)
	}
	if m, _ := e.emu.LastMessage(u); m.Image == nil || !bytes.Equal(m.Image.Data, img) || m.Event != "oa_send_image" {
		t.Fatalf("stored image = %+v", m.Image)
	}
	wantError(t, e.upload(t, "/v2.0/oa/upload/image", "big.png", pngBytes(t, MaxImageBytes)), -210, "1 MB")
	wantError(t, e.upload(t, "/v2.0/oa/upload/image", "a.gif", []byte("GIF89a\x01\x00\x01\x00")), -201, "JPG or PNG")
	wantError(t, e.upload(t, "/v2.0/oa/upload/image", "a.png", []byte("not an image at all")), -201, "JPG or PNG")

	pdf := []byte("%PDF-1.4\nbiên bản\n%%EOF\n")
	a = e.upload(t, "/v2.0/oa/upload/file", "Biên bản.pdf", pdf)
	if _ = json.Unmarshal(a.Data, &d); a.Error != 0 || d.Token == "" {
		t.Fatalf("upload file = %+v", a)
	}
	file := `{"recipient":{"user_id":"` + u + `"},"message":{"attachment":{"type":"file","payload":{"token":"` + d.Token + `"}}}}`
	if a := e.send(t, file); a.Error != 0 {
		t.Fatalf("send file: %+v", a)
	}
	if m, _ := e.emu.LastMessage(u); m.File == nil || m.File.Name != "Biên bản.pdf" || !bytes.Equal(m.File.Data, pdf) {
		t.Fatalf("stored file = %+v", m.File)
	}
	for _, name := range []string{"report.docx", "old.doc"} {
		if a := e.upload(t, "/v2.0/oa/upload/file", name, []byte("PK\x03\x04")); a.Error != 0 {
			t.Errorf("upload %s = %+v", name, a)
		}
	}
	wantError(t, e.upload(t, "/v2.0/oa/upload/file", "Danh sách.xlsx", []byte("PK\x03\x04")), -201, ".xlsx")
	wantError(t, e.upload(t, "/v2.0/oa/upload/file", "big.pdf", append([]byte("%PDF"), make([]byte, MaxFileBytes)...)), -210, "5 MB")

	// Uploads expire after 7 days; the window is kept open by the person writing.
	e.advance(UploadTTL + time.Second)
	_, _ = e.emu.SendText(u, "còn đây")
	wantError(t, e.send(t, media), -100, "expired")
	wantError(t, e.send(t, file), -100, "expired")
	if name, data, ok := e.emu.Upload(d.Token); !ok || name != "Biên bản.pdf" || !bytes.Equal(data, pdf) {
		t.Errorf("Upload(token) = %q %v", name, ok)
	}
}

func TestTap(t *testing.T) {
	h := newHook(t, nil)
	e := newEnv(t, Options{WebhookURL: h.srv.URL})
	u := e.follower(t, "Lan")
	id := e.sendTextWithButton(t, u)
	e.clock.Advance(time.Hour)
	tap, err := e.emu.Tap(u, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, e.emu, tap, delivered)
	var got struct {
		EventName string `json:"event_name"`
		Sender    struct {
			ID string `json:"id"`
		} `json:"sender"`
		Message struct {
			Text  string `json:"text"`
			MsgID string `json:"msg_id"`
		} `json:"message"`
	}
	_ = json.Unmarshal(ev.Body, &got)
	if got.EventName != "user_send_text" || got.Message.Text != "#an" || got.Sender.ID != u || got.Message.MsgID != tap {
		t.Fatalf("tap event = %s", ev.Body)
	}
	if p, _ := e.emu.Person(u); !p.LastInteraction.Equal(campaignDay.Add(time.Hour)) {
		t.Errorf("last interaction = %v", p.LastInteraction)
	}
	if _, err := e.emu.TapTitle(u, id, "Hiện"); err != nil {
		t.Fatal(err)
	}
	// hide is not shown in the person's chat; show is.
	page, _ := e.emu.pageMessages(u, 0)
	var texts []string
	for _, m := range page["messages"].([]pageMessage) {
		if m.From == "user" {
			texts = append(texts, m.Text)
		}
	}
	if len(texts) != 1 || texts[0] != "Tôi muốn tặng" {
		t.Errorf("person's bubbles = %q, want only the shown tap", texts)
	}
	if none, err := e.emu.Tap(u, id, 2); err != nil || none != "" {
		t.Errorf("tap on a URL button = %q %v, want no event", none, err)
	}
	for _, bad := range []int{3, -1} {
		if _, err := e.emu.Tap(u, id, bad); err == nil {
			t.Errorf("tap on button %d succeeded", bad)
		}
	}
	if _, err := e.emu.Tap(u, "nope", 0); err == nil {
		t.Error("tap on an unknown message succeeded")
	}
	other := e.follower(t, "Hoa")
	if _, err := e.emu.Tap(other, id, 0); err == nil {
		t.Error("tap on another person's message succeeded")
	}
}
