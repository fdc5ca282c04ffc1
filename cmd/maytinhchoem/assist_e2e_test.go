package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/thuduc/maytinhchoem/bot/zalo/zalotest"
	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// A ward official on Telegram and one on Zalo each register a family on its behalf through the
// real adapters: the consent witnessed in person, the family without a phone (Telegram) or with a
// landline (Zalo), the ward fixed by the official's role. Each record is in PostgreSQL with source
// 'assisted', the official as registrar and witness, and no chat; the officials' own /status
// shows none of them.
func TestServe_AssistedRegistration(t *testing.T) {
	h := newZaloHarness(t, zalotest.Options{}, map[string]string{"ADMIN_TELEGRAM_IDS": "9701"})
	admin := h.parent(9701, "vi")

	tg := h.parent(9710, "vi")
	tg.say("/start "+inviteWard(t, admin, "ward_official", "26800"), 1)

	admin.sayUntil("/invite", hasButton("s:role:ward_official"))
	admin.pressUntil("s:role:ward_official", has("phường nào"))
	link := admin.sayUntil("thảo điền", has("/start inv_")) // the ward typed: it is not on the first page
	m := regexp.MustCompile(`(/start inv_[A-Za-z0-9_-]+)`).FindStringSubmatch(link.Text)
	if m == nil {
		t.Fatalf("no invitation in:\n%s", link.Text)
	}
	zl := h.zalo("Điền")
	zl.say(m[1], 1)

	// Telegram: a family without a phone.
	if got := tg.say("/assist", 1); !strings.Contains(got.Text, "Xin đọc cho cha, mẹ") || !strings.Contains(buttonsOf(got), "as:consent:yes") {
		t.Fatalf("telegram: /assist gave %q", buttonsOf(got))
	}
	tg.press("as:consent:yes", 1)
	tg.say("Nguyễn Thị Lan", 1)
	tg.press("as:phone:!none", 1)
	tg.say("Trần Minh Khang, 05/09/2012", 1)
	tg.say("lớp 3, Tiểu học Linh Trung", 1)
	tg.say("12 đường số 5, khu phố 3", 1)
	tg.say("hộ nghèo", 1)
	tg.press("as:device_situation:none", 1)
	review := tg.say("laptop", 1)
	for _, want := range []string{"Phường Linh Trung", "Không có điện thoại", "Trần Minh Khang"} {
		if !strings.Contains(review.Text, want) {
			t.Errorf("telegram: review lacks %q:\n%s", want, review.Text)
		}
	}
	done := tg.press("as:review:submit", 1)
	tgCode := regexp.MustCompile(`TD-\d{6}`).FindString(done.Text)
	if tgCode == "" || !strings.Contains(buttonsOf(done), "aa:next") {
		t.Fatalf("telegram: submit gave %q", buttonsOf(done))
	}

	// Zalo: a family with a landline, in Thảo Điền.
	consent := zl.say("/assist", 1)
	if !strings.Contains(zButtons(consent), "#c:as:consent:yes") {
		t.Fatalf("zalo: /assist gave %q %s", consent.Text, zButtons(consent))
	}
	zl.press("as:consent:yes", 1)
	zl.say("Phạm Văn Tư", 1)
	zl.say("028 3896 1234", 1)
	zl.say("Phạm Gia Huy, 17/03/2009", 1)
	zl.say("7, THCS Thảo Điền", 1)
	zl.say("45/2 đường số 9, khu phố 1", 1)
	zl.say("cận nghèo, khó khăn do covid", 1) // a list typed: the question is done at once
	zl.press("as:device_situation:shares_phone", 1)
	zreview := zl.say("máy tính bảng, sim 4g", 1)
	for _, want := range []string{"Phường Thảo Điền", "028 3896 1234", "Phạm Gia Huy"} {
		if !strings.Contains(zreview.Text, want) {
			t.Errorf("zalo: review lacks %q:\n%s", want, zreview.Text)
		}
	}
	zdone := zl.pick("✅ Gửi đăng ký", 1)
	zCode := regexp.MustCompile(`TD-\d{6}`).FindString(zdone.Text)
	if zCode == "" {
		t.Fatalf("zalo: no code in %q", zdone.Text)
	}

	regs := postgres.NewRegistrationStore(h.db, campaign.Default())
	for _, want := range []struct {
		code, by, ward, phone, student string
	}{
		{tgCode, "telegram:9710", "26800", "", "Trần Minh Khang"},
		{zCode, "zalo:" + zl.id, "27088", "+842838961234", "Phạm Gia Huy"},
	} {
		r, err := regs.ByCode(context.Background(), want.code)
		if err != nil {
			t.Fatal(err)
		}
		if r.Source != campaign.SourceAssisted || r.RegisteredBy != want.by || r.ConsentWitness != want.by {
			t.Errorf("%s: source %q, by %q, witness %q; want assisted by %s", want.code, r.Source, r.RegisteredBy, r.ConsentWitness, want.by)
		}
		if r.Channel != "" || r.ChatID != "" || r.ParentPhone != want.phone || r.WardCode != want.ward || r.StudentName != want.student {
			t.Errorf("%s: chat %q/%q, phone %q, ward %q, student %q", want.code, r.Channel, r.ChatID, r.ParentPhone, r.WardCode, r.StudentName)
		}
		if r.ConsentAt.IsZero() || r.Status != campaign.StatusSubmitted {
			t.Errorf("%s: consent %v, status %s", want.code, r.ConsentAt, r.Status)
		}
	}
	if n := h.count(); n != 2 {
		t.Errorf("registrations = %d, want 2", n)
	}
	// Neither official sees the family's child as their own.
	if got := tg.say("/status", 1); strings.Contains(got.Text, tgCode) {
		t.Errorf("telegram: the official's /status shows %s: %q", tgCode, got.Text)
	}
	if got := zl.say("/status", 1); strings.Contains(got.Text, zCode) {
		t.Errorf("zalo: the official's /status shows %s: %q", zCode, got.Text)
	}
	if rej := h.emu.RejectedCalls(); len(rej) > 0 {
		t.Errorf("the emulator refused calls: %+v", rej)
	}
}
