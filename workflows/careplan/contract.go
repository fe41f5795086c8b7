// Package careplan is the CarePlan workflow: one run per active care plan
// that sleeps on a timer until the next activity falls due, wakes early when
// the plan changes, and raises one alert per overdue activity occurrence for
// the plan's unit and the activity's owner. It ends when the plan is no
// longer active; a change that makes it active again starts a new run.
//
// This file is the contract: everything a caller needs to keep a plan's
// reminders in step with the plan.
package careplan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/careplan"
	"github.com/zarish-sphere/zarish/domain/outbox"
)

// TaskQueue is the queue the CarePlan workflow runs on: the clinical
// (encounters) queue, whose workers already serve the clinical processes.
const TaskQueue = "encounters"

// WorkflowName is the registered name of the care plan workflow.
const WorkflowName = "CarePlan"

// SignalPlanChanged takes a PlanChanged: the plan was written, so the
// workflow reads it again and reschedules.
const SignalPlanChanged = "plan-changed"

// SearchPatientID (Keyword, registered on the namespace) is set on every run.
var SearchPatientID = temporal.NewSearchAttributeKeyKeyword("PatientId")

// Start-only search attributes (integrations/temporal.StartSearchAttributes):
// set when the workflow starts, never upserted by it. The API sets
// SearchOwnerID, the plan's author, on the start row Starts returns.
var (
	SearchOwnerID  = temporal.NewSearchAttributeKeyKeyword("OwnerId")
	SearchDeadline = temporal.NewSearchAttributeKeyTime("Deadline")
)

// StartDeadline is the first deadline the plan's reminders run against: its
// earliest open activity's due time; false when nothing falls due.
func StartDeadline(p careplan.CarePlan) (time.Time, bool) {
	return careplan.NextDue(p, time.Time{})
}

// CategoryActivityOverdue is the category of the alerts the workflow raises.
const CategoryActivityOverdue = "care-plan-activity-overdue"

// DefaultRecheck bounds how long the workflow sleeps without reading the
// plan, so a lost signal delays a reminder by at most this much.
const DefaultRecheck = time.Hour

// workflowIDPrefix opens every care plan's workflow id.
const workflowIDPrefix = "careplan/"

// WorkflowID is the readable id of a plan's workflow: "careplan/<planId>".
func WorkflowID(planID uuid.UUID) string { return workflowIDPrefix + planID.String() }

// IDFromWorkflowID is the plan id in a workflow id WorkflowID made.
func IDFromWorkflowID(workflowID string) (uuid.UUID, error) {
	rest, ok := strings.CutPrefix(workflowID, workflowIDPrefix)
	if !ok {
		return uuid.Nil, fmt.Errorf("%q is not a care plan workflow id", workflowID)
	}
	return uuid.Parse(rest)
}

// Source is the source named on the plan's alerts: "careplan/<planId>".
func Source(planID uuid.UUID) string { return workflowIDPrefix + planID.String() }

// AlertID is the id of the alert for one overdue activity occurrence,
// derived from the patient, the category and a source naming the plan, the
// activity and its due time, so raising it again (a replayed step, a new run)
// is refused by Temporal as a duplicate rather than notifying twice.
func AlertID(patientID uuid.UUID, o careplan.OverdueActivity) uuid.UUID {
	return AlertIDForKey(patientID, o.PlanID, o.Key())
}

// AlertIDForKey is AlertID for the occurrence with key
// (careplan.OverdueActivity.Key) of the plan.
func AlertIDForKey(patientID, planID uuid.UUID, key string) uuid.UUID {
	return alert.OccurrenceID(patientID, CategoryActivityOverdue, Source(planID)+"/activities/"+key, 0)
}

// Input starts (or continues) a plan's reminders.
type Input struct {
	PlanID    uuid.UUID `json:"planId"`
	PatientID uuid.UUID `json:"patientId"`
	// Recheck overrides DefaultRecheck when positive.
	Recheck time.Duration `json:"recheck,omitempty"`
	// Reminded and AlertsRaised carry the run's memory across
	// continue-as-new; starters leave them empty. Reminded holds the keys
	// (careplan.OverdueActivity.Key) of overdue occurrences already alerted.
	Reminded     []string `json:"reminded,omitempty"`
	AlertsRaised int      `json:"alertsRaised,omitempty"`
}

// PlanChanged is the "plan-changed" signal's argument.
type PlanChanged struct {
	Version int `json:"version"`
}

// Result is what a run returns when the plan stops being active.
type Result struct {
	AlertsRaised int `json:"alertsRaised"`
}

// Starts are the workflow starts a new plan p needs, for the store to write
// in the transaction that stores p (outbox.WorkflowStart): an active plan's
// reminders, started by the workflow starter once p commits, so creating a
// plan never depends on Temporal being up. Any other plan needs none.
func Starts(p careplan.CarePlan) ([]outbox.WorkflowStart, error) {
	if p.Status != careplan.StatusActive {
		return nil, nil
	}
	input, err := json.Marshal(Input{PlanID: p.ID, PatientID: p.PatientID})
	if err != nil {
		return nil, fmt.Errorf("care plan %s reminders: %w", p.ID, err)
	}
	attrs := map[string]string{SearchPatientID.GetName(): p.PatientID.String()}
	if due, ok := StartDeadline(p); ok {
		attrs[SearchDeadline.GetName()] = due.UTC().Format(time.RFC3339Nano)
	}
	return []outbox.WorkflowStart{{
		WorkflowID:       WorkflowID(p.ID),
		WorkflowType:     WorkflowName,
		TaskQueue:        TaskQueue,
		Input:            input,
		SearchAttributes: attrs,
	}}, nil
}

// Schedule keeps the plan's reminders in step with p, just written: an
// active plan's workflow is signalled, and started if it is not running
// (SignalWithStart), so it recomputes the next due time; any other plan's
// running workflow is signalled so it reads the plan and ends. An error means
// the reminders may not follow the change.
func Schedule(ctx context.Context, c client.Client, p careplan.CarePlan) error {
	if c == nil {
		return errors.New("schedule care plan reminders: no workflow client")
	}
	signal := PlanChanged{Version: p.Version}
	if p.Status != careplan.StatusActive {
		err := c.SignalWorkflow(ctx, WorkflowID(p.ID), "", SignalPlanChanged, signal)
		var missing *serviceerror.NotFound
		if errors.As(err, &missing) {
			return nil // no reminders running, none needed
		}
		return err
	}
	attrs := []temporal.SearchAttributeUpdate{SearchPatientID.ValueSet(p.PatientID.String())}
	if due, ok := StartDeadline(p); ok {
		attrs = append(attrs, SearchDeadline.ValueSet(due))
	}
	_, err := c.SignalWithStartWorkflow(ctx, WorkflowID(p.ID), SignalPlanChanged, signal, client.StartWorkflowOptions{
		ID:                    WorkflowID(p.ID),
		TaskQueue:             TaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(attrs...),
	}, WorkflowName, Input{PlanID: p.ID, PatientID: p.PatientID})
	return err
}
