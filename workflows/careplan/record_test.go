//go:build record

package careplan_test

// Recording the replay test's history needs a real Temporal server:
//
//	go test -tags record -run TestRecordHistory ./workflows/careplan/
//
// runs a plan's reminders on the embedded dev server (with the real activity
// over an in-memory store and a stub alert workflow) and rewrites
// testdata/careplan_settled.json. Record again only when the workflow
// changes in a way old histories cannot replay, and guard that change with
// workflow.GetVersion; keep the older files, which prove the guard works.

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	activities "github.com/zarish-sphere/zarish/activities/careplan"
	"github.com/zarish-sphere/zarish/domain/careplan"
	"github.com/zarish-sphere/zarish/integrations/temporal/temporaltest"
	alertwf "github.com/zarish-sphere/zarish/workflows/alert"
	careplanwf "github.com/zarish-sphere/zarish/workflows/careplan"
)

func TestRecordHistory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := temporaltest.Start(ctx, t)

	now := time.Now().UTC()
	store := &planStore{}
	p, err := careplan.New(planID, patient, nil, careplan.Content{
		Title: "Post-operative care", Unit: "ward-3", Status: careplan.StatusActive, Period: careplan.Period{Start: now},
		Activities: []careplan.ActivityInput{
			{Title: "Wound check", OwnerID: nurse, Schedule: careplan.Schedule{DueAt: now.Add(2 * time.Second)}},
			{Title: "Drain review", OwnerID: doctor, Schedule: careplan.Schedule{DueAt: now.Add(time.Hour)}},
		},
	}, uuid.NewV7, now)
	if err != nil {
		t.Fatal(err)
	}
	store.plan = p

	w := worker.New(c, careplanwf.TaskQueue, worker.Options{})
	resolved := &resolutions{}
	careplanwf.Register(w, activities.New(store, resolved))
	alerts := make(chan alertwf.Input, 10)
	aw := worker.New(c, alertwf.TaskQueue, worker.Options{})
	aw.RegisterWorkflowWithOptions(func(_ workflow.Context, in alertwf.Input) (alertwf.State, error) {
		alerts <- in
		return alertwf.State{Raise: in.Raise, Status: alertwf.StatusOpen}, nil
	}, workflow.RegisterOptions{Name: alertwf.WorkflowName})
	for _, wk := range []worker.Worker{w, aw} {
		if err := wk.Start(); err != nil {
			t.Fatal(err)
		}
		defer wk.Stop()
	}

	schedule := func() {
		t.Helper()
		if err := careplanwf.Schedule(ctx, c, store.plan); err != nil {
			t.Fatal(err)
		}
	}
	awaitAlert := func(title string) {
		t.Helper()
		select {
		case in := <-alerts:
			t.Logf("alert: %s", in.Message)
		case <-ctx.Done():
			t.Fatalf("no alert for %s", title)
		}
	}
	schedule()
	awaitAlert("Wound check")
	store.change(t, func(p careplan.CarePlan) (careplan.CarePlan, error) {
		return p.SetActivityStatus(p.Activities[0].ID, careplan.ActivityCompleted, nurse, "clean", time.Now())
	})
	schedule()
	store.change(t, func(p careplan.CarePlan) (careplan.CarePlan, error) {
		return p.Revise(contentOf(p, func(c *careplan.Content) {
			c.Activities[1].Schedule.DueAt = time.Now().Add(2 * time.Second)
		}), uuid.NewV7, time.Now())
	})
	schedule()
	awaitAlert("Drain review")
	store.change(t, setStatus(careplan.StatusCompleted))
	schedule()

	run := c.GetWorkflow(ctx, careplanwf.WorkflowID(planID), "")
	var res careplanwf.Result
	if err := run.Get(ctx, &res); err != nil || res.AlertsRaised != 2 {
		t.Fatalf("result %+v, %v", res, err)
	}
	if len(resolved.done) != 2 {
		t.Fatalf("resolved %+v, want both reminders", resolved.done)
	}
	temporaltest.SaveHistory(ctx, t, c, run, settledHistoryFile)
}
