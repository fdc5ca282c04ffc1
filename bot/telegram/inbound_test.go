package telegram

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/thuduc/maytinhchoem/chat"
)

func TestAdapter_ParseUpdate(t *testing.T) {
	lan := func(kind chat.InputKind, updateID string, messageID int) chat.Update {
		return chat.Update{
			Input:     chat.Input{Kind: kind, UserID: "5550001", UserName: "Lan", UpdateID: updateID},
			Channel:   "telegram",
			ChatID:    "5550001",
			MessageID: strconv.Itoa(messageID),
			Received:  testNow,
		}
	}
	with := func(in chat.Update, edit func(*chat.Update)) chat.Update { edit(&in); return in }

	tests := []struct {
		file    string
		want    chat.Update
		ignored bool
		wantErr bool
		blocked []string // chats reported to OnBlocked
	}{
		{file: "text.json", want: with(lan(chat.KindText, "700001", 11), func(in *chat.Update) {
			in.Text = "Phường Linh Trung"
			in.UserName = "Lan Nguyễn"
			in.ClientLanguage = "vi"
		})},
		{file: "start_payload.json", want: with(lan(chat.KindCommand, "700002", 12), func(in *chat.Update) {
			in.Text, in.Command, in.Args = "/start donor-42", "start", "donor-42"
			in.ClientLanguage = "en-US"
		})},
		{file: "command_at_bot.json", want: with(lan(chat.KindCommand, "700003", 13), func(in *chat.Update) {
			in.Text, in.Command, in.Args = "/Status@MayTinh_Bot  đơn số 7", "status", "đơn số 7"
		})},
		{file: "command_other_bot.json", want: with(lan(chat.KindText, "700004", 14), func(in *chat.Update) {
			in.Text = "/start@other_bot"
		})},
		{file: "contact_own.json", want: with(lan(chat.KindContact, "700005", 15), func(in *chat.Update) {
			in.Contact = &chat.Contact{Phone: "84901234567", UserID: "5550001", Name: "Lan Nguyễn"}
			in.ClientLanguage = "vi"
		})},
		{file: "contact_other.json", want: with(lan(chat.KindContact, "700006", 16), func(in *chat.Update) {
			in.Contact = &chat.Contact{Phone: "+84 912 000 111", UserID: "", Name: "Bà Tư"}
		})},
		{file: "callback.json", want: with(lan(chat.KindChoice, "700007", 20), func(in *chat.Update) {
			in.Data, in.AckID = "ward:linh-trung", "4382bfdwdsb323b2d9"
			in.UserName, in.ClientLanguage = "Lan Nguyễn", "vi"
		})},
		{file: "callback_no_message.json", want: chat.Update{
			Input:   chat.Input{Kind: chat.KindChoice, Data: "pledge:yes", UserID: "5550002", UserName: "Minh", ClientLanguage: "en", UpdateID: "700008"},
			Channel: "telegram",
			ChatID:  "5550002", AckID: "q-no-msg", Received: testNow,
		}},
		{file: "edited.json", want: with(lan(chat.KindEdited, "700009", 11), func(in *chat.Update) {
			in.Text = "Phường Linh Tây"
		})},
		{file: "photo.json", want: with(lan(chat.KindOther, "700010", 21), func(in *chat.Update) {
			in.Text, in.PhotoID = "giấy xác nhận", "AgAD2"
		})},
		{file: "photo_largest_first.json", want: with(lan(chat.KindOther, "700016", 27), func(in *chat.Update) {
			in.PhotoID = "AgAD-big" // the largest size, wherever it is listed
		})},
		// An edited caption is not a new photo: no PhotoID, so it cannot count as a second proof.
		{file: "edited_caption.json", want: with(lan(chat.KindEdited, "700017", 21), func(in *chat.Update) {
			in.Text = "giấy xác nhận (đã sửa)"
		})},
		{file: "sticker.json", want: lan(chat.KindOther, "700011", 22)},
		{file: "voice.json", want: lan(chat.KindOther, "700012", 23)},
		{file: "document.json", want: with(lan(chat.KindOther, "700013", 24), func(in *chat.Update) {
			in.Document = &chat.Document{Name: "hoc-ba.pdf", FileID: "BQAD"}
		})},
		{file: "location.json", want: lan(chat.KindOther, "700014", 25)},
		{file: "no_text.json", want: lan(chat.KindOther, "700015", 26)},
		{file: "my_chat_member_kicked.json", ignored: true, blocked: []string{"5550001"}},
		{file: "my_chat_member_unblocked.json", ignored: true},
		{file: "channel_post.json", ignored: true},
		{file: "inline_query.json", ignored: true},
		{file: "group_message.json", ignored: true},
		{file: "garbage_unknown_fields.json", want: with(lan(chat.KindText, "700021", 31), func(in *chat.Update) {
			in.Text = "xin chào"
		})},
		{file: "garbage_no_chat.json", ignored: true},
		{file: "garbage_bad_entity.json", want: with(lan(chat.KindCommand, "700023", 33), func(in *chat.Update) {
			in.Text, in.Command = "/help", "help"
		})},
		{file: "garbage_wrong_types.json", ignored: true},
		{file: "garbage_empty_callback.json", ignored: true},
		{file: "garbage_empty_update.json", ignored: true},
		{file: "garbage_not_json.txt", ignored: true, wantErr: true},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			a := offlineAdapter(t)
			var blocked []string
			a.OnBlocked(func(chatID string) { blocked = append(blocked, chatID) })

			got, ok, err := a.ParseUpdate(raw)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tt.wantErr)
			}
			if ok == tt.ignored {
				t.Fatalf("ok = %v, want %v (input %+v)", ok, !tt.ignored, got)
			}
			if !tt.ignored && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("input:\n got %+v\nwant %+v", got, tt.want)
				if got.Contact != nil && tt.want.Contact != nil {
					t.Errorf("contact: got %+v, want %+v", *got.Contact, *tt.want.Contact)
				}
			}
			if !reflect.DeepEqual(blocked, tt.blocked) {
				t.Errorf("OnBlocked got %q, want %q", blocked, tt.blocked)
			}
		})
	}
	// Every fixture is in the table, so a new one cannot be forgotten.
	files, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("testdata/%s has no case", filepath.Base(f))
		}
	}
}

func TestAdapter_ParseUpdate_groupsAllowed(t *testing.T) {
	a := offlineAdapter(t)
	a.allowGroups = true
	raw, err := os.ReadFile(filepath.Join("testdata", "group_message.json"))
	if err != nil {
		t.Fatal(err)
	}
	in, ok, err := a.ParseUpdate(raw)
	if err != nil || !ok {
		t.Fatalf("ok = %v, err = %v", ok, err)
	}
	if in.ChatID != "-4001" || in.UserID != "5550001" || in.Command != "start" {
		t.Errorf("input = %+v", in)
	}
}

func TestAdapter_parseCommand(t *testing.T) {
	cmd := func(offset, length int) []entityArg { return []entityArg{{"bot_command", offset, length}} }
	tests := []struct {
		name     string
		text     string
		entities []entityArg
		command  string
		args     string
		ok       bool
	}{
		{"plain", "/start", cmd(0, 6), "start", "", true},
		{"upper case", "/START abc", cmd(0, 6), "start", "abc", true},
		{"payload", "/start reg_ABC-123", cmd(0, 6), "start", "reg_ABC-123", true},
		{"own bot", "/lang@maytinh_bot en", cmd(0, 17), "lang", "en", true},
		{"other bot", "/lang@someone_bot en", cmd(0, 17), "", "", false},
		{"no entity", "/status 12", nil, "status", "12", true},
		{"no entity, own bot", "/status@MAYTINH_BOT", nil, "status", "", true},
		{"no entity, not a command", "/đăng ký", nil, "", "", false},
		{"slash only", "/", nil, "", "", false},
		{"path", "/usr/bin", nil, "", "", false},
		{"entity not at start", "xin /start", cmd(4, 6), "", "", false},
		// Args after a command in UTF-16 units: the emoji counts two, the Vietnamese letters one.
		{"args after emoji", "/note 😀 Đức", cmd(0, 5), "note", "😀 Đức", true},
		{"entity longer than text", "/a", cmd(0, 40), "a", "", true},
		{"entity length 1", "/x y", cmd(0, 1), "x", "y", true},
		{"negative length", "/x", cmd(0, -3), "x", "", true},
	}
	a := offlineAdapter(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			command, args, ok := a.parseCommand(tt.text, entities(tt.entities))
			if command != tt.command || args != tt.args || ok != tt.ok {
				t.Errorf("parseCommand(%q) = %q, %q, %v; want %q, %q, %v", tt.text, command, args, ok, tt.command, tt.args, tt.ok)
			}
		})
	}
}

type entityArg struct {
	typ            string
	offset, length int
}

func entities(list []entityArg) []tgbotapi.MessageEntity {
	var out []tgbotapi.MessageEntity
	for _, e := range list {
		out = append(out, tgbotapi.MessageEntity{Type: e.typ, Offset: e.offset, Length: e.length})
	}
	return out
}
