package jobs_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/jobs"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestEnsureDir_Private(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "reports")
	if err := jobs.EnsureDir(dir); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("new dir mode = %s", m)
	}
	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := jobs.EnsureDir(open); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, open); m != 0o700 {
		t.Errorf("existing dir left at %s", m)
	}
	if err := jobs.EnsureDir(""); err == nil {
		t.Error("an empty dir was accepted")
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "chart.png")
	if err := jobs.WriteFileAtomic(path, func(w io.Writer) error { _, err := io.WriteString(w, "one"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "one" {
		t.Errorf("content = %q", b)
	}
	if m := mode(t, path); m != 0o600 {
		t.Errorf("mode = %s", m)
	}
	// A write that fails midway leaves the old file whole and no temporary file behind.
	boom := errors.New("boom")
	err := jobs.WriteFileAtomic(path, func(w io.Writer) error { _, _ = io.WriteString(w, "tw"); return boom })
	if !errors.Is(err, boom) {
		t.Errorf("err = %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "one" {
		t.Errorf("after a failed write the file holds %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("dir holds %d entries, want the file alone", len(entries))
	}
}

func TestCleanOld(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	files := map[string]time.Duration{"old.png": 8 * 24 * time.Hour, ".tmp-half.png-123": 9 * 24 * time.Hour, "new.png": time.Hour, "week.xlsx": 6 * 24 * time.Hour}
	for name, age := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	sub := filepath.Join(dir, "keep")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(sub, now.Add(-30*24*time.Hour), now.Add(-30*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	n, err := jobs.CleanOld(dir, jobs.KeepReports)
	if err != nil || n != 2 {
		t.Errorf("CleanOld = %d, %v; want 2 removed", n, err)
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if want := []string{"keep", "new.png", "week.xlsx"}; !slices.Equal(left, want) {
		t.Errorf("left %q, want %q", left, want)
	}
	if n, err := jobs.CleanOld(filepath.Join(dir, "missing"), time.Hour); n != 0 || err != nil {
		t.Errorf("missing dir: %d, %v", n, err)
	}
}
