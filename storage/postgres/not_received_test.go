package postgres_test

import (
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// A family's "Chưa nhận được" takes a delivery marked delivered back to pending, with the device
// and the registration allocated again, the parent's words for the volunteers and a notice to the
// volunteer; it is not made final on its own meanwhile, and the figures count it as not handed
// over. A repeat with the key writes once; a final delivery cannot be reopened.
func TestCaseStore_ReportNotReceived(t *testing.T) {
	w := newCaseWork(t)
	ctx := t.Context()
	r := w.verified(t, "Trần Minh Khang", nil)
	dev := w.readyDevice(t, campaign.DeviceLaptop, "")
	d := w.allocate(t, campaign.Allocation{Code: r.Code, DeviceLabel: dev.Label}, "alloc 1")
	if _, err := w.cases.MarkDelivered(ctx, d.Code, "Nguyễn Thị Lan", "", "deliver 1", volunteer, nil); err != nil {
		t.Fatal(err)
	}
	progress := postgres.NewProgressStore(w.db, w.c)
	before, err := progress.Progress(ctx, w.clock.Now(), "")
	if err != nil || before.Delivered != 1 {
		t.Fatalf("progress before = %+v, %v", before, err)
	}

	words := "Chưa có ai đến giao"
	tellVolunteer := func(d campaign.Delivery) []campaign.OutboxMessage {
		return []campaign.OutboxMessage{{Key: "notice:not-received:" + d.Code + ":k", Channel: "telegram", ChatID: "7001",
			Text: "not received " + d.Code + " " + d.LastFailureNote, Lane: campaign.OutboxNotice}}
	}
	if _, err := w.cases.ReportNotReceived(ctx, d.Code, otherChat, words, "k", tellVolunteer); campaign.ErrorCode(err) != campaign.ENOTFOUND {
		t.Errorf("another family's report = %v, want ENOTFOUND", err)
	}
	got, err := w.cases.ReportNotReceived(ctx, d.Code, parentChat, words, "k", tellVolunteer)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != campaign.DeliveryPending || got.Attempts != 1 || got.LastFailure != campaign.FailNotReceived ||
		got.LastFailureNote != words || !got.DeliveredAt.IsZero() || got.RecipientName != "Nguyễn Thị Lan" {
		t.Errorf("after the report: %+v", got)
	}
	if _, err := w.cases.ReportNotReceived(ctx, d.Code, parentChat, words, "k", tellVolunteer); err != nil {
		t.Errorf("the same report again = %v", err)
	}
	if c, err := w.cases.CaseByCode(ctx, r.Code); err != nil || c.Registration.Status != campaign.StatusAllocated {
		t.Errorf("registration %s, %v; want allocated", c.Registration.Status, err)
	}
	if dv, err := w.devices.DeviceByLabel(ctx, dev.Label); err != nil || dv.State != campaign.DeviceAllocated {
		t.Errorf("device %s, %v; want allocated", dv.State, err)
	}
	open, err := w.cases.OpenDeliveries(ctx, "", 10)
	if err != nil || len(open) != 1 || open[0].Code != d.Code {
		t.Errorf("open deliveries = %+v, %v", open, err)
	}
	after, err := progress.Progress(ctx, w.clock.Now(), "")
	if err != nil || after.Delivered != 0 {
		t.Errorf("delivered after the report = %d, %v; want 0", after.Delivered, err)
	}
	if done, err := w.cases.FinalizeDeliveries(ctx, w.clock.Now().Add(30*24*time.Hour), nil); err != nil || len(done) != 0 {
		t.Errorf("finalized %d, %v; a reopened delivery is never final on its own", len(done), err)
	}
	msgs, err := postgres.NewOutbox(w.db).Claim(ctx, campaign.OutboxNotice, 10, time.Minute)
	if err != nil || len(msgs) != 1 || msgs[0].Text != "not received "+d.Code+" "+words {
		t.Errorf("notices = %+v, %v; want the volunteer's, once", msgs, err)
	}
	var audits int
	if err := w.db.SQLX().Get(&audits, `SELECT count(*) FROM audit_log WHERE action = 'delivery.not_received' AND subject = $1 AND after::text NOT LIKE '%giao%'`, d.Code); err != nil || audits != 1 {
		t.Errorf("%d audit rows without the words, %v; want 1", audits, err)
	}

	// Handed over again, then confirmed: final, no reopening.
	if _, err := w.cases.MarkDelivered(ctx, d.Code, "Nguyễn Thị Lan", "", "deliver 2", volunteer, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.cases.ConfirmDelivery(ctx, d.Code, parentChat, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := w.cases.ReportNotReceived(ctx, d.Code, parentChat, words, "k2", tellVolunteer); campaign.ErrorCode(err) != campaign.ENOTFOUND {
		t.Errorf("reopening a final delivery = %v, want ENOTFOUND", err)
	}
}

// An erased registration leaves the officials' work: it is not pending, not a candidate, its
// delivery not open, and a decision or a hand-over on its code finds nothing to write into.
func TestCaseStore_ErasedLeaveTheCaseWork(t *testing.T) {
	w := newCaseWork(t)
	ctx := t.Context()
	pending := w.register(t, "Trần Minh Khang", nil)
	verified := w.verified(t, "Lê Bảo Ngọc", func(r *campaign.Registration) { r.ChatID = "1002" })
	allocated := w.verified(t, "Phạm Gia Huy", func(r *campaign.Registration) { r.ChatID = "1003" })
	d := w.allocate(t, campaign.Allocation{Code: allocated.Code, DeviceLabel: w.readyDevice(t, campaign.DeviceLaptop, "").Label}, "alloc")
	privacy := postgres.NewPrivacyStore(w.db, w.c)
	for _, code := range []string{pending.Code, verified.Code, allocated.Code} {
		if _, err := privacy.EraseRegistration(ctx, code, "telegram:9101", campaign.ErasureFamilyRequest); err != nil {
			t.Fatal(err)
		}
	}
	if cases, err := w.cases.PendingCases(ctx, "", nil, 10); err != nil || len(cases) != 0 {
		t.Errorf("pending cases = %d, %v; want none", len(cases), err)
	}
	if p, err := w.cases.Proposal(ctx); err != nil || len(p.Candidates) != 0 {
		t.Errorf("candidates = %d, %v; want none", len(p.Candidates), err)
	}
	if open, err := w.cases.OpenDeliveries(ctx, "", 10); err != nil || len(open) != 0 {
		t.Errorf("open deliveries = %d, %v; want none", len(open), err)
	}
	_, err := w.cases.Decide(ctx, campaign.Decision{Code: pending.Code, Verdict: campaign.VerdictApprove, Key: "k"}, wardOfficial, nil)
	wantCode(t, "a decision on an erased registration", err, campaign.ENOTFOUND)
	_, err = w.cases.MarkDelivered(ctx, d.Code, "Người lạ", "", "deliver", volunteer, nil)
	wantCode(t, "a hand-over of an erased family's delivery", err, campaign.ENOTFOUND)
}
