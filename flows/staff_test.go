package flows

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/campaign/campaigntest"
	"github.com/thuduc/maytinhchoem/chat"
)

const (
	testAdmin = "9001"
	testBot   = "maytinhchoem_bot"
	wardLT    = "26800" // Phường Linh Trung
	wardTD    = "27088" // Phường Thảo Điền
)

// as makes the chat a private chat with user id.
func (c *convo) as(id string) *convo {
	c.userID = id
	c.sess.ChatID = id
	return c
}

var (
	inviteLink    = regexp.MustCompile(`https://t\.me/` + testBot + `\?start=(\S+)`)
	invitePayload = regexp.MustCompile(`^inv_[A-Za-z0-9_-]{1,60}$`)
)

// linkCode finds the invitation link in out, checks its payload and returns the code.
func linkCode(t *testing.T, out []Output) string {
	t.Helper()
	m := inviteLink.FindStringSubmatch(allText(out))
	if m == nil {
		t.Fatalf("no invitation link in%s", dump(out))
	}
	if !invitePayload.MatchString(m[1]) || len(m[1]) > 64 {
		t.Fatalf("payload %q does not fit a /start deep link", m[1])
	}
	return strings.TrimPrefix(m[1], "inv_")
}

func buttonData(out []Output) []string {
	var d []string
	for _, o := range out {
		for _, row := range o.Buttons {
			for _, b := range row {
				d = append(d, b.Data)
			}
		}
	}
	return d
}

func wantText(t *testing.T, out []Output, want string) {
	t.Helper()
	if !strings.Contains(allText(out), want) {
		t.Errorf("replies lack %q:%s", want, dump(out))
	}
}

// With Telegram and Zalo running, the invitation says how to join on each: Telegram's deep link,
// and on Zalo the OA's link and the line to send there, in the administrator's language.
func TestStaff_InviteOnEveryChannel(t *testing.T) {
	for _, lang := range []string{langVI, langEN} {
		c := newChatWith(t, func(cfg *Config) {
			cfg.Entries = func(payload string) []chat.Entry {
				return append(testEntries(payload), chat.Entry{Channel: "zalo", Name: "Zalo", URL: "https://zalo.me/4318927402956107562", Typed: "/start " + payload})
			}
		}).as(testAdmin)
		c.clientLang = lang
		c.send(cmd("invite"))
		out := c.send(press("s:role:volunteer"))
		code := linkCode(t, out)
		wantText(t, out, msg(c.e, lang, "staff.invite.entry", "Name", "Telegram", "URL", "https://t.me/"+testBot+"?start=inv_"+code))
		wantText(t, out, msg(c.e, lang, "staff.invite.entry_typed", "Name", "Zalo", "URL", "https://zalo.me/4318927402956107562", "Typed", "/start inv_"+code))
	}
}

func TestStaff_InviteCityRole(t *testing.T) {
	c := newChat(t).as(testAdmin)
	out := c.send(cmd("invite"))
	d := buttonData(out)
	if len(d) != len(campaign.StaffRoles)+1 || d[0] != "s:role:city_official" || d[len(d)-1] != "s:role:!cancel" {
		t.Fatalf("role buttons: %q", d)
	}
	for _, r := range campaign.StaffRoles {
		wantText(t, []Output{{Text: strings.Join(buttonLabels(out), "\n")}}, msg(c.e, langVI, roleLabels[r][0]))
	}
	if c.st.Flow != FlowStaff || c.st.Step != staffStepRole {
		t.Fatalf("state %+v", c.st)
	}
	out = c.send(press("s:role:city_official"))
	code := linkCode(t, out)
	inv := c.staff.Issued(code)
	if inv == nil || inv.Role != campaign.RoleCityOfficial || inv.Ward != "" || inv.CreatedBy != "telegram:"+testAdmin {
		t.Fatalf("invitation %+v", inv)
	}
	if !inv.Expires.Equal(testStart.Add(72 * time.Hour)) {
		t.Errorf("expires %v", inv.Expires)
	}
	wantText(t, out, "13/09/2021 09:00")
	wantText(t, out, msg(c.e, langVI, "staff.role.city_official"))
	if c.st.Flow != "" {
		t.Errorf("state after the link: %+v", c.st)
	}
	// The same button again is stale: one press, one invitation.
	c.send(press("s:role:city_official"))
	if c.staff.Created() != 1 {
		t.Errorf("%d invitations", c.staff.Created())
	}
}

func buttonLabels(out []Output) []string {
	var l []string
	for _, o := range out {
		for _, row := range o.Buttons {
			for _, b := range row {
				l = append(l, b.Text)
			}
		}
	}
	return l
}

func TestStaff_InviteWardRole(t *testing.T) {
	c := newChat(t).as(testAdmin)
	c.send(cmd("invite"))
	out := c.send(press("s:role:ward_official"))
	if c.st.Step != staffStepWard || c.st.Answers[staffStepRole] != string(campaign.RoleWardOfficial) {
		t.Fatalf("state %+v", c.st)
	}
	if d := buttonData(out); !slices.Contains(d, "s:ward:"+wardLT) || !slices.Contains(d, "s:ward:!p=1") || !slices.Contains(d, "s:ward:!cancel") {
		t.Fatalf("ward buttons %q", d)
	}
	out = c.send(press("s:ward:!p=1"))
	if !out[0].Replace || c.st.Page != 1 {
		t.Errorf("page flip: %+v %s", c.st, dump(out))
	}
	out = c.send(text("xyz"))
	wantText(t, out, msg(c.e, langVI, "reg.err.ward_not_found", "Query", "xyz"))
	out = c.send(text("linh trung"))
	code := linkCode(t, out)
	if inv := c.staff.Issued(code); inv.Role != campaign.RoleWardOfficial || inv.Ward != wardLT {
		t.Fatalf("invitation %+v", inv)
	}
	wantText(t, out, "Phường Linh Trung")

	// Typed in one go, by a label or other words of the role, with or without accents.
	for _, tt := range []struct {
		args string
		role campaign.Role
		ward string
	}{
		{"hội phụ nữ thảo điền", campaign.RoleWomensUnion, wardTD},
		{"womens_union Linh Trung", campaign.RoleWomensUnion, wardLT},
		{"Cán bộ phường linh trung", campaign.RoleWardOfficial, wardLT},
		{"tinh nguyen vien", campaign.RoleVolunteer, ""},
		{"education office", campaign.RoleEducationOffice, ""},
		{"phong van hoa thu duc", campaign.RoleCultureInfo, ""},
	} {
		code := linkCode(t, c.send(cmd("invite", tt.args)))
		if inv := c.staff.Issued(code); inv.Role != tt.role || inv.Ward != tt.ward {
			t.Errorf("/invite %s: %+v", tt.args, inv)
		}
		if c.st.Flow != "" {
			t.Errorf("/invite %s: state %+v", tt.args, c.st)
		}
	}
	// A ward role without a ward asks it; "binh" offers the wards it matches.
	c.send(cmd("invite", "ward_official"))
	if c.st.Step != staffStepWard {
		t.Fatalf("state %+v", c.st)
	}
	out = c.send(text("binh"))
	if d := buttonData(out); len(d) < 3 || !slices.Contains(d, "s:ward:!p=0") {
		t.Errorf("choices %q", d)
	}
	// An unknown role shows the roles.
	out = c.send(cmd("invite", "thủ quỹ"))
	wantText(t, out, msg(c.e, langVI, "staff.invite.role_unknown", "Query", "thủ quỹ"))
	if c.st.Step != staffStepRole {
		t.Errorf("state %+v", c.st)
	}
	out = c.send(text("culture"))
	linkCode(t, out)
}

func TestStaff_InviteFailures(t *testing.T) {
	c := newChat(t).as(testAdmin)
	c.send(cmd("invite"))
	before := c.st
	c.staff.CreateErr = campaign.Errorf(campaign.EUNAVAILABLE, "db down")
	if _, err := c.trySend(press("s:role:volunteer")); err == nil {
		t.Fatal("a store failure was not returned")
	}
	if !statesEqual(c.st, before) {
		t.Errorf("state changed: %+v", c.st)
	}
	c.staff.CreateErr = nil
	c.staff.Code = func(int) string { return strings.Repeat("a", 61) }
	_, err := c.trySend(press("s:role:volunteer"))
	if campaign.ErrorCode(err) != campaign.EINTERNAL || strings.Contains(err.Error(), "aaaa") {
		t.Errorf("a code too long for a link: %v", err)
	}
	c.staff.Code = func(int) string { return "bad code!" }
	if _, err := c.trySend(press("s:role:volunteer")); err == nil {
		t.Error("a code with spaces made a link")
	}
	c.staff.Code = func(int) string { return strings.Repeat("a", 60) }
	linkCode(t, c.send(press("s:role:volunteer")))
}

func TestStaff_Redeem(t *testing.T) {
	c := newChat(t).as(testAdmin)
	code := linkCode(t, c.send(cmd("invite", "ward_official linh trung")))

	c.as("2002")
	out := c.send(Input{Kind: KindCommand, Command: "start", Args: "inv_" + code, Text: "/start inv_" + code, UserName: "Trần Văn Bảo"})
	wantText(t, out, msg(c.e, langVI, "staff.redeem.welcome_ward", "Role", "Cán bộ phường", "Ward", "Phường Linh Trung"))
	m, ok := c.staff.Member("2002")
	if !ok || m.Role != campaign.RoleWardOfficial || m.WardCode != wardLT || m.Name != "Trần Văn Bảo" || m.Channel != "telegram" {
		t.Fatalf("bound %+v %v", m, ok)
	}
	out = c.send(cmd("whoami"))
	wantText(t, out, msg(c.e, langVI, "staff.whoami.role_ward", "Role", "Cán bộ phường", "Ward", "Phường Linh Trung"))

	// Used, unknown and empty codes: a polite refusal, nothing bound.
	for _, payload := range []string{"inv_" + code, "inv_nope", "inv_"} {
		c.as("3003")
		out := c.send(cmd("start", payload))
		if allText(out) != msg(c.e, langVI, "staff.redeem.invalid") {
			t.Errorf("%s:%s", payload, dump(out))
		}
		if _, ok := c.staff.Member("3003"); ok {
			t.Errorf("%s bound a role", payload)
		}
	}
	// A store failure is returned, so the bot apologises and the state is kept.
	c.staff.RedeemErr = errors.New("connection reset")
	if _, err := c.trySend(cmd("start", "inv_x")); err == nil {
		t.Error("store failure not returned")
	}
	c.staff.RedeemErr = nil
	// Outside a private chat nothing is redeemed.
	redeems := c.staff.Redeems()
	c.sess.ChatID = "-100123"
	out = c.send(cmd("start", "inv_"+code))
	wantText(t, out, msg(c.e, langVI, "staff.redeem.private_only"))
	if c.staff.Redeems() != redeems {
		t.Error("redeemed in a group")
	}
}

func TestStaff_RedeemKeepsForm(t *testing.T) {
	c := newChat(t).as(testAdmin)
	code := linkCode(t, c.send(cmd("invite", "volunteer")))
	c.as("2002")
	c.toStep(stepStudentName)
	before := c.st
	out := c.send(cmd("start", "inv_"+code))
	if len(out) != 2 || !strings.Contains(out[1].Text, msg(c.e, langVI, "reg.student_name.prompt")) {
		t.Fatalf("the form was not resumed:%s", dump(out))
	}
	if c.st.Flow != FlowRegistration || c.st.Step != stepStudentName || c.st.IdempotencyKey != before.IdempotencyKey || c.st.Answers[stepParentName] == "" {
		t.Errorf("form changed: %+v", c.st)
	}
}

func TestStaff_Refusals(t *testing.T) {
	c := newChat(t) // user 1001, no role
	refused := msg(c.e, langVI, "staff.refused")
	for _, in := range []Input{cmd("invite"), cmd("staff"), cmd("revoke", "5555"), press("s:revoke:telegram:5555"), cmd("invite", "volunteer")} {
		out := c.send(in)
		if allText(out) != refused {
			t.Errorf("%s:%s", describe(in), dump(out))
		}
		if c.st.Flow != "" {
			t.Errorf("%s: state %+v", describe(in), c.st)
		}
	}
	rows := c.audit.Refused()
	want := []string{"staff.invite", "staff.manage", "staff.manage", "staff.manage", "staff.invite"}
	if len(rows) != len(want) {
		t.Fatalf("audit rows %+v", rows)
	}
	for i, r := range rows {
		after, _ := r.After.(map[string]string)
		if r.Subject != want[i] || r.Actor != "telegram:1001" || !r.At.Equal(testStart) || after["role"] != "" || after["ward"] != "" {
			t.Errorf("row %d: %+v", i, r)
		}
	}
	if c.staff.Created() != 0 || c.staff.Revokes() != 0 {
		t.Error("a refused command changed the store")
	}

	// Staff without the right role are told their role, in their language.
	c.staff.Add("1001", "Lê Thị Hoa", campaign.RoleVolunteer, "")
	c.clientLang = "en"
	out := c.send(cmd("staff"))
	if allText(out) != msg(c.e, langEN, "staff.refused_role", "Role", "Youth Union volunteer") {
		t.Errorf("volunteer /staff:%s", dump(out))
	}
	if rows := c.audit.Refused(); rows[len(rows)-1].After.(map[string]string)["role"] != "volunteer" {
		t.Errorf("audit %+v", rows[len(rows)-1])
	}

	// A refusal that cannot be audited is an error: the bot apologises and nothing happens.
	c.audit.Err = errors.New("disk full")
	if _, err := c.trySend(cmd("invite")); err == nil {
		t.Error("audit failure not returned")
	}
	c.audit.Err = nil

	// A form in progress is asked again after the refusal.
	c.clientLang = "vi"
	c.as("4004")
	c.toStep(stepPhone)
	out = c.send(cmd("invite"))
	if len(out) != 2 || out[0].Text != refused || c.st.Step != stepPhone {
		t.Errorf("mid-form refusal:%s", dump(out))
	}
}

func TestStaff_AuthorizeWard(t *testing.T) {
	c := newChat(t).as("5005")
	c.staff.Add("5005", "Phạm Thu", campaign.RoleWardOfficial, wardLT)
	tu := &turn{e: c.e, ctx: context.Background(), sess: c.sess, in: Input{UserID: "5005"}, st: &State{}, lang: langVI, now: c.now}
	if s, ok, err := tu.authorize(campaign.ActionVerify, wardLT); !ok || err != nil || s.Role != campaign.RoleWardOfficial || len(tu.out) != 0 {
		t.Fatalf("own ward: %+v %v %v %s", s, ok, err, dump(tu.out))
	}
	if _, ok, err := tu.authorize(campaign.ActionVerify, wardTD); ok || err != nil {
		t.Fatalf("other ward allowed: %v %v", ok, err)
	}
	if allText(tu.out) != msg(c.e, langVI, "staff.refused_ward", "Ward", "Phường Linh Trung") {
		t.Errorf("reply:%s", dump(tu.out))
	}
	rows := c.audit.Refused()
	if len(rows) != 1 || rows[0].Subject != string(campaign.ActionVerify) || rows[0].Actor != "telegram:5005" {
		t.Fatalf("audit %+v", rows)
	}
	after := rows[0].After.(map[string]string)
	if after["role"] != "ward_official" || after["ward"] != wardTD || after["own_ward"] != wardLT {
		t.Errorf("audit after %+v", after)
	}
	tu.out = nil
	if _, ok, _ := tu.authorize(campaign.ActionRecordMoney, wardLT); ok {
		t.Error("a ward official may record money")
	}
	if allText(tu.out) != msg(c.e, langVI, "staff.refused_role", "Role", "Cán bộ phường") {
		t.Errorf("reply:%s", dump(tu.out))
	}
	// Administrators may do everything; a store failure is returned, not taken as "no role".
	admin := &turn{e: c.e, ctx: context.Background(), sess: Session{Channel: "telegram", ChatID: testAdmin}, in: Input{UserID: testAdmin}, st: &State{}, lang: langVI, now: c.now}
	if _, ok, err := admin.authorize(campaign.ActionVerify, wardTD); !ok || err != nil {
		t.Errorf("admin: %v %v", ok, err)
	}
	c.staff.LookupErr = errors.New("timeout")
	if _, ok, err := tu.authorize(campaign.ActionVerify, wardLT); ok || err == nil {
		t.Errorf("lookup failure: %v %v", ok, err)
	}
}

func TestStaff_Admins(t *testing.T) {
	c := newChatWith(t, func(cfg *Config) { cfg.Admins = []string{" 7007 ", "", "zalo:8008"} })
	for _, tt := range []struct {
		channel, id string
		admin       bool
	}{{"telegram", "7007", true}, {"zalo", "7007", true}, {"zalo", "8008", true}, {"telegram", "8008", false}, {"telegram", "", false}} {
		tu := &turn{e: c.e, sess: Session{Channel: tt.channel, ChatID: tt.id}, in: Input{UserID: tt.id}}
		if got := (staffTurn{tu}).isAdmin(); got != tt.admin {
			t.Errorf("%s:%s admin = %v", tt.channel, tt.id, got)
		}
	}
}

func TestStaff_Whoami(t *testing.T) {
	c := newChat(t)
	if out := c.send(cmd("whoami")); allText(out) != msg(c.e, langVI, "staff.whoami.none") {
		t.Errorf("nobody:%s", dump(out))
	}
	c.as(testAdmin)
	out := c.send(cmd("whoami"))
	wantText(t, out, msg(c.e, langVI, "staff.whoami.admin"))
	wantText(t, out, "/invite, /invites, /staff, /revoke, /erase, /assist, /verify, /allocate, /deliveries, /find, /whoami")
	c.as("6006")
	c.staff.Add("6006", "Đỗ An", campaign.RoleCityOfficial, "")
	c.clientLang = "en"
	out = c.send(cmd("whoami"))
	if allText(out) != msg(c.e, langEN, "staff.whoami.role", "Role", "City official (People's Committee / Fatherland Front)")+"\n\n"+msg(c.e, langEN, "staff.help_line", "Commands", "/allocate, /deliveries, /find, /whoami") {
		t.Errorf("city official:%s", dump(out))
	}
	c.staff.LookupErr = errors.New("timeout")
	if _, err := c.trySend(cmd("whoami")); err == nil {
		t.Error("lookup failure not returned")
	}
}

func TestStaff_Help(t *testing.T) {
	c := newChat(t)
	// A family with no registration is given the campaign's hotline.
	idle := msg(c.e, langVI, "common.help_idle") + "\n\n" +
		msg(c.e, langVI, "contact.hotline", "Name", "Tổng đài 1022 của TP. Hồ Chí Minh", "Details", "☎️ 1022 · 24/7")
	if out := c.send(cmd("help")); allText(out) != idle {
		t.Errorf("parent:%s", dump(out))
	}
	// Staff get the family's help, then what each of their commands does, with an example.
	c.as("6006")
	c.staff.Add("6006", "Đỗ An", campaign.RoleWomensUnion, wardTD)
	out := c.send(cmd("help"))
	want := []string{idle, strings.Join([]string{
		msg(c.e, langVI, "staff.help.title", "Role", "«Hội Phụ nữ phường» – Phường Thảo Điền"),
		"",
		msg(c.e, langVI, "staff.help.group.cases"),
		msg(c.e, langVI, "staff.help.assist"),
		"/verify — xác minh hồ sơ chờ duyệt của Phường Thảo Điền: duyệt, từ chối hoặc hỏi thêm phụ huynh. Ví dụ: /verify hoặc /verify TD-000123",
		msg(c.e, langVI, "staff.help.find"),
		"",
		msg(c.e, langVI, "staff.help.group.you"),
		msg(c.e, langVI, "staff.help.whoami"),
	}, "\n")}
	if len(out) != 2 || out[0].Text != want[0] || out[1].Text != want[1] {
		t.Errorf("women's union:%s", dump(out))
	}
	c.staff.LookupErr = errors.New("timeout")
	if out := c.send(cmd("help")); allText(out) != idle {
		t.Errorf("help when the store fails:%s", dump(out))
	}
	c.as(testAdmin)
	out = c.send(cmd("help"))
	for _, id := range []string{"staff.help.invite", "staff.help.invites", "staff.help.staff", "staff.help.revoke", "staff.help.erase",
		"staff.help.allocate", "staff.help.deliveries", "staff.help.find", "staff.help.whoami"} {
		wantText(t, out, msg(c.e, langVI, id))
	}
	wantText(t, out, "/verify — xác minh hồ sơ chờ duyệt của mọi phường")
	c.send(cmd("invite"))
	out = c.send(cmd("help"))
	if len(out) != 2 || out[0].Text != msg(c.e, langVI, "staff.help_step") || c.st.Step != staffStepRole {
		t.Errorf("help in the staff flow:%s", dump(out))
	}
	// The public command menu stays short: staff commands are typed.
	for _, cm := range c.e.Commands(langVI) {
		if slices.Contains([]string{"invite", "invites", "staff", "revoke", "whoami"}, cm.Name) {
			t.Errorf("%s in the public menu", cm.Name)
		}
	}
}

// withStaffStores gives the chat's engine every store a staff command needs, so /help shows them all.
func (c *convo) withStaffStores() *convo {
	c.t.Helper()
	cfg := c.e.cfg
	cfg.Devices, cfg.Money = c.devices, c.money
	cfg.Exporter = &campaigntest.Exporter{Dir: c.t.TempDir(), Rows: exportRows}
	cfg.Progress = &campaigntest.Progress{Campaign: cfg.Campaign}
	cfg.Subscriptions = campaigntest.NewSubscriptions(func() time.Time { return c.now })
	cfg.Broadcasts = campaigntest.NewBroadcasts(func() time.Time { return c.now })
	c.rebuild(cfg)
	return c
}

// staffHelpRoles are a member of each role, and the administrator, for the tests of /help.
var staffHelpRoles = []campaign.Staff{
	{ExternalID: testAdmin, Role: campaign.RoleAdmin},
	{ExternalID: "6101", Name: "Hồ Nga", Role: campaign.RoleCityOfficial},
	{ExternalID: "6102", Name: "Lê Văn Giáo", Role: campaign.RoleEducationOffice},
	{ExternalID: "6103", Name: "Đỗ Hà", Role: campaign.RoleWardOfficial, WardCode: wardLT},
	{ExternalID: "6104", Name: "Ngô Thị Lan", Role: campaign.RoleWomensUnion, WardCode: wardTD},
	{ExternalID: "6105", Name: "Vũ Minh", Role: campaign.RoleVolunteer},
	{ExternalID: "6106", Name: "Mai Chi", Role: campaign.RoleCultureInfo},
	{ExternalID: "6107", Name: "Cô Hạnh", Role: campaign.RoleSchool, WardCode: wardLT, School: "Trường THCS Linh Trung"},
}

// The staff help of every role, in both languages, lists exactly the commands the role may use,
// each once with what it does and an example, in messages a phone shows whole; and every example
// runs as the help says (no unknown command, refusal or usage reply).
func TestStaff_HelpEveryRole(t *testing.T) {
	commandLine := regexp.MustCompile(`^/([a-z]+) — .+(?:Ví dụ|Example): (.+)$`)
	for _, lang := range []string{langVI, langEN} {
		for _, who := range staffHelpRoles {
			c := newChat(t).withStaffStores()
			c.withFind() // PL-000045 and registrations for the examples
			if who.Role != campaign.RoleAdmin {
				c.staff.AddMember(who)
			}
			c.become(who.ExternalID, lang)
			out := c.send(cmd("help"))
			var listed, examples []string
			for i, o := range out[1:] {
				if n := utf8.RuneCountInString(o.Text); n > staffHelpMax {
					t.Errorf("%s %s: message %d of %d characters", lang, who.Role, i+1, n)
				}
				for line := range strings.SplitSeq(o.Text, "\n") {
					m := commandLine.FindStringSubmatch(line)
					if m == nil {
						if strings.HasPrefix(line, "/") {
							t.Errorf("%s %s: a command line without an example: %q", lang, who.Role, line)
						}
						continue
					}
					listed = append(listed, "/"+m[1])
					sep := map[string]string{langVI: " hoặc ", langEN: " or "}[lang]
					for ex := range strings.SplitSeq(m[2], sep) {
						if !strings.HasPrefix(ex, "/"+m[1]) {
							t.Errorf("%s %s: example %q of /%s", lang, who.Role, ex, m[1])
						}
						examples = append(examples, ex)
					}
				}
			}
			tu := &turn{e: c.e, lang: lang}
			if want := (staffTurn{tu}).staffCommandNames(who); !slices.Equal(sortedCopy(listed), sortedCopy(want)) {
				t.Errorf("%s %s: help lists %q, the role may use %q", lang, who.Role, listed, want)
			}
			if len(listed) < 4 {
				t.Errorf("%s %s: only %q", lang, who.Role, listed)
			}
			for _, ex := range examples {
				name, args, _ := strings.Cut(ex, " ")
				c.send(Input{Kind: KindCommand, Command: strings.TrimPrefix(name, "/"), Args: args, Text: ex})
				for _, id := range c.ids {
					if id == "common.unknown_command" || strings.HasPrefix(id, "staff.refused") || strings.HasSuffix(id, ".usage") || strings.Contains(id, ".err.") {
						t.Errorf("%s %s: %s answered %s", lang, who.Role, ex, id)
					}
				}
				c.send(cmd("cancel"))
			}
		}
	}
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestStaff_ListAndRevoke(t *testing.T) {
	c := newChat(t).as(testAdmin)
	if out := c.send(cmd("staff")); allText(out) != msg(c.e, langVI, "staff.list.none") {
		t.Errorf("empty:%s", dump(out))
	}
	c.staff.Add("5555", "Nguyễn Văn Nam", campaign.RoleWardOfficial, wardLT)
	c.staff.Add("6666", "", campaign.RoleEducationOffice, "")
	out := c.send(cmd("staff"))
	wantText(t, out, "Nguyễn Văn Nam – Cán bộ phường, Phường Linh Trung (5555)")
	wantText(t, out, "(chưa có tên) – Phòng Giáo dục (6666)")
	if d := buttonData(out); !slices.Equal(d, []string{"s:revoke:telegram:6666", "s:revoke:telegram:5555"}) {
		t.Errorf("buttons %q", d)
	}
	out = c.send(press("s:revoke:telegram:5555"))
	if out[0].Text != msg(c.e, langVI, "staff.revoke.confirm", "Role", "Cán bộ phường", "Name", "Nguyễn Văn Nam") {
		t.Errorf("confirm:%s", dump(out))
	}
	if d := buttonData(out); !slices.Equal(d, []string{"s:confirm:yes", "s:confirm:no"}) {
		t.Errorf("confirm buttons %q", d)
	}
	c.send(text("có"))
	c.send(press("s:confirm:no"))
	if _, ok := c.staff.Member("5555"); !ok || c.staff.Revokes() != 0 || c.st.Flow != "" {
		t.Fatal("no revoked")
	}
	c.send(press("s:revoke:telegram:5555"))
	out = c.send(press("s:confirm:yes"))
	if allText(out) != msg(c.e, langVI, "staff.revoke.done", "Name", "Nguyễn Văn Nam") {
		t.Errorf("done:%s", dump(out))
	}
	if _, ok := c.staff.Member("5555"); ok || !slices.Equal(c.staff.RevokedBy(), []string{"telegram:" + testAdmin}) {
		t.Errorf("not revoked: %v", c.staff.RevokedBy())
	}
	// Pressing yes again is stale; the old list's button finds nobody.
	c.send(press("s:confirm:yes"))
	if c.staff.Revokes() != 1 {
		t.Errorf("%d revokes", c.staff.Revokes())
	}
	if out := c.send(press("s:revoke:telegram:5555")); allText(out) != msg(c.e, langVI, "staff.revoke.gone") {
		t.Errorf("gone:%s", dump(out))
	}
	// Typed.
	c.send(cmd("revoke", "6666"))
	if c.st.Step != staffStepConfirm || c.st.Answers[answerTarget] != "telegram:6666" {
		t.Fatalf("state %+v", c.st)
	}
	c.send(press("s:confirm:yes"))
	if _, ok := c.staff.Member("6666"); ok {
		t.Error("6666 not revoked")
	}
	if out := c.send(cmd("revoke", "x y!")); allText(out) != msg(c.e, langVI, "staff.revoke.usage") {
		t.Errorf("usage:%s", dump(out))
	}
	if out := c.send(cmd("revoke")); allText(out) != msg(c.e, langVI, "staff.list.none") {
		t.Errorf("/revoke alone:%s", dump(out))
	}
	// Revoked between the confirmation and yes; and a store failure.
	c.staff.Add("7777", "Vũ Minh", campaign.RoleVolunteer, "")
	c.send(cmd("revoke", "telegram:7777"))
	c.staff.RevokeErr = errors.New("timeout")
	before := c.st
	if _, err := c.trySend(press("s:confirm:yes")); err == nil || !statesEqual(c.st, before) {
		t.Errorf("store failure: %v", err)
	}
	c.staff.RevokeErr = nil
	c.staff.Remove("telegram", "7777")
	if out := c.send(press("s:confirm:yes")); allText(out) != msg(c.e, langVI, "staff.revoke.gone") {
		t.Errorf("revoked meanwhile:%s", dump(out))
	}
}

// /invites lists the open invitations with their role, ward, maker and expiry, each with a button
// that revokes it; only an administrator may list or revoke, and a revoked link binds nothing.
func TestStaff_Invites(t *testing.T) {
	c := newChat(t).as(testAdmin)
	if out := c.send(cmd("invites")); allText(out) != msg(c.e, langVI, "staff.invites.none") {
		t.Errorf("none:%s", dump(out))
	}
	volunteer := linkCode(t, c.send(cmd("invite", "volunteer")))
	c.now = c.now.Add(time.Hour)
	ward := linkCode(t, c.send(cmd("invite", "hội phụ nữ thảo điền")))
	c.staff.Invite(campaign.RoleCityOfficial, "", "telegram:9002", c.now.Add(time.Hour))
	c.staff.Invite(campaign.RoleVolunteer, "", "telegram:9002", c.now) // expired: not listed
	used := linkCode(t, c.send(cmd("invite", "culture")))
	c.as("2002")
	c.send(cmd("start", "inv_"+used))
	c.as(testAdmin)

	out := c.send(cmd("invites"))
	want := strings.Join([]string{
		msg(c.e, langVI, "staff.invites.title", "Count", 3),
		"• #1 «Tình nguyện viên Đoàn» · tạo bởi bạn · hết hạn 13/09/2021 09:00",
		"• #2 «Hội Phụ nữ phường» – Phường Thảo Điền · tạo bởi bạn · hết hạn 13/09/2021 10:00",
		"• #3 «Cán bộ thành phố (UBND/MTTQ)» · tạo bởi telegram:9002 · hết hạn 10/09/2021 11:00",
	}, "\n")
	if len(out) != 1 || out[0].Text != want {
		t.Errorf("list:%s", dump(out))
	}
	if d := buttonData(out); !slices.Equal(d, []string{"s:uninv:1", "s:uninv:2", "s:uninv:3"}) {
		t.Errorf("buttons %q", d)
	}
	out = c.send(press("s:uninv:2"))
	wantText(t, out, msg(c.e, langVI, "staff.invites.revoked", "ID", 2, "Role", "«Hội Phụ nữ phường» – Phường Thảo Điền"))
	if d := buttonData(out); !slices.Equal(d, []string{"s:uninv:1", "s:uninv:3"}) {
		t.Errorf("buttons after revoking %q", d)
	}
	if inv := c.staff.Issued(ward); inv.RevokedBy != "telegram:"+testAdmin {
		t.Errorf("revoked by %q", inv.RevokedBy)
	}
	// The button again, or an invitation used meanwhile: the list as it is now.
	if out := c.send(press("s:uninv:2")); !strings.HasPrefix(allText(out), msg(c.e, langVI, "staff.invites.gone", "ID", 2)) {
		t.Errorf("twice:%s", dump(out))
	}
	c.as("3003")
	c.send(cmd("start", "inv_"+ward))
	if _, ok := c.staff.Member("3003"); ok {
		t.Error("a revoked invitation bound a role")
	}
	c.send(cmd("start", "inv_"+volunteer))
	c.as(testAdmin)
	out = c.send(press("s:uninv:1"))
	wantText(t, out, msg(c.e, langVI, "staff.invites.gone", "ID", 1))
	if d := buttonData(out); !slices.Equal(d, []string{"s:uninv:3"}) {
		t.Errorf("buttons %q", d)
	}

	// No one else may list or revoke: refused politely, audited, nothing revoked.
	c.staff.Add("5005", "Đỗ Hà", campaign.RoleCityOfficial, "")
	for _, id := range []string{"5005", "1001"} {
		c.as(id)
		for _, in := range []Input{cmd("invites"), press("s:uninv:3")} {
			out := c.send(in)
			if strings.Contains(allText(out), "#3") || len(buttonData(out)) != 0 {
				t.Errorf("%s %s:%s", id, describe(in), dump(out))
			}
		}
	}
	if n := len(c.audit.Refused()); n != 4 {
		t.Errorf("%d refusals audited, want 4", n)
	}
	c.as(testAdmin)
	if out := c.send(cmd("invites")); len(buttonData(out)) != 1 {
		t.Errorf("after the refusals:%s", dump(out))
	}

	// Store failures are returned; a form in progress is asked again after the list.
	c.staff.InvitesErr = errors.New("timeout")
	if _, err := c.trySend(cmd("invites")); err == nil {
		t.Error("list failure not returned")
	}
	c.staff.InvitesErr = nil
	c.staff.RevokeErr = errors.New("timeout")
	if _, err := c.trySend(press("s:uninv:3")); err == nil {
		t.Error("revoke failure not returned")
	}
	c.staff.RevokeErr = nil
	c.toStep(stepSchool)
	if out := c.send(cmd("invites")); len(out) != 2 || !strings.Contains(out[1].Text, msg(c.e, langVI, "reg.school.prompt")) {
		t.Errorf("mid-form:%s", dump(out))
	}
	if c.st.Flow != FlowRegistration {
		t.Errorf("the form was dropped: %+v", c.st)
	}
}

// The administrator who made an invitation is told, in their language, who redeemed it, by a
// notice the store queues with the redemption, with a button to revoke the new role.
func TestStaff_RedeemTellsInviter(t *testing.T) {
	c := newChat(t).as(testAdmin)
	code := linkCode(t, c.send(cmd("invite", "ward_official linh trung")))
	if len(c.notices) != 0 {
		t.Fatalf("notices on making the link: %+v", c.notices)
	}
	c.staff.Langs = map[string]string{"telegram:" + testAdmin: langEN}
	c.as("2002")
	c.send(Input{Kind: KindCommand, Command: "start", Args: "inv_" + code, Text: "/start inv_" + code, UserName: "Trần Văn Bảo"})
	if len(c.notices) != 1 {
		t.Fatalf("notices %+v", c.notices)
	}
	m := c.notices[0]
	want := msg(c.e, langEN, "staff.redeem.notice", "ID", 1, "Role", "«Ward official» – Linh Trung Ward", "Name", "Trần Văn Bảo", "Account", "telegram:2002")
	if m.Channel != "telegram" || m.ChatID != testAdmin || m.Text != want || m.Key != "notice:invitation:1:redeemed" {
		t.Errorf("notice %+v, want %q", m, want)
	}
	if d := noticeButtons(c.notices); !slices.Equal(d, []string{"s:revoke:telegram:2002"}) {
		t.Errorf("notice buttons %q", d)
	}
	// Nothing redeemed, nobody told: a used link, and the inviter redeeming their own.
	c.as("3003")
	c.send(cmd("start", "inv_"+code))
	own := func() string {
		c.as(testAdmin)
		return linkCode(t, c.send(cmd("invite", "volunteer")))
	}()
	c.send(cmd("start", "inv_"+own))
	if m, ok := c.staff.Member(testAdmin); !ok || m.Role != campaign.RoleVolunteer || len(c.notices) != 0 {
		t.Errorf("own invitation: %+v %v, notices %+v", m, ok, c.notices)
	}
	// The admin's button asks to revoke the new member.
	if out := c.send(press("s:revoke:telegram:2002")); out[0].Text != msg(c.e, langVI, "staff.revoke.confirm", "Role", "Cán bộ phường", "Name", "Trần Văn Bảo") {
		t.Errorf("revoke from the notice:%s", dump(out))
	}
}

// A staff member who opens a second invitation is asked, with buttons, before their role is
// replaced: «Giữ» keeps it and the invitation open; «Nhận» replaces it and tells the inviter.
func TestStaff_RedeemAsksBeforeReplacing(t *testing.T) {
	c := newChat(t).as(testAdmin)
	first := linkCode(t, c.send(cmd("invite", "volunteer")))
	second := linkCode(t, c.send(cmd("invite", "ward_official linh trung")))
	c.as("2002")
	c.send(cmd("start", "inv_"+first))
	c.send(cmd("start", "inv_"+second))
	volunteer := campaign.Staff{Channel: "telegram", ExternalID: "2002", Role: campaign.RoleVolunteer}
	ask := func() {
		t.Helper()
		out := c.send(cmd("start", "inv_"+second))
		if len(out) != 1 || out[0].Text != msg(c.e, langVI, "staff.redeem.replace_prompt", "Current", "«Tình nguyện viên Đoàn»", "New", "«Cán bộ phường» – Phường Linh Trung") {
			t.Errorf("question:%s", dump(out))
		}
		if d := buttonData(out); !slices.Equal(d, []string{"s:replace:yes", "s:replace:no"}) {
			t.Errorf("buttons %q", d)
		}
		if m, _ := c.staff.Member("2002"); m != volunteer || c.staff.Issued(second).Used || len(c.notices) != 0 {
			t.Errorf("asked, yet %+v, used %v, notices %+v", m, c.staff.Issued(second).Used, c.notices)
		}
	}
	ask()
	// Words are not an answer; /help explains and asks again.
	if out := c.send(text("có")); !strings.HasPrefix(out[0].Text, msg(c.e, langVI, "common.use_buttons")) || c.st.Step != staffStepReplace {
		t.Errorf("typed:%s", dump(out))
	}
	if out := c.send(cmd("help")); len(out) != 2 || len(buttonData(out)) != 2 {
		t.Errorf("help:%s", dump(out))
	}
	out := c.send(press("s:replace:no"))
	if allText(out) != msg(c.e, langVI, "staff.redeem.kept", "Role", "«Tình nguyện viên Đoàn»") || c.st.Flow != "" {
		t.Errorf("kept:%s", dump(out))
	}
	if m, _ := c.staff.Member("2002"); m != volunteer || c.staff.Issued(second).Used {
		t.Errorf("declined, yet %+v", m)
	}
	if out := c.send(press("s:replace:yes")); allText(out) != msg(c.e, langVI, "common.stale_idle") {
		t.Errorf("stale yes:%s", dump(out))
	}
	if m, _ := c.staff.Member("2002"); m != volunteer {
		t.Errorf("a stale button replaced the role: %+v", m)
	}

	ask()
	out = c.send(press("s:replace:yes"))
	want := msg(c.e, langVI, "staff.redeem.welcome_ward", "Role", "Cán bộ phường", "Ward", "Phường Linh Trung") + "\n\n" +
		msg(c.e, langVI, "staff.redeem.replaced", "Role", "«Tình nguyện viên Đoàn»")
	if allText(out) != want || c.st.Flow != "" || c.st.Answers[answerCode] != "" {
		t.Errorf("replaced:%s\nstate %+v", dump(out), c.st)
	}
	if m, _ := c.staff.Member("2002"); m.Role != campaign.RoleWardOfficial || m.WardCode != wardLT {
		t.Errorf("not replaced: %+v", m)
	}
	if len(c.notices) != 1 || !strings.Contains(c.notices[0].Text, msg(c.e, langVI, "staff.redeem.notice_replaced", "Role", "«Tình nguyện viên Đoàn»")) {
		t.Errorf("notice %+v", c.notices)
	}

	// The same role and ward again replaces without a question; an invitation revoked while
	// asking is refused on yes; a form in progress is not dropped for the question.
	c.as(testAdmin)
	same := linkCode(t, c.send(cmd("invite", "ward_official linh trung")))
	third := linkCode(t, c.send(cmd("invite", "culture")))
	c.as("2002")
	if out := c.send(cmd("start", "inv_"+same)); len(buttonData(out)) != 0 || !c.staff.Issued(same).Used {
		t.Errorf("same role:%s", dump(out))
	}
	c.send(cmd("start", "inv_"+third))
	c.staff.SetRevokedBy(third, "telegram:"+testAdmin)
	if out := c.send(press("s:replace:yes")); allText(out) != msg(c.e, langVI, "staff.redeem.invalid") || c.st.Flow != "" {
		t.Errorf("revoked meanwhile:%s", dump(out))
	}
	c.staff.SetRevokedBy(third, "")
	c.toStep(stepSchool)
	out = c.send(cmd("start", "inv_"+third))
	if c.st.Flow != FlowRegistration || c.st.Step != stepSchool || out[0].Text != msg(c.e, langVI, "staff.finish_form") {
		t.Errorf("mid-form:%s\n%+v", dump(out), c.st)
	}
	// A store failure on yes is returned with the question kept.
	c.send(cmd("cancel"))
	c.send(cmd("start", "inv_"+third))
	before := c.st
	c.staff.RedeemErr = errors.New("timeout")
	if _, err := c.trySend(press("s:replace:yes")); err == nil || !statesEqual(c.st, before) {
		t.Errorf("store failure: %v", err)
	}
}

func TestStaff_LongList(t *testing.T) {
	c := newChat(t).as(testAdmin)
	for i := range 40 {
		c.staff.Add(fmt.Sprintf("%d", 1_000_000_000+i), strings.Repeat("Nguyễn Thị Thanh Hương ", 5), campaign.RoleWomensUnion, wardTD)
	}
	out := c.send(cmd("staff")) // checkOutputs holds the text to messageMax and the data to chat.MaxDataBytes
	wantText(t, out, msg(c.e, langVI, "staff.list.more", "Count", 40-staffListed))
	if n := len(buttonData(out)); n != staffListed {
		t.Errorf("%d buttons", n)
	}
	// An id too long for a button's data is listed without a button.
	c = newChat(t).as(testAdmin)
	c.staff.AddMember(campaign.Staff{Channel: "zalo", ExternalID: strings.Repeat("9", 60), Name: "Lý", Role: campaign.RoleVolunteer})
	if out := c.send(cmd("staff")); len(buttonData(out)) != 0 {
		t.Errorf("buttons for a long id:%s", dump(out))
	}
}

func TestStaff_FormInProgress(t *testing.T) {
	c := newChat(t).as(testAdmin)
	c.staff.Add("5555", "Nguyễn Văn Nam", campaign.RoleVolunteer, "")
	c.toStep(stepSchool)
	before := c.st
	for _, in := range []Input{cmd("invite"), cmd("invite", "volunteer"), press("s:revoke:telegram:5555"), cmd("revoke", "5555")} {
		out := c.send(in)
		if len(out) != 2 || out[0].Text != msg(c.e, langVI, "staff.finish_form") || !strings.Contains(out[1].Text, msg(c.e, langVI, "reg.school.prompt")) {
			t.Errorf("%s:%s", describe(in), dump(out))
		}
		if c.st.Flow != FlowRegistration || c.st.Step != stepSchool || c.st.IdempotencyKey != before.IdempotencyKey {
			t.Errorf("%s: form changed %+v", describe(in), c.st)
		}
	}
	// Reading is fine mid-form; the question follows.
	for _, in := range []Input{cmd("staff"), cmd("whoami")} {
		if out := c.send(in); len(out) != 2 || !strings.Contains(out[1].Text, msg(c.e, langVI, "reg.school.prompt")) {
			t.Errorf("%s:%s", describe(in), dump(out))
		}
	}
	if c.staff.Created() != 0 || c.staff.Revokes() != 0 {
		t.Error("store changed")
	}
}

func TestStaff_StaleCancelExpiry(t *testing.T) {
	c := newChat(t).as(testAdmin)
	if out := c.send(press("s:role:city_official")); allText(out) != msg(c.e, langVI, "common.stale_idle") {
		t.Errorf("stale idle:%s", dump(out))
	}
	for _, d := range []string{"s:nonsense:x", "s:revoke:bad", "s:revoke:telegram:a b"} {
		c.send(press(d))
	}
	c.send(cmd("invite"))
	out := c.send(press("s:ward:" + wardLT))
	if !strings.Contains(out[0].Text, msg(c.e, langVI, "common.stale")) || c.st.Step != staffStepRole {
		t.Errorf("stale in flow:%s", dump(out))
	}
	c.send(press("s:role:nobody"))
	c.send(other())
	c.send(edited())
	c.send(text("   "))
	c.send(cmd("status"))
	c.send(cmd("lang", "en"))
	if c.st.Flow != FlowStaff || c.st.Step != staffStepRole {
		t.Fatalf("left the flow: %+v", c.st)
	}
	if out := c.send(cmd("cancel")); allText(out) != msg(c.e, langEN, "staff.cancelled") || c.st.Flow != "" {
		t.Errorf("cancel:%s", dump(out))
	}
	c.send(cmd("invite"))
	c.send(press("s:role:ward_official"))
	if out := c.send(press("s:ward:!cancel")); allText(out) != msg(c.e, langEN, "staff.cancelled") {
		t.Errorf("cancel button:%s", dump(out))
	}
	c.send(cmd("invite"))
	c.send(cmd("start"))
	if c.st.Flow != "" {
		t.Errorf("/start kept the staff flow: %+v", c.st)
	}
	c.send(cmd("invite"))
	c.now = c.now.Add(staffFlowExpiry + time.Minute)
	c.send(press("s:role:volunteer"))
	if c.staff.Created() != 0 || c.st.Flow != "" {
		t.Errorf("an expired choice made an invitation: %+v", c.st)
	}
	// A staff state from another version is dropped.
	c.st = State{Flow: FlowStaff, Step: "frobnicate", UpdatedAt: c.now}
	c.send(text("hello"))
	if c.st.Flow != "" {
		t.Errorf("unknown step kept: %+v", c.st)
	}
	// Someone whose admin rights were removed mid-flow is refused and leaves the flow.
	c.send(cmd("invite"))
	c.e.cfg.Admins = nil
	c.send(press("s:role:volunteer"))
	if c.st.Flow != "" || c.staff.Created() != 0 || len(c.audit.Refused()) != 1 {
		t.Errorf("ex-admin: %+v", c.st)
	}
}

func TestStaff_Unavailable(t *testing.T) {
	c := newChatWith(t, func(cfg *Config) { cfg.Staff = nil })
	c.as(testAdmin)
	for _, in := range []Input{cmd("invite"), cmd("staff"), cmd("revoke", "1"), cmd("whoami"), cmd("start", "inv_abc"), press("s:revoke:telegram:1")} {
		if out := c.send(in); allText(out) != msg(c.e, langVI, "staff.unavailable") {
			t.Errorf("%s:%s", describe(in), dump(out))
		}
	}
	if out := c.send(cmd("help")); !strings.HasPrefix(allText(out), msg(c.e, langVI, "common.help_idle")+"\n\n") {
		t.Errorf("help:%s", dump(out))
	}
}

// testEntries reaches the test bot on Telegram only, as the goldens were recorded.
func testEntries(payload string) []chat.Entry {
	return []chat.Entry{{Channel: "telegram", Name: "Telegram", URL: "https://t.me/" + testBot + "?start=" + payload}}
}

func TestNewEngine_Staff(t *testing.T) {
	base := func() Config {
		return Config{Campaign: campaign.Default(), Registrations: &campaigntest.Registrations{}, Staff: campaigntest.NewStaff(time.Now)}
	}
	none := func(string) []chat.Entry { return nil }
	for _, entries := range []func(string) []chat.Entry{nil, none} {
		cfg := base()
		cfg.Entries = entries
		if _, err := NewEngine(cfg); err == nil {
			t.Errorf("staff without a way to reach the bot accepted")
		}
	}
	cfg := base()
	cfg.Entries = testEntries
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if e.cfg.InvitationTTL != DefaultInvitationTTL {
		t.Errorf("defaults %v", e.cfg.InvitationTTL)
	}
	// The longest staff button data fits what every channel carries.
	for _, r := range campaign.StaffRoles {
		if d := staffData(staffStepRole, string(r)); len(d) > maxData {
			t.Errorf("%s: %d bytes", d, len(d))
		}
	}
}

// staffScenarios are the golden conversations of the staff commands (testdata/staff/), with the
// help of each role (help_<role>, every staff store on).
func staffScenarios() []scenario {
	var help []scenario
	for i, who := range staffHelpRoles {
		lang := langVI
		if i%3 == 2 { // the education office and the volunteer in English
			lang = langEN
		}
		help = append(help, scenario{FlowStaff, "help_" + string(who.Role), func(c *convo) {
			c.withStaffStores()
			if who.Role != campaign.RoleAdmin {
				c.staff.AddMember(who)
			}
			c.become(who.ExternalID, lang)
			c.send(cmd("help"))
		}})
	}
	return append(help, []scenario{
		{FlowStaff, "invite_city", func(c *convo) {
			c.as(testAdmin)
			c.send(cmd("invite"))
			c.send(press("s:role:city_official"))
		}},
		{FlowStaff, "invite_ward", func(c *convo) {
			c.as(testAdmin)
			c.clientLang = "en"
			c.send(cmd("invite"))
			c.send(press("s:role:womens_union"))
			c.send(press("s:ward:!p=1"))
			c.send(text("binh"))
			c.send(press("s:ward:26797"))
			c.send(cmd("invite", "ward official thao dien"))
		}},
		{FlowStaff, "redeem", func(c *convo) {
			c.as(testAdmin)
			c.record = false
			code := linkCode(c.t, c.send(cmd("invite", "phường linh trung")))
			c.record = true
			c.as("2002")
			c.send(cmd("whoami"))
			c.send(cmd("start", "inv_"+code))
			c.send(cmd("whoami"))
			c.send(cmd("help"))
			c.send(cmd("start", "inv_"+code))
		}},
		{FlowStaff, "refused", func(c *convo) {
			c.send(cmd("invite"))
			c.send(cmd("staff"))
			c.send(press("s:revoke:telegram:5555"))
		}},
		{FlowStaff, "list_revoke", func(c *convo) {
			c.as(testAdmin)
			c.staff.Add("5555", "Nguyễn Văn Nam", campaign.RoleWardOfficial, wardLT)
			c.staff.Add("6666", "Lê Thị Hoa", campaign.RoleVolunteer, "")
			c.send(cmd("staff"))
			c.send(press("s:revoke:telegram:5555"))
			c.send(press("s:confirm:no"))
			c.send(press("s:revoke:telegram:5555"))
			c.send(press("s:confirm:yes"))
			c.send(press("s:confirm:yes"))
			c.send(cmd("staff"))
		}},
		{FlowStaff, "invites", func(c *convo) {
			c.as(testAdmin)
			c.record = false
			c.send(cmd("invite", "volunteer"))
			ward := linkCode(c.t, c.send(cmd("invite", "hội phụ nữ thảo điền")))
			c.staff.Invite(campaign.RoleEducationOffice, "", "zalo:7213", c.now.Add(24*time.Hour))
			c.record = true
			c.send(cmd("invites"))
			c.send(press("s:uninv:2"))
			c.send(press("s:uninv:2"))
			c.become("2002", "vi")
			c.send(cmd("start", "inv_"+ward))
			c.send(cmd("invites"))
			c.send(press("s:uninv:1"))
		}},
		// An administrator invites a school: its name is typed (a name that says no more than its
		// level is asked again), then its ward; the invitee redeems the link and is the school.
		{FlowStaff, "invite_school", func(c *convo) {
			c.as(testAdmin)
			c.send(cmd("invite"))
			c.send(press("s:role:school"))
			c.send(text("THCS"))
			c.send(text("Trường THCS Linh Trung"))
			code := linkCode(c.t, c.send(text("linh trung")))
			c.send(cmd("invites"))
			c.become("2003", "vi")
			c.send(Input{Kind: KindCommand, Command: "start", Args: "inv_" + code, Text: "/start inv_" + code, UserName: "Cô Hạnh"})
			c.send(cmd("whoami"))
			c.become(testAdmin, "vi")
			c.send(cmd("staff"))
			// In one line, in English: the school's name after the role, then its ward.
			c.clientLang = "en"
			c.send(cmd("invite", "school Tiểu học Bình Thọ"))
			c.send(press("s:ward:26824"))
		}},
		{FlowStaff, "redeem_replace", func(c *convo) {
			c.as(testAdmin)
			c.record = false
			first := linkCode(c.t, c.send(cmd("invite", "volunteer")))
			second := linkCode(c.t, c.send(cmd("invite", "phường linh trung")))
			c.record = true
			c.become("2002", "vi")
			c.send(Input{Kind: KindCommand, Command: "start", Args: "inv_" + first, Text: "/start inv_" + first, UserName: "Trần Văn Bảo"})
			c.send(Input{Kind: KindCommand, Command: "start", Args: "inv_" + second, Text: "/start inv_" + second, UserName: "Trần Văn Bảo"})
			c.send(text("có"))
			c.send(press("s:replace:no"))
			c.send(Input{Kind: KindCommand, Command: "start", Args: "inv_" + second, Text: "/start inv_" + second, UserName: "Trần Văn Bảo"})
			c.send(Input{Kind: KindChoice, Data: "s:replace:yes", UserName: "Trần Văn Bảo"})
			c.send(cmd("whoami"))
		}},
	}...)
}

// Staff's steps are case steps kept as State{Flow: "staff", Step: "role"}, as the staff dialog
// saved them: a state saved before the change goes on, and at each step /help and /cancel say
// staff's texts and the question comes back with its "s:<step>:…" buttons.
func TestStaff_StepsAreCaseSteps(t *testing.T) {
	c := newChat(t).as(testAdmin)
	saved := map[string]map[string]string{
		staffStepRole:    {},
		staffStepSchool:  {staffStepRole: string(campaign.RoleSchool)},
		staffStepWard:    {staffStepRole: string(campaign.RoleWardOfficial)},
		staffStepConfirm: {answerTarget: "telegram:6666", answerName: "Lan", staffStepRole: string(campaign.RoleVolunteer)},
		staffStepReplace: {answerCode: "abc", staffStepRole: string(campaign.RoleVolunteer), answerOldRole: string(campaign.RoleWardOfficial), answerOldWard: wardLT},
	}
	for _, step := range staffSteps {
		at := func() {
			c.st = State{Flow: FlowStaff, Step: step, Answers: maps.Clone(saved[step]), StartedAt: c.now, UpdatedAt: c.now}
		}
		at()
		out := c.send(cmd("help"))
		if len(out) != 2 || out[0].Text != msg(c.e, langVI, "staff.help_step") || c.st.Flow != FlowStaff || c.st.Step != step {
			t.Errorf("%s: /help:%s", step, dump(out))
		}
		if d := buttonData(out[1:]); len(d) == 0 || slices.ContainsFunc(d, func(s string) bool { return !strings.HasPrefix(s, "s:"+step+":") }) {
			t.Errorf("%s: the question's buttons %q", step, d)
		}
		if out := c.send(cmd("status")); c.st.Flow != FlowStaff || c.st.Step != step || len(out) < 2 {
			t.Errorf("%s: /status left the step or did not ask again: %+v%s", step, c.st, dump(out))
		}
		if out := c.send(cmd("cancel")); allText(out) != msg(c.e, langVI, "staff.cancelled") || c.st.Flow != "" {
			t.Errorf("%s: /cancel:%s", step, dump(out))
		}
		// Dropped without a word after staffFlowExpiry (an hour), not caseFlowExpiry.
		at()
		c.now = c.now.Add(staffFlowExpiry - time.Minute)
		c.send(cmd("status"))
		if c.st.Flow != FlowStaff {
			t.Errorf("%s: dropped before staffFlowExpiry", step)
		}
		c.now = c.now.Add(staffFlowExpiry + time.Minute)
		if out := c.send(cmd("whoami")); c.st.Flow != "" || strings.Contains(allText(out), msg(c.e, langVI, "staff.help_step")) {
			t.Errorf("%s: kept after staffFlowExpiry: %+v", step, c.st)
		}
	}
	// A ward chosen on a question saved before makes the invitation.
	c.st = State{Flow: FlowStaff, Step: staffStepWard, Answers: maps.Clone(saved[staffStepWard]), StartedAt: c.now, UpdatedAt: c.now}
	c.send(press("s:ward:" + wardLT))
	if c.staff.Created() != 1 || c.st.Flow != "" {
		t.Errorf("the saved ward question made no invitation: %+v", c.st)
	}
	// FlowCase has no "s." steps: such a state is dropped.
	c.st = State{Flow: FlowCase, Step: "s." + staffStepRole, StartedAt: c.now, UpdatedAt: c.now}
	c.send(press("s:role:volunteer"))
	if c.st.Flow != "" || c.staff.Created() != 1 {
		t.Errorf("a FlowCase state at s.role was kept: %+v", c.st)
	}
}
