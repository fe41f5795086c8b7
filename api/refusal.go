package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/zarish-sphere/zarish/domain"
)

// refusal maps one domain error, as a workflow's update validator reports
// it, to the answer the API gives.
type refusal struct {
	err     error // the domain sentinel the validator wrapped
	status  int
	code    string
	message string // "" repeats the validator's own words
}

// workflowFailure answers an error from starting or updating a workflow:
// an unknown workflow is 404 (notFound names what), a validator's refusal
// the matching entry of refusals, anything else goes to fail. A validator's
// error crosses the server as an ApplicationError carrying its message,
// so the sentinel is recognised by the words it starts with.
func (s *server) workflowFailure(c *gin.Context, err error, notFound string, refusals ...refusal) {
	var (
		missing *serviceerror.NotFound
		verr    *domain.ValidationError
		app     *temporal.ApplicationError
	)
	switch {
	case errors.As(err, &verr):
		s.fail(c, err)
		return
	case errors.As(err, &missing):
		abort(c, http.StatusNotFound, CodeNotFound, notFound)
		return
	case errors.As(err, &app):
		msg := app.Message()
		for _, r := range refusals {
			if strings.HasPrefix(msg, r.err.Error()) {
				if r.message != "" {
					msg = r.message
				}
				abort(c, r.status, r.code, msg)
				return
			}
		}
	}
	s.fail(c, err)
}
