// Package exporttest reads exported workbooks back for tests the way the simplest readers do:
// with archive/zip and a streaming XML decoder, trusting what the file declares (its sheets, each
// sheet's <dimension>) as read-only and streaming readers do, with no spreadsheet library.
package exporttest

import (
	"archive/zip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
)

// Workbook is an XLSX file's sheets, in the workbook's order.
type Workbook struct {
	Sheets []*Sheet
}

// Sheet is one worksheet as its XML has it.
type Sheet struct {
	Name string
	Part string // the worksheet's file in the ZIP, "xl/worksheets/sheet1.xml"
	// Dimension and AutoFilter are the ref attributes of <dimension> and <autoFilter>, "" when the
	// sheet has none.
	Dimension, AutoFilter string
	// Rows are the cells' values, text or the number as written, by row from row 1; each row is
	// as long as its last cell, an empty cell is "". Rows past the last with a cell are dropped.
	Rows [][]string
}

// Read reads the workbook at path.
func Read(file string) (*Workbook, error) {
	zr, err := zip.OpenReader(file)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	parts := map[string]*zip.File{}
	for _, f := range zr.File {
		parts[f.Name] = f
	}

	var wb struct {
		Sheets []struct {
			Name string `xml:"name,attr"`
			RID  string `xml:"http://schemas.openxmlformats.org/officeDocument/2006/relationships id,attr"`
		} `xml:"sheets>sheet"`
	}
	if err := decodePart(parts, "xl/workbook.xml", &wb); err != nil {
		return nil, err
	}
	var rels struct {
		Rels []struct {
			ID     string `xml:"Id,attr"`
			Target string `xml:"Target,attr"`
		} `xml:"Relationship"`
	}
	if err := decodePart(parts, "xl/_rels/workbook.xml.rels", &rels); err != nil {
		return nil, err
	}
	var shared []string
	if _, ok := parts["xl/sharedStrings.xml"]; ok {
		var sst struct {
			SI []struct {
				T string   `xml:"t"`
				R []string `xml:"r>t"`
			} `xml:"si"`
		}
		if err := decodePart(parts, "xl/sharedStrings.xml", &sst); err != nil {
			return nil, err
		}
		for _, si := range sst.SI {
			shared = append(shared, si.T+strings.Join(si.R, ""))
		}
	}

	out := &Workbook{}
	for _, s := range wb.Sheets {
		target := ""
		for _, r := range rels.Rels {
			if r.ID == s.RID {
				target = r.Target
			}
		}
		if target == "" {
			return nil, fmt.Errorf("sheet %q: no relationship %s", s.Name, s.RID)
		}
		part := strings.TrimPrefix(target, "/")
		if !strings.HasPrefix(target, "/") {
			part = path.Join("xl", target)
		}
		sheet := &Sheet{Name: s.Name, Part: part}
		if err := sheet.read(parts, shared); err != nil {
			return nil, fmt.Errorf("sheet %q: %w", s.Name, err)
		}
		out.Sheets = append(out.Sheets, sheet)
	}
	return out, nil
}

func decodePart(parts map[string]*zip.File, name string, v any) error {
	f, ok := parts[name]
	if !ok {
		return fmt.Errorf("no %s in the workbook", name)
	}
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := xml.NewDecoder(rc).Decode(v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// read streams the worksheet's XML: its dimension, filter and cells.
func (s *Sheet) read(parts map[string]*zip.File, shared []string) error {
	f, ok := parts[s.Part]
	if !ok {
		return fmt.Errorf("no %s in the workbook", s.Part)
	}
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	dec := xml.NewDecoder(rc)
	var (
		rowNum, colNum int
		typ            string
		inCell, inText bool
		value          strings.Builder
	)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "dimension":
				s.Dimension = attr(t, "ref")
			case "autoFilter":
				s.AutoFilter = attr(t, "ref")
			case "row":
				n, err := strconv.Atoi(attr(t, "r"))
				if err != nil {
					return fmt.Errorf("row without a number: %w", err)
				}
				rowNum = n
			case "c":
				col, row, err := cellRef(attr(t, "r"))
				if err != nil {
					return err
				}
				if row != rowNum {
					return fmt.Errorf("cell %s in row %d", attr(t, "r"), rowNum)
				}
				colNum, typ, inCell = col, attr(t, "t"), true
				value.Reset()
			case "v", "t":
				inText = inCell
			}
		case xml.CharData:
			if inText {
				value.Write(t)
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "v", "t":
				inText = false
			case "c":
				v := value.String()
				if typ == "s" {
					i, err := strconv.Atoi(v)
					if err != nil || i < 0 || i >= len(shared) {
						return fmt.Errorf("bad shared string %q", v)
					}
					v = shared[i]
				}
				s.set(rowNum, colNum, v)
				inCell = false
			}
		}
	}
	for len(s.Rows) > 0 && len(s.Rows[len(s.Rows)-1]) == 0 {
		s.Rows = s.Rows[:len(s.Rows)-1]
	}
	return nil
}

func (s *Sheet) set(row, col int, v string) {
	for len(s.Rows) < row {
		s.Rows = append(s.Rows, nil)
	}
	r := s.Rows[row-1]
	for len(r) < col {
		r = append(r, "")
	}
	r[col-1] = v
	s.Rows[row-1] = r
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// cellRef reads "K12" as column 11, row 12.
func cellRef(ref string) (col, row int, err error) {
	i := 0
	for i < len(ref) && ref[i] >= 'A' && ref[i] <= 'Z' {
		col = col*26 + int(ref[i]-'A'+1)
		i++
	}
	row, err = strconv.Atoi(ref[i:])
	if i == 0 || err != nil || row < 1 {
		return 0, 0, fmt.Errorf("bad cell reference %q", ref)
	}
	return col, row, nil
}

// columnName writes column 11 as "K".
func columnName(col int) string {
	var b []byte
	for ; col > 0; col = (col - 1) / 26 {
		b = append([]byte{byte('A' + (col-1)%26)}, b...)
	}
	return string(b)
}

// Used is the range the sheet's cells span from A1, "A1:X123"; "" for a sheet with no cell.
func (s *Sheet) Used() string {
	cols := 0
	for _, r := range s.Rows {
		cols = max(cols, len(r))
	}
	if cols == 0 {
		return ""
	}
	return "A1:" + columnName(cols) + strconv.Itoa(len(s.Rows))
}

// Check reports a sheet a read-only reader would misread: one whose <dimension> is not the range
// its cells span, or that has no auto-filter over its header row and every row below it.
func (s *Sheet) Check() error {
	used := s.Used()
	if s.Dimension != used {
		return fmt.Errorf("sheet %q declares <dimension ref=%q>, its cells span %q", s.Name, s.Dimension, used)
	}
	if s.AutoFilter != used {
		return fmt.Errorf("sheet %q has <autoFilter ref=%q>, want %q", s.Name, s.AutoFilter, used)
	}
	return nil
}

// Names returns the sheets' names in the workbook's order.
func (w *Workbook) Names() []string {
	names := make([]string, len(w.Sheets))
	for i, s := range w.Sheets {
		names[i] = s.Name
	}
	return names
}

// Sheet returns the sheet named name, or nil.
func (w *Workbook) Sheet(name string) *Sheet {
	for _, s := range w.Sheets {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Check checks every sheet (see Sheet.Check).
func (w *Workbook) Check() error {
	var errs []error
	for _, s := range w.Sheets {
		errs = append(errs, s.Check())
	}
	return errors.Join(errs...)
}

// Records returns the rows below the header as maps from header to value ("" for an empty cell).
func (s *Sheet) Records() []map[string]string {
	if len(s.Rows) == 0 {
		return nil
	}
	header := s.Rows[0]
	out := make([]map[string]string, 0, len(s.Rows)-1)
	for _, r := range s.Rows[1:] {
		m := make(map[string]string, len(header))
		for i, h := range header {
			if i < len(r) {
				m[h] = r[i]
			} else {
				m[h] = ""
			}
		}
		out = append(out, m)
	}
	return out
}

// Text returns every value of the sheet, one a line: what a test searches for a name that must
// not be there.
func (s *Sheet) Text() string {
	var b strings.Builder
	for _, r := range s.Rows {
		for _, v := range r {
			if v != "" {
				b.WriteString(v)
				b.WriteByte('\n')
			}
		}
	}
	return b.String()
}
