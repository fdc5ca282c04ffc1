package postgres

import (
	"context"
	"database/sql"
	"errors"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/thuduc/maytinhchoem/campaign"
)

// auditAssist is the audit action of a registration made by staff on a family's behalf.
const auditAssist = "registration.assist"

// submitAssisted is one attempt of SubmitRegistration for a registration staff made on a family's
// behalf (campaign.SourceAssisted): the steps of submit_registration (migration 00002) in one
// transaction, with the source, who registered and who witnessed the consent stored, no chat
// (the family has none until it claims the registration) and so no contact made. The child's
// earlier registrations, from any source, are flagged in PossibleDuplicateOf as for a chat's.
// The audit log gets "registration.create" and "registration.assist", both by the staff member,
// with codes and the ward only.
func (s *RegistrationStore) submitAssisted(ctx context.Context, r *campaign.Registration) (created bool, err error) {
	if err := s.validateAssisted(r); err != nil {
		if existing, kerr := s.byKey(ctx, s.db.db, r.IdempotencyKey); kerr == nil {
			*r = existing
			return false, nil
		}
		return false, err
	}
	seq, err := s.codeSequence(ctx)
	if err != nil {
		return false, err
	}
	now := s.db.now()
	nameKey := campaign.Fold(r.StudentName)
	birthDate := r.BirthDate.Format(campaign.DateLayout)

	var stored bool
	var student studentRef
	var made codeRef
	var dups pq.StringArray
	err = s.db.tx(ctx, "submit assisted registration", txOptions{}, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &stored, `SELECT EXISTS (SELECT 1 FROM registrations WHERE idempotency_key = $1)`, r.IdempotencyKey); err != nil {
			return wrapErr(err, "postgres: submit assisted registration: key")
		}
		if stored {
			return nil // nothing written: the commit ends the transaction
		}
		// Submits of what may be the same child take turns, as in submit_registration; each statement
		// after the lock sees what the others committed.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
			s.c.ID+"|"+nameKey+"|"+birthDate+"|"+r.WardCode); err != nil {
			return wrapErr(err, "postgres: submit assisted registration: lock")
		}
		student, dups = studentRef{}, pq.StringArray{}
		err := tx.GetContext(ctx, &student, `
			SELECT id, full_name FROM students
			WHERE campaign_id = $1 AND name_key = $2 AND birth_date = $3 AND ward_code = $4
			ORDER BY id LIMIT 1`, s.c.ID, nameKey, birthDate, r.WardCode)
		switch {
		case err == nil:
			if err := tx.GetContext(ctx, &dups, `
				SELECT coalesce(array_agg(code ORDER BY id), '{}') FROM registrations WHERE student_id = $1`, student.ID); err != nil {
				return wrapErr(err, "postgres: submit assisted registration: duplicates")
			}
		case errors.Is(err, sql.ErrNoRows):
			student.Name = r.StudentName
			if err := tx.GetContext(ctx, &student.ID, `
				INSERT INTO students (campaign_id, full_name, name_key, birth_date, ward_code, created_at)
				VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
				s.c.ID, r.StudentName, nameKey, birthDate, r.WardCode, now); err != nil {
				return wrapErr(err, "postgres: submit assisted registration: student")
			}
		default:
			return wrapErr(err, "postgres: submit assisted registration: student")
		}

		made = codeRef{}
		err = tx.GetContext(ctx, &made, `
			INSERT INTO registrations (
				campaign_id, code, status, channel, chat_id, user_id, language,
				parent_name, parent_phone, student_id, level, grade, school, ward_code, address,
				circumstances, circumstance_other, device_situation, needs,
				idempotency_key, possible_duplicate_of, consent_at, created_at, updated_at,
				source, registered_by, consent_witness)
			VALUES ($1, format_code($2, nextval($3::regclass)), 'submitted', '', '', '', $4,
				$5, $6, $7, $8, $9, $10, $11, $12,
				$13, $14, $15, $16,
				$17, $18, $19, $20, $20,
				'assisted', $21, $22)
			ON CONFLICT (idempotency_key) DO NOTHING
			RETURNING id, code`,
			s.c.ID, s.c.RegistrationPrefix, seq, r.Language,
			r.ParentName, r.ParentPhone, student.ID, r.Level, r.Grade, r.School, r.WardCode, r.Address,
			toStrings(r.Circumstances), r.CircumstanceOther, r.DeviceSituation, toStrings(r.Needs),
			r.IdempotencyKey, dups, r.ConsentAt, now,
			r.RegisteredBy, r.ConsentWitness)
		if errors.Is(err, sql.ErrNoRows) {
			return errKeyRace
		}
		if err != nil {
			return wrapErr(err, "postgres: submit assisted registration")
		}
		for _, e := range []campaign.AuditEntry{
			{At: now, Actor: r.RegisteredBy, Action: "registration.create", Subject: made.Code, After: map[string]any{
				"code": made.Code, "ward": r.WardCode, "level": r.Level, "grade": r.Grade, "status": campaign.StatusSubmitted,
				"possible_duplicate": len(dups) > 0, "source": campaign.SourceAssisted,
			}},
			// Who saw the family consent, and when: the code and the ward, nothing of the family.
			{At: now, Actor: r.RegisteredBy, Action: auditAssist, Subject: made.Code, After: map[string]any{
				"code": made.Code, "ward": r.WardCode, "witness": r.ConsentWitness, "consent_at": r.ConsentAt,
				"phone_given": r.ParentPhone != "",
			}},
		} {
			if err := insertAudit(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	if stored {
		existing, err := s.byKey(ctx, s.db.db, r.IdempotencyKey)
		if err != nil {
			return false, err
		}
		*r = existing
		return false, nil
	}
	r.ID, r.Code, r.Status, r.RejectReason = made.ID, made.Code, campaign.StatusSubmitted, ""
	r.CampaignID, r.StudentID, r.StudentName = s.c.ID, student.ID, student.Name
	r.PossibleDuplicateOf = fromStrings[string](dups)
	r.CreatedAt, r.UpdatedAt = now, now
	return true, nil
}

// studentRef is a student's id and name as read or inserted.
type studentRef struct {
	ID   int64  `db:"id"`
	Name string `db:"full_name"`
}

// codeRef is a new row's id and code.
type codeRef struct {
	ID   int64  `db:"id"`
	Code string `db:"code"`
}

// validateAssisted checks a normalised assisted registration as validate checks a chat's, but
// without a chat (it must have none: the family claims it later), with the parent's name and
// phone optional (a family may have no phone; a landline is a phone), and with who registered
// the family and who witnessed its consent required.
func (s *RegistrationStore) validateAssisted(r *campaign.Registration) error {
	invalid := func(format string, args ...any) error {
		return campaign.Errorf(campaign.EINVALID, "assisted registration: "+format, args...)
	}
	if r.Channel != "" || r.ChatID != "" || r.UserID != "" {
		return invalid("has a chat; the family's chat comes when it claims the registration")
	}
	if r.RegisteredBy == "" || r.ConsentWitness == "" {
		return invalid("needs who registered the family and who witnessed its consent")
	}
	if utf8.RuneCountInString(r.RegisteredBy) > maxIDLen || utf8.RuneCountInString(r.ConsentWitness) > maxIDLen {
		return invalid("registered by or witness is longer than %d characters", maxIDLen)
	}
	if r.ParentPhone != "" && !e164.MatchString(r.ParentPhone) {
		return invalid("parent phone %q is not in E.164 form", r.ParentPhone)
	}
	in := *r
	in.Channel, in.ChatID = "assisted", "assisted"
	if in.ParentName == "" {
		in.ParentName = "-"
	}
	if in.ParentPhone == "" {
		in.ParentPhone = "+84900000000"
	}
	return s.validate(&in)
}
