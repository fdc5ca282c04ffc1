package postgres_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

func TestRegistrationStore_SubmitRegistration(t *testing.T) {
	t.Parallel()
	c := campaign.Default()

	t.Run("issues codes in order and fills the record", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		s := postgres.NewRegistrationStore(db, c)

		first := submit(t, s, validRegistration("k1"))
		second := validRegistration("k2")
		second.StudentName = "Lê Thị Hoa"
		second = submit(t, s, second)

		if first.Code != "TD-000001" || second.Code != "TD-000002" {
			t.Errorf("codes %s, %s; want TD-000001, TD-000002", first.Code, second.Code)
		}
		if first.ID == 0 || first.StudentID == 0 || first.StudentID == second.StudentID {
			t.Errorf("ids: registration %d, students %d and %d", first.ID, first.StudentID, second.StudentID)
		}
		if first.Status != campaign.StatusSubmitted || first.CampaignID != c.ID {
			t.Errorf("status %q, campaign %q", first.Status, first.CampaignID)
		}
		if first.CreatedAt.IsZero() || !first.CreatedAt.Equal(first.UpdatedAt) || !first.CreatedAt.Before(second.CreatedAt) {
			t.Errorf("times: first %v/%v, second %v", first.CreatedAt, first.UpdatedAt, second.CreatedAt)
		}
		if first.PossibleDuplicateOf != nil {
			t.Errorf("PossibleDuplicateOf = %v, want none", first.PossibleDuplicateOf)
		}
		got, err := s.ByCode(t.Context(), first.Code)
		if err != nil {
			t.Fatalf("ByCode: %v", err)
		}
		if !reflect.DeepEqual(got, first) {
			t.Errorf("ByCode =\n%+v\nwant what SubmitRegistration returned\n%+v", got, first)
		}
	})

	t.Run("same idempotency key returns the first record", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		s := postgres.NewRegistrationStore(db, c)
		first := submit(t, s, validRegistration("same"))

		again := validRegistration("same")
		again.ParentName = "Someone Else" // a retry returns what was stored, not what was sent
		created, err := s.SubmitRegistration(t.Context(), &again)
		if err != nil {
			t.Fatalf("second SubmitRegistration: %v", err)
		}
		if created {
			t.Error("second SubmitRegistration: created = true")
		}
		if !reflect.DeepEqual(again, first) {
			t.Errorf("second submit gave\n%+v\nwant\n%+v", again, first)
		}
		if n, _ := s.Count(t.Context()); n != 1 {
			t.Errorf("Count = %d, want 1", n)
		}
	})

	t.Run("concurrent submits of one key make one record", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		s := postgres.NewRegistrationStore(db, c)

		const n = 20
		var wg sync.WaitGroup
		results := make([]campaign.Registration, n)
		created := make([]bool, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				results[i] = validRegistration("racing")
				created[i], errs[i] = s.SubmitRegistration(t.Context(), &results[i])
			})
		}
		wg.Wait()
		creators := 0
		for i := range n {
			if errs[i] != nil {
				t.Errorf("submit %d: %v", i, errs[i])
				continue
			}
			if created[i] {
				creators++
			}
			if results[i].Code != "TD-000001" {
				t.Errorf("submit %d: code %q, want TD-000001", i, results[i].Code)
			}
		}
		if creators != 1 {
			t.Errorf("%d submits created a record, want 1", creators)
		}
		if got := countRows(t, db, "registrations"); got != 1 {
			t.Errorf("%d registrations, want 1", got)
		}
		if got := countRows(t, db, "students"); got != 1 {
			t.Errorf("%d students, want 1", got)
		}
		// Numbers come from a sequence: a loser of the race may leave a gap, never a repeat.
		next := validRegistration("after the race")
		next.StudentName = "Lê Thị Hoa"
		if next = submit(t, s, next); next.Code <= "TD-000001" {
			t.Errorf("next code %q, want one after TD-000001", next.Code)
		}
	})

	t.Run("texts are stored in NFC", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		s := postgres.NewRegistrationStore(db, c)
		r := validRegistration("nfd")
		r.StudentName = norm.NFD.String("  Nguyễn   Thị Ánh ")
		r.ParentName = norm.NFD.String("Phạm Văn Đức")
		r.Address = norm.NFD.String("34 Hồ Văn Tư")
		r.School = norm.NFD.String("Trường THCS Bình Thọ")
		r = submit(t, s, r)

		got, err := s.ByCode(t.Context(), r.Code)
		if err != nil {
			t.Fatalf("ByCode: %v", err)
		}
		for _, f := range []struct{ name, got, want string }{
			{"student name", got.StudentName, "Nguyễn Thị Ánh"},
			{"parent name", got.ParentName, "Phạm Văn Đức"},
			{"address", got.Address, "34 Hồ Văn Tư"},
			{"school", got.School, "Trường THCS Bình Thọ"},
		} {
			if f.got != norm.NFC.String(f.want) || !norm.NFC.IsNormalString(f.got) {
				t.Errorf("%s = %q, want NFC %q", f.name, f.got, f.want)
			}
		}
		var nameKey string
		if err := db.SQLX().Get(&nameKey, "SELECT name_key FROM students WHERE id = $1", r.StudentID); err != nil {
			t.Fatal(err)
		}
		if nameKey != "nguyen thi anh" {
			t.Errorf("name_key = %q, want %q", nameKey, "nguyen thi anh")
		}
	})

	t.Run("SQL-looking text is stored literally", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		s := postgres.NewRegistrationStore(db, c)
		const evil = "Robert'); DROP TABLE students;--"
		r := validRegistration("bobby")
		r.StudentName, r.Address, r.School = evil, evil, evil
		r = submit(t, s, r)

		got, err := s.ByCode(t.Context(), r.Code)
		if err != nil {
			t.Fatalf("ByCode: %v", err)
		}
		if got.StudentName != evil || got.Address != evil || got.School != evil {
			t.Errorf("stored %q, %q, %q; want %q", got.StudentName, got.Address, got.School, evil)
		}
		if n := countRows(t, db, "students"); n != 1 {
			t.Errorf("%d students, want 1", n)
		}
	})

	t.Run("possible duplicates are linked and flagged", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		s := postgres.NewRegistrationStore(db, c)
		first := submit(t, s, validRegistration("mother"))

		// The father registers the same child from his own chat, typing the name his way.
		father := validRegistration("father")
		father.ChatID, father.UserID, father.ParentName = "2002", "2002", "Nguyễn Văn Bình"
		father.StudentName = "NGUYEN  van an"
		father = submit(t, s, father)
		if father.StudentID != first.StudentID {
			t.Errorf("father's registration is for student %d, want %d", father.StudentID, first.StudentID)
		}
		if !slices.Equal(father.PossibleDuplicateOf, []string{first.Code}) {
			t.Errorf("PossibleDuplicateOf = %v, want [%s]", father.PossibleDuplicateOf, first.Code)
		}
		if stored, _ := s.ByCode(t.Context(), father.Code); !reflect.DeepEqual(stored, father) {
			t.Errorf("ByCode =\n%+v\nwant\n%+v", stored, father)
		}

		// The grandmother too: both earlier codes are listed.
		grandmother := validRegistration("grandmother")
		grandmother.ChatID, grandmother.UserID = "3003", "3003"
		grandmother.StudentName = norm.NFD.String("nguyễn văn an")
		grandmother = submit(t, s, grandmother)
		if want := []string{first.Code, father.Code}; !slices.Equal(grandmother.PossibleDuplicateOf, want) {
			t.Errorf("PossibleDuplicateOf = %v, want %v", grandmother.PossibleDuplicateOf, want)
		}

		for _, tc := range []struct {
			name   string
			change func(*campaign.Registration)
		}{
			{"different birth date", func(r *campaign.Registration) { r.BirthDate = r.BirthDate.AddDate(0, 0, 1) }},
			{"different ward", func(r *campaign.Registration) { r.WardCode = "26794" }},
			{"different name", func(r *campaign.Registration) { r.StudentName = "Nguyễn Văn Ân Hai" }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := validRegistration(tc.name)
				tc.change(&r)
				r = submit(t, s, r)
				if r.PossibleDuplicateOf != nil || r.StudentID == first.StudentID {
					t.Errorf("flagged as a duplicate of %v (student %d, first %d)", r.PossibleDuplicateOf, r.StudentID, first.StudentID)
				}
			})
		}
	})

	t.Run("two replicas numbering their first submits at once", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		var wg sync.WaitGroup
		codes := make([]string, 8)
		for i := range codes {
			// Each store is a replica that has not made the code sequence yet.
			s := postgres.NewRegistrationStore(db, c)
			wg.Go(func() {
				r := validRegistration(fmt.Sprintf("replica-%d", i))
				r.StudentName = fmt.Sprintf("Nguyễn Văn %c", 'A'+i)
				if _, err := s.SubmitRegistration(t.Context(), &r); err != nil {
					t.Errorf("submit %d: %v", i, err)
				}
				codes[i] = r.Code
			})
		}
		wg.Wait()
		slices.Sort(codes)
		if got := slices.Compact(slices.Clone(codes)); len(got) != len(codes) || codes[0] != "TD-000001" {
			t.Errorf("codes = %v, want 8 distinct from TD-000001", codes)
		}
	})

	t.Run("the same child registered at the same moment is flagged once", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		s := postgres.NewRegistrationStore(db, c)
		const n = 5
		var wg sync.WaitGroup
		results := make([]campaign.Registration, n)
		for i := range n {
			wg.Go(func() {
				r := validRegistration(fmt.Sprintf("parent-%d", i))
				r.ChatID = fmt.Sprint(5000 + i)
				if _, err := s.SubmitRegistration(t.Context(), &r); err != nil {
					t.Errorf("submit %d: %v", i, err)
				}
				results[i] = r
			})
		}
		wg.Wait()
		slices.SortFunc(results, func(a, b campaign.Registration) int { return strings.Compare(a.Code, b.Code) })
		for i, r := range results {
			if r.StudentID != results[0].StudentID {
				t.Errorf("%s is for student %d, want %d", r.Code, r.StudentID, results[0].StudentID)
			}
			if len(r.PossibleDuplicateOf) != i {
				t.Errorf("%s: PossibleDuplicateOf = %v, want the %d earlier codes", r.Code, r.PossibleDuplicateOf, i)
			}
		}
		if got := countRows(t, db, "students"); got != 1 {
			t.Errorf("%d students, want 1", got)
		}
	})

	t.Run("audit row", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		s := postgres.NewRegistrationStore(db, c)
		r := submit(t, s, validRegistration("audited"))
		again := validRegistration("audited")
		if _, err := s.SubmitRegistration(t.Context(), &again); err != nil {
			t.Fatal(err)
		}

		entries, err := postgres.NewAuditLog(db).Entries(t.Context(), r.Code)
		if err != nil {
			t.Fatalf("Entries: %v", err)
		}
		if len(entries) != 1 {
			t.Fatalf("%d audit entries, want 1 (a retried submit is not a second creation)", len(entries))
		}
		e := entries[0]
		if e.Actor != campaign.FamilyActor || e.Action != "registration.create" || e.Subject != r.Code || !e.At.Equal(r.CreatedAt) {
			t.Errorf("entry %+v", e)
		}
		raw, ok := e.After.(json.RawMessage)
		if !ok {
			t.Fatalf("After is %T, want json.RawMessage", e.After)
		}
		var after map[string]any
		if err := json.Unmarshal(raw, &after); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			"code": r.Code, "ward": "26800", "level": "primary", "grade": 4.0,
			"status": "submitted", "possible_duplicate": false,
		}
		if !reflect.DeepEqual(after, want) {
			t.Errorf("After = %v, want %v", after, want)
		}
		for _, secret := range []string{r.ParentName, r.ParentPhone, r.StudentName, r.Address} {
			if strings.Contains(string(raw), secret) {
				t.Errorf("audit row holds %q", secret)
			}
		}
		if e.Before != nil {
			t.Errorf("Before = %v, want nil", e.Before)
		}
	})

	t.Run("invalid input stores nothing", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		s := postgres.NewRegistrationStore(db, c)
		for _, tc := range []struct {
			name   string
			change func(*campaign.Registration)
		}{
			{"unknown ward", func(r *campaign.Registration) { r.WardCode = "99999" }},
			{"grade 11 in primary", func(r *campaign.Registration) { r.Grade = 11 }},
			{"unknown level", func(r *campaign.Registration) { r.Level = "university" }},
			{"no needs", func(r *campaign.Registration) { r.Needs = nil }},
			{"unknown need", func(r *campaign.Registration) { r.Needs = []campaign.Need{"car"} }},
			{"unknown circumstance", func(r *campaign.Registration) { r.Circumstances = []campaign.Circumstance{"rich"} }},
			{"other without text", func(r *campaign.Registration) {
				r.Circumstances = []campaign.Circumstance{campaign.CircumstanceOther}
			}},
			{"unknown device situation", func(r *campaign.Registration) { r.DeviceSituation = "" }},
			{"blank student name", func(r *campaign.Registration) { r.StudentName = "   " }},
			{"no parent name", func(r *campaign.Registration) { r.ParentName = "" }},
			{"no school", func(r *campaign.Registration) { r.School = "" }},
			{"no address", func(r *campaign.Registration) { r.Address = "" }},
			{"no chat", func(r *campaign.Registration) { r.ChatID = "" }},
			{"phone not E.164", func(r *campaign.Registration) { r.ParentPhone = "0903 123 456" }},
			{"no birth date", func(r *campaign.Registration) { r.BirthDate = time.Time{} }},
			{"birth date in the future", func(r *campaign.Registration) { r.BirthDate = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }},
			{"no consent", func(r *campaign.Registration) { r.ConsentAt = time.Time{} }},
			{"other campaign", func(r *campaign.Registration) { r.CampaignID = "hanoi-2022" }},
			{"no idempotency key", func(r *campaign.Registration) { r.IdempotencyKey = "" }},
			{"name too long", func(r *campaign.Registration) { r.StudentName = strings.Repeat("A", 101) }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := validRegistration("invalid " + tc.name)
				tc.change(&r)
				created, err := s.SubmitRegistration(t.Context(), &r)
				if code := campaign.ErrorCode(err); code != campaign.EINVALID {
					t.Errorf("SubmitRegistration: error %v (code %q), want %q", err, code, campaign.EINVALID)
				}
				if created || r.Code != "" {
					t.Errorf("created %v, code %q", created, r.Code)
				}
			})
		}
		for _, table := range []string{"registrations", "students", "audit_log"} {
			if n := countRows(t, db, table); n != 0 {
				t.Errorf("%d rows in %s, want 0", n, table)
			}
		}
		if r := submit(t, s, validRegistration("valid at last")); r.Code != "TD-000001" {
			t.Errorf("first valid code %q, want TD-000001 (refused submits must not use numbers)", r.Code)
		}
	})

	t.Run("lists are cleaned", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		s := postgres.NewRegistrationStore(db, c)
		r := validRegistration("lists")
		r.Needs = []campaign.Need{campaign.NeedLaptop, " laptop", campaign.NeedSIM4G}
		r.Circumstances = nil
		r.Language = ""
		r = submit(t, s, r)
		got, err := s.ByCode(t.Context(), r.Code)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Needs, []campaign.Need{campaign.NeedLaptop, campaign.NeedSIM4G}) {
			t.Errorf("Needs = %v", got.Needs)
		}
		if got.Circumstances != nil {
			t.Errorf("Circumstances = %#v, want nil", got.Circumstances)
		}
		if got.Language != "vi" {
			t.Errorf("Language = %q, want vi", got.Language)
		}
	})
}

func TestRegistrationStore_RegistrationsByChat(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	c := campaign.Default()
	s := postgres.NewRegistrationStore(db, c)

	var mine []campaign.Registration
	for i, name := range []string{"Nguyễn Văn An", "Nguyễn Thị Bé", "Nguyễn Văn Cường"} {
		r := validRegistration(fmt.Sprintf("chat-%d", i))
		r.StudentName = name
		mine = append(mine, submit(t, s, r))
	}
	other := validRegistration("other chat")
	other.ChatID, other.UserID, other.StudentName = "2002", "2002", "Lê Văn Dũng"
	other = submit(t, s, other)

	for _, tc := range []struct {
		name            string
		channel, chatID string
		want            []campaign.Registration
	}{
		{"newest first", "telegram", "1001", []campaign.Registration{mine[2], mine[1], mine[0]}},
		{"other chat", "telegram", "2002", []campaign.Registration{other}},
		{"same id on another channel", "zalo", "1001", nil},
		{"unknown chat", "telegram", "9999", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.RegistrationsByChat(t.Context(), tc.channel, tc.chatID)
			if err != nil {
				t.Fatalf("RegistrationsByChat: %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d registrations, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if !reflect.DeepEqual(got[i], tc.want[i]) {
					t.Errorf("registration %d =\n%+v\nwant\n%+v", i, got[i], tc.want[i])
				}
			}
		})
	}

	t.Run("another campaign's store sees none", func(t *testing.T) {
		hanoi := *c
		hanoi.ID, hanoi.RegistrationPrefix = "ha-noi-2022", "HN"
		got, err := postgres.NewRegistrationStore(db, &hanoi).RegistrationsByChat(t.Context(), "telegram", "1001")
		if err != nil || len(got) != 0 {
			t.Errorf("RegistrationsByChat = %d registrations, %v; want none", len(got), err)
		}
	})
}

func TestRegistrationStore_ByCode(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	s := postgres.NewRegistrationStore(db, campaign.Default())
	_, err := s.ByCode(t.Context(), "TD-999999")
	if code := campaign.ErrorCode(err); code != campaign.ENOTFOUND {
		t.Errorf("ByCode of a missing code: %v (code %q), want %q", err, code, campaign.ENOTFOUND)
	}
}

func BenchmarkRegistrationStore_SubmitRegistration(b *testing.B) {
	db := newDB(b)
	s := postgres.NewRegistrationStore(db, campaign.Default())
	i := 0
	for b.Loop() {
		r := validRegistration(fmt.Sprintf("bench-%d", i))
		r.StudentName = fmt.Sprintf("Nguyễn Văn %d", i)
		i++
		if _, err := s.SubmitRegistration(b.Context(), &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRegistrationStore_SubmitRegistrationParallel(b *testing.B) {
	db := newDB(b)
	s := postgres.NewRegistrationStore(db, campaign.Default())
	var n atomic.Int64
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			r := validRegistration(fmt.Sprintf("bench-%d", i))
			r.StudentName = fmt.Sprintf("Nguyễn Văn %d", i)
			if _, err := s.SubmitRegistration(b.Context(), &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
