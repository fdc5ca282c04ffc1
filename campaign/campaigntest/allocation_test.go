package campaigntest_test

import (
	"context"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/campaign/campaigntest"
)

// The fakes move an allocation's device as storage/postgres does, by campaign's allocation
// table: a delivered device is allocated to nobody else, a device moved by hand since stays
// where it is through a "not received" and a hand-over, an allocated one is ready again after a
// withdrawal, and one a pending delivery holds is released when sent back to ready by hand and
// is never marked delivered by hand.
func TestCases_AllocationMovesDevicesAsCampaignSays(t *testing.T) {
	ctx := context.Background()
	w := newAllocFakes(t)
	cases, devices := w.cases, w.devices
	family := campaigntest.NewFamily(cases, nil)
	verified, allocate, move, deliver := w.verified, w.allocate, w.move, w.deliver
	state := func(label string) campaign.DeviceState { return w.device(label).State }

	laptop := cases.AddReadyDevice(campaign.DeviceLaptop, "26800", "")
	d1, ok := allocate(verified("Trần Minh Khang"), laptop)
	if !ok || state(laptop) != campaign.DeviceAllocated {
		t.Fatalf("allocation: %v, device %s", ok, state(laptop))
	}
	deliver(d1.Code)
	if _, err := cases.ReportNotReceived(ctx, d1.Code, allocParent, "", "", nil); err != nil || state(laptop) != campaign.DeviceAllocated {
		t.Errorf("not received: %v, device %s; want allocated", err, state(laptop))
	}
	deliver(d1.Code)
	if _, ok := allocate(verified("Lê Thị Hoa"), laptop); ok || state(laptop) != campaign.DeviceDelivered {
		t.Errorf("a delivered device allocated again: %v, %s", ok, state(laptop))
	}
	move(laptop, campaign.DeviceReturned)
	if _, err := cases.ReportNotReceived(ctx, d1.Code, allocParent, "", "", nil); err != nil || state(laptop) != campaign.DeviceReturned {
		t.Errorf("not received on a returned device: %v, %s", err, state(laptop))
	}

	// Pending again with its device returned by hand: the hand-over leaves the device returned.
	deliver(d1.Code)
	if got := cases.Delivery(d1.Code); got.Status != campaign.DeliveryDelivered || state(laptop) != campaign.DeviceReturned {
		t.Errorf("hand-over of a returned device: delivery %s, device %s", got.Status, state(laptop))
	}

	// Sent back to ready by hand before the hand-over: the allocation is released, and the
	// device is allocated to another child.
	tablet := cases.AddReadyDevice(campaign.DeviceTablet, "26800", "")
	r3 := verified("Phạm Văn Long")
	d3, _ := allocate(r3, tablet)
	if d, err := devices.DeviceByLabel(ctx, tablet); err != nil || d.Delivery != d3.Code {
		t.Errorf("an allocated device names delivery %q, %v; want %s", d.Delivery, err, d3.Code)
	}
	var told []string
	moved, err := devices.MoveDevice(ctx, tablet, campaign.DeviceReady, w.volunteer, "", func(d campaign.Delivery) []campaign.OutboxMessage {
		told = append(told, d.Code)
		return nil
	})
	if err != nil || moved.State != campaign.DeviceReady || moved.Delivery != "" || len(told) != 1 || told[0] != d3.Code {
		t.Fatalf("release: %+v, %v, told %v", moved, err, told)
	}
	if got := cases.Delivery(d3.Code); got.Code != "" || cases.Registration(r3).Status != campaign.StatusVerified {
		t.Errorf("after the release: delivery %+v, registration %s", got, cases.Registration(r3).Status)
	}
	if d, ok := allocate(verified("Bùi Thị Mai"), tablet); !ok || state(tablet) != campaign.DeviceAllocated {
		t.Errorf("a released device allocated again: %+v, %v, %s", d, ok, state(tablet))
	}

	phone := cases.AddReadyDevice(campaign.DeviceSmartphone, "26800", "")
	r4 := verified("Đỗ Văn Minh")
	allocate(r4, phone)
	if wd, err := family.Withdraw(ctx, r4, allocParent, "telegram:1001", "", nil); err != nil || wd.DeviceLabel != phone || state(phone) != campaign.DeviceReady {
		t.Errorf("withdrawal: %+v, %v, device %s; want it ready", wd, err, state(phone))
	}
	other := cases.AddReadyDevice(campaign.DeviceTablet, "26800", "")
	r5 := verified("Vũ Thị Lan")
	d5, _ := allocate(r5, other)
	if _, err := devices.MoveDevice(ctx, other, campaign.DeviceDelivered, w.volunteer, "", nil); campaign.ErrorCode(err) != campaign.ECONFLICT || state(other) != campaign.DeviceAllocated {
		t.Errorf("a device on delivery %s marked delivered by hand: %v, %s; want ECONFLICT and allocated", d5.Code, err, state(other))
	}
	if got := cases.Delivery(d5.Code); got.Status != campaign.DeliveryPending {
		t.Errorf("the refused move left delivery %s", got.Status)
	}
}

// A device handed over, come back and made ready by hand goes to another child in the fakes as
// in storage/postgres, and the first family's "not received" cannot reopen a delivery whose
// device another child holds: ENOTFOUND, with nothing changed. A delivery reopened while its
// device was away still holds it once ready: an allocation of it is stale.
func TestCases_DeviceAllocatedAgainAfterItCameBack(t *testing.T) {
	ctx := context.Background()
	w := newAllocFakes(t)
	cases := w.cases
	verified, allocate, move, deliver, card := w.verified, w.allocate, w.move, w.deliver, w.device

	laptop := cases.AddReadyDevice(campaign.DeviceLaptop, "26800", "")
	d1, _ := allocate(verified("Trần Minh Khang"), laptop)
	deliver(d1.Code)
	move(laptop, campaign.DeviceReturned, campaign.DeviceChecking, campaign.DeviceReady)
	d2, ok := allocate(verified("Lê Thị Hoa"), laptop)
	if !ok || card(laptop).State != campaign.DeviceAllocated || card(laptop).Delivery != d2.Code {
		t.Fatalf("allocated again: %v, device %+v; want allocated on %s", ok, card(laptop), d2.Code)
	}
	for _, when := range []string{"before the hand-over", "after"} {
		if when == "after" {
			deliver(d2.Code)
		}
		_, err := cases.ReportNotReceived(ctx, d1.Code, allocParent, "", "", nil)
		if campaign.ErrorCode(err) != campaign.ENOTFOUND || cases.Delivery(d1.Code).Status != campaign.DeliveryDelivered {
			t.Errorf("%s: the first family's not received = %v, delivery %s; want ENOTFOUND and delivered", when, err, cases.Delivery(d1.Code).Status)
		}
	}
	if card(laptop).State != campaign.DeviceDelivered {
		t.Errorf("the second child's device is %s", card(laptop).State)
	}

	tablet := cases.AddReadyDevice(campaign.DeviceTablet, "26800", "")
	d3, _ := allocate(verified("Phạm Văn Long"), tablet)
	deliver(d3.Code)
	move(tablet, campaign.DeviceReturned)
	if _, err := cases.ReportNotReceived(ctx, d3.Code, allocParent, "", "", nil); err != nil {
		t.Fatal(err)
	}
	move(tablet, campaign.DeviceChecking, campaign.DeviceReady)
	if _, ok := allocate(verified("Bùi Thị Mai"), tablet); ok {
		t.Error("a device a reopened delivery holds was allocated again")
	}
	if p, err := cases.Proposal(ctx); err != nil || len(p.Supply.Devices) != 0 {
		t.Errorf("proposed devices = %+v, %v; want none", p.Supply.Devices, err)
	}
	if c := card(tablet); c.State != campaign.DeviceReady || c.Delivery != d3.Code {
		t.Errorf("the held device: %+v; want ready on %s", c, d3.Code)
	}
}

// allocFakes are the fakes of registrations, devices and cases wired together, and the steps the
// allocation tests take through them, each failing the test on an error.
type allocFakes struct {
	t                   *testing.T
	devices             *campaigntest.Devices
	cases               *campaigntest.Cases
	official, volunteer campaign.Staff
}

// allocParent is the chat of every family the allocation tests register.
var allocParent = campaign.Session{Channel: "telegram", ChatID: "1001"}

func newAllocFakes(t *testing.T) *allocFakes {
	now := func() time.Time { return time.Date(2021, 9, 15, 9, 0, 0, 0, time.UTC) }
	devices := campaigntest.NewDevices(now)
	return &allocFakes{
		t: t, devices: devices,
		cases:     campaigntest.NewCases(now, campaign.Default(), campaigntest.NewRegistrations(now), devices, nil),
		official:  campaign.Staff{Channel: "telegram", ExternalID: "8001", Role: campaign.RoleCityOfficial},
		volunteer: campaign.Staff{Channel: "telegram", ExternalID: "7001", Role: campaign.RoleVolunteer},
	}
}

// verified adds a verified registration of name and returns its code.
func (w *allocFakes) verified(name string) string {
	return w.cases.AddRegistration(campaign.Registration{Status: campaign.StatusVerified, StudentName: name,
		WardCode: "26800", Channel: allocParent.Channel, ChatID: allocParent.ChatID}).Code
}

// allocate allocates device label to registration code; false when it was not made (stale).
func (w *allocFakes) allocate(code, label string) (campaign.Delivery, bool) {
	w.t.Helper()
	made, _, err := w.cases.ConfirmAllocations(context.Background(), []campaign.Allocation{{Code: code, DeviceLabel: label}}, "", w.official, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	if len(made) != 1 {
		return campaign.Delivery{}, false
	}
	return made[0], true
}

// move moves device label by hand through states, in order.
func (w *allocFakes) move(label string, states ...campaign.DeviceState) {
	w.t.Helper()
	for _, next := range states {
		if _, err := w.devices.MoveDevice(context.Background(), label, next, w.volunteer, "", nil); err != nil {
			w.t.Fatal(err)
		}
	}
}

// deliver hands delivery code over.
func (w *allocFakes) deliver(code string) {
	w.t.Helper()
	if _, err := w.cases.MarkDelivered(context.Background(), code, "Trần Thị Bình", "", "", w.volunteer, nil); err != nil {
		w.t.Fatal(err)
	}
}

// device is the card of device label.
func (w *allocFakes) device(label string) campaign.Device {
	w.t.Helper()
	d, err := w.devices.DeviceByLabel(context.Background(), label)
	if err != nil {
		w.t.Fatal(err)
	}
	return d
}
