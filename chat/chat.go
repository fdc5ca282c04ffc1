// Package chat is what one exchange with a person is, whatever the channel: what they did (an
// Input), what the bot says back (an Output: a text, a question with choices, a request for their
// phone, a file, a message to someone else), and the errors a channel's sender reports, grouped by
// what the caller does next.
//
// It is the seam between the conversations (flows), the dispatcher (bot) and the channel adapters
// (bot/telegram, bot/zalo): flows say what to ask, and each adapter decides how its channel shows
// it (inline buttons or query buttons, an edit or a new message, a toast or a line of text). No
// channel's limits or vocabulary belong here beyond the few every channel must honour, which are
// named as such.
package chat

import (
	"errors"
	"time"
)

// InputKind says what a person did.
type InputKind string

// Kinds of input.
const (
	KindText    InputKind = "text"    // a typed message
	KindCommand InputKind = "command" // a message starting with "/": Command and Args are set
	KindChoice  InputKind = "choice"  // a choice offered by a button was taken: Data is set
	KindContact InputKind = "contact" // the person shared their phone number: Contact is set
	KindEdited  InputKind = "edited"  // an earlier message was edited
	KindOther   InputKind = "other"   // a photo, sticker, voice note, file or anything without text
)

// MaxDataBytes is the most bytes a Button's Data may hold. It is the smallest payload every
// adapter carries back unchanged (Telegram's callback data is this size; a Zalo query button
// carries more), so flows keep within it and adapters need no lookup table for choices.
const MaxDataBytes = 64

// Input is one thing a person did in a chat.
type Input struct {
	Kind    InputKind
	Text    string // the message text (also set for commands)
	Command string // "start", "status", ... lower-case, without "/" and any "@botname"
	Args    string // text after the command, e.g. a /start deep-link payload
	Data    string // the Data of the Button whose choice was taken
	Contact *Contact
	// UserID is the sender's account id on the channel; a shared contact must carry the same id.
	UserID string
	// ClientLanguage is the language the person's app reports ("vi", "en-US"), used until /lang.
	ClientLanguage string
	// UserName is the sender's display name on the channel, if any.
	UserName string
	// PhotoID is the channel's reference to a photo sent (the largest size), "" when none; the
	// input's Kind is then KindOther and Text its caption. Only the same channel can send it again.
	PhotoID string
	// Document is a file sent (a list of children, say), nil when none; the input's Kind is then
	// KindOther and Text its caption.
	Document *Document
	// UpdateID identifies the update on its channel, "" when unknown. The same update delivered
	// again carries the same id, so a one-line command keys its write with it.
	UpdateID string
}

// Document is a file a person sent: its name and size as the channel reports them, and the
// channel's reference to fetch it with (see the flows' Config.Files). Only the same channel can
// open it.
type Document struct {
	Name   string
	Size   int64
	FileID string
}

// Contact is a phone number a person shared.
type Contact struct {
	Phone  string
	UserID string // the account the number belongs to, "" when the channel does not say
	Name   string
}

// Address is a chat on a channel: where a message goes.
type Address struct {
	Channel string
	ChatID  string
}

// String is "channel:chat".
func (a Address) String() string { return a.Channel + ":" + a.ChatID }

// Output is one message for a person.
type Output struct {
	Text string
	// Buttons are the choices offered with the message, in rows; each Data is at most
	// MaxDataBytes. Taking one comes back as a KindChoice Input with that Data. A channel with
	// fewer buttons per message shows them its own way (a numbered list answered by number or
	// label, say) and still answers with the same Data.
	Buttons [][]Button
	// AskContact asks the person to share their phone number with one tap, where the channel
	// can; the answer comes back as a KindContact Input (or typed text).
	AskContact *ContactRequest
	// EndContactRequest says the phone question is over, so a channel that keeps a request on
	// screen (Telegram's reply keyboard) takes it away.
	EndContactRequest bool
	// Aside marks a message that exists only to carry EndContactRequest: a channel with nothing
	// on screen to take away leaves it out.
	Aside bool
	// Replace says this message supersedes the one whose button was pressed (a multi-choice
	// question with its ticks updated): a channel that edits messages updates that one in place,
	// another sends it anew.
	Replace bool
	// Ack is a short acknowledgement of the button press that led to this message ("Đã chọn:
	// Linh Trung"): a pop-up where the channel has one, else a line of its own.
	Ack string
	// File, when set, sends a file (a document, an image, or a photo by the channel's reference)
	// with Text as its caption instead of a text message. Buttons go with the file.
	File *File
}

// File is a file to send.
type File struct {
	// Path is a file on disk to upload, removed once the message is done for good when Remove is
	// set (see bot.Sender). Name is the name the recipient sees. A flow writes a fresh file on
	// each run: the bot may discard a run's outputs, and their files with them.
	Path   string
	Name   string
	Remove bool
	// PhotoID sends again a photo the channel already has (a delivery's proof), instead of Path.
	// PhotoChannel is the channel it came from: another channel cannot send it.
	PhotoID      string
	PhotoChannel string
}

// Button is one choice offered with a message.
type Button struct {
	Text string
	Data string
}

// ContactRequest asks for the person's phone number.
type ContactRequest struct {
	// Label is the text of the one-tap button ("📱 Gửi số điện thoại của tôi").
	Label string
	// Suggestions are texts the person may send with one tap instead (a number given before).
	Suggestions []string
}

// Update is an Input as a channel adapter delivers it: the person's input and where it came from.
type Update struct {
	Input
	// Channel names the channel ("telegram", "zalo").
	Channel string
	// ChatID is where replies go.
	ChatID string
	// MessageID is the channel's id of the message the input came with, or of the message whose
	// button was pressed, so a reply can replace it; opaque, "" when none.
	MessageID string
	// AckID identifies a button press the channel wants acknowledged, "" when none.
	AckID string
	// Received is when the adapter got the update.
	Received time.Time
}

// Reply is one message to send to a chat.
type Reply struct {
	Output
	Channel string
	ChatID  string
	// ReplaceID is the message to replace instead of sending a new one ("": send new). Set only
	// when the Output asks to Replace and the input came with a message.
	ReplaceID string
	// AckID, when set, is acknowledged with the Reply's Ack (or silently).
	AckID string
	// Lang is the language the person is answered in ("vi", "en"; "" when unknown), for the few
	// words an adapter adds of its own (how to answer a numbered list, say).
	Lang string
	// Lane says how urgent the message is, which decides who goes first when the channel's
	// budget is short.
	Lane Lane
	// Prompted is when the person's message this answers was received (Update.Received); zero
	// for a message nobody's message prompted. A channel whose reach depends on the person's
	// last message (Zalo's 7-day window) knows from it that the person has just written.
	Prompted time.Time
}

// Lane is how urgent a message is: a reply to a person in a conversation goes before a notice to
// someone else, which goes before bulk (broadcasts, reminders, summaries, milestones), so a parent
// never waits behind a broadcast.
type Lane int

// The lanes, most urgent first.
const (
	LaneReply Lane = iota
	LaneNotice
	LaneBulk
)

// Entry is how a person opens a chat with the bot on a channel and hands it a start payload (an
// invitation, say): a link that carries the payload (Telegram's t.me deep link), or a link to the
// chat and the words to send there (Zalo has no payload in its links).
type Entry struct {
	Channel string // "telegram"
	Name    string // what people call the channel: "Telegram", "Zalo"
	URL     string // the link to open
	Typed   string // what to send once there, "" when the link carries the payload
}

// Capabilities are what a channel can show, which decide how its adapter renders an Output. They
// are documentation and test input: flows never read them.
type Capabilities struct {
	// TextLimit is the most characters of one message, counted as the channel counts them; a
	// longer text is split.
	TextLimit int
	// ButtonsPerMessage is the most buttons under one message, 0 for no limit that flows reach.
	ButtonsPerMessage int
	// PayloadBytes is the most bytes a button carries back.
	PayloadBytes int
	// Edits says a sent message can be replaced in place.
	Edits bool
	// Toasts says a button press can be acknowledged by a pop-up.
	Toasts bool
	// ContactRequest says the person can share their phone with one tap.
	ContactRequest bool
}

// Errors a channel's sender returns, grouped by what the caller does next.
var (
	// ErrStopped means the person blocked the bot or left the channel: stop messaging them.
	ErrStopped = errors.New("chat: contact stopped the bot")
	// ErrUnreachable means the channel will not carry a message to the person now (Zalo's 7-day
	// window, say) but will once they write again: record it, do not retry it.
	ErrUnreachable = errors.New("chat: contact not reachable until they write")
	// ErrThrottled means the channel asked to slow down and retrying in time did not help.
	ErrThrottled = errors.New("chat: throttled")
	// ErrRejected means the channel refused the message as it is: retrying it will not help.
	ErrRejected = errors.New("chat: message rejected")
)

// ThrottledError is returned by a channel adapter when the channel asks to wait before retrying.
type ThrottledError struct {
	RetryAfter time.Duration
}

// Error implements error.
func (e *ThrottledError) Error() string { return "throttled, retry after " + e.RetryAfter.String() }

// Is makes errors.Is(err, ErrThrottled) true.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }
