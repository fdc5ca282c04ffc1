package campaign

import "testing"

func TestAuthorize(t *testing.T) {
	admin := Staff{Role: RoleAdmin}
	city := Staff{Role: RoleCityOfficial}
	edu := Staff{Role: RoleEducationOffice}
	ward := Staff{Role: RoleWardOfficial, WardCode: "26800"}
	women := Staff{Role: RoleWomensUnion, WardCode: "26794"}
	volunteer := Staff{Role: RoleVolunteer}
	culture := Staff{Role: RoleCultureInfo}
	nobody := Staff{}
	tests := []struct {
		name   string
		who    Staff
		action Action
		ward   string
		ok     bool
	}{
		{"admin invites", admin, ActionInvite, "", true},
		{"admin manages staff", admin, ActionManageStaff, "", true},
		{"city official may not invite", city, ActionInvite, "", false},
		{"a parent may not take devices in", nobody, ActionIntake, "", false},
		{"volunteer takes devices in", volunteer, ActionIntake, "", true},
		{"culture office may not take devices in", culture, ActionIntake, "", false},
		{"city official records money", city, ActionRecordMoney, "", true},
		{"volunteer may not record money", volunteer, ActionRecordMoney, "", false},
		{"ward official verifies in their ward", ward, ActionVerify, "26800", true},
		{"ward official may not verify elsewhere", ward, ActionVerify, "26794", false},
		{"ward official needs a ward to act in", ward, ActionVerify, "", false},
		{"women's union verifies in their ward", women, ActionVerify, "26794", true},
		{"women's union may not verify elsewhere", women, ActionVerify, "26800", false},
		{"education office verifies anywhere", edu, ActionVerify, "26794", true},
		{"volunteer may not see a child's record", volunteer, ActionViewChildData, "26800", false},
		{"unknown action", admin, Action("nuke"), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Authorize(tt.who, tt.action, tt.ward)
			if (err == nil) != tt.ok {
				t.Fatalf("Authorize = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && ErrorCode(err) != EUNAUTHORIZED {
				t.Errorf("code = %s, want unauthorized", ErrorCode(err))
			}
		})
	}
}

func TestRole(t *testing.T) {
	for _, r := range StaffRoles {
		if !r.Valid() {
			t.Errorf("%s not valid", r)
		}
	}
	if RoleAdmin.Valid() || Role("").Valid() {
		t.Error("admin or empty role given by invitation")
	}
	if !RoleWardOfficial.NeedsWard() || !RoleWomensUnion.NeedsWard() || RoleCityOfficial.NeedsWard() {
		t.Error("NeedsWard wrong")
	}
}
