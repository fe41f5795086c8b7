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
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
	diagnosticflow "github.com/zarish-sphere/zarish/workflows/diagnostic"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// diagnosticTemporal stands in for the Temporal server behind the
// diagnostic routes: a start is recorded and its report kept as the run's
// state; each Update is played on the domain as the workflow plays it (the
// change recorded in the read model with the request's audit record), or
// refused with refuse when that is set; the query answers the state. A
// cancelled or withdrawn report's run ends.
type diagnosticTemporal struct {
	client.Client
	store   *postgres.DiagnosticStore
	mu      sync.Mutex
	reports map[uuid.UUID]diagnostic.Report
	started []diagnosticflow.Input
	sent    []diagnosticflow.Request
	// startErr refuses every start; refuse every Update.
	startErr, refuse error
}

func (f *diagnosticTemporal) ExecuteWorkflow(_ context.Context, _ client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.startErr != nil {
		return nil, f.startErr
	}
	in := args[0].(diagnosticflow.Input)
	f.started = append(f.started, in)
	f.reports[in.Report.Order.ID] = in.Report
	return nil, nil
}

func (f *diagnosticTemporal) UpdateWorkflow(_ context.Context, opts client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	return answerUpdate(opts, diagnosticflow.IDFromWorkflowID, f.play)
}

func (f *diagnosticTemporal) QueryWorkflow(_ context.Context, workflowID, _, query string, _ ...any) (converter.EncodedValue, error) {
	id, err := diagnosticflow.IDFromWorkflowID(workflowID)
	if err != nil || query != diagnosticflow.QueryState {
		return nil, fmt.Errorf("query %s of %s", query, workflowID)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.reports[id]
	if !ok {
		return nil, serviceerror.NewNotFound("workflow not found")
	}
	return encodedReport{r}, nil
}

// encodedReport is a query's answer.
type encodedReport struct{ r diagnostic.Report }

func (e encodedReport) HasValue() bool { return true }
func (e encodedReport) Get(v any) error {
	*v.(*diagnostic.Report) = e.r
	return nil
}

// testRefusals are the contract's sentinels and refusal types, as the
// workflow maps them.
var testRefusals = []process.Refusal{
	{Err: diagnostic.ErrReadBackMismatch, Type: diagnosticflow.RefusedReadBackMismatch},
	{Err: diagnostic.ErrUnreviewedFlags, Type: diagnosticflow.RefusedUnreviewedFlags},
	{Err: diagnostic.ErrNotReleased, Type: diagnosticflow.RefusedNotReleased},
	{Err: diagnostic.ErrInvalidTransition, Type: diagnosticflow.RefusedInvalidTransition},
	{Err: diagnostic.ErrInvalidArgument, Type: diagnosticflow.RefusedInvalidArgument},
}

func (f *diagnosticTemporal) play(id uuid.UUID, req diagnosticflow.Request) (diagnostic.Report, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse != nil {
		return diagnostic.Report{}, f.refuse
	}
	p, ok := f.reports[id]
	if !ok {
		return p, serviceerror.NewNotFound("workflow not found")
	}
	f.sent = append(f.sent, req)
	next, err := playStep(p, req, time.Now().UTC())
	if err != nil {
		return p, err
	}
	if next.Version == p.Version && req.Auditing().Audit == nil {
		return p, nil
	}
	if err := f.store.Record(context.Background(), next, req.Auditing().Audit); err != nil {
		return p, process.NotRecorded(process.InvalidInput(err), diagnosticflow.RefusedNotRecorded, diagnosticflow.RefusedRecordUnavailable)
	}
	f.reports[id] = next
	if next.Status.Closed() {
		delete(f.reports, id)
	}
	return next, nil
}

// playStep is the domain's change for req, refused as the workflow
// refuses it.
func playStep(p diagnostic.Report, req diagnosticflow.Request, now time.Time) (diagnostic.Report, error) {
	dated := func(t time.Time) time.Time {
		if t.IsZero() {
			return now
		}
		return t
	}
	var (
		next diagnostic.Report
		err  error
	)
	switch r := req.(type) {
	case *diagnosticflow.CollectRequest:
		next, err = p.Collect(r.Collection, now)
	case *diagnosticflow.ReceiveRequest:
		next, err = p.Receive(r.Accession, r.By, now)
	case *diagnosticflow.RejectRequest:
		next, err = p.Reject(r.Accession, r.Reason, r.Note, r.By, now)
	case *diagnosticflow.RecordResultsRequest:
		next = p
		for _, o := range r.Observations {
			if next, err = next.Record(o, now); err != nil {
				break
			}
		}
	case *diagnosticflow.LinkStudyRequest:
		next, err = p.LinkStudy(r.Study, now)
	case *diagnosticflow.ReviewFlagRequest:
		next, err = p.ReviewFlag(r.FlagID, r.By, r.Note, now)
	case *diagnosticflow.VerifyRequest:
		v := r.Verification
		v.At = now
		next, err = p.Verify(v, diagnosticflow.DefaultReleaseDelay)
	case *diagnosticflow.ReleaseRequest:
		next, err = p.ReleaseNow(r.By, now)
	case *diagnosticflow.OpenRequest:
		next, err = p.Open(r.Who, r.Role, now)
	case *diagnosticflow.AmendRequest:
		next, err = p.Amend(r.Amendment, now)
	case *diagnosticflow.CorrectRequest:
		next, err = p.Correct(r.Correction, now)
	case *diagnosticflow.WithdrawRequest:
		next, err = p.Withdraw(r.By, r.Reason, now)
	case *diagnosticflow.CancelRequest:
		next, err = p.Cancel(r.By, r.Reason, now)
	case *diagnosticflow.CallbackAttemptRequest:
		a := r.Attempt
		a.At = dated(a.At)
		next, err = p.Attempt(r.ObservationID, a)
	case *diagnosticflow.CallbackConfirmRequest:
		rb := r.ReadBack
		rb.At = dated(rb.At)
		if r.InPerson {
			next, err = p.ConfirmInPerson(r.ObservationID, rb.Entered, r.By, rb.At)
		} else {
			next, err = p.Confirm(r.ObservationID, rb, r.By)
		}
		if errors.Is(err, diagnostic.ErrReadBackMismatch) {
			m := diagnosticflow.ReadBackMismatch{ReadBack: strings.TrimSpace(rb.Entered)}
			for _, res := range p.Results {
				if res.ObservationID == r.ObservationID {
					m.Result = res.Text()
				}
			}
			return p, temporal.NewNonRetryableApplicationError(err.Error(), diagnosticflow.RefusedReadBackMismatch, err, m)
		}
	case *diagnosticflow.CallbackCloseRequest:
		next, err = p.Close(r.ObservationID, r.Outcome, r.By, r.Note, dated(r.At))
	default:
		return p, fmt.Errorf("no play for %T", req)
	}
	if err != nil {
		return p, process.Refuse(err, testRefusals...)
	}
	return next, nil
}

// Tokens and people of the diagnostic tests: the physician and nurse of
// peopleVerifier, and a laboratory scientist; each in the care-team
// directory with the role they hold.
const (
	labToken         = "lab-scientist"
	radiologistToken = "radiologist"
)

var (
	labID         = uuid.MustParse("0193c0de-0000-7000-8000-00000000a0b1")
	radiologistID = uuid.MustParse("0193c0de-0000-7000-8000-00000000a0b2")
)

// diagnosticsAPI serves the diagnostic routes on a fresh database with a
// fake Temporal, for a registered patient with an open encounter.
type diagnosticsAPI struct {
	pool     *pgxpool.Pool
	srv      *httptest.Server
	temporal *diagnosticTemporal
	store    *postgres.DiagnosticStore
	audit    *postgres.AuditStore
	// observations are the observation service's, where results are stored.
	observations *postgres.ObservationStore
	verifier     stubVerifier
	patient      uuid.UUID
	encounter    encounter.Record
}

func newDiagnosticsAPI(t *testing.T) *diagnosticsAPI {
	t.Helper()
	pool := pgtest.NewPool(t)
	d := &diagnosticsAPI{pool: pool, store: postgres.NewDiagnosticStore(pool), audit: postgres.NewAuditStore(pool),
		observations: postgres.NewObservationStore(pool), verifier: peopleVerifier()}
	d.temporal = &diagnosticTemporal{store: d.store, reports: map[uuid.UUID]diagnostic.Report{}}
	d.verifier[labToken] = access.Principal{Subject: "u-lab", ClientID: "lis", Scopes: []string{"user/*.*"},
		Roles: []string{string(access.RoleLab)}, UserID: "u-lab", PractitionerID: labID.String()}
	d.verifier[radiologistToken] = access.Principal{Subject: "u-rad", ClientID: "ris", Scopes: []string{"user/*.*"},
		Roles: []string{string(access.RoleLab)}, UserID: "u-rad", PractitionerID: radiologistID.String()}
	h := NewRouter(Deps{
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Version:      "test",
		StepKeys:     postgres.NewStepKeys(pool),
		Audit:        d.audit,
		Temporal:     d.temporal,
		Patients:     postgres.NewPatientStore(pool),
		Encounters:   postgres.NewEncounterStore(pool),
		Observations: d.observations,
		CareTeam:     postgres.NewCareTeamStore(pool),
		Diagnostics:  d.store,
		Verifier:     d.verifier,
		Health:       NewHealth(nil, time.Second),
		Metrics:      NewMetrics(),
	})
	d.srv = httptest.NewServer(h)
	t.Cleanup(d.srv.Close)
	staff(t, pool, physicianID, careteam.RolePhysician)
	staff(t, pool, nurseID, careteam.RoleNurse)
	staff(t, pool, labID, careteam.RoleLab)
	staff(t, pool, radiologistID, careteam.RoleRadiologist)
	d.patient = registerPatient(t, postgres.NewPatientStore(pool))
	d.encounter = d.openEncounter(t, d.patient)
	return d
}

// staff adds a practitioner to the care-team directory with role.
func staff(t *testing.T, pool *pgxpool.Pool, id uuid.UUID, role careteam.Role) {
	t.Helper()
	p, err := careteam.NewPractitioner(id, "Practitioner "+string(role), []careteam.Role{role}, []string{"ward-3"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.NewCareTeamStore(pool).CreatePractitioner(context.Background(), nil, p); err != nil {
		t.Fatal(err)
	}
}

// openEncounter stores an open encounter of patient on ward-3.
func (d *diagnosticsAPI) openEncounter(t *testing.T, patient uuid.UUID) encounter.Record {
	t.Helper()
	st, err := encounter.New(encounter.Details{EncounterID: uuid.Must(uuid.NewV7()), PatientID: patient,
		Class: encounter.ClassInpatient, Reason: "sepsis", Location: "ward-3"}, time.Now().UTC().Truncate(time.Microsecond))
	if err != nil {
		t.Fatal(err)
	}
	rec, _, err := postgres.NewEncounterStore(d.pool).CreateEncounter(context.Background(), nil, nil, st)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func (d *diagnosticsAPI) do(t *testing.T, method, token, path, body string, headers ...string) result {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, d.srv.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
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

// order places an order of tests for the patient, in the encounter, as
// the physician.
func (d *diagnosticsAPI) order(t *testing.T, priority string, tests ...string) DiagnosticOrderView {
	t.Helper()
	raw, _ := json.Marshal(tests)
	r := d.do(t, http.MethodPost, physicianToken, ordersPath, `{"patientId":"`+d.patient.String()+`","encounterId":"`+
		d.encounter.ID.String()+`","tests":`+string(raw)+`,"priority":"`+priority+`","clinicalInformation":"sepsis screen"}`)
	if r.status != http.StatusCreated {
		t.Fatalf("order %v: %d %s", tests, r.status, r.body)
	}
	var v DiagnosticOrderView
	if err := json.Unmarshal([]byte(r.body), &v); err != nil || v.Order.ID == uuid.Nil {
		t.Fatalf("order answered %s", r.body)
	}
	return v
}

// wantFieldSet fails unless r is 400 VALIDATION_FAILED naming exactly
// fields, in any order.
func wantFieldSet(t *testing.T, what string, r result, fields ...string) {
	t.Helper()
	if r.status != http.StatusBadRequest {
		t.Errorf("%s: %d %s, want 400", what, r.status, r.body)
		return
	}
	e := decodeErr(t, r)
	var got []string
	for _, d := range e.Details {
		got = append(got, d.Field)
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(fields))
	if e.Error != CodeValidationFailed || !slices.Equal(got, want) {
		t.Errorf("%s: %s %v, want %s naming %v (%s)", what, e.Error, got, CodeValidationFailed, want, r.body)
	}
}

// countRows counts what sql finds.
func countRows(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// An order is refused naming every bad field at once — an unknown test by
// its index — and an unknown patient or an encounter that is not the
// patient's or has ended is 422 naming it; nothing is stored or started.
func TestDiagnosticOrderValidation(t *testing.T) {
	d := newDiagnosticsAPI(t)
	p := d.patient.String()
	other := registerPatient(t, postgres.NewPatientStore(d.pool))
	closed := d.openEncounter(t, d.patient)
	st, err := encounter.New(encounter.Details{EncounterID: closed.ID, PatientID: d.patient, Class: encounter.ClassInpatient,
		Reason: "sepsis", Location: "ward-3"}, closed.CreatedAt)
	if err != nil {
		t.Fatal(err)
	}
	if st, err = st.Cancel(physicianID, closed.CreatedAt.Add(time.Minute), "booked in error"); err != nil {
		t.Fatal(err)
	}
	if err := postgres.NewEncounterStore(d.pool).RecordTransition(context.Background(), st, st.Last(), nil); err != nil {
		t.Fatal(err)
	}
	post := func(body string) result { return d.do(t, http.MethodPost, physicianToken, ordersPath, body) }

	wantFieldSet(t, "every bad field", post(`{"patientId":"nope","encounterId":"x","tests":["24362-6","1234-5",""],"priority":"asap"}`),
		"patientId", "encounterId", "tests[1]", "tests[2]", "priority")
	wantFieldSet(t, "an unknown test", post(`{"patientId":"`+p+`","tests":["58410-2","2823-3","9999-9"]}`), "tests[2]")
	wantFieldSet(t, "no test", post(`{"patientId":"`+p+`","tests":[]}`), "tests")
	wantFieldSet(t, "a test twice", post(`{"patientId":"`+p+`","tests":["1988-5","1988-5"]}`), "tests[1]")
	wantFieldSet(t, "a member beside its panel", post(`{"patientId":"`+p+`","tests":["24362-6","2823-3"]}`), "tests[1]")
	wantFieldSet(t, "laboratory and imaging", post(`{"patientId":"`+p+`","tests":["1988-5","36643-5"],"clinicalInformation":"cough"}`), "tests")
	wantFieldSet(t, "imaging without the clinical question", post(`{"patientId":"`+p+`","tests":["36643-5"]}`), "clinicalInformation")
	wantFieldSet(t, "no patient", post(`{"tests":["1988-5"]}`), "patientId")

	for name, tt := range map[string]struct{ body, field string }{
		"an unknown patient":           {`{"patientId":"` + uuid.NewString() + `","tests":["1988-5"]}`, "patientId"},
		"an unknown encounter":         {`{"patientId":"` + p + `","encounterId":"` + uuid.NewString() + `","tests":["1988-5"]}`, "encounterId"},
		"another patient's encounter":  {`{"patientId":"` + other.String() + `","encounterId":"` + d.encounter.ID.String() + `","tests":["1988-5"]}`, "encounterId"},
		"an encounter that has ended":  {`{"patientId":"` + p + `","encounterId":"` + closed.ID.String() + `","tests":["1988-5"]}`, "encounterId"},
		"a patient unknown, encounter": {`{"patientId":"` + uuid.NewString() + `","encounterId":"` + d.encounter.ID.String() + `","tests":["1988-5"]}`, "patientId"},
	} {
		r := post(tt.body)
		wantCode(t, r, http.StatusUnprocessableEntity, CodeValidationFailed)
		if e := decodeErr(t, r); len(e.Details) != 1 || e.Details[0].Field != tt.field {
			t.Errorf("%s: %s, want %s named", name, r.body, tt.field)
		}
	}
	// The orderer is the person acting: a machine client is refused.
	wantCode(t, d.do(t, http.MethodPost, adminToken, ordersPath, `{"patientId":"`+p+`","tests":["1988-5"]}`),
		http.StatusForbidden, CodePersonRequired)
	if n := countRows(t, d.pool, `SELECT count(*) FROM diagnostic_reports`); n != 0 || len(d.temporal.started) != 0 {
		t.Fatalf("refused orders left %d reports and %d starts", n, len(d.temporal.started))
	}
}

// An order is stored registered with its start row and audit record, its
// workflow started at once with the encounter's ward as its unit; the
// answer is the order's view with its tubes and targets, and the same
// Idempotency-Key answers it again without a second order.
func TestDiagnosticOrderIsStoredAndStarted(t *testing.T) {
	d := newDiagnosticsAPI(t)
	body := `{"patientId":"` + d.patient.String() + `","encounterId":"` + d.encounter.ID.String() +
		`","tests":["24362-6","58410-2"],"priority":"stat","clinicalInformation":"AKI?","specimenNotes":"not from the drip arm"}`
	r := d.do(t, http.MethodPost, physicianToken, ordersPath, body, "Idempotency-Key", "dx-1", "X-Request-Id", "dx-create-1")
	if r.status != http.StatusCreated {
		t.Fatalf("order: %d %s", r.status, r.body)
	}
	var v DiagnosticOrderView
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatal(err)
	}
	o := v.Order
	if v.Status != diagnostic.StatusRegistered || o.OrdererID != physicianID || o.Priority != diagnostic.PriorityStat ||
		o.ClinicalInfo != "AKI?" || len(o.Items) != 2 || r.header.Get("Location") != ordersPath+"/"+o.ID.String() {
		t.Fatalf("order view: %s (Location %s)", r.body, r.header.Get("Location"))
	}
	if !slices.Equal(v.Awaiting, []string{"sst-gold", "edta-lavender"}) || v.Expected != 8 || v.Resulted != 0 {
		t.Fatalf("awaiting %v, %d of %d resulted", v.Awaiting, v.Resulted, v.Expected)
	}
	if len(v.Stages) != len(diagnostic.Stages) || v.Stages[0].Stage != diagnostic.StageOrdered || v.Stages[0].At == nil ||
		v.Stages[1].At != nil || len(v.Targets) == 0 {
		t.Fatalf("stages %+v, targets %+v", v.Stages, v.Targets)
	}
	for _, tg := range v.Targets {
		if want := targetWaiting; tg.From == diagnostic.StageOrdered {
			want = targetRunning
			if tg.State != want || tg.Deadline == nil {
				t.Errorf("target %s: %s, deadline %v", tg.Span(), tg.State, tg.Deadline)
			}
		} else if tg.State != want {
			t.Errorf("target %s: %s, want %s", tg.Span(), tg.State, want)
		}
	}
	stored, err := d.store.Get(context.Background(), o.ID)
	if err != nil || stored.Version != 1 || stored.Order.EncounterID == nil || *stored.Order.EncounterID != d.encounter.ID {
		t.Fatalf("stored: %+v, %v", stored, err)
	}
	if len(d.temporal.started) != 1 || d.temporal.started[0].Unit != "ward-3" || d.temporal.started[0].Report.Order.ID != o.ID {
		t.Fatalf("started %+v", d.temporal.started)
	}
	if n := countRows(t, d.pool, `SELECT count(*) FROM workflow_starts WHERE workflow_id = $1 AND started_at IS NOT NULL`,
		diagnosticflow.WorkflowID(o.ID)); n != 1 {
		t.Fatalf("%d start rows marked started", n)
	}
	records := recordsFor(t, d.audit, "dx-create-1")
	if len(records) != 1 || records[0].EntityType != entityDiagnosticReport || records[0].EntityID != o.ID.String() ||
		records[0].PatientID == nil || *records[0].PatientID != d.patient || records[0].Action != audit.ActionCreate {
		t.Fatalf("audit records of the order: %+v", records)
	}

	again := d.do(t, http.MethodPost, physicianToken, ordersPath, body, "Idempotency-Key", "dx-1")
	var replay DiagnosticOrderView
	_ = json.Unmarshal([]byte(again.body), &replay)
	if again.status != http.StatusCreated || replay.Order.ID != o.ID || again.header.Get("Idempotent-Replayed") != "true" ||
		len(d.temporal.started) != 1 {
		t.Fatalf("replay: %d %s, %d starts", again.status, again.body, len(d.temporal.started))
	}
	if n := countRows(t, d.pool, `SELECT count(*) FROM diagnostic_reports`); n != 1 {
		t.Fatalf("%d reports after the replay", n)
	}
}

// A start Temporal refuses still answers 201: the order and its start row
// committed together, and the workflow starter starts it from the row.
func TestDiagnosticOrderStartsFromItsRow(t *testing.T) {
	d := newDiagnosticsAPI(t)
	d.temporal.startErr = serviceerror.NewUnavailable("temporal is down")
	r := d.do(t, http.MethodPost, physicianToken, ordersPath, `{"patientId":"`+d.patient.String()+`","tests":["1988-5"]}`)
	var v DiagnosticOrderView
	if err := json.Unmarshal([]byte(r.body), &v); err != nil || r.status != http.StatusCreated {
		t.Fatalf("order with Temporal down: %d %s", r.status, r.body)
	}
	if n := countRows(t, d.pool, `SELECT count(*) FROM workflow_starts WHERE workflow_id = $1 AND started_at IS NULL`,
		diagnosticflow.WorkflowID(v.Order.ID)); n != 1 {
		t.Fatalf("%d pending start rows", n)
	}
}

// The catalogue lists the orderable tests with their tubes and targets,
// and the imaging procedures; a kind narrows it.
func TestDiagnosticCatalogue(t *testing.T) {
	d := newDiagnosticsAPI(t)
	r := d.do(t, http.MethodGet, nurseToken, "/v1/diagnostics/catalogue", "")
	var cat DiagnosticCatalogue
	if err := json.Unmarshal([]byte(r.body), &cat); err != nil || r.status != http.StatusOK {
		t.Fatalf("catalogue: %d %s", r.status, r.body)
	}
	i := slices.IndexFunc(cat.Data, func(o diagnostic.Orderable) bool { return o.Code == "24362-6" })
	if cat.Version != diagnostic.EmbeddedVersion || !strings.Contains(cat.Notice, "LOINC") || i < 0 ||
		cat.Data[i].Container != "sst-gold" || len(cat.Data[i].Targets) == 0 || len(cat.Containers) == 0 {
		t.Fatalf("catalogue %s: %+v", cat.Version, cat.Data)
	}
	if !slices.ContainsFunc(cat.Data, func(o diagnostic.Orderable) bool { return o.Sensitive }) {
		t.Error("no sensitive test is marked")
	}
	r = d.do(t, http.MethodGet, nurseToken, "/v1/diagnostics/catalogue?kind=imaging", "")
	var imaging DiagnosticCatalogue
	if err := json.Unmarshal([]byte(r.body), &imaging); err != nil || len(imaging.Data) == 0 ||
		slices.ContainsFunc(imaging.Data, func(o diagnostic.Orderable) bool { return o.Kind != diagnostic.KindImaging }) {
		t.Fatalf("imaging: %d %s", r.status, r.body)
	}
	wantFieldSet(t, "an unknown kind", d.do(t, http.MethodGet, nurseToken, "/v1/diagnostics/catalogue?kind=xray", ""), "kind")
}

// The documented limits of the order and its steps are the domain's.
func TestDiagnosticLimitsAreTheDomains(t *testing.T) {
	doc, err := LoadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	schema := func(name string) map[string]any {
		raw, _ := json.Marshal(doc.Components.Schemas[name].Value)
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		return m
	}
	limit := func(s map[string]any, field, key string) any {
		p, _ := s["properties"].(map[string]any)[field].(map[string]any)
		return p[key]
	}
	for _, tt := range []struct {
		schema, field, key string
		want               int
	}{
		{"DiagnosticOrderCreate", "tests", "maxItems", diagnostic.MaxTests},
		{"DiagnosticOrderCreate", "clinicalInformation", "maxLength", diagnostic.MaxClinicalInfoLen},
		{"DiagnosticOrderCreate", "specimenNotes", "maxLength", diagnostic.MaxSpecimenNoteLen},
		{"DiagnosticCollect", "accessionId", "maxLength", diagnostic.MaxAccessionLen},
		{"DiagnosticReject", "note", "maxLength", diagnostic.MaxNoteLen},
		{"DiagnosticReason", "reason", "maxLength", diagnostic.MaxReasonLen},
		{"DiagnosticNote", "note", "maxLength", diagnostic.MaxNoteLen},
		{"DiagnosticVerify", "conclusion", "maxLength", diagnostic.MaxConclusionLen},
		{"DiagnosticVerify", "codes", "maxItems", diagnostic.MaxConclusionCodes},
		{"DiagnosticAmend", "addendum", "maxLength", diagnostic.MaxAddendumLen},
		{"DiagnosticAmend", "reason", "maxLength", diagnostic.MaxReasonLen},
		{"DiagnosticCorrect", "reason", "maxLength", diagnostic.MaxReasonLen},
		{"DiagnosticResults", "observations", "maxItems", diagnosticflow.MaxObservations},
		{"DiagnosticResults", "observationIds", "maxItems", diagnosticflow.MaxObservations},
		{"DiagnosticAttempt", "note", "maxLength", diagnostic.MaxNoteLen},
		{"DiagnosticCloseCallback", "note", "maxLength", diagnostic.MaxNoteLen},
	} {
		got, _ := limit(schema(tt.schema), tt.field, tt.key).(float64)
		if int(got) != tt.want {
			t.Errorf("%s.%s %s: documented %v, the domain says %d", tt.schema, tt.field, tt.key, got, tt.want)
		}
	}
	// Every code the routes answer with is in the error envelope's list.
	enum := jsonOf(doc.Components.Schemas["Error"].Value.Properties["error"].Value.Enum)
	for _, code := range []string{CodeVerifierRequired, CodeClinicianRequired, CodeUnreviewedFlags, CodeReadBackMismatch} {
		if !strings.Contains(enum, `"`+code+`"`) {
			t.Errorf("%s is not in the Error schema's codes", code)
		}
	}
}
