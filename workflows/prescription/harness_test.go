package prescription_test

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

	activities "github.com/zarish-sphere/zarish/activities/prescription"
	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/allergy"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/medication"
	"github.com/zarish-sphere/zarish/domain/prescription"
	alertwf "github.com/zarish-sphere/zarish/workflows/alert"
	prescriptionwf "github.com/zarish-sphere/zarish/workflows/prescription"
)

var (
	rxID        = uuid.MustParse("0193d000-0000-7000-8000-0000000000d1")
	patient     = uuid.MustParse("0193d000-0000-7000-8000-0000000000aa")
	encounterID = uuid.MustParse("0193d000-0000-7000-8000-0000000000e1")
	prescriber  = uuid.MustParse("0193d000-0000-7000-8000-000000000001")
	pharmacist  = uuid.MustParse("0193d000-0000-7000-8000-000000000002")
	nurse       = uuid.MustParse("0193d000-0000-7000-8000-000000000003")
	// otherRx is another of the patient's open prescriptions.
	otherRx = uuid.MustParse("0193d000-0000-7000-8000-0000000000d2")
)

// activeRx is the prescription behind the patient's n-th active medication.
func activeRx(n int) uuid.UUID {
	id := otherRx
	id[15] = byte(0xa0 + n)
	return id
}

var (
	loadOnce sync.Once
	loadedKB *medication.KB
	loadErr  error
)

// knowledge is the embedded knowledge base, loaded once for the test binary.
func knowledge(t testing.TB) *medication.KB {
	t.Helper()
	loadOnce.Do(func() { loadedKB, loadErr = medication.Embedded() })
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	return loadedKB
}

// The orders the tests place.
var (
	amoxicillin = medication.Order{Name: "amoxicillin", Dose: 500, DoseUnit: "mg", Route: "po", Frequency: "q8h"}
	warfarin    = medication.Order{Name: "warfarin", Dose: 5, DoseUnit: "mg", Route: "po", Frequency: "daily"}
	simvastatin = medication.Order{Name: "simvastatin", Dose: 40, DoseUnit: "mg", Route: "po", Frequency: "nocte"}
	ibuprofen   = medication.Order{Name: "ibuprofen", Dose: 400, DoseUnit: "mg", Route: "po", Frequency: "TDS"}
	clarithro   = medication.Order{Name: "clarithromycin", Dose: 500, DoseUnit: "mg", Route: "po", Frequency: "BD"}
	fluconazole = medication.Order{Name: "fluconazole", Dose: 150, DoseUnit: "mg", Route: "po", Frequency: "daily"}
)

var penicillinAllergy = medication.Allergy{Substance: allergy.Substance{Text: "Penicillin"}, Category: allergy.CategoryMedication,
	Criticality: allergy.CriticalityHigh, Type: allergy.TypeAllergy, ClinicalStatus: allergy.ClinicalActive,
	VerificationStatus: allergy.VerificationConfirmed}

// patientOn is a 50-year-old man with normal renal function taking the
// given medications, each its own prescription (activeRx).
func patientOn(meds ...medication.Order) prescription.Context {
	c := prescription.Context{Patient: medication.Patient{AgeYears: 50, WeightKg: 75, HeightCm: 178, Sex: medication.SexMale,
		CreatinineUmolL: 80}}
	orders := make([]prescription.ActiveOrder, len(meds))
	for i, m := range meds {
		orders[i] = prescription.ActiveOrder{PrescriptionID: activeRx(i), Order: m}
	}
	c.Orders(orders)
	return c
}

// written is one read-model write.
type written struct {
	p     prescription.Prescription
	audit *audit.Record
}

// store is the activities' store: the patient as the test sets them, and
// every write it was asked for.
type store struct {
	mu      sync.Mutex
	context prescription.Context
	readErr error // PatientContext fails with it when set
	reads   int
	open    []uuid.UUID
	written []written
	// refuse, when set, fails the writes it returns an error for.
	refuse func(prescription.Prescription) error
}

func (s *store) Record(_ context.Context, p prescription.Prescription, rec *audit.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse != nil {
		if err := s.refuse(p); err != nil {
			return err
		}
	}
	s.written = append(s.written, written{p: p, audit: rec})
	return nil
}

func (s *store) PatientContext(_ context.Context, patientID, exclude uuid.UUID, _ time.Time) (prescription.Context, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if s.readErr != nil {
		return prescription.Context{}, s.readErr
	}
	if patientID != patient || exclude != rxID {
		return prescription.Context{}, domain.ErrNotFound
	}
	c := s.context
	c.Patient.ActiveMedications = slices.Clone(c.Patient.ActiveMedications)
	c.Patient.Allergies = slices.Clone(c.Patient.Allergies)
	c.Active = slices.Clone(c.Active)
	return c, nil
}

func (s *store) OpenIDs(_ context.Context, patientID, exclude uuid.UUID) ([]uuid.UUID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if patientID != patient || exclude != rxID {
		return nil, fmt.Errorf("open prescriptions of %s but %s asked", patientID, exclude)
	}
	return slices.Clone(s.open), nil
}

// set changes what the store knows of the patient.
func (s *store) set(c prescription.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.context = c
}

func (s *store) writes() []written {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.written)
}

// writtenKinds names the timeline entry each write recorded.
func (s *store) writtenKinds() string {
	var out []string
	for _, w := range s.writes() {
		out = append(out, string(w.p.Last().Kind))
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

// raised is one alert the workflow started, and when.
type raised struct {
	alertwf.Input
	at time.Duration // after the workflow started
}

// signalled is one signal the workflow sent another workflow.
type signalled struct {
	workflowID, name string
	arg              any
}

// harness runs the workflow with its real activities over store, the
// embedded knowledge base and resolver, a stub alert workflow, and mocked
// signals to other workflows, recording what each was asked.
type harness struct {
	t        *testing.T
	env      *testsuite.TestWorkflowEnvironment
	start    time.Time
	store    *store
	resolver *resolver

	mu       sync.Mutex
	alerts   []raised
	signals  []signalled
	statuses []string // PrescriptionStatus as upserted
	updates  int
}

func newHarness(t *testing.T, context prescription.Context) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	h := &harness{t: t, env: suite.NewTestWorkflowEnvironment(), store: &store{context: context}, resolver: &resolver{}}
	h.start = h.env.Now()
	kb, err := medication.NewRegistry(knowledge(t))
	if err != nil {
		t.Fatal(err)
	}
	prescriptionwf.Register(h.env, activities.New(h.store, kb, h.resolver))
	// The alert escalation is another process: a stub stands in for it.
	h.env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in alertwf.Input) (alertwf.State, error) {
		h.mu.Lock()
		h.alerts = append(h.alerts, raised{Input: in, at: workflow.Now(ctx).Sub(h.start)})
		h.mu.Unlock()
		return alertwf.State{Raise: in.Raise, Status: alertwf.StatusOpen}, nil
	}, workflow.RegisterOptions{Name: alertwf.WorkflowName})
	// The encounter and the other prescriptions are other workflows.
	h.env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_, workflowID, _, name string, arg any) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.signals = append(h.signals, signalled{workflowID: workflowID, name: name, arg: arg})
			return nil
		})
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		status, _ := sa.GetKeyword(prescriptionwf.SearchStatus)
		if p, _ := sa.GetKeyword(prescriptionwf.SearchPatientID); p != patient.String() {
			t.Errorf("PatientId upserted as %q", p)
		}
		h.mu.Lock()
		h.statuses = append(h.statuses, status)
		h.mu.Unlock()
	}).Return(nil)
	return h
}

// input is the draft of o, written when the workflow starts, with edit
// applied to its details.
func (h *harness) input(o medication.Order, edit ...func(*prescription.Details)) prescriptionwf.Input {
	h.t.Helper()
	drug, err := knowledge(h.t).Resolve(o.Code, o.Name)
	if err != nil {
		h.t.Fatal(err)
	}
	d := prescription.Details{ID: rxID, PatientID: patient, Unit: "ward-3", Order: o, Drug: drug,
		PrescriberID: prescriber, CreatedAt: h.start}
	for _, e := range edit {
		e(&d)
	}
	p, err := prescription.New(d)
	if err != nil {
		h.t.Fatal(err)
	}
	return prescriptionwf.Input{Prescription: p}
}

// at runs f at offset d after the workflow starts.
func (h *harness) at(d time.Duration, f func()) { h.env.RegisterDelayedCallback(f, d) }

// outcome is what became of an update.
type outcome struct {
	accepted bool
	rejected error
	failed   error
	state    prescriptionwf.State
}

// send sends an update at offset d; its outcome is known once the workflow
// has run.
func (h *harness) send(d time.Duration, name string, args ...any) *outcome {
	return h.sendWith(d, name, func() []any { return args })
}

// sendWith is send with the arguments made when the update is sent, from
// the state then.
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
				s, ok := v.(prescriptionwf.State)
				if !ok {
					h.t.Errorf("%s returned %T", name, v)
				}
				o.state = s
			},
		}, args...)
	})
	return o
}

// recheck signals the workflow at offset d.
func (h *harness) recheck(d time.Duration, r prescriptionwf.Recheck) {
	h.at(d, func() { h.env.SignalWorkflow(prescriptionwf.SignalRecheck, r) })
}

// stop discontinues the prescription at offset d, ending the run.
func (h *harness) stop(d time.Duration) *outcome {
	return h.send(d, prescriptionwf.UpdateDiscontinue, prescriptionwf.DiscontinueRequest{By: prescriber, Reason: "course changed"})
}

// query reads the state at offset d into s.
func (h *harness) query(d time.Duration, s *prescriptionwf.State) {
	h.at(d, func() { *s = h.state() })
}

func (h *harness) state() prescriptionwf.State {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(prescriptionwf.QueryState)
	if err != nil {
		h.t.Fatalf("query state: %v", err)
	}
	var s prescriptionwf.State
	if err := v.Get(&s); err != nil {
		h.t.Fatal(err)
	}
	return s
}

// run executes the workflow to its end and returns its result.
func (h *harness) run(in prescriptionwf.Input) prescriptionwf.State {
	h.t.Helper()
	h.env.ExecuteWorkflow(prescriptionwf.WorkflowName, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow failed: %v", err)
	}
	var s prescriptionwf.State
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
func kinds(s prescriptionwf.State) string {
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

// refusedAs reports whether err is a refusal of the given type.
func refusedAs(err error, typ string) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == typ
}

// decode reads a continue-as-new input.
func decode(t *testing.T, can *workflow.ContinueAsNewError) prescriptionwf.Input {
	t.Helper()
	var next prescriptionwf.Input
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	return next
}

// reasons gives each of the state's standing findings a reason.
func reasons(s prescriptionwf.State) map[string]string {
	out := map[string]string{}
	for _, f := range s.Standing() {
		out[f.ID] = "benefit outweighs the risk, monitored daily"
	}
	return out
}

// override sends, at offset d, an override by who in role with a reason for
// every finding standing then.
func (h *harness) override(d time.Duration, who uuid.UUID, role string, rec *audit.Record) *outcome {
	return h.sendWith(d, prescriptionwf.UpdateOverride, func() []any {
		req := prescriptionwf.OverrideRequest{OverrideRequest: prescription.OverrideRequest{By: who, Role: role, Reasons: reasons(h.state())}}
		req.Audit = rec
		return []any{req}
	})
}
