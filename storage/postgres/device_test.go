package postgres_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// intake takes d in by the volunteer and fails the test on an error.
func intake(t testing.TB, s *postgres.DeviceStore, d campaign.Device) campaign.Device {
	t.Helper()
	if err := s.IntakeDevice(t.Context(), &d, volunteer, nil); err != nil {
		t.Fatalf("IntakeDevice(%s from %q): %v", d.Type, d.PledgeCode, err)
	}
	return d
}

// move moves a device by the volunteer and fails the test on an error.
func move(t testing.TB, s *postgres.DeviceStore, label string, next campaign.DeviceState) campaign.Device {
	t.Helper()
	d, err := s.MoveDevice(t.Context(), label, next, volunteer, "", nil)
	if err != nil {
		t.Fatalf("MoveDevice(%s, %s): %v", label, next, err)
	}
	return d
}

// event is a row of device_events.
type event struct {
	Actor string `db:"actor"`
	From  string `db:"from_state"`
	To    string `db:"to_state"`
	Note  string `db:"note"`
}

// history returns a device's events, oldest first.
func history(t testing.TB, db *postgres.DB, label string) []event {
	t.Helper()
	var events []event
	err := db.SQLX().Select(&events, `
		SELECT e.actor, coalesce(e.from_state, '') AS from_state, e.to_state, e.note
		FROM device_events e JOIN devices d ON d.id = e.device_id WHERE d.label = $1 ORDER BY e.id`, label)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// allChecksPassed returns the checklist of a device type, all passed.
func allChecksPassed(dt campaign.DeviceType) map[campaign.CheckItem]bool {
	checks := map[campaign.CheckItem]bool{}
	for _, item := range campaign.Checklist(dt) {
		checks[item] = true
	}
	return checks
}

func TestDeviceStore_IntakeDevice(t *testing.T) {
	t.Parallel()

	t.Run("from a pledge, checked and ready", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		pledges, devices := postgres.NewPledgeStore(db), postgres.NewDeviceStore(db)
		p := submitPledge(t, pledges, validPledge("pledge"))

		d := campaign.Device{
			Type: campaign.DeviceLaptop, State: campaign.DeviceReady, PledgeCode: strings.ToLower(p.Code),
			Brand: "Dell", Model: norm.NFD.String("Latitude  E7450 (đã qua sử dụng)"), Serial: "5CG7281XYZ",
			Used: true, Checks: allChecksPassed(campaign.DeviceLaptop), Wiped: true, Cleaned: true,
			PartsAdded: "sạc 65W", SoftwareLevel: campaign.LevelLowerSecondary, Note: "pin còn 80%",
			CheckedBy: "someone else", // the volunteer taking it in is who checked it
		}
		if err := devices.IntakeDevice(t.Context(), &d, volunteer, nil); err != nil {
			t.Fatalf("IntakeDevice: %v", err)
		}
		if d.Label != "TB-000001" || d.ID == 0 || d.PledgeCode != p.Code || d.CheckedBy != "telegram:7001" {
			t.Errorf("device %+v", d)
		}
		if d.Model != "Latitude E7450 (đã qua sử dụng)" || d.CreatedAt.IsZero() || !d.CreatedAt.Equal(d.UpdatedAt) {
			t.Errorf("model %q, times %v/%v", d.Model, d.CreatedAt, d.UpdatedAt)
		}
		for _, label := range []string{d.Label, "tb-000001"} {
			got, err := devices.DeviceByLabel(t.Context(), label)
			if err != nil || !reflect.DeepEqual(got, d) {
				t.Errorf("DeviceByLabel(%s) =\n%+v, %v\nwant\n%+v", label, got, err, d)
			}
		}
		want := []event{
			{"telegram:7001", "", "received", ""},
			{"telegram:7001", "received", "checking", ""},
			{"telegram:7001", "checking", "ready", "pin còn 80%"},
		}
		if got := history(t, db, d.Label); !reflect.DeepEqual(got, want) {
			t.Errorf("history %v, want %v", got, want)
		}
		if got := pledgeStatus(t, pledges, p.Code); got != campaign.PledgePartly {
			t.Errorf("pledge status %s, want partly", got)
		}
		entries, err := postgres.NewAuditLog(db).Entries(t.Context(), d.Label)
		if err != nil || len(entries) != 1 || entries[0].Action != "device.intake" || entries[0].Actor != "telegram:7001" {
			t.Fatalf("audit entries %+v, %v", entries, err)
		}
		var after map[string]any
		if err := json.Unmarshal(entries[0].After.(json.RawMessage), &after); err != nil {
			t.Fatal(err)
		}
		if after["pledge"] != p.Code || after["pledge_status"] != "partly" || after["state"] != "ready" {
			t.Errorf("audit after %v", after)
		}
	})

	t.Run("beyond the pledged quantity refused", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		pledges, devices := postgres.NewPledgeStore(db), postgres.NewDeviceStore(db)
		p := submitPledge(t, pledges, validPledge("two laptops"))
		for range 2 {
			intake(t, devices, campaign.Device{Type: campaign.DeviceLaptop, State: campaign.DeviceNeedsParts, PledgeCode: p.Code})
		}
		third := campaign.Device{Type: campaign.DeviceLaptop, State: campaign.DeviceReady, PledgeCode: p.Code}
		err := devices.IntakeDevice(t.Context(), &third, volunteer, nil)
		if campaign.ErrorCode(err) != campaign.EINVALID || !strings.Contains(err.Error(), "pledge PL-000001 has no more laptops to receive") {
			t.Errorf("third laptop: %v", err)
		}
		if third.Label != "" || countRows(t, db, "devices") != 2 || countRows(t, db, "device_events") != 6 {
			t.Errorf("label %q; %d devices, %d events; want none written", third.Label,
				countRows(t, db, "devices"), countRows(t, db, "device_events"))
		}
		// The same laptop taken in as a walk-in gift is welcome.
		third.PledgeCode = ""
		if third = intake(t, devices, third); third.Label != "TB-000003" {
			t.Errorf("walk-in label %s, want TB-000003", third.Label)
		}
	})

	t.Run("concurrent intakes never exceed the pledge", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		pledges, devices := postgres.NewPledgeStore(db), postgres.NewDeviceStore(db)
		p := submitPledge(t, pledges, validPledge("two laptops, five volunteers"))
		const n = 5
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				d := campaign.Device{Type: campaign.DeviceLaptop, State: campaign.DeviceReady, PledgeCode: p.Code}
				errs[i] = devices.IntakeDevice(t.Context(), &d, volunteer, nil)
			})
		}
		wg.Wait()
		taken := 0
		for i, err := range errs {
			switch campaign.ErrorCode(err) {
			case "":
				taken++
			case campaign.EINVALID:
			default:
				t.Errorf("intake %d: %v", i, err)
			}
		}
		if taken != 2 || countRows(t, db, "devices") != 2 {
			t.Errorf("%d intakes succeeded, %d devices; want 2", taken, countRows(t, db, "devices"))
		}
	})

	t.Run("walk-in gift", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		devices := postgres.NewDeviceStore(db)
		d := intake(t, devices, campaign.Device{Type: campaign.DeviceSmartphone, State: campaign.DeviceUnusable, Note: "màn hình vỡ"})
		if d.PledgeCode != "" || d.MoneyID != 0 || d.Checks != nil {
			t.Errorf("device %+v", d)
		}
		got, err := devices.DeviceByLabel(t.Context(), d.Label)
		if err != nil || !reflect.DeepEqual(got, d) {
			t.Errorf("DeviceByLabel = %+v, %v; want %+v", got, err, d)
		}
		if h := history(t, db, d.Label); len(h) != 3 || h[2].To != "unusable" {
			t.Errorf("history %v", h)
		}
	})

	t.Run("invalid intake writes nothing", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		pledges, devices := postgres.NewPledgeStore(db), postgres.NewDeviceStore(db)
		p := submitPledge(t, pledges, validPledge("pledge"))
		cancelled := submitPledge(t, pledges, validPledge("cancelled"))
		if _, err := db.SQLX().Exec(`UPDATE pledges SET status = 'cancelled' WHERE code = $1`, cancelled.Code); err != nil {
			t.Fatal(err)
		}
		laptop := func(change func(*campaign.Device)) campaign.Device {
			d := campaign.Device{Type: campaign.DeviceLaptop, State: campaign.DeviceReady, PledgeCode: p.Code}
			change(&d)
			return d
		}
		for _, tc := range []struct {
			name string
			d    campaign.Device
			by   campaign.Staff
		}{
			{"unknown type", laptop(func(d *campaign.Device) { d.Type = "phablet" }), volunteer},
			{"state received", laptop(func(d *campaign.Device) { d.State = campaign.DeviceReceived }), volunteer},
			{"state allocated", laptop(func(d *campaign.Device) { d.State = campaign.DeviceAllocated }), volunteer},
			{"no state", laptop(func(d *campaign.Device) { d.State = "" }), volunteer},
			{"unknown pledge", laptop(func(d *campaign.Device) { d.PledgeCode = "PL-999999" }), volunteer},
			{"cancelled pledge", laptop(func(d *campaign.Device) { d.PledgeCode = cancelled.Code }), volunteer},
			{"type not pledged", laptop(func(d *campaign.Device) { d.Type = campaign.DeviceTablet }), volunteer},
			{"bought with money", laptop(func(d *campaign.Device) { d.MoneyID = 1 }), volunteer},
			{"keyboard check on a laptop", laptop(func(d *campaign.Device) {
				d.Checks = map[campaign.CheckItem]bool{campaign.CheckKeyboardMouse: true}
			}), volunteer},
			{"unknown software level", laptop(func(d *campaign.Device) { d.SoftwareLevel = "university" }), volunteer},
			{"serial too long", laptop(func(d *campaign.Device) { d.Serial = strings.Repeat("9", 101) }), volunteer},
			{"nobody taking it in", laptop(func(*campaign.Device) {}), campaign.Staff{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				d := tc.d
				err := devices.IntakeDevice(t.Context(), &d, tc.by, nil)
				if code := campaign.ErrorCode(err); code != campaign.EINVALID {
					t.Errorf("IntakeDevice: %v (code %q), want %q", err, code, campaign.EINVALID)
				}
				if d.Label != "" {
					t.Errorf("label %q", d.Label)
				}
			})
		}
		for _, table := range []string{"devices", "device_events"} {
			if n := countRows(t, db, table); n != 0 {
				t.Errorf("%d rows in %s, want 0", n, table)
			}
		}
		if got := pledgeStatus(t, pledges, p.Code); got != campaign.PledgeOpen {
			t.Errorf("pledge status %s, want pledged", got)
		}
	})
}

func TestDeviceStore_IntakeDevice_idempotencyKey(t *testing.T) {
	t.Parallel()

	// laptop is a checked, ready laptop from code with the given key.
	laptop := func(code, key string) campaign.Device {
		return campaign.Device{
			Type: campaign.DeviceLaptop, State: campaign.DeviceReady, PledgeCode: code, Brand: "Dell",
			Checks: allChecksPassed(campaign.DeviceLaptop), Wiped: true, IdempotencyKey: key,
		}
	}

	t.Run("same key returns the first device and writes nothing", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		pledges, devices := postgres.NewPledgeStore(db), postgres.NewDeviceStore(db)
		p := submitPledge(t, pledges, validPledge("two laptops"))
		first := intake(t, devices, laptop(p.Code, "intake-1"))
		if first.IdempotencyKey != "intake-1" {
			t.Errorf("key %q, want intake-1", first.IdempotencyKey)
		}
		second := intake(t, devices, laptop(p.Code, "intake-2")) // the pledge's last laptop
		counts := map[string]int{}
		for _, table := range []string{"devices", "device_events", "audit_log"} {
			counts[table] = countRows(t, db, table)
		}
		status := pledgeStatus(t, pledges, p.Code)

		// Run again, as the dispatcher does after a lost save: the pledge has no laptop left, and
		// what is sent differs, yet the first device comes back.
		again := laptop(p.Code, "intake-1")
		again.Brand = "Lenovo"
		if err := devices.IntakeDevice(t.Context(), &again, volunteer, nil); err != nil {
			t.Fatalf("IntakeDevice again: %v", err)
		}
		if !reflect.DeepEqual(again, first) {
			t.Errorf("again =\n%+v\nwant the first\n%+v", again, first)
		}
		for table, want := range counts {
			if got := countRows(t, db, table); got != want {
				t.Errorf("%d rows in %s, want %d", got, table, want)
			}
		}
		if got := pledgeStatus(t, pledges, p.Code); got != status {
			t.Errorf("pledge status %s, want %s", got, status)
		}
		if got, err := devices.DeviceByLabel(t.Context(), second.Label); err != nil || got.IdempotencyKey != "intake-2" {
			t.Errorf("DeviceByLabel(%s) = %+v, %v", second.Label, got, err)
		}
		// A repeat uses no label number.
		if next := intake(t, devices, laptop("", "intake-3")); next.Label != "TB-000003" {
			t.Errorf("next label %s, want TB-000003", next.Label)
		}
	})

	t.Run("concurrent intakes of one key make one device", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		pledges, devices := postgres.NewPledgeStore(db), postgres.NewDeviceStore(db)
		p := submitPledge(t, pledges, validPledge("racing"))
		const n = 10
		var wg sync.WaitGroup
		results := make([]campaign.Device, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				results[i] = laptop(p.Code, "racing")
				errs[i] = devices.IntakeDevice(t.Context(), &results[i], volunteer, nil)
			})
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("intake %d: %v", i, errs[i])
			}
			if !reflect.DeepEqual(results[i], results[0]) {
				t.Errorf("intake %d gave\n%+v\nintake 0 gave\n%+v", i, results[i], results[0])
			}
		}
		for table, want := range map[string]int{"devices": 1, "device_events": 3, "audit_log": 2} { // pledge.create, device.intake
			if got := countRows(t, db, table); got != want {
				t.Errorf("%d rows in %s, want %d", got, table, want)
			}
		}
		if got := pledgeStatus(t, pledges, p.Code); got != campaign.PledgePartly {
			t.Errorf("pledge status %s, want partly", got)
		}
	})

	t.Run("different keys, or none, make separate devices", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		devices := postgres.NewDeviceStore(db)
		a := intake(t, devices, laptop("", "a"))
		b := intake(t, devices, laptop("", "b"))
		c := intake(t, devices, laptop("", ""))
		d := intake(t, devices, laptop("", ""))
		labels := []string{a.Label, b.Label, c.Label, d.Label}
		if want := []string{"TB-000001", "TB-000002", "TB-000003", "TB-000004"}; !reflect.DeepEqual(labels, want) {
			t.Errorf("labels %v, want %v", labels, want)
		}
		if c.IdempotencyKey != "" || countRows(t, db, "devices") != 4 {
			t.Errorf("key %q, %d devices; want none and 4", c.IdempotencyKey, countRows(t, db, "devices"))
		}
	})

	t.Run("key too long refused", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		d := laptop("", strings.Repeat("k", 201))
		if err := postgres.NewDeviceStore(db).IntakeDevice(t.Context(), &d, volunteer, nil); campaign.ErrorCode(err) != campaign.EINVALID {
			t.Errorf("IntakeDevice: %v, want EINVALID", err)
		}
	})
}

func TestDeviceStore_MoveDevice(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	devices := postgres.NewDeviceStore(db)

	// Every pair of states: the ones campaign allows by hand move and are written down, the
	// others (delivered back to allocated too, which only the delivery's "not received" does)
	// are refused and change nothing.
	for _, from := range campaign.DeviceStates {
		for _, to := range campaign.DeviceStates {
			allowed := from.CanMoveByHand(to)
			t.Run(fmt.Sprintf("%s to %s", from, to), func(t *testing.T) {
				d := intake(t, devices, campaign.Device{Type: campaign.DeviceTablet, State: campaign.DeviceReady})
				if _, err := db.SQLX().Exec(`UPDATE devices SET state = $1 WHERE id = $2`, from, d.ID); err != nil {
					t.Fatal(err)
				}
				before := history(t, db, d.Label)

				got, err := devices.MoveDevice(t.Context(), d.Label, to, volunteer, "ghi chú", nil)
				after := history(t, db, d.Label)
				stored, serr := devices.DeviceByLabel(t.Context(), d.Label)
				if serr != nil {
					t.Fatal(serr)
				}
				if !allowed {
					if code := campaign.ErrorCode(err); code != campaign.EINVALID {
						t.Errorf("MoveDevice: %v (code %q), want %q", err, code, campaign.EINVALID)
					}
					if stored.State != from || !stored.UpdatedAt.Equal(d.UpdatedAt) || len(after) != len(before) {
						t.Errorf("refused move changed the device: state %s, %d events (was %d)", stored.State, len(after), len(before))
					}
					return
				}
				if err != nil {
					t.Fatalf("MoveDevice: %v", err)
				}
				if got.State != to || !reflect.DeepEqual(got, stored) || !got.UpdatedAt.After(d.UpdatedAt) {
					t.Errorf("MoveDevice =\n%+v\nstored\n%+v", got, stored)
				}
				want := event{"telegram:7001", string(from), string(to), "ghi chú"}
				if len(after) != len(before)+1 || after[len(after)-1] != want {
					t.Errorf("history %v, want one more event %v", after, want)
				}
				entries, err := postgres.NewAuditLog(db).Entries(t.Context(), d.Label)
				if err != nil || len(entries) != 2 || entries[1].Action != "device.move" {
					t.Errorf("audit entries %+v, %v", entries, err)
				}
			})
		}
	}

	t.Run("unknown device", func(t *testing.T) {
		_, err := devices.MoveDevice(t.Context(), "TB-999999", campaign.DeviceChecking, volunteer, "", nil)
		if code := campaign.ErrorCode(err); code != campaign.ENOTFOUND {
			t.Errorf("MoveDevice: %v (code %q), want %q", err, code, campaign.ENOTFOUND)
		}
	})

	t.Run("unknown state", func(t *testing.T) {
		d := intake(t, devices, campaign.Device{Type: campaign.DeviceTablet, State: campaign.DeviceReady})
		_, err := devices.MoveDevice(t.Context(), d.Label, "lost", volunteer, "", nil)
		if code := campaign.ErrorCode(err); code != campaign.EINVALID {
			t.Errorf("MoveDevice: %v (code %q), want %q", err, code, campaign.EINVALID)
		}
	})

	t.Run("a cancelled delivery loses its allocation", func(t *testing.T) {
		d := intake(t, devices, campaign.Device{Type: campaign.DeviceTablet, State: campaign.DeviceReady})
		reg := submit(t, postgres.NewRegistrationStore(db, campaign.Default()), validRegistration("cancelled delivery"))
		move(t, devices, d.Label, campaign.DeviceAllocated)
		if _, err := db.SQLX().Exec(`UPDATE devices SET allocated_registration_id = $1 WHERE id = $2`, reg.ID, d.ID); err != nil {
			t.Fatal(err)
		}
		move(t, devices, d.Label, campaign.DeviceReady)
		var allocated *int64
		if err := db.SQLX().Get(&allocated, `SELECT allocated_registration_id FROM devices WHERE id = $1`, d.ID); err != nil {
			t.Fatal(err)
		}
		if allocated != nil {
			t.Errorf("allocated_registration_id = %d, want NULL", *allocated)
		}
	})
}

func TestDeviceStore_DeviceByLabel(t *testing.T) {
	t.Parallel()
	devices := postgres.NewDeviceStore(newDB(t))
	_, err := devices.DeviceByLabel(t.Context(), "TB-999999")
	if code := campaign.ErrorCode(err); code != campaign.ENOTFOUND {
		t.Errorf("DeviceByLabel: %v (code %q), want %q", err, code, campaign.ENOTFOUND)
	}
}

func TestDeviceStore_DevicesCheckedBy(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	devices := postgres.NewDeviceStore(db)
	var mine []campaign.Device
	for range 3 {
		mine = append(mine, intake(t, devices, campaign.Device{Type: campaign.DeviceDesktop, State: campaign.DeviceReady}))
	}
	colleague := campaign.Staff{Channel: "telegram", ExternalID: "7002", Role: campaign.RoleVolunteer}
	theirs := campaign.Device{Type: campaign.DeviceLaptop, State: campaign.DeviceReady}
	if err := devices.IntakeDevice(t.Context(), &theirs, colleague, nil); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name  string
		by    campaign.Staff
		limit int
		want  []campaign.Device
	}{
		{"newest first", volunteer, 10, []campaign.Device{mine[2], mine[1], mine[0]}},
		{"limited", volunteer, 2, []campaign.Device{mine[2], mine[1]}},
		{"default limit", volunteer, 0, []campaign.Device{mine[2], mine[1], mine[0]}},
		{"a colleague's", colleague, 10, []campaign.Device{theirs}},
		{"someone who took none in", official, 10, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := devices.DevicesCheckedBy(t.Context(), tc.by, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d devices, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if !reflect.DeepEqual(got[i], tc.want[i]) {
					t.Errorf("device %d =\n%+v\nwant\n%+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestDeviceStore_ReceiveStock(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	pledges, devices := postgres.NewPledgeStore(db), postgres.NewDeviceStore(db)
	p := validPledge("stock")
	p.Items = []campaign.PledgeItem{{Kind: campaign.ItemSIM4G, Quantity: 10}, {Kind: campaign.ItemInternetPackage, Quantity: 5, Months: 12}}
	p = submitPledge(t, pledges, p)

	for _, tc := range []struct {
		name       string
		pledge     string
		kind       campaign.ItemKind
		quantity   int
		months     int
		wantErr    string
		wantStatus campaign.PledgeStatus
	}{
		{"laptops are not stock", p.Code, campaign.ItemLaptop, 1, 0, campaign.EINVALID, campaign.PledgeOpen},
		{"money is not stock", p.Code, campaign.ItemMoney, 1, 0, campaign.EINVALID, campaign.PledgeOpen},
		{"no quantity", p.Code, campaign.ItemSIM4G, 0, 0, campaign.EINVALID, campaign.PledgeOpen},
		{"package without months", p.Code, campaign.ItemInternetPackage, 1, 0, campaign.EINVALID, campaign.PledgeOpen},
		{"SIM with months", p.Code, campaign.ItemSIM4G, 1, 3, campaign.EINVALID, campaign.PledgeOpen},
		{"kind not pledged", p.Code, campaign.ItemUSBWiFi, 1, 0, campaign.EINVALID, campaign.PledgeOpen},
		{"unknown pledge", "PL-999999", campaign.ItemSIM4G, 1, 0, campaign.EINVALID, campaign.PledgeOpen},
		{"more than pledged", p.Code, campaign.ItemSIM4G, 11, 0, campaign.EINVALID, campaign.PledgeOpen},
		{"some SIMs", p.Code, campaign.ItemSIM4G, 4, 0, "", campaign.PledgePartly},
		{"the rest of the SIMs", strings.ToLower(p.Code), campaign.ItemSIM4G, 6, 0, "", campaign.PledgePartly},
		{"one SIM too many", p.Code, campaign.ItemSIM4G, 1, 0, campaign.EINVALID, campaign.PledgePartly},
		{"the packages", p.Code, campaign.ItemInternetPackage, 5, 12, "", campaign.PledgeReceived},
		{"a walk-in gift", "", campaign.ItemUSBWiFi, 30, 0, "", campaign.PledgeReceived},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := countRows(t, db, "stock")
			err := devices.ReceiveStock(t.Context(), tc.pledge, tc.kind, tc.quantity, tc.months, "", volunteer, nil)
			if code := campaign.ErrorCode(err); code != tc.wantErr {
				t.Errorf("ReceiveStock: %v (code %q), want %q", err, code, tc.wantErr)
			}
			want := before
			if tc.wantErr == "" {
				want++
			}
			if got := countRows(t, db, "stock"); got != want {
				t.Errorf("%d stock rows, want %d", got, want)
			}
			if got := pledgeStatus(t, pledges, p.Code); got != tc.wantStatus {
				t.Errorf("pledge status %s, want %s", got, tc.wantStatus)
			}
		})
	}
	var received []struct {
		Kind     string  `db:"kind"`
		Quantity int     `db:"quantity"`
		Months   int     `db:"months"`
		Pledge   *string `db:"code"`
	}
	if err := db.SQLX().Select(&received, `
		SELECT s.kind, s.quantity, s.months, p.code FROM stock s LEFT JOIN pledges p ON p.id = s.pledge_id ORDER BY s.id`); err != nil {
		t.Fatal(err)
	}
	if len(received) != 4 || received[2].Months != 12 || received[3].Pledge != nil || *received[0].Pledge != p.Code {
		t.Errorf("stock rows %+v", received)
	}
}

func TestDeviceStore_ReceiveStock_idempotencyKey(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	pledges, devices := postgres.NewPledgeStore(db), postgres.NewDeviceStore(db)
	p := validPledge("stock")
	p.Items = []campaign.PledgeItem{{Kind: campaign.ItemSIM4G, Quantity: 10}}
	p = submitPledge(t, pledges, p)
	receive := func(code string, quantity int, key string) error {
		return devices.ReceiveStock(t.Context(), code, campaign.ItemSIM4G, quantity, 0, key, volunteer, nil)
	}
	if err := receive(p.Code, 6, "sims-1"); err != nil {
		t.Fatal(err)
	}
	audits := countRows(t, db, "audit_log")

	// Six more would be more than pledged: a repeat is not another batch.
	if err := receive(p.Code, 6, "sims-1"); err != nil {
		t.Errorf("same key again: %v", err)
	}
	if got := countRows(t, db, "stock"); got != 1 {
		t.Errorf("%d stock rows, want 1", got)
	}

	const n = 10
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = receive(p.Code, 4, "sims-2") })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent receive %d: %v", i, err)
		}
	}
	if got := countRows(t, db, "stock"); got != 2 {
		t.Errorf("%d stock rows after 10 concurrent receives of one key, want 2", got)
	}
	if got := countRows(t, db, "audit_log"); got != audits+1 {
		t.Errorf("%d audit rows, want %d", got, audits+1)
	}
	if got := pledgeStatus(t, pledges, p.Code); got != campaign.PledgeReceived {
		t.Errorf("pledge status %s, want received", got)
	}

	// Different keys, or none, are separate batches.
	for _, key := range []string{"walk-in-1", "walk-in-2", "", ""} {
		if err := receive("", 100, key); err != nil {
			t.Fatalf("walk-in %q: %v", key, err)
		}
	}
	var keys []string
	if err := db.SQLX().Select(&keys, `SELECT coalesce(idempotency_key, '') FROM stock ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if want := []string{"sims-1", "sims-2", "walk-in-1", "walk-in-2", "", ""}; !reflect.DeepEqual(keys, want) {
		t.Errorf("stock keys %q, want %q", keys, want)
	}
}

// TestPledgeStatus walks a pledge from pledged through partly to received as its devices, stock
// and money arrive.
func TestPledgeStatus(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	pledges, devices, money := postgres.NewPledgeStore(db), postgres.NewDeviceStore(db), postgres.NewMoneyStore(db)
	p := submitPledge(t, pledges, validPledge("status")) // 2 laptops, 10 SIMs, 5,000,000 đ

	for _, step := range []struct {
		name string
		do   func() error
		want campaign.PledgeStatus
	}{
		{"first laptop", func() error {
			return devices.IntakeDevice(t.Context(), &campaign.Device{Type: campaign.DeviceLaptop, State: campaign.DeviceReady, PledgeCode: p.Code}, volunteer, nil)
		}, campaign.PledgePartly},
		{"second laptop, unusable", func() error {
			return devices.IntakeDevice(t.Context(), &campaign.Device{Type: campaign.DeviceLaptop, State: campaign.DeviceUnusable, PledgeCode: p.Code}, volunteer, nil)
		}, campaign.PledgePartly},
		{"all SIMs", func() error {
			return devices.ReceiveStock(t.Context(), p.Code, campaign.ItemSIM4G, 10, 0, "", volunteer, nil)
		}, campaign.PledgePartly},
		{"part of the money", func() error {
			_, err := money.RecordMoney(t.Context(), p.Code, 4_999_999, "", "", official, nil)
			return err
		}, campaign.PledgePartly},
		{"the last đồng", func() error {
			_, err := money.RecordMoney(t.Context(), p.Code, 1, "", "", official, nil)
			return err
		}, campaign.PledgeReceived},
		{"more money than pledged", func() error {
			_, err := money.RecordMoney(t.Context(), p.Code, 1_000_000, "", "", official, nil)
			return err
		}, campaign.PledgeReceived},
	} {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got := pledgeStatus(t, pledges, p.Code); got != step.want {
			t.Errorf("after %s: status %s, want %s", step.name, got, step.want)
		}
	}
}

func BenchmarkDeviceStore_IntakeDevice(b *testing.B) {
	db := newDB(b)
	devices := postgres.NewDeviceStore(db)
	for b.Loop() {
		d := campaign.Device{Type: campaign.DeviceLaptop, State: campaign.DeviceReady, Checks: allChecksPassed(campaign.DeviceLaptop)}
		if err := devices.IntakeDevice(b.Context(), &d, volunteer, nil); err != nil {
			b.Fatal(err)
		}
	}
}
