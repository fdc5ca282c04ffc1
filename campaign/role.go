package campaign

import "slices"

// Role is what a staff member does in the campaign. Parents and donors have no role.
type Role string

// Staff roles, given by invitation (admins are named in the configuration instead).
const (
	RoleCityOfficial    Role = "city_official"    // UBND / Ủy ban MTTQ of the city
	RoleEducationOffice Role = "education_office" // Phòng Giáo dục và Đào tạo
	RoleWardOfficial    Role = "ward_official"    // UBND phường
	RoleWomensUnion     Role = "womens_union"     // Hội LHPN of a ward
	RoleVolunteer       Role = "volunteer"        // Youth Union (Đoàn thanh niên) volunteer
	RoleCultureInfo     Role = "culture_info"     // Phòng Văn hóa và Thông tin
	RoleSchool          Role = "school"           // a school's staff: its own students' list
	RoleAdmin           Role = "admin"            // ADMIN_TELEGRAM_IDS; never stored from an invitation
)

// StaffRoles lists the roles an invitation can give, in the order they are offered.
var StaffRoles = []Role{RoleCityOfficial, RoleEducationOffice, RoleWardOfficial, RoleWomensUnion, RoleVolunteer, RoleCultureInfo, RoleSchool}

// Valid reports whether r is a role an invitation can give.
func (r Role) Valid() bool { return slices.Contains(StaffRoles, r) }

// NeedsWard reports whether the role works within one ward.
func (r Role) NeedsWard() bool { return r == RoleWardOfficial || r == RoleWomensUnion }

// NeedsSchool reports whether the role acts for one school: a school sees only its own students
// (AuthorizeRecord), whatever ward they live in.
func (r Role) NeedsSchool() bool { return r == RoleSchool }

// HasWard reports whether the role is given with a ward: the ward a ward role works in, or the
// ward a school stands in. A school's ward says where it is (its label, the broadcasts to that
// ward); it does not limit which of its students it sees, who live in any ward.
func (r Role) HasWard() bool { return r.NeedsWard() || r.NeedsSchool() }

// Action is something only staff may do.
type Action string

// Staff actions; Authorize says who may do each.
const (
	ActionInvite        Action = "staff.invite"    // create an invitation
	ActionManageStaff   Action = "staff.manage"    // list and revoke staff
	ActionIntake        Action = "device.intake"   // take devices in and check them
	ActionRecordMoney   Action = "money.record"    // record money received and devices bought
	ActionViewPledges   Action = "pledge.view_all" // see every donor's pledges
	ActionViewDevices   Action = "device.view_all" // see the device pipeline
	ActionVerify        Action = "registration.verify"
	ActionViewChildData Action = "registration.view" // a child's full record
	ActionAllocate      Action = "registration.allocate"
	ActionDeliver       Action = "delivery.deliver"
	ActionExport        Action = "data.export"         // ward roles: their ward only; a school: its students
	ActionFind          Action = "data.find"           // each record found is then checked on its own
	ActionViewProgress  Action = "progress.view"       // ward roles: their ward's figures; not a school
	ActionErase         Action = "registration.erase"  // a family's personal data, on its written request
	ActionBroadcast     Action = "broadcast.send"      // announcements to parents, donors, staff or a ward, and their progress
	ActionImportList    Action = "registration.import" // a school's or a ward's list of children (ward roles: their ward; a school: its students)
	ActionAssist        Action = "registration.assist" // register a family on its behalf, its consent given in person (ward roles: their ward; a school: its students)
)

// permissions says which roles may take each action. Admins may take every action.
var permissions = map[Action][]Role{
	ActionInvite:        {},
	ActionManageStaff:   {},
	ActionIntake:        {RoleVolunteer, RoleCityOfficial},
	ActionRecordMoney:   {RoleCityOfficial},
	ActionViewPledges:   {RoleCityOfficial, RoleVolunteer},
	ActionViewDevices:   {RoleCityOfficial, RoleEducationOffice, RoleVolunteer},
	ActionVerify:        {RoleEducationOffice, RoleWardOfficial, RoleWomensUnion},
	ActionViewChildData: {RoleCityOfficial, RoleEducationOffice, RoleWardOfficial, RoleWomensUnion, RoleSchool},
	ActionAllocate:      {RoleEducationOffice, RoleCityOfficial},
	ActionDeliver:       {RoleVolunteer, RoleCityOfficial},
	ActionExport:        {RoleCityOfficial, RoleEducationOffice, RoleWardOfficial, RoleSchool},
	ActionFind:          {RoleCityOfficial, RoleEducationOffice, RoleWardOfficial, RoleWomensUnion, RoleVolunteer, RoleSchool},
	ActionViewProgress:  {RoleCityOfficial, RoleEducationOffice, RoleWardOfficial, RoleWomensUnion, RoleVolunteer, RoleCultureInfo},
	ActionErase:         {},
	ActionBroadcast:     {RoleCultureInfo, RoleCityOfficial},
	ActionImportList:    {RoleEducationOffice, RoleWardOfficial, RoleWomensUnion, RoleSchool},
	ActionAssist:        {RoleEducationOffice, RoleWardOfficial, RoleWomensUnion, RoleSchool},
}

// Staff is a person acting with a role; WardCode is set for ward roles (and a school's ward).
type Staff struct {
	Channel    string
	ExternalID string
	Name       string
	Role       Role
	WardCode   string
	// School is the school a RoleSchool member acts for: its name as the invitation gave it.
	// Records are its students when their school has the same SchoolKey.
	School string
}

// schoolRecordActions are the actions a school member takes only on its own students' records:
// Authorize, which knows no record's school, refuses them to a school, and AuthorizeRecord
// checks the record's school. A school's other actions are gates whose scope the query keeps
// (FindScopeOf, ScopeExport; an imported list's school is the sender's).
var schoolRecordActions = []Action{ActionViewChildData}

// Authorize is the one place that decides whether staff may take an action, and for ward roles,
// whether wardCode (the ward of the record acted on; "" for city-wide actions) is theirs. It returns
// an EUNAUTHORIZED error that names the action, never the reason's details, for the bot to turn into
// a polite refusal and an audit row.
//
// A school member may take an action on a child's record (ActionViewChildData) only through
// AuthorizeRecord, which knows the record's school: Authorize refuses it.
func Authorize(s Staff, a Action, wardCode string) error {
	if err := authorizeRole(s, a, wardCode); err != nil {
		return err
	}
	if s.Role.NeedsSchool() && slices.Contains(schoolRecordActions, a) {
		return Errorf(EUNAUTHORIZED, "a school may %s only on a record of its own school", a)
	}
	return nil
}

// AuthorizeRecord is Authorize for an action on one child's record, of ward wardCode and with
// school as the record writes it. Beyond Authorize, a school member may act only on its own
// students' records: school and the member's school must have the same SchoolKey (a key that is
// "" matches nothing). The error, like Authorize's, names no school.
func AuthorizeRecord(s Staff, a Action, wardCode, school string) error {
	if err := authorizeRole(s, a, wardCode); err != nil {
		return err
	}
	if s.Role.NeedsSchool() && slices.Contains(schoolRecordActions, a) && !SameSchool(s.School, school) {
		return Errorf(EUNAUTHORIZED, "a school may not %s on a record of another school", a)
	}
	return nil
}

// SameSchool reports whether two schools' names name one school (the same SchoolKey, not "").
func SameSchool(a, b string) bool {
	k := SchoolKey(a)
	return k != "" && k == SchoolKey(b)
}

// May reports whether the role may take a at all, leaving its ward or school aside: a ward
// role refused a record of another ward, or a school a student of another school, may take a in
// its own. Admins may take every action.
func (r Role) May(a Action) bool {
	return r == RoleAdmin || slices.Contains(permissions[a], r)
}

// authorizeRole is the role and ward check of Authorize and AuthorizeRecord.
func authorizeRole(s Staff, a Action, wardCode string) error {
	allowed, known := permissions[a]
	if !known {
		return Errorf(EUNAUTHORIZED, "unknown action %s", a)
	}
	if s.Role == RoleAdmin {
		return nil
	}
	if !slices.Contains(allowed, s.Role) {
		return Errorf(EUNAUTHORIZED, "%s may not %s", roleOrNone(s.Role), a)
	}
	if s.Role.NeedsWard() {
		if wardCode == "" || wardCode != s.WardCode {
			return Errorf(EUNAUTHORIZED, "%s of ward %s may not %s in ward %q", s.Role, s.WardCode, a, wardCode)
		}
	}
	return nil
}

func roleOrNone(r Role) string {
	if r == "" {
		return "a person without a role"
	}
	return string(r)
}
