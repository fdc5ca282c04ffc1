package postgres

import (
	"context"
	"strings"

	"github.com/lib/pq"

	"github.com/thuduc/maytinhchoem/campaign"
)

// CodeSequences makes, where they are missing, the sequences the stores number codes from, and
// returns their quoted names by the table whose codes they number: registrations (the campaign's
// prefix), pledges, devices and deliveries. A bulk load (the seed generator) sets them past the
// codes it wrote, so that records the stores make afterwards follow on.
func CodeSequences(ctx context.Context, db *DB, c *campaign.Campaign) (map[string]string, error) {
	sequences := map[string]*codeSequence{
		"registrations": {db: db, name: pq.QuoteIdentifier("registration_code_" + strings.ToLower(c.RegistrationPrefix))},
		"pledges":       newCodeSequence(db, "pledge_code", pledgeCodePrefix),
		"devices":       newCodeSequence(db, "device_label", deviceLabelPrefix),
		"deliveries":    newCodeSequence(db, "delivery_code", deliveryCodePrefix),
	}
	names := make(map[string]string, len(sequences))
	for table, seq := range sequences {
		name, err := seq.ensure(ctx)
		if err != nil {
			return nil, err
		}
		names[table] = name
	}
	return names, nil
}
