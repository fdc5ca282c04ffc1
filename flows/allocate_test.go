package flows

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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
	c.staff.Add(eduID, "Lê Văn Giáo", campaign.RoleEducationOffice, "")
	c.staff.Add(wardOffID, "Phạm Thị Phường", campaign.RoleWardOfficial, wardLT)
	c.staff.Add(cultureID, "Võ Văn Hóa", campaign.RoleCultureInfo, "")
	c.staff.Add(volunteerID, "Trần Văn Tình", campaign.RoleVolunteer, "")
	c.staff.Add(officialID, "Phạm Thị Mai", campaign.RoleCityOfficial, "")
	c.pledges.Append(campaign.Pledge{
		ID: 45, Code: "PL-000045", Status: campaign.PledgeReceived, Channel: "telegram", ChatID: donorChat,
		Language: donorLang, DonorKind: campaign.DonorIndividual, DonorName: "Nguyễn Văn An",
		Items: []campaign.PledgeItem{{Kind: campaign.ItemLaptop, Quantity: 1, Used: true, Complete: true}},
	})
	c.cases.AddReadyDevice(campaign.DeviceLaptop, wardLT, "PL-000045")
	c.cases.AddReadyDevice(campaign.DeviceLaptop, "", "")
	c.cases.AddReadyDevice(campaign.DeviceTablet, wardTD, "")
	c.cases.AddStock(campaign.StockSIM4G, 1)
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
		r := c.cases.AddRegistration(campaign.Registration{
			Status: campaign.StatusVerified, CampaignID: "thu-duc-2021", Channel: "telegram", ChatID: ch.chat, UserID: ch.chat,
			Language: ch.lang, ParentName: ch.parent, ParentPhone: "+8491234" + ch.chat[:4], StudentName: ch.student,
			BirthDate: time.Date(2010, 5, 9, 0, 0, 0, 0, time.UTC), Level: ch.level, Grade: ch.grade, School: ch.school,
			WardCode: ch.ward, Address: "12 đường số 5, khu phố 3", Circumstances: ch.circ, DeviceSituation: ch.situation, Needs: ch.needs,
		})
		if ch.chat == "3005" {
			c.cases.AddHelped(r.StudentName, r.BirthDate)
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

// cityDay is the seeded day of issue 13: 739 children matched at once, in twelve wards.
var cityDay = []int{45, 80, 60, 72, 55, 90, 38, 66, 70, 52, 61, 50}

const cityMatches = 739

// withCityDay gives the chat a city's day to allocate, and an education official: 739 verified
// children in the campaign's first twelve wards (cityDay), each matched by Match with the type
// asked for (a tablet; a laptop; a laptop and a SIM; or an internet package alone), every second
// device kept in the child's ward; and 21 who wait: 12 helped before and 9 who ask for a USB
// Wi-Fi, of which there is none. Parents are on Telegram (every fifth in English).
func (c *convo) withCityDay() *convo {
	c.t.Helper()
	c.staff.Add(eduID, "Lê Văn Giáo", campaign.RoleEducationOffice, "")
	levels := []campaign.SchoolLevel{campaign.LevelPrimary, campaign.LevelLowerSecondary, campaign.LevelUpperSecondary}
	grades := [][]int{{1, 2, 3, 4, 5}, {6, 7, 8, 9}, {10, 11, 12}}
	circs := [][]campaign.Circumstance{{campaign.CircumstancePoor}, {campaign.CircumstanceNearPoor}, {campaign.CircumstanceOrphanOneCovid},
		{campaign.CircumstanceCovidHardship}, {campaign.CircumstancePoor, campaign.CircumstanceCovidHardship}}
	situations := []campaign.DeviceSituation{campaign.SituationNone, campaign.SituationSharesPhone, campaign.SituationBroken}
	sims, packages := 0, 0
	add := func(i int, ward string, needs []campaign.Need) campaign.Registration {
		lang := "vi"
		if i%5 == 4 {
			lang = "en"
		}
		level := levels[i%3]
		chat := fmt.Sprint(500000 + i)
		return c.cases.AddRegistration(campaign.Registration{
			Status: campaign.StatusVerified, CampaignID: "thu-duc-2021", Channel: "telegram", ChatID: chat, UserID: chat,
			Language: lang, ParentName: fmt.Sprint("Phụ huynh ", i), ParentPhone: fmt.Sprintf("+8490%07d", i),
			StudentName: fmt.Sprint("Học sinh ", i), BirthDate: time.Date(2008+i%10, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC),
			Level: level, Grade: grades[i%3][i%len(grades[i%3])], School: "Trường " + string(level), WardCode: ward,
			Address: fmt.Sprint(i, " đường số 1"), Circumstances: circs[i%len(circs)], DeviceSituation: situations[i%3], Needs: needs,
		})
	}
	i := 0
	for w, n := range cityDay {
		ward := c.e.cfg.Campaign.Wards[w].Code
		for range n {
			kept := ""
			if i%2 == 0 {
				kept = ward
			}
			switch i % 4 {
			case 0:
				add(i, ward, []campaign.Need{campaign.NeedTablet})
				c.cases.AddReadyDevice(campaign.DeviceTablet, kept, "")
			case 1:
				add(i, ward, []campaign.Need{campaign.NeedLaptop})
				c.cases.AddReadyDevice(campaign.DeviceLaptop, kept, "")
			case 2:
				add(i, ward, []campaign.Need{campaign.NeedLaptop, campaign.NeedSIM4G})
				c.cases.AddReadyDevice(campaign.DeviceLaptop, kept, "")
				sims++
			default:
				add(i, ward, []campaign.Need{campaign.NeedInternetPackage})
				packages++
			}
			i++
		}
	}
	c.cases.AddStock(campaign.StockSIM4G, sims)
	c.cases.AddStock(campaign.StockInternetPackage, packages)
	for k := range 21 {
		ward := c.e.cfg.Campaign.Wards[k%len(cityDay)].Code
		if k < 12 {
			r := add(i, ward, []campaign.Need{campaign.NeedTablet})
			c.cases.AddHelped(r.StudentName, r.BirthDate)
		} else {
			add(i, ward, []campaign.Need{campaign.NeedUSBWiFi})
		}
		i++
	}
	return c
}

// sendFewNotices is send, but the golden file keeps only the first keep of the notices the turn
// queued (each is checked by checkNotices all the same): a confirmation of hundreds of children
// queues a notice per family, and the golden shows what the officials see and two of them.
func (c *convo) sendFewNotices(in Input, keep int) []Output {
	c.t.Helper()
	record := c.record
	c.record = false
	out := c.send(in)
	c.record = record
	if record {
		c.turns = append(c.turns, goldenTurnOf(in, out, c.notices[:min(keep, len(c.notices))], c.st))
	}
	return out
}

// checkAllNoticed fails unless the last input queued one notice on the notice lane for each of
// want families, each to its own chat under its own key.
func (c *convo) checkAllNoticed(want int) {
	c.t.Helper()
	chats, keys := map[string]bool{}, map[string]bool{}
	for _, m := range c.notices {
		if m.Lane != campaign.OutboxNotice {
			c.t.Errorf("notice %q on lane %q", m.Key, m.Lane)
		}
		chats[m.Channel+":"+m.ChatID], keys[m.Key] = true, true
	}
	if len(c.notices) != want || len(chats) != want || len(keys) != want {
		c.t.Errorf("%d notices to %d chats under %d keys, want %d families told once each", len(c.notices), len(chats), len(keys), want)
	}
}

// allocScenarios are the golden conversations of /allocate (testdata/allocate) and of deliveries
// (testdata/deliver): volunteers and parents.
func allocScenarios() []scenario {
	return []scenario{
		// A city's day (issue 13): 739 matches confirmed in nine inputs. The official looks at a
		// ward, leaves two children out of its first page by typing, confirms the page (23), puts
		// both back and confirms the rest of the ward (22), looks at every ward and confirms all
		// 694 left after one question. Each family is told by its own notice on the notice lane
		// (the golden keeps two of each confirmation's; checkAllNoticed counts them all).
		{goldenAllocate, "city_scale", func(c *convo) {
			c.record = false
			c.withCityDay().become(eduID, "vi")
			c.record = true
			out := c.send(cmd("allocate"))
			ward := c.e.cfg.Campaign.Wards[0].Code
			c.send(press(dataWith(c.t, out, "a:v:"+allocTag(c.st.IdempotencyKey)+":"+ward+":1")))
			out = c.send(text("bỏ 2, 4"))
			c.sendFewNotices(press(dataWith(c.t, out, "a:cp:")), 2)
			c.checkAllNoticed(23)
			out = c.send(text("chọn 1, 2"))
			out = c.sendFewNotices(press(dataWith(c.t, out, "a:cp:")), 2)
			c.checkAllNoticed(22)
			out = c.send(press(dataWith(c.t, out, "a:v:"+allocTag(c.st.IdempotencyKey)+":"+allocAllWards+":1")))
			out = c.send(press(dataWith(c.t, out, "a:ca:")))
			c.sendFewNotices(press(dataWith(c.t, out, "a:cy:")), 2)
			c.checkAllNoticed(cityMatches - 45)
			if n := len(c.turns); n != 9 {
				c.t.Errorf("%d inputs, want 9", n)
			}
			made := len(c.cases.Deliveries())
			if made != cityMatches || c.st.Flow != "" {
				c.t.Errorf("%d deliveries made, want %d; state %+v", made, cityMatches, c.st)
			}
		}},
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
			c.devices.Edit(func(ds []campaign.Device) { ds[2].State = campaign.DeviceChecking })
			c.regs.Edit(func(rs []campaign.Registration) { rs[2].Status = campaign.StatusRejected })
			c.send(press(dataWith(c.t, out, "a:ok:")))
		}},
		{goldenAllocate, "nothing_to_allocate", func(c *convo) {
			c.staff.Add(eduID, "Lê Văn Giáo", campaign.RoleEducationOffice, "")
			c.become(eduID, "vi")
			c.send(cmd("allocate"))
			c.record = false
			for i := range 3 {
				c.cases.AddRegistration(campaign.Registration{
					Status: campaign.StatusVerified, Channel: "telegram", ChatID: fmt.Sprint(3100 + i), StudentName: fmt.Sprint("Em ", i),
					Level: campaign.LevelPrimary, Grade: 2, WardCode: wardLT, DeviceSituation: campaign.SituationNone,
					Circumstances: []campaign.Circumstance{campaign.CircumstancePoor}, Needs: []campaign.Need{campaign.NeedTablet},
				})
			}
			c.record = true
			c.send(cmd("allocate"))
			c.cases.AddStock(campaign.StockUSBWiFi, 5)
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
		a[allocAnswerReady] != "3" || a[allocAnswerStock] != "sim_4g=1" {
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
	if n := c.cases.CallCount("ConfirmAllocations"); n != 0 {
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
			refused := c.audit.Refused()
			if len(refused) != 1 || refused[0].Subject != string(campaign.ActionAllocate) || refused[0].Actor != "telegram:"+tt.id {
				t.Errorf("audit %+v", refused)
			}
			if n := c.cases.CallCount("Proposal"); n != 0 || c.st.Flow != "" {
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
	c.staff.Add(eduID, "Lê Văn Giáo", campaign.RoleEducationOffice, "")
	for i := range allocShown {
		c.cases.AddRegistration(campaign.Registration{
			Status: campaign.StatusVerified, Channel: "telegram", ChatID: fmt.Sprint(3100 + i), StudentName: fmt.Sprint("Em ", i),
			Level: campaign.LevelUpperSecondary, Grade: 11, WardCode: wardLT, DeviceSituation: campaign.SituationNone,
			Circumstances: []campaign.Circumstance{campaign.CircumstanceOrphanBothCovid, campaign.CircumstancePoor, campaign.CircumstanceCovidHardship, campaign.CircumstanceOther},
			Needs:         []campaign.Need{campaign.NeedLaptop, campaign.NeedSIM4G, campaign.NeedUSBWiFi, campaign.NeedInternetPackage},
		})
		c.cases.AddReadyDevice(campaign.DeviceLaptop, wardLT, "")
	}
	for _, k := range campaign.StockKinds {
		c.cases.AddStock(k, 100)
	}
	c.become(eduID, "vi")
	out := c.send(cmd("allocate"))
	if n := len(allocLineAnswers(c.st)); n != allocShown || c.st.Step != allocStepReview {
		t.Fatalf("%d lines shown at %q", n, c.st.Step)
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
	if !strings.HasPrefix(allText(out), msg(c.e, langVI, "alloc.none_selected")) || c.cases.CallCount("ConfirmAllocations") != 0 {
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
	c.cases.Fail("ConfirmAllocations", errors.New("connection reset"))
	if _, err := c.trySend(press(dataWith(t, out, "a:ok:"))); err == nil {
		t.Fatal("store error not returned")
	}
	if !statesEqual(c.st, before) {
		t.Errorf("state changed: %+v", c.st)
	}
	c.cases.Fail("ConfirmAllocations", nil)
	out = c.send(press(dataWith(t, out, "a:ok:")))
	if keys := c.cases.KeysOf("ConfirmAllocations"); !slices.Equal(keys, []string{"key-1", "key-1"}) {
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
	if keys := c.cases.KeysOf("ConfirmAllocations"); !slices.Equal(keys, []string{"key-1", "key-1"}) {
		t.Errorf("keys %q", keys)
	}
	n := len(c.cases.Deliveries())
	if n != 3 || allText(first) != allText(again) {
		t.Errorf("%d deliveries; first%s\nagain%s", n, dump(first), dump(again))
	}
	for _, code := range []string{"TD-000001", "TD-000002", "TD-000003"} {
		if r := c.cases.Registration(code); r.Status != campaign.StatusAllocated {
			t.Errorf("%s is %s", code, r.Status)
		}
	}
	if d := c.cases.Device("TB-000123"); d.State != campaign.DeviceAllocated {
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
	c.regs.Edit(func(rs []campaign.Registration) { rs[0].Channel = "zalo" })
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
	c.cases.Fail("ConfirmAllocations", campaign.Errorf(campaign.ECONFLICT, "someone else"))
	out = c.send(press(dataWith(t, out, "a:ok:")))
	if allText(out) != msg(c.e, langVI, "alloc.conflict") || c.st.Flow != "" {
		t.Errorf("state %+v%s", c.st, dump(out))
	}
}

func TestAllocate_StoreFailures(t *testing.T) {
	for _, method := range []string{"Proposal"} {
		c := newChat(t).withCases("vi").become(eduID, "vi")
		c.cases.Fail(method, errors.New("timeout"))
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
	if n := c.cases.CallCount("ConfirmAllocations"); n != 0 || c.st.Step != allocStepReview {
		t.Errorf("%d confirmations; state %+v", n, c.st)
	}
}

func TestAllocate_FormInProgress(t *testing.T) {
	c := newChat(t).withCases("vi").become(eduID, "vi")
	c.send(press("g:register"))
	c.send(press("r:consent:yes"))
	out := c.send(cmd("allocate"))
	if !strings.HasPrefix(allText(out), msg(c.e, langVI, "staff.finish_form")) || c.st.Flow != FlowRegistration || c.cases.CallCount("Proposal") != 0 {
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
	if allText(out) != msg(c.e, langVI, "staff.refused") || c.st.Flow != "" || c.cases.CallCount("ConfirmAllocations") != 0 {
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

// cityButtons returns every button of out.
func cityButtons(out []Output) []Button {
	var bs []Button
	for _, o := range out {
		for _, row := range o.Buttons {
			bs = append(bs, row...)
		}
	}
	return bs
}

func TestAllocCity_Summary(t *testing.T) {
	c := newChat(t).withCityDay().become(eduID, "vi")
	out := c.send(cmd("allocate"))
	if c.st.Step != allocStepList || c.st.IdempotencyKey != "key-1" || c.st.Answers[allocAnswerView] != "" {
		t.Fatalf("state %+v", c.st)
	}
	p, ok := decodeCity(c.st.Answers[allocAnswerLines], c.st.Answers[allocAnswerWards], c.st.Answers[allocAnswerOff])
	if !ok || len(p.lines) != cityMatches || slices.Contains(p.off, true) {
		t.Fatalf("snapshot of %d lines (ok %v)", len(p.lines), ok)
	}
	// Grouped by ward in the campaign's order, highest priority first within a ward.
	wards := c.e.cfg.Campaign.Wards
	at := 0
	for w, n := range cityDay {
		for _, l := range p.lines[at : at+n] {
			if l.ward != wards[w].Code {
				t.Fatalf("line of %s in ward %s, want %s", l.code, l.ward, wards[w].Code)
			}
		}
		at += n
	}
	if p.lines[0].code != "TD-000013" || c.cases.CallCount("ConfirmAllocations") != 0 {
		t.Errorf("first line %+v", p.lines[0])
	}
	text := allText(out)
	for _, s := range []string{msg(c.e, langVI, "alloc.city_title", "Count", cityMatches, "Wards", 12), "Linh Xuân 45 · Bình Chiểu 80", "Trường Thọ 50"} {
		if !strings.Contains(text, s) {
			t.Errorf("summary lacks %q:%s", s, dump(out))
		}
	}
	// More than five buttons are a numbered list on Zalo: no label may hold a lone number that a
	// typed line number would be taken for.
	buttons := cityButtons(out)
	if len(buttons) != 12+3 {
		t.Errorf("%d buttons:%s", len(buttons), dump(out))
	}
	for _, b := range buttons {
		if strings.ContainsAny(b.Text, "0123456789") {
			t.Errorf("summary button %q holds a number", b.Text)
		}
	}
}

// A page never passes messageMax, however long its lines, headings and the words before it; a
// page has at most five buttons, so Zalo shows them as buttons and leaves typed numbers to the
// flow.
func TestAllocCity_PagesWithinLimits(t *testing.T) {
	for _, lang := range []string{langVI, langEN} {
		c := newChat(t)
		c.staff.Add(eduID, "Lê Văn Giáo", campaign.RoleEducationOffice, "")
		// One child in each of the campaign's wards, each with the longest line there can be: a
		// laptop and every kind of stock, grade 12, many points.
		for i, w := range c.e.cfg.Campaign.Wards {
			c.cases.AddRegistration(campaign.Registration{
				Status: campaign.StatusVerified, Channel: "telegram", ChatID: fmt.Sprint(3100 + i), StudentName: fmt.Sprint("Em ", i),
				Level: campaign.LevelUpperSecondary, Grade: 12, WardCode: w.Code, DeviceSituation: campaign.SituationNone,
				Circumstances: []campaign.Circumstance{campaign.CircumstanceOrphanBothCovid, campaign.CircumstancePoor, campaign.CircumstanceCovidHardship, campaign.CircumstanceOther},
				Needs:         []campaign.Need{campaign.NeedTablet, campaign.NeedSIM4G, campaign.NeedUSBWiFi, campaign.NeedInternetPackage},
			})
			c.cases.AddReadyDevice(campaign.DeviceTablet, "", "")
		}
		for _, k := range campaign.StockKinds {
			c.cases.AddStock(k, 100)
		}
		c.become(eduID, lang)
		out := c.send(cmd("allocate"))
		c.send(press(dataWith(t, out, "a:v:"+allocTag(c.st.IdempotencyKey)+":*:1")))
		// The words before the page as long as they get: ten lines left out and more, ten numbers
		// not in the proposal and more.
		out = c.send(text("bỏ 1-20, 900-930"))
		if len(out) != 1 || !strings.Contains(out[0].Text, "TD-000025") {
			t.Fatalf("%s: page:%s", lang, dump(out))
		}
		n := utf8.RuneCountInString(out[0].Text)
		t.Logf("%s: the longest page has %d characters", lang, n)
		if n > messageMax {
			t.Errorf("%s: page of %d characters", lang, n)
		}
		for page := 1; page <= 2; page++ {
			out = c.send(press(allocCityData("v", allocTag(c.st.IdempotencyKey), allocAllWards, strconv.Itoa(page))))
			if b := cityButtons(out); len(b) > 5 {
				t.Errorf("%s: page %d has %d buttons", lang, page, len(b))
			}
		}
	}
}

// On the seeded day every page, of every view, fits one Zalo message (2,000 characters).
func TestAllocCity_SeededPagesFitZalo(t *testing.T) {
	c := newChat(t).withCityDay().become(eduID, "en")
	c.send(cmd("allocate"))
	longest := 0
	for _, scope := range []string{allocAllWards, c.e.cfg.Campaign.Wards[5].Code} {
		for page := 1; ; page++ {
			out := c.send(press(allocCityData("v", allocTag(c.st.IdempotencyKey), scope, strconv.Itoa(page))))
			longest = max(longest, utf8.RuneCountInString(out[0].Text))
			if len(cityButtons(out)) > 5 {
				t.Errorf("%s page %d: %d buttons", scope, page, len(cityButtons(out)))
			}
			if !slices.ContainsFunc(cityButtons(out), func(b Button) bool { return strings.HasSuffix(b.Data, fmt.Sprintf(":%s:%d", scope, page+1)) }) {
				break
			}
		}
	}
	if longest > 2000 {
		t.Errorf("the longest page has %d characters", longest)
	}
}

func TestParseAllocMarks(t *testing.T) {
	for _, tc := range []struct {
		in   string
		mode int
		nums []int
	}{
		{"bỏ 3", -1, []int{3}},
		{"Bỏ 3, 5-7", -1, []int{3, 5, 6, 7}},
		{"bo 3 – 5 và 9", -1, []int{3, 4, 5, 9}},
		{"bỏ chọn số 12", -1, []int{12}},
		{"không 4;5", -1, []int{4, 5}},
		{"-8", -1, []int{8}},
		{"drop 2 and 4", -1, []int{2, 4}},
		{"chọn 3", 1, []int{3}},
		{"chọn lại 3-4", 1, []int{3, 4}},
		{"+ 6", 1, []int{6}},
		{"add 1, 2", 1, []int{1, 2}},
		{"3", 0, []int{3}},
		{"#7 8", 0, []int{7, 8}},
		{"dòng 2-3", 0, []int{2, 3}},
	} {
		mode, nums, ok := parseAllocMarks(tc.in)
		if !ok || mode != tc.mode || !slices.Equal(nums, tc.nums) {
			t.Errorf("parseAllocMarks(%q) = %d %v %v, want %d %v", tc.in, mode, nums, ok, tc.mode, tc.nums)
		}
	}
	for _, in := range []string{"", "bỏ", "linh trung", "bỏ em 3", "bone 3", "bỏ 5-3", "3 em", "tất cả", "bỏ 3x"} {
		if mode, nums, ok := parseAllocMarks(in); ok {
			t.Errorf("parseAllocMarks(%q) = %d %v, want not a mark", in, mode, nums)
		}
	}
	if _, nums, ok := parseAllocMarks("bỏ 1-5000"); !ok || len(nums) != allocMarksMost {
		t.Errorf("a range of 5,000 gave %d lines", len(nums))
	}
}

func TestAllocCity_SnapshotRoundTrip(t *testing.T) {
	p := cityProposal{lines: []cityLine{
		{code: "TD-000001", label: "TB-000001", ward: wardLT},
		{code: "TD-000002", stock: []campaign.StockKind{campaign.StockSIM4G, campaign.StockInternetPackage}, ward: wardLT},
		{code: "TD-000003", label: "TB-000002", stock: []campaign.StockKind{campaign.StockUSBWiFi}},
		{code: "TD-000004", label: "TB-000003", ward: wardTD},
	}, off: []bool{false, true, true, false}}
	lines, wards := p.encode()
	if wards != wardLT+":2,-:1,"+wardTD+":1" {
		t.Errorf("wards %q", wards)
	}
	got, ok := decodeCity(lines, wards, encodeRanges(p.off))
	if !ok || fmt.Sprint(got) != fmt.Sprint(p) {
		t.Errorf("round trip\n got %+v\nwant %+v", got, p)
	}
	for _, bad := range [][2]string{{"", ""}, {lines, ""}, {lines, wardLT + ":5"}, {"TD-1|x", wardLT + ":1"}, {"|TB-1|", wardLT + ":1"}, {"TD-1||", wardLT + ":1"}} {
		if _, ok := decodeCity(bad[0], bad[1], ""); ok {
			t.Errorf("decoded %q", bad)
		}
	}
	if got := encodeRanges([]bool{true, false, true, true, true, false, true}); got != "1,3-5,7" {
		t.Errorf("ranges %q", got)
	}
	if got := decodeRanges("1,3-5,7,9-12,x,0", 7); !slices.Equal(got, []bool{true, false, true, true, true, false, true}) {
		t.Errorf("decoded ranges %v", got)
	}
}

// What changed between the proposal and the confirmation (a device sent back for checking, a
// registration refused) is marked on the page, then reported and dropped, never fatal.
func TestAllocCity_StaleReported(t *testing.T) {
	c := newChat(t).withCityDay().become(eduID, "vi")
	c.send(cmd("allocate"))
	p, _ := c.city0()
	c.devices.Edit(func(ds []campaign.Device) {
		for i := range ds {
			if ds[i].Label == p.lines[0].label {
				ds[i].State = campaign.DeviceChecking
			}
		}
	})
	c.regs.Update(p.lines[1].code, func(r *campaign.Registration) { r.Status = campaign.StatusRejected })
	out := c.send(press(allocCityData("v", allocTag(c.st.IdempotencyKey), allocAllWards, "1")))
	for _, s := range []string{"1. ✅ " + p.lines[0].code + " → " + p.lines[0].label + " ⚠️", "2. ✅ " + p.lines[1].code + " → ", msg(c.e, langVI, "alloc.page_changed")} {
		if !strings.Contains(allText(out), s) {
			t.Errorf("page lacks %q:%s", s, dump(out))
		}
	}
	out = c.send(press(dataWith(t, out, "a:ca:")))
	out = c.send(press(dataWith(t, out, "a:cy:")))
	stale := []string{p.lines[0].code, p.lines[1].code}
	if !strings.Contains(allText(out), msg(c.e, langVI, "alloc.stale_items", "Count", 2, "Codes", strings.Join(stale, ", "))) ||
		!strings.Contains(allText(out), msg(c.e, langVI, "alloc.city_finished", "Count", cityMatches-2)) || c.st.Flow != "" {
		t.Errorf("report:%s", dump(out))
	}
	if len(c.notices) != cityMatches-2 {
		t.Errorf("%d families told, want %d", len(c.notices), cityMatches-2)
	}
}

// city0 reads the chat's snapshot.
func (c *convo) city0() (cityProposal, bool) {
	return decodeCity(c.st.Answers[allocAnswerLines], c.st.Answers[allocAnswerWards], c.st.Answers[allocAnswerOff])
}

// A confirmation of everything that fails keeps the state and its key: pressed again it makes
// them all once; run again from the state before (a crash before the state was saved) it makes
// nothing more and says the same.
func TestAllocCity_RetriedConfirmWritesOnce(t *testing.T) {
	c := newChat(t).withCityDay().become(eduID, "vi")
	out := c.send(cmd("allocate"))
	out = c.send(press(dataWith(t, out, "a:ca:")))
	before := c.st
	c.cases.Fail("ConfirmAllocations", errors.New("connection reset"))
	if _, err := c.trySend(press(dataWith(t, out, "a:cy:"))); err == nil {
		t.Fatal("store error not returned")
	}
	if !statesEqual(c.st, before) {
		t.Errorf("state changed: %+v", c.st)
	}
	c.cases.Fail("ConfirmAllocations", nil)
	first := c.send(press(dataWith(t, out, "a:cy:")))
	c.st = before
	again := c.send(press(dataWith(t, out, "a:cy:")))
	if keys := c.cases.KeysOf("ConfirmAllocations"); !slices.Equal(keys, []string{"key-1", "key-1", "key-1"}) {
		t.Errorf("keys %q", keys)
	}
	n := len(c.cases.Deliveries())
	if n != cityMatches || allText(first) != allText(again) || len(c.notices) != 0 {
		t.Errorf("%d deliveries, %d notices queued again; first%s\nagain%s", n, len(c.notices), dump(first), dump(again))
	}
}

// After a confirmation the lines left are numbered afresh under a new key: the buttons and the
// numbers of the messages before are stale, never acting on other children.
func TestAllocCity_OldButtonsStale(t *testing.T) {
	c := newChat(t).withCityDay().become(eduID, "vi")
	out := c.send(cmd("allocate"))
	page := c.send(press(dataWith(t, out, "a:v:")))
	c.send(press(dataWith(t, page, "a:cp:")))
	if c.st.IdempotencyKey != "key-2" || c.cases.CallCount("ConfirmAllocations") != 1 {
		t.Fatalf("state %+v", c.st)
	}
	for _, d := range []string{dataWith(t, page, "a:cp:"), dataWith(t, page, "a:ca:"), dataWith(t, out, "a:ca:"), dataWith(t, page, "a:s:")} {
		got := c.send(press(d))
		if !strings.Contains(allText(got), msg(c.e, langVI, "alloc.stale")) {
			t.Errorf("%s:%s", d, dump(got))
		}
	}
	if n := c.cases.CallCount("ConfirmAllocations"); n != 1 {
		t.Errorf("%d confirmations", n)
	}
	// «Confirm all» of a view asks first; «Back» returns to the view without confirming.
	out = c.send(press(allocCityData("ca", allocTag("key-2"), allocAllWards)))
	if c.st.Step != allocStepSure || !strings.Contains(allText(out), msg(c.e, langVI, "alloc.sure", "Count", cityMatches-25, "Scope", msg(c.e, langVI, "alloc.scope_all"))) {
		t.Errorf("question:%s", dump(out))
	}
	c.send(text("có"))
	if c.st.Step != allocStepSure || c.cases.CallCount("ConfirmAllocations") != 1 {
		t.Errorf("typed text confirmed: %+v", c.st)
	}
	out = c.send(press(dataWith(t, out, "a:v:")))
	if c.st.Step != allocStepList || c.st.Answers[allocAnswerView] != allocAllWards || c.cases.CallCount("ConfirmAllocations") != 1 {
		t.Errorf("back: %+v%s", c.st, dump(out))
	}
	// A «yes» for another view than the one asked about is stale.
	c.send(press(allocCityData("ca", allocTag("key-2"), c.e.cfg.Campaign.Wards[1].Code)))
	c.send(press(allocCityData("cy", allocTag("key-2"), allocAllWards)))
	if n := c.cases.CallCount("ConfirmAllocations"); n != 1 {
		t.Errorf("%d confirmations", n)
	}
}

func TestAllocCity_Typed(t *testing.T) {
	c := newChat(t).withCityDay().become(eduID, "vi")
	c.send(cmd("allocate"))
	for _, tc := range []struct{ in, want, view string }{
		{"bỏ 3", msg(c.e, langVI, "alloc.typed_open_page"), ""},
		{"xin chào", msg(c.e, langVI, "alloc.typed_how"), ""},
		{"bình chiểu", "📄 Phường Bình Chiểu · trang 1/4", c.e.cfg.Campaign.Wards[1].Code},
		{"bỏ 50, 46, 2000", "⬜ Đã bỏ chọn: 46 (", c.e.cfg.Campaign.Wards[1].Code},
		{"bỏ 46", msg(c.e, langVI, "alloc.marked_none"), c.e.cfg.Campaign.Wards[1].Code},
		{"46", "✅ Đã chọn lại: 46 (", c.e.cfg.Campaign.Wards[1].Code},
		{"Tất cả", "📄 Tất cả các phường · trang 1/30", allocAllWards},
	} {
		out := c.send(text(tc.in))
		if !strings.HasPrefix(allText(out), tc.want) || c.st.Answers[allocAnswerView] != tc.view || c.st.Step != allocStepList {
			t.Errorf("%q: view %q%s", tc.in, c.st.Answers[allocAnswerView], dump(out))
		}
	}
	if got := c.st.Answers[allocAnswerOff]; got != "50" {
		t.Errorf("left out %q, want line 50", got)
	}
	out := c.send(text("bỏ 2000"))
	if !strings.Contains(allText(out), msg(c.e, langVI, "alloc.marked_unknown", "List", "2000")) {
		t.Errorf("unknown line:%s", dump(out))
	}
	out = c.send(cmd("help"))
	if !strings.Contains(allText(out), msg(c.e, langVI, "alloc.help_list")) || c.st.Step != allocStepList {
		t.Errorf("help:%s", dump(out))
	}
	out = c.send(cmd("cancel"))
	if c.st.Flow != "" || c.cases.CallCount("ConfirmAllocations") != 0 {
		t.Errorf("cancel: %+v%s", c.st, dump(out))
	}
}

// Eleven matches are more than one message shows line by line: the proposal goes by ward.
func TestAllocCity_FromElevenLines(t *testing.T) {
	c := newChat(t)
	c.staff.Add(eduID, "Lê Văn Giáo", campaign.RoleEducationOffice, "")
	for i := range allocShown + 1 {
		c.cases.AddRegistration(campaign.Registration{
			Status: campaign.StatusVerified, Channel: "telegram", ChatID: fmt.Sprint(3100 + i), StudentName: fmt.Sprint("Em ", i),
			Level: campaign.LevelPrimary, Grade: 2, WardCode: wardLT, DeviceSituation: campaign.SituationNone,
			Circumstances: []campaign.Circumstance{campaign.CircumstancePoor}, Needs: []campaign.Need{campaign.NeedTablet},
		})
		c.cases.AddReadyDevice(campaign.DeviceTablet, wardLT, "")
	}
	c.become(eduID, "en")
	out := c.send(cmd("allocate"))
	if c.st.Step != allocStepList || !strings.Contains(allText(out), "Linh Trung 11") {
		t.Fatalf("state %+v%s", c.st, dump(out))
	}
	// One page: no «confirm the whole ward» beside «confirm this page».
	out = c.send(press(dataWith(t, out, "a:v:")))
	if slices.ContainsFunc(buttonData(out), func(d string) bool { return strings.HasPrefix(d, "a:ca:") }) {
		t.Errorf("a page that is the whole ward offers both:%s", dump(out))
	}
	out = c.send(text("drop 11"))
	out = c.send(press(dataWith(t, out, "a:cp:")))
	if c.st.Step != allocStepList || c.st.Answers[allocAnswerView] != "" || !strings.Contains(allText(out), msg(c.e, langEN, "alloc.city_off", "Count", 1)) {
		t.Errorf("after the page: %+v%s", c.st, dump(out))
	}
	// The one left out is all that is left, and there is nothing to confirm until it is put back.
	if slices.ContainsFunc(buttonData(out), func(d string) bool { return strings.HasPrefix(d, "a:ca:") }) {
		t.Errorf("«confirm everything» with nothing chosen:%s", dump(out))
	}
	c.send(press(dataWith(t, out, "a:v:")))
	out = c.send(text("add 1"))
	out = c.send(press(dataWith(t, out, "a:cp:")))
	if c.st.Flow != "" || !strings.Contains(allText(out), msg(c.e, langEN, "alloc.city_finished", "Count", allocShown+1)) {
		t.Errorf("end: %+v%s", c.st, dump(out))
	}
}
