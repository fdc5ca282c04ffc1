package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// DailySummary sends each subscriber the day's progress summary: the text /summary shows, then
// the chart with its caption, both with the figures of the subscriber's scope (the city, or
// their ward) in their language.
//
// Every message is queued in the outbox under a key naming the date and the chat
// ("summary:2021-09-20:telegram:123:text" and ":chart"), and the outbox adds a key once, ever. So
// however often the day's summary is run (a retry, a manual resend, two processes that both
// thought they had the run, a restart midway), each subscriber is queued each message once; a
// run that failed halfway is finished by the next one without repeating what went. The
// Scheduler's claim already makes one run per day; the keys make that a guarantee about
// messages rather than about runs.
type DailySummary struct {
	Campaign    *campaign.Campaign
	Progress    campaign.ProgressStore
	Subscribers campaign.SubscriptionStore
	// Days counts the deliveries by day for the chart (ReminderStore.DeliveriesByDay); nil draws
	// the chart without them.
	Days     func(ctx context.Context, wardCode string, until time.Time) ([]campaign.DayCount, error)
	Messages Messages
	Outbox   campaign.Outbox
	// Notify wakes the outbox's sender (OutboxSender.Notify); nil leaves the messages to its poll.
	Notify func()
	// Dir is the reports directory the charts are written to (see EnsureDir): it must be the
	// same for every process that sends from the outbox.
	Dir string
	// KeepAdmin is asked about every subscriber and drops those it returns false for: the wiring
	// drops stored admins no longer named in the configuration. nil keeps everyone.
	KeepAdmin func(campaign.Subscriber) bool
	// Chart draws the summary's chart as PNG from the figures and the deliveries per day (the
	// wiring passes chart.Render); nil sends the text alone.
	Chart func(w io.Writer, p campaign.Progress, days []campaign.DayCount, lang string) error
	// Keep is how long the reports directory keeps a file; KeepReports when 0.
	Keep time.Duration
}

// SummaryResult is what one run of DailySummary did.
type SummaryResult struct {
	Date string `json:"date"`
	// Skipped says why nothing was sent (outside the campaign's window).
	Skipped     string `json:"skipped,omitempty"`
	Late        bool   `json:"late,omitempty"`
	Subscribers int    `json:"subscribers"`
	Scopes      int    `json:"scopes"`
	// Charts counts the charts drawn; a chart left by an earlier run of the day is reused.
	Charts int `json:"charts"`
	// Queued counts the messages the outbox added: 0 when the day's summary was queued before.
	Queued int `json:"queued"`
	// Cleaned counts the old files removed from the reports directory; CleanError says why
	// cleaning failed, which does not stop the summary.
	Cleaned    int    `json:"cleaned,omitempty"`
	CleanError string `json:"clean_error,omitempty"`
}

// Run queues the summary of t.ScheduledFor's local day. A late (catch-up) run sends the same
// messages, with the figures of the moment it runs. Outside the campaign's window it sends
// nothing. It starts by removing the reports directory's files older than Keep, so the
// directory never holds more than about a week of charts and workbooks.
//
// A failure to list the subscribers or count the progress ends the run with an error before
// anything is queued. A chart that cannot be drawn (or whose deliveries by day cannot be
// counted) costs only the chart messages of its scope and language: the texts still go, and the
// run fails once they are queued, so the log tells.
func (j *DailySummary) Run(ctx context.Context, t Tick) (SummaryResult, error) {
	day := j.Campaign.LocalDate(t.ScheduledFor)
	date := day.Format(time.DateOnly)
	res := SummaryResult{Date: date, Late: t.Late}
	if j.Chart != nil {
		if err := EnsureDir(j.Dir); err != nil {
			return res, err
		}
	}
	if j.Dir != "" {
		// Also on days outside the window, so the directory empties once the campaign is over.
		keep := j.Keep
		if keep <= 0 {
			keep = KeepReports
		}
		n, err := CleanOld(j.Dir, keep)
		res.Cleaned = n
		if err != nil {
			res.CleanError = err.Error()
		}
	}
	if _, in := j.Campaign.WindowDay(t.ScheduledFor); !in {
		res.Skipped = "outside the campaign window"
		return res, nil
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
	res.Scopes = len(figures)

	// One text, caption and chart per scope and language, shared by the subscribers who read it.
	type edition struct {
		text, caption string
		chartPath     string // "" when there is no chart
	}
	editions := map[[2]string]*edition{}
	days := map[string][]campaign.DayCount{} // by scope, for the charts in each language
	var chartErrs []error
	fileName := "tien-do-" + day.Format("20060102") + ".png"
	batch := "summary:" + date
	q := newQueue(j.Outbox)
	for _, s := range subs {
		scope, lang := s.Scope(), language(s.Language)
		ed := editions[[2]string{scope, lang}]
		if ed == nil {
			p := figures[scope]
			ed = &edition{text: j.Messages.SummaryText(lang, p), caption: j.Messages.ChartCaption(lang, p)}
			if j.Chart != nil {
				path, drawn, err := j.chartFile(ctx, date, scope, lang, p, t.ScheduledFor, days)
				if err != nil {
					chartErrs = append(chartErrs, err)
				} else {
					ed.chartPath = path
					if drawn {
						res.Charts++
					}
				}
			}
			editions[[2]string{scope, lang}] = ed
		}
		key := "summary:" + date + ":" + s.Channel + ":" + s.ExternalID
		err := q.add(ctx, campaign.OutboxMessage{Key: key + ":text", Batch: batch,
			Channel: s.Channel, ChatID: s.ExternalID, Text: ed.text})
		if err == nil && ed.chartPath != "" {
			err = q.add(ctx, campaign.OutboxMessage{Key: key + ":chart", Batch: batch,
				Channel: s.Channel, ChatID: s.ExternalID, Text: ed.caption, FilePath: ed.chartPath, FileName: fileName})
		}
		if err != nil {
			res.Queued = q.added
			notify(j.Notify, q.added)
			return res, err
		}
	}
	err = q.flush(ctx)
	res.Queued = q.added
	notify(j.Notify, q.added)
	if err != nil {
		return res, err
	}
	return res, errors.Join(chartErrs...)
}

// chartFile returns the path of the scope's chart in lang for date, drawing it unless a run of
// the same day left it already; drawn says it was drawn now. The name is fixed by date, scope
// and language ("summary-2021-09-20-ward-26800-vi.png"), so a second run reuses the file its
// queued messages name, and two processes drawing at once each rename a complete file into
// place. days caches the deliveries by day of each scope, counted up to until.
func (j *DailySummary) chartFile(ctx context.Context, date, scope, lang string, p campaign.Progress, until time.Time,
	days map[string][]campaign.DayCount) (path string, drawn bool, err error) {
	name := "city"
	if scope != "" {
		name = "ward-" + fileNamePart(scope)
	}
	path = filepath.Join(j.Dir, fmt.Sprintf("summary-%s-%s-%s.png", date, name, lang))
	if fileReady(path) {
		return path, false, nil
	}
	scopeDays, ok := days[scope]
	if !ok && j.Days != nil {
		var err error
		if scopeDays, err = j.Days(ctx, scope, until); err != nil {
			return "", false, fmt.Errorf("daily summary: deliveries by day of %q: %w", scope, err)
		}
		days[scope] = scopeDays
	}
	if err := WriteFileAtomic(path, func(w io.Writer) error { return j.Chart(w, p, scopeDays, lang) }); err != nil {
		return "", false, fmt.Errorf("daily summary: chart of %q in %s: %w", scope, lang, err)
	}
	return path, true, nil
}

// subscribers lists the subscribers keep keeps (all when keep is nil), leaving out ward roles
// without a ward, whose scope would wrongly read as the whole city.
func subscribers(ctx context.Context, store campaign.SubscriptionStore, keep func(campaign.Subscriber) bool) ([]campaign.Subscriber, error) {
	all, err := store.Subscribers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list subscribers: %w", err)
	}
	out := make([]campaign.Subscriber, 0, len(all))
	for _, s := range all {
		if s.Role.NeedsWard() && s.WardCode == "" {
			continue
		}
		if keep != nil && !keep(s) {
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

// progressByScope counts the figures at at once for each scope the subscribers have.
func progressByScope(ctx context.Context, store campaign.ProgressStore, at time.Time, subs []campaign.Subscriber) (map[string]campaign.Progress, error) {
	var scopes []string
	for _, s := range subs {
		if !slices.Contains(scopes, s.Scope()) {
			scopes = append(scopes, s.Scope())
		}
	}
	out := make(map[string]campaign.Progress, len(scopes))
	for _, scope := range scopes {
		p, err := store.Progress(ctx, at, scope)
		if err != nil {
			return nil, fmt.Errorf("progress of %q: %w", scope, err)
		}
		out[scope] = p
	}
	return out, nil
}

// language reads a contact's language as Messages does: "en", or Vietnamese.
func language(lang string) string {
	if lang == "en" {
		return "en"
	}
	return "vi"
}

// notify wakes the sender when something was added.
func notify(f func(), added int) {
	if f != nil && added > 0 {
		f()
	}
}

// enqueueBatch is how many messages one Enqueue takes: one statement of a few hundred rows,
// short enough to hold no lock for long, long enough that 10,000 reminders take 20 round trips.
const enqueueBatch = 500

// queue gathers a run's messages and hands them to the outbox enqueueBatch at a time, in the
// order they were added: the outbox sends a chat's messages in the order queued, so a text
// queued before its chart arrives before it.
type queue struct {
	outbox campaign.Outbox
	msgs   []campaign.OutboxMessage
	added  int
}

func newQueue(o campaign.Outbox) *queue { return &queue{outbox: o} }

func (q *queue) add(ctx context.Context, m campaign.OutboxMessage) error {
	q.msgs = append(q.msgs, m)
	if len(q.msgs) >= enqueueBatch {
		return q.flush(ctx)
	}
	return nil
}

func (q *queue) flush(ctx context.Context) error {
	if len(q.msgs) == 0 {
		return nil
	}
	n, err := q.outbox.Enqueue(ctx, q.msgs)
	if err != nil {
		return fmt.Errorf("enqueue %d messages: %w", len(q.msgs), err)
	}
	q.added += n
	q.msgs = q.msgs[:0]
	return nil
}
