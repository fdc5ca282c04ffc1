package campaign

import "strings"

// ExportSheetSet is a set of the sheets of an export. Its zero value holds every sheet: a filter
// that says nothing of sheets does not filter them (reports that have no staff member to scope
// by); a staff member's export takes its sheets from ExportScope.
type ExportSheetSet uint8

// exportSheetBit is the bit of a sheet in an ExportSheetSet, 0 for a sheet that is none.
func exportSheetBit(s ExportSheet) ExportSheetSet {
	for i, x := range ExportSheets {
		if x == s {
			return 1 << i
		}
	}
	return 0
}

// ExportSheetsOf returns the set of the sheets given.
func ExportSheetsOf(sheets ...ExportSheet) ExportSheetSet {
	var set ExportSheetSet
	for _, s := range sheets {
		set |= exportSheetBit(s)
	}
	return set
}

// Has reports whether the set holds sheet; the zero set holds every sheet.
func (set ExportSheetSet) Has(sheet ExportSheet) bool {
	bit := exportSheetBit(sheet)
	return bit != 0 && (set == 0 || set&bit != 0)
}

// List returns the sheets of the set in the workbook's order.
func (set ExportSheetSet) List() []ExportSheet {
	var out []ExportSheet
	for _, s := range ExportSheets {
		if set.Has(s) {
			out = append(out, s)
		}
	}
	return out
}

// String names the sheets, for logs and audit rows: "registrations,deliveries".
func (set ExportSheetSet) String() string {
	names := make([]string, 0, len(ExportSheets))
	for _, s := range set.List() {
		names = append(names, string(s))
	}
	return strings.Join(names, ",")
}

// exportSheetActions says which action lets staff see each sheet of an export: an export shows
// no more than the bot would show the same person. Deliveries name the children who received a
// device, so they go with the children's records.
var exportSheetActions = map[ExportSheet]Action{
	SheetRegistrations: ActionViewChildData,
	SheetPledges:       ActionViewPledges,
	SheetDevices:       ActionViewDevices,
	SheetDeliveries:    ActionViewChildData,
	// Counts by school are the summary's figures, for whoever may see the scope's progress.
	SheetSchools: ActionViewProgress,
}

// ExportScope returns the sheets staff may export of ward (their own for ward roles; "" for the
// whole city), as Authorize decides: ActionExport, then each sheet's view action. A school's
// export holds its own students only (ScopeExport sets the filter's School), so its sheets are
// those it may see of its own school's records (AuthorizeRecord). It returns an EUNAUTHORIZED
// error when s may not export, or may see none of the sheets.
func ExportScope(s Staff, wardCode string) (ExportSheetSet, error) {
	if err := Authorize(s, ActionExport, wardCode); err != nil {
		return 0, err
	}
	school := ""
	if s.Role.NeedsSchool() {
		school = s.School
	}
	var set ExportSheetSet
	for _, sheet := range ExportSheets {
		if AuthorizeRecord(s, exportSheetActions[sheet], wardCode, school) == nil {
			set |= exportSheetBit(sheet)
		}
	}
	if set == 0 {
		return 0, Errorf(EUNAUTHORIZED, "%s may see no sheet of an export", roleOrNone(s.Role))
	}
	return set, nil
}

// ScopeExport returns f as staff s may have it: of their own ward for ward roles, whatever ward f
// names; of their own school's students for a school (in the ward f names, if any), and of no
// school for the others; phones in full only for the roles that call families (SeesPhones); only
// the sheets their role may see (ExportScope). It returns an EUNAUTHORIZED error when s may not
// export at all, or is a school whose name says no more than its level.
func ScopeExport(s Staff, f ExportFilter) (ExportFilter, error) {
	if s.Role.NeedsWard() {
		f.WardCode = s.WardCode
	}
	f.School = ""
	if s.Role.NeedsSchool() {
		if SchoolKeyLevelOnly(s.School) {
			return ExportFilter{}, Errorf(EUNAUTHORIZED, "a school without a name may not export")
		}
		f.School = s.School
	}
	f.ShowPhones = SeesPhones(s.Role)
	sheets, err := ExportScope(s, f.WardCode)
	if err != nil {
		return ExportFilter{}, err
	}
	f.Sheets = sheets
	return f, nil
}
