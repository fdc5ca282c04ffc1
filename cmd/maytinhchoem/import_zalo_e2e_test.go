package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/thuduc/maytinhchoem/bot/telegram/telegramtest"
	"github.com/thuduc/maytinhchoem/bot/zalo/zalotest"
)

// listHeader is the header of the lists the tests send, as the template writes it.
const listHeader = "STT,Họ và tên học sinh,Ngày sinh,Lớp,Trường,Phường,Địa chỉ,Họ tên phụ huynh,Số điện thoại,Hoàn cảnh,Tình trạng thiết bị,Nhu cầu\n"

// goodRows writes n children of ward 26800, each a different child, numbered from first.
func goodRows(b *strings.Builder, first, n int) {
	family := []string{"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng"}
	middle := []string{"Văn", "Thị", "Minh", "Ngọc", "Thanh", "Quốc", "Gia", "Bảo", "Hoài", "Đức"}
	given := strings.Fields("An Bình Chi Dũng Giang Hà Hải Hùng Khang Khoa Lan Linh Long Mai Nam Nga Ngân Nhi Phong Phúc Quân Quang Sơn Tâm Thảo Thắng Thư Tiến Trang Trí Trung Tú Tuấn Uyên Vân Việt Vinh Xuân Yến Đạt Hiếu Hòa Kiên Lộc Mạnh Nhân Phương Tài Thịnh Toàn")
	for i := range n {
		birth := time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%360)
		fmt.Fprintf(b, "%d,%s %s %s,%s,6A,Trường THCS Linh Trung,26800,12 đường số 5,,,hộ nghèo,dùng chung điện thoại,laptop\n",
			first+i, family[i%10], middle[(i/10)%10], given[(i/100)%50], birth.Format("02/01/2006"))
	}
}

// zaloLink is the download link in a Zalo message (a file Zalo cannot carry), fetched: its bytes.
var zaloLink = regexp.MustCompile(`https?://\S+/files/[A-Za-z0-9_%-]+`)

func fetchLink(t *testing.T, m zalotest.Message) []byte {
	t.Helper()
	url := zaloLink.FindString(m.Text)
	if url == "" {
		t.Fatalf("zalo: no download link in %q", m.Text)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d %v", url, resp.StatusCode, err)
	}
	return data
}

// sheetRows reads the first sheet of a workbook as lines of cells joined by " | ".
func sheetRows(t *testing.T, data []byte) []string {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a workbook: %v", err)
	}
	defer func() { _ = f.Close() }()
	rows, err := f.GetRows(f.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = strings.Join(r, " | ")
	}
	return out
}

// A ward official on Zalo imports a list: /import gives the help and the template as a download
// link; the list sent as a file (user_send_file) is downloaded from Zalo's CDN, read and stored;
// the report counts each kind of row and the refused rows come back as a workbook behind a link.
// The list has over 500 rows, and Zalo cannot edit a message: no progress message is sent.
func TestServe_ImportOnZalo(t *testing.T) {
	h := newZaloHarness(t, zalotest.Options{}, map[string]string{"ADMIN_TELEGRAM_IDS": "9601"})
	family := h.zalo("Lan")
	chatCode := family.register(t, child{name: "Trần Minh Khang"})

	admin := h.parent(9601, "vi")
	admin.say("/invite", 1)
	admin.press("s:role:ward_official", 1)
	invitation := admin.press("s:ward:26800", 1)
	m := regexp.MustCompile(`(/start inv_[A-Za-z0-9_-]+)`).FindStringSubmatch(invitation.Text)
	if m == nil {
		t.Fatalf("no Zalo invitation in:\n%s", invitation.Text)
	}
	official := h.zalo("Bảo")
	if got := official.say(m[1], 1); !strings.Contains(got.Text, "Cán bộ phường") {
		t.Fatalf("zalo: redeeming = %q", got.Text)
	}

	if _, err := h.zemu.SendText(official.id, "/import"); err != nil {
		t.Fatal(err)
	}
	help := official.waitNew(2)
	if len(help) != 2 || !strings.Contains(help[0].Text, "Gửi danh sách học sinh") || !strings.Contains(help[1].Text, "mau-danh-sach-hoc-sinh.xlsx") {
		t.Fatalf("zalo: /import = %q", zTexts(help))
	}
	if template := sheetRows(t, fetchLink(t, help[1])); len(template) < 2 || !strings.Contains(template[0], "Họ và tên học sinh") {
		t.Errorf("the template = %q", template)
	}

	var list strings.Builder
	list.WriteString(listHeader)
	goodRows(&list, 1, 600)
	list.WriteString("601,Phạm Văn Bình,31/02/2010,6A,Trường THCS Linh Trung,26800,7 đường số 9,,,hộ nghèo,,laptop\n" +
		"602,Lê Văn Tư,12/03/2010,6A,Trường THCS Linh Trung,Phường Không Tồn Tại,7 đường số 9,,,hộ nghèo,,laptop\n" +
		"603,Võ Thị Mai,12/04/2010,6A,Trường THCS Linh Trung,26800,7 đường số 9,Võ Văn Ba,028 3896 1234,hộ nghèo,,laptop\n" +
		"604,Trần Minh Khang,05/09/2009,7,Trường THCS Linh Trung,26800,12 đường số 5,,,mồ côi,,laptop\n")
	if _, err := h.zemu.SendFileData(official.id, "danh-sach-linh-trung.csv", []byte(list.String())); err != nil {
		t.Fatal(err)
	}
	got := official.waitNew(3) // the report, then the refused rows' caption and their link
	if len(got) != 3 {
		t.Fatalf("zalo: the list was answered with %q", zTexts(got))
	}
	report := got[0].Text
	for _, want := range []string{"đọc 604 dòng", "Đã nhận: 600", "Đã có trong hệ thống: 1", "Cần sửa: 3",
		"Dòng 605: " + chatCode, "Dòng 602: Ngày này không có trong lịch", "Dòng 603: không có phường «Phường Không Tồn Tại»",
		"Dòng 604: Đây là số máy bàn"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	for _, m := range got {
		if strings.Contains(m.Text, "⏳") || strings.Contains(m.Text, "Đã xử lý xong") {
			t.Errorf("zalo: a progress message was sent: %q", m.Text)
		}
	}
	if !strings.Contains(got[1].Text, "Các dòng cần sửa (3)") || !strings.Contains(got[2].Text, "-can-sua.xlsx") {
		t.Errorf("zalo: the refused rows came as %q", zTexts(got[1:]))
	}
	refused := sheetRows(t, fetchLink(t, got[2]))
	if len(refused) != 4 || !strings.HasPrefix(refused[0], "Dòng | STT | Họ và tên học sinh") ||
		!strings.HasPrefix(refused[1], "602 | 601 | Phạm Văn Bình | 31/02/2010") || !strings.Contains(refused[3], "số máy bàn") {
		t.Errorf("the refused rows' workbook = %q", refused)
	}
	if n := h.zemu.CDNDownloads(); n != 1 {
		t.Errorf("the list was downloaded %d times, want once", n)
	}

	// In PostgreSQL: the 600 children of the list, sent by the official on Zalo, beside the chat's.
	if n := h.count(); n != 601 {
		t.Errorf("registrations = %d, want 601", n)
	}
	var fromList, rows int
	var sentBy string
	db, err := sql.Open("postgres", h.env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.QueryRowContext(context.Background(),
		`SELECT count(*), count(DISTINCT list_row), min(registered_by) FROM registrations WHERE source = 'list' AND channel = '' AND chat_id = ''`).
		Scan(&fromList, &rows, &sentBy)
	if err != nil {
		t.Fatal(err)
	}
	if fromList != 600 || rows != 600 || sentBy != "zalo:"+official.id {
		t.Errorf("list registrations = %d (%d rows) by %q, want 600 by zalo:%s", fromList, rows, sentBy, official.id)
	}
	// The list's first child (row 2, under the header), as the chat form would have stored it.
	var name, ward, school string
	var grade int
	err = db.QueryRowContext(context.Background(), `SELECT s.full_name, r.ward_code, r.grade, r.school FROM registrations r
		JOIN students s ON s.id = r.student_id JOIN import_lists l ON l.id = r.list_id WHERE r.list_row = 2 AND l.sent_by = $1`, "zalo:"+official.id).Scan(&name, &ward, &grade, &school)
	if err != nil {
		t.Fatal(err)
	}
	if name != "Nguyễn Văn An" || ward != "26800" || grade != 6 || school != "Trường THCS Linh Trung" {
		t.Errorf("the list's first child = %q %q %d %q", name, ward, grade, school)
	}

	// The same file again changes nothing, and is downloaded again (a Zalo link is read each time).
	if _, err := h.zemu.SendFileData(official.id, "danh-sach-linh-trung.csv", []byte(list.String())); err != nil {
		t.Fatal(err)
	}
	if again := official.waitNew(3)[0].Text; !strings.Contains(again, "Đã nhận: 0") || !strings.Contains(again, "đã được gửi trước đây") {
		t.Errorf("resend report:\n%s", again)
	}
	if n := h.count(); n != 601 {
		t.Errorf("after the resend, registrations = %d, want 601", n)
	}
	if rej := h.emu.RejectedCalls(); len(rej) > 0 {
		t.Errorf("telegram refused calls: %+v", rej)
	}
}

// A file the CDN no longer has (the link expired) is answered politely: nothing is stored.
func TestServe_ImportOnZalo_linkGone(t *testing.T) {
	h := newZaloHarness(t, zalotest.Options{}, map[string]string{"ADMIN_TELEGRAM_IDS": "9611"})
	admin := h.parent(9611, "vi")
	official := h.zalo("Bảo")
	admin.say("/invite", 1)
	admin.press("s:role:ward_official", 1)
	m := regexp.MustCompile(`(/start inv_[A-Za-z0-9_-]+)`).FindStringSubmatch(admin.press("s:ward:26800", 1).Text)
	if m == nil {
		t.Fatal("no Zalo invitation")
	}
	official.say(m[1], 1)
	raw := fmt.Appendf(nil, `{"app_id":"3066178286528016436","event_name":"user_send_file","timestamp":"%d","sender":{"id":%q},`+
		`"recipient":{"id":"4318927402956107562"},"message":{"msg_id":"gone-1","attachments":[{"type":"file","payload":`+
		`{"size":"120","name":"danh-sach.csv","checksum":"x","type":"csv","url":"%s/zalo/cdn/EXPIRED/danh-sach.csv?sig=s3cr3t"}}]}}`,
		h.clk.Now().UnixMilli(), official.id, h.env["ZALO_API_URL"])
	h.zemu.InjectRaw(raw, true)
	if got := official.waitNew(1)[0].Text; !strings.Contains(got, "Không đọc được tệp «danh-sach.csv»") {
		t.Errorf("zalo: a gone file was answered %q", got)
	}
	if n := h.count(); n != 0 {
		t.Errorf("registrations = %d, want 0", n)
	}
	if strings.Contains(h.logs.String(), "s3cr3t") {
		t.Error("the log holds the link's query")
	}
}

// A long list on Telegram shows its progress in one message, sent once and edited in place (the
// last edit says it is done) before the report; Telegram refuses nothing and throttles nothing.
func TestServe_ImportProgressOnTelegram(t *testing.T) {
	h := newHarnessWithLimits(t, telegramtest.Limits{}, map[string]string{"ADMIN_TELEGRAM_IDS": "5101",
		"SEND_RATE_GLOBAL": "30", "SEND_RATE_PER_CHAT": "1"})
	admin := h.parent(5101, "vi")
	official := h.parent(5110, "vi")
	official.say("/start "+inviteWard(t, admin, "ward_official", "26800"), 1)

	var list strings.Builder
	list.WriteString(listHeader)
	goodRows(&list, 1, 3000)
	edits := h.emu.Calls("editMessageText")
	h.emu.SendDocumentWith(official.chat, official.user, "danh-sach-3000.csv", []byte(list.String()))
	var progress, report telegramtest.Message
	for report.Text == "" {
		for _, m := range official.waitNew(1) {
			switch {
			case strings.Contains(m.Text, "📋 Danh sách"):
				report = m
			case strings.HasPrefix(m.Text, "⏳") || strings.HasPrefix(m.Text, "✅ Đã xử lý xong"):
				if progress.MessageID != 0 {
					t.Errorf("a second progress message: %q after %q", m.Text, progress.Text)
				}
				progress = m
			}
		}
	}
	if !strings.Contains(report.Text, "Đã nhận: 3000") {
		t.Errorf("report:\n%s", report.Text)
	}
	// The message as it stands now: edited to its last text.
	msgs := h.emu.Messages(official.chat)
	var final telegramtest.Message
	for _, m := range msgs {
		if m.MessageID == progress.MessageID {
			final = m
		}
	}
	if progress.MessageID == 0 || final.Text != "✅ Đã xử lý xong 3000 dòng." || !final.Edited || final.MessageID > report.MessageID {
		t.Errorf("progress message = %+v, want one sent before the report and edited to its end", final)
	}
	if n := h.emu.Calls("editMessageText") - edits; n < 1 {
		t.Errorf("%d edits, want at least 1", n)
	} else {
		t.Logf("the progress message was edited %d times", n)
	}
	if rej := h.emu.RejectedCalls(); len(rej) > 0 {
		t.Errorf("the emulator refused calls: %+v", rej)
	}
	if n := h.emu.Metrics().TooManyRequests; n > 0 {
		t.Errorf("%d calls were throttled", n)
	}
	if n := h.count(); n != 3000 {
		t.Errorf("registrations = %d, want 3000", n)
	}
}

func zTexts(msgs []zalotest.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Text
	}
	return out
}
