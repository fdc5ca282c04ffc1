package main

import (
	"archive/zip"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"
	goredis "github.com/redis/go-redis/v9"

	"github.com/thuduc/maytinhchoem/bot/zalo/zalotest"
	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/export"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

// family is what a family of the /mydata tests types into the form: each family's own, so that
// finding one of its texts after its erasure can only be a leak.
type family struct {
	parent, phone, child, birth, school, address string
}

// e164 is the family's phone as stored.
func (f family) e164() string {
	return "+84" + strings.TrimPrefix(strings.ReplaceAll(f.phone, " ", ""), "0")
}

// traces are the texts no table, Redis key, outbox row or file may hold once the family is
// erased: the names (also without diacritics), the phone as stored, typed and shown, the
// address, the school, the birth date as stored and as shown.
func (f family) traces() []string {
	digits := strings.ReplaceAll(f.phone, " ", "")
	b, _ := time.Parse("02/01/2006", f.birth)
	return []string{f.child, campaign.Fold(f.child), f.parent, campaign.Fold(f.parent), f.e164(), digits, f.phone, digits[1:],
		f.address, f.school, b.Format(time.DateOnly), f.birth}
}

// registerOnTelegram walks the family's form on Telegram (a child of Linh Trung, lower
// secondary, who needs a laptop, with circumstance) and returns the registration's code.
func (f family) registerOnTelegram(t *testing.T, p *parent, circumstance string) string {
	t.Helper()
	p.say("/start dangky", 1)
	p.press("r:consent:yes", 1)
	p.say(f.parent, 1)
	p.h.emu.SendContact(p.chat, p.user, f.e164(), p.user.ID)
	p.waitNew(1) // the number said with the next question
	p.answerChild(child{name: f.child, birth: f.birth, level: "lower_secondary", grade: "7", school: f.school,
		address: f.address, circumstance: circumstance, need: "laptop"})
	done := p.press("r:review:submit", 1)
	code := regexp.MustCompile(`TD-\d{6}`).FindString(done.Text)
	if code == "" {
		t.Fatalf("no registration code in %q", done.Text)
	}
	return code
}

// registerOnZalo walks the family's form on Zalo, the phone shared from the OA's card, and
// returns the registration's code.
func (f family) registerOnZalo(t *testing.T, p *zperson) string {
	t.Helper()
	p.say("/start dangky", 1)
	p.press("r:consent:yes", 1)
	if card := p.say(f.parent, 2); card.RequestInfo == nil {
		t.Fatalf("zalo: the phone was not asked with request_user_info: %+v", card)
	}
	if _, err := p.h.zemu.SubmitInfo(p.id, "Phụ huynh", strings.ReplaceAll(f.phone, " ", "")); err != nil {
		t.Fatal(err)
	}
	p.waitNew(1)
	p.say(f.child, 1)
	p.say(f.birth, 1)
	if asked := p.say("7", 1); strings.Contains(zButtons(asked), "r:grade_check:yes") { // the grade says the level
		p.choose("r:grade_check:yes", 1)
	}
	p.say(f.school, 1)
	p.say("linh trung", 1)
	p.say(f.address, 1)
	p.choose("r:circumstances:poor", 1)
	p.choose("r:circumstances:!done", 1)
	p.choose("r:device_situation:none", 1)
	p.choose("r:needs:laptop", 1)
	review := p.choose("r:needs:!done", 1)
	if !strings.Contains(review.Text, f.child) || !strings.Contains(review.Text, f.phone) {
		t.Fatalf("zalo: review lacks the family:\n%s", review.Text)
	}
	done := p.choose("r:review:submit", 1)
	code := regexp.MustCompile(`TD-\d{6}`).FindString(done.Text)
	if code == "" {
		t.Fatalf("zalo: no code in %q", done.Text)
	}
	return code
}

// findEverywhere returns where any of traces is: any column of any table (listed from
// information_schema, so a table added later is searched too; bytea columns as bytes), the name
// or value of any of the bot's Redis keys, whatever its type, and any file under dirs (inside
// workbooks and archives too).
func findEverywhere(t *testing.T, h *harness, dirs []string, traces []string) []string {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("postgres", h.env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	if len(tables) < 20 {
		t.Fatalf("only tables %v", tables)
	}
	var found []string
	for _, table := range tables {
		conds := []string{`strpos(x::text, $1) > 0`}
		cols, err := db.QueryContext(ctx, `SELECT column_name FROM information_schema.columns
			WHERE table_schema = 'public' AND table_name = $1 AND data_type = 'bytea'`, table)
		if err != nil {
			t.Fatal(err)
		}
		for cols.Next() {
			var c string
			if err := cols.Scan(&c); err != nil {
				t.Fatal(err)
			}
			conds = append(conds, `position(convert_to($1, 'UTF8') in x.`+pq.QuoteIdentifier(c)+`) > 0`)
		}
		cols.Close()
		for _, trace := range traces {
			var n int
			err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+pq.QuoteIdentifier(table)+` x WHERE `+strings.Join(conds, " OR "), trace).Scan(&n)
			if err != nil {
				t.Fatalf("search %s: %v", table, err)
			}
			if n > 0 {
				found = append(found, "table "+table+": "+trace)
			}
		}
	}

	opts, err := goredis.ParseURL(redisURL())
	if err != nil {
		t.Fatal(err)
	}
	client := goredis.NewClient(opts)
	defer client.Close()
	iter := client.Scan(ctx, 0, h.env["REDIS_KEY_PREFIX"]+"*", 100).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		values := []string{key}
		switch typ := client.Type(ctx, key).Val(); typ {
		case "string":
			values = append(values, client.Get(ctx, key).Val())
		case "hash":
			for k, v := range client.HGetAll(ctx, key).Val() {
				values = append(values, k, v)
			}
		case "list":
			values = append(values, client.LRange(ctx, key, 0, -1).Val()...)
		case "set":
			values = append(values, client.SMembers(ctx, key).Val()...)
		case "zset":
			values = append(values, client.ZRange(ctx, key, 0, -1).Val()...)
		case "stream":
			for _, m := range client.XRange(ctx, key, "-", "+").Val() {
				b, _ := json.Marshal(m.Values)
				values = append(values, string(b))
			}
		case "none":
		default:
			t.Fatalf("redis key %s has a type the search cannot read: %s", key, typ)
		}
		all := strings.Join(values, "\n")
		for _, trace := range traces {
			if strings.Contains(all, trace) {
				found = append(found, "redis "+key+": "+trace)
			}
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}

	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			contents := [][]byte{b}
			if zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b))); err == nil {
				for _, f := range zr.File {
					rc, err := f.Open()
					if err != nil {
						return err
					}
					inner, err := io.ReadAll(rc)
					rc.Close()
					if err != nil {
						return err
					}
					contents = append(contents, inner)
				}
			}
			for _, trace := range traces {
				if slices.ContainsFunc(contents, func(c []byte) bool { return bytes.Contains(c, []byte(trace)) }) {
					found = append(found, "file "+path+": "+trace)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return found
}

// noTraceOf waits until nothing of traces is found anywhere (the last replies' records leave
// Redis as they are sent), failing with where they still are after a few seconds.
func noTraceOf(t *testing.T, h *harness, dirs, traces []string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		found := findEverywhere(t, h, dirs, traces)
		if len(found) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("after the erasure the family is still in %q", found)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// finalReport writes the city's workbook into the reports directory, as the final report does,
// with its message queued to the official for later: it lists every family.
func finalReport(t *testing.T, h *harness, dir, officialChat string) string {
	t.Helper()
	ctx := context.Background()
	c := campaign.Default()
	ex := export.New(postgres.NewExportSource(h.db, c), export.Options{Dir: t.TempDir(), Location: c.Location})
	f, err := ex.Export(ctx, campaign.ExportFilter{ShowPhones: true}, campaign.FormatXLSX)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "final-report-2021-10-01-city-phones.xlsx")
	if err := os.Rename(f.Path, path); err != nil {
		t.Fatal(err)
	}
	_, err = postgres.NewOutbox(h.db).Enqueue(ctx, []campaign.OutboxMessage{{Key: "milestone:final_report:telegram:" + officialChat + ":workbook",
		Channel: "telegram", ChatID: officialChat, FilePath: path, FileName: "bao-cao.xlsx", NotBefore: time.Now().Add(24 * time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// registration reads a registration as stored.
func (h *harness) registration(code string) campaign.Registration {
	h.t.Helper()
	r, err := postgres.NewRegistrationStore(h.db, campaign.Default()).ByCode(context.Background(), code)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

// /mydata on Telegram, end to end: a family whose child was verified and allocated a laptop
// asks for its address to be corrected (a request the ward's official receives), withdraws (the
// volunteer who went there is told, the laptop goes back to the pool and /allocate gives it to
// the next child), then deletes its data: afterwards no table, Redis key, outbox row, report or
// export file holds the child's or the parent's name, the phone, the addresses, the school or the
// birth date, and the figures still count the registration.
func TestServe_MyData_Telegram(t *testing.T) {
	reports, exports := t.TempDir(), t.TempDir()
	h := newHarness(t, map[string]string{"ADMIN_TELEGRAM_IDS": "9601", "REPORTS_DIR": reports, "EXPORT_DIR": exports})
	admin := h.parent(9601, "vi")
	official := h.parent(9602, "vi")
	edu := h.parent(9603, "vi")
	volunteer := h.parent(9604, "vi")
	donor := h.parent(9605, "vi")
	famA, famB := h.parent(9606, "vi"), h.parent(9607, "vi")
	official.say("/start "+inviteWard(t, admin, "ward_official", "26800"), 1)
	edu.say("/start "+invite(t, admin, "education_office"), 1)
	volunteer.say("/start "+invite(t, admin, "volunteer"), 1)

	a := family{parent: "Đinh Thị Thu Hà", phone: "0938 111 222", child: "Đinh Gia Bảo", birth: "17/03/2009",
		school: "Trường THCS Nguyễn Văn Bá", address: "77 đường số 9, khu phố 4"}
	b := family{parent: "Phan Văn Lộc", phone: "0977 333 444", child: "Phan Ngọc Trâm", birth: "02/11/2009",
		school: "Trường THCS Linh Trung", address: "5 đường Hoàng Diệu 2"}
	codeA := a.registerOnTelegram(t, famA, "orphan_one_covid")
	codeB := b.registerOnTelegram(t, famB, "poor")

	// Both verified; one laptop, which goes to the first (orphaned) child.
	official.say("/verify", 1)
	official.press("v:ok:"+codeA, 1)
	official.press("v:ok:"+codeB, 1)
	famA.waitNew(1)
	famB.waitNew(1)
	pledge := pledgeLaptops(t, donor, "1")
	label := regexp.MustCompile(`TB-\d{6}`).FindString(intakeReadyLaptop(t, volunteer, pledge, "lower_secondary").Text)
	donor.waitNew(1)
	proposal := edu.say("/allocate", 1)
	if !strings.Contains(proposal.Text, codeA) || strings.Contains(proposal.Text, codeB) {
		t.Fatalf("/allocate proposes %q", proposal.Text)
	}
	edu.press(buttonWithPrefix(t, proposal, "a:ok:"), 1)
	delivery := regexp.MustCompile(`GH-\d{6}`).FindString(buttonsOf(famA.waitNew(1)[0]))
	// The volunteer went there; nobody was home.
	volunteer.say("/deliveries", 2)
	volunteer.press("d:fail:"+delivery, 1)
	volunteer.press("d:fr:"+delivery+":not_home", 1)
	famA.waitNew(1)

	// A correction after verification is a request the ward's official receives.
	moved := "12A hẻm 34 Lê Văn Chí, khu phố 1"
	shown := famA.say("/mydata", 1)
	for _, want := range []string{codeA, a.child, a.phone, a.address, a.school, a.birth, "md:fix:address:" + codeA, "Rút hồ sơ", "Xóa dữ liệu"} {
		if !strings.Contains(buttonsOf(shown), want) {
			t.Errorf("/mydata lacks %q:\n%s", want, buttonsOf(shown))
		}
	}
	famA.press("md:fix:address:"+codeA, 1)
	if got := famA.say(moved, 1); !strings.Contains(got.Text, "yêu cầu") {
		t.Errorf("the correction's confirmation = %q", got.Text)
	}
	famA.press("md:yes:"+codeA, 1)
	if told := official.waitNew(1)[0]; !strings.Contains(told.Text, codeA) || !strings.Contains(told.Text, moved) ||
		!strings.Contains(buttonsOf(told), "v:back:"+codeA) {
		t.Errorf("the ward's official was told %q", buttonsOf(told))
	}
	if r := h.registration(codeA); r.Address != a.address || r.Status != campaign.StatusAllocated {
		t.Errorf("after the request the registration reads %+v", r)
	}

	// Withdrawn: the volunteer is told, the laptop goes back and on to the next child.
	famA.say("rút hồ sơ", 1)
	famA.press("md:wd:"+codeA, 1)
	if done := famA.press("md:yes:"+codeA, 1); !strings.Contains(done.Text, "Đã rút hồ sơ "+codeA) {
		t.Errorf("withdrawal = %q", done.Text)
	}
	if told := volunteer.waitNew(1)[0]; !strings.Contains(told.Text, codeA) || !strings.Contains(told.Text, delivery) || strings.Contains(told.Text, a.child) {
		t.Errorf("the volunteer was told %q", told.Text)
	}
	dev, err := postgres.NewDeviceStore(h.db).DeviceByLabel(context.Background(), label)
	if err != nil || dev.State != campaign.DeviceReady {
		t.Errorf("the laptop after the withdrawal: %+v, %v", dev, err)
	}
	proposal = edu.say("/allocate", 1)
	if !strings.Contains(proposal.Text, codeB) || !strings.Contains(proposal.Text, label) {
		t.Fatalf("after the withdrawal /allocate proposes %q", proposal.Text)
	}
	edu.press(buttonWithPrefix(t, proposal, "a:ok:"), 1)
	if got := famB.waitNew(1)[0]; !strings.Contains(buttonsOf(got), "h:home:") {
		t.Errorf("the next family was told %q", buttonsOf(got))
	}

	// What the family's data can be found in before: the database, its dialog (the name and
	// phone offered for the next child), the officials' workbook. (An /export's file is removed
	// once sent; EXPORT_DIR is searched all the same.)
	workbook := finalReport(t, h, reports, "9603")
	traces := append(a.traces(), moved)
	before := strings.Join(findEverywhere(t, h, []string{reports, exports}, traces), "\n")
	for _, where := range []string{"table registrations", "table students", "table registration_notes", "table outbox", "redis ", "file " + workbook} {
		if !strings.Contains(before, where) {
			t.Fatalf("before the erasure nothing in %q:\n%s", where, before)
		}
	}
	figures := func() campaign.RegistrationCounts {
		p, err := postgres.NewProgressStore(h.db, campaign.Default()).Progress(context.Background(), time.Now(), "")
		if err != nil {
			t.Fatal(err)
		}
		return p.Registrations
	}
	counted := figures()

	// Deleted, after one confirmation that says what goes and what stays.
	famA.say("/mydata", 1)
	confirm := famA.press("md:del:"+codeA, 1)
	for _, want := range []string{"Sẽ xóa hẳn", "Chỉ giữ", "không hoàn tác"} {
		if !strings.Contains(confirm.Text, want) {
			t.Errorf("the deletion's confirmation lacks %q:\n%s", want, confirm.Text)
		}
	}
	if done := famA.press("md:yes:"+codeA, 1); !strings.Contains(done.Text, "Đã xóa dữ liệu cá nhân của hồ sơ "+codeA) {
		t.Errorf("deletion = %q", done.Text)
	}
	noTraceOf(t, h, []string{reports, exports}, traces)
	if _, err := os.Stat(workbook); !os.IsNotExist(err) {
		t.Errorf("the workbook is still there: %v", err)
	}
	if r := h.registration(codeA); !r.Erased() || r.Status != campaign.StatusWithdrawn || r.WardCode != "26800" || r.Grade != 7 {
		t.Errorf("the erased registration reads %+v", r)
	}
	if got := figures(); got != counted {
		t.Errorf("figures after the erasure %+v, want %+v", got, counted)
	}
	entries, err := postgres.NewAuditLog(h.db).Entries(context.Background(), codeA)
	if err != nil {
		t.Fatal(err)
	}
	if last := entries[len(entries)-1]; last.Action != campaign.ErasureActionRegistration || last.Actor != campaign.ErasedActor {
		t.Errorf("tombstone %+v", last)
	}
	if got := famA.say("/status", 1); !strings.Contains(got.Text, "Chưa có hồ sơ") {
		t.Errorf("/status after the deletion = %q", got.Text)
	}
	// The other family is untouched.
	if found := findEverywhere(t, h, nil, []string{b.child, b.parent, b.e164()}); len(found) < 3 {
		t.Errorf("the other family is found only in %q", found)
	}
	if rej := h.emu.RejectedCalls(); len(rej) > 0 {
		t.Errorf("the emulator refused calls: %+v", rej)
	}
}

// /mydata on Zalo: a family corrects its phone before verification (at once) and deletes its
// data, answering the confirmation in words; another withdraws, and an administrator on Telegram
// erases its registration on its written request. Neither leaves a trace anywhere, Zalo's
// numbered lists and inbox included.
func TestServe_MyData_Zalo(t *testing.T) {
	reports := t.TempDir()
	h := newZaloHarness(t, zalotest.Options{}, map[string]string{"ADMIN_TELEGRAM_IDS": "9701", "REPORTS_DIR": reports})
	admin := h.parent(9701, "vi")
	c := family{parent: "Võ Thị Kim Ngân", phone: "0939 222 333", child: "Võ Hoàng Phúc", birth: "21/06/2009",
		school: "Trường THCS Bình Thọ", address: "18 đường Tô Vĩnh Diện, khu phố 5"}
	d := family{parent: "Lâm Văn Sang", phone: "0966 444 555", child: "Lâm Thị Mỹ Duyên", birth: "09/12/2009",
		school: "Trường THCS Trương Văn Ngư", address: "3 đường Kha Vạn Cân, khu phố 2"}
	famC, famD := h.zalo("Ngân"), h.zalo("Sang")
	codeC := c.registerOnZalo(t, famC)
	codeD := d.registerOnZalo(t, famD)

	// Before verification a correction is made at once.
	shown := famC.say("sửa", 1)
	if !strings.Contains(shown.Text, c.child) || !strings.Contains(zButtons(shown), "#c:md:fix:phone:"+codeC) {
		t.Fatalf("zalo: /mydata = %q %s", shown.Text, zButtons(shown))
	}
	famC.press("md:fix:phone:"+codeC, 1)
	famC.say("0939 888 999", 1)
	if done := famC.press("md:yes:"+codeC, 1); !strings.Contains(done.Text, "Đã sửa số điện thoại") {
		t.Errorf("zalo: correction = %q", done.Text)
	}
	if r := h.registration(codeC); r.ParentPhone != "+84939888999" {
		t.Errorf("zalo: the phone reads %s", r.ParentPhone)
	}
	workbook := finalReport(t, h, reports, "9701")
	tracesC := append(c.traces(), "+84939888999", "0939888999", "0939 888 999")
	before := strings.Join(findEverywhere(t, h, []string{reports}, tracesC), "\n")
	for _, where := range []string{"table registrations", "table students", "table contacts", "redis ", "file " + workbook} {
		if !strings.Contains(before, where) {
			t.Fatalf("zalo: before the erasure nothing in %q:\n%s", where, before)
		}
	}

	// Deleted, confirmed in words.
	famC.say("/mydata", 1)
	famC.press("md:del:"+codeC, 1)
	if done := famC.say("có", 1); !strings.Contains(done.Text, "Đã xóa dữ liệu cá nhân của hồ sơ "+codeC) {
		t.Errorf("zalo: deletion = %q", done.Text)
	}
	noTraceOf(t, h, []string{reports}, tracesC)

	// The other family withdraws; the administrator erases it on its written request.
	famD.say("/mydata", 1)
	famD.press("md:wd:"+codeD, 1)
	famD.press("md:yes:"+codeD, 1)
	if r := h.registration(codeD); r.Status != campaign.StatusWithdrawn {
		t.Errorf("zalo: withdrawn registration reads %s", r.Status)
	}
	if found := findEverywhere(t, h, nil, d.traces()); !slices.ContainsFunc(found, func(s string) bool { return strings.HasPrefix(s, "redis ") }) ||
		!slices.ContainsFunc(found, func(s string) bool { return strings.HasPrefix(s, "table registrations") }) {
		t.Fatalf("before the erasure the family is found only in %q", found)
	}
	confirm := admin.say("/erase "+codeD+" đơn số 12 ngày 15/9/2021", 1)
	if !strings.Contains(confirm.Text, codeD) || !strings.Contains(confirm.Text, "đơn số 12") {
		t.Fatalf("/erase = %q", confirm.Text)
	}
	if done := admin.press("md:yes:"+codeD, 1); !strings.Contains(done.Text, "Đã xóa dữ liệu cá nhân của hồ sơ "+codeD) {
		t.Errorf("/erase done = %q", done.Text)
	}
	noTraceOf(t, h, []string{reports}, d.traces())
	entries, err := postgres.NewAuditLog(h.db).Entries(context.Background(), codeD)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action+" by "+e.Actor)
	}
	for _, want := range []string{"registration.withdraw by family", "registration.erase by telegram:9701", "registration.erase_request by telegram:9701"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit of %s lacks %q: %q", codeD, want, actions)
		}
	}
	if got := famD.say("/status", 1); !strings.Contains(got.Text, "Chưa có hồ sơ") {
		t.Errorf("zalo: /status after the erasure = %q", got.Text)
	}
	if rej := h.emu.RejectedCalls(); len(rej) > 0 {
		t.Errorf("telegram refused calls: %+v", rej)
	}
}
