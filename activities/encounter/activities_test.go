package encounter_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	activities "github.com/zarish-sphere/zarish/activities/encounter"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
	"github.com/zarish-sphere/zarish/workflows/process"
)

var now = time.Date(2026, 11, 25, 2, 30, 0, 0, time.UTC)

func env(a *activities.Activities) *testsuite.TestActivityEnvironment {
	var suite testsuite.WorkflowTestSuite
	e := suite.NewTestActivityEnvironment()
	e.RegisterActivity(a)
	return e
}

func nonRetryable(t *testing.T, err error) {
	t.Helper()
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || !app.NonRetryable() || app.Type() != process.TypeInvalidInput {
		t.Fatalf("err = %v, want a non-retryable %s", err, process.TypeInvalidInput)
	}
}

func TestRecordTransitionsOnPostgresAreIdempotent(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	store := postgres.NewEncounterStore(pool)
	a := activities.New(store)
	e := env(a)

	st, err := encounter.New(encounter.Details{EncounterID: uuid.Must(uuid.NewV7()), PatientID: pgtest.Patient(t, pool),
		Class: encounter.ClassEmergency, Location: "ed-triage"}, now)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second call is a retry
		if _, err := e.ExecuteActivity(a.RecordCreated, activities.CreatedRequest{State: st}); err != nil {
			t.Fatal(err)
		}
	}
	st, err = st.Arrive(uuid.New(), now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := e.ExecuteActivity(a.RecordTransition, activities.TransitionRequest{State: st, Entry: st.Last()}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := store.GetEncounter(ctx, st.Details.EncounterID)
	if err != nil || got.Status != encounter.StatusArrived || len(got.Timeline) != 2 {
		t.Fatalf("read model %+v, %v", got, err)
	}
	var rows int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE key = $1 AND type LIKE 'encounter.%'`, st.Details.PatientID.String()).Scan(&rows); err != nil || rows != 2 {
		t.Fatalf("outbox rows %d, %v", rows, err)
	}
}

func TestInvalidInputIsNotRetried(t *testing.T) {
	a := activities.New(postgres.NewEncounterStore(pgtest.NewPool(t)))
	e := env(a)
	_, err := e.ExecuteActivity(a.RecordCreated, activities.CreatedRequest{})
	nonRetryable(t, err)
	_, err = e.ExecuteActivity(a.RecordTransition, activities.TransitionRequest{})
	nonRetryable(t, err)
	st, _ := encounter.New(encounter.Details{EncounterID: uuid.New(), PatientID: uuid.New(), Class: encounter.ClassVirtual, Location: "tele"}, now)
	_, err = e.ExecuteActivity(a.RecordTransition, activities.TransitionRequest{State: st, Entry: st.Last()})
	nonRetryable(t, err) // never recorded
	_, err = e.ExecuteActivity(a.RecordCreated, activities.CreatedRequest{State: st})
	nonRetryable(t, err) // of a patient that was never registered
}
