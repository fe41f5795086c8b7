package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/medication"
	"github.com/zarish-sphere/zarish/integrations/fhir"
)

// Error codes of the error envelope. Clients switch on these, never on messages.
const (
	CodeValidationFailed     = "VALIDATION_FAILED"
	CodeInvalidJSON          = "INVALID_JSON"
	CodeUnauthorized         = "UNAUTHORIZED"
	CodeForbidden            = "FORBIDDEN"
	CodeNotFound             = "NOT_FOUND"
	CodeConflict             = "CONFLICT"
	CodePreconditionFailed   = "PRECONDITION_FAILED"
	CodePreconditionRequired = "PRECONDITION_REQUIRED"
	CodeIdempotencyMismatch  = "IDEMPOTENCY_KEY_REUSED"
	CodeMethodNotAllowed     = "METHOD_NOT_ALLOWED"
	CodeUnsupportedMedia     = "UNSUPPORTED_MEDIA_TYPE"
	CodePayloadTooLarge      = "PAYLOAD_TOO_LARGE"
	CodeRequestTimeout       = "REQUEST_TIMEOUT"
	CodeRateLimitExceeded    = "RATE_LIMIT_EXCEEDED"
	CodeUnavailable          = "SERVICE_UNAVAILABLE"
	CodeInternal             = "INTERNAL_ERROR"
)

// ErrorBody is the one error envelope every route answers with.
type ErrorBody struct {
	Error     string              `json:"error"`
	Message   string              `json:"message"`
	Details   []domain.FieldError `json:"details,omitempty"`
	RequestID string              `json:"requestId"`
	// Candidates are the drugs an unknown or ambiguous medication may have
	// meant (UNKNOWN_MEDICATION only).
	Candidates []medication.Candidate `json:"candidates,omitempty"`
}

// abort writes the envelope and stops the handler chain.
func abort(c *gin.Context, status int, code, message string, details ...domain.FieldError) {
	if strings.HasPrefix(c.Request.URL.Path, "/fhir/") {
		// A FHIR client reads every error as an OperationOutcome: the
		// token's refusal, an unknown route, a limit, an input check.
		var fields []string
		for _, d := range details {
			fields = append(fields, d.Field)
		}
		diagnostics := code + ": " + message
		for _, d := range details {
			diagnostics += " " + d.Field + " " + d.Message + "."
		}
		writeOutcome(c, status, fhirIssue(issueTypeOf(status), diagnostics, fields...))
		return
	}
	c.AbortWithStatusJSON(status, ErrorBody{
		Error:     code,
		Message:   message,
		Details:   details,
		RequestID: requestID(c),
	})
}

// fieldError answers 400 naming one field.
func fieldError(c *gin.Context, field, message string) {
	abort(c, http.StatusBadRequest, CodeValidationFailed, "The request has invalid fields.",
		domain.FieldError{Field: field, Message: message})
}

// fail maps an error from the layers below to a status and code, once, here.
// Unexpected errors are logged with the request id and answered without detail.
func (s *edge) fail(c *gin.Context, err error) {
	var verr *domain.ValidationError
	switch {
	case errors.As(err, &verr):
		abort(c, http.StatusBadRequest, CodeValidationFailed, "The request has invalid fields.", verr.Fields...)
	case errors.Is(err, domain.ErrNotFound):
		abort(c, http.StatusNotFound, CodeNotFound, "No such resource.")
	case errors.Is(err, domain.ErrVersionMismatch):
		abort(c, http.StatusPreconditionFailed, CodePreconditionFailed,
			"The resource changed since you read it; fetch it again and retry with its current ETag.")
	case errors.Is(err, domain.ErrConflict):
		abort(c, http.StatusConflict, CodeConflict, "The request conflicts with the resource's current state.")
	case errors.Is(err, domain.ErrIdempotencyMismatch):
		abort(c, http.StatusUnprocessableEntity, CodeIdempotencyMismatch,
			"This Idempotency-Key was already used with a different request body.")
	case errors.Is(err, domain.ErrBadCursor):
		fieldError(c, "cursor", "is not a cursor this API issued")
	case errors.Is(err, c.Request.Context().Err()) && c.Request.Context().Err() != nil:
		abort(c, 499, CodeUnavailable, "The request was cancelled.")
	case workflowServiceBusy(err):
		// The change was handed to its workflow, which did not answer in
		// time: it may still be made, so the caller reads before resending.
		s.log.WarnContext(c.Request.Context(), "workflow service did not answer in time",
			"requestId", requestID(c), "route", c.FullPath(), "error", err)
		c.Header("Retry-After", "5")
		abort(c, http.StatusServiceUnavailable, CodeUnavailable,
			"The workflow service did not answer in time. The change may still be made: read the resource before sending it again.")
	default:
		s.log.ErrorContext(c.Request.Context(), "request failed",
			"requestId", requestID(c), "route", c.FullPath(), "error", err)
		abort(c, http.StatusInternalServerError, CodeInternal, "Something went wrong on our side; the request id identifies it in our logs.")
	}
}

// workflowServiceBusy reports whether err is Temporal not answering in
// time or shedding load — an Update whose wait ran out, the frontend
// unreachable, a deadline exceeded, a limit hit — rather than a fault of
// the request or of the engine's code.
func workflowServiceBusy(err error) bool {
	var (
		updateWait  *client.WorkflowUpdateServiceTimeoutOrCanceledError
		unavailable *serviceerror.Unavailable
		deadline    *serviceerror.DeadlineExceeded
		exhausted   *serviceerror.ResourceExhausted
	)
	return errors.As(err, &updateWait) || errors.As(err, &unavailable) || errors.As(err, &deadline) || errors.As(err, &exhausted)
}

// issueTypeOf is the FHIR issue type (http://hl7.org/fhir/ValueSet/issue-type)
// of an HTTP status.
func issueTypeOf(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return fhir.IssueLogin
	case http.StatusForbidden:
		return fhir.IssueForbidden
	case http.StatusNotFound:
		return fhir.IssueNotFound
	case http.StatusMethodNotAllowed, http.StatusUnsupportedMediaType:
		return fhir.IssueNotSupported
	case http.StatusRequestTimeout, http.StatusGatewayTimeout:
		return fhir.IssueTimeout
	case http.StatusConflict, http.StatusPreconditionFailed, http.StatusUnprocessableEntity:
		return fhir.IssueProcessing
	case http.StatusTooManyRequests:
		return "throttled"
	case http.StatusRequestEntityTooLarge:
		return "too-long"
	}
	if status >= 500 {
		return fhir.IssueException
	}
	return fhir.IssueInvalid
}
