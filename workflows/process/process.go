// Package process holds what every care-process workflow shares, so each
// process copies one shape: the typed refusals its Updates answer with, the
// error for input no retry can fix, the activity retry policy, when to
// continue as new, and how a caller sends an Update or reads a query.
package process

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// TypeInvalidInput is the ApplicationError type of input no retry can fix:
// an activity or workflow fails with it at once, without retrying.
const TypeInvalidInput = "InvalidInput"

// InvalidInput wraps err as a non-retryable ApplicationError of type
// TypeInvalidInput, keeping err for errors.Is.
func InvalidInput(err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), TypeInvalidInput, err)
}

// Refusal pairs a domain sentinel with the ApplicationError type a
// validator answers for it. The type is what crosses the Temporal server:
// callers match on it (ErrorType), never on the message.
type Refusal struct {
	Err  error  // the domain sentinel, matched with errors.Is
	Type string // the ApplicationError type a contract exports
}

// Refuse turns a validator's or handler's domain error into an
// ApplicationError of the type its sentinel maps to in kinds; an error
// matching none is TypeInvalidInput. nil stays nil, and an error that already
// is an ApplicationError passes through.
func Refuse(err error, kinds ...Refusal) error {
	if err == nil {
		return nil
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return err
	}
	for _, k := range kinds {
		if errors.Is(err, k.Err) {
			return temporal.NewNonRetryableApplicationError(err.Error(), k.Type, err)
		}
	}
	return InvalidInput(err)
}

// ErrorType is the ApplicationError type carried by err, "" when err is
// none (a timeout, a missing workflow, a transport error).
func ErrorType(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Type()
	}
	return ""
}

// Activity retry bounds: a database outage is retried for about
// RetryWindow, then the step fails with a visible outcome (a refused
// Update, a failed workflow, a logged and alerted error), never an endless
// retry.
const (
	RetryInitial  = time.Second
	RetryMaximum  = 10 * time.Second
	RetryAttempts = 12 // ≈ 1+2+4+8+10·8 s ≈ 95 s
)

// ActivityTimeout bounds one attempt of a process's (non-local) activity.
// Each is a few short statements, so an attempt lost with its worker
// (killed, its host gone) is tried again on another after at most this
// long: it is how much later a step, or an alert's page, comes when a
// worker dies holding it. At 30 s the fault suite measured a first page
// 31 s after its alert was raised. Local activities run inside a workflow
// task, which is retried on its own timeout instead.
const ActivityTimeout = 10 * time.Second

// RetryPolicy is every process's activity retry policy: exponential
// back-off to RetryMaximum, RetryAttempts attempts, and none for
// TypeInvalidInput.
func RetryPolicy() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        RetryInitial,
		BackoffCoefficient:     2,
		MaximumInterval:        RetryMaximum,
		MaximumAttempts:        RetryAttempts,
		NonRetryableErrorTypes: []string{TypeInvalidInput},
	}
}

// MaxHistoryEvents continues a workflow as new before its history grows
// long, even when the server does not suggest it.
const MaxHistoryEvents = 2000

// ShouldContinueAsNew reports whether the run should hand its state to a
// fresh run: the server suggests it, or the history passed MaxHistoryEvents.
func ShouldContinueAsNew(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > MaxHistoryEvents
}

// NotRecorded is the refusal of a change whose read-model write failed: of
// type notRecorded when the store refused the data for good, of type
// unavailable when it could not be reached within the retry policy (nothing
// changed; the request may be repeated). Each process names its own two
// types.
func NotRecorded(err error, notRecorded, unavailable string) error {
	if ErrorType(err) == TypeInvalidInput {
		return temporal.NewNonRetryableApplicationError("the change could not be recorded: "+Message(err), notRecorded, err)
	}
	return temporal.NewNonRetryableApplicationError("the change could not be recorded now; nothing changed, retry shortly", unavailable, err)
}

// Message is the innermost ApplicationError's message of err, else its text.
func Message(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return err.Error()
}

// updateIDKey is the context key of the Update id WithUpdateID sets.
type updateIDKey struct{}

// WithUpdateID has the Updates sent with ctx carry id as their Update id.
// The Temporal server does an Update once per id and run: an Update sent
// again with an id it has seen (a caller retrying after its answer was
// lost) is answered with the first one's outcome and changes nothing more.
// Without an id each Update gets a fresh one.
func WithUpdateID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, updateIDKey{}, id)
}

// UpdateIDOf is the Update id WithUpdateID set on ctx, or "".
func UpdateIDOf(ctx context.Context) string {
	id, _ := ctx.Value(updateIDKey{}).(string)
	return id
}

// Update sends the Update name with args to the workflow and returns its
// result once it has completed, under the Update id ctx carries (see
// WithUpdateID). A refused Update (an ApplicationError of a contract's
// Refused* types) changed nothing.
func Update[S any](ctx context.Context, c client.Client, workflowID, name string, args ...any) (S, error) {
	var s S
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		UpdateID:     UpdateIDOf(ctx),
		WorkflowID:   workflowID,
		UpdateName:   name,
		Args:         args,
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return s, err
	}
	return s, h.Get(ctx, &s)
}

// Query answers the query name of the workflow's current run.
func Query[S any](ctx context.Context, c client.Client, workflowID, name string) (S, error) {
	var s S
	v, err := c.QueryWorkflow(ctx, workflowID, "", name)
	if err != nil {
		return s, err
	}
	return s, v.Get(&s)
}
