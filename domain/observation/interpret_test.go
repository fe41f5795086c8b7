package observation_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zarish-sphere/zarish/domain/observation"
)

var (
	man      = observation.Subject{Sex: observation.SexMale, AgeMonths: 40 * 12}
	woman    = observation.Subject{Sex: observation.SexFemale, AgeMonths: 40 * 12}
	neither  = observation.Subject{Sex: "unknown", AgeMonths: 40 * 12}
	infant   = observation.Subject{Sex: observation.SexFemale, AgeMonths: 6}
	newborn  = observation.Subject{Sex: observation.SexMale, AgeMonths: 0}
	child    = observation.Subject{Sex: observation.SexMale, AgeMonths: 7 * 12}
	teenager = observation.Subject{Sex: observation.SexFemale, AgeMonths: 14 * 12}
)

func TestInterpretQuantity(t *testing.T) {
	for _, c := range []struct {
		name    string
		code    string
		value   float64
		subject observation.Subject
		want    observation.Flag
		source  string // a fragment of the reference or critical range's source
	}{
		{"adult pulse at the top of normal", observation.CodeHeartRate, 90, man, observation.FlagNormal, "NEWS"},
		{"adult pulse above normal", observation.CodeHeartRate, 91, man, observation.FlagHigh, "NEWS"},
		{"adult pulse below normal", observation.CodeHeartRate, 50, man, observation.FlagLow, "NEWS"},
		{"adult pulse at the critical low", observation.CodeHeartRate, 40, man, observation.FlagCriticalLow, "NEWS"},
		{"adult pulse at the critical high", observation.CodeHeartRate, 131, man, observation.FlagCriticalHigh, "NEWS"},
		{"infant pulse 150 is normal", observation.CodeHeartRate, 150, infant, observation.FlagNormal, "PALS"},
		{"infant pulse 195 is high", observation.CodeHeartRate, 195, infant, observation.FlagHigh, "3 months to 2 years"},
		{"newborn pulse 200 is normal", observation.CodeHeartRate, 200, newborn, observation.FlagNormal, "newborn to 3 months"},
		{"child respiratory rate 32 is high", observation.CodeRespiratoryRate, 32, child, observation.FlagHigh, "school age"},
		{"infant respiratory rate 32 is normal", observation.CodeRespiratoryRate, 32, infant, observation.FlagNormal, "infant"},
		{"SpO2 95% is low", observation.CodeSpO2, 95, man, observation.FlagLow, "Scale 1"},
		{"SpO2 91% is critical", observation.CodeSpO2, 91, man, observation.FlagCriticalLow, "Scale 1"},
		{"temperature 36.05 reads as 36.1", observation.CodeBodyTemperature, 36.05, man, observation.FlagNormal, "36.1-38.0"},
		{"temperature 36.04 reads as 36.0", observation.CodeBodyTemperature, 36.04, man, observation.FlagLow, "36.1-38.0"},
		{"temperature 38.05 reads as 38.1", observation.CodeBodyTemperature, 38.05, man, observation.FlagHigh, "36.1-38.0"},
		{"temperature 35.0 is critical", observation.CodeBodyTemperature, 35.0, man, observation.FlagCriticalLow, "≤35.0"},
		{"toddler fever", observation.CodeBodyTemperature, 38.0, observation.Subject{Sex: observation.SexMale, AgeMonths: 20}, observation.FlagHigh, "NG143"},
		{"hypertensive systolic", observation.CodeSystolicBP, 140, woman, observation.FlagHigh, "NG136"},
		{"PALS hypotension at 3 years", observation.CodeSystolicBP, 75, observation.Subject{Sex: observation.SexMale, AgeMonths: 3 * 12}, observation.FlagCriticalLow, "PALS"},
		{"3-year-old systolic 76 is not hypotensive", observation.CodeSystolicBP, 76, observation.Subject{Sex: observation.SexMale, AgeMonths: 3 * 12}, "", ""},
		{"sodium normal", observation.CodeSodium, 140, man, observation.FlagNormal, "Harmony"},
		{"sodium low", observation.CodeSodium, 132, man, observation.FlagLow, "Harmony"},
		{"sodium critical low, adult", observation.CodeSodium, 120, man, observation.FlagCriticalLow, "Harmony"},
		{"sodium 125 is critical in a child", observation.CodeSodium, 125, child, observation.FlagCriticalLow, ""},
		{"potassium high", observation.CodePotassium, 5.4, woman, observation.FlagHigh, "Harmony"},
		{"potassium 6.45 reads as 6.5, critical", observation.CodePotassium, 6.45, woman, observation.FlagCriticalHigh, "Harmony"},
		{"creatinine normal for a man", observation.CodeCreatinine, 1.25, man, observation.FlagNormal, "adult male"},
		{"creatinine high for a woman", observation.CodeCreatinine, 1.25, woman, observation.FlagHigh, "adult female"},
		{"creatinine 354 µmol/L is critical", observation.CodeCreatinine, 354 / 88.42, man, observation.FlagCriticalHigh, "adult male"},
		{"creatinine 353 µmol/L is not", observation.CodeCreatinine, 353 / 88.42, man, observation.FlagHigh, "adult male"},
		{"infant creatinine 0.5 is high", observation.CodeCreatinine, 0.5, infant, observation.FlagHigh, "infant"},
		{"haemoglobin anaemic man", observation.CodeHaemoglobin, 12.9, man, observation.FlagLow, "men 15 years"},
		{"haemoglobin 12.9 is normal for a woman", observation.CodeHaemoglobin, 12.9, woman, observation.FlagNormal, "women"},
		{"haemoglobin above the PV criterion", observation.CodeHaemoglobin, 16.6, man, observation.FlagHigh, "polycythaemia"},
		{"haemoglobin critical", observation.CodeHaemoglobin, 6.6, woman, observation.FlagCriticalLow, "women"},
		{"child haemoglobin 11.4 is low", observation.CodeHaemoglobin, 11.4, child, observation.FlagLow, "5-11 years"},
		{"teenage haemoglobin 12.0 is normal", observation.CodeHaemoglobin, 12.0, teenager, observation.FlagNormal, "12-14 years"},
		{"haemoglobin under 6 months has no range", observation.CodeHaemoglobin, 9, observation.Subject{Sex: observation.SexMale, AgeMonths: 2}, "", ""},
		{"glucose 100 is high", observation.CodeGlucose, 100, man, observation.FlagHigh, "Diabetes"},
		{"glucose 45 is critical", observation.CodeGlucose, 45, man, observation.FlagCriticalLow, "Diabetes"},
		{"lactate 4.0 is critical", observation.CodeLactate, 4.0, man, observation.FlagCriticalHigh, "Sepsis-3"},
		{"lactate 2.1 is high", observation.CodeLactate, 2.1, man, observation.FlagHigh, "Sepsis-3"},
		{"troponin 15 is above the 99th percentile", observation.CodeTroponinT, 15, man, observation.FlagHigh, "99th"},
		{"troponin 52 rules in", observation.CodeTroponinT, 52, man, observation.FlagCriticalHigh, "99th"},
		{"eGFR 59 is low", observation.CodeEGFR, 59, man, observation.FlagLow, "KDIGO"},
		{"eGFR 120 is normal", observation.CodeEGFR2021, 120, man, observation.FlagNormal, "KDIGO"},
		{"INR 5.0 is critical", observation.CodeINR, 5.0, man, observation.FlagCriticalHigh, "Merck"},
		{"ALT 30 is high for a woman", observation.CodeALT, 30, woman, observation.FlagHigh, "women"},
		{"ALT 30 is normal for a man", observation.CodeALT, 30, man, observation.FlagNormal, "men"},
		{"ALT 30 for neither sex: normal for either", observation.CodeALT, 30, neither, observation.FlagNormal, "combined"},
		{"ALT 34 for neither sex: high for both", observation.CodeALT, 34, neither, observation.FlagHigh, "combined"},
		{"ALT 400 for neither sex: critical for a woman", observation.CodeALT, 400, neither, observation.FlagCriticalHigh, "combined"},
		{"procalcitonin 0.05 is high", observation.CodeProcalcitonin, 0.05, man, observation.FlagHigh, "0.05"},
		{"a pain score has no range", observation.CodePainScore, 7, man, "", ""},
		{"weight has no range", observation.CodeBodyWeight, 70, man, "", ""},
	} {
		in, err := observation.InterpretQuantity(c.code, c.value, c.subject)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if in.Flag != c.want {
			t.Errorf("%s: flag %q, want %q (range %+v, critical %+v)", c.name, in.Flag, c.want, in.Range, in.Critical)
		}
		cites := func(r *observation.Range) bool { return r != nil && strings.Contains(r.Source, c.source) }
		if c.source != "" && !cites(in.Range) && !cites(in.Critical) {
			t.Errorf("%s: range %+v, critical %+v, want one citing %q", c.name, in.Range, in.Critical, c.source)
		}
	}
}

func TestInterpretationCarriesTheRangeUsed(t *testing.T) {
	in, err := observation.InterpretQuantity(observation.CodeCreatinine, 1.4, man)
	if err != nil || in.Flag != observation.FlagHigh {
		t.Fatalf("%+v, %v", in, err)
	}
	if *in.Range.Low != 0.6 || *in.Range.High != 1.3 || in.Range.Unit != "mg/dL" || in.Range.Sex != observation.SexMale {
		t.Errorf("range %+v", in.Range)
	}
	if *in.Critical.High != 4.0 || !strings.Contains(in.Critical.Source, "Royal College of Pathologists") {
		t.Errorf("critical %+v", in.Critical)
	}
	*in.Range.High = 99 // the stored copy is the caller's
	again, _ := observation.InterpretQuantity(observation.CodeCreatinine, 1.4, man)
	if *again.Range.High != 1.3 {
		t.Fatal("changing an interpretation's range changed the catalogue")
	}
}

func TestInterpretReported(t *testing.T) {
	lab := observation.Range{Low: ptr(62), High: ptr(106), Unit: "umol/L"}
	for _, c := range []struct {
		umol float64
		want observation.Flag
	}{{62, observation.FlagNormal}, {106, observation.FlagNormal}, {107, observation.FlagHigh}, {55, observation.FlagLow}, {400, observation.FlagCriticalHigh}} {
		in, err := observation.InterpretReported(observation.CodeCreatinine, c.umol/88.42, man, lab)
		if err != nil || in.Flag != c.want {
			t.Errorf("%v µmol/L against the laboratory's 62-106: %+v, %v; want %s", c.umol, in, err, c.want)
		}
		if err == nil && (in.Range.Unit != "mg/dL" || !strings.Contains(in.Range.Source, "performing laboratory")) {
			t.Errorf("stored range %+v", in.Range)
		}
	}
	var ve *observation.ValueError
	if _, err := observation.InterpretReported(observation.CodeCreatinine, 1, man, observation.Range{High: ptr(1), Unit: "kg"}); !errors.As(err, &ve) || ve.Field != "referenceRange.unit" {
		t.Fatalf("a range in kg: %v", err)
	}
}

func TestInterpretAnswer(t *testing.T) {
	for answer, want := range map[string]observation.Flag{"A": observation.FlagNormal, "C": observation.FlagAbnormal,
		"V": observation.FlagAbnormal, "P": observation.FlagAbnormal, "U": observation.FlagAbnormal} {
		in, err := observation.InterpretAnswer(observation.CodeConsciousness, answer)
		if err != nil || in.Flag != want {
			t.Errorf("%s: %+v, %v; want %s", answer, in, err, want)
		}
	}
	if _, err := observation.InterpretAnswer(observation.CodeConsciousness, "a"); err == nil {
		t.Error("a lower-case answer was accepted")
	}
}

func TestInterpretRefusesImpossibleValues(t *testing.T) {
	var ve *observation.ValueError
	if _, err := observation.InterpretQuantity(observation.CodeSpO2, 101, man); !errors.As(err, &ve) || ve.Reason != observation.ReasonImpossible {
		t.Fatalf("SpO2 101: %v", err)
	}
	if _, err := observation.InterpretQuantity(observation.CodeConsciousness, 1, man); !errors.As(err, &ve) || ve.Reason != observation.ReasonWrongKind {
		t.Fatalf("a number for ACVPU: %v", err)
	}
}

func TestSubjectAt(t *testing.T) {
	at := time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		birth  string
		months int
	}{{"2026-03-15", 0}, {"2026-02-16", 0}, {"2026-02-15", 1}, {"2025-03-16", 11}, {"2025-03-15", 12}, {"1986-01-31", 40*12 + 1}} {
		s, err := observation.SubjectAt("female", c.birth, at)
		if err != nil || s.AgeMonths != c.months || s.Sex != observation.SexFemale {
			t.Errorf("born %s: %+v, %v; want %d months", c.birth, s, err, c.months)
		}
	}
	for _, bad := range []string{"2026-03-16", "15/03/2026", ""} {
		if _, err := observation.SubjectAt("male", bad, at); err == nil {
			t.Errorf("born %q accepted", bad)
		}
	}
	if _, err := observation.SubjectAt("male", "2000-01-01", time.Time{}); err == nil {
		t.Error("no effective time accepted")
	}
}

func ptr(v float64) *float64 { return &v }

func TestInterpretationIsStoredAsJSON(t *testing.T) {
	in, err := observation.InterpretQuantity(observation.CodePotassium, 6.8, woman)
	if err != nil || !in.Flag.Critical() {
		t.Fatalf("%+v, %v", in, err)
	}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var back observation.Interpretation
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.Flag != observation.FlagCriticalHigh || *back.Range.Low != 3.5 || *back.Critical.High != 6.5 ||
		back.Range.Source != in.Range.Source || back.Range.Unit != "mmol/L" {
		t.Fatalf("%s read back as %+v", raw, back)
	}
	for _, f := range []observation.Flag{observation.FlagNormal, observation.FlagLow, observation.FlagHigh, observation.FlagAbnormal} {
		if f.Critical() {
			t.Errorf("%s is critical", f)
		}
	}
}
