package flows

import (
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Registration follows the campaign's window: before it opens and after it closes a family is
// told so, with whom to reach, and no form begins; a form begun inside the window may still be
// sent after it closes; staff work is not bound by the window.
func TestRegistration_Window(t *testing.T) {
	camp := campaign.Default()
	day := func(s string) time.Time {
		d, err := time.ParseInLocation("2006-01-02T15:04", s, camp.Location)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	hotline := msg(newChat(t).e, langVI, "contact.hotline", "Name", "Tổng đài 1022 của TP. Hồ Chí Minh", "Details", "☎️ 1022 · 24/7")
	for _, tc := range []struct {
		at   string
		id   string // the refusal, "" when the form begins
		open bool
	}{
		{"2021-08-31T23:59", "reg.window.not_open", false},
		{"2021-09-01T00:00", "", true},
		{"2021-09-30T23:59", "", true},
		{"2021-10-01T00:00", "reg.window.closed", false},
		{"2026-12-05T10:00", "reg.window.closed", false},
	} {
		c := newChat(t)
		c.now = day(tc.at)
		for _, in := range []Input{press("g:register"), cmd("start", "dangky")} {
			out := c.send(in)
			if tc.open {
				if c.st.Flow != FlowRegistration {
					t.Errorf("%s %s: no form begun:%s", tc.at, describe(in), dump(out))
				}
				c.send(cmd("cancel"))
				continue
			}
			want := msg(c.e, langVI, tc.id, "Open", "01/09/2021", "Close", "30/09/2021") + "\n\n" + hotline
			if allText(out) != want || c.st.Flow != "" {
				t.Errorf("%s %s: flow %q, got:%s\nwant:\n%s", tc.at, describe(in), c.st.Flow, dump(out), want)
			}
		}
	}

	// Begun on the last evening, sent after midnight: accepted.
	c := newChat(t)
	c.now = day("2021-09-30T23:50")
	c.toReview()
	c.now = day("2021-10-01T00:05")
	c.send(press("r:review:submit"))
	if len(c.regs.All()) != 1 {
		t.Fatalf("a form begun in the window was not accepted after it closed: %d registrations", len(c.regs.All()))
	}
	// A family with a registration is told its own ward's office too.
	out := c.send(press("g:register"))
	office, _ := camp.WardOffice(c.regs.All()[0].WardCode)
	if !strings.Contains(allText(out), office.Name.VI) || !strings.Contains(allText(out), "1022") {
		t.Errorf("closed, with a registration: no ward office (%s):%s", office.Name.VI, dump(out))
	}
	// Staff go on working after the close: the registration is there to verify.
	code := c.regs.All()[0].Code
	c.as(testAdmin)
	if out := c.send(cmd("verify")); !strings.Contains(allText(out), code) {
		t.Errorf("after the close, /verify does not show %s:%s", code, dump(out))
	}
}
