package campaign

import "slices"

// DeviceType is a kind of device that is checked and tracked one by one.
type DeviceType string

// Device types.
const (
	DeviceLaptop     DeviceType = "laptop"
	DeviceDesktop    DeviceType = "desktop" // a set: monitor, CPU, keyboard, mouse, microphone, camera
	DeviceTablet     DeviceType = "tablet"
	DeviceSmartphone DeviceType = "smartphone"
)

// DeviceTypes lists the device types in the order they are offered.
var DeviceTypes = []DeviceType{DeviceLaptop, DeviceDesktop, DeviceTablet, DeviceSmartphone}

// StockKind is connectivity that is counted, not checked one by one.
type StockKind string

// Stock kinds.
const (
	StockSIM4G           StockKind = "sim_4g"
	StockUSBWiFi         StockKind = "usb_wifi"
	StockInternetPackage StockKind = "internet_package" // counted with its months
)

// StockKinds lists the stock kinds in the order they are offered.
var StockKinds = []StockKind{StockSIM4G, StockUSBWiFi, StockInternetPackage}

// DeviceState is where a device is in its life from pledge to student.
type DeviceState string

// Device states.
const (
	DevicePledged    DeviceState = "pledged"     // promised by a donor, not yet received
	DeviceReceived   DeviceState = "received"    // in the campaign's hands
	DeviceChecking   DeviceState = "checking"    // a volunteer is checking and refurbishing it
	DeviceReady      DeviceState = "ready"       // works, wiped, software installed: can be allocated
	DeviceNeedsParts DeviceState = "needs_parts" // waiting for a charger, cable, part...
	DeviceUnusable   DeviceState = "unusable"    // cannot be made to work
	DeviceAllocated  DeviceState = "allocated"   // promised to a student
	DeviceDelivered  DeviceState = "delivered"   // in the student's hands
	DeviceReturned   DeviceState = "returned"    // came back (family moved, device failed): re-checked
)

// deviceTransitions lists, for each state, the states it may move to: every move a device makes,
// whether a volunteer makes it by hand (DeviceStore.MoveDevice) or an allocation's event does
// (allocationMoves, whose device moves must all be here). Allocated goes back to ready when the
// family withdraws before the hand-over, or a volunteer finds it unfit before then
// (AllocationRelease). Delivered goes back to allocated when the family says
// the device handed over never came (AllocationNotReceived): the hand-over record was wrong, the
// device is still promised to the same child and its delivery is pending again, so it is neither
// returned (which sends it to be checked for someone else) nor ready.
var deviceTransitions = map[DeviceState][]DeviceState{
	DevicePledged:    {DeviceReceived},
	DeviceReceived:   {DeviceChecking},
	DeviceChecking:   {DeviceReady, DeviceNeedsParts, DeviceUnusable},
	DeviceNeedsParts: {DeviceChecking, DeviceUnusable},
	DeviceReady:      {DeviceAllocated, DeviceChecking},
	DeviceAllocated:  {DeviceDelivered, DeviceReady},
	DeviceDelivered:  {DeviceReturned, DeviceAllocated},
	DeviceReturned:   {DeviceChecking},
	DeviceUnusable:   {},
}

// DeviceStates lists every state.
var DeviceStates = []DeviceState{DevicePledged, DeviceReceived, DeviceChecking, DeviceReady, DeviceNeedsParts,
	DeviceUnusable, DeviceAllocated, DeviceDelivered, DeviceReturned}

// Valid reports whether s is a known state.
func (s DeviceState) Valid() bool { _, ok := deviceTransitions[s]; return ok }

// CanMove reports whether a device may go from s to next.
func (s DeviceState) CanMove(next DeviceState) bool {
	return slices.Contains(deviceTransitions[s], next)
}

// eventOnlyMoves are the moves only an allocation's event makes, never a volunteer by hand: a
// delivered device goes back to allocated only with its delivery (AllocationNotReceived); by hand
// it would be promised again with no delivery waiting for it.
var eventOnlyMoves = map[[2]DeviceState]bool{{DeviceDelivered, DeviceAllocated}: true}

// CanMoveByHand reports whether a volunteer may move a device from s to next (the /device card's
// buttons, DeviceStore.MoveDevice): a move CanMove allows that is not an allocation's own.
func (s DeviceState) CanMoveByHand(next DeviceState) bool {
	return s.CanMove(next) && !eventOnlyMoves[[2]DeviceState{s, next}]
}

// MoveByHand checks a volunteer's move of a device from s to next, as Move does, refusing the
// moves only an allocation's event makes.
func (s DeviceState) MoveByHand(next DeviceState) error {
	if eventOnlyMoves[[2]DeviceState{s, next}] {
		return Errorf(EINVALID, "a device that is %s becomes %s only with its delivery", s, next)
	}
	return s.Move(next)
}

// MoveByHand checks a volunteer's move of device d to next (the /device card,
// DeviceStore.MoveDevice), as DeviceState.MoveByHand does, and says what it does to the pending
// delivery that holds d (d.Delivery), if any. An allocated device sent back to ready releases
// its allocation (release true: AllocationRelease, the delivery removed and the child back on the
// list); one marked delivered by hand is refused as ECONFLICT, since its hand-over is the
// delivery's (/deliveries), which records who received it. Every other move is as for a device
// no delivery holds.
func (d Device) MoveByHand(next DeviceState) (release bool, err error) {
	if err := d.State.MoveByHand(next); err != nil {
		return false, err
	}
	if d.Delivery == "" || d.State != DeviceAllocated {
		return false, nil
	}
	switch next {
	case DeviceDelivered:
		return false, Errorf(ECONFLICT, "device %s is on delivery %s: it is handed over in /deliveries", d.Label, d.Delivery)
	case DeviceReady:
		return true, nil
	}
	return false, nil
}

// CanMoveByHand reports whether a volunteer may move device d to next (Device.MoveByHand).
func (d Device) CanMoveByHand(next DeviceState) bool {
	_, err := d.MoveByHand(next)
	return err == nil
}

// Move checks a device's move from s to next, returning an EINVALID error that says why not.
func (s DeviceState) Move(next DeviceState) error {
	switch {
	case !s.Valid():
		return Errorf(EINVALID, "unknown device state %q", s)
	case !next.Valid():
		return Errorf(EINVALID, "unknown device state %q", next)
	case !s.CanMove(next):
		if len(deviceTransitions[s]) == 0 {
			return Errorf(EINVALID, "a device that is %s cannot change state", s)
		}
		return Errorf(EINVALID, "a device that is %s can become %v, not %s", s, deviceTransitions[s], next)
	}
	return nil
}

// CheckItem is one point of a volunteer's device check.
type CheckItem string

// Check items; KeyboardMouse applies to desktops, Battery to portable devices.
const (
	CheckPowersOn      CheckItem = "powers_on"
	CheckConnects      CheckItem = "connects" // Wi-Fi or 4G
	CheckCharger       CheckItem = "charger"
	CheckCables        CheckItem = "cables"
	CheckCamera        CheckItem = "camera"
	CheckMicrophone    CheckItem = "microphone"
	CheckKeyboardMouse CheckItem = "keyboard_mouse"
	CheckBattery       CheckItem = "battery" // holds a charge
)

// Checklist returns the points to check on a device of type t.
func Checklist(t DeviceType) []CheckItem {
	items := []CheckItem{CheckPowersOn, CheckConnects, CheckCharger, CheckCables, CheckCamera, CheckMicrophone}
	if t == DeviceDesktop {
		return append(items, CheckKeyboardMouse)
	}
	return append(items, CheckBattery)
}

// CheckOutcome proposes the outcome of a check: ready when every point passed, needs parts when
// it powers on but something is missing, unusable when it does not even power on. The volunteer
// may choose otherwise.
func CheckOutcome(t DeviceType, passed map[CheckItem]bool) DeviceState {
	if !passed[CheckPowersOn] {
		return DeviceUnusable
	}
	for _, item := range Checklist(t) {
		if !passed[item] {
			return DeviceNeedsParts
		}
	}
	return DeviceReady
}
