package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Kinds of case_keys rows written by a family's own changes.
const (
	keyCorrect  = "correct"
	keyWithdraw = "withdraw"
)

// Audit actions of a family's own changes.
const (
	actionCorrect           = "registration.correct"
	actionCorrectionRequest = "registration.correction_request"
	actionWithdraw          = "registration.withdraw"
)

// FamilyStore keeps what a family does with its own registrations (/mydata): corrections and
// withdrawals, in the case work's tables and under its locks (see campaign.FamilyStore).
type FamilyStore struct {
	cases *CaseStore
}

var _ campaign.FamilyStore = (*FamilyStore)(nil)

// NewFamilyStore returns a FamilyStore for campaign c over db.
func NewFamilyStore(db *DB, c *campaign.Campaign) *FamilyStore {
	return &FamilyStore{cases: NewCaseStore(db, c)}
}

// RegistrationByCode returns the campaign's registration code (in any case), erased or not, or
// an ENOTFOUND error.
func (s *FamilyStore) RegistrationByCode(ctx context.Context, code string) (campaign.Registration, error) {
	return s.cases.regs.ByCode(ctx, normalizeCode(code))
}

// correctionColumns are the registration's columns a correction changes, by field.
var correctionColumns = map[campaign.CorrectionField]struct {
	column string
	max    int
}{
	campaign.CorrectAddress: {"address", maxAddressLen},
	campaign.CorrectSchool:  {"school", maxSchoolLen},
	campaign.CorrectPhone:   {"parent_phone", len("+") + 15},
}

// Correct corrects a field of the campaign's registration code made from the chat parent, in one
// transaction with the registration locked (see campaign.FamilyStore): before verification the
// column itself, audited as registration.correct with the field only; after, a note with the
// request, by the parent's chat, as the parent's words on the case (officials see it in /verify),
// audited as registration.correction_request. Both audit rows are by campaign.FamilyActor. The
// ward's verifying staff are in Corrected.Officials for notify.
func (s *FamilyStore) Correct(ctx context.Context, code string, parent campaign.Session, c campaign.Correction, key string, notify campaign.Notify[campaign.Corrected]) (campaign.Corrected, error) {
	code, parent = normalizeCode(code), normalizeSession(parent)
	c.Value, c.Request = campaign.NormalizeText(c.Value), campaign.NormalizeText(c.Request)
	invalid := func(format string, args ...any) error {
		return campaign.Errorf(campaign.EINVALID, "correction: "+format, args...)
	}
	col, ok := correctionColumns[c.Field]
	switch {
	case !ok:
		return campaign.Corrected{}, invalid("unknown field %q", c.Field)
	case parent.Channel == "" || parent.ChatID == "":
		return campaign.Corrected{}, invalid("no parent chat")
	case c.Value == "" || utf8.RuneCountInString(c.Value) > col.max:
		return campaign.Corrected{}, invalid("%s: 1 to %d characters", c.Field, col.max)
	case c.Field == campaign.CorrectPhone && !e164.MatchString(c.Value):
		return campaign.Corrected{}, invalid("phone %q is not in E.164 form", c.Value)
	case utf8.RuneCountInString(c.Request) > maxNoteLen:
		return campaign.Corrected{}, invalid("request longer than %d characters", maxNoteLen)
	}
	if err := validateKey("correction", key); err != nil {
		return campaign.Corrected{}, err
	}
	actor := parent.Channel + ":" + parent.ChatID
	now := s.cases.db.now()
	out := campaign.Corrected{Correction: c}
	err := s.cases.db.tx(ctx, "correct", txOptions{}, func(tx *sqlx.Tx) error {
		locked, err := s.cases.lockRegistration(ctx, tx, code)
		if err != nil {
			return err
		}
		if locked.Channel != parent.Channel || locked.ChatID != parent.ChatID {
			return campaign.Errorf(campaign.ENOTFOUND, "no registration %s of this chat", code)
		}
		applied, err := caseKeyApplied(ctx, tx, key, keyCorrect, code)
		if err != nil {
			return err
		}
		if applied {
			var action string
			err := tx.GetContext(ctx, &action, `
				SELECT action FROM audit_log WHERE subject = $1 AND action IN ($2, $3) ORDER BY id DESC LIMIT 1`,
				code, actionCorrect, actionCorrectionRequest)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return wrapErr(err, "postgres: correct: earlier correction")
			}
			out.Applied = action == actionCorrect
			out.Registration, err = s.cases.regs.one(ctx, tx, "code", selectRegistrations+`WHERE r.id = $1`, locked.ID)
			return err
		}
		if !locked.Status.Correctable() {
			return campaign.Errorf(campaign.ECONFLICT, "registration %s is %s: nothing to correct", code, locked.Status)
		}
		action := actionCorrect
		if locked.Status.CorrectedDirectly() {
			_, err = tx.ExecContext(ctx, `UPDATE registrations SET `+col.column+` = $2, updated_at = $3 WHERE id = $1`,
				locked.ID, c.Value, now)
			if err != nil {
				return wrapErr(err, "postgres: correct")
			}
			out.Applied = true
		} else {
			if c.Request == "" {
				return invalid("a request for officials is required after verification")
			}
			// A request waits for the ward in /verify like a message to officials.
			if err := insertFamilyMessage(ctx, tx, locked.ID, now, actor, campaign.Answer{Text: c.Request}); err != nil {
				return err
			}
			action = actionCorrectionRequest
		}
		if err := insertCaseKey(ctx, tx, key, keyCorrect, code, now); err != nil {
			return err
		}
		// The field, never the value: an address or a phone locates the family; and the family,
		// never its chat.
		err = insertAudit(ctx, tx, campaign.AuditEntry{
			At: now, Actor: campaign.FamilyActor, Action: action, Subject: code,
			Before: map[string]any{"status": locked.Status}, After: map[string]any{"field": c.Field},
		})
		if err != nil {
			return err
		}
		if out.Registration, err = s.cases.regs.one(ctx, tx, "code", selectRegistrations+`WHERE r.id = $1`, locked.ID); err != nil {
			return err
		}
		if !out.Applied {
			if out.Officials, err = wardOfficials(ctx, tx, out.Registration.WardCode); err != nil {
				return err
			}
		}
		return notifyIn(ctx, tx, now, notify, out)
	})
	if err != nil {
		return campaign.Corrected{}, err
	}
	return out, nil
}

// wardOfficials are the active staff, not stopped, who verify the ward's registrations (its ward
// officials and Women's Union), or, when the ward has none, the education office's, with the
// language of their contact.
func wardOfficials(ctx context.Context, tx *sqlx.Tx, ward string) ([]campaign.Recipient, error) {
	var rows []officialRow
	err := tx.SelectContext(ctx, &rows, `
		SELECT sf.channel, sf.external_id AS chat_id, coalesce(ct.language, '') AS language, sf.ward_code IS NOT NULL AS in_ward
		FROM staff sf
		LEFT JOIN contacts ct ON ct.channel = sf.channel AND ct.external_id = sf.external_id
		WHERE sf.active AND ct.stopped IS NOT TRUE
			AND ((sf.role IN ('ward_official', 'womens_union') AND sf.ward_code = $1) OR sf.role = 'education_office')
		ORDER BY sf.channel, sf.external_id`, ward)
	if err != nil {
		return nil, wrapErr(err, "postgres: ward officials")
	}
	inWard := slices.ContainsFunc(rows, func(r officialRow) bool { return r.InWard })
	out := []campaign.Recipient{}
	for _, r := range rows {
		if r.InWard == inWard {
			out = append(out, campaign.Recipient{Channel: r.Channel, ChatID: r.ChatID, Language: r.Language})
		}
	}
	return out, nil
}

// officialRow is a member of staff wardOfficials reads; InWard is set for the ward's own.
type officialRow struct {
	Channel  string `db:"channel"`
	ChatID   string `db:"chat_id"`
	Language string `db:"language"`
	InWard   bool   `db:"in_ward"`
}

// withdrawAudit is what the audit row of a withdrawal keeps, and what a repeated withdrawal reads
// back: codes and states, nothing that names the family.
type withdrawAudit struct {
	Status   campaign.RegistrationStatus `json:"status"`
	Delivery string                      `json:"delivery,omitempty"`
	Device   string                      `json:"device,omitempty"`
	Type     campaign.DeviceType         `json:"device_type,omitempty"`
	Stock    []campaign.StockKind        `json:"stock,omitempty"`
	Handler  string                      `json:"handler,omitempty"`
}

// Withdraw withdraws the campaign's registration code in one transaction, locks taken in the case
// work's order (registration, delivery, device): see campaign.FamilyStore. An allocated
// registration's pending delivery is deleted (the delivery codes of its case keys with it, so a
// retried allocation finds the registration withdrawn and is stale), its device goes back to
// ready with an event by campaign.WithdrawnActor (only from allocated: a device someone moved by
// hand stays where it is), and its stock is back in stock, which counts what deliveries hold. The
// audit row registration.withdraw by by keeps the status, the delivery, the device and the
// stock; it is by campaign.FamilyActor rather than by when parent is set (the family's own chat
// never goes into the audit log). A repeated key returns the withdrawal as that row recorded it.
func (s *FamilyStore) Withdraw(ctx context.Context, code string, parent campaign.Session, by, key string, notify campaign.Notify[campaign.Withdrawal]) (campaign.Withdrawal, error) {
	code, parent, by = normalizeCode(code), normalizeSession(parent), campaign.NormalizeText(by)
	if by == "" || utf8.RuneCountInString(by) > maxIDLen {
		return campaign.Withdrawal{}, campaign.Errorf(campaign.EINVALID, "withdraw: who withdraws is required")
	}
	if err := validateKey("withdrawal", key); err != nil {
		return campaign.Withdrawal{}, err
	}
	now := s.cases.db.now()
	var out campaign.Withdrawal
	err := s.cases.db.tx(ctx, "withdraw", txOptions{}, func(tx *sqlx.Tx) error {
		out = campaign.Withdrawal{}
		locked, err := s.cases.lockRegistration(ctx, tx, code)
		if err != nil {
			return err
		}
		if parent.ChatID != "" && (locked.Channel != parent.Channel || locked.ChatID != parent.ChatID) {
			return campaign.Errorf(campaign.ENOTFOUND, "no registration %s of this chat", code)
		}
		applied, err := caseKeyApplied(ctx, tx, key, keyWithdraw, code)
		if err != nil {
			return err
		}
		if applied {
			var raw []byte
			err := tx.GetContext(ctx, &raw, `
				SELECT before FROM audit_log WHERE subject = $1 AND action = $2 ORDER BY id DESC LIMIT 1`, code, actionWithdraw)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return wrapErr(err, "postgres: withdraw: earlier withdrawal")
			}
			var a withdrawAudit
			if len(raw) > 0 {
				if err := json.Unmarshal(raw, &a); err != nil {
					return wrapErr(err, "postgres: withdraw: earlier withdrawal")
				}
			}
			out = withdrawalOf(a)
			out.Registration, err = s.cases.regs.one(ctx, tx, "code", selectRegistrations+`WHERE r.id = $1`, locked.ID)
			return err
		}
		next, err := locked.Status.Apply(campaign.RegistrationWithdraw)
		if err != nil {
			return fmt.Errorf("registration %s: %w", code, err)
		}
		a := withdrawAudit{Status: locked.Status}
		after := map[string]any{"status": next}
		if err := s.cancelDelivery(ctx, tx, locked.ID, code, now, &a, after); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE registrations SET status = $3, updated_at = $2 WHERE id = $1`, locked.ID, now, next)
		if err != nil {
			return wrapErr(err, "postgres: withdraw")
		}
		if err := insertCaseKey(ctx, tx, key, keyWithdraw, code, now); err != nil {
			return err
		}
		// A withdrawal from the family's chat is the family's, never its chat; an administrator's
		// is theirs.
		actor := by
		if parent.ChatID != "" {
			actor = campaign.FamilyActor
		}
		err = insertAudit(ctx, tx, campaign.AuditEntry{At: now, Actor: actor, Action: actionWithdraw, Subject: code, Before: a, After: after})
		if err != nil {
			return err
		}
		out = withdrawalOf(a)
		if out.Registration, err = s.cases.regs.one(ctx, tx, "code", selectRegistrations+`WHERE r.id = $1`, locked.ID); err != nil {
			return err
		}
		return notifyIn(ctx, tx, now, notify, out)
	})
	if err != nil {
		return campaign.Withdrawal{}, err
	}
	return out, nil
}

// cancelDelivery deletes the registration's pending delivery, if it has one, and with it what it
// held (its stock counts as left again), as campaign.AllocationCancel says: its device goes back
// to ready unless someone moved it by hand since. It records what it did in a and after.
func (s *FamilyStore) cancelDelivery(ctx context.Context, tx *sqlx.Tx, registrationID int64, code string, now time.Time, a *withdrawAudit, after map[string]any) error {
	var dl struct {
		ID          int64          `db:"id"`
		Code        string         `db:"code"`
		Status      string         `db:"status"`
		DeviceID    sql.NullInt64  `db:"device_id"`
		Stock       pq.StringArray `db:"stock"`
		Volunteer   string         `db:"volunteer"`
		AllocatedBy string         `db:"allocated_by"`
		DeviceLabel string         `db:"device_label"`
		DeviceType  string         `db:"device_type"`
	}
	// The device's label and type come with the delivery (its row is locked when it moves).
	err := tx.GetContext(ctx, &dl, `
		SELECT dl.id, dl.code, dl.status, dl.device_id, dl.stock, dl.volunteer, dl.allocated_by,
			coalesce(d.label, '') AS device_label, coalesce(d.type, '') AS device_type
		FROM deliveries dl LEFT JOIN devices d ON d.id = dl.device_id
		WHERE dl.registration_id = $1 FOR UPDATE OF dl`, registrationID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return wrapErr(err, "postgres: withdraw: lock delivery")
	}
	if _, err := campaign.DeliveryStatus(dl.Status).Apply(campaign.AllocationCancel.Delivery()); err != nil {
		return fmt.Errorf("registration %s: its delivery %s: %w", code, dl.Code, err)
	}
	a.Delivery, a.Stock = dl.Code, fromStrings[campaign.StockKind](dl.Stock)
	// Who was handling it: the volunteer who handed it over (a family then said it never came)
	// or who last tried to; else the official who allocated it.
	a.Handler = dl.Volunteer
	if a.Handler == "" {
		err := tx.GetContext(ctx, &a.Handler, `
			SELECT coalesce((SELECT actor FROM audit_log WHERE subject = $1 AND action = 'delivery.failed'
			                 ORDER BY id DESC LIMIT 1), $2)`, dl.Code, dl.AllocatedBy)
		if err != nil {
			return wrapErr(err, "postgres: withdraw: handler")
		}
	}
	if dl.DeviceID.Valid {
		to, moved, err := moveAllocatedDevice(ctx, tx, now, campaign.WithdrawnActor, dl.DeviceID.Int64, campaign.AllocationCancel, dl.Code)
		if err != nil {
			return fmt.Errorf("withdraw: %w", err)
		}
		if moved {
			a.Device, a.Type = dl.DeviceLabel, campaign.DeviceType(dl.DeviceType)
			after["device_state"] = to
		}
	}
	return dropDelivery(ctx, tx, dl.ID, dl.Code, code, "withdraw")
}

// dropDelivery deletes delivery id (code) of registration regCode, undoing its allocation, with
// the case keys applied to it and the registration's allocation keys, so the registration can be
// allocated again under any key; the stock it held counts as left again. what names the caller
// in errors.
func dropDelivery(ctx context.Context, tx *sqlx.Tx, id int64, code, regCode, what string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM deliveries WHERE id = $1`, id); err != nil {
		return wrapErr(err, "postgres: "+what+": delivery")
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM case_keys WHERE subject = $1 OR (subject = $2 AND kind = $3)`,
		code, regCode, keyAllocate)
	if err != nil {
		return wrapErr(err, "postgres: "+what+": case keys")
	}
	return nil
}

// withdrawalOf is the withdrawal an audit row records.
func withdrawalOf(a withdrawAudit) campaign.Withdrawal {
	return campaign.Withdrawal{Before: a.Status, DeliveryCode: a.Delivery, DeviceLabel: a.Device, DeviceType: a.Type,
		Stock: a.Stock, Handler: a.Handler}
}
