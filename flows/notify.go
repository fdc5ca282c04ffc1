package flows

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/thuduc/maytinhchoem/campaign"
)

func init() {
	registerFlow(flowSpec{
		name: "subscribe",
		commands: []flowCommand{
			{name: "subscribe", run: func(c *turn, _ string) error { return notifyTurn{c}.subscribeCommand() },
				staff: &staffLine{group: "staff.help.group.news", rank: 190, text: "staff.help.subscribe", may: maySubscribe}},
			{name: "unsubscribe", run: func(c *turn, _ string) error { return notifyTurn{c}.unsubscribeCommand() },
				staff: &staffLine{group: "staff.help.group.news", rank: 200, text: "staff.help.unsubscribe", may: maySubscribe}},
		},
	})
}

// Audit actions of the subscriptions.
const (
	auditSubscribe   = "subscription.create"
	auditUnsubscribe = "subscription.delete"
)

// captionMax is the most characters of a file's caption: a line or two under a chart. (A channel
// whose captions are shorter sends a longer one as a message of its own.)
const captionMax = 1000

// maySubscribe is the staff line's may of /subscribe and /unsubscribe: the subscriptions' store is
// configured and s may view the campaign's progress (the reports follow it).
var maySubscribe = staffMay(campaign.ActionViewProgress, func(c Config) bool { return c.Subscriptions != nil })

// notifyTurn is a turn of the subscriptions to reports (/subscribe); its methods are the flow's own
// (see flowTurn).
type notifyTurn struct{ *turn }

// subscriptionsOff says /subscribe and /unsubscribe are not available here (no store configured)
// and asks the current question again; it reports whether it did.
func (c notifyTurn) subscriptionsOff() bool {
	if c.e.cfg.Subscriptions != nil {
		return false
	}
	c.say(c.t("case.unavailable"))
	c.resume("")
	return true
}

// subscribeCommand is /subscribe: staff who may see the progress get the daily summary of their
// scope (the city, or their ward for ward roles) and the milestones.
func (c notifyTurn) subscribeCommand() error {
	if c.subscriptionsOff() {
		return nil
	}
	who, ok, err := c.authorizeOwn(campaign.ActionViewProgress)
	if !ok {
		return err
	}
	// The summaries are written in the language this chat is answered in: the contact keeps it.
	if c.e.cfg.Contacts != nil {
		err := c.e.cfg.Contacts.UpsertContact(c.ctx, campaign.Contact{
			Channel: c.sess.Channel, ExternalID: c.sess.ChatID, Name: c.in.UserName, Language: c.lang,
		})
		if err != nil {
			return fmt.Errorf("subscribe: keep the language: %w", err)
		}
	}
	created, err := c.e.cfg.Subscriptions.Subscribe(c.ctx, who)
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	scope := c.scopeName(campaign.Subscriber{Staff: who}.Scope())
	if !created {
		c.say(c.t("notify.subscribe.already", "Scope", scope))
		c.resume("")
		return nil
	}
	if err := c.auditView(auditSubscribe, c.sess.Channel+":"+c.sess.ChatID, map[string]any{"role": who.Role, "ward": who.WardCode}); err != nil {
		return fmt.Errorf("audit subscription: %w", err)
	}
	if at, ok := c.e.cfg.Campaign.Schedule.SummaryAt(); ok {
		c.say(c.t("notify.subscribe.done_at", "Scope", scope, "At", at))
	} else {
		c.say(c.t("notify.subscribe.done", "Scope", scope))
	}
	c.resume("")
	return nil
}

// unsubscribeCommand is /unsubscribe. It needs no role: anyone may stop what they get, also
// staff whose role was revoked since.
func (c notifyTurn) unsubscribeCommand() error {
	if c.subscriptionsOff() {
		return nil
	}
	removed, err := c.e.cfg.Subscriptions.Unsubscribe(c.ctx, c.sess.Channel, c.sess.ChatID)
	if err != nil {
		return fmt.Errorf("unsubscribe: %w", err)
	}
	if !removed {
		c.say(c.t("notify.unsubscribe.none"))
		c.resume("")
		return nil
	}
	if err := c.auditView(auditUnsubscribe, c.sess.Channel+":"+c.sess.ChatID, nil); err != nil {
		return fmt.Errorf("audit subscription: %w", err)
	}
	c.say(c.t("notify.unsubscribe.done"))
	c.resume("")
	return nil
}

// scopeName is the city's name for "", else the ward's.
func (c notifyTurn) scopeName(wardCode string) string {
	if wardCode == "" {
		return c.e.cfg.Campaign.City.In(c.lang)
	}
	return c.wardName(wardCode)
}

// talk is a turn that only writes messages in lang (for the jobs: no chat, no input).
func (e *Engine) talk(lang string) *turn {
	return &turn{e: e, lang: deliverLang(lang)}
}

// ChartCaption is the caption of the daily summary's chart: the scope and the day, and what the
// chart shows; at most 1,024 characters.
func (e *Engine) ChartCaption(lang string, p campaign.Progress) string {
	c := e.talk(lang)
	s := c.t("notify.chart_caption", "Scope", notifyTurn{c}.scopeName(p.WardCode), "Date", p.Date.Format("02/01/2006"))
	return cutRunes(s, captionMax)
}

// cutRunes shortens s to at most n characters, ending it with "…".
func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	runes := 0
	for i := range s {
		if runes == n-1 {
			return s[:i] + "…"
		}
		runes++
	}
	return s
}

// MilestoneText announces ev to subscribers with the figures of p. The final report is the whole
// summary under the milestone's name, saying the workbook follows when withWorkbook is set; any
// other milestone is its name, a line saying what happens today and a few key figures.
func (e *Engine) MilestoneText(lang string, ev campaign.MilestoneEvent, p campaign.Progress, withWorkbook bool) string {
	c := e.talk(lang)
	name := ev.Name.In(c.lang)
	if name == "" {
		name = ev.Key()
	}
	if ev.FinalReport() {
		parts := []string{c.t("notify.final.title", "Name", name, "Campaign", e.cfg.Campaign.Name.In(c.lang)), summaryTurn{c}.summaryText(p)}
		if withWorkbook {
			parts = append(parts, c.t("notify.final.workbook"))
		}
		return paragraphs(parts...)
	}
	lines := []string{c.t("notify.milestone.title", "Name", name, "Scope", notifyTurn{c}.scopeName(p.WardCode))}
	today := ev.Date
	if ev.Ends {
		today = ev.End
	}
	date, start, end := today.Format("02/01"), ev.Date.Format("02/01"), ev.End.Format("02/01")
	switch {
	case ev.Ends:
		lines = append(lines, c.t("notify.milestone.period_end", "Date", date, "Start", start))
	case ev.Milestone.Key == "plan":
		lines = append(lines, c.t("notify.milestone.plan", "Date", date))
	case ev.Milestone.Key == "launch":
		lines = append(lines, c.t("notify.milestone.launch", "Date", date))
	case !ev.End.IsZero() && !ev.End.Equal(ev.Date):
		lines = append(lines, c.t("notify.milestone.period_start", "Date", date, "End", end))
	default:
		lines = append(lines, c.t("notify.milestone.today", "Date", date))
	}
	lines = append(lines, "", c.t("notify.milestone.figures"))
	r := p.Registrations
	if p.Target > 0 {
		lines = append(lines, c.t("summary.registrations_target", "Total", c.count(r.Total), "Target", c.count(p.Target),
			"Bar", campaign.ProgressBar(r.Total, p.Target, 10)))
	} else {
		lines = append(lines, c.t("summary.registrations", "Total", c.count(r.Total)))
	}
	lines = append(lines, c.t("notify.milestone.verified", "Verified", c.count(r.Verified)))
	if p.Planned > 0 {
		lines = append(lines, c.t("summary.deliveries_plan", "Delivered", c.count(p.Delivered), "Planned", c.count(p.Planned),
			"Bar", campaign.ProgressBar(p.Delivered, p.Planned, 10)))
	} else {
		lines = append(lines, c.t("summary.deliveries", "Delivered", c.count(p.Delivered)))
	}
	return strings.Join(lines, "\n")
}

// remindedForms are the forms whose parents or donors are reminded when left unfinished; staff
// forms (intake, money) and the single questions of the case work are not.
var remindedForms = []string{FlowRegistration, FlowPledge}

// FormReminder reads a chat's stored dialog (json.Marshal of its State, as the bot saves it) and,
// when a registration or pledge form was left at least after ago and is not expired
// (Config.IdleExpiry), returns a reminder in the chat's language with the buttons to go on or
// start again. Key is when the form started, in Unix seconds: the job queues one reminder per
// key, so a form is reminded once however often this says it is due.
func (e *Engine) FormReminder(dialog []byte, now time.Time, after time.Duration) (campaign.Notice, bool) {
	var st State
	if len(dialog) == 0 || json.Unmarshal(dialog, &st) != nil {
		return campaign.Notice{}, false
	}
	known := false
	for _, name := range remindedForms {
		known = known || st.Flow == name
	}
	f := e.formNamed(st.Flow)
	if !known || f == nil || st.UpdatedAt.IsZero() {
		return campaign.Notice{}, false
	}
	idle := now.Sub(st.UpdatedAt)
	if idle < after || idle > e.cfg.IdleExpiry {
		return campaign.Notice{}, false
	}
	started := st.StartedAt
	if started.IsZero() {
		started = st.UpdatedAt
	}
	c := e.talk(st.Lang)
	where := c.t(f.reviewLabel)
	if fld := f.field(st.Step); fld != nil {
		where = c.t(fld.label)
	}
	id := "notify.form_reminder.registration"
	if st.Flow == FlowPledge {
		id = "notify.form_reminder.pledge"
	}
	return campaign.Notice{
		Key:  strconv.FormatInt(started.Unix(), 10),
		Text: c.t(id, "Step", where),
		Buttons: [][]campaign.OutboxButton{{
			{Text: c.t("common.btn_resume"), Data: "g:resume"},
			{Text: c.t("common.btn_restart"), Data: "g:restart"},
		}},
	}, true
}

// PledgeReminder asks a donor whose pledged devices have not arrived whether they can bring them,
// with a button to see their pledges. Key is the pledge's code.
func (e *Engine) PledgeReminder(p campaign.PledgeAwaiting) campaign.Notice {
	c := e.talk(p.Language)
	loc := e.cfg.Campaign.Location
	if loc == nil {
		loc = time.UTC
	}
	return campaign.Notice{
		Key: p.Code,
		Text: c.t("notify.pledge_reminder", "Code", p.Code, "Count", p.Devices, "Date", p.CreatedAt.In(loc).Format("02/01"),
			"Organizer", e.cfg.Campaign.Organizer.In(c.lang)),
		Buttons: [][]campaign.OutboxButton{{{Text: c.t("pledge.btn_list"), Data: "g:pledges"}}},
	}
}

// MorningCount tells a staff member how many registrations wait for a verdict in their scope
// (wardCode "" for the city) and how to start.
func (e *Engine) MorningCount(lang string, pending int, wardCode string) campaign.Notice {
	c := e.talk(lang)
	scope := notifyTurn{c}.scopeName(wardCode)
	if pending <= 0 {
		return campaign.Notice{Text: c.t("notify.morning_none", "Scope", scope)}
	}
	return campaign.Notice{Text: c.t("notify.morning", "Count", pending, "N", c.count(pending), "Scope", scope)}
}

// BroadcastDone is the report to the official who sent a broadcast once nothing is left to send.
func (e *Engine) BroadcastDone(lang string, p campaign.BroadcastProgress) string {
	c := e.talk(lang)
	return c.t("broadcast.done", "Code", p.Code, "Sent", c.count(p.Sent), "Total", c.count(p.Recipients),
		"Bar", campaign.ProgressBar(p.Sent, p.Recipients, 10), "Failed", c.count(p.Failed), "Stopped", c.count(p.Stopped), "Unreachable", c.count(p.Unreachable))
}
