package postgres_test

import (
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// allocScale is the seeded day of issue 13: 739 matches to confirm at once.
const allocScale = 739

// tellParent is the notice /allocate queues for each delivery made: one per family, on the notice
// lane, keyed by the confirmation's key and the delivery.
func tellParent(key string) campaign.Notify[campaign.Delivery] {
	return func(d campaign.Delivery) []campaign.OutboxMessage {
		return []campaign.OutboxMessage{{Key: "notice:allocated:" + d.Code + ":" + key, Channel: d.Parent.Channel,
			ChatID: d.Parent.ChatID, Text: "allocated " + d.RegistrationCode + " " + d.Code, Lane: campaign.OutboxNotice}}
	}
}

// scaleAllocs pairs codes[i] with labels[i] and a SIM, for i in [from, to).
func scaleAllocs(codes, labels []string, from, to int) []campaign.Allocation {
	var out []campaign.Allocation
	for i := from; i < to; i++ {
		out = append(out, campaign.Allocation{Code: codes[i], DeviceLabel: labels[i], Stock: []campaign.StockKind{campaign.StockSIM4G}})
	}
	return out
}

// checkAllocatedOnce fails when a device is in two deliveries, a registration in two, or a device
// and its delivery disagree on the child; it returns the number of deliveries.
func checkAllocatedOnce(t *testing.T, w *caseWork) int {
	t.Helper()
	var deliveries, devices, regs, mismatched, allocatedDevices, allocatedRegs int
	err := w.db.SQLX().QueryRow(`SELECT
			(SELECT count(*) FROM deliveries),
			(SELECT count(DISTINCT device_id) FROM deliveries),
			(SELECT count(DISTINCT registration_id) FROM deliveries),
			(SELECT count(*) FROM deliveries dl JOIN devices d ON d.id = dl.device_id
				WHERE d.allocated_registration_id IS DISTINCT FROM dl.registration_id OR d.state <> 'allocated'),
			(SELECT count(*) FROM devices WHERE state = 'allocated'),
			(SELECT count(*) FROM registrations WHERE status = 'allocated')`).
		Scan(&deliveries, &devices, &regs, &mismatched, &allocatedDevices, &allocatedRegs)
	if err != nil {
		t.Fatal(err)
	}
	if devices != deliveries || regs != deliveries || mismatched != 0 || allocatedDevices != deliveries || allocatedRegs != deliveries {
		t.Errorf("%d deliveries of %d devices and %d registrations, %d disagreeing with their device; %d devices and %d registrations allocated",
			deliveries, devices, regs, mismatched, allocatedDevices, allocatedRegs)
	}
	return deliveries
}

// TestCaseStore_ConfirmAllocationsAtScale confirms a city's day at once, as /allocate's «confirm
// all» does: 739 allocations (and three stale ones among them) in one call, each device allocated
// once, each family's notice queued once on the notice lane, and the whole call repeated with its
// key (a retried update) writing nothing; a confirmation cut short and retried with its key
// finishes without allocating anything twice; two officials confirming the same children at once
// allocate each device once.
func TestCaseStore_ConfirmAllocationsAtScale(t *testing.T) {
	t.Parallel()
	w := newCaseWork(t)
	ctx := t.Context()
	codes, labels := seedCampaign(t, w.db, w.c, 2400, 2400)
	box := w.db.SQLX()

	// Three go stale before the confirmation, spread over the chunks: a device sent back for
	// checking, a child refused, and a device already given to the line before.
	allocs := scaleAllocs(codes, labels, 0, allocScale)
	checking, refused := allocScale, allocScale+1
	if _, err := box.Exec(`UPDATE devices SET state = 'checking' WHERE label = $1`, labels[checking]); err != nil {
		t.Fatal(err)
	}
	if _, err := box.Exec(`UPDATE registrations SET status = 'rejected' WHERE code = $1`, codes[refused]); err != nil {
		t.Fatal(err)
	}
	allocs = slices.Insert(allocs, 100, campaign.Allocation{Code: codes[checking], DeviceLabel: labels[checking]})
	allocs = slices.Insert(allocs, 400, campaign.Allocation{Code: codes[refused], DeviceLabel: labels[refused]})
	allocs = slices.Insert(allocs, 700, campaign.Allocation{Code: codes[allocScale+2], DeviceLabel: labels[650]})
	wantStale := []string{codes[checking], codes[refused], codes[allocScale+2]}

	start := time.Now()
	made, stale, err := w.cases.ConfirmAllocations(ctx, allocs, "confirm all", official, tellParent("confirm all"))
	took := time.Since(start)
	if err != nil || len(made) != allocScale || !slices.Equal(stale, wantStale) {
		t.Fatalf("ConfirmAllocations = %d made, stale %v, %v; want %d made and %v stale", len(made), stale, err, allocScale, wantStale)
	}
	t.Logf("%d allocations (and %d stale) confirmed in %v", len(made), len(stale), took)
	for i, d := range made {
		if d.RegistrationCode != codes[i] || d.DeviceLabel != labels[i] || !slices.Equal(d.Stock, []campaign.StockKind{campaign.StockSIM4G}) ||
			d.Status != campaign.DeliveryPending || d.Parent.ChatID == "" {
			t.Fatalf("made[%d] = %+v; want %s with %s and a SIM", i, d, codes[i], labels[i])
		}
	}
	if n := checkAllocatedOnce(t, w); n != allocScale {
		t.Errorf("%d deliveries, want %d", n, allocScale)
	}
	var notices, distinctKeys, distinctChats, audits, keys, events int
	err = box.QueryRow(`SELECT
			(SELECT count(*) FROM outbox WHERE lane = 'notice'), (SELECT count(DISTINCT key) FROM outbox),
			(SELECT count(DISTINCT chat_id) FROM outbox),
			(SELECT count(*) FROM audit_log WHERE action = 'allocation.confirm'), (SELECT count(*) FROM case_keys),
			(SELECT count(*) FROM device_events WHERE to_state = 'allocated')`).
		Scan(&notices, &distinctKeys, &distinctChats, &audits, &keys, &events)
	if err != nil {
		t.Fatal(err)
	}
	if notices != allocScale || distinctKeys != allocScale || distinctChats != allocScale || audits != allocScale || keys != allocScale || events != allocScale {
		t.Errorf("%d notices (%d keys, %d chats), %d audit rows, %d case keys, %d device events; want %d of each",
			notices, distinctKeys, distinctChats, audits, keys, events, allocScale)
	}
	var left int
	if err := box.Get(&left, `SELECT 100000 - count(*) FROM deliveries WHERE 'sim_4g' = ANY(stock)`); err != nil || left != 100000-allocScale {
		t.Errorf("SIMs left %d, %v", left, err)
	}

	// The same call again (the update retried after a crash): the same deliveries, nothing written.
	before := caseSnapshot(t, w.db)
	again, staleAgain, err := w.cases.ConfirmAllocations(ctx, allocs, "confirm all", official, tellParent("confirm all"))
	if err != nil || !reflect.DeepEqual(again, made) || !slices.Equal(staleAgain, wantStale) {
		t.Errorf("repeated ConfirmAllocations = %d made (same: %v), stale %v, %v", len(again), reflect.DeepEqual(again, made), staleAgain, err)
	}
	if after := caseSnapshot(t, w.db); after != before {
		t.Errorf("repeated confirmation wrote:\nbefore %.300s\nafter  %.300s", before, after)
	}
	if n := countRows(t, w.db, "outbox"); n != allocScale {
		t.Errorf("%d outbox rows after the retry, want %d", n, allocScale)
	}

	// A confirmation cut short after its first 300 (committed) and retried whole with its key.
	second := scaleAllocs(codes, labels, 800, 800+allocScale)
	first, _, err := w.cases.ConfirmAllocations(ctx, second[:300], "cut short", official, tellParent("cut short"))
	if err != nil || len(first) != 300 {
		t.Fatalf("first part: %d made, %v", len(first), err)
	}
	whole, stale, err := w.cases.ConfirmAllocations(ctx, second, "cut short", official, tellParent("cut short"))
	if err != nil || len(whole) != allocScale || len(stale) != 0 || !reflect.DeepEqual(whole[:300], first) {
		t.Errorf("retried whole: %d made, stale %v, %v; the first 300 the same: %v", len(whole), stale, err, len(whole) >= 300 && reflect.DeepEqual(whole[:300], first))
	}
	if n := checkAllocatedOnce(t, w); n != 2*allocScale {
		t.Errorf("%d deliveries, want %d", n, 2*allocScale)
	}

	// Two officials confirm the same 600 children at once, one in the other's reverse order.
	third := scaleAllocs(codes, labels, 1600, 2200)
	var wg sync.WaitGroup
	results := make([][]campaign.Delivery, 2)
	errs := make([]error, 2)
	for i := range 2 {
		list := slices.Clone(third)
		if i == 1 {
			slices.Reverse(list)
		}
		wg.Go(func() {
			results[i], _, errs[i] = w.cases.ConfirmAllocations(ctx, list, fmt.Sprintf("official %d", i), official, tellParent(fmt.Sprint(i)))
		})
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil || len(results[0])+len(results[1]) != len(third) {
		t.Errorf("two officials at once: %d + %d made, %v, %v; want %d in all", len(results[0]), len(results[1]), errs[0], errs[1], len(third))
	}
	if n := checkAllocatedOnce(t, w); n != 2*allocScale+len(third) {
		t.Errorf("%d deliveries, want %d", n, 2*allocScale+len(third))
	}
	if n := countRows(t, w.db, "outbox"); n != 2*allocScale+len(third) {
		t.Errorf("%d notices queued, want one per delivery", n)
	}
}

// BenchmarkCaseStore_ConfirmAllocations739 confirms 739 allocations of a device and a SIM in one
// call, with a notice each, in a campaign of the plan's 3,200 registrations.
func BenchmarkCaseStore_ConfirmAllocations739(b *testing.B) {
	w := newCaseWork(b)
	n := max(3200, allocScale*b.N)
	codes, labels := seedCampaign(b, w.db, w.c, n, n)
	b.ResetTimer()
	for i := range b.N {
		key := fmt.Sprint("bench ", i)
		made, stale, err := w.cases.ConfirmAllocations(b.Context(), scaleAllocs(codes, labels, i*allocScale, (i+1)*allocScale), key, official, tellParent(key))
		if err != nil || len(made) != allocScale || len(stale) != 0 {
			b.Fatalf("round %d: %d made, stale %v, %v", i, len(made), stale, err)
		}
	}
}
