package flows

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/thuduc/maytinhchoem/campaign"
)

func init() {
	registerFlow(flowSpec{
		name: "summary",
		commands: []flowCommand{{
			name: "summary", run: func(c *turn, _ string) error { return summaryTurn{c}.summaryCommand() },
			staff: &staffLine{group: "staff.help.group.news", rank: 130, text: "staff.help.summary",
				may: staffMay(campaign.ActionViewProgress, func(c Config) bool { return c.Progress != nil })},
		}},
	})
}

// summaryWards is how many wards the city's summary lists, widest gap first; a ward's summary
// lists its own line only.
const summaryWards = 10

// summarySchoolsShown is how many schools the summary names, most registrations first; a school's
// name is cut to summarySchoolName characters (names are typed by families and lists), so the
// message stays short on a phone.
const (
	summarySchoolsShown = 5
	summarySchoolName   = 60
)

// SummaryText is the daily progress summary of p in lang, as /summary shows it and the daily
// job sends it: the day of the window, registrations against the target (by status and by
// source), pledges by kind, the device pipeline, deliveries against the plan, the wards with the
// widest gaps, the schools with the most registrations, and the milestones. It stays within
// messageMax.
func (e *Engine) SummaryText(lang string, p campaign.Progress) string {
	c := &turn{e: e, lang: lang}
	return summaryTurn{c}.summaryText(p)
}

// summaryTurn is a turn of /summary; its methods are the flow's own (see flowTurn).
type summaryTurn struct{ *turn }

func (c summaryTurn) summaryText(p campaign.Progress) string {
	camp := c.e.cfg.Campaign
	scope := camp.City.In(c.lang)
	if p.WardCode != "" {
		scope = c.wardName(p.WardCode)
	}
	date := p.Date.Format("02/01/2006")
	var day string
	switch {
	case p.InWindow:
		day = c.t("summary.day", "Date", date, "Day", p.Day, "Days", camp.WindowDays())
	case p.Day < 1:
		day = c.t("summary.before", "Date", date, "Count", 1-p.Day)
	default:
		day = c.t("summary.after", "Date", date)
	}
	r := p.Registrations
	lines := []string{
		c.t("summary.title", "Campaign", camp.Name.In(c.lang), "Scope", scope),
		day,
		"",
	}
	if p.Target > 0 {
		lines = append(lines, c.t("summary.registrations_target", "Total", c.count(r.Total), "Target", c.count(p.Target),
			"Bar", campaign.ProgressBar(r.Total, p.Target, 10)))
	} else {
		lines = append(lines, c.t("summary.registrations", "Total", c.count(r.Total)))
	}
	detail := c.t("summary.registrations_detail", "New", c.count(r.NewToday), "Verified", c.count(r.Verified),
		"Rejected", c.count(r.Rejected), "Pending", c.count(r.Pending))
	if r.Withdrawn > 0 { // so the figures add up to the total; most days there is none to say
		detail += c.t("summary.registrations_withdrawn", "Withdrawn", c.count(r.Withdrawn))
	}
	lines = append(lines, detail)
	if r.Total > 0 {
		lines = append(lines, c.t("summary.sources", "Chat", c.count(r.BySource.Chat), "List", c.count(r.BySource.List),
			"Assisted", c.count(r.BySource.Assisted)))
	}

	var given []string
	for _, t := range campaign.DeviceTypes {
		if n := p.Pledges.Devices[t]; n > 0 {
			given = append(given, c.count(n)+" "+c.kindName(campaign.ItemKind(t)))
		}
	}
	for _, s := range []struct {
		n    int
		kind campaign.ItemKind
	}{{p.Pledges.SIMs, campaign.ItemSIM4G}, {p.Pledges.USBWiFi, campaign.ItemUSBWiFi}, {p.Pledges.Packages, campaign.ItemInternetPackage}} {
		if s.n > 0 {
			given = append(given, c.count(s.n)+" "+c.kindName(s.kind))
		}
	}
	if len(given) == 0 {
		given = append(given, c.t("summary.nothing"))
	}
	lines = append(lines, c.t("summary.pledges", "N", c.count(p.Pledges.Pledges), "Items", strings.Join(given, ", "),
		"Pledged", campaign.FormatVND(p.Pledges.MoneyPledged), "Received", campaign.FormatVND(p.Pledges.MoneyReceived)))
	d := p.Devices
	lines = append(lines, c.t("summary.devices", "Received", c.count(d.Received), "InWork", c.count(d.InWork),
		"Ready", c.count(d.Ready), "Allocated", c.count(d.Allocated), "Delivered", c.count(d.Delivered)))
	if p.Planned > 0 {
		lines = append(lines, c.t("summary.deliveries_plan", "Delivered", c.count(p.Delivered), "Planned", c.count(p.Planned),
			"Bar", campaign.ProgressBar(p.Delivered, p.Planned, 10)))
	} else {
		lines = append(lines, c.t("summary.deliveries", "Delivered", c.count(p.Delivered)))
	}

	if len(p.Wards) > 0 && p.WardCode == "" {
		lines = append(lines, "", c.t("summary.wards_title"))
		for i, w := range p.Wards {
			if i == summaryWards {
				lines = append(lines, c.t("summary.wards_more", "Count", len(p.Wards)-summaryWards))
				break
			}
			lines = append(lines, c.t("summary.ward_line", "N", i+1, "Ward", c.wardName(w.Code), "Gap", c.count(w.Gap),
				"Delivered", c.count(w.Delivered), "Verified", c.count(w.Verified), "Registered", c.count(w.Registered)))
		}
	}
	lines = append(lines, c.summarySchools(p.Schools)...)
	lines = append(lines, "")
	if p.Today != nil {
		lines = append(lines, c.t("summary.today", "Name", p.Today.Name.In(c.lang)))
	}
	if p.Next != nil {
		lines = append(lines, c.t("summary.next", "Name", p.Next.Name.In(c.lang), "Date", p.Next.Date.Format("02/01"), "Count", p.DaysToNext))
	} else {
		lines = append(lines, c.t("summary.no_next"))
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}

// summarySchools are the summary's lines of the schools with the most registrations, the first
// summarySchools of them, and how many more there are; none when no registration names a school.
// The registrations without a school (erased ones) are not a school: neither listed nor counted.
func (c summaryTurn) summarySchools(schools []campaign.SchoolCount) []string {
	named := slices.DeleteFunc(slices.Clone(schools), func(s campaign.SchoolCount) bool { return s.Key == "" })
	if len(named) == 0 {
		return nil
	}
	lines := []string{"", c.t("summary.schools_title")}
	for i, s := range named {
		if i == summarySchoolsShown {
			lines = append(lines, c.t("summary.schools_more", "Count", len(named)-summarySchoolsShown))
			break
		}
		lines = append(lines, c.t("summary.school_line", "N", i+1, "School", cutRunes(s.Name, summarySchoolName), "Registered", c.count(s.Total)))
	}
	return lines
}

// summaryCommand is /summary: today's progress within the sender's scope, the city for city-wide
// roles and their ward for ward staff, with the chart when one is configured.
func (c summaryTurn) summaryCommand() error {
	if c.e.cfg.Progress == nil {
		c.say(c.t("case.unavailable"))
		c.resume("")
		return nil
	}
	who, ok, err := c.authorizeOwn(campaign.ActionViewProgress)
	if !ok {
		return err
	}
	scope := ""
	if who.Role.NeedsWard() {
		scope = who.WardCode
	}
	p, err := c.e.cfg.Progress.Progress(c.ctx, c.now, scope)
	if err != nil {
		return fmt.Errorf("progress: %w", err)
	}
	c.say(c.summaryText(p))
	if c.e.cfg.Chart != nil {
		path, err := c.e.cfg.Chart(c.ctx, p, c.lang)
		if err != nil {
			return fmt.Errorf("chart: %w", err)
		}
		c.out = append(c.out, Output{Text: c.t("summary.chart_caption"), File: &File{Path: path, Name: "tien-do-" + p.Date.Format("20060102") + ".png", Remove: true}})
	}
	c.resume("")
	return nil
}

// ChartFunc draws the progress chart of p in lang to a new temporary PNG file and returns its path.
type ChartFunc func(ctx context.Context, p campaign.Progress, lang string) (path string, err error)
