package telegram

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/thuduc/maytinhchoem/chat"
)

const (
	// maxUploadBytes is the largest file a bot may upload (sendDocument over multipart).
	maxUploadBytes = 50 << 20
	// uploadBytesPerSecond is the slowest uplink an upload from disk is given time for.
	uploadBytesPerSecond = 128 << 10
)

// validateFile finds a file reply that names no file, or two.
func validateFile(f *chat.File) error {
	switch {
	case f.Path == "" && f.PhotoID == "":
		return rejected("a file reply names no file")
	case f.Path != "" && f.PhotoID != "":
		return rejected("a file reply names both a file on disk and a photo")
	}
	return nil
}

// sendFileReply sends o.File with o.Text as its caption and o.Buttons under it: a file on disk as
// a document named File.Name (sendDocument) or, for a PNG or JPEG image of at most 10 MB (a
// chart), as a photo (sendPhoto), or a photo Telegram already has by its file_id (sendPhoto). A text over Telegram's 1024-character caption goes first as ordinary messages, the
// inline buttons under the last, and the file follows without a caption. A reply keyboard change
// (AskContact, EndContactRequest) goes with the file when no inline buttons do, so that the engine's
// keyboard removal, which may land on a file reply, is not lost; Replace does not apply.
//
// The file on disk is streamed from an open handle, never read whole: exports run to tens of MB.
// It is opened before anything goes out, so a file that is missing, unreadable, empty, a directory
// or over Telegram's 50 MB is refused with chat.ErrRejected, a failure no retry mends, and the
// text of a long caption is not sent without its file. Removing the file is not the adapter's
// business: a caller may send the same Reply again after a 429 (see bot.Sender). Such a retry
// sends a long caption's text again, as it does the first parts of a long text: PacedSender's
// per-chat pacing keeps 429s rare.
func (a *Adapter) sendFileReply(ctx context.Context, chatID int64, o chat.Output) error {
	f := o.File
	caption := strings.TrimSpace(o.Text)
	method, client, timeout := "sendPhoto", a.http, a.httpTimeout
	var media tgbotapi.RequestFileData = tgbotapi.FileID(f.PhotoID)
	if f.Path != "" {
		file, size, err := openUpload(f.Path)
		if err != nil {
			return err
		}
		// The library closes it after streaming; this covers a call that fails before.
		defer file.Close()
		name := strings.TrimSpace(f.Name)
		if name == "" {
			name = filepath.Base(f.Path)
		}
		media = tgbotapi.FileReader{Name: name, Reader: file}
		method, client = "sendDocument", a.upload
		if isPhotoName(name) && size <= maxPhotoBytes {
			// A chart shows in the chat at once, with no download on a cheap phone.
			method = "sendPhoto"
		}
		timeout = 3*a.httpTimeout + time.Duration(size/uploadBytesPerSecond)*time.Second
	}
	if utf16Len(caption) > maxCaptionUnits {
		text := chat.Output{Text: caption, Buttons: o.Buttons, AskContact: o.AskContact, EndContactRequest: o.EndContactRequest}
		if err := a.sendText(ctx, chatID, text); err != nil {
			return err
		}
		caption = ""
		o.Buttons, o.AskContact, o.EndContactRequest = nil, nil, false
	}
	var markup any
	switch {
	case len(o.Buttons) > 0:
		markup = inlineMarkup(o.Buttons)
	case o.AskContact != nil:
		markup = replyKeyboard(o.AskContact)
	case o.EndContactRequest:
		markup = tgbotapi.NewRemoveKeyboard(false)
	}
	var c tgbotapi.Chattable
	if method == "sendDocument" {
		cfg := tgbotapi.NewDocument(chatID, media)
		cfg.Caption, cfg.ReplyMarkup = caption, markup
		c = cfg
	} else {
		cfg := tgbotapi.NewPhoto(chatID, media)
		cfg.Caption, cfg.ReplyMarkup = caption, markup
		c = cfg
	}
	_, err := a.callWith(ctx, client, timeout, method, func(api *tgbotapi.BotAPI) (*tgbotapi.APIResponse, error) {
		return api.Request(c)
	})
	return err
}

// maxPhotoBytes is Telegram's limit on a photo upload; a bigger image goes as a document.
const maxPhotoBytes = 10 << 20

// isPhotoName reports whether a file sent under name is an image Telegram shows as a photo.
func isPhotoName(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png", ".jpg", ".jpeg":
		return true
	}
	return false
}

// openUpload opens a file to upload and returns its size; what Telegram would refuse, or what
// cannot be read at all, is chat.ErrRejected.
func openUpload(path string) (*os.File, int64, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("telegram: sendDocument: %w: %w", err, chat.ErrRejected)
	}
	info, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, 0, fmt.Errorf("telegram: sendDocument: %w: %w", err, chat.ErrRejected)
	}
	var problem string
	switch {
	case !info.Mode().IsRegular():
		problem = "is not a regular file"
	case info.Size() == 0:
		problem = "is empty"
	case info.Size() > maxUploadBytes:
		problem = fmt.Sprintf("is %d bytes, over Telegram's upload limit of %d", info.Size(), maxUploadBytes)
	}
	if problem != "" {
		file.Close()
		return nil, 0, rejected("sendDocument: %s %s", path, problem)
	}
	return file, info.Size(), nil
}
