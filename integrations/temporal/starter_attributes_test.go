package temporal_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdktemporal "go.temporal.io/sdk/temporal"

	"github.com/zarish-sphere/zarish/domain/careplan"
	"github.com/zarish-sphere/zarish/domain/outbox"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
	"github.com/zarish-sphere/zarish/integrations/temporal"
	"github.com/zarish-sphere/zarish/integrations/temporal/temporaltest"
	careplanwf "github.com/zarish-sphere/zarish/workflows/careplan"
)

// A start row's search attributes reach the started run as the types they
// are registered with: a care plan's start row, as the API writes it with
// its author, starts a run searchable by PatientId, OwnerId and Deadline
// (its first activity due); a row whose Deadline is no time still starts,
// without it.
func TestStarterStartsWithTheStartRowsSearchAttributes(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	store := postgres.NewWorkflowStartStore(pool)
	t.Cleanup(store.Close)
	c := temporaltest.Start(ctx, t)
	if err := temporal.EnsureSearchAttributes(ctx, c, "default"); err != nil {
		t.Fatal(err)
	}
	// The namespace takes attributes added to it once its cache refreshes.
	probe := sdktemporal.NewSearchAttributes(sdktemporal.NewSearchAttributeKeyKeyword("OwnerId").ValueSet("probe"),
		sdktemporal.NewSearchAttributeKeyTime("Deadline").ValueSet(time.Now()))
	waitFor(t, 30*time.Second, "the namespace to take OwnerId and Deadline", func() bool {
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "probe", TaskQueue: "no-workers", TypedSearchAttributes: probe}, "CarePlan")
		return err == nil
	})
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	patient, author, nurse := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	firstDue := now.Add(90 * time.Minute)
	p, err := careplan.New(uuid.Must(uuid.NewV7()), patient, nil, careplan.Content{
		Title: "Post-operative care", Unit: "ward-3", Status: careplan.StatusActive, Period: careplan.Period{Start: now},
		Activities: []careplan.ActivityInput{
			{Title: "Drain review", OwnerID: nurse, Schedule: careplan.Schedule{DueAt: now.Add(4 * time.Hour)}},
			{Title: "Wound check", OwnerID: nurse, Schedule: careplan.Schedule{DueAt: firstDue}},
		},
	}, uuid.NewV7, now)
	if err != nil {
		t.Fatal(err)
	}
	starts, err := careplanwf.Starts(p)
	if err != nil || len(starts) != 1 {
		t.Fatalf("Starts = %+v, %v", starts, err)
	}
	starts[0].SearchAttributes[careplanwf.SearchOwnerID.GetName()] = author.String()
	badDeadline := outbox.WorkflowStart{WorkflowID: "careplan/bad-deadline", WorkflowType: "CarePlan", TaskQueue: "no-workers",
		SearchAttributes: map[string]string{"PatientId": patient.String(), "Deadline": "tomorrow"}}
	if err := postgres.AppendWorkflowStarts(ctx, pool, starts[0], badDeadline); err != nil {
		t.Fatal(err)
	}

	starter := temporal.NewStarter(store, c, logger)
	if n, err := starter.StartDue(ctx); err != nil || n != 2 {
		t.Fatalf("StartDue = %d, %v", n, err)
	}
	fields := func(workflowID string) map[string]*commonpb.Payload {
		desc, err := c.DescribeWorkflowExecution(ctx, workflowID, "")
		if err != nil {
			var lastError string
			_ = pool.QueryRow(ctx, `SELECT last_error FROM workflow_starts WHERE workflow_id = $1`, workflowID).Scan(&lastError)
			t.Fatalf("%s did not start: %v (%s)", workflowID, err, lastError)
		}
		return desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()
	}
	decode := func(p *commonpb.Payload, into any) {
		t.Helper()
		if p == nil {
			t.Fatal("the search attribute is not set")
		}
		if err := converter.GetDefaultDataConverter().FromPayload(p, into); err != nil {
			t.Fatal(err)
		}
	}
	got := fields(careplanwf.WorkflowID(p.ID))
	var gotPatient, gotOwner string
	var gotDeadline time.Time
	decode(got["PatientId"], &gotPatient)
	decode(got["OwnerId"], &gotOwner)
	decode(got["Deadline"], &gotDeadline)
	if gotPatient != patient.String() || gotOwner != author.String() || !gotDeadline.Equal(firstDue) {
		t.Errorf("the care plan's run has PatientId %q, OwnerId %q, Deadline %v; want %s, %s, %v",
			gotPatient, gotOwner, gotDeadline, patient, author, firstDue)
	}
	got = fields("careplan/bad-deadline")
	if _, ok := got["Deadline"]; ok || got["PatientId"] == nil {
		t.Errorf("the run of a row with a bad Deadline has %v", got)
	}
	if pending, err := store.Pending(ctx, 10); err != nil || len(pending) != 0 {
		t.Errorf("still pending: %+v %v", pending, err)
	}
}
