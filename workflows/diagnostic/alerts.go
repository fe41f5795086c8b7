package diagnostic

import (
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	activities "github.com/zarish-sphere/zarish/activities/diagnostic"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	alertwf "github.com/zarish-sphere/zarish/workflows/alert"
)

// settleAlerts brings the report's alerts in step with the report: a
// critical-result alert for every open callback, resolved when the callback
// closes (or its result is no longer critical); an alert to the unit for
// every STAT target missed, resolved when the stage is reached. Everything
// is read from the report, so a run continued as new settles what the last
// one left.
func (r *run) settleAlerts(ctx workflow.Context) {
	r.settleCritical(ctx)
	r.settleOverdue(ctx)
	r.settleRecollect(ctx)
}

// versionRecollect marks the runs that alert the unit of a rejected tube;
// runs recorded before it replay without.
const versionRecollect = "recollect-alert"

// settleRecollect raises an alert to the unit, owned by the tube's
// collector, for every container whose last tube was rejected and not yet
// replaced, and resolves those a new tube (or the order's end) made moot.
func (r *run) settleRecollect(ctx workflow.Context) {
	wanted := r.r.Recollect()
	if len(wanted) == 0 && len(r.alerts.Recollect) == 0 {
		return
	}
	if workflow.GetVersion(ctx, versionRecollect, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	var keep []RecollectAlert
	for _, a := range r.alerts.Recollect {
		if slices.Contains(wanted, a.Container) && !r.r.Status.Closed() {
			keep = append(keep, a)
			continue
		}
		note := "A new " + a.Container + " tube was collected."
		if r.r.Status.Closed() {
			note = "The order is " + string(r.r.Status) + "."
		}
		r.resolve(ctx, a.AlertID, actor(r.r), note)
	}
	r.alerts.Recollect = keep
	for _, c := range wanted {
		if slices.ContainsFunc(r.alerts.Recollect, func(a RecollectAlert) bool { return a.Container == c }) {
			continue
		}
		sp, _ := r.r.Rejected(c)
		severity := alert.SeverityWarning
		if r.r.Order.Priority != diagnostic.PriorityRoutine {
			severity = alert.SeverityUrgent
		}
		var owner *uuid.UUID
		if sp.CollectorID != uuid.Nil {
			owner = &sp.CollectorID
		}
		id := r.raise(ctx, CategoryRecollect, severity, owner, recollectMessage(r.r, sp))
		r.alerts.Recollect = append(r.alerts.Recollect, RecollectAlert{AlertID: id, Container: c, Accession: sp.Accession})
	}
}

// recollectMessage names the tube to draw again and why the last one was
// refused.
func recollectMessage(p State, sp diagnostic.Specimen) string {
	why := ""
	if sp.Rejection != nil {
		why = string(sp.Rejection.Reason)
		if sp.Rejection.Note != "" {
			why += ": " + sp.Rejection.Note
		}
	}
	return fmt.Sprintf("Recollect a %s tube for the %s %s order: tube %s was rejected (%s).",
		sp.Container, p.Order.Priority, p.Order.Summary(), sp.Accession, why)
}

// settleCritical resolves the critical-result alerts whose callback is no
// longer open with the value they named, and raises one for every open
// callback without one.
func (r *run) settleCritical(ctx workflow.Context) {
	closed := r.r.Status.Closed()
	var keep []CriticalAlert
	for _, a := range r.alerts.Critical {
		c, ok := callbackOf(r.r, a)
		if ok && c.Open() && c.Value == a.Value && !closed {
			keep = append(keep, a)
			continue
		}
		by, note := r.criticalSettled(c, ok)
		r.resolve(ctx, a.AlertID, by, note)
	}
	r.alerts.Critical = keep
	if closed {
		return
	}
	for _, c := range r.r.OpenCallbacks() {
		if slices.ContainsFunc(r.alerts.Critical, func(a CriticalAlert) bool { return sameCallback(a, c) }) {
			continue
		}
		owner := r.r.Order.OrdererID
		id := r.raise(ctx, CategoryCriticalResult, alert.SeverityCritical, &owner, criticalMessage(r.r, c))
		r.alerts.Critical = append(r.alerts.Critical, CriticalAlert{AlertID: id, Code: c.Code, RaisedAt: c.RaisedAt, Value: c.Value})
		r.takeOver(ctx, c, id)
	}
}

// versionYield marks the runs that resolve the observation service's
// critical-value alert of a value their callback takes over; runs recorded
// before it replay without.
const versionYield = "yield-critical-value"

// takeOver resolves the patient's open critical-value alerts of the
// callback's test: the callback's own alert, raised to the orderer with
// its read-back, answers the value now. A failure is logged, not fatal:
// two alerts ring where one should, and none is lost.
func (r *run) takeOver(ctx workflow.Context, c diagnostic.Callback, alertID uuid.UUID) {
	if workflow.GetVersion(ctx, versionYield, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	err := workflow.ExecuteLocalActivity(localOptions(ctx), acts.YieldCriticalValues, activities.YieldRequest{
		PatientID: r.r.Order.PatientID, Code: c.Code, ReportID: r.r.Order.ID, AlertID: alertID, By: actor(r.r),
	}).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Error("resolve the critical-value alerts a callback took over", "orderId", r.r.Order.ID, "code", c.Code, "error", err)
	}
}

// sameCallback reports whether the alert is about the callback: a callback
// is its test's, opened at its time (it follows a newer critical value of
// the test, so its observation may change).
func sameCallback(a CriticalAlert, c diagnostic.Callback) bool {
	return a.Code == c.Code && a.RaisedAt.Equal(c.RaisedAt)
}

// callbackOf finds the callback an alert is about; false once the report
// dropped it (its result was withdrawn or is no longer critical, before
// anyone was called).
func callbackOf(p State, a CriticalAlert) (diagnostic.Callback, bool) {
	// The newest first: an open callback of the test is the one to settle.
	for i := len(p.Callbacks) - 1; i >= 0; i-- {
		if sameCallback(a, p.Callbacks[i]) {
			return p.Callbacks[i], true
		}
	}
	return diagnostic.Callback{}, false
}

// criticalSettled is who resolves a critical-result alert and why: the
// caller who closed the callback, with its outcome; otherwise whoever took
// the step that made the alert moot.
func (r *run) criticalSettled(c diagnostic.Callback, found bool) (uuid.UUID, string) {
	switch {
	case r.r.Status.Closed():
		return actor(r.r), "The report is " + string(r.r.Status) + "; its critical-result callback ends with it."
	case !found:
		return actor(r.r), "The result is no longer critical."
	case c.Open():
		return actor(r.r), "The result is now " + c.Value + "; a new alert names it."
	}
	switch c.Outcome {
	case diagnostic.OutcomeConfirmed:
		if c.ReadBack != nil && c.ReadBack.Receiver == c.ClosedBy {
			return c.ClosedBy, "The receiver read the critical result back, signed in."
		}
		return c.ClosedBy, "The critical result was telephoned and read back."
	case diagnostic.OutcomeReachedWithoutReadBack:
		return c.ClosedBy, "The critical result was telephoned without a read-back: " + c.Note
	}
	return c.ClosedBy, "Nobody responsible could be reached about the critical result: " + c.Note
}

// criticalMessage names the test and the value to telephone.
func criticalMessage(p State, c diagnostic.Callback) string {
	test := "LOINC " + c.Code
	if res, ok := p.Result(c.Code); ok && res.Display != "" {
		test = res.Display + " (LOINC " + c.Code + ")"
	}
	return fmt.Sprintf("Critical result: %s %s. Telephone it to a responsible clinician and record the read-back.", test, c.Value)
}

// settleOverdue raises an alert to the unit for every STAT target the report
// recorded as missed while its stage is still to come, and resolves those
// whose stage was reached.
func (r *run) settleOverdue(ctx workflow.Context) {
	closed := r.r.Status.Closed()
	ts := r.r.Stages()
	if r.alerts.Breaches > len(r.r.Breaches) {
		r.alerts.Breaches = len(r.r.Breaches)
	}
	for ; r.alerts.Breaches < len(r.r.Breaches); r.alerts.Breaches++ {
		b := r.r.Breaches[r.alerts.Breaches]
		if _, reached := ts.At(b.Target.To); closed || reached || b.Reached != nil || !r.r.Order.Priority.AlertOnMiss() {
			continue
		}
		id := r.raise(ctx, CategoryOverdue, alert.SeverityUrgent, nil, overdueMessage(r.r, b))
		r.alerts.Overdue = append(r.alerts.Overdue, OverdueAlert{AlertID: id, Stage: b.Target.To})
	}
	var open []OverdueAlert
	for _, a := range r.alerts.Overdue {
		_, reached := ts.At(a.Stage)
		switch {
		case closed:
			r.resolve(ctx, a.AlertID, actor(r.r), "The order is "+string(r.r.Status)+".")
		case reached:
			r.resolve(ctx, a.AlertID, actor(r.r), "The order reached the "+string(a.Stage)+" stage.")
		default:
			open = append(open, a)
		}
	}
	r.alerts.Overdue = open
}

// overdueMessage names the order, the target missed and when it was due.
func overdueMessage(p State, b diagnostic.Breach) string {
	return fmt.Sprintf("%s %s order overdue: the %s target of %d minutes was missed (due %s)",
		p.Order.Priority, p.Order.Summary(), b.Target.Span(), b.Target.Minutes, b.Deadline.UTC().Format("2006-01-02 15:04 UTC"))
}

// raise starts an alert about the report as an abandoned child and returns
// its id, derived from the order and the run's count of alerts, so a
// replayed raise is a duplicate Temporal refuses.
func (r *run) raise(ctx workflow.Context, category string, severity alert.Severity, owner *uuid.UUID, message string) uuid.UUID {
	o := r.r.Order
	r.alerts.Raised++
	id := alert.OccurrenceID(o.PatientID, category, Source(o.ID), r.alerts.Raised)
	unit := r.in.Unit
	if unit == "" {
		unit = alert.UnitHospital
	}
	f, err := alertwf.StartChild(ctx, alertwf.Input{Raise: alert.Raise{
		AlertID: id, PatientID: o.PatientID, EncounterID: o.EncounterID, Unit: unit,
		Severity: severity, Category: category, Message: message, Source: Source(o.ID), OwnerID: owner,
	}})
	if err == nil {
		err = f.GetChildWorkflowExecution().Get(ctx, nil)
	}
	var running *temporal.ChildWorkflowExecutionAlreadyStartedError
	if err != nil && !errors.As(err, &running) {
		workflow.GetLogger(ctx).Error("raise diagnostic alert", "orderId", o.ID, "category", category, "error", err)
	}
	return id
}

// resolve closes an alert the report made moot, in by's name.
func (r *run) resolve(ctx workflow.Context, id, by uuid.UUID, note string) {
	err := workflow.ExecuteLocalActivity(localOptions(ctx), acts.ResolveAlert,
		activities.ResolveRequest{AlertID: id, By: by, Note: note}).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Error("resolve diagnostic alert", "orderId", r.r.Order.ID, "alertId", id, "error", err)
	}
}
