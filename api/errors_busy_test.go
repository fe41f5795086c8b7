package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// TestWorkflowServiceBusyIs503: Temporal not answering in time — an
// Update whose wait ran out, the frontend unreachable, a deadline or a
// limit — is 503 SERVICE_UNAVAILABLE with Retry-After, telling the caller
// the change may still be made; any other unknown error stays a 500.
func TestWorkflowServiceBusyIs503(t *testing.T) {
	e := &edge{log: slog.New(slog.DiscardHandler)}
	answer := func(err error) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(w)
		c.Request = httptest.NewRequest(http.MethodPost, "/v1/diagnostics/orders/x/results", nil)
		e.fail(c, err)
		return w
	}
	for _, err := range []error{
		client.NewWorkflowUpdateServiceTimeoutOrCanceledError(context.DeadlineExceeded),
		fmt.Errorf("record results: %w", client.NewWorkflowUpdateServiceTimeoutOrCanceledError(errors.New("context deadline exceeded"))),
		serviceerror.NewUnavailable("connection refused"),
		serviceerror.NewDeadlineExceeded("deadline exceeded"),
		serviceerror.NewResourceExhausted(enumspb.RESOURCE_EXHAUSTED_CAUSE_RPS_LIMIT, "namespace rate limit"),
	} {
		w := answer(err)
		var body struct{ Error, Message string }
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "5" || body.Error != CodeUnavailable {
			t.Errorf("%v: %d Retry-After %q %s", err, w.Code, w.Header().Get("Retry-After"), w.Body)
		}
	}
	if w := answer(errors.New("nil map")); w.Code != http.StatusInternalServerError {
		t.Errorf("an unknown error: %d, want 500", w.Code)
	}
}
