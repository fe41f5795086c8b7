package prescription

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	activities "github.com/zarish-sphere/zarish/activities/prescription"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/prescription"
	alertwf "github.com/zarish-sphere/zarish/workflows/alert"
	encounterwf "github.com/zarish-sphere/zarish/workflows/encounter"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// acts is only used to name activities; the worker holds the real ones.
var acts *activities.Activities

// RuleChecksFailed is the check-unavailable finding of checks that could not
// run within their retries (the database did not answer).
const RuleChecksFailed = "unavailable-checks-failed"

// recordAgain is how soon a first write that failed after its retries is
// tried again.
const recordAgain = time.Minute

// checkAttempts bounds the checks' retries: an order whose checks cannot run
// is held with a finding saying so within seconds, never left unchecked.
const checkAttempts = 4

// Prescription is the Prescription workflow: it checks the new order, tells
// the encounter and the patient's other prescriptions of it, then answers the
// steps and rechecks until the prescription is discontinued, cancelled or
// completed, alerting the pharmacist on call about a hold nobody acts on and
// the ward about a dose not recorded in time.
func Prescription(ctx workflow.Context, in Input) (State, error) {
	if in.HoldTimeout <= 0 {
		in.HoldTimeout = DefaultHoldTimeout
	}
	if in.DoseGrace <= 0 {
		in.DoseGrace = prescription.DoseReminderGrace
	}
	r := &run{in: in, p: in.Prescription}
	if in.Resume != nil {
		r.p, r.alerts = in.Resume.Prescription, in.Resume.Alerts
	}
	if err := r.register(ctx); err != nil {
		return r.p, err
	}
	if in.Resume == nil {
		if err := r.first(ctx); err != nil {
			return r.p, err
		}
	}
	return r.loop(ctx)
}

// run is one run's input, state, and the steps that change it.
type run struct {
	in     Input
	p      State
	alerts Alerts
	// busy holds the next change back until the one before it is recorded;
	// pending is the state that change will leave, which validators judge
	// the next request against.
	busy    bool
	pending *State
	recheck workflow.ReceiveChannel
}

// localOptions are the options of the short database activities.
func localOptions(ctx workflow.Context, attempts int32) workflow.Context {
	policy := process.RetryPolicy()
	if attempts > 0 {
		policy.MaximumAttempts = attempts
	}
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         policy,
	})
}

// register installs the query, the Updates and the recheck signal before
// anything blocks.
func (r *run) register(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (State, error) { return r.p, nil }); err != nil {
		return fmt.Errorf("register query: %w", err)
	}
	if err := workflow.SetUpdateHandler(ctx, UpdateChecked, func(ctx workflow.Context) (State, error) {
		err := workflow.Await(ctx, func() bool { return r.p.Status != prescription.StatusDraft })
		return r.p, err
	}); err != nil {
		return fmt.Errorf("register %s: %w", UpdateChecked, err)
	}
	updates := []struct {
		name      string
		handler   any
		validator any
	}{
		{UpdateOverride, func(ctx workflow.Context, req OverrideRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(p State, at time.Time) (State, error) { return p.Override(req.OverrideRequest, at) })
		}, func(_ workflow.Context, req OverrideRequest) error {
			return refuse(r.current().CanOverride(req.OverrideRequest))
		}},
		{UpdateVerify, func(ctx workflow.Context, req VerifyRequest) (State, error) {
			return r.verify(ctx, req)
		}, func(_ workflow.Context, req VerifyRequest) error {
			return refuse(r.current().CanVerify(req.By))
		}},
		{UpdateDispense, func(ctx workflow.Context, req DispenseRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(p State, at time.Time) (State, error) { return p.Dispense(req.By, req.Quantity, at) })
		}, func(_ workflow.Context, req DispenseRequest) error {
			return refuse(r.current().CanDispense(req.By, req.Quantity))
		}},
		{UpdateAdminister, func(ctx workflow.Context, req AdministerRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(p State, at time.Time) (State, error) { return p.Administer(req.Administration, at) })
		}, func(ctx workflow.Context, req AdministerRequest) error {
			return refuse(r.current().CanAdminister(req.Administration, workflow.Now(ctx)))
		}},
		{UpdateDiscontinue, func(ctx workflow.Context, req DiscontinueRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(p State, at time.Time) (State, error) { return p.Discontinue(req.By, req.Reason, at) })
		}, func(_ workflow.Context, req DiscontinueRequest) error {
			return refuse(r.current().CanDiscontinue(req.By, req.Reason))
		}},
		{UpdateCancel, func(ctx workflow.Context, req CancelRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(p State, at time.Time) (State, error) { return p.Cancel(req.By, req.Reason, at) })
		}, func(_ workflow.Context, req CancelRequest) error {
			return refuse(r.current().CanCancel(req.By, req.Reason))
		}},
	}
	for _, u := range updates {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, u.name, u.handler, workflow.UpdateHandlerOptions{Validator: u.validator}); err != nil {
			return fmt.Errorf("register %s: %w", u.name, err)
		}
	}
	r.recheck = workflow.GetSignalChannel(ctx, SignalRecheck)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var req Recheck
			r.recheck.Receive(ctx, &req)
			r.rechecked(ctx, req)
		}
	})
	return nil
}

// refuse answers err as the typed refusal its sentinel maps to, or nil.
func refuse(err error) error { return process.Refuse(err, refusals...) }

// first runs the new order's checks and records what they found, then tells
// the encounter of the order and the patient's other prescriptions to check
// themselves against it.
func (r *run) first(ctx workflow.Context) error {
	release, err := r.exclusive(ctx)
	if err != nil {
		return err
	}
	next := r.check(ctx, r.p, prescription.ReasonOrdered)
	// The draft row is already stored: the first write is the check's. A
	// write that fails is tried again until it is stored, so a database
	// outage leaves the order a visible draft, never a failed run.
	for {
		err := r.record(ctx, next, nil)
		if err == nil {
			break
		}
		workflow.GetLogger(ctx).Error("record the first checks; trying again", "prescriptionId", r.p.Details.ID, "error", err)
		if err := workflow.Sleep(ctx, recordAgain); err != nil {
			release()
			return err
		}
	}
	r.p = next
	release()
	if err := r.upsertSearch(ctx); err != nil {
		return err
	}
	r.tellEncounter(ctx, encounterwf.SignalOrderLinked)
	return nil
}

// check runs the checks on p's order as of now, for reason, and returns p
// after them. Checks that could not run within their retries are a finding
// of their own, which holds the order.
func (r *run) check(ctx workflow.Context, p State, reason string) State {
	next, _ := r.checkCounted(ctx, p, reason)
	return next
}

// checkCounted is check, also reporting how many findings are new.
func (r *run) checkCounted(ctx workflow.Context, p State, reason string) (State, int) {
	return r.checkBeside(ctx, p, reason, uuid.Nil)
}

// changeNewerCreatedAfter is the change that holds a pair on the
// prescription a recheck names only when that one was created after this
// one; histories before it keep the pair off whichever one it named.
const changeNewerCreatedAfter = "recheck-newer-only-if-created-after"

// newerOf is the newer prescription a recheck was asked for, whose findings
// about this pair are held on it; uuid.Nil for any other recheck.
func newerOf(req Recheck) uuid.UUID {
	if rest, ok := strings.CutPrefix(req.Cause, workflowIDPrefix); ok && req.Reason == prescription.ReasonNewMedication {
		if id, err := uuid.Parse(rest); err == nil {
			return id
		}
	}
	return uuid.Nil
}

// checkBeside is checkCounted for a recheck caused by the newer
// prescription (uuid.Nil for none).
func (r *run) checkBeside(ctx workflow.Context, p State, reason string, newer uuid.UUID) (State, int) {
	at := workflow.Now(ctx)
	var res activities.CheckResult
	err := workflow.ExecuteLocalActivity(localOptions(ctx, checkAttempts), acts.CheckPrescription, activities.CheckRequest{
		PrescriptionID: p.Details.ID, PatientID: p.Details.PatientID, Order: p.Details.Order, At: at,
	}).Get(ctx, &res)
	if err != nil {
		workflow.GetLogger(ctx).Error("prescription checks failed", "prescriptionId", p.Details.ID, "error", err)
		version := ""
		if len(p.Checks) > 0 {
			version = p.Checks[len(p.Checks)-1].Version
		}
		// What earlier checks found, and its overrides, stands.
		failed := activities.Unavailable(version, RuleChecksFailed, "The checks could not run: the patient's record could not be read.")
		next, fresh := p.ChecksFailed(failed.Findings[0], reason, at)
		if fresh {
			return next, 1
		}
		return next, 0
	}
	if newer != uuid.Nil && workflow.GetVersion(ctx, changeNewerCreatedAfter, workflow.DefaultVersion, 1) >= 1 &&
		!prescription.CreatedAfter(newer, p.Details.ID) {
		// A recheck naming an order placed before this one (its event
		// arrived late) leaves the pair held here: a pair is held on the
		// newer of its two orders, and that is this one.
		newer = uuid.Nil
	}
	res.Context.Newer = newer
	next, fresh, _ := p.Checked(res.Result, res.Context, reason, at)
	return next, fresh
}

// verify runs the checks again against the patient as they are now; a
// prescription they hold is recorded held, and not verified. Otherwise the
// pharmacist's verification is recorded.
func (r *run) verify(ctx workflow.Context, req VerifyRequest) (State, error) {
	release, err := r.exclusive(ctx)
	if err != nil {
		return r.p, err
	}
	defer release()
	if err := r.p.CanVerify(req.By); err != nil {
		return r.p, refuse(err)
	}
	next := r.check(ctx, r.p, prescription.ReasonVerification)
	if next.Status == prescription.StatusActive {
		if next, err = next.Verify(req.By, workflow.Now(ctx)); err != nil {
			return r.p, refuse(err)
		}
	}
	return r.commit(ctx, next, req.Audit)
}

// apply runs a step the validator accepted: one change at a time, computed
// on the state the one before left, recorded with rec (the audit record of
// the request) in the read model, and only then the workflow's state.
func (r *run) apply(ctx workflow.Context, rec *audit.Record, step func(p State, at time.Time) (State, error)) (State, error) {
	release, err := r.exclusive(ctx)
	if err != nil {
		return r.p, err
	}
	defer release()
	// The validator saw the state before any change queued ahead of this
	// one; the rules check again here.
	next, err := step(r.p, workflow.Now(ctx))
	if err != nil {
		return r.p, refuse(err)
	}
	return r.commit(ctx, next, rec)
}

// commit records next with rec and makes it the state; a write that fails
// refuses the step and leaves the prescription as it was.
func (r *run) commit(ctx workflow.Context, next State, rec *audit.Record) (State, error) {
	r.pending = &next
	err := r.record(ctx, next, rec)
	r.pending = nil
	if err != nil {
		return r.p, process.NotRecorded(err, RefusedNotRecorded, RefusedRecordUnavailable)
	}
	r.p = next
	return r.p, r.upsertSearch(ctx)
}

// current is the state a new request is judged against.
func (r *run) current() State {
	if r.pending != nil {
		return *r.pending
	}
	return r.p
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
	return workflow.ExecuteLocalActivity(localOptions(ctx, 0), acts.RecordPrescription,
		activities.RecordRequest{Prescription: p, Audit: rec}).Get(ctx, nil)
}

// rechecked runs the checks again because the patient changed. A new
// finding is recorded, and one that holds an active prescription alerts its
// prescriber; a recheck that finds nothing new and leaves the status as it
// was changes nothing.
func (r *run) rechecked(ctx workflow.Context, req Recheck) {
	for attempt := 1; ; attempt++ {
		recorded, ok := r.recheckOnce(ctx, req)
		if ok || recorded {
			return
		}
		if attempt >= recheckAttempts {
			workflow.GetLogger(ctx).Error("recheck not recorded; giving up", "prescriptionId", r.p.Details.ID, "reason", req.Reason)
			return
		}
		// The read model did not answer: the recheck is run again later,
		// so a new allergy during an outage still holds the order.
		if err := workflow.Sleep(ctx, recordAgain); err != nil {
			return
		}
	}
}

// recheckAttempts bounds how often a recheck whose write failed is run
// again, recordAgain apart: an hour.
const recheckAttempts = 60

// recheckOnce runs one recheck. ok reports that it needs nothing more
// (recorded, nothing new, or nothing to check); recorded false with ok
// false means its write failed.
func (r *run) recheckOnce(ctx workflow.Context, req Recheck) (recorded, ok bool) {
	release, err := r.exclusive(ctx)
	if err != nil {
		return false, true
	}
	defer release()
	if r.p.Status.Closed() || r.p.Status == prescription.StatusDraft {
		return false, true
	}
	reason := req.Reason
	if reason == "" {
		reason = "recheck"
	}
	wasActive := r.p.Status == prescription.StatusActive
	next, fresh := r.checkBeside(ctx, r.p, reason, newerOf(req))
	if fresh == 0 && next.Status == r.p.Status && len(next.Findings) == len(r.p.Findings) {
		// Nothing new: the prescription stands as it was, and nothing
		// needs recording.
		return false, true
	}
	if err := r.record(ctx, next, nil); err != nil {
		workflow.GetLogger(ctx).Error("record recheck; running it again later", "prescriptionId", r.p.Details.ID, "error", err)
		return false, false
	}
	r.p = next
	if err := r.upsertSearch(ctx); err != nil {
		workflow.GetLogger(ctx).Error("search attributes", "error", err)
	}
	if wasActive && r.p.Status == prescription.StatusOnHold {
		r.raise(ctx, CategoryFinding, alert.SeverityUrgent, &r.p.Details.PrescriberID,
			fmt.Sprintf("Prescription of %s held: the checks found %s after %s", r.p.Details.Drug.Name, standingSummary(r.p), reason))
	}
	return true, true
}

// standingSummary names the standing findings for an alert's message.
func standingSummary(p State) string {
	s := p.Standing()
	switch len(s) {
	case 0:
		return "nothing standing"
	case 1:
		return describe(s[0])
	}
	return fmt.Sprintf("%s and %d more", describe(s[0]), len(s)-1)
}

func describe(f prescription.Finding) string {
	what := string(f.Kind)
	if f.Severity != "" {
		what = string(f.Severity) + " " + what
	}
	if f.Other != "" {
		what += " with " + f.Other
	}
	return what
}

// tellEncounter signals the prescription's encounter that its order was
// placed or closed. An encounter that has closed needs no telling.
func (r *run) tellEncounter(ctx workflow.Context, signal string) {
	d := r.p.Details
	if d.EncounterID == nil {
		return
	}
	o := encounterwf.OrderSignal{OrderID: d.ID, Kind: encounter.OrderPrescription}
	err := workflow.SignalExternalWorkflow(ctx, encounterwf.WorkflowID(*d.EncounterID), "", signal, o).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Warn("encounter not told of the prescription", "encounterId", *d.EncounterID, "signal", signal, "error", err)
	}
}

// loop waits for steps, rechecks and deadlines until the prescription closes
// or the history asks for a fresh run.
func (r *run) loop(ctx workflow.Context) (State, error) {
	for {
		r.settleAlerts(ctx)
		if r.p.Status.Closed() {
			return r.finish(ctx)
		}
		if process.ShouldContinueAsNew(ctx) {
			if err := r.settle(ctx); err != nil {
				return r.p, err
			}
			next := r.in
			next.Resume = &Resume{Prescription: r.p, Alerts: r.alerts}
			return r.p, workflow.NewContinueAsNewError(ctx, WorkflowName, next)
		}
		version := r.p.Version
		changed := func() bool { return r.p.Version != version }
		due, what := r.deadline()
		if due.IsZero() {
			if err := workflow.Await(ctx, changed); err != nil {
				return r.p, err
			}
			continue
		}
		ok, err := workflow.AwaitWithTimeout(ctx, max(due.Sub(workflow.Now(ctx)), 0), changed)
		if err != nil {
			return r.p, err
		}
		if !ok {
			r.due(ctx, what)
		}
	}
}

// The deadlines a prescription waits for.
const (
	dueNone = iota
	dueHold
	dueDose
	dueEnd
)

// deadline is the earliest pending deadline and what it is: the hold alert
// HoldTimeout after the hold began, a dose reminder DoseGrace after the next
// dose falls due, and the end of the prescription's duration.
func (r *run) deadline() (time.Time, int) {
	var at time.Time
	what := dueNone
	consider := func(t time.Time, w int) {
		if at.IsZero() || t.Before(at) {
			at, what = t, w
		}
	}
	if r.p.Status == prescription.StatusOnHold && r.p.HeldAt != nil && r.alerts.Hold == nil {
		consider(r.p.HeldAt.Add(r.in.HoldTimeout), dueHold)
	}
	if next, ok := r.p.NextDose(); ok && (r.alerts.DoseDue == nil || !r.alerts.DoseDue.Equal(next)) {
		consider(next.Add(r.in.DoseGrace), dueDose)
	}
	if r.p.EndsAt != nil {
		consider(*r.p.EndsAt, dueEnd)
	}
	return at, what
}

// due acts on a deadline that passed.
func (r *run) due(ctx workflow.Context, what int) {
	d := r.p.Details
	switch what {
	case dueHold:
		id := r.raise(ctx, CategoryHold, alert.SeverityUrgent, nil,
			fmt.Sprintf("Prescription of %s on hold for %s with nobody acting: %s", d.Drug.Name, r.in.HoldTimeout, standingSummary(r.p)))
		r.alerts.Hold = &id
	case dueDose:
		next, _ := r.p.NextDose()
		id := r.raise(ctx, CategoryDoseDue, alert.SeverityWarning, nil,
			fmt.Sprintf("Dose of %s due %s not recorded", d.Drug.Name, next.UTC().Format("2006-01-02 15:04 UTC")))
		r.alerts.Dose, r.alerts.DoseDue = &id, &next
	case dueEnd:
		release, err := r.exclusive(ctx)
		if err != nil {
			return
		}
		defer release()
		next, err := r.p.Complete(workflow.Now(ctx))
		if err != nil {
			return
		}
		if _, err := r.commit(ctx, next, nil); err != nil {
			workflow.GetLogger(ctx).Error("record completion", "prescriptionId", d.ID, "error", err)
		}
	}
}

// raise starts an alert about the prescription as an abandoned child and
// returns its id, derived from the prescription and the run's count of
// alerts, so a replayed raise is a duplicate Temporal refuses.
func (r *run) raise(ctx workflow.Context, category string, severity alert.Severity, owner *uuid.UUID, message string) uuid.UUID {
	d := r.p.Details
	r.alerts.Raised++
	id := alert.OccurrenceID(d.PatientID, category, Source(d.ID), r.alerts.Raised)
	unit := d.Unit
	if unit == "" {
		unit = alert.UnitHospital
	}
	f, err := alertwf.StartChild(ctx, alertwf.Input{Raise: alert.Raise{
		AlertID: id, PatientID: d.PatientID, EncounterID: d.EncounterID, Unit: unit,
		Severity: severity, Category: category, Message: message, Source: Source(d.ID), OwnerID: owner,
	}})
	if err == nil {
		err = f.GetChildWorkflowExecution().Get(ctx, nil)
	}
	var running *temporal.ChildWorkflowExecutionAlreadyStartedError
	if err != nil && !errors.As(err, &running) {
		workflow.GetLogger(ctx).Error("raise prescription alert", "prescriptionId", d.ID, "category", category, "error", err)
	}
	return id
}

// settleAlerts resolves the alerts a step made moot: the hold alert once the
// prescription is no longer on hold, the dose reminder once that dose is
// recorded (or the prescription no longer wants it).
func (r *run) settleAlerts(ctx workflow.Context) {
	last := r.p.Last()
	by := last.By
	if by == uuid.Nil {
		by = r.p.Details.PrescriberID
	}
	if r.alerts.Hold != nil && r.p.Status != prescription.StatusOnHold {
		r.resolve(ctx, *r.alerts.Hold, by, "The prescription is "+string(r.p.Status)+".")
		r.alerts.Hold = nil
	}
	if r.alerts.Dose != nil {
		next, ok := r.p.NextDose()
		if !ok || !next.Equal(*r.alerts.DoseDue) {
			note := "The dose was recorded."
			if r.p.Status != prescription.StatusActive {
				// Held or closed: the dose is no longer wanted, not given.
				note = "The prescription is " + string(r.p.Status) + "."
			}
			r.resolve(ctx, *r.alerts.Dose, by, note)
			r.alerts.Dose, r.alerts.DoseDue = nil, nil
		}
	}
}

func (r *run) resolve(ctx workflow.Context, id, by uuid.UUID, note string) {
	err := workflow.ExecuteLocalActivity(localOptions(ctx, 0), acts.ResolveAlert,
		activities.ResolveRequest{AlertID: id, By: by, Note: note}).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Error("resolve prescription alert", "alertId", id, "error", err)
	}
}

// finish ends a closed prescription's run: the encounter is told its order
// closed once every handler has finished.
func (r *run) finish(ctx workflow.Context) (State, error) {
	if err := r.settle(ctx); err != nil {
		return r.p, err
	}
	r.settleAlerts(ctx)
	r.tellEncounter(ctx, encounterwf.SignalOrderClosed)
	// The step that closed the prescription is answered in this workflow
	// task; the run ends in the next one. Ending in the same task would let
	// an event arriving meanwhile (an alert's child starting, a recheck)
	// fail the task and, with it, the step's answer to its caller.
	if err := workflow.Sleep(ctx, closeLinger); err != nil {
		return r.p, err
	}
	r.drainRechecks()
	return r.p, nil
}

// closeLinger is how long a closed prescription's run waits before it ends.
const closeLinger = time.Second

// drainRechecks drops the rechecks delivered to a closed prescription: a
// closed prescription checks nothing.
func (r *run) drainRechecks() {
	var req Recheck
	for r.recheck.ReceiveAsync(&req) {
	}
}

// settle waits until no Update handler is running and the rechecks already
// delivered are applied.
func (r *run) settle(ctx workflow.Context) error {
	var req Recheck
	for r.recheck.ReceiveAsync(&req) {
		r.rechecked(ctx, req)
	}
	return workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) && !r.busy })
}

func (r *run) upsertSearch(ctx workflow.Context) error {
	return workflow.UpsertTypedSearchAttributes(ctx,
		SearchPatientID.ValueSet(r.p.Details.PatientID.String()), SearchStatus.ValueSet(string(r.p.Status)))
}
