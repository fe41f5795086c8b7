package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/careplan"
	"github.com/zarish-sphere/zarish/domain/outbox"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// A care plan's reminder start is written with the plan: present when the
// plan commits, absent when its write fails; then due until started, and
// after a failed try not before its retry time.
func TestWorkflowStartCommitsWithTheWrite(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	plans := postgres.NewCarePlanStore(pool)
	starts := postgres.NewWorkflowStartStore(pool)
	t.Cleanup(starts.Close)

	p, err := careplan.New(uuid.Must(uuid.NewV7()), pgtest.Patient(t, pool), nil, careplan.Content{
		Title: "Wound care", Unit: "ward-3", Status: careplan.StatusActive, Period: careplan.Period{Start: planNow},
		Activities: []careplan.ActivityInput{{Title: "Dressing change", OwnerID: uuid.New(),
			Schedule: careplan.Schedule{DueAt: planNow.Add(time.Hour)}}},
	}, uuid.NewV7, planNow)
	if err != nil {
		t.Fatal(err)
	}
	start := outbox.WorkflowStart{WorkflowID: "careplan/" + p.ID.String(), WorkflowType: "CarePlan", TaskQueue: "encounters",
		Input: json.RawMessage(`{"planId":"` + p.ID.String() + `"}`), SearchAttributes: map[string]string{"PatientId": p.PatientID.String()}}
	if _, _, err := plans.Create(ctx, nil, nil, p, start); err != nil {
		t.Fatal(err)
	}
	// The same plan again fails, and so writes no second start.
	if _, _, err := plans.Create(ctx, nil, nil, p, start); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("second create: %v", err)
	}
	// An invalid start fails the write it was to follow.
	other := p
	other.ID = uuid.Must(uuid.NewV7())
	if _, _, err := plans.Create(ctx, nil, nil, other, outbox.WorkflowStart{WorkflowID: "careplan/x"}); !errors.Is(err, outbox.ErrEmptyStart) {
		t.Fatalf("create with an invalid start: %v", err)
	}
	if _, err := plans.Get(ctx, other.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("the plan of the invalid start was stored: %v", err)
	}

	pending, err := starts.Pending(ctx, 10)
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending = %+v, %v; want the one start", pending, err)
	}
	got := pending[0]
	if got.WorkflowID != start.WorkflowID || got.WorkflowType != "CarePlan" || got.TaskQueue != "encounters" ||
		compactJSON(t, got.Input) != compactJSON(t, start.Input) || got.SearchAttributes["PatientId"] != p.PatientID.String() || got.Attempts != 0 {
		t.Fatalf("pending start %+v", got)
	}
	if n, oldest, err := starts.Backlog(ctx); err != nil || n != 1 || oldest.IsZero() {
		t.Fatalf("backlog = %d %v %v", n, oldest, err)
	}

	if err := starts.MarkFailed(ctx, got.ID, "temporal unreachable", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if pending, err := starts.Pending(ctx, 10); err != nil || len(pending) != 0 {
		t.Fatalf("a start waiting for its retry is due: %+v %v", pending, err)
	}
	if _, err := pool.Exec(ctx, `UPDATE workflow_starts SET next_attempt_at = now()`); err != nil {
		t.Fatal(err)
	}
	pending, err = starts.Pending(ctx, 10)
	if err != nil || len(pending) != 1 || pending[0].Attempts != 1 || pending[0].LastError != "temporal unreachable" {
		t.Fatalf("due again: %+v %v", pending, err)
	}
	if err := starts.MarkStarted(ctx, got.ID, "run-1"); err != nil {
		t.Fatal(err)
	}
	if n, oldest, err := starts.Backlog(ctx); err != nil || n != 0 || !oldest.IsZero() {
		t.Fatalf("backlog after the start = %d %v %v", n, oldest, err)
	}
}
