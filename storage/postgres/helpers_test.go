package postgres_test

import (
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	"github.com/thuduc/maytinhchoem/storage/postgres/postgrestest"
)

// campaignDay returns a moment of the default campaign, where the tests stand.
func campaignDay() time.Time { return time.Date(2021, 9, 15, 2, 0, 0, 0, time.UTC) }

// testClock is a clock that moves one second on each reading, so rows written one after the other
// have different times.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// emptyDB returns a pool over a new database with nothing in it, closed at the test's end.
func emptyDB(t testing.TB) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(t.Context(), postgrestest.NewDatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// dbAtVersion returns a new database migrated up to version and no further, for the tests of a
// migration over the rows an earlier schema held.
func dbAtVersion(t testing.TB, version int64) *postgres.DB {
	t.Helper()
	db := emptyDB(t)
	if err := postgres.MigrateTo(t.Context(), db, version); err != nil {
		t.Fatal(err)
	}
	return db
}

// newDB returns a fresh migrated database whose clock is a testClock on campaignDay.
func newDB(t testing.TB) *postgres.DB {
	t.Helper()
	db := postgrestest.NewDB(t)
	db.Now = (&testClock{t: campaignDay()}).Now
	return db
}

// validRegistration returns a complete registration from chat 1001 with the given key.
func validRegistration(key string) campaign.Registration {
	return campaign.Registration{
		Channel:         "telegram",
		ChatID:          "1001",
		UserID:          "1001",
		Language:        "vi",
		ParentName:      "Trần Thị Bình",
		ParentPhone:     "+84903123456",
		StudentName:     "Nguyễn Văn An",
		BirthDate:       time.Date(2012, 5, 3, 0, 0, 0, 0, time.UTC),
		Level:           campaign.LevelPrimary,
		Grade:           4,
		School:          "Trường Tiểu học Linh Trung",
		WardCode:        "26800", // Phường Linh Trung
		Address:         "12 đường số 8, khu phố 3",
		Circumstances:   []campaign.Circumstance{campaign.CircumstancePoor},
		DeviceSituation: campaign.SituationSharesPhone,
		Needs:           []campaign.Need{campaign.NeedTablet, campaign.NeedSIM4G},
		IdempotencyKey:  key,
		ConsentAt:       time.Date(2021, 9, 15, 1, 30, 0, 0, time.UTC),
	}
}

// submit stores r and fails the test on an error.
func submit(t testing.TB, s *postgres.RegistrationStore, r campaign.Registration) campaign.Registration {
	t.Helper()
	created, err := s.SubmitRegistration(t.Context(), &r)
	if err != nil {
		t.Fatalf("SubmitRegistration(%s): %v", r.IdempotencyKey, err)
	}
	if !created {
		t.Fatalf("SubmitRegistration(%s): created = false, want true", r.IdempotencyKey)
	}
	return r
}

// countRows counts the rows of a table.
func countRows(t testing.TB, db *postgres.DB, table string) int {
	t.Helper()
	var n int
	if err := db.SQLX().Get(&n, "SELECT count(*) FROM "+table); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}
