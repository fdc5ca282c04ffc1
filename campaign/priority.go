package campaign

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// PriorityRules say how many points each circumstance and device situation is worth. They are
// data in the campaign file's "priority" object, so a campaign changes who comes first by
// editing its file, not the code:
//
//	"priority": {
//	  "circumstances": {"orphan_both_covid": 60, "orphan_one_covid": 50, "poor": 30,
//	                    "near_poor": 20, "covid_hardship": 10, "other": 5},
//	  "exclusive": [["orphan_both_covid", "orphan_one_covid"], ["poor", "near_poor"]],
//	  "device_situations": {"none": 4, "shares_phone": 2, "broken": 1},
//	  "exclude_already_helped": true
//	}
//
// A student's points are the sum over the circumstances declared and the device situation (a
// family that declares none, "none of these", has its device situation's points only). In
// an "exclusive" group only the circumstance worth most counts: orphaned of both parents already
// says orphaned of one, and a household is poor or near-poor, not both. A circumstance or
// situation the file leaves out is worth nothing. A file without "priority" gets the Thủ Đức
// default above, read from the embedded default campaign.
//
// Why the default numbers: the plan's footnote 2 puts children orphaned by Covid-19 first, then
// the national rule's order (poor, near-poor, other hardship). Totals of circumstances are
// multiples of 5 and the best any non-orphan can reach (poor + Covid hardship + other = 45, plus
// 4 for no device) is below an orphan's 50, so every Covid orphan comes before every other child.
// Device situation points (at most 4, less than the 5 between two circumstance totals) only order
// children whose circumstances weigh the same: no device at all first, then sharing a parent's
// phone, then a broken device, which volunteers may be able to repair.
type PriorityRules struct {
	// Circumstances is the points per circumstance.
	Circumstances map[Circumstance]int
	// Exclusive lists groups of circumstances of which only the one worth most counts.
	Exclusive [][]Circumstance
	// DeviceSituations is the points per device situation.
	DeviceSituations map[DeviceSituation]int
	// ExcludeAlreadyHelped keeps children already helped by this or another programme out of
	// matching; it is true unless the file says false.
	ExcludeAlreadyHelped bool
}

// filePriority is the "priority" object of a campaign file.
type filePriority struct {
	Circumstances        map[Circumstance]int    `json:"circumstances"`
	Exclusive            [][]Circumstance        `json:"exclusive"`
	DeviceSituations     map[DeviceSituation]int `json:"device_situations"`
	ExcludeAlreadyHelped *bool                   `json:"exclude_already_helped"`
}

// parsePriority validates a campaign file's "priority" object; nil gives the default rules.
func parsePriority(p *filePriority) (PriorityRules, error) {
	if p == nil {
		return defaultPriority()
	}
	rules := PriorityRules{
		Circumstances:        make(map[Circumstance]int, len(p.Circumstances)),
		DeviceSituations:     make(map[DeviceSituation]int, len(p.DeviceSituations)),
		ExcludeAlreadyHelped: p.ExcludeAlreadyHelped == nil || *p.ExcludeAlreadyHelped,
	}
	// Keys are checked in a fixed order so the same bad file always gives the same error.
	for _, k := range slices.Sorted(maps.Keys(p.Circumstances)) {
		if !slices.Contains(Circumstances, k) {
			return PriorityRules{}, fmt.Errorf("circumstances: unknown circumstance %q", k)
		}
		if p.Circumstances[k] < 0 {
			return PriorityRules{}, fmt.Errorf("circumstances: %s has negative points %d", k, p.Circumstances[k])
		}
		rules.Circumstances[k] = p.Circumstances[k]
	}
	for _, k := range slices.Sorted(maps.Keys(p.DeviceSituations)) {
		if !slices.Contains(DeviceSituations, k) {
			return PriorityRules{}, fmt.Errorf("device_situations: unknown device situation %q", k)
		}
		if p.DeviceSituations[k] < 0 {
			return PriorityRules{}, fmt.Errorf("device_situations: %s has negative points %d", k, p.DeviceSituations[k])
		}
		rules.DeviceSituations[k] = p.DeviceSituations[k]
	}
	inGroup := map[Circumstance]bool{}
	for i, group := range p.Exclusive {
		if len(group) < 2 {
			return PriorityRules{}, fmt.Errorf("exclusive: group %d needs at least two circumstances", i+1)
		}
		for _, k := range group {
			if !slices.Contains(Circumstances, k) {
				return PriorityRules{}, fmt.Errorf("exclusive: unknown circumstance %q", k)
			}
			if inGroup[k] {
				return PriorityRules{}, fmt.Errorf("exclusive: %s is in more than one group", k)
			}
			inGroup[k] = true
		}
		rules.Exclusive = append(rules.Exclusive, slices.Clone(group))
	}
	return rules, nil
}

// defaultPriority reads the rules of the embedded default campaign, so the default is written
// down once, as data.
func defaultPriority() (PriorityRules, error) {
	b, err := defaultFiles.ReadFile("default_thu_duc_2021.json")
	if err != nil {
		return PriorityRules{}, err
	}
	var f struct {
		Priority *filePriority `json:"priority"`
	}
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&f); err != nil {
		return PriorityRules{}, fmt.Errorf("default campaign: %w", err)
	}
	if f.Priority == nil {
		return PriorityRules{}, fmt.Errorf("default campaign has no priority rules")
	}
	return parsePriority(f.Priority)
}

// Score is a registration's priority: the points and what they come from.
type Score struct {
	Points int
	// Reasons lists what gave points, worth most first; nothing worth 0 points is listed.
	Reasons []Reason
}

// Reason is one thing that gave a registration points.
type Reason struct {
	// Key is the circumstance (e.g. "orphan_both_covid") or "device_" and the device situation
	// (e.g. "device_none").
	Key    string
	Points int
}

// situationReasonPrefix starts the key of a Reason that comes from the device situation.
const situationReasonPrefix = "device_"

// Circumstance returns the circumstance the reason is for, if it is for one.
func (r Reason) Circumstance() (Circumstance, bool) {
	c := Circumstance(r.Key)
	if !slices.Contains(Circumstances, c) {
		return "", false
	}
	return c, true
}

// Situation returns the device situation the reason is for, if it is for one.
func (r Reason) Situation() (DeviceSituation, bool) {
	s, ok := strings.CutPrefix(r.Key, situationReasonPrefix)
	if !ok || !slices.Contains(DeviceSituations, DeviceSituation(s)) {
		return "", false
	}
	return DeviceSituation(s), true
}

// Priority scores a registration by the campaign's priority rules. A circumstance declared twice
// counts once.
func (c *Campaign) Priority(r Registration) Score {
	return c.PriorityRules.Score(r.Circumstances, r.DeviceSituation)
}

// Score scores a set of circumstances and a device situation.
func (p PriorityRules) Score(circumstances []Circumstance, situation DeviceSituation) Score {
	var s Score
	declared := map[Circumstance]bool{}
	for _, k := range circumstances {
		declared[k] = true
	}
	// In an exclusive group, keep only the declared circumstance worth most (on a tie, the
	// first in Circumstances' order, so the key shown does not depend on how it was typed).
	for _, group := range p.Exclusive {
		var best Circumstance
		found := false
		for _, k := range Circumstances {
			if !slices.Contains(group, k) || !declared[k] {
				continue
			}
			if !found || p.Circumstances[k] > p.Circumstances[best] {
				best, found = k, true
			}
		}
		for _, k := range group {
			if k != best {
				delete(declared, k)
			}
		}
	}
	for _, k := range Circumstances {
		if declared[k] && p.Circumstances[k] > 0 {
			s.Reasons = append(s.Reasons, Reason{Key: string(k), Points: p.Circumstances[k]})
		}
	}
	if pts := p.DeviceSituations[situation]; pts > 0 {
		s.Reasons = append(s.Reasons, Reason{Key: situationReasonPrefix + string(situation), Points: pts})
	}
	slices.SortStableFunc(s.Reasons, func(a, b Reason) int { return cmp.Compare(b.Points, a.Points) })
	for _, r := range s.Reasons {
		s.Points += r.Points
	}
	return s
}

// Explain writes the score for a person, e.g. "mồ côi do Covid-19 +50; hộ nghèo +30". The
// labels come from the caller, who holds the localised texts (flows), so that campaign holds
// none: label gets a Reason's Key and returns its label in the reader's language; a nil label,
// or one that returns "", shows the key itself. lang is the reader's language ("vi", "en"):
// both write the list as "label +points; label +points", so it changes nothing today; it is
// there so a language written otherwise changes this function, not its callers. A score with no
// reasons explains as "".
func (s Score) Explain(lang string, label func(key string) string) string {
	parts := make([]string, 0, len(s.Reasons))
	for _, r := range s.Reasons {
		name := ""
		if label != nil {
			name = label(r.Key)
		}
		if name == "" {
			name = r.Key
		}
		parts = append(parts, name+" +"+strconv.Itoa(r.Points))
	}
	return strings.Join(parts, "; ")
}
