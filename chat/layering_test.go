package chat_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/thuduc/maytinhchoem/"

// The seam holds only while the packages around it keep to their side: the conversations never
// know a channel, and a channel adapter never knows the conversations (DESIGN.md's house).
func TestLayering(t *testing.T) {
	allowed := map[string][]string{
		"chat":         {},
		"campaign":     {},
		"flows":        {"campaign", "chat", "locales"},
		"bot/telegram": {"chat"},
		"bot/zalo":     {"chat"},
		// The catalog of words is read by the conversations, the exports and the chart alike
		// (issue 14): it knows none of them.
		"locales": {},
		"export":  {"campaign", "locales"},
		"chart":   {"campaign", "locales"},
	}
	for dir, ok := range allowed {
		for _, imp := range internalImports(t, filepath.Join("..", dir)) {
			if !slices.Contains(ok, imp) {
				t.Errorf("%s imports %s; it may import only %v of this module", dir, imp, ok)
			}
		}
	}
}

// Telegram's words stay in its adapter: flows names no Telegram type, limit or link.
func TestFlowsNameNoChannel(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "flows", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no flows files: %v", err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, word := range []string{"tgbotapi", "t.me/", "telegram", "Telegram", "callback_data", "reply_markup", "UTF-16", "zalo", "Zalo"} {
			if strings.Contains(string(data), word) {
				t.Errorf("%s mentions %q", f, word)
			}
		}
	}
}

// internalImports lists the packages of this module that the non-test Go files of dir import,
// relative to the module.
func internalImports(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range file.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if rest, ok := strings.CutPrefix(path, module); ok && !slices.Contains(out, rest) {
				out = append(out, rest)
			}
		}
	}
	return out
}
