package chart

import (
	"bytes"
	"flag"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/locales"
)

var update = flag.Bool("update", false, "write testdata/sample.png for a person to look at")

// cityDay returns the figures of the default campaign on 20 September 2021 at 17:00 (day 20 of
// 30, the fourth day of the hand-over) for all 34 wards, and deliveries per day up to then.
func cityDay(t testing.TB) (*campaign.Campaign, campaign.Progress, []Day) {
	t.Helper()
	c := campaign.Default()
	at := time.Date(2021, 9, 20, 17, 0, 0, 0, c.Location)
	rng := rand.New(rand.NewPCG(2021, 9))
	p := campaign.Progress{At: at}
	for _, w := range c.Wards {
		reg := 40 + rng.IntN(120)
		ver := reg * (55 + rng.IntN(40)) / 100
		del := ver * rng.IntN(60) / 100
		p.Wards = append(p.Wards, campaign.WardProgress{Code: w.Code, Registered: reg, Verified: ver, Delivered: del})
		p.Registrations.Total += reg
		p.Registrations.Verified += ver
		p.Delivered += del
	}
	p.Settle(c)

	// Spread the deliveries over the hand-over days so far, growing day by day.
	var days []Day
	left := p.Delivered
	first := time.Date(2021, 9, 17, 0, 0, 0, 0, c.Location)
	for d := first; !d.After(p.Date); d = d.AddDate(0, 0, 1) {
		n := left / 3
		if d.Equal(p.Date) {
			n = left
		}
		left -= n
		days = append(days, Day{Date: d, Delivered: n})
	}
	return c, p, days
}

func render(t testing.TB, c *campaign.Campaign, p campaign.Progress, days []Day, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, c, p, days, opts); err != nil {
		t.Fatalf("Render: %v", err)
	}
	return buf.Bytes()
}

// decode checks b is a PNG of the given size with something drawn on it: enough distinct colours
// for text, bars and lines, and a good share of pixels that are not the white background.
func decode(t *testing.T, b []byte, width, height int) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode png: %v", err)
	}
	if got := img.Bounds().Size(); got != (image.Point{width, height}) {
		t.Fatalf("size = %v, want %dx%d", got, width, height)
	}
	colours := map[[4]uint32]bool{}
	inked := 0
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y += 2 {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x += 2 {
			r, g, b, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, b, a}] = true
			if r < 0xf000 || g < 0xf000 || b < 0xf000 {
				inked++
			}
		}
	}
	if len(colours) < 20 {
		t.Errorf("only %d colours: the image is blank or nearly", len(colours))
	}
	if share := float64(inked) / float64(width*height/4); share < 0.03 {
		t.Errorf("only %.1f%% of pixels drawn on", share*100)
	}
	return img
}

func writeSample(t *testing.T, name string, b []byte) {
	t.Helper()
	if !*update {
		return
	}
	if err := os.WriteFile(filepath.Join("testdata", name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRender_City(t *testing.T) {
	c, p, days := cityDay(t)
	b := render(t, c, p, days, Options{})
	decode(t, b, DefaultWidth, DefaultHeight)
	writeSample(t, "sample.png", b)
}

func TestRender_Sizes(t *testing.T) {
	c, p, days := cityDay(t)
	for _, size := range []image.Point{{800, 1000}, {1080, 1920}, {1600, 1200}, {MinSize, MinSize}} {
		t.Run(size.String(), func(t *testing.T) {
			b := render(t, c, p, days, Options{Width: size.X, Height: size.Y})
			decode(t, b, size.X, size.Y)
		})
	}
}

func TestRender_English(t *testing.T) {
	c, p, days := cityDay(t)
	b := render(t, c, p, days, Options{Lang: "en"})
	decode(t, b, DefaultWidth, DefaultHeight)
	if bytes.Equal(b, render(t, c, p, days, Options{Lang: "vi"})) {
		t.Error("English image is the same as the Vietnamese one")
	}
}

func TestRender_Ward(t *testing.T) {
	c, city, days := cityDay(t)
	w := city.Wards[0]
	p := campaign.Progress{At: city.At, WardCode: w.Code, Delivered: w.Delivered, Wards: []campaign.WardProgress{w}}
	p.Registrations.Verified = w.Verified
	p.Registrations.Total = w.Registered
	p.Settle(c)
	wardDays := []Day{{Date: days[0].Date, Delivered: w.Delivered / 2}, {Date: p.Date, Delivered: w.Delivered - w.Delivered/2}}
	b := render(t, c, p, wardDays, Options{})
	decode(t, b, DefaultWidth, DefaultHeight)
}

func TestRender_Empty(t *testing.T) {
	c := campaign.Default()
	cases := map[string]campaign.Progress{
		"zero value":        {},
		"before the window": {At: time.Date(2021, 8, 25, 9, 0, 0, 0, c.Location)},
		"after the window":  {At: time.Date(2021, 10, 5, 9, 0, 0, 0, c.Location)},
		"wards without figures": {At: time.Date(2021, 9, 5, 9, 0, 0, 0, c.Location),
			Wards: []campaign.WardProgress{{Code: c.Wards[0].Code}, {Code: "99999"}}},
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			if !p.At.IsZero() {
				p.Settle(c)
			}
			var buf bytes.Buffer
			if err := Render(&buf, c, p, nil, Options{}); err != nil {
				t.Fatalf("Render: %v", err)
			}
			img, err := png.Decode(&buf)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got := img.Bounds().Size(); got != (image.Point{DefaultWidth, DefaultHeight}) {
				t.Errorf("size = %v", got)
			}
		})
	}
}

func TestRender_BadSize(t *testing.T) {
	c, p, days := cityDay(t)
	for _, o := range []Options{{Width: 100, Height: 1350}, {Width: 1080}, {Width: 10000, Height: 1000}} {
		if err := Render(&bytes.Buffer{}, c, p, days, o); err == nil {
			t.Errorf("Render(%+v) = nil error", o)
		}
	}
}

// The plan line must pass through what the text summary says is planned, and the delivered
// line must add up the days it was given.
func TestCumulate(t *testing.T) {
	c, p, days := cityDay(t)
	early := append([]Day{{Date: c.Start.AddDate(0, 0, -3), Delivered: 7}}, days...)
	late := append(early, Day{Date: p.Date.AddDate(0, 0, 1), Delivered: 1000})
	s := cumulate(c, p, late)
	if s.shown != p.Day || s.days != 30 {
		t.Fatalf("shown %d of %d, want %d of 30", s.shown, s.days, p.Day)
	}
	if got := s.planned[p.Day]; got != p.Planned {
		t.Errorf("plan on day %d = %d, Progress.Planned = %d", p.Day, got, p.Planned)
	}
	if got := s.planned[s.days]; got != p.Registrations.Verified {
		t.Errorf("plan at the end = %d, want every verified child (%d)", got, p.Registrations.Verified)
	}
	if got, want := s.actual[s.shown], p.Delivered+7; got != want {
		t.Errorf("delivered by day %d = %d, want %d (the day after left out, the days before counted on day 1)", s.shown, got, want)
	}
	if s.actual[1] != 7 {
		t.Errorf("day 1 = %d, want the 7 delivered before the window", s.actual[1])
	}
	for k := 2; k <= s.days; k++ {
		if s.planned[k] < s.planned[k-1] {
			t.Fatalf("plan falls from day %d to %d", k-1, k)
		}
	}
}

// Every letter the chart writes for the default campaign must be in the fonts it draws with;
// a missing glyph renders as an empty box. This is the test Go's own fonts fail, as the last
// check shows.
func TestFontsCoverVietnamese(t *testing.T) {
	c := campaign.Default()
	texts := []string{
		c.Name.VI, c.Name.EN, "Sóng và máy tính cho em – ngày 20/09/2021 (ngày 20/30) · số liệu lúc 17:00 …",
		"ĂÂÊÔƠƯĐăâêôơưđ àảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ",
		"ÀẢÃÁẠẰẲẴẮẶẦẨẪẤẬÈẺẼÉẸỀỂỄẾỆÌỈĨÍỊÒỎÕÓỌỒỔỖỐỘỜỞỠỚỢÙỦŨÚỤỪỬỮỨỰỲỶỸÝỴ",
	}
	// Every word of the chart in both languages, with figures where it takes some.
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	figures := map[string]any{"Day": 20, "Days": 30, "Date": "20/09/2021", "Time": "17:00", "Delivered": "3.200", "Planned": "4.100"}
	for _, lang := range []string{locales.VI, locales.EN} {
		for _, id := range cat.IDs(lang) {
			if strings.HasPrefix(id, "chart.") {
				s, err := cat.Text(lang, id, figures)
				if err != nil || strings.Contains(s, "<no value>") {
					t.Errorf("%s %s = %q, %v", lang, id, s, err)
				}
				texts = append(texts, s)
			}
		}
	}
	for _, m := range c.Milestones {
		texts = append(texts, m.Name.VI, m.Name.EN)
	}
	for _, w := range c.Wards {
		texts = append(texts, w.ShortName, w.DisplayName("vi"), w.DisplayName("en"))
	}

	regular, bold, ok := sansFaces()
	if !ok {
		t.Fatal("Liberation Sans regular and bold not found")
	}
	var buf sfnt.Buffer
	missing := func(f *sfnt.Font) []rune {
		var out []rune
		seen := map[rune]bool{}
		for _, s := range texts {
			for _, r := range s {
				if r == ' ' || seen[r] {
					continue
				}
				seen[r] = true
				if g, err := f.GlyphIndex(&buf, r); err != nil || g == 0 {
					out = append(out, r)
				}
			}
		}
		return out
	}
	for name, f := range map[string]*sfnt.Font{"regular": regular.Face, "bold": bold.Face} {
		if m := missing(f); len(m) > 0 {
			t.Errorf("Liberation Sans %s has no glyph for %q", name, string(m))
		}
	}

	goFont, err := sfnt.Parse(goregular.TTF)
	if err != nil {
		t.Fatal(err)
	}
	if m := missing(goFont); len(m) == 0 {
		t.Error("Go Regular covers every letter too: this test would not catch a font without Vietnamese")
	}
}

func TestCount(t *testing.T) {
	vi, en := wordsIn(t, locales.VI), wordsIn(t, locales.EN)
	for _, c := range []struct {
		n      int
		vi, en string
	}{{0, "0", "0"}, {999, "999", "999"}, {3200, "3.200", "3,200"}, {1234567, "1.234.567", "1,234,567"}, {-4500, "-4.500", "-4,500"}} {
		if got := vi.count(c.n); got != c.vi {
			t.Errorf("vi.count(%d) = %q, want %q", c.n, got, c.vi)
		}
		if got := en.count(c.n); got != c.en {
			t.Errorf("en.count(%d) = %q, want %q", c.n, got, c.en)
		}
	}
}

func wordsIn(t *testing.T, lang string) words {
	t.Helper()
	w, err := wordsFor(lang)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func BenchmarkRender(b *testing.B) {
	c, p, days := cityDay(b)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := Render(&buf, c, p, days, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
