package postgres_test

import (
	"fmt"
	"regexp"
	"slices"
	"testing"

	"github.com/thuduc/maytinhchoem/campaign"
)

// The migrations' CHECK constraints on the status columns are written apart from campaign's
// lists of statuses: each must allow exactly the statuses campaign knows. (Constraints that tie
// a status to other columns, such as a delivered delivery's recipient, are not lists.) The constraint's values
// are read from its definition, and the definition is tried on a scratch table with each of
// campaign's statuses and an unknown one, so a definition of another shape than the one read
// fails too.
func TestStatusChecks_MatchCampaign(t *testing.T) {
	db := newDB(t)
	ctx := t.Context()
	columns := []struct {
		table, column string
		statuses      []string
	}{
		{"registrations", "status", stringsOf(campaign.RegistrationStatuses)},
		{"deliveries", "status", stringsOf(campaign.DeliveryStatuses)},
		{"devices", "state", stringsOf(campaign.DeviceStates)},
	}
	quoted := regexp.MustCompile(`'([^']*)'::text`)
	for _, c := range columns {
		t.Run(c.table+"."+c.column, func(t *testing.T) {
			var defs []string
			err := db.SQLX().SelectContext(ctx, &defs, `
				SELECT pg_get_constraintdef(k.oid) FROM pg_constraint k
				JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey)
				WHERE k.conrelid = $1::regclass AND k.contype = 'c' AND a.attname = $2
					AND cardinality(k.conkey) = 1`, c.table, c.column)
			if err != nil {
				t.Fatal(err)
			}
			if len(defs) != 1 {
				t.Fatalf("%d CHECK constraints on the column alone, want 1: %q", len(defs), defs)
			}
			var allowed []string
			for _, m := range quoted.FindAllStringSubmatch(defs[0], -1) {
				allowed = append(allowed, m[1])
			}
			slices.Sort(allowed)
			want := slices.Sorted(slices.Values(c.statuses))
			if !slices.Equal(allowed, want) {
				t.Errorf("the database allows %q, campaign knows %q (%s)", allowed, want, defs[0])
			}

			// The definition itself, on a scratch table of the one column.
			tx, err := db.SQLX().BeginTxx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback() }()
			probe := fmt.Sprintf(`CREATE TEMP TABLE probe (%s text, CONSTRAINT probe_check %s) ON COMMIT DROP`, c.column, defs[0])
			if _, err := tx.ExecContext(ctx, probe); err != nil {
				t.Fatalf("%s: %v", probe, err)
			}
			try := func(value string) bool {
				if _, err := tx.ExecContext(ctx, `SAVEPOINT try`); err != nil {
					t.Fatal(err)
				}
				_, err := tx.ExecContext(ctx, `INSERT INTO probe VALUES ($1)`, value)
				if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT try`); rerr != nil {
					t.Fatal(rerr)
				}
				return err == nil
			}
			for _, s := range c.statuses {
				if !try(s) {
					t.Errorf("campaign's %q is refused", s)
				}
			}
			if try("lost") {
				t.Error(`an unknown "lost" is allowed`)
			}
		})
	}
}

// stringsOf returns the values of a list of string kinds.
func stringsOf[S ~string](in []S) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}
