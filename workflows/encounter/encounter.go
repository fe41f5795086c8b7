package encounter

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	activities "github.com/zarish-sphere/zarish/activities/encounter"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/encounter"
	alertwf "github.com/zarish-sphere/zarish/workflows/alert"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// acts is only used to name activities; the worker holds the real ones.
var acts *activities.Activities

// Encounter is the Encounter workflow: it records the new encounter, then
// answers transitions and order signals, raising the triage-overdue and
// encounter-review alerts when their deadlines pass, until the encounter is
// discharged or cancelled. A run started with in.Resume continues a previous
// run's state.
func Encounter(ctx workflow.Context, in Input) (State, error) {
	if in.TriageDeadline <= 0 {
		in.TriageDeadline = DefaultTriageDeadline
	}
	if in.ExpectedLength <= 0 {
		in.ExpectedLength = DefaultExpectedLength
	}
	r := &run{in: in}
	if in.Resume != nil {
		r.s = *in.Resume
		r.created = true
	} else {
		at := in.CreatedAt
		if at.IsZero() {
			at = workflow.Now(ctx)
		}
		s, err := encounter.New(in.Details(), at)
		if err != nil {
			// Runs started before versionStrictInput passed the rules of
			// their day: they replay as they ran. Later ones are refused.
			if workflow.GetVersion(ctx, versionStrictInput, workflow.DefaultVersion, 1) != workflow.DefaultVersion {
				return State{}, process.InvalidInput(err)
			}
			s = encounter.Open(in.Details(), at)
		}
		r.s = s
	}
	ctx = withActivityOptions(ctx)
	r.local = workflow.GetVersion(ctx, versionLocalRecords, workflow.DefaultVersion, 1) == 1
	r.atomic = workflow.GetVersion(ctx, versionAtomicTransitions, workflow.DefaultVersion, 1) == 1
	// The read-model row starts from the state as created: an update handled
	// before RecordCreated runs records its own entry (and event) afterwards.
	initial := r.s
	if err := r.register(ctx); err != nil {
		return State{}, err
	}
	if in.Resume == nil {
		if err := r.upsertSearch(ctx); err != nil {
			return r.s, err
		}
		if err := r.write(ctx, acts.RecordCreated, activities.CreatedRequest{State: initial}); err != nil {
			return r.s, err
		}
		r.created = true
	}
	return r.loop(ctx)
}

// withActivityOptions sets how the encounter's activities run. Update
// handlers get the workflow's root context, so they call it too.
func withActivityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: process.ActivityTimeout,
		RetryPolicy:         process.RetryPolicy(),
	})
}

// run is one run's input, state, and the steps that change it.
type run struct {
	in Input
	s  State
	// recording counts entries whose activity has not finished; the run
	// neither ends nor continues as new before they are recorded.
	recording int
	// created is set once the read-model row exists; entries wait for it,
	// since an update may arrive while RecordCreated is still running.
	created bool
	// local is set when the read model is written with local activities
	// (versionLocalRecords).
	local bool
	// atomic is set when a transition changes the state only once its
	// read-model write succeeded (versionAtomicTransitions); busy holds
	// the next transition back until the one before it is recorded.
	atomic bool
	busy   bool
	// pending is the state the transition being recorded will leave, which
	// validators judge the next request against.
	pending *State
	linked  workflow.ReceiveChannel
	closed  workflow.ReceiveChannel
}

// register installs the query, the updates and the order signals before
// anything blocks.
func (r *run) register(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (State, error) { return r.s, nil }); err != nil {
		return fmt.Errorf("register query: %w", err)
	}
	updates := []struct {
		name      string
		handler   any
		validator any
	}{
		{UpdateArrive, func(ctx workflow.Context, req ArriveRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(s State, at time.Time) (State, error) { return s.Arrive(req.By, at) })
		}, func(_ workflow.Context, req ArriveRequest) error {
			return refuse(requireBy(req.By), r.current().CanArrive())
		}},
		{UpdateTriage, func(ctx workflow.Context, req TriageRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(s State, at time.Time) (State, error) {
				return s.Triage(req.By, at, req.Acuity, req.ChiefComplaint)
			})
		}, func(_ workflow.Context, req TriageRequest) error {
			return refuse(requireBy(req.By), r.current().CanTriage(req.Acuity, req.ChiefComplaint))
		}},
		{UpdateStart, func(ctx workflow.Context, req StartRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(s State, at time.Time) (State, error) { return s.Start(req.By, at, req.Attending) })
		}, func(_ workflow.Context, req StartRequest) error {
			return refuse(requireBy(req.By), r.current().CanStart(req.Attending))
		}},
		{UpdateTransfer, func(ctx workflow.Context, req TransferRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(s State, at time.Time) (State, error) { return s.Transfer(req.By, at, req.Location) })
		}, func(_ workflow.Context, req TransferRequest) error {
			return refuse(requireBy(req.By), r.current().CanTransfer(req.Location))
		}},
		{UpdateDischarge, func(ctx workflow.Context, req DischargeRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(s State, at time.Time) (State, error) {
				return s.Discharge(req.By, at, req.Disposition, req.Force, req.Reason)
			})
		}, func(_ workflow.Context, req DischargeRequest) error {
			return refuse(requireBy(req.By), r.current().CanDischarge(req.Disposition, req.Force, req.Reason))
		}},
		{UpdateCancel, func(ctx workflow.Context, req CancelRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(s State, at time.Time) (State, error) { return s.Cancel(req.By, at, req.Reason) })
		}, func(_ workflow.Context, req CancelRequest) error {
			return refuse(requireBy(req.By), r.current().CanCancel(req.Reason))
		}},
	}
	for _, u := range updates {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, u.name, u.handler, workflow.UpdateHandlerOptions{Validator: u.validator}); err != nil {
			return fmt.Errorf("register %s: %w", u.name, err)
		}
	}
	r.linked = workflow.GetSignalChannel(ctx, SignalOrderLinked)
	r.closed = workflow.GetSignalChannel(ctx, SignalOrderClosed)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var o OrderSignal
			r.linked.Receive(ctx, &o)
			r.linkOrder(ctx, o)
		}
	})
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var o OrderSignal
			r.closed.Receive(ctx, &o)
			r.closeOrder(ctx, o)
		}
	})
	return nil
}

// errByRequired rejects a transition nobody is named as doing.
var errByRequired = fmt.Errorf("%w: by (the practitioner) is required", encounter.ErrInvalidArgument)

func requireBy(by uuid.UUID) error {
	if by == uuid.Nil {
		return errByRequired
	}
	return nil
}

// refuse answers the first of errs as the typed refusal its sentinel maps
// to, or nil.
func refuse(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return process.Refuse(err, refusals...)
		}
	}
	return nil
}

// versionStrictInput marks the runs whose input is checked against the
// current limits at the start; a run begun earlier may hold details longer
// than today's limits allow, and replays unchecked.
const versionStrictInput = "strict-input"

// versionAtomicTransitions marks the runs whose transitions change the
// workflow's state only together with their read-model write: a write that
// fails for good refuses the Update and leaves the encounter as it was.
// Earlier runs changed the state first, and replay so.
const versionAtomicTransitions = "atomic-transitions"

// apply runs a transition the validator has accepted. Since
// versionAtomicTransitions, transitions run one at a time: each is computed
// on the state the one before left, recorded with rec (the audit record of
// the request) in the read model, and only then becomes the workflow's
// state and search attributes.
func (r *run) apply(ctx workflow.Context, rec *audit.Record, transition func(s State, at time.Time) (State, error)) (State, error) {
	ctx = withActivityOptions(ctx)
	if !r.atomic {
		next, err := transition(r.s, workflow.Now(ctx))
		if err != nil {
			return r.s, err
		}
		r.s = next
		if err := r.upsertSearch(ctx); err != nil {
			return r.s, err
		}
		return r.s, r.record(ctx, r.s, r.s.Last(), rec)
	}
	release, err := r.exclusive(ctx)
	if err != nil {
		return r.s, err
	}
	defer release()
	// The validator saw the state before any change queued ahead of this
	// one; the rules check again here.
	next, err := transition(r.s, workflow.Now(ctx))
	if err != nil {
		return r.s, refuse(err)
	}
	r.pending = &next
	err = r.record(ctx, next, next.Last(), rec)
	r.pending = nil
	if err != nil {
		return r.s, process.NotRecorded(err, RefusedNotRecorded, RefusedRecordUnavailable)
	}
	next.Alerts = r.s.Alerts // an alert raised meanwhile stays raised
	r.s = next
	return r.s, r.upsertSearch(ctx)
}

// current is the state a new request is judged against: the one the
// transition being recorded will leave, else the workflow's.
func (r *run) current() State {
	if r.pending != nil {
		return *r.pending
	}
	return r.s
}

// exclusive waits until no other change of the state is being recorded and
// holds the state until release; in runs before versionAtomicTransitions
// it holds nothing.
func (r *run) exclusive(ctx workflow.Context) (release func(), err error) {
	if !r.atomic {
		return func() {}, nil
	}
	if err := workflow.Await(ctx, func() bool { return !r.busy }); err != nil {
		return nil, err
	}
	r.busy = true
	return func() { r.busy = false }, nil
}

// record writes entry e of state s to the read model, with the audit
// record of the request that asked for it.
func (r *run) record(ctx workflow.Context, s State, e encounter.Entry, rec *audit.Record) error {
	r.recording++
	defer func() { r.recording-- }()
	if err := workflow.Await(ctx, func() bool { return r.created }); err != nil {
		return err
	}
	return r.write(ctx, acts.RecordTransition, activities.TransitionRequest{State: s, Entry: e, Audit: rec})
}

// versionLocalRecords marks the runs that write the read model with local
// activities; runs recorded before it used regular ones, and replay so.
const versionLocalRecords = "local-read-model-writes"

// write runs a read-model activity. Since versionLocalRecords it is a local
// activity: one short, idempotent database write needs no round trip through
// the task queue, which took most of a transition's time under load. The
// retry policy is the same; a long outage is retried across workflow tasks.
func (r *run) write(ctx workflow.Context, activity, req any) error {
	if !r.local {
		return workflow.ExecuteActivity(ctx, activity, req).Get(ctx, nil)
	}
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         process.RetryPolicy(),
	})
	return workflow.ExecuteLocalActivity(ctx, activity, req).Get(ctx, nil)
}

// linkOrder handles the order-linked signal; a repeated or malformed
// signal changes nothing.
func (r *run) linkOrder(ctx workflow.Context, o OrderSignal) {
	release, err := r.exclusive(ctx)
	if err != nil {
		return
	}
	defer release()
	if r.s.Status.Closed() {
		return
	}
	next, ok := r.s.LinkOrder(o.OrderID, o.Kind, workflow.Now(ctx))
	if !ok {
		workflow.GetLogger(ctx).Warn("order-linked ignored", "orderId", o.OrderID, "kind", o.Kind)
		return
	}
	r.recordSignalled(ctx, next)
}

// closeOrder handles the order-closed signal.
func (r *run) closeOrder(ctx workflow.Context, o OrderSignal) {
	release, err := r.exclusive(ctx)
	if err != nil {
		return
	}
	defer release()
	if r.s.Status.Closed() {
		return
	}
	next, ok := r.s.CloseOrder(o.OrderID, workflow.Now(ctx))
	if !ok {
		workflow.GetLogger(ctx).Warn("order-closed ignored", "orderId", o.OrderID)
		return
	}
	r.recordSignalled(ctx, next)
}

// recordSignalled makes an order change the state and records it. Another
// process's signal cannot be refused, so the change stands even when its
// record fails after the retry policy; that is logged, and the next
// transition's write carries the whole state to the read model.
func (r *run) recordSignalled(ctx workflow.Context, next State) {
	r.s = next
	if err := r.record(ctx, r.s, r.s.Last(), nil); err != nil {
		workflow.GetLogger(ctx).Error("record order change", "encounterId", r.s.Details.EncounterID, "error", err)
	}
}

// drainSignals applies the order signals already delivered, so none is lost
// when the run ends or continues as new.
func (r *run) drainSignals(ctx workflow.Context) {
	var o OrderSignal
	for r.linked.ReceiveAsync(&o) {
		r.linkOrder(ctx, o)
	}
	for r.closed.ReceiveAsync(&o) {
		r.closeOrder(ctx, o)
	}
}

// settle waits until no update handler is running and every entry is recorded.
func (r *run) settle(ctx workflow.Context) error {
	r.drainSignals(ctx)
	return workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) && r.recording == 0 })
}

// loop waits for transitions and deadlines until the encounter closes or
// the history asks for a fresh run.
func (r *run) loop(ctx workflow.Context) (State, error) {
	for {
		if r.s.Status.Closed() {
			if err := r.settle(ctx); err != nil {
				return r.s, err
			}
			return r.s, nil
		}
		if process.ShouldContinueAsNew(ctx) {
			if err := r.settle(ctx); err != nil {
				return r.s, err
			}
			next := r.in
			resume := r.s
			next.Resume = &resume
			return r.s, workflow.NewContinueAsNewError(ctx, WorkflowName, next)
		}
		n := len(r.s.Timeline)
		changed := func() bool { return len(r.s.Timeline) != n }
		due, category := r.deadline()
		if due.IsZero() {
			if err := workflow.Await(ctx, changed); err != nil {
				return r.s, err
			}
			continue
		}
		ok, err := workflow.AwaitWithTimeout(ctx, max(due.Sub(workflow.Now(ctx)), 0), changed)
		if err != nil {
			return r.s, err
		}
		if !ok {
			r.raise(ctx, category)
		}
	}
}

// deadline is when the next alert falls due and its category; zero when none
// is pending: triage is due TriageDeadline after arrival, the review
// ExpectedLength after care started. Each is raised once per encounter.
func (r *run) deadline() (time.Time, string) {
	switch {
	case r.s.Status == encounter.StatusArrived && !r.s.HasAlert(CategoryTriageOverdue):
		return r.s.ArrivedAt.Add(r.in.TriageDeadline), CategoryTriageOverdue
	case r.s.Status == encounter.StatusInProgress && !r.s.HasAlert(CategoryReview):
		return r.s.StartedAt.Add(r.in.ExpectedLength), CategoryReview
	}
	return time.Time{}, ""
}

// raise starts the category's alert as an abandoned child of the encounter.
// Its id is derived from the encounter, so a replayed or repeated raise is a
// duplicate Temporal refuses rather than a second alert.
func (r *run) raise(ctx workflow.Context, category string) {
	d := r.s.Details
	source := encounter.Source(d.EncounterID)
	alertID := alert.OccurrenceID(d.PatientID, category, source, 0)
	message := fmt.Sprintf("Triage not done %s after arrival", r.in.TriageDeadline)
	if category == CategoryReview {
		message = fmt.Sprintf("Encounter in progress longer than %s: review", r.in.ExpectedLength)
	}
	encounterID := d.EncounterID
	at := workflow.Now(ctx)
	r.s = r.s.AddAlert(encounter.RaisedAlert{AlertID: alertID, Category: category, At: at})
	f, err := alertwf.StartChild(ctx, alertwf.Input{Raise: alert.Raise{
		AlertID: alertID, PatientID: d.PatientID, EncounterID: &encounterID, Unit: r.s.Location,
		Severity: alert.SeverityUrgent, Category: category, Message: message, Source: source,
	}})
	if err == nil {
		err = f.GetChildWorkflowExecution().Get(ctx, nil)
	}
	var running *temporal.ChildWorkflowExecutionAlreadyStartedError
	if err != nil && !errors.As(err, &running) {
		workflow.GetLogger(ctx).Error("raise alert", "encounterId", d.EncounterID, "category", category, "error", err)
	}
}

func (r *run) upsertSearch(ctx workflow.Context) error {
	return workflow.UpsertTypedSearchAttributes(ctx,
		SearchPatientID.ValueSet(r.s.Details.PatientID.String()), SearchStatus.ValueSet(string(r.s.Status)))
}
