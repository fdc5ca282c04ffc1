package postgres

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/thuduc/maytinhchoem/campaign"
)

var _ campaign.MessageStore = (*CaseStore)(nil)

// keyMessage is the case_keys kind of a family's message to officials.
const keyMessage = "message"

// MessageOfficials adds the family's message to the registration's notes, marks the registration
// as waiting for officials (message_at keeps the oldest unhandled message's time) and queues the
// notices to the ward's staff, in one transaction; see campaign.MessageStore.
func (s *CaseStore) MessageOfficials(ctx context.Context, code string, parent campaign.Session, m campaign.Answer, key string, notify campaign.Notify[campaign.FamilyMessage]) (campaign.Registration, error) {
	code = normalizeCode(code)
	parent = normalizeSession(parent)
	actor := parent.Channel + ":" + parent.ChatID
	now := s.db.now()
	var out campaign.Registration
	err := s.db.tx(ctx, "message officials", txOptions{}, func(tx *sqlx.Tx) error {
		locked, err := s.lockRegistration(ctx, tx, code)
		if err != nil {
			return err
		}
		if locked.Channel != parent.Channel || locked.ChatID != parent.ChatID {
			return campaign.Errorf(campaign.ENOTFOUND, "no registration %s of this chat", code)
		}
		applied, err := caseKeyApplied(ctx, tx, key, keyMessage, code)
		if err != nil || applied {
			if err == nil {
				out, err = s.regs.one(ctx, tx, "code", selectRegistrations+`WHERE r.id = $1`, locked.ID)
			}
			return err
		}
		if locked.Status == campaign.StatusWithdrawn {
			return campaign.Errorf(campaign.ENOTFOUND, "registration %s was withdrawn", code)
		}
		if err := insertFamilyMessage(ctx, tx, locked.ID, now, actor, m); err != nil {
			return err
		}
		if err := insertCaseKey(ctx, tx, key, keyMessage, code, now); err != nil {
			return err
		}
		// That the family wrote and when; the words stay in the note, which erasure removes, and
		// the chat in the note's actor.
		err = insertAudit(ctx, tx, campaign.AuditEntry{At: now, Actor: campaign.FamilyActor, Action: "registration.message", Subject: code})
		if err != nil {
			return err
		}
		if out, err = s.regs.one(ctx, tx, "code", selectRegistrations+`WHERE r.id = $1`, locked.ID); err != nil {
			return err
		}
		officials, err := wardOfficials(ctx, tx, out.WardCode)
		if err != nil {
			return err
		}
		return notifyIn(ctx, tx, now, notify, campaign.FamilyMessage{Registration: out, Message: m, Officials: officials})
	})
	if err != nil {
		return campaign.Registration{}, err
	}
	return out, nil
}

// MessageHandled clears the registration's mark of a message waiting for officials, for staff
// who may verify its ward; see campaign.MessageStore.
func (s *CaseStore) MessageHandled(ctx context.Context, code string, by campaign.Staff) error {
	code = normalizeCode(code)
	now := s.db.now()
	return s.db.tx(ctx, "message handled", txOptions{}, func(tx *sqlx.Tx) error {
		locked, err := s.lockRegistration(ctx, tx, code)
		if err != nil {
			return err
		}
		var ward string
		if err := tx.GetContext(ctx, &ward, `SELECT ward_code FROM registrations WHERE id = $1`, locked.ID); err != nil {
			return wrapErr(err, "postgres: message handled")
		}
		if err := campaign.Authorize(by, campaign.ActionVerify, ward); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE registrations SET message_at = NULL WHERE id = $1 AND message_at IS NOT NULL`, locked.ID)
		if err != nil {
			return wrapErr(err, "postgres: message handled")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // handled already: a second press changes nothing
		}
		return insertAudit(ctx, tx, campaign.AuditEntry{At: now, Actor: by.Channel + ":" + by.ExternalID,
			Action: "registration.message_handled", Subject: code})
	})
}

// insertFamilyMessage adds a family's own words (or photo) to the registration's notes as a
// message and marks the registration as waiting for officials: it shows in the ward's /verify until
// an official handles it or decides the case. A message to officials and a correction requested
// after verification both come this way.
func insertFamilyMessage(ctx context.Context, tx *sqlx.Tx, registrationID int64, now time.Time, actor string, m campaign.Answer) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO registration_notes (registration_id, at, actor, answer, message, body, photo_id, photo_channel)
		VALUES ($1, $2, $3, true, true, $4, $5, $6)`,
		registrationID, now, actor, m.Text, m.PhotoID, m.PhotoChannel)
	if err != nil {
		return wrapErr(err, "postgres: family message")
	}
	_, err = tx.ExecContext(ctx, `UPDATE registrations SET message_at = coalesce(message_at, $2) WHERE id = $1`, registrationID, now)
	if err != nil {
		return wrapErr(err, "postgres: family message")
	}
	return nil
}
