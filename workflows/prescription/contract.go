// Package prescription is the Prescription workflow: one run per medication
// order, from its first check through hold and override, pharmacist
// verification, dispensing and administration to discontinuation,
// cancellation or completion when its duration runs out. Every step is an
// Update whose validator refuses what the prescription's status forbids
// before anything reaches the history; the checks run again at verification
// and whenever the patient gains an allergy or another prescription, and a
// new finding holds the order and tells its prescriber.
//
// This file is the contract: everything a caller needs to place, move and
// read a prescription.
package prescription

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
	"github.com/zarish-sphere/zarish/domain/prescription"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// TaskQueue is the queue the prescription workers poll.
const TaskQueue = "prescriptions"

// WorkflowName is the registered name of the prescription workflow.
const WorkflowName = "Prescription"

// Update, signal and query names.
const (
	// UpdateChecked takes no argument and returns the State once the
	// first checks have run: what the prescriber sees on placing the order.
	UpdateChecked = "checked"
	// UpdateOverride takes an OverrideRequest and returns the State.
	UpdateOverride = "override"
	// UpdateVerify takes a VerifyRequest and returns the State: verified,
	// or on hold when the checks run again found something new.
	UpdateVerify = "verify"
	// UpdateDispense takes a DispenseRequest and returns the State.
	UpdateDispense = "dispense"
	// UpdateAdminister takes an AdministerRequest and returns the State.
	UpdateAdminister = "administer"
	// UpdateDiscontinue takes a DiscontinueRequest and returns the State.
	UpdateDiscontinue = "discontinue"
	// UpdateCancel takes a CancelRequest and returns the State.
	UpdateCancel = "cancel"

	// SignalRecheck takes a Recheck: the patient changed (a new allergy, a
	// new prescription), so the checks run again.
	SignalRecheck = "recheck"

	// QueryState returns the State.
	QueryState = "state"
)

// Refusal types: the ApplicationError types the Updates answer with, which
// callers match (never the message). A validator refuses before anything is
// written to the history; a change the read model cannot store is refused by
// the handler and leaves the prescription as it was.
const (
	// RefusedInvalidTransition: the prescription's status forbids the step.
	RefusedInvalidTransition = "prescription.InvalidTransition"
	// RefusedInvalidArgument: an argument the rules reject.
	RefusedInvalidArgument = "prescription.InvalidArgument"
	// RefusedPharmacistRequired: only a pharmacist may take the step.
	RefusedPharmacistRequired = "prescription.PharmacistRequired"
	// RefusedNotRecorded: the read model refused the change for good.
	RefusedNotRecorded = "prescription.NotRecorded"
	// RefusedRecordUnavailable: the read model could not be reached within
	// the retry policy; nothing changed and the request may be repeated.
	RefusedRecordUnavailable = "prescription.RecordUnavailable"
)

// refusals maps the rules' sentinels to the refusal types.
var refusals = []process.Refusal{
	{Err: prescription.ErrPharmacistRequired, Type: RefusedPharmacistRequired},
	{Err: prescription.ErrInvalidTransition, Type: RefusedInvalidTransition},
	{Err: prescription.ErrInvalidArgument, Type: RefusedInvalidArgument},
}

// Search attributes (Keyword, registered on the namespace) set on every run.
var (
	SearchPatientID = temporal.NewSearchAttributeKeyKeyword("PatientId")
	SearchStatus    = temporal.NewSearchAttributeKeyKeyword("PrescriptionStatus")
)

// Start-only search attributes (integrations/temporal.StartSearchAttributes):
// set when the workflow starts, never upserted by it.
var (
	SearchOwnerID  = temporal.NewSearchAttributeKeyKeyword("OwnerId")
	SearchDeadline = temporal.NewSearchAttributeKeyTime("Deadline")
)

// DefaultHoldTimeout is how long a held prescription may wait for someone to
// override or cancel it before the pharmacist on call is alerted.
const DefaultHoldTimeout = 30 * time.Minute

// The categories of the alerts a prescription raises.
const (
	// CategoryHold: a held prescription nobody acted on in time; the
	// pharmacist on call is alerted.
	CategoryHold = "prescription-hold"
	// CategoryFinding: the checks, run again, found a new problem with an
	// active prescription and held it; its prescriber is told.
	CategoryFinding = "prescription-finding"
	// CategoryDoseDue: a scheduled dose was not recorded in time.
	CategoryDoseDue = "medication-dose-due"
)

// workflowIDPrefix opens every prescription's workflow id.
const workflowIDPrefix = "prescription/"

// WorkflowID is the readable id of a prescription's workflow:
// "prescription/<prescriptionId>".
func WorkflowID(id uuid.UUID) string { return workflowIDPrefix + id.String() }

// IDFromWorkflowID is the prescription id in a workflow id WorkflowID made.
func IDFromWorkflowID(workflowID string) (uuid.UUID, error) {
	rest, ok := strings.CutPrefix(workflowID, workflowIDPrefix)
	if !ok {
		return uuid.Nil, fmt.Errorf("%q is not a prescription workflow id", workflowID)
	}
	return uuid.Parse(rest)
}

// Source is the source named on the prescription's alerts.
func Source(id uuid.UUID) string { return workflowIDPrefix + id.String() }

// Input starts a prescription's process.
type Input struct {
	// Prescription is the draft as stored, before its checks.
	Prescription prescription.Prescription `json:"prescription"`
	// HoldTimeout overrides DefaultHoldTimeout when positive.
	HoldTimeout time.Duration `json:"holdTimeout,omitempty"`
	// DoseGrace overrides prescription.DoseReminderGrace when positive.
	DoseGrace time.Duration `json:"doseGrace,omitempty"`
	// Resume carries the state across continue-as-new; starters leave it nil.
	Resume *Resume `json:"resume,omitempty"`
}

// Resume is what a run hands the next.
type Resume struct {
	Prescription prescription.Prescription `json:"prescription"`
	Alerts       Alerts                    `json:"alerts"`
}

// Alerts are the alerts a run raised and has not yet settled.
type Alerts struct {
	// Hold is the alert about the current hold, when raised.
	Hold *uuid.UUID `json:"hold,omitempty"`
	// Dose is the reminder about the dose due at DoseDue, when raised.
	Dose    *uuid.UUID `json:"dose,omitempty"`
	DoseDue *time.Time `json:"doseDue,omitempty"`
	// Raised counts every alert raised, so each has an id of its own.
	Raised int `json:"raised"`
}

// State is what the "state" query and every Update return.
type State = prescription.Prescription

// Request is a step: it names its Update and who takes it, and carries the
// audit record of the API request that asked, which the read-model write
// stores in its own transaction.
type Request interface {
	UpdateName() string
	// Actor is the practitioner taking the step; SetActor sets it (the API
	// takes it from the token).
	Actor() uuid.UUID
	SetActor(uuid.UUID)
	process.Auditable
}

// OverrideRequest is the "override" Update's argument.
type OverrideRequest struct {
	prescription.OverrideRequest
	process.Audited
}

// VerifyRequest is the "verify" Update's argument.
type VerifyRequest struct {
	By uuid.UUID `json:"by"`
	process.Audited
}

// DispenseRequest is the "dispense" Update's argument.
type DispenseRequest struct {
	By       uuid.UUID             `json:"by"`
	Quantity prescription.Quantity `json:"quantity"`
	process.Audited
}

// AdministerRequest is the "administer" Update's argument.
type AdministerRequest struct {
	prescription.Administration
	process.Audited
}

// DiscontinueRequest is the "discontinue" Update's argument.
type DiscontinueRequest struct {
	By     uuid.UUID `json:"by"`
	Reason string    `json:"reason"`
	process.Audited
}

// CancelRequest is the "cancel" Update's argument.
type CancelRequest struct {
	By     uuid.UUID `json:"by"`
	Reason string    `json:"reason"`
	process.Audited
}

// UpdateName is the Update each request is sent as.
func (*OverrideRequest) UpdateName() string    { return UpdateOverride }
func (*VerifyRequest) UpdateName() string      { return UpdateVerify }
func (*DispenseRequest) UpdateName() string    { return UpdateDispense }
func (*AdministerRequest) UpdateName() string  { return UpdateAdminister }
func (*DiscontinueRequest) UpdateName() string { return UpdateDiscontinue }
func (*CancelRequest) UpdateName() string      { return UpdateCancel }

// SetActor names the practitioner taking the step.
func (r *OverrideRequest) SetActor(id uuid.UUID)    { r.By = id }
func (r *VerifyRequest) SetActor(id uuid.UUID)      { r.By = id }
func (r *DispenseRequest) SetActor(id uuid.UUID)    { r.By = id }
func (r *AdministerRequest) SetActor(id uuid.UUID)  { r.By = id }
func (r *DiscontinueRequest) SetActor(id uuid.UUID) { r.By = id }
func (r *CancelRequest) SetActor(id uuid.UUID)      { r.By = id }

// Actor is the practitioner each request names.
func (r *OverrideRequest) Actor() uuid.UUID    { return r.By }
func (r *VerifyRequest) Actor() uuid.UUID      { return r.By }
func (r *DispenseRequest) Actor() uuid.UUID    { return r.By }
func (r *AdministerRequest) Actor() uuid.UUID  { return r.By }
func (r *DiscontinueRequest) Actor() uuid.UUID { return r.By }
func (r *CancelRequest) Actor() uuid.UUID      { return r.By }

// Recheck is the "recheck" signal's argument: why the checks run again.
type Recheck struct {
	Reason string `json:"reason"` // prescription.ReasonNewAllergy, ReasonNewMedication
	// Cause names what changed: the allergy or prescription id.
	Cause string `json:"cause,omitempty"`
}

func startOptions(in Input) client.StartWorkflowOptions {
	d := in.Prescription.Details
	return client.StartWorkflowOptions{
		ID:                       WorkflowID(d.ID),
		TaskQueue:                TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			SearchPatientID.ValueSet(d.PatientID.String()), SearchStatus.ValueSet(string(prescription.StatusDraft)),
			SearchOwnerID.ValueSet(d.PrescriberID.String())),
	}
}

// Start starts the prescription's workflow; one already running is returned
// as it is, and a closed prescription's id is never reused.
func Start(ctx context.Context, c client.Client, in Input) (client.WorkflowRun, error) {
	return c.ExecuteWorkflow(ctx, startOptions(in), WorkflowName, in)
}

// StartGrace is how long the workflow starter leaves a new prescription's
// start to the API, which starts it at once after the commit.
const StartGrace = 10 * time.Second

// Starts is the start row a new prescription's store transaction writes, so
// the workflow starts even if the API's own start never happens.
func Starts(in Input) ([]outbox.WorkflowStart, error) {
	raw, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("prescription %s start: %w", in.Prescription.Details.ID, err)
	}
	d := in.Prescription.Details
	return []outbox.WorkflowStart{{
		WorkflowID:   WorkflowID(d.ID),
		WorkflowType: WorkflowName,
		TaskQueue:    TaskQueue,
		Input:        raw,
		SearchAttributes: map[string]string{
			SearchPatientID.GetName(): d.PatientID.String(),
			SearchStatus.GetName():    string(prescription.StatusDraft),
			SearchOwnerID.GetName():   d.PrescriberID.String(),
		},
		Grace: StartGrace,
	}}, nil
}

// AwaitChecked waits until the prescription's first checks have run and
// returns its state.
func AwaitChecked(ctx context.Context, c client.Client, id uuid.UUID) (State, error) {
	return process.Update[State](ctx, c, WorkflowID(id), UpdateChecked)
}

// Step sends req as its Update and returns the new state. A refused step
// (an ApplicationError of one of the Refused* types) changes nothing; on a
// closed prescription the server answers NotFound.
func Step(ctx context.Context, c client.Client, id uuid.UUID, req Request) (State, error) {
	return process.Update[State](ctx, c, WorkflowID(id), req.UpdateName(), req)
}

// AskRecheck asks a running prescription to run its checks again.
func AskRecheck(ctx context.Context, c client.Client, id uuid.UUID, r Recheck) error {
	return c.SignalWorkflow(ctx, WorkflowID(id), "", SignalRecheck, r)
}

// GetState reads the prescription's state from its workflow.
func GetState(ctx context.Context, c client.Client, id uuid.UUID) (State, error) {
	return process.Query[State](ctx, c, WorkflowID(id), QueryState)
}

// View is a prescription as the API shows it: its state and the id of the
// workflow that runs it.
type View struct {
	prescription.Prescription
	WorkflowID string `json:"workflowId"`
}

// ViewOf is the view of a prescription.
func ViewOf(p prescription.Prescription) View {
	return View{Prescription: p, WorkflowID: WorkflowID(p.Details.ID)}
}

// ViewsOf is the view of each prescription.
func ViewsOf(ps []prescription.Prescription) []View {
	out := make([]View, len(ps))
	for i, p := range ps {
		out[i] = ViewOf(p)
	}
	return out
}
