package campaign

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Candidate is a verified registration as matching sees it.
type Candidate struct {
	Code            string
	WardCode        string
	Level           SchoolLevel
	Grade           int // shown to officials beside the level; 0 when not known
	Needs           []Need
	DeviceSituation DeviceSituation
	CreatedAt       time.Time
	Score           Score
	// AlreadyHelped is set when the child got a device from this or another programme before.
	AlreadyHelped bool
	// Rejected is set when officials refused the registration.
	Rejected bool
	// Served is set when the child was already allocated or given a device in this campaign.
	Served bool
}

// Candidate makes a registration a matching candidate, scored by the campaign's rules; the
// caller says whether another programme already helped the child. Callers pass verified
// registrations; a rejected one is marked Rejected and an allocated or delivered one Served.
func (c *Campaign) Candidate(r Registration, alreadyHelped bool) Candidate {
	return Candidate{
		Code: r.Code, WardCode: r.WardCode, Level: r.Level, Grade: r.Grade, Needs: slices.Clone(r.Needs),
		DeviceSituation: r.DeviceSituation, CreatedAt: r.CreatedAt, Score: c.Priority(r),
		AlreadyHelped: alreadyHelped, Rejected: r.Status == StatusRejected,
		Served: r.Status == StatusAllocated || r.Status == StatusDelivered,
	}
}

// ReadyDevice is a checked device ready to be allocated.
type ReadyDevice struct {
	Label string
	Type  DeviceType
	// WardCode is the ward where the device is kept, "" when not known.
	WardCode string
}

// Supply is what can be allocated: ready devices and counted stock.
type Supply struct {
	Devices []ReadyDevice
	// Stock counts SIMs, USB Wi-Fi and internet packages by kind.
	Stock map[StockKind]int
}

// MatchRules are the rules Match follows beyond the order of priority.
type MatchRules struct {
	// ExcludeAlreadyHelped leaves out children already helped by this or another programme.
	ExcludeAlreadyHelped bool
	// LevelFit lists, per school level, the device types a child of that level can use, best
	// first; nil means DefaultLevelFit. A child of a level not listed can use only the types
	// asked for.
	LevelFit map[SchoolLevel][]DeviceType
}

// MatchRules returns the campaign's rules for Match: its exclude_already_helped flag and the
// default level fit.
func (c *Campaign) MatchRules() MatchRules {
	return MatchRules{ExcludeAlreadyHelped: c.PriorityRules.ExcludeAlreadyHelped, LevelFit: DefaultLevelFit()}
}

// DefaultLevelFit is which device suits a school level, best first. Upper secondary (THPT)
// students write long work and use office software: laptop, desktop, tablet, smartphone.
// Lower secondary (THCS): laptop, tablet, desktop, smartphone. Primary (tiểu học) children
// handle a tablet best: tablet, laptop, smartphone, desktop. Every level can use every type; a
// smartphone's small screen puts it near the end, and a desktop last for primary, where a
// parent must set it up and it cannot go to the school.
func DefaultLevelFit() map[SchoolLevel][]DeviceType {
	return map[SchoolLevel][]DeviceType{
		LevelUpperSecondary: {DeviceLaptop, DeviceDesktop, DeviceTablet, DeviceSmartphone},
		LevelLowerSecondary: {DeviceLaptop, DeviceTablet, DeviceDesktop, DeviceSmartphone},
		LevelPrimary:        {DeviceTablet, DeviceLaptop, DeviceSmartphone, DeviceDesktop},
	}
}

// MatchReason says why a child got the device it got.
type MatchReason string

// Match reasons.
const (
	MatchTypeRequested    MatchReason = "type_requested"    // the device type the parent asked for
	MatchLevelFit         MatchReason = "level_fit"         // none of the type asked for was left: the best fit for the level
	MatchSameWard         MatchReason = "same_ward"         // the device is kept in the child's ward
	MatchConnectivityOnly MatchReason = "connectivity_only" // the parent asked for connectivity only
)

// Allocation is what Match proposes to give one child.
type Allocation struct {
	Code   string // the registration
	Points int    // the child's priority points
	// DeviceLabel and DeviceType are the device; both are "" when the child asked for
	// connectivity only.
	DeviceLabel string
	DeviceType  DeviceType
	// Stock lists the SIM, USB Wi-Fi and internet package added, one of each kind at most.
	Stock   []StockKind
	Reasons []MatchReason
}

// SkipReason says why a child got nothing.
type SkipReason string

// Skip reasons.
const (
	SkipDuplicate       SkipReason = "duplicate"         // the code was listed before
	SkipRejected        SkipReason = "rejected"          // officials refused the registration
	SkipServed          SkipReason = "served"            // already allocated or given a device
	SkipAlreadyHelped   SkipReason = "already_helped"    // helped by this or another programme before
	SkipNothingAsked    SkipReason = "nothing_asked"     // no need stated
	SkipNoFittingDevice SkipReason = "no_fitting_device" // no device left that the child could use
	SkipNoStock         SkipReason = "no_stock"          // connectivity only, and none of it left
)

// Skip is a child Match gave nothing, and why.
type Skip struct {
	Code   string
	Points int
	Reason SkipReason
}

// Match proposes who gets which device, deterministically: the same candidates and supply, in
// any order, give the same allocations. It goes through the candidates once, highest priority
// first, and gives each what fits best of what is left; both results are in that order. Match
// changes nothing it is given.
//
// The order: Score.Points, most first; then no device at all before sharing a parent's phone
// before a broken device before anything else; then earlier registration; then code.
//
// The rules:
//   - A rejected or served child, and when rules.ExcludeAlreadyHelped an already helped one,
//     gets nothing; a code listed again gets nothing the second time. Each child gets at most one
//     device and each device goes to at most one child.
//   - A child who asked for device types gets one of those when any is left (the level's best
//     fit first among several), otherwise the best fit for the level (rules.LevelFit) that is
//     left. Among devices of the chosen type, one kept in the child's ward comes first; then
//     the lowest label.
//   - When the child gets a device, one of each connectivity kind asked for (SIM 4G, USB Wi-Fi,
//     internet package) is added while stock lasts. A child who asked for connectivity only gets
//     what is left of it without a device; one who asked for a device but fits none gets no stock
//     either, which stays for children who can use it.
//   - A child who fits no device left is skipped with SkipNoFittingDevice and children after it
//     may still get devices, but only devices it could not have used: since each child takes
//     from what is left in priority order, no child is served while a child before it with a
//     fitting device waits.
//
// Devices are known by label: a label listed twice is offered once. Negative stock counts as none.
func Match(candidates []Candidate, supply Supply, rules MatchRules) ([]Allocation, []Skip) {
	levelFit := rules.LevelFit
	if levelFit == nil {
		levelFit = DefaultLevelFit()
	}
	order := slices.Clone(candidates)
	slices.SortFunc(order, compareCandidates)

	// pool holds the devices left by type, sorted by label.
	devices := slices.Clone(supply.Devices)
	slices.SortFunc(devices, func(a, b ReadyDevice) int {
		return cmp.Or(strings.Compare(a.Label, b.Label), strings.Compare(string(a.Type), string(b.Type)),
			strings.Compare(a.WardCode, b.WardCode))
	})
	devices = slices.CompactFunc(devices, func(a, b ReadyDevice) bool { return a.Label == b.Label })
	pool := map[DeviceType][]ReadyDevice{}
	for _, d := range devices {
		pool[d.Type] = append(pool[d.Type], d)
	}
	stock := map[StockKind]int{}
	for k, n := range supply.Stock {
		stock[k] = max(n, 0)
	}

	var allocs []Allocation
	var skips []Skip
	seen := map[string]bool{}
	for _, c := range order {
		skip := func(r SkipReason) { skips = append(skips, Skip{Code: c.Code, Points: c.Score.Points, Reason: r}) }
		switch {
		case seen[c.Code]:
			skip(SkipDuplicate)
			continue
		case c.Rejected:
			skip(SkipRejected)
		case c.Served:
			skip(SkipServed)
		case c.AlreadyHelped && rules.ExcludeAlreadyHelped:
			skip(SkipAlreadyHelped)
		case len(c.Needs) == 0:
			skip(SkipNothingAsked)
		default:
			if a, reason := allocate(c, pool, stock, levelFit); reason != "" {
				skip(reason)
			} else {
				allocs = append(allocs, a)
			}
		}
		seen[c.Code] = true
	}
	return allocs, skips
}

// allocate gives c what fits best from pool and stock, taking it out of them, or says why not.
func allocate(c Candidate, pool map[DeviceType][]ReadyDevice, stock map[StockKind]int, levelFit map[SchoolLevel][]DeviceType) (Allocation, SkipReason) {
	a := Allocation{Code: c.Code, Points: c.Score.Points}
	requested := requestedTypes(c.Needs)
	if len(requested) > 0 {
		t, requestedType, ok := chooseType(requested, levelFit[c.Level], pool)
		if !ok {
			return Allocation{}, SkipNoFittingDevice
		}
		devs := pool[t]
		i := 0
		if c.WardCode != "" {
			if j := slices.IndexFunc(devs, func(d ReadyDevice) bool { return d.WardCode == c.WardCode }); j >= 0 {
				i = j
			}
		}
		d := devs[i]
		pool[t] = slices.Delete(devs, i, i+1)
		a.DeviceLabel, a.DeviceType = d.Label, t
		if requestedType {
			a.Reasons = append(a.Reasons, MatchTypeRequested)
		} else {
			a.Reasons = append(a.Reasons, MatchLevelFit)
		}
		if c.WardCode != "" && d.WardCode == c.WardCode {
			a.Reasons = append(a.Reasons, MatchSameWard)
		}
	}
	for _, k := range StockKinds {
		if slices.Contains(c.Needs, Need(k)) && stock[k] > 0 {
			stock[k]--
			a.Stock = append(a.Stock, k)
		}
	}
	if len(requested) == 0 {
		if len(a.Stock) == 0 {
			return Allocation{}, SkipNoStock
		}
		a.Reasons = append(a.Reasons, MatchConnectivityOnly)
	}
	return a, ""
}

// requestedTypes returns the device types among needs.
func requestedTypes(needs []Need) []DeviceType {
	var types []DeviceType
	for _, t := range DeviceTypes {
		if slices.Contains(needs, Need(t)) {
			types = append(types, t)
		}
	}
	return types
}

// chooseType picks the device type to give: a requested type left in pool, in the level's
// order of fit (requested types the level does not list come after, in DeviceTypes order), or
// else the level's best fit left. requested says which of the two it is.
func chooseType(requested, fit []DeviceType, pool map[DeviceType][]ReadyDevice) (t DeviceType, isRequested, ok bool) {
	for _, t := range fit {
		if slices.Contains(requested, t) && len(pool[t]) > 0 {
			return t, true, true
		}
	}
	for _, t := range requested {
		if !slices.Contains(fit, t) && len(pool[t]) > 0 {
			return t, true, true
		}
	}
	for _, t := range fit {
		if len(pool[t]) > 0 {
			return t, false, true
		}
	}
	return "", false, false
}

// SortByPriority sorts candidates in the order Match serves them: most points first, then no
// device at all before sharing a phone before a broken device, then earlier registration, then code.
func SortByPriority(cs []Candidate) { slices.SortFunc(cs, compareCandidates) }

// situationRank orders device situations for ties: no device first, an unknown one last.
func situationRank(s DeviceSituation) int {
	if i := slices.Index(DeviceSituations, s); i >= 0 {
		return i
	}
	return len(DeviceSituations)
}

// compareCandidates orders candidates by priority, then by everything else, so that even copies
// of a code come out in one order whatever the input order.
func compareCandidates(a, b Candidate) int {
	return cmp.Or(
		cmp.Compare(b.Score.Points, a.Score.Points),
		cmp.Compare(situationRank(a.DeviceSituation), situationRank(b.DeviceSituation)),
		a.CreatedAt.Compare(b.CreatedAt),
		strings.Compare(a.Code, b.Code),
		// Only copies of one code get this far.
		strings.Compare(string(a.DeviceSituation), string(b.DeviceSituation)),
		compareFlags(a, b),
		strings.Compare(a.WardCode, b.WardCode),
		strings.Compare(string(a.Level), string(b.Level)),
		slices.Compare(a.Needs, b.Needs),
	)
}

// compareFlags puts an eligible copy of a code before an excluded one.
func compareFlags(a, b Candidate) int {
	flags := func(c Candidate) int {
		n := 0
		if c.Rejected {
			n |= 4
		}
		if c.Served {
			n |= 2
		}
		if c.AlreadyHelped {
			n |= 1
		}
		return n
	}
	return cmp.Compare(flags(a), flags(b))
}
