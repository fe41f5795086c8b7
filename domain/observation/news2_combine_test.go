package observation_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/observation"
)

func reading(code string, value float64, at time.Time) observation.Reading {
	return observation.Reading{Code: code, Value: value, Time: at, SourceID: uuid.New()}
}

// ward is a set of bedside readings taken minutes apart ending at t0.
func ward() []observation.Reading {
	return []observation.Reading{
		reading(observation.CodeRespiratoryRate, 22, t0.Add(-12*time.Minute)),
		reading(observation.CodeSpO2, 95, t0.Add(-11*time.Minute)),
		reading(observation.CodeInhaledOxygen, 21, t0.Add(-11*time.Minute)),
		reading(observation.CodeSystolicBP, 105, t0.Add(-8*time.Minute)),
		reading(observation.CodeHeartRate, 96, t0.Add(-8*time.Minute)),
		{Code: observation.CodeConsciousness, Answer: "A", Time: t0.Add(-3 * time.Minute), SourceID: uuid.New()},
		reading(observation.CodeBodyTemperature, 38.3, t0),
	}
}

func TestCombineScoresReadingsMinutesApart(t *testing.T) {
	readings := ward()
	c, err := observation.CombineNEWS2(readings, observation.SpO2Scale1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != observation.CombinedComplete || c.Score == nil || len(c.Missing) != 0 || len(c.Stale) != 0 {
		t.Fatalf("%+v", c)
	}
	// RR 22 → 2, SpO2 95 → 1, air → 0, SBP 105 → 1, pulse 96 → 1, A → 0, 38.3 → 1.
	want := observation.NEWS2SubScores{RespiratoryRate: 2, SpO2: 1, SystolicBP: 1, Pulse: 1, Temperature: 1}
	if c.Score.Scores != want || c.Score.Total != 6 || c.Score.Risk != observation.RiskMedium {
		t.Errorf("score %+v", c.Score)
	}
	if !c.WindowEnd.Equal(t0) || !c.WindowStart.Equal(t0.Add(-time.Hour)) {
		t.Errorf("window %v to %v", c.WindowStart, c.WindowEnd)
	}
	if len(c.Parameters) != 7 {
		t.Fatalf("parameters %+v", c.Parameters)
	}
	for i, p := range observation.NEWS2Parameters() {
		got := c.Parameters[i]
		if got.Parameter != p || got.Stale || got.Reading.SourceID != readings[i].SourceID || !got.Reading.Time.Equal(readings[i].Time) {
			t.Errorf("parameter %d: %+v, want %s from %+v", i, got, p, readings[i])
		}
	}
}

func TestCombineReportsAStaleParameter(t *testing.T) {
	readings := ward()
	readings[6].Time = t0.Add(-61 * time.Minute) // the temperature
	readings[5].Time = t0                        // consciousness is now the newest
	c, err := observation.CombineNEWS2(readings, observation.SpO2Scale1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != observation.CombinedIncomplete || c.Score != nil {
		t.Fatalf("a stale temperature was scored: %+v", c)
	}
	if !slices.Equal(c.Stale, []observation.NEWS2Parameter{observation.ParamTemperature}) || len(c.Missing) != 0 {
		t.Errorf("stale %v missing %v", c.Stale, c.Missing)
	}
	if p := c.Parameters[6]; p.Parameter != observation.ParamTemperature || !p.Stale {
		t.Errorf("temperature %+v", p)
	}

	readings[6].Time = t0.Add(-60 * time.Minute) // exactly at the window's start
	if c, _ := observation.CombineNEWS2(readings, observation.SpO2Scale1, 0); c.Status != observation.CombinedComplete {
		t.Errorf("a reading exactly an hour old is stale: %+v", c)
	}
}

func TestCombineReportsMissingParameters(t *testing.T) {
	readings := slices.DeleteFunc(ward(), func(r observation.Reading) bool {
		return r.Code == observation.CodeConsciousness || r.Code == observation.CodeInhaledOxygen
	})
	c, err := observation.CombineNEWS2(readings, observation.SpO2Scale1, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []observation.NEWS2Parameter{observation.ParamAirOrOxygen, observation.ParamConsciousness}
	if c.Status != observation.CombinedIncomplete || c.Score != nil || !slices.Equal(c.Missing, want) || len(c.Parameters) != 5 {
		t.Fatalf("%+v", c)
	}
	none, err := observation.CombineNEWS2(nil, observation.SpO2Scale1, 0)
	if err != nil || none.Status != observation.CombinedIncomplete || len(none.Missing) != 7 || !none.WindowEnd.IsZero() {
		t.Fatalf("no readings: %+v, %v", none, err)
	}
}

func TestCombineUsesTheNewestReadingOfEachParameter(t *testing.T) {
	readings := append(ward(),
		reading(observation.CodeHeartRate, 140, t0.Add(-40*time.Minute)), // older than the 96
		reading(observation.CodeSodium, 120, t0.Add(time.Hour)),          // not a NEWS2 code: ignored
	)
	c, err := observation.CombineNEWS2(readings, observation.SpO2Scale1, 0)
	if err != nil || c.Score == nil || c.Score.Scores.Pulse != 1 || !c.WindowEnd.Equal(t0) {
		t.Fatalf("%+v, %v", c, err)
	}

	tie := ward()
	low, high := uuid.MustParse("0193a000-0000-7000-8000-000000000001"), uuid.MustParse("0193a000-0000-7000-8000-000000000002")
	tie = append(tie, observation.Reading{Code: observation.CodeHeartRate, Value: 135, Time: tie[4].Time, SourceID: high})
	tie[4].SourceID = low
	c, _ = observation.CombineNEWS2(tie, observation.SpO2Scale1, 0)
	if c.Score == nil || c.Score.Scores.Pulse != 3 || c.Parameters[4].Reading.SourceID != high {
		t.Fatalf("a tie went to the smaller source id: %+v", c.Parameters[4])
	}
}

func TestCombineReadsAirOrOxygen(t *testing.T) {
	for _, c := range []struct {
		name  string
		r     observation.Reading
		score int
	}{
		{"FiO2 21% is air", reading(observation.CodeInhaledOxygen, 21, t0), 0},
		{"FiO2 28% is oxygen", reading(observation.CodeInhaledOxygen, 28, t0), 2},
		{"no flow is air", reading(observation.CodeOxygenFlow, 0, t0), 0},
		{"2 L/min is oxygen", reading(observation.CodeOxygenFlow, 2, t0), 2},
	} {
		readings := ward()
		readings[2] = c.r
		got, err := observation.CombineNEWS2(readings, observation.SpO2Scale2, 0)
		if err != nil || got.Score == nil || got.Score.Scores.AirOrOxygen != c.score || got.Score.Scale != observation.SpO2Scale2 {
			t.Errorf("%s: %+v, %v", c.name, got.Score, err)
		}
	}
	readings := ward()
	readings[1].Code = observation.CodeSaO2
	if c, err := observation.CombineNEWS2(readings, observation.SpO2Scale1, 0); err != nil || c.Status != observation.CombinedComplete {
		t.Errorf("SpO2 coded 2708-6: %+v, %v", c, err)
	}
}

func TestCombineWindowIsConfigurable(t *testing.T) {
	c, err := observation.CombineNEWS2(ward(), observation.SpO2Scale1, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := []observation.NEWS2Parameter{observation.ParamRespirationRate, observation.ParamSpO2, observation.ParamAirOrOxygen}
	if c.Status != observation.CombinedIncomplete || !slices.Equal(c.Stale, want) || !c.WindowStart.Equal(t0.Add(-10*time.Minute)) {
		t.Fatalf("%+v", c)
	}
}

func TestCombineRefusesBadReadings(t *testing.T) {
	readings := ward()
	readings[1].Value = 101                                              // SpO2
	readings[5].Answer = "Z"                                             // consciousness
	readings[6].Time = time.Time{}                                       // temperature
	readings = append(readings, reading(observation.CodeSodium, -5, t0)) // not a NEWS2 code: not checked
	_, err := observation.CombineNEWS2(readings, observation.SpO2Scale1, 0)
	var v *domain.ValidationError
	if !errors.As(err, &v) || len(v.Fields) != 3 || v.Fields[0].Field != "readings[1].value" ||
		v.Fields[1].Field != "readings[5].answer" || v.Fields[2].Field != "readings[6].time" {
		t.Fatalf("%+v", err)
	}
}
