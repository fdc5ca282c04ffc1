package export

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/thuduc/maytinhchoem/campaign"
)

// ListReader reads the lists schools and wards send (campaign.ListReader): XLSX through
// excelize's row iterator, CSV through encoding/csv, both streaming.
type ListReader struct {
	// Dir is where templates are written; os.TempDir() when "".
	Dir string
}

var _ campaign.ListReader = ListReader{}

// ReadList calls row with each row of the first sheet of an XLSX file, or of a CSV file (comma,
// semicolon or tab, told by the first line; a UTF-8 byte-order mark is dropped). Cells of a
// workbook come raw, so a date stored as a number is its serial ("41157") whatever the cell's
// format shows, which would be month first in Excel's default. A file that is neither is
// EINVALID.
func (ListReader) ReadList(ctx context.Context, name string, r io.Reader, row func(n int, cells []string) error) error {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".xlsx", ".xlsm":
		return readXLSX(ctx, r, row)
	case ".csv", ".txt":
		return readCSV(ctx, r, row)
	}
	return campaign.Errorf(campaign.EINVALID, "list %q is neither XLSX nor CSV", filepath.Ext(name))
}

func readXLSX(ctx context.Context, r io.Reader, row func(n int, cells []string) error) error {
	f, err := excelize.OpenReader(r)
	if err != nil {
		return campaign.Errorf(campaign.EINVALID, "not a workbook: %v", err)
	}
	defer func() { _ = f.Close() }()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return campaign.Errorf(campaign.EINVALID, "a workbook without sheets")
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		return campaign.Errorf(campaign.EINVALID, "sheet %q: %v", sheets[0], err)
	}
	defer func() { _ = rows.Close() }()
	for n := 1; rows.Next(); n++ {
		if n%500 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		cells, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return campaign.Errorf(campaign.EINVALID, "row %d: %v", n, err)
		}
		if err := row(n, cells); err != nil {
			return err
		}
	}
	return rows.Error()
}

func readCSV(ctx context.Context, r io.Reader, row func(n int, cells []string) error) error {
	br := bufio.NewReader(r)
	head, _ := br.Peek(4096)
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	if bytes.HasPrefix(head, []byte("PK")) {
		return campaign.Errorf(campaign.EINVALID, "a workbook named .csv")
	}
	first, _, _ := bytes.Cut(head, []byte("\n"))
	sep := ','
	if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		sep = ';'
	}
	if bytes.Count(first, []byte("\t")) > bytes.Count(first, []byte(string(sep))) {
		sep = '\t'
	}
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.Comma, cr.FieldsPerRecord, cr.LazyQuotes, cr.ReuseRecord = sep, -1, true, true
	for n := 1; ; n++ {
		if n%500 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		cells, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return campaign.Errorf(campaign.EINVALID, "row %d: %v", n, err)
		}
		if err := row(n, cells); err != nil {
			return err
		}
	}
}

// Template writes a one-sheet workbook with headers and an example row to a temporary file and
// returns its path; the caller removes it.
func (l ListReader) Template(headers, example []string) (string, error) {
	return writeRows(l.Dir, "mau-danh-sach-*.xlsx", [][]string{headers, example})
}

// WriteRows writes rows (the first one a header) to a temporary XLSX file, for the refused rows
// of a list sent back to be fixed; the caller removes it.
func (l ListReader) WriteRows(rows [][]string) (string, error) {
	return writeRows(l.Dir, "dong-bi-tu-choi-*.xlsx", rows)
}

func writeRows(dir, pattern string, rows [][]string) (path string, err error) {
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	sheet := f.GetSheetName(0)
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return "", fmt.Errorf("export: list file: %w", err)
	}
	for i, r := range rows {
		cells := make([]any, len(r))
		for j, v := range r {
			cells[j] = excelize.Cell{Value: v}
		}
		ref, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := sw.SetRow(ref, cells); err != nil {
			return "", fmt.Errorf("export: list file: %w", err)
		}
	}
	if err := sw.Flush(); err != nil {
		return "", fmt.Errorf("export: list file: %w", err)
	}
	out, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", fmt.Errorf("export: list file: %w", err)
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(out.Name())
		}
	}()
	if err := f.Write(out); err != nil {
		return "", fmt.Errorf("export: list file: %w", err)
	}
	return out.Name(), nil
}
