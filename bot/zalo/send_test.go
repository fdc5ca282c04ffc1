package zalo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/thuduc/maytinhchoem/chat"
)

// reply is a Reply to testUser.
func reply(o chat.Output) chat.Reply {
	return chat.Reply{Output: o, Channel: "zalo", ChatID: testUser}
}

// wantBody compares a call's body with JSON.
func wantBody(t *testing.T, c apiCall, want string) {
	t.Helper()
	var w map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want: %v", err)
	}
	if !reflect.DeepEqual(c.Body, w) {
		got, _ := json.Marshal(c.Body)
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}

func row(buttons ...string) []chat.Button {
	var out []chat.Button
	for i := 0; i+1 < len(buttons); i += 2 {
		out = append(out, chat.Button{Text: buttons[i], Data: buttons[i+1]})
	}
	return out
}

func TestAdapter_Send_buttons(t *testing.T) {
	fx := newFixture(t)
	fx.menus.menus[testUser] = []byte(`{"choices":[]}`) // an earlier numbered list
	r := reply(chat.Output{
		Text:    "Bạn học lớp mấy?",
		Ack:     "✔️ Đã chọn: Linh Trung",
		Buttons: [][]chat.Button{row("Lớp 1", "grade:1", "Lớp 2", "grade:2"), row("Lớp 3", "grade:3"), row(strings.Repeat("Dài ", 40), "long")},
	})
	if err := fx.a.Send(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	calls := fx.zalo.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls, want 1", len(calls))
	}
	wantBody(t, calls[0], `{"recipient":{"user_id":"8312345678901234567"},"message":{
		"text":"✔️ Đã chọn: Linh Trung\n\nBạn học lớp mấy?",
		"attachment":{"type":"template","payload":{"buttons":[
			{"title":"Lớp 1","type":"oa.query.hide","payload":"#c:grade:1"},
			{"title":"Lớp 2","type":"oa.query.hide","payload":"#c:grade:2"},
			{"title":"Lớp 3","type":"oa.query.hide","payload":"#c:grade:3"},
			{"title":"`+strings.Repeat("Dài ", 24)+`Dài…","type":"oa.query.hide","payload":"#c:long"}]}}}}`)
	if calls[0].Token != "ACCESS-1" {
		t.Errorf("access_token header %q", calls[0].Token)
	}
	// A newer question: the earlier numbered list answers nothing any more.
	if fx.menus.has(testUser) {
		t.Error("the earlier menu was not cleared")
	}
}

// wards are 34 choices, more than a message's buttons.
var wards = []string{"Linh Trung", "Linh Tây", "Linh Chiểu", "Linh Xuân", "Bình Thọ", "Hiệp Phú", "Tăng Nhơn Phú",
	"Long Thạnh Mỹ", "Phước Long", "Tân Phú", "Hiệp Bình Chánh", "Tam Bình", "Trường Thọ", "An Khánh", "Thảo Điền",
	"Cát Lái", "Thạnh Mỹ Lợi", "An Phú", "Bình Trưng", "Long Trường", "Long Phước", "Phú Hữu", "Tam Phú",
	"Hiệp Bình Phước", "Linh Đông", "Bình Chiểu", "Phước Bình", "Tân Nhơn", "Đông Hòa", "Dĩ An", "Tân Đông Hiệp",
	"An Bình", "Bình An", "Bình Thắng"}

func wardQuestion(lang string) chat.Reply {
	var rows [][]chat.Button
	for i, w := range wards {
		rows = append(rows, row(w, fmt.Sprintf("ward:%d", i+1)))
	}
	r := reply(chat.Output{Text: "Bạn ở phường nào?", Buttons: rows})
	r.Lang = lang
	return r
}

func TestAdapter_Send_numberedList(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	if err := fx.a.Send(ctx, wardQuestion("")); err != nil {
		t.Fatal(err)
	}
	calls := fx.zalo.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls, want one message", len(calls))
	}
	text := calls[0].text()
	for _, want := range []string{"Bạn ở phường nào?\n\n1. Linh Trung\n2. Linh Tây\n", "\n7. Tăng Nhơn Phú\n", "\n34. Bình Thắng\n\n👉 Trả lời bằng số thứ tự (ví dụ: 3) hoặc gõ tên lựa chọn."} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	if _, ok := calls[0].message()["attachment"]; ok {
		t.Error("a numbered list carries buttons")
	}
	if fx.menus.ttl != 24*time.Hour {
		t.Errorf("menu kept for %v, want 24h", fx.menus.ttl)
	}

	// The typed answers map back to the choice, each answering the list just sent.
	for _, typed := range []string{"7", "số 7", "tang nhon phu", " 7. "} {
		in, ok, err := fx.a.ToUpdate(ctx, textEvent(typed))
		if err != nil || !ok || in.Kind != chat.KindChoice || in.Data != "ward:7" {
			t.Errorf("%q: update %+v, ok %v, err %v; want the choice ward:7", typed, in.Input, ok, err)
		}
		if err := fx.a.Send(ctx, wardQuestion("")); err != nil {
			t.Fatal(err)
		}
	}
	// The list is consumed by the first message after it: a stale menu answers nothing.
	if _, _, err := fx.a.ToUpdate(ctx, textEvent("xin chào")); err != nil {
		t.Fatal(err)
	}
	in, _, err := fx.a.ToUpdate(ctx, textEventWithID("7", "m-later"))
	if err != nil || in.Kind != chat.KindText || in.Text != "7" {
		t.Errorf("after the list was consumed: %+v, %v; want the text 7", in.Input, err)
	}
	// The first "7" delivered again maps as it did, and leaves a newer list alone.
	if err := fx.a.Send(ctx, wardQuestion("")); err != nil {
		t.Fatal(err)
	}
	again, _, err := fx.a.ToUpdate(ctx, textEvent("7"))
	if err != nil || again.Kind != chat.KindChoice || again.Data != "ward:7" || !fx.menus.has(testUser) {
		t.Errorf("a duplicate of the first answer: %+v, %v, newer list kept: %v", again.Input, err, fx.menus.has(testUser))
	}

	if err := fx.a.Send(ctx, wardQuestion("en")); err != nil {
		t.Fatal(err)
	}
	calls = fx.zalo.Calls()
	if text := calls[len(calls)-1].text(); !strings.HasSuffix(text, "\n\n👉 Reply with the number (e.g. 3) or type the choice.") {
		t.Errorf("English hint missing:\n%s", text)
	}
}

func TestAdapter_Send_longText(t *testing.T) {
	fx := newFixture(t)
	var b strings.Builder
	for i := 0; b.Len() < 9000; i++ {
		fmt.Fprintf(&b, "Đoạn %d: phụ huynh đăng ký cho em, chờ cán bộ phường xác minh. Rồi nhận máy.\n", i)
		if i%10 == 9 {
			b.WriteString("\n")
		}
	}
	text := strings.TrimSpace(b.String())
	r := reply(chat.Output{Text: text, Buttons: [][]chat.Button{row("Có", "yes", "Không", "no")}})
	if err := fx.a.Send(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	calls := fx.zalo.Calls()
	if len(calls) < 3 {
		t.Fatalf("%d messages, want the text split in at least 3", len(calls))
	}
	var parts []string
	for i, c := range calls {
		part := c.text()
		parts = append(parts, part)
		// Cut in the second half of each window: no short part but the last.
		if n := utf8.RuneCountInString(part); n > 2000 || n < 1000 && i < len(calls)-1 {
			t.Errorf("part %d has %d characters, want 1000..2000", i, n)
		}
		_, hasButtons := c.message()["attachment"]
		if hasButtons != (i == len(calls)-1) {
			t.Errorf("part %d: buttons %v, want them under the last part only", i, hasButtons)
		}
	}
	if strings.Join(strings.Fields(strings.Join(parts, " ")), " ") != strings.Join(strings.Fields(text), " ") {
		t.Error("the parts do not add up to the text")
	}
}

func TestSplitText(t *testing.T) {
	long := func(n int, s string) string { return strings.Repeat(s, n) }
	tests := []struct {
		name  string
		text  string
		limit int
		want  []string
	}{
		{"short", "  xin chào  ", 10, []string{"xin chào"}},
		{"exact, in characters not bytes", long(10, "đ"), 10, []string{long(10, "đ")}},
		{"blank line", "aaaaaa\n\nbbb ccc", 10, []string{"aaaaaa", "bbb ccc"}},
		{"blank line before a line break", "aaaaa\n\nbb\ncc dd", 10, []string{"aaaaa", "bb\ncc dd"}},
		{"line break", "aaaa bb\ncc dd", 10, []string{"aaaa bb", "cc dd"}},
		{"sentence end", "Aaa bb. Cc dd ee", 10, []string{"Aaa bb.", "Cc dd ee"}},
		{"space", "aaaa bbbb cccc", 10, []string{"aaaa bbbb", "cccc"}},
		{"separator right after the window", "aaaaaaaaaa bb", 10, []string{"aaaaaaaaaa", "bb"}},
		{"separator in the first half only", "a bbbbbbbbbbbbbb", 10, []string{"a bbbbbbbb", "bbbbbb"}},
		{"hard", long(25, "x"), 10, []string{long(10, "x"), long(10, "x"), long(5, "x")}},
		{"hard, multibyte", long(12, "ệ"), 10, []string{long(10, "ệ"), long(2, "ệ")}},
		{"empty", "  \n ", 10, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := splitText(tt.text, tt.limit); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("splitText(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestAdapter_Send_askContact(t *testing.T) {
	tests := []struct {
		name, lang, imageURL string
		buttons              [][]chat.Button
		wantFirst, wantCard  string
	}{
		{
			name:    "suggestion and a button",
			buttons: [][]chat.Button{row("Bỏ qua", "skip")},
			wantFirst: `{"recipient":{"user_id":"8312345678901234567"},"message":{"text":"Số điện thoại của bạn?",
				"attachment":{"type":"template","payload":{"buttons":[
					{"title":"0901234567","type":"oa.query.show","payload":"0901234567"},
					{"title":"Bỏ qua","type":"oa.query.hide","payload":"#c:skip"}]}}}}`,
			wantCard: `{"recipient":{"user_id":"8312345678901234567"},"message":{"attachment":{"type":"template","payload":{
				"template_type":"request_user_info","elements":[{"title":"📱 Gửi số điện thoại của tôi",
				"subtitle":"Số điện thoại chỉ dùng để liên hệ với bạn về máy tính cho em."}]}}}}`,
		},
		{
			name: "English, with a picture", lang: "en", imageURL: "https://maytinhchoem.vn/card.png",
			wantFirst: `{"recipient":{"user_id":"8312345678901234567"},"message":{"text":"Số điện thoại của bạn?",
				"attachment":{"type":"template","payload":{"buttons":[
					{"title":"0901234567","type":"oa.query.show","payload":"0901234567"}]}}}}`,
			wantCard: `{"recipient":{"user_id":"8312345678901234567"},"message":{"attachment":{"type":"template","payload":{
				"template_type":"request_user_info","elements":[{"title":"📱 Gửi số điện thoại của tôi",
				"subtitle":"Your number is only used to contact you about the child's device.",
				"image_url":"https://maytinhchoem.vn/card.png"}]}}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t, func(c *Config) { c.ContactImageURL = tt.imageURL })
			r := reply(chat.Output{
				Text:       "Số điện thoại của bạn?",
				Buttons:    tt.buttons,
				AskContact: &chat.ContactRequest{Label: "📱 Gửi số điện thoại của tôi", Suggestions: []string{"0901234567"}},
			})
			r.Lang = tt.lang
			if err := fx.a.Send(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			calls := fx.zalo.Calls()
			if len(calls) != 2 {
				t.Fatalf("%d messages, want the question and the card", len(calls))
			}
			wantBody(t, calls[0], tt.wantFirst)
			wantBody(t, calls[1], tt.wantCard)
			if fx.menus.clears != 1 {
				t.Errorf("%d menu clears, want 1: the question is newer than any list", fx.menus.clears)
			}
		})
	}
}

func TestAdapter_Send_nothingOrRejected(t *testing.T) {
	tests := []struct {
		name    string
		r       chat.Reply
		wantErr error
	}{
		{name: "aside", r: reply(chat.Output{EndContactRequest: true, Aside: true, Text: "."})},
		{name: "only an ack", r: func() chat.Reply {
			r := reply(chat.Output{Ack: "✔️ Đã chọn"})
			r.AckID = "x"
			return r
		}()},
		{name: "another channel", r: chat.Reply{Output: chat.Output{Text: "hi"}, Channel: "telegram", ChatID: testUser}, wantErr: chat.ErrRejected},
		{name: "no chat", r: chat.Reply{Output: chat.Output{Text: "hi"}}, wantErr: chat.ErrRejected},
		{name: "buttons without text", r: reply(chat.Output{Buttons: [][]chat.Button{row("A", "a")}}), wantErr: chat.ErrRejected},
		{name: "button without data", r: reply(chat.Output{Text: "?", Buttons: [][]chat.Button{row("A", "")}}), wantErr: chat.ErrRejected},
		{name: "button without text", r: reply(chat.Output{Text: "?", Buttons: [][]chat.Button{row(" ", "a")}}), wantErr: chat.ErrRejected},
		{name: "contact request without label", r: reply(chat.Output{Text: "?", AskContact: &chat.ContactRequest{}}), wantErr: chat.ErrRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t)
			err := fx.a.Send(context.Background(), tt.r)
			if (tt.wantErr == nil && err != nil) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if n := len(fx.zalo.Calls()); n != 0 {
				t.Errorf("%d calls, want none", n)
			}
		})
	}
}

func TestAdapter_Send_replaceIsSentAnew(t *testing.T) {
	fx := newFixture(t)
	r := reply(chat.Output{Text: "☑ Toán\n☐ Văn", Replace: true, EndContactRequest: true, Buttons: [][]chat.Button{row("Xong", "done")}})
	r.ReplaceID = "m1"
	if err := fx.a.Send(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if calls := fx.zalo.Calls(); len(calls) != 1 || calls[0].text() != "☑ Toán\n☐ Văn" {
		t.Errorf("calls %+v, want the message sent anew", calls)
	}
}

// writeFile writes a file of size bytes under dir.
func writeFile(t *testing.T, name string, size int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(strings.Repeat("x", size)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAdapter_Send_files(t *testing.T) {
	caption := chat.Output{Text: "Biểu đồ hôm nay", Buttons: [][]chat.Button{row("Cập nhật", "refresh")}}
	captionBody := `{"recipient":{"user_id":"8312345678901234567"},"message":{"text":"Biểu đồ hôm nay",
		"attachment":{"type":"template","payload":{"buttons":[{"title":"Cập nhật","type":"oa.query.hide","payload":"#c:refresh"}]}}}}`
	type call struct {
		path string
		body string // JSON for messages; for uploads the file name
	}
	tests := []struct {
		name    string
		file    func(t *testing.T) *chat.File
		lang    string
		noLinks bool
		want    []call
		wantErr error
		links   []string
	}{
		{
			name: "image uploaded, then the caption",
			file: func(t *testing.T) *chat.File {
				return &chat.File{Path: writeFile(t, "chart-123.png", 10<<10), Name: "bieu-do.png"}
			},
			want: []call{
				{"/v2.0/oa/upload/image", "bieu-do.png image/png"},
				{"/v3.0/oa/message/cs", `{"recipient":{"user_id":"8312345678901234567"},"message":{"attachment":{"type":"template",
					"payload":{"template_type":"media","elements":[{"media_type":"image","attachment_id":"att-1"}]}}}}`},
				{"/v3.0/oa/message/cs", captionBody},
			},
		},
		{
			name: "PDF uploaded as a file",
			file: func(t *testing.T) *chat.File { return &chat.File{Path: writeFile(t, "giay.PDF", 2<<20)} },
			want: []call{
				{"/v2.0/oa/upload/file", "giay.PDF application/pdf"},
				{"/v3.0/oa/message/cs", `{"recipient":{"user_id":"8312345678901234567"},"message":{"attachment":{"type":"file","payload":{"token":"ftok-1"}}}}`},
				{"/v3.0/oa/message/cs", captionBody},
			},
		},
		{
			name: "workbook as a link after the caption",
			file: func(t *testing.T) *chat.File {
				return &chat.File{Path: writeFile(t, "export.xlsx", 100), Name: "bao-cao.xlsx", Remove: true}
			},
			links: []string{"bao-cao.xlsx 24h0m0s"},
			want: []call{
				{"/v3.0/oa/message/cs", captionBody},
				{"/v3.0/oa/message/cs", `{"recipient":{"user_id":"8312345678901234567"},"message":{"text":"📎 bao-cao.xlsx: https://files.maytinhchoem.vn/d/abc123\n(Liên kết dùng được trong 24 giờ.)"}}`},
			},
		},
		{
			name: "workbook in English",
			lang: "en",
			file: func(t *testing.T) *chat.File { return &chat.File{Path: writeFile(t, "report.xlsx", 100)} },
			want: []call{
				{"/v3.0/oa/message/cs", captionBody},
				{"/v3.0/oa/message/cs", `{"recipient":{"user_id":"8312345678901234567"},"message":{"text":"📎 report.xlsx: https://files.maytinhchoem.vn/d/abc123\n(The link works for 24 hours.)"}}`},
			},
			links: []string{"report.xlsx 24h0m0s"},
		},
		{
			name:  "image over 1 MB as a link",
			file:  func(t *testing.T) *chat.File { return &chat.File{Path: writeFile(t, "big.jpg", 1<<20+1)} },
			links: []string{"big.jpg 24h0m0s"},
			want: []call{
				{"/v3.0/oa/message/cs", captionBody},
				{"/v3.0/oa/message/cs", `{"recipient":{"user_id":"8312345678901234567"},"message":{"text":"📎 big.jpg: https://files.maytinhchoem.vn/d/abc123\n(Liên kết dùng được trong 24 giờ.)"}}`},
			},
		},
		{
			name:    "workbook without links: the person is told",
			noLinks: true,
			file:    func(t *testing.T) *chat.File { return &chat.File{Path: writeFile(t, "export.xlsx", 100)} },
			want: []call{
				{"/v3.0/oa/message/cs", captionBody},
				{"/v3.0/oa/message/cs", `{"recipient":{"user_id":"8312345678901234567"},"message":{"text":"📎 Không gửi được tệp export.xlsx qua Zalo. Xin lấy tệp qua Telegram hoặc liên hệ quản trị viên chương trình."}}`},
			},
		},
		{
			name:    "missing file",
			file:    func(t *testing.T) *chat.File { return &chat.File{Path: filepath.Join(t.TempDir(), "gone.png")} },
			wantErr: chat.ErrRejected,
		},
		{
			name:    "empty file",
			file:    func(t *testing.T) *chat.File { return &chat.File{Path: writeFile(t, "empty.pdf", 0)} },
			wantErr: chat.ErrRejected,
		},
		{
			name:    "directory",
			file:    func(t *testing.T) *chat.File { return &chat.File{Path: t.TempDir()} },
			wantErr: chat.ErrRejected,
		},
		{
			name: "photo Zalo gave us",
			file: func(t *testing.T) *chat.File {
				return &chat.File{PhotoID: "https://photo-stal.zdn.vn/full/p1.jpg", PhotoChannel: "zalo"}
			},
			want: []call{
				{"/v3.0/oa/message/cs", `{"recipient":{"user_id":"8312345678901234567"},"message":{"attachment":{"type":"template",
					"payload":{"template_type":"media","elements":[{"media_type":"image","url":"https://photo-stal.zdn.vn/full/p1.jpg"}]}}}}`},
				{"/v3.0/oa/message/cs", captionBody},
			},
		},
		{
			name: "photo from Telegram: the caption only",
			file: func(t *testing.T) *chat.File { return &chat.File{PhotoID: "AgAD2", PhotoChannel: "telegram"} },
			want: []call{{"/v3.0/oa/message/cs", captionBody}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t, func(c *Config) {
				if tt.noLinks {
					c.Links = nil
				}
			})
			o := caption
			o.File = tt.file(t)
			r := reply(o)
			r.Lang = tt.lang
			err := fx.a.Send(context.Background(), r)
			if (tt.wantErr == nil && err != nil) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			calls := fx.zalo.Calls()
			if len(calls) != len(tt.want) {
				t.Fatalf("%d calls, want %d: %+v", len(calls), len(tt.want), calls)
			}
			for i, c := range calls {
				if c.Path != tt.want[i].path {
					t.Errorf("call %d to %s, want %s", i, c.Path, tt.want[i].path)
					continue
				}
				if strings.HasPrefix(c.Path, "/v2.0/oa/upload/") {
					if got := c.FileName + " " + c.FileType; got != tt.want[i].body {
						t.Errorf("upload %q, want %q", got, tt.want[i].body)
					}
					if info, _ := os.Stat(o.File.Path); int64(len(c.File)) != info.Size() || c.ContentLength <= info.Size() {
						t.Errorf("uploaded %d bytes with Content-Length %d, want the whole file with its length known", len(c.File), c.ContentLength)
					}
					continue
				}
				wantBody(t, c, tt.want[i].body)
			}
			if !reflect.DeepEqual(fx.links.calls, tt.links) {
				t.Errorf("links %q, want %q", fx.links.calls, tt.links)
			}
		})
	}
}

func TestAdapter_Send_errors(t *testing.T) {
	unreachable := func(err error) bool { return errors.Is(err, chat.ErrUnreachable) }
	rejected := func(err error) bool { return errors.Is(err, chat.ErrRejected) }
	throttled := func(err error) bool {
		var te *chat.ThrottledError
		return errors.As(err, &te) && te.RetryAfter == 10*time.Second && errors.Is(err, chat.ErrThrottled)
	}
	plain := func(err error) bool {
		return err != nil && !errors.Is(err, chat.ErrUnreachable) && !errors.Is(err, chat.ErrRejected) &&
			!errors.Is(err, chat.ErrThrottled) && !errors.Is(err, chat.ErrStopped)
	}
	tests := []struct {
		name   string
		status int
		body   string
		is     func(error) bool
		code   int // the APIError's, 0 when none
	}{
		{"-230 outside the window", 200, `{"error":-230,"message":"User has not interacted with the OA in the last 7 days"}`, unreachable, -230},
		{"-213 not a follower", 200, `{"error":-213,"message":"User has not followed OA"}`, unreachable, -213},
		{"-227 inactive", 200, `{"error":-227,"message":"User is banned or inactive"}`, unreachable, -227},
		{"-244 blocked the type", 200, `{"error":-244,"message":"User has blocked this message type"}`, unreachable, -244},
		{"-32 rate limit", 200, `{"error":-32,"message":"Exceed rate limit"}`, throttled, -32},
		{"-201 invalid parameter", 200, `{"error":-201,"message":"Parameter is invalid"}`, rejected, -201},
		{"-233 type not supported", 200, `{"error":-233,"message":"Type not supported"}`, rejected, -233},
		{"-210 over a limit", 200, `{"error":-210,"message":"Over the limit"}`, rejected, -210},
		{"-211 out of quota", 200, `{"error":-211,"message":"Out of quota"}`, rejected, -211},
		{"-234 not at night", 200, `{"error":-234,"message":"Cannot send at night"}`, rejected, -234},
		{"-100 upload expired", 200, `{"error":-100,"message":"Attachment expired"}`, rejected, -100},
		{"another negative code", 200, `{"error":-999,"message":"?"}`, rejected, -999},
		{"error as a string", 200, `{"error":"-230","message":"window"}`, unreachable, -230},
		{"HTTP 500", 500, `<html>oops</html>`, plain, 0},
		{"HTTP 502 with a body", 502, `{"error":0}`, plain, 0},
		{"HTTP 429 from a proxy", 429, ``, throttled, 0},
		{"HTTP 404 from a proxy", 404, `<html>not found</html>`, rejected, 0},
		{"not JSON", 200, `OK`, plain, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t)
			fx.zalo.setReply(func(apiCall) (int, string) { return tt.status, tt.body })
			err := fx.a.Send(context.Background(), reply(chat.Output{Text: "hi"}))
			if !tt.is(err) {
				t.Errorf("err = %v, not of the expected class", err)
			}
			code := 0
			if ae := (*APIError)(nil); errors.As(err, &ae) {
				code = ae.Code
			}
			if code != tt.code {
				t.Errorf("APIError code %d, want %d", code, tt.code)
			}
			assertNoTokens(t, "the error", fmt.Sprint(err))
		})
	}

	t.Run("network error", func(t *testing.T) {
		fx := newFixture(t)
		fx.zalo.server.Close()
		err := fx.a.Send(context.Background(), reply(chat.Output{Text: "hi"}))
		if err == nil || errors.Is(err, chat.ErrRejected) || errors.Is(err, chat.ErrUnreachable) {
			t.Errorf("err = %v, want a plain error", err)
		}
		assertNoTokens(t, "the error", fmt.Sprint(err))
	})
}

func TestAdapter_Send_stopsAtTheFirstFailure(t *testing.T) {
	fx := newFixture(t)
	fx.zalo.setReply(func(c apiCall) (int, string) {
		if strings.HasPrefix(c.text(), "b") {
			return 200, `{"error":-201,"message":"Parameter is invalid"}`
		}
		return 0, ""
	})
	text := strings.Repeat("a", 1990) + "\n\n" + strings.Repeat("b", 1990) + "\n\n" + strings.Repeat("c", 100)
	err := fx.a.Send(context.Background(), reply(chat.Output{Text: text}))
	if !errors.Is(err, chat.ErrRejected) {
		t.Errorf("err = %v, want rejected", err)
	}
	if n := len(fx.zalo.Calls()); n != 2 {
		t.Errorf("%d calls, want 2: the third part is not sent after the second failed", n)
	}
}

func TestAdapter_Send_window(t *testing.T) {
	tests := []struct {
		name     string
		last     time.Duration // before now; 0 for unknown
		prompted time.Duration // the reply answers a message received this long ago; 0 for none
		wantSent bool
	}{
		{"8 days ago", 8 * 24 * time.Hour, 0, false},
		{"6 days ago", 6 * 24 * time.Hour, 0, true},
		{"unknown", 0, 0, true},
		// A reply to a message just received goes without asking: that message opened the window
		// (here the store's record of it is older, as if its Touch had failed).
		{"8 days ago, answering a message of a minute ago", 8 * 24 * time.Hour, time.Minute, true},
		// Within the slack an event may have waited in the inbox, the record decides.
		{"8 days ago, answering a message of 7 days less half an hour", 8 * 24 * time.Hour, 7*24*time.Hour - 30*time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t)
			if tt.last > 0 {
				fx.inter.set(testUser, fx.clock.Now().Add(-tt.last))
			}
			r := reply(chat.Output{Text: "Nhắc lịch nhận máy"})
			if tt.prompted > 0 {
				r.Prompted = fx.clock.Now().Add(-tt.prompted)
			}
			err := fx.a.Send(context.Background(), r)
			sent := len(fx.zalo.Calls()) > 0
			if sent != tt.wantSent {
				t.Errorf("sent %v, want %v", sent, tt.wantSent)
			}
			if !tt.wantSent && !errors.Is(err, chat.ErrUnreachable) {
				t.Errorf("err = %v, want unreachable", err)
			}
			if tt.wantSent && err != nil {
				t.Errorf("err = %v", err)
			}
		})
	}
}
