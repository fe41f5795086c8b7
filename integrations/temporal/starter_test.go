package temporal_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/zarish-sphere/zarish/domain/outbox"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
	"github.com/zarish-sphere/zarish/integrations/temporal"
	"github.com/zarish-sphere/zarish/integrations/temporal/temporaltest"
)

// waitFor polls cond every 50 ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}

// On a real Temporal server: a pending start is started with its input and
// search attribute; one whose workflow already runs is marked started; one
// Temporal refuses is retried later with the error kept; and the running
// starter wakes on a commit and drains the backlog.
func TestStarterStartsPendingWorkflowsIdempotently(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	store := postgres.NewWorkflowStartStore(pool)
	t.Cleanup(store.Close)
	c := temporaltest.Start(ctx, t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	running, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "careplan/already", TaskQueue: "no-workers"}, "CarePlan")
	if err != nil {
		t.Fatal(err)
	}
	fresh := outbox.WorkflowStart{WorkflowID: "careplan/fresh", WorkflowType: "CarePlan", TaskQueue: "no-workers",
		Input: json.RawMessage(`{"planId":"0193a0a0-0000-7000-8000-000000000001"}`), SearchAttributes: map[string]string{"PatientId": "patient-1"}}
	already := outbox.WorkflowStart{WorkflowID: "careplan/already", WorkflowType: "CarePlan", TaskQueue: "no-workers"}
	refused := outbox.WorkflowStart{WorkflowID: "careplan/refused", WorkflowType: "CarePlan", TaskQueue: "no-workers",
		SearchAttributes: map[string]string{"NoSuchAttribute": "x"}}
	if err := postgres.AppendWorkflowStarts(ctx, pool, fresh, already, refused); err != nil {
		t.Fatal(err)
	}

	starter := temporal.NewStarter(store, c, logger, temporal.WithStarterPollInterval(100*time.Millisecond),
		temporal.WithStarterBacklogInterval(100*time.Millisecond))
	if n, err := starter.StartDue(ctx); err != nil || n != 3 {
		t.Fatalf("StartDue = %d, %v", n, err)
	}
	desc, err := c.DescribeWorkflowExecution(ctx, "careplan/fresh", "")
	if err != nil {
		t.Fatalf("the fresh start did not reach Temporal: %v", err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("fresh workflow is %v", st)
	}
	if attr := desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()["PatientId"]; attr == nil || string(attr.GetData()) != `"patient-1"` {
		t.Errorf("PatientId search attribute = %v", attr)
	}
	// The already-running workflow is the same run, not a second one.
	desc, err = c.DescribeWorkflowExecution(ctx, "careplan/already", "")
	if err != nil || desc.GetWorkflowExecutionInfo().GetExecution().GetRunId() != running.GetRunID() {
		t.Fatalf("already-running workflow: %v %v", desc, err)
	}

	type row struct {
		started          bool
		runID, lastError string
		attempts         int
		retryLater       bool
	}
	rowOf := func(workflowID string) row {
		var r row
		if err := pool.QueryRow(ctx, `SELECT started_at IS NOT NULL, run_id, last_error, attempts, next_attempt_at > now()
			FROM workflow_starts WHERE workflow_id = $1`, workflowID).Scan(&r.started, &r.runID, &r.lastError, &r.attempts, &r.retryLater); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := rowOf("careplan/fresh"); !r.started || r.runID == "" || r.attempts != 0 {
		t.Errorf("fresh start row %+v", r)
	}
	if r := rowOf("careplan/already"); !r.started || r.runID != "" {
		t.Errorf("already-running start row %+v", r)
	}
	if r := rowOf("careplan/refused"); r.started || r.attempts != 1 || r.lastError == "" || !r.retryLater {
		t.Errorf("refused start row %+v", r)
	}
	if pending, err := store.Pending(ctx, 10); err != nil || len(pending) != 0 {
		t.Fatalf("due after one pass: %+v %v (the refused one waits for its backoff)", pending, err)
	}

	// Running, the starter wakes on the commit of a new start.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(starter.Collectors()...)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- starter.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("starter Run: %v", err)
		}
	})
	if _, err := pool.Exec(ctx, `DELETE FROM workflow_starts WHERE workflow_id = 'careplan/refused'`); err != nil {
		t.Fatal(err)
	}
	later := outbox.WorkflowStart{WorkflowID: "careplan/later", WorkflowType: "CarePlan", TaskQueue: "no-workers"}
	if err := postgres.AppendWorkflowStarts(ctx, pool, later); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the later start to run", func() bool { return rowOf("careplan/later").started })
	metric := func(name string) float64 {
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if f.GetName() == name {
				m := f.GetMetric()[0]
				return m.GetGauge().GetValue() + m.GetCounter().GetValue()
			}
		}
		return -1
	}
	waitFor(t, 10*time.Second, "an empty backlog and a leader", func() bool {
		return metric("zarish_workflow_starts_pending") == 0 && metric("zarish_workflow_starter_leader") == 1
	})
	if got := metric("zarish_workflow_starts_total"); got != 3 {
		t.Errorf("zarish_workflow_starts_total = %v, want 3", got)
	}
}
