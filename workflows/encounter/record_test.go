//go:build record

package encounter_test

// Recording the replay test's history needs a real Temporal server:
//
//	go test -tags record -run TestRecordHistory ./workflows/encounter/
//
// runs an encounter on the embedded dev server (with the real activities
// over an in-memory store) and rewrites testdata/encounter_discharged_local.json.
// Record again only when the workflow changes in a way old histories cannot
// replay, and guard that change with workflow.GetVersion.

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"

	activities "github.com/zarish-sphere/zarish/activities/encounter"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/integrations/temporal/temporaltest"
	encounterwf "github.com/zarish-sphere/zarish/workflows/encounter"
)

// memoryStore is the activities' store, keeping nothing.
type memoryStore struct{}

func (memoryStore) RecordCreated(context.Context, encounter.State) error { return nil }
func (memoryStore) RecordTransition(context.Context, encounter.State, encounter.Entry) error {
	return nil
}

func TestRecordHistory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := temporaltest.Start(ctx, t)

	w := worker.New(c, encounterwf.TaskQueue, worker.Options{})
	encounterwf.Register(w, activities.New(memoryStore{}))
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	in := testInput()
	run, err := encounterwf.Start(ctx, c, in)
	if err != nil {
		t.Fatal(err)
	}
	id := in.EncounterID
	step := func(name string, req any) {
		t.Helper()
		if _, err := encounterwf.Transition(ctx, c, id, name, req); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	step(encounterwf.UpdateArrive, arrive)
	if _, err := encounterwf.Transition(ctx, c, id, encounterwf.UpdateStart, start); err == nil {
		t.Fatal("care started before triage")
	}
	step(encounterwf.UpdateTriage, triage)
	step(encounterwf.UpdateStart, start)
	if err := encounterwf.LinkOrder(ctx, c, id, encounterwf.OrderSignal{OrderID: labOrder, Kind: encounter.OrderDiagnostic}); err != nil {
		t.Fatal(err)
	}
	step(encounterwf.UpdateTransfer, transfer)
	if _, err := encounterwf.Transition(ctx, c, id, encounterwf.UpdateDischarge, discharge); err == nil {
		t.Fatal("discharged with an open order")
	}
	if err := encounterwf.CloseOrder(ctx, c, id, encounterwf.OrderSignal{OrderID: labOrder}); err != nil {
		t.Fatal(err)
	}
	for { // the signal is processed asynchronously
		s, err := encounterwf.GetState(ctx, c, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.OpenOrders()) == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	step(encounterwf.UpdateDischarge, discharge)
	var final encounterwf.State
	if err := run.Get(ctx, &final); err != nil || final.Status != encounter.StatusDischarged {
		t.Fatalf("final %s, %v", final.Status, err)
	}

	temporaltest.SaveHistory(ctx, t, c, run, localHistoryFile)
}
