package main

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// BenchmarkEncounterThroughput measures, on one embedded stack, encounters
// started through the API and driven arrive → triage → start → discharge per
// second, against two ceilings of the same server in the same run: no-op
// workflows per second, and the fair one — a synthetic workflow started and
// driven through four no-op Updates with validators, the same Temporal
// round trips an encounter makes. All run with the same concurrency; the
// ratios are how much of each ceiling the encounter process uses. Run it
// with -benchtime 1x.
func BenchmarkEncounterThroughput(b *testing.B) {
	const (
		concurrency = 16
		noops       = 200
		encounters  = 100
	)
	// Measure the engine, not the request budget one client would spend.
	e := startE2E(b, devConfig(b, "RATE_LIMIT_PER_MINUTE", "0"))
	token := e.token(devClientID, "dev-secret", "")
	r := e.do(http.MethodPost, "/v1/patients", token, amina())
	var p patientJSON
	r.json(b, &p)

	c, err := client.Dial(e.stack.clientOptions())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	w := worker.New(c, "bench-noop", worker.Options{})
	w.RegisterWorkflowWithOptions(func(workflow.Context) error { return nil }, workflow.RegisterOptions{Name: "NoOp"})
	w.RegisterWorkflowWithOptions(fourUpdates, workflow.RegisterOptions{Name: "FourUpdates"})
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()

	parallel := func(n int, one func(i int)) float64 {
		start := time.Now()
		var wg sync.WaitGroup
		next := make(chan int)
		for range concurrency {
			wg.Go(func() {
				for i := range next {
					one(i)
				}
			})
		}
		for i := range n {
			next <- i
		}
		close(next)
		wg.Wait()
		return float64(n) / time.Since(start).Seconds()
	}

	for b.Loop() {
		ceiling := parallel(noops, func(int) {
			run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{TaskQueue: "bench-noop"}, "NoOp")
			if err == nil {
				err = run.Get(context.Background(), nil)
			}
			if err != nil {
				b.Error(err)
			}
		})
		fair := parallel(noops, func(int) {
			ctx := context.Background()
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: "bench-noop"}, "FourUpdates")
			for i := 0; err == nil && i < 4; i++ {
				var h client.WorkflowUpdateHandle
				h, err = c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), RunID: run.GetRunID(),
					UpdateName: "step", Args: []any{i}, WaitForStage: client.WorkflowUpdateStageCompleted})
				if err == nil {
					err = h.Get(ctx, nil)
				}
			}
			if err == nil {
				err = run.Get(ctx, nil)
			}
			if err != nil {
				b.Error(err)
			}
		})
		// The triage desk's system moves each encounter for the physician.
		by := demoPractitionerID("dr.karim").String()
		desk, forBy := e.actingToken(), onBehalfOf(by)
		rate := parallel(encounters, func(int) {
			r := e.do(http.MethodPost, "/v1/clinical/encounters", token, map[string]any{
				"patientId": p.ID, "class": "emergency", "location": "ed"})
			var enc struct {
				ID string `json:"id"`
			}
			r.json(b, &enc)
			for _, s := range []struct {
				name string
				body map[string]any
			}{
				{"arrive", map[string]any{}},
				{"triage", map[string]any{"acuity": 3, "chiefComplaint": "abdominal pain"}},
				{"start", map[string]any{"attending": by}},
				{"discharge", map[string]any{"disposition": "home"}},
			} {
				if r := e.do(http.MethodPost, "/v1/clinical/encounters/"+enc.ID+"/"+s.name, desk, s.body, forBy...); r.status != http.StatusOK {
					b.Errorf("%s: %d %s", s.name, r.status, r.body)
					return
				}
			}
		})
		b.ReportMetric(ceiling, "noop-wf/s")
		b.ReportMetric(fair, "start+4updates-wf/s")
		b.ReportMetric(rate, "encounters/s")
		b.ReportMetric(rate/ceiling, "ratio-noop")
		b.ReportMetric(rate/fair, "ratio-fair")
	}
}

// fourUpdates is the fair ceiling's workflow: it accepts four "step"
// Updates, each with a validator, and ends.
func fourUpdates(ctx workflow.Context) error {
	steps := 0
	err := workflow.SetUpdateHandlerWithOptions(ctx, "step", func(ctx workflow.Context, n int) (int, error) {
		steps++
		return n, nil
	}, workflow.UpdateHandlerOptions{Validator: func(_ workflow.Context, n int) error {
		if n < 0 {
			return errors.New("negative step")
		}
		return nil
	}})
	if err != nil {
		return err
	}
	return workflow.Await(ctx, func() bool { return steps == 4 && workflow.AllHandlersFinished(ctx) })
}
