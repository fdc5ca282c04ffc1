package telegramtest

import (
	"encoding/json"
	"time"
)

// User is a Telegram user on the person's side of a chat.
type User struct {
	ID           int64
	FirstName    string
	LastName     string
	Username     string
	LanguageCode string
}

// Button is an inline keyboard button under a bot message.
type Button struct {
	Text         string
	CallbackData string
	URL          string
}

// KeyboardButton is a reply keyboard button shown in place of the phone's keyboard.
type KeyboardButton struct {
	Text            string
	RequestContact  bool
	RequestLocation bool
}

// Message is a message the bot sent to a chat, in its latest state after any edits.
type Message struct {
	MessageID int
	ChatID    int64
	// Method is the Bot API method that created the message, such as "sendMessage".
	Method string
	Date   time.Time
	// Text is the text as the person sees it: HTML tags removed and entities decoded.
	Text string
	// Caption is the caption of a photo or document, as the person sees it.
	Caption   string
	ParseMode string
	// InlineKeyboard is the inline keyboard under the message, nil when it has none.
	InlineKeyboard [][]Button
	// ReplyKeyboard is the reply keyboard the message brought, nil when it brought none.
	ReplyKeyboard   [][]KeyboardButton
	OneTimeKeyboard bool
	// RemoveKeyboard is true when the message removed the reply keyboard.
	RemoveKeyboard bool
	ForceReply     bool
	// Photo is the file name of a photo, or the URL it was sent by.
	Photo string
	// Document is the file name of a document, or the URL it was sent by.
	Document string
	// FileID is the file_id of the photo (its largest size) or document, by which the bot may send
	// it again; a file sent again by file_id keeps its id.
	FileID string
	// FileData is the content of the photo or document, sent by upload or by file_id; nil for one
	// sent by URL.
	FileData []byte
	// Sticker is the file_id of a sticker.
	Sticker string
	// Contact is the phone number of a contact the bot sent.
	Contact string
	Edited  bool
	Deleted bool
}

// Button finds an inline button by its label.
func (m Message) Button(text string) (Button, bool) {
	for _, row := range m.InlineKeyboard {
		for _, b := range row {
			if b.Text == text {
				return b, true
			}
		}
	}
	return Button{}, false
}

// Buttons lists the labels of the inline buttons, row by row, for compact assertions.
func (m Message) Buttons() []string {
	var out []string
	for _, row := range m.InlineKeyboard {
		for _, b := range row {
			out = append(out, b.Text)
		}
	}
	return out
}

// CallbackAnswer is the bot's answerCallbackQuery to a button press.
type CallbackAnswer struct {
	QueryID   string
	ChatID    int64
	MessageID int
	Data      string
	Text      string
	ShowAlert bool
	URL       string
}

// RejectedCall is a Bot API call answered with 400, 401 or 404: a call the bot got wrong, as
// opposed to a 403, 409 or 429, which describe the world rather than the call.
type RejectedCall struct {
	Method      string
	Code        int
	Description string
	Params      map[string]string
}

// BotCommand is one entry of the bot's command menu.
type BotCommand struct {
	Command     string `json:"command"`
	Description string `json:"description"`
}

// BotMessageEvent tells a load test that the bot sent or edited a message.
type BotMessageEvent struct {
	ChatID    int64
	MessageID int
	Method    string
	// At is wall-clock time (not Options.Now), so that latencies are real.
	At time.Time
	// SinceUpdate is the time since the oldest update of this chat that no bot message had
	// followed yet; zero when the bot had already answered every update of the chat.
	SinceUpdate time.Duration
}

// Metrics is a snapshot of what the emulator has seen.
type Metrics struct {
	// Calls counts requests per Bot API method, failed ones included.
	Calls map[string]int
	// TooManyRequests counts 429 answers.
	TooManyRequests int
	// Rejected counts calls answered 400, 401 or 404.
	Rejected int
	// Forbidden counts 403 answers (bot blocked).
	Forbidden int
	// Conflicts counts 409 answers (getUpdates while a webhook is set, or a newer poll).
	Conflicts int
	// Updates counts updates created by the user side.
	Updates int
	// BotMessages counts messages sent or edited by the bot.
	BotMessages       int
	WebhookDeliveries int
	WebhookFailures   int
	// WebhookDropped counts updates given up on after every webhook attempt failed.
	WebhookDropped int
}

// Wire types: what goes over HTTP, in the Bot API's JSON shape.

type wireUser struct {
	ID           int64  `json:"id"`
	IsBot        bool   `json:"is_bot"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name,omitempty"`
	Username     string `json:"username,omitempty"`
	LanguageCode string `json:"language_code,omitempty"`
}

type wireChat struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	Title     string `json:"title,omitempty"`
	Username  string `json:"username,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
}

type wireEntity struct {
	Type   string `json:"type"`
	Offset int    `json:"offset"`
	Length int    `json:"length"`
}

type wirePhotoSize struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	FileSize     int    `json:"file_size,omitempty"`
}

type wireDocument struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	FileName     string `json:"file_name,omitempty"`
	MimeType     string `json:"mime_type,omitempty"`
	FileSize     int    `json:"file_size,omitempty"`
}

type wireSticker struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Type         string `json:"type"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	IsAnimated   bool   `json:"is_animated"`
	IsVideo      bool   `json:"is_video"`
	Emoji        string `json:"emoji,omitempty"`
}

type wireContact struct {
	PhoneNumber string `json:"phone_number"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name,omitempty"`
	UserID      int64  `json:"user_id,omitempty"`
}

type wireMessage struct {
	MessageID   int             `json:"message_id"`
	From        *wireUser       `json:"from,omitempty"`
	Date        int64           `json:"date"`
	Chat        wireChat        `json:"chat"`
	EditDate    int64           `json:"edit_date,omitempty"`
	Text        string          `json:"text,omitempty"`
	Entities    []wireEntity    `json:"entities,omitempty"`
	Caption     string          `json:"caption,omitempty"`
	Photo       []wirePhotoSize `json:"photo,omitempty"`
	Document    *wireDocument   `json:"document,omitempty"`
	Sticker     *wireSticker    `json:"sticker,omitempty"`
	Contact     *wireContact    `json:"contact,omitempty"`
	ReplyMarkup json.RawMessage `json:"reply_markup,omitempty"`
}

type wireCallbackQuery struct {
	ID           string       `json:"id"`
	From         wireUser     `json:"from"`
	Message      *wireMessage `json:"message,omitempty"`
	ChatInstance string       `json:"chat_instance"`
	Data         string       `json:"data,omitempty"`
}

type wireUpdate struct {
	UpdateID      int64              `json:"update_id"`
	Message       *wireMessage       `json:"message,omitempty"`
	EditedMessage *wireMessage       `json:"edited_message,omitempty"`
	CallbackQuery *wireCallbackQuery `json:"callback_query,omitempty"`
}

func (u User) wire() wireUser {
	return wireUser{ID: u.ID, FirstName: u.FirstName, LastName: u.LastName, Username: u.Username, LanguageCode: u.LanguageCode}
}
