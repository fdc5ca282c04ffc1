package campaign

import (
	"context"
	"time"
)

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

// StaffStore keeps staff and their invitations.
type StaffStore interface {
	// CreateInvitation stores an invitation for role (and ward, for ward roles) that expires at
	// expires, and returns its code, which is stored only as a hash. The code fits a Telegram
	// /start payload: at most 64 characters of A-Z a-z 0-9 _ -.
	CreateInvitation(ctx context.Context, role Role, wardCode string, createdBy string, expires time.Time) (code string, err error)
	// RedeemInvitation binds the invitation's role to the staff member, once: a used, expired or
	// revoked invitation, or an unknown code, is an ENOTFOUND error and changes nothing.
	RedeemInvitation(ctx context.Context, code string, who Staff) (Staff, error)
	// StaffMember returns the active role of an account, ENOTFOUND when it has none.
	StaffMember(ctx context.Context, channel, externalID string) (Staff, error)
	// ListStaff lists active staff.
	ListStaff(ctx context.Context) ([]Staff, error)
	// RevokeStaff removes an account's role; revoking nobody is ENOTFOUND.
	RevokeStaff(ctx context.Context, channel, externalID, by string) error
}
