package postgres_test

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"
	goredis "github.com/redis/go-redis/v9"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	"github.com/thuduc/maytinhchoem/storage/redis"
	"github.com/thuduc/maytinhchoem/storage/redis/redistest"
)

// The family of the erasure tests and what they typed. validRegistration's parent, phone,
// address, school and birth date (3/5/2012) are theirs.
const (
	erasedChild     = "Nguyễn Văn An"
	erasedParent    = "Trần Thị Bình"
	erasedPhone     = "+84903123456"
	erasedAddress   = "12 đường số 8, khu phố 3"
	erasedSchool    = "Trường Tiểu học Linh Trung"
	erasedRecipient = "Lê Văn Cường"
	erasedPhoto     = "AgADBAADphotoOfAn"
	// erasedAnswerPhoto is the certificate the parent sent with an answer.
	erasedAnswerPhoto = "AgACAgIAAxkBcertificate"
	erasedOther       = "Bố mất việc vì Covid, nhà ở hẻm 45"
)

// erasedTraces are the strings no table, Redis key or file may hold once the family is erased:
// the names (also without diacritics), the phone as stored and as people write it, the address,
// the school, the birth date as stored and as shown, the proof photo's id, the family's own
// words, and its chat as an actor or a key.
var erasedTraces = []string{
	erasedChild, campaign.Fold(erasedChild), erasedParent, erasedRecipient,
	erasedPhone, "0903123456", "0903 123 456", "84903123456",
	erasedAddress, erasedSchool, erasedPhoto, erasedAnswerPhoto, erasedOther, "hẻm 45",
	"2012-05-03", "03/05/2012", "telegram:1001",
}

// The second family, whose data must stay.
const (
	keptChild  = "Lê Thị Hoa"
	keptParent = "Phạm Văn Dũng"
	keptPhone  = "+84912345678"
)

// findInDatabase returns "table: text" for each of traces found in any column of any table of
// the public schema, listed from information_schema so that a table added later is searched too:
// each row as text (every column, jsonb and arrays included), and bytea columns as bytes.
func findInDatabase(t testing.TB, db *postgres.DB, traces []string) []string {
	t.Helper()
	var tables []string
	err := db.SQLX().Select(&tables, `
		SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`)
	if err != nil || len(tables) < 20 {
		t.Fatalf("tables: %v, %v", tables, err)
	}
	var found []string
	for _, table := range tables {
		var byteCols []string
		err := db.SQLX().Select(&byteCols, `
			SELECT column_name FROM information_schema.columns
			WHERE table_schema = 'public' AND table_name = $1 AND data_type = 'bytea'`, table)
		if err != nil {
			t.Fatal(err)
		}
		conds := []string{`strpos(x::text, $1) > 0`}
		for _, c := range byteCols {
			conds = append(conds, `position(convert_to($1, 'UTF8') in x.`+pq.QuoteIdentifier(c)+`) > 0`)
		}
		for _, trace := range traces {
			var n int
			err := db.SQLX().Get(&n, `SELECT count(*) FROM `+pq.QuoteIdentifier(table)+` x WHERE `+strings.Join(conds, " OR "), trace)
			if err != nil {
				t.Fatalf("search %s: %v", table, err)
			}
			if n > 0 {
				found = append(found, table+": "+trace)
			}
		}
	}
	return found
}

// findInRedis returns "key: text" for each of traces found in the name or the value of a key
// under prefix, whatever its type.
func findInRedis(t testing.TB, client *goredis.Client, prefix string, traces []string) []string {
	t.Helper()
	ctx := context.Background()
	var found []string
	iter := client.Scan(ctx, 0, prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		var values []string
		switch typ := client.Type(ctx, key).Val(); typ {
		case "string":
			values = append(values, client.Get(ctx, key).Val())
		case "hash":
			for k, v := range client.HGetAll(ctx, key).Val() {
				values = append(values, k, v)
			}
		case "list":
			values = client.LRange(ctx, key, 0, -1).Val()
		case "set":
			values = client.SMembers(ctx, key).Val()
		case "zset":
			values = client.ZRange(ctx, key, 0, -1).Val()
		case "stream":
			for _, m := range client.XRange(ctx, key, "-", "+").Val() {
				b, _ := json.Marshal(m.Values)
				values = append(values, string(b))
			}
		case "none":
			continue // expired meanwhile
		default:
			t.Fatalf("key %s has a type the search cannot read: %s", key, typ)
		}
		all := key + "\n" + strings.Join(values, "\n")
		for _, trace := range traces {
			if strings.Contains(all, trace) {
				found = append(found, key+": "+trace)
			}
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return found
}

// figures are the campaign's figures as the summary reads them, for the city and the ward.
type figures struct {
	City, Ward campaign.Progress
	Days       []campaign.DayCount
}

func readFigures(t testing.TB, db *postgres.DB, c *campaign.Campaign) figures {
	t.Helper()
	at := time.Date(2021, 9, 25, 10, 0, 0, 0, time.UTC)
	p := postgres.NewProgressStore(db, c)
	city, err := p.Progress(t.Context(), at, "")
	if err != nil {
		t.Fatal(err)
	}
	ward, err := p.Progress(t.Context(), at, wardLinhTrung)
	if err != nil {
		t.Fatal(err)
	}
	days, err := postgres.NewReminderStore(db, c).DeliveriesByDay(t.Context(), "", at)
	if err != nil {
		t.Fatal(err)
	}
	// The school is the family's data: an erased child counts under no school, so the figures by
	// school are not among those that survive. They still add up to the total, which does.
	for _, p := range []*campaign.Progress{&city, &ward} {
		total := 0
		for _, s := range p.Schools {
			total += s.Total
		}
		if total != p.Registrations.Total {
			t.Errorf("schools of %q add up to %d, the total is %d", p.WardCode, total, p.Registrations.Total)
		}
		p.Schools = nil
	}
	return figures{City: city, Ward: ward, Days: days}
}

// notice queues, with a change, a message to a chat whose text text writes, under key and a
// button naming the child, as the flows' notices do.
func notice[T any](key string, to campaign.Session, text func(T) string) campaign.Notify[T] {
	return func(v T) []campaign.OutboxMessage {
		return []campaign.OutboxMessage{{Key: key, Channel: to.Channel, ChatID: to.ChatID, Text: text(v),
			Lane: campaign.OutboxNotice, Buttons: [][]campaign.OutboxButton{{{Text: "Hồ sơ " + erasedChild, Data: "x"}}}}}
	}
}

// wholeChain takes the family of validRegistration through everything the bot keeps about a
// child: a registration (with a circumstance in their own words), a question and its answer,
// the approval, a device whose note names the child, an allocation, a failed visit and the
// hand-over with a recipient and a photo, every notice of it in the outbox (some sent), a
// broadcast, a search, a published export. A second family is registered beside it.
func wholeChain(t *testing.T, w *caseWork) (family, other campaign.Registration, d campaign.Delivery) {
	t.Helper()
	ctx := t.Context()
	family = w.register(t, erasedChild, func(r *campaign.Registration) {
		r.Circumstances = append(r.Circumstances, campaign.CircumstanceOther)
		r.CircumstanceOther = erasedOther
	})
	other = w.register(t, keptChild, func(r *campaign.Registration) {
		r.ChatID, r.UserID, r.ParentName, r.ParentPhone = "1002", "1002", keptParent, keptPhone
		r.Address, r.School = "99 Lê Văn Việt", "Trường Tiểu học Linh Đông"
		r.BirthDate = time.Date(2011, 8, 9, 0, 0, 0, 0, time.UTC)
	})
	w.decide(t, campaign.Decision{Code: other.Code, Verdict: campaign.VerdictApprove})

	asked := notice("notice:decision:"+family.Code+":k1", parentChat, func(r campaign.Registration) string {
		return "Cán bộ hỏi về hồ sơ của em " + erasedChild + " (sinh 03/05/2012): cháu học trường nào?"
	})
	_, err := w.cases.Decide(ctx, campaign.Decision{Code: family.Code, Verdict: campaign.VerdictAskInfo,
		Text: "Cháu " + erasedChild + " học trường nào?", Key: "k1"}, wardOfficial, asked)
	if err != nil {
		t.Fatal(err)
	}
	answered := func(a campaign.InfoAnswer) []campaign.OutboxMessage {
		return []campaign.OutboxMessage{{Key: "notice:answer:" + family.Code + ":k2", Channel: "telegram", ChatID: wardOfficial.ExternalID,
			Text: "Phụ huynh trả lời: " + erasedSchool + ", gọi 0903 123 456", PhotoID: erasedAnswerPhoto, PhotoChannel: "telegram",
			Lane: campaign.OutboxNotice}}
	}
	answer := campaign.Answer{Text: erasedSchool + ", gọi 0903 123 456", PhotoID: erasedAnswerPhoto, PhotoChannel: "telegram"}
	if _, _, err := w.cases.AnswerInfo(ctx, family.Code, parentChat, answer, "k2", answered); err != nil {
		t.Fatal(err)
	}
	w.decide(t, campaign.Decision{Code: family.Code, Verdict: campaign.VerdictApprove})

	device := intake(t, w.devices, campaign.Device{Type: campaign.DeviceTablet, State: campaign.DeviceReady,
		Checks: allChecksPassed(campaign.DeviceTablet), Note: "Để dành cho em " + erasedChild})
	w.receive(t, campaign.ItemSIM4G, 5, 0)
	made, stale, err := w.cases.ConfirmAllocations(ctx, []campaign.Allocation{{Code: family.Code, DeviceLabel: device.Label,
		Stock: []campaign.StockKind{campaign.StockSIM4G}}}, "k3", official,
		notice("notice:allocated:"+family.Code+":k3", parentChat, func(d campaign.Delivery) string {
			return "Em " + d.StudentName + " được nhận " + d.DeviceLabel + "; tình nguyện viên sẽ đến " + d.Address
		}))
	if err != nil || len(made) != 1 || len(stale) != 0 {
		t.Fatalf("ConfirmAllocations = %v, %v, %v", made, stale, err)
	}
	d = made[0]
	if _, err := w.cases.MarkFailed(ctx, d.Code, campaign.FailNotHome, "Gọi 0903 123 456 không nghe, hẹn chị "+erasedParent, "k4", volunteer, nil); err != nil {
		t.Fatal(err)
	}
	d, err = w.cases.MarkDelivered(ctx, d.Code, erasedRecipient, erasedPhoto, "k5", volunteer,
		notice("notice:delivered:"+d.Code+":k5", parentChat, func(d campaign.Delivery) string {
			return "Máy đã trao cho " + d.RecipientName + ". Bấm Đã nhận."
		}))
	if err != nil {
		t.Fatal(err)
	}

	// The first notices went out; the rest wait.
	outbox := postgres.NewOutbox(w.db)
	claimed, err := outbox.Claim(ctx, "", 2, time.Minute)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("Claim = %d, %v", len(claimed), err)
	}
	for _, m := range claimed {
		if err := outbox.MarkSent(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	b := campaign.Broadcast{Audience: campaign.Audience{Kind: campaign.AudienceParents},
		Texts: map[string]string{"vi": "Lịch trao máy tuần này"}, ByChannel: "telegram", ByChatID: official.ExternalID}
	if _, err := postgres.NewBroadcastStore(w.db, w.c).CreateBroadcast(ctx, &b, "b1"); err != nil {
		t.Fatal(err)
	}
	// A search by the family's phone, as /find audits it: the kind and the codes found.
	audit := postgres.NewAuditLog(w.db)
	if err := audit.Audit(ctx, campaign.AuditEntry{Actor: "telegram:8001", Action: "data.find",
		After: map[string]any{"kind": "phone", "codes": []string{family.Code}}}); err != nil {
		t.Fatal(err)
	}
	csv := family.Code + "," + erasedChild + "," + erasedPhone + "\n" + other.Code + "," + keptChild + "\n"
	if _, err := postgres.NewFileStore(w.db).Put(ctx, "du-lieu.csv", strings.NewReader(csv), time.Hour); err != nil {
		t.Fatal(err)
	}
	return family, other, d
}

// The test: after erasing a registration that went through the whole chain, no table,
// Redis key of the bot's or outbox row holds the child's or parent's name, the phone in any of
// its forms, the address, the school or the birth date, and the figures are what they were.
func TestPrivacyStore_EraseRegistration_NoTraceLeft(t *testing.T) {
	ctx := t.Context()
	w := newCaseWork(t)
	family, other, d := wholeChain(t, w)

	client, prefix := redistest.New(t)
	dialogs := redis.New(client, redis.Options{Prefix: prefix})
	form := func(name, phone, address string) []byte {
		b, _ := json.Marshal(map[string]any{"flow": "registration", "step": "review",
			"answers": map[string]string{"student_name": name, "parent_phone": phone, "address": address}})
		return b
	}
	if ok, err := dialogs.Save(ctx, "telegram", parentChat.ChatID, 0, form(erasedChild, erasedPhone, erasedAddress), "u1"); err != nil || !ok {
		t.Fatalf("save dialog: %v, %v", ok, err)
	}
	if ok, err := dialogs.Save(ctx, "telegram", otherChat.ChatID, 0, form(keptChild, keptPhone, "99 Lê Văn Việt"), "u2"); err != nil || !ok {
		t.Fatalf("save dialog: %v, %v", ok, err)
	}

	if found := findInDatabase(t, w.db, erasedTraces); len(found) < 10 {
		t.Fatalf("before erasure the family is found only in %q: the chain is not what this test means", found)
	}
	before := readFigures(t, w.db, w.c)
	auditBefore := auditLog(t, w.db)

	store := postgres.NewPrivacyStore(w.db, w.c)
	e, err := store.EraseRegistration(ctx, strings.ToLower(family.Code), "telegram:9001", campaign.ErasureFamilyRequest)
	if err != nil {
		t.Fatal(err)
	}
	if e.Already || e.Code != family.Code || e.DeliveryCode != d.Code || e.Family != parentChat || e.FamilyKept {
		t.Errorf("erasure = %+v", e)
	}
	wantKept := campaign.ErasureKept{Status: campaign.StatusDelivered, WardCode: wardLinhTrung, Level: campaign.LevelPrimary,
		Grade: 4, DeliveryStatus: campaign.DeliveryDelivered, DeviceLabel: d.DeviceLabel}
	if e.Kept != wantKept {
		t.Errorf("kept = %+v, want %+v", e.Kept, wantKept)
	}
	if c := e.Erased; c.Notes != 2 || c.StudentRows != 1 || c.Contacts != 1 || c.OutboxDeleted == 0 || c.OutboxBlanked == 0 ||
		c.CaseKeys == 0 || c.Mentions == 0 || c.FileLinks != 1 {
		t.Errorf("counts = %+v", c)
	}
	if forgot, err := dialogs.EraseDialog(ctx, e.Family.Channel, e.Family.ChatID); err != nil || !forgot {
		t.Errorf("EraseDialog = %v, %v", forgot, err)
	}

	if found := findInDatabase(t, w.db, erasedTraces); len(found) > 0 {
		t.Errorf("after erasure the family is still in %q", found)
	}
	// The emptied dialog's key, which names the chat, goes within the hour (ErasedDialogTTL).
	if found := findInRedis(t, client, prefix, slices.DeleteFunc(slices.Clone(erasedTraces), func(s string) bool {
		return s == "telegram:1001"
	})); len(found) > 0 {
		t.Errorf("after erasure the family is still in Redis: %q", found)
	}
	if ttl := client.PTTL(ctx, prefix+"dlg:telegram:1001").Val(); ttl <= 0 || ttl > redis.ErasedDialogTTL {
		t.Errorf("the emptied dialog expires in %s, want within %s", ttl, redis.ErasedDialogTTL)
	}
	var chats int
	err = w.db.SQLX().Get(&chats, `SELECT
		(SELECT count(*) FROM registrations WHERE chat_id = '1001' OR user_id = '1001')
		+ (SELECT count(*) FROM outbox WHERE chat_id = '1001') + (SELECT count(*) FROM contacts WHERE external_id = '1001')
		+ (SELECT count(*) FROM audit_log WHERE actor = 'telegram:1001')`)
	if err != nil || chats != 0 {
		t.Errorf("rows still naming the family's chat: %d, %v", chats, err)
	}
	if after := readFigures(t, w.db, w.c); !reflect.DeepEqual(after, before) {
		t.Errorf("figures changed:\n%+v\nwant\n%+v", after, before)
	}

	// The second family is untouched, in the database and in Redis.
	if found := findInDatabase(t, w.db, []string{keptChild, keptParent, keptPhone}); len(found) < 3 {
		t.Errorf("the other family is found only in %q", found)
	}
	if data, _, _, err := dialogs.Load(ctx, "telegram", otherChat.ChatID, ""); err != nil || !strings.Contains(string(data), keptChild) {
		t.Errorf("the other family's dialog = %s, %v", data, err)
	}

	// What stays: the record as the figures and the officials see it, the delivery and its device.
	reg, err := postgres.NewFindStore(w.db, w.c).RegistrationByCode(ctx, family.Code)
	if err != nil {
		t.Fatal(err)
	}
	if !reg.Erased() || reg.Status != campaign.StatusDelivered || reg.WardCode != wardLinhTrung || reg.Grade != 4 ||
		!slices.Equal(reg.Needs, family.Needs) || !slices.Equal(reg.Circumstances, []campaign.Circumstance{campaign.CircumstancePoor, campaign.CircumstanceOther}) ||
		reg.ChatID != "" || reg.CircumstanceOther != "" || !reg.BirthDate.IsZero() {
		t.Errorf("erased registration reads %+v", reg)
	}
	if ok, _ := w.regs.RegistrationsByChat(ctx, parentChat.Channel, parentChat.ChatID); len(ok) != 0 {
		t.Errorf("the family's chat still lists %d registrations", len(ok))
	}
	kept, err := w.cases.DeliveryByCode(ctx, d.Code)
	if err != nil {
		t.Fatal(err)
	}
	if kept.Status != campaign.DeliveryDelivered || kept.DeviceLabel != d.DeviceLabel || !kept.DeliveredAt.Equal(d.DeliveredAt) ||
		kept.RecipientName != "" || kept.PhotoID != "" || kept.Parent.ChatID != "" || kept.Attempts != 1 {
		t.Errorf("erased delivery reads %+v", kept)
	}
	if dev, err := w.devices.DeviceByLabel(ctx, d.DeviceLabel); err != nil || dev.State != campaign.DeviceDelivered {
		t.Errorf("device = %+v, %v", dev, err)
	}
	rows := auditRows(t, w.db, family.Code)
	last := rows[len(rows)-1]
	if last.Actor != "telegram:9001" || last.Action != campaign.ErasureActionRegistration ||
		!jsonEqual(t, last.After, `{"reason": "family_request", "status": "delivered", "ward": "26800", "delivery": "`+d.Code+`"}`) {
		t.Errorf("tombstone = %+v", last)
	}
	for _, r := range rows {
		if r.Action == "registration.create" || r.Action == "registration.answer" {
			if r.Actor != campaign.FamilyActor {
				t.Errorf("%s by %s, want the family, never its chat", r.Action, r.Actor)
			}
		}
	}
	// The audit log was left as it was: the erasure only added its tombstone.
	if after := auditLog(t, w.db); len(after) != len(auditBefore)+1 || !slices.Equal(after[:len(auditBefore)], auditBefore) {
		t.Errorf("the erasure changed the audit log:\n%q\nwant\n%q and the tombstone", after, auditBefore)
	}

	// A broadcast to parents now leaves the erased record out, and queues nothing to no chat.
	b := campaign.Broadcast{Audience: campaign.Audience{Kind: campaign.AudienceParents},
		Texts: map[string]string{"vi": "Tổng kết"}, ByChannel: "telegram", ByChatID: official.ExternalID}
	if _, err := postgres.NewBroadcastStore(w.db, w.c).CreateBroadcast(ctx, &b, "b2"); err != nil || b.Recipients != 1 {
		t.Errorf("broadcast after erasure = %d recipients, %v; want the other family only", b.Recipients, err)
	}

	// Twice is harmless: nothing changes, no second tombstone.
	snapshot := caseSnapshot(t, w.db)
	again, err := store.EraseRegistration(ctx, family.Code, "telegram:9001", campaign.ErasureFamilyRequest)
	if err != nil || !again.Already || !again.At.Equal(e.At) || again.Kept != e.Kept || again.Family != (campaign.Session{}) {
		t.Errorf("second erasure = %+v, %v", again, err)
	}
	if s := caseSnapshot(t, w.db); s != snapshot {
		t.Errorf("second erasure wrote:\n%s\nwant\n%s", s, snapshot)
	}
	_ = other
}

func TestPrivacyStore_EraseRegistration_Errors(t *testing.T) {
	w := newCaseWork(t)
	r := w.register(t, erasedChild, nil)
	store := postgres.NewPrivacyStore(w.db, w.c)
	for _, tc := range []struct {
		name, code, by string
		reason         campaign.ErasureReason
		want           string
	}{
		{"unknown code", "TD-999999", "system", campaign.ErasureFamilyRequest, campaign.ENOTFOUND},
		{"no code", " ", "system", campaign.ErasureFamilyRequest, campaign.EINVALID},
		{"nobody", r.Code, "", campaign.ErasureFamilyRequest, campaign.EINVALID},
		{"free text reason", r.Code, "system", "the mother wrote on 3/10", campaign.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := store.EraseRegistration(t.Context(), tc.code, tc.by, tc.reason)
			if campaign.ErrorCode(err) != tc.want {
				t.Errorf("err = %v, want %s", err, tc.want)
			}
		})
	}
	if got, err := w.regs.ByCode(t.Context(), r.Code); err != nil || got.Erased() || got.StudentName != erasedChild {
		t.Errorf("after refused erasures: %+v, %v", got, err)
	}
}

// A child two parents registered keeps its row for the other parent; a chat that is also a
// donor's keeps its contact, without the parent's name, and its pledge's messages.
func TestPrivacyStore_EraseRegistration_SharedRecords(t *testing.T) {
	ctx := t.Context()
	w := newCaseWork(t)
	first := w.register(t, erasedChild, nil)
	second := w.register(t, erasedChild, func(r *campaign.Registration) {
		r.ChatID, r.UserID, r.ParentName, r.ParentPhone = "1002", "1002", keptParent, keptPhone
		r.IdempotencyKey = "the other parent's form"
	})
	if first.StudentID != second.StudentID || len(second.PossibleDuplicateOf) != 1 {
		t.Fatalf("the second registration is not linked to the same child: %+v", second)
	}
	p := validPledge("pledge of the family")
	p.ChatID, p.UserID, p.DonorKind, p.DonorName, p.ContactPerson = parentChat.ChatID, parentChat.ChatID, campaign.DonorIndividual, erasedParent, ""
	p = submitPledge(t, w.pledges, p)
	_, err := postgres.NewOutbox(w.db).Enqueue(ctx, []campaign.OutboxMessage{
		{Key: "pledge-reminder:" + p.Code, Channel: "telegram", ChatID: parentChat.ChatID, Text: "Cảm ơn anh chị đã ủng hộ"},
	})
	if err != nil {
		t.Fatal(err)
	}

	e, err := postgres.NewPrivacyStore(w.db, w.c).EraseRegistration(ctx, first.Code, "system", campaign.ErasureFamilySelf)
	if err != nil {
		t.Fatal(err)
	}
	if !e.FamilyKept || e.Erased.StudentRows != 0 || e.Erased.Contacts != 1 {
		t.Errorf("erasure = %+v", e)
	}
	erased, err := w.regs.ByCode(ctx, first.Code)
	if err != nil || !erased.Erased() || erased.StudentID == first.StudentID {
		t.Errorf("erased = %+v, %v; want a blank child row of its own", erased, err)
	}
	kept, err := w.regs.ByCode(ctx, second.Code)
	if err != nil || kept.StudentName != erasedChild || kept.StudentID != second.StudentID || kept.ParentPhone != keptPhone {
		t.Errorf("the other parent's registration = %+v, %v", kept, err)
	}
	var name string
	var queued int
	err = w.db.SQLX().QueryRow(`SELECT name, (SELECT count(*) FROM outbox WHERE chat_id = $1 AND status = 'pending')
		FROM contacts WHERE channel = 'telegram' AND external_id = $1`, parentChat.ChatID).Scan(&name, &queued)
	if err != nil || name != "" || queued != 1 {
		t.Errorf("the donor's contact = %q with %d queued, %v; want it kept, without the name, with its message", name, queued, err)
	}
	if pl, err := w.pledges.PledgeByCode(ctx, p.Code); err != nil || pl.DonorName != erasedParent || pl.ChatID != parentChat.ChatID {
		t.Errorf("the pledge = %+v, %v; a family's erasure leaves its pledges alone", pl, err)
	}
}

// Once the retention is over everything of the campaign is anonymised, once; before, nothing.
func TestPrivacyStore_AnonymizeExpired(t *testing.T) {
	ctx := t.Context()
	w := newCaseWork(t)
	family, other, _ := wholeChain(t, w)
	individual := validPledge("pledge individual")
	individual.ChatID, individual.UserID, individual.DonorKind, individual.DonorName, individual.ContactPerson =
		"3002", "3002", campaign.DonorIndividual, "Đặng Thị Tuyết", ""
	individual.Delivery, individual.PickupAddress, individual.PickupDate = campaign.DeliverByPickup, "7 Võ Văn Ngân", time.Date(2021, 9, 20, 0, 0, 0, 0, time.UTC)
	individual = submitPledge(t, w.pledges, individual)
	business := submitPledge(t, w.pledges, validPledge("pledge business"))
	if err := w.devices.ReceiveStock(ctx, business.Code, campaign.ItemSIM4G, 10, 0, "", volunteer, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.NewMoneyStore(w.db).RecordMoney(ctx, business.Code, 5_000_000, "Anh Võ Minh Khang chuyển khoản", "m1", official, nil); err != nil {
		t.Fatal(err)
	}
	// A registration made after the campaign's end (a bot left running past its calendar) keeps
	// its own months.
	clock := w.db.Now
	w.db.Now = func() time.Time { return w.c.RetentionEnd().Add(-time.Hour) }
	late := w.register(t, "Hồ Thị Muộn", func(r *campaign.Registration) {
		r.ChatID, r.UserID, r.ParentName, r.ParentPhone = "1009", "1009", "Hồ Văn Muộn", "+84909000111"
		r.Address, r.School, r.BirthDate = "1 đường Muộn", "Trường Muộn", time.Date(2013, 1, 2, 0, 0, 0, 0, time.UTC)
	})
	w.db.Now = clock
	before := readFigures(t, w.db, w.c)

	store := postgres.NewPrivacyStore(w.db, w.c)
	store.Batch = 1 // every record in a transaction of its own
	end := w.c.RetentionEnd()
	if want := time.Date(2022, 3, 31, 0, 0, 0, 0, w.c.Location); !end.Equal(want) {
		t.Fatalf("RetentionEnd = %s, want %s", end, want)
	}
	w.db.Now = func() time.Time { return end.Add(-time.Second) }
	if _, err := store.AnonymizeExpired(ctx); campaign.ErrorCode(err) != campaign.ECONFLICT {
		t.Fatalf("before the end: %v, want ECONFLICT", err)
	}
	if got, _ := w.regs.ByCode(ctx, family.Code); got.Erased() {
		t.Fatal("erased before the retention's end")
	}

	w.db.Now = func() time.Time { return end.Add(time.Hour) }
	auditBefore := auditLog(t, w.db)
	res, err := store.AnonymizeExpired(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The audit log only grew, by the tombstones.
	if after := auditLog(t, w.db); len(after) != len(auditBefore)+4 || !slices.Equal(after[:len(auditBefore)], auditBefore) {
		t.Errorf("the retention pass changed the audit log:\n%q\nwant\n%q and 4 tombstones", after, auditBefore)
	} else {
		for _, row := range after[len(auditBefore):] {
			if !strings.Contains(row, " system registration.erase ") && !strings.Contains(row, " system pledge.anonymize ") {
				t.Errorf("the retention pass added %s, want tombstones only", row)
			}
		}
	}
	if res.Registrations != 2 || res.Pledges != 2 || res.Notes != 2 || res.OutboxBlanked == 0 || res.CaseKeys == 0 {
		t.Errorf("first pass = %+v", res)
	}
	if got, _ := w.regs.ByCode(ctx, late.Code); got.Erased() || got.StudentName != "Hồ Thị Muộn" {
		t.Errorf("a registration made after the end was erased with the campaign's: %+v", got)
	}
	traces := append(slices.Clone(erasedTraces), keptChild, keptParent, keptPhone, "99 Lê Văn Việt",
		"Đặng Thị Tuyết", "7 Võ Văn Ngân", "Võ Minh Khang", "+84908765432", "telegram:3001", "telegram:3002")
	if found := findInDatabase(t, w.db, traces); len(found) > 0 {
		t.Errorf("after the retention pass still in %q", found)
	}
	if after := readFigures(t, w.db, w.c); !reflect.DeepEqual(after, before) {
		t.Errorf("figures changed:\n%+v\nwant\n%+v", after, before)
	}
	if pl, err := w.pledges.PledgeByCode(ctx, business.Code); err != nil || pl.DonorName != "Công ty TNHH Ánh Dương" ||
		pl.ContactPerson != "" || pl.Phone != "" || pl.ChatID != "" || len(pl.Items) != len(business.Items) {
		t.Errorf("business pledge = %+v, %v; want its name kept, its person and phone gone", pl, err)
	}
	if pl, err := w.pledges.PledgeByCode(ctx, individual.Code); err != nil || pl.DonorName != "" || pl.PickupAddress != "" ||
		!pl.PickupDate.Equal(individual.PickupDate) || pl.Status != individual.Status {
		t.Errorf("individual pledge = %+v, %v", pl, err)
	}
	for _, code := range []string{family.Code, other.Code} {
		rows := auditRows(t, w.db, code)
		if last := rows[len(rows)-1]; last.Actor != "system" || last.Action != campaign.ErasureActionRegistration ||
			!strings.Contains(last.After, `"reason": "retention"`) {
			t.Errorf("tombstone of %s = %+v", code, last)
		}
	}

	snapshot := caseSnapshot(t, w.db)
	again, err := store.AnonymizeExpired(ctx)
	if err != nil || again != (campaign.Anonymization{}) {
		t.Errorf("second pass = %+v, %v; want nothing left to do", again, err)
	}
	if s := caseSnapshot(t, w.db); s != snapshot {
		t.Errorf("second pass wrote:\n%s\nwant\n%s", s, snapshot)
	}
}

func TestPrivacyStore_WithdrawFiles(t *testing.T) {
	ctx := t.Context()
	db := newDB(t)
	outbox := postgres.NewOutbox(db)
	_, err := outbox.Enqueue(ctx, []campaign.OutboxMessage{
		{Key: "a", Channel: "telegram", ChatID: "1", FilePath: "/r/final-report.xlsx", FileName: "x.xlsx"},
		{Key: "b", Channel: "telegram", ChatID: "1", FilePath: "/r/chart.png", FileName: "c.png"},
		{Key: "c", Channel: "telegram", ChatID: "2", FilePath: "/r/final-report.xlsx", FileName: "x.xlsx"},
	})
	if err != nil {
		t.Fatal(err)
	}
	claimed, err := outbox.Claim(ctx, "", 1, time.Minute)
	if err != nil || len(claimed) != 1 {
		t.Fatal(claimed, err)
	}
	n, err := postgres.NewPrivacyStore(db, campaign.Default()).WithdrawFiles(ctx, []string{"/r/final-report.xlsx"})
	if err != nil || n != 2 {
		t.Errorf("WithdrawFiles = %d, %v; want the two messages of the workbook, claimed or not", n, err)
	}
	if err := outbox.MarkSent(ctx, claimed[0]); err == nil {
		t.Error("a withdrawn message was still marked sent")
	}
	var statuses string
	if err := db.SQLX().Get(&statuses, `SELECT string_agg(key || '=' || status, ',' ORDER BY key) FROM outbox`); err != nil {
		t.Fatal(err)
	}
	if statuses != "a=failed,b=pending,c=failed" {
		t.Errorf("outbox = %s", statuses)
	}
}

// BenchmarkPrivacyStore_EraseRegistration erases registrations one at a time from a campaign of
// 100,000, beside a million outbox messages and a million audit entries: the free texts of
// whole tables are searched for the family each time.
func BenchmarkPrivacyStore_EraseRegistration(b *testing.B) {
	w := newCaseWork(b)
	codes, _ := seedCampaign(b, w.db, w.c, max(100_000, b.N), 1000)
	for _, q := range []string{
		`INSERT INTO outbox (key, batch, channel, chat_id, text, status, next_at, created_at, updated_at, sent_at)
			SELECT 'summary:' || i, 'summary', 'telegram', (9000 + i % 500)::text,
				'Tóm tắt ngày 20/9: 1.234 hồ sơ, 567 đã duyệt, còn 89 chờ; phường Linh Trung dẫn đầu với ' || i || ' máy',
				'sent', '2021-09-20', '2021-09-20', '2021-09-20', '2021-09-20'
			FROM generate_series(1, 1000000) i`,
		`INSERT INTO audit_log (at, actor, action, subject, after)
			SELECT '2021-09-20', 'telegram:' || (8000 + i % 50), 'registration.view', 'TD-' || lpad((i % 100000)::text, 6, '0'),
				jsonb_build_object('role', 'ward_official', 'status', 'submitted')
			FROM generate_series(1, 1000000) i`,
		`ANALYZE`,
	} {
		if _, err := w.db.MaintenanceSQLX().Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	store := postgres.NewPrivacyStore(w.db, w.c)
	b.ResetTimer()
	for i := range b.N {
		if _, err := store.EraseRegistration(b.Context(), codes[i], "system", campaign.ErasureFamilyRequest); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrivacyStore_AnonymizeExpired anonymises a campaign of 100,000 registrations beside a
// million sent messages once its retention is over. Only the first pass erases anything: run it
// with -benchtime 1x.
func BenchmarkPrivacyStore_AnonymizeExpired(b *testing.B) {
	w := newCaseWork(b)
	seedCampaign(b, w.db, w.c, 100_000, 1000)
	_, err := w.db.MaintenanceSQLX().Exec(`
		INSERT INTO outbox (key, batch, channel, chat_id, text, status, next_at, created_at, updated_at, sent_at)
		SELECT 'notice:' || i, '', 'telegram', (i % 100000)::text, 'Hồ sơ đã được duyệt ' || i,
			'sent', '2021-09-20', '2021-09-20', '2021-09-20', '2021-09-20'
		FROM generate_series(1, 1000000) i`)
	if err != nil {
		b.Fatal(err)
	}
	end := w.c.RetentionEnd()
	w.db.Now = func() time.Time { return end.Add(time.Hour) }
	store := postgres.NewPrivacyStore(w.db, w.c)
	b.ResetTimer()
	for range b.N {
		if _, err := store.AnonymizeExpired(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}
