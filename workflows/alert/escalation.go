package alert

import (
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	activities "github.com/zarish-sphere/zarish/activities/alert"
	"github.com/zarish-sphere/zarish/domain/alert"
)

// maxHistoryEvents continues the workflow as new before its history grows
// long, even when the server does not suggest it.
const maxHistoryEvents = 2000

// acts is only used to name activities; the worker holds the real ones.
var acts *activities.Activities

// Escalation is the AlertEscalation workflow: it validates the alert, picks
// its policy, records it and notifies level 1, then loops — waiting for an
// acknowledgement or resolution racing the current deadline, escalating,
// repeating, reminding — until the alert is resolved or exhausted. A run
// started with in.Resume continues a previous run's state.
func Escalation(ctx workflow.Context, in Input) (State, error) {
	e := &escalation{}
	if in.Resume != nil {
		e.s = *in.Resume
	} else {
		if err := in.Validate(); err != nil {
			return State{}, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrInvalidInput, err)
		}
		e.s = State{Raise: in.Raise, Status: alert.StatusOpen}
	}
	ctx = withActivityOptions(ctx)
	if err := e.register(ctx); err != nil {
		return State{}, err
	}
	if in.Resume == nil {
		if err := e.raise(ctx); err != nil {
			return e.s, err
		}
	}
	return e.run(ctx)
}

// withActivityOptions sets how the escalation's activities run. Update
// handlers get the workflow's root context, so they call it too.
func withActivityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		// A database outage must delay an alert, never drop it: retry without
		// limit, backing off to a minute. Invalid input fails at once.
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
		},
	})
}

// escalation is one run's state and the steps that change it.
type escalation struct {
	s State
}

// register installs the query and the updates before anything blocks.
func (e *escalation) register(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (State, error) { return e.s, nil }); err != nil {
		return fmt.Errorf("register query: %w", err)
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateAcknowledge, e.acknowledge, workflow.UpdateHandlerOptions{
		Validator: func(_ workflow.Context, req AcknowledgeRequest) error { return e.s.CanAcknowledge(req.PractitionerID) },
	})
	if err != nil {
		return fmt.Errorf("register acknowledge: %w", err)
	}
	err = workflow.SetUpdateHandlerWithOptions(ctx, UpdateResolve, e.resolve, workflow.UpdateHandlerOptions{
		Validator: func(_ workflow.Context, req ResolveRequest) error { return e.s.CanResolve(req.PractitionerID) },
	})
	if err != nil {
		return fmt.Errorf("register resolve: %w", err)
	}
	return nil
}

// raise picks the policy, records the alert and notifies the first level.
func (e *escalation) raise(ctx workflow.Context) error {
	if err := e.upsertSearch(ctx); err != nil {
		return err
	}
	var policy alert.Policy
	err := workflow.ExecuteActivity(ctx, acts.PreparePolicy, activities.PolicyRequest{
		PolicyID: e.s.Raise.PolicyID, Category: e.s.Raise.Category, Severity: e.s.Raise.Severity,
	}).Get(ctx, &policy)
	if err != nil {
		return err
	}
	e.s.Policy, e.s.Raise.PolicyID = policy, policy.ID
	at := workflow.Now(ctx)
	err = workflow.ExecuteActivity(ctx, acts.RecordRaised, activities.RaisedRequest{Raise: e.s.Raise, PolicyID: policy.ID, At: at}).Get(ctx, nil)
	if err != nil {
		return err
	}
	e.s.Timeline = append(e.s.Timeline, alert.Event{Kind: alert.EventRaised, At: at, Note: e.s.Raise.Source})
	return e.notify(ctx, alert.Step{}, nil)
}

// run waits, escalates and reminds until the alert closes or the history
// asks for a fresh run.
func (e *escalation) run(ctx workflow.Context) (State, error) {
	for {
		if e.s.Status.Closed() {
			// Let a running update handler finish before the workflow completes.
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return e.s, err
			}
			return e.s, nil
		}
		if shouldContinueAsNew(ctx) {
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return e.s, err
			}
			resume := e.s
			return e.s, workflow.NewContinueAsNewError(ctx, WorkflowName, Input{Raise: e.s.Raise, Resume: &resume})
		}
		status := e.s.Status
		wait := e.s.WaitUntil.Sub(workflow.Now(ctx))
		var changed bool
		var err error
		if status == alert.StatusAcknowledged && e.s.Policy.ResolveReminder <= 0 {
			err = workflow.Await(ctx, func() bool { return e.s.Status != status })
			changed = true
		} else {
			// The acknowledgement (or resolution) races the level's timer.
			changed, err = workflow.AwaitWithTimeout(ctx, max(wait, 0), func() bool { return e.s.Status != status })
		}
		if err != nil {
			return e.s, err
		}
		if changed {
			continue
		}
		switch status {
		case alert.StatusOpen:
			err = e.escalate(ctx)
		case alert.StatusAcknowledged:
			err = e.remind(ctx)
		}
		if err != nil {
			return e.s, err
		}
	}
}

// escalate moves to the policy's next step, or ends the alert as exhausted.
func (e *escalation) escalate(ctx workflow.Context) error {
	at := workflow.Now(ctx)
	next, ok := e.s.Policy.Next(e.s.Step)
	if !ok {
		e.s.Status = alert.StatusExhausted
		e.s.Timeline = append(e.s.Timeline, alert.Event{Kind: alert.EventExhausted, At: at, Level: e.s.Step.Level + 1, Round: e.s.Step.Round})
		if err := e.upsertSearch(ctx); err != nil {
			return err
		}
		return workflow.ExecuteActivity(ctx, acts.RecordExhausted, activities.TransitionRequest{AlertID: e.s.Raise.AlertID, At: at}).Get(ctx, nil)
	}
	escalated := alert.Event{Kind: alert.EventEscalated, At: at, Level: next.Level + 1, Round: next.Round,
		Note: fmt.Sprintf("no acknowledgement at level %d", e.s.Step.Level+1)}
	e.s.Timeline = append(e.s.Timeline, escalated)
	return e.notify(ctx, next, &escalated)
}

// notify sends step's notifications and starts its acknowledgement timer.
func (e *escalation) notify(ctx workflow.Context, step alert.Step, escalated *alert.Event) error {
	at := workflow.Now(ctx)
	level := e.s.Policy.Levels[step.Level]
	var sent []alert.Notification
	err := workflow.ExecuteActivity(ctx, acts.Notify, activities.NotifyRequest{
		Raise: e.s.Raise, Step: step, Level: level, Escalated: escalated, At: at,
	}).Get(ctx, &sent)
	if err != nil {
		return err
	}
	e.s.Step = step
	e.s.AddRecipients(sent)
	e.s.Timeline = append(e.s.Timeline, alert.NotifiedEvents(sent)...)
	if e.s.Status == alert.StatusOpen {
		e.s.WaitUntil = at.Add(level.AckTimeout)
	}
	return nil
}

// remind re-notifies whoever acknowledged an alert still unresolved.
func (e *escalation) remind(ctx workflow.Context) error {
	at := workflow.Now(ctx)
	e.s.Reminders++
	level := e.s.Policy.Levels[e.s.Step.Level]
	level.Recipients = []alert.RecipientRule{{Kind: alert.RecipientPractitioner, PractitionerID: e.s.AcknowledgedBy}}
	var sent []alert.Notification
	err := workflow.ExecuteActivity(ctx, acts.Notify, activities.NotifyRequest{
		Raise: e.s.Raise, Step: e.s.Step, Level: level, Kind: "reminder-" + strconv.Itoa(e.s.Reminders), At: at,
	}).Get(ctx, &sent)
	if err != nil {
		return err
	}
	e.s.Timeline = append(e.s.Timeline, alert.NotifiedEvents(sent)...)
	e.s.WaitUntil = at.Add(e.s.Policy.ResolveReminder)
	return nil
}

// acknowledge is the "acknowledge" update; its validator has checked the caller.
func (e *escalation) acknowledge(ctx workflow.Context, req AcknowledgeRequest) (State, error) {
	ctx = withActivityOptions(ctx)
	at := workflow.Now(ctx)
	ev := e.s.Acknowledge(req.PractitionerID, at)
	e.s.WaitUntil = at.Add(e.s.Policy.ResolveReminder)
	if err := e.upsertSearch(ctx); err != nil {
		return e.s, err
	}
	err := workflow.ExecuteActivity(ctx, acts.RecordAcknowledged, activities.TransitionRequest{
		AlertID: e.s.Raise.AlertID, PractitionerID: req.PractitionerID, Name: ev.Name, At: at,
	}).Get(ctx, nil)
	return e.s, err
}

// resolve is the "resolve" update.
func (e *escalation) resolve(ctx workflow.Context, req ResolveRequest) (State, error) {
	ctx = withActivityOptions(ctx)
	at := workflow.Now(ctx)
	ev := e.s.Resolve(req.PractitionerID, req.Note, at)
	if err := e.upsertSearch(ctx); err != nil {
		return e.s, err
	}
	err := workflow.ExecuteActivity(ctx, acts.RecordResolved, activities.TransitionRequest{
		AlertID: e.s.Raise.AlertID, PractitionerID: req.PractitionerID, Name: ev.Name, Note: req.Note, At: at,
	}).Get(ctx, nil)
	return e.s, err
}

func (e *escalation) upsertSearch(ctx workflow.Context) error {
	return workflow.UpsertTypedSearchAttributes(ctx,
		SearchPatientID.ValueSet(e.s.Raise.PatientID.String()), SearchStatus.ValueSet(string(e.s.Status)))
}

func shouldContinueAsNew(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > maxHistoryEvents
}
