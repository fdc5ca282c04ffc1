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

// AuditLog records who saw or changed what. It is append-only: an entry is never updated or
// deleted, not even by an erasure, so nothing personal may go into one. The actor is a staff
// member's "channel:id", "system", "job:<name>", or FamilyActor / DonorActor for what a family or
// a donor did (never their chat); the subject a code; Before and After hold codes, states, counts
// and field names, never free text (a question, a reason typed by an official, an answer, a note,
// a recipient's name, a search's words): those live in their own tables, which erasure empties.
type AuditLog interface {
	Audit(ctx context.Context, e AuditEntry) error
}

// StaffStore keeps staff and their invitations.
type StaffStore interface {
	// CreateInvitation stores an invitation for inv.Role (with inv.WardCode for the roles that
	// have a ward, inv.School for a school), made by inv.CreatedBy, that expires at inv.ExpiresAt,
	// and returns its code, which is stored only as a hash. The code fits a Telegram /start
	// payload: at most 64 characters of A-Z a-z 0-9 _ -. inv's other fields are ignored.
	CreateInvitation(ctx context.Context, inv Invitation) (code string, err error)
	// RedeemInvitation binds the invitation's role to the staff member, once: a used, expired or
	// revoked invitation, or an unknown code, is an ENOTFOUND error and changes nothing. An
	// account that has an active role keeps it unless replace is set: the result is then Held,
	// with the invitation and that role, and nothing changes (the invitation stays open). When it
	// binds, notify's messages (the inviter told who redeemed it) are queued in the outbox in the
	// same transaction.
	RedeemInvitation(ctx context.Context, code string, who Staff, replace bool, notify Notify[Redemption]) (Redemption, error)
	// Invitations lists the open invitations (not used, revoked or expired), oldest first.
	Invitations(ctx context.Context) ([]Invitation, error)
	// RevokeInvitation withdraws an invitation, so its code can no longer be redeemed; a used or
	// already revoked invitation, or none, is ENOTFOUND. by is who revoked it, for the audit.
	RevokeInvitation(ctx context.Context, id int64, by string) error
	// StaffMember returns the active role of an account, ENOTFOUND when it has none.
	StaffMember(ctx context.Context, channel, externalID string) (Staff, error)
	// ListStaff lists active staff.
	ListStaff(ctx context.Context) ([]Staff, error)
	// RevokeStaff removes an account's role; revoking nobody is ENOTFOUND.
	RevokeStaff(ctx context.Context, channel, externalID, by string) error
}

// Invitation is an invitation to join the staff, without its code, which is never stored.
type Invitation struct {
	ID        int64
	Role      Role
	WardCode  string // "" for city-wide roles
	School    string // the school's name, for RoleSchool only
	CreatedBy string // channel:id of who made it (an administrator)
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero until redeemed
	UsedBy    string    // channel:external_id of who redeemed it
	RevokedAt time.Time // zero unless revoked
}

// Redemption is what redeeming an invitation did, as the inviter's notice is made from.
type Redemption struct {
	Invitation Invitation
	// Staff is the role bound, with the account and its name; zero when Held.
	Staff Staff
	// Previous is the account's active role before (Role "" when it had none): replaced by Staff,
	// or kept when Held.
	Previous Staff
	// Held is set when nothing changed because the account has a role (Previous) and replacing it
	// was not asked for.
	Held bool
	// Inviter is the chat of who made the invitation, with its language, to tell them.
	Inviter Recipient
}

// PledgeStore keeps donors' pledges.
type PledgeStore interface {
	// SubmitPledge stores p, filling ID, Code (e.g. PL-000045), Status and the timestamps. A
	// pledge with p.IdempotencyKey that exists is returned instead, created false.
	SubmitPledge(ctx context.Context, p *Pledge) (created bool, err error)
	// PledgeByCode returns a pledge, ENOTFOUND when there is none.
	PledgeByCode(ctx context.Context, code string) (Pledge, error)
	// PledgesByChat lists the pledges made from one chat with where their items are, newest first.
	PledgesByChat(ctx context.Context, channel, chatID string) ([]PledgeProgress, error)
}

// PledgeProgress is a pledge and where what it gave is now. It names no child: deliveries are
// counted by school level and ward only.
type PledgeProgress struct {
	Pledge
	// Devices counts the pledge's devices by state.
	Devices map[DeviceState]int
	// StockReceived counts SIMs, USB Wi-Fi and packages received, by kind.
	StockReceived map[ItemKind]int
	// MoneyReceived is the money received against the pledge, in VND.
	MoneyReceived int64
	// Delivered counts devices in students' hands by school level and ward code.
	Delivered []DeliveredCount
}

// DeliveredCount is how many of a pledge's devices reached students of one level in one ward.
type DeliveredCount struct {
	Level    SchoolLevel
	WardCode string
	Count    int
}

// DeviceStore keeps devices and counted stock.
type DeviceStore interface {
	// IntakeDevice records a device taken in, from a pledge (d.PledgeCode) or as a walk-in gift
	// (no code), with its check: it fills ID, Label (e.g. TB-000123) and the timestamps, stores
	// the state d.State (ready, needs parts or unusable), and moves the pledge to partly or fully
	// received. by is the volunteer. An intake with a d.IdempotencyKey already stored fills d with
	// that device and writes nothing; an empty key is never de-duplicated. notices (the donor's
	// news) are queued in the outbox with the intake.
	IntakeDevice(ctx context.Context, d *Device, by Staff, notices []OutboxMessage) error
	// MoveDevice moves a device to next when Device.MoveByHand allows it, with an audit row;
	// otherwise it returns that error (EINVALID, or ECONFLICT for a device a pending delivery
	// holds marked delivered) and changes nothing. An allocated device a pending delivery holds
	// sent back to ready releases its allocation as AllocationRelease says, in the same
	// transaction: the delivery removed, the registration verified again, its stock free, and
	// notify's messages for the delivery as it was (to its family) queued with it.
	MoveDevice(ctx context.Context, label string, next DeviceState, by Staff, note string, notify Notify[Delivery]) (Device, error)
	// DeviceByLabel returns a device with the pending delivery that holds it (Delivery),
	// ENOTFOUND when there is none.
	DeviceByLabel(ctx context.Context, label string) (Device, error)
	// DevicesCheckedBy lists the devices a volunteer took in, newest first.
	DevicesCheckedBy(ctx context.Context, by Staff, limit int) ([]Device, error)
	// ReceiveStock records counted stock (SIMs, USB Wi-Fi, packages with their months) received,
	// against a pledge or as a walk-in gift (pledgeCode ""). A call repeated with the same key
	// returns the first result and writes nothing; an empty key is never de-duplicated. notices
	// are queued in the outbox with it.
	ReceiveStock(ctx context.Context, pledgeCode string, kind ItemKind, quantity, months int, key string, by Staff, notices []OutboxMessage) error
}

// MoneyRecord is money received against a pledge.
type MoneyRecord struct {
	ID         int64
	PledgeCode string
	Amount     int64 // VND
	Spent      int64 // VND spent on devices bought with it
	Note       string
	RecordedBy string
	// IdempotencyKey is the key RecordMoney was called with, "" when none.
	IdempotencyKey string
	CreatedAt      time.Time
}

// MoneyStore keeps money received and what was bought with it. Amounts are whole VND in int64:
// totals never drift.
type MoneyStore interface {
	// RecordMoney records money received against a pledge. A call repeated with the same key
	// returns the first result and writes nothing; an empty key is never de-duplicated. notices
	// are queued in the outbox with it.
	RecordMoney(ctx context.Context, pledgeCode string, amount int64, note, key string, by Staff, notices []OutboxMessage) (MoneyRecord, error)
	// RecordPurchase records devices bought with a money record for cost VND in all: each enters
	// the pipeline as a new device, received, linked to the money. Spending more than is left is
	// EINVALID. A call repeated with the same key returns the first result and writes nothing; an
	// empty key is never de-duplicated.
	RecordPurchase(ctx context.Context, moneyID int64, devices []Device, cost int64, key string, by Staff) ([]Device, error)
	// MoneyTotals returns all money received and spent.
	MoneyTotals(ctx context.Context) (received, spent int64, err error)
}
