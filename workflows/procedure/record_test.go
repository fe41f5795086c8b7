//go:build record

package procedure_test

// Recording the replay tests' histories needs a real Temporal server:
//
//	go test -tags record -run TestRecordHistory ./workflows/procedure/
//
// runs procedures on the embedded dev server (with the real activities over
// the in-memory store on the wall clock, and a stub encounter workflow) and
// rewrites the files in testdata/ that the current workflow version writes.
// Record again only when the workflow changes in a way old histories cannot
// replay, guard that change with workflow.GetVersion, and keep the older
// files: they replay the runs still in flight.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	activities "github.com/zarish-sphere/zarish/activities/procedure"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/procedure"
	"github.com/zarish-sphere/zarish/integrations/temporal/temporaltest"
	encounterwf "github.com/zarish-sphere/zarish/workflows/encounter"
	procedurewf "github.com/zarish-sphere/zarish/workflows/procedure"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// recorder drives procedures on a real server and saves their histories.
type recorder struct {
	t     *testing.T
	ctx   context.Context
	c     client.Client
	store *store
}

// start stores the procedure as the API does and starts its run, waiting
// for the server to know the search attributes (its namespace cache
// refreshes every few seconds).
func (r recorder) start(in procedurewf.Input) client.WorkflowRun {
	r.t.Helper()
	r.store.create(in.Procedure)
	for {
		run, err := procedurewf.Start(r.ctx, r.c, in)
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

func (r recorder) scheduled(id uuid.UUID) procedurewf.State {
	r.t.Helper()
	s, err := procedurewf.AwaitScheduled(r.ctx, r.c, id)
	if err != nil {
		r.t.Fatalf("scheduled: %v", err)
	}
	return s
}

func (r recorder) step(id uuid.UUID, req procedurewf.Request) procedurewf.State {
	r.t.Helper()
	s, err := procedurewf.Step(r.ctx, r.c, id, req)
	if err != nil {
		r.t.Fatalf("%s: %v", req.UpdateName(), err)
	}
	return s
}

func (r recorder) refused(id uuid.UUID, req procedurewf.Request, typ string) {
	r.t.Helper()
	_, err := procedurewf.Step(r.ctx, r.c, id, req)
	if got := process.ErrorType(err); got != typ {
		r.t.Fatalf("%s: %v (%s), want %s", req.UpdateName(), err, got, typ)
	}
}

// checkPhases ticks every item of the phases.
func (r recorder) checkPhases(id uuid.UUID, phases ...procedure.Phase) {
	r.t.Helper()
	s, err := procedurewf.GetState(r.ctx, r.c, id)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, code := range s.Undone(phases...) {
		r.step(id, &procedurewf.CheckRequest{Code: code, By: nurse})
	}
}

// waitFor polls the procedure's state until ok says it is there.
func (r recorder) waitFor(id uuid.UUID, ok func(procedurewf.State) bool) procedurewf.State {
	r.t.Helper()
	for {
		s, err := procedurewf.GetState(r.ctx, r.c, id)
		if err != nil {
			r.t.Fatal(err)
		}
		if ok(s) {
			return s
		}
		select {
		case <-r.ctx.Done():
			r.t.Fatalf("state stayed %s: %s", s.Status, kinds(s))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ended waits for the run to end and checks its status.
func (r recorder) ended(run client.WorkflowRun, want procedure.Status) {
	r.t.Helper()
	var final procedurewf.State
	if err := run.Get(r.ctx, &final); err != nil || final.Status != want {
		r.t.Fatalf("final %s, %v; want %s", final.Status, err, want)
	}
}

// recordedID is the id of the n-th recorded procedure.
func recordedID(n byte) uuid.UUID {
	id := procID
	id[15] = 0xb0 + n
	return id
}

// requested is the endoscopy of the patient requested now, to be done in
// window.
func requested(t *testing.T, id, patientID uuid.UUID, priority procedure.Priority, encounter *uuid.UUID,
	window procedure.Period) procedure.Procedure {
	t.Helper()
	req := request(id, now())
	req.PatientID, req.Priority, req.EncounterID, req.Window = patientID, priority, encounter, window
	p, err := procedure.NewProcedure(req, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// now is the wall clock, as the API writes it.
func now() time.Time { return time.Now().UTC() }

// week is the seven days from now.
func week() procedure.Period { return procedure.Period{From: now(), To: now().Add(7 * 24 * time.Hour)} }

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
	// The dev server registers ProcedureStatus and PatientId with the other
	// processes' attributes (integrations/temporal/devserver.go).
	c := temporaltest.Start(ctx, t)
	st := newStore(t, time.Now)
	w := worker.New(c, procedurewf.TaskQueue, worker.Options{})
	procedurewf.Register(w, activities.New(st))
	ew := worker.New(c, encounterwf.TaskQueue, worker.Options{})
	ew.RegisterWorkflowWithOptions(stubEncounter, workflow.RegisterOptions{Name: encounterwf.WorkflowName})
	for _, wk := range []worker.Worker{w, ew} {
		if err := wk.Start(); err != nil {
			t.Fatal(err)
		}
		defer wk.Stop()
	}
	r := recorder{t: t, ctx: ctx, c: c, store: st}

	t.Run("completed", func(t *testing.T) {
		r.t = t
		id := recordedID(1)
		enc, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: encounterwf.WorkflowID(encounterID),
			TaskQueue: encounterwf.TaskQueue}, encounterwf.WorkflowName)
		if err != nil {
			t.Fatal(err)
		}
		run := r.start(procedurewf.Input{Procedure: requested(t, id, patient, procedure.PriorityElective, &encounterID, week()),
			Unit: "endoscopy"})
		if s := r.scheduled(id); s.Status != procedure.StatusHeld {
			t.Fatalf("scheduled: %s", s.Status)
		}
		r.step(id, &procedurewf.BookRequest{By: clerk})
		r.refused(id, &procedurewf.BookRequest{By: clerk}, procedurewf.RefusedInvalidTransition)
		r.checkPhases(id, procedure.PhasePreProcedure)
		r.step(id, &procedurewf.CheckInRequest{By: clerk})
		r.checkPhases(id, procedure.PhaseSignIn)
		r.refused(id, &procedurewf.StartRequest{By: endoscopist}, procedurewf.RefusedChecklistIncomplete)
		r.checkPhases(id, procedure.PhaseTimeOut)
		r.step(id, &procedurewf.StartRequest{By: endoscopist})
		r.checkPhases(id, procedure.PhaseSignOut)
		time.Sleep(10 * time.Millisecond) // the case lasts
		rec := &audit.Record{ID: uuid.MustParse("0193f200-0000-7000-8000-0000000000f9"), Action: audit.ActionUpdate, Status: 200}
		r.step(id, &procedurewf.CompleteRequest{Completion: procedure.Completion{Outcome: procedure.OutcomeSuccessful,
			EndedAt: now(), Team: []uuid.UUID{endoscopist, nurse}, By: endoscopist}, Audited: process.Audited{Audit: rec}})
		r.ended(run, procedure.StatusCompleted)
		if err := enc.Get(ctx, nil); err != nil {
			t.Fatalf("the encounter did not hear of the end: %v", err)
		}
		if a := st.allocations(id); len(a) != 0 {
			t.Fatalf("the completed procedure holds %d allocations", len(a))
		}
		temporaltest.SaveHistory(ctx, t, c, run, completedHistoryFile)
	})

	t.Run("bumped", func(t *testing.T) {
		r.t = t
		id, eid := recordedID(2), recordedID(3)
		const holdFor = 3 * time.Second
		run := r.start(procedurewf.Input{Procedure: requested(t, id, patient, procedure.PriorityElective, nil, week()),
			Unit: "endoscopy", HoldFor: holdFor})
		if s := r.scheduled(id); s.Status != procedure.StatusHeld {
			t.Fatalf("scheduled: %s", s.Status)
		}
		r.waitFor(id, func(s procedurewf.State) bool { return s.Status == procedure.StatusUnscheduled })
		r.refused(id, &procedurewf.BookRequest{By: clerk}, procedurewf.RefusedInvalidTransition)
		if s := r.step(id, &procedurewf.RescheduleRequest{Window: week(), Reason: "the hold lapsed", By: requester}); s.Status != procedure.StatusHeld {
			t.Fatalf("searched again: %s", s.Status)
		}
		s := r.step(id, &procedurewf.BookRequest{By: clerk})
		moved := r.step(id, &procedurewf.RescheduleRequest{Window: procedure.Period{From: s.Slot.To.Add(2 * time.Hour),
			To: now().Add(7 * 24 * time.Hour)}, Reason: "endoscopist in theatre", By: requester})
		if moved.Status != procedure.StatusBooked || moved.Reschedules != 1 {
			t.Fatalf("rescheduled: %s", moved.Status)
		}
		evening := now().Truncate(24 * time.Hour).Add(2*24*time.Hour + 20*time.Hour)
		r.refused(id, &procedurewf.RescheduleRequest{Window: procedure.Period{From: evening, To: evening.Add(3 * time.Hour)},
			Reason: "after work", By: requester}, procedurewf.RefusedNoSlot)

		// An emergency of another patient needs exactly the slot moved to.
		erun := r.start(procedurewf.Input{Procedure: requested(t, eid, other, procedure.PriorityEmergency, nil, moved.Slot.Period),
			Unit: "endoscopy", AutoBook: true})
		r.scheduled(eid)
		e := r.waitFor(eid, func(s procedurewf.State) bool { return s.Status == procedure.StatusBooked })
		b := r.waitFor(id, func(s procedurewf.State) bool { return s.Status == procedure.StatusBooked && s.Bumped > 0 })
		if !e.Slot.From.Equal(moved.Slot.From) || b.Bumped != 1 || !b.Slot.From.After(moved.Slot.From) {
			t.Fatalf("the emergency has %v, the case %v after %d bumps", e.Slot.From, b.Slot.From, b.Bumped)
		}
		r.step(id, &procedurewf.CancelRequest{Reason: "patient declined", By: requester})
		r.step(eid, &procedurewf.CancelRequest{Reason: "managed conservatively", By: requester})
		r.ended(run, procedure.StatusCancelled)
		r.ended(erun, procedure.StatusCancelled)
		temporaltest.SaveHistory(ctx, t, c, run, bumpedHistoryFile)
		temporaltest.SaveHistory(ctx, t, c, erun, emergencyHistoryFile)
	})
}
