package flows

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/thuduc/maytinhchoem/campaign"
)

func init() {
	registerFlow(flowSpec{
		name: "import",
		commands: []flowCommand{{
			name: "import", run: func(c *turn, _ string) error { return importTurn{c}.importCommand() },
			staff: &staffLine{group: "staff.help.group.cases", rank: 70, text: "staff.help.import",
				may: staffMay(campaign.ActionImportList, func(c Config) bool { return c.Lists != nil && c.ListReader != nil && c.Files != nil })},
		}},
		words: []flowWords{{rank: 10, take: func(c *turn) (bool, error) { return importTurn{c}.importDocument() }}},
	})
}

// FileOpener opens a file a person sent, by the channel's reference (chat.Document.FileID). An
// EINVALID error is a file that cannot be had (too big, gone) and EUNAVAILABLE a channel whose
// files are not read: both are told to the sender; any other error fails the turn.
type FileOpener interface {
	OpenFile(ctx context.Context, channel, fileID string) (io.ReadCloser, error)
}

// listColumn is a column of a list: what it holds.
type listColumn int

const (
	colNone listColumn = iota
	colName
	colBirth
	colGrade
	colSchool
	colWard
	colAddress
	colParent
	colPhone
	colCircumstances
	colSituation
	colNeeds
)

// listHeaderWords tells a column by words in its folded header, tried in order: "họ tên phụ
// huynh" is the parent's before "họ tên" is the child's.
var listHeaderWords = []struct {
	col   listColumn
	words []string
}{
	{colParent, []string{"phu huynh", "cha me", "cha/me", "giam ho", "parent"}},
	{colPhone, []string{"dien thoai", "sdt", "so dt", "phone"}},
	{colBirth, []string{"ngay sinh", "nam sinh", "sinh ngay", "birth"}},
	{colCircumstances, []string{"hoan canh", "dien uu tien", "circumstance"}},
	{colSituation, []string{"tinh trang", "thiet bi hien", "hien co", "situation"}},
	{colNeeds, []string{"nhu cau", "can ho tro", "de nghi", "need"}},
	{colSchool, []string{"truong", "school"}},
	{colWard, []string{"phuong", "ward"}},
	{colAddress, []string{"dia chi", "noi o", "address"}},
	{colGrade, []string{"lop", "khoi", "grade", "class"}},
	{colName, []string{"ho va ten", "ho ten", "ten hoc sinh", "hoc sinh", "name"}},
}

// listHeaderScan is how many rows may stand above the header (a title, a school's name, merged).
const listHeaderScan = 15

// listProgressEvery is how many rows are read between two reports of progress (Progress); a list
// shorter than that is read without any.
const listProgressEvery = 500

// listReportLines is how many refused and duplicate rows the report names; the file has them all.
const listReportLines = 30

// listRowReader turns a list's rows into registrations, with the chat form's rules.
type listRowReader struct {
	c      *turn
	who    campaign.Staff
	cols   []listColumn
	header []string
	// subHeaderSeen: the row after the header was looked at as a possible second header row.
	subHeaderSeen bool
	seen          map[string]int // child key -> first row
	imp           campaign.ListImport
	refused       [][]string // refused rows with their reason, for the file sent back
	words         map[string]map[string]string
}

// importTurn is a turn of /import; its methods are the flow's own (see flowTurn).
type importTurn struct{ *turn }

// importCommand is /import: how to send a list, with the template.
func (c importTurn) importCommand() error {
	who, err := c.whoIs()
	if err != nil {
		return err
	}
	if _, ok, err := c.authorizeAs(who, campaign.ActionImportList, who.WardCode); !ok || err != nil {
		return err
	}
	if c.e.cfg.Lists == nil || c.e.cfg.ListReader == nil || c.e.cfg.Files == nil {
		c.say(c.t("import.unavailable"))
		c.resume("")
		return nil
	}
	path, err := c.e.cfg.ListReader.Template(c.listTemplateHeaders(), c.listTemplateExample(who))
	if err != nil {
		return fmt.Errorf("import template: %w", err)
	}
	scope := c.t("import.scope_city")
	switch {
	case who.Role == campaign.RoleSchool:
		scope = c.t("import.scope_school", "School", who.School)
	case who.Role.NeedsWard():
		scope = c.t("import.scope_ward", "Ward", c.wardName(who.WardCode))
	}
	c.out = append(c.out, Output{
		Text: c.t("import.help", "Scope", scope, "Max", campaign.ListRowsMax),
		File: &File{Path: path, Name: "mau-danh-sach-hoc-sinh.xlsx", Remove: true},
	})
	c.resume("")
	return nil
}

func (c importTurn) listTemplateHeaders() []string {
	ids := []string{"import.col.no", "import.col.name", "import.col.birth", "import.col.grade", "import.col.school",
		"import.col.ward", "import.col.address", "import.col.parent", "import.col.phone",
		"import.col.circumstances", "import.col.situation", "import.col.needs"}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = c.e.text(langVI, id, nil)
	}
	return out
}

func (c importTurn) listTemplateExample(who campaign.Staff) []string {
	camp := c.e.cfg.Campaign
	w, ok := camp.Ward(who.WardCode)
	if !ok && len(camp.Wards) > 0 {
		w = camp.Wards[0] // the campaign's own first ward, whatever the city
	}
	ward := c.e.wardNameIn(langVI, w.Code)
	school := who.School
	if school == "" {
		school = c.e.text(langVI, "import.example_school", map[string]any{"Ward": cmp.Or(w.ShortName, ward)})
	}
	// The example row is the locale's words, one cell each between "|" (the template is in
	// Vietnamese, as the lists are).
	return strings.Split(c.e.text(langVI, "import.example_row", map[string]any{"School": school, "Ward": ward}), "|")
}

// importDocument takes a file sent out of any flow as a list, when the sender may import lists;
// handled is false for anyone else (a family's file is not a list).
func (c importTurn) importDocument() (handled bool, err error) {
	doc := c.in.Document
	if doc == nil || c.e.cfg.Lists == nil || c.e.cfg.ListReader == nil || c.e.cfg.Files == nil {
		return false, nil
	}
	who, err := c.whoIs()
	if err != nil || who.Role == "" {
		return false, err
	}
	if campaign.Authorize(who, campaign.ActionImportList, who.WardCode) != nil {
		return false, nil
	}
	if _, ok, err := c.authorizeAs(who, campaign.ActionImportList, who.WardCode); !ok || err != nil {
		return true, err
	}
	f, err := c.e.cfg.Files.OpenFile(c.ctx, c.sess.Channel, doc.FileID)
	switch campaign.ErrorCode(err) {
	case "":
	case campaign.EINVALID: // a file the channel will not hand over (too big, gone)
		c.say(c.t("import.unreadable", "Name", clip(doc.Name, 80)))
		return true, nil
	case campaign.EUNAVAILABLE: // a channel whose files are not read
		c.say(c.t("import.unavailable"))
		return true, nil
	default:
		// The file's name, not its id: an id may be a link whose query is a signature.
		return true, fmt.Errorf("import: open %q: %w", clip(doc.Name, 80), err)
	}
	defer func() { _ = f.Close() }()
	res, err := c.importList(who, doc.Name, f)
	if campaign.ErrorCode(err) == campaign.EINVALID {
		c.say(c.t("import.unreadable", "Name", clip(doc.Name, 80)))
		return true, nil
	}
	if err != nil {
		return true, err
	}
	c.out = append(c.out, res...)
	return true, nil
}

// importList reads, checks and stores one list and returns the report for the sender.
func (c importTurn) importList(who campaign.Staff, name string, file io.Reader) ([]Output, error) {
	h := sha256.New()
	rr := &listRowReader{c: c.turn, who: who, seen: map[string]int{}}
	rr.imp.Sender, rr.imp.Actor = who, c.actor()
	err := c.e.cfg.ListReader.ReadList(c.ctx, name, io.TeeReader(file, h), rr.row)
	if errors.Is(err, errListTooLong) {
		return []Output{{Text: c.t("import.too_long", "Max", campaign.ListRowsMax)}}, nil
	}
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(h, file) // what the reader left unread still makes the file what it is
	if rr.cols == nil {
		return []Output{{Text: c.t("import.no_header")}}, nil
	}
	rr.imp.FileHash = hex.EncodeToString(h.Sum(nil))
	long := rr.imp.RowsRead >= listProgressEvery
	if long {
		c.progress(c.t("import.progress_saving", "Rows", rr.imp.RowsRead))
	}
	res, err := c.e.cfg.Lists.ImportList(c.ctx, &rr.imp)
	if err != nil {
		return nil, err
	}
	if long {
		c.progress(c.t("import.progress_done", "Rows", rr.imp.RowsRead))
	}
	return rr.report(res)
}

var errListTooLong = errors.New("list too long")

// row reads one row of the file: the header first, then the children.
func (rr *listRowReader) row(n int, cells []string) error {
	if rr.cols == nil {
		if n > listHeaderScan {
			return nil
		}
		if cols, ok := listHeader(cells); ok {
			rr.cols, rr.header = cols, slices.Clone(cells)
		}
		return nil
	}
	blank := true
	for _, v := range cells {
		if strings.TrimSpace(v) != "" {
			blank = false
			break
		}
	}
	if blank {
		return nil
	}
	if rr.imp.RowsRead == 0 && !rr.subHeaderSeen {
		rr.subHeaderSeen = true
		if cols, ok := listSubHeader(rr.cols, rr.header, cells); ok {
			// A header on two rows (merged cells above: "Phụ huynh" over "Họ tên" and "Số
			// điện thoại"): the second row names the columns under the merged ones.
			rr.cols = cols
			for i, v := range cells {
				if i < len(rr.header) && strings.TrimSpace(v) != "" {
					rr.header[i] = strings.TrimSpace(strings.TrimSpace(rr.header[i]) + " " + strings.TrimSpace(v))
				}
			}
			return nil
		}
	}
	rr.imp.RowsRead++
	if rr.imp.RowsRead > campaign.ListRowsMax {
		return errListTooLong
	}
	if rr.imp.RowsRead%listProgressEvery == 0 {
		rr.c.progress(rr.c.t("import.progress_reading", "Rows", rr.imp.RowsRead))
	}
	reg, reason, data := rr.parse(cells)
	if reason == "" {
		key := campaign.Fold(reg.StudentName) + "|" + reg.BirthDate.Format(dateLayout) + "|" + reg.WardCode
		if first, dup := rr.seen[key]; dup {
			reason, data = "import.err.duplicate_in_file", map[string]any{"Row": first}
		} else {
			rr.seen[key] = n
		}
	}
	if reason != "" {
		rr.imp.Refused = append(rr.imp.Refused, campaign.ListRefusal{Row: n, Reason: reasonCode(reason)})
		line := append(append([]string{strconv.Itoa(n)}, rr.readable(cells)...), rr.c.e.text(langVI, reason, data))
		rr.refused = append(rr.refused, line)
		return nil
	}
	rr.imp.Rows = append(rr.imp.Rows, campaign.ListRow{Row: n, Registration: reg})
	return nil
}

// readable returns a copy of a row's cells for the file sent back, with a birth date the workbook
// kept as a number (an Excel serial, 40423) written as the date it is (02/09/2010), for the
// person who fixes the row.
func (rr *listRowReader) readable(cells []string) []string {
	out := slices.Clone(cells)
	for i, col := range rr.cols {
		if col == colBirth && i < len(out) {
			if d, ok := excelSerial(strings.TrimSpace(out[i])); ok {
				out[i] = d.Format("02/01/2006")
			}
		}
	}
	return out
}

// excelSerial reads a date a workbook stores as a number: days since 1899-12-30 (Excel's 1900
// system, its leap-year bug included), for the years a child's birth may be.
func excelSerial(v string) (time.Time, bool) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 3000 || f >= 80000 || strings.ContainsAny(v, "/-. ") {
		return time.Time{}, false
	}
	return time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(f)), true
}

// reasonCode is the audit's code of a refusal: the message id's last part.
func reasonCode(id string) string { return id[strings.LastIndexByte(id, '.')+1:] }

// listHeader finds the columns of a header row; ok needs at least the child's name, birth date
// and one more column.
func listHeader(cells []string) ([]listColumn, bool) {
	cols := make([]listColumn, len(cells))
	found := map[listColumn]bool{}
	for i, v := range cells {
		k := campaign.Fold(cleanText(v))
		if k == "" || len(k) > 80 {
			continue
		}
		for _, hw := range listHeaderWords {
			if found[hw.col] {
				continue
			}
			if slices.ContainsFunc(hw.words, func(w string) bool { return strings.Contains(k, w) }) {
				cols[i], found[hw.col] = hw.col, true
				break
			}
		}
	}
	return cols, found[colName] && found[colBirth] && len(found) >= 3
}

// listSubHeader reads the row under a header as its second row, when the header has merged
// cells: the row has no child's name or birth date where the header put them, and its cells
// name columns. A heading carries over the empty cells right of it (a merged cell's value is in
// its first cell only), so "Họ tên" under "Phụ huynh" is the parent's name, not the child's.
func listSubHeader(cols []listColumn, header, cells []string) ([]listColumn, bool) {
	for i, col := range cols {
		if (col == colName || col == colBirth) && i < len(cells) && strings.TrimSpace(cells[i]) != "" {
			// A value where the child's name or birth date goes: unless it is itself a
			// heading (a birth date column titled again below), this row is data.
			if _, ok := listHeaderWord(cells[i]); !ok {
				return nil, false
			}
		}
	}
	out := slices.Clone(cols)
	for len(out) < len(cells) {
		out = append(out, colNone)
	}
	named, heading := 0, ""
	for i, v := range cells {
		if i < len(header) && strings.TrimSpace(header[i]) != "" {
			heading = header[i]
		}
		if strings.TrimSpace(v) == "" {
			continue
		}
		col, ok := listHeaderWord(v)
		if !ok {
			return nil, false // words that name no column: a data row
		}
		if under, ok := listHeaderWord(heading); ok && under == colParent && col == colName {
			col = colParent
		}
		out[i] = col
		named++
	}
	return out, named > 0
}

// listHeaderWord tells the column a header cell names.
func listHeaderWord(v string) (listColumn, bool) {
	k := campaign.Fold(cleanText(v))
	if k == "" || len(k) > 80 {
		return colNone, false
	}
	for _, hw := range listHeaderWords {
		if slices.ContainsFunc(hw.words, func(w string) bool { return strings.Contains(k, w) }) {
			return hw.col, true
		}
	}
	return colNone, false
}

// parse checks a row as the chat form checks its answers. reason is "" for a good row, else the
// message id saying why (with its data).
func (rr *listRowReader) parse(cells []string) (reg campaign.Registration, reason string, data map[string]any) {
	c, camp := rr.c, rr.c.e.cfg.Campaign
	cell := map[listColumn]string{}
	for i, col := range rr.cols {
		if col != colNone && i < len(cells) {
			cell[col] = strings.TrimSpace(cells[i])
		}
	}
	fail := func(err error) (campaign.Registration, string, map[string]any) {
		var inv *invalid
		if errors.As(err, &inv) {
			return campaign.Registration{}, inv.ID, inv.Data
		}
		return campaign.Registration{}, "import.err.unreadable", nil
	}
	if cell[colName] == "" {
		return reg, "import.err.name_missing", nil
	}
	name, err := parseName(cell[colName])
	if err != nil {
		return fail(err)
	}
	if cell[colBirth] == "" {
		return reg, "import.err.birth_missing", nil
	}
	birth, err := rr.birthDate(cell[colBirth])
	if err != nil {
		return fail(err)
	}
	if cell[colGrade] == "" {
		return reg, "import.err.grade_missing", nil
	}
	grade, err := parseGrade(cell[colGrade])
	if err != nil {
		return fail(err)
	}
	if off := birth.Year() - camp.UsualBirthYear(grade); off > gradeYearsOff+1 || off < -(gradeYearsOff+1) {
		return reg, "import.err.grade_age", map[string]any{"Grade": grade, "Year": birth.Year()}
	}
	level := campaign.LevelPrimary
	for _, l := range campaign.SchoolLevels {
		if l.HasGrade(grade) {
			level = l
		}
	}
	school := rr.who.School
	if school == "" || cell[colSchool] != "" && rr.who.Role != campaign.RoleSchool {
		if school, err = parseFreeText(cell[colSchool], schoolMin, schoolMax); err != nil {
			if cell[colSchool] == "" {
				return reg, "import.err.school_missing", nil
			}
			return fail(err)
		}
	}
	ward, reason, data := rr.ward(cell[colWard])
	if reason != "" {
		return reg, reason, data
	}
	if campaign.Authorize(rr.who, campaign.ActionImportList, ward) != nil {
		return reg, "import.err.ward_scope", map[string]any{"Ward": c.e.wardNameIn(langVI, ward)}
	}
	var address, parent, phone string
	if v := cell[colAddress]; v != "" {
		if address, err = parseFreeText(v, addressMin, addressMax); err != nil {
			return fail(err)
		}
	}
	if v := cell[colParent]; v != "" {
		if parent, err = parseName(v); err != nil {
			return fail(err)
		}
	}
	if v := cell[colPhone]; v != "" {
		if phone, err = parsePhone(v); err != nil {
			return fail(err)
		}
	}
	circs, ok := matchWords(optionWords(rr, "c", circumstanceLabels, circumstanceWords), cell[colCircumstances])
	if !ok {
		return reg, "import.err.circumstances", nil
	}
	other := ""
	if slices.Contains(circs, string(campaign.CircumstanceOther)) {
		other = clip(cleanText(cell[colCircumstances]), otherTextMax)
	}
	situation := campaign.SituationNone
	if v := cell[colSituation]; v != "" {
		s, ok := matchWords(optionWords(rr, "s", situationLabels, situationWords), v)
		if !ok || len(s) > 1 {
			return reg, "import.err.situation", nil
		}
		if len(s) == 1 {
			situation = campaign.DeviceSituation(s[0])
		}
	}
	needs, ok := matchWords(optionWords(rr, "n", needLabels, needWords), cell[colNeeds])
	if !ok || len(needs) == 0 {
		return reg, "import.err.needs", nil
	}
	return campaign.Registration{
		Source: campaign.SourceList, RegisteredBy: rr.imp.Actor, Language: langVI,
		StudentName: name, BirthDate: birth, Level: level, Grade: grade, School: school,
		WardCode: ward, Address: address, ParentName: parent, ParentPhone: phone,
		Circumstances: toEnums[campaign.Circumstance](circs), CircumstanceOther: other,
		DeviceSituation: situation, Needs: toEnums[campaign.Need](needs), ConsentAt: c.now,
	}, "", nil
}

func toEnums[T ~string](in []string) []T {
	out := make([]T, 0, len(in))
	for _, v := range in {
		out = append(out, T(v))
	}
	return out
}

// birthDate reads a birth date cell: an Excel serial (a date the workbook keeps as a number)
// or a date written as the chat form reads it.
func (rr *listRowReader) birthDate(v string) (time.Time, error) {
	if d, ok := excelSerial(v); ok {
		v = d.Format(dateLayout)
	}
	return parseBirthDate(v, rr.c.now, rr.c.e.cfg.Campaign)
}

// ward reads a ward cell by code or name; an empty one is the sender's ward for a ward role. A
// school's ward is not its students' (they live in any ward, and the ward decides who verifies
// them), so a school's row without a ward is refused.
func (rr *listRowReader) ward(v string) (code, reason string, data map[string]any) {
	camp := rr.c.e.cfg.Campaign
	if v == "" {
		if rr.who.WardCode != "" && rr.who.Role.NeedsWard() {
			return rr.who.WardCode, "", nil
		}
		return "", "import.err.ward_missing", nil
	}
	if w, ok := camp.Ward(strings.TrimSpace(v)); ok {
		return w.Code, "", nil
	}
	if m := camp.MatchWards(v); len(m) == 1 {
		return m[0].Code, "", nil
	}
	if s := camp.SuggestWards(v); len(s) > 0 {
		return "", "import.err.ward_suggest", map[string]any{"Ward": clip(cleanText(v), 60), "Suggestion": rr.c.e.wardNameIn(langVI, s[0].Code)}
	}
	return "", "import.err.ward_unknown", map[string]any{"Ward": clip(cleanText(v), 60)}
}

// optionWords maps the folded words of a set of choices (labels and typed words, both
// languages) to their values, made once per list.
func optionWords[T comparable](rr *listRowReader, key string, labels, words map[T]string) map[string]string {
	if m, ok := rr.words[key]; ok {
		return m
	}
	m := map[string]string{}
	for v, id := range labels {
		value := fmt.Sprint(v)
		for _, lang := range []string{langVI, langEN} {
			m[choiceKey(rr.c.e.text(lang, id, nil))] = value
			if w := words[v]; w != "" {
				for _, x := range strings.Split(rr.c.e.text(lang, w, nil), "|") {
					if k := choiceKey(x); len(k) >= 2 {
						m[k] = value
					}
				}
			}
		}
	}
	if rr.words == nil {
		rr.words = map[string]map[string]string{}
	}
	rr.words[key] = m
	return m
}

// situationWords are how lists write a device situation (the chat form asks it with buttons).
var situationWords = map[campaign.DeviceSituation]string{
	campaign.SituationSharesPhone: "import.words.shares_phone",
	campaign.SituationBroken:      "import.words.broken",
}

// listNoneWords are what a cell says for "none of these".
var listNoneWords = map[string]bool{"khong": true, "none": true, "khong co": true, "khong thuoc": true, "-": true}

// matchWords reads a cell listing choices in words ("hộ nghèo, mồ côi cha do Covid"): each part
// (split at , ; / + and "và") is a choice's label or word, or holds one. ok is false when a
// part names none; an empty cell is no choice.
func matchWords(m map[string]string, cell string) (values []string, ok bool) {
	if len(cell) > inputMax {
		return nil, false
	}
	folded := campaign.Fold(cleanText(cell))
	parts := strings.FieldsFunc(strings.ReplaceAll(folded, " va ", ","), func(r rune) bool {
		return r == ',' || r == ';' || r == '/' || r == '+' || r == '\n'
	})
	for _, p := range parts {
		k := choiceKey(p)
		if k == "" || listNoneWords[k] {
			continue
		}
		v, hit := m[k]
		if !hit {
			best := ""
			for w, val := range m {
				if len(w) >= 3 && len(w) > len(best) && containsWord(k, w) {
					best, v = w, val
				}
			}
			hit = best != ""
		}
		if !hit {
			return nil, false
		}
		if !slices.Contains(values, v) {
			values = append(values, v)
		}
	}
	return values, true
}

// containsWord reports whether w stands in s as whole words.
func containsWord(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		j += i
		before := j == 0 || !unicode.IsLetter(rune(s[j-1]))
		after := j+len(w) == len(s) || !unicode.IsLetter(rune(s[j+len(w)]))
		if before && after {
			return true
		}
		i = j + 1
	}
}

// report is what the sender is told: the counts, the first refused and duplicate rows, and a
// file of every refused row with its reason, to fix and send again.
func (rr *listRowReader) report(res campaign.ListResult) ([]Output, error) {
	c := rr.c
	var b strings.Builder
	b.WriteString(c.t("import.report", "List", res.Code, "Rows", rr.imp.RowsRead,
		"Accepted", len(res.Accepted), "Duplicates", len(res.Duplicates), "Refused", len(rr.imp.Refused)))
	if res.Again {
		b.WriteString("\n" + c.t("import.again"))
	}
	// Each kind names at most listReportLines rows, and fewer when its lines would take the
	// message past messageMax (the rest are in the file, or counted).
	room := func(kinds int) int { return (messageMax - utf8.RuneCountInString(b.String()) - 200) / kinds }
	kinds := 0
	if len(res.Duplicates) > 0 {
		kinds++
	}
	if len(rr.refused) > 0 {
		kinds++
	}
	lines := func(title string, n int, line func(i int) string) {
		b.WriteString("\n\n" + c.t(title))
		left := room(kinds)
		kinds--
		for i := range n {
			l := line(i)
			if i == listReportLines || utf8.RuneCountInString(l)+1 > left {
				b.WriteString("\n" + c.t("import.more", "Count", n-i))
				return
			}
			left -= utf8.RuneCountInString(l) + 1
			b.WriteString("\n" + l)
		}
	}
	if len(res.Duplicates) > 0 {
		lines("import.duplicates_title", len(res.Duplicates), func(i int) string {
			d := res.Duplicates[i]
			var codes []string
			for _, e := range d.Existing {
				if rr.maySee(e) {
					codes = append(codes, e.Code)
				}
			}
			if len(codes) == 0 {
				return c.t("import.duplicate_hidden", "Row", d.Row)
			}
			return c.t("import.duplicate_line", "Row", d.Row, "Codes", strings.Join(codes, ", "))
		})
	}
	if len(rr.refused) > 0 {
		lines("import.refused_title", len(rr.refused), func(i int) string {
			r := rr.refused[i]
			return c.t("import.refused_line", "Row", r[0], "Reason", r[len(r)-1])
		})
	}
	out := []Output{{Text: b.String()}}
	if len(rr.refused) > 0 {
		header := append(append([]string{c.e.text(langVI, "import.col.row", nil)}, rr.header...), c.e.text(langVI, "import.col.reason", nil))
		path, err := c.e.cfg.ListReader.WriteRows(append([][]string{header}, rr.refused...))
		if err != nil {
			return nil, fmt.Errorf("import: refused rows: %w", err)
		}
		out = append(out, Output{
			Text: c.t("import.refused_file", "Count", len(rr.refused)),
			File: &File{Path: path, Name: res.Code + "-can-sua.xlsx", Remove: true},
		})
	}
	return out, nil
}

// maySee says whether the sender may see an existing registration's code: in their ward for ward
// roles, of their school (by campaign.SchoolKey) for a school, as /find would show it.
func (rr *listRowReader) maySee(e campaign.ListExisting) bool {
	return campaign.AuthorizeRecord(rr.who, campaign.ActionViewChildData, e.WardCode, e.School) == nil
}
