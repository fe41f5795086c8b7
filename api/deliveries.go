package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/notification"
)

// Delivery error codes: a requeue refused because the delivery is not
// dead-lettered names what it is instead.
const (
	CodeDeliveryPending   = "DELIVERY_PENDING"
	CodeDeliveryDelivered = "DELIVERY_ALREADY_DELIVERED"
)

// deliveryRoutes serve /v1/notifications/deliveries: the notifications'
// delivery log, searched and requeued by an operator.
type deliveryRoutes struct {
	*edge
	store Deliveries
}

func (s *deliveryRoutes) routes() []Route {
	const scopeR, scopeW, entity = "system/Communication.read", "system/Communication.write", "Communication"
	return []Route{
		{http.MethodGet, "/v1/notifications/deliveries", scopeR, entity, s.listDeliveries},
		{http.MethodPost, "/v1/notifications/deliveries/:id/retry", scopeW, entity, s.retryDelivery},
	}
}

// maxRequeueReason bounds the reason an operator gives for a requeue.
const maxRequeueReason = 500

// requeueBody is POST /v1/notifications/deliveries/{id}/retry; the body is
// optional.
type requeueBody struct {
	Reason string `json:"reason"`
}

func (s *deliveryRoutes) listDeliveries(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "status", "channel", "alertId", "patientId", "from", "to", "limit", "cursor")
	f := notification.Filter{Status: c.Query("status"), Channel: c.Query("channel"), Cursor: c.Query("cursor")}
	switch f.Status {
	case "", notification.StatusQueued, notification.StatusFailed, notification.StatusDelivered,
		notification.StatusDead, notification.Pending:
	default:
		verr.Add("status", "must be queued, failed, delivered, dead or pending (queued or failed)")
	}
	switch f.Channel {
	case "", notification.ChannelInApp, notification.ChannelEmail, notification.ChannelSMS, notification.ChannelPush:
	default:
		verr.Add("channel", "must be inapp, email, sms or push")
	}
	if id := optionalUUID(c, "alertId", verr); id != nil {
		f.AlertID = *id
	}
	patient := optionalUUID(c, "patientId", verr)
	if patient != nil {
		f.PatientID = *patient
	}
	if t := optionalTime(verr, "from", c.Query("from")); t != nil {
		f.From = *t
	}
	if t := optionalTime(verr, "to", c.Query("to")); t != nil {
		f.To = *t
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		verr.Add("from", "must be before to")
	}
	f.Limit = limitParam(c, verr, 50, 200)
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	a := auditOf(c)
	a.about(audit.ActionSearch, "Communication", "", patient)
	page, err := s.store.ListDeliveries(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	// The patients whose notifications were shown are in the audit record.
	for _, d := range page.Deliveries {
		a.disclosed(d.PatientID)
	}
	c.JSON(http.StatusOK, pageBody(page.Deliveries, page.Next))
}

// retryDelivery requeues a dead-lettered delivery: a new round of attempts,
// recorded with who asked and why in the delivery's history and in the
// request's audit record, in one transaction.
func (s *deliveryRoutes) retryDelivery(c *gin.Context) {
	id, ok := uuidParam(c, "must be a notification id (UUID)")
	if !ok {
		return
	}
	var b requeueBody
	if c.Request.ContentLength != 0 && readJSON(c, &b) == nil {
		return
	}
	b.Reason = strings.TrimSpace(b.Reason)
	if utf8.RuneCountInString(b.Reason) > maxRequeueReason {
		fieldError(c, "reason", fmt.Sprintf("must be at most %d characters", maxRequeueReason))
		return
	}
	by := "anonymous"
	if p, ok := principal(c); ok {
		by = p.Subject
		if by == "" {
			by = p.ClientID
		}
	}
	a := auditOf(c)
	a.about(audit.ActionUpdate, "Communication", id.String(), nil)
	d, err := s.store.Requeue(c.Request.Context(), id, a.forWrite(c, audit.ActionUpdate, http.StatusOK), by, b.Reason)
	if err != nil {
		var state *notification.StateError
		if errors.As(err, &state) {
			code := CodeConflict
			switch state.Status {
			case notification.StatusQueued, notification.StatusFailed:
				code = CodeDeliveryPending
			case notification.StatusDelivered:
				code = CodeDeliveryDelivered
			}
			abort(c, http.StatusConflict, code,
				"The delivery is "+state.Status+"; only a dead-lettered delivery can be requeued.")
			return
		}
		s.fail(c, err)
		return
	}
	a.stored()
	c.JSON(http.StatusOK, d)
}
