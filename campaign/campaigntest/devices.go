package campaigntest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Devices is an in-memory campaign.DeviceStore. It refuses more devices of a kind than a
// pledge promised and writes once per idempotency key, as the real store does.
type Devices struct {
	mu      sync.Mutex
	now     func() time.Time
	devices []campaign.Device
	stock   []StockBatch
	// Pledges, when set, is where pledge codes are checked.
	Pledges *Pledges
	// IntakeErr, MoveErr and LookupErr are returned instead of doing the work.
	IntakeErr, MoveErr, LookupErr error
	intakes                       int
	// Outbox receives the notices an intake or a stock receipt queues (the donor's news).
	Outbox *Outbox
	// cases, set by NewCases, holds the deliveries: a device a pending delivery holds moves by
	// hand as campaign.Device.MoveByHand says, and a release is the case store's.
	cases *Cases
}

// StockBatch is stock received in one go.
type StockBatch struct {
	Pledge           string // "" for a walk-in gift
	Kind             campaign.ItemKind
	Quantity, Months int
	By               string // "channel:id"
	Key              string
}

var _ campaign.DeviceStore = (*Devices)(nil)

// NewDevices returns a store with no devices, whose clock is now, queueing into an outbox of its own.
func NewDevices(now func() time.Time) *Devices {
	return &Devices{now: now, Outbox: &Outbox{}}
}

// promised is how many of kind k pledge code promised, and whether the pledge is known.
func (s *Devices) promised(code string, k campaign.ItemKind) (int, bool) {
	if s.Pledges == nil {
		return 0, false
	}
	p, err := s.Pledges.PledgeByCode(context.Background(), code)
	if err != nil {
		return 0, false
	}
	n := 0
	for _, it := range p.Items {
		if it.Kind == k {
			n += it.Quantity
		}
	}
	return n, true
}

// add stores d with an id, a label and timestamps; s.mu is held.
func (s *Devices) add(d *campaign.Device) {
	d.ID = int64(len(s.devices) + 123)
	d.Label = fmt.Sprintf("TB-%06d", d.ID)
	d.CreatedAt, d.UpdatedAt = s.now(), s.now()
	s.devices = append(s.devices, *d)
}

// IntakeDevice implements campaign.DeviceStore.
func (s *Devices) IntakeDevice(_ context.Context, d *campaign.Device, by campaign.Staff, notices []campaign.OutboxMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.intakes++
	if s.IntakeErr != nil {
		return s.IntakeErr
	}
	if d.IdempotencyKey != "" {
		for _, old := range s.devices {
			if old.IdempotencyKey == d.IdempotencyKey {
				*d = old
				return nil
			}
		}
	}
	if d.PledgeCode != "" {
		n, ok := s.promised(d.PledgeCode, campaign.ItemKind(d.Type))
		taken := 0
		for _, old := range s.devices {
			if old.PledgeCode == d.PledgeCode && old.Type == d.Type {
				taken++
			}
		}
		if !ok || taken >= n {
			return campaign.Errorf(campaign.EINVALID, "pledge %s has no more %ss to receive", d.PledgeCode, d.Type)
		}
	}
	if d.State == campaign.DeviceReady && !d.Wiped {
		return campaign.Errorf(campaign.EINVALID, "ready without a wipe")
	}
	d.CheckedBy = by.Channel + ":" + by.ExternalID
	s.add(d)
	s.Outbox.Queue(notices)
	return nil
}

// MoveDevice implements campaign.DeviceStore. Over a Cases (NewCases), a device a pending
// delivery holds moves as campaign.Device.MoveByHand says, and back to ready it releases the
// allocation as storage/postgres does (Cases.releaseDevice); notify's messages go to the
// Cases' outbox.
func (s *Devices) MoveDevice(_ context.Context, label string, next campaign.DeviceState, by campaign.Staff, _ string, notify campaign.Notify[campaign.Delivery]) (campaign.Device, error) {
	if s.cases != nil {
		s.cases.mu.Lock()
		defer s.cases.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.MoveErr != nil {
		return campaign.Device{}, s.MoveErr
	}
	for i, d := range s.devices {
		if d.Label != label {
			continue
		}
		d.Delivery = s.holding(label)
		release, err := d.MoveByHand(next)
		if err != nil {
			return campaign.Device{}, err
		}
		if release {
			if err := s.cases.releaseDevice(d, by, notify); err != nil {
				return campaign.Device{}, err
			}
		}
		s.devices[i].State, s.devices[i].UpdatedAt = next, s.now()
		out := s.devices[i]
		out.Delivery = s.holding(label)
		return out, nil
	}
	return campaign.Device{}, campaign.Errorf(campaign.ENOTFOUND, "device %s", label)
}

// holding is the code of the pending delivery that holds the device labelled label, "" when
// none or with no Cases; s.cases.mu (when set) and s.mu are held.
func (s *Devices) holding(label string) string {
	if s.cases == nil {
		return ""
	}
	for _, dl := range s.cases.deliveries {
		if dl.DeviceLabel == label && dl.Status == campaign.DeliveryPending {
			return dl.Code
		}
	}
	return ""
}

// DeviceByLabel implements campaign.DeviceStore, with the pending delivery that holds the device.
func (s *Devices) DeviceByLabel(_ context.Context, label string) (campaign.Device, error) {
	if s.cases != nil {
		s.cases.mu.Lock()
		defer s.cases.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.LookupErr != nil {
		return campaign.Device{}, s.LookupErr
	}
	for _, d := range s.devices {
		if d.Label == label {
			d.Delivery = s.holding(label)
			return d, nil
		}
	}
	return campaign.Device{}, campaign.Errorf(campaign.ENOTFOUND, "device %s", label)
}

// DevicesCheckedBy implements campaign.DeviceStore.
func (s *Devices) DevicesCheckedBy(_ context.Context, by campaign.Staff, limit int) ([]campaign.Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []campaign.Device
	for _, d := range slices.Backward(s.devices) {
		if d.CheckedBy == by.Channel+":"+by.ExternalID && len(out) < limit {
			out = append(out, d)
		}
	}
	return out, nil
}

// ReceiveStock implements campaign.DeviceStore.
func (s *Devices) ReceiveStock(_ context.Context, code string, kind campaign.ItemKind, quantity, months int, key string, by campaign.Staff, notices []campaign.OutboxMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if key != "" && slices.ContainsFunc(s.stock, func(st StockBatch) bool { return st.Key == key }) {
		return nil
	}
	if code != "" {
		n, ok := s.promised(code, kind)
		got := 0
		for _, st := range s.stock {
			if st.Pledge == code && st.Kind == kind {
				got += st.Quantity
			}
		}
		if !ok || got+quantity > n {
			return campaign.Errorf(campaign.EINVALID, "pledge %s has fewer %s to receive", code, kind)
		}
	}
	s.stock = append(s.stock, StockBatch{code, kind, quantity, months, by.Channel + ":" + by.ExternalID, key})
	s.Outbox.Queue(notices)
	return nil
}

// Money is an in-memory campaign.MoneyStore; purchases add devices to its Devices. It
// writes once per idempotency key, as the real store does.
type Money struct {
	mu sync.Mutex
	// Devices receives the devices bought, and its Outbox the notices.
	Devices *Devices
	records []campaign.MoneyRecord
	// purchases are the devices bought under each idempotency key.
	purchases map[string][]campaign.Device
	// Err, when set, is returned by RecordMoney instead of recording.
	Err error
}

// RecordMoney implements campaign.MoneyStore.
func (s *Money) RecordMoney(_ context.Context, code string, amount int64, note, key string, by campaign.Staff, notices []campaign.OutboxMessage) (campaign.MoneyRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return campaign.MoneyRecord{}, s.Err
	}
	if i := slices.IndexFunc(s.records, func(r campaign.MoneyRecord) bool { return key != "" && r.IdempotencyKey == key }); i >= 0 {
		return s.records[i], nil
	}
	r := campaign.MoneyRecord{
		ID: int64(len(s.records) + 1), PledgeCode: code, Amount: amount, Note: note,
		RecordedBy: by.Channel + ":" + by.ExternalID, IdempotencyKey: key,
	}
	s.records = append(s.records, r)
	s.Devices.Outbox.Queue(notices)
	return r, nil
}

// RecordPurchase implements campaign.MoneyStore.
func (s *Money) RecordPurchase(_ context.Context, id int64, devices []campaign.Device, cost int64, key string, _ campaign.Staff) ([]campaign.Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if bought, ok := s.purchases[key]; ok && key != "" {
		return slices.Clone(bought), nil
	}
	if id < 1 || int(id) > len(s.records) {
		return nil, campaign.Errorf(campaign.ENOTFOUND, "money %d", id)
	}
	r := &s.records[id-1]
	if r.Spent+cost > r.Amount {
		return nil, campaign.Errorf(campaign.EINVALID, "money %d has %d left, not %d", id, r.Amount-r.Spent, cost)
	}
	r.Spent += cost
	s.Devices.mu.Lock()
	defer s.Devices.mu.Unlock()
	out := make([]campaign.Device, 0, len(devices))
	for _, d := range devices {
		s.Devices.add(&d)
		out = append(out, d)
	}
	if key != "" {
		if s.purchases == nil {
			s.purchases = map[string][]campaign.Device{}
		}
		s.purchases[key] = slices.Clone(out)
	}
	return out, nil
}

// MoneyTotals implements campaign.MoneyStore.
func (s *Money) MoneyTotals(context.Context) (int64, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var received, spent int64
	for _, r := range s.records {
		received += r.Amount
		spent += r.Spent
	}
	return received, spent, nil
}

var _ campaign.MoneyStore = (*Money)(nil)

// All returns the devices stored, oldest first.
func (s *Devices) All() []campaign.Device {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.devices)
}

// Edit changes the stored devices in place, oldest first.
func (s *Devices) Edit(change func(devices []campaign.Device)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	change(s.devices)
}

// Stock returns the stock received, in order.
func (s *Devices) Stock() []StockBatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.stock)
}

// Intakes counts the IntakeDevice calls.
func (s *Devices) Intakes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.intakes
}

// Records returns the money recorded, in order.
func (s *Money) Records() []campaign.MoneyRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.records)
}

// Purchases returns the devices bought, by idempotency key.
func (s *Money) Purchases() map[string][]campaign.Device {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.purchases)
}
