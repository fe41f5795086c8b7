package diagnostic_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	activities "github.com/zarish-sphere/zarish/activities/diagnostic"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/observation"
	alertwf "github.com/zarish-sphere/zarish/workflows/alert"
	diagnosticwf "github.com/zarish-sphere/zarish/workflows/diagnostic"
)

var (
	// t0 is when every test's order is placed and its workflow starts.
	t0          = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	orderID     = uuid.MustParse("0193f100-0000-7000-8000-0000000000d1")
	patient     = uuid.MustParse("0193f100-0000-7000-8000-0000000000aa")
	encounterID = uuid.MustParse("0193f100-0000-7000-8000-0000000000e1")
	orderer     = uuid.MustParse("0193f100-0000-7000-8000-000000000001")
	phleb       = uuid.MustParse("0193f100-0000-7000-8000-000000000002")
	scientist   = uuid.MustParse("0193f100-0000-7000-8000-000000000003")
	clinician   = uuid.MustParse("0193f100-0000-7000-8000-000000000004")
	caller      = uuid.MustParse("0193f100-0000-7000-8000-000000000005")
)

// renalPanel is the urea and electrolytes panel: one gold-top tube, five results.
const (
	renalPanel = "24362-6"
	goldTop    = "sst-gold"
)

var (
	catalogueOnce sync.Once
	catalogue     *diagnostic.Catalogue
	catalogueErr  error
)

// tests is the embedded test catalogue, loaded once for the test binary.
func tests(t testing.TB) *diagnostic.Catalogue {
	t.Helper()
	catalogueOnce.Do(func() { catalogue, catalogueErr = diagnostic.Embedded() })
	if catalogueErr != nil {
		t.Fatal(catalogueErr)
	}
	return catalogue
}

// written is one read-model write.
type written struct {
	r     diagnostic.Report
	audit *audit.Record
}

// store is the activities' store: every write it was asked for.
type store struct {
	mu      sync.Mutex
	written []written
	// refuse, when set, fails the writes it returns an error for.
	refuse func(diagnostic.Report) error
}

func (s *store) Record(_ context.Context, r diagnostic.Report, rec *audit.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse != nil {
		if err := s.refuse(r); err != nil {
			return err
		}
	}
	s.written = append(s.written, written{r: r, audit: rec})
	return nil
}

func (s *store) writes() []written {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.written)
}

// writtenKinds names, for each write, the timeline entries it added, joined
// by "+" when it added more than one.
func (s *store) writtenKinds(from int) string {
	var out []string
	version := from
	for _, w := range s.writes() {
		var added []string
		for _, e := range w.r.Timeline[min(version, len(w.r.Timeline)):] {
			added = append(added, string(e.Kind))
		}
		if len(added) == 0 {
			added = []string{"(unchanged)"}
		}
		out = append(out, strings.Join(added, "+"))
		version = w.r.Version
	}
	return strings.Join(out, " ")
}

// resolution is one alert the activities resolved.
type resolution struct {
	alertID, by uuid.UUID
	note        string
}

// resolver records the alerts it resolves.
type resolver struct {
	mu   sync.Mutex
	done []resolution
}

func (r *resolver) ResolveAlert(_ context.Context, alertID, by uuid.UUID, note string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = append(r.done, resolution{alertID, by, note})
	return nil
}

func (r *resolver) resolved() []resolution {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.done)
}

// openAlerts is the alerts' read model: the alerts other processes raised.
type openAlerts struct {
	mu      sync.Mutex
	records []alert.Record
}

func (o *openAlerts) ListAlerts(_ context.Context, f alert.Filter) (alert.Page, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var page alert.Page
	for _, r := range o.records {
		if r.PatientID == f.PatientID && (!f.Active || !r.Status.Closed()) {
			page.Alerts = append(page.Alerts, r)
		}
	}
	return page, nil
}

// raised is one alert the workflow started, and when.
type raised struct {
	alert.Raise
	at time.Duration // after the workflow started
}

// signalled is one signal the workflow sent another workflow.
type signalled struct {
	workflowID, name string
	arg              any
}

// harness runs the workflow with its real activities over store and
// resolver, a stub alert workflow, and mocked signals to the encounter,
// recording what each was asked.
type harness struct {
	t        *testing.T
	env      *testsuite.TestWorkflowEnvironment
	start    time.Time
	store    *store
	resolver *resolver
	open     *openAlerts

	mu       sync.Mutex
	alerts   []raised
	signals  []signalled
	statuses []string // DiagnosticStatus as upserted
	updates  int
	last     diagnosticwf.State // the state when the test ended the run
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	h := &harness{t: t, env: suite.NewTestWorkflowEnvironment(), start: t0, store: &store{}, resolver: &resolver{},
		open: &openAlerts{}}
	h.env.SetStartTime(t0)
	diagnosticwf.Register(h.env, activities.New(h.store, h.resolver, h.open))
	// The alert escalation is another process: a stub stands in for it.
	h.env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in alertwf.Input) (alertwf.State, error) {
		h.mu.Lock()
		h.alerts = append(h.alerts, raised{Raise: in.Raise, at: workflow.Now(ctx).Sub(h.start)})
		h.mu.Unlock()
		return alertwf.State{Raise: in.Raise, Status: alertwf.StatusOpen}, nil
	}, workflow.RegisterOptions{Name: alertwf.WorkflowName})
	// The encounter is another workflow.
	h.env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_, workflowID, _, name string, arg any) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.signals = append(h.signals, signalled{workflowID: workflowID, name: name, arg: arg})
			return nil
		})
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		status, _ := sa.GetKeyword(diagnosticwf.SearchStatus)
		if p, _ := sa.GetKeyword(diagnosticwf.SearchPatientID); p != patient.String() {
			t.Errorf("PatientId upserted as %q", p)
		}
		h.mu.Lock()
		h.statuses = append(h.statuses, status)
		h.mu.Unlock()
	}).Return(nil)
	return h
}

// input is an order of tests placed at t0 on ward-3 in the encounter, with
// edit applied to the request, released to the patient an hour after
// verification.
func (h *harness) input(priority diagnostic.Priority, testCodes []string, edit ...func(*diagnostic.Request)) diagnosticwf.Input {
	h.t.Helper()
	req := diagnostic.Request{ID: orderID, PatientID: patient, EncounterID: &encounterID, Tests: testCodes, Priority: priority,
		ClinicalInfo: "lethargy; on furosemide", OrdererID: orderer, CreatedAt: h.start}
	for _, e := range edit {
		e(&req)
	}
	r, err := diagnostic.New(req, tests(h.t))
	if err != nil {
		h.t.Fatal(err)
	}
	delay := time.Hour
	return diagnosticwf.Input{Report: r, Unit: "ward-3", ReleaseDelay: &delay}
}

// renal is a routine renal panel.
func (h *harness) renal() diagnosticwf.Input {
	return h.input(diagnostic.PriorityRoutine, []string{renalPanel})
}

// at runs f at offset d after the workflow starts.
func (h *harness) at(d time.Duration, f func()) { h.env.RegisterDelayedCallback(f, d) }

// outcome is what became of an update.
type outcome struct {
	accepted bool
	rejected error
	failed   error
	state    diagnosticwf.State
}

// send sends an update at offset d; its outcome is known once the workflow
// has run.
func (h *harness) send(d time.Duration, name string, args ...any) *outcome {
	return h.sendWith(d, name, func() []any { return args })
}

// sendWith is send with the arguments made when the update is sent.
func (h *harness) sendWith(d time.Duration, name string, argsOf func() []any) *outcome {
	o := &outcome{}
	h.at(d, func() {
		args := argsOf()
		h.updates++
		h.env.UpdateWorkflow(name, fmt.Sprintf("update-%d", h.updates), &testsuite.TestUpdateCallback{
			OnAccept: func() { o.accepted = true },
			OnReject: func(err error) { o.rejected = err },
			OnComplete: func(v any, err error) {
				o.failed = err
				if err != nil {
					return
				}
				s, ok := v.(diagnosticwf.State)
				if !ok {
					h.t.Errorf("%s returned %T", name, v)
				}
				o.state = s
			},
		}, args...)
	})
	return o
}

// query reads the state at offset d into s.
func (h *harness) query(d time.Duration, s *diagnosticwf.State) {
	h.at(d, func() { *s = h.state() })
}

func (h *harness) state() diagnosticwf.State {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(diagnosticwf.QueryState)
	if err != nil {
		h.t.Fatalf("query state: %v", err)
	}
	var s diagnosticwf.State
	if err := v.Get(&s); err != nil {
		h.t.Fatal(err)
	}
	return s
}

// end stops a run that would go on (a verified report's) at offset d,
// keeping its state then.
func (h *harness) end(d time.Duration) {
	h.at(d, func() {
		h.last = h.state()
		h.env.CancelWorkflow()
	})
}

// run executes the workflow to its end, or to the end the test set, and
// returns its last state.
func (h *harness) run(in diagnosticwf.Input) diagnosticwf.State {
	h.t.Helper()
	h.env.ExecuteWorkflow(diagnosticwf.WorkflowName, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	err := h.env.GetWorkflowError()
	if err != nil && temporal.IsCanceledError(err) && h.last.Version > 0 {
		return h.last
	}
	if err != nil {
		h.t.Fatalf("workflow failed: %v", err)
	}
	var s diagnosticwf.State
	if err := h.env.GetWorkflowResult(&s); err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *harness) raised() []raised {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.alerts)
}

func (h *harness) sent() []signalled {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.signals)
}

func (h *harness) upserted() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.statuses, " ")
}

// kinds names the entries of a timeline.
func kinds(s diagnosticwf.State) string {
	var out []string
	for _, e := range s.Timeline {
		out = append(out, string(e.Kind))
	}
	return strings.Join(out, " ")
}

func accepted(t *testing.T, what string, o *outcome) {
	t.Helper()
	if !o.accepted || o.rejected != nil || o.failed != nil {
		t.Fatalf("%s: accepted %v, rejected %v, failed %v", what, o.accepted, o.rejected, o.failed)
	}
}

// refused checks that the validator refused o as typ.
func refused(t *testing.T, what string, o *outcome, typ string) {
	t.Helper()
	if o.accepted || !refusedAs(o.rejected, typ) {
		t.Errorf("%s: accepted %v, rejected %v; want %s", what, o.accepted, o.rejected, typ)
	}
}

// refusedAs reports whether err is a refusal of the given type.
func refusedAs(err error, typ string) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == typ
}

// decode reads a continue-as-new input.
func decode(t *testing.T, can *workflow.ContinueAsNewError) diagnosticwf.Input {
	t.Helper()
	var next diagnosticwf.Input
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	return next
}

// obsID names an observation by a short name, stably.
func obsID(name string) uuid.UUID {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte("diagnostic-test/"+name))
}

// subject is the patient as the analyser interprets results for: a man of 50.
var subject = observation.Subject{Sex: observation.SexMale, AgeMonths: 50 * 12}

var analyser = observation.Performer{ClientID: "analyser"}

// quantity is an observation of code for the patient, stored at at.
func quantity(t testing.TB, name, code string, value float64, unit string, at time.Time) observation.Observation {
	t.Helper()
	in := observation.Input{PatientID: patient, Code: code, EffectiveAt: at.Add(-10 * time.Minute),
		Value: &observation.ValueInput{Value: &value, Unit: unit}}
	o, err := observation.New(obsID(name), in, subject, analyser, at)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// corrected is the next version of o with another value, stored at at.
func corrected(t testing.TB, o observation.Observation, value float64, unit string, at time.Time) observation.Observation {
	t.Helper()
	in := observation.Input{Value: &observation.ValueInput{Value: &value, Unit: unit}, EffectiveAt: o.EffectiveAt,
		Status: observation.StatusCorrected}
	next, err := observation.Amend(o, in, subject, "analyser recalibrated", analyser, at)
	if err != nil {
		t.Fatal(err)
	}
	return next
}

// firstResults are the renal panel's sodium (normal) and potassium, at the
// value given in mmol/L (6.8 is critical), stored at at; restResults are
// its urea, creatinine and eGFR, all normal.
func firstResults(t testing.TB, at time.Time, potassium float64) []observation.Observation {
	return []observation.Observation{
		quantity(t, "na", observation.CodeSodium, 140, "mmol/L", at),
		quantity(t, "k", observation.CodePotassium, potassium, "mmol/L", at),
	}
}

func restResults(t testing.TB, at time.Time) []observation.Observation {
	return []observation.Observation{
		quantity(t, "urea", observation.CodeUrea, 5.0, "mmol/L", at),
		quantity(t, "creat", observation.CodeCreatinine, 0.9, "mg/dL", at),
		quantity(t, "egfr", observation.CodeEGFR2021, 90, "mL/min/{1.73_m2}", at),
	}
}

// flagged is o with a delta-check flag to review.
func flagged(o observation.Observation) observation.Observation {
	o.DeltaFlags = []observation.DeltaFlag{{Code: observation.DeltaImplausible, Message: "change beyond the delta limit",
		Source: "test"}}
	return o
}

// The steps the tests take, each at an offset after the order.

func (h *harness) collect(d time.Duration, accession string) *outcome {
	return h.send(d, diagnosticwf.UpdateCollect, diagnosticwf.CollectRequest{Collection: diagnostic.Collection{
		Accession: accession, Container: goldTop, CollectedAt: h.start.Add(d), CollectorID: phleb}})
}

func (h *harness) receive(d time.Duration, accession string) *outcome {
	return h.send(d, diagnosticwf.UpdateReceive, diagnosticwf.ReceiveRequest{Accession: accession, By: scientist})
}

func (h *harness) results(d time.Duration, obs func(at time.Time) []observation.Observation) *outcome {
	return h.sendWith(d, diagnosticwf.UpdateRecordResults, func() []any {
		return []any{diagnosticwf.RecordResultsRequest{Observations: obs(h.start.Add(d)), By: scientist}}
	})
}

func (h *harness) verify(d time.Duration) *outcome {
	return h.send(d, diagnosticwf.UpdateVerify, diagnosticwf.VerifyRequest{Verification: diagnostic.Verification{
		By: scientist, Role: diagnostic.RoleLaboratoryScientist, Conclusion: "Renal function within reference limits."}})
}

func (h *harness) cancel(d time.Duration) *outcome {
	return h.send(d, diagnosticwf.UpdateCancel, diagnosticwf.CancelRequest{By: orderer, Reason: "no longer needed"})
}

// resulted collects and receives the tube at 10 and 20 minutes and records
// the results at 40 (sodium and potassium, potassium as given) and 50
// minutes (the rest).
func (h *harness) resulted(potassium float64) {
	h.collect(10*time.Minute, "A1")
	h.receive(20*time.Minute, "A1")
	h.results(40*time.Minute, func(at time.Time) []observation.Observation { return firstResults(h.t, at, potassium) })
	h.results(50*time.Minute, func(at time.Time) []observation.Observation { return restResults(h.t, at) })
}
