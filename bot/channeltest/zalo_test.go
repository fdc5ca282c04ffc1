package channeltest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/thuduc/maytinhchoem/bot/zalo"
	"github.com/thuduc/maytinhchoem/bot/zalo/zalotest"
	"github.com/thuduc/maytinhchoem/chat"
)

const (
	zaloAppID     = "3066178286528016436"
	zaloAppSecret = "channeltest-app-secret"
	zaloTextRunes = 2000 // characters of a Zalo message
	zaloButtons   = 5    // query buttons under a message
	zaloTitle     = 100  // characters of a button's or a card's title
	linkHost      = "https://files.example.test/"
)

// transcriptDir holds what the Zalo person sees of each conversation Zalo renders differently.
var transcriptDir = filepath.Join("testdata", "zalo")

// TestZalo sends every golden conversation through the Zalo adapter to the OA emulator and
// compares what the person sees with the stored transcripts; see the package documentation.
func TestZalo(t *testing.T) {
	t.Parallel()
	convs := loadGoldens(t)
	var seen visits
	var n counts
	var mu sync.Mutex
	differs := map[string]bool{} // conversation → its rendering differs from the neutral golden
	t.Run("golden", func(t *testing.T) {
		for _, c := range convs {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				d := newZaloRun(t).conversation(c, &seen, &n)
				mu.Lock()
				differs[c.name] = d
				mu.Unlock()
			})
		}
	})
	if filterActive() {
		return
	}
	seen.check(t, "zalo", convs)
	checkTranscriptDir(t, differs)
	for key := range knownProblems {
		if name, _, _ := strings.Cut(key, "|"); !slices.ContainsFunc(convs, func(c conversation) bool { return c.name == name }) {
			t.Errorf("knownProblems names %s, which is no golden conversation", key)
		}
	}
	t.Logf("zalo: %d conversations, %d outputs, %d messages, %d buttons tapped and %d numbered-list answers typed and mapped back; %d transcripts",
		n.conversations.Load(), n.outputs.Load(), n.messages.Load(), n.buttons.Load(), n.typed.Load(), n.transcripts.Load())
}

// checkTranscriptDir fails for a transcript whose conversation is gone or no longer differs
// (with -update, it removes it).
func checkTranscriptDir(t *testing.T, differs map[string]bool) {
	t.Helper()
	err := filepath.WalkDir(transcriptDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(transcriptDir, path)
		name := strings.TrimSuffix(filepath.ToSlash(rel), ".txt")
		d2, known := differs[name]
		switch {
		case known && d2 && strings.HasSuffix(path, ".txt"):
			return nil
		case *update:
			return os.Remove(path)
		case !known:
			t.Errorf("%s: no golden conversation %s.json is left; run go test ./bot/channeltest -update", path, name)
		default:
			t.Errorf("%s: the conversation no longer shows differently on Zalo; run go test ./bot/channeltest -update", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		removeEmptyDirs(t, transcriptDir)
	}
}

// removeEmptyDirs removes the directories under root that -update left empty.
func removeEmptyDirs(t *testing.T, root string) {
	t.Helper()
	dirs, _ := os.ReadDir(root)
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		path := filepath.Join(root, d.Name())
		if files, err := os.ReadDir(path); err == nil && len(files) == 0 {
			if err := os.Remove(path); err != nil {
				t.Error(err)
			}
		}
	}
}

// zaloRun is one conversation against its own OA emulator.
type zaloRun struct {
	t      *testing.T
	ctx    context.Context
	emu    *zalotest.Server
	a      *zalo.Adapter
	hook   *webhook
	people map[string]string // "" is the person of the conversation, else a "to" address
	links  *fakeLinks
	menus  *memMenus
	dir    string
	conv   string
	// pending is the numbered list the person of the conversation has to answer after the
	// outputs sent so far (nil when none), kept apart from the checks, which take it.
	pending []byte
	known   map[string]bool // the knownProblems met
}

func newZaloRun(t *testing.T) *zaloRun {
	hook := newWebhook()
	hs := httptest.NewServer(hook)
	emu := zalotest.New(zalotest.Options{
		AppID: zaloAppID, AppSecret: zaloAppSecret, WebhookURL: hs.URL, RatePerMinute: -1,
		RedeliverDelays: []time.Duration{20 * time.Millisecond, 100 * time.Millisecond},
	})
	srv := httptest.NewServer(emu)
	emu.SetBaseURL(srv.URL)
	t.Cleanup(func() {
		emu.Close()
		srv.Close()
		hs.Close()
	})
	links, menus := &fakeLinks{}, &memMenus{}
	a, err := zalo.New(context.Background(), zalo.Config{
		AppID: zaloAppID, AppSecret: zaloAppSecret, RefreshToken: emu.IssueRefreshToken(),
		APIURL: srv.URL, OAuthURL: srv.URL, HTTPTimeout: 5 * time.Second,
		Records: &memRecords{}, Menus: menus, Interactions: &memInteractions{}, Links: links,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("zalo.New: %v", err)
	}
	t.Cleanup(a.Close)
	r := &zaloRun{t: t, ctx: t.Context(), emu: emu, a: a, hook: hook, people: map[string]string{}, links: links, menus: menus,
		dir: t.TempDir(), known: map[string]bool{}}
	r.person("")
	return r
}

// person is the Zalo user id of the person of the conversation (""), or of the person a "to"
// address names: someone who follows the OA, which greets them.
func (r *zaloRun) person(to string) string {
	if id, ok := r.people[to]; ok {
		return id
	}
	t := r.t
	t.Helper()
	id := r.emu.AddUser(fmt.Sprintf("Người dùng %d", len(r.people)+1))
	ev, err := r.emu.Follow(id)
	if err != nil {
		t.Fatal(err)
	}
	in, ok := r.event(ev)
	if !ok || in.Kind != chat.KindCommand || in.Command != "start" || in.ChatID != id {
		t.Fatalf("a follow came back as %+v (ok %v)", in, ok)
	}
	r.people[to] = id
	return id
}

// event waits for the webhook to receive the event with id and maps it with the adapter.
func (r *zaloRun) event(id string) (chat.Update, bool) {
	t := r.t
	t.Helper()
	ev, ok := r.emu.EventByID(id)
	if !ok {
		t.Fatalf("the emulator has no event %s", id)
	}
	ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
	defer cancel()
	raw, err := r.hook.wait(ctx, ev.Body)
	if err != nil {
		t.Fatalf("the webhook did not receive the %s event %s: %v", ev.Name, id, err)
	}
	in, ok, err := r.a.ToUpdate(r.ctx, raw)
	if err != nil {
		t.Fatalf("ToUpdate of %s: %v", raw, err)
	}
	return in, ok
}

// choice is one option of an output as Zalo offers it: a suggested answer (data "") comes back as
// its text, typed; a button as a choice of its data.
type choice struct {
	label, data, text string
}

func choicesOf(o chat.Output) []choice {
	var out []choice
	if c := o.AskContact; c != nil {
		for _, s := range c.Suggestions {
			out = append(out, choice{label: strings.TrimSpace(s), text: strings.TrimSpace(s)})
		}
	}
	for _, b := range flatButtons(o) {
		out = append(out, choice{label: strings.TrimSpace(b.Text), data: b.Data})
	}
	return out
}

// conversation sends every golden output and reports whether Zalo shows the conversation
// differently from the neutral golden.
func (r *zaloRun) conversation(c conversation, seen *visits, n *counts) bool {
	t := r.t
	var script strings.Builder
	fmt.Fprintf(&script, "# %s: what the person sees on Zalo (the neutral golden is flows/testdata/%s.json)\n", c.name, c.name)
	differs, sent := false, 0
	r.conv = c.name
	for i, turn := range c.Turns {
		replayed := r.replay(turn.Input)
		differs = differs || replayed != ""
		fmt.Fprintf(&script, "\n## %s%s\n", turn.Input, replayed)
		var blocks []string
		lang := turnLang(turn)
		for j, g := range turn.Output {
			b := buildOutput(t, r.dir, g)
			reply := chat.Reply{Output: b.out, Channel: zalo.Channel, Lang: lang}
			if b.photo != "" {
				// A photo another channel took: Zalo cannot send it and leaves it out.
				reply.File = &chat.File{PhotoID: b.photo, PhotoChannel: "telegram"}
			}
			if b.to != "" {
				// A notice, as the outbox sends it: no ack, no replace, not in the sender's language.
				reply.Replace, reply.Ack, reply.Lang = false, "", ""
			}
			reply.ChatID = r.person(b.to)
			where := fmt.Sprintf("turn %d (%s), output %d", i+1, turn.Input, j+1)
			msgs := r.send(where, reply, b, n)
			if !neutral(reply.Output, b, msgs) {
				differs = true
			}
			for _, m := range msgs {
				block := r.render(m)
				if b.to != "" {
					block = "[to: " + b.to + "]\n" + block
				}
				blocks = append(blocks, block)
			}
			sent++
			n.outputs.Add(1)
		}
		if len(blocks) == 0 {
			script.WriteString("(nothing)\n")
		}
		script.WriteString(strings.Join(blocks, "\n---\n"))
		if len(blocks) > 0 {
			script.WriteString("\n")
		}
	}
	for key := range knownProblems {
		if strings.HasPrefix(key, c.name+"|") && !r.known[key] {
			t.Errorf("the known problem %q no longer happens: remove it from knownProblems", key)
		}
	}
	if t.Failed() {
		return differs
	}
	seen.done(c.name, sent)
	n.conversations.Add(1)
	path := filepath.Join(transcriptDir, filepath.FromSlash(c.name)+".txt")
	got := []byte(script.String())
	switch {
	case !differs:
		// Zalo shows the neutral golden as it is: checkTranscriptDir fails a transcript left.
	case *update:
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		n.transcripts.Add(1)
	default:
		want, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("Zalo shows %s differently but it has no transcript: %v (run go test ./bot/channeltest -update)", c.name, err)
			return differs
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the Zalo person sees; run go test ./bot/channeltest -update and read the diff.\n%s", path, firstDiff(string(want), string(got)))
		}
		n.transcripts.Add(1)
	}
	return differs
}

// neutral reports whether msgs show the output exactly as the neutral golden does: its text in
// one message, its buttons under it, nothing else (or nothing, for an output with nothing to say).
func neutral(o chat.Output, b built, msgs []zalotest.Message) bool {
	text := strings.TrimSpace(o.Text)
	if o.AskContact != nil || o.File != nil || b.photo != "" || strings.TrimSpace(o.Ack) != "" || o.Aside {
		return false
	}
	buttons := flatButtons(o)
	if text == "" && len(buttons) == 0 {
		return len(msgs) == 0
	}
	if len(msgs) != 1 {
		return false
	}
	m := msgs[0]
	if m.Text != text || m.Image != nil || m.File != nil || m.RequestInfo != nil || len(m.Buttons) != len(buttons) {
		return false
	}
	for i, mb := range m.Buttons {
		if mb.Title != buttons[i].Text {
			return false
		}
	}
	return true
}

// send sends one reply, checks what the person sees and that every choice maps back, and returns
// the messages the reply made (re-sends for the checks left out).
func (r *zaloRun) send(where string, reply chat.Reply, b built, n *counts) []zalotest.Message {
	t := r.t
	t.Helper()
	uid := reply.ChatID
	msgs, ok := r.sendOnce(where, reply)
	if !ok {
		return msgs
	}
	n.messages.Add(int64(len(msgs)))

	choices := choicesOf(reply.Output)
	if uid == r.people[""] && !reply.Aside && (len(choices) > 0 || reply.AskContact != nil) {
		r.pending = r.menus.peek(uid) // the checks below take it
	}
	text := strings.TrimSpace(reply.Text)
	ack := strings.TrimSpace(reply.Ack)
	if ack != "" && text != "" {
		text = ack + "\n\n" + text
	}
	if reply.Aside {
		if len(msgs) > 0 {
			t.Errorf("%s: an aside sent %d messages", where, len(msgs))
		}
		return msgs
	}
	if text == "" && reply.File == nil && reply.AskContact == nil && len(choices) == 0 {
		if len(msgs) > 0 {
			t.Errorf("%s: an output with nothing to say sent %d messages", where, len(msgs))
		}
		return msgs
	}

	var texts []zalotest.Message // the messages of the text itself, not the card, file or link
	cards, files, linked := 0, 0, 0
	for _, m := range msgs {
		switch {
		case m.RequestInfo != nil:
			cards++
			if reply.AskContact == nil {
				t.Errorf("%s: a contact card for an output that asks for no phone", where)
			} else if want := truncateRunes(strings.TrimSpace(reply.AskContact.Label), zaloTitle); m.RequestInfo.Title != want {
				t.Errorf("%s: the card's title is %q, want %q", where, m.RequestInfo.Title, want)
			}
		case m.Image != nil || m.File != nil:
			files++
		case r.links.in(m.Text) != "":
			linked++
			if reply.File == nil || r.links.in(m.Text) != reply.File.Name {
				t.Errorf("%s: a link to %q for the file %v", where, r.links.in(m.Text), reply.File)
			}
		default:
			texts = append(texts, m)
		}
	}
	if reply.AskContact != nil && cards != 1 {
		t.Errorf("%s: %d request_user_info cards for an output that asks for the phone, want 1", where, cards)
	}
	switch {
	case b.photo != "":
		if files+linked > 0 {
			t.Errorf("%s: a photo of another channel was sent", where)
		}
	case reply.File != nil && files+linked != 1:
		t.Errorf("%s: the file %s went as %d files and %d links, want one of them", where, reply.File.Name, files, linked)
	}

	var shown []string
	for _, m := range texts {
		shown = append(shown, m.Text)
	}
	joined := strings.Join(shown, "\n")
	if !strings.HasPrefix(normalizeSpace(joined), normalizeSpace(text)) {
		t.Errorf("%s: the person sees\n%s\nwant it to start with\n%s", where, joined, text)
	}
	if ack != "" && text != "" {
		if first, _, _ := strings.Cut(joined, "\n"); first != ack {
			t.Errorf("%s: the first line is %q, want the ack %q", where, first, ack)
		}
	}

	if len(choices) <= zaloButtons {
		r.checkButtons(where, uid, reply, texts, choices, n)
	} else {
		r.checkNumbered(where, uid, reply, texts, joined, choices, n)
	}
	return msgs
}

// sendOnce sends reply and checks each message against Zalo's limits.
func (r *zaloRun) sendOnce(where string, reply chat.Reply) ([]zalotest.Message, bool) {
	t := r.t
	t.Helper()
	before := len(r.emu.Messages(reply.ChatID))
	if err := r.a.Send(r.ctx, reply); err != nil {
		t.Errorf("%s: Send: %v", where, err)
		return nil, false
	}
	msgs := r.emu.Messages(reply.ChatID)[before:]
	for _, m := range msgs {
		if c := utf8.RuneCountInString(m.Text); c > zaloTextRunes {
			t.Errorf("%s: a message of %d characters, Zalo takes %d", where, c, zaloTextRunes)
		}
		if len(m.Buttons) > zaloButtons {
			t.Errorf("%s: a message with %d buttons, Zalo takes %d", where, len(m.Buttons), zaloButtons)
		}
	}
	return msgs, true
}

// checkButtons checks that up to five choices are query buttons under the last part of the text,
// and taps each: it must come back as exactly its choice.
func (r *zaloRun) checkButtons(where, uid string, reply chat.Reply, texts []zalotest.Message, choices []choice, n *counts) {
	t := r.t
	t.Helper()
	for i, m := range texts {
		if len(m.Buttons) > 0 && i != len(texts)-1 {
			t.Errorf("%s: buttons under part %d of %d", where, i+1, len(texts))
		}
	}
	if len(choices) == 0 {
		if len(texts) > 0 && len(texts[len(texts)-1].Buttons) > 0 {
			t.Errorf("%s: buttons %v under an output without choices", where, texts[len(texts)-1].ButtonTitles())
		}
		return
	}
	if len(texts) == 0 {
		t.Errorf("%s: no text message to carry the %d choices", where, len(choices))
		return
	}
	last := texts[len(texts)-1]
	if len(last.Buttons) != len(choices) {
		t.Errorf("%s: %d buttons, want one for each of %d choices", where, len(last.Buttons), len(choices))
		return
	}
	for i, c := range choices {
		if want := truncateRunes(c.label, zaloTitle); last.Buttons[i].Title != want {
			t.Errorf("%s: button %d is titled %q, want %q", where, i+1, last.Buttons[i].Title, want)
		}
		ev, err := r.emu.Tap(uid, last.ID, i)
		if err != nil {
			t.Fatalf("%s: tap button %d: %v", where, i+1, err)
		}
		if ev == "" {
			t.Errorf("%s: button %q sends nothing (type %s)", where, last.Buttons[i].Title, last.Buttons[i].Type)
			continue
		}
		in, ok := r.event(ev)
		r.expect(where, "tapped button", fmt.Sprintf("tapping %q", last.Buttons[i].Title), in, ok, c)
		n.buttons.Add(1)
	}
}

// checkNumbered checks that more than five choices are a numbered list in the text, and that the
// first, a middle and the last number, and one choice's label, typed each after the output was
// sent again, come back as that choice.
func (r *zaloRun) checkNumbered(where, uid string, reply chat.Reply, texts []zalotest.Message, joined string, choices []choice, n *counts) {
	t := r.t
	t.Helper()
	for _, m := range texts {
		if len(m.Buttons) > 0 {
			t.Errorf("%s: buttons %v with a numbered list", where, m.ButtonTitles())
		}
	}
	// A list of quantities ("500", "1", "10"…) is shown with bullets and answered by typing the
	// choice: a number there is a label or a quantity, never a position.
	quantities := slices.ContainsFunc(choices, func(c choice) bool { return isNumber(c.label) })
	lines := strings.Split(joined, "\n")
	for i, c := range choices {
		line := fmt.Sprintf("%d. %s", i+1, c.label)
		if quantities {
			line = "• " + c.label
		}
		if !slices.Contains(lines, line) {
			t.Errorf("%s: the list has no line %q", where, line)
		}
	}
	type answer struct {
		typed string
		c     choice
	}
	mid := len(choices) / 2
	answers := []answer{
		{"1", choices[0]},
		{strconv.Itoa(mid + 1), choices[mid]},
		{strconv.Itoa(len(choices)), choices[len(choices)-1]},
	}
	if quantities {
		answers = nil
		// A number that is no label is the person's own quantity: it comes back as typed.
		for k := 2; ; k++ {
			typed := strconv.Itoa(k)
			if slices.ContainsFunc(choices, func(c choice) bool { return c.label == typed }) {
				continue
			}
			ev, err := r.emu.SendText(uid, typed)
			if err != nil {
				t.Fatal(err)
			}
			if in, ok := r.event(ev); !ok || in.Kind != chat.KindText || in.Text != typed {
				t.Errorf("%s: typing the quantity %q beside a list of quantities came back as %+v (%v), want the text", where, typed, in.Input, ok)
			}
			n.typed.Add(1)
			break
		}
	}
	if k := labelToType(choices); k >= 0 {
		answers = append(answers, answer{choices[k].label, choices[k]})
	} else {
		t.Errorf("%s: no choice of %v can be answered by typing its label", where, choices)
	}
	// A label that is a number is what a person types for it: it must not be taken as the
	// position of another choice.
	numeric := len(answers)
	for _, c := range choices {
		if isNumber(c.label) {
			answers = append(answers, answer{c.label, c})
		}
	}
	// A label with one number in it ("Lớp 6") answers a question that asks to type it: typing the
	// number must not choose another line; taken as that line, or as the text, it is fine.
	inLabel := len(answers)
	for _, c := range choices {
		if num, ok := numberIn(c.label); ok && !isNumber(c.label) {
			answers = append(answers, answer{num, c})
		}
	}
	for i, ans := range answers {
		if i > 0 || quantities {
			// The answer before took the list: show it again, as the next question would.
			if _, ok := r.sendOnce(where+" (again)", reply); !ok {
				return
			}
		}
		ev, err := r.emu.SendText(uid, ans.typed)
		if err != nil {
			t.Fatal(err)
		}
		in, ok := r.event(ev)
		kind := "typed answer"
		switch {
		case i >= inLabel:
			kind = "number in a label"
			if ok && in.Kind == chat.KindText && in.Text == ans.typed {
				break // left as typed: the flow reads the number
			}
			r.expect(where, kind, fmt.Sprintf("typing %q (the number in %q)", ans.typed, ans.c.label), in, ok, ans.c)
		case i >= numeric:
			kind = "numeric label"
			fallthrough
		default:
			r.expect(where, kind, fmt.Sprintf("typing %q", ans.typed), in, ok, ans.c)
		}
		n.typed.Add(1)
	}
}

// labelToType picks the choice whose label a person would type to answer: the middle one, or the
// nearest after it, whose label is no number and no command and which no other choice shows.
func labelToType(choices []choice) int {
	for off := range choices {
		k := (len(choices)/2 + off) % len(choices)
		l := choices[k].label
		if l == "" || strings.HasPrefix(l, "/") || isNumber(l) {
			continue
		}
		same := 0
		for _, c := range choices {
			if strings.EqualFold(c.label, l) {
				same++
			}
		}
		if same == 1 {
			return k
		}
	}
	return -1
}

// numberIn returns the one number a label holds as a word of its own ("Lớp 6" → "6"); false for
// none or several ("lớp 1-5").
func numberIn(label string) (string, bool) {
	words := strings.FieldsFunc(label, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	var nums []string
	for _, w := range words {
		if isNumber(w) {
			nums = append(nums, w)
		}
	}
	if len(nums) != 1 {
		return "", false
	}
	return nums[0], true
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(strings.TrimSpace(s))
	return err == nil
}

// expect checks that an event came back as the choice c.
func (r *zaloRun) expect(where, kind, what string, in chat.Update, ok bool, c choice) {
	r.t.Helper()
	switch {
	case !ok:
		r.problem(where, kind, "%s: %s mapped to no input", where, what)
	case c.data != "" && (in.Kind != chat.KindChoice || in.Data != c.data):
		r.problem(where, kind, "%s: %s came back as %s %q/%q, want the choice %q", where, what, in.Kind, in.Data, in.Text, c.data)
	case c.data == "" && (in.Kind != chat.KindText || in.Text != c.text):
		r.problem(where, kind, "%s: %s came back as %s %q/%q, want the text %q", where, what, in.Kind, in.Data, in.Text, c.text)
	}
}

// knownProblems are rendering problems the harness found in the adapters and that are not fixed
// yet, by "<conversation>|<where>|<check>": they are logged instead of failing the test, and the
// test fails once one no longer happens, so the entry is removed with the fix.
var knownProblems = map[string]string{}

// problem fails the test, unless the problem is a known one.
func (r *zaloRun) problem(where, kind, format string, args ...any) {
	r.t.Helper()
	key := r.conv + "|" + where + "|" + kind
	if _, ok := knownProblems[key]; ok {
		r.known[key] = true
		r.t.Logf("known problem: "+format, args...)
		return
	}
	r.t.Errorf(format, args...)
}

// replay types the golden's typed answer on Zalo, with the numbered list it answers pending, and
// says what the adapter made of it when that is not the text as typed: a person on Zalo who types
// the same sends the flow a choice instead. Any text, command or tap takes the pending list.
func (r *zaloRun) replay(input string) string {
	typed, ok := strings.CutPrefix(input, "text ")
	if !ok {
		if strings.HasPrefix(input, "press ") || strings.HasPrefix(input, "/") {
			r.pending = nil
		}
		return ""
	}
	pending := r.pending
	r.pending = nil
	if strings.TrimSpace(typed) == "" || strings.HasSuffix(typed, "…") || pending == nil {
		return "" // nothing to answer, or the golden clipped what was typed
	}
	uid := r.person("")
	r.menus.restore(uid, pending)
	ev, err := r.emu.SendText(uid, typed)
	if err != nil {
		r.t.Fatal(err)
	}
	in, ok := r.event(ev)
	switch {
	case !ok:
		r.t.Errorf("typing %q mapped to no input", typed)
	case in.Kind == chat.KindChoice:
		return " (on Zalo: press " + in.Data + ")"
	case in.Kind != chat.KindText || in.Text != typed:
		return fmt.Sprintf(" (on Zalo: %s %s)", in.Kind, in.Text)
	}
	return ""
}

// render is one message as the person sees it, for the transcript: link URLs, which change
// between runs, are replaced by <link>.
func (r *zaloRun) render(m zalotest.Message) string {
	var lines []string
	if m.Text != "" {
		text, name := r.links.replace(m.Text)
		lines = append(lines, text)
		if name != "" {
			lines = append(lines, "[link: "+name+"]")
		}
	}
	for _, b := range m.Buttons {
		lines = append(lines, "["+b.Title+" → "+b.Payload+"]")
	}
	if c := m.RequestInfo; c != nil {
		lines = append(lines, "[card: "+c.Title+"]")
	}
	if img := m.Image; img != nil {
		name := "<url>"
		if up, _, ok := r.emu.Upload(img.AttachmentID); ok && img.AttachmentID != "" {
			name = up
		}
		lines = append(lines, "[image: "+name+"]")
	}
	if f := m.File; f != nil {
		lines = append(lines, "[file: "+f.Name+"]")
	}
	return strings.Join(lines, "\n")
}

// truncateRunes shortens s to at most limit characters ending in "…", as Zalo's titles are cut.
func truncateRunes(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	return string([]rune(s)[:limit-1]) + "…"
}

func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, a, b)
		}
	}
	return ""
}

// webhook receives the emulator's event posts; signatures are not checked (the adapter's own
// tests do).
type webhook struct {
	mu      sync.Mutex
	got     map[string]bool
	changed chan struct{}
}

func newWebhook() *webhook { return &webhook{got: map[string]bool{}, changed: make(chan struct{})} }

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.got[string(body)] = true
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// wait returns body once it was posted.
func (h *webhook) wait(ctx context.Context, body []byte) ([]byte, error) {
	for {
		h.mu.Lock()
		got, changed := h.got[string(body)], h.changed
		h.mu.Unlock()
		if got {
			return body, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// memRecords is a zalo.RecordStore in memory.
type memRecords struct {
	mu   sync.Mutex
	data map[string][]byte
}

func (s *memRecords) LoadRecord(_ context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.data[key]), nil
}

func (s *memRecords) UpdateRecord(_ context.Context, key string, fn func([]byte) ([]byte, error)) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next, err := fn(bytes.Clone(s.data[key]))
	if err != nil {
		return nil, err
	}
	if s.data == nil {
		s.data = map[string][]byte{}
	}
	s.data[key] = bytes.Clone(next)
	return next, nil
}

// memMenus is a zalo.MenuStore in memory, with TakeMenu's semantics: the event that took a menu
// gets the same answer again, a later event gets nothing. TTLs are not enforced.
type memMenus struct {
	mu     sync.Mutex
	menus  map[string][]byte
	takers map[string][]byte // chat/event → what that event took
}

func (m *memMenus) SetMenu(_ context.Context, chatID string, data []byte, _ time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.menus == nil {
		m.menus = map[string][]byte{}
	}
	m.menus[chatID] = bytes.Clone(data)
	return nil
}

func (m *memMenus) TakeMenu(_ context.Context, chatID, eventID string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.takers == nil {
		m.takers = map[string][]byte{}
	}
	key := chatID + "\x00" + eventID
	if data, ok := m.takers[key]; ok {
		return bytes.Clone(data), nil
	}
	data := m.menus[chatID]
	delete(m.menus, chatID)
	m.takers[key] = data
	return bytes.Clone(data), nil
}

// peek returns chatID's menu without taking it; restore puts one back (nil removes it). The
// harness uses them to keep the menu its checks take.
func (m *memMenus) peek(chatID string) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.Clone(m.menus[chatID])
}

func (m *memMenus) restore(chatID string, data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.menus == nil {
		m.menus = map[string][]byte{}
	}
	if data == nil {
		delete(m.menus, chatID)
		return
	}
	m.menus[chatID] = bytes.Clone(data)
}

func (m *memMenus) ClearMenu(_ context.Context, chatID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.menus, chatID)
	return nil
}

// memInteractions is a zalo.Interactions in memory.
type memInteractions struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (f *memInteractions) Touch(_ context.Context, userID string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last == nil {
		f.last = map[string]time.Time{}
	}
	if at.After(f.last[userID]) {
		f.last[userID] = at
	}
	return nil
}

func (f *memInteractions) LastInteraction(_ context.Context, userID string) (time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last[userID], nil
}

// fakeLinks is a zalo.FileLinks that hands out made-up https URLs and remembers which file each
// names.
type fakeLinks struct {
	mu    sync.Mutex
	names map[string]string // URL → file name
}

func (l *fakeLinks) Link(_ context.Context, path, name string, _ time.Duration) (string, error) {
	if _, err := os.Stat(path); err != nil {
		return "", err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.names == nil {
		l.names = map[string]string{}
	}
	u := fmt.Sprintf("%sd/%d/%s?sig=%x", linkHost, len(l.names)+1, url.PathEscape(name), time.Now().UnixNano())
	l.names[u] = name
	return u, nil
}

// in returns the name of the file a link in text names, "" when it has none.
func (l *fakeLinks) in(text string) string {
	_, name := l.replace(text)
	return name
}

// replace replaces the links in text with <link> and returns the name of the file (the last) one
// names.
func (l *fakeLinks) replace(text string) (string, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	name := ""
	for u, n := range l.names {
		if strings.Contains(text, u) {
			text, name = strings.ReplaceAll(text, u, "<link>"), n
		}
	}
	return text, name
}
