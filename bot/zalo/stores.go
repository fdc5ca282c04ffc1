package zalo

import (
	"context"
	"time"
)

// What the adapter keeps outside the process. The interfaces speak bytes and strings so the stores
// (storage/postgres, storage/redis) need not know this package; cmd wires them.

// RecordStore keeps small records every replica shares, durably (PostgreSQL): the OA's token pair.
type RecordStore interface {
	// LoadRecord returns the record stored under key, nil when there is none.
	LoadRecord(ctx context.Context, key string) ([]byte, error)
	// UpdateRecord runs fn with the record stored under key (nil when none) while holding a lock
	// every replica shares, stores what fn returns, and returns it once it is stored for good
	// (committed). When fn fails nothing is stored and its error is returned. Two replicas calling
	// UpdateRecord at once run their fns one after the other, the second seeing what the first
	// stored.
	UpdateRecord(ctx context.Context, key string, fn func(current []byte) ([]byte, error)) ([]byte, error)
}

// MenuStore remembers, per chat, the choices of the last question shown as a numbered list, so a
// typed "3" or a typed label can be taken as that choice (Redis).
type MenuStore interface {
	// SetMenu stores data as chatID's menu for ttl, replacing any earlier one.
	SetMenu(ctx context.Context, chatID string, data []byte, ttl time.Duration) error
	// TakeMenu returns the menu chatID had when the event eventID first asked (nil when none),
	// removing it then: a later event gets nothing, while eventID asking again (Zalo delivered
	// it twice, or its handling failed and it is offered again) gets the same answer, so a
	// duplicate neither maps differently nor takes the next question's menu.
	TakeMenu(ctx context.Context, chatID, eventID string) ([]byte, error)
	// ClearMenu removes chatID's menu, if any.
	ClearMenu(ctx context.Context, chatID string) error
}

// Interactions remembers when each person last interacted with the OA (wrote, followed, tapped a
// button), which decides whether Zalo's 7-day window lets the OA write to them (Redis).
type Interactions interface {
	// Touch records an interaction of userID at at; an earlier time never replaces a later one.
	Touch(ctx context.Context, userID string, at time.Time) error
	// LastInteraction returns userID's last recorded interaction, the zero time when unknown.
	LastInteraction(ctx context.Context, userID string) (time.Time, error)
}

// Inbox is the durable hand-off between the webhook, which must answer Zalo within 2 seconds, and
// the handling of the events (a Redis stream with a consumer group). An event pulled and not
// acknowledged is pulled again (by any replica) once it has been pending for a while.
type Inbox interface {
	// Push stores one raw event durably; when it returns nil the event will be handled.
	Push(ctx context.Context, data []byte) error
	// Pull returns up to max events, waiting up to wait for the first; ids[i] is data[i]'s id.
	Pull(ctx context.Context, max int, wait time.Duration) (ids []string, data [][]byte, err error)
	// Ack marks events handled for good.
	Ack(ctx context.Context, ids ...string) error
}

// FileLinks publishes a file that Zalo cannot carry (a workbook) as a short-lived download link.
type FileLinks interface {
	// Link keeps a copy of the file at path, shown as name, for ttl and returns a URL where the
	// person it is sent to can download it until then.
	Link(ctx context.Context, path, name string, ttl time.Duration) (url string, err error)
}
