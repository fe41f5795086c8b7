package observation

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// Bounds of a trend query.
const (
	// MaxTrendPoints is the most results a trend without buckets returns;
	// a window holding more needs a bucket.
	MaxTrendPoints = 10_000
	// MaxTrendBuckets is the most buckets a window may be cut into.
	MaxTrendBuckets = 10_000
	// MinTrendBucket is the shortest bucket.
	MinTrendBucket = time.Minute
)

// Point is one result of a trend, in the code's canonical unit.
type Point struct {
	ID    uuid.UUID `json:"id"`
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
}

// Bucket summarises the results in [Start, End).
type Bucket struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Count int       `json:"count"`
	Min   float64   `json:"min"`
	Max   float64   `json:"max"`
	Mean  float64   `json:"mean"`
}

// Trend is a patient's results of one code over [From, To): every point when
// Bucket is 0, otherwise the non-empty buckets of that length counted from
// From. The summary and the slope are over every result either way.
type Trend struct {
	Code    string        `json:"code"`
	Display string        `json:"display"`
	Unit    string        `json:"unit"`
	From    time.Time     `json:"from"`
	To      time.Time     `json:"to"`
	Bucket  time.Duration `json:"bucket,omitempty"`
	Count   int           `json:"count"`
	// Min, Max and Mean are absent when the window holds no result.
	Min  *float64 `json:"min,omitempty"`
	Max  *float64 `json:"max,omitempty"`
	Mean *float64 `json:"mean,omitempty"`
	// SlopePerHour is the least-squares slope of value against time, in
	// canonical units per hour; absent with fewer than two distinct times.
	SlopePerHour *float64 `json:"slopePerHour,omitempty"`
	Points       []Point  `json:"points,omitempty"`
	Buckets      []Bucket `json:"buckets,omitempty"`
}

// CheckTrend refuses a trend query no store should run: a code that is not a
// catalogued quantity (a panel's components are trended by their own codes),
// a window without both ends or with To not after From, a bucket shorter
// than MinTrendBucket or cutting the window into more than MaxTrendBuckets.
func CheckTrend(code string, from, to time.Time, bucket time.Duration) error {
	problems := &domain.ValidationError{}
	switch d, ok := byCode[code]; {
	case !ok:
		problems.Add("code", "LOINC "+strconv.Quote(code)+" is not in the observation catalogue")
	case d.Kind == KindPanel:
		problems.Add("code", d.Display+" has no value of its own: trend its components ("+strings.Join(d.Components, ", ")+")")
	case d.Kind != KindQuantity:
		problems.Add("code", d.Display+" ("+code+") takes a "+string(d.Kind)+" value, which has no trend")
	}
	switch {
	case from.IsZero():
		problems.Add("from", "is required")
	case to.IsZero():
		problems.Add("to", "is required")
	case !from.Before(to):
		problems.Add("to", "must be after from")
	}
	switch {
	case bucket < 0:
		problems.Add("bucket", "must not be negative")
	case bucket > 0 && bucket < MinTrendBucket:
		problems.Add("bucket", "must be at least a minute")
	case bucket > 0 && from.Before(to) && (to.Sub(from)+bucket-1)/bucket > MaxTrendBuckets:
		problems.Add("bucket", "cuts the window into more than "+strconv.Itoa(MaxTrendBuckets)+" buckets: give a longer one")
	}
	return problems.OrNil()
}

// NewTrend builds the trend of code over [from, to) from the patient's
// results (in any order; those outside the window are ignored). Without a
// bucket, more than MaxTrendPoints results are refused on bucket.
func NewTrend(code string, from, to time.Time, bucket time.Duration, points []Point) (Trend, error) {
	if err := CheckTrend(code, from, to, bucket); err != nil {
		return Trend{}, err
	}
	d := byCode[code]
	from, to = from.UTC(), to.UTC()
	in := make([]Point, 0, len(points))
	for _, p := range points {
		if !p.Time.Before(from) && p.Time.Before(to) {
			in = append(in, p)
		}
	}
	if bucket == 0 && len(in) > MaxTrendPoints {
		return Trend{}, &domain.ValidationError{Fields: []domain.FieldError{{Field: "bucket",
			Message: "the window holds more than " + strconv.Itoa(MaxTrendPoints) + " results: give a bucket"}}}
	}
	byTime := func(a, b Point) int { return a.Time.Compare(b.Time) }
	if !slices.IsSortedFunc(in, byTime) {
		slices.SortStableFunc(in, byTime)
	}
	t := Trend{Code: code, Display: d.Display, Unit: d.Unit, From: from, To: to, Bucket: bucket, Count: len(in)}
	if len(in) == 0 {
		return t, nil
	}
	all := summarise(in)
	t.Min, t.Max, t.Mean = &all.Min, &all.Max, &all.Mean
	if slope, ok := Slope(in); ok {
		t.SlopePerHour = &slope
	}
	if bucket == 0 {
		t.Points = in
		return t, nil
	}
	for start := 0; start < len(in); {
		k := in[start].Time.Sub(from) / bucket
		lo := from.Add(k * bucket)
		hi := lo.Add(bucket)
		end := start
		for end < len(in) && in[end].Time.Before(hi) {
			end++
		}
		b := summarise(in[start:end])
		b.Start, b.End = lo, hi
		if hi.After(to) {
			b.End = to
		}
		t.Buckets = append(t.Buckets, b)
		start = end
	}
	return t, nil
}

// summarise counts points and finds their least, greatest and mean value.
func summarise(points []Point) Bucket {
	b := Bucket{Count: len(points), Min: math.Inf(1), Max: math.Inf(-1)}
	sum := 0.0
	for _, p := range points {
		b.Min, b.Max = math.Min(b.Min, p.Value), math.Max(b.Max, p.Value)
		sum += p.Value
	}
	b.Mean = sum / float64(len(points))
	return b
}

// Slope is the ordinary least-squares slope of value against time, in units
// per hour: Σ(t−t̄)(v−v̄) / Σ(t−t̄)². False with fewer than two distinct times.
// Times are taken relative to the first point and the sums centred, so
// epoch-sized times lose no precision.
func Slope(points []Point) (float64, bool) {
	if len(points) < 2 {
		return 0, false
	}
	origin := points[0].Time
	var meanT, meanV float64
	for _, p := range points {
		meanT += p.Time.Sub(origin).Hours()
		meanV += p.Value
	}
	n := float64(len(points))
	meanT, meanV = meanT/n, meanV/n
	var sxy, sxx float64
	for _, p := range points {
		dt := p.Time.Sub(origin).Hours() - meanT
		sxy += dt * (p.Value - meanV)
		sxx += dt * dt
	}
	if sxx == 0 {
		return 0, false
	}
	return sxy / sxx, true
}
