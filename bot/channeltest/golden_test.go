package channeltest

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unicode"

	"github.com/thuduc/maytinhchoem/chat"
)

var update = flag.Bool("update", false, "rewrite the Zalo transcripts in testdata/zalo/")

// goldenDir is where the flows record their golden conversations.
var goldenDir = filepath.Join("..", "..", "flows", "testdata")

// A golden conversation as flows/golden_test.go writes it; only what the channels need is read.
type goldenFile struct {
	Flow     string       `json:"flow"`
	Scenario string       `json:"scenario"`
	Turns    []goldenTurn `json:"turns"`
}

type goldenTurn struct {
	Input  string         `json:"input"`
	Output []goldenOutput `json:"output"`
	State  struct {
		Lang string `json:"lang"`
	} `json:"state"`
}

type goldenOutput struct {
	Text              string     `json:"text"`
	Buttons           [][]string `json:"buttons"`     // "label => data"
	AskContact        []string   `json:"ask_contact"` // the label, then suggestions
	EndContactRequest bool       `json:"end_contact_request"`
	Aside             bool       `json:"aside"`
	Replace           bool       `json:"replace"`
	Ack               string     `json:"ack"`
	To                string     `json:"to"`   // "channel:chat"
	File              string     `json:"file"` // a file name, or "photo:<id>"
}

// conversation is one golden file.
type conversation struct {
	name string // "<flow>/<scenario>", its path under goldenDir without ".json"
	goldenFile
}

var (
	goldensOnce sync.Once
	goldens     []conversation
	goldensErr  error
)

// loadGoldens reads every golden file once.
func loadGoldens(t *testing.T) []conversation {
	t.Helper()
	goldensOnce.Do(func() {
		paths, err := filepath.Glob(filepath.Join(goldenDir, "*", "*.json"))
		if err != nil {
			goldensErr = err
			return
		}
		for _, p := range paths {
			raw, err := os.ReadFile(p)
			if err != nil {
				goldensErr = err
				return
			}
			var c conversation
			dec := json.NewDecoder(bytes.NewReader(raw))
			if err := dec.Decode(&c.goldenFile); err != nil {
				goldensErr = fmt.Errorf("%s: %w", p, err)
				return
			}
			rel, _ := filepath.Rel(goldenDir, p)
			c.name = filepath.ToSlash(strings.TrimSuffix(rel, ".json"))
			goldens = append(goldens, c)
		}
	})
	if goldensErr != nil {
		t.Fatal(goldensErr)
	}
	return goldens
}

// TestGoldenFilesExist keeps the harness from passing on zero cases: the flows must have golden
// conversations, each with turns, and each must name itself as its path does.
func TestGoldenFilesExist(t *testing.T) {
	convs := loadGoldens(t)
	if len(convs) == 0 {
		t.Fatalf("no golden conversations in %s: the channel harness would check nothing", goldenDir)
	}
	outputs := 0
	for _, c := range convs {
		if c.Flow+"/"+c.Scenario != c.name {
			t.Errorf("%s.json names itself %s/%s", c.name, c.Flow, c.Scenario)
		}
		if len(c.Turns) == 0 {
			t.Errorf("%s.json has no turns", c.name)
		}
		for _, turn := range c.Turns {
			outputs += len(turn.Output)
		}
	}
	if outputs == 0 {
		t.Error("the golden conversations have no outputs")
	}
}

// visits records which conversations a channel's test went through to the end, with how many
// outputs, so that a test can tell every golden file was visited in full.
type visits struct {
	mu   sync.Mutex
	seen map[string]int
}

func (v *visits) done(name string, outputs int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen == nil {
		v.seen = map[string]int{}
	}
	v.seen[name] = outputs
}

// check fails t for every golden conversation not visited in full. It is meaningful only when
// every subtest ran (no -run filter on them).
func (v *visits) check(t *testing.T, channel string, convs []conversation) {
	t.Helper()
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, c := range convs {
		want := 0
		for _, turn := range c.Turns {
			want += len(turn.Output)
		}
		got, ok := v.seen[c.name]
		switch {
		case !ok:
			t.Errorf("%s: golden conversation %s was not run through to the end", channel, c.name)
		case got != want:
			t.Errorf("%s: %s: %d of %d outputs sent", channel, c.name, got, want)
		}
	}
	if len(v.seen) != len(convs) {
		t.Errorf("%s: %d conversations visited, %d golden files", channel, len(v.seen), len(convs))
	}
}

// filterActive reports whether a -run pattern may have left some conversations out.
func filterActive() bool {
	f := flag.Lookup("test.run")
	return f != nil && strings.Contains(f.Value.String(), "/")
}

// counts are what a channel's test checked, logged at its end.
type counts struct {
	conversations, outputs, messages, buttons, typed, edits, transcripts atomic.Int64
}

// pressInput returns the data of a "press <data>" input.
func pressInput(input string) (string, bool) {
	return strings.CutPrefix(input, "press ")
}

// built is a golden output as the flows produced it.
type built struct {
	out chat.Output
	// to is the golden "to" address, "" for the person of the conversation.
	to string
	// photo is the id of a photo the golden output sent again, "" when none.
	photo string
}

// buildOutput rebuilds the chat.Output of a golden output; a file is written under dir.
func buildOutput(t *testing.T, dir string, g goldenOutput) built {
	t.Helper()
	o := chat.Output{
		Text:              g.Text,
		EndContactRequest: g.EndContactRequest,
		Aside:             g.Aside,
		Replace:           g.Replace,
		Ack:               g.Ack,
	}
	for _, row := range g.Buttons {
		var r []chat.Button
		for _, b := range row {
			i := strings.LastIndex(b, " => ")
			if i < 0 {
				t.Fatalf("button %q is not \"label => data\"", b)
			}
			r = append(r, chat.Button{Text: b[:i], Data: b[i+len(" => "):]})
		}
		o.Buttons = append(o.Buttons, r)
	}
	if len(g.AskContact) > 0 {
		o.AskContact = &chat.ContactRequest{Label: g.AskContact[0], Suggestions: g.AskContact[1:]}
	}
	b := built{to: g.To}
	switch {
	case strings.HasPrefix(g.File, "photo:"):
		b.photo = strings.TrimPrefix(g.File, "photo:")
	case g.File != "":
		sub, err := os.MkdirTemp(dir, "file")
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(sub, g.File)
		if err := os.WriteFile(path, fileContent(t, g.File), 0o600); err != nil {
			t.Fatal(err)
		}
		o.File = &chat.File{Path: path, Name: g.File}
	}
	b.out = o
	return b
}

// fileContent is a small file that is what its name says.
func fileContent(t *testing.T, name string) []byte {
	t.Helper()
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return []byte("ward,children,devices\nLinh Trung,12,7\n")
	case ".xlsx", ".zip", ".docx":
		// An empty ZIP archive: the end-of-central-directory record alone.
		return append([]byte("PK\x05\x06"), make([]byte, 18)...)
	case ".png":
		var buf bytes.Buffer
		if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 4, 4))); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	return []byte("channeltest file " + name + "\n")
}

// turnLang is the language the bot answers a turn in, which the goldens do not record unless the
// person chose one with /lang: else it is read from the turn's texts, whose share of letters with
// Vietnamese marks is high in Vietnamese and near nil in English (which names a few Vietnamese
// places and people). It only decides the few words an adapter adds (a numbered list's hint).
func turnLang(turn goldenTurn) string {
	if turn.State.Lang != "" {
		return turn.State.Lang
	}
	letters, marked := 0, 0
	for _, o := range turn.Output {
		if o.To != "" {
			continue
		}
		for _, r := range o.Text {
			if !unicode.IsLetter(r) {
				continue
			}
			letters++
			if r >= 0x80 && strings.ContainsRune(vietnameseMarked, unicode.ToLower(r)) {
				marked++
			}
		}
	}
	if letters > 0 && marked*100 < letters*4 {
		return "en"
	}
	return "vi"
}

// vietnameseMarked are the lower-case letters with Vietnamese marks.
const vietnameseMarked = "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ"

// flatButtons lists an output's buttons row by row.
func flatButtons(o chat.Output) []chat.Button {
	var out []chat.Button
	for _, row := range o.Buttons {
		out = append(out, row...)
	}
	return out
}

// normalizeSpace collapses runs of white space to one space, so a text split into parts at line
// breaks or spaces compares equal to the whole.
func normalizeSpace(s string) string { return strings.Join(strings.Fields(s), " ") }
