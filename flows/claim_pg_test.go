package flows

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	"github.com/thuduc/maytinhchoem/storage/postgres/postgrestest"
)

// pgChat is a chat with an engine over real stores: its state kept as the bot keeps it (JSON).
type pgChat struct {
	t    *testing.T
	e    *Engine
	sess Session
	st   State
	n    int
}

func (c *pgChat) send(in Input) []Output {
	c.t.Helper()
	c.n++
	in.UserID, in.ClientLanguage, in.UpdateID = c.sess.ChatID, "vi", c.sess.ChatID+"-"+itoa(c.n)
	next, out, err := c.e.Handle(context.Background(), c.sess, c.st, in)
	if err != nil {
		c.t.Fatalf("%s: %v", describe(in), err)
	}
	b, err := json.Marshal(next)
	if err != nil {
		c.t.Fatal(err)
	}
	c.st = State{}
	if err := json.Unmarshal(b, &c.st); err != nil {
		c.t.Fatal(err)
	}
	return out
}

// queued returns the texts of the outbox's messages to chat, oldest first.
func queued(t *testing.T, db *sql.DB, chatID string) []string {
	t.Helper()
	rows, err := db.Query(`SELECT text FROM outbox WHERE chat_id = $1 ORDER BY id`, chatID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var texts []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		texts = append(texts, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return texts
}

// TestClaim_NoticesRouted_PostgreSQL: against PostgreSQL, an official's decision on a list's
// registration no family has claimed queues its notice to the list's sender (RegisteredBy), worded
// for staff; once the family claims the list's children from its chat, the next decision's
// notice goes to the family, and /status shows both children there.
func TestClaim_NoticesRouted_PostgreSQL(t *testing.T) {
	ctx := t.Context()
	dbURL := postgrestest.NewDatabaseURL(t)
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := postgres.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	sqlDB, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sqlDB.Close() })
	camp := campaign.Default()
	now := testStart
	db.Now = func() time.Time { return now }
	cfg := Config{
		Campaign: camp, Registrations: postgres.NewRegistrationStore(db, camp), Now: func() time.Time { return now },
		Staff: postgres.NewStaffStore(db), Audit: postgres.NewAuditLog(db), Admins: []string{"telegram:" + testAdmin},
		Entries: testEntries, Cases: postgres.NewCaseStore(db, camp), Claims: postgres.NewClaimStore(db, camp),
		Lists: postgres.NewListStore(db, camp),
	}
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The administrator sent the list: two children with the family's phone.
	row := func(n int, name string, birth time.Time) campaign.ListRow {
		return campaign.ListRow{Row: n, Registration: campaign.Registration{
			StudentName: name, BirthDate: birth, ParentPhone: claimPhone, Level: campaign.LevelPrimary, Grade: 3,
			School: "Trường Tiểu học Linh Trung", WardCode: wardLT, Address: "12 đường số 5",
			Circumstances: []campaign.Circumstance{campaign.CircumstancePoor}, DeviceSituation: campaign.SituationNone,
			Needs: []campaign.Need{campaign.NeedLaptop},
		}}
	}
	res, err := cfg.Lists.ImportList(ctx, &campaign.ListImport{
		Sender: campaign.Staff{Channel: "telegram", ExternalID: testAdmin, Role: campaign.RoleAdmin}, Actor: "telegram:" + testAdmin,
		FileHash: "routed", RowsRead: 2,
		Rows: []campaign.ListRow{row(3, "Trần Minh Khang", time.Date(2012, 9, 5, 0, 0, 0, 0, time.UTC)),
			row(4, "Trần Minh Châu", time.Date(2013, 3, 12, 0, 0, 0, 0, time.UTC))},
	})
	if err != nil || len(res.Accepted) != 2 {
		t.Fatalf("import = %+v, %v", res, err)
	}
	first, second := res.Accepted[0].Code, res.Accepted[1].Code

	admin := &pgChat{t: t, e: e, sess: Session{Channel: "telegram", ChatID: testAdmin}}
	fam := &pgChat{t: t, e: e, sess: Session{Channel: "zalo", ChatID: "7213901"}}
	admin.send(press("v:ok:" + first))
	toAdmin := queued(t, sqlDB, testAdmin)
	if len(toAdmin) != 1 || !strings.Contains(toAdmin[0], first) || !strings.Contains(toAdmin[0], res.Code) ||
		!strings.Contains(toAdmin[0], msg(e, langVI, "verify.parent.approved", "Code", first)) {
		t.Fatalf("before the claim the list's sender got %q", toAdmin)
	}

	fam.send(cmd("status"))
	fam.send(press("cl:start"))
	fam.send(text("0912 345 678"))
	fam.send(text("05/09/2012"))
	out := fam.send(text("12/03/2013"))
	if !strings.Contains(allText(out), second) || fam.st.Flow != "" {
		t.Fatalf("second claim: %s (state %+v)", dump(out), fam.st)
	}

	admin.send(press("v:ok:" + second))
	if got := queued(t, sqlDB, testAdmin); len(got) != 1 {
		t.Errorf("after the claim the list's sender got more: %q", got)
	}
	toFamily := queued(t, sqlDB, "7213901")
	if len(toFamily) != 1 || toFamily[0] != msg(e, langVI, "verify.parent.approved", "Code", second) {
		t.Errorf("after the claim the family got %q", toFamily)
	}
	status := allText(fam.send(cmd("status")))
	for _, want := range []string{first, second, "Trần Minh Khang", "Trần Minh Châu"} {
		if !strings.Contains(status, want) {
			t.Errorf("/status after the claim lacks %q:\n%s", want, status)
		}
	}
	var claimed int
	if err := sqlDB.QueryRow(`SELECT count(*) FROM registrations WHERE channel = 'zalo' AND chat_id = '7213901' AND claimed_at IS NOT NULL`).Scan(&claimed); err != nil || claimed != 2 {
		t.Errorf("claimed rows = %d, %v", claimed, err)
	}
}

// TestClaim_StandInsAndUnblock_PostgreSQL: against PostgreSQL, a school's list whose sender has
// left: the official's decision goes to the school's other staff member (its name written another
// way), and the official's reply says so; once the school has nobody, to the ward's verifiers,
// here the official who decides ("you"). Then a phone blocked after three wrong birth dates shows
// the block on the card, the ward official clears it with /unblock (audited), and the family
// links its child.
func TestClaim_StandInsAndUnblock_PostgreSQL(t *testing.T) {
	ctx := t.Context()
	dbURL := postgrestest.NewDatabaseURL(t)
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := postgres.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	sqlDB, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sqlDB.Close() })
	camp := campaign.Default()
	now := testStart
	db.Now = func() time.Time { return now }
	staff := postgres.NewStaffStore(db)
	cfg := Config{
		Campaign: camp, Registrations: postgres.NewRegistrationStore(db, camp), Now: func() time.Time { return now },
		Staff: staff, Audit: postgres.NewAuditLog(db), Admins: []string{"telegram:" + testAdmin},
		Entries: testEntries, Cases: postgres.NewCaseStore(db, camp), Claims: postgres.NewClaimStore(db, camp),
		Lists: postgres.NewListStore(db, camp),
	}
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	join := func(id string, role campaign.Role, school string) campaign.Staff {
		t.Helper()
		code, err := staff.CreateInvitation(ctx, campaign.Invitation{Role: role, WardCode: wardLT, School: school,
			CreatedBy: "telegram:" + testAdmin, ExpiresAt: now.Add(72 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		r, err := staff.RedeemInvitation(ctx, code, campaign.Staff{Channel: "telegram", ExternalID: id, Name: "Cô " + id, Role: role,
			WardCode: wardLT, School: school}, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r.Staff
	}
	sender := join("7400", campaign.RoleSchool, "Trường THCS Linh Trung")
	join("7401", campaign.RoleSchool, "THCS Linh Trung")
	join("7402", campaign.RoleWardOfficial, "")
	row := func(n int, name, phone string, birth time.Time) campaign.ListRow {
		return campaign.ListRow{Row: n, Registration: campaign.Registration{
			StudentName: name, BirthDate: birth, ParentPhone: phone, Level: campaign.LevelLowerSecondary, Grade: 6,
			School: "Trường THCS Linh Trung", WardCode: wardLT, Address: "12 đường số 5",
			Circumstances: []campaign.Circumstance{campaign.CircumstancePoor}, DeviceSituation: campaign.SituationNone,
			Needs: []campaign.Need{campaign.NeedLaptop},
		}}
	}
	res, err := cfg.Lists.ImportList(ctx, &campaign.ListImport{
		Sender: sender, Actor: "telegram:7400", FileHash: "stand-ins", RowsRead: 3,
		Rows: []campaign.ListRow{row(2, "Hồ Văn Một", "+84912000001", time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)),
			row(3, "Hồ Văn Hai", "+84912000002", time.Date(2010, 2, 2, 0, 0, 0, 0, time.UTC)),
			row(4, "Hồ Văn Ba", claimPhone, time.Date(2010, 3, 3, 0, 0, 0, 0, time.UTC))},
	})
	if err != nil || len(res.Accepted) != 3 {
		t.Fatalf("import = %+v, %v", res, err)
	}
	first, second, third := res.Accepted[0].Code, res.Accepted[1].Code, res.Accepted[2].Code
	if err := staff.RevokeStaff(ctx, "telegram", "7400", "telegram:"+testAdmin); err != nil {
		t.Fatal(err)
	}

	official := &pgChat{t: t, e: e, sess: Session{Channel: "telegram", ChatID: "7402"}}
	card := allText(official.send(cmd("verify", first)))
	for _, want := range []string{msg(e, langVI, "verify.case.parent_missing", "Name", "", "Phone", "+84912000001"),
		msg(e, langVI, "verify.case.source_list", "List", res.Code, "Row", 2, "By", "Cô 7400 ("+msg(e, langVI, "staff.role.school")+")")} {
		if !strings.Contains(card, want) {
			t.Errorf("the card lacks %q:\n%s", want, card)
		}
	}
	out := allText(official.send(press("v:ok:" + first)))
	told := msg(e, langVI, "verify.told.stand_ins", "Who", msg(e, langVI, "verify.told.school_staff", "Count", 1))
	if !strings.Contains(out, msg(e, langVI, "verify.done.approved", "Code", first, "Told", told)) {
		t.Errorf("the official's reply does not say the school was told:\n%s", out)
	}
	if got := queued(t, sqlDB, "7401"); len(got) != 1 || !strings.Contains(got[0], first) || !strings.Contains(got[0], "/find "+first) {
		t.Errorf("the school's other member got %q", got)
	}
	if got := queued(t, sqlDB, "7400"); len(got) != 0 {
		t.Errorf("the revoked sender got %q", got)
	}

	if err := staff.RevokeStaff(ctx, "telegram", "7401", "telegram:"+testAdmin); err != nil {
		t.Fatal(err)
	}
	out = allText(official.send(press("v:ok:" + second)))
	told = msg(e, langVI, "verify.told.stand_ins", "Who", msg(e, langVI, "verify.told.you"))
	if !strings.Contains(out, msg(e, langVI, "verify.done.approved", "Code", second, "Told", told)) {
		t.Errorf("with no school staff left the reply does not say the ward's verifier (you) was told:\n%s", out)
	}
	if got := queued(t, sqlDB, "7402"); len(got) != 1 || !strings.Contains(got[0], second) {
		t.Errorf("the ward's verifier got %q", got)
	}

	// Three wrong dates block the family's phone; the official sees it and clears it.
	fam := &pgChat{t: t, e: e, sess: Session{Channel: "zalo", ChatID: "7213902"}}
	fam.send(cmd("status"))
	fam.send(press("cl:start"))
	fam.send(text("0912 345 678"))
	for _, d := range []string{"01/01/2011", "02/01/2011", "03/01/2011"} {
		out = allText(fam.send(text(d)))
	}
	if !strings.Contains(out, msg(e, langVI, "claim.blocked", "Count", campaign.ClaimTriesMax)) {
		t.Fatalf("three wrong dates: %s", out)
	}
	card = allText(official.send(cmd("verify", third)))
	if !strings.Contains(card, msg(e, langVI, "verify.case.claim_blocked_unblock", "Count", campaign.ClaimTriesMax, "Code", third)) {
		t.Errorf("the card does not show the block:\n%s", card)
	}
	out = allText(official.send(cmd("unblock", third)))
	if !strings.Contains(out, msg(e, langVI, "claim.unblock.done", "Subject", msg(e, langVI, "claim.unblock.of_code", "Code", third),
		"Codes", "", "Count", campaign.ClaimTriesMax)) {
		t.Errorf("/unblock: %s", out)
	}
	var audited int
	if err := sqlDB.QueryRow(`SELECT count(*) FROM audit_log WHERE action = 'registration.claim_unblock' AND subject = $1 AND actor = 'telegram:7402'`,
		third).Scan(&audited); err != nil || audited != 1 {
		t.Errorf("unblock audit rows = %d, %v", audited, err)
	}
	var attempts int
	if err := sqlDB.QueryRow(`SELECT count(*) FROM claim_attempts`).Scan(&attempts); err != nil || attempts != 0 {
		t.Errorf("claim_attempts rows after the unblock = %d, %v", attempts, err)
	}
	fam.send(cmd("status"))
	fam.send(press("cl:start"))
	fam.send(text("0912 345 678"))
	if out = allText(fam.send(text("03/03/2010"))); !strings.Contains(out, third) {
		t.Errorf("the claim after the unblock: %s", out)
	}
}
