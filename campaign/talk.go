package campaign

import "context"

// A family can write to the officials of their ward about a registration ("talk to an official"):
// the message becomes a note of the registration, the registration shows in the ward's /verify
// queue until an official marks the message handled (or decides the case), and the ward's staff
// are told at once. A family without a registration has nothing to attach a message to: the bot
// gives them the campaign's contacts instead.

// FamilyMessage is a family's message to officials, as the notices about it are made from.
type FamilyMessage struct {
	Registration Registration
	Message      Answer
	// Officials are who is told: the active staff of the registration's ward who verify (ward
	// officials, the ward's Women's Union); when the ward has none, the education office, which
	// verifies every ward (as for a correction request, Corrected.Officials).
	Officials []Recipient
}

// MessageStore keeps families' messages to officials.
type MessageStore interface {
	// MessageOfficials adds m as a message note to the registration code made from parent's chat,
	// marks it as waiting for officials (Case.MessageAt) and queues notify's messages, in one
	// transaction. A repeated key writes once. A registration of another chat, or erased, is an
	// ENOTFOUND error.
	MessageOfficials(ctx context.Context, code string, parent Session, m Answer, key string, notify Notify[FamilyMessage]) (Registration, error)
	// MessageHandled clears the mark: an official read the message and acted on it (called the
	// family, say). Deciding a pending case clears it too. Audited as registration.message_handled.
	MessageHandled(ctx context.Context, code string, by Staff) error
}

// MessageWaiting reports whether the case has a family's message officials have not handled.
func (c Case) MessageWaiting() bool { return !c.MessageAt.IsZero() }
