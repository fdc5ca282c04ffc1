package chart

import (
	"image/color"

	stdfont "golang.org/x/image/font"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/font/liberation"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Liberation Sans (version 2.1.4 by its name table) covers Vietnamese: ơ, ư, đ and every
// precomposed vowel of Latin Extended Additional, which Go's own fonts lack. gonum/plot already
// compiles every Liberation face into each binary that imports it (go:embed in
// codeberg.org/go-fonts/liberation), so the chart draws with those bytes rather than embedding a
// second copy of the same files. The fonts are under the SIL Open Font License 1.1, unmodified:
// their copyright and licence travel in each font's name table, and the module ships the
// licence text as LICENSE-SIL.

// typeface names the faces in the chart's own font cache.
const typeface font.Typeface = "Liberation"

// sansFaces returns Liberation Sans regular and bold as gonum/plot carries them.
func sansFaces() (regular, bold font.Face, ok bool) {
	var haveR, haveB bool
	for _, f := range liberation.Collection() {
		if f.Font.Variant != "Sans" || f.Font.Style != stdfont.StyleNormal {
			continue
		}
		switch f.Font.Weight {
		case stdfont.WeightNormal:
			regular, haveR = f, true
		case stdfont.WeightBold:
			bold, haveB = f, true
		}
	}
	return regular, bold, haveR && haveB
}

// textKit makes text styles bound to the chart's own font cache. Each Render builds one, so
// nothing depends on (or changes) gonum/plot's package-level default font and cache.
type textKit struct {
	handler text.Handler
}

func newTextKit() textKit {
	regular, bold, ok := sansFaces()
	if !ok {
		// gonum/plot's Liberation collection is compiled in; only a changed dependency gets here.
		panic("chart: Liberation Sans is missing from gonum.org/v1/plot/font/liberation")
	}
	regular.Font = font.Font{Typeface: typeface, Variant: "Sans"}
	bold.Font = font.Font{Typeface: typeface, Variant: "Sans", Weight: stdfont.WeightBold}
	return textKit{handler: text.Plain{Fonts: font.NewCache(font.Collection{regular, bold})}}
}

// style returns a text style of size points (pixels at the chart's 72 dpi), left and top
// aligned unless changed.
func (k textKit) style(size vg.Length, bold bool, c color.Color) text.Style {
	f := font.Font{Typeface: typeface, Variant: "Sans", Size: size}
	if bold {
		f.Weight = stdfont.WeightBold
	}
	return text.Style{Color: c, Font: f, XAlign: draw.XLeft, YAlign: draw.YTop, Handler: k.handler}
}

// fit returns s shrunk so that txt is at most width wide, so a long campaign or ward name stays
// whole rather than running off the image. It never shrinks below 60%, where text becomes
// unreadable on a phone; past that txt is cut and ends in "…".
func fit(s text.Style, txt string, width vg.Length) (text.Style, string) {
	w := s.Width(txt)
	if w <= width || w == 0 {
		return s, txt
	}
	s.Font.Size = max(s.Font.Size*width/w, s.Font.Size*0.6)
	if s.Width(txt) <= width {
		return s, txt
	}
	r := []rune(txt)
	for len(r) > 1 && s.Width(string(r)+"…") > width {
		r = r[:len(r)-1]
	}
	return s, string(r) + "…"
}

// capHeight is Liberation Sans' capital height as a share of the font size (1409/2048 em).
const capHeight = 0.688

// middle returns the YAlign that puts the middle of capitals and digits on the point text is
// drawn at, where lift is how far above that point the drawer moves it (gonum's axes draw tick
// labels one descent higher). gonum's YCenter centres the whole line box, descent included,
// which sets labels visibly low beside a bar or a legend swatch.
func middle(s text.Style, lift vg.Length) text.YAlignment {
	e := s.FontExtents()
	size := s.Font.Size
	return text.YAlignment((e.Ascent - size - size*capHeight/2 - lift) / (e.Ascent + e.Descent))
}

// capMiddle returns how far below the point a top-aligned text is drawn at the middle of its
// capitals lies, so a legend beside a heading lines up with the heading's letters.
func capMiddle(s text.Style) vg.Length {
	e := s.FontExtents()
	size := s.Font.Size
	baseline := (e.Ascent + e.Descent) + e.Ascent - size
	return baseline - size*capHeight/2
}
