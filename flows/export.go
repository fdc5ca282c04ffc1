package flows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// exportPrefix starts the button data of /export's buttons: "x:xlsx", "x:csv".
const exportPrefix = "x"

// exportCommand is /export [csv|xlsx] [ward <ward>] [status <status>] [from <date>] [to <date>]:
// the campaign's registrations, pledges, devices and deliveries as a workbook (or a ZIP of CSV
// files), sent as a document. Alone it offers the two formats as buttons. City-level roles export
// every ward or the one they name; a ward official always gets only their ward, whatever they type.
func (c *turn) exportCommand(args string) error {
	if c.e.cfg.Exporter == nil {
		c.say(c.t("case.unavailable"))
		c.resume("")
		return nil
	}
	who, ok, err := c.authorizeOwn(campaign.ActionExport)
	if !ok {
		return err
	}
	if strings.TrimSpace(args) == "" {
		c.out = append(c.out, Output{
			Text: c.t("export.choose"),
			Buttons: [][]Button{{
				{Text: c.t("export.btn_xlsx"), Data: exportPrefix + ":" + string(campaign.FormatXLSX)},
				{Text: c.t("export.btn_csv"), Data: exportPrefix + ":" + string(campaign.FormatCSV)},
			}},
		})
		c.resume("")
		return nil
	}
	f, format, problem := c.parseExportArgs(args)
	if problem != "" {
		c.say(paragraphs(problem, c.t("export.usage")))
		c.resume("")
		return nil
	}
	if err := c.export(who, f, format); err != nil {
		return err
	}
	c.resume("")
	return nil
}

// exportChoice runs a format button of /export.
func (c *turn) exportChoice(data string) error {
	format := campaign.ExportFormat(data)
	if c.e.cfg.Exporter == nil || (format != campaign.FormatXLSX && format != campaign.FormatCSV) {
		c.stale()
		return nil
	}
	who, ok, err := c.authorizeOwn(campaign.ActionExport)
	if !ok {
		return err
	}
	return c.export(who, campaign.ExportFilter{}, format)
}

// export writes the file and sends it, audited with the filter and the rows sent.
func (c *turn) export(who campaign.Staff, f campaign.ExportFilter, format campaign.ExportFormat) error {
	lead := ""
	if who.Role.NeedsWard() {
		if f.WardCode != "" && f.WardCode != who.WardCode {
			lead = c.t("export.own_ward_only", "Ward", c.wardName(who.WardCode))
		}
		f.WardCode = who.WardCode // a ward official's export holds only their ward
	}
	f.ShowPhones = campaign.SeesPhones(who.Role)
	file, err := c.e.cfg.Exporter.Export(c.ctx, f, format)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	rows := map[string]int{}
	for s, n := range file.Rows {
		rows[string(s)] = n
	}
	audit := map[string]any{"role": who.Role, "format": format, "ward": f.WardCode, "status": f.Status, "rows": rows, "file": file.Name}
	if !f.From.IsZero() {
		audit["from"] = f.From
	}
	if !f.To.IsZero() {
		audit["to"] = f.To
	}
	if err := c.auditView("data.export", file.Name, audit); err != nil {
		return err
	}
	scope := c.t("export.scope_all")
	if f.WardCode != "" {
		scope = c.wardName(f.WardCode)
	}
	if lead != "" {
		c.say(lead)
	}
	c.out = append(c.out, Output{
		Text: c.t("export.caption", "Scope", scope,
			"At", c.now.In(c.e.cfg.Campaign.Location).Format("15:04 02/01/2006"),
			"Registrations", file.Rows[campaign.SheetRegistrations], "Pledges", file.Rows[campaign.SheetPledges],
			"Devices", file.Rows[campaign.SheetDevices], "Deliveries", file.Rows[campaign.SheetDeliveries]),
		File: &File{Path: file.Path, Name: file.Name, Remove: true},
	})
	return nil
}

// parseExportArgs reads /export's words; problem is a polite reason when one is not understood.
func (c *turn) parseExportArgs(args string) (f campaign.ExportFilter, format campaign.ExportFormat, problem string) {
	format = campaign.FormatXLSX
	words := strings.Fields(args)
	loc := c.e.cfg.Campaign.Location
	for i := 0; i < len(words); i++ {
		w := campaign.Fold(words[i])
		value := func() (string, bool) {
			if i+1 >= len(words) {
				return "", false
			}
			i++
			return words[i], true
		}
		switch w {
		case "csv", "xlsx", "excel":
			format = campaign.ExportFormat(w)
			if w == "excel" {
				format = campaign.FormatXLSX
			}
		case "ward", "phuong", "p":
			// The rest of the words up to the next keyword name the ward ("phường Linh Trung").
			var name []string
			for i+1 < len(words) && !exportKeyword(campaign.Fold(words[i+1])) {
				i++
				name = append(name, words[i])
			}
			ward, ok := c.matchOneWard(strings.Join(name, " "))
			if !ok {
				return f, format, c.t("export.err.ward", "Query", clip(strings.Join(name, " "), 40))
			}
			f.WardCode = ward
		case "status", "trangthai":
			v, ok := value()
			s := campaign.RegistrationStatus(strings.ToLower(v))
			if !ok || !validStatus(s) {
				return f, format, c.t("export.err.status", "Query", clip(v, 30))
			}
			f.Status = s
		case "from", "tu":
			v, ok := value()
			d, okDate := parseExportDate(v, c.now.In(loc))
			if !ok || !okDate {
				return f, format, c.t("export.err.date", "Query", clip(v, 30))
			}
			f.From = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
		case "to", "den":
			v, ok := value()
			d, okDate := parseExportDate(v, c.now.In(loc))
			if !ok || !okDate {
				return f, format, c.t("export.err.date", "Query", clip(v, 30))
			}
			f.To = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc) // "to 20/9" includes the 20th
		default:
			return f, format, c.t("export.err.word", "Query", clip(words[i], 30))
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, format, c.t("export.err.range")
	}
	return f, format, ""
}

// exportKeyword reports whether a folded word starts another part of /export's arguments.
func exportKeyword(w string) bool {
	switch w {
	case "csv", "xlsx", "excel", "ward", "phuong", "p", "status", "trangthai", "from", "tu", "to", "den":
		return true
	}
	return false
}

// matchOneWard finds the one ward a typed name or code names.
func (c *turn) matchOneWard(query string) (string, bool) {
	if query == "" {
		return "", false
	}
	if w, ok := c.e.cfg.Campaign.Ward(strings.TrimSpace(query)); ok {
		return w.Code, true
	}
	matches := c.e.cfg.Campaign.MatchWards(query)
	if len(matches) != 1 {
		return "", false
	}
	return matches[0].Code, true
}

func validStatus(s campaign.RegistrationStatus) bool {
	return slices.Contains(campaign.RegistrationStatuses, s)
}

// parseExportDate reads "20/9", "20/9/2021" or "2021-09-20"; a date without a year is in now's year.
func parseExportDate(s string, now time.Time) (time.Time, bool) {
	for _, layout := range []string{"2/1/2006", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	if t, err := time.Parse("2/1", s); err == nil {
		d := time.Date(now.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		return d, d.Day() == t.Day()
	}
	return time.Time{}, false
}
