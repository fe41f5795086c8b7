package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/integrations/fhir"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// fhirAPI serves the FHIR routes on a fresh database.
type fhirAPI struct {
	srv           *httptest.Server
	patients      *postgres.PatientStore
	observations  *postgres.ObservationStore
	prescriptions *postgres.PrescriptionStore
	diagnostics   *postgres.DiagnosticStore
	procedures    *postgres.ProcedureStore
	carePlans     *postgres.CarePlanStore
	alerts        *postgres.AlertStore
	audit         *postgres.AuditStore
	temporal      *taskTemporal
	directory     CareTeam
	// tokens are the tokens the server accepts; a test adds its own.
	tokens stubVerifier
	// routes are the FHIR routes served.
	routes *fhirRoutes
}

// newFHIRAPI serves the FHIR routes behind the middleware NewRouter puts
// before every route, until the router itself serves them.
func newFHIRAPI(t *testing.T) *fhirAPI {
	t.Helper()
	pool := pgtest.NewPool(t)
	d, auditStore := serviceDeps(pool)
	d.Now, d.NewID = time.Now, uuid.NewV7
	a := &fhirAPI{patients: postgres.NewPatientStore(pool), observations: postgres.NewObservationStore(pool),
		prescriptions: postgres.NewPrescriptionStore(pool), diagnostics: postgres.NewDiagnosticStore(pool),
		procedures: postgres.NewProcedureStore(pool), carePlans: postgres.NewCarePlanStore(pool),
		alerts: postgres.NewAlertStore(pool), audit: auditStore, tokens: d.Verifier.(stubVerifier)}
	a.temporal = &taskTemporal{}
	routes := &fhirRoutes{patients: a.patients, observations: a.observations,
		encounters: postgres.NewEncounterStore(pool), allergies: postgres.NewAllergyStore(pool), temporal: a.temporal,
		directory: postgres.NewCareTeamStore(pool), prescriptions: a.prescriptions, diagnostics: a.diagnostics,
		procedures: a.procedures, carePlans: a.carePlans, alerts: a.alerts, auditTrail: a.audit}
	a.directory, a.routes = routes.directory, routes
	a.srv = httptest.NewServer(serviceRouter(t, d, func(e *edge) []Route { routes.edge = e; return routes.routes() }))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *fhirAPI) register(t *testing.T, given, family, birthDate string, ids ...patient.Identifier) patient.Patient {
	t.Helper()
	d := patient.Details{Name: patient.Name{Given: []string{given}, Family: family}, BirthDate: birthDate, Sex: "female",
		Telecom: []patient.ContactPoint{{System: "phone", Value: "+880 1700-000001", Use: "mobile"}}, Identifiers: ids}
	p, _, err := a.patients.Register(t.Context(), nil, nil, func(mrn string) (patient.Patient, error) {
		return patient.NewPatient(uuid.Must(uuid.NewV7()), mrn, d, time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (a *fhirAPI) record(t *testing.T, p uuid.UUID, code string, value float64, unit string, at time.Time) uuid.UUID {
	t.Helper()
	in := observation.Input{PatientID: p, Code: code, EffectiveAt: at, Value: &observation.ValueInput{Value: fl(value), Unit: unit}}
	o, err := observation.New(uuid.Must(uuid.NewV7()), in, observation.Subject{Sex: observation.SexFemale, AgeMonths: 400},
		observation.Performer{ClientID: "monitor"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.observations.Record(t.Context(), nil, nil, o); err != nil {
		t.Fatal(err)
	}
	return o.ID
}

func (a *fhirAPI) get(t *testing.T, path string) result {
	t.Helper()
	return call(t, a.srv, http.MethodGet, path, adminToken, "")
}

// searchBundle decodes a searchset, failing on anything else.
func searchBundle(t *testing.T, r result) (b struct {
	fhir.Bundle
	Entry []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
	} `json:"entry"`
}) {
	t.Helper()
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), fhir.MediaType) {
		t.Fatalf("search answered %d %s: %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	if err := json.Unmarshal([]byte(r.body), &b); err != nil || b.ResourceType != "Bundle" || b.Type != "searchset" {
		t.Fatalf("not a searchset (%v): %s", err, r.body)
	}
	if len(b.Link) == 0 || b.Link[0].Relation != "self" {
		t.Fatalf("no self link: %s", r.body)
	}
	return b
}

// fhirIDs are the resource ids of a searchset's entries.
func fhirIDs(t *testing.T, r result) []string {
	t.Helper()
	var out []string
	for _, e := range searchBundle(t, r).Entry {
		var res struct{ ID string }
		_ = json.Unmarshal(e.Resource, &res)
		out = append(out, res.ID)
	}
	return out
}

// fhirOutcome decodes an OperationOutcome of the status wanted.
func fhirOutcome(t *testing.T, r result, status int) fhir.Issue {
	t.Helper()
	var oo fhir.OperationOutcome
	if r.status != status || !strings.HasPrefix(r.header.Get("Content-Type"), fhir.MediaType) {
		t.Fatalf("answered %d %s, want %d OperationOutcome: %s", r.status, r.header.Get("Content-Type"), status, r.body)
	}
	if err := json.Unmarshal([]byte(r.body), &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 ||
		oo.Issue[0].Severity != "error" {
		t.Fatalf("not an OperationOutcome: %s", r.body)
	}
	return oo.Issue[0]
}

func TestFHIRReadsARegisteredPatient(t *testing.T) {
	a := newFHIRAPI(t)
	p := a.register(t, "Amina", "Begum", "1988-02-29", patient.Identifier{System: "urn:bd:nid", Value: "1988123456"})
	r := a.get(t, "/fhir/R4/Patient/"+p.ID.String())
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), fhir.MediaType) {
		t.Fatalf("read answered %d %s: %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	var got fhir.Patient
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatal(err)
	}
	if got.ResourceType != "Patient" || got.ID != p.ID.String() || got.Gender != "female" || got.BirthDate != "1988-02-29" ||
		!got.Active || got.Meta == nil || got.Meta.VersionID != "1" {
		t.Errorf("patient read as %+v", got)
	}
	if len(got.Identifier) != 2 || got.Identifier[0].System != fhir.SystemMRN || got.Identifier[0].Value != p.MRN ||
		got.Identifier[1].System != "urn:bd:nid" {
		t.Errorf("identifiers %+v, want the MRN then the national id", got.Identifier)
	}
	if len(got.Name) != 1 || got.Name[0].Family != "Begum" || len(got.Telecom) != 1 || got.Telecom[0].Use != "mobile" {
		t.Errorf("name %+v telecom %+v", got.Name, got.Telecom)
	}
	if r.header.Get("ETag") != `W/"1"` {
		t.Errorf("ETag %q", r.header.Get("ETag"))
	}
}

func TestFHIRSearchesPatients(t *testing.T) {
	a := newFHIRAPI(t)
	amina := a.register(t, "Amina", "Begum", "1988-02-29", patient.Identifier{System: "urn:bd:nid", Value: "1988123456"})
	rahim := a.register(t, "Rahim", "Uddin", "1975-07-01")
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"identifier=" + url.QueryEscape(fhir.SystemMRN+"|"+amina.MRN), []string{amina.ID.String()}},
		{"identifier=" + rahim.MRN, []string{rahim.ID.String()}},
		{"identifier=" + url.QueryEscape("urn:bd:nid|1988123456"), []string{amina.ID.String()}},
		{"name=begum", []string{amina.ID.String()}},
		{"name=rahim&birthdate=1975-07-01", []string{rahim.ID.String()}},
		{"name=rahim&birthdate=1975-07-02", nil},
	} {
		got := fhirIDs(t, a.get(t, "/fhir/R4/Patient?"+tc.query))
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s found %v, want %v", tc.query, got, tc.want)
		}
	}
	// A page at a time: the next link carries the store's cursor.
	first := searchBundle(t, a.get(t, "/fhir/R4/Patient?_count=1"))
	if len(first.Entry) != 1 || first.Total != nil || len(first.Link) != 2 || first.Link[1].Relation != "next" {
		t.Fatalf("first page of one: %+v", first.Bundle)
	}
	next, _ := url.Parse(first.Link[1].URL)
	second := searchBundle(t, a.get(t, next.RequestURI()))
	if len(second.Entry) != 1 || second.Entry[0].FullURL == first.Entry[0].FullURL {
		t.Errorf("the next link gave %+v after %+v", second.Entry, first.Entry)
	}
	issue := fhirOutcome(t, a.get(t, "/fhir/R4/Patient?identifier=12345"), http.StatusBadRequest)
	if !slices.Equal(issue.Expression, []string{"identifier"}) || issue.Code != fhir.IssueInvalid {
		t.Errorf("a value that is no MRN: %+v", issue)
	}
	issue = fhirOutcome(t, a.get(t, "/fhir/R4/Patient?gender=female"), http.StatusBadRequest)
	if !slices.Equal(issue.Expression, []string{"gender"}) {
		t.Errorf("a parameter not served: %+v", issue)
	}
}

func TestFHIRSearchesObservations(t *testing.T) {
	a := newFHIRAPI(t)
	p := a.register(t, "Amina", "Begum", "1988-02-29").ID
	other := a.register(t, "Rahim", "Uddin", "1975-07-01").ID
	jan := time.Date(2026, 1, 10, 8, 0, 0, 0, time.UTC)
	hrJan := a.record(t, p, observation.CodeHeartRate, 72, "/min", jan)
	hrFeb := a.record(t, p, observation.CodeHeartRate, 118, "/min", jan.AddDate(0, 1, 0))
	tempJan := a.record(t, p, observation.CodeBodyTemperature, 37.2, "Cel", jan.Add(time.Hour))
	a.record(t, other, observation.CodeHeartRate, 60, "/min", jan)
	s := func(ids ...uuid.UUID) []string {
		out := []string{}
		for _, id := range ids {
			out = append(out, id.String())
		}
		return out
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"patient=" + p.String(), s(hrFeb, tempJan, hrJan)},
		{"subject=Patient/" + p.String(), s(hrFeb, tempJan, hrJan)},
		{"patient=" + p.String() + "&code=8867-4", s(hrFeb, hrJan)},
		{"patient=" + p.String() + "&code=" + url.QueryEscape("http://loinc.org|8310-5"), s(tempJan)},
		{"patient=" + p.String() + "&date=ge2026-02-01", s(hrFeb)},
		{"patient=" + p.String() + "&date=lt2026-02", s(tempJan, hrJan)},
		{"patient=" + p.String() + "&date=eq2026-01-10", s(tempJan, hrJan)},
		{"patient=" + p.String() + "&date=gt2026-01-10&date=le2026-02-10", s(hrFeb)},
		{"patient=" + p.String() + "&date=" + url.QueryEscape("ge2026-01-10T08:30:00Z") + "&date=lt2026-01-11", s(tempJan)},
		{"patient=" + p.String() + "&date=ge2026-03-01&date=lt2026-02-01", s()},
		{"patient=" + p.String() + "&_sort=-date", s(hrFeb, tempJan, hrJan)},
	} {
		got := fhirIDs(t, a.get(t, "/fhir/R4/Observation?"+tc.query))
		if got == nil {
			got = []string{}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s found %v, want %v", tc.query, got, tc.want)
		}
	}
	r := a.get(t, "/fhir/R4/Observation/"+hrFeb.String())
	var o fhir.Observation
	if err := json.Unmarshal([]byte(r.body), &o); err != nil || r.status != http.StatusOK {
		t.Fatalf("read %d: %s", r.status, r.body)
	}
	if o.Status != "final" || o.Code.Coding[0].System != fhir.SystemLOINC || o.Code.Coding[0].Code != "8867-4" ||
		o.Subject.Reference != "Patient/"+p.String() || o.ValueQuantity == nil || o.ValueQuantity.System != fhir.SystemUCUM ||
		o.ValueQuantity.Value != 118 || len(o.Interpretation) != 1 || o.Interpretation[0].Coding[0].Code != "H" {
		t.Errorf("observation read as %s", r.body)
	}
}

func TestFHIRRefusalsAreOperationOutcomes(t *testing.T) {
	a := newFHIRAPI(t)
	p := a.register(t, "Amina", "Begum", "1988-02-29").ID
	unknown := uuid.Must(uuid.NewV7()).String()
	for _, tc := range []struct {
		name, path string
		status     int
		code, expr string
	}{
		{"unknown patient", "/fhir/R4/Patient/" + unknown, 404, fhir.IssueNotFound, ""},
		{"an id not ours", "/fhir/R4/Patient/example", 404, fhir.IssueNotFound, ""},
		{"unknown observation", "/fhir/R4/Observation/" + unknown, 404, fhir.IssueNotFound, ""},
		{"unknown encounter", "/fhir/R4/Encounter/" + unknown, 404, fhir.IssueNotFound, ""},
		{"unknown allergy", "/fhir/R4/AllergyIntolerance/" + unknown, 404, fhir.IssueNotFound, ""},
		{"bad date prefix", "/fhir/R4/Observation?patient=" + p.String() + "&date=xx2026-01-01", 400, fhir.IssueInvalid, "date"},
		{"unserved date prefix", "/fhir/R4/Observation?patient=" + p.String() + "&date=sa2026-01-01", 400, fhir.IssueInvalid, "date"},
		{"bad date", "/fhir/R4/Observation?patient=" + p.String() + "&date=ge2026-13-01", 400, fhir.IssueInvalid, "date"},
		{"no patient", "/fhir/R4/Observation?code=8867-4", 400, fhir.IssueInvalid, "patient"},
		{"not LOINC", "/fhir/R4/Observation?patient=" + p.String() + "&code=" + url.QueryEscape("http://snomed.info/sct|1"), 400, fhir.IssueInvalid, "code"},
		{"uncatalogued code", "/fhir/R4/Observation?patient=" + p.String() + "&code=0000-0", 400, fhir.IssueInvalid, "code"},
		{"bad _count", "/fhir/R4/Encounter?_count=0", 400, fhir.IssueInvalid, "_count"},
		{"bad status", "/fhir/R4/Encounter?status=discharged", 400, fhir.IssueInvalid, "status"},
		{"bad cursor", "/fhir/R4/Encounter?_cursor=nonsense", 400, fhir.IssueInvalid, "_cursor"},
		{"allergies of nobody", "/fhir/R4/AllergyIntolerance", 400, fhir.IssueInvalid, "patient"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			issue := fhirOutcome(t, a.get(t, tc.path), tc.status)
			if issue.Code != tc.code || (tc.expr != "" && !slices.Equal(issue.Expression, []string{tc.expr})) {
				t.Errorf("issue %+v, want %s naming %q", issue, tc.code, tc.expr)
			}
		})
	}
	// A code no encounter of ours has matches nothing; one we have is searched.
	if got := fhirIDs(t, a.get(t, "/fhir/R4/Encounter?status=onleave")); len(got) != 0 {
		t.Errorf("onleave found %v", got)
	}
	if b := searchBundle(t, a.get(t, "/fhir/R4/Encounter?patient="+p.String()+"&status=finished")); b.Total == nil || *b.Total != 0 {
		t.Errorf("a complete empty search says total %v", b.Total)
	}
}

// TestFHIRCapabilityStatementIsTheRouteTable: the CapabilityStatement lists
// exactly the interactions the routes serve, each search parameter it lists
// is accepted and documented, and a parameter it does not list is refused.
func TestFHIRCapabilityStatementIsTheRouteTable(t *testing.T) {
	a := newFHIRAPI(t)
	p := a.register(t, "Amina", "Begum", "1988-02-29")
	r := call(t, a.srv, http.MethodGet, "/fhir/R4/metadata", "", "")
	var cs fhir.CapabilityStatement
	if err := json.Unmarshal([]byte(r.body), &cs); err != nil || r.status != http.StatusOK {
		t.Fatalf("metadata %d: %s", r.status, r.body)
	}
	if cs.ResourceType != "CapabilityStatement" || cs.FHIRVersion != "4.0.1" || !slices.Equal(cs.Format, []string{"json"}) ||
		cs.Kind != "instance" || cs.Status != "active" || len(cs.Rest) != 1 || cs.Rest[0].Mode != "server" ||
		cs.Rest[0].Security == nil || cs.Rest[0].Security.Service[0].Coding[0].Code != "SMART-on-FHIR" {
		t.Fatalf("statement %s", r.body)
	}
	served := map[string]bool{}
	for _, rt := range (&fhirRoutes{}).routes() {
		served[rt.Method+" "+rt.Path] = true
	}
	listed := map[string]bool{fhirBase + "/metadata": true}
	doc, err := LoadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]string{"identifier": p.MRN, "name": "begum", "birthdate": "1988-02-29", "patient": p.ID.String(),
		"owner":   "Practitioner/0193c0de-0000-7000-8000-0000000000d1",
		"subject": "Patient/" + p.ID.String(), "code": "8867-4", "date": "ge2026-01-01", "status": "finished",
		"category": "108252007", "agent": "admin"}
	// Values of a parameter whose codes differ by type.
	typedValues := map[string]string{"Task?status": "in-progress", "MedicationRequest?status": "active",
		"ServiceRequest?status": "active", "DiagnosticReport?status": "final", "Procedure?status": "preparation",
		"Appointment?status": "booked", "CarePlan?status": "active", "Flag?status": "active"}
	for _, res := range cs.Rest[0].Resource {
		for _, op := range res.Operation {
			path := fhirBase + "/" + res.Type + "/:id/$" + op.Name
			listed[path] = true
			if !served["GET "+path] {
				t.Errorf("%s $%s is listed but not served", res.Type, op.Name)
			}
		}
		// The one _sort a search honours is said, and taken; another is
		// refused, naming _sort.
		sortQuery := url.Values{}
		if res.Type != "Patient" && res.Type != "Encounter" && res.Type != "Practitioner" {
			sortQuery.Set("patient", p.ID.String())
		}
		if sort, ok := strings.CutPrefix(res.Documentation, "Searches take _sort="); ok {
			sortQuery.Set("_sort", strings.TrimSuffix(sort, " alone: the order the matches are listed in."))
			if got := a.get(t, fhirBase+"/"+res.Type+"?"+sortQuery.Encode()); got.status != http.StatusOK {
				t.Errorf("%s?%s is said but refused: %d %s", res.Type, sortQuery.Encode(), got.status, got.body)
			}
		}
		sortQuery.Set("_sort", "_id")
		if issue := fhirOutcome(t, a.get(t, fhirBase+"/"+res.Type+"?"+sortQuery.Encode()), http.StatusBadRequest); !slices.Equal(issue.Expression, []string{"_sort"}) {
			t.Errorf("%s?_sort=_id: %+v", res.Type, issue)
		}
		for _, in := range res.Interaction {
			path := fhirBase + "/" + res.Type
			switch in.Code {
			case fhir.InteractionRead:
				path += "/:id"
			case fhir.InteractionSearch:
			case fhir.InteractionVRead:
				path += "/:id/_history/:vid"
			case fhir.InteractionHistory:
				path += "/:id/_history"
			default:
				t.Errorf("%s lists interaction %s", res.Type, in.Code)
			}
			listed[path] = true
			if !served["GET "+path] {
				t.Errorf("%s %s is listed but not served", res.Type, in.Code)
			}
		}
		documented := map[string]bool{}
		if item := doc.Paths.Find(fhirBase + "/" + res.Type); item != nil && item.Get != nil {
			for _, prm := range item.Get.Parameters {
				documented[prm.Value.Name] = true
			}
		}
		for _, sp := range res.SearchParam {
			if !documented[sp.Name] {
				t.Errorf("%s?%s is listed but not documented", res.Type, sp.Name)
			}
			v, ok := values[sp.Name]
			if !ok {
				t.Errorf("%s?%s: the test has no value for it", res.Type, sp.Name)
				continue
			}
			if typed, ok := typedValues[res.Type+"?"+sp.Name]; ok {
				v = typed
			}
			q := url.Values{sp.Name: {v}}
			if sp.Name != "patient" && sp.Name != "subject" && res.Type != "Patient" && res.Type != "Encounter" && res.Type != "Practitioner" {
				q.Set("patient", p.ID.String())
			}
			if got := a.get(t, fhirBase+"/"+res.Type+"?"+q.Encode()); got.status != http.StatusOK {
				t.Errorf("%s?%s is listed but refused: %d %s", res.Type, q.Encode(), got.status, got.body)
			}
		}
		if got := a.get(t, fhirBase+"/"+res.Type+"?_unlisted=1"); got.status != http.StatusBadRequest {
			t.Errorf("%s takes a parameter the statement does not list: %d", res.Type, got.status)
		}
	}
	for key := range served {
		if !listed[strings.TrimPrefix(key, "GET ")] {
			t.Errorf("%s is served but not in the CapabilityStatement", key)
		}
	}
}

// The router's own refusals under /fhir — no token, a scope the token
// lacks, no such route, an input check — are OperationOutcomes too; under
// /v1 they keep the API's envelope.
func TestFHIRMiddlewareRefusalsAreOperationOutcomes(t *testing.T) {
	d, _ := testDeps(t, nil)
	srv := serveRouter(t, d)
	for _, tc := range []struct {
		name, path, token string
		status            int
		code              string
	}{
		{"no token", "/fhir/R4/Patient?name=amina", "", http.StatusUnauthorized, fhir.IssueLogin},
		{"a scope the token lacks", "/fhir/R4/Observation?patient=" + uuid.NewString(), readerToken, http.StatusForbidden, fhir.IssueForbidden},
		{"no such route", "/fhir/R4/Spaceship/1", adminToken, http.StatusNotFound, fhir.IssueNotFound},
		{"a parameter too long", "/fhir/R4/Patient?name=" + strings.Repeat("a", 5000), adminToken, http.StatusBadRequest, fhir.IssueInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, srv, http.MethodGet, tc.path, tc.token, "")
			issue := fhirOutcome(t, r, tc.status)
			if issue.Code != tc.code || issue.Diagnostics == "" {
				t.Errorf("issue %+v, want %s", issue, tc.code)
			}
		})
	}
	if r := call(t, srv, http.MethodGet, "/v1/patients/"+uuid.NewString(), "", ""); r.status != http.StatusUnauthorized || !strings.Contains(r.body, `"error":"UNAUTHORIZED"`) {
		t.Errorf("a /v1 refusal: %d %s", r.status, r.body)
	}
}
