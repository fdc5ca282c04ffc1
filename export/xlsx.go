package export

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
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
	title  string
	cols   int
	rowNum int
	values []any

	// used are the ranges the sheets' cells use, by the name of their part in the ZIP
	// ("xl/worksheets/sheet2.xml"), for their <dimension> and <autoFilter> (see sheetZip).
	used map[string]string
}

func newXLSXBook(out io.Writer, dir string, now time.Time) (*xlsxBook, error) {
	b := &xlsxBook{f: excelize.NewFile(excelize.Options{TmpDir: dir}), out: out, now: now, used: map[string]string{}}
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
	b.sw, b.title, b.cols, b.rowNum = sw, s.title, len(s.columns), 1
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

// end gives the sheet an auto-filter on its header row over every row written, and records
// the range the sheet uses for its <dimension> (see sheetZip).
func (b *xlsxBook) end() error {
	last, err := excelize.CoordinatesToCellName(b.cols, b.rowNum)
	if err != nil {
		return err
	}
	used := "A1:" + last
	// The filter goes into the worksheet the stream writes on Flush, after the rows, and into the
	// workbook's hidden _xlnm._FilterDatabase name, as Excel writes it.
	if err := b.f.AutoFilter(b.title, used, nil); err != nil {
		return err
	}
	part, err := b.sheetPart(b.title)
	if err != nil {
		return err
	}
	b.used[part] = used
	return b.sw.Flush()
}

// sheetPart is the name of a worksheet's part in the ZIP: excelize names the part of the sheet
// with id n "xl/worksheets/sheet<n>.xml", in a workbook it made.
func (b *xlsxBook) sheetPart(title string) (string, error) {
	for id, name := range b.f.GetSheetMap() {
		if name == title {
			return "xl/worksheets/sheet" + strconv.Itoa(id) + ".xml", nil
		}
	}
	return "", fmt.Errorf("no sheet %q in the workbook", title)
}

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
	zw := &sheetZip{Writer: zip.NewWriter(b.out), used: b.used}
	b.f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zw })
	if err := b.f.Write(io.Discard); err != nil {
		return err
	}
	return zw.err
}

func (b *xlsxBook) discard() { _ = b.f.Close() }

func ptr[T any](v T) *T { return &v }

// sheetZip is the workbook's ZIP writer. It writes each worksheet with the range its cells use
// ("A1:X123") in its <dimension> and <autoFilter>. excelize's stream writes the dimension before
// the rows, when it cannot know them, as "A1": readers that trust it (read-only and streaming
// readers) would see an empty sheet. Its auto-filter has the range in absolute form ("$A$1:$X$123"),
// which the format's ref is not, and which some readers refuse.
type sheetZip struct {
	*zip.Writer
	used map[string]string // by worksheet part
	cur  *refWriter
	err  error // a worksheet whose refs were not found: the workbook is not right
}

func (z *sheetZip) Create(name string) (io.Writer, error) {
	if err := z.finish(); err != nil {
		return nil, err
	}
	w, err := z.Writer.Create(name)
	if err != nil {
		return nil, err
	}
	used, ok := z.used[name]
	if !ok {
		return w, nil
	}
	z.cur = &refWriter{w: w, part: name, markers: []string{`<dimension ref="`, `<autoFilter ref="`}, ref: used}
	return z.cur, nil
}

func (z *sheetZip) Close() error {
	if err := z.finish(); err != nil {
		return err
	}
	return z.Writer.Close()
}

// finish ends the worksheet being written.
func (z *sheetZip) finish() error {
	if z.cur == nil {
		return nil
	}
	w := z.cur
	z.cur = nil
	if err := w.flush(); err != nil {
		return err
	}
	if len(w.markers) > 0 && z.err == nil {
		z.err = fmt.Errorf("export: xlsx: %s has no %s", w.part, strings.TrimSuffix(w.markers[0], ` ref="`)+">")
	}
	return nil
}

// maxRefLen bounds the value of a ref attribute refWriter replaces: "$XFD$1048576:$XFD$1048576".
const maxRefLen = 64

// refWriter passes a worksheet's XML through and writes ref as the value of the attribute each
// marker opens, in the order of the markers, the first occurrence of each. It holds back no more
// than a marker's length (or a marker and its value), so the sheet still streams. A cell's text
// cannot look like a marker: its "<" is escaped.
type refWriter struct {
	w       io.Writer
	part    string
	markers []string // the attributes still to replace
	ref     string
	held    []byte // the end of what was written, which may start a marker
	buf     []byte // held and the next piece
}

func (r *refWriter) Write(p []byte) (int, error) {
	if len(r.markers) == 0 && len(r.held) == 0 {
		return r.w.Write(p)
	}
	// p is not copied unless something is held back: a sheet held in memory comes in one
	// piece, one spilled to a file in pieces of 32 KiB, which share one buffer.
	data := p
	if len(r.held) > 0 {
		r.buf = append(append(r.buf[:0], r.held...), p...)
		data = r.buf
	}
	for len(r.markers) > 0 {
		m := r.markers[0]
		i := bytes.Index(data, []byte(m))
		if i < 0 {
			// Hold back what may be the start of the marker.
			keep := min(len(data), len(m)-1)
			if err := r.write(data[:len(data)-keep]); err != nil {
				return 0, err
			}
			r.held = append(r.held[:0], data[len(data)-keep:]...)
			return len(p), nil
		}
		start := i + len(m)
		n := bytes.IndexByte(data[start:], '"')
		if n < 0 {
			if len(data)-i > len(m)+maxRefLen {
				return 0, fmt.Errorf("export: xlsx: %s: %s has no end", r.part, m)
			}
			if err := r.write(data[:i]); err != nil {
				return 0, err
			}
			r.held = append(r.held[:0], data[i:]...)
			return len(p), nil
		}
		if err := r.write(data[:start]); err != nil {
			return 0, err
		}
		if err := r.write([]byte(r.ref)); err != nil {
			return 0, err
		}
		data = data[start+n:]
		r.markers = r.markers[1:]
	}
	r.held = r.held[:0]
	if err := r.write(data); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (r *refWriter) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	_, err := r.w.Write(b)
	return err
}

// flush writes what is held back, at the end of the worksheet.
func (r *refWriter) flush() error {
	err := r.write(r.held)
	r.held = nil
	return err
}
