package export_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/export"
)

// rowsSource makes n registrations on the fly, so the benchmark measures the writers alone.
type rowsSource struct{ n int }

func (s rowsSource) Rows(_ context.Context, sheet campaign.ExportSheet, fields []string, _ campaign.ExportFilter, fn func([]any) error) error {
	if sheet != campaign.SheetRegistrations {
		return nil
	}
	row := make([]any, len(fields))
	code, created := slices.Index(fields, "code"), slices.Index(fields, "created_at")
	for i := range s.n {
		for j, k := range fields {
			row[j] = registrationRow[k]
		}
		row[code] = fmt.Sprintf("TD-%06d", i+1)
		row[created] = exportTime.Add(-time.Duration(i) * time.Second)
		if err := fn(row); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkExport writes 50,000 registrations without a database: the writers' share of an export.
func BenchmarkExport(b *testing.B) {
	for _, format := range []campaign.ExportFormat{campaign.FormatXLSX, campaign.FormatCSV} {
		b.Run(string(format), func(b *testing.B) {
			e := newExporter(rowsSource{n: 50_000}, b.TempDir())
			b.ReportAllocs()
			for b.Loop() {
				file, err := e.Export(b.Context(), campaign.ExportFilter{}, format)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if fi, err := os.Stat(file.Path); err == nil {
					b.ReportMetric(float64(fi.Size())/(1<<20), "file-MB")
				}
				_ = os.Remove(file.Path)
				b.StartTimer()
			}
		})
	}
}

var _ export.Source = rowsSource{}
