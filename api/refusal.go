package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/zarish-sphere/zarish/domain"
	alertflow "github.com/zarish-sphere/zarish/workflows/alert"
	diagnosticflow "github.com/zarish-sphere/zarish/workflows/diagnostic"
	encounterflow "github.com/zarish-sphere/zarish/workflows/encounter"
	prescriptionflow "github.com/zarish-sphere/zarish/workflows/prescription"
	procedureflow "github.com/zarish-sphere/zarish/workflows/procedure"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// refusalAnswer is the HTTP answer to one type of refusal.
type refusalAnswer struct {
	status  int
	code    string
	message string // "" repeats the refusal's own words
}

// refusals is the one table from the ApplicationError types the processes'
// contracts export to status and code. A refusal is recognised by its type
// alone: rewording a domain error changes no answer.
var refusals = map[string]refusalAnswer{
	process.TypeInvalidInput: {http.StatusBadRequest, CodeValidationFailed, ""},

	encounterflow.RefusedInvalidTransition: {http.StatusConflict, CodeInvalidTransition, ""},
	encounterflow.RefusedOpenOrders:        {http.StatusConflict, CodeOpenOrders, ""},
	encounterflow.RefusedInvalidArgument:   {http.StatusBadRequest, CodeValidationFailed, ""},
	encounterflow.RefusedNotRecorded:       {http.StatusBadRequest, CodeValidationFailed, ""},

	prescriptionflow.RefusedInvalidTransition:  {http.StatusConflict, CodeInvalidTransition, ""},
	prescriptionflow.RefusedInvalidArgument:    {http.StatusBadRequest, CodeValidationFailed, ""},
	prescriptionflow.RefusedPharmacistRequired: {http.StatusForbidden, CodePharmacistRequired, ""},
	prescriptionflow.RefusedNotRecorded:        {http.StatusBadRequest, CodeValidationFailed, ""},
	prescriptionflow.RefusedRecordUnavailable:  {http.StatusServiceUnavailable, CodeUnavailable, "The change could not be recorded and was not made; retry shortly."},

	diagnosticflow.RefusedInvalidTransition: {http.StatusConflict, CodeInvalidTransition, ""},
	diagnosticflow.RefusedInvalidArgument:   {http.StatusBadRequest, CodeValidationFailed, ""},
	diagnosticflow.RefusedUnreviewedFlags:   {http.StatusConflict, CodeUnreviewedFlags, ""},
	diagnosticflow.RefusedReadBackMismatch:  {http.StatusUnprocessableEntity, CodeReadBackMismatch, ""},
	diagnosticflow.RefusedNotReleased:       {http.StatusConflict, CodeInvalidTransition, ""},
	diagnosticflow.RefusedNotRecorded:       {http.StatusBadRequest, CodeValidationFailed, ""},
	diagnosticflow.RefusedRecordUnavailable: {http.StatusServiceUnavailable, CodeUnavailable, "The change could not be recorded and was not made; retry shortly."},

	procedureflow.RefusedInvalidTransition:   {http.StatusConflict, CodeInvalidTransition, ""},
	procedureflow.RefusedInvalidArgument:     {http.StatusBadRequest, CodeValidationFailed, ""},
	procedureflow.RefusedChecklistIncomplete: {http.StatusConflict, CodeChecklistIncomplete, ""},
	procedureflow.RefusedNoSlot:              {http.StatusConflict, CodeNoSlot, ""},
	procedureflow.RefusedHoldLapsed:          {http.StatusConflict, CodeHoldLapsed, "The hold lapsed before it was booked: search again with reschedule."},
	procedureflow.RefusedNotRecorded:         {http.StatusBadRequest, CodeValidationFailed, ""},
	procedureflow.RefusedRecordUnavailable:   {http.StatusServiceUnavailable, CodeUnavailable, "The change could not be recorded and was not made; retry shortly."},

	alertflow.RefusedNotARecipient:       {http.StatusForbidden, CodeNotARecipient, "Only a practitioner who was notified of this alert may acknowledge it."},
	alertflow.RefusedAlreadyAcknowledged: {http.StatusConflict, CodeConflict, "The alert is already acknowledged."},
	alertflow.RefusedAlreadyClosed:       {http.StatusConflict, CodeAlertClosed, ""},
	alertflow.RefusedNotRecorded:         {http.StatusBadRequest, CodeValidationFailed, ""},
	alertflow.RefusedRecordUnavailable:   {http.StatusServiceUnavailable, CodeUnavailable, "The change could not be recorded and was not made; retry shortly."},
}

// closedStatus reports the current status of a resource whose workflow no
// longer runs, and false when there is no such resource.
type closedStatus func(ctx context.Context) (status string, ok bool)

// workflowFailure answers an error from starting, updating or querying a
// workflow: a refusal by its type (the refusals table); a workflow that no
// longer runs is 409 naming the resource's current status when closed finds
// it, else 404 (notFound names what); anything else goes to fail.
func (s *edge) workflowFailure(c *gin.Context, err error, notFound string, closed closedStatus) {
	var (
		missing *serviceerror.NotFound
		verr    *domain.ValidationError
	)
	if errors.As(err, &verr) {
		s.fail(c, err)
		return
	}
	if t := process.ErrorType(err); t != "" {
		if r, ok := refusals[t]; ok {
			msg := r.message
			if msg == "" {
				msg = refusalMessage(err)
			}
			abort(c, r.status, r.code, msg)
			return
		}
	}
	if errors.As(err, &missing) {
		if closed != nil {
			if status, ok := closed(c.Request.Context()); ok {
				abort(c, http.StatusConflict, CodeInvalidTransition,
					"This process has ended with status "+status+"; it accepts no more changes.",
					domain.FieldError{Field: "status", Message: status})
				return
			}
		}
		abort(c, http.StatusNotFound, CodeNotFound, notFound)
		return
	}
	s.fail(c, err)
}

// refusalMessage is the refusal's own words, without the SDK's wrapping.
func refusalMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return err.Error()
}
