package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/thuduc/maytinhchoem/campaign"
)

// AuditLog records who saw or changed what, in the audit_log table.
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

// insertAudit writes e through q, so a store can audit inside its own transaction.
func insertAudit(ctx context.Context, q sqlx.ExecerContext, e campaign.AuditEntry) error {
	before, err := jsonOrNull(e.Before)
	if err != nil {
		return fmt.Errorf("postgres: audit %s: before: %w", e.Action, err)
	}
	after, err := jsonOrNull(e.After)
	if err != nil {
		return fmt.Errorf("postgres: audit %s: after: %w", e.Action, err)
	}
	_, err = q.ExecContext(ctx,
		`INSERT INTO audit_log (at, actor, action, subject, before, after) VALUES ($1, $2, $3, $4, $5, $6)`,
		e.At.UTC().Truncate(time.Microsecond), e.Actor, e.Action, e.Subject, before, after)
	if err != nil {
		return wrapErr(err, "postgres: audit "+e.Action)
	}
	return nil
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
