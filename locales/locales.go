// Package locales is the one catalog of the words users read, in Vietnamese and English: the
// conversations' messages (flows), the exports' sheet names, headers and labels (export, ids
// "sheet.*") and the summary chart's words (chart, ids "chart.*"). The words are JSON files,
// <lang>/*.json, flat ids in go-i18n v2 format (a string, or an object of plural forms
// "one"/"other"), compiled into the binary.
package locales

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// Languages of the catalog. Vietnamese is the default and the fallback.
const (
	VI = "vi"
	EN = "en"
)

// languages are the languages every id must have, the fallback first.
var languages = [...]string{VI, EN}

//go:embed vi/*.json en/*.json
var files embed.FS

// Catalog is the localised messages of every language. It is safe for concurrent use.
type Catalog struct {
	localizers map[string]*i18n.Localizer
	// ids lists the message ids of each language, sorted.
	ids map[string][]string
	// plain keeps each message rendered without data, by textKey: most of what a conversation
	// says has none, and go-i18n matches the language and runs the template on every call.
	plain sync.Map
}

// textKey is a message of a language, in Catalog.plain.
type textKey struct{ lang, id string }

// load reads the embedded files once: they never change while the program runs.
var load = sync.OnceValues(func() (*Catalog, error) { return LoadFS(files) })

// Load returns the catalog of the embedded files, read and checked on the first call.
func Load() (*Catalog, error) { return load() }

// LoadFS reads <lang>/*.json for vi and en from fsys. It fails when a language has an id the
// other lacks, or when an id appears twice, so a half-translated build never starts.
func LoadFS(fsys fs.FS) (*Catalog, error) {
	bundle := i18n.NewBundle(language.Vietnamese)
	c := &Catalog{localizers: map[string]*i18n.Localizer{}, ids: map[string][]string{}}
	for _, lang := range languages {
		names, err := fs.Glob(fsys, path.Join(lang, "*.json"))
		if err != nil {
			return nil, err
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("locales: no files for %s", lang)
		}
		seen := map[string]string{}
		for _, f := range names {
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
	if d := diff(c.ids[VI], c.ids[EN]); d != "" {
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

// Text returns message id in lang (Vietnamese for a language the catalog lacks) with data; a
// "Count" in data picks the plural form. A missing message (which the tests rule out) gives its
// id, rather than nothing, and an error.
func (c *Catalog) Text(lang, id string, data map[string]any) (string, error) {
	l, ok := c.localizers[lang]
	if !ok {
		lang, l = VI, c.localizers[VI]
	}
	if len(data) == 0 {
		key := textKey{lang, id}
		if s, ok := c.plain.Load(key); ok {
			return s.(string), nil
		}
		s, err := l.Localize(&i18n.LocalizeConfig{MessageID: id})
		if err != nil {
			return id, err
		}
		c.plain.Store(key, s)
		return s, nil
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

// IDs returns the message ids of lang, sorted; nil for a language the catalog lacks.
func (c *Catalog) IDs(lang string) []string { return slices.Clone(c.ids[lang]) }
