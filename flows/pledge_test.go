package flows

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Typical answers of a pledge, in pieces that tests put together.
var (
	pledgeIndividual = []Input{
		press("g:pledge"), press("p:donor_kind:individual"), text("Nguyễn Văn An"), text("0912 345 678"),
	}
	pledgeBusiness = []Input{
		press("g:pledge"), press("p:donor_kind:business"), text("Công ty TNHH ABC & Cộng sự"), text("Trần Thị Bình"),
		text("0912 345 678"),
	}
	pledgeLaptops = []Input{
		press("p:item_kind:laptop"), press("p:item_condition:used"), press("p:item_quantity:2"), press("p:item_complete:yes"),
	}
	pledgeSIMs     = []Input{press("p:item_kind:sim_4g"), text("500")}
	pledgePackages = []Input{press("p:item_kind:internet_package"), press("p:item_quantity:100"), text("6")}
	pledgeMoney    = []Input{press("p:item_kind:money"), text("5tr")}
	pledgeToWard   = []Input{press("p:items:done"), press("p:delivery:ward_office"), text("linh trung"), press("p:thanks:public")}
	pledgePickup   = []Input{
		press("p:items:done"), press("p:delivery:pickup"), text("12 Võ Văn Ngân, phường Linh Chiểu"), text("15/09/2021"),
		press("p:thanks:anonymous"),
	}
)

func inputs(parts ...[]Input) []Input { return slices.Concat(parts...) }

// pledgeTo sends ins until the pledge asks step (or all are sent), and fails when it never does.
func (c *convo) pledgeTo(ins []Input, step string) []Output {
	c.t.Helper()
	var out []Output
	for _, in := range ins {
		if c.st.Flow == FlowPledge && c.st.Step == step {
			return out
		}
		out = c.send(in)
	}
	if c.st.Flow != FlowPledge || c.st.Step != step {
		c.t.Fatalf("never reached step %q: %+v\n%s", step, c.st, dump(out))
	}
	return out
}

// pledgeReviewInputs are a typical individual's pledge up to the review: 2 used laptops, 5
// million đồng, brought to the Linh Trung ward office, named in the thanks.
func pledgeReviewInputs() []Input {
	return inputs(pledgeIndividual, pledgeLaptops, []Input{press("p:items:more")}, pledgeMoney, pledgeToWard)
}

func pledgeScenarios() []scenario {
	s := []scenario{
		{FlowPledge, "pledge_individual_vi", func(c *convo) {
			c.send(cmd("start"))
			c.send(press("g:pledge"))
			c.send(press("p:donor_kind:individual"))
			c.send(text("nguyễn văn an"))
			c.send(contact("84912345678", c.userID))
			c.send(press("p:item_kind:laptop"))
			c.send(press("p:item_condition:used"))
			c.send(press("p:item_quantity:2"))
			c.send(press("p:item_complete:yes"))
			c.send(press("p:items:more"))
			c.send(press("p:item_kind:money"))
			c.send(text("5tr"))
			c.send(press("p:items:done"))
			c.send(press("p:delivery:front"))
			c.send(press("p:thanks:public"))
			c.send(press("p:review:submit"))
			c.send(cmd("pledges"))
		}},
		{FlowPledge, "pledge_business_pickup", func(c *convo) {
			c.send(cmd("start", "ungho"))
			c.send(text("doanh nghiệp"))
			c.send(text("Công ty TNHH ABC & Cộng sự"))
			c.send(text("trần thị bình"))
			c.send(text("0912 345 678"))
			c.send(text("sim"))
			c.send(text("500"))
			c.send(press("p:items:more"))
			c.send(press("p:item_kind:usb_wifi"))
			c.send(press("p:item_quantity:50"))
			c.send(text("thêm"))
			c.send(text("gói cước"))
			c.send(text("1.000"))
			c.send(text("6 tháng"))
			c.send(text("xong"))
			c.send(text("nhờ đến nhận tại địa chỉ"))
			c.send(text("12 Võ Văn Ngân, phường Linh Chiểu"))
			c.send(text("15/9/2021"))
			c.send(text("ẩn danh"))
			c.send(press("p:review:submit"))
			c.send(cmd("pledges"))
		}},
		{FlowPledge, "pledge_en", func(c *convo) {
			c.clientLang = "en-US"
			c.send(cmd("start"))
			c.send(cmd("pledge"))
			c.send(text("Individual"))
			c.send(text("Nguyen Van An"))
			c.send(text("+84 912345678"))
			c.send(text("tablet"))
			c.send(text("new"))
			c.send(text("3"))
			c.send(text("yes"))
			c.send(text("done"))
			c.send(press("p:delivery:ward_office"))
			c.send(text("linh trung"))
			c.send(text("anonymous"))
			c.send(press("p:review:submit"))
			c.send(cmd("pledges"))
		}},
		{FlowPledge, "pledge_parts_declined", func(c *convo) {
			c.record = false
			for _, in := range pledgeIndividual {
				c.send(in)
			}
			c.record = true
			c.send(press("p:item_kind:desktop"))
			c.send(press("p:item_condition:used"))
			c.send(text("1"))
			c.send(press("p:item_complete:no"))
			c.send(press("p:items:more"))
			c.send(press("p:item_kind:smartphone"))
			c.send(press("p:item_condition:used"))
			c.send(press("p:item_quantity:5"))
			c.send(text("không"))
			c.send(press("p:items:done"))
		}},
		{FlowPledge, "pledge_money_ceiling", func(c *convo) {
			c.record = false
			for _, in := range pledgeIndividual {
				c.send(in)
			}
			c.record = true
			c.send(press("p:item_kind:money"))
			c.send(text("150.000.000"))
			c.send(press("p:item_confirm:fix"))
			c.send(text("15 triệu"))
			c.send(press("p:items:more"))
			c.send(press("p:item_kind:money"))
			c.send(text("1,5 tỷ"))
			c.send(press("p:item_confirm:yes"))
			c.send(press("p:items:done"))
		}},
		{FlowPledge, "pledge_stale_buttons", func(c *convo) {
			c.send(press("g:pledge"))
			c.send(press("p:item_kind:laptop"))
			c.send(press("p:donor_kind:individual"))
			c.send(press("p:donor_kind:business"))
			c.send(press("r:consent:yes"))
			c.send(text("Nguyễn Văn An"))
			c.send(text("0912 345 678"))
			c.send(press("p:item_kind:laptop"))
			c.send(press("p:item_kind:money"))
			c.send(press("g:register"))
			c.send(press("g:resume"))
			c.send(press("p:items:!rm=7=laptop|used|2|complete"))
			c.send(press("p:review:submit"))
		}},
		{FlowPledge, "pledge_cancel_midway", func(c *convo) {
			c.send(cmd("pledges"))
			c.send(cmd("start", "pledge"))
			c.send(press("p:donor_kind:organisation"))
			c.send(text("Hội Khuyến học phường 5"))
			c.send(cmd("cancel"))
			c.send(press("p:contact_name:!help"))
			c.send(cmd("pledges"))
		}},
		{FlowPledge, "pledge_items_remove", func(c *convo) {
			c.record = false
			for _, in := range inputs(pledgeIndividual, pledgeLaptops) {
				c.send(in)
			}
			c.record = true
			c.send(press("p:items:more"))
			c.send(press("p:item_kind:!back"))
			c.send(press("p:items:more"))
			c.send(press("p:item_kind:sim_4g"))
			c.send(press("p:item_quantity:10"))
			c.send(press("p:items:!rm=1=laptop|used|2|complete"))
			c.send(press("p:items:!rm=2=sim_4g|10"))
			c.send(press("p:items:!rm=1=sim_4g|10"))
			c.send(press("p:item_kind:tablet"))
		}},
	}
	edits := []struct {
		name  string
		steps []Input
	}{
		{"donor_kind", []Input{press("p:review:edit.donor_kind"), press("p:donor_kind:telecom_operator"), text("Tổng công ty Viễn thông MobiFone"), text("Lê Văn Cường")}},
		{"donor_name", []Input{press("p:review:edit.donor_name"), text("Nguyễn Văn Bình")}},
		{"phone", []Input{press("p:review:edit.phone"), text("0987 654 321")}},
		{"items", []Input{press("p:review:edit.items"), press("p:items:!rm=2=money|5000000"), press("p:items:more"), press("p:item_kind:sim_4g"), text("20"), press("p:items:done")}},
		{"delivery", []Input{press("p:review:edit.delivery"), press("p:delivery:pickup"), text("45 Đặng Văn Bi"), press("p:pickup_date:2021-09-11")}},
		{"ward", []Input{press("p:review:edit.ward"), text("thảo điền")}},
		{"thanks", []Input{press("p:review:edit.thanks"), press("p:thanks:!keep"), press("p:review:edit.thanks"), press("p:thanks:anonymous")}},
		{"body_and_pickup", []Input{
			press("p:review:edit.donor_kind"), press("p:donor_kind:religious"), text("Chùa Phước Long"), text("Thích Minh Tâm"),
			press("p:review:edit.org_name"), text("Chùa Phước Long (Thủ Đức)"),
			press("p:review:edit.contact_name"), text("Nguyễn Văn Tâm"),
			press("p:review:edit.delivery"), press("p:delivery:pickup"), text("45 Đặng Văn Bi"), text("ngày mai"),
			press("p:review:edit.pickup_address"), text("47 Đặng Văn Bi, phường Bình Thọ"),
			press("p:review:edit.pickup_date"), text("20/9"),
			press("p:review:submit"),
		}},
	}
	for _, ed := range edits {
		s = append(s, scenario{FlowPledge, "pledge_edit_" + ed.name, func(c *convo) {
			c.record = false
			c.pledgeTo(pledgeReviewInputs(), stepReview)
			c.record = true
			for _, in := range ed.steps {
				c.send(in)
			}
		}})
	}
	return s
}

// TestPledgeReasks sends a wrong answer at each step and checks the specific reason, that the form
// stays at the step, that no answer changed and that the miss is counted.
func TestPledgeReasks(t *testing.T) {
	device := pledgeReviewInputs()
	body := inputs(pledgeBusiness, pledgeSIMs, []Input{press("p:items:more")}, pledgePackages, pledgePickup)
	money := inputs(pledgeIndividual, pledgeMoney, pledgePickup)
	tests := []struct {
		path   []Input
		step   string
		in     Input
		reason string
	}{
		{device, stepDonorKind, text("ông già Noel"), "common.use_buttons"},
		{device, stepDonorKind, other(), "common.need_text"},
		{device, stepDonorName, text("An"), "reg.err.name_one_word"},
		{device, stepDonorName, text("Nguyễn Văn 2"), "reg.err.name_digits"},
		{device, stepDonorName, text(long), "reg.err.name_long"},
		{body, stepOrgName, text("🏢🏢"), "reg.err.text_no_letters"},
		{body, stepOrgName, text("ABC <script>"), "pledge.err.org_symbols"},
		{body, stepOrgName, text("A"), "reg.err.text_short"},
		{body, stepOrgName, text(long), "reg.err.text_long"},
		{body, stepContactName, text("Bình"), "reg.err.name_one_word"},
		{body, stepContactName, text("Công ty 3"), "reg.err.name_digits"},
		{device, stepPhone, text("0123"), "reg.err.phone_format"},
		{device, stepPhone, text("028 3896 1234"), "reg.err.phone_landline"},
		{device, stepPhone, contact("84912345678", "999"), "reg.err.contact_not_own"},
		{device, stepItemKind, text("xe đạp"), "common.use_buttons"},
		{device, stepItemCondition, text("hơi cũ"), "common.use_buttons"},
		{device, stepItemQuantity, text("0"), "pledge.err.quantity_range"},
		{device, stepItemQuantity, text("1001"), "pledge.err.quantity_range"},
		{device, stepItemQuantity, text("abc"), "pledge.err.quantity_format"},
		{device, stepItemQuantity, text("-2"), "pledge.err.quantity_format"},
		{device, stepItemQuantity, text("2,5"), "pledge.err.quantity_format"},
		{device, stepItemQuantity, text(long), "pledge.err.quantity_format"},
		{body, stepItemQuantity, text("100001"), "pledge.err.quantity_range"},
		{body, stepItemMonths, text("37"), "pledge.err.months_range"},
		{body, stepItemMonths, text("0"), "pledge.err.months_range"},
		{body, stepItemMonths, text("nửa năm"), "pledge.err.months_format"},
		{device, stepItemComplete, text("có lẽ"), "common.use_buttons"},
		{money, stepItemAmount, text("abc"), "pledge.err.money_format"},
		{money, stepItemAmount, text("0"), "pledge.err.money_positive"},
		{money, stepItemAmount, text("-5tr"), "pledge.err.money_positive"},
		{money, stepItemAmount, text("5"), "pledge.err.money_small"},
		{money, stepItemAmount, text(long), "pledge.err.money_format"},
		{device, stepItems, text("để xem"), "common.use_buttons"},
		{device, stepDelivery, text("bưu điện"), "common.use_buttons"},
		{device, stepWard, text("Phường Không Có"), "reg.err.ward_not_found"},
		{money, stepPickupAddress, text("12"), "reg.err.text_short"},
		{money, stepPickupDate, text("09/09/2021"), "pledge.err.date_past"},
		{money, stepPickupDate, text("01/12/2021"), "pledge.err.date_far"},
		{money, stepPickupDate, text("31/02/2022"), "reg.err.date_impossible"},
		{money, stepPickupDate, text("hôm kia"), "pledge.err.date_format"},
		{money, stepPickupDate, text(long), "pledge.err.date_format"},
		{device, stepThanks, text("tùy"), "common.use_buttons"},
		{device, stepReview, text("gửi đi"), "common.use_buttons"},
	}
	for _, tt := range tests {
		t.Run(tt.step+"/"+clip(describe(tt.in), 30), func(t *testing.T) {
			c := newChat(t)
			c.pledgeTo(tt.path, tt.step)
			before := maps.Clone(c.st.Answers)
			misses := c.st.Misses
			out := c.send(tt.in)
			if !slices.Contains(c.ids, tt.reason) {
				t.Errorf("reason %q not given; ids %v\n%s", tt.reason, c.ids, dump(out))
			}
			if c.st.Step != tt.step || c.st.Flow != FlowPledge {
				t.Errorf("moved to %q/%q", c.st.Flow, c.st.Step)
			}
			if !maps.Equal(before, c.st.Answers) {
				t.Errorf("answers changed:\n%v\n%v", before, c.st.Answers)
			}
			if c.st.Misses != misses+1 {
				t.Errorf("misses %d, want %d", c.st.Misses, misses+1)
			}
			if tt.step == stepReview {
				return
			}
			fld := c.e.formNamed(FlowPledge).field(tt.step)
			if !slices.Contains(c.ids, fld.prompt) {
				t.Errorf("question %q not asked again; ids %v", fld.prompt, c.ids)
			}
		})
	}
}

func TestPledgeSubmitted(t *testing.T) {
	c := newChat(t)
	c.pledgeTo(inputs(pledgeBusiness, pledgeSIMs, []Input{press("p:items:more")}, pledgePackages,
		[]Input{press("p:items:more")}, pledgeLaptops, []Input{press("p:items:more")}, pledgeMoney, pledgePickup), stepReview)
	key := c.st.IdempotencyKey
	out := c.send(press("p:review:submit"))
	if len(c.pledges.All()) != 1 {
		t.Fatalf("%d pledges stored", len(c.pledges.All()))
	}
	p := c.pledges.All()[0]
	want := []campaign.PledgeItem{
		{Kind: campaign.ItemSIM4G, Quantity: 500},
		{Kind: campaign.ItemInternetPackage, Quantity: 100, Months: 6},
		{Kind: campaign.ItemLaptop, Quantity: 2, Used: true, Complete: true},
		{Kind: campaign.ItemMoney, Amount: 5_000_000},
	}
	if !slices.Equal(p.Items, want) {
		t.Errorf("items %+v", p.Items)
	}
	if p.DonorKind != campaign.DonorBusiness || p.DonorName != "Công ty TNHH ABC & Cộng sự" || p.ContactPerson != "Trần Thị Bình" ||
		p.Phone != "+84912345678" || p.Delivery != campaign.DeliverByPickup || p.PickupAddress != "12 Võ Văn Ngân, phường Linh Chiểu" ||
		!p.PickupDate.Equal(time.Date(2021, 9, 15, 0, 0, 0, 0, time.UTC)) || !p.Anonymous || p.IdempotencyKey != key ||
		p.Channel != "telegram" || p.ChatID != "1001" || p.UserID != "1001" || p.Language != langVI || p.WardCode != "" {
		t.Errorf("pledge %+v", p)
	}
	if !strings.Contains(allText(out), "PL-000045") || c.st.Flow != "" || c.st.Answers[lastPrefix+stepPhone] != "+84912345678" {
		t.Errorf("after submit: %+v\n%s", c.st, dump(out))
	}
	// The phone is offered on the next pledge's keyboard.
	out = c.pledgeTo(pledgeBusiness, stepPhone)
	if kb := out[len(out)-1].AskContact; kb == nil || len(kb.Suggestions) != 1 || kb.Suggestions[0] != "0912 345 678" {
		t.Errorf("request for the phone %+v", kb)
	}
}

func TestPledgeSubmitFailures(t *testing.T) {
	c := newChat(t)
	c.pledgeTo(pledgeReviewInputs(), stepReview)
	before := c.st
	c.pledges.SubmitErr = campaign.Errorf(campaign.EUNAVAILABLE, "db down")
	if _, err := c.trySend(press("p:review:submit")); err == nil || campaign.ErrorCode(err) != campaign.EUNAVAILABLE {
		t.Fatalf("error %v", err)
	}
	if !statesEqual(c.st, before) {
		t.Errorf("state changed: %+v", c.st)
	}
	c.pledges.SubmitErr = campaign.Errorf(campaign.EINVALID, "ward unknown")
	c.send(press("p:review:submit"))
	if c.st.Step != stepReview || !slices.Contains(c.ids, "pledge.submit_invalid") {
		t.Errorf("EINVALID: step %q ids %v", c.st.Step, c.ids)
	}
	c.pledges.SubmitErr = nil
	c.send(press("p:review:submit"))
	c.st = before // a retry of the same form (a crash after the write) gets the same record
	out := c.send(press("p:review:submit"))
	if len(c.pledges.All()) != 1 || !strings.Contains(allText(out), c.pledges.All()[0].Code) {
		t.Errorf("retried submit: %d pledges\n%s", len(c.pledges.All()), dump(out))
	}
}

func TestPledgePickupDatePassedBeforeSubmit(t *testing.T) {
	c := newChat(t)
	c.pledgeTo(inputs(pledgeIndividual, pledgeMoney, pledgePickup), stepReview)
	c.now = c.now.Add(6 * 24 * time.Hour) // the 16th: the 15th is past
	c.send(press("p:review:submit"))
	if c.st.Step != stepPickupDate || !slices.Contains(c.ids, "pledge.err.date_past") || len(c.pledges.All()) != 0 {
		t.Errorf("step %q ids %v", c.st.Step, c.ids)
	}
}

func TestPledgeItemLimit(t *testing.T) {
	c := newChat(t)
	c.pledgeTo(pledgeIndividual, stepItemKind)
	var out []Output
	for i := range maxPledgeItems {
		if i > 0 {
			c.send(press("p:items:more"))
		}
		c.send(press("p:item_kind:sim_4g"))
		out = c.send(press("p:item_quantity:10"))
	}
	if itemCount(c.st.Answers) != maxPledgeItems || c.st.Step != stepItems {
		t.Fatalf("%d items at %q", itemCount(c.st.Answers), c.st.Step)
	}
	if strings.Contains(dump(out), "p:items:more") {
		t.Errorf("more offered with %d items:\n%s", maxPledgeItems, dump(out))
	}
	c.send(press("p:items:more"))
	if c.st.Step != stepItems || !slices.Contains(c.ids, "common.stale") {
		t.Errorf("more accepted beyond the limit: %q", c.st.Step)
	}
}

func TestPledgeItemEncoding(t *testing.T) {
	items := []campaign.PledgeItem{
		{Kind: campaign.ItemLaptop, Quantity: 2, Used: true, Complete: true},
		{Kind: campaign.ItemDesktop, Quantity: 1, Complete: false},
		{Kind: campaign.ItemSIM4G, Quantity: 100000},
		{Kind: campaign.ItemUSBWiFi, Quantity: 5},
		{Kind: campaign.ItemInternetPackage, Quantity: 200, Months: 36},
		{Kind: campaign.ItemMoney, Amount: 5_000_000},
	}
	wantEnc := []string{"laptop|used|2|complete", "desktop|new|1|parts", "sim_4g|100000", "usb_wifi|5", "internet_package|200|36", "money|5000000"}
	for i, it := range items {
		enc := encodeItem(it)
		if enc != wantEnc[i] {
			t.Errorf("encode %+v = %q, want %q", it, enc, wantEnc[i])
		}
		if got, ok := decodeItem(enc); !ok || got != it {
			t.Errorf("decode %q = %+v, %v", enc, got, ok)
		}
	}
	for _, bad := range []string{"", "laptop", "laptop|old|2|complete", "laptop|used|0|complete", "laptop|used|1001|complete",
		"laptop|used|2|maybe", "sim_4g|100001", "sim_4g|x", "internet_package|1|37", "internet_package|1", "money|0",
		"money|-5", "money|abc", "boat|1", "sim_4g|1|2"} {
		if it, ok := decodeItem(bad); ok {
			t.Errorf("decode %q = %+v", bad, it)
		}
	}
}

func TestParseAmount(t *testing.T) {
	for in, want := range map[string]int64{
		"5 triệu": 5_000_000, "5tr": 5_000_000, "5.000.000": 5_000_000, "5,000,000 đ": 5_000_000, "500k": 500_000,
		"1,5 tỷ": 1_500_000_000, "1000": 1000,
	} {
		if got, err := parseAmount(in); err != nil || got != want {
			t.Errorf("parseAmount(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, id := range map[string]string{
		"abc": "pledge.err.money_format", "0": "pledge.err.money_positive", "0 đ": "pledge.err.money_positive",
		"-5tr": "pledge.err.money_positive", "−500k": "pledge.err.money_positive", "5": "pledge.err.money_small",
		"": "pledge.err.money_format", "5 triệu rưỡi": "pledge.err.money_format", long: "pledge.err.money_format",
	} {
		if _, err := parseAmount(in); err == nil || err.(*invalid).ID != id {
			t.Errorf("parseAmount(%.20q) = %v, want %s", in, err, id)
		}
	}
}

func TestParsePickupDate(t *testing.T) {
	loc := campaign.Default().Location
	now := testStart // 10/09/2021, 9:00 in Thủ Đức
	day := func(m time.Month, d int) time.Time { return time.Date(2021, m, d, 0, 0, 0, 0, time.UTC) }
	for in, want := range map[string]time.Time{
		"10/09/2021": day(9, 10), "15/9/2021": day(9, 15), "15-09-21": day(9, 15), "15/9": day(9, 15),
		"2021-09-15": day(9, 15), "ngày 9 tháng 11 năm 2021": day(11, 9),
	} {
		if got, err := parsePickupDate(in, now, loc); err != nil || !got.Equal(want) {
			t.Errorf("parsePickupDate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, id := range map[string]string{
		"09/09/2021": "pledge.err.date_past", "10/11/2021": "pledge.err.date_far", "30/02/2022": "reg.err.date_impossible",
		"mai": "pledge.err.date_format", "15": "pledge.err.date_format", "1/2/3/4": "pledge.err.date_format",
	} {
		if _, err := parsePickupDate(in, now, loc); err == nil || err.(*invalid).ID != id {
			t.Errorf("parsePickupDate(%q) = %v, want %s", in, err, id)
		}
	}
	// Late in the evening of the 10th in Thủ Đức is already the 11th there, though still the 10th in UTC.
	late := time.Date(2021, 9, 10, 18, 30, 0, 0, time.UTC)
	if _, err := parsePickupDate("10/09/2021", late, loc); err == nil {
		t.Error("the 10th accepted on the 11th in Thủ Đức")
	}
}

func TestParseOrgName(t *testing.T) {
	for _, in := range []string{"Công ty TNHH ABC & Cộng sự", "Trường THCS Linh Trung, Hội cha mẹ học sinh lớp 7A", "VNPT-Vinaphone (Thủ Đức)", "Chùa Phước Long"} {
		if got, err := parseOrgName(in); err != nil || got != in {
			t.Errorf("parseOrgName(%q) = %q, %v", in, got, err)
		}
	}
	for in, id := range map[string]string{"A": "reg.err.text_short", "123 456": "reg.err.text_no_letters", "ABC 🙂": "pledge.err.org_symbols", "x'; DROP TABLE pledges;--": "pledge.err.org_symbols"} {
		if _, err := parseOrgName(in); err == nil || err.(*invalid).ID != id {
			t.Errorf("parseOrgName(%q) = %v, want %s", in, err, id)
		}
	}
}

func TestPledgesList(t *testing.T) {
	c := newChat(t)
	c.pledgeTo(pledgeReviewInputs(), stepReview)
	c.send(press("p:review:submit"))
	code := c.pledges.All()[0].Code
	c.pledges.SetProgress(code, campaign.PledgeProgress{
		Devices:       map[campaign.DeviceState]int{campaign.DeviceReceived: 1, campaign.DeviceReady: 1, campaign.DeviceDelivered: 2, campaign.DeviceNeedsParts: 1},
		StockReceived: map[campaign.ItemKind]int{campaign.ItemSIM4G: 300},
		MoneyReceived: 5_000_000,
		Delivered: []campaign.DeliveredCount{
			{Level: campaign.LevelLowerSecondary, WardCode: "26800", Count: 1},
			{Level: campaign.LevelPrimary, WardCode: "26797", Count: 1},
		},
	})
	c.pledges.Edit(func(ps []campaign.Pledge) { ps[0].Status = campaign.PledgePartly })
	out := c.send(cmd("pledges"))
	got := allText(out)
	for _, want := range []string{
		code, "10/09/2021", "đã nhận một phần", "2 × Laptop (đã qua sử dụng)", "Tiền: 5.000.000 đ",
		"1 đã nhận", "1 sẵn sàng", "1 cần linh kiện", "2 đã trao", "300 × SIM 4G", "Tiền đã nhận: 5.000.000 đ",
		"Đã đến tay 2 học sinh: 1 em THCS ở Phường Linh Trung; 1 em tiểu học ở Phường Bình Chiểu",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "pledge.list.waiting") || slices.Contains(c.ids, "pledge.list.waiting") {
		t.Error("a pledge with progress said it is waiting")
	}
	c.send(cmd("lang", langEN))
	got = allText(c.send(cmd("pledges")))
	for _, want := range []string{"partly received", "2 × Laptop (used)", "1 received", "1 needs parts", "2 handed over", "300 × 4G SIM", "Reached 2 students: 1 lower secondary student in Linh Trung Ward"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
}

func TestPledgesListLongAndOld(t *testing.T) {
	c := newChat(t)
	for range pledgesShown + 2 {
		ins := slices.Clone(pledgeIndividual)
		for i := range maxPledgeItems {
			if i > 0 {
				ins = append(ins, press("p:items:more"))
			}
			ins = append(ins, pledgeLaptops...)
		}
		c.pledgeTo(append(ins, pledgeToWard...), stepReview)
		c.send(press("p:review:submit"))
		c.now = c.now.Add(time.Hour)
	}
	out := c.send(cmd("pledges"))
	if !slices.Contains(c.ids, "pledge.list.more") || strings.Count(allText(out), "🎁 PL-") != pledgesShown {
		t.Errorf("ids %v\n%s", c.ids, dump(out))
	}
	for _, o := range out {
		if n := utf8.RuneCountInString(o.Text); n > messageMax {
			t.Errorf("message of %d characters", n)
		}
	}
	if !strings.Contains(out[0].Text, "PL-000051") {
		t.Errorf("newest first: %.200s", out[0].Text)
	}
}

func TestPledgesEmptyAndFailing(t *testing.T) {
	c := newChat(t)
	out := c.send(cmd("pledges"))
	if !slices.Contains(c.ids, "pledge.list.none") || out[0].Buttons[0][0].Data != "g:pledge" {
		t.Errorf("empty list:\n%s", dump(out))
	}
	c.pledgeTo(pledgeIndividual, stepItemKind)
	c.pledges.ListErr = campaign.Errorf(campaign.EUNAVAILABLE, "down")
	if _, err := c.trySend(cmd("pledges")); err == nil {
		t.Error("list error not returned")
	}
	c.pledges.ListErr = nil
	out = c.send(press("g:pledges"))
	if c.st.Step != stepItemKind || !slices.Contains(c.ids, "pledge.item_kind.prompt") {
		t.Errorf("the question in progress was not asked again:\n%s", dump(out))
	}
}

func TestPledgesUnavailable(t *testing.T) {
	c := newChatWith(t, func(cfg *Config) { cfg.Pledges = nil })
	for _, in := range []Input{cmd("pledge"), cmd("pledges"), cmd("start", "pledge"), cmd("start", "ungho"), press("g:pledge"), press("g:pledges")} {
		c.send(in)
		if !slices.Contains(c.ids, "pledge.unavailable") || c.st.Flow != "" {
			t.Errorf("%s: ids %v", describe(in), c.ids)
		}
	}
	out := c.send(cmd("start"))
	if strings.Contains(dump(out), "g:pledge") || slices.Contains(c.ids, "pledge.welcome") {
		t.Errorf("welcome offers pledges:\n%s", dump(out))
	}
	for _, cm := range c.e.Commands(langVI) {
		if strings.HasPrefix(cm.Name, "pledge") {
			t.Errorf("command %q offered", cm.Name)
		}
	}
	if c.e.formNamed(FlowPledge) != nil {
		t.Error("pledge form without a store")
	}
	// A pledge state saved while pledges were on is dropped, not run.
	c.st = State{Flow: FlowPledge, Step: stepDonorName, IdempotencyKey: "k", StartedAt: c.now, UpdatedAt: c.now}
	c.send(text("Nguyễn Văn An"))
	if c.st.Flow != "" {
		t.Errorf("state %+v", c.st)
	}
}

func TestPledgeWelcomeAndCommands(t *testing.T) {
	c := newChat(t)
	out := c.send(cmd("start"))
	if out[0].Buttons[1][0].Data != "g:pledge" || !slices.Contains(c.ids, "pledge.welcome") {
		t.Errorf("welcome:\n%s", dump(out))
	}
	if out := c.send(cmd("help")); !strings.Contains(allText(out), "/pledges") {
		t.Errorf("help:\n%s", dump(out))
	}
	e := c.e
	for _, lang := range []string{langVI, langEN} {
		names := []string{}
		for _, cm := range e.Commands(lang) {
			names = append(names, cm.Name)
		}
		if i := slices.Index(names, "status"); i < 0 || i+2 >= len(names) || names[i+1] != "pledge" || names[i+2] != "pledges" {
			t.Errorf("%s commands %v", lang, names)
		}
	}
	if e.cfg.MoneyCeiling != DefaultMoneyCeiling {
		t.Errorf("ceiling %d", e.cfg.MoneyCeiling)
	}
}

func TestPledgeMoneyCeilingConfigured(t *testing.T) {
	c := newChatWith(t, func(cfg *Config) { cfg.MoneyCeiling = 1_000_000 })
	c.pledgeTo(inputs(pledgeIndividual, []Input{press("p:item_kind:money")}), stepItemAmount)
	c.send(text("1 triệu"))
	if c.st.Step != stepItems {
		t.Errorf("the ceiling itself asked to confirm: %q", c.st.Step)
	}
	c.send(press("p:items:more"))
	c.send(press("p:item_kind:money"))
	c.send(text("1,5 triệu"))
	if c.st.Step != stepItemConfirm || !slices.Contains(c.ids, "pledge.item_confirm.prompt") {
		t.Errorf("above the ceiling: %q", c.st.Step)
	}
}

func TestPledgeButtonsFit(t *testing.T) {
	c := newChat(t)
	f := c.e.formNamed(FlowPledge)
	var data []string
	for _, w := range c.e.cfg.Campaign.Wards {
		data = append(data, f.data(stepWard, w.Code))
	}
	tc := &turn{e: c.e, st: &State{Answers: map[string]string{stepItemKind: string(campaign.ItemInternetPackage)}}, lang: langVI, now: testStart}
	for _, fld := range f.fields {
		for _, v := range []string{ctlHelp, ctlCancel, ctlRetry, ctlKeep, ctlDone, ctlPage + "99", ctlItemBack, removeValue(10, encodeItem(campaign.PledgeItem{Kind: campaign.ItemInternetPackage, Quantity: stockQuantityMax, Months: monthsMax})), removeValue(10, encodeItem(campaign.PledgeItem{Kind: campaign.ItemMoney, Amount: 1 << 62}))} {
			data = append(data, f.data(fld.name, v))
		}
		data = append(data, f.data(stepReview, reviewEdit+fld.name))
		if fld.options != nil {
			for _, o := range fld.options(tc) {
				data = append(data, f.data(fld.name, o.value))
			}
		}
	}
	for _, d := range data {
		if len(d) > maxData {
			t.Errorf("%q is %d bytes", d, len(d))
		}
	}
}

// TestPledgeLongestReviewFits fills every answer to its longest and checks the review stays
// within a message.
func TestPledgeLongestReviewFits(t *testing.T) {
	for _, lang := range []string{langVI, langEN} {
		c := newChat(t)
		c.st.Lang = lang
		org := strings.Repeat("Ữ", orgNameMax)
		name := "Nguyễn " + strings.Repeat("Ữ", nameMax-7)
		ins := inputs([]Input{press("g:pledge"), press("p:donor_kind:parents_council"), text(org), text(name), text("0912 345 678")})
		for i := range maxPledgeItems {
			if i > 0 {
				ins = append(ins, press("p:items:more"))
			}
			ins = append(ins, press("p:item_kind:internet_package"), text("100000"), text("36"))
		}
		ins = append(ins, press("p:items:done"), press("p:delivery:pickup"), text(strings.Repeat("Ữ", addressMax)), text("15/09/2021"), press("p:thanks:public"))
		out := c.pledgeTo(ins, stepReview)
		if n := utf8.RuneCountInString(out[len(out)-1].Text); n > messageMax {
			t.Errorf("%s review of %d characters", lang, n)
		}
		out = c.send(press("p:review:submit"))
		if c.st.Flow != "" {
			t.Errorf("not submitted:\n%s", dump(out))
		}
	}
}

// TestPledgeRandomWalk lets random donors loose on the pledge form: every reply keeps the
// invariants (checkOutputs) and every stored item stays readable.
func TestPledgeRandomWalk(t *testing.T) {
	pool := []Input{
		text("Nguyễn Văn An"), text("Công ty ABC"), text("0912 345 678"), text("laptop"), text("3"), text("0"), text("1001"),
		text("5tr"), text("150 triệu"), text("abc"), text("xong"), text("thêm"), text("linh trung"), text("15/09/2021"),
		text("12 Võ Văn Ngân"), text("ẩn danh"), cmd("pledge"), cmd("pledges"), cmd("cancel"), cmd("help"), cmd("start", "ungho"),
		press("g:pledge"), press("g:pledges"), press("g:resume"), press("g:restart"), press("p:review:submit"),
		press("p:items:!rm=1=laptop|new|3|complete"), press("p:items:!rm=x"), press("p:item_kind:!back"), press("p:items:done"), other(), edited(),
	}
	for seed := range uint64(20) {
		c := newChat(t)
		var out []Output
		r := seed*2654435761 + 1
		next := func(n int) int {
			r = r*6364136223846793005 + 1442695040888963407
			return int((r >> 33) % uint64(n))
		}
		for range 300 {
			var buttons []Button
			for _, o := range out {
				for _, row := range o.Buttons {
					buttons = append(buttons, row...)
				}
			}
			in := pool[next(len(pool))]
			if len(buttons) > 0 && next(3) > 0 {
				in = press(buttons[next(len(buttons))].Data)
			}
			var err error
			if out, err = c.trySend(in); err != nil {
				t.Fatal(err)
			}
			for i := range itemCount(c.st.Answers) {
				if _, ok := decodeItem(c.st.Answers[itemKey(i+1)]); !ok {
					t.Fatalf("unreadable item %q", c.st.Answers[itemKey(i+1)])
				}
			}
		}
	}
}
