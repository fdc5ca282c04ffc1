package telegram

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/thuduc/maytinhchoem/chat"
)

// Telegram's limits on what a bot sends.
const (
	maxTextUnits     = 4096 // UTF-16 units of a message text
	maxCaptionUnits  = 1024 // UTF-16 units of a photo or document caption
	maxCallbackBytes = 64   // bytes of an inline button's callback data
	maxNoticeUnits   = 200  // UTF-16 units of a callback answer's text
)

// Send sends r: one message (several when the text is over Telegram's 4096 characters, split at
// line breaks, the buttons under the last), or an edit of the pressed message when r asks for one.
// A button press in r.AckID is answered first with r.Ack, so the user's spinner stops; a
// failed answer is only logged. A Reply with no text only answers the button press. A Reply with a
// File sends the file instead, with the text as its caption (see sendFileReply).
//
// A Telegram message carries one reply_markup: inline buttons together with a new reply keyboard
// are refused unless the text is long enough to be split (the keyboard goes with the first part);
// with EndContactRequest the inline buttons win and the removal is dropped, which is harmless as reply
// keyboards are sent one-time.
//
// Send does not wait or retry: a 429 comes back as *chat.ThrottledError, a blocked bot wraps
// chat.ErrStopped, a message Telegram refuses (or that cannot be sent as it is, such as callback
// data over 64 bytes, found before calling the API) wraps chat.ErrRejected, and other errors
// (network, 5xx) are plain so the caller may retry.
func (a *Adapter) Send(ctx context.Context, r chat.Reply) error {
	if r.Channel != "" && r.Channel != Channel {
		return rejected("reply for channel %q", r.Channel)
	}
	chatID, err := parseChatID(r.ChatID)
	if err != nil {
		return err
	}
	if err := validateOutput(r.Output); err != nil {
		return err
	}
	if r.AckID != "" {
		a.answerCallback(ctx, r.AckID, r.Ack)
	}
	if r.File != nil {
		return a.sendFileReply(ctx, chatID, r.Output)
	}
	if strings.TrimSpace(r.Text) == "" {
		return nil
	}
	if messageID, err := strconv.Atoi(r.ReplaceID); err == nil && messageID != 0 && r.Replace &&
		r.AskContact == nil && !r.EndContactRequest && utf16Len(r.Text) <= maxTextUnits {
		edited, err := a.editText(ctx, chatID, messageID, r.Text, r.Buttons)
		if edited || err != nil {
			return err
		}
	}
	return a.sendText(ctx, chatID, r.Output)
}

// validateOutput finds what Telegram would refuse before anything is sent.
func validateOutput(o chat.Output) error {
	for _, row := range o.Buttons {
		for _, b := range row {
			if b.Text == "" {
				return rejected("inline button with data %q has no text", b.Data)
			}
			if n := len(b.Data); n == 0 || n > maxCallbackBytes {
				return rejected("callback data %q is %d bytes, Telegram takes 1 to %d", b.Data, n, maxCallbackBytes)
			}
		}
	}
	if c := o.AskContact; c != nil {
		if strings.TrimSpace(c.Label) == "" {
			return rejected("a request for the phone has no button text")
		}
		for _, s := range c.Suggestions {
			if strings.TrimSpace(s) == "" {
				return rejected("a suggested answer has no text")
			}
		}
	}
	if o.File != nil {
		return validateFile(o.File)
	}
	keyboardChange := o.AskContact != nil || o.EndContactRequest
	if strings.TrimSpace(o.Text) == "" && (len(o.Buttons) > 0 || keyboardChange) {
		return rejected("a message with buttons needs a text")
	}
	if len(o.Buttons) > 0 && o.AskContact != nil && len(splitText(o.Text, maxTextUnits)) < 2 {
		// One message carries one reply_markup: inline buttons or a reply keyboard, not both.
		return rejected("a message cannot carry both inline buttons and a reply keyboard")
	}
	return nil
}

func parseChatID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id == 0 {
		return 0, rejected("chat id %q is not a Telegram chat id", s)
	}
	return id, nil
}

// answerCallback acknowledges a button press; a failure is logged, the reply still goes out.
//
// A press is answered at most once: Telegram refuses a second answer ("query is too old ... or
// query ID is invalid"), and a Reply carrying the press comes here again whenever the sender
// retries it after a 429 or a network error on the message itself, or when the bot apologised
// for an update it then handled. An answer that failed on the way (network, 5xx, 429) may be
// tried again; one Telegram refused stays done.
func (a *Adapter) answerCallback(ctx context.Context, id, notice string) {
	if !a.answers.claim(id, time.Now()) {
		return
	}
	notice = truncateUnits(notice, maxNoticeUnits)
	err := a.call(ctx, a.httpTimeout, "answerCallbackQuery", func(api *tgbotapi.BotAPI) (*tgbotapi.APIResponse, error) {
		return api.Request(tgbotapi.NewCallback(id, notice))
	})
	if err != nil {
		if code := errorCode(err); code == 0 || code == http.StatusTooManyRequests || code >= 500 {
			a.answers.release(id)
		}
		a.log.Warn("telegram: answer button press", "err", err)
	}
}

// answerMemory is how long a press is remembered as answered: far longer than Telegram lets a
// press be answered, and than a reply is retried.
const answerMemory = time.Hour

// answeredQueries remembers the button presses this process has answered, so each is answered
// once. Another replica does not know them; a press goes to the replica handling its update, and
// its retries stay there.
type answeredQueries struct {
	mu    sync.Mutex
	at    map[string]time.Time
	swept time.Time
}

// claim reports whether id is not answered yet, and marks it answered.
func (q *answeredQueries) claim(id string, now time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.at == nil {
		q.at = map[string]time.Time{}
	}
	if now.Sub(q.swept) > time.Minute {
		for k, t := range q.at {
			if now.Sub(t) > answerMemory {
				delete(q.at, k)
			}
		}
		q.swept = now
	}
	if _, done := q.at[id]; done {
		return false
	}
	q.at[id] = now
	return true
}

// release forgets id, after an answer that may not have reached Telegram.
func (q *answeredQueries) release(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.at, id)
}

// editText replaces the pressed message's text and inline buttons. edited is false (with no error)
// when the message cannot be edited (too old, deleted, not a text) and a new one must be sent.
func (a *Adapter) editText(ctx context.Context, chatID int64, messageID int, text string, inline [][]chat.Button) (edited bool, err error) {
	cfg := tgbotapi.NewEditMessageText(chatID, messageID, text)
	if len(inline) > 0 {
		markup := inlineMarkup(inline)
		cfg.ReplyMarkup = &markup
	}
	err = a.call(ctx, a.httpTimeout, "editMessageText", func(api *tgbotapi.BotAPI) (*tgbotapi.APIResponse, error) {
		return api.Request(cfg)
	})
	switch {
	case err == nil:
		return true, nil
	case descriptionHas(err, "message is not modified"):
		// A double tap on the same option: the message already shows what it should.
		return true, nil
	case errorCode(err) == 400:
		a.log.Debug("telegram: message not editable, sending a new one", "chat", chatID, "err", err)
		return false, nil
	}
	return false, err
}

// sendText sends o.Text, split into parts Telegram takes, the reply keyboard change on the first
// part and the inline buttons on the last.
func (a *Adapter) sendText(ctx context.Context, chatID int64, o chat.Output) error {
	parts := splitText(o.Text, maxTextUnits)
	for i, part := range parts {
		msg := tgbotapi.NewMessage(chatID, part)
		first, last := i == 0, i == len(parts)-1
		switch {
		case last && len(o.Buttons) > 0:
			msg.ReplyMarkup = inlineMarkup(o.Buttons)
		case first && o.AskContact != nil:
			msg.ReplyMarkup = replyKeyboard(o.AskContact)
		case first && o.EndContactRequest:
			msg.ReplyMarkup = tgbotapi.NewRemoveKeyboard(false)
		}
		err := a.call(ctx, a.httpTimeout, "sendMessage", func(api *tgbotapi.BotAPI) (*tgbotapi.APIResponse, error) {
			return api.Request(msg)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func inlineMarkup(rows [][]chat.Button) tgbotapi.InlineKeyboardMarkup {
	markup := tgbotapi.InlineKeyboardMarkup{InlineKeyboard: make([][]tgbotapi.InlineKeyboardButton, 0, len(rows))}
	for _, row := range rows {
		if len(row) == 0 {
			continue
		}
		buttons := make([]tgbotapi.InlineKeyboardButton, 0, len(row))
		for _, b := range row {
			buttons = append(buttons, tgbotapi.NewInlineKeyboardButtonData(b.Text, b.Data))
		}
		markup.InlineKeyboard = append(markup.InlineKeyboard, buttons)
	}
	return markup
}

// replyKeyboard asks for the phone with Telegram's one-time reply keyboard: the request_contact
// button first, then each suggested answer on a row of its own (pressing one sends its text).
func replyKeyboard(c *chat.ContactRequest) tgbotapi.ReplyKeyboardMarkup {
	keyboard := [][]tgbotapi.KeyboardButton{{{Text: c.Label, RequestContact: true}}}
	for _, s := range c.Suggestions {
		keyboard = append(keyboard, []tgbotapi.KeyboardButton{{Text: s}})
	}
	return tgbotapi.ReplyKeyboardMarkup{Keyboard: keyboard, ResizeKeyboard: true, OneTimeKeyboard: true}
}

// SendDocument sends data as a file named name with a caption; errors are those of Send. A caption
// over Telegram's 1024 characters follows the file as a message.
func (a *Adapter) SendDocument(ctx context.Context, chatID, name string, data []byte, caption string) error {
	return a.sendFile(ctx, "sendDocument", chatID, name, data, caption)
}

// SendPhoto sends data (a JPEG or PNG image) as a photo with a caption; errors are those of Send.
func (a *Adapter) SendPhoto(ctx context.Context, chatID, name string, data []byte, caption string) error {
	return a.sendFile(ctx, "sendPhoto", chatID, name, data, caption)
}

func (a *Adapter) sendFile(ctx context.Context, method, chatID, name string, data []byte, caption string) error {
	id, err := parseChatID(chatID)
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return rejected("%s: %q is empty", method, name)
	}
	if name == "" {
		name = "file"
	}
	caption = strings.TrimSpace(caption)
	rest := ""
	if utf16Len(caption) > maxCaptionUnits {
		caption, rest = "", caption
	}
	file := tgbotapi.FileBytes{Name: name, Bytes: data}
	var c tgbotapi.Chattable
	if method == "sendPhoto" {
		cfg := tgbotapi.NewPhoto(id, file)
		cfg.Caption = caption
		c = cfg
	} else {
		cfg := tgbotapi.NewDocument(id, file)
		cfg.Caption = caption
		c = cfg
	}
	err = a.call(ctx, 3*a.httpTimeout, method, func(api *tgbotapi.BotAPI) (*tgbotapi.APIResponse, error) {
		return api.Request(c)
	})
	if err != nil || rest == "" {
		return err
	}
	return a.sendText(ctx, id, chat.Output{Text: rest})
}

// truncateUnits shortens s to at most limit UTF-16 units, ending it with "…" when cut.
func truncateUnits(s string, limit int) string {
	if utf16Len(s) <= limit {
		return s
	}
	units := 0
	for i, r := range s {
		w := 1
		if r >= 0x10000 {
			w = 2
		}
		if units+w > limit-1 {
			return s[:i] + "…"
		}
		units += w
	}
	return s
}

// utf16Len counts UTF-16 code units, the unit Telegram measures texts in.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// splitText cuts s into parts of at most limit UTF-16 units: at the last line break of the window
// when it is in its second half, else at the last space there, else at any line break or space,
// else between two characters. Parts are trimmed, and empty parts dropped, as Telegram would.
func splitText(s string, limit int) []string {
	var parts []string
	for {
		s = strings.TrimSpace(s)
		if s == "" {
			return parts
		}
		if utf16Len(s) <= limit {
			return append(parts, s)
		}
		window, units := 0, 0
		for i, r := range s {
			w := 1
			if r >= 0x10000 {
				w = 2
			}
			if units+w > limit {
				break
			}
			units += w
			window = i + utf8.RuneLen(r)
		}
		if window == 0 {
			window = len(s) // unreachable with limit >= 2; guards against an endless loop
		}
		// The byte after the window may be the separator: cutting there still fits.
		cut := cutPoint(s[:min(window+1, len(s))], window)
		parts = append(parts, strings.TrimSpace(s[:cut]))
		s = s[cut:]
	}
}

// cutPoint is where to end the part: a cut at most limit bytes into text, which is the window
// and possibly the byte after it. The separator stays in the rest, where trimming drops it.
func cutPoint(text string, limit int) int {
	half := limit / 2
	nl := strings.LastIndexByte(text, '\n')
	sp := strings.LastIndexAny(text, " \t")
	switch {
	case nl >= half:
		return nl
	case sp >= half:
		return sp
	case nl > 0:
		return nl
	case sp > 0:
		return sp
	}
	return limit
}
