package postgres

import (
	"context"
	"database/sql"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/thuduc/maytinhchoem/campaign"
)

// ProgressStore counts the figures of the daily progress summary.
//
// Registrations by ward and status, and devices by state, are read from counters that triggers
// keep as rows change (migration 00008), not counted from the tables: counting a million
// registrations took 65 ms while every page was all-visible but 1.1 to 2.7 s once 5% of them had
// changed since the last vacuum, and the campaign changes registrations all day. The rest is
// counted by queries whose work stays small: "new today" reads one local day of the creation
// index, a ward's devices are those of the pledges brought to its office, and pledges and money
// are tens of thousands of rows at most. Over a million registrations, 300,000 devices and
// 50,000 pledges (BenchmarkProgress, 2-core host) the city's figures take about 29 ms and the
// busiest ward's 29 to 37 ms, against a budget of 200 ms; the counters cost a submit about 25 µs.
//
// Registrations by source and by school (issue 15) are read from counters too, by ward, school
// as written, source and status (migration 00027): counted from the table they took 0.9 to 1.8 s
// for the city and 1.4 to 2.9 s for the busiest ward with a million registrations; summing the
// counters takes about 22 ms for the city (some 10,000 rows) and under a millisecond for a ward
// (2-core host shared with other work), and costs a submit about 55 µs.
//
// All figures are read in one read-only repeatable-read transaction, so they agree with each
// other (the delivered count with the pipeline, the wards with the totals, the sources and the
// schools with the total).
type ProgressStore struct {
	db *DB
	c  *campaign.Campaign
}

var _ campaign.ProgressStore = (*ProgressStore)(nil)

// NewProgressStore returns a ProgressStore of campaign c over db.
func NewProgressStore(db *DB, c *campaign.Campaign) *ProgressStore {
	return &ProgressStore{db: db, c: c}
}

// Progress returns the figures at the moment at for the city (wardCode "") or one ward,
// settled (campaign.Progress.Settle).
//
// A ward's figures: its registrations and deliveries are its children's; its pledges, money
// and device pipeline are those of the pledges brought to its ward office, where the devices are
// kept. The city's pipeline counts every device, walk-in gifts and purchases included.
func (s *ProgressStore) Progress(ctx context.Context, at time.Time, wardCode string) (campaign.Progress, error) {
	ward := campaign.NormalizeText(wardCode)
	if ward != "" {
		if _, ok := s.c.Ward(ward); !ok {
			return campaign.Progress{}, campaign.Errorf(campaign.ENOTFOUND, "the campaign has no ward %q", ward)
		}
	}
	p := campaign.Progress{At: at, WardCode: ward}

	err := s.db.tx(ctx, "progress", snapshotRead, func(tx *sqlx.Tx) error {
		p = campaign.Progress{At: at, WardCode: ward} // a retry starts afresh
		if err := s.registrations(ctx, tx, &p); err != nil {
			return err
		}
		if err := s.schools(ctx, tx, &p); err != nil {
			return err
		}
		if err := s.devices(ctx, tx, &p); err != nil {
			return err
		}
		if err := s.pledges(ctx, tx, &p); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return campaign.Progress{}, err
	}
	p.Settle(s.c)
	return p, nil
}

// querier is what the progress queries need of a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// registrations fills the registration counts, the wards' lines and the delivered count from
// the counters, and "new today" from the creation index.
func (s *ProgressStore) registrations(ctx context.Context, q querier, p *campaign.Progress) error {
	rows, err := q.QueryContext(ctx, `
		SELECT ward_code, status, sum(n) FROM registration_counts
		WHERE campaign_id = $1 AND ($2::text = '' OR ward_code = $2)
		GROUP BY ward_code, status HAVING sum(n) <> 0`, s.c.ID, p.WardCode)
	if err != nil {
		return wrapErr(err, "postgres: progress: registrations")
	}
	defer rows.Close()

	// Every ward has its line, also one nobody registered in yet: a ward at zero is news.
	index := map[string]int{}
	if p.WardCode != "" {
		p.Wards = []campaign.WardProgress{{Code: p.WardCode}}
		index[p.WardCode] = 0
	} else {
		p.Wards = make([]campaign.WardProgress, len(s.c.Wards))
		for i, w := range s.c.Wards {
			p.Wards[i].Code = w.Code
			index[w.Code] = i
		}
	}
	r := &p.Registrations
	for rows.Next() {
		var code string
		var status campaign.RegistrationStatus
		var n int
		if err := rows.Scan(&code, &status, &n); err != nil {
			return wrapErr(err, "postgres: progress: registrations")
		}
		i, ok := index[code]
		if !ok { // a ward the campaign file no longer lists: still counted, not hidden
			i = len(p.Wards)
			index[code] = i
			p.Wards = append(p.Wards, campaign.WardProgress{Code: code})
		}
		w := &p.Wards[i]
		r.Total += n
		w.Registered += n
		switch status {
		case campaign.StatusVerified, campaign.StatusAllocated, campaign.StatusDelivered:
			r.Verified += n
			w.Verified += n
		case campaign.StatusRejected:
			r.Rejected += n
		case campaign.StatusSubmitted, campaign.StatusNeedsInfo:
			r.Pending += n
		case campaign.StatusWithdrawn:
			r.Withdrawn += n
		}
		if status == campaign.StatusDelivered {
			p.Delivered += n
			w.Delivered += n
		}
	}
	if err := rows.Err(); err != nil {
		return wrapErr(err, "postgres: progress: registrations")
	}

	from := s.c.LocalDate(p.At)
	to := from.AddDate(0, 0, 1)
	err = q.QueryRowContext(ctx, `
		SELECT count(*) FROM registrations
		WHERE campaign_id = $1 AND created_at >= $2 AND created_at < $3 AND ($4::text = '' OR ward_code = $4)`,
		s.c.ID, from, to, p.WardCode).Scan(&r.NewToday)
	if err != nil {
		return wrapErr(err, "postgres: progress: new registrations")
	}
	return nil
}

// schools counts the scope's registrations by source and by school (Progress.Schools, grouped
// by campaign.SchoolTally) from the counters of migration 00027, which keep the school as
// written: the spellings of one school are added up here, and the commonest one named. They are
// read in the same snapshot as registration_counts, so the sources and the schools add up to the
// total.
func (s *ProgressStore) schools(ctx context.Context, q querier, p *campaign.Progress) error {
	tally, err := schoolTally(ctx, q, "postgres: progress: schools", func(source campaign.Source, n int) {
		p.Registrations.BySource.Add(source, n)
	}, `
		SELECT school, source, status, sum(n) FROM registration_school_counts
		WHERE campaign_id = $1 AND ($2::text = '' OR ward_code = $2)
		GROUP BY school, source, status HAVING sum(n) <> 0`, s.c.ID, p.WardCode)
	if err != nil {
		return err
	}
	p.Schools = tally.Schools()
	return nil
}

// schoolTally runs query, whose rows are (school, source, status, count), and adds them up by
// school; each row's source and count also go to bySource when it is set. what names the work in
// errors.
func schoolTally(ctx context.Context, q querier, what string, bySource func(campaign.Source, int), query string, args ...any) (*campaign.SchoolTally, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrapErr(err, what)
	}
	defer rows.Close()
	var tally campaign.SchoolTally
	for rows.Next() {
		var school string
		var source campaign.Source
		var status campaign.RegistrationStatus
		var n int
		if err := rows.Scan(&school, &source, &status, &n); err != nil {
			return nil, wrapErr(err, what)
		}
		if bySource != nil {
			bySource(source, n)
		}
		tally.Add(school, source, status, n)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr(err, what)
	}
	return &tally, nil
}

// devices fills the pipeline: the city's from the counters, a ward's by counting the devices of
// the pledges brought to its office.
func (s *ProgressStore) devices(ctx context.Context, q querier, p *campaign.Progress) error {
	query := `SELECT state, sum(n) FROM device_counts GROUP BY state HAVING sum(n) <> 0`
	args := []any{}
	if p.WardCode != "" {
		query = `
			SELECT d.state, count(*) FROM pledges p JOIN devices d ON d.pledge_id = p.id
			WHERE p.delivery = 'ward_office' AND p.ward_code = $1 GROUP BY d.state`
		args = append(args, p.WardCode)
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return wrapErr(err, "postgres: progress: devices")
	}
	defer rows.Close()
	d := &p.Devices
	for rows.Next() {
		var state campaign.DeviceState
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return wrapErr(err, "postgres: progress: devices")
		}
		if state == campaign.DevicePledged { // promised, not yet in the campaign's hands
			continue
		}
		d.Received += n
		switch state {
		case campaign.DeviceReady:
			d.Ready += n
		case campaign.DeviceUnusable:
			d.Unusable += n
		case campaign.DeviceAllocated:
			d.Allocated += n
		case campaign.DeviceDelivered:
			d.Delivered += n
		default: // received, checking, needs_parts, returned: with the volunteers
			d.InWork += n
		}
	}
	if err := rows.Err(); err != nil {
		return wrapErr(err, "postgres: progress: devices")
	}
	return nil
}

// pledges fills what was pledged, by kind, in pledges not cancelled, and the money received
// (against any pledge: money received stays received when a pledge is cancelled after).
func (s *ProgressStore) pledges(ctx context.Context, q querier, p *campaign.Progress) error {
	rows, err := q.QueryContext(ctx, `
		SELECT pi.kind, sum(pi.quantity), sum(pi.amount)
		FROM pledges p JOIN pledge_items pi ON pi.pledge_id = p.id
		WHERE p.status <> 'cancelled' AND ($1::text = '' OR (p.delivery = 'ward_office' AND p.ward_code = $1))
		GROUP BY pi.kind`, p.WardCode)
	if err != nil {
		return wrapErr(err, "postgres: progress: pledges")
	}
	defer rows.Close()
	pl := &p.Pledges
	pl.Devices = map[campaign.DeviceType]int{}
	for rows.Next() {
		var kind campaign.ItemKind
		var quantity int
		var amount int64
		if err := rows.Scan(&kind, &quantity, &amount); err != nil {
			return wrapErr(err, "postgres: progress: pledges")
		}
		switch {
		case kind.IsDevice():
			pl.Devices[campaign.DeviceType(kind)] += quantity
		case kind == campaign.ItemSIM4G:
			pl.SIMs += quantity
		case kind == campaign.ItemUSBWiFi:
			pl.USBWiFi += quantity
		case kind == campaign.ItemInternetPackage:
			pl.Packages += quantity
		case kind == campaign.ItemMoney:
			pl.MoneyPledged += amount
		}
	}
	if err := rows.Err(); err != nil {
		return wrapErr(err, "postgres: progress: pledges")
	}
	err = q.QueryRowContext(ctx, `
		SELECT (SELECT count(*) FROM pledges p
		        WHERE p.status <> 'cancelled' AND ($1::text = '' OR (p.delivery = 'ward_office' AND p.ward_code = $1))),
		       (SELECT coalesce(sum(m.amount), 0) FROM money m
		        WHERE $1::text = '' OR m.pledge_id IN (SELECT p.id FROM pledges p WHERE p.delivery = 'ward_office' AND p.ward_code = $1))`,
		p.WardCode).Scan(&pl.Pledges, &pl.MoneyReceived)
	if err != nil {
		return wrapErr(err, "postgres: progress: pledges")
	}
	return nil
}
