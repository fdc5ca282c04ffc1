package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/thuduc/maytinhchoem/campaign"
)

// AuditLog records who saw or changed what, in the audit_log table.
//
// The table is append-only (migration 00020): a trigger refuses every UPDATE, DELETE and
// TRUNCATE of it, whoever the database role, so an entry once written stays as it was. What
// goes in is therefore chosen so that it never has to come out again (see campaign.AuditLog):
// families and donors act as campaign.FamilyActor and campaign.DonorActor, never by their chat;
// subjects are codes; Before and After hold codes, states, counts and field names. Free texts (an
// official's question or reason, a parent's answer or message, a volunteer's note, a recipient's
// name, the words of a search) stay in their own tables, which an erasure empties; insertAudit
// refuses an entry that carries one under the keys they used to have (freeTextKeys). An
// erasure adds its tombstone and changes nothing else here (privacy.go).
type AuditLog struct {
	db *DB
}

var _ campaign.AuditLog = (*AuditLog)(nil)

// NewAuditLog returns an AuditLog writing to db.
func NewAuditLog(db *DB) *AuditLog {
	return &AuditLog{db: db}
}

// Audit appends e to the log. Before and After are stored as JSON; a zero At is taken from the
// database's clock.
func (a *AuditLog) Audit(ctx context.Context, e campaign.AuditEntry) error {
	if e.Actor == "" || e.Action == "" {
		return campaign.Errorf(campaign.EINVALID, "audit entry needs an actor and an action")
	}
	if e.At.IsZero() {
		e.At = a.db.now()
	}
	return insertAudit(ctx, a.db.db, e)
}

// freeTextKeys are the keys under which free texts once went into the audit log (a question or
// a reason as "text", a device's "note", a search's "query", ...): an entry with one of them at
// the top of Before or After is refused, so a free text cannot slip back into a log nobody can
// clean.
var freeTextKeys = []string{"text", "note", "query", "answer", "words", "recipient"}

// insertAudit writes e through q, so a store can audit inside its own transaction. An entry
// whose Before or After has one of freeTextKeys is EINVALID.
func insertAudit(ctx context.Context, q sqlx.ExecerContext, e campaign.AuditEntry) error {
	before, err := jsonOrNull(e.Before)
	if err != nil {
		return fmt.Errorf("postgres: audit %s: before: %w", e.Action, err)
	}
	after, err := jsonOrNull(e.After)
	if err != nil {
		return fmt.Errorf("postgres: audit %s: after: %w", e.Action, err)
	}
	for _, v := range []any{before, after} {
		if key := freeTextKey(v); key != "" {
			return campaign.Errorf(campaign.EINVALID, "audit %s: %q would keep a free text in the append-only log", e.Action, key)
		}
	}
	_, err = q.ExecContext(ctx,
		`INSERT INTO audit_log (at, actor, action, subject, before, after) VALUES ($1, $2, $3, $4, $5, $6)`,
		e.At.UTC().Truncate(time.Microsecond), e.Actor, e.Action, e.Subject, before, after)
	if err != nil {
		return wrapErr(err, "postgres: audit "+e.Action)
	}
	return nil
}

// freeTextKey returns the first of freeTextKeys that encoded, the JSON text jsonOrNull made, has
// at its top level, "" when none.
func freeTextKey(encoded any) string {
	text, ok := encoded.(string)
	if !ok || !strings.HasPrefix(text, "{") {
		return ""
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal([]byte(text), &fields) != nil {
		return ""
	}
	for _, k := range freeTextKeys {
		if _, ok := fields[k]; ok {
			return k
		}
	}
	return ""
}

// jsonOrNull encodes v as JSON text, or SQL NULL for nil.
func jsonOrNull(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// Entries returns the entries about subject, oldest first. Before and After come back as
// json.RawMessage (nil when none was recorded), for the caller to decode into its own type.
func (a *AuditLog) Entries(ctx context.Context, subject string) ([]campaign.AuditEntry, error) {
	var rows []struct {
		At      time.Time `db:"at"`
		Actor   string    `db:"actor"`
		Action  string    `db:"action"`
		Subject string    `db:"subject"`
		Before  []byte    `db:"before"`
		After   []byte    `db:"after"`
	}
	err := a.db.db.SelectContext(ctx, &rows,
		`SELECT at, actor, action, subject, before, after FROM audit_log WHERE subject = $1 ORDER BY at, id`,
		subject)
	if err != nil {
		return nil, wrapErr(err, "postgres: audit entries")
	}
	entries := make([]campaign.AuditEntry, 0, len(rows))
	for _, r := range rows {
		e := campaign.AuditEntry{At: r.At.UTC(), Actor: r.Actor, Action: r.Action, Subject: r.Subject}
		if r.Before != nil {
			e.Before = json.RawMessage(r.Before)
		}
		if r.After != nil {
			e.After = json.RawMessage(r.After)
		}
		entries = append(entries, e)
	}
	return entries, nil
}
