package flows

import "time"

// InputKind says what a user did.
type InputKind string

// Kinds of input.
const (
	KindText     InputKind = "text"     // a typed message
	KindCommand  InputKind = "command"  // a message starting with "/": Command and Args are set
	KindCallback InputKind = "callback" // an inline button was pressed: Data is set
	KindContact  InputKind = "contact"  // a contact card was shared: Contact is set
	KindEdited   InputKind = "edited"   // an earlier message was edited
	KindOther    InputKind = "other"    // a photo, sticker, voice note or anything without text
)

// Input is one thing a user did in a chat, channel-neutral.
type Input struct {
	Kind    InputKind
	Text    string // the message text (also set for commands)
	Command string // "start", "status", ... lower-case, without "/" and "@botname"
	Args    string // text after the command, e.g. a /start deep-link payload
	Data    string // callback data of a pressed inline button
	Contact *SharedContact
	// UserID is the sender's account id on the channel; a shared contact must carry the same id.
	UserID string
	// ClientLanguage is the language the user's app reports ("vi", "en-US"), used until /lang.
	ClientLanguage string
	// UserName is the sender's display name on the channel, if any.
	UserName string
	// PhotoID is the channel's file id of a photo sent (the largest size), "" when none; the
	// input's Kind is then KindOther and Text its caption.
	PhotoID string
	// UpdateID identifies the update on its channel, "" when unknown. The same update run again
	// carries the same id, so a one-line command keys its write with it.
	UpdateID string
}

// SharedContact is a contact card a user shared.
type SharedContact struct {
	Phone  string
	UserID string // the account the contact belongs to, "" when it is not a user of the channel
	Name   string
}

// Output is one message for the user.
type Output struct {
	Text string
	// Inline buttons under the message; Data of each is at most 64 bytes.
	Inline [][]Button
	// Keyboard replaces the reply keyboard under the input field when set.
	Keyboard [][]KeyButton
	// RemoveKeyboard hides a reply keyboard shown earlier.
	RemoveKeyboard bool
	// EditPressed asks the channel to edit the message whose button was pressed instead of sending
	// a new one (used by multi-choice questions to tick options in place). Channels that cannot
	// edit send a new message.
	EditPressed bool
	// Notice is a short text for the button-press acknowledgement (a toast), if any.
	Notice string
	// To, when set, sends the message to another chat of the same channel instead of the user's
	// (a donor told that their pledge was received, say). It never edits a message there.
	To *Session
	// File, when set, sends a file (a document, or a photo by the channel's file id) with Text
	// as its caption instead of a text message. Inline buttons go with the file; a keyboard
	// change goes with it when there are none; EditPressed is ignored.
	File *File
}

// File is a file to send.
type File struct {
	// Path is a file on disk to upload, removed once the reply is done for good when Remove is
	// set (see bot.Sender). Name is the name the recipient sees. A flow writes a fresh file on
	// each run: the bot may discard a run's outputs, and their files with them.
	Path   string
	Name   string
	Remove bool
	// PhotoID re-sends a photo the channel already has (a delivery's proof), instead of Path.
	PhotoID string
}

// Button is an inline button.
type Button struct {
	Text string
	Data string
}

// KeyButton is a reply-keyboard button; pressing it sends its text, or the user's own contact when
// RequestContact is set.
type KeyButton struct {
	Text           string
	RequestContact bool
}

// State is a chat's dialog: which flow and step it is in and what has been answered so far. It is
// stored by the bot between inputs (as JSON) and must hold everything a flow needs to resume.
type State struct {
	Flow    string            `json:"flow,omitempty"`
	Step    string            `json:"step,omitempty"`
	Answers map[string]string `json:"answers,omitempty"`
	// Misses counts wrong answers to the current step.
	Misses int `json:"misses,omitempty"`
	// Editing is set while a field is being changed from the review, so the form returns there.
	Editing bool `json:"editing,omitempty"`
	// Page is the page of a paged choice (wards) being shown.
	Page int `json:"page,omitempty"`
	// IdempotencyKey is chosen when a form starts and sent with its submit.
	IdempotencyKey string `json:"idem,omitempty"`
	// Lang is the language chosen with /lang; "" means follow the user's app.
	Lang string `json:"lang,omitempty"`
	// StartedAt and UpdatedAt are when the form started and when the user last answered.
	StartedAt time.Time `json:"started_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Session is what a flow knows of the chat it talks in.
type Session struct {
	Channel string
	ChatID  string
}
