package postgres_test

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	"github.com/thuduc/maytinhchoem/storage/postgres/postgrestest"
	"github.com/thuduc/maytinhchoem/storage/postgres/seed"
)

// progressNow is 20:00 on 22 September 2021 in Hồ Chí Minh City: day 22 of the window, day 6 of
// the 14-day hand-over.
var progressNow = time.Date(2021, 9, 22, 13, 0, 0, 0, time.UTC)

// progressStaff takes devices in and records money in the hand-made dataset.
var progressStaff = campaign.Staff{Channel: "telegram", ExternalID: "7301", Name: "Trần Văn Hải", Role: campaign.RoleVolunteer}

// counted returns the figures of campaign c at at for ward ("" for the city) counted straight
// from the tables with plain COUNT queries, independently of the store's counters and queries,
// and settled like the store's.
func counted(t testing.TB, db *postgres.DB, c *campaign.Campaign, at time.Time, ward string) campaign.Progress {
	t.Helper()
	p := campaign.Progress{At: at, WardCode: ward}
	if ward != "" {
		p.Wards = []campaign.WardProgress{{Code: ward}}
	} else {
		for _, w := range c.Wards {
			p.Wards = append(p.Wards, campaign.WardProgress{Code: w.Code})
		}
	}
	var rows []struct {
		Ward      string `db:"ward_code"`
		Total     int    `db:"total"`
		Verified  int    `db:"verified"`
		Delivered int    `db:"delivered"`
		Rejected  int    `db:"rejected"`
		Pending   int    `db:"pending"`
		Withdrawn int    `db:"withdrawn"`
		Chat      int    `db:"chat"`
		List      int    `db:"list"`
		Assisted  int    `db:"assisted"`
		Today     int    `db:"today"`
	}
	day := at.In(c.Location).Format(campaign.DateLayout)
	err := db.SQLX().Select(&rows, `
		SELECT ward_code, count(*) AS total,
			count(*) FILTER (WHERE status IN ('verified', 'allocated', 'delivered')) AS verified,
			count(*) FILTER (WHERE status = 'delivered') AS delivered,
			count(*) FILTER (WHERE status = 'rejected') AS rejected,
			count(*) FILTER (WHERE status IN ('submitted', 'needs_info')) AS pending,
			count(*) FILTER (WHERE status = 'withdrawn') AS withdrawn,
			count(*) FILTER (WHERE source = 'chat') AS chat,
			count(*) FILTER (WHERE source = 'list') AS list,
			count(*) FILTER (WHERE source = 'assisted') AS assisted,
			count(*) FILTER (WHERE (created_at AT TIME ZONE $3)::date = $4::date) AS today
		FROM registrations WHERE campaign_id = $1 AND ($2 = '' OR ward_code = $2)
		GROUP BY ward_code`, c.ID, ward, c.Location.String(), day)
	if err != nil {
		t.Fatalf("count registrations: %v", err)
	}
	for _, r := range rows {
		i := 0
		for i < len(p.Wards) && p.Wards[i].Code != r.Ward {
			i++
		}
		if i == len(p.Wards) {
			p.Wards = append(p.Wards, campaign.WardProgress{Code: r.Ward})
		}
		p.Wards[i].Registered, p.Wards[i].Verified, p.Wards[i].Delivered = r.Total, r.Verified, r.Delivered
		p.Registrations.Total += r.Total
		p.Registrations.Verified += r.Verified
		p.Registrations.Rejected += r.Rejected
		p.Registrations.Pending += r.Pending
		p.Registrations.Withdrawn += r.Withdrawn
		p.Registrations.BySource.Chat += r.Chat
		p.Registrations.BySource.List += r.List
		p.Registrations.BySource.Assisted += r.Assisted
		p.Registrations.NewToday += r.Today
		p.Delivered += r.Delivered
	}
	// Schools: each registration's own row, added up one by one.
	var regs []struct {
		School string `db:"school"`
		Source string `db:"source"`
		Status string `db:"status"`
	}
	if err := db.SQLX().Select(&regs, `SELECT school, source, status FROM registrations
		WHERE campaign_id = $1 AND ($2 = '' OR ward_code = $2)`, c.ID, ward); err != nil {
		t.Fatalf("registrations by school: %v", err)
	}
	var schools campaign.SchoolTally
	for _, r := range regs {
		schools.Add(r.School, campaign.Source(r.Source), campaign.RegistrationStatus(r.Status), 1)
	}
	p.Schools = schools.Schools()

	// A ward's devices and pledges are those brought to its office.
	pledgeFilter := `true`
	if ward != "" {
		pledgeFilter = `p.delivery = 'ward_office' AND p.ward_code = $1`
	}
	args := []any{}
	if ward != "" {
		args = append(args, ward)
	}
	var states []struct {
		State string `db:"state"`
		N     int    `db:"n"`
	}
	q := `SELECT state, count(*) AS n FROM devices GROUP BY state`
	if ward != "" {
		q = `SELECT d.state, count(*) AS n FROM devices d WHERE d.pledge_id IN (SELECT p.id FROM pledges p WHERE ` + pledgeFilter + `) GROUP BY d.state`
	}
	if err := db.SQLX().Select(&states, q, args...); err != nil {
		t.Fatalf("count devices: %v", err)
	}
	for _, s := range states {
		d := &p.Devices
		d.Received += s.N
		switch s.State {
		case "ready":
			d.Ready += s.N
		case "unusable":
			d.Unusable += s.N
		case "allocated":
			d.Allocated += s.N
		case "delivered":
			d.Delivered += s.N
		case "received", "checking", "needs_parts", "returned":
			d.InWork += s.N
		default:
			t.Fatalf("a device is %q", s.State)
		}
	}

	var items []struct {
		Kind     string `db:"kind"`
		Quantity int    `db:"quantity"`
		Amount   int64  `db:"amount"`
	}
	err = db.SQLX().Select(&items, `SELECT kind, sum(quantity) AS quantity, sum(amount) AS amount FROM pledge_items
		WHERE pledge_id IN (SELECT p.id FROM pledges p WHERE p.status <> 'cancelled' AND `+pledgeFilter+`) GROUP BY kind`, args...)
	if err != nil {
		t.Fatalf("count pledge items: %v", err)
	}
	p.Pledges.Devices = map[campaign.DeviceType]int{}
	for _, it := range items {
		switch it.Kind {
		case "laptop", "desktop", "tablet", "smartphone":
			p.Pledges.Devices[campaign.DeviceType(it.Kind)] = it.Quantity
		case "sim_4g":
			p.Pledges.SIMs = it.Quantity
		case "usb_wifi":
			p.Pledges.USBWiFi = it.Quantity
		case "internet_package":
			p.Pledges.Packages = it.Quantity
		case "money":
			p.Pledges.MoneyPledged = it.Amount
		}
	}
	if err := db.SQLX().Get(&p.Pledges.Pledges, `SELECT count(*) FROM pledges p WHERE p.status <> 'cancelled' AND `+pledgeFilter, args...); err != nil {
		t.Fatalf("count pledges: %v", err)
	}
	err = db.SQLX().Get(&p.Pledges.MoneyReceived, `SELECT coalesce(sum(amount), 0) FROM money
		WHERE pledge_id IN (SELECT p.id FROM pledges p WHERE `+pledgeFilter+`)`, args...)
	if err != nil {
		t.Fatalf("sum money: %v", err)
	}
	p.Settle(c)
	return p
}

// progress returns the store's figures and fails the test on an error.
func progress(t testing.TB, s *postgres.ProgressStore, at time.Time, ward string) campaign.Progress {
	t.Helper()
	p, err := s.Progress(t.Context(), at, ward)
	if err != nil {
		t.Fatalf("Progress(%s, %q): %v", at.Format(time.RFC3339), ward, err)
	}
	return p
}

// sameProgress fails the test when got and want differ, naming the first figures that do.
func sameProgress(t testing.TB, got, want campaign.Progress) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"registrations", got.Registrations, want.Registrations},
		{"pledges", got.Pledges, want.Pledges},
		{"devices", got.Devices, want.Devices},
		{"delivered", got.Delivered, want.Delivered},
		{"planned", got.Planned, want.Planned},
		{"wards", got.Wards, want.Wards},
		{"schools", got.Schools, want.Schools},
	} {
		if !reflect.DeepEqual(f.got, f.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", f.name, f.got, f.want)
		}
	}
	if !t.Failed() {
		t.Errorf("progress:\n got %+v\nwant %+v", got, want)
	}
}

// seeded returns a database seeded with students at progressNow.
func seeded(t testing.TB, students int) (*postgres.DB, *campaign.Campaign) {
	t.Helper()
	db := newDB(t)
	c := campaign.Default()
	if _, err := seed.Fill(t.Context(), db, c, seed.Options{Students: students, Seed: 7, Now: progressNow}); err != nil {
		t.Fatalf("Seed: %v", err)
	}
	return db, c
}

func TestProgressStore_Seeded(t *testing.T) {
	db, c := seeded(t, 600)
	s := postgres.NewProgressStore(db, c)

	t.Run("city", func(t *testing.T) {
		got := progress(t, s, progressNow, "")
		sameProgress(t, got, counted(t, db, c, progressNow, ""))
		// The dataset must exercise every figure, or the comparison proves little.
		r, d := got.Registrations, got.Devices
		if r.Total != 600 || r.NewToday == 0 || r.Verified == 0 || r.Rejected == 0 || r.Pending == 0 || got.Delivered == 0 {
			t.Errorf("registrations %+v, delivered %d: want 600 with every kind", r, got.Delivered)
		}
		if d.Received != 180 || d.InWork == 0 || d.Ready == 0 || d.Unusable == 0 || d.Allocated == 0 || d.Delivered == 0 {
			t.Errorf("devices %+v: want 180 in every state", d)
		}
		if d.Received != d.InWork+d.Ready+d.Unusable+d.Allocated+d.Delivered {
			t.Errorf("devices %+v: the states do not add up to the received", d)
		}
		pl := got.Pledges
		if pl.Pledges == 0 || pl.DeviceCount() == 0 || pl.MoneyPledged == 0 || pl.MoneyReceived == 0 || pl.SIMs == 0 {
			t.Errorf("pledges %+v: want some of each", pl)
		}
		if got.Day != 22 || !got.InWindow || got.Target != 3200 || got.Next == nil || got.Next.Key != "final_report" {
			t.Errorf("day %d in window %v target %d next %v", got.Day, got.InWindow, got.Target, got.Next)
		}
		if want := c.PlannedDeliveries(progressNow, r.Verified); got.Planned != want || want == 0 {
			t.Errorf("Planned = %d, want %d", got.Planned, want)
		}
		if len(got.Wards) != len(c.Wards) {
			t.Errorf("%d ward lines, want one per ward (%d)", len(got.Wards), len(c.Wards))
		}
		registered := 0
		for i, w := range got.Wards {
			registered += w.Registered
			if w.Gap != w.Verified-w.Delivered {
				t.Errorf("ward %s: gap %d, want verified - delivered = %d", w.Code, w.Gap, w.Verified-w.Delivered)
			}
			if i > 0 && (w.Gap > got.Wards[i-1].Gap || (w.Gap == got.Wards[i-1].Gap && w.Code < got.Wards[i-1].Code)) {
				t.Errorf("ward %s (gap %d) after %s (gap %d)", w.Code, w.Gap, got.Wards[i-1].Code, got.Wards[i-1].Gap)
			}
		}
		if registered != r.Total {
			t.Errorf("wards register %d, the city %d", registered, r.Total)
		}
	})

	t.Run("every ward", func(t *testing.T) {
		var withOffice int
		for _, w := range c.Wards {
			got := progress(t, s, progressNow, w.Code)
			sameProgress(t, got, counted(t, db, c, progressNow, w.Code))
			if got.Target != 0 || len(got.Wards) != 1 || got.Wards[0].Code != w.Code {
				t.Errorf("ward %s: target %d, wards %+v", w.Code, got.Target, got.Wards)
			}
			if got.Devices.Received > 0 {
				withOffice++
			}
		}
		if withOffice == 0 {
			t.Error("no ward office keeps a device: the ward pipeline went untested")
		}
	})

	t.Run("another day", func(t *testing.T) {
		// The figures are today's, but "new today" and the plan follow the day asked about.
		at := time.Date(2021, 9, 16, 3, 0, 0, 0, time.UTC)
		got := progress(t, s, at, "")
		sameProgress(t, got, counted(t, db, c, at, ""))
		if got.Registrations.NewToday == 0 || got.Planned != 0 {
			t.Errorf("16/9: new %d planned %d, want some new and none planned", got.Registrations.NewToday, got.Planned)
		}
	})

	t.Run("unknown ward", func(t *testing.T) {
		_, err := s.Progress(t.Context(), progressNow, "99999")
		if campaign.ErrorCode(err) != campaign.ENOTFOUND {
			t.Errorf("Progress(99999) = %v, want ENOTFOUND", err)
		}
	})
}

func TestProgressStore_CountersFollowChanges(t *testing.T) {
	db, c := seeded(t, 300)
	s := postgres.NewProgressStore(db, c)
	ctx := t.Context()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.SQLX().ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	// Officials decide from several connections at once, so the changes land in several stripes.
	var ids []int64
	if err := db.SQLX().Select(&ids, `SELECT id FROM registrations WHERE status = 'submitted' ORDER BY id LIMIT 16`); err != nil || len(ids) < 16 {
		t.Fatalf("submitted registrations: %v, %d", err, len(ids))
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(ids))
	for i, id := range ids {
		wg.Go(func() {
			status := []string{"verified", "rejected", "needs_info", "verified"}[i%4]
			tx, err := db.SQLX().BeginTxx(ctx, nil)
			if err != nil {
				errs <- err
				return
			}
			defer func() { _ = tx.Rollback() }()
			if _, err := tx.ExecContext(ctx, `UPDATE registrations SET status = $2 WHERE id = $1`, id, status); err != nil {
				errs <- err
				return
			}
			time.Sleep(10 * time.Millisecond) // hold the counter rows, so the others need stripes of their own
			errs <- tx.Commit()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("decide: %v", err)
		}
	}

	// A registration moved to another ward, one deleted, one added through the store.
	exec(`UPDATE registrations SET ward_code = '26803' WHERE id = (SELECT min(id) FROM registrations WHERE ward_code <> '26803' AND status = 'verified')`)
	exec(`DELETE FROM registrations WHERE id = (SELECT max(r.id) FROM registrations r WHERE r.status = 'submitted'
		AND NOT EXISTS (SELECT 1 FROM registration_notes n WHERE n.registration_id = r.id))`)
	db.Now = func() time.Time { return progressNow.Add(-time.Hour) }
	submit(t, postgres.NewRegistrationStore(db, c), validRegistration("progress-new"))
	// A statement changing nothing counted, and a bulk one.
	exec(`UPDATE registrations SET updated_at = updated_at WHERE id % 3 = 0`)
	exec(`UPDATE registrations SET status = 'verified' WHERE status = 'needs_info'`)
	// Devices move, one leaves.
	exec(`UPDATE devices SET state = 'checking' WHERE id IN (SELECT id FROM devices WHERE state = 'ready' ORDER BY id LIMIT 3)`)
	exec(`UPDATE devices SET state = 'returned' WHERE id = (SELECT min(id) FROM devices WHERE state = 'delivered')`)
	exec(`DELETE FROM device_events WHERE device_id = (SELECT max(id) FROM devices WHERE state = 'unusable')`)
	exec(`DELETE FROM devices WHERE id = (SELECT max(id) FROM devices WHERE state = 'unusable')`)

	before := progress(t, s, progressNow, "")
	sameProgress(t, before, counted(t, db, c, progressNow, ""))
	sameProgress(t, progress(t, s, progressNow, "26803"), counted(t, db, c, progressNow, "26803"))
	sameProgress(t, progress(t, s, progressNow, "26800"), counted(t, db, c, progressNow, "26800"))
	if before.Registrations.Total != 300 || before.Devices.Received != 89 {
		t.Errorf("total %d received %d, want 300 (one deleted, one added) and 89", before.Registrations.Total, before.Devices.Received)
	}
	var stripes int
	if err := db.SQLX().Get(&stripes, `SELECT count(DISTINCT stripe) FROM registration_counts`); err != nil || stripes < 2 {
		t.Errorf("counters in %d stripes (%v), want the concurrent decisions spread over several", stripes, err)
	}
	// Truncating empties the counters too.
	exec(`TRUNCATE registrations, devices CASCADE`)
	if p := progress(t, s, progressNow, ""); p.Registrations.Total != 0 || p.Devices.Received != 0 {
		t.Errorf("after TRUNCATE: %+v %+v", p.Registrations, p.Devices)
	}
}

func TestProgressStore_NewTodayAroundMidnight(t *testing.T) {
	db := newDB(t)
	c := campaign.Default()
	regs := postgres.NewRegistrationStore(db, c)
	s := postgres.NewProgressStore(db, c)
	// Local midnight between 16 and 17 September is 17:00 UTC on the 16th.
	made := []struct {
		at   time.Time
		ward string
	}{
		{time.Date(2021, 9, 16, 16, 59, 59, 999999000, time.UTC), "26800"}, // 23:59:59.999999 on 16/9
		{time.Date(2021, 9, 16, 17, 0, 0, 0, time.UTC), "26800"},           // 00:00 on 17/9
		{time.Date(2021, 9, 17, 5, 0, 0, 0, time.UTC), "26794"},            // noon on 17/9
		{time.Date(2021, 9, 17, 16, 59, 59, 0, time.UTC), "26800"},         // 23:59:59 on 17/9
		{time.Date(2021, 9, 17, 17, 0, 0, 0, time.UTC), "26800"},           // 00:00 on 18/9
	}
	for i, m := range made {
		db.Now = func() time.Time { return m.at }
		r := validRegistration(fmt.Sprintf("midnight-%d", i))
		r.WardCode = m.ward
		r.ChatID = fmt.Sprint(5000 + i)
		submit(t, regs, r)
	}
	tests := []struct {
		name      string
		at        time.Time
		ward      string
		new, day  int
		inWindow  bool
		registers int
	}{
		{"16/9 at 23:59:59 local", time.Date(2021, 9, 16, 16, 59, 59, 0, time.UTC), "", 1, 16, true, 5},
		{"17/9 at 00:00 local", time.Date(2021, 9, 16, 17, 0, 0, 0, time.UTC), "", 3, 17, true, 5},
		{"17/9 at 23:59:59 local", time.Date(2021, 9, 17, 16, 59, 59, 0, time.UTC), "", 3, 17, true, 5},
		{"17/9 in 26800", time.Date(2021, 9, 17, 10, 0, 0, 0, time.UTC), "26800", 2, 17, true, 4},
		{"17/9 in 26794", time.Date(2021, 9, 17, 10, 0, 0, 0, time.UTC), "26794", 1, 17, true, 1},
		{"18/9 at 00:00 local", time.Date(2021, 9, 17, 17, 0, 0, 0, time.UTC), "", 1, 18, true, 5},
		{"1/10, after the window", time.Date(2021, 9, 30, 17, 0, 0, 0, time.UTC), "", 0, 31, false, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := progress(t, s, tt.at, tt.ward)
			if p.Registrations.NewToday != tt.new || p.Day != tt.day || p.InWindow != tt.inWindow || p.Registrations.Total != tt.registers {
				t.Errorf("new %d day %d in window %v total %d; want %d, %d, %v, %d", p.Registrations.NewToday, p.Day, p.InWindow,
					p.Registrations.Total, tt.new, tt.day, tt.inWindow, tt.registers)
			}
			sameProgress(t, p, counted(t, db, c, tt.at, tt.ward))
		})
	}
}

func TestProgressStore_HandMade(t *testing.T) {
	db := newDB(t)
	c := campaign.Default()
	ctx := t.Context()
	regs := postgres.NewRegistrationStore(db, c)
	pledges := postgres.NewPledgeStore(db)
	devices := postgres.NewDeviceStore(db)
	money := postgres.NewMoneyStore(db)
	s := postgres.NewProgressStore(db, c)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.SQLX().ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	// Six children: four in Linh Trung (26800), two in Linh Xuân (26794); three made today.
	statuses := []struct {
		ward, status string
		today        bool
	}{
		{"26800", "submitted", true}, {"26800", "needs_info", false}, {"26800", "verified", true},
		{"26800", "delivered", false}, {"26794", "rejected", false}, {"26794", "allocated", true},
	}
	for i, st := range statuses {
		at := time.Date(2021, 9, 20, 3, 0, i, 0, time.UTC)
		if st.today {
			at = time.Date(2021, 9, 22, 3, 0, i, 0, time.UTC)
		}
		db.Now = func() time.Time { return at }
		r := validRegistration(fmt.Sprintf("hand-%d", i))
		r.WardCode, r.ChatID = st.ward, fmt.Sprint(6000+i)
		r = submit(t, regs, r)
		exec(`UPDATE registrations SET status = $2 WHERE id = $1`, r.ID, st.status)
	}
	db.Now = func() time.Time { return progressNow.Add(-2 * time.Hour) }

	// Pledges: one to the Front, one to the Linh Trung ward office, one cancelled.
	front := campaign.Pledge{
		Channel: "telegram", ChatID: "3101", DonorKind: campaign.DonorBusiness, DonorName: "Công ty TNHH Bình Minh",
		ContactPerson: "Ngô Văn Tú", Phone: "+84908111222", Delivery: campaign.DeliverToFront, IdempotencyKey: "hand-pl-1",
		Items: []campaign.PledgeItem{
			{Kind: campaign.ItemLaptop, Quantity: 2, Used: true, Complete: true},
			{Kind: campaign.ItemSIM4G, Quantity: 10},
			{Kind: campaign.ItemMoney, Amount: 5_000_000},
		},
	}
	office := campaign.Pledge{
		Channel: "telegram", ChatID: "3102", DonorKind: campaign.DonorTelecomOperator, DonorName: "Viettel Thủ Đức",
		ContactPerson: "Lý Thị Hằng", Phone: "+84908333444", Delivery: campaign.DeliverToWard, WardCode: "26800",
		IdempotencyKey: "hand-pl-2",
		Items: []campaign.PledgeItem{
			{Kind: campaign.ItemTablet, Quantity: 3, Complete: true},
			{Kind: campaign.ItemInternetPackage, Quantity: 20, Months: 6},
			{Kind: campaign.ItemUSBWiFi, Quantity: 4},
		},
	}
	cancelled := campaign.Pledge{
		Channel: "telegram", ChatID: "3103", DonorKind: campaign.DonorIndividual, DonorName: "Phan Văn Đức",
		Phone: "+84908555666", Delivery: campaign.DeliverToWard, WardCode: "26800", IdempotencyKey: "hand-pl-3",
		Items: []campaign.PledgeItem{{Kind: campaign.ItemLaptop, Quantity: 7, Used: true, Complete: true}, {Kind: campaign.ItemMoney, Amount: 1_000_000}},
	}
	for _, p := range []*campaign.Pledge{&front, &office, &cancelled} {
		if _, err := pledges.SubmitPledge(ctx, p); err != nil {
			t.Fatalf("SubmitPledge(%s): %v", p.IdempotencyKey, err)
		}
	}
	exec(`UPDATE pledges SET status = 'cancelled' WHERE code = $1`, cancelled.Code)
	if _, err := money.RecordMoney(ctx, front.Code, 3_000_000, "chuyển khoản", "hand-money", progressStaff, nil); err != nil {
		t.Fatalf("RecordMoney: %v", err)
	}

	// Devices: the Front's laptop (delivered), two of the office's tablets (one allocated, one
	// needing a charger), two walk-in phones (one ready, one dead).
	intake := func(pledge string, typ campaign.DeviceType, state campaign.DeviceState) campaign.Device {
		t.Helper()
		d := campaign.Device{Type: typ, State: state, PledgeCode: pledge, Brand: "Samsung"}
		if err := devices.IntakeDevice(ctx, &d, progressStaff, nil); err != nil {
			t.Fatalf("IntakeDevice(%s %s): %v", pledge, typ, err)
		}
		return d
	}
	laptop := intake(front.Code, campaign.DeviceLaptop, campaign.DeviceReady)
	tablet := intake(office.Code, campaign.DeviceTablet, campaign.DeviceReady)
	intake(office.Code, campaign.DeviceTablet, campaign.DeviceNeedsParts)
	intake("", campaign.DeviceSmartphone, campaign.DeviceReady)
	intake("", campaign.DeviceSmartphone, campaign.DeviceUnusable)
	exec(`UPDATE devices SET state = 'delivered' WHERE label = $1`, laptop.Label)
	exec(`UPDATE devices SET state = 'allocated' WHERE label = $1`, tablet.Label)

	got := progress(t, s, progressNow, "")
	handover, _ := c.Milestone("handover")
	final, _ := c.Milestone("final_report")
	wards := []campaign.WardProgress{
		{Code: "26794", Registered: 2, Verified: 1, Delivered: 0, Gap: 1},
		{Code: "26800", Registered: 4, Verified: 2, Delivered: 1, Gap: 1},
	}
	for _, w := range c.Wards { // the others, at zero, by code
		if w.Code != "26794" && w.Code != "26800" {
			wards = append(wards, campaign.WardProgress{Code: w.Code})
		}
	}
	sortedZeros := wards[2:]
	for i := 1; i < len(sortedZeros); i++ {
		for j := i; j > 0 && sortedZeros[j].Code < sortedZeros[j-1].Code; j-- {
			sortedZeros[j], sortedZeros[j-1] = sortedZeros[j-1], sortedZeros[j]
		}
	}
	want := campaign.Progress{
		At: progressNow, Date: time.Date(2021, 9, 22, 0, 0, 0, 0, c.Location), Day: 22, InWindow: true,
		Target: 3200,
		Registrations: campaign.RegistrationCounts{Total: 6, NewToday: 3, Verified: 3, Rejected: 1, Pending: 2,
			BySource: campaign.SourceCounts{Chat: 6}},
		Pledges: campaign.PledgeCounts{
			Pledges: 2, Devices: map[campaign.DeviceType]int{campaign.DeviceLaptop: 2, campaign.DeviceTablet: 3},
			MoneyPledged: 5_000_000, MoneyReceived: 3_000_000, SIMs: 10, USBWiFi: 4, Packages: 20,
		},
		Devices:   campaign.DevicePipeline{Received: 5, InWork: 1, Ready: 1, Unusable: 1, Allocated: 1, Delivered: 1},
		Delivered: 1,
		Planned:   2, // ceil(3 verified × 6/14 days of the hand-over)
		Wards:     wards,
		Schools: []campaign.SchoolCount{{Key: "th linh trung", Name: "Trường Tiểu học Linh Trung",
			RegistrationCounts: campaign.RegistrationCounts{Total: 6, Verified: 3, Rejected: 1, Pending: 2,
				BySource: campaign.SourceCounts{Chat: 6}}, Delivered: 1}},
		Today: &handover, Next: &final, DaysToNext: 9,
	}
	sameProgress(t, got, want)

	gotWard := progress(t, s, progressNow, "26800")
	wantWard := want
	wantWard.WardCode, wantWard.Target = "26800", 0
	wantWard.Registrations = campaign.RegistrationCounts{Total: 4, NewToday: 2, Verified: 2, Rejected: 0, Pending: 2,
		BySource: campaign.SourceCounts{Chat: 4}}
	wantWard.Schools = []campaign.SchoolCount{{Key: "th linh trung", Name: "Trường Tiểu học Linh Trung",
		RegistrationCounts: campaign.RegistrationCounts{Total: 4, Verified: 2, Pending: 2,
			BySource: campaign.SourceCounts{Chat: 4}}, Delivered: 1}}
	wantWard.Pledges = campaign.PledgeCounts{Pledges: 1, Devices: map[campaign.DeviceType]int{campaign.DeviceTablet: 3}, USBWiFi: 4, Packages: 20}
	wantWard.Devices = campaign.DevicePipeline{Received: 2, InWork: 1, Allocated: 1}
	wantWard.Planned = 1 // ceil(2 × 6/14)
	wantWard.Wards = []campaign.WardProgress{{Code: "26800", Registered: 4, Verified: 2, Delivered: 1, Gap: 1}}
	sameProgress(t, gotWard, wantWard)

	empty := progress(t, s, progressNow, "26803")
	if empty.Registrations != (campaign.RegistrationCounts{}) || empty.Devices != (campaign.DevicePipeline{}) ||
		empty.Pledges.Pledges != 0 || len(empty.Wards) != 1 || empty.Wards[0] != (campaign.WardProgress{Code: "26803"}) {
		t.Errorf("a ward with nothing: %+v", empty)
	}
}

// BenchmarkProgress measures the daily summary's figures over a million registrations and
// 300,000 devices, for the city and for the busiest ward. Seeding happens once, untimed.
func BenchmarkProgress(b *testing.B) {
	if testing.Short() {
		b.Skip("seeds a million registrations")
	}
	ctx := context.Background()
	db := postgrestest.NewDB(b)
	c := campaign.Default()
	res, err := seed.Fill(ctx, db, c, seed.Options{Students: 1_000_000, Devices: 300_000, Seed: 1, Now: progressNow})
	if err != nil {
		b.Fatalf("Seed: %v", err)
	}
	b.Logf("seeded %d registrations, %d devices, %d pledges, %d deliveries in %s",
		res.Registrations, res.Devices, res.Pledges, res.Deliveries, res.Elapsed.Round(time.Millisecond))
	var busiest string
	if err := db.SQLX().Get(&busiest, `SELECT ward_code FROM registrations GROUP BY ward_code ORDER BY count(*) DESC LIMIT 1`); err != nil {
		b.Fatal(err)
	}
	s := postgres.NewProgressStore(db, c)
	for _, bc := range []struct{ name, ward string }{{"city", ""}, {"ward", busiest}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Progress(ctx, progressNow, bc.ward); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// What the daily summary job reads for one scope: the figures and the chart's deliveries per day.
	rs := postgres.NewReminderStore(db, c)
	for _, bc := range []struct{ name, ward string }{{"summary_city", ""}, {"summary_ward", busiest}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Progress(ctx, progressNow, bc.ward); err != nil {
					b.Fatal(err)
				}
				if _, err := rs.DeliveriesByDay(ctx, bc.ward, progressNow); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// The part of the figures that reads the counters by school and source (migration 00027),
	// the query ProgressStore.schools runs.
	var schoolRows int
	if err := db.SQLX().Get(&schoolRows, `SELECT count(*) FROM registration_school_counts`); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d rows of counters by school and source", schoolRows)
	for _, bc := range []struct{ name, ward string }{{"schools_city", ""}, {"schools_ward", busiest}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				var rows []struct {
					School string `db:"school"`
					Source string `db:"source"`
					Status string `db:"status"`
					N      int    `db:"n"`
				}
				if err := db.SQLX().SelectContext(ctx, &rows, `
					SELECT school, source, status, sum(n) AS n FROM registration_school_counts
					WHERE campaign_id = $1 AND ($2::text = '' OR ward_code = $2)
					GROUP BY school, source, status HAVING sum(n) <> 0`, c.ID, bc.ward); err != nil || len(rows) == 0 {
					b.Fatalf("%d rows, %v", len(rows), err)
				}
			}
		})
	}
}
