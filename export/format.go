package export

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// cellKind is what a cell holds once its field is formatted, which decides its XLSX style and its
// CSV text.
type cellKind uint8

// Cell kinds.
const (
	cellEmpty cellKind = iota
	cellText
	cellNumber
	cellMoney
	cellDate
	cellTime
)

// cell is one formatted value. Times hold their wall clock in UTC: the date as stored for a date,
// the campaign zone's clock for an instant, so neither writer does zone arithmetic again.
type cell struct {
	kind cellKind
	text string
	num  int64
	t    time.Time
}

// Layouts of dates and times in CSV files and in the XLSX number formats, the Vietnamese way.
const (
	dateLayout     = "02/01/2006"
	dateTimeLayout = "02/01/2006 15:04"
	dateNumFmt     = "dd/mm/yyyy"
	dateTimeNumFmt = "dd/mm/yyyy hh:mm"
	moneyNumFmt    = "#,##0"
)

// formatting is what a row's cells are formatted with.
type formatting struct {
	loc        *time.Location
	showPhones bool
	words      *words
}

// format formats the column's cell of a row of the sheet's fields. A donor who asked to stay
// anonymous is named in no cell: the column's value is not even looked at.
func (c *column) format(row []any, f *formatting) (cell, error) {
	if c.anonIndex >= 0 {
		hidden, ok := row[c.anonIndex].(bool)
		if !ok && row[c.anonIndex] != nil {
			return cell{}, fmt.Errorf("column %s: %s is %T, want a bool", c.key, c.anon, row[c.anonIndex])
		}
		if hidden {
			if c.kind == kindDonor {
				return textCell(f.words.anonymous), nil
			}
			return cell{}, nil
		}
	}
	var with any
	if c.withIndex >= 0 {
		with = row[c.withIndex]
	}
	return c.cell(row[c.index], with, f)
}

// cell formats the column's value v, and with its second field's value, for a cell.
func (c *column) cell(v, with any, f *formatting) (cell, error) {
	switch c.kind {
	case kindText:
		if list, ok := stringList(v); ok {
			return textCell(strings.Join(list, ", ")), nil
		}
		s, ok := str(v)
		if !ok {
			return cell{}, c.typeError(v, "a string")
		}
		if s == "" {
			s = c.empty
		}
		return textCell(s), nil
	case kindInt:
		var num int64
		switch n := v.(type) {
		case int:
			num = int64(n)
		case int32:
			num = int64(n)
		case int64:
			num = n
		default:
			return cell{}, c.typeError(v, "an integer")
		}
		if num == 0 && c.blank0 {
			return cell{}, nil
		}
		return cell{kind: cellNumber, num: num}, nil
	case kindMoney:
		n, ok := v.(int64)
		if !ok {
			return cell{}, c.typeError(v, "an int64 amount")
		}
		if n == 0 {
			return cell{}, nil
		}
		return cell{kind: cellMoney, num: n}, nil
	case kindDate, kindTime:
		t, ok := v.(time.Time)
		if !ok {
			return cell{}, c.typeError(v, "a time.Time")
		}
		if t.IsZero() {
			return cell{}, nil
		}
		if c.kind == kindDate {
			// A date means its calendar day wherever it was read: no zone conversion.
			y, m, d := t.Date()
			return cell{kind: cellDate, t: time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}, nil
		}
		w := t.In(f.loc)
		return cell{kind: cellTime, t: time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, time.UTC)}, nil
	case kindPhone:
		s, ok := v.(string)
		if !ok {
			return cell{}, c.typeError(v, "a string")
		}
		if !f.showPhones && s != "" {
			s = campaign.MaskPhone(s)
		}
		return textCell(s), nil
	case kindBool:
		b, ok := v.(bool)
		if !ok {
			return cell{}, c.typeError(v, "a bool")
		}
		if b {
			return textCell(c.yes), nil
		}
		return textCell(c.no), nil
	case kindEnum:
		return c.enumCell(v, with)
	case kindItems:
		items, ok := v.([]campaign.PledgeItem)
		if !ok && v != nil {
			return cell{}, c.typeError(v, "[]campaign.PledgeItem")
		}
		return textCell(f.words.itemsSummary(items)), nil
	case kindOrigin:
		code, ok1 := str(v)
		origin, ok2 := str(with)
		if !ok1 || !ok2 {
			return cell{}, c.typeError([2]any{v, with}, "a pledge code and an origin")
		}
		switch origin {
		case "":
			return cell{}, nil // no device: connectivity only
		case OriginPledge:
			return textCell(code), nil
		}
		s := label(c.labels, origin)
		if code != "" {
			s += " (" + code + ")" // bought with the money of that pledge
		}
		return textCell(s), nil
	case kindDonor:
		name, ok := str(v)
		if !ok {
			return cell{}, c.typeError(v, "a name")
		}
		return textCell(name), nil
	case kindStaff:
		name, ok1 := str(v)
		role, ok2 := str(with)
		if !ok1 || !ok2 {
			return cell{}, c.typeError([2]any{v, with}, "a name and a role")
		}
		if role == "" {
			return textCell(name), nil // no one, or someone who is no staff ("system", an old id)
		}
		if name == "" { // a staff member known by their role alone: no chat id is written
			return textCell(label(f.words.staffRoles, role)), nil
		}
		return textCell(name + " (" + label(f.words.staffRoles, role) + ")"), nil
	}
	return cell{}, fmt.Errorf("column %s: unknown kind %d", c.key, c.kind)
}

// enumCell writes a code or a list of codes with the column's labels, and the note (with) after
// them: "Hộ nghèo, Khác: cha mất việc".
func (c *column) enumCell(v, with any) (cell, error) {
	var s string
	if list, ok := stringList(v); ok {
		words := make([]string, 0, len(list))
		for _, code := range list {
			words = append(words, label(c.labels, code))
		}
		s = strings.Join(words, ", ")
	} else {
		code, ok := str(v)
		if !ok {
			return cell{}, c.typeError(v, "a code or a list of codes")
		}
		if code == "" {
			s = c.empty
		} else {
			s = label(c.labels, code)
		}
	}
	note, ok := str(with)
	if !ok {
		return cell{}, c.typeError(with, "a string note")
	}
	switch {
	case note == "":
	case s == "":
		s = note // a note without a code, as rows from before the codes have
	default:
		s += ": " + note
	}
	return textCell(s), nil
}

func (c *column) typeError(v any, want string) error {
	return fmt.Errorf("column %s: got %T, want %s", c.key, v, want)
}

// itemsSummary writes a pledge's lines on one line, as officials read them out:
// "2 laptop (đã qua sử dụng); 500 SIM 4G; 5.000.000 đ".
func (w *words) itemsSummary(items []campaign.PledgeItem) string {
	parts := make([]string, 0, len(items))
	for _, it := range items {
		if it.Kind == campaign.ItemMoney {
			parts = append(parts, campaign.FormatVND(it.Amount))
			continue
		}
		noun, ok := w.nouns[it.Kind]
		if !ok {
			noun = string(it.Kind)
		}
		s := groupDigits(int64(it.Quantity)) + " " + noun
		if it.Kind == campaign.ItemInternetPackage && it.Months > 0 {
			s += " " + strconv.Itoa(it.Months) + " " + w.months
		}
		if it.Kind.IsDevice() {
			var notes []string
			if it.Used {
				notes = append(notes, w.used)
			}
			if !it.Complete {
				notes = append(notes, w.incomplete)
			}
			if len(notes) > 0 {
				s += " (" + strings.Join(notes, ", ") + ")"
			}
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// groupDigits writes n with dots between thousands, as FormatVND does: 1.000.
func groupDigits(n int64) string {
	return strings.TrimSuffix(campaign.FormatVND(n), " đ")
}

// label returns the label of code, or the code itself when it has none.
func label(labels map[string]string, code string) string {
	if l, ok := labels[code]; ok {
		return l
	}
	return code
}

// orDefault returns s, or def when s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func textCell(s string) cell {
	if s == "" {
		return cell{}
	}
	return cell{kind: cellText, text: s}
}

// str returns v as a string when it is a string or a string type (the campaign's codes); nil is "".
func str(v any) (string, bool) {
	switch s := v.(type) {
	case string:
		return s, true
	case nil:
		return "", true
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.String {
		return rv.String(), true
	}
	return "", false
}

// stringList returns v as strings when it is a slice of a string type ([]string, pq.StringArray,
// []campaign.Need...).
func stringList(v any) ([]string, bool) {
	if l, ok := v.([]string); ok {
		return l, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice || rv.Type().Elem().Kind() != reflect.String {
		return nil, false
	}
	out := make([]string, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).String()
	}
	return out, true
}

// csvText is the cell's text in a CSV file.
func (c cell) csvText() string {
	switch c.kind {
	case cellText:
		return neutralizeFormula(c.text)
	case cellNumber, cellMoney:
		// Plain digits, so the number reads back as a number whatever the reader's locale.
		return strconv.FormatInt(c.num, 10)
	case cellDate:
		return c.t.Format(dateLayout)
	case cellTime:
		return c.t.Format(dateTimeLayout)
	}
	return ""
}

// neutralizeFormula keeps a spreadsheet from running a text as a formula when it opens the CSV:
// names and addresses are typed by the public, and "=HYPERLINK(...)" in one would run on an
// official's computer. A leading apostrophe makes the cell text (OWASP's advice). Phone numbers
// ("+8490*****567") start with a plus too but are left alone: digits, stars and spaces are no
// formula that does harm.
func neutralizeFormula(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '@', '\t', '\r':
		return "'" + s
	case '+', '-':
		if strings.Trim(s[1:], "0123456789* ") != "" {
			return "'" + s
		}
	}
	return s
}
