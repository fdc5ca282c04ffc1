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
}
