package jobs_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/campaign/campaigntest"
	"github.com/thuduc/maytinhchoem/jobs"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

func milestoneTick(date string) jobs.Tick {
	at, err := time.ParseInLocation(time.DateOnly, date, saigon)
	if err != nil {
		panic(err)
	}
	at = at.Add(8 * time.Hour)
	return jobs.Tick{Job: "milestones", Key: date, ScheduledFor: at, Now: at}
}

func newMilestones(c *campaign.Campaign, box campaign.Outbox, dir string, subs []campaign.Subscriber, t *testing.T) (*jobs.Milestones, *campaigntest.Exporter) {
	exp := &campaigntest.Exporter{Dir: t.TempDir(), Formats: []campaign.ExportFormat{campaign.FormatXLSX}}
	return &jobs.Milestones{
		Campaign: c, Progress: &campaigntest.Progress{Campaign: c, WardSums: true}, Subscribers: campaigntest.NewSubscriptions(nil, subs...), Messages: fakeMessages{},
		Outbox: box, Exporter: exp, Dir: dir, Audit: &campaigntest.Audit{},
	}, exp
}

func TestMilestones_EventsOfTheDay(t *testing.T) {
	c := campaign.Default()
	db := newTestDB(t)
	subs := summarySubscribers()[:1] // a city official
	ward := subscriber(campaign.RoleWardOfficial, wardLinhTrung, "201", "en")
	subs = append(subs, ward)
	job, exp := newMilestones(c, db.outbox(), t.TempDir(), subs, t)
	for _, tc := range []struct {
		date   string
		events []string
	}{
		{"2021-09-12", []string{}},
		{"2021-09-13", []string{"plan"}},
		{"2021-09-15", []string{"launch"}},
		{"2021-09-17", []string{"handover"}},
		{"2021-09-20", []string{}},
		{"2021-09-30", []string{"handover:end"}},
		{"2021-10-01", []string{"final_report"}},
	} {
		before := len(db.queued())
		res, err := job.Run(context.Background(), milestoneTick(tc.date))
		if err != nil {
			t.Fatalf("%s: %v", tc.date, err)
		}
		if !slices.Equal(res.Events, tc.events) {
			t.Errorf("%s: events %q, want %q", tc.date, res.Events, tc.events)
		}
		msgs := db.queued()[before:]
		if len(tc.events) == 0 {
			if len(msgs) != 0 || res.Queued != 0 {
				t.Errorf("%s: queued %d on a day without events", tc.date, len(msgs))
			}
			continue
		}
		ev := tc.events[0]
		var keys []string
		for _, m := range msgs {
			keys = append(keys, m.Key)
			if m.Batch != "milestone:"+ev {
				t.Errorf("%s: batch %q", m.Key, m.Batch)
			}
		}
		want := []string{"milestone:" + ev + ":telegram:101"}
		if ev == campaign.MilestoneFinalReport {
			want = append(want, want[0]+":workbook")
		}
		want = append(want, "milestone:"+ev+":telegram:201")
		if ev == campaign.MilestoneFinalReport {
			want = append(want, want[len(want)-1]+":workbook")
		}
		if !slices.Equal(keys, want) {
			t.Errorf("%s: keys %q, want %q", tc.date, keys, want)
		}
		if res.Queued != len(want) {
			t.Errorf("%s: result %+v", tc.date, res)
		}
		if got, want := msgs[0].Text, fmt.Sprintf(`[vi] milestone %s scope="" workbook=%t`, ev, ev == campaign.MilestoneFinalReport); got != want {
			t.Errorf("%s: city text %q, want %q", tc.date, got, want)
		}
		if last := msgs[len(msgs)-1]; ev != campaign.MilestoneFinalReport && last.Text != `[en] milestone `+ev+` scope="26800" workbook=false` {
			t.Errorf("%s: ward text %q", tc.date, last.Text)
		}
	}
	if n := len(exp.Filters()); n != 2 {
		t.Errorf("%d exports, want 2 (the city's and the ward's final report)", n)
	}
}

func TestMilestones_FinalReportWorkbooks(t *testing.T) {
	ctx := context.Background()
	c := campaign.Default()
	db := newTestDB(t)
	dir := filepath.Join(t.TempDir(), "reports")
	subs := []campaign.Subscriber{
		subscriber(campaign.RoleCityOfficial, "", "1", "vi"),            // city, masked
		subscriber(campaign.RoleEducationOffice, "", "2", "en"),         // city, masked, no pledges (it may not view them)
		subscriber(campaign.RoleAdmin, "", "3", "vi"),                   // city, phones
		subscriber(campaign.RoleWardOfficial, wardLinhTrung, "4", "vi"), // ward, phones
		subscriber(campaign.RoleWomensUnion, wardLinhTrung, "5", "vi"),  // may not export
		subscriber(campaign.RoleVolunteer, "", "6", "vi"),               // may not export
		subscriber(campaign.RoleCultureInfo, "", "7", "vi"),             // may not export
	}
	job, exp := newMilestones(c, db.outbox(), dir, subs, t)
	job.Audit = postgres.NewAuditLog(db.pool())
	n := &notifications{}
	job.Notify = n.notify
	res, err := job.Run(ctx, milestoneTick("2021-10-01"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Queued != 11 || res.Workbooks != 4 || res.Subscribers != 7 || n.count() != 1 {
		t.Errorf("result = %+v, notified %d", res, n.count())
	}
	all := campaign.ExportSheetsOf(campaign.SheetRegistrations, campaign.SheetPledges, campaign.SheetDevices, campaign.SheetDeliveries, campaign.SheetSchools)
	noPledges := campaign.ExportSheetsOf(campaign.SheetRegistrations, campaign.SheetDevices, campaign.SheetDeliveries, campaign.SheetSchools)
	children := campaign.ExportSheetsOf(campaign.SheetRegistrations, campaign.SheetDeliveries, campaign.SheetSchools)
	wantExports := []campaign.ExportFilter{{WardCode: "", ShowPhones: false, Sheets: all}, {WardCode: "", ShowPhones: false, Sheets: noPledges},
		{WardCode: "", ShowPhones: true, Sheets: all}, {WardCode: wardLinhTrung, ShowPhones: true, Sheets: children}}
	if got := exp.Filters(); !slices.Equal(got, wantExports) {
		t.Errorf("exports %+v, want %+v", got, wantExports)
	}
	if left := leftovers(t, exp); len(left) != 0 {
		t.Errorf("the exports' temporary files are left: %q", left)
	}
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("reports dir mode %s", m)
	}

	books := map[string]string{} // chat -> file path
	var got []string
	for _, m := range db.queued() {
		got = append(got, m.ChatID+" "+strings.TrimPrefix(m.Key, "milestone:final_report:telegram:"+m.ChatID))
		if strings.HasSuffix(m.Key, ":workbook") {
			books[m.ChatID] = m.FilePath
			wantName := "bao-cao-tong-ket-20211001.xlsx"
			if m.ChatID == "4" {
				wantName = "bao-cao-tong-ket-26800-20211001.xlsx"
			}
			if m.FileName != wantName || m.Text != "" || m.Batch != "milestone:final_report" {
				t.Errorf("workbook message %+v", m)
			}
			continue
		}
		withBook := slices.Contains([]string{"1", "2", "3", "4"}, m.ChatID)
		if !strings.HasSuffix(m.Text, fmt.Sprintf("workbook=%t", withBook)) {
			t.Errorf("chat %s: text %q", m.ChatID, m.Text)
		}
	}
	want := []string{"1 ", "1 :workbook", "2 ", "2 :workbook", "3 ", "3 :workbook", "4 ", "4 :workbook", "5 ", "6 ", "7 "}
	if !slices.Equal(got, want) {
		t.Errorf("messages %q, want %q", got, want)
	}
	wantFiles := map[string]string{
		"1": "final-report-2021-10-01-city-masked-s1f.xlsx", "2": "final-report-2021-10-01-city-masked-s1d.xlsx",
		"3": "final-report-2021-10-01-city-phones-s1f.xlsx", "4": "final-report-2021-10-01-ward-26800-phones-s19.xlsx",
	}
	for chat, name := range wantFiles {
		path := books[chat]
		if path != filepath.Join(dir, name) {
			t.Errorf("chat %s gets %s, want %s", chat, path, name)
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		phones := chat == "3" || chat == "4"
		ward := ""
		if chat == "4" {
			ward = wardLinhTrung
		}
		if want := fmt.Sprintf("workbook ward=%q phones=%t", ward, phones); string(b) != want {
			t.Errorf("%s holds %q, want %q", name, b, want)
		}
		if m := mode(t, path); m != 0o600 {
			t.Errorf("%s mode %s", name, m)
		}
	}

	// Each workbook made is an export in the audit log, as an official's /export is: its file,
	// scope, phones, sheets and recipients.
	exports := finalReportExports(t, db.raw)
	wantAudit := map[string]string{
		"final-report-2021-10-01-city-masked-s1f.xlsx":       `{"report": "final_report", "date": "2021-10-01", "format": "xlsx", "ward": "", "phones": false, "sheets": "` + all.String() + `", "rows": {}, "recipients": ["telegram:1"]}`,
		"final-report-2021-10-01-city-masked-s1d.xlsx":       `{"report": "final_report", "date": "2021-10-01", "format": "xlsx", "ward": "", "phones": false, "sheets": "` + noPledges.String() + `", "rows": {}, "recipients": ["telegram:2"]}`,
		"final-report-2021-10-01-city-phones-s1f.xlsx":       `{"report": "final_report", "date": "2021-10-01", "format": "xlsx", "ward": "", "phones": true, "sheets": "` + all.String() + `", "rows": {}, "recipients": ["telegram:3"]}`,
		"final-report-2021-10-01-ward-26800-phones-s19.xlsx": `{"report": "final_report", "date": "2021-10-01", "format": "xlsx", "ward": "26800", "phones": true, "sheets": "` + children.String() + `", "rows": {}, "recipients": ["telegram:4"]}`,
	}
	if len(exports) != len(wantAudit) {
		t.Errorf("export audit rows %q, want one per workbook", exports)
	}
	for subject, after := range wantAudit {
		if got, ok := exports[subject]; !ok || !jsonSame(t, got, after) {
			t.Errorf("audit of %s = %s, want %s", subject, got, after)
		}
	}

	// Again, as a second process or a retry would: nothing queued, the workbooks reused, nothing
	// exported or audited again.
	again, err := job.Run(ctx, milestoneTick("2021-10-01"))
	if err != nil || again.Queued != 0 || again.Workbooks != 4 {
		t.Errorf("second run = %+v, %v", again, err)
	}
	if len(exp.Filters()) != 4 || len(db.queued()) != 11 || n.count() != 1 || len(finalReportExports(t, db.raw)) != 4 {
		t.Errorf("second run exported %d in all, outbox holds %d, notified %d", len(exp.Filters()), len(db.queued()), n.count())
	}
}

// finalReportExports returns the after of each data.export audit row of the milestones job, by
// subject (the workbook's file name).
func finalReportExports(t *testing.T, db *sql.DB) map[string]string {
	t.Helper()
	rows, err := db.Query(`SELECT subject, after::text FROM audit_log
		WHERE action = 'data.export' AND actor = $1 ORDER BY id`, jobs.MilestonesActor)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var subject, after string
		if err := rows.Scan(&subject, &after); err != nil {
			t.Fatal(err)
		}
		out[subject] = after
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// jsonSame reports whether two JSON texts hold the same value.
func jsonSame(t *testing.T, got, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		return false
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("JSON %q: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

// A workbook that cannot be audited is not sent: its file is removed, its subscribers get the
// text alone, and the run fails so the log tells; a job without an audit log makes none.
func TestMilestones_AuditFailure(t *testing.T) {
	c := campaign.Default()
	db := newTestDB(t)
	dir := t.TempDir()
	subs := []campaign.Subscriber{subscriber(campaign.RoleCityOfficial, "", "1", "vi")}
	job, exp := newMilestones(c, db.outbox(), dir, subs, t)
	job.Audit = &campaigntest.Audit{Err: errors.New("audit_log: connection refused")}
	res, err := job.Run(context.Background(), milestoneTick("2021-10-01"))
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("err = %v", err)
	}
	var got []string
	for _, m := range db.queued() {
		got = append(got, m.Key+" "+m.Text)
	}
	want := []string{`milestone:final_report:telegram:1 [vi] milestone final_report scope="" workbook=false`}
	if !slices.Equal(got, want) || res.Workbooks != 0 || len(exp.Filters()) != 1 {
		t.Errorf("queued %q (result %+v, %d exports), want %q", got, res, len(exp.Filters()), want)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.xlsx")); len(files) != 0 {
		t.Errorf("unaudited workbooks left: %q", files)
	}

	job, exp = newMilestones(c, newTestDB(t).outbox(), t.TempDir(), subs, t)
	job.Audit = nil
	if res, err := job.Run(context.Background(), milestoneTick("2021-10-01")); err != nil || res.Workbooks != 0 || len(exp.Filters()) != 0 {
		t.Errorf("without an audit log: %+v, %d exports, %v; want the report alone", res, len(exp.Filters()), err)
	}
}

// TestMilestones_ExportFailure: a workbook that cannot be made does not hold the report up.
func TestMilestones_ExportFailure(t *testing.T) {
	c := campaign.Default()
	db := newTestDB(t)
	subs := []campaign.Subscriber{
		subscriber(campaign.RoleCityOfficial, "", "1", "vi"),
		subscriber(campaign.RoleWardOfficial, wardLinhTrung, "4", "vi"),
	}
	job, exp := newMilestones(c, db.outbox(), t.TempDir(), subs, t)
	exp.Fail = map[string]error{wardLinhTrung: errors.New("statement timeout")}
	res, err := job.Run(context.Background(), milestoneTick("2021-10-01"))
	if err == nil || !strings.Contains(err.Error(), "statement timeout") {
		t.Errorf("err = %v", err)
	}
	var got []string
	for _, m := range db.queued() {
		got = append(got, m.Key+" "+m.Text)
	}
	want := []string{
		`milestone:final_report:telegram:1 [vi] milestone final_report scope="" workbook=true`,
		`milestone:final_report:telegram:1:workbook `,
		`milestone:final_report:telegram:4 [vi] milestone final_report scope="26800" workbook=false`,
	}
	if !slices.Equal(got, want) || res.Queued != 3 || res.Workbooks != 1 {
		t.Errorf("queued %q (result %+v), want %q", got, res, want)
	}

	// Without an exporter the report goes alone.
	job, _ = newMilestones(c, newTestDB(t).outbox(), "", subs, t)
	job.Exporter = nil
	if res, err := job.Run(context.Background(), milestoneTick("2021-10-01")); err != nil || res.Queued != 2 || res.Workbooks != 0 {
		t.Errorf("without exporter: %+v, %v", res, err)
	}
}
