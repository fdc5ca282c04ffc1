package postgres_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// volunteer is the Youth Union volunteer who takes devices in.
var volunteer = campaign.Staff{Channel: "telegram", ExternalID: "7001", Name: "Lê Văn Tâm", Role: campaign.RoleVolunteer}

// official is the city official who records money.
var official = campaign.Staff{Channel: "telegram", ExternalID: "8001", Name: "Phạm Thị Lan", Role: campaign.RoleCityOfficial}

// validPledge returns a complete pledge from chat 3001 with the given key: two used laptops, ten
// SIMs and 5 million đồng, brought to the Fatherland Front.
func validPledge(key string) campaign.Pledge {
	return campaign.Pledge{
		Channel:   "telegram",
		ChatID:    "3001",
		UserID:    "3001",
		Language:  "vi",
		DonorKind: campaign.DonorBusiness,
		DonorName: "Công ty TNHH Ánh Dương",
		// A body names the person the campaign talks to.
		ContactPerson: "Võ Minh Khang",
		Phone:         "+84908765432",
		Items: []campaign.PledgeItem{
			{Kind: campaign.ItemLaptop, Quantity: 2, Used: true, Complete: true},
			{Kind: campaign.ItemSIM4G, Quantity: 10},
			{Kind: campaign.ItemMoney, Amount: 5_000_000},
		},
		Delivery:       campaign.DeliverToFront,
		IdempotencyKey: key,
	}
}

// submitPledge stores p and fails the test on an error.
func submitPledge(t testing.TB, s *postgres.PledgeStore, p campaign.Pledge) campaign.Pledge {
	t.Helper()
	created, err := s.SubmitPledge(t.Context(), &p)
	if err != nil {
		t.Fatalf("SubmitPledge(%s): %v", p.IdempotencyKey, err)
	}
	if !created {
		t.Fatalf("SubmitPledge(%s): created = false, want true", p.IdempotencyKey)
	}
	return p
}

// pledgeStatus returns the stored status of a pledge.
func pledgeStatus(t testing.TB, s *postgres.PledgeStore, code string) campaign.PledgeStatus {
	t.Helper()
	p, err := s.PledgeByCode(t.Context(), code)
	if err != nil {
		t.Fatalf("PledgeByCode(%s): %v", code, err)
	}
	return p.Status
}

func TestPledgeStore_SubmitPledge(t *testing.T) {
	t.Parallel()

	t.Run("issues codes in order and fills the record", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		s := postgres.NewPledgeStore(db)
		first := submitPledge(t, s, validPledge("k1"))
		second := submitPledge(t, s, validPledge("k2"))

		if first.Code != "PL-000001" || second.Code != "PL-000002" {
			t.Errorf("codes %s, %s; want PL-000001, PL-000002", first.Code, second.Code)
		}
		if first.ID == 0 || first.ID == second.ID || first.Status != campaign.PledgeOpen {
			t.Errorf("id %d, %d; status %q", first.ID, second.ID, first.Status)
		}
		if first.CreatedAt.IsZero() || !first.CreatedAt.Equal(first.UpdatedAt) || !first.CreatedAt.Before(second.CreatedAt) {
			t.Errorf("times: first %v/%v, second %v", first.CreatedAt, first.UpdatedAt, second.CreatedAt)
		}
		for _, code := range []string{first.Code, "pl-000001", " PL-000001 "} {
			got, err := s.PledgeByCode(t.Context(), code)
			if err != nil {
				t.Fatalf("PledgeByCode(%q): %v", code, err)
			}
			if !reflect.DeepEqual(got, first) {
				t.Errorf("PledgeByCode(%q) =\n%+v\nwant what SubmitPledge returned\n%+v", code, got, first)
			}
		}
	})

	t.Run("same idempotency key returns the first record", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		s := postgres.NewPledgeStore(db)
		first := submitPledge(t, s, validPledge("same"))

		again := validPledge("same")
		again.DonorName = "Someone Else" // a retry returns what was stored, not what was sent
		again.Items = nil                // even when the retry would now be refused
		created, err := s.SubmitPledge(t.Context(), &again)
		if err != nil {
			t.Fatalf("second SubmitPledge: %v", err)
		}
		if created {
			t.Error("second SubmitPledge: created = true")
		}
		if !reflect.DeepEqual(again, first) {
			t.Errorf("second submit gave\n%+v\nwant\n%+v", again, first)
		}
		if n := countRows(t, db, "pledges"); n != 1 {
			t.Errorf("%d pledges, want 1", n)
		}
		if next := submitPledge(t, s, validPledge("next")); next.Code != "PL-000002" {
			t.Errorf("next code %s, want PL-000002 (a retry uses no number)", next.Code)
		}
	})

	t.Run("concurrent submits of one key make one record", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		s := postgres.NewPledgeStore(db)
		const n = 10
		var wg sync.WaitGroup
		results := make([]campaign.Pledge, n)
		created := make([]bool, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				results[i] = validPledge("racing")
				created[i], errs[i] = s.SubmitPledge(t.Context(), &results[i])
			})
		}
		wg.Wait()
		creators := 0
		for i := range n {
			if errs[i] != nil {
				t.Errorf("submit %d: %v", i, errs[i])
				continue
			}
			if created[i] {
				creators++
			}
			if results[i].Code != "PL-000001" || !reflect.DeepEqual(results[i], results[0]) {
				t.Errorf("submit %d gave %+v, want %+v", i, results[i], results[0])
			}
		}
		if creators != 1 {
			t.Errorf("%d submits created a record, want 1", creators)
		}
		for table, want := range map[string]int{"pledges": 1, "pledge_items": 3, "audit_log": 1} {
			if got := countRows(t, db, table); got != want {
				t.Errorf("%d rows in %s, want %d", got, table, want)
			}
		}
	})

	t.Run("texts are stored in NFC and unused fields cleared", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		s := postgres.NewPledgeStore(db)
		p := validPledge("nfd")
		p.DonorName = norm.NFD.String("  Chùa   Phước Hưng ")
		p.DonorKind = campaign.DonorReligious
		p.ContactPerson = norm.NFD.String("Thích Minh Đức")
		p.Delivery = campaign.DeliverByPickup
		p.PickupAddress = norm.NFD.String("12 Đặng Văn Bi, Trường Thọ")
		// A date held at Vietnam's midnight is still that date.
		p.PickupDate = time.Date(2021, 9, 18, 0, 0, 0, 0, time.FixedZone("ICT", 7*3600))
		p.WardCode = "26803" // left over from an edited answer: a pickup has no ward
		p.Language = ""
		p = submitPledge(t, s, p)

		got, err := s.PledgeByCode(t.Context(), p.Code)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []struct{ name, got, want string }{
			{"donor name", got.DonorName, "Chùa Phước Hưng"},
			{"contact person", got.ContactPerson, "Thích Minh Đức"},
			{"pickup address", got.PickupAddress, "12 Đặng Văn Bi, Trường Thọ"},
		} {
			if f.got != norm.NFC.String(f.want) || !norm.NFC.IsNormalString(f.got) {
				t.Errorf("%s = %q, want NFC %q", f.name, f.got, f.want)
			}
		}
		if want := time.Date(2021, 9, 18, 0, 0, 0, 0, time.UTC); !got.PickupDate.Equal(want) {
			t.Errorf("PickupDate = %v, want %v", got.PickupDate, want)
		}
		if got.WardCode != "" || got.Language != "vi" {
			t.Errorf("WardCode %q, Language %q; want none and vi", got.WardCode, got.Language)
		}
		if !reflect.DeepEqual(got, p) {
			t.Errorf("stored\n%+v\nreturned\n%+v", got, p)
		}
	})

	t.Run("audit row and contact", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		s := postgres.NewPledgeStore(db)
		p := submitPledge(t, s, validPledge("audited"))

		entries, err := postgres.NewAuditLog(db).Entries(t.Context(), p.Code)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			t.Fatalf("%d audit entries, want 1", len(entries))
		}
		e := entries[0]
		if e.Actor != campaign.DonorActor || e.Action != "pledge.create" || !e.At.Equal(p.CreatedAt) {
			t.Errorf("entry %+v", e)
		}
		var after map[string]any
		if err := json.Unmarshal(e.After.(json.RawMessage), &after); err != nil {
			t.Fatal(err)
		}
		if after["code"] != p.Code || after["donor_kind"] != "business" || after["status"] != "pledged" {
			t.Errorf("After = %v", after)
		}
		raw := string(e.After.(json.RawMessage))
		for _, secret := range []string{p.DonorName, p.ContactPerson, p.Phone} {
			if strings.Contains(raw, secret) {
				t.Errorf("audit row holds %q", secret)
			}
		}
		c, err := postgres.NewContactStore(db).Contact(t.Context(), "telegram", "3001")
		if err != nil || c.Name != p.ContactPerson || c.Language != "vi" {
			t.Errorf("contact %+v, %v; want %s", c, err, p.ContactPerson)
		}
	})

	t.Run("invalid input stores nothing", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		s := postgres.NewPledgeStore(db)
		item := func(it campaign.PledgeItem) func(*campaign.Pledge) {
			return func(p *campaign.Pledge) { p.Items = []campaign.PledgeItem{it} }
		}
		for _, tc := range []struct {
			name   string
			change func(*campaign.Pledge)
		}{
			{"no items", func(p *campaign.Pledge) { p.Items = nil }},
			{"no donor name", func(p *campaign.Pledge) { p.DonorName = "  " }},
			{"no phone", func(p *campaign.Pledge) { p.Phone = "" }},
			{"phone not E.164", func(p *campaign.Pledge) { p.Phone = "0908 765 432" }},
			{"unknown donor kind", func(p *campaign.Pledge) { p.DonorKind = "government" }},
			{"no chat", func(p *campaign.Pledge) { p.ChatID = "" }},
			{"no idempotency key", func(p *campaign.Pledge) { p.IdempotencyKey = "" }},
			{"donor name too long", func(p *campaign.Pledge) { p.DonorName = strings.Repeat("A", 101) }},
			{"unknown kind", item(campaign.PledgeItem{Kind: "car", Quantity: 1})},
			{"no laptops", item(campaign.PledgeItem{Kind: campaign.ItemLaptop})},
			{"1001 tablets", item(campaign.PledgeItem{Kind: campaign.ItemTablet, Quantity: 1001})},
			{"negative smartphones", item(campaign.PledgeItem{Kind: campaign.ItemSmartphone, Quantity: -1})},
			{"laptop with an amount", item(campaign.PledgeItem{Kind: campaign.ItemLaptop, Quantity: 1, Amount: 100})},
			{"no SIMs", item(campaign.PledgeItem{Kind: campaign.ItemSIM4G})},
			{"100001 USB Wi-Fi", item(campaign.PledgeItem{Kind: campaign.ItemUSBWiFi, Quantity: 100_001})},
			{"SIM with months", item(campaign.PledgeItem{Kind: campaign.ItemSIM4G, Quantity: 5, Months: 6})},
			{"package without months", item(campaign.PledgeItem{Kind: campaign.ItemInternetPackage, Quantity: 5})},
			{"package of 37 months", item(campaign.PledgeItem{Kind: campaign.ItemInternetPackage, Quantity: 5, Months: 37})},
			{"no money", item(campaign.PledgeItem{Kind: campaign.ItemMoney})},
			{"negative money", item(campaign.PledgeItem{Kind: campaign.ItemMoney, Amount: -5})},
			{"money over 1e12", item(campaign.PledgeItem{Kind: campaign.ItemMoney, Amount: 1_000_000_000_001})},
			{"money with a quantity", item(campaign.PledgeItem{Kind: campaign.ItemMoney, Quantity: 2, Amount: 1000})},
			{"51 items", func(p *campaign.Pledge) {
				p.Items = nil
				for range 51 {
					p.Items = append(p.Items, campaign.PledgeItem{Kind: campaign.ItemTablet, Quantity: 1})
				}
			}},
			{"unknown delivery", func(p *campaign.Pledge) { p.Delivery = "drone" }},
			{"ward delivery without ward", func(p *campaign.Pledge) { p.Delivery = campaign.DeliverToWard }},
			{"pickup without address", func(p *campaign.Pledge) {
				p.Delivery, p.PickupDate = campaign.DeliverByPickup, time.Date(2021, 9, 20, 0, 0, 0, 0, time.UTC)
			}},
			{"pickup without date", func(p *campaign.Pledge) {
				p.Delivery, p.PickupAddress = campaign.DeliverByPickup, "1 Võ Văn Ngân"
			}},
			{"pickup in the past", func(p *campaign.Pledge) {
				p.Delivery, p.PickupAddress = campaign.DeliverByPickup, "1 Võ Văn Ngân"
				p.PickupDate = time.Date(2021, 9, 14, 0, 0, 0, 0, time.UTC)
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := validPledge("invalid " + tc.name)
				tc.change(&p)
				created, err := s.SubmitPledge(t.Context(), &p)
				if code := campaign.ErrorCode(err); code != campaign.EINVALID {
					t.Errorf("SubmitPledge: error %v (code %q), want %q", err, code, campaign.EINVALID)
				}
				if created || p.Code != "" {
					t.Errorf("created %v, code %q", created, p.Code)
				}
			})
		}
		for _, table := range []string{"pledges", "pledge_items", "audit_log", "contacts"} {
			if n := countRows(t, db, table); n != 0 {
				t.Errorf("%d rows in %s, want 0", n, table)
			}
		}
		if p := submitPledge(t, s, validPledge("valid at last")); p.Code != "PL-000001" {
			t.Errorf("first valid code %q, want PL-000001", p.Code)
		}
	})

	t.Run("valid variants", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		s := postgres.NewPledgeStore(db)
		for _, tc := range []struct {
			name   string
			change func(*campaign.Pledge)
		}{
			{"ward delivery with any ward code", func(p *campaign.Pledge) { p.Delivery, p.WardCode = campaign.DeliverToWard, "26800" }},
			{"pickup today", func(p *campaign.Pledge) {
				p.Delivery, p.PickupAddress, p.PickupDate = campaign.DeliverByPickup, "1 Võ Văn Ngân", campaignDay()
			}},
			{"individual without contact person", func(p *campaign.Pledge) {
				p.DonorKind, p.ContactPerson, p.Anonymous = campaign.DonorIndividual, "", true
			}},
			{"largest quantities", func(p *campaign.Pledge) {
				p.Items = []campaign.PledgeItem{
					{Kind: campaign.ItemDesktop, Quantity: 1000},
					{Kind: campaign.ItemUSBWiFi, Quantity: 100_000},
					{Kind: campaign.ItemInternetPackage, Quantity: 100_000, Months: 36},
					{Kind: campaign.ItemMoney, Amount: 1_000_000_000_000},
				}
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := validPledge(tc.name)
				tc.change(&p)
				p = submitPledge(t, s, p)
				got, err := s.PledgeByCode(t.Context(), p.Code)
				if err != nil || !reflect.DeepEqual(got, p) {
					t.Errorf("PledgeByCode = %+v, %v; want %+v", got, err, p)
				}
			})
		}
	})
}

func TestPledgeStore_PledgeByCode(t *testing.T) {
	t.Parallel()
	s := postgres.NewPledgeStore(newDB(t))
	_, err := s.PledgeByCode(t.Context(), "PL-999999")
	if code := campaign.ErrorCode(err); code != campaign.ENOTFOUND {
		t.Errorf("PledgeByCode of a missing code: %v (code %q), want %q", err, code, campaign.ENOTFOUND)
	}
}

func TestPledgeStore_PledgesByChat(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	ctx := t.Context()
	pledges := postgres.NewPledgeStore(db)
	devices := postgres.NewDeviceStore(db)
	money := postgres.NewMoneyStore(db)
	registrations := postgres.NewRegistrationStore(db, campaign.Default())

	first := submitPledge(t, pledges, validPledge("first"))
	second := validPledge("second")
	second.Items = []campaign.PledgeItem{{Kind: campaign.ItemTablet, Quantity: 3}, {Kind: campaign.ItemInternetPackage, Quantity: 50, Months: 6}}
	second = submitPledge(t, pledges, second)
	other := validPledge("other chat")
	other.ChatID, other.UserID = "4004", "4004"
	other = submitPledge(t, pledges, other)

	// The first pledge: one laptop ready, one delivered to a registered child; six of its SIMs;
	// 5 million received, a tablet bought with it; the other chat's pledge gets a laptop too.
	intake(t, devices, campaign.Device{Type: campaign.DeviceLaptop, State: campaign.DeviceReady, PledgeCode: first.Code})
	delivered := intake(t, devices, campaign.Device{Type: campaign.DeviceLaptop, State: campaign.DeviceReady, PledgeCode: first.Code})
	reg := submit(t, registrations, validRegistration("child"))
	move(t, devices, delivered.Label, campaign.DeviceAllocated)
	if _, err := db.SQLX().Exec(`UPDATE devices SET allocated_registration_id = $1 WHERE label = $2`, reg.ID, delivered.Label); err != nil {
		t.Fatal(err)
	}
	move(t, devices, delivered.Label, campaign.DeviceDelivered)
	if err := devices.ReceiveStock(ctx, first.Code, campaign.ItemSIM4G, 4, 0, "", volunteer, nil); err != nil {
		t.Fatal(err)
	}
	if err := devices.ReceiveStock(ctx, first.Code, campaign.ItemSIM4G, 2, 0, "", volunteer, nil); err != nil {
		t.Fatal(err)
	}
	m, err := money.RecordMoney(ctx, first.Code, 5_000_000, "", "", official, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := money.RecordPurchase(ctx, m.ID, []campaign.Device{{Type: campaign.DeviceTablet}}, 3_500_000, "", official); err != nil {
		t.Fatal(err)
	}
	// The second pledge: one tablet needing parts, 20 packages; walk-in gifts count for no pledge.
	intake(t, devices, campaign.Device{Type: campaign.DeviceTablet, State: campaign.DeviceNeedsParts, PledgeCode: second.Code})
	if err := devices.ReceiveStock(ctx, second.Code, campaign.ItemInternetPackage, 20, 6, "", volunteer, nil); err != nil {
		t.Fatal(err)
	}
	intake(t, devices, campaign.Device{Type: campaign.DeviceTablet, State: campaign.DeviceReady})
	if err := devices.ReceiveStock(ctx, "", campaign.ItemSIM4G, 100, 0, "", volunteer, nil); err != nil {
		t.Fatal(err)
	}
	intake(t, devices, campaign.Device{Type: campaign.DeviceLaptop, State: campaign.DeviceUnusable, PledgeCode: other.Code})
	// Statuses changed since the pledges were read.
	first.Status, first.UpdatedAt = refreshed(t, pledges, first.Code)
	second.Status, second.UpdatedAt = refreshed(t, pledges, second.Code)
	other.Status, other.UpdatedAt = refreshed(t, pledges, other.Code)

	for _, tc := range []struct {
		name            string
		channel, chatID string
		want            []campaign.PledgeProgress
	}{
		{"newest first with progress", "telegram", "3001", []campaign.PledgeProgress{
			{
				Pledge:        second,
				Devices:       map[campaign.DeviceState]int{campaign.DeviceNeedsParts: 1},
				StockReceived: map[campaign.ItemKind]int{campaign.ItemInternetPackage: 20},
			},
			{
				Pledge:        first,
				Devices:       map[campaign.DeviceState]int{campaign.DeviceReady: 1, campaign.DeviceDelivered: 1, campaign.DeviceReceived: 1},
				StockReceived: map[campaign.ItemKind]int{campaign.ItemSIM4G: 6},
				MoneyReceived: 5_000_000,
				Delivered:     []campaign.DeliveredCount{{Level: campaign.LevelPrimary, WardCode: "26800", Count: 1}},
			},
		}},
		{"other chat", "telegram", "4004", []campaign.PledgeProgress{{
			Pledge:        other,
			Devices:       map[campaign.DeviceState]int{campaign.DeviceUnusable: 1},
			StockReceived: map[campaign.ItemKind]int{},
		}}},
		{"same id on another channel", "zalo", "3001", nil},
		{"unknown chat", "telegram", "9999", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pledges.PledgesByChat(ctx, tc.channel, tc.chatID)
			if err != nil {
				t.Fatalf("PledgesByChat: %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d pledges, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if !reflect.DeepEqual(got[i], tc.want[i]) {
					t.Errorf("pledge %d =\n%+v\nwant\n%+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// refreshed returns a pledge's stored status and update time.
func refreshed(t testing.TB, s *postgres.PledgeStore, code string) (campaign.PledgeStatus, time.Time) {
	t.Helper()
	p, err := s.PledgeByCode(t.Context(), code)
	if err != nil {
		t.Fatal(err)
	}
	return p.Status, p.UpdatedAt
}

func BenchmarkPledgeStore_PledgesByChat(b *testing.B) {
	db := newDB(b)
	pledges := postgres.NewPledgeStore(db)
	devices := postgres.NewDeviceStore(db)
	for i := range 20 {
		p := validPledge(fmt.Sprintf("bench-%d", i))
		p.Items[0].Quantity = 5
		p = submitPledge(b, pledges, p)
		for range 5 {
			intake(b, devices, campaign.Device{Type: campaign.DeviceLaptop, State: campaign.DeviceReady, PledgeCode: p.Code})
		}
	}
	for b.Loop() {
		if _, err := pledges.PledgesByChat(b.Context(), "telegram", "3001"); err != nil {
			b.Fatal(err)
		}
	}
}
