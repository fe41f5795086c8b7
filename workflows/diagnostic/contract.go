// Package diagnostic is the DiagnosticReport workflow: one run per diagnostic
// order, from its specimens collected, received, rejected and recollected,
// through its results (a preliminary report while some are missing), the
// review of delta-check flags and the verification that makes it final, to
// its release to the patient and every amendment or correction after. Every
// step is an Update whose validator refuses what the report's status forbids
// before anything reaches the history. A critical result is telephoned to
// the orderer, whose alert stays open until the callback is closed; a STAT
// order that misses a turnaround target alerts its unit.
//
// This file is the contract: everything a caller needs to start, move and
// read a report.
package diagnostic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/notification"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/outbox"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// TaskQueue is the queue the diagnostic workers poll.
const TaskQueue = "diagnostics"

// WorkflowName is the registered name of the diagnostic report workflow.
const WorkflowName = "DiagnosticReport"

// Update and query names. Every Update returns the State.
const (
	// UpdateCollect takes a CollectRequest: a tube drawn.
	UpdateCollect = "collect"
	// UpdateReceive takes a ReceiveRequest: a tube arrived in the laboratory.
	UpdateReceive = "receive"
	// UpdateReject takes a RejectRequest: the laboratory refused a tube and
	// asks for a recollection.
	UpdateReject = "reject"
	// UpdateRecordResults takes a RecordResultsRequest: observations the
	// observation service stored that result the order.
	UpdateRecordResults = "record-results"
	// UpdateLinkStudy takes a LinkStudyRequest: an imaging study, which
	// results an imaging order once it is available.
	UpdateLinkStudy = "link-study"
	// UpdateReviewFlag takes a ReviewFlagRequest: someone looked at a
	// delta-check flag.
	UpdateReviewFlag = "review-flag"
	// UpdateVerify takes a VerifyRequest: the report is final, and its
	// orderer is sent it.
	UpdateVerify = "verify"
	// UpdateRelease takes a ReleaseRequest: a clinician releases the report
	// to the patient now (a held sensitive report, or one before its delay).
	UpdateRelease = "release"
	// UpdateOpen takes an OpenRequest: a reader opened the report as it stands.
	UpdateOpen = "open"
	// UpdateAmend takes an AmendRequest: a new version with changed or added
	// text, sent again to everyone the report was sent to.
	UpdateAmend = "amend"
	// UpdateCorrect takes a CorrectRequest: a new version with corrected
	// results, sent again to everyone the report was sent to.
	UpdateCorrect = "correct"
	// UpdateWithdraw takes a WithdrawRequest: the report is entered in error.
	UpdateWithdraw = "withdraw"
	// UpdateCancel takes a CancelRequest: the order is cancelled before
	// its report is verified.
	UpdateCancel = "cancel"
	// UpdateCallbackAttempt takes a CallbackAttemptRequest: one try to
	// reach someone about a critical result.
	UpdateCallbackAttempt = "callback-attempt"
	// UpdateCallbackConfirm takes a CallbackConfirmRequest: the receiver read
	// the critical value back; a read-back that does not match is refused
	// (RefusedReadBackMismatch) and the callback stays open.
	UpdateCallbackConfirm = "callback-confirm"
	// UpdateCallbackClose takes a CallbackCloseRequest: the callback ends
	// without a read-back (reached without one, or nobody reached).
	UpdateCallbackClose = "callback-close"

	// QueryState returns the State.
	QueryState = "state"
)

// Refusal types: the ApplicationError types the Updates answer with, which
// callers match (never the message). A validator refuses before anything is
// written to the history; a change the read model cannot store is refused by
// the handler and leaves the report as it was.
const (
	// RefusedInvalidTransition: the report's status (or its stage) forbids the step.
	RefusedInvalidTransition = "diagnostic.InvalidTransition"
	// RefusedInvalidArgument: an argument the rules reject.
	RefusedInvalidArgument = "diagnostic.InvalidArgument"
	// RefusedUnreviewedFlags: the report is verified only once every
	// delta-check flag is reviewed.
	RefusedUnreviewedFlags = "diagnostic.UnreviewedFlags"
	// RefusedReadBackMismatch: the read-back does not match the critical
	// result; the refusal's details are a ReadBackMismatch with both values.
	RefusedReadBackMismatch = "diagnostic.ReadBackMismatch"
	// RefusedNotReleased: the patient opens only a report released to them.
	RefusedNotReleased = "diagnostic.NotReleased"
	// RefusedNotRecorded: the read model refused the change for good.
	RefusedNotRecorded = "diagnostic.NotRecorded"
	// RefusedRecordUnavailable: the read model could not be reached within
	// the retry policy; nothing changed and the request may be repeated.
	RefusedRecordUnavailable = "diagnostic.RecordUnavailable"
)

// refusals maps the rules' sentinels to the refusal types, the narrower
// first: a read-back mismatch is also an invalid argument, unreviewed flags
// and an unreleased report also an invalid transition.
var refusals = []process.Refusal{
	{Err: diagnostic.ErrReadBackMismatch, Type: RefusedReadBackMismatch},
	{Err: diagnostic.ErrUnreviewedFlags, Type: RefusedUnreviewedFlags},
	{Err: diagnostic.ErrNotReleased, Type: RefusedNotReleased},
	{Err: diagnostic.ErrInvalidTransition, Type: RefusedInvalidTransition},
	{Err: diagnostic.ErrInvalidArgument, Type: RefusedInvalidArgument},
}

// ReadBackMismatch is the detail of a RefusedReadBackMismatch refusal: what
// the receiver read back and the result as it stands, for the caller to show
// side by side.
type ReadBackMismatch struct {
	ReadBack string `json:"readBack"`
	Result   string `json:"result"`
}

// MismatchOf returns the values a read-back refusal names; false when err is
// not one.
func MismatchOf(err error) (ReadBackMismatch, bool) {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != RefusedReadBackMismatch || !app.HasDetails() {
		return ReadBackMismatch{}, false
	}
	var m ReadBackMismatch
	if err := app.Details(&m); err != nil {
		return ReadBackMismatch{}, false
	}
	return m, true
}

// Search attributes (Keyword, registered on the namespace) set on every run.
var (
	SearchPatientID = temporal.NewSearchAttributeKeyKeyword("PatientId")
	SearchStatus    = temporal.NewSearchAttributeKeyKeyword("DiagnosticStatus")
)

// Start-only search attributes (integrations/temporal.StartSearchAttributes):
// set when the workflow starts, never upserted by it.
var (
	SearchOwnerID  = temporal.NewSearchAttributeKeyKeyword("OwnerId")
	SearchDeadline = temporal.NewSearchAttributeKeyTime("Deadline")
)

// StartDeadline is the first turnaround target the order runs against when
// its workflow starts: the earliest target due from the order's placing.
func StartDeadline(r diagnostic.Report) (time.Time, bool) {
	return r.NextDeadline(r.Order.CreatedAt)
}

// The categories of the alerts a report raises.
const (
	// CategoryCriticalResult: a critical result to telephone; its orderer
	// is alerted, and the alert is resolved when the callback is closed.
	CategoryCriticalResult = diagnostic.CategoryCriticalResult
	// CategoryOverdue: a STAT order missed a turnaround target; the order's
	// unit is alerted, and the alert is resolved when the stage is reached.
	CategoryOverdue = "diagnostic-overdue"
	// CategoryRecollect: the laboratory rejected a tube and asks for
	// another; the unit and the tube's collector are alerted, and the alert
	// is resolved when a new tube is collected.
	CategoryRecollect = "specimen-recollection"
)

// ChannelInApp is the channel the workflow records its notifications on,
// the notification system's in-app inbox, which the report's store asks to
// deliver them in the same transaction (domain/diagnostic Deliveries).
const ChannelInApp = notification.ChannelInApp

// DefaultReleaseDelay is how long after verification an ordinary report is
// released to the patient, so that its clinician sees it first.
const DefaultReleaseDelay = 24 * time.Hour

// workflowIDPrefix opens every report's workflow id.
const workflowIDPrefix = "diagnostic/"

// WorkflowID is the readable id of a report's workflow:
// "diagnostic/<orderId>".
func WorkflowID(id uuid.UUID) string { return workflowIDPrefix + id.String() }

// IDFromWorkflowID is the order id in a workflow id WorkflowID made.
func IDFromWorkflowID(workflowID string) (uuid.UUID, error) {
	rest, ok := strings.CutPrefix(workflowID, workflowIDPrefix)
	if !ok {
		return uuid.Nil, fmt.Errorf("%q is not a diagnostic workflow id", workflowID)
	}
	return uuid.Parse(rest)
}

// Source is the source named on the report's alerts.
func Source(id uuid.UUID) string { return diagnostic.Source(id) }

// Input starts a report's process.
type Input struct {
	// Report is the order as stored: registered, nothing collected.
	Report diagnostic.Report `json:"report"`
	// Unit is the ward of the order's encounter, whose team is alerted
	// about a missed STAT target; alert.UnitHospital when empty.
	Unit string `json:"unit,omitempty"`
	// ReleaseDelay overrides DefaultReleaseDelay when set; zero (or less)
	// releases a report to the patient when it is verified.
	ReleaseDelay *time.Duration `json:"releaseDelay,omitempty"`
	// Resume carries the state across continue-as-new; starters leave it nil.
	Resume *Resume `json:"resume,omitempty"`
}

// Resume is what a run hands the next.
type Resume struct {
	Report diagnostic.Report `json:"report"`
	Alerts Alerts            `json:"alerts"`
	// EncounterTold is set once the encounter was told the order closed.
	EncounterTold bool `json:"encounterTold,omitempty"`
}

// Alerts are the alerts a run raised and has not yet settled.
type Alerts struct {
	Critical []CriticalAlert `json:"critical,omitempty"`
	Overdue  []OverdueAlert  `json:"overdue,omitempty"`
	// Recollect are the alerts asking the unit to recollect a rejected tube.
	Recollect []RecollectAlert `json:"recollect,omitempty"`
	// Breaches counts the report's breaches already considered for an
	// overdue alert, so each missed target is alerted once.
	Breaches int `json:"breaches,omitempty"`
	// Raised counts every alert raised, so each has an id of its own.
	Raised int `json:"raised"`
}

// CriticalAlert is the alert about one open critical-result callback, which
// the callback's test and the time it was opened name.
type CriticalAlert struct {
	AlertID  uuid.UUID `json:"alertId"`
	Code     string    `json:"code"`
	RaisedAt time.Time `json:"raisedAt"`
	// Value is the value the alert named; a newer critical value of the
	// same test is alerted afresh.
	Value string `json:"value"`
}

// RecollectAlert is the alert asking for another tube of a container whose
// last one the laboratory rejected, open until a tube is collected again.
type RecollectAlert struct {
	AlertID   uuid.UUID `json:"alertId"`
	Container string    `json:"container"`
	// Accession is the rejected tube the alert named.
	Accession string `json:"accession"`
}

// OverdueAlert is the alert about a STAT target missed, open until the
// stage it waits for is reached.
type OverdueAlert struct {
	AlertID uuid.UUID        `json:"alertId"`
	Stage   diagnostic.Stage `json:"stage"`
}

// State is what the "state" query and every Update return. It is the
// workflow's own business (also its continue-as-new payload): callers show
// View.
type State = diagnostic.Report

// Request is a step: it names its Update and who takes it, and carries the
// audit record of the API request that asked, which the read-model write
// stores in its own transaction.
type Request interface {
	UpdateName() string
	// Actor is the person taking the step; SetActor sets it (the API takes
	// it from the token).
	Actor() uuid.UUID
	SetActor(uuid.UUID)
	process.Auditable
}

// CollectRequest is the "collect" Update's argument; the collector is the actor.
type CollectRequest struct {
	diagnostic.Collection
	process.Audited
}

// ReceiveRequest is the "receive" Update's argument; the tube is received
// when the step is recorded.
type ReceiveRequest struct {
	Accession string    `json:"accession"`
	By        uuid.UUID `json:"by"`
	process.Audited
}

// RejectRequest is the "reject" Update's argument.
type RejectRequest struct {
	Accession string                     `json:"accession"`
	Reason    diagnostic.RejectionReason `json:"reason"`
	Note      string                     `json:"note,omitempty"`
	By        uuid.UUID                  `json:"by"`
	process.Audited
}

// RecordResultsRequest is the "record-results" Update's argument: the
// observations as the observation service stored them, taken in order. A
// version the report already holds changes nothing, so a repeated delivery
// is harmless.
type RecordResultsRequest struct {
	Observations []observation.Observation `json:"observations"`
	// By is who sent the results (the laboratory scientist, or the person a
	// laboratory system acts for); the timeline names no one for them.
	By uuid.UUID `json:"by"`
	process.Audited
}

// MaxObservations bounds the observations of one "record-results" step.
const MaxObservations = 200

// LinkStudyRequest is the "link-study" Update's argument.
type LinkStudyRequest struct {
	Study diagnostic.ImagingStudy `json:"study"`
	By    uuid.UUID               `json:"by"`
	process.Audited
}

// ReviewFlagRequest is the "review-flag" Update's argument.
type ReviewFlagRequest struct {
	FlagID string    `json:"flagId"`
	By     uuid.UUID `json:"by"`
	Note   string    `json:"note"`
	process.Audited
}

// VerifyRequest is the "verify" Update's argument. The API checks that the
// verifier holds the role named; the verification is dated when it is
// recorded.
type VerifyRequest struct {
	diagnostic.Verification
	process.Audited
}

// ReleaseRequest is the "release" Update's argument.
type ReleaseRequest struct {
	By uuid.UUID `json:"by"`
	process.Audited
}

// OpenRequest is the "open" Update's argument: who opened the report, as
// clinician or patient; the version they saw is the one standing.
type OpenRequest struct {
	Who  uuid.UUID         `json:"who"`
	Role diagnostic.Reader `json:"role"`
	process.Audited
}

// AmendRequest is the "amend" Update's argument.
type AmendRequest struct {
	diagnostic.Amendment
	process.Audited
}

// CorrectRequest is the "correct" Update's argument: the corrected
// observations as the observation service stored them.
type CorrectRequest struct {
	diagnostic.Correction
	process.Audited
}

// WithdrawRequest is the "withdraw" Update's argument: the report is
// entered in error.
type WithdrawRequest struct {
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

// CallbackAttemptRequest is the "callback-attempt" Update's argument: the
// critical result's observation and the attempt (dated now when At is
// empty). The caller is the actor.
type CallbackAttemptRequest struct {
	ObservationID uuid.UUID `json:"observationId"`
	diagnostic.Attempt
	process.Audited
}

// CallbackConfirmRequest is the "callback-confirm" Update's argument: the
// receiver's read-back (dated now when At is empty), confirmed by the caller.
type CallbackConfirmRequest struct {
	ObservationID uuid.UUID           `json:"observationId"`
	ReadBack      diagnostic.ReadBack `json:"readBack"`
	By            uuid.UUID           `json:"by"`
	// InPerson says the receiver read the value back themselves, signed
	// in: By is the receiver, and the reaching is recorded with it.
	InPerson bool `json:"inPerson,omitempty"`
	process.Audited
}

// CallbackCloseRequest is the "callback-close" Update's argument: the
// outcome (reached without read-back, or unable to reach) with the caller's
// note, at At (now when empty).
type CallbackCloseRequest struct {
	ObservationID uuid.UUID          `json:"observationId"`
	Outcome       diagnostic.Outcome `json:"outcome"`
	By            uuid.UUID          `json:"by"`
	Note          string             `json:"note"`
	At            time.Time          `json:"at,omitzero"`
	process.Audited
}

// UpdateName is the Update each request is sent as.
func (*CollectRequest) UpdateName() string         { return UpdateCollect }
func (*ReceiveRequest) UpdateName() string         { return UpdateReceive }
func (*RejectRequest) UpdateName() string          { return UpdateReject }
func (*RecordResultsRequest) UpdateName() string   { return UpdateRecordResults }
func (*LinkStudyRequest) UpdateName() string       { return UpdateLinkStudy }
func (*ReviewFlagRequest) UpdateName() string      { return UpdateReviewFlag }
func (*VerifyRequest) UpdateName() string          { return UpdateVerify }
func (*ReleaseRequest) UpdateName() string         { return UpdateRelease }
func (*OpenRequest) UpdateName() string            { return UpdateOpen }
func (*AmendRequest) UpdateName() string           { return UpdateAmend }
func (*CorrectRequest) UpdateName() string         { return UpdateCorrect }
func (*WithdrawRequest) UpdateName() string        { return UpdateWithdraw }
func (*CancelRequest) UpdateName() string          { return UpdateCancel }
func (*CallbackAttemptRequest) UpdateName() string { return UpdateCallbackAttempt }
func (*CallbackConfirmRequest) UpdateName() string { return UpdateCallbackConfirm }
func (*CallbackCloseRequest) UpdateName() string   { return UpdateCallbackClose }

// SetActor names the person taking the step.
func (r *CollectRequest) SetActor(id uuid.UUID)         { r.CollectorID = id }
func (r *ReceiveRequest) SetActor(id uuid.UUID)         { r.By = id }
func (r *RejectRequest) SetActor(id uuid.UUID)          { r.By = id }
func (r *RecordResultsRequest) SetActor(id uuid.UUID)   { r.By = id }
func (r *LinkStudyRequest) SetActor(id uuid.UUID)       { r.By = id }
func (r *ReviewFlagRequest) SetActor(id uuid.UUID)      { r.By = id }
func (r *VerifyRequest) SetActor(id uuid.UUID)          { r.Verification.By = id }
func (r *ReleaseRequest) SetActor(id uuid.UUID)         { r.By = id }
func (r *OpenRequest) SetActor(id uuid.UUID)            { r.Who = id }
func (r *AmendRequest) SetActor(id uuid.UUID)           { r.Amendment.By = id }
func (r *CorrectRequest) SetActor(id uuid.UUID)         { r.Correction.By = id }
func (r *WithdrawRequest) SetActor(id uuid.UUID)        { r.By = id }
func (r *CancelRequest) SetActor(id uuid.UUID)          { r.By = id }
func (r *CallbackAttemptRequest) SetActor(id uuid.UUID) { r.Attempt.By = id }
func (r *CallbackConfirmRequest) SetActor(id uuid.UUID) { r.By = id }
func (r *CallbackCloseRequest) SetActor(id uuid.UUID)   { r.By = id }

// Actor is the person each request names.
func (r *CollectRequest) Actor() uuid.UUID         { return r.CollectorID }
func (r *ReceiveRequest) Actor() uuid.UUID         { return r.By }
func (r *RejectRequest) Actor() uuid.UUID          { return r.By }
func (r *RecordResultsRequest) Actor() uuid.UUID   { return r.By }
func (r *LinkStudyRequest) Actor() uuid.UUID       { return r.By }
func (r *ReviewFlagRequest) Actor() uuid.UUID      { return r.By }
func (r *VerifyRequest) Actor() uuid.UUID          { return r.Verification.By }
func (r *ReleaseRequest) Actor() uuid.UUID         { return r.By }
func (r *OpenRequest) Actor() uuid.UUID            { return r.Who }
func (r *AmendRequest) Actor() uuid.UUID           { return r.Amendment.By }
func (r *CorrectRequest) Actor() uuid.UUID         { return r.Correction.By }
func (r *WithdrawRequest) Actor() uuid.UUID        { return r.By }
func (r *CancelRequest) Actor() uuid.UUID          { return r.By }
func (r *CallbackAttemptRequest) Actor() uuid.UUID { return r.Attempt.By }
func (r *CallbackConfirmRequest) Actor() uuid.UUID { return r.By }
func (r *CallbackCloseRequest) Actor() uuid.UUID   { return r.By }

func startOptions(in Input) client.StartWorkflowOptions {
	o := in.Report.Order
	attrs := []temporal.SearchAttributeUpdate{
		SearchPatientID.ValueSet(o.PatientID.String()), SearchStatus.ValueSet(string(in.Report.Status)),
		SearchOwnerID.ValueSet(o.OrdererID.String())}
	if due, ok := StartDeadline(in.Report); ok {
		attrs = append(attrs, SearchDeadline.ValueSet(due))
	}
	return client.StartWorkflowOptions{
		ID:                       WorkflowID(o.ID),
		TaskQueue:                TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes:    temporal.NewSearchAttributes(attrs...),
	}
}

// StartOptions are the options Start starts the report's workflow with,
// for a caller that starts it through a narrower client than client.Client.
func StartOptions(in Input) client.StartWorkflowOptions { return startOptions(in) }

// NewOrder is a new order as every door places it (POST
// /v1/diagnostics/orders, an HL7 v2 ORM^O01 or OML^O21): req resolved
// against the catalogue, its time cut to the microsecond PostgreSQL keeps
// so the workflow's state starts where the row's does. A refusal is the
// domain's, naming the request's fields (tests[i], clinicalInfo, …).
func NewOrder(req diagnostic.Request, cat *diagnostic.Catalogue) (diagnostic.Report, error) {
	req.CreatedAt = req.CreatedAt.UTC().Truncate(time.Microsecond)
	return diagnostic.New(req, cat)
}

// Placement is what the store of a new order r writes beside it: the
// workflow's input (unit is the ward of its encounter, "" without one) and
// the start row, so the workflow starts even if the caller's own start
// right after the commit never happens.
func Placement(r diagnostic.Report, unit string) (Input, []outbox.WorkflowStart, error) {
	in := Input{Report: r, Unit: unit}
	starts, err := Starts(in)
	if err != nil {
		return Input{}, nil, err
	}
	return in, starts, nil
}

// Start starts the report's workflow; one already running is returned as it
// is, and a closed report's id is never reused.
func Start(ctx context.Context, c client.Client, in Input) (client.WorkflowRun, error) {
	return c.ExecuteWorkflow(ctx, startOptions(in), WorkflowName, in)
}

// StartGrace is how long the workflow starter leaves a new order's start to
// the API, which starts it at once after the commit.
const StartGrace = 10 * time.Second

// Starts is the start row a new order's store transaction writes, so the
// workflow starts even if the API's own start never happens.
func Starts(in Input) ([]outbox.WorkflowStart, error) {
	raw, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("diagnostic report %s start: %w", in.Report.Order.ID, err)
	}
	o := in.Report.Order
	attrs := map[string]string{
		SearchPatientID.GetName(): o.PatientID.String(),
		SearchStatus.GetName():    string(in.Report.Status),
		SearchOwnerID.GetName():   o.OrdererID.String(),
	}
	if due, ok := StartDeadline(in.Report); ok {
		attrs[SearchDeadline.GetName()] = due.UTC().Format(time.RFC3339Nano)
	}
	return []outbox.WorkflowStart{{
		WorkflowID:       WorkflowID(o.ID),
		WorkflowType:     WorkflowName,
		TaskQueue:        TaskQueue,
		Input:            raw,
		SearchAttributes: attrs,
		Grace:            StartGrace,
	}}, nil
}

// Step sends req as its Update and returns the new state. A refused step
// (an ApplicationError of one of the Refused* types) changes nothing; on a
// cancelled or withdrawn report the server answers NotFound.
func Step(ctx context.Context, c client.Client, id uuid.UUID, req Request) (State, error) {
	return process.Update[State](ctx, c, WorkflowID(id), req.UpdateName(), req)
}

// GetState reads the report's state from its workflow.
func GetState(ctx context.Context, c client.Client, id uuid.UUID) (State, error) {
	return process.Query[State](ctx, c, WorkflowID(id), QueryState)
}

// View is a report as the API shows it: its state and the id of the
// workflow that runs it.
type View struct {
	diagnostic.Report
	WorkflowID string `json:"workflowId"`
}

// ViewOf is the view of a report.
func ViewOf(r diagnostic.Report) View {
	return View{Report: r, WorkflowID: WorkflowID(r.Order.ID)}
}

// ViewsOf is the view of each report.
func ViewsOf(rs []diagnostic.Report) []View {
	out := make([]View, len(rs))
	for i, r := range rs {
		out[i] = ViewOf(r)
	}
	return out
}
