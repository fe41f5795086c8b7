package fhir

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/diagnostic"
)

func TestFHIRParseServiceRequestReadsAnOrder(t *testing.T) {
	body := `{"resourceType":"ServiceRequest","status":"active","intent":"order","priority":"stat",
		"category":[{"coding":[{"system":"http://snomed.info/sct","code":"108252007","display":"Laboratory procedure"}]}],
		"code":{"coding":[{"system":"http://loinc.org","code":"2823-3","display":"Potassium"}]},
		"subject":{"reference":"Patient/` + parsePatientID.String() + `"},
		"encounter":{"reference":"Encounter/` + parseEncounterID.String() + `"},
		"requester":{"reference":"Practitioner/` + parseClinician.String() + `"},
		"reasonCode":[{"text":"on furosemide"}],"note":[{"text":"avoid haemolysis"}]}`
	got, m, err := ParseServiceRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := OrderCreate{PatientID: parsePatientID, EncounterID: &parseEncounterID, Tests: []string{"2823-3"},
		Priority: diagnostic.PriorityStat, ClinicalInformation: "on furosemide", SpecimenNotes: "avoid haemolysis",
		Requester: parseClinician}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read\n%+v\nwant\n%+v", got, want)
	}
	for field, el := range map[string]string{
		"tests[0]":            "ServiceRequest.code.coding[0].code",
		"tests":               "ServiceRequest.code",
		"priority":            "ServiceRequest.priority",
		"patientId":           "ServiceRequest.subject",
		"clinicalInformation": "ServiceRequest.reasonCode[0].text",
	} {
		if got, ok := m.Element(field); !ok || got != el {
			t.Errorf("%s is read as %q, want %q", field, got, el)
		}
	}
}

// An order of several tests the API serves reads back as its tests.
func TestFHIRParseServiceRequestReadsFromOrdersOwnOutput(t *testing.T) {
	cat, err := diagnostic.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	r, err := diagnostic.New(diagnostic.Request{ID: uuid.Must(uuid.NewV7()), PatientID: parsePatientID, Tests: []string{"2823-3", "1988-5"},
		Priority: diagnostic.PriorityUrgent, ClinicalInfo: "sepsis screen", OrdererID: parseClinician, CreatedAt: time.Now().UTC()}, cat)
	if err != nil {
		t.Fatal(err)
	}
	out := FromOrder(r)
	out.Meta, out.AuthoredOn = nil, ""
	got, m, err := ParseServiceRequest(withoutID(t, out))
	if err != nil {
		t.Fatal(err)
	}
	want := OrderCreate{PatientID: parsePatientID, Tests: []string{"2823-3", "1988-5"}, Priority: diagnostic.PriorityUrgent,
		ClinicalInformation: "sepsis screen", Requester: parseClinician}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, want)
	}
	if el, _ := m.Element("tests[1]"); el != "ServiceRequest.orderDetail[1].coding[0].code" {
		t.Errorf("tests[1] is read as %q", el)
	}
}

func TestFHIRParseServiceRequestRefusesWhatItCannotOrder(t *testing.T) {
	for _, tc := range []struct {
		name, body, element, code string
	}{
		{"a proposal", `{"resourceType":"ServiceRequest","status":"active","intent":"proposal"}`, "ServiceRequest.intent", IssueNotSupported},
		{"a draft", `{"resourceType":"ServiceRequest","status":"draft","intent":"order"}`, "ServiceRequest.status", IssueBusinessRule},
		{"no code", `{"resourceType":"ServiceRequest","status":"active","intent":"order"}`, "ServiceRequest.code", IssueRequired},
		{"two codings", `{"resourceType":"ServiceRequest","code":{"coding":[{"system":"http://loinc.org","code":"2823-3"},{"system":"http://loinc.org","code":"1988-5"}]}}`,
			"ServiceRequest.code.coding[1]", IssueInvalid},
		{"a local code", `{"resourceType":"ServiceRequest","code":{"coding":[{"system":"urn:lab:local","code":"K"}]}}`,
			"ServiceRequest.code.coding[0]", IssueNotSupported},
		{"a body site", `{"resourceType":"ServiceRequest","bodySite":[{"text":"left knee"}]}`, "ServiceRequest.bodySite", IssueNotSupported},
		{"an occurrence", `{"resourceType":"ServiceRequest","occurrenceDateTime":"2026-11-26T09:00:00Z"}`, "ServiceRequest.occurrenceDateTime", IssueNotSupported},
		{"a foreign category", `{"resourceType":"ServiceRequest","category":[{"coding":[{"system":"http://snomed.info/sct","code":"409063005"}]}]}`,
			"ServiceRequest.category[0].coding[0]", IssueNotSupported},
		{"two notes", `{"resourceType":"ServiceRequest","note":[{"text":"a"},{"text":"b"}]}`, "ServiceRequest.note[1]", IssueNotSupported},
		{"a coded reason", `{"resourceType":"ServiceRequest","reasonCode":[{"coding":[{"code":"x"}]}]}`, "ServiceRequest.reasonCode[0].coding", IssueNotSupported},
		{"a subject by display", `{"resourceType":"ServiceRequest","subject":{"display":"Amina"}}`, "ServiceRequest.subject.reference", IssueRequired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ParseServiceRequest([]byte(tc.body))
			if is := issueAt(t, err, tc.element); is.Code != tc.code {
				t.Errorf("issue code %q, want %q (%s)", is.Code, tc.code, is.Diagnostics)
			}
		})
	}
}
