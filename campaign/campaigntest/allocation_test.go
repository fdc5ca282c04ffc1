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
// where it is through a hand-over, a "not received" and a withdrawal, and an allocated one is
// ready again after a withdrawal.
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
		if _, err := devices.MoveDevice(ctx, label, next, volunteer, ""); err != nil {
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

	tablet := cases.AddReadyDevice(campaign.DeviceTablet, "26800", "")
	d3, _ := allocate(verified("Phạm Văn Long").Code, tablet)
	move(tablet, campaign.DeviceReady)
	move(tablet, campaign.DeviceChecking)
	deliver(d3.Code)
	if got := cases.Delivery(d3.Code); got.Status != campaign.DeliveryDelivered || state(tablet) != campaign.DeviceChecking {
		t.Errorf("hand-over of a device in checking: delivery %s, device %s", got.Status, state(tablet))
	}

	phone := cases.AddReadyDevice(campaign.DeviceSmartphone, "26800", "")
	r4 := verified("Đỗ Văn Minh")
	allocate(r4.Code, phone)
	if wd, err := family.Withdraw(ctx, r4.Code, parent, "telegram:1001", "", nil); err != nil || wd.DeviceLabel != phone || state(phone) != campaign.DeviceReady {
		t.Errorf("withdrawal: %+v, %v, device %s; want it ready", wd, err, state(phone))
	}
	other := cases.AddReadyDevice(campaign.DeviceTablet, "26800", "")
	r5 := verified("Vũ Thị Lan")
	allocate(r5.Code, other)
	move(other, campaign.DeviceDelivered)
	if wd, err := family.Withdraw(ctx, r5.Code, parent, "telegram:1001", "", nil); err != nil || wd.DeviceLabel != "" || state(other) != campaign.DeviceDelivered {
		t.Errorf("withdrawal of a device delivered by hand: %+v, %v, device %s; want it left", wd, err, state(other))
	}
}
