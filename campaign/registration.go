package campaign

import (
	"time"
)

// SchoolLevel is a level of general education.
type SchoolLevel string

// School levels of the Vietnamese general education system.
const (
	LevelPrimary        SchoolLevel = "primary"         // tiểu học, grades 1-5
	LevelLowerSecondary SchoolLevel = "lower_secondary" // THCS, grades 6-9
	LevelUpperSecondary SchoolLevel = "upper_secondary" // THPT, grades 10-12
)

// SchoolLevels lists the levels in order.
var SchoolLevels = []SchoolLevel{LevelPrimary, LevelLowerSecondary, LevelUpperSecondary}

// Grades returns the first and last grade of the level; ok is false for an unknown level.
func (l SchoolLevel) Grades() (first, last int, ok bool) {
	switch l {
	case LevelPrimary:
		return 1, 5, true
	case LevelLowerSecondary:
		return 6, 9, true
	case LevelUpperSecondary:
		return 10, 12, true
	}
	return 0, 0, false
}

// HasGrade reports whether grade belongs to the level.
func (l SchoolLevel) HasGrade(grade int) bool {
	first, last, ok := l.Grades()
	return ok && grade >= first && grade <= last
}

// Circumstance is a family situation that gives a student priority.
type Circumstance string

// Circumstances a parent can declare; several may apply.
const (
	CircumstancePoor            Circumstance = "poor"              // hộ nghèo
	CircumstanceNearPoor        Circumstance = "near_poor"         // hộ cận nghèo
	CircumstanceOrphanOneCovid  Circumstance = "orphan_one_covid"  // mồ côi cha hoặc mẹ do Covid-19
	CircumstanceOrphanBothCovid Circumstance = "orphan_both_covid" // mồ côi cả cha lẫn mẹ do Covid-19
	CircumstanceCovidHardship   Circumstance = "covid_hardship"    // gia đình khó khăn do Covid-19
	CircumstanceOther           Circumstance = "other"             // khác, with a text
)

// Circumstances lists every circumstance in the order they are offered.
var Circumstances = []Circumstance{
	CircumstancePoor, CircumstanceNearPoor, CircumstanceOrphanOneCovid,
	CircumstanceOrphanBothCovid, CircumstanceCovidHardship, CircumstanceOther,
}

// DeviceSituation is what the student has today for online school.
type DeviceSituation string

// Device situations.
const (
	SituationNone        DeviceSituation = "none"         // no device at all
	SituationSharesPhone DeviceSituation = "shares_phone" // shares a parent's phone
	SituationBroken      DeviceSituation = "broken"       // has a broken device
)

// DeviceSituations lists the situations in the order they are offered.
var DeviceSituations = []DeviceSituation{SituationNone, SituationSharesPhone, SituationBroken}

// Need is a kind of device or connectivity a student needs.
type Need string

// Needs a registration may ask for; several may apply.
const (
	NeedLaptop          Need = "laptop"
	NeedDesktop         Need = "desktop" // a complete set: monitor, CPU, keyboard, mouse, microphone, camera
	NeedTablet          Need = "tablet"
	NeedSmartphone      Need = "smartphone"
	NeedSIM4G           Need = "sim_4g"
	NeedUSBWiFi         Need = "usb_wifi"
	NeedInternetPackage Need = "internet_package"
)

// Needs lists every need in the order they are offered.
var Needs = []Need{NeedLaptop, NeedDesktop, NeedTablet, NeedSmartphone, NeedSIM4G, NeedUSBWiFi, NeedInternetPackage}

// RegistrationStatus is where a registration stands.
type RegistrationStatus string

// Registration statuses, in the order a registration normally moves through them.
const (
	StatusSubmitted RegistrationStatus = "submitted"
	StatusVerified  RegistrationStatus = "verified"
	StatusRejected  RegistrationStatus = "rejected"
	StatusAllocated RegistrationStatus = "allocated"
	StatusDelivered RegistrationStatus = "delivered"
	// StatusWithdrawn: the family withdrew the registration (/mydata) before a device reached
	// the child; a device allocated to it went back to the pool. It is final.
	StatusWithdrawn RegistrationStatus = "withdrawn"
)

// Registration is a parent's request for a device for one child. It holds only what the campaign
// needs to verify the child, set the priority and deliver the device.
type Registration struct {
	ID     int64
	Code   string // e.g. TD-000123
	Status RegistrationStatus
	// RejectReason is set when Status is StatusRejected: the reason's text for RejectOther.
	RejectReason string
	// RejectCode is the reason officials chose when Status is StatusRejected.
	RejectCode RejectReason

	CampaignID string
	// Channel and ChatID identify the parent's chat, where the parent hears of progress.
	Channel string
	ChatID  string
	// UserID is the parent's account on the channel.
	UserID   string
	Language string

	ParentName  string
	ParentPhone string // E.164

	StudentID   int64
	StudentName string
	BirthDate   time.Time // a date, at midnight UTC
	Level       SchoolLevel
	Grade       int
	School      string
	WardCode    string
	Address     string

	// Circumstances are those the parent declared; empty when none of them applies (the family
	// is registered all the same and scores its device situation only).
	Circumstances     []Circumstance
	CircumstanceOther string
	DeviceSituation   DeviceSituation
	Needs             []Need

	// IdempotencyKey is the dialog's key: a repeated submit of the same form returns the record
	// made the first time instead of a second one.
	IdempotencyKey string
	// PossibleDuplicateOf holds the codes of earlier registrations of what seems the same child
	// (same normalised name, date of birth and ward), for officials to look at.
	PossibleDuplicateOf []string

	ConsentAt time.Time
	CreatedAt time.Time
	UpdatedAt time.Time

	// Source is how the registration came (SourceChat when ""). A list's row has ListID and
	// ListRow; a list's or an assisted registration has RegisteredBy, the staff member's
	// "channel:id", and no chat until the family claims it.
	Source         Source
	ListID         int64
	ListRow        int
	RegisteredBy   string
	ConsentWitness string
	// Registrar is set, when read, on a registration with a RegisteredBy that no family has
	// claimed (no chat): whom its notices go to meanwhile (ClaimStore).
	Registrar *Registrar
	// ClaimedAt is when the family claimed a list's or assisted registration from its chat.
	ClaimedAt time.Time
	// ListCode is the code of the list a list's row came in (DS-000001); RegisteredByName and
	// RegisteredByRole name the staff member in RegisteredBy as the staff table knows them ("" when
	// it does not), the role a list was sent in otherwise. Read, never written.
	ListCode         string
	RegisteredByName string
	RegisteredByRole Role
}

// Contact is a person the bot talks to on a channel.
type Contact struct {
	Channel    string
	ExternalID string // the chat id on the channel
	Name       string
	Language   string
	Role       string // "" for parents and donors
	Stopped    bool   // the person blocked the bot
	// Unreachable is set while a channel will not carry messages to the person until they write
	// again (Zalo's 7-day window); unlike Stopped, they did not refuse the bot.
	Unreachable bool
}

// AuditEntry records who saw or changed what.
type AuditEntry struct {
	At      time.Time
	Actor   string // staff "telegram:12345", FamilyActor, DonorActor, "system", "job:milestones"
	Action  string // "registration.create", "registration.view", ...
	Subject string // e.g. a registration code
	Before  any
	After   any
}
