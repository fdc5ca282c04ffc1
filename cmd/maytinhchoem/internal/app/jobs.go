package app

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/thuduc/maytinhchoem/bot/zalo"
	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/chart"
	"github.com/thuduc/maytinhchoem/jobs"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	redisstore "github.com/thuduc/maytinhchoem/storage/redis"
)

// reportsDir is where the jobs keep the charts and workbooks they send (REPORTS_DIR): private to
// the bot, since a final report's workbook holds children's data. Bot processes that share a
// database must share this folder too (one host, or a shared volume): the process that sends a
// message may not be the one that wrote its file.
func (a *App) reportsDir() string {
	if a.deps.Config.ReportsDir != "" {
		return a.deps.Config.ReportsDir
	}
	return filepath.Join(os.TempDir(), "maytinhchoem-reports")
}

// retention erases personal data: a family's on request (it is the campaign.Eraser of /mydata
// and the administrator's erase command) and everyone's once the campaign's retention is over
// (the retention job), in the database, the dialogs, Zalo's numbered lists and the reports
// directory.
func (a *App) retention() *jobs.Retention {
	chats := map[string]jobs.ChatForgetter{}
	if a.zalo != nil {
		// The OA's ChannelState, under the prefix newZalo gives it.
		chats[zalo.Channel] = redisstore.NewChannelState(a.deps.Redis, a.deps.Config.RedisPrefix+"zalo:"+a.deps.Config.ZaloAppID+":")
	}
	return &jobs.Retention{
		Campaign: a.deps.Campaign, Store: postgres.NewPrivacyStore(a.deps.DB, a.deps.Campaign), Dialogs: a.dialogs,
		Chats: chats, Dir: a.reportsDir(), Now: a.deps.Now,
	}
}

// keepAdmin keeps a subscriber whose stored role is admin only while ADMINS (or
// ADMIN_TELEGRAM_IDS) names them on their channel.
func (a *App) keepAdmin(s campaign.Subscriber) bool {
	return s.Role != campaign.RoleAdmin || a.deps.Config.isAdmin(s.Channel, s.ExternalID)
}

// hourKey keys a run made several times a day by its local hour.
func hourKey(t time.Time) string { return t.Format("2006-01-02T15") }

// minuteKey keys a run made several times an hour by its local minute.
func minuteKey(t time.Time) string { return t.Format("2006-01-02T15:04") }

// withinTenMinutes catches up a missed ten-minute run until the next one.
func withinTenMinutes(scheduledFor, now time.Time) bool {
	return now.Sub(scheduledFor) < 10*time.Minute
}

// withinHour catches up a missed hourly run while its hour lasts.
func withinHour(scheduledFor, now time.Time) bool { return now.Sub(scheduledFor) < time.Hour }

// newScheduler builds the scheduler with every job of the campaign's schedule. Each job sends
// through the outbox, keyed so that whatever runs twice (two processes, a retry) queues once.
func (a *App) newScheduler() (*jobs.Scheduler, error) {
	c := a.deps.Campaign
	sched := c.Schedule
	dir := a.reportsDir()
	drawChart := func(w io.Writer, p campaign.Progress, days []campaign.DayCount, lang string) error {
		return chart.Render(w, c, p, chart.DaysOf(days), chart.Options{Lang: lang})
	}
	notify := a.outboxSender.Notify
	s := jobs.NewScheduler(jobs.SchedulerConfig{
		Location: c.Location, Runs: a.jobRuns, Now: a.deps.Now, Logger: a.deps.Logger, Poll: a.deps.SchedulerPoll,
	})
	summary := &jobs.DailySummary{
		Campaign: c, Progress: a.progress, Subscribers: a.subscriptions, Days: a.reminders.DeliveriesByDay,
		Messages: a.engine, Outbox: a.outbox, Notify: notify, Dir: dir, KeepAdmin: a.keepAdmin, Chart: drawChart,
	}
	milestones := &jobs.Milestones{
		Campaign: c, Progress: a.progress, Subscribers: a.subscriptions, Messages: a.engine, Outbox: a.outbox,
		Notify: notify, Exporter: a.exporter, Dir: dir, KeepAdmin: a.keepAdmin, Audit: postgres.NewAuditLog(a.deps.DB),
	}
	morning := &jobs.MorningCount{Reminders: a.reminders, Messages: a.engine, Outbox: a.outbox, Notify: notify, KeepAdmin: a.keepAdmin, Location: c.Location}
	forms := &jobs.FormReminders{
		Channels: a.channels(), Dialogs: a.dialogs, Messages: a.engine, After: sched.FormReminderAfter,
		Outbox: a.outbox, Notify: notify, Now: a.deps.Now,
	}
	pledges := &jobs.PledgeReminders{
		Reminders: a.reminders, After: sched.PledgeReminderAfter, Messages: a.engine, Outbox: a.outbox, Notify: notify, Now: a.deps.Now,
	}
	finalize := &jobs.FinalizeDeliveries{
		Cases: a.cases, Notices: a.engine.DeliveryFinalized, Now: a.deps.Now, After: a.deps.Config.ConfirmAfter, Notify: notify,
	}
	retention := a.retention()
	until := jobs.Until(sched.CatchUpUntil)
	for _, j := range []jobs.Job{
		{Name: "daily_summary", Spec: sched.Summary, Run: runOf(summary.Run), CatchUp: until},
		{Name: "milestones", Spec: sched.Milestones, Run: runOf(milestones.Run), CatchUp: until},
		{Name: "morning_count", Spec: sched.Morning, Run: runOf(morning.Run), CatchUp: until},
		{Name: "form_reminders", Spec: sched.Reminders, Run: runOf(forms.Run), Key: hourKey, CatchUp: withinHour},
		{Name: "pledge_reminders", Spec: sched.Reminders, Run: runOf(pledges.Run), Key: hourKey, CatchUp: withinHour},
		// Deliveries never confirmed by "Đã nhận" become final every ten minutes, night and day.
		{Name: "finalize_deliveries", Spec: "*/10 * * * *", Run: runOf(finalize.Run), Key: minuteKey, CatchUp: withinTenMinutes},
		// Personal data past the campaign's retention is anonymised at night; a run missed
		// because the bot was down is made later that day.
		{Name: "retention", Spec: sched.Retention, Run: runOf(retention.Run), CatchUp: jobs.Until("23:59")},
	} {
		if err := s.Add(j); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// runOf adapts a job type's Run, whatever its result, to jobs.Job.Run.
func runOf[R any](run func(context.Context, jobs.Tick) (R, error)) func(context.Context, jobs.Tick) (any, error) {
	return func(ctx context.Context, t jobs.Tick) (any, error) { return run(ctx, t) }
}
