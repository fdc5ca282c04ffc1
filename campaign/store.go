package campaign

import "context"

// RegistrationStore keeps registrations.
type RegistrationStore interface {
	// SubmitRegistration stores r, filling ID, Code, Status, StudentID, PossibleDuplicateOf and
	// the timestamps. When a registration with r.IdempotencyKey exists it is returned instead and
	// created is false: a retried submit never makes a second record.
	SubmitRegistration(ctx context.Context, r *Registration) (created bool, err error)
	// RegistrationsByChat lists the registrations made from one chat, newest first.
	RegistrationsByChat(ctx context.Context, channel, chatID string) ([]Registration, error)
}

// ContactStore keeps the people the bot talks to.
type ContactStore interface {
	// UpsertContact creates or updates a contact; an empty Role leaves the stored role as it is.
	UpsertContact(ctx context.Context, c Contact) error
	// SetContactStopped records that a contact blocked (or unblocked) the bot.
	SetContactStopped(ctx context.Context, channel, externalID string, stopped bool) error
}

// AuditLog records who saw or changed what.
type AuditLog interface {
	Audit(ctx context.Context, e AuditEntry) error
}
