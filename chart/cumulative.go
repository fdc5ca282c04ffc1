package chart

import (
	"image/color"
	"math"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/thuduc/maytinhchoem/campaign"
)

// series are the cumulative panel's numbers, indexed by day of the window (1..len-1; 0 unused).
type series struct {
	days    int
	shown   int   // last day with an actual figure: p.Day, within the window
	actual  []int // deliveries done by the end of each day up to shown
	planned []int // the plan by the end of each day of the window
}

// cumulate sums days into deliveries by the end of each day of the window, up to the day p
// stands on, and reads the plan for every day of the window (see Render).
func cumulate(c *campaign.Campaign, p campaign.Progress, days []Day) series {
	n := c.WindowDays()
	s := series{days: n, shown: min(max(p.Day, 0), n), actual: make([]int, n+1), planned: make([]int, n+1)}
	perDay := make([]int, n+1)
	for _, d := range days {
		k, _ := c.WindowDay(d.Date)
		if k > s.shown {
			continue
		}
		perDay[max(k, 1)] += d.Delivered
	}
	for k := 1; k <= s.shown; k++ {
		s.actual[k] = s.actual[k-1] + perDay[k]
	}
	for k := 1; k <= n; k++ {
		s.planned[k] = c.PlannedDeliveries(dateOf(c, k), p.Registrations.Verified)
	}
	return s
}

// dateOf returns the local date of day k of the window.
func dateOf(c *campaign.Campaign, k int) time.Time { return c.Start.AddDate(0, 0, k-1) }

// handoverDays returns the days of the window the hand-over milestone covers, clamped to the
// window; ok is false when the campaign has no hand-over milestone or it lies outside the window.
func handoverDays(c *campaign.Campaign) (first, last int, m campaign.Milestone, ok bool) {
	m, ok = c.Milestone(campaign.MilestoneHandover)
	if !ok {
		return 0, 0, m, false
	}
	end := m.End
	if end.IsZero() {
		end = m.Date
	}
	first, _ = c.WindowDay(m.Date)
	last, _ = c.WindowDay(end)
	n := c.WindowDays()
	first, last = max(first, 1), min(last, n)
	return first, last, m, first <= last
}

// drawCumulative draws the cumulative panel into c.
func (r *renderer) drawCumulative(c draw.Canvas, days []Day) error {
	s := cumulate(r.c, r.p, days)
	actualStyle := draw.LineStyle{Color: colDelivered, Width: r.px(5)}
	planStyle := draw.LineStyle{Color: colPlan, Width: r.px(3.5), Dashes: []vg.Length{r.px(12), r.px(7)}}

	items := []legendItem{
		{label: r.w.deliveredSoFar(s.actual[s.shown]), line: &actualStyle},
		{label: r.w.planBy(r.p.Date, s.planned[max(s.shown, 0)]), line: &planStyle},
	}
	first, last, handover, haveHandover := handoverDays(r.c)
	if haveHandover {
		items = append(items, legendItem{
			label: handover.Name.In(r.lang) + " " + dayMonth(dateOf(r.c, first)) + "–" + dayMonth(dateOf(r.c, last)),
			fill:  colHandover,
		})
	}
	c = r.drawHeading(c, r.w.cumTitle, "", nil)

	top := 0
	for k := 1; k <= s.days; k++ {
		top = max(top, s.actual[k], s.planned[k])
	}
	yMax := niceCeil(float64(max(top, 5)) * 1.03)

	p := r.newPlot()
	p.X.Min, p.X.Max = 0.5, float64(s.days)+0.5
	p.Y.Min, p.Y.Max = 0, yMax
	if haveHandover {
		x0, x1 := float64(first)-0.5, float64(last)+0.5
		band, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: 0}, {X: x1, Y: 0}, {X: x1, Y: yMax}, {X: x0, Y: yMax}})
		if err != nil {
			return err
		}
		band.Color = colHandover
		band.LineStyle.Width = 0
		p.Add(band)
	}
	p.Add(grid(false, r.px(1)))

	plan := make(plotter.XYs, s.days)
	for k := 1; k <= s.days; k++ {
		plan[k-1] = plotter.XY{X: float64(k), Y: float64(s.planned[k])}
	}
	planLine, err := plotter.NewLine(plan)
	if err != nil {
		return err
	}
	planLine.LineStyle = planStyle
	p.Add(planLine)

	if s.shown > 0 {
		done := make(plotter.XYs, s.shown)
		for k := 1; k <= s.shown; k++ {
			done[k-1] = plotter.XY{X: float64(k), Y: float64(s.actual[k])}
		}
		line, dots, err := plotter.NewLinePoints(done)
		if err != nil {
			return err
		}
		line.LineStyle = actualStyle
		dots.GlyphStyle = draw.GlyphStyle{Color: colDelivered, Radius: r.px(5), Shape: draw.CircleGlyph{}}
		p.Add(line, dots)
	}

	p.Y.Tick.Marker = r.countTicks()
	p.X.Tick.Marker = r.dayTicks(s.days, c.Size().X)
	p.Draw(c)

	// The legend goes in the top left corner, which rising cumulative lines leave empty, on a
	// light backing so grid lines do not run through its text.
	data := p.DataCanvas(c)
	st := r.legendStyle()
	lineH := st.Height("Ấg") + r.px(6)
	pad := r.px(10)
	box := vg.Rectangle{Min: vg.Point{X: data.Min.X + pad, Y: data.Max.Y - pad - lineH*vg.Length(len(items)) - pad}}
	box.Max = vg.Point{X: box.Min.X + r.legendMaxWidth(items) + 2*pad, Y: data.Max.Y - pad}
	data.SetColor(color.NRGBA{0xff, 0xff, 0xff, 0xdd})
	data.Fill(box.Path())
	r.drawLegend(data, vg.Point{X: box.Min.X + pad, Y: box.Max.Y - pad - lineH/2}, items, true)
	return nil
}

// dayTicks marks every day of the window and labels every few as dd/mm, as many as fit in
// width, counting back from the last day so the end of the campaign is always labelled.
func (r *renderer) dayTicks(days int, width vg.Length) plot.Ticker {
	st := r.kit.style(r.px(20), false, colText)
	fits := max(int(width/(st.Width("00/00")*1.7)), 1)
	step := 1
	for _, s := range []int{1, 2, 3, 4, 5, 7, 10, 14, 15, 30, 60, 90, 180, 365} {
		step = s
		if (days+s-1)/s <= fits {
			break
		}
	}
	ticks := make([]plot.Tick, 0, days)
	for k := 1; k <= days; k++ {
		t := plot.Tick{Value: float64(k)}
		if (days-k)%step == 0 {
			t.Label = dayMonth(dateOf(r.c, k))
		}
		ticks = append(ticks, t)
	}
	return plot.ConstantTicks(ticks)
}

// niceCeil rounds v up to a round number (1, 1.2, 1.5, 2 ... 8 times a power of ten), so the
// count axis ends on a round number without wasting much of the panel's height.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if v <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}
