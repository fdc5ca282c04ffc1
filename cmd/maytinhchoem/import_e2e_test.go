package main

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/thuduc/maytinhchoem/bot/telegram/telegramtest"
	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// A ward official sends a list on Telegram: /import gives the template, and the file sent back
// is downloaded (getFile), read, checked row by row and stored; the report counts each kind of
// row, and the child already registered through the chat is not added again.
func TestServe_Import(t *testing.T) {
	h := newHarness(t, map[string]string{"ADMIN_TELEGRAM_IDS": "5001"})
	family := h.parent(1001, "vi")
	family.registerUntilReview("Trần Minh Khang")
	if done := family.press("r:review:submit", 1); !strings.Contains(done.Text, "TD-000001") {
		t.Fatalf("submit reply = %q, want TD-000001", done.Text)
	}

	admin := h.parent(5001, "vi")
	official := h.parent(5010, "vi")
	official.say("/start "+inviteWard(t, admin, "ward_official", "26800"), 1)

	template := official.sayUntil("/import", func(m telegramtest.Message) bool { return m.Method == "sendDocument" })
	if !strings.HasSuffix(template.Document, ".xlsx") || len(template.FileData) == 0 {
		t.Fatalf("/import sent %q (%d bytes), want the template", template.Document, len(template.FileData))
	}

	list := "STT,Họ và tên học sinh,Ngày sinh,Lớp,Trường,Phường,Địa chỉ,Họ tên phụ huynh,Số điện thoại,Hoàn cảnh,Tình trạng thiết bị,Nhu cầu\n" +
		"1,Lê Thị Hoa,12/03/2013,2,Trường Tiểu học Linh Trung,26800,5 đường số 9,Lê Văn Tư,,hộ nghèo,,máy tính bảng\n" +
		"2,Phạm Văn Bình,31/02/2013,2,Trường Tiểu học Linh Trung,26800,7 đường số 9,,,hộ nghèo,,máy tính bảng\n" +
		"3,Trần Minh Khang,05/09/2012,3,Trường Tiểu học Linh Trung,26800,12 đường số 5,,,hộ nghèo,,máy tính bảng\n"
	h.emu.SendDocumentWith(official.chat, official.user, "danh-sach-linh-trung.csv", []byte(list))
	var report, refusedFile telegramtest.Message
	for report.Text == "" || refusedFile.Method == "" {
		for _, m := range official.waitNew(1) {
			switch {
			case strings.Contains(m.Text, "📋 Danh sách"):
				report = m
			case m.Method == "sendDocument":
				refusedFile = m
			}
		}
	}
	for _, want := range []string{"đọc 3 dòng", "Đã nhận: 1", "Đã có trong hệ thống: 1", "Cần sửa: 1",
		"Dòng 4: TD-000001", "Dòng 3: Ngày này không có trong lịch"} {
		if !strings.Contains(report.Text, want) {
			t.Errorf("report lacks %q:\n%s", want, report.Text)
		}
	}
	if !strings.HasSuffix(refusedFile.Document, "-can-sua.xlsx") || len(refusedFile.FileData) == 0 {
		t.Errorf("refused rows file = %q (%d bytes)", refusedFile.Document, len(refusedFile.FileData))
	}

	regs := postgres.NewRegistrationStore(h.db, campaign.Default())
	reg, err := regs.ByCode(context.Background(), "TD-000002")
	if err != nil {
		t.Fatal(err)
	}
	if reg.StudentName != "Lê Thị Hoa" || reg.WardCode != "26800" || reg.Grade != 2 || reg.ParentName != "Lê Văn Tư" {
		t.Errorf("stored row = %+v", reg)
	}
	db, err := sql.Open("postgres", h.env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var source string
	if err := db.QueryRowContext(context.Background(), `SELECT source FROM registrations WHERE code = $1`, "TD-000002").Scan(&source); err != nil {
		t.Fatal(err)
	}
	if source != string(campaign.SourceList) {
		t.Errorf("source = %q, want %q", source, campaign.SourceList)
	}
	if n := h.count(); n != 2 {
		t.Errorf("registrations = %d, want 2 (the chat's and the list's good row)", n)
	}
	if rej := h.emu.RejectedCalls(); len(rej) > 0 {
		t.Errorf("the emulator refused calls: %+v", rej)
	}
}
