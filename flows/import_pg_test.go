package flows

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/chat"
	"github.com/thuduc/maytinhchoem/export"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	"github.com/thuduc/maytinhchoem/storage/postgres/postgrestest"
)

// bytesFiles opens files kept in memory, as a channel's download would.
type bytesFiles map[string][]byte

func (f bytesFiles) OpenFile(_ context.Context, _, id string) (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(f[id])), nil
}

// schoolList writes a workbook of n children with a merged title above the header, an extra
// column, dates as Excel serials and as text, and the bad rows the report must name.
func schoolList(t testing.TB, camp *campaign.Campaign, n int, chatChild []string) []byte {
	t.Helper()
	f := excelize.NewFile()
	sh := f.GetSheetName(0)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.SetCellValue(sh, "A1", "DANH SÁCH HỌC SINH CHƯA CÓ THIẾT BỊ HỌC TRỰC TUYẾN"))
	must(f.MergeCell(sh, "A1", "M1"))
	header := []any{"STT", "Họ và tên học sinh", "Ngày sinh", "Lớp", "Trường", "Phường", "Địa chỉ",
		"Họ tên phụ huynh", "Số điện thoại", "Hoàn cảnh", "Tình trạng thiết bị", "Nhu cầu", "Ghi chú"}
	must(f.SetSheetRow(sh, "A2", &header))
	family := []string{"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng"}
	middle := []string{"Văn", "Thị", "Minh", "Ngọc", "Thanh", "Quốc", "Gia", "Bảo", "Hoài", "Đức"}
	given := strings.Fields("An Bình Chi Dũng Giang Hà Hải Hùng Khang Khoa Lan Linh Long Mai Nam Nga Ngân Nhi Phong Phúc Quân Quang Sơn Tâm Thảo Thắng Thư Tiến Trang Trí Trung Tú Tuấn Uyên Vân Việt Vinh Xuân Yến Đạt Hiếu Hòa Kiên Lộc Mạnh Nhân Phương Tài Thịnh Toàn")
	ward := camp.Wards[0]
	for i := range n {
		r := i + 3
		name := fmt.Sprintf("%s %s %s", family[i%10], middle[(i/10)%10], given[(i/100)%50])
		birth := time.Date(2010, time.Month(1+i%12), 1+(i/12)%28, 0, 0, 0, 0, time.UTC)
		var date any = (birth.Sub(time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)).Hours() / 24)
		if i%2 == 1 {
			date = birth.Format("02/01/2006")
		}
		row := []any{i + 1, name, date, "6A", "Trường THCS Linh Trung", ward.Code, "12 đường số 5, KP3",
			"", "0912345678", "hộ nghèo, covid", "dùng chung điện thoại", "laptop, sim 4g", "ghi chú"}
		switch i {
		case 10:
			row[2] = "31/02/2010" // no such day
		case 20:
			row[3] = "13" // no grade 13
		case 30:
			row[5] = "Phường Không Tồn Tại"
		case 40:
			row[1], row[2] = fmt.Sprintf("%s %s %s", family[0], middle[0], given[0]), "01/01/2010" // row 3's child again
		case 50:
			row[1], row[2], row[5] = chatChild[0], chatChild[1], chatChild[2]
		case 60:
			row[8] = "028 3896 1234" // a landline
		case 70:
			row[1] = ""
		}
		cell, _ := excelize.CoordinatesToCellName(1, r)
		must(f.SetSheetRow(sh, cell, &row))
	}
	var b bytes.Buffer
	must(f.Write(&b))
	return b.Bytes()
}

func TestImportList_SchoolListPostgres(t *testing.T) {
	db := postgrestest.NewDB(t)
	now := time.Date(2021, 9, 15, 2, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	camp := campaign.Default()
	regs := postgres.NewRegistrationStore(db, camp)
	ward := camp.Wards[0]
	parent := campaign.Registration{Channel: "telegram", ChatID: "1001", ParentName: "Lê Thị Hoa", ParentPhone: "+84912345678",
		StudentName: "Trần Minh Khang", BirthDate: time.Date(2010, 9, 5, 0, 0, 0, 0, time.UTC), Level: campaign.LevelLowerSecondary,
		Grade: 6, School: "THCS Linh Trung", WardCode: ward.Code, Address: "12 đường số 5", DeviceSituation: campaign.SituationNone,
		Needs: []campaign.Need{campaign.NeedLaptop}, IdempotencyKey: "chat-1", ConsentAt: now}
	if _, err := regs.SubmitRegistration(context.Background(), &parent); err != nil {
		t.Fatal(err)
	}
	const n = 5000
	files := bytesFiles{"f1": schoolList(t, camp, n, []string{"Trần Minh Khang", "05/09/2010", ward.Code})}
	c := newChatWith(t, func(cfg *Config) {
		cfg.Lists, cfg.ListReader, cfg.Files = postgres.NewListStore(db, camp), export.ListReader{Dir: t.TempDir()}, files
	})
	c.sess.ChatID, c.userID = testAdmin, testAdmin
	c.now = now
	doc := Input{Kind: KindOther, Document: &chat.Document{Name: "danh-sach.xlsx", FileID: "f1"}}
	start := time.Now()
	out := c.send(doc)
	t.Logf("%d rows imported in %v", n, time.Since(start))
	text := allText(out)
	for _, want := range []string{
		"📋 Danh sách DS-000001: đọc 5000 dòng.", "✅ Đã nhận: 4993 (chờ xác minh)", "🔁 Đã có trong hệ thống: 1", "❌ Cần sửa: 6",
		"Dòng 13: Ngày này không có", "Dòng 23:", "Dòng 33: không có phường «Phường Không Tồn Tại»",
		"Dòng 43: trùng với dòng 3 trong tệp", "Dòng 53: " + parent.Code, "Dòng 63:", "Dòng 73: thiếu họ và tên học sinh",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	if len(out) != 2 || out[1].File == nil {
		t.Errorf("want the report and the file of refused rows, got %d outputs", len(out))
	}
	count := func() int {
		n, err := regs.Count(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := count(); got != 4994 {
		t.Errorf("%d registrations, want 4993 from the list and 1 from a chat", got)
	}
	// The same file again adds nothing.
	text = allText(c.send(doc))
	if !strings.Contains(text, "✅ Đã nhận: 0") || !strings.Contains(text, "🔁 Đã có trong hệ thống: 4994") || !strings.Contains(text, "đã được gửi trước đây") {
		t.Errorf("resend report:\n%s", text)
	}
	if got := count(); got != 4994 {
		t.Errorf("after the resend, %d registrations, want 4994", got)
	}
}
