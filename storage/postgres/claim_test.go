package postgres_test

import (
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// claimWork is a database with a ward official of Linh Trung (telegram:7001, who writes in
// English) who sent a list, and the claim store.
type claimWork struct {
	*caseWork
	claims *postgres.ClaimStore
	list   campaign.ListResult
}

// Phones and birth dates of the list's children: two of phoneTwo (childA, childB), one of
// phoneOne (childC).
var (
	phoneTwo = "+84906000222"
	phoneOne = "+84906000333"
	birthA   = time.Date(2012, 4, 5, 0, 0, 0, 0, time.UTC)
	birthB   = time.Date(2010, 6, 7, 0, 0, 0, 0, time.UTC)
	family   = campaign.Session{Channel: "zalo", ChatID: "7213555"}
	stranger = campaign.Session{Channel: "telegram", ChatID: "4444"}
)

func newClaimWork(t testing.TB) *claimWork {
	t.Helper()
	ctx := t.Context()
	w := &claimWork{caseWork: newCaseWork(t)}
	w.claims = postgres.NewClaimStore(w.db, w.c)
	staff := postgres.NewStaffStore(w.db)
	sender := campaign.Staff{Channel: "telegram", ExternalID: "7001", Name: "Đỗ Thị Mai", Role: campaign.RoleWardOfficial, WardCode: wardLinhTrung}
	redeem(t, staff, invite(t, staff, campaign.RoleWardOfficial, wardLinhTrung), sender)
	if err := postgres.NewContactStore(w.db).UpsertContact(ctx, campaign.Contact{Channel: "telegram", ExternalID: "7001", Language: "en"}); err != nil {
		t.Fatal(err)
	}
	res, err := postgres.NewListStore(w.db, w.c).ImportList(ctx, &campaign.ListImport{
		Sender: sender, Actor: "telegram:7001", FileHash: "c1a1m", RowsRead: 3,
		Rows: []campaign.ListRow{
			listChild(3, "Đinh Thị An", "", phoneTwo, "8 hẻm Xóa Bỏ", birthA),
			listChild(4, "Đinh Văn Bình", "Đinh Văn Cha", phoneTwo, "8 hẻm Xóa Bỏ", birthB),
			listChild(5, "Mạc Văn Chí", "", phoneOne, "9 hẻm Hết Hạn", birthA),
		},
	})
	if err != nil || len(res.Accepted) != 3 {
		t.Fatalf("import = %+v, %v", res, err)
	}
	w.list = res
	// A chat's registration with the same phone and date is the family's own: never claimable.
	w.register(t, "Đinh Thị An", func(r *campaign.Registration) { r.ParentPhone, r.BirthDate = phoneTwo, birthA })
	return w
}

func (w *claimWork) claim(t testing.TB, phone string, birth time.Time, who campaign.Session, key string) campaign.ClaimResult {
	t.Helper()
	res, err := w.claims.Claim(t.Context(), campaign.ClaimRequest{Phone: phone, BirthDate: birth, Family: who,
		UserID: who.ChatID, Language: "vi", ParentName: "Đinh Thị Mẹ", Key: key})
	if err != nil {
		t.Fatalf("Claim(%s, %s): %v", phone, birth.Format(time.DateOnly), err)
	}
	return res
}

func (w *claimWork) unclaimed(t testing.TB, phone string) (int, bool) {
	t.Helper()
	n, blocked, err := w.claims.Unclaimed(t.Context(), phone)
	if err != nil {
		t.Fatal(err)
	}
	return n, blocked
}

func claimedCodes(res campaign.ClaimResult) []string {
	var out []string
	for _, r := range res.Claimed {
		out = append(out, r.Code)
	}
	return out
}

func TestClaimStore_Claim(t *testing.T) {
	ctx := t.Context()
	w := newClaimWork(t)
	codeA, codeB, codeC := w.list.Accepted[0].Code, w.list.Accepted[1].Code, w.list.Accepted[2].Code

	if n, blocked := w.unclaimed(t, phoneTwo); n != 2 || blocked {
		t.Errorf("Unclaimed(two) = %d, %v; want the list's 2 (not the chat's registration)", n, blocked)
	}
	if n, _ := w.unclaimed(t, "+84906000999"); n != 0 {
		t.Errorf("Unclaimed(unknown) = %d", n)
	}
	before, err := w.regs.ByCode(ctx, codeA)
	if err != nil {
		t.Fatal(err)
	}
	want := &campaign.Registrar{Session: campaign.Session{Channel: "telegram", ChatID: "7001"}, Language: "en", Active: true,
		Source: campaign.SourceList, ListCode: w.list.Code, Name: "Đỗ Thị Mai", Role: campaign.RoleWardOfficial}
	if before.Registrar == nil || !reflect.DeepEqual(before.Registrar, want) || !before.ClaimedAt.IsZero() {
		t.Errorf("Registrar before the claim = %+v (claimed %v), want %+v", before.Registrar, before.ClaimedAt, want)
	}

	// A wrong date counts once per update.
	if res := w.claim(t, phoneTwo, birthA.AddDate(0, 0, 1), family, "u1"); len(res.Claimed) != 0 || res.Failures != 1 || res.Blocked || res.Left != 2 {
		t.Errorf("wrong date = %+v", res)
	}
	if res := w.claim(t, phoneTwo, birthA.AddDate(0, 0, 1), family, "u1"); res.Failures != 1 {
		t.Errorf("the same update again counted: %+v", res)
	}

	res := w.claim(t, phoneTwo, birthA, family, "u2")
	if !slices.Equal(claimedCodes(res), []string{codeA}) || res.Left != 1 || res.Failures != 0 || res.Taken != 0 {
		t.Fatalf("claim of A = %+v", res)
	}
	got := res.Claimed[0]
	if got.Channel != family.Channel || got.ChatID != family.ChatID || got.UserID != family.ChatID || got.Language != "vi" ||
		got.ParentName != "Đinh Thị Mẹ" || got.Registrar != nil || !got.ClaimedAt.Equal(campaignDay().Add(got.ClaimedAt.Sub(campaignDay()))) || got.ClaimedAt.IsZero() {
		t.Errorf("claimed A = chat %s:%s user %q lang %q parent %q registrar %+v at %v", got.Channel, got.ChatID, got.UserID, got.Language, got.ParentName, got.Registrar, got.ClaimedAt)
	}
	mine, err := w.regs.RegistrationsByChat(ctx, family.Channel, family.ChatID)
	if err != nil || len(mine) != 1 || mine[0].Code != codeA || mine[0].Source != campaign.SourceList {
		t.Errorf("RegistrationsByChat after the claim = %+v, %v", mine, err)
	}
	rows := auditRows(t, w.db, codeA)
	if last := rows[len(rows)-1]; last.Action != "registration.claim" || last.Actor != campaign.FamilyActor ||
		!jsonEqual(t, last.After, `{"source": "list", "channel": "zalo", "parent_name_filled": true}`) {
		t.Errorf("audit of the claim = %+v", last)
	}

	// Claimed, it is offered no more; the family's retry gets it back; another chat finds it taken.
	if n, _ := w.unclaimed(t, phoneTwo); n != 1 {
		t.Errorf("Unclaimed after the claim = %d, want 1", n)
	}
	if res := w.claim(t, phoneTwo, birthA, family, "u3"); !slices.Equal(claimedCodes(res), []string{codeA}) || res.Failures != 0 {
		t.Errorf("the family's retry = %+v", res)
	}
	if res := w.claim(t, phoneTwo, birthA, stranger, "s1"); len(res.Claimed) != 0 || res.Taken != 1 || res.Failures != 0 || res.Left != 1 {
		t.Errorf("another chat's claim of A = %+v", res)
	}
	// B keeps its parent's name.
	if res := w.claim(t, phoneTwo, birthB, family, "u4"); !slices.Equal(claimedCodes(res), []string{codeB}) || res.Left != 0 ||
		res.Claimed[0].ParentName != "Đinh Văn Cha" {
		t.Errorf("claim of B = %+v", res)
	}

	// Three wrong dates block the phone, whichever chats tried; the block is audited by code.
	for i, who := range []campaign.Session{stranger, family, stranger} {
		res := w.claim(t, phoneOne, birthB, who, fmt.Sprintf("w%d", i))
		if res.Failures != i+1 || res.Blocked != (i == 2) || len(res.Claimed) != 0 {
			t.Errorf("wrong date %d = %+v", i+1, res)
		}
	}
	if n, blocked := w.unclaimed(t, phoneOne); n != 0 || !blocked {
		t.Errorf("Unclaimed(blocked) = %d, %v", n, blocked)
	}
	if res := w.claim(t, phoneOne, birthA, family, "w4"); len(res.Claimed) != 0 || !res.Blocked {
		t.Errorf("the right date after the block = %+v", res)
	}
	rows = auditRows(t, w.db, codeC)
	if last := rows[len(rows)-1]; last.Action != "registration.claim_blocked" || last.Actor != campaign.FamilyActor || !jsonEqual(t, last.After, `{"tries": 3}`) {
		t.Errorf("audit of the block = %+v", last)
	}
	if found := findInDatabase(t, w.db, []string{phoneOne}); !slices.Equal(found, []string{"registrations: " + phoneOne}) {
		t.Errorf("the blocked phone is kept in %q; want only its registration", found)
	}

	// Bad requests.
	for _, r := range []campaign.ClaimRequest{
		{Phone: "0906000222", BirthDate: birthA, Family: family},
		{Phone: phoneTwo, Family: family},
		{Phone: phoneTwo, BirthDate: birthA},
	} {
		if _, err := w.claims.Claim(ctx, r); campaign.ErrorCode(err) != campaign.EINVALID {
			t.Errorf("Claim(%+v) = %v, want EINVALID", r, err)
		}
	}
}

// TestClaimStore_Assisted: a registration made on a family's behalf with its phone is claimed
// like a list's row; one without a phone is never offered.
func TestClaimStore_Assisted(t *testing.T) {
	w := newClaimWork(t)
	r := validRegistration("assisted-1")
	r.Channel, r.ChatID, r.UserID, r.ParentName = "", "", "", ""
	r.ParentPhone, r.BirthDate = "+84906000444", birthB
	r.Source, r.RegisteredBy, r.ConsentWitness = campaign.SourceAssisted, "telegram:7001", "telegram:7001"
	reg := submit(t, w.regs, r)
	loaded, err := w.regs.ByCode(t.Context(), reg.Code)
	if err != nil || loaded.Registrar == nil || loaded.Registrar.Source != campaign.SourceAssisted || loaded.Registrar.ListCode != "" {
		t.Fatalf("assisted registration's registrar = %+v, %v", loaded.Registrar, err)
	}
	res := w.claim(t, "+84906000444", birthB, family, "a1")
	if !slices.Equal(claimedCodes(res), []string{reg.Code}) || res.Claimed[0].ParentName != "Đinh Thị Mẹ" {
		t.Errorf("claim of the assisted registration = %+v", res)
	}
}

// TestClaimStore_Concurrent: chats claiming the same registration at once make one claim.
func TestClaimStore_Concurrent(t *testing.T) {
	w := newClaimWork(t)
	const chats = 8
	results := make([]campaign.ClaimResult, chats)
	var wg sync.WaitGroup
	for i := range chats {
		wg.Go(func() {
			res, err := w.claims.Claim(t.Context(), campaign.ClaimRequest{Phone: phoneOne, BirthDate: birthA,
				Family: campaign.Session{Channel: "telegram", ChatID: fmt.Sprint(5000 + i)}, Key: fmt.Sprint("k", i)})
			if err != nil {
				t.Errorf("chat %d: %v", i, err)
			}
			results[i] = res
		})
	}
	wg.Wait()
	winners := 0
	winner := ""
	for i, res := range results {
		switch {
		case len(res.Claimed) == 1 && res.Taken == 0:
			winners++
			winner = fmt.Sprint(5000 + i)
		case len(res.Claimed) == 0 && res.Taken == 1 && res.Failures == 0:
		default:
			t.Errorf("chat %d: %+v", i, res)
		}
	}
	if winners != 1 {
		t.Fatalf("%d chats claimed the registration", winners)
	}
	got, err := w.regs.ByCode(t.Context(), w.list.Accepted[2].Code)
	if err != nil || got.ChatID != winner {
		t.Errorf("the registration's chat is %q, want the winner %q (%v)", got.ChatID, winner, err)
	}
	claims := 0
	for _, r := range auditRows(t, w.db, got.Code) {
		if r.Action == "registration.claim" {
			claims++
		}
	}
	if claims != 1 {
		t.Errorf("%d claim audit rows", claims)
	}
}

// TestCaseStore_NoticesOfUnclaimed: the deliveries of a registration no family claimed carry its
// registrar; once claimed, the family's chat.
func TestCaseStore_NoticesOfUnclaimed(t *testing.T) {
	w := newClaimWork(t)
	code := w.list.Accepted[2].Code
	var told []campaign.Registration
	reg, err := w.cases.Decide(t.Context(), campaign.Decision{Code: code, Verdict: campaign.VerdictApprove}, wardOfficial,
		func(r campaign.Registration) []campaign.OutboxMessage { told = append(told, r); return nil })
	if err != nil || len(told) != 1 || told[0].Registrar == nil || told[0].Registrar.ChatID != "7001" || reg.Registrar == nil {
		t.Fatalf("Decide of an unclaimed registration told %+v (%v)", told, err)
	}
	dev := w.readyDevice(t, campaign.DeviceLaptop, "")
	d := w.allocate(t, campaign.Allocation{Code: code, DeviceLabel: dev.Label}, "alloc-1")
	if d.Registrar == nil || d.Registrar.ListCode != w.list.Code || d.Parent != (campaign.Session{}) {
		t.Errorf("delivery of an unclaimed registration: registrar %+v, parent %+v", d.Registrar, d.Parent)
	}
	w.claim(t, phoneOne, birthA, family, "c1")
	d, err = w.cases.DeliveryByCode(t.Context(), d.Code)
	if err != nil || d.Registrar != nil || d.Parent != family {
		t.Errorf("delivery after the claim: registrar %+v, parent %+v, %v", d.Registrar, d.Parent, err)
	}
	// The family now chooses where to receive it, from its chat.
	if _, err := w.cases.SetHandover(t.Context(), d.Code, family, campaign.HandoverSchool); err != nil {
		t.Errorf("SetHandover by the family after the claim: %v", err)
	}
}

// claimAttempts counts the claim_attempts rows of phone.
func claimAttempts(t testing.TB, db *postgres.DB, phone string) int {
	t.Helper()
	var n int
	if err := db.SQLX().Get(&n, `SELECT count(*) FROM claim_attempts WHERE phone_hash = $1`, sha256Hex(phone)); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestClaimStore_Unblock: a phone blocked after three wrong birth dates (a family that mistyped)
// is cleared by staff after a call: the family has its tries again, each registration the phone
// may claim audits who cleared it, and clearing a phone with nothing counted writes nothing.
func TestClaimStore_Unblock(t *testing.T) {
	ctx := t.Context()
	w := newClaimWork(t)
	codeA, codeB, codeC := w.list.Accepted[0].Code, w.list.Accepted[1].Code, w.list.Accepted[2].Code
	if b, err := w.claims.ClaimBlockOf(ctx, phoneTwo); err != nil || b.Failures != 0 || b.Blocked ||
		!reflect.DeepEqual(b.Holders, []campaign.ClaimHolder{{Code: codeA, WardCode: wardLinhTrung, School: "Trường Tiểu học Linh Trung"},
			{Code: codeB, WardCode: wardLinhTrung, School: "Trường Tiểu học Linh Trung"}}) {
		t.Errorf("ClaimBlockOf(two) = %+v, %v; want the list's two, not the chat's registration", b, err)
	}
	// Nothing counted: nothing to clear, nothing written.
	before := len(auditRows(t, w.db, codeC))
	if b, err := w.claims.Unblock(ctx, phoneOne, "telegram:7001"); err != nil || b.Failures != 0 || b.Blocked || len(b.Holders) != 1 {
		t.Errorf("Unblock of a clean phone = %+v, %v", b, err)
	}
	if got := len(auditRows(t, w.db, codeC)); got != before {
		t.Errorf("Unblock of a clean phone audited %d rows", got-before)
	}

	for i := range campaign.ClaimTriesMax {
		w.claim(t, phoneOne, birthB, family, fmt.Sprint("x", i))
	}
	if b, err := w.claims.ClaimBlockOf(ctx, phoneOne); err != nil || b.Failures != 3 || !b.Blocked || len(b.Holders) != 1 || b.Holders[0].Code != codeC {
		t.Fatalf("ClaimBlockOf(blocked) = %+v, %v", b, err)
	}
	b, err := w.claims.Unblock(ctx, phoneOne, "telegram:7001")
	if err != nil || b.Failures != 3 || !b.Blocked {
		t.Fatalf("Unblock = %+v, %v; want where it stood: 3 tries, blocked", b, err)
	}
	rows := auditRows(t, w.db, codeC)
	if last := rows[len(rows)-1]; last.Action != "registration.claim_unblock" || last.Actor != "telegram:7001" ||
		!jsonEqual(t, last.Before, `{"tries": 3, "blocked": true}`) {
		t.Errorf("audit of the unblock = %+v", last)
	}
	if n, blocked := w.unclaimed(t, phoneOne); n != 1 || blocked || claimAttempts(t, w.db, phoneOne) != 0 {
		t.Errorf("after the unblock: Unclaimed = %d, %v; %d attempts rows", n, blocked, claimAttempts(t, w.db, phoneOne))
	}
	if res := w.claim(t, phoneOne, birthB, family, "y1"); res.Failures != 1 || res.Blocked {
		t.Errorf("a wrong date after the unblock = %+v; want the first of three again", res)
	}
	if res := w.claim(t, phoneOne, birthA, family, "y2"); !slices.Equal(claimedCodes(res), []string{codeC}) {
		t.Errorf("the right date after the unblock = %+v", res)
	}

	for _, args := range [][2]string{{"0906000333", "telegram:7001"}, {phoneOne, ""}} {
		if _, err := w.claims.Unblock(ctx, args[0], args[1]); campaign.ErrorCode(err) != campaign.EINVALID {
			t.Errorf("Unblock(%q, %q) = %v, want EINVALID", args[0], args[1], err)
		}
	}
}

// TestClaimAttempts_Erasure: the wrong birth dates counted for a phone go with the erasure of the
// registration holding it, in the same transaction; while another registration not erased may
// still claim with the phone (a twin), they stay to protect it, and go with the last.
func TestClaimAttempts_Erasure(t *testing.T) {
	ctx := t.Context()
	w := newClaimWork(t)
	codeA, codeB, codeC := w.list.Accepted[0].Code, w.list.Accepted[1].Code, w.list.Accepted[2].Code
	w.claim(t, phoneTwo, birthA.AddDate(1, 0, 0), stranger, "e1")
	w.claim(t, phoneOne, birthA.AddDate(1, 0, 0), stranger, "e2")
	if claimAttempts(t, w.db, phoneTwo) != 1 || claimAttempts(t, w.db, phoneOne) != 1 {
		t.Fatal("no wrong dates counted: the test means nothing")
	}
	privacy := postgres.NewPrivacyStore(w.db, w.c)
	erased := map[string]int{} // ErasureCounts.ClaimAttempts of each erasure
	erase := func(code string) {
		t.Helper()
		e, err := privacy.EraseRegistration(ctx, code, "telegram:9001", campaign.ErasureFamilyRequest)
		if err != nil {
			t.Fatal(err)
		}
		erased[code] = e.Erased.ClaimAttempts
	}
	erase(codeA)
	if claimAttempts(t, w.db, phoneTwo) != 1 {
		t.Error("erasing one twin dropped the count that protects the other")
	}
	if b, err := w.claims.ClaimBlockOf(ctx, phoneTwo); err != nil || b.Failures != 1 || len(b.Holders) != 1 || b.Holders[0].Code != codeB {
		t.Errorf("ClaimBlockOf(two) after erasing A = %+v, %v", b, err)
	}
	erase(codeB)
	erase(codeC)
	if n := claimAttempts(t, w.db, phoneTwo) + claimAttempts(t, w.db, phoneOne); n != 0 {
		t.Errorf("%d claim_attempts rows of erased phones remain", n)
	}
	// Each erasure counts the rows it deleted: none while the twin was kept, one with each last holder.
	if want := map[string]int{codeA: 0, codeB: 1, codeC: 1}; !reflect.DeepEqual(erased, want) {
		t.Errorf("ErasureCounts.ClaimAttempts by erasure = %v, want %v", erased, want)
	}
	if found := findInDatabase(t, w.db, []string{sha256Hex(phoneTwo), sha256Hex(phoneOne)}); len(found) > 0 {
		t.Errorf("the erased phones' hashes are still in %q", found)
	}
}
