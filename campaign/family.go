package campaign

import "context"

// A family's way back to its registrations (/mydata): it sees what is kept, corrects the address,
// the phone or the school, withdraws a registration, or has its personal data erased (Eraser).
//
// Who may do what, by the registration's status:
//
//   - submitted, needs_info (not verified yet): a correction changes the registration at once;
//     withdrawing makes it withdrawn.
//   - verified, allocated: a correction is a request officials of the ward see (a note on the
//     case, and a notice to them), since what they verified stays as they verified it;
//     withdrawing an allocated registration cancels its pending delivery, puts its device back
//     among the ready ones (Match may give it to another child) and its stock back in stock.
//   - delivered: the device is with the child; nothing to correct or withdraw (a device that
//     never arrived is reported with "Chưa nhận được"). Erasure keeps the delivery countable.
//   - rejected, withdrawn: final; only erasure is left.

// Withdrawable reports whether a registration in status s may be withdrawn: it is waiting for
// officials or for its device, and no device reached the child.
func (s RegistrationStatus) Withdrawable() bool { return RegistrationWithdraw.Allows(s) }

// Correctable reports whether the family may correct a registration in status s: while it is
// waiting for officials or for its device.
func (s RegistrationStatus) Correctable() bool { return s.Withdrawable() }

// CorrectedDirectly reports whether a correction of a registration in status s changes it at once
// (before verification); after verification a correction is a request officials see.
func (s RegistrationStatus) CorrectedDirectly() bool {
	return s == StatusSubmitted || s == StatusNeedsInfo
}

// CorrectionField is what a family may correct on its registration.
type CorrectionField string

// Fields a family may correct. The child's name, birth date and ward are what officials verify
// against documents and what priority and duplicates are found by: changing them is a new
// registration (or a word with the ward), not a correction.
const (
	CorrectAddress CorrectionField = "address"
	CorrectPhone   CorrectionField = "phone"
	CorrectSchool  CorrectionField = "school"
)

// CorrectionFields lists the fields in the order they are offered.
var CorrectionFields = []CorrectionField{CorrectAddress, CorrectPhone, CorrectSchool}

// Correction is a family's correction of one field of its registration.
type Correction struct {
	Field CorrectionField
	// Value is the new value: an address, a phone in E.164, a school.
	Value string
	// Request is what officials read on the case when the correction is a request (after
	// verification): the family's words, in the officials' language. It is kept as a note of the
	// registration, which erasure removes.
	Request string
}

// Corrected is what a correction did.
type Corrected struct {
	// Registration is the registration as it is now: changed when Applied.
	Registration Registration
	Correction   Correction
	// Applied is set when the registration itself was changed; otherwise the correction was kept
	// as a request officials see.
	Applied bool
	// Officials are who is told of a request: the active staff of the registration's ward who
	// verify (ward officials, the ward's Women's Union) with their language, or, when the ward has
	// none, the education office; none when Applied.
	Officials []Recipient
}

// Withdrawal is what withdrawing a registration did.
type Withdrawal struct {
	// Registration is the registration as it is now: withdrawn.
	Registration Registration
	// Before is the status it was withdrawn from.
	Before RegistrationStatus
	// DeliveryCode is the delivery cancelled with it, "" when it had none; DeviceLabel and
	// DeviceType the device that went back among the ready ones ("" when none, or when it had
	// moved on by hand), Stock what went back to stock.
	DeliveryCode string
	DeviceLabel  string
	DeviceType   DeviceType
	Stock        []StockKind
	// Handler is who was handling the cancelled delivery ("channel:id"), to be told: the
	// volunteer who last handed it over or tried to, else the official who allocated it; "" when
	// there was no delivery.
	Handler string
}

// WithdrawnActor is the actor of a device's move made by a family (back to ready when a family
// withdrew, back to allocated when it reported "not received"): the
// device's history says what happened, not which chat the family is.
const WithdrawnActor = "family"

// FamilyStore keeps what a family does with its own registrations. Each change is made in one
// transaction with the registration locked, with an audit row by FamilyActor (never the family's
// chat, nor the new value, which may locate the family: the audit log is append-only and keeps
// nothing personal), and notify's messages queued in the outbox with it. A
// key applied before returns the record as it is now and writes nothing; "" is never
// de-duplicated. An erased registration, or one of another chat, is ENOTFOUND; one whose status
// no longer allows the change ECONFLICT.
type FamilyStore interface {
	// Correct corrects a field of the registration code made from the chat parent: at once when
	// its status is CorrectedDirectly (audited registration.correct), otherwise as a request note
	// with c.Request for officials (registration.correction_request). A value that is empty, too
	// long, or not a phone in E.164 for CorrectPhone is EINVALID.
	Correct(ctx context.Context, code string, parent Session, c Correction, key string, notify Notify[Corrected]) (Corrected, error)
	// Withdraw withdraws the registration code: from the chat parent, which must be the one it was
	// made from; or, with parent zero, by an administrator on the family's written request. by is
	// the audit's actor: the administrator's "channel:id", or FamilyActor from the family's chat. A registration that is not Withdrawable is ECONFLICT. An
	// allocated one loses its pending delivery, as AllocationCancel says: the device goes back
	// to ready (an event by WithdrawnActor) unless moved by hand since, and the stock to stock;
	// notify's messages (to Withdrawal.Handler) are queued with it.
	Withdraw(ctx context.Context, code string, parent Session, by, key string, notify Notify[Withdrawal]) (Withdrawal, error)
	// RegistrationByCode returns the campaign's registration code, erased or not, ENOTFOUND when
	// there is none (for an administrator's erasure by code).
	RegistrationByCode(ctx context.Context, code string) (Registration, error)
}
