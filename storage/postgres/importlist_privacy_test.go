package postgres_test

import (
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
		Sender: sender, Actor: "telegram:7001", FileHash: "0f1e2d", RowsRead: 2,
		Rows: []campaign.ListRow{
			listChild(3, "Đinh Thị Xóa", "Đinh Văn Xóa", "+84906000222", "8 hẻm Xóa Bỏ", time.Date(2012, 4, 5, 0, 0, 0, 0, time.UTC)),
			listChild(4, "Mạc Văn Hạn", "", "", "9 hẻm Hết Hạn", time.Date(2012, 6, 7, 0, 0, 0, 0, time.UTC)),
		},
	})
	if err != nil || len(res.Accepted) != 2 {
		t.Fatalf("import = %+v, %v", res, err)
	}
	erasedTraces := []string{"Đinh Thị Xóa", "Đinh Văn Xóa", "+84906000222", "8 hẻm Xóa Bỏ"}
	if found := findInDatabase(t, w.db, erasedTraces); len(found) == 0 {
		t.Fatal("before the erasure the row is nowhere: the test means nothing")
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
	if found := findInDatabase(t, w.db, erasedTraces); len(found) > 0 {
		t.Errorf("after erasure the list's row is still in %q", found)
	}
	if found := findInDatabase(t, w.db, []string{"Mạc Văn Hạn", "9 hẻm Hết Hạn", "Lý Thị Giữ", "Lý Văn Giữ", "5 đường Giữ Lại"}); len(found) < 3 {
		t.Errorf("the other row and the chat's family are found only in %q", found)
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
	if _, err := store.AnonymizeExpired(ctx); err != nil {
		t.Fatal(err)
	}
	if found := findInDatabase(t, w.db, []string{"Mạc Văn Hạn", "9 hẻm Hết Hạn", "Lý Thị Giữ", "Lý Văn Giữ", "5 đường Giữ Lại"}); len(found) > 0 {
		t.Errorf("after the retention pass still in %q", found)
	}
	for _, code := range []string{res.Accepted[1].Code, chatFamily.Code} {
		if r, err := w.regs.ByCode(ctx, code); err != nil || !r.Erased() {
			t.Errorf("%s after the retention pass: %+v, %v", code, r, err)
		}
	}
}
