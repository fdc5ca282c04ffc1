package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/thuduc/maytinhchoem/bot/telegram/telegramtest"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

var invitePayload = regexp.MustCompile(`https://t\.me/maytinhchoem_bot\?start=(inv_[A-Za-z0-9_-]+)`)

// invite has admin create an invitation for role and returns its /start payload. The replies are
// found by what they hold: the administrator is told of each redemption, and those notices come
// when the outbox sends them.
func invite(t *testing.T, admin *parent, role string) string {
	t.Helper()
	admin.sayUntil("/invite", hasButton("s:role:"+role))
	link := admin.pressUntil("s:role:"+role, has("start=inv_"))
	m := invitePayload.FindStringSubmatch(link.Text)
	if m == nil || len(m[1]) > 64 {
		t.Fatalf("no invitation link in %q", link.Text)
	}
	return m[1]
}

// hasButton matches a message with a button of data.
func hasButton(data string) func(telegramtest.Message) bool {
	return func(m telegramtest.Message) bool {
		_, ok := findButton([]telegramtest.Message{m}, data)
		return ok
	}
}

// pressUntil presses the button with data on the newest message that has it and returns the
// first new message pred matches, passing over the others.
func (p *parent) pressUntil(data string, pred func(telegramtest.Message) bool) telegramtest.Message {
	p.h.t.Helper()
	msgs := p.h.emu.Messages(p.chat)
	id, ok := findButton(msgs, data)
	if !ok {
		p.h.t.Fatalf("no button %q; last message %q", data, lastText(msgs))
	}
	if _, err := p.h.emu.PressButton(p.chat, p.user, id, data); err != nil {
		p.h.t.Fatal(err)
	}
	for {
		for _, m := range p.waitNew(1) {
			if pred(m) {
				return m
			}
		}
	}
}

func TestServe_StaffInvitations(t *testing.T) {
	h := newHarness(t, map[string]string{"ADMIN_TELEGRAM_IDS": "5001"})
	admin := h.parent(5001, "vi")
	payload := invite(t, admin, "volunteer")

	volunteer := h.parent(5002, "vi")
	if got := volunteer.say("/start "+payload, 1); !strings.Contains(got.Text, "Tình nguyện viên") {
		t.Fatalf("redeeming = %q, want the volunteer role", got.Text)
	}
	// The administrator is told who redeemed which invitation, through the outbox.
	if got := admin.waitNew(1)[0]; !strings.Contains(got.Text, "Link mời #1") || !strings.Contains(got.Text, "Lan (telegram:5002)") ||
		!hasButton("s:revoke:telegram:5002")(got) {
		t.Errorf("the administrator was told %q %v", got.Text, got.InlineKeyboard)
	}
	if got := volunteer.say("/whoami", 1); !strings.Contains(got.Text, "Tình nguyện viên") {
		t.Errorf("/whoami = %q", got.Text)
	}
	// The link is single-use.
	other := h.parent(5003, "vi")
	if got := other.say("/start "+payload, 1); !strings.Contains(got.Text, "không còn dùng được") {
		t.Errorf("second use of a link = %q, want a refusal", got.Text)
	}
	if got := other.say("/whoami", 1); strings.Contains(got.Text, "Tình nguyện viên") {
		t.Errorf("a used link gave a role: %q", got.Text)
	}
	// A parent cannot invite; the refusal is polite and audited.
	parentUser := h.parent(5004, "vi")
	if got := parentUser.say("/invite", 1); !strings.Contains(got.Text, "cán bộ") {
		t.Errorf("/invite by a parent = %q, want a polite refusal", got.Text)
	}
	entries, err := postgres.NewAuditLog(h.db).Entries(context.Background(), "staff.invite")
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for _, e := range entries {
		if e.Action == "auth.refused" && e.Actor == "telegram:5004" {
			refused++
		}
	}
	if refused != 1 {
		t.Errorf("audit rows for the refused /invite = %d, want 1 (entries %+v)", refused, entries)
	}
	// The admin sees and can revoke the volunteer.
	if got := admin.say("/staff", 1); !strings.Contains(got.Text, "Tình nguyện viên") {
		t.Errorf("/staff = %q", got.Text)
	}
	// /invites lists the open links; one revoked is refused to whoever opens it.
	revoked := invite(t, admin, "city_official")
	list := admin.say("/invites", 1)
	if !strings.Contains(list.Text, "#2 «Cán bộ thành phố (UBND/MTTQ)» · tạo bởi bạn") || !hasButton("s:uninv:2")(list) {
		t.Fatalf("/invites = %q", list.Text)
	}
	if got := admin.press("s:uninv:2", 0); !strings.Contains(got.Text, "Đã thu hồi link mời #2") {
		t.Errorf("revoking = %q", got.Text)
	}
	if got := other.say("/start "+revoked, 1); !strings.Contains(got.Text, "không còn dùng được") {
		t.Errorf("a revoked link = %q, want a refusal", got.Text)
	}
	if got := parentUser.say("/invites", 1); strings.Contains(got.Text, "#") {
		t.Errorf("/invites by a parent = %q", got.Text)
	}
	// A second link asks the volunteer before replacing the role; kept, it stays open.
	second := invite(t, admin, "culture_info")
	if got := volunteer.say("/start "+second, 1); !hasButton("s:replace:no")(got) {
		t.Fatalf("a second link = %q, want a question", got.Text)
	}
	if got := volunteer.press("s:replace:no", 1); !strings.Contains(got.Text, "Bạn vẫn là «Tình nguyện viên Đoàn»") {
		t.Errorf("keeping = %q", got.Text)
	}
	if got := admin.say("/invites", 1); !strings.Contains(got.Text, "Phòng Văn hóa") {
		t.Errorf("the declined link is not open: %q", got.Text)
	}
	if rej := h.emu.RejectedCalls(); len(rej) > 0 {
		t.Errorf("the emulator refused calls: %+v", rej)
	}
}

func TestServe_DonorPledge(t *testing.T) {
	h := newHarness(t, nil)
	donor := h.parent(6001, "vi")
	donor.say("/start", 1)
	donor.press("g:pledge", 1)
	donor.press("p:donor_kind:individual", 1)
	donor.say("nguyễn văn an", 1)
	h.emu.SendContact(donor.chat, donor.user, "+84912345678", donor.user.ID)
	donor.waitNew(2)
	donor.press("p:item_kind:laptop", 1)
	donor.press("p:item_condition:used", 1)
	donor.press("p:item_quantity:2", 1)
	donor.press("p:item_complete:yes", 1)
	donor.press("p:items:more", 1)
	donor.press("p:item_kind:money", 1)
	donor.say("5tr", 1)
	donor.press("p:items:done", 1)
	donor.press("p:delivery:front", 1)
	review := donor.press("p:thanks:public", 1)
	if !strings.Contains(review.Text, "5.000.000 đ") || !strings.Contains(review.Text, "Laptop") {
		t.Fatalf("review = %q", review.Text)
	}
	done := donor.press("p:review:submit", 1)
	if !strings.Contains(done.Text, "PL-000001") {
		t.Fatalf("submit = %q, want the code PL-000001", done.Text)
	}
	list := donor.say("/pledges", 1)
	if !strings.Contains(list.Text, "PL-000001") || !strings.Contains(list.Text, "Laptop") {
		t.Errorf("/pledges = %q", list.Text)
	}
	p, err := postgres.NewPledgeStore(h.db).PledgeByCode(context.Background(), "PL-000001")
	if err != nil {
		t.Fatal(err)
	}
	if p.DonorName != "Nguyễn Văn An" || len(p.Items) != 2 || p.Items[1].Amount != 5_000_000 || p.ChatID != "6001" {
		t.Errorf("stored pledge = %+v", p)
	}
}

// pledgeLaptops has donor pledge n used laptops, brought to the Front, and returns the code.
func pledgeLaptops(t *testing.T, donor *parent, n string) string {
	t.Helper()
	donor.say("/pledge", 1)
	donor.press("p:donor_kind:individual", 1)
	donor.say("Nguyễn Văn An", 1)
	donor.h.emu.SendContact(donor.chat, donor.user, "+84912345678", donor.user.ID)
	donor.waitNew(2)
	donor.press("p:item_kind:laptop", 1)
	donor.press("p:item_condition:used", 1)
	donor.press("p:item_quantity:"+n, 1)
	donor.press("p:item_complete:yes", 1)
	donor.press("p:items:done", 1)
	donor.press("p:delivery:front", 1)
	donor.press("p:thanks:public", 1)
	done := donor.press("p:review:submit", 1)
	code := regexp.MustCompile(`PL-\d{6}`).FindString(done.Text)
	if code == "" {
		t.Fatalf("no pledge code in %q", done.Text)
	}
	return code
}

func TestServe_PledgeThroughIntakeToReady(t *testing.T) {
	h := newHarness(t, map[string]string{"ADMIN_TELEGRAM_IDS": "7001"})
	donor := h.parent(7002, "vi")
	code := pledgeLaptops(t, donor, "1")

	admin := h.parent(7001, "vi")
	volunteer := h.parent(7003, "vi")
	volunteer.say("/start "+invite(t, admin, "volunteer"), 1)

	// A donor has no business in the intake.
	if got := donor.say("/intake", 1); strings.Contains(got.Text, "Mã phiếu") {
		t.Errorf("a donor was let into /intake: %q", got.Text)
	}

	saved := intakeReadyLaptop(t, volunteer, strings.ToLower(code), "primary") // the code typed in lower case
	label := regexp.MustCompile(`TB-\d{6}`).FindString(saved.Text)
	if label == "" {
		t.Fatalf("no device label in %q", saved.Text)
	}
	// The donor is told, in their own chat.
	if got := donor.waitNew(1); !strings.Contains(got[0].Text, code) {
		t.Errorf("the donor was told %q, want their pledge %s", got[0].Text, code)
	}
	d, err := postgres.NewDeviceStore(h.db).DeviceByLabel(context.Background(), label)
	if err != nil {
		t.Fatal(err)
	}
	if d.State != "ready" || d.PledgeCode != code || !d.Wiped || d.SoftwareLevel != "primary" {
		t.Errorf("stored device = %+v", d)
	}
	if got := volunteer.say("/myintake", 1); !strings.Contains(got.Text, label) {
		t.Errorf("/myintake = %q, want %s", got.Text, label)
	}
	if got := donor.say("/pledges", 1); !strings.Contains(got.Text, code) || !strings.Contains(got.Text, "sẵn sàng") {
		t.Errorf("/pledges = %q, want the device ready", got.Text)
	}
	// The pledge promised one laptop, and it has been received in full.
	p, err := postgres.NewPledgeStore(h.db).PledgeByCode(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != "received" {
		t.Errorf("pledge status = %s, want received", p.Status)
	}
}

func TestServe_MoneyAndDevicesBoughtWithIt(t *testing.T) {
	h := newHarness(t, map[string]string{"ADMIN_TELEGRAM_IDS": "8001"})
	donor := h.parent(8002, "vi")
	donor.say("/pledge", 1)
	donor.press("p:donor_kind:business", 1)
	donor.say("Công ty ABC", 1)
	donor.say("Trần Thị Bích", 1)
	h.emu.SendContact(donor.chat, donor.user, "+84987654321", donor.user.ID)
	donor.waitNew(2)
	donor.press("p:item_kind:money", 1)
	donor.say("10 triệu", 1)
	donor.press("p:items:done", 1)
	donor.press("p:delivery:front", 1)
	donor.press("p:thanks:anonymous", 1)
	code := regexp.MustCompile(`PL-\d{6}`).FindString(donor.press("p:review:submit", 1).Text)

	admin := h.parent(8001, "vi")
	official := h.parent(8003, "vi")
	official.say("/start "+invite(t, admin, "city_official"), 1)

	official.say("/money "+code+" 10tr chuyển khoản", 1)
	saved := official.press("m:review:submit", 1)
	if !strings.Contains(saved.Text, "10.000.000 đ") {
		t.Fatalf("money saved = %q", saved.Text)
	}
	if got := donor.waitNew(1); !strings.Contains(got[0].Text, "10.000.000 đ") {
		t.Errorf("the donor was told %q", got[0].Text)
	}
	money := regexp.MustCompile(`#(\d+)`).FindStringSubmatch(saved.Text)
	if money == nil {
		t.Fatalf("no money id in %q", saved.Text)
	}
	if got := official.say("/buy "+money[1]+" laptop 3 12tr", 1); !strings.Contains(got.Text, "không còn đủ") {
		t.Errorf("overspending = %q, want a refusal", got.Text)
	}
	bought := official.say("/buy "+money[1]+" tablet 2 6tr", 1)
	if n := len(regexp.MustCompile(`TB-\d{6}`).FindAllString(bought.Text, -1)); n != 2 {
		t.Errorf("/buy = %q, want two device labels", bought.Text)
	}
	received, spent, err := postgres.NewMoneyStore(h.db).MoneyTotals(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if received != 10_000_000 || spent != 6_000_000 {
		t.Errorf("totals = %d received, %d spent; want 10,000,000 and 6,000,000", received, spent)
	}
	// A volunteer may not record money.
	volunteer := h.parent(8004, "vi")
	volunteer.say("/start "+invite(t, admin, "volunteer"), 1)
	if got := volunteer.say("/money "+code+" 1tr", 1); strings.Contains(got.Text, "Ghi nhận tiền") {
		t.Errorf("a volunteer was let record money: %q", got.Text)
	}
}

// inviteWard has admin invite a ward role of ward and returns the Telegram /start payload.
func inviteWard(t *testing.T, admin *parent, role, ward string) string {
	t.Helper()
	admin.sayUntil("/invite", hasButton("s:role:"+role))
	admin.pressUntil("s:role:"+role, hasButton("s:ward:"+ward))
	link := admin.pressUntil("s:ward:"+ward, has("start=inv_"))
	m := invitePayload.FindStringSubmatch(link.Text)
	if m == nil {
		t.Fatalf("no invitation link in %q", link.Text)
	}
	return m[1]
}

// intakeReadyLaptop has a volunteer take one laptop of pledge in, with the learning software of
// level, and check it ready; it returns the message that names the device's label.
func intakeReadyLaptop(t *testing.T, volunteer *parent, pledge, level string) telegramtest.Message {
	t.Helper()
	volunteer.say("/intake", 1)
	volunteer.say(pledge, 1)
	volunteer.press("i:kind:laptop", 1)
	volunteer.say("Dell Latitude E7450", 1)
	volunteer.press("i:serial:-", 1)
	volunteer.press("i:condition:used", 1)
	for _, item := range []string{"powers_on", "connects", "charger", "cables", "camera", "microphone", "battery"} {
		volunteer.press("i:checks:"+item, 0)
	}
	volunteer.press("i:checks:!done", 1)
	volunteer.press("i:wiped:yes", 1)
	volunteer.press("i:cleaned:yes", 1)
	volunteer.press("i:parts:-", 1)
	volunteer.press("i:software:"+level, 1)
	volunteer.press("i:outcome:ready", 1)
	saved := volunteer.press("i:review:submit", 1)
	if !regexp.MustCompile(`TB-\d{6}`).MatchString(saved.Text) {
		t.Fatalf("intake saved %q", saved.Text)
	}
	return saved
}

// buttonWithPrefix is the data of m's first button whose data starts with prefix.
func buttonWithPrefix(t *testing.T, m telegramtest.Message, prefix string) string {
	t.Helper()
	for _, row := range m.InlineKeyboard {
		for _, b := range row {
			if strings.HasPrefix(b.CallbackData, prefix) {
				return b.CallbackData
			}
		}
	}
	t.Fatalf("no button %s… under %q", prefix, m.Text)
	return ""
}
