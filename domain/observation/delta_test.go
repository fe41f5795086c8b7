package observation_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/observation"
)

var t0 = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

func result(code string, value float64, at time.Time) observation.Result {
	return observation.Result{ID: uuid.New(), Code: code, Value: value, Time: at}
}

func codes(flags []observation.DeltaFlag) []observation.DeltaCode {
	out := []observation.DeltaCode{}
	for _, f := range flags {
		out = append(out, f.Code)
	}
	return out
}

func has(flags []observation.DeltaFlag, code observation.DeltaCode) (observation.DeltaFlag, bool) {
	for _, f := range flags {
		if f.Code == code {
			return f, true
		}
	}
	return observation.DeltaFlag{}, false
}

func TestKDIGOAbsoluteRise(t *testing.T) {
	cr := observation.CodeCreatinine
	for _, c := range []struct {
		name     string
		previous float64
		current  float64
		ago      time.Duration
		want     bool
	}{
		{"0.3 mg/dL within 48 h", 1.0, 1.3, 24 * time.Hour, true},
		{"0.3 mg/dL exactly 48 h back", 1.0, 1.3, 48 * time.Hour, true},
		{"0.3 mg/dL 48 h and a second back", 1.0, 1.3, 48*time.Hour + time.Second, false},
		{"0.29 mg/dL", 1.0, 1.29, time.Hour, false},
		{"26.5 µmol/L", 88 / 88.42, 114.5 / 88.42, time.Hour, true},
		{"26.4 µmol/L", 88 / 88.42, 114.4 / 88.42, time.Hour, false},
	} {
		prev := result(cr, c.previous, t0.Add(-c.ago))
		flags := observation.Delta(result(cr, c.current, t0), []observation.Result{prev})
		f, got := has(flags, observation.DeltaAKIAbsolute)
		if got != c.want {
			t.Errorf("%s: flags %v", c.name, codes(flags))
			continue
		}
		if got && (f.Previous.ID != prev.ID || f.Stage != 1 || !strings.Contains(f.Source, "KDIGO") || !strings.Contains(f.Message, "48 h")) {
			t.Errorf("%s: %+v", c.name, f)
		}
	}
}

func TestKDIGORelativeRise(t *testing.T) {
	cr := observation.CodeCreatinine
	for _, c := range []struct {
		name     string
		baseline float64
		current  float64
		ago      time.Duration
		want     bool
		stage    int
	}{
		{"1.5 times within 7 days", 0.6, 0.9, 5 * 24 * time.Hour, true, 1},
		{"1.5 times exactly 7 days back", 0.6, 0.9, 7 * 24 * time.Hour, true, 1},
		{"1.5 times 7 days and a minute back", 0.6, 0.9, 7*24*time.Hour + time.Minute, false, 0},
		{"1.49 times", 0.6, 0.894, 3 * 24 * time.Hour, false, 0},
		{"2 times is stage 2", 0.6, 1.2, 3 * 24 * time.Hour, true, 2},
		{"3 times is stage 3", 0.6, 1.8, 3 * 24 * time.Hour, true, 3},
		{"a rise to 4.0 mg/dL is stage 3", 2.6, 4.0, 3 * 24 * time.Hour, true, 3},
	} {
		base := result(cr, c.baseline, t0.Add(-c.ago))
		flags := observation.Delta(result(cr, c.current, t0), []observation.Result{base})
		f, got := has(flags, observation.DeltaAKIRelative)
		if got != c.want {
			t.Errorf("%s: flags %v", c.name, codes(flags))
			continue
		}
		if got && (f.Previous.ID != base.ID || f.Stage != c.stage) {
			t.Errorf("%s: %+v, want stage %d", c.name, f, c.stage)
		}
	}
}

func TestKDIGOUsesTheLowestEarlierValue(t *testing.T) {
	cr := observation.CodeCreatinine
	lowest := result(cr, 0.8, t0.Add(-40*time.Hour))
	previous := []observation.Result{
		result(cr, 1.0, t0.Add(-10*time.Hour)),
		lowest,
		result(cr, 0.5, t0.Add(-8*24*time.Hour)),              // outside both windows
		result(cr, 0.4, t0.Add(time.Hour)),                    // later than the new result
		result(observation.CodeUrea, 0.1, t0.Add(-time.Hour)), // another code
	}
	flags := observation.Delta(result(cr, 1.2, t0), previous)
	abs, okAbs := has(flags, observation.DeltaAKIAbsolute)
	rel, okRel := has(flags, observation.DeltaAKIRelative)
	if !okAbs || !okRel || abs.Previous.ID != lowest.ID || rel.Previous.ID != lowest.ID || rel.Stage != 1 {
		t.Fatalf("flags %+v", flags)
	}
	if !near(abs.Change, 0.4) {
		t.Errorf("change %v", abs.Change)
	}
}

func TestHaemoglobinDrop(t *testing.T) {
	hb := observation.CodeHaemoglobin
	for _, c := range []struct {
		name     string
		previous float64
		current  float64
		ago      time.Duration
		want     bool
	}{
		{"2.0 g/dL within 24 h", 12.0, 10.0, 6 * time.Hour, true},
		{"2.0 g/dL exactly 24 h back", 12.0, 10.0, 24 * time.Hour, true},
		{"2.0 g/dL 24 h and a minute back", 12.0, 10.0, 24*time.Hour + time.Minute, false},
		{"1.9 g/dL", 12.0, 10.1, 6 * time.Hour, false},
		{"20 g/L entered in g/L", 120 * 0.1, 100 * 0.1, time.Hour, true},
		{"a rise", 10.0, 12.0, time.Hour, false},
	} {
		prev := result(hb, c.previous, t0.Add(-c.ago))
		flags := observation.Delta(result(hb, c.current, t0), []observation.Result{prev})
		f, got := has(flags, observation.DeltaHaemoglobinDrop)
		if got != c.want {
			t.Errorf("%s: flags %v", c.name, codes(flags))
			continue
		}
		if got && (f.Previous.ID != prev.ID || !near(f.Change, c.current-c.previous) || !strings.Contains(f.Source, "Schulman")) {
			t.Errorf("%s: %+v", c.name, f)
		}
	}
}

func TestImplausibleChange(t *testing.T) {
	for _, c := range []struct {
		name     string
		code     string
		previous float64
		current  float64
		ago      time.Duration
		want     bool
	}{
		{"sodium up 10 in 24 h", observation.CodeSodium, 120, 130, 12 * time.Hour, true},
		{"sodium down 10 in 24 h", observation.CodeSodium, 140, 130, 24 * time.Hour, true},
		{"sodium up 9", observation.CodeSodium, 120, 129, 12 * time.Hour, false},
		{"sodium up 10 over 25 h", observation.CodeSodium, 120, 130, 25 * time.Hour, false},
		{"potassium up 2.0", observation.CodePotassium, 4.0, 6.0, time.Hour, true},
		{"potassium up 1.9", observation.CodePotassium, 4.0, 5.9, time.Hour, false},
		{"platelets halve", observation.CodePlatelets, 200, 100, 20 * time.Hour, true},
		{"platelets fall 49%", observation.CodePlatelets, 200, 102, 20 * time.Hour, false},
		{"weight up 10% in a week", observation.CodeBodyWeight, 70, 77, 7 * 24 * time.Hour, true},
		{"height up 5 cm in a month", observation.CodeBodyHeight, 100, 105, 30 * 24 * time.Hour, true},
		{"glucose has no limit", observation.CodeGlucose, 80, 400, time.Hour, false},
	} {
		prev := result(c.code, c.previous, t0.Add(-c.ago))
		flags := observation.Delta(result(c.code, c.current, t0), []observation.Result{prev})
		f, got := has(flags, observation.DeltaImplausible)
		if got != c.want {
			t.Errorf("%s: flags %v", c.name, codes(flags))
			continue
		}
		if got && (f.Previous.ID != prev.ID || !near(f.Change, c.current-c.previous) || f.Source == "" || f.Message == "") {
			t.Errorf("%s: %+v", c.name, f)
		}
	}
}

func TestImplausibleChangeComparesWithTheMostRecentResult(t *testing.T) {
	na := observation.CodeSodium
	recent := result(na, 128, t0.Add(-2*time.Hour))
	flags := observation.Delta(result(na, 131, t0), []observation.Result{result(na, 120, t0.Add(-20*time.Hour)), recent})
	if len(flags) != 0 {
		t.Fatalf("a 3 mmol/L change from the latest result flagged: %+v", flags)
	}
	if flags := observation.Delta(result("0000-0", 1, t0), nil); flags != nil {
		t.Fatalf("an unknown code: %+v", flags)
	}
}
