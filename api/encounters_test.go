package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
	encounterflow "github.com/zarish-sphere/zarish/workflows/encounter"
)

// encounterTemporal stands in for the Temporal server behind the encounter
// routes: starts are recorded (or refused with startErr), and each Update is
// answered by update, which plays the workflow.
type encounterTemporal struct {
	client.Client
	mu       sync.Mutex
	started  []encounterflow.Input
	startErr error
	update   func(id uuid.UUID, req encounterflow.Request) (encounterflow.State, error)
	updates  []string // the Update id of each Update sent
}

func (f *encounterTemporal) ExecuteWorkflow(_ context.Context, opts client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.startErr != nil {
		return nil, f.startErr
	}
	f.started = append(f.started, args[0].(encounterflow.Input))
	return nil, nil
}

func (f *encounterTemporal) UpdateWorkflow(_ context.Context, opts client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.mu.Lock()
	f.updates = append(f.updates, opts.UpdateID)
	f.mu.Unlock()
	return answerUpdate(opts, encounterflow.IDFromWorkflowID, f.update)
}

// encountersAPI serves the encounter routes on a fresh database with a fake
// Temporal.
type encountersAPI struct {
	pool     *pgxpool.Pool
	srv      *httptest.Server
	temporal *encounterTemporal
	store    *postgres.EncounterStore
	audit    *postgres.AuditStore
	patient  uuid.UUID
}

func newEncountersAPI(t *testing.T) *encountersAPI {
	t.Helper()
	pool := pgtest.NewPool(t)
	e := &encountersAPI{pool: pool, temporal: &encounterTemporal{}, store: postgres.NewEncounterStore(pool), audit: postgres.NewAuditStore(pool)}
	h := NewRouter(Deps{
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Version:    "test",
		StepKeys:   postgres.NewStepKeys(pool),
		Audit:      e.audit,
		Temporal:   e.temporal,
		Encounters: e.store,
		CareTeam:   postgres.NewCareTeamStore(pool),
		Verifier:   peopleVerifier(),
		Health:     NewHealth(nil, time.Second),
		Metrics:    NewMetrics(),
	})
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	e.patient = registerPatient(t, postgres.NewPatientStore(pool))
	return e
}

// registerPatient registers a patient in the store and returns its id.
func registerPatient(t *testing.T, store *postgres.PatientStore) uuid.UUID {
	t.Helper()
	d := patient.Details{Name: patient.Name{Given: []string{"Amina"}, Family: "Rahman"}, BirthDate: "1987-04-12", Sex: "female"}
	p, _, err := store.Register(context.Background(), nil, nil, func(mrn string) (patient.Patient, error) {
		return patient.NewPatient(uuid.Must(uuid.NewV7()), mrn, d, time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

func (e *encountersAPI) post(t *testing.T, path, body string, headers ...string) result {
	t.Helper()
	return e.postAs(t, adminToken, path, body, headers...)
}

func (e *encountersAPI) postAs(t *testing.T, token, path, body string, headers ...string) result {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return result{status: res.StatusCode, body: string(raw), header: res.Header}
}

func (e *encountersAPI) open(t *testing.T, key string) encounter.Record {
	t.Helper()
	r := e.post(t, "/v1/clinical/encounters",
		`{"patientId":"`+e.patient.String()+`","class":"emergency","reason":"chest pain","location":"ed-resus"}`,
		"Idempotency-Key", key)
	if r.status != http.StatusCreated {
		t.Fatalf("open: %d %s", r.status, r.body)
	}
	var rec encounter.Record
	if err := json.Unmarshal([]byte(r.body), &rec); err != nil || rec.ID == uuid.Nil {
		t.Fatalf("open answered %s", r.body)
	}
	return rec
}

// The same key with the same body — keys in another order, other
// whitespace — answers the first encounter with its current status; the
// same key with another body (another patient) is refused.
func TestEncounterIdempotencyKeyIsTheRequest(t *testing.T) {
	e := newEncountersAPI(t)
	first := e.open(t, "enc-1")
	if first.Status != encounter.StatusPlanned || len(e.temporal.started) != 1 {
		t.Fatalf("first: %s, %d starts", first.Status, len(e.temporal.started))
	}
	// The encounter moves on, as its workflow would record it.
	st, err := encounter.New(encounter.Details{EncounterID: first.ID, PatientID: e.patient, Class: encounter.ClassEmergency,
		Reason: "chest pain", Location: "ed-resus"}, first.CreatedAt)
	if err != nil {
		t.Fatal(err)
	}
	if st, err = st.Arrive(uuid.New(), first.CreatedAt.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := e.store.RecordTransition(context.Background(), st, st.Last(), nil); err != nil {
		t.Fatal(err)
	}

	r := e.post(t, "/v1/clinical/encounters",
		`{ "location":"ed-resus", "reason":"chest pain",
		   "class":"emergency", "patientId":"`+e.patient.String()+`" }`, "Idempotency-Key", "enc-1")
	var again encounter.Record
	_ = json.Unmarshal([]byte(r.body), &again)
	if r.status != http.StatusCreated || again.ID != first.ID || again.Status != encounter.StatusArrived ||
		r.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s", r.status, r.body)
	}

	other := uuid.MustParse("0193c0de-0000-7000-8000-0000000000bb")
	r = e.post(t, "/v1/clinical/encounters",
		`{"patientId":"`+other.String()+`","class":"emergency","reason":"chest pain","location":"ed-resus"}`, "Idempotency-Key", "enc-1")
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, CodeIdempotencyMismatch) {
		t.Fatalf("another body, same key: %d %s", r.status, r.body)
	}
}

// A start Temporal refuses still answers 201: the encounter and its start
// row committed together, and the workflow starter starts it from the row.
// A start the API made itself marks the row, so the starter leaves it be.
func TestEncounterStartsFromItsRowWhenTemporalRefuses(t *testing.T) {
	e := newEncountersAPI(t)
	e.temporal.startErr = serviceerror.NewUnavailable("temporal is down")
	r := e.post(t, "/v1/clinical/encounters",
		`{"patientId":"`+e.patient.String()+`","class":"emergency","reason":"chest pain","location":"ed-resus"}`, "Idempotency-Key", "enc-2")
	var rec encounter.Record
	if err := json.Unmarshal([]byte(r.body), &rec); r.status != http.StatusCreated || err != nil {
		t.Fatalf("start refused by Temporal: %d %s", r.status, r.body)
	}
	if started, pending := e.startRow(t, rec.ID); started || !pending {
		t.Fatalf("start row: started %v, pending %v", started, pending)
	}
	e.temporal.startErr = nil
	other := e.open(t, "enc-3")
	if started, _ := e.startRow(t, other.ID); !started || len(e.temporal.started) != 1 || e.temporal.started[0].EncounterID != other.ID ||
		!e.temporal.started[0].CreatedAt.Equal(other.CreatedAt) {
		t.Fatalf("started %+v for %s, row marked %v", e.temporal.started, other.ID, started)
	}
}

// startRow reports whether the encounter's start row is marked started, and
// whether it exists unstarted.
func (e *encountersAPI) startRow(t *testing.T, id uuid.UUID) (started, pending bool) {
	t.Helper()
	var n, done int
	err := e.pool.QueryRow(context.Background(),
		`SELECT count(*), count(started_at) FROM workflow_starts WHERE workflow_id = $1`, encounterflow.WorkflowID(id)).Scan(&n, &done)
	if err != nil || n != 1 {
		t.Fatalf("start rows of %s: %d, %v", id, n, err)
	}
	return done == 1, done == 0
}

// Refusals are recognised by type: reworded, a refused transition is still
// 409 INVALID_TRANSITION, and an Update on a closed encounter is 409 naming
// its status, not 404.
func TestEncounterRefusalsByType(t *testing.T) {
	e := newEncountersAPI(t)
	rec := e.open(t, "enc-3")
	e.temporal.update = func(uuid.UUID, encounterflow.Request) (encounterflow.State, error) {
		return encounterflow.State{}, temporal.NewApplicationError("words nobody matches on", encounterflow.RefusedInvalidTransition)
	}
	path := "/v1/clinical/encounters/" + rec.ID.String()
	r := e.postAs(t, nurseToken, path+"/start", `{"attending":"`+uuid.NewString()+`"}`)
	if r.status != http.StatusConflict || !strings.Contains(r.body, CodeInvalidTransition) || !strings.Contains(r.body, "words nobody matches on") {
		t.Fatalf("refused: %d %s", r.status, r.body)
	}
	e.temporal.update = func(uuid.UUID, encounterflow.Request) (encounterflow.State, error) {
		return encounterflow.State{}, temporal.NewApplicationError("no", encounterflow.RefusedOpenOrders)
	}
	if r := e.postAs(t, physicianToken, path+"/discharge", `{"disposition":"home"}`); r.status != http.StatusConflict || !strings.Contains(r.body, CodeOpenOrders) {
		t.Fatalf("open orders: %d %s", r.status, r.body)
	}

	e.temporal.update = func(uuid.UUID, encounterflow.Request) (encounterflow.State, error) {
		return encounterflow.State{}, serviceerror.NewNotFound("workflow execution already completed")
	}
	r = e.postAs(t, nurseToken, path+"/arrive", `{}`)
	if r.status != http.StatusConflict || !strings.Contains(r.body, "planned") {
		t.Fatalf("closed encounter: %d %s", r.status, r.body)
	}
	r = e.postAs(t, nurseToken, "/v1/clinical/encounters/"+uuid.NewString()+"/arrive", `{}`)
	if r.status != http.StatusNotFound {
		t.Fatalf("unknown encounter: %d %s", r.status, r.body)
	}
}

// A transition answers the encounter's view — the shape GET answers — and
// hands its audit record to the write, which stores it.
func TestEncounterTransitionAnswersTheView(t *testing.T) {
	e := newEncountersAPI(t)
	rec := e.open(t, "enc-4")
	var carried *audit.Record
	e.temporal.update = func(id uuid.UUID, req encounterflow.Request) (encounterflow.State, error) {
		st, err := encounter.New(encounter.Details{EncounterID: id, PatientID: e.patient, Class: encounter.ClassEmergency,
			Reason: "chest pain", Location: "ed-resus"}, rec.CreatedAt)
		if err != nil {
			return st, err
		}
		if st, err = st.Arrive(req.Actor(), rec.CreatedAt.Add(time.Minute)); err != nil {
			return st, err
		}
		carried = req.(*encounterflow.ArriveRequest).Audit
		return st, e.store.RecordTransition(context.Background(), st, st.Last(), carried)
	}
	r := e.postAs(t, nurseToken, "/v1/clinical/encounters/"+rec.ID.String()+"/arrive", `{"by":"`+nurseID.String()+`"}`)
	if r.status != http.StatusOK || strings.Contains(r.body, `"details"`) {
		t.Fatalf("arrive: %d %s", r.status, r.body)
	}
	var view, got encounter.Record
	if err := json.Unmarshal([]byte(r.body), &view); err != nil || view.ID != rec.ID || view.Status != encounter.StatusArrived {
		t.Fatalf("arrive answered %s", r.body)
	}
	if carried == nil || carried.Status != http.StatusOK || carried.Action != audit.ActionUpdate || carried.Actor.PractitionerID != nurseID.String() {
		t.Fatalf("audit record carried: %+v", carried)
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v1/clinical/encounters/"+rec.ID.String(), nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil || got.Status != view.Status || got.Version != view.Version || got.ID != view.ID {
		t.Fatalf("GET %+v, POST %+v", got, view)
	}
	records, _, err := e.audit.Query(context.Background(), audit.Filter{PatientID: &e.patient, Action: audit.ActionUpdate})
	if err != nil {
		t.Fatal(err)
	}
	updates := 0
	for _, a := range records {
		if a.Action == audit.ActionUpdate && a.ID == carried.ID && a.PatientID != nil && *a.PatientID == e.patient {
			updates++
		}
	}
	if updates != 1 {
		t.Fatalf("the arrive's audit record was stored %d times: %+v", updates, records)
	}
}

// A transition's actor is the person acting: the signed-in practitioner,
// or the one a machine client names with X-On-Behalf-Of. A body naming
// another is 403 ACTOR_MISMATCH, and a machine client acting as itself 403
// PERSON_REQUIRED, whoever its body names; neither reaches a workflow.
func TestEncounterTransitionActorFromTheToken(t *testing.T) {
	e := newEncountersAPI(t)
	registerPractitioners(t, e.pool, nurseID, physicianID)
	rec := e.open(t, "enc-5")
	var got []uuid.UUID
	var carried []*audit.Record
	e.temporal.update = func(id uuid.UUID, req encounterflow.Request) (encounterflow.State, error) {
		got, carried = append(got, req.Actor()), append(carried, req.(*encounterflow.ArriveRequest).Audit)
		st, err := encounter.New(encounter.Details{EncounterID: id, PatientID: e.patient, Class: encounter.ClassEmergency,
			Reason: "chest pain", Location: "ed-resus"}, rec.CreatedAt)
		if err != nil {
			return st, err
		}
		return st.Arrive(req.Actor(), rec.CreatedAt.Add(time.Minute))
	}
	path := "/v1/clinical/encounters/" + rec.ID.String() + "/arrive"
	onBehalfOfNurse := []string{headerOnBehalfOf, "Practitioner/" + nurseID.String()}
	for name, tt := range map[string]struct {
		token, body string
		headers     []string
		code        string
	}{
		"a nurse naming another":                 {nurseToken, `{"by":"` + physicianID.String() + `"}`, nil, CodeActorMismatch},
		"a machine client as itself":             {adminToken, `{}`, nil, CodePersonRequired},
		"a machine client naming a practitioner": {adminToken, `{"by":"` + nurseID.String() + `"}`, nil, CodePersonRequired},
		"a gateway for the nurse naming another": {gatewayToken, `{"by":"` + physicianID.String() + `"}`, onBehalfOfNurse, CodeActorMismatch},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.postAs(t, tt.token, path, tt.body, tt.headers...)
			wantCode(t, r, http.StatusForbidden, tt.code)
			if len(got) != 0 {
				t.Fatalf("a refused transition reached the workflow: %v", got)
			}
		})
	}
	if r := e.postAs(t, nurseToken, path, `{}`); r.status != http.StatusOK || len(got) != 1 || got[0] != nurseID {
		t.Fatalf("arrive as the nurse: %d %s, actors %v", r.status, r.body, got)
	}
	// For the nurse, the gateway may name her or leave the field out; the
	// audit record names the client and the nurse, asserted.
	for _, body := range []string{`{}`, `{"by":"` + nurseID.String() + `"}`} {
		r := e.postAs(t, gatewayToken, path, body, onBehalfOfNurse...)
		a := carried[len(carried)-1]
		if r.status != http.StatusOK || got[len(got)-1] != nurseID || a == nil || a.Actor.ClientID != gatewayClient ||
			a.Actor.PractitionerID != nurseID.String() || !a.Actor.Asserted {
			t.Fatalf("arrive for the nurse (%s): %d %s, audit %+v", body, r.status, r.body, a)
		}
	}
}

// A list without a patientId filter records every patient it returned, so
// the accounting of disclosures is complete.
func TestEncounterListRecordsThePatientsItShowed(t *testing.T) {
	e := newEncountersAPI(t)
	e.open(t, "enc-6")
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v1/clinical/encounters", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	records, _, err := e.audit.Query(context.Background(), audit.Filter{PatientID: &e.patient, Action: audit.ActionSearch})
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || len(records) != 1 || len(records[0].PatientIDs) != 1 || records[0].PatientIDs[0] != e.patient {
		t.Fatalf("list %d; search records naming the patient: %+v", res.StatusCode, records)
	}
}
