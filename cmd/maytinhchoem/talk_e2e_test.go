package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/thuduc/maytinhchoem/bot/zalo/zalotest"
)

// Families on both channels write to their ward's official (here on Zalo) through the real
// adapters: the message reaches the official at once and the case shows it in /verify; after the
// registration window closes, registering is refused on both channels with whom to reach, while
// the official goes on working.
func TestServe_FamiliesTalkToTheWardAndTheWindowCloses(t *testing.T) {
	clk := newTestClock(saigonTime("2021-09-10T09:00"))
	h := newZaloHarnessAt(t, zalotest.Options{}, clk.clock(), map[string]string{"ADMIN_TELEGRAM_IDS": "9601"})
	admin := h.parent(9601, "vi")
	admin.say("/invite", 1)
	admin.press("s:role:ward_official", 1)
	link := admin.press("s:ward:26800", 1) // Linh Trung, the ward the robots' children live in
	m := regexp.MustCompile(`(/start inv_[A-Za-z0-9_-]+)`).FindStringSubmatch(link.Text)
	if m == nil {
		t.Fatalf("no invitation in:\n%s", link.Text)
	}
	official := h.zalo("Bảo")
	official.say(m[1], 1)

	// A Telegram family: typed words reach the same place as the button.
	fam := h.parent(9602, "vi")
	toStudentName(fam)
	fam.answerChild(child{name: "Lê Bảo Ngọc"})
	tgCode := regexp.MustCompile(`TD-\d{6}`).FindString(fam.press("r:review:submit", 1).Text)
	if got := fam.say("Cho tôi nói chuyện với cán bộ", 1); !strings.Contains(got.Text, tgCode) {
		t.Fatalf("telegram: asking for an official got %q", got.Text)
	}
	fam.say("Nhà tôi đã chuyển sang số 8 đường 12, xin cán bộ gọi lại", 1)
	if got := official.waitNew(1)[0]; !strings.Contains(got.Text, "số 8 đường 12") || !strings.Contains(zButtons(got), "#c:v:back:"+tgCode) {
		t.Fatalf("zalo official got %q %s", got.Text, zButtons(got))
	}

	// A Zalo family, through the button.
	zfam := h.zalo("Hoa")
	zCode := zfam.register(t, child{name: "Phạm Gia Huy"})
	zfam.say("/start", 1)
	zfam.press("g:talk", 1)
	zfam.say("Con tôi cần máy trước ngày 20", 1)
	if got := official.waitNew(1)[0]; !strings.Contains(got.Text, "Con tôi cần máy trước ngày 20") || !strings.Contains(got.Text, zCode) {
		t.Fatalf("zalo official got %q", got.Text)
	}
	shown := official.say("/verify", 1)
	if !strings.Contains(shown.Text, "✉️") || !(strings.Contains(shown.Text, tgCode) || strings.Contains(shown.Text, zCode)) {
		t.Fatalf("zalo: /verify shows %q", shown.Text)
	}

	// The window closes: both channels are told, with the ward office and the hotline.
	clk.set(saigonTime("2021-10-01T08:00"))
	for name, got := range map[string]string{
		"telegram": fam.press("g:register", 1).Text,
		"zalo":     zfam.say("/start dangky", 1).Text,
	} {
		if !strings.Contains(got, "ngừng nhận đăng ký sau ngày 30/09/2021") || !strings.Contains(got, "UBND Phường Linh Trung") || !strings.Contains(got, "1022") {
			t.Errorf("%s after the window: %q", name, got)
		}
	}
	if shown := official.say("/verify", 1); !strings.Contains(shown.Text, "TD-") {
		t.Errorf("zalo: /verify after the window shows %q", shown.Text)
	}
}
