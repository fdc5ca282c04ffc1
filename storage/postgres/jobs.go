package postgres

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Limits of the outbox: a claim takes at most maxOutboxClaim messages, so that one sender cannot
// hold a whole broadcast under its lease; an error kept on a message is cut to maxOutboxError
// characters.
const (
	maxOutboxClaim = 500
	maxOutboxError = 1000
	maxJobError    = 4000
)

// JobRunStore records the runs of scheduled jobs in job_runs.
type JobRunStore struct {
	db *DB
}

var _ campaign.JobRunStore = (*JobRunStore)(nil)

// NewJobRunStore returns a JobRunStore over db.
func NewJobRunStore(db *DB) *JobRunStore { return &JobRunStore{db: db} }

// Claim inserts the run's row, or takes over the row of a run that failed, and reports whether
// this call got the run.
//
// The unique (job, run_key) is the guarantee: it holds across transactions, processes and any
// other writer of job_runs, so a run is claimed once whatever happens. The transaction-scoped
// advisory lock on the run comes first so that racing claimers queue on a cheap lock, released
// by commit, rollback or a dropped connection alike (a session lock could outlive a crash on a
// pooled connection): the loser's INSERT then starts after the winner committed, sees its row
// and does nothing, instead of making a speculative insertion that waits on the unique index and
// is thrown away. It also keeps the claim a critical section should it ever need to read before
// it writes.
func (s *JobRunStore) Claim(ctx context.Context, job, key string, scheduledFor time.Time, late bool) (bool, error) {
	if job == "" || key == "" {
		return false, campaign.Errorf(campaign.EINVALID, "a job run needs a job and a key")
	}
	var claimed bool
	err := s.db.tx(ctx, "claim job run", txOptions{}, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
			"job:"+job+":"+key); err != nil {
			return wrapErr(err, "postgres: claim job run: lock")
		}
		// A run that finished with an error is taken over again, up to MaxRunAttempts claims; one
		// still going, or one that died without finishing, is not (see campaign.JobRunStore).
		res, err := tx.ExecContext(ctx, `
			INSERT INTO job_runs (job, run_key, scheduled_for, started_at, late)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (job, run_key) DO UPDATE SET
				started_at = EXCLUDED.started_at, late = EXCLUDED.late, finished_at = NULL,
				result = NULL, error = '', attempts = job_runs.attempts + 1
			WHERE job_runs.finished_at IS NOT NULL AND job_runs.error <> '' AND job_runs.attempts < $6`,
			job, key, scheduledFor.UTC(), s.db.now(), late, campaign.MaxRunAttempts)
		if err != nil {
			return wrapErr(err, "postgres: claim job run")
		}
		n, err := res.RowsAffected()
		if err != nil {
			return wrapErr(err, "postgres: claim job run")
		}
		claimed = n == 1
		return nil
	})
	return claimed, err
}

// Finish stores the end of a claimed run. A result that cannot be marshalled to JSON is stored
// as an error, so the run is never left looking unfinished.
func (s *JobRunStore) Finish(ctx context.Context, job, key string, result any, runErr error) error {
	var resultJSON sql.NullString // NULL for a failed run; text, as binary parameters would be taken for jsonb's own binary format
	errText := ""
	if runErr != nil {
		errText = truncateRunes(runErr.Error(), maxJobError)
	} else {
		b, err := json.Marshal(result)
		if err != nil {
			errText = "result not stored: " + err.Error()
		} else {
			resultJSON = sql.NullString{String: string(b), Valid: true}
		}
	}
	res, err := s.db.db.ExecContext(ctx, `
		UPDATE job_runs SET finished_at = $3, result = $4::text::jsonb, error = $5
		WHERE job = $1 AND run_key = $2`,
		job, key, s.db.now(), resultJSON, errText)
	if err != nil {
		return wrapErr(err, "postgres: finish job run")
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrapErr(err, "postgres: finish job run")
	} else if n == 0 {
		return campaign.Errorf(campaign.ENOTFOUND, "no run %s of job %s", key, job)
	}
	return nil
}

type jobRunRow struct {
	Job          string       `db:"job"`
	Key          string       `db:"run_key"`
	ScheduledFor time.Time    `db:"scheduled_for"`
	StartedAt    time.Time    `db:"started_at"`
	FinishedAt   sql.NullTime `db:"finished_at"`
	Late         bool         `db:"late"`
	Result       []byte       `db:"result"`
	Error        string       `db:"error"`
}

// LastRun returns the job's run scheduled last.
func (s *JobRunStore) LastRun(ctx context.Context, job string) (campaign.JobRun, bool, error) {
	var row jobRunRow
	err := s.db.db.GetContext(ctx, &row, `
		SELECT job, run_key, scheduled_for, started_at, finished_at, late, result, error
		FROM job_runs WHERE job = $1 ORDER BY scheduled_for DESC, id DESC LIMIT 1`, job)
	if errors.Is(err, sql.ErrNoRows) {
		return campaign.JobRun{}, false, nil
	}
	if err != nil {
		return campaign.JobRun{}, false, wrapErr(err, "postgres: last job run")
	}
	run := campaign.JobRun{
		Job: row.Job, Key: row.Key, ScheduledFor: row.ScheduledFor.UTC(), StartedAt: row.StartedAt.UTC(),
		Late: row.Late, Error: row.Error,
	}
	if row.Result != nil {
		run.Result = json.RawMessage(row.Result)
	}
	if row.FinishedAt.Valid {
		run.FinishedAt = row.FinishedAt.Time.UTC()
	}
	return run, true, nil
}

// Outbox is the campaign.Outbox in the outbox table.
type Outbox struct {
	db *DB
}

var _ campaign.Outbox = (*Outbox)(nil)

// NewOutbox returns an Outbox over db.
func NewOutbox(db *DB) *Outbox { return &Outbox{db: db} }

// Enqueue inserts the messages whose key is new, in one statement, so a list of thousands costs
// one round trip and a repeated Enqueue of the same list adds nothing.
func (o *Outbox) Enqueue(ctx context.Context, msgs []campaign.OutboxMessage) (int, error) {
	return enqueue(ctx, o.db.db, o.db.now(), msgs)
}

// execer runs a statement on the pool or in a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// enqueue adds msgs to the outbox through ex (the pool, or the transaction of the change that
// causes them), each key once; it returns how many were new.
func enqueue(ctx context.Context, ex execer, now time.Time, msgs []campaign.OutboxMessage) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	n := len(msgs)
	keys, batches, channels, chats, texts, buttons := make(pq.StringArray, n), make(pq.StringArray, n),
		make(pq.StringArray, n), make(pq.StringArray, n), make(pq.StringArray, n), make(pq.StringArray, n)
	paths, names, lanes := make(pq.StringArray, n), make(pq.StringArray, n), make(pq.StringArray, n)
	photos, photoChannels := make(pq.StringArray, n), make(pq.StringArray, n)
	nextAt := make([]string, n)
	for i, m := range msgs {
		if m.Key == "" || m.Channel == "" || m.ChatID == "" {
			return 0, campaign.Errorf(campaign.EINVALID, "outbox message %d needs a key, a channel and a chat", i)
		}
		if m.Text == "" && m.FilePath == "" && m.PhotoID == "" {
			return 0, campaign.Errorf(campaign.EINVALID, "outbox message %s has neither text nor file", m.Key)
		}
		b, err := json.Marshal(nonNilRows(m.Buttons))
		if err != nil {
			return 0, fmt.Errorf("postgres: enqueue: buttons of %s: %w", m.Key, err)
		}
		keys[i], batches[i], channels[i], chats[i], texts[i], buttons[i] = m.Key, m.Batch, m.Channel, m.ChatID, m.Text, string(b)
		paths[i], names[i], lanes[i] = m.FilePath, m.FileName, string(m.Lane)
		photos[i], photoChannels[i] = m.PhotoID, m.PhotoChannel
		switch m.Lane {
		case campaign.OutboxNotice, campaign.OutboxBulk:
		case "":
			lanes[i] = string(campaign.OutboxBulk)
		default:
			return 0, campaign.Errorf(campaign.EINVALID, "outbox message %s has an unknown lane %q", m.Key, m.Lane)
		}
		at := now
		if m.NotBefore.After(now) {
			at = m.NotBefore.UTC()
		}
		nextAt[i] = at.Format(time.RFC3339Nano)
	}
	res, err := ex.ExecContext(ctx, `
		INSERT INTO outbox (key, batch, channel, chat_id, text, buttons, file_path, file_name,
		                    next_at, lane, photo_id, photo_channel, created_at, updated_at)
		SELECT k, b, c, ch, t, bt::jsonb, p, fn, na::timestamptz, l, ph, pc, $13, $13
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
		            $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])
		     WITH ORDINALITY AS m(k, b, c, ch, t, bt, p, fn, na, l, ph, pc, ord)
		ORDER BY ord
		ON CONFLICT (key) DO NOTHING`,
		keys, batches, channels, chats, texts, buttons, paths, names, pq.StringArray(nextAt), lanes, photos, photoChannels, now)
	if err != nil {
		return 0, wrapErr(err, "postgres: enqueue")
	}
	added, err := res.RowsAffected()
	if err != nil {
		return 0, wrapErr(err, "postgres: enqueue")
	}
	return int(added), nil
}

// laneRank orders lanes as Claim takes them: notices first.
func laneRank(l campaign.OutboxLane) int {
	if l == campaign.OutboxNotice {
		return 0
	}
	return 1
}

// notifyIn queues in tx, the transaction of a change, the messages notify gives for rec as the
// change left it (see campaign.Notify); a nil notify queues nothing.
func notifyIn[T any](ctx context.Context, tx execer, now time.Time, notify campaign.Notify[T], rec T) error {
	if notify == nil {
		return nil
	}
	_, err := enqueue(ctx, tx, now, reachable(notify(rec)))
	return err
}

func nonNilRows(rows [][]campaign.OutboxButton) [][]campaign.OutboxButton {
	if rows == nil {
		return [][]campaign.OutboxButton{}
	}
	return rows
}

type outboxRow struct {
	ID        int64     `db:"id"`
	Key       string    `db:"key"`
	Batch     string    `db:"batch"`
	Channel   string    `db:"channel"`
	ChatID    string    `db:"chat_id"`
	Text      string    `db:"text"`
	Buttons   []byte    `db:"buttons"`
	FilePath  string    `db:"file_path"`
	FileName  string    `db:"file_name"`
	Lane      string    `db:"lane"`
	PhotoID   string    `db:"photo_id"`
	PhotoChan string    `db:"photo_channel"`
	Status    string    `db:"status"`
	Attempts  int       `db:"attempts"`
	NextAt    time.Time `db:"next_at"`
	LastError string    `db:"last_error"`
	CreatedAt time.Time `db:"created_at"`
}

func (r outboxRow) message() (campaign.OutboxMessage, error) {
	m := campaign.OutboxMessage{
		ID: r.ID, Key: r.Key, Batch: r.Batch, Channel: r.Channel, ChatID: r.ChatID, Text: r.Text,
		FilePath: r.FilePath, FileName: r.FileName, Lane: campaign.OutboxLane(r.Lane), Status: campaign.OutboxStatus(r.Status),
		PhotoID: r.PhotoID, PhotoChannel: r.PhotoChan,
		Attempts: r.Attempts, NotBefore: r.NextAt.UTC(), LastError: r.LastError, CreatedAt: r.CreatedAt.UTC(),
	}
	if err := json.Unmarshal(r.Buttons, &m.Buttons); err != nil {
		return m, fmt.Errorf("postgres: outbox message %d: buttons: %w", r.ID, err)
	}
	if len(m.Buttons) == 0 {
		m.Buttons = nil
	}
	return m, nil
}

// Claim takes due messages with FOR UPDATE SKIP LOCKED, so that senders claiming at the same
// moment each get different messages instead of waiting for each other, and marks them
// 'sending' until now+lease in the same statement.
//
// A message still 'sending' after its lease is claimed again: its sender died, or lost its
// connection, before it could record the outcome. This is the one way a person can get a message
// twice, since the send may have reached the channel before the crash. Senders keep the window
// small: a short lease renewed while they wait on the channel's pace, a graceful stop that
// finishes the sends under way and releases the messages not started, and a fenced MarkSent
// (see OutboxMessage.Attempts) right after each send.
//
// Notices come before bulk: a sender busy with a broadcast takes a decision's message to a parent
// in its next claim, and a sender of notices alone (lane OutboxNotice) takes it at once.
func (o *Outbox) Claim(ctx context.Context, lane campaign.OutboxLane, limit int, lease time.Duration) ([]campaign.OutboxMessage, error) {
	if lease <= 0 {
		return nil, campaign.Errorf(campaign.EINVALID, "an outbox lease must be positive")
	}
	if lane != "" && lane != campaign.OutboxNotice && lane != campaign.OutboxBulk {
		return nil, campaign.Errorf(campaign.EINVALID, "unknown outbox lane %q", lane)
	}
	limit = clampLimit(limit, 50, maxOutboxClaim)
	now := o.db.now()
	var rows []outboxRow
	err := o.db.db.SelectContext(ctx, &rows, `
		WITH due AS (
			SELECT id FROM outbox
			WHERE ((status = 'pending' AND next_at <= $1) OR (status = 'sending' AND lease_until <= $1))
			  AND ($4 = '' OR lane = $4)
			ORDER BY lane = 'bulk', id
			LIMIT $2
			FOR UPDATE SKIP LOCKED
		)
		UPDATE outbox o SET status = 'sending', lease_until = $3, attempts = o.attempts + 1, updated_at = $1
		FROM due WHERE o.id = due.id
		RETURNING o.id, o.key, o.batch, o.channel, o.chat_id, o.text, o.buttons, o.file_path,
			o.file_name, o.lane, o.photo_id, o.photo_channel, o.status, o.attempts, o.next_at, o.last_error, o.created_at`,
		now, limit, now.Add(lease), string(lane))
	if err != nil {
		return nil, wrapErr(err, "postgres: claim outbox")
	}
	out := make([]campaign.OutboxMessage, 0, len(rows))
	for _, r := range rows {
		m, err := r.message()
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	// RETURNING gives no order; a sender keeps one chat's messages in the order they were queued,
	// its notices first.
	slices.SortFunc(out, func(a, b campaign.OutboxMessage) int {
		if c := cmp.Compare(laneRank(a.Lane), laneRank(b.Lane)); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// fence returns the ids and attempt counts of msgs, which the statements below match on so that
// they touch only messages still under the claim that returned them.
func fence(msgs []campaign.OutboxMessage) (pq.Int64Array, pq.Int64Array) {
	ids, attempts := make(pq.Int64Array, len(msgs)), make(pq.Int64Array, len(msgs))
	for i, m := range msgs {
		ids[i], attempts[i] = m.ID, int64(m.Attempts)
	}
	return ids, attempts
}

// Renew extends the leases of msgs still being sent under their claim.
func (o *Outbox) Renew(ctx context.Context, msgs []campaign.OutboxMessage, lease time.Duration) error {
	if len(msgs) == 0 {
		return nil
	}
	ids, attempts := fence(msgs)
	now := o.db.now()
	_, err := o.db.db.ExecContext(ctx, `
		UPDATE outbox o SET lease_until = $3, updated_at = $4
		FROM unnest($1::bigint[], $2::bigint[]) AS f(id, attempts)
		WHERE o.id = f.id AND o.attempts = f.attempts AND o.status = 'sending'`,
		ids, attempts, now.Add(lease), now)
	if err != nil {
		return wrapErr(err, "postgres: renew outbox leases")
	}
	return nil
}

// Release puts msgs back as pending and due at once. The claim is not counted as an attempt,
// since nothing was tried.
func (o *Outbox) Release(ctx context.Context, msgs []campaign.OutboxMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	ids, attempts := fence(msgs)
	now := o.db.now()
	_, err := o.db.db.ExecContext(ctx, `
		UPDATE outbox o SET status = 'pending', lease_until = NULL, attempts = o.attempts - 1,
			next_at = $3, updated_at = $3
		FROM unnest($1::bigint[], $2::bigint[]) AS f(id, attempts)
		WHERE o.id = f.id AND o.attempts = f.attempts AND o.status = 'sending'`,
		ids, attempts, now)
	if err != nil {
		return wrapErr(err, "postgres: release outbox messages")
	}
	return nil
}

// finish moves a claimed message out of 'sending' with set (an SQL SET list whose parameters
// start at $4), or returns campaign.ErrLeaseLost when the claim is no longer m's.
func (o *Outbox) finish(ctx context.Context, what string, m campaign.OutboxMessage, set string, args ...any) error {
	args = append([]any{m.ID, m.Attempts, o.db.now()}, args...)
	res, err := o.db.db.ExecContext(ctx, `
		UPDATE outbox SET lease_until = NULL, updated_at = $3, `+set+`
		WHERE id = $1 AND attempts = $2 AND status = 'sending'`, args...)
	if err != nil {
		return wrapErr(err, "postgres: "+what)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr(err, "postgres: "+what)
	}
	if n == 0 {
		return fmt.Errorf("postgres: %s: message %d, attempt %d: %w", what, m.ID, m.Attempts, campaign.ErrLeaseLost)
	}
	return nil
}

// MarkSent records that m was sent.
func (o *Outbox) MarkSent(ctx context.Context, m campaign.OutboxMessage) error {
	return o.finish(ctx, "mark sent", m, `status = 'sent', sent_at = $3, last_error = ''`)
}

// MarkFailed records a failed attempt at m, to be retried at retryAt, or for good when retryAt
// is zero.
func (o *Outbox) MarkFailed(ctx context.Context, m campaign.OutboxMessage, reason string, retryAt time.Time) error {
	reason = truncateRunes(reason, maxOutboxError)
	if retryAt.IsZero() {
		return o.finish(ctx, "mark failed", m, `status = 'failed', last_error = $4`, reason)
	}
	return o.finish(ctx, "mark failed", m, `status = 'pending', last_error = $4, next_at = $5`, reason, retryAt.UTC())
}

// MarkStopped records that the person of m's chat blocked the bot, and stops the chat's other
// pending messages in the same transaction.
func (o *Outbox) MarkStopped(ctx context.Context, m campaign.OutboxMessage) error {
	return o.db.tx(ctx, "mark stopped", txOptions{}, func(tx *sqlx.Tx) error {
		now := o.db.now()
		res, err := tx.ExecContext(ctx, `
			UPDATE outbox SET status = 'stopped', lease_until = NULL, updated_at = $3
			WHERE id = $1 AND attempts = $2 AND status = 'sending'`, m.ID, m.Attempts, now)
		if err != nil {
			return wrapErr(err, "postgres: mark stopped")
		}
		if n, err := res.RowsAffected(); err != nil {
			return wrapErr(err, "postgres: mark stopped")
		} else if n == 0 {
			return fmt.Errorf("postgres: mark stopped: message %d, attempt %d: %w", m.ID, m.Attempts, campaign.ErrLeaseLost)
		}
		// Messages of the chat being sent by another sender are left to it: it meets the same
		// refusal and records it.
		if _, err := tx.ExecContext(ctx, `
			UPDATE outbox SET status = 'stopped', updated_at = $3
			WHERE channel = $1 AND chat_id = $2 AND status = 'pending'`, m.Channel, m.ChatID, now); err != nil {
			return wrapErr(err, "postgres: mark stopped")
		}
		return nil
	})
}

// MarkUnreachable records that the channel would not carry m because its person is out of the
// channel's window (Zalo's 7 days without writing to the OA): m ends in status 'unreachable',
// final, with reason kept as its last error. Like MarkFailed it applies only while m is still
// under the claim that returned it (campaign.ErrLeaseLost otherwise). The chat's other pending
// messages are left pending, unlike MarkStopped's: the person may write again before they are due.
func (o *Outbox) MarkUnreachable(ctx context.Context, m campaign.OutboxMessage, reason string) error {
	return o.finish(ctx, "mark unreachable", m, `status = 'unreachable', last_error = $4`,
		truncateRunes(reason, maxOutboxError))
}

// BatchProgress counts the batch's messages by status. Messages settled as unreachable are
// counted in failed, which is what they are to a caller that knows only these four counts; the
// broadcast's progress (BroadcastStore.BroadcastProgress) tells them apart.
func (o *Outbox) BatchProgress(ctx context.Context, batch string) (queued, sent, failed, stopped int, err error) {
	c, err := o.batchCounts(ctx, batch)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	return c.queued, c.sent, c.failed + c.unreachable, c.stopped, nil
}

// outboxUnreachable is the status MarkUnreachable gives a message.
const outboxUnreachable campaign.OutboxStatus = "unreachable"

// batchCounts is where a batch's messages stand; queued counts those pending or being sent.
type batchCounts struct {
	queued, sent, failed, stopped, unreachable int
}

// batchCounts counts the batch's messages by status.
func (o *Outbox) batchCounts(ctx context.Context, batch string) (batchCounts, error) {
	var c batchCounts
	rows, err := o.db.db.QueryContext(ctx, `SELECT status, count(*) FROM outbox WHERE batch = $1 GROUP BY status`, batch)
	if err != nil {
		return c, wrapErr(err, "postgres: batch progress")
	}
	defer rows.Close()
	for rows.Next() {
		var status string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			return batchCounts{}, wrapErr(err, "postgres: batch progress")
		}
		switch campaign.OutboxStatus(status) {
		case campaign.OutboxPending, campaign.OutboxSending:
			c.queued += n
		case campaign.OutboxSent:
			c.sent += n
		case campaign.OutboxFailed:
			c.failed += n
		case campaign.OutboxStopped:
			c.stopped += n
		case outboxUnreachable:
			c.unreachable += n
		}
	}
	if err := rows.Err(); err != nil {
		return batchCounts{}, wrapErr(err, "postgres: batch progress")
	}
	return c, nil
}
