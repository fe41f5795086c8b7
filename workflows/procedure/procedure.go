package procedure

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	activities "github.com/zarish-sphere/zarish/activities/procedure"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/procedure"
	encounterwf "github.com/zarish-sphere/zarish/workflows/encounter"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// acts is only used to name activities; the worker holds the real ones.
var acts *activities.Activities

// recordAgain is how soon a step of the process's own (a lapsed hold, a
// reminder, a no-show) whose write failed is tried again.
const recordAgain = time.Minute

// closeLinger is how long a closed procedure's run waits before it ends.
const closeLinger = time.Second

// bumpWait is how long an emergency waits for the cases it bumped to
// release their slot before it searches again, and bumpRounds how many
// times it does.
const (
	bumpWait   = 2 * time.Second
	bumpRounds = 5
)

// bumpedWait is how long a bumped case waits before it searches again, so
// that the emergency, searching bumpWait after it told it, goes first.
const bumpedWait = 2 * bumpWait

// ProcedureScheduling is the procedure workflow: it tells the encounter of
// the request, searches for and holds the earliest slot, then answers the
// steps until the procedure is completed, cancelled or a no-show, keeping
// one timer for the earliest of the hold's lapse, the next reminder and the
// no-show.
func ProcedureScheduling(ctx workflow.Context, in Input) (State, error) {
	r := &run{in: in, p: in.Procedure, autoBook: in.AutoBook}
	if in.Resume != nil {
		r.p, r.autoBook = in.Resume.Procedure, in.Resume.AutoBook
		r.alerts, r.raised = in.Resume.Alerts, in.Resume.Raised
	}
	if err := r.register(ctx); err != nil {
		return r.p, err
	}
	if in.Resume == nil {
		r.tellEncounter(ctx, encounterwf.SignalOrderLinked)
	}
	return r.loop(ctx)
}

// run is one run's input, state, and the steps that change it.
type run struct {
	in Input
	p  State
	// autoBook books the next hold at once: an emergency, or a procedure
	// moved by one from its booked slot.
	autoBook bool
	// searched is set once the first search has run, for the scheduled
	// Update.
	searched bool
	told     bool
	busy     bool
	pending  *State
	retryAt  time.Time
	timer    *timer
	bumped   workflow.ReceiveChannel
	// alerts are the open alerts the run raised, raised counts every one.
	alerts []uuid.UUID
	raised int
}

// localOptions are the options of the short database activities.
func localOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         process.RetryPolicy(),
	})
}

func (r *run) register(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (State, error) { return r.p, nil }); err != nil {
		return fmt.Errorf("register query: %w", err)
	}
	err := workflow.SetUpdateHandler(ctx, UpdateScheduled, func(ctx workflow.Context) (State, error) {
		// Answered once the first search has run — its automatic booking
		// included — or, in a run resumed past it, once nothing is running.
		err := workflow.Await(ctx, func() bool { return r.searched || (r.p.Status != procedure.StatusRequested && !r.busy) })
		return r.p, err
	})
	if err != nil {
		return fmt.Errorf("register %s: %w", UpdateScheduled, err)
	}
	for _, u := range r.updates() {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, u.name, u.handler, workflow.UpdateHandlerOptions{Validator: u.validator}); err != nil {
			return fmt.Errorf("register %s: %w", u.name, err)
		}
	}
	r.bumped = workflow.GetSignalChannel(ctx, SignalBumped)
	return nil
}

// refuse answers err as the typed refusal its sentinel maps to, or nil.
func refuse(err error) error { return process.Refuse(err, refusals...) }

// apply runs a step the validator accepted: one change at a time, computed
// on the state the one before left, recorded with rec, and only then the
// workflow's state.
func (r *run) apply(ctx workflow.Context, rec *audit.Record, step func(p State, at time.Time) (State, error)) (State, error) {
	release, err := r.exclusive(ctx)
	if err != nil {
		return r.p, err
	}
	defer release()
	next, err := step(r.p, workflow.Now(ctx))
	if err != nil {
		return r.p, refuse(err)
	}
	return r.commit(ctx, next, rec)
}

// commit records next with rec and makes it the state; a write that fails
// refuses the step and leaves the procedure as it was.
func (r *run) commit(ctx workflow.Context, next State, rec *audit.Record) (State, error) {
	r.pending = &next
	err := workflow.ExecuteLocalActivity(localOptions(ctx), acts.RecordProcedure,
		activities.RecordRequest{Procedure: next, Audit: rec}).Get(ctx, nil)
	r.pending = nil
	if err != nil {
		return r.p, process.NotRecorded(err, RefusedNotRecorded, RefusedRecordUnavailable)
	}
	status := r.p.Status
	r.p = next
	if r.p.Status != status {
		r.upsertSearch(ctx)
	}
	return r.p, nil
}

// current is the state a new request is judged against.
func (r *run) current() State {
	if r.pending != nil {
		return *r.pending
	}
	return r.p
}

func (r *run) exclusive(ctx workflow.Context) (release func(), err error) {
	if err := workflow.Await(ctx, func() bool { return !r.busy }); err != nil {
		return nil, err
	}
	r.busy = true
	return func() { r.busy = false }, nil
}

// holdFor is how long a hold lasts.
func (r *run) holdFor() time.Duration {
	if r.in.HoldFor > 0 {
		return r.in.HoldFor
	}
	return DefaultHoldFor
}

// search finds a slot in window and holds it, or swaps it for the booked
// one when swap is set. An emergency bumps elective cases when nothing
// else is free: it tells them, waits for them to let go, and searches
// again. It returns the result of the last search.
func (r *run) search(ctx workflow.Context, window procedure.Period, swap bool) (activities.HoldResult, error) {
	now := workflow.Now(ctx)
	if window.From.Before(now) {
		window.From = now
	}
	req := activities.HoldRequest{Procedure: r.p, Window: window, ExpiresAt: now.Add(r.holdFor()), Swap: swap,
		Bump: r.p.Request.Priority == procedure.PriorityEmergency}
	for round := 0; ; round++ {
		if !window.From.Before(window.To) {
			return activities.HoldResult{NoSlot: &procedure.SearchOutcome{Reason: "the window has passed", At: now}}, nil
		}
		// A fresh result each round: decoding into the last one would keep
		// its bumps when this one has none.
		var res activities.HoldResult
		if err := workflow.ExecuteLocalActivity(localOptions(ctx), acts.HoldSlot, req).Get(ctx, &res); err != nil {
			return res, err
		}
		if len(res.Bumps) == 0 || round == bumpRounds {
			if len(res.Bumps) > 0 {
				res = activities.HoldResult{NoSlot: &procedure.SearchOutcome{
					Reason: "the elective cases holding the slot did not let go of it in time", At: workflow.Now(ctx)}}
			}
			return res, nil
		}
		for _, id := range res.Bumps {
			err := workflow.SignalExternalWorkflow(ctx, WorkflowID(id), "", SignalBumped, Bumped{EmergencyID: r.p.Request.ID}).Get(ctx, nil)
			if err != nil {
				workflow.GetLogger(ctx).Warn("bumped procedure not told", "procedureId", id, "error", err)
			}
		}
		if err := workflow.Sleep(ctx, bumpWait); err != nil {
			return res, err
		}
		// The search goes on from now: a slot that started while the
		// bumped cases let go cannot be held.
		if now = workflow.Now(ctx); window.From.Before(now) {
			window.From = now
		}
		req.Window, req.ExpiresAt = window, now.Add(r.holdFor())
	}
}

// schedule runs the search a requested or unscheduled procedure waits for,
// and records what it found; an automatic booking follows a hold.
func (r *run) schedule(ctx workflow.Context) {
	release, err := r.exclusive(ctx)
	if err != nil {
		return
	}
	defer release()
	defer func() { r.searched = true }()
	res, err := r.search(ctx, r.p.Request.Window, false)
	now := workflow.Now(ctx)
	if err != nil {
		workflow.GetLogger(ctx).Error("search for a slot; trying again later", "procedureId", r.p.Request.ID, "error", err)
		r.retryAt = now.Add(recordAgain)
		return
	}
	if !res.Held {
		next, err := r.p.SearchFailed(*res.NoSlot, now)
		if err == nil {
			_, err = r.commit(ctx, next, nil)
		}
		if err != nil {
			workflow.GetLogger(ctx).Error("record no slot", "procedureId", r.p.Request.ID, "error", err)
		}
		return
	}
	next, err := r.p.Hold(*res.Slot, now.Add(r.holdFor()), now)
	if err == nil {
		_, err = r.commit(ctx, next, nil)
	}
	if err != nil {
		// Compensation: a hold the procedure does not record is let go.
		r.releaseSlot(ctx)
		workflow.GetLogger(ctx).Error("record the hold; searching again later", "procedureId", r.p.Request.ID, "error", err)
		r.retryAt = now.Add(recordAgain)
		return
	}
	if r.autoBook {
		if _, err := r.book(ctx, uuid.Nil, nil); err != nil {
			workflow.GetLogger(ctx).Error("book automatically", "procedureId", r.p.Request.ID, "error", err)
		}
	}
}

// book confirms the hold, then records it; the caller holds the state.
func (r *run) book(ctx workflow.Context, by uuid.UUID, rec *audit.Record) (State, error) {
	if _, err := r.p.Book(by, workflow.Now(ctx)); err != nil {
		return r.p, refuse(err)
	}
	err := workflow.ExecuteLocalActivity(localOptions(ctx), acts.BookHold,
		activities.BookRequest{ProcedureID: r.p.Request.ID}).Get(ctx, nil)
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.Type() == activities.TypeHoldLapsed {
		return r.p, temporal.NewNonRetryableApplicationError("the hold lapsed before it was booked", RefusedHoldLapsed, err)
	}
	if err != nil {
		return r.p, process.NotRecorded(err, RefusedNotRecorded, RefusedRecordUnavailable)
	}
	next, err := r.p.Book(by, workflow.Now(ctx))
	if err != nil {
		return r.p, refuse(err)
	}
	r.autoBook = false
	return r.commit(ctx, next, rec)
}

// releaseSlot frees every allocation of the procedure.
func (r *run) releaseSlot(ctx workflow.Context) error {
	err := workflow.ExecuteLocalActivity(localOptions(ctx), acts.ReleaseSlot,
		activities.ReleaseRequest{ProcedureID: r.p.Request.ID}).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Error("release the procedure's slot", "procedureId", r.p.Request.ID, "error", err)
	}
	return err
}

// onBumped lets an emergency take the slot: the allocations go, the
// procedure is unscheduled, and it searches again, booking what it finds
// (it was booked or held before).
func (r *run) onBumped(ctx workflow.Context, b Bumped) {
	release, err := r.exclusive(ctx)
	if err != nil {
		return
	}
	if !r.p.Status.Allocating() || r.p.Status == procedure.StatusInProgress || r.p.Status == procedure.StatusCheckedIn {
		release()
		return
	}
	booked := r.p.Status == procedure.StatusBooked
	next, err := r.p.Bump(uuid.Nil, b.EmergencyID, workflow.Now(ctx))
	if err == nil {
		err = r.releaseSlot(ctx)
	}
	if err == nil {
		_, err = r.commit(ctx, next, nil)
	}
	release()
	if err != nil {
		workflow.GetLogger(ctx).Error("give up the slot to an emergency", "procedureId", r.p.Request.ID, "error", err)
		return
	}
	r.autoBook = r.autoBook || booked
	// The emergency searches bumpWait after it told this case: searching
	// at once would take straight back the slot just given up. The slot's
	// deadlines went with it, and a step taken meanwhile (a cancellation, a
	// reschedule) stands.
	r.stopTimer()
	if err := workflow.Sleep(ctx, bumpedWait); err != nil {
		return
	}
	if r.p.Status == procedure.StatusUnscheduled {
		r.schedule(ctx)
	}
}

// loop waits for steps, signals and deadlines until the procedure closes.
func (r *run) loop(ctx workflow.Context) (State, error) {
	for {
		version := r.p.Version
		changed := func() bool { return r.p.Version != version }
		for {
			var b Bumped
			if !r.bumped.ReceiveAsync(&b) {
				break
			}
			r.onBumped(ctx, b)
		}
		if r.p.Status == procedure.StatusRequested && r.retryAt.IsZero() {
			r.schedule(ctx)
			continue
		}
		r.settleAlerts(ctx)
		r.tellClosed(ctx)
		if r.p.Status.Closed() {
			return r.finish(ctx)
		}
		if process.ShouldContinueAsNew(ctx) {
			if err := r.settle(ctx); err != nil {
				return r.p, err
			}
			next := r.in
			next.Resume = &Resume{Procedure: r.p, AutoBook: r.autoBook, Alerts: r.alerts, Raised: r.raised}
			return r.p, workflow.NewContinueAsNewError(ctx, WorkflowName, next)
		}
		r.due(ctx)
		at, ok := r.deadline()
		if err := r.wait(ctx, changed, at, ok); err != nil {
			return r.p, err
		}
	}
}

type timer struct {
	at     time.Time
	fired  workflow.Future
	cancel workflow.CancelFunc
}

// stopTimer cancels the deadline's timer, if one runs.
func (r *run) stopTimer() {
	if r.timer != nil {
		r.timer.cancel()
		r.timer = nil
	}
}

// wait blocks until a change, a bumped signal, or the deadline.
func (r *run) wait(ctx workflow.Context, changed func() bool, at time.Time, ok bool) error {
	if r.timer != nil && (!ok || !r.timer.at.Equal(at)) {
		r.timer.cancel()
		r.timer = nil
	}
	if ok && r.timer == nil {
		timerCtx, cancel := workflow.WithCancel(ctx)
		d := at.Sub(workflow.Now(ctx))
		if d < time.Millisecond {
			d = time.Millisecond
		}
		r.timer = &timer{at: at, fired: workflow.NewTimer(timerCtx, d), cancel: cancel}
	}
	t := r.timer
	fired := func() bool { return t != nil && t.fired.IsReady() }
	err := workflow.Await(ctx, func() bool { return changed() || fired() || r.bumped.Len() > 0 })
	if fired() {
		r.timer = nil
	}
	return err
}

// deadline is the earliest time the process owes the procedure something:
// the hold's lapse, the next reminder, the no-show, or a retry.
func (r *run) deadline() (time.Time, bool) {
	var at time.Time
	consider := func(t time.Time, ok bool) {
		if ok && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	if r.p.Status == procedure.StatusHeld && r.p.HoldExpiresAt != nil {
		consider(*r.p.HoldExpiresAt, true)
	}
	if r.p.Status == procedure.StatusBooked {
		consider(r.p.NextReminder())
		consider(r.p.NoShowAt())
	}
	consider(r.retryAt, !r.retryAt.IsZero())
	return at, !at.IsZero()
}

// due records what the process owes the procedure now: a lapsed hold let go
// (the procedure unscheduled), the reminders due, a no-show. A search or a
// write that failed is tried again.
func (r *run) due(ctx workflow.Context) {
	now := workflow.Now(ctx)
	if !r.retryAt.IsZero() {
		if now.Before(r.retryAt) {
			return
		}
		r.retryAt = time.Time{}
		if r.p.Status == procedure.StatusRequested {
			r.schedule(ctx)
			return
		}
	}
	release, err := r.exclusive(ctx)
	if err != nil {
		return
	}
	defer release()
	now = workflow.Now(ctx)
	p := r.p
	switch {
	case p.Status == procedure.StatusHeld && p.HoldExpiresAt != nil && !now.Before(*p.HoldExpiresAt):
		next, err := p.Expire(now)
		if err == nil {
			err = r.releaseSlot(ctx)
		}
		if err == nil {
			_, err = r.commit(ctx, next, nil)
		}
		r.owe(ctx, "let the lapsed hold go", err, now)
	case p.Status == procedure.StatusBooked:
		if at, ok := p.NoShowAt(); ok && !now.Before(at) {
			next, err := p.NoShow(now)
			if err == nil {
				err = r.releaseSlot(ctx)
			}
			if err == nil {
				_, err = r.commit(ctx, next, nil)
			}
			r.owe(ctx, "record the no-show", err, now)
			return
		}
		if at, ok := p.NextReminder(); ok && !now.Before(at) {
			next, err := p.Remind(now)
			if err == nil {
				_, err = r.commit(ctx, next, nil)
			}
			r.owe(ctx, "send the reminder", err, now)
		}
	}
}

// owe logs a step of the process's own that failed and tries it again later.
func (r *run) owe(ctx workflow.Context, what string, err error, now time.Time) {
	if err == nil {
		return
	}
	workflow.GetLogger(ctx).Error(what+"; trying again later", "procedureId", r.p.Request.ID, "error", err)
	r.retryAt = now.Add(recordAgain)
}

// tellClosed tells the encounter, once, that the procedure is done.
func (r *run) tellClosed(ctx workflow.Context) {
	if r.told || !r.p.Status.Closed() {
		return
	}
	r.tellEncounter(ctx, encounterwf.SignalOrderClosed)
	r.told = true
}

func (r *run) tellEncounter(ctx workflow.Context, signal string) {
	rq := r.p.Request
	if rq.EncounterID == nil {
		return
	}
	s := encounterwf.OrderSignal{OrderID: rq.ID, Kind: encounter.OrderProcedure}
	err := workflow.SignalExternalWorkflow(ctx, encounterwf.WorkflowID(*rq.EncounterID), "", signal, s).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Warn("encounter not told of the procedure", "encounterId", *rq.EncounterID,
			"signal", signal, "error", err)
	}
}

// finish ends a closed procedure's run once every handler has finished.
func (r *run) finish(ctx workflow.Context) (State, error) {
	if err := r.settle(ctx); err != nil {
		return r.p, err
	}
	r.settleAlerts(ctx)
	r.tellClosed(ctx)
	r.stopTimer()
	if err := workflow.Sleep(ctx, closeLinger); err != nil {
		return r.p, err
	}
	return r.p, nil
}

func (r *run) settle(ctx workflow.Context) error {
	return workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) && !r.busy })
}

func (r *run) upsertSearch(ctx workflow.Context) {
	err := workflow.UpsertTypedSearchAttributes(ctx,
		SearchPatientID.ValueSet(r.p.Request.PatientID.String()), SearchStatus.ValueSet(string(r.p.Status)))
	if err != nil {
		workflow.GetLogger(ctx).Error("search attributes", "procedureId", r.p.Request.ID, "error", err)
	}
}
