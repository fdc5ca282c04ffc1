package export

import (
	"fmt"
	"slices"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/locales"
)

// words are an export's words in one language, looked up in the catalog (package locales) once
// an export, so that writing a cell is a map lookup.
type words struct {
	// sheets are the sheets with their titles, headers, labels and default words in the language.
	sheets     []*sheetSpec
	anonymous  string
	staffRoles map[string]string
	nouns      map[campaign.ItemKind]string
	months     string // after a package's months: "6 tháng"
	used       string // a pledged device that is not new
	incomplete string // a pledged device without all its accessories
}

// wordsIn returns the export's words in lang; it fails on a message the catalog lacks, which the
// catalog's tests rule out.
func wordsIn(lang string) (*words, error) {
	cat, err := locales.Load()
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	var missing error
	text := func(id string) string {
		if id == "" {
			return ""
		}
		s, err := cat.Text(lang, id, nil)
		if err != nil && missing == nil {
			missing = fmt.Errorf("export: words: %w", err)
		}
		return s
	}
	labels := func(ids map[string]string) map[string]string {
		if ids == nil {
			return nil
		}
		out := make(map[string]string, len(ids))
		for code, id := range ids {
			out[code] = text(id)
		}
		return out
	}
	w := &words{
		anonymous:  text(anonymous),
		staffRoles: labels(staffRoleLabels),
		nouns:      make(map[campaign.ItemKind]string, len(itemNouns)),
		months:     text(months),
		used:       text(used),
		incomplete: text(incomplete),
	}
	for kind, id := range itemNouns {
		w.nouns[kind] = text(id)
	}
	for _, s := range sheets {
		t := *s
		t.title = text(s.title)
		t.columns = slices.Clone(s.columns)
		for i := range t.columns {
			c := &t.columns[i]
			c.header, c.labels, c.empty = text(c.header), labels(c.labels), text(c.empty)
			if c.kind == kindBool {
				c.yes, c.no = text(orDefault(c.yes, yes)), text(orDefault(c.no, no))
			}
		}
		w.sheets = append(w.sheets, &t)
	}
	if missing != nil {
		return nil, missing
	}
	return w, nil
}
