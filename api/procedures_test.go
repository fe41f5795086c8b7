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
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	activities "github.com/zarish-sphere/zarish/activities/procedure"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/procedure"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
	procedureflow "github.com/zarish-sphere/zarish/workflows/procedure"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// procedureTemporal stands in for the Temporal server behind the procedure
// routes. A start keeps the procedure as its run's state; the scheduled
// Update runs the first search as the workflow does, through the worker's
// own activities over the real store (procedure.FindSlot over the
// directory and the busy times, the hold taken in PostgreSQL, the domain's
// Hold or SearchFailed recorded); each step is the domain's change, with
// the allocations booked, swapped or released first, refused with the
// contract's types. A closed procedure's run ends.
type procedureTemporal struct {
	client.Client
	acts    *activities.Activities
	mu      sync.Mutex
	runs    map[uuid.UUID]*procedureRun
	started []procedureflow.Input
	sent    []procedureflow.Request
	// startErr refuses every start.
	startErr error
}

// procedureRun is one workflow's state.
type procedureRun struct {
	p        procedure.Procedure
	autoBook bool
	searched bool
}

// procedureRefusals are the contract's sentinels and refusal types, as the
// workflow maps them.
var procedureRefusals = []process.Refusal{
	{Err: procedure.ErrChecklistIncomplete, Type: procedureflow.RefusedChecklistIncomplete},
	{Err: procedure.ErrInvalidTransition, Type: procedureflow.RefusedInvalidTransition},
	{Err: procedure.ErrInvalidArgument, Type: procedureflow.RefusedInvalidArgument},
}

// refusedOverTheWire is err refused as the workflow refuses it, and as the
// client receives it from the server: the type and words, never the Go
// error behind them.
func refusedOverTheWire(err error) error {
	var app *temporal.ApplicationError
	if errors.As(process.Refuse(err, procedureRefusals...), &app) {
		return temporal.NewNonRetryableApplicationError(app.Message(), app.Type(), nil)
	}
	return err
}

func (f *procedureTemporal) ExecuteWorkflow(_ context.Context, _ client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.startErr != nil {
		return nil, f.startErr
	}
	in := args[0].(procedureflow.Input)
	f.started = append(f.started, in)
	if _, ok := f.runs[in.Procedure.Request.ID]; !ok {
		f.runs[in.Procedure.Request.ID] = &procedureRun{p: in.Procedure, autoBook: in.AutoBook}
	}
	return nil, nil
}

func (f *procedureTemporal) UpdateWorkflow(_ context.Context, opts client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	if opts.UpdateName != procedureflow.UpdateScheduled {
		return answerUpdate(opts, procedureflow.IDFromWorkflowID, f.play)
	}
	id, err := procedureflow.IDFromWorkflowID(opts.WorkflowID)
	if err != nil {
		return nil, err
	}
	p, err := f.scheduled(id)
	if err != nil {
		return nil, err
	}
	return updateHandle[procedureflow.State]{workflowID: opts.WorkflowID, s: p}, nil
}

// scheduled runs the first search once and answers the state after it.
func (f *procedureTemporal) scheduled(id uuid.UUID) (procedure.Procedure, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	run, ok := f.runs[id]
	if !ok {
		return procedure.Procedure{}, serviceerror.NewNotFound("workflow not found")
	}
	if run.searched || run.p.Status != procedure.StatusRequested {
		return run.p, nil
	}
	run.searched = true
	now := time.Now().UTC()
	res, err := f.search(run.p, run.p.Request.Window, false, now)
	if err != nil {
		return run.p, err
	}
	if !res.Held {
		next, err := run.p.SearchFailed(*res.NoSlot, now)
		if err != nil {
			return run.p, err
		}
		return f.commit(run, next, nil)
	}
	next, err := run.p.Hold(*res.Slot, now.Add(procedureflow.DefaultHoldFor), now)
	if err == nil {
		_, err = f.commit(run, next, nil)
	}
	if err != nil {
		_ = f.acts.ReleaseSlot(context.Background(), activities.ReleaseRequest{ProcedureID: id})
		return run.p, err
	}
	if run.autoBook {
		if _, err := f.book(run, uuid.Nil, nil, now); err != nil {
			return run.p, err
		}
	}
	return run.p, nil
}

// search holds (or, for a booked procedure, swaps in) the earliest slot of
// window from now on.
func (f *procedureTemporal) search(p procedure.Procedure, window procedure.Period, swap bool, now time.Time) (activities.HoldResult, error) {
	if window.From.Before(now) {
		window.From = now
	}
	if !window.From.Before(window.To) {
		return activities.HoldResult{NoSlot: &procedure.SearchOutcome{Reason: "the window has passed", At: now}}, nil
	}
	return f.acts.HoldSlot(context.Background(), activities.HoldRequest{Procedure: p, Window: window,
		ExpiresAt: now.Add(procedureflow.DefaultHoldFor), Swap: swap})
}

// commit records next with rec, then makes it the run's state.
func (f *procedureTemporal) commit(run *procedureRun, next procedure.Procedure, rec *audit.Record) (procedure.Procedure, error) {
	err := f.acts.RecordProcedure(context.Background(), activities.RecordRequest{Procedure: next, Audit: rec})
	if err != nil {
		return run.p, process.NotRecorded(err, procedureflow.RefusedNotRecorded, procedureflow.RefusedRecordUnavailable)
	}
	run.p = next
	return next, nil
}

func (f *procedureTemporal) book(run *procedureRun, by uuid.UUID, rec *audit.Record, now time.Time) (procedure.Procedure, error) {
	next, err := run.p.Book(by, now)
	if err != nil {
		return run.p, refusedOverTheWire(err)
	}
	err = f.acts.BookHold(context.Background(), activities.BookRequest{ProcedureID: run.p.Request.ID})
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.Type() == activities.TypeHoldLapsed {
		return run.p, temporal.NewNonRetryableApplicationError("the hold lapsed before it was booked", procedureflow.RefusedHoldLapsed, nil)
	}
	if err != nil {
		return run.p, process.NotRecorded(err, procedureflow.RefusedNotRecorded, procedureflow.RefusedRecordUnavailable)
	}
	run.autoBook = false
	return f.commit(run, next, rec)
}

// reschedule searches the new window: a booked procedure swaps its
// allocations, an unscheduled one holds; no slot is RefusedNoSlot with
// the outcome as its details, and the procedure stays as it was.
func (f *procedureTemporal) reschedule(run *procedureRun, r *procedureflow.RescheduleRequest, now time.Time) (procedure.Procedure, error) {
	p := run.p
	switch {
	case p.Status != procedure.StatusBooked && p.Status != procedure.StatusUnscheduled:
		return p, refusedOverTheWire(fmt.Errorf("%w: only a booked or unscheduled procedure is rescheduled; this one is %s",
			procedure.ErrInvalidTransition, p.Status))
	case !r.Window.From.Before(r.Window.To):
		return p, refusedOverTheWire(fmt.Errorf("%w: window.to must be after window.from", procedure.ErrInvalidArgument))
	}
	booked := p.Status == procedure.StatusBooked
	moved := p
	moved.Request.Window = r.Window
	res, err := f.search(moved, r.Window, booked, now)
	if err != nil {
		return p, temporal.NewApplicationError("the search for a new slot failed: "+err.Error(), procedureflow.RefusedRecordUnavailable)
	}
	if !res.Held {
		return p, temporal.NewNonRetryableApplicationError(res.NoSlot.Reason, procedureflow.RefusedNoSlot, nil, *res.NoSlot)
	}
	var next procedure.Procedure
	if booked {
		next, err = moved.Reschedule(*res.Slot, r.By, r.Reason, now)
	} else {
		next, err = moved.Hold(*res.Slot, now.Add(procedureflow.DefaultHoldFor), now)
	}
	if err != nil {
		return p, refusedOverTheWire(err)
	}
	return f.commit(run, next, r.Audit)
}

func (f *procedureTemporal) play(id uuid.UUID, req procedureflow.Request) (procedure.Procedure, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	run, ok := f.runs[id]
	if !ok {
		return procedure.Procedure{}, serviceerror.NewNotFound("workflow not found")
	}
	f.sent = append(f.sent, req)
	now := time.Now().UTC()
	p := run.p
	var (
		next    procedure.Procedure
		err     error
		release bool
	)
	switch r := req.(type) {
	case *procedureflow.BookRequest:
		return f.book(run, r.By, r.Audit, now)
	case *procedureflow.RescheduleRequest:
		return f.reschedule(run, r, now)
	case *procedureflow.CheckRequest:
		next, err = p.Check(r.Code, r.By, r.Note, now)
	case *procedureflow.CheckInRequest:
		next, err = p.CheckIn(r.By, now)
	case *procedureflow.StartRequest:
		next, err = p.Start(r.By, now)
	case *procedureflow.CompleteRequest:
		next, err = p.Complete(r.Completion, now)
		release = true
	case *procedureflow.CancelRequest:
		next, err = p.Cancel(r.By, r.Reason, now)
		release = true
	default:
		return p, fmt.Errorf("no play for %T", req)
	}
	if err != nil {
		return p, refusedOverTheWire(err)
	}
	if release {
		if err := f.acts.ReleaseSlot(context.Background(), activities.ReleaseRequest{ProcedureID: id}); err != nil {
			return p, temporal.NewApplicationError("the slot could not be released: "+err.Error(), procedureflow.RefusedRecordUnavailable)
		}
	}
	if next, err = f.commit(run, next, req.Auditing().Audit); err != nil {
		return next, err
	}
	if next.Status.Closed() {
		delete(f.runs, id)
	}
	return next, nil
}

// Tokens of the procedure tests: people holding only what their role
// grants them (a nurse, a scheduler), and a machine client that only reads
// procedures.
const (
	nurseByRoleToken     = "nurse-by-role"
	schedulerByRoleToken = "scheduler-by-role"
	procedureReaderToken = "procedure-reader"
)

var schedulerID = uuid.MustParse("0193c0de-0000-7000-8000-00000000a0c1")

// roleToken is a signed-in practitioner's principal whose scopes are those
// its role lets a user be granted.
func roleToken(role access.Role, practitioner uuid.UUID) access.Principal {
	user := "u-" + string(role)
	return access.Principal{Subject: user, ClientID: "app", Scopes: access.UserScopes([]string{"user/*.*"}, []string{string(role)}, false),
		Roles: []string{string(role)}, UserID: user, PractitionerID: practitioner.String()}
}

// proceduresAPI serves the procedure routes on a fresh database with a fake
// Temporal, for a registered patient.
type proceduresAPI struct {
	pool     *pgxpool.Pool
	srv      *httptest.Server
	temporal *procedureTemporal
	store    *postgres.ProcedureStore
	audit    *postgres.AuditStore
	patient  uuid.UUID
	// now is when the test began; the slots below are found from it.
	now time.Time
}

func newProceduresAPI(t *testing.T) *proceduresAPI {
	t.Helper()
	pool := pgtest.NewPool(t)
	a := &proceduresAPI{pool: pool, store: postgres.NewProcedureStore(pool), audit: postgres.NewAuditStore(pool), now: time.Now().UTC()}
	a.temporal = &procedureTemporal{acts: activities.New(a.store), runs: map[uuid.UUID]*procedureRun{}}
	verifier := peopleVerifier()
	verifier[nurseByRoleToken] = roleToken(access.RoleNurse, nurseID)
	verifier[schedulerByRoleToken] = roleToken(access.RoleScheduler, schedulerID)
	verifier[procedureReaderToken] = access.Principal{Subject: "theatre-board", ClientID: "theatre-board", Scopes: []string{"system/Procedure.read"}}
	a.srv = httptest.NewServer(NewRouter(Deps{
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Version:    "test",
		StepKeys:   postgres.NewStepKeys(pool),
		Audit:      a.audit,
		Temporal:   a.temporal,
		Patients:   postgres.NewPatientStore(pool),
		Encounters: postgres.NewEncounterStore(pool),
		Procedures: a.store,
		Verifier:   verifier,
		Health:     NewHealth(nil, time.Second),
		Metrics:    NewMetrics(),
	}))
	t.Cleanup(a.srv.Close)
	a.patient = registerPatient(t, postgres.NewPatientStore(pool))
	return a
}

func (a *proceduresAPI) do(t *testing.T, method, token, path, body string, headers ...string) result {
	t.Helper()
	return call(t, a.srv, method, path, token, body, headers...)
}

// allWeek is open every day, all day, in UTC.
const allWeek = `[{"weekday":0,"from":"00:00","to":"24:00"},{"weekday":1,"from":"00:00","to":"24:00"},` +
	`{"weekday":2,"from":"00:00","to":"24:00"},{"weekday":3,"from":"00:00","to":"24:00"},{"weekday":4,"from":"00:00","to":"24:00"},` +
	`{"weekday":5,"from":"00:00","to":"24:00"},{"weekday":6,"from":"00:00","to":"24:00"}]`

// blocked is the day the theatre is closed for a deep clean: from the
// third hour boundary 72 hours on, for a day.
func (a *proceduresAPI) blocked() procedure.Period {
	from := a.now.Truncate(time.Hour).Add(72 * time.Hour)
	return procedure.Period{From: from, To: from.Add(24 * time.Hour)}
}

// resource adds a resource to the directory and returns it as answered.
func (a *proceduresAPI) resource(t *testing.T, body string, headers ...string) (ResourceView, result) {
	t.Helper()
	r := a.do(t, http.MethodPost, adminToken, resourcesPath, body, headers...)
	var v ResourceView
	if err := json.Unmarshal([]byte(r.body), &v); r.status != http.StatusCreated || err != nil || v.ID == uuid.Nil {
		t.Fatalf("resource %s: %d %s", body, r.status, r.body)
	}
	return v, r
}

// directory adds the one operating theatre, closed on the blocked day, with
// a 15-minute turnover, and the one surgeon, the physician.
func (a *proceduresAPI) directory(t *testing.T) (theatre, surgeon ResourceView) {
	t.Helper()
	b := a.blocked()
	theatre, _ = a.resource(t, `{"kind":"room","name":"Theatre 1","capabilities":["operating-theatre"],"hours":`+allWeek+
		`,"blocked":[{"from":"`+b.From.Format(time.RFC3339)+`","to":"`+b.To.Format(time.RFC3339)+`","reason":"deep clean"}],"turnoverMinutes":15}`)
	surgeon, _ = a.resource(t, `{"kind":"staff","name":"Dr Physician","practitionerId":"`+physicianID.String()+
		`","skills":["surgeon"],"hours":`+allWeek+`}`)
	return theatre, surgeon
}

// requestBody is an elective appendicectomy of the patient: an hour in the
// theatre with a surgeon, in window; edits change the body's fields.
func (a *proceduresAPI) requestBody(window procedure.Period, edits ...func(map[string]any)) string {
	b := map[string]any{
		"patientId":       a.patient.String(),
		"procedure":       map[string]any{"system": procedure.SystemSNOMED, "code": "80146002", "display": "Appendicectomy"},
		"durationMinutes": 60,
		"requirements":    []any{map[string]any{"type": "room", "capability": "operating-theatre"}, map[string]any{"type": "staff", "skill": "surgeon"}},
		"window":          map[string]any{"from": window.From.Format(time.RFC3339), "to": window.To.Format(time.RFC3339)},
	}
	for _, e := range edits {
		e(b)
	}
	raw, _ := json.Marshal(b)
	return string(raw)
}

// soon is a window opening in an hour and five hours long.
func (a *proceduresAPI) soon() procedure.Period {
	return procedure.Period{From: a.now.Add(time.Hour), To: a.now.Add(6 * time.Hour)}
}

// procedureOf reads a procedure's view from an answer of status.
func procedureOf(t *testing.T, what string, r result, status int) ProcedureView {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: %d %s, want %d", what, r.status, r.body, status)
	}
	var v ProcedureView
	if err := json.Unmarshal([]byte(r.body), &v); err != nil || v.Request.ID == uuid.Nil {
		t.Fatalf("%s answered %s", what, r.body)
	}
	return v
}

// request places a request as the physician and returns its view.
func (a *proceduresAPI) request(t *testing.T, body string, headers ...string) ProcedureView {
	t.Helper()
	return procedureOf(t, "request", a.do(t, http.MethodPost, physicianToken, proceduresPath+"/requests", body, headers...), http.StatusCreated)
}

// step posts a step of procedure id as the physician.
func (a *proceduresAPI) step(t *testing.T, id uuid.UUID, step, body string, headers ...string) result {
	t.Helper()
	return a.do(t, http.MethodPost, physicianToken, proceduresPath+"/"+id.String()+"/"+step, body, headers...)
}

// allocations are the rows the procedure holds in the store.
func (a *proceduresAPI) allocations(t *testing.T, id uuid.UUID) []procedure.Allocation {
	t.Helper()
	rows, err := a.store.Allocations(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// keysOf lists every object key in a JSON document, at any depth.
func keysOf(t *testing.T, body string) []string {
	t.Helper()
	var doc any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	var keys []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				keys = append(keys, k)
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(doc)
	return keys
}

// wantNoNanoseconds fails when the answer holds a field Go would write in
// nanoseconds: the API says durations in minutes.
func wantNoNanoseconds(t *testing.T, what, body string, fields ...string) {
	t.Helper()
	for _, k := range keysOf(t, body) {
		if slices.Contains(fields, k) {
			t.Errorf("%s holds %q, a duration in nanoseconds: %s", what, k, body)
		}
	}
}

// wantOneRecord fails unless the request left exactly one audit record, of
// action and outcome about the entity, and returns it.
func (a *proceduresAPI) wantOneRecord(t *testing.T, requestID string, action audit.Action, outcome audit.Outcome, entityID string) audit.Record {
	t.Helper()
	records := recordsFor(t, a.audit, requestID)
	if len(records) != 1 || records[0].Action != action || records[0].Outcome != outcome || records[0].EntityID != entityID {
		t.Fatalf("audit records of %s: %+v, want one %s %s of %s", requestID, records, action, outcome, entityID)
	}
	return records[0]
}

// The directory adds a room, a member of staff and a piece of equipment
// (201, Location, ETag, the turnover in minutes and never in nanoseconds),
// names every bad field in the API's names, lists by kind, and replaces a
// resource only under the If-Match of its current version.
func TestProcedureResourceDirectory(t *testing.T) {
	a := newProceduresAPI(t)
	room, r := a.resource(t, `{"kind":"room","name":"Theatre 1","capabilities":["operating-theatre"],"hours":`+allWeek+`,"turnoverMinutes":15}`,
		"X-Request-Id", "res-create-1")
	if r.header.Get("Location") != resourcesPath+"/"+room.ID.String() || r.header.Get("ETag") != `"1"` ||
		room.TurnoverMinutes != 15 || room.Version != 1 || !room.Active || room.Kind != procedure.KindRoom {
		t.Fatalf("room: %s (Location %s, ETag %s)", r.body, r.header.Get("Location"), r.header.Get("ETag"))
	}
	if !strings.Contains(r.body, `"turnoverMinutes":15`) {
		t.Errorf("the turnover is not in minutes: %s", r.body)
	}
	wantNoNanoseconds(t, "the room", r.body, "turnover")
	a.wantOneRecord(t, "res-create-1", audit.ActionCreate, audit.OutcomeSuccess, room.ID.String())
	staffer, _ := a.resource(t, `{"kind":"staff","name":"Dr Physician","practitionerId":"`+physicianID.String()+`","skills":["surgeon"],"hours":`+allWeek+`}`)
	carm, _ := a.resource(t, `{"kind":"equipment","name":"C-arm 2","equipmentKind":"c-arm","hours":`+allWeek+`}`)

	post := func(body string) result { return a.do(t, http.MethodPost, adminToken, resourcesPath, body) }
	wantFieldSet(t, "an unknown kind", post(`{"kind":"ward","name":"Ward 3","hours":[]}`), "kind")
	wantFieldSet(t, "bad capabilities, hours and turnover", post(`{"kind":"room","name":"Theatre 2","capabilities":["kitchen"],`+
		`"hours":[{"weekday":1,"from":"08:00","to":"17:00"},{"weekday":2,"from":"10:00","to":"09:00"}],"turnoverMinutes":600}`),
		"capabilities[0]", "hours[1].to", "turnoverMinutes")
	wantFieldSet(t, "staff without a practitioner", post(`{"kind":"staff","name":"Locum","skills":["surgeon"],"hours":[]}`), "practitionerId")
	wantFieldSet(t, "a nanosecond turnover", post(`{"kind":"room","name":"Theatre 3","capabilities":["endoscopy"],"hours":[],"turnover":900000000000}`),
		"turnover")

	list := func(query string) []ResourceView {
		t.Helper()
		r := a.do(t, http.MethodGet, adminToken, resourcesPath+query, "")
		var page struct {
			Data []ResourceView `json:"data"`
		}
		if err := json.Unmarshal([]byte(r.body), &page); r.status != http.StatusOK || err != nil {
			t.Fatalf("list%s: %d %s", query, r.status, r.body)
		}
		wantNoNanoseconds(t, "list"+query, r.body, "turnover")
		return page.Data
	}
	for query, want := range map[string]uuid.UUID{"?kind=room": room.ID, "?kind=staff": staffer.ID, "?kind=equipment": carm.ID} {
		if got := list(query); len(got) != 1 || got[0].ID != want {
			t.Errorf("list%s: %+v, want %s alone", query, got, want)
		}
	}
	if got := list(""); len(got) != 3 {
		t.Errorf("the whole directory: %d resources", len(got))
	}
	wantFieldSet(t, "list an unknown kind", a.do(t, http.MethodGet, adminToken, resourcesPath+"?kind=ward&active=maybe", ""), "kind", "active")

	wantCode(t, a.do(t, http.MethodGet, adminToken, resourcesPath+"/"+uuid.NewString(), ""), http.StatusNotFound, CodeNotFound)
	one := resourcesPath + "/" + room.ID.String()
	if r := a.do(t, http.MethodGet, adminToken, one, ""); r.status != http.StatusOK || r.header.Get("ETag") != `"1"` {
		t.Fatalf("GET room: %d %s", r.status, r.body)
	}

	// Replaced only under the current version's tag.
	revised := `{"kind":"room","name":"Theatre 1","capabilities":["operating-theatre","endoscopy"],"hours":` + allWeek + `,"turnoverMinutes":20}`
	wantCode(t, a.do(t, http.MethodPut, adminToken, one, revised), http.StatusPreconditionRequired, CodePreconditionRequired)
	wantCode(t, a.do(t, http.MethodPut, adminToken, one, revised, "If-Match", `"7"`), http.StatusPreconditionFailed, CodePreconditionFailed)
	r = a.do(t, http.MethodPut, adminToken, one, revised, "If-Match", `"1"`, "X-Request-Id", "res-put-1")
	var put ResourceView
	if err := json.Unmarshal([]byte(r.body), &put); r.status != http.StatusOK || err != nil || put.Version != 2 ||
		r.header.Get("ETag") != `"2"` || put.TurnoverMinutes != 20 || len(put.Capabilities) != 2 {
		t.Fatalf("PUT: %d %s (ETag %s)", r.status, r.body, r.header.Get("ETag"))
	}
	a.wantOneRecord(t, "res-put-1", audit.ActionUpdate, audit.OutcomeSuccess, room.ID.String())
	wantCode(t, a.do(t, http.MethodPut, adminToken, one, revised, "If-Match", `"1"`), http.StatusPreconditionFailed, CodePreconditionFailed)
	// A room stays a room.
	wantFieldSet(t, "a room made staff", a.do(t, http.MethodPut, adminToken, one, `{"kind":"staff","name":"Theatre 1","practitionerId":"`+
		physicianID.String()+`","skills":["surgeon"],"hours":[]}`, "If-Match", `"2"`), "kind")

	// Taken out of service, the C-arm leaves the active list.
	r = a.do(t, http.MethodPut, adminToken, resourcesPath+"/"+carm.ID.String(),
		`{"kind":"equipment","name":"C-arm 2","equipmentKind":"c-arm","hours":`+allWeek+`,"active":false}`, "If-Match", `"1"`)
	if r.status != http.StatusOK || !strings.Contains(r.body, `"active":false`) {
		t.Fatalf("deactivate: %d %s", r.status, r.body)
	}
	if got := list("?kind=equipment&active=true"); len(got) != 0 {
		t.Errorf("an inactive resource is listed as active: %+v", got)
	}
	if got := list("?kind=equipment"); len(got) != 1 || got[0].Active {
		t.Errorf("the inactive C-arm: %+v", got)
	}
}

// A request is refused naming its field — a requester in the body, an
// unknown patient (422), a SNOMED CT code whose check digit is wrong, a
// duration out of range, a reminder given twice — and nothing is stored or
// started.
func TestProcedureRequestValidation(t *testing.T) {
	a := newProceduresAPI(t)
	a.directory(t)
	w := a.soon()
	post := func(body string) result {
		return a.do(t, http.MethodPost, physicianToken, proceduresPath+"/requests", body)
	}

	wantFieldSet(t, "a requester named", post(a.requestBody(w, func(b map[string]any) { b["requesterId"] = nurseID.String() })), "requesterId")
	r := post(a.requestBody(w, func(b map[string]any) { b["patientId"] = uuid.NewString() }))
	wantCode(t, r, http.StatusUnprocessableEntity, CodeValidationFailed)
	if e := decodeErr(t, r); len(e.Details) != 1 || e.Details[0].Field != "patientId" {
		t.Errorf("an unknown patient: %s", r.body)
	}
	wantFieldSet(t, "a bad check digit", post(a.requestBody(w, func(b map[string]any) {
		b["procedure"] = map[string]any{"system": procedure.SystemSNOMED, "code": "80146003", "display": "Appendicectomy"}
	})), "procedure.code")
	wantFieldSet(t, "two minutes", post(a.requestBody(w, func(b map[string]any) { b["durationMinutes"] = 2 })), "durationMinutes")
	long := procedure.Period{From: w.From, To: w.From.Add(72 * time.Hour)}
	wantFieldSet(t, "25 hours", post(a.requestBody(long, func(b map[string]any) { b["durationMinutes"] = 1500 })), "durationMinutes")
	wantFieldSet(t, "a nanosecond duration", post(a.requestBody(w, func(b map[string]any) {
		delete(b, "durationMinutes")
		b["duration"] = int64(time.Hour)
	})), "duration")
	wantFieldSet(t, "a reminder given twice", post(a.requestBody(w, func(b map[string]any) { b["remindersMinutes"] = []int{60, 60} })),
		"remindersMinutes[1]")
	wantFieldSet(t, "a reminder at the start", post(a.requestBody(w, func(b map[string]any) { b["remindersMinutes"] = []int{0} })),
		"remindersMinutes[0]")
	wantFieldSet(t, "a window that has passed", post(a.requestBody(procedure.Period{From: a.now.Add(-3 * time.Hour), To: a.now.Add(-time.Hour)})),
		"window.to")

	if n := countRows(t, a.pool, `SELECT count(*) FROM procedures`); n != 0 || len(a.temporal.started) != 0 {
		t.Fatalf("refused requests left %d procedures and %d starts", n, len(a.temporal.started))
	}
}

// A request is answered once its first search has run: 201 held with the
// slot (the theatre and the surgeon, the surgeon's practitioner in the
// team), its durations in minutes, the allocations held in the store, the
// request audited once; the same Idempotency-Key answers it again without
// a second request or start.
func TestProcedureRequestHeldThenReplayed(t *testing.T) {
	a := newProceduresAPI(t)
	theatre, surgeon := a.directory(t)
	w := a.soon()
	body := a.requestBody(w, func(b map[string]any) { b["remindersMinutes"] = []int{30, 120} })
	r := a.do(t, http.MethodPost, physicianToken, proceduresPath+"/requests", body, "Idempotency-Key", "proc-1", "X-Request-Id", "proc-create-1")
	v := procedureOf(t, "request", r, http.StatusCreated)
	id := v.Request.ID
	if v.Status != procedure.StatusHeld || v.Slot == nil || v.HoldExpiresAt == nil || v.Request.RequesterID != physicianID ||
		r.header.Get("Location") != proceduresPath+"/"+id.String() || v.WorkflowID != procedureflow.WorkflowID(id) {
		t.Fatalf("request: %s (Location %s)", r.body, r.header.Get("Location"))
	}
	s := v.Slot
	if s.From.Before(w.From) || s.To.Sub(s.From) != time.Hour || s.From.Sub(w.From) > 5*time.Minute ||
		len(s.Resources) != 2 || !slices.Equal(s.Resources[0], []uuid.UUID{theatre.ID}) || !slices.Equal(s.Resources[1], []uuid.UUID{surgeon.ID}) ||
		!slices.Equal(s.Team, []uuid.UUID{physicianID}) {
		t.Fatalf("slot %+v in window %+v", s, w)
	}
	if v.Request.DurationMinutes != 60 || !slices.Equal(v.RemindersMinutes, []int{120, 30}) ||
		!strings.Contains(r.body, `"durationMinutes":60`) || !strings.Contains(r.body, `"remindersMinutes":[120,30]`) {
		t.Errorf("durations: %d minutes, reminders %v: %s", v.Request.DurationMinutes, v.RemindersMinutes, r.body)
	}
	wantNoNanoseconds(t, "the request's answer", r.body, "duration", "reminders", "turnover")
	allocs := a.allocations(t, id)
	if len(allocs) != 3 || slices.ContainsFunc(allocs, func(x procedure.Allocation) bool {
		return x.State != procedure.AllocationHeld || !x.Period.From.Equal(s.From)
	}) {
		t.Fatalf("allocations %+v", allocs)
	}
	rec := a.wantOneRecord(t, "proc-create-1", audit.ActionCreate, audit.OutcomeSuccess, id.String())
	if rec.EntityType != entityProcedure || rec.PatientID == nil || *rec.PatientID != a.patient {
		t.Errorf("the request's audit record: %+v", rec)
	}
	if len(a.temporal.started) != 1 || a.temporal.started[0].Procedure.Request.ID != id || a.temporal.started[0].AutoBook {
		t.Fatalf("started %+v", a.temporal.started)
	}
	if n := countRows(t, a.pool, `SELECT count(*) FROM workflow_starts WHERE workflow_id = $1 AND started_at IS NOT NULL`,
		procedureflow.WorkflowID(id)); n != 1 {
		t.Fatalf("%d start rows marked started", n)
	}
	got := procedureOf(t, "GET", a.do(t, http.MethodGet, nurseToken, proceduresPath+"/"+id.String(), ""), http.StatusOK)
	if got.Status != procedure.StatusHeld || got.Version != v.Version || got.Request.DurationMinutes != 60 {
		t.Errorf("GET: %+v", got.Procedure)
	}

	again := a.do(t, http.MethodPost, physicianToken, proceduresPath+"/requests", body, "Idempotency-Key", "proc-1")
	replay := procedureOf(t, "replay", again, http.StatusCreated)
	if replay.Request.ID != id || again.header.Get("Idempotent-Replayed") != "true" || replay.Status != procedure.StatusHeld ||
		len(a.temporal.started) != 1 {
		t.Fatalf("replay: %s (%d starts)", again.body, len(a.temporal.started))
	}
	if n := countRows(t, a.pool, `SELECT count(*) FROM procedures`); n != 1 {
		t.Fatalf("%d procedures after the replay", n)
	}
}

// A request whose window has no free slot is 201 unscheduled, saying why
// and offering the nearest slots after the window; nothing is held.
func TestProcedureRequestWithNoFreeSlot(t *testing.T) {
	a := newProceduresAPI(t)
	a.directory(t)
	b := a.blocked()
	r := a.do(t, http.MethodPost, physicianToken, proceduresPath+"/requests",
		a.requestBody(procedure.Period{From: b.From.Add(time.Hour), To: b.From.Add(5 * time.Hour)}))
	v := procedureOf(t, "request", r, http.StatusCreated)
	if v.Status != procedure.StatusUnscheduled || v.Slot != nil || v.Search == nil || v.Search.Reason == "" ||
		len(v.Search.Alternatives) == 0 || len(v.Search.Blocking) == 0 {
		t.Fatalf("no free slot: %s", r.body)
	}
	for _, alt := range v.Search.Alternatives {
		if alt.From.Before(b.To) {
			t.Errorf("alternative %s–%s falls on the blocked day", alt.From, alt.To)
		}
	}
	if allocs := a.allocations(t, v.Request.ID); len(allocs) != 0 {
		t.Fatalf("an unscheduled procedure holds %+v", allocs)
	}
	wantNoNanoseconds(t, "the unscheduled answer", r.body, "duration", "reminders")
}

// A start Temporal refuses still answers 201, as the request stands: the
// workflow starter starts it from its row.
func TestProcedureRequestStartsFromItsRow(t *testing.T) {
	a := newProceduresAPI(t)
	a.directory(t)
	a.temporal.startErr = serviceerror.NewUnavailable("temporal is down")
	v := a.request(t, a.requestBody(a.soon()))
	if v.Status != procedure.StatusRequested {
		t.Fatalf("with Temporal down: %s", v.Status)
	}
	if n := countRows(t, a.pool, `SELECT count(*) FROM workflow_starts WHERE workflow_id = $1 AND started_at IS NULL`,
		procedureflow.WorkflowID(v.Request.ID)); n != 1 {
		t.Fatalf("%d pending start rows", n)
	}
}

// The steps: the hold is booked by the person acting (a body naming anyone
// else is 403 and never reaches the workflow); a reschedule into a window
// with no slot is 409 NO_SLOT saying why, and the booking stands; one into
// a free window swaps the allocations; the start waits for the checklist
// (409 CHECKLIST_INCOMPLETE naming the items); a cancellation needs a
// reason and frees every allocation, and the ended procedure takes no
// more steps. Each step is audited once, as the person acting.
func TestProcedureSteps(t *testing.T) {
	a := newProceduresAPI(t)
	a.directory(t)
	v := a.request(t, a.requestBody(a.soon()))
	id := v.Request.ID

	wantCode(t, a.step(t, id, "book", `{"by":"`+nurseID.String()+`"}`), http.StatusForbidden, CodeActorMismatch)
	wantCode(t, a.do(t, http.MethodPost, adminToken, proceduresPath+"/"+id.String()+"/book", `{}`), http.StatusForbidden, CodePersonRequired)
	if len(a.temporal.sent) != 0 {
		t.Fatalf("a refused step reached the workflow: %+v", a.temporal.sent)
	}
	booked := procedureOf(t, "book", a.step(t, id, "book", `{"by":"`+physicianID.String()+`"}`, "X-Request-Id", "proc-book"), http.StatusOK)
	if booked.Status != procedure.StatusBooked || booked.Last().By != physicianID || booked.HoldExpiresAt != nil {
		t.Fatalf("booked: %+v", booked.Procedure)
	}
	if allocs := a.allocations(t, id); len(allocs) != 3 || slices.ContainsFunc(allocs, func(x procedure.Allocation) bool {
		return x.State != procedure.AllocationBooked
	}) {
		t.Fatalf("allocations after booking: %+v", allocs)
	}

	// No slot on the blocked day: the booking stands.
	b := a.blocked()
	impossible := `{"window":{"from":"` + b.From.Add(time.Hour).Format(time.RFC3339) + `","to":"` +
		b.From.Add(5*time.Hour).Format(time.RFC3339) + `"},"reason":"the surgeon asked"}`
	r := a.step(t, id, "reschedule", impossible, "X-Request-Id", "proc-reschedule-none")
	wantCode(t, r, http.StatusConflict, CodeNoSlot)
	var refusal struct {
		Message string                  `json:"message"`
		Search  procedure.SearchOutcome `json:"search"`
	}
	if err := json.Unmarshal([]byte(r.body), &refusal); err != nil || refusal.Search.Reason == "" || refusal.Message != refusal.Search.Reason ||
		len(refusal.Search.Alternatives) == 0 || len(refusal.Search.Blocking) == 0 {
		t.Fatalf("no slot: %s", r.body)
	}
	a.wantOneRecord(t, "proc-reschedule-none", audit.ActionUpdate, audit.OutcomeFailure, id.String())
	stands := procedureOf(t, "GET", a.do(t, http.MethodGet, physicianToken, proceduresPath+"/"+id.String(), ""), http.StatusOK)
	if stands.Status != procedure.StatusBooked || !stands.Slot.From.Equal(booked.Slot.From) || stands.Version != booked.Version {
		t.Fatalf("after no slot: %+v", stands.Procedure)
	}
	if allocs := a.allocations(t, id); len(allocs) != 3 || !allocs[0].Period.From.Equal(booked.Slot.From) {
		t.Fatalf("allocations after no slot: %+v", allocs)
	}
	wantFieldSet(t, "a reschedule without a reason", a.step(t, id, "reschedule",
		`{"window":{"from":"`+a.now.Add(7*time.Hour).Format(time.RFC3339)+`","to":"`+a.now.Add(12*time.Hour).Format(time.RFC3339)+`"}}`), "reason")

	// A free window: the allocations move with the booking.
	later := procedure.Period{From: a.now.Add(7 * time.Hour), To: a.now.Add(12 * time.Hour)}
	moved := procedureOf(t, "reschedule", a.step(t, id, "reschedule", `{"window":{"from":"`+later.From.Format(time.RFC3339)+
		`","to":"`+later.To.Format(time.RFC3339)+`"},"reason":"list overran"}`, "X-Request-Id", "proc-reschedule"), http.StatusOK)
	if moved.Status != procedure.StatusBooked || moved.Slot.From.Before(later.From) || moved.Reschedules != 1 || moved.Released == nil {
		t.Fatalf("rescheduled: %+v", moved.Procedure)
	}
	if allocs := a.allocations(t, id); len(allocs) != 3 || !allocs[0].Period.From.Equal(moved.Slot.From) || allocs[0].State != procedure.AllocationBooked {
		t.Fatalf("allocations after the reschedule: %+v", allocs)
	}

	checkedIn := procedureOf(t, "check-in", a.step(t, id, "check-in", `{}`, "X-Request-Id", "proc-check-in"), http.StatusOK)
	if checkedIn.Status != procedure.StatusCheckedIn || checkedIn.CheckedInAt == nil {
		t.Fatalf("checked in: %+v", checkedIn.Procedure)
	}
	r = a.step(t, id, "start", `{}`, "X-Request-Id", "proc-start-early")
	wantCode(t, r, http.StatusConflict, CodeChecklistIncomplete)
	if msg := decodeErr(t, r).Message; !strings.Contains(msg, "consent") || !strings.Contains(msg, "time-out.imaging") {
		t.Errorf("the refusal does not name the items: %s", msg)
	}
	a.wantOneRecord(t, "proc-start-early", audit.ActionUpdate, audit.OutcomeFailure, id.String())
	checked := procedureOf(t, "check", a.step(t, id, "checklist/consent", `{"note":"signed on the ward"}`, "X-Request-Id", "proc-check"), http.StatusOK)
	if it, _ := checked.Item("consent"); it.DoneAt == nil || it.DoneBy != physicianID || it.Note != "signed on the ward" {
		t.Fatalf("consent: %+v", it)
	}
	wantCode(t, a.step(t, id, "checklist/consent", `{}`), http.StatusConflict, CodeInvalidTransition)
	wantCode(t, a.step(t, id, "checklist/no-such-item", `{}`), http.StatusBadRequest, CodeValidationFailed)

	wantFieldSet(t, "a cancellation without a reason", a.step(t, id, "cancel", `{}`), "reason")
	cancelled := procedureOf(t, "cancel", a.step(t, id, "cancel", `{"reason":"patient unwell"}`, "X-Request-Id", "proc-cancel"), http.StatusOK)
	if cancelled.Status != procedure.StatusCancelled {
		t.Fatalf("cancelled: %+v", cancelled.Procedure)
	}
	if allocs := a.allocations(t, id); len(allocs) != 0 {
		t.Fatalf("a cancelled procedure holds %+v", allocs)
	}
	r = a.step(t, id, "check-in", `{}`)
	wantCode(t, r, http.StatusConflict, CodeInvalidTransition)
	if !strings.Contains(r.body, "cancelled") {
		t.Errorf("the ended procedure: %s", r.body)
	}
	wantCode(t, a.step(t, uuid.New(), "book", `{}`), http.StatusNotFound, CodeNotFound)

	for _, requestID := range []string{"proc-book", "proc-reschedule", "proc-check-in", "proc-check", "proc-cancel"} {
		rec := a.wantOneRecord(t, requestID, audit.ActionUpdate, audit.OutcomeSuccess, id.String())
		if rec.EntityType != entityProcedure || rec.PatientID == nil || *rec.PatientID != a.patient ||
			rec.Actor.PractitionerID != physicianID.String() || rec.Status != http.StatusOK {
			t.Errorf("audit record of %s: %+v", requestID, rec)
		}
	}
	if n := countRows(t, a.pool, `SELECT count(*) FROM procedures WHERE id = $1 AND status = 'cancelled' AND version = $2`,
		id, cancelled.Version); n != 1 {
		t.Fatalf("the read model does not hold the cancellation")
	}
}

// completed drives a held procedure to completed as the physician: booked,
// every checklist item before the start, checked in, started, the
// sign-out items, the outcome.
func (a *proceduresAPI) completed(t *testing.T, id uuid.UUID) ProcedureView {
	t.Helper()
	procedureOf(t, "book", a.step(t, id, "book", `{}`), http.StatusOK)
	var signOut []string
	for _, it := range procedure.DefaultChecklist() {
		if it.Phase == procedure.PhaseSignOut {
			signOut = append(signOut, it.Code)
			continue
		}
		procedureOf(t, "check "+it.Code, a.step(t, id, "checklist/"+it.Code, `{}`), http.StatusOK)
	}
	procedureOf(t, "check-in", a.step(t, id, "check-in", `{}`), http.StatusOK)
	started := procedureOf(t, "start", a.step(t, id, "start", `{}`), http.StatusOK)
	for _, code := range signOut {
		procedureOf(t, "check "+code, a.step(t, id, "checklist/"+code, `{}`), http.StatusOK)
	}
	done := procedureOf(t, "complete", a.step(t, id, "complete", `{"outcome":"successful","startedAt":"`+
		started.StartedAt.Format(time.RFC3339Nano)+`","endedAt":"`+time.Now().UTC().Format(time.RFC3339Nano)+
		`","team":["`+physicianID.String()+`"]}`), http.StatusOK)
	if done.Status != procedure.StatusCompleted || done.Completion == nil || done.Completion.By != physicianID {
		t.Fatalf("completed: %+v", done.Procedure)
	}
	return done
}

// Availability names every missing or malformed parameter; a good query
// lists the free slots, earliest first, and a booked slot (with the
// room's turnover after it) is no longer among them; nor is a slot that
// has already begun.
func TestProcedureAvailability(t *testing.T) {
	a := newProceduresAPI(t)
	theatre, surgeon := a.directory(t)
	get := func(query string) result {
		return a.do(t, http.MethodGet, schedulerByRoleToken, proceduresPath+"/availability"+query, "")
	}
	wantFieldSet(t, "nothing asked", get(""), "requirements", "from", "to")
	w := a.soon()
	window := "&from=" + url.QueryEscape(w.From.Format(time.RFC3339)) + "&to=" + url.QueryEscape(w.To.Format(time.RFC3339))
	wantFieldSet(t, "a malformed requirement", get("?requirements=room:operating-theatre,theatre"+window), "requirements[1]")
	wantFieldSet(t, "too many surgeons", get("?requirements=staff:surgeon:9,room:operating-theatre"+window), "requirements[0]")
	wantFieldSet(t, "a backwards window", get("?requirements=room:operating-theatre&from="+url.QueryEscape(w.To.Format(time.RFC3339))+
		"&to="+url.QueryEscape(w.From.Format(time.RFC3339))), "to")
	wantFieldSet(t, "a nanosecond duration", get("?requirements=room:operating-theatre&duration=3600000000000"+window), "duration")

	slots := func(query string) []procedure.Slot {
		t.Helper()
		r := get(query)
		var page struct {
			Data []procedure.Slot `json:"data"`
		}
		if err := json.Unmarshal([]byte(r.body), &page); r.status != http.StatusOK || err != nil {
			t.Fatalf("availability%s: %d %s", query, r.status, r.body)
		}
		return page.Data
	}
	query := "?requirements=" + url.QueryEscape("room:operating-theatre,staff:surgeon") + "&durationMinutes=60&limit=200" + window
	free := slots(query)
	if len(free) == 0 || free[0].From.Before(w.From) || free[0].From.Sub(w.From) >= 5*time.Minute ||
		!slices.Equal(free[0].Resources[0], []uuid.UUID{theatre.ID}) || !slices.Equal(free[0].Resources[1], []uuid.UUID{surgeon.ID}) {
		t.Fatalf("free slots: %+v", free)
	}
	v := a.request(t, a.requestBody(w))
	procedureOf(t, "book", a.step(t, v.Request.ID, "book", `{}`), http.StatusOK)
	if !slices.ContainsFunc(free, func(s procedure.Slot) bool { return s.From.Equal(v.Slot.From) }) {
		t.Fatalf("the slot booked, %s, was not offered: %+v", v.Slot.From, free)
	}
	taken := procedure.Period{From: v.Slot.From, To: v.Slot.To.Add(15 * time.Minute)}
	after := slots(query)
	if len(after) == 0 {
		t.Fatal("no slot is left in the window")
	}
	for _, s := range after {
		if s.Overlaps(taken) {
			t.Errorf("the slot %s–%s overlaps the booking and its turnover %s–%s", s.From, s.To, taken.From, taken.To)
		}
	}
	// Earlier today is not bookable.
	past := slots("?requirements=room:operating-theatre&durationMinutes=30&from=" + url.QueryEscape(a.now.Add(-2*time.Hour).Format(time.RFC3339)) +
		"&to=" + url.QueryEscape(w.From.Format(time.RFC3339)))
	if len(past) == 0 {
		t.Fatal("no slot before the window")
	}
	for _, s := range past {
		if s.From.Before(a.now) {
			t.Errorf("a slot that has begun is offered: %s", s.From)
		}
	}
	if gone := slots("?requirements=room:operating-theatre&from=" + url.QueryEscape(a.now.Add(-5*time.Hour).Format(time.RFC3339)) +
		"&to=" + url.QueryEscape(a.now.Add(-time.Hour).Format(time.RFC3339))); len(gone) != 0 {
		t.Errorf("a window that has passed offers %+v", gone)
	}
}

// The metrics refuse a range that ends before it starts; a completed
// procedure counts in its range, narrowed by its code and room.
func TestProcedureMetrics(t *testing.T) {
	a := newProceduresAPI(t)
	theatre, _ := a.directory(t)
	get := func(query string) result {
		return a.do(t, http.MethodGet, physicianToken, proceduresPath+"/metrics"+query, "")
	}
	at := func(d time.Duration) string { return url.QueryEscape(a.now.Add(d).Format(time.RFC3339)) }
	wantFieldSet(t, "a range backwards", get("?from="+at(24*time.Hour)+"&to="+at(0)), "to")
	wantFieldSet(t, "a range of two years", get("?from="+at(-2*366*24*time.Hour)+"&to="+at(0)), "to")
	wantFieldSet(t, "bad filters", get("?from=yesterday&room=theatre-1"), "from", "room")

	v := a.request(t, a.requestBody(a.soon()))
	done := a.completed(t, v.Request.ID)
	if allocs := a.allocations(t, v.Request.ID); len(allocs) != 0 {
		t.Fatalf("a completed procedure holds %+v", allocs)
	}
	report := func(query string) procedure.Report {
		t.Helper()
		r := get(query)
		var m procedure.Report
		if err := json.Unmarshal([]byte(r.body), &m); r.status != http.StatusOK || err != nil {
			t.Fatalf("metrics%s: %d %s", query, r.status, r.body)
		}
		return m
	}
	week := "?from=" + at(-24*time.Hour) + "&to=" + at(7*24*time.Hour)
	m := report(week)
	completed := slices.IndexFunc(m.Statuses, func(s procedure.StatusCount) bool { return s.Status == procedure.StatusCompleted })
	if m.Procedures != 1 || completed < 0 || m.Statuses[completed].Count != 1 || m.Complication.Of != 1 || m.Complication.Count != 0 ||
		m.OnTimeStart.Of != 1 || m.Overrun.Count != 1 || m.Cancellation.Of != 1 || m.Cancellation.Count != 0 {
		t.Fatalf("metrics of the completed procedure %s: %+v", done.Request.ID, m)
	}
	if m := report(week + "&procedure=80146002&room=" + theatre.ID.String()); m.Procedures != 1 {
		t.Errorf("narrowed to its code and room: %d procedures", m.Procedures)
	}
	if m := report(week + "&procedure=73761001"); m.Procedures != 0 {
		t.Errorf("another code: %d procedures", m.Procedures)
	}
	if m := report("?from=2020-01-01T00:00:00Z&to=2020-02-01T00:00:00Z"); m.Procedures != 0 {
		t.Errorf("a range years ago: %d procedures", m.Procedures)
	}
}

// Each route asks for its scope, and each role gets what the roles grant:
// a client that only reads procedures cannot request one; a nurse reads
// procedures and takes their steps (book, the checklist) but requests none
// and sees neither the directory nor availability (no Schedule scope); a
// scheduler keeps the directory and books. Nothing refused reaches the
// workflow.
func TestProcedureScopes(t *testing.T) {
	a := newProceduresAPI(t)
	a.directory(t)
	body := a.requestBody(a.soon())
	v := a.request(t, body)
	one := proceduresPath + "/" + v.Request.ID.String()
	w := a.soon()
	availability := proceduresPath + "/availability?requirements=room:operating-theatre&from=" + url.QueryEscape(w.From.Format(time.RFC3339)) +
		"&to=" + url.QueryEscape(w.To.Format(time.RFC3339))

	wantCode(t, a.do(t, http.MethodPost, procedureReaderToken, proceduresPath+"/requests", body), http.StatusForbidden, CodeForbidden)
	if r := a.do(t, http.MethodGet, procedureReaderToken, proceduresPath, ""); r.status != http.StatusOK {
		t.Errorf("a reader lists: %d %s", r.status, r.body)
	}

	for _, tt := range []struct {
		method, path, body string
		status             int
	}{
		{http.MethodGet, proceduresPath, "", http.StatusOK},
		{http.MethodGet, one, "", http.StatusOK},
		{http.MethodGet, proceduresPath + "/metrics", "", http.StatusOK},
		{http.MethodPost, proceduresPath + "/requests", body, http.StatusForbidden},
		{http.MethodPost, one + "/book", `{}`, http.StatusOK},
		{http.MethodPost, one + "/checklist/consent", `{}`, http.StatusOK},
		{http.MethodGet, availability, "", http.StatusForbidden},
		{http.MethodGet, resourcesPath, "", http.StatusForbidden},
		{http.MethodPost, resourcesPath, `{"kind":"room","name":"Theatre 9","capabilities":["endoscopy"],"hours":[]}`, http.StatusForbidden},
	} {
		if r := a.do(t, tt.method, nurseByRoleToken, tt.path, tt.body); r.status != tt.status {
			t.Errorf("nurse %s %s: %d %s, want %d", tt.method, tt.path, r.status, r.body, tt.status)
		}
	}
	if r := a.do(t, http.MethodGet, physicianToken, availability, ""); r.status != http.StatusOK {
		t.Errorf("a physician reads availability: %d %s", r.status, r.body)
	}

	// The scheduler keeps the directory and books: the requester is the scheduler.
	if r := a.do(t, http.MethodPost, schedulerByRoleToken, resourcesPath,
		`{"kind":"equipment","name":"C-arm 1","equipmentKind":"c-arm","hours":`+allWeek+`}`); r.status != http.StatusCreated {
		t.Errorf("a scheduler adds a resource: %d %s", r.status, r.body)
	}
	if r := a.do(t, http.MethodGet, schedulerByRoleToken, availability, ""); r.status != http.StatusOK {
		t.Errorf("a scheduler reads availability: %d %s", r.status, r.body)
	}
	// The nurse booked the first; the scheduler books another.
	other := a.request(t, a.requestBody(a.soon()))
	booked := procedureOf(t, "scheduler books", a.do(t, http.MethodPost, schedulerByRoleToken,
		proceduresPath+"/"+other.Request.ID.String()+"/book", `{}`), http.StatusOK)
	if booked.Last().By != schedulerID {
		t.Errorf("booked by %s, want the scheduler", booked.Last().By)
	}
	if len(a.temporal.sent) != 3 || len(a.temporal.started) != 2 {
		t.Fatalf("refused requests reached the workflow: %d steps, %d starts", len(a.temporal.sent), len(a.temporal.started))
	}
}
