package export

import (
	"fmt"

	"github.com/thuduc/maytinhchoem/campaign"
)

// kind says what Go value a column's field holds and how it becomes a cell.
type kind uint8

// Column kinds. The Go types are the contract with the Source; a field of another type fails the
// export, so a source that drifts from the columns is caught by the first test that runs it.
const (
	kindText   kind = iota // string, or []string joined with ", "
	kindInt                // int, int32 or int64
	kindMoney              // int64 VND; 0 is left empty
	kindDate               // time.Time, a calendar date (its own year, month and day); zero is empty
	kindTime               // time.Time, an instant shown in the campaign's zone; zero is empty
	kindPhone              // string E.164, masked unless the filter shows phones
	kindBool               // bool, written with the column's yes and no words
	kindEnum               // a code (any string type) or a list of codes, written with the column's labels; with: a note
	kindItems              // []campaign.PledgeItem, written as a summary
	kindOrigin             // a pledge code; with: the device's origin (OriginPledge, ...)
	kindDonor              // the donor's name, written "Ẩn danh" when the row's donor asked to stay anonymous
	kindStaff              // string, a staff member's name (or, unknown, their chat id); with: their role
)

// column is one column of a sheet: the field it is made from, its header and width. Its words
// (header, labels, empty, yes, no) are message ids in the sheets below, and the words themselves
// in the sheets of an export's words (see words.go).
type column struct {
	key    string  // the field, as the Source is asked for it
	header string  // as officials read it
	width  float64 // in characters, wide enough for typical values without wrapping
	kind   kind
	labels map[string]string // kindEnum, kindOrigin: the words for the codes
	empty  string            // kindEnum, kindText: what an empty value means ("" writes nothing)
	blank0 bool              // kindInt: 0 is no value, written as an empty cell
	yes    string            // kindBool: the word for true; "có" (yes) when none is given
	no     string            // kindBool: the word for false; "không" (no) when none is given
	with   string            // the field of a second value the cell is made from, "" for none
	// anon is the bool field that says the row's donor asked to stay anonymous, "" for none: the
	// cell then shows nothing of its value (a kindDonor cell shows "Ẩn danh").
	anon string

	// Positions of key, with and anon in the sheet's fields; -1 for none.
	index, withIndex, anonIndex int
}

// sheetSpec is a sheet of the workbook and its CSV file in the ZIP.
type sheetSpec struct {
	sheet   campaign.ExportSheet
	title   string // the worksheet's name (at most 31 characters)
	file    string // the CSV file's name in the ZIP, in ASCII so every unzip tool shows it right
	columns []column
	// fields are the keys the Source is asked for: every column's key, then the second fields
	// (with, anon) that are not columns of their own.
	fields []string
}

// newSheet returns a sheet with its fields and the columns' positions in them.
func newSheet(sheet campaign.ExportSheet, title, file string, columns ...column) *sheetSpec {
	s := &sheetSpec{sheet: sheet, title: title, file: file, columns: columns}
	pos := map[string]int{}
	for i := range s.columns {
		c := &s.columns[i]
		if _, dup := pos[c.key]; dup {
			panic(fmt.Sprintf("export: sheet %s: column %s twice", sheet, c.key))
		}
		pos[c.key] = len(s.fields)
		s.fields = append(s.fields, c.key)
	}
	extra := func(key string) int {
		if key == "" {
			return -1
		}
		if _, ok := pos[key]; !ok {
			pos[key] = len(s.fields)
			s.fields = append(s.fields, key)
		}
		return pos[key]
	}
	for i := range s.columns {
		c := &s.columns[i]
		c.index = pos[c.key]
		c.withIndex = extra(c.with)
		c.anonIndex = extra(c.anon)
	}
	return s
}

// Column constructors, so the sheet tables below read as a list of headers.

func text(key, header string, width float64) column {
	return column{key: key, header: header, width: width, kind: kindText}
}

func number(key, header string, width float64) column {
	return column{key: key, header: header, width: width, kind: kindInt}
}

// optionalNumber is a number whose 0 means none, left empty: a list's row for a registration
// that came from no list.
func optionalNumber(key, header string, width float64) column {
	return column{key: key, header: header, width: width, kind: kindInt, blank0: true}
}

func money(key, header string) column {
	return column{key: key, header: header, width: 16, kind: kindMoney}
}

func date(key, header string) column {
	return column{key: key, header: header, width: 12, kind: kindDate}
}

func instant(key, header string) column {
	return column{key: key, header: header, width: 17, kind: kindTime}
}

func phone(key, header string) column {
	return column{key: key, header: header, width: 15, kind: kindPhone}
}

func flag(key, header string, width float64, yes, no string) column {
	return column{key: key, header: header, width: width, kind: kindBool, yes: yes, no: no}
}

func enum(key, header string, width float64, labels map[string]string) column {
	return column{key: key, header: header, width: width, kind: kindEnum, labels: labels}
}

// enumNote is an enum column whose code comes with a note: "Lý do khác: gia đình đã chuyển đi".
func enumNote(key, note, header string, width float64, labels map[string]string) column {
	return column{key: key, header: header, width: width, kind: kindEnum, labels: labels, with: note}
}

// donor is the donor's name, "Ẩn danh" when the bool field anon says they asked not to be named.
func donor(key, anon, header string, width float64) column {
	return column{key: key, header: header, width: width, kind: kindDonor, anon: anon}
}

// private is c left empty when the bool field anon says the donor asked not to be named: their
// contact, phone and address are kept from every sheet as their name is.
func private(c column, anon string) column {
	c.anon = anon
	return c
}

// staff names the staff member whose chat the field holds, with their role from the field
// key+"_role": "Hồ Thị Em (Tình nguyện viên Đoàn)". One who is no staff stays as the source gives.
func staff(key, header string) column {
	return column{key: key, header: header, width: 30, kind: kindStaff, with: key + "_role"}
}

// Fields every sheet with a ward has: the code, and the name the campaign gives it.
func wardCode() column { return text("ward_code", "sheet.col.ward_code", 10) }
func wardName() column { return text("ward_name", "sheet.col.ward_name", 20) }

// sheets are the workbook's sheets in campaign.ExportSheets order, their words as message ids.
// The Source's fields are their keys; the Go type each must have is the column's kind (see the
// kind constants). The CSV files' names stay here: they are ASCII names for unzip tools.
var sheets = []*sheetSpec{
	newSheet(campaign.SheetRegistrations, "sheet.title.registrations", "dang-ky.csv",
		text("code", "sheet.col.registration_code", 12),
		enum("status", "sheet.col.status", 20, registrationStatusLabels),
		enumNote("reject_code", "reject_text", "sheet.col.reject_reason", 30, rejectReasonLabels),
		wardCode(),
		wardName(),
		text("student_name", "sheet.col.student_name", 24),
		date("birth_date", "sheet.col.birth_date"),
		enum("level", "sheet.col.level", 10, levelLabels),
		number("grade", "sheet.col.grade", 6),
		text("school", "sheet.col.school", 28),
		text("address", "sheet.col.address", 36),
		text("parent_name", "sheet.col.parent_name", 24),
		phone("parent_phone", "sheet.col.parent_phone"),
		enumNote("circumstances", "circumstance_other", "sheet.col.circumstances", 36, circumstanceLabels),
		enum("device_situation", "sheet.col.device_situation", 30, situationLabels),
		enum("needs", "sheet.col.needs", 28, needLabels),
		text("possible_duplicates", "sheet.col.possible_duplicates", 18),
		instant("created_at", "sheet.col.registered_at"),
		enum("source", "sheet.col.source", 22, sourceLabels),
		text("list_code", "sheet.col.list_code", 12),
		optionalNumber("list_row", "sheet.col.list_row", 10),
		staff("registered_by", "sheet.col.registered_by"),
		enum("consent", "sheet.col.consent", 28, consentLabels),
		staff("decided_by", "sheet.col.decided_by"),
		instant("decided_at", "sheet.col.decided_at"),
	),
	newSheet(campaign.SheetPledges, "sheet.title.pledges", "ung-ho.csv",
		text("code", "sheet.col.pledge_code", 12),
		enum("status", "sheet.col.status", 16, pledgeStatusLabels),
		enum("donor_kind", "sheet.col.donor_kind", 20, donorKindLabels),
		donor("donor_name", "anonymous", "sheet.col.donor", 28),
		private(text("contact_person", "sheet.col.contact_person", 22), "anonymous"),
		private(phone("phone", "sheet.col.phone"), "anonymous"),
		column{key: "items", header: "sheet.col.items", width: 44, kind: kindItems},
		money("money_pledged", "sheet.col.money_pledged"),
		money("money_received", "sheet.col.money_received"),
		enum("delivery", "sheet.col.delivery_method", 24, deliveryMethodLabels),
		wardCode(),
		wardName(),
		private(text("pickup_address", "sheet.col.pickup_address", 30), "anonymous"),
		date("pickup_date", "sheet.col.pickup_date"),
		flag("anonymous", "sheet.col.anonymous", 8, yes, no),
		instant("created_at", "sheet.col.pledged_at"),
	),
	newSheet(campaign.SheetDevices, "sheet.title.devices", "thiet-bi.csv",
		text("label", "sheet.col.device_label", 12),
		enum("type", "sheet.col.device_type", 20, deviceTypeLabels),
		enum("state", "sheet.col.device_state", 16, deviceStateLabels),
		text("brand", "sheet.col.brand", 12),
		text("model", "sheet.col.model", 18),
		text("serial", "sheet.col.serial", 18),
		flag("used", "sheet.col.used", 14, used, "sheet.new"),
		column{key: "pledge_code", with: "origin", header: "sheet.col.origin", width: 20, kind: kindOrigin, labels: originLabels},
		column{key: "software_level", header: "sheet.col.software_level", width: 16, kind: kindEnum, labels: levelLabels, empty: "sheet.software_none"},
		staff("checked_by", "sheet.col.checked_by"),
		text("registration_code", "sheet.col.allocated_to", 14),
		wardCode(),
		wardName(),
		instant("created_at", "sheet.col.received_at"),
		instant("updated_at", "sheet.col.updated_at"),
	),
	newSheet(campaign.SheetDeliveries, "sheet.title.deliveries", "ban-giao.csv",
		text("code", "sheet.col.delivery_code", 12),
		enum("status", "sheet.col.status", 20, deliveryStatusLabels),
		text("registration_code", "sheet.col.registration_code", 12),
		text("student_name", "sheet.col.student_name", 24),
		enum("level", "sheet.col.level", 10, levelLabels),
		number("grade", "sheet.col.grade", 6),
		wardCode(),
		wardName(),
		enum("handover", "sheet.col.handover", 12, handoverLabels),
		text("device_label", "sheet.col.device_label", 12),
		enum("device_type", "sheet.col.device_type", 20, deviceTypeLabels),
		enum("stock", "sheet.col.stock", 22, stockLabels),
		column{key: "pledge_code", with: "origin", header: "sheet.col.device_origin", width: 20, kind: kindOrigin, labels: originLabels},
		donor("donor_name", "donor_anonymous", "sheet.col.donor", 26),
		staff("allocated_by", "sheet.col.allocated_by"),
		instant("allocated_at", "sheet.col.allocated_at"),
		number("attempts", "sheet.col.attempts", 10),
		enumNote("last_failure", "last_failure_note", "sheet.col.last_failure", 28, failReasonLabels),
		staff("volunteer", "sheet.col.volunteer"),
		text("recipient_name", "sheet.col.recipient", 22),
		flag("has_photo", "sheet.col.has_photo", 10, yes, no),
		instant("delivered_at", "sheet.col.delivered_at"),
		instant("confirmed_at", "sheet.col.confirmed_at"),
		flag("auto_confirmed", "sheet.col.auto_confirmed", 12, yes, no),
	),
	// One row per school (names folded by campaign.SchoolKey, written as most registrations write
	// them), most registrations first; the registrations with no school last. The figures add up
	// like the summary's: total = by source = pending + verified + rejected + withdrawn.
	newSheet(campaign.SheetSchools, "sheet.title.schools", "theo-truong.csv",
		column{key: "school", header: "sheet.col.school", width: 36, kind: kindText, empty: noSchool},
		number("total", "sheet.col.total", 10),
		number("chat", "sheet.col.by_family", 12),
		number("list", "sheet.col.by_list", 14),
		number("assisted", "sheet.col.by_staff", 12),
		number("pending", "sheet.col.pending", 10),
		number("verified", "sheet.col.verified", 10),
		number("delivered", "sheet.col.delivered", 12),
		number("rejected", "sheet.col.rejected", 10),
		number("withdrawn", "sheet.col.withdrawn", 12),
	),
}

// Fields returns the keys a Source is asked for on sheet, in the order of the values it gives,
// or nil for an unknown sheet. A Source may use it to check that it knows every one.
func Fields(sheet campaign.ExportSheet) []string {
	for _, s := range sheets {
		if s.sheet == sheet {
			return append([]string(nil), s.fields...)
		}
	}
	return nil
}
