package campaign

import (
	"strings"
	"testing"
)

func TestDeviceState_Move(t *testing.T) {
	allowed := map[[2]DeviceState]bool{
		{DevicePledged, DeviceReceived}:    true,
		{DeviceReceived, DeviceChecking}:   true,
		{DeviceChecking, DeviceReady}:      true,
		{DeviceChecking, DeviceNeedsParts}: true,
		{DeviceChecking, DeviceUnusable}:   true,
		{DeviceNeedsParts, DeviceChecking}: true,
		{DeviceNeedsParts, DeviceUnusable}: true,
		{DeviceReady, DeviceAllocated}:     true,
		{DeviceReady, DeviceChecking}:      true,
		{DeviceAllocated, DeviceDelivered}: true,
		{DeviceAllocated, DeviceReady}:     true,
		{DeviceDelivered, DeviceReturned}:  true,
		{DeviceDelivered, DeviceAllocated}: true,
		{DeviceReturned, DeviceChecking}:   true,
	}
	// Every pair of states, allowed and refused.
	for _, from := range DeviceStates {
		for _, to := range DeviceStates {
			err := from.Move(to)
			want := allowed[[2]DeviceState{from, to}]
			if (err == nil) != want {
				t.Errorf("%s -> %s: err = %v, want allowed=%v", from, to, err, want)
			}
			if err != nil {
				if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), string(from)) {
					t.Errorf("%s -> %s: error %v should be invalid and name the state", from, to, err)
				}
			}
		}
	}
	// By hand, every move but the ones only an allocation's event makes.
	for _, from := range DeviceStates {
		for _, to := range DeviceStates {
			pair := [2]DeviceState{from, to}
			want := allowed[pair] && pair != [2]DeviceState{DeviceDelivered, DeviceAllocated}
			err := from.MoveByHand(to)
			if (err == nil) != want || from.CanMoveByHand(to) != want {
				t.Errorf("%s -> %s by hand: err = %v, CanMoveByHand %v, want allowed=%v", from, to, err, from.CanMoveByHand(to), want)
			}
			if err != nil && ErrorCode(err) != EINVALID {
				t.Errorf("%s -> %s by hand: error %v should be invalid", from, to, err)
			}
		}
	}
	if err := DeviceState("lost").Move(DeviceReady); err == nil {
		t.Error("an unknown state moved")
	}
	if err := DeviceReady.Move("lost"); err == nil {
		t.Error("moved to an unknown state")
	}
	if err := DeviceUnusable.Move(DeviceChecking); err == nil || !strings.Contains(err.Error(), "cannot change") {
		t.Errorf("unusable is final: %v", err)
	}
}

func TestCheckOutcome(t *testing.T) {
	all := func(t DeviceType) map[CheckItem]bool {
		m := map[CheckItem]bool{}
		for _, c := range Checklist(t) {
			m[c] = true
		}
		return m
	}
	laptop := all(DeviceLaptop)
	if got := CheckOutcome(DeviceLaptop, laptop); got != DeviceReady {
		t.Errorf("all passed = %s", got)
	}
	laptop[CheckCharger] = false
	if got := CheckOutcome(DeviceLaptop, laptop); got != DeviceNeedsParts {
		t.Errorf("no charger = %s", got)
	}
	laptop[CheckPowersOn] = false
	if got := CheckOutcome(DeviceLaptop, laptop); got != DeviceUnusable {
		t.Errorf("dead = %s", got)
	}
	desktop := Checklist(DeviceDesktop)
	if desktop[len(desktop)-1] != CheckKeyboardMouse {
		t.Errorf("desktop checklist lacks keyboard and mouse: %v", desktop)
	}
	if tablet := Checklist(DeviceTablet); tablet[len(tablet)-1] != CheckBattery {
		t.Errorf("tablet checklist lacks the battery: %v", tablet)
	}
}

func TestItemKind_IsDevice(t *testing.T) {
	for _, k := range ItemKinds {
		want := k == ItemLaptop || k == ItemDesktop || k == ItemTablet || k == ItemSmartphone
		if k.IsDevice() != want {
			t.Errorf("%s.IsDevice() = %v", k, k.IsDevice())
		}
	}
	if !DonorBusiness.HasContactPerson() || DonorIndividual.HasContactPerson() {
		t.Error("HasContactPerson wrong")
	}
}

// A device a pending delivery holds: back to ready releases the allocation, delivered by hand is
// refused and names the delivery; every other move, and every move of a device no delivery
// holds, is DeviceState.MoveByHand's.
func TestDevice_MoveByHand(t *testing.T) {
	for _, held := range []string{"", "GH-000012"} {
		for _, from := range DeviceStates {
			for _, to := range DeviceStates {
				d := Device{Label: "TB-000123", State: from, Delivery: held}
				release, err := d.MoveByHand(to)
				stateErr := from.MoveByHand(to)
				onDelivery := held != "" && from == DeviceAllocated
				switch {
				case stateErr != nil:
					if err == nil || err.Error() != stateErr.Error() || release {
						t.Errorf("%s %s→%s: %v, %v; want %v", held, from, to, release, err, stateErr)
					}
				case onDelivery && to == DeviceDelivered:
					if ErrorCode(err) != ECONFLICT || !strings.Contains(err.Error(), held) || !strings.Contains(err.Error(), "/deliveries") || release {
						t.Errorf("%s→%s on a delivery: %v, %v; want ECONFLICT naming %s", from, to, release, err, held)
					}
				default:
					if err != nil || release != (onDelivery && to == DeviceReady) {
						t.Errorf("%s %s→%s: release %v, %v", held, from, to, release, err)
					}
				}
				if d.CanMoveByHand(to) != (err == nil) {
					t.Errorf("%s %s→%s: CanMoveByHand = %v, MoveByHand %v", held, from, to, d.CanMoveByHand(to), err)
				}
			}
		}
	}
}
