package campaign

import (
	"slices"
	"testing"
)

func TestExportScope(t *testing.T) {
	const lt = "26800"
	for _, tt := range []struct {
		name   string
		who    Staff
		ward   string
		sheets []ExportSheet // nil: refused
	}{
		{"admin sees every sheet", Staff{Role: RoleAdmin}, "", ExportSheets},
		{"city official sees every sheet", Staff{Role: RoleCityOfficial}, "", ExportSheets},
		{"city official of one ward sees every sheet", Staff{Role: RoleCityOfficial}, lt, ExportSheets},
		{"education office sees no pledges", Staff{Role: RoleEducationOffice}, "",
			[]ExportSheet{SheetRegistrations, SheetDevices, SheetDeliveries, SheetSchools}},
		{"ward official sees the children of their ward", Staff{Role: RoleWardOfficial, WardCode: lt}, lt,
			[]ExportSheet{SheetRegistrations, SheetDeliveries, SheetSchools}},
		{"ward official may not export another ward", Staff{Role: RoleWardOfficial, WardCode: lt}, "26794", nil},
		{"ward official may not export the city", Staff{Role: RoleWardOfficial, WardCode: lt}, "", nil},
		{"volunteer may not export", Staff{Role: RoleVolunteer}, "", nil},
		{"women's union may not export", Staff{Role: RoleWomensUnion, WardCode: lt}, lt, nil},
		{"culture office may not export", Staff{Role: RoleCultureInfo}, "", nil},
		{"a parent may not export", Staff{}, "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			set, err := ExportScope(tt.who, tt.ward)
			if tt.sheets == nil {
				if ErrorCode(err) != EUNAUTHORIZED || set != 0 {
					t.Fatalf("ExportScope = %v, %v; want EUNAUTHORIZED", set, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := set.List(); !slices.Equal(got, tt.sheets) {
				t.Errorf("sheets = %v, want %v", got, tt.sheets)
			}
		})
	}
}

func TestExportSheetSet(t *testing.T) {
	var all ExportSheetSet
	if !slices.Equal(all.List(), ExportSheets) || all.String() != "registrations,pledges,devices,deliveries,schools" {
		t.Errorf("the zero set = %v (%s), want every sheet", all.List(), all)
	}
	set := ExportSheetsOf(SheetDeliveries, SheetRegistrations)
	if !set.Has(SheetRegistrations) || set.Has(SheetPledges) || set.Has(SheetDevices) || !set.Has(SheetDeliveries) {
		t.Errorf("set = %s, want registrations and deliveries", set)
	}
	if set.String() != "registrations,deliveries" {
		t.Errorf("String = %q, in the workbook's order", set.String())
	}
	if set.Has("stock") || all.Has("stock") || ExportSheetsOf("stock") != 0 {
		t.Error("a sheet that is none is in a set")
	}
}

func TestScopeExport(t *testing.T) {
	asked := ExportFilter{WardCode: "26794", Status: StatusVerified, ShowPhones: true, Sheets: ExportSheetsOf(SheetPledges)}
	ward, err := ScopeExport(Staff{Role: RoleWardOfficial, WardCode: "26800"}, asked)
	if err != nil {
		t.Fatal(err)
	}
	want := ExportFilter{WardCode: "26800", Status: StatusVerified, ShowPhones: true, Sheets: ExportSheetsOf(SheetRegistrations, SheetDeliveries, SheetSchools)}
	if ward != want {
		t.Errorf("ward official's filter = %+v, want %+v", ward, want)
	}
	edu, err := ScopeExport(Staff{Role: RoleEducationOffice}, asked)
	if err != nil {
		t.Fatal(err)
	}
	want = ExportFilter{WardCode: "26794", Status: StatusVerified, Sheets: ExportSheetsOf(SheetRegistrations, SheetDevices, SheetDeliveries, SheetSchools)}
	if edu != want {
		t.Errorf("education office's filter = %+v, want %+v (phones masked, no pledges)", edu, want)
	}
	if _, err := ScopeExport(Staff{Role: RoleVolunteer}, asked); ErrorCode(err) != EUNAUTHORIZED {
		t.Errorf("volunteer: err = %v, want EUNAUTHORIZED", err)
	}
}
