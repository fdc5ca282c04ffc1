package postgres

import (
	"context"
	"database/sql"
	"errors"

	"github.com/lib/pq"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/internal/roundtrip"
)

// ContactStore keeps the people the bot talks to, in the contacts table.
type ContactStore struct {
	db *DB
	// reach shares the round trips of contacts found reachable at the same moment.
	reach *roundtrip.Sharer[reachCall]
}

var _ campaign.ContactStore = (*ContactStore)(nil)

// NewContactStore returns a ContactStore over db.
func NewContactStore(db *DB) *ContactStore {
	return &ContactStore{db: db, reach: newReachTrips(db)}
}

// UpsertContact creates or updates the contact of c.Channel and c.ExternalID. An empty Role, Name
// or Language leaves the stored one as it is, so a caller that knows only part of a contact (a
// chat update carries no role) does not erase the rest; Stopped is stored as given. Unreachable
// is not written here: only SetContactUnreachable changes it.
func (s *ContactStore) UpsertContact(ctx context.Context, c campaign.Contact) error {
	c.Channel = campaign.NormalizeText(c.Channel)
	c.ExternalID = campaign.NormalizeText(c.ExternalID)
	if c.Channel == "" || c.ExternalID == "" {
		return campaign.Errorf(campaign.EINVALID, "contact needs a channel and an external id")
	}
	now := s.db.now()
	_, err := s.db.db.ExecContext(ctx, `
		INSERT INTO contacts (channel, external_id, name, language, role, stopped, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
		ON CONFLICT (channel, external_id) DO UPDATE SET
			name       = CASE WHEN EXCLUDED.name = '' THEN contacts.name ELSE EXCLUDED.name END,
			language   = CASE WHEN EXCLUDED.language = '' THEN contacts.language ELSE EXCLUDED.language END,
			role       = CASE WHEN EXCLUDED.role = '' THEN contacts.role ELSE EXCLUDED.role END,
			stopped    = EXCLUDED.stopped,
			updated_at = EXCLUDED.updated_at`,
		c.Channel, c.ExternalID, campaign.NormalizeText(c.Name), campaign.NormalizeText(c.Language),
		campaign.NormalizeText(c.Role), c.Stopped, now)
	if err != nil {
		return wrapErr(err, "postgres: upsert contact")
	}
	return nil
}

// SetContactStopped records that a contact blocked (stopped) or unblocked the bot. An unknown
// contact is created, so a block that arrives before any message is not lost.
func (s *ContactStore) SetContactStopped(ctx context.Context, channel, externalID string, stopped bool) error {
	channel, externalID = campaign.NormalizeText(channel), campaign.NormalizeText(externalID)
	if channel == "" || externalID == "" {
		return campaign.Errorf(campaign.EINVALID, "contact needs a channel and an external id")
	}
	_, err := s.db.db.ExecContext(ctx, `
		INSERT INTO contacts (channel, external_id, stopped, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $4)
		ON CONFLICT (channel, external_id) DO UPDATE SET
			stopped = EXCLUDED.stopped, updated_at = EXCLUDED.updated_at`,
		channel, externalID, stopped, s.db.now())
	if err != nil {
		return wrapErr(err, "postgres: set contact stopped")
	}
	return nil
}

// SetContactUnreachable records whether the channel refuses to carry messages to a contact until
// they write again (Zalo's 7-day window). true stamps the time it was first found so, keeping an
// earlier stamp, and creates an unknown contact as SetContactStopped does; false clears it. Either
// way a contact already in that state is not written, so calling it on every message is cheap.
func (s *ContactStore) SetContactUnreachable(ctx context.Context, channel, externalID string, unreachable bool) error {
	channel, externalID = campaign.NormalizeText(channel), campaign.NormalizeText(externalID)
	if channel == "" || externalID == "" {
		return campaign.Errorf(campaign.EINVALID, "contact needs a channel and an external id")
	}
	var err error
	if unreachable {
		_, err = s.db.db.ExecContext(ctx, `
			INSERT INTO contacts (channel, external_id, unreachable_since, created_at, updated_at)
			VALUES ($1, $2, $3, $3, $3)
			ON CONFLICT (channel, external_id) DO UPDATE SET
				unreachable_since = EXCLUDED.unreachable_since, updated_at = EXCLUDED.updated_at
			WHERE contacts.unreachable_since IS NULL`,
			channel, externalID, s.db.now())
	} else {
		c := &reachCall{ctx: ctx, channel: channel, id: externalID}
		s.reach.Run(c)
		err = c.err
	}
	if err != nil {
		return wrapErr(err, "postgres: set contact unreachable")
	}
	return nil
}

// Contact returns the contact of externalID on channel, or an ENOTFOUND error.
func (s *ContactStore) Contact(ctx context.Context, channel, externalID string) (campaign.Contact, error) {
	var c campaign.Contact
	err := s.db.db.QueryRowxContext(ctx, `
		SELECT channel, external_id, name, language, role, stopped, unreachable_since IS NOT NULL
		FROM contacts WHERE channel = $1 AND external_id = $2`,
		campaign.NormalizeText(channel), campaign.NormalizeText(externalID),
	).Scan(&c.Channel, &c.ExternalID, &c.Name, &c.Language, &c.Role, &c.Stopped, &c.Unreachable)
	if errors.Is(err, sql.ErrNoRows) {
		return campaign.Contact{}, campaign.Errorf(campaign.ENOTFOUND, "contact %s:%s not found", channel, externalID)
	}
	if err != nil {
		return campaign.Contact{}, wrapErr(err, "postgres: contact")
	}
	return c, nil
}

// reachCall is one contact whose unreachable mark to clear, and the result of its trip.
type reachCall struct {
	ctx         context.Context
	channel, id string
	err         error
}

// maxReachTrip bounds the contacts of one statement.
const maxReachTrip = 256

// newReachTrips clears the unreachable mark of the contacts that wrote at the same moment in one
// statement: on Zalo every message a person sends clears theirs (a no-op but for the first after
// the 7-day window closed), so under load one round trip serves many messages (see
// roundtrip.Sharer).
func newReachTrips(db *DB) *roundtrip.Sharer[reachCall] {
	return &roundtrip.Sharer[reachCall]{Max: maxReachTrip, Do: func(trip []*reachCall) {
		channels, ids := make([]string, len(trip)), make([]string, len(trip))
		for i, c := range trip {
			channels[i], ids[i] = c.channel, c.id
		}
		// The trip is shared, so no one caller's cancellation cuts it off; statement_timeout
		// bounds it.
		_, err := db.db.ExecContext(context.WithoutCancel(trip[0].ctx), `
			UPDATE contacts SET unreachable_since = NULL, updated_at = $1
			FROM unnest($2::text[], $3::text[]) AS w(channel, external_id)
			WHERE contacts.channel = w.channel AND contacts.external_id = w.external_id
				AND contacts.unreachable_since IS NOT NULL`,
			db.now(), pq.Array(channels), pq.Array(ids))
		if err != nil {
			err = wrapErr(err, "postgres: set contact reachable")
		}
		for _, c := range trip {
			c.err = err
		}
	}}
}
