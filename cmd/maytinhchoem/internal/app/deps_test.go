package app

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The serving bot links no emulator, test support or seed generator: neither this package (the
// serve wiring) nor the binary built as the image builds it (-tags serveonly), while the full
// build, which has the demo, seed and loadtest commands, does link them (so the check can fail).
func TestServeDeps_NoEmulatorOrSeed(t *testing.T) {
	const module = "github.com/thuduc/maytinhchoem/"
	// forbidden says why a package must stay out of the serving binary, "" when it may be in it.
	forbidden := func(pkg string) string {
		switch {
		case strings.HasPrefix(pkg, module) && strings.HasSuffix(pkg, "test"):
			return "an emulator or test support (telegramtest, zalotest, postgrestest, ...)"
		case pkg == module+"storage/postgres/seed":
			return "the seed generator"
		case strings.HasPrefix(pkg, "github.com/alicebob/miniredis"):
			return "the demo's in-process Redis"
		}
		return ""
	}
	deps := func(args ...string) []string {
		t.Helper()
		out, err := exec.Command("go", append([]string{"list", "-deps"}, args...)...).Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("go list -deps %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return strings.Fields(string(out))
	}
	for _, args := range [][]string{
		{module + "cmd/maytinhchoem/internal/app"},
		{"-tags", "serveonly", module + "cmd/maytinhchoem"},
	} {
		list := deps(args...)
		if !slices.Contains(list, module+"storage/postgres") {
			t.Fatalf("go list -deps %s does not list storage/postgres: %q", strings.Join(args, " "), list)
		}
		for _, pkg := range list {
			if why := forbidden(pkg); why != "" {
				t.Errorf("go list -deps %s lists %s, %s", strings.Join(args, " "), pkg, why)
			}
		}
	}
	full := deps(module + "cmd/maytinhchoem")
	for _, pkg := range []string{"bot/telegram/telegramtest", "bot/zalo/zalotest", "storage/postgres/seed"} {
		if !slices.Contains(full, module+pkg) {
			t.Errorf("the full build does not link %s: is the check above still looking at the right names?", pkg)
		}
	}
}
