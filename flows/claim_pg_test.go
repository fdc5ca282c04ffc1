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
