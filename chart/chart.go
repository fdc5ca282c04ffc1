// Package chart draws the PNG image sent with the daily progress summary: per ward, children
// registered, verified and handed a device, and the campaign's cumulative deliveries against
// its plan over the window.
//
// Text is drawn in Liberation Sans, compiled into the binary, because Go's own fonts lack most
// Vietnamese letters (ư, ơ, ạ, ầ, ế ...): a fresh machine or a static binary needs no font
// installed.
package chart

import (
	"fmt"
	"image/color"
	"io"
	"time"

	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Default image size: portrait 4:5, full width on a phone in Telegram and Zalo, and tall
// enough for the 34 wards of Thủ Đức to get a readable row each.
const (
	DefaultWidth  = 1080
	DefaultHeight = 1350
)

// Size limits: below the minimum the wards' names no longer fit beside their bars; above the
// maximum Telegram would scale the photo down anyway (and the image would cost memory for
// nothing).
const (
	MinSize = 400
	MaxSize = 4096
)

// Options sets the image's size in pixels and its language; the zero value means the defaults
// (1080×1350, Vietnamese).
type Options struct {
	Width, Height int
	// Lang is "vi" or "en"; any other value means Vietnamese, as campaign.Text.In reads it.
	Lang string
}

// Day is the number of deliveries handed over on one local day of the campaign. The caller
// counts them from the store (delivered registrations by the campaign-local date of their
// hand-over), scoped like the Progress: the city, or the one ward of a ward summary.
type Day struct {
	Date      time.Time
	Delivered int
}

// DaysOf turns the store's deliveries per day (campaign.ReminderStore.DeliveriesByDay) into Days.
func DaysOf(counts []campaign.DayCount) []Day {
	days := make([]Day, len(counts))
	for i, c := range counts {
		days[i] = Day{Date: c.Date, Delivered: c.Count}
	}
	return days
}

// dpi makes one vg point one pixel, so every length in this package reads as pixels.
const dpi = 72

// Render draws the summary chart for p as one PNG image of opts' size into w.
//
// The top panel has one row per ward of p.Wards, in that order (widest gap first, at the top):
// a bar of children registered, over it a bar of those verified, over that a bar of those
// handed a device, so each row reads as a progress bar; ward names are the wards' short names
// in both languages, since place names keep their diacritics. A ward summary (p.WardCode set)
// gets the same panel with its single row, kept short so the second panel has the room.
//
// The bottom panel plots cumulative deliveries by the end of each day of the window up to
// p.Date, summed from days (days before the window's start count on its first day, days after
// p.Date or the window's end are left out, missing days count 0), against the plan line
// c.PlannedDeliveries(day, p.Registrations.Verified) over the whole window: the same total
// Progress.Planned is computed with, so the line passes through p.Planned on p.Date. The
// hand-over period is shaded.
//
// p must be settled (campaign.Progress.Settle). Render fails only on a bad size, a failed write
// or a catalog without the chart's words (which the catalog's tests rule out); empty figures
// still give a valid image.
func Render(w io.Writer, c *campaign.Campaign, p campaign.Progress, days []Day, opts Options) error {
	if opts.Width == 0 && opts.Height == 0 {
		opts.Width, opts.Height = DefaultWidth, DefaultHeight
	}
	for _, n := range []int{opts.Width, opts.Height} {
		if n < MinSize || n > MaxSize {
			return fmt.Errorf("chart: size %d×%d is outside %d to %d pixels", opts.Width, opts.Height, MinSize, MaxSize)
		}
	}
	img := vgimg.NewWith(vgimg.UseWH(vg.Length(opts.Width), vg.Length(opts.Height)), vgimg.UseDPI(dpi))
	r, err := newRenderer(c, p, opts)
	if err != nil {
		return err
	}
	if err := r.draw(draw.New(img), days); err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		return fmt.Errorf("chart: write png: %w", err)
	}
	return nil
}

// Colours: the three ward bars darken as children move on (registered, verified, delivered),
// and the delivered bar and the delivered line share their green so the two panels read alike.
var (
	colText       = color.RGBA{0x21, 0x21, 0x21, 0xff}
	colMuted      = color.RGBA{0x61, 0x61, 0x61, 0xff}
	colRegistered = color.RGBA{0xd5, 0xde, 0xe8, 0xff}
	colVerified   = color.RGBA{0x7e, 0xaa, 0xd6, 0xff}
	colDelivered  = color.RGBA{0x2e, 0x8b, 0x57, 0xff}
	colPlan       = color.RGBA{0xe0, 0x6c, 0x1f, 0xff}
	colHandover   = color.RGBA{0xff, 0xf3, 0xc4, 0xff}
	colGrid       = color.RGBA{0xe4, 0xe4, 0xe4, 0xff}
)

// renderer carries what both panels need: the campaign, the figures, the language and the
// scale of the image.
type renderer struct {
	c     *campaign.Campaign
	p     campaign.Progress
	lang  string
	w     words
	kit   textKit
	scale vg.Length // 1 at the default size: every size below is in pixels of a 1080×1350 image
}

func newRenderer(c *campaign.Campaign, p campaign.Progress, opts Options) (*renderer, error) {
	w, err := wordsFor(opts.Lang)
	if err != nil {
		return nil, err
	}
	return &renderer{
		c: c, p: p, lang: opts.Lang, w: w, kit: newTextKit(),
		scale: min(vg.Length(opts.Width)/DefaultWidth, vg.Length(opts.Height)/DefaultHeight),
	}, nil
}

// px scales a length given for the default width.
func (r *renderer) px(n float64) vg.Length { return vg.Length(n) * r.scale }

// draw lays the image out top to bottom: title, ward panel, cumulative panel.
func (r *renderer) draw(dc draw.Canvas, days []Day) error {
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	margin := r.px(36)
	area := draw.Crop(dc, margin, -margin, margin*0.7, -margin*0.8)

	top := r.drawTitle(area)
	area.Max.Y = top - r.px(24)

	// The wards take what the cumulative panel leaves, at most 70%, in rows of at most 34 px
	// (readable for 34 wards, not ballooning for one); wardsExtra is their heading and axis.
	wardsExtra := r.px(120)
	gap := r.px(30)
	rows := max(len(r.p.Wards), 1)
	rowH := max(min(r.px(34), (area.Size().Y*0.70-wardsExtra)/vg.Length(rows)), 1)
	wards := area
	wards.Min.Y = area.Max.Y - (wardsExtra + rowH*vg.Length(rows))
	cum := area
	cum.Max.Y = wards.Min.Y - gap

	if err := r.drawWards(wards, rowH); err != nil {
		return err
	}
	return r.drawCumulative(cum, days)
}

// drawTitle writes the campaign's name and, below it, the ward (for a ward summary), the date,
// the day of the window and the time the figures stand on. It returns the y below the text.
func (r *renderer) drawTitle(c draw.Canvas) vg.Length {
	y := c.Max.Y
	width := c.Size().X
	st, name := fit(r.kit.style(r.px(40), true, colText), r.c.Name.In(r.lang), width)
	c.FillText(st, vg.Point{X: c.Min.X, Y: y}, name)
	y -= st.Height(name) + r.px(8)

	sub := ""
	if r.p.WardCode != "" {
		if ward, ok := r.c.Ward(r.p.WardCode); ok {
			sub = ward.DisplayName(r.lang) + " · "
		} else {
			sub = r.p.WardCode + " · "
		}
	}
	sub += r.w.date(r.p.Date, r.w.dayOfWindow(r.p.Day, r.c.WindowDays()))
	if !r.p.At.IsZero() {
		sub += " · " + r.w.figuresAt(r.p.At.In(r.c.Location).Format("15:04"))
	}
	st, sub = fit(r.kit.style(r.px(28), false, colMuted), sub, width)
	c.FillText(st, vg.Point{X: c.Min.X, Y: y}, sub)
	y -= st.Height(sub)
	return y
}

// drawHeading writes a panel's heading with the legend's items after it on the same line when
// they fit (on the next line when not), then an optional note, and returns the canvas left for
// the plot.
func (r *renderer) drawHeading(c draw.Canvas, title, note string, items []legendItem) draw.Canvas {
	y := c.Max.Y
	st, title := fit(r.kit.style(r.px(30), true, colText), title, c.Size().X)
	c.FillText(st, vg.Point{X: c.Min.X, Y: y}, title)
	lineH := st.Height(title)
	if len(items) > 0 {
		x := c.Min.X + st.Width(title) + r.px(30)
		if x+r.legendWidth(items) > c.Max.X {
			x, y = c.Min.X, y-lineH-r.px(4)
		}
		r.drawLegend(c, vg.Point{X: x, Y: y - capMiddle(st)}, items, false)
	}
	y -= lineH + r.px(6)
	if note != "" {
		st, note := fit(r.kit.style(r.px(21), false, colMuted), note, c.Size().X)
		c.FillText(st, vg.Point{X: c.Min.X, Y: y}, note)
		y -= st.Height(note) + r.px(6)
	}
	c.Max.Y = y - r.px(4)
	return c
}

// legendItem is one entry of a legend: a filled box for bars and areas, a line for lines.
type legendItem struct {
	label string
	fill  color.Color
	line  *draw.LineStyle
}

func (r *renderer) legendStyle() text.Style {
	st := r.kit.style(r.px(22), false, colText)
	st.YAlign = middle(st, 0)
	return st
}

// Legend geometry: swatch width, space between swatch and label, space after an entry.
func (r *renderer) legendGaps() (swatch, inner, after vg.Length) {
	return r.px(34), r.px(8), r.px(26)
}

// legendWidth is the width of items laid out in one row.
func (r *renderer) legendWidth(items []legendItem) vg.Length {
	st := r.legendStyle()
	sw, inner, after := r.legendGaps()
	w := vg.Length(0)
	for _, it := range items {
		w += sw + inner + st.Width(it.label) + after
	}
	return w - after
}

// drawLegend draws items from mid, the middle of their first line: in a row, or one under the
// other when stacked. gonum/plot's own legend lives inside the data area, where it would cover
// the top wards' bars, and its labels sit low beside their swatches.
func (r *renderer) drawLegend(c draw.Canvas, mid vg.Point, items []legendItem, stacked bool) {
	st := r.legendStyle()
	sw, inner, after := r.legendGaps()
	lineH := st.Height("Ấg") + r.px(6)
	x := mid.X
	for _, it := range items {
		if it.line != nil {
			c.StrokeLine2(*it.line, x, mid.Y, x+sw, mid.Y)
		} else {
			c.SetColor(it.fill)
			h := r.px(18)
			c.Fill(vg.Rectangle{Min: vg.Point{X: x, Y: mid.Y - h/2}, Max: vg.Point{X: x + sw, Y: mid.Y + h/2}}.Path())
		}
		c.FillText(st, vg.Point{X: x + sw + inner, Y: mid.Y}, it.label)
		if stacked {
			mid.Y -= lineH
		} else {
			x += sw + inner + st.Width(it.label) + after
		}
	}
}

// drawMessage writes a short message in the middle of c, where a plot would be without data.
func (r *renderer) drawMessage(c draw.Canvas, msg string) {
	st := r.kit.style(r.px(26), false, colMuted)
	st.XAlign, st.YAlign = draw.XCenter, draw.YCenter
	c.FillText(st, c.Center(), msg)
}

// legendMaxWidth is the width of items stacked one under the other.
func (r *renderer) legendMaxWidth(items []legendItem) vg.Length {
	st := r.legendStyle()
	sw, inner, _ := r.legendGaps()
	w := vg.Length(0)
	for _, it := range items {
		w = max(w, sw+inner+st.Width(it.label))
	}
	return w
}
