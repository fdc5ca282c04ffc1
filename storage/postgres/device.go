package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Longest texts a device accepts, in characters, and the longest list DevicesCheckedBy returns.
const (
	maxDeviceTextLen   = 100 // brand, model, serial
	maxPartsLen        = 300
	defaultDeviceLimit = 20
	maxDeviceLimit     = 500
)

// intakeStates are the states a device may be taken in with: the outcome of its check.
var intakeStates = []campaign.DeviceState{campaign.DeviceReady, campaign.DeviceNeedsParts, campaign.DeviceUnusable}

// DeviceStore keeps devices, their history and counted stock, in the devices, device_events and
// stock tables.
type DeviceStore struct {
	db  *DB
	seq *codeSequence
}

var _ campaign.DeviceStore = (*DeviceStore)(nil)

// NewDeviceStore returns a DeviceStore over db.
func NewDeviceStore(db *DB) *DeviceStore {
	return &DeviceStore{db: db, seq: newCodeSequence(db, "device_label", deviceLabelPrefix)}
}

// IntakeDevice records a device taken in and checked, in one transaction: the device with its
// label (TB-000123), its history received → checking → d.State, the pledge's new status and an
// audit row "device.intake". It fills ID, Label, CheckedBy (the volunteer by) and the timestamps;
// texts are stored in NFC and the pledge code may be typed in any case.
//
// A device from a pledge (d.PledgeCode) is refused with an EINVALID error when the pledge is
// unknown or cancelled, pledged no device of the type, or has had all of them taken in already:
// the volunteer then takes it in as a walk-in gift. Devices bought with money enter through
// MoneyStore.RecordPurchase instead, so d.MoneyID must be 0.
//
// When a device with d.IdempotencyKey is stored, d is filled with it (as it is now) and nothing is
// written: no device, event, audit row or pledge status. Intakes of one key take turns on an
// advisory lock, so concurrent ones write once. An empty key is never de-duplicated.
func (s *DeviceStore) IntakeDevice(ctx context.Context, d *campaign.Device, by campaign.Staff, notices []campaign.OutboxMessage) error {
	if d == nil {
		return campaign.Errorf(campaign.EINVALID, "no device")
	}
	actor, err := staffActor(by)
	if err != nil {
		return err
	}
	in := normalizeDevice(*d)
	in.PledgeCode = normalizeCode(in.PledgeCode)
	in.CheckedBy = actor
	if err := validateDevice(in); err != nil {
		return err
	}
	if !slices.Contains(intakeStates, in.State) {
		return campaign.Errorf(campaign.EINVALID, "device: a device is taken in %v, not %q", intakeStates, in.State)
	}
	if in.MoneyID != 0 {
		return campaign.Errorf(campaign.EINVALID, "device: a device bought with money is recorded with its purchase")
	}
	if err := validateKey("device", in.IdempotencyKey); err != nil {
		return err
	}
	seq, err := s.seq.ensure(ctx)
	if err != nil {
		return err
	}
	now := s.db.now()

	var out campaign.Device
	err = s.db.tx(ctx, "intake device", txOptions{}, func(tx *sqlx.Tx) error {
		if in.IdempotencyKey != "" {
			if err := lockKey(ctx, tx, "device", in.IdempotencyKey); err != nil {
				return err
			}
			existing, err := oneDevice(ctx, tx, "idempotency key", selectDevices+`WHERE d.idempotency_key = $1`, in.IdempotencyKey)
			if err == nil {
				out = existing
				return nil
			}
			if campaign.ErrorCode(err) != campaign.ENOTFOUND {
				return err
			}
		}

		var pledgeID sql.NullInt64
		var status campaign.PledgeStatus
		if in.PledgeCode != "" {
			id, current, err := lockPledge(ctx, tx, in.PledgeCode)
			if err != nil {
				return err
			}
			var pledged, received int
			err = tx.QueryRowxContext(ctx, `
				SELECT (SELECT coalesce(sum(quantity), 0) FROM pledge_items WHERE pledge_id = $1 AND kind = $2),
				       (SELECT count(*) FROM devices WHERE pledge_id = $1 AND type = $2)`,
				id, in.Type).Scan(&pledged, &received)
			if err != nil {
				return wrapErr(err, "postgres: intake device: pledged devices")
			}
			if pledged == 0 {
				return campaign.Errorf(campaign.EINVALID, "pledge %s has no %ss pledged", in.PledgeCode, in.Type)
			}
			if received >= pledged {
				return campaign.Errorf(campaign.EINVALID, "pledge %s has no more %ss to receive", in.PledgeCode, in.Type)
			}
			pledgeID, status = sql.NullInt64{Int64: id, Valid: true}, current
		}

		stored, err := insertDevices(ctx, tx, seq, deviceOrigin{pledge: pledgeID}, []campaign.Device{in}, now)
		if err != nil {
			return err
		}
		out = stored[0]
		err = insertDeviceEvents(ctx, tx, now, actor, []deviceEvent{
			{out.ID, "", campaign.DeviceReceived, ""},
			{out.ID, campaign.DeviceReceived, campaign.DeviceChecking, ""},
			{out.ID, campaign.DeviceChecking, out.State, out.Note},
		})
		if err != nil {
			return err
		}
		after := map[string]any{"label": out.Label, "type": out.Type, "state": out.State}
		if pledgeID.Valid {
			if status, err = setPledgeStatus(ctx, tx, pledgeID.Int64, status, now); err != nil {
				return err
			}
			after["pledge"], after["pledge_status"] = out.PledgeCode, status
		}
		err = insertAudit(ctx, tx, campaign.AuditEntry{At: now, Actor: actor, Action: "device.intake", Subject: out.Label, After: after})
		if err != nil {
			return err
		}
		if _, err := enqueue(ctx, tx, now, notices); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	*d = out
	return nil
}

// normalizeDevice returns d with its texts in NFC with spaces folded and no empty checks map.
func normalizeDevice(d campaign.Device) campaign.Device {
	n := campaign.NormalizeText
	d.ID, d.Label, d.CreatedAt, d.UpdatedAt = 0, "", time.Time{}, time.Time{}
	d.Type, d.State = campaign.DeviceType(n(string(d.Type))), campaign.DeviceState(n(string(d.State)))
	d.Brand, d.Model, d.Serial, d.PartsAdded, d.Note = n(d.Brand), n(d.Model), n(d.Serial), n(d.PartsAdded), n(d.Note)
	d.SoftwareLevel = campaign.SchoolLevel(n(string(d.SoftwareLevel)))
	if len(d.Checks) == 0 {
		d.Checks = nil
	} else {
		checks := make(map[campaign.CheckItem]bool, len(d.Checks))
		for item, ok := range d.Checks {
			checks[campaign.CheckItem(n(string(item)))] = ok
		}
		d.Checks = checks
	}
	return d
}

// validateDevice checks what describes a normalised device, not its state.
func validateDevice(d campaign.Device) error {
	invalid := func(format string, args ...any) error {
		return campaign.Errorf(campaign.EINVALID, "device: "+format, args...)
	}
	if !slices.Contains(campaign.DeviceTypes, d.Type) {
		return invalid("unknown device type %q", d.Type)
	}
	if err := checkTexts(invalid, false,
		textField{"brand", d.Brand, maxDeviceTextLen},
		textField{"model", d.Model, maxDeviceTextLen},
		textField{"serial", d.Serial, maxDeviceTextLen},
		textField{"parts added", d.PartsAdded, maxPartsLen},
		textField{"note", d.Note, maxOtherLen},
	); err != nil {
		return err
	}
	checklist := campaign.Checklist(d.Type)
	for item := range d.Checks {
		if !slices.Contains(checklist, item) {
			return invalid("%q is not checked on a %s", item, d.Type)
		}
	}
	if d.SoftwareLevel != "" && !slices.Contains(campaign.SchoolLevels, d.SoftwareLevel) {
		return invalid("unknown school level %q", d.SoftwareLevel)
	}
	return nil
}

// deviceOrigin is where devices come from: a pledge, a money record and its purchase, or neither.
type deviceOrigin struct {
	pledge, money, purchase sql.NullInt64
}

// insertDevices inserts normalised, valid devices of one origin with their idempotency keys,
// labelled in their order from the label sequence seq, and returns them as stored.
func insertDevices(ctx context.Context, tx *sqlx.Tx, seq string, origin deviceOrigin, ds []campaign.Device, now time.Time) ([]campaign.Device, error) {
	var labels []string
	err := tx.SelectContext(ctx, &labels, `
		SELECT format_code($1, n) FROM (SELECT nextval($2::regclass) AS n FROM generate_series(1, $3)) s
		ORDER BY n`, deviceLabelPrefix, seq, len(ds))
	if err != nil {
		return nil, wrapErr(err, "postgres: device labels")
	}
	n := len(ds)
	types, states := make(pq.StringArray, n), make(pq.StringArray, n)
	brands, models, serials := make(pq.StringArray, n), make(pq.StringArray, n), make(pq.StringArray, n)
	used, wiped, cleaned := make(pq.BoolArray, n), make(pq.BoolArray, n), make(pq.BoolArray, n)
	checks, parts, levels := make(pq.StringArray, n), make(pq.StringArray, n), make(pq.StringArray, n)
	notes, checkedBy, keys := make(pq.StringArray, n), make(pq.StringArray, n), make(pq.StringArray, n)
	out := make([]campaign.Device, n)
	for i, d := range ds {
		c := []byte("{}")
		if len(d.Checks) > 0 {
			if c, err = json.Marshal(d.Checks); err != nil {
				return nil, fmt.Errorf("postgres: device checks: %w", err)
			}
		}
		types[i], states[i] = string(d.Type), string(d.State)
		brands[i], models[i], serials[i] = d.Brand, d.Model, d.Serial
		used[i], wiped[i], cleaned[i] = d.Used, d.Wiped, d.Cleaned
		checks[i], parts[i], levels[i] = string(c), d.PartsAdded, string(d.SoftwareLevel)
		notes[i], checkedBy[i], keys[i] = d.Note, d.CheckedBy, d.IdempotencyKey
		d.Label, d.CreatedAt, d.UpdatedAt = labels[i], now, now
		d.MoneyID = origin.money.Int64
		out[i] = d
	}
	var ids []int64
	err = tx.SelectContext(ctx, &ids, `
		INSERT INTO devices (label, type, state, pledge_id, money_id, purchase_id, brand, model, serial, used,
			checks, wiped, cleaned, parts_added, software_level, note, checked_by, idempotency_key,
			created_at, updated_at)
		SELECT u.label, u.type, u.state, $1, $2, $18, u.brand, u.model, u.serial, u.used, u.checks::jsonb,
			u.wiped, u.cleaned, u.parts, u.level, u.note, u.checked_by, nullif(u.key, ''), $3, $3
		FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::boolean[],
			$11::text[], $12::boolean[], $13::boolean[], $14::text[], $15::text[], $16::text[], $17::text[],
			$19::text[])
			WITH ORDINALITY AS u (label, type, state, brand, model, serial, used, checks, wiped, cleaned,
				parts, level, note, checked_by, key, position)
		ORDER BY u.position
		RETURNING id`,
		origin.pledge, origin.money, now, pq.StringArray(labels), types, states, brands, models, serials, used, checks,
		wiped, cleaned, parts, levels, notes, checkedBy, origin.purchase, keys)
	if err != nil {
		return nil, wrapErr(err, "postgres: insert devices")
	}
	if len(ids) != n {
		return nil, fmt.Errorf("postgres: insert devices: %d of %d inserted", len(ids), n)
	}
	// Identity values are drawn in insertion order, which is the ORDER BY's.
	slices.Sort(ids)
	for i := range out {
		out[i].ID = ids[i]
	}
	return out, nil
}

// deviceEvent is one change of a device's state, for device_events; From is "" when it entered.
type deviceEvent struct {
	DeviceID int64
	From, To campaign.DeviceState
	Note     string
}

// insertDeviceEvents writes events in their order, all at now by actor.
func insertDeviceEvents(ctx context.Context, tx *sqlx.Tx, now time.Time, actor string, events []deviceEvent) error {
	ids := make(pq.Int64Array, len(events))
	from, to, notes := make(pq.StringArray, len(events)), make(pq.StringArray, len(events)), make(pq.StringArray, len(events))
	for i, e := range events {
		ids[i], from[i], to[i], notes[i] = e.DeviceID, string(e.From), string(e.To), e.Note
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO device_events (device_id, at, actor, from_state, to_state, note)
		SELECT u.device_id, $1, $2, nullif(u.from_state, ''), u.to_state, u.note
		FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY
			AS u (device_id, from_state, to_state, note, position)
		ORDER BY u.position`,
		now, actor, ids, from, to, notes)
	if err != nil {
		return wrapErr(err, "postgres: device events")
	}
	return nil
}

// MoveDevice moves the device labelled label to next when campaign.Device.MoveByHand allows it,
// in one transaction: the state, an event in its history and an audit row "device.move". A
// refused move returns MoveByHand's error (EINVALID; ECONFLICT for an allocated device a pending
// delivery holds marked delivered, whose hand-over is the delivery's) and changes nothing. A
// device that leaves allocated or delivered for another state loses its allocation.
//
// An allocated device a pending delivery holds sent back to ready (found unfit before the
// hand-over) releases the allocation as campaign.AllocationRelease says, in the same
// transaction: the delivery is deleted with its case keys (its stock counts as left again), the
// registration is verified again, to be allocated anew, an audit row "allocation.release" names
// the codes only, and the messages notify gives for the delivery as it was (to its family, or to
// whoever hears for a family with no chat) are queued in the outbox. Rows are locked in the case
// work's order, the delivery, then its registration, then the device, so a release never waits
// in a circle with a hand-over or an allocation; a delivery made for the device between the
// look-up and the lock is ECONFLICT, to be tried again.
func (s *DeviceStore) MoveDevice(ctx context.Context, label string, next campaign.DeviceState, by campaign.Staff, note string, notify campaign.Notify[campaign.Delivery]) (campaign.Device, error) {
	actor, err := staffActor(by)
	if err != nil {
		return campaign.Device{}, err
	}
	label, note = normalizeCode(label), campaign.NormalizeText(note)
	if utf8.RuneCountInString(note) > maxOtherLen {
		return campaign.Device{}, campaign.Errorf(campaign.EINVALID, "device: note is longer than %d characters", maxOtherLen)
	}
	now := s.db.now()
	var d campaign.Device
	err = s.db.tx(ctx, "move device", txOptions{}, func(tx *sqlx.Tx) error {
		var id int64
		err := tx.GetContext(ctx, &id, `SELECT id FROM devices WHERE label = $1`, label)
		if errors.Is(err, sql.ErrNoRows) {
			return campaign.Errorf(campaign.ENOTFOUND, "no device %s", label)
		}
		if err != nil {
			return wrapErr(err, "postgres: move device")
		}
		held, err := lockHoldingDelivery(ctx, tx, id)
		if err != nil {
			return err
		}
		var from campaign.DeviceState
		if err := tx.GetContext(ctx, &from, `SELECT state FROM devices WHERE id = $1 FOR UPDATE`, id); err != nil {
			return wrapErr(err, "postgres: move device")
		}
		if held.ID == 0 {
			// Locked now, the device cannot be allocated any more; one allocated since the
			// look-up is told, not moved past its delivery.
			var code string
			err := tx.GetContext(ctx, &code, `SELECT code FROM deliveries WHERE device_id = $1 AND status = $2`, id, campaign.DeliveryPending)
			if err == nil {
				return campaign.Errorf(campaign.ECONFLICT, "device %s was just allocated (delivery %s): look at it again", label, code)
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return wrapErr(err, "postgres: move device: delivery")
			}
		}
		release, err := campaign.Device{Label: label, State: from, Delivery: held.Code}.MoveByHand(next)
		if err != nil {
			return err
		}
		if release {
			if err := releaseAllocation(ctx, tx, now, actor, held, from, notify); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE devices SET state = $2, updated_at = $3,
				allocated_registration_id = CASE WHEN $2 IN ('allocated', 'delivered') THEN allocated_registration_id END
			WHERE id = $1`, id, next, now)
		if err != nil {
			return wrapErr(err, "postgres: move device")
		}
		eventNote := note
		if release {
			eventNote = strings.TrimSpace(held.Code + " " + note)
		}
		if err := insertDeviceEvents(ctx, tx, now, actor, []deviceEvent{{id, from, next, eventNote}}); err != nil {
			return err
		}
		err = insertAudit(ctx, tx, campaign.AuditEntry{
			At: now, Actor: actor, Action: "device.move", Subject: label,
			// The note, a volunteer's words that may mention a family, stays in device_events.
			Before: map[string]any{"state": from}, After: map[string]any{"state": next, "noted": note != ""},
		})
		if err != nil {
			return err
		}
		d, err = oneDevice(ctx, tx, "label", selectDevices+`WHERE d.id = $1`, id)
		return err
	})
	if err != nil {
		return campaign.Device{}, err
	}
	return d, nil
}

// holdingDelivery is what a release reads of the pending delivery that holds a device.
type holdingDelivery struct {
	ID                 int64                       `db:"id"`
	Code               string                      `db:"code"`
	RegistrationID     int64                       `db:"registration_id"`
	RegistrationCode   string                      `db:"registration_code"`
	RegistrationStatus campaign.RegistrationStatus `db:"registration_status"`
	Stock              pq.StringArray              `db:"stock"`
}

// lockHoldingDelivery locks the pending delivery that holds device id, then its registration,
// and returns them; the zero value when no pending delivery holds it. The delivery is locked
// first, as the case work locks it (CaseStore.MarkDelivered), and one that stopped being pending
// while it waited for the lock is not returned.
func lockHoldingDelivery(ctx context.Context, tx *sqlx.Tx, id int64) (holdingDelivery, error) {
	var h holdingDelivery
	err := tx.GetContext(ctx, &h, `
		SELECT id, code, registration_id, '' AS registration_code, ''::text AS registration_status, stock
		FROM deliveries WHERE device_id = $1 AND status = $2 FOR UPDATE`, id, campaign.DeliveryPending)
	if errors.Is(err, sql.ErrNoRows) {
		return holdingDelivery{}, nil
	}
	if err != nil {
		return h, wrapErr(err, "postgres: move device: lock delivery")
	}
	err = tx.QueryRowxContext(ctx, `SELECT code, status FROM registrations WHERE id = $1 FOR UPDATE`, h.RegistrationID).
		Scan(&h.RegistrationCode, &h.RegistrationStatus)
	if err != nil {
		return h, wrapErr(err, "postgres: move device: lock registration")
	}
	return h, nil
}

// releaseAllocation undoes the allocation of pending delivery h, whose device (in state from) a
// volunteer sent back to ready, as campaign.AllocationRelease says: it queues notify's messages
// for the delivery as it was, deletes the delivery and its case keys (so the registration can be
// allocated again, under any key) and makes the registration verified, with an audit row
// "allocation.release" that names codes only. The caller moves the device.
func releaseAllocation(ctx context.Context, tx *sqlx.Tx, now time.Time, actor string, h holdingDelivery, from campaign.DeviceState, notify campaign.Notify[campaign.Delivery]) error {
	was := campaign.AllocationState{Registration: h.RegistrationStatus, Delivery: campaign.DeliveryPending, Device: from}
	after, err := was.Apply(campaign.AllocationRelease)
	if err != nil {
		return fmt.Errorf("delivery %s: %w", h.Code, err)
	}
	if notify != nil {
		var row deliveryRow
		if err := tx.GetContext(ctx, &row, selectDeliveries+`WHERE dl.id = $1`, h.ID); err != nil {
			return wrapErr(err, "postgres: release: delivery")
		}
		dl, err := row.delivery()
		if err != nil {
			return err
		}
		if err := notifyIn(ctx, tx, now, notify, dl); err != nil {
			return err
		}
	}
	if err := dropDelivery(ctx, tx, h.ID, h.Code, h.RegistrationCode, "release"); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE registrations SET status = $3, updated_at = $2 WHERE id = $1`,
		h.RegistrationID, now, after.Registration)
	if err != nil {
		return wrapErr(err, "postgres: release: registration")
	}
	stock := fromStrings[campaign.StockKind](h.Stock)
	return insertAudit(ctx, tx, campaign.AuditEntry{
		At: now, Actor: actor, Action: "allocation.release", Subject: h.RegistrationCode,
		Before: map[string]any{"status": was.Registration, "delivery": h.Code, "device_state": was.Device},
		After:  map[string]any{"status": after.Registration, "device_state": after.Device, "stock": toStrings(stock)},
	})
}

// DeviceByLabel returns the device with the given label (in any case), with the code of the
// pending delivery that holds it, or an ENOTFOUND error.
func (s *DeviceStore) DeviceByLabel(ctx context.Context, label string) (campaign.Device, error) {
	return oneDevice(ctx, s.db.db, "label", selectDevices+`WHERE d.label = $1`, normalizeCode(label))
}

// DevicesCheckedBy lists the devices a volunteer took in, newest first: at most limit, or 20 when
// limit is not positive, and never more than 500.
func (s *DeviceStore) DevicesCheckedBy(ctx context.Context, by campaign.Staff, limit int) ([]campaign.Device, error) {
	actor, err := staffActor(by)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = defaultDeviceLimit
	}
	limit = min(limit, maxDeviceLimit)
	var rows []deviceRow
	err = s.db.db.SelectContext(ctx, &rows, selectDevices+`
		WHERE d.checked_by = $1 ORDER BY d.created_at DESC, d.id DESC LIMIT $2`, actor, limit)
	if err != nil {
		return nil, wrapErr(err, "postgres: devices checked by")
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

// oneDevice returns the single device query selects, or an ENOTFOUND error naming what.
func oneDevice(ctx context.Context, q sqlx.QueryerContext, what, query string, args ...any) (campaign.Device, error) {
	var row deviceRow
	err := sqlx.GetContext(ctx, q, &row, query, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return campaign.Device{}, campaign.Errorf(campaign.ENOTFOUND, "no device with that %s", what)
	}
	if err != nil {
		return campaign.Device{}, wrapErr(err, "postgres: device by "+what)
	}
	return row.device()
}

// ReceiveStock records counted stock received, in one transaction with the pledge's new status
// and an audit row "stock.receive". Against a pledge (pledgeCode, in any case), the pledge must
// exist, not be cancelled and have pledged kind, and quantity may not exceed what is left of it:
// stock beyond the pledge is taken in as a walk-in gift (pledgeCode ""). Months are 1 to 36 for
// internet packages and 0 for anything else.
//
// When stock with key was received already, nothing is written and the call succeeds, as the first
// did; calls of one key take turns on an advisory lock. An empty key is never de-duplicated.
func (s *DeviceStore) ReceiveStock(ctx context.Context, pledgeCode string, kind campaign.ItemKind, quantity, months int, key string, by campaign.Staff, notices []campaign.OutboxMessage) error {
	actor, err := staffActor(by)
	if err != nil {
		return err
	}
	invalid := func(format string, args ...any) error {
		return campaign.Errorf(campaign.EINVALID, "stock: "+format, args...)
	}
	kind = campaign.ItemKind(campaign.NormalizeText(string(kind)))
	if !isStockKind(kind) {
		return invalid("%q is not counted stock", kind)
	}
	if quantity < 1 || quantity > maxStockQuantity {
		return invalid("quantity %d is not between 1 and %d", quantity, maxStockQuantity)
	}
	if err := validateMonths(kind, months); err != nil {
		return invalid("%v", err)
	}
	if err := validateKey("stock", key); err != nil {
		return err
	}
	pledgeCode = normalizeCode(pledgeCode)
	now := s.db.now()
	return s.db.tx(ctx, "receive stock", txOptions{}, func(tx *sqlx.Tx) error {
		if key != "" {
			if err := lockKey(ctx, tx, "stock", key); err != nil {
				return err
			}
			var done bool
			err := tx.QueryRowxContext(ctx, `SELECT EXISTS (SELECT 1 FROM stock WHERE idempotency_key = $1)`, key).Scan(&done)
			if err != nil {
				return wrapErr(err, "postgres: receive stock: idempotency key")
			}
			if done {
				return nil
			}
		}

		var pledgeID sql.NullInt64
		var status campaign.PledgeStatus
		if pledgeCode != "" {
			id, current, err := lockPledge(ctx, tx, pledgeCode)
			if err != nil {
				return err
			}
			var pledged, received int
			err = tx.QueryRowxContext(ctx, `
				SELECT (SELECT coalesce(sum(quantity), 0) FROM pledge_items WHERE pledge_id = $1 AND kind = $2),
				       (SELECT coalesce(sum(quantity), 0) FROM stock WHERE pledge_id = $1 AND kind = $2)`,
				id, kind).Scan(&pledged, &received)
			if err != nil {
				return wrapErr(err, "postgres: receive stock: pledged stock")
			}
			if pledged == 0 {
				return invalid("pledge %s has no %s pledged", pledgeCode, kind)
			}
			if received+quantity > pledged {
				return invalid("pledge %s has %d %s left to receive, not %d", pledgeCode, pledged-received, kind, quantity)
			}
			pledgeID, status = sql.NullInt64{Int64: id, Valid: true}, current
		}
		var stockID int64
		err = tx.QueryRowxContext(ctx, `
			INSERT INTO stock (pledge_id, kind, quantity, months, received_by, idempotency_key, created_at)
			VALUES ($1, $2, $3, $4, $5, nullif($6, ''), $7) RETURNING id`,
			pledgeID, kind, quantity, months, actor, key, now).Scan(&stockID)
		if err != nil {
			return wrapErr(err, "postgres: receive stock")
		}
		subject := fmt.Sprintf("stock:%d", stockID)
		after := map[string]any{"id": stockID, "kind": kind, "quantity": quantity, "months": months}
		if pledgeID.Valid {
			if status, err = setPledgeStatus(ctx, tx, pledgeID.Int64, status, now); err != nil {
				return err
			}
			subject, after["pledge"], after["pledge_status"] = pledgeCode, pledgeCode, status
		}
		err = insertAudit(ctx, tx, campaign.AuditEntry{At: now, Actor: actor, Action: "stock.receive", Subject: subject, After: after})
		if err != nil {
			return err
		}
		if _, err := enqueue(ctx, tx, now, notices); err != nil {
			return err
		}
		return nil
	})
}

// selectDevices reads deviceRow columns; a WHERE clause follows it.
const selectDevices = `
	SELECT d.id, d.label, d.type, d.state, coalesce(p.code, '') AS pledge_code,
		coalesce(d.money_id, 0) AS money_id, d.brand, d.model, d.serial, d.used, d.checks, d.wiped,
		d.cleaned, d.parts_added, d.software_level, d.note, d.checked_by,
		coalesce(d.idempotency_key, '') AS idempotency_key, d.created_at, d.updated_at,
		coalesce((SELECT dl.code FROM deliveries dl WHERE dl.device_id = d.id AND dl.status = 'pending'), '') AS delivery
	FROM devices d LEFT JOIN pledges p ON p.id = d.pledge_id
	`

// deviceRow is a device as selectDevices reads it.
type deviceRow struct {
	ID            int64     `db:"id"`
	Label         string    `db:"label"`
	Type          string    `db:"type"`
	State         string    `db:"state"`
	PledgeCode    string    `db:"pledge_code"`
	MoneyID       int64     `db:"money_id"`
	Brand         string    `db:"brand"`
	Model         string    `db:"model"`
	Serial        string    `db:"serial"`
	Used          bool      `db:"used"`
	Checks        []byte    `db:"checks"`
	Wiped         bool      `db:"wiped"`
	Cleaned       bool      `db:"cleaned"`
	PartsAdded    string    `db:"parts_added"`
	SoftwareLevel string    `db:"software_level"`
	Note          string    `db:"note"`
	CheckedBy     string    `db:"checked_by"`
	Key           string    `db:"idempotency_key"`
	Delivery      string    `db:"delivery"`
	CreatedAt     time.Time `db:"created_at"`
	UpdatedAt     time.Time `db:"updated_at"`
}

// device converts the row to the domain type, with times in UTC and nil Checks when none.
func (row deviceRow) device() (campaign.Device, error) {
	var checks map[campaign.CheckItem]bool
	if err := json.Unmarshal(row.Checks, &checks); err != nil {
		return campaign.Device{}, fmt.Errorf("postgres: device %s: checks: %w", row.Label, err)
	}
	if len(checks) == 0 {
		checks = nil
	}
	return campaign.Device{
		ID:             row.ID,
		Label:          row.Label,
		Type:           campaign.DeviceType(row.Type),
		State:          campaign.DeviceState(row.State),
		PledgeCode:     row.PledgeCode,
		MoneyID:        row.MoneyID,
		Brand:          row.Brand,
		Model:          row.Model,
		Serial:         row.Serial,
		Used:           row.Used,
		Checks:         checks,
		Wiped:          row.Wiped,
		Cleaned:        row.Cleaned,
		PartsAdded:     row.PartsAdded,
		SoftwareLevel:  campaign.SchoolLevel(row.SoftwareLevel),
		Note:           row.Note,
		CheckedBy:      row.CheckedBy,
		IdempotencyKey: row.Key,
		Delivery:       row.Delivery,
		CreatedAt:      row.CreatedAt.UTC(),
		UpdatedAt:      row.UpdatedAt.UTC(),
	}, nil
}

// validateKey refuses an idempotency key longer than the other ids this package stores.
func validateKey(what, key string) error {
	if utf8.RuneCountInString(key) > maxIDLen {
		return campaign.Errorf(campaign.EINVALID, "%s: idempotency key is longer than %d characters", what, maxIDLen)
	}
	return nil
}

// lockKey takes a transaction-scoped advisory lock on an idempotency key of one kind of write
// (device, stock, money, purchase), so that calls with the key take turns: each looks the key up
// after it holds the lock, in a fresh READ COMMITTED snapshot, and finds what an earlier one
// committed. The key is checked before any row lock is taken, always in that order, so these
// locks add no deadlock.
func lockKey(ctx context.Context, tx *sqlx.Tx, kind, key string) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, kind+":"+key); err != nil {
		return wrapErr(err, "postgres: lock idempotency key")
	}
	return nil
}
