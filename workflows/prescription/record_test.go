//go:build record

package prescription_test

// Recording the replay tests' histories needs a real Temporal server:
//
//	go test -tags record -run TestRecordHistory ./workflows/prescription/
//
// runs prescriptions on the embedded dev server (with the real activities
// over an in-memory store, the embedded knowledge base, and stub alert and
// encounter workflows) and rewrites the files in testdata/ that the current
// workflow version writes. Record again only when the workflow changes in a
// way old histories cannot replay, guard that change with
// workflow.GetVersion, and keep the older files: they replay the runs still
// in flight.

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	activities "github.com/zarish-sphere/zarish/activities/prescription"
	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/medication"
	"github.com/zarish-sphere/zarish/domain/prescription"
	"github.com/zarish-sphere/zarish/integrations/temporal/temporaltest"
	alertwf "github.com/zarish-sphere/zarish/workflows/alert"
	encounterwf "github.com/zarish-sphere/zarish/workflows/encounter"
	prescriptionwf "github.com/zarish-sphere/zarish/workflows/prescription"
)

// recordStore is the activities' store for the recordings: the patient as
// each prescription's checks see them, and the patient's other open
// prescriptions; it keeps no writes.
type recordStore struct {
	mu       sync.Mutex
	contexts map[uuid.UUID]prescription.Context // by the prescription checked
	open     map[uuid.UUID][]uuid.UUID
	readErr  error
	reads    int
}

func (s *recordStore) Record(context.Context, prescription.Prescription, *audit.Record) error {
	return nil
}

func (s *recordStore) PatientContext(_ context.Context, _, exclude uuid.UUID, _ time.Time) (prescription.Context, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if s.readErr != nil {
		return prescription.Context{}, s.readErr
	}
	c, ok := s.contexts[exclude]
	if !ok {
		return prescription.Context{}, domain.ErrNotFound
	}
	return c, nil
}

func (s *recordStore) OpenIDs(_ context.Context, _, exclude uuid.UUID) ([]uuid.UUID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open[exclude], nil
}

func (s *recordStore) readCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

func (s *recordStore) set(id uuid.UUID, c prescription.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.contexts[id] = c
}

// recorder drives prescriptions on a real server and saves their histories.
type recorder struct {
	t      *testing.T
	ctx    context.Context
	c      client.Client
	alerts chan alertwf.Input
}

func (r recorder) start(in prescriptionwf.Input) client.WorkflowRun {
	r.t.Helper()
	run, err := prescriptionwf.Start(r.ctx, r.c, in)
	if err != nil {
		r.t.Fatal(err)
	}
	return run
}

func (r recorder) checked(id uuid.UUID, want prescription.Status) prescriptionwf.State {
	r.t.Helper()
	s, err := prescriptionwf.AwaitChecked(r.ctx, r.c, id)
	if err != nil || s.Status != want {
		r.t.Fatalf("checked: %s, %v; want %s", s.Status, err, want)
	}
	return s
}

func (r recorder) step(id uuid.UUID, req prescriptionwf.Request) prescriptionwf.State {
	r.t.Helper()
	s, err := prescriptionwf.Step(r.ctx, r.c, id, req)
	if err != nil {
		r.t.Fatalf("%s: %v", req.UpdateName(), err)
	}
	return s
}

func (r recorder) refused(id uuid.UUID, req prescriptionwf.Request, typ string) {
	r.t.Helper()
	_, err := prescriptionwf.Step(r.ctx, r.c, id, req)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != typ {
		r.t.Fatalf("%s: %v, want %s", req.UpdateName(), err, typ)
	}
}

// waitFor polls the prescription's state until ok says it is there.
func (r recorder) waitFor(id uuid.UUID, ok func(prescriptionwf.State) bool) {
	r.t.Helper()
	for {
		s, err := prescriptionwf.GetState(r.ctx, r.c, id)
		if err != nil {
			r.t.Fatal(err)
		}
		if ok(s) {
			return
		}
		select {
		case <-r.ctx.Done():
			r.t.Fatalf("state stayed %s", s.Status)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// alerted waits for the stub alert workflow to run an alert of category.
func (r recorder) alerted(category string) {
	r.t.Helper()
	select {
	case in := <-r.alerts:
		if in.Category != category {
			r.t.Fatalf("alert %s, want %s", in.Category, category)
		}
	case <-r.ctx.Done():
		r.t.Fatalf("no %s alert", category)
	}
}

// recordedID is the id of the n-th recorded prescription.
func recordedID(n byte) uuid.UUID {
	id := rxID
	id[15] = 0xb0 + n
	return id
}

// draft is o as written now, for prescription id.
func draft(t *testing.T, id uuid.UUID, o medication.Order, edit func(*prescription.Details)) prescriptionwf.Input {
	t.Helper()
	drug, err := knowledge(t).Resolve(o.Code, o.Name)
	if err != nil {
		t.Fatal(err)
	}
	d := prescription.Details{ID: id, PatientID: patient, Unit: "ward-3", Order: o, Drug: drug, PrescriberID: prescriber,
		CreatedAt: time.Now().UTC()}
	if edit != nil {
		edit(&d)
	}
	p, err := prescription.New(d)
	if err != nil {
		t.Fatal(err)
	}
	return prescriptionwf.Input{Prescription: p}
}

// stubEncounter stands in for the encounter: it takes the order signals
// and ends when the order closes.
func stubEncounter(ctx workflow.Context) error {
	linked := workflow.GetSignalChannel(ctx, encounterwf.SignalOrderLinked)
	closed := workflow.GetSignalChannel(ctx, encounterwf.SignalOrderClosed)
	for done := false; !done; {
		var o encounterwf.OrderSignal
		workflow.NewSelector(ctx).
			AddReceive(linked, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &o) }).
			AddReceive(closed, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &o); done = true }).
			Select(ctx)
	}
	return nil
}

func TestRecordHistory(t *testing.T) {
	ctx, stop := context.WithTimeout(context.Background(), 5*time.Minute)
	defer stop()
	c := temporaltest.Start(ctx, t)

	kb, err := medication.NewRegistry(knowledge(t))
	if err != nil {
		t.Fatal(err)
	}
	store := &recordStore{contexts: map[uuid.UUID]prescription.Context{}, open: map[uuid.UUID][]uuid.UUID{}}
	resolved := &resolver{}
	w := worker.New(c, prescriptionwf.TaskQueue, worker.Options{})
	prescriptionwf.Register(w, activities.New(store, kb, resolved))
	alerts := make(chan alertwf.Input, 10)
	aw := worker.New(c, alertwf.TaskQueue, worker.Options{})
	aw.RegisterWorkflowWithOptions(func(_ workflow.Context, in alertwf.Input) (alertwf.State, error) {
		alerts <- in
		return alertwf.State{Raise: in.Raise, Status: alertwf.StatusOpen}, nil
	}, workflow.RegisterOptions{Name: alertwf.WorkflowName})
	ew := worker.New(c, encounterwf.TaskQueue, worker.Options{})
	ew.RegisterWorkflowWithOptions(stubEncounter, workflow.RegisterOptions{Name: encounterwf.WorkflowName})
	for _, wk := range []worker.Worker{w, aw, ew} {
		if err := wk.Start(); err != nil {
			t.Fatal(err)
		}
		defer wk.Stop()
	}
	r := recorder{t: t, ctx: ctx, c: c, alerts: alerts}

	t.Run("overridden", func(t *testing.T) {
		r.t = t
		id := recordedID(1)
		store.set(id, patientOn(ibuprofen))
		if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: encounterwf.WorkflowID(encounterID),
			TaskQueue: encounterwf.TaskQueue}, encounterwf.WorkflowName); err != nil {
			t.Fatal(err)
		}
		in := draft(t, id, warfarin, func(d *prescription.Details) {
			d.EncounterID = &encounterID
			d.Quantity = prescription.Quantity{Value: 28, Unit: "tablet"}
		})
		run := r.start(in)
		held := r.checked(id, prescription.StatusOnHold)
		r.refused(id, &prescriptionwf.OverrideRequest{OverrideRequest: prescription.OverrideRequest{By: prescriber,
			Role: prescription.RolePrescriber}}, prescriptionwf.RefusedInvalidArgument)
		override := &prescriptionwf.OverrideRequest{OverrideRequest: prescription.OverrideRequest{By: prescriber,
			Role: prescription.RolePrescriber, Reasons: reasons(held)}}
		override.Audit = &audit.Record{ID: uuid.MustParse("0193d000-0000-7000-8000-0000000000f1"), Action: audit.ActionUpdate, Status: 200}
		r.step(id, override)
		if s := r.step(id, &prescriptionwf.VerifyRequest{By: pharmacist}); s.VerifiedBy == nil {
			t.Fatalf("not verified: %s", s.Status)
		}
		r.step(id, &prescriptionwf.DispenseRequest{By: pharmacist, Quantity: prescription.Quantity{Value: 14, Unit: "tablet"}})
		r.step(id, &prescriptionwf.AdministerRequest{Administration: prescription.Administration{
			Dose: prescription.Quantity{Value: 5, Unit: "mg"}, At: time.Now().UTC(), By: nurse}})
		r.step(id, &prescriptionwf.DiscontinueRequest{By: prescriber, Reason: "INR above range"})
		var final prescriptionwf.State
		if err := run.Get(ctx, &final); err != nil || final.Status != prescription.StatusStopped {
			t.Fatalf("final %s, %v", final.Status, err)
		}
		temporaltest.SaveHistory(ctx, t, c, run, overriddenHistoryFile)
	})

	t.Run("rechecked", func(t *testing.T) {
		r.t = t
		id := recordedID(2)
		store.set(id, patientOn())
		in := draft(t, id, amoxicillin, nil)
		in.DoseGrace, in.HoldTimeout = time.Second, 2*time.Second
		run := r.start(in)
		r.checked(id, prescription.StatusActive)
		r.step(id, &prescriptionwf.VerifyRequest{By: pharmacist})
		r.alerted(prescriptionwf.CategoryDoseDue)
		r.step(id, &prescriptionwf.AdministerRequest{Administration: prescription.Administration{
			Dose: prescription.Quantity{Value: 500, Unit: "mg"}, At: time.Now().UTC(), By: nurse}})
		// A recheck that finds nothing new records nothing.
		reads := store.readCount()
		if err := prescriptionwf.AskRecheck(ctx, c, id, prescriptionwf.Recheck{Reason: prescription.ReasonNewMedication}); err != nil {
			t.Fatal(err)
		}
		r.waitFor(id, func(prescriptionwf.State) bool { return store.readCount() > reads })
		allergic := patientOn()
		allergic.Patient.Allergies = []medication.Allergy{penicillinAllergy}
		store.set(id, allergic)
		if err := prescriptionwf.AskRecheck(ctx, c, id, prescriptionwf.Recheck{Reason: prescription.ReasonNewAllergy, Cause: "allergy/1"}); err != nil {
			t.Fatal(err)
		}
		r.alerted(prescriptionwf.CategoryFinding)
		r.alerted(prescriptionwf.CategoryHold)
		r.step(id, &prescriptionwf.DiscontinueRequest{By: prescriber, Reason: "penicillin allergy"})
		var final prescriptionwf.State
		if err := run.Get(ctx, &final); err != nil || final.Status != prescription.StatusStopped {
			t.Fatalf("final %s, %v", final.Status, err)
		}
		temporaltest.SaveHistory(ctx, t, c, run, recheckedHistoryFile)
	})

	t.Run("completed", func(t *testing.T) {
		r.t = t
		id := recordedID(3)
		store.set(id, patientOn())
		store.mu.Lock()
		store.open[id] = []uuid.UUID{recordedID(1)} // closed: its signal fails
		store.readErr = errors.New("connection refused")
		store.mu.Unlock()
		in := draft(t, id, amoxicillin, func(d *prescription.Details) { d.Order.DurationDays = 0.0001 }) // 8.64 s
		in.HoldTimeout = 2 * time.Second
		run := r.start(in)
		s := r.checked(id, prescription.StatusOnHold)
		if len(s.Findings) != 1 || s.Findings[0].Rule != prescriptionwf.RuleChecksFailed {
			t.Fatalf("findings %+v", s.Findings)
		}
		r.alerted(prescriptionwf.CategoryHold)
		store.mu.Lock()
		store.readErr = nil
		store.mu.Unlock()
		if err := prescriptionwf.AskRecheck(ctx, c, id, prescriptionwf.Recheck{Reason: "recheck"}); err != nil {
			t.Fatal(err)
		}
		var final prescriptionwf.State
		if err := run.Get(ctx, &final); err != nil || final.Status != prescription.StatusCompleted {
			t.Fatalf("final %s, %v", final.Status, err)
		}
		temporaltest.SaveHistory(ctx, t, c, run, completedHistoryFile)
	})

	t.Run("recheck by an older order", func(t *testing.T) {
		r.t = t
		id, older := recordedID(5), recordedID(4) // older was created first
		onWarfarin := patientOn(warfarin)
		onWarfarin.Active[0] = older
		store.set(id, onWarfarin)
		run := r.start(draft(t, id, ibuprofen, nil))
		held := r.checked(id, prescription.StatusOnHold)
		reads := store.readCount()
		if err := prescriptionwf.AskRecheck(ctx, c, id, prescriptionwf.Recheck{Reason: prescription.ReasonNewMedication,
			Cause: prescriptionwf.WorkflowID(older)}); err != nil {
			t.Fatal(err)
		}
		r.waitFor(id, func(prescriptionwf.State) bool { return store.readCount() > reads })
		// The override waits for the recheck; the hold it lifts is the
		// one the recheck left standing.
		s := r.step(id, &prescriptionwf.OverrideRequest{OverrideRequest: prescription.OverrideRequest{By: prescriber,
			Role: prescription.RolePrescriber, Reasons: reasons(held)}})
		if s.Status != prescription.StatusActive || kinds(s) != "created held overridden" {
			t.Fatalf("overridden: %s, %s", s.Status, kinds(s))
		}
		r.step(id, &prescriptionwf.DiscontinueRequest{By: prescriber, Reason: "course changed"})
		var final prescriptionwf.State
		if err := run.Get(ctx, &final); err != nil || final.Status != prescription.StatusStopped {
			t.Fatalf("final %s, %v", final.Status, err)
		}
		temporaltest.SaveHistory(ctx, t, c, run, recheckOlderHistoryFile)
	})

	if got := len(resolved.resolved()); got != 3 { // the dose reminder and both hold alerts
		t.Fatalf("resolved %d alerts", got)
	}
}
