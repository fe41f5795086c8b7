package observation_test

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/observation"
)

var trendFrom = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// hourly is one point every hour from trendFrom with the given values.
func hourly(values ...float64) []observation.Point {
	out := make([]observation.Point, len(values))
	for i, v := range values {
		out[i] = observation.Point{ID: uuid.New(), Time: trendFrom.Add(time.Duration(i) * time.Hour), Value: v}
	}
	return out
}

func TestSlopeIsLeastSquaresPerHour(t *testing.T) {
	// A rising temperature: 0.25 °C an hour, exactly.
	if s, ok := observation.Slope(hourly(37, 37.25, 37.5, 37.75, 38)); !ok || !near(s, 0.25) {
		t.Fatalf("linear: %v %v", s, ok)
	}
	// Noise symmetric about a line leaves its slope: values 1+2h ± 1.
	if s, ok := observation.Slope(hourly(2, 2, 6, 6)); !ok || !near(s, 1.6) {
		t.Fatalf("least squares of (0,2),(1,2),(2,6),(3,6): %v", s)
	}
	// Readings minutes apart, years after the epoch, lose no precision.
	mins := []observation.Point{
		{Time: trendFrom.Add(10 * time.Minute), Value: 100},
		{Time: trendFrom.Add(40 * time.Minute), Value: 103},
	}
	if s, _ := observation.Slope(mins); !near(s, 6) {
		t.Fatalf("3 per half hour: %v", s)
	}
	same := []observation.Point{{Time: trendFrom, Value: 1}, {Time: trendFrom, Value: 2}}
	if _, ok := observation.Slope(same); ok {
		t.Fatal("no slope without two distinct times")
	}
	if _, ok := observation.Slope(hourly(1)); ok {
		t.Fatal("no slope of one point")
	}
}

func TestTrendBuckets(t *testing.T) {
	points := hourly(80, 90, 100, 110, 120, 130, 140)
	points = append(points, observation.Point{Time: trendFrom.Add(-time.Minute), Value: 999}) // before the window
	slices.Reverse(points)                                                                    // any order
	to := trendFrom.Add(7 * time.Hour)
	tr, err := observation.NewTrend(observation.CodeHeartRate, trendFrom, to, 3*time.Hour, points)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Count != 7 || *tr.Min != 80 || *tr.Max != 140 || *tr.Mean != 110 || !near(*tr.SlopePerHour, 10) || tr.Unit != "/min" || tr.Points != nil {
		t.Fatalf("trend %+v", tr)
	}
	want := []observation.Bucket{
		{Start: trendFrom, End: trendFrom.Add(3 * time.Hour), Count: 3, Min: 80, Max: 100, Mean: 90},
		{Start: trendFrom.Add(3 * time.Hour), End: trendFrom.Add(6 * time.Hour), Count: 3, Min: 110, Max: 130, Mean: 120},
		// The last bucket ends with the window.
		{Start: trendFrom.Add(6 * time.Hour), End: to, Count: 1, Min: 140, Max: 140, Mean: 140},
	}
	if !slices.Equal(tr.Buckets, want) {
		t.Fatalf("buckets\n%+v\nwant\n%+v", tr.Buckets, want)
	}

	// Empty buckets are left out; without a bucket every point is returned, oldest first.
	sparse := []observation.Point{{Time: trendFrom, Value: 1}, {Time: trendFrom.Add(5 * time.Hour), Value: 2}}
	tr, err = observation.NewTrend(observation.CodeHeartRate, trendFrom, to, time.Hour, sparse)
	if err != nil || len(tr.Buckets) != 2 || !tr.Buckets[1].Start.Equal(trendFrom.Add(5*time.Hour)) {
		t.Fatalf("sparse: %+v, %v", tr.Buckets, err)
	}
	tr, err = observation.NewTrend(observation.CodeHeartRate, trendFrom, to, 0, points)
	if err != nil || len(tr.Points) != 7 || tr.Points[0].Value != 80 || tr.Buckets != nil {
		t.Fatalf("points: %+v, %v", tr.Points, err)
	}
	empty, err := observation.NewTrend(observation.CodeHeartRate, trendFrom, to, 0, nil)
	if err != nil || empty.Count != 0 || empty.Min != nil || empty.SlopePerHour != nil {
		t.Fatalf("empty: %+v, %v", empty, err)
	}
}

func TestTrendRefusals(t *testing.T) {
	to := trendFrom.Add(24 * time.Hour)
	for _, c := range []struct {
		name     string
		code     string
		from, to time.Time
		bucket   time.Duration
		want     []string
	}{
		{"a panel", observation.CodeBloodPressurePanel, trendFrom, to, 0, []string{"code"}},
		{"an answer", observation.CodeConsciousness, trendFrom, to, 0, []string{"code"}},
		{"unknown", "1-1", trendFrom, to, 0, []string{"code"}},
		{"no from", observation.CodeHeartRate, time.Time{}, to, 0, []string{"from"}},
		{"backwards", observation.CodeHeartRate, to, trendFrom, 0, []string{"to"}},
		{"seconds", observation.CodeHeartRate, trendFrom, to, time.Second, []string{"bucket"}},
		{"too many buckets", observation.CodeHeartRate, trendFrom, trendFrom.Add(10_001 * time.Minute), time.Minute, []string{"bucket"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := fields(t, observation.CheckTrend(c.code, c.from, c.to, c.bucket)); !slices.Equal(got, c.want) {
				t.Fatalf("fields %v, want %v", got, c.want)
			}
		})
	}
	if err := observation.CheckTrend(observation.CodeHeartRate, trendFrom, trendFrom.Add(10_000*time.Minute), time.Minute); err != nil {
		t.Fatalf("exactly the most buckets: %v", err)
	}
	many := make([]observation.Point, observation.MaxTrendPoints+1)
	for i := range many {
		many[i] = observation.Point{Time: trendFrom.Add(time.Duration(i) * time.Second), Value: 70}
	}
	if _, err := observation.NewTrend(observation.CodeHeartRate, trendFrom, to, 0, many); !slices.Equal(fields(t, err), []string{"bucket"}) {
		t.Fatalf("too many points: %v", err)
	}
	tr, err := observation.NewTrend(observation.CodeHeartRate, trendFrom, to, time.Hour, many)
	if err != nil || tr.Count != len(many) || len(tr.Buckets) != 3 || math.IsNaN(*tr.Mean) {
		t.Fatalf("bucketed many: %+v, %v", tr.Buckets, err)
	}
}
