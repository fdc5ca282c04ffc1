package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/bot/telegram/telegramtest"
	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// TestServe_BroadcastReachesEveryChatOnce: the culture and information office announces to every
// parent. Two bot processes drain the outbox against the emulator's real flood limits while the
// bot sends faster than they allow, so Telegram answers 429 and the sender waits as told; a
// parent who blocked the bot is marked stopped. Every other parent gets the announcement exactly
// once, and the official is told when it is done.
func TestServe_BroadcastReachesEveryChatOnce(t *testing.T) {
	const parents = 60
	h := newHarnessAt(t, telegramtest.Limits{}, campaignClock(), map[string]string{
		"ADMIN_TELEGRAM_IDS": "9301",
		// Faster than the emulator's 30 a second overall and 1 a second per chat: it answers 429.
		"SEND_RATE_GLOBAL": "60", "SEND_RATE_PER_CHAT": "0",
	})
	admin := h.parent(9301, "vi")
	culture := h.parent(9302, "vi")
	admin.say("/start", 1)
	culture.say("/start "+invite(t, admin, "culture_info"), 1)

	// Parents who registered a child (through the store: the conversation has its own tests).
	regs := postgres.NewRegistrationStore(h.db, campaign.Default())
	chats := make([]*parent, parents)
	for i := range chats {
		lang := "vi"
		if i%4 == 0 {
			lang = "en"
		}
		p := h.parent(int64(9400+i), lang)
		chats[i] = p
		r := campaign.Registration{
			Channel: "telegram", ChatID: strconv.FormatInt(p.chat, 10), UserID: strconv.FormatInt(p.chat, 10), Language: lang,
			ParentName: "Trần Thị Bình", ParentPhone: fmt.Sprintf("+849031%05d", i), StudentName: fmt.Sprintf("Nguyễn Văn An %d", i),
			BirthDate: time.Date(2012, 5, 3, 0, 0, 0, 0, time.UTC), Level: campaign.LevelPrimary, Grade: 4,
			School: "Trường Tiểu học Linh Trung", WardCode: "26800", Address: "12 đường số 8",
			Circumstances: []campaign.Circumstance{campaign.CircumstancePoor}, DeviceSituation: campaign.SituationNone,
			Needs: []campaign.Need{campaign.NeedTablet}, IdempotencyKey: fmt.Sprintf("e2e-broadcast-%d", i), ConsentAt: time.Now(),
		}
		if _, err := regs.SubmitRegistration(context.Background(), &r); err != nil {
			t.Fatal(err)
		}
	}
	blocked := chats[7]
	h.emu.Block(blocked.chat)
	h.secondProcess(h.clk)

	culture.say("/broadcast", 1)
	culture.press("b:aud:parents", 1)
	body := "Lễ trao thiết bị bắt đầu từ 17/9. Xin phụ huynh giữ điện thoại luôn mở máy."
	preview := culture.say(body, 2)
	if !strings.Contains(preview.Text, strconv.Itoa(parents)) {
		t.Fatalf("the preview counts %q", preview.Text)
	}
	queued := culture.press("b:prev:send", 1)
	code := regexp.MustCompile(`BC-\d{6}`).FindString(queued.Text)
	if code == "" {
		t.Fatalf("no broadcast code in %q", queued.Text)
	}

	for i, p := range chats {
		if p == blocked {
			continue
		}
		got := p.waitNew(1)[0]
		header := "📢 Thông báo từ"
		if i%4 == 0 {
			header = "📢 Announcement from"
		}
		if !strings.HasPrefix(got.Text, header) || !strings.Contains(got.Text, body) {
			t.Errorf("parent %d got %q", i, got.Text)
		}
	}
	// The official hears when it is done: all but the one who blocked the bot.
	done := culture.waitNew(1)[0]
	if !strings.Contains(done.Text, code) || !strings.Contains(done.Text, fmt.Sprintf("%d/%d", parents-1, parents)) {
		t.Errorf("the report = %q", done.Text)
	}
	time.Sleep(time.Second)
	for i, p := range chats {
		if n := len(h.emu.Messages(p.chat)) - p.seen; n != 0 {
			t.Errorf("parent %d got %d more messages", i, n)
		}
	}
	if n := len(h.emu.Messages(culture.chat)) - culture.seen; n != 0 {
		t.Errorf("the official got %d more messages: %q", n, texts(h.emu.Messages(culture.chat)[culture.seen:]))
	}
	if h.emu.Metrics().TooManyRequests == 0 {
		t.Error("the emulator never answered 429: the test did not test flood control")
	}
	if c, err := postgres.NewContactStore(h.db).Contact(context.Background(), "telegram", strconv.FormatInt(blocked.chat, 10)); err != nil || !c.Stopped {
		t.Errorf("the parent who blocked the bot: %+v, %v", c, err)
	}
	// The progress button shows the same.
	progress := culture.press("b:pr:"+code, 1)
	if !strings.Contains(progress.Text, fmt.Sprintf("%d/%d", parents-1, parents)) {
		t.Errorf("progress = %q", progress.Text)
	}
}
