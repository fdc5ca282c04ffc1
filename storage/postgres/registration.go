package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Longest texts a registration accepts, in characters: generous for real names and addresses,
// small enough that a pasted essay is refused rather than stored.
const (
	maxNameLen    = 100
	maxSchoolLen  = 200
	maxAddressLen = 300
	maxOtherLen   = 500
	maxIDLen      = 200 // channel, chat and user ids, idempotency key
)

// defaultLanguage is the language of a registration that names none.
const defaultLanguage = "vi"

// e164 matches a phone number in E.164 form: a plus sign and up to 15 digits.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// errKeyRace means another transaction stored a registration with the same idempotency key
// between this one's look-up and its insert.
var errKeyRace = errors.New("idempotency key taken by a concurrent submit")

// RegistrationStore keeps the registrations of one campaign, with the students they are for.
type RegistrationStore struct {
	db *DB
	c  *campaign.Campaign

	seqMu    sync.Mutex
	seqReady bool
}

var _ campaign.RegistrationStore = (*RegistrationStore)(nil)

// NewRegistrationStore returns a RegistrationStore for campaign c over db.
func NewRegistrationStore(db *DB, c *campaign.Campaign) *RegistrationStore {
	return &RegistrationStore{db: db, c: c}
}

// SubmitRegistration stores r in one transaction and fills ID, Code, Status, StudentID,
// PossibleDuplicateOf, CampaignID and the timestamps; texts are stored in NFC with spaces folded.
//
// A registration with r.IdempotencyKey that already exists is returned in r instead, with created
// false, also when two submits of the same key race. Invalid input is refused with an EINVALID
// error and nothing is stored. A child already registered in the campaign (same folded name, date
// of birth and ward) is not added twice: the registration is linked to that student and
// PossibleDuplicateOf lists the earlier codes, for officials to check.
//
// Codes are numbered per campaign.RegistrationPrefix from a PostgreSQL sequence, so submits never
// queue on the numbering (a gap-free counter row, locked to the commit, made 200 parents submitting
// together wait up to 0.4 s); a submit that rolls back after taking its number leaves a gap, which
// is harmless in a code. Submits of what may be the same child take turns on an advisory lock on
// the child's key, so a concurrent registration of the same child by another parent is seen and
// flagged.
//
// A registration of campaign.SourceAssisted, made by staff on a family's behalf, is stored the
// same way, by the same function, with the rules of validateAssisted (see submit).
func (s *RegistrationStore) SubmitRegistration(ctx context.Context, r *campaign.Registration) (created bool, err error) {
	if r == nil {
		return false, campaign.Errorf(campaign.EINVALID, "no registration")
	}
	in := normalizeRegistration(*r)
	if in.IdempotencyKey == "" {
		return false, campaign.Errorf(campaign.EINVALID, "registration has no idempotency key")
	}
	switch in.Source {
	case "", campaign.SourceChat, campaign.SourceAssisted:
	default:
		return false, campaign.Errorf(campaign.EINVALID, "registration: source %q is not submitted one by one", in.Source)
	}
	// One retry: a lost race on the idempotency key finds the winner's row the second time, and a
	// serialization failure or deadlock is safe to run again because the key makes it idempotent.
	for attempt := 1; ; attempt++ {
		out := in
		created, err = s.submit(ctx, &out)
		if err == nil {
			*r = out
			return created, nil
		}
		if attempt < 2 && (errors.Is(err, errKeyRace) || isRetryableConflict(err)) {
			continue
		}
		if errors.Is(err, errKeyRace) {
			return false, fmt.Errorf("postgres: submit registration: %w: %w",
				campaign.Errorf(campaign.ECONFLICT, "registration is being submitted concurrently"), err)
		}
		return false, err
	}
}

// submit is one attempt of SubmitRegistration; r is already normalised and its source is a
// chat's (or none) or campaign.SourceAssisted. The work is done by the submit_registration
// function (migrations 00002 and 00028) in one round trip, whatever the source.
//
// A chat's registration is audited by campaign.FamilyActor (the append-only audit log keeps no
// family's chat) and makes its chat a contact. An assisted one has no chat (the family has none
// until it claims the registration) and so makes no contact; it stores who registered the family
// and who witnessed its consent, and the audit log gets "registration.create", with the source,
// and "registration.assist", with the witness, the consent's time and whether a phone was given,
// both by the staff member and with codes and the ward only. The child's earlier registrations,
// from any source, are flagged in PossibleDuplicateOf either way.
func (s *RegistrationStore) submit(ctx context.Context, r *campaign.Registration) (created bool, err error) {
	assisted := r.Source == campaign.SourceAssisted
	validate := s.validate
	source, actor, by, witness := campaign.SourceChat, campaign.FamilyActor, "", ""
	if assisted {
		validate = s.validateAssisted
		source, actor, by, witness = campaign.SourceAssisted, r.RegisteredBy, r.RegisteredBy, r.ConsentWitness
	}
	if err := validate(r); err != nil {
		// A retried submit of a stored registration is not refused for rules added since.
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
	var (
		out struct {
			Created     bool           `db:"o_created"`
			ID          sql.NullInt64  `db:"o_id"`
			Code        sql.NullString `db:"o_code"`
			StudentID   sql.NullInt64  `db:"o_student_id"`
			StudentName sql.NullString `db:"o_student_name"`
			DuplicateOf pq.StringArray `db:"o_duplicate_of"`
		}
	)
	err = s.db.db.QueryRowxContext(ctx, `
		SELECT o_created, o_id, o_code, o_student_id, o_student_name, o_duplicate_of
		FROM submit_registration($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
			$16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)`,
		r.IdempotencyKey, s.c.ID, s.c.RegistrationPrefix, seq,
		s.c.ID+"|"+nameKey+"|"+birthDate+"|"+r.WardCode,
		r.StudentName, nameKey, birthDate, r.WardCode,
		r.Channel, r.ChatID, r.UserID, r.Language,
		r.ParentName, r.ParentPhone, r.Level, r.Grade, r.School, r.Address,
		toStrings(r.Circumstances), r.CircumstanceOther, r.DeviceSituation, toStrings(r.Needs),
		r.ConsentAt, now, actor,
		source, by, witness,
	).StructScan(&out)
	if err != nil {
		if pq.As(err, "MT001") != nil {
			return false, errKeyRace
		}
		return false, wrapErr(err, "postgres: submit registration")
	}
	if !out.Created {
		existing, err := s.byKey(ctx, s.db.db, r.IdempotencyKey)
		if err != nil {
			return false, err
		}
		*r = existing
		return false, nil
	}
	r.ID, r.Code, r.Status, r.RejectReason = out.ID.Int64, out.Code.String, campaign.StatusSubmitted, ""
	r.CampaignID, r.StudentID, r.StudentName = s.c.ID, out.StudentID.Int64, out.StudentName.String
	r.PossibleDuplicateOf = fromStrings[string](out.DuplicateOf)
	r.CreatedAt, r.UpdatedAt = now, now
	if !assisted {
		r.Source, r.ListID, r.ListRow, r.RegisteredBy, r.ConsentWitness = campaign.SourceChat, 0, 0, "", ""
	}
	return true, nil
}

// normalizeRegistration returns r with every text in NFC with spaces folded, the lists without
// repeats and the dates in the forms stored.
func normalizeRegistration(r campaign.Registration) campaign.Registration {
	n := campaign.NormalizeText
	r.CampaignID, r.Channel, r.ChatID, r.UserID = n(r.CampaignID), n(r.Channel), n(r.ChatID), n(r.UserID)
	r.Language = n(r.Language)
	if r.Language == "" {
		r.Language = defaultLanguage
	}
	r.ParentName, r.ParentPhone, r.StudentName = n(r.ParentName), n(r.ParentPhone), n(r.StudentName)
	r.Level = campaign.SchoolLevel(n(string(r.Level)))
	r.School, r.WardCode, r.Address = n(r.School), n(r.WardCode), n(r.Address)
	r.CircumstanceOther = n(r.CircumstanceOther)
	r.Source = campaign.Source(n(string(r.Source)))
	r.RegisteredBy, r.ConsentWitness = n(r.RegisteredBy), n(r.ConsentWitness)
	r.DeviceSituation = campaign.DeviceSituation(n(string(r.DeviceSituation)))
	r.IdempotencyKey = n(r.IdempotencyKey)
	r.Circumstances = uniqueNormalized(r.Circumstances)
	r.Needs = uniqueNormalized(r.Needs)
	if !r.BirthDate.IsZero() {
		// The date the caller meant, whatever the zone of the value it holds it in.
		y, m, d := r.BirthDate.Date()
		r.BirthDate = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	if !r.ConsentAt.IsZero() {
		r.ConsentAt = r.ConsentAt.UTC().Truncate(time.Microsecond)
	}
	return r
}

// uniqueNormalized returns the normalised values of in without repeats, in their first order, or
// nil when none is left.
func uniqueNormalized[T ~string](in []T) []T {
	var out []T
	for _, v := range in {
		v = T(campaign.NormalizeText(string(v)))
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// validate checks a normalised registration against the campaign.
func (s *RegistrationStore) validate(r *campaign.Registration) error {
	invalid := func(format string, args ...any) error {
		return campaign.Errorf(campaign.EINVALID, "registration: "+format, args...)
	}
	if r.CampaignID != "" && r.CampaignID != s.c.ID {
		return invalid("campaign %q is not %q", r.CampaignID, s.c.ID)
	}
	if err := checkTexts(invalid, true,
		textField{"channel", r.Channel, maxIDLen},
		textField{"chat id", r.ChatID, maxIDLen},
		textField{"parent name", r.ParentName, maxNameLen},
		textField{"student name", r.StudentName, maxNameLen},
		textField{"school", r.School, maxSchoolLen},
		textField{"address", r.Address, maxAddressLen},
	); err != nil {
		return err
	}
	if utf8.RuneCountInString(r.UserID) > maxIDLen || utf8.RuneCountInString(r.IdempotencyKey) > maxIDLen {
		return invalid("user id or idempotency key is longer than %d characters", maxIDLen)
	}
	if utf8.RuneCountInString(r.CircumstanceOther) > maxOtherLen {
		return invalid("circumstance text is longer than %d characters", maxOtherLen)
	}
	if !e164.MatchString(r.ParentPhone) {
		return invalid("parent phone %q is not in E.164 form", r.ParentPhone)
	}
	if r.BirthDate.IsZero() {
		return invalid("birth date is required")
	}
	if r.BirthDate.After(s.db.now()) {
		return invalid("birth date %s is in the future", r.BirthDate.Format(campaign.DateLayout))
	}
	if _, ok := s.c.Ward(r.WardCode); !ok {
		return invalid("ward %q is not in campaign %s", r.WardCode, s.c.ID)
	}
	if _, _, ok := r.Level.Grades(); !ok {
		return invalid("unknown school level %q", r.Level)
	}
	if !r.Level.HasGrade(r.Grade) {
		return invalid("grade %d is not in level %s", r.Grade, r.Level)
	}
	for _, c := range r.Circumstances {
		if !slices.Contains(campaign.Circumstances, c) {
			return invalid("unknown circumstance %q", c)
		}
	}
	if slices.Contains(r.Circumstances, campaign.CircumstanceOther) && r.CircumstanceOther == "" {
		return invalid("circumstance %q needs a text", campaign.CircumstanceOther)
	}
	if !slices.Contains(campaign.DeviceSituations, r.DeviceSituation) {
		return invalid("unknown device situation %q", r.DeviceSituation)
	}
	if len(r.Needs) == 0 {
		return invalid("at least one need is required")
	}
	for _, need := range r.Needs {
		if !slices.Contains(campaign.Needs, need) {
			return invalid("unknown need %q", need)
		}
	}
	if r.ConsentAt.IsZero() {
		return invalid("the parent's consent is required")
	}
	return nil
}

// RegistrationsByChat lists the campaign's registrations made from one chat, newest first.
func (s *RegistrationStore) RegistrationsByChat(ctx context.Context, channel, chatID string) ([]campaign.Registration, error) {
	var rows []registrationRow
	err := s.db.db.SelectContext(ctx, &rows, selectRegistrations+`
		WHERE r.campaign_id = $1 AND r.channel = $2 AND r.chat_id = $3
		ORDER BY r.created_at DESC, r.id DESC`,
		s.c.ID, campaign.NormalizeText(channel), campaign.NormalizeText(chatID))
	if err != nil {
		return nil, wrapErr(err, "postgres: registrations by chat")
	}
	out := make([]campaign.Registration, 0, len(rows))
	for _, row := range rows {
		reg, err := row.registration()
		if err != nil {
			return nil, err
		}
		out = append(out, reg)
	}
	return out, nil
}

// ByCode returns the campaign's registration with the given code, or an ENOTFOUND error.
func (s *RegistrationStore) ByCode(ctx context.Context, code string) (campaign.Registration, error) {
	return s.one(ctx, s.db.db, "code", selectRegistrations+`WHERE r.campaign_id = $1 AND r.code = $2`,
		s.c.ID, campaign.NormalizeText(code))
}

// byKey returns the registration with the given idempotency key, of any campaign, since the key is
// unique across them.
func (s *RegistrationStore) byKey(ctx context.Context, q sqlx.QueryerContext, key string) (campaign.Registration, error) {
	return s.one(ctx, q, "idempotency key", selectRegistrations+`WHERE r.idempotency_key = $1`, key)
}

// one returns the single registration query selects, or an ENOTFOUND error naming what.
func (s *RegistrationStore) one(ctx context.Context, q sqlx.QueryerContext, what, query string, args ...any) (campaign.Registration, error) {
	var row registrationRow
	err := sqlx.GetContext(ctx, q, &row, query, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return campaign.Registration{}, campaign.Errorf(campaign.ENOTFOUND, "no registration with that %s", what)
	}
	if err != nil {
		return campaign.Registration{}, wrapErr(err, "postgres: registration by "+what)
	}
	return row.registration()
}

// Count returns how many registrations the campaign has.
func (s *RegistrationStore) Count(ctx context.Context) (int, error) {
	var n int
	if err := s.db.db.GetContext(ctx, &n, `SELECT count(*) FROM registrations WHERE campaign_id = $1`, s.c.ID); err != nil {
		return 0, wrapErr(err, "postgres: count registrations")
	}
	return n, nil
}

// selectRegistrations reads registrationRow columns; a WHERE clause follows it.
const selectRegistrations = `
	SELECT r.id, r.code, r.status, r.reject_reason, r.reject_code, r.campaign_id, r.channel, r.chat_id, r.user_id,
		r.language, r.parent_name, r.parent_phone, r.student_id, s.full_name,
		to_char(s.birth_date, 'YYYY-MM-DD') AS birth_date, r.level, r.grade, r.school, r.ward_code,
		r.address, r.circumstances, r.circumstance_other, r.device_situation, r.needs,
		r.idempotency_key, r.possible_duplicate_of, r.consent_at, r.created_at, r.updated_at,
		r.source, coalesce(r.list_id, 0) AS list_id, coalesce(r.list_row, 0) AS list_row,
		r.registered_by, r.consent_witness, r.claimed_at, ` + registrarColumns + `
	FROM registrations r JOIN students s ON s.id = r.student_id ` + registrarJoins

// registrationRow is a registration as selectRegistrations reads it.
type registrationRow struct {
	ID                  int64          `db:"id"`
	Code                string         `db:"code"`
	Status              string         `db:"status"`
	RejectReason        string         `db:"reject_reason"`
	RejectCode          string         `db:"reject_code"`
	CampaignID          string         `db:"campaign_id"`
	Channel             string         `db:"channel"`
	ChatID              string         `db:"chat_id"`
	UserID              string         `db:"user_id"`
	Language            string         `db:"language"`
	ParentName          string         `db:"parent_name"`
	ParentPhone         string         `db:"parent_phone"`
	StudentID           int64          `db:"student_id"`
	StudentName         string         `db:"full_name"`
	BirthDate           string         `db:"birth_date"`
	Level               string         `db:"level"`
	Grade               int            `db:"grade"`
	School              string         `db:"school"`
	WardCode            string         `db:"ward_code"`
	Address             string         `db:"address"`
	Circumstances       pq.StringArray `db:"circumstances"`
	CircumstanceOther   string         `db:"circumstance_other"`
	DeviceSituation     string         `db:"device_situation"`
	Needs               pq.StringArray `db:"needs"`
	IdempotencyKey      string         `db:"idempotency_key"`
	PossibleDuplicateOf pq.StringArray `db:"possible_duplicate_of"`
	ConsentAt           time.Time      `db:"consent_at"`
	CreatedAt           time.Time      `db:"created_at"`
	UpdatedAt           time.Time      `db:"updated_at"`
	Source              string         `db:"source"`
	ListID              int64          `db:"list_id"`
	ListRow             int            `db:"list_row"`
	RegisteredBy        string         `db:"registered_by"`
	ConsentWitness      string         `db:"consent_witness"`
	ClaimedAt           sql.NullTime   `db:"claimed_at"`
	registrarRow
}

// registration converts the row to the domain type, with times in UTC.
func (row registrationRow) registration() (campaign.Registration, error) {
	birthDate, err := time.Parse(campaign.DateLayout, row.BirthDate)
	if err != nil {
		return campaign.Registration{}, fmt.Errorf("postgres: registration %s: birth date: %w", row.Code, err)
	}
	registrar, err := row.registrar(row.ChatID, row.RegisteredBy, row.Source)
	if err != nil {
		return campaign.Registration{}, fmt.Errorf("registration %s: %w", row.Code, err)
	}
	return campaign.Registration{
		ID:                  row.ID,
		Code:                row.Code,
		Status:              campaign.RegistrationStatus(row.Status),
		RejectReason:        row.RejectReason,
		RejectCode:          campaign.RejectReason(row.RejectCode),
		CampaignID:          row.CampaignID,
		Channel:             row.Channel,
		ChatID:              row.ChatID,
		UserID:              row.UserID,
		Language:            row.Language,
		ParentName:          row.ParentName,
		ParentPhone:         row.ParentPhone,
		StudentID:           row.StudentID,
		StudentName:         row.StudentName,
		BirthDate:           birthDate,
		Level:               campaign.SchoolLevel(row.Level),
		Grade:               row.Grade,
		School:              row.School,
		WardCode:            row.WardCode,
		Address:             row.Address,
		Circumstances:       fromStrings[campaign.Circumstance](row.Circumstances),
		CircumstanceOther:   row.CircumstanceOther,
		DeviceSituation:     campaign.DeviceSituation(row.DeviceSituation),
		Needs:               fromStrings[campaign.Need](row.Needs),
		IdempotencyKey:      row.IdempotencyKey,
		PossibleDuplicateOf: fromStrings[string](row.PossibleDuplicateOf),
		ConsentAt:           row.ConsentAt.UTC(),
		CreatedAt:           row.CreatedAt.UTC(),
		UpdatedAt:           row.UpdatedAt.UTC(),
		Source:              campaign.Source(row.Source),
		ListID:              row.ListID,
		ListRow:             row.ListRow,
		RegisteredBy:        row.RegisteredBy,
		ConsentWitness:      row.ConsentWitness,
		ClaimedAt:           row.ClaimedAt.Time.UTC(),
		Registrar:           registrar,
		ListCode:            row.ListCode,
		RegisteredByName:    row.RegisteredByName,
		RegisteredByRole:    campaign.Role(row.RegisteredByRole),
	}, nil
}

// toStrings returns in as a text[] parameter; an empty list is '{}', never NULL.
func toStrings[T ~string](in []T) pq.StringArray {
	out := make(pq.StringArray, len(in))
	for i, v := range in {
		out[i] = string(v)
	}
	return out
}

// fromStrings converts a text[] column, returning nil for an empty array.
func fromStrings[T ~string](in []string) []T {
	if len(in) == 0 {
		return nil
	}
	out := make([]T, len(in))
	for i, v := range in {
		out[i] = T(v)
	}
	return out
}

// codeSequence returns the name of the prefix's code sequence, creating it on first use.
func (s *RegistrationStore) codeSequence(ctx context.Context) (string, error) {
	name := pq.QuoteIdentifier("registration_code_" + strings.ToLower(s.c.RegistrationPrefix))
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	if s.seqReady {
		return name, nil
	}
	_, err := s.db.db.ExecContext(ctx, `CREATE SEQUENCE IF NOT EXISTS `+name)
	// Two replicas creating it at once: the loser gets a unique violation and the sequence exists.
	if err != nil && !isAlreadyThere(err) {
		return "", wrapErr(err, "postgres: create code sequence")
	}
	s.seqReady = true
	return name, nil
}
