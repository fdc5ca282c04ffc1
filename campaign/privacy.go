package campaign

import (
	"context"
	"time"
)

// Personal data is kept while the campaign needs it and erased after: on a family's request, by
// code (Eraser), and for everyone once the campaign's retention ends (RetentionEnd). Erasing
// keeps what the campaign's figures and the donors' traceability need (a registration's code,
// status, ward, level, grade, circumstances, device situation and needs; a delivery's status,
// dates, device and stock) and nothing that names, reaches or locates a family: no name, phone,
// address, school, birth date, chat, photo or free text. An erased registration still counts in
// every figure, as it did.
//
// The audit log is append-only (nothing updates or deletes its rows): it is written with nothing
// that names, reaches or locates a family or a donor in the first place (FamilyActor, DonorActor,
// codes, states and counts, never free text), so an erasure leaves it as it is and adds a
// tombstone (ErasureActionRegistration).

// DefaultRetentionMonths is how many months after the campaign's End personal data is kept when
// the campaign file does not say ("retention_months").
const DefaultRetentionMonths = 6

// RetentionEnd returns the first moment past the retention period: the end of the day that falls
// RetentionMonths after End, in the campaign's time zone. A month too short for End's day ends
// the period on its last day (31/8 + 6 months is 28/2).
func (c *Campaign) RetentionEnd() time.Time {
	end := c.End.In(c.Location)
	y, m := end.Year(), end.Month()+time.Month(c.RetentionMonths)
	first := time.Date(y, m, 1, 0, 0, 0, 0, c.Location)
	lastDay := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(end.Day(), lastDay)+1, 0, 0, 0, 0, c.Location)
}

// RetentionOver reports whether the retention period has ended at now.
func (c *Campaign) RetentionOver(now time.Time) bool {
	return !now.Before(c.RetentionEnd())
}

// ErasureReason is why personal data was erased. The audit's tombstone keeps it; it is a code,
// never a free text, because a text could name the family.
type ErasureReason string

// Reasons for an erasure.
const (
	// ErasureFamilyRequest: an administrator, on the family's written request.
	ErasureFamilyRequest ErasureReason = "family_request"
	// ErasureFamilySelf: the family, from the chat it registered from.
	ErasureFamilySelf ErasureReason = "family_self"
	// ErasureRetention: the campaign's retention period ended.
	ErasureRetention ErasureReason = "retention"
)

// ErasureReasons lists the reasons an erasure may give.
var ErasureReasons = []ErasureReason{ErasureFamilyRequest, ErasureFamilySelf, ErasureRetention}

// ErasureActionRegistration is the audit action of an erasure's tombstone: who (the actor), when,
// which code (the subject), and the reason.
const ErasureActionRegistration = "registration.erase"

// FamilyActor and DonorActor are the audit actors of what a family or a donor does: registering,
// answering an official, writing to officials, correcting, withdrawing, choosing the hand-over,
// confirming a device or reporting it not received, erasing its own data; pledging. The entry's
// subject (the registration, delivery or pledge code) says whose record it was; the log never
// holds a family's or a donor's chat, which erasure could no longer take out of an append-only
// log. Staff act under their own "channel:id": the audit names them.
const (
	FamilyActor = "family"
	DonorActor  = "donor"
)

// ErasedActor is the actor of a family's erasure of its own data, FamilyActor like everything
// else the family does.
const ErasedActor = FamilyActor

// Erasure is what erasing one registration did, as counts: it never carries the data it erased.
type Erasure struct {
	Code string
	// DeliveryCode is the registration's delivery, "" when it had none.
	DeliveryCode string
	Reason       ErasureReason
	// At is when the registration was erased (the first time, when Already).
	At time.Time
	// Already is set when the registration had been erased before: nothing was changed, no new
	// tombstone written. Erasing twice is harmless.
	Already bool
	// Family is the chat the registration was made from, for the caller to forget what that
	// chat's dialog holds; zero when Already.
	Family Session
	// FamilyKept is set when the chat still has other records (another registration, a pledge,
	// a staff role, a subscription), so its contact row was kept, without the parent's name.
	FamilyKept bool
	// Kept is what stays countable.
	Kept ErasureKept
	// Erased counts what was removed or blanked.
	Erased ErasureCounts
	// DialogErased and FilesRemoved are filled by an Eraser, not by the store: whether the
	// family's dialog held something that was forgotten, and how many report files were removed.
	DialogErased bool
	FilesRemoved int
}

// ErasureKept is what an erased registration keeps for the figures and the donors' traceability.
type ErasureKept struct {
	Status          RegistrationStatus
	WardCode        string
	Level           SchoolLevel
	Grade           int
	DeliveryStatus  DeliveryStatus // "" without a delivery
	DeviceLabel     string         // the delivered or allocated device, "" when none
	PossibleRepeats int            // codes in possible_duplicate_of, kept as codes
}

// ErasureCounts counts the rows an erasure changed, by what they held.
type ErasureCounts struct {
	// Notes are the officials' questions and the parent's answers, deleted.
	Notes int `json:"notes"`
	// StudentRows is 1 when the child's row was blanked, 0 when another registration shares it
	// (the erased registration then gets a blank row of its own).
	StudentRows int `json:"student_rows"`
	// OutboxDeleted are messages not yet sent that were to the family or about the registration;
	// OutboxBlanked are sent ones whose text, buttons and file were blanked.
	OutboxDeleted int `json:"outbox_deleted"`
	OutboxBlanked int `json:"outbox_blanked"`
	// Contacts is 1 when the family's contact was deleted or its name blanked.
	Contacts int `json:"contacts"`
	// CaseKeys are the idempotency keys of the case work on the registration and its delivery.
	CaseKeys int `json:"case_keys"`
	// Mentions counts the free texts of other records that named the family and were masked
	// (device notes and events, money notes, broadcasts), or, at the end of retention, the
	// notes of the devices that reached the children, blanked.
	Mentions int `json:"mentions"`
	// FileLinks are published download links of exports (which may list the family), deleted.
	FileLinks int `json:"file_links"`
	// ClaimAttempts are the counts of wrong birth dates typed to claim with the family's phone
	// (kept as its sha256), deleted.
	ClaimAttempts int `json:"claim_attempts"`
}

// Anonymization is what one retention pass did: counts of what it erased now (what was erased
// before is not counted again).
type Anonymization struct {
	Registrations int `json:"registrations"`
	Pledges       int `json:"pledges"`
	ErasureCounts
}

// ErasureStore erases personal data from the database. A registration is erased in one
// transaction, and the figures (registration_counts, delivery_counts, device_counts) stay as they
// were.
type ErasureStore interface {
	// EraseRegistration erases the family's personal data of the registration code (any case)
	// everywhere the database holds it, keeps what the figures need, and writes the tombstone
	// (ErasureActionRegistration by by, a staff member's "channel:id", "system" or FamilyActor,
	// with reason) in the same transaction; a by that is the family's own chat is recorded as
	// FamilyActor. The append-only audit log is otherwise left as it is. An unknown code is ENOTFOUND, an unknown reason or an empty by EINVALID; an
	// erased registration is returned with Already set.
	EraseRegistration(ctx context.Context, code, by string, reason ErasureReason) (Erasure, error)
	// AnonymizeExpired erases every registration of the campaign and anonymises the donors of
	// its pledges (see the implementation for what a donor keeps) once Campaign.RetentionEnd has
	// passed on the store's clock; before that it is ECONFLICT and nothing changes. Each record is
	// erased once, with a tombstone by "system"; a pass cut short is finished by the next.
	AnonymizeExpired(ctx context.Context) (Anonymization, error)
	// WithdrawFiles fails the queued outbox messages that would send one of paths (report files
	// an erasure removed), so they are not retried against a missing file; it returns how many.
	WithdrawFiles(ctx context.Context, paths []string) (int, error)
}

// Eraser erases a registration wherever its personal data lives: the database, the family's
// dialog, the report files. The flows' /mydata and the administrator's erase command call it.
type Eraser interface {
	// Erase is ErasureStore.EraseRegistration followed by the dialog and the files. The database
	// part is what counts: when it succeeded the Erasure is returned, with an error if the dialog
	// or the files could not be cleared (they go anyway, at their expiry).
	Erase(ctx context.Context, code, by string, reason ErasureReason) (Erasure, error)
}

// Erased reports whether the registration was erased: it then has no child's name, birth date,
// parent, phone, address or school (a stored registration always has them otherwise), only what
// the figures need.
func (r Registration) Erased() bool {
	return r.Code != "" && r.StudentName == "" && r.BirthDate.IsZero() && r.ParentPhone == ""
}
