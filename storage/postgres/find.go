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
// with phone as the donor's, that scope may see, newest first: at most limit of each (20 when
// not positive, never more than 500), pledges with their items. The scope is a condition of the
// queries (a kind of record the scope may not see is not read at all; a ward keeps the
// registrations of children of that ward and the pledges brought to its office; a school the
// registrations whose school_key is its campaign.SchoolKey, and no pledges, which have no
// school), so nothing outside it is read, listed or counted. A phone not in E.164 form is
// EINVALID: the flow normalises what staff type before it asks. A scope whose school has an empty
// key finds nothing.
func (s *FindStore) FindByPhone(ctx context.Context, phone string, scope campaign.FindScope, limit int) ([]campaign.Registration, []campaign.Pledge, error) {
	phone = campaign.NormalizeText(phone)
	if !e164.MatchString(phone) {
		return nil, nil, campaign.Errorf(campaign.EINVALID, "find: phone %q is not in E.164 form", phone)
	}
	limit = clampLimit(limit, defaultCaseLimit, maxCaseLimit)
	ward := campaign.NormalizeText(scope.WardCode)
	school := campaign.SchoolKey(scope.School)
	if scope.School != "" && school == "" {
		return []campaign.Registration{}, []campaign.Pledge{}, nil
	}

	regs := []campaign.Registration{}
	if scope.Registrations {
		var regRows []registrationRow
		err := s.db.db.SelectContext(ctx, &regRows, selectRegistrations+`
			WHERE r.campaign_id = $1 AND r.parent_phone = $2 AND ($3::text = '' OR r.ward_code = $3)
				AND ($5::text = '' OR r.school_key = $5)
			ORDER BY r.created_at DESC, r.id DESC LIMIT $4`, s.c.ID, phone, ward, limit, school)
		if err != nil {
			return nil, nil, wrapErr(err, "postgres: find by phone: registrations")
		}
		for _, row := range regRows {
			reg, err := row.registration()
			if err != nil {
				return nil, nil, err
			}
			regs = append(regs, reg)
		}
	}

	pledges := []campaign.Pledge{}
	if !scope.Pledges || school != "" {
		return regs, pledges, nil
	}
	var pledgeRows []pledgeRow
	err := s.db.db.SelectContext(ctx, &pledgeRows, selectPledges+`
		WHERE p.phone = $1 AND ($2::text = '' OR p.ward_code = $2)
		ORDER BY p.created_at DESC, p.id DESC LIMIT $3`, phone, ward, limit)
	if err != nil {
		return nil, nil, wrapErr(err, "postgres: find by phone: pledges")
	}
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
