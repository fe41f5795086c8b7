// Package encounter is the Encounter workflow: one run per visit, from
// planned through arrival, triage and care to discharge or cancellation. It
// holds the encounter's state, answers the transitions as Updates whose
// validators refuse what the current status forbids, tracks the orders other
// processes link to it, and raises an alert when triage is overdue or care
// runs past its expected length.
//
// This file is the contract: everything a caller needs to open, move and read
// an encounter.
package encounter

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

	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/outbox"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// TaskQueue is the queue the encounter workers poll.
const TaskQueue = "encounters"

// WorkflowName is the registered name of the encounter workflow.
const WorkflowName = "Encounter"

// Update, signal and query names.
const (
	// UpdateArrive takes an ArriveRequest and returns the State.
	UpdateArrive = "arrive"
	// UpdateTriage takes a TriageRequest and returns the State.
	UpdateTriage = "triage"
	// UpdateStart takes a StartRequest and returns the State.
	UpdateStart = "start"
	// UpdateTransfer takes a TransferRequest and returns the State.
	UpdateTransfer = "transfer"
	// UpdateDischarge takes a DischargeRequest and returns the State; its
	// validator refuses open orders unless forced with a reason.
	UpdateDischarge = "discharge"
	// UpdateCancel takes a CancelRequest and returns the State.
	UpdateCancel = "cancel"

	// SignalOrderLinked takes an OrderSignal: another process placed an order
	// during the encounter.
	SignalOrderLinked = "order-linked"
	// SignalOrderClosed takes an OrderSignal: that order is complete.
	SignalOrderClosed = "order-closed"

	// QueryState returns the State.
	QueryState = "state"
)

// Refusal types: the ApplicationError types the updates answer with, which
// callers match (never the message). Every update's validator rejects a
// transition the current status forbids or an invalid argument before
// anything is written to the history; a change the read model cannot store
// is refused by the handler and leaves the encounter as it was.
const (
	// RefusedInvalidTransition: the current status forbids the transition;
	// the message names the status.
	RefusedInvalidTransition = "encounter.InvalidTransition"
	// RefusedOpenOrders: discharge with open orders, not forced with a reason.
	RefusedOpenOrders = "encounter.OpenOrders"
	// RefusedInvalidArgument: an argument the rules reject.
	RefusedInvalidArgument = "encounter.InvalidArgument"
	// RefusedNotRecorded: the read model refused the change for good.
	RefusedNotRecorded = "encounter.NotRecorded"
	// RefusedRecordUnavailable: the read model could not be reached within
	// the retry policy; the request may be repeated.
	RefusedRecordUnavailable = "encounter.RecordUnavailable"
)

// refusals maps the rules' sentinels to the refusal types.
var refusals = []process.Refusal{
	{Err: encounter.ErrOpenOrders, Type: RefusedOpenOrders},
	{Err: encounter.ErrInvalidTransition, Type: RefusedInvalidTransition},
	{Err: encounter.ErrInvalidArgument, Type: RefusedInvalidArgument},
}

// Search attributes (Keyword, registered on the namespace) set on every encounter.
var (
	SearchPatientID = temporal.NewSearchAttributeKeyKeyword("PatientId")
	SearchStatus    = temporal.NewSearchAttributeKeyKeyword("EncounterStatus")
)

// Defaults for Input's durations.
const (
	DefaultTriageDeadline = 15 * time.Minute
	DefaultExpectedLength = 8 * time.Hour
)

// The categories of the alerts an encounter raises.
const (
	// CategoryTriageOverdue: the patient arrived and was not triaged within
	// the triage deadline.
	CategoryTriageOverdue = "triage-overdue"
	// CategoryReview: care has run past the expected length.
	CategoryReview = "encounter-review"
)

// workflowIDPrefix opens every encounter's workflow id.
const workflowIDPrefix = "encounter/"

// WorkflowID is the readable id of an encounter's workflow: "encounter/<encounterId>".
func WorkflowID(encounterID uuid.UUID) string { return workflowIDPrefix + encounterID.String() }

// IDFromWorkflowID is the encounter id in a workflow id WorkflowID made.
func IDFromWorkflowID(workflowID string) (uuid.UUID, error) {
	rest, ok := strings.CutPrefix(workflowID, workflowIDPrefix)
	if !ok {
		return uuid.Nil, fmt.Errorf("%q is not an encounter workflow id", workflowID)
	}
	return uuid.Parse(rest)
}

// Input opens an encounter.
type Input struct {
	EncounterID uuid.UUID       `json:"encounterId"`
	PatientID   uuid.UUID       `json:"patientId"`
	Class       encounter.Class `json:"class"`
	Reason      string          `json:"reason,omitempty"`
	Location    string          `json:"location"`
	Priority    string          `json:"priority,omitempty"`
	// TriageDeadline is how long after arrival triage may take before the
	// triage-overdue alert; DefaultTriageDeadline when zero.
	TriageDeadline time.Duration `json:"triageDeadline,omitempty"`
	// ExpectedLength is how long care may run before the encounter-review
	// alert; DefaultExpectedLength when zero.
	ExpectedLength time.Duration `json:"expectedLength,omitempty"`
	// CreatedAt is when the encounter was opened, as its read-model row
	// (written before the start) says; zero takes the workflow's clock.
	CreatedAt time.Time `json:"createdAt,omitzero"`
	// Resume carries the state across continue-as-new; starters leave it nil.
	Resume *State `json:"resume,omitempty"`
}

// Details is the encounter the input opens.
func (in Input) Details() encounter.Details {
	return encounter.Details{EncounterID: in.EncounterID, PatientID: in.PatientID, Class: in.Class,
		Reason: in.Reason, Location: in.Location, Priority: in.Priority}
}

// State is what the "state" query and every update return.
type State = encounter.State

// Request is a transition: it names its Update and who asks for it, and
// carries the audit record of the API request that asked, which the
// read-model write stores in its own transaction.
type Request interface {
	UpdateName() string
	// Actor is the practitioner making the change; SetActor sets it (the
	// API takes it from the token).
	Actor() uuid.UUID
	SetActor(uuid.UUID)
	process.Auditable
}

// ArriveRequest is the "arrive" update's argument.
type ArriveRequest struct {
	By uuid.UUID `json:"by"` // who marks the patient arrived
	process.Audited
}

// TriageRequest is the "triage" update's argument.
type TriageRequest struct {
	By             uuid.UUID        `json:"by"`
	Acuity         encounter.Acuity `json:"acuity"` // ESI 1–5
	ChiefComplaint string           `json:"chiefComplaint"`
	process.Audited
}

// StartRequest is the "start" update's argument.
type StartRequest struct {
	By        uuid.UUID `json:"by"`
	Attending uuid.UUID `json:"attending"`
	process.Audited
}

// TransferRequest is the "transfer" update's argument.
type TransferRequest struct {
	By       uuid.UUID `json:"by"`
	Location string    `json:"location"`
	process.Audited
}

// DischargeRequest is the "discharge" update's argument. Force with a Reason
// discharges even though orders are open.
type DischargeRequest struct {
	By          uuid.UUID             `json:"by"`
	Disposition encounter.Disposition `json:"disposition"`
	Force       bool                  `json:"force,omitempty"`
	Reason      string                `json:"reason,omitempty"`
	process.Audited
}

// CancelRequest is the "cancel" update's argument.
type CancelRequest struct {
	By     uuid.UUID `json:"by"`
	Reason string    `json:"reason"`
	process.Audited
}

// UpdateName is the Update each request is sent as.
func (*ArriveRequest) UpdateName() string    { return UpdateArrive }
func (*TriageRequest) UpdateName() string    { return UpdateTriage }
func (*StartRequest) UpdateName() string     { return UpdateStart }
func (*TransferRequest) UpdateName() string  { return UpdateTransfer }
func (*DischargeRequest) UpdateName() string { return UpdateDischarge }
func (*CancelRequest) UpdateName() string    { return UpdateCancel }

// SetActor names the practitioner making the change.
func (r *ArriveRequest) SetActor(id uuid.UUID)    { r.By = id }
func (r *TriageRequest) SetActor(id uuid.UUID)    { r.By = id }
func (r *StartRequest) SetActor(id uuid.UUID)     { r.By = id }
func (r *TransferRequest) SetActor(id uuid.UUID)  { r.By = id }
func (r *DischargeRequest) SetActor(id uuid.UUID) { r.By = id }
func (r *CancelRequest) SetActor(id uuid.UUID)    { r.By = id }

// Actor is the practitioner each request names as making the change.
func (r *ArriveRequest) Actor() uuid.UUID    { return r.By }
func (r *TriageRequest) Actor() uuid.UUID    { return r.By }
func (r *StartRequest) Actor() uuid.UUID     { return r.By }
func (r *TransferRequest) Actor() uuid.UUID  { return r.By }
func (r *DischargeRequest) Actor() uuid.UUID { return r.By }
func (r *CancelRequest) Actor() uuid.UUID    { return r.By }

// OrderSignal is the "order-linked" and "order-closed" signals' argument.
type OrderSignal struct {
	OrderID uuid.UUID           `json:"orderId"`
	Kind    encounter.OrderKind `json:"kind"` // needed when linking
}

// Start opens the encounter's workflow. Starting an encounter whose workflow
// is running returns that run; a closed encounter's id is never reused.
func Start(ctx context.Context, c client.Client, in Input) (client.WorkflowRun, error) {
	if err := in.Details().Validate(); err != nil {
		return nil, err
	}
	return c.ExecuteWorkflow(ctx, StartOptions(in), WorkflowName, in)
}

// StartOptions are the options Start starts the encounter's workflow with,
// for a caller that starts it through a narrower client than client.Client.
func StartOptions(in Input) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       WorkflowID(in.EncounterID),
		TaskQueue:                TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			SearchPatientID.ValueSet(in.PatientID.String()), SearchStatus.ValueSet(string(encounter.StatusPlanned))),
	}
}

// StartGrace is how long the workflow starter leaves a new encounter's
// start to the API, which starts it at once after the commit.
const StartGrace = 10 * time.Second

// Starts is the start row a new encounter's store transaction writes, so
// the workflow starts even if the API's own start (right after the commit)
// never happens: the starter steps in after StartGrace.
func Starts(in Input) ([]outbox.WorkflowStart, error) {
	raw, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("encounter %s start: %w", in.EncounterID, err)
	}
	return []outbox.WorkflowStart{{
		WorkflowID:   WorkflowID(in.EncounterID),
		WorkflowType: WorkflowName,
		TaskQueue:    TaskQueue,
		Input:        raw,
		SearchAttributes: map[string]string{
			SearchPatientID.GetName(): in.PatientID.String(),
			SearchStatus.GetName():    string(encounter.StatusPlanned),
		},
		Grace: StartGrace,
	}}, nil
}

// Transition sends req as its Update and returns the new state. A refused
// transition (an ApplicationError of one of the Refused* types) changes
// nothing; on a closed encounter the server answers NotFound.
func Transition(ctx context.Context, c client.Client, encounterID uuid.UUID, req Request) (State, error) {
	return process.Update[State](ctx, c, WorkflowID(encounterID), req.UpdateName(), req)
}

// View is an encounter as the API shows it, after a read or a transition
// alike: the read model's record.
type View = encounter.Record

// ViewOf is the view of the workflow's state after a transition.
func ViewOf(s State) View { return ViewOfRecord(s.Record()) }

// ViewOfRecord is the view of the read model's record.
func ViewOfRecord(r encounter.Record) View {
	r.WorkflowID = WorkflowID(r.ID)
	return r
}

// ViewsOfRecords is the view of each record.
func ViewsOfRecords(rs []encounter.Record) []View {
	out := make([]View, len(rs))
	for i, r := range rs {
		out[i] = ViewOfRecord(r)
	}
	return out
}

// LinkOrder tells the encounter that an order was placed during it.
func LinkOrder(ctx context.Context, c client.Client, encounterID uuid.UUID, o OrderSignal) error {
	return c.SignalWorkflow(ctx, WorkflowID(encounterID), "", SignalOrderLinked, o)
}

// CloseOrder tells the encounter that one of its orders is complete.
func CloseOrder(ctx context.Context, c client.Client, encounterID uuid.UUID, o OrderSignal) error {
	return c.SignalWorkflow(ctx, WorkflowID(encounterID), "", SignalOrderClosed, o)
}

// GetState reads the encounter's state from its workflow.
func GetState(ctx context.Context, c client.Client, encounterID uuid.UUID) (State, error) {
	var s State
	v, err := c.QueryWorkflow(ctx, WorkflowID(encounterID), "", QueryState)
	if err != nil {
		return s, err
	}
	return s, v.Get(&s)
}
