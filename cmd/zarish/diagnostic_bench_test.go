package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/zarish-sphere/zarish/domain/alert"
	diagnosticflow "github.com/zarish-sphere/zarish/workflows/diagnostic"
)

// BenchmarkDiagnosticOrderToFinal measures, on one embedded stack, diagnostic
// orders driven through the API from order to final report per second — a
// potassium ordered by the physician for a patient of its own, its tube
// collected and received, a normal result stored as the patient's
// observation and recorded, the report verified by the laboratory scientist
// — against the fair ceiling of the same server in the same run. An order
// makes five Temporal round trips: the start and four Updates (collect,
// receive, record-results, verify; the results are checked against the
// read model before they are stored); the ceiling is a synthetic workflow
// started and sent four no-op Updates with validators. Both run with the
// same concurrency. Run it with -benchtime 1x.
func BenchmarkDiagnosticOrderToFinal(b *testing.B) {
	const (
		concurrency = 16
		orders      = 120
	)
	e := startE2E(b, devConfig(b, "RATE_LIMIT_PER_MINUTE", "0"))
	d := newDiagnosticBench(b, e)

	c, err := client.Dial(e.stack.clientOptions())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	// fourUpdates (encounter_bench_test.go): oneUpdate answers one Update only.
	w := worker.New(c, "bench-noop", worker.Options{})
	w.RegisterWorkflowWithOptions(fourUpdates, workflow.RegisterOptions{Name: "FourUpdates"})
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()

	patients := make([]string, orders)
	perSecond(concurrency, orders, func(i int) { patients[i], _ = d.patient() })
	if b.Failed() {
		b.FailNow()
	}

	for b.Loop() {
		ceiling := perSecond(concurrency, orders, func(int) {
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
			if err != nil {
				b.Error(err)
			}
		})
		var final atomic.Int64
		rate := perSecond(concurrency, orders, func(i int) {
			id, ok := d.order(patients[i])
			if !ok || !d.ready(id, fmt.Sprintf("DX-%d", i)) {
				return
			}
			r := d.results(id, 4.1)
			if st := statusOf(b, r); r.status != http.StatusOK || st.Status != "preliminary" || len(st.Callbacks) != 0 {
				b.Errorf("results of %s: %d %s", id, r.status, r.body)
				return
			}
			r = e.do(http.MethodPost, "/v1/diagnostics/reports/"+id+"/verify", d.acting, map[string]any{}, d.asLab...)
			if st := statusOf(b, r); r.status != http.StatusOK || st.Status != "final" {
				b.Errorf("verify %s: %d %s", id, r.status, r.body)
				return
			}
			final.Add(1)
		})
		if n := final.Load(); n != orders {
			b.Fatalf("%d of %d orders reached final", n, orders)
		}
		b.ReportMetric(ceiling, "ceiling/s")
		b.ReportMetric(rate, "orders/s")
		b.ReportMetric(rate/ceiling, "ratio")
	}
}

// BenchmarkCriticalResultFirstNotification measures, on the embedded stack,
// the time from a critical potassium posted to an order ready for results
// until the critical-result alert about that order reaches its orderer's
// live in-app stream: the observation stored, the record-results Update,
// the alert's child workflow, recipient resolution (the orderer is the
// alert's owner), the outbox, the relay, Kafka, the dispatcher, the inbox
// and Server-Sent Events. Each order, for a patient of its own, is
// registered, collected and received with the timer stopped. It reports
// p50 and p99.
func BenchmarkCriticalResultFirstNotification(b *testing.B) {
	e := startE2E(b, devConfig(b, "RATE_LIMIT_PER_MINUTE", "0"))
	d := newDiagnosticBench(b, e)
	stream := openStream(b, e, d.acting, demoPractitionerID("dr.karim").String())

	var lat []time.Duration
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		patient, ok := d.patient()
		if !ok {
			b.FailNow()
		}
		id, ok := d.order(patient)
		if !ok || !d.ready(id, fmt.Sprintf("CR-%d", i)) {
			b.FailNow()
		}
		// The first alert the order's run raises.
		want := alert.OccurrenceID(uuid.MustParse(patient), diagnosticflow.CategoryCriticalResult,
			diagnosticflow.Source(uuid.MustParse(id)), 1)
		b.StartTimer()

		start := time.Now()
		r := d.results(id, 6.8)
		if st := statusOf(b, r); r.status != http.StatusOK || len(st.Callbacks) != 1 {
			b.Fatalf("critical results of %s: %d %s", id, r.status, r.body)
		}
		for waiting := true; waiting; {
			select {
			case data := <-stream:
				var item struct {
					AlertID uuid.UUID `json:"alertId"`
				}
				waiting = json.Unmarshal([]byte(data), &item) != nil || item.AlertID != want
			case <-time.After(30 * time.Second):
				a := e.do(http.MethodGet, "/v1/notifications/alerts/"+want.String(), d.token, nil)
				b.Fatalf("order %s: no critical-result notification on the orderer's stream within 30s; alert %s: %d %s",
					id, want, a.status, a.body)
			}
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
}

// diagnosticBench drives orders through the API as the dev stack's people:
// the physician orders, the laboratory collects, receives, results and
// verifies, both through the acting client.
type diagnosticBench struct {
	b               *testing.B
	e               *e2e
	token, acting   string
	asDoctor, asLab []string
}

func newDiagnosticBench(b *testing.B, e *e2e) *diagnosticBench {
	return &diagnosticBench{b: b, e: e, token: e.token(devClientID, "dev-secret", ""), acting: e.actingToken(),
		asDoctor: onBehalfOf(demoPractitionerID("dr.karim").String()), asLab: onBehalfOf(demoPractitionerID("path.imran").String())}
}

// patient registers a patient and returns its id.
func (d *diagnosticBench) patient() (string, bool) {
	r := d.e.do(http.MethodPost, "/v1/patients", d.token, amina())
	var p patientJSON
	if r.status != http.StatusCreated || json.Unmarshal(r.body, &p) != nil {
		d.b.Errorf("register: %d %s", r.status, r.body)
		return "", false
	}
	return p.ID, true
}

// order orders potassium, a member of the renal and electrolyte panels
// ordered alone, for the patient and returns the order's id.
func (d *diagnosticBench) order(patient string) (string, bool) {
	r := d.e.do(http.MethodPost, "/v1/diagnostics/orders", d.acting, map[string]any{
		"patientId": patient, "tests": []string{"2823-3"}}, d.asDoctor...)
	var o struct {
		Order struct {
			ID string `json:"id"`
		} `json:"order"`
		Status string `json:"status"`
	}
	if r.status != http.StatusCreated || json.Unmarshal(r.body, &o) != nil || o.Status != "registered" {
		d.b.Errorf("order: %d %s", r.status, r.body)
		return "", false
	}
	return o.Order.ID, true
}

// ready has the order's tube collected and received, so it waits for its
// results.
func (d *diagnosticBench) ready(id, accession string) bool {
	path := "/v1/diagnostics/orders/" + id + "/specimens"
	r := d.e.do(http.MethodPost, path, d.acting, map[string]any{"container": "sst-gold", "accessionId": accession}, d.asLab...)
	if r.status != http.StatusOK {
		d.b.Errorf("collect %s: %d %s", id, r.status, r.body)
		return false
	}
	r = d.e.do(http.MethodPost, path+"/"+accession+"/receive", d.acting, map[string]any{}, d.asLab...)
	if r.status != http.StatusOK {
		d.b.Errorf("receive %s: %d %s", id, r.status, r.body)
		return false
	}
	return true
}

// results posts one potassium value, in mmol/L, to the order.
func (d *diagnosticBench) results(id string, potassium float64) response {
	return d.e.do(http.MethodPost, "/v1/diagnostics/orders/"+id+"/results", d.acting, map[string]any{
		"observations": []map[string]any{{"code": "2823-3", "value": map[string]any{"value": potassium, "unit": "mmol/L"}}}},
		d.asLab...)
}

// reportStatus is what the benchmarks check of a report's view.
type reportStatus struct {
	Status    string            `json:"status"`
	Callbacks []json.RawMessage `json:"callbacks"`
}

// statusOf reads a report's status and callbacks from an answer; zero when
// the answer is not a report.
func statusOf(b *testing.B, r response) reportStatus {
	var s reportStatus
	if r.status == http.StatusOK {
		if err := json.Unmarshal(r.body, &s); err != nil {
			b.Errorf("decode %s: %v", r.body, err)
		}
	}
	return s
}

// perSecond runs one(i) for i in [0, n) on concurrency goroutines and
// returns how many ran per second.
func perSecond(concurrency, n int, one func(i int)) float64 {
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
