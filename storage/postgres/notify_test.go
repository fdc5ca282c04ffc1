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

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	"github.com/thuduc/maytinhchoem/storage/postgres/seed"
)

// notifyWork is a fresh database with the stores of case work and those of notifications.
type notifyWork struct {
	*caseWork
	staff      *postgres.StaffStore
	contacts   *postgres.ContactStore
	subs       *postgres.SubscriptionStore
	broadcasts *postgres.BroadcastStore
	reminders  *postgres.ReminderStore
	outbox     *postgres.Outbox
}

func newNotifyWork(t testing.TB) *notifyWork {
	t.Helper()
	w := newCaseWork(t)
	return &notifyWork{
		caseWork: w,
		staff:    postgres.NewStaffStore(w.db), contacts: postgres.NewContactStore(w.db),
		subs: postgres.NewSubscriptionStore(w.db), broadcasts: postgres.NewBroadcastStore(w.db, w.c),
		reminders: postgres.NewReminderStore(w.db, w.c), outbox: postgres.NewOutbox(w.db),
	}
}

// join makes who an active staff member with role in ward, by invitation.
func (w *notifyWork) join(t testing.TB, externalID string, role campaign.Role, ward string) campaign.Staff {
	t.Helper()
	who := campaign.Staff{Channel: "telegram", ExternalID: externalID, Name: "Cán bộ " + externalID}
	return redeem(t, w.staff, invite(t, w.staff, role, ward), who)
}

// setLanguage stores the contact's language.
func (w *notifyWork) setLanguage(t testing.TB, externalID, lang string) {
	t.Helper()
	if err := w.contacts.UpsertContact(t.Context(), campaign.Contact{Channel: "telegram", ExternalID: externalID, Language: lang}); err != nil {
		t.Fatalf("UpsertContact(%s): %v", externalID, err)
	}
}

// stop records that the contact blocked the bot.
func (w *notifyWork) stop(t testing.TB, externalID string) {
	t.Helper()
	if err := w.contacts.SetContactStopped(t.Context(), "telegram", externalID, true); err != nil {
		t.Fatalf("SetContactStopped(%s): %v", externalID, err)
	}
}

// family registers a child named name from chat in ward, in the language lang.
func (w *notifyWork) family(t testing.TB, regs *postgres.RegistrationStore, name, chat, ward, lang string) campaign.Registration {
	t.Helper()
	r := validRegistration("key " + name)
	r.StudentName, r.ChatID, r.UserID, r.WardCode, r.Language = name, chat, chat, ward, lang
	return submit(t, regs, r)
}

// donor stores a pledge of two laptops from chat in lang.
func (w *notifyWork) donor(t testing.TB, key, chat, lang string) campaign.Pledge {
	t.Helper()
	p := validPledge(key)
	p.ChatID, p.UserID, p.Language = chat, chat, lang
	return submitPledge(t, w.pledges, p)
}

// queued is an outbox row as a broadcast queues it.
type queued struct {
	Key     string `db:"key"`
	Batch   string `db:"batch"`
	Channel string `db:"channel"`
	ChatID  string `db:"chat_id"`
	Text    string `db:"text"`
	Status  string `db:"status"`
}

// outboxOf returns the outbox rows of batch in id order.
func outboxOf(t testing.TB, db *postgres.DB, batch string) []queued {
	t.Helper()
	var rows []queued
	if err := db.SQLX().Select(&rows, `SELECT key, batch, channel, chat_id, text, status FROM outbox WHERE batch = $1 ORDER BY id`, batch); err != nil {
		t.Fatalf("outbox of %s: %v", batch, err)
	}
	return rows
}

// chatsOf returns the chats of rows, in order.
func chatsOf(rows []queued) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, r.ChatID)
	}
	return out
}

func TestSubscriptionStore_Subscribe(t *testing.T) {
	t.Parallel()
	w := newNotifyWork(t)
	ctx := t.Context()
	mai := campaign.Staff{Channel: "telegram", ExternalID: "8101", Role: campaign.RoleWardOfficial, WardCode: wardLinhTrung}

	if ok, err := w.subs.Subscribed(ctx, "telegram", "8101"); err != nil || ok {
		t.Fatalf("Subscribed before subscribing = %v, %v; want false", ok, err)
	}
	if created, err := w.subs.Subscribe(ctx, mai); err != nil || !created {
		t.Fatalf("Subscribe = %v, %v; want created", created, err)
	}
	moved := mai
	moved.WardCode = wardLinhXuan
	if created, err := w.subs.Subscribe(ctx, moved); err != nil || created {
		t.Fatalf("Subscribe again = %v, %v; want not created", created, err)
	}
	if got := countRows(t, w.db, "subscriptions"); got != 1 {
		t.Errorf("%d subscription rows, want 1", got)
	}
	var ward string
	if err := w.db.SQLX().Get(&ward, `SELECT ward_code FROM subscriptions WHERE external_id = '8101'`); err != nil || ward != wardLinhXuan {
		t.Errorf("stored ward = %q, %v; want the later %s", ward, err, wardLinhXuan)
	}
	if ok, err := w.subs.Subscribed(ctx, "telegram", "8101"); err != nil || !ok {
		t.Errorf("Subscribed = %v, %v; want true", ok, err)
	}
	if removed, err := w.subs.Unsubscribe(ctx, "telegram", "8101"); err != nil || !removed {
		t.Errorf("Unsubscribe = %v, %v; want removed", removed, err)
	}
	if removed, err := w.subs.Unsubscribe(ctx, "telegram", "8101"); err != nil || removed {
		t.Errorf("Unsubscribe again = %v, %v; want nothing removed", removed, err)
	}
	if ok, err := w.subs.Subscribed(ctx, "telegram", "8101"); err != nil || ok {
		t.Errorf("Subscribed after Unsubscribe = %v, %v; want false", ok, err)
	}

	for _, tc := range []struct {
		name string
		s    campaign.Staff
	}{
		{"ward role without ward", campaign.Staff{Channel: "telegram", ExternalID: "1", Role: campaign.RoleWardOfficial}},
		{"city role with ward", campaign.Staff{Channel: "telegram", ExternalID: "1", Role: campaign.RoleCityOfficial, WardCode: wardLinhXuan}},
		{"no role", campaign.Staff{Channel: "telegram", ExternalID: "1"}},
		{"no account", campaign.Staff{Channel: "telegram", Role: campaign.RoleVolunteer}},
	} {
		_, err := w.subs.Subscribe(ctx, tc.s)
		wantCode(t, tc.name, err, campaign.EINVALID)
	}
	if got := countRows(t, w.db, "subscriptions"); got != 0 {
		t.Errorf("%d subscription rows after refused subscriptions, want 0", got)
	}
}

func TestSubscriptionStore_Subscribers(t *testing.T) {
	t.Parallel()
	w := newNotifyWork(t)
	ctx := t.Context()

	city := w.join(t, "8001", campaign.RoleCityOfficial, "")
	ward := w.join(t, "8101", campaign.RoleWardOfficial, wardLinhTrung)
	revoked := w.join(t, "8102", campaign.RoleVolunteer, "")
	stopped := w.join(t, "8103", campaign.RoleCultureInfo, "")
	admin := campaign.Staff{Channel: "telegram", ExternalID: "9001", Role: campaign.RoleAdmin, WardCode: "ignored"}
	w.setLanguage(t, "8001", "en")
	for _, s := range []campaign.Staff{ward, city, revoked, stopped, admin} {
		if _, err := w.subs.Subscribe(ctx, s); err != nil {
			t.Fatalf("Subscribe(%s): %v", s.ExternalID, err)
		}
	}
	subscribedAt := map[string]time.Time{}
	rows, err := w.db.SQLX().Query(`SELECT external_id, created_at FROM subscriptions`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var at time.Time
		if err := rows.Scan(&id, &at); err != nil {
			t.Fatal(err)
		}
		subscribedAt[id] = at.UTC()
	}
	rows.Close()

	if err := w.staff.RevokeStaff(ctx, "telegram", "8102", "telegram:9001"); err != nil {
		t.Fatalf("RevokeStaff: %v", err)
	}
	w.stop(t, "8103")
	// The ward official is moved to another ward after subscribing: the current ward counts.
	w.join(t, "8101", campaign.RoleWomensUnion, wardLinhXuan)

	got, err := w.subs.Subscribers(ctx)
	if err != nil {
		t.Fatalf("Subscribers: %v", err)
	}
	want := []campaign.Subscriber{
		{Staff: campaign.Staff{Channel: "telegram", ExternalID: "8001", Name: city.Name, Role: campaign.RoleCityOfficial},
			Language: "en", Since: subscribedAt["8001"]},
		{Staff: campaign.Staff{Channel: "telegram", ExternalID: "8101", Name: ward.Name, Role: campaign.RoleWomensUnion, WardCode: wardLinhXuan},
			Language: "", Since: subscribedAt["8101"]},
		{Staff: campaign.Staff{Channel: "telegram", ExternalID: "9001", Role: campaign.RoleAdmin},
			Language: "", Since: subscribedAt["9001"]},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Subscribers =\n%+v\nwant\n%+v", got, want)
	}
	if got[1].Scope() != wardLinhXuan || got[0].Scope() != "" {
		t.Errorf("scopes %q, %q; want city and %s", got[0].Scope(), got[1].Scope(), wardLinhXuan)
	}

	// A revoked member who is given a role again is a subscriber again; the stopped one who
	// writes again is too.
	w.join(t, "8102", campaign.RoleVolunteer, "")
	if err := w.contacts.SetContactStopped(ctx, "telegram", "8103", false); err != nil {
		t.Fatal(err)
	}
	got, err = w.subs.Subscribers(ctx)
	if err != nil {
		t.Fatalf("Subscribers: %v", err)
	}
	var ids []string
	for _, s := range got {
		ids = append(ids, s.ExternalID)
	}
	if want := []string{"8001", "8101", "8102", "8103", "9001"}; !slices.Equal(ids, want) {
		t.Errorf("Subscribers after re-joining = %v, want %v", ids, want)
	}
}

// audienceWork is a database with families, donors and staff of every audience:
//
//	parents: 1001 (two children, Linh Trung), 1002 (Linh Xuân, English, no contact language),
//	         8101 (the Linh Trung official, also a parent there); 1003 (Linh Trung) blocked the
//	         bot; 1009 registered in another campaign
//	donors:  3001 (two pledges), 3002 (English); 3003 blocked the bot
//	staff:   7001 (volunteer), 8101 (Linh Trung), 8103 (Linh Xuân); 8104 revoked
func audienceWork(t testing.TB) *notifyWork {
	t.Helper()
	w := newNotifyWork(t)
	w.family(t, w.regs, "An", "1001", wardLinhTrung, "vi")
	w.family(t, w.regs, "Bình", "1001", wardLinhTrung, "vi")
	w.family(t, w.regs, "Cúc", "1002", wardLinhXuan, "en")
	w.family(t, w.regs, "Dũng", "1003", wardLinhTrung, "vi")
	w.family(t, w.regs, "Hà", "8101", wardLinhTrung, "vi")
	other := *w.c
	other.ID = "other-2021"
	w.family(t, postgres.NewRegistrationStore(w.db, &other), "Khoa", "1009", wardLinhTrung, "vi")

	w.donor(t, "p1", "3001", "vi")
	w.donor(t, "p2", "3001", "vi")
	w.donor(t, "p3", "3002", "en")
	w.donor(t, "p4", "3003", "vi")

	w.join(t, "7001", campaign.RoleVolunteer, "")
	w.join(t, "8101", campaign.RoleWardOfficial, wardLinhTrung)
	w.join(t, "8103", campaign.RoleWomensUnion, wardLinhXuan)
	w.join(t, "8104", campaign.RoleVolunteer, "")
	if err := w.staff.RevokeStaff(t.Context(), "telegram", "8104", "telegram:9001"); err != nil {
		t.Fatal(err)
	}
	w.stop(t, "1003")
	w.stop(t, "3003")
	// Without a contact language, the chat's registration says which.
	if _, err := w.db.SQLX().Exec(`UPDATE contacts SET language = '' WHERE external_id = '1002'`); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestBroadcastStore_Audiences(t *testing.T) {
	t.Parallel()
	w := audienceWork(t)
	ctx := t.Context()
	texts := map[string]string{"vi": "Thông báo: lịch trao máy\nngày 20/9", "en": "Notice: hand-over\non 20/9"}

	for _, tc := range []struct {
		audience campaign.Audience
		texts    map[string]string
		chats    []string
		english  []string // chats that get the English text
	}{
		{campaign.Audience{Kind: campaign.AudienceParents}, texts, []string{"1001", "1002", "8101"}, []string{"1002"}},
		// Without an English text, everyone gets the Vietnamese one.
		{campaign.Audience{Kind: campaign.AudienceDonors}, map[string]string{"vi": "Cảm ơn"}, []string{"3001", "3002"}, nil},
		{campaign.Audience{Kind: campaign.AudienceStaff}, texts, []string{"7001", "8101", "8103"}, nil},
		{campaign.Audience{Kind: campaign.AudienceWard, WardCode: wardLinhTrung}, texts, []string{"1001", "8101"}, nil},
		{campaign.Audience{Kind: campaign.AudienceWard, WardCode: wardLinhXuan}, texts, []string{"1002", "8103"}, []string{"1002"}},
	} {
		name := string(tc.audience.Kind) + tc.audience.WardCode
		t.Run(name, func(t *testing.T) {
			n, err := w.broadcasts.CountAudience(ctx, tc.audience)
			if err != nil || n != len(tc.chats) {
				t.Errorf("CountAudience = %d, %v; want %d", n, err, len(tc.chats))
			}
			b := campaign.Broadcast{Audience: tc.audience, Texts: tc.texts, ByChannel: "telegram", ByChatID: "8001"}
			created, err := w.broadcasts.CreateBroadcast(ctx, &b, "broadcast "+name)
			if err != nil || !created {
				t.Fatalf("CreateBroadcast = %v, %v; want created", created, err)
			}
			if b.ID == 0 || b.Recipients != len(tc.chats) || b.CreatedAt.IsZero() || len(b.Code) != len("BC-000001") || b.Code[:3] != "BC-" {
				t.Errorf("broadcast = %+v; want ID, code BC-nnnnnn, %d recipients, time", b, len(tc.chats))
			}
			rows := outboxOf(t, w.db, b.Batch())
			if got := chatsOf(rows); !slices.Equal(got, tc.chats) {
				t.Errorf("queued for %v, want %v", got, tc.chats)
			}
			for _, r := range rows {
				lang := "vi"
				if slices.Contains(tc.english, r.ChatID) {
					lang = "en"
				}
				if want := tc.texts[lang]; r.Text != want {
					t.Errorf("chat %s got %q, want the %s text %q", r.ChatID, r.Text, lang, want)
				}
				if want := "broadcast:" + b.Code + ":telegram:" + r.ChatID; r.Key != want || r.Channel != "telegram" || r.Status != "pending" {
					t.Errorf("row %+v: want key %s, pending", r, want)
				}
			}

			entries, err := postgres.NewAuditLog(w.db).Entries(ctx, b.Code)
			if err != nil || len(entries) != 1 {
				t.Fatalf("audit of %s = %v, %v; want one entry", b.Code, entries, err)
			}
			e := entries[0]
			var after struct {
				Audience   string `json:"audience"`
				Ward       string `json:"ward"`
				Recipients int    `json:"recipients"`
			}
			if err := json.Unmarshal(e.After.(json.RawMessage), &after); err != nil {
				t.Fatal(err)
			}
			if e.Action != "broadcast.create" || e.Actor != "telegram:8001" || after.Audience != string(tc.audience.Kind) ||
				after.Ward != tc.audience.WardCode || after.Recipients != len(tc.chats) {
				t.Errorf("audit = %+v after %+v", e, after)
			}
		})
	}

	// Codes follow each other in creation order.
	var codes []string
	if err := w.db.SQLX().Select(&codes, `SELECT code FROM broadcasts ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if want := []string{"BC-000001", "BC-000002", "BC-000003", "BC-000004", "BC-000005"}; !slices.Equal(codes, want) {
		t.Errorf("codes %v, want %v", codes, want)
	}
}

func TestBroadcastStore_Invalid(t *testing.T) {
	t.Parallel()
	w := audienceWork(t)
	ctx := t.Context()
	vi := map[string]string{"vi": "Thông báo"}
	for _, tc := range []struct {
		name string
		b    campaign.Broadcast
	}{
		{"unknown kind", campaign.Broadcast{Audience: campaign.Audience{Kind: "everyone"}, Texts: vi}},
		{"ward without ward", campaign.Broadcast{Audience: campaign.Audience{Kind: campaign.AudienceWard}, Texts: vi}},
		{"unknown ward", campaign.Broadcast{Audience: campaign.Audience{Kind: campaign.AudienceWard, WardCode: "99999"}, Texts: vi}},
		{"parents with a ward", campaign.Broadcast{Audience: campaign.Audience{Kind: campaign.AudienceParents, WardCode: wardLinhTrung}, Texts: vi}},
		{"no Vietnamese", campaign.Broadcast{Audience: campaign.Audience{Kind: campaign.AudienceParents}, Texts: map[string]string{"en": "Notice"}}},
		{"blank Vietnamese", campaign.Broadcast{Audience: campaign.Audience{Kind: campaign.AudienceParents}, Texts: map[string]string{"vi": " \n "}}},
		{"too long", campaign.Broadcast{Audience: campaign.Audience{Kind: campaign.AudienceParents}, Texts: map[string]string{"vi": string(make([]rune, 4097))}}},
	} {
		b := tc.b
		b.ByChannel, b.ByChatID = "telegram", "8001"
		_, err := w.broadcasts.CreateBroadcast(ctx, &b, "key "+tc.name)
		wantCode(t, "CreateBroadcast: "+tc.name, err, campaign.EINVALID)
		if tc.name != "no Vietnamese" && tc.name != "blank Vietnamese" && tc.name != "too long" {
			_, err := w.broadcasts.CountAudience(ctx, tc.b.Audience)
			wantCode(t, "CountAudience: "+tc.name, err, campaign.EINVALID)
		}
	}
	noSender := campaign.Broadcast{Audience: campaign.Audience{Kind: campaign.AudienceStaff}, Texts: vi}
	_, err := w.broadcasts.CreateBroadcast(ctx, &noSender, "key no sender")
	wantCode(t, "CreateBroadcast without a sender", err, campaign.EINVALID)
	noKey := campaign.Broadcast{Audience: campaign.Audience{Kind: campaign.AudienceStaff}, Texts: vi, ByChannel: "telegram", ByChatID: "8001"}
	_, err = w.broadcasts.CreateBroadcast(ctx, &noKey, " ")
	wantCode(t, "CreateBroadcast without a key", err, campaign.EINVALID)
	if n := countRows(t, w.db, "broadcasts") + countRows(t, w.db, "outbox"); n != 0 {
		t.Errorf("%d broadcasts and messages stored by refused broadcasts, want 0", n)
	}
}

func TestBroadcastStore_Idempotent(t *testing.T) {
	t.Parallel()
	w := audienceWork(t)
	ctx := t.Context()
	first := campaign.Broadcast{Audience: campaign.Audience{Kind: campaign.AudienceParents},
		Texts: map[string]string{"vi": "Thông báo"}, ByChannel: "telegram", ByChatID: "8001"}
	if created, err := w.broadcasts.CreateBroadcast(ctx, &first, "same key"); err != nil || !created {
		t.Fatalf("CreateBroadcast = %v, %v", created, err)
	}
	// A parent registers meanwhile; the repeated broadcast must not queue anything for them.
	w.family(t, w.regs, "Lan", "1004", wardLinhTrung, "vi")
	again := campaign.Broadcast{Audience: campaign.Audience{Kind: campaign.AudienceStaff},
		Texts: map[string]string{"vi": "Khác"}, ByChannel: "telegram", ByChatID: "8002"}
	created, err := w.broadcasts.CreateBroadcast(ctx, &again, "same key")
	if err != nil || created {
		t.Fatalf("CreateBroadcast again = %v, %v; want not created", created, err)
	}
	if !reflect.DeepEqual(again, first) {
		t.Errorf("repeated CreateBroadcast returned %+v, want the first %+v", again, first)
	}
	if n := countRows(t, w.db, "outbox"); n != 3 {
		t.Errorf("%d messages queued, want 3 (once)", n)
	}
	if n := countRows(t, w.db, "broadcasts"); n != 1 {
		t.Errorf("%d broadcasts, want 1", n)
	}
	if acts := auditActions(t, w.db, first.Code); !slices.Equal(acts, []string{"broadcast.create"}) {
		t.Errorf("audit %v, want one broadcast.create", acts)
	}
}

func TestBroadcastStore_ConcurrentCreate(t *testing.T) {
	t.Parallel()
	w := audienceWork(t)
	ctx := t.Context()
	const callers = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		made    int
		codes   = map[string]bool{}
		errs    []error
		release = make(chan struct{})
	)
	for range callers {
		wg.Go(func() {
			<-release
			b := campaign.Broadcast{Audience: campaign.Audience{Kind: campaign.AudienceStaff},
				Texts: map[string]string{"vi": "Họp lúc 14 giờ"}, ByChannel: "telegram", ByChatID: "8001"}
			created, err := w.broadcasts.CreateBroadcast(ctx, &b, "one key")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			if created {
				made++
			}
			codes[b.Code] = true
		})
	}
	close(release)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("CreateBroadcast errors: %v", errs)
	}
	if made != 1 || len(codes) != 1 {
		t.Errorf("%d created, codes %v; want one broadcast for all callers", made, codes)
	}
	if n := countRows(t, w.db, "broadcasts"); n != 1 {
		t.Errorf("%d broadcasts, want 1", n)
	}
	if n := countRows(t, w.db, "outbox"); n != 3 {
		t.Errorf("%d messages, want 3", n)
	}
}

func TestBroadcastStore_BroadcastProgress(t *testing.T) {
	t.Parallel()
	w := audienceWork(t)
	ctx := t.Context()
	b := campaign.Broadcast{Audience: campaign.Audience{Kind: campaign.AudienceParents},
		Texts: map[string]string{"vi": "Thông báo", "en": "Notice"}, ByChannel: "telegram", ByChatID: "8001"}
	if _, err := w.broadcasts.CreateBroadcast(ctx, &b, "progress"); err != nil {
		t.Fatal(err)
	}
	// Another batch's message does not count.
	if _, err := w.outbox.Enqueue(ctx, []campaign.OutboxMessage{{Key: "other", Batch: "other", Channel: "telegram", ChatID: "1", Text: "x"}}); err != nil {
		t.Fatal(err)
	}

	p, err := w.broadcasts.BroadcastProgress(ctx, b.Code)
	if err != nil {
		t.Fatalf("BroadcastProgress: %v", err)
	}
	if !reflect.DeepEqual(p.Broadcast, b) || p.Queued != 3 || p.Sent+p.Failed+p.Stopped != 0 || p.Done() {
		t.Errorf("progress before sending = %+v, want the broadcast %+v with 3 queued", p, b)
	}

	msgs, err := w.outbox.Claim(ctx, "", 10, time.Minute)
	if err != nil || len(msgs) != 4 {
		t.Fatalf("Claim = %d messages, %v; want 4", len(msgs), err)
	}
	var mine []campaign.OutboxMessage
	for _, m := range msgs {
		if m.Batch == b.Batch() {
			mine = append(mine, m)
		}
	}
	if err := w.outbox.MarkSent(ctx, mine[0]); err != nil {
		t.Fatal(err)
	}
	if err := w.outbox.MarkSent(ctx, mine[1]); err != nil {
		t.Fatal(err)
	}
	p, err = w.broadcasts.BroadcastProgress(ctx, b.Code)
	if err != nil || p.Queued != 1 || p.Sent != 2 || p.Done() {
		t.Errorf("progress while sending = %+v, %v; want 1 queued (being sent), 2 sent", p, err)
	}
	if err := w.outbox.MarkStopped(ctx, mine[2]); err != nil {
		t.Fatal(err)
	}
	p, err = w.broadcasts.BroadcastProgress(ctx, "  "+strings.ToLower(b.Code))
	if err != nil || p.Queued != 0 || p.Sent != 2 || p.Stopped != 1 || p.Failed != 0 || !p.Done() {
		t.Errorf("progress at the end (code in lower case) = %+v, %v; want done, 2 sent, 1 stopped", p, err)
	}

	_, err = w.broadcasts.BroadcastProgress(ctx, "BC-999999")
	wantCode(t, "BroadcastProgress of an unknown code", err, campaign.ENOTFOUND)
}

func TestReminderStore_PledgesAwaiting(t *testing.T) {
	t.Parallel()
	w := newNotifyWork(t)
	ctx := t.Context()
	pledge := func(key, chat, lang string, items ...campaign.PledgeItem) campaign.Pledge {
		t.Helper()
		p := validPledge(key)
		p.ChatID, p.UserID, p.Language, p.Items = chat, chat, lang, items
		return submitPledge(t, w.pledges, p)
	}
	laptops := func(n int) campaign.PledgeItem { return campaign.PledgeItem{Kind: campaign.ItemLaptop, Quantity: n} }
	sims := campaign.PledgeItem{Kind: campaign.ItemSIM4G, Quantity: 5}

	waiting := pledge("waiting", "3001", "vi", laptops(2), sims, campaign.PledgeItem{Kind: campaign.ItemTablet, Quantity: 1})
	received := pledge("received", "3002", "vi", laptops(2))
	w.readyDevice(t, campaign.DeviceLaptop, received.Code) // one of two: the donor has started
	cancelled := pledge("cancelled", "3003", "vi", laptops(1))
	if _, err := w.db.SQLX().Exec(`UPDATE pledges SET status = 'cancelled' WHERE code = $1`, cancelled.Code); err != nil {
		t.Fatal(err)
	}
	pledge("no devices", "3004", "vi", sims, campaign.PledgeItem{Kind: campaign.ItemMoney, Amount: 1_000_000})
	english := pledge("english", "3005", "vi", campaign.PledgeItem{Kind: campaign.ItemDesktop, Quantity: 3},
		campaign.PledgeItem{Kind: campaign.ItemSmartphone, Quantity: 1})
	w.setLanguage(t, "3005", "en")
	pledge("blocked", "3006", "vi", laptops(1))
	w.stop(t, "3006")
	// Stock received is not a device received.
	stockOnly := pledge("stock only", "3007", "en", laptops(1), sims)
	if err := w.devices.ReceiveStock(ctx, stockOnly.Code, campaign.ItemSIM4G, 5, 0, "", volunteer, nil); err != nil {
		t.Fatalf("ReceiveStock: %v", err)
	}

	w.clock.advance(8 * 24 * time.Hour)
	pledge("recent", "3008", "vi", laptops(1))
	before := w.clock.Now().Add(-7 * 24 * time.Hour)

	got, err := w.reminders.PledgesAwaiting(ctx, before)
	if err != nil {
		t.Fatalf("PledgesAwaiting: %v", err)
	}
	want := []campaign.PledgeAwaiting{
		{Code: waiting.Code, Channel: "telegram", ChatID: "3001", Language: "vi", Devices: 3, CreatedAt: waiting.CreatedAt},
		{Code: english.Code, Channel: "telegram", ChatID: "3005", Language: "en", Devices: 4, CreatedAt: english.CreatedAt},
		{Code: stockOnly.Code, Channel: "telegram", ChatID: "3007", Language: "en", Devices: 1, CreatedAt: stockOnly.CreatedAt},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PledgesAwaiting =\n%+v\nwant\n%+v", got, want)
	}

	// Later on, the recent pledge is due as well.
	got, err = w.reminders.PledgesAwaiting(ctx, w.clock.Now())
	if err != nil || len(got) != 4 || got[3].ChatID != "3008" {
		t.Errorf("PledgesAwaiting(now) = %+v, %v; want the recent pledge last", got, err)
	}
}

func TestReminderStore_PendingVerifications(t *testing.T) {
	t.Parallel()
	w := newNotifyWork(t)
	ctx := t.Context()
	if got, err := w.reminders.PendingVerifications(ctx); err != nil || len(got) != 0 {
		t.Fatalf("PendingVerifications of an empty campaign = %v, %v; want none", got, err)
	}
	w.register(t, "An", nil)
	w.register(t, "Bình", nil)
	w.verified(t, "Cúc", nil)
	asked := w.register(t, "Dũng", nil)
	w.decide(t, campaign.Decision{Code: asked.Code, Verdict: campaign.VerdictAskInfo, Text: "Cháu học lớp mấy?"})
	rejected := w.register(t, "Giang", nil)
	w.decide(t, campaign.Decision{Code: rejected.Code, Verdict: campaign.VerdictReject, Reason: campaign.RejectHasDevice})
	w.register(t, "Hà", func(r *campaign.Registration) { r.WardCode = wardLinhXuan })
	other := *w.c
	other.ID = "other-2021"
	w.family(t, postgres.NewRegistrationStore(w.db, &other), "Khoa", "1009", wardLinhXuan, "vi")

	got, err := w.reminders.PendingVerifications(ctx)
	if err != nil {
		t.Fatalf("PendingVerifications: %v", err)
	}
	if want := map[string]int{wardLinhTrung: 2, wardLinhXuan: 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("PendingVerifications = %v, want %v", got, want)
	}
}

func TestReminderStore_ActiveStaff(t *testing.T) {
	t.Parallel()
	w := newNotifyWork(t)
	ctx := t.Context()
	w.join(t, "8101", campaign.RoleWardOfficial, wardLinhTrung)
	w.join(t, "7001", campaign.RoleVolunteer, "")
	w.join(t, "8102", campaign.RoleVolunteer, "")
	w.join(t, "8103", campaign.RoleCityOfficial, "")
	w.setLanguage(t, "7001", "en")
	if err := w.staff.RevokeStaff(ctx, "telegram", "8102", "telegram:9001"); err != nil {
		t.Fatal(err)
	}
	w.stop(t, "8103")

	got, err := w.reminders.ActiveStaff(ctx)
	if err != nil {
		t.Fatalf("ActiveStaff: %v", err)
	}
	want := []campaign.Subscriber{
		{Staff: campaign.Staff{Channel: "telegram", ExternalID: "7001", Name: "Cán bộ 7001", Role: campaign.RoleVolunteer}, Language: "en"},
		{Staff: campaign.Staff{Channel: "telegram", ExternalID: "8101", Name: "Cán bộ 8101", Role: campaign.RoleWardOfficial, WardCode: wardLinhTrung}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ActiveStaff =\n%+v\nwant\n%+v", got, want)
	}
}

func TestReminderStore_DeliveriesByDay(t *testing.T) {
	t.Parallel()
	w := newNotifyWork(t)
	ctx := t.Context()
	loc := w.c.Location
	w.receive(t, campaign.ItemSIM4G, 10, 0)
	var ds []campaign.Delivery
	for i, ward := range []string{wardLinhTrung, wardLinhTrung, wardLinhXuan, wardLinhTrung, wardLinhXuan} {
		r := w.verified(t, fmt.Sprintf("Child %d", i), func(r *campaign.Registration) { r.WardCode = ward })
		ds = append(ds, w.allocate(t, campaign.Allocation{Code: r.Code, Stock: []campaign.StockKind{campaign.StockSIM4G}}, ""))
	}
	// deliverAt hands ds[i] over a moment after the UTC time at.
	deliverAt := func(i int, at time.Time) {
		t.Helper()
		w.clock.advance(at.Sub(w.clock.Now()))
		w.deliver(t, ds[i].Code, "")
	}
	day := func(d int) time.Time { return time.Date(2021, 9, d, 0, 0, 0, 0, loc) }
	// 23:30 on 20/9 in Hồ Chí Minh City is still 20/9; 00:30 the next morning is 21/9, although
	// both are 20/9 in UTC.
	deliverAt(0, time.Date(2021, 9, 20, 16, 30, 0, 0, time.UTC))
	deliverAt(1, time.Date(2021, 9, 20, 17, 30, 0, 0, time.UTC))
	deliverAt(2, time.Date(2021, 9, 21, 3, 0, 0, 0, time.UTC))
	deliverAt(3, time.Date(2021, 9, 23, 3, 0, 0, 0, time.UTC))
	// ds[4] stays pending.

	check := func(ward string, until time.Time, want []campaign.DayCount) {
		t.Helper()
		got, err := w.reminders.DeliveriesByDay(ctx, ward, until)
		if err != nil {
			t.Fatalf("DeliveriesByDay(%q, %s): %v", ward, until, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("DeliveriesByDay(%q, %s) =\n%v\nwant\n%v", ward, until, got, want)
		}
		for _, d := range got {
			if d.Date.Location() != loc {
				t.Errorf("date %s is not in the campaign's zone", d.Date)
			}
		}
	}
	until := time.Date(2021, 9, 25, 5, 0, 0, 0, time.UTC)
	check("", until, []campaign.DayCount{{Date: day(20), Count: 1}, {Date: day(21), Count: 2}, {Date: day(23), Count: 1}})
	check(wardLinhTrung, until, []campaign.DayCount{{Date: day(20), Count: 1}, {Date: day(21), Count: 1}, {Date: day(23), Count: 1}})
	check(wardLinhXuan, until, []campaign.DayCount{{Date: day(21), Count: 1}})
	// until's whole local day counts: 22/9 18:00 UTC is 23/9 01:00 there.
	check("", time.Date(2021, 9, 22, 18, 0, 0, 0, time.UTC), []campaign.DayCount{{Date: day(20), Count: 1}, {Date: day(21), Count: 2}, {Date: day(23), Count: 1}})
	check("", time.Date(2021, 9, 22, 16, 0, 0, 0, time.UTC), []campaign.DayCount{{Date: day(20), Count: 1}, {Date: day(21), Count: 2}})
	check("", time.Date(2021, 9, 19, 5, 0, 0, 0, time.UTC), []campaign.DayCount{})

	_, err := w.reminders.DeliveriesByDay(ctx, "99999", until)
	wantCode(t, "DeliveriesByDay of an unknown ward", err, campaign.ENOTFOUND)

	p, err := postgres.NewProgressStore(w.db, w.c).Progress(ctx, until, "")
	if err != nil {
		t.Fatal(err)
	}
	if p.Delivered != 4 {
		t.Errorf("Progress.Delivered = %d, want the 4 days' total", p.Delivered)
	}
}

// TestReminderStore_DeliveriesByDaySeeded checks on a seeded campaign that the chart's days add
// up to the delivered figure of the progress summary, for the city and for every ward.
func TestReminderStore_DeliveriesByDaySeeded(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	c := campaign.Default()
	now := time.Date(2021, 9, 25, 12, 0, 0, 0, c.Location)
	if _, err := seed.Fill(t.Context(), db, c, seed.Options{Students: 3000, Seed: 11, Now: now}); err != nil {
		t.Fatalf("Seed: %v", err)
	}
	ctx := t.Context()
	reminders := postgres.NewReminderStore(db, c)
	progress := postgres.NewProgressStore(db, c)

	sum := func(days []campaign.DayCount) int {
		n := 0
		for _, d := range days {
			n += d.Count
		}
		return n
	}
	city, err := reminders.DeliveriesByDay(ctx, "", now)
	if err != nil {
		t.Fatalf("DeliveriesByDay: %v", err)
	}
	if len(city) < 2 {
		t.Fatalf("DeliveriesByDay = %v; the seed should deliver over several days", city)
	}
	for i, d := range city {
		if d.Count <= 0 || !d.Date.Equal(c.LocalDate(d.Date)) || (i > 0 && !d.Date.After(city[i-1].Date)) || d.Date.After(now) {
			t.Errorf("day %d = %+v: want ascending local midnights up to %s with a count", i, d, now)
		}
	}
	p, err := progress.Progress(ctx, now, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := sum(city); got != p.Delivered || got == 0 {
		t.Errorf("city: days add up to %d, Progress.Delivered = %d", got, p.Delivered)
	}
	wards := 0
	for _, ward := range c.Wards {
		days, err := reminders.DeliveriesByDay(ctx, ward.Code, now)
		if err != nil {
			t.Fatal(err)
		}
		wp, err := progress.Progress(ctx, now, ward.Code)
		if err != nil {
			t.Fatal(err)
		}
		if sum(days) != wp.Delivered {
			t.Errorf("ward %s: days add up to %d, Progress.Delivered = %d", ward.Code, sum(days), wp.Delivered)
		}
		wards += sum(days)
	}
	if wards != p.Delivered {
		t.Errorf("wards add up to %d, the city delivered %d", wards, p.Delivered)
	}

	// An earlier until keeps the days up to it.
	until := city[len(city)/2].Date.Add(13 * time.Hour)
	early, err := reminders.DeliveriesByDay(ctx, "", until)
	if err != nil {
		t.Fatal(err)
	}
	if want := city[:len(city)/2+1]; !reflect.DeepEqual(early, want) {
		t.Errorf("DeliveriesByDay until %s = %v, want %v", until, early, want)
	}
}
