package fhir

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/allergy"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careplan"
	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/medication"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/domain/prescription"
	"github.com/zarish-sphere/zarish/domain/procedure"
	"github.com/zarish-sphere/zarish/integrations/fhir/internal/official"
)

// schemaURL is where the compiler finds the official FHIR R4 JSON schema.
const schemaURL = "urn:zarish:fhir.schema.json"

var (
	schemaOnce     sync.Once
	schemaCompiler *jsonschema.Compiler
	schemaErr      error
	schemas        sync.Map // resource type → *jsonschema.Schema
)

// r4Schema is the official schema of resourceType (its definition in
// fhir.schema.json, which refuses any element the type does not have and
// any value of the wrong type).
func r4Schema(t *testing.T, resourceType string) *jsonschema.Schema {
	t.Helper()
	file := official.SchemaFile(t)
	schemaOnce.Do(func() {
		f, err := os.Open(file)
		if err != nil {
			schemaErr = err
			return
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			schemaErr = err
			return
		}
		withTechnicalCorrection(doc)
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft6)
		if schemaErr = c.AddResource(schemaURL, doc); schemaErr == nil {
			schemaCompiler = c
		}
	})
	if schemaErr != nil {
		t.Fatalf("the FHIR R4 schema %s: %v", file, schemaErr)
	}
	if s, ok := schemas.Load(resourceType); ok {
		return s.(*jsonschema.Schema)
	}
	s, err := schemaCompiler.Compile(schemaURL + "#/definitions/" + resourceType)
	if err != nil {
		t.Fatalf("the FHIR R4 schema of %s: %v", resourceType, err)
	}
	schemas.Store(resourceType, s)
	return s
}

// withTechnicalCorrection brings the schema from R4 4.0.0, as HL7 published
// its JSON schema, to 4.0.1, the R4 every server and example names: the
// FHIRVersion codes (CapabilityStatement.fhirVersion and the like) gain
// "4.0.1", which the R4 examples and our CapabilityStatement state. Nothing
// else is changed: the rest is HL7's schema as published.
func withTechnicalCorrection(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if codes, ok := x.([]any); ok && k == "enum" && slices.Contains(codes, any("4.0.0")) &&
				slices.Contains(codes, any("3.0.1")) && !slices.Contains(codes, any("4.0.1")) {
				v[k] = append(codes, "4.0.1")
				continue
			}
			withTechnicalCorrection(x)
		}
	case []any:
		for _, x := range v {
			withTechnicalCorrection(x)
		}
	}
}

// validateR4 checks v's JSON against the official schema of its
// resourceType, and returns the error (nil when it conforms).
func validateR4(t *testing.T, v any) (string, error) {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(raw, &head); err != nil || head.ResourceType == "" {
		t.Fatalf("%s has no resourceType: %v", raw, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return head.ResourceType, r4Schema(t, head.ResourceType).Validate(doc)
}

// mapped is one value a mapping of this package makes, named by the
// function that made it.
type mapped struct {
	by    string
	value any
}

// mappedResources maps a rich instance of every domain record this package
// maps, through every From* function (each named for the coverage check),
// and builds the resources the package assembles itself: an
// OperationOutcome, a searchset Bundle and a CapabilityStatement.
func mappedResources(t *testing.T) []mapped {
	t.Helper()
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	later := at.Add(2 * time.Hour)
	pid, enc, prac, order := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())

	p, err := patient.NewPatient(pid, patient.FormatMRN(1), patient.Details{
		Name: patient.Name{Given: []string{"Amina", "K."}, Family: "Begum"}, BirthDate: "1988-02-29", Sex: "female",
		Telecom:     []patient.ContactPoint{{System: "phone", Value: "+8801711000000"}},
		Address:     []patient.Address{{Line: []string{"House 4, Road 2"}, City: "Dhaka", PostalCode: "1207", Country: "BD"}},
		Identifiers: []patient.Identifier{{System: "urn:bd:nid", Value: "1990123456789"}},
	}, at)
	if err != nil {
		t.Fatal(err)
	}
	var observations []mapped
	for _, in := range []observation.Input{
		{PatientID: pid, EncounterID: &enc, Code: observation.CodeHeartRate, Status: observation.StatusFinal, EffectiveAt: at,
			Value: &observation.ValueInput{Value: fl(130), Unit: "/min"}},
		{PatientID: pid, Code: observation.CodeBloodPressurePanel, Status: observation.StatusPreliminary, EffectiveAt: at,
			Components: []observation.ComponentInput{{Code: observation.CodeSystolicBP, Value: fl(182), Unit: "mm[Hg]"},
				{Code: observation.CodeDiastolicBP, Value: fl(121), Unit: "mm[Hg]"}}},
	} {
		o, err := observation.New(uuid.Must(uuid.NewV7()), in, observation.Subject{Sex: observation.SexFemale, AgeMonths: 456},
			observation.Performer{ClientID: "ward-app", PractitionerID: &prac}, at)
		if err != nil {
			t.Fatal(err)
		}
		o.BasedOn = &order
		observations = append(observations, mapped{"FromObservation", FromObservation(o)})
	}
	rx, err := prescription.New(prescription.Details{
		ID: uuid.Must(uuid.NewV7()), PatientID: pid, EncounterID: &enc,
		Order: medication.Order{Code: "161", Name: "paracetamol", Dose: 1, DoseUnit: "g", Route: "po", Frequency: "q6h",
			DurationDays: 5, PRN: true, Indication: "fever"},
		Drug:     medication.Resolution{ID: "paracetamol", Name: "acetaminophen", Ingredients: []string{"paracetamol"}},
		Quantity: prescription.Quantity{Value: 20, Unit: "tablet"}, PrescriberID: prac, CreatedAt: at,
	})
	if err != nil {
		t.Fatal(err)
	}
	report := diagnostic.Report{
		Order: diagnostic.Order{ID: order, PatientID: pid, Priority: diagnostic.PriorityStat, ClinicalInfo: "confusion",
			SpecimenNotes: "fasting", OrdererID: prac, CreatedAt: at,
			Items: []diagnostic.Item{{Code: "2345-7", System: diagnostic.SystemLOINC, Kind: diagnostic.KindTest,
				Display: "Glucose [Mass/volume] in Serum or Plasma", ResultCodes: []string{"2345-7"}}}},
		Status:     diagnostic.StatusFinal,
		Specimens:  []diagnostic.Specimen{{Accession: "A1", CollectedAt: at.Add(time.Hour)}},
		Results:    []diagnostic.Result{{ObservationID: uuid.Must(uuid.NewV7()), Code: "2345-7", Display: "Glucose"}},
		ResultedAt: &later,
		Verification: &diagnostic.Verification{By: prac, At: later, Conclusion: "Hypoglycaemia",
			Codes: []diagnostic.Coding{{System: diagnostic.SystemSNOMED, Code: "302866003", Display: "Hypoglycemia"}}},
		Conclusion: "Hypoglycaemia",
		Codes:      []diagnostic.Coding{{System: diagnostic.SystemSNOMED, Code: "302866003", Display: "Hypoglycemia"}},
		Versions:   []diagnostic.Version{{Number: 1, Status: diagnostic.StatusFinal, At: later, By: prac}},
		Version:    3, UpdatedAt: later,
	}
	room, staff := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	proc := procedure.Procedure{
		Request: procedure.Request{ID: uuid.Must(uuid.NewV7()), PatientID: pid,
			Procedure: procedure.Coding{System: procedure.SystemSNOMED, Code: "80146002", Display: "Appendectomy"},
			Duration:  90 * time.Minute,
			Requirements: []procedure.Requirement{{Type: procedure.KindRoom, Capability: "operating-theatre"},
				{Type: procedure.KindStaff, Skill: "surgeon"}},
			Window: procedure.Period{From: at, To: at.Add(48 * time.Hour)}, Priority: procedure.PriorityUrgent,
			Notes: "latex allergy", CreatedAt: at.Add(-time.Hour)},
		Status: procedure.StatusBooked,
		Slot: &procedure.Slot{Period: procedure.Period{From: later, To: later.Add(90 * time.Minute)},
			Resources: [][]uuid.UUID{{room}, {staff}}, Team: []uuid.UUID{prac}},
		Version: 2, UpdatedAt: at,
	}
	directory := map[uuid.UUID]procedure.Resource{
		room:  {ID: room, Kind: procedure.KindRoom, Name: "Theatre 2"},
		staff: {ID: staff, Kind: procedure.KindStaff, Name: "Dr. Karim", PractitionerID: &prac},
	}
	until := at.AddDate(0, 1, 0)
	plan := careplan.CarePlan{ID: uuid.Must(uuid.NewV7()), PatientID: pid, Title: "Diabetes foot care", Description: "daily checks",
		Unit: "ward-3", Status: careplan.StatusActive, Period: careplan.Period{Start: at},
		Goals: []careplan.Goal{{ID: uuid.Must(uuid.NewV7()), Description: "No foot ulcer", Target: "intact skin", DueDate: "2026-06-01",
			Status: careplan.GoalActive, Achievement: "improving"}},
		Activities: []careplan.Activity{{ID: uuid.Must(uuid.NewV7()), Title: "Inspect both feet", OwnerID: prac,
			Status: careplan.ActivityInProgress, Schedule: careplan.Schedule{DueAt: at.Add(24 * time.Hour), Repeat: "P1D", Until: &until}}},
		Version: 4, CreatedAt: at, UpdatedAt: at.Add(time.Hour)}

	out := []mapped{
		{"FromPatient", FromPatient(p)},
		{"FromEncounter", FromEncounter(encounter.Record{ID: enc, PatientID: pid, Class: encounter.ClassEmergency,
			Status: encounter.StatusDischarged, Reason: "chest pain", Location: "ED bay 3", ArrivedAt: &at, Version: 2})},
		{"FromAllergy", FromAllergy(allergy.Allergy{ID: uuid.Must(uuid.NewV7()), PatientID: pid, Version: 1, Details: allergy.Details{
			Substance: allergy.Substance{Text: "Penicillin", Code: &allergy.Code{System: "http://snomed.info/sct", Code: "764146007"}},
			Category:  allergy.CategoryMedication, Criticality: allergy.CriticalityHigh, Type: allergy.TypeAllergy,
			ClinicalStatus: allergy.ClinicalActive, VerificationStatus: allergy.VerificationConfirmed,
			Reactions: []allergy.Reaction{{Manifestations: []string{"Hives"}, Severity: allergy.SeverityModerate}},
		}})},
		{"FromPractitioner", FromPractitioner(careteam.Practitioner{ID: prac, Name: "Dr. Karim", Roles: []careteam.Role{careteam.RoleNurse},
			Units: []string{"ward-3"}, Active: true, Contacts: []careteam.ContactPoint{{System: careteam.ContactEmail, Value: "karim@example.org"},
				{System: careteam.ContactPush, Value: "device-token"}}})},
		{"FromWorkflow", FromWorkflow(Workflow{ID: "encounter/" + enc.String(), Type: "Encounter", ExecutionStatus: "Completed",
			PatientID: pid.String(), BusinessStatus: "discharged", Start: at, Close: later})},
		{"FromWorkflow", FromWorkflow(Workflow{ID: "prescription/" + rx.Details.ID.String(), Type: "Prescription", ExecutionStatus: "Running",
			PatientID: pid.String(), BusinessStatus: "checks", Start: at})},
		{"FromCarePlan", FromCarePlan(plan)},
		{"FromAlert", FromAlert(alert.Record{ID: uuid.Must(uuid.NewV7()), PatientID: pid, EncounterID: &enc, Severity: alert.SeverityUrgent,
			Category: "critical-lab-value", Message: "Potassium 6.8 mmol/L", Status: alert.StatusResolved, RaisedAt: at, ResolvedAt: &later})},
		{"FromAuditRecord", FromAuditRecord(audit.Record{ID: uuid.Must(uuid.NewV7()), Time: at, Action: audit.ActionRead,
			EntityType: "Patient", EntityID: pid.String(), PatientID: &pid, Outcome: audit.OutcomeSuccess, SourceIP: "10.0.0.7",
			Actor: audit.Actor{ClientID: "ward-app", Subject: "ward-app", PractitionerID: prac.String()}, Purpose: "TREAT"})},
		{"FromPrescription", FromPrescription(rx)},
		{"FromOrder", FromOrder(report)},
		{"FromReport", FromReport(report)},
		{"FromProcedure", FromProcedure(proc)},
		{"FromBooking", FromBooking(proc, directory)},
		{"Outcome", Outcome(IssueInvalid, "birthDate must be a date", "Patient.birthDate")},
		{"SearchSet", SearchSet("https://fhir.example.org/fhir/R4", "https://fhir.example.org/fhir/R4/Patient?name=begum",
			"https://fhir.example.org/fhir/R4/Patient?name=begum&cursor=x", []Patient{FromPatient(p)}, false)},
		{"CapabilityStatement", CapabilityStatement{ResourceType: "CapabilityStatement", Status: "active", Date: "2026-03-01", Kind: "instance",
			Software:       &CapabilitySoftware{Name: "ZARISH SPHERE", Version: "test"},
			Implementation: &CapabilityImplementation{Description: "ZARISH SPHERE FHIR R4", URL: "https://fhir.example.org/fhir/R4"},
			FHIRVersion:    "4.0.1", Format: []string{"json"},
			Rest: []CapabilityRest{{Mode: "server",
				Security: &CapabilitySecurity{Service: []CodeableConcept{{Coding: []Coding{{System: "http://hl7.org/fhir/restful-security-service",
					Code: "SMART-on-FHIR"}}}}, Description: "OAuth2 bearer tokens"},
				Resource: []CapabilityResource{{Type: "Patient", Documentation: "_sort=name",
					Interaction: []CapabilityInteraction{{Code: "read"}, {Code: "search-type"}},
					SearchParam: []SearchParam{{Name: "identifier", Type: "token"}, {Name: "birthdate", Type: "date"}},
					Operation:   []CapabilityOperation{OperationEverything}}}}}}},
	}
	return append(out, observations...)
}

// Every resource this package maps validates against the official FHIR R4
// JSON schema: an element of the wrong name or type fails.
func TestMappingsConformToTheR4Schema(t *testing.T) {
	seen := map[string]int{}
	for _, m := range mappedResources(t) {
		typ, err := validateR4(t, m.value)
		seen[typ]++
		if err != nil {
			raw, _ := json.Marshal(m.value)
			t.Errorf("%s makes a %s the FHIR R4 schema refuses: %v\n%s", m.by, typ, err, raw)
		}
	}
	for _, typ := range []string{"Patient", "Observation", "Encounter", "AllergyIntolerance", "Practitioner", "Task",
		"OperationOutcome", "Bundle", "CapabilityStatement", "CarePlan", "Flag", "AuditEvent", "MedicationRequest",
		"ServiceRequest", "DiagnosticReport", "Procedure", "Appointment"} {
		if seen[typ] == 0 {
			t.Errorf("no %s was checked", typ)
		}
	}
}

// Every From* function of the package is among those the schema test
// maps: a mapping added later fails here until it is checked too.
func TestSchemaCheckCoversEveryMapping(t *testing.T) {
	covered := map[string]bool{}
	for _, m := range mappedResources(t) {
		covered[m.by] = true
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var missing []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "From") && fn.Name.IsExported() && !covered[fn.Name.Name] {
				missing = append(missing, fn.Name.Name+" ("+f+")")
			}
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		t.Fatalf("mappings the FHIR R4 schema check does not cover: %s; add them to mappedResources in schema_test.go", strings.Join(missing, ", "))
	}
}

// The schema check can fail: a wrong element name, a wrong type and a
// malformed date are each refused.
func TestTheR4SchemaRefusesWrongShapes(t *testing.T) {
	good := map[string]any{"resourceType": "Patient", "id": "a1", "gender": "female", "birthDate": "1988-02-29",
		"name": []any{map[string]any{"family": "Begum", "given": []any{"Amina"}}}}
	if _, err := validateR4(t, good); err != nil {
		t.Fatalf("a plain Patient is refused: %v", err)
	}
	for name, change := range map[string]func(map[string]any){
		"an element of another name": func(p map[string]any) { p["birthdate"] = "1988-02-29" },
		"an element of another type": func(p map[string]any) { p["gender"] = true },
		"a string for a list":        func(p map[string]any) { p["name"] = "Amina Begum" },
		"a date of another form":     func(p map[string]any) { p["birthDate"] = "29/02/1988" },
		"a code outside its set":     func(p map[string]any) { p["gender"] = "f" },
	} {
		bad := map[string]any{}
		for k, v := range good {
			bad[k] = v
		}
		change(bad)
		if _, err := validateR4(t, bad); err == nil {
			t.Errorf("%s passes the schema", name)
		}
	}
}

// The official examples of the types this package maps are valid against
// the schema too: the schema and the examples agree, so a refusal of ours
// is ours.
func TestOfficialExamplesConformToTheR4Schema(t *testing.T) {
	for _, typ := range []string{"Patient", "Observation", "Encounter", "AllergyIntolerance", "Practitioner", "Task", "CarePlan",
		"Flag", "MedicationRequest", "ServiceRequest", "DiagnosticReport", "Procedure", "Appointment"} {
		for _, file := range official.Examples(t, typ) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var v map[string]any
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatal(err)
			}
			if _, err := validateR4(t, v); err != nil {
				t.Errorf("%s: %v", filepath.Base(file), err)
			}
		}
	}
}
