package flows

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// A golden file records a scripted conversation: each input, the replies (text and buttons) and
// the state after it. Regenerate with `go test ./flows -update` and read the diff.
type goldenFile struct {
	Flow     string       `json:"flow"`
	Scenario string       `json:"scenario"`
	Turns    []goldenTurn `json:"turns"`
}

type goldenTurn struct {
	Input  string         `json:"input"`
	Output []goldenOutput `json:"output"`
	State  State          `json:"state"`
}

type goldenOutput struct {
	Text              string     `json:"text"`
	Buttons           [][]string `json:"buttons,omitempty"`     // "text => data"
	AskContact        []string   `json:"ask_contact,omitempty"` // the button's label, then suggestions
	EndContactRequest bool       `json:"end_contact_request,omitempty"`
	Aside             bool       `json:"aside,omitempty"`
	Replace           bool       `json:"replace,omitempty"`
	Ack               string     `json:"ack,omitempty"`
	To                string     `json:"to,omitempty"`   // "channel:chat" of a message to another chat
	File              string     `json:"file,omitempty"` // the name of a file sent, or "photo:<id>"
}

// goldenTurnOf records a turn: its replies, then the notices it queued to other people, each with
// "to".
func goldenTurnOf(in Input, out []Output, notices []campaign.OutboxMessage, st State) goldenTurn {
	g := goldenTurn{Input: describe(in), State: st}
	out = slices.Clone(out)
	for _, m := range notices {
		o := Output{Text: m.Text}
		if m.PhotoID != "" {
			o.File = &File{PhotoID: m.PhotoID, PhotoChannel: m.PhotoChannel}
		}
		for _, row := range m.Buttons {
			r := make([]Button, len(row))
			for i, b := range row {
				r[i] = Button{Text: b.Text, Data: b.Data}
			}
			o.Buttons = append(o.Buttons, r)
		}
		out = append(out, o)
	}
	for i, o := range out {
		gout := goldenOutput{Text: o.Text, EndContactRequest: o.EndContactRequest, Aside: o.Aside, Replace: o.Replace, Ack: o.Ack}
		if k := i - (len(out) - len(notices)); k >= 0 {
			gout.To = notices[k].Channel + ":" + notices[k].ChatID
		}
		if o.File != nil {
			gout.File = o.File.Name
			if o.File.PhotoID != "" {
				gout.File = "photo:" + o.File.PhotoID
			}
		}
		for _, row := range o.Buttons {
			var r []string
			for _, b := range row {
				r = append(r, b.Text+" => "+b.Data)
			}
			gout.Buttons = append(gout.Buttons, r)
		}
		if c := o.AskContact; c != nil {
			gout.AskContact = append([]string{c.Label}, c.Suggestions...)
		}
		g.Output = append(g.Output, gout)
	}
	return g
}

// scenario is a scripted conversation of one flow; run may turn c.record off while it sets up.
type scenario struct {
	flow, name string
	run        func(c *convo)
}

func scenarios() []scenario {
	s := []scenario{
		{FlowRegistration, "happy_path_vi", func(c *convo) {
			c.send(cmd("start"))
			c.send(press("g:register"))
			c.send(press("r:consent:yes"))
			c.send(text("nguyễn thị lan"))
			c.send(contact("84912345678", c.userID))
			c.send(text("Trần Minh Khang"))
			c.send(text("5/9/2012"))
			c.send(press("r:grade:3"))
			c.send(text("Trường Tiểu học Linh Trung"))
			c.send(press("r:ward:26800"))
			c.send(text("12 đường số 5, khu phố 3"))
			c.send(press("r:circumstances:poor"))
			c.send(press("r:circumstances:orphan_one_covid"))
			c.send(press("r:circumstances:other"))
			c.send(press("r:circumstances:!done"))
			c.send(text("Mẹ mất việc do dịch, nhà có 3 con đi học"))
			c.send(press("r:device_situation:shares_phone"))
			c.send(press("r:needs:tablet"))
			c.send(press("r:needs:sim_4g"))
			c.send(press("r:needs:!done"))
			c.send(press("r:review:submit"))
			c.send(cmd("status"))
		}},
		{FlowRegistration, "happy_path_en", func(c *convo) {
			c.clientLang = "en-US"
			c.send(cmd("start"))
			c.send(press("g:register"))
			c.send(text("I agree"))
			c.send(text("Nguyen Thi Lan"))
			c.send(text("+84 912345678"))
			c.send(text("Tran Minh Khang, 2009-03-17"))
			c.send(text("7A, Linh Trung Lower Secondary School"))
			c.send(text("45/2 Street 9, Quarter 1, Binh Tho Ward"))
			c.send(text("near-poor household, covid hardship"))
			c.send(press("r:device_situation:none"))
			c.send(text("laptop; usb wi-fi"))
			c.send(press("r:review:submit"))
		}},
		{FlowRegistration, "consent_declined", func(c *convo) {
			c.send(cmd("start", "dangky"))
			c.send(press("r:consent:no"))
			c.send(cmd("status"))
		}},
		{FlowRegistration, "cancel_midway", func(c *convo) {
			c.send(press("g:register"))
			c.send(press("r:consent:yes"))
			c.send(text("Nguyễn Thị Lan"))
			c.send(cmd("cancel"))
			c.send(cmd("cancel"))
			c.send(press("r:phone:!help"))
		}},
		{FlowRegistration, "help_each_step", func(c *convo) {
			c.send(cmd("help"))
			c.send(press("g:register"))
			answers := []Input{
				press("r:consent:yes"), text("Nguyễn Thị Lan"), text("0912 345 678"), text("Trần Minh Khang"),
				text("05/09/2012"), press("r:grade:10"), press("r:grade_check:yes"), text("THPT Tam Phú"),
				text("tam phu"), text("8 Tô Ngọc Vân"), press("r:circumstances:poor"), press("r:circumstances:!done"),
				press("r:device_situation:broken"), press("r:needs:laptop"), press("r:needs:!done"),
			}
			for _, a := range answers {
				c.send(cmd("help"))
				c.send(a)
			}
			c.send(cmd("help"))
		}},
		{FlowRegistration, "done_with_none_ticked", func(c *convo) {
			c.record = false
			c.send(press("g:register"))
			c.send(press("r:consent:yes"))
			c.send(text("Nguyễn Thị Lan"))
			c.send(text("0912 345 678"))
			c.send(text("Trần Minh Khang"))
			c.send(text("05/09/2012"))
			c.send(press("r:grade:3"))
			c.send(text("Trường Tiểu học Linh Trung"))
			c.send(text("linh trung"))
			c.send(text("12 đường số 5, khu phố 3"))
			c.send(press("r:circumstances:poor"))
			c.send(press("r:circumstances:!done"))
			c.send(press("r:device_situation:shares_phone"))
			c.record = true
			// «Xong» again and again with nothing ticked: the question is redrawn only when that
			// changes it (the reason goes in, then the offer of help); else the reason comes alone.
			for range 4 {
				c.send(press("r:needs:!done"))
			}
			c.send(press("r:needs:tablet"))
			c.send(press("r:needs:!done"))
		}},
		{FlowRegistration, "expiry", func(c *convo) {
			c.send(press("g:register"))
			c.send(press("r:consent:yes"))
			c.send(text("Nguyễn Thị Lan"))
			c.now = c.now.Add(8 * 24 * time.Hour)
			c.send(text("0912 345 678"))
			c.send(press("g:register"))
			c.send(press("r:consent:yes"))
			c.now = c.now.Add(7*24*time.Hour + time.Minute)
			c.send(cmd("status"))
		}},
		{FlowRegistration, "start_in_progress", func(c *convo) {
			c.send(press("g:register"))
			c.send(press("r:consent:yes"))
			c.send(text("Nguyễn Thị Lan"))
			c.send(text("0912 345 678"))
			c.send(cmd("start"))
			c.send(press("g:resume"))
			c.send(cmd("start", "dangky"))
			c.send(press("g:register"))
			c.send(press("g:restart"))
			c.send(press("g:resume"))
		}},
		{FlowRegistration, "stale_button", func(c *convo) {
			c.send(press("g:register"))
			c.send(press("r:consent:yes"))
			c.send(press("r:consent:yes"))
			c.send(text("Nguyễn Thị Lan"))
			c.send(text("0912 345 678"))
			c.send(text("Trần Minh Khang"))
			c.send(text("05/09/2012"))
			c.send(press("r:level:primary")) // a button of the form before grades said the level
			c.send(press("r:grade:3"))
			c.send(press("r:grade:4"))
			c.send(press("r:school:poor"))
			c.send(press("x:y:z"))
			c.send(press("g:nonsense"))
			c.send(cmd("cancel"))
			c.send(press("r:review:submit"))
		}},
		{FlowRegistration, "deep_links", func(c *convo) {
			c.send(cmd("start", "staff-XYZ"))
			c.send(cmd("start", "register"))
			c.send(cmd("frobnicate"))
		}},
		{FlowRegistration, "language", func(c *convo) {
			c.send(cmd("lang"))
			c.send(press("g:lang:en"))
			c.send(press("g:register"))
			c.send(press("r:consent:yes"))
			c.send(text("Nguyễn Thị Lan"))
			c.send(cmd("lang", "vi"))
			c.send(cmd("lang", "xx"))
			c.send(press("g:lang:en"))
		}},
		{FlowRegistration, "third_miss", func(c *convo) {
			c.send(press("g:register"))
			c.send(press("r:consent:yes"))
			c.send(text("Lan"))
			c.send(text("Lan 2"))
			c.send(text("🙂🙂"))
			c.send(press("r:parent_name:!help"))
			c.send(text("x"))
			c.send(text("x"))
			c.send(text("x"))
			c.send(press("r:parent_name:!retry"))
			c.send(text("Nguyễn Thị Lan"))
			c.send(text("028 3896 1234"))
			c.send(text("0123456789"))
			c.send(contact("84912345678", "999"))
			c.send(press("r:phone:!cancel"))
		}},
		{FlowRegistration, "ward_search", func(c *convo) {
			c.record = false
			c.send(press("g:register"))
			c.send(press("r:consent:yes"))
			c.send(text("Nguyễn Thị Lan"))
			c.send(text("0912 345 678"))
			c.send(text("Trần Minh Khang"))
			c.send(text("05/09/2012"))
			c.send(press("r:grade:3"))
			c.record = true
			c.send(text("Trường Tiểu học Bình Chiểu"))
			c.send(text("xyz"))
			c.send(text("an"))
			c.send(text("binh"))
			c.send(press("r:ward:!p=0"))
			c.send(press("r:ward:!p=4"))
			c.send(text("linh trug"))
			c.send(text("đúng"))
		}},
		{FlowRegistration, "ward_in_address", func(c *convo) {
			c.record = false
			c.toReview()
			c.record = true
			// A near miss in an address: the address is kept, the ward offered.
			c.send(press("r:review:edit.ward"))
			c.send(text("12 đường số 5, p. Bình Chiu"))
			c.send(press("r:ward:26797"))
			// An address without a ward: kept, the ward asked; then one that names it.
			c.send(press("r:review:edit.ward"))
			c.send(text("99 Nguyễn Văn Bá, khu phố 2"))
			c.send(text("99 Nguyễn Văn Bá, khu phố 2, Phường Trường Thọ"))
		}},
		{FlowRegistration, "grade_check", func(c *convo) {
			c.record = false
			c.toStep(stepGrade)
			c.record = true
			c.send(press("r:grade:9"))
			c.send(press("r:grade_check:fix"))
			c.send(text("lớp 9, THCS Linh Trung"))
			c.send(text("không hiểu"))
			c.send(press("r:grade_check:yes"))
		}},
		{FlowRegistration, "typical_family", func(c *convo) {
			// The shortest way a family takes: a message per question, two answers in one where
			// they go together, lists typed.
			c.send(cmd("start", "dangky"))
			c.send(press("r:consent:yes"))
			c.send(text("Nguyễn Thị Lan"))
			c.send(contact("84912345678", c.userID))
			c.send(text("Trần Minh Khang, 05/09/2012"))
			c.send(press("r:grade:3"))
			c.send(text("Trường Tiểu học Linh Trung"))
			c.send(text("12 đường số 5, khu phố 3, P. Linh Trung"))
			c.send(text("hộ nghèo, khó khăn do covid"))
			c.send(press("r:device_situation:none"))
			c.send(text("máy tính bảng, sim 4g"))
			c.send(press("r:review:submit"))
		}},
		{FlowRegistration, "another_child", func(c *convo) {
			c.record = false
			c.toReview()
			c.regs.DuplicateOf = []string{"TD-000999"}
			c.record = true
			c.send(press("r:review:submit"))
			c.send(press("g:register"))
			c.send(press("r:consent:yes"))
			c.send(press("r:parent_name:!last"))
			c.send(text("0912 345 678"))
			c.send(cmd("status"))
		}},
		{FlowRegistration, "submit_failures", func(c *convo) {
			c.record = false
			c.toReview()
			c.record = true
			c.regs.SubmitErr = campaign.Errorf(campaign.EINVALID, "ward code unknown")
			c.send(press("r:review:submit"))
			c.regs.SubmitErr = nil
			c.send(text("gửi"))
			c.send(press("r:review:submit"))
		}},
		{FlowRegistration, "other_inputs", func(c *convo) {
			c.send(other())
			c.send(edited())
			c.send(press("g:register"))
			c.send(other())
			c.send(press("r:consent:yes"))
			c.send(text("   "))
			c.send(edited())
			c.send(contact("84912345678", c.userID))
		}},
	}
	edits := []struct {
		field string
		steps []Input
	}{
		{stepParentName, []Input{text("Lê Văn Bình")}},
		{stepPhone, []Input{text("0987 654 321")}},
		{stepStudentName, []Input{text("Trần Minh Khôi")}},
		{stepBirthDate, []Input{text("1/1/2011")}},
		{stepLevel, []Input{text("lớp 6")}}, // the edit button of a review sent when the level was asked first
		{stepGrade, []Input{text("13"), text("4")}},
		{stepSchool, []Input{press("r:school:!keep")}},
		{stepWard, []Input{text("Thảo Điền")}},
		{stepAddress, []Input{text("99 Nguyễn Văn Bá")}},
		{stepCircumstances, []Input{press("r:circumstances:other"), press("r:circumstances:poor"), press("r:circumstances:!done"), press("r:circumstances:near_poor"), press("r:circumstances:!done")}},
		{stepOtherText, []Input{text("Nhà thuê trọ, cha bệnh")}},
		{stepDeviceSituation, []Input{press("r:device_situation:none")}},
		{stepNeeds, []Input{press("r:needs:laptop"), press("r:needs:!done"), press("r:needs:smartphone"), press("r:needs:!done")}},
	}
	for _, ed := range edits {
		s = append(s, scenario{FlowRegistration, "edit_" + ed.field, func(c *convo) {
			c.record = false
			c.toReview()
			c.record = true
			c.send(press("r:review:edit." + ed.field))
			for _, in := range ed.steps {
				c.send(in)
			}
		}})
	}
	s = append(s, pledgeScenarios()...)
	s = append(s, intakeScenarios()...)
	s = append(s, verifyScenarios()...)
	s = append(s, allocScenarios()...)
	s = append(s, findScenarios()...)
	s = append(s, broadcastScenarios()...)
	s = append(s, talkScenarios()...)
	s = append(s, mydataScenarios()...)
	s = append(s, assistScenarios()...)
	s = append(s, claimScenarios()...)
	return append(s, staffScenarios()...)
}

func TestGolden(t *testing.T) {
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			c := newChat(t)
			c.record = true
			sc.run(c)
			got, err := json.MarshalIndent(goldenFile{Flow: sc.flow, Scenario: sc.name, Turns: c.turns}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", sc.flow, sc.name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./flows -update to write it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the conversation; run go test ./flows -update and read the diff.\n%s", path, firstDiff(string(want), string(got)))
			}
		})
	}
}

// noGolden are the registered flows without golden files of their own, and where they are tested.
var noGolden = map[string]string{
	"core":      "/start, /help, /cancel, /lang: in every flow's golden conversations",
	FlowCase:    "the officials' casework dialog: its steps are those of verify, allocate, deliver … (their goldens)",
	"status":    "/status: in the registration's goldens",
	"export":    "/export sends files: export_perm_test.go (and testdata/find/export.json)",
	"summary":   "/summary sends a chart: summary_test.go",
	"subscribe": "/subscribe: notify_test.go",
	"import":    "/import reads a school's or ward's list: import_pg_test.go, import_progress_test.go (testdata/import/*.txt)",
}

// TestGoldenCoverage fails when a registered flow (or a form) has no golden file, unless noGolden
// says where it is tested, or a golden file no scenario.
func TestGoldenCoverage(t *testing.T) {
	c := newChat(t)
	known := map[string]bool{}
	for _, sc := range scenarios() {
		known[filepath.Join(sc.flow, sc.name+".json")] = true
	}
	var flows []string
	registered := map[string]bool{}
	for _, f := range registry.flows {
		registered[f.Name()] = true
		if _, ok := noGolden[f.Name()]; !ok {
			flows = append(flows, f.Name())
		}
	}
	for name := range noGolden {
		if !registered[name] {
			t.Errorf("noGolden names %q, which no flow registers", name)
		}
		if files, _ := filepath.Glob(filepath.Join("testdata", name, "*.json")); len(files) > 0 {
			t.Errorf("flow %q has golden files in testdata/%s/: take it out of noGolden", name, name)
		}
	}
	for _, f := range c.e.forms {
		flows = append(flows, f.name)
	}
	for _, name := range flows {
		files, _ := filepath.Glob(filepath.Join("testdata", name, "*.json"))
		if len(files) == 0 {
			t.Errorf("flow %q has no golden file in testdata/%s/", name, name)
		}
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*.json"))
	for _, p := range files {
		rel, _ := filepath.Rel("testdata", p)
		if !known[rel] {
			t.Errorf("golden file %s has no scenario", p)
		}
	}
	if len(files) == 0 && !*update {
		t.Error(errors.New("no golden files"))
	}
}

func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "line " + itoa(i+1) + ":\n- " + a + "\n+ " + b
		}
	}
	return ""
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
