package careplan_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	activities "github.com/zarish-sphere/zarish/activities/careplan"
	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/careplan"
)

var now = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

type oneplan struct{ p careplan.CarePlan }

func (s oneplan) Get(_ context.Context, id uuid.UUID) (careplan.CarePlan, error) {
	if id != s.p.ID {
		return careplan.CarePlan{}, domain.ErrNotFound
	}
	return s.p, nil
}

func check(t *testing.T, store activities.Store, req activities.CheckRequest) (activities.CheckResult, error) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	e := suite.NewTestActivityEnvironment()
	a := activities.New(store)
	e.RegisterActivity(a)
	v, err := e.ExecuteActivity(a.CheckCarePlan, req)
	if err != nil {
		return activities.CheckResult{}, err
	}
	var res activities.CheckResult
	return res, v.Get(&res)
}

func TestCheckCarePlan(t *testing.T) {
	owner := uuid.New()
	p, err := careplan.New(uuid.New(), uuid.New(), nil, careplan.Content{
		Title: "Wound care", Unit: "ward-3", Status: careplan.StatusActive, Period: careplan.Period{Start: now},
		Activities: []careplan.ActivityInput{
			{Title: "Dressing", OwnerID: owner, Schedule: careplan.Schedule{DueAt: now.Add(-time.Hour)}},
			{Title: "Review", OwnerID: owner, Schedule: careplan.Schedule{DueAt: now.Add(2 * time.Hour)}},
		},
	}, uuid.NewV7, now)
	if err != nil {
		t.Fatal(err)
	}
	res, err := check(t, oneplan{p}, activities.CheckRequest{PlanID: p.ID, At: now})
	if err != nil || !res.Active || res.Unit != "ward-3" || res.PatientID != p.PatientID || len(res.Overdue) != 1 ||
		res.Overdue[0].Title != "Dressing" || res.NextDue == nil || !res.NextDue.Equal(now.Add(2*time.Hour)) {
		t.Fatalf("active plan: %+v, %v", res, err)
	}

	held := p
	held.Status = careplan.StatusOnHold
	if res, err := check(t, oneplan{held}, activities.CheckRequest{PlanID: p.ID, At: now}); err != nil || res.Active || len(res.Overdue) != 0 {
		t.Fatalf("plan on hold: %+v, %v", res, err)
	}
	if res, err := check(t, oneplan{p}, activities.CheckRequest{PlanID: uuid.New(), At: now}); err != nil || res.Active {
		t.Fatalf("unknown plan: %+v, %v", res, err)
	}
	_, err = check(t, oneplan{p}, activities.CheckRequest{PlanID: p.ID})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || !app.NonRetryable() || app.Type() != activities.ErrInvalidInput {
		t.Fatalf("request without a time: %v", err)
	}
}
