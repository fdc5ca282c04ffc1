package flows

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/campaign/campaigntest"
)

func TestSummary_CityAndWardScopes(t *testing.T) {
	progress := &campaigntest.Progress{Campaign: campaign.Default()}
	c := newChatWith(t, func(cfg *Config) { cfg.Progress = progress })
	c.now = time.Date(2021, 9, 20, 10, 0, 0, 0, time.UTC) // 17:00 in Thủ Đức
	c.staff.Add(officialID, "Phạm Thị Mai", campaign.RoleCityOfficial, "")
	c.staff.Add(wardOffID, "Phạm Thị Phường", campaign.RoleWardOfficial, wardLT)
	c.become(officialID, "vi")
	text := allText(c.send(cmd("summary")))
	for _, want := range []string{
		"ngày 20/30 của chiến dịch", "Đăng ký: 2.950 / 3.200 em  ▓▓▓▓▓▓▓▓▓░ 92%",
		"mới hôm nay 45 · đã duyệt 2.400 · không duyệt 120 · chờ xác minh 425 · gia đình rút 5",
		"Nguồn: tự đăng ký 2.100 · danh sách trường/phường 800 · cán bộ đăng ký giúp 50",
		"Trường có nhiều em đăng ký nhất:\n1. THCS Linh Trung: 590 em\n2. Trường Tiểu học Linh Xuân: 280 em\n",
		"5. THCS Trương Văn Ngư: 250 em\n… và 2 trường khác\n",
		"800 Laptop", "1.250.000.000 đ", "900.000.000 đ", "sẵn sàng 300",
		"Hôm nay: Trao tặng thiết bị", "Mốc tiếp theo: Báo cáo tổng kết (01/10, còn 11 ngày)",
		"… và 24 phường khác",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("city summary lacks %q:\n%s", want, text)
		}
	}
	// The plan: 2,400 verified spread over 17-30/9, 4 of 14 days by the 20th.
	planned := campaign.Default().PlannedDeliveries(c.now, 2400)
	if !strings.Contains(text, "Số em đã được trao (máy, SIM hoặc gói cước): 940 / kế hoạch "+campaign.FormatVND(int64(planned))[:len(campaign.FormatVND(int64(planned)))-len(" đ")]) {
		t.Errorf("the plan %d is not in:\n%s", planned, text)
	}
	// The widest gap first: the last ward of the file has the widest (80+i − (30+2i) shrinks with i).
	first := campaign.Default().Wards[0]
	if i := strings.Index(text, "1. "+first.Name+": 50 em"); i < 0 {
		t.Errorf("the first ward line is not %s with a gap of 50:\n%s", first.Name, text)
	}
	if n := utf8.RuneCountInString(text); n > 3500 {
		t.Errorf("the summary is %d characters", n)
	}
	c.become(wardOffID, "en")
	text = allText(c.send(cmd("summary")))
	if progress.Scopes()[1] != wardLT || !strings.Contains(text, "Linh Trung Ward") || strings.Contains(text, "/ 3,200") ||
		!strings.Contains(text, "Registrations: 2,950") {
		t.Errorf("ward summary (scope %q):\n%s", progress.Scopes()[1], text)
	}
	c.become("3101", "vi")
	c.send(cmd("summary"))
	if len(progress.Scopes()) != 2 || len(c.audit.Refused()) != 1 {
		t.Errorf("a parent got a summary: scopes %q, refusals %d", progress.Scopes(), len(c.audit.Refused()))
	}
}

func TestSummary_ChartAndFailures(t *testing.T) {
	progress := &campaigntest.Progress{Campaign: campaign.Default()}
	dir := t.TempDir()
	var drawn []string
	c := newChatWith(t, func(cfg *Config) {
		cfg.Progress = progress
		cfg.Chart = func(_ context.Context, p campaign.Progress, lang string) (string, error) {
			drawn = append(drawn, lang+" "+p.Date.Format("2006-01-02"))
			path := filepath.Join(dir, "chart.png")
			return path, os.WriteFile(path, []byte("png"), 0o600)
		}
	})
	c.now = time.Date(2021, 9, 20, 10, 0, 0, 0, time.UTC)
	c.staff.Add(officialID, "Phạm Thị Mai", campaign.RoleCityOfficial, "")
	c.become(officialID, "vi")
	out := c.send(cmd("summary"))
	if len(out) != 2 || out[1].File == nil || out[1].File.Name != "tien-do-20210920.png" || !out[1].File.Remove ||
		len(drawn) != 1 || drawn[0] != "vi 2021-09-20" {
		t.Errorf("summary with a chart:%s (drawn %q)", dump(out), drawn)
	}
	progress.Err = errors.New("timeout")
	if _, err := c.trySend(cmd("summary")); err == nil {
		t.Error("a store failure was not returned")
	}
}

func TestSummary_BeforeAndAfterTheWindow(t *testing.T) {
	progress := &campaigntest.Progress{Campaign: campaign.Default()}
	c := newChatWith(t, func(cfg *Config) { cfg.Progress = progress })
	c.staff.Add(officialID, "Phạm Thị Mai", campaign.RoleCityOfficial, "")
	c.become(officialID, "vi")
	c.now = time.Date(2021, 8, 29, 17, 0, 0, 0, time.UTC) // 30/8 00:00 in Thủ Đức
	if text := allText(c.send(cmd("summary"))); !strings.Contains(text, "còn 2 ngày đến khi chiến dịch bắt đầu") {
		t.Errorf("before the window:\n%s", text)
	}
	c.now = time.Date(2021, 10, 2, 3, 0, 0, 0, time.UTC)
	if text := allText(c.send(cmd("summary"))); !strings.Contains(text, "chiến dịch đã kết thúc") || !strings.Contains(text, "Đã qua mọi mốc") {
		t.Errorf("after the window:\n%s", text)
	}
}

// The summary's two delivery figures, children reached and devices handed over, differ (a child
// may get a SIM or a package, a device may go to a school) and are named differently: an official
// once read "đã trao" for both.
func TestSummary_DeliveryFiguresHaveTheirOwnNames(t *testing.T) {
	e := newChat(t).e
	for _, lang := range []string{langVI, langEN} {
		children := msg(e, lang, "summary.deliveries", "Delivered", "7")
		devices := msg(e, lang, "summary.devices", "Received", "1", "InWork", "2", "Ready", "3", "Allocated", "4", "Delivered", "5")
		label := strings.TrimSpace(strings.Split(strings.TrimPrefix(children, "🚚"), ":")[0])
		if label == "" || strings.Contains(strings.ToLower(devices), strings.ToLower(label)) {
			t.Errorf("%s: the children's figure %q and the devices' line %q share the name %q", lang, children, devices, label)
		}
		if strings.Contains(devices, "đã trao") {
			t.Errorf("%s: the devices' line still says 'đã trao': %q", lang, devices)
		}
	}
}
