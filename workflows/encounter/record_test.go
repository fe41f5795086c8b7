//go:build record

package encounter_test

// Recording the replay tests' histories needs a real Temporal server:
//
//	go test -tags record -run TestRecordHistory ./workflows/encounter/
//
// runs encounters on the embedded dev server (with the real activities over
// an in-memory store) and rewrites the files in testdata/ that the current
// workflow version writes. Record again only when the workflow changes in a
// way old histories cannot replay, guard that change with
// workflow.GetVersion, and keep the older files: they replay the runs still
// in flight.

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	activities "github.com/zarish-sphere/zarish/activities/encounter"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/integrations/temporal/temporaltest"
	encounterwf "github.com/zarish-sphere/zarish/workflows/encounter"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// memoryStore is the activities' store, keeping nothing.
type memoryStore struct{}

func (memoryStore) RecordCreated(context.Context, encounter.State) error { return nil }
func (memoryStore) RecordTransition(context.Context, encounter.State, encounter.Entry, *audit.Record) error {
	return nil
}

// recorder drives encounters on a real server and saves their histories.
type recorder struct {
	t   *testing.T
	ctx context.Context
	c   client.Client
}

func (r recorder) step(id encounterwf.Input, req encounterwf.Request) {
	r.t.Helper()
	if _, err := encounterwf.Transition(r.ctx, r.c, id.EncounterID, req); err != nil {
		r.t.Fatalf("%s: %v", req.UpdateName(), err)
	}
}

func (r recorder) start(in encounterwf.Input) client.WorkflowRun {
	r.t.Helper()
	run, err := encounterwf.Start(r.ctx, r.c, in)
	if err != nil {
		r.t.Fatal(err)
	}
	return run
}

// waitFor polls the encounter's state until ok says it is there.
func (r recorder) waitFor(in encounterwf.Input, ok func(encounterwf.State) bool) {
	r.t.Helper()
	for {
		s, err := encounterwf.GetState(r.ctx, r.c, in.EncounterID)
		if err != nil {
			r.t.Fatal(err)
		}
		if ok(s) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRecordHistory(t *testing.T) {
	ctx, stop := context.WithTimeout(context.Background(), 5*time.Minute)
	defer stop()
	c := temporaltest.Start(ctx, t)
	w := worker.New(c, encounterwf.TaskQueue, worker.Options{})
	encounterwf.Register(w, activities.New(memoryStore{}))
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	r := recorder{t: t, ctx: ctx, c: c}

	t.Run("discharged", func(t *testing.T) {
		r.t = t
		in := testInput()
		run := r.start(in)
		arrived := arrive
		arrived.Audit = &audit.Record{Action: audit.ActionUpdate, Status: 200}
		r.step(in, &arrived)
		if _, err := encounterwf.Transition(ctx, c, in.EncounterID, &start); err == nil {
			t.Fatal("care started before triage")
		}
		r.step(in, &triage)
		r.step(in, &start)
		if err := encounterwf.LinkOrder(ctx, c, in.EncounterID, encounterwf.OrderSignal{OrderID: labOrder, Kind: encounter.OrderDiagnostic}); err != nil {
			t.Fatal(err)
		}
		r.step(in, &transfer)
		if _, err := encounterwf.Transition(ctx, c, in.EncounterID, &discharge); err == nil {
			t.Fatal("discharged with an open order")
		}
		if err := encounterwf.CloseOrder(ctx, c, in.EncounterID, encounterwf.OrderSignal{OrderID: labOrder}); err != nil {
			t.Fatal(err)
		}
		r.waitFor(in, func(s encounterwf.State) bool { return len(s.OpenOrders()) == 0 })
		r.step(in, &discharge)
		var final encounterwf.State
		if err := run.Get(ctx, &final); err != nil || final.Status != encounter.StatusDischarged {
			t.Fatalf("final %s, %v", final.Status, err)
		}
		temporaltest.SaveHistory(ctx, t, c, run, atomicHistoryFile)
	})

	// Triage overdue: the alert child starts (no alert worker runs here;
	// its start is what the encounter's history records), then triage and
	// cancel.
	t.Run("triage-overdue", func(t *testing.T) {
		r.t = t
		in := testInput()
		in.EncounterID = encounterID(2)
		in.TriageDeadline = 2 * time.Second
		run := r.start(in)
		r.step(in, &arrive)
		r.waitFor(in, func(s encounterwf.State) bool { return s.HasAlert(encounterwf.CategoryTriageOverdue) })
		r.step(in, &triage)
		r.step(in, &cancel)
		if err := run.Get(ctx, nil); err != nil {
			t.Fatal(err)
		}
		temporaltest.SaveHistory(ctx, t, c, run, triageOverdueHistoryFile)
	})

	// Care past its expected length raises the review alert.
	t.Run("review", func(t *testing.T) {
		r.t = t
		in := testInput()
		in.EncounterID = encounterID(3)
		in.ExpectedLength = 2 * time.Second
		run := r.start(in)
		r.step(in, &arrive)
		r.step(in, &triage)
		r.step(in, &start)
		r.waitFor(in, func(s encounterwf.State) bool { return s.HasAlert(encounterwf.CategoryReview) })
		r.step(in, &discharge)
		if err := run.Get(ctx, nil); err != nil {
			t.Fatal(err)
		}
		temporaltest.SaveHistory(ctx, t, c, run, reviewHistoryFile)
	})

	// Enough order signals to pass process.MaxHistoryEvents: the first run
	// continues as new, carrying the state.
	t.Run("continue-as-new", func(t *testing.T) {
		r.t = t
		in := testInput()
		in.EncounterID = encounterID(4)
		first := r.start(in)
		r.step(in, &arrive)
		for i := 0; ; i++ {
			desc, err := c.DescribeWorkflowExecution(ctx, encounterwf.WorkflowID(in.EncounterID), first.GetRunID())
			if err != nil {
				t.Fatal(err)
			}
			if desc.GetWorkflowExecutionInfo().GetCloseTime() != nil {
				break
			}
			if i > 4*process.MaxHistoryEvents {
				t.Fatal("the run never continued as new")
			}
			order := encounterwf.OrderSignal{OrderID: orderID(i), Kind: encounter.OrderDiagnostic}
			if err := encounterwf.LinkOrder(ctx, c, in.EncounterID, order); err != nil {
				t.Fatal(err)
			}
		}
		r.step(in, &cancel)
		temporaltest.SaveHistory(ctx, t, c, c.GetWorkflow(ctx, encounterwf.WorkflowID(in.EncounterID), first.GetRunID()),
			continuedHistoryFile)
	})
}

func encounterID(n int) (id [16]byte) {
	base := testInput().EncounterID
	copy(id[:], base[:])
	id[15] = byte(n)
	return id
}

func orderID(n int) [16]byte {
	var id [16]byte
	copy(id[:], labOrder[:])
	id[12], id[13], id[14], id[15] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return id
}
