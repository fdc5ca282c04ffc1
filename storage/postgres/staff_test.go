package postgres_test

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	"github.com/thuduc/maytinhchoem/storage/postgres/postgrestest"
)

// telegramPayload is what Telegram accepts after /start: up to 64 characters of A-Z a-z 0-9 _ -.
var telegramPayload = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// advance moves the clock forward by d.
func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newStaffStore returns a StaffStore over a fresh database, with the clock the database reads.
func newStaffStore(t testing.TB) (*postgres.DB, *postgres.StaffStore, *testClock) {
	t.Helper()
	db := postgrestest.NewDB(t)
	clock := &testClock{t: campaignDay()}
	db.Now = clock.Now
	return db, postgres.NewStaffStore(db), clock
}

// invite creates an invitation valid for a week and fails the test on an error.
func invite(t testing.TB, s *postgres.StaffStore, role campaign.Role, ward string) string {
	t.Helper()
	code, err := s.CreateInvitation(t.Context(), campaign.Invitation{Role: role, WardCode: ward, CreatedBy: "telegram:1",
		ExpiresAt: campaignDay().Add(7 * 24 * time.Hour)})
	if err != nil {
		t.Fatalf("CreateInvitation(%s, %q): %v", role, ward, err)
	}
	return code
}

// redeem redeems code for who and fails the test on an error.
func redeem(t testing.TB, s *postgres.StaffStore, code string, who campaign.Staff) campaign.Staff {
	t.Helper()
	got, err := s.RedeemInvitation(t.Context(), code, who, true, nil)
	if err != nil {
		t.Fatalf("RedeemInvitation for %s:%s: %v", who.Channel, who.ExternalID, err)
	}
	return got.Staff
}

// wantCode fails the test unless err carries the application error code want.
func wantCode(t testing.TB, what string, err error, want string) {
	t.Helper()
	if got := campaign.ErrorCode(err); got != want {
		t.Errorf("%s: %v (code %q), want code %q", what, err, got, want)
	}
}

// contactRole returns the role and ward stored on a contact.
func contactRole(t testing.TB, db *postgres.DB, channel, externalID string) (role, ward string) {
	t.Helper()
	err := db.SQLX().QueryRow(`SELECT role, coalesce(ward_code, '') FROM contacts WHERE channel = $1 AND external_id = $2`,
		channel, externalID).Scan(&role, &ward)
	if err != nil {
		t.Fatalf("contact %s:%s: %v", channel, externalID, err)
	}
	return role, ward
}

// auditActions lists the actions audited about subject, oldest first.
func auditActions(t testing.TB, db *postgres.DB, subject string) []string {
	t.Helper()
	entries, err := postgres.NewAuditLog(db).Entries(t.Context(), subject)
	if err != nil {
		t.Fatalf("Entries(%s): %v", subject, err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	return actions
}

// snapshot is what a failed redemption must leave as it was.
func snapshot(t testing.TB, db *postgres.DB) string {
	t.Helper()
	var s string
	err := db.SQLX().Get(&s, `SELECT concat_ws('|',
		(SELECT count(*) FROM staff), (SELECT count(*) FROM staff WHERE active),
		(SELECT count(*) FROM invitations WHERE used_at IS NOT NULL),
		(SELECT count(*) FROM audit_log), (SELECT string_agg(role, ',' ORDER BY id) FROM contacts))`)
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	return s
}

func TestStaffStore_CreateInvitation(t *testing.T) {
	t.Parallel()
	db, s, _ := newStaffStore(t)
	ctx := t.Context()
	nextWeek := campaignDay().Add(7 * 24 * time.Hour)

	t.Run("invalid", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			role    campaign.Role
			ward    string
			by      string
			expires time.Time
			school  string
		}{
			{"unknown role", "mayor", "", "telegram:1", nextWeek, ""},
			{"no role", "", "", "telegram:1", nextWeek, ""},
			{"admin is never invited", campaign.RoleAdmin, "", "telegram:1", nextWeek, ""},
			{"ward role without ward", campaign.RoleWardOfficial, "", "telegram:1", nextWeek, ""},
			{"women's union without ward", campaign.RoleWomensUnion, "  ", "telegram:1", nextWeek, ""},
			{"city role with ward", campaign.RoleCityOfficial, "26800", "telegram:1", nextWeek, ""},
			{"volunteer with ward", campaign.RoleVolunteer, "26800", "telegram:1", nextWeek, ""},
			{"already expired", campaign.RoleVolunteer, "", "telegram:1", campaignDay().Add(-time.Minute), ""},
			{"no inviter", campaign.RoleVolunteer, "", " ", nextWeek, ""},
			{"school without a name", campaign.RoleSchool, "26800", "telegram:1", nextWeek, ""},
			{"school named by its level only", campaign.RoleSchool, "26800", "telegram:1", nextWeek, "Trường THCS"},
			{"school without a ward", campaign.RoleSchool, "", "telegram:1", nextWeek, "Trường THCS Linh Trung"},
			{"ward role with a school", campaign.RoleWardOfficial, "26800", "telegram:1", nextWeek, "Trường THCS Linh Trung"},
			{"city role with a school", campaign.RoleEducationOffice, "", "telegram:1", nextWeek, "Trường THCS Linh Trung"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, err := s.CreateInvitation(ctx, campaign.Invitation{Role: tc.role, WardCode: tc.ward, School: tc.school,
					CreatedBy: tc.by, ExpiresAt: tc.expires})
				wantCode(t, "CreateInvitation", err, campaign.EINVALID)
				if code != "" {
					t.Errorf("CreateInvitation returned code %q with an error", code)
				}
			})
		}
		if n := countRows(t, db, "invitations"); n != 0 {
			t.Errorf("%d invitations stored, want 0", n)
		}
	})

	var codes []string
	for _, tc := range []struct {
		role campaign.Role
		ward string
	}{
		{campaign.RoleWardOfficial, "26800"},
		{campaign.RoleCityOfficial, ""},
	} {
		t.Run("valid "+string(tc.role), func(t *testing.T) {
			code := invite(t, s, tc.role, tc.ward)
			if len(code) != 32 || !telegramPayload.MatchString(code) {
				t.Errorf("code %q is not 32 characters of a Telegram /start payload", code)
			}
			codes = append(codes, code)
		})
	}

	t.Run("codes differ", func(t *testing.T) {
		if len(codes) != 2 || codes[0] == codes[1] {
			t.Errorf("codes %q", codes)
		}
	})

	t.Run("only the hash is stored", func(t *testing.T) {
		for _, code := range codes {
			var plain, hashed int
			err := db.SQLX().QueryRow(`SELECT
				(SELECT count(*) FROM invitations i WHERE i::text LIKE '%' || $1 || '%'
				    OR position(convert_to($1, 'UTF8') IN i.code_hash) > 0),
				(SELECT count(*) FROM invitations WHERE code_hash = $2)`, code, func() []byte {
				h := sha256.Sum256([]byte(code))
				return h[:]
			}()).Scan(&plain, &hashed)
			if err != nil {
				t.Fatal(err)
			}
			if plain != 0 || hashed != 1 {
				t.Errorf("code %s: %d rows hold it in plain text (want 0), %d its SHA-256 (want 1)", code, plain, hashed)
			}
		}
	})

	t.Run("audited without the code", func(t *testing.T) {
		invs, err := s.Invitations(ctx)
		if err != nil || len(invs) != 2 {
			t.Fatalf("Invitations: %d, %v; want 2", len(invs), err)
		}
		entries, err := postgres.NewAuditLog(db).Entries(ctx, fmt.Sprintf("invitation:%d", invs[0].ID))
		if err != nil || len(entries) != 1 {
			t.Fatalf("Entries: %d, %v; want 1", len(entries), err)
		}
		e := entries[0]
		var after struct {
			Role    string    `json:"role"`
			Ward    string    `json:"ward"`
			Expires time.Time `json:"expires"`
		}
		if err := json.Unmarshal(e.After.(json.RawMessage), &after); err != nil {
			t.Fatal(err)
		}
		if e.Action != "staff.invite" || e.Actor != "telegram:1" || after.Role != "ward_official" ||
			after.Ward != "26800" || !after.Expires.Equal(nextWeek) {
			t.Errorf("audit %+v, after %+v", e, after)
		}
		var leaked int
		for _, code := range codes {
			if err := db.SQLX().Get(&leaked, `SELECT count(*) FROM audit_log a WHERE a::text LIKE '%' || $1 || '%'`, code); err != nil {
				t.Fatal(err)
			}
			if leaked != 0 {
				t.Errorf("code %s is in %d audit rows", code, leaked)
			}
		}
	})
}

func TestStaffStore_RedeemInvitation(t *testing.T) {
	t.Parallel()
	db, s, clock := newStaffStore(t)
	ctx := t.Context()
	hoa := campaign.Staff{Channel: "telegram", ExternalID: "42", Name: "Lê Thị Hoa"}

	code := invite(t, s, campaign.RoleWardOfficial, "26800")
	var bound campaign.Staff

	t.Run("binds the role", func(t *testing.T) {
		// Role and ward of who are the invitation's to decide.
		who := hoa
		who.Role, who.WardCode = campaign.RoleCityOfficial, ""
		bound = redeem(t, s, code, who)
		want := campaign.Staff{Channel: "telegram", ExternalID: "42", Name: "Lê Thị Hoa", Role: campaign.RoleWardOfficial, WardCode: "26800"}
		if bound != want {
			t.Errorf("RedeemInvitation = %+v, want %+v", bound, want)
		}
		got, err := s.StaffMember(ctx, "telegram", "42")
		if err != nil || got != want {
			t.Errorf("StaffMember = %+v, %v; want %+v", got, err, want)
		}
	})

	t.Run("binds the contact's role", func(t *testing.T) {
		if role, ward := contactRole(t, db, "telegram", "42"); role != "ward_official" || ward != "26800" {
			t.Errorf("contact role %q ward %q, want ward_official 26800", role, ward)
		}
	})

	t.Run("marks the invitation used", func(t *testing.T) {
		var usedBy string
		if err := db.SQLX().Get(&usedBy, `SELECT used_by FROM invitations WHERE used_at IS NOT NULL`); err != nil {
			t.Fatal(err)
		}
		if usedBy != "telegram:42" {
			t.Errorf("used_by %q, want telegram:42", usedBy)
		}
		if invs, err := s.Invitations(ctx); err != nil || len(invs) != 0 {
			t.Errorf("Invitations = %+v, %v; want none open", invs, err)
		}
	})

	t.Run("audited", func(t *testing.T) {
		if got := auditActions(t, db, "staff:telegram:42"); !slices.Equal(got, []string{"staff.join"}) {
			t.Errorf("audit of staff:telegram:42: %q, want [staff.join]", got)
		}
	})

	expiring, err := s.CreateInvitation(ctx, campaign.Invitation{Role: campaign.RoleVolunteer, CreatedBy: "telegram:1",
		ExpiresAt: campaignDay().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	revoked := invite(t, s, campaign.RoleVolunteer, "")
	invs, err := s.Invitations(ctx)
	if err != nil || len(invs) != 2 {
		t.Fatalf("Invitations = %+v, %v; want 2", invs, err)
	}
	if err := s.RevokeInvitation(ctx, invs[1].ID, "telegram:1"); err != nil {
		t.Fatalf("RevokeInvitation: %v", err)
	}
	clock.advance(2 * time.Hour)

	t.Run("refused", func(t *testing.T) {
		var messages []string
		for _, tc := range []struct{ name, code string }{
			{"used", code},
			{"expired", expiring},
			{"revoked", revoked},
			{"unknown", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
			{"empty", " "},
			{"too long", strings.Repeat("A", 100)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := snapshot(t, db)
				_, err := s.RedeemInvitation(ctx, tc.code, campaign.Staff{Channel: "telegram", ExternalID: "77", Name: "Phạm Văn Nam"}, false, nil)
				wantCode(t, "RedeemInvitation", err, campaign.ENOTFOUND)
				if after := snapshot(t, db); after != before {
					t.Errorf("the database changed: %s -> %s", before, after)
				}
				var e *campaign.Error
				if errors.As(err, &e) {
					messages = append(messages, e.Message)
				}
			})
		}
		// Which of the four it was is for the log, not for the message a caller may pass on.
		for _, m := range messages {
			if m != messages[0] {
				t.Errorf("messages differ: %q", messages)
				break
			}
		}
		if _, err := s.StaffMember(ctx, "telegram", "77"); campaign.ErrorCode(err) != campaign.ENOTFOUND {
			t.Errorf("StaffMember of the refused: %v, want ENOTFOUND", err)
		}
	})

	t.Run("no account", func(t *testing.T) {
		fresh := invite(t, s, campaign.RoleVolunteer, "")
		_, err := s.RedeemInvitation(ctx, fresh, campaign.Staff{Channel: "telegram"}, false, nil)
		wantCode(t, "RedeemInvitation", err, campaign.EINVALID)
		if invs, err := s.Invitations(ctx); err != nil || len(invs) != 1 {
			t.Errorf("Invitations = %+v, %v; want the fresh one still open", invs, err)
		}
	})

	t.Run("a new invitation replaces the role", func(t *testing.T) {
		replacement := invite(t, s, campaign.RoleVolunteer, "")
		// Without replace, the role is kept and the invitation stays open: the person is asked.
		unchanged := snapshot(t, db)
		told := 0
		held, err := s.RedeemInvitation(ctx, replacement, campaign.Staff{Channel: "telegram", ExternalID: "42"}, false,
			func(campaign.Redemption) []campaign.OutboxMessage { told++; return nil })
		wantHeld := campaign.Staff{Channel: "telegram", ExternalID: "42", Name: "Lê Thị Hoa", Role: campaign.RoleWardOfficial, WardCode: "26800"}
		if err != nil || !held.Held || held.Previous != wantHeld || held.Staff != (campaign.Staff{}) ||
			held.Invitation.Role != campaign.RoleVolunteer || held.Invitation.ID == 0 || !held.Invitation.UsedAt.IsZero() || told != 0 {
			t.Fatalf("RedeemInvitation without replace = %+v, %v (told %d); want held with the ward official's role", held, err, told)
		}
		if after := snapshot(t, db); after != unchanged {
			t.Errorf("a held redemption changed the database: %s -> %s", unchanged, after)
		}
		if invs, err := s.Invitations(ctx); err != nil || !slices.ContainsFunc(invs, func(i campaign.Invitation) bool { return i.ID == held.Invitation.ID }) {
			t.Errorf("Invitations = %+v, %v; want the held one still open", invs, err)
		}
		got := redeem(t, s, replacement, campaign.Staff{Channel: "telegram", ExternalID: "42"})
		want := campaign.Staff{Channel: "telegram", ExternalID: "42", Role: campaign.RoleVolunteer}
		if got != want {
			t.Errorf("RedeemInvitation = %+v, want %+v", got, want)
		}
		if member, err := s.StaffMember(ctx, "telegram", "42"); err != nil || member != want {
			t.Errorf("StaffMember = %+v, %v; want %+v", member, err, want)
		}
		var active, all int
		if err := db.SQLX().QueryRow(`SELECT count(*) FILTER (WHERE active), count(*) FROM staff
			WHERE channel = 'telegram' AND external_id = '42'`).Scan(&active, &all); err != nil {
			t.Fatal(err)
		}
		if active != 1 || all != 2 {
			t.Errorf("%d active of %d rows, want 1 of 2", active, all)
		}
		if role, ward := contactRole(t, db, "telegram", "42"); role != "volunteer" || ward != "" {
			t.Errorf("contact role %q ward %q, want volunteer and no ward", role, ward)
		}
		// An empty name keeps the contact's name.
		if c, err := postgres.NewContactStore(db).Contact(ctx, "telegram", "42"); err != nil || c.Name != "Lê Thị Hoa" {
			t.Errorf("Contact = %+v, %v; want the name kept", c, err)
		}
		entries, err := postgres.NewAuditLog(db).Entries(ctx, "staff:telegram:42")
		if err != nil || len(entries) != 2 {
			t.Fatalf("Entries = %d, %v; want 2", len(entries), err)
		}
		var before struct{ Role, Ward string }
		if err := json.Unmarshal(entries[1].Before.(json.RawMessage), &before); err != nil ||
			before.Role != "ward_official" || before.Ward != "26800" {
			t.Errorf("join audit before = %+v (%v), want the replaced role", before, err)
		}
	})
}

// The inviter is told who redeemed which invitation by a notice queued in the redemption's own
// transaction, in the language of the inviter's contact: a notice the outbox refuses undoes the
// redemption, and a held one tells nobody.
func TestStaffStore_RedeemInvitation_notifies(t *testing.T) {
	t.Parallel()
	db, s, _ := newStaffStore(t)
	ctx := t.Context()
	if err := postgres.NewContactStore(db).UpsertContact(ctx, campaign.Contact{Channel: "telegram", ExternalID: "1", Language: "en"}); err != nil {
		t.Fatal(err)
	}
	tell := func(r campaign.Redemption) []campaign.OutboxMessage {
		return []campaign.OutboxMessage{{Key: fmt.Sprintf("redeemed:%d", r.Invitation.ID), Channel: r.Inviter.Channel, ChatID: r.Inviter.ChatID,
			Text: r.Inviter.Language + ": " + r.Staff.Name + " (" + r.Invitation.UsedBy + ") is " + string(r.Staff.Role) + ", was " + string(r.Previous.Role),
			Lane: campaign.OutboxNotice}}
	}
	hoa := campaign.Staff{Channel: "zalo", ExternalID: "z-42", Name: "Lê Thị Hoa"}

	// A notice the outbox refuses (no key) fails the redemption, which leaves nothing behind.
	code := invite(t, s, campaign.RoleWardOfficial, "26800")
	before := snapshot(t, db)
	_, err := s.RedeemInvitation(ctx, code, hoa, false, func(campaign.Redemption) []campaign.OutboxMessage {
		return []campaign.OutboxMessage{{Channel: "telegram", ChatID: "1", Text: "x", Lane: campaign.OutboxNotice}}
	})
	wantCode(t, "RedeemInvitation with a refused notice", err, campaign.EINVALID)
	if after := snapshot(t, db); after != before || countRows(t, db, "outbox") != 0 {
		t.Errorf("a failed redemption left %s -> %s, %d outbox rows", before, after, countRows(t, db, "outbox"))
	}

	r, err := s.RedeemInvitation(ctx, code, hoa, false, tell)
	if err != nil || r.Held || r.Staff.Role != campaign.RoleWardOfficial || r.Invitation.UsedBy != "zalo:z-42" ||
		r.Invitation.CreatedBy != "telegram:1" || r.Inviter != (campaign.Recipient{Channel: "telegram", ChatID: "1", Language: "en"}) {
		t.Fatalf("RedeemInvitation = %+v, %v", r, err)
	}
	// Held: nobody is told. Replaced: the inviter hears of the earlier role too.
	second := invite(t, s, campaign.RoleVolunteer, "")
	if r, err := s.RedeemInvitation(ctx, second, hoa, false, tell); err != nil || !r.Held {
		t.Fatalf("second redemption = %+v, %v; want held", r, err)
	}
	if _, err := s.RedeemInvitation(ctx, second, hoa, true, tell); err != nil {
		t.Fatal(err)
	}
	msgs, err := postgres.NewOutbox(db).Claim(ctx, campaign.OutboxNotice, 10, time.Minute)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("notices = %+v, %v; want 2", msgs, err)
	}
	for i, want := range []string{"en: Lê Thị Hoa (zalo:z-42) is ward_official, was ", "en: Lê Thị Hoa (zalo:z-42) is volunteer, was ward_official"} {
		if m := msgs[i]; m.Channel != "telegram" || m.ChatID != "1" || m.Text != want {
			t.Errorf("notice %d = %s:%s %q, want telegram:1 %q", i, m.Channel, m.ChatID, m.Text, want)
		}
	}
}

func TestStaffStore_RedeemInvitation_concurrent(t *testing.T) {
	t.Parallel()

	t.Run("one code, ten people", func(t *testing.T) {
		t.Parallel()
		db, s, _ := newStaffStore(t)
		code := invite(t, s, campaign.RoleVolunteer, "")
		const people = 10
		errs := make([]error, people)
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
		)
		for i := range people {
			wg.Go(func() {
				<-start
				_, errs[i] = s.RedeemInvitation(t.Context(), code, campaign.Staff{Channel: "telegram", ExternalID: fmt.Sprint(100 + i)}, false, nil)
			})
		}
		close(start)
		wg.Wait()
		var won int
		for i, err := range errs {
			switch campaign.ErrorCode(err) {
			case "":
				won++
			case campaign.ENOTFOUND:
			default:
				t.Errorf("person %d: %v", i, err)
			}
		}
		if won != 1 {
			t.Errorf("%d redemptions succeeded, want 1", won)
		}
		if n := countRows(t, db, "staff"); n != 1 {
			t.Errorf("%d staff rows, want 1", n)
		}
	})

	t.Run("one person, two codes", func(t *testing.T) {
		t.Parallel()
		db, s, _ := newStaffStore(t)
		codes := []string{invite(t, s, campaign.RoleVolunteer, ""), invite(t, s, campaign.RoleCultureInfo, "")}
		errs := make([]error, len(codes))
		var wg sync.WaitGroup
		for i, code := range codes {
			wg.Go(func() {
				_, errs[i] = s.RedeemInvitation(t.Context(), code, campaign.Staff{Channel: "telegram", ExternalID: "42"}, true, nil)
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("redemption %d: %v", i, err)
			}
		}
		var active int
		if err := db.SQLX().Get(&active, `SELECT count(*) FROM staff WHERE active`); err != nil {
			t.Fatal(err)
		}
		if active != 1 || countRows(t, db, "staff") != 2 {
			t.Errorf("%d active of %d staff rows, want 1 of 2", active, countRows(t, db, "staff"))
		}
		member, err := s.StaffMember(t.Context(), "telegram", "42")
		if err != nil {
			t.Fatal(err)
		}
		if role, _ := contactRole(t, db, "telegram", "42"); role != string(member.Role) {
			t.Errorf("contact role %q, staff role %q", role, member.Role)
		}
	})

	t.Run("one person, two codes, without replacing", func(t *testing.T) {
		t.Parallel()
		db, s, _ := newStaffStore(t)
		codes := []string{invite(t, s, campaign.RoleVolunteer, ""), invite(t, s, campaign.RoleCultureInfo, "")}
		got := make([]campaign.Redemption, len(codes))
		errs := make([]error, len(codes))
		var wg sync.WaitGroup
		for i, code := range codes {
			wg.Go(func() {
				got[i], errs[i] = s.RedeemInvitation(t.Context(), code, campaign.Staff{Channel: "telegram", ExternalID: "42"}, false, nil)
			})
		}
		wg.Wait()
		held := 0
		for i, err := range errs {
			if err != nil {
				t.Errorf("redemption %d: %v", i, err)
			}
			if got[i].Held {
				held++
			}
		}
		// The one that came second finds the first's role and keeps it.
		if held != 1 || countRows(t, db, "staff") != 1 {
			t.Errorf("%d held, %d staff rows; want 1 and 1", held, countRows(t, db, "staff"))
		}
		if invs, err := s.Invitations(t.Context()); err != nil || len(invs) != 1 {
			t.Errorf("Invitations = %+v, %v; want the held one open", invs, err)
		}
	})
}

func TestStaffStore_RevokeStaff(t *testing.T) {
	t.Parallel()
	db, s, _ := newStaffStore(t)
	ctx := t.Context()
	redeem(t, s, invite(t, s, campaign.RoleWomensUnion, "26800"), campaign.Staff{Channel: "zalo", ExternalID: "z-9", Name: "Ngô Thị Lan"})

	t.Run("revoked", func(t *testing.T) {
		if err := s.RevokeStaff(ctx, "zalo", "z-9", "telegram:1"); err != nil {
			t.Fatalf("RevokeStaff: %v", err)
		}
		_, err := s.StaffMember(ctx, "zalo", "z-9")
		wantCode(t, "StaffMember", err, campaign.ENOTFOUND)
		if role, ward := contactRole(t, db, "zalo", "z-9"); role != "" || ward != "" {
			t.Errorf("contact role %q ward %q, want none", role, ward)
		}
		var revokedBy string
		if err := db.SQLX().Get(&revokedBy, `SELECT revoked_by FROM staff WHERE NOT active`); err != nil || revokedBy != "telegram:1" {
			t.Errorf("revoked_by %q, %v; want telegram:1", revokedBy, err)
		}
	})

	t.Run("audited", func(t *testing.T) {
		if got := auditActions(t, db, "staff:zalo:z-9"); !slices.Equal(got, []string{"staff.join", "staff.revoke"}) {
			t.Errorf("audit %q, want [staff.join staff.revoke]", got)
		}
	})

	for _, tc := range []struct {
		name, channel, externalID, by, want string
	}{
		{"twice", "zalo", "z-9", "telegram:1", campaign.ENOTFOUND},
		{"never staff", "telegram", "5", "telegram:1", campaign.ENOTFOUND},
		{"no account", "", "5", "telegram:1", campaign.EINVALID},
		{"no revoker", "zalo", "z-9", "", campaign.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, "RevokeStaff", s.RevokeStaff(ctx, tc.channel, tc.externalID, tc.by), tc.want)
		})
	}
}

func TestStaffStore_ListStaff(t *testing.T) {
	t.Parallel()
	_, s, _ := newStaffStore(t)
	ctx := t.Context()
	for _, m := range []struct {
		role campaign.Role
		ward string
		who  campaign.Staff
	}{
		{campaign.RoleVolunteer, "", campaign.Staff{Channel: "telegram", ExternalID: "1", Name: "Vũ Minh"}},
		{campaign.RoleWardOfficial, "26803", campaign.Staff{Channel: "telegram", ExternalID: "2", Name: "Bùi An"}},
		{campaign.RoleWardOfficial, "26800", campaign.Staff{Channel: "telegram", ExternalID: "3", Name: "Đỗ Hà"}},
		{campaign.RoleCityOfficial, "", campaign.Staff{Channel: "telegram", ExternalID: "4", Name: "Hồ Nga"}},
		{campaign.RoleVolunteer, "", campaign.Staff{Channel: "telegram", ExternalID: "5", Name: "Lý Bảo"}},
		{campaign.RoleCultureInfo, "", campaign.Staff{Channel: "telegram", ExternalID: "6", Name: "Mai Chi"}},
	} {
		redeem(t, s, invite(t, s, m.role, m.ward), m.who)
	}
	if err := s.RevokeStaff(ctx, "telegram", "6", "telegram:1"); err != nil {
		t.Fatal(err)
	}

	got, err := s.ListStaff(ctx)
	if err != nil {
		t.Fatalf("ListStaff: %v", err)
	}
	var ids []string
	for _, m := range got {
		ids = append(ids, m.ExternalID)
	}
	// The order of campaign.StaffRoles, then ward, then name; the revoked are left out.
	if want := []string{"4", "3", "2", "5", "1"}; !slices.Equal(ids, want) {
		t.Errorf("ListStaff ids %q, want %q", ids, want)
	}
}

func TestStaffStore_Invitations(t *testing.T) {
	t.Parallel()
	db, s, clock := newStaffStore(t)
	ctx := t.Context()
	expires := campaignDay().Add(24 * time.Hour)
	for _, role := range []campaign.Role{campaign.RoleEducationOffice, campaign.RoleVolunteer, campaign.RoleCultureInfo} {
		if _, err := s.CreateInvitation(ctx, campaign.Invitation{Role: role, CreatedBy: "telegram:1", ExpiresAt: expires}); err != nil {
			t.Fatal(err)
		}
	}
	invs, err := s.Invitations(ctx)
	if err != nil || len(invs) != 3 {
		t.Fatalf("Invitations = %+v, %v; want 3", invs, err)
	}

	t.Run("fields", func(t *testing.T) {
		inv := invs[0]
		if inv.Role != campaign.RoleEducationOffice || inv.WardCode != "" || inv.CreatedBy != "telegram:1" ||
			!inv.ExpiresAt.Equal(expires) || !inv.CreatedAt.After(campaignDay()) ||
			!inv.UsedAt.IsZero() || inv.UsedBy != "" || !inv.RevokedAt.IsZero() {
			t.Errorf("invitation %+v", inv)
		}
	})

	t.Run("revoke", func(t *testing.T) {
		if err := s.RevokeInvitation(ctx, invs[1].ID, "telegram:1"); err != nil {
			t.Fatalf("RevokeInvitation: %v", err)
		}
		left, err := s.Invitations(ctx)
		if err != nil || len(left) != 2 || left[0].ID != invs[0].ID || left[1].ID != invs[2].ID {
			t.Errorf("Invitations after revoking %d = %+v, %v", invs[1].ID, left, err)
		}
		subject := fmt.Sprintf("invitation:%d", invs[1].ID)
		if got := auditActions(t, db, subject); !slices.Equal(got, []string{"staff.invite", "staff.invite_revoke"}) {
			t.Errorf("audit of %s: %q", subject, got)
		}
	})

	for _, tc := range []struct {
		name string
		id   int64
		by   string
		want string
	}{
		{"revoked twice", invs[1].ID, "telegram:1", campaign.ENOTFOUND},
		{"unknown", 9999, "telegram:1", campaign.ENOTFOUND},
		{"no revoker", invs[0].ID, " ", campaign.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, "RevokeInvitation", s.RevokeInvitation(ctx, tc.id, tc.by), tc.want)
		})
	}

	t.Run("expired are not open", func(t *testing.T) {
		clock.advance(25 * time.Hour)
		if left, err := s.Invitations(ctx); err != nil || len(left) != 0 {
			t.Errorf("Invitations = %+v, %v; want none", left, err)
		}
	})
}
