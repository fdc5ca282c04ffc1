// Package export writes the campaign's records for officials: registrations, pledges, devices and
// deliveries as an Excel workbook (one sheet each) or as a ZIP of CSV files, in Vietnamese, to a
// temporary file the bot sends. Rows stream from a Source one at a time into the file, so an export
// of the whole city takes little memory however many rows it has.
package export

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/locales"
)

// Source gives the rows of the export's sheets.
type Source interface {
	// Rows calls fn once for each row of sheet that f chooses (ward, status, period; f.ShowPhones
	// is the exporter's business), in a stable order, with the values of fields in their order.
	// It is asked only for the sheets f.Sheets holds, and should refuse any other.
	// The fields are the keys of Fields(sheet); each value has the Go type its column expects
	// (see columns.go), and a field the source does not know is an error. row is only read during
	// the call, so the source may reuse it. An error from fn stops the rows and is returned.
	Rows(ctx context.Context, sheet campaign.ExportSheet, fields []string, f campaign.ExportFilter, fn func(row []any) error) error
}

// Options configure an Exporter; zero fields take the defaults.
type Options struct {
	// Dir is where the temporary files are made: the export and excelize's own spill files.
	// Default os.TempDir().
	Dir string
	// Now is the clock that dates the file's name. Default time.Now.
	Now func() time.Time
	// Location is the campaign's time zone: times are written as its clock shows them, and the
	// file's name is dated in it. Default Asia/Ho_Chi_Minh.
	Location *time.Location
	// Prefix starts the file's name. Default "maytinhchoem".
	Prefix string
}

// defaultPrefix starts the name of an export's file when Options.Prefix is empty.
const defaultPrefix = "maytinhchoem"

// Exporter writes exports of a Source's rows.
type Exporter struct {
	src    Source
	dir    string
	now    func() time.Time
	loc    *time.Location
	prefix string
}

var _ campaign.Exporter = (*Exporter)(nil)

// New returns an Exporter of src's rows.
func New(src Source, opts Options) *Exporter {
	e := &Exporter{src: src, dir: opts.Dir, now: opts.Now, loc: opts.Location, prefix: opts.Prefix}
	if e.dir == "" {
		e.dir = os.TempDir()
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.loc == nil {
		// campaign embeds the zone database, so this loads on any machine.
		if loc, err := time.LoadLocation("Asia/Ho_Chi_Minh"); err == nil {
			e.loc = loc
		} else {
			e.loc = time.UTC
		}
	}
	if e.prefix == "" {
		e.prefix = defaultPrefix
	}
	return e
}

// book is a file being written, sheet after sheet.
type book interface {
	begin(s *sheetSpec) error
	row(cells []cell) error
	end() error
	// close finishes the file; it is called once, after the last sheet, and only on success.
	close() error
	// discard frees what the book holds after a failure.
	discard()
}

// Export writes the rows f chooses to a temporary file in format and returns it; the caller
// sends it and removes it. The file has the sheets f.Sheets holds and no other, and ExportFile.Rows
// counts those alone. Phone numbers are masked unless f.ShowPhones; a donor who asked to stay
// anonymous is named in no sheet (neither their contact, phone nor address). On any error the file
// is removed. An unknown format, a ward code that is not a code, or a period that ends before it
// starts is EINVALID.
func (e *Exporter) Export(ctx context.Context, f campaign.ExportFilter, format campaign.ExportFormat) (campaign.ExportFile, error) {
	var ext string
	switch format {
	case campaign.FormatXLSX:
		ext = ".xlsx"
	case campaign.FormatCSV:
		ext = ".zip"
	default:
		return campaign.ExportFile{}, campaign.Errorf(campaign.EINVALID, "export: unknown format %q", format)
	}
	if err := validate(f); err != nil {
		return campaign.ExportFile{}, err
	}
	now := e.now().In(e.loc)

	out, err := os.CreateTemp(e.dir, e.prefix+"-*"+ext)
	if err != nil {
		return campaign.ExportFile{}, fmt.Errorf("export: create file: %w", err)
	}
	rows, err := e.write(ctx, out, f, format, now)
	if cerr := out.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("export: close file: %w", cerr)
	}
	if err != nil {
		_ = os.Remove(out.Name())
		return campaign.ExportFile{}, err
	}
	return campaign.ExportFile{Path: out.Name(), Name: e.fileName(f, now, ext), Rows: rows}, nil
}

// write writes every sheet into out and returns the rows written per sheet.
func (e *Exporter) write(ctx context.Context, out io.Writer, f campaign.ExportFilter, format campaign.ExportFormat, now time.Time) (map[campaign.ExportSheet]int, error) {
	// Officials read the exports in Vietnamese.
	w, err := wordsIn(locales.VI)
	if err != nil {
		return nil, err
	}
	var b book
	if format == campaign.FormatXLSX {
		b, err = newXLSXBook(out, e.dir, now)
	} else {
		b = newCSVBook(out, now)
	}
	if err != nil {
		return nil, err
	}
	counts := make(map[campaign.ExportSheet]int, len(w.sheets))
	fm := &formatting{loc: e.loc, showPhones: f.ShowPhones, words: w}
	for _, s := range w.sheets {
		if !f.Sheets.Has(s.sheet) {
			continue // not the business of the one who exports: not even asked of the source
		}
		n, err := e.writeSheet(ctx, b, s, f, fm)
		if err != nil {
			b.discard()
			return nil, fmt.Errorf("export: sheet %s: %w", s.sheet, err)
		}
		counts[s.sheet] = n
	}
	if err := b.close(); err != nil {
		return nil, fmt.Errorf("export: write %s: %w", format, err)
	}
	return counts, nil
}

// writeSheet streams one sheet's rows from the source into b and returns how many there were.
func (e *Exporter) writeSheet(ctx context.Context, b book, s *sheetSpec, f campaign.ExportFilter, fm *formatting) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := b.begin(s); err != nil {
		return 0, err
	}
	cells := make([]cell, len(s.columns))
	n := 0
	// The source gets its own copy of the fields: the sheet's are shared by every export.
	err := e.src.Rows(ctx, s.sheet, slices.Clone(s.fields), f, func(row []any) error {
		if len(row) != len(s.fields) {
			return fmt.Errorf("row %d has %d values for %d fields", n+1, len(row), len(s.fields))
		}
		for i := range s.columns {
			v, err := s.columns[i].format(row, fm)
			if err != nil {
				return fmt.Errorf("row %d: %w", n+1, err)
			}
			cells[i] = v
		}
		n++
		return b.row(cells)
	})
	if err != nil {
		return 0, err
	}
	if err := b.end(); err != nil {
		return 0, err
	}
	return n, nil
}

// fileName names the export the way officials file it: maytinhchoem-26800-20210920-1730.xlsx,
// with the ward when the export is of one ward, dated by the campaign's clock.
func (e *Exporter) fileName(f campaign.ExportFilter, now time.Time, ext string) string {
	var b strings.Builder
	b.WriteString(e.prefix)
	if f.WardCode != "" {
		b.WriteString("-" + f.WardCode)
	}
	b.WriteString("-" + now.Format("20060102-1504") + ext)
	return b.String()
}

// validate refuses a filter that cannot be meant. The ward code goes into the file's name, so it
// must be a plain code.
func validate(f campaign.ExportFilter) error {
	for _, r := range f.WardCode {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == '-' || r == '_') {
			return campaign.Errorf(campaign.EINVALID, "export: ward code %q is not a code", f.WardCode)
		}
	}
	if f.Sheets&^campaign.ExportSheetsOf(campaign.ExportSheets...) != 0 {
		return campaign.Errorf(campaign.EINVALID, "export: unknown sheets %08b", uint8(f.Sheets))
	}
	if f.Status != "" && !slices.Contains(campaign.RegistrationStatuses, f.Status) {
		return campaign.Errorf(campaign.EINVALID, "export: unknown registration status %q", f.Status)
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return campaign.Errorf(campaign.EINVALID, "export: the period ends (%s) before it starts (%s)",
			f.To.Format(time.RFC3339), f.From.Format(time.RFC3339))
	}
	return nil
}
