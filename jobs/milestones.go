package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Milestones announces the schedule's events of the day to the subscribers: a milestone's date
// (the plan, the launch, the start of the hand-over), the last day of a period (the hand-over
// ends on 30/9), and the final report (1/10), which comes with the export workbook for those
// allowed to export.
//
// Each message is queued under a key naming the event and the chat
// ("milestone:handover:end:telegram:123", and ":workbook" for the workbook), which the outbox
// adds once, ever: an event is announced to a subscriber once however many times, and by however
// many processes, the day's run is made.
//
// The workbook holds children's personal data. The outbox row only names the file, which lives
// in Dir, and Dir must be private to the bot (EnsureDir makes it 0700, the files are 0600); a
// ward official's workbook holds their ward's rows only, and phone numbers are in full only for
// the roles that need them (campaign.SeesPhones). Each workbook made is audited as an export
// (data.export by MilestonesActor), as an official's /export is.
type Milestones struct {
	Campaign    *campaign.Campaign
	Progress    campaign.ProgressStore
	Subscribers campaign.SubscriptionStore
	Messages    Messages
	Outbox      campaign.Outbox
	// Notify wakes the outbox's sender; nil leaves the messages to its poll.
	Notify func()
	// Exporter writes the final report's workbooks; with Exporter nil, Dir "" or Audit nil the
	// final report goes without them.
	Exporter campaign.Exporter
	// Audit records each workbook made: personal data never leaves unaudited.
	Audit campaign.AuditLog
	// Dir is the reports directory the workbooks are kept in until sent (see EnsureDir), the
	// same for every process sending from the outbox.
	Dir string
	// KeepAdmin drops the subscribers it returns false for (see DailySummary.KeepAdmin).
	KeepAdmin func(campaign.Subscriber) bool
}

// MilestonesResult is what one run of Milestones did.
type MilestonesResult struct {
	Date string `json:"date"`
	// Events are the keys of the day's events ("handover:end"), none on most days.
	Events      []string `json:"events"`
	Late        bool     `json:"late,omitempty"`
	Subscribers int      `json:"subscribers"`
	// Queued counts the messages the outbox added: 0 when the day's events were queued before.
	Queued int `json:"queued"`
	// Workbooks counts the final report's workbooks ready to send, exported now or left by an
	// earlier run of the day: one per scope and phone visibility.
	Workbooks int `json:"workbooks"`
}

// MilestonesActor is the audit actor of the final report's exports.
const MilestonesActor = "job:milestones"

// workbookKey tells apart the final report's workbooks: a ward's or the city's, phones in full
// or masked, and the sheets the role may see (campaign.ScopeExport).
type workbookKey struct {
	scope  string
	phones bool
	sheets campaign.ExportSheetSet
}

// workbookKeyOf is the workbook the subscriber may get; ok is false when they may not export.
func workbookKeyOf(s campaign.Subscriber) (workbookKey, bool) {
	if !mayExport(s) {
		return workbookKey{}, false
	}
	f, err := campaign.ScopeExport(s.Staff, campaign.ExportFilter{})
	if err != nil || f.School != "" {
		// A school gets no summary, and a workbook is a ward's or the city's, never a school's.
		return workbookKey{}, false
	}
	return workbookKey{f.WardCode, f.ShowPhones, f.Sheets}, true
}

// Run queues the announcements of the events of t.ScheduledFor's local day, each to every
// subscriber with the figures of their scope at t.ScheduledFor, in their language. For the final
// report, the subscribers whose role may export their scope get the workbook after the text.
//
// A store failure ends the run with an error before anything is queued. A workbook that cannot
// be exported does not hold the report up: its subscribers get the text without the workbook,
// and the run fails once the rest is queued, so the log tells.
func (j *Milestones) Run(ctx context.Context, t Tick) (MilestonesResult, error) {
	day := j.Campaign.LocalDate(t.ScheduledFor)
	res := MilestonesResult{Date: day.Format(time.DateOnly), Events: []string{}, Late: t.Late}
	events := j.Campaign.MilestoneEvents(t.ScheduledFor)
	if len(events) == 0 {
		return res, nil
	}
	final := false
	for _, ev := range events {
		res.Events = append(res.Events, ev.Key())
		final = final || ev.FinalReport()
	}
	subs, err := subscribers(ctx, j.Subscribers, j.KeepAdmin)
	if err != nil {
		return res, err
	}
	res.Subscribers = len(subs)
	figures, err := progressByScope(ctx, j.Progress, t.ScheduledFor, subs)
	if err != nil {
		return res, err
	}

	var books map[workbookKey]string
	var bookErrs []error
	if final {
		books, bookErrs = j.workbooks(ctx, res.Date, subs)
		res.Workbooks = len(books)
	}
	bookName := func(scope string) string {
		if scope == "" {
			return "bao-cao-tong-ket-" + day.Format("20060102") + ".xlsx"
		}
		return "bao-cao-tong-ket-" + fileNamePart(scope) + "-" + day.Format("20060102") + ".xlsx"
	}

	q := newQueue(j.Outbox)
	for _, ev := range events {
		batch := "milestone:" + ev.Key()
		for _, s := range subs {
			scope := s.Scope()
			book := ""
			if k, ok := workbookKeyOf(s); ev.FinalReport() && ok {
				book = books[k]
			}
			key := "milestone:" + ev.Key() + ":" + s.Channel + ":" + s.ExternalID
			text := j.Messages.MilestoneText(language(s.Language), ev, figures[scope], book != "")
			err := q.add(ctx, campaign.OutboxMessage{Key: key, Batch: batch, Channel: s.Channel, ChatID: s.ExternalID, Text: text})
			if err == nil && book != "" {
				err = q.add(ctx, campaign.OutboxMessage{Key: key + ":workbook", Batch: batch, Channel: s.Channel,
					ChatID: s.ExternalID, FilePath: book, FileName: bookName(scope)})
			}
			if err != nil {
				res.Queued = q.added
				notify(j.Notify, q.added)
				return res, err
			}
		}
	}
	err = q.flush(ctx)
	res.Queued = q.added
	notify(j.Notify, q.added)
	if err != nil {
		return res, err
	}
	return res, errors.Join(bookErrs...)
}

// mayExport reports whether the subscriber's role may export their scope's data.
func mayExport(s campaign.Subscriber) bool {
	return campaign.Authorize(s.Staff, campaign.ActionExport, s.Scope()) == nil
}

// workbooks makes the final report's workbooks the subscribers may get, one per scope and phone
// visibility, and returns their paths; the errors are those of the workbooks it could not make.
func (j *Milestones) workbooks(ctx context.Context, date string, subs []campaign.Subscriber) (map[workbookKey]string, []error) {
	books := map[workbookKey]string{}
	if j.Exporter == nil || j.Dir == "" || j.Audit == nil {
		return books, nil
	}
	if err := EnsureDir(j.Dir); err != nil {
		return books, []error{fmt.Errorf("final report: %w", err)}
	}
	var errs []error
	var keys []workbookKey
	recipients := map[workbookKey][]string{}
	for _, s := range subs {
		k, ok := workbookKeyOf(s)
		if !ok {
			continue
		}
		if recipients[k] == nil {
			keys = append(keys, k)
		}
		recipients[k] = append(recipients[k], s.Channel+":"+s.ExternalID)
	}
	for _, k := range keys {
		path, err := j.workbook(ctx, date, k, recipients[k])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		books[k] = path
	}
	return books, errs
}

// workbook returns the path of k's workbook of the report dated date, exporting it into Dir
// unless an earlier run left it there: the name is fixed by the date, the scope and the phones
// ("final-report-2021-10-01-city-masked.xlsx"), so a second run reuses the file its queued
// messages name, and a stale workbook of another date is never taken for it. Two processes
// exporting at once each move a complete file into place.
//
// A workbook exported is audited as "data.export" by MilestonesActor about its file name, with
// its scope, phones, sheets, rows per sheet and recipients (staff, as "channel:id"); one that
// cannot be audited is removed, and its subscribers get the text alone.
func (j *Milestones) workbook(ctx context.Context, date string, k workbookKey, recipients []string) (string, error) {
	scope, phones := "city", "masked"
	if k.scope != "" {
		scope = "ward-" + fileNamePart(k.scope)
	}
	if k.phones {
		phones = "phones"
	}
	path := filepath.Join(j.Dir, fmt.Sprintf("final-report-%s-%s-%s-s%x.xlsx", date, scope, phones, uint8(k.sheets)))
	if fileReady(path) {
		return path, nil
	}
	f, err := j.Exporter.Export(ctx, campaign.ExportFilter{WardCode: k.scope, ShowPhones: k.phones, Sheets: k.sheets}, campaign.FormatXLSX)
	if err != nil {
		return "", fmt.Errorf("final report: export %s (%s): %w", scope, phones, err)
	}
	if err := moveFile(f.Path, path); err != nil {
		return "", fmt.Errorf("final report: %w", err)
	}
	rows := map[string]int{}
	for sheet, n := range f.Rows {
		rows[string(sheet)] = n
	}
	err = j.Audit.Audit(ctx, campaign.AuditEntry{Actor: MilestonesActor, Action: "data.export", Subject: filepath.Base(path),
		After: map[string]any{"report": "final_report", "date": date, "format": campaign.FormatXLSX, "ward": k.scope,
			"phones": k.phones, "sheets": k.sheets.String(), "rows": rows, "recipients": recipients}})
	if err != nil {
		_ = os.Remove(path)
		return "", fmt.Errorf("final report: audit %s (%s): %w", scope, phones, err)
	}
	return path, nil
}
