package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/fhir/bundle"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

const (
	importToken    = "importer"
	syntheaClement = "../integrations/fhir/bundle/testdata/Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json"
)

// fhirImportAPI serves POST /fhir/R4 on a fresh database.
type fhirImportAPI struct {
	srv      *httptest.Server
	pool     *pgxpool.Pool
	patients *postgres.PatientStore
}

func newFHIRImportAPI(t *testing.T) *fhirImportAPI {
	t.Helper()
	pool := pgtest.NewPool(t)
	d, _ := serviceDeps(pool)
	d.Verifier.(stubVerifier)[importToken] = access.Principal{Subject: importToken, ClientID: importToken,
		Scopes: []string{"system/Patient.write"}}
	d.Now, d.NewID = time.Now, uuid.NewV7
	patients := postgres.NewPatientStore(pool)
	routes := &fhirImportRoutes{importer: bundle.New(postgres.NewFHIRImportStore(pool), d.Now, d.NewID)}
	a := &fhirImportAPI{pool: pool, patients: patients, srv: httptest.NewServer(serviceRouter(t, d, func(e *edge) []Route { routes.edge = e; return routes.routes() }))}
	t.Cleanup(a.srv.Close)
	return a
}

func (a *fhirImportAPI) post(t *testing.T, body string) result {
	t.Helper()
	return call(t, a.srv, http.MethodPost, fhirImportPath, importToken, body, "Content-Type", mediaFHIRJSON)
}

func (a *fhirImportAPI) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := a.pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// importTables are the tables an import writes, each with what it counts.
var importTables = []string{
	"patients", "observations", "idempotency_keys", "observation_ranges",
	"outbox WHERE type NOT LIKE 'audit.%'", "outbox WHERE type LIKE 'audit.%'", "audit_events",
}

// counts counts the rows of every table an import writes.
func (a *fhirImportAPI) counts(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range importTables {
		out[table] = a.count(t, table)
	}
	return out
}

// refusedUnchanged checks that a refused import left every table as it
// was, but for its own audit record (outcome failure, status 400) and that
// record's event.
func (a *fhirImportAPI) refusedUnchanged(t *testing.T, before map[string]int) {
	t.Helper()
	after := a.counts(t)
	for _, table := range importTables {
		want := before[table]
		if table == "audit_events" || table == "outbox WHERE type LIKE 'audit.%'" {
			want++ // the refusal's own record
		}
		if after[table] != want {
			t.Errorf("%s: %d rows after the refusal, %d before", table, after[table], before[table])
		}
	}
	var outcome, route string
	var status int
	if err := a.pool.QueryRow(context.Background(), `SELECT outcome, route, status FROM audit_events ORDER BY seq DESC LIMIT 1`).
		Scan(&outcome, &route, &status); err != nil {
		t.Fatal(err)
	}
	if outcome != "failure" || route != fhirImportPath || status != http.StatusBadRequest {
		t.Errorf("the refusal's audit record: %s %s %d", outcome, route, status)
	}
}

func responseOf(t *testing.T, r result) bundle.ResponseBundle {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	var b bundle.ResponseBundle
	if err := json.Unmarshal([]byte(r.body), &b); err != nil {
		t.Fatal(err)
	}
	return b
}

// syntheaEntry is one entry of a Synthea bundle, as the test reads it.
type syntheaEntry struct {
	Resource struct {
		ResourceType string `json:"resourceType"`
		Code         struct {
			Coding []struct{ Code string } `json:"coding"`
		} `json:"code"`
	} `json:"resource"`
}

func TestFHIRImportSynthea(t *testing.T) {
	a := newFHIRImportAPI(t)
	raw, err := os.ReadFile(syntheaClement)
	if err != nil {
		t.Fatal(err)
	}
	var sent struct{ Entry []syntheaEntry }
	if err := json.Unmarshal(raw, &sent); err != nil {
		t.Fatal(err)
	}
	got := responseOf(t, a.post(t, string(raw)))
	if got.Type != "transaction-response" || len(got.Entry) != len(sent.Entry) {
		t.Fatalf("%s with %d entries for %d", got.Type, len(got.Entry), len(sent.Entry))
	}
	found, _, err := a.patients.Search(t.Context(), patient.Criteria{Identifier: "http://hl7.org/fhir/sid/us-ssn|999-48-8934"})
	if err != nil || len(found) != 1 || found[0].Name.Family != "Kreiger" || found[0].BirthDate != "1984-07-02" || found[0].Sex != "male" {
		t.Fatalf("the registered patient: %+v %v", found, err)
	}
	if len(found[0].Identifiers) != 5 {
		t.Fatalf("identifiers %+v", found[0].Identifiers)
	}
	created := 0
	for i, e := range got.Entry {
		kind := sent.Entry[i].Resource.ResourceType
		switch e.Response.Status {
		case "201 Created":
			created++
			if !strings.HasPrefix(e.Response.Location, kind+"/") {
				t.Errorf("entry %d (%s) at %q", i, kind, e.Response.Location)
			}
		case "422 Unprocessable Entity":
			if e.Response.Outcome == nil || e.Response.Outcome.Issue[0].Diagnostics == "" {
				t.Errorf("entry %d (%s) refused without a reason", i, kind)
			}
			if kind == "Claim" && e.Response.Outcome.Issue[0].Diagnostics != "resource type Claim is not imported" {
				t.Errorf("entry %d: %s", i, e.Response.Outcome.Issue[0].Diagnostics)
			}
		default:
			t.Errorf("entry %d (%s): %s", i, kind, e.Response.Status)
		}
	}
	if got.Entry[0].Response.Location != "Patient/"+found[0].ID.String() {
		t.Fatalf("patient entry at %s", got.Entry[0].Response.Location)
	}
	catalogued := 0
	for _, e := range sent.Entry {
		if e.Resource.ResourceType == "Observation" {
			if _, ok := observation.Lookup(e.Resource.Code.Coding[0].Code); ok {
				catalogued++
			}
		}
	}
	observations := a.count(t, "observations")
	if observations != catalogued || created != catalogued+1 {
		t.Fatalf("%d observations stored and %d entries created, for %d catalogued observations", observations, created, catalogued)
	}
	t.Logf("%d of %d entries imported", created, len(got.Entry))

	// What downstream consumers read: one patient.created, every
	// observation in an observation.recorded event of its patient, and the
	// import's audit record, naming the patient, in the same transaction.
	events := a.eventCounts(t)
	if events["patient.created"] != 1 || events["recorded observations"] != catalogued || events["audit.create"] != 1 {
		t.Fatalf("events %v for %d catalogued observations", events, catalogued)
	}
	var patientID, entity, outcome string
	if err := a.pool.QueryRow(t.Context(), `SELECT patient_id::text, entity_type, outcome FROM audit_events WHERE route = '/fhir/R4'`).
		Scan(&patientID, &entity, &outcome); err != nil || patientID != found[0].ID.String() || entity != "Bundle" || outcome != "success" {
		t.Fatalf("the import's audit record: patient %s, %s, %s, %v", patientID, entity, outcome, err)
	}
	before := a.counts(t)

	// Again: nobody new, nothing new.
	again := responseOf(t, a.post(t, string(raw)))
	for i, e := range again.Entry {
		if want := got.Entry[i].Response; (want.Status == "201 Created" && (e.Response.Status != "200 OK" || e.Response.Location != want.Location)) ||
			(want.Status != "201 Created" && e.Response.Status != want.Status) {
			t.Errorf("entry %d again: %+v, first %+v", i, e.Response, want)
		}
	}
	if n := a.count(t, "patients"); n != 1 {
		t.Fatalf("%d patients after a re-import", n)
	}
	if n := a.count(t, "observations"); n != observations {
		t.Fatalf("%d observations after a re-import, %d before", n, observations)
	}
	for table, n := range a.counts(t) {
		want := before[table]
		if table == "audit_events" || table == "outbox WHERE type LIKE 'audit.%'" {
			want++ // the re-import's own record
		}
		if n != want {
			t.Errorf("%s: %d rows after a re-import, %d before", table, n, before[table])
		}
	}
}

const (
	importPatient = `{"fullUrl":"urn:uuid:p1","resource":{"resourceType":"Patient","identifier":[{"system":"urn:test","value":"42"}],
		"name":[{"family":"Rahman","given":["Amina"]}],"gender":"female","birthDate":"1980-02-03"},"request":{"method":"POST","url":"Patient"}}`
	importHeartRate = `{"fullUrl":"urn:uuid:o1","resource":{"resourceType":"Observation","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"urn:uuid:p1"},
		"effectiveDateTime":"2024-01-02T10:00:00Z","valueQuantity":{"value":72,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}},
		"request":{"method":"POST","url":"Observation"}}`
	importImpossible = `{"fullUrl":"urn:uuid:o2","resource":{"resourceType":"Observation","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"urn:uuid:p1"},
		"effectiveDateTime":"2024-01-02T10:00:00Z","valueQuantity":{"value":9000,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}},
		"request":{"method":"POST","url":"Observation"}}`
)

func importBundle(typ string, entries ...string) string {
	return `{"resourceType":"Bundle","type":"` + typ + `","entry":[` + strings.Join(entries, ",") + `]}`
}

// A transaction with one bad entry is refused whole, naming it, and
// writes nothing.
func TestFHIRImportTransactionIsAllOrNothing(t *testing.T) {
	a := newFHIRImportAPI(t)
	before := a.counts(t)
	r := a.post(t, importBundle("transaction", importPatient, importHeartRate, importImpossible))
	refusedAt(t, r, "Bundle.entry[2]", "value.value 9000 /min is outside what is possible for Heart rate (0–350 /min)")
	a.refusedUnchanged(t, before)
}

// A transaction whose last entry is refused only once the writes have
// begun — its fullUrl was imported before with other content — leaves
// nothing behind either: not the patient registered, nor the observation
// recorded, nor their events, keys or audit record.
func TestFHIRImportTransactionRollsBack(t *testing.T) {
	a := newFHIRImportAPI(t)
	responseOf(t, a.post(t, importBundle("batch", importPatient, importHeartRate)))
	before := a.counts(t)
	other := strings.NewReplacer(`"42"`, `"43"`, "urn:uuid:p1", "urn:uuid:p2", "urn:uuid:o1", "urn:uuid:o3")
	changed := strings.NewReplacer("urn:uuid:p1", "urn:uuid:p2", `"value":72`, `"value":73`) // o1 again, other content
	r := a.post(t, importBundle("transaction", other.Replace(importPatient), other.Replace(importHeartRate), changed.Replace(importHeartRate)))
	refusedAt(t, r, "Bundle.entry[2]", "the entry urn:uuid:o1 was imported before with other content")
	a.refusedUnchanged(t, before)
	if found, _, err := a.patients.Search(t.Context(), patient.Criteria{Identifier: "urn:test|43"}); err != nil || len(found) != 0 {
		t.Fatalf("the refused transaction's patient: %+v %v", found, err)
	}
}

// refusedAt checks that r refused the bundle for the one entry at, its
// diagnostics holding reason.
func refusedAt(t *testing.T, r result, at, reason string) {
	t.Helper()
	if r.status != http.StatusBadRequest {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var out bundle.OperationOutcome
	if err := json.Unmarshal([]byte(r.body), &out); err != nil || len(out.Issue) != 1 || out.Issue[0].Expression[0] != at ||
		!strings.Contains(out.Issue[0].Diagnostics, reason) {
		t.Fatalf("outcome %s", r.body)
	}
}

// eventCounts counts the outbox events by type, and the observations the
// observation.recorded events carry.
func (a *fhirImportAPI) eventCounts(t *testing.T) map[string]int {
	t.Helper()
	rows, err := a.pool.Query(t.Context(), `SELECT type, data FROM outbox ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			typ  string
			data []byte
		)
		if err := rows.Scan(&typ, &data); err != nil {
			t.Fatal(err)
		}
		out[typ]++
		if typ == observation.EventRecorded {
			var recorded postgres.RecordedEvent
			if err := json.Unmarshal(data, &recorded); err != nil {
				t.Fatal(err)
			}
			out["recorded observations"] += len(recorded.Observations)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// A batch applies every entry it can.
func TestFHIRImportBatchAppliesTheRest(t *testing.T) {
	a := newFHIRImportAPI(t)
	got := responseOf(t, a.post(t, importBundle("batch", importPatient, importHeartRate, importImpossible)))
	var statuses []string
	for _, e := range got.Entry {
		statuses = append(statuses, e.Response.Status)
	}
	if got.Type != "batch-response" || strings.Join(statuses, ",") != "201 Created,201 Created,422 Unprocessable Entity" {
		t.Fatalf("%s: %v", got.Type, statuses)
	}
	if a.count(t, "patients") != 1 || a.count(t, "observations") != 1 {
		t.Fatal("the batch's good entries were not stored")
	}

	// An entry imported before with other content is refused alone.
	changed := strings.NewReplacer(`"value":72`, `"value":73`)
	other := strings.NewReplacer("urn:uuid:o1", "urn:uuid:o4")
	again := responseOf(t, a.post(t, importBundle("batch", importPatient, changed.Replace(importHeartRate), other.Replace(importHeartRate))))
	statuses = statuses[:0]
	for _, e := range again.Entry {
		statuses = append(statuses, e.Response.Status)
	}
	if strings.Join(statuses, ",") != "200 OK,422 Unprocessable Entity,201 Created" ||
		again.Entry[1].Response.Outcome.Issue[0].Diagnostics != "the entry urn:uuid:o1 was imported before with other content" {
		t.Fatalf("%v: %+v", statuses, again.Entry[1].Response)
	}
	if a.count(t, "patients") != 1 || a.count(t, "observations") != 2 {
		t.Fatal("the second batch's good entry was not stored")
	}
}

func TestFHIRImportRefusesAMalformedBundle(t *testing.T) {
	a := newFHIRImportAPI(t)
	r := a.post(t, `{"resourceType":"Bundle","type":"searchset","entry":[]}`)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "OperationOutcome") {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

// A critical value imported is published as the observation service
// publishes it: in its patient's observation.recorded event, and in an
// observation.critical event of its own, committed with the import.
func TestFHIRImportPublishesCriticalValues(t *testing.T) {
	a := newFHIRImportAPI(t)
	critical := strings.NewReplacer(`"value":72`, `"value":140`).Replace(importHeartRate)
	got := responseOf(t, a.post(t, importBundle("transaction", importPatient, critical)))
	if got.Entry[1].Response.Status != "201 Created" {
		t.Fatalf("%+v", got.Entry[1].Response)
	}
	events := a.eventCounts(t)
	if events["patient.created"] != 1 || events[observation.EventRecorded] != 1 || events["recorded observations"] != 1 ||
		events[observation.EventCritical] != 1 || events["audit.create"] != 1 {
		t.Fatalf("events %v", events)
	}
	var subject string
	if err := a.pool.QueryRow(t.Context(), `SELECT subject FROM outbox WHERE type = $1`, observation.EventCritical).Scan(&subject); err != nil ||
		subject != got.Entry[1].Response.Location {
		t.Fatalf("the critical event's subject %q, %v; the entry at %s", subject, err, got.Entry[1].Response.Location)
	}
}
