package postgres_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// familyWork is caseWork with the family's store and the staff who are told of a request.
type familyWork struct {
	*notifyWork
	family *postgres.FamilyStore
}

func newFamilyWork(t testing.TB) *familyWork {
	t.Helper()
	w := newNotifyWork(t)
	return &familyWork{notifyWork: w, family: postgres.NewFamilyStore(w.db, w.c)}
}

// outboxRows returns "chat: text" of the outbox's messages whose key starts with prefix.
func outboxRows(t testing.TB, db *postgres.DB, prefix string) []string {
	t.Helper()
	var rows []string
	err := db.SQLX().Select(&rows, `SELECT chat_id || ': ' || text FROM outbox WHERE key LIKE $1 || '%' ORDER BY chat_id, id`, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestFamilyStore_Correct(t *testing.T) {
	t.Parallel()
	w := newFamilyWork(t)
	ctx := t.Context()
	w.join(t, "8101", campaign.RoleWardOfficial, wardLinhTrung)
	w.join(t, "8102", campaign.RoleWomensUnion, wardLinhTrung)
	w.join(t, "8103", campaign.RoleWardOfficial, wardLinhXuan) // another ward's
	w.join(t, "8104", campaign.RoleEducationOffice, "")
	w.join(t, "8105", campaign.RoleWomensUnion, wardLinhTrung)
	w.stop(t, "8105") // blocked the bot: not told
	w.setLanguage(t, "8102", "en")

	pending := w.register(t, "Nguyễn Văn An", nil)
	// Before verification the registration itself changes; the audit names the field only.
	got, err := w.family.Correct(ctx, strings.ToLower(pending.Code), parentChat,
		campaign.Correction{Field: campaign.CorrectAddress, Value: " 45  Lê Lợi, khu phố 2 "}, "c1", nil)
	if err != nil || !got.Applied || got.Registration.Address != "45 Lê Lợi, khu phố 2" || len(got.Officials) != 0 {
		t.Fatalf("Correct address = %+v, %v", got, err)
	}
	got, err = w.family.Correct(ctx, pending.Code, parentChat, campaign.Correction{Field: campaign.CorrectPhone, Value: "+84987000111"}, "c2", nil)
	if err != nil || got.Registration.ParentPhone != "+84987000111" {
		t.Fatalf("Correct phone = %+v, %v", got, err)
	}
	stored, err := w.regs.ByCode(ctx, pending.Code)
	if err != nil || stored.Address != "45 Lê Lợi, khu phố 2" || stored.ParentPhone != "+84987000111" || stored.School != pending.School {
		t.Errorf("stored = %+v, %v", stored, err)
	}
	rows := auditRows(t, w.db, pending.Code)
	if last := rows[len(rows)-1]; last.Actor != campaign.FamilyActor || last.Action != "registration.correct" ||
		!jsonEqual(t, last.After, `{"field": "phone"}`) || strings.Contains(last.Before+last.After, "0987") {
		t.Errorf("audit = %+v", last)
	}
	// The same key again writes nothing and says what it did.
	before := caseSnapshot(t, w.db)
	again, err := w.family.Correct(ctx, pending.Code, parentChat, campaign.Correction{Field: campaign.CorrectPhone, Value: "+84987000111"}, "c2", nil)
	if err != nil || !again.Applied || again.Registration.ParentPhone != "+84987000111" || caseSnapshot(t, w.db) != before {
		t.Errorf("repeated correction = %+v, %v", again, err)
	}

	for _, tc := range []struct {
		name   string
		code   string
		parent campaign.Session
		c      campaign.Correction
		want   string
	}{
		{"another chat", pending.Code, otherChat, campaign.Correction{Field: campaign.CorrectSchool, Value: "THCS Linh Trung"}, campaign.ENOTFOUND},
		{"unknown code", "TD-999999", parentChat, campaign.Correction{Field: campaign.CorrectSchool, Value: "THCS Linh Trung"}, campaign.ENOTFOUND},
		{"unknown field", pending.Code, parentChat, campaign.Correction{Field: "student_name", Value: "Ai đó"}, campaign.EINVALID},
		{"empty value", pending.Code, parentChat, campaign.Correction{Field: campaign.CorrectAddress, Value: "  "}, campaign.EINVALID},
		{"phone not E.164", pending.Code, parentChat, campaign.Correction{Field: campaign.CorrectPhone, Value: "0987000111"}, campaign.EINVALID},
		{"address too long", pending.Code, parentChat, campaign.Correction{Field: campaign.CorrectAddress, Value: strings.Repeat("a", 301)}, campaign.EINVALID},
		{"no chat", pending.Code, campaign.Session{}, campaign.Correction{Field: campaign.CorrectSchool, Value: "THCS Linh Trung"}, campaign.EINVALID},
	} {
		_, err := w.family.Correct(ctx, tc.code, tc.parent, tc.c, "", nil)
		wantCode(t, tc.name, err, tc.want)
	}
	if caseSnapshot(t, w.db) != before {
		t.Error("refused corrections wrote something")
	}

	// After verification: a note officials see and a notice to the ward's verifiers.
	verified := w.verified(t, "Trần Thị Cúc", func(r *campaign.Registration) { r.IdempotencyKey = "cuc" })
	correction := campaign.Correction{Field: campaign.CorrectSchool, Value: "Trường THCS Linh Trung"}
	_, err = w.family.Correct(ctx, verified.Code, parentChat, correction, "c3", nil)
	wantCode(t, "a request without its words", err, campaign.EINVALID)
	correction.Request = "✏️ Phụ huynh đề nghị sửa trường thành: Trường THCS Linh Trung"
	tell := func(c campaign.Corrected) []campaign.OutboxMessage {
		var out []campaign.OutboxMessage
		for _, o := range c.Officials {
			out = append(out, campaign.OutboxMessage{Key: "notice:correction:" + c.Registration.Code + ":" + o.ChatID, Channel: o.Channel,
				ChatID: o.ChatID, Text: o.Language + " " + c.Correction.Value, Lane: campaign.OutboxNotice})
		}
		return out
	}
	got, err = w.family.Correct(ctx, verified.Code, parentChat, correction, "c3", tell)
	if err != nil || got.Applied || got.Registration.School != verified.School {
		t.Fatalf("Correct after verification = %+v, %v", got, err)
	}
	want := []campaign.Recipient{{Channel: "telegram", ChatID: "8101"}, {Channel: "telegram", ChatID: "8102", Language: "en"}}
	if !slices.Equal(got.Officials, want) {
		t.Errorf("officials = %+v, want %+v", got.Officials, want)
	}
	if told := outboxRows(t, w.db, "notice:correction:"); !slices.Equal(told, []string{"8101:  Trường THCS Linh Trung", "8102: en Trường THCS Linh Trung"}) {
		t.Errorf("told %q", told)
	}
	k, err := w.cases.CaseByCode(ctx, verified.Code)
	if err != nil || len(k.Notes) != 1 || k.Notes[0].Text != correction.Request || !k.Notes[0].Answer || k.Notes[0].Actor != "telegram:1001" ||
		k.Status != campaign.StatusVerified {
		t.Errorf("case = %+v, %v", k, err)
	}
	rows = auditRows(t, w.db, verified.Code)
	if last := rows[len(rows)-1]; last.Action != "registration.correction_request" || !jsonEqual(t, last.After, `{"field": "school"}`) {
		t.Errorf("audit = %+v", last)
	}
	if again, err := w.family.Correct(ctx, verified.Code, parentChat, correction, "c3", tell); err != nil || again.Applied ||
		len(outboxRows(t, w.db, "notice:correction:")) != 2 {
		t.Errorf("repeated request = %+v, %v", again, err)
	}

	// A ward with nobody who verifies: the education office is told.
	elsewhere := w.verified(t, "Lê Văn Dũng", func(r *campaign.Registration) {
		r.IdempotencyKey, r.WardCode = "dung", "26803"
	})
	got, err = w.family.Correct(ctx, elsewhere.Code, parentChat, correction, "c4", nil)
	if err != nil || !slices.Equal(got.Officials, []campaign.Recipient{{Channel: "telegram", ChatID: "8104"}}) {
		t.Errorf("officials of a ward without staff = %+v, %v", got.Officials, err)
	}

	// Nothing to correct once it was refused, delivered or withdrawn.
	rejected := w.register(t, "Phạm Văn Em", nil)
	w.decide(t, campaign.Decision{Code: rejected.Code, Verdict: campaign.VerdictReject, Reason: campaign.RejectDuplicate})
	_, err = w.family.Correct(ctx, rejected.Code, parentChat, correction, "c5", nil)
	wantCode(t, "correcting a rejected registration", err, campaign.ECONFLICT)
}

// allocatedFamily is a verified child of the family's chat with a tablet and a SIM (received for
// it) allocated.
func allocatedFamily(t *testing.T, w *familyWork, name string) (campaign.Registration, campaign.Device, campaign.Delivery) {
	t.Helper()
	reg := w.verified(t, name, nil)
	tablet := w.readyDevice(t, campaign.DeviceTablet, "")
	w.receive(t, campaign.ItemSIM4G, 1, 0)
	d := w.allocate(t, campaign.Allocation{Code: reg.Code, DeviceLabel: tablet.Label, Stock: []campaign.StockKind{campaign.StockSIM4G}}, "a-"+name)
	return reg, tablet, d
}

func TestFamilyStore_Withdraw(t *testing.T) {
	t.Parallel()
	w := newFamilyWork(t)
	ctx := t.Context()

	// A registration waiting for officials: withdrawn, no longer pending.
	pending := w.register(t, "Nguyễn Văn An", nil)
	p0, err := postgres.NewProgressStore(w.db, w.c).Progress(ctx, campaignDay(), "")
	if err != nil {
		t.Fatal(err)
	}
	wd, err := w.family.Withdraw(ctx, pending.Code, parentChat, "telegram:1001", "w1", nil)
	if err != nil || wd.Registration.Status != campaign.StatusWithdrawn || wd.Before != campaign.StatusSubmitted || wd.DeliveryCode != "" {
		t.Fatalf("Withdraw = %+v, %v", wd, err)
	}
	p1, err := postgres.NewProgressStore(w.db, w.c).Progress(ctx, campaignDay(), "")
	if err != nil || p1.Registrations.Pending != p0.Registrations.Pending-1 || p1.Registrations.Total != p0.Registrations.Total {
		t.Errorf("figures: pending %d -> %d, total %d -> %d", p0.Registrations.Pending, p1.Registrations.Pending,
			p0.Registrations.Total, p1.Registrations.Total)
	}
	if cases, err := w.cases.PendingCases(ctx, "", nil, 0); err != nil || len(cases) != 0 {
		t.Errorf("pending cases after withdrawal = %v, %v", codesOf(cases), err)
	}

	// An allocated one: the delivery is cancelled, the tablet ready again, the SIM back in stock,
	// and whoever handles the delivery (the official who allocated it, as nobody went yet) told.
	reg, tablet, d := allocatedFamily(t, w, "Trần Thị Cúc")
	if left := proposalStock(t, w); left[campaign.StockSIM4G] != 0 {
		t.Fatalf("SIMs left after the allocation = %d", left[campaign.StockSIM4G])
	}
	_, err = w.family.Withdraw(ctx, reg.Code, otherChat, "telegram:1002", "w2", nil)
	wantCode(t, "withdrawing another chat's registration", err, campaign.ENOTFOUND)
	_, err = w.family.Withdraw(ctx, reg.Code, parentChat, "", "w2", nil)
	wantCode(t, "withdrawing without who", err, campaign.EINVALID)
	tellHandler := func(wd campaign.Withdrawal) []campaign.OutboxMessage {
		_, id, _ := strings.Cut(wd.Handler, ":")
		return []campaign.OutboxMessage{{Key: "notice:withdrawn:" + wd.Registration.Code + ":w2", Channel: "telegram", ChatID: id,
			Text: wd.DeliveryCode + " " + wd.DeviceLabel, Lane: campaign.OutboxNotice}}
	}
	wd, err = w.family.Withdraw(ctx, reg.Code, parentChat, "telegram:1001", "w2", tellHandler)
	if err != nil {
		t.Fatal(err)
	}
	want := campaign.Withdrawal{Registration: wd.Registration, Before: campaign.StatusAllocated, DeliveryCode: d.Code,
		DeviceLabel: tablet.Label, DeviceType: campaign.DeviceTablet, Stock: []campaign.StockKind{campaign.StockSIM4G}, Handler: "telegram:8001"}
	if wd.Registration.Status != campaign.StatusWithdrawn || !sameWithdrawal(wd, want) {
		t.Errorf("Withdraw = %+v, want %+v", wd, want)
	}
	if told := outboxRows(t, w.db, "notice:withdrawn:"); !slices.Equal(told, []string{"8001: " + d.Code + " " + tablet.Label}) {
		t.Errorf("told %q", told)
	}
	if dev, err := w.devices.DeviceByLabel(ctx, tablet.Label); err != nil || dev.State != campaign.DeviceReady {
		t.Errorf("tablet = %+v, %v", dev, err)
	}
	if ev := history(t, w.db, tablet.Label); ev[len(ev)-1] != (event{Actor: campaign.WithdrawnActor, From: "allocated", To: "ready", Note: d.Code}) {
		t.Errorf("tablet's last event = %+v", ev[len(ev)-1])
	}
	if left := proposalStock(t, w); left[campaign.StockSIM4G] != 1 {
		t.Errorf("SIMs left after the withdrawal = %d, want 1", left[campaign.StockSIM4G])
	}
	if _, err := w.cases.DeliveryByCode(ctx, d.Code); campaign.ErrorCode(err) != campaign.ENOTFOUND {
		t.Errorf("the cancelled delivery: %v", err)
	}
	_, err = w.cases.MarkDelivered(ctx, d.Code, "Trần Thị Bình", "", "late", volunteer, nil)
	wantCode(t, "a volunteer marking the cancelled delivery", err, campaign.ENOTFOUND)
	rows := auditRows(t, w.db, reg.Code)
	if last := rows[len(rows)-1]; last.Action != "registration.withdraw" || last.Actor != campaign.FamilyActor ||
		!jsonEqual(t, last.Before, `{"status": "allocated", "delivery": "`+d.Code+`", "device": "`+tablet.Label+`", "device_type": "tablet", "stock": ["sim_4g"], "handler": "telegram:8001"}`) ||
		!jsonEqual(t, last.After, `{"status": "withdrawn", "device_state": "ready"}`) {
		t.Errorf("audit = %+v", last)
	}

	// The same key again returns the same withdrawal and writes nothing; a new key is refused.
	before := caseSnapshot(t, w.db)
	again, err := w.family.Withdraw(ctx, reg.Code, parentChat, "telegram:1001", "w2", tellHandler)
	if err != nil || !sameWithdrawal(again, want) || caseSnapshot(t, w.db) != before || len(outboxRows(t, w.db, "notice:withdrawn:")) != 1 {
		t.Errorf("repeated withdrawal = %+v, %v", again, err)
	}
	_, err = w.family.Withdraw(ctx, reg.Code, parentChat, "telegram:1001", "w3", nil)
	wantCode(t, "withdrawing twice", err, campaign.ECONFLICT)
	// The allocation retried with its first key finds the registration withdrawn: stale.
	made, stale, err := w.cases.ConfirmAllocations(ctx, []campaign.Allocation{{Code: reg.Code, DeviceLabel: tablet.Label}}, "a-Trần Thị Cúc", official, nil)
	if err != nil || len(made) != 0 || !slices.Equal(stale, []string{reg.Code}) {
		t.Errorf("retried allocation = %v, %v, %v", made, stale, err)
	}

	// Back to matching: the tablet and the SIM go to the next child who needs them.
	next := w.verified(t, "Lê Văn Dũng", func(r *campaign.Registration) {
		r.IdempotencyKey, r.ChatID, r.UserID = "dung", "1002", "1002"
	})
	p, err := w.cases.Proposal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	allocs, _ := campaign.Match(p.Candidates, p.Supply, w.c.MatchRules())
	if len(allocs) != 1 || allocs[0].Code != next.Code || allocs[0].DeviceLabel != tablet.Label || !slices.Equal(allocs[0].Stock, []campaign.StockKind{campaign.StockSIM4G}) {
		t.Fatalf("proposal after the withdrawal = %+v", allocs)
	}
	w.allocate(t, allocs[0], "a-next")

	// A volunteer who went there is the one told; an administrator withdraws without a chat.
	reg2, laptop, d2 := func() (campaign.Registration, campaign.Device, campaign.Delivery) {
		r := w.verified(t, "Võ Thị Hoa", nil)
		l := w.readyDevice(t, campaign.DeviceLaptop, "")
		return r, l, w.allocate(t, campaign.Allocation{Code: r.Code, DeviceLabel: l.Label}, "")
	}()
	if _, err := w.cases.MarkFailed(ctx, d2.Code, campaign.FailNotHome, "", "", volunteer, nil); err != nil {
		t.Fatal(err)
	}
	wd, err = w.family.Withdraw(ctx, reg2.Code, campaign.Session{}, "telegram:9001", "", nil)
	if err != nil || wd.Handler != "telegram:7001" || wd.DeviceLabel != laptop.Label || len(wd.Stock) != 0 {
		t.Errorf("withdrawal by an administrator = %+v, %v", wd, err)
	}

	// Delivered: the device is with the child, nothing to withdraw.
	reg3 := w.verified(t, "Đặng Văn Giang", nil)
	phone := w.readyDevice(t, campaign.DeviceSmartphone, "")
	w.deliver(t, w.allocate(t, campaign.Allocation{Code: reg3.Code, DeviceLabel: phone.Label}, "").Code, "")
	_, err = w.family.Withdraw(ctx, reg3.Code, parentChat, "telegram:1001", "w4", nil)
	wantCode(t, "withdrawing a delivered registration", err, campaign.ECONFLICT)
}

// sameWithdrawal compares withdrawals but their registrations.
func sameWithdrawal(a, b campaign.Withdrawal) bool {
	return a.Before == b.Before && a.DeliveryCode == b.DeliveryCode && a.DeviceLabel == b.DeviceLabel &&
		a.DeviceType == b.DeviceType && slices.Equal(a.Stock, b.Stock) && a.Handler == b.Handler
}

// proposalStock is the stock the allocation proposal offers.
func proposalStock(t *testing.T, w *familyWork) map[campaign.StockKind]int {
	t.Helper()
	p, err := w.cases.Proposal(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return p.Supply.Stock
}

// A family's corrections and withdrawal leave no more trace after an erasure than the rest of its
// case: the request's words, the new phone, the notices to the officials and the volunteer.
func TestFamilyStore_WithdrawnThenErased_NoTraceLeft(t *testing.T) {
	t.Parallel()
	w := newFamilyWork(t)
	ctx := t.Context()
	w.join(t, "8101", campaign.RoleWardOfficial, wardLinhTrung)
	family, tablet, d := allocatedFamily(t, w, erasedChild)
	newPhone := "+84987000111"
	request := campaign.Correction{Field: campaign.CorrectPhone, Value: newPhone,
		Request: "✏️ Phụ huynh đề nghị sửa số điện thoại thành: 0987 000 111"}
	_, err := w.family.Correct(ctx, family.Code, parentChat, request, "c1", func(c campaign.Corrected) []campaign.OutboxMessage {
		return []campaign.OutboxMessage{{Key: "notice:correction:" + c.Registration.Code + ":c1", Channel: "telegram", ChatID: "8101",
			Text: "Hồ sơ " + c.Registration.Code + ": đề nghị sửa số điện thoại thành 0987 000 111", Lane: campaign.OutboxNotice}}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.cases.MarkFailed(ctx, d.Code, campaign.FailNotHome, "Gọi "+erasedParent+" không được", "", volunteer, nil); err != nil {
		t.Fatal(err)
	}
	_, err = w.family.Withdraw(ctx, family.Code, parentChat, "telegram:1001", "w1", func(wd campaign.Withdrawal) []campaign.OutboxMessage {
		return []campaign.OutboxMessage{{Key: "notice:withdrawn:" + wd.Registration.Code + ":w1", Channel: "telegram", ChatID: "7001",
			Text: "Gia đình đã rút hồ sơ " + wd.Registration.Code, Lane: campaign.OutboxNotice}}
	})
	if err != nil {
		t.Fatal(err)
	}
	traces := append(slices.Clone(erasedTraces), newPhone, "0987 000 111")
	if found := findInDatabase(t, w.db, traces); len(found) < 5 {
		t.Fatalf("before the erasure the family is found only in %q", found)
	}
	before := readFigures(t, w.db, w.c)
	e, err := postgres.NewPrivacyStore(w.db, w.c).EraseRegistration(ctx, family.Code, campaign.ErasedActor, campaign.ErasureFamilySelf)
	if err != nil || e.Kept.Status != campaign.StatusWithdrawn || e.DeliveryCode != "" {
		t.Fatalf("erasure = %+v, %v", e, err)
	}
	if found := findInDatabase(t, w.db, traces); len(found) > 0 {
		t.Errorf("after the erasure the family is still in %q", found)
	}
	if after := readFigures(t, w.db, w.c); after.City.Registrations != before.City.Registrations {
		t.Errorf("figures changed: %+v, want %+v", after.City.Registrations, before.City.Registrations)
	}
	if dev, err := w.devices.DeviceByLabel(ctx, tablet.Label); err != nil || dev.State != campaign.DeviceReady {
		t.Errorf("tablet = %+v, %v", dev, err)
	}
	rows := auditRows(t, w.db, family.Code)
	if last := rows[len(rows)-1]; last.Actor != campaign.ErasedActor || last.Action != campaign.ErasureActionRegistration ||
		!jsonEqual(t, last.After, `{"reason": "family_self", "status": "withdrawn", "ward": "26800"}`) {
		t.Errorf("tombstone = %+v", last)
	}
	if got, err := w.family.RegistrationByCode(ctx, family.Code); err != nil || !got.Erased() || got.Status != campaign.StatusWithdrawn {
		t.Errorf("erased registration = %+v, %v", got, err)
	}
	_, err = w.family.Withdraw(ctx, family.Code, campaign.Session{}, "telegram:9001", "", nil)
	wantCode(t, "withdrawing an erased registration", err, campaign.ENOTFOUND)
}
