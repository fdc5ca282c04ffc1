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
	// MoveDevice moves a device to next when DeviceState.Move allows it, with an audit row;
	// otherwise it returns that EINVALID error and changes nothing.
	MoveDevice(ctx context.Context, label string, next DeviceState, by Staff, note string) (Device, error)
	// DeviceByLabel returns a device, ENOTFOUND when there is none.
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
