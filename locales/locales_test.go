package locales

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

// messageID is what a message id looks like in the code; every other string literal is not one.
var messageID = regexp.MustCompile(`^(common|contact|mydata|talk|reg|status|lang|cmd|err|staff|pledge|intake|case|verify|alloc|deliver|parent|find|export|summary|notify|broadcast|import|claim|assist|sheet|chart)\.[a-z0-9_]+(\.[a-z0-9_]+)*$`)

// users are the packages that take their words from the catalog (with their sub-packages), and
// the fewest ids each is known to use, so that a scan finding none fails rather than passes.
var users = map[string]int{"flows": 50, "export": 50, "chart": 10}

// idsInCode returns the message ids written in the users' (non-test) Go files, with where. Ids
// are only ever written whole, as literals (no "reg." + name), so this finds them all.
func idsInCode(t *testing.T) map[string]string {
	t.Helper()
	ids := map[string]string{}
	fset := token.NewFileSet()
	for dir, least := range users {
		found := map[string]bool{}
		err := filepath.WalkDir(filepath.Join("..", dir), func(name string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, name, nil, 0)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				if err == nil && messageID.MatchString(s) {
					ids[s] = fset.Position(lit.Pos()).String()
					found[s] = true
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(found) < least {
			t.Fatalf("found only %d message ids in %s; is the pattern right?", len(found), dir)
		}
	}
	return ids
}

// TestMessagesInCodeExistInEveryLocale fails on an id the code uses and a locale lacks, and on
// an id of the locales that no code uses.
func TestMessagesInCodeExistInEveryLocale(t *testing.T) {
	cat, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	code := idsInCode(t)
	for id, pos := range code {
		for _, lang := range languages {
			if _, ok := slices.BinarySearch(cat.IDs(lang), id); !ok {
				t.Errorf("%s: message %q is missing in locales/%s", pos, id, lang)
			}
		}
	}
	for _, id := range cat.IDs(VI) {
		if _, ok := code[id]; !ok {
			t.Errorf("message %q in the locales is used nowhere in the code", id)
		}
	}
}

// rawLocale reads <lang>/*.json as id -> string or plural forms.
func rawLocale(t *testing.T, lang string) map[string]any {
	t.Helper()
	names, _ := fs.Glob(files, lang+"/*.json")
	out := map[string]any{}
	for _, f := range names {
		b, err := fs.ReadFile(files, f)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

var templateVar = regexp.MustCompile(`\{\{\s*\.([A-Za-z]+)\s*\}\}`)

func vars(s string) []string {
	var v []string
	for _, m := range templateVar.FindAllStringSubmatch(s, -1) {
		v = append(v, m[1])
	}
	slices.Sort(v)
	return slices.Compact(v)
}

// TestLocalesAgree checks that both languages have the same ids, the same template variables in
// each message, and "one" and "other" forms wherever a count is used.
func TestLocalesAgree(t *testing.T) {
	vi, en := rawLocale(t, VI), rawLocale(t, EN)
	for id, v := range vi {
		e, ok := en[id]
		if !ok {
			t.Errorf("%q is in vi and not in en", id)
			continue
		}
		forms := func(x any) map[string]string {
			switch x := x.(type) {
			case string:
				return map[string]string{"other": x}
			case map[string]any:
				m := map[string]string{}
				for k, s := range x {
					m[k], _ = s.(string)
				}
				return m
			}
			t.Errorf("%q: unexpected value %T", id, x)
			return nil
		}
		fv, fe := forms(v), forms(e)
		var all []string
		for _, m := range []map[string]string{fv, fe} {
			for form, s := range m {
				if strings.TrimSpace(s) == "" {
					t.Errorf("%q: empty %s form", id, form)
				}
				all = append(all, strings.Join(vars(s), ","))
			}
			if slices.Contains(vars(m["other"]), "Count") && (m["one"] == "" || m["other"] == "") {
				t.Errorf("%q uses a count but lacks a one or other form: %v", id, m)
			}
		}
		for _, a := range all {
			if a != all[0] {
				t.Errorf("%q: languages or forms use different template fields: %q", id, all)
				break
			}
		}
	}
	for id := range en {
		if _, ok := vi[id]; !ok {
			t.Errorf("%q is in en and not in vi", id)
		}
	}
}

// TestLoadFS_Refuses checks that a locale lacking an id, or an id given twice, is refused, so
// nothing starts with it.
func TestLoadFS_Refuses(t *testing.T) {
	tests := map[string]fstest.MapFS{
		"en lacks an id": {
			"vi/a.json": {Data: []byte(`{"a.x": "X", "a.y": "Y"}`)},
			"en/a.json": {Data: []byte(`{"a.x": "X"}`)},
		},
		"vi lacks an id": {
			"vi/a.json": {Data: []byte(`{"a.x": "X"}`)},
			"en/a.json": {Data: []byte(`{"a.x": "X", "a.y": "Y"}`)},
		},
		"id twice": {
			"vi/a.json": {Data: []byte(`{"a.x": "X"}`)},
			"vi/b.json": {Data: []byte(`{"a.x": "X"}`)},
			"en/a.json": {Data: []byte(`{"a.x": "X"}`)},
		},
		"no English": {
			"vi/a.json": {Data: []byte(`{"a.x": "X"}`)},
		},
		"bad json": {
			"vi/a.json": {Data: []byte(`{"a.x": `)},
			"en/a.json": {Data: []byte(`{"a.x": "X"}`)},
		},
	}
	for name, fsys := range tests {
		if _, err := LoadFS(fsys); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
	ok := fstest.MapFS{
		"vi/a.json": {Data: []byte(`{"a.n": {"one": "{{.Count}} hồ sơ", "other": "{{.Count}} hồ sơ"}}`)},
		"en/a.json": {Data: []byte(`{"a.n": {"one": "{{.Count}} record", "other": "{{.Count}} records"}}`)},
	}
	cat, err := LoadFS(ok)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		lang  string
		count int
		want  string
	}{{"vi", 1, "1 hồ sơ"}, {"vi", 3, "3 hồ sơ"}, {"en", 1, "1 record"}, {"en", 3, "3 records"}, {"fr", 3, "3 hồ sơ"}} {
		if got, err := cat.Text(tt.lang, "a.n", map[string]any{"Count": tt.count}); err != nil || got != tt.want {
			t.Errorf("text(%s, %d) = %q, %v; want %q", tt.lang, tt.count, got, err, tt.want)
		}
	}
	if got, err := cat.Text("vi", "a.missing", nil); err == nil || got != "a.missing" {
		t.Errorf("missing message: %q, %v", got, err)
	}
}

func TestLoad_Once(t *testing.T) {
	a, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := Load(); a != b {
		t.Error("Load read the files again")
	}
	if s, err := a.Text("fr", "cmd.start", nil); err != nil || s == "" {
		t.Errorf("a language the catalog lacks: %q, %v; want the Vietnamese", s, err)
	}
	if v, _ := a.Text(VI, "cmd.start", nil); v == "" || v != mustText(t, a, "xx", "cmd.start") {
		t.Errorf("fallback is not Vietnamese")
	}
}

func mustText(t *testing.T, c *Catalog, lang, id string) string {
	t.Helper()
	s, err := c.Text(lang, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestText_Plain: a message without data is rendered once and kept; what is kept is what
// rendering gives, per language (a language the catalog lacks is Vietnamese's), and data still
// fills a template; a missing message is never kept.
func TestText_Plain(t *testing.T) {
	cat, err := LoadFS(fstest.MapFS{
		"vi/a.json": {Data: []byte(`{"a.hi": "Chào", "a.name": "Chào {{.Name}}"}`)},
		"en/a.json": {Data: []byte(`{"a.hi": "Hello", "a.name": "Hello {{.Name}}"}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second time from what was kept
		for _, tt := range []struct{ lang, id, want string }{
			{"vi", "a.hi", "Chào"}, {"en", "a.hi", "Hello"}, {"fr", "a.hi", "Chào"},
		} {
			if got, err := cat.Text(tt.lang, tt.id, nil); err != nil || got != tt.want {
				t.Errorf("Text(%s, %s) = %q, %v; want %q", tt.lang, tt.id, got, err, tt.want)
			}
		}
		if got, _ := cat.Text("en", "a.name", map[string]any{"Name": "Lan"}); got != "Hello Lan" {
			t.Errorf("with data: %q", got)
		}
		if got, err := cat.Text("en", "a.gone", nil); err == nil || got != "a.gone" {
			t.Errorf("missing message: %q, %v; want its id and an error every time", got, err)
		}
	}
	kept := 0
	cat.plain.Range(func(k, v any) bool { kept++; return true })
	if kept != 2 {
		t.Errorf("%d messages kept, want 2 (a.hi in vi and en)", kept)
	}
}
