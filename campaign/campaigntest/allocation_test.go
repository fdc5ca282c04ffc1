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
	now := func() time.Time { return time.Date(2021, 9, 15, 9, 0, 0, 0, time.UTC) }
	regs := campaigntest.NewRegistrations(now)
	devices := campaigntest.NewDevices(now)
	cases := campaigntest.NewCases(now, campaign.Default(), regs, devices, nil)
	family := campaigntest.NewFamily(cases, nil)
	official := campaign.Staff{Channel: "telegram", ExternalID: "8001", Role: campaign.RoleCityOfficial}
	volunteer := campaign.Staff{Channel: "telegram", ExternalID: "7001", Role: campaign.RoleVolunteer}
	parent := campaign.Session{Channel: "telegram", ChatID: "1001"}
	verified := func(name string) campaign.Registration {
		return cases.AddRegistration(campaign.Registration{Status: campaign.StatusVerified, StudentName: name,
			WardCode: "26800", Channel: parent.Channel, ChatID: parent.ChatID})
	}
	allocate := func(code, label string) (campaign.Delivery, bool) {
		t.Helper()
		made, _, err := cases.ConfirmAllocations(ctx, []campaign.Allocation{{Code: code, DeviceLabel: label}}, "", official, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(made) != 1 {
			return campaign.Delivery{}, false
		}
		return made[0], true
	}
	state := func(label string) campaign.DeviceState {
		t.Helper()
		d, err := devices.DeviceByLabel(ctx, label)
		if err != nil {
			t.Fatal(err)
		}
		return d.State
	}
	move := func(label string, next campaign.DeviceState) {
		t.Helper()
		if _, err := devices.MoveDevice(ctx, label, next, volunteer, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	deliver := func(code string) {
		t.Helper()
		if _, err := cases.MarkDelivered(ctx, code, "Trần Thị Bình", "", "", volunteer, nil); err != nil {
			t.Fatal(err)
		}
	}

	laptop := cases.AddReadyDevice(campaign.DeviceLaptop, "26800", "")
	d1, ok := allocate(verified("Trần Minh Khang").Code, laptop)
	if !ok || state(laptop) != campaign.DeviceAllocated {
		t.Fatalf("allocation: %v, device %s", ok, state(laptop))
	}
	deliver(d1.Code)
	if _, err := cases.ReportNotReceived(ctx, d1.Code, parent, "", "", nil); err != nil || state(laptop) != campaign.DeviceAllocated {
		t.Errorf("not received: %v, device %s; want allocated", err, state(laptop))
	}
	deliver(d1.Code)
	if _, ok := allocate(verified("Lê Thị Hoa").Code, laptop); ok || state(laptop) != campaign.DeviceDelivered {
		t.Errorf("a delivered device allocated again: %v, %s", ok, state(laptop))
	}
	move(laptop, campaign.DeviceReturned)
	if _, err := cases.ReportNotReceived(ctx, d1.Code, parent, "", "", nil); err != nil || state(laptop) != campaign.DeviceReturned {
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
	d3, _ := allocate(r3.Code, tablet)
	if d, err := devices.DeviceByLabel(ctx, tablet); err != nil || d.Delivery != d3.Code {
		t.Errorf("an allocated device names delivery %q, %v; want %s", d.Delivery, err, d3.Code)
	}
	var told []string
	moved, err := devices.MoveDevice(ctx, tablet, campaign.DeviceReady, volunteer, "", func(d campaign.Delivery) []campaign.OutboxMessage {
		told = append(told, d.Code)
		return nil
	})
	if err != nil || moved.State != campaign.DeviceReady || moved.Delivery != "" || len(told) != 1 || told[0] != d3.Code {
		t.Fatalf("release: %+v, %v, told %v", moved, err, told)
	}
	if got := cases.Delivery(d3.Code); got.Code != "" || cases.Registration(r3.Code).Status != campaign.StatusVerified {
		t.Errorf("after the release: delivery %+v, registration %s", got, cases.Registration(r3.Code).Status)
	}
	if d, ok := allocate(verified("Bùi Thị Mai").Code, tablet); !ok || state(tablet) != campaign.DeviceAllocated {
		t.Errorf("a released device allocated again: %+v, %v, %s", d, ok, state(tablet))
	}

	phone := cases.AddReadyDevice(campaign.DeviceSmartphone, "26800", "")
	r4 := verified("Đỗ Văn Minh")
	allocate(r4.Code, phone)
	if wd, err := family.Withdraw(ctx, r4.Code, parent, "telegram:1001", "", nil); err != nil || wd.DeviceLabel != phone || state(phone) != campaign.DeviceReady {
		t.Errorf("withdrawal: %+v, %v, device %s; want it ready", wd, err, state(phone))
	}
	other := cases.AddReadyDevice(campaign.DeviceTablet, "26800", "")
	r5 := verified("Vũ Thị Lan")
	d5, _ := allocate(r5.Code, other)
	if _, err := devices.MoveDevice(ctx, other, campaign.DeviceDelivered, volunteer, "", nil); campaign.ErrorCode(err) != campaign.ECONFLICT || state(other) != campaign.DeviceAllocated {
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
	now := func() time.Time { return time.Date(2021, 9, 15, 9, 0, 0, 0, time.UTC) }
	regs := campaigntest.NewRegistrations(now)
	devices := campaigntest.NewDevices(now)
	cases := campaigntest.NewCases(now, campaign.Default(), regs, devices, nil)
	official := campaign.Staff{Channel: "telegram", ExternalID: "8001", Role: campaign.RoleCityOfficial}
	volunteer := campaign.Staff{Channel: "telegram", ExternalID: "7001", Role: campaign.RoleVolunteer}
	parent := campaign.Session{Channel: "telegram", ChatID: "1001"}
	verified := func(name string) string {
		return cases.AddRegistration(campaign.Registration{Status: campaign.StatusVerified, StudentName: name,
			WardCode: "26800", Channel: parent.Channel, ChatID: parent.ChatID}).Code
	}
	allocate := func(code, label string) (campaign.Delivery, bool) {
		t.Helper()
		made, _, err := cases.ConfirmAllocations(ctx, []campaign.Allocation{{Code: code, DeviceLabel: label}}, "", official, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(made) != 1 {
			return campaign.Delivery{}, false
		}
		return made[0], true
	}
	move := func(label string, states ...campaign.DeviceState) {
		t.Helper()
		for _, next := range states {
			if _, err := devices.MoveDevice(ctx, label, next, volunteer, "", nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	deliver := func(code string) {
		t.Helper()
		if _, err := cases.MarkDelivered(ctx, code, "Trần Thị Bình", "", "", volunteer, nil); err != nil {
			t.Fatal(err)
		}
	}
	card := func(label string) campaign.Device {
		t.Helper()
		d, err := devices.DeviceByLabel(ctx, label)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

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
		_, err := cases.ReportNotReceived(ctx, d1.Code, parent, "", "", nil)
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
	if _, err := cases.ReportNotReceived(ctx, d3.Code, parent, "", "", nil); err != nil {
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
