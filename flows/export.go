package flows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

func init() {
	registerFlow(flowSpec{
		name: "export",
		commands: []flowCommand{{
			name: "export", run: fn1(exportTurn.exportCommand),
			staff: &staffLine{group: "staff.help.group.cases", rank: 120, text: "staff.help.export",
				may: staffMay(campaign.ActionExport, func(c Config) bool { return c.Exporter != nil })},
		}},
		buttons: []flowButton{{prefix: exportPrefix, run: fn1(exportTurn.exportChoice)}},
	})
}

// exportPrefix starts the button data of /export's buttons: "x:xlsx", "x:csv".
const exportPrefix = "x"

// exportTurn is a turn of /export; its methods are the flow's own (see flowTurn).
type exportTurn struct{ *turn }

// exportCommand is /export [csv|xlsx] [phuong <ward>] [trang-thai <status>] [tu <date>] [den <date>]
// (or in English: ward, status, from, to): the campaign's registrations, pledges, devices and
// deliveries as a workbook (or a ZIP of CSV files), sent as a document. Alone it offers the two
// formats as buttons. City-level roles export every ward or the one they name; a ward official
// always gets only their ward, whatever they type; a school only its own students (of every
// ward, or of the one it names). Each gets only the sheets their role may see
// (campaign.ScopeExport).
func (c exportTurn) exportCommand(args string) error {
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
func (c exportTurn) exportChoice(data string) error {
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

// export writes the file and sends it, audited with the filter, the sheets and the rows sent.
func (c exportTurn) export(who campaign.Staff, asked campaign.ExportFilter, format campaign.ExportFormat) error {
	// A ward official's export holds only their ward; each role's, only the sheets it may see.
	f, err := campaign.ScopeExport(who, asked)
	if err != nil {
		return fmt.Errorf("export: scope: %w", err) // who passed ActionExport: a role without sheets
	}
	lead := ""
	if asked.WardCode != "" && asked.WardCode != f.WardCode {
		lead = c.t("export.own_ward_only", "Ward", c.wardName(f.WardCode))
	}
	file, err := c.e.cfg.Exporter.Export(c.ctx, f, format)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	rows := map[string]int{}
	for s, n := range file.Rows {
		rows[string(s)] = n
	}
	audit := map[string]any{"role": who.Role, "format": format, "ward": f.WardCode, "status": f.Status,
		"sheets": f.Sheets.String(), "rows": rows, "file": file.Name}
	if f.School != "" {
		audit["school"] = f.School // the school's name as its invitation gave it, no family's text
	}
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
	if f.School != "" {
		scope = c.t("export.scope_school", "School", clip(f.School, staffSchoolShown), "Scope", scope)
	}
	if lead != "" {
		c.say(lead)
	}
	// The caption counts the sheets the file has, and only those.
	var counts []string
	for _, sheet := range f.Sheets.List() {
		n := file.Rows[sheet]
		switch sheet {
		case campaign.SheetRegistrations:
			counts = append(counts, c.t("export.count.registrations", "Count", n))
		case campaign.SheetPledges:
			counts = append(counts, c.t("export.count.pledges", "Count", n))
		case campaign.SheetDevices:
			counts = append(counts, c.t("export.count.devices", "Count", n))
		case campaign.SheetDeliveries:
			counts = append(counts, c.t("export.count.deliveries", "Count", n))
		case campaign.SheetSchools:
			counts = append(counts, c.t("export.count.schools", "Count", n))
		}
	}
	c.out = append(c.out, Output{
		Text: c.t("export.caption", "Scope", scope,
			"At", c.now.In(c.e.cfg.Campaign.Location).Format("15:04 02/01/2006"),
			"Counts", strings.Join(counts, ", ")),
		File: &File{Path: file.Path, Name: file.Name, Remove: true},
	})
	return nil
}

// parseExportArgs reads /export's words, in Vietnamese with or without accents and hyphens
// (phuong, trang-thai, tu, den) or in English (ward, status, from, to); problem is a polite reason
// when one is not understood.
func (c exportTurn) parseExportArgs(args string) (f campaign.ExportFilter, format campaign.ExportFormat, problem string) {
	format = campaign.FormatXLSX
	words := exportWords(args)
	loc := c.e.cfg.Campaign.Location
	for i := 0; i < len(words); i++ {
		w := words[i].key
		value := func() (string, bool) {
			if i+1 >= len(words) {
				return "", false
			}
			i++
			return words[i].raw, true
		}
		// rest takes the words up to the next keyword: a ward's name ("phường Linh Trung").
		rest := func() string {
			var name []string
			for i+1 < len(words) && !exportKeyword(words[i+1].key) {
				i++
				name = append(name, words[i].raw)
			}
			return strings.Join(name, " ")
		}
		switch w {
		case "csv", "xlsx", "excel":
			format = campaign.ExportFormat(w)
			if w == "excel" {
				format = campaign.FormatXLSX
			}
		case "ward", "phuong", "p":
			name := rest()
			ward, ok := c.matchOneWard(name)
			if !ok {
				return f, format, c.t("export.err.ward", "Query", clip(name, 40))
			}
			f.WardCode = ward
		case "status", "trangthai":
			s, n := exportStatus(words[i+1:])
			if n == 0 {
				return f, format, c.t("export.err.status", "Query", clip(rest(), 30))
			}
			i += n
			f.Status = s
		case "from", "tu", "tungay":
			v, ok := value()
			d, okDate := parseExportDate(v, c.now.In(loc))
			if !ok || !okDate {
				return f, format, c.t("export.err.date", "Query", clip(v, 30))
			}
			f.From = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
		case "to", "den", "denngay":
			v, ok := value()
			d, okDate := parseExportDate(v, c.now.In(loc))
			if !ok || !okDate {
				return f, format, c.t("export.err.date", "Query", clip(v, 30))
			}
			f.To = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc) // "to 20/9" includes the 20th
		default:
			return f, format, c.t("export.err.word", "Query", clip(words[i].raw, 30))
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, format, c.t("export.err.range")
	}
	return f, format, ""
}

// exportWord is a word of /export as typed (raw) and as compared (key): folded, without its
// accents, hyphens and underscores ("Trạng-thái" is "trangthai").
type exportWord struct{ raw, key string }

// exportWordKey is the key of a word or phrase: folded, without accents, spaces, hyphens or
// underscores.
func exportWordKey(s string) string {
	return strings.NewReplacer(" ", "", "-", "", "_", "").Replace(campaign.Fold(s))
}

// exportWords splits /export's arguments into words; a keyword typed as two words ("trạng thái",
// "từ ngày", "đến ngày") is one.
func exportWords(args string) []exportWord {
	var out []exportWord
	fields := strings.Fields(args)
	for i := 0; i < len(fields); i++ {
		w := exportWord{raw: fields[i], key: exportWordKey(fields[i])}
		if i+1 < len(fields) {
			pair := w.key + exportWordKey(fields[i+1])
			if (w.key == "trang" || w.key == "tu" || w.key == "den") && exportKeyword(pair) {
				w = exportWord{raw: fields[i] + " " + fields[i+1], key: pair}
				i++
			}
		}
		out = append(out, w)
	}
	return out
}

// exportKeyword reports whether a word's key starts another part of /export's arguments.
func exportKeyword(w string) bool {
	switch w {
	case "csv", "xlsx", "excel", "ward", "phuong", "p", "status", "trangthai",
		"from", "tu", "tungay", "to", "den", "denngay":
		return true
	}
	return false
}

// exportStatusWords are the words /export takes for each registration status, as keys (see
// exportWordKey): the code, and Vietnamese names, the export's own labels among them. A status
// the campaign does not have is not taken.
var exportStatusWords = map[campaign.RegistrationStatus][]string{
	campaign.StatusSubmitted: {"submitted", "choxacminh", "choduyet", "moi"},
	campaign.StatusNeedsInfo: {"needsinfo", "chobosung", "chobosungthongtin", "canbosung", "bosung"},
	campaign.StatusVerified:  {"verified", "daduyet", "daxacminh", "duyet"},
	campaign.StatusRejected:  {"rejected", "khongduyet", "khongduocduyet", "tuchoi", "datuchoi"},
	campaign.StatusAllocated: {"allocated", "daphanbo", "daphanbothietbi", "phanbo"},
	campaign.StatusDelivered: {"delivered", "datrao", "datraothietbi", "dagiao", "dabangiao"},
	// A family's withdrawal, by its code: taken once the campaign has the status.
	"withdrawn": {"withdrawn", "darut", "daruthoso", "ruthoso", "giadinhdaruthoso"},
}

// maxStatusWords is the most words a status is typed in: "gia đình đã rút hồ sơ".
const maxStatusWords = 6

// exportStatus reads the status the first words name, the longest that is one ("từ chối" is a
// status, though "từ" alone starts a date), and how many words it took; 0 when they name none.
func exportStatus(words []exportWord) (campaign.RegistrationStatus, int) {
	for n := min(len(words), maxStatusWords); n > 0; n-- {
		var key strings.Builder
		for _, w := range words[:n] {
			key.WriteString(w.key)
		}
		for s, names := range exportStatusWords {
			if slices.Contains(names, key.String()) && validStatus(s) {
				return s, n
			}
		}
	}
	return "", 0
}

// matchOneWard finds the one ward a typed name or code names.
func (c exportTurn) matchOneWard(query string) (string, bool) {
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
