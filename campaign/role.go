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
var StaffRoles = []Role{RoleCityOfficial, RoleEducationOffice, RoleWardOfficial, RoleWomensUnion, RoleVolunteer, RoleCultureInfo}

// Valid reports whether r is a role an invitation can give.
func (r Role) Valid() bool { return slices.Contains(StaffRoles, r) }

// NeedsWard reports whether the role works within one ward.
func (r Role) NeedsWard() bool { return r == RoleWardOfficial || r == RoleWomensUnion }

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
	ActionExport        Action = "data.export"         // ward roles: their ward only
	ActionFind          Action = "data.find"           // each record found is then checked on its own
	ActionViewProgress  Action = "progress.view"       // ward roles: their ward's figures
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
	ActionViewChildData: {RoleCityOfficial, RoleEducationOffice, RoleWardOfficial, RoleWomensUnion},
	ActionAllocate:      {RoleEducationOffice, RoleCityOfficial},
	ActionDeliver:       {RoleVolunteer, RoleCityOfficial},
	ActionExport:        {RoleCityOfficial, RoleEducationOffice, RoleWardOfficial},
	ActionFind:          {RoleCityOfficial, RoleEducationOffice, RoleWardOfficial, RoleWomensUnion, RoleVolunteer},
	ActionViewProgress:  {RoleCityOfficial, RoleEducationOffice, RoleWardOfficial, RoleWomensUnion, RoleVolunteer, RoleCultureInfo},
	ActionErase:         {},
	ActionBroadcast:     {RoleCultureInfo, RoleCityOfficial},
	ActionImportList:    {RoleEducationOffice, RoleWardOfficial, RoleWomensUnion, RoleSchool},
	ActionAssist:        {RoleEducationOffice, RoleWardOfficial, RoleWomensUnion, RoleSchool},
}

// Staff is a person acting with a role; WardCode is set for ward roles.
type Staff struct {
	Channel    string
	ExternalID string
	Name       string
	Role       Role
	WardCode   string
	// School is the school a RoleSchool member acts for (its name as the lists write it).
	School string
}

// Authorize is the one place that decides whether staff may take an action, and for ward roles,
// whether wardCode (the ward of the record acted on; "" for city-wide actions) is theirs. It returns
// an EUNAUTHORIZED error that names the action, never the reason's details, for the bot to turn into
// a polite refusal and an audit row.
func Authorize(s Staff, a Action, wardCode string) error {
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
