package campaign

import (
	"context"
	"time"
)

// ClaimTriesMax is how many wrong birth dates may be given for one phone number before the bot
// stops offering the registrations that hold it (issue 15): a child's birth date is the check
// that the person who shares a phone is the family, and three tries leave room for a slip, not
// for guessing.
const ClaimTriesMax = 3

// Registrar is the staff member who stands for a family that has not claimed its registration
// yet: who sent the list it came in, or who registered the child on the family's behalf. What
// the bot would tell the family goes to them (in their language), for the school or ward to pass
// on, until the family claims the registration from its own chat.
type Registrar struct {
	// Session is the staff member's private chat (RegisteredBy, "channel:id").
	Session
	Language string
	// Active is set while they are active staff. Administrators are named by the configuration,
	// not stored as staff: the flows check them.
	Active bool
	Source Source
	// ListCode is the list's code (DS-000001) for a list's row.
	ListCode string
	// Name and Role are the staff member's as the staff table knows them ("" when it does not:
	// an administrator); Role is the role a list was sent in when the staff table has none.
	Name string
	Role Role
	// StandIns are, while the staff member is not active staff, who gets the family's notices
	// instead, each in their language: for a list a school sent (or a registration a school made
	// on a family's behalf), the school's active staff (its name compared by SchoolKey); else the
	// ward's verifiers (its ward officials and Women's Union), or the education office when the
	// ward has none. StandInRole says which: RoleSchool, RoleWardOfficial or
	// RoleEducationOffice. Staff whose chat stopped the bot are left out; none at all is nil.
	StandIns    []Recipient
	StandInRole Role
}

// ClaimRequest is a family's claim of the registrations a school's or ward's list, or staff on
// its behalf, made with its phone: the child's birth date confirms it.
type ClaimRequest struct {
	Phone     string    // E.164, as the family shared or typed it
	BirthDate time.Time // the child's, as the family typed it: a date at midnight UTC
	// Family is the chat that claims; UserID its account, Language the language it writes in.
	Family   Session
	UserID   string
	Language string
	// ParentName fills the parent's name of a registration that has none; "" leaves it.
	ParentName string
	// Key is the update's key: a wrong birth date sent again by a retried update counts once.
	Key string
}

// ClaimResult is what became of a claim.
type ClaimResult struct {
	// Claimed are the registrations now linked to the family's chat (also those it had claimed
	// before with the same date: a retried claim), as they are now.
	Claimed []Registration
	// Taken counts the registrations with this phone and birth date another chat claimed first.
	Taken int
	// Left counts the registrations holding the phone that no chat has claimed yet.
	Left int
	// Failures counts the wrong birth dates given for this phone; Blocked is set once it reached
	// ClaimTriesMax: nothing is offered for the phone any more.
	Failures int
	Blocked  bool
}

// ClaimStore links registrations made without a chat (source list or assisted) to the family's
// chat once the family shows it knows the child.
type ClaimStore interface {
	// Unclaimed counts the campaign's registrations that hold phone and that no chat has
	// claimed (withdrawn and erased ones left out); blocked is set when the phone had
	// ClaimTriesMax wrong birth dates, and n is then 0.
	Unclaimed(ctx context.Context, phone string) (n int, blocked bool, err error)
	// Claim links every unclaimed registration holding r.Phone with the child's birth date
	// r.BirthDate to r.Family, in one transaction with one audit row "registration.claim" each
	// (by FamilyActor): channel, chat, user, language, the parent's name when it had none, and
	// the time of the claim. No match is a wrong try, counted for the phone; the one that
	// reaches ClaimTriesMax is audited ("registration.claim_blocked", one row per registration
	// left unclaimed, without the date or the phone). A blocked phone claims nothing.
	Claim(ctx context.Context, r ClaimRequest) (ClaimResult, error)
	// ClaimBlockOf says where phone stands: the wrong birth dates counted for it, whether it is
	// blocked, and the registrations it may claim (withdrawn and erased ones left out).
	ClaimBlockOf(ctx context.Context, phone string) (ClaimBlock, error)
	// Unblock clears the wrong birth dates counted for phone, and its block, after staff checked
	// with the family (a family that mistyped the date): in one transaction with one audit row
	// "registration.claim_unblock" by by (a staff member's "channel:id") on each registration the
	// phone may claim, with the tries cleared. It returns where the phone stood before; a phone
	// with nothing counted writes nothing.
	Unblock(ctx context.Context, phone, by string) (ClaimBlock, error)
}

// ClaimBlock is where a phone stands with claims (ClaimStore.ClaimBlockOf).
type ClaimBlock struct {
	Failures int
	Blocked  bool
	// Holders are the registrations the phone may claim, oldest first: their code, ward and
	// school, enough to decide who may unblock it.
	Holders []ClaimHolder
}

// ClaimHolder is a registration a phone may claim.
type ClaimHolder struct {
	Code     string
	WardCode string
	School   string
}
