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
	"github.com/zarish-sphere/zarish/workflows/process"
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
	a := activities.New(store, nil)
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
	if !errors.As(err, &app) || !app.NonRetryable() || app.Type() != process.TypeInvalidInput {
		t.Fatalf("request without a time: %v", err)
	}
}

// resolver records what it resolves, failing the first call when flaky.
type resolver struct {
	flaky bool
	calls []string
}

func (r *resolver) ResolveAlert(_ context.Context, alertID, by uuid.UUID, note string) error {
	r.calls = append(r.calls, alertID.String()+" "+by.String()+" "+note)
	if r.flaky {
		r.flaky = false
		return errors.New("temporal unavailable")
	}
	return nil
}

func TestSettleReminders(t *testing.T) {
	owner, nurse := uuid.New(), uuid.New()
	p, err := careplan.New(uuid.New(), uuid.New(), nil, careplan.Content{
		Title: "Wound care", Unit: "ward-3", Status: careplan.StatusActive, Period: careplan.Period{Start: now},
		Activities: []careplan.ActivityInput{{Title: "Dressing", OwnerID: owner, Schedule: careplan.Schedule{DueAt: now.Add(-time.Hour)}}},
	}, uuid.NewV7, now)
	if err != nil {
		t.Fatal(err)
	}
	key := careplan.Overdue(p, now)[0].Key()
	if p, err = p.SetActivityStatus(p.Activities[0].ID, careplan.ActivityCompleted, nurse, "", now); err != nil {
		t.Fatal(err)
	}
	alertID := uuid.New()
	req := activities.SettleRequest{PlanID: p.ID, Settled: []activities.Reminder{
		{Key: key, AlertID: alertID},
		{Key: uuid.NewString() + "@" + now.Format(time.RFC3339Nano), AlertID: uuid.New()}, // an activity since removed
	}}
	settle := func(r *resolver, req activities.SettleRequest) error {
		var suite testsuite.WorkflowTestSuite
		e := suite.NewTestActivityEnvironment()
		a := activities.New(oneplan{p}, r)
		e.RegisterActivity(a)
		_, err := e.ExecuteActivity(a.SettleReminders, req)
		return err
	}

	r := &resolver{}
	if err := settle(r, req); err != nil {
		t.Fatal(err)
	}
	if len(r.calls) != 1 || r.calls[0] != alertID.String()+" "+nurse.String()+" Care plan activity Dressing completed" {
		t.Fatalf("resolved %q", r.calls)
	}
	// A failure is returned for the retry, which resolves again harmlessly.
	if err := settle(&resolver{flaky: true}, req); err == nil {
		t.Fatal("a failed resolve was not reported")
	}
	// An unknown plan has nothing to settle.
	if err := settle(&resolver{}, activities.SettleRequest{PlanID: uuid.New(), Settled: req.Settled}); err != nil {
		t.Fatal(err)
	}
}
