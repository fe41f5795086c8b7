package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/medication"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/domain/prescription"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/fhir"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
	diagnosticflow "github.com/zarish-sphere/zarish/workflows/diagnostic"
	prescriptionflow "github.com/zarish-sphere/zarish/workflows/prescription"
)

// writeTemporal stands in for the Temporal server behind the FHIR creates:
// every start is recorded by workflow id and type; a prescription's
// "checked" Update runs the checks as the workflow's activity does (the
// patient read from the prescriptions' store, the active knowledge base's
// checks) and records the checked prescription in the read model; the
// diagnostic workflows are the diagnostic suite's fake.
type writeTemporal struct {
	client.Client
	kb            *medication.Registry
	prescriptions *postgres.PrescriptionStore
	diagnostics   *diagnosticTemporal
	mu            sync.Mutex
	started       []startSeen
	drafts        map[uuid.UUID]prescription.Prescription
}

// startSeen is one workflow start the fake saw.
type startSeen struct{ id, typ string }

func (f *writeTemporal) ExecuteWorkflow(ctx context.Context, opts client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	name, _ := wf.(string)
	f.started = append(f.started, startSeen{opts.ID, name})
	in, isPrescription := args[0].(prescriptionflow.Input)
	if isPrescription {
		f.drafts[in.Prescription.Details.ID] = in.Prescription
	}
	f.mu.Unlock()
	if !isPrescription {
		return f.diagnostics.ExecuteWorkflow(ctx, opts, wf, args...)
	}
	return nil, nil
}

func (f *writeTemporal) UpdateWorkflow(ctx context.Context, opts client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	id, err := prescriptionflow.IDFromWorkflowID(opts.WorkflowID)
	if err != nil {
		return f.diagnostics.UpdateWorkflow(ctx, opts)
	}
	if opts.UpdateName != prescriptionflow.UpdateChecked {
		return nil, err
	}
	f.mu.Lock()
	p := f.drafts[id]
	f.mu.Unlock()
	now := time.Now().UTC().Truncate(time.Microsecond)
	pc, err := f.prescriptions.PatientContext(ctx, p.Details.PatientID, id, now)
	if err != nil {
		return nil, err
	}
	res := f.kb.Active().Check(p.Details.Order, pc.Patient)
	checked, _, _ := p.Checked(res, pc, prescription.ReasonOrdered, now)
	if err := f.prescriptions.Record(ctx, checked, nil); err != nil {
		return nil, err
	}
	return updateHandle[prescription.Prescription]{workflowID: opts.WorkflowID, s: checked}, nil
}

// starts are the workflow starts seen of workflows whose id opens with prefix.
func (f *writeTemporal) starts(prefix string) []startSeen {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []startSeen
	for _, s := range f.started {
		if strings.HasPrefix(s.id, prefix) {
			out = append(out, s)
		}
	}
	return out
}

// otherLaunchToken is the nurse in an app launched for another patient
// than the API's.
const otherLaunchToken = "nurse-launched-elsewhere"

// fhirWriteAPI is the whole router on a fresh database, with the people of
// peopleVerifier, a registered patient with an open encounter, and the fake
// Temporal.
type fhirWriteAPI struct {
	pool      *pgxpool.Pool
	srv       *httptest.Server
	audit     *postgres.AuditStore
	patients  *postgres.PatientStore
	temporal  *writeTemporal
	patient   uuid.UUID
	encounter uuid.UUID
	verifier  stubVerifier
}

func newFHIRWriteAPI(t *testing.T) *fhirWriteAPI {
	t.Helper()
	pool := pgtest.NewPool(t)
	d, store := depsOn(pool, nil)
	people := peopleVerifier()
	people[readerToken] = access.Principal{Subject: "reader", ClientID: "reader", Scopes: []string{"system/Patient.read"}}
	people[otherLaunchToken] = access.Principal{Subject: "u-nurse", ClientID: "app", Scopes: []string{"patient/*.*"},
		UserID: "u-nurse", PractitionerID: nurseID.String(), Patient: uuid.NewString()}
	d.Verifier = people
	a := &fhirWriteAPI{pool: pool, audit: store, patients: postgres.NewPatientStore(pool), verifier: people}
	diagnostics := postgres.NewDiagnosticStore(pool)
	a.temporal = &writeTemporal{kb: d.Medications, prescriptions: postgres.NewPrescriptionStore(pool),
		diagnostics: &diagnosticTemporal{store: diagnostics, reports: map[uuid.UUID]diagnostic.Report{}},
		drafts:      map[uuid.UUID]prescription.Prescription{}}
	d.Temporal, d.Diagnostics = a.temporal, diagnostics
	a.srv = serveRouter(t, d)
	a.patient = registerPatient(t, a.patients)
	st, err := encounter.New(encounter.Details{EncounterID: uuid.Must(uuid.NewV7()), PatientID: a.patient,
		Class: encounter.ClassInpatient, Reason: "pneumonia", Location: "ward-3"}, time.Now().UTC().Truncate(time.Microsecond))
	if err != nil {
		t.Fatal(err)
	}
	rec, _, err := postgres.NewEncounterStore(pool).CreateEncounter(context.Background(), nil, nil, st)
	if err != nil {
		t.Fatal(err)
	}
	a.encounter = rec.ID
	return a
}

// post sends a FHIR create as application/fhir+json.
func (a *fhirWriteAPI) post(t *testing.T, typ, token, body string, headers ...string) result {
	t.Helper()
	return call(t, a.srv, http.MethodPost, "/fhir/R4/"+typ, token, body, append([]string{"Content-Type", fhir.MediaType}, headers...)...)
}

// count is the number of rows of table.
func (a *fhirWriteAPI) count(t *testing.T, table string) int {
	t.Helper()
	return countRows(t, a.pool, "SELECT count(*) FROM "+table)
}

// created decodes a 201 answer into v, checking the FHIR headers: where the
// resource is read, and its version.
func (a *fhirWriteAPI) created(t *testing.T, typ string, r result, v any) (id string) {
	t.Helper()
	if r.status != http.StatusCreated || !strings.HasPrefix(r.header.Get("Content-Type"), fhir.MediaType) {
		t.Fatalf("create of %s answered %d %s: %s", typ, r.status, r.header.Get("Content-Type"), r.body)
	}
	var res struct {
		ResourceType string     `json:"resourceType"`
		ID           string     `json:"id"`
		Meta         *fhir.Meta `json:"meta"`
	}
	if err := json.Unmarshal([]byte(r.body), &res); err != nil || res.ResourceType != typ || res.ID == "" || res.Meta == nil {
		t.Fatalf("not a %s: %s", typ, r.body)
	}
	if want := a.srv.URL + "/fhir/R4/" + typ + "/" + res.ID; r.header.Get("Location") != want {
		t.Errorf("Location %q, want %q", r.header.Get("Location"), want)
	}
	if want := `W/"` + res.Meta.VersionID + `"`; r.header.Get("ETag") != want {
		t.Errorf("ETag %q, want %q", r.header.Get("ETag"), want)
	}
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatal(err)
	}
	return res.ID
}

// outcome decodes an OperationOutcome of status, returning each issue's
// expression (or "" for an issue naming none).
func outcomeExpressions(t *testing.T, r result, status int) []string {
	t.Helper()
	var oo fhir.OperationOutcome
	if r.status != status || !strings.HasPrefix(r.header.Get("Content-Type"), fhir.MediaType) {
		t.Fatalf("answered %d %s, want %d OperationOutcome: %s", r.status, r.header.Get("Content-Type"), status, r.body)
	}
	if err := json.Unmarshal([]byte(r.body), &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
		t.Fatalf("not an OperationOutcome: %s", r.body)
	}
	var out []string
	for _, is := range oo.Issue {
		if is.Severity != "error" || is.Code == "" || is.Diagnostics == "" {
			t.Errorf("issue %+v", is)
		}
		out = append(out, strings.Join(is.Expression, ","))
	}
	return out
}

// oneRecord is the one audit record of the request.
func (a *fhirWriteAPI) oneRecord(t *testing.T, requestID string) audit.Record {
	t.Helper()
	recs := recordsFor(t, a.audit, requestID)
	if len(recs) != 1 {
		t.Fatalf("%d audit records of %s, want 1: %+v", len(recs), requestID, recs)
	}
	return recs[0]
}

// wantCreateRecord checks the audit record of a create: the person acting,
// the patient, the resource and the FHIR route.
func wantCreateRecord(t *testing.T, rec audit.Record, route, entity, id string, patientID uuid.UUID, by uuid.UUID) {
	t.Helper()
	if rec.Action != audit.ActionCreate || rec.Outcome != audit.OutcomeSuccess || rec.Status != http.StatusCreated ||
		rec.Route != route || rec.EntityType != entity || rec.EntityID != id || rec.PatientID == nil || *rec.PatientID != patientID ||
		rec.Actor.PractitionerID != by.String() {
		t.Errorf("audit record %+v (patient %v), want a create of %s %s for %s by %s on %s", rec, rec.PatientID, entity, id, patientID, by, route)
	}
}

const aminaPatient = `{"resourceType":"Patient",
	"identifier":[{"system":"urn:bd:nid","value":"1988123456"}],
	"name":[{"use":"official","family":"Begum","given":["Amina","Khatun"]}],
	"telecom":[{"system":"phone","value":"+880 1700-000001","use":"mobile"}],
	"gender":"female","birthDate":"1988-02-29",
	"address":[{"city":"Dhaka","country":"bd"}]}`

// A Patient created through FHIR is the /v1 registration: the same details
// stored, an MRN assigned, one audit record naming the person acting and
// the patient, and the resource answered as a read answers it.
func TestFHIRCreatePatientRegistersAsTheRESTAPIDoes(t *testing.T) {
	a := newFHIRWriteAPI(t)
	before := a.count(t, "patients")
	var got fhir.Patient
	id := a.created(t, "Patient", a.post(t, "Patient", physicianToken, aminaPatient, "X-Request-Id", "fhir-patient-create"), &got)
	if a.count(t, "patients") != before+1 {
		t.Fatalf("patients %d, want %d", a.count(t, "patients"), before+1)
	}
	stored, err := a.patients.Get(t.Context(), uuid.MustParse(id))
	if err != nil {
		t.Fatal(err)
	}
	if got.Identifier[0].System != fhir.SystemMRN || got.Identifier[0].Value != stored.MRN || patient.ValidateMRN(stored.MRN) != nil ||
		got.Meta.VersionID != "1" || !got.Active {
		t.Errorf("created %+v, stored MRN %s", got, stored.MRN)
	}
	// The same patient registered through /v1.
	v1 := call(t, a.srv, http.MethodPost, "/v1/patients", physicianToken, `{"name":{"given":["Amina","Khatun"],"family":"Begum"},
		"birthDate":"1988-02-29","sex":"female","telecom":[{"system":"phone","value":"+880 1700-000001","use":"mobile"}],
		"address":[{"city":"Dhaka","country":"bd"}],"identifiers":[{"system":"urn:bd:nid","value":"1988123456"}]}`)
	if v1.status != http.StatusCreated {
		t.Fatalf("/v1 register: %d %s", v1.status, v1.body)
	}
	twin, err := a.patients.Get(t.Context(), uuid.MustParse(newPatient(t, v1)))
	if err != nil {
		t.Fatal(err)
	}
	if !equalJSON(t, stored.Details, twin.Details) || stored.Version != twin.Version || stored.Active != twin.Active {
		t.Errorf("FHIR stored %+v, /v1 stored %+v", stored, twin)
	}
	if stored.Address[0].Country != "BD" {
		t.Errorf("the register's normalizing did not apply: %+v", stored.Address)
	}
	wantCreateRecord(t, a.oneRecord(t, "fhir-patient-create"), "/fhir/R4/Patient", "Patient", id, stored.ID, physicianID)
	// The answer is the resource as a read answers it.
	read := call(t, a.srv, http.MethodGet, "/fhir/R4/Patient/"+id, physicianToken, "")
	var again fhir.Patient
	if err := json.Unmarshal([]byte(read.body), &again); err != nil || !equalJSON(t, again, got) {
		t.Errorf("read %s, created %s", read.body, mustMarshal(t, got))
	}
	// Prefer: return=minimal answers without the resource; the media type
	// may name FHIR R4.
	r := a.post(t, "Patient", physicianToken, strings.Replace(aminaPatient, "1988123456", "1988123457", 1), "Prefer", "return=minimal",
		"Content-Type", "application/fhir+json; fhirVersion=4.0; charset=utf-8")
	if r.status != http.StatusCreated || r.body != "" || !strings.HasPrefix(r.header.Get("Location"), a.srv.URL+"/fhir/R4/Patient/") {
		t.Errorf("return=minimal: %d %q %v", r.status, r.body, r.header)
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	return mustMarshal(t, a) == mustMarshal(t, b)
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// Idempotency-Key works as on /v1: the same create again answers the same
// patient and stores nothing; another body under the key is refused.
func TestFHIRCreatePatientIsIdempotent(t *testing.T) {
	a := newFHIRWriteAPI(t)
	var first, again fhir.Patient
	a.created(t, "Patient", a.post(t, "Patient", physicianToken, aminaPatient, "Idempotency-Key", "fhir-k1"), &first)
	before := a.count(t, "patients")
	r := a.post(t, "Patient", physicianToken, aminaPatient, "Idempotency-Key", "fhir-k1")
	a.created(t, "Patient", r, &again)
	if again.ID != first.ID || again.Identifier[0].Value != first.Identifier[0].Value || r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay answered %s (replayed %q), first %s", again.ID, r.header.Get("Idempotent-Replayed"), first.ID)
	}
	other := strings.Replace(aminaPatient, `"Begum"`, `"Rahman"`, 1)
	if got := outcomeExpressions(t, a.post(t, "Patient", physicianToken, other, "Idempotency-Key", "fhir-k1"), http.StatusUnprocessableEntity); len(got) != 1 {
		t.Errorf("another body under the key: %v", got)
	}
	if n := a.count(t, "patients"); n != before {
		t.Errorf("patients %d after the replays, want %d", n, before)
	}
}

// Every refusal is an OperationOutcome naming the element at fault —
// the resource's shape refused before anything runs, the register's own
// rules by the element their field came from — and stores nothing.
func TestFHIRCreatePatientRefusalsNameTheElement(t *testing.T) {
	a := newFHIRWriteAPI(t)
	set := func(edit func(map[string]any)) string {
		var m map[string]any
		if err := json.Unmarshal([]byte(aminaPatient), &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		return mustMarshal(t, m)
	}
	for _, tc := range []struct {
		name, token, contentType, body string
		status                         int
		want                           []string
	}{
		{"a text body", physicianToken, "text/plain", aminaPatient, http.StatusUnsupportedMediaType, []string{""}},
		{"XML", physicianToken, "application/fhir+xml", aminaPatient, http.StatusUnsupportedMediaType, []string{""}},
		{"another FHIR version", physicianToken, "application/fhir+json; fhirVersion=5.0", aminaPatient, http.StatusUnsupportedMediaType, []string{""}},
		{"not JSON", physicianToken, "", `{"resourceType":"Patient",`, http.StatusBadRequest, []string{"Patient"}},
		{"an Observation", physicianToken, "", `{"resourceType":"Observation"}`, http.StatusBadRequest, []string{"resourceType"}},
		{"an id", physicianToken, "", set(func(m map[string]any) { m["id"] = "p1" }), http.StatusBadRequest, []string{"Patient.id"}},
		{"our MRN", physicianToken, "", set(func(m map[string]any) {
			m["identifier"] = []any{map[string]any{"system": fhir.SystemMRN, "value": patient.FormatMRN(7)}}
		}), http.StatusUnprocessableEntity, []string{"Patient.identifier[0].system"}},
		{"an extension", physicianToken, "", set(func(m map[string]any) { m["extension"] = []any{map[string]any{"url": "http://x"}} }),
			http.StatusUnprocessableEntity, []string{"Patient.extension"}},
		{"a birth date to come", physicianToken, "", set(func(m map[string]any) { m["birthDate"] = "2999-01-01" }),
			http.StatusBadRequest, []string{"Patient.birthDate"}},
		{"a partial birth date", physicianToken, "", set(func(m map[string]any) { m["birthDate"] = "1988" }),
			http.StatusBadRequest, []string{"Patient.birthDate"}},
		{"a gender not in the value set", physicianToken, "", set(func(m map[string]any) { m["gender"] = "f" }),
			http.StatusBadRequest, []string{"Patient.gender"}},
		{"no name", physicianToken, "", set(func(m map[string]any) { delete(m, "name") }),
			http.StatusBadRequest, []string{"Patient.name[0].family", "Patient.name[0].given"}},
		{"a second given name empty", physicianToken, "", set(func(m map[string]any) {
			m["name"] = []any{map[string]any{"family": "Begum", "given": []any{"Amina", "x" + strings.Repeat("y", 100)}}}
		}), http.StatusBadRequest, []string{"Patient.name[0].given[1]"}},
		{"a fax number", physicianToken, "", set(func(m map[string]any) {
			m["telecom"] = []any{map[string]any{"system": "fax", "value": "+8801700000001"}}
		}), http.StatusBadRequest, []string{"Patient.telecom[0].system"}},
		{"a phone of letters", physicianToken, "", set(func(m map[string]any) {
			m["telecom"] = []any{map[string]any{"system": "phone", "value": "call me"}}
		}), http.StatusBadRequest, []string{"Patient.telecom[0].value"}},
		{"a country name", physicianToken, "", set(func(m map[string]any) {
			m["address"] = []any{map[string]any{"city": "Dhaka", "country": "Bangladesh"}}
		}), http.StatusBadRequest, []string{"Patient.address[0].country"}},
		{"a token that only reads", readerToken, "", aminaPatient, http.StatusForbidden, []string{""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := a.count(t, "patients")
			var headers []string
			if tc.contentType != "" {
				headers = []string{"Content-Type", tc.contentType}
			}
			got := outcomeExpressions(t, a.post(t, "Patient", tc.token, tc.body, headers...), tc.status)
			if !slices.Equal(got, tc.want) {
				t.Errorf("named %q, want %q", got, tc.want)
			}
			if n := a.count(t, "patients"); n != before {
				t.Errorf("patients %d after a refusal, want %d", n, before)
			}
		})
	}
}

// heartRate is an Observation of the heart rate of patient, at.
func heartRate(patientID uuid.UUID, value, unit string, at time.Time, extra string) string {
	return `{"resourceType":"Observation","status":"final",
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
		"code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},
		"subject":{"reference":"Patient/` + patientID.String() + `"},
		"effectiveDateTime":"` + at.UTC().Format(time.RFC3339) + `",
		"valueQuantity":{"value":` + value + `,"unit":"beats/minute","system":"http://unitsofmeasure.org","code":"` + unit + `"}` + extra + `}`
}

// An Observation created through FHIR is the /v1 recording: the same
// value, interpretation and performer (the person acting) stored, one audit
// record, the answer the resource as read.
func TestFHIRCreateObservationRecordsAsTheRESTAPIDoes(t *testing.T) {
	a := newFHIRWriteAPI(t)
	at := time.Now().Add(-10 * time.Minute).UTC().Truncate(time.Second)
	var got fhir.Observation
	id := a.created(t, "Observation", a.post(t, "Observation", nurseToken, heartRate(a.patient, "128", "/min", at, ""),
		"X-Request-Id", "fhir-observation-create"), &got)
	store := postgres.NewObservationStore(a.pool)
	stored, _, err := store.Get(t.Context(), uuid.MustParse(id))
	if err != nil {
		t.Fatal(err)
	}
	v1 := call(t, a.srv, http.MethodPost, "/v1/observations", nurseToken, `{"patientId":"`+a.patient.String()+
		`","category":"vital-signs","code":"8867-4","value":{"value":128,"unit":"/min"},"effectiveAt":"`+at.Format(time.RFC3339)+`"}`)
	twin := decodeObservation(t, v1)
	twin, _, err = store.Get(t.Context(), twin.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Ids, record times and the delta against the first differ.
	for _, o := range []*observation.Observation{&stored, &twin} {
		o.ID, o.RecordedAt, o.Issued, o.DeltaFlags = uuid.Nil, time.Time{}, time.Time{}, nil
	}
	if !equalJSON(t, stored, twin) {
		t.Errorf("FHIR stored\n%s\n/v1 stored\n%s", mustMarshal(t, stored), mustMarshal(t, twin))
	}
	if stored.Performer.PractitionerID == nil || *stored.Performer.PractitionerID != nurseID ||
		stored.Interpretation.Flag != observation.FlagHigh || got.Interpretation[0].Coding[0].Code != "H" ||
		got.Performer[0].Reference != "Practitioner/"+nurseID.String() || got.Subject.Reference != "Patient/"+a.patient.String() {
		t.Errorf("stored %+v, answered %+v", stored, got)
	}
	wantCreateRecord(t, a.oneRecord(t, "fhir-observation-create"), "/fhir/R4/Observation", "Observation", id, a.patient, nurseID)
	read := call(t, a.srv, http.MethodGet, "/fhir/R4/Observation/"+id, nurseToken, "")
	var again fhir.Observation
	if err := json.Unmarshal([]byte(read.body), &again); err != nil || !equalJSON(t, again, got) {
		t.Errorf("read %s, created %s", read.body, mustMarshal(t, got))
	}

	// A blood pressure panel, by its components.
	bp := `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},
		"subject":{"reference":"Patient/` + a.patient.String() + `"},"effectiveDateTime":"` + at.Format(time.RFC3339) + `",
		"component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":150,"code":"mm[Hg]"}},
		{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":95,"code":"mm[Hg]"}}]}`
	var panel fhir.Observation
	a.created(t, "Observation", a.post(t, "Observation", nurseToken, bp), &panel)
	if len(panel.Component) != 2 || panel.Component[0].ValueQuantity.Value != 150 || panel.Component[1].Code.Coding[0].Code != "8462-4" {
		t.Errorf("panel %+v", panel.Component)
	}
	// Naming oneself as performer is the same create.
	a.created(t, "Observation", a.post(t, "Observation", nurseToken, heartRate(a.patient, "80", "/min", at,
		`,"performer":[{"reference":"Practitioner/`+nurseID.String()+`"}]`)), &got)
}

func TestFHIRCreateObservationIsIdempotent(t *testing.T) {
	a := newFHIRWriteAPI(t)
	at := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	body := heartRate(a.patient, "72", "/min", at, "")
	var first, again fhir.Observation
	a.created(t, "Observation", a.post(t, "Observation", nurseToken, body, "Idempotency-Key", "obs-1"), &first)
	before := a.count(t, "observations")
	r := a.post(t, "Observation", nurseToken, body, "Idempotency-Key", "obs-1")
	a.created(t, "Observation", r, &again)
	if again.ID != first.ID || r.header.Get("Idempotent-Replayed") != "true" || !equalJSON(t, again, first) {
		t.Errorf("replay %s, first %s", mustMarshal(t, again), mustMarshal(t, first))
	}
	outcomeExpressions(t, a.post(t, "Observation", nurseToken, heartRate(a.patient, "73", "/min", at, ""), "Idempotency-Key", "obs-1"),
		http.StatusUnprocessableEntity)
	if n := a.count(t, "observations"); n != before {
		t.Errorf("observations %d after the replays, want %d", n, before)
	}
}

func TestFHIRCreateObservationRefusalsNameTheElement(t *testing.T) {
	a := newFHIRWriteAPI(t)
	at := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	for _, tc := range []struct {
		name, token, body string
		status            int
		want              []string
	}{
		{"an uncatalogued code", nurseToken, strings.Replace(heartRate(a.patient, "72", "/min", at, ""), "8867-4", "1234-5", 1),
			http.StatusBadRequest, []string{"Observation.code.coding[0].code"}},
		{"a weight's unit", nurseToken, heartRate(a.patient, "72", "kg", at, ""), http.StatusBadRequest, []string{"Observation.valueQuantity.code"}},
		{"an impossible rate", nurseToken, heartRate(a.patient, "900", "/min", at, ""), http.StatusBadRequest, []string{"Observation.valueQuantity.value"}},
		{"a time to come", nurseToken, heartRate(a.patient, "72", "/min", time.Now().Add(time.Hour), ""), http.StatusBadRequest,
			[]string{"Observation.effectiveDateTime"}},
		{"a patient nobody registered", nurseToken, heartRate(uuid.Must(uuid.NewV7()), "72", "/min", at, ""), http.StatusBadRequest,
			[]string{"Observation.subject"}},
		{"a laboratory category", nurseToken, strings.Replace(heartRate(a.patient, "72", "/min", at, ""), `"vital-signs"`, `"laboratory"`, 1),
			http.StatusBadRequest, []string{"Observation.category[0].coding[0].code"}},
		{"someone else as performer", nurseToken, heartRate(a.patient, "72", "/min", at,
			`,"performer":[{"reference":"Practitioner/`+physicianID.String()+`"}]`), http.StatusUnprocessableEntity, []string{"Observation.performer[0]"}},
		{"an interpretation", nurseToken, heartRate(a.patient, "72", "/min", at, `,"interpretation":[{"coding":[{"code":"N"}]}]`),
			http.StatusUnprocessableEntity, []string{"Observation.interpretation"}},
		{"no person acting", adminToken, heartRate(a.patient, "72", "/min", at, ""), http.StatusForbidden, []string{"X-On-Behalf-Of"}},
		{"a token launched for another patient", otherLaunchToken, heartRate(a.patient, "72", "/min", at, ""), http.StatusForbidden, []string{"subject"}},
		{"systolic below diastolic", nurseToken, `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},
			"subject":{"reference":"Patient/` + a.patient.String() + `"},"effectiveDateTime":"` + at.Format(time.RFC3339) + `",
			"component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":80,"code":"mm[Hg]"}},
			{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":95,"code":"mm[Hg]"}}]}`,
			http.StatusBadRequest, []string{"Observation.component"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := a.count(t, "observations")
			got := outcomeExpressions(t, a.post(t, "Observation", tc.token, tc.body), tc.status)
			if !slices.Equal(got, tc.want) {
				t.Errorf("named %q, want %q", got, tc.want)
			}
			if n := a.count(t, "observations"); n != before {
				t.Errorf("observations %d after a refusal, want %d", n, before)
			}
		})
	}
}

// A token launched for the patient writes that patient's observation
// through FHIR: its subject names the launch patient.
func TestFHIRCreateObservationInTheLaunchPatientsContext(t *testing.T) {
	a := newFHIRWriteAPI(t)
	verifier := a.verifier
	verifier[ownLaunchToken] = access.Principal{Subject: "u-nurse", ClientID: "app", Scopes: []string{"patient/*.*"},
		UserID: "u-nurse", PractitionerID: nurseID.String(), Patient: a.patient.String()}
	at := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	before := a.count(t, "observations")
	if r := a.post(t, "Observation", ownLaunchToken, heartRate(a.patient, "72", "/min", at, "")); r.status != http.StatusCreated {
		t.Fatalf("the launch patient's observation: %d %s", r.status, r.body)
	}
	if n := a.count(t, "observations"); n != before+1 {
		t.Fatalf("observations %d, want %d", n, before+1)
	}
}

// ownLaunchToken is the nurse in an app launched for the API's patient.
const ownLaunchToken = "nurse-launched-here"

// amoxicillin is a MedicationRequest of amoxicillin 500 mg oral every 8
// hours for patient.
func amoxicillinRequest(patientID, encounterID uuid.UUID, extra string) string {
	in := ""
	if encounterID != uuid.Nil {
		in = `"encounter":{"reference":"Encounter/` + encounterID.String() + `"},`
	}
	return `{"resourceType":"MedicationRequest","status":"active","intent":"order",
		"medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"723"}],"text":"amoxicillin"},
		"subject":{"reference":"Patient/` + patientID.String() + `"},` + in + `
		"reasonCode":[{"text":"community-acquired pneumonia"}],
		"dosageInstruction":[{"doseAndRate":[{"doseQuantity":{"value":500,"unit":"mg"}}],"route":{"text":"oral"},
			"timing":{"repeat":{"frequency":1,"period":8,"periodUnit":"h"}}}],
		"dispenseRequest":{"quantity":{"value":21,"unit":"capsule"},"expectedSupplyDuration":{"value":7,"code":"d","system":"http://unitsofmeasure.org"}}` +
		extra + `}`
}

// A MedicationRequest created through FHIR is the /v1 order: the draft and
// its workflow start row stored, the prescription workflow started, its
// checks run (an allergy holds the order), one audit record naming the
// prescriber and the patient.
func TestFHIRCreateMedicationRequestPlacesAsTheRESTAPIDoes(t *testing.T) {
	a := newFHIRWriteAPI(t)
	var got fhir.MedicationRequest
	id := a.created(t, "MedicationRequest", a.post(t, "MedicationRequest", physicianToken, amoxicillinRequest(a.patient, a.encounter, ""),
		"X-Request-Id", "fhir-rx-create"), &got)
	if got.Status != "on-hold" && got.Status != "active" || got.Requester == nil || got.Requester.Reference != "Practitioner/"+physicianID.String() ||
		got.DosageInstruction[0].DoseAndRate[0].DoseQuantity.Value != 500 || got.Encounter.Reference != "Encounter/"+a.encounter.String() {
		t.Errorf("placed %s", mustMarshal(t, got))
	}
	wid := prescriptionflow.WorkflowID(uuid.MustParse(id))
	if s := a.temporal.starts("prescription/"); len(s) != 1 || s[0].id != wid || s[0].typ != prescriptionflow.WorkflowName {
		t.Errorf("workflow starts %+v, want %s", s, wid)
	}
	if n := countRows(t, a.pool, "SELECT count(*) FROM workflow_starts WHERE workflow_id = $1 AND workflow_type = $2 AND started_at IS NOT NULL",
		wid, prescriptionflow.WorkflowName); n != 1 {
		t.Errorf("%d start rows of %s marked started, want 1", n, wid)
	}
	wantCreateRecord(t, a.oneRecord(t, "fhir-rx-create"), "/fhir/R4/MedicationRequest", "MedicationRequest", id, a.patient, physicianID)
	stored, err := postgres.NewPrescriptionStore(a.pool).Get(t.Context(), uuid.MustParse(id))
	if err != nil {
		t.Fatal(err)
	}
	o := stored.Details.Order
	if o.Code != "723" || o.Dose != 500 || o.DoseUnit != "mg" || o.Route != "oral" || o.Frequency != "q8h" || o.DurationDays != 7 ||
		o.Indication != "community-acquired pneumonia" || stored.Details.Quantity.Value != 21 || stored.Details.PrescriberID != physicianID ||
		stored.Details.Unit != "ward-3" {
		t.Errorf("stored %+v", stored.Details)
	}

	if string(stored.Status) != got.Status || stored.Version != 2 || got.Meta.VersionID != "2" {
		t.Errorf("answered %s version %s, stored %s version %d: the checked prescription", got.Status, got.Meta.VersionID,
			stored.Status, stored.Version)
	}

	// Two patients allergic to penicillin: the checks hold the order, the
	// same through FHIR as through /v1.
	var held [2]prescription.Prescription
	for i := range held {
		p := registerPatient(t, a.patients)
		allergic := call(t, a.srv, http.MethodPost, "/v1/patients/"+p.String()+"/allergies", physicianToken,
			`{"substance":{"text":"Penicillin"},"category":"medication","criticality":"high","verificationStatus":"confirmed",
			"reactions":[{"manifestations":["anaphylaxis"],"severity":"severe"}],"recordedBy":"`+physicianID.String()+`"}`)
		if allergic.status != http.StatusCreated {
			t.Fatalf("allergy: %d %s", allergic.status, allergic.body)
		}
		var heldID string
		if i == 0 {
			var mr fhir.MedicationRequest
			heldID = a.created(t, "MedicationRequest", a.post(t, "MedicationRequest", physicianToken, amoxicillinRequest(p, uuid.Nil, "")), &mr)
			if mr.Status != "on-hold" {
				t.Errorf("an allergic patient's order answered %s", mr.Status)
			}
		} else {
			v1 := call(t, a.srv, http.MethodPost, v1PrescriptionsPath, physicianToken, `{"patientId":"`+p.String()+
				`","medication":{"code":"723","name":"amoxicillin"},"dose":{"value":500,"unit":"mg"},"route":"oral",
				"frequency":"q8h","durationDays":7,"indication":"community-acquired pneumonia","quantity":{"value":21,"unit":"capsule"}}`)
			if v1.status != http.StatusCreated {
				t.Fatalf("/v1 order: %d %s", v1.status, v1.body)
			}
			var view prescriptionflow.View
			if err := json.Unmarshal([]byte(v1.body), &view); err != nil {
				t.Fatal(err)
			}
			heldID = view.Details.ID.String()
		}
		var err error
		if held[i], err = postgres.NewPrescriptionStore(a.pool).Get(t.Context(), uuid.MustParse(heldID)); err != nil {
			t.Fatal(err)
		}
	}
	fromFHIR, twin := held[0], held[1]
	if fromFHIR.Status != prescription.StatusOnHold || twin.Status != prescription.StatusOnHold ||
		!slices.Equal(findingRules(fromFHIR), findingRules(twin)) || !slices.Contains(findingRules(twin), "allergy-same-class") {
		t.Errorf("FHIR order %s with %v; /v1 order %s with %v", fromFHIR.Status, findingRules(fromFHIR), twin.Status, findingRules(twin))
	}
	if !equalJSON(t, fromFHIR.Details.Order, twin.Details.Order) || !equalJSON(t, fromFHIR.Details.Drug, twin.Details.Drug) ||
		fromFHIR.Details.Quantity != twin.Details.Quantity {
		t.Errorf("FHIR order %+v, /v1 order %+v", fromFHIR.Details, twin.Details)
	}
}

// findingRules are the rules of a prescription's findings, sorted.
func findingRules(p prescription.Prescription) []string {
	var out []string
	for _, f := range p.Findings {
		out = append(out, f.Rule)
	}
	slices.Sort(out)
	return out
}

func TestFHIRCreateMedicationRequestIsIdempotent(t *testing.T) {
	a := newFHIRWriteAPI(t)
	body := amoxicillinRequest(a.patient, a.encounter, "")
	var first, again fhir.MedicationRequest
	a.created(t, "MedicationRequest", a.post(t, "MedicationRequest", physicianToken, body, "Idempotency-Key", "rx-1"), &first)
	before := a.count(t, "prescriptions")
	r := a.post(t, "MedicationRequest", physicianToken, body, "Idempotency-Key", "rx-1")
	a.created(t, "MedicationRequest", r, &again)
	if again.ID != first.ID || r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay %s, first %s", again.ID, first.ID)
	}
	outcomeExpressions(t, a.post(t, "MedicationRequest", physicianToken, strings.Replace(body, `"value":500`, `"value":250`, 1),
		"Idempotency-Key", "rx-1"), http.StatusUnprocessableEntity)
	if n, s := a.count(t, "prescriptions"), a.temporal.starts("prescription/"); n != before || len(s) != 1 {
		t.Errorf("prescriptions %d (want %d), starts %v after the replays", n, before, s)
	}
}

func TestFHIRCreateMedicationRequestRefusalsNameTheElement(t *testing.T) {
	a := newFHIRWriteAPI(t)
	dose := "MedicationRequest.dosageInstruction[0]"
	for _, tc := range []struct {
		name, token, body string
		status            int
		want              []string
	}{
		{"someone else as requester", physicianToken, amoxicillinRequest(a.patient, a.encounter,
			`,"requester":{"reference":"Practitioner/`+nurseID.String()+`"}`), http.StatusUnprocessableEntity, []string{"MedicationRequest.requester"}},
		{"a drug nobody knows", physicianToken, strings.Replace(strings.Replace(amoxicillinRequest(a.patient, a.encounter, ""), `"723"`, `"99999999"`, 1),
			`"text":"amoxicillin"`, `"text":"zzzzzz"`, 1), http.StatusUnprocessableEntity, []string{"MedicationRequest.medicationCodeableConcept.coding[0].code"}},
		{"a route the engine does not know", physicianToken, strings.Replace(amoxicillinRequest(a.patient, a.encounter, ""), `"text":"oral"`, `"text":"sideways"`, 1),
			http.StatusBadRequest, []string{dose + ".route.text"}},
		{"no dose", physicianToken, strings.Replace(amoxicillinRequest(a.patient, a.encounter, ""), `"value":500`, `"value":0`, 1),
			http.StatusBadRequest, []string{dose + ".doseAndRate[0].doseQuantity.value"}},
		{"a patient nobody registered", physicianToken, amoxicillinRequest(uuid.Must(uuid.NewV7()), a.encounter, ""), http.StatusUnprocessableEntity,
			[]string{"MedicationRequest.subject"}},
		{"another patient's encounter", physicianToken, amoxicillinRequest(a.patient, uuid.Must(uuid.NewV7()), ""), http.StatusUnprocessableEntity,
			[]string{"MedicationRequest.encounter"}},
		{"a free-text dosage", physicianToken, strings.Replace(amoxicillinRequest(a.patient, a.encounter, ""), `"route":{"text":"oral"}`,
			`"route":{"text":"oral"},"text":"with food"`, 1), http.StatusUnprocessableEntity, []string{dose + ".text"}},
		{"no person acting", adminToken, amoxicillinRequest(a.patient, a.encounter, ""), http.StatusForbidden, []string{"X-On-Behalf-Of"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, starts := a.count(t, "prescriptions"), len(a.temporal.starts("prescription/"))
			got := outcomeExpressions(t, a.post(t, "MedicationRequest", tc.token, tc.body), tc.status)
			if !slices.Equal(got, tc.want) {
				t.Errorf("named %q, want %q", got, tc.want)
			}
			if n, s := a.count(t, "prescriptions"), len(a.temporal.starts("prescription/")); n != before || s != starts {
				t.Errorf("prescriptions %d, starts %d after a refusal, want %d and %d", n, s, before, starts)
			}
		})
	}
}

// potassium is a ServiceRequest of a serum potassium for patient.
func potassiumOrder(patientID, encounterID uuid.UUID, extra string) string {
	return `{"resourceType":"ServiceRequest","status":"active","intent":"order","priority":"urgent",
		"code":{"coding":[{"system":"http://loinc.org","code":"2823-3","display":"Potassium"}]},
		"subject":{"reference":"Patient/` + patientID.String() + `"},"encounter":{"reference":"Encounter/` + encounterID.String() + `"},
		"reasonCode":[{"text":"on furosemide"}],"note":[{"text":"avoid haemolysis"}]` + extra + `}`
}

// A ServiceRequest created through FHIR is the /v1 order: the report
// stored registered with its workflow start row, the diagnostic workflow
// started, one audit record naming the orderer and the patient.
func TestFHIRCreateServiceRequestOrdersAsTheRESTAPIDoes(t *testing.T) {
	a := newFHIRWriteAPI(t)
	var got fhir.ServiceRequest
	id := a.created(t, "ServiceRequest", a.post(t, "ServiceRequest", physicianToken, potassiumOrder(a.patient, a.encounter, ""),
		"X-Request-Id", "fhir-order-create"), &got)
	if got.Status != "active" || got.Priority != "urgent" || got.Code == nil || got.Code.Coding[0].Code != "2823-3" ||
		got.Requester == nil || got.Requester.Reference != "Practitioner/"+physicianID.String() || got.Note[0].Text != "avoid haemolysis" {
		t.Errorf("ordered %s", mustMarshal(t, got))
	}
	wid := diagnosticflow.WorkflowID(uuid.MustParse(id))
	if s := a.temporal.starts("diagnostic"); len(s) != 1 || s[0].id != wid || s[0].typ != diagnosticflow.WorkflowName {
		t.Errorf("workflow starts %+v, want %s", s, wid)
	}
	if n := countRows(t, a.pool, "SELECT count(*) FROM workflow_starts WHERE workflow_id = $1 AND workflow_type = $2 AND started_at IS NOT NULL",
		wid, diagnosticflow.WorkflowName); n != 1 {
		t.Errorf("%d start rows of %s marked started, want 1", n, wid)
	}
	wantCreateRecord(t, a.oneRecord(t, "fhir-order-create"), "/fhir/R4/ServiceRequest", entityDiagnosticReport, id, a.patient, physicianID)
	store := postgres.NewDiagnosticStore(a.pool)
	stored, err := store.Get(t.Context(), uuid.MustParse(id))
	if err != nil {
		t.Fatal(err)
	}
	v1 := call(t, a.srv, http.MethodPost, ordersPath, physicianToken, `{"patientId":"`+a.patient.String()+`","encounterId":"`+
		a.encounter.String()+`","tests":["2823-3"],"priority":"urgent","clinicalInformation":"on furosemide","specimenNotes":"avoid haemolysis"}`)
	var view DiagnosticOrderView
	if err := json.Unmarshal([]byte(v1.body), &view); err != nil || v1.status != http.StatusCreated {
		t.Fatalf("/v1 order: %d %s", v1.status, v1.body)
	}
	twin, err := store.Get(t.Context(), view.Order.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*diagnostic.Report{&stored, &twin} {
		r.Order.ID, r.Order.CreatedAt, r.UpdatedAt = uuid.Nil, time.Time{}, time.Time{}
		for i := range r.Timeline {
			r.Timeline[i].At = time.Time{}
		}
		for i := range r.Order.Items {
			r.Order.Items[i].Targets = nil
		}
	}
	if !equalJSON(t, stored.Order, twin.Order) || stored.Status != twin.Status || stored.Version != twin.Version {
		t.Errorf("FHIR stored\n%s\n/v1 stored\n%s", mustMarshal(t, stored), mustMarshal(t, twin))
	}
	// Several tests: each an orderDetail, as the server writes them.
	several := `{"resourceType":"ServiceRequest","status":"active","intent":"order","code":{"text":"Potassium; CRP"},
		"orderDetail":[{"coding":[{"system":"http://loinc.org","code":"2823-3"}]},{"coding":[{"system":"http://loinc.org","code":"1988-5"}]}],
		"subject":{"reference":"Patient/` + a.patient.String() + `"}}`
	var both fhir.ServiceRequest
	a.created(t, "ServiceRequest", a.post(t, "ServiceRequest", physicianToken, several), &both)
	if len(both.OrderDetail) != 2 || both.OrderDetail[1].Coding[0].Code != "1988-5" || both.Priority != "routine" {
		t.Errorf("an order of two: %s", mustMarshal(t, both))
	}
}

func TestFHIRCreateServiceRequestIsIdempotent(t *testing.T) {
	a := newFHIRWriteAPI(t)
	body := potassiumOrder(a.patient, a.encounter, "")
	var first, again fhir.ServiceRequest
	a.created(t, "ServiceRequest", a.post(t, "ServiceRequest", physicianToken, body, "Idempotency-Key", "sr-1"), &first)
	before := a.count(t, "diagnostic_reports")
	r := a.post(t, "ServiceRequest", physicianToken, body, "Idempotency-Key", "sr-1")
	a.created(t, "ServiceRequest", r, &again)
	if again.ID != first.ID || r.header.Get("Idempotent-Replayed") != "true" || !equalJSON(t, again, first) {
		t.Errorf("replay %s, first %s", mustMarshal(t, again), mustMarshal(t, first))
	}
	outcomeExpressions(t, a.post(t, "ServiceRequest", physicianToken, strings.Replace(body, "urgent", "stat", 1),
		"Idempotency-Key", "sr-1"), http.StatusUnprocessableEntity)
	if n, s := a.count(t, "diagnostic_reports"), a.temporal.starts("diagnostic"); n != before || len(s) != 1 {
		t.Errorf("reports %d (want %d), starts %v after the replays", n, before, s)
	}
}

func TestFHIRCreateServiceRequestRefusalsNameTheElement(t *testing.T) {
	a := newFHIRWriteAPI(t)
	for _, tc := range []struct {
		name, token, body string
		status            int
		want              []string
	}{
		{"someone else as requester", physicianToken, potassiumOrder(a.patient, a.encounter,
			`,"requester":{"reference":"Practitioner/`+nurseID.String()+`"}`), http.StatusUnprocessableEntity, []string{"ServiceRequest.requester"}},
		{"a test the catalogue lacks", physicianToken, strings.Replace(potassiumOrder(a.patient, a.encounter, ""), "2823-3", "9999-9", 1),
			http.StatusBadRequest, []string{"ServiceRequest.code.coding[0].code"}},
		{"a priority not ours", physicianToken, strings.Replace(potassiumOrder(a.patient, a.encounter, ""), "urgent", "asap", 1),
			http.StatusBadRequest, []string{"ServiceRequest.priority"}},
		{"a test twice", physicianToken, `{"resourceType":"ServiceRequest","status":"active","intent":"order","code":{"text":"two"},
			"orderDetail":[{"coding":[{"system":"http://loinc.org","code":"2823-3"}]},{"coding":[{"system":"http://loinc.org","code":"2823-3"}]}],
			"subject":{"reference":"Patient/` + a.patient.String() + `"}}`, http.StatusBadRequest, []string{"ServiceRequest.orderDetail[1].coding[0].code"}},
		{"a patient nobody registered", physicianToken, potassiumOrder(uuid.Must(uuid.NewV7()), a.encounter, ""), http.StatusUnprocessableEntity,
			[]string{"ServiceRequest.subject"}},
		{"a body site", physicianToken, potassiumOrder(a.patient, a.encounter, `,"bodySite":[{"text":"left arm"}]`),
			http.StatusUnprocessableEntity, []string{"ServiceRequest.bodySite"}},
		{"a token that only reads", readerToken, potassiumOrder(a.patient, a.encounter, ""), http.StatusForbidden, []string{""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, starts := a.count(t, "diagnostic_reports"), len(a.temporal.starts("diagnostic"))
			got := outcomeExpressions(t, a.post(t, "ServiceRequest", tc.token, tc.body), tc.status)
			if !slices.Equal(got, tc.want) {
				t.Errorf("named %q, want %q", got, tc.want)
			}
			if n, s := a.count(t, "diagnostic_reports"), len(a.temporal.starts("diagnostic")); n != before || s != starts {
				t.Errorf("reports %d, starts %d after a refusal, want %d and %d", n, s, before, starts)
			}
		})
	}
}

// The CapabilityStatement lists create for exactly the types created here.
func TestFHIRCapabilityListsTheCreates(t *testing.T) {
	a := newFHIRWriteAPI(t)
	r := call(t, a.srv, http.MethodGet, "/fhir/R4/metadata", "", "")
	var cs fhir.CapabilityStatement
	if err := json.Unmarshal([]byte(r.body), &cs); err != nil || r.status != http.StatusOK {
		t.Fatalf("metadata: %d %s", r.status, r.body)
	}
	var creates []string
	for _, res := range cs.Rest[0].Resource {
		for _, in := range res.Interaction {
			if in.Code == fhir.InteractionCreate {
				creates = append(creates, res.Type)
			}
		}
	}
	slices.Sort(creates)
	if want := []string{"MedicationRequest", "Observation", "Patient", "ServiceRequest"}; !slices.Equal(creates, want) {
		t.Errorf("create listed for %v, want %v", creates, want)
	}
}
