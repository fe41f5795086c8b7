package fhir

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/allergy"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/patient"
)

// FHIR R4 value sets the mapped codes must come from.
var (
	observationStatuses = []string{"registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown"}
	genders             = []string{"male", "female", "other", "unknown"}
	allergyClinical     = []string{"active", "inactive", "resolved"}
	allergyVerification = []string{"unconfirmed", "confirmed", "refuted", "entered-in-error"}
	interpretations     = []string{"N", "L", "H", "LL", "HH", "A"}
)

func fl(v float64) *float64 { return &v }

// shape decodes v's JSON and checks the elements FHIR R4 requires.
func shape(t *testing.T, v any, required ...string) map[string]any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range append([]string{"resourceType", "id"}, required...) {
		if _, ok := m[k]; !ok {
			t.Errorf("%s lacks %s: %s", m["resourceType"], k, raw)
		}
	}
	return m
}

func TestFromPatient(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for _, sex := range genders {
		p, err := patient.NewPatient(uuid.Must(uuid.NewV7()), patient.FormatMRN(1), patient.Details{
			Name: patient.Name{Given: []string{"Amina"}, Family: "Begum"}, BirthDate: "1988-02-29", Sex: sex,
			Address:     []patient.Address{{City: "Dhaka", Country: "BD"}},
			Identifiers: []patient.Identifier{{System: "urn:bd:nid", Value: "1"}},
		}, now)
		if err != nil {
			t.Fatal(err)
		}
		got := FromPatient(p)
		shape(t, got)
		if got.Gender != sex || got.Identifier[0].System != SystemMRN || got.Identifier[0].Value != patient.FormatMRN(1) ||
			got.Meta.VersionID != "1" || got.Meta.LastUpdated != "2026-03-01T09:00:00Z" || got.Address[0].City != "Dhaka" {
			t.Errorf("%s: %+v", sex, got)
		}
	}
}

func TestFromObservation(t *testing.T) {
	p, enc, order := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	at := time.Date(2026, 1, 10, 8, 0, 0, 0, time.UTC)
	subject := observation.Subject{Sex: observation.SexFemale, AgeMonths: 400}
	for _, tc := range []struct {
		name string
		in   observation.Input
		flag string
		// check the value
		check func(Observation) bool
	}{
		{"quantity", observation.Input{PatientID: p, EncounterID: &enc, Code: observation.CodeHeartRate, EffectiveAt: at,
			Value: &observation.ValueInput{Value: fl(130), Unit: "/min"}}, "H",
			func(o Observation) bool {
				return o.ValueQuantity.Code == "/min" && o.ValueQuantity.System == SystemUCUM && o.Encounter.Reference == "Encounter/"+enc.String() &&
					len(o.ReferenceRange) == 1 && o.ReferenceRange[0].High != nil
			}},
		{"panel", observation.Input{PatientID: p, Code: observation.CodeBloodPressurePanel, EffectiveAt: at,
			Components: []observation.ComponentInput{{Code: observation.CodeSystolicBP, Value: fl(182), Unit: "mm[Hg]"},
				{Code: observation.CodeDiastolicBP, Value: fl(121), Unit: "mm[Hg]"}}}, "",
			func(o Observation) bool {
				return o.ValueQuantity == nil && len(o.Component) == 2 && o.Component[0].Code.Coding[0].System == SystemLOINC &&
					o.Component[0].ValueQuantity.System == SystemUCUM
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := observation.New(uuid.Must(uuid.NewV7()), tc.in, subject, observation.Performer{ClientID: "m"}, at)
			if err != nil {
				t.Fatal(err)
			}
			o.BasedOn = &order
			got := FromObservation(o)
			shape(t, got, "status", "code", "subject", "effectiveDateTime")
			if !slices.Contains(observationStatuses, got.Status) || got.Code.Coding[0].System != SystemLOINC ||
				got.Subject.Reference != "Patient/"+p.String() || got.BasedOn[0].Reference != "ServiceRequest/"+order.String() ||
				got.Category[0].Coding[0].Code != "vital-signs" || !tc.check(got) {
				t.Errorf("mapped as %+v", got)
			}
			for _, i := range got.Interpretation {
				if i.Coding[0].System != SystemInterpretation || !slices.Contains(interpretations, i.Coding[0].Code) {
					t.Errorf("interpretation %+v", i)
				}
			}
			if tc.flag != "" && (len(got.Interpretation) == 0 || got.Interpretation[0].Coding[0].Code != tc.flag) {
				t.Errorf("interpretation %+v, want %s", got.Interpretation, tc.flag)
			}
		})
	}
}

func TestFromEncounter(t *testing.T) {
	at := time.Date(2026, 1, 10, 8, 0, 0, 0, time.UTC)
	for status, want := range map[encounter.Status]string{
		encounter.StatusPlanned: "planned", encounter.StatusArrived: "arrived", encounter.StatusTriaged: "triaged",
		encounter.StatusInProgress: "in-progress", encounter.StatusDischarged: "finished", encounter.StatusCancelled: "cancelled",
	} {
		r := encounter.Record{ID: uuid.Must(uuid.NewV7()), PatientID: uuid.Must(uuid.NewV7()), Class: encounter.ClassEmergency,
			Status: status, Reason: "chest pain", Location: "ED bay 3", ArrivedAt: &at, Version: 2}
		got := FromEncounter(r)
		shape(t, got, "status", "class")
		if got.Status != want || !slices.Contains(EncounterStatuses, got.Status) || got.Class.System != SystemActCode ||
			got.Class.Code != "EMER" || got.Period.Start != "2026-01-10T08:00:00Z" || got.ReasonCode[0].Text != "chest pain" ||
			got.Location[0].Location.Display != "ED bay 3" {
			t.Errorf("%s mapped as %+v", status, got)
		}
		if back, ok := EncounterStatusOf(want); !ok || back != status {
			t.Errorf("%s does not map back to %s", want, status)
		}
	}
}

func TestFromAllergy(t *testing.T) {
	for _, v := range allergy.VerificationStatuses {
		a := allergy.Allergy{ID: uuid.Must(uuid.NewV7()), PatientID: uuid.Must(uuid.NewV7()), Version: 1, Details: allergy.Details{
			Substance: allergy.Substance{Text: "Penicillin", Code: &allergy.Code{System: "http://snomed.info/sct", Code: "764146007"}},
			Category:  allergy.CategoryMedication, Criticality: allergy.CriticalityHigh, Type: allergy.TypeAllergy,
			ClinicalStatus: allergy.ClinicalActive, VerificationStatus: v,
			Reactions: []allergy.Reaction{{Manifestations: []string{"Hives"}, Severity: allergy.SeverityModerate}},
		}}
		got := FromAllergy(a)
		shape(t, got, "patient", "verificationStatus")
		// ait-1 and ait-2: a clinical status unless entered in error.
		if (got.ClinicalStatus == nil) != (v == allergy.VerificationEnteredInError) {
			t.Errorf("%s: clinical status %+v", v, got.ClinicalStatus)
		}
		if got.ClinicalStatus != nil && (got.ClinicalStatus.Coding[0].System != SystemAllergyClinical ||
			!slices.Contains(allergyClinical, got.ClinicalStatus.Coding[0].Code)) {
			t.Errorf("clinical status %+v", got.ClinicalStatus)
		}
		if got.VerificationStatus.Coding[0].System != SystemAllergyVerification || !slices.Contains(allergyVerification, got.VerificationStatus.Coding[0].Code) ||
			got.Code.Coding[0].Code != "764146007" || got.Code.Text != "Penicillin" || got.Category[0] != "medication" ||
			got.Criticality != "high" || got.Reaction[0].Manifestation[0].Text != "Hives" || got.Patient.Reference != "Patient/"+a.PatientID.String() {
			t.Errorf("%s mapped as %+v", v, got)
		}
	}
}
