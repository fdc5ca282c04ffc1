package export

import (
	"archive/zip"
	"encoding/csv"
	"io"
	"time"
)

// utf8BOM starts each CSV file: without it Excel reads the file in the computer's legacy code
// page and Vietnamese letters come out garbled.
const utf8BOM = "\ufeff"

// csvBook writes a ZIP of one CSV file per sheet, each streamed into the ZIP as its rows come.
type csvBook struct {
	zw       *zip.Writer
	modified time.Time
	w        *csv.Writer
	record   []string
}

func newCSVBook(out io.Writer, now time.Time) *csvBook {
	return &csvBook{zw: zip.NewWriter(out), modified: now}
}

func (b *csvBook) begin(s *sheetSpec) error {
	fw, err := b.zw.CreateHeader(&zip.FileHeader{Name: s.file, Method: zip.Deflate, Modified: b.modified})
	if err != nil {
		return err
	}
	if _, err := io.WriteString(fw, utf8BOM); err != nil {
		return err
	}
	b.w = csv.NewWriter(fw)
	b.w.UseCRLF = true // RFC 4180, as Excel writes CSV itself
	b.record = make([]string, len(s.columns))
	for i, c := range s.columns {
		b.record[i] = c.header
	}
	return b.w.Write(b.record)
}

func (b *csvBook) row(cells []cell) error {
	for i, c := range cells {
		b.record[i] = c.csvText()
	}
	return b.w.Write(b.record)
}

func (b *csvBook) end() error {
	b.w.Flush()
	return b.w.Error()
}

func (b *csvBook) close() error { return b.zw.Close() }

// discard has nothing to free: the half-written ZIP is in the export's file, which is removed.
func (b *csvBook) discard() {}
