package fhir

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/patient"
)

// issueAt is the refusal's issue naming element, failing when there is none.
func issueAt(t *testing.T, err error, element string) Issue {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("want a ParseError naming %s, got %v", element, err)
	}
	for _, is := range pe.Issues {
		if slices.Equal(is.Expression, []string{element}) {
			if is.Severity != "error" || is.Diagnostics == "" {
				t.Errorf("issue %+v", is)
			}
			return is
		}
	}
	t.Fatalf("no issue names %s: %+v", element, pe.Issues)
	return Issue{}
}

const fullPatient = `{"resourceType":"Patient","meta":{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]},
	"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Amina Begum</div>"},
	"active":true,
	"identifier":[{"system":"urn:bd:nid","value":"1988123456"}],
	"name":[{"use":"official","family":"Begum","given":["Amina","Khatun"]}],
	"telecom":[{"system":"phone","value":"+880 1700-000001","use":"mobile"},{"system":"email","value":"amina@example.org"}],
	"gender":"female","birthDate":"1988-02-29",
	"address":[{"use":"home","line":["House 12","Road 4"],"city":"Dhaka","district":"Dhaka","postalCode":"1207","country":"BD"}],
	"contact":[{"relationship":[{"text":"sister"}],"name":{"text":"Rokeya Begum"},"telecom":[{"system":"phone","value":"+880 1700-000002"}]}]}`

func TestFHIRParsePatientReadsWhatTheRegisterKeeps(t *testing.T) {
	d, _, err := ParsePatient([]byte(fullPatient))
	if err != nil {
		t.Fatal(err)
	}
	want := patient.Details{
		Name:      patient.Name{Given: []string{"Amina", "Khatun"}, Family: "Begum"},
		BirthDate: "1988-02-29", Sex: "female",
		Telecom: []patient.ContactPoint{{System: "phone", Value: "+880 1700-000001", Use: "mobile"},
			{System: "email", Value: "amina@example.org"}},
		Address: []patient.Address{{Use: "home", Line: []string{"House 12", "Road 4"}, City: "Dhaka", District: "Dhaka",
			PostalCode: "1207", Country: "BD"}},
		EmergencyContacts: []patient.EmergencyContact{{Name: "Rokeya Begum", Relationship: "sister", Phone: "+880 1700-000002"}},
		Identifiers:       []patient.Identifier{{System: "urn:bd:nid", Value: "1988123456"}},
	}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("read\n%+v\nwant\n%+v", d, want)
	}
	if err := d.Validate(time.Now()); err != nil {
		t.Errorf("the details read are not a valid registration: %v", err)
	}
}

// A Patient read back from the API reads as the same details, once its
// server-assigned elements (id, meta, the MRN) are left out.
func TestFHIRParsePatientReadsFromPatientsOwnOutput(t *testing.T) {
	want := patient.Details{Name: patient.Name{Given: []string{"Rahim"}, Family: "Uddin"}, BirthDate: "1975-07-01", Sex: "male",
		Telecom:           []patient.ContactPoint{{System: "phone", Value: "+8801700000003"}},
		Address:           []patient.Address{{City: "Sylhet", Country: "BD"}},
		EmergencyContacts: []patient.EmergencyContact{{Name: "Karim", Relationship: "brother", Phone: "+8801700000004"}},
	}
	p, err := patient.NewPatient(uuid.Must(uuid.NewV7()), patient.FormatMRN(1), want, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	out := FromPatient(p)
	out.Meta, out.Identifier = nil, nil
	raw := withoutID(t, out)
	got, _, err := ParsePatient(raw)
	if err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, want)
	}
}

// withoutID is resource as JSON, its id left out as a create sends it.
func withoutID(t *testing.T, resource any) []byte {
	t.Helper()
	raw, err := json.Marshal(resource)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "id")
	raw, _ = json.Marshal(m)
	return raw
}

func TestFHIRParsePatientRefusesWhatItCannotKeep(t *testing.T) {
	for _, tc := range []struct {
		name, body, element, code string
		unprocessable             bool
	}{
		{"not JSON", `{"resourceType":`, "Patient", IssueStructure, false},
		{"two values", `{"resourceType":"Patient"} {}`, "Patient", IssueStructure, false},
		{"another type", `{"resourceType":"Observation"}`, "resourceType", IssueInvalid, false},
		{"no type", `{"gender":"male"}`, "resourceType", IssueRequired, false},
		{"an id", `{"resourceType":"Patient","id":"abc"}`, "Patient.id", IssueInvalid, false},
		{"a version", `{"resourceType":"Patient","meta":{"versionId":"3"}}`, "Patient.meta.versionId", IssueInvalid, false},
		{"meta tags", `{"resourceType":"Patient","meta":{"tag":[{"code":"x"}]}}`, "Patient.meta.tag", IssueNotSupported, true},
		{"an extension", `{"resourceType":"Patient","extension":[{"url":"http://x"}]}`, "Patient.extension", IssueNotSupported, true},
		{"a primitive's extension", `{"resourceType":"Patient","_birthDate":{"extension":[]}}`, "Patient._birthDate", IssueNotSupported, true},
		{"deceased", `{"resourceType":"Patient","deceasedBoolean":false}`, "Patient.deceasedBoolean", IssueNotSupported, true},
		{"a second name", `{"resourceType":"Patient","name":[{"family":"A","given":["B"]},{"family":"C"}]}`, "Patient.name[1]", IssueNotSupported, true},
		{"a name prefix", `{"resourceType":"Patient","name":[{"family":"A","prefix":["Dr"]}]}`, "Patient.name[0].prefix", IssueNotSupported, true},
		{"a maiden name", `{"resourceType":"Patient","name":[{"use":"maiden","family":"A"}]}`, "Patient.name[0].use", IssueNotSupported, true},
		{"given as a string", `{"resourceType":"Patient","name":[{"given":"Amina"}]}`, "Patient.name[0].given", IssueStructure, false},
		{"an empty family", `{"resourceType":"Patient","name":[{"family":" "}]}`, "Patient.name[0].family", IssueInvalid, false},
		{"a null", `{"resourceType":"Patient","gender":null}`, "Patient.gender", IssueStructure, false},
		{"gender a number", `{"resourceType":"Patient","gender":1}`, "Patient.gender", IssueStructure, false},
		{"our MRN", `{"resourceType":"Patient","identifier":[{"system":"urn:bd:nid","value":"1"},{"system":"urn:zarish:mrn","value":"10000016"}]}`,
			"Patient.identifier[1].system", IssueBusinessRule, true},
		{"an identifier type", `{"resourceType":"Patient","identifier":[{"type":{"text":"NID"},"system":"urn:bd:nid","value":"1"}]}`,
			"Patient.identifier[0].type", IssueNotSupported, true},
		{"an inactive patient", `{"resourceType":"Patient","active":false}`, "Patient.active", IssueBusinessRule, true},
		{"an empty telecom list", `{"resourceType":"Patient","telecom":[]}`, "Patient.telecom", IssueStructure, false},
		{"a telecom rank", `{"resourceType":"Patient","telecom":[{"system":"phone","value":"+8801700000001","rank":1}]}`,
			"Patient.telecom[0].rank", IssueNotSupported, true},
		{"an address text", `{"resourceType":"Patient","address":[{"text":"Dhaka"}]}`, "Patient.address[0].text", IssueNotSupported, true},
		{"a contact's email", `{"resourceType":"Patient","contact":[{"name":{"text":"K"},"telecom":[{"system":"email","value":"k@example.org"}]}]}`,
			"Patient.contact[0].telecom[0].system", IssueNotSupported, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ParsePatient([]byte(tc.body))
			is := issueAt(t, err, tc.element)
			if is.Code != tc.code {
				t.Errorf("issue code %q, want %q (%s)", is.Code, tc.code, is.Diagnostics)
			}
			var pe *ParseError
			if errors.As(err, &pe); pe.Unprocessable() != tc.unprocessable {
				t.Errorf("unprocessable %v, want %v: %+v", pe.Unprocessable(), tc.unprocessable, pe.Issues)
			}
		})
	}
}

// Every problem is named at once.
func TestFHIRParsePatientNamesEveryProblem(t *testing.T) {
	_, _, err := ParsePatient([]byte(`{"resourceType":"Patient","id":"x","photo":[{}],"name":[{"family":"A","suffix":["Jr"]}]}`))
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatal(err)
	}
	var got []string
	for _, is := range pe.Issues {
		got = append(got, is.Expression...)
	}
	slices.Sort(got)
	if want := []string{"Patient.id", "Patient.name[0].suffix", "Patient.photo"}; !slices.Equal(got, want) {
		t.Errorf("named %v, want %v", got, want)
	}
}

// The register's own refusals, named by its field, read as the elements
// they came from.
func TestFHIRPatientElementsOfTheRegistersFields(t *testing.T) {
	_, m, err := ParsePatient([]byte(fullPatient))
	if err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string]string{
		"birthDate":                  "Patient.birthDate",
		"sex":                        "Patient.gender",
		"name.family":                "Patient.name[0].family",
		"name.given[1]":              "Patient.name[0].given[1]",
		"telecom[1].value":           "Patient.telecom[1].value",
		"address[0].country":         "Patient.address[0].country",
		"address[0]":                 "Patient.address[0]",
		"identifiers[0]":             "Patient.identifier[0]",
		"emergencyContacts[0].phone": "Patient.contact[0].telecom[0].value",
		"emergencyContacts[0].name":  "Patient.contact[0].name.text",
	} {
		if got, ok := m.Element(field); !ok || got != want {
			t.Errorf("%s is read as %q (%v), want %q", field, got, ok, want)
		}
	}
	if got, ok := m.Element("Idempotency-Key"); ok {
		t.Errorf("a header is named %q", got)
	}
}
