package flows

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/campaign/campaigntest"
)

// exportRows is what the chats' exporter says each export wrote.
var exportRows = map[campaign.ExportSheet]int{
	campaign.SheetRegistrations: 4, campaign.SheetPledges: 1, campaign.SheetDevices: 3, campaign.SheetDeliveries: 0,
	campaign.SheetSchools: 2,
}

// newFindChat is a chat with pending registrations, a pledge and an exporter.
func newFindChat(t *testing.T) (*convo, *campaigntest.Exporter) {
	c := newChat(t)
	return c, c.withFind()
}

// withFind gives the chat pending registrations, a pledge and an exporter.
func (c *convo) withFind() *campaigntest.Exporter {
	x := &campaigntest.Exporter{Dir: c.t.TempDir(), Rows: exportRows}
	c.e.cfg.Exporter = x
	c.withPending()
	c.pledges.Append(campaign.Pledge{
		ID: 45, Code: "PL-000045", Status: campaign.PledgeOpen, Channel: "telegram", ChatID: donorChat, Language: "vi",
		DonorKind: campaign.DonorBusiness, DonorName: "Công ty An Phát", ContactPerson: "Nguyễn Văn An", Phone: "+84912345601",
		Items:    []campaign.PledgeItem{{Kind: campaign.ItemLaptop, Quantity: 2, Used: true, Complete: true}},
		Delivery: campaign.DeliverToFront, CreatedAt: testStart,
	})
	c.staff.Add(cultureID, "Võ Văn Hóa", campaign.RoleCultureInfo, "")
	return x
}

func findScenarios() []scenario {
	return []scenario{
		{goldenFind, "find_by_code_and_phone", func(c *convo) {
			c.withFind()
			c.become(wardOffID, "vi")
			c.send(cmd("find"))
			c.send(cmd("find", "td-2"))
			c.send(cmd("find", "TD-000003"))
			c.send(cmd("find", "0912 345 601"))
			c.send(press("f:TD-000001"))
			c.send(cmd("find", "PL-45"))
			c.send(cmd("find", "xyz"))
			c.become(officialID, "vi")
			c.send(cmd("find", "0912345601"))
			c.send(press("f:PL-000045"))
			c.become(wardTDID, "vi")
			c.send(cmd("find", "0912345601")) // used in Linh Trung only: the reply says nothing of it
			c.become("3101", "vi")
			c.send(cmd("find", "TD-000001"))
		}},
		{goldenFind, "export", func(c *convo) {
			c.withFind()
			c.become(officialID, "vi")
			c.send(cmd("export"))
			c.send(press("x:xlsx"))
			c.send(cmd("export", "csv phuong linh trung status verified from 1/9 to 20/9"))
			c.send(cmd("export", "phuong xyz"))
			c.send(cmd("export", "from 20/9 to 1/9"))
			c.become(wardOffID, "en")
			c.send(cmd("export", "ward Thảo Điền"))
			c.become(volunteerID, "vi")
			c.send(cmd("export"))
		}},
	}
}

func TestFind_ScopeOfEveryRole(t *testing.T) {
	for _, tt := range []struct {
		who, query string
		shown      string // text that shows the record was shown, "" when refused
	}{
		{wardOffID, "TD-000001", "📋 Hồ sơ TD-000001"},
		{wardTDID, "TD-000001", ""},
		{eduID, "TD-000001", "📋 Hồ sơ TD-000001"},
		{officialID, "TD-000003", "📋 Hồ sơ TD-000003"},
		{volunteerID, "TD-000001", ""},
		{cultureID, "TD-000001", ""},
		{"3101", "TD-000001", ""},
		{officialID, "PL-000045", "Công ty An Phát"},
		{volunteerID, "PL-000045", "Công ty An Phát"},
		{wardOffID, "PL-000045", ""},
	} {
		c, _ := newFindChat(t)
		c.become(tt.who, "vi")
		out := c.send(cmd("find", tt.query))
		text := allText(out)
		if tt.shown != "" && !strings.Contains(text, tt.shown) {
			t.Errorf("%s /find %s: not shown:%s", tt.who, tt.query, dump(out))
		}
		if tt.shown == "" && (strings.Contains(text, tt.query) && strings.Contains(text, "Nguyễn Thị Lan") || strings.Contains(text, "Công ty")) {
			t.Errorf("%s /find %s: shown out of scope:%s", tt.who, tt.query, dump(out))
		}
		if tt.shown == "" && len(c.audit.Refused()) != 1 {
			t.Errorf("%s /find %s: %d refusals audited, want 1", tt.who, tt.query, len(c.audit.Refused()))
		}
	}
}

func TestFind_OnlyVerifiersGetDecisionButtons(t *testing.T) {
	c, _ := newFindChat(t)
	c.become(officialID, "vi")
	if data := buttonData(c.send(cmd("find", "TD-000001"))); len(data) != 0 {
		t.Errorf("a city official got buttons %q", data)
	}
	c.become(wardOffID, "vi")
	if data := buttonData(c.send(cmd("find", "TD-000001"))); len(data) != 4 {
		t.Errorf("a ward official got buttons %q, want the four decisions", data)
	}
}

func TestFind_PhoneSearchIsScopedMaskedAndAudited(t *testing.T) {
	c, _ := newFindChat(t)
	c.become(wardTDID, "vi")
	out := c.send(cmd("find", "0912345601"))
	text := allText(out)
	// TD-000001 is Linh Trung's, outside Thảo Điền; the pledge is the city's business.
	if strings.Contains(text, "TD-000001") || strings.Contains(text, "PL-000045") || strings.Contains(text, "ngoài phạm vi") {
		t.Errorf("ward official of Thảo Điền:%s", dump(out))
	}
	c.become(eduID, "vi")
	text = allText(c.send(cmd("find", "0912345601")))
	if !strings.Contains(text, "TD-000001") || strings.Contains(text, "+84912345601") || !strings.Contains(text, campaign.MaskPhone("+84912345601")) {
		t.Errorf("education office:\n%s", text)
	}
	searches := findAudits(c)
	if len(searches) != 2 || searches[1].Actor != "telegram:"+eduID {
		t.Errorf("searches audited = %+v, want two", searches)
	}
}

// findAudits are the "data.find" audit rows written so far; none keeps the phone searched for.
func findAudits(c *convo) []campaign.AuditEntry {
	c.t.Helper()
	var searches []campaign.AuditEntry
	for _, e := range c.audit.Entries() {
		if e.Action == "data.find" {
			if strings.Contains(fmt.Sprint(e.After), "2345601") {
				c.t.Errorf("a search audited with the phone in full: %+v", e)
			}
			searches = append(searches, e)
		}
	}
	return searches
}

// Issue 13: the store is asked for the sender's scope only (it filters in SQL), never for every
// ward to be filtered here.
func TestFind_PhoneSearchAsksTheStoreForTheScope(t *testing.T) {
	for _, tt := range []struct {
		who  string
		want campaign.FindScope
	}{
		{wardOffID, campaign.FindScope{WardCode: wardLT, Registrations: true}},
		{wardTDID, campaign.FindScope{WardCode: wardTD, Registrations: true}},
		{womenID, campaign.FindScope{WardCode: wardLT, Registrations: true}},
		{eduID, campaign.FindScope{Registrations: true}},
		{officialID, campaign.FindScope{Registrations: true, Pledges: true}},
		{volunteerID, campaign.FindScope{Pledges: true}},
		{testAdmin, campaign.FindScope{Registrations: true, Pledges: true}},
	} {
		c, _ := newFindChat(t)
		c.become(tt.who, "vi")
		c.send(cmd("find", "0912345601"))
		if got := c.cases.FindScopes(); len(got) != 1 || got[0] != tt.want {
			t.Errorf("%s: FindByPhone asked for %+v, want %+v", tt.who, got, tt.want)
		}
	}
}

// Issue 13: a phone search never says that the number was used outside the sender's scope: the
// reply for a number used only in another ward is the reply for a number never used.
func TestFind_PhoneSearchNeverRevealsOtherWards(t *testing.T) {
	c, _ := newFindChat(t)
	c.become(wardTDID, "vi")
	used := allText(c.send(cmd("find", "0912345601"))) // TD-000001, Linh Trung, and the pledge
	unused := allText(c.send(cmd("find", "0987654321")))
	if strings.ReplaceAll(used, "+84912345601", "X") != strings.ReplaceAll(unused, "+84987654321", "X") {
		t.Errorf("a number used elsewhere:\n%s\na number never used:\n%s", used, unused)
	}
}

// Issue 13: a button is a search like a typed /find, audited the same way, also when its data
// was forged ("f:<phone>", "f:<another ward's code>"), and scoped the same way.
func TestFind_ForgedButtonSearchesAreAuditedAndScoped(t *testing.T) {
	c, _ := newFindChat(t)
	c.become(eduID, "vi")
	out := c.send(press("f:0912345601"))
	if !strings.Contains(allText(out), "TD-000001") {
		t.Errorf("education office, f:<phone>:%s", dump(out))
	}
	searches := findAudits(c)
	if len(searches) != 1 || searches[0].Actor != "telegram:"+eduID || searches[0].After.(map[string]any)["via"] != "button" {
		t.Fatalf("a forged phone button audited as %+v, want one data.find row from a button", searches)
	}

	c.become(wardTDID, "vi")
	out = c.send(press("f:0912345601"))
	if text := allText(out); strings.Contains(text, "TD-000001") || strings.Contains(text, "PL-000045") {
		t.Errorf("ward official of Thảo Điền, f:<phone>:%s", dump(out))
	}
	if got := c.cases.FindScopes(); len(got) != 2 || got[1] != (campaign.FindScope{WardCode: wardTD, Registrations: true}) {
		t.Errorf("scopes asked = %+v", got)
	}
	out = c.send(press("f:TD-000001"))
	if strings.Contains(allText(out), "Trần Minh Khang") || len(c.audit.Refused()) != 1 {
		t.Errorf("ward official of Thảo Điền, f:TD-000001:%s", dump(out))
	}
	if searches = findAudits(c); len(searches) != 3 || searches[2].Actor != "telegram:"+wardTDID {
		t.Errorf("searches audited = %+v, want three", searches)
	}

	// Someone without a role: refused before any search, and the refusal audited.
	c.become("3101", "vi")
	c.send(press("f:0912345601"))
	if len(c.audit.Refused()) != 2 || len(c.cases.FindScopes()) != 2 {
		t.Errorf("a parent's forged button: %d refusals, %d searches", len(c.audit.Refused()), len(c.cases.FindScopes()))
	}
}

func TestExport_WardOfficialGetsOnlyTheirWard(t *testing.T) {
	c, x := newFindChat(t)
	c.become(wardOffID, "vi")
	out := c.send(cmd("export", "ward Thảo Điền csv"))
	if len(x.Filters()) != 1 || x.Filters()[0].WardCode != wardLT || !x.Filters()[0].ShowPhones || x.FormatsAsked()[0] != campaign.FormatCSV {
		t.Fatalf("export asked = %+v %v", x.Filters(), x.FormatsAsked())
	}
	var file *File
	for _, o := range out {
		if o.File != nil {
			file = o.File
		}
	}
	if file == nil || !file.Remove || file.Name != "td-"+wardLT+"-export.csv" {
		t.Fatalf("file sent = %+v", file)
	}
	if _, err := os.Stat(file.Path); err != nil {
		t.Errorf("the file to send is not there: %v", err)
	}
	var exports []campaign.AuditEntry
	for _, e := range c.audit.Entries() {
		if e.Action == "data.export" {
			exports = append(exports, e)
		}
	}
	if len(exports) != 1 || exports[0].Subject != file.Name || exports[0].After.(map[string]any)["ward"] != wardLT {
		t.Errorf("export audited = %+v", exports)
	}
}

func TestExport_CityFiltersAndMaskedPhones(t *testing.T) {
	c, x := newFindChat(t)
	c.become(officialID, "vi")
	c.send(cmd("export", "phuong Linh Trung status verified from 1/9 to 20/9"))
	loc := campaign.Default().Location
	want := campaign.ExportFilter{
		WardCode: wardLT, Status: campaign.StatusVerified,
		From: time.Date(2021, 9, 1, 0, 0, 0, 0, loc), To: time.Date(2021, 9, 21, 0, 0, 0, 0, loc),
	}
	if len(x.Filters()) != 1 || x.Filters()[0].WardCode != want.WardCode || x.Filters()[0].Status != want.Status ||
		!x.Filters()[0].From.Equal(want.From) || !x.Filters()[0].To.Equal(want.To) || x.Filters()[0].ShowPhones {
		t.Errorf("filter = %+v, want %+v", x.Filters(), want)
	}
	for _, bad := range []string{"phuong xyz", "status maybe", "from 31/2", "to", "from 20/9 to 1/9", "bogus"} {
		out := c.send(cmd("export", bad))
		if len(x.Filters()) != 1 || !strings.Contains(allText(out), "Cách dùng: /export") {
			t.Errorf("/export %s:%s", bad, dump(out))
		}
	}
	x.Err = errors.New("disk full")
	if _, err := c.trySend(press("x:xlsx")); err == nil {
		t.Error("an export failure was not returned")
	}
}

// Issue 13: the audit log is append-only, so a search is audited as the kind of query and the
// codes it names or found, never its words: not the phone (in full or masked), not a name typed
// where a code was expected.
func TestFind_AuditKeepsKindAndCodesNeverTheQuery(t *testing.T) {
	c, _ := newFindChat(t)
	c.become(eduID, "vi")
	for _, q := range []string{"0912345601", "td-2", "Nguyễn Thị Lan"} {
		c.send(cmd("find", q))
	}
	searches := findAudits(c)
	if len(searches) != 3 {
		t.Fatalf("searches audited = %+v, want three", searches)
	}
	// fmt prints a map's keys in order.
	if got := fmt.Sprint(searches[0].After); got != "map[codes:[TD-000001] kind:phone via:command]" {
		t.Errorf("phone search audited as %s, want its kind and the codes found", got)
	}
	if got := fmt.Sprint(searches[1].After); got != "map[code:TD-000002 kind:registration via:command]" {
		t.Errorf("code search audited as %s", got)
	}
	if got := fmt.Sprint(searches[2].After); got != "map[kind:unknown via:command]" {
		t.Errorf("unknown search audited as %s", got)
	}
	for _, e := range searches {
		text := fmt.Sprint(e.After)
		for _, words := range []string{"0912345601", "+84912345601", campaign.MaskPhone("+84912345601"), "****", "Nguyễn Thị Lan", "Lan"} {
			if strings.Contains(text, words) {
				t.Errorf("a search audited with %q: %s", words, text)
			}
		}
	}
}

// A ward official asking for a code of another ward gets the very reply a code that does not
// exist gets: the reply never says that the code exists elsewhere (the refusal is still audited).
func TestFind_CodeOfAnotherWardReadsAsNotFound(t *testing.T) {
	c, _ := newFindChat(t)
	c.become(wardTDID, "vi") // Thảo Điền; TD-000001 is of Linh Trung
	elsewhere := allText(c.send(cmd("find", "TD-000001")))
	if len(c.audit.Refused()) != 1 {
		t.Errorf("%d refusals audited, want 1", len(c.audit.Refused()))
	}
	missing := allText(c.send(cmd("find", "TD-009999")))
	if strings.ReplaceAll(elsewhere, "TD-000001", "TD-009999") != missing {
		t.Errorf("another ward's code:\n%s\nan unknown code:\n%s", elsewhere, missing)
	}
}
