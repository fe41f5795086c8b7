package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/observation"
)

func fl(v float64) *float64 { return &v }

func TestBatchAnswerIsTheViewTypes(t *testing.T) {
	p := uuid.Must(uuid.NewV7())
	now := time.Now().UTC()
	by := observation.Performer{ClientID: "gateway"}
	subject := observation.Subject{Sex: observation.SexFemale, AgeMonths: 600}
	var obs []observation.Observation
	for i, in := range []observation.Input{
		{PatientID: p, Code: observation.CodeHeartRate, EffectiveAt: now.Add(-time.Minute), Value: &observation.ValueInput{Value: fl(140), Unit: "/min"}},
		{PatientID: p, Code: observation.CodeBodyTemperature, EffectiveAt: now.Add(-time.Minute), Value: &observation.ValueInput{Value: fl(101.3), Unit: "[degF]"}},
		{PatientID: p, Code: observation.CodeBloodPressurePanel, EffectiveAt: now.Add(-time.Minute), Components: []observation.ComponentInput{
			{Code: observation.CodeSystolicBP, Value: fl(182), Unit: "mm[Hg]"}, {Code: observation.CodeDiastolicBP, Value: fl(121), Unit: "mm[Hg]"}}},
	} {
		o, err := observation.New(uuid.Must(uuid.NewV7()), in, subject, by, now)
		if err != nil {
			t.Fatal(i, err)
		}
		obs = append(obs, o)
	}
	minimal := make([]observation.EventData, len(obs))
	for i, o := range obs {
		minimal[i] = o.Event()
	}
	want, _ := json.Marshal(ObservationBatchMinimal{Count: len(obs), Data: minimal})
	if got := encodeBatchAnswer(obs, "", true); got.err != nil || string(got.body) != string(want) {
		t.Errorf("minimal answer:\n%s\nwant\n%s", got.body, want)
	}
	canonical := make([]observation.Observation, len(obs))
	for i, o := range obs {
		canonical[i] = inUnits(o, unitsCanonical)
	}
	want, _ = json.Marshal(ObservationBatch{Count: len(obs), Data: canonical})
	if got := encodeBatchAnswer(obs, unitsCanonical, false); got.err != nil || string(got.body) != string(want) {
		t.Errorf("full answer:\n%s\nwant\n%s", got.body, want)
	}
}

// A large batch is validated in two halves at once: the same observations,
// and the same refusal, field for field, as observation.NewBatch's.
func TestNewBatchInHalvesIsNewBatch(t *testing.T) {
	now := time.Now().UTC()
	known, stranger := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	patient := func(id uuid.UUID) (observation.Demographics, error) {
		if id != known {
			return observation.Demographics{}, observation.ErrUnknownPatient
		}
		return observation.Demographics{Sex: "female", BirthDate: "1970-01-01"}, nil
	}
	by := observation.Performer{ClientID: "gateway"}
	inputs := make([]observation.Input, 3001)
	for i := range inputs {
		inputs[i] = observation.Input{PatientID: known, Code: observation.CodeHeartRate, EffectiveAt: now.Add(-time.Minute),
			Value: &observation.ValueInput{Value: fl(float64(60 + i%50)), Unit: "/min"}}
	}
	ids := consecutiveIDs(uuid.Must(uuid.NewV7()), len(inputs))
	same := func(what string) {
		t.Helper()
		want, wantErr := observation.NewBatch(ids, inputs, patient, by, now)
		got, err := newBatch(ids, inputs, patient, by, now)
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(err, wantErr) {
			t.Fatalf("%s: %d observations, %v; NewBatch: %d, %v", what, len(got), err, len(want), wantErr)
		}
	}
	same("a good batch")
	inputs[7].Value.Unit = "kg"
	inputs[1499].PatientID = stranger
	inputs[1500].Code = "no-such-code"
	inputs[2999].Value.Unit = "kg"
	inputs[3000].PatientID = stranger
	same("a batch with bad items in both halves")
	if _, err := newBatch(ids, inputs, patient, by, now); !strings.Contains(err.Error(), "items[7].value.unit") {
		t.Fatalf("refusal %v", err)
	}
}
