package campaign

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// viLabels stands in for the localised labels flows supplies.
var viLabels = map[string]string{
	"orphan_both_covid":   "mồ côi cả cha lẫn mẹ do Covid-19",
	"orphan_one_covid":    "mồ côi do Covid-19",
	"poor":                "hộ nghèo",
	"near_poor":           "hộ cận nghèo",
	"covid_hardship":      "khó khăn do Covid-19",
	"other":               "khác",
	"device_none":         "chưa có thiết bị",
	"device_shares_phone": "dùng chung điện thoại",
	"device_broken":       "thiết bị hỏng",
}

func viLabel(key string) string { return viLabels[key] }

func TestDefault_PriorityRules(t *testing.T) {
	p := Default().PriorityRules
	wantC := map[Circumstance]int{
		CircumstanceOrphanBothCovid: 60, CircumstanceOrphanOneCovid: 50, CircumstancePoor: 30,
		CircumstanceNearPoor: 20, CircumstanceCovidHardship: 10, CircumstanceOther: 5,
	}
	if !reflect.DeepEqual(p.Circumstances, wantC) {
		t.Errorf("circumstances = %v, want %v", p.Circumstances, wantC)
	}
	wantS := map[DeviceSituation]int{SituationNone: 4, SituationSharesPhone: 2, SituationBroken: 1}
	if !reflect.DeepEqual(p.DeviceSituations, wantS) {
		t.Errorf("device situations = %v, want %v", p.DeviceSituations, wantS)
	}
	if !p.ExcludeAlreadyHelped {
		t.Error("already helped children are not excluded by default")
	}
	if len(p.Exclusive) != 2 {
		t.Errorf("exclusive = %v", p.Exclusive)
	}
	// Every circumstance and situation is worth something, so a new one added to the domain
	// without points in the default file is noticed here.
	for _, k := range Circumstances {
		if p.Circumstances[k] <= 0 {
			t.Errorf("circumstance %s has no points", k)
		}
	}
	for _, s := range DeviceSituations {
		if p.DeviceSituations[s] <= 0 {
			t.Errorf("device situation %s has no points", s)
		}
	}
}

func TestCampaign_Priority(t *testing.T) {
	c := Default()
	tests := []struct {
		name      string
		circ      []Circumstance
		situation DeviceSituation
		points    int
		keys      string // reason keys, worth most first
		explain   string
	}{
		{"nothing", nil, "", 0, "", ""},
		{"orphan both", []Circumstance{CircumstanceOrphanBothCovid}, SituationNone, 64,
			"orphan_both_covid,device_none", "mồ côi cả cha lẫn mẹ do Covid-19 +60; chưa có thiết bị +4"},
		{"orphan one", []Circumstance{CircumstanceOrphanOneCovid}, SituationSharesPhone, 52,
			"orphan_one_covid,device_shares_phone", "mồ côi do Covid-19 +50; dùng chung điện thoại +2"},
		{"poor", []Circumstance{CircumstancePoor}, SituationBroken, 31, "poor,device_broken", "hộ nghèo +30; thiết bị hỏng +1"},
		{"near poor", []Circumstance{CircumstanceNearPoor}, "", 20, "near_poor", "hộ cận nghèo +20"},
		{"covid hardship", []Circumstance{CircumstanceCovidHardship}, "", 10, "covid_hardship", "khó khăn do Covid-19 +10"},
		{"other", []Circumstance{CircumstanceOther}, "", 5, "other", "khác +5"},
		{"only a situation", nil, SituationNone, 4, "device_none", "chưa có thiết bị +4"},
		// "None of these" is stored as no circumstance: the family is registered and ordered by its device.
		{"none of the circumstances", []Circumstance{}, SituationSharesPhone, 2, "device_shares_phone", "dùng chung điện thoại +2"},
		{"orphan one and poor", []Circumstance{CircumstancePoor, CircumstanceOrphanOneCovid}, "", 80,
			"orphan_one_covid,poor", "mồ côi do Covid-19 +50; hộ nghèo +30"},
		{"both orphan kinds count once", []Circumstance{CircumstanceOrphanOneCovid, CircumstanceOrphanBothCovid}, "", 60,
			"orphan_both_covid", "mồ côi cả cha lẫn mẹ do Covid-19 +60"},
		{"poor and near poor count once", []Circumstance{CircumstanceNearPoor, CircumstancePoor}, "", 30, "poor", "hộ nghèo +30"},
		{"declared twice", []Circumstance{CircumstancePoor, CircumstancePoor}, "", 30, "poor", "hộ nghèo +30"},
		{"unknown circumstance and situation", []Circumstance{"rich"}, "tablet", 0, "", ""},
		{"everything", Circumstances, SituationNone, 60 + 30 + 10 + 5 + 4,
			"orphan_both_covid,poor,covid_hardship,other,device_none",
			"mồ côi cả cha lẫn mẹ do Covid-19 +60; hộ nghèo +30; khó khăn do Covid-19 +10; khác +5; chưa có thiết bị +4"},
		{"near poor, hardship, other", []Circumstance{CircumstanceOther, CircumstanceCovidHardship, CircumstanceNearPoor}, SituationBroken, 36,
			"near_poor,covid_hardship,other,device_broken", "hộ cận nghèo +20; khó khăn do Covid-19 +10; khác +5; thiết bị hỏng +1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := c.Priority(Registration{Circumstances: tt.circ, DeviceSituation: tt.situation})
			if s.Points != tt.points {
				t.Errorf("points = %d, want %d", s.Points, tt.points)
			}
			var keys []string
			sum := 0
			for _, r := range s.Reasons {
				keys = append(keys, r.Key)
				sum += r.Points
			}
			if got := strings.Join(keys, ","); got != tt.keys {
				t.Errorf("reasons = %s, want %s", got, tt.keys)
			}
			if sum != s.Points {
				t.Errorf("reasons add up to %d, points are %d", sum, s.Points)
			}
			if got := s.Explain("vi", viLabel); got != tt.explain {
				t.Errorf("Explain = %q, want %q", got, tt.explain)
			}
		})
	}
}

func TestScore_Explain(t *testing.T) {
	s := Score{Points: 80, Reasons: []Reason{{"orphan_one_covid", 50}, {"poor", 30}}}
	if got, want := s.Explain("en", nil), "orphan_one_covid +50; poor +30"; got != want {
		t.Errorf("nil label: %q, want %q", got, want)
	}
	only := func(key string) string {
		if key == "poor" {
			return "poor household"
		}
		return ""
	}
	if got, want := s.Explain("en", only), "orphan_one_covid +50; poor household +30"; got != want {
		t.Errorf("partial label: %q, want %q", got, want)
	}
	if got := (Score{}).Explain("vi", viLabel); got != "" {
		t.Errorf("empty score explains as %q", got)
	}
}

func TestReason_Kind(t *testing.T) {
	tests := []struct {
		key  string
		circ Circumstance
		sit  DeviceSituation
	}{
		{"poor", CircumstancePoor, ""},
		{"orphan_both_covid", CircumstanceOrphanBothCovid, ""},
		{"device_none", "", SituationNone},
		{"device_shares_phone", "", SituationSharesPhone},
		{"device_tablet", "", ""},
		{"none", "", ""},
	}
	for _, tt := range tests {
		r := Reason{Key: tt.key}
		c, cok := r.Circumstance()
		s, sok := r.Situation()
		if c != tt.circ || cok != (tt.circ != "") {
			t.Errorf("%s: circumstance %q %v, want %q", tt.key, c, cok, tt.circ)
		}
		if s != tt.sit || sok != (tt.sit != "") {
			t.Errorf("%s: situation %q %v, want %q", tt.key, s, sok, tt.sit)
		}
	}
}

// subsets returns every subset of the circumstances.
func subsets() [][]Circumstance {
	var all [][]Circumstance
	for mask := range 1 << len(Circumstances) {
		var s []Circumstance
		for i, c := range Circumstances {
			if mask&(1<<i) != 0 {
				s = append(s, c)
			}
		}
		all = append(all, s)
	}
	return all
}

// TestDefaultPriority_Order checks the promises the default numbers are chosen for, over every
// combination of circumstances and situations.
func TestDefaultPriority_Order(t *testing.T) {
	p := Default().PriorityRules
	type scored struct {
		circ      []Circumstance
		situation DeviceSituation
		circPts   int
		points    int
		orphan    bool
	}
	var all []scored
	for _, circ := range subsets() {
		for _, sit := range append([]DeviceSituation{""}, DeviceSituations...) {
			all = append(all, scored{
				circ: circ, situation: sit,
				circPts: p.Score(circ, "").Points, points: p.Score(circ, sit).Points,
				orphan: slicesContainsAny(circ, CircumstanceOrphanOneCovid, CircumstanceOrphanBothCovid),
			})
		}
	}
	for _, a := range all {
		for _, b := range all {
			if a.orphan && !b.orphan && a.points <= b.points {
				t.Fatalf("orphan %v/%s (%d) does not outrank %v/%s (%d)", a.circ, a.situation, a.points, b.circ, b.situation, b.points)
			}
			if a.circPts > b.circPts && a.points <= b.points {
				t.Fatalf("device situation overturns circumstances: %v/%s (%d) vs %v/%s (%d)", a.circ, a.situation, a.points, b.circ, b.situation, b.points)
			}
			if a.circPts == b.circPts && situationRank(a.situation) < situationRank(b.situation) && a.points <= b.points {
				t.Fatalf("situation %s does not outrank %s", a.situation, b.situation)
			}
		}
	}
}

func slicesContainsAny(s []Circumstance, want ...Circumstance) bool {
	for _, c := range s {
		for _, w := range want {
			if c == w {
				return true
			}
		}
	}
	return false
}

// campaignJSON is a minimal campaign file with the given priority object ("" for none).
func campaignJSON(priority string) []byte {
	s := `{"id":"y","name":{"vi":"Y"},"registration_prefix":"Y","start":"2022-01-01","end":"2022-01-31","wards":[{"code":"1","name":"A"}]`
	if priority != "" {
		s += `,"priority":` + priority
	}
	return []byte(s + "}")
}

func TestParse_Priority(t *testing.T) {
	def := Default().PriorityRules
	tests := []struct {
		name     string
		priority string
		wantErr  string
		check    func(t *testing.T, p PriorityRules)
	}{
		{"absent gives the default", "", "", func(t *testing.T, p PriorityRules) {
			if !reflect.DeepEqual(p, def) {
				t.Errorf("rules = %+v, want the default %+v", p, def)
			}
		}},
		{"null gives the default", "null", "", func(t *testing.T, p PriorityRules) {
			if !reflect.DeepEqual(p, def) {
				t.Errorf("rules = %+v", p)
			}
		}},
		{"empty object: nothing is worth points, helped excluded", "{}", "", func(t *testing.T, p PriorityRules) {
			if s := p.Score(Circumstances, SituationNone); s.Points != 0 || len(s.Reasons) != 0 {
				t.Errorf("score = %+v", s)
			}
			if !p.ExcludeAlreadyHelped {
				t.Error("exclude_already_helped is not true by default")
			}
		}},
		{"helped not excluded", `{"exclude_already_helped":false}`, "", func(t *testing.T, p PriorityRules) {
			if p.ExcludeAlreadyHelped {
				t.Error("exclude_already_helped false was ignored")
			}
		}},
		{"points are data", `{"circumstances":{"other":7,"covid_hardship":40},"device_situations":{"broken":3}}`, "", func(t *testing.T, p PriorityRules) {
			s := p.Score([]Circumstance{CircumstanceOther, CircumstanceCovidHardship, CircumstancePoor}, SituationBroken)
			if s.Points != 50 || s.Explain("vi", viLabel) != "khó khăn do Covid-19 +40; khác +7; thiết bị hỏng +3" {
				t.Errorf("score = %+v, %q", s, s.Explain("vi", viLabel))
			}
		}},
		{"without exclusive groups both orphan kinds add up", `{"circumstances":{"orphan_both_covid":60,"orphan_one_covid":50}}`, "", func(t *testing.T, p PriorityRules) {
			if s := p.Score([]Circumstance{CircumstanceOrphanBothCovid, CircumstanceOrphanOneCovid}, ""); s.Points != 110 {
				t.Errorf("points = %d", s.Points)
			}
		}},
		{"unknown circumstance", `{"circumstances":{"poor":30,"rich":-1}}`, `priority: circumstances: unknown circumstance "rich"`, nil},
		{"negative circumstance", `{"circumstances":{"poor":-30}}`, "priority: circumstances: poor has negative points -30", nil},
		{"unknown situation", `{"device_situations":{"tablet":1}}`, `priority: device_situations: unknown device situation "tablet"`, nil},
		{"negative situation", `{"device_situations":{"none":-1}}`, "priority: device_situations: none has negative points -1", nil},
		{"unknown field", `{"circumstance":{"poor":30}}`, "unknown field", nil},
		{"points not a number", `{"circumstances":{"poor":"30"}}`, "parse", nil},
		{"exclusive unknown", `{"exclusive":[["poor","rich"]]}`, `priority: exclusive: unknown circumstance "rich"`, nil},
		{"exclusive twice", `{"exclusive":[["poor","near_poor"],["poor","other"]]}`, "priority: exclusive: poor is in more than one group", nil},
		{"exclusive of one", `{"exclusive":[["poor"]]}`, "priority: exclusive: group 1 needs at least two", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(campaignJSON(tt.priority), nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c.PriorityRules)
		})
	}
}

// TestParse_PriorityNotShared checks that two campaigns do not share the default rules' maps.
func TestParse_PriorityNotShared(t *testing.T) {
	a, b := Default(), Default()
	a.PriorityRules.Circumstances[CircumstancePoor] = 1000
	if b.PriorityRules.Circumstances[CircumstancePoor] != 30 {
		t.Error("campaigns share their priority rules")
	}
}

func ExampleScore_Explain() {
	c := Default()
	s := c.Priority(Registration{
		Circumstances:   []Circumstance{CircumstancePoor, CircumstanceOrphanOneCovid},
		DeviceSituation: SituationSharesPhone,
	})
	fmt.Println(s.Points)
	fmt.Println(s.Explain("vi", viLabel))
	// Output:
	// 82
	// mồ côi do Covid-19 +50; hộ nghèo +30; dùng chung điện thoại +2
}
