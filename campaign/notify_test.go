package campaign

import (
	"strings"
	"testing"
	"time"
)

func TestParseSchedule(t *testing.T) {
	base := `{"id":"x","name":{"vi":"X"},"registration_prefix":"X","start":"2021-09-01","end":"2021-09-30",
		"wards":[{"code":"1","name":"Phường Một"}]`
	tests := []struct {
		name    string
		extra   string
		want    func(Schedule) bool
		wantErr string
	}{
		{"default", ``, func(s Schedule) bool { return s == DefaultSchedule }, ""},
		{"summary hour", `,"schedule":{"summary_at":"18:30"}`, func(s Schedule) bool {
			return s.Summary == "30 18 * * *" && s.Milestones == DefaultSchedule.Milestones
		}, ""},
		{"specs and delays", `,"schedule":{"summary":"0 16 * * 1-6","morning":"0 7 * * *","form_reminder_hours":12,"pledge_reminder_days":3,"catch_up_until":"22:00"}`,
			func(s Schedule) bool {
				return s.Summary == "0 16 * * 1-6" && s.Morning == "0 7 * * *" && s.FormReminderAfter == 12*time.Hour &&
					s.PledgeReminderAfter == 72*time.Hour && s.CatchUpUntil == "22:00"
			}, ""},
		{"both summary forms", `,"schedule":{"summary_at":"17:00","summary":"0 17 * * *"}`, nil, "not both"},
		{"bad hour", `,"schedule":{"summary_at":"5pm"}`, nil, "summary_at"},
		{"bad spec", `,"schedule":{"reminders":"hourly"}`, nil, "five-field"},
		{"bad catch up", `,"schedule":{"catch_up_until":"25:00"}`, nil, "catch_up_until"},
		{"negative", `,"schedule":{"pledge_reminder_days":-1}`, nil, "negative"},
		{"unknown field", `,"schedule":{"summary_hour":17}`, nil, "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(base+tt.extra+"}"), nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want(c.Schedule) {
				t.Errorf("schedule = %+v", c.Schedule)
			}
		})
	}
}

func TestCampaign_MilestoneEvents(t *testing.T) {
	c := Default()
	at := func(date, clock string) time.Time {
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04", date+" "+clock, c.Location)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		at   time.Time
		want string
	}{
		{at("2021-09-12", "08:00"), ""},
		{at("2021-09-13", "00:00"), "plan"},
		{at("2021-09-13", "23:59"), "plan"},
		{at("2021-09-15", "08:00"), "launch"},
		{at("2021-09-17", "08:00"), "handover"},
		{at("2021-09-20", "08:00"), ""},
		{at("2021-09-30", "08:00"), "handover:end"},
		{at("2021-10-01", "08:00"), "final_report"},
		// 30/9 23:30 in Hà Nội is 1/10 in no time zone but the campaign's: UTC is still on 30/9 16:30.
		{time.Date(2021, 9, 30, 17, 30, 0, 0, time.UTC), "final_report"},
		{time.Date(2021, 9, 30, 16, 59, 0, 0, time.UTC), "handover:end"},
	}
	for _, tt := range tests {
		var keys []string
		for _, ev := range c.MilestoneEvents(tt.at) {
			keys = append(keys, ev.Key())
			if ev.FinalReport() != (ev.Key() == MilestoneFinalReport) {
				t.Errorf("%s: FinalReport() = %v", ev.Key(), ev.FinalReport())
			}
		}
		if got := strings.Join(keys, ","); got != tt.want {
			t.Errorf("events at %s = %q, want %q", tt.at, got, tt.want)
		}
	}
}

func TestSubscriber_Scope(t *testing.T) {
	for _, tt := range []struct {
		s    Subscriber
		want string
	}{
		{Subscriber{Staff: Staff{Role: RoleCityOfficial}}, ""},
		{Subscriber{Staff: Staff{Role: RoleEducationOffice, WardCode: "26800"}}, ""},
		{Subscriber{Staff: Staff{Role: RoleWardOfficial, WardCode: "26800"}}, "26800"},
		{Subscriber{Staff: Staff{Role: RoleWomensUnion, WardCode: "26803"}}, "26803"},
	} {
		if got := tt.s.Scope(); got != tt.want {
			t.Errorf("%s scope = %q, want %q", tt.s.Role, got, tt.want)
		}
	}
}
