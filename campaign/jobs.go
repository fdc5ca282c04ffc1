package campaign

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// JobRun is one run of a scheduled job, as recorded by a JobRunStore.
type JobRun struct {
	Job string
	// Key names the run within its job, such as the local date "2021-09-20" of a daily job: a job
	// runs at most once per key, however many processes try.
	Key          string
	ScheduledFor time.Time
	StartedAt    time.Time
	// FinishedAt is zero while the run goes on, or when the process died during it.
	FinishedAt time.Time
	// Late is set on a catch-up run, made after its time because the bot was down then.
	Late bool
	// Result is the run's result as JSON, null when it failed.
	Result json.RawMessage
	// Error is the run's error, empty when it succeeded.
	Error string
}

// MaxRunAttempts is how many times a run that keeps failing is claimed before it is given up.
const MaxRunAttempts = 5

// JobRunStore records the runs of scheduled jobs, so that of several bot processes sharing one
// database exactly one runs each job for each key.
type JobRunStore interface {
	// Claim records that the run (job, key) starts now and reports whether this caller got it:
	// false when any process claimed the same run before, unless that run finished with an error,
	// which is handed out again up to MaxRunAttempts claims in all (the jobs queue their messages
	// under unique keys, so a retry repeats nothing that went). A run still going, or whose
	// process died during it, is never handed out again: the run is lost rather than done twice,
	// for jobs that message people the worse failure.
	Claim(ctx context.Context, job, key string, scheduledFor time.Time, late bool) (claimed bool, err error)
	// Finish records how a claimed run ended: result (stored as JSON) when runErr is nil,
	// runErr's text otherwise.
	Finish(ctx context.Context, job, key string, result any, runErr error) error
	// LastRun returns the job's most recently scheduled run, and false when it never ran.
	LastRun(ctx context.Context, job string) (JobRun, bool, error)
}

// OutboxStatus is where a message of the outbox stands.
type OutboxStatus string

// The states of an outbox message. A message goes pending -> sending (claimed by one sender,
// under a lease) -> sent, failed, stopped or unreachable; a failed attempt that may succeed later
// goes back to pending with a later NotBefore.
const (
	OutboxPending OutboxStatus = "pending"
	OutboxSending OutboxStatus = "sending"
	OutboxSent    OutboxStatus = "sent"
	OutboxFailed  OutboxStatus = "failed"
	OutboxStopped OutboxStatus = "stopped"
	// OutboxUnreachable: the channel would not carry it to the person now (outside Zalo's 7-day
	// window), which reports count apart from failures.
	OutboxUnreachable OutboxStatus = "unreachable"
)

// OutboxButton is an inline button under an outbox message.
type OutboxButton struct {
	Text string `json:"text"`
	Data string `json:"data"`
}

// OutboxMessage is a message waiting in, or taken from, the outbox.
type OutboxMessage struct {
	ID int64
	// Key is unique over the outbox, such as "summary:2021-09-20:telegram:123": enqueuing a
	// message whose key is already there adds nothing, so a job that runs again, or a broadcast
	// resumed after a crash, never queues anyone twice.
	Key string
	// Batch groups the messages whose progress is shown together, such as a broadcast's id.
	Batch   string
	Channel string
	ChatID  string
	Text    string
	// Buttons are the rows of inline buttons under the message.
	Buttons [][]OutboxButton
	// FilePath, when set, sends that file (a chart, a workbook) with Text as its caption, under
	// FileName. The outbox never removes it: one file may go to many people, and a retry needs it.
	FilePath string
	FileName string
	// PhotoID, when set, sends that photo by the channel's reference (a parent's photo for the
	// official who asked), with Text as its caption; PhotoChannel is the channel it came from.
	PhotoID, PhotoChannel string
	// NotBefore is when the message may go first; zero means at once.
	NotBefore time.Time
	// Lane says which messages go first when the budget is short: a notice to one person about
	// their own case (a decision, a delivery, an answer) before bulk (broadcasts, summaries,
	// reminders). Empty is bulk.
	Lane      OutboxLane
	CreatedAt time.Time
	Status    OutboxStatus
	// Attempts counts the claims of the message, this one included. A sender's MarkSent and the
	// like apply only while the message is still under the claim that gave this count, so a
	// sender whose lease ran out cannot undo the work of the one that took the message over.
	Attempts  int
	LastError string
}

// OutboxLane is how urgent an outbox message is: notices are claimed and paced before bulk.
type OutboxLane string

// The outbox's lanes.
const (
	OutboxNotice OutboxLane = "notice"
	OutboxBulk   OutboxLane = "bulk"
)

// Notify builds, from a record as a change left it, the messages that change sends to other
// people: the parent told of an official's decision, the donor of a delivery, the official of a
// parent's answer. A store queues them in the outbox in the change's own transaction, so they go
// exactly when the change is kept, and not again when the change is repeated with the same
// key. A nil Notify sends nothing.
type Notify[T any] func(T) []OutboxMessage

// ErrLeaseLost is returned when a sender reports on an outbox message whose lease ran out and
// which another sender claimed since, or which is no longer being sent.
var ErrLeaseLost = errors.New("outbox: lease lost")

// Outbox is a queue of messages in the database, drained by one or more senders. It is what
// lets a broadcast survive a restart without sending anyone a message twice.
type Outbox interface {
	// Enqueue adds messages whose Key is not in the outbox yet and returns how many it added.
	Enqueue(ctx context.Context, msgs []OutboxMessage) (added int, err error)
	// Claim takes up to limit messages due now, notices before bulk and oldest first within a
	// lane, for lease: until the lease ends no other Claim returns them. A message whose lease
	// ended while it was being sent (its sender died) is due again. lane OutboxNotice takes
	// notices only; "" takes both.
	Claim(ctx context.Context, lane OutboxLane, limit int, lease time.Duration) ([]OutboxMessage, error)
	// Renew extends the leases of claimed messages still being sent, for a sender that is slowed
	// down (throttled, paced) but alive.
	Renew(ctx context.Context, msgs []OutboxMessage, lease time.Duration) error
	// Release gives claimed messages back unsent, due at once, for a sender shutting down.
	Release(ctx context.Context, msgs []OutboxMessage) error
	// MarkSent records that a claimed message was sent.
	MarkSent(ctx context.Context, m OutboxMessage) error
	// MarkFailed records a failed attempt: the message is due again at retryAt, or failed for
	// good when retryAt is zero.
	MarkFailed(ctx context.Context, m OutboxMessage, reason string, retryAt time.Time) error
	// MarkStopped records that the person blocked the bot; the chat's other pending messages are
	// stopped with it, as each would only meet the same refusal.
	MarkStopped(ctx context.Context, m OutboxMessage) error
	// MarkUnreachable records that the channel would not carry m to the person now (they have
	// not written within the channel's window); the chat's other messages stay as they are.
	MarkUnreachable(ctx context.Context, m OutboxMessage, reason string) error
	// BatchProgress counts a batch's messages by where they stand; queued counts those pending
	// or being sent.
	BatchProgress(ctx context.Context, batch string) (queued, sent, failed, stopped int, err error)
}
