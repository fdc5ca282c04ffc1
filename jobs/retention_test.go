package jobs_test

import (
	"archive/zip"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"
	goredis "github.com/redis/go-redis/v9"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/export"
	"github.com/thuduc/maytinhchoem/jobs"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	"github.com/thuduc/maytinhchoem/storage/redis"
	"github.com/thuduc/maytinhchoem/storage/redis/redistest"
)

// The family whose data the retention tests erase, and the texts that must be gone after.
const (
	retChild   = "Hoàng Gia Bảo"
	retParent  = "Ngô Thị Thu"
	retPhone   = "+84987654321"
	retAddress = "45/3 đường Hoàng Diệu 2"
	retSchool  = "Trường Tiểu học Bình Chiểu"
)

var retTraces = []string{retChild, campaign.Fold(retChild), retParent, retPhone, "0987654321", retAddress, retSchool,
	"2013-02-14", "14/02/2013"}

// retentionRig is a database, a Redis and a reports directory as a bot process has them, with
// the stores the erasure touches.
type retentionRig struct {
	t       *testing.T
	c       *campaign.Campaign
	db      *postgres.DB
	raw     *sql.DB
	client  *goredis.Client
	prefix  string
	dialogs *redis.Store
	dir     string
	clock   time.Time
	job     *jobs.Retention
}

func newRetentionRig(t *testing.T) *retentionRig {
	t.Helper()
	tdb := newTestDB(t)
	r := &retentionRig{t: t, c: campaign.Default(), db: tdb.pool(), raw: tdb.raw, dir: filepath.Join(t.TempDir(), "reports"),
		clock: time.Date(2021, 9, 15, 2, 0, 0, 0, time.UTC)}
	r.db.Now = func() time.Time { r.clock = r.clock.Add(time.Second); return r.clock }
	r.client, r.prefix = redistest.New(t)
	r.dialogs = redis.New(r.client, redis.Options{Prefix: r.prefix})
	if err := jobs.EnsureDir(r.dir); err != nil {
		t.Fatal(err)
	}
	r.job = &jobs.Retention{Campaign: r.c, Store: postgres.NewPrivacyStore(r.db, r.c), Dialogs: r.dialogs,
		Chats: map[string]jobs.ChatForgetter{"zalo": redis.NewChannelState(r.client, r.prefix+"zalo:1:")},
		Dir:   r.dir, Now: func() time.Time { return r.clock }}
	return r
}

// register submits the family's registration (or another's, with edit) from telegram chat.
func (r *retentionRig) register(chat, name string, edit func(*campaign.Registration)) campaign.Registration {
	r.t.Helper()
	reg := campaign.Registration{
		Channel: "telegram", ChatID: chat, UserID: chat, Language: "vi", ParentName: retParent, ParentPhone: retPhone,
		StudentName: name, BirthDate: time.Date(2013, 2, 14, 0, 0, 0, 0, time.UTC), Level: campaign.LevelPrimary, Grade: 3,
		School: retSchool, WardCode: "26794", Address: retAddress, DeviceSituation: campaign.SituationNone,
		Needs: []campaign.Need{campaign.NeedLaptop}, IdempotencyKey: "form-" + chat, ConsentAt: r.clock,
	}
	if edit != nil {
		edit(&reg)
	}
	if _, err := postgres.NewRegistrationStore(r.db, r.c).SubmitRegistration(r.t.Context(), &reg); err != nil {
		r.t.Fatal(err)
	}
	return reg
}

// retentionStaff are the official and the volunteer of the rig.
var (
	retOfficial  = campaign.Staff{Channel: "telegram", ExternalID: "8001", Name: "Phạm Thị Lan", Role: campaign.RoleCityOfficial}
	retVolunteer = campaign.Staff{Channel: "telegram", ExternalID: "7001", Name: "Lê Văn Tâm", Role: campaign.RoleVolunteer}
)

// deliverLaptop takes the registration through approval, a donor's laptop, allocation and
// hand-over, telling the family at each step through the outbox, and returns the pledge.
func (r *retentionRig) deliverLaptop(reg campaign.Registration) campaign.Pledge {
	r.t.Helper()
	ctx := r.t.Context()
	cases := postgres.NewCaseStore(r.db, r.c)
	family := campaign.Session{Channel: reg.Channel, ChatID: reg.ChatID}
	tell := func(key, text string) []campaign.OutboxMessage {
		return []campaign.OutboxMessage{{Key: key, Channel: family.Channel, ChatID: family.ChatID, Text: text, Lane: campaign.OutboxNotice}}
	}
	_, err := cases.Decide(ctx, campaign.Decision{Code: reg.Code, Verdict: campaign.VerdictApprove}, retOfficial,
		func(g campaign.Registration) []campaign.OutboxMessage {
			return tell("notice:decision:"+g.Code+":k", "Hồ sơ của em "+g.StudentName+" đã được duyệt")
		})
	if err != nil {
		r.t.Fatal(err)
	}
	p := campaign.Pledge{Channel: "telegram", ChatID: "3001", UserID: "3001", Language: "vi", DonorKind: campaign.DonorBusiness,
		DonorName: "Công ty Ánh Dương", ContactPerson: "Võ Minh Khang", Phone: "+84908765432",
		Items: []campaign.PledgeItem{{Kind: campaign.ItemLaptop, Quantity: 1, Complete: true}}, Delivery: campaign.DeliverToFront,
		IdempotencyKey: "pledge"}
	if _, err := postgres.NewPledgeStore(r.db).SubmitPledge(ctx, &p); err != nil {
		r.t.Fatal(err)
	}
	checks := map[campaign.CheckItem]bool{}
	for _, c := range campaign.Checklist(campaign.DeviceLaptop) {
		checks[c] = true
	}
	d := campaign.Device{Type: campaign.DeviceLaptop, State: campaign.DeviceReady, PledgeCode: p.Code, Checks: checks}
	if err := postgres.NewDeviceStore(r.db).IntakeDevice(ctx, &d, retVolunteer, nil); err != nil {
		r.t.Fatal(err)
	}
	made, _, err := cases.ConfirmAllocations(ctx, []campaign.Allocation{{Code: reg.Code, DeviceLabel: d.Label}}, "a", retOfficial,
		func(dl campaign.Delivery) []campaign.OutboxMessage {
			return tell("notice:allocated:"+dl.Code+":a", "Em "+dl.StudentName+" được nhận máy; địa chỉ "+dl.Address)
		})
	if err != nil || len(made) != 1 {
		r.t.Fatalf("ConfirmAllocations = %v, %v", made, err)
	}
	_, err = cases.MarkDelivered(ctx, made[0].Code, retParent, "photo-of-"+reg.Code, "d", retVolunteer,
		func(dl campaign.Delivery) []campaign.OutboxMessage {
			return tell("notice:delivered:"+dl.Code+":d", "Đã trao máy cho "+dl.RecipientName)
		})
	if err != nil {
		r.t.Fatal(err)
	}
	return p
}

// finalReport exports the city's workbook into the reports directory as the final report does,
// and queues its message, unsent, to the official.
func (r *retentionRig) finalReport() string {
	r.t.Helper()
	ctx := r.t.Context()
	ex := export.New(postgres.NewExportSource(r.db, r.c), export.Options{Dir: r.t.TempDir(), Location: r.c.Location})
	f, err := ex.Export(ctx, campaign.ExportFilter{ShowPhones: true}, campaign.FormatXLSX)
	if err != nil {
		r.t.Fatal(err)
	}
	path := filepath.Join(r.dir, "final-report-2021-10-01-city-phones.xlsx")
	if err := os.Rename(f.Path, path); err != nil {
		r.t.Fatal(err)
	}
	_, err = postgres.NewOutbox(r.db).Enqueue(ctx, []campaign.OutboxMessage{{Key: "milestone:final_report:telegram:8001:workbook",
		Channel: "telegram", ChatID: "8001", FilePath: path, FileName: "bao-cao.xlsx"}})
	if err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, "summary-2021-09-20-city-vi.png"), []byte("\x89PNG chart"), jobs.ReportFileMode); err != nil {
		r.t.Fatal(err)
	}
	return path
}

// findEverywhere returns where any of traces is still found: any column of any table (listed
// from information_schema), any Redis key under the rig's prefix (its name or its value), any
// file of the reports directory (inside workbooks too, which are ZIP archives).
func (r *retentionRig) findEverywhere(traces []string) []string {
	r.t.Helper()
	var found []string
	tables, err := r.raw.Query(`SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`)
	if err != nil {
		r.t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		if err := tables.Scan(&n); err != nil {
			r.t.Fatal(err)
		}
		names = append(names, n)
	}
	tables.Close()
	for _, table := range names {
		for _, trace := range traces {
			var n int
			err := r.raw.QueryRow(`SELECT count(*) FROM `+pq.QuoteIdentifier(table)+` x WHERE strpos(x::text, $1) > 0`, trace).Scan(&n)
			if err != nil {
				r.t.Fatal(err)
			}
			if n > 0 {
				found = append(found, "table "+table+": "+trace)
			}
		}
	}

	ctx := context.Background()
	iter := r.client.Scan(ctx, 0, r.prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		var text []string
		switch r.client.Type(ctx, key).Val() {
		case "string":
			text = append(text, r.client.Get(ctx, key).Val())
		case "hash":
			for k, v := range r.client.HGetAll(ctx, key).Val() {
				text = append(text, k, v)
			}
		}
		for _, trace := range traces {
			if strings.Contains(key+"\n"+strings.Join(text, "\n"), trace) {
				found = append(found, "redis "+key+": "+trace)
			}
		}
	}
	if err := iter.Err(); err != nil {
		r.t.Fatal(err)
	}

	entries, err := os.ReadDir(r.dir)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(r.dir, e.Name()))
		if err != nil {
			r.t.Fatal(err)
		}
		contents := [][]byte{b}
		if zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b))); err == nil {
			for _, f := range zr.File {
				rc, err := f.Open()
				if err != nil {
					r.t.Fatal(err)
				}
				inner, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					r.t.Fatal(err)
				}
				contents = append(contents, inner)
			}
		}
		for _, trace := range traces {
			for _, c := range contents {
				if bytes.Contains(c, []byte(trace)) {
					found = append(found, "file "+e.Name()+": "+trace)
					break
				}
			}
		}
	}
	return found
}

// progress reads the figures the summary reads, and what the donor is told of their laptop.
func (r *retentionRig) progress(donor campaign.Session) (campaign.Progress, []campaign.PledgeProgress) {
	r.t.Helper()
	p, err := postgres.NewProgressStore(r.db, r.c).Progress(r.t.Context(), time.Date(2021, 9, 25, 0, 0, 0, 0, time.UTC), "")
	if err != nil {
		r.t.Fatal(err)
	}
	pledges, err := postgres.NewPledgeStore(r.db).PledgesByChat(r.t.Context(), donor.Channel, donor.ChatID)
	if err != nil {
		r.t.Fatal(err)
	}
	return p, pledges
}

// The test, end to end: an administrator erases, on the family's written request, a
// registration that went all the way to a delivered laptop, with the family's form still in
// Redis and the final report's workbook waiting in the reports directory. Afterwards no table,
// Redis key or file holds the child's or the parent's name, the phone, the address, the school
// or the birth date; the figures and what the donor is told are what they were.
func TestRetention_Erase_NoTraceAnywhere(t *testing.T) {
	ctx := t.Context()
	rig := newRetentionRig(t)
	reg := rig.register("2001", retChild, nil)
	pledge := rig.deliverLaptop(reg)
	form, _ := json.Marshal(map[string]any{"flow": "registration", "answers": map[string]string{"student_name": retChild, "parent_phone": retPhone}})
	if ok, err := rig.dialogs.Save(ctx, "telegram", "2001", 0, form, "u9"); err != nil || !ok {
		t.Fatal(ok, err)
	}
	workbook := rig.finalReport()

	donor := campaign.Session{Channel: pledge.Channel, ChatID: pledge.ChatID}
	wantProgress, wantPledges := rig.progress(donor)
	if len(wantPledges) != 1 || len(wantPledges[0].Delivered) != 1 || wantProgress.Delivered != 1 {
		t.Fatalf("before erasure: progress %+v, donor's pledges %+v", wantProgress, wantPledges)
	}
	before := rig.findEverywhere(retTraces)
	for _, where := range []string{"table registrations", "table students", "table outbox", "redis ", "file final-report"} {
		if !slices.ContainsFunc(before, func(s string) bool { return strings.HasPrefix(s, where) }) {
			t.Fatalf("before erasure nothing in %q (%q): the search or the chain is broken", where, before)
		}
	}

	e, err := rig.job.Erase(ctx, reg.Code, "telegram:1", campaign.ErasureFamilyRequest)
	if err != nil {
		t.Fatal(err)
	}
	if e.Already || !e.DialogErased || e.FilesRemoved != 1 || e.Kept.Status != campaign.StatusDelivered {
		t.Errorf("erasure = %+v", e)
	}
	if found := rig.findEverywhere(retTraces); len(found) > 0 {
		t.Errorf("after erasure the family is still in %q", found)
	}
	if _, err := os.Stat(workbook); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the workbook is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(rig.dir, "summary-2021-09-20-city-vi.png")); err != nil {
		t.Errorf("the chart went too: %v", err)
	}
	var status string
	if err := rig.raw.QueryRow(`SELECT status FROM outbox WHERE key LIKE 'milestone:%'`).Scan(&status); err != nil || status != "failed" {
		t.Errorf("the workbook's message is %q, %v; want it withdrawn", status, err)
	}
	// The school is the family's data: erased, the child counts among the registrations without
	// a school, and every other figure stays.
	if len(wantProgress.Schools) != 1 || wantProgress.Schools[0].Key == "" {
		t.Fatalf("before erasure: schools %+v, want the child's", wantProgress.Schools)
	}
	wantProgress.Schools[0].Key, wantProgress.Schools[0].Name = "", ""
	gotProgress, gotPledges := rig.progress(donor)
	if !reflect.DeepEqual(gotProgress, wantProgress) || !reflect.DeepEqual(gotPledges, wantPledges) {
		t.Errorf("figures after erasure:\n%+v\n%+v\nwant\n%+v\n%+v", gotProgress, gotPledges, wantProgress, wantPledges)
	}

	again, err := rig.job.Erase(ctx, reg.Code, "telegram:1", campaign.ErasureFamilyRequest)
	if err != nil || !again.Already || again.FilesRemoved != 0 {
		t.Errorf("erasing again = %+v, %v", again, err)
	}
}

// The family erasing from its own chat leaves the dialog to the turn's own save.
func TestRetention_Erase_FromTheFamilysChat(t *testing.T) {
	ctx := t.Context()
	rig := newRetentionRig(t)
	reg := rig.register("2002", retChild, nil)
	if ok, err := rig.dialogs.Save(ctx, "telegram", "2002", 0, []byte(`{"flow":"mydata"}`), ""); err != nil || !ok {
		t.Fatal(ok, err)
	}
	e, err := rig.job.Erase(ctx, reg.Code, "telegram:2002", campaign.ErasureFamilySelf)
	if err != nil || e.DialogErased {
		t.Fatalf("Erase = %+v, %v", e, err)
	}
	if data, version, _, err := rig.dialogs.Load(ctx, "telegram", "2002", ""); err != nil || version != 1 || string(data) != `{"flow":"mydata"}` {
		t.Errorf("the turn's dialog = %q v%d, %v; want it as the turn loaded it", data, version, err)
	}
	// The tombstone is the family's, never its chat: the audit log is append-only.
	var actor string
	if err := rig.raw.QueryRow(`SELECT actor FROM audit_log WHERE action = $1 AND subject = $2`,
		campaign.ErasureActionRegistration, reg.Code).Scan(&actor); err != nil || actor != campaign.FamilyActor {
		t.Errorf("tombstone by %q, %v; want %q", actor, err, campaign.FamilyActor)
	}
	if _, err := rig.job.Erase(ctx, "TD-999999", "telegram:2002", campaign.ErasureFamilySelf); campaign.ErrorCode(err) != campaign.ENOTFOUND {
		t.Errorf("unknown code: %v", err)
	}
}

// Zalo's numbered lists of the family's chat go with the rest.
func TestRetention_Erase_ZaloLists(t *testing.T) {
	ctx := t.Context()
	rig := newRetentionRig(t)
	reg := rig.register("7213456789", retChild, func(r *campaign.Registration) { r.Channel = "zalo" })
	menus := redis.NewChannelState(rig.client, rig.prefix+"zalo:1:")
	if err := menus.SetMenu(ctx, "7213456789", []byte(`["`+retChild+`"]`), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := rig.job.Erase(ctx, reg.Code, "system", campaign.ErasureFamilyRequest); err != nil {
		t.Fatal(err)
	}
	if found := rig.findEverywhere(retTraces); len(found) > 0 {
		t.Errorf("after erasure still in %q", found)
	}
}

// Before the retention's end the job does nothing; after it, it anonymises everything once, and
// removes the workbooks written before the end; later runs find nothing.
func TestRetention_Run(t *testing.T) {
	ctx := t.Context()
	rig := newRetentionRig(t)
	reg := rig.register("2003", retChild, nil)
	rig.deliverLaptop(reg)
	workbook := rig.finalReport()
	old := rig.c.RetentionEnd().Add(-time.Hour)
	if err := os.Chtimes(workbook, old, old); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(rig.dir, "final-report-next.xlsx")
	if err := os.WriteFile(fresh, []byte("x"), jobs.ReportFileMode); err != nil {
		t.Fatal(err)
	}
	tick := jobs.Tick{ScheduledFor: time.Date(2022, 3, 30, 20, 30, 0, 0, time.UTC)}

	rig.clock = rig.c.RetentionEnd().Add(-time.Minute)
	res, err := rig.job.Run(ctx, tick)
	if err != nil || res.Skipped != "personal data is kept until 2022-03-30" || res.Registrations != 0 {
		t.Fatalf("before the end: %+v, %v", res, err)
	}
	if _, err := os.Stat(workbook); err != nil {
		t.Fatalf("workbook removed before the end: %v", err)
	}

	rig.clock = rig.c.RetentionEnd().Add(3*time.Hour + 30*time.Minute)
	res, err = rig.job.Run(ctx, jobs.Tick{ScheduledFor: rig.clock})
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped != "" || res.Registrations != 1 || res.Pledges != 1 || res.FilesRemoved != 1 || res.Date != "2022-03-31" {
		t.Errorf("first run = %+v", res)
	}
	// The workbook's message, queued during the campaign and never sent, is gone with the others.
	var pending int
	if err := rig.raw.QueryRow(`SELECT count(*) FROM outbox WHERE status = 'pending'`).Scan(&pending); err != nil || pending != 0 {
		t.Errorf("%d messages still to send, %v", pending, err)
	}
	if found := rig.findEverywhere(append(slices.Clone(retTraces), "Võ Minh Khang", "+84908765432")); len(found) > 0 {
		t.Errorf("after the retention run still in %q", found)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a workbook written after the end went too: %v", err)
	}
	b, _ := json.Marshal(res)
	if !strings.Contains(string(b), `"registrations":1`) {
		t.Errorf("result as stored = %s", b)
	}

	res, err = rig.job.Run(ctx, jobs.Tick{ScheduledFor: rig.clock.Add(24 * time.Hour)})
	if err != nil || res.Registrations != 0 || res.Pledges != 0 || res.FilesRemoved != 0 || res.Anonymization != (campaign.Anonymization{}) {
		t.Errorf("second run = %+v, %v; want nothing left", res, err)
	}
}

// The retention ends at the end of the day RetentionMonths after the campaign's last day, in its
// time zone; the campaign file sets the months, 6 unless it says.
func TestRetention_Deadline(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		want        string // the first moment past the retention, local
		wantErr     string
	}{
		{"default", ``, "2022-03-31T00:00:00+07:00", ""},
		{"one month", `,"retention_months":1`, "2021-10-31T00:00:00+07:00", ""},
		{"short month", `,"retention_months":6,"end":"2021-08-31"`, "2022-03-01T00:00:00+07:00", ""},
		{"zero", `,"retention_months":0`, "", "retention_months"},
		{"negative", `,"retention_months":-3`, "", "retention_months"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := `{"id":"x","name":{"vi":"X"},"registration_prefix":"X","start":"2021-08-01","end":"2021-09-30",
				"wards":[{"code":"1","name":"Phường Một"}]` + tc.extra + `}`
			if strings.Contains(tc.extra, `"end"`) {
				file = strings.Replace(file, `"end":"2021-09-30",`, "", 1)
			}
			c, err := campaign.Parse([]byte(file), nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse = %v, want an error about %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.RetentionEnd().Format(time.RFC3339); got != tc.want {
				t.Errorf("RetentionEnd = %s, want %s", got, tc.want)
			}
			end := c.RetentionEnd()
			if c.RetentionOver(end.Add(-time.Nanosecond)) || !c.RetentionOver(end) {
				t.Error("RetentionOver is not the end")
			}
		})
	}
	if d := campaign.Default(); d.RetentionMonths != 6 || d.Schedule.Retention != "30 3 * * *" {
		t.Errorf("default campaign: %d months, retention at %q", d.RetentionMonths, d.Schedule.Retention)
	}
}
