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

// column is one column of a sheet: the field it is made from, its Vietnamese header and width.
type column struct {
	key    string  // the field, as the Source is asked for it
	header string  // in Vietnamese, as officials read it
	width  float64 // in characters, wide enough for typical values without wrapping
	kind   kind
	labels map[string]string // kindEnum, kindOrigin: the words for the codes
	empty  string            // kindEnum, kindText: what an empty value means ("" writes nothing)
	blank0 bool              // kindInt: 0 is no value, written as an empty cell
	yes    string            // kindBool: the word for true; "có" by default
	no     string            // kindBool: the word for false; "không" by default
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
	title   string // the worksheet's name, in Vietnamese (at most 31 characters)
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
func wardCode() column { return text("ward_code", "Mã phường", 10) }
func wardName() column { return text("ward_name", "Phường", 20) }

// sheets are the workbook's sheets in campaign.ExportSheets order. The Source's fields are their
// keys; the Go type each must have is the column's kind (see the kind constants).
var sheets = []*sheetSpec{
	newSheet(campaign.SheetRegistrations, "Đăng ký", "dang-ky.csv",
		text("code", "Mã hồ sơ", 12),
		enum("status", "Trạng thái", 20, registrationStatusLabels),
		enumNote("reject_code", "reject_text", "Lý do không duyệt", 30, rejectReasonLabels),
		wardCode(),
		wardName(),
		text("student_name", "Họ tên học sinh", 24),
		date("birth_date", "Ngày sinh"),
		enum("level", "Cấp học", 10, levelLabels),
		number("grade", "Lớp", 6),
		text("school", "Trường", 28),
		text("address", "Địa chỉ", 36),
		text("parent_name", "Họ tên phụ huynh", 24),
		phone("parent_phone", "Điện thoại phụ huynh"),
		enumNote("circumstances", "circumstance_other", "Hoàn cảnh", 36, circumstanceLabels),
		enum("device_situation", "Thiết bị hiện có", 30, situationLabels),
		enum("needs", "Cần hỗ trợ", 28, needLabels),
		text("possible_duplicates", "Có thể trùng với hồ sơ", 18),
		instant("created_at", "Thời điểm đăng ký"),
		enum("source", "Nguồn đăng ký", 22, sourceLabels),
		text("list_code", "Mã danh sách", 12),
		optionalNumber("list_row", "Dòng trong danh sách", 10),
		staff("registered_by", "Cán bộ đăng ký giúp / gửi danh sách"),
		enum("consent", "Hình thức đồng ý", 28, consentLabels),
		staff("decided_by", "Người xác minh"),
		instant("decided_at", "Thời điểm xác minh"),
	),
	newSheet(campaign.SheetPledges, "Ủng hộ", "ung-ho.csv",
		text("code", "Mã phiếu", 12),
		enum("status", "Trạng thái", 16, pledgeStatusLabels),
		enum("donor_kind", "Loại nhà hảo tâm", 20, donorKindLabels),
		donor("donor_name", "anonymous", "Nhà hảo tâm", 28),
		private(text("contact_person", "Người liên hệ", 22), "anonymous"),
		private(phone("phone", "Điện thoại"), "anonymous"),
		column{key: "items", header: "Nội dung ủng hộ", width: 44, kind: kindItems},
		money("money_pledged", "Tiền hứa ủng hộ (đ)"),
		money("money_received", "Tiền đã nhận (đ)"),
		enum("delivery", "Cách gửi", 24, deliveryMethodLabels),
		wardCode(),
		wardName(),
		private(text("pickup_address", "Địa chỉ đến nhận", 30), "anonymous"),
		date("pickup_date", "Ngày đến nhận"),
		flag("anonymous", "Ẩn danh", 8, yes, no),
		instant("created_at", "Thời điểm ghi nhận"),
	),
	newSheet(campaign.SheetDevices, "Thiết bị", "thiet-bi.csv",
		text("label", "Mã thiết bị", 12),
		enum("type", "Loại thiết bị", 20, deviceTypeLabels),
		enum("state", "Tình trạng", 16, deviceStateLabels),
		text("brand", "Hãng", 12),
		text("model", "Mẫu máy", 18),
		text("serial", "Số serial/IMEI", 18),
		flag("used", "Mới/cũ", 14, "đã qua sử dụng", "mới"),
		column{key: "pledge_code", with: "origin", header: "Nguồn", width: 20, kind: kindOrigin, labels: originLabels},
		column{key: "software_level", header: "Phần mềm học tập", width: 16, kind: kindEnum, labels: levelLabels, empty: "chưa cài"},
		staff("checked_by", "Người kiểm tra"),
		text("registration_code", "Phân bổ cho hồ sơ", 14),
		wardCode(),
		wardName(),
		instant("created_at", "Thời điểm nhập"),
		instant("updated_at", "Cập nhật lần cuối"),
	),
	newSheet(campaign.SheetDeliveries, "Bàn giao", "ban-giao.csv",
		text("code", "Mã bàn giao", 12),
		enum("status", "Trạng thái", 20, deliveryStatusLabels),
		text("registration_code", "Mã hồ sơ", 12),
		text("student_name", "Họ tên học sinh", 24),
		enum("level", "Cấp học", 10, levelLabels),
		number("grade", "Lớp", 6),
		wardCode(),
		wardName(),
		enum("handover", "Nơi bàn giao", 12, handoverLabels),
		text("device_label", "Mã thiết bị", 12),
		enum("device_type", "Loại thiết bị", 20, deviceTypeLabels),
		enum("stock", "Kết nối kèm theo", 22, stockLabels),
		column{key: "pledge_code", with: "origin", header: "Nguồn thiết bị", width: 20, kind: kindOrigin, labels: originLabels},
		donor("donor_name", "donor_anonymous", "Nhà hảo tâm", 26),
		staff("allocated_by", "Người phân bổ"),
		instant("allocated_at", "Thời điểm phân bổ"),
		number("attempts", "Số lần giao không thành", 10),
		enumNote("last_failure", "last_failure_note", "Lần giao không thành gần nhất", 28, failReasonLabels),
		staff("volunteer", "Tình nguyện viên"),
		text("recipient_name", "Người nhận", 22),
		flag("has_photo", "Ảnh bàn giao", 10, yes, no),
		instant("delivered_at", "Thời điểm trao"),
		instant("confirmed_at", "Thời điểm xác nhận"),
		flag("auto_confirmed", "Tự động xác nhận", 12, yes, no),
	),
	// One row per school (names folded by campaign.SchoolKey, written as most registrations write
	// them), most registrations first; the registrations with no school last. The figures add up
	// like the summary's: total = by source = pending + verified + rejected + withdrawn.
	newSheet(campaign.SheetSchools, "Theo trường", "theo-truong.csv",
		column{key: "school", header: "Trường", width: 36, kind: kindText, empty: noSchool},
		number("total", "Tổng số hồ sơ", 10),
		number("chat", "Gia đình tự đăng ký", 12),
		number("list", "Từ danh sách trường/phường", 14),
		number("assisted", "Cán bộ đăng ký giúp", 12),
		number("pending", "Chờ xác minh", 10),
		number("verified", "Đã duyệt", 10),
		number("delivered", "Trong đó đã trao thiết bị", 12),
		number("rejected", "Không được duyệt", 10),
		number("withdrawn", "Gia đình đã rút hồ sơ", 12),
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
