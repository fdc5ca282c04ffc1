package flows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// People of the allocation and delivery tests (volunteerID, officialID and donorChat are the
// intake tests').
const (
	eduID     = "7010" // education office
	wardOffID = "7011" // ward official of Linh Trung
	cultureID = "7012" // culture and information office
	parentA   = "3001" // TD-000001, Vietnamese
	parentB   = "3002" // TD-000002, English
	parentC   = "3003" // TD-000003, Vietnamese
)

// withCases gives the chat a campaign ready to allocate:
//   - staff: an education official, a ward official of Linh Trung, a culture office member, a
//     volunteer and a city official;
//   - the donor's pledge PL-000045 (in donorLang), which gave a laptop kept in Linh Trung
//     (TB-000123); a walk-in laptop (TB-000124) and a tablet kept in Thảo Điền (TB-000125); one SIM;
//   - verified children, highest priority first: TD-000001 (orphan, no device; THCS, Linh Trung,
//     asks for a laptop and a SIM), TD-000002 (poor, shares a phone; primary, Thảo Điền, asks for
//     a tablet), TD-000003 (near-poor, broken device; THPT, Linh Trung, asks for a laptop),
//     TD-000004 (Covid hardship; primary, asks for a tablet: none is left for it) and TD-000005
//     (helped before by another programme).
func (c *convo) withCases(donorLang string) *convo {
	c.t.Helper()
	c.staff.add(eduID, "Lê Văn Giáo", campaign.RoleEducationOffice, "")
	c.staff.add(wardOffID, "Phạm Thị Phường", campaign.RoleWardOfficial, wardLT)
	c.staff.add(cultureID, "Võ Văn Hóa", campaign.RoleCultureInfo, "")
	c.staff.add(volunteerID, "Trần Văn Tình", campaign.RoleVolunteer, "")
	c.staff.add(officialID, "Phạm Thị Mai", campaign.RoleCityOfficial, "")
	c.pledges.mu.Lock()
	c.pledges.pledges = append(c.pledges.pledges, campaign.Pledge{
		ID: 45, Code: "PL-000045", Status: campaign.PledgeReceived, Channel: "telegram", ChatID: donorChat,
		Language: donorLang, DonorKind: campaign.DonorIndividual, DonorName: "Nguyễn Văn An",
		Items: []campaign.PledgeItem{{Kind: campaign.ItemLaptop, Quantity: 1, Used: true, Complete: true}},
	})
	c.pledges.mu.Unlock()
	c.cases.addReadyDevice(campaign.DeviceLaptop, wardLT, "PL-000045")
	c.cases.addReadyDevice(campaign.DeviceLaptop, "", "")
	c.cases.addReadyDevice(campaign.DeviceTablet, wardTD, "")
	c.cases.addStock(campaign.StockSIM4G, 1)
	children := []struct {
		chat, lang, parent, student, ward, school string
		level                                     campaign.SchoolLevel
		grade                                     int
		circ                                      []campaign.Circumstance
		situation                                 campaign.DeviceSituation
		needs                                     []campaign.Need
	}{
		{parentA, "vi", "Nguyễn Thị Lan", "Trần Minh Khang", wardLT, "THCS Linh Trung", campaign.LevelLowerSecondary, 7,
			[]campaign.Circumstance{campaign.CircumstanceOrphanOneCovid}, campaign.SituationNone, []campaign.Need{campaign.NeedLaptop, campaign.NeedSIM4G}},
		{parentB, "en", "Lê Thị Hồng", "Lê Bảo Ngọc", wardTD, "Tiểu học An Phú", campaign.LevelPrimary, 3,
			[]campaign.Circumstance{campaign.CircumstancePoor}, campaign.SituationSharesPhone, []campaign.Need{campaign.NeedTablet}},
		{parentC, "vi", "Phạm Văn Hùng", "Phạm Gia Huy", wardLT, "THPT Tam Phú", campaign.LevelUpperSecondary, 10,
			[]campaign.Circumstance{campaign.CircumstanceNearPoor}, campaign.SituationBroken, []campaign.Need{campaign.NeedLaptop}},
		{"3004", "vi", "Đỗ Thị Mai", "Đỗ Minh Tâm", wardTD, "Tiểu học Thảo Điền", campaign.LevelPrimary, 2,
			[]campaign.Circumstance{campaign.CircumstanceCovidHardship}, campaign.SituationBroken, []campaign.Need{campaign.NeedTablet}},
		{"3005", "vi", "Ngô Văn Tư", "Ngô Thị Hoa", wardLT, "THCS Linh Trung", campaign.LevelLowerSecondary, 8,
			[]campaign.Circumstance{campaign.CircumstancePoor}, campaign.SituationNone, []campaign.Need{campaign.NeedLaptop}},
	}
	for _, ch := range children {
		r := c.cases.addRegistration(campaign.Registration{
			Status: campaign.StatusVerified, CampaignID: "thu-duc-2021", Channel: "telegram", ChatID: ch.chat, UserID: ch.chat,
			Language: ch.lang, ParentName: ch.parent, ParentPhone: "+8491234" + ch.chat[:4], StudentName: ch.student,
			BirthDate: time.Date(2010, 5, 9, 0, 0, 0, 0, time.UTC), Level: ch.level, Grade: ch.grade, School: ch.school,
			WardCode: ch.ward, Address: "12 đường số 5, khu phố 3", Circumstances: ch.circ, DeviceSituation: ch.situation, Needs: ch.needs,
		})
		if ch.chat == "3005" {
			c.cases.helped[helpedKey(r.StudentName, r.BirthDate)] = true
		}
	}
	return c
}

// dataWith returns the data of the first button in out whose data starts with prefix.
func dataWith(t *testing.T, out []Output, prefix string) string {
	t.Helper()
	for _, d := range buttonData(out) {
		if strings.HasPrefix(d, prefix) {
			return d
		}
	}
	t.Fatalf("no button %s… in%s", prefix, dump(out))
	return ""
}

// allocateAll has the education official confirm the whole proposal: GH-000012 (TD-000001,
// TB-000123 from the pledge, with the SIM), GH-000013 (TD-000002, the tablet), GH-000014
// (TD-000003, the walk-in laptop). The chat is left as the official's.
func (c *convo) allocateAll() []Output {
	c.t.Helper()
	c.become(eduID, "vi")
	out := c.send(cmd("allocate"))
	return c.send(press(dataWith(c.t, out, "a:ok:")))
}

// deliver has the volunteer record the hand-over of code to the parent, without a photo.
func (c *convo) deliver(code string) {
	c.t.Helper()
	c.become(volunteerID, "vi")
	c.send(press("d:ok:" + code))
	c.send(press("d:rp:" + code))
	c.send(press("d:skip:" + code))
}

// allocScenarios are the golden conversations of /allocate (testdata/allocate) and of deliveries
// (testdata/deliver): volunteers and parents.
func allocScenarios() []scenario {
	return []scenario{
		{goldenAllocate, "confirm_part", func(c *convo) {
			c.withCases("vi").become(eduID, "vi")
			c.send(cmd("allocate"))
			tag := allocTag(c.st.IdempotencyKey)
			c.send(press("a:t:" + tag + ":1"))
			c.send(press("a:t:" + tag + ":3"))
			c.send(press("a:t:" + tag + ":1"))
			c.send(text("xác nhận"))
			c.send(press("a:ok:" + tag))
			c.send(press("a:ok:" + tag))
			c.send(cmd("allocate"))
		}},
		{goldenAllocate, "stale_items", func(c *convo) {
			c.withCases("vi").become(eduID, "vi")
			out := c.send(cmd("allocate"))
			// Meanwhile the tablet was sent back for checking, and TD-000003 was refused.
			c.devices.mu.Lock()
			c.devices.devices[2].State = campaign.DeviceChecking
			c.devices.mu.Unlock()
			c.regs.mu.Lock()
			c.regs.regs[2].Status = campaign.StatusRejected
			c.regs.mu.Unlock()
			c.send(press(dataWith(c.t, out, "a:ok:")))
		}},
		{goldenAllocate, "nothing_to_allocate", func(c *convo) {
			c.staff.add(eduID, "Lê Văn Giáo", campaign.RoleEducationOffice, "")
			c.become(eduID, "vi")
			c.send(cmd("allocate"))
			c.record = false
			for i := range 3 {
				c.cases.addRegistration(campaign.Registration{
					Status: campaign.StatusVerified, Channel: "telegram", ChatID: fmt.Sprint(3100 + i), StudentName: fmt.Sprint("Em ", i),
					Level: campaign.LevelPrimary, Grade: 2, WardCode: wardLT, DeviceSituation: campaign.SituationNone,
					Circumstances: []campaign.Circumstance{campaign.CircumstancePoor}, Needs: []campaign.Need{campaign.NeedTablet},
				})
			}
			c.record = true
			c.send(cmd("allocate"))
			c.cases.addStock(campaign.StockUSBWiFi, 5)
			c.send(cmd("allocate"))
		}},
		{goldenAllocate, "refused_roles", func(c *convo) {
			c.withCases("vi")
			c.become("1001", "vi").send(cmd("allocate"))
			c.become(volunteerID, "vi").send(cmd("allocate"))
			c.become(wardOffID, "vi").send(cmd("allocate"))
			c.become(cultureID, "vi").send(cmd("allocate"))
			c.send(cmd("deliveries"))
			c.become(wardOffID, "vi").send(cmd("deliveries"))
			c.become("1001", "en").send(cmd("deliveries"))
		}},
		{goldenAllocate, "official_english", func(c *convo) {
			c.withCases("en").become(eduID, "en")
			out := c.send(cmd("allocate"))
			c.send(cmd("help"))
			c.send(press(dataWith(c.t, out, "a:no:")))
			out = c.send(cmd("allocate"))
			c.send(press(dataWith(c.t, out, "a:ok:")))
		}},
		{goldenDeliver, "parent_chooses_school", func(c *convo) {
			c.withCases("vi")
			c.record = false
			c.allocateAll()
			c.record = true
			c.become(parentB, "en")
			c.send(press("h:school:GH-000013"))
			c.send(press("h:home:GH-000013"))
			c.send(press("h:school:GH-000013"))
			c.become(parentA, "vi")
			c.send(press("h:school:GH-000013"))
			c.become(volunteerID, "vi")
			c.send(cmd("deliveries"))
		}},
		{goldenDeliver, "delivered_with_photo", func(c *convo) {
			c.withCases("vi")
			c.record = false
			c.allocateAll()
			c.record = true
			c.become(volunteerID, "vi")
			c.send(cmd("deliveries"))
			c.send(press("d:ok:GH-000012"))
			c.send(text("Lan 2"))
			c.send(other())
			c.send(text("lan"))
			c.send(text("ảnh đây"))
			c.send(other()) // a sticker or a file
			c.send(Input{Kind: KindOther, PhotoID: "AgACAgUAAxkBAAIBQ2photo"})
			c.send(cmd("deliveries"))
		}},
		{goldenDeliver, "delivered_without_photo", func(c *convo) {
			c.withCases("vi")
			c.record = false
			c.allocateAll()
			c.record = true
			c.become(volunteerID, "vi")
			c.send(press("d:ok:GH-000014"))
			c.send(press("d:x:GH-000014"))
			c.send(press("d:ok:GH-000014"))
			c.send(press("d:rp:GH-000014"))
			c.send(text("bỏ qua"))
			c.send(press("d:skip:GH-000014"))
			c.send(press("d:ok:GH-000014"))
		}},
		{goldenDeliver, "failed_then_listed", func(c *convo) {
			c.withCases("vi")
			c.record = false
			c.allocateAll()
			c.record = true
			c.become(volunteerID, "vi")
			c.send(press("d:fail:GH-000014"))
			c.send(text("vắng nhà"))
			c.send(cmd("deliveries"))
			c.send(press("d:fail:GH-000013"))
			c.send(press("d:fr:GH-000013:other"))
			c.send(text("x"))
			c.send(text("Hẻm sâu, xe không vào được; hẹn gặp ở đầu hẻm"))
			c.send(cmd("deliveries"))
		}},
		{goldenDeliver, "parent_received_twice", func(c *convo) {
			c.withCases("vi")
			c.record = false
			c.allocateAll()
			c.deliver("GH-000012")
			c.record = true
			c.become(parentA, "vi")
			c.send(press("h:got:GH-000012"))
			c.send(press("h:got:GH-000012"))
			c.become(parentB, "en")
			c.send(press("h:got:GH-000012"))
		}},
		{goldenDeliver, "parent_not_received", func(c *convo) {
			c.withCases("vi")
			c.record = false
			c.allocateAll()
			c.deliver("GH-000012")
			c.record = true
			c.become(parentA, "vi")
			c.send(press("h:miss:GH-000012"))
			c.send(other())
			c.send(text("Chưa có ai đến giao, nhà tôi không có ai tên Lan"))
			c.send(press("h:miss:GH-000012")) // now pending: nothing to reopen
			c.become(volunteerID, "vi")
			c.send(cmd("deliveries"))
			c.send(press("d:ok:GH-000012"))
			c.send(press("d:rp:GH-000012"))
			c.send(press("d:skip:GH-000012"))
			c.become(parentA, "vi")
			c.send(press("h:got:GH-000012"))
			c.send(press("h:miss:GH-000012"))
			c.send(text("thật ra đã nhận"))
		}},
		{goldenDeliver, "volunteer_english", func(c *convo) {
			c.withCases("en")
			c.record = false
			c.allocateAll()
			c.record = true
			c.become(volunteerID, "en")
			c.send(cmd("deliveries"))
			c.send(press("d:ok:GH-000012"))
			c.send(Input{Kind: KindOther, PhotoID: "AgACAgUAAxkBAAIBQ2photo"})
			c.send(text("Tran Minh Khang"))
			c.send(press("d:fail:GH-000013"))
			c.send(press("d:fr:GH-000013:wrong_address"))
			c.become(parentA, "en")
			c.send(press("h:got:GH-000012"))
		}},
	}
}

// allocLines returns the answers of the proposal's lines in the state.
func allocLineAnswers(st State) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := st.Answers[fmt.Sprintf("a.%d", i)]
		if !ok {
			return out
		}
		out = append(out, v)
	}
}

func TestAllocate_Proposal(t *testing.T) {
	c := newChat(t).withCases("vi").become(eduID, "vi")
	out := c.send(cmd("allocate"))
	if c.st.Flow != FlowCase || c.st.Step != allocStepReview || c.st.IdempotencyKey != "key-1" {
		t.Fatalf("state %+v", c.st)
	}
	want := []string{
		"TD-000001|TB-000123|laptop|sim_4g|54|lower_secondary|7|26800|type_requested+same_ward|orphan_one_covid=50+device_none=4",
		"TD-000002|TB-000125|tablet||32|primary|3|27088|type_requested+same_ward|poor=30+device_shares_phone=2",
		"TD-000003|TB-000124|laptop||21|upper_secondary|10|26800|type_requested|near_poor=20+device_broken=1",
	}
	if got := allocLineAnswers(c.st); !slices.Equal(got, want) {
		t.Errorf("lines\n got %q\nwant %q", got, want)
	}
	if a := c.st.Answers; a[allocAnswerSel] != "1,2,3" || a[allocAnswerSkips] != "no_fitting_device=1,already_helped=1" ||
		a[allocAnswerReady] != "3" || a[allocAnswerStock] != "sim_4g=1" || a[allocAnswerMore] != "0" {
		t.Errorf("answers %v", a)
	}
	text := allText(out)
	for _, s := range []string{
		"1. ✅ TD-000001 · THCS lớp 7 · Phường Linh Trung",
		"⭐ Ưu tiên 54: Mồ côi cha hoặc mẹ do Covid-19 +50; Chưa có thiết bị nào +4",
		"🎁 TB-000123 (Laptop) + SIM 4G · đúng loại đã xin, máy ở cùng phường",
		"⏳ 2 em đã xác minh chưa được đề xuất: không còn thiết bị phù hợp: 1; đã được hỗ trợ trước đây: 1.",
		"📦 Thiết bị sẵn sàng: 3.", "📶 Trong kho: SIM 4G 1.",
	} {
		if !strings.Contains(text, s) {
			t.Errorf("proposal lacks %q:%s", s, dump(out))
		}
	}
	tag := allocTag("key-1")
	wantData := []string{"a:t:" + tag + ":1", "a:t:" + tag + ":2", "a:t:" + tag + ":3", "a:ok:" + tag, "a:no:" + tag}
	if got := buttonData(out); !slices.Equal(got, wantData) {
		t.Errorf("buttons %q, want %q", got, wantData)
	}
	// Nothing is written before the official confirms.
	if n := c.cases.callCount("ConfirmAllocations"); n != 0 {
		t.Errorf("%d confirmations", n)
	}
}

func TestAllocate_Refused(t *testing.T) {
	for _, tt := range []struct {
		name, id string
		role     campaign.Role
	}{
		{"parent", "1001", ""},
		{"ward official", wardOffID, campaign.RoleWardOfficial},
		{"volunteer", volunteerID, campaign.RoleVolunteer},
		{"culture office", cultureID, campaign.RoleCultureInfo},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newChat(t).withCases("vi").become(tt.id, "vi")
			out := c.send(cmd("allocate"))
			want := msg(c.e, langVI, "staff.refused")
			if tt.role != "" {
				want = msg(c.e, langVI, "staff.refused_role", "Role", c.roleNameOf(tt.role))
			}
			if allText(out) != want {
				t.Errorf("reply %q, want %q", allText(out), want)
			}
			refused := c.audit.refused()
			if len(refused) != 1 || refused[0].Subject != string(campaign.ActionAllocate) || refused[0].Actor != "telegram:"+tt.id {
				t.Errorf("audit %+v", refused)
			}
			if n := c.cases.callCount("Proposal"); n != 0 || c.st.Flow != "" {
				t.Errorf("proposal read %d times, state %+v", n, c.st)
			}
		})
	}
}

// roleNameOf is a role's name in Vietnamese, as a refusal says it.
func (c *convo) roleNameOf(r campaign.Role) string {
	return msg(c.e, langVI, roleLabels[r][0])
}

func TestAllocate_TenLinesAndShortData(t *testing.T) {
	c := newChatWith(t, nil)
	// A key far longer than 64 bytes: buttons carry a hash of it.
	c.e.cfg.NewKey = func() string { return strings.Repeat("k", 300) }
	c.staff.add(eduID, "Lê Văn Giáo", campaign.RoleEducationOffice, "")
	for i := range 13 {
		c.cases.addRegistration(campaign.Registration{
			Status: campaign.StatusVerified, Channel: "telegram", ChatID: fmt.Sprint(3100 + i), StudentName: fmt.Sprint("Em ", i),
			Level: campaign.LevelUpperSecondary, Grade: 11, WardCode: wardLT, DeviceSituation: campaign.SituationNone,
			Circumstances: []campaign.Circumstance{campaign.CircumstanceOrphanBothCovid, campaign.CircumstancePoor, campaign.CircumstanceCovidHardship, campaign.CircumstanceOther},
			Needs:         []campaign.Need{campaign.NeedLaptop, campaign.NeedSIM4G, campaign.NeedUSBWiFi, campaign.NeedInternetPackage},
		})
		c.cases.addReadyDevice(campaign.DeviceLaptop, wardLT, "")
	}
	for _, k := range campaign.StockKinds {
		c.cases.addStock(k, 100)
	}
	c.become(eduID, "vi")
	out := c.send(cmd("allocate"))
	if n := len(allocLineAnswers(c.st)); n != allocShown {
		t.Fatalf("%d lines shown", n)
	}
	if c.st.Answers[allocAnswerMore] != "3" || !strings.Contains(allText(out), msg(c.e, langVI, "alloc.more", "Count", 3)) {
		t.Errorf("more: %v%s", c.st.Answers[allocAnswerMore], dump(out))
	}
	toggles := 0
	for _, d := range buttonData(out) {
		if len(d) > maxData {
			t.Errorf("%q is %d bytes", d, len(d))
		}
		if strings.HasPrefix(d, "a:t:") {
			toggles++
			if !strings.HasSuffix(d, fmt.Sprintf(":%d", toggles)) {
				t.Errorf("toggle %d carries %q", toggles, d)
			}
		}
	}
	if toggles != allocShown {
		t.Errorf("%d toggles", toggles)
	}
	if d := allocData("t", allocTag(strings.Repeat("k", 300)), allocShown); len(d) > 20 {
		t.Errorf("toggle data %q", d)
	}
	// Unticking a line edits the message in place.
	out = c.send(press(dataWith(t, out, "a:t:")))
	if len(out) != 1 || !out[0].Replace || c.st.Answers[allocAnswerSel] != "2,3,4,5,6,7,8,9,10" ||
		!strings.Contains(out[0].Text, "1. ⬜ TD-000001") || out[0].Ack != msg(c.e, langVI, "alloc.notice_off", "Code", "TD-000001") {
		t.Errorf("toggle: %+v%s", c.st.Answers, dump(out))
	}
	if !slices.Contains(buttonData(out), "a:ok:"+allocTag(strings.Repeat("k", 300))) || !strings.Contains(dump(out), "Xác nhận 9 em") {
		t.Errorf("confirm button:%s", dump(out))
	}
}

func TestAllocate_NoneTickedAndTypedText(t *testing.T) {
	c := newChat(t).withCases("vi").become(eduID, "vi")
	out := c.send(cmd("allocate"))
	for i := 1; i <= 3; i++ {
		out = c.send(press(fmt.Sprintf("a:t:%s:%d", allocTag("key-1"), i)))
	}
	if slices.ContainsFunc(buttonData(out), func(d string) bool { return strings.HasPrefix(d, "a:ok:") }) {
		t.Errorf("a confirm button with nothing ticked:%s", dump(out))
	}
	out = c.send(press("a:ok:" + allocTag("key-1")))
	if !strings.HasPrefix(allText(out), msg(c.e, langVI, "alloc.none_selected")) || c.cases.callCount("ConfirmAllocations") != 0 {
		t.Errorf("confirm with nothing ticked:%s", dump(out))
	}
	out = c.send(text("đồng ý hết"))
	if !strings.HasPrefix(allText(out), msg(c.e, langVI, "common.use_buttons")) || c.st.Step != allocStepReview {
		t.Errorf("typed text:%s", dump(out))
	}
	// A number beyond the lines, or not a number, is stale and changes nothing.
	for _, d := range []string{"a:t:" + allocTag("key-1") + ":4", "a:t:" + allocTag("key-1") + ":x", "a:zz:" + allocTag("key-1")} {
		out = c.send(press(d))
		if !strings.Contains(allText(out), msg(c.e, langVI, "alloc.stale")) || c.st.Answers[allocAnswerSel] != "" {
			t.Errorf("%s:%s", d, dump(out))
		}
	}
}

func TestAllocate_StoreErrorKeepsStateAndKey(t *testing.T) {
	c := newChat(t).withCases("vi").become(eduID, "vi")
	out := c.send(cmd("allocate"))
	before := c.st
	c.cases.fail("ConfirmAllocations", errors.New("connection reset"))
	if _, err := c.trySend(press(dataWith(t, out, "a:ok:"))); err == nil {
		t.Fatal("store error not returned")
	}
	if !statesEqual(c.st, before) {
		t.Errorf("state changed: %+v", c.st)
	}
	c.cases.fail("ConfirmAllocations", nil)
	out = c.send(press(dataWith(t, out, "a:ok:")))
	if keys := c.cases.keysOf("ConfirmAllocations"); !slices.Equal(keys, []string{"key-1", "key-1"}) {
		t.Errorf("keys %q", keys)
	}
	if !strings.Contains(allText(out), msg(c.e, langVI, "alloc.done", "Count", 3)) {
		t.Errorf("reply:%s", dump(out))
	}
}

func TestAllocate_RetriedConfirmWritesOnce(t *testing.T) {
	c := newChat(t).withCases("vi").become(eduID, "vi")
	out := c.send(cmd("allocate"))
	before := c.st
	first := c.send(press(dataWith(t, out, "a:ok:")))
	// The bot crashed before saving the state: the same press runs again from the old state.
	c.st = before
	again := c.send(press(dataWith(t, out, "a:ok:")))
	if keys := c.cases.keysOf("ConfirmAllocations"); !slices.Equal(keys, []string{"key-1", "key-1"}) {
		t.Errorf("keys %q", keys)
	}
	c.cases.mu.Lock()
	n := len(c.cases.deliveries)
	c.cases.mu.Unlock()
	if n != 3 || allText(first) != allText(again) {
		t.Errorf("%d deliveries; first%s\nagain%s", n, dump(first), dump(again))
	}
	for _, code := range []string{"TD-000001", "TD-000002", "TD-000003"} {
		if r := c.cases.registration(code); r.Status != campaign.StatusAllocated {
			t.Errorf("%s is %s", code, r.Status)
		}
	}
	if d := c.cases.device("TB-000123"); d.State != campaign.DeviceAllocated {
		t.Errorf("TB-000123 is %s", d.State)
	}
}

func TestAllocate_ParentsAsked(t *testing.T) {
	c := newChat(t).withCases("vi")
	out := c.allocateAll()
	toParents := c.notices
	if len(toParents) != 3 {
		t.Fatalf("%d messages to parents: %+v", len(toParents), toParents)
	}
	b := toParents[1]
	if b.Channel != "telegram" || b.ChatID != parentB {
		t.Errorf("to %s:%s", b.Channel, b.ChatID)
	}
	want := msg(c.e, langEN, "parent.allocated", "Campaign", c.e.cfg.Campaign.Name.In(langEN), "Reg", "TD-000002", "What", "Tablet", "Code", "GH-000013")
	if b.Text != want {
		t.Errorf("text %q, want %q", b.Text, want)
	}
	if strings.Contains(b.Text, "Lê Bảo Ngọc") {
		t.Error("the child's name is in the parent's message")
	}
	if got := []string{b.Buttons[0][0].Data, b.Buttons[0][1].Data}; len(b.Buttons) != 1 || !slices.Equal(got, []string{"h:home:GH-000013", "h:school:GH-000013"}) {
		t.Errorf("buttons %q", got)
	}
	if !strings.Contains(toParents[0].Text, "Laptop + SIM 4G") {
		t.Errorf("TD-000001's message: %q", toParents[0].Text)
	}
	if !strings.Contains(allText(out), msg(c.e, langVI, "alloc.parents_told", "Count", 3)) {
		t.Errorf("report:%s", dump(out))
	}
}

func TestAllocate_ParentOnAnotherChannel(t *testing.T) {
	c := newChat(t).withCases("vi")
	c.regs.mu.Lock()
	c.regs.regs[0].Channel = "zalo"
	c.regs.mu.Unlock()
	out := c.allocateAll()
	told := false
	for _, n := range c.notices {
		if n.ChatID == parentA {
			told = n.Channel == "zalo"
			if !told {
				t.Errorf("the Zalo parent was addressed on %q", n.Channel)
			}
		}
	}
	if !told || !strings.Contains(allText(out), msg(c.e, langVI, "alloc.parents_told", "Count", 3)) {
		t.Errorf("the parent on Zalo was not told there:%s", dump(out))
	}
}

func TestAllocate_Conflict(t *testing.T) {
	c := newChat(t).withCases("vi").become(eduID, "vi")
	out := c.send(cmd("allocate"))
	c.cases.fail("ConfirmAllocations", campaign.Errorf(campaign.ECONFLICT, "someone else"))
	out = c.send(press(dataWith(t, out, "a:ok:")))
	if allText(out) != msg(c.e, langVI, "alloc.conflict") || c.st.Flow != "" {
		t.Errorf("state %+v%s", c.st, dump(out))
	}
}

func TestAllocate_StoreFailures(t *testing.T) {
	for _, method := range []string{"Proposal", "CaseByCode"} {
		c := newChat(t).withCases("vi").become(eduID, "vi")
		c.cases.fail(method, errors.New("timeout"))
		if _, err := c.trySend(cmd("allocate")); err == nil {
			t.Errorf("%s failing: no error", method)
		}
	}
}

func TestAllocate_OlderProposalIsStale(t *testing.T) {
	c := newChat(t).withCases("vi").become(eduID, "vi")
	old := c.send(cmd("allocate"))
	c.send(cmd("allocate"))
	if c.st.IdempotencyKey != "key-2" {
		t.Fatalf("key %q", c.st.IdempotencyKey)
	}
	out := c.send(press(dataWith(t, old, "a:ok:")))
	if !strings.HasPrefix(allText(out), msg(c.e, langVI, "alloc.stale")) || out[0].Ack != msg(c.e, langVI, "common.stale") {
		t.Errorf("old proposal's confirm:%s", dump(out))
	}
	if n := c.cases.callCount("ConfirmAllocations"); n != 0 || c.st.Step != allocStepReview {
		t.Errorf("%d confirmations; state %+v", n, c.st)
	}
}

func TestAllocate_FormInProgress(t *testing.T) {
	c := newChat(t).withCases("vi").become(eduID, "vi")
	c.send(press("g:register"))
	c.send(press("r:consent:yes"))
	out := c.send(cmd("allocate"))
	if !strings.HasPrefix(allText(out), msg(c.e, langVI, "staff.finish_form")) || c.st.Flow != FlowRegistration || c.cases.callCount("Proposal") != 0 {
		t.Errorf("state %+v%s", c.st, dump(out))
	}
}

func TestAllocate_RevokedBetweenProposalAndConfirm(t *testing.T) {
	c := newChat(t).withCases("vi").become(eduID, "vi")
	out := c.send(cmd("allocate"))
	if err := c.staff.RevokeStaff(t.Context(), "telegram", eduID, "test"); err != nil {
		t.Fatal(err)
	}
	out = c.send(press(dataWith(t, out, "a:ok:")))
	if allText(out) != msg(c.e, langVI, "staff.refused") || c.st.Flow != "" || c.cases.callCount("ConfirmAllocations") != 0 {
		t.Errorf("state %+v%s", c.st, dump(out))
	}
}

func TestAllocLine_RoundTrip(t *testing.T) {
	l := allocLine{
		alloc: campaign.Allocation{Code: "TD-000007", Points: 34, DeviceLabel: "TB-000001", DeviceType: campaign.DeviceTablet,
			Stock: []campaign.StockKind{campaign.StockSIM4G, campaign.StockInternetPackage}, Reasons: []campaign.MatchReason{campaign.MatchLevelFit}},
		level: campaign.LevelPrimary, grade: 4, ward: wardTD,
		score: campaign.Score{Points: 34, Reasons: []campaign.Reason{{Key: "poor", Points: 30}, {Key: "device_none", Points: 4}}},
	}
	enc, ok := l.encode()
	if !ok {
		t.Fatal("not encoded")
	}
	got, ok := decodeAllocLine(enc)
	if !ok || fmt.Sprint(got) != fmt.Sprint(l) {
		t.Errorf("round trip\n got %+v\nwant %+v", got, l)
	}
	conn := allocLine{alloc: campaign.Allocation{Code: "TD-000008", Stock: []campaign.StockKind{campaign.StockUSBWiFi},
		Reasons: []campaign.MatchReason{campaign.MatchConnectivityOnly}}}
	if enc, ok := conn.encode(); !ok {
		t.Error("connectivity only not encoded")
	} else if got, ok := decodeAllocLine(enc); !ok || got.alloc.DeviceLabel != "" || !slices.Equal(got.alloc.Stock, conn.alloc.Stock) {
		t.Errorf("connectivity only: %+v", got)
	}
	if _, ok := (allocLine{alloc: campaign.Allocation{Code: "TD|1"}}).encode(); ok {
		t.Error("a code with a separator was encoded")
	}
	for _, bad := range []string{"", "TD-1|x", "TD-1|||||||||", "TD-1||||x|primary|1|||", "TD-1||||1|primary|1|||poor"} {
		if _, ok := decodeAllocLine(bad); ok {
			t.Errorf("decoded %q", bad)
		}
	}
}
