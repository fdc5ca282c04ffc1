package campaign

import "slices"

// RegistrationEvent is something that happens to a registration and may change its status. The
// table of events (registrationMoves) is the one place that says which statuses each may happen
// in and where it leads; the stores ask it before they write.
type RegistrationEvent string

// Registration events.
const (
	RegistrationApprove  RegistrationEvent = "approve"  // officials verified it (VerdictApprove)
	RegistrationReject   RegistrationEvent = "reject"   // officials refused it (VerdictReject)
	RegistrationAskInfo  RegistrationEvent = "ask_info" // officials asked the parent (VerdictAskInfo)
	RegistrationAnswer   RegistrationEvent = "answer"   // the parent answered: to be verified again
	RegistrationAllocate RegistrationEvent = "allocate" // a device or stock was allocated to it
	RegistrationDeliver  RegistrationEvent = "deliver"  // its delivery was handed over
	RegistrationWithdraw RegistrationEvent = "withdraw" // the family withdrew it (/mydata)
	// RegistrationNotReceived: the family said the device handed over never came; the
	// registration waits for its delivery again.
	RegistrationNotReceived RegistrationEvent = "not_received"
	// RegistrationRelease: a volunteer found the device allocated to it unfit before the
	// hand-over and took it back (AllocationRelease); the registration waits to be allocated
	// again.
	RegistrationRelease RegistrationEvent = "release"
)

// RegistrationEvents lists every registration event.
var RegistrationEvents = []RegistrationEvent{RegistrationApprove, RegistrationReject, RegistrationAskInfo,
	RegistrationAnswer, RegistrationAllocate, RegistrationDeliver, RegistrationNotReceived, RegistrationRelease, RegistrationWithdraw}

// statusMove is one event of a state machine: the statuses it may happen in, where it leads,
// and the code of the error when it may not happen.
type statusMove[S ~string] struct {
	from    []S
	to      S
	refused string
}

// registrationMoves is the registration's state machine. A refused decision is ECONFLICT (someone
// else decided first); an answer to a registration that asked nothing, and a "not received" of a
// device not handed over, are ENOTFOUND: there is nothing of the kind waiting for the family.
var registrationMoves = map[RegistrationEvent]statusMove[RegistrationStatus]{
	RegistrationApprove:     {[]RegistrationStatus{StatusSubmitted}, StatusVerified, ECONFLICT},
	RegistrationReject:      {[]RegistrationStatus{StatusSubmitted}, StatusRejected, ECONFLICT},
	RegistrationAskInfo:     {[]RegistrationStatus{StatusSubmitted}, StatusNeedsInfo, ECONFLICT},
	RegistrationAnswer:      {[]RegistrationStatus{StatusNeedsInfo}, StatusSubmitted, ENOTFOUND},
	RegistrationAllocate:    {[]RegistrationStatus{StatusVerified}, StatusAllocated, ECONFLICT},
	RegistrationDeliver:     {[]RegistrationStatus{StatusAllocated}, StatusDelivered, ECONFLICT},
	RegistrationNotReceived: {[]RegistrationStatus{StatusDelivered}, StatusAllocated, ENOTFOUND},
	RegistrationRelease:     {[]RegistrationStatus{StatusAllocated}, StatusVerified, ECONFLICT},
	RegistrationWithdraw: {[]RegistrationStatus{StatusSubmitted, StatusNeedsInfo, StatusVerified, StatusAllocated},
		StatusWithdrawn, ECONFLICT},
}

// Valid reports whether e is a known event.
func (e RegistrationEvent) Valid() bool { _, ok := registrationMoves[e]; return ok }

// From lists the statuses e may happen in (for a store's WHERE status = ANY(...) guard).
func (e RegistrationEvent) From() []RegistrationStatus {
	return slices.Clone(registrationMoves[e].from)
}

// To is the status e leads to, "" for an unknown event.
func (e RegistrationEvent) To() RegistrationStatus { return registrationMoves[e].to }

// Allows reports whether e may happen to a registration in status s.
func (e RegistrationEvent) Allows(s RegistrationStatus) bool {
	return slices.Contains(registrationMoves[e].from, s)
}

// Event returns the registration event of an official's verdict; ok is false for an unknown one.
func (v Verdict) Event() (e RegistrationEvent, ok bool) {
	switch v {
	case VerdictApprove:
		return RegistrationApprove, true
	case VerdictReject:
		return RegistrationReject, true
	case VerdictAskInfo:
		return RegistrationAskInfo, true
	}
	return "", false
}

// Valid reports whether s is a known status.
func (s RegistrationStatus) Valid() bool { return slices.Contains(RegistrationStatuses, s) }

// CanMove reports whether some event takes a registration from s to next.
func (s RegistrationStatus) CanMove(next RegistrationStatus) bool {
	for _, m := range registrationMoves {
		if m.to == next && slices.Contains(m.from, s) {
			return true
		}
	}
	return false
}

// Final reports whether no event may happen to a registration in status s any more.
func (s RegistrationStatus) Final() bool {
	for _, m := range registrationMoves {
		if slices.Contains(m.from, s) {
			return false
		}
	}
	return true
}

// Apply checks event e on a registration in status s and returns the status it leads to. A
// refused event is an error with the event's code (EINVALID for an unknown event or status) that
// names the status.
func (s RegistrationStatus) Apply(e RegistrationEvent) (RegistrationStatus, error) {
	m, ok := registrationMoves[e]
	switch {
	case !ok:
		return s, Errorf(EINVALID, "unknown registration event %q", e)
	case !s.Valid():
		return s, Errorf(EINVALID, "unknown registration status %q", s)
	case !slices.Contains(m.from, s):
		if s.Final() {
			return s, Errorf(m.refused, "a registration that is %s cannot change status (%s)", s, e)
		}
		return s, Errorf(m.refused, "a registration that is %s cannot %s: only one that is %v", s, e, m.from)
	}
	return m.to, nil
}
