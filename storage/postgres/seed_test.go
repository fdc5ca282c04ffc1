package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	"github.com/thuduc/maytinhchoem/storage/postgres/postgrestest"
	"github.com/thuduc/maytinhchoem/storage/postgres/seed"
)

// seedTables are the tables seed.Fill fills, for the checks that go over all of them.
var seedTables = []string{"students", "registrations", "registration_notes", "contacts", "pledges", "pledge_items",
	"money", "purchases", "devices", "device_events", "deliveries", "stock"}

// mustSeed seeds db and fails the test on an error.
func mustSeed(t testing.TB, db *postgres.DB, c *campaign.Campaign, opts seed.Options) seed.Result {
	t.Helper()
	res, err := seed.Fill(t.Context(), db, c, opts)
	if err != nil {
		t.Fatalf("Seed(%+v): %v", opts, err)
	}
	return res
}

// zeroRows fails the test when query counts anything: each query counts the rows that break a rule.
func zeroRows(t testing.TB, db *postgres.DB, rule, query string, args ...any) {
	t.Helper()
	var n int
	if err := db.SQLX().Get(&n, query, args...); err != nil {
		t.Fatalf("%s: %v", rule, err)
	}
	if n != 0 {
		t.Errorf("%s: %d rows break it", rule, n)
	}
}

// fingerprint returns a digest of every seeded row, so two databases can be compared whole.
func fingerprint(t testing.TB, db *postgres.DB) string {
	t.Helper()
	var parts []string
	for _, table := range seedTables {
		order := "t.id"
		if table == "pledge_items" {
			order = "t.pledge_id, t.position"
		}
		var sum sql.NullString
		if err := db.SQLX().Get(&sum, `SELECT md5(string_agg(t::text, '|' ORDER BY `+order+`)) FROM `+table+` t`); err != nil {
			t.Fatalf("fingerprint %s: %v", table, err)
		}
		parts = append(parts, table+"="+sum.String)
	}
	return strings.Join(parts, " ")
}

// checkCounters fails the test when the progress counters differ from the tables' counts.
func checkCounters(t testing.TB, db *postgres.DB) {
	t.Helper()
	zeroRows(t, db, "registration counters", `
		SELECT count(*) FROM (
			SELECT campaign_id, ward_code, status, count(*) AS n FROM registrations GROUP BY 1, 2, 3
		) r FULL JOIN (
			SELECT campaign_id, ward_code, status, sum(n) AS n FROM registration_counts GROUP BY 1, 2, 3 HAVING sum(n) <> 0
		) c USING (campaign_id, ward_code, status)
		WHERE r.n IS DISTINCT FROM c.n`)
	zeroRows(t, db, "registration counters by school and source", `
		SELECT count(*) FROM (
			SELECT campaign_id, ward_code, school, source, status, count(*) AS n FROM registrations GROUP BY 1, 2, 3, 4, 5
		) r FULL JOIN (
			SELECT campaign_id, ward_code, school, source, status, sum(n) AS n FROM registration_school_counts
			GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0
		) c USING (campaign_id, ward_code, school, source, status)
		WHERE r.n IS DISTINCT FROM c.n`)
	zeroRows(t, db, "device counters", `
		SELECT count(*) FROM (SELECT state, count(*) AS n FROM devices GROUP BY 1) d
		FULL JOIN (SELECT state, sum(n) AS n FROM device_counts GROUP BY 1 HAVING sum(n) <> 0) c USING (state)
		WHERE d.n IS DISTINCT FROM c.n`)
}

// checkSeeded fails the test when seeded records break the rules the stores keep: statuses,
// devices and deliveries that agree, pledges' statuses, money spent, codes in order, the
// progress counters, and nothing after now.
func checkSeeded(t testing.TB, db *postgres.DB, now time.Time) {
	t.Helper()
	zeroRows(t, db, "an allocated or delivered registration has a delivery, and no other", `
		SELECT count(*) FROM registrations r
		WHERE (r.status IN ('allocated', 'delivered')) <> EXISTS (SELECT 1 FROM deliveries d WHERE d.registration_id = r.id)`)
	zeroRows(t, db, "an allocated or delivered device has a delivery, and no other", `
		SELECT count(*) FROM devices d
		WHERE (d.state IN ('allocated', 'delivered')) <> EXISTS (SELECT 1 FROM deliveries dl WHERE dl.device_id = d.id)
		   OR (d.state IN ('allocated', 'delivered')) <> (d.allocated_registration_id IS NOT NULL)`)
	zeroRows(t, db, "a delivery's status matches its device and child", `
		SELECT count(*) FROM deliveries dl JOIN devices d ON d.id = dl.device_id JOIN registrations r ON r.id = dl.registration_id
		WHERE d.allocated_registration_id <> r.id
		   OR NOT ((dl.status = 'pending' AND d.state = 'allocated' AND r.status = 'allocated')
		        OR (dl.status IN ('delivered', 'confirmed') AND d.state = 'delivered' AND r.status = 'delivered'))
		   OR dl.allocated_at < r.decided_at OR dl.allocated_at < d.created_at OR dl.delivered_at < dl.allocated_at
		   OR dl.confirmed_at < dl.delivered_at`)
	zeroRows(t, db, "decisions", `
		SELECT count(*) FROM registrations
		WHERE (status = 'submitted') <> (decided_at IS NULL) OR (status = 'rejected') <> (reject_code <> '')
		   OR decided_at < created_at`)
	zeroRows(t, db, "a registration waiting for the parent has the question", `
		SELECT count(*) FROM registrations r WHERE r.status = 'needs_info'
		  AND NOT EXISTS (SELECT 1 FROM registration_notes n WHERE n.registration_id = r.id AND NOT n.answer)`)
	zeroRows(t, db, "a pledge's devices never outnumber what it promised", `
		SELECT count(*) FROM (SELECT pledge_id, type, count(*) AS n FROM devices WHERE pledge_id IS NOT NULL GROUP BY 1, 2) d
		LEFT JOIN pledge_items pi ON pi.pledge_id = d.pledge_id AND pi.kind = d.type
		WHERE pi.quantity IS NULL OR d.n > pi.quantity`)
	zeroRows(t, db, "a cancelled pledge received nothing", `
		SELECT count(*) FROM pledges p WHERE p.status = 'cancelled' AND (
			EXISTS (SELECT 1 FROM devices d WHERE d.pledge_id = p.id) OR EXISTS (SELECT 1 FROM money m WHERE m.pledge_id = p.id)
			OR EXISTS (SELECT 1 FROM stock s WHERE s.pledge_id = p.id))`)
	// The status a pledge's receipts give it, computed another way than the seed does.
	zeroRows(t, db, "a pledge's status follows what it received", `
		WITH got AS (
			SELECT pi.pledge_id, pi.kind,
				CASE WHEN pi.kind = 'money' THEN pi.amount ELSE pi.quantity END AS promised,
				coalesce((SELECT count(*) FROM devices d WHERE d.pledge_id = pi.pledge_id AND d.type = pi.kind), 0)
				+ coalesce((SELECT sum(s.quantity) FROM stock s WHERE s.pledge_id = pi.pledge_id AND s.kind = pi.kind), 0)
				+ CASE WHEN pi.kind = 'money' THEN coalesce((SELECT sum(m.amount) FROM money m WHERE m.pledge_id = pi.pledge_id), 0)
				  ELSE 0 END AS received
			FROM pledge_items pi
		)
		SELECT count(*) FROM pledges p WHERE p.status <> 'cancelled' AND p.status <> CASE
			WHEN NOT EXISTS (SELECT 1 FROM got WHERE got.pledge_id = p.id AND got.received > 0) THEN 'pledged'
			WHEN NOT EXISTS (SELECT 1 FROM got WHERE got.pledge_id = p.id AND got.received < got.promised) THEN 'received'
			ELSE 'partly' END`)
	zeroRows(t, db, "money spent is what its purchases cost, a tablet each 3,000,000", `
		SELECT count(*) FROM money m
		WHERE m.spent <> coalesce((SELECT sum(cost) FROM purchases pu WHERE pu.money_id = m.id), 0)
		   OR EXISTS (SELECT 1 FROM purchases pu WHERE pu.money_id = m.id
		              AND pu.cost <> 3000000 * (SELECT count(*) FROM devices d WHERE d.purchase_id = pu.id))`)
	zeroRows(t, db, "codes follow the order records were made in", `
		SELECT count(*) FROM (
			SELECT created_at < lag(created_at) OVER (ORDER BY code) AS back FROM registrations
			UNION ALL SELECT created_at < lag(created_at) OVER (ORDER BY code) FROM pledges
			UNION ALL SELECT created_at < lag(created_at) OVER (ORDER BY label) FROM devices
			UNION ALL SELECT allocated_at < lag(allocated_at) OVER (ORDER BY code) FROM deliveries
		) x WHERE back`)
	checkCounters(t, db)
	var cols []struct {
		Table  string `db:"table_name"`
		Column string `db:"column_name"`
	}
	err := db.SQLX().Select(&cols, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND data_type = 'timestamp with time zone' AND table_name = ANY ($1)`,
		pq.Array(seedTables))
	if err != nil || len(cols) < 15 {
		t.Fatalf("timestamp columns: %v (%d)", err, len(cols))
	}
	for _, col := range cols {
		zeroRows(t, db, col.Table+"."+col.Column+" after now",
			`SELECT count(*) FROM `+col.Table+` WHERE `+col.Column+` > $1 OR `+col.Column+` < '2021-08-31 17:00Z'`, now)
	}
}

func TestSeed(t *testing.T) {
	db := newDB(t)
	c := campaign.Default()
	res := mustSeed(t, db, c, seed.Options{Students: 2000, Seed: 3, Now: progressNow})
	if res.Students != 2000 || res.Registrations != 2000 || res.Devices != 600 || res.Pledges != 100 {
		t.Errorf("made %+v, want 2000 students and registrations, 600 devices, 100 pledges", res)
	}
	if res.Deliveries == 0 || res.Money == 0 || res.Stock == 0 || res.Notes == 0 || res.DeviceEvents < 3*res.Devices || res.Contacts != 2100 {
		t.Errorf("made %+v, want some of everything and a contact per parent and donor", res)
	}

	t.Run("references", func(t *testing.T) {
		// seed.Fill may turn off the triggers that check foreign keys: check every one of them here.
		var fks []struct {
			Table, Column, RefTable, RefColumn string
		}
		rows, err := db.SQLX().Query(`
			SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, af.attname
			FROM pg_constraint c
			JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
			JOIN pg_attribute af ON af.attrelid = c.confrelid AND af.attnum = c.confkey[1]
			WHERE c.contype = 'f' AND cardinality(c.conkey) = 1`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var fk struct{ Table, Column, RefTable, RefColumn string }
			if err := rows.Scan(&fk.Table, &fk.Column, &fk.RefTable, &fk.RefColumn); err != nil {
				t.Fatal(err)
			}
			fks = append(fks, fk)
		}
		if len(fks) < 14 {
			t.Fatalf("%d foreign keys found, want the schema's", len(fks))
		}
		for _, fk := range fks {
			zeroRows(t, db, fmt.Sprintf("%s.%s references %s", fk.Table, fk.Column, fk.RefTable), fmt.Sprintf(
				`SELECT count(*) FROM %s t WHERE t.%s IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %s r WHERE r.%s = t.%s)`,
				fk.Table, fk.Column, fk.RefTable, fk.RefColumn, fk.Column))
		}
	})

	t.Run("records agree", func(t *testing.T) {
		checkSeeded(t, db, progressNow)

		var students []struct {
			Name string `db:"full_name"`
			Key  string `db:"name_key"`
		}
		if err := db.SQLX().Select(&students, `SELECT full_name, name_key FROM students`); err != nil {
			t.Fatal(err)
		}
		for _, s := range students {
			if campaign.Fold(s.Name) != s.Key || campaign.NormalizeText(s.Name) != s.Name {
				t.Errorf("student %q has key %q, want %q", s.Name, s.Key, campaign.Fold(s.Name))
			}
		}
	})

	t.Run("realistic spread", func(t *testing.T) {
		var wards struct {
			N        int `db:"n"`
			Min, Max int
		}
		err := db.SQLX().QueryRow(`SELECT count(*), min(n), max(n) FROM (SELECT count(*) AS n FROM registrations GROUP BY ward_code) w`).
			Scan(&wards.N, &wards.Min, &wards.Max)
		if err != nil {
			t.Fatal(err)
		}
		if wards.N != len(c.Wards) || wards.Max < 3*wards.Min {
			t.Errorf("%d wards registering %d to %d: want all %d, the busiest at least thrice the quietest",
				wards.N, wards.Min, wards.Max, len(c.Wards))
		}
		var launch, early int
		err = db.SQLX().QueryRow(`SELECT
			count(*) FILTER (WHERE (created_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date = '2021-09-15'),
			count(*) FILTER (WHERE (created_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date = '2021-09-05')
			FROM registrations`).Scan(&launch, &early)
		if err != nil || launch < 3*early || early == 0 {
			t.Errorf("registrations on launch day %d, on 5/9 %d (%v): want a peak at the launch", launch, early, err)
		}
		var statuses, states, kinds int
		err = db.SQLX().QueryRow(`SELECT (SELECT count(DISTINCT status) FROM registrations),
			(SELECT count(DISTINCT state) FROM devices), (SELECT count(DISTINCT donor_kind) FROM pledges)`).Scan(&statuses, &states, &kinds)
		if err != nil || statuses != 6 || states != 6 || kinds != 6 {
			t.Errorf("%d statuses, %d device states, %d donor kinds (%v): want 6 of each", statuses, states, kinds, err)
		}
		var rejected, submitted float64
		err = db.SQLX().QueryRow(`SELECT avg((status = 'rejected')::int), avg((status = 'submitted')::int) FROM registrations`).
			Scan(&rejected, &submitted)
		if err != nil || rejected < 0.04 || rejected > 0.1 || submitted < 0.03 || submitted > 0.2 {
			t.Errorf("%.3f rejected, %.3f waiting (%v): want about 7%% and some", rejected, submitted, err)
		}
	})

	t.Run("codes continue after the seed", func(t *testing.T) {
		db.Now = func() time.Time { return progressNow.Add(time.Minute) }
		r := submit(t, postgres.NewRegistrationStore(db, c), validRegistration("after-seed"))
		if r.Code != "TD-002001" {
			t.Errorf("next registration %s, want TD-002001", r.Code)
		}
		p := campaign.Pledge{Channel: "telegram", ChatID: "77", DonorKind: campaign.DonorIndividual, DonorName: "Lê Thị Hoa",
			Phone: "+84901234567", Delivery: campaign.DeliverToFront, IdempotencyKey: "after-seed",
			Items: []campaign.PledgeItem{{Kind: campaign.ItemTablet, Quantity: 1, Complete: true}}}
		if _, err := postgres.NewPledgeStore(db).SubmitPledge(t.Context(), &p); err != nil || p.Code != "PL-000101" {
			t.Errorf("next pledge %s (%v), want PL-000101", p.Code, err)
		}
		d := campaign.Device{Type: campaign.DeviceTablet, State: campaign.DeviceReady}
		if err := postgres.NewDeviceStore(db).IntakeDevice(t.Context(), &d, progressStaff, nil); err != nil || d.Label != "TB-000601" {
			t.Errorf("next device %s (%v), want TB-000601", d.Label, err)
		}
		var next, deliveries int
		if err := db.SQLX().QueryRow(`SELECT nextval('delivery_code_gh'), (SELECT count(*) FROM deliveries)`).Scan(&next, &deliveries); err != nil || next != deliveries+1 {
			t.Errorf("next delivery number %d (%v), want %d", next, err, deliveries+1)
		}
		checkCounters(t, db) // the stores' writes went through the triggers again
	})
}

func TestSeed_Deterministic(t *testing.T) {
	c := campaign.Default()
	opts := seed.Options{Students: 500, Devices: 200, Pledges: 40, Seed: 11, Now: progressNow}
	a, b, other := newDB(t), newDB(t), newDB(t)
	mustSeed(t, a, c, opts)
	mustSeed(t, b, c, opts)
	if fa, fb := fingerprint(t, a), fingerprint(t, b); fa != fb {
		t.Errorf("the same options made different data:\n%s\n%s", fa, fb)
	}
	opts.Seed = 12
	mustSeed(t, other, c, opts)
	fa, fo := fingerprint(t, a), fingerprint(t, other)
	for _, table := range []string{"registrations", "pledges", "devices"} {
		if strings.Contains(fo, table+"="+strings.SplitN(strings.SplitN(fa, table+"=", 2)[1], " ", 2)[0]) {
			t.Errorf("another seed made the same %s", table)
		}
	}
}

func TestSeed_BeforeHandover(t *testing.T) {
	db := newDB(t)
	c := campaign.Default()
	now := time.Date(2021, 9, 10, 12, 0, 0, 0, time.UTC)
	res := mustSeed(t, db, c, seed.Options{Students: 300, Seed: 5, Now: now})
	if res.Deliveries != 0 {
		t.Errorf("%d deliveries before the hand-over, want none", res.Deliveries)
	}
	zeroRows(t, db, "nothing allocated before the hand-over", `
		SELECT (SELECT count(*) FROM registrations WHERE status IN ('allocated', 'delivered'))
		     + (SELECT count(*) FROM devices WHERE state IN ('allocated', 'delivered'))`)
	checkSeeded(t, db, now)
	p := progress(t, postgres.NewProgressStore(db, c), now, "")
	sameProgress(t, p, counted(t, db, c, now, ""))
	if p.Registrations.Total != 300 || p.Registrations.NewToday == 0 || p.Planned != 0 {
		t.Errorf("on 10/9: %+v planned %d", p.Registrations, p.Planned)
	}
}

func TestSeed_AfterTheWindow(t *testing.T) {
	// Five days after the window, with more devices than verified children: every child that
	// can have a device has one, the devices left over are ready, and nothing was registered
	// after the window closed.
	db := newDB(t)
	c := campaign.Default()
	now := time.Date(2021, 10, 5, 3, 0, 0, 0, time.UTC)
	res := mustSeed(t, db, c, seed.Options{Students: 200, Devices: 400, Pledges: 10, Seed: 4, Now: now})
	if res.Devices != 400 || res.Pledges != 10 {
		t.Errorf("made %+v, want 400 devices and 10 pledges", res)
	}
	checkSeeded(t, db, now)
	zeroRows(t, db, "registered after the window", `SELECT count(*) FROM registrations WHERE created_at >= '2021-09-30 17:00Z'`)
	zeroRows(t, db, "a verified child without a device while devices are ready", `
		SELECT count(*) FROM registrations WHERE status = 'verified' AND EXISTS (SELECT 1 FROM devices WHERE state = 'ready')`)
	var delivered, ready int
	if err := db.SQLX().QueryRow(`SELECT count(*) FILTER (WHERE state = 'delivered'), count(*) FILTER (WHERE state = 'ready') FROM devices`).
		Scan(&delivered, &ready); err != nil || delivered == 0 || ready == 0 {
		t.Errorf("%d delivered, %d ready (%v): want both", delivered, ready, err)
	}
	p := progress(t, postgres.NewProgressStore(db, c), now, "")
	sameProgress(t, p, counted(t, db, c, now, ""))
	if p.InWindow || p.Planned != p.Registrations.Verified || p.Registrations.NewToday != 0 {
		t.Errorf("after the window: in window %v, planned %d of %d verified, new %d", p.InWindow, p.Planned, p.Registrations.Verified, p.Registrations.NewToday)
	}
}

func TestSeed_Refuses(t *testing.T) {
	c := campaign.Default()
	db := newDB(t)
	tests := []struct {
		name string
		opts seed.Options
		code string
	}{
		{"no students", seed.Options{Now: progressNow}, campaign.EINVALID},
		{"negative devices", seed.Options{Students: 10, Devices: -1, Now: progressNow}, campaign.EINVALID},
		{"before the window", seed.Options{Students: 10, Now: time.Date(2021, 8, 20, 0, 0, 0, 0, time.UTC)}, campaign.EINVALID},
		// 05:00 on the first day: registrations open at 06:00.
		{"before the first hour", seed.Options{Students: 10, Now: time.Date(2021, 8, 31, 22, 0, 0, 0, time.UTC)}, campaign.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := seed.Fill(t.Context(), db, c, tt.opts); campaign.ErrorCode(err) != tt.code {
				t.Errorf("Seed = %v, want %s", err, tt.code)
			}
		})
	}
	if n := countRows(t, db, "registrations"); n != 0 {
		t.Fatalf("a refused seed left %d registrations", n)
	}
	t.Run("a database with records", func(t *testing.T) {
		mustSeed(t, db, c, seed.Options{Students: 10, Seed: 1, Now: progressNow})
		_, err := seed.Fill(t.Context(), db, c, seed.Options{Students: 10, Seed: 2, Now: progressNow})
		if campaign.ErrorCode(err) != campaign.ECONFLICT {
			t.Errorf("second Seed = %v, want ECONFLICT", err)
		}
		if n := countRows(t, db, "registrations"); n != 10 {
			t.Errorf("%d registrations after the refused seed, want the first 10", n)
		}
	})
}

func TestSeed_WithoutSuperuser(t *testing.T) {
	// A role that may not turn triggers off: foreign keys are checked and counters kept by the
	// triggers, and the data is the same as a superuser's.
	admin, err := sql.Open("postgres", postgrestest.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	role := fmt.Sprintf("seed_test_%d", time.Now().UnixNano())
	if _, err := admin.Exec(`CREATE ROLE ` + pq.QuoteIdentifier(role) + ` LOGIN`); err != nil {
		t.Fatalf("create role: %v", err)
	}
	// Registered before the database, so it runs after the database is dropped.
	t.Cleanup(func() {
		drop, err := sql.Open("postgres", postgrestest.ServerURL())
		if err != nil {
			t.Errorf("drop role: %v", err)
			return
		}
		defer drop.Close()
		if _, err := drop.Exec(`DROP ROLE IF EXISTS ` + pq.QuoteIdentifier(role)); err != nil {
			t.Errorf("drop role: %v", err)
		}
	})
	dbURL := postgrestest.NewDatabaseURL(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(`ALTER DATABASE ` + pq.QuoteIdentifier(strings.TrimPrefix(u.Path, "/")) + ` OWNER TO ` + pq.QuoteIdentifier(role)); err != nil {
		t.Fatalf("give the database to %s: %v", role, err)
	}
	u.User = url.User(role)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	db, err := postgres.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := postgres.Migrate(ctx, db); err != nil {
		t.Fatalf("migrate as %s: %v", role, err)
	}
	var super bool
	if err := db.SQLX().Get(&super, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`); err != nil || super {
		t.Fatalf("connected as a superuser (%v)", err)
	}

	c := campaign.Default()
	opts := seed.Options{Students: 400, Seed: 9, Now: progressNow}
	mustSeed(t, db, c, opts)
	checkCounters(t, db)
	bySuperuser := newDB(t)
	mustSeed(t, bySuperuser, c, opts)
	if a, b := fingerprint(t, db), fingerprint(t, bySuperuser); a != b {
		t.Errorf("seeded without triggers differently:\n%s\n%s", a, b)
	}
}

// BenchmarkSeed measures seeding a million registrations (with 300,000 devices and 50,000
// pledges) into a fresh database.
func BenchmarkSeed(b *testing.B) {
	if testing.Short() {
		b.Skip("seeds a million registrations")
	}
	c := campaign.Default()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db := postgrestest.NewDB(b)
		b.StartTimer()
		res, err := seed.Fill(context.Background(), db, c, seed.Options{Students: 1_000_000, Devices: 300_000, Seed: int64(i), Now: progressNow})
		if err != nil {
			b.Fatalf("Seed: %v", err)
		}
		b.StopTimer()
		b.Logf("seeded %+v", res)
		_ = db.Close()
	}
}
