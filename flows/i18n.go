package flows

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// Languages the bot talks in. Vietnamese is the default and the fallback.
const (
	langVI = "vi"
	langEN = "en"
)

// localeFS holds the messages: locales/<lang>/*.json, flat keys, go-i18n format (a string, or an
// object of plural forms "one"/"other").
//
//go:embed locales
var localeFS embed.FS

// catalog is the localised messages of every language.
type catalog struct {
	localizers map[string]*i18n.Localizer
	// ids lists the message ids of each language, for the parity check and tests.
	ids map[string][]string
}

// loadCatalog reads locales/<lang>/*.json for vi and en from fsys. It fails when a language has
// an id the other lacks, or when an id appears twice, so a half-translated build never starts.
func loadCatalog(fsys fs.FS) (*catalog, error) {
	bundle := i18n.NewBundle(language.Vietnamese)
	c := &catalog{localizers: map[string]*i18n.Localizer{}, ids: map[string][]string{}}
	for _, lang := range []string{langVI, langEN} {
		files, err := fs.Glob(fsys, path.Join("locales", lang, "*.json"))
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("locales: no files for %s", lang)
		}
		seen := map[string]string{}
		for _, f := range files {
			b, err := fs.ReadFile(fsys, f)
			if err != nil {
				return nil, err
			}
			msgs, err := i18n.ParseMessageBytes(b, json.Unmarshal)
			if err != nil {
				return nil, fmt.Errorf("locales: %s: %w", f, err)
			}
			for _, m := range msgs {
				if prev, dup := seen[m.ID]; dup {
					return nil, fmt.Errorf("locales: %q is in both %s and %s", m.ID, prev, f)
				}
				seen[m.ID] = f
				c.ids[lang] = append(c.ids[lang], m.ID)
			}
			if err := bundle.AddMessages(language.Make(lang), msgs...); err != nil {
				return nil, fmt.Errorf("locales: %s: %w", f, err)
			}
		}
		slices.Sort(c.ids[lang])
		c.localizers[lang] = i18n.NewLocalizer(bundle, lang)
	}
	if d := diff(c.ids[langVI], c.ids[langEN]); d != "" {
		return nil, fmt.Errorf("locales: vi and en differ: %s", d)
	}
	return c, nil
}

// diff describes the ids in one sorted list and not in the other, "" when they are equal.
func diff(vi, en []string) string {
	var out []string
	for _, id := range vi {
		if _, ok := slices.BinarySearch(en, id); !ok {
			out = append(out, id+" only in vi")
		}
	}
	for _, id := range en {
		if _, ok := slices.BinarySearch(vi, id); !ok {
			out = append(out, id+" only in en")
		}
	}
	return strings.Join(out, ", ")
}

// text returns message id in lang with data; a "Count" in data picks the plural form. A missing
// message (which the tests rule out) shows its id rather than nothing.
func (c *catalog) text(lang, id string, data map[string]any) (string, error) {
	l, ok := c.localizers[lang]
	if !ok {
		l = c.localizers[langVI]
	}
	lc := &i18n.LocalizeConfig{MessageID: id, TemplateData: data}
	if n, ok := data["Count"]; ok {
		lc.PluralCount = n
	}
	s, err := l.Localize(lc)
	if err != nil {
		return id, err
	}
	return s, nil
}
