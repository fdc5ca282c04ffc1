package main

import (
	"archive/zip"
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// TestServe_RegistrationToDeliveryToExport walks the whole chain through the emulator and the
// real library: a parent registers, an invited ward official verifies, a volunteer takes the
// donor's laptop in, the education office allocates it, the parent chooses school, the volunteer
// delivers it with a photo, the parent presses "Đã nhận", the donor is told (level and ward
// only), and a city official's /export holds the whole chain.
func TestServe_RegistrationToDeliveryToExport(t *testing.T) {
	h := newHarness(t, map[string]string{"ADMIN_TELEGRAM_IDS": "9101"})
	admin := h.parent(9101, "vi")
	official := h.parent(9102, "vi")
	edu := h.parent(9103, "vi")
	volunteer := h.parent(9104, "vi")
	city := h.parent(9105, "vi")
	donor := h.parent(9106, "vi")
	fam := h.parent(9107, "vi")

	// Staff join by invitation; the ward official is of Linh Trung (26800).
	official.say("/start "+inviteWard(t, admin, "ward_official", "26800"), 1)
	edu.say("/start "+invite(t, admin, "education_office"), 1)
	volunteer.say("/start "+invite(t, admin, "volunteer"), 1)
	city.say("/start "+invite(t, admin, "city_official"), 1)

	// A parent registers a child who needs a laptop.
	toStudentName(fam)
	fam.answerChild(child{name: "Trần Minh Khang", level: "lower_secondary", grade: "7", school: "Trường THCS Linh Trung",
		circumstance: "orphan_one_covid", need: "laptop"})
	done := fam.press("r:review:submit", 1)
	code := regexp.MustCompile(`TD-\d{6}`).FindString(done.Text)
	if code == "" {
		t.Fatalf("no registration code in %q", done.Text)
	}

	// The ward official verifies it: priority shown, the parent told.
	shown := official.say("/verify", 1)
	if !strings.Contains(shown.Text, code) || !strings.Contains(shown.Text, "Mồ côi cha hoặc mẹ do Covid-19 +50") {
		t.Fatalf("/verify shows %q", shown.Text)
	}
	// A question first: the parent answers by just sending the photo asked for, which reaches
	// the official as a photo.
	official.press("v:ask:"+code, 1)
	official.say("Xin gửi ảnh giấy xác nhận hộ nghèo", 1)
	if q := fam.waitNew(1)[0]; !strings.Contains(q.Text, "giấy xác nhận hộ nghèo") {
		t.Fatalf("the parent was asked %q", q.Text)
	}
	h.emu.SendPhoto(fam.chat, fam.user)
	fam.waitNew(1) // thanks
	if got := official.waitNew(1)[0]; got.Photo == "" || !strings.Contains(got.Caption, code) {
		t.Errorf("the official got %+v, want the parent's photo about %s", got, code)
	}
	official.say("/verify "+code, 1)
	official.press("v:ok:"+code, 1)
	if got := fam.waitNew(1); !strings.Contains(got[0].Text, "đã được xác minh") {
		t.Errorf("the parent was told %q", got[0].Text)
	}

	// A donor's laptop is taken in and checked ready.
	pledge := pledgeLaptops(t, donor, "1")
	saved := intakeReadyLaptop(t, volunteer, pledge, "lower_secondary")
	label := regexp.MustCompile(`TB-\d{6}`).FindString(saved.Text)
	donor.waitNew(1) // told the laptop was received

	// The education office allocates it.
	proposal := edu.say("/allocate", 1)
	if !strings.Contains(proposal.Text, code) || !strings.Contains(proposal.Text, label) {
		t.Fatalf("/allocate proposes %q", proposal.Text)
	}
	confirm := buttonWithPrefix(t, proposal, "a:ok:")
	edu.press(confirm, 1)
	ask := fam.waitNew(1)[0]
	delivery := regexp.MustCompile(`GH-\d{6}`).FindString(buttonsOf(ask))
	if delivery == "" {
		t.Fatalf("the parent's allocation message has no delivery: %q", buttonsOf(ask))
	}
	fam.press("h:school:"+delivery, 1)

	// The volunteer delivers it with a photo as proof.
	list := volunteer.say("/deliveries", 2) // a header, then one message per delivery
	if !strings.Contains(list.Text, delivery) || !strings.Contains(list.Text, "Trường THCS Linh Trung") {
		t.Fatalf("/deliveries = %q", list.Text)
	}
	volunteer.press("d:ok:"+delivery, 1)
	volunteer.say("Nguyễn Thị Lan", 1)
	h.emu.SendPhoto(volunteer.chat, volunteer.user)
	volunteer.waitNew(1)
	got := fam.waitNew(1)[0]
	if !strings.Contains(buttonsOf(got), "h:got:"+delivery) {
		t.Fatalf("the parent was not asked to confirm: %q", buttonsOf(got))
	}
	// The family first says it never arrived: the delivery opens again, the volunteer is told
	// through the outbox, and hands it over again.
	fam.press("h:miss:"+delivery, 1)
	fam.say("Chưa ai đưa máy cho nhà tôi", 1)
	if note := volunteer.waitNew(1)[0]; !strings.Contains(note.Text, delivery) || !strings.Contains(note.Text, "Chưa ai đưa máy") {
		t.Errorf("the volunteer was told %q", note.Text)
	}
	if reopened := volunteer.say("/deliveries", 2); !strings.Contains(reopened.Text, delivery) || !strings.Contains(reopened.Text, "Chưa ai đưa máy") {
		t.Errorf("/deliveries after the report = %q", reopened.Text)
	}
	volunteer.press("d:ok:"+delivery, 1)
	volunteer.say("Nguyễn Thị Lan", 1)
	volunteer.press("d:skip:"+delivery, 1)
	if again := fam.waitNew(1)[0]; !strings.Contains(buttonsOf(again), "h:got:"+delivery) {
		t.Fatalf("the parent was not asked again: %q", buttonsOf(again))
	}
	fam.press("h:got:"+delivery, 1)

	// The donor is told: level and ward, never the child.
	told := donor.waitNew(1)[0]
	if !strings.Contains(told.Text, "Linh Trung") || strings.Contains(told.Text, "Khang") || strings.Contains(told.Text, code) {
		t.Errorf("the donor was told %q", told.Text)
	}
	if got := fam.say("/status", 1); !strings.Contains(got.Text, "đã nhận thiết bị") {
		t.Errorf("/status after the delivery = %q", got.Text)
	}

	// The city official exports the whole chain as a workbook.
	city.say("/export", 1)
	city.press("x:xlsx", 1)
	file := h.emu.Messages(city.chat)
	last := file[len(file)-1]
	if last.Document == "" || len(last.FileData) == 0 {
		t.Fatalf("/export sent %+v", last)
	}
	wb, err := excelize.OpenReader(bytes.NewReader(last.FileData))
	if err != nil {
		t.Fatal(err)
	}
	defer wb.Close()
	rows, err := wb.GetRows(wb.GetSheetList()[3])
	if err != nil || len(rows) != 2 {
		t.Fatalf("deliveries sheet rows = %d, %v", len(rows), err)
	}
	chain := strings.Join(rows[1], "|")
	for _, want := range []string{delivery, code, label, pledge, "Nguyễn Văn An", "Nguyễn Thị Lan"} {
		if !strings.Contains(chain, want) {
			t.Errorf("the deliveries row %q lacks %q", chain, want)
		}
	}
	// CSV on request: a ZIP of one file per sheet, the counts by school included.
	city.press("x:csv", 1)
	file = h.emu.Messages(city.chat)
	zr, err := zip.NewReader(bytes.NewReader(file[len(file)-1].FileData), int64(len(file[len(file)-1].FileData)))
	if err != nil || len(zr.File) != 5 || zr.File[4].Name != "theo-truong.csv" {
		t.Fatalf("CSV export: %v, %d files", err, len(zr.File))
	}

	// Every step is in the audit log.
	entries, err := postgres.NewAuditLog(h.db).Entries(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	for _, want := range []string{"registration.view", "registration.verify", "allocation.confirm"} {
		if !strings.Contains(strings.Join(actions, ","), want) {
			t.Errorf("audit of %s lacks %s: %v", code, want, actions)
		}
	}
	if rej := h.emu.RejectedCalls(); len(rej) > 0 {
		t.Errorf("the emulator refused calls: %+v", rej)
	}
}
