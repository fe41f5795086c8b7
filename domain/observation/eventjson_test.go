package observation_test

import (
	"encoding/json"
	"math"
	mrand "math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/observation"
)

func fl(v float64) *float64 { return &v }

// The minimal answer is encoded by hand (AppendEventJSON), for speed; it must be
// the bytes json.Marshal writes, for every field EventData has.
func TestEventJSON(t *testing.T) {
	// A field added to the event types must be added to appendEventData:
	// this list is what it writes.
	written := map[reflect.Type][]string{
		reflect.TypeFor[observation.EventData](): {"id", "version", "patientId", "encounterId,omitempty", "basedOn,omitempty", "category", "code", "status",
			"effectiveAt", "quantity,omitempty", "answer,omitempty", "text,omitempty", "boolean,omitempty", "components,omitempty",
			"interpretation", "deltaFlags,omitempty", "reason,omitempty"},
		reflect.TypeFor[observation.EventComponent](): {"code", "quantity", "interpretation"},
		reflect.TypeFor[observation.Quantity]():       {"value", "unit"},
		reflect.TypeFor[observation.Limits]():         {"flag,omitempty", "low,omitempty", "high,omitempty", "criticalLow,omitempty", "criticalHigh,omitempty"},
	}
	for typ, want := range written {
		var tags []string
		for f := range typ.Fields() {
			tags = append(tags, f.Tag.Get("json"))
		}
		if !slices.Equal(tags, want) {
			t.Errorf("%s has fields %v; appendEventData writes %v", typ, tags, want)
		}
	}

	encounter, order := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	yes := true
	events := []observation.EventData{
		{ID: uuid.Must(uuid.NewV7()), Version: 1, PatientID: uuid.Must(uuid.NewV7()), BasedOn: &order, Category: observation.CategoryLaboratory, Code: "2823-3",
			Status: observation.StatusFinal, EffectiveAt: time.Date(2026, 11, 25, 8, 0, 0, 123456789, time.UTC),
			Quantity:       &observation.Quantity{Value: 7.1, Unit: "mmol/L"},
			Interpretation: observation.Limits{Flag: observation.FlagCriticalHigh, Low: fl(3.5), High: fl(5.1), CriticalLow: fl(2.5), CriticalHigh: fl(6.5)}},
		{ID: uuid.Must(uuid.NewV7()), Version: 3, PatientID: uuid.Must(uuid.NewV7()), EncounterID: &encounter, BasedOn: &order, Code: "85354-9",
			Status: observation.StatusCorrected, EffectiveAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			Components: []observation.EventComponent{
				{Code: "8480-6", Quantity: observation.Quantity{Value: 182, Unit: "mm[Hg]"}, Interpretation: observation.Limits{Flag: observation.FlagHigh, High: fl(139)}},
				{Code: "8462-4", Quantity: observation.Quantity{Value: math.Copysign(0, -1), Unit: "mm[Hg]"}},
			},
			DeltaFlags: []observation.DeltaCode{observation.DeltaAKIAbsolute, observation.DeltaImplausible},
			Reason:     "cuff <too> small & \"loose\"\n\t\\ — ünïcode \u2028 \xff end"},
		{ID: uuid.Must(uuid.NewV7()), Version: 1, PatientID: uuid.Must(uuid.NewV7()), Category: observation.CategoryVitalSigns,
			Code: "67775-7", EffectiveAt: time.Date(2026, 11, 25, 8, 0, 0, 0, time.FixedZone("", 5*3600+1800)), Answer: "V"},
		{Text: "<b>free text</b>", Boolean: &yes, Interpretation: observation.Limits{Low: fl(1e-7), High: fl(1e21), CriticalLow: fl(-123456789.125), CriticalHigh: fl(5e-324)}},
		{Quantity: &observation.Quantity{Value: 0.000001, Unit: ""}, Interpretation: observation.Limits{Flag: "N", High: fl(1.7976931348623157e308)}},
	}
	rng := mrand.New(mrand.NewPCG(5, 6))
	for range 300 {
		v := rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20))
		events = append(events, observation.EventData{ID: uuid.Must(uuid.NewV7()), Code: "8867-4",
			Quantity: &observation.Quantity{Value: v, Unit: "/min"}, Interpretation: observation.Limits{Low: fl(-v), High: fl(v * 3)}})
	}
	for i, e := range events {
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := observation.AppendEventJSON([]byte("prefix"), e)
		if err != nil || string(got) != "prefix"+string(want) {
			t.Fatalf("event %d:\n got %s (%v)\nwant prefix%s", i, got, err, want)
		}
	}
	nan := events[0]
	nan.Quantity = &observation.Quantity{Value: math.NaN(), Unit: "mmol/L"}
	if got, err := observation.AppendEventJSON([]byte("prefix"), nan); err == nil || string(got) != "prefix" {
		t.Errorf("NaN: %s, %v", got, err)
	}
}

// The answers to a batch are what json.Marshal makes of their view types.
