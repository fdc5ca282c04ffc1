package chart

import (
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// newPlot returns a gonum plot whose every text uses the chart's fonts and sizes: plot.New
// takes gonum's default font (Liberation Serif from a package-level cache), which would leave
// tick labels in another face than the rest of the image.
func (r *renderer) newPlot() *plot.Plot {
	p := plot.New()
	p.TextHandler = r.kit.handler
	p.Title.TextStyle = r.kit.style(r.px(24), true, colText)
	p.Legend.TextStyle = r.kit.style(r.px(20), false, colText)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		label := r.kit.style(r.px(20), false, colText)
		label.XAlign, label.YAlign = a.Label.TextStyle.XAlign, a.Label.TextStyle.YAlign
		a.Label.TextStyle = label
		tick := r.kit.style(r.px(20), false, colText)
		tick.XAlign, tick.YAlign = a.Tick.Label.XAlign, a.Tick.Label.YAlign
		a.Tick.Label = tick
		a.Tick.Length = r.px(8)
		a.Tick.LineStyle.Color = colMuted
		a.Tick.LineStyle.Width = r.px(1)
		a.LineStyle.Color = colMuted
		a.LineStyle.Width = r.px(1)
		a.Padding = 0
	}
	return p
}

// countTicks labels a count axis with whole numbers in the language's own digits grouping
// (1.000 in Vietnamese); gonum's default would print 2.5 children on a short axis and "1000"
// on a long one.
func (r *renderer) countTicks() plot.Ticker {
	return plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		var ticks []plot.Tick
		for _, t := range (plot.DefaultTicks{}).Ticks(lo, hi) {
			if t.Value != math.Trunc(t.Value) {
				continue
			}
			if t.Label != "" {
				t.Label = r.w.count(int(t.Value))
			}
			ticks = append(ticks, t)
		}
		return ticks
	})
}

// grid returns light grid lines across the count axis only: lines along the other axis would
// cut through the ward names' rows or the days.
func grid(vertical bool, width vg.Length) *plotter.Grid {
	g := plotter.NewGrid()
	ls := draw.LineStyle{Color: colGrid, Width: width}
	if vertical {
		g.Vertical, g.Horizontal = ls, draw.LineStyle{}
	} else {
		g.Vertical, g.Horizontal = draw.LineStyle{}, ls
	}
	return g
}

// textMarks writes texts at data points, offset by a fixed distance. Unlike plotter.Labels it
// takes the chart's style; like it, it reports glyph boxes so the plot keeps room for the text
// instead of cutting it at the edge.
type textMarks struct {
	x, y  []float64
	texts []string
	style text.Style
	off   vg.Point
}

var (
	_ plot.Plotter    = (*textMarks)(nil)
	_ plot.GlyphBoxer = (*textMarks)(nil)
)

func (m *textMarks) add(x, y float64, s string) {
	m.x, m.y, m.texts = append(m.x, x), append(m.y, y), append(m.texts, s)
}

// Plot implements plot.Plotter.
func (m *textMarks) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for i, s := range m.texts {
		c.FillText(m.style, vg.Point{X: trX(m.x[i]) + m.off.X, Y: trY(m.y[i]) + m.off.Y}, s)
	}
}

// GlyphBoxes implements plot.GlyphBoxer.
func (m *textMarks) GlyphBoxes(p *plot.Plot) []plot.GlyphBox {
	boxes := make([]plot.GlyphBox, len(m.texts))
	for i, s := range m.texts {
		boxes[i] = plot.GlyphBox{
			X: p.X.Norm(m.x[i]), Y: p.Y.Norm(m.y[i]),
			Rectangle: m.style.Rectangle(s).Add(m.off),
		}
	}
	return boxes
}
