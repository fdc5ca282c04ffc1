package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Prefixes of the codes this package numbers, each from a sequence of its own.
const (
	pledgeCodePrefix  = "PL"
	deviceLabelPrefix = "TB" // thiết bị
)

// Limits of a pledge: generous for the largest donor the plan names (a telecom operator giving
// SIMs to a whole city), small enough to catch a slip of the keyboard.
const (
	maxPledgeItems    = 50
	maxDeviceQuantity = 1000
	maxStockQuantity  = 100_000
	maxPackageMonths  = 36
	maxMoneyAmount    = 1_000_000_000_000 // VND
)

// codeSequence is the PostgreSQL sequence that numbers the codes of one prefix, created on first
// use so that a new prefix needs no migration (as RegistrationStore does for its codes).
type codeSequence struct {
	db   *DB
	name string // quoted identifier

	mu    sync.Mutex
	ready bool
}

// newCodeSequence returns the sequence named base_prefix, in lower case.
func newCodeSequence(db *DB, base, prefix string) *codeSequence {
	return &codeSequence{db: db, name: pq.QuoteIdentifier(base + "_" + strings.ToLower(prefix))}
}

// ensure returns the sequence's quoted name, creating the sequence on first use.
func (s *codeSequence) ensure(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ready {
		return s.name, nil
	}
	_, err := s.db.db.ExecContext(ctx, `CREATE SEQUENCE IF NOT EXISTS `+s.name)
	// Two replicas creating it at once: the loser gets a unique violation and the sequence exists.
	if err != nil && !isAlreadyThere(err) {
		return "", wrapErr(err, "postgres: create code sequence")
	}
	s.ready = true
	return s.name, nil
}

// PledgeStore keeps donors' pledges, in the pledges and pledge_items tables.
type PledgeStore struct {
	db  *DB
	seq *codeSequence
}

var _ campaign.PledgeStore = (*PledgeStore)(nil)

// NewPledgeStore returns a PledgeStore over db.
func NewPledgeStore(db *DB) *PledgeStore {
	return &PledgeStore{db: db, seq: newCodeSequence(db, "pledge_code", pledgeCodePrefix)}
}

// SubmitPledge stores p in one SQL statement (the pledge, its items, the donor as a contact and an
// audit row "pledge.create") and fills ID, Code (PL-000045), Status and the timestamps; texts are
// stored in NFC with spaces folded, and fields the delivery method does not use are cleared.
//
// A pledge with p.IdempotencyKey that already exists is returned in p instead, with created false,
// also when submits of the same key race. Invalid input is refused with an EINVALID error and
// nothing is stored. A ward delivery needs a ward code, but any non-empty code is accepted here:
// the pledge flow checks it against the campaign's wards, as this store knows no campaign.
func (s *PledgeStore) SubmitPledge(ctx context.Context, p *campaign.Pledge) (created bool, err error) {
	if p == nil {
		return false, campaign.Errorf(campaign.EINVALID, "no pledge")
	}
	in := normalizePledge(*p)
	if in.IdempotencyKey == "" {
		return false, campaign.Errorf(campaign.EINVALID, "pledge has no idempotency key")
	}
	if err := s.validate(&in); err != nil {
		// A retried submit of a stored pledge is not refused for rules added since.
		if existing, kerr := s.byKey(ctx, in.IdempotencyKey); kerr == nil {
			*p = existing
			return false, nil
		}
		return false, err
	}
	// One retry: a deadlock or serialization failure is safe to run again because the key makes
	// the submit idempotent.
	for attempt := 1; ; attempt++ {
		out := in
		created, err = s.submit(ctx, &out)
		if err == nil {
			*p = out
			return created, nil
		}
		if attempt < 2 && isRetryableConflict(err) {
			continue
		}
		return false, err
	}
}

// submitPledge inserts a pledge unless its key is stored, with its items, the donor as a contact
// and the audit row. It returns no row when the key was already there; ON CONFLICT waits for a
// concurrent submit of the same key to commit, so the pledge can then be read by its key.
// nextval runs only for a pledge that passes the NOT EXISTS test, so a plain retry uses no number.
const submitPledge = `
	WITH p AS (
		INSERT INTO pledges (code, status, channel, chat_id, user_id, language, donor_kind, donor_name,
			contact_person, phone, delivery, ward_code, pickup_address, pickup_date, anonymous,
			idempotency_key, created_at, updated_at)
		SELECT format_code($1, nextval($2::regclass)), 'pledged', $3, $4, $5, $6, $7, $8,
			$9, $10, $11, $12, $13, $14::date, $15, $16, $17, $17
		WHERE NOT EXISTS (SELECT 1 FROM pledges WHERE idempotency_key = $16)
		ON CONFLICT (idempotency_key) DO NOTHING
		RETURNING id, code
	), items AS (
		INSERT INTO pledge_items (pledge_id, position, kind, quantity, used, complete, months, amount)
		SELECT p.id, i.position, i.kind, i.quantity, i.used, i.complete, i.months, i.amount
		FROM p, unnest($18::text[], $19::integer[], $20::boolean[], $21::boolean[], $22::integer[],
			$23::bigint[]) WITH ORDINALITY AS i (kind, quantity, used, complete, months, amount, position)
	), contact AS (
		-- The donor becomes a contact the campaign can thank and write to about the pledge.
		INSERT INTO contacts (channel, external_id, name, language, created_at, updated_at)
		SELECT $3, $4, $24, $6, $17, $17 FROM p
		ON CONFLICT (channel, external_id) DO UPDATE
		   SET name = EXCLUDED.name, language = EXCLUDED.language, stopped = false,
		       updated_at = EXCLUDED.updated_at
	), audit AS (
		INSERT INTO audit_log (at, actor, action, subject, before, after)
		SELECT $17, $25, 'pledge.create', p.code, NULL, jsonb_build_object('code', p.code) || $26::jsonb
		FROM p
	)
	SELECT id, code FROM p`

// submit is one attempt of SubmitPledge; p is normalised and valid.
func (s *PledgeStore) submit(ctx context.Context, p *campaign.Pledge) (created bool, err error) {
	seq, err := s.seq.ensure(ctx)
	if err != nil {
		return false, err
	}
	now := s.db.now()
	n := len(p.Items)
	kinds, quantities := make(pq.StringArray, n), make(pq.Int64Array, n)
	used, complete := make(pq.BoolArray, n), make(pq.BoolArray, n)
	months, amounts := make(pq.Int64Array, n), make(pq.Int64Array, n)
	type auditItem struct {
		Kind     campaign.ItemKind `json:"kind"`
		Quantity int               `json:"quantity,omitempty"`
		Months   int               `json:"months,omitempty"`
		Amount   int64             `json:"amount,omitempty"`
	}
	auditItems := make([]auditItem, n)
	for i, it := range p.Items {
		kinds[i], quantities[i], used[i], complete[i] = string(it.Kind), int64(it.Quantity), it.Used, it.Complete
		months[i], amounts[i] = int64(it.Months), it.Amount
		auditItems[i] = auditItem{Kind: it.Kind, Quantity: it.Quantity, Months: it.Months, Amount: it.Amount}
	}
	// Nothing that names or reaches the donor goes into the audit log, which is append-only: the
	// actor is campaign.DonorActor, not the donor's chat.
	after, err := json.Marshal(map[string]any{
		"status": campaign.PledgeOpen, "donor_kind": p.DonorKind, "delivery": p.Delivery,
		"ward": p.WardCode, "anonymous": p.Anonymous, "items": auditItems,
	})
	if err != nil {
		return false, fmt.Errorf("postgres: submit pledge: audit: %w", err)
	}
	var pickupDate any
	if !p.PickupDate.IsZero() {
		pickupDate = p.PickupDate.Format(campaign.DateLayout)
	}
	contactName := p.DonorName
	if p.ContactPerson != "" {
		contactName = p.ContactPerson
	}
	err = s.db.db.QueryRowxContext(ctx, submitPledge,
		pledgeCodePrefix, seq, p.Channel, p.ChatID, p.UserID, p.Language, p.DonorKind, p.DonorName,
		p.ContactPerson, p.Phone, p.Delivery, p.WardCode, p.PickupAddress, pickupDate, p.Anonymous,
		p.IdempotencyKey, now,
		kinds, quantities, used, complete, months, amounts,
		contactName, campaign.DonorActor, string(after),
	).Scan(&p.ID, &p.Code)
	if errors.Is(err, sql.ErrNoRows) {
		existing, err := s.byKey(ctx, p.IdempotencyKey)
		if err != nil {
			return false, err
		}
		*p = existing
		return false, nil
	}
	if err != nil {
		return false, wrapErr(err, "postgres: submit pledge")
	}
	p.Status, p.CreatedAt, p.UpdatedAt = campaign.PledgeOpen, now, now
	return true, nil
}

// normalizePledge returns p with every text in NFC with spaces folded, the fields its delivery
// method does not use cleared, the pickup date as a date and the item flags that only devices
// have cleared on other items.
func normalizePledge(p campaign.Pledge) campaign.Pledge {
	n := campaign.NormalizeText
	p.ID, p.Code, p.Status, p.CreatedAt, p.UpdatedAt = 0, "", "", time.Time{}, time.Time{}
	p.Channel, p.ChatID, p.UserID, p.Language = n(p.Channel), n(p.ChatID), n(p.UserID), n(p.Language)
	if p.Language == "" {
		p.Language = defaultLanguage
	}
	p.DonorKind = campaign.DonorKind(n(string(p.DonorKind)))
	p.DonorName, p.ContactPerson, p.Phone = n(p.DonorName), n(p.ContactPerson), n(p.Phone)
	p.Delivery = campaign.DeliveryMethod(n(string(p.Delivery)))
	p.WardCode, p.PickupAddress = n(p.WardCode), n(p.PickupAddress)
	p.IdempotencyKey = n(p.IdempotencyKey)
	if p.Delivery != campaign.DeliverToWard {
		p.WardCode = ""
	}
	if p.Delivery != campaign.DeliverByPickup {
		p.PickupAddress, p.PickupDate = "", time.Time{}
	}
	if !p.PickupDate.IsZero() {
		// The date the caller meant, whatever the zone of the value it holds it in.
		y, m, d := p.PickupDate.Date()
		p.PickupDate = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	items := make([]campaign.PledgeItem, len(p.Items))
	for i, it := range p.Items {
		it.Kind = campaign.ItemKind(n(string(it.Kind)))
		if !it.Kind.IsDevice() {
			it.Used, it.Complete = false, false
		}
		items[i] = it
	}
	p.Items = items
	return p
}

// validate checks a normalised pledge.
func (s *PledgeStore) validate(p *campaign.Pledge) error {
	invalid := func(format string, args ...any) error {
		return campaign.Errorf(campaign.EINVALID, "pledge: "+format, args...)
	}
	if err := checkTexts(invalid, true,
		textField{"channel", p.Channel, maxIDLen},
		textField{"chat id", p.ChatID, maxIDLen},
		textField{"donor name", p.DonorName, maxNameLen},
		textField{"phone", p.Phone, maxNameLen},
	); err != nil {
		return err
	}
	if utf8.RuneCountInString(p.UserID) > maxIDLen || utf8.RuneCountInString(p.IdempotencyKey) > maxIDLen {
		return invalid("user id or idempotency key is longer than %d characters", maxIDLen)
	}
	if utf8.RuneCountInString(p.ContactPerson) > maxNameLen {
		return invalid("contact person is longer than %d characters", maxNameLen)
	}
	if !slices.Contains(campaign.DonorKinds, p.DonorKind) {
		return invalid("unknown donor kind %q", p.DonorKind)
	}
	if !e164.MatchString(p.Phone) {
		return invalid("phone %q is not in E.164 form", p.Phone)
	}
	if len(p.Items) == 0 {
		return invalid("at least one item is required")
	}
	if len(p.Items) > maxPledgeItems {
		return invalid("%d items; at most %d", len(p.Items), maxPledgeItems)
	}
	for i, it := range p.Items {
		if err := validateItem(it); err != nil {
			return invalid("item %d: %v", i+1, err)
		}
	}
	switch p.Delivery {
	case campaign.DeliverToFront:
	case campaign.DeliverToWard:
		if p.WardCode == "" {
			return invalid("delivery to a ward office needs the ward")
		}
		if utf8.RuneCountInString(p.WardCode) > maxIDLen {
			return invalid("ward code is longer than %d characters", maxIDLen)
		}
	case campaign.DeliverByPickup:
		if p.PickupAddress == "" || p.PickupDate.IsZero() {
			return invalid("a pickup needs an address and a date")
		}
		if utf8.RuneCountInString(p.PickupAddress) > maxAddressLen {
			return invalid("pickup address is longer than %d characters", maxAddressLen)
		}
		// UTC's today is never after Vietnam's, so a donor's "today" always passes.
		if today := s.db.now().Truncate(24 * time.Hour); p.PickupDate.Before(today) {
			return invalid("pickup date %s is in the past", p.PickupDate.Format(campaign.DateLayout))
		}
	default:
		return invalid("unknown delivery method %q", p.Delivery)
	}
	return nil
}

// validateItem checks one line of a pledge: devices and stock are counted in Quantity, money in
// Amount, and only internet packages have Months.
func validateItem(it campaign.PledgeItem) error {
	maxQuantity := 0
	switch {
	case it.Kind.IsDevice():
		maxQuantity = maxDeviceQuantity
	case isStockKind(it.Kind):
		maxQuantity = maxStockQuantity
	case it.Kind == campaign.ItemMoney:
		if it.Amount < 1 || it.Amount > maxMoneyAmount {
			return fmt.Errorf("amount %d VND is not between 1 and %d", it.Amount, int64(maxMoneyAmount))
		}
		if it.Quantity != 0 || it.Months != 0 {
			return errors.New("money has an amount, not a quantity or months")
		}
		return nil
	default:
		return fmt.Errorf("unknown kind %q", it.Kind)
	}
	if it.Quantity < 1 || it.Quantity > maxQuantity {
		return fmt.Errorf("%s quantity %d is not between 1 and %d", it.Kind, it.Quantity, maxQuantity)
	}
	if it.Amount != 0 {
		return fmt.Errorf("%s has a quantity, not an amount", it.Kind)
	}
	if err := validateMonths(it.Kind, it.Months); err != nil {
		return err
	}
	return nil
}

// validateMonths checks the months of service of stock of kind: 1 to 36 for internet packages,
// none for anything else.
func validateMonths(kind campaign.ItemKind, months int) error {
	if kind == campaign.ItemInternetPackage {
		if months < 1 || months > maxPackageMonths {
			return fmt.Errorf("internet package of %d months; 1 to %d", months, maxPackageMonths)
		}
		return nil
	}
	if months != 0 {
		return fmt.Errorf("%s has no months of service", kind)
	}
	return nil
}

// isStockKind reports whether k is connectivity counted rather than tracked one by one.
func isStockKind(k campaign.ItemKind) bool {
	return slices.Contains(campaign.StockKinds, campaign.StockKind(k))
}

// normalizeCode returns a pledge code or device label as stored: people type them in lower case.
func normalizeCode(code string) string {
	return strings.ToUpper(campaign.NormalizeText(code))
}

// PledgeByCode returns the pledge with the given code (in any case), or an ENOTFOUND error.
func (s *PledgeStore) PledgeByCode(ctx context.Context, code string) (campaign.Pledge, error) {
	return s.one(ctx, "code", selectPledges+`WHERE p.code = $1`, normalizeCode(code))
}

// byKey returns the pledge with the given idempotency key, or an ENOTFOUND error.
func (s *PledgeStore) byKey(ctx context.Context, key string) (campaign.Pledge, error) {
	return s.one(ctx, "idempotency key", selectPledges+`WHERE p.idempotency_key = $1`, key)
}

// one returns the single pledge query selects, with its items, or an ENOTFOUND error naming what.
func (s *PledgeStore) one(ctx context.Context, what, query string, args ...any) (campaign.Pledge, error) {
	var row pledgeRow
	err := s.db.db.GetContext(ctx, &row, query, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return campaign.Pledge{}, campaign.Errorf(campaign.ENOTFOUND, "no pledge with that %s", what)
	}
	if err != nil {
		return campaign.Pledge{}, wrapErr(err, "postgres: pledge by "+what)
	}
	p, err := row.pledge()
	if err != nil {
		return campaign.Pledge{}, err
	}
	items, err := pledgeItems(ctx, s.db.db, []int64{p.ID})
	if err != nil {
		return campaign.Pledge{}, err
	}
	p.Items = items[p.ID]
	return p, nil
}

// PledgesByChat lists the pledges made from one chat, newest first, with where what they gave is
// now, in six queries however many pledges and items there are, all seen in one snapshot.
//
// Devices and Delivered count the pledge's own devices and those bought with its money: to the
// donor both are their gift. Delivered counts devices in state delivered by the level and ward of
// the registration in devices.allocated_registration_id; a delivered device without one (none
// until allocations are stored) is in Devices only.
func (s *PledgeStore) PledgesByChat(ctx context.Context, channel, chatID string) ([]campaign.PledgeProgress, error) {
	var out []campaign.PledgeProgress
	err := s.db.tx(ctx, "pledges by chat", snapshotRead, func(tx *sqlx.Tx) error {
		var err error
		out, err = s.pledgesByChat(ctx, tx, channel, chatID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// pledgesByChat is PledgesByChat in the snapshot tx.
func (s *PledgeStore) pledgesByChat(ctx context.Context, tx *sqlx.Tx, channel, chatID string) ([]campaign.PledgeProgress, error) {
	var rows []pledgeRow
	err := tx.SelectContext(ctx, &rows, selectPledges+`
		WHERE p.channel = $1 AND p.chat_id = $2
		ORDER BY p.created_at DESC, p.id DESC`,
		campaign.NormalizeText(channel), campaign.NormalizeText(chatID))
	if err != nil {
		return nil, wrapErr(err, "postgres: pledges by chat")
	}
	out := make([]campaign.PledgeProgress, 0, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make(pq.Int64Array, len(rows))
	index := make(map[int64]int, len(rows))
	for i, row := range rows {
		p, err := row.pledge()
		if err != nil {
			return nil, err
		}
		ids[i], index[p.ID] = p.ID, i
		out = append(out, campaign.PledgeProgress{
			Pledge:        p,
			Devices:       map[campaign.DeviceState]int{},
			StockReceived: map[campaign.ItemKind]int{},
		})
	}

	items, err := pledgeItems(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	for id, its := range items {
		out[index[id]].Items = its
	}

	var devices []struct {
		PledgeID int64  `db:"pledge_id"`
		State    string `db:"state"`
		N        int    `db:"n"`
	}
	err = tx.SelectContext(ctx, &devices, `
		SELECT pledge_id, state, count(*) AS n FROM (
			SELECT d.pledge_id, d.state FROM devices d WHERE d.pledge_id = ANY($1)
			UNION ALL
			SELECT m.pledge_id, d.state FROM money m JOIN devices d ON d.money_id = m.id
			WHERE m.pledge_id = ANY($1)
		) x GROUP BY pledge_id, state`, ids)
	if err != nil {
		return nil, wrapErr(err, "postgres: pledges by chat: devices")
	}
	for _, d := range devices {
		out[index[d.PledgeID]].Devices[campaign.DeviceState(d.State)] = d.N
	}

	var stock []struct {
		PledgeID int64  `db:"pledge_id"`
		Kind     string `db:"kind"`
		N        int    `db:"n"`
	}
	err = tx.SelectContext(ctx, &stock, `
		SELECT pledge_id, kind, sum(quantity) AS n FROM stock WHERE pledge_id = ANY($1)
		GROUP BY pledge_id, kind`, ids)
	if err != nil {
		return nil, wrapErr(err, "postgres: pledges by chat: stock")
	}
	for _, st := range stock {
		out[index[st.PledgeID]].StockReceived[campaign.ItemKind(st.Kind)] = st.N
	}

	var money []struct {
		PledgeID int64 `db:"pledge_id"`
		Amount   int64 `db:"amount"`
	}
	err = tx.SelectContext(ctx, &money, `
		SELECT pledge_id, sum(amount)::bigint AS amount FROM money WHERE pledge_id = ANY($1)
		GROUP BY pledge_id`, ids)
	if err != nil {
		return nil, wrapErr(err, "postgres: pledges by chat: money")
	}
	for _, m := range money {
		out[index[m.PledgeID]].MoneyReceived = m.Amount
	}

	var delivered []struct {
		PledgeID int64  `db:"pledge_id"`
		Level    string `db:"level"`
		WardCode string `db:"ward_code"`
		N        int    `db:"n"`
	}
	err = tx.SelectContext(ctx, &delivered, `
		SELECT x.pledge_id, r.level, r.ward_code, count(*) AS n FROM (
			SELECT d.pledge_id, d.allocated_registration_id AS registration_id
			FROM devices d WHERE d.pledge_id = ANY($1) AND d.state = 'delivered'
			UNION ALL
			SELECT m.pledge_id, d.allocated_registration_id
			FROM money m JOIN devices d ON d.money_id = m.id
			WHERE m.pledge_id = ANY($1) AND d.state = 'delivered'
		) x JOIN registrations r ON r.id = x.registration_id
		GROUP BY x.pledge_id, r.level, r.ward_code
		ORDER BY x.pledge_id, r.level, r.ward_code`, ids)
	if err != nil {
		return nil, wrapErr(err, "postgres: pledges by chat: delivered")
	}
	for _, d := range delivered {
		i := index[d.PledgeID]
		out[i].Delivered = append(out[i].Delivered, campaign.DeliveredCount{
			Level: campaign.SchoolLevel(d.Level), WardCode: d.WardCode, Count: d.N,
		})
	}
	return out, nil
}

// pledgeItems returns the items of the pledges with the given ids, in each pledge's order.
func pledgeItems(ctx context.Context, q sqlx.QueryerContext, ids pq.Int64Array) (map[int64][]campaign.PledgeItem, error) {
	var rows []struct {
		PledgeID int64  `db:"pledge_id"`
		Kind     string `db:"kind"`
		Quantity int    `db:"quantity"`
		Used     bool   `db:"used"`
		Complete bool   `db:"complete"`
		Months   int    `db:"months"`
		Amount   int64  `db:"amount"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, `
		SELECT pledge_id, kind, quantity, used, complete, months, amount
		FROM pledge_items WHERE pledge_id = ANY($1) ORDER BY pledge_id, position`, ids)
	if err != nil {
		return nil, wrapErr(err, "postgres: pledge items")
	}
	out := make(map[int64][]campaign.PledgeItem, len(ids))
	for _, r := range rows {
		out[r.PledgeID] = append(out[r.PledgeID], campaign.PledgeItem{
			Kind: campaign.ItemKind(r.Kind), Quantity: r.Quantity, Used: r.Used, Complete: r.Complete,
			Months: r.Months, Amount: r.Amount,
		})
	}
	return out, nil
}

// selectPledges reads pledgeRow columns; a WHERE clause follows it.
const selectPledges = `
	SELECT p.id, p.code, p.status, p.channel, p.chat_id, p.user_id, p.language, p.donor_kind,
		p.donor_name, p.contact_person, p.phone, p.delivery, p.ward_code, p.pickup_address,
		coalesce(to_char(p.pickup_date, 'YYYY-MM-DD'), '') AS pickup_date, p.anonymous,
		p.idempotency_key, p.created_at, p.updated_at
	FROM pledges p
	`

// pledgeRow is a pledge as selectPledges reads it.
type pledgeRow struct {
	ID             int64     `db:"id"`
	Code           string    `db:"code"`
	Status         string    `db:"status"`
	Channel        string    `db:"channel"`
	ChatID         string    `db:"chat_id"`
	UserID         string    `db:"user_id"`
	Language       string    `db:"language"`
	DonorKind      string    `db:"donor_kind"`
	DonorName      string    `db:"donor_name"`
	ContactPerson  string    `db:"contact_person"`
	Phone          string    `db:"phone"`
	Delivery       string    `db:"delivery"`
	WardCode       string    `db:"ward_code"`
	PickupAddress  string    `db:"pickup_address"`
	PickupDate     string    `db:"pickup_date"`
	Anonymous      bool      `db:"anonymous"`
	IdempotencyKey string    `db:"idempotency_key"`
	CreatedAt      time.Time `db:"created_at"`
	UpdatedAt      time.Time `db:"updated_at"`
}

// pledge converts the row to the domain type without its items, with times in UTC.
func (row pledgeRow) pledge() (campaign.Pledge, error) {
	var pickup time.Time
	if row.PickupDate != "" {
		var err error
		if pickup, err = time.Parse(campaign.DateLayout, row.PickupDate); err != nil {
			return campaign.Pledge{}, fmt.Errorf("postgres: pledge %s: pickup date: %w", row.Code, err)
		}
	}
	return campaign.Pledge{
		ID:             row.ID,
		Code:           row.Code,
		Status:         campaign.PledgeStatus(row.Status),
		Channel:        row.Channel,
		ChatID:         row.ChatID,
		UserID:         row.UserID,
		Language:       row.Language,
		DonorKind:      campaign.DonorKind(row.DonorKind),
		DonorName:      row.DonorName,
		ContactPerson:  row.ContactPerson,
		Phone:          row.Phone,
		Delivery:       campaign.DeliveryMethod(row.Delivery),
		WardCode:       row.WardCode,
		PickupAddress:  row.PickupAddress,
		PickupDate:     pickup,
		Anonymous:      row.Anonymous,
		IdempotencyKey: row.IdempotencyKey,
		CreatedAt:      row.CreatedAt.UTC(),
		UpdatedAt:      row.UpdatedAt.UTC(),
	}, nil
}

// lockPledge locks the pledge with code until tx ends, so what it has received is counted and its
// status set by one writer at a time. An unknown or cancelled pledge is an EINVALID error: the
// code is something a volunteer typed.
func lockPledge(ctx context.Context, tx *sqlx.Tx, code string) (id int64, status campaign.PledgeStatus, err error) {
	err = tx.QueryRowxContext(ctx, `SELECT id, status FROM pledges WHERE code = $1 FOR UPDATE`, code).Scan(&id, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", campaign.Errorf(campaign.EINVALID, "there is no pledge %s", code)
	}
	if err != nil {
		return 0, "", wrapErr(err, "postgres: lock pledge")
	}
	if status == campaign.PledgeCancelled {
		return 0, "", campaign.Errorf(campaign.EINVALID, "pledge %s was cancelled", code)
	}
	return id, status, nil
}

// refreshPledgeStatus sets a locked pledge's status from what it has received: pledged when
// nothing, received when every kind pledged was received in full (devices and stock counted,
// money summed), partly otherwise. It returns the status after; current is the status before.
const refreshPledgeStatus = `
	WITH pledged AS (
		SELECT kind, sum(CASE WHEN kind = 'money' THEN amount ELSE quantity END) AS n
		FROM pledge_items WHERE pledge_id = $1 GROUP BY kind
	), received AS (
		SELECT kind, sum(n) AS n FROM (
			SELECT type AS kind, count(*) AS n FROM devices WHERE pledge_id = $1 GROUP BY type
			UNION ALL
			SELECT kind, sum(quantity) FROM stock WHERE pledge_id = $1 GROUP BY kind
			UNION ALL
			SELECT 'money', sum(amount) FROM money WHERE pledge_id = $1 HAVING count(*) > 0
		) r GROUP BY kind
	), next AS (
		SELECT CASE
			WHEN NOT EXISTS (SELECT 1 FROM received) THEN 'pledged'
			WHEN NOT EXISTS (SELECT 1 FROM pledged p LEFT JOIN received r USING (kind)
			                 WHERE coalesce(r.n, 0) < p.n) THEN 'received'
			ELSE 'partly' END AS status
	)
	UPDATE pledges SET status = next.status, updated_at = $2
	FROM next WHERE pledges.id = $1 AND pledges.status <> 'cancelled' AND pledges.status <> next.status
	RETURNING pledges.status`

// setPledgeStatus runs refreshPledgeStatus for the pledge id, locked in tx with status current.
func setPledgeStatus(ctx context.Context, tx *sqlx.Tx, id int64, current campaign.PledgeStatus, now time.Time) (campaign.PledgeStatus, error) {
	var next campaign.PledgeStatus
	err := tx.QueryRowxContext(ctx, refreshPledgeStatus, id, now).Scan(&next)
	if errors.Is(err, sql.ErrNoRows) {
		return current, nil
	}
	if err != nil {
		return "", wrapErr(err, "postgres: pledge status")
	}
	return next, nil
}

// staffActor returns the actor a staff member is recorded as, "<channel>:<external id>".
func staffActor(by campaign.Staff) (string, error) {
	channel, id := campaign.NormalizeText(by.Channel), campaign.NormalizeText(by.ExternalID)
	if channel == "" || id == "" {
		return "", campaign.Errorf(campaign.EINVALID, "the staff member acting has no channel or id")
	}
	return channel + ":" + id, nil
}
