package main

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// BenchmarkPrescriptionPlacement measures, on one embedded stack,
// prescriptions placed through the API per second — resolved, stored with
// their audit record and start row, started, checked against the patient's
// open prescriptions, allergies and observations, recorded, and answered
// once checked — against the fair ceiling of the same server in the same
// run: a synthetic workflow started and sent one no-op Update, the Temporal
// round trips a placement makes. Both run with the same concurrency. Run it
// with -benchtime 1x.
func BenchmarkPrescriptionPlacement(b *testing.B) {
	const (
		concurrency = 16
		noops       = 200
		orders      = 200
	)
	e := startE2E(b, devConfig(b, "RATE_LIMIT_PER_MINUTE", "0"))
	token := e.token(devClientID, "dev-secret", "")
	acting, asDoctor := e.actingToken(), onBehalfOf(demoPractitionerID("dr.karim").String())

	c, err := client.Dial(e.stack.clientOptions())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	w := worker.New(c, "bench-noop", worker.Options{})
	w.RegisterWorkflowWithOptions(oneUpdate, workflow.RegisterOptions{Name: "OneUpdate"})
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
	// Each order is for a patient of its own, with a weight and two other
	// prescriptions, so the checks read a real record.
	patients := make([]string, orders)
	parallel(orders, func(i int) {
		r := e.do(http.MethodPost, "/v1/patients", token, amina())
		var p patientJSON
		r.json(b, &p)
		patients[i] = p.ID
		e.do(http.MethodPost, "/v1/observations", acting, map[string]any{
			"patientId": p.ID, "code": "29463-7", "value": map[string]any{"value": 70, "unit": "kg"},
			"effectiveAt": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}, asDoctor...)
	})
	place := func(patient, drug string, dose float64, frequency string) {
		r := e.do(http.MethodPost, "/v1/medications/prescriptions", acting, map[string]any{
			"patientId": patient, "medication": map[string]any{"name": drug},
			"dose": map[string]any{"value": dose, "unit": "mg"}, "route": "oral", "frequency": frequency}, asDoctor...)
		if r.status != http.StatusCreated {
			b.Errorf("place %s: %d %s", drug, r.status, r.body)
		}
	}
	parallel(orders, func(i int) {
		place(patients[i], "omeprazole", 20, "daily")
		place(patients[i], "amlodipine", 5, "daily")
	})

	for b.Loop() {
		fair := parallel(noops, func(int) {
			ctx := context.Background()
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: "bench-noop"}, "OneUpdate")
			if err == nil {
				var h client.WorkflowUpdateHandle
				h, err = c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), RunID: run.GetRunID(),
					UpdateName: "checked", WaitForStage: client.WorkflowUpdateStageCompleted})
				if err == nil {
					err = h.Get(ctx, nil)
				}
			}
			if err != nil {
				b.Error(err)
			}
		})
		rate := parallel(orders, func(i int) { place(patients[i], "paracetamol", 1000, "q6h") })
		b.ReportMetric(fair, "start+update-wf/s")
		b.ReportMetric(rate, "prescriptions/s")
		b.ReportMetric(rate/fair, "ratio-fair")
	}
}

// oneUpdate is the fair ceiling's workflow: it answers one no-op "checked"
// Update and ends.
func oneUpdate(ctx workflow.Context) error {
	done := false
	if err := workflow.SetUpdateHandler(ctx, "checked", func(ctx workflow.Context) (bool, error) {
		done = true
		return true, nil
	}); err != nil {
		return err
	}
	return workflow.Await(ctx, func() bool { return done && workflow.AllHandlersFinished(ctx) })
}
