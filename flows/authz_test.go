package flows

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/campaign/campaigntest"
)

// The one authorisation table (issue 13): every staff command and button is decided by
// campaign.Authorize. authzTable names, for each command and each button prefix of the flows'
// registry (flow.go), the action it is decided by and the ward the decision is about, with an
// input that reaches the decision; parents' and everyone's are public. TestAuthz_EveryStaffAction
// runs each for every role in its own ward, another ward and none, and fails on a decision
// that differs from campaign.Authorize's; TestAuthz_TableCoversEveryCommandAndButton fails on a
// command or a prefix the table does not name, or one it names that no longer exists.

// authzScope is the ward an action is decided for.
type authzScope int

const (
	scopeCity      authzScope = iota // city-wide: ""
	scopeOwn                         // the sender's own ward (authorizeOwn)
	scopeRecord                      // the ward (and school) of the record acted on: TD-000001 is Linh Trung's
	scopeOwnRecord                   // the sender's own ward first, then the record's
)

// authzRecordSchool is the school of TD-000001 (withPending): a school member of it may see the
// record, another school's may not (campaign.AuthorizeRecord).
const authzRecordSchool = "Tiểu học Linh Trung"

// authzSample is one input that reaches a decision.
type authzSample struct {
	in     Input
	action campaign.Action
	scope  authzScope
	// form, for a form's buttons, are the inputs an administrator sends to bring the form to its
	// review; the sender under test then holds that state (their role changed since) and presses.
	form []Input
	// state, when set, is the state the sender holds when sending in.
	state func() State
	// gate, when set, is the action a command decides first, for the sender's own ward (/find
	// before the record it finds): a refusal of either counts, and both must allow.
	gate campaign.Action
}

// authzEntry is how a command or a button prefix is authorised: authzPublic, or by its samples.
type authzEntry struct {
	public  bool
	samples []authzSample
}

func staffCmd(in Input, a campaign.Action, s authzScope) authzEntry {
	return authzEntry{samples: []authzSample{{in: in, action: a, scope: s}}}
}

var authzPublic = authzEntry{public: true}

// authzAllocKey is the proposal a sender at the allocation review holds.
const authzAllocKey = "alloc-key-1"

// authzTable is the table: "/<command>" for commands, "<prefix>:" for buttons.
var authzTable = map[string]authzEntry{
	// Parents, donors and everyone.
	"/start": authzPublic, "/status": authzPublic, "/talk": authzPublic, "/mydata": authzPublic, "/pledge": authzPublic,
	"/pledges": authzPublic, "/cancel": authzPublic, "/help": authzPublic, "/lang": authzPublic, "/whoami": authzPublic,
	"/unsubscribe": authzPublic, // anyone may stop what they get, also staff revoked since
	"g:":           authzPublic, "md:": authzPublic, "h:": authzPublic, "t:": authzPublic, "r:": authzPublic, "p:": authzPublic,
	"cl:": authzPublic, // a family's claim of what a school or ward registered

	// Staff.
	"/erase":      staffCmd(cmd("erase"), campaign.ActionErase, scopeCity),
	"/invite":     staffCmd(cmd("invite"), campaign.ActionInvite, scopeCity),
	"/invites":    staffCmd(cmd("invites"), campaign.ActionInvite, scopeCity),
	"/staff":      staffCmd(cmd("staff"), campaign.ActionManageStaff, scopeCity),
	"/revoke":     staffCmd(cmd("revoke"), campaign.ActionManageStaff, scopeCity),
	"/intake":     staffCmd(cmd("intake"), campaign.ActionIntake, scopeCity),
	"/myintake":   staffCmd(cmd("myintake"), campaign.ActionIntake, scopeCity),
	"/device":     staffCmd(cmd("device"), campaign.ActionIntake, scopeCity),
	"/money":      staffCmd(cmd("money"), campaign.ActionRecordMoney, scopeCity),
	"/buy":        staffCmd(cmd("buy"), campaign.ActionRecordMoney, scopeCity),
	"/allocate":   staffCmd(cmd("allocate"), campaign.ActionAllocate, scopeCity),
	"/deliveries": staffCmd(cmd("deliveries"), campaign.ActionDeliver, scopeCity),
	"/find": {samples: []authzSample{
		{in: cmd("find"), action: campaign.ActionFind, scope: scopeOwn},
		// A child's record found by its code: of the sender's ward, or school (issue 15).
		{in: cmd("find", "TD-000001"), action: campaign.ActionViewChildData, scope: scopeRecord, gate: campaign.ActionFind},
	}},
	"/export":    staffCmd(cmd("export"), campaign.ActionExport, scopeOwn),
	"/summary":   staffCmd(cmd("summary"), campaign.ActionViewProgress, scopeOwn),
	"/subscribe": staffCmd(cmd("subscribe"), campaign.ActionViewProgress, scopeOwn),
	"/broadcast": staffCmd(cmd("broadcast"), campaign.ActionBroadcast, scopeCity),
	"/import":    staffCmd(cmd("import"), campaign.ActionImportList, scopeOwn),
	"/assist":    staffCmd(cmd("assist"), campaign.ActionAssist, scopeOwn),
	// Clearing a phone's wrong birth dates: who may verify; then the ward of a registration the
	// phone may claim (flows/claim_test.go).
	"/unblock": staffCmd(cmd("unblock"), campaign.ActionVerify, scopeOwn),
	"aa:": {samples: []authzSample{
		{in: press("aa:new"), action: campaign.ActionAssist, scope: scopeOwn},
		{in: press("aa:next"), action: campaign.ActionAssist, scope: scopeOwn},
	}},
	// The assisted form's submit decides again, for the child's ward.
	"as:": {samples: []authzSample{{
		in: press("as:review:submit"), action: campaign.ActionAssist, scope: scopeRecord, form: []Input{
			cmd("assist"), press("as:consent:yes"), text("Nguyễn Thị Lan"), press("as:phone:!none"),
			text("Trần Minh Khang, 05/09/2012"), text("lớp 3, Tiểu học Linh Trung"),
			text("12 đường số 5, khu phố 3, Linh Trung"), text("hộ nghèo"), press("as:device_situation:none"), text("laptop"),
		},
	}}},
	"/verify": {samples: []authzSample{
		{in: cmd("verify"), action: campaign.ActionVerify, scope: scopeOwn},
		{in: cmd("verify", "TD-000001"), action: campaign.ActionVerify, scope: scopeOwnRecord},
	}},

	"v:":  staffCmd(press("v:skip:TD-000001"), campaign.ActionVerify, scopeRecord), // v:reply is the parent's
	"d:":  staffCmd(press("d:ok:GH-000012"), campaign.ActionDeliver, scopeCity),
	"x:":  staffCmd(press("x:csv"), campaign.ActionExport, scopeOwn),
	"f:":  staffCmd(press("f:0912345601"), campaign.ActionFind, scopeOwn),
	"b:":  staffCmd(press("b:pr:BC-000001"), campaign.ActionBroadcast, scopeCity),
	"s:":  staffCmd(press("s:revoke:telegram:"+wardOffID), campaign.ActionManageStaff, scopeCity),
	"ia:": staffCmd(press("ia:next:walkin"), campaign.ActionIntake, scopeCity),
	"dv:": staffCmd(press("dv:no:TB-000001"), campaign.ActionIntake, scopeCity),
	"a:": {samples: []authzSample{{
		in: press("a:no:" + allocTag(authzAllocKey)), action: campaign.ActionAllocate, scope: scopeCity,
		state: func() State {
			return State{Flow: FlowCase, Step: allocStepReview, IdempotencyKey: authzAllocKey, Answers: map[string]string{},
				UpdatedAt: testStart}
		},
	}}},
	// A form's buttons only edit its draft, in the state the gated command started; its submit
	// decides again (a role revoked or changed since is refused there).
	"i:": {samples: []authzSample{{
		in: press("i:review:submit"), action: campaign.ActionIntake, scope: scopeCity, form: laptopInputs(),
	}}},
	"m:": {samples: []authzSample{{
		in: press("m:review:submit"), action: campaign.ActionRecordMoney, scope: scopeCity,
		form: []Input{cmd("money", "PL-000045", "5tr", "chuyển khoản")},
	}}},
}

// authzChat is a chat with every store the staff commands use, the records the samples name
// and the sender under test: id with role in ward.
func authzChat(t *testing.T, id string, role campaign.Role, ward string) *convo {
	t.Helper()
	progress := &campaigntest.Progress{Campaign: campaign.Default()}
	c := newChatWith(t, func(cfg *Config) { cfg.Progress = progress })
	c.e.cfg.Exporter = &campaigntest.Exporter{Dir: t.TempDir(), Rows: exportRows}
	c.withPending()
	c.withNotify()
	c.withDonor("vi") // the device and money stores, PL-000045 and PL-000046
	if role != "" && role != campaign.RoleAdmin {
		c.staff.Add(id, "Người thử", role, ward)
	}
	return c
}

// authzWho are the senders: every role in its own ward (Linh Trung), another (Thảo Điền) and
// none; a school of the records' school (TD-000001's, written another way) in two wards, and
// another school; an administrator; someone without a role.
func authzWho() []campaign.Staff {
	var out []campaign.Staff
	for _, r := range campaign.StaffRoles {
		if r.NeedsSchool() {
			for _, ws := range [][2]string{{wardLT, "Trường " + authzRecordSchool}, {wardTD, authzRecordSchool}, {wardLT, "Trường THCS Bình Thọ"}} {
				out = append(out, campaign.Staff{Channel: "telegram", ExternalID: "7100", Role: r, WardCode: ws[0], School: ws[1]})
			}
			continue
		}
		for _, w := range []string{wardLT, wardTD, ""} {
			out = append(out, campaign.Staff{Channel: "telegram", ExternalID: "7100", Role: r, WardCode: w})
		}
	}
	return append(out,
		campaign.Staff{Channel: "telegram", ExternalID: testAdmin, Role: campaign.RoleAdmin},
		campaign.Staff{Channel: "telegram", ExternalID: "3999"})
}

// want is campaign.Authorize's decision on s for who (AuthorizeRecord's for a record, which
// knows its school), after s's gate, if any.
func (s authzSample) want(who campaign.Staff) bool {
	if s.gate != "" && campaign.Authorize(who, s.gate, who.WardCode) != nil {
		return false
	}
	switch s.scope {
	case scopeOwn:
		return campaign.Authorize(who, s.action, who.WardCode) == nil
	case scopeRecord:
		return campaign.AuthorizeRecord(who, s.action, wardLT, authzRecordSchool) == nil
	case scopeOwnRecord:
		return campaign.Authorize(who, s.action, who.WardCode) == nil && campaign.AuthorizeRecord(who, s.action, wardLT, authzRecordSchool) == nil
	}
	return campaign.Authorize(who, s.action, "") == nil
}

func TestAuthz_EveryStaffAction(t *testing.T) {
	names := slices.Sorted(maps.Keys(authzTable))
	for _, who := range authzWho() {
		t.Run(fmt.Sprintf("%s_%s_%s", cmp.Or(string(who.Role), "none"), cmp.Or(who.WardCode, "noward"), campaign.SchoolKey(who.School)), func(t *testing.T) {
			c := authzChat(t, who.ExternalID, who.Role, who.WardCode)
			if who.School != "" {
				c.staff.AddMember(who)
			}
			for _, name := range names {
				entry := authzTable[name]
				if entry.public {
					if !strings.HasPrefix(name, "/") {
						continue // a public button needs its own state; its flow's tests cover it
					}
					c.become(who.ExternalID, "vi")
					c.st = State{}
					refusedBefore := len(c.audit.Refused())
					c.send(cmd(strings.TrimPrefix(name, "/")))
					if got := c.audit.Refused(); len(got) != refusedBefore {
						t.Errorf("%s is public, but %s was refused: %+v", name, describeWho(who), got[refusedBefore:])
					}
					continue
				}
				for _, s := range entry.samples {
					st := State{}
					if s.state != nil {
						st = s.state()
					}
					if s.form != nil {
						c.become(testAdmin, "vi")
						c.st = State{}
						for _, in := range s.form {
							c.send(in)
						}
						if c.st.Step != stepReview {
							t.Fatalf("%s: the form is at %q, not its review", name, c.st.Step)
						}
						st = c.st
					}
					c.become(who.ExternalID, "vi")
					c.st = st
					before := len(c.audit.Refused())
					out := c.send(s.in)
					refused := false
					for _, e := range c.audit.Refused()[before:] {
						refused = refused || e.Subject == string(s.action) || (s.gate != "" && e.Subject == string(s.gate))
					}
					if want := s.want(who); refused == want {
						t.Errorf("%s by %s: refused %v, but campaign.Authorize(%s) says allowed %v:%s",
							describe(s.in), describeWho(who), refused, s.action, want, dump(out))
					}
				}
			}
		})
	}
}

func describeWho(s campaign.Staff) string {
	if s.School != "" {
		return fmt.Sprintf("%s %q of ward %q", s.Role, s.School, s.WardCode)
	}
	return fmt.Sprintf("%s of ward %q", cmp.Or(string(s.Role), "someone without a role"), s.WardCode)
}

// TestAuthz_TableCoversEveryCommandAndButton reads every command, main-menu action and button
// prefix from the flows' registry (flow.go: command() and choice() route nothing else), and the
// forms' prefixes of an engine with every store: a command or a prefix added without an entry in
// authzTable fails here.
func TestAuthz_TableCoversEveryCommandAndButton(t *testing.T) {
	seen := map[string]bool{}
	for name := range registry.commands {
		seen["/"+name] = true
	}
	if len(seen) < 20 {
		t.Fatalf("found only %d commands in the registry: %v", len(seen), slices.Sorted(maps.Keys(seen)))
	}
	if len(registry.actions) > 0 {
		seen[globalPrefix+":"] = true
	}
	if len(registry.buttons) < 10 {
		t.Fatalf("found only %d button prefixes in the registry", len(registry.buttons))
	}
	for prefix := range registry.buttons {
		seen[prefix+":"] = true
	}
	c := authzChat(t, "7100", campaign.RoleCityOfficial, "")
	if len(c.e.routes.commands) != len(registry.commands) || len(c.e.routes.buttons) != len(registry.buttons) ||
		len(c.e.routes.actions) != len(registry.actions) {
		t.Fatal("the engine under test routes other commands or buttons than the registry")
	}
	for _, f := range c.e.forms {
		seen[f.prefix+":"] = true
	}

	for name := range seen {
		if _, ok := authzTable[name]; !ok {
			t.Errorf("%s is not in the authorisation table (authzTable): say which campaign.Action decides it, or that it is public", name)
		}
	}
	for name := range authzTable {
		if !seen[name] {
			t.Errorf("authzTable names %s, which the flows no longer have", name)
		}
	}
	// Every action the table names is one campaign.Authorize knows (an unknown one is refused to all).
	for name, e := range authzTable {
		for _, s := range e.samples {
			if campaign.Authorize(campaign.Staff{Role: campaign.RoleAdmin}, s.action, "") != nil {
				t.Errorf("%s: action %q is unknown to campaign.Authorize", name, s.action)
			}
		}
	}
}

// Issue 13: a parent's answer goes to whoever holds the case's scope now: the official who asked
// while still in role and ward, else the ward's verification queue.
func TestAuthz_AnswerFollowsTheRole(t *testing.T) {
	ask := func(c *convo, official, code, parent string) {
		t.Helper()
		c.become(official, "vi")
		c.send(cmd("verify", code))
		c.send(press("v:ask:" + code))
		c.send(text("Gia đình có giấy chứng nhận hộ nghèo không?"))
		c.become(parent, "vi")
	}
	told := func(c *convo) []string {
		var to []string
		for _, n := range c.notices {
			to = append(to, n.ChatID)
		}
		slices.Sort(to)
		return to
	}

	// Still in role and ward: the official who asked.
	c := newChat(t).withPending()
	ask(c, wardOffID, "TD-000001", "3101")
	c.send(text("Có, số giấy 123/2021"))
	if got := told(c); !slices.Equal(got, []string{wardOffID}) {
		t.Errorf("in role: told %v, want the official who asked", got)
	}

	// Revoked since: the ward's verification queue (the Women's Union of Linh Trung), never them.
	c = newChat(t).withPending()
	ask(c, wardOffID, "TD-000001", "3101")
	if err := c.staff.RevokeStaff(t.Context(), "telegram", wardOffID, "telegram:"+testAdmin); err != nil {
		t.Fatal(err)
	}
	c.send(text("Có, số giấy 123/2021"))
	if got := told(c); !slices.Equal(got, []string{womenID}) {
		t.Errorf("revoked: told %v, want the ward's queue [%s]", got, womenID)
	}
	// What the parent adds goes the same way.
	c.send(Input{Kind: KindOther, PhotoID: "photo-1", Text: "Giấy chứng nhận"})
	if got := told(c); !slices.Equal(got, []string{womenID}) {
		t.Errorf("revoked, a photo added: told %v, want [%s]", got, womenID)
	}

	// Moved to another ward since: the queue of the registration's ward.
	c = newChat(t).withPending()
	ask(c, wardOffID, "TD-000001", "3101")
	c.staff.Add(wardOffID, "Phạm Thị Phường", campaign.RoleWardOfficial, wardTD)
	c.send(text("Có, số giấy 123/2021"))
	if got := told(c); !slices.Equal(got, []string{womenID}) {
		t.Errorf("moved ward: told %v, want the ward's queue [%s]", got, womenID)
	}

	// A ward with nobody left who verifies: the education office, which verifies every ward.
	c = newChat(t).withPending()
	ask(c, wardTDID, "TD-000003", "3103")
	if err := c.staff.RevokeStaff(t.Context(), "telegram", wardTDID, "telegram:"+testAdmin); err != nil {
		t.Fatal(err)
	}
	c.send(text("Có, số giấy 456/2021"))
	if got := told(c); !slices.Equal(got, []string{eduID}) {
		t.Errorf("a ward without verifiers: told %v, want the education office [%s]", got, eduID)
	}

	// An administrator (named by the configuration, not a staff record) while still named.
	c = newChat(t).withPending()
	ask(c, testAdmin, "TD-000001", "3101")
	c.send(text("Có, số giấy 123/2021"))
	if got := told(c); !slices.Equal(got, []string{testAdmin}) {
		t.Errorf("administrator: told %v", got)
	}
	c = newChat(t).withPending()
	ask(c, testAdmin, "TD-000001", "3101")
	c.e.cfg.Admins = nil
	c.send(text("Có, số giấy 123/2021"))
	if got := told(c); !slices.Equal(got, []string{wardOffID, womenID}) {
		t.Errorf("administrator no longer named: told %v, want the ward's queue", got)
	}
}

// Issue 13: /broadcast is decided by campaign.Authorize like every staff action, and its
// refusal audited under the action.
func TestAuthz_BroadcastIsInTheTable(t *testing.T) {
	for _, r := range append(slices.Clone(campaign.StaffRoles), campaign.RoleAdmin, "") {
		want := r == campaign.RoleCultureInfo || r == campaign.RoleCityOfficial || r == campaign.RoleAdmin
		if got := campaign.Authorize(campaign.Staff{Role: r}, campaign.ActionBroadcast, "") == nil; got != want {
			t.Errorf("campaign.Authorize(%q, broadcast) = %v, want %v", r, got, want)
		}
		if mayBroadcast(r) != want {
			t.Errorf("mayBroadcast(%q) = %v, want %v", r, !want, want)
		}
	}
	c := newChat(t)
	c.withNotify()
	c.become(wardOffID, "vi")
	c.send(cmd("broadcast"))
	if refused := c.audit.Refused(); len(refused) != 1 || refused[0].Subject != string(campaign.ActionBroadcast) {
		t.Errorf("refusal audited as %+v, want the action %s", refused, campaign.ActionBroadcast)
	}
}
