package observation_test

import (
	"errors"
	"math"
	"testing"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/observation"
)

// near reports whether a and b agree to a relative 1e-9.
func near(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func TestConversionsToCanonical(t *testing.T) {
	for _, c := range []struct {
		name, code string
		in         observation.Quantity
		want       float64
	}{
		{"98.6 °F is 37 °C", observation.CodeBodyTemperature, observation.Quantity{Value: 98.6, Unit: "[degF]"}, 37},
		{"°F alias", observation.CodeBodyTemperature, observation.Quantity{Value: 104, Unit: "°F"}, 40},
		{"°C alias", observation.CodeBodyTemperature, observation.Quantity{Value: 37.5, Unit: "°C"}, 37.5},
		{"154.32 lb", observation.CodeBodyWeight, observation.Quantity{Value: 154.3236, Unit: "[lb_av]"}, 70.000001},
		{"grams", observation.CodeBodyWeight, observation.Quantity{Value: 3250, Unit: "g"}, 3.25},
		{"inches", observation.CodeBodyHeight, observation.Quantity{Value: 70, Unit: "[in_i]"}, 177.8},
		{"metres", observation.CodeBodyHeight, observation.Quantity{Value: 1.75, Unit: "m"}, 175},
		{"creatinine µmol/L", observation.CodeCreatinine, observation.Quantity{Value: 88.42, Unit: "µmol/L"}, 1},
		{"creatinine umol/L", observation.CodeCreatinine, observation.Quantity{Value: 176.84, Unit: "umol/L"}, 2},
		{"glucose mmol/L", observation.CodeGlucose, observation.Quantity{Value: 5.5, Unit: "mmol/L"}, 99.088},
		{"glucose g/L", observation.CodeGlucose, observation.Quantity{Value: 1.1, Unit: "g/L"}, 110},
		{"haemoglobin g/L", observation.CodeHaemoglobin, observation.Quantity{Value: 135, Unit: "g/L"}, 13.5},
		{"haemoglobin mmol/L", observation.CodeHaemoglobin, observation.Quantity{Value: 8.5, Unit: "mmol/L"}, 13.6969},
		{"BUN from mmol/L", observation.CodeUreaNitrogen, observation.Quantity{Value: 7, Unit: "mmol/L"}, 19.6098},
		{"urea from mg/dL", observation.CodeUrea, observation.Quantity{Value: 60.06, Unit: "mg/dL"}, 10},
		{"bilirubin µmol/L", observation.CodeBilirubin, observation.Quantity{Value: 34.2, Unit: "umol/L"}, 2},
		{"sodium mEq/L", observation.CodeSodium, observation.Quantity{Value: 140, Unit: "mEq/L"}, 140},
		{"potassium lower-case litre", observation.CodePotassium, observation.Quantity{Value: 4.1, Unit: "mmol/l"}, 4.1},
		{"heart rate bpm", observation.CodeHeartRate, observation.Quantity{Value: 72, Unit: "bpm"}, 72},
		{"systolic mmHg", observation.CodeSystolicBP, observation.Quantity{Value: 120, Unit: "mmHg"}, 120},
		{"WBC 10*9/L", observation.CodeLeukocytes, observation.Quantity{Value: 7.2, Unit: "10*9/L"}, 7.2},
		{"platelets /uL", observation.CodePlatelets, observation.Quantity{Value: 250000, Unit: "/uL"}, 250},
		{"troponin ng/mL", observation.CodeTroponinT, observation.Quantity{Value: 0.014, Unit: "ng/mL"}, 14},
		{"troponin pg/mL", observation.CodeTroponinT, observation.Quantity{Value: 14, Unit: "pg/mL"}, 14},
		{"ALT µkat/L", observation.CodeALT, observation.Quantity{Value: 0.5, Unit: "µkat/L"}, 30},
		{"ALT IU/L", observation.CodeALT, observation.Quantity{Value: 30, Unit: "IU/L"}, 30},
		{"CRP mg/dL", observation.CodeCRP, observation.Quantity{Value: 1.2, Unit: "mg/dL"}, 12},
		{"procalcitonin ug/L", observation.CodeProcalcitonin, observation.Quantity{Value: 0.5, Unit: "ug/L"}, 0.5},
		{"procalcitonin pg/mL", observation.CodeProcalcitonin, observation.Quantity{Value: 500, Unit: "pg/mL"}, 0.5},
		{"lactate mg/dL", observation.CodeLactate, observation.Quantity{Value: 18.016, Unit: "mg/dL"}, 2},
		{"INR without a unit", observation.CodeINR, observation.Quantity{Value: 1.1, Unit: ""}, 1.1},
		{"eGFR spelt loosely", observation.CodeEGFR, observation.Quantity{Value: 75, Unit: "mL/min/1.73m2"}, 75},
		{"oxygen flow mL/min", observation.CodeOxygenFlow, observation.Quantity{Value: 2000, Unit: "mL/min"}, 2},
	} {
		got, err := observation.Canonical(c.code, c.in)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if math.Abs(got.Value-c.want) > 1e-4*math.Max(1, c.want) {
			t.Errorf("%s: %v %s, want %v", c.name, got.Value, got.Unit, c.want)
		}
		def, _ := observation.Lookup(c.code)
		if got.Unit != def.Unit {
			t.Errorf("%s: unit %q, want canonical %q", c.name, got.Unit, def.Unit)
		}
	}
}

func TestConversionsFromCanonical(t *testing.T) {
	for _, c := range []struct {
		code, unit  string
		value, want float64
	}{
		{observation.CodeBodyTemperature, "[degF]", 37, 98.6},
		{observation.CodeBodyTemperature, "[degF]", 100, 212},
		{observation.CodeBodyWeight, "[lb_av]", 1, 2.2046226218},
		{observation.CodeBodyHeight, "[in_i]", 2.54, 1},
		{observation.CodeCreatinine, "umol/L", 1, 88.42},
		{observation.CodeGlucose, "mmol/L", 180.16, 10},
		{observation.CodeHaemoglobin, "g/L", 12, 120},
		{observation.CodeUreaNitrogen, "mmol/L", 28.014, 10},
		{observation.CodeBilirubin, "umol/L", 1, 17.1},
		{observation.CodeTroponinT, "ng/mL", 52, 0.052},
		{observation.CodeCRP, "mg/dL", 300, 30},
		{observation.CodePlatelets, "10*9/L", 150, 150},
	} {
		got, err := observation.Convert(c.code, c.value, c.unit)
		if err != nil || math.Abs(got.Value-c.want) > 1e-6*math.Max(1, c.want) || got.Unit != c.unit {
			t.Errorf("%s: %v canonical in %s = %+v, %v; want %v", c.code, c.value, c.unit, got, err, c.want)
		}
	}
}

// Every accepted unit of every code converts both ways without loss, at the
// edges of what is possible and in between.
func TestEveryUnitRoundTrips(t *testing.T) {
	for _, d := range observation.Catalogue() {
		if d.Kind != observation.KindQuantity {
			continue
		}
		for _, u := range d.Units {
			for _, f := range []float64{0, 0.001, 0.37, 0.5, 0.999, 1} {
				v := d.Possible.Min + f*(d.Possible.Max-d.Possible.Min)
				out, err := observation.Convert(d.Code, v, u.Code)
				if err != nil {
					t.Fatalf("%s to %s: %v", d.Code, u.Code, err)
				}
				back, err := observation.Canonical(d.Code, out)
				if err != nil {
					t.Fatalf("%s %v %s back to %s: %v", d.Code, out.Value, out.Unit, d.Unit, err)
				}
				if !near(back.Value, v) {
					t.Errorf("%s: %v %s → %v %s → %v %s", d.Code, v, d.Unit, out.Value, u.Code, back.Value, back.Unit)
				}
			}
		}
	}
}

func TestRefusals(t *testing.T) {
	for _, c := range []struct {
		name, code string
		in         observation.Quantity
		reason     observation.Reason
		field      string
	}{
		{"unknown code", "0000-0", observation.Quantity{Value: 1, Unit: "%"}, observation.ReasonUnknownCode, observation.FieldCode},
		{"a quantity for ACVPU", observation.CodeConsciousness, observation.Quantity{Value: 1, Unit: "1"}, observation.ReasonWrongKind, observation.FieldValue},
		{"a quantity for a panel", observation.CodeBloodPressurePanel, observation.Quantity{Value: 120, Unit: "mm[Hg]"}, observation.ReasonWrongKind, observation.FieldValue},
		{"unknown unit", observation.CodeBodyTemperature, observation.Quantity{Value: 37, Unit: "furlong"}, observation.ReasonUnknownUnit, observation.FieldUnit},
		{"missing unit", observation.CodeHeartRate, observation.Quantity{Value: 80}, observation.ReasonUnknownUnit, observation.FieldUnit},
		{"kg for a temperature", observation.CodeBodyTemperature, observation.Quantity{Value: 37, Unit: "kg"}, observation.ReasonWrongDimension, observation.FieldUnit},
		{"mmol/L for a heart rate", observation.CodeHeartRate, observation.Quantity{Value: 80, Unit: "mmol/L"}, observation.ReasonWrongDimension, observation.FieldUnit},
		{"minutes for a heart rate", observation.CodeHeartRate, observation.Quantity{Value: 80, Unit: "min"}, observation.ReasonWrongDimension, observation.FieldUnit},
		{"%  for sodium", observation.CodeSodium, observation.Quantity{Value: 140, Unit: "%"}, observation.ReasonWrongDimension, observation.FieldUnit},
		{"kelvin for a temperature", observation.CodeBodyTemperature, observation.Quantity{Value: 310, Unit: "K"}, observation.ReasonUnsupportedUnit, observation.FieldUnit},
		{"mmol/L for creatinine", observation.CodeCreatinine, observation.Quantity{Value: 0.09, Unit: "mmol/L"}, observation.ReasonUnsupportedUnit, observation.FieldUnit},
		{"SpO2 over 100%", observation.CodeSpO2, observation.Quantity{Value: 101, Unit: "%"}, observation.ReasonImpossible, observation.FieldValue},
		{"negative heart rate", observation.CodeHeartRate, observation.Quantity{Value: -1, Unit: "/min"}, observation.ReasonImpossible, observation.FieldValue},
		{"60 °C", observation.CodeBodyTemperature, observation.Quantity{Value: 60, Unit: "Cel"}, observation.ReasonImpossible, observation.FieldValue},
		{"140 °F is 60 °C", observation.CodeBodyTemperature, observation.Quantity{Value: 140, Unit: "[degF]"}, observation.ReasonImpossible, observation.FieldValue},
		{"a pain score of 11", observation.CodePainScore, observation.Quantity{Value: 11, Unit: "{score}"}, observation.ReasonImpossible, observation.FieldValue},
		{"NaN", observation.CodeSodium, observation.Quantity{Value: math.NaN(), Unit: "mmol/L"}, observation.ReasonNotANumber, observation.FieldValue},
		{"infinity", observation.CodeSodium, observation.Quantity{Value: math.Inf(1), Unit: "mmol/L"}, observation.ReasonNotANumber, observation.FieldValue},
	} {
		_, err := observation.Canonical(c.code, c.in)
		var ve *observation.ValueError
		if !errors.As(err, &ve) {
			t.Errorf("%s: %v, want a ValueError", c.name, err)
			continue
		}
		if ve.Reason != c.reason || ve.Field != c.field || ve.Message == "" {
			t.Errorf("%s: %+v, want reason %s on %s", c.name, ve, c.reason, c.field)
		}
		var v domain.ValidationError
		v.Add(ve.FieldError().Field, ve.FieldError().Message)
		if v.OrNil() == nil || v.Fields[0].Field != c.field {
			t.Errorf("%s: field error %+v", c.name, ve.FieldError())
		}
	}
}

func TestRefusalsNameTheAcceptedUnits(t *testing.T) {
	_, err := observation.Canonical(observation.CodeBodyTemperature, observation.Quantity{Value: 37, Unit: "kg"})
	if err == nil || err.Error() != "unit: kg measures mass; Body temperature is a temperature: use Cel, [degF]" {
		t.Fatalf("refusal reads %q", err)
	}
	_, err = observation.Canonical(observation.CodeBodyTemperature, observation.Quantity{Value: 140, Unit: "[degF]"})
	if err == nil || err.Error() != "value: 140 [degF] (60 Cel) is outside what is possible for Body temperature (10–47 Cel)" {
		t.Fatalf("refusal reads %q", err)
	}
}

func TestParseQuantity(t *testing.T) {
	for _, c := range []struct {
		code, text string
		want       float64
	}{
		{observation.CodeBodyTemperature, "98.6 [degF]", 37},
		{observation.CodeBodyTemperature, "98.6°F", 37},
		{observation.CodeBodyTemperature, " 37.2 Cel ", 37.2},
		{observation.CodeLeukocytes, "7.2 10*9/L", 7.2},
		{observation.CodeCreatinine, "88.42umol/L", 1},
		{observation.CodeINR, "2.5", 2.5},
	} {
		q, err := observation.ParseQuantity(c.code, c.text)
		if err != nil || math.Abs(q.Value-c.want) > 1e-9 {
			t.Errorf("%q: %+v, %v; want %v", c.text, q, err, c.want)
		}
	}
	for _, bad := range []string{"", "Cel", "thirty-seven Cel", "37,5 Cel"} {
		var ve *observation.ValueError
		if _, err := observation.ParseQuantity(observation.CodeBodyTemperature, bad); !errors.As(err, &ve) || ve.Reason != observation.ReasonNotANumber && ve.Reason != observation.ReasonUnknownUnit {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestAnswersAndPanels(t *testing.T) {
	if a, err := observation.CheckAnswer(observation.CodeConsciousness, "C"); err != nil || a.Display != "New confusion" || a.Normal {
		t.Fatalf("C: %+v, %v", a, err)
	}
	var ve *observation.ValueError
	if _, err := observation.CheckAnswer(observation.CodeConsciousness, "X"); !errors.As(err, &ve) || ve.Reason != observation.ReasonUnknownAnswer {
		t.Fatalf("X: %v", err)
	}
	if _, err := observation.CheckAnswer(observation.CodeHeartRate, "A"); !errors.As(err, &ve) || ve.Reason != observation.ReasonWrongKind {
		t.Fatalf("an answer for heart rate: %v", err)
	}
	ok := []observation.Component{{Code: observation.CodeSystolicBP, Value: 120}, {Code: observation.CodeDiastolicBP, Value: 80}}
	if err := observation.CheckPanel(observation.CodeBloodPressurePanel, ok); err != nil {
		t.Fatalf("120/80: %v", err)
	}
	for name, parts := range map[string][]observation.Component{
		"systolic below diastolic": {{Code: observation.CodeSystolicBP, Value: 70}, {Code: observation.CodeDiastolicBP, Value: 80}},
		"a foreign component":      {{Code: observation.CodeHeartRate, Value: 70}},
		"a component twice":        {{Code: observation.CodeSystolicBP, Value: 120}, {Code: observation.CodeSystolicBP, Value: 121}},
		"an impossible pressure":   {{Code: observation.CodeSystolicBP, Value: 400}},
		"no component":             nil,
	} {
		if err := observation.CheckPanel(observation.CodeBloodPressurePanel, parts); !errors.As(err, &ve) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestConvertRefusals(t *testing.T) {
	var ve *observation.ValueError
	for name, err := range map[string]error{
		"unknown code": func() error { _, err := observation.Convert("0000-0", 1, "%"); return err }(),
		"wrong unit":   func() error { _, err := observation.Convert(observation.CodeSodium, 140, "kg"); return err }(),
		"NaN":          func() error { _, err := observation.Convert(observation.CodeSodium, math.NaN(), "mmol/L"); return err }(),
	} {
		if !errors.As(err, &ve) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
