package telegram

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/chat"
)

const testSecret = "s3cr3t_T0ken-abc"

func TestAdapter_WebhookHandler(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("testdata", "text.json"))
	if err != nil {
		t.Fatal(err)
	}
	channelPost, err := os.ReadFile(filepath.Join("testdata", "channel_post.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		method     string
		secret     string // header value; "-" for no header
		body       string
		handleErr  error
		wantStatus int
		wantCalled bool
	}{
		{name: "right secret", method: "POST", secret: testSecret, body: string(text), wantStatus: 200, wantCalled: true},
		{name: "missing secret", method: "POST", secret: "-", body: string(text), wantStatus: 401},
		{name: "wrong secret", method: "POST", secret: "s3cr3t_T0ken-abd", body: string(text), wantStatus: 401},
		{name: "secret prefix", method: "POST", secret: "s3cr3t", body: string(text), wantStatus: 401},
		{name: "GET", method: "GET", secret: testSecret, wantStatus: 405},
		{name: "bad JSON", method: "POST", secret: testSecret, body: "{not json", wantStatus: 400},
		{name: "too large", method: "POST", secret: testSecret, body: `{"update_id":1,"x":"` + strings.Repeat("a", 1<<20) + `"}`, wantStatus: 413},
		{name: "ignored kind", method: "POST", secret: testSecret, body: string(channelPost), wantStatus: 200},
		{name: "undecodable update is skipped", method: "POST", secret: testSecret, body: `{"update_id":9,"message":7}`, wantStatus: 200},
		{name: "handle error asks for redelivery", method: "POST", secret: testSecret, body: string(text), handleErr: errors.New("db down"), wantStatus: 500, wantCalled: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := offlineAdapter(t)
			var got []chat.Update
			var deadline time.Time
			h := a.WebhookHandler(testSecret, func(ctx context.Context, in chat.Update) error {
				got = append(got, in)
				deadline, _ = ctx.Deadline()
				return tt.handleErr
			})
			req := httptest.NewRequest(tt.method, "/telegram/webhook", strings.NewReader(tt.body))
			if tt.secret != "-" {
				req.Header.Set("X-Telegram-Bot-Api-Secret-Token", tt.secret)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d (%s)", rec.Code, tt.wantStatus, rec.Body)
			}
			if (len(got) > 0) != tt.wantCalled {
				t.Fatalf("handle called %d times, want called: %v", len(got), tt.wantCalled)
			}
			if tt.wantCalled {
				if got[0].UpdateID != "700001" || got[0].Text != "Phường Linh Trung" {
					t.Errorf("input %+v", got[0])
				}
				if d := time.Until(deadline); d <= 0 || d > 10*time.Second {
					t.Errorf("handle's deadline is %v away, want at most 10s", d)
				}
			}
			if rec.Code == 200 && rec.Body.Len() != 0 {
				t.Errorf("body %q, want empty", rec.Body)
			}
		})
	}
}

func TestAdapter_WebhookHandler_invalidSecretRefusesAll(t *testing.T) {
	a := offlineAdapter(t)
	called := false
	h := a.WebhookHandler("", func(context.Context, chat.Update) error { called = true; return nil })
	req := httptest.NewRequest("POST", "/", strings.NewReader(`{"update_id":1}`))
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized || called {
		t.Errorf("status %d, called %v", rec.Code, called)
	}
}

func TestAdapter_SetWebhook(t *testing.T) {
	tests := []struct {
		name    string
		url     string
		secret  string
		wantErr bool
	}{
		{name: "sends the secret", url: "https://bot.example.org/telegram/webhook", secret: testSecret},
		{name: "empty secret", url: "https://bot.example.org/", secret: "", wantErr: true},
		{name: "secret with a space", url: "https://bot.example.org/", secret: "a b", wantErr: true},
		{name: "secret too long", url: "https://bot.example.org/", secret: strings.Repeat("a", 257), wantErr: true},
		{name: "empty URL", url: "", secret: testSecret, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, nil)
			a := newTestAdapter(t, f)
			err := a.SetWebhook(context.Background(), tt.url, tt.secret)
			calls := f.Calls("setWebhook")
			if tt.wantErr {
				if !errors.Is(err, chat.ErrRejected) || len(calls) != 0 {
					t.Errorf("err = %v, %d calls; want ErrRejected and no call", err, len(calls))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(calls) != 1 {
				t.Fatalf("%d setWebhook calls", len(calls))
			}
			form := calls[0].Form
			if form.Get("url") != tt.url || form.Get("secret_token") != tt.secret || form.Get("max_connections") != "40" ||
				!sameJSONOrText(form.Get("allowed_updates"), `["message","edited_message","callback_query","my_chat_member"]`) {
				t.Errorf("setWebhook form = %v", form)
			}
		})
	}
}

func TestAdapter_DeleteWebhook(t *testing.T) {
	f := newFakeAPI(t, nil)
	a := newTestAdapter(t, f)
	if err := a.DeleteWebhook(context.Background()); err != nil {
		t.Fatal(err)
	}
	calls := f.Calls("deleteWebhook")
	if len(calls) != 1 || calls[0].Form.Get("drop_pending_updates") == "true" {
		t.Errorf("calls %v", calls)
	}
}

func TestAdapter_SetCommands(t *testing.T) {
	vi := []Command{{Name: "start", Description: "Bắt đầu"}, {Name: "/lang", Description: "Đổi ngôn ngữ"}}
	en := []Command{{Name: "start", Description: "Start"}, {Name: "lang", Description: "Change language"}}
	tests := []struct {
		name     string
		commands map[string][]Command
		want     []string // language_code of each call, "" for the default
		wantErr  bool
	}{
		{name: "both languages and vi as the default", commands: map[string][]Command{"vi": vi, "en": en}, want: []string{"en", "vi", ""}},
		{name: "explicit default", commands: map[string][]Command{"en": en, "": en}, want: []string{"en", ""}},
		{name: "bad name", commands: map[string][]Command{"vi": {{Name: "Bắt-đầu", Description: "x"}}}, wantErr: true},
		{name: "empty description", commands: map[string][]Command{"vi": {{Name: "start"}}}, wantErr: true},
		{name: "bad language", commands: map[string][]Command{"vie": vi}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, nil)
			a := newTestAdapter(t, f)
			err := a.SetCommands(context.Background(), tt.commands)
			calls := f.Calls("setMyCommands")
			if tt.wantErr {
				if !errors.Is(err, chat.ErrRejected) || len(calls) != 0 {
					t.Errorf("err = %v, %d calls", err, len(calls))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var langs []string
			for _, c := range calls {
				langs = append(langs, c.Form.Get("language_code"))
			}
			if strings.Join(langs, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("languages %q, want %q", langs, tt.want)
			}
			if tt.name == "both languages and vi as the default" {
				if !sameJSONOrText(calls[2].Form.Get("commands"), `[{"command":"start","description":"Bắt đầu"},{"command":"lang","description":"Đổi ngôn ngữ"}]`) {
					t.Errorf("default commands = %s", calls[2].Form.Get("commands"))
				}
				if !sameJSONOrText(calls[0].Form.Get("commands"), `[{"command":"start","description":"Start"},{"command":"lang","description":"Change language"}]`) {
					t.Errorf("en commands = %s", calls[0].Form.Get("commands"))
				}
			}
		})
	}
}
