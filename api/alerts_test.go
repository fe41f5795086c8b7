package api

import (
	"context"
	"encoding/json"
	"errors"
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
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
	alertflow "github.com/zarish-sphere/zarish/workflows/alert"
)

// alertTemporal stands in for the Temporal server behind the alert routes:
// starts are recorded (or refused with startErr) and then run, and each
// Update is answered by update, which plays the workflow.
type alertTemporal struct {
	client.Client
	mu       sync.Mutex
	started  []alertflow.Input
	startErr error
	running  map[string]bool
	update   func(id uuid.UUID, req alertflow.Request) (alertflow.State, error)
}

func (f *alertTemporal) ExecuteWorkflow(_ context.Context, opts client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.startErr != nil {
		return nil, f.startErr
	}
	f.started = append(f.started, args[0].(alertflow.Input))
	f.running[opts.ID] = true
	return nil, nil
}

func (f *alertTemporal) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.running[id] {
		return nil, serviceerror.NewNotFound("workflow not found")
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING}}, nil
}

func (f *alertTemporal) UpdateWorkflow(_ context.Context, opts client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	return answerUpdate(opts, alertflow.IDFromWorkflowID, f.update)
}

// alertsAPI serves the alert routes on a fresh database with a fake Temporal.
type alertsAPI struct {
	srv      *httptest.Server
	temporal *alertTemporal
	store    *postgres.AlertStore
	audit    *postgres.AuditStore
	patient  uuid.UUID
	pool     *pgxpool.Pool
	exec     func(sql string, args ...any)
}

func newAlertsAPI(t *testing.T) *alertsAPI {
	t.Helper()
	pool := pgtest.NewPool(t)
	a := &alertsAPI{temporal: &alertTemporal{running: map[string]bool{}}, store: postgres.NewAlertStore(pool), audit: postgres.NewAuditStore(pool),
		patient: uuid.MustParse("0193c0de-0000-7000-8000-0000000000aa"), pool: pool}
	a.exec = func(sql string, args ...any) {
		if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	h := NewRouter(Deps{
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Version:    "test",
		StepKeys:   postgres.NewStepKeys(pool),
		Audit:      a.audit,
		Temporal:   a.temporal,
		Alerts:     a.store,
		Deliveries: postgres.NewNotificationStore(pool),
		CareTeam:   postgres.NewCareTeamStore(pool),
		Verifier:   peopleVerifier(),
		Health:     NewHealth(nil, time.Second),
		Metrics:    NewMetrics(),
	})
	a.srv = httptest.NewServer(h)
	t.Cleanup(a.srv.Close)
	return a
}

func (a *alertsAPI) call(t *testing.T, method, path, body string, headers ...string) result {
	t.Helper()
	return call(t, a.srv, method, path, adminToken, body, headers...)
}

func (a *alertsAPI) raise(t *testing.T, body string, headers ...string) (result, alertflow.View) {
	t.Helper()
	r := a.call(t, http.MethodPost, "/v1/notifications/alerts", body, headers...)
	var v alertflow.View
	if r.status == http.StatusAccepted {
		if err := json.Unmarshal([]byte(r.body), &v); err != nil || v.ID == uuid.Nil || v.WorkflowID != alertflow.WorkflowID(v.ID) {
			t.Fatalf("raise answered %s", r.body)
		}
	}
	return r, v
}

func (a *alertsAPI) raiseBody(severity, message string) string {
	b, _ := json.Marshal(map[string]any{"patientId": a.patient, "unit": "ward-3", "severity": severity,
		"category": "critical-lab-value", "message": message, "source": "lab"})
	return string(b)
}

// TestAlertPoisonedRaiseIsRefusedAndTheNextCriticalIsRaised: a raise the
// read model cannot hold (a NUL byte in its message) is refused and starts
// nothing; the critical raise for the same patient, unit and category that
// follows is a new alert whose escalation starts, readable at once — not
// the id of an alert that does not exist.
func TestAlertPoisonedRaiseIsRefusedAndTheNextCriticalIsRaised(t *testing.T) {
	a := newAlertsAPI(t)
	r, _ := a.raise(t, a.raiseBody("warning", "a\u0000b"))
	if r.status != http.StatusBadRequest || len(a.temporal.started) != 0 {
		t.Fatalf("poisoned raise: %d %s, %d escalations started", r.status, r.body, len(a.temporal.started))
	}
	r, critical := a.raise(t, a.raiseBody("critical", "K+ 7.1 mmol/L"))
	if r.status != http.StatusAccepted || len(a.temporal.started) != 1 || a.temporal.started[0].AlertID != critical.ID {
		t.Fatalf("critical raise: %d %s, started %+v", r.status, r.body, a.temporal.started)
	}
	if critical.Status != alert.StatusOpen || critical.Severity != alert.SeverityCritical || critical.PolicyID != "critical-default" {
		t.Fatalf("critical view %+v", critical)
	}
	if got := a.call(t, http.MethodGet, "/v1/notifications/alerts/"+critical.ID.String(), ""); got.status != http.StatusOK ||
		!strings.Contains(got.body, `"deliveries":[]`) || !strings.Contains(got.body, `"kind":"raised"`) {
		t.Fatalf("read the raised alert: %d %s", got.status, got.body)
	}
	// While it runs, the same raise is answered with it.
	r, again := a.raise(t, a.raiseBody("critical", "K+ 7.2 mmol/L"))
	if r.status != http.StatusAccepted || again.ID != critical.ID || len(a.temporal.started) != 1 {
		t.Fatalf("deduplicated raise: %d %s", r.status, r.body)
	}
}

// TestAlertRaiseWhenTemporalIsDownStoresNothing: the escalation could not
// start, so the alert is not stored and the answer is an error, not an id.
func TestAlertRaiseWhenTemporalIsDownStoresNothing(t *testing.T) {
	a := newAlertsAPI(t)
	a.temporal.startErr = serviceerror.NewUnavailable("temporal is down")
	r, _ := a.raise(t, a.raiseBody("critical", "K+ 7.1"), "X-Request-Id", "raise-down")
	if r.status < 500 {
		t.Fatalf("raise with Temporal down: %d %s", r.status, r.body)
	}
	list := a.call(t, http.MethodGet, "/v1/notifications/alerts?patientId="+a.patient.String(), "")
	if list.status != http.StatusOK || strings.Contains(list.body, `"id"`) {
		t.Fatalf("alerts after a failed raise: %s", list.body)
	}
	if recs := recordsFor(t, a.audit, "raise-down"); len(recs) != 1 || recs[0].Status < 500 {
		t.Fatalf("audit of the failed raise: %+v", recs)
	}
}

// TestAlertRaiseIdempotencyKey: the same key and body answer the first
// alert as it is now; another body under the key is refused.
func TestAlertRaiseIdempotencyKey(t *testing.T) {
	a := newAlertsAPI(t)
	_, first := a.raise(t, a.raiseBody("urgent", "NEWS2 6"), "Idempotency-Key", "k-1")
	if err := a.store.RecordExhausted(context.Background(), first.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	r, again := a.raise(t, `{"source":"lab", "message":"NEWS2 6", "category":"critical-lab-value", "severity":"urgent",
		"unit":"ward-3", "patientId":"`+a.patient.String()+`"}`, "Idempotency-Key", "k-1")
	if r.status != http.StatusAccepted || again.ID != first.ID || again.Status != alert.StatusExhausted || r.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s", r.status, r.body)
	}
	r, _ = a.raise(t, a.raiseBody("critical", "NEWS2 9"), "Idempotency-Key", "k-1")
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, CodeIdempotencyMismatch) || len(a.temporal.started) != 1 {
		t.Fatalf("another body, same key: %d %s", r.status, r.body)
	}
}

// TestAlertRaiseWithoutUnitGoesToTheOpenEncounter: without a unit, the alert
// goes where the patient's open encounter is; with neither, 400 names unit.
func TestAlertRaiseWithoutUnitGoesToTheOpenEncounter(t *testing.T) {
	a := newAlertsAPI(t)
	body := `{"patientId":"` + a.patient.String() + `","severity":"critical","category":"news2-high","message":"NEWS2 9","source":"observation"}`
	r, _ := a.raise(t, body)
	var env ErrorBody
	_ = json.Unmarshal([]byte(r.body), &env)
	if r.status != http.StatusBadRequest || len(env.Details) != 1 || env.Details[0].Field != "unit" {
		t.Fatalf("no unit, no encounter: %d %s", r.status, r.body)
	}
	encounter := uuid.MustParse("0193c0de-0000-7000-8000-0000000000e1")
	pgtest.Patients(t, a.pool, a.patient)
	a.exec(`INSERT INTO encounters (id, patient_id, class, status, location, created_at, version, updated_at)
		VALUES ($1, $2, 'inpatient', 'in-progress', 'ward-5', now(), 1, now())`, encounter, a.patient)
	r, v := a.raise(t, body)
	if r.status != http.StatusAccepted || v.Unit != "ward-5" || v.EncounterID == nil || *v.EncounterID != encounter ||
		a.temporal.started[0].Unit != "ward-5" {
		t.Fatalf("raise without unit: %d %s", r.status, r.body)
	}
}

// TestAlertAcknowledgeIsAuditedInItsWrite: the acknowledgement's audit
// record travels with the Update and commits in the read-model write, once;
// the answer is the alert's view, not the workflow's state. Refusals are
// answered by their type. A pager gateway acknowledges for the nurse with
// X-On-Behalf-Of, and the record names her, asserted; acting as itself it
// acknowledges and resolves nothing.
func TestAlertAcknowledgeIsAuditedInItsWrite(t *testing.T) {
	a := newAlertsAPI(t)
	_, raised := a.raise(t, a.raiseBody("critical", "K+ 7.1"))
	nurse, stranger := nurseID, practitionerToken(uuid.MustParse("0193c0de-0000-7000-8000-000000000009"))
	registerPractitioners(t, a.pool, nurse)
	forNurse := []string{headerOnBehalfOf, "Practitioner/" + nurse.String()}
	var carried bool
	a.temporal.update = func(id uuid.UUID, req alertflow.Request) (alertflow.State, error) {
		ack := req.(*alertflow.AcknowledgeRequest)
		if ack.PractitionerID != nurse {
			return alertflow.State{}, temporal.NewApplicationError("reworded: not one of the recipients", alertflow.RefusedNotARecipient)
		}
		carried = ack.Audit != nil && ack.Audit.RequestID == "ack-1"
		// What the workflow's RecordAcknowledged activity does.
		if err := a.store.RecordAcknowledged(context.Background(), id, nurse, "Nurse Amina", time.Now(), ack.Audit); err != nil {
			return alertflow.State{}, err
		}
		return alertflow.State{Raise: alert.Raise{AlertID: id}, Status: alert.StatusAcknowledged, Policy: alert.Policy{ID: "critical-default"}}, nil
	}
	path := "/v1/notifications/alerts/" + raised.ID.String() + "/acknowledge"
	resolvePath := "/v1/notifications/alerts/" + raised.ID.String() + "/resolve"
	// Acting as itself, the gateway cannot acknowledge, whoever it names;
	// for the nurse it names no one else.
	for _, body := range []string{`{}`, `{"practitionerId":"` + nurse.String() + `"}`} {
		wantCode(t, a.call(t, http.MethodPost, path, body), http.StatusForbidden, CodePersonRequired)
	}
	wantCode(t, call(t, a.srv, http.MethodPost, path, gatewayToken, `{"practitionerId":"`+physicianID.String()+`"}`, forNurse...),
		http.StatusForbidden, CodeActorMismatch)
	r := call(t, a.srv, http.MethodPost, path, gatewayToken, `{"practitionerId":"`+nurse.String()+`"}`,
		append([]string{"X-Request-Id", "ack-1"}, forNurse...)...)
	var v alertflow.View
	if err := json.Unmarshal([]byte(r.body), &v); err != nil || r.status != http.StatusOK || v.Status != alert.StatusAcknowledged ||
		v.AcknowledgedBy == nil || *v.AcknowledgedBy != nurse || v.WorkflowID == "" || strings.Contains(r.body, `"raise"`) {
		t.Fatalf("acknowledge: %d %s", r.status, r.body)
	}
	recs := recordsFor(t, a.audit, "ack-1")
	if !carried || len(recs) != 1 || recs[0].EntityID != raised.ID.String() || recs[0].PatientID == nil || *recs[0].PatientID != a.patient ||
		recs[0].Actor.ClientID != gatewayClient || recs[0].Actor.PractitionerID != nurse.String() || !recs[0].Actor.Asserted {
		t.Fatalf("audit records of the acknowledgement (carried %v): %+v", carried, recs)
	}

	r = call(t, a.srv, http.MethodPost, path, stranger, `{}`)
	if r.status != http.StatusForbidden || !strings.Contains(r.body, CodeNotARecipient) {
		t.Fatalf("a stranger's acknowledgement: %d %s", r.status, r.body)
	}

	// Resolving stops the escalation: a stranger — neither notified, nor
	// the acknowledger, nor on the alert's unit — is refused before the
	// workflow hears of it, however broad the token.
	calls := 0
	a.temporal.update = func(uuid.UUID, alertflow.Request) (alertflow.State, error) {
		calls++
		return alertflow.State{}, errors.New("the workflow must not be asked")
	}
	r = call(t, a.srv, http.MethodPost, resolvePath, stranger, `{"note":"nothing to see"}`)
	if r.status != http.StatusForbidden || !strings.Contains(r.body, CodeNotARecipient) || calls != 0 {
		t.Fatalf("a stranger's resolution: %d %s (workflow asked %d times)", r.status, r.body, calls)
	}
	for _, body := range []string{`{"note":"settled"}`, `{"practitionerId":"` + nurse.String() + `","note":"settled"}`} {
		wantCode(t, a.call(t, http.MethodPost, resolvePath, body), http.StatusForbidden, CodePersonRequired)
	}
	wantCode(t, call(t, a.srv, http.MethodPost, resolvePath, gatewayToken, `{"practitionerId":"`+physicianID.String()+`","note":"settled"}`, forNurse...),
		http.StatusForbidden, CodeActorMismatch)
	if calls != 0 {
		t.Fatalf("refused resolutions reached the workflow %d times", calls)
	}

	// For the nurse, the gateway resolves: the workflow records her, and
	// so does the audit record, asserted.
	a.temporal.update = func(id uuid.UUID, req alertflow.Request) (alertflow.State, error) {
		res := req.(*alertflow.ResolveRequest)
		if err := a.store.RecordResolved(context.Background(), id, res.PractitionerID, "Nurse Amina", res.Note, time.Now(), res.Audit); err != nil {
			return alertflow.State{}, err
		}
		return alertflow.State{Raise: alert.Raise{AlertID: id}, Status: alert.StatusResolved, Policy: alert.Policy{ID: "critical-default"}}, nil
	}
	r = call(t, a.srv, http.MethodPost, resolvePath, gatewayToken, `{"note":"done"}`, append([]string{"X-Request-Id", "resolve-1"}, forNurse...)...)
	if err := json.Unmarshal([]byte(r.body), &v); err != nil || r.status != http.StatusOK || v.Status != alert.StatusResolved ||
		v.ResolvedBy == nil || *v.ResolvedBy != nurse {
		t.Fatalf("resolve for the nurse: %d %s", r.status, r.body)
	}
	if recs := recordsFor(t, a.audit, "resolve-1"); len(recs) != 1 || recs[0].Actor.ClientID != gatewayClient ||
		recs[0].Actor.PractitionerID != nurse.String() || !recs[0].Actor.Asserted {
		t.Fatalf("audit records of the resolution: %+v", recs)
	}

	// Closed: the workflow has ended, the read model says how.
	a.temporal.update = func(uuid.UUID, alertflow.Request) (alertflow.State, error) {
		return alertflow.State{}, serviceerror.NewNotFound("workflow execution already completed")
	}
	r = call(t, a.srv, http.MethodPost, resolvePath, practitionerToken(nurse), `{"note":"again"}`)
	if r.status != http.StatusConflict || !strings.Contains(r.body, "resolved") {
		t.Fatalf("resolve a closed alert: %d %s", r.status, r.body)
	}
}

// TestAlertListFiltersUndeliverable: the list filters on the undeliverable status.
func TestAlertListFiltersUndeliverable(t *testing.T) {
	a := newAlertsAPI(t)
	_, raised := a.raise(t, a.raiseBody("critical", "K+ 7.1"))
	if err := a.store.RecordUndeliverable(context.Background(), raised.ID, alert.UndeliverableEvent("", time.Now()), nil); err != nil {
		t.Fatal(err)
	}
	r := a.call(t, http.MethodGet, "/v1/notifications/alerts?status=undeliverable", "")
	if r.status != http.StatusOK || !strings.Contains(r.body, raised.ID.String()) {
		t.Fatalf("undeliverable alerts: %d %s", r.status, r.body)
	}
	if r := a.call(t, http.MethodGet, "/v1/notifications/alerts?status=lost", ""); r.status != http.StatusBadRequest {
		t.Fatalf("unknown status: %d %s", r.status, r.body)
	}
	// active lists the alerts not closed yet: an undeliverable one is closed.
	_, open := a.raise(t, a.raiseBody("critical", "Na+ 118"))
	r = a.call(t, http.MethodGet, "/v1/notifications/alerts?active=true", "")
	if r.status != http.StatusOK || !strings.Contains(r.body, open.ID.String()) || strings.Contains(r.body, raised.ID.String()) {
		t.Fatalf("active alerts: %d %s", r.status, r.body)
	}
	if r := a.call(t, http.MethodGet, "/v1/notifications/alerts?active=sometimes", ""); r.status != http.StatusBadRequest {
		t.Fatalf("active=sometimes: %d %s", r.status, r.body)
	}
}
