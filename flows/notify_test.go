package flows

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/campaign/campaigntest"
)

// jobsMessages is jobs.Messages, copied: flows may not import jobs, so this checks that *Engine
// has the method set the jobs need (cmd assigns the engine to it).
type jobsMessages interface {
	SummaryText(lang string, p campaign.Progress) string
	ChartCaption(lang string, p campaign.Progress) string
	MilestoneText(lang string, ev campaign.MilestoneEvent, p campaign.Progress, withWorkbook bool) string
	FormReminder(dialog []byte, now time.Time, after time.Duration) (campaign.Notice, bool)
	PledgeReminder(p campaign.PledgeAwaiting) campaign.Notice
	MorningCount(lang string, pending int, wardCode string) campaign.Notice
	BroadcastDone(lang string, p campaign.BroadcastProgress) string
}

var _ jobsMessages = (*Engine)(nil)

func TestSubscribe_CityAndWard(t *testing.T) {
	c := newChat(t)
	f := c.withNotify()
	c.become(officialID, "vi")
	out := c.send(cmd("subscribe"))
	wantText(t, out, "Hằng ngày lúc 17:00, bạn sẽ nhận báo cáo tiến độ của Thành phố Thủ Đức")
	if s, ok := f.subs.Subscriber(officialID); !ok || s.Scope() != "" || s.Role != campaign.RoleCityOfficial {
		t.Errorf("subscriber %+v, %v", s, ok)
	}
	out = c.send(cmd("subscribe"))
	wantText(t, out, "đã đăng ký nhận báo cáo tiến độ của Thành phố Thủ Đức từ trước")

	c.become(wardOffID, "en")
	out = c.send(cmd("subscribe"))
	wantText(t, out, "Every day at 17:00 you will get the progress report for Linh Trung Ward")
	if s, ok := f.subs.Subscriber(wardOffID); !ok || s.Scope() != wardLT {
		t.Errorf("ward subscriber %+v, %v", s, ok)
	}
	var audited []string
	for _, e := range c.audit.Entries() {
		if e.Action == auditSubscribe {
			audited = append(audited, e.Actor+" "+e.Subject)
		}
	}
	if !slices.Equal(audited, []string{"telegram:" + officialID + " telegram:" + officialID, "telegram:" + wardOffID + " telegram:" + wardOffID}) {
		t.Errorf("subscriptions audited: %q", audited)
	}
}

func TestSubscribe_ScheduleWithoutOneHour(t *testing.T) {
	camp := campaign.Default()
	camp.Schedule.Summary = "0 8,17 * * 1-5"
	c := newChatWith(t, func(cfg *Config) { cfg.Campaign = camp })
	c.withNotify()
	c.become(cultureID, "vi")
	out := c.send(cmd("subscribe"))
	wantText(t, out, "Mỗi ngày bạn sẽ nhận báo cáo tiến độ của Thành phố Thủ Đức")
	for _, tt := range []struct {
		spec, want string
		ok         bool
	}{
		{"0 17 * * *", "17:00", true}, {"30 7 * * *", "07:30", true}, {"5 0 * * *", "00:05", true},
		{"0 9-20 * * *", "", false}, {"0 17 * * 1", "", false}, {"*/5 * * * *", "", false},
		{"0 24 * * *", "", false}, {"60 1 * * *", "", false}, {"0 17 * *", "", false}, {"", "", false},
	} {
		if got, ok := (campaign.Schedule{Summary: tt.spec}).SummaryAt(); got != tt.want || ok != tt.ok {
			t.Errorf("SummaryAt(%q) = %q, %v", tt.spec, got, ok)
		}
	}
}

func TestSubscribe_RefusedAndUnsubscribe(t *testing.T) {
	c := newChat(t)
	f := c.withNotify()
	c.become("3101", "vi")
	out := c.send(cmd("subscribe"))
	wantText(t, out, msg(c.e, "vi", "staff.refused"))
	if f.subs.Changes() != 0 || len(c.audit.Refused()) != 1 || c.audit.Refused()[0].Subject != string(campaign.ActionViewProgress) {
		t.Errorf("a parent subscribed: calls %d, refusals %+v", f.subs.Changes(), c.audit.Refused())
	}
	out = c.send(cmd("unsubscribe"))
	wantText(t, out, "Bạn chưa đăng ký nhận báo cáo hằng ngày")

	c.become(officialID, "vi")
	c.send(cmd("subscribe"))
	out = c.send(cmd("unsubscribe"))
	wantText(t, out, "Đã hủy đăng ký")
	if _, ok := f.subs.Subscriber(officialID); ok {
		t.Error("still subscribed")
	}
	out = c.send(cmd("unsubscribe"))
	wantText(t, out, "không có gì để hủy")
	n := 0
	for _, e := range c.audit.Entries() {
		if e.Action == auditUnsubscribe {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d unsubscriptions audited", n)
	}
	// A form in progress is asked again after; a store failure is returned.
	c.send(press("g:register"))
	out = c.send(cmd("subscribe"))
	if c.st.Flow != FlowRegistration || len(out) != 2 {
		t.Errorf("the form was not asked again:%s", dump(out))
	}
	f.subs.Err = errors.New("timeout")
	if _, err := c.trySend(cmd("unsubscribe")); err == nil {
		t.Error("a store failure was not returned")
	}
}

func TestNotify_HelpLists(t *testing.T) {
	c := newChat(t)
	c.withNotify()
	for _, tt := range []struct {
		id   string
		want []string
		not  []string
	}{
		{officialID, []string{"/subscribe", "/unsubscribe", "/broadcast"}, nil},
		{cultureID, []string{"/subscribe", "/broadcast"}, nil},
		{wardOffID, []string{"/subscribe", "/unsubscribe"}, []string{"/broadcast"}},
		{testAdmin, []string{"/subscribe", "/broadcast"}, nil},
		{"3101", nil, []string{"/subscribe", "/broadcast"}},
	} {
		c.become(tt.id, "vi")
		text := allText(c.send(cmd("help")))
		for _, w := range tt.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: /help lacks %s:\n%s", tt.id, w, text)
			}
		}
		for _, w := range tt.not {
			if strings.Contains(text, w) {
				t.Errorf("%s: /help shows %s:\n%s", tt.id, w, text)
			}
		}
	}
	// Without the stores, nobody is offered them.
	c = newChat(t)
	c.staff.Add(officialID, "Phạm Thị Mai", campaign.RoleCityOfficial, "")
	c.become(officialID, "vi")
	if text := allText(c.send(cmd("help"))); strings.Contains(text, "/subscribe") || strings.Contains(text, "/broadcast") {
		t.Errorf("/help offers commands that are off:\n%s", text)
	}
	for _, cmd := range c.e.Commands("vi") {
		if cmd.Name == "subscribe" || cmd.Name == "broadcast" {
			t.Errorf("staff command %s in the public menu", cmd.Name)
		}
	}
}

// progressAt is the fixed figures of campaigntest.Progress on at, for scope ward.
func progressAt(t *testing.T, at time.Time, ward string) campaign.Progress {
	t.Helper()
	p, err := (&campaigntest.Progress{Campaign: campaign.Default()}).Progress(context.Background(), at, ward)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestChartCaption(t *testing.T) {
	e := newChat(t).e
	at := time.Date(2021, 9, 20, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		lang, ward, want string
	}{
		{"vi", "", "📈 Biểu đồ tiến độ – Thành phố Thủ Đức, ngày 20/09/2021."},
		{"en", "", "📈 Progress chart – Thu Duc City, 20/09/2021."},
		{"en", wardLT, "📈 Progress chart – Linh Trung Ward, 20/09/2021."},
		{"fr", wardTD, "📈 Biểu đồ tiến độ – Phường Thảo Điền, ngày 20/09/2021."},
	} {
		if got := e.ChartCaption(tt.lang, progressAt(t, at, tt.ward)); got != tt.want {
			t.Errorf("ChartCaption(%s, %q) = %q", tt.lang, tt.ward, got)
		}
	}
	long := strings.Repeat("😀", 1200)
	if got := cutRunes(long, captionMax); utf8.RuneCountInString(got) != captionMax || !strings.HasSuffix(got, "…") {
		t.Errorf("cutRunes left %d characters", utf8.RuneCountInString(got))
	}
	if got := cutRunes("ngắn", captionMax); got != "ngắn" {
		t.Errorf("cutRunes changed a short text: %q", got)
	}
}

func TestMilestoneText(t *testing.T) {
	c := newChat(t)
	e := c.e
	camp := campaign.Default()
	eventOn := func(day int, month time.Month, ends bool) campaign.MilestoneEvent {
		t.Helper()
		for _, ev := range camp.MilestoneEvents(time.Date(2021, month, day, 3, 0, 0, 0, time.UTC)) {
			if ev.Ends == ends {
				return ev
			}
		}
		t.Fatalf("no event on %d/%d", day, month)
		return campaign.MilestoneEvent{}
	}
	figuresVI := []string{"Đăng ký: 2.950 / 3.200 em  ▓▓▓▓▓▓▓▓▓░ 92%", "✅ Đã duyệt: 2.400 em", "🚚 Số em đã được trao (máy, SIM hoặc gói cước): 940"}
	figuresEN := []string{"Registrations: 2,950 / 3,200  ▓▓▓▓▓▓▓▓▓░ 92%", "✅ Verified: 2,400", "🚚 Children who received a device, SIM or package: 940"}
	for _, tt := range []struct {
		name string
		ev   campaign.MilestoneEvent
		lang string
		want []string
	}{
		{"plan", eventOn(13, 9, false), "vi", append([]string{"🎯 Triển khai kế hoạch – Thành phố Thủ Đức", "Từ hôm nay (13/09), kế hoạch"}, figuresVI...)},
		{"launch", eventOn(15, 9, false), "en", append([]string{"🎯 Launch ceremony – Thu Duc City", "Today (15/09) is the campaign's launch ceremony."}, figuresEN...)},
		{"handover starts", eventOn(17, 9, false), "vi", append([]string{"🎯 Trao tặng thiết bị", "Bắt đầu từ hôm nay (17/09) và kéo dài đến hết ngày 30/09."}, figuresVI...)},
		{"handover ends", eventOn(30, 9, true), "en", append([]string{"🎯 Devices handed over", "Today (30/09) is the last day of this period (started on 17/09)."}, figuresEN...)},
		{"unknown key", campaign.MilestoneEvent{Milestone: campaign.Milestone{Key: "school_year", Date: time.Date(2021, 9, 5, 0, 0, 0, 0, camp.Location),
			Name: campaign.Text{VI: "Khai giảng năm học", EN: "School year opens"}}}, "vi",
			append([]string{"🎯 Khai giảng năm học", "Hôm nay (05/09) là mốc này"}, figuresVI...)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := progressAt(t, tt.ev.Date.Add(10*time.Hour), "")
			got := e.MilestoneText(tt.lang, tt.ev, p, true)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("lacks %q:\n%s", w, got)
				}
			}
			if strings.Contains(got, "Bảng tính") || strings.Contains(got, "workbook") || strings.Contains(got, "Phường") {
				t.Errorf("an ordinary milestone with the final report's parts:\n%s", got)
			}
		})
	}
	// A ward's subscriber: the ward's figures, no target.
	ev := eventOn(15, 9, false)
	got := e.MilestoneText("vi", ev, progressAt(t, ev.Date.Add(10*time.Hour), wardLT), false)
	if !strings.Contains(got, "🎯 Lễ phát động – Phường Linh Trung") || !strings.Contains(got, "📋 Đăng ký: 2.950 em") {
		t.Errorf("ward milestone:\n%s", got)
	}

	final := eventOn(1, 10, false)
	if !final.FinalReport() {
		t.Fatal("1/10 is not the final report")
	}
	p := progressAt(t, final.Date.Add(10*time.Hour), "")
	for _, lang := range []string{"vi", "en"} {
		with := e.MilestoneText(lang, final, p, true)
		without := e.MilestoneText(lang, final, p, false)
		summary := e.SummaryText(lang, p)
		title := map[string]string{"vi": "🏁 Báo cáo tổng kết", "en": "🏁 Final report"}[lang]
		book := msg(e, lang, "notify.final.workbook")
		if !strings.HasPrefix(with, title) || !strings.Contains(with, summary) || !strings.HasSuffix(with, book) {
			t.Errorf("%s final report:\n%s", lang, with)
		}
		if strings.Contains(without, book) || !strings.Contains(without, summary) {
			t.Errorf("%s final report without the workbook:\n%s", lang, without)
		}
		if n := utf8.RuneCountInString(with); n > messageMax {
			t.Errorf("%s final report of %d characters", lang, n)
		}
	}
}

// reminderDialog sends inputs in c (a form left half-way) and returns the dialog as the bot stores it.
func reminderDialog(t *testing.T, c *convo, inputs ...Input) []byte {
	t.Helper()
	for _, in := range inputs {
		c.send(in)
	}
	b, err := json.Marshal(c.st) // what the bot saves (bot.Dispatcher: json.Marshal(next))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFormReminder(t *testing.T) {
	c := newChat(t)
	c.as("3201")
	started := c.now
	c.send(press("g:register"))
	c.now = c.now.Add(10 * time.Minute)
	dialog := reminderDialog(t, c, press("r:consent:yes"), text("Nguyễn Thị Lan"))
	updated := c.now
	e := c.e
	if c.st.Flow != FlowRegistration || c.st.Step != stepPhone {
		t.Fatalf("not half-way: %+v", c.st)
	}
	day := 24 * time.Hour
	n, ok := e.FormReminder(dialog, updated.Add(day), day)
	if !ok {
		t.Fatal("no reminder after 24 hours")
	}
	label := msg(e, "vi", registrationForm(campaign.Default()).field(stepPhone).label)
	if n.Key != strconv.FormatInt(started.Unix(), 10) || !strings.Contains(n.Text, "Phiếu đăng ký nhận hỗ trợ cho con của bạn chưa hoàn tất") ||
		!strings.Contains(n.Text, label) {
		t.Errorf("reminder %+v", n)
	}
	var data []string
	for _, row := range n.Buttons {
		for _, b := range row {
			data = append(data, b.Data)
		}
	}
	if !slices.Equal(data, []string{"g:resume", "g:restart"}) {
		t.Errorf("buttons %q", data)
	}
	for _, tt := range []struct {
		name   string
		dialog []byte
		now    time.Time
	}{
		{"before 24 hours", dialog, updated.Add(day - time.Second)},
		{"expired", dialog, updated.Add(DefaultIdleExpiry + time.Second)},
		{"not JSON", []byte("{"), updated.Add(day)},
		{"empty", nil, updated.Add(day)},
		{"idle", []byte(`{"lang":"vi","updated_at":"2021-09-10T09:00:00+07:00"}`), updated.Add(day)},
	} {
		if n, ok := e.FormReminder(tt.dialog, tt.now, day); ok {
			t.Errorf("%s: reminded %+v", tt.name, n)
		}
	}
	if _, ok := e.FormReminder(dialog, updated.Add(DefaultIdleExpiry), day); !ok {
		t.Error("no reminder on the last day the form is kept")
	}
	var st State
	if err := json.Unmarshal(dialog, &st); err != nil {
		t.Fatal(err)
	}
	st.StartedAt = time.Time{}
	noStart, _ := json.Marshal(st)
	if n, ok := e.FormReminder(noStart, updated.Add(day), day); !ok || n.Key != strconv.FormatInt(updated.Unix(), 10) {
		t.Errorf("without a start time: %+v, %v", n, ok)
	}

	// The buttons do what they say in the parent's chat.
	c.now = updated.Add(day)
	out := c.send(press("g:resume"))
	if c.st.Step != stepPhone || !strings.Contains(allText(out), label) {
		t.Errorf("resume after the reminder:%s", dump(out))
	}

	// In the language the parent chose.
	c.send(cmd("lang", "en"))
	dialog = reminderDialog(t, c)
	if n, ok := e.FormReminder(dialog, c.now.Add(day), day); !ok || !strings.Contains(n.Text, "Your registration for your child is not finished yet") ||
		n.Buttons[0][0].Text != "▶️ Continue" {
		t.Errorf("English reminder %+v, %v", n, ok)
	}

	// A pledge left half-way.
	c = newChat(t).as("3202")
	dialog = reminderDialog(t, c, press("g:pledge"))
	if c.st.Flow != FlowPledge {
		t.Fatalf("no pledge form: %+v", c.st)
	}
	if n, ok := c.e.FormReminder(dialog, c.now.Add(day), day); !ok || !strings.Contains(n.Text, "Phiếu ủng hộ của bạn chưa hoàn tất") {
		t.Errorf("pledge reminder %+v, %v", n, ok)
	}

	// Staff flows are not reminded: a broadcast being composed, an invitation, an intake.
	c = newChat(t)
	c.withNotify()
	cfg := c.e.cfg
	cfg.Devices = c.devices
	c.rebuild(cfg)
	c.become(officialID, "vi")
	for _, tt := range []struct {
		name string
		in   []Input
		flow string
	}{
		{"broadcast", []Input{cmd("broadcast"), press("b:aud:staff")}, FlowCase},
		{"intake", []Input{cmd("cancel"), cmd("intake")}, FlowIntake},
	} {
		dialog := reminderDialog(t, c, tt.in...)
		if c.st.Flow != tt.flow {
			t.Fatalf("%s: state %+v", tt.name, c.st)
		}
		if n, ok := c.e.FormReminder(dialog, c.now.Add(day), day); ok {
			t.Errorf("%s reminded: %+v", tt.name, n)
		}
	}
	c.become(testAdmin, "vi")
	dialog = reminderDialog(t, c, cmd("invite"))
	if c.st.Flow != FlowStaff {
		t.Fatalf("no invitation in progress: %+v", c.st)
	}
	if n, ok := c.e.FormReminder(dialog, c.now.Add(day), day); ok {
		t.Errorf("an invitation reminded: %+v", n)
	}
}

func TestPledgeReminder(t *testing.T) {
	e := newChat(t).e
	p := campaign.PledgeAwaiting{Code: "PL-000045", Channel: "telegram", ChatID: "5001", Language: "vi", Devices: 3,
		CreatedAt: time.Date(2021, 9, 2, 18, 0, 0, 0, time.UTC)} // 3/9 01:00 in Thủ Đức
	n := e.PledgeReminder(p)
	for _, w := range []string{"PL-000045", "ngày 03/09", "(3 thiết bị)", "mang thiết bị đến điểm tiếp nhận", "UBND và Ủy ban MTTQ Việt Nam TP. Thủ Đức"} {
		if !strings.Contains(n.Text, w) {
			t.Errorf("lacks %q: %s", w, n.Text)
		}
	}
	if n.Key != "PL-000045" || len(n.Buttons) != 1 || n.Buttons[0][0].Data != "g:pledges" {
		t.Errorf("notice %+v", n)
	}
	p.Language, p.Devices = "en", 1
	n = e.PledgeReminder(p)
	if !strings.Contains(n.Text, "pledge PL-000045 of 03/09 (1 device)") || n.Buttons[0][0].Text != "📦 See my pledges" {
		t.Errorf("English: %+v", n)
	}
	p.Devices = 4
	if n = e.PledgeReminder(p); !strings.Contains(n.Text, "(4 devices). None of them") {
		t.Errorf("English plural: %s", n.Text)
	}
	// The button runs /pledges in the donor's chat.
	c := newChat(t).as("5001")
	wantText(t, c.send(press(n.Buttons[0][0].Data)), msg(c.e, "vi", "pledge.list.none"))
}

func TestMorningCount(t *testing.T) {
	e := newChat(t).e
	for _, tt := range []struct {
		lang string
		n    int
		ward string
		want string
	}{
		{"vi", 12, "", "☀️ Chào buổi sáng! Còn 12 hồ sơ chờ xét duyệt ở Thành phố Thủ Đức. Gõ /verify"},
		{"vi", 1234, wardLT, "Còn 1.234 hồ sơ chờ xét duyệt ở Phường Linh Trung"},
		{"en", 1, wardTD, "1 registration is waiting for a verdict in Thao Dien Ward. Send /verify"},
		{"en", 5, "", "5 registrations are waiting for a verdict in Thu Duc City"},
		{"vi", 0, wardLT, "Không còn hồ sơ nào chờ xét duyệt ở Phường Linh Trung"},
	} {
		n := e.MorningCount(tt.lang, tt.n, tt.ward)
		if !strings.Contains(n.Text, tt.want) || n.Key != "" || n.Buttons != nil {
			t.Errorf("MorningCount(%s, %d, %q) = %+v", tt.lang, tt.n, tt.ward, n)
		}
	}
}

func TestBroadcastDone(t *testing.T) {
	e := newChat(t).e
	p := campaign.BroadcastProgress{Broadcast: campaign.Broadcast{Code: "BC-000012", Recipients: 1250,
		Audience: campaign.Audience{Kind: campaign.AudienceParents}}, Sent: 1200, Failed: 30, Stopped: 20}
	vi := e.BroadcastDone("vi", p)
	en := e.BroadcastDone("en", p)
	for _, w := range []string{"BC-000012", "1.200/1.250", "96%", "Không gửi được: 30", "đã chặn bot: 20"} {
		if !strings.Contains(vi, w) {
			t.Errorf("vi lacks %q: %s", w, vi)
		}
	}
	for _, w := range []string{"Announcement BC-000012 has been sent", "1,200/1,250", "Failed: 30", "blocked the bot: 20"} {
		if !strings.Contains(en, w) {
			t.Errorf("en lacks %q: %s", w, en)
		}
	}
}

// notifyFakes are the stores withNotify gives a chat.
type notifyFakes struct {
	subs  *campaigntest.Subscriptions
	bcs   *campaigntest.Broadcasts
	woken int // Config.OnQueued calls
}

// withNotify gives the chat's engine a subscription store, a broadcast store and an OnQueued
// hook, and the staff of the broadcast tests: a city official, a culture office member, a ward
// official of Linh Trung and an education official.
func (c *convo) withNotify() *notifyFakes {
	c.t.Helper()
	f := &notifyFakes{
		subs: campaigntest.NewSubscriptions(func() time.Time { return c.now }),
		bcs:  campaigntest.NewBroadcasts(func() time.Time { return c.now }),
	}
	cfg := c.e.cfg
	cfg.Subscriptions = f.subs
	cfg.Broadcasts = f.bcs
	cfg.OnQueued = func() { f.woken++ }
	c.rebuild(cfg)
	c.staff.Add(officialID, "Phạm Thị Mai", campaign.RoleCityOfficial, "")
	c.staff.Add(cultureID, "Võ Văn Hóa", campaign.RoleCultureInfo, "")
	c.staff.Add(wardOffID, "Phạm Thị Phường", campaign.RoleWardOfficial, wardLT)
	c.staff.Add(eduID, "Lê Văn Giáo", campaign.RoleEducationOffice, "")
	return f
}

// rebuild replaces the chat's engine by one made with cfg, keeping the message checks.
func (c *convo) rebuild(cfg Config) {
	c.t.Helper()
	e, err := NewEngine(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	e.observe = c.e.observe
	c.e = e
}
