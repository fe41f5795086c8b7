package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/outbox"
)

// CodeDeadLetterRequeued: the dead letter was requeued already; its event
// is back in the outbox (or delivered since).
const CodeDeadLetterRequeued = "DEAD_LETTER_ALREADY_REQUEUED"

// entityEndpoint names the outbox's dead letters in audit records: events
// the Kafka endpoint refused.
const entityEndpoint = "Endpoint"

// OutboxDeadLetters is what the operator's outbox routes need: the events
// Kafka refused for good, and a way to send one again.
type OutboxDeadLetters interface {
	List(ctx context.Context, f outbox.DeadLetterFilter) (outbox.DeadLetterPage, error)
	Requeue(ctx context.Context, id uuid.UUID, rec *audit.Record, by, reason string) (outbox.DeadLetter, error)
}

// deadLetterRoutes serve /v1/integration/outbox/dead-letters: the events
// Kafka refused for good, listed and requeued by an operator.
type deadLetterRoutes struct {
	*edge
	store OutboxDeadLetters
}

func (s *deadLetterRoutes) routes() []Route {
	return []Route{
		{http.MethodGet, "/v1/integration/outbox/dead-letters", "system/Endpoint.read", entityEndpoint, s.listDeadLetters},
		{http.MethodPost, "/v1/integration/outbox/dead-letters/:id/retry", "system/Endpoint.write", entityEndpoint, s.retryDeadLetter},
	}
}

// listDeadLetters is GET /v1/integration/outbox/dead-letters: newest
// failure first, cursor-paginated, filtered by status, topic and type.
func (s *deadLetterRoutes) listDeadLetters(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "status", "topic", "type", "limit", "cursor")
	f := outbox.DeadLetterFilter{Status: c.Query("status"), Topic: c.Query("topic"), Type: c.Query("type"), Cursor: c.Query("cursor")}
	if !outbox.ValidStatus(f.Status) {
		verr.Add("status", "must be dead or requeued")
	}
	if len(f.Topic) > 249 {
		verr.Add("topic", "must be at most 249 characters")
	}
	if len(f.Type) > 200 {
		verr.Add("type", "must be at most 200 characters")
	}
	f.Limit = limitParam(c, verr, 50, 200)
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionSearch, entityEndpoint, "", nil)
	page, err := s.store.List(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, pageBody(page.DeadLetters, page.Next))
}

// retryDeadLetter is POST /v1/integration/outbox/dead-letters/{id}/retry:
// the event goes back into the outbox under its own id, and the requeue
// (who, why) is kept on the dead letter and in the request's audit record,
// in one transaction.
func (s *deadLetterRoutes) retryDeadLetter(c *gin.Context) {
	id, ok := uuidParam(c, "must be an event id (UUID)")
	if !ok {
		return
	}
	var b requeueBody
	if c.Request.ContentLength != 0 && readJSON(c, &b) == nil {
		return
	}
	b.Reason = strings.TrimSpace(b.Reason)
	switch {
	case utf8.RuneCountInString(b.Reason) > outbox.MaxRequeueReason:
		fieldError(c, "reason", fmt.Sprintf("must be at most %d characters", outbox.MaxRequeueReason))
		return
	case strings.ContainsRune(b.Reason, 0) || !utf8.ValidString(b.Reason):
		fieldError(c, "reason", "must be text without NUL characters")
		return
	}
	a := auditOf(c)
	a.about(audit.ActionUpdate, entityEndpoint, id.String(), nil)
	rec := a.forWrite(c, audit.ActionUpdate, http.StatusOK)
	if rec != nil {
		rec.Description = "requeue dead-lettered event"
		if b.Reason != "" {
			rec.Description += ": " + b.Reason
		}
	}
	d, err := s.store.Requeue(c.Request.Context(), id, rec, requester(c), b.Reason)
	switch {
	case errors.Is(err, outbox.ErrAlreadyRequeued):
		abort(c, http.StatusConflict, CodeDeadLetterRequeued, "The event was requeued already; only a dead letter can be requeued.")
		return
	case err != nil:
		s.fail(c, err)
		return
	}
	a.stored()
	c.JSON(http.StatusOK, d)
}

// requester names who asks: the token's subject, else its client.
func requester(c *gin.Context) string {
	p, ok := principal(c)
	switch {
	case !ok:
		return "anonymous"
	case p.Subject != "":
		return p.Subject
	default:
		return p.ClientID
	}
}
