package fhir

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/medication"
	"github.com/zarish-sphere/zarish/domain/prescription"
)

func medicationRequestBody(extra string) string {
	return `{"resourceType":"MedicationRequest","status":"active","intent":"order",
		"medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"723","display":"amoxicillin"}],"text":"Amoxicillin"},
		"subject":{"reference":"Patient/` + parsePatientID.String() + `"},
		"encounter":{"reference":"Encounter/` + parseEncounterID.String() + `"},
		"requester":{"reference":"Practitioner/` + parseClinician.String() + `"},
		"reasonCode":[{"text":"community-acquired pneumonia"}],
		"dosageInstruction":[{"doseAndRate":[{"doseQuantity":{"value":500,"unit":"mg","system":"http://unitsofmeasure.org","code":"mg"}}],
			"route":{"coding":[{"system":"http://snomed.info/sct","code":"26643006"}]},
			"timing":{"repeat":{"frequency":1,"period":8,"periodUnit":"h"}}` + extra + `}],
		"dispenseRequest":{"quantity":{"value":21,"unit":"capsule"},"expectedSupplyDuration":{"value":7,"unit":"days","system":"http://unitsofmeasure.org","code":"d"}}}`
}

func TestFHIRParseMedicationRequestReadsAnOrder(t *testing.T) {
	got, m, err := ParseMedicationRequest([]byte(medicationRequestBody("")))
	if err != nil {
		t.Fatal(err)
	}
	want := PrescriptionCreate{PatientID: parsePatientID, EncounterID: &parseEncounterID, MedicationCode: "723",
		MedicationName: "Amoxicillin", DoseValue: 500, DoseUnit: "mg", Route: "oral", Frequency: "q8h", DurationDays: 7,
		Indication: "community-acquired pneumonia", QuantityValue: 21, QuantityUnit: "capsule", Requester: parseClinician}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read\n%+v\nwant\n%+v", got, want)
	}
	for field, el := range map[string]string{
		"medication":   "MedicationRequest.medicationCodeableConcept.coding[0].code",
		"dose.value":   "MedicationRequest.dosageInstruction[0].doseAndRate[0].doseQuantity.value",
		"dose.unit":    "MedicationRequest.dosageInstruction[0].doseAndRate[0].doseQuantity.unit",
		"route":        "MedicationRequest.dosageInstruction[0].route.coding[0].code",
		"frequency":    "MedicationRequest.dosageInstruction[0].timing.repeat",
		"patientId":    "MedicationRequest.subject",
		"durationDays": "MedicationRequest.dispenseRequest.expectedSupplyDuration",
	} {
		if got, ok := m.Element(field); !ok || got != el {
			t.Errorf("%s is read as %q, want %q", field, got, el)
		}
	}
}

// A prescription the API serves reads back as the order it was placed
// with.
func TestFHIRParseMedicationRequestReadsFromPrescriptionsOwnOutput(t *testing.T) {
	kb, err := medication.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	drug, err := kb.Resolve("723", "")
	if err != nil {
		t.Fatal(err)
	}
	order := medication.Order{Code: "723", Dose: 500, DoseUnit: "mg", Route: "PO", Frequency: "TDS", DurationDays: 5,
		PRN: true, Indication: "otitis media"}
	p, err := prescription.New(prescription.Details{ID: uuid.Must(uuid.NewV7()), PatientID: parsePatientID, Drug: drug,
		PrescriberID: parseClinician, Order: order, Quantity: prescription.Quantity{Value: 15, Unit: "capsule"},
		CreatedAt: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	out := FromPrescription(p)
	out.Meta, out.AuthoredOn = nil, ""
	// The text is the server's rendering of the structured dosage.
	out.DosageInstruction[0].Text = ""
	got, _, err := ParseMedicationRequest(withoutID(t, out))
	if err != nil {
		t.Fatal(err)
	}
	// The drug comes back by its RxNorm code and its knowledge-base id.
	want := PrescriptionCreate{PatientID: parsePatientID, MedicationCode: "723", MedicationName: drug.ID, DoseValue: 500,
		DoseUnit: "mg", Route: "PO", Frequency: "TDS", DurationDays: 5, PRN: true, Indication: "otitis media",
		QuantityValue: 15, QuantityUnit: "capsule", Requester: parseClinician}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, want)
	}
}

func TestFHIRParseMedicationRequestRefusesWhatItCannotPrescribe(t *testing.T) {
	for _, tc := range []struct {
		name, body, element, code string
	}{
		{"a plan", `{"resourceType":"MedicationRequest","status":"active","intent":"plan"}`, "MedicationRequest.intent", IssueNotSupported},
		{"no intent", `{"resourceType":"MedicationRequest","status":"active"}`, "MedicationRequest.intent", IssueRequired},
		{"a completed order", `{"resourceType":"MedicationRequest","status":"completed","intent":"order"}`, "MedicationRequest.status", IssueBusinessRule},
		{"a medication reference", `{"resourceType":"MedicationRequest","medicationReference":{"reference":"Medication/1"}}`,
			"MedicationRequest.medicationReference", IssueNotSupported},
		{"no medication", `{"resourceType":"MedicationRequest","status":"active","intent":"order"}`, "MedicationRequest.medication[x]", IssueRequired},
		{"a SNOMED drug", `{"resourceType":"MedicationRequest","medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"27658006"}]}}`,
			"MedicationRequest.medicationCodeableConcept.coding[0]", IssueNotSupported},
		{"authored on", `{"resourceType":"MedicationRequest","authoredOn":"2026-11-25T09:00:00Z"}`, "MedicationRequest.authoredOn", IssueBusinessRule},
		{"a free-text dosage", medicationRequestBody(`,"text":"500 mg three times a day with food"`), "MedicationRequest.dosageInstruction[0].text", IssueNotSupported},
		{"patient instructions", medicationRequestBody(`,"patientInstruction":"with food"`), "MedicationRequest.dosageInstruction[0].patientInstruction", IssueNotSupported},
		{"a dose range", medicationRequestBody(`,"doseAndRate":[{"doseRange":{"low":{"value":1}}}]`), "MedicationRequest.dosageInstruction[0].doseAndRate[0].doseRange", IssueNotSupported},
		{"a repeat of weekdays", `{"resourceType":"MedicationRequest","dosageInstruction":[{"timing":{"repeat":{"dayOfWeek":["mon"]}}}]}`,
			"MedicationRequest.dosageInstruction[0].timing.repeat.dayOfWeek", IssueNotSupported},
		{"twice every 3 days", `{"resourceType":"MedicationRequest","dosageInstruction":[{"timing":{"repeat":{"frequency":2,"period":3,"periodUnit":"d"}}}]}`,
			"MedicationRequest.dosageInstruction[0].timing.repeat", IssueNotSupported},
		{"an unknown route code", `{"resourceType":"MedicationRequest","dosageInstruction":[{"route":{"coding":[{"system":"http://snomed.info/sct","code":"1"}]}}]}`,
			"MedicationRequest.dosageInstruction[0].route.coding[0].code", IssueInvalid},
		{"two dosages", `{"resourceType":"MedicationRequest","dosageInstruction":[{"asNeededBoolean":true},{"asNeededBoolean":true}]}`,
			"MedicationRequest.dosageInstruction[1]", IssueNotSupported},
		{"a supply in weeks", `{"resourceType":"MedicationRequest","dispenseRequest":{"expectedSupplyDuration":{"value":1,"code":"wk"}}}`,
			"MedicationRequest.dispenseRequest.expectedSupplyDuration.code", IssueInvalid},
		{"refills", `{"resourceType":"MedicationRequest","dispenseRequest":{"numberOfRepeatsAllowed":2}}`,
			"MedicationRequest.dispenseRequest.numberOfRepeatsAllowed", IssueNotSupported},
		{"a requester organization", `{"resourceType":"MedicationRequest","requester":{"reference":"Organization/` + parseClinician.String() + `"}}`,
			"MedicationRequest.requester.reference", IssueInvalid},
		{"a substitution", `{"resourceType":"MedicationRequest","substitution":{"allowedBoolean":false}}`, "MedicationRequest.substitution", IssueNotSupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ParseMedicationRequest([]byte(tc.body))
			if is := issueAt(t, err, tc.element); is.Code != tc.code {
				t.Errorf("issue code %q, want %q (%s)", is.Code, tc.code, is.Diagnostics)
			}
		})
	}
}
