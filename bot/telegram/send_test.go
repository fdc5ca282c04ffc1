package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/chat"
)

func TestAdapter_Send(t *testing.T) {
	inline := [][]chat.Button{{{Text: "Có", Data: "yes"}, {Text: "Không", Data: "no"}}}
	inlineJSON := `{"inline_keyboard":[[{"text":"Có","callback_data":"yes"},{"text":"Không","callback_data":"no"}]]}`
	longText := strings.Repeat("Dòng thứ nhất của danh sách phường\n", 150) // 5250 characters
	reply := func(o chat.Output) chat.Reply { return chat.Reply{Output: o, Channel: "telegram", ChatID: "5550001"} }

	// want lists the calls expected, as method and the form fields checked (others are ignored).
	type call struct {
		method string
		form   map[string]string
	}
	tests := []struct {
		name    string
		reply   chat.Reply
		answer  func(c apiCall) (int, string)
		want    []call
		check   func(t *testing.T, calls []apiCall)
		wantErr func(err error) bool
	}{
		{
			name:  "plain text",
			reply: reply(chat.Output{Text: "Xin chào <b>bạn</b>"}),
			want: []call{{"sendMessage", map[string]string{
				"chat_id": "5550001", "text": "Xin chào <b>bạn</b>", "parse_mode": "", "reply_markup": "",
			}}},
		},
		{
			name:  "inline keyboard",
			reply: reply(chat.Output{Text: "Bạn có máy tính?", Buttons: inline}),
			want:  []call{{"sendMessage", map[string]string{"text": "Bạn có máy tính?", "reply_markup": inlineJSON}}},
		},
		{
			name: "reply keyboard with request_contact",
			reply: reply(chat.Output{Text: "Chia sẻ số điện thoại", AskContact: &chat.ContactRequest{
				Label: "📱 Gửi số của tôi", Suggestions: []string{"Huỷ"},
			}}),
			want: []call{{"sendMessage", map[string]string{"reply_markup": `{"keyboard":[[{"text":"📱 Gửi số của tôi","request_contact":true}],[{"text":"Huỷ"}]],"resize_keyboard":true,"one_time_keyboard":true}`}}},
		},
		{
			name:  "remove keyboard",
			reply: reply(chat.Output{Text: "Cảm ơn", EndContactRequest: true}),
			want:  []call{{"sendMessage", map[string]string{"reply_markup": `{"remove_keyboard":true}`}}},
		},
		{
			name: "button press answered first with the notice, then edited in place",
			reply: chat.Reply{Output: chat.Output{Text: "Chọn: ✓ Toán", Buttons: inline, Replace: true, Ack: "Đã chọn"},
				ChatID: "5550001", ReplaceID: "20", AckID: "cb-1"},
			want: []call{
				{"answerCallbackQuery", map[string]string{"callback_query_id": "cb-1", "text": "Đã chọn"}},
				{"editMessageText", map[string]string{"chat_id": "5550001", "message_id": "20", "text": "Chọn: ✓ Toán", "reply_markup": inlineJSON}},
			},
		},
		{
			name:   "message is not modified is success",
			reply:  chat.Reply{Output: chat.Output{Text: "Chọn", Buttons: inline, Replace: true}, ChatID: "5550001", ReplaceID: "20"},
			answer: failOn("editMessageText", 400, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message", 0),
			want:   []call{{"editMessageText", nil}},
		},
		{
			name:   "message that cannot be edited is sent anew",
			reply:  chat.Reply{Output: chat.Output{Text: "Chọn", Buttons: inline, Replace: true}, ChatID: "5550001", ReplaceID: "20"},
			answer: failOn("editMessageText", 400, "Bad Request: message can't be edited", 0),
			want:   []call{{"editMessageText", nil}, {"sendMessage", map[string]string{"text": "Chọn", "reply_markup": inlineJSON}}},
		},
		{
			name:  "edit without Replace sends a new message",
			reply: chat.Reply{Output: chat.Output{Text: "Chọn", Buttons: inline}, ChatID: "5550001", ReplaceID: "20"},
			want:  []call{{"sendMessage", nil}},
		},
		{
			name:   "failed answer to a button press is not fatal",
			reply:  chat.Reply{Output: chat.Output{Text: "Tiếp"}, ChatID: "5550001", AckID: "old"},
			answer: failOn("answerCallbackQuery", 400, "Bad Request: query is too old and response timeout expired or query ID is invalid", 0),
			want:   []call{{"answerCallbackQuery", nil}, {"sendMessage", map[string]string{"text": "Tiếp"}}},
		},
		{
			name:  "a reply with no text only answers the button press",
			reply: chat.Reply{Output: chat.Output{Ack: "OK"}, ChatID: "5550001", AckID: "cb-2"},
			want:  []call{{"answerCallbackQuery", map[string]string{"text": "OK"}}},
		},
		{
			name:  "long text is split at line breaks, buttons on the last part",
			reply: reply(chat.Output{Text: longText, Buttons: inline}),
			check: func(t *testing.T, calls []apiCall) {
				if len(calls) != 2 {
					t.Fatalf("%d calls, want 2", len(calls))
				}
				var joined []string
				for i, c := range calls {
					text := c.Form.Get("text")
					if n := utf16Len(text); n > 4096 {
						t.Errorf("part %d is %d UTF-16 units", i, n)
					}
					if strings.HasSuffix(text, "phườn") {
						t.Errorf("part %d was cut inside a line", i)
					}
					joined = append(joined, text)
				}
				if got, want := strings.Join(joined, "\n"), strings.TrimSpace(longText); got != want {
					t.Errorf("parts do not add up to the text")
				}
				if calls[0].Form.Get("reply_markup") != "" {
					t.Errorf("first part has buttons: %s", calls[0].Form.Get("reply_markup"))
				}
				if calls[1].Form.Get("reply_markup") != inlineJSON {
					t.Errorf("last part buttons = %s", calls[1].Form.Get("reply_markup"))
				}
			},
		},
		{
			name:    "callback data over 64 bytes is refused without calling the API",
			reply:   reply(chat.Output{Text: "x", Buttons: [][]chat.Button{{{Text: "a", Data: strings.Repeat("đ", 32) + "x"}}}}),
			want:    []call{},
			wantErr: func(err error) bool { return errors.Is(err, chat.ErrRejected) },
		},
		{
			name:    "empty callback data is refused",
			reply:   reply(chat.Output{Text: "x", Buttons: [][]chat.Button{{{Text: "a"}}}}),
			want:    []call{},
			wantErr: func(err error) bool { return errors.Is(err, chat.ErrRejected) },
		},
		{
			name:    "inline buttons and a reply keyboard on one message are refused",
			reply:   reply(chat.Output{Text: "x", Buttons: inline, AskContact: &chat.ContactRequest{Label: "k"}}),
			want:    []call{},
			wantErr: func(err error) bool { return errors.Is(err, chat.ErrRejected) },
		},
		{
			name:    "chat id that is not a number is refused",
			reply:   chat.Reply{Output: chat.Output{Text: "x"}, ChatID: "abc"},
			want:    []call{},
			wantErr: func(err error) bool { return errors.Is(err, chat.ErrRejected) },
		},
		{
			name:   "429 is a ThrottledError with retry_after",
			reply:  reply(chat.Output{Text: "x"}),
			answer: failOn("sendMessage", 429, "Too Many Requests: retry after 7", 7),
			want:   []call{{"sendMessage", nil}},
			wantErr: func(err error) bool {
				var te *chat.ThrottledError
				return errors.As(err, &te) && te.RetryAfter == 7*time.Second && errors.Is(err, chat.ErrThrottled)
			},
		},
		{
			name:    "403 means the user stopped the bot",
			reply:   reply(chat.Output{Text: "x"}),
			answer:  failOn("sendMessage", 403, "Forbidden: bot was blocked by the user", 0),
			want:    []call{{"sendMessage", nil}},
			wantErr: func(err error) bool { return errors.Is(err, chat.ErrStopped) && !errors.Is(err, chat.ErrRejected) },
		},
		{
			name:   "400 is rejected",
			reply:  reply(chat.Output{Text: "x"}),
			answer: failOn("sendMessage", 400, "Bad Request: chat not found", 0),
			want:   []call{{"sendMessage", nil}},
			wantErr: func(err error) bool {
				return errors.Is(err, chat.ErrRejected) && strings.Contains(err.Error(), "chat not found")
			},
		},
		{
			name:   "5xx is transient",
			reply:  reply(chat.Output{Text: "x"}),
			answer: failOn("sendMessage", 502, "Bad Gateway", 0),
			want:   []call{{"sendMessage", nil}},
			wantErr: func(err error) bool {
				return err != nil && !errors.Is(err, chat.ErrRejected) && !errors.Is(err, chat.ErrStopped) && !errors.Is(err, chat.ErrThrottled)
			},
		},
		{
			name:  "an HTML 413 from a proxy is rejected",
			reply: reply(chat.Output{Text: "x"}),
			answer: func(c apiCall) (int, string) {
				if c.Method == "sendMessage" {
					return http.StatusRequestEntityTooLarge, "<html>413 Request Entity Too Large</html>"
				}
				return 0, ""
			},
			want:    []call{{"sendMessage", nil}},
			wantErr: func(err error) bool { return errors.Is(err, chat.ErrRejected) },
		},
		{
			name:    "a reply for another channel is refused",
			reply:   chat.Reply{Output: chat.Output{Text: "x"}, Channel: "zalo", ChatID: "5550001"},
			want:    []call{},
			wantErr: func(err error) bool { return errors.Is(err, chat.ErrRejected) },
		},
		{
			name:  "a long notice is cut to Telegram's 200 characters",
			reply: chat.Reply{Output: chat.Output{Ack: strings.Repeat("😀", 150)}, ChatID: "5550001", AckID: "cb-3"},
			want:  []call{{"answerCallbackQuery", map[string]string{"text": strings.Repeat("😀", 99) + "…"}}},
		},
		{
			name:  "an HTML error page is transient",
			reply: reply(chat.Output{Text: "x"}),
			answer: func(c apiCall) (int, string) {
				if c.Method == "sendMessage" {
					return http.StatusBadGateway, "<html>502 Bad Gateway</html>"
				}
				return 0, ""
			},
			want: []call{{"sendMessage", nil}},
			wantErr: func(err error) bool {
				return err != nil && strings.Contains(err.Error(), "HTTP 502") && !errors.Is(err, chat.ErrRejected)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, nil)
			a := newTestAdapter(t, f)
			f.setReply(tt.answer)
			err := a.Send(context.Background(), tt.reply)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("Send: %v", err)
			}
			if tt.wantErr != nil && !tt.wantErr(err) {
				t.Fatalf("Send error %v (%T) is not the one expected", err, err)
			}
			calls := f.Calls("sendMessage", "editMessageText", "answerCallbackQuery")
			if tt.check != nil {
				tt.check(t, calls)
				return
			}
			if len(calls) != len(tt.want) {
				t.Fatalf("calls %v, want %v", methods(calls), tt.want)
			}
			for i, w := range tt.want {
				if calls[i].Method != w.method {
					t.Errorf("call %d is %s, want %s", i, calls[i].Method, w.method)
				}
				for k, v := range w.form {
					if got := calls[i].Form.Get(k); !sameJSONOrText(got, v) {
						t.Errorf("call %d %s = %q, want %q", i, k, got, v)
					}
				}
			}
		})
	}
}

func TestAdapter_Send_networkErrorHidesToken(t *testing.T) {
	f := newFakeAPI(t, nil)
	a := newTestAdapter(t, f)
	f.server.Close()
	err := a.Send(context.Background(), chat.Reply{Output: chat.Output{Text: "x"}, ChatID: "1"})
	if err == nil {
		t.Fatal("no error from a closed server")
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("error shows the token: %v", err)
	}
	if errors.Is(err, chat.ErrRejected) || errors.Is(err, chat.ErrStopped) {
		t.Errorf("network error %v is not transient", err)
	}
}

func TestAdapter_Send_contextCancelled(t *testing.T) {
	f := newFakeAPI(t, nil)
	a := newTestAdapter(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := a.Send(ctx, chat.Reply{Output: chat.Output{Text: "x"}, ChatID: "1"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestAdapter_SendDocument(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		send    func(a *Adapter) error
		answer  func(c apiCall) (int, string)
		check   func(t *testing.T, calls []apiCall)
		wantErr func(err error) bool
	}{
		{
			name:   "document with caption",
			method: "sendDocument",
			send: func(a *Adapter) error {
				return a.SendDocument(context.Background(), "5550001", "bao-cao.csv", []byte("phuong,so may\n"), "Báo cáo ngày")
			},
			check: func(t *testing.T, calls []apiCall) {
				c := calls[0]
				if c.Files["document"] != "phuong,so may\n" || c.Names["document"] != "bao-cao.csv" {
					t.Errorf("file = %q named %q", c.Files["document"], c.Names["document"])
				}
				if c.Form.Get("caption") != "Báo cáo ngày" || c.Form.Get("chat_id") != "5550001" {
					t.Errorf("form = %v", c.Form)
				}
			},
		},
		{
			name:   "photo",
			method: "sendPhoto",
			send: func(a *Adapter) error {
				return a.SendPhoto(context.Background(), "5550001", "chart.png", []byte("\x89PNG"), "")
			},
			check: func(t *testing.T, calls []apiCall) {
				if calls[0].Files["photo"] != "\x89PNG" {
					t.Errorf("photo = %q", calls[0].Files["photo"])
				}
			},
		},
		{
			name:   "caption over 1024 characters follows as a message",
			method: "sendDocument",
			send: func(a *Adapter) error {
				return a.SendDocument(context.Background(), "5550001", "r.csv", []byte("x"), strings.Repeat("chữ ", 300))
			},
			check: func(t *testing.T, calls []apiCall) {
				if len(calls) != 2 || calls[0].Form.Get("caption") != "" || calls[1].Method != "sendMessage" {
					t.Errorf("calls = %v", methods(calls))
				}
			},
		},
		{
			// The library leaves the error code out of upload errors: the HTTP status stands in.
			name:   "403 on upload means stopped",
			method: "sendDocument",
			send: func(a *Adapter) error {
				return a.SendDocument(context.Background(), "5550001", "r.csv", []byte("x"), "")
			},
			answer:  failOn("sendDocument", 403, "Forbidden: bot was blocked by the user", 0),
			wantErr: func(err error) bool { return errors.Is(err, chat.ErrStopped) },
		},
		{
			name:   "429 on upload is throttled",
			method: "sendPhoto",
			send:   func(a *Adapter) error { return a.SendPhoto(context.Background(), "5550001", "p.png", []byte("x"), "") },
			answer: failOn("sendPhoto", 429, "Too Many Requests: retry after 3", 3),
			wantErr: func(err error) bool {
				var te *chat.ThrottledError
				return errors.As(err, &te) && te.RetryAfter == 3*time.Second
			},
		},
		{
			name:   "400 on upload is rejected",
			method: "sendDocument",
			send: func(a *Adapter) error {
				return a.SendDocument(context.Background(), "5550001", "r.csv", []byte("x"), "")
			},
			answer:  failOn("sendDocument", 400, "Bad Request: file must be non-empty", 0),
			wantErr: func(err error) bool { return errors.Is(err, chat.ErrRejected) },
		},
		{
			name:    "empty file is refused without a call",
			method:  "sendDocument",
			send:    func(a *Adapter) error { return a.SendDocument(context.Background(), "5550001", "r.csv", nil, "") },
			wantErr: func(err error) bool { return errors.Is(err, chat.ErrRejected) },
			check: func(t *testing.T, calls []apiCall) {
				if len(calls) != 0 {
					t.Errorf("calls = %v", methods(calls))
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, nil)
			a := newTestAdapter(t, f)
			f.setReply(tt.answer)
			err := tt.send(a)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("send: %v", err)
			}
			if tt.wantErr != nil && !tt.wantErr(err) {
				t.Fatalf("error %v (%T) is not the one expected", err, err)
			}
			calls := f.Calls("sendDocument", "sendPhoto", "sendMessage")
			if tt.check != nil {
				tt.check(t, calls)
			} else if len(calls) != 1 || calls[0].Method != tt.method {
				t.Errorf("calls = %v, want one %s", methods(calls), tt.method)
			}
		})
	}
}

func TestSplitText(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		limit int
		want  []string
	}{
		{"fits", "một hai", 10, []string{"một hai"}},
		{"empty", "  \n ", 10, nil},
		{"at line break", "aaaa bbb\ncccc dd", 10, []string{"aaaa bbb", "cccc dd"}},
		{"at space when the line break is early", "a\nbbbb cccc dddd", 10, []string{"a\nbbbb", "cccc dddd"}},
		{"hard", "abcdefghijklmnopqrstuvwxyz", 10, []string{"abcdefghij", "klmnopqrst", "uvwxyz"}},
		{"surrogate pair is never split", "aaaaaaaaa😀b", 10, []string{"aaaaaaaaa", "😀b"}},
		{"emoji count two units", "😀😀😀😀😀😀", 10, []string{"😀😀😀😀😀", "😀"}},
		{"vietnamese letters count one", "Đức Đức Đức", 7, []string{"Đức Đức", "Đức"}},
		{"blank lines dropped", "aaaaaaaaa\n\n\n\n\n\n\n\n\n\n\n\nbbb", 10, []string{"aaaaaaaaa", "bbb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitText(tt.text, tt.limit)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("splitText(%q, %d) = %q, want %q", tt.text, tt.limit, got, tt.want)
			}
			for _, p := range got {
				if utf16Len(p) > tt.limit {
					t.Errorf("part %q over the limit", p)
				}
			}
		})
	}
}

// failOn answers method with a Bot API error and everything else with success.
func failOn(method string, code int, desc string, retryAfter int) func(c apiCall) (int, string) {
	return func(c apiCall) (int, string) {
		if c.Method == method {
			return apiErr(code, desc, retryAfter)
		}
		return 0, ""
	}
}

func methods(calls []apiCall) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.Method
	}
	return out
}

// sameJSONOrText compares two JSON documents by value, anything else as text.
func sameJSONOrText(got, want string) bool {
	var g, w any
	if json.Unmarshal([]byte(got), &g) == nil && json.Unmarshal([]byte(want), &w) == nil {
		return reflect.DeepEqual(g, w)
	}
	return got == want
}

// A Reply that comes again, as PacedSender sends it again after a failure of the message, answers
// its press only the first time; an answer that failed on the way is tried again.
func TestAdapter_Send_answersAPressOnce(t *testing.T) {
	ctx := context.Background()
	reply := chat.Reply{Output: chat.Output{Text: "Tiếp", Ack: "Đã chọn"}, ChatID: "5550001", AckID: "cb-7"}

	t.Run("the message failed", func(t *testing.T) {
		failed := false
		f := newFakeAPI(t, func(c apiCall) (int, string) {
			if c.Method == "sendMessage" && !failed {
				failed = true
				return apiErr(http.StatusBadGateway, "Bad Gateway", 0)
			}
			return 0, ""
		})
		a := newTestAdapter(t, f)
		if err := a.Send(ctx, reply); err == nil {
			t.Fatal("first Send: no error")
		}
		if err := a.Send(ctx, reply); err != nil {
			t.Fatalf("second Send: %v", err)
		}
		if got := methods(f.Calls("answerCallbackQuery", "sendMessage")); !reflect.DeepEqual(got, []string{"answerCallbackQuery", "sendMessage", "sendMessage"}) {
			t.Errorf("calls = %v, want the press answered once", got)
		}
	})

	t.Run("the answer failed on the way", func(t *testing.T) {
		failed := false
		f := newFakeAPI(t, func(c apiCall) (int, string) {
			if c.Method == "answerCallbackQuery" && !failed {
				failed = true
				return apiErr(http.StatusBadGateway, "Bad Gateway", 0)
			}
			if c.Method == "sendMessage" {
				return apiErr(http.StatusTooManyRequests, "Too Many Requests: retry after 1", 1)
			}
			return 0, ""
		})
		a := newTestAdapter(t, f)
		for range 3 {
			_ = a.Send(ctx, reply)
		}
		if got := len(f.Calls("answerCallbackQuery")); got != 2 {
			t.Errorf("%d answers, want 2: the failed one and one more", got)
		}
	})

	t.Run("Telegram refused the answer", func(t *testing.T) {
		f := newFakeAPI(t, failOn("answerCallbackQuery", 400, "Bad Request: query is too old and response timeout expired or query ID is invalid", 0))
		a := newTestAdapter(t, f)
		for range 2 {
			if err := a.Send(ctx, reply); err != nil {
				t.Fatalf("Send: %v", err)
			}
		}
		if got := len(f.Calls("answerCallbackQuery")); got != 1 {
			t.Errorf("%d answers, want 1", got)
		}
	})
}
