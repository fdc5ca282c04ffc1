package postgres_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// listChild is a row of a school's list, as the flows hand it to ImportList.
func listChild(row int, name, parent, phone, address string, birth time.Time) campaign.ListRow {
	return campaign.ListRow{Row: row, Registration: campaign.Registration{
		ParentName: parent, ParentPhone: phone, StudentName: name, BirthDate: birth,
		Level: campaign.LevelPrimary, Grade: 4, School: "Trường Tiểu học Linh Trung", WardCode: wardLinhTrung,
		Address: address, Circumstances: []campaign.Circumstance{campaign.CircumstancePoor},
		DeviceSituation: campaign.SituationNone, Needs: []campaign.Need{campaign.NeedTablet},
	}}
}

// TestListRows_ErasureAndRetention: a list's rows obey the same erasure and retention as a chat's
// registrations (issue 15 part 5): an administrator's erasure of one row leaves no trace of the
// child or the family and touches nothing else; the retention pass erases the rest; the list's
// own record holds counts only.
func TestListRows_ErasureAndRetention(t *testing.T) {
	ctx := t.Context()
	w := newCaseWork(t)
	chatFamily := w.register(t, "Lý Thị Giữ", func(r *campaign.Registration) {
		r.ParentName, r.ParentPhone, r.Address = "Lý Văn Giữ", "+84907000111", "5 đường Giữ Lại"
	})
	lists := postgres.NewListStore(w.db, w.c)
	sender := campaign.Staff{Channel: "telegram", ExternalID: "7001", Role: campaign.RoleWardOfficial, WardCode: wardLinhTrung}
	res, err := lists.ImportList(ctx, &campaign.ListImport{
		Sender: sender, Actor: "telegram:7001", FileHash: "0f1e2d", RowsRead: 3,
		Rows: []campaign.ListRow{
			listChild(3, "Đinh Thị Xóa", "Đinh Văn Xóa", "+84906000222", "8 hẻm Xóa Bỏ", time.Date(2012, 4, 5, 0, 0, 0, 0, time.UTC)),
			listChild(4, "Mạc Văn Hạn", "", "", "9 hẻm Hết Hạn", time.Date(2012, 6, 7, 0, 0, 0, 0, time.UTC)),
			listChild(5, "Tạ Văn Kỳ", "", "+84906000444", "10 hẻm Hết Hạn", time.Date(2011, 2, 3, 0, 0, 0, 0, time.UTC)),
		},
	})
	if err != nil || len(res.Accepted) != 3 {
		t.Fatalf("import = %+v, %v", res, err)
	}
	// Someone typed wrong birth dates to claim with both phones: claim_attempts keeps each phone
	// as its sha256, which the search below looks for as a trace of the family too.
	claims := postgres.NewClaimStore(w.db, w.c)
	for i, phone := range []string{"+84906000222", "+84906000444"} {
		r, err := claims.Claim(ctx, campaign.ClaimRequest{Phone: phone, BirthDate: time.Date(2013, 1, 1, 0, 0, 0, 0, time.UTC),
			Family: campaign.Session{Channel: "zalo", ChatID: "7213000"}, Key: fmt.Sprint("wrong-", i)})
		if err != nil || r.Failures != 1 {
			t.Fatalf("wrong date for %s = %+v, %v", phone, r, err)
		}
	}
	erasedTraces := []string{"Đinh Thị Xóa", "Đinh Văn Xóa", "+84906000222", "8 hẻm Xóa Bỏ", sha256Hex("+84906000222")}
	for _, trace := range erasedTraces {
		if found := findInDatabase(t, w.db, []string{trace}); len(found) == 0 {
			t.Fatalf("before the erasure %q is nowhere: the test means nothing", trace)
		}
	}
	before := readFigures(t, w.db, w.c)

	store := postgres.NewPrivacyStore(w.db, w.c)
	e, err := store.EraseRegistration(ctx, res.Accepted[0].Code, "telegram:9001", campaign.ErasureFamilyRequest)
	if err != nil {
		t.Fatal(err)
	}
	if e.Already || e.Code != res.Accepted[0].Code || e.Family != (campaign.Session{}) {
		t.Errorf("erasure = %+v; a list's row has no chat to forget", e)
	}
	if e.Erased.ClaimAttempts != 1 {
		t.Errorf("erasure counted %d claim attempts deleted, want 1 (its phone's)", e.Erased.ClaimAttempts)
	}
	if found := findInDatabase(t, w.db, erasedTraces); len(found) > 0 {
		t.Errorf("after erasure the list's row is still in %q", found)
	}
	kept := []string{"Mạc Văn Hạn", "9 hẻm Hết Hạn", "Lý Thị Giữ", "Lý Văn Giữ", "5 đường Giữ Lại", "Tạ Văn Kỳ", sha256Hex("+84906000444")}
	for _, trace := range kept {
		if found := findInDatabase(t, w.db, []string{trace}); len(found) == 0 {
			t.Errorf("%q (the other rows, their phone's wrong dates, the chat's family) went with the erasure", trace)
		}
	}
	if after := readFigures(t, w.db, w.c); !reflect.DeepEqual(after, before) {
		t.Errorf("figures changed:\n%+v\nwant\n%+v", after, before)
	}
	got, err := w.regs.ByCode(ctx, res.Accepted[0].Code)
	if err != nil || !got.Erased() || got.WardCode != wardLinhTrung || got.Grade != 4 {
		t.Errorf("erased row reads %+v, %v", got, err)
	}

	// The retention pass erases the list's other row with the chat's registration.
	w.db.Now = func() time.Time { return w.c.RetentionEnd().Add(time.Hour) }
	rest, err := store.AnonymizeExpired(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rest.ClaimAttempts != 1 {
		t.Errorf("the retention pass counted %d claim attempts deleted, want 1 (+84906000444's)", rest.ClaimAttempts)
	}
	if found := findInDatabase(t, w.db, kept); len(found) > 0 {
		t.Errorf("after the retention pass still in %q", found)
	}
	for _, code := range []string{res.Accepted[1].Code, res.Accepted[2].Code, chatFamily.Code} {
		if r, err := w.regs.ByCode(ctx, code); err != nil || !r.Erased() {
			t.Errorf("%s after the retention pass: %+v, %v", code, r, err)
		}
	}
}

// sha256Hex is how claim_attempts names a phone.
func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
