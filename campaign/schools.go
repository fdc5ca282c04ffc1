package campaign

import (
	"cmp"
	"slices"
	"strings"
)

// SourceCounts counts registrations by how they came (Source).
type SourceCounts struct {
	Chat     int // a family in a chat with the bot
	List     int // rows of schools' and wards' lists
	Assisted int // staff on a family's behalf
}

// Add counts n registrations of source s; "" (a registration from before sources) is a chat's.
func (c *SourceCounts) Add(s Source, n int) {
	switch s {
	case SourceList:
		c.List += n
	case SourceAssisted:
		c.Assisted += n
	default:
		c.Chat += n
	}
}

// Of returns the count of source s.
func (c SourceCounts) Of(s Source) int {
	switch s {
	case SourceList:
		return c.List
	case SourceAssisted:
		return c.Assisted
	case SourceChat, "":
		return c.Chat
	}
	return 0
}

// Sum returns the registrations of every source.
func (c SourceCounts) Sum() int { return c.Chat + c.List + c.Assisted }

// Count adds n registrations of status and source to the counts: to Total, to the status's
// figure (Verified for verified, allocated and delivered; Pending for submitted and needs_info;
// Rejected; Withdrawn) and to BySource. NewToday is not touched.
func (r *RegistrationCounts) Count(status RegistrationStatus, source Source, n int) {
	r.Total += n
	r.BySource.Add(source, n)
	switch status {
	case StatusVerified, StatusAllocated, StatusDelivered:
		r.Verified += n
	case StatusRejected:
		r.Rejected += n
	case StatusWithdrawn:
		r.Withdrawn += n
	default: // submitted, needs_info, and a status of a later version: still waiting
		r.Pending += n
	}
}

// SchoolCount is one school's registrations: its name as the registrations write it, and the
// counts by status and by source (NewToday is not counted by school). Delivered counts those
// whose child got the device; they are among Verified.
type SchoolCount struct {
	// Key is the name's SchoolKey: "THCS Linh Trung" and "Trường THCS Linh Trung" are one
	// school, as a school member's scope compares them. "" gathers the registrations without a
	// school (erased ones).
	Key string
	// Name is the school's name as most of its registrations write it.
	Name string
	RegistrationCounts
	Delivered int
}

// SchoolTally adds registrations up by school. Its zero value is ready to use.
type SchoolTally struct {
	schools map[string]*schoolTallied
}

type schoolTallied struct {
	count SchoolCount
	names map[string]int // the names written, with how many registrations write each
}

// Add counts n registrations of the school named school (as written), of status and source.
func (t *SchoolTally) Add(school string, source Source, status RegistrationStatus, n int) {
	if n == 0 {
		return
	}
	if t.schools == nil {
		t.schools = map[string]*schoolTallied{}
	}
	school = NormalizeText(school)
	key := SchoolKey(school)
	s := t.schools[key]
	if s == nil {
		s = &schoolTallied{count: SchoolCount{Key: key}, names: map[string]int{}}
		t.schools[key] = s
	}
	s.count.Count(status, source, n)
	if status == StatusDelivered {
		s.count.Delivered += n
	}
	s.names[school] += n
}

// Schools returns the schools counted, most registrations first, then by name (accents
// ignored); the registrations without a school come last, whatever their number. It is nil when
// nothing was counted.
func (t *SchoolTally) Schools() []SchoolCount {
	if len(t.schools) == 0 {
		return nil
	}
	out := make([]SchoolCount, 0, len(t.schools))
	for _, s := range t.schools {
		c := s.count
		c.Name = commonestName(s.names)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b SchoolCount) int {
		if (a.Key == "") != (b.Key == "") {
			if a.Key == "" {
				return 1
			}
			return -1
		}
		if a.Total != b.Total {
			return cmp.Compare(b.Total, a.Total)
		}
		return cmp.Or(strings.Compare(a.Key, b.Key), strings.Compare(a.Name, b.Name))
	})
	return out
}

// commonestName is the name most registrations write; between names written as often, the
// longest (the fullest, "Trường THCS Linh Trung" before "THCS Linh Trung"), then the first in
// byte order, so the choice does not depend on the order rows came in.
func commonestName(names map[string]int) string {
	best, bestN := "", -1
	for name, n := range names {
		switch {
		case n > bestN,
			n == bestN && len(name) > len(best),
			n == bestN && len(name) == len(best) && name < best:
			best, bestN = name, n
		}
	}
	return best
}
