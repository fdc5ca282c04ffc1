package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/thuduc/maytinhchoem/campaign"
)

// ExportSource reads the rows of the officials' exports, one streaming query per sheet: rows go to
// the exporter as PostgreSQL sends them, so an export of the whole city never sits in memory. It
// is the export package's Source; the field keys and value types are that package's columns,
// kept in step by the export tests, as storage does not import export.
type ExportSource struct {
	db *DB
	c  *campaign.Campaign
}

// NewExportSource returns the export rows of campaign c over db.
func NewExportSource(db *DB, c *campaign.Campaign) *ExportSource {
	return &ExportSource{db: db, c: c}
}

// Origins of a device, the values of export.OriginPledge, export.OriginPurchase and
// export.OriginWalkIn.
const (
	originPledge   = "pledge"
	originPurchase = "purchase"
	originWalkIn   = "walk_in"
)

// Rows calls fn with each row of sheet that f chooses, oldest first, with the values of fields in
// their order; the schools sheet counts the registrations the registrations sheet holds, by
// school (most first, see schoolRows). Registrations and deliveries are those of the campaign; pledges and devices have no
// campaign of their own and all are listed. f.WardCode keeps registrations and deliveries of
// children of the ward, pledges brought to the ward office, and devices allocated to a child of
// the ward or, when not allocated, brought to its office. f.Status keeps registrations of that
// status and the deliveries of such registrations. f.From and f.To bound created_at (for
// deliveries allocated_at). A field this source does not know is an EINVALID error, before any
// query runs; a sheet f.Sheets does not hold is an EUNAUTHORIZED one, so what a role may not see
// is never read. A donor who asked to stay anonymous is named in no row: their name, contact,
// phone and pickup address are not read either. f.School keeps the registrations whose school_key
// is its campaign.SchoolKey and their deliveries (a school's export); pledges and devices have no
// school, so with f.School their sheets are EUNAUTHORIZED, and a school whose key is "" is
// EINVALID.
func (s *ExportSource) Rows(ctx context.Context, sheet campaign.ExportSheet, fields []string, f campaign.ExportFilter, fn func(row []any) error) error {
	if slices.Contains(campaign.ExportSheets, sheet) && !f.Sheets.Has(sheet) {
		return campaign.Errorf(campaign.EUNAUTHORIZED, "export: sheet %s is not in the export's scope (%s)", sheet, f.Sheets)
	}
	if f.School != "" {
		if campaign.SchoolKey(f.School) == "" {
			return campaign.Errorf(campaign.EINVALID, "export: the school %q has no key", f.School)
		}
		if sheet != campaign.SheetRegistrations && sheet != campaign.SheetDeliveries {
			return campaign.Errorf(campaign.EUNAUTHORIZED, "export: sheet %s has no school to keep to", sheet)
		}
	}
	var err error
	switch sheet {
	case campaign.SheetRegistrations:
		err = streamRows(ctx, s.db, sheet, s.registrationsQuery(f), s.registrationFields(), fields, fn)
	case campaign.SheetPledges:
		err = streamRows(ctx, s.db, sheet, pledgesQuery(f), s.pledgeFields(), fields, fn)
	case campaign.SheetDevices:
		err = streamRows(ctx, s.db, sheet, devicesQuery(f), s.deviceFields(), fields, fn)
	case campaign.SheetDeliveries:
		err = streamRows(ctx, s.db, sheet, s.deliveriesQuery(f), s.deliveryFields(), fields, fn)
	case campaign.SheetSchools:
		err = s.schoolRows(ctx, fields, f, fn)
	default:
		return campaign.Errorf(campaign.EINVALID, "export: unknown sheet %q", sheet)
	}
	return err
}

// query is a SELECT and its arguments.
type query struct {
	sql  string
	args []any
}

// where collects a query's conditions and numbers their arguments.
type where struct {
	conds []string
	args  []any
}

// add adds a condition in which ? stands for arg.
func (w *where) add(cond string, arg any) {
	w.args = append(w.args, arg)
	w.conds = append(w.conds, strings.Replace(cond, "?", "$"+strconv.Itoa(len(w.args)), 1))
}

// period adds the filter's bounds on the time column col.
func (w *where) period(col string, f campaign.ExportFilter) {
	if !f.From.IsZero() {
		w.add(col+" >= ?", f.From)
	}
	if !f.To.IsZero() {
		w.add(col+" < ?", f.To)
	}
}

// query returns the SELECT with the conditions and the order.
func (w *where) query(sel, order string) query {
	q := sel
	if len(w.conds) > 0 {
		q += "\nWHERE " + strings.Join(w.conds, " AND ")
	}
	return query{sql: q + "\nORDER BY " + order, args: w.args}
}

// streamRows runs q and calls fn with each row's values of fields, read from the row struct T by
// the getters. The row and the struct are reused from one row to the next.
func streamRows[T any](ctx context.Context, db *DB, sheet campaign.ExportSheet, q query, getters map[string]func(*T) any, fields []string, fn func([]any) error) error {
	get := make([]func(*T) any, len(fields))
	for i, k := range fields {
		g, ok := getters[k]
		if !ok {
			return campaign.Errorf(campaign.EINVALID, "export: sheet %s has no field %q", sheet, k)
		}
		get[i] = g
	}
	// An export of a whole city streams for as long as it takes (about 1.6 s per 50,000 rows):
	// it runs without the stores' statement timeout, on the maintenance pool. ctx still bounds it.
	rows, err := db.maintenance.QueryxContext(ctx, q.sql, q.args...)
	if err != nil {
		return wrapErr(err, "postgres: export "+string(sheet))
	}
	defer rows.Close()
	var rec T
	row := make([]any, len(fields))
	for rows.Next() {
		if err := rows.StructScan(&rec); err != nil {
			return wrapErr(err, "postgres: export "+string(sheet))
		}
		for i, g := range get {
			row[i] = g(&rec)
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return wrapErr(err, "postgres: export "+string(sheet))
	}
	return nil
}

// wardName returns the ward's name in the campaign, or "" for a code it does not know.
func (s *ExportSource) wardName(code string) string {
	if w, ok := s.c.Ward(code); ok {
		return w.Name
	}
	return ""
}

// staffJoin is SQL that joins as alias the staff member an actor column ("telegram:12345")
// holds: their name as they gave it on joining, and their role, which staffName selects.
// Officials read names and roles; the ids mean nothing to them.
func staffJoin(alias, col string) string {
	return `
		LEFT JOIN LATERAL (SELECT nullif(st.name, '') AS name, st.role FROM staff st
			WHERE st.channel = split_part(` + col + `, ':', 1)
			  AND st.external_id = substr(` + col + `, strpos(` + col + `, ':') + 1)
			ORDER BY st.active DESC, st.id DESC LIMIT 1) ` + alias + ` ON true`
}

// staffName is SQL for the name of the staff member joined as alias by staffJoin on col, as field,
// and their role, as field_role. An actor who is no staff ("system", an administrator, a parent)
// stays as the column has it, with no role; one who gave no name is named by the column.
func staffName(alias, col, field string) string {
	return `coalesce(` + alias + `.name, ` + col + `, '') AS ` + field + `, coalesce(` + alias + `.role, '') AS ` + field + `_role`
}

// anonymousOr is SQL for a donor's column col of the pledge p, empty when the donor asked to stay
// anonymous: who they are stays in the database, and out of every export.
func anonymousOr(p, col string) string {
	return `CASE WHEN ` + p + `.anonymous THEN '' ELSE ` + p + `.` + col + ` END`
}

// exportDeviceOrigin is SQL that says where the device d came from, "" when there is none.
const exportDeviceOrigin = `CASE WHEN d.id IS NULL THEN ''
		WHEN d.pledge_id IS NOT NULL THEN '` + originPledge + `'
		WHEN d.money_id IS NOT NULL THEN '` + originPurchase + `'
		ELSE '` + originWalkIn + `' END`

// nullTime returns a nullable timestamp as a time, zero for NULL.
func nullTime(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time
}

type exportRegistration struct {
	Code              string         `db:"code"`
	Status            string         `db:"status"`
	RejectCode        string         `db:"reject_code"`
	RejectText        string         `db:"reject_reason"`
	WardCode          string         `db:"ward_code"`
	StudentName       string         `db:"student_name"`
	BirthDate         time.Time      `db:"birth_date"`
	Level             string         `db:"level"`
	Grade             int64          `db:"grade"`
	School            string         `db:"school"`
	Address           string         `db:"address"`
	ParentName        string         `db:"parent_name"`
	ParentPhone       string         `db:"parent_phone"`
	Circumstances     pq.StringArray `db:"circumstances"`
	CircumstanceOther string         `db:"circumstance_other"`
	DeviceSituation   string         `db:"device_situation"`
	Needs             pq.StringArray `db:"needs"`
	Duplicates        pq.StringArray `db:"possible_duplicate_of"`
	CreatedAt         time.Time      `db:"created_at"`
	DecidedBy         string         `db:"decided_by"`
	DecidedByRole     string         `db:"decided_by_role"`
	DecidedAt         sql.NullTime   `db:"decided_at"`
	Source            string         `db:"source"`
	ListCode          string         `db:"list_code"`
	ListRow           int64          `db:"list_row"`
	RegisteredBy      string         `db:"registered_by"`
	RegisteredByRole  string         `db:"registered_by_role"`
	Consent           string         `db:"consent"`
}

// How the family's consent was given, the values of export.ConsentChat, ConsentInPerson and
// ConsentList; and the role of a registrar known only as staff (export.StaffUnknown).
const (
	consentChat     = "chat"
	consentInPerson = "in_person"
	consentList     = "list"
	staffUnknown    = "staff"
)

// exportConsent is SQL for how the consent of the registration r was given: in person when a
// staff member witnessed it (every assisted registration), with the list for a list's row, in
// the chat otherwise.
const exportConsent = `CASE WHEN r.consent_witness <> '' OR r.source = 'assisted' THEN '` + consentInPerson + `'
		WHEN r.source = 'list' THEN '` + consentList + `' ELSE '` + consentChat + `' END`

// exportRegistrar is SQL for who registered r on the family's behalf or sent its list, joined as
// rb by staffJoin: their name, "" when the staff table has none (never their chat id, which means
// nothing to officials), and their role: the staff member's, else the role the list was sent
// with, else staffUnknown.
const exportRegistrar = `coalesce(rb.name, '') AS registered_by,
			CASE WHEN r.registered_by = '' THEN '' ELSE coalesce(rb.role, nullif(il.role, ''), '` + staffUnknown + `') END AS registered_by_role`

func (s *ExportSource) registrationsQuery(f campaign.ExportFilter) query {
	return s.registrationsWhere(f).query(`
		SELECT r.code, r.status, r.reject_code, r.reject_reason, r.ward_code, s.full_name AS student_name,
			s.birth_date, r.level, r.grade, r.school, r.address, r.parent_name, r.parent_phone,
			r.circumstances, r.circumstance_other, r.device_situation, r.needs, r.possible_duplicate_of,
			r.created_at, `+staffName("db", "r.decided_by", "decided_by")+`, r.decided_at,
			r.source, coalesce(il.code, '') AS list_code, coalesce(r.list_row, 0) AS list_row,
			`+exportRegistrar+`, `+exportConsent+` AS consent
		FROM registrations r
		JOIN students s ON s.id = r.student_id
		LEFT JOIN import_lists il ON il.id = r.list_id`+staffJoin("db", "r.decided_by")+staffJoin("rb", "r.registered_by"), "r.id")
}

// registrationsWhere chooses the registrations of f, for the registrations sheet and the
// schools' counts alike, so the two always hold the same registrations.
func (s *ExportSource) registrationsWhere(f campaign.ExportFilter) *where {
	w := &where{}
	w.add("r.campaign_id = ?", s.c.ID)
	if f.WardCode != "" {
		w.add("r.ward_code = ?", f.WardCode)
	}
	if f.School != "" {
		w.add("r.school_key = ?", campaign.SchoolKey(f.School))
	}
	if f.Status != "" {
		w.add("r.status = ?", string(f.Status))
	}
	w.period("r.created_at", f)
	return w
}

// schoolRows counts the registrations of f (those of the registrations sheet) by school, by
// source and by status, grouped as the summary groups them (campaign.SchoolTally: by SchoolKey,
// named as most registrations write it), and calls fn with each school's row. Schools are a few
// thousand at most: counted in memory from one grouped query.
func (s *ExportSource) schoolRows(ctx context.Context, fields []string, f campaign.ExportFilter, fn func([]any) error) error {
	getters := map[string]func(*campaign.SchoolCount) any{
		"school":    func(c *campaign.SchoolCount) any { return c.Name },
		"total":     func(c *campaign.SchoolCount) any { return c.Total },
		"chat":      func(c *campaign.SchoolCount) any { return c.BySource.Chat },
		"list":      func(c *campaign.SchoolCount) any { return c.BySource.List },
		"assisted":  func(c *campaign.SchoolCount) any { return c.BySource.Assisted },
		"pending":   func(c *campaign.SchoolCount) any { return c.Pending },
		"verified":  func(c *campaign.SchoolCount) any { return c.Verified },
		"delivered": func(c *campaign.SchoolCount) any { return c.Delivered },
		"rejected":  func(c *campaign.SchoolCount) any { return c.Rejected },
		"withdrawn": func(c *campaign.SchoolCount) any { return c.Withdrawn },
	}
	get := make([]func(*campaign.SchoolCount) any, len(fields))
	for i, k := range fields {
		g, ok := getters[k]
		if !ok {
			return campaign.Errorf(campaign.EINVALID, "export: sheet %s has no field %q", campaign.SheetSchools, k)
		}
		get[i] = g
	}
	w := s.registrationsWhere(f)
	tally, err := schoolTally(ctx, s.db.maintenance, "postgres: export schools", nil, `SELECT r.school, r.source, r.status, count(*) FROM registrations r
		WHERE `+strings.Join(w.conds, " AND ")+` GROUP BY 1, 2, 3`, w.args...)
	if err != nil {
		return err
	}
	row := make([]any, len(fields))
	for _, c := range tally.Schools() {
		for i, g := range get {
			row[i] = g(&c)
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	return nil
}

func (s *ExportSource) registrationFields() map[string]func(*exportRegistration) any {
	return map[string]func(*exportRegistration) any{
		"code":                func(r *exportRegistration) any { return r.Code },
		"status":              func(r *exportRegistration) any { return r.Status },
		"reject_code":         func(r *exportRegistration) any { return r.RejectCode },
		"reject_text":         func(r *exportRegistration) any { return r.RejectText },
		"ward_code":           func(r *exportRegistration) any { return r.WardCode },
		"ward_name":           func(r *exportRegistration) any { return s.wardName(r.WardCode) },
		"student_name":        func(r *exportRegistration) any { return r.StudentName },
		"birth_date":          func(r *exportRegistration) any { return r.BirthDate },
		"level":               func(r *exportRegistration) any { return r.Level },
		"grade":               func(r *exportRegistration) any { return r.Grade },
		"school":              func(r *exportRegistration) any { return r.School },
		"address":             func(r *exportRegistration) any { return r.Address },
		"parent_name":         func(r *exportRegistration) any { return r.ParentName },
		"parent_phone":        func(r *exportRegistration) any { return r.ParentPhone },
		"circumstances":       func(r *exportRegistration) any { return []string(r.Circumstances) },
		"circumstance_other":  func(r *exportRegistration) any { return r.CircumstanceOther },
		"device_situation":    func(r *exportRegistration) any { return r.DeviceSituation },
		"needs":               func(r *exportRegistration) any { return []string(r.Needs) },
		"possible_duplicates": func(r *exportRegistration) any { return []string(r.Duplicates) },
		"created_at":          func(r *exportRegistration) any { return r.CreatedAt },
		"decided_by":          func(r *exportRegistration) any { return r.DecidedBy },
		"decided_by_role":     func(r *exportRegistration) any { return r.DecidedByRole },
		"decided_at":          func(r *exportRegistration) any { return nullTime(r.DecidedAt) },
		"source":              func(r *exportRegistration) any { return r.Source },
		"list_code":           func(r *exportRegistration) any { return r.ListCode },
		"list_row":            func(r *exportRegistration) any { return r.ListRow },
		"registered_by":       func(r *exportRegistration) any { return r.RegisteredBy },
		"registered_by_role":  func(r *exportRegistration) any { return r.RegisteredByRole },
		"consent":             func(r *exportRegistration) any { return r.Consent },
	}
}

type exportPledge struct {
	Code          string       `db:"code"`
	Status        string       `db:"status"`
	DonorKind     string       `db:"donor_kind"`
	DonorName     string       `db:"donor_name"`
	ContactPerson string       `db:"contact_person"`
	Phone         string       `db:"phone"`
	Items         []byte       `db:"items"`
	MoneyPledged  int64        `db:"money_pledged"`
	MoneyReceived int64        `db:"money_received"`
	Delivery      string       `db:"delivery"`
	WardCode      string       `db:"ward_code"`
	PickupAddress string       `db:"pickup_address"`
	PickupDate    sql.NullTime `db:"pickup_date"`
	Anonymous     bool         `db:"anonymous"`
	CreatedAt     time.Time    `db:"created_at"`
}

func pledgesQuery(f campaign.ExportFilter) query {
	var w where
	if f.WardCode != "" {
		w.add("p.ward_code = ?", f.WardCode)
	}
	w.period("p.created_at", f)
	return w.query(`
		SELECT p.code, p.status, p.donor_kind, `+anonymousOr("p", "donor_name")+` AS donor_name,
			`+anonymousOr("p", "contact_person")+` AS contact_person, `+anonymousOr("p", "phone")+` AS phone,
			coalesce((SELECT json_agg(json_build_object('kind', i.kind, 'quantity', i.quantity,
					'used', i.used, 'complete', i.complete, 'months', i.months, 'amount', i.amount)
					ORDER BY i.position)
				FROM pledge_items i WHERE i.pledge_id = p.id), '[]') AS items,
			coalesce((SELECT sum(i.amount) FROM pledge_items i WHERE i.pledge_id = p.id), 0)::bigint AS money_pledged,
			coalesce((SELECT sum(m.amount) FROM money m WHERE m.pledge_id = p.id), 0)::bigint AS money_received,
			p.delivery, p.ward_code, `+anonymousOr("p", "pickup_address")+` AS pickup_address, p.pickup_date,
			p.anonymous, p.created_at
		FROM pledges p`, "p.id")
}

// pledgeItemJSON is a line of a pledge as the pledges query aggregates it.
type pledgeItemJSON struct {
	Kind     campaign.ItemKind `json:"kind"`
	Quantity int               `json:"quantity"`
	Used     bool              `json:"used"`
	Complete bool              `json:"complete"`
	Months   int               `json:"months"`
	Amount   int64             `json:"amount"`
}

func (s *ExportSource) pledgeFields() map[string]func(*exportPledge) any {
	return map[string]func(*exportPledge) any{
		"code":           func(p *exportPledge) any { return p.Code },
		"status":         func(p *exportPledge) any { return p.Status },
		"donor_kind":     func(p *exportPledge) any { return p.DonorKind },
		"donor_name":     func(p *exportPledge) any { return p.DonorName },
		"contact_person": func(p *exportPledge) any { return p.ContactPerson },
		"phone":          func(p *exportPledge) any { return p.Phone },
		"items":          func(p *exportPledge) any { return decodeItems(p.Items) },
		"money_pledged":  func(p *exportPledge) any { return p.MoneyPledged },
		"money_received": func(p *exportPledge) any { return p.MoneyReceived },
		"delivery":       func(p *exportPledge) any { return p.Delivery },
		"ward_code":      func(p *exportPledge) any { return p.WardCode },
		"ward_name":      func(p *exportPledge) any { return s.wardName(p.WardCode) },
		"pickup_address": func(p *exportPledge) any { return p.PickupAddress },
		"pickup_date":    func(p *exportPledge) any { return nullTime(p.PickupDate) },
		"anonymous":      func(p *exportPledge) any { return p.Anonymous },
		"created_at":     func(p *exportPledge) any { return p.CreatedAt },
	}
}

// decodeItems reads the pledges query's items. The JSON is built by the query itself, so it
// cannot be malformed short of a bug; such a pledge shows no items rather than failing the export.
func decodeItems(b []byte) []campaign.PledgeItem {
	var lines []pledgeItemJSON
	if err := json.Unmarshal(b, &lines); err != nil {
		return nil
	}
	items := make([]campaign.PledgeItem, len(lines))
	for i, l := range lines {
		items[i] = campaign.PledgeItem{Kind: l.Kind, Quantity: l.Quantity, Used: l.Used, Complete: l.Complete, Months: l.Months, Amount: l.Amount}
	}
	return items
}

type exportDevice struct {
	Label            string    `db:"label"`
	Type             string    `db:"type"`
	State            string    `db:"state"`
	Brand            string    `db:"brand"`
	Model            string    `db:"model"`
	Serial           string    `db:"serial"`
	Used             bool      `db:"used"`
	PledgeCode       string    `db:"pledge_code"`
	Origin           string    `db:"origin"`
	SoftwareLevel    string    `db:"software_level"`
	CheckedBy        string    `db:"checked_by"`
	CheckedByRole    string    `db:"checked_by_role"`
	RegistrationCode string    `db:"registration_code"`
	WardCode         string    `db:"ward_code"`
	CreatedAt        time.Time `db:"created_at"`
	UpdatedAt        time.Time `db:"updated_at"`
}

// deviceWard is SQL for the ward a device belongs to: its child's, else the ward office its
// pledge was brought to.
const deviceWard = `coalesce(r.ward_code, nullif(p.ward_code, ''))`

func devicesQuery(f campaign.ExportFilter) query {
	var w where
	if f.WardCode != "" {
		w.add(deviceWard+" = ?", f.WardCode)
	}
	w.period("d.created_at", f)
	return w.query(`
		SELECT d.label, d.type, d.state, d.brand, d.model, d.serial, d.used,
			coalesce(p.code, mp.code, '') AS pledge_code, `+exportDeviceOrigin+` AS origin,
			d.software_level, `+staffName("cb", "d.checked_by", "checked_by")+`,
			coalesce(r.code, '') AS registration_code, coalesce(`+deviceWard+`, '') AS ward_code,
			d.created_at, d.updated_at
		FROM devices d
		LEFT JOIN pledges p ON p.id = d.pledge_id
		LEFT JOIN money m ON m.id = d.money_id
		LEFT JOIN pledges mp ON mp.id = m.pledge_id
		LEFT JOIN registrations r ON r.id = d.allocated_registration_id`+staffJoin("cb", "d.checked_by"), "d.id")
}

func (s *ExportSource) deviceFields() map[string]func(*exportDevice) any {
	return map[string]func(*exportDevice) any{
		"label":             func(d *exportDevice) any { return d.Label },
		"type":              func(d *exportDevice) any { return d.Type },
		"state":             func(d *exportDevice) any { return d.State },
		"brand":             func(d *exportDevice) any { return d.Brand },
		"model":             func(d *exportDevice) any { return d.Model },
		"serial":            func(d *exportDevice) any { return d.Serial },
		"used":              func(d *exportDevice) any { return d.Used },
		"pledge_code":       func(d *exportDevice) any { return d.PledgeCode },
		"origin":            func(d *exportDevice) any { return d.Origin },
		"software_level":    func(d *exportDevice) any { return d.SoftwareLevel },
		"checked_by":        func(d *exportDevice) any { return d.CheckedBy },
		"checked_by_role":   func(d *exportDevice) any { return d.CheckedByRole },
		"registration_code": func(d *exportDevice) any { return d.RegistrationCode },
		"ward_code":         func(d *exportDevice) any { return d.WardCode },
		"ward_name":         func(d *exportDevice) any { return s.wardName(d.WardCode) },
		"created_at":        func(d *exportDevice) any { return d.CreatedAt },
		"updated_at":        func(d *exportDevice) any { return d.UpdatedAt },
	}
}

type exportDelivery struct {
	Code             string         `db:"code"`
	Status           string         `db:"status"`
	RegistrationCode string         `db:"registration_code"`
	StudentName      string         `db:"student_name"`
	Level            string         `db:"level"`
	Grade            int64          `db:"grade"`
	WardCode         string         `db:"ward_code"`
	Handover         string         `db:"handover"`
	DeviceLabel      string         `db:"device_label"`
	DeviceType       string         `db:"device_type"`
	Stock            pq.StringArray `db:"stock"`
	PledgeCode       string         `db:"pledge_code"`
	Origin           string         `db:"origin"`
	DonorName        string         `db:"donor_name"`
	DonorAnonymous   bool           `db:"donor_anonymous"`
	AllocatedBy      string         `db:"allocated_by"`
	AllocatedByRole  string         `db:"allocated_by_role"`
	AllocatedAt      time.Time      `db:"allocated_at"`
	Attempts         int64          `db:"attempts"`
	LastFailure      string         `db:"last_failure"`
	LastFailureNote  string         `db:"last_failure_note"`
	Volunteer        string         `db:"volunteer"`
	VolunteerRole    string         `db:"volunteer_role"`
	RecipientName    string         `db:"recipient_name"`
	HasPhoto         bool           `db:"has_photo"`
	DeliveredAt      sql.NullTime   `db:"delivered_at"`
	ConfirmedAt      sql.NullTime   `db:"confirmed_at"`
	AutoConfirmed    bool           `db:"auto_confirmed"`
}

func (s *ExportSource) deliveriesQuery(f campaign.ExportFilter) query {
	var w where
	w.add("r.campaign_id = ?", s.c.ID)
	if f.WardCode != "" {
		w.add("r.ward_code = ?", f.WardCode)
	}
	if f.School != "" {
		w.add("r.school_key = ?", campaign.SchoolKey(f.School))
	}
	if f.Status != "" {
		w.add("r.status = ?", string(f.Status))
	}
	w.period("g.allocated_at", f)
	// The donor of a device bought with money is the donor of that money: the chain officials
	// report to donors runs through it.
	return w.query(`
		SELECT g.code, g.status, r.code AS registration_code, s.full_name AS student_name, r.level,
			r.grade, r.ward_code, g.handover, coalesce(d.label, '') AS device_label,
			coalesce(d.type, '') AS device_type, g.stock,
			coalesce(p.code, mp.code, '') AS pledge_code, `+exportDeviceOrigin+` AS origin,
			coalesce(`+anonymousOr("p", "donor_name")+`, `+anonymousOr("mp", "donor_name")+`, '') AS donor_name,
			coalesce(p.anonymous, mp.anonymous, false) AS donor_anonymous,
			`+staffName("ab", "g.allocated_by", "allocated_by")+`, g.allocated_at, g.attempts,
			g.last_failure, g.last_failure_note, `+staffName("vo", "g.volunteer", "volunteer")+`,
			g.recipient_name, g.photo_id <> '' AS has_photo, g.delivered_at, g.confirmed_at,
			g.auto_confirmed
		FROM deliveries g
		JOIN registrations r ON r.id = g.registration_id
		JOIN students s ON s.id = r.student_id
		LEFT JOIN devices d ON d.id = g.device_id
		LEFT JOIN pledges p ON p.id = d.pledge_id
		LEFT JOIN money m ON m.id = d.money_id
		LEFT JOIN pledges mp ON mp.id = m.pledge_id`+staffJoin("ab", "g.allocated_by")+staffJoin("vo", "g.volunteer"), "g.id")
}

func (s *ExportSource) deliveryFields() map[string]func(*exportDelivery) any {
	return map[string]func(*exportDelivery) any{
		"code":              func(d *exportDelivery) any { return d.Code },
		"status":            func(d *exportDelivery) any { return d.Status },
		"registration_code": func(d *exportDelivery) any { return d.RegistrationCode },
		"student_name":      func(d *exportDelivery) any { return d.StudentName },
		"level":             func(d *exportDelivery) any { return d.Level },
		"grade":             func(d *exportDelivery) any { return d.Grade },
		"ward_code":         func(d *exportDelivery) any { return d.WardCode },
		"ward_name":         func(d *exportDelivery) any { return s.wardName(d.WardCode) },
		"handover":          func(d *exportDelivery) any { return d.Handover },
		"device_label":      func(d *exportDelivery) any { return d.DeviceLabel },
		"device_type":       func(d *exportDelivery) any { return d.DeviceType },
		"stock":             func(d *exportDelivery) any { return []string(d.Stock) },
		"pledge_code":       func(d *exportDelivery) any { return d.PledgeCode },
		"origin":            func(d *exportDelivery) any { return d.Origin },
		"donor_name":        func(d *exportDelivery) any { return d.DonorName },
		"donor_anonymous":   func(d *exportDelivery) any { return d.DonorAnonymous },
		"allocated_by":      func(d *exportDelivery) any { return d.AllocatedBy },
		"allocated_by_role": func(d *exportDelivery) any { return d.AllocatedByRole },
		"allocated_at":      func(d *exportDelivery) any { return d.AllocatedAt },
		"attempts":          func(d *exportDelivery) any { return d.Attempts },
		"last_failure":      func(d *exportDelivery) any { return d.LastFailure },
		"last_failure_note": func(d *exportDelivery) any { return d.LastFailureNote },
		"volunteer":         func(d *exportDelivery) any { return d.Volunteer },
		"volunteer_role":    func(d *exportDelivery) any { return d.VolunteerRole },
		"recipient_name":    func(d *exportDelivery) any { return d.RecipientName },
		"has_photo":         func(d *exportDelivery) any { return d.HasPhoto },
		"delivered_at":      func(d *exportDelivery) any { return nullTime(d.DeliveredAt) },
		"confirmed_at":      func(d *exportDelivery) any { return nullTime(d.ConfirmedAt) },
		"auto_confirmed":    func(d *exportDelivery) any { return d.AutoConfirmed },
	}
}
