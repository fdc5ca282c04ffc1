package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/thuduc/maytinhchoem/bot/telegram/telegramtest"
	"github.com/thuduc/maytinhchoem/bot/zalo/zalotest"
	"github.com/thuduc/maytinhchoem/campaign"
)

// Registered on its behalf, then claimed, across the channels: a ward official on Telegram
// registers a family in person (/assist) with its mobile, and the family claims the child on
// Zalo (the /status button, the OA's info card, the birth date); an official on Zalo registers
// another family, which claims on Telegram from the registration form (its contact shared). After
// the claims, an official's decision reaches each family in its own chat, and nothing was
// registered twice.
func TestServe_AssistedThenClaimedAcrossChannels(t *testing.T) {
	h := newZaloHarness(t, zalotest.Options{}, map[string]string{"ADMIN_TELEGRAM_IDS": "9801"})
	admin := h.parent(9801, "vi")
	tg := h.parent(9810, "vi")
	tg.say("/start "+inviteWard(t, admin, "ward_official", "26800"), 1)
	zl := h.zalo("Hạnh")
	zl.say("/start "+inviteWard(t, admin, "ward_official", "26800"), 1)
	code := regexp.MustCompile(`TD-\d{6}`)

	// The official on Telegram, at the family's home.
	tg.say("/assist", 1)
	tg.press("as:consent:yes", 1)
	tg.say("Đỗ Thị Thu", 1)
	tg.say("0901 222 333", 1)
	tg.say("Đỗ Minh Quân, 14/02/2011", 1)
	tg.say("lớp 5, Tiểu học Linh Trung", 1)
	tg.say("3 hẻm 12 đường số 8, khu phố 2", 1)
	tg.say("hộ nghèo", 1)
	tg.press("as:device_situation:none", 1)
	tg.say("laptop", 1)
	tgCode := code.FindString(tg.press("as:review:submit", 1).Text)

	// The official on Zalo, at another.
	zl.say("/assist", 1)
	zl.press("as:consent:yes", 1)
	zl.say("Bùi Văn Sang", 1)
	zl.say("0902 333 444", 1)
	zl.say("Bùi Ngọc Trâm, 30/08/2008", 1)
	zl.say("8, THCS Linh Trung", 1)
	zl.say("7 đường Hoàng Diệu 2, khu phố 4", 1)
	zl.say("khó khăn do covid", 1)
	zl.press("as:device_situation:shares_phone", 1)
	zl.say("máy tính bảng, sim 4g", 1)
	zCode := code.FindString(zl.pick("✅ Gửi đăng ký", 1).Text)
	if tgCode == "" || zCode == "" || tgCode == zCode {
		t.Fatalf("codes %q and %q", tgCode, zCode)
	}
	for _, c := range []string{tgCode, zCode} {
		if r := h.registration(c); r.Source != campaign.SourceAssisted || r.ChatID != "" || r.ParentPhone == "" {
			t.Fatalf("%s before the claim: source %s, chat %q, phone %q", c, r.Source, r.ChatID, r.ParentPhone)
		}
	}

	// The first family, on Zalo: /status has nothing yet, and offers the claim.
	zfam := h.zalo("Thu")
	if none := zfam.say("/status", 1); !strings.Contains(zButtons(none), "#c:cl:start") {
		t.Fatalf("zalo: /status without a registration = %q %s", none.Text, zButtons(none))
	}
	if card := zfam.press("cl:start", 2); card.RequestInfo == nil {
		t.Fatalf("zalo: the phone was not asked with the info card: %+v", card)
	}
	if _, err := h.zemu.SubmitInfo(zfam.id, "Đỗ Thị Thu", "0901222333"); err != nil {
		t.Fatal(err)
	}
	zfam.waitNew(1)
	if done := zfam.say("14/02/2011", 1); !strings.Contains(done.Text, tgCode) || !strings.Contains(done.Text, "Đỗ Minh Quân") {
		t.Fatalf("zalo: claim = %q", done.Text)
	}

	// The second family, on Telegram, from the registration form.
	tfam := h.parent(1801, "vi")
	tfam.say("/start dangky", 1)
	tfam.press("r:consent:yes", 1)
	tfam.say("Bùi Văn Sang", 1)
	h.emu.SendContact(tfam.chat, tfam.user, "+84902333444", tfam.user.ID)
	tfam.waitFor(hasButton("cl:done"))
	if done := tfam.say("30/08/2008", 1); !strings.Contains(done.Text, zCode) || !strings.Contains(done.Text, "Bùi Ngọc Trâm") {
		t.Fatalf("telegram: claim = %q", done.Text)
	}

	for _, want := range []struct{ code, channel, chat string }{{tgCode, "zalo", zfam.id}, {zCode, "telegram", "1801"}} {
		r := h.registration(want.code)
		if r.Channel != want.channel || r.ChatID != want.chat || r.ClaimedAt.IsZero() || r.Source != campaign.SourceAssisted {
			t.Errorf("%s after the claim: %s:%s claimed %v source %s", want.code, r.Channel, r.ChatID, r.ClaimedAt, r.Source)
		}
	}
	if n := h.count(); n != 2 {
		t.Errorf("registrations = %d, want the two assisted ones", n)
	}

	// An official approves both: each family hears it in its own chat, the officials do not get
	// the staff's copy any more.
	for _, c := range []string{tgCode, zCode} {
		tg.say("/verify "+c, 1)
		tg.pressUntil("v:ok:"+c, has(c))
	}
	tfam.waitFor(func(m telegramtest.Message) bool {
		return strings.Contains(m.Text, zCode) && strings.Contains(m.Text, "đã được xác minh")
	})
	for {
		got := zfam.waitNew(1)
		if strings.Contains(got[len(got)-1].Text, tgCode) && strings.Contains(got[len(got)-1].Text, "đã được xác minh") {
			break
		}
	}
	for _, m := range h.emu.Messages(tg.chat) {
		if strings.Contains(m.Text, "📌") {
			t.Errorf("the registrar was told after the claim: %q", m.Text)
		}
	}
	if rej := h.emu.RejectedCalls(); len(rej) > 0 {
		t.Errorf("telegram refused calls: %+v", rej)
	}
}
