package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Retention keeps personal data no longer than the campaign says, and erases a family's on
// request, wherever it lives: the database (campaign.ErasureStore, which says table by table what
// goes and what stays), the family's dialog in Redis, what a channel remembers of the chat, and
// the reports directory.
//
// As a job, Run anonymises everything of the campaign once its retention is over
// (Campaign.RetentionEnd: the end of the day RetentionMonths after the campaign's End). The
// Scheduler claims one run a day; each record is erased once, by whichever run first finds it,
// so the runs after the first find nothing left and change nothing.
//
// As the campaign.Eraser, Erase erases one registration: the flows' /mydata and an
// administrator's erase command call it.
//
// The reports directory holds charts (PNG, ward figures only) and the final report's workbooks,
// which list children. An erasure removes every workbook there, and fails the outbox messages
// that were still to send one (the officials export again: an export reads the records as they
// are now, erased ones as anonymous rows that still count); the retention run removes those
// written before the retention's end. Exports made by /export are temporary files removed once
// sent, so none is left to remove.
type Retention struct {
	Campaign *campaign.Campaign
	Store    campaign.ErasureStore
	// Dialogs forgets a chat's dialog (storage/redis.Store); nil leaves dialogs to their expiry.
	Dialogs DialogEraser
	// Chats, by channel, forget what a channel adapter remembers of a chat (Zalo's numbered lists,
	// storage/redis.ChannelState); a channel without one remembers nothing worth erasing.
	Chats map[string]ChatForgetter
	// Dir is the reports directory (REPORTS_DIR); "" leaves files alone.
	Dir string
	Now func() time.Time
}

var _ campaign.Eraser = (*Retention)(nil)

// DialogEraser forgets what a chat's dialog holds (storage/redis.Store.EraseDialog).
type DialogEraser interface {
	EraseDialog(ctx context.Context, channel, chatID string) (held bool, err error)
}

// ChatForgetter forgets what a channel adapter keeps about a chat
// (storage/redis.ChannelState.ForgetChat).
type ChatForgetter interface {
	ForgetChat(ctx context.Context, chatID string) error
}

// RetentionResult is what one run of Retention did.
type RetentionResult struct {
	Date string `json:"date"`
	// Skipped says why nothing was done: the retention is not over.
	Skipped string `json:"skipped,omitempty"`
	campaign.Anonymization
	// FilesRemoved counts the workbooks removed from the reports directory; Withdrawn the
	// outbox messages that were still to send one.
	FilesRemoved int `json:"files_removed"`
	Withdrawn    int `json:"withdrawn"`
}

// Run anonymises, once the retention is over, what the campaign still holds of people: the store
// erases every registration and anonymises its donors' pledges, then the workbooks written before
// the retention's end leave the reports directory. Before that it does nothing. Dialogs need no
// pass of their own: Redis forgets a form a day after its idle expiry.
func (j *Retention) Run(ctx context.Context, t Tick) (RetentionResult, error) {
	res := RetentionResult{Date: j.Campaign.LocalDate(t.ScheduledFor).Format(time.DateOnly)}
	end := j.Campaign.RetentionEnd()
	if !j.Campaign.RetentionOver(j.Now()) {
		res.Skipped = "personal data is kept until " + end.Add(-time.Nanosecond).Format(time.DateOnly)
		return res, nil
	}
	a, err := j.Store.AnonymizeExpired(ctx)
	res.Anonymization = a
	if err != nil {
		return res, fmt.Errorf("retention: %w", err)
	}
	removed, withdrawn, err := j.removeWorkbooks(ctx, end)
	res.FilesRemoved, res.Withdrawn = removed, withdrawn
	return res, err
}

// Erase erases the registration code everywhere (see campaign.Eraser): the store's transaction
// first, which is what counts; then the family's dialog and what the channel remembers of the
// chat; then every workbook of the reports directory. A dialog or a file that could not be
// cleared is returned as an error beside the Erasure: the dialog expires within a day of its
// idle expiry and the files within KeepReports anyway, and erasing again (Already) clears the
// files again.
//
// With reason campaign.ErasureFamilySelf the family erases from its own chat, in a turn that
// saves its dialog when it ends: the dialog is left to that save (erasing it under the turn
// would only make the save conflict and the turn run again), which should be an empty one.
func (j *Retention) Erase(ctx context.Context, code, by string, reason campaign.ErasureReason) (campaign.Erasure, error) {
	e, err := j.Store.EraseRegistration(ctx, code, by, reason)
	if err != nil {
		return campaign.Erasure{}, err
	}
	var errs []error
	if family := e.Family; family.ChatID != "" {
		if j.Dialogs != nil && reason != campaign.ErasureFamilySelf {
			held, err := j.Dialogs.EraseDialog(ctx, family.Channel, family.ChatID)
			e.DialogErased = held
			if err != nil {
				errs = append(errs, fmt.Errorf("erase %s: dialog: %w", e.Code, err))
			}
		}
		if f := j.Chats[family.Channel]; f != nil {
			if err := f.ForgetChat(ctx, family.ChatID); err != nil {
				errs = append(errs, fmt.Errorf("erase %s: channel state: %w", e.Code, err))
			}
		}
	}
	removed, _, err := j.removeWorkbooks(ctx, time.Time{})
	e.FilesRemoved = removed
	if err != nil {
		errs = append(errs, fmt.Errorf("erase %s: %w", e.Code, err))
	}
	return e, errors.Join(errs...)
}

// removeWorkbooks removes the regular files of the reports directory that are not charts (PNG):
// the final report's workbooks and leftovers of interrupted writes. With before set, only those
// last written before it (the file system's clock, as CleanOld reads it). The outbox messages
// still queued to send a removed file are withdrawn. It returns how many files went and how many
// messages were withdrawn.
func (j *Retention) removeWorkbooks(ctx context.Context, before time.Time) (removed, withdrawn int, err error) {
	if j.Dir == "" {
		return 0, 0, nil
	}
	entries, err := os.ReadDir(j.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("reports directory: %w", err)
	}
	var paths []string
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.EqualFold(filepath.Ext(e.Name()), ".png") {
			continue
		}
		if !before.IsZero() {
			fi, err := e.Info()
			if err != nil || !fi.ModTime().Before(before) {
				continue
			}
		}
		path := filepath.Join(j.Dir, e.Name())
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		paths = append(paths, path)
	}
	if len(paths) > 0 {
		syncDir(j.Dir)
		withdrawn, err = j.Store.WithdrawFiles(ctx, paths)
		if err != nil {
			errs = append(errs, fmt.Errorf("withdraw removed files: %w", err))
		}
	}
	if len(errs) > 0 {
		return len(paths), withdrawn, fmt.Errorf("reports directory: %w", errors.Join(errs...))
	}
	return len(paths), withdrawn, nil
}
