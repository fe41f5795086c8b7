package alert

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	activities "github.com/zarish-sphere/zarish/activities/alert"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// acts is only used to name activities; the worker holds the real ones.
var acts *activities.Activities

// versionReachAHuman marks the runs in which an alert always reaches a
// human: a level with nobody to notify is recorded and escalated past at
// once, an alert no level could deliver closes as undeliverable with the
// operator's fallback contact alerted, the status search attribute is
// AlertStatus (not Status), and an acknowledgement or resolution the read
// model refuses leaves the alert as it was. Runs recorded before it replay
// as they ran (testdata/escalation_acknowledged.json).
const versionReachAHuman = "reach-a-human"

// retryPause is how long a step whose activity used up its retry policy
// (a database outage) waits before it is tried again: an alert is late,
// never dropped.
const retryPause = time.Minute

// versionStrictInput marks the runs whose input is checked against the
// current limits; earlier runs may hold longer fields and replay unchecked.
const versionStrictInput = "strict-input"

// Escalation is the AlertEscalation workflow: it validates the alert, picks
// its policy, records it and notifies level 1, then loops — waiting for an
// acknowledgement or resolution racing the current deadline, escalating,
// repeating, reminding — until the alert is resolved, exhausted or
// undeliverable. A run started with in.Resume continues a previous run's state.
func Escalation(ctx workflow.Context, in Input) (State, error) {
	e := &escalation{mu: workflow.NewMutex(ctx)}
	if in.Resume != nil {
		e.s = *in.Resume
	} else {
		// Runs started before versionStrictInput passed the rules of their
		// day (limits have tightened since): they replay as they ran.
		if err := in.Validate(); err != nil &&
			workflow.GetVersion(ctx, versionStrictInput, workflow.DefaultVersion, 1) != workflow.DefaultVersion {
			return State{}, process.InvalidInput(err)
		}
		e.s = State{Raise: in.Raise, Status: alert.StatusOpen}
	}
	e.version = workflow.GetVersion(ctx, versionReachAHuman, workflow.DefaultVersion, 1)
	ctx = withActivityOptions(ctx)
	if err := e.register(ctx); err != nil {
		return State{}, err
	}
	if in.Resume == nil {
		if e.reachesAHuman() {
			// An update waits until the alert is recorded and level 1 notified.
			if err := e.mu.Lock(ctx); err != nil {
				return e.s, err
			}
		}
		err := e.raise(ctx)
		if e.reachesAHuman() {
			e.mu.Unlock()
		}
		if err != nil {
			return e.s, err
		}
	}
	return e.run(ctx)
}

// withActivityOptions sets how the escalation's activities run: the bounded
// retry policy every process shares. A step whose retries run out is tried
// again after retryPause (persist); invalid input fails at once. Update
// handlers get the workflow's root context, so they call it too.
func withActivityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: process.ActivityTimeout,
		RetryPolicy:         process.RetryPolicy(),
	})
}

// escalation is one run's state and the steps that change it.
type escalation struct {
	s State
	// version is versionReachAHuman's: DefaultVersion in runs recorded before it.
	version workflow.Version
	// mu runs the updates one at a time, each recording its change before
	// making it.
	mu workflow.Mutex
	// notifying is set while a step's notifications are being sent: its
	// recipients are known only once the activity returns, but a page can
	// reach one of them (outbox, broker, inbox, her stream) before that.
	notifying bool
}

// reachesAHuman reports whether the run has versionReachAHuman's behaviour.
func (e *escalation) reachesAHuman() bool { return e.version >= 1 }

// register installs the query and the updates before anything blocks.
// Validators refuse with the contract's typed ApplicationErrors, before
// anything is written to the history.
func (e *escalation) register(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (State, error) { return e.s, nil }); err != nil {
		return fmt.Errorf("register query: %w", err)
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateAcknowledge, e.acknowledge, workflow.UpdateHandlerOptions{
		Validator: func(_ workflow.Context, req AcknowledgeRequest) error {
			err := e.s.CanAcknowledge(req.PractitionerID)
			if errors.Is(err, alert.ErrNotRecipient) && e.notifying {
				// Perhaps paged by the step being sent: the handler waits
				// for it and checks again.
				return nil
			}
			return process.Refuse(err, refusals...)
		},
	})
	if err != nil {
		return fmt.Errorf("register acknowledge: %w", err)
	}
	err = workflow.SetUpdateHandlerWithOptions(ctx, UpdateResolve, e.resolve, workflow.UpdateHandlerOptions{
		Validator: func(_ workflow.Context, req ResolveRequest) error {
			return process.Refuse(e.s.CanResolve(req.PractitionerID), refusals...)
		},
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
	err := e.persist(ctx, "prepare policy", func() error {
		return workflow.ExecuteActivity(ctx, acts.PreparePolicy, activities.PolicyRequest{
			PolicyID: e.s.Raise.PolicyID, Category: e.s.Raise.Category, Severity: e.s.Raise.Severity,
		}).Get(ctx, &policy)
	})
	if err != nil {
		return err
	}
	e.s.Policy, e.s.Raise.PolicyID = policy, policy.ID
	at := workflow.Now(ctx)
	err = e.persist(ctx, "record raised", func() error {
		return workflow.ExecuteActivity(ctx, acts.RecordRaised, activities.RaisedRequest{Raise: e.s.Raise, PolicyID: policy.ID, At: at}).Get(ctx, nil)
	})
	if err != nil {
		return err
	}
	e.s.Timeline = append(e.s.Timeline, alert.Event{Kind: alert.EventRaised, At: at, Note: e.s.Raise.Source})
	reached, err := e.notify(ctx, alert.Step{}, nil)
	if err != nil || reached {
		return err
	}
	return e.escalate(ctx, "nobody to notify at level 1")
}

// run waits, escalates and reminds until the alert closes or the history
// asks for a fresh run.
func (e *escalation) run(ctx workflow.Context) (State, error) {
	for {
		if e.s.Status.Closed() {
			// Let a running update handler finish before the workflow
			// completes; one that could not record its change rolls the
			// status back, and the alert goes on.
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return e.s, err
			}
			if e.s.Status.Closed() {
				return e.s, nil
			}
			continue
		}
		if process.ShouldContinueAsNew(ctx) {
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
		if e.reachesAHuman() {
			// An update being recorded finishes first: it may be the
			// acknowledgement that makes this escalation moot.
			if err := e.mu.Lock(ctx); err != nil {
				return e.s, err
			}
			if e.s.Status != status {
				e.mu.Unlock()
				continue
			}
		}
		switch status {
		case alert.StatusOpen:
			err = e.escalate(ctx, fmt.Sprintf("no acknowledgement at level %d", e.s.Step.Level+1))
		case alert.StatusAcknowledged:
			err = e.remind(ctx)
		}
		if e.reachesAHuman() {
			e.mu.Unlock()
		}
		if err != nil {
			return e.s, err
		}
	}
}

// escalate moves to the policy's next step, and on past every step with
// nobody to notify, until a step reaches someone or the walk ends: exhausted
// when somebody was notified and nobody answered, undeliverable when nobody
// could be notified at all (a whole round that reaches nobody ends the walk:
// repeating it at the same moment would reach nobody again). why says what
// ended the current step.
func (e *escalation) escalate(ctx workflow.Context, why string) error {
	for {
		at := workflow.Now(ctx)
		next, ok := e.s.Policy.Next(e.s.Step)
		if e.reachesAHuman() && !e.s.Notified() && (!ok || next.Round > e.s.Step.Round) {
			return e.undeliverable(ctx)
		}
		if !ok {
			e.s.Status = alert.StatusExhausted
			e.s.Timeline = append(e.s.Timeline, alert.Event{Kind: alert.EventExhausted, At: at, Level: e.s.Step.Level + 1, Round: e.s.Step.Round})
			if err := e.upsertSearch(ctx); err != nil {
				return err
			}
			return e.persist(ctx, "record exhausted", func() error {
				return workflow.ExecuteActivity(ctx, acts.RecordExhausted, activities.TransitionRequest{AlertID: e.s.Raise.AlertID, At: at}).Get(ctx, nil)
			})
		}
		escalated := alert.Event{Kind: alert.EventEscalated, At: at, Level: next.Level + 1, Round: next.Round, Note: why}
		e.s.Timeline = append(e.s.Timeline, escalated)
		reached, err := e.notify(ctx, next, &escalated)
		if err != nil || reached || e.s.Status != alert.StatusOpen {
			return err
		}
		why = fmt.Sprintf("nobody to notify at level %d", next.Level+1)
	}
}

// notify sends step's notifications and starts its acknowledgement timer.
// It reports whether anyone was notified; a step with nobody to notify is
// recorded in the timeline (who was missing) and reports false, so the
// caller escalates at once.
func (e *escalation) notify(ctx workflow.Context, step alert.Step, escalated *alert.Event) (bool, error) {
	at := workflow.Now(ctx)
	level := e.s.Policy.Levels[step.Level]
	req := activities.NotifyRequest{Raise: e.s.Raise, Step: step, Level: level, Escalated: escalated, At: at}
	var res activities.NotifyResult
	e.notifying = true
	defer func() { e.notifying = false }()
	err := e.persist(ctx, "notify", func() error {
		if !e.reachesAHuman() {
			return workflow.ExecuteActivity(ctx, acts.Notify, req).Get(ctx, &res.Notifications)
		}
		return workflow.ExecuteActivity(ctx, acts.NotifyStep, req).Get(ctx, &res)
	})
	if err != nil {
		return false, err
	}
	e.s.Step = step
	e.s.AddRecipients(res.Notifications)
	e.s.Timeline = append(e.s.Timeline, alert.NotifiedEvents(res.Notifications)...)
	if res.Unreachable != nil {
		e.s.Timeline = append(e.s.Timeline, *res.Unreachable)
		return false, nil
	}
	if e.s.Status == alert.StatusOpen {
		e.s.WaitUntil = at.Add(level.AckTimeout)
	}
	return true, nil
}

// undeliverable closes an alert no level could deliver, raising the
// operator alarm: the fallback contact is emailed and the read model marks
// the alert undeliverable.
func (e *escalation) undeliverable(ctx workflow.Context) error {
	at := workflow.Now(ctx)
	var sent []alert.Notification
	err := e.persist(ctx, "record undeliverable", func() error {
		return workflow.ExecuteActivity(ctx, acts.RecordUndeliverable, activities.UndeliverableRequest{
			Raise: e.s.Raise, Reasons: e.s.Unreachable(), At: at,
		}).Get(ctx, &sent)
	})
	if err != nil {
		return err
	}
	contact := ""
	if len(sent) > 0 {
		contact = sent[0].Address
	}
	e.s.Status = alert.StatusUndeliverable
	e.s.Timeline = append(e.s.Timeline, alert.UndeliverableEvent(contact, at))
	e.s.Timeline = append(e.s.Timeline, alert.NotifiedEvents(sent)...)
	return e.upsertSearch(ctx)
}

// remind re-notifies whoever acknowledged an alert still unresolved.
func (e *escalation) remind(ctx workflow.Context) error {
	at := workflow.Now(ctx)
	e.s.Reminders++
	level := e.s.Policy.Levels[e.s.Step.Level]
	level.Recipients = []alert.RecipientRule{{Kind: alert.RecipientPractitioner, PractitionerID: e.s.AcknowledgedBy}}
	var sent []alert.Notification
	err := e.persist(ctx, "remind", func() error {
		return workflow.ExecuteActivity(ctx, acts.Notify, activities.NotifyRequest{
			Raise: e.s.Raise, Step: e.s.Step, Level: level, Kind: "reminder-" + strconv.Itoa(e.s.Reminders), At: at,
		}).Get(ctx, &sent)
	})
	if err != nil {
		return err
	}
	e.s.Timeline = append(e.s.Timeline, alert.NotifiedEvents(sent)...)
	e.s.WaitUntil = at.Add(e.s.Policy.ResolveReminder)
	return nil
}

// acknowledge is the "acknowledge" update; its validator has checked the
// caller. The read-model write carries the request's audit record; if it
// fails for good, the alert is left as it was and the update is refused
// (RefusedNotRecorded, RefusedRecordUnavailable).
func (e *escalation) acknowledge(ctx workflow.Context, req AcknowledgeRequest) (State, error) {
	ctx = withActivityOptions(ctx)
	return e.change(ctx, func(s *State) error { return process.Refuse(s.CanAcknowledge(req.PractitionerID), refusals...) },
		func(s *State, at time.Time) activities.TransitionRequest {
			ev := s.Acknowledge(req.PractitionerID, at)
			s.WaitUntil = at.Add(s.Policy.ResolveReminder)
			return activities.TransitionRequest{AlertID: s.Raise.AlertID, PractitionerID: req.PractitionerID, Name: ev.Name, At: at, Audit: req.Audit}
		}, acts.RecordAcknowledged)
}

// resolve is the "resolve" update, recorded like acknowledge.
func (e *escalation) resolve(ctx workflow.Context, req ResolveRequest) (State, error) {
	ctx = withActivityOptions(ctx)
	return e.change(ctx, func(s *State) error { return process.Refuse(s.CanResolve(req.PractitionerID), refusals...) },
		func(s *State, at time.Time) activities.TransitionRequest {
			ev := s.Resolve(req.PractitionerID, req.Note, at)
			return activities.TransitionRequest{AlertID: s.Raise.AlertID, PractitionerID: req.PractitionerID, Name: ev.Name, Note: req.Note, At: at, Audit: req.Audit}
		}, acts.RecordResolved)
}

// change is the skeleton of both updates. The state changes only with its
// read-model write: one update at a time (an earlier one may have changed
// the alert since this one's validator ran, so check runs again), the
// change computed on a copy and recorded, and only then made the
// workflow's state and search attribute. A write that fails for good
// leaves the alert as it was and refuses the update. Runs recorded before
// versionReachAHuman changed the state first, and replay so.
func (e *escalation) change(ctx workflow.Context, check func(*State) error,
	apply func(*State, time.Time) activities.TransitionRequest, record any) (State, error) {
	if !e.reachesAHuman() {
		req := apply(&e.s, workflow.Now(ctx))
		if err := e.upsertSearch(ctx); err != nil {
			return e.s, err
		}
		return e.s, workflow.ExecuteActivity(ctx, record, req).Get(ctx, nil)
	}
	if err := e.mu.Lock(ctx); err != nil {
		return e.s, err
	}
	defer e.mu.Unlock()
	// An acknowledgement accepted while a step was being sent is checked
	// once its recipients are known. (Escalations hold mu while they send;
	// the first level's, sent as the alert is raised, does not.)
	if err := workflow.Await(ctx, func() bool { return !e.notifying }); err != nil {
		return e.s, err
	}
	if err := check(&e.s); err != nil {
		return e.s, err
	}
	at := workflow.Now(ctx)
	next := e.s
	next.Timeline = slices.Clone(e.s.Timeline)
	req := apply(&next, at)
	if err := workflow.ExecuteActivity(ctx, record, req).Get(ctx, nil); err != nil {
		return e.s, notRecorded(err)
	}
	// Recorded: make it the workflow's state. The escalation waits for the
	// lock before it moves on, so the state is the one the change was
	// computed from.
	e.s = next
	return e.s, e.upsertSearch(ctx)
}

// notRecorded is the refusal of a change the read model did not store:
// RefusedNotRecorded when it refused the data, RefusedRecordUnavailable when
// it could not be reached within the retry policy.
func notRecorded(err error) error {
	kind := RefusedRecordUnavailable
	if process.ErrorType(err) == process.TypeInvalidInput {
		kind = RefusedNotRecorded
	}
	return temporal.NewNonRetryableApplicationError("the alert was not changed: "+process.Message(err), kind, err)
}

// persist runs step, an activity that must eventually happen: when its
// retry policy runs out (a database outage), the failure is logged and the
// step tried again after retryPause, for as long as it takes. An error no
// retry can fix (a non-retryable ApplicationError) or the workflow's
// cancellation ends it.
func (e *escalation) persist(ctx workflow.Context, what string, step func() error) error {
	for {
		err := step()
		var app *temporal.ApplicationError
		var canceled *temporal.CanceledError
		if err == nil || (errors.As(err, &app) && app.NonRetryable()) || errors.As(err, &canceled) {
			return err
		}
		workflow.GetLogger(ctx).Error("alert step failed after its retries; trying again", "step", what,
			"alertId", e.s.Raise.AlertID, "retryIn", retryPause, "error", err)
		if err := workflow.Sleep(ctx, retryPause); err != nil {
			return err
		}
	}
}

func (e *escalation) upsertSearch(ctx workflow.Context) error {
	status := SearchAlertStatus
	if !e.reachesAHuman() {
		status = SearchStatus // runs recorded before AlertStatus keep the attribute they started with
	}
	return workflow.UpsertTypedSearchAttributes(ctx,
		SearchPatientID.ValueSet(e.s.Raise.PatientID.String()), status.ValueSet(string(e.s.Status)))
}
