package postgres

import (
	"context"

	"github.com/lib/pq"

	"github.com/thuduc/maytinhchoem/campaign"
)

// FindStore looks the campaign's registrations up by code, and registrations and pledges up by
// the phone number they were made with, for staff answering a family or a donor on the phone.
type FindStore struct {
	db   *DB
	c    *campaign.Campaign
	regs *RegistrationStore // its registration scan, shared
}

var _ campaign.FindStore = (*FindStore)(nil)

// NewFindStore returns a FindStore for campaign c over db.
func NewFindStore(db *DB, c *campaign.Campaign) *FindStore {
	return &FindStore{db: db, c: c, regs: NewRegistrationStore(db, c)}
}

// RegistrationByCode returns the campaign's registration with code, typed in any case, or an
// ENOTFOUND error.
func (s *FindStore) RegistrationByCode(ctx context.Context, code string) (campaign.Registration, error) {
	return s.regs.one(ctx, s.db.db, "code", selectRegistrations+`WHERE r.campaign_id = $1 AND r.code = $2`,
		s.c.ID, normalizeCode(code))
}

// FindByPhone lists the campaign's registrations with phone as the parent's phone, and the pledges
// with phone as the donor's, newest first: at most limit of each (20 when not positive, never
// more than 500), pledges with their items. A phone not in E.164 form is EINVALID: the flow
// normalises what staff type before it asks.
func (s *FindStore) FindByPhone(ctx context.Context, phone string, limit int) ([]campaign.Registration, []campaign.Pledge, error) {
	phone = campaign.NormalizeText(phone)
	if !e164.MatchString(phone) {
		return nil, nil, campaign.Errorf(campaign.EINVALID, "find: phone %q is not in E.164 form", phone)
	}
	limit = clampLimit(limit, defaultCaseLimit, maxCaseLimit)

	var regRows []registrationRow
	err := s.db.db.SelectContext(ctx, &regRows, selectRegistrations+`
		WHERE r.campaign_id = $1 AND r.parent_phone = $2
		ORDER BY r.created_at DESC, r.id DESC LIMIT $3`, s.c.ID, phone, limit)
	if err != nil {
		return nil, nil, wrapErr(err, "postgres: find by phone: registrations")
	}
	regs := make([]campaign.Registration, 0, len(regRows))
	for _, row := range regRows {
		reg, err := row.registration()
		if err != nil {
			return nil, nil, err
		}
		regs = append(regs, reg)
	}

	var pledgeRows []pledgeRow
	err = s.db.db.SelectContext(ctx, &pledgeRows, selectPledges+`
		WHERE p.phone = $1 ORDER BY p.created_at DESC, p.id DESC LIMIT $2`, phone, limit)
	if err != nil {
		return nil, nil, wrapErr(err, "postgres: find by phone: pledges")
	}
	pledges := make([]campaign.Pledge, 0, len(pledgeRows))
	ids := make(pq.Int64Array, 0, len(pledgeRows))
	for _, row := range pledgeRows {
		p, err := row.pledge()
		if err != nil {
			return nil, nil, err
		}
		pledges = append(pledges, p)
		ids = append(ids, p.ID)
	}
	if len(ids) > 0 {
		items, err := pledgeItems(ctx, s.db.db, ids)
		if err != nil {
			return nil, nil, err
		}
		for i := range pledges {
			pledges[i].Items = items[pledges[i].ID]
		}
	}
	return regs, pledges, nil
}
