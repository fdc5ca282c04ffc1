package flows

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/campaign/campaigntest"
)

// Staff and donors of the intake tests.
const (
	volunteerID = "7001"
	officialID  = "7002"
	donorChat   = "5005"
)

// withIntakeStores gives the chat's engine its device and money stores (the default chat has
// none, so the other flows' tests see the staff help without the intake commands).
func (c *convo) withIntakeStores() *convo {
	c.t.Helper()
	cfg := c.e.cfg
	cfg.Devices, cfg.Money = c.devices, c.money
	e, err := NewEngine(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	e.observe = c.e.observe
	c.e = e
	return c
}

// withDonor makes the chat's pledge store hold PL-000045 from donorChat: 2 used laptops, 500 SIMs
// and 5 million đồng, and the device store check codes against it.
func (c *convo) withDonor(lang string) *convo {
	c.withIntakeStores()
	c.pledges.Append(campaign.Pledge{
		ID: 45, Code: "PL-000045", Status: campaign.PledgeOpen, Channel: "telegram", ChatID: donorChat, Language: lang,
		DonorKind: campaign.DonorIndividual, DonorName: "Nguyễn Văn An",
		Items: []campaign.PledgeItem{
			{Kind: campaign.ItemLaptop, Quantity: 2, Used: true, Complete: true},
			{Kind: campaign.ItemSIM4G, Quantity: 500},
			{Kind: campaign.ItemMoney, Amount: 5_000_000},
		},
	}, campaign.Pledge{
		ID: 46, Code: "PL-000046", Status: campaign.PledgeOpen, Channel: "telegram", ChatID: "5006", Language: "vi",
		DonorKind: campaign.DonorIndividual, DonorName: "Lê Thị Hoa",
		Items: []campaign.PledgeItem{{Kind: campaign.ItemMoney, Amount: 1_000_000}},
	})
	c.devices.Pledges = c.pledges
	c.staff.Add(volunteerID, "Trần Văn Tình", campaign.RoleVolunteer, "")
	c.staff.Add(officialID, "Phạm Thị Mai", campaign.RoleCityOfficial, "")
	return c
}

// laptopInputs take in one used laptop from PL-000045, every check passed, up to the review.
func laptopInputs() []Input {
	return []Input{
		cmd("intake"), text("pl-45"), press("i:kind:laptop"), text("Dell Latitude E7450"), text("5cg1234xyz"),
		press("i:condition:used"),
		press("i:checks:powers_on"), press("i:checks:connects"), press("i:checks:charger"), press("i:checks:cables"),
		press("i:checks:camera"), press("i:checks:microphone"), press("i:checks:battery"), press("i:checks:!done"),
		press("i:wiped:yes"), press("i:cleaned:yes"), press("i:parts:-"), press("i:software:lower_secondary"),
		press("i:outcome:ready"),
	}
}

// intakeScenarios are the golden conversations of the intake, /device, /money and /buy.
func intakeScenarios() []scenario {
	return []scenario{
		{FlowIntake, "pledge_laptop_ready", func(c *convo) {
			c.withDonor("vi").as(volunteerID)
			for _, in := range laptopInputs() {
				c.send(in)
			}
			c.send(press("i:review:submit"))
			c.send(press("i:review:submit"))
			c.send(press("ia:next:PL-000045"))
			c.send(press("ia:done"))
		}},
		{FlowIntake, "walkin_tablet_parts", func(c *convo) {
			c.withDonor("vi").as(volunteerID)
			c.clientLang = "en"
			c.send(cmd("intake"))
			c.send(press("i:source:walkin"))
			c.send(press("i:kind:tablet"))
			c.send(text("Samsung Galaxy Tab A7"))
			c.send(press("i:serial:-"))
			c.send(press("i:condition:used"))
			c.send(press("i:checks:powers_on"))
			c.send(press("i:checks:connects"))
			c.send(press("i:checks:connects"))
			c.send(press("i:checks:!done"))
			c.send(press("i:wiped:no"))
			c.send(press("i:cleaned:yes"))
			c.send(text("new charger"))
			c.send(press("i:software:primary"))
			c.send(press("i:outcome:ready"))
			c.send(press("i:outcome:needs_parts"))
			c.send(press("i:review:edit.wiped"))
			c.send(press("i:wiped:yes"))
			c.send(press("i:review:submit"))
		}},
		{FlowIntake, "pledge_stock", func(c *convo) {
			c.withDonor("en").as(volunteerID)
			c.send(cmd("intake", "PL-000045"))
			c.send(press("i:kind:sim_4g"))
			c.send(text("600"))
			c.send(press("i:quantity:500"))
			c.send(press("i:review:submit"))
			c.send(press("i:review:edit.quantity"))
			c.send(press("i:quantity:500"))
			c.send(press("i:review:submit"))
		}},
		{FlowIntake, "store_refuses_laptop", func(c *convo) {
			c.withDonor("vi").as(volunteerID)
			c.record = false
			for range 2 {
				for _, in := range laptopInputs() {
					c.send(in)
				}
				c.send(press("i:review:submit"))
			}
			for _, in := range laptopInputs() {
				c.send(in)
			}
			c.record = true
			c.send(press("i:review:submit"))
			c.send(press("i:review:edit.source"))
			c.send(press("i:source:walkin"))
			c.send(press("i:review:submit"))
		}},
		{FlowIntake, "parent_refused", func(c *convo) {
			c.withIntakeStores()
			c.send(cmd("intake"))
			c.send(cmd("myintake"))
			c.send(cmd("money", "PL-000045", "5tr"))
		}},
		{FlowIntake, "form_in_progress", func(c *convo) {
			c.withDonor("vi").as(volunteerID)
			c.send(press("g:register"))
			c.send(press("r:consent:yes"))
			c.send(cmd("intake"))
			c.send(press("g:resume"))
			c.send(cmd("cancel"))
			c.send(cmd("intake", "PL-999"))
			c.send(text("PL-000046"))
			c.send(text("PL-000045"))
			c.send(cmd("intake"))
			c.send(press("i:source:walkin"))
			c.send(cmd("cancel"))
		}},
		{FlowIntake, "myintake", func(c *convo) {
			c.withDonor("vi").as(volunteerID)
			c.send(cmd("myintake"))
			c.record = false
			for _, in := range laptopInputs() {
				c.send(in)
			}
			c.send(press("i:review:submit"))
			c.now = c.now.Add(26 * time.Hour)
			c.send(cmd("intake", "pl-45"))
			c.send(press("i:kind:laptop"))
			for _, in := range laptopInputs()[3:] {
				c.send(in)
			}
			c.send(press("i:review:submit"))
			c.record = true
			c.send(cmd("myintake"))
		}},
		{FlowIntake, "device_moves", func(c *convo) {
			c.withDonor("vi").as(volunteerID)
			c.record = false
			for _, in := range laptopInputs() {
				c.send(in)
			}
			c.send(press("i:review:submit"))
			c.record = true
			c.send(cmd("device"))
			c.send(cmd("device", "tb-999"))
			c.send(cmd("device", "tb-123"))
			c.send(press("dv:mv:TB-000123:ready:allocated"))
			c.send(press("dv:ok:TB-000123:ready:allocated"))
			c.send(press("dv:ok:TB-000123:ready:allocated"))
			c.send(cmd("device", "TB-000123", "unusable"))
			c.send(cmd("device", "TB-000123", "đã trao"))
			c.send(press("dv:no:TB-000123"))
			c.devices.MoveErr = campaign.Errorf(campaign.EINVALID, "no")
			c.send(press("dv:mv:TB-000123:allocated:delivered"))
			c.send(press("dv:ok:TB-000123:allocated:delivered"))
		}},
		// A device on a pending delivery (TB-000123, for TD-000001 with a SIM; TB-000125, for
		// TD-000002, whose family has no chat: a ward official registered it): its card names
		// the delivery and offers no "delivered" (pressed or typed anyway, the volunteer is
		// pointed to /deliveries); back to ready warns, then releases the allocation: the child
		// is back on the list and the family told, through the ward official for the second.
		{FlowIntake, "device_release", func(c *convo) {
			c.record = false
			c.withIntakeStores().withCases("vi")
			edu := campaign.Staff{Channel: "telegram", ExternalID: eduID, Role: campaign.RoleEducationOffice}
			made, _, err := c.cases.ConfirmAllocations(context.Background(), []campaign.Allocation{
				{Code: "TD-000001", DeviceLabel: "TB-000123", Stock: []campaign.StockKind{campaign.StockSIM4G}},
				{Code: "TD-000002", DeviceLabel: "TB-000125"},
			}, "release", edu, nil)
			if err != nil || len(made) != 2 {
				c.t.Fatalf("allocations: %d, %v", len(made), err)
			}
			c.cases.EditDelivery(made[1].Code, func(d *campaign.Delivery) {
				d.Parent, d.ParentLanguage = campaign.Session{}, ""
				d.Registrar = &campaign.Registrar{Session: campaign.Session{Channel: "telegram", ChatID: wardOffID}, Language: "vi",
					Active: true, Source: campaign.SourceAssisted, Name: "Phạm Thị Phường", Role: campaign.RoleWardOfficial}
			})
			c.become(volunteerID, "vi")
			c.record = true
			c.send(cmd("device", "TB-000123"))
			c.send(press("dv:mv:TB-000123:allocated:delivered"))
			c.send(cmd("device", "TB-000123", "đã trao"))
			c.send(press("dv:mv:TB-000123:allocated:ready"))
			c.send(press("dv:ok:TB-000123:allocated:ready"))
			c.send(cmd("device", "TB-000123"))
			c.send(press("dv:ok:TB-000125:allocated:ready"))
			if r := c.cases.Registration("TD-000001"); r.Status != campaign.StatusVerified || c.cases.Delivery(made[0].Code).Code != "" {
				c.t.Errorf("after the release: registration %s, delivery %+v", r.Status, c.cases.Delivery(made[0].Code))
			}
			if r := c.cases.Registration("TD-000002"); r.Status != campaign.StatusVerified || c.cases.Device("TB-000125").State != campaign.DeviceReady {
				c.t.Errorf("the second release: registration %s, device %s", r.Status, c.cases.Device("TB-000125").State)
			}
		}},
		{FlowMoney, "money_received", func(c *convo) {
			c.withDonor("vi").as(officialID)
			c.send(cmd("money"))
			c.send(cmd("money", "PL-000045", "5tr", "chuyển khoản 12/9"))
			c.send(press("m:review:submit"))
			c.send(cmd("money"))
		}},
		{FlowMoney, "money_bad_amount", func(c *convo) {
			c.withDonor("en").as(officialID)
			c.send(cmd("money", "PL-000045", "năm triệu"))
			c.send(text("5"))
			c.send(text("5,5 triệu"))
			c.send(press("m:note:-"))
			c.send(press("m:review:submit"))
		}},
		{FlowMoney, "buy_over_balance", func(c *convo) {
			c.withDonor("vi").as(officialID)
			c.record = false
			c.send(cmd("money", "PL-000045", "10tr"))
			c.send(press("m:review:submit"))
			c.record = true
			c.send(cmd("buy", "1", "laptop", "3", "12tr"))
			c.send(cmd("buy", "1", "máy tính bảng", "2", "6tr"))
			c.send(cmd("buy", "1", "laptop", "1", "5tr"))
			c.send(cmd("buy", "9", "laptop", "1", "1tr"))
			c.send(cmd("buy", "1", "tủ lạnh", "1", "1tr"))
			c.send(cmd("buy"))
			c.send(cmd("money"))
			c.as(volunteerID)
			c.send(cmd("device", "TB-000124"))
		}},
	}
}

func TestIntake_LaptopFromPledge(t *testing.T) {
	c := newChat(t).withDonor("en").as(volunteerID)
	for _, in := range laptopInputs() {
		c.send(in)
	}
	if c.st.Step != stepReview {
		t.Fatalf("at %q, want the review", c.st.Step)
	}
	out := c.send(press("i:review:submit"))
	wantText(t, out, "TB-000123")
	if len(c.notices) != 1 || c.notices[0].ChatID != donorChat || c.notices[0].Channel != "telegram" {
		t.Fatalf("no message to the donor: %+v", c.notices)
	}
	to := c.notices[0]
	if want := "PL-000045: we have received 1 laptop. Thank you!"; to.Text != want {
		t.Errorf("donor told %q, want %q", to.Text, want)
	}
	d := c.devices.All()[0]
	if d.Brand != "Dell" || d.Model != "Latitude E7450" || d.Serial != "5CG1234XYZ" || !d.Used || !d.Wiped || !d.Cleaned ||
		d.State != campaign.DeviceReady || d.SoftwareLevel != campaign.LevelLowerSecondary || d.PledgeCode != "PL-000045" ||
		d.CheckedBy != "telegram:"+volunteerID || !d.Checks[campaign.CheckBattery] || len(d.Checks) != 7 {
		t.Errorf("stored %+v", d)
	}
	if c.st.Flow != "" {
		t.Errorf("still in %q after saving", c.st.Flow)
	}
}

func TestIntake_Reasks(t *testing.T) {
	long := strings.Repeat("Dell ", 2000)
	tests := []struct {
		name  string
		setup []Input
		in    Input
		want  string // message id of the reason
		data  []any
	}{
		{"unknown pledge code", []Input{cmd("intake")}, text("PL-000999"), "intake.err.code_unknown", []any{"Code", "PL-000999"}},
		{"not a code", []Input{cmd("intake")}, text("hello"), "intake.err.code_format", []any{"Query", "hello"}},
		{"money-only pledge", []Input{cmd("intake")}, text("pl-46"), "intake.err.pledge_money_only", []any{"Code", "PL-000046"}},
		{"empty brand", []Input{cmd("intake"), press("i:source:walkin"), press("i:kind:laptop")}, text(" \u200b "), "common.need_text", nil},
		{"10,000-char brand", []Input{cmd("intake"), press("i:source:walkin"), press("i:kind:laptop")}, text(long), "reg.err.text_long", []any{"Max", brandMax}},
		{"bad serial", []Input{cmd("intake"), press("i:source:walkin"), press("i:kind:laptop"), text("HP 240 G8")}, text("#!"), "intake.err.serial_format", nil},
		{"bad quantity", []Input{cmd("intake"), press("i:source:walkin"), press("i:kind:usb_wifi")}, text("nhiều"), "intake.err.quantity_format", nil},
		{"ready without wipe", append(walkInLaptopTo(stepIntakeWiped), press("i:wiped:no"), press("i:cleaned:yes"), press("i:parts:-"), press("i:software:none")),
			press("i:outcome:ready"), "intake.err.ready_not_wiped", nil},
		{"ready typed without wipe", append(walkInLaptopTo(stepIntakeWiped), press("i:wiped:no"), press("i:cleaned:yes"), press("i:parts:-"), press("i:software:none")),
			text("sẵn sàng"), "intake.err.ready_not_wiped", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChat(t).withDonor("vi").as(volunteerID)
			for _, in := range tt.setup {
				c.send(in)
			}
			before := c.st
			out := c.send(tt.in)
			wantText(t, out, msg(c.e, "vi", tt.want, tt.data...))
			if c.st.Step != before.Step || c.st.Misses != before.Misses+1 {
				t.Errorf("state %+v, want step %q re-asked with a miss", c.st, before.Step)
			}
			for k, v := range before.Answers {
				if c.st.Answers[k] != v && !strings.HasPrefix(k, "~") {
					t.Errorf("answer %s changed from %q to %q", k, v, c.st.Answers[k])
				}
			}
		})
	}
}

// walkInLaptopTo answers a walk-in laptop's questions until step.
func walkInLaptopTo(step string) []Input {
	all := []struct {
		step string
		in   Input
	}{
		{stepIntakeSource, cmd("intake")}, {stepIntakeKind, press("i:source:walkin")}, {stepIntakeBrand, press("i:kind:laptop")},
		{stepIntakeSerial, text("HP 240 G8")}, {stepIntakeCondition, press("i:serial:-")}, {stepIntakeChecks, press("i:condition:new")},
		{stepIntakeWiped, press("i:checks:!done")},
	}
	var ins []Input
	for _, a := range all {
		ins = append(ins, a.in)
		if a.step == step {
			break
		}
	}
	return ins
}

func TestIntake_StoreErrorsKeepState(t *testing.T) {
	c := newChat(t).withDonor("vi").as(volunteerID)
	for _, in := range laptopInputs() {
		c.send(in)
	}
	c.devices.IntakeErr = errors.New("connection reset")
	before := c.st
	if _, err := c.trySend(press("i:review:submit")); err == nil {
		t.Fatal("a store failure was not returned")
	}
	if !statesEqual(before, c.st) {
		t.Errorf("state changed: %+v", c.st)
	}
	c.devices.IntakeErr = nil
	out := c.send(press("i:review:submit"))
	wantText(t, out, "TB-000123")

	// A failing pledge look-up while typing a code is returned too, not taken as a wrong code.
	c.send(cmd("intake"))
	failing := &failingPledges{Pledges: c.pledges}
	c.e.cfg.Pledges = failing
	if _, err := c.trySend(text("PL-000045")); err == nil {
		t.Error("a failing pledge look-up was taken as an answer")
	}
}

type failingPledges struct{ *campaigntest.Pledges }

func (failingPledges) PledgeByCode(context.Context, string) (campaign.Pledge, error) {
	return campaign.Pledge{}, errors.New("timeout")
}

func TestIntake_RefusedWritesAudit(t *testing.T) {
	c := newChat(t).withDonor("vi").as("3003")
	for _, in := range []Input{cmd("intake"), cmd("myintake"), cmd("device", "TB-000123"), cmd("money"), cmd("buy", "1 laptop 1 1tr"), press("dv:ok:TB-000123:ready:allocated")} {
		out := c.send(in)
		wantText(t, out, msg(c.e, "vi", "staff.refused"))
	}
	if n := len(c.audit.Refused()); n != 6 {
		t.Errorf("%d audit rows, want 6", n)
	}
	// A volunteer may not record money.
	c.as(volunteerID)
	out := c.send(cmd("money", "PL-000045 5tr"))
	wantText(t, out, msg(c.e, "vi", "staff.refused_role", "Role", msg(c.e, "vi", "staff.role.volunteer")))
	if c.st.Flow != "" {
		t.Errorf("refused but in flow %q", c.st.Flow)
	}
}

func TestIntake_Unavailable(t *testing.T) {
	c := newChat(t).as(volunteerID)
	c.staff.Add(volunteerID, "Trần Văn Tình", campaign.RoleVolunteer, "")
	c.staff.Add(officialID, "Phạm Thị Mai", campaign.RoleCityOfficial, "")
	for _, in := range []Input{cmd("intake"), cmd("myintake"), cmd("device", "TB-000123")} {
		wantText(t, c.send(in), msg(c.e, "vi", "intake.unavailable"))
	}
	c.as(officialID)
	for _, in := range []Input{cmd("money"), cmd("buy", "1 laptop 1 1tr")} {
		wantText(t, c.send(in), msg(c.e, "vi", "intake.money.unavailable"))
	}
}

func TestIntake_KindChangeClearsChecks(t *testing.T) {
	c := newChat(t).withDonor("vi").as(volunteerID)
	for _, in := range walkInLaptopTo(stepIntakeWiped) {
		c.send(in)
	}
	for _, in := range []Input{press("i:wiped:yes"), press("i:cleaned:yes"), press("i:parts:-"), press("i:software:none"), press("i:outcome:unusable")} {
		c.send(in)
	}
	c.send(press("i:review:edit.kind"))
	out := c.send(press("i:kind:desktop"))
	if c.st.Step != stepIntakeChecks {
		t.Fatalf("at %q after a new type, want the checklist again:%s", c.st.Step, dump(out))
	}
	if !slices.Contains(buttonData(out), "i:checks:keyboard_mouse") {
		t.Errorf("desktop checklist lacks keyboard and mouse:%s", dump(out))
	}
	c.send(press("i:checks:!done"))
	if c.st.Step != stepIntakeOutcome {
		t.Errorf("at %q, want the outcome asked again", c.st.Step)
	}
}

func TestParsePledgeAndDeviceCodes(t *testing.T) {
	for in, want := range map[string]string{"PL-000045": "PL-000045", "pl-45": "PL-000045", "PL 45": "PL-000045", "pl45": "PL-000045", "PL-0": "", "PX-45": "", "": ""} {
		if got, _ := parsePledgeCode(in); got != want {
			t.Errorf("parsePledgeCode(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"TB-000123": "TB-000123", "tb-123": "TB-000123", "TB123": "TB-000123", "TB-": ""} {
		if got, _ := parseDeviceLabel(in); got != want {
			t.Errorf("parseDeviceLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMoney_Reasks(t *testing.T) {
	tests := []struct {
		args string
		step string
		want string
		data []any
	}{
		{"PL-000999 5tr", stepMoneyCode, "intake.err.code_unknown", []any{"Code", "PL-000999"}},
		{"PL-000045 abc", stepMoneyAmount, "intake.err.money_format", []any{"Query", "abc"}},
		{"PL-000045 500", stepMoneyAmount, "intake.err.money_small", []any{"Amount", "500 đ"}},
		{"PL-000045", stepMoneyAmount, "intake.money.amount_prompt", nil},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			c := newChat(t).withDonor("vi").as(officialID)
			out := c.send(cmd("money", tt.args))
			if c.st.Flow != FlowMoney || c.st.Step != tt.step {
				t.Fatalf("state %+v, want %s", c.st, tt.step)
			}
			wantText(t, out, msg(c.e, "vi", tt.want, tt.data...))
		})
	}
	// What was right is kept while the rest is asked.
	c := newChat(t).withDonor("vi").as(officialID)
	c.send(cmd("money", "PL-000999 5tr ghi chú"))
	if c.st.Answers[stepMoneyAmount] != "5000000" || c.st.Answers[stepMoneyNote] != "ghi chú" {
		t.Errorf("answers %v", c.st.Answers)
	}
}

func TestIntakeButtonsFit(t *testing.T) {
	f := intakeForm()
	for _, fld := range f.fields {
		if d := f.data(stepReview, reviewEdit+fld.name); len(d) > maxData {
			t.Errorf("%s: %d bytes", d, len(d))
		}
	}
	for _, k := range campaign.ItemKinds {
		for _, it := range campaign.Checklist(campaign.DeviceType(k)) {
			if d := f.data(stepIntakeChecks, string(it)); len(d) > maxData {
				t.Errorf("%s: %d bytes", d, len(d))
			}
		}
	}
	for _, from := range campaign.DeviceStates {
		for _, to := range campaign.DeviceStates {
			if d := deviceData("ok", "TB-999999999", string(from), string(to)); len(d) > maxData {
				t.Errorf("%s: %d bytes", d, len(d))
			}
		}
	}
}

func TestIntake_StaffHelp(t *testing.T) {
	c := newChat(t).withDonor("vi").as(officialID)
	wantText(t, c.send(cmd("whoami")), "/intake, /myintake, /device, /money, /buy, /whoami")
	c.as(volunteerID)
	help := allText(c.send(cmd("help")))
	for _, id := range []string{"staff.help.intake", "staff.help.myintake", "staff.help.device", "staff.help.whoami"} {
		if !strings.Contains(help, msg(c.e, langVI, id)) {
			t.Errorf("volunteer's /help lacks %s:\n%s", id, help)
		}
	}
	if strings.Contains(help, msg(c.e, langVI, "staff.help.money")) {
		t.Errorf("volunteer's /help offers /money:\n%s", help)
	}
	for _, cm := range c.e.Commands(langVI) {
		if slices.Contains([]string{"intake", "myintake", "device", "money", "buy"}, cm.Name) {
			t.Errorf("%s in the public menu", cm.Name)
		}
	}
}

// rerun runs in twice from the same state, as the dispatcher does when saving the dialog after the
// first run lost a race (or the process died before the save), checks that both runs gave the
// same state and replies, and keeps the state.
func (c *convo) rerun(in Input) []Output {
	c.t.Helper()
	if in.UserID == "" {
		in.UserID = c.userID
	}
	if in.ClientLanguage == "" {
		in.ClientLanguage = c.clientLang
	}
	old := c.st
	first, out1, err := c.e.Handle(context.Background(), c.sess, old, in)
	if err != nil {
		c.t.Fatalf("Handle(%s): %v", describe(in), err)
	}
	second, out2, err := c.e.Handle(context.Background(), c.sess, old, in)
	if err != nil {
		c.t.Fatalf("Handle(%s) again: %v", describe(in), err)
	}
	checkOutputs(c.t, c.e, in, old, second, out2)
	if !statesEqual(first, second) {
		c.t.Errorf("Handle(%s) again gave state\n%+v\nthe first run gave\n%+v", describe(in), second, first)
	}
	if allText(out1) != allText(out2) {
		c.t.Errorf("Handle(%s) again replied:%s\nthe first run replied:%s", describe(in), dump(out2), dump(out1))
	}
	c.st = second
	return out2
}

func TestIntake_RerunWritesOnce(t *testing.T) {
	t.Run("device", func(t *testing.T) {
		c := newChat(t).withDonor("vi").as(volunteerID)
		for _, in := range laptopInputs() {
			c.send(in)
		}
		key := c.st.IdempotencyKey
		if key == "" {
			t.Fatal("the intake form has no idempotency key")
		}
		wantText(t, c.rerun(press("i:review:submit")), "TB-000123")
		if n := len(c.devices.All()); n != 1 || c.devices.All()[0].IdempotencyKey != key {
			t.Fatalf("%d devices %+v; want one with key %q", n, c.devices.All(), key)
		}
		// The next device is a new form with a new key, and a device of its own.
		c.send(press("ia:next:PL-000045"))
		if c.st.IdempotencyKey == "" || c.st.IdempotencyKey == key {
			t.Fatalf("next device has key %q, the first had %q", c.st.IdempotencyKey, key)
		}
		c.send(press("i:kind:laptop"))
		for _, in := range laptopInputs()[3:] {
			c.send(in)
		}
		wantText(t, c.rerun(press("i:review:submit")), "TB-000124")
		if n := len(c.devices.All()); n != 2 {
			t.Errorf("%d devices, want 2", n)
		}
	})

	t.Run("stock", func(t *testing.T) {
		c := newChat(t).withDonor("en").as(volunteerID)
		c.send(cmd("intake", "PL-000045"))
		c.send(press("i:kind:sim_4g"))
		c.send(press("i:quantity:500")) // all that was pledged: a second batch would be refused
		c.rerun(press("i:review:submit"))
		if n := len(c.devices.Stock()); n != 1 || c.devices.Stock()[0].Key == "" {
			t.Errorf("stock %+v; want one batch with a key", c.devices.Stock())
		}
	})

	t.Run("money", func(t *testing.T) {
		c := newChat(t).withDonor("vi").as(officialID)
		c.send(cmd("money", "PL-000045", "5tr"))
		key := c.st.IdempotencyKey
		c.rerun(press("m:review:submit"))
		if n := len(c.money.Records()); n != 1 || c.money.Records()[0].IdempotencyKey != key || key == "" {
			t.Fatalf("money records %+v; want one with key %q", c.money.Records(), key)
		}
		// Another /money is another form, key and record.
		c.send(cmd("money", "PL-000045", "1tr"))
		c.rerun(press("m:review:submit"))
		if n := len(c.money.Records()); n != 2 || c.money.Records()[1].IdempotencyKey == key {
			t.Errorf("money records %+v; want two with different keys", c.money.Records())
		}
	})

	t.Run("buy", func(t *testing.T) {
		c := newChat(t).withDonor("vi").as(officialID)
		c.send(cmd("money", "PL-000045", "10tr"))
		c.send(press("m:review:submit"))
		buy := cmd("buy", "1", "laptop", "2", "6tr")
		buy.UpdateID = "9001"
		wantText(t, c.rerun(buy), "TB-000123, TB-000124")
		if r := c.money.Records()[0]; r.Spent != 6_000_000 || len(c.devices.All()) != 2 {
			t.Fatalf("spent %d, %d devices; want 6,000,000 and 2", r.Spent, len(c.devices.All()))
		}
		if _, ok := c.money.Purchases()["telegram:"+officialID+":9001"]; !ok {
			t.Errorf("purchases keyed %v, want telegram:%s:9001", slices.Collect(maps.Keys(c.money.Purchases())), officialID)
		}
		// The same command in another update is another purchase.
		buy.UpdateID = "9002"
		buy.Args = "1 laptop 1 3tr"
		c.rerun(buy)
		if r := c.money.Records()[0]; r.Spent != 9_000_000 || len(c.devices.All()) != 3 {
			t.Errorf("spent %d, %d devices; want 9,000,000 and 3", r.Spent, len(c.devices.All()))
		}
	})
}

// After a release, the volunteer is told how the family heard of it, and never that the family
// knows when nobody could tell it.
func TestIntake_ReleaseReach(t *testing.T) {
	c := newChat(t)
	tc := intakeTurn{&turn{e: c.e, st: &State{}, lang: langVI, now: testStart}}
	gone := &campaign.Registrar{Session: campaign.Session{Channel: "telegram", ChatID: "9100"}}
	standIn := &campaign.Registrar{Session: gone.Session, StandIns: []campaign.Recipient{{Channel: "telegram", ChatID: "9200"}}}
	for _, tt := range []struct {
		name string
		dl   campaign.Delivery
		want string
	}{
		{"own chat", campaign.Delivery{Parent: campaign.Session{Channel: "telegram", ChatID: "1001"}}, "intake.device.family_told"},
		{"registrar", campaign.Delivery{Registrar: &campaign.Registrar{Session: gone.Session, Active: true}}, "intake.device.family_via_staff"},
		{"stand-ins", campaign.Delivery{Registrar: standIn}, "intake.device.family_via_stand_ins"},
		{"nobody", campaign.Delivery{Registrar: gone}, "intake.device.family_not_told"},
		{"no registrar", campaign.Delivery{}, "intake.device.family_not_told"},
	} {
		if got, want := tc.releaseReach(tt.dl), tc.t(tt.want); got != want {
			t.Errorf("%s: %q, want %q", tt.name, got, want)
		}
	}
}
