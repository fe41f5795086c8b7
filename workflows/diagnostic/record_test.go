//go:build record

package diagnostic_test

// Recording the replay tests' histories needs a real Temporal server:
//
//	go test -tags record -run TestRecordHistory ./workflows/diagnostic/
//
// runs reports on the embedded dev server (with the real activities over an
// in-memory store, and stub alert and encounter workflows) and rewrites the
// files in testdata/ that the current workflow version writes. Record again
// only when the workflow changes in a way old histories cannot replay, guard
// that change with workflow.GetVersion, and keep the older files: they
// replay the runs still in flight.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	activities "github.com/zarish-sphere/zarish/activities/diagnostic"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/integrations/temporal/temporaltest"
	alertwf "github.com/zarish-sphere/zarish/workflows/alert"
	diagnosticwf "github.com/zarish-sphere/zarish/workflows/diagnostic"
	encounterwf "github.com/zarish-sphere/zarish/workflows/encounter"
)

// recordStore is the activities' store for the recordings; it keeps no writes.
type recordStore struct{}

func (recordStore) Record(context.Context, diagnostic.Report, *audit.Record) error { return nil }

// recorder drives reports on a real server and saves their histories.
type recorder struct {
	t      *testing.T
	ctx    context.Context
	c      client.Client
	alerts chan alertwf.Input
}

// start starts the report, waiting for the server to know the
// DiagnosticStatus attribute added as the test began (its namespace cache
// refreshes every few seconds).
func (r recorder) start(in diagnosticwf.Input) client.WorkflowRun {
	r.t.Helper()
	for {
		run, err := diagnosticwf.Start(r.ctx, r.c, in)
		var unknown *serviceerror.InvalidArgument
		switch {
		case err == nil:
			return run
		case !errors.As(err, &unknown):
			r.t.Fatal(err)
		}
		select {
		case <-r.ctx.Done():
			r.t.Fatal(err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (r recorder) step(id uuid.UUID, req diagnosticwf.Request) diagnosticwf.State {
	r.t.Helper()
	s, err := diagnosticwf.Step(r.ctx, r.c, id, req)
	if err != nil {
		r.t.Fatalf("%s: %v", req.UpdateName(), err)
	}
	return s
}

func (r recorder) refused(id uuid.UUID, req diagnosticwf.Request, typ string) {
	r.t.Helper()
	_, err := diagnosticwf.Step(r.ctx, r.c, id, req)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != typ {
		r.t.Fatalf("%s: %v, want %s", req.UpdateName(), err, typ)
	}
}

// waitFor polls the report's state until ok says it is there.
func (r recorder) waitFor(id uuid.UUID, ok func(diagnosticwf.State) bool) diagnosticwf.State {
	r.t.Helper()
	for {
		s, err := diagnosticwf.GetState(r.ctx, r.c, id)
		if err != nil {
			r.t.Fatal(err)
		}
		if ok(s) {
			return s
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

// ended waits for the run to end and checks its status.
func (r recorder) ended(run client.WorkflowRun, want diagnostic.Status) {
	r.t.Helper()
	var final diagnosticwf.State
	if err := run.Get(r.ctx, &final); err != nil || final.Status != want {
		r.t.Fatalf("final %s, %v; want %s", final.Status, err, want)
	}
}

// recordedID is the id of the n-th recorded order.
func recordedID(n byte) uuid.UUID {
	id := orderID
	id[15] = 0xb0 + n
	return id
}

// ordered is an order of tests placed at createdAt, for order id.
func ordered(t *testing.T, id uuid.UUID, priority diagnostic.Priority, encounter *uuid.UUID, createdAt time.Time) diagnosticwf.Input {
	t.Helper()
	r, err := diagnostic.New(diagnostic.Request{ID: id, PatientID: patient, EncounterID: encounter, Tests: []string{renalPanel},
		Priority: priority, OrdererID: orderer, CreatedAt: createdAt}, tests(t))
	if err != nil {
		t.Fatal(err)
	}
	delay := 2 * time.Second
	return diagnosticwf.Input{Report: r, Unit: "ward-3", ReleaseDelay: &delay}
}

// now is the wall clock, as the API writes it.
func now() time.Time { return time.Now().UTC() }

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

// potassium is the potassium the tests call about, stored now.
func potassium(t *testing.T, value float64) observation.Observation {
	return quantity(t, "k", observation.CodePotassium, value, "mmol/L", now())
}

func TestRecordHistory(t *testing.T) {
	ctx, stop := context.WithTimeout(context.Background(), 5*time.Minute)
	defer stop()
	c := temporaltest.Start(ctx, t)
	// The dev server registers the attributes of the processes before this
	// one; the report's status is added here.
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: "default",
		SearchAttributes: map[string]enumspb.IndexedValueType{diagnosticwf.SearchStatus.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD}}); err != nil {
		t.Fatal(err)
	}

	resolved := &resolver{}
	w := worker.New(c, diagnosticwf.TaskQueue, worker.Options{})
	diagnosticwf.Register(w, activities.New(recordStore{}, resolved, &openAlerts{}))
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

	t.Run("final", func(t *testing.T) {
		r.t = t
		id := recordedID(1)
		if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: encounterwf.WorkflowID(encounterID),
			TaskQueue: encounterwf.TaskQueue}, encounterwf.WorkflowName); err != nil {
			t.Fatal(err)
		}
		run := r.start(ordered(t, id, diagnostic.PriorityRoutine, &encounterID, now()))
		r.step(id, &diagnosticwf.CollectRequest{Collection: diagnostic.Collection{Accession: "R1", Container: goldTop,
			CollectedAt: now(), CollectorID: phleb}})
		r.step(id, &diagnosticwf.ReceiveRequest{Accession: "R1", By: scientist})
		if s := r.step(id, &diagnosticwf.RecordResultsRequest{Observations: firstResults(t, now(), 4.2), By: scientist}); s.Status != diagnostic.StatusPartial {
			t.Fatalf("after the first results: %s", s.Status)
		}
		verify := &diagnosticwf.VerifyRequest{Verification: diagnostic.Verification{By: scientist, Role: diagnostic.RoleLaboratoryScientist,
			Conclusion: "Within reference limits."}}
		r.refused(id, verify, diagnosticwf.RefusedInvalidTransition)
		rest := restResults(t, now())
		rest[1] = flagged(rest[1])
		s := r.step(id, &diagnosticwf.RecordResultsRequest{Observations: rest, By: scientist})
		r.refused(id, verify, diagnosticwf.RefusedUnreviewedFlags)
		r.step(id, &diagnosticwf.ReviewFlagRequest{FlagID: s.Flags[0].ID, By: scientist, Note: "rerun: confirmed"})
		verify.Audit = &audit.Record{ID: uuid.MustParse("0193f100-0000-7000-8000-0000000000f1"), Action: audit.ActionUpdate, Status: 200}
		if s := r.step(id, verify); s.Status != diagnostic.StatusFinal || len(s.Recipients) != 1 {
			t.Fatalf("verified: %s, recipients %+v", s.Status, s.Recipients)
		}
		r.waitFor(id, func(s diagnosticwf.State) bool { return s.Released() })
		r.step(id, &diagnosticwf.OpenRequest{Who: clinician, Role: diagnostic.ReaderClinician})
		r.step(id, &diagnosticwf.OpenRequest{Who: patient, Role: diagnostic.ReaderPatient})
		if s := r.step(id, &diagnosticwf.CorrectRequest{Correction: diagnostic.Correction{By: scientist, Reason: "units transcribed wrongly",
			Results: []observation.Observation{corrected(t, rest[1], 1.4, "mg/dL", now())}}}); s.Status != diagnostic.StatusCorrected {
			t.Fatalf("corrected: %s", s.Status)
		}
		r.step(id, &diagnosticwf.AmendRequest{Amendment: diagnostic.Amendment{By: scientist, Reason: "ward informed",
			Addendum: "Discussed with the ward."}})
		r.step(id, &diagnosticwf.WithdrawRequest{By: scientist, Reason: "wrong patient"})
		r.ended(run, diagnostic.StatusEnteredInError)
		temporaltest.SaveHistory(ctx, t, c, run, finalHistoryFile)
	})

	t.Run("critical", func(t *testing.T) {
		r.t = t
		id := recordedID(2)
		// Placed nearly fifteen minutes ago: its STAT collection target
		// falls due in two seconds.
		run := r.start(ordered(t, id, diagnostic.PriorityStat, nil, now().Add(-15*time.Minute+2*time.Second)))
		r.alerted(diagnosticwf.CategoryOverdue)
		r.step(id, &diagnosticwf.CollectRequest{Collection: diagnostic.Collection{Accession: "S1", Container: goldTop,
			CollectedAt: now(), CollectorID: phleb}})
		r.step(id, &diagnosticwf.ReceiveRequest{Accession: "S1", By: scientist})
		k := potassium(t, 6.8)
		r.step(id, &diagnosticwf.RecordResultsRequest{Observations: []observation.Observation{k}, By: scientist})
		r.alerted(diagnosticwf.CategoryCriticalResult)
		r.step(id, &diagnosticwf.CallbackAttemptRequest{ObservationID: k.ID, Attempt: diagnostic.Attempt{To: orderer, By: caller}})
		r.step(id, &diagnosticwf.CallbackAttemptRequest{ObservationID: k.ID, Attempt: diagnostic.Attempt{To: clinician, By: caller, Reached: true}})
		r.refused(id, &diagnosticwf.CallbackConfirmRequest{ObservationID: k.ID, ReadBack: diagnostic.ReadBack{Receiver: clinician,
			Entered: "8.6"}, By: caller}, diagnosticwf.RefusedReadBackMismatch)
		r.step(id, &diagnosticwf.CallbackConfirmRequest{ObservationID: k.ID, ReadBack: diagnostic.ReadBack{Receiver: clinician,
			Entered: "6.8 mmol/L"}, By: caller})
		r.step(id, &diagnosticwf.RecordResultsRequest{Observations: append(firstResults(t, now(), 6.8)[:1], restResults(t, now())...),
			By: scientist})
		r.step(id, &diagnosticwf.VerifyRequest{Verification: diagnostic.Verification{By: scientist, Role: diagnostic.RolePathologist}})
		r.step(id, &diagnosticwf.WithdrawRequest{By: scientist, Reason: "sample of another patient"})
		r.ended(run, diagnostic.StatusEnteredInError)
		temporaltest.SaveHistory(ctx, t, c, run, criticalHistoryFile)
	})

	t.Run("rejected", func(t *testing.T) {
		r.t = t
		id := recordedID(3)
		run := r.start(ordered(t, id, diagnostic.PriorityRoutine, nil, now()))
		r.step(id, &diagnosticwf.CollectRequest{Collection: diagnostic.Collection{Accession: "J1", Container: goldTop,
			CollectedAt: now(), CollectorID: phleb}})
		r.step(id, &diagnosticwf.ReceiveRequest{Accession: "J1", By: scientist})
		r.step(id, &diagnosticwf.RejectRequest{Accession: "J1", Reason: diagnostic.RejectHaemolysed, By: scientist})
		r.refused(id, &diagnosticwf.ReceiveRequest{Accession: "J1", By: scientist}, diagnosticwf.RefusedInvalidTransition)
		r.step(id, &diagnosticwf.CollectRequest{Collection: diagnostic.Collection{Accession: "J2", Container: goldTop,
			CollectedAt: now(), CollectorID: phleb}})
		r.step(id, &diagnosticwf.ReceiveRequest{Accession: "J2", By: scientist})
		k := potassium(t, 6.8)
		r.step(id, &diagnosticwf.RecordResultsRequest{Observations: []observation.Observation{k}, By: scientist})
		r.alerted(diagnosticwf.CategoryCriticalResult)
		r.step(id, &diagnosticwf.CallbackAttemptRequest{ObservationID: k.ID, Attempt: diagnostic.Attempt{To: orderer, By: caller}})
		r.step(id, &diagnosticwf.CallbackCloseRequest{ObservationID: k.ID, Outcome: diagnostic.OutcomeUnableToReach, By: caller,
			Note: "escalated to the on-call registrar"})
		r.step(id, &diagnosticwf.CancelRequest{By: orderer, Reason: "patient transferred"})
		r.ended(run, diagnostic.StatusCancelled)
		temporaltest.SaveHistory(ctx, t, c, run, rejectedHistoryFile)
	})

	// The overdue collection and both critical results.
	if got := len(resolved.resolved()); got != 3 {
		t.Fatalf("resolved %d alerts", got)
	}
}
