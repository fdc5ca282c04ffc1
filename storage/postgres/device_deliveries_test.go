package postgres_test

import (
	"slices"
	"testing"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// deliveryOf is a delivery's code, status and device label as stored.
type deliveryOf struct {
	Code   string `db:"code"`
	Status string `db:"status"`
	Label  string `db:"label"`
}

// deliveriesOfDevice returns the deliveries of the device labelled label, oldest first.
func deliveriesOfDevice(t testing.TB, db *postgres.DB, label string) []deliveryOf {
	t.Helper()
	var out []deliveryOf
	err := db.SQLX().Select(&out, `
		SELECT dl.code, dl.status, d.label FROM deliveries dl JOIN devices d ON d.id = dl.device_id
		WHERE d.label = $1 ORDER BY dl.id`, label)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// handedOverAndBack allocates a new laptop to a new child and hands it over, then moves it by
// hand returned, checking, ready: it came back. It returns the child, the laptop and the
// delivery.
func handedOverAndBack(t *testing.T, w *familyWork, name string) (campaign.Registration, campaign.Device, campaign.Delivery) {
	t.Helper()
	first := w.verified(t, name, nil)
	laptop := w.readyDevice(t, campaign.DeviceLaptop, "")
	d1 := w.allocate(t, campaign.Allocation{Code: first.Code, DeviceLabel: laptop.Label}, "")
	w.deliver(t, d1.Code, "")
	for _, s := range []campaign.DeviceState{campaign.DeviceReturned, campaign.DeviceChecking, campaign.DeviceReady} {
		move(t, w.devices, laptop.Label, s)
	}
	return first, laptop, d1
}

// A device handed over to one child that came back and was made ready by hand is allocated to
// another: the first delivery stays as its history, the second is the one pending, and the
// device's card names it. The first family's "not received" then cannot reopen a delivery whose
// device another child holds, before the hand-over or after: it is refused as a final delivery's
// is, with nothing written and no database error.
func TestCaseStore_DeviceAllocatedAgainAfterItCameBack(t *testing.T) {
	t.Parallel()
	w := newFamilyWork(t)
	ctx := t.Context()
	first, laptop, d1 := handedOverAndBack(t, w, "Trần Minh Khang")
	second := w.verified(t, "Lê Thị Hoa", nil)

	made, stale, err := w.cases.ConfirmAllocations(ctx, []campaign.Allocation{{Code: second.Code, DeviceLabel: laptop.Label}}, "", official, nil)
	if err != nil || len(made) != 1 || len(stale) != 0 {
		t.Fatalf("allocating the device again: made %d, stale %v, %v; want it made", len(made), stale, err)
	}
	d2 := made[0]
	if d2.Code == d1.Code || d2.RegistrationCode != second.Code || d2.DeviceLabel != laptop.Label || d2.Status != campaign.DeliveryPending {
		t.Errorf("the new delivery = %+v", d2)
	}
	want := []deliveryOf{{d1.Code, "delivered", laptop.Label}, {d2.Code, "pending", laptop.Label}}
	if got := deliveriesOfDevice(t, w.db, laptop.Label); !slices.Equal(got, want) {
		t.Errorf("the device's deliveries = %v, want %v", got, want)
	}
	card, err := w.devices.DeviceByLabel(ctx, laptop.Label)
	if err != nil || card.State != campaign.DeviceAllocated || card.Delivery != d2.Code {
		t.Errorf("device card: %s on delivery %q, %v; want allocated on %s", card.State, card.Delivery, err, d2.Code)
	}
	events := history(t, w.db, laptop.Label)
	wantEvents := []event{
		{Actor: "telegram:8001", From: "ready", To: "allocated", Note: d1.Code},
		{Actor: "telegram:7001", From: "allocated", To: "delivered", Note: d1.Code},
		{Actor: "telegram:7001", From: "delivered", To: "returned"},
		{Actor: "telegram:7001", From: "returned", To: "checking"},
		{Actor: "telegram:7001", From: "checking", To: "ready"},
		{Actor: "telegram:8001", From: "ready", To: "allocated", Note: d2.Code},
	}
	if len(events) < len(wantEvents) || !slices.Equal(events[len(events)-len(wantEvents):], wantEvents) {
		t.Errorf("the device's history = %+v, want it to end with %+v", events, wantEvents)
	}
	if k, err := w.cases.CaseByCode(ctx, first.Code); err != nil || k.Registration.Status != campaign.StatusDelivered {
		t.Errorf("the first child: %s, %v; want delivered", k.Registration.Status, err)
	}
	if k, err := w.cases.CaseByCode(ctx, second.Code); err != nil || k.Registration.Status != campaign.StatusAllocated {
		t.Errorf("the second child: %s, %v; want allocated", k.Registration.Status, err)
	}

	// The first family says it never came, while the device waits for the second child, then
	// once the second child has it.
	notReceived := func(when string, wantDevice campaign.DeviceState, want []deliveryOf) {
		t.Helper()
		_, err := w.cases.ReportNotReceived(ctx, d1.Code, parentChat, "Chưa có ai đến giao", "nr-"+when, nil)
		wantCode(t, "the first family's not received "+when, err, campaign.ENOTFOUND)
		if got := deliveriesOfDevice(t, w.db, laptop.Label); !slices.Equal(got, want) {
			t.Errorf("%s: the device's deliveries = %v, want %v", when, got, want)
		}
		if dv, err := w.devices.DeviceByLabel(ctx, laptop.Label); err != nil || dv.State != wantDevice {
			t.Errorf("%s: device %s, %v; want %s", when, dv.State, err, wantDevice)
		}
		if k, err := w.cases.CaseByCode(ctx, first.Code); err != nil || k.Registration.Status != campaign.StatusDelivered {
			t.Errorf("%s: the first child: %s, %v; want delivered", when, k.Registration.Status, err)
		}
		var audits int
		if err := w.db.SQLX().Get(&audits, `SELECT count(*) FROM audit_log WHERE action = 'delivery.not_received'`); err != nil || audits != 0 {
			t.Errorf("%s: %d not_received audit rows, %v; want none", when, audits, err)
		}
	}
	notReceived("before the hand-over", campaign.DeviceAllocated, want)
	w.deliver(t, d2.Code, "")
	notReceived("after the hand-over", campaign.DeviceDelivered,
		[]deliveryOf{{d1.Code, "delivered", laptop.Label}, {d2.Code, "delivered", laptop.Label}})

	// The second family's own report reopens its delivery as ever.
	if got, err := w.cases.ReportNotReceived(ctx, d2.Code, parentChat, "", "", nil); err != nil || got.Status != campaign.DeliveryPending {
		t.Errorf("the second family's not received = %s, %v; want pending", got.Status, err)
	}
	if dv, err := w.devices.DeviceByLabel(ctx, laptop.Label); err != nil || dv.State != campaign.DeviceAllocated || dv.Delivery != d2.Code {
		t.Errorf("after the second family's report: %s on %q, %v", dv.State, dv.Delivery, err)
	}
}

// A delivery the family reopened after its device came back by hand still holds the device,
// even once it is ready: the device is proposed to nobody and an allocation of it is stale, not
// a database error; its card names the reopened delivery.
func TestCaseStore_ReopenedDeliveryHoldsItsDevice(t *testing.T) {
	t.Parallel()
	w := newFamilyWork(t)
	ctx := t.Context()
	first := w.verified(t, "Trần Minh Khang", nil)
	laptop := w.readyDevice(t, campaign.DeviceLaptop, "")
	d1 := w.allocate(t, campaign.Allocation{Code: first.Code, DeviceLabel: laptop.Label}, "")
	w.deliver(t, d1.Code, "")
	move(t, w.devices, laptop.Label, campaign.DeviceReturned)
	if got, err := w.cases.ReportNotReceived(ctx, d1.Code, parentChat, "", "", nil); err != nil || got.Status != campaign.DeliveryPending {
		t.Fatalf("not received with the device returned = %s, %v; want pending", got.Status, err)
	}
	move(t, w.devices, laptop.Label, campaign.DeviceChecking)
	move(t, w.devices, laptop.Label, campaign.DeviceReady)

	p, err := w.cases.Proposal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(p.Supply.Devices, func(d campaign.ReadyDevice) bool { return d.Label == laptop.Label }) {
		t.Errorf("a device a pending delivery holds is proposed: %+v", p.Supply.Devices)
	}
	second := w.verified(t, "Lê Thị Hoa", nil)
	made, stale, err := w.cases.ConfirmAllocations(ctx, []campaign.Allocation{{Code: second.Code, DeviceLabel: laptop.Label}}, "", official, nil)
	if err != nil || len(made) != 0 || !slices.Equal(stale, []string{second.Code}) {
		t.Errorf("allocating a held device: made %d, stale %v, %v; want it stale", len(made), stale, err)
	}
	card, err := w.devices.DeviceByLabel(ctx, laptop.Label)
	if err != nil || card.State != campaign.DeviceReady || card.Delivery != d1.Code {
		t.Errorf("device card: %s on %q, %v; want ready on %s", card.State, card.Delivery, err, d1.Code)
	}
	if k, err := w.cases.CaseByCode(ctx, second.Code); err != nil || k.Registration.Status != campaign.StatusVerified {
		t.Errorf("the second child: %s, %v; want verified", k.Registration.Status, err)
	}

	// Handed over all the same, the delivery lets the device go: it is allocated again.
	w.deliver(t, d1.Code, "")
	d2 := w.allocate(t, campaign.Allocation{Code: second.Code, DeviceLabel: laptop.Label}, "")
	if card, err := w.devices.DeviceByLabel(ctx, laptop.Label); err != nil || card.Delivery != d2.Code {
		t.Errorf("device card after the allocation: %q, %v; want %s", card.Delivery, err, d2.Code)
	}
}

// Migration 00029 replaces the uniqueness of a delivery's device with that of a pending
// delivery's: a second pending delivery of a device is refused by the index, its Down puts the
// constraint of 00006 back on a database where no device was allocated twice, and Up works
// again; on one where a device was, Down fails and leaves the schema as it was.
func TestDeviceDeliveriesMigration(t *testing.T) {
	t.Parallel()
	w := newFamilyWork(t)
	ctx := t.Context()
	constraints := func() (constraint, index bool) {
		t.Helper()
		err := w.db.SQLX().QueryRow(`SELECT
			EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'deliveries_device_id_key'),
			to_regclass('deliveries_device_pending_key') IS NOT NULL`).Scan(&constraint, &index)
		if err != nil {
			t.Fatal(err)
		}
		return constraint, index
	}
	if c, i := constraints(); c || !i {
		t.Fatalf("after Up: constraint %v, index %v; want the index only", c, i)
	}

	// One delivery per device: Down and Up again.
	_, laptop, d1 := handedOverAndBack(t, w, "Trần Minh Khang")
	if err := postgres.MigrateDownTo(ctx, w.db, 28); err != nil {
		t.Fatalf("Down with one delivery per device: %v", err)
	}
	if c, i := constraints(); !c || i {
		t.Errorf("after Down: constraint %v, index %v; want the constraint only", c, i)
	}
	if err := postgres.Migrate(ctx, w.db); err != nil {
		t.Fatalf("Up again: %v", err)
	}
	if c, i := constraints(); c || !i {
		t.Errorf("after Up again: constraint %v, index %v; want the index only", c, i)
	}

	// The index refuses a second pending delivery of a device, however it would be written.
	second := w.verified(t, "Lê Thị Hoa", nil)
	d2 := w.allocate(t, campaign.Allocation{Code: second.Code, DeviceLabel: laptop.Label}, "")
	if _, err := w.db.SQLX().Exec(`UPDATE deliveries SET status = 'pending', delivered_at = NULL WHERE code = $1`, d1.Code); err == nil {
		t.Error("a second pending delivery of a device was written")
	}

	// Allocated twice: Down fails, and nothing changed.
	if err := postgres.MigrateDownTo(ctx, w.db, 28); err == nil {
		t.Error("Down with a device allocated twice: no error")
	}
	if c, i := constraints(); c || !i {
		t.Errorf("after the failed Down: constraint %v, index %v; want the index only", c, i)
	}
	if got := deliveriesOfDevice(t, w.db, laptop.Label); len(got) != 2 || got[1].Code != d2.Code {
		t.Errorf("after the failed Down: deliveries %v", got)
	}
}
