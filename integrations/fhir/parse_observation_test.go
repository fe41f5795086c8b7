package fhir

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/observation"
)

var (
	parsePatientID   = uuid.MustParse("0193c0de-0000-7000-8000-0000000000a1")
	parseEncounterID = uuid.MustParse("0193c0de-0000-7000-8000-0000000000e1")
	parseClinician   = uuid.MustParse("0193c0de-0000-7000-8000-0000000000c1")
)

func TestFHIRParseObservationReadsAQuantity(t *testing.T) {
	body := `{"resourceType":"Observation","status":"final",
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs","display":"Vital Signs"}]}],
		"code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}],"text":"Heart rate"},
		"subject":{"reference":"Patient/` + parsePatientID.String() + `"},
		"encounter":{"reference":"Encounter/` + parseEncounterID.String() + `"},
		"effectiveDateTime":"2026-11-25T09:00:00+06:00","issued":"2026-11-25T03:05:00Z",
		"performer":[{"reference":"Practitioner/` + parseClinician.String() + `"}],
		"valueQuantity":{"value":72,"unit":"beats/minute","system":"http://unitsofmeasure.org","code":"/min"},
		"method":{"text":"palpation"},"device":{"display":"monitor 4"}}`
	got, m, err := ParseObservation([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	issued := time.Date(2026, 11, 25, 3, 5, 0, 0, time.UTC)
	want := observation.Input{PatientID: parsePatientID, EncounterID: &parseEncounterID, Category: observation.CategoryVitalSigns,
		Code: observation.CodeHeartRate, Value: &observation.ValueInput{Value: fl(72), Unit: "/min"}, EffectiveAt: at,
		Issued: &issued, Status: observation.StatusFinal, Method: "palpation", Device: "monitor 4"}
	if !got.Input.EffectiveAt.Equal(at) || !got.Input.Issued.Equal(issued) {
		t.Errorf("times %v %v", got.Input.EffectiveAt, got.Input.Issued)
	}
	got.Input.EffectiveAt, got.Input.Issued = at, &issued
	if !reflect.DeepEqual(got.Input, want) || got.Performer != parseClinician {
		t.Errorf("read\n%+v\nwant\n%+v (performer %v)", got.Input, want, got.Performer)
	}
	for field, el := range map[string]string{
		"code":        "Observation.code.coding[0].code",
		"value.unit":  "Observation.valueQuantity.code",
		"value.value": "Observation.valueQuantity.value",
		"value":       "Observation.valueQuantity",
		"patientId":   "Observation.subject",
		"effectiveAt": "Observation.effectiveDateTime",
		"category":    "Observation.category[0].coding[0].code",
	} {
		if got, ok := m.Element(field); !ok || got != el {
			t.Errorf("%s is read as %q, want %q", field, got, el)
		}
	}
}

func TestFHIRParseObservationReadsABloodPressurePanel(t *testing.T) {
	body := `{"resourceType":"Observation","status":"preliminary",
		"code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},
		"subject":{"reference":"Patient/` + parsePatientID.String() + `"},"effectiveInstant":"2026-11-25T03:00:00Z",
		"component":[
			{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":128,"unit":"mm[Hg]"}},
			{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":82,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}`
	got, m, err := ParseObservation([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []observation.ComponentInput{{Code: observation.CodeSystolicBP, Value: fl(128), Unit: "mm[Hg]"},
		{Code: observation.CodeDiastolicBP, Value: fl(82), Unit: "mm[Hg]"}}
	if got.Input.Code != observation.CodeBloodPressurePanel || !reflect.DeepEqual(got.Input.Components, want) ||
		got.Input.Status != observation.StatusPreliminary || got.Input.Value != nil {
		t.Errorf("read %+v", got.Input)
	}
	for field, el := range map[string]string{
		"components[0].unit":  "Observation.component[0].valueQuantity.unit",
		"components[1].unit":  "Observation.component[1].valueQuantity.code",
		"components[1].value": "Observation.component[1].valueQuantity.value",
		"components[1].code":  "Observation.component[1].code.coding[0].code",
		"components":          "Observation.component",
		"effectiveAt":         "Observation.effectiveInstant",
	} {
		if got, ok := m.Element(field); !ok || got != el {
			t.Errorf("%s is read as %q, want %q", field, got, el)
		}
	}
}

// An observation the API serves reads back as the input it was made of.
func TestFHIRParseObservationReadsFromObservationsOwnOutput(t *testing.T) {
	in := observation.Input{PatientID: parsePatientID, Code: observation.CodeBloodPressurePanel, Status: observation.StatusFinal,
		EffectiveAt: time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC),
		Components: []observation.ComponentInput{{Code: observation.CodeSystolicBP, Value: fl(128), Unit: "mm[Hg]"},
			{Code: observation.CodeDiastolicBP, Value: fl(82), Unit: "mm[Hg]"}}}
	o, err := observation.New(uuid.Must(uuid.NewV7()), in, observation.Subject{Sex: observation.SexFemale, AgeMonths: 400},
		observation.Performer{ClientID: "monitor"}, time.Date(2026, 11, 25, 3, 1, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	out := FromObservation(o)
	// What the engine computes is its own, not the create's.
	out.Meta, out.Interpretation, out.Issued = nil, nil, ""
	for i := range out.Component {
		out.Component[i].Interpretation, out.Component[i].ReferenceRange = nil, nil
	}
	got, _, err := ParseObservation(withoutID(t, out))
	if err != nil {
		t.Fatal(err)
	}
	in.Category = observation.CategoryVitalSigns
	if !reflect.DeepEqual(got.Input, in) {
		t.Errorf("read back\n%+v\nwant\n%+v", got.Input, in)
	}
}

func TestFHIRParseObservationRefusesWhatItCannotRecord(t *testing.T) {
	subject := `"subject":{"reference":"Patient/` + parsePatientID.String() + `"}`
	base := `"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},` +
		subject + `,"effectiveDateTime":"2026-11-25T03:00:00Z"`
	for _, tc := range []struct {
		name, body, element, code string
	}{
		{"no status", `{"resourceType":"Observation"}`, "Observation.status", IssueRequired},
		{"no code", `{"resourceType":"Observation","status":"final"}`, "Observation.code", IssueRequired},
		{"no subject", `{"resourceType":"Observation","status":"final"}`, "Observation.subject", IssueRequired},
		{"a SNOMED code alone", `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://snomed.info/sct","code":"364075005"}]}}`,
			"Observation.code.coding[0]", IssueNotSupported},
		{"a SNOMED translation", `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"},{"system":"http://snomed.info/sct","code":"364075005"}]}}`,
			"Observation.code.coding[1]", IssueNotSupported},
		{"two LOINC codes", `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"},{"system":"http://loinc.org","code":"8310-5"}]}}`,
			"Observation.code.coding[1]", IssueInvalid},
		{"a coding with no code", `{"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org"}]}}`, "Observation.code.coding[0].code", IssueRequired},
		{"a subject by identifier", `{"resourceType":"Observation","subject":{"identifier":{"value":"1"}}}`, "Observation.subject.identifier", IssueNotSupported},
		{"a subject of another type", `{"resourceType":"Observation","subject":{"reference":"Group/` + parsePatientID.String() + `"}}`,
			"Observation.subject.reference", IssueInvalid},
		{"a subject that is no id", `{"resourceType":"Observation","subject":{"reference":"Patient/123"}}`, "Observation.subject.reference", IssueInvalid},
		{"a date without a time", `{` + base + `,"issued":"2026-11-25"}`, "Observation.issued", IssueInvalid},
		{"an effective period", `{` + base + `,"effectivePeriod":{"start":"2026-11-25T03:00:00Z"}}`, "Observation.effectivePeriod", IssueNotSupported},
		{"two effective times", `{` + base + `,"effectiveInstant":"2026-11-25T03:00:00Z"}`, "Observation.effectiveInstant", IssueInvalid},
		{"two values", `{` + base + `,"valueQuantity":{"value":72,"code":"/min"},"valueString":"72"}`, "Observation.valueString", IssueInvalid},
		{"an integer value", `{` + base + `,"valueInteger":72}`, "Observation.valueInteger", IssueNotSupported},
		{"a quantity of another system", `{` + base + `,"valueQuantity":{"value":72,"system":"http://example.org","code":"bpm"}}`,
			"Observation.valueQuantity.system", IssueInvalid},
		{"a comparator", `{` + base + `,"valueQuantity":{"value":72,"comparator":"<","code":"/min"}}`, "Observation.valueQuantity.comparator", IssueNotSupported},
		{"a value that is text", `{` + base + `,"valueQuantity":{"value":"72","code":"/min"}}`, "Observation.valueQuantity.value", IssueStructure},
		{"an interpretation", `{` + base + `,"interpretation":[{"coding":[{"code":"H"}]}]}`, "Observation.interpretation", IssueNotSupported},
		{"a note", `{` + base + `,"note":[{"text":"x"}]}`, "Observation.note", IssueNotSupported},
		{"a component without a quantity", `{` + base + `,"component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]}}]}`,
			"Observation.component[0].valueQuantity", IssueRequired},
		{"a category of another system", `{` + base + `,"category":[{"coding":[{"system":"http://example.org","code":"vitals"}]}]}`,
			"Observation.category[0].coding[0]", IssueNotSupported},
		{"two categories", `{` + base + `,"category":[{"coding":[{"system":"` + SystemObservationCategory + `","code":"vital-signs"}]},` +
			`{"coding":[{"system":"` + SystemObservationCategory + `","code":"laboratory"}]}]}`, "Observation.category[1].coding[0].code", IssueInvalid},
		{"a performer organization", `{` + base + `,"performer":[{"reference":"Organization/` + parseClinician.String() + `"}]}`,
			"Observation.performer[0].reference", IssueInvalid},
		{"two performers", `{` + base + `,"performer":[{"reference":"Practitioner/` + parseClinician.String() + `"},{"reference":"Practitioner/` +
			parseClinician.String() + `"}]}`, "Observation.performer[1]", IssueNotSupported},
		{"a method code", `{` + base + `,"method":{"coding":[{"code":"x"}]}}`, "Observation.method.coding", IssueNotSupported},
		{"two reference ranges", `{` + base + `,"referenceRange":[{"low":{"value":1,"code":"/min"}},{"high":{"value":2,"code":"/min"}}]}`,
			"Observation.referenceRange[1]", IssueNotSupported},
		{"a range in two units", `{` + base + `,"referenceRange":[{"low":{"value":1,"code":"/min"},"high":{"value":2,"code":"/h"}}]}`,
			"Observation.referenceRange[0].high.code", IssueInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ParseObservation([]byte(tc.body))
			if is := issueAt(t, err, tc.element); is.Code != tc.code {
				t.Errorf("issue code %q, want %q (%s)", is.Code, tc.code, is.Diagnostics)
			}
		})
	}
	// A well-formed observation is the observation service's to judge: an
	// uncatalogued code or a wrong unit is refused there, by its field.
	if _, _, err := ParseObservation([]byte(`{` + base + `,"valueQuantity":{"value":72,"code":"kg"}}`)); err != nil {
		t.Errorf("a well-formed observation refused: %v", err)
	}
}
