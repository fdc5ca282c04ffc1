package postgres_test

import (
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// A change's notices are queued in its transaction: with the change, once however often the change
// is repeated with its key, and not at all when the change is refused or its transaction fails.
func TestNotices_QueuedWithTheChange(t *testing.T) {
	w := newCaseWork(t)
	ctx := t.Context()
	box := postgres.NewOutbox(w.db)
	r := w.register(t, "Trần Minh Khang", nil)
	calls := 0
	tell := func(reg campaign.Registration) []campaign.OutboxMessage {
		calls++
		return []campaign.OutboxMessage{{Key: "notice:decision:" + reg.Code + ":k1", Channel: reg.Channel, ChatID: reg.ChatID,
			Text: "verified " + reg.Code + " " + string(reg.Status), Lane: campaign.OutboxNotice}}
	}
	d := campaign.Decision{Code: r.Code, Verdict: campaign.VerdictApprove, Key: "k1"}
	if _, err := w.cases.Decide(ctx, d, wardOfficial, tell); err != nil {
		t.Fatal(err)
	}
	// The same decision again (a retried update): applied before, so nothing is queued.
	if _, err := w.cases.Decide(ctx, d, wardOfficial, tell); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Errorf("notify called %d times, want once", calls)
	}
	// Another official's decision meets the conflict: nothing queued.
	other := campaign.Decision{Code: r.Code, Verdict: campaign.VerdictReject, Reason: campaign.RejectHasDevice, Key: "k2"}
	if _, err := w.cases.Decide(ctx, other, wardOfficial, tell); campaign.ErrorCode(err) != campaign.ECONFLICT {
		t.Fatalf("second decision = %v, want a conflict", err)
	}
	// A notice the outbox refuses fails the change with it: the registration stays as it was.
	r2 := w.register(t, "Lê Bảo Ngọc", nil)
	bad := func(campaign.Registration) []campaign.OutboxMessage {
		return []campaign.OutboxMessage{{Key: "notice:bad", Channel: "telegram", ChatID: "1", Lane: "urgent", Text: "x"}}
	}
	if _, err := w.cases.Decide(ctx, campaign.Decision{Code: r2.Code, Verdict: campaign.VerdictApprove, Key: "k3"}, wardOfficial, bad); err == nil {
		t.Fatal("a change whose notice was refused went through")
	}
	if got, err := w.cases.CaseByCode(ctx, r2.Code); err != nil || got.Registration.Status != campaign.StatusSubmitted {
		t.Errorf("after the refused notice %s is %s, %v; want submitted", r2.Code, got.Registration.Status, err)
	}

	msgs, err := box.Claim(ctx, campaign.OutboxNotice, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Text != "verified "+r.Code+" verified" || msgs[0].ChatID != r.ChatID || msgs[0].Lane != campaign.OutboxNotice {
		t.Errorf("queued %+v; want the one notice, written as the change left the registration", msgs)
	}
}

// Claim takes notices before bulk, and a claim of notices alone leaves bulk where it is.
func TestOutbox_NoticesFirst(t *testing.T) {
	db := newDB(t)
	ctx := t.Context()
	box := postgres.NewOutbox(db)
	var msgs []campaign.OutboxMessage
	for i := range 5 {
		msgs = append(msgs, campaign.OutboxMessage{Key: "bulk:" + string(rune('a'+i)), Batch: "b", Channel: "telegram", ChatID: "1", Text: "bulk"})
	}
	if _, err := box.Enqueue(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	notices := []campaign.OutboxMessage{
		{Key: "notice:1", Channel: "telegram", ChatID: "1", Text: "notice", Lane: campaign.OutboxNotice},
		{Key: "notice:2", Channel: "zalo", ChatID: "2", Text: "notice", Lane: campaign.OutboxNotice},
	}
	if _, err := box.Enqueue(ctx, notices); err != nil {
		t.Fatal(err)
	}
	got, err := box.Claim(ctx, "", 3, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Key != "notice:1" || got[1].Key != "notice:2" || got[2].Lane != campaign.OutboxBulk {
		t.Errorf("claimed %v; want the two notices, then bulk", keysOf(got))
	}
	if more, err := box.Claim(ctx, campaign.OutboxNotice, 10, time.Minute); err != nil || len(more) != 0 {
		t.Errorf("notices alone = %v, %v; want none left", keysOf(more), err)
	}
	if _, err := box.Claim(ctx, "urgent", 10, time.Minute); campaign.ErrorCode(err) != campaign.EINVALID {
		t.Errorf("an unknown lane = %v, want EINVALID", err)
	}
	rest, err := box.Claim(ctx, campaign.OutboxBulk, 10, time.Minute)
	if err != nil || len(rest) != 4 {
		t.Errorf("bulk = %v, %v; want the four left", keysOf(rest), err)
	}
}

func keysOf(msgs []campaign.OutboxMessage) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Key)
	}
	return out
}
