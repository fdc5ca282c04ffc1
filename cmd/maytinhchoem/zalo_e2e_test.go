package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/bot/telegram/telegramtest"
	"github.com/thuduc/maytinhchoem/bot/zalo/zalotest"
	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/cmd/maytinhchoem/internal/app"
	"github.com/thuduc/maytinhchoem/flows"
	"github.com/thuduc/maytinhchoem/jobs"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	"github.com/thuduc/maytinhchoem/storage/postgres/postgrestest"
)

// newZaloHarness is newHarness with the Zalo OA emulator beside Telegram's: the bot runs both
// channels, Zalo's webhook on its own HTTP_ADDR.
func newZaloHarness(t *testing.T, opts zalotest.Options, extraEnv map[string]string) *harness {
	t.Helper()
	return newZaloHarnessAt(t, opts, campaignClock(), extraEnv)
}

// newZaloHarnessAt is newZaloHarness with the bot standing on clk.
func newZaloHarnessAt(t *testing.T, opts zalotest.Options, clk app.Clock, extraEnv map[string]string) *harness {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the bot listens there; another process taking it in between is unlikely
	if opts.RedeliverDelays == nil {
		opts.RedeliverDelays = []time.Duration{50 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second}
	}
	if opts.Now == nil && clk.Now != nil {
		// Zalo's times (event timestamps the adapter checks, the 7-day window) on the bot's day.
		opts.Now = clk.Now
	}
	opts.AppSecret = "zalo-e2e-secret"
	opts.WebhookURL = "http://" + addr + "/zalo/webhook"
	zemu := zalotest.New(opts)
	zsrv := httptest.NewServer(zemu)
	zemu.SetBaseURL(zsrv.URL)
	t.Cleanup(func() { zsrv.Close(); zemu.Close() })
	env := map[string]string{
		"HTTP_ADDR":          addr,
		"ZALO_APP_ID":        "3066178286528016436",
		"ZALO_APP_SECRET":    opts.AppSecret,
		"ZALO_REFRESH_TOKEN": zemu.IssueRefreshToken(),
		"ZALO_OA_ID":         "4318927402956107562",
		"ZALO_API_URL":       zsrv.URL,
		"ZALO_OAUTH_URL":     zsrv.URL,
		"PUBLIC_URL":         "http://" + addr,
	}
	for k, v := range extraEnv {
		env[k] = v
	}
	h := newHarnessAt(t, telegramtest.Limits{Disabled: true}, clk, env)
	h.zemu = zemu
	return h
}

// zperson is a person chatting with the OA through the Zalo emulator.
type zperson struct {
	h    *harness
	id   string
	seen int
}

// zalo adds a person who follows the OA; the bot greets a new follower.
func (h *harness) zalo(name string) *zperson {
	h.t.Helper()
	p := &zperson{h: h, id: h.zemu.AddUser(name)}
	if _, err := h.zemu.Follow(p.id); err != nil {
		h.t.Fatal(err)
	}
	p.waitNew(1)
	return p
}

// waitNew waits for at least n new messages from the OA, then until none has come for a moment
// (how many messages Zalo needs for one reply is the adapter's business), and returns them.
func (p *zperson) waitNew(n int) []zalotest.Message {
	p.h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	msgs, err := p.h.zemu.WaitForMessages(ctx, p.id, p.seen+n)
	for err == nil {
		time.Sleep(120 * time.Millisecond)
		if more := p.h.zemu.Messages(p.id); len(more) > len(msgs) {
			msgs = more
			continue
		}
		break
	}
	if err != nil {
		var have []string
		for _, m := range p.h.zemu.Messages(p.id) {
			have = append(have, m.Text)
		}
		p.h.t.Fatalf("zalo: waiting for %d messages after %d: %v; have %q\n%s", n, p.seen, err, have, p.h.logs.String())
	}
	out := msgs[p.seen:]
	p.seen = len(msgs)
	return out
}

// say types text and returns the last of the n messages that answer it.
func (p *zperson) say(text string, n int) zalotest.Message {
	p.h.t.Helper()
	if _, err := p.h.zemu.SendText(p.id, text); err != nil {
		p.h.t.Fatal(err)
	}
	got := p.waitNew(n)
	return got[len(got)-1]
}

// press taps the query button that carries data on the newest message that has one and returns
// the last of the n messages that answer it (a ticked multi-choice comes as a new message: Zalo
// cannot edit).
func (p *zperson) press(data string, n int) zalotest.Message {
	p.h.t.Helper()
	msgs := p.h.zemu.Messages(p.id)
	for i := len(msgs) - 1; i >= 0; i-- {
		for j, b := range msgs[i].Buttons {
			if b.Payload == "#c:"+data {
				if _, err := p.h.zemu.Tap(p.id, msgs[i].ID, j); err != nil {
					p.h.t.Fatal(err)
				}
				got := p.waitNew(max(n, 1))
				return got[len(got)-1]
			}
		}
	}
	p.h.t.Fatalf("zalo: no button %q; last message %q", data, lastZalo(msgs))
	return zalotest.Message{}
}

// pick answers a numbered list by the number in front of label on the newest message.
func (p *zperson) pick(label string, n int) zalotest.Message {
	p.h.t.Helper()
	msgs := p.h.zemu.Messages(p.id)
	re := regexp.MustCompile(`(?m)^(\d+)\. ` + regexp.QuoteMeta(label) + `$`)
	for i := len(msgs) - 1; i >= 0; i-- {
		if m := re.FindStringSubmatch(msgs[i].Text); m != nil {
			return p.say(m[1], max(n, 1))
		}
	}
	p.h.t.Fatalf("zalo: no numbered choice %q; last message %q", label, lastZalo(msgs))
	return zalotest.Message{}
}

func lastZalo(msgs []zalotest.Message) string {
	if len(msgs) == 0 {
		return ""
	}
	return msgs[len(msgs)-1].Text
}

func zButtons(m zalotest.Message) string {
	var b strings.Builder
	for _, x := range m.Buttons {
		fmt.Fprintf(&b, "[%s|%s]", x.Title, x.Payload)
	}
	return b.String()
}

// register walks a Zalo parent through the whole form, answering the way Zalo asks: query
// buttons, numbered lists by number and by label, the phone shared from the info card.
func (p *zperson) register(t *testing.T, c child) string {
	t.Helper()
	p.say("/start dangky", 1)
	p.press("r:consent:yes", 1)
	card := p.say("Nguyễn Thị Lan", 2) // the question, then the card that asks for the phone
	if card.RequestInfo == nil {
		t.Fatalf("zalo: the phone was not asked with request_user_info: %+v", card)
	}
	if _, err := p.h.zemu.SubmitInfo(p.id, "Lan", "0912345678"); err != nil {
		t.Fatal(err)
	}
	p.waitNew(1)
	p.say(c.name, 1)
	p.say("05/09/2009", 1)
	p.say("7", 1) // the grade, typed: the seventh line of the list is grade 7
	p.say("Trường THCS Linh Trung", 1)
	p.say("linh trung", 1)
	p.say("12 đường số 5, khu phố 3", 1)
	circumstances := lastZalo(p.h.zemu.Messages(p.id))
	if !strings.Contains(circumstances, "1. ") || !strings.Contains(circumstances, "Trả lời bằng số") {
		t.Fatalf("zalo: the circumstances are not a numbered list:\n%s", circumstances)
	}
	p.pick("Mồ côi cha hoặc mẹ do Covid-19", 1)
	p.say("Xong", 1) // a label typed instead of its number
	p.press("r:device_situation:none", 1)
	needs := lastZalo(p.h.zemu.Messages(p.id))
	re := regexp.MustCompile(`(?m)^(\d+)\. Laptop$`)
	m := re.FindStringSubmatch(needs)
	if m == nil {
		t.Fatalf("zalo: no laptop in the needs:\n%s", needs)
	}
	p.say(m[1]+".", 1) // "3." is taken as 3
	review := p.pick("➡️ Xong", 1)
	for _, want := range []string{"Nguyễn Thị Lan", "0912 345 678", c.name, "Phường Linh Trung", "Mồ côi"} {
		if !strings.Contains(review.Text, want) {
			t.Errorf("zalo: review lacks %q:\n%s", want, review.Text)
		}
	}
	done := p.pick("✅ Gửi đăng ký", 1)
	code := regexp.MustCompile(`TD-\d{6}`).FindString(done.Text)
	if code == "" {
		t.Fatalf("zalo: no code in %q", done.Text)
	}
	return code
}

// A parent registers on Zalo end to end; the registration is stored with the Zalo ids as
// strings, and the OA was never refused anything.
func TestServe_ZaloRegistration(t *testing.T) {
	h := newZaloHarness(t, zalotest.Options{DuplicateEvery: 3}, nil)
	p := h.zalo("Lan")
	code := p.register(t, child{name: "Trần Minh Khang"})
	reg, err := postgres.NewRegistrationStore(h.db, campaign.Default()).ByCode(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	if reg.Channel != "zalo" || reg.ChatID != p.id || reg.ParentPhone != "+84912345678" || reg.Grade != 7 {
		t.Errorf("stored registration = %+v", reg)
	}
	if n := h.count(); n != 1 {
		t.Errorf("registrations = %d, want 1 (every third event came twice)", n)
	}
	if got := p.say("/status", 1); !strings.Contains(got.Text, code) {
		t.Errorf("/status = %q", got.Text)
	}
}

// choose takes the choice data the way a Zalo person does: the query button that carries it, or,
// when the question came as a numbered list, what the OA gets when a hidden query button with
// that payload is tapped (the numbered lists themselves are walked in TestServe_ZaloRegistration).
func (p *zperson) choose(data string, n int) zalotest.Message {
	p.h.t.Helper()
	for _, m := range slices.Backward(p.h.zemu.Messages(p.id)) {
		for _, b := range m.Buttons {
			if b.Payload == "#c:"+data {
				return p.press(data, n)
			}
		}
	}
	return p.say("#c:"+data, n)
}

// pledgeLaptopsOnZalo makes a Zalo donor pledge n used laptops and returns the pledge's code.
func pledgeLaptopsOnZalo(t *testing.T, donor *zperson, n string) string {
	t.Helper()
	donor.say("/pledge", 1)
	donor.choose("p:donor_kind:individual", 1)
	if card := donor.say("Nguyễn Văn An", 2); card.RequestInfo == nil {
		t.Fatalf("zalo: the donor's phone was not asked with request_user_info: %+v", card)
	}
	if _, err := donor.h.zemu.SubmitInfo(donor.id, "An", "0912345678"); err != nil {
		t.Fatal(err)
	}
	donor.waitNew(1)
	for _, data := range []string{"p:item_kind:laptop", "p:item_condition:used", "p:item_quantity:" + n, "p:item_complete:yes",
		"p:items:done", "p:delivery:front", "p:thanks:public"} {
		donor.choose(data, 1)
	}
	done := donor.choose("p:review:submit", 1)
	code := regexp.MustCompile(`PL-\d{6}`).FindString(done.Text)
	if code == "" {
		t.Fatalf("zalo: no pledge code in %q", done.Text)
	}
	return code
}

// The chain across channels: the parent and the donor on Zalo, the officials and the volunteer on
// Telegram. The verification, the allocation's question, the delivery and the donor's news reach
// the Zalo people on Zalo; the parent's answers reach the volunteer on Telegram.
func TestServe_ChainAcrossChannels(t *testing.T) {
	h := newZaloHarness(t, zalotest.Options{}, map[string]string{"ADMIN_TELEGRAM_IDS": "9401"})
	admin := h.parent(9401, "vi")
	official := h.parent(9402, "vi")
	edu := h.parent(9403, "vi")
	volunteer := h.parent(9404, "vi")
	official.say("/start "+inviteWard(t, admin, "ward_official", "26800"), 1)
	edu.say("/start "+invite(t, admin, "education_office"), 1)
	volunteer.say("/start "+invite(t, admin, "volunteer"), 1)

	fam := h.zalo("Lan")
	code := fam.register(t, child{name: "Trần Minh Khang"})

	official.say("/verify", 1)
	official.press("v:ok:"+code, 1)
	if got := fam.waitNew(1); !strings.Contains(got[0].Text, "đã được xác minh") {
		t.Errorf("zalo: the parent was told %q", got[0].Text)
	}

	donor := h.zalo("An")
	pledge := pledgeLaptopsOnZalo(t, donor, "1")
	intakeReadyLaptop(t, volunteer, pledge, "lower_secondary")
	if told := donor.waitNew(1)[0]; !strings.Contains(told.Text, pledge) {
		t.Errorf("zalo: the donor was told %q, want the pledge %s", told.Text, pledge)
	}

	proposal := edu.say("/allocate", 1)
	edu.press(buttonWithPrefix(t, proposal, "a:ok:"), 1)
	ask := fam.waitNew(1)[0]
	delivery := regexp.MustCompile(`GH-\d{6}`).FindString(zButtons(ask))
	if delivery == "" {
		t.Fatalf("zalo: the parent's allocation message has no delivery button: %q %s", ask.Text, zButtons(ask))
	}
	fam.press("h:school:"+delivery, 1)

	volunteer.say("/deliveries", 2)
	volunteer.press("d:ok:"+delivery, 1)
	volunteer.say("Nguyễn Thị Lan", 1)
	h.emu.SendPhoto(volunteer.chat, volunteer.user)
	volunteer.waitNew(1)
	got := fam.waitNew(1)[0]
	if !strings.Contains(zButtons(got), "#c:h:got:"+delivery) {
		t.Fatalf("zalo: the parent was not asked to confirm: %q %s", got.Text, zButtons(got))
	}
	// "Chưa nhận được" from Zalo reopens it; the volunteer on Telegram is told and hands it over
	// again.
	fam.press("h:miss:"+delivery, 1)
	fam.say("Chưa ai đưa máy cho nhà tôi", 1)
	if note := volunteer.waitNew(1)[0]; !strings.Contains(note.Text, delivery) || !strings.Contains(note.Text, "Chưa ai đưa máy") {
		t.Errorf("zalo: the volunteer was told %q", note.Text)
	}
	volunteer.press("d:ok:"+delivery, 1)
	volunteer.say("Nguyễn Thị Lan", 1)
	volunteer.press("d:skip:"+delivery, 1)
	if again := fam.waitNew(1)[0]; !strings.Contains(zButtons(again), "#c:h:got:"+delivery) {
		t.Fatalf("zalo: the parent was not asked again: %q %s", again.Text, zButtons(again))
	}
	fam.press("h:got:"+delivery, 1)
	told := donor.waitNew(1)[0]
	if !strings.Contains(told.Text, "Linh Trung") || strings.Contains(told.Text, "Khang") || strings.Contains(told.Text, code) {
		t.Errorf("zalo: the donor was told %q", told.Text)
	}
	if rej := h.emu.RejectedCalls(); len(rej) > 0 {
		t.Errorf("telegram refused calls: %+v", rej)
	}
}

// The reverse path: a parent on Telegram, the ward official on Zalo, invited from Telegram. The
// official's question reaches the parent on Telegram and the parent's answer the official on
// Zalo.
func TestServe_ZaloOfficialAsksATelegramParent(t *testing.T) {
	h := newZaloHarness(t, zalotest.Options{}, map[string]string{"ADMIN_TELEGRAM_IDS": "9501"})
	admin := h.parent(9501, "vi")
	admin.say("/invite", 1)
	admin.press("s:role:ward_official", 1)
	link := admin.press("s:ward:26800", 1)
	m := regexp.MustCompile(`Zalo: mở https://zalo\.me/4318927402956107562 rồi nhắn đúng dòng này: (/start inv_[A-Za-z0-9_-]+)`).FindStringSubmatch(link.Text)
	if m == nil {
		t.Fatalf("the invitation does not say how to join on Zalo:\n%s", link.Text)
	}
	official := h.zalo("Bảo")
	if got := official.say(m[1], 1); !strings.Contains(got.Text, "Cán bộ phường") {
		t.Fatalf("zalo: redeeming = %q", got.Text)
	}

	fam := h.parent(9502, "vi")
	toStudentName(fam)
	fam.answerChild(child{name: "Lê Bảo Ngọc"})
	done := fam.press("r:review:submit", 1)
	code := regexp.MustCompile(`TD-\d{6}`).FindString(done.Text)

	shown := official.say("/verify", 1)
	if !strings.Contains(shown.Text, code) {
		t.Fatalf("zalo: /verify shows %q", shown.Text)
	}
	official.press("v:ask:"+code, 1)
	official.say("Xin gửi ảnh giấy xác nhận hoàn cảnh của gia đình", 1)
	question := fam.waitNew(1)[0]
	if !strings.Contains(question.Text, "Xin gửi ảnh giấy xác nhận") {
		t.Fatalf("the Telegram parent got %q", question.Text)
	}
	fam.press("v:reply:"+code, 1)
	fam.say("Tôi sẽ gửi ảnh qua Zalo của phường hôm nay", 1)
	answer := official.waitNew(1)[0]
	if !strings.Contains(answer.Text, "Tôi sẽ gửi ảnh qua Zalo của phường hôm nay") || !strings.Contains(zButtons(answer), "#c:v:back:"+code) {
		t.Errorf("zalo: the official got %q %s", answer.Text, zButtons(answer))
	}
}

func TestLoadtest_Zalo(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"loadtest", "-channel", "zalo", "-parents", "8", "-token-days", "2", "-redis", redisURL(), "-db", postgrestest.ServerURL()},
		func(string) string { return "" }, &out, io.Discard)
	if err != nil {
		t.Fatalf("loadtest: %v\n%s", err, out.String())
	}
	for _, want := range []string{"registrations:      8 stored, exactly once: true", "0 refused with -32", "across 3 replicas", "per minute"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// A pledge reminder to a Zalo donor who has not written for more than 7 days: Zalo refuses it
// (-230), the outbox settles it unreachable (not failed, not retried), the contact is marked not
// reachable; once the donor writes again they are reachable.
func TestServe_ZaloReminderOutsideTheWindow(t *testing.T) {
	h := newZaloHarness(t, zalotest.Options{}, nil)
	donor := h.zalo("An")
	pledge := pledgeLaptopsOnZalo(t, donor, "1")
	ctx := context.Background()

	// Eight days on, for Zalo, the donor last wrote eight days ago.
	later := h.clk.Now().Add(8 * 24 * time.Hour)
	if err := h.zemu.SetLastInteraction(donor.id, h.clk.Now().Add(-8*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	engine, err := flows.NewEngine(flows.Config{Campaign: campaign.Default(), Registrations: postgres.NewRegistrationStore(h.db, campaign.Default())})
	if err != nil {
		t.Fatal(err)
	}
	job := &jobs.PledgeReminders{Reminders: postgres.NewReminderStore(h.db, campaign.Default()), After: 7 * 24 * time.Hour,
		Messages: engine, Outbox: postgres.NewOutbox(h.db), Now: func() time.Time { return later }}
	res, err := job.Run(ctx, jobs.Tick{})
	if err != nil || res.Queued != 1 {
		t.Fatalf("pledge reminders: %+v, %v", res, err)
	}
	raw, err := sql.Open("postgres", h.env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var status, reason string
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		err := raw.QueryRowContext(ctx, `SELECT status, last_error FROM outbox WHERE key = $1`, "pledge-reminder:"+pledge).Scan(&status, &reason)
		if err != nil {
			t.Fatal(err)
		}
		if status != "pending" && status != "sending" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if status != "unreachable" || !strings.Contains(reason, "-230") {
		t.Fatalf("the reminder settled %q (%s), want unreachable because of -230", status, reason)
	}
	contacts := postgres.NewContactStore(h.db)
	if c, err := contacts.Contact(ctx, "zalo", donor.id); err != nil || !c.Unreachable {
		t.Errorf("contact after -230: %+v, %v; want unreachable", c, err)
	}
	donor.say("/pledges", 1)
	if c, err := contacts.Contact(ctx, "zalo", donor.id); err != nil || c.Unreachable {
		t.Errorf("contact after writing again: %+v, %v; want reachable", c, err)
	}
}
