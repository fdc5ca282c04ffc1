package postgres_test

import (
	"testing"

	"github.com/thuduc/maytinhchoem/campaign"
)

// The case work moves an allocation's device only as campaign's allocation table says, and only
// from where the allocation left it: a device delivered to one child is not allocated to another,
// a device a volunteer moved by hand since stays where they put it through a hand-over, a "not
// received" and a withdrawal, and every move the history records is one campaign allows.
func TestCaseStore_AllocationMovesDevicesAsCampaignSays(t *testing.T) {
	t.Parallel()
	w := newFamilyWork(t)
	ctx := t.Context()
	state := func(label string) campaign.DeviceState {
		t.Helper()
		d, err := w.devices.DeviceByLabel(ctx, label)
		if err != nil {
			t.Fatal(err)
		}
		return d.State
	}
	lastEvent := func(label string) event {
		t.Helper()
		events := history(t, w.db, label)
		return events[len(events)-1]
	}

	// Handed over, then the family says it never came: allocated again, by "family".
	first := w.verified(t, "Trần Minh Khang", nil)
	laptop := w.readyDevice(t, campaign.DeviceLaptop, "")
	d1 := w.allocate(t, campaign.Allocation{Code: first.Code, DeviceLabel: laptop.Label}, "")
	w.deliver(t, d1.Code, "")
	if _, err := w.cases.ReportNotReceived(ctx, d1.Code, parentChat, "", "", nil); err != nil {
		t.Fatal(err)
	}
	if got := state(laptop.Label); got != campaign.DeviceAllocated {
		t.Errorf("after not received: %s, want allocated", got)
	}
	if got := lastEvent(laptop.Label); got != (event{Actor: campaign.WithdrawnActor, From: "delivered", To: "allocated", Note: d1.Code}) {
		t.Errorf("not received's event = %+v", got)
	}

	// Delivered: a device in a child's hands is allocated to nobody else, though a device may
	// move from delivered to allocated.
	w.deliver(t, d1.Code, "")
	second := w.verified(t, "Lê Thị Hoa", nil)
	made, stale, err := w.cases.ConfirmAllocations(ctx, []campaign.Allocation{{Code: second.Code, DeviceLabel: laptop.Label}}, "", official, nil)
	if err != nil || len(made) != 0 || len(stale) != 1 {
		t.Errorf("allocating a delivered device: made %d, stale %v, %v; want it stale", len(made), stale, err)
	}
	if got := state(laptop.Label); got != campaign.DeviceDelivered {
		t.Errorf("the delivered device is %s", got)
	}

	// Returned by hand, then the family says it never came: it stays returned.
	move(t, w.devices, laptop.Label, campaign.DeviceReturned)
	if _, err := w.cases.ReportNotReceived(ctx, d1.Code, parentChat, "", "", nil); err != nil {
		t.Fatal(err)
	}
	if got := state(laptop.Label); got != campaign.DeviceReturned {
		t.Errorf("a returned device after not received: %s", got)
	}
	if got := lastEvent(laptop.Label); got.To != "returned" {
		t.Errorf("not received wrote %+v on a returned device", got)
	}

	// Sent back to checking by hand, then handed over all the same: the delivery and the
	// registration are delivered, the device stays in checking.
	third := w.verified(t, "Phạm Văn Long", nil)
	tablet := w.readyDevice(t, campaign.DeviceTablet, "")
	d3 := w.allocate(t, campaign.Allocation{Code: third.Code, DeviceLabel: tablet.Label}, "")
	move(t, w.devices, tablet.Label, campaign.DeviceReady)
	move(t, w.devices, tablet.Label, campaign.DeviceChecking)
	if got := w.deliver(t, d3.Code, ""); got.Status != campaign.DeliveryDelivered {
		t.Errorf("hand-over: %s", got.Status)
	}
	if k, err := w.cases.CaseByCode(ctx, third.Code); err != nil || k.Registration.Status != campaign.StatusDelivered {
		t.Errorf("registration %s, %v; want delivered", k.Registration.Status, err)
	}
	if got := state(tablet.Label); got != campaign.DeviceChecking {
		t.Errorf("a device in checking after the hand-over: %s", got)
	}
	if got := lastEvent(tablet.Label); got.To != "checking" {
		t.Errorf("the hand-over wrote %+v on a device in checking", got)
	}

	// Withdrawn: an allocated device is ready again and free; one moved by hand stays.
	reg, phone, _ := allocatedFamily(t, w, "Đỗ Văn Minh")
	wd, err := w.family.Withdraw(ctx, reg.Code, parentChat, "telegram:1001", "", nil)
	if err != nil || wd.DeviceLabel != phone.Label || wd.DeviceType != phone.Type {
		t.Fatalf("Withdraw = %+v, %v", wd, err)
	}
	if got := state(phone.Label); got != campaign.DeviceReady {
		t.Errorf("after the withdrawal: %s, want ready", got)
	}
	var allocatedTo *int64
	if err := w.db.SQLX().Get(&allocatedTo, `SELECT allocated_registration_id FROM devices WHERE label = $1`, phone.Label); err != nil || allocatedTo != nil {
		t.Errorf("a withdrawn device is still allocated to %v, %v", allocatedTo, err)
	}
	reg2, tablet2, _ := allocatedFamily(t, w, "Vũ Thị Lan")
	move(t, w.devices, tablet2.Label, campaign.DeviceDelivered)
	wd, err = w.family.Withdraw(ctx, reg2.Code, parentChat, "telegram:1001", "", nil)
	if err != nil || wd.DeviceLabel != "" || wd.DeliveryCode == "" {
		t.Fatalf("Withdraw = %+v, %v; want the delivery cancelled, the device left", wd, err)
	}
	if got := state(tablet2.Label); got != campaign.DeviceDelivered {
		t.Errorf("a device delivered by hand after the withdrawal: %s", got)
	}

	// Every move in the history is one campaign allows.
	var moves []struct {
		From campaign.DeviceState `db:"from_state"`
		To   campaign.DeviceState `db:"to_state"`
	}
	if err := w.db.SQLX().Select(&moves, `SELECT from_state, to_state FROM device_events WHERE from_state IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	if len(moves) < 10 {
		t.Fatalf("only %d moves recorded", len(moves))
	}
	for _, m := range moves {
		if err := m.From.Move(m.To); err != nil {
			t.Errorf("recorded move: %v", err)
		}
	}
}
