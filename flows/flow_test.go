package flows

import (
	"strings"
	"testing"

	"github.com/thuduc/maytinhchoem/campaign"
)

// echoFlow is the smallest flow, and the README's example of adding one: this file, and one
// registration line. /echo starts a dialog (State.Flow "echo") that repeats what is typed and
// resumes like any other (after /help, an unknown command, a stale button); its "Stop" button
// (prefix "e") ends it. A production flow registers the same way from its file's init
// (registerFlow(...)); a test adds it to its own engine only (Engine.addFlow), so the registry
// other tests read stays as the package's files made it.
func echoFlow() Flow {
	return flowSpec{
		name: "echo",
		commands: []flowCommand{{name: "echo", run: func(c *turn, _ string) error {
			c.toIdle()
			c.st.Flow, c.st.Step, c.st.StartedAt = "echo", "say", c.now
			c.resume("")
			return nil
		}}},
		buttons: []flowButton{{prefix: "e", run: func(c *turn, rest string) error {
			if rest != "stop" || c.st.Flow != "echo" {
				c.stale()
				return nil
			}
			c.toIdle()
			c.say("Bye.")
			return nil
		}}},
		dialogs: []dialog{{
			name:   "echo",
			expire: func(*turn) {}, // kept until stopped
			ask: func(c *turn, reason string) {
				text := "Say something."
				if reason != "" {
					text = reason + "\n" + text
				}
				c.out = append(c.out, Output{Text: text, Buttons: [][]Button{{{Text: "Stop", Data: "e:stop"}}}})
			},
			input: func(c *turn) error {
				c.say("You said: " + c.in.Text)
				c.resume("")
				return nil
			},
			help:      func(c *turn) { c.say("I repeat what you type."); c.resume("") },
			cancelled: func(*turn) string { return "common.cancelled" },
		}},
	}
}

func TestFlowRegistry_TrivialFlow(t *testing.T) {
	c := newChat(t)
	if err := c.e.addFlow(echoFlow()); err != nil {
		t.Fatal(err)
	}
	texts := func(out []Output) string {
		var s []string
		for _, o := range out {
			s = append(s, o.Text)
		}
		return strings.Join(s, " | ")
	}
	step := func(in Input, want string) {
		t.Helper()
		if got := texts(c.send(in)); got != want {
			t.Errorf("%s: got %q, want %q", describe(in), got, want)
		}
	}
	step(cmd("echo"), "Say something.")
	if c.st.Flow != "echo" || c.st.Step != "say" {
		t.Fatalf("after /echo: state %+v", c.st)
	}
	step(text("xin chào"), "You said: xin chào | Say something.")
	step(cmd("help"), "I repeat what you type. | Say something.")
	// An unknown command and a stale button ask the dialog's question again (resume).
	out := c.send(cmd("nope"))
	if len(out) != 2 || out[1].Text != "Say something." {
		t.Errorf("/nope: %q", texts(out))
	}
	out = c.send(press("r:consent:yes"))
	if len(out) != 1 || !strings.HasSuffix(out[0].Text, "\nSay something.") {
		t.Errorf("stale button: %q", texts(out))
	}
	step(press("e:stop"), "Bye.")
	if c.st.Flow != "" {
		t.Errorf("after Stop: state %+v", c.st)
	}
	// /cancel in the dialog says its flow's text.
	c.send(cmd("echo"))
	step(cmd("cancel"), msg(c.e, "vi", "common.cancelled"))

	// The registry the other engines start from does not have it.
	if _, ok := registry.commands["echo"]; ok {
		t.Error("Engine.addFlow changed the package registry")
	}
	if err := c.e.addFlow(echoFlow()); err == nil {
		t.Error("a flow added twice was accepted")
	}
	d := newChat(t)
	if out := d.send(cmd("echo")); len(out) == 0 || strings.Contains(texts(out), "Say something.") {
		t.Errorf("another engine knows /echo: %q", texts(out))
	}
}

// A step owner that keeps its steps under a State.Flow of its own (stepOwner.flow, staff's) is run
// by the case dialog; its State.Flow may not be FlowCase, a dialog's or another owner's.
func TestFlowRegistry_StepOwnerFlow(t *testing.T) {
	r := registry.clone()
	if _, o, ok := r.stepAt(FlowStaff, staffStepRole); !ok || o.owner != staffPrefix {
		t.Errorf("staff's role step: %+v %v", o, ok)
	}
	if _, _, ok := r.stepAt(FlowCase, staffPrefix+"."+staffStepRole); ok {
		t.Error("staff's steps are also FlowCase steps")
	}
	if _, _, ok := r.stepAt(FlowStaff, "frobnicate"); ok {
		t.Error("an unknown staff step was found")
	}
	if _, _, ok := r.stepAt(FlowCase, claimStepBirth); !ok {
		t.Error("a FlowCase step was not found")
	}
	if d, ok := r.dialogAt(FlowStaff); !ok || d.name != FlowCase {
		t.Errorf("the dialog of State.Flow staff is %q (%v), want the case dialog", d.name, ok)
	}
	if _, ok := r.dialogAt(""); ok {
		t.Error("an idle state has a dialog")
	}
	step := func(string) (caseStep, bool) { return caseStep{}, false }
	for _, f := range []flowSpec{
		{name: "x1", steps: []stepOwner{{owner: "x1", step: step, flow: FlowCase}}},
		{name: "x2", steps: []stepOwner{{owner: "x2", step: step, flow: FlowStaff}}},
		{name: "x3", dialogs: []dialog{{name: FlowStaff, expire: func(*turn) {}, ask: func(*turn, string) {}, input: func(*turn) error { return nil },
			help: func(*turn) {}, cancelled: func(*turn) string { return "" }}}},
	} {
		if err := r.clone().add(f); err == nil {
			t.Errorf("flow %q was accepted", f.name)
		}
	}
	if err := r.clone().add(flowSpec{name: "x4", steps: []stepOwner{{owner: "x4", step: step, flow: "x4"}}}); err != nil {
		t.Errorf("an owner with a State.Flow of its own was refused: %v", err)
	}
}

// A command added by a flow says its own line in staff's /help (flowCommand.staff): under its
// heading, in its rank's place, and in /whoami's list, for those its may allows only. A line
// under an unknown heading or without a text is refused.
func TestFlowRegistry_StaffLine(t *testing.T) {
	tally := flowSpec{name: "tally", commands: []flowCommand{{
		name: "tally", run: func(c *turn, _ string) error { c.say("Counted."); return nil },
		// between /find (110) and /export (120); the text is any message id of the locales
		staff: &staffLine{group: "staff.help.group.cases", rank: 115, text: "common.cancelled", may: staffMay(campaign.ActionVerify, nil)},
	}}}
	c := newChat(t)
	c.as("6006")
	c.staff.Add("6006", "Đỗ An", campaign.RoleWomensUnion, wardTD)
	c.staff.Add("6007", "Hồ Nga", campaign.RoleCityOfficial, "")
	before, beforeWho := c.send(cmd("help")), allText(c.send(cmd("whoami")))
	c.as("6007")
	officialBefore, officialWho := allText(c.send(cmd("help"))), allText(c.send(cmd("whoami")))
	if err := c.e.addFlow(tally); err != nil {
		t.Fatal(err)
	}

	// The women's union may verify: the line is in the cases' group, after /find's.
	c.as("6006")
	out := c.send(cmd("help"))
	find := msg(c.e, langVI, "staff.help.find")
	if len(before) != 2 || len(out) != 2 || !strings.Contains(before[1].Text, find+"\n") {
		t.Fatalf("help before:%s\nafter:%s", dump(before), dump(out))
	}
	want := strings.Replace(before[1].Text, find+"\n", find+"\n"+msg(c.e, langVI, "common.cancelled")+"\n", 1)
	if out[1].Text != want {
		t.Errorf("help: got\n%s\nwant\n%s", out[1].Text, want)
	}
	if got, want := allText(c.send(cmd("whoami"))), strings.Replace(beforeWho, "/find, ", "/find, /tally, ", 1); got != want || got == beforeWho {
		t.Errorf("whoami: got %q, want %q", got, want)
	}
	// A city official may not verify: neither their help nor their list changes.
	c.as("6007")
	if got := allText(c.send(cmd("help"))); got != officialBefore {
		t.Errorf("official's help: got\n%s\nwant\n%s", got, officialBefore)
	}
	if got := allText(c.send(cmd("whoami"))); got != officialWho {
		t.Errorf("official's whoami: got %q, want %q", got, officialWho)
	}

	run := func(c *turn, _ string) error { return nil }
	for _, l := range []staffLine{{group: "staff.help.group.nope", text: "common.cancelled"}, {group: "staff.help.group.cases"}} {
		f := flowSpec{name: "bad", commands: []flowCommand{{name: "bad", run: run, staff: &l}}}
		if err := registry.clone().add(f); err == nil {
			t.Errorf("staff line %+v was accepted", l)
		}
	}
}
