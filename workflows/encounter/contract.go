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
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/zarish-sphere/zarish/domain/encounter"
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

// Every update's validator rejects a transition the current status forbids
// (wrapping encounter.ErrInvalidTransition and naming the status) or an
// invalid argument, before anything is written to the history.

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

// WorkflowID is the readable id of an encounter's workflow: "encounter/<encounterId>".
func WorkflowID(encounterID uuid.UUID) string { return "encounter/" + encounterID.String() }

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

// ArriveRequest is the "arrive" update's argument.
type ArriveRequest struct {
	By uuid.UUID `json:"by"` // who marks the patient arrived
}

// TriageRequest is the "triage" update's argument.
type TriageRequest struct {
	By             uuid.UUID        `json:"by"`
	Acuity         encounter.Acuity `json:"acuity"` // ESI 1–5
	ChiefComplaint string           `json:"chiefComplaint"`
}

// StartRequest is the "start" update's argument.
type StartRequest struct {
	By        uuid.UUID `json:"by"`
	Attending uuid.UUID `json:"attending"`
}

// TransferRequest is the "transfer" update's argument.
type TransferRequest struct {
	By       uuid.UUID `json:"by"`
	Location string    `json:"location"`
}

// DischargeRequest is the "discharge" update's argument. Force with a Reason
// discharges even though orders are open.
type DischargeRequest struct {
	By          uuid.UUID             `json:"by"`
	Disposition encounter.Disposition `json:"disposition"`
	Force       bool                  `json:"force,omitempty"`
	Reason      string                `json:"reason,omitempty"`
}

// CancelRequest is the "cancel" update's argument.
type CancelRequest struct {
	By     uuid.UUID `json:"by"`
	Reason string    `json:"reason"`
}

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
	return c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       WorkflowID(in.EncounterID),
		TaskQueue:                TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			SearchPatientID.ValueSet(in.PatientID.String()), SearchStatus.ValueSet(string(encounter.StatusPlanned))),
	}, WorkflowName, in)
}

// Transition sends the update name (UpdateArrive … UpdateCancel) with its
// request and returns the new state. A rejected transition changes nothing.
func Transition(ctx context.Context, c client.Client, encounterID uuid.UUID, name string, req any) (State, error) {
	var s State
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   WorkflowID(encounterID),
		UpdateName:   name,
		Args:         []any{req},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return s, err
	}
	return s, h.Get(ctx, &s)
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
