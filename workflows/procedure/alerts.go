package procedure

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	activities "github.com/zarish-sphere/zarish/activities/procedure"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/procedure"
	alertwf "github.com/zarish-sphere/zarish/workflows/alert"
)

// settleAlerts keeps the run's one kind of alert true to the procedure: an
// urgent or emergency request left unscheduled alerts its unit (no slot,
// or its emergency could not take one), and the alert is resolved once a
// slot is held or the procedure ends.
func (r *run) settleAlerts(ctx workflow.Context) {
	p := r.p
	unscheduled := p.Status == procedure.StatusUnscheduled && p.Request.Priority != procedure.PriorityElective
	if unscheduled && len(r.alerts) == 0 {
		severity := alert.SeverityUrgent
		if p.Request.Priority == procedure.PriorityEmergency {
			severity = alert.SeverityCritical
		}
		r.alerts = append(r.alerts, r.raise(ctx, severity, unscheduledMessage(p)))
		return
	}
	if unscheduled || len(r.alerts) == 0 {
		return
	}
	note := "A slot is held for the procedure."
	if p.Status.Closed() {
		note = "The procedure is " + string(p.Status) + "."
	}
	for _, id := range r.alerts {
		err := workflow.ExecuteLocalActivity(localOptions(ctx), acts.ResolveAlert,
			activities.ResolveRequest{AlertID: id, By: actor(p), Note: note}).Get(ctx, nil)
		if err != nil {
			workflow.GetLogger(ctx).Error("resolve procedure alert", "procedureId", p.Request.ID, "alertId", id, "error", err)
		}
	}
	r.alerts = nil
}

// unscheduledMessage says what could not be scheduled and why.
func unscheduledMessage(p State) string {
	why := "no slot was found"
	switch {
	case p.Last().Kind == procedure.EventHoldExpired:
		why = "the slot held for it lapsed before it was booked; reschedule to search again"
	case p.Last().Kind == procedure.EventBumped:
		why = "an emergency took its slot and no other was found"
	case p.Search != nil && p.Search.Reason != "":
		why = strings.TrimSuffix(p.Search.Reason, ".")
	}
	return fmt.Sprintf("The %s %s (%s) could not be scheduled: %s.", p.Request.Priority, p.Request.Procedure.Display,
		p.Request.Procedure.Code, why)
}

// actor is the person behind the procedure's newest step, or its requester.
func actor(p State) uuid.UUID {
	if by := p.Last().By; by != uuid.Nil {
		return by
	}
	return p.Request.RequesterID
}

// raise starts an alert about the procedure as an abandoned child and
// returns its id, derived from the procedure and the run's count of
// alerts, so a replayed raise is a duplicate Temporal refuses.
func (r *run) raise(ctx workflow.Context, severity alert.Severity, message string) uuid.UUID {
	rq := r.p.Request
	r.raised++
	id := alert.OccurrenceID(rq.PatientID, CategoryUnscheduled, Source(rq.ID), r.raised)
	unit := r.in.Unit
	if unit == "" {
		unit = alert.UnitHospital
	}
	owner := rq.RequesterID
	f, err := alertwf.StartChild(ctx, alertwf.Input{Raise: alert.Raise{
		AlertID: id, PatientID: rq.PatientID, EncounterID: rq.EncounterID, Unit: unit,
		Severity: severity, Category: CategoryUnscheduled, Message: message, Source: Source(rq.ID), OwnerID: &owner,
	}})
	if err == nil {
		err = f.GetChildWorkflowExecution().Get(ctx, nil)
	}
	var running *temporal.ChildWorkflowExecutionAlreadyStartedError
	if err != nil && !errors.As(err, &running) {
		workflow.GetLogger(ctx).Error("raise procedure alert", "procedureId", rq.ID, "error", err)
	}
	return id
}
