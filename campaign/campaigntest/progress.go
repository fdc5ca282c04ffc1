package campaigntest

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Progress is a campaign.ProgressStore of made-up figures, settled for Campaign, that remembers
// the scopes asked. Its wards count 100+i registered and 80+i verified (i the ward's place in
// the campaign); the rest depends on WardSums.
type Progress struct {
	Campaign *campaign.Campaign
	// WardSums makes the totals the sums of the wards' figures (40+i delivered each) and a ward
	// not in the campaign ENOTFOUND, for tests that follow a figure from a ward to the city.
	// Without it the totals are a mid-campaign day's (2,950 registered, 940 delivered, schools
	// listed), the same for every scope, and each ward has delivered 30+2i.
	WardSums bool
	// Err, when set, is returned instead of figures.
	Err error

	mu     sync.Mutex
	scopes []string
}

var _ campaign.ProgressStore = (*Progress)(nil)

// Progress implements campaign.ProgressStore.
func (s *Progress) Progress(_ context.Context, at time.Time, ward string) (campaign.Progress, error) {
	s.mu.Lock()
	s.scopes = append(s.scopes, ward)
	err := s.Err
	s.mu.Unlock()
	if err != nil {
		return campaign.Progress{}, err
	}
	if s.WardSums {
		return s.wardSums(at, ward)
	}
	p := campaign.Progress{
		At: at, WardCode: ward,
		Registrations: campaign.RegistrationCounts{Total: 2950, NewToday: 45, Verified: 2400, Rejected: 120, Pending: 425, Withdrawn: 5,
			BySource: campaign.SourceCounts{Chat: 2100, List: 800, Assisted: 50}},
		Pledges: campaign.PledgeCounts{Pledges: 120, Devices: map[campaign.DeviceType]int{campaign.DeviceLaptop: 800, campaign.DeviceTablet: 300},
			MoneyPledged: 1_250_000_000, MoneyReceived: 900_000_000, SIMs: 2000, Packages: 500},
		Devices:   campaign.DevicePipeline{Received: 1500, InWork: 200, Ready: 300, Unusable: 0, Allocated: 60, Delivered: 940},
		Delivered: 940,
	}
	for i, w := range s.Campaign.Wards {
		if ward != "" && w.Code != ward {
			continue
		}
		p.Wards = append(p.Wards, campaign.WardProgress{Code: w.Code, Registered: 100 + i, Verified: 80 + i, Delivered: 30 + 2*i})
	}
	var schools campaign.SchoolTally
	for i, name := range []string{"THCS Linh Trung", "Trường THCS Linh Trung", "Trường Tiểu học Linh Xuân", "THPT Thủ Đức",
		"Trường Tiểu học Bình Chiểu", "THCS Trương Văn Ngư", "Trường THCS Hiệp Phú", "Trường Tiểu học Đặng Văn Bất"} {
		schools.Add(name, campaign.SourceList, campaign.StatusSubmitted, 300-10*i)
	}
	schools.Add("", campaign.SourceChat, campaign.StatusVerified, 900) // erased: no school, never listed
	p.Schools = schools.Schools()
	p.Settle(s.Campaign)
	return p, nil
}

// wardSums is Progress with WardSums.
func (s *Progress) wardSums(at time.Time, ward string) (campaign.Progress, error) {
	p := campaign.Progress{At: at, WardCode: ward}
	for i, w := range s.Campaign.Wards {
		if ward != "" && w.Code != ward {
			continue
		}
		wp := campaign.WardProgress{Code: w.Code, Registered: 100 + i, Verified: 80 + i, Delivered: 40 + i}
		p.Wards = append(p.Wards, wp)
		p.Registrations.Total += wp.Registered
		p.Registrations.Verified += wp.Verified
		p.Delivered += wp.Delivered
	}
	if len(p.Wards) == 0 {
		return p, campaign.Errorf(campaign.ENOTFOUND, "no ward %s", ward)
	}
	p.Settle(s.Campaign)
	return p, nil
}

// Scopes returns the wards asked for, in order ("" for the city).
func (s *Progress) Scopes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.scopes)
}

// Calls counts the calls for ward ("" for the city).
func (s *Progress) Calls(ward string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, w := range s.scopes {
		if w == ward {
			n++
		}
	}
	return n
}

// Exporter is a campaign.Exporter that writes a small file per export, a new one each time in
// Dir as the real one writes a temporary workbook, and remembers what it was asked. The file
// holds "workbook ward=<ward> phones=<bool>"; it is named td-export.<format>, or
// td-<ward>-export.<format> for a ward.
type Exporter struct {
	Dir string
	// Rows is what the export says it wrote, by sheet (nil: nothing said).
	Rows map[campaign.ExportSheet]int
	// Formats, when set, are the only formats made; others fail.
	Formats []campaign.ExportFormat
	// Err, when set, is returned instead of exporting, the call not remembered; Fail, by ward
	// code ("" for the city), is returned after remembering the call.
	Err  error
	Fail map[string]error

	mu      sync.Mutex
	filters []campaign.ExportFilter
	formats []campaign.ExportFormat
}

var _ campaign.Exporter = (*Exporter)(nil)

// Export implements campaign.Exporter.
func (x *Exporter) Export(_ context.Context, f campaign.ExportFilter, format campaign.ExportFormat) (campaign.ExportFile, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.Err != nil {
		return campaign.ExportFile{}, x.Err
	}
	x.filters = append(x.filters, f)
	x.formats = append(x.formats, format)
	if err := x.Fail[f.WardCode]; err != nil {
		return campaign.ExportFile{}, err
	}
	if x.Formats != nil && !slices.Contains(x.Formats, format) {
		return campaign.ExportFile{}, fmt.Errorf("format %s", format)
	}
	file, err := os.CreateTemp(x.Dir, "export-*."+string(format))
	if err != nil {
		return campaign.ExportFile{}, err
	}
	defer file.Close()
	if _, err := fmt.Fprintf(file, "workbook ward=%q phones=%t", f.WardCode, f.ShowPhones); err != nil {
		return campaign.ExportFile{}, err
	}
	name := "td-export." + string(format)
	if f.WardCode != "" {
		name = "td-" + f.WardCode + "-export." + string(format)
	}
	return campaign.ExportFile{Path: file.Name(), Name: name, Rows: maps.Clone(x.Rows)}, nil
}

// Filters returns the filters asked for, in order.
func (x *Exporter) Filters() []campaign.ExportFilter {
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Clone(x.filters)
}

// FormatsAsked returns the formats asked for, in order.
func (x *Exporter) FormatsAsked() []campaign.ExportFormat {
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Clone(x.formats)
}
