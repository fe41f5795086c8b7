package fhir

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/medication"
	"github.com/zarish-sphere/zarish/domain/prescription"
)

func TestFromPrescription(t *testing.T) {
	at := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	patient, enc, prescriber := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	p, err := prescription.New(prescription.Details{
		ID: uuid.Must(uuid.NewV7()), PatientID: patient, EncounterID: &enc,
		Order: medication.Order{Code: "161", Name: "paracetamol", Dose: 1, DoseUnit: "g", Route: "po", Frequency: "q6h",
			DurationDays: 5, PRN: true, Indication: "fever"},
		Drug:     medication.Resolution{ID: "paracetamol", Name: "acetaminophen", Ingredients: []string{"paracetamol"}},
		Quantity: prescription.Quantity{Value: 20, Unit: "tablet"}, PrescriberID: prescriber, CreatedAt: at,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := FromPrescription(p)
	shape(t, got, "status", "intent", "medicationCodeableConcept", "subject")
	want := MedicationRequest{
		ResourceType: "MedicationRequest", ID: p.Details.ID.String(),
		Meta:   &Meta{VersionID: "1", LastUpdated: "2026-11-25T08:00:00Z"},
		Status: "draft", Intent: "order",
		MedicationCodeableConcept: CodeableConcept{Text: "acetaminophen", Coding: []Coding{
			{System: SystemMedicationKB, Code: "paracetamol", Display: "acetaminophen"},
			{System: SystemRxNorm, Code: "161", UserSelected: true}}},
		Subject:    Reference{Reference: "Patient/" + patient.String()},
		Encounter:  &Reference{Reference: "Encounter/" + enc.String()},
		AuthoredOn: "2026-11-25T08:00:00Z",
		Requester:  &Reference{Reference: "Practitioner/" + prescriber.String()},
		ReasonCode: []CodeableConcept{{Text: "fever"}},
		DosageInstruction: []Dosage{{Text: "1 g po q6h PRN", AsNeededBoolean: true,
			Route:       &CodeableConcept{Text: "po", Coding: []Coding{{System: SystemSNOMED, Code: "26643006", Display: "Oral route"}}},
			Timing:      &Timing{Code: &CodeableConcept{Text: "q6h"}, Repeat: &TimingRepeat{Frequency: 1, Period: 6, PeriodUnit: "h"}},
			DoseAndRate: []DoseAndRate{{DoseQuantity: &Quantity{Value: 1, Unit: "g", System: SystemUCUM, Code: "g"}}}}},
		DispenseRequest: &DispenseRequest{Quantity: &Quantity{Value: 20, Unit: "tablet"},
			ExpectedSupplyDuration: &Quantity{Value: 5, Unit: "days", System: SystemUCUM, Code: "d"}},
	}
	if a, b := mappedJSON(t, got), mappedJSON(t, want); a != b {
		t.Errorf("mapped as\n%s\nwant\n%s", a, b)
	}
	// Each status of ours is the MedicationRequest.status of its name, and
	// maps back.
	for _, st := range prescription.Statuses {
		p.Status = st
		code := FromPrescription(p).Status
		if code != string(st) || !slices.Contains(MedicationRequestStatuses, code) {
			t.Errorf("%s is %s", st, code)
		}
		if back, ok := MedicationRequestStatusOf(code); !ok || back != st {
			t.Errorf("%s maps back to %s", code, back)
		}
	}
	for _, code := range []string{"entered-in-error", "unknown"} {
		if _, ok := MedicationRequestStatusOf(code); ok {
			t.Errorf("%s is a status of ours", code)
		}
	}
	// Stopped, it says why.
	active, _, _ := mustNew(t, p).Checked(medication.Result{Version: "t"}, prescription.Context{}, prescription.ReasonOrdered, at)
	ended, err := active.Discontinue(prescriber, "rash after the second dose", at.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got := FromPrescription(ended); got.Status != "stopped" || got.StatusReason == nil || got.StatusReason.Text != "rash after the second dose" ||
		got.Meta.VersionID != "3" {
		t.Errorf("stopped: %s", mappedJSON(t, got))
	}
}

// mustNew is p again as first ordered: draft, version 1.
func mustNew(t *testing.T, p prescription.Prescription) prescription.Prescription {
	t.Helper()
	n, err := prescription.New(p.Details)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// mappedJSON is v as JSON.
func mappedJSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}
