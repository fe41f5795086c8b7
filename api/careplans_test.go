package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careplan"
	"github.com/zarish-sphere/zarish/domain/outbox"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
	careplanflow "github.com/zarish-sphere/zarish/workflows/careplan"
)

// fakeTemporal records how the care plan routes drive the reminder
// workflow; fail, when set, is the error every call returns.
type fakeTemporal struct {
	client.Client
	mu        sync.Mutex
	started   []careplanflow.Input // SignalWithStart calls
	signalled []string             // Signal calls, by workflow id
	fail      error
}

func (f *fakeTemporal) SignalWithStartWorkflow(_ context.Context, workflowID, signal string, _ any, opts client.StartWorkflowOptions,
	workflow any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	in := args[0].(careplanflow.Input)
	if signal != careplanflow.SignalPlanChanged || workflow != careplanflow.WorkflowName || opts.TaskQueue != "encounters" ||
		workflowID != "careplan/"+in.PlanID.String() || opts.ID != workflowID {
		return nil, fmt.Errorf("unexpected start of %s (%v) on %s", workflowID, workflow, opts.TaskQueue)
	}
	f.started = append(f.started, in)
	return nil, nil
}

func (f *fakeTemporal) SignalWorkflow(_ context.Context, workflowID, _, _ string, _ any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.signalled = append(f.signalled, workflowID)
	return serviceerror.NewNotFound("workflow not found")
}

func (f *fakeTemporal) calls() (int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.started), len(f.signalled)
}

// newCarePlansAPI serves the router, with the care plan store and a fake
// Temporal, on a fresh database; starts reads the workflow starts it wrote.
func newCarePlansAPI(t *testing.T) (*httptest.Server, *fakeTemporal, *postgres.AuditStore, *postgres.WorkflowStartStore) {
	t.Helper()
	pool := pgtest.NewPool(t)
	temporal := &fakeTemporal{}
	auditStore := postgres.NewAuditStore(pool)
	h := NewRouter(Deps{
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Version:   "test",
		Audit:     auditStore,
		Temporal:  temporal,
		CarePlans: postgres.NewCarePlanStore(pool),
		Patients:  postgres.NewPatientStore(pool),
		Verifier: stubVerifier{
			adminToken:  {Subject: "admin", ClientID: "admin", Scopes: []string{"system/*.*"}},
			readerToken: {Subject: "reader", ClientID: "reader", Scopes: []string{"system/CarePlan.read"}},
		},
		Health:  NewHealth(nil, time.Second),
		Metrics: NewMetrics(),
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	starts := postgres.NewWorkflowStartStore(pool)
	t.Cleanup(starts.Close)
	return srv, temporal, auditStore, starts
}

// pendingStarts lists the workflow starts not yet started.
func pendingStarts(t *testing.T, starts *postgres.WorkflowStartStore) []outbox.PendingStart {
	t.Helper()
	pending, err := starts.Pending(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return pending
}

func carePlanJSON(patient, owner uuid.UUID, dueAt time.Time) string {
	return fmt.Sprintf(`{"patientId":%q,"title":"Pressure-injury prevention","unit":"ward-3","status":"active",
		"period":{"start":"2026-11-25T08:00:00Z"},
		"goals":[{"description":"Skin intact","target":"no new pressure injury","dueDate":"2026-12-09"}],
		"activities":[{"title":"Reposition","ownerId":%q,"schedule":{"dueAt":%q,"repeat":"PT2H"}}]}`,
		patient, owner, dueAt.Format(time.RFC3339))
}

func decodeCarePlan(t *testing.T, r result) careplan.CarePlan {
	t.Helper()
	var p careplan.CarePlan
	if err := json.Unmarshal([]byte(r.body), &p); err != nil || p.ID == uuid.Nil {
		t.Fatalf("not a care plan: %d %s", r.status, r.body)
	}
	return p
}

// revision is the PUT body that keeps p as it is, with edit applied.
func revision(t *testing.T, p careplan.CarePlan, edit func(map[string]any)) string {
	t.Helper()
	var activities []map[string]any
	for _, a := range p.Activities {
		activities = append(activities, map[string]any{"id": a.ID, "title": a.Title, "ownerId": a.OwnerID,
			"schedule": map[string]any{"dueAt": a.Schedule.DueAt, "repeat": a.Schedule.Repeat}})
	}
	var goals []map[string]any
	for _, g := range p.Goals {
		goals = append(goals, map[string]any{"id": g.ID, "description": g.Description, "target": g.Target, "dueDate": g.DueDate, "status": g.Status})
	}
	body := map[string]any{"title": p.Title, "unit": p.Unit, "status": p.Status,
		"period": map[string]any{"start": p.Period.Start}, "goals": goals, "activities": activities}
	edit(body)
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func TestCarePlanLifecycle(t *testing.T) {
	srv, temporal, auditStore, starts := newCarePlansAPI(t)
	patient, nurse, doctor := registeredPatient(t, srv), uuid.New(), uuid.New()
	due := time.Now().Add(time.Hour).UTC().Truncate(time.Second)

	r := call(t, srv, "POST", "/v1/clinical/care-plans", adminToken, carePlanJSON(patient, nurse, due), "X-Request-Id", "cp-create")
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	p := decodeCarePlan(t, r)
	path := "/v1/clinical/care-plans/" + p.ID.String()
	if p.PatientID != patient || p.Version != 1 || len(p.Activities) != 1 || p.Activities[0].Status != careplan.ActivityScheduled ||
		r.header.Get("Location") != path || r.header.Get("ETag") != `"1"` {
		t.Fatalf("created %+v, headers %v", p, r.header)
	}
	// The reminders start from the database: a start row, not a call.
	if started, _ := temporal.calls(); started != 0 {
		t.Fatalf("the create called Temporal: %+v", temporal.started)
	}
	pending := pendingStarts(t, starts)
	var in careplanflow.Input
	if len(pending) != 1 || pending[0].WorkflowID != "careplan/"+p.ID.String() || pending[0].WorkflowType != careplanflow.WorkflowName ||
		pending[0].TaskQueue != "encounters" || pending[0].SearchAttributes["PatientId"] != patient.String() ||
		json.Unmarshal(pending[0].Input, &in) != nil || in.PlanID != p.ID || in.PatientID != patient {
		t.Fatalf("reminder start rows %+v", pending)
	}
	if recs := recordsFor(t, auditStore, "cp-create"); len(recs) != 1 || recs[0].EntityType != "CarePlan" ||
		recs[0].EntityID != p.ID.String() || *recs[0].PatientID != patient || recs[0].Action != audit.ActionCreate {
		t.Fatalf("audit of the create: %+v", recs)
	}

	r = call(t, srv, "GET", path, readerToken, "")
	if r.status != http.StatusOK || decodeCarePlan(t, r).ID != p.ID || r.header.Get("ETag") != `"1"` {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	if r := call(t, srv, "GET", path, readerToken, "", "If-None-Match", `"1"`); r.status != http.StatusNotModified {
		t.Fatalf("conditional get: %d", r.status)
	}
	wantCode(t, call(t, srv, "GET", "/v1/clinical/care-plans/"+uuid.NewString(), adminToken, ""), http.StatusNotFound, CodeNotFound)
	if r := call(t, srv, "POST", "/v1/clinical/care-plans", readerToken, carePlanJSON(patient, nurse, due)); r.status != http.StatusForbidden {
		t.Fatalf("create with a read scope: %d", r.status)
	}

	// Revise: the If-Match precondition, then a new activity beside the kept one.
	add := revision(t, p, func(b map[string]any) {
		b["activities"] = append(b["activities"].([]map[string]any), map[string]any{"title": "Skin review", "ownerId": doctor,
			"schedule": map[string]any{"dueAt": due.Add(time.Hour)}})
	})
	wantCode(t, call(t, srv, "PUT", path, adminToken, add), http.StatusPreconditionRequired, CodePreconditionRequired)
	wantCode(t, call(t, srv, "PUT", path, adminToken, add, "If-Match", `"9"`), http.StatusPreconditionFailed, CodePreconditionFailed)
	r = call(t, srv, "PUT", path, adminToken, add, "If-Match", `"1"`)
	revised := decodeCarePlan(t, r)
	if r.status != http.StatusOK || revised.Version != 2 || len(revised.Activities) != 2 || revised.Activities[0].ID != p.Activities[0].ID ||
		revised.Goals[0].ID != p.Goals[0].ID || r.header.Get("ETag") != `"2"` {
		t.Fatalf("revise: %d %s", r.status, r.body)
	}
	if started, _ := temporal.calls(); started != 1 {
		t.Fatal("the revision did not reschedule the reminders")
	}

	// Record an activity's progress, as the doctor signed in; a finished
	// activity never changes.
	skin := revised.Activities[1].ID
	statusPath := path + "/activities/" + skin.String() + "/status"
	asDoctor := practitionerToken(doctor)
	wantCode(t, call(t, srv, "POST", statusPath, adminToken, fmt.Sprintf(`{"status":"completed","by":%q}`, doctor)),
		http.StatusForbidden, CodePersonRequired)
	wantCode(t, call(t, srv, "POST", statusPath, practitionerToken(nurse), fmt.Sprintf(`{"status":"completed","by":%q}`, doctor)),
		http.StatusForbidden, CodeActorMismatch)
	r = call(t, srv, "POST", statusPath, asDoctor, fmt.Sprintf(`{"status":"completed","by":%q,"note":"no redness"}`, doctor), "If-Match", `"2"`)
	done := decodeCarePlan(t, r)
	if a, _ := done.Activity(skin); r.status != http.StatusOK || a.Status != careplan.ActivityCompleted || len(a.History) != 1 ||
		a.History[0].By != doctor || a.History[0].Note != "no redness" {
		t.Fatalf("complete activity: %d %s", r.status, r.body)
	}
	r = call(t, srv, "POST", statusPath, asDoctor, `{"status":"in-progress"}`)
	wantCode(t, r, http.StatusConflict, CodeInvalidTransition)
	if e := decodeErr(t, r); !strings.Contains(e.Message, "completed") {
		t.Fatalf("refusal does not name the current status: %s", e.Message)
	}
	wantCode(t, call(t, srv, "POST", path+"/activities/"+uuid.NewString()+"/status", asDoctor,
		`{"status":"completed"}`), http.StatusNotFound, CodeNotFound)
	wantCode(t, call(t, srv, "POST", "/v1/clinical/care-plans/"+uuid.NewString()+"/activities/"+skin.String()+"/status", asDoctor,
		`{"status":"completed"}`), http.StatusNotFound, CodeNotFound)
	r = call(t, srv, "POST", statusPath, asDoctor, `{"status":"finished"}`)
	if e := decodeErr(t, r); r.status != http.StatusBadRequest || len(e.Details) != 1 || e.Details[0].Field != "status" {
		t.Fatalf("bad status change: %d %s", r.status, r.body)
	}

	// Lists.
	list := func(query string) []uuid.UUID {
		t.Helper()
		r := call(t, srv, "GET", "/v1/clinical/care-plans"+query, readerToken, "")
		var page struct {
			Data []careplan.CarePlan `json:"data"`
			Next *string             `json:"next"`
		}
		if err := json.Unmarshal([]byte(r.body), &page); err != nil || r.status != http.StatusOK {
			t.Fatalf("list %s: %d %s", query, r.status, r.body)
		}
		var ids []uuid.UUID
		for _, p := range page.Data {
			ids = append(ids, p.ID)
		}
		return ids
	}
	if got := list("?patientId=" + patient.String()); !slices.Equal(got, []uuid.UUID{p.ID}) {
		t.Fatalf("by patient: %v", got)
	}
	if got := list("?patientId=" + patient.String() + "&overdue=true"); len(got) != 0 {
		t.Fatalf("overdue before anything is due: %v", got)
	}
	if got := list("?status=draft"); len(got) != 0 {
		t.Fatalf("drafts: %v", got)
	}
	r = call(t, srv, "GET", "/v1/clinical/care-plans?overdue=maybe&status=planned&limit=0&ward=3", readerToken, "")
	if e := decodeErr(t, r); r.status != http.StatusBadRequest || len(e.Details) != 4 {
		t.Fatalf("bad list parameters: %d %s", r.status, r.body)
	}

	// Completing the plan ends its reminders; a completed plan never changes.
	r = call(t, srv, "PUT", path, adminToken, revision(t, done, func(b map[string]any) { b["status"] = "completed" }), "If-Match", `"3"`)
	if r.status != http.StatusOK || decodeCarePlan(t, r).Status != careplan.StatusCompleted {
		t.Fatalf("complete plan: %d %s", r.status, r.body)
	}
	if started, signalled := temporal.calls(); started != 2 || signalled != 1 {
		t.Fatalf("completing the plan: %d starts, %d signals", started, signalled)
	}
	r = call(t, srv, "PUT", path, adminToken, revision(t, done, func(b map[string]any) { b["status"] = "active" }), "If-Match", `"4"`)
	wantCode(t, r, http.StatusConflict, CodeInvalidTransition)
	if e := decodeErr(t, r); e.Message != "The care plan is completed and cannot change." {
		t.Fatalf("refusal: %s", e.Message)
	}
}

func TestCarePlanValidationNamesEveryField(t *testing.T) {
	srv, temporal, _, starts := newCarePlansAPI(t)
	r := call(t, srv, "POST", "/v1/clinical/care-plans", adminToken, `{"patientId":"p-1","title":"","unit":"ward-3","status":"on-hold",
		"period":{"start":"yesterday"},
		"goals":[{"description":"Mobilise","status":"maybe"}],
		"activities":[{"title":"Walk","ownerId":"nurse-1","schedule":{"dueAt":"2026-11-25T10:00:00Z"}},
		              {"title":"Turn","ownerId":"`+uuid.NewString()+`","schedule":{"dueAt":"2026-11-25T10:00:00Z","repeat":"every 2h"}}]}`)
	if r.status != http.StatusBadRequest {
		t.Fatalf("invalid plan: %d %s", r.status, r.body)
	}
	var fields []string
	for _, d := range decodeErr(t, r).Details {
		fields = append(fields, d.Field)
	}
	want := []string{"patientId", "period.start", "activities[0].ownerId", "title", "status", "goals[0].status", "activities[1].schedule.repeat"}
	slices.Sort(fields)
	slices.Sort(want)
	if !slices.Equal(fields, want) {
		t.Fatalf("fields %v, want %v", fields, want)
	}
	wantCode(t, call(t, srv, "POST", "/v1/clinical/care-plans", adminToken, `{"patientId":"`+uuid.NewString()+`","colour":"red"}`),
		http.StatusBadRequest, CodeValidationFailed)
	if started, _ := temporal.calls(); started != 0 || len(pendingStarts(t, starts)) != 0 {
		t.Fatal("an invalid plan started reminders")
	}

	// A revision's malformed fields and the domain's are reported together.
	r = call(t, srv, "POST", "/v1/clinical/care-plans", adminToken, carePlanJSON(registeredPatient(t, srv), uuid.New(), time.Now().Add(time.Hour)))
	p := decodeCarePlan(t, r)
	r = call(t, srv, "PUT", "/v1/clinical/care-plans/"+p.ID.String(), adminToken, revision(t, p, func(b map[string]any) {
		b["unit"] = ""
		b["activities"].([]map[string]any)[0]["schedule"] = map[string]any{"dueAt": "soon"}
		b["activities"].([]map[string]any)[0]["status"] = "completed"
	}), "If-Match", `"1"`)
	fields = nil
	for _, d := range decodeErr(t, r).Details {
		fields = append(fields, d.Field)
	}
	want = []string{"activities[0].schedule.dueAt", "unit", "activities[0].status"}
	if r.status != http.StatusBadRequest || !slices.Equal(fields, want) {
		t.Fatalf("invalid revision: %d %v, want %v", r.status, fields, want)
	}
}

// With Temporal down a new plan is still created (201): its reminders wait
// as a start row. A change to the plan, which signals the running workflow
// directly, says when it could not.
func TestCarePlanCreateDoesNotDependOnTemporal(t *testing.T) {
	srv, temporal, _, starts := newCarePlansAPI(t)
	temporal.fail = errors.New("temporal unreachable")
	body := carePlanJSON(registeredPatient(t, srv), uuid.New(), time.Now().Add(time.Hour))
	r := call(t, srv, "POST", "/v1/clinical/care-plans", adminToken, body, "Idempotency-Key", "plan-1")
	p := decodeCarePlan(t, r)
	location := r.header.Get("Location")
	if r.status != http.StatusCreated || location == "" || r.header.Get("ETag") != `"1"` {
		t.Fatalf("create with Temporal down: %d %v %s", r.status, r.header, r.body)
	}
	if pending := pendingStarts(t, starts); len(pending) != 1 || pending[0].WorkflowID != "careplan/"+p.ID.String() {
		t.Fatalf("start rows %+v", pending)
	}

	// The same request again is the same plan, and no second start.
	r = call(t, srv, "POST", "/v1/clinical/care-plans", adminToken, body, "Idempotency-Key", "plan-1")
	if r.status != http.StatusCreated || r.header.Get("Location") != location || r.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry: %d %v %s", r.status, r.header, r.body)
	}
	if pending := pendingStarts(t, starts); len(pending) != 1 {
		t.Fatalf("a replay wrote another start: %+v", pending)
	}

	// A PUT signals the workflow directly: with Temporal down it answers 503
	// saying the plan was saved, and the unchanged PUT schedules them later.
	r = call(t, srv, "PUT", location, adminToken, revision(t, p, func(map[string]any) {}), "If-Match", `"1"`)
	wantCode(t, r, http.StatusServiceUnavailable, CodeRemindersNotScheduled)
	if !strings.Contains(decodeErr(t, r).Message, "saved") {
		t.Fatalf("the answer does not say the plan is saved: %s", r.body)
	}
	temporal.fail = nil
	r = call(t, srv, "PUT", location, adminToken, revision(t, p, func(map[string]any) {}), "If-Match", `"1"`)
	if r.status != http.StatusOK || decodeCarePlan(t, r).Version != 1 {
		t.Fatalf("unchanged PUT: %d %s", r.status, r.body)
	}
	if started, _ := temporal.calls(); started != 1 {
		t.Fatalf("reminders scheduled %d times, want 1", started)
	}
	// The same key for another patient is refused.
	wantCode(t, call(t, srv, "POST", "/v1/clinical/care-plans", adminToken, carePlanJSON(registeredPatient(t, srv), uuid.New(), time.Now()),
		"Idempotency-Key", "plan-1"), http.StatusUnprocessableEntity, CodeIdempotencyMismatch)
}
