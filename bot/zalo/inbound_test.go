package zalo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/chat"
)

func TestAdapter_ToUpdate(t *testing.T) {
	eventAt := testNow.Add(-10 * time.Second)
	user := func(kind chat.InputKind, msgID string) chat.Update {
		return chat.Update{
			Input:     chat.Input{Kind: kind, UserID: testUser, UpdateID: msgID},
			Channel:   "zalo",
			ChatID:    testUser,
			MessageID: msgID,
			Received:  testNow,
		}
	}
	with := func(in chat.Update, edit func(*chat.Update)) chat.Update { edit(&in); return in }
	noMsgID := func(kind chat.InputKind, event string) chat.Update {
		return with(user(kind, ""), func(in *chat.Update) {
			in.UpdateID = event + ":" + testUser + ":1788577190000"
		})
	}
	touched := map[string]time.Time{testUser: eventAt}

	tests := []struct {
		file       string
		want       chat.Update
		ignored    bool
		wantErr    bool
		touched    map[string]time.Time // interactions recorded
		followed   []string
		unfollowed []string
		logHas     string
	}{
		{file: "user_send_text.json", touched: touched, want: with(user(chat.KindText, "6e1f5a7c0b2d4e8f9a1b"), func(in *chat.Update) {
			in.Text = "Phường Linh Trung"
		})},
		{file: "user_send_text_choice.json", touched: touched, want: with(user(chat.KindChoice, "6e1f5a7c0b2d4e8f9a1c"), func(in *chat.Update) {
			in.Data = "ward:linh-trung"
		})},
		{file: "user_send_text_command.json", touched: touched, want: with(user(chat.KindCommand, "6e1f5a7c0b2d4e8f9a1d"), func(in *chat.Update) {
			in.Text, in.Command, in.Args = "/Status  đơn số 7", "status", "đơn số 7"
		})},
		{file: "user_send_text_not_command.json", touched: touched, want: with(user(chat.KindText, "6e1f5a7c0b2d4e8f9a1e"), func(in *chat.Update) {
			in.Text = "/đăng ký"
		})},
		{file: "user_send_image.json", touched: touched, want: with(user(chat.KindOther, "6e1f5a7c0b2d4e8f9a20"), func(in *chat.Update) {
			in.Text, in.PhotoID = "giấy xác nhận", "https://photo-stal.zdn.vn/full/p1.jpg"
		})},
		{file: "user_send_sticker.json", touched: touched, want: user(chat.KindOther, "6e1f5a7c0b2d4e8f9a21")},
		{file: "user_send_gif.json", touched: touched, want: user(chat.KindOther, "6e1f5a7c0b2d4e8f9a22")},
		{file: "user_send_location.json", touched: touched, want: user(chat.KindOther, "6e1f5a7c0b2d4e8f9a23")},
		{file: "user_send_file.json", touched: touched, want: with(user(chat.KindOther, "6e1f5a7c0b2d4e8f9a24"), func(in *chat.Update) {
			in.Document = &chat.Document{Name: "giay-xac-nhan.pdf", Size: 20480, FileID: "https://f.zalo.me/f/giay.pdf"}
		})},
		{file: "user_send_file_number_size.json", touched: touched, want: with(user(chat.KindOther, "6e1f5a7c0b2d4e8f9a32"), func(in *chat.Update) {
			in.Document = &chat.Document{Name: "tep.xlsx", Size: 8123, FileID: "https://zfile.zadn.vn/danh sach.xlsx?sig=s3cr3t"}
		})},
		// A file whose link is not http(s) cannot be opened: it comes as any other attachment.
		{file: "user_send_file_no_url.json", touched: touched, want: user(chat.KindOther, "6e1f5a7c0b2d4e8f9a33")},
		{file: "user_send_audio.json", touched: touched, want: user(chat.KindOther, "6e1f5a7c0b2d4e8f9a25")},
		{file: "user_send_video.json", touched: touched, want: with(user(chat.KindOther, "6e1f5a7c0b2d4e8f9a26"), func(in *chat.Update) {
			in.Text = "máy chạy tốt"
		})},
		{file: "user_send_link.json", touched: touched, want: with(user(chat.KindOther, "6e1f5a7c0b2d4e8f9a27"), func(in *chat.Update) {
			in.Text = "xem https://maytinhchoem.vn"
		})},
		{file: "user_send_business_card.json", touched: touched, want: user(chat.KindOther, "6e1f5a7c0b2d4e8f9a28")},
		{file: "user_submit_info.json", touched: touched, want: with(noMsgID(chat.KindContact, "user_submit_info"), func(in *chat.Update) {
			in.Contact = &chat.Contact{Phone: "84901234567", Name: "Nguyễn Thị Lan", UserID: testUser}
		})},
		{file: "follow.json", touched: touched, followed: []string{testUser}, want: with(noMsgID(chat.KindCommand, "follow"), func(in *chat.Update) {
			in.Text, in.Command = "/start", "start"
		})},
		{file: "unfollow.json", ignored: true, unfollowed: []string{testUser}},
		{file: "user_click_chatnow.json", ignored: true, touched: touched},
		{file: "user_click_chatnow_no_user.json", ignored: true},
		{file: "user_seen_message.json", ignored: true},
		{file: "user_received_message.json", ignored: true},
		{file: "user_reacted_message.json", ignored: true},
		{file: "oa_send_text.json", ignored: true, logHas: "echo of the OA's own message"},
		{file: "oa_send_text_admin.json", ignored: true, logHas: "answered from the OA inbox"},
		{file: "oa_send_image.json", ignored: true},
		{file: "unknown_event.json", ignored: true, logHas: "unknown event"},
		{file: "timestamp_seconds.json", touched: touched, want: with(user(chat.KindText, "6e1f5a7c0b2d4e8f9a30"), func(in *chat.Update) {
			in.Text = "xin chào"
		})},
		{file: "timestamp_number_no_msg_id.json", touched: touched, want: noMsgID(chat.KindOther, "user_send_sticker")},
		{file: "big_id_number.json", touched: map[string]time.Time{"8312345678901234568": eventAt}, want: chat.Update{
			Input:   chat.Input{Kind: chat.KindText, Text: "chào OA", UserID: "8312345678901234568", UpdateID: "6e1f5a7c0b2d4e8f9a31"},
			Channel: "zalo", ChatID: "8312345678901234568", MessageID: "6e1f5a7c0b2d4e8f9a31", Received: testNow,
		}},
		{file: "garbage_not_json.txt", ignored: true, wantErr: true},
		{file: "garbage_truncated.txt", ignored: true, wantErr: true},
		{file: "garbage_array.json", ignored: true, wantErr: true},
		{file: "garbage_no_event_name.json", ignored: true, wantErr: true},
		{file: "garbage_wrong_types.json", ignored: true, wantErr: true},
		{file: "garbage_no_sender.json", ignored: true, wantErr: true},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			a, fx := offlineAdapter(t)
			var followed, unfollowed []string
			a.OnFollow(func(id string) { followed = append(followed, id) })
			a.OnUnfollow(func(id string) { unfollowed = append(unfollowed, id) })

			got, ok, err := a.ToUpdate(context.Background(), raw)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, errBadEvent) {
				t.Errorf("err = %v, want one wrapping errBadEvent", err)
			}
			if ok == tt.ignored {
				t.Fatalf("ok = %v, want %v (update %+v)", ok, !tt.ignored, got)
			}
			if !tt.ignored && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("update:\n got %+v\nwant %+v", got, tt.want)
				if got.Contact != nil && tt.want.Contact != nil {
					t.Errorf("contact: got %+v, want %+v", *got.Contact, *tt.want.Contact)
				}
			}
			if !sameTimes(fx.inter.last, tt.touched) {
				t.Errorf("interactions %v, want %v", fx.inter.last, tt.touched)
			}
			if !reflect.DeepEqual(followed, tt.followed) || !reflect.DeepEqual(unfollowed, tt.unfollowed) {
				t.Errorf("OnFollow got %q, OnUnfollow got %q; want %q, %q", followed, unfollowed, tt.followed, tt.unfollowed)
			}
			if tt.logHas != "" && !strings.Contains(fx.logs.String(), tt.logHas) {
				t.Errorf("logs lack %q:\n%s", tt.logHas, fx.logs)
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

func sameTimes(a, b map[string]time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !v.Equal(b[k]) {
			return false
		}
	}
	return true
}

// textEvent is a user_send_text event from testUser.
func textEvent(text string) []byte {
	return textEventWithID(text, fmt.Sprintf("m-%x", text))
}

// textEventWithID is textEvent with the message id given: the same text sent again later.
func textEventWithID(text, msgID string) []byte {
	return fmt.Appendf(nil, `{"app_id":%q,"event_name":"user_send_text","timestamp":"1788577190000",`+
		`"sender":{"id":%q},"recipient":{"id":"579745863508352884"},"message":{"text":%q,"msg_id":%q}}`,
		testAppID, testUser, text, msgID)
}

func TestAdapter_ToUpdate_storeFailures(t *testing.T) {
	a, fx := offlineAdapter(t)
	fx.inter.touchErr = errors.New("redis down")
	if _, _, err := a.ToUpdate(context.Background(), textEvent("hi")); err == nil || errors.Is(err, errBadEvent) {
		t.Errorf("Touch failing: err = %v, want a retryable error", err)
	}
	fx.inter.touchErr = nil
	fx.menus.takeErr = errors.New("redis down")
	if _, _, err := a.ToUpdate(context.Background(), textEvent("3")); err == nil || errors.Is(err, errBadEvent) {
		t.Errorf("TakeMenu failing: err = %v, want a retryable error", err)
	}
}

func TestAdapter_ToUpdate_menu(t *testing.T) {
	m := `{"choices":[{"label":"Linh Trung","data":"ward:1"},{"label":"0901234567","text":"0901234567"},{"label":"✅ Đông Hòa","data":"ward:3"}]}`
	tests := []struct {
		text string
		want chat.Input
	}{
		{"2", chat.Input{Kind: chat.KindText, Text: "0901234567"}},
		{" 3. ", chat.Input{Kind: chat.KindChoice, Data: "ward:3"}},
		{"dong hoa", chat.Input{Kind: chat.KindChoice, Data: "ward:3"}},
		{"linh trung", chat.Input{Kind: chat.KindChoice, Data: "ward:1"}},
		{"4", chat.Input{Kind: chat.KindText, Text: "4"}},
		{"/help", chat.Input{Kind: chat.KindCommand, Text: "/help", Command: "help"}},
		{"#c:ward:9", chat.Input{Kind: chat.KindChoice, Data: "ward:9"}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			a, fx := offlineAdapter(t)
			fx.menus.menus[testUser] = []byte(m)
			got, ok, err := a.ToUpdate(context.Background(), textEvent(tt.text))
			if err != nil || !ok {
				t.Fatalf("ok = %v, err = %v", ok, err)
			}
			tt.want.UserID, tt.want.UpdateID = testUser, got.UpdateID
			if !reflect.DeepEqual(got.Input, tt.want) {
				t.Errorf("input %+v, want %+v", got.Input, tt.want)
			}
			if fx.menus.has(testUser) {
				t.Error("the menu was not taken")
			}
		})
	}
}

func TestMenu_match(t *testing.T) {
	m := &menu{Choices: []menuChoice{
		{Label: "Linh Trung", Data: "w1"},
		{Label: "Linh Tây", Data: "w2"},
		{Label: "Hiệp Bình Chánh", Data: "w3"},
		{Label: "✅ Đông Hòa", Data: "w4"},
		{Label: "Lớp 1-5", Data: "g1"},
	}}
	tests := []struct {
		typed string
		want  string // "" for no match
	}{
		{"1", "w1"},
		{" 3 ", "w3"},
		{"3.", "w3"},
		{"3)", "w3"},
		{"số 3", "w3"},
		{"Số 3", "w3"},
		{"so3", "w3"},
		{"#3", "w3"},
		{"linh tay", "w2"},
		{"LINH TÂY", "w2"},
		{"Linh  Tây!", "w2"},
		{"dong hoa", "w4"},
		{"Đông Hòa", "w4"},
		{"✅ Đông Hòa", "w4"},
		{"Đo\u0302ng Ho\u0300a", "w4"}, // typed with combining marks
		{"hiep binh chanh", "w3"},
		{"lop 1-5", "g1"},
		{"0", ""},
		{"6", ""},
		{"99999", ""},
		{"Linh", ""},
		{"", ""},
		{"🙂", ""},
		{"son", ""},
	}
	for _, tt := range tests {
		t.Run(tt.typed, func(t *testing.T) {
			c, ok := m.match(tt.typed)
			if got := map[bool]string{true: c.Data, false: ""}[ok]; got != tt.want {
				t.Errorf("match(%q) = %q, want %q", tt.typed, got, tt.want)
			}
		})
	}
}

// A list of quantities is answered by label only: a typed "3" is the quantity 3 (text for the
// flow), never the third line.
func TestMenu_matchNumericLabels(t *testing.T) {
	m := &menu{Choices: []menuChoice{
		{Label: "500", Data: "q500"}, {Label: "1", Data: "q1"}, {Label: "10", Data: "q10"},
		{Label: "50", Data: "q50"}, {Label: "100", Data: "q100"}, {Label: "↩️ Giữ nguyên", Data: "keep"},
	}}
	if !m.numeric() {
		t.Fatal("a list of quantities is not numeric")
	}
	for typed, want := range map[string]string{"1": "q1", "10": "q10", " 500 ": "q500", "3": "", "6": "", "số 2": "", "giu nguyen": "keep"} {
		c, ok := m.match(typed)
		if got := map[bool]string{true: c.Data, false: ""}[ok]; got != want {
			t.Errorf("match(%q) = %q, want %q", typed, got, want)
		}
	}
	msgs, _ := textMessages("Bao nhiêu SIM 4G?", []choice{{label: "500", data: "q500"}, {label: "1", data: "q1"}, {label: "10", data: "q10"},
		{label: "50", data: "q50"}, {label: "100", data: "q100"}, {label: "↩️ Giữ nguyên", data: "keep"}}, "vi")
	if text := msgs[0].Text; !strings.Contains(text, "• 500\n• 1\n") || strings.Contains(text, "1. 500") || !strings.HasSuffix(text, "gõ một lựa chọn ở trên.") {
		t.Errorf("a list of quantities shown as:\n%s", text)
	}
}

func TestFold(t *testing.T) {
	tests := map[string]string{
		"  Phường   Linh-Trung!! ":  "phuong linh trung",
		"ĐƯỜNG Đồng Khởi":           "duong dong khoi",
		"✔️ Đã chọn":                "da chon",
		"Quỳnh Ỷ Ỹ ỵ":               "quynh y y y",
		"Ngữ văn, Toán & Tiếng Anh": "ngu van toan tieng anh",
	}
	for in, want := range tests {
		if got := fold(in); got != want {
			t.Errorf("fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		text, name, args string
		ok               bool
	}{
		{"/start", "start", "", true},
		{"/START abc", "start", "abc", true},
		{"/start reg_ABC-123", "start", "reg_ABC-123", true},
		{"/status\n12", "status", "12", true},
		{"/đăng ký", "", "", false},
		{"/", "", "", false},
		{"/usr/bin", "", "", false},
		{"/start@bot", "", "", false},
		{" /start", "", "", false},
		{"/" + strings.Repeat("a", 33), "", "", false},
	}
	for _, tt := range tests {
		name, args, ok := splitCommand(tt.text)
		if name != tt.name || args != tt.args || ok != tt.ok {
			t.Errorf("splitCommand(%q) = %q, %q, %v; want %q, %q, %v", tt.text, name, args, ok, tt.name, tt.args, tt.ok)
		}
	}
}

func TestAdapter_Consume(t *testing.T) {
	a, fx := offlineAdapter(t)
	inbox := newFakeInbox()
	fx.menus.menus[testUser] = []byte(`{"choices":[{"label":"A","data":"a"},{"label":"B","data":"b"},{"label":"C","data":"c"}]}`)
	unfollow, _ := os.ReadFile(filepath.Join("testdata", "unfollow.json"))
	for _, raw := range [][]byte{textEvent("3"), []byte("garbage"), unfollow, textEvent("xin chào")} {
		if err := inbox.Push(context.Background(), raw); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var calls []chat.Update
	failures := 2
	handle := func(ctx context.Context, u chat.Update) <-chan error {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, u)
		done := make(chan error, 1)
		if failures > 0 {
			failures--
			done <- errors.New("postgres down")
		} else {
			done <- nil
		}
		return done
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Consume(ctx, inbox, handle) }()
	deadline := time.Now().Add(5 * time.Second)
	for inbox.unacked() > 0 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Consume returned %v, want nil when ctx ends", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Consume did not return after ctx ended")
	}
	if n := inbox.unacked(); n != 0 {
		t.Fatalf("%d events left unacknowledged", n)
	}
	mu.Lock()
	defer mu.Unlock()
	// Both inputs failed once and came again: four calls, and "3" mapped to the same choice each
	// time (the numbered list taken by the failed attempt maps the same way again).
	if len(calls) != 4 {
		t.Fatalf("handle called %d times, want 4 (two failures, then success): %+v", len(calls), calls)
	}
	choices, texts := 0, 0
	for _, u := range calls {
		switch {
		case u.Kind == chat.KindChoice && u.Data == "c":
			choices++
		case u.Text == "xin chào":
			texts++
		default:
			t.Errorf("unexpected update %+v", u)
		}
	}
	if choices != 2 || texts != 2 {
		t.Errorf("%d choices and %d texts, want 2 of each", choices, texts)
	}
	if !strings.Contains(fx.logs.String(), "skip an event that cannot be read") {
		t.Errorf("garbage not logged:\n%s", fx.logs)
	}
}

// A chat stuck on a slow update holds up only its own events: events of other chats pulled after
// it are handled and acknowledged meanwhile.
func TestAdapter_Consume_slowChatHoldsUpNoOther(t *testing.T) {
	a, _ := offlineAdapter(t)
	inbox := newFakeInbox()
	inbox.claimAfter = time.Hour
	_ = inbox.Push(context.Background(), textEvent("slow"))
	release := make(chan struct{})
	handled := make(chan string, 10)
	handle := func(ctx context.Context, u chat.Update) <-chan error {
		done := make(chan error, 1)
		go func() {
			if u.Text == "slow" {
				<-release
			}
			handled <- u.Text
			done <- nil
		}()
		return done
	}
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan error, 1)
	go func() { finished <- a.Consume(ctx, inbox, handle) }()
	for inbox.pullCount() < 2 {
		time.Sleep(time.Millisecond) // the slow event is in hand
	}
	for _, text := range []string{"một", "hai"} {
		_ = inbox.Push(context.Background(), textEvent(text))
	}
	for range 2 {
		select {
		case got := <-handled:
			if got == "slow" {
				t.Fatal("the slow update finished before it was released")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the other events waited for the slow one")
		}
	}
	for inbox.unacked() != 1 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	for inbox.unacked() != 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-finished; err != nil {
		t.Error(err)
	}
}

func TestAdapter_Consume_storeFailure(t *testing.T) {
	a, fx := offlineAdapter(t)
	inbox := newFakeInbox()
	_ = inbox.Push(context.Background(), textEvent("hi"))
	fx.menus.takeErr = errors.New("redis down")
	calls := 0
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_ = a.Consume(ctx, inbox, func(ctx context.Context, u chat.Update) <-chan error {
		calls++
		done := make(chan error, 1)
		done <- nil
		return done
	})
	if calls != 0 || inbox.unacked() != 1 {
		t.Errorf("with the menu store down: handle called %d times, %d unacknowledged; want 0 and 1", calls, inbox.unacked())
	}
}
