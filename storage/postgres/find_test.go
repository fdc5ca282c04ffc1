package postgres_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

func TestFindStore_RegistrationByCode(t *testing.T) {
	t.Parallel()
	w := newCaseWork(t)
	ctx := t.Context()
	find := postgres.NewFindStore(w.db, w.c)
	r := w.register(t, "Nguyễn Văn An", nil)
	rejected := w.decide(t, campaign.Decision{Code: r.Code, Verdict: campaign.VerdictReject, Reason: campaign.RejectOther, Text: "Gia đình đã chuyển đi"})

	got, err := find.RegistrationByCode(ctx, " "+strings.ToLower(r.Code))
	if err != nil {
		t.Fatalf("RegistrationByCode: %v", err)
	}
	if !reflect.DeepEqual(got, rejected) {
		t.Errorf("RegistrationByCode =\n%+v\nwant what Decide returned\n%+v", got, rejected)
	}
	if got.Status != campaign.StatusRejected || got.RejectCode != campaign.RejectOther || got.RejectReason != "Gia đình đã chuyển đi" {
		t.Errorf("read back %s %q %q, want rejected for another reason with its text", got.Status, got.RejectCode, got.RejectReason)
	}
	_, err = find.RegistrationByCode(ctx, "TD-999999")
	wantCode(t, "unknown code", err, campaign.ENOTFOUND)

	// Another campaign's registration is not this campaign's to find.
	old := insertHelpedChild(t, w.db, "hcm-2020", "Lê Văn Tám", validRegistration("").BirthDate)
	_, err = find.RegistrationByCode(ctx, old)
	wantCode(t, "another campaign's code", err, campaign.ENOTFOUND)
}

func TestFindStore_FindByPhone(t *testing.T) {
	t.Parallel()
	w := newCaseWork(t)
	ctx := t.Context()
	find := postgres.NewFindStore(w.db, w.c)
	const phone = "+84903123456" // validRegistration's parent, who also gives
	first := w.register(t, "Nguyễn Văn An", nil)
	w.register(t, "Someone Else's Child", func(r *campaign.Registration) { r.ParentPhone = "+84909999999" })
	second := w.verified(t, "Nguyễn Thị Bé", nil)

	asDonor := validPledge("parent gives")
	asDonor.Phone = phone
	asDonor = submitPledge(t, w.pledges, asDonor)
	submitPledge(t, w.pledges, validPledge("another donor"))
	again := validPledge("parent gives again")
	again.Phone = phone
	again.Items = []campaign.PledgeItem{{Kind: campaign.ItemSIM4G, Quantity: 2}}
	again = submitPledge(t, w.pledges, again)

	regs, pledges, err := find.FindByPhone(ctx, phone, 10)
	if err != nil {
		t.Fatalf("FindByPhone: %v", err)
	}
	if len(regs) != 2 || !reflect.DeepEqual(regs[0], second) || !reflect.DeepEqual(regs[1], first) {
		t.Errorf("registrations =\n%+v\nwant the second then the first\n%+v\n%+v", regs, second, first)
	}
	if len(pledges) != 2 || !reflect.DeepEqual(pledges[0], again) || !reflect.DeepEqual(pledges[1], asDonor) {
		t.Errorf("pledges =\n%+v\nwant the later then the earlier, with their items\n%+v\n%+v", pledges, again, asDonor)
	}

	regs, pledges, err = find.FindByPhone(ctx, phone, 1)
	if err != nil || len(regs) != 1 || regs[0].Code != second.Code || len(pledges) != 1 || pledges[0].Code != again.Code {
		t.Errorf("FindByPhone limit 1 = %d registrations, %d pledges, %v; want the newest of each", len(regs), len(pledges), err)
	}

	regs, pledges, err = find.FindByPhone(ctx, "+84900000009", 10)
	if err != nil || len(regs) != 0 || len(pledges) != 0 {
		t.Errorf("FindByPhone(unknown) = %v, %v, %v; want nothing", regs, pledges, err)
	}
	var codes []string
	regs, _, err = find.FindByPhone(ctx, "+84909999999", 0)
	for _, r := range regs {
		codes = append(codes, r.Code)
	}
	if err != nil || !slices.Equal(codes, []string{"TD-000002"}) {
		t.Errorf("FindByPhone(the other parent) = %v, %v", codes, err)
	}

	for _, bad := range []string{"0903123456", "", "+84 903 123 456"} {
		_, _, err := find.FindByPhone(ctx, bad, 10)
		wantCode(t, "phone "+bad, err, campaign.EINVALID)
	}
}
