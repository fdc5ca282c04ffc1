package postgres_test

import (
	"encoding/json"
	"reflect"
	"slices"
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
