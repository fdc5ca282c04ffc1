package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/thuduc/maytinhchoem/campaign"
)

// MoneyStore keeps money received against pledges and the devices bought with it, in the money
// table. Amounts are whole VND in int64 from the request to the bigint column: nothing is ever a
// float, so totals never drift.
type MoneyStore struct {
	db  *DB
	seq *codeSequence // device labels, shared with DeviceStore
}

var _ campaign.MoneyStore = (*MoneyStore)(nil)

// NewMoneyStore returns a MoneyStore over db.
func NewMoneyStore(db *DB) *MoneyStore {
	return &MoneyStore{db: db, seq: newCodeSequence(db, "device_label", deviceLabelPrefix)}
}

// RecordMoney records amount VND received against the pledge with pledgeCode (in any case), in one
// transaction with the pledge's new status and an audit row "money.record". The pledge must exist,
// not be cancelled and have pledged money; more than pledged is accepted, since a donor who gives
// more is not turned away. amount is 1 to 1,000 billion VND.
//
// When money with key was recorded already, that record is returned (as it is now) and nothing is
// written: no row, audit or pledge status. Calls of one key take turns on an advisory lock, so
// concurrent ones write once. An empty key is never de-duplicated.
func (s *MoneyStore) RecordMoney(ctx context.Context, pledgeCode string, amount int64, note, key string, by campaign.Staff, notices []campaign.OutboxMessage) (campaign.MoneyRecord, error) {
	actor, err := staffActor(by)
	if err != nil {
		return campaign.MoneyRecord{}, err
	}
	invalid := func(format string, args ...any) error {
		return campaign.Errorf(campaign.EINVALID, "money: "+format, args...)
	}
	pledgeCode, note = normalizeCode(pledgeCode), campaign.NormalizeText(note)
	if pledgeCode == "" {
		return campaign.MoneyRecord{}, invalid("money is received against a pledge")
	}
	if amount < 1 || amount > maxMoneyAmount {
		return campaign.MoneyRecord{}, invalid("amount %d VND is not between 1 and %d", amount, int64(maxMoneyAmount))
	}
	if utf8.RuneCountInString(note) > maxOtherLen {
		return campaign.MoneyRecord{}, invalid("note is longer than %d characters", maxOtherLen)
	}
	if err := validateKey("money", key); err != nil {
		return campaign.MoneyRecord{}, err
	}
	now := s.db.now()
	var m campaign.MoneyRecord
	err = s.db.tx(ctx, "record money", txOptions{}, func(tx *sqlx.Tx) error {
		if key != "" {
			if err := lockKey(ctx, tx, "money", key); err != nil {
				return err
			}
			existing, err := oneMoney(ctx, tx, "idempotency key", `m.idempotency_key = $1`, key)
			if err == nil {
				m = existing
				return nil
			}
			if campaign.ErrorCode(err) != campaign.ENOTFOUND {
				return err
			}
		}

		pledgeID, status, err := lockPledge(ctx, tx, pledgeCode)
		if err != nil {
			return err
		}
		var pledgedMoney bool
		err = tx.QueryRowxContext(ctx,
			`SELECT EXISTS (SELECT 1 FROM pledge_items WHERE pledge_id = $1 AND kind = 'money')`, pledgeID,
		).Scan(&pledgedMoney)
		if err != nil {
			return wrapErr(err, "postgres: record money: pledged money")
		}
		if !pledgedMoney {
			return invalid("pledge %s pledged no money", pledgeCode)
		}
		m = campaign.MoneyRecord{
			PledgeCode: pledgeCode, Amount: amount, Note: note, RecordedBy: actor, IdempotencyKey: key, CreatedAt: now,
		}
		err = tx.QueryRowxContext(ctx, `
			INSERT INTO money (pledge_id, amount, note, recorded_by, idempotency_key, created_at)
			VALUES ($1, $2, $3, $4, nullif($5, ''), $6) RETURNING id`,
			pledgeID, amount, note, actor, key, now).Scan(&m.ID)
		if err != nil {
			return wrapErr(err, "postgres: record money")
		}
		if status, err = setPledgeStatus(ctx, tx, pledgeID, status, now); err != nil {
			return err
		}
		err = insertAudit(ctx, tx, campaign.AuditEntry{
			At: now, Actor: actor, Action: "money.record", Subject: pledgeCode,
			After: map[string]any{"money_id": m.ID, "amount": amount, "pledge_status": status},
		})
		if err != nil {
			return err
		}
		if _, err := enqueue(ctx, tx, now, notices); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return campaign.MoneyRecord{}, err
	}
	return m, nil
}

// RecordPurchase records devices bought for cost VND in all with the money record moneyID, in one
// transaction with the money row locked, so purchases made at the same moment never spend more
// than was received: spent grows by cost, a purchases row keeps the cost and key, and each device
// enters the pipeline labelled, received, linked to the money and the purchase, with the event
// "→ received" and one audit row "money.purchase" (subject the pledge's code). Of each device only
// Type, Brand, Model, Serial, Used and Note are kept: it has not been checked yet. A cost over what
// is left is an EINVALID error and writes nothing; an unknown money record is ENOTFOUND.
//
// When a purchase with key was recorded already, its devices are returned (as they are now) and
// nothing is written: spent, devices, events and audit stay as they are. Calls of one key take
// turns on an advisory lock, so concurrent ones spend once. An empty key is never de-duplicated.
func (s *MoneyStore) RecordPurchase(ctx context.Context, moneyID int64, devices []campaign.Device, cost int64, key string, by campaign.Staff) ([]campaign.Device, error) {
	actor, err := staffActor(by)
	if err != nil {
		return nil, err
	}
	invalid := func(format string, args ...any) error {
		return campaign.Errorf(campaign.EINVALID, "purchase: "+format, args...)
	}
	if cost < 1 || cost > maxMoneyAmount {
		return nil, invalid("cost %d VND is not between 1 and %d", cost, int64(maxMoneyAmount))
	}
	if len(devices) == 0 || len(devices) > maxDeviceQuantity {
		return nil, invalid("%d devices; 1 to %d", len(devices), maxDeviceQuantity)
	}
	if err := validateKey("purchase", key); err != nil {
		return nil, err
	}
	bought := make([]campaign.Device, len(devices))
	for i, d := range devices {
		d = normalizeDevice(campaign.Device{
			Type: d.Type, Brand: d.Brand, Model: d.Model, Serial: d.Serial, Used: d.Used, Note: d.Note,
		})
		d.State = campaign.DeviceReceived
		if err := validateDevice(d); err != nil {
			return nil, fmt.Errorf("purchase: device %d: %w", i+1, err)
		}
		bought[i] = d
	}
	seq, err := s.seq.ensure(ctx)
	if err != nil {
		return nil, err
	}
	now := s.db.now()
	var stored []campaign.Device
	err = s.db.tx(ctx, "record purchase", txOptions{}, func(tx *sqlx.Tx) error {
		if key != "" {
			if err := lockKey(ctx, tx, "purchase", key); err != nil {
				return err
			}
			var purchaseID int64
			err := tx.QueryRowxContext(ctx, `SELECT id FROM purchases WHERE idempotency_key = $1`, key).Scan(&purchaseID)
			if err == nil {
				stored, err = purchasedDevices(ctx, tx, purchaseID)
				return err
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return wrapErr(err, "postgres: record purchase: idempotency key")
			}
		}

		var amount, spent int64
		var pledgeCode string
		err = tx.QueryRowxContext(ctx, `
			SELECT m.amount, m.spent, p.code FROM money m JOIN pledges p ON p.id = m.pledge_id
			WHERE m.id = $1 FOR UPDATE OF m`, moneyID).Scan(&amount, &spent, &pledgeCode)
		if errors.Is(err, sql.ErrNoRows) {
			return campaign.Errorf(campaign.ENOTFOUND, "no money record %d", moneyID)
		}
		if err != nil {
			return wrapErr(err, "postgres: record purchase: lock money")
		}
		if left := amount - spent; cost > left {
			return invalid("money record %d has %s left, not %s", moneyID, campaign.FormatVND(left), campaign.FormatVND(cost))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE money SET spent = spent + $2 WHERE id = $1`, moneyID, cost); err != nil {
			return wrapErr(err, "postgres: record purchase: spend")
		}
		var purchaseID int64
		err = tx.QueryRowxContext(ctx, `
			INSERT INTO purchases (money_id, cost, bought_by, idempotency_key, created_at)
			VALUES ($1, $2, $3, nullif($4, ''), $5) RETURNING id`,
			moneyID, cost, actor, key, now).Scan(&purchaseID)
		if err != nil {
			return wrapErr(err, "postgres: record purchase")
		}
		origin := deviceOrigin{
			money:    sql.NullInt64{Int64: moneyID, Valid: true},
			purchase: sql.NullInt64{Int64: purchaseID, Valid: true},
		}
		stored, err = insertDevices(ctx, tx, seq, origin, bought, now)
		if err != nil {
			return err
		}
		events := make([]deviceEvent, len(stored))
		labels := make([]string, len(stored))
		for i, d := range stored {
			events[i] = deviceEvent{d.ID, "", campaign.DeviceReceived, fmt.Sprintf("bought with money record %d", moneyID)}
			labels[i] = d.Label
		}
		if err := insertDeviceEvents(ctx, tx, now, actor, events); err != nil {
			return err
		}
		err = insertAudit(ctx, tx, campaign.AuditEntry{
			At: now, Actor: actor, Action: "money.purchase", Subject: pledgeCode,
			Before: map[string]any{"money_id": moneyID, "spent": spent},
			After:  map[string]any{"money_id": moneyID, "spent": spent + cost, "cost": cost, "devices": labels},
		})
		if err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return stored, nil
}

// purchasedDevices returns the devices a purchase bought, in the order they were bought.
func purchasedDevices(ctx context.Context, tx *sqlx.Tx, purchaseID int64) ([]campaign.Device, error) {
	var rows []deviceRow
	err := tx.SelectContext(ctx, &rows, selectDevices+`WHERE d.purchase_id = $1 ORDER BY d.id`, purchaseID)
	if err != nil {
		return nil, wrapErr(err, "postgres: purchased devices")
	}
	out := make([]campaign.Device, 0, len(rows))
	for _, row := range rows {
		d, err := row.device()
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// MoneyByID returns a money record, or an ENOTFOUND error.
func (s *MoneyStore) MoneyByID(ctx context.Context, id int64) (campaign.MoneyRecord, error) {
	return oneMoney(ctx, s.db.db, "id", `m.id = $1`, id)
}

// oneMoney returns the money record the condition where selects, or an ENOTFOUND error naming what.
func oneMoney(ctx context.Context, q sqlx.QueryerContext, what, where string, args ...any) (campaign.MoneyRecord, error) {
	var row struct {
		ID         int64     `db:"id"`
		PledgeCode string    `db:"code"`
		Amount     int64     `db:"amount"`
		Spent      int64     `db:"spent"`
		Note       string    `db:"note"`
		RecordedBy string    `db:"recorded_by"`
		Key        string    `db:"idempotency_key"`
		CreatedAt  time.Time `db:"created_at"`
	}
	err := sqlx.GetContext(ctx, q, &row, `
		SELECT m.id, p.code, m.amount, m.spent, m.note, m.recorded_by,
			coalesce(m.idempotency_key, '') AS idempotency_key, m.created_at
		FROM money m JOIN pledges p ON p.id = m.pledge_id WHERE `+where, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return campaign.MoneyRecord{}, campaign.Errorf(campaign.ENOTFOUND, "no money record with that %s", what)
	}
	if err != nil {
		return campaign.MoneyRecord{}, wrapErr(err, "postgres: money by "+what)
	}
	return campaign.MoneyRecord{
		ID: row.ID, PledgeCode: row.PledgeCode, Amount: row.Amount, Spent: row.Spent, Note: row.Note,
		RecordedBy: row.RecordedBy, IdempotencyKey: row.Key, CreatedAt: row.CreatedAt.UTC(),
	}, nil
}

// MoneyTotals returns all money received and all of it spent, in VND.
func (s *MoneyStore) MoneyTotals(ctx context.Context) (received, spent int64, err error) {
	// sum(bigint) is numeric: the cast back fails loudly rather than wrapping past 9.2e18 VND.
	err = s.db.db.QueryRowxContext(ctx,
		`SELECT coalesce(sum(amount), 0)::bigint, coalesce(sum(spent), 0)::bigint FROM money`,
	).Scan(&received, &spent)
	if err != nil {
		return 0, 0, wrapErr(err, "postgres: money totals")
	}
	return received, spent, nil
}
