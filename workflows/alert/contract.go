// Package alert is the AlertEscalation workflow: an alert notifies the first
// level of its escalation policy, waits for an acknowledgement racing the
// level's timeout, and climbs level by level until somebody acknowledges it
// or the policy is exhausted; a level with nobody to notify is passed at
// once, and an alert no level could deliver goes to the operator's fallback
// contact. An acknowledged alert stays open until resolved.
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
	"unicode/utf8"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	activities "github.com/zarish-sphere/zarish/activities/alert"
	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// TaskQueue is the queue the alert workers poll.
const TaskQueue = "alerts"

// WorkflowName is the registered name of the escalation workflow.
const WorkflowName = "AlertEscalation"

// Update, query names.
const (
	// UpdateAcknowledge takes an AcknowledgeRequest and returns the State.
	// Its validator refuses a practitioner who has not been notified of the
	// alert (RefusedNotARecipient), and an alert already acknowledged
	// (RefusedAlreadyAcknowledged) or closed (RefusedAlreadyClosed).
	UpdateAcknowledge = "acknowledge"
	// UpdateResolve takes a ResolveRequest and returns the State; refused
	// (RefusedAlreadyClosed) when the alert is already closed.
	UpdateResolve = "resolve"
	// QueryState returns the State.
	QueryState = "state"
)

// Refusal types: the ApplicationError types the updates and activities
// answer with, which callers match (never the message). Validators refuse
// before anything is written to the history; a change the read model does
// not store is refused by its handler and leaves the alert as it was.
const (
	// RefusedNotARecipient: only a practitioner notified of the alert may
	// acknowledge it.
	RefusedNotARecipient = "alert.NotARecipient"
	// RefusedAlreadyAcknowledged: the alert is acknowledged already.
	RefusedAlreadyAcknowledged = "alert.AlreadyAcknowledged"
	// RefusedAlreadyClosed: the alert is resolved, exhausted or
	// undeliverable; the message names which.
	RefusedAlreadyClosed = "alert.AlreadyClosed"
	// RefusedNotRecorded: the read model refused the change for good.
	RefusedNotRecorded = "alert.NotRecorded"
	// RefusedRecordUnavailable: the read model could not be reached within
	// the retry policy; the request may be repeated.
	RefusedRecordUnavailable = "alert.RecordUnavailable"
	// RefusedNoPolicy: no routing rule matches the alert's category and
	// severity (the workflow fails with it; a raise through the API is
	// refused before it starts).
	RefusedNoPolicy = activities.TypeNoPolicy
)

// refusals maps the rules' sentinels to the refusal types; any other
// refusal (a missing practitioner) is process.TypeInvalidInput.
var refusals = []process.Refusal{
	{Err: alert.ErrNotRecipient, Type: RefusedNotARecipient},
	{Err: alert.ErrAlreadyAcked, Type: RefusedAlreadyAcknowledged},
	{Err: alert.ErrAlreadyClosed, Type: RefusedAlreadyClosed},
}

// Search attributes (Keyword, registered on the namespace) set on every alert.
var (
	SearchPatientID = temporal.NewSearchAttributeKeyKeyword("PatientId")
	// SearchAlertStatus is the alert's status. It has a name of its own:
	// a custom "Status" hides Temporal's execution status in the Web UI.
	SearchAlertStatus = temporal.NewSearchAttributeKeyKeyword("AlertStatus")
	// SearchStatus is what runs started before AlertStatus still upsert;
	// it stays registered so their histories load.
	SearchStatus = temporal.NewSearchAttributeKeyKeyword("Status")
)

// SearchOwnerID (integrations/temporal.StartSearchAttributes) is the
// practitioner the alert names to notify at its first level, set when a
// caller outside a workflow starts the escalation and never upserted.
var SearchOwnerID = temporal.NewSearchAttributeKeyKeyword("OwnerId")

// Statuses an alert moves through: open → acknowledged → resolved, or
// open → exhausted / undeliverable / resolved.
const (
	StatusOpen          = alert.StatusOpen
	StatusAcknowledged  = alert.StatusAcknowledged
	StatusResolved      = alert.StatusResolved
	StatusExhausted     = alert.StatusExhausted
	StatusUndeliverable = alert.StatusUndeliverable
)

// workflowIDPrefix opens every alert's workflow id.
const workflowIDPrefix = "alert/"

// WorkflowID is the readable id of an alert's workflow: "alert/<alertId>".
func WorkflowID(alertID uuid.UUID) string { return workflowIDPrefix + alertID.String() }

// IDFromWorkflowID is the alert id in a workflow id WorkflowID made.
func IDFromWorkflowID(workflowID string) (uuid.UUID, error) {
	rest, ok := strings.CutPrefix(workflowID, workflowIDPrefix)
	if !ok {
		return uuid.Nil, fmt.Errorf("%q is not an alert workflow id", workflowID)
	}
	return uuid.Parse(rest)
}

// Input starts an escalation. PolicyID may be empty: the routing rules then
// pick the policy by category and severity.
type Input struct {
	alert.Raise
	// Resume carries the state across continue-as-new; starters leave it nil.
	Resume *State `json:"resume,omitempty"`
}

// State is what the "state" query and both updates return: status, current
// step, everyone notified, and the full timeline. It is the workflow's own
// business (also its continue-as-new payload): callers show View.
type State = alert.State

// Request is an update's argument: it names its Update, checks its own
// fields, and carries the audit record of the API request that asked, which
// the read-model write stores in its own transaction.
type Request interface {
	UpdateName() string
	// Actor is the practitioner acting; SetActor sets it (the API takes it
	// from the token).
	Actor() uuid.UUID
	SetActor(uuid.UUID)
	// Validate reports every invalid field at once (*domain.ValidationError).
	Validate() error
	process.Auditable
}

// AcknowledgeRequest is the "acknowledge" update's argument.
type AcknowledgeRequest struct {
	PractitionerID uuid.UUID `json:"practitionerId"`
	process.Audited
}

// ResolveRequest is the "resolve" update's argument.
type ResolveRequest struct {
	PractitionerID uuid.UUID `json:"practitionerId"`
	Note           string    `json:"note"`
	process.Audited
}

// UpdateName is the Update each request is sent as.
func (*AcknowledgeRequest) UpdateName() string { return UpdateAcknowledge }

// UpdateName is the Update each request is sent as.
func (*ResolveRequest) UpdateName() string { return UpdateResolve }

// Actor is the practitioner who acknowledges.
func (r *AcknowledgeRequest) Actor() uuid.UUID { return r.PractitionerID }

// SetActor names the practitioner who acknowledges.
func (r *AcknowledgeRequest) SetActor(id uuid.UUID) { r.PractitionerID = id }

// Actor is the practitioner who resolves.
func (r *ResolveRequest) Actor() uuid.UUID { return r.PractitionerID }

// SetActor names the practitioner who resolves.
func (r *ResolveRequest) SetActor(id uuid.UUID) { r.PractitionerID = id }

// MaxResolveNote is the longest resolution note, in characters.
const MaxResolveNote = 2000

// Validate checks that the request names who acknowledges.
func (r *AcknowledgeRequest) Validate() error {
	var v domain.ValidationError
	if r.PractitionerID == uuid.Nil {
		v.Add("practitionerId", "is required: the practitioner who acknowledges")
	}
	return v.OrNil()
}

// Validate checks that the request names who resolves, and why.
func (r *ResolveRequest) Validate() error {
	var v domain.ValidationError
	if r.PractitionerID == uuid.Nil {
		v.Add("practitionerId", "is required: the practitioner who resolves")
	}
	if strings.TrimSpace(r.Note) == "" || utf8.RuneCountInString(r.Note) > MaxResolveNote {
		v.Add("note", fmt.Sprintf("is required (at most %d characters)", MaxResolveNote))
	}
	return v.OrNil()
}

// StartChild raises an alert from another workflow. The alert outlives its
// parent (ParentClosePolicy abandon). The parent chooses in.AlertID and should
// derive it deterministically from what the alert is about (for example
// alert.OccurrenceID over the parent's own count of alerts it raised for that
// reason), so raising again from a replayed or repeated step is rejected by
// Temporal as a duplicate id rather than notifying twice: a
// ChildWorkflowExecutionAlreadyStartedError from the returned future's
// GetChildWorkflowExecution means the alert is already running. The alert's
// first activity records it in the read model.
func StartChild(ctx workflow.Context, in Input) (workflow.ChildWorkflowFuture, error) {
	if err := in.Validate(); err != nil {
		return nil, process.InvalidInput(err)
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

// Start starts the escalation of in.AlertID, which the caller has chosen;
// an escalation already running under that id is returned as it is.
// Callers outside workflows raise alerts with Raise, which records them
// first; Start alone is for tests and tools.
func Start(ctx context.Context, c client.Client, in Input) (client.WorkflowRun, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       WorkflowID(in.AlertID),
		TaskQueue:                TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes:    startAttributes(in.Raise),
	}, WorkflowName, in)
	if err != nil {
		return nil, fmt.Errorf("start alert %s: %w", in.AlertID, err)
	}
	return run, nil
}

// RaiseStore records raised alerts in the read model: the alert's row with
// its "raised" entry, the request's audit record and its Idempotency-Key,
// in one transaction, inside which the escalation is started through engine
// (integrations/postgres AlertStore.RaiseAlert).
type RaiseStore interface {
	RaiseAlert(ctx context.Context, req alert.RaiseRequest, engine alert.Engine) (alert.Raised, error)
}

// Raise raises an alert from outside a workflow, at most once per open alert
// for the same patient, category and source.
//
// The alert is recorded before its escalation starts, in the transaction
// that starts it: an alert the read model cannot store answers an error and
// starts nothing, a start that fails stores nothing, so no request is
// answered with an alert that does not exist. Deduplication happens in that
// transaction too, under a lock on the patient, category and source: the
// answer is the open alert already recorded for them, provided its
// escalation is running; otherwise a new alert (its id chosen by the store,
// req.Raise.AlertID is ignored) is recorded and started.
func Raise(ctx context.Context, c client.Client, store RaiseStore, req alert.RaiseRequest) (alert.Raised, error) {
	check := req.Raise
	check.AlertID = uuid.Max // chosen by the store; every other field must hold now
	if err := check.Validate(); err != nil {
		return alert.Raised{}, err
	}
	return store.RaiseAlert(ctx, req, engine{c})
}

// engine is alert.Engine on a Temporal client.
type engine struct{ c client.Client }

// Running reports whether the alert's escalation is running.
func (e engine) Running(ctx context.Context, alertID uuid.UUID) (bool, error) {
	d, err := e.c.DescribeWorkflowExecution(ctx, WorkflowID(alertID), "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("describe alert %s: %w", alertID, err)
	}
	return d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil
}

// Start starts the alert's escalation.
func (e engine) Start(ctx context.Context, r alert.Raise) error {
	_, err := Start(ctx, e.c, Input{Raise: r})
	return err
}

// Update sends req as its Update to the alert's workflow and returns the new
// state. A refused request (an ApplicationError of one of the Refused*
// types) changes nothing; on a closed alert the server answers NotFound.
func Update(ctx context.Context, c client.Client, alertID uuid.UUID, req Request) (State, error) {
	return process.Update[State](ctx, c, WorkflowID(alertID), req.UpdateName(), req)
}

// Acknowledge asks the alert's workflow to record practitioner's
// acknowledgement and returns the new state.
func Acknowledge(ctx context.Context, c client.Client, alertID uuid.UUID, req AcknowledgeRequest) (State, error) {
	return Update(ctx, c, alertID, &req)
}

// Resolve asks the alert's workflow to close the alert and returns the final state.
func Resolve(ctx context.Context, c client.Client, alertID uuid.UUID, req ResolveRequest) (State, error) {
	return Update(ctx, c, alertID, &req)
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
	switch {
	case err == nil, errors.As(err, &notFound), process.ErrorType(err) == RefusedAlreadyClosed:
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

// View is an alert as the API shows it, after a raise, a read or an update
// alike: the read model's record (or the same record built from the
// workflow's state), its workflow id, and what became of each notification.
type View struct {
	alert.Record
	WorkflowID string           `json:"workflowId"`
	Deliveries []alert.Delivery `json:"deliveries"`
}

// ViewOfRecord is the view of a read-model record and its deliveries.
func ViewOfRecord(r alert.Record, deliveries []alert.Delivery) View {
	if deliveries == nil {
		deliveries = []alert.Delivery{}
	}
	if r.Timeline == nil {
		r.Timeline = []alert.Event{}
	}
	return View{Record: r, WorkflowID: WorkflowID(r.ID), Deliveries: deliveries}
}

// ViewOf is the view of the workflow's state, for when the read model
// cannot be read: the same record, without deliveries.
func ViewOf(s State) View { return ViewOfRecord(s.Record(), nil) }

// startAttributes are the search attributes Start starts an escalation
// with: those of every alert, and the practitioner notified first when the
// raise names one.
func startAttributes(r alert.Raise) temporal.SearchAttributes {
	attrs := []temporal.SearchAttributeUpdate{SearchPatientID.ValueSet(r.PatientID.String()), SearchAlertStatus.ValueSet(string(StatusOpen))}
	if r.OwnerID != nil {
		attrs = append(attrs, SearchOwnerID.ValueSet(r.OwnerID.String()))
	}
	return temporal.NewSearchAttributes(attrs...)
}

func searchAttributes(r alert.Raise, status alert.Status) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(SearchPatientID.ValueSet(r.PatientID.String()), SearchAlertStatus.ValueSet(string(status)))
}
