// Package procedure is the ProcedureScheduling workflow: one run per
// procedure request, from the search for the earliest slot where every room,
// member of staff, piece of equipment and the patient are free, through the
// hold that lapses unless it is booked, the reminders before the day, the
// safety checklist, check-in, start and completion, to its ends: completed,
// cancelled (every allocation released), a no-show (found by timer), or
// rescheduled — the allocations swapped in one transaction — when asked or
// when an emergency takes its slot. PostgreSQL refuses any overlap of two
// allocations of one resource; the workflow never relies on its own checks
// for that.
//
// This file is the contract: everything a caller needs to start, move and
// read a procedure.
package procedure

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/zarish-sphere/zarish/domain/outbox"
	"github.com/zarish-sphere/zarish/domain/procedure"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// TaskQueue is the queue the procedure workers poll.
const TaskQueue = "procedures"

// WorkflowName is the registered name of the procedure workflow.
const WorkflowName = "ProcedureScheduling"

// Update, signal and query names. Every Update returns the State.
const (
	// UpdateScheduled takes nothing and answers once the first search has
	// run: the procedure held, or unscheduled with why.
	UpdateScheduled = "scheduled"
	// UpdateBook takes a BookRequest: the hold is confirmed.
	UpdateBook = "book"
	// UpdateReschedule takes a RescheduleRequest: a new slot in a new
	// window, swapped for the booked one in one transaction.
	UpdateReschedule = "reschedule"
	// UpdateCheck takes a CheckRequest: a checklist item done.
	UpdateCheck = "check"
	// UpdateCheckIn takes a CheckInRequest: the patient arrived.
	UpdateCheckIn = "check-in"
	// UpdateStart takes a StartRequest: the procedure began.
	UpdateStart = "start"
	// UpdateComplete takes a CompleteRequest: the outcome.
	UpdateComplete = "complete"
	// UpdateCancel takes a CancelRequest: every allocation is released.
	UpdateCancel = "cancel"

	// SignalBumped takes a Bumped: an emergency needs this procedure's
	// slot; the procedure releases it and is scheduled again.
	SignalBumped = "bumped"

	// QueryState returns the State.
	QueryState = "state"
)

// Refusal types: the ApplicationError types the Updates answer with.
const (
	RefusedInvalidTransition = "procedure.InvalidTransition"
	RefusedInvalidArgument   = "procedure.InvalidArgument"
	// RefusedChecklistIncomplete: items of the safety checklist are not
	// done; the message names them.
	RefusedChecklistIncomplete = "procedure.ChecklistIncomplete"
	// RefusedNoSlot: no slot in the window asked for; the booking stands.
	// The details are a NoSlot.
	RefusedNoSlot = "procedure.NoSlot"
	// RefusedHoldLapsed: the hold lapsed before it was booked.
	RefusedHoldLapsed = "procedure.HoldLapsed"
	// RefusedNotRecorded: the read model refused the change for good.
	RefusedNotRecorded = "procedure.NotRecorded"
	// RefusedRecordUnavailable: the read model could not be reached; nothing
	// changed and the request may be repeated.
	RefusedRecordUnavailable = "procedure.RecordUnavailable"
)

// refusals maps the rules' sentinels to the refusal types, narrower first.
var refusals = []process.Refusal{
	{Err: procedure.ErrChecklistIncomplete, Type: RefusedChecklistIncomplete},
	{Err: procedure.ErrInvalidTransition, Type: RefusedInvalidTransition},
	{Err: procedure.ErrInvalidArgument, Type: RefusedInvalidArgument},
}

// Search attributes (Keyword, registered on the namespace) set on every run.
var (
	SearchPatientID = temporal.NewSearchAttributeKeyKeyword("PatientId")
	SearchStatus    = temporal.NewSearchAttributeKeyKeyword("ProcedureStatus")
)

// Start-only search attributes (integrations/temporal.StartSearchAttributes):
// set when the workflow starts, never upserted by it.
var (
	SearchOwnerID  = temporal.NewSearchAttributeKeyKeyword("OwnerId")
	SearchDeadline = temporal.NewSearchAttributeKeyTime("Deadline")
)

// The categories of the alerts a procedure raises.
const (
	// CategoryUnscheduled: no slot was found for an urgent or emergency
	// request, or an emergency could not take one; the unit is alerted.
	CategoryUnscheduled = "procedure-unscheduled"
)

// DefaultHoldFor is how long a slot stays held unless booked.
const DefaultHoldFor = 10 * time.Minute

// workflowIDPrefix opens every procedure's workflow id.
const workflowIDPrefix = "procedure/"

// WorkflowID is the readable id of a procedure's workflow: procedure/<id>.
func WorkflowID(id uuid.UUID) string { return workflowIDPrefix + id.String() }

// IDFromWorkflowID is the procedure id a workflow id names.
func IDFromWorkflowID(workflowID string) (uuid.UUID, error) {
	rest, ok := strings.CutPrefix(workflowID, workflowIDPrefix)
	if !ok {
		return uuid.Nil, fmt.Errorf("%q is not a procedure workflow id", workflowID)
	}
	return uuid.Parse(rest)
}

// Source is the process name alerts raised for the procedure carry.
func Source(id uuid.UUID) string { return "procedure/" + id.String() }

// Input starts a procedure's run: the procedure as the API stored it
// (requested), the unit its alerts go to, and how long a hold lasts; Resume
// is set when a run continues as new.
type Input struct {
	Procedure procedure.Procedure `json:"procedure"`
	Unit      string              `json:"unit,omitempty"`
	// HoldFor is how long a held slot waits to be booked; zero is
	// DefaultHoldFor.
	HoldFor time.Duration `json:"holdFor,omitempty"`
	// AutoBook books the slot as soon as it is held (an emergency, or a
	// procedure bumped from a booked slot).
	AutoBook bool    `json:"autoBook,omitempty"`
	Resume   *Resume `json:"resume,omitempty"`
}

// Resume is what a run hands the next when it continues as new.
type Resume struct {
	Procedure procedure.Procedure `json:"procedure"`
	AutoBook  bool                `json:"autoBook,omitempty"`
	Alerts    []uuid.UUID         `json:"alerts,omitempty"`
	Raised    int                 `json:"raised,omitempty"`
}

// State is what the "state" query and every Update return.
type State = procedure.Procedure

// NoSlot is the detail of a RefusedNoSlot refusal: why the window asked
// for has no slot, the blocking resources and the nearest alternatives.
type NoSlot = procedure.SearchOutcome

// Bumped is the bumped signal's argument: the emergency that takes the slot.
type Bumped struct {
	EmergencyID uuid.UUID `json:"emergencyId"`
}

// Request is a step: it names its Update and who takes it, and carries the
// audit record of the API request that asked.
type Request interface {
	UpdateName() string
	Actor() uuid.UUID
	SetActor(uuid.UUID)
	process.Auditable
}

// BookRequest is the "book" Update's argument.
type BookRequest struct {
	By uuid.UUID `json:"by"`
	process.Audited
}

// RescheduleRequest is the "reschedule" Update's argument.
type RescheduleRequest struct {
	Window procedure.Period `json:"window"`
	Reason string           `json:"reason"`
	By     uuid.UUID        `json:"by"`
	process.Audited
}

// CheckRequest is the "check" Update's argument: a checklist item done.
type CheckRequest struct {
	Code string    `json:"code"`
	Note string    `json:"note,omitempty"`
	By   uuid.UUID `json:"by"`
	process.Audited
}

// CheckInRequest is the "check-in" Update's argument.
type CheckInRequest struct {
	By uuid.UUID `json:"by"`
	process.Audited
}

// StartRequest is the "start" Update's argument.
type StartRequest struct {
	By uuid.UUID `json:"by"`
	process.Audited
}

// CompleteRequest is the "complete" Update's argument.
type CompleteRequest struct {
	Completion procedure.Completion `json:"completion"`
	process.Audited
}

// CancelRequest is the "cancel" Update's argument.
type CancelRequest struct {
	Reason string    `json:"reason"`
	By     uuid.UUID `json:"by"`
	process.Audited
}

// UpdateName is the Update each request is sent as.
func (*BookRequest) UpdateName() string       { return UpdateBook }
func (*RescheduleRequest) UpdateName() string { return UpdateReschedule }
func (*CheckRequest) UpdateName() string      { return UpdateCheck }
func (*CheckInRequest) UpdateName() string    { return UpdateCheckIn }
func (*StartRequest) UpdateName() string      { return UpdateStart }
func (*CompleteRequest) UpdateName() string   { return UpdateComplete }
func (*CancelRequest) UpdateName() string     { return UpdateCancel }

// SetActor names the person taking the step.
func (r *BookRequest) SetActor(id uuid.UUID)       { r.By = id }
func (r *RescheduleRequest) SetActor(id uuid.UUID) { r.By = id }
func (r *CheckRequest) SetActor(id uuid.UUID)      { r.By = id }
func (r *CheckInRequest) SetActor(id uuid.UUID)    { r.By = id }
func (r *StartRequest) SetActor(id uuid.UUID)      { r.By = id }
func (r *CompleteRequest) SetActor(id uuid.UUID)   { r.Completion.By = id }
func (r *CancelRequest) SetActor(id uuid.UUID)     { r.By = id }

// Actor is the person each request names.
func (r *BookRequest) Actor() uuid.UUID       { return r.By }
func (r *RescheduleRequest) Actor() uuid.UUID { return r.By }
func (r *CheckRequest) Actor() uuid.UUID      { return r.By }
func (r *CheckInRequest) Actor() uuid.UUID    { return r.By }
func (r *StartRequest) Actor() uuid.UUID      { return r.By }
func (r *CompleteRequest) Actor() uuid.UUID   { return r.Completion.By }
func (r *CancelRequest) Actor() uuid.UUID     { return r.By }

func startOptions(in Input) client.StartWorkflowOptions {
	rq := in.Procedure.Request
	return client.StartWorkflowOptions{
		ID:                       WorkflowID(rq.ID),
		TaskQueue:                TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			SearchPatientID.ValueSet(rq.PatientID.String()), SearchStatus.ValueSet(string(in.Procedure.Status)),
			SearchOwnerID.ValueSet(rq.RequesterID.String())),
	}
}

// Start starts the procedure's workflow; one already running is returned as
// it is, and a closed procedure's id is never reused.
func Start(ctx context.Context, c client.Client, in Input) (client.WorkflowRun, error) {
	return c.ExecuteWorkflow(ctx, startOptions(in), WorkflowName, in)
}

// StartGrace is how long the workflow starter leaves a new procedure's
// start to the API, which starts it at once after the commit.
const StartGrace = 10 * time.Second

// Starts is the start row a new procedure's store transaction writes, so
// the workflow starts even if the API's own start never happens.
func Starts(in Input) ([]outbox.WorkflowStart, error) {
	raw, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("procedure %s start: %w", in.Procedure.Request.ID, err)
	}
	rq := in.Procedure.Request
	return []outbox.WorkflowStart{{
		WorkflowID:   WorkflowID(rq.ID),
		WorkflowType: WorkflowName,
		TaskQueue:    TaskQueue,
		Input:        raw,
		SearchAttributes: map[string]string{
			SearchPatientID.GetName(): rq.PatientID.String(),
			SearchStatus.GetName():    string(in.Procedure.Status),
			SearchOwnerID.GetName():   rq.RequesterID.String(),
		},
		Grace: StartGrace,
	}}, nil
}

// AwaitScheduled waits until the procedure's first search has run and
// returns its state.
func AwaitScheduled(ctx context.Context, c client.Client, id uuid.UUID) (State, error) {
	return process.Update[State](ctx, c, WorkflowID(id), UpdateScheduled)
}

// Step sends req as its Update and returns the new state. A refused step
// changes nothing.
func Step(ctx context.Context, c client.Client, id uuid.UUID, req Request) (State, error) {
	return process.Update[State](ctx, c, WorkflowID(id), req.UpdateName(), req)
}

// GetState reads the procedure's state from its workflow.
func GetState(ctx context.Context, c client.Client, id uuid.UUID) (State, error) {
	return process.Query[State](ctx, c, WorkflowID(id), QueryState)
}

// View is a procedure as the API shows it: its state and the id of the
// workflow that runs it.
type View struct {
	procedure.Procedure
	WorkflowID string `json:"workflowId"`
}
