package console

import (
	"cmp"
	"fmt"
	"math"
	"strings"
	"time"
)

// chartWindow is how far back the patient page's vital-sign charts reach.
const chartWindow = 24 * time.Hour

// The charts' drawing area, in SVG user units.
const (
	chartWidth, chartHeight = 372, 150
	chartLeft, chartRight   = 44, 24
	chartTop, chartBottom   = 10, 26
)

// vital is one vital sign the patient page charts: its LOINC code, and the
// band NEWS2 (Royal College of Physicians, 2017) scores 0, shaded as the
// reference band.
type vital struct {
	Code, Name, Unit string
	Low, High        float64
	// Floor and Ceiling are the axis's least extent.
	Floor, Ceiling float64
	// Band says what the shaded band means; empty: NEWS2 scores the sign 0.
	Band string
}

// news2Chart is the NEWS2 total itself, charted as the vital signs are: the
// shaded band is 0–4, the aggregate scores of low clinical risk (RCP 2017,
// Chart 2); the axis reaches at least 10 and at most the total's maximum.
var news2Chart = vital{Code: "news2", Name: "NEWS2", Low: 0, High: 4, Floor: 0, Ceiling: 10,
	Band: "the aggregate scores of low clinical risk"}

// vitals are the charted signs, in the order of the NEWS2 chart.
var vitals = []vital{
	{Code: "9279-1", Name: "Respiratory rate", Unit: "/min", Low: 12, High: 20, Floor: 8, Ceiling: 28},
	{Code: "59408-5", Name: "SpO2", Unit: "%", Low: 96, High: 100, Floor: 88, Ceiling: 100},
	{Code: "8480-6", Name: "Systolic blood pressure", Unit: "mm[Hg]", Low: 111, High: 219, Floor: 90, Ceiling: 180},
	{Code: "8867-4", Name: "Pulse", Unit: "/min", Low: 51, High: 90, Floor: 40, Ceiling: 130},
	{Code: "8310-5", Name: "Temperature", Unit: "Cel", Low: 36.1, High: 38.0, Floor: 35, Ceiling: 39.5},
}

// unitLabels are the UCUM units in the words a chart shows.
var unitLabels = map[string]string{"mm[Hg]": "mmHg", "Cel": "°C"}

// Chart is one vital sign over the chart window, laid out for the page's
// inline SVG, with its readings for the table that stands in for it.
type Chart struct {
	// ID names the chart's elements: "chart-" and the code.
	ID, Name, Unit string
	Width, Height  int
	// Band is the reference band's rectangle; BandText says it in words.
	Band     Rect
	BandText string
	// Points are the line's points as the polyline takes them.
	Points   string
	Dots     []Dot
	XTicks   []Tick
	YTicks   []Tick
	Readings []Reading
	// Desc says what the chart shows, for those who cannot see it.
	Desc string
	// Problem says why the readings could not be read.
	Problem string
}

// Rect is a rectangle of the chart.
type Rect struct{ X, Y, W, H float64 }

// Dot is one reading on the chart; Out says it lies outside the band.
type Dot struct {
	X, Y  float64
	Out   bool
	Label string
}

// Tick is an axis's mark and its label; X and Y place it.
type Tick struct {
	X, Y  float64
	Label string
}

// Reading is one value of the chart's table.
type Reading struct {
	At    time.Time
	Value string
	Out   bool
}

// Plot is the chart's plotting area.
func (c Chart) Plot() Rect {
	return Rect{X: chartLeft, Y: chartTop, W: chartWidth - chartLeft - chartRight, H: chartHeight - chartTop - chartBottom}
}

// point is one value at a time, as the trend answers it.
type point struct {
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
}

// drawChart lays out v's points over [from, to).
func drawChart(v vital, points []point, from, to time.Time) Chart {
	unit := v.Unit
	if l, ok := unitLabels[unit]; ok {
		unit = l
	}
	c := Chart{ID: "chart-" + v.Code, Name: v.Name, Unit: unit, Width: chartWidth, Height: chartHeight}
	plot := c.Plot()
	lo, hi := v.Floor, v.Ceiling
	for _, p := range points {
		lo, hi = math.Min(lo, p.Value), math.Max(hi, p.Value)
	}
	step := niceStep((hi - lo) / 4)
	lo, hi = math.Floor(lo/step)*step, math.Ceil(hi/step)*step
	y := func(val float64) float64 { return round1(plot.Y + plot.H*(hi-val)/(hi-lo)) }
	span := to.Sub(from).Seconds()
	x := func(t time.Time) float64 { return round1(plot.X + plot.W*t.Sub(from).Seconds()/span) }

	bandTop, bandBottom := y(math.Min(v.High, hi)), y(math.Max(v.Low, lo))
	c.Band = Rect{X: plot.X, Y: bandTop, W: plot.W, H: round1(bandBottom - bandTop)}
	c.BandText = strings.TrimSpace(number(v.Low) + "–" + number(v.High) + " " + unit)
	for val := lo; val <= hi+step/2; val += step {
		c.YTicks = append(c.YTicks, Tick{X: plot.X - 6, Y: y(val), Label: number(round1(val))})
	}
	for t := from; !t.After(to); t = t.Add(6 * time.Hour) {
		c.XTicks = append(c.XTicks, Tick{X: x(t), Y: plot.Y + plot.H + 16, Label: t.UTC().Format("15:04")})
	}
	var pts []string
	for _, p := range points {
		if p.Time.Before(from) || !p.Time.Before(to) {
			continue
		}
		out := p.Value < v.Low || p.Value > v.High
		value := strings.TrimSpace(number(p.Value) + " " + unit)
		d := Dot{X: x(p.Time), Y: y(p.Value), Out: out, Label: value + " at " + p.Time.UTC().Format("15:04 UTC")}
		c.Dots = append(c.Dots, d)
		pts = append(pts, fmt.Sprintf("%s,%s", number(d.X), number(d.Y)))
		c.Readings = append(c.Readings, Reading{At: p.Time, Value: value, Out: out})
	}
	c.Points = strings.Join(pts, " ")
	c.Desc = chartDesc(c, v)
	return c
}

// chartDesc says in words what c shows.
func chartDesc(c Chart, v vital) string {
	head := c.Name + " over the last 24 hours"
	meaning := cmp.Or(v.Band, "where NEWS2 scores 0")
	if len(c.Readings) == 0 {
		return head + ": no readings. The shaded band, " + c.BandText + ", is " + meaning + "."
	}
	last := c.Readings[len(c.Readings)-1]
	out := 0
	for _, r := range c.Readings {
		if r.Out {
			out++
		}
	}
	word := "readings"
	if len(c.Readings) == 1 {
		word = "reading"
	}
	return fmt.Sprintf("%s: %d %s, %d outside the shaded band of %s, %s; the latest %s at %s.",
		head, len(c.Readings), word, out, c.BandText, meaning, last.Value, last.At.UTC().Format("15:04 UTC"))
}

// niceStep is a round step at least raw: 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
