package campaigntest_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const self = "github.com/thuduc/maytinhchoem/campaign/campaigntest"

// The fakes are test support: no code of the bot may import them, and they lean on the domain
// alone, so that any package's tests can use them.
func TestImportedByTestsOnly(t *testing.T) {
	root := filepath.Join("..", "..")
	here := filepath.Join(root, "campaign", "campaigntest")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		inHere := filepath.Dir(path) == here
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			switch {
			case p == self:
				t.Errorf("%s imports %s, which is for tests only", path, self)
			case inHere && strings.HasPrefix(p, "github.com/thuduc/maytinhchoem/") && p != "github.com/thuduc/maytinhchoem/campaign":
				t.Errorf("%s imports %s; the fakes may import only campaign of this module", path, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
