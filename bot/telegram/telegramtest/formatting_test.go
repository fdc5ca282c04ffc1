package telegramtest

import (
	"strings"
	"testing"
)

func TestFormatText(t *testing.T) {
	tests := []struct {
		name, text, mode string
		wantPlain        string
		wantHTML         string
		wantErr          string
	}{
		{"plain is escaped", "a < b & <i>", "", "a < b & <i>", "a &lt; b &amp; &lt;i&gt;", ""},
		{"markdown is kept", "*đậm*", "MarkdownV2", "*đậm*", "*đậm*", ""},
		{"html tags", "<b>Đậm</b> <I>nghiêng</I> <code>x&lt;y</code>", "HTML", "Đậm nghiêng x<y", "<b>Đậm</b> <i>nghiêng</i> <code>x&lt;y</code>", ""},
		{"html synonyms and attributes dropped", `<strong>a</strong><a href="https://x.org">link</a><span class="tg-spoiler">s</span>`, "html", "alinks", "<b>a</b>links", ""},
		{"newlines kept", "dòng 1\ndòng 2", "HTML", "dòng 1\ndòng 2", "dòng 1\ndòng 2", ""},
		{"unsupported tag", "<script>x</script>", "HTML", "", "", `Bad Request: can't parse entities: Unsupported start tag "script" at byte offset 0`},
		{"crossed tags", "<b><i>x</b></i>", "HTML", "", "", "Bad Request: can't parse entities: Unexpected end tag at byte offset 7"},
		{"unclosed tag", "<b", "HTML", "", "", "Bad Request: can't parse entities: Unclosed start tag at byte offset 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := formatText(tt.text, tt.mode)
			if tt.wantErr != "" {
				if err == nil || err.description != tt.wantErr {
					t.Fatalf("error = %+v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("error: %s", err.description)
			}
			if f.plain != tt.wantPlain || f.html != tt.wantHTML {
				t.Errorf("got %q / %q, want %q / %q", f.plain, f.html, tt.wantPlain, tt.wantHTML)
			}
		})
	}
}

func TestUTF16Length(t *testing.T) {
	tests := []struct {
		text string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"Nguyễn", 6},
		{"😀", 2},
		{"a😀b", 4},
	}
	for _, tt := range tests {
		if got := utf16Length(tt.text); got != tt.want {
			t.Errorf("utf16Length(%q) = %d, want %d", tt.text, got, tt.want)
		}
	}
}

func TestCommandEntity(t *testing.T) {
	tests := []struct {
		text       string
		wantLength int // 0: no entity
	}{
		{"/start", 6},
		{"/start abc", 6},
		{"/dangky@maytinhchoem_bot", 24},
		{"xin chào", 0},
		{"/", 0},
	}
	for _, tt := range tests {
		got := commandEntity(tt.text)
		if tt.wantLength == 0 {
			if got != nil {
				t.Errorf("commandEntity(%q) = %+v, want none", tt.text, got)
			}
			continue
		}
		if len(got) != 1 || got[0].Type != "bot_command" || got[0].Offset != 0 || got[0].Length != tt.wantLength {
			t.Errorf("commandEntity(%q) = %+v, want length %d", tt.text, got, tt.wantLength)
		}
	}
}

func TestLoadSpec(t *testing.T) {
	s, err := loadSpec(embeddedSpec)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"getMe", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo", "sendMessage", "editMessageText",
		"editMessageReplyMarkup", "answerCallbackQuery", "sendPhoto", "sendDocument", "setMyCommands", "getMyCommands", "sendChatAction"} {
		if s.method(m) == nil {
			t.Errorf("description lacks %s", m)
		}
		if (&Server{}).handler(m) == nil {
			t.Errorf("emulator does not answer %s", m)
		}
	}
	if got := strings.Join(s.variants["BotCommandScope"], ","); !strings.Contains(got, "BotCommandScopeChatMember") {
		t.Errorf("BotCommandScope variants = %s", got)
	}
	if _, err := loadSpec([]byte(`{"methods":{}}`)); err == nil {
		t.Error("a description without methods was accepted")
	}
	defer func() {
		if recover() == nil {
			t.Error("New accepted a broken description")
		}
	}()
	New(Options{Spec: []byte("not json")})
}
