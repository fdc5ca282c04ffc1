package campaign

// AllocationEvent is something that happens to an allocation: the link between a verified
// registration and a device, stock (a SIM, a USB Wi-Fi, an internet package) or both, from the
// moment an official allocates until the family has it or the family withdraws. An allocation is
// several records that move together: its registration, its delivery, its device when it has one
// and its stock. The table of events (allocationMoves) is the one place that says what each event
// does to each of them; the stores ask it before they write. It names the registration's and the
// delivery's events rather than their statuses, so their own tables still decide where those
// lead, and every device move in it is one DeviceState.Move allows.
type AllocationEvent string

// Allocation events, one for each delivery event and one for the allocation itself.
const (
	AllocationAllocate    AllocationEvent = "allocate"     // an official allocated (CaseStore.ConfirmAllocations)
	AllocationChoosePlace AllocationEvent = "choose_place" // the family chose where to receive it
	AllocationFail        AllocationEvent = "fail"         // a delivery attempt failed
	AllocationHandOver    AllocationEvent = "hand_over"    // a volunteer handed it over
	// AllocationNotReceived: the family said what was handed over never came; it is promised
	// to them again.
	AllocationNotReceived AllocationEvent = "not_received"
	AllocationConfirm     AllocationEvent = "confirm"      // the family pressed "Đã nhận"
	AllocationAutoConfirm AllocationEvent = "auto_confirm" // the configured days passed after the hand-over
	// AllocationCancel: the family withdrew the registration before the hand-over; the
	// allocation is undone and what it held is free again.
	AllocationCancel AllocationEvent = "cancel"
	// AllocationRelease: a volunteer found the allocated device unfit before the hand-over and
	// moved it back to ready by hand (DeviceStore.MoveDevice); the delivery is removed, the
	// registration waits to be allocated again and what the allocation held is free again.
	AllocationRelease AllocationEvent = "release"
)

// AllocationEvents lists every allocation event.
var AllocationEvents = []AllocationEvent{AllocationAllocate, AllocationChoosePlace, AllocationFail,
	AllocationHandOver, AllocationNotReceived, AllocationConfirm, AllocationAutoConfirm, AllocationCancel,
	AllocationRelease}

// StockEffect is what an allocation event does to the stock its allocation lists. Stock is
// counted, not tracked one by one: what is left of a kind is what came in less what the
// allocations not undone hold.
type StockEffect string

// Stock effects.
const (
	StockKept     StockEffect = ""          // the stock stays as it is
	StockTaken    StockEffect = "take"      // one of each kind listed leaves the stock; none left refuses the allocation
	StockGiveBack StockEffect = "give_back" // one of each kind listed is free to allocate again
)

// allocationMove is what one allocation event does to each record of the allocation.
type allocationMove struct {
	registration RegistrationEvent // the registration's event, "" when it stays
	delivery     DeliveryEvent     // the delivery's event, "" when the event makes the delivery
	makes        DeliveryStatus    // the status of the delivery the event makes, "" when none
	device       [2]DeviceState    // the device's move, from and to; empty when it stays
	stock        StockEffect
}

// allocationMoves is the allocation's state machine. Allocating takes a ready device, the stock
// and a verified registration together, or nothing; the events after it move the device only
// from where the allocation left it: a device someone has moved by hand since (returned after a
// hand-over the family then said never came, say) stays where it is, with no event claiming
// otherwise. A device a pending delivery holds leaves allocated by hand only back to ready, and
// that is AllocationRelease (Device.MoveByHand). The
// stock an allocation holds stays taken once handed over, even when the family then says it
// never came: it is still theirs, on its way.
var allocationMoves = map[AllocationEvent]allocationMove{
	AllocationAllocate:    {RegistrationAllocate, "", DeliveryPending, [2]DeviceState{DeviceReady, DeviceAllocated}, StockTaken},
	AllocationChoosePlace: {"", DeliveryChoosePlace, "", [2]DeviceState{}, StockKept},
	AllocationFail:        {"", DeliveryFail, "", [2]DeviceState{}, StockKept},
	AllocationHandOver:    {RegistrationDeliver, DeliveryHandOver, "", [2]DeviceState{DeviceAllocated, DeviceDelivered}, StockKept},
	AllocationNotReceived: {RegistrationNotReceived, DeliveryNotReceived, "", [2]DeviceState{DeviceDelivered, DeviceAllocated}, StockKept},
	AllocationConfirm:     {"", DeliveryConfirm, "", [2]DeviceState{}, StockKept},
	AllocationAutoConfirm: {"", DeliveryAutoConfirm, "", [2]DeviceState{}, StockKept},
	AllocationCancel:      {RegistrationWithdraw, DeliveryCancel, "", [2]DeviceState{DeviceAllocated, DeviceReady}, StockGiveBack},
	AllocationRelease:     {RegistrationRelease, DeliveryRelease, "", [2]DeviceState{DeviceAllocated, DeviceReady}, StockGiveBack},
}

// Valid reports whether e is a known event.
func (e AllocationEvent) Valid() bool { _, ok := allocationMoves[e]; return ok }

// Registration is the event e is to the allocation's registration, "" when it stays as it is.
func (e AllocationEvent) Registration() RegistrationEvent { return allocationMoves[e].registration }

// Delivery is the event e is to the allocation's delivery; "" for AllocationAllocate, which
// makes the delivery (see Makes), and for unknown events.
func (e AllocationEvent) Delivery() DeliveryEvent { return allocationMoves[e].delivery }

// Makes is the status of the delivery e makes: pending for AllocationAllocate, "" for the others.
func (e AllocationEvent) Makes() DeliveryStatus { return allocationMoves[e].makes }

// Device is the move e makes the allocation's device do; ok is false when the device stays.
func (e AllocationEvent) Device() (from, to DeviceState, ok bool) {
	m := allocationMoves[e].device
	return m[0], m[1], m[0] != ""
}

// MoveDevice reports where e takes an allocation's device that is in state s, and whether it
// moves it: only a device where the allocation left it moves (see allocationMoves).
func (e AllocationEvent) MoveDevice(s DeviceState) (DeviceState, bool) {
	from, to, ok := e.Device()
	if !ok || s != from || s.Move(to) != nil {
		return s, false
	}
	return to, true
}

// Stock is what e does to the stock the allocation lists.
func (e AllocationEvent) Stock() StockEffect { return allocationMoves[e].stock }

// AllocationState is where the records of one allocation stand.
type AllocationState struct {
	Registration RegistrationStatus
	// Delivery is "" before the allocation is made and once it is undone.
	Delivery DeliveryStatus
	// Device is "" when the allocation gives connectivity only.
	Device DeviceState
}

// Apply checks event e on an allocation whose records are in s and returns where they are after
// it. The record e is about checks first: the registration for AllocationAllocate and
// AllocationCancel, the delivery for the others; a refusal is that record's Apply error (with its
// event's code). Allocating refuses, as ECONFLICT, a registration that has a delivery already and
// a device that is not ready; the events after it leave a device found elsewhere where it is.
// The stock, counted rather than tracked, is the caller's to check (Stock). A repeated event
// (DeliveryEvent.Repeated) is refused as the delivery refuses it.
func (s AllocationState) Apply(e AllocationEvent) (AllocationState, error) {
	m, ok := allocationMoves[e]
	if !ok {
		return s, Errorf(EINVALID, "unknown allocation event %q", e)
	}
	next := s
	var err error
	registration := func() {
		if err == nil && m.registration != "" {
			next.Registration, err = s.Registration.Apply(m.registration)
		}
	}
	delivery := func() {
		switch {
		case err != nil:
		case m.makes != "" && s.Delivery != "":
			err = Errorf(ECONFLICT, "a registration that is %s has a delivery (%s) already", s.Registration, s.Delivery)
		case m.makes != "":
			next.Delivery = m.makes
		case s.Delivery == "":
			err = Errorf(deliveryMoves[m.delivery].refused, "a registration that is %s has no delivery to %s", s.Registration, e)
		default:
			next.Delivery, err = s.Delivery.Apply(m.delivery)
		}
	}
	if m.delivery != "" && m.delivery.Registration() == m.registration {
		delivery()
		registration()
	} else {
		registration()
		delivery()
	}
	if err != nil {
		return s, err
	}
	if s.Device != "" {
		if to, moved := e.MoveDevice(s.Device); moved {
			next.Device = to
		} else if from, _, _ := e.Device(); m.makes != "" {
			return s, Errorf(ECONFLICT, "a device that is %s cannot be allocated: only one that is %s", s.Device, from)
		}
	}
	return next, nil
}

// AllocationStates lists where the records of an allocation of a device stand, in order: not
// made yet, pending, handed over, confirmed. An allocation of stock only is the same without the
// device.
var AllocationStates = []AllocationState{
	{StatusVerified, "", DeviceReady},
	{StatusAllocated, DeliveryPending, DeviceAllocated},
	{StatusDelivered, DeliveryDelivered, DeviceDelivered},
	{StatusDelivered, DeliveryConfirmed, DeviceDelivered},
}
