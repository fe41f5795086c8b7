package careplan_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	activities "github.com/zarish-sphere/zarish/activities/careplan"
	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/careplan"
	alertwf "github.com/zarish-sphere/zarish/workflows/alert"
	careplanwf "github.com/zarish-sphere/zarish/workflows/careplan"
)

var (
	planID  = uuid.MustParse("0193b000-0000-7000-8000-0000000000c1")
	patient = uuid.MustParse("0193b000-0000-7000-8000-0000000000aa")
	nurse   = uuid.MustParse("0193b000-0000-7000-8000-000000000001")
	doctor  = uuid.MustParse("0193b000-0000-7000-8000-000000000002")
)

// planStore is the activity's store: the one plan, changed by the tests.
type planStore struct {
	mu   sync.Mutex
	plan careplan.CarePlan
}

func (s *planStore) Get(_ context.Context, id uuid.UUID) (careplan.CarePlan, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id != s.plan.ID {
		return careplan.CarePlan{}, domain.ErrNotFound
	}
	return s.plan, nil
}

func (s *planStore) change(t *testing.T, f func(careplan.CarePlan) (careplan.CarePlan, error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := f(s.plan)
	if err != nil {
		t.Errorf("change the plan: %v", err)
		return
	}
	s.plan = p
}

// resolutions records the alerts the activities resolved.
type resolutions struct {
	mu   sync.Mutex
	done []resolution
}

type resolution struct {
	alertID, by uuid.UUID
	note        string
}

func (r *resolutions) ResolveAlert(_ context.Context, alertID, by uuid.UUID, note string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = append(r.done, resolution{alertID, by, note})
	return nil
}

// raised is one alert the workflow started, and when.
type raised struct {
	in alertwf.Input
	at time.Duration // after the workflow started
}

// harness runs the workflow with its real activity over planStore and a stub
// alert workflow that records what it was asked.
type harness struct {
	t        *testing.T
	env      *testsuite.TestWorkflowEnvironment
	start    time.Time
	store    *planStore
	alerts   []raised
	resolved *resolutions
}

// activity is one entry of a plan, due after the start.
type activity struct {
	title  string
	owner  uuid.UUID
	due    time.Duration
	repeat string
}

func newHarness(t *testing.T, status careplan.Status, items ...activity) *harness {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	h := &harness{t: t, env: suite.NewTestWorkflowEnvironment(), store: &planStore{}, resolved: &resolutions{}}
	h.start = h.env.Now()
	c := careplan.Content{Title: "Post-operative care", Unit: "ward-3", Status: status, Period: careplan.Period{Start: h.start}}
	for _, a := range items {
		c.Activities = append(c.Activities, careplan.ActivityInput{Title: a.title, OwnerID: a.owner,
			Schedule: careplan.Schedule{DueAt: h.start.Add(a.due), Repeat: a.repeat}})
	}
	n := 0
	p, err := careplan.New(planID, patient, nil, c, func() (uuid.UUID, error) {
		n++
		return uuid.NewSHA1(planID, []byte{byte(n)}), nil
	}, h.start)
	if err != nil {
		t.Fatal(err)
	}
	h.store.plan = p
	careplanwf.Register(h.env, activities.New(h.store, h.resolved))
	h.env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in alertwf.Input) (alertwf.State, error) {
		h.alerts = append(h.alerts, raised{in: in, at: workflow.Now(ctx).Sub(h.start)})
		return alertwf.State{Raise: in.Raise, Status: alertwf.StatusOpen}, nil
	}, workflow.RegisterOptions{Name: alertwf.WorkflowName})
	return h
}

// at changes the plan at offset d after the start and, when signal is set,
// tells the workflow.
func (h *harness) at(d time.Duration, signal bool, f func(careplan.CarePlan) (careplan.CarePlan, error)) {
	h.env.RegisterDelayedCallback(func() {
		h.store.change(h.t, f)
		if signal {
			h.env.SignalWorkflow(careplanwf.SignalPlanChanged, careplanwf.PlanChanged{Version: h.store.plan.Version})
		}
	}, d)
}

// setStatus is a change that moves the whole plan to status.
func setStatus(status careplan.Status) func(careplan.CarePlan) (careplan.CarePlan, error) {
	return func(p careplan.CarePlan) (careplan.CarePlan, error) {
		return p.Revise(contentOf(p, func(c *careplan.Content) { c.Status = status }), uuid.NewV7, p.UpdatedAt)
	}
}

// contentOf is p's content, edited.
func contentOf(p careplan.CarePlan, edit func(*careplan.Content)) careplan.Content {
	c := careplan.Content{Title: p.Title, Unit: p.Unit, Status: p.Status, Period: p.Period}
	for _, a := range p.Activities {
		c.Activities = append(c.Activities, careplan.ActivityInput{ID: a.ID, Title: a.Title, OwnerID: a.OwnerID, Schedule: a.Schedule})
	}
	edit(&c)
	return c
}

func (h *harness) run(in careplanwf.Input) careplanwf.Result {
	h.t.Helper()
	h.env.ExecuteWorkflow(careplanwf.WorkflowName, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow failed: %v", err)
	}
	var res careplanwf.Result
	if err := h.env.GetWorkflowResult(&res); err != nil {
		h.t.Fatal(err)
	}
	return res
}

func input() careplanwf.Input { return careplanwf.Input{PlanID: planID, PatientID: patient} }

func (h *harness) activityID(i int) uuid.UUID { return h.store.plan.Activities[i].ID }

func TestReminderRaisedWhenDue(t *testing.T) {
	h := newHarness(t, careplan.StatusActive,
		activity{title: "Wound check", owner: nurse, due: 2 * time.Hour},
		activity{title: "Drain review", owner: doctor, due: 5 * time.Hour})
	first := h.store.plan.Activities[0]
	h.at(6*time.Hour, true, setStatus(careplan.StatusCompleted))
	res := h.run(input())

	if len(h.alerts) != 2 || h.alerts[0].at != 2*time.Hour || h.alerts[1].at != 5*time.Hour || res.AlertsRaised != 2 {
		t.Fatalf("alerts %+v, result %+v", h.alerts, res)
	}
	r := h.alerts[0].in.Raise
	want := careplanwf.AlertID(patient, careplan.OverdueActivity{PlanID: planID, ActivityID: first.ID, DueAt: first.Schedule.DueAt})
	if r.AlertID != want || r.PatientID != patient || r.Unit != "ward-3" || r.Severity != alert.SeverityWarning ||
		r.Category != careplanwf.CategoryActivityOverdue || r.Source != "careplan/"+planID.String() ||
		r.OwnerID == nil || *r.OwnerID != nurse || !strings.Contains(r.Message, "Wound check") {
		t.Fatalf("first alert %+v", r)
	}
	if r := h.alerts[1].in.Raise; *r.OwnerID != doctor || r.AlertID == want {
		t.Fatalf("second alert %+v", r)
	}
}

// Completing an overdue activity resolves its reminder in the name of who
// completed it, so it stops escalating; ending the plan resolves the rest.
func TestSettledRemindersAreResolved(t *testing.T) {
	h := newHarness(t, careplan.StatusActive,
		activity{title: "Wound check", owner: nurse, due: 2 * time.Hour},
		activity{title: "Drain review", owner: doctor, due: 3 * time.Hour})
	wound, drain := h.store.plan.Activities[0], h.store.plan.Activities[1]
	h.at(4*time.Hour, true, func(p careplan.CarePlan) (careplan.CarePlan, error) {
		return p.SetActivityStatus(wound.ID, careplan.ActivityCompleted, doctor, "clean and dry", h.start.Add(4*time.Hour))
	})
	h.at(6*time.Hour, true, setStatus(careplan.StatusCompleted))
	h.run(input())

	if len(h.alerts) != 2 {
		t.Fatalf("alerts %+v", h.alerts)
	}
	idOf := func(a careplan.Activity) uuid.UUID {
		return careplanwf.AlertID(patient, careplan.OverdueActivity{PlanID: planID, ActivityID: a.ID, DueAt: a.Schedule.DueAt})
	}
	done := h.resolved.done
	if len(done) != 2 {
		t.Fatalf("resolved %+v", done)
	}
	if done[0].alertID != idOf(wound) || done[0].by != doctor || !strings.Contains(done[0].note, "completed: clean and dry") {
		t.Errorf("completed activity's reminder resolved as %+v", done[0])
	}
	if done[1].alertID != idOf(drain) || done[1].by != doctor || done[1].note != "Care plan completed" {
		t.Errorf("ended plan's reminder resolved as %+v", done[1])
	}
}

func TestNoReminderWhenCompletedFirst(t *testing.T) {
	h := newHarness(t, careplan.StatusActive, activity{title: "Wound check", owner: nurse, due: 2 * time.Hour})
	id := h.activityID(0)
	h.at(time.Hour, true, func(p careplan.CarePlan) (careplan.CarePlan, error) {
		return p.SetActivityStatus(id, careplan.ActivityCompleted, nurse, "", h.start.Add(time.Hour))
	})
	h.at(4*time.Hour, true, setStatus(careplan.StatusCompleted))
	h.run(input())
	if len(h.alerts) != 0 {
		t.Fatalf("alerts for a completed activity: %+v", h.alerts)
	}
}

func TestPlanChangeReschedulesEarlier(t *testing.T) {
	h := newHarness(t, careplan.StatusActive, activity{title: "Wound check", owner: nurse, due: 5 * time.Hour})
	h.at(10*time.Minute, true, func(p careplan.CarePlan) (careplan.CarePlan, error) {
		return p.Revise(contentOf(p, func(c *careplan.Content) {
			c.Activities[0].Schedule.DueAt = h.start.Add(30 * time.Minute)
		}), uuid.NewV7, h.start.Add(10*time.Minute))
	})
	h.at(2*time.Hour, true, setStatus(careplan.StatusCompleted))
	h.run(input())
	if len(h.alerts) != 1 || h.alerts[0].at != 30*time.Minute {
		t.Fatalf("alerts %+v, want one at 30m", h.alerts)
	}
}

func TestMissedSignalIsCaughtAtTheRecheck(t *testing.T) {
	h := newHarness(t, careplan.StatusActive, activity{title: "Wound check", owner: nurse, due: 10 * time.Hour})
	// The plan changes, but the signal is lost.
	h.at(10*time.Minute, false, func(p careplan.CarePlan) (careplan.CarePlan, error) {
		return p.Revise(contentOf(p, func(c *careplan.Content) {
			c.Activities[0].Schedule.DueAt = h.start.Add(20 * time.Minute)
		}), uuid.NewV7, h.start.Add(10*time.Minute))
	})
	h.at(3*time.Hour, true, setStatus(careplan.StatusCompleted))
	h.run(input())
	if len(h.alerts) != 1 || h.alerts[0].at != careplanwf.DefaultRecheck {
		t.Fatalf("alerts %+v, want one at the hourly recheck", h.alerts)
	}
}

func TestRepeatingActivityRemindsEachOccurrence(t *testing.T) {
	h := newHarness(t, careplan.StatusActive, activity{title: "Turn patient", owner: nurse, due: 2 * time.Hour, repeat: "PT4H"})
	id := h.activityID(0)
	h.at(3*time.Hour, true, func(p careplan.CarePlan) (careplan.CarePlan, error) {
		return p.SetActivityStatus(id, careplan.ActivityCompleted, nurse, "late", h.start.Add(3*time.Hour))
	})
	h.at(7*time.Hour, true, setStatus(careplan.StatusCompleted))
	h.run(input())
	if len(h.alerts) != 2 || h.alerts[0].at != 2*time.Hour || h.alerts[1].at != 6*time.Hour ||
		h.alerts[0].in.AlertID == h.alerts[1].in.AlertID {
		t.Fatalf("alerts %+v, want the +2h and +6h occurrences", h.alerts)
	}
}

func TestPlanNoLongerActiveEndsTheWorkflow(t *testing.T) {
	for _, status := range []careplan.Status{careplan.StatusCompleted, careplan.StatusRevoked, careplan.StatusOnHold} {
		t.Run(string(status), func(t *testing.T) {
			h := newHarness(t, careplan.StatusActive, activity{title: "Wound check", owner: nurse, due: 5 * time.Hour})
			h.at(20*time.Minute, true, setStatus(status))
			h.run(input())
			if len(h.alerts) != 0 || h.env.Now().Sub(h.start) != 20*time.Minute {
				t.Fatalf("ended after %s with alerts %+v", h.env.Now().Sub(h.start), h.alerts)
			}
		})
	}
	// A draft plan has no reminders: the run ends at once.
	h := newHarness(t, careplan.StatusDraft, activity{title: "Wound check", owner: nurse, due: -time.Hour})
	h.run(input())
	if len(h.alerts) != 0 || h.env.Now() != h.start {
		t.Fatalf("draft plan: alerts %+v", h.alerts)
	}
}

func TestContinueAsNewKeepsWhatWasReminded(t *testing.T) {
	// First run: one activity already overdue; the server suggests
	// continuing as new.
	h := newHarness(t, careplan.StatusActive,
		activity{title: "Wound check", owner: nurse, due: -time.Hour},
		activity{title: "Drain review", owner: doctor, due: 2 * time.Hour})
	h.env.SetContinueAsNewSuggested(true)
	h.env.ExecuteWorkflow(careplanwf.WorkflowName, input())
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("first run ended with %v, want continue-as-new", err)
	}
	var next careplanwf.Input
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if len(h.alerts) != 1 || len(next.Reminded) != 1 || next.AlertsRaised != 1 || next.PlanID != planID {
		t.Fatalf("carried input %+v after alerts %+v", next, h.alerts)
	}

	// Second run: the overdue activity is not alerted again; the next one is.
	h2 := newHarness(t, careplan.StatusActive)
	h2.store.plan = h.store.plan
	h2.start = h.start
	h2.env.SetStartTime(h.start.Add(time.Minute))
	h2.at(3*time.Hour, true, setStatus(careplan.StatusCompleted))
	res := h2.run(next)
	if len(h2.alerts) != 1 || !strings.Contains(h2.alerts[0].in.Message, "Drain review") || res.AlertsRaised != 2 {
		t.Fatalf("second run alerts %+v, result %+v", h2.alerts, res)
	}
}
