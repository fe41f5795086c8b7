package observation_test

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/observation"
)

var (
	recordNow = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	patientA  = uuid.MustParse("0190f3c4-0000-7000-8000-00000000000a")
	nurse     = uuid.MustParse("0190f3c4-0000-7000-8000-0000000000b1")
	byNurse   = observation.Performer{PractitionerID: &nurse, ClientID: "ward-app"}
)

func num(v float64) *float64 { return &v }

func quantity(code string, value float64, unit string) observation.Input {
	return observation.Input{PatientID: patientA, Code: code, EffectiveAt: recordNow.Add(-10 * time.Minute),
		Value: &observation.ValueInput{Value: num(value), Unit: unit}}
}

func bloodPressure(sys, dia float64) observation.Input {
	return observation.Input{PatientID: patientA, Code: observation.CodeBloodPressurePanel, EffectiveAt: recordNow.Add(-10 * time.Minute),
		Components: []observation.ComponentInput{
			{Code: observation.CodeSystolicBP, Value: num(sys), Unit: "mm[Hg]"},
			{Code: observation.CodeDiastolicBP, Value: num(dia), Unit: "mmHg"},
		}}
}

func newObservation(t *testing.T, in observation.Input) observation.Observation {
	t.Helper()
	o, err := observation.New(uuid.Must(uuid.NewV7()), in, woman, byNurse, recordNow)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// fields lists the fields a validation error names.
func fields(t *testing.T, err error) []string {
	t.Helper()
	var verr *domain.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("want a *domain.ValidationError, got %v", err)
	}
	var out []string
	for _, f := range verr.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestNewKeepsTheValueAsSentAndInTheCanonicalUnit(t *testing.T) {
	in := quantity(observation.CodeBodyTemperature, 98.6, "°F")
	in.EffectiveAt = time.Date(2026, 11, 25, 9, 50, 0, 123456789, time.FixedZone("Asia/Dhaka", 6*3600))
	o := newObservation(t, in)
	q := o.Value.Quantity
	if q.Value != 98.6 || q.Unit != "°F" || q.Canonical.Unit != "Cel" || !near(q.Canonical.Value, 37) {
		t.Fatalf("value %+v", q)
	}
	if o.Version != 1 || o.Status != observation.StatusFinal || o.Category != observation.CategoryVitalSigns || o.Display != "Body temperature" {
		t.Fatalf("observation %+v", o)
	}
	if o.Interpretation.Flag != observation.FlagNormal || o.Interpretation.Range == nil || !strings.Contains(o.Interpretation.Range.Source, "NEWS") {
		t.Fatalf("interpretation %+v", o.Interpretation)
	}
	// Stored at PostgreSQL's precision, in UTC, so it reads back equal.
	if o.EffectiveAt.Location() != time.UTC || o.EffectiveAt.Nanosecond() != 123456000 || !o.Issued.Equal(recordNow) {
		t.Fatalf("times %v %v", o.EffectiveAt, o.Issued)
	}
	if *o.Performer.PractitionerID != nurse || o.Performer.ClientID != "ward-app" {
		t.Fatalf("performer %+v", o.Performer)
	}
}

func TestNewRefusesNamingTheBodysFields(t *testing.T) {
	future := recordNow.Add(6 * time.Minute)
	early := recordNow.Add(-time.Hour)
	long := strings.Repeat("x", observation.MaxTextLen+1)
	for _, c := range []struct {
		name   string
		change func(*observation.Input)
		want   []string
	}{
		{"no patient and no time", func(in *observation.Input) { in.PatientID, in.EffectiveAt = uuid.Nil, time.Time{} }, []string{"patientId", "effectiveAt"}},
		{"unknown code", func(in *observation.Input) { in.Code = "1234-5" }, []string{"code"}},
		{"no code", func(in *observation.Input) { in.Code = "" }, []string{"code"}},
		{"a mass for a temperature", func(in *observation.Input) { in.Value.Unit = "kg" }, []string{"value.unit"}},
		{"an unknown unit", func(in *observation.Input) { in.Value.Unit = "furlongs" }, []string{"value.unit"}},
		{"no unit", func(in *observation.Input) { in.Value.Unit = "" }, []string{"value.unit"}},
		{"an impossible temperature", func(in *observation.Input) { in.Value.Value = num(60) }, []string{"value.value"}},
		{"not a number", func(in *observation.Input) { in.Value.Value = num(math.NaN()) }, []string{"value.value"}},
		{"a unit without a number", func(in *observation.Input) { in.Value.Value = nil }, []string{"value.value"}},
		{"no value", func(in *observation.Input) { in.Value = nil }, []string{"value"}},
		{"an answer for a quantity", func(in *observation.Input) { in.Value = &observation.ValueInput{Code: "A"} }, []string{"value"}},
		{"two kinds at once", func(in *observation.Input) { in.Value.Code = "A" }, []string{"value"}},
		{"six minutes ahead", func(in *observation.Input) { in.EffectiveAt = future }, []string{"effectiveAt"}},
		{"before 1900", func(in *observation.Input) { in.EffectiveAt = time.Date(202, 1, 1, 0, 0, 0, 0, time.UTC) }, []string{"effectiveAt"}},
		{"issued before it was taken", func(in *observation.Input) { in.Issued = &early }, []string{"issued"}},
		{"an amendment's status", func(in *observation.Input) { in.Status = observation.StatusAmended }, []string{"status"}},
		{"another category", func(in *observation.Input) { in.Category = observation.CategoryLaboratory }, []string{"category"}},
		{"a long method and device", func(in *observation.Input) { in.Method, in.Device = long, long }, []string{"method", "device"}},
		{"components of no panel", func(in *observation.Input) { in.Components = bloodPressure(120, 80).Components }, []string{"components"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := quantity(observation.CodeBodyTemperature, 37.2, "Cel")
			c.change(&in)
			_, err := observation.New(uuid.Must(uuid.NewV7()), in, woman, byNurse, recordNow)
			if got := fields(t, err); !slices.Equal(got, c.want) {
				t.Fatalf("fields %v, want %v (%v)", got, c.want, err)
			}
		})
	}
	// Four minutes ahead is a drifting clock, not a mistake.
	in := quantity(observation.CodeBodyTemperature, 37.2, "Cel")
	in.EffectiveAt = recordNow.Add(4 * time.Minute)
	if _, err := observation.New(uuid.Must(uuid.NewV7()), in, woman, byNurse, recordNow); err != nil {
		t.Fatalf("4 minutes ahead: %v", err)
	}
}

func TestBloodPressurePanel(t *testing.T) {
	o := newObservation(t, bloodPressure(88, 60))
	if o.Value != nil || len(o.Components) != 2 {
		t.Fatalf("panel %+v", o)
	}
	// Systolic 88 is NEWS2's red score: critical low; the panel carries the worst flag.
	if o.Components[0].Interpretation.Flag != observation.FlagCriticalLow || o.Interpretation.Flag != observation.FlagCriticalLow || !o.Critical() {
		t.Fatalf("interpretations %+v / %+v", o.Components, o.Interpretation)
	}
	if q, ok := o.QuantityOf(observation.CodeDiastolicBP); !ok || q.Unit != "mmHg" || q.Canonical.Value != 60 {
		t.Fatalf("diastolic %+v %v", q, ok)
	}
	// NEWS2 reads the systolic component, and only it.
	if r := o.Readings(); len(r) != 1 || r[0].Code != observation.CodeSystolicBP || r[0].Value != 88 || r[0].SourceID != o.ID {
		t.Fatalf("readings %+v", r)
	}
	if rs := o.Results(); len(rs) != 2 || rs[1].Code != observation.CodeDiastolicBP {
		t.Fatalf("results %+v", rs)
	}

	for _, c := range []struct {
		name   string
		change func(*observation.Input)
		want   []string
	}{
		{"an impossible systolic", func(in *observation.Input) { in.Components[0].Value = num(400) }, []string{"components[0].value"}},
		{"a temperature unit", func(in *observation.Input) { in.Components[1].Unit = "Cel" }, []string{"components[1].unit"}},
		{"no number", func(in *observation.Input) { in.Components[0].Value = nil }, []string{"components[0].value"}},
		{"a heart rate in the panel", func(in *observation.Input) { in.Components[1].Code = observation.CodeHeartRate }, []string{"components[1].code"}},
		{"systolic twice", func(in *observation.Input) { in.Components[1].Code = observation.CodeSystolicBP }, []string{"components[1].code"}},
		{"systolic below diastolic", func(in *observation.Input) { in.Components[0].Value = num(70) }, []string{"components"}},
		{"no components", func(in *observation.Input) { in.Components = nil }, []string{"components"}},
		{"a value of its own", func(in *observation.Input) { in.Value = &observation.ValueInput{Value: num(120), Unit: "mm[Hg]"} }, []string{"value"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := bloodPressure(120, 80)
			c.change(&in)
			_, err := observation.New(uuid.Must(uuid.NewV7()), in, woman, byNurse, recordNow)
			if got := fields(t, err); !slices.Equal(got, c.want) {
				t.Fatalf("fields %v, want %v (%v)", got, c.want, err)
			}
		})
	}
	// Diastolic alone is a panel too.
	alone := bloodPressure(0, 95)
	alone.Components = alone.Components[1:]
	if o := newObservation(t, alone); o.Interpretation.Flag != observation.FlagHigh || len(o.Readings()) != 0 {
		t.Fatalf("diastolic alone: %+v", o.Interpretation)
	}
}

func TestCodedValue(t *testing.T) {
	in := observation.Input{PatientID: patientA, Code: observation.CodeConsciousness, EffectiveAt: recordNow,
		Value: &observation.ValueInput{Code: "V"}}
	o := newObservation(t, in)
	if o.Value.Kind != observation.KindCoded || o.Value.Coding.Display != "Responds to voice" || o.Interpretation.Flag != observation.FlagAbnormal {
		t.Fatalf("coded %+v %+v", o.Value, o.Interpretation)
	}
	if r := o.Readings(); len(r) != 1 || r[0].Answer != "V" {
		t.Fatalf("readings %+v", r)
	}
	in.Value.Code = "X"
	_, err := observation.New(uuid.Must(uuid.NewV7()), in, woman, byNurse, recordNow)
	if got := fields(t, err); !slices.Equal(got, []string{"value.code"}) {
		t.Fatalf("unknown answer: %v", got)
	}
	in.Value = &observation.ValueInput{Code: "A"}
	in.ReferenceRange = &observation.RangeInput{Low: num(1)}
	_, err = observation.New(uuid.Must(uuid.NewV7()), in, woman, byNurse, recordNow)
	if got := fields(t, err); !slices.Equal(got, []string{"referenceRange"}) {
		t.Fatalf("range of an answer: %v", got)
	}
}

func TestReportedRangeReplacesTheCataloguesAndIsKept(t *testing.T) {
	in := quantity(observation.CodeCreatinine, 110, "umol/L")
	in.Category = observation.CategoryLaboratory
	in.ReferenceRange = &observation.RangeInput{Low: num(45), High: num(90), Unit: "umol/L"}
	o := newObservation(t, in)
	r := o.Interpretation.Range
	if o.Interpretation.Flag != observation.FlagHigh || r.Unit != "mg/dL" || !strings.Contains(r.Source, "performing laboratory") {
		t.Fatalf("interpretation %+v / %+v", o.Interpretation, r)
	}
	in.ReferenceRange = &observation.RangeInput{Low: num(90), High: num(45)}
	_, err := observation.New(uuid.Must(uuid.NewV7()), in, woman, byNurse, recordNow)
	if got := fields(t, err); !slices.Equal(got, []string{"referenceRange"}) {
		t.Fatalf("inverted range: %v", got)
	}
	in.ReferenceRange = &observation.RangeInput{Low: num(45), Unit: "kg"}
	_, err = observation.New(uuid.Must(uuid.NewV7()), in, woman, byNurse, recordNow)
	if got := fields(t, err); !slices.Equal(got, []string{"referenceRange.unit"}) {
		t.Fatalf("range in kg: %v", got)
	}
}

func TestAmendWritesTheNextVersion(t *testing.T) {
	prev := newObservation(t, quantity(observation.CodeHeartRate, 180, "/min"))
	by := observation.Performer{ClientID: "ward-app"}
	fix := observation.Input{EffectiveAt: prev.EffectiveAt, Value: &observation.ValueInput{Value: num(80), Unit: "/min"},
		Status: observation.StatusCorrected}
	next, err := observation.Amend(prev, fix, woman, "  transcription error: 80, not 180 ", by, recordNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if next.ID != prev.ID || next.Version != 2 || next.Status != observation.StatusCorrected || next.PatientID != prev.PatientID ||
		next.Code != prev.Code || next.Reason != "transcription error: 80, not 180" || next.Performer.PractitionerID != nil {
		t.Fatalf("next %+v", next)
	}
	if next.Value.Quantity.Value != 80 || next.Interpretation.Flag != observation.FlagNormal || prev.Value.Quantity.Value != 180 {
		t.Fatalf("values: next %v, prev %v", next.Value.Quantity, prev.Value.Quantity)
	}
	fix.Status = ""
	if again, err := observation.Amend(next, fix, woman, "re-checked", by, recordNow.Add(2*time.Hour)); err != nil ||
		again.Version != 3 || again.Status != observation.StatusAmended {
		t.Fatalf("amend an amendment: %+v, %v", again, err)
	}

	for _, c := range []struct {
		name   string
		change func(*observation.Input)
		reason string
		want   []string
	}{
		{"no reason", func(*observation.Input) {}, " ", []string{"reason"}},
		{"another patient", func(in *observation.Input) { in.PatientID = uuid.New() }, "wrong bed", []string{"patientId"}},
		{"another code", func(in *observation.Input) { in.Code = observation.CodeRespiratoryRate }, "wrong row", []string{"code"}},
		{"final", func(in *observation.Input) { in.Status = observation.StatusFinal }, "why", []string{"status"}},
		{"a bad value too", func(in *observation.Input) { in.Value.Unit = "kg" }, "", []string{"reason", "value.unit"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := fix
			in.Value = &observation.ValueInput{Value: num(80), Unit: "/min"}
			c.change(&in)
			_, err := observation.Amend(prev, in, woman, c.reason, by, recordNow)
			if got := fields(t, err); !slices.Equal(got, c.want) {
				t.Fatalf("fields %v, want %v", got, c.want)
			}
		})
	}
}

func TestVoidWithdrawsAndKeepsTheContent(t *testing.T) {
	prev := newObservation(t, bloodPressure(120, 80))
	if _, err := observation.Void(prev, "", byNurse, recordNow); !slices.Equal(fields(t, err), []string{"reason"}) {
		t.Fatalf("no reason: %v", err)
	}
	void, err := observation.Void(prev, "recorded for the wrong patient", byNurse, recordNow.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if void.Version != 2 || void.Status != observation.StatusEnteredInError || void.InForce() || len(void.Components) != 2 ||
		!void.RecordedAt.Equal(recordNow.Add(time.Minute)) || void.Readings() != nil {
		t.Fatalf("void %+v", void)
	}
	if _, err := observation.Void(void, "again", byNurse, recordNow); !errors.Is(err, observation.ErrEnteredInError) || !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("void twice: %v", err)
	}
	if _, err := observation.Amend(void, bloodPressure(120, 80), woman, "undo", byNurse, recordNow); !errors.Is(err, observation.ErrEnteredInError) {
		t.Fatalf("amend a void: %v", err)
	}
}

func TestStaleIsAVersionMismatchAndAConflict(t *testing.T) {
	if !errors.Is(observation.ErrStale, domain.ErrVersionMismatch) || !errors.Is(observation.ErrStale, domain.ErrConflict) {
		t.Fatal("ErrStale must answer 412 and still be a conflict")
	}
}

func TestNewBatchNamesEachItem(t *testing.T) {
	unknown := uuid.MustParse("0190f3c4-0000-7000-8000-0000000000ff")
	lookup := func(id uuid.UUID) (observation.Demographics, error) {
		if id == unknown {
			return observation.Demographics{}, observation.ErrUnknownPatient
		}
		return observation.Demographics{Sex: "female", BirthDate: "1986-03-02"}, nil
	}
	good := quantity(observation.CodeHeartRate, 72, "/min")
	badUnit := quantity(observation.CodeHeartRate, 72, "mmHg")
	stranger := quantity(observation.CodeHeartRate, 72, "/min")
	stranger.PatientID = unknown
	unborn := quantity(observation.CodeHeartRate, 72, "/min")
	unborn.EffectiveAt = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	inputs := []observation.Input{good, badUnit, stranger, unborn}
	ids := []uuid.UUID{uuid.New(), uuid.New(), uuid.New(), uuid.New()}

	obs, err := observation.NewBatch(ids, inputs, lookup, byNurse, recordNow)
	if got, want := fields(t, err), []string{"items[1].value.unit", "items[2].patientId", "items[3].effectiveAt"}; obs != nil || !slices.Equal(got, want) {
		t.Fatalf("fields %v, want %v", got, want)
	}
	obs, err = observation.NewBatch(ids[:1], inputs[:1], lookup, byNurse, recordNow)
	if err != nil || len(obs) != 1 || obs[0].ID != ids[0] || obs[0].Subject.AgeMonths != 40*12+8 || obs[0].Subject.Sex != observation.SexFemale {
		t.Fatalf("good batch: %+v, %v", obs, err)
	}
	if _, err := observation.NewBatch(nil, nil, lookup, byNurse, recordNow); !slices.Equal(fields(t, err), []string{"items"}) {
		t.Fatalf("empty batch: %v", err)
	}
	down := errors.New("registry down")
	if _, err := observation.NewBatch(ids[:1], inputs[:1], func(uuid.UUID) (observation.Demographics, error) {
		return observation.Demographics{}, down
	}, byNurse, recordNow); !errors.Is(err, down) {
		t.Fatalf("lookup failure: %v", err)
	}
}

func TestIndexedError(t *testing.T) {
	err := observation.IndexedError(7, &domain.ValidationError{Fields: []domain.FieldError{{Field: "value.unit", Message: "m"}}})
	if got := fields(t, err); !slices.Equal(got, []string{"items[7].value.unit"}) {
		t.Fatalf("fields %v", got)
	}
	other := errors.New("other")
	if observation.IndexedError(1, other) != other {
		t.Fatal("a non-validation error must pass through")
	}
}

func TestWithDeltaFlagsAcuteKidneyInjury(t *testing.T) {
	if got := observation.DeltaLookback(observation.CodeCreatinine); got != 7*24*time.Hour {
		t.Fatalf("creatinine lookback %v", got)
	}
	if got := observation.DeltaLookback(observation.CodeHaemoglobin); got != 24*time.Hour {
		t.Fatalf("haemoglobin lookback %v", got)
	}
	if got := observation.DeltaLookback(observation.CodeHeartRate); got != 0 {
		t.Fatalf("heart rate lookback %v", got)
	}
	o := newObservation(t, quantity(observation.CodeCreatinine, 1.4, "mg/dL"))
	previous := []observation.Result{{ID: uuid.New(), Code: observation.CodeCreatinine, Value: 1.0, Time: o.EffectiveAt.Add(-30 * time.Hour)}}
	o = o.WithDelta(previous)
	if len(o.DeltaFlags) != 1 || o.DeltaFlags[0].Code != observation.DeltaAKIAbsolute {
		t.Fatalf("delta flags %+v", o.DeltaFlags)
	}
}

func TestPerformerComesFromTheCaller(t *testing.T) {
	if _, err := observation.New(uuid.New(), quantity(observation.CodeHeartRate, 72, "/min"), woman, observation.Performer{}, recordNow); !errors.Is(err, observation.ErrNoPerformer) {
		t.Fatalf("no client: %v", err)
	}
	nobody := uuid.Nil
	o, err := observation.New(uuid.New(), quantity(observation.CodeHeartRate, 72, "/min"), woman,
		observation.Performer{PractitionerID: &nobody, ClientID: "gateway"}, recordNow)
	if err != nil || o.Performer.PractitionerID != nil {
		t.Fatalf("nil practitioner: %+v, %v", o.Performer, err)
	}
}

func TestObservationRoundTripsThroughJSON(t *testing.T) {
	for _, in := range []observation.Input{
		quantity(observation.CodeBodyWeight, 154.3, "[lb_av]"),
		bloodPressure(182, 121),
		{PatientID: patientA, Code: observation.CodeConsciousness, EffectiveAt: recordNow, Value: &observation.ValueInput{Code: "A"}},
	} {
		o := newObservation(t, in)
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		var back observation.Observation
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(o, back) {
			t.Fatalf("round trip:\n%+v\n%+v", o, back)
		}
	}
}

func TestNEWS2ScoreStoresOnlyCompleteSets(t *testing.T) {
	if _, err := observation.NewNEWS2Score(uuid.New(), patientA, observation.CombinedNEWS2{Status: observation.CombinedIncomplete}, recordNow); !errors.Is(err, observation.ErrIncompleteNEWS2) {
		t.Fatalf("incomplete: %v", err)
	}
	var readings []observation.Reading
	for _, r := range []observation.Reading{
		{Code: observation.CodeRespiratoryRate, Value: 22}, {Code: observation.CodeSpO2, Value: 95},
		{Code: observation.CodeInhaledOxygen, Value: 21}, {Code: observation.CodeSystolicBP, Value: 105},
		{Code: observation.CodeHeartRate, Value: 95}, {Code: observation.CodeConsciousness, Answer: "A"},
		{Code: observation.CodeBodyTemperature, Value: 38.5},
	} {
		r.Time, r.SourceID = recordNow.Add(-time.Duration(len(readings))*time.Minute), uuid.New()
		readings = append(readings, r)
	}
	c, err := observation.CombineNEWS2(readings, observation.SpO2Scale1, 0)
	if err != nil {
		t.Fatal(err)
	}
	s, err := observation.NewNEWS2Score(uuid.New(), patientA, c, recordNow)
	if err != nil {
		t.Fatal(err)
	}
	// RR 22 → 2, SpO2 95 → 1, air 0, SBP 105 → 1, pulse 95 → 1, alert 0, 38.5 °C → 1.
	if s.Total != 6 || s.Risk != observation.RiskMedium || len(s.SourceIDs()) != 7 || s.SourceIDs()[0] != readings[0].SourceID {
		t.Fatalf("score %+v", s)
	}
}

func TestScaleDecision(t *testing.T) {
	if _, err := observation.NewScaleDecision(uuid.New(), patientA, observation.SpO2Scale2, uuid.Nil, "COPD", recordNow); !errors.Is(err, observation.ErrNoDecider) {
		t.Fatalf("no practitioner: %v", err)
	}
	_, err := observation.NewScaleDecision(uuid.New(), patientA, 3, nurse, " ", recordNow)
	if got := fields(t, err); !slices.Equal(got, []string{"scale", "reason"}) {
		t.Fatalf("fields %v", got)
	}
	d, err := observation.NewScaleDecision(uuid.New(), patientA, observation.SpO2Scale2, nurse, "Type 2 respiratory failure; target 88-92%", recordNow)
	if err != nil || d.Scale != observation.SpO2Scale2 || d.DecidedBy != nurse || d.RevokedAt != nil {
		t.Fatalf("decision %+v, %v", d, err)
	}
}

// BenchmarkNewBatch validates a batch of 10,000 vital signs, the domain's
// share of the batch path, reporting observations/s.
func BenchmarkNewBatch(b *testing.B) {
	const n = 10_000
	inputs := make([]observation.Input, n)
	ids := make([]uuid.UUID, n)
	for i := range inputs {
		switch i % 3 {
		case 0:
			inputs[i] = quantity(observation.CodeHeartRate, float64(50+i%90), "/min")
		case 1:
			inputs[i] = quantity(observation.CodeBodyTemperature, 97+float64(i%40)/10, "[degF]")
		default:
			inputs[i] = bloodPressure(float64(100+i%80), 70)
		}
		ids[i] = uuid.New()
	}
	lookup := func(uuid.UUID) (observation.Demographics, error) {
		return observation.Demographics{Sex: "female", BirthDate: "1970-01-01"}, nil
	}
	b.ResetTimer()
	for range b.N {
		if _, err := observation.NewBatch(ids, inputs, lookup, byNurse, recordNow); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "observations/s")
}

func TestEventCarriesTheCanonicalValueAndLimits(t *testing.T) {
	e := newObservation(t, quantity(observation.CodeBodyTemperature, 95, "[degF]")).Event()
	if e.Quantity == nil || e.Quantity.Unit != "Cel" || !near(e.Quantity.Value, 35) || e.Interpretation.Flag != observation.FlagCriticalLow ||
		*e.Interpretation.CriticalLow != 35 || *e.Interpretation.Low != 36.1 {
		t.Fatalf("event %+v / %+v", e, e.Interpretation)
	}
	p := newObservation(t, bloodPressure(150, 95)).Event()
	if p.Quantity != nil || len(p.Components) != 2 || p.Components[1].Interpretation.Flag != observation.FlagHigh ||
		p.Interpretation.Flag != observation.FlagHigh || p.Components[0].Quantity.Value != 150 {
		t.Fatalf("panel event %+v", p)
	}
}
