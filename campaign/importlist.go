package campaign

import (
	"context"
	"io"
)

// Source says how a registration reached the campaign.
type Source string

// Sources of registrations (issue 15). Priority and matching treat them alike; the summary and
// the exports count them apart.
const (
	SourceChat     Source = "chat"     // a family in a chat with the bot
	SourceList     Source = "list"     // a row of a school's or a ward's list (ImportList)
	SourceAssisted Source = "assisted" // staff on a family's behalf, consent given in person
)

// Sources lists the sources in the order figures show them.
var Sources = []Source{SourceChat, SourceList, SourceAssisted}

// ListPrefix is the prefix of a list's code (DS-000001, "danh sách").
const ListPrefix = "DS"

// ListRowsMax is the most rows one list may hold: a district's largest school list is a few
// thousand; more is a mistake or a whole database, sent in parts.
const ListRowsMax = 10000

// ListRow is a row of a list that passed every check, ready to be stored as a registration of
// source "list". Row is its number in the file (1 is the file's first line).
type ListRow struct {
	Row          int
	Registration Registration
}

// ListRefusal is a row refused with its reason: a code such as "date_format" or
// "duplicate_in_file" (never the row's words, which stay out of the audit log).
type ListRefusal struct {
	Row    int
	Reason string
}

// ListImport is one list sent by a staff member.
type ListImport struct {
	// Sender is who sent it (role, ward or school scope); Actor its "channel:id".
	Sender Staff
	Actor  string
	// FileHash is the sha256 of the file's bytes, in hex.
	FileHash string
	// RowsRead counts the data rows read (header excluded, blank rows skipped).
	RowsRead int
	Rows     []ListRow
	Refused  []ListRefusal
}

// ListDuplicate is a row of a list whose child the campaign already has (same folded name, date
// of birth and ward): it is not stored again. Existing holds the child's registrations.
type ListDuplicate struct {
	Row      int
	Existing []ListExisting
}

// ListExisting is a registration a duplicate row matched: its code, with the ward and school
// that decide whether the sender may see the code.
type ListExisting struct {
	Code     string
	WardCode string
	School   string
	Source   Source
}

// ListResult is what became of a list: its code, the registrations made (row and code) and the
// rows whose child was already registered. Again is set when the same file (same hash) was
// sent before.
type ListResult struct {
	ListID     int64
	Code       string
	Accepted   []ListAccepted
	Duplicates []ListDuplicate
	Again      bool
}

// ListAccepted is a registration made from a row.
type ListAccepted struct {
	Row  int
	Code string
}

// ListStore stores lists. ImportList stores the list's accepted rows as registrations of source
// "list" (status submitted, waiting for verification), skipping those whose child is already
// registered (also by an earlier list), and audits the list and each row's decision, all in one
// transaction: a failure stores nothing.
type ListStore interface {
	ImportList(ctx context.Context, l *ListImport) (ListResult, error)
}

// ListReader reads a list file (XLSX or CSV, told by its name) row by row, streaming: row is
// called with each row's number (1-based, as the file numbers it) and its cells as text; dates
// that a workbook stores as numbers come as the number (an Excel serial), which the caller reads.
type ListReader interface {
	ReadList(ctx context.Context, name string, r io.Reader, row func(n int, cells []string) error) error
	// Template writes an empty list with the headers and an example row to a temporary XLSX file
	// and returns its path.
	Template(headers []string, example []string) (string, error)
	// WriteRows writes rows (the first a header) to a temporary XLSX file and returns its path.
	WriteRows(rows [][]string) (string, error)
}
