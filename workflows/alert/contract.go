// Package alert is the AlertEscalation workflow: an alert notifies the first
// level of its escalation policy, waits for an acknowledgement racing the
// level's timeout, and climbs level by level until somebody acknowledges it
// or the policy is exhausted; an acknowledged alert stays open until resolved.
//
// This file is the contract: everything a caller needs to raise, answer and
// read an alert. Other workflows raise alerts with StartChild; anything else
// (the API, consumers) with Raise.
package alert

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/zarish-sphere/zarish/domain/alert"
)

// TaskQueue is the queue the alert workers poll.
const TaskQueue = "alerts"

// WorkflowName is the registered name of the escalation workflow.
const WorkflowName = "AlertEscalation"

// Update, query names.
const (
	// UpdateAcknowledge takes an AcknowledgeRequest and returns the State.
	// Its validator rejects a practitioner who has not been notified of the
	// alert, and an alert already acknowledged or closed.
	UpdateAcknowledge = "acknowledge"
	// UpdateResolve takes a ResolveRequest and returns the State; rejected
	// when the alert is already closed.
	UpdateResolve = "resolve"
	// QueryState returns the State.
	QueryState = "state"
)

// Search attributes (Keyword, registered on the namespace) set on every alert.
var (
	SearchPatientID = temporal.NewSearchAttributeKeyKeyword("PatientId")
	SearchStatus    = temporal.NewSearchAttributeKeyKeyword("Status")
)

// Statuses an alert moves through: open → acknowledged → resolved, or
// open → exhausted / resolved.
const (
	StatusOpen         = alert.StatusOpen
	StatusAcknowledged = alert.StatusAcknowledged
	StatusResolved     = alert.StatusResolved
	StatusExhausted    = alert.StatusExhausted
)

// WorkflowID is the readable id of an alert's workflow: "alert/<alertId>".
func WorkflowID(alertID uuid.UUID) string { return "alert/" + alertID.String() }

// Input starts an escalation. PolicyID may be empty: the routing rules then
// pick the policy by category and severity.
type Input struct {
	alert.Raise
	// Resume carries the state across continue-as-new; starters leave it nil.
	Resume *State `json:"resume,omitempty"`
}

// State is what the "state" query and both updates return: status, current
// step, everyone notified, and the full timeline.
type State = alert.State

// AcknowledgeRequest is the "acknowledge" update's argument.
type AcknowledgeRequest struct {
	PractitionerID uuid.UUID `json:"practitionerId"`
}

// ResolveRequest is the "resolve" update's argument.
type ResolveRequest struct {
	PractitionerID uuid.UUID `json:"practitionerId"`
	Note           string    `json:"note"`
}

// StartChild raises an alert from another workflow. The alert outlives its
// parent (ParentClosePolicy abandon). The parent chooses in.AlertID and should
// derive it deterministically from what the alert is about (for example
// alert.OccurrenceID over the parent's own count of alerts it raised for that
// reason), so raising again from a replayed or repeated step is rejected by
// Temporal as a duplicate id rather than notifying twice: a
// ChildWorkflowExecutionAlreadyStartedError from the returned future's
// GetChildWorkflowExecution means the alert is already running.
func StartChild(ctx workflow.Context, in Input) (workflow.ChildWorkflowFuture, error) {
	if err := in.Validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidInput", err)
	}
	ctx = workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            WorkflowID(in.AlertID),
		TaskQueue:             TaskQueue,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: searchAttributes(in.Raise, StatusOpen),
	})
	return workflow.ExecuteChildWorkflow(ctx, WorkflowName, in), nil
}

// ClosedAlertCounter counts the closed alerts raised for a patient in a
// category by a source (the read model's CountClosedAlerts).
type ClosedAlertCounter interface {
	CountClosedAlerts(ctx context.Context, patientID uuid.UUID, category, source string) (int, error)
}

// Raise starts an alert from outside a workflow, at most once per open alert
// for the same patient, category and source.
//
// Deduplication: when in.AlertID is empty it becomes
// alert.OccurrenceID(patient, category, source, n) with n the number of such
// alerts already closed, so while one is open every raise computes the same
// id; the start uses WorkflowIDConflictPolicy USE_EXISTING, so the running
// alert is returned instead of a second one (Temporal's id uniqueness makes
// this race-free). Should the open alert close between the count and the
// start, the reuse policy REJECT_DUPLICATE refuses the stale id and Raise
// counts again. A caller-chosen AlertID is started as given, with the same
// policies.
func Raise(ctx context.Context, c client.Client, counter ClosedAlertCounter, in Input) (client.WorkflowRun, error) {
	derive := in.AlertID == uuid.Nil
	check := in.Raise
	if derive {
		check.AlertID = alert.OccurrenceID(in.PatientID, in.Category, in.Source, 0)
	}
	if err := check.Validate(); err != nil {
		return nil, err
	}
	const attempts = 3
	for range attempts {
		if derive {
			n, err := counter.CountClosedAlerts(ctx, in.PatientID, in.Category, in.Source)
			if err != nil {
				return nil, fmt.Errorf("raise alert: %w", err)
			}
			in.AlertID = alert.OccurrenceID(in.PatientID, in.Category, in.Source, n)
		}
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID:                       WorkflowID(in.AlertID),
			TaskQueue:                TaskQueue,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			TypedSearchAttributes:    searchAttributes(in.Raise, StatusOpen),
		}, WorkflowName, in)
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if derive && errors.As(err, &started) {
			continue // the alert with this id closed meanwhile: count again
		}
		if err != nil {
			return nil, fmt.Errorf("raise alert %s: %w", in.AlertID, err)
		}
		return run, nil
	}
	return nil, fmt.Errorf("raise alert for patient %s: alerts kept closing while raising", in.PatientID)
}

// Acknowledge asks the alert's workflow to record practitioner's
// acknowledgement and returns the new state. A rejected request changes nothing.
func Acknowledge(ctx context.Context, c client.Client, alertID uuid.UUID, req AcknowledgeRequest) (State, error) {
	return update(ctx, c, alertID, UpdateAcknowledge, req)
}

// Resolve asks the alert's workflow to close the alert and returns the final state.
func Resolve(ctx context.Context, c client.Client, alertID uuid.UUID, req ResolveRequest) (State, error) {
	return update(ctx, c, alertID, UpdateResolve, req)
}

// Resolver resolves alerts on behalf of the processes that raised them, when
// what an alert is about has been dealt with.
type Resolver struct {
	Client client.Client
}

// ResolveAlert resolves the alert as practitioner by, with note. An alert
// that was never raised, has ended or is already closed needs nothing more,
// so that is no error.
func (r Resolver) ResolveAlert(ctx context.Context, alertID, by uuid.UUID, note string) error {
	_, err := Resolve(ctx, r.Client, alertID, ResolveRequest{PractitionerID: by, Note: note})
	var notFound *serviceerror.NotFound
	var refused *temporal.ApplicationError
	switch {
	case err == nil, errors.As(err, &notFound):
		return nil
	case errors.As(err, &refused) && strings.Contains(refused.Message(), alert.ErrAlreadyClosed.Error()):
		return nil
	}
	return err
}

// GetState reads the alert's state from its workflow.
func GetState(ctx context.Context, c client.Client, alertID uuid.UUID) (State, error) {
	var s State
	v, err := c.QueryWorkflow(ctx, WorkflowID(alertID), "", QueryState)
	if err != nil {
		return s, err
	}
	return s, v.Get(&s)
}

func update(ctx context.Context, c client.Client, alertID uuid.UUID, name string, arg any) (State, error) {
	var s State
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   WorkflowID(alertID),
		UpdateName:   name,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return s, err
	}
	return s, h.Get(ctx, &s)
}

func searchAttributes(r alert.Raise, status alert.Status) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(SearchPatientID.ValueSet(r.PatientID.String()), SearchStatus.ValueSet(string(status)))
}
