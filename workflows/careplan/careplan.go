package careplan

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	activities "github.com/zarish-sphere/zarish/activities/careplan"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/careplan"
	alertwf "github.com/zarish-sphere/zarish/workflows/alert"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// Limits that keep a long plan's history short: the run continues as new
// after this many checks, or earlier when the history grows or the server
// suggests it.
const maxChecks = 500

// acts is only used to name activities; the worker holds the real ones.
var acts *activities.Activities

// CarePlan is the CarePlan workflow. Each turn it reads the plan; if the plan
// is not active the run ends. Otherwise it raises an alert for each overdue
// activity occurrence not yet alerted, then sleeps until the next activity
// falls due — at most Recheck, so a missed signal costs at most that much —
// or until the plan-changed signal wakes it.
func CarePlan(ctx workflow.Context, in Input) (Result, error) {
	if in.Recheck <= 0 {
		in.Recheck = DefaultRecheck
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: process.ActivityTimeout,
		RetryPolicy:         process.RetryPolicy(),
	})
	changed := workflow.GetSignalChannel(ctx, SignalPlanChanged)
	for check := 1; ; check++ {
		// Every change signalled so far is covered by the read below.
		for changed.ReceiveAsync(nil) {
		}
		var plan activities.CheckResult
		err := workflow.ExecuteActivity(ctx, acts.CheckCarePlan, activities.CheckRequest{PlanID: in.PlanID, At: workflow.Now(ctx)}).Get(ctx, &plan)
		if process.ErrorType(err) == process.TypeInvalidInput {
			return Result{AlertsRaised: in.AlertsRaised}, err
		}
		if err != nil {
			// A database outage outlasted the retry policy: the reminders
			// are late, never dropped. Say so, and check again shortly.
			workflow.GetLogger(ctx).Error("care plan check failed; checking again", "planId", in.PlanID, "error", err)
			if err := sleep(ctx, changed, min(in.Recheck, checkAgain)); err != nil {
				return Result{AlertsRaised: in.AlertsRaised}, err
			}
			continue
		}
		if !plan.Active {
			settle(ctx, in, in.Reminded)
			return Result{AlertsRaised: in.AlertsRaised}, nil
		}
		in = remind(ctx, in, plan)
		if check >= maxChecks || process.ShouldContinueAsNew(ctx) {
			return Result{AlertsRaised: in.AlertsRaised}, workflow.NewContinueAsNewError(ctx, WorkflowName, in)
		}
		wait := in.Recheck
		if plan.NextDue != nil {
			wait = min(wait, max(plan.NextDue.Sub(workflow.Now(ctx)), 0))
		}
		if err := sleep(ctx, changed, wait); err != nil {
			return Result{AlertsRaised: in.AlertsRaised}, err
		}
	}
}

// sleep waits for d or the plan-changed signal, whichever comes first.
func sleep(ctx workflow.Context, changed workflow.ReceiveChannel, d time.Duration) error {
	timerCtx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	timer := workflow.NewTimer(timerCtx, d)
	var timerErr error
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(timer, func(f workflow.Future) { timerErr = f.Get(ctx, nil) })
	sel.AddReceive(changed, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
	sel.Select(ctx)
	var cancelled *temporal.CanceledError
	if errors.As(timerErr, &cancelled) {
		return nil
	}
	return timerErr
}

// remind resolves the alerts of occurrences no longer overdue, raises an
// alert for each overdue occurrence not alerted yet, and returns in with the
// occurrences it remembers: those still overdue.
func remind(ctx workflow.Context, in Input, plan activities.CheckResult) Input {
	fresh, still := careplan.Pending(plan.Overdue, in.Reminded)
	var settled []string
	for _, key := range in.Reminded {
		if !slices.Contains(still, key) {
			settled = append(settled, key)
		}
	}
	settle(ctx, in, settled)
	in.Reminded = still
	for _, o := range fresh {
		raise(ctx, in, plan, o)
		in.Reminded = append(in.Reminded, o.Key())
		in.AlertsRaised++
	}
	return in
}

// raise starts the occurrence's alert as an abandoned child: warning for the
// plan's unit, with the activity's owner notified at the first level. Its id
// is derived from the occurrence, so a replayed or repeated raise is a
// duplicate Temporal refuses rather than a second alert.
func raise(ctx workflow.Context, in Input, plan activities.CheckResult, o careplan.OverdueActivity) {
	owner := o.OwnerID
	f, err := alertwf.StartChild(ctx, alertwf.Input{Raise: alert.Raise{
		AlertID:     AlertID(plan.PatientID, o),
		PatientID:   plan.PatientID,
		EncounterID: plan.EncounterID,
		Unit:        plan.Unit,
		Severity:    alert.SeverityWarning,
		Category:    CategoryActivityOverdue,
		Message:     fmt.Sprintf("Care plan activity overdue: %s (due %s)", o.Title, o.DueAt.UTC().Format("2006-01-02 15:04 UTC")),
		Source:      Source(in.PlanID),
		OwnerID:     &owner,
	}})
	if err == nil {
		err = f.GetChildWorkflowExecution().Get(ctx, nil)
	}
	var running *temporal.ChildWorkflowExecutionAlreadyStartedError
	if err != nil && !errors.As(err, &running) {
		workflow.GetLogger(ctx).Error("raise care plan alert", "planId", in.PlanID, "activityId", o.ActivityID, "error", err)
	}
}

// versionSettle marks the runs that resolve the reminders of occurrences no
// longer overdue; runs recorded before it never did, and replay as they ran.
const versionSettle = "settle-reminders"

// settle resolves the alerts of the reminded occurrences keys, which are no
// longer overdue (completed, cancelled, rescheduled, or the plan ended), so
// they stop escalating. A failure is logged, not fatal: the reminder stays
// open for a person to resolve.
func settle(ctx workflow.Context, in Input, keys []string) {
	if len(keys) == 0 || workflow.GetVersion(ctx, versionSettle, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	req := activities.SettleRequest{PlanID: in.PlanID}
	for _, key := range keys {
		req.Settled = append(req.Settled, activities.Reminder{Key: key, AlertID: AlertIDForKey(in.PatientID, in.PlanID, key)})
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: process.ActivityTimeout,
		RetryPolicy:         process.RetryPolicy(),
	})
	if err := workflow.ExecuteActivity(actx, acts.SettleReminders, req).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("resolve settled care plan reminders", "planId", in.PlanID, "error", err)
	}
}

// checkAgain is how soon a check that failed after its retries is repeated.
const checkAgain = time.Minute
