package postgres_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

func TestMoneyStore_RecordMoney(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	pledges, money := postgres.NewPledgeStore(db), postgres.NewMoneyStore(db)
	p := submitPledge(t, pledges, validPledge("money"))
	noMoney := validPledge("no money")
	noMoney.Items = noMoney.Items[:2]
	noMoney = submitPledge(t, pledges, noMoney)

	t.Run("recorded", func(t *testing.T) {
		m, err := money.RecordMoney(t.Context(), strings.ToLower(p.Code), 2_000_000, " chuyển khoản  Vietcombank ", "", official, nil)
		if err != nil {
			t.Fatalf("RecordMoney: %v", err)
		}
		if m.ID == 0 || m.PledgeCode != p.Code || m.Amount != 2_000_000 || m.Spent != 0 ||
			m.Note != "chuyển khoản Vietcombank" || m.RecordedBy != "telegram:8001" || m.CreatedAt.IsZero() {
			t.Errorf("record %+v", m)
		}
		if got, err := money.MoneyByID(t.Context(), m.ID); err != nil || !reflect.DeepEqual(got, m) {
			t.Errorf("MoneyByID = %+v, %v; want %+v", got, err, m)
		}
		if got := pledgeStatus(t, pledges, p.Code); got != campaign.PledgePartly {
			t.Errorf("pledge status %s, want partly", got)
		}
		entries, err := postgres.NewAuditLog(db).Entries(t.Context(), p.Code)
		if err != nil || len(entries) != 2 || entries[1].Action != "money.record" || entries[1].Actor != "telegram:8001" {
			t.Errorf("audit entries %+v, %v", entries, err)
		}
	})

	for _, tc := range []struct {
		name    string
		pledge  string
		amount  int64
		by      campaign.Staff
		wantErr string
	}{
		{"no amount", p.Code, 0, official, campaign.EINVALID},
		{"negative amount", p.Code, -1, official, campaign.EINVALID},
		{"over 1e12", p.Code, 1_000_000_000_001, official, campaign.EINVALID},
		{"no pledge", "", 1000, official, campaign.EINVALID},
		{"unknown pledge", "PL-999999", 1000, official, campaign.EINVALID},
		{"pledge without money", noMoney.Code, 1000, official, campaign.EINVALID},
		{"nobody recording", p.Code, 1000, campaign.Staff{}, campaign.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := countRows(t, db, "money")
			m, err := money.RecordMoney(t.Context(), tc.pledge, tc.amount, "", "", tc.by, nil)
			if code := campaign.ErrorCode(err); code != tc.wantErr {
				t.Errorf("RecordMoney: %v (code %q), want %q", err, code, tc.wantErr)
			}
			if m.ID != 0 || countRows(t, db, "money") != before {
				t.Errorf("record %+v written", m)
			}
		})
	}
}

func TestMoneyStore_RecordPurchase(t *testing.T) {
	t.Parallel()

	// newMoney returns stores over a new database and a money record of amount VND.
	newMoney := func(t *testing.T, amount int64) (*postgres.DB, *postgres.MoneyStore, campaign.MoneyRecord) {
		t.Helper()
		db := newDB(t)
		money := postgres.NewMoneyStore(db)
		p := submitPledge(t, postgres.NewPledgeStore(db), validPledge("money"))
		m, err := money.RecordMoney(t.Context(), p.Code, amount, "", "", official, nil)
		if err != nil {
			t.Fatal(err)
		}
		return db, money, m
	}

	t.Run("within the balance", func(t *testing.T) {
		t.Parallel()
		db, money, m := newMoney(t, 10_000_000)
		devices := postgres.NewDeviceStore(db)
		walkIn := intake(t, devices, campaign.Device{Type: campaign.DeviceLaptop, State: campaign.DeviceReady})

		bought, err := money.RecordPurchase(t.Context(), m.ID, []campaign.Device{
			{Type: campaign.DeviceTablet, Brand: "Samsung", Model: "Galaxy Tab A7 Lite"},
			{Type: campaign.DeviceTablet, Brand: "Samsung", Model: "Galaxy Tab A7 Lite", State: campaign.DeviceReady, Wiped: true},
		}, 7_000_000, "", official)
		if err != nil {
			t.Fatalf("RecordPurchase: %v", err)
		}
		if len(bought) != 2 || bought[0].Label != "TB-000002" || bought[1].Label != "TB-000003" {
			t.Fatalf("bought %+v; want TB-000002 and TB-000003 after the walk-in %s", bought, walkIn.Label)
		}
		for _, d := range bought {
			if d.State != campaign.DeviceReceived || d.MoneyID != m.ID || d.PledgeCode != "" || d.Wiped || d.ID == 0 {
				t.Errorf("bought %+v", d)
			}
			if got, err := devices.DeviceByLabel(t.Context(), d.Label); err != nil || !reflect.DeepEqual(got, d) {
				t.Errorf("DeviceByLabel = %+v, %v; want %+v", got, err, d)
			}
			want := []event{{"telegram:8001", "", "received", "bought with money record 1"}}
			if h := history(t, db, d.Label); !reflect.DeepEqual(h, want) {
				t.Errorf("history %v, want %v", h, want)
			}
		}
		if got, _ := money.MoneyByID(t.Context(), m.ID); got.Spent != 7_000_000 {
			t.Errorf("spent %d, want 7,000,000", got.Spent)
		}
		entries, err := postgres.NewAuditLog(db).Entries(t.Context(), m.PledgeCode)
		if err != nil || len(entries) != 3 || entries[2].Action != "money.purchase" {
			t.Fatalf("audit entries %+v, %v", entries, err)
		}
		var after map[string]any
		if err := json.Unmarshal(entries[2].After.(json.RawMessage), &after); err != nil {
			t.Fatal(err)
		}
		if after["spent"] != 7_000_000.0 || !reflect.DeepEqual(after["devices"], []any{"TB-000002", "TB-000003"}) {
			t.Errorf("audit after %v", after)
		}
		// What is left can still be spent, to the last đồng.
		if _, err := money.RecordPurchase(t.Context(), m.ID, []campaign.Device{{Type: campaign.DeviceSmartphone}}, 3_000_000, "", official); err != nil {
			t.Errorf("spending the rest: %v", err)
		}
	})

	t.Run("over the balance refused, nothing written", func(t *testing.T) {
		t.Parallel()
		db, money, m := newMoney(t, 5_000_000)
		if _, err := money.RecordPurchase(t.Context(), m.ID, []campaign.Device{{Type: campaign.DeviceLaptop}}, 4_000_000, "", official); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name    string
			id      int64
			devices []campaign.Device
			cost    int64
			wantErr string
		}{
			{"over what is left", m.ID, []campaign.Device{{Type: campaign.DeviceLaptop}}, 1_000_001, campaign.EINVALID},
			{"no cost", m.ID, []campaign.Device{{Type: campaign.DeviceLaptop}}, 0, campaign.EINVALID},
			{"no devices", m.ID, nil, 1000, campaign.EINVALID},
			{"unknown type", m.ID, []campaign.Device{{Type: "phablet"}}, 1000, campaign.EINVALID},
			{"unknown money record", 999, []campaign.Device{{Type: campaign.DeviceLaptop}}, 1000, campaign.ENOTFOUND},
		} {
			t.Run(tc.name, func(t *testing.T) {
				bought, err := money.RecordPurchase(t.Context(), tc.id, tc.devices, tc.cost, "", official)
				if code := campaign.ErrorCode(err); code != tc.wantErr {
					t.Errorf("RecordPurchase: %v (code %q), want %q", err, code, tc.wantErr)
				}
				if bought != nil {
					t.Errorf("bought %+v", bought)
				}
			})
		}
		if got, _ := money.MoneyByID(t.Context(), m.ID); got.Spent != 4_000_000 {
			t.Errorf("spent %d, want 4,000,000", got.Spent)
		}
		for table, want := range map[string]int{"devices": 1, "device_events": 1} {
			if got := countRows(t, db, table); got != want {
				t.Errorf("%d rows in %s, want %d", got, table, want)
			}
		}
	})

	t.Run("concurrent purchases never overspend", func(t *testing.T) {
		t.Parallel()
		db, money, m := newMoney(t, 10_000_000)
		const n = 10
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				_, errs[i] = money.RecordPurchase(t.Context(), m.ID, []campaign.Device{{Type: campaign.DeviceTablet}}, 3_000_000, "", official)
			})
		}
		wg.Wait()
		succeeded := 0
		for i, err := range errs {
			switch code := campaign.ErrorCode(err); code {
			case "":
				succeeded++
			case campaign.EINVALID:
			default:
				t.Errorf("purchase %d: %v", i, err)
			}
		}
		if succeeded != 3 {
			t.Errorf("%d purchases succeeded, want 3", succeeded)
		}
		got, _ := money.MoneyByID(t.Context(), m.ID)
		if got.Spent != int64(succeeded)*3_000_000 || countRows(t, db, "devices") != succeeded {
			t.Errorf("spent %d with %d devices after %d purchases", got.Spent, countRows(t, db, "devices"), succeeded)
		}
	})
}

func TestMoneyStore_RecordMoney_idempotencyKey(t *testing.T) {
	t.Parallel()

	t.Run("same key returns the first record and writes nothing", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		money := postgres.NewMoneyStore(db)
		p := submitPledge(t, postgres.NewPledgeStore(db), validPledge("money"))
		first, err := money.RecordMoney(t.Context(), p.Code, 2_000_000, "lần 1", "money-1", official, nil)
		if err != nil {
			t.Fatal(err)
		}
		if first.IdempotencyKey != "money-1" {
			t.Errorf("key %q, want money-1", first.IdempotencyKey)
		}
		audits := countRows(t, db, "audit_log")
		again, err := money.RecordMoney(t.Context(), p.Code, 9_000_000, "", "money-1", official, nil)
		if err != nil {
			t.Fatalf("RecordMoney again: %v", err)
		}
		if !reflect.DeepEqual(again, first) {
			t.Errorf("again = %+v, want the first %+v", again, first)
		}
		if got, err := money.MoneyByID(t.Context(), first.ID); err != nil || !reflect.DeepEqual(got, first) {
			t.Errorf("MoneyByID = %+v, %v; want %+v", got, err, first)
		}
		if countRows(t, db, "money") != 1 || countRows(t, db, "audit_log") != audits {
			t.Errorf("%d money rows, %d audit rows; want 1, %d", countRows(t, db, "money"), countRows(t, db, "audit_log"), audits)
		}
		if received, _, _ := money.MoneyTotals(t.Context()); received != 2_000_000 {
			t.Errorf("received %d, want 2,000,000", received)
		}
	})

	t.Run("concurrent records of one key make one", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		money := postgres.NewMoneyStore(db)
		p := submitPledge(t, postgres.NewPledgeStore(db), validPledge("money"))
		const n = 10
		var wg sync.WaitGroup
		results := make([]campaign.MoneyRecord, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				results[i], errs[i] = money.RecordMoney(t.Context(), p.Code, 1_000_000, "", "racing", official, nil)
			})
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("record %d: %v", i, errs[i])
			}
			if !reflect.DeepEqual(results[i], results[0]) {
				t.Errorf("record %d = %+v, record 0 = %+v", i, results[i], results[0])
			}
		}
		if got := countRows(t, db, "money"); got != 1 {
			t.Errorf("%d money rows, want 1", got)
		}
		if got := countRows(t, db, "audit_log"); got != 2 { // pledge.create, money.record
			t.Errorf("%d audit rows, want 2", got)
		}
	})

	t.Run("different keys, or none, make separate records", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		money := postgres.NewMoneyStore(db)
		p := submitPledge(t, postgres.NewPledgeStore(db), validPledge("money"))
		var ids []int64
		for _, key := range []string{"a", "b", "", ""} {
			m, err := money.RecordMoney(t.Context(), p.Code, 1_000_000, "", key, official, nil)
			if err != nil {
				t.Fatalf("RecordMoney(%q): %v", key, err)
			}
			ids = append(ids, m.ID)
		}
		if want := []int64{1, 2, 3, 4}; !reflect.DeepEqual(ids, want) {
			t.Errorf("ids %v, want %v", ids, want)
		}
		if received, _, _ := money.MoneyTotals(t.Context()); received != 4_000_000 {
			t.Errorf("received %d, want 4,000,000", received)
		}
	})
}

func TestMoneyStore_RecordPurchase_idempotencyKey(t *testing.T) {
	t.Parallel()

	// newMoney returns a store with a money record of 10 million đồng.
	newMoney := func(t *testing.T) (*postgres.DB, *postgres.MoneyStore, campaign.MoneyRecord) {
		t.Helper()
		db := newDB(t)
		money := postgres.NewMoneyStore(db)
		p := validPledge("money")
		p.Items = []campaign.PledgeItem{{Kind: campaign.ItemMoney, Amount: 10_000_000}}
		p = submitPledge(t, postgres.NewPledgeStore(db), p)
		m, err := money.RecordMoney(t.Context(), p.Code, 10_000_000, "", "", official, nil)
		if err != nil {
			t.Fatal(err)
		}
		return db, money, m
	}
	tablets := func(n int) []campaign.Device {
		ds := make([]campaign.Device, n)
		for i := range ds {
			ds[i] = campaign.Device{Type: campaign.DeviceTablet, Brand: "Samsung"}
		}
		return ds
	}
	spent := func(t *testing.T, money *postgres.MoneyStore, id int64) int64 {
		t.Helper()
		m, err := money.MoneyByID(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		return m.Spent
	}

	t.Run("same key returns the first devices and spends once", func(t *testing.T) {
		t.Parallel()
		db, money, m := newMoney(t)
		first, err := money.RecordPurchase(t.Context(), m.ID, tablets(2), 6_000_000, "buy-1", official)
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, table := range []string{"devices", "device_events", "audit_log", "purchases"} {
			counts[table] = countRows(t, db, table)
		}
		// Six million more would be more than is left: a repeat is not another purchase.
		again, err := money.RecordPurchase(t.Context(), m.ID, tablets(2), 6_000_000, "buy-1", official)
		if err != nil {
			t.Fatalf("RecordPurchase again: %v", err)
		}
		if !reflect.DeepEqual(again, first) {
			t.Errorf("again =\n%+v\nwant the first\n%+v", again, first)
		}
		if got := spent(t, money, m.ID); got != 6_000_000 {
			t.Errorf("spent %d, want 6,000,000", got)
		}
		for table, want := range counts {
			if got := countRows(t, db, table); got != want {
				t.Errorf("%d rows in %s, want %d", got, table, want)
			}
		}
		if counts["purchases"] != 1 || counts["devices"] != 2 {
			t.Errorf("%d purchases, %d devices; want 1, 2", counts["purchases"], counts["devices"])
		}
	})

	t.Run("concurrent purchases of one key spend once", func(t *testing.T) {
		t.Parallel()
		db, money, m := newMoney(t)
		const n = 10
		var wg sync.WaitGroup
		results := make([][]campaign.Device, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				results[i], errs[i] = money.RecordPurchase(t.Context(), m.ID, tablets(1), 3_000_000, "racing", official)
			})
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("purchase %d: %v", i, errs[i])
			}
			if !reflect.DeepEqual(results[i], results[0]) {
				t.Errorf("purchase %d gave %+v, purchase 0 gave %+v", i, results[i], results[0])
			}
		}
		if got := spent(t, money, m.ID); got != 3_000_000 {
			t.Errorf("spent %d, want 3,000,000", got)
		}
		for table, want := range map[string]int{"purchases": 1, "devices": 1, "device_events": 1} {
			if got := countRows(t, db, table); got != want {
				t.Errorf("%d rows in %s, want %d", got, table, want)
			}
		}
		if _, total, _ := money.MoneyTotals(t.Context()); total != 3_000_000 {
			t.Errorf("total spent %d, want 3,000,000", total)
		}
	})

	t.Run("different keys, or none, are separate purchases", func(t *testing.T) {
		t.Parallel()
		db, money, m := newMoney(t)
		var labels []string
		for _, key := range []string{"a", "b", "", ""} {
			bought, err := money.RecordPurchase(t.Context(), m.ID, tablets(1), 2_000_000, key, official)
			if err != nil {
				t.Fatalf("RecordPurchase(%q): %v", key, err)
			}
			labels = append(labels, bought[0].Label)
		}
		if want := []string{"TB-000001", "TB-000002", "TB-000003", "TB-000004"}; !reflect.DeepEqual(labels, want) {
			t.Errorf("labels %v, want %v", labels, want)
		}
		if got := spent(t, money, m.ID); got != 8_000_000 {
			t.Errorf("spent %d, want 8,000,000", got)
		}
		// A new key is a new purchase, refused when it is more than is left.
		if _, err := money.RecordPurchase(t.Context(), m.ID, tablets(1), 3_000_000, "c", official); campaign.ErrorCode(err) != campaign.EINVALID {
			t.Errorf("over the balance with a new key: %v, want EINVALID", err)
		}
		if got := countRows(t, db, "purchases"); got != 4 {
			t.Errorf("%d purchases, want 4", got)
		}
	})
}

func TestMoneyStore_MoneyTotals(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	pledges, money := postgres.NewPledgeStore(db), postgres.NewMoneyStore(db)

	received, spent, err := money.MoneyTotals(t.Context())
	if err != nil || received != 0 || spent != 0 {
		t.Fatalf("MoneyTotals of nothing = %d, %d, %v", received, spent, err)
	}

	// Sums a float would round: 999,999,999,999 + 1 + 333,333,333,333 đồng.
	p := validPledge("big")
	p.Items = []campaign.PledgeItem{{Kind: campaign.ItemMoney, Amount: 1_000_000_000_000}}
	p = submitPledge(t, pledges, p)
	var ids []int64
	for _, amount := range []int64{999_999_999_999, 1, 333_333_333_333} {
		m, err := money.RecordMoney(t.Context(), p.Code, amount, "", "", official, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	if _, err := money.RecordPurchase(t.Context(), ids[0], []campaign.Device{{Type: campaign.DeviceLaptop}}, 123_456_789_011, "", official); err != nil {
		t.Fatal(err)
	}
	if _, err := money.RecordPurchase(t.Context(), ids[1], []campaign.Device{{Type: campaign.DeviceSmartphone}}, 1, "", official); err != nil {
		t.Fatal(err)
	}
	received, spent, err = money.MoneyTotals(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if received != 1_333_333_333_333 || spent != 123_456_789_012 {
		t.Errorf("MoneyTotals = %d, %d; want 1,333,333,333,333 and 123,456,789,012", received, spent)
	}
}

func BenchmarkMoneyStore_RecordPurchase(b *testing.B) {
	db := newDB(b)
	money := postgres.NewMoneyStore(db)
	p := validPledge("bench")
	p.Items = []campaign.PledgeItem{{Kind: campaign.ItemMoney, Amount: 1_000_000_000_000}}
	p = submitPledge(b, postgres.NewPledgeStore(db), p)
	m, err := money.RecordMoney(b.Context(), p.Code, 1_000_000_000_000, "", "", official, nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := money.RecordPurchase(b.Context(), m.ID, []campaign.Device{{Type: campaign.DeviceTablet}}, 1_000, "", official); err != nil {
			b.Fatal(err)
		}
	}
}
