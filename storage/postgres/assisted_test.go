package postgres_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// assistedRegistration is a registration a ward official of Linh Trung made on a family's behalf,
// without the family's phone.
func assistedRegistration(key string) campaign.Registration {
	r := validRegistration(key)
	r.Channel, r.ChatID, r.UserID = "", "", ""
	r.ParentPhone = ""
	r.Source = campaign.SourceAssisted
	r.RegisteredBy = "zalo:7213001"
	r.ConsentWitness = "zalo:7213001"
	return r
}

func TestRegistrationStore_SubmitAssisted(t *testing.T) {
	t.Parallel()
	c := campaign.Default()

	t.Run("stores the source, who registered and who witnessed, and loads them back", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		s := postgres.NewRegistrationStore(db, c)
		got := submit(t, s, assistedRegistration("a1"))
		if got.Code != "TD-000001" || got.Status != campaign.StatusSubmitted || got.StudentID == 0 {
			t.Errorf("submitted = %s %s student %d", got.Code, got.Status, got.StudentID)
		}
		var row struct {
			Source, RegisteredBy, Witness, Channel, ChatID, Phone string
		}
		err := db.SQLX().QueryRowx(`SELECT source, registered_by, consent_witness, channel, chat_id, parent_phone
			FROM registrations WHERE code = $1`, got.Code).Scan(&row.Source, &row.RegisteredBy, &row.Witness, &row.Channel, &row.ChatID, &row.Phone)
		if err != nil {
			t.Fatal(err)
		}
		want := struct{ Source, RegisteredBy, Witness, Channel, ChatID, Phone string }{"assisted", "zalo:7213001", "zalo:7213001", "", "", ""}
		if row != want {
			t.Errorf("stored %+v, want %+v", row, want)
		}
		loaded, err := s.ByCode(t.Context(), got.Code)
		if err != nil {
			t.Fatal(err)
		}
		if loaded.Source != campaign.SourceAssisted || loaded.RegisteredBy != "zalo:7213001" || loaded.ConsentWitness != "zalo:7213001" ||
			loaded.ListID != 0 || loaded.ListRow != 0 {
			t.Errorf("ByCode: source %q, by %q, witness %q, list %d/%d", loaded.Source, loaded.RegisteredBy, loaded.ConsentWitness, loaded.ListID, loaded.ListRow)
		}
		if loaded.ID != got.ID || loaded.StudentName != got.StudentName || loaded.ParentName != got.ParentName ||
			loaded.ParentPhone != "" || loaded.Channel != "" || loaded.ChatID != "" || !loaded.ConsentAt.Equal(got.ConsentAt) ||
			!reflect.DeepEqual(loaded.Needs, got.Needs) {
			t.Errorf("ByCode =\n%+v\nwant what SubmitRegistration returned\n%+v", loaded, got)
		}
		// The family has no chat: nothing was made a contact, and no chat lists it as its own.
		if n := countRows(t, db, "contacts"); n != 0 {
			t.Errorf("contacts = %d, want 0", n)
		}
		mine, err := s.RegistrationsByChat(t.Context(), "zalo", "7213001")
		if err != nil || len(mine) != 0 {
			t.Errorf("the official's chat lists %d registrations (%v), want none", len(mine), err)
		}
	})

	t.Run("a resubmit with the same key makes one record", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		s := postgres.NewRegistrationStore(db, c)
		first := submit(t, s, assistedRegistration("same"))
		again := assistedRegistration("same")
		again.StudentName = "Someone Else"
		created, err := s.SubmitRegistration(t.Context(), &again)
		if err != nil || created {
			t.Fatalf("resubmit: created %v, err %v", created, err)
		}
		if again.ID != first.ID || again.Code != first.Code || again.StudentName != first.StudentName {
			t.Errorf("resubmit gave\n%+v\nwant\n%+v", again, first)
		}
		if n, _ := s.Count(t.Context()); n != 1 {
			t.Errorf("Count = %d, want 1", n)
		}
		var audited []string
		if err := db.SQLX().Select(&audited, `SELECT action FROM audit_log WHERE subject = $1 ORDER BY id`, first.Code); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(audited, []string{"registration.create", "registration.assist"}) {
			t.Errorf("audited %v, want one create and one assist", audited)
		}
	})

	t.Run("audits the staff member, never the family", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		s := postgres.NewRegistrationStore(db, c)
		r := assistedRegistration("a-audit")
		r.ParentPhone = "+84283896123" // a landline: a phone officials can call
		got := submit(t, s, r)
		var rows []struct {
			Actor  string `db:"actor"`
			Action string `db:"action"`
			After  []byte `db:"after"`
		}
		if err := db.SQLX().Select(&rows, `SELECT actor, action, after FROM audit_log WHERE subject = $1 ORDER BY id`, got.Code); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 {
			t.Fatalf("audit rows = %d, want 2", len(rows))
		}
		for _, row := range rows {
			if row.Actor != "zalo:7213001" {
				t.Errorf("%s by %q, want the official", row.Action, row.Actor)
			}
			var after map[string]any
			if err := json.Unmarshal(row.After, &after); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"name", "parent", "phone", "address", "school"} {
				if _, ok := after[k]; ok {
					t.Errorf("%s keeps %q: %s", row.Action, k, row.After)
				}
			}
			if after["code"] != got.Code || after["ward"] != "26800" {
				t.Errorf("%s after = %s", row.Action, row.After)
			}
		}
		var assist map[string]any
		_ = json.Unmarshal(rows[1].After, &assist)
		if rows[1].Action != "registration.assist" || assist["witness"] != "zalo:7213001" || assist["phone_given"] != true {
			t.Errorf("assist row = %s %s", rows[1].Action, rows[1].After)
		}
	})

	t.Run("flags the same child registered by chat", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		s := postgres.NewRegistrationStore(db, c)
		chat := submit(t, s, validRegistration("chat"))
		got := submit(t, s, assistedRegistration("assisted"))
		if !slices.Equal(got.PossibleDuplicateOf, []string{chat.Code}) || got.StudentID != chat.StudentID {
			t.Errorf("PossibleDuplicateOf = %v (student %d), want [%s] (student %d)", got.PossibleDuplicateOf, got.StudentID, chat.Code, chat.StudentID)
		}
		loaded, err := s.ByCode(t.Context(), chat.Code)
		if err != nil || loaded.Source != campaign.SourceChat || loaded.RegisteredBy != "" {
			t.Errorf("the chat's registration loads as source %q by %q (%v)", loaded.Source, loaded.RegisteredBy, err)
		}
	})

	t.Run("stores, audits and returns each field", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		s := postgres.NewRegistrationStore(db, c)
		hanoi := time.FixedZone("ICT", 7*3600)
		cases := []struct {
			name    string
			consent time.Time
			phone   string
			student string
		}{
			{"whole second", time.Date(2021, 9, 15, 1, 30, 0, 0, time.UTC), "", "Nguyễn Văn An"},
			{"half a second, in another zone", time.Date(2021, 9, 15, 8, 30, 0, 500_000_000, hanoi), "+84283896123", "Lê Thị Hoa"},
			{"nanoseconds", time.Date(2021, 9, 15, 1, 30, 0, 123_456_789, time.UTC), "", "Phạm Minh Khôi"},
			{"trailing zeros, the same child", time.Date(2021, 9, 15, 1, 30, 0, 120_000_000, time.UTC), "+84903123456", "Nguyễn Văn An"},
		}
		var codes []string
		for i, tc := range cases {
			in := assistedRegistration(fmt.Sprintf("exact-%d", i))
			in.ConsentAt, in.ParentPhone, in.StudentName = tc.consent, tc.phone, tc.student
			in.ConsentWitness = "telegram:9001"
			got := submit(t, s, in)

			// What came back is the input with what the store made.
			want := in
			want.ConsentAt = tc.consent.UTC().Truncate(time.Microsecond)
			want.ID, want.Code, want.Status, want.CampaignID = got.ID, fmt.Sprintf("TD-%06d", i+1), campaign.StatusSubmitted, c.ID
			want.StudentID, want.StudentName = got.StudentID, tc.student
			want.CreatedAt, want.UpdatedAt = got.CreatedAt, got.CreatedAt
			if tc.student == cases[0].student {
				want.StudentName = cases[0].student
			}
			if i == 3 {
				want.PossibleDuplicateOf = []string{codes[0]}
			}
			if got.ID == 0 || got.StudentID == 0 || got.CreatedAt.IsZero() || !reflect.DeepEqual(got, want) {
				t.Errorf("%s: returned\n%+v\nwant\n%+v", tc.name, got, want)
			}
			codes = append(codes, got.Code)

			// What is stored loads back as what came back, with the registrar read from the staff.
			loaded, err := s.ByCode(t.Context(), got.Code)
			if err != nil {
				t.Fatal(err)
			}
			loaded.Registrar, loaded.RegisteredByName, loaded.RegisteredByRole, loaded.ListCode = nil, "", "", ""
			if !reflect.DeepEqual(loaded, got) {
				t.Errorf("%s: ByCode\n%+v\nwant\n%+v", tc.name, loaded, got)
			}

			// Two audit rows by the official at the registration's time, with these fields exactly.
			create, _ := json.Marshal(map[string]any{
				"code": got.Code, "ward": "26800", "level": campaign.LevelPrimary, "grade": 4, "status": campaign.StatusSubmitted,
				"possible_duplicate": i == 3, "source": campaign.SourceAssisted,
			})
			assist, _ := json.Marshal(map[string]any{
				"code": got.Code, "ward": "26800", "witness": "telegram:9001", "consent_at": want.ConsentAt,
				"phone_given": tc.phone != "",
			})
			var rows []struct {
				Actor   string    `db:"actor"`
				Action  string    `db:"action"`
				At      time.Time `db:"at"`
				Matches bool      `db:"matches"`
				After   string    `db:"after"`
				Before  bool      `db:"before"`
			}
			if err := db.SQLX().Select(&rows, `
				SELECT actor, action, at, after::text AS after, before IS NULL AS before,
				       after = CASE action WHEN 'registration.create' THEN $2::jsonb ELSE $3::jsonb END AS matches
				FROM audit_log WHERE subject = $1 ORDER BY id`, got.Code, string(create), string(assist)); err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 || rows[0].Action != "registration.create" || rows[1].Action != "registration.assist" {
				t.Fatalf("%s: audit rows %+v, want a create and an assist", tc.name, rows)
			}
			for _, row := range rows {
				if row.Actor != "zalo:7213001" || !row.At.Equal(got.CreatedAt) || !row.Before || !row.Matches {
					t.Errorf("%s: %s by %q at %v, before empty %v, after %s; want by the official at %v, after %s or %s",
						tc.name, row.Action, row.Actor, row.At, row.Before, row.After, got.CreatedAt, create, assist)
				}
			}
		}
		if n := countRows(t, db, "contacts"); n != 0 {
			t.Errorf("contacts = %d, want 0", n)
		}
	})

	t.Run("refuses what an assisted registration cannot be", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		s := postgres.NewRegistrationStore(db, c)
		for name, change := range map[string]func(*campaign.Registration){
			"with a chat":        func(r *campaign.Registration) { r.Channel, r.ChatID = "telegram", "1001" },
			"without its author": func(r *campaign.Registration) { r.RegisteredBy = "" },
			"without a witness":  func(r *campaign.Registration) { r.ConsentWitness = "" },
			"a bad phone":        func(r *campaign.Registration) { r.ParentPhone = "0912" },
			"an unknown ward":    func(r *campaign.Registration) { r.WardCode = "99999" },
			"without consent":    func(r *campaign.Registration) { r.ConsentAt = time.Time{} },
			"a list's source":    func(r *campaign.Registration) { r.Source = campaign.SourceList },
		} {
			r := assistedRegistration("bad-" + name)
			change(&r)
			if _, err := s.SubmitRegistration(t.Context(), &r); campaign.ErrorCode(err) != campaign.EINVALID {
				t.Errorf("%s: err = %v, want EINVALID", name, err)
			}
		}
		if n, _ := s.Count(t.Context()); n != 0 {
			t.Errorf("Count = %d, want 0", n)
		}
	})
}

// Migration 00028 gives submit_registration the inputs of an assisted registration, keeps a call
// with the inputs of migration 00002 (a replica on the previous release) storing a chat's
// registration as before, and its Down puts back the function of 00002 as it was.
func TestSubmitRegistrationMigration(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := dbAtVersion(t, 27)
	definition := func() (args, def string) {
		t.Helper()
		err := db.SQLX().QueryRow(`SELECT pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid)
			FROM pg_proc p WHERE p.proname = 'submit_registration'`).Scan(&args, &def)
		if err != nil {
			t.Fatal(err)
		}
		return args, def
	}
	args27, def27 := definition()
	if err := postgres.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	args, _ := definition()
	if want := args27 + ", p_source text, p_registered_by text, p_witness text"; args != want {
		t.Errorf("after 00028, submit_registration(%s), want (%s)", args, want)
	}

	// The previous release's call.
	var code string
	err := db.SQLX().QueryRow(`CREATE SEQUENCE registration_code_td;
		SELECT o_code FROM submit_registration('old-release', 'thu-duc-2021', 'TD', 'registration_code_td',
			'thu-duc-2021|nguyen van an|2012-05-03|26800', 'Nguyễn Văn An', 'nguyen van an', '2012-05-03', '26800',
			'telegram', '1001', '1001', 'vi', 'Trần Thị Bình', '+84903123456', 'primary', 4,
			'Trường Tiểu học Linh Trung', '', '{}', '', 'shares_phone', '{tablet}', now(), now(), 'family')`).Scan(&code)
	if err != nil {
		t.Fatalf("a call with the inputs of 00002: %v", err)
	}
	var stored string
	if err := db.SQLX().Get(&stored, `SELECT concat_ws(' ', r.code, r.source, quote_literal(r.registered_by),
			quote_literal(r.consent_witness), (SELECT count(*) FROM contacts), a.actor, a.after::text)
		FROM registrations r JOIN audit_log a ON a.subject = r.code WHERE r.idempotency_key = 'old-release'`); err != nil {
		t.Fatal(err)
	}
	want := `TD-000001 chat '' '' 1 family {"code": "TD-000001", "ward": "26800", "grade": 4, "level": "primary", "status": "submitted", "possible_duplicate": false}`
	if code != "TD-000001" || stored != want {
		t.Errorf("a call with the inputs of 00002 stored %s\n%s\nwant\n%s", code, stored, want)
	}

	if err := postgres.MigrateDownTo(ctx, db, 27); err != nil {
		t.Fatal(err)
	}
	if args, def := definition(); args != args27 || def != def27 {
		t.Errorf("after 00028's Down, submit_registration(%s) is\n%s\nwant (%s)\n%s", args, def, args27, def27)
	}
	if err := postgres.Migrate(ctx, db); err != nil {
		t.Fatalf("Up again: %v", err)
	}
	if args, _ := definition(); !strings.HasSuffix(args, ", p_witness text") {
		t.Errorf("up again, submit_registration(%s)", args)
	}
}

// BenchmarkRegistrationStore_SubmitAssisted measures a registration staff make on a family's
// behalf, the chat's benchmark's twin.
func BenchmarkRegistrationStore_SubmitAssisted(b *testing.B) {
	db := newDB(b)
	s := postgres.NewRegistrationStore(db, campaign.Default())
	i := 0
	for b.Loop() {
		r := assistedRegistration(fmt.Sprintf("bench-%d", i))
		r.StudentName = fmt.Sprintf("Nguyễn Văn %d", i)
		i++
		if _, err := s.SubmitRegistration(b.Context(), &r); err != nil {
			b.Fatal(err)
		}
	}
}
