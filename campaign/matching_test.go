package campaign

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var matchDay = time.Date(2021, 9, 17, 8, 0, 0, 0, time.UTC)

// cand is a candidate registered minute minutes after matchDay, with no device at all.
func cand(code string, points int, level SchoolLevel, ward string, minute int, needs ...Need) Candidate {
	return Candidate{
		Code: code, WardCode: ward, Level: level, Needs: needs, DeviceSituation: SituationNone,
		CreatedAt: matchDay.Add(time.Duration(minute) * time.Minute), Score: Score{Points: points},
	}
}

func with(c Candidate, f func(*Candidate)) Candidate { f(&c); return c }

func dev(label string, t DeviceType, ward string) ReadyDevice {
	return ReadyDevice{Label: label, Type: t, WardCode: ward}
}

// describe writes Match's results compactly: "CODE:LABEL+stock[reasons]" and "CODE!reason".
func describe(allocs []Allocation, skips []Skip) string {
	var parts []string
	for _, a := range allocs {
		s := a.Code + ":" + a.DeviceLabel
		for _, k := range a.Stock {
			s += "+" + string(k)
		}
		var rs []string
		for _, r := range a.Reasons {
			rs = append(rs, string(r))
		}
		parts = append(parts, s+"["+strings.Join(rs, ",")+"]")
	}
	for _, s := range skips {
		parts = append(parts, s.Code+"!"+string(s.Reason))
	}
	return strings.Join(parts, " ")
}

const (
	pri = LevelPrimary
	thc = LevelLowerSecondary
	thp = LevelUpperSecondary
)

func TestMatch(t *testing.T) {
	def := MatchRules{ExcludeAlreadyHelped: true}
	tests := []struct {
		name       string
		candidates []Candidate
		supply     Supply
		rules      MatchRules
		want       string
	}{
		{"nothing to match", nil, Supply{}, def, ""},
		{"scarce devices go by points", []Candidate{
			cand("A", 10, thp, "", 0, NeedLaptop),
			cand("B", 60, thp, "", 5, NeedLaptop),
			cand("C", 30, thp, "", 1, NeedLaptop),
		}, Supply{Devices: []ReadyDevice{dev("LT-2", DeviceLaptop, ""), dev("LT-1", DeviceLaptop, "")}}, def,
			"B:LT-1[type_requested] C:LT-2[type_requested] A!no_fitting_device"},
		{"ties: no device, then sharing, then broken, then earlier, then code", []Candidate{
			with(cand("BROKEN", 30, thc, "", 0, NeedTablet), func(c *Candidate) { c.DeviceSituation = SituationBroken }),
			with(cand("SHARE", 30, thc, "", 0, NeedTablet), func(c *Candidate) { c.DeviceSituation = SituationSharesPhone }),
			cand("NONE-LATE", 30, thc, "", 9, NeedTablet),
			cand("NONE-Z", 30, thc, "", 1, NeedTablet),
			cand("NONE-A", 30, thc, "", 1, NeedTablet),
		}, Supply{Devices: []ReadyDevice{dev("T1", DeviceTablet, ""), dev("T2", DeviceTablet, ""), dev("T3", DeviceTablet, ""), dev("T4", DeviceTablet, "")}}, def,
			"NONE-A:T1[type_requested] NONE-Z:T2[type_requested] NONE-LATE:T3[type_requested] SHARE:T4[type_requested] BROKEN!no_fitting_device"},
		{"requested type over the level's best", []Candidate{
			cand("A", 50, thp, "", 0, NeedSmartphone),
		}, Supply{Devices: []ReadyDevice{dev("LT", DeviceLaptop, ""), dev("SP", DeviceSmartphone, "")}}, def,
			"A:SP[type_requested]"},
		{"several requested: the level's order among them", []Candidate{
			cand("THPT", 50, thp, "", 0, NeedSmartphone, NeedTablet),
			cand("PRI", 40, pri, "", 0, NeedSmartphone, NeedLaptop),
		}, Supply{Devices: []ReadyDevice{dev("SP1", DeviceSmartphone, ""), dev("SP2", DeviceSmartphone, ""), dev("TB", DeviceTablet, ""), dev("LT", DeviceLaptop, "")}}, def,
			"THPT:TB[type_requested] PRI:LT[type_requested]"},
		{"level fit when the requested type is gone", []Candidate{
			cand("THPT", 50, thp, "", 0, NeedLaptop),
			cand("THCS", 40, thc, "", 0, NeedLaptop),
			cand("PRI", 30, pri, "", 0, NeedDesktop),
			cand("PRI2", 20, pri, "", 0, NeedDesktop),
		}, Supply{Devices: []ReadyDevice{dev("DT", DeviceDesktop, ""), dev("TB1", DeviceTablet, ""), dev("TB2", DeviceTablet, ""), dev("SP", DeviceSmartphone, "")}}, def,
			"THPT:DT[level_fit] THCS:TB1[level_fit] PRI:TB2[level_fit] PRI2:SP[level_fit]"},
		{"level order per level", []Candidate{
			cand("THPT", 50, thp, "", 0, NeedUSBWiFi, NeedLaptop),
			cand("THCS", 40, thc, "", 0, NeedLaptop),
			cand("PRI", 30, pri, "", 0, NeedDesktop),
		}, Supply{Devices: []ReadyDevice{dev("D1", DeviceDesktop, ""), dev("D2", DeviceDesktop, ""), dev("T1", DeviceTablet, ""), dev("S1", DeviceSmartphone, ""), dev("S2", DeviceSmartphone, "")}}, def,
			"THPT:D1[level_fit] THCS:T1[level_fit] PRI:D2[type_requested]"},
		{"same ward first, only within the chosen type", []Candidate{
			cand("A", 50, pri, "26800", 0, NeedTablet),
			cand("B", 40, pri, "26800", 0, NeedLaptop),
			cand("C", 30, pri, "", 0, NeedTablet),
		}, Supply{Devices: []ReadyDevice{
			dev("TB-1", DeviceTablet, "26794"), dev("TB-2", DeviceTablet, "26800"), dev("TB-3", DeviceTablet, ""),
			dev("LT-1", DeviceLaptop, "26794"), dev("TB-4", DeviceTablet, "26800"),
		}}, def,
			"A:TB-2[type_requested,same_ward] B:LT-1[type_requested] C:TB-1[type_requested]"},
		{"a child who fits nothing left does not block others, and nobody takes what it could use", []Candidate{
			cand("PRI", 60, pri, "", 0, NeedTablet),
			cand("THPT", 50, thp, "", 0, NeedLaptop),
			cand("THPT2", 40, thp, "", 0, NeedTablet),
		}, Supply{Devices: []ReadyDevice{dev("DT", DeviceDesktop, ""), dev("TB", DeviceTablet, "")}},
			MatchRules{LevelFit: map[SchoolLevel][]DeviceType{pri: {DeviceTablet}, thp: {DeviceLaptop, DeviceDesktop}}},
			"PRI:TB[type_requested] THPT:DT[level_fit] THPT2!no_fitting_device"},
		{"skipped child, lower child served with what it could not use", []Candidate{
			cand("PRI", 60, pri, "", 0, NeedTablet),
			cand("THPT", 50, thp, "", 0, NeedDesktop),
		}, Supply{Devices: []ReadyDevice{dev("DT", DeviceDesktop, "")}},
			MatchRules{LevelFit: map[SchoolLevel][]DeviceType{pri: {DeviceTablet, DeviceSmartphone}}},
			"THPT:DT[type_requested] PRI!no_fitting_device"},
		{"a level the rules do not list uses only what it asked for", []Candidate{
			cand("X", 60, "college", "", 0, NeedSmartphone),
			cand("Y", 50, "college", "", 0, NeedLaptop),
		}, Supply{Devices: []ReadyDevice{dev("SP", DeviceSmartphone, ""), dev("TB", DeviceTablet, "")}}, def,
			"X:SP[type_requested] Y!no_fitting_device"},
		{"no double allocation", []Candidate{
			cand("A", 50, thp, "", 0, NeedLaptop),
			cand("A", 40, thp, "", 0, NeedLaptop),
			cand("B", 30, thp, "", 0, NeedLaptop),
		}, Supply{Devices: []ReadyDevice{dev("LT-1", DeviceLaptop, ""), dev("LT-1", DeviceLaptop, "")}}, def,
			"A:LT-1[type_requested] A!duplicate B!no_fitting_device"},
		{"rejected, served and already helped are left out", []Candidate{
			with(cand("REJ", 90, thp, "", 0, NeedLaptop), func(c *Candidate) { c.Rejected = true }),
			with(cand("SRV", 80, thp, "", 0, NeedLaptop), func(c *Candidate) { c.Served = true }),
			with(cand("HLP", 70, thp, "", 0, NeedLaptop), func(c *Candidate) { c.AlreadyHelped = true }),
			cand("OK", 10, thp, "", 0, NeedLaptop),
			cand("NONE", 5, thp, "", 0),
		}, Supply{Devices: []ReadyDevice{dev("LT-1", DeviceLaptop, ""), dev("LT-2", DeviceLaptop, "")}}, def,
			"OK:LT-1[type_requested] REJ!rejected SRV!served HLP!already_helped NONE!nothing_asked"},
		{"already helped served when the rule is off", []Candidate{
			with(cand("HLP", 70, thp, "", 0, NeedLaptop), func(c *Candidate) { c.AlreadyHelped = true }),
			cand("OK", 10, thp, "", 0, NeedLaptop),
		}, Supply{Devices: []ReadyDevice{dev("LT-1", DeviceLaptop, "")}}, MatchRules{},
			"HLP:LT-1[type_requested] OK!no_fitting_device"},
		{"stock added while it lasts", []Candidate{
			cand("A", 50, pri, "", 0, NeedTablet, NeedSIM4G, NeedInternetPackage),
			cand("B", 40, pri, "", 0, NeedTablet, NeedSIM4G, NeedUSBWiFi),
			cand("C", 30, pri, "", 0, NeedTablet, NeedSIM4G),
			cand("D", 20, pri, "", 0, NeedTablet),
		}, Supply{
			Devices: []ReadyDevice{dev("T1", DeviceTablet, ""), dev("T2", DeviceTablet, ""), dev("T3", DeviceTablet, ""), dev("T4", DeviceTablet, "")},
			Stock:   map[StockKind]int{StockSIM4G: 2, StockInternetPackage: 5, StockUSBWiFi: 1},
		}, def,
			"A:T1+sim_4g+internet_package[type_requested] B:T2+sim_4g+usb_wifi[type_requested] C:T3[type_requested] D:T4[type_requested]"},
		{"connectivity only, and stock kept from who gets no device", []Candidate{
			cand("DEV", 60, thp, "", 0, NeedLaptop, NeedSIM4G),
			cand("SIM", 50, thp, "", 0, NeedSIM4G),
			cand("PKG", 40, thp, "", 0, NeedInternetPackage, NeedUSBWiFi),
			cand("SIM2", 30, thp, "", 0, NeedSIM4G),
		}, Supply{Stock: map[StockKind]int{StockSIM4G: 1, StockInternetPackage: 1, StockUSBWiFi: -3}}, def,
			"SIM:+sim_4g[connectivity_only] PKG:+internet_package[connectivity_only] DEV!no_fitting_device SIM2!no_stock"},
		{"device types the rules do not know are never given", []Candidate{
			cand("A", 50, thp, "", 0, NeedLaptop),
		}, Supply{Devices: []ReadyDevice{dev("X", "printer", "")}}, def,
			"A!no_fitting_device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			allocs, skips := Match(tt.candidates, tt.supply, tt.rules)
			if got := describe(allocs, skips); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			// Any order of the input gives the same result.
			r := rand.New(rand.NewPCG(1, 2))
			for range 20 {
				cs, sp := shuffled(r, tt.candidates, tt.supply)
				a2, s2 := Match(cs, sp, tt.rules)
				if !reflect.DeepEqual(a2, allocs) || !reflect.DeepEqual(s2, skips) {
					t.Fatalf("shuffled input gave %s", describe(a2, s2))
				}
			}
		})
	}
}

func shuffled(r *rand.Rand, cs []Candidate, s Supply) ([]Candidate, Supply) {
	cs = slices.Clone(cs)
	r.Shuffle(len(cs), func(i, j int) { cs[i], cs[j] = cs[j], cs[i] })
	s.Devices = slices.Clone(s.Devices)
	r.Shuffle(len(s.Devices), func(i, j int) { s.Devices[i], s.Devices[j] = s.Devices[j], s.Devices[i] })
	return cs, s
}

func TestMatch_LeavesInputAlone(t *testing.T) {
	cs := []Candidate{cand("B", 1, pri, "", 0, NeedTablet), cand("A", 2, pri, "", 0, NeedTablet, NeedSIM4G)}
	sp := Supply{
		Devices: []ReadyDevice{dev("T2", DeviceTablet, ""), dev("T1", DeviceTablet, "")},
		Stock:   map[StockKind]int{StockSIM4G: 1},
	}
	wantC := slices.Clone(cs)
	wantD := slices.Clone(sp.Devices)
	Match(cs, sp, MatchRules{})
	if !reflect.DeepEqual(cs, wantC) || !reflect.DeepEqual(sp.Devices, wantD) || sp.Stock[StockSIM4G] != 1 {
		t.Errorf("Match changed its input: %v %v %v", cs, sp.Devices, sp.Stock)
	}
}

func TestCampaign_Candidate(t *testing.T) {
	c := Default()
	r := Registration{
		Code: "TD-000007", Status: StatusVerified, WardCode: "26800", Level: LevelPrimary, Grade: 4,
		Circumstances: []Circumstance{CircumstanceOrphanOneCovid}, DeviceSituation: SituationSharesPhone,
		Needs: []Need{NeedTablet, NeedSIM4G}, CreatedAt: matchDay,
	}
	got := c.Candidate(r, true)
	want := Candidate{
		Code: "TD-000007", WardCode: "26800", Level: LevelPrimary, Grade: 4, Needs: []Need{NeedTablet, NeedSIM4G},
		DeviceSituation: SituationSharesPhone, CreatedAt: matchDay, AlreadyHelped: true,
		Score: Score{Points: 52, Reasons: []Reason{{"orphan_one_covid", 50}, {"device_shares_phone", 2}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("candidate = %+v\nwant %+v", got, want)
	}
	for status, flags := range map[RegistrationStatus][2]bool{
		StatusVerified: {false, false}, StatusRejected: {true, false},
		StatusAllocated: {false, true}, StatusDelivered: {false, true},
	} {
		r.Status = status
		got := c.Candidate(r, false)
		if got.Rejected != flags[0] || got.Served != flags[1] {
			t.Errorf("%s: rejected %v served %v", status, got.Rejected, got.Served)
		}
	}
	if rules := c.MatchRules(); !rules.ExcludeAlreadyHelped || !reflect.DeepEqual(rules.LevelFit, DefaultLevelFit()) {
		t.Errorf("match rules = %+v", rules)
	}
}

// fitsForTest is the fit rule as the Match doc comment states it, written again: a type asked
// for, or one the level can use.
func fitsForTest(c Candidate, t DeviceType, rules MatchRules) bool {
	fit := rules.LevelFit
	if fit == nil {
		fit = DefaultLevelFit()
	}
	return slices.Contains(c.Needs, Need(t)) || slices.Contains(fit[c.Level], t)
}

func wantsDevice(c Candidate) bool {
	for _, t := range DeviceTypes {
		if slices.Contains(c.Needs, Need(t)) {
			return true
		}
	}
	return false
}

// before reports whether a comes before b in Match's stated order.
func before(a, b Candidate) bool {
	if a.Score.Points != b.Score.Points {
		return a.Score.Points > b.Score.Points
	}
	rank := func(s DeviceSituation) int {
		switch s {
		case SituationNone:
			return 0
		case SituationSharesPhone:
			return 1
		case SituationBroken:
			return 2
		}
		return 3
	}
	if rank(a.DeviceSituation) != rank(b.DeviceSituation) {
		return rank(a.DeviceSituation) < rank(b.DeviceSituation)
	}
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.Before(b.CreatedAt)
	}
	return a.Code < b.Code
}

func randomCase(r *rand.Rand) ([]Candidate, Supply, MatchRules) {
	wards := []string{"", "26794", "26800", "27094"}
	levels := []SchoolLevel{pri, thc, thp, pri, thc, thp, "college"}
	situations := []DeviceSituation{SituationNone, SituationSharesPhone, SituationBroken, ""}
	n := r.IntN(30)
	var cs []Candidate
	for i := range n {
		var needs []Need
		for _, need := range Needs {
			if r.IntN(4) == 0 {
				needs = append(needs, need)
			}
		}
		cs = append(cs, Candidate{
			Code: fmt.Sprintf("TD-%06d", i), WardCode: wards[r.IntN(len(wards))], Level: levels[r.IntN(len(levels))],
			Needs: needs, DeviceSituation: situations[r.IntN(len(situations))],
			CreatedAt:     matchDay.Add(time.Duration(r.IntN(5)) * time.Hour),
			Score:         Score{Points: 5 * r.IntN(5)},
			AlreadyHelped: r.IntN(8) == 0, Rejected: r.IntN(10) == 0, Served: r.IntN(10) == 0,
		})
	}
	var sp Supply
	types := append(slices.Clone(DeviceTypes), "printer")
	for i := range r.IntN(25) {
		sp.Devices = append(sp.Devices, ReadyDevice{
			Label: fmt.Sprintf("D-%03d", i), Type: types[r.IntN(len(types))], WardCode: wards[r.IntN(len(wards))],
		})
	}
	sp.Stock = map[StockKind]int{}
	for _, k := range StockKinds {
		sp.Stock[k] = r.IntN(6) - 1
	}
	rules := MatchRules{ExcludeAlreadyHelped: r.IntN(2) == 0}
	if r.IntN(2) == 0 {
		rules.LevelFit = map[SchoolLevel][]DeviceType{}
		for _, l := range SchoolLevels {
			for _, t := range DeviceTypes {
				if r.IntN(2) == 0 {
					rules.LevelFit[l] = append(rules.LevelFit[l], t)
				}
			}
		}
	}
	return cs, sp, rules
}

// TestMatch_Properties checks Match's promises on random campaigns.
func TestMatch_Properties(t *testing.T) {
	for seed := range uint64(400) {
		r := rand.New(rand.NewPCG(seed, 2021))
		cs, sp, rules := randomCase(r)
		allocs, skips := Match(cs, sp, rules)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d: %s\n%s", seed, fmt.Sprintf(format, args...), describe(allocs, skips))
		}
		byCode := map[string]Candidate{}
		for _, c := range cs {
			byCode[c.Code] = c
		}
		deviceType := map[string]DeviceType{}
		for _, d := range sp.Devices {
			deviceType[d.Label] = d.Type
		}

		// Every child once, each device once, only from supply.
		if len(allocs)+len(skips) != len(cs) {
			fail("%d allocations and %d skips for %d candidates", len(allocs), len(skips), len(cs))
		}
		seenCode, seenDevice := map[string]bool{}, map[string]bool{}
		stockUsed := map[StockKind]int{}
		for _, a := range allocs {
			c := byCode[a.Code]
			if seenCode[a.Code] {
				fail("%s served twice", a.Code)
			}
			seenCode[a.Code] = true
			if c.Rejected || c.Served || (c.AlreadyHelped && rules.ExcludeAlreadyHelped) {
				fail("%s should be left out", a.Code)
			}
			if a.DeviceLabel != "" {
				if seenDevice[a.DeviceLabel] {
					fail("%s given twice", a.DeviceLabel)
				}
				seenDevice[a.DeviceLabel] = true
				typ, ok := deviceType[a.DeviceLabel]
				if !ok || typ != a.DeviceType {
					fail("%s is not a %s of the supply", a.DeviceLabel, a.DeviceType)
				}
				if !wantsDevice(c) || !fitsForTest(c, typ, rules) {
					fail("%s got a %s it cannot use", a.Code, typ)
				}
			} else if wantsDevice(c) || len(a.Stock) == 0 {
				fail("%s got no device and stock %v", a.Code, a.Stock)
			}
			for _, k := range a.Stock {
				if !slices.Contains(c.Needs, Need(k)) {
					fail("%s got %s it did not ask for", a.Code, k)
				}
				stockUsed[k]++
			}
		}
		for k, n := range stockUsed {
			if n > max(sp.Stock[k], 0) {
				fail("%d %s given, %d in stock", n, k, sp.Stock[k])
			}
		}
		for _, s := range skips {
			c := byCode[s.Code]
			if seenCode[s.Code] {
				fail("%s both served and skipped", s.Code)
			}
			seenCode[s.Code] = true
			excluded := c.Rejected || c.Served || (c.AlreadyHelped && rules.ExcludeAlreadyHelped)
			if !excluded && len(c.Needs) > 0 && s.Reason != SkipNoFittingDevice && s.Reason != SkipNoStock {
				fail("%s skipped as %s", s.Code, s.Reason)
			}
			if !excluded && wantsDevice(c) != (s.Reason == SkipNoFittingDevice) {
				fail("%s skipped as %s", s.Code, s.Reason)
			}
		}

		// Nobody is served a device before a child who could have used it and got nothing.
		for _, s := range skips {
			if s.Reason != SkipNoFittingDevice {
				continue
			}
			h := byCode[s.Code]
			for _, a := range allocs {
				if a.DeviceLabel != "" && before(h, byCode[a.Code]) && fitsForTest(h, a.DeviceType, rules) {
					fail("%s (%d) got %s that %s (%d) could use", a.Code, a.Points, a.DeviceLabel, h.Code, h.Score.Points)
				}
			}
		}
		// The type asked for where possible, and the same ward where possible: a child that did
		// not get them would have found one in what went to children after it.
		for _, a := range allocs {
			h := byCode[a.Code]
			for _, b := range allocs {
				l := byCode[b.Code]
				if b.DeviceLabel == "" || !before(h, l) {
					continue
				}
				if slices.Contains(a.Reasons, MatchLevelFit) && slices.Contains(h.Needs, Need(b.DeviceType)) {
					fail("%s got a level fit while %s got the %s it asked for", a.Code, b.Code, b.DeviceType)
				}
				sameWard := func(label string) bool {
					return slices.ContainsFunc(sp.Devices, func(d ReadyDevice) bool { return d.Label == label && d.WardCode == h.WardCode })
				}
				if h.WardCode != "" && !slices.Contains(a.Reasons, MatchSameWard) && b.DeviceType == a.DeviceType && sameWard(b.DeviceLabel) {
					fail("%s did not get %s of its ward", a.Code, b.DeviceLabel)
				}
			}
		}

		// Any order of the input gives the same result.
		cs2, sp2 := shuffled(r, cs, sp)
		a2, s2 := Match(cs2, sp2, rules)
		if !reflect.DeepEqual(a2, allocs) || !reflect.DeepEqual(s2, skips) {
			fail("shuffled input gave %s", describe(a2, s2))
		}
	}
}

// TestMatch_DuplicatesDeterministic feeds copies of codes and labels that differ in what
// they hold, in many orders.
func TestMatch_DuplicatesDeterministic(t *testing.T) {
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 7))
		cs, sp, rules := randomCase(r)
		for range r.IntN(5) {
			if len(cs) > 0 {
				c := cs[r.IntN(len(cs))]
				c.WardCode, c.Rejected = "27094", r.IntN(2) == 0
				cs = append(cs, c)
			}
			if len(sp.Devices) > 0 {
				d := sp.Devices[r.IntN(len(sp.Devices))]
				d.Type = DeviceTypes[r.IntN(len(DeviceTypes))]
				sp.Devices = append(sp.Devices, d)
			}
		}
		allocs, skips := Match(cs, sp, rules)
		if len(allocs)+len(skips) != len(cs) {
			t.Fatalf("seed %d: %d results for %d candidates", seed, len(allocs)+len(skips), len(cs))
		}
		codes, labels := map[string]bool{}, map[string]bool{}
		for _, a := range allocs {
			if codes[a.Code] || (a.DeviceLabel != "" && labels[a.DeviceLabel]) {
				t.Fatalf("seed %d: twice: %s", seed, describe(allocs, skips))
			}
			codes[a.Code], labels[a.DeviceLabel] = true, a.DeviceLabel != ""
		}
		for range 5 {
			cs2, sp2 := shuffled(r, cs, sp)
			a2, s2 := Match(cs2, sp2, rules)
			if !reflect.DeepEqual(a2, allocs) || !reflect.DeepEqual(s2, skips) {
				t.Fatalf("seed %d: shuffled input gave %s, want %s", seed, describe(a2, s2), describe(allocs, skips))
			}
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	// About the size of Thủ Đức's 2021 need: 3,200 children, 2,000 devices.
	r := rand.New(rand.NewPCG(1, 1))
	var cs []Candidate
	levels := []SchoolLevel{pri, thc, thp}
	for i := range 3200 {
		cs = append(cs, cand(fmt.Sprintf("TD-%06d", i), 5*r.IntN(20), levels[r.IntN(3)], fmt.Sprint(r.IntN(34)), r.IntN(10000),
			Need(DeviceTypes[r.IntN(4)]), NeedSIM4G))
	}
	var sp Supply
	for i := range 2000 {
		sp.Devices = append(sp.Devices, dev(fmt.Sprintf("D-%05d", i), DeviceTypes[r.IntN(4)], fmt.Sprint(r.IntN(34))))
	}
	sp.Stock = map[StockKind]int{StockSIM4G: 1500}
	for b.Loop() {
		Match(cs, sp, MatchRules{})
	}
}
