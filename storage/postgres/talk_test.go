package postgres_test

import (
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// A family's message to officials becomes a message note, brings the registration into the ward's
// /verify queue (first, whatever its status) and tells the ward's verifying staff, in one
// transaction; a repeated key writes once; another chat's message is refused; deciding or
// «Đã xử lý» by the ward's staff handles it, another ward's staff may not.
func TestCaseStore_MessageOfficials(t *testing.T) {
	w := newCaseWork(t)
	ctx := t.Context()
	staff := postgres.NewStaffStore(w.db)
	tell := func(fm campaign.FamilyMessage) []campaign.OutboxMessage {
		var out []campaign.OutboxMessage
		for _, s := range fm.Officials {
			out = append(out, campaign.OutboxMessage{Key: "msg:" + fm.Registration.Code + ":" + s.ChatID + ":" + fm.Message.Text,
				Channel: s.Channel, ChatID: s.ChatID, Text: fm.Message.Text, Lane: campaign.OutboxNotice,
				PhotoID: fm.Message.PhotoID, PhotoChannel: fm.Message.PhotoChannel})
		}
		return out
	}
	pending := w.register(t, "Lê Văn Pending", nil)
	verified := w.verified(t, "Trần Minh Khang", nil)

	// No ward staff yet: the education office, which verifies every ward, hears of it.
	city := redeem(t, staff, invite(t, staff, campaign.RoleEducationOffice, ""), campaign.Staff{Channel: "telegram", ExternalID: "9001", Name: "Võ Văn Thành"})
	if _, err := w.cases.MessageOfficials(ctx, verified.Code, otherChat, campaign.Answer{Text: "xin chào"}, "m0", tell); campaign.ErrorCode(err) != campaign.ENOTFOUND {
		t.Errorf("another chat's message = %v, want ENOTFOUND", err)
	}
	if _, err := w.cases.MessageOfficials(ctx, verified.Code, parentChat, campaign.Answer{Text: "Nhà tôi đã chuyển"}, "m1", tell); err != nil {
		t.Fatal(err)
	}
	redeem(t, staff, invite(t, staff, campaign.RoleWardOfficial, verified.WardCode), wardOfficial)
	w.clock.t = w.clock.t.Add(time.Minute)
	for range 2 { // the same update twice writes once
		if _, err := w.cases.MessageOfficials(ctx, verified.Code, parentChat, campaign.Answer{PhotoID: "ph-1", PhotoChannel: "telegram"}, "m2", tell); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := postgres.NewOutbox(w.db).Claim(ctx, campaign.OutboxNotice, 10, time.Minute)
	if err != nil || len(msgs) != 2 || msgs[0].ChatID != city.ExternalID || msgs[1].ChatID != wardOfficial.ExternalID {
		t.Fatalf("notices = %+v, %v; want the education office's, then (once) the ward official's", msgs, err)
	}

	cases, err := w.cases.PendingCases(ctx, verified.WardCode, nil, 10)
	if err != nil || len(cases) != 2 || cases[0].Code != verified.Code || cases[1].Code != pending.Code {
		t.Fatalf("pending = %d cases, %v; want the verified one with a message first, then the submitted one", len(cases), err)
	}
	k := cases[0]
	if !k.MessageWaiting() || len(k.Notes) != 2 || !k.Notes[0].Message || !k.Notes[0].Answer || k.Notes[0].Text != "Nhà tôi đã chuyển" ||
		k.Notes[1].PhotoID != "ph-1" || !k.MessageAt.Equal(k.Notes[0].At) {
		t.Errorf("case = waiting %v at %v, notes %+v", k.MessageWaiting(), k.MessageAt, k.Notes)
	}
	if other, err := w.cases.PendingCases(ctx, wardLinhXuan, nil, 10); err != nil || len(other) != 0 {
		t.Errorf("another ward's queue = %d cases, %v", len(other), err)
	}

	// Another ward's staff may not handle it; the ward's may, once.
	elsewhere := campaign.Staff{Channel: "telegram", ExternalID: "8201", Role: campaign.RoleWardOfficial, WardCode: wardLinhXuan}
	if err := w.cases.MessageHandled(ctx, verified.Code, elsewhere); campaign.ErrorCode(err) != campaign.EUNAUTHORIZED {
		t.Errorf("another ward's official = %v, want EUNAUTHORIZED", err)
	}
	for range 2 {
		if err := w.cases.MessageHandled(ctx, verified.Code, wardOfficial); err != nil {
			t.Fatal(err)
		}
	}
	if cases, err := w.cases.PendingCases(ctx, verified.WardCode, nil, 10); err != nil || len(cases) != 1 || cases[0].Code != pending.Code {
		t.Errorf("after handling: %d cases, %v", len(cases), err)
	}

	// A message on a pending registration is handled by the decision.
	if _, err := w.cases.MessageOfficials(ctx, pending.Code, parentChat, campaign.Answer{Text: "Con tôi học lớp 7"}, "m3", nil); err != nil {
		t.Fatal(err)
	}
	w.decide(t, campaign.Decision{Code: pending.Code, Verdict: campaign.VerdictApprove})
	if cases, err := w.cases.PendingCases(ctx, "", nil, 10); err != nil || len(cases) != 0 {
		t.Errorf("after deciding: %d cases, %v", len(cases), err)
	}
	var audits []string
	if err := w.db.SQLX().Select(&audits, `SELECT action FROM audit_log WHERE action LIKE 'registration.message%' ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if strings.Join(audits, ",") != "registration.message,registration.message,registration.message_handled,registration.message" {
		t.Errorf("audit = %v", audits)
	}
}
