package campaign

import (
	"context"
	"strings"
	"time"
)

// StatusNeedsInfo is a registration officials asked the parent about; the parent's answer puts it
// back to StatusSubmitted, to be verified again.
const StatusNeedsInfo RegistrationStatus = "needs_info"

// RegistrationStatuses lists every registration status.
var RegistrationStatuses = []RegistrationStatus{StatusSubmitted, StatusNeedsInfo, StatusVerified, StatusRejected, StatusAllocated, StatusDelivered, StatusWithdrawn}

// Verdict is an official's decision on a pending registration.
type Verdict string

// Verdicts.
const (
	VerdictApprove Verdict = "approve"
	VerdictReject  Verdict = "reject"
	VerdictAskInfo Verdict = "ask_info" // ask the parent for more information
)

// RejectReason is why officials refused a registration.
type RejectReason string

// Reject reasons; RejectOther comes with a text.
const (
	RejectNotInArea   RejectReason = "not_in_area"  // không cư trú trên địa bàn
	RejectHasDevice   RejectReason = "has_device"   // đã có thiết bị
	RejectDuplicate   RejectReason = "duplicate"    // đăng ký trùng
	RejectNotEligible RejectReason = "not_eligible" // không phải học sinh các cấp này
	RejectOther       RejectReason = "other"        // lý do khác, with a text
)

// RejectReasons lists the reasons in the order they are offered.
var RejectReasons = []RejectReason{RejectNotInArea, RejectHasDevice, RejectDuplicate, RejectNotEligible, RejectOther}

// Decision is what an official decided about one registration.
type Decision struct {
	Code    string
	Verdict Verdict
	// Reason is set for VerdictReject.
	Reason RejectReason
	// Text is the reason's text for RejectOther, and the question for VerdictAskInfo.
	Text string
	// Key makes a repeated decision (the same button run twice) write once; "" is never de-duplicated.
	Key string
}

// Note is a question officials asked about a registration, or the parent's answer.
type Note struct {
	At     time.Time
	Actor  string // "<channel>:<id>"; the parent's chat for an answer
	Answer bool   // false: a question from officials; true: the parent's answer
	Text   string
	// PhotoID is the channel's reference to a photo the parent sent as (part of) an answer, ""
	// when none; PhotoChannel the channel it came from.
	PhotoID, PhotoChannel string
	// Message is set on a family's own message to officials (MessageStore), which answers no
	// question; Answer is then true too (the family's words).
	Message bool
}

// Answer is one message of a parent's answer to officials' question: words, a photo (the
// channel's reference to it), or both.
type Answer struct {
	Text                  string
	PhotoID, PhotoChannel string
}

// Case is a registration as officials see it while verifying: the record, its notes and what
// the other registrations of seemingly the same child are.
type Case struct {
	Registration
	Notes []Note
	// Duplicates are the other registrations of seemingly the same child (same folded name, date
	// of birth and ward), any status, oldest first.
	Duplicates []Registration
	// AlreadyHelped is set when the child (same folded name and date of birth) got a device
	// delivered in this or an earlier campaign.
	AlreadyHelped bool
	// MessageAt is when the oldest of the family's messages officials have not handled came;
	// zero when none waits (see MessageStore).
	MessageAt time.Time
}

// Handover is where a family receives a device.
type Handover string

// Handover places; the parent chooses when told a device was allocated (home by default).
const (
	HandoverHome   Handover = "home"
	HandoverSchool Handover = "school"
)

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

// Delivery statuses: pending (to be taken to the family; a failed attempt comes back here),
// delivered (the volunteer handed it over), confirmed (final: the parent pressed "Đã nhận", or
// the configured days passed).
const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliveryDelivered DeliveryStatus = "delivered"
	DeliveryConfirmed DeliveryStatus = "confirmed"
)

// FailReason is why a delivery attempt failed.
type FailReason string

// Reasons a delivery attempt fails; the delivery goes back to the list.
const (
	FailNotHome      FailReason = "not_home"
	FailWrongAddress FailReason = "wrong_address"
	FailOther        FailReason = "other"
	// FailNotReceived is the parent's word, after a hand-over, that the device never reached
	// them (CaseStore.ReportNotReceived); volunteers are not offered it.
	FailNotReceived FailReason = "not_received"
)

// FailReasons lists the failure reasons in the order they are offered.
var FailReasons = []FailReason{FailNotHome, FailWrongAddress, FailOther}

// Delivery is an allocated device (and any SIM or package) on its way to a child. It carries
// what the volunteer needs to hand it over and whom to tell.
type Delivery struct {
	ID               int64
	Code             string // e.g. GH-000012
	Status           DeliveryStatus
	RegistrationCode string
	StudentName      string
	Level            SchoolLevel
	Grade            int
	School           string
	WardCode         string
	Address          string
	ParentName       string
	ParentPhone      string
	// Parent is the parent's chat, where the "Đã nhận" button goes; ParentLanguage its language.
	Parent         Session
	ParentLanguage string
	// Registrar is set while the registration has no chat (a list's or an assisted one the
	// family has not claimed): the staff member its family's notices go to meanwhile.
	Registrar *Registrar
	Handover  Handover
	// DeviceLabel and DeviceType are "" for connectivity only.
	DeviceLabel string
	DeviceType  DeviceType
	Stock       []StockKind
	// Donor is the chat of the donor whose pledge gave the device, nil when none (walk-in gift,
	// bought with money, or connectivity only); DonorLanguage its language.
	Donor         *Session
	DonorLanguage string
	Attempts      int        // failed attempts so far
	LastFailure   FailReason // the last failed attempt's reason
	// LastFailureNote is the volunteer's note on it, or the parent's words when not received.
	LastFailureNote string
	Volunteer       string // "<channel>:<id>" of who handed it over
	RecipientName   string
	PhotoID         string // the channel's file id of the photo taken as proof, "" when none
	AllocatedBy     string
	AllocatedAt     time.Time
	DeliveredAt     time.Time
	ConfirmedAt     time.Time
	// AutoConfirmed is set when the delivery became final because the configured days passed.
	AutoConfirmed bool
}

// Session is a chat on a channel.
type Session struct {
	Channel string
	ChatID  string
}

// Proposal is what the allocation store offers Match: the verified children and the supply.
type Proposal struct {
	Candidates []Candidate
	Supply     Supply
}

// CaseStore keeps the officials' work on registrations: verification, allocation and delivery.
// Every change writes audit rows with the actor, the before and the after in the same
// transaction.
type CaseStore interface {
	// PendingCases lists registrations waiting for verification (StatusSubmitted), in wardCode or
	// everywhere when wardCode is "", each with its notes, duplicates and AlreadyHelped. At most
	// limit are returned, chosen by the campaign's priority (highest first, then as Match orders
	// candidates); skip lists codes to leave out (those an official put aside).
	PendingCases(ctx context.Context, wardCode string, skip []string, limit int) ([]Case, error)
	// CaseByCode returns one registration with its notes and duplicates, ENOTFOUND when none.
	CaseByCode(ctx context.Context, code string) (Case, error)
	// Decide applies an official's decision to a pending registration: approve makes it
	// verified, reject rejected with the reason, ask-info needs_info with the question as a note.
	// A registration that is no longer pending is ECONFLICT (someone else decided first), unless
	// the decision's Key was applied before: then the registration is returned as it is.
	// notify's messages (to the parent) are queued with the decision.
	Decide(ctx context.Context, d Decision, by Staff, notify Notify[Registration]) (Registration, error)
	// AnswerInfo stores a message of the parent's answer to the question on a registration made
	// from the chat: on a needs_info one it is the answer, and the registration is submitted
	// again; on one already answered by this chat and not decided or asked again since (the
	// latest note is this chat's answer) it is added to that answer. It returns the registration
	// and the actor who asked. Any other registration, or one of another chat, is ENOTFOUND.
	// notify's messages (to the official who asked) are queued with the answer.
	AnswerInfo(ctx context.Context, code string, parent Session, a Answer, key string, notify Notify[InfoAnswer]) (reg Registration, askedBy string, err error)
	// WaitingForInfo lists the codes of the chat's registrations that wait for the parent's answer.
	WaitingForInfo(ctx context.Context, parent Session) ([]string, error)

	// Proposal returns the verified registrations as candidates (AlreadyHelped set from the
	// delivery history) scored by the campaign's rules, the ready devices with the ward where
	// each is kept, and the stock not yet allocated.
	Proposal(ctx context.Context) (Proposal, error)
	// ConfirmAllocations makes each allocation real, in their order, in transactions of a chunk
	// of allocations each (a city's day of hundreds is a handful of transactions), as
	// AllocationAllocate says: the device becomes allocated to the registration, the
	// registration allocated, the stock is taken and a pending delivery made. An allocation
	// whose registration is no longer verified or whose device is no longer ready, or whose
	// stock ran out, is skipped and its code returned in stale. key+code de-duplicates: confirming again returns the same deliveries,
	// and a confirmation cut short by an error (the chunks before it are kept) makes the rest
	// when repeated. notify's messages for each delivery made (to its family) are queued with it.
	ConfirmAllocations(ctx context.Context, allocs []Allocation, key string, by Staff, notify Notify[Delivery]) (made []Delivery, stale []string, err error)

	// SetHandover records where the family wants the device, on a pending delivery of the
	// parent's chat; anything else is ENOTFOUND.
	SetHandover(ctx context.Context, code string, parent Session, h Handover) (Delivery, error)
	// OpenDeliveries lists pending deliveries, those with failed attempts first, then by ward and
	// allocation time; wardCode "" means every ward.
	OpenDeliveries(ctx context.Context, wardCode string, limit int) ([]Delivery, error)
	// DeliveryByCode returns a delivery, ENOTFOUND when none.
	DeliveryByCode(ctx context.Context, code string) (Delivery, error)
	// MarkDelivered records the hand-over of a pending delivery as AllocationHandOver says: the
	// device (unless moved by hand since the allocation) and the registration become delivered.
	// Marking a delivered or confirmed delivery again with the same key returns it unchanged;
	// otherwise a delivery that is not pending is ECONFLICT. notify's messages (to the family)
	// are queued with the hand-over.
	MarkDelivered(ctx context.Context, code, recipient, photoID, key string, by Staff, notify Notify[Delivery]) (Delivery, error)
	// MarkFailed records a failed attempt: the delivery stays pending and comes back to the list.
	// key de-duplicates as in MarkDelivered; notify's messages are queued with the attempt.
	MarkFailed(ctx context.Context, code string, reason FailReason, note, key string, by Staff, notify Notify[Delivery]) (Delivery, error)
	// ConfirmDelivery makes a delivered delivery final on the parent's word, from the parent's
	// chat. already is true when it was confirmed before (nothing changes then). A delivery of
	// another chat, or not yet delivered, is ENOTFOUND. notify's messages (to the donor) are
	// queued with the confirmation, once.
	ConfirmDelivery(ctx context.Context, code string, parent Session, notify Notify[Delivery]) (d Delivery, already bool, err error)
	// ReportNotReceived records the parent's word that a delivery marked delivered never reached
	// them, with their words: the delivery goes back to pending (first in OpenDeliveries, its
	// failure FailNotReceived), its device (when still delivered) and registration back to
	// allocated as AllocationNotReceived says, so it is never made final automatically
	// meanwhile. notify's messages (to the volunteer who marked it) are queued with it. key de-duplicates; a delivery of another chat, still pending, or already
	// confirmed (final) is ENOTFOUND.
	ReportNotReceived(ctx context.Context, code string, parent Session, words, key string, notify Notify[Delivery]) (Delivery, error)
	// FinalizeDeliveries makes final every delivery handed over before cutoff and not confirmed,
	// as auto-confirmed, and returns them. The messages notices gives for each (to its parent and
	// donor) are queued in the outbox in the same transaction: a delivery is final exactly when
	// they are queued. notices may be nil.
	FinalizeDeliveries(ctx context.Context, cutoff time.Time, notices Notify[Delivery]) ([]Delivery, error)
}

// InfoAnswer is a parent's answer to officials' question as AnswerInfo stored it: the registration
// and the actor ("channel:id") of the question it answers.
type InfoAnswer struct {
	Registration Registration
	AskedBy      string
	// Asker is the official who asked as the staff records hold them now, read with the answer:
	// Role "" when they are no longer active staff (revoked, or never staff: administrators are
	// named by the configuration, not stored). The answer goes to them only while Authorize lets
	// them verify the registration's ward; otherwise to Verifiers.
	Asker Staff
	// Verifiers are the ward's verification queue now: the active staff of the registration's
	// ward who verify (ward officials, the ward's Women's Union) with their language, or, when the
	// ward has none, the education office (as FamilyMessage.Officials).
	Verifiers []Recipient
	// Answer is the message stored; More says it was added to an answer given before.
	Answer Answer
	More   bool
}

// FindStore looks records up by code or phone.
type FindStore interface {
	// RegistrationByCode returns a registration, ENOTFOUND when none.
	RegistrationByCode(ctx context.Context, code string) (Registration, error)
	// FindByPhone lists the registrations (as parent's phone) and pledges (as donor's phone)
	// made with a phone number in E.164 that scope may see, newest first, at most limit of each.
	// The store filters: nothing outside scope is read, listed or counted.
	FindByPhone(ctx context.Context, phone string, scope FindScope, limit int) ([]Registration, []Pledge, error)
}

// FindScope is what a staff member's search may return. The zero FindScope returns nothing.
type FindScope struct {
	// WardCode keeps the records of one ward (registrations by the child's ward, pledges by the
	// ward office they were brought to); "" is every ward, for city-wide roles.
	WardCode string
	// School keeps the registrations of children of one school, compared by SchoolKey: a school
	// member's own. "" is every school.
	School string
	// Registrations and Pledges say which kinds of record the role may see: children's records
	// (ActionViewChildData) and donors' pledges (ActionViewPledges).
	Registrations bool
	Pledges       bool
}

// FindScopeOf is the scope of s's searches, as Authorize decides it: ward roles their ward (a
// ward role without a ward sees nothing), a school its own students (in any ward; a school whose
// name says no more than its level sees nothing), other roles every ward, each kind of record
// only when the role may view it.
func FindScopeOf(s Staff) FindScope {
	ward, school := "", ""
	if s.Role.NeedsWard() {
		if s.WardCode == "" {
			return FindScope{}
		}
		ward = s.WardCode
	}
	if s.Role.NeedsSchool() {
		if SchoolKeyLevelOnly(s.School) {
			return FindScope{}
		}
		school = s.School
	}
	return FindScope{
		WardCode:      ward,
		School:        school,
		Registrations: AuthorizeRecord(s, ActionViewChildData, ward, school) == nil,
		Pledges:       AuthorizeRecord(s, ActionViewPledges, ward, school) == nil,
	}
}

// Empty reports whether the scope can see nothing.
func (f FindScope) Empty() bool { return !f.Registrations && !f.Pledges }

// ExportSheet is a sheet of an export.
type ExportSheet string

// Export sheets, in the workbook's order.
const (
	SheetRegistrations ExportSheet = "registrations"
	SheetPledges       ExportSheet = "pledges"
	SheetDevices       ExportSheet = "devices"
	SheetDeliveries    ExportSheet = "deliveries"
	// SheetSchools counts the registrations of the other sheets' filter by school, by source
	// and by status (issue 15): figures, no child named.
	SheetSchools ExportSheet = "schools"
)

// ExportSheets lists the sheets in the workbook's order.
var ExportSheets = []ExportSheet{SheetRegistrations, SheetPledges, SheetDevices, SheetDeliveries, SheetSchools}

// ExportFilter chooses the rows of an export. Zero fields do not filter.
type ExportFilter struct {
	// WardCode keeps rows of one ward: registrations and deliveries by the child's ward, pledges
	// by the ward office they were brought to, devices by the ward of the child they were
	// allocated to or of the ward office they were brought to.
	WardCode string
	// School keeps registrations (and their deliveries) of children of one school, compared by
	// SchoolKey: a school member's export. Pledges and devices have no school: a filter with a
	// school may not hold their sheets.
	School string
	// Status keeps registrations (and the deliveries of registrations) with this status.
	Status RegistrationStatus
	// From and To keep rows created in [From, To).
	From, To time.Time
	// ShowPhones writes phone numbers in full; otherwise they are masked.
	ShowPhones bool
	// Sheets are the sheets the export holds: for a staff member, those ExportScope gives their
	// role. The zero set holds every sheet.
	Sheets ExportSheetSet
}

// ExportFormat is the file format of an export.
type ExportFormat string

// Export formats.
const (
	FormatXLSX ExportFormat = "xlsx"
	FormatCSV  ExportFormat = "csv" // a ZIP of one CSV per sheet
)

// ExportFile is an export written to a temporary file, which the channel sends and removes.
type ExportFile struct {
	Path string
	Name string // the name the recipient sees, e.g. maytinhchoem-2021-09-20.xlsx
	// Rows counts the data rows written per sheet.
	Rows map[ExportSheet]int
}

// Exporter writes exports.
type Exporter interface {
	// Export writes the chosen rows to a temporary file in format, streaming from the database.
	Export(ctx context.Context, f ExportFilter, format ExportFormat) (ExportFile, error)
}

// SeesPhones reports whether a role needs parents' and donors' phone numbers in full: ward
// officials and the women's union call families to verify, volunteers call before a delivery,
// a school calls its own students' families (whose numbers it keeps already). City-level roles
// see them masked.
func SeesPhones(r Role) bool {
	switch r {
	case RoleAdmin, RoleWardOfficial, RoleWomensUnion, RoleVolunteer, RoleSchool:
		return true
	}
	return false
}

// MaskPhone keeps the country code, the first two and the last three digits of an E.164 number:
// "+84901234567" becomes "+8490*****567". Anything too short to mask is all stars.
func MaskPhone(e164 string) string {
	if !strings.HasPrefix(e164, "+84") || len(e164) < 9 {
		return strings.Repeat("*", len(e164))
	}
	keep := len("+84") + 2
	return e164[:keep] + strings.Repeat("*", len(e164)-keep-3) + e164[len(e164)-3:]
}
