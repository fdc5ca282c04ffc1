package campaign

import (
	"reflect"
	"testing"
)

func TestRegistrationCounts_Count(t *testing.T) {
	var r RegistrationCounts
	for _, c := range []struct {
		status RegistrationStatus
		source Source
		n      int
	}{
		{StatusSubmitted, SourceChat, 3}, {StatusNeedsInfo, SourceList, 2}, {StatusVerified, SourceAssisted, 1},
		{StatusAllocated, SourceList, 4}, {StatusDelivered, "", 5}, {StatusRejected, SourceChat, 6},
		{StatusWithdrawn, SourceAssisted, 7},
	} {
		r.Count(c.status, c.source, c.n)
	}
	want := RegistrationCounts{Total: 28, Verified: 10, Rejected: 6, Pending: 5, Withdrawn: 7,
		BySource: SourceCounts{Chat: 14, List: 6, Assisted: 8}}
	if r != want {
		t.Errorf("counts %+v, want %+v", r, want)
	}
	if r.BySource.Sum() != r.Total || r.Verified+r.Rejected+r.Pending+r.Withdrawn != r.Total {
		t.Errorf("%+v does not add up", r)
	}
	for _, s := range Sources {
		if r.BySource.Of(s) == 0 {
			t.Errorf("source %s counted nowhere", s)
		}
	}
	if r.BySource.Of("") != r.BySource.Chat || r.BySource.Of("fax") != 0 {
		t.Error("a registration without a source is a chat's; an unknown source has none")
	}
}

func TestSchoolTally(t *testing.T) {
	var tally SchoolTally
	if tally.Schools() != nil {
		t.Error("an empty tally has schools")
	}
	tally.Add("THCS Linh Trung", SourceChat, StatusVerified, 2)
	tally.Add("Trường THCS Linh Trung", SourceList, StatusSubmitted, 1)
	tally.Add("  trường  thcs linh trung ", SourceAssisted, StatusDelivered, 1)
	tally.Add("Trường Trung học cơ sở Linh Trung", SourceList, StatusWithdrawn, 1)
	tally.Add("", SourceChat, StatusRejected, 9) // erased: last whatever its number
	tally.Add("Tiểu học Bình Chiểu", SourceChat, StatusRejected, 3)
	tally.Add("THPT Thủ Đức", SourceChat, StatusSubmitted, 3)
	tally.Add("Trường Nowhere", SourceChat, StatusSubmitted, 0) // nothing counted, no school
	got := tally.Schools()
	want := []SchoolCount{
		{Key: "thcs linh trung", Name: "THCS Linh Trung", Delivered: 1, RegistrationCounts: RegistrationCounts{
			Total: 5, Verified: 3, Pending: 1, Withdrawn: 1, BySource: SourceCounts{Chat: 2, List: 2, Assisted: 1}}},
		{Key: "th binh chieu", Name: "Tiểu học Bình Chiểu", RegistrationCounts: RegistrationCounts{
			Total: 3, Rejected: 3, BySource: SourceCounts{Chat: 3}}},
		{Key: "thpt thu duc", Name: "THPT Thủ Đức", RegistrationCounts: RegistrationCounts{
			Total: 3, Pending: 3, BySource: SourceCounts{Chat: 3}}},
		{Key: "", Name: "", RegistrationCounts: RegistrationCounts{Total: 9, Rejected: 9, BySource: SourceCounts{Chat: 9}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("schools:\n got %+v\nwant %+v", got, want)
	}
	// Names written as often: the fullest wins, whatever order the rows came in.
	for _, order := range [][]string{{"THCS An Phú", "Trường THCS An Phú"}, {"Trường THCS An Phú", "THCS An Phú"}} {
		var t2 SchoolTally
		for _, n := range order {
			t2.Add(n, SourceChat, StatusSubmitted, 1)
		}
		if s := t2.Schools(); len(s) != 1 || s[0].Name != "Trường THCS An Phú" || s[0].Total != 2 {
			t.Errorf("%q: %+v", order, s)
		}
	}
}

// Priority and matching read what the family declared, never how the registration came: a
// list's row and an assisted registration score, rank and allocate as the family's own chat.
func TestSourcesAlikeInPriorityAndMatching(t *testing.T) {
	c := Default()
	chat := Registration{
		Code: "TD-000010", Status: StatusVerified, Channel: "chat", ChatID: "1001", WardCode: "26800",
		Level: LevelLowerSecondary, Grade: 7, Circumstances: []Circumstance{CircumstancePoor, CircumstanceCovidHardship},
		DeviceSituation: SituationNone, Needs: []Need{NeedLaptop, NeedSIM4G}, CreatedAt: matchDay, Source: SourceChat,
	}
	list := chat
	list.Source, list.ListID, list.ListRow, list.RegisteredBy, list.Channel, list.ChatID = SourceList, 4, 17, "staff:1", "", ""
	assisted := chat
	assisted.Source, assisted.RegisteredBy, assisted.ConsentWitness, assisted.Channel, assisted.ChatID = SourceAssisted, "staff:2", "staff:2", "", ""
	want := c.Candidate(chat, false)
	if want.Score.Points == 0 {
		t.Fatal("the chat registration scored nothing: the comparison proves little")
	}
	for _, r := range []Registration{list, assisted} {
		if got := c.Candidate(r, false); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: candidate %+v, want the chat's %+v", r.Source, got, want)
		}
		if got := c.Priority(r); !reflect.DeepEqual(got, c.Priority(chat)) {
			t.Errorf("%s: priority %+v", r.Source, got)
		}
	}

	// Three children alike but for their source and code; two laptops. Whichever source comes
	// first in code order is served first: swapping the sources among the codes moves the
	// devices with the codes, never with the sources.
	supply := Supply{Devices: []ReadyDevice{{Label: "TB-000001", Type: DeviceLaptop}, {Label: "TB-000002", Type: DeviceLaptop}},
		Stock: map[StockKind]int{StockSIM4G: 5}}
	for _, sources := range [][3]Registration{{chat, list, assisted}, {assisted, chat, list}, {list, assisted, chat}} {
		var cands []Candidate
		for i, r := range sources {
			r.Code = []string{"TD-000001", "TD-000002", "TD-000003"}[i]
			cands = append(cands, c.Candidate(r, false))
		}
		allocs, skips := Match(cands, supply, c.MatchRules())
		if len(allocs) != 2 || allocs[0].Code != "TD-000001" || allocs[0].DeviceLabel != "TB-000001" ||
			allocs[1].Code != "TD-000002" || allocs[1].DeviceLabel != "TB-000002" ||
			len(skips) != 1 || skips[0].Code != "TD-000003" || skips[0].Reason != SkipNoFittingDevice {
			t.Errorf("sources %s, %s, %s: allocations %+v, skips %+v", sources[0].Source, sources[1].Source, sources[2].Source, allocs, skips)
		}
	}
}
