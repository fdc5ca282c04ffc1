package bot

import (
	"context"
	"errors"
	"time"

	"github.com/thuduc/maytinhchoem/flows"
)

// Input is one update from a user on a channel.
type Input struct {
	flows.Input
	// Channel names the channel ("telegram").
	Channel string
	// UpdateID identifies the update on its channel; a repeated delivery carries the same id.
	UpdateID string
	// ChatID is where replies go.
	ChatID string
	// MessageID is the channel's id of the message the input came with, or of the message whose
	// button was pressed (for callbacks), so a reply can edit it.
	MessageID int
	// CallbackID identifies a button press that must be acknowledged.
	CallbackID string
	// Received is when the adapter got the update.
	Received time.Time
}

// Reply is one message to send to a chat.
type Reply struct {
	flows.Output
	Channel string
	ChatID  string
	// EditMessageID is the message to edit instead of sending a new one (0: send new).
	EditMessageID int
	// CallbackID, when set, is acknowledged with the Reply's Notice (or silently).
	CallbackID string
}

// Sender sends replies on a channel.
//
// A Reply whose File has Remove set hands a temporary file over, to be removed once the reply is
// done with for good: sent, or failed in a way no retry follows. Only the Sender that runs the
// retries knows when that is, so PacedSender removes the file when its Send returns, whatever the
// outcome; a channel adapter never does (PacedSender may call it again for the same Reply), and a
// caller that sends without a PacedSender removes the file itself. The Dispatcher removes the
// files of outputs it never hands to its Sender. One file sent in several replies carries Remove
// on the last one only.
type Sender interface {
	Send(ctx context.Context, r Reply) error
}

// DialogStore keeps each chat's dialog as versioned bytes. Load also tells whether an update was
// already handled; Save is a compare-and-set on the version that also marks the update handled,
// so handling one update costs two round trips. storage/redis implements it.
type DialogStore interface {
	Load(ctx context.Context, channel, chatID, updateID string) (data []byte, version int64, seen bool, err error)
	Save(ctx context.Context, channel, chatID string, version int64, data []byte, updateID string) (saved bool, err error)
}

// Errors a Sender returns, grouped by what the caller does next.
var (
	// ErrStopped means the person blocked the bot: stop messaging them.
	ErrStopped = errors.New("bot: contact stopped the bot")
	// ErrThrottled means the channel asked to slow down and retrying in time did not help.
	ErrThrottled = errors.New("bot: throttled")
	// ErrRejected means the channel refused the message as it is: retrying it will not help.
	ErrRejected = errors.New("bot: message rejected")
)

// ThrottledError is returned by a channel adapter when the channel asks to wait before retrying.
type ThrottledError struct {
	RetryAfter time.Duration
}

// Error implements error.
func (e *ThrottledError) Error() string { return "throttled, retry after " + e.RetryAfter.String() }

// Is makes errors.Is(err, ErrThrottled) true.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

// The flows' message types, under bot's name, so that channel adapters depend on bot alone.
type (
	// Output is one message for the user; see flows.Output.
	Output = flows.Output
	// Session is a chat on a channel; see flows.Session.
	Session = flows.Session
	// Button is an inline button; see flows.Button.
	Button = flows.Button
	// KeyButton is a reply-keyboard button; see flows.KeyButton.
	KeyButton = flows.KeyButton
	// File is a file a reply sends; see flows.File.
	File = flows.File
	// SharedContact is a contact card a user shared; see flows.SharedContact.
	SharedContact = flows.SharedContact
	// InputKind says what a user did; see flows.InputKind.
	InputKind = flows.InputKind
)

// Kinds of input, as in flows.
const (
	KindText     = flows.KindText
	KindCommand  = flows.KindCommand
	KindCallback = flows.KindCallback
	KindContact  = flows.KindContact
	KindEdited   = flows.KindEdited
	KindOther    = flows.KindOther
)
