package export

import (
	"archive/zip"
	"fmt"
	"io"
	"time"

	"github.com/xuri/excelize/v2"
)

// headerHeight is the header row's height in points: two lines of wrapped Vietnamese headers.
const headerHeight = 32

// xlsxBook writes a workbook with excelize's StreamWriter: each sheet's XML goes to a buffer that
// spills to a temporary file in dir, and the finished workbook is zipped straight into out.
type xlsxBook struct {
	f   *excelize.File
	out io.Writer
	now time.Time

	header, date, dateTime, money int // style ids

	sheets int
	sw     *excelize.StreamWriter
	rowNum int
	values []any
}

func newXLSXBook(out io.Writer, dir string, now time.Time) (*xlsxBook, error) {
	b := &xlsxBook{f: excelize.NewFile(excelize.Options{TmpDir: dir}), out: out, now: now}
	styles := []struct {
		id    *int
		style *excelize.Style
	}{
		{&b.header, &excelize.Style{
			Font:      &excelize.Font{Bold: true},
			Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}},
			Alignment: &excelize.Alignment{WrapText: true, Vertical: "center"},
			Border:    []excelize.Border{{Type: "bottom", Color: "808080", Style: 1}},
		}},
		{&b.date, &excelize.Style{CustomNumFmt: ptr(dateNumFmt)}},
		{&b.dateTime, &excelize.Style{CustomNumFmt: ptr(dateTimeNumFmt)}},
		{&b.money, &excelize.Style{CustomNumFmt: ptr(moneyNumFmt)}},
	}
	for _, s := range styles {
		id, err := b.f.NewStyle(s.style)
		if err != nil {
			_ = b.f.Close()
			return nil, fmt.Errorf("export: xlsx style: %w", err)
		}
		*s.id = id
	}
	return b, nil
}

func (b *xlsxBook) begin(s *sheetSpec) error {
	// A new workbook has one sheet, "Sheet1": the first sheet takes it over.
	if b.sheets == 0 {
		if err := b.f.SetSheetName(b.f.GetSheetName(0), s.title); err != nil {
			return err
		}
	} else if _, err := b.f.NewSheet(s.title); err != nil {
		return err
	}
	b.sheets++
	sw, err := b.f.NewStreamWriter(s.title)
	if err != nil {
		return err
	}
	b.sw, b.rowNum = sw, 1
	// Widths and panes must come before the first row of a stream. excelize puts each width
	// before those set earlier, and Excel wants the columns in order: so the last comes first.
	for i := len(s.columns) - 1; i >= 0; i-- {
		if err := sw.SetColWidth(i+1, i+1, s.columns[i].width); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{
		Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}},
	}); err != nil {
		return err
	}
	header := make([]any, len(s.columns))
	for i, c := range s.columns {
		header[i] = c.header
	}
	if err := sw.SetRow("A1", header, excelize.RowOpts{StyleID: b.header, Height: headerHeight}); err != nil {
		return err
	}
	b.values = make([]any, len(s.columns))
	return nil
}

func (b *xlsxBook) row(cells []cell) error {
	for i, c := range cells {
		switch c.kind {
		case cellEmpty:
			b.values[i] = nil
		case cellText:
			b.values[i] = c.text
		case cellNumber:
			b.values[i] = c.num
		case cellMoney:
			b.values[i] = excelize.Cell{StyleID: b.money, Value: c.num}
		case cellDate:
			b.values[i] = excelize.Cell{StyleID: b.date, Value: c.t}
		case cellTime:
			b.values[i] = excelize.Cell{StyleID: b.dateTime, Value: c.t}
		}
	}
	b.rowNum++
	ref, err := excelize.CoordinatesToCellName(1, b.rowNum)
	if err != nil {
		return err
	}
	return b.sw.SetRow(ref, b.values)
}

func (b *xlsxBook) end() error { return b.sw.Flush() }

func (b *xlsxBook) close() error {
	err := b.write()
	// Close removes excelize's spill files, whatever happened.
	if cerr := b.f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (b *xlsxBook) write() error {
	if err := b.f.SetDocProps(&excelize.DocProperties{
		Creator: defaultPrefix,
		Created: b.now.UTC().Format(time.RFC3339),
		Title:   "Sóng và máy tính cho em",
	}); err != nil {
		return err
	}
	// excelize builds the whole zip in a bytes.Buffer it hands to its zip writer; a zip writer
	// over out instead streams each sheet's spill file into the export, so the workbook is never
	// held in memory. The buffer stays empty and is thrown away.
	b.f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(b.out) })
	return b.f.Write(io.Discard)
}

func (b *xlsxBook) discard() { _ = b.f.Close() }

func ptr[T any](v T) *T { return &v }
