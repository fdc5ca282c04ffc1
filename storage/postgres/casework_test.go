package postgres_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	"github.com/thuduc/maytinhchoem/storage/postgres/postgrestest"
)

// Officials of two wards who verify, and the parent chats of validRegistration and of a second
// family.
var (
	wardOfficial  = campaign.Staff{Channel: "telegram", ExternalID: "8101", Name: "Đỗ Thị Mai", Role: campaign.RoleWardOfficial, WardCode: "26800"}
	otherOfficial = campaign.Staff{Channel: "telegram", ExternalID: "8102", Name: "Hồ Văn Nam", Role: campaign.RoleWomensUnion, WardCode: "26800"}
	parentChat    = campaign.Session{Channel: "telegram", ChatID: "1001"}
	otherChat     = campaign.Session{Channel: "telegram", ChatID: "1002"}
)

// Wards of the default campaign the tests place children in.
const (
	wardLinhTrung = "26800"
	wardLinhXuan  = "26794"
)

// caseWork is a fresh database with the stores case work touches, on the default campaign, and
// the clock the database reads.
type caseWork struct {
	db      *postgres.DB
	clock   *testClock
	c       *campaign.Campaign
	regs    *postgres.RegistrationStore
	cases   *postgres.CaseStore
	pledges *postgres.PledgeStore
	devices *postgres.DeviceStore
}

func newCaseWork(t testing.TB) *caseWork {
	t.Helper()
	db := postgrestest.NewDB(t)
	clock := &testClock{t: campaignDay()}
	db.Now = clock.Now
	c := campaign.Default()
	return &caseWork{
		db: db, clock: clock, c: c,
		regs: postgres.NewRegistrationStore(db, c), cases: postgres.NewCaseStore(db, c),
		pledges: postgres.NewPledgeStore(db), devices: postgres.NewDeviceStore(db),
	}
}

// register submits validRegistration for a child named name (its key is the name), changed by
// edit when not nil.
func (w *caseWork) register(t testing.TB, name string, edit func(*campaign.Registration)) campaign.Registration {
	t.Helper()
	r := validRegistration("key " + name)
	r.StudentName = name
	if edit != nil {
		edit(&r)
	}
	return submit(t, w.regs, r)
}

// decide applies a decision by the ward official and fails the test on an error.
func (w *caseWork) decide(t testing.TB, d campaign.Decision) campaign.Registration {
	t.Helper()
	reg, err := w.cases.Decide(t.Context(), d, wardOfficial, nil)
	if err != nil {
		t.Fatalf("Decide(%+v): %v", d, err)
	}
	return reg
}

// verified registers a child and approves the registration.
func (w *caseWork) verified(t testing.TB, name string, edit func(*campaign.Registration)) campaign.Registration {
	t.Helper()
	r := w.register(t, name, edit)
	return w.decide(t, campaign.Decision{Code: r.Code, Verdict: campaign.VerdictApprove})
}

// readyDevice takes in a checked, ready device of type dt from the pledge (walk-in when "").
func (w *caseWork) readyDevice(t testing.TB, dt campaign.DeviceType, pledgeCode string) campaign.Device {
	t.Helper()
	return intake(t, w.devices, campaign.Device{Type: dt, State: campaign.DeviceReady, PledgeCode: pledgeCode, Checks: allChecksPassed(dt)})
}

// receive takes in walk-in stock.
func (w *caseWork) receive(t testing.TB, kind campaign.ItemKind, quantity, months int) {
	t.Helper()
	if err := w.devices.ReceiveStock(t.Context(), "", kind, quantity, months, "", volunteer, nil); err != nil {
		t.Fatalf("ReceiveStock(%s, %d): %v", kind, quantity, err)
	}
}

// allocate confirms one allocation by the official and fails the test unless it was made.
func (w *caseWork) allocate(t testing.TB, a campaign.Allocation, key string) campaign.Delivery {
	t.Helper()
	made, stale, err := w.cases.ConfirmAllocations(t.Context(), []campaign.Allocation{a}, key, official, nil)
	if err != nil || len(made) != 1 || len(stale) != 0 {
		t.Fatalf("ConfirmAllocations(%+v) = %d made, stale %v, %v; want it made", a, len(made), stale, err)
	}
	return made[0]
}

// deliver marks a delivery handed over by the volunteer and fails the test on an error.
func (w *caseWork) deliver(t testing.TB, code, key string) campaign.Delivery {
	t.Helper()
	d, err := w.cases.MarkDelivered(t.Context(), code, "Trần Thị Bình", "photo-"+code, key, volunteer, nil)
	if err != nil {
		t.Fatalf("MarkDelivered(%s): %v", code, err)
	}
	return d
}

// codesOf returns the codes of cases, in their order.
func codesOf(cases []campaign.Case) []string {
	codes := []string{}
	for _, k := range cases {
		codes = append(codes, k.Code)
	}
	return codes
}

// deliveryCodes returns the codes of deliveries, in their order.
func deliveryCodes(ds []campaign.Delivery) []string {
	codes := []string{}
	for _, d := range ds {
		codes = append(codes, d.Code)
	}
	return codes
}

// insertHelpedChild stores a child with a delivered registration in another campaign, as an
// earlier programme left it, and returns the registration's code.
func insertHelpedChild(t testing.TB, db *postgres.DB, campaignID, name string, birth time.Time) string {
	t.Helper()
	var studentID int64
	err := db.SQLX().Get(&studentID, `
		INSERT INTO students (campaign_id, full_name, name_key, birth_date, ward_code, created_at)
		VALUES ($1, $2, $3, $4, '26800', '2020-10-01') RETURNING id`,
		campaignID, name, campaign.Fold(name), birth.Format(campaign.DateLayout))
	if err != nil {
		t.Fatalf("insert earlier student: %v", err)
	}
	code := fmt.Sprintf("HCM-%06d", studentID)
	_, err = db.SQLX().Exec(`
		INSERT INTO registrations (campaign_id, code, status, channel, chat_id, parent_name, parent_phone,
			student_id, level, grade, school, ward_code, address, device_situation, needs, idempotency_key,
			consent_at, created_at, updated_at)
		VALUES ($1, $2, 'delivered', 'telegram', '9999', 'Phụ huynh cũ', '+84900000001', $3, 'primary', 3,
			'Trường cũ', '26800', 'địa chỉ cũ', 'none', '{tablet}', $2, '2020-10-01', '2020-10-01', '2020-10-01')`,
		campaignID, code, studentID)
	if err != nil {
		t.Fatalf("insert earlier registration: %v", err)
	}
	return code
}

// caseSnapshot sums up every table case work writes, to show that a call wrote nothing.
func caseSnapshot(t testing.TB, db *postgres.DB) string {
	t.Helper()
	var s string
	err := db.SQLX().Get(&s, `SELECT concat_ws('|',
		(SELECT count(*) FROM deliveries), (SELECT count(*) FROM device_events), (SELECT count(*) FROM audit_log),
		(SELECT count(*) FROM case_keys), (SELECT count(*) FROM registration_notes),
		(SELECT string_agg(code || '=' || status, ',' ORDER BY id) FROM registrations),
		(SELECT string_agg(label || '=' || state || ':' || coalesce(allocated_registration_id::text, '-'), ',' ORDER BY id) FROM devices),
		(SELECT string_agg(code || '=' || status || ':' || attempts, ',' ORDER BY id) FROM deliveries))`)
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	return s
}

// auditRow is a row of audit_log as the tests read it.
type auditRow struct {
	Actor  string `db:"actor"`
	Action string `db:"action"`
	Before string `db:"before"`
	After  string `db:"after"`
}

// auditRows returns the audit rows about subject, oldest first, with before and after as JSON
// text ("" when none).
func auditRows(t testing.TB, db *postgres.DB, subject string) []auditRow {
	t.Helper()
	var rows []auditRow
	err := db.SQLX().Select(&rows, `
		SELECT actor, action, coalesce(before::text, '') AS before, coalesce(after::text, '') AS after
		FROM audit_log WHERE subject = $1 ORDER BY id`, subject)
	if err != nil {
		t.Fatalf("audit rows of %s: %v", subject, err)
	}
	return rows
}

// jsonEqual reports whether two JSON texts hold the same value.
func jsonEqual(t testing.TB, got, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("JSON %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("JSON %q: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

func TestCaseStore_PendingCases(t *testing.T) {
	t.Parallel()

	t.Run("priority order, ward scope, skip and limit", func(t *testing.T) {
		t.Parallel()
		w := newCaseWork(t)
		ctx := t.Context()
		// Default rules: orphan of both 60, of one 50, poor 30, near-poor 20; no device 4,
		// sharing a phone 2, broken 1.
		poorSharing := w.register(t, "Poor Sharing", nil) // 32
		orphan := w.register(t, "Orphan Both", func(r *campaign.Registration) {
			r.Circumstances, r.DeviceSituation = []campaign.Circumstance{campaign.CircumstanceOrphanBothCovid}, campaign.SituationNone
		}) // 64
		nearPoor := w.register(t, "Near Poor", func(r *campaign.Registration) {
			r.Circumstances, r.DeviceSituation = []campaign.Circumstance{campaign.CircumstanceNearPoor}, campaign.SituationBroken
		}) // 21
		poorNone := w.register(t, "Poor None", func(r *campaign.Registration) { r.DeviceSituation = campaign.SituationNone }) // 34
		otherWard := w.register(t, "Other Ward", func(r *campaign.Registration) {
			r.WardCode, r.Circumstances = wardLinhXuan, []campaign.Circumstance{campaign.CircumstanceOrphanOneCovid}
		}) // 52
		poorSharingLater := w.register(t, "Poor Sharing Later", nil) // 32, registered after poorSharing
		// Decided registrations are not pending, however high their priority.
		w.verified(t, "Verified Orphan", func(r *campaign.Registration) {
			r.Circumstances = []campaign.Circumstance{campaign.CircumstanceOrphanBothCovid}
		})
		asked := w.register(t, "Asked Orphan", func(r *campaign.Registration) {
			r.Circumstances = []campaign.Circumstance{campaign.CircumstanceOrphanBothCovid}
		})
		w.decide(t, campaign.Decision{Code: asked.Code, Verdict: campaign.VerdictAskInfo, Text: "Cháu học lớp mấy?"})

		for _, tc := range []struct {
			name  string
			ward  string
			skip  []string
			limit int
			want  []campaign.Registration
		}{
			{"every ward", "", nil, 10, []campaign.Registration{orphan, otherWard, poorNone, poorSharing, poorSharingLater, nearPoor}},
			{"one ward", wardLinhTrung, nil, 10, []campaign.Registration{orphan, poorNone, poorSharing, poorSharingLater, nearPoor}},
			{"limit keeps the highest", "", nil, 3, []campaign.Registration{orphan, otherWard, poorNone}},
			{"skip, typed in any case", "", []string{strings.ToLower(orphan.Code), otherWard.Code}, 10,
				[]campaign.Registration{poorNone, poorSharing, poorSharingLater, nearPoor}},
			{"another ward", wardLinhXuan, nil, 0, []campaign.Registration{otherWard}},
			{"a ward with none", "26797", nil, 10, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := w.cases.PendingCases(ctx, tc.ward, tc.skip, tc.limit)
				if err != nil {
					t.Fatalf("PendingCases: %v", err)
				}
				want := []string{}
				for _, r := range tc.want {
					want = append(want, r.Code)
				}
				if !slices.Equal(codesOf(got), want) {
					t.Errorf("PendingCases(%q, %v, %d) = %v, want %v", tc.ward, tc.skip, tc.limit, codesOf(got), want)
				}
			})
		}

		got, err := w.cases.PendingCases(ctx, wardLinhXuan, nil, 1)
		if err != nil || len(got) != 1 {
			t.Fatalf("PendingCases = %v, %v", got, err)
		}
		if !reflect.DeepEqual(got[0].Registration, otherWard) || got[0].Notes != nil || got[0].Duplicates != nil || got[0].AlreadyHelped {
			t.Errorf("case =\n%+v\nwant the registration as submitted, no notes, duplicates or help\n%+v", got[0], otherWard)
		}
	})

	t.Run("duplicates, notes and children already helped", func(t *testing.T) {
		t.Parallel()
		w := newCaseWork(t)
		ctx := t.Context()
		first := w.register(t, "Nguyễn Văn An", nil)
		second := w.register(t, "nguyễn  văn AN", func(r *campaign.Registration) {
			r.IdempotencyKey, r.ChatID, r.UserID, r.ParentName = "second parent", "1002", "1002", "Nguyễn Văn Ba"
		})
		if !slices.Equal(second.PossibleDuplicateOf, []string{first.Code}) {
			t.Fatalf("second registration PossibleDuplicateOf = %v, want [%s]", second.PossibleDuplicateOf, first.Code)
		}
		other := w.register(t, "Lê Thị Hoa", nil)
		// An earlier programme delivered to An (same folded name and birth date), and to a Hoa
		// born on another day.
		insertHelpedChild(t, w.db, "hcm-2020", "NGUYỄN VĂN AN", validRegistration("").BirthDate)
		insertHelpedChild(t, w.db, "hcm-2020", "Lê Thị Hoa", time.Date(2011, 1, 1, 0, 0, 0, 0, time.UTC))

		w.decide(t, campaign.Decision{Code: first.Code, Verdict: campaign.VerdictAskInfo, Text: "Gia đình có giấy xác nhận hộ nghèo không?"})
		if _, _, err := w.cases.AnswerInfo(ctx, first.Code, parentChat, campaign.Answer{Text: "Có, số 123/2021"}, "answer 1", nil); err != nil {
			t.Fatalf("AnswerInfo: %v", err)
		}

		k, err := w.cases.CaseByCode(ctx, strings.ToLower(first.Code))
		if err != nil {
			t.Fatalf("CaseByCode: %v", err)
		}
		if k.Code != first.Code || k.Status != campaign.StatusSubmitted {
			t.Errorf("case %s status %s, want %s submitted again", k.Code, k.Status, first.Code)
		}
		if len(k.Duplicates) != 1 || !reflect.DeepEqual(k.Duplicates[0], second) {
			t.Errorf("Duplicates of the first =\n%+v\nwant the second registration\n%+v", k.Duplicates, second)
		}
		if !k.AlreadyHelped {
			t.Error("AlreadyHelped = false for a child delivered to in an earlier campaign")
		}
		wantNotes := []campaign.Note{
			{Actor: "telegram:8101", Answer: false, Text: "Gia đình có giấy xác nhận hộ nghèo không?"},
			{Actor: "telegram:1001", Answer: true, Text: "Có, số 123/2021"},
		}
		if len(k.Notes) != len(wantNotes) {
			t.Fatalf("Notes = %+v, want %d", k.Notes, len(wantNotes))
		}
		for i, n := range k.Notes {
			if n.At.IsZero() || n.Actor != wantNotes[i].Actor || n.Answer != wantNotes[i].Answer || n.Text != wantNotes[i].Text {
				t.Errorf("note %d = %+v, want %+v", i, n, wantNotes[i])
			}
		}
		if !k.Notes[0].At.Before(k.Notes[1].At) {
			t.Errorf("notes out of order: %v then %v", k.Notes[0].At, k.Notes[1].At)
		}

		cases, err := w.cases.PendingCases(ctx, "", nil, 10)
		if err != nil {
			t.Fatalf("PendingCases: %v", err)
		}
		byCode := map[string]campaign.Case{}
		for _, k := range cases {
			byCode[k.Code] = k
		}
		if len(byCode) != 3 {
			t.Fatalf("PendingCases = %v, want the three registrations", codesOf(cases))
		}
		if d := byCode[second.Code].Duplicates; len(d) != 1 || d[0].Code != first.Code {
			t.Errorf("Duplicates of the second = %v, want [%s]", d, first.Code)
		}
		if !byCode[second.Code].AlreadyHelped || byCode[other.Code].AlreadyHelped {
			t.Errorf("AlreadyHelped: second %v (want true), other %v (want false: another birth date)",
				byCode[second.Code].AlreadyHelped, byCode[other.Code].AlreadyHelped)
		}
		if byCode[other.Code].Duplicates != nil || byCode[second.Code].Notes != nil {
			t.Errorf("other's duplicates %v, second's notes %v; want none", byCode[other.Code].Duplicates, byCode[second.Code].Notes)
		}

		if _, err := w.cases.CaseByCode(ctx, "TD-999999"); campaign.ErrorCode(err) != campaign.ENOTFOUND {
			t.Errorf("CaseByCode(unknown) = %v, want ENOTFOUND", err)
		}
	})

	t.Run("a child delivered to in this campaign is already helped for the other registrations only", func(t *testing.T) {
		t.Parallel()
		w := newCaseWork(t)
		ctx := t.Context()
		first := w.register(t, "Phạm Minh Khôi", nil)
		second := w.register(t, "Phạm Minh Khôi", func(r *campaign.Registration) {
			r.IdempotencyKey, r.ChatID, r.UserID = "second parent", "1002", "1002"
		})
		if _, err := w.db.SQLX().Exec(`UPDATE registrations SET status = 'delivered' WHERE code = $1`, first.Code); err != nil {
			t.Fatal(err)
		}
		helped, err := w.cases.CaseByCode(ctx, first.Code)
		if err != nil {
			t.Fatal(err)
		}
		again, err := w.cases.CaseByCode(ctx, second.Code)
		if err != nil {
			t.Fatal(err)
		}
		if helped.AlreadyHelped || !again.AlreadyHelped {
			t.Errorf("AlreadyHelped: the delivered registration %v (want false), the second %v (want true)",
				helped.AlreadyHelped, again.AlreadyHelped)
		}
	})
}

func TestCaseStore_Decide(t *testing.T) {
	t.Parallel()

	t.Run("each verdict", func(t *testing.T) {
		t.Parallel()
		w := newCaseWork(t)
		ctx := t.Context()
		for _, tc := range []struct {
			name       string
			d          campaign.Decision
			status     campaign.RegistrationStatus
			rejectCode campaign.RejectReason
			reason     string
			action     string
			after      string
		}{
			{"approve", campaign.Decision{Verdict: campaign.VerdictApprove, Text: "ignored"},
				campaign.StatusVerified, "", "", "registration.verify", `{"status": "verified"}`},
			{"reject for a listed reason", campaign.Decision{Verdict: campaign.VerdictReject, Reason: campaign.RejectNotInArea, Text: "ignored"},
				campaign.StatusRejected, campaign.RejectNotInArea, "", "registration.reject", `{"status": "rejected", "reason": "not_in_area"}`},
			{"reject for another reason", campaign.Decision{Verdict: campaign.VerdictReject, Reason: campaign.RejectOther, Text: "  Đã nhận máy   của trường "},
				campaign.StatusRejected, campaign.RejectOther, "Đã nhận máy của trường", "registration.reject",
				`{"status": "rejected", "reason": "other"}`}, // the words on the registration, never in the audit
			{"ask for information", campaign.Decision{Verdict: campaign.VerdictAskInfo, Text: "Cháu học trường nào?"},
				campaign.StatusNeedsInfo, "", "", "registration.ask_info", `{"status": "needs_info"}`}, // the question in the notes
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := w.register(t, tc.name, nil)
				tc.d.Code = strings.ToLower(r.Code)
				got, err := w.cases.Decide(ctx, tc.d, wardOfficial, nil)
				if err != nil {
					t.Fatalf("Decide: %v", err)
				}
				if got.Code != r.Code || got.Status != tc.status || got.RejectCode != tc.rejectCode || got.RejectReason != tc.reason {
					t.Errorf("Decide = %s %s %q %q, want %s %s %q %q", got.Code, got.Status, got.RejectCode, got.RejectReason,
						r.Code, tc.status, tc.rejectCode, tc.reason)
				}
				if !got.UpdatedAt.After(r.UpdatedAt) {
					t.Errorf("UpdatedAt %v not after %v", got.UpdatedAt, r.UpdatedAt)
				}
				var decidedBy string
				var decidedAt time.Time
				if err := w.db.SQLX().QueryRow(`SELECT decided_by, decided_at FROM registrations WHERE code = $1`, r.Code).
					Scan(&decidedBy, &decidedAt); err != nil {
					t.Fatal(err)
				}
				if decidedBy != "telegram:8101" || !decidedAt.Equal(got.UpdatedAt) {
					t.Errorf("decided by %q at %v, want telegram:8101 at %v", decidedBy, decidedAt, got.UpdatedAt)
				}
				rows := auditRows(t, w.db, r.Code)
				if len(rows) != 2 || rows[1].Action != tc.action || rows[1].Actor != "telegram:8101" ||
					!jsonEqual(t, rows[1].Before, `{"status": "submitted"}`) || !jsonEqual(t, rows[1].After, tc.after) {
					t.Errorf("audit rows = %+v, want registration.create then %s with after %s", rows, tc.action, tc.after)
				}
				k, err := w.cases.CaseByCode(ctx, r.Code)
				if err != nil {
					t.Fatal(err)
				}
				if tc.d.Verdict == campaign.VerdictAskInfo {
					if len(k.Notes) != 1 || k.Notes[0].Text != tc.d.Text || k.Notes[0].Answer || k.Notes[0].Actor != "telegram:8101" {
						t.Errorf("notes = %+v, want the question by the official", k.Notes)
					}
					waiting, err := w.cases.WaitingForInfo(ctx, parentChat)
					if err != nil || !slices.Equal(waiting, []string{r.Code}) {
						t.Errorf("WaitingForInfo = %v, %v; want [%s]", waiting, err, r.Code)
					}
				} else if k.Notes != nil {
					t.Errorf("notes = %+v, want none", k.Notes)
				}
			})
		}
	})

	t.Run("someone else decided first", func(t *testing.T) {
		t.Parallel()
		w := newCaseWork(t)
		ctx := t.Context()
		r := w.register(t, "Lê Văn Tèo", nil)
		approve := campaign.Decision{Code: r.Code, Verdict: campaign.VerdictApprove, Key: "update 1"}
		first, err := w.cases.Decide(ctx, approve, wardOfficial, nil)
		if err != nil {
			t.Fatal(err)
		}
		before := caseSnapshot(t, w.db)
		_, err = w.cases.Decide(ctx, campaign.Decision{Code: r.Code, Verdict: campaign.VerdictReject, Reason: campaign.RejectDuplicate, Key: "update 2"}, otherOfficial, nil)
		wantCode(t, "second decision by another official", err, campaign.ECONFLICT)
		_, err = w.cases.Decide(ctx, campaign.Decision{Code: r.Code, Verdict: campaign.VerdictApprove}, wardOfficial, nil)
		wantCode(t, "the same decision again without a key", err, campaign.ECONFLICT)

		// The button pressed twice: the same key returns the registration as it is.
		again, err := w.cases.Decide(ctx, approve, wardOfficial, nil)
		if err != nil {
			t.Fatalf("Decide with the same key: %v", err)
		}
		if !reflect.DeepEqual(again, first) {
			t.Errorf("repeated Decide =\n%+v\nwant\n%+v", again, first)
		}
		if after := caseSnapshot(t, w.db); after != before {
			t.Errorf("refused and repeated decisions wrote:\nbefore %s\nafter  %s", before, after)
		}
		// The key names one registration: it does not apply the decision to another.
		other := w.register(t, "Lê Văn Tí", nil)
		before = caseSnapshot(t, w.db)
		if got, err := w.cases.Decide(ctx, campaign.Decision{Code: other.Code, Verdict: campaign.VerdictApprove, Key: "update 1"}, wardOfficial, nil); err != nil || got.Status != campaign.StatusVerified {
			t.Errorf("the key on another registration: %s, %v; want verified", got.Status, err)
		}
		if after := caseSnapshot(t, w.db); after == before {
			t.Error("deciding another registration with a used key wrote nothing")
		}
		if got := auditActions(t, w.db, r.Code); !slices.Equal(got, []string{"registration.create", "registration.verify"}) {
			t.Errorf("audit of %s = %v, want one decision", r.Code, got)
		}
	})

	t.Run("a repeated decision writes nothing", func(t *testing.T) {
		t.Parallel()
		w := newCaseWork(t)
		r := w.register(t, "Lê Văn Tèo", nil)
		ask := campaign.Decision{Code: r.Code, Verdict: campaign.VerdictAskInfo, Text: "Cháu học lớp mấy?", Key: "k"}
		w.decide(t, ask)
		before := caseSnapshot(t, w.db)
		again := w.decide(t, ask)
		if again.Status != campaign.StatusNeedsInfo {
			t.Errorf("status %s, want needs_info", again.Status)
		}
		if after := caseSnapshot(t, w.db); after != before {
			t.Errorf("repeated decision wrote:\nbefore %s\nafter  %s", before, after)
		}
	})

	t.Run("invalid decisions change nothing", func(t *testing.T) {
		t.Parallel()
		w := newCaseWork(t)
		ctx := t.Context()
		r := w.register(t, "Lê Văn Tèo", nil)
		before := caseSnapshot(t, w.db)
		for _, tc := range []struct {
			name string
			d    campaign.Decision
			by   campaign.Staff
			want string
		}{
			{"unknown verdict", campaign.Decision{Code: r.Code, Verdict: "maybe"}, wardOfficial, campaign.EINVALID},
			{"no verdict", campaign.Decision{Code: r.Code}, wardOfficial, campaign.EINVALID},
			{"unknown reason", campaign.Decision{Code: r.Code, Verdict: campaign.VerdictReject, Reason: "ugly"}, wardOfficial, campaign.EINVALID},
			{"reject without a reason", campaign.Decision{Code: r.Code, Verdict: campaign.VerdictReject}, wardOfficial, campaign.EINVALID},
			{"other reason without a text", campaign.Decision{Code: r.Code, Verdict: campaign.VerdictReject, Reason: campaign.RejectOther, Text: "   "}, wardOfficial, campaign.EINVALID},
			{"question without a text", campaign.Decision{Code: r.Code, Verdict: campaign.VerdictAskInfo}, wardOfficial, campaign.EINVALID},
			{"question too long", campaign.Decision{Code: r.Code, Verdict: campaign.VerdictAskInfo, Text: strings.Repeat("a", 1001)}, wardOfficial, campaign.EINVALID},
			{"no one deciding", campaign.Decision{Code: r.Code, Verdict: campaign.VerdictApprove}, campaign.Staff{}, campaign.EINVALID},
			{"no code", campaign.Decision{Verdict: campaign.VerdictApprove}, wardOfficial, campaign.EINVALID},
			{"unknown code", campaign.Decision{Code: "TD-999999", Verdict: campaign.VerdictApprove}, wardOfficial, campaign.ENOTFOUND},
		} {
			_, err := w.cases.Decide(ctx, tc.d, tc.by, nil)
			wantCode(t, tc.name, err, tc.want)
		}
		if after := caseSnapshot(t, w.db); after != before {
			t.Errorf("invalid decisions wrote:\nbefore %s\nafter  %s", before, after)
		}
	})
}

func TestCaseStore_AnswerInfo(t *testing.T) {
	t.Parallel()
	w := newCaseWork(t)
	ctx := t.Context()
	r := w.register(t, "Võ Thị Sáu", nil)
	other := w.register(t, "Võ Văn Kiệt", nil)
	w.decide(t, campaign.Decision{Code: r.Code, Verdict: campaign.VerdictAskInfo, Text: "Cháu học trường nào?"})
	if _, err := w.cases.Decide(ctx, campaign.Decision{Code: r.Code, Verdict: campaign.VerdictAskInfo, Text: "Lần hai?"}, otherOfficial, nil); campaign.ErrorCode(err) != campaign.ECONFLICT {
		t.Fatalf("a second question while waiting: %v, want ECONFLICT", err)
	}

	before := caseSnapshot(t, w.db)
	for _, tc := range []struct {
		name   string
		code   string
		parent campaign.Session
		text   string
		want   string
	}{
		{"another chat", r.Code, otherChat, "Trường Linh Trung", campaign.ENOTFOUND},
		{"another channel", r.Code, campaign.Session{Channel: "zalo", ChatID: "1001"}, "Trường Linh Trung", campaign.ENOTFOUND},
		{"not waiting", other.Code, parentChat, "Trường Linh Trung", campaign.ENOTFOUND},
		{"unknown code", "TD-999999", parentChat, "Trường Linh Trung", campaign.ENOTFOUND},
		{"empty answer", r.Code, parentChat, "  ", campaign.EINVALID},
		{"no chat", r.Code, campaign.Session{}, "Trường Linh Trung", campaign.EINVALID},
	} {
		_, _, err := w.cases.AnswerInfo(ctx, tc.code, tc.parent, campaign.Answer{Text: tc.text}, "", nil)
		wantCode(t, tc.name, err, tc.want)
	}
	if after := caseSnapshot(t, w.db); after != before {
		t.Errorf("refused answers wrote:\nbefore %s\nafter  %s", before, after)
	}

	got, askedBy, err := w.cases.AnswerInfo(ctx, strings.ToLower(r.Code), parentChat, campaign.Answer{Text: "Trường Tiểu học Linh Trung"}, "answer key", nil)
	if err != nil {
		t.Fatalf("AnswerInfo: %v", err)
	}
	if got.Code != r.Code || got.Status != campaign.StatusSubmitted || askedBy != "telegram:8101" {
		t.Errorf("AnswerInfo = %s %s asked by %q, want %s submitted asked by telegram:8101", got.Code, got.Status, askedBy, r.Code)
	}
	waiting, err := w.cases.WaitingForInfo(ctx, parentChat)
	if err != nil || len(waiting) != 0 {
		t.Errorf("WaitingForInfo after the answer = %v, %v; want none", waiting, err)
	}
	rows := auditRows(t, w.db, r.Code)
	if last := rows[len(rows)-1]; last.Action != "registration.answer" || last.Actor != campaign.FamilyActor ||
		!jsonEqual(t, last.Before, `{"status": "needs_info"}`) || !jsonEqual(t, last.After, `{"status": "submitted"}`) {
		t.Errorf("last audit row = %+v, want registration.answer by the parent, without the answer", last)
	}

	// The same answer sent again (a retried update) writes nothing and says the same.
	before = caseSnapshot(t, w.db)
	again, askedAgain, err := w.cases.AnswerInfo(ctx, r.Code, parentChat, campaign.Answer{Text: "Trường Tiểu học Linh Trung"}, "answer key", nil)
	if err != nil || !reflect.DeepEqual(again, got) || askedAgain != askedBy {
		t.Errorf("repeated AnswerInfo = %+v, %q, %v; want the first result", again, askedAgain, err)
	}
	if after := caseSnapshot(t, w.db); after != before {
		t.Errorf("repeated answer wrote:\nbefore %s\nafter  %s", before, after)
	}
	// More of the answer (the photo asked for) is added while it is the latest note: the
	// registration stays submitted, with no audit row of its own; another chat cannot add.
	auditsBefore := len(auditRows(t, w.db, r.Code))
	more, _, err := w.cases.AnswerInfo(ctx, r.Code, parentChat, campaign.Answer{PhotoID: "AgACAgUAAxkBAAIBQ2photo"}, "another key", nil)
	if err != nil || more.Status != campaign.StatusSubmitted || len(auditRows(t, w.db, r.Code)) != auditsBefore {
		t.Errorf("more of the answer = %s, %v; audit rows %d, want %d", more.Status, err, len(auditRows(t, w.db, r.Code)), auditsBefore)
	}
	_, _, err = w.cases.AnswerInfo(ctx, r.Code, otherChat, campaign.Answer{Text: "Tôi cũng trả lời"}, "third key", nil)
	wantCode(t, "more from another chat", err, campaign.ENOTFOUND)

	// The registration can be decided again: asked a second time by another official, whom the
	// next answer names.
	if _, err := w.cases.Decide(ctx, campaign.Decision{Code: r.Code, Verdict: campaign.VerdictAskInfo, Text: "Lớp mấy?"}, otherOfficial, nil); err != nil {
		t.Fatal(err)
	}
	if _, askedBy, err := w.cases.AnswerInfo(ctx, r.Code, parentChat, campaign.Answer{Text: "Lớp 4"}, "", nil); err != nil || askedBy != "telegram:8102" {
		t.Errorf("second answer asked by %q, %v; want telegram:8102", askedBy, err)
	}
	k, err := w.cases.CaseByCode(ctx, r.Code)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, n := range k.Notes {
		texts = append(texts, fmt.Sprintf("%v:%s%s", n.Answer, n.Text, n.PhotoID))
	}
	if want := []string{"false:Cháu học trường nào?", "true:Trường Tiểu học Linh Trung", "true:AgACAgUAAxkBAAIBQ2photo",
		"false:Lớp mấy?", "true:Lớp 4"}; !slices.Equal(texts, want) {
		t.Errorf("notes = %v, want %v", texts, want)
	}
	if k.Notes[2].PhotoChannel != "telegram" {
		t.Errorf("the photo's channel = %q, want the parent's", k.Notes[2].PhotoChannel)
	}
	// Once officials decided, nothing more is added to the answer.
	w.decide(t, campaign.Decision{Code: r.Code, Verdict: campaign.VerdictApprove})
	_, _, err = w.cases.AnswerInfo(ctx, r.Code, parentChat, campaign.Answer{Text: "Thêm nữa"}, "late key", nil)
	wantCode(t, "more after the decision", err, campaign.ENOTFOUND)
}

func TestCaseStore_Proposal(t *testing.T) {
	t.Parallel()
	w := newCaseWork(t)
	ctx := t.Context()

	wardPledge := validPledge("ward pledge")
	wardPledge.Delivery, wardPledge.WardCode = campaign.DeliverToWard, wardLinhXuan
	wardPledge = submitPledge(t, w.pledges, wardPledge)
	frontPledge := submitPledge(t, w.pledges, validPledge("front pledge"))

	atWard := w.readyDevice(t, campaign.DeviceLaptop, wardPledge.Code)
	atFront := w.readyDevice(t, campaign.DeviceLaptop, frontPledge.Code)
	walkIn := w.readyDevice(t, campaign.DeviceTablet, "")
	given := w.readyDevice(t, campaign.DeviceTablet, "")
	intake(t, w.devices, campaign.Device{Type: campaign.DeviceSmartphone, State: campaign.DeviceNeedsParts})
	w.receive(t, campaign.ItemSIM4G, 10, 0)
	w.receive(t, campaign.ItemSIM4G, 2, 0)
	w.receive(t, campaign.ItemUSBWiFi, 1, 0)

	poor := w.verified(t, "Poor Sharing", nil)
	orphan := w.verified(t, "Orphan", func(r *campaign.Registration) {
		r.Circumstances, r.DeviceSituation = []campaign.Circumstance{campaign.CircumstanceOrphanOneCovid}, campaign.SituationNone
		r.Needs = []campaign.Need{campaign.NeedLaptop, campaign.NeedUSBWiFi}
	})
	insertHelpedChild(t, w.db, "hcm-2020", "Orphan", validRegistration("").BirthDate)
	allocated := w.verified(t, "Allocated", nil)
	w.register(t, "Pending", nil)
	rejected := w.register(t, "Rejected", nil)
	w.decide(t, campaign.Decision{Code: rejected.Code, Verdict: campaign.VerdictReject, Reason: campaign.RejectHasDevice})
	w.allocate(t, campaign.Allocation{Code: allocated.Code, DeviceLabel: given.Label, Stock: []campaign.StockKind{campaign.StockSIM4G, campaign.StockUSBWiFi}}, "")

	got, err := w.cases.Proposal(ctx)
	if err != nil {
		t.Fatalf("Proposal: %v", err)
	}
	want := campaign.Proposal{
		Candidates: []campaign.Candidate{w.c.Candidate(poor, false), w.c.Candidate(orphan, true)},
		Supply: campaign.Supply{
			Devices: []campaign.ReadyDevice{
				{Label: atWard.Label, Type: campaign.DeviceLaptop, WardCode: wardLinhXuan},
				{Label: atFront.Label, Type: campaign.DeviceLaptop},
				{Label: walkIn.Label, Type: campaign.DeviceTablet},
			},
			Stock: map[campaign.StockKind]int{campaign.StockSIM4G: 11, campaign.StockUSBWiFi: 0, campaign.StockInternetPackage: 0},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Proposal =\n%+v\nwant\n%+v", got, want)
	}
	if got.Candidates[1].Score.Points != 54 {
		t.Errorf("orphan scored %d, want 50 + 4", got.Candidates[1].Score.Points)
	}
}

func TestCaseStore_ConfirmAllocations(t *testing.T) {
	t.Parallel()

	t.Run("makes deliveries with everything the volunteer and the bot need", func(t *testing.T) {
		t.Parallel()
		w := newCaseWork(t)
		ctx := t.Context()
		p := submitPledge(t, w.pledges, validPledge("pledge"))
		laptop := w.readyDevice(t, campaign.DeviceLaptop, p.Code)
		w.receive(t, campaign.ItemSIM4G, 5, 0)
		w.receive(t, campaign.ItemUSBWiFi, 5, 0)
		child := w.verified(t, "Nguyễn Văn An", func(r *campaign.Registration) { r.Language = "en" })
		connected := w.verified(t, "Trần Thị Cúc", func(r *campaign.Registration) {
			r.IdempotencyKey, r.ChatID, r.UserID, r.WardCode = "connectivity", "1002", "1002", wardLinhXuan
			r.Needs = []campaign.Need{campaign.NeedUSBWiFi}
		})

		allocs := []campaign.Allocation{
			{Code: strings.ToLower(child.Code), DeviceLabel: strings.ToLower(laptop.Label), DeviceType: campaign.DeviceLaptop, Stock: []campaign.StockKind{campaign.StockSIM4G}},
			{Code: connected.Code, Stock: []campaign.StockKind{campaign.StockUSBWiFi}},
		}
		made, stale, err := w.cases.ConfirmAllocations(ctx, allocs, "confirm 1", official, nil)
		if err != nil || len(stale) != 0 || len(made) != 2 {
			t.Fatalf("ConfirmAllocations = %d made, stale %v, %v", len(made), stale, err)
		}
		first := made[0]
		if first.AllocatedAt.IsZero() || first.ID == 0 {
			t.Errorf("delivery has no id or allocation time: %+v", first)
		}
		want := campaign.Delivery{
			ID: first.ID, Code: "GH-000001", Status: campaign.DeliveryPending, RegistrationCode: child.Code,
			StudentName: "Nguyễn Văn An", Level: campaign.LevelPrimary, Grade: 4, School: "Trường Tiểu học Linh Trung",
			WardCode: wardLinhTrung, Address: "12 đường số 8, khu phố 3", ParentName: "Trần Thị Bình",
			ParentPhone: "+84903123456", Parent: parentChat, ParentLanguage: "en", Handover: campaign.HandoverHome,
			DeviceLabel: laptop.Label, DeviceType: campaign.DeviceLaptop, Stock: []campaign.StockKind{campaign.StockSIM4G},
			Donor: &campaign.Session{Channel: "telegram", ChatID: "3001"}, DonorLanguage: "vi",
			AllocatedBy: "telegram:8001", AllocatedAt: first.AllocatedAt,
		}
		if !reflect.DeepEqual(first, want) {
			t.Errorf("first delivery =\n%+v\nwant\n%+v", first, want)
		}
		second := made[1]
		if second.Code != "GH-000002" || second.DeviceLabel != "" || second.DeviceType != "" || second.Donor != nil ||
			second.DonorLanguage != "" || !slices.Equal(second.Stock, []campaign.StockKind{campaign.StockUSBWiFi}) ||
			second.Parent != otherChat || second.WardCode != wardLinhXuan {
			t.Errorf("connectivity-only delivery = %+v", second)
		}
		if got, err := w.cases.DeliveryByCode(ctx, "gh-000001"); err != nil || !reflect.DeepEqual(got, first) {
			t.Errorf("DeliveryByCode = %+v, %v; want what ConfirmAllocations returned", got, err)
		}

		// The registration and the device are allocated, and the history says by whom.
		for _, r := range []campaign.Registration{child, connected} {
			k, err := w.cases.CaseByCode(ctx, r.Code)
			if err != nil || k.Status != campaign.StatusAllocated {
				t.Errorf("%s: %s, %v; want allocated", r.Code, k.Status, err)
			}
		}
		d, err := w.devices.DeviceByLabel(ctx, laptop.Label)
		if err != nil || d.State != campaign.DeviceAllocated {
			t.Errorf("device %s: %s, %v; want allocated", laptop.Label, d.State, err)
		}
		var allocatedTo int64
		if err := w.db.SQLX().Get(&allocatedTo, `SELECT allocated_registration_id FROM devices WHERE label = $1`, laptop.Label); err != nil || allocatedTo != child.ID {
			t.Errorf("device allocated to %d, %v; want %d", allocatedTo, err, child.ID)
		}
		events := history(t, w.db, laptop.Label)
		if last := events[len(events)-1]; last != (event{Actor: "telegram:8001", From: "ready", To: "allocated", Note: "GH-000001"}) {
			t.Errorf("last device event = %+v", last)
		}
		rows := auditRows(t, w.db, child.Code)
		if last := rows[len(rows)-1]; last.Action != "allocation.confirm" || last.Actor != "telegram:8001" ||
			!jsonEqual(t, last.Before, `{"status": "verified", "device_state": "ready"}`) ||
			!jsonEqual(t, last.After, fmt.Sprintf(`{"status": "allocated", "delivery": "GH-000001", "device": %q, "device_state": "allocated", "stock": ["sim_4g"]}`, laptop.Label)) {
			t.Errorf("last audit row of %s = %+v", child.Code, last)
		}
		rows = auditRows(t, w.db, connected.Code)
		if last := rows[len(rows)-1]; last.Action != "allocation.confirm" ||
			!jsonEqual(t, last.After, `{"status": "allocated", "delivery": "GH-000002", "stock": ["usb_wifi"]}`) {
			t.Errorf("last audit row of %s = %+v", connected.Code, last)
		}
		if n := countRows(t, w.db, "case_keys"); n != 2 {
			t.Errorf("%d case keys, want 2", n)
		}

		// Confirming again with the key returns the same deliveries and writes nothing.
		before := caseSnapshot(t, w.db)
		again, stale, err := w.cases.ConfirmAllocations(ctx, allocs, "confirm 1", official, nil)
		if err != nil || len(stale) != 0 || !reflect.DeepEqual(again, made) {
			t.Errorf("repeated ConfirmAllocations = %+v, stale %v, %v; want the same deliveries", again, stale, err)
		}
		if after := caseSnapshot(t, w.db); after != before {
			t.Errorf("repeated confirmation wrote:\nbefore %s\nafter  %s", before, after)
		}
		// Another key finds them allocated already.
		made, stale, err = w.cases.ConfirmAllocations(ctx, allocs, "confirm 2", official, nil)
		if err != nil || len(made) != 0 || !slices.Equal(stale, []string{child.Code, connected.Code}) {
			t.Errorf("ConfirmAllocations with another key = %d made, stale %v, %v; want both stale", len(made), stale, err)
		}
		if after := caseSnapshot(t, w.db); after != before {
			t.Errorf("stale confirmation wrote:\nbefore %s\nafter  %s", before, after)
		}
	})

	t.Run("stale allocations write nothing", func(t *testing.T) {
		t.Parallel()
		w := newCaseWork(t)
		ctx := t.Context()
		ready := w.readyDevice(t, campaign.DeviceTablet, "")
		broken := intake(t, w.devices, campaign.Device{Type: campaign.DeviceTablet, State: campaign.DeviceNeedsParts})
		w.receive(t, campaign.ItemUSBWiFi, 1, 0)
		taker := w.verified(t, "Takes the USB", nil)
		w.allocate(t, campaign.Allocation{Code: taker.Code, Stock: []campaign.StockKind{campaign.StockUSBWiFi}}, "")

		pending := w.register(t, "Still Pending", nil)
		rejected := w.register(t, "Rejected", nil)
		w.decide(t, campaign.Decision{Code: rejected.Code, Verdict: campaign.VerdictReject, Reason: campaign.RejectNotEligible})
		brokenDevice := w.verified(t, "Broken Device", nil)
		noStock := w.verified(t, "No USB Left", nil)
		noSIMs := w.verified(t, "No SIMs Ever", nil)
		unknownDevice := w.verified(t, "Unknown Device", nil)

		before := caseSnapshot(t, w.db)
		made, stale, err := w.cases.ConfirmAllocations(ctx, []campaign.Allocation{
			{Code: pending.Code, DeviceLabel: ready.Label},
			{Code: rejected.Code, DeviceLabel: ready.Label},
			{Code: brokenDevice.Code, DeviceLabel: broken.Label},
			{Code: noStock.Code, DeviceLabel: ready.Label, Stock: []campaign.StockKind{campaign.StockUSBWiFi}},
			{Code: noSIMs.Code, Stock: []campaign.StockKind{campaign.StockSIM4G}},
			{Code: unknownDevice.Code, DeviceLabel: "TB-999999"},
			{Code: "TD-999999", DeviceLabel: ready.Label},
		}, "stale", official, nil)
		if err != nil || len(made) != 0 {
			t.Fatalf("ConfirmAllocations = %d made, %v; want none made", len(made), err)
		}
		if want := []string{pending.Code, rejected.Code, brokenDevice.Code, noStock.Code, noSIMs.Code, unknownDevice.Code, "TD-999999"}; !slices.Equal(stale, want) {
			t.Errorf("stale = %v, want %v", stale, want)
		}
		if after := caseSnapshot(t, w.db); after != before {
			t.Errorf("stale allocations wrote:\nbefore %s\nafter  %s", before, after)
		}

		// A stale allocation does not stop the next one.
		made, stale, err = w.cases.ConfirmAllocations(ctx, []campaign.Allocation{
			{Code: noStock.Code, DeviceLabel: ready.Label, Stock: []campaign.StockKind{campaign.StockUSBWiFi}},
			{Code: brokenDevice.Code, DeviceLabel: ready.Label},
		}, "", official, nil)
		if err != nil || !slices.Equal(stale, []string{noStock.Code}) || len(made) != 1 || made[0].RegistrationCode != brokenDevice.Code {
			t.Errorf("ConfirmAllocations = %v made, stale %v, %v; want the second made", deliveryCodes(made), stale, err)
		}
	})

	t.Run("malformed allocations are refused before anything is written", func(t *testing.T) {
		t.Parallel()
		w := newCaseWork(t)
		ctx := t.Context()
		ready := w.readyDevice(t, campaign.DeviceTablet, "")
		r := w.verified(t, "Child", nil)
		before := caseSnapshot(t, w.db)
		for _, tc := range []struct {
			name   string
			allocs []campaign.Allocation
			by     campaign.Staff
		}{
			{"nothing given", []campaign.Allocation{{Code: r.Code, DeviceLabel: ready.Label}, {Code: r.Code}}, official},
			{"no code", []campaign.Allocation{{DeviceLabel: ready.Label}}, official},
			{"unknown stock", []campaign.Allocation{{Code: r.Code, Stock: []campaign.StockKind{"fibre"}}}, official},
			{"stock twice", []campaign.Allocation{{Code: r.Code, Stock: []campaign.StockKind{campaign.StockSIM4G, campaign.StockSIM4G}}}, official},
			{"no one", []campaign.Allocation{{Code: r.Code, DeviceLabel: ready.Label}}, campaign.Staff{}},
		} {
			_, _, err := w.cases.ConfirmAllocations(ctx, tc.allocs, "", tc.by, nil)
			wantCode(t, tc.name, err, campaign.EINVALID)
		}
		if after := caseSnapshot(t, w.db); after != before {
			t.Errorf("refused allocations wrote:\nbefore %s\nafter  %s", before, after)
		}
	})

	t.Run("two officials allocating the same device at once", func(t *testing.T) {
		t.Parallel()
		w := newCaseWork(t)
		ctx := t.Context()
		const rounds = 8
		w.receive(t, campaign.ItemUSBWiFi, rounds, 0)
		for round := range rounds {
			device := w.readyDevice(t, campaign.DeviceLaptop, "")
			a := w.verified(t, fmt.Sprintf("Child A%d", round), nil)
			b := w.verified(t, fmt.Sprintf("Child B%d", round), nil)
			// Both also want the last USB of the round: the stock lock is taken once the device
			// is held, so one of the two gets both.
			var wg sync.WaitGroup
			start := make(chan struct{})
			results := make([][]campaign.Delivery, 2)
			errs := make([]error, 2)
			for i, r := range []campaign.Registration{a, b} {
				wg.Go(func() {
					<-start
					results[i], _, errs[i] = w.cases.ConfirmAllocations(ctx, []campaign.Allocation{
						{Code: r.Code, DeviceLabel: device.Label, Stock: []campaign.StockKind{campaign.StockUSBWiFi}},
					}, fmt.Sprintf("official %d round %d", i, round), official, nil)
				})
			}
			close(start)
			wg.Wait()
			if errs[0] != nil || errs[1] != nil {
				t.Fatalf("round %d: %v, %v", round, errs[0], errs[1])
			}
			if n := len(results[0]) + len(results[1]); n != 1 {
				t.Fatalf("round %d: %d deliveries made, want exactly 1", round, n)
			}
		}
		var devices, deliveries, allocated int
		if err := w.db.SQLX().QueryRow(`SELECT (SELECT count(DISTINCT device_id) FROM deliveries), (SELECT count(*) FROM deliveries),
			(SELECT count(*) FROM registrations WHERE status = 'allocated')`).Scan(&devices, &deliveries, &allocated); err != nil {
			t.Fatal(err)
		}
		if devices != rounds || deliveries != rounds || allocated != rounds {
			t.Errorf("%d devices in %d deliveries, %d registrations allocated; want %d of each", devices, deliveries, allocated, rounds)
		}
		p, err := w.cases.Proposal(ctx)
		if err != nil || p.Supply.Stock[campaign.StockUSBWiFi] != 0 {
			t.Errorf("USB left %d, %v; want 0", p.Supply.Stock[campaign.StockUSBWiFi], err)
		}
	})

	t.Run("the last SIM goes to one of two officials at once", func(t *testing.T) {
		t.Parallel()
		w := newCaseWork(t)
		ctx := t.Context()
		const rounds = 8
		for round := range rounds {
			w.receive(t, campaign.ItemSIM4G, 1, 0)
			a := w.verified(t, fmt.Sprintf("Child A%d", round), nil)
			b := w.verified(t, fmt.Sprintf("Child B%d", round), nil)
			var wg sync.WaitGroup
			start := make(chan struct{})
			made := make([]int, 2)
			errs := make([]error, 2)
			for i, r := range []campaign.Registration{a, b} {
				wg.Go(func() {
					<-start
					var ds []campaign.Delivery
					ds, _, errs[i] = w.cases.ConfirmAllocations(ctx, []campaign.Allocation{
						{Code: r.Code, Stock: []campaign.StockKind{campaign.StockSIM4G}},
					}, "", official, nil)
					made[i] = len(ds)
				})
			}
			close(start)
			wg.Wait()
			if errs[0] != nil || errs[1] != nil || made[0]+made[1] != 1 {
				t.Fatalf("round %d: made %v, errors %v, %v; want exactly one", round, made, errs[0], errs[1])
			}
		}
		p, err := w.cases.Proposal(ctx)
		if err != nil || p.Supply.Stock[campaign.StockSIM4G] != 0 {
			t.Errorf("SIMs left %d, %v; want 0", p.Supply.Stock[campaign.StockSIM4G], err)
		}
	})
}

func TestCaseStore_DeliveryLife(t *testing.T) {
	t.Parallel()
	w := newCaseWork(t)
	ctx := t.Context()
	p := submitPledge(t, w.pledges, validPledge("pledge"))
	laptop := w.readyDevice(t, campaign.DeviceLaptop, p.Code)
	tablet := w.readyDevice(t, campaign.DeviceTablet, "")
	child := w.verified(t, "Nguyễn Văn An", nil)
	otherChild := w.verified(t, "Trần Thị Cúc", func(r *campaign.Registration) {
		r.IdempotencyKey, r.ChatID, r.UserID, r.WardCode = "other family", "1002", "1002", wardLinhXuan
	})
	d := w.allocate(t, campaign.Allocation{Code: child.Code, DeviceLabel: laptop.Label}, "")
	other := w.allocate(t, campaign.Allocation{Code: otherChild.Code, DeviceLabel: tablet.Label}, "")

	open := func(ward string) []string {
		t.Helper()
		ds, err := w.cases.OpenDeliveries(ctx, ward, 0)
		if err != nil {
			t.Fatalf("OpenDeliveries(%q): %v", ward, err)
		}
		return deliveryCodes(ds)
	}
	// By ward: Linh Xuân (26794) before Linh Trung (26800).
	if got := open(""); !slices.Equal(got, []string{other.Code, d.Code}) {
		t.Errorf("open deliveries = %v, want %s then %s", got, other.Code, d.Code)
	}

	// The family chooses the school.
	_, err := w.cases.SetHandover(ctx, d.Code, otherChat, campaign.HandoverSchool)
	wantCode(t, "handover from another chat", err, campaign.ENOTFOUND)
	_, err = w.cases.SetHandover(ctx, d.Code, parentChat, "office")
	wantCode(t, "handover at an unknown place", err, campaign.EINVALID)
	got, err := w.cases.SetHandover(ctx, strings.ToLower(d.Code), parentChat, campaign.HandoverSchool)
	if err != nil || got.Handover != campaign.HandoverSchool {
		t.Fatalf("SetHandover = %s, %v; want school", got.Handover, err)
	}
	before := caseSnapshot(t, w.db)
	if _, err := w.cases.SetHandover(ctx, d.Code, parentChat, campaign.HandoverSchool); err != nil {
		t.Fatal(err)
	}
	if after := caseSnapshot(t, w.db); after != before {
		t.Errorf("choosing the same place again wrote:\nbefore %s\nafter  %s", before, after)
	}

	// Nobody home: the delivery comes back first in the list.
	_, err = w.cases.MarkFailed(ctx, d.Code, "raining", "", "", volunteer, nil)
	wantCode(t, "unknown failure reason", err, campaign.EINVALID)
	failed, err := w.cases.MarkFailed(ctx, d.Code, campaign.FailNotHome, "Gọi không nghe máy", "fail 1", volunteer, nil)
	if err != nil {
		t.Fatalf("MarkFailed: %v", err)
	}
	if failed.Status != campaign.DeliveryPending || failed.Attempts != 1 || failed.LastFailure != campaign.FailNotHome || failed.Volunteer != "" {
		t.Errorf("after a failed attempt: %s, %d attempts, %q, volunteer %q", failed.Status, failed.Attempts, failed.LastFailure, failed.Volunteer)
	}
	var note string
	if err := w.db.SQLX().Get(&note, `SELECT last_failure_note FROM deliveries WHERE code = $1`, d.Code); err != nil || note != "Gọi không nghe máy" {
		t.Errorf("failure note %q, %v", note, err)
	}
	before = caseSnapshot(t, w.db)
	if again, err := w.cases.MarkFailed(ctx, d.Code, campaign.FailNotHome, "Gọi không nghe máy", "fail 1", volunteer, nil); err != nil || again.Attempts != 1 {
		t.Errorf("repeated MarkFailed: %d attempts, %v; want 1", again.Attempts, err)
	}
	if after := caseSnapshot(t, w.db); after != before {
		t.Errorf("repeated failure wrote:\nbefore %s\nafter  %s", before, after)
	}
	if got := open(""); !slices.Equal(got, []string{d.Code, other.Code}) {
		t.Errorf("open deliveries after a failure = %v, want %s first", got, d.Code)
	}
	if got := open(wardLinhXuan); !slices.Equal(got, []string{other.Code}) {
		t.Errorf("open deliveries of ward %s = %v, want [%s]", wardLinhXuan, got, other.Code)
	}
	if ds, err := w.cases.OpenDeliveries(ctx, "", 1); err != nil || len(ds) != 1 || ds[0].Attempts != 1 {
		t.Errorf("OpenDeliveries limit 1 = %v, %v", deliveryCodes(ds), err)
	}

	// The parent cannot confirm what was not handed over.
	_, _, err = w.cases.ConfirmDelivery(ctx, d.Code, parentChat, nil)
	wantCode(t, "confirming a pending delivery", err, campaign.ENOTFOUND)

	// Handed over.
	_, err = w.cases.MarkDelivered(ctx, d.Code, "  ", "", "deliver 1", volunteer, nil)
	wantCode(t, "hand-over without a recipient", err, campaign.EINVALID)
	delivered, err := w.cases.MarkDelivered(ctx, d.Code, "Trần Thị Bình (mẹ)", "AgACAgUAAxkBAAIB", "deliver 1", volunteer, nil)
	if err != nil {
		t.Fatalf("MarkDelivered: %v", err)
	}
	if delivered.Status != campaign.DeliveryDelivered || delivered.RecipientName != "Trần Thị Bình (mẹ)" ||
		delivered.PhotoID != "AgACAgUAAxkBAAIB" || delivered.Volunteer != "telegram:7001" || delivered.DeliveredAt.IsZero() ||
		!delivered.ConfirmedAt.IsZero() || delivered.Attempts != 1 || delivered.Handover != campaign.HandoverSchool {
		t.Errorf("delivered = %+v", delivered)
	}
	if dev, err := w.devices.DeviceByLabel(ctx, laptop.Label); err != nil || dev.State != campaign.DeviceDelivered {
		t.Errorf("device %s: %s, %v; want delivered", laptop.Label, dev.State, err)
	}
	if k, err := w.cases.CaseByCode(ctx, child.Code); err != nil || k.Status != campaign.StatusDelivered {
		t.Errorf("registration %s: %s, %v; want delivered", child.Code, k.Status, err)
	}
	events := history(t, w.db, laptop.Label)
	if last := events[len(events)-1]; last != (event{Actor: "telegram:7001", From: "allocated", To: "delivered", Note: d.Code}) {
		t.Errorf("last device event = %+v", last)
	}
	// The donor's progress counts the device as delivered, by the child's level and ward.
	progress, err := w.pledges.PledgesByChat(ctx, "telegram", "3001")
	if err != nil || len(progress) != 1 || !reflect.DeepEqual(progress[0].Delivered,
		[]campaign.DeliveredCount{{Level: campaign.LevelPrimary, WardCode: wardLinhTrung, Count: 1}}) {
		t.Errorf("donor's progress: %+v, %v", progress, err)
	}

	before = caseSnapshot(t, w.db)
	again, err := w.cases.MarkDelivered(ctx, d.Code, "Someone else", "", "deliver 1", volunteer, nil)
	if err != nil || !reflect.DeepEqual(again, delivered) {
		t.Errorf("repeated MarkDelivered = %+v, %v; want it unchanged", again, err)
	}
	if after := caseSnapshot(t, w.db); after != before {
		t.Errorf("repeated hand-over wrote:\nbefore %s\nafter  %s", before, after)
	}
	_, err = w.cases.MarkDelivered(ctx, d.Code, "Someone else", "", "deliver 2", volunteer, nil)
	wantCode(t, "a second hand-over", err, campaign.ECONFLICT)
	_, err = w.cases.MarkFailed(ctx, d.Code, campaign.FailWrongAddress, "", "fail 2", volunteer, nil)
	wantCode(t, "a failure after the hand-over", err, campaign.ECONFLICT)
	_, err = w.cases.SetHandover(ctx, d.Code, parentChat, campaign.HandoverHome)
	wantCode(t, "a handover after the hand-over", err, campaign.ENOTFOUND)
	_, err = w.cases.MarkDelivered(ctx, "GH-999999", "Someone", "", "", volunteer, nil)
	wantCode(t, "an unknown delivery", err, campaign.ENOTFOUND)
	if got := open(""); !slices.Equal(got, []string{other.Code}) {
		t.Errorf("open deliveries after the hand-over = %v, want [%s]", got, other.Code)
	}

	// The parent presses "Đã nhận".
	_, _, err = w.cases.ConfirmDelivery(ctx, d.Code, otherChat, nil)
	wantCode(t, "confirming from another chat", err, campaign.ENOTFOUND)
	confirmed, already, err := w.cases.ConfirmDelivery(ctx, strings.ToLower(d.Code), parentChat, nil)
	if err != nil || already || confirmed.Status != campaign.DeliveryConfirmed || confirmed.ConfirmedAt.IsZero() || confirmed.AutoConfirmed {
		t.Fatalf("ConfirmDelivery = %s at %v (auto %v), already %v, %v", confirmed.Status, confirmed.ConfirmedAt, confirmed.AutoConfirmed, already, err)
	}
	before = caseSnapshot(t, w.db)
	again, already, err = w.cases.ConfirmDelivery(ctx, d.Code, parentChat, nil)
	if err != nil || !already || !reflect.DeepEqual(again, confirmed) {
		t.Errorf("second ConfirmDelivery = %+v, already %v, %v; want it unchanged, already", again, already, err)
	}
	if after := caseSnapshot(t, w.db); after != before {
		t.Errorf("second confirmation wrote:\nbefore %s\nafter  %s", before, after)
	}
	_, err = w.cases.MarkDelivered(ctx, d.Code, "Someone else", "", "deliver 1", volunteer, nil)
	if err != nil {
		t.Errorf("the hand-over's key after the confirmation: %v, want the delivery", err)
	}

	rows := auditRows(t, w.db, d.Code)
	want := []auditRow{
		{campaign.FamilyActor, "delivery.handover", `{"handover": "home"}`, `{"handover": "school"}`},
		{"telegram:7001", "delivery.failed", `{"attempts": 0}`, `{"attempts": 1, "reason": "not_home"}`},
		{"telegram:7001", "delivery.delivered", `{"status": "pending"}`, `{"status": "delivered", "photo": true}`},
		{campaign.FamilyActor, "delivery.confirmed", `{"status": "delivered"}`, `{"status": "confirmed"}`},
	}
	if len(rows) != len(want) {
		t.Fatalf("audit of %s = %+v, want %d rows", d.Code, rows, len(want))
	}
	for i, r := range rows {
		if r.Actor != want[i].Actor || r.Action != want[i].Action || !jsonEqual(t, r.Before, want[i].Before) || !jsonEqual(t, r.After, want[i].After) {
			t.Errorf("audit row %d = %+v, want %+v", i, r, want[i])
		}
	}
}

func TestCaseStore_FinalizeDeliveries(t *testing.T) {
	t.Parallel()
	w := newCaseWork(t)
	ctx := t.Context()
	w.receive(t, campaign.ItemSIM4G, 10, 0)
	var ds []campaign.Delivery
	for i := range 4 {
		r := w.verified(t, fmt.Sprintf("Child %d", i), nil)
		ds = append(ds, w.allocate(t, campaign.Allocation{Code: r.Code, Stock: []campaign.StockKind{campaign.StockSIM4G}}, ""))
	}
	early := w.deliver(t, ds[0].Code, "")
	confirmedEarly := w.deliver(t, ds[1].Code, "")
	if _, _, err := w.cases.ConfirmDelivery(ctx, confirmedEarly.Code, parentChat, nil); err != nil {
		t.Fatal(err)
	}
	w.clock.advance(72 * time.Hour)
	late := w.deliver(t, ds[2].Code, "")
	// ds[3] stays pending.

	cutoff := early.DeliveredAt.Add(48 * time.Hour)
	notices := func(d campaign.Delivery) []campaign.OutboxMessage {
		return []campaign.OutboxMessage{{Key: "final:" + d.Code, Batch: "final", Channel: d.Parent.Channel, ChatID: d.Parent.ChatID, Text: "final " + d.Code}}
	}
	got, err := w.cases.FinalizeDeliveries(ctx, cutoff, notices)
	if err != nil {
		t.Fatalf("FinalizeDeliveries: %v", err)
	}
	// The parent's message is queued with the change, in its transaction.
	if q, _, _, _, err := postgres.NewOutbox(w.db).BatchProgress(ctx, "final"); err != nil || q != 1 {
		t.Errorf("outbox after finalizing one delivery: %d queued, %v; want 1", q, err)
	}
	if len(got) != 1 || got[0].Code != early.Code || got[0].Status != campaign.DeliveryConfirmed || !got[0].AutoConfirmed ||
		!got[0].ConfirmedAt.After(late.DeliveredAt) || !got[0].DeliveredAt.Equal(early.DeliveredAt) || got[0].Parent != parentChat {
		t.Fatalf("FinalizeDeliveries(%v) = %+v, want %s auto-confirmed now", cutoff, got, early.Code)
	}
	rows := auditRows(t, w.db, early.Code)
	if last := rows[len(rows)-1]; last.Actor != "system" || last.Action != "delivery.auto_confirmed" ||
		!jsonEqual(t, last.Before, `{"status": "delivered"}`) || !jsonEqual(t, last.After, `{"status": "confirmed", "auto_confirmed": true}`) {
		t.Errorf("last audit row of %s = %+v", early.Code, last)
	}
	for code, want := range map[string]campaign.DeliveryStatus{late.Code: campaign.DeliveryDelivered, ds[3].Code: campaign.DeliveryPending} {
		if d, err := w.cases.DeliveryByCode(ctx, code); err != nil || d.Status != want || d.AutoConfirmed {
			t.Errorf("%s: %s (auto %v), %v; want %s", code, d.Status, d.AutoConfirmed, err, want)
		}
	}
	if d, err := w.cases.DeliveryByCode(ctx, confirmedEarly.Code); err != nil || d.AutoConfirmed {
		t.Errorf("%s confirmed by the parent became auto-confirmed: %+v, %v", confirmedEarly.Code, d, err)
	}

	before := caseSnapshot(t, w.db)
	if again, err := w.cases.FinalizeDeliveries(ctx, cutoff, notices); err != nil || len(again) != 0 {
		t.Errorf("FinalizeDeliveries again = %v, %v; want none", deliveryCodes(again), err)
	}
	if after := caseSnapshot(t, w.db); after != before {
		t.Errorf("finalizing again wrote:\nbefore %s\nafter  %s", before, after)
	}
	got, err = w.cases.FinalizeDeliveries(ctx, w.clock.Now().Add(time.Hour), nil)
	if err != nil || !slices.Equal(deliveryCodes(got), []string{late.Code}) {
		t.Errorf("FinalizeDeliveries(later) = %v, %v; want [%s]", deliveryCodes(got), err, late.Code)
	}
	// The parent confirming later finds it final already.
	if _, already, err := w.cases.ConfirmDelivery(ctx, early.Code, parentChat, nil); err != nil || !already {
		t.Errorf("ConfirmDelivery after the automatic one: already %v, %v", already, err)
	}
}

// seedCampaign fills db fast with SQL: verified registrations of distinct children (spread over
// the campaign's wards, circumstances, situations and needs), ready devices (a quarter from ward
// office pledges), stock, and a few hundred children delivered to by an earlier campaign. It
// returns the codes and labels in order.
func seedCampaign(tb testing.TB, db *postgres.DB, c *campaign.Campaign, registrations, devices int) (codes, labels []string) {
	tb.Helper()
	wards := make(pq.StringArray, 0, len(c.Wards))
	for _, wd := range c.Wards {
		wards = append(wards, wd.Code)
	}
	conn := db.SQLX()
	for _, q := range []struct {
		query string
		args  []any
	}{
		{`INSERT INTO students (campaign_id, full_name, name_key, birth_date, ward_code, created_at)
			SELECT $1, 'Học sinh ' || i, 'hoc sinh ' || i, date '2008-01-01' + i % 3000,
				($3::text[])[1 + i % cardinality($3::text[])], '2021-09-01'
			FROM generate_series(1, $2) i`, []any{c.ID, registrations, wards}},
		{`INSERT INTO registrations (campaign_id, code, status, channel, chat_id, parent_name, parent_phone, student_id,
				level, grade, school, ward_code, address, circumstances, device_situation, needs, idempotency_key,
				consent_at, created_at, updated_at)
			SELECT $1, format_code($2, s.id), 'verified', 'telegram', (100000 + s.id)::text, 'Phụ huynh ' || s.id,
				'+8490' || lpad(s.id::text, 7, '0'), s.id, 'lower_secondary', 6 + s.id % 4, 'Trường THCS', s.ward_code,
				s.id || ' đường số 1',
				(CASE s.id % 5 WHEN 0 THEN '{poor}' WHEN 1 THEN '{near_poor}' WHEN 2 THEN '{orphan_one_covid}'
					WHEN 3 THEN '{covid_hardship}' ELSE '{poor,covid_hardship}' END)::text[],
				(ARRAY['none', 'shares_phone', 'broken'])[1 + s.id % 3],
				(CASE s.id % 4 WHEN 0 THEN '{laptop,sim_4g}' WHEN 1 THEN '{tablet,usb_wifi}' WHEN 2 THEN '{smartphone,sim_4g}'
					ELSE '{sim_4g,internet_package}' END)::text[],
				'seed ' || s.id, '2021-09-01', timestamptz '2021-09-01' + s.id * interval '1 minute', '2021-09-10'
			FROM students s WHERE s.campaign_id = $1`, []any{c.ID, c.RegistrationPrefix}},
		{`INSERT INTO pledges (code, channel, chat_id, donor_kind, donor_name, phone, delivery, ward_code,
				idempotency_key, created_at, updated_at)
			SELECT format_code('PL', i), 'telegram', (300000 + i)::text, 'business', 'Nhà hảo tâm ' || i, '+8491' || lpad(i::text, 7, '0'),
				'ward_office', w, 'seed pledge ' || i, '2021-09-01', '2021-09-01'
			FROM unnest($1::text[]) WITH ORDINALITY AS u (w, i)`, []any{wards}},
		{`INSERT INTO devices (label, type, state, pledge_id, created_at, updated_at)
			SELECT format_code('TB', i), (ARRAY['laptop', 'tablet', 'smartphone', 'desktop'])[1 + i % 4], 'ready',
				CASE WHEN i % 4 = 0 THEN (SELECT min(id) FROM pledges) + i % (SELECT count(*) FROM pledges) END,
				'2021-09-05', '2021-09-05'
			FROM generate_series(1, $1) i`, []any{devices}},
		{`INSERT INTO stock (kind, quantity, months, received_by, created_at)
			VALUES ('sim_4g', 100000, 0, 'seed', '2021-09-05'), ('usb_wifi', 100000, 0, 'seed', '2021-09-05'),
				('internet_package', 100000, 6, 'seed', '2021-09-05')`, nil},
		// Children delivered to in 2020, every tenth of this year's.
		{`INSERT INTO students (campaign_id, full_name, name_key, birth_date, ward_code, created_at)
			SELECT 'hcm-2020', full_name, name_key, birth_date, ward_code, '2020-10-01'
			FROM students WHERE campaign_id = $1 AND id % 10 = 0`, []any{c.ID}},
		{`INSERT INTO registrations (campaign_id, code, status, channel, chat_id, parent_name, parent_phone, student_id,
				level, grade, school, ward_code, address, device_situation, needs, idempotency_key, consent_at, created_at, updated_at)
			SELECT 'hcm-2020', format_code('HCM', s.id), 'delivered', 'telegram', '1', 'x', '+84900000000', s.id, 'primary', 1,
				'x', s.ward_code, 'x', 'none', '{tablet}', 'old ' || s.id, '2020-10-01', '2020-10-01', '2020-10-01'
			FROM students s WHERE s.campaign_id = 'hcm-2020'`, nil},
		{`ANALYZE`, nil},
	} {
		if _, err := conn.Exec(q.query, q.args...); err != nil {
			tb.Fatalf("seed: %v\n%s", err, q.query)
		}
	}
	if err := conn.Select(&codes, `SELECT code FROM registrations WHERE campaign_id = $1 ORDER BY id`, c.ID); err != nil {
		tb.Fatal(err)
	}
	if err := conn.Select(&labels, `SELECT label FROM devices ORDER BY id`); err != nil {
		tb.Fatal(err)
	}
	return codes, labels
}

// TestCaseStore_ProposalMatchConfirm runs what /allocate does on the seeded campaign the benchmarks
// use: the proposal, Match, and confirming every allocation Match made.
func TestCaseStore_ProposalMatchConfirm(t *testing.T) {
	t.Parallel()
	w := newCaseWork(t)
	codes, labels := seedCampaign(t, w.db, w.c, 40, 20)
	p, err := w.cases.Proposal(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	helped, scored := 0, 0
	for _, c := range p.Candidates {
		if c.AlreadyHelped {
			helped++
		}
		if c.Score.Points > 0 && len(c.Needs) == 2 {
			scored++
		}
	}
	if len(codes) != 40 || len(labels) != 20 || len(p.Candidates) != 40 || helped != 4 || scored != 40 || len(p.Supply.Devices) != 20 {
		t.Errorf("seeded %d codes, %d labels; proposal of %d candidates (%d helped, %d scored with two needs), %d devices",
			len(codes), len(labels), len(p.Candidates), helped, scored, len(p.Supply.Devices))
	}
	allocs, _ := campaign.Match(p.Candidates, p.Supply, w.c.MatchRules())
	if len(allocs) == 0 {
		t.Fatal("Match allocated nothing from the seeded proposal")
	}
	made, stale, err := w.cases.ConfirmAllocations(t.Context(), allocs, "seed", official, nil)
	if err != nil || len(stale) != 0 || len(made) != len(allocs) {
		t.Errorf("confirming the seeded match: %d made of %d, stale %v, %v", len(made), len(allocs), stale, err)
	}
}

// BenchmarkCaseStore_Proposal reads the proposal of a campaign of the plan's size: 3,200
// verified registrations and 2,000 ready devices.
func BenchmarkCaseStore_Proposal(b *testing.B) {
	w := newCaseWork(b)
	seedCampaign(b, w.db, w.c, 3200, 2000)
	for b.Loop() {
		p, err := w.cases.Proposal(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Candidates) != 3200 || len(p.Supply.Devices) != 2000 {
			b.Fatalf("%d candidates, %d devices", len(p.Candidates), len(p.Supply.Devices))
		}
	}
}

// BenchmarkCaseStore_ConfirmAllocation confirms one allocation of a device and a SIM at a time,
// as an official does, in a campaign with the plan's 3,200 registrations and more.
func BenchmarkCaseStore_ConfirmAllocation(b *testing.B) {
	w := newCaseWork(b)
	codes, labels := seedCampaign(b, w.db, w.c, max(3200, b.N), max(2000, b.N))
	b.ResetTimer()
	for i := range b.N {
		made, stale, err := w.cases.ConfirmAllocations(b.Context(), []campaign.Allocation{
			{Code: codes[i], DeviceLabel: labels[i], Stock: []campaign.StockKind{campaign.StockSIM4G}},
		}, fmt.Sprintf("bench %d", i), official, nil)
		if err != nil || len(made) != 1 || len(stale) != 0 {
			b.Fatalf("allocation %d: %d made, stale %v, %v", i, len(made), stale, err)
		}
	}
}
