package observation_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/observation"
)

// calm is a set of observations that scores 0 on every parameter.
func calm() observation.NEWS2Input {
	return observation.NEWS2Input{RespiratoryRate: 16, SpO2: 97, Scale: observation.SpO2Scale1, SystolicBP: 120, Pulse: 70,
		Consciousness: observation.ACVPUAlert, Temperature: 37.0}
}

func score(t *testing.T, in observation.NEWS2Input) observation.NEWS2 {
	t.Helper()
	s, err := observation.ScoreNEWS2(in)
	if err != nil {
		t.Fatalf("%+v: %v", in, err)
	}
	return s
}

// Every band of every parameter of Chart 1, at each boundary on both sides.
func TestNEWS2Chart1Bands(t *testing.T) {
	type band struct {
		value float64
		want  int
	}
	check := func(name string, bands []band, set func(*observation.NEWS2Input, float64), sub func(observation.NEWS2SubScores) int) {
		t.Helper()
		for _, b := range bands {
			in := calm()
			set(&in, b.value)
			s := score(t, in)
			if got := sub(s.Scores); got != b.want {
				t.Errorf("%s %v: scores %d, want %d", name, b.value, got, b.want)
			}
		}
	}
	check("respiration rate", []band{{0, 3}, {8, 3}, {9, 1}, {11, 1}, {12, 0}, {20, 0}, {21, 2}, {24, 2}, {25, 3}, {60, 3}},
		func(in *observation.NEWS2Input, v float64) { in.RespiratoryRate = v },
		func(s observation.NEWS2SubScores) int { return s.RespiratoryRate })
	check("SpO2 scale 1", []band{{70, 3}, {91, 3}, {92, 2}, {93, 2}, {94, 1}, {95, 1}, {96, 0}, {100, 0}},
		func(in *observation.NEWS2Input, v float64) { in.SpO2 = v },
		func(s observation.NEWS2SubScores) int { return s.SpO2 })
	check("SpO2 scale 1 on oxygen", []band{{91, 3}, {92, 2}, {95, 1}, {96, 0}, {100, 0}},
		func(in *observation.NEWS2Input, v float64) { in.SpO2, in.SupplementalOxygen = v, true },
		func(s observation.NEWS2SubScores) int { return s.SpO2 })
	check("SpO2 scale 2 on air", []band{{70, 3}, {83, 3}, {84, 2}, {85, 2}, {86, 1}, {87, 1}, {88, 0}, {92, 0}, {93, 0}, {97, 0}, {100, 0}},
		func(in *observation.NEWS2Input, v float64) { in.SpO2, in.Scale = v, observation.SpO2Scale2 },
		func(s observation.NEWS2SubScores) int { return s.SpO2 })
	check("SpO2 scale 2 on oxygen", []band{{83, 3}, {84, 2}, {85, 2}, {86, 1}, {87, 1}, {88, 0}, {92, 0}, {93, 1}, {94, 1}, {95, 2}, {96, 2}, {97, 3}, {100, 3}},
		func(in *observation.NEWS2Input, v float64) {
			in.SpO2, in.Scale, in.SupplementalOxygen = v, observation.SpO2Scale2, true
		},
		func(s observation.NEWS2SubScores) int { return s.SpO2 })
	check("air or oxygen", []band{{0, 0}, {1, 2}},
		func(in *observation.NEWS2Input, v float64) { in.SupplementalOxygen = v == 1 },
		func(s observation.NEWS2SubScores) int { return s.AirOrOxygen })
	check("systolic", []band{{0, 3}, {90, 3}, {91, 2}, {100, 2}, {101, 1}, {110, 1}, {111, 0}, {219, 0}, {220, 3}, {300, 3}},
		func(in *observation.NEWS2Input, v float64) { in.SystolicBP = v },
		func(s observation.NEWS2SubScores) int { return s.SystolicBP })
	check("pulse", []band{{0, 3}, {40, 3}, {41, 1}, {50, 1}, {51, 0}, {90, 0}, {91, 1}, {110, 1}, {111, 2}, {130, 2}, {131, 3}, {250, 3}},
		func(in *observation.NEWS2Input, v float64) { in.Pulse = v },
		func(s observation.NEWS2SubScores) int { return s.Pulse })
	check("temperature", []band{{30, 3}, {35.0, 3}, {35.1, 1}, {36.0, 1}, {36.1, 0}, {38.0, 0}, {38.1, 1}, {39.0, 1}, {39.1, 2}, {42, 2}},
		func(in *observation.NEWS2Input, v float64) { in.Temperature = v },
		func(s observation.NEWS2SubScores) int { return s.Temperature })
	for level, want := range map[observation.Consciousness]int{observation.ACVPUAlert: 0, observation.ACVPUConfusion: 3,
		observation.ACVPUVoice: 3, observation.ACVPUPain: 3, observation.ACVPUUnresponsive: 3} {
		in := calm()
		in.Consciousness = level
		if got := score(t, in).Scores.Consciousness; got != want {
			t.Errorf("consciousness %s: scores %d, want %d", level, got, want)
		}
	}
}

// Values between Chart 1's bands are rounded half up to the chart's
// resolution before banding.
func TestNEWS2RoundsToTheChartsResolution(t *testing.T) {
	for _, c := range []struct {
		name string
		set  func(*observation.NEWS2Input)
		sub  func(observation.NEWS2SubScores) int
		want int
	}{
		{"temperature 35.05 is 35.1", func(in *observation.NEWS2Input) { in.Temperature = 35.05 }, tempOf, 1},
		{"temperature 35.04 is 35.0", func(in *observation.NEWS2Input) { in.Temperature = 35.04 }, tempOf, 3},
		{"temperature 36.05 is 36.1", func(in *observation.NEWS2Input) { in.Temperature = 36.05 }, tempOf, 0},
		{"temperature 38.04 is 38.0", func(in *observation.NEWS2Input) { in.Temperature = 38.04 }, tempOf, 0},
		{"temperature 38.05 is 38.1", func(in *observation.NEWS2Input) { in.Temperature = 38.05 }, tempOf, 1},
		{"temperature 39.05 is 39.1", func(in *observation.NEWS2Input) { in.Temperature = 39.05 }, tempOf, 2},
		{"100.4 °F is 38.0 °C", func(in *observation.NEWS2Input) { in.Temperature = (100.4 - 32) * 5 / 9 }, tempOf, 0},
		{"100.5 °F is 38.06 °C, read as 38.1", func(in *observation.NEWS2Input) { in.Temperature = (100.5 - 32) * 5 / 9 }, tempOf, 1},
		{"respiration 20.5 is 21", func(in *observation.NEWS2Input) { in.RespiratoryRate = 20.5 }, rrOf, 2},
		{"respiration 20.49 is 20", func(in *observation.NEWS2Input) { in.RespiratoryRate = 20.49 }, rrOf, 0},
		{"systolic 90.5 is 91", func(in *observation.NEWS2Input) { in.SystolicBP = 90.5 }, sbpOf, 2},
		{"pulse 130.5 is 131", func(in *observation.NEWS2Input) { in.Pulse = 130.5 }, pulseOf, 3},
		{"SpO2 95.5 is 96", func(in *observation.NEWS2Input) { in.SpO2 = 95.5 }, spo2Of, 0},
	} {
		in := calm()
		c.set(&in)
		if got := c.sub(score(t, in).Scores); got != c.want {
			t.Errorf("%s: scores %d, want %d", c.name, got, c.want)
		}
	}
}

func tempOf(s observation.NEWS2SubScores) int  { return s.Temperature }
func rrOf(s observation.NEWS2SubScores) int    { return s.RespiratoryRate }
func sbpOf(s observation.NEWS2SubScores) int   { return s.SystolicBP }
func pulseOf(s observation.NEWS2SubScores) int { return s.Pulse }
func spo2Of(s observation.NEWS2SubScores) int  { return s.SpO2 }

// Chart 2's risk bands and Chart 4's responses, including the single-3 rule.
func TestNEWS2RiskAndResponse(t *testing.T) {
	for _, c := range []struct {
		name       string
		set        func(*observation.NEWS2Input)
		total      int
		red        bool
		risk       observation.NEWS2Risk
		every      time.Duration
		continuous bool
		threshold  string
	}{
		{"all normal", func(*observation.NEWS2Input) {}, 0, false, observation.RiskLow, 12 * time.Hour, false, "Ward-based response"},
		{"one point", func(in *observation.NEWS2Input) { in.Pulse = 91 }, 1, false, observation.RiskLow, 4 * time.Hour, false, "Ward-based response"},
		{"four points without a 3", func(in *observation.NEWS2Input) { in.RespiratoryRate, in.SystolicBP = 21, 95 }, 4, false,
			observation.RiskLow, 4 * time.Hour, false, "Ward-based response"},
		{"a single 3", func(in *observation.NEWS2Input) { in.RespiratoryRate = 8 }, 3, true,
			observation.RiskLowMedium, time.Hour, false, "Urgent ward-based response"},
		{"new confusion alone", func(in *observation.NEWS2Input) { in.Consciousness = observation.ACVPUConfusion }, 3, true,
			observation.RiskLowMedium, time.Hour, false, "Urgent ward-based response"},
		{"a single 3 with four points", func(in *observation.NEWS2Input) { in.RespiratoryRate, in.Pulse = 8, 91 }, 4, true,
			observation.RiskLowMedium, time.Hour, false, "Urgent ward-based response"},
		{"a single 3 with five points is medium", func(in *observation.NEWS2Input) { in.RespiratoryRate, in.SystolicBP = 25, 95 }, 5, true,
			observation.RiskMedium, time.Hour, false, "Key threshold for urgent response"},
		{"five points without a 3", func(in *observation.NEWS2Input) { in.RespiratoryRate, in.SystolicBP, in.Pulse = 21, 95, 91 }, 5, false,
			observation.RiskMedium, time.Hour, false, "Key threshold for urgent response"},
		{"six points", func(in *observation.NEWS2Input) { in.RespiratoryRate, in.SystolicBP, in.Pulse = 21, 95, 111 }, 6, false,
			observation.RiskMedium, time.Hour, false, "Key threshold for urgent response"},
		{"seven points", func(in *observation.NEWS2Input) {
			in.RespiratoryRate, in.SystolicBP, in.Pulse, in.Temperature = 21, 95, 111, 38.5
		}, 7, false,
			observation.RiskHigh, 0, true, "Urgent or emergency response"},
		{"oxygen adds two", func(in *observation.NEWS2Input) { in.SupplementalOxygen = true }, 2, false,
			observation.RiskLow, 4 * time.Hour, false, "Ward-based response"},
		{"the worst possible", func(in *observation.NEWS2Input) {
			*in = observation.NEWS2Input{RespiratoryRate: 30, SpO2: 85, SupplementalOxygen: true, SystolicBP: 80, Pulse: 140,
				Consciousness: observation.ACVPUUnresponsive, Temperature: 34}
		}, 20, true, observation.RiskHigh, 0, true, "Urgent or emergency response"},
	} {
		in := calm()
		c.set(&in)
		s := score(t, in)
		if s.Total != c.total || s.RedScore != c.red || s.Risk != c.risk {
			t.Errorf("%s: total %d red %v risk %s, want %d %v %s", c.name, s.Total, s.RedScore, s.Risk, c.total, c.red, c.risk)
		}
		r := s.Response
		if r.Every != c.every || r.Continuous != c.continuous || r.Threshold != c.threshold || r.Frequency == "" || r.Action == "" {
			t.Errorf("%s: response %+v", c.name, r)
		}
	}
}

func TestNEWS2ScaleDefaultsToScale1(t *testing.T) {
	in := calm()
	in.Scale, in.SpO2 = 0, 90
	if s := score(t, in); s.Scale != observation.SpO2Scale1 || s.Scores.SpO2 != 3 {
		t.Fatalf("%+v", s)
	}
}

func TestNEWS2RefusesWhatCannotBeScored(t *testing.T) {
	in := observation.NEWS2Input{RespiratoryRate: -1, SpO2: 101, Scale: 3, SystolicBP: math.NaN(), Pulse: 400,
		Consciousness: "X", Temperature: 60}
	_, err := observation.ScoreNEWS2(in)
	var v *domain.ValidationError
	if !errors.As(err, &v) {
		t.Fatalf("%v", err)
	}
	want := []string{"respiratoryRate", "spo2", "scale", "systolicBP", "pulse", "consciousness", "temperature"}
	if len(v.Fields) != len(want) {
		t.Fatalf("fields %+v", v.Fields)
	}
	for i, f := range want {
		if v.Fields[i].Field != f {
			t.Errorf("field %d is %s, want %s", i, v.Fields[i].Field, f)
		}
	}
	if calm().Validate() != nil {
		t.Fatal("a calm set refused")
	}
}

var sink observation.NEWS2

func BenchmarkNEWS2(b *testing.B) {
	inputs := []observation.NEWS2Input{calm(),
		{RespiratoryRate: 23, SpO2: 94, Scale: observation.SpO2Scale2, SupplementalOxygen: true, SystolicBP: 98, Pulse: 115,
			Consciousness: observation.ACVPUConfusion, Temperature: 38.6}}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s, err := observation.ScoreNEWS2(inputs[i&1])
		if err != nil {
			b.Fatal(err)
		}
		sink = s
	}
}
