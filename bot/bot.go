package bot

import (
	"context"

	"github.com/thuduc/maytinhchoem/chat"
)

// Input is one update from a person on a channel; see chat.Update.
type Input = chat.Update

// Reply is one message to send to a chat; see chat.Reply.
type Reply = chat.Reply

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

// DialogStore keeps each chat's dialog as versioned bytes, and each step's replies until they are
// sent. Load also tells whether an update was already handled; SaveStep is a compare-and-set on
// the version that also marks the update handled and records the step's replies, so handling one
// update costs two round trips, and one more for each reply sent (RepliesSent). A redelivered
// update whose replies were not all sent (the process died between the save and the sends) finds
// them with TakeReplies. storage/redis implements it.
type DialogStore interface {
	Load(ctx context.Context, channel, chatID, updateID string) (data []byte, version int64, seen bool, err error)
	// SaveStep saves the dialog and records count replies, encoded in replies, under updateID,
	// held by owner for a lease (none when count is 0 or updateID is empty).
	SaveStep(ctx context.Context, channel, chatID string, version int64, data []byte, updateID string, replies []byte, count int, owner string) (saved bool, err error)
	// RepliesSent records that owner sent the first n replies of updateID, forgetting them once
	// all are, and renews its lease; kept is false when owner no longer holds them.
	RepliesSent(ctx context.Context, channel, chatID, updateID, owner string, n int) (kept bool, err error)
	// TakeReplies hands owner the replies of updateID not all sent, with how many were, once the
	// lease of the one who held them ran out; busy while it holds; nil replies when none are left.
	TakeReplies(ctx context.Context, channel, chatID, updateID, owner string) (replies []byte, sent int, busy bool, err error)
	// DueReplies lists up to limit updates, as {channel, chat id, update id}, whose replies were
	// not all sent and whose sender's lease ran out.
	DueReplies(ctx context.Context, limit int) ([][3]string, error)
}

// chatLaneBulk is the lane the sender shares out last; see chat.Lane.
const chatLaneBulk = chat.LaneBulk

// Errors a Sender returns, grouped by what the caller does next; see chat.
var (
	ErrStopped     = chat.ErrStopped
	ErrUnreachable = chat.ErrUnreachable
	ErrThrottled   = chat.ErrThrottled
	ErrRejected    = chat.ErrRejected
)

// The exchange's types under bot's name, for the dispatcher's callers.
type (
	// ThrottledError asks to wait before retrying; see chat.ThrottledError.
	ThrottledError = chat.ThrottledError
	// Output is one message for a person; see chat.Output.
	Output = chat.Output
	// Session is a chat on a channel; see chat.Address.
	Session = chat.Address
	// Button is one choice offered with a message; see chat.Button.
	Button = chat.Button
	// File is a file a reply sends; see chat.File.
	File = chat.File
)
