package campaign

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule says when the campaign's jobs run, read from the campaign file's "schedule" (every
// field optional). Specs are five-field cron specs read in the campaign's time zone.
type Schedule struct {
	// Summary is when the daily summary goes to subscribers, on each day of the window
	// ("0 17 * * *").
	Summary string
	// Milestones is when a milestone's message goes out on its day, the final report included
	// ("0 8 * * *").
	Milestones string
	// Morning is when staff get the count of verifications waiting in their scope ("30 7 * * *").
	Morning string
	// Reminders is when parents' unfinished forms and donors' undelivered pledges are looked at
	// ("0 9-20 * * *": hourly in the day; nobody is reminded at night).
	Reminders string
	// CatchUpUntil is the local time of day ("21:00") until which a summary, milestone or
	// morning count missed because the bot was down is still sent, marked late, on the same day.
	CatchUpUntil string
	// FormReminderAfter is how long an unfinished form waits before its parent is reminded (24h).
	FormReminderAfter time.Duration
	// PledgeReminderAfter is how long after a pledge its donor is reminded when none of its
	// devices were received (7 days).
	PledgeReminderAfter time.Duration
	// Retention is when the job that anonymises personal data past the campaign's retention
	// looks for any ("30 3 * * *": daily, at night).
	Retention string
}

// DefaultSchedule is the schedule of a campaign file without "schedule".
var DefaultSchedule = Schedule{
	Summary:             "0 17 * * *",
	Milestones:          "0 8 * * *",
	Morning:             "30 7 * * *",
	Reminders:           "0 9-20 * * *",
	CatchUpUntil:        "21:00",
	FormReminderAfter:   24 * time.Hour,
	PledgeReminderAfter: 7 * 24 * time.Hour,
	Retention:           "30 3 * * *",
}

// SummaryAt reads the local time of day of a daily summary spec "M H * * *" as "17:00"; ok is
// false for any other spec (several hours, some weekdays), which has no single time to name.
func (s Schedule) SummaryAt() (string, bool) {
	f := strings.Fields(s.Summary)
	if len(f) != 5 || f[2] != "*" || f[3] != "*" || f[4] != "*" {
		return "", false
	}
	m, errM := strconv.Atoi(f[0])
	h, errH := strconv.Atoi(f[1])
	if errM != nil || errH != nil || m < 0 || m > 59 || h < 0 || h > 23 {
		return "", false
	}
	return fmt.Sprintf("%02d:%02d", h, m), true
}

// fileSchedule is "schedule" in a campaign file. The summary may be given as an hour ("17:00")
// instead of a spec; reminders' delays are in hours and days.
type fileSchedule struct {
	SummaryAt          string `json:"summary_at"`
	Summary            string `json:"summary"`
	Milestones         string `json:"milestones"`
	Morning            string `json:"morning"`
	Reminders          string `json:"reminders"`
	CatchUpUntil       string `json:"catch_up_until"`
	FormReminderHours  int    `json:"form_reminder_hours"`
	PledgeReminderDays int    `json:"pledge_reminder_days"`
	Retention          string `json:"retention"`
}

// parseSchedule fills the defaults in. The cron specs themselves are checked where they are
// scheduled (jobs.Scheduler.Add), which names the job; here only their shape (five fields).
func parseSchedule(f *fileSchedule) (Schedule, error) {
	s := DefaultSchedule
	if f == nil {
		return s, nil
	}
	if f.SummaryAt != "" && f.Summary != "" {
		return s, fmt.Errorf("give summary_at or summary, not both")
	}
	if f.SummaryAt != "" {
		t, err := time.Parse("15:04", f.SummaryAt)
		if err != nil {
			return s, fmt.Errorf("summary_at: want HH:MM, got %q", f.SummaryAt)
		}
		s.Summary = fmt.Sprintf("%d %d * * *", t.Minute(), t.Hour())
	}
	for _, spec := range []struct {
		name string
		in   string
		out  *string
	}{{"summary", f.Summary, &s.Summary}, {"milestones", f.Milestones, &s.Milestones}, {"morning", f.Morning, &s.Morning},
		{"reminders", f.Reminders, &s.Reminders}, {"retention", f.Retention, &s.Retention}} {
		if spec.in == "" {
			continue
		}
		if len(strings.Fields(spec.in)) != 5 {
			return s, fmt.Errorf("%s: want a five-field cron spec (minute hour day month weekday), got %q", spec.name, spec.in)
		}
		*spec.out = spec.in
	}
	if f.CatchUpUntil != "" {
		if _, err := time.Parse("15:04", f.CatchUpUntil); err != nil {
			return s, fmt.Errorf("catch_up_until: want HH:MM, got %q", f.CatchUpUntil)
		}
		s.CatchUpUntil = f.CatchUpUntil
	}
	if f.FormReminderHours < 0 || f.PledgeReminderDays < 0 {
		return s, fmt.Errorf("form_reminder_hours and pledge_reminder_days must not be negative")
	}
	if f.FormReminderHours > 0 {
		s.FormReminderAfter = time.Duration(f.FormReminderHours) * time.Hour
	}
	if f.PledgeReminderDays > 0 {
		s.PledgeReminderAfter = time.Duration(f.PledgeReminderDays) * 24 * time.Hour
	}
	return s, nil
}

// MilestoneEvent is a day the schedule announces: a milestone's date, or the last day of a
// period (the hand-over ends on 30/9).
type MilestoneEvent struct {
	Milestone
	// Ends is set for the last day of a period.
	Ends bool
}

// MilestoneFinalReport is the key of the milestone whose message is the final report (tổng
// kết): the whole campaign's figures with the export workbook attached.
const MilestoneFinalReport = "final_report"

// Key names the event, unique within the campaign: the milestone's key, with ":end" for the
// end of a period.
func (e MilestoneEvent) Key() string {
	if e.Ends {
		return e.Milestone.Key + ":end"
	}
	return e.Milestone.Key
}

// FinalReport reports whether the event is the final report.
func (e MilestoneEvent) FinalReport() bool {
	return !e.Ends && e.Milestone.Key == MilestoneFinalReport
}

// MilestoneEvents returns the events that fall on t's local day, in the file's order: milestones
// dated that day and periods ending that day.
func (c *Campaign) MilestoneEvents(t time.Time) []MilestoneEvent {
	day := c.LocalDate(t)
	var out []MilestoneEvent
	for _, m := range c.Milestones {
		if daysBetween(m.Date, day) == 0 {
			out = append(out, MilestoneEvent{Milestone: m})
		}
		if !m.End.IsZero() && daysBetween(m.End, day) == 0 && daysBetween(m.Date, m.End) != 0 {
			out = append(out, MilestoneEvent{Milestone: m, Ends: true})
		}
	}
	return out
}

// Subscriber is a staff member who asked for the daily summary (/subscribe), with what they get:
// the city's figures for city-wide roles, their ward's for ward roles.
type Subscriber struct {
	Staff
	// Language is the contact's language ("vi" or "en"; "" means Vietnamese).
	Language string
	Since    time.Time
}

// Scope is the ward whose figures the subscriber gets, "" for the city.
func (s Subscriber) Scope() string {
	if s.Role.NeedsWard() {
		return s.WardCode
	}
	return ""
}

// SubscriptionStore keeps who gets the daily summary and the milestones.
type SubscriptionStore interface {
	// Subscribe subscribes a staff member; created is false when they already were. The scope
	// follows the role at sending time, so a revoked member gets nothing.
	Subscribe(ctx context.Context, s Staff) (created bool, err error)
	// Unsubscribe ends a subscription; removed is false when there was none.
	Unsubscribe(ctx context.Context, channel, externalID string) (removed bool, err error)
	// Subscribed reports whether the account is subscribed.
	Subscribed(ctx context.Context, channel, externalID string) (bool, error)
	// Subscribers lists the subscribers who are still active staff and have not blocked the bot,
	// ordered by channel and id. Administrators are configured, not stored as staff: their rows
	// come back as stored (Role admin, no ward), for the caller to check against its configuration.
	Subscribers(ctx context.Context) ([]Subscriber, error)
}

// AudienceKind is who a broadcast goes to.
type AudienceKind string

// Audiences of a broadcast.
const (
	AudienceParents AudienceKind = "parents" // every chat that registered a child
	AudienceDonors  AudienceKind = "donors"  // every chat that made a pledge
	AudienceStaff   AudienceKind = "staff"   // every active staff member
	// AudienceWard is everyone of one ward: parents who registered a child of the ward, and the
	// ward's staff.
	AudienceWard AudienceKind = "ward"
)

// AudienceKinds lists the audiences in the order they are offered.
var AudienceKinds = []AudienceKind{AudienceParents, AudienceDonors, AudienceStaff, AudienceWard}

// Audience is a broadcast's recipients; WardCode is set for AudienceWard only.
type Audience struct {
	Kind     AudienceKind
	WardCode string
}

// Recipient is a chat a message goes to, with the language to write in.
type Recipient struct {
	Channel  string
	ChatID   string
	Language string
}

// Broadcast is an announcement to an audience, sent through the outbox.
type Broadcast struct {
	ID int64
	// Code is how staff name it, "BC-000012": the prefix is BroadcastPrefix.
	Code     string
	Audience Audience
	// Texts is the message by language ("vi", "en"): the official's text under a header in the
	// recipient's language. A recipient whose language is missing gets "vi". Each is at most
	// 4,096 characters, what one Telegram message holds.
	Texts map[string]string
	// By is the official who sent it ("telegram:123"), and where to report progress.
	ByChannel, ByChatID string
	// Recipients is how many messages were queued.
	Recipients int
	CreatedAt  time.Time
}

// BroadcastPrefix starts a broadcast's code.
const BroadcastPrefix = "BC"

// Batch is the outbox batch of the broadcast's messages.
func (b Broadcast) Batch() string { return "broadcast:" + b.Code }

// BroadcastProgress is where a broadcast's messages stand.
type BroadcastProgress struct {
	Broadcast
	Queued, Sent, Failed, Stopped int
	// Unreachable counts the messages the channel would not carry because the person was out of
	// its window (Zalo's 7 days without writing); they are final, not counted in Failed.
	Unreachable int
}

// Done reports whether no message is left to send.
func (p BroadcastProgress) Done() bool { return p.Queued == 0 }

// BroadcastStore records broadcasts and queues their messages.
type BroadcastStore interface {
	// CountAudience counts the recipients a broadcast to a would have now, for the preview.
	CountAudience(ctx context.Context, a Audience) (int, error)
	// CreateBroadcast records b and, in the same transaction, queues one outbox message per
	// recipient of b.Audience (who have not blocked the bot), keyed by the broadcast and chat, in
	// batch b.Batch(); it fills ID, Code, Recipients and CreatedAt. A broadcast with idemKey that
	// exists is returned instead, created false, and nothing is queued again. The creation is
	// audited with the official as actor.
	CreateBroadcast(ctx context.Context, b *Broadcast, idemKey string) (created bool, err error)
	// BroadcastProgress returns a broadcast and its outbox counts; ENOTFOUND for an unknown code.
	BroadcastProgress(ctx context.Context, code string) (BroadcastProgress, error)
}

// PledgeAwaiting is a pledge of devices none of which was received long after it was made.
type PledgeAwaiting struct {
	Code      string
	Channel   string
	ChatID    string
	Language  string
	Devices   int // devices pledged
	CreatedAt time.Time
}

// ReminderStore finds who needs a reminder.
type ReminderStore interface {
	// PledgesAwaiting lists the pledges made before before that pledged devices and had none
	// received, and are not cancelled, with their donor's chat; donors who blocked the bot are
	// left out. A pledge stays listed until a device arrives: the caller keys its reminder.
	PledgesAwaiting(ctx context.Context, before time.Time) ([]PledgeAwaiting, error)
	// PendingVerifications counts the registrations waiting for a verdict by ward code
	// (submitted, not waiting for a parent's answer).
	PendingVerifications(ctx context.Context) (map[string]int, error)
	// DeliveriesByDay counts the devices and items handed over by campaign-local day, for the city
	// (wardCode "") or one ward, up to and including until's local day.
	DeliveriesByDay(ctx context.Context, wardCode string, until time.Time) ([]DayCount, error)
	// ActiveStaff lists the active staff who have not blocked the bot, with their language (Since
	// is zero), for the morning count.
	ActiveStaff(ctx context.Context) ([]Subscriber, error)
}

// DayCount is a count on one local day (at local midnight).
type DayCount struct {
	Date  time.Time
	Count int
}

// Notice is a message a job sends on its own, built by the flows in the recipient's language.
type Notice struct {
	// Key tells this notice from others of its kind for one person, so that it is queued once:
	// for a form reminder, the form's start time.
	Key     string
	Text    string
	Buttons [][]OutboxButton
}
