package diagnostic

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	activities "github.com/zarish-sphere/zarish/activities/diagnostic"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/encounter"
	encounterwf "github.com/zarish-sphere/zarish/workflows/encounter"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// acts is only used to name activities; the worker holds the real ones.
var acts *activities.Activities

// recordAgain is how soon a step of the process's own (a missed target, a
// release when due) whose write failed after its retries is tried again.
const recordAgain = time.Minute

// closeLinger is how long a cancelled or withdrawn report's run waits before
// it ends.
const closeLinger = time.Second

// DiagnosticReport is the DiagnosticReport workflow: it tells the encounter
// of the order, then answers the steps until the order is cancelled or the
// report entered in error, keeping one timer for the earliest of the next
// turnaround deadline and the release to the patient. A verified report's
// run goes on, for its amendments, corrections, openings and release.
func DiagnosticReport(ctx workflow.Context, in Input) (State, error) {
	r := &run{in: in, r: in.Report}
	if in.Resume != nil {
		r.r, r.alerts, r.told = in.Resume.Report, in.Resume.Alerts, in.Resume.EncounterTold
	}
	if err := r.register(ctx); err != nil {
		return r.r, err
	}
	if in.Resume == nil {
		r.tellEncounter(ctx, encounterwf.SignalOrderLinked)
	}
	return r.loop(ctx)
}

// run is one run's input, state, and the steps that change it.
type run struct {
	in     Input
	r      State
	alerts Alerts
	// told is set once the encounter was told the order closed.
	told bool
	// busy holds the next change back until the one before it is recorded;
	// pending is the state that change will leave, which validators judge
	// the next request against.
	busy    bool
	pending *State
	// retryAt is when a step of the process's own whose write failed is
	// tried again; zero when none failed.
	retryAt time.Time
	// timer is the one timer set, for the earliest deadline; nil when none.
	timer *timer
}

// localOptions are the options of the short database activities.
func localOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         process.RetryPolicy(),
	})
}

// register installs the query and the Updates before anything blocks.
func (r *run) register(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (State, error) { return r.r, nil }); err != nil {
		return fmt.Errorf("register query: %w", err)
	}
	for _, u := range r.updates() {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, u.name, u.handler, workflow.UpdateHandlerOptions{Validator: u.validator}); err != nil {
			return fmt.Errorf("register %s: %w", u.name, err)
		}
	}
	return nil
}

// refuse answers err as the typed refusal its sentinel maps to, or nil.
func refuse(err error) error { return process.Refuse(err, refusals...) }

// apply runs a step the validator accepted: one change at a time, computed
// on the state the one before left, recorded with rec (the audit record of
// the request) in the read model, and only then the workflow's state. A
// step that changes nothing (a result delivered again) is still recorded
// when it carries an audit record, so the request is audited.
func (r *run) apply(ctx workflow.Context, rec *audit.Record, step func(p State, at time.Time) (State, error)) (State, error) {
	release, err := r.exclusive(ctx)
	if err != nil {
		return r.r, err
	}
	defer release()
	// The validator saw the state before any change queued ahead of this
	// one; the rules check again here.
	next, err := step(r.r, workflow.Now(ctx))
	if err != nil {
		return r.r, refuse(err)
	}
	if next.Version == r.r.Version && rec == nil {
		return r.r, nil
	}
	return r.commit(ctx, next, rec)
}

// commit records next with rec and makes it the state; a write that fails
// refuses the step and leaves the report as it was.
func (r *run) commit(ctx workflow.Context, next State, rec *audit.Record) (State, error) {
	r.pending = &next
	err := r.record(ctx, next, rec)
	r.pending = nil
	if err != nil {
		return r.r, process.NotRecorded(err, RefusedNotRecorded, RefusedRecordUnavailable)
	}
	status := r.r.Status
	r.r = next
	// Openings and callbacks leave the status as it was: only a new status
	// is worth an event in the history.
	if r.r.Status != status {
		r.upsertSearch(ctx)
	}
	return r.r, nil
}

// current is the state a new request is judged against.
func (r *run) current() State {
	if r.pending != nil {
		return *r.pending
	}
	return r.r
}

// exclusive waits until no other change is being recorded and holds the
// state until release.
func (r *run) exclusive(ctx workflow.Context) (release func(), err error) {
	if err := workflow.Await(ctx, func() bool { return !r.busy }); err != nil {
		return nil, err
	}
	r.busy = true
	return func() { r.busy = false }, nil
}

// record writes p to the read model with rec.
func (r *run) record(ctx workflow.Context, p State, rec *audit.Record) error {
	return workflow.ExecuteLocalActivity(localOptions(ctx), acts.RecordReport,
		activities.RecordRequest{Report: p, Audit: rec}).Get(ctx, nil)
}

// loop waits for steps and deadlines until the report is cancelled or
// withdrawn, or the history asks for a fresh run.
func (r *run) loop(ctx workflow.Context) (State, error) {
	for {
		// Taken first, so a change recorded while the alerts are settled
		// wakes the wait below at once.
		version := r.r.Version
		changed := func() bool { return r.r.Version != version }
		r.settleAlerts(ctx)
		r.tellClosed(ctx)
		if r.r.Status.Closed() {
			return r.finish(ctx)
		}
		if process.ShouldContinueAsNew(ctx) {
			if err := r.settle(ctx); err != nil {
				return r.r, err
			}
			// What the last handlers changed is settled by the next run,
			// from the state and alerts it is handed.
			next := r.in
			next.Resume = &Resume{Report: r.r, Alerts: r.alerts, EncounterTold: r.told}
			return r.r, workflow.NewContinueAsNewError(ctx, WorkflowName, next)
		}
		r.due(ctx)
		at, ok := r.deadline(workflow.Now(ctx))
		if err := r.wait(ctx, changed, at, ok); err != nil {
			return r.r, err
		}
	}
}

// timer is the run's one timer: when it fires, and how to cancel it.
type timer struct {
	at     time.Time
	fired  workflow.Future
	cancel workflow.CancelFunc
}

// wait blocks until changed reports a change or the deadline at (when ok)
// passes. The run keeps one timer, for the earliest deadline: a timer for a
// deadline that moved is cancelled, one for the same deadline is kept.
func (r *run) wait(ctx workflow.Context, changed func() bool, at time.Time, ok bool) error {
	if r.timer != nil && (!ok || !r.timer.at.Equal(at)) {
		r.timer.cancel()
		r.timer = nil
	}
	if ok && r.timer == nil {
		timerCtx, cancel := workflow.WithCancel(ctx)
		r.timer = &timer{at: at, fired: workflow.NewTimer(timerCtx, at.Sub(workflow.Now(ctx))), cancel: cancel}
	}
	t := r.timer
	fired := func() bool { return t != nil && t.fired.IsReady() }
	err := workflow.Await(ctx, func() bool { return changed() || fired() })
	if fired() {
		r.timer = nil
	}
	return err
}

// deadline is the earliest time the process owes the report something
// after now: the next turnaround deadline, the release to the patient, or
// the retry of a write that failed. False when it owes nothing.
func (r *run) deadline(now time.Time) (time.Time, bool) {
	var at time.Time
	consider := func(t time.Time) {
		if at.IsZero() || t.Before(at) {
			at = t
		}
	}
	if t, ok := r.r.NextDeadline(now); ok {
		consider(t)
	}
	if t, ok := r.r.ReleaseDue(); ok && t.After(now) {
		consider(t)
	}
	if !r.retryAt.IsZero() {
		consider(r.retryAt)
	}
	return at, !at.IsZero()
}

// due records what the process owes the report now: the turnaround targets
// missed, and the release to the patient once its delay has run out. A
// write that fails is tried again recordAgain later.
func (r *run) due(ctx workflow.Context) {
	now := workflow.Now(ctx)
	if !r.retryAt.IsZero() && now.Before(r.retryAt) {
		return
	}
	r.retryAt = time.Time{}
	if _, ok := owed(r.r, now); !ok {
		return
	}
	release, err := r.exclusive(ctx)
	if err != nil {
		return
	}
	defer release()
	now = workflow.Now(ctx)
	next, ok := owed(r.r, now)
	if !ok {
		return
	}
	if _, err := r.commit(ctx, next, nil); err != nil {
		workflow.GetLogger(ctx).Error("record a missed target or the release; trying again later",
			"orderId", r.r.Order.ID, "error", err)
		r.retryAt = now.Add(recordAgain)
	}
}

// owed is p after what the process owes it at now, and whether that is
// anything: the targets missed, and the release once it is due.
func owed(p State, now time.Time) (State, bool) {
	next, _ := p.Overdue(now)
	if due, ok := next.ReleaseDue(); ok && !now.Before(due) {
		if released, err := next.ReleaseWhenDue(now); err == nil {
			next = released
		}
	}
	return next, next.Version != p.Version
}

// tellClosed tells the encounter, once, that the order is done: its report
// final, or the order cancelled or withdrawn.
func (r *run) tellClosed(ctx workflow.Context) {
	if r.told || (r.r.Verification == nil && !r.r.Status.Closed()) {
		return
	}
	r.tellEncounter(ctx, encounterwf.SignalOrderClosed)
	r.told = true
}

// tellEncounter signals the order's encounter that it was placed or is done.
// An encounter that has closed needs no telling.
func (r *run) tellEncounter(ctx workflow.Context, signal string) {
	o := r.r.Order
	if o.EncounterID == nil {
		return
	}
	s := encounterwf.OrderSignal{OrderID: o.ID, Kind: encounter.OrderDiagnostic}
	err := workflow.SignalExternalWorkflow(ctx, encounterwf.WorkflowID(*o.EncounterID), "", signal, s).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Warn("encounter not told of the diagnostic order", "encounterId", *o.EncounterID,
			"signal", signal, "error", err)
	}
}

// finish ends a cancelled or withdrawn report's run once every handler has
// finished and its alerts are settled.
func (r *run) finish(ctx workflow.Context) (State, error) {
	if err := r.settle(ctx); err != nil {
		return r.r, err
	}
	r.settleAlerts(ctx)
	r.tellClosed(ctx)
	if r.timer != nil {
		// A closed report owes nothing more: no deadline, no release.
		r.timer.cancel()
		r.timer = nil
	}
	// The step that closed the report is answered in this workflow task; the
	// run ends in the next one. Ending in the same task would let an event
	// arriving meanwhile (an alert's child starting, another Update) fail
	// the task and, with it, the step's answer to its caller.
	if err := workflow.Sleep(ctx, closeLinger); err != nil {
		return r.r, err
	}
	return r.r, nil
}

// settle waits until no Update handler is running.
func (r *run) settle(ctx workflow.Context) error {
	return workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) && !r.busy })
}

func (r *run) upsertSearch(ctx workflow.Context) {
	err := workflow.UpsertTypedSearchAttributes(ctx,
		SearchPatientID.ValueSet(r.r.Order.PatientID.String()), SearchStatus.ValueSet(string(r.r.Status)))
	if err != nil {
		workflow.GetLogger(ctx).Error("search attributes", "orderId", r.r.Order.ID, "error", err)
	}
}
