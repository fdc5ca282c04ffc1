package chart

import (
	"image/color"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// drawWards draws the ward panel into c, one row of rowH per ward.
func (r *renderer) drawWards(c draw.Canvas, rowH vg.Length) error {
	title, note := r.w.wardsTitle, r.w.wardsNote
	switch {
	case len(r.p.Wards) == 0:
		note = ""
	case r.p.WardCode != "":
		title, note = r.w.wardTitle, r.w.wardNote
	}
	c = r.drawHeading(c, title, note, []legendItem{
		{label: r.w.registered, fill: colRegistered},
		{label: r.w.verified, fill: colVerified},
		{label: r.w.delivered, fill: colDelivered},
	})
	n := len(r.p.Wards)
	if n == 0 {
		r.drawMessage(c, r.w.noData)
		return nil
	}

	// Rows count from the bottom in gonum; the first ward of p.Wards goes on top.
	names := make([]string, n)
	reg := make(plotter.Values, n)
	ver := make(plotter.Values, n)
	del := make(plotter.Values, n)
	marks := &textMarks{style: r.kit.style(min(r.px(19), rowH*0.8), false, colText)}
	marks.style.YAlign = middle(marks.style, 0)
	marks.off = vg.Point{X: r.px(8)}
	top := 1
	for i, wp := range r.p.Wards {
		row := n - 1 - i
		names[row] = wp.Code
		if w, ok := r.c.Ward(wp.Code); ok {
			names[row] = w.ShortName
		}
		reg[row], ver[row], del[row] = float64(wp.Registered), float64(wp.Verified), float64(wp.Delivered)
		marks.add(float64(wp.Registered), float64(row), r.w.count(wp.Delivered)+"/"+r.w.count(wp.Registered))
		top = max(top, wp.Registered, wp.Verified, wp.Delivered)
	}

	p := r.newPlot()
	p.Add(grid(true, r.px(1)))
	barW := rowH * 0.72
	for _, s := range []struct {
		v   plotter.Values
		col color.Color
	}{{reg, colRegistered}, {ver, colVerified}, {del, colDelivered}} {
		b, err := plotter.NewBarChart(s.v, barW)
		if err != nil {
			return err
		}
		b.Horizontal = true
		b.Color = s.col
		b.LineStyle.Width = 0
		p.Add(b)
	}
	p.Add(marks)

	p.NominalY(names...)
	p.Y.Tick.Label.Font.Size = min(r.px(20), rowH*0.78)
	p.Y.Tick.Label.YAlign = middle(p.Y.Tick.Label, p.Y.Tick.Label.FontExtents().Descent)
	p.Y.Min, p.Y.Max = -0.5, float64(n)-0.5
	p.X.Min, p.X.Max = 0, float64(top)
	p.X.Tick.Marker = r.countTicks()
	// NominalY pads the count axis by half a label's height, which would float the bars off it.
	p.X.Padding = 0
	p.Y.Padding = 0
	p.Y.Tick.Length = r.px(6)
	p.Draw(c)
	return nil
}
