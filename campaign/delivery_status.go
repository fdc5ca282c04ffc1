package campaign

import "slices"

// DeliveryEvent is something that happens to a delivery. The table of events (deliveryMoves) is
// the one place that says which statuses each may happen in, where it leads, and what it does to
// the delivery's registration; the stores ask it before they write.
type DeliveryEvent string

// Delivery events. A delivery is made pending by RegistrationAllocate.
const (
	DeliveryHandOver    DeliveryEvent = "hand_over"    // a volunteer handed it over (CaseStore.MarkDelivered)
	DeliveryFail        DeliveryEvent = "fail"         // an attempt failed: it stays pending, back on the list
	DeliveryChoosePlace DeliveryEvent = "choose_place" // the family chose where to receive it
	// DeliveryNotReceived: the family said the device handed over never came; pending again.
	DeliveryNotReceived DeliveryEvent = "not_received"
	DeliveryConfirm     DeliveryEvent = "confirm"      // the family pressed "Đã nhận"
	DeliveryAutoConfirm DeliveryEvent = "auto_confirm" // the configured days passed after the hand-over
	// DeliveryCancel: the family withdrew the registration; the delivery is removed (To is "").
	DeliveryCancel DeliveryEvent = "cancel"
	// DeliveryRelease: a volunteer took the device back as unfit before the hand-over; the
	// delivery is removed (To is "") and its registration waits to be allocated again.
	DeliveryRelease DeliveryEvent = "release"
)

// DeliveryEvents lists every delivery event.
var DeliveryEvents = []DeliveryEvent{DeliveryHandOver, DeliveryFail, DeliveryChoosePlace, DeliveryNotReceived,
	DeliveryConfirm, DeliveryAutoConfirm, DeliveryCancel, DeliveryRelease}

// DeliveryStatuses lists every delivery status.
var DeliveryStatuses = []DeliveryStatus{DeliveryPending, DeliveryDelivered, DeliveryConfirmed}

// deliveryMove is a delivery's event: its move, and the registration's event it causes ("" none).
type deliveryMove struct {
	statusMove[DeliveryStatus]
	registration RegistrationEvent
	// repeatable is set when the event happening again, to a delivery it already led to To,
	// changes nothing and is no error (a second "Đã nhận").
	repeatable bool
}

// deliveryMoves is the delivery's state machine. What a volunteer does to a delivery that is not
// pending is ECONFLICT (someone else did it first); what a family does to one that is not
// waiting for it is ENOTFOUND.
var deliveryMoves = map[DeliveryEvent]deliveryMove{
	DeliveryHandOver:    {statusMove[DeliveryStatus]{[]DeliveryStatus{DeliveryPending}, DeliveryDelivered, ECONFLICT}, RegistrationDeliver, false},
	DeliveryFail:        {statusMove[DeliveryStatus]{[]DeliveryStatus{DeliveryPending}, DeliveryPending, ECONFLICT}, "", false},
	DeliveryChoosePlace: {statusMove[DeliveryStatus]{[]DeliveryStatus{DeliveryPending}, DeliveryPending, ENOTFOUND}, "", false},
	DeliveryNotReceived: {statusMove[DeliveryStatus]{[]DeliveryStatus{DeliveryDelivered}, DeliveryPending, ENOTFOUND}, RegistrationNotReceived, false},
	DeliveryConfirm:     {statusMove[DeliveryStatus]{[]DeliveryStatus{DeliveryDelivered}, DeliveryConfirmed, ENOTFOUND}, "", true},
	DeliveryAutoConfirm: {statusMove[DeliveryStatus]{[]DeliveryStatus{DeliveryDelivered}, DeliveryConfirmed, ECONFLICT}, "", false},
	DeliveryCancel:      {statusMove[DeliveryStatus]{[]DeliveryStatus{DeliveryPending}, "", ECONFLICT}, "", false},
	DeliveryRelease:     {statusMove[DeliveryStatus]{[]DeliveryStatus{DeliveryPending}, "", ECONFLICT}, RegistrationRelease, false},
}

// Valid reports whether e is a known event.
func (e DeliveryEvent) Valid() bool { _, ok := deliveryMoves[e]; return ok }

// From lists the statuses e may happen in (for a store's WHERE status = ANY(...) guard).
func (e DeliveryEvent) From() []DeliveryStatus { return slices.Clone(deliveryMoves[e].from) }

// To is the status e leads to; "" for DeliveryCancel and DeliveryRelease (the delivery is
// removed) and unknown events.
func (e DeliveryEvent) To() DeliveryStatus { return deliveryMoves[e].to }

// Allows reports whether e may happen to a delivery in status s.
func (e DeliveryEvent) Allows(s DeliveryStatus) bool {
	return slices.Contains(deliveryMoves[e].from, s)
}

// Registration is the event e causes to the delivery's registration, "" when none.
func (e DeliveryEvent) Registration() RegistrationEvent { return deliveryMoves[e].registration }

// Repeated reports whether e already happened to a delivery in status s: e is repeatable and s
// is where it leads. Nothing is to be written then, and it is no error.
func (e DeliveryEvent) Repeated(s DeliveryStatus) bool {
	m := deliveryMoves[e]
	return m.repeatable && s == m.to
}

// Valid reports whether s is a known status.
func (s DeliveryStatus) Valid() bool { return slices.Contains(DeliveryStatuses, s) }

// Registration is the status of a delivery's registration while the delivery is in status s:
// allocated while it is pending, delivered once handed over.
func (s DeliveryStatus) Registration() RegistrationStatus {
	switch s {
	case DeliveryPending:
		return StatusAllocated
	case DeliveryDelivered, DeliveryConfirmed:
		return StatusDelivered
	}
	return ""
}

// Final reports whether no event may happen to a delivery in status s any more.
func (s DeliveryStatus) Final() bool {
	for _, m := range deliveryMoves {
		if slices.Contains(m.from, s) {
			return false
		}
	}
	return true
}

// Apply checks event e on a delivery in status s and returns the status it leads to. A refused
// event is an error with the event's code (EINVALID for an unknown event or status) that names
// the status; a repeated one (Repeated) is refused too, for the caller to tell apart first.
func (s DeliveryStatus) Apply(e DeliveryEvent) (DeliveryStatus, error) {
	m, ok := deliveryMoves[e]
	switch {
	case !ok:
		return s, Errorf(EINVALID, "unknown delivery event %q", e)
	case !s.Valid():
		return s, Errorf(EINVALID, "unknown delivery status %q", s)
	case !slices.Contains(m.from, s):
		if s.Final() {
			return s, Errorf(m.refused, "a delivery that is %s cannot change (%s)", s, e)
		}
		return s, Errorf(m.refused, "a delivery that is %s cannot %s: only one that is %v", s, e, m.from)
	}
	return m.to, nil
}
