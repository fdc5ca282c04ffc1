package postgres_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// The case work moves an allocation's device only as campaign's allocation table says, and only
// from where the allocation left it: a device delivered to one child is not allocated to another,
// a device a volunteer moved by hand since stays where they put it through a "not received" and
// a hand-over, a pending delivery's device is never marked delivered by hand, and every move the
// history records is one campaign allows.
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

	// Pending again with its device returned by hand, then handed over all the same: the
	// delivery and the registration are delivered, the device stays returned.
	if got := w.deliver(t, d1.Code, ""); got.Status != campaign.DeliveryDelivered {
		t.Errorf("hand-over: %s", got.Status)
	}
	if k, err := w.cases.CaseByCode(ctx, first.Code); err != nil || k.Registration.Status != campaign.StatusDelivered {
		t.Errorf("registration %s, %v; want delivered", k.Registration.Status, err)
	}
	if got := state(laptop.Label); got != campaign.DeviceReturned {
		t.Errorf("a returned device after the hand-over: %s", got)
	}
	if got := lastEvent(laptop.Label); got.To != "returned" {
		t.Errorf("the hand-over wrote %+v on a returned device", got)
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

	// A pending delivery's device is not marked delivered by hand.
	_, tablet2, d2 := allocatedFamily(t, w, "Vũ Thị Lan")
	if _, err := w.devices.MoveDevice(ctx, tablet2.Label, campaign.DeviceDelivered, volunteer, "", nil); campaign.ErrorCode(err) != campaign.ECONFLICT ||
		!strings.Contains(err.Error(), d2.Code) {
		t.Errorf("marking a pending delivery's device delivered by hand: %v; want ECONFLICT naming %s", err, d2.Code)
	}
	if got := state(tablet2.Label); got != campaign.DeviceAllocated {
		t.Errorf("after the refused move: %s", got)
	}

	// Every move in the history is one campaign allows.
	var moves []struct {
		From campaign.DeviceState `db:"from_state"`
		To   campaign.DeviceState `db:"to_state"`
	}
	if err := w.db.SQLX().Select(&moves, `SELECT from_state, to_state FROM device_events WHERE from_state IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	if len(moves) < 8 {
		t.Fatalf("only %d moves recorded", len(moves))
	}
	for _, m := range moves {
		if err := m.From.Move(m.To); err != nil {
			t.Errorf("recorded move: %v", err)
		}
	}
}

// A device found unfit before its hand-over and sent back to ready by hand releases its
// allocation in the same transaction: the delivery is gone, the registration verified again, the
// device ready and free, its stock left again, the family's notice queued, and an audit row
// names the codes only. The device and the child are then allocated again without error, under
// the first allocation's key too. Marking a pending delivery's device delivered by hand is
// refused and changes nothing.
func TestDeviceStore_MoveDeviceReleasesAllocation(t *testing.T) {
	t.Parallel()
	w := newFamilyWork(t)
	ctx := t.Context()
	const name = "Nguyễn Thị Thu"
	reg, tablet, dl := allocatedFamily(t, w, name)
	if d, err := w.devices.DeviceByLabel(ctx, tablet.Label); err != nil || d.Delivery != dl.Code {
		t.Fatalf("DeviceByLabel: delivery %q, %v; want %s", d.Delivery, err, dl.Code)
	}
	events := len(history(t, w.db, tablet.Label))

	var told []campaign.Delivery
	notify := func(d campaign.Delivery) []campaign.OutboxMessage {
		told = append(told, d)
		return []campaign.OutboxMessage{{Key: "notice:recheck:" + d.Code, Channel: d.Parent.Channel, ChatID: d.Parent.ChatID,
			Text: "recheck " + d.Code + " " + string(d.DeviceType), Lane: campaign.OutboxNotice}}
	}
	moved, err := w.devices.MoveDevice(ctx, tablet.Label, campaign.DeviceReady, volunteer, "màn hình hỏng", notify)
	if err != nil {
		t.Fatalf("MoveDevice: %v", err)
	}
	if moved.State != campaign.DeviceReady || moved.Delivery != "" {
		t.Errorf("MoveDevice = %s, delivery %q; want ready, none", moved.State, moved.Delivery)
	}
	if len(told) != 1 || told[0].Code != dl.Code || told[0].Parent != parentChat || told[0].DeviceType != campaign.DeviceTablet {
		t.Errorf("notify was given %+v; want delivery %s of the family's chat", told, dl.Code)
	}
	if got := outboxRows(t, w.db, "notice:recheck:"); len(got) != 1 || got[0] != parentChat.ChatID+": recheck "+dl.Code+" tablet" {
		t.Errorf("outbox %q", got)
	}
	if _, err := w.cases.DeliveryByCode(ctx, dl.Code); campaign.ErrorCode(err) != campaign.ENOTFOUND {
		t.Errorf("the released delivery: %v; want it gone", err)
	}
	if k, err := w.cases.CaseByCode(ctx, reg.Code); err != nil || k.Registration.Status != campaign.StatusVerified {
		t.Errorf("registration %s, %v; want verified", k.Registration.Status, err)
	}
	var allocatedTo *int64
	if err := w.db.SQLX().Get(&allocatedTo, `SELECT allocated_registration_id FROM devices WHERE label = $1`, tablet.Label); err != nil || allocatedTo != nil {
		t.Errorf("a released device is still allocated to %v, %v", allocatedTo, err)
	}
	after := history(t, w.db, tablet.Label)
	if len(after) != events+1 || after[len(after)-1] != (event{"telegram:7001", "allocated", "ready", dl.Code + " màn hình hỏng"}) {
		t.Errorf("history %+v", after[events:])
	}
	entries, err := postgres.NewAuditLog(w.db).Entries(ctx, reg.Code)
	if err != nil || len(entries) == 0 {
		t.Fatalf("audit: %+v, %v", entries, err)
	}
	last := entries[len(entries)-1]
	row := fmt.Sprintf("%s %s", last.Before, last.After)
	if last.Action != "allocation.release" || last.Actor != "telegram:7001" || !strings.Contains(row, dl.Code) ||
		!strings.Contains(row, "verified") || !strings.Contains(row, "sim_4g") {
		t.Errorf("audit row %+v", last)
	}
	for _, family := range []string{name, "Nguyễn", "1001", validRegistration(name).Address, validRegistration(name).ParentPhone} {
		if family != "" && strings.Contains(row, family) {
			t.Errorf("the audit row names the family (%q): %s", family, row)
		}
	}
	p, err := w.cases.Proposal(ctx)
	if err != nil || p.Supply.Stock[campaign.StockSIM4G] != 1 || !slices.ContainsFunc(p.Supply.Devices, func(d campaign.ReadyDevice) bool { return d.Label == tablet.Label }) ||
		!slices.ContainsFunc(p.Candidates, func(c campaign.Candidate) bool { return c.Code == reg.Code }) {
		t.Errorf("proposal after the release: %+v, %v; want the SIM, the tablet and the child back", p.Supply, err)
	}

	// Allocated again: the device to another child, the child (under the first allocation's
	// key) to another device.
	other := w.verified(t, "Lê Văn Tâm", func(r *campaign.Registration) { r.ChatID = otherChat.ChatID })
	d2 := w.allocate(t, campaign.Allocation{Code: other.Code, DeviceLabel: tablet.Label, Stock: []campaign.StockKind{campaign.StockSIM4G}}, "")
	laptop := w.readyDevice(t, campaign.DeviceLaptop, "")
	again := w.allocate(t, campaign.Allocation{Code: reg.Code, DeviceLabel: laptop.Label}, "a-"+name)
	if again.Code == dl.Code || again.DeviceLabel != laptop.Label || again.Status != campaign.DeliveryPending {
		t.Errorf("the child allocated again: %+v", again)
	}

	// Delivered by hand while the delivery is pending: refused, nothing changes.
	events = len(history(t, w.db, tablet.Label))
	audits, _ := postgres.NewAuditLog(w.db).Entries(ctx, tablet.Label)
	_, err = w.devices.MoveDevice(ctx, tablet.Label, campaign.DeviceDelivered, volunteer, "", notify)
	if campaign.ErrorCode(err) != campaign.ECONFLICT || !strings.Contains(err.Error(), d2.Code) || !strings.Contains(err.Error(), "/deliveries") {
		t.Errorf("delivered by hand: %v; want ECONFLICT naming %s and /deliveries", err, d2.Code)
	}
	if d, err := w.devices.DeviceByLabel(ctx, tablet.Label); err != nil || d.State != campaign.DeviceAllocated || d.Delivery != d2.Code {
		t.Errorf("after the refusal: %+v, %v", d, err)
	}
	if got, err := w.cases.DeliveryByCode(ctx, d2.Code); err != nil || got.Status != campaign.DeliveryPending {
		t.Errorf("the delivery after the refusal: %s, %v", got.Status, err)
	}
	auditsAfter, _ := postgres.NewAuditLog(w.db).Entries(ctx, tablet.Label)
	if len(history(t, w.db, tablet.Label)) != events || len(auditsAfter) != len(audits) || len(told) != 1 {
		t.Errorf("the refused move wrote: %d events (was %d), %d audit rows (was %d), %d notices", len(history(t, w.db, tablet.Label)), events, len(auditsAfter), len(audits), len(told))
	}
}
