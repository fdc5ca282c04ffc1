package campaign

import (
	"slices"
	"testing"
)

func TestSchoolKey(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Trường THCS Linh Trung", "thcs linh trung"},
		{"THCS Linh Trung", "thcs linh trung"},
		{"trường trung học cơ sở linh trung", "thcs linh trung"},
		{"TRƯỜNG THCS LINH TRUNG.", "thcs linh trung"},
		{"  Truong   THCS  Linh Trung ", "thcs linh trung"},
		{"Tr. THCS Linh Trung", "thcs linh trung"},
		{"Trường Tiểu học Bình Thọ", "th binh tho"},
		{"TH Bình Thọ", "th binh tho"},
		{"Trường Trung học phổ thông Thủ Đức", "thpt thu duc"},
		{"Phổ thông trung học Thủ Đức", "thpt thu duc"},
		{"Trường Phổ thông cơ sở Linh Xuân", "ptcs linh xuan"},
		{"Trường TH&THCS Việt Úc", "th thcs viet uc"},
		{"THCS Nguyễn Văn Bá – Linh Chiểu", "thcs nguyen van ba linh chieu"},
		{"Tie\u0302\u0301u ho\u0323c Linh Trung", "th linh trung"}, // decomposed (NFD) as some keyboards type
		{"Trường Chinh", "chinh"},                                  // the leading word is dropped once
		{"THCS Trường Chinh", "thcs truong chinh"},                 // not inside the name
		{"Trường", "truong"},
		{"", ""},
		{"!!! ...", ""},
		{"日本語", ""},
	} {
		if got := SchoolKey(tt.in); got != tt.want {
			t.Errorf("SchoolKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// The level is part of the school: two levels of one name are two schools.
	if SameSchool("THCS Bình Thọ", "Tiểu học Bình Thọ") || SameSchool("", "") || SameSchool("!!!", "???") {
		t.Error("SameSchool matches schools that differ, or names without a key")
	}
	if !SameSchool("Trường THCS Linh Trung", "trung hoc co so Linh Trung") {
		t.Error("SameSchool does not match one school written two ways")
	}
}

func TestSchoolKeyLevelOnly(t *testing.T) {
	for in, want := range map[string]bool{
		"THCS": true, "Trường THCS": true, "Trường Tiểu học": true, "trường": true, "": true, "!!!": true,
		"THCS Linh Trung": false, "Trường Marie Curie": false, "Trường số 1": false,
	} {
		if got := SchoolKeyLevelOnly(in); got != want {
			t.Errorf("SchoolKeyLevelOnly(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestAuthorizeRecord_School(t *testing.T) {
	school := Staff{Role: RoleSchool, WardCode: "26800", School: "Trường THCS Linh Trung"}
	unnamed := Staff{Role: RoleSchool, WardCode: "26800"}
	ward := Staff{Role: RoleWardOfficial, WardCode: "26800"}
	edu := Staff{Role: RoleEducationOffice}
	for _, tt := range []struct {
		name         string
		who          Staff
		action       Action
		ward, school string
		ok           bool
	}{
		{"a school sees its own student", school, ActionViewChildData, "26794", "THCS Linh Trung", true},
		{"written another way", school, ActionViewChildData, "26800", "trung học cơ sở linh trung", true},
		{"not another school's", school, ActionViewChildData, "26800", "THCS Bình Thọ", false},
		{"not another level of its name", school, ActionViewChildData, "26800", "Tiểu học Linh Trung", false},
		{"not a record without a school (erased)", school, ActionViewChildData, "26800", "", false},
		{"a school without a name sees nothing", unnamed, ActionViewChildData, "26800", "", false},
		{"a school may not verify", school, ActionVerify, "26800", "THCS Linh Trung", false},
		{"nor allocate", school, ActionAllocate, "", "THCS Linh Trung", false},
		{"nor see pledges", school, ActionViewPledges, "", "", false},
		{"nor the progress", school, ActionViewProgress, "", "", false},
		{"a ward official: any school of their ward", ward, ActionViewChildData, "26800", "THCS Bình Thọ", true},
		{"a ward official: not another ward", ward, ActionViewChildData, "26794", "THCS Linh Trung", false},
		{"the education office: every school", edu, ActionViewChildData, "26794", "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := AuthorizeRecord(tt.who, tt.action, tt.ward, tt.school)
			if (err == nil) != tt.ok {
				t.Fatalf("AuthorizeRecord = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && ErrorCode(err) != EUNAUTHORIZED {
				t.Errorf("code = %s", ErrorCode(err))
			}
		})
	}
	// Authorize knows no record's school: it refuses a school a child's record, and lets it
	// through the gates whose scope the query keeps.
	if Authorize(school, ActionViewChildData, "26800") == nil {
		t.Error("Authorize lets a school see a record whose school it does not know")
	}
	for _, a := range []Action{ActionFind, ActionExport, ActionImportList, ActionAssist} {
		if err := Authorize(school, a, ""); err != nil {
			t.Errorf("Authorize(school, %s) = %v", a, err)
		}
	}
	if !RoleSchool.May(ActionViewChildData) || RoleSchool.May(ActionVerify) || !RoleAdmin.May(ActionErase) || RoleVolunteer.May(ActionViewChildData) {
		t.Error("May is wrong")
	}
}

func TestRole_School(t *testing.T) {
	if !RoleSchool.Valid() || StaffRoles[len(StaffRoles)-1] != RoleSchool {
		t.Error("the school role is not offered last")
	}
	if RoleSchool.NeedsWard() || !RoleSchool.HasWard() || !RoleSchool.NeedsSchool() || RoleWardOfficial.NeedsSchool() || !RoleWardOfficial.HasWard() || RoleCityOfficial.HasWard() {
		t.Error("NeedsWard, HasWard or NeedsSchool wrong")
	}
	if !SeesPhones(RoleSchool) {
		t.Error("a school calls its students' families")
	}
}

func TestScope_School(t *testing.T) {
	school := Staff{Role: RoleSchool, WardCode: "26800", School: "Trường THCS Linh Trung"}
	if got := FindScopeOf(school); got != (FindScope{School: school.School, Registrations: true}) {
		t.Errorf("FindScopeOf(school) = %+v", got)
	}
	for _, name := range []string{"", "THCS"} {
		if got := FindScopeOf(Staff{Role: RoleSchool, School: name}); !got.Empty() {
			t.Errorf("FindScopeOf(school %q) = %+v, want nothing", name, got)
		}
	}
	set, err := ExportScope(school, "")
	if err != nil || !slices.Equal(set.List(), []ExportSheet{SheetRegistrations, SheetDeliveries}) {
		t.Errorf("ExportScope(school) = %v, %v; want registrations and deliveries", set.List(), err)
	}
	f, err := ScopeExport(school, ExportFilter{WardCode: "26794", School: "THCS Bình Thọ", Status: StatusVerified})
	want := ExportFilter{WardCode: "26794", School: school.School, Status: StatusVerified, ShowPhones: true,
		Sheets: ExportSheetsOf(SheetRegistrations, SheetDeliveries)}
	if err != nil || f != want {
		t.Errorf("ScopeExport(school) = %+v, %v; want %+v", f, err, want)
	}
	if _, err := ScopeExport(Staff{Role: RoleSchool, School: "Trường THCS"}, ExportFilter{}); ErrorCode(err) != EUNAUTHORIZED {
		t.Errorf("ScopeExport(a school named by its level) = %v, want EUNAUTHORIZED", err)
	}
	// Another role's filter keeps no school, whatever it asked.
	f, err = ScopeExport(Staff{Role: RoleEducationOffice}, ExportFilter{School: "THCS Bình Thọ"})
	if err != nil || f.School != "" {
		t.Errorf("ScopeExport(education office) = %+v, %v; want no school", f, err)
	}
}
