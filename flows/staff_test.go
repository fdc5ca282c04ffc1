package flows

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/chat"
)

const (
	testAdmin = "9001"
	testBot   = "maytinhchoem_bot"
	wardLT    = "26800" // Phường Linh Trung
	wardTD    = "27088" // Phường Thảo Điền
)

// fakeStaff is an in-memory campaign.StaffStore.
type fakeStaff struct {
	mu      sync.Mutex
	now     func() time.Time
	members map[string]campaign.Staff // by "channel:id"
	invites map[string]*fakeInvite    // by code
	n       int
	// code, when set, makes the next invitation codes (to test codes that do not fit a link).
	code func(n int) string
	// createErr, redeemErr, lookupErr, listErr and revokeErr are returned instead of doing the work.
	createErr, redeemErr, lookupErr, listErr, revokeErr error
	redeems, revokes                                    int
	revokedBy                                           []string
}

type fakeInvite struct {
	role      campaign.Role
	ward      string
	createdBy string
	expires   time.Time
	used      bool
}

func newFakeStaff(now func() time.Time) *fakeStaff {
	return &fakeStaff{now: now, members: map[string]campaign.Staff{}, invites: map[string]*fakeInvite{}}
}

func (s *fakeStaff) CreateInvitation(_ context.Context, role campaign.Role, ward, by string, expires time.Time) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.createErr != nil {
		return "", s.createErr
	}
	s.n++
	code := fmt.Sprintf("Zq7-x_%03dAbC", s.n)
	if s.code != nil {
		code = s.code(s.n)
	}
	s.invites[code] = &fakeInvite{role: role, ward: ward, createdBy: by, expires: expires}
	return code, nil
}

func (s *fakeStaff) RedeemInvitation(_ context.Context, code string, who campaign.Staff) (campaign.Staff, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.redeems++
	if s.redeemErr != nil {
		return campaign.Staff{}, s.redeemErr
	}
	inv, ok := s.invites[code]
	if !ok || inv.used || !s.now().Before(inv.expires) {
		return campaign.Staff{}, campaign.Errorf(campaign.ENOTFOUND, "no usable invitation")
	}
	inv.used = true
	who.Role, who.WardCode = inv.role, inv.ward
	s.members[who.Channel+":"+who.ExternalID] = who
	return who, nil
}

func (s *fakeStaff) StaffMember(_ context.Context, channel, id string) (campaign.Staff, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lookupErr != nil {
		return campaign.Staff{}, s.lookupErr
	}
	m, ok := s.members[channel+":"+id]
	if !ok {
		return campaign.Staff{}, campaign.Errorf(campaign.ENOTFOUND, "no staff %s:%s", channel, id)
	}
	return m, nil
}

func (s *fakeStaff) ListStaff(context.Context) ([]campaign.Staff, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listErr != nil {
		return nil, s.listErr
	}
	var out []campaign.Staff
	for _, m := range s.members {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b campaign.Staff) int { return strings.Compare(a.Name+a.ExternalID, b.Name+b.ExternalID) })
	return out, nil
}

func (s *fakeStaff) RevokeStaff(_ context.Context, channel, id, by string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokes++
	if s.revokeErr != nil {
		return s.revokeErr
	}
	if _, ok := s.members[channel+":"+id]; !ok {
		return campaign.Errorf(campaign.ENOTFOUND, "no staff %s:%s", channel, id)
	}
	delete(s.members, channel+":"+id)
	s.revokedBy = append(s.revokedBy, by)
	return nil
}

// add makes a staff member directly.
func (s *fakeStaff) add(id, name string, role campaign.Role, ward string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.members["telegram:"+id] = campaign.Staff{Channel: "telegram", ExternalID: id, Name: name, Role: role, WardCode: ward}
}

func (s *fakeStaff) member(id string) (campaign.Staff, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.members["telegram:"+id]
	return m, ok
}

// fakeAudit records audit rows.
type fakeAudit struct {
	mu      sync.Mutex
	entries []campaign.AuditEntry
	err     error
}

func (a *fakeAudit) Audit(_ context.Context, e campaign.AuditEntry) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return a.err
	}
	a.entries = append(a.entries, e)
	return nil
}

func (a *fakeAudit) refused() []campaign.AuditEntry {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []campaign.AuditEntry
	for _, e := range a.entries {
		if e.Action == "auth.refused" {
			out = append(out, e)
		}
	}
	return out
}

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
	inv := c.staff.invites[code]
	if inv == nil || inv.role != campaign.RoleCityOfficial || inv.ward != "" || inv.createdBy != "telegram:"+testAdmin {
		t.Fatalf("invitation %+v", inv)
	}
	if !inv.expires.Equal(testStart.Add(72 * time.Hour)) {
		t.Errorf("expires %v", inv.expires)
	}
	wantText(t, out, "13/09/2021 09:00")
	wantText(t, out, msg(c.e, langVI, "staff.role.city_official"))
	if c.st.Flow != "" {
		t.Errorf("state after the link: %+v", c.st)
	}
	// The same button again is stale: one press, one invitation.
	c.send(press("s:role:city_official"))
	if c.staff.n != 1 {
		t.Errorf("%d invitations", c.staff.n)
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
	if inv := c.staff.invites[code]; inv.role != campaign.RoleWardOfficial || inv.ward != wardLT {
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
		if inv := c.staff.invites[code]; inv.role != tt.role || inv.ward != tt.ward {
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
	c.staff.createErr = campaign.Errorf(campaign.EUNAVAILABLE, "db down")
	if _, err := c.trySend(press("s:role:volunteer")); err == nil {
		t.Fatal("a store failure was not returned")
	}
	if !statesEqual(c.st, before) {
		t.Errorf("state changed: %+v", c.st)
	}
	c.staff.createErr = nil
	c.staff.code = func(int) string { return strings.Repeat("a", 61) }
	_, err := c.trySend(press("s:role:volunteer"))
	if campaign.ErrorCode(err) != campaign.EINTERNAL || strings.Contains(err.Error(), "aaaa") {
		t.Errorf("a code too long for a link: %v", err)
	}
	c.staff.code = func(int) string { return "bad code!" }
	if _, err := c.trySend(press("s:role:volunteer")); err == nil {
		t.Error("a code with spaces made a link")
	}
	c.staff.code = func(int) string { return strings.Repeat("a", 60) }
	linkCode(t, c.send(press("s:role:volunteer")))
}

func TestStaff_Redeem(t *testing.T) {
	c := newChat(t).as(testAdmin)
	code := linkCode(t, c.send(cmd("invite", "ward_official linh trung")))

	c.as("2002")
	out := c.send(Input{Kind: KindCommand, Command: "start", Args: "inv_" + code, Text: "/start inv_" + code, UserName: "Trần Văn Bảo"})
	wantText(t, out, msg(c.e, langVI, "staff.redeem.welcome_ward", "Role", "Cán bộ phường", "Ward", "Phường Linh Trung"))
	m, ok := c.staff.member("2002")
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
		if _, ok := c.staff.member("3003"); ok {
			t.Errorf("%s bound a role", payload)
		}
	}
	// A store failure is returned, so the bot apologises and the state is kept.
	c.staff.redeemErr = errors.New("connection reset")
	if _, err := c.trySend(cmd("start", "inv_x")); err == nil {
		t.Error("store failure not returned")
	}
	c.staff.redeemErr = nil
	// Outside a private chat nothing is redeemed.
	redeems := c.staff.redeems
	c.sess.ChatID = "-100123"
	out = c.send(cmd("start", "inv_"+code))
	wantText(t, out, msg(c.e, langVI, "staff.redeem.private_only"))
	if c.staff.redeems != redeems {
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
	rows := c.audit.refused()
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
	if c.staff.n != 0 || c.staff.revokes != 0 {
		t.Error("a refused command changed the store")
	}

	// Staff without the right role are told their role, in their language.
	c.staff.add("1001", "Lê Thị Hoa", campaign.RoleVolunteer, "")
	c.clientLang = "en"
	out := c.send(cmd("staff"))
	if allText(out) != msg(c.e, langEN, "staff.refused_role", "Role", "Youth Union volunteer") {
		t.Errorf("volunteer /staff:%s", dump(out))
	}
	if rows := c.audit.refused(); rows[len(rows)-1].After.(map[string]string)["role"] != "volunteer" {
		t.Errorf("audit %+v", rows[len(rows)-1])
	}

	// A refusal that cannot be audited is an error: the bot apologises and nothing happens.
	c.audit.err = errors.New("disk full")
	if _, err := c.trySend(cmd("invite")); err == nil {
		t.Error("audit failure not returned")
	}
	c.audit.err = nil

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
	c.staff.add("5005", "Phạm Thu", campaign.RoleWardOfficial, wardLT)
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
	rows := c.audit.refused()
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
	c.staff.lookupErr = errors.New("timeout")
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
		if got := tu.isAdmin(); got != tt.admin {
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
	wantText(t, out, "/invite, /staff, /revoke, /verify, /allocate, /deliveries, /find, /whoami")
	c.as("6006")
	c.staff.add("6006", "Đỗ An", campaign.RoleCityOfficial, "")
	c.clientLang = "en"
	out = c.send(cmd("whoami"))
	if allText(out) != msg(c.e, langEN, "staff.whoami.role", "Role", "City official (People's Committee / Fatherland Front)")+"\n\n"+msg(c.e, langEN, "staff.help_line", "Commands", "/allocate, /deliveries, /find, /whoami") {
		t.Errorf("city official:%s", dump(out))
	}
	c.staff.lookupErr = errors.New("timeout")
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
	c.as("6006")
	c.staff.add("6006", "Đỗ An", campaign.RoleWomensUnion, wardTD)
	if out := c.send(cmd("help")); allText(out) != idle+"\n\n"+msg(c.e, langVI, "staff.help_line", "Commands", "/verify, /find, /whoami") {
		t.Errorf("women's union:%s", dump(out))
	}
	c.staff.lookupErr = errors.New("timeout")
	if out := c.send(cmd("help")); allText(out) != idle {
		t.Errorf("help when the store fails:%s", dump(out))
	}
	c.as(testAdmin)
	wantText(t, c.send(cmd("help")), "/invite, /staff, /revoke, /verify, /allocate, /deliveries, /find, /whoami")
	c.send(cmd("invite"))
	out := c.send(cmd("help"))
	if len(out) != 2 || out[0].Text != msg(c.e, langVI, "staff.help_step") || c.st.Step != staffStepRole {
		t.Errorf("help in the staff flow:%s", dump(out))
	}
	// The public command menu stays short: staff commands are typed.
	for _, cm := range c.e.Commands(langVI) {
		if slices.Contains([]string{"invite", "staff", "revoke", "whoami"}, cm.Name) {
			t.Errorf("%s in the public menu", cm.Name)
		}
	}
}

func TestStaff_ListAndRevoke(t *testing.T) {
	c := newChat(t).as(testAdmin)
	if out := c.send(cmd("staff")); allText(out) != msg(c.e, langVI, "staff.list.none") {
		t.Errorf("empty:%s", dump(out))
	}
	c.staff.add("5555", "Nguyễn Văn Nam", campaign.RoleWardOfficial, wardLT)
	c.staff.add("6666", "", campaign.RoleEducationOffice, "")
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
	if _, ok := c.staff.member("5555"); !ok || c.staff.revokes != 0 || c.st.Flow != "" {
		t.Fatal("no revoked")
	}
	c.send(press("s:revoke:telegram:5555"))
	out = c.send(press("s:confirm:yes"))
	if allText(out) != msg(c.e, langVI, "staff.revoke.done", "Name", "Nguyễn Văn Nam") {
		t.Errorf("done:%s", dump(out))
	}
	if _, ok := c.staff.member("5555"); ok || !slices.Equal(c.staff.revokedBy, []string{"telegram:" + testAdmin}) {
		t.Errorf("not revoked: %v", c.staff.revokedBy)
	}
	// Pressing yes again is stale; the old list's button finds nobody.
	c.send(press("s:confirm:yes"))
	if c.staff.revokes != 1 {
		t.Errorf("%d revokes", c.staff.revokes)
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
	if _, ok := c.staff.member("6666"); ok {
		t.Error("6666 not revoked")
	}
	if out := c.send(cmd("revoke", "x y!")); allText(out) != msg(c.e, langVI, "staff.revoke.usage") {
		t.Errorf("usage:%s", dump(out))
	}
	if out := c.send(cmd("revoke")); allText(out) != msg(c.e, langVI, "staff.list.none") {
		t.Errorf("/revoke alone:%s", dump(out))
	}
	// Revoked between the confirmation and yes; and a store failure.
	c.staff.add("7777", "Vũ Minh", campaign.RoleVolunteer, "")
	c.send(cmd("revoke", "telegram:7777"))
	c.staff.revokeErr = errors.New("timeout")
	before := c.st
	if _, err := c.trySend(press("s:confirm:yes")); err == nil || !statesEqual(c.st, before) {
		t.Errorf("store failure: %v", err)
	}
	c.staff.revokeErr = nil
	delete(c.staff.members, "telegram:7777")
	if out := c.send(press("s:confirm:yes")); allText(out) != msg(c.e, langVI, "staff.revoke.gone") {
		t.Errorf("revoked meanwhile:%s", dump(out))
	}
}

func TestStaff_LongList(t *testing.T) {
	c := newChat(t).as(testAdmin)
	for i := range 40 {
		c.staff.add(fmt.Sprintf("%d", 1_000_000_000+i), strings.Repeat("Nguyễn Thị Thanh Hương ", 5), campaign.RoleWomensUnion, wardTD)
	}
	out := c.send(cmd("staff")) // checkOutputs holds the text to messageMax and the data to chat.MaxDataBytes
	wantText(t, out, msg(c.e, langVI, "staff.list.more", "Count", 40-staffListed))
	if n := len(buttonData(out)); n != staffListed {
		t.Errorf("%d buttons", n)
	}
	// An id too long for a button's data is listed without a button.
	c = newChat(t).as(testAdmin)
	c.staff.members["zalo:"+strings.Repeat("9", 60)] = campaign.Staff{Channel: "zalo", ExternalID: strings.Repeat("9", 60), Name: "Lý", Role: campaign.RoleVolunteer}
	if out := c.send(cmd("staff")); len(buttonData(out)) != 0 {
		t.Errorf("buttons for a long id:%s", dump(out))
	}
}

func TestStaff_FormInProgress(t *testing.T) {
	c := newChat(t).as(testAdmin)
	c.staff.add("5555", "Nguyễn Văn Nam", campaign.RoleVolunteer, "")
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
	if c.staff.n != 0 || c.staff.revokes != 0 {
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
	if c.staff.n != 0 || c.st.Flow != "" {
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
	if c.st.Flow != "" || c.staff.n != 0 || len(c.audit.refused()) != 1 {
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
		return Config{Campaign: campaign.Default(), Registrations: &fakeRegistrations{}, Staff: newFakeStaff(time.Now)}
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

// staffScenarios are the golden conversations of the staff commands (testdata/staff/).
func staffScenarios() []scenario {
	return []scenario{
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
			c.staff.add("5555", "Nguyễn Văn Nam", campaign.RoleWardOfficial, wardLT)
			c.staff.add("6666", "Lê Thị Hoa", campaign.RoleVolunteer, "")
			c.send(cmd("staff"))
			c.send(press("s:revoke:telegram:5555"))
			c.send(press("s:confirm:no"))
			c.send(press("s:revoke:telegram:5555"))
			c.send(press("s:confirm:yes"))
			c.send(press("s:confirm:yes"))
			c.send(cmd("staff"))
		}},
	}
}
