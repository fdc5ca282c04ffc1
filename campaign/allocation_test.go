package campaign

import (
	"strings"
	"testing"
)

// The table of allocation events, written out: what each does to each record.
func TestAllocationEvent_Table(t *testing.T) {
	type effect struct {
		registration RegistrationEvent
		delivery     DeliveryEvent
		makes        DeliveryStatus
		device       [2]DeviceState
		stock        StockEffect
	}
	want := map[AllocationEvent]effect{
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
	if len(want) != len(AllocationEvents) {
		t.Fatalf("the test knows %d events, campaign %d", len(want), len(AllocationEvents))
	}
	for _, e := range AllocationEvents {
		w := want[e]
		from, to, moves := e.Device()
		got := effect{e.Registration(), e.Delivery(), e.Makes(), [2]DeviceState{from, to}, e.Stock()}
		if got != w || !e.Valid() {
			t.Errorf("%s: %+v, want %+v", e, got, w)
		}
		if moves != (w.device[0] != "") {
			t.Errorf("%s: Device ok = %v", e, moves)
		}
		// Every device move of an allocation is one the device's own table allows.
		if moves {
			if err := from.Move(to); err != nil {
				t.Errorf("%s: %v", e, err)
			}
		}
		// A delivery event that carries its registration along carries the same one here.
		if re := e.Delivery().Registration(); re != "" && re != e.Registration() {
			t.Errorf("%s: the delivery's event makes the registration %s, the allocation %s", e, re, e.Registration())
		}
		// Stock is taken with the delivery that holds it and given back when it goes.
		if (e.Stock() == StockTaken) != (e.Makes() != "") {
			t.Errorf("%s takes stock: %v, makes a delivery: %q", e, e.Stock() == StockTaken, e.Makes())
		}
		if removes := e.Delivery() != "" && e.Delivery().To() == ""; (e.Stock() == StockGiveBack) != removes {
			t.Errorf("%s gives stock back: %v, removes the delivery: %v", e, e.Stock() == StockGiveBack, removes)
		}
	}
	// Every delivery event is one allocation event's, so no delivery moves outside the table.
	for _, de := range DeliveryEvents {
		n := 0
		for _, e := range AllocationEvents {
			if e.Delivery() == de {
				n++
			}
		}
		if n != 1 {
			t.Errorf("delivery event %s is %d allocation events'", de, n)
		}
	}
	if AllocationEvent("lose").Valid() {
		t.Error("an unknown event is valid")
	}
}

// Every event in every state of an allocation, with a device, with stock only, and with a
// device someone moved by hand.
func TestAllocationState_Apply(t *testing.T) {
	none := AllocationState{StatusVerified, "", DeviceReady}
	pending := AllocationState{StatusAllocated, DeliveryPending, DeviceAllocated}
	handed := AllocationState{StatusDelivered, DeliveryDelivered, DeviceDelivered}
	confirmed := AllocationState{StatusDelivered, DeliveryConfirmed, DeviceDelivered}
	undone := AllocationState{StatusWithdrawn, "", DeviceReady}
	states := []AllocationState{none, pending, handed, confirmed, undone}
	if got := AllocationStates; len(got) != 4 || got[0] != none || got[1] != pending || got[2] != handed || got[3] != confirmed {
		t.Fatalf("AllocationStates = %v", got)
	}
	type move struct {
		from  AllocationState
		event AllocationEvent
	}
	allowed := map[move]AllocationState{
		{none, AllocationAllocate}:       pending,
		{pending, AllocationChoosePlace}: pending,
		{pending, AllocationFail}:        pending,
		{pending, AllocationHandOver}:    handed,
		{pending, AllocationCancel}:      undone,
		{pending, AllocationRelease}:     none,
		{handed, AllocationNotReceived}:  pending,
		{handed, AllocationConfirm}:      confirmed,
		{handed, AllocationAutoConfirm}:  confirmed,
	}
	// The code of a refusal is the one of the record's event that refuses: the family's word on
	// an allocation not waiting for it finds nothing, anything else is a conflict.
	refused := map[AllocationEvent]string{
		AllocationAllocate: ECONFLICT, AllocationChoosePlace: ENOTFOUND, AllocationFail: ECONFLICT,
		AllocationHandOver: ECONFLICT, AllocationNotReceived: ENOTFOUND, AllocationConfirm: ENOTFOUND,
		AllocationAutoConfirm: ECONFLICT, AllocationCancel: ECONFLICT, AllocationRelease: ECONFLICT,
	}
	if len(refused) != len(AllocationEvents) {
		t.Fatalf("the test knows %d events, campaign %d", len(refused), len(AllocationEvents))
	}
	// A refusal names the status of the record that refused.
	names := func(err error, s AllocationState) bool {
		return strings.Contains(err.Error(), "registration that is "+string(s.Registration)) ||
			(s.Delivery != "" && strings.Contains(err.Error(), "delivery that is "+string(s.Delivery))) ||
			(s.Device != "" && strings.Contains(err.Error(), "device that is "+string(s.Device)))
	}
	check := func(t *testing.T, from AllocationState, e AllocationEvent, to AllocationState, want bool, code string) {
		t.Helper()
		got, err := from.Apply(e)
		switch {
		case want && err != nil:
			t.Fatalf("refused: %v", err)
		case want && got != to:
			t.Fatalf("led to %+v, want %+v", got, to)
		case !want && err == nil:
			t.Fatalf("allowed, to %+v", got)
		case !want && (ErrorCode(err) != code || !names(err, from)):
			t.Fatalf("error %v should be %s and name the status of the record that refused", err, code)
		case !want && got != from:
			t.Fatalf("a refused event returned %+v", got)
		}
	}
	for _, e := range AllocationEvents {
		for _, from := range states {
			name := string(e) + "/" + string(from.Registration) + "," + string(from.Delivery)
			to, want := allowed[move{from, e}]
			t.Run(name+",device", func(t *testing.T) {
				check(t, from, e, to, want, refused[e])
			})
			// Stock only: the same, with no device.
			t.Run(name+",stock", func(t *testing.T) {
				from, to := from, to
				from.Device, to.Device = "", ""
				check(t, from, e, to, want, refused[e])
			})
			// A device moved by hand since: allocating it is a conflict, every other event leaves
			// it where it is.
			t.Run(name+",checking", func(t *testing.T) {
				from, to := from, to
				from.Device, to.Device = DeviceChecking, DeviceChecking
				if e == AllocationAllocate && want {
					want, refused := false, ECONFLICT
					check(t, from, e, to, want, refused)
					if _, err := from.Apply(e); !strings.Contains(err.Error(), "device that is checking") {
						t.Errorf("error %v should name the device's state", err)
					}
					return
				}
				check(t, from, e, to, want, refused[e])
			})
		}
	}
	// After every allowed event the registration stands where its delivery says.
	for m, to := range allowed {
		if to.Delivery != "" && to.Delivery.Registration() != to.Registration {
			t.Errorf("%s from %+v: registration %s, delivery %s", m.event, m.from, to.Registration, to.Delivery)
		}
	}
	// A registration that somehow has a delivery cannot be allocated again.
	if _, err := (AllocationState{StatusVerified, DeliveryPending, DeviceReady}).Apply(AllocationAllocate); ErrorCode(err) != ECONFLICT {
		t.Errorf("allocating twice = %v", err)
	}
	if _, err := none.Apply("lose"); ErrorCode(err) != EINVALID {
		t.Errorf("unknown event: %v", err)
	}
	if _, err := (AllocationState{"lost", DeliveryPending, DeviceAllocated}).Apply(AllocationCancel); ErrorCode(err) != EINVALID {
		t.Errorf("unknown registration status: %v", err)
	}
	if _, err := (AllocationState{StatusAllocated, "lost", DeviceAllocated}).Apply(AllocationHandOver); ErrorCode(err) != EINVALID {
		t.Errorf("unknown delivery status: %v", err)
	}
}

// MoveDevice moves a device only from where the allocation left it.
func TestAllocationEvent_MoveDevice(t *testing.T) {
	moves := map[AllocationEvent][2]DeviceState{
		AllocationAllocate:    {DeviceReady, DeviceAllocated},
		AllocationHandOver:    {DeviceAllocated, DeviceDelivered},
		AllocationNotReceived: {DeviceDelivered, DeviceAllocated},
		AllocationCancel:      {DeviceAllocated, DeviceReady},
		AllocationRelease:     {DeviceAllocated, DeviceReady},
	}
	for _, e := range append(AllocationEvents, "lose") {
		for _, s := range DeviceStates {
			m, ok := moves[e]
			want := ok && s == m[0]
			to, moved := e.MoveDevice(s)
			if moved != want || (moved && to != m[1]) || (!moved && to != s) {
				t.Errorf("%s on a device that is %s: %s, %v", e, s, to, moved)
			}
		}
	}
}
