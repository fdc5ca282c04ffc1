package jobs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The reports directory holds the files the jobs send through the outbox: the daily summary's
// charts and the final report's workbooks. An outbox message only names its file (the outbox
// never copies or removes it), so the file must stay where it is until the message is sent, and
// every process that may send the message must see the same directory (one host, or a shared
// volume).
//
// A final report's workbook holds children's personal data, so the directory is private to the
// bot's user: EnsureDir makes it 0700 and the files are written 0600. Do not point it at a folder
// other users or a web server can read.
const (
	// ReportsDirMode is the reports directory's mode: the bot's user only.
	ReportsDirMode os.FileMode = 0o700
	// ReportFileMode is the mode of a file written into the reports directory.
	ReportFileMode os.FileMode = 0o600
	// KeepReports is how long a file stays in the reports directory before DailySummary removes
	// it. The outbox gives up on a message within hours (a few attempts, backoff at most 30
	// minutes), so a week leaves every message that names a file the time to go, and a late
	// manual resend of yesterday's summary still finds its chart.
	KeepReports = 7 * 24 * time.Hour
)

// tempPrefix starts the name of a file being written, so that a crash never leaves a file under
// its final name half written; CleanOld collects such leftovers with the rest.
const tempPrefix = ".tmp-"

// EnsureDir creates dir with its parents, private (ReportsDirMode), and makes an existing dir
// private when others may read it.
func EnsureDir(dir string) error {
	if dir == "" {
		return errors.New("jobs: no reports directory configured")
	}
	if err := os.MkdirAll(dir, ReportsDirMode); err != nil {
		return fmt.Errorf("jobs: reports directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("jobs: reports directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("jobs: reports directory %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		// MkdirAll leaves an existing directory's mode as it was.
		if err := os.Chmod(dir, ReportsDirMode); err != nil {
			return fmt.Errorf("jobs: reports directory %s is open to other users (%s) and cannot be made private: %w",
				dir, fi.Mode().Perm(), err)
		}
	}
	return nil
}

// WriteFileAtomic writes path (ReportFileMode) with what write writes, through a temporary file
// in the same directory renamed over path once complete and synced: a reader (a sender picking
// the file up, another process writing the same file at once) sees the old file or the whole new
// one, never part of one, and a crash leaves at most a temporary file for CleanOld.
func WriteFileAtomic(path string, write func(w io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, tempPrefix+base+"-*")
	if err != nil {
		return fmt.Errorf("jobs: write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err := f.Chmod(ReportFileMode); err != nil {
		return fmt.Errorf("jobs: write %s: %w", path, err)
	}
	if err := write(f); err != nil {
		return fmt.Errorf("jobs: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("jobs: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("jobs: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("jobs: write %s: %w", path, err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename in dir durable. It is best effort: some file systems cannot sync a
// directory, and the worst a lost rename costs is a file the next run writes again.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// moveFile moves src to dst (ReportFileMode), replacing dst. A rename does it when both are on
// one file system; otherwise src is copied through WriteFileAtomic and removed. src is removed
// in every case, also when the move fails: it is an export's temporary file, and holds personal
// data that must not linger in the system's temporary folder.
func moveFile(src, dst string) error {
	defer func() { _ = os.Remove(src) }()
	if err := os.Rename(src, dst); err == nil {
		syncDir(filepath.Dir(dst))
		if err := os.Chmod(dst, ReportFileMode); err != nil {
			return fmt.Errorf("jobs: move %s: %w", dst, err)
		}
		return nil
	}
	// Most likely another file system (EXDEV): copy.
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("jobs: move %s: %w", src, err)
	}
	defer in.Close()
	return WriteFileAtomic(dst, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

// fileReady reports whether path is a regular file with something in it: one that a run before
// this one wrote completely (WriteFileAtomic and moveFile never leave a partial file under its
// final name).
func fileReady(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Size() > 0
}

// CleanOld removes the regular files of dir last modified more than olderThan ago, temporary
// leftovers of crashed writes included, and returns how many it removed. A missing dir has
// nothing to clean. Subdirectories are left alone.
//
// Ages are read on the wall clock (time.Now), not the campaign's injected clock, because the
// file system stamps the files with the wall clock: a demo standing on a 2021 date must not see
// every file as written in its future, nor a test as written years ago.
func CleanOld(dir string, olderThan time.Duration) (removed int, err error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("jobs: clean %s: %w", dir, err)
	}
	cutoff := time.Now().Add(-olderThan)
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		if !fi.ModTime().Before(cutoff) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	if len(errs) > 0 {
		return removed, fmt.Errorf("jobs: clean %s: %w", dir, errors.Join(errs...))
	}
	return removed, nil
}

// fileNamePart keeps a name given by data (a ward code) safe to use in a file name: letters,
// digits, '-' and '_'; anything else becomes '_'.
func fileNamePart(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}
