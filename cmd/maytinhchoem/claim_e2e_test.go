package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/bot/telegram/telegramtest"
	"github.com/thuduc/maytinhchoem/bot/zalo/zalotest"
	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// waitFor waits for the first new message of p that pred picks, passing over the others.
func (p *parent) waitFor(pred func(telegramtest.Message) bool) telegramtest.Message {
	p.h.t.Helper()
	for {
		for _, m := range p.waitNew(1) {
			if pred(m) {
				return m
			}
		}
	}
}

// A ward official sends a list on Telegram (/import); the official's approval of a child on it,
// before the family has a chat, reaches the official, worded for staff. The family then writes
// to the bot on Telegram, gives its phone in the registration form, confirms the child's birth
// date and sees the child with /status: the form stops, nothing is registered twice.
func TestServe_Claim_Telegram(t *testing.T) {
	h := newHarness(t, map[string]string{"ADMIN_TELEGRAM_IDS": "5001"})
	admin := h.parent(5001, "vi")
	official := h.parent(5010, "vi")
	official.say("/start "+inviteWard(t, admin, "ward_official", "26800"), 1)

	list := "STT,Họ và tên học sinh,Ngày sinh,Lớp,Trường,Phường,Địa chỉ,Họ tên phụ huynh,Số điện thoại,Hoàn cảnh,Tình trạng thiết bị,Nhu cầu\n" +
		"1,Lê Thị Hoa,12/03/2013,2,Trường Tiểu học Linh Trung,26800,5 đường số 9,,0912 345 678,hộ nghèo,,máy tính bảng\n"
	h.emu.SendDocumentWith(official.chat, official.user, "danh-sach-linh-trung.csv", []byte(list))
	if report := official.waitFor(has("📋 Danh sách")); !strings.Contains(report.Text, "Đã nhận: 1") {
		t.Fatalf("report = %q", report.Text)
	}
	official.say("/verify TD-000001", 1)
	told := official.pressUntil("v:ok:TD-000001", has("📌"))
	for _, want := range []string{"TD-000001", "danh sách DS-000001", "đã được xác minh"} {
		if !strings.Contains(told.Text, want) {
			t.Errorf("the official's notice lacks %q:\n%s", want, told.Text)
		}
	}

	family := h.parent(1001, "vi")
	family.say("/start dangky", 1)
	family.press("r:consent:yes", 1)
	family.say("Lê Văn Tư", 1)
	h.emu.SendContact(family.chat, family.user, "+84912345678", family.user.ID)
	asked := family.waitFor(hasButton("cl:done"))
	if all := strings.Join(texts(h.emu.Messages(family.chat)), "\n"); !strings.Contains(all, "đã đăng ký giúp 1 em với số 0912 345 678") {
		t.Errorf("the offer: %s", all)
	}
	if _, ok := findButton([]telegramtest.Message{asked}, "cl:form"); !ok {
		t.Errorf("no way back to the form: %+v", asked.InlineKeyboard)
	}
	done := family.say("12/03/2013", 1)
	if !strings.Contains(done.Text, "TD-000001") || !strings.Contains(done.Text, "Lê Thị Hoa") {
		t.Fatalf("claim = %q", done.Text)
	}
	status := family.say("/status", 1)
	if !strings.Contains(status.Text, "TD-000001") || !strings.Contains(status.Text, "Lê Thị Hoa") {
		t.Errorf("/status after the claim = %q", status.Text)
	}
	reg := h.registration("TD-000001")
	if reg.Channel != "telegram" || reg.ChatID != "1001" || reg.ParentName != "Lê Văn Tư" || reg.ClaimedAt.IsZero() || reg.Source != campaign.SourceList {
		t.Errorf("claimed registration = %s:%s parent %q claimed %v source %s", reg.Channel, reg.ChatID, reg.ParentName, reg.ClaimedAt, reg.Source)
	}
	if n := h.count(); n != 1 {
		t.Errorf("registrations = %d, want the list's one", n)
	}
	if rej := h.emu.RejectedCalls(); len(rej) > 0 {
		t.Errorf("the emulator refused calls: %+v", rej)
	}
}

// A registration a ward made on a family's behalf (through the store) is claimed on Zalo: the
// family presses "🏫 Trường/phường đã đăng ký giúp tôi" under /status, shares its phone from the
// OA's card, types a wrong birth date, then the right one, and sees the child with /status.
func TestServe_Claim_Zalo(t *testing.T) {
	h := newZaloHarness(t, zalotest.Options{}, map[string]string{"ADMIN_TELEGRAM_IDS": "9701"})
	r := campaign.Registration{
		Language: "vi", ParentPhone: "+84939111222", StudentName: "Võ Hoàng Phúc",
		BirthDate: time.Date(2009, 6, 21, 0, 0, 0, 0, time.UTC), Level: campaign.LevelLowerSecondary, Grade: 7,
		School: "Trường THCS Bình Thọ", WardCode: "26800", Address: "18 đường Tô Vĩnh Diện",
		Circumstances: []campaign.Circumstance{campaign.CircumstancePoor}, DeviceSituation: campaign.SituationNone,
		Needs: []campaign.Need{campaign.NeedLaptop}, IdempotencyKey: "assisted-e2e-1", ConsentAt: time.Date(2021, 9, 12, 3, 0, 0, 0, time.UTC),
		Source: campaign.SourceAssisted, RegisteredBy: "telegram:9701", ConsentWitness: "telegram:9701",
	}
	if _, err := postgres.NewRegistrationStore(h.db, campaign.Default()).SubmitRegistration(context.Background(), &r); err != nil {
		t.Fatal(err)
	}

	fam := h.zalo("Ngân")
	if none := fam.say("/status", 1); !strings.Contains(zButtons(none), "#c:cl:start") {
		t.Fatalf("zalo: /status without a registration = %q %s", none.Text, zButtons(none))
	}
	if card := fam.press("cl:start", 2); card.RequestInfo == nil {
		t.Fatalf("zalo: the phone was not asked with request_user_info: %+v", card)
	}
	if _, err := h.zemu.SubmitInfo(fam.id, "Võ Thị Kim Ngân", "0939111222"); err != nil {
		t.Fatal(err)
	}
	got := fam.waitNew(1)
	if offer := got[0].Text + got[len(got)-1].Text; !strings.Contains(offer, "đã đăng ký giúp 1 em") || !strings.Contains(offer, "ngày sinh") {
		t.Fatalf("zalo: the offer = %q", offer)
	}
	if wrong := fam.say("22/06/2009", 1); !strings.Contains(wrong.Text, "còn 2 lần thử") {
		t.Errorf("zalo: a wrong date = %q", wrong.Text)
	}
	if done := fam.say("21/06/2009", 1); !strings.Contains(done.Text, r.Code) || !strings.Contains(done.Text, "Võ Hoàng Phúc") {
		t.Fatalf("zalo: claim = %q", done.Text)
	}
	if status := fam.say("/status", 1); !strings.Contains(status.Text, r.Code) || !strings.Contains(status.Text, "Võ Hoàng Phúc") {
		t.Errorf("zalo: /status after the claim = %q", status.Text)
	}
	reg := h.registration(r.Code)
	if reg.Channel != "zalo" || reg.ChatID != fam.id || reg.ClaimedAt.IsZero() || reg.Source != campaign.SourceAssisted {
		t.Errorf("zalo: claimed registration = %s:%s parent %q claimed %v", reg.Channel, reg.ChatID, reg.ParentName, reg.ClaimedAt)
	}
	if rej := h.emu.RejectedCalls(); len(rej) > 0 {
		t.Errorf("telegram refused calls: %+v", rej)
	}
}
