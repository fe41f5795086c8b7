package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/subscription"
)

// entitySubscription names outbound subscriptions and their deliveries in
// audit records.
const entitySubscription = "Subscription"

const subscriptionsPath = "/v1/integration/subscriptions"

// SubscriptionStore keeps the outbound subscriptions (webhooks of third
// parties) and their deliveries.
type SubscriptionStore interface {
	Create(ctx context.Context, rec *audit.Record, s subscription.Subscription) error
	Get(ctx context.Context, id uuid.UUID) (subscription.Subscription, error)
	List(ctx context.Context, f subscription.Filter) (subscription.Page, error)
	Update(ctx context.Context, rec *audit.Record, s subscription.Subscription, expectedVersion int) (subscription.Subscription, error)
	Delete(ctx context.Context, rec *audit.Record, id uuid.UUID) error
	ListDeliveries(ctx context.Context, f subscription.DeliveryFilter) (subscription.DeliveryPage, error)
	Replay(ctx context.Context, rec *audit.Record, subscriptionID, deliveryID uuid.UUID, now time.Time) (subscription.Delivery, error)
}

// subscriptionRoutes serve /v1/integration/subscriptions: the third
// parties our CloudEvents are delivered to by signed webhook, and each
// delivery.
type subscriptionRoutes struct {
	*edge
	store SubscriptionStore
	// allowPrivate lets endpoints on loopback and private networks be
	// subscribed (development and tests only).
	allowPrivate bool
	// resolver looks endpoint hosts up; nil is the system's.
	resolver subscription.Resolver
}

func (s *subscriptionRoutes) routes() []Route {
	const (
		read, write = "system/Subscription.read", "system/Subscription.write"
		one         = subscriptionsPath + "/:id"
	)
	return []Route{
		{http.MethodPost, subscriptionsPath, write, entitySubscription, s.create},
		{http.MethodGet, subscriptionsPath, read, entitySubscription, s.list},
		{http.MethodGet, one, read, entitySubscription, s.get},
		{http.MethodPut, one, write, entitySubscription, s.update},
		{http.MethodDelete, one, write, entitySubscription, s.remove},
		{http.MethodGet, one + "/deliveries", read, entitySubscription, s.deliveries},
		{http.MethodPost, one + "/deliveries/:deliveryId/replay", write, entitySubscription, s.replay},
	}
}

const subscriptionIDMessage = "must be a subscription id (UUID)"

// subscriptionBody is a subscription as POST and PUT take it. The secret
// is write-only: PUT without one keeps the current secret.
type subscriptionBody struct {
	Name       string              `json:"name"`
	EventTypes []string            `json:"eventTypes"`
	PatientID  *uuid.UUID          `json:"patientId"`
	Category   string              `json:"category"`
	Endpoint   string              `json:"endpoint"`
	Secret     string              `json:"secret"`
	Status     subscription.Status `json:"status"`
}

// apply sets sub's settings to the body's.
func (b subscriptionBody) apply(sub *subscription.Subscription) {
	sub.Name, sub.EventTypes, sub.PatientID, sub.Category, sub.Endpoint = b.Name, b.EventTypes, b.PatientID, b.Category, b.Endpoint
	if b.Secret != "" {
		sub.Secret = b.Secret
	}
	if b.Status != "" {
		sub.Status = b.Status
	}
}

// valid validates sub, then checks its endpoint's address: a valid
// subscription whose endpoint is (or resolves to) a private address is
// refused naming endpoint.
func (s *subscriptionRoutes) valid(c *gin.Context, sub subscription.Subscription) bool {
	if err := sub.Validate(); err != nil {
		s.fail(c, err)
		return false
	}
	if err := subscription.CheckEndpoint(c.Request.Context(), s.resolver, sub.Endpoint, s.allowPrivate); err != nil {
		if errors.Is(err, subscription.ErrForbiddenAddress) {
			fieldError(c, "endpoint", "must be a public address: "+err.Error())
		} else {
			fieldError(c, "endpoint", "must be reachable: "+err.Error())
		}
		return false
	}
	return true
}

// SubscriptionView is a subscription as the API shows it: never its secret.
type SubscriptionView struct {
	ID                  uuid.UUID           `json:"id"`
	Name                string              `json:"name"`
	EventTypes          []string            `json:"eventTypes"`
	PatientID           *uuid.UUID          `json:"patientId,omitempty"`
	Category            string              `json:"category,omitempty"`
	Endpoint            string              `json:"endpoint"`
	Status              subscription.Status `json:"status"`
	ConsecutiveFailures int                 `json:"consecutiveFailures"`
	PausedReason        string              `json:"pausedReason,omitempty"`
	CreatedBy           string              `json:"createdBy"`
	CreatedAt           time.Time           `json:"createdAt"`
	UpdatedAt           time.Time           `json:"updatedAt"`
	Version             int                 `json:"version"`
}

func subscriptionView(s subscription.Subscription) SubscriptionView {
	return SubscriptionView{ID: s.ID, Name: s.Name, EventTypes: s.EventTypes, PatientID: s.PatientID, Category: s.Category,
		Endpoint: s.Endpoint, Status: s.Status, ConsecutiveFailures: s.ConsecutiveFailures, PausedReason: s.PausedReason,
		CreatedBy: s.CreatedBy, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, Version: s.Version}
}

// create is POST /v1/integration/subscriptions: validated, its endpoint
// checked, stored active (or paused, when the body says so) with its audit
// record.
func (s *subscriptionRoutes) create(c *gin.Context) {
	var b subscriptionBody
	if readJSON(c, &b) == nil {
		return
	}
	id, err := s.newID()
	if err != nil {
		s.fail(c, err)
		return
	}
	now := s.now().UTC()
	sub := subscription.Subscription{ID: id, Status: subscription.StatusActive, CreatedBy: requester(c), CreatedAt: now, UpdatedAt: now, Version: 1}
	b.apply(&sub)
	if sub.Status == subscription.StatusPaused {
		sub.PausedReason = "created paused by " + sub.CreatedBy
	}
	if !s.valid(c, sub) {
		return
	}
	a := auditOf(c)
	a.about(audit.ActionCreate, entitySubscription, id.String(), nil)
	if err := s.store.Create(c.Request.Context(), a.forWrite(c, audit.ActionCreate, http.StatusCreated), sub); err != nil {
		s.fail(c, err)
		return
	}
	a.stored()
	c.Header("Location", location(subscriptionsPath, id.String()))
	c.Header("ETag", etag(sub.Version))
	c.JSON(http.StatusCreated, subscriptionView(sub))
}

// list is GET /v1/integration/subscriptions: newest first, by status.
func (s *subscriptionRoutes) list(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "status", "limit", "cursor")
	f := subscription.Filter{Status: subscription.Status(c.Query("status")), Cursor: c.Query("cursor")}
	if f.Status != "" && !f.Status.Valid() {
		verr.Add("status", "must be active or paused")
	}
	f.Limit = limitParam(c, verr, 50, 200)
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionSearch, entitySubscription, "", nil)
	page, err := s.store.List(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	views := make([]SubscriptionView, len(page.Subscriptions))
	for i, sub := range page.Subscriptions {
		views[i] = subscriptionView(sub)
	}
	c.JSON(http.StatusOK, pageBody(views, page.Next))
}

func (s *subscriptionRoutes) get(c *gin.Context) {
	id, ok := uuidParam(c, subscriptionIDMessage)
	if !ok {
		return
	}
	auditOf(c).about(audit.ActionRead, entitySubscription, id.String(), nil)
	sub, err := s.store.Get(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	if notModified(c, sub.Version) {
		return
	}
	c.Header("ETag", etag(sub.Version))
	c.JSON(http.StatusOK, subscriptionView(sub))
}

// update is PUT /v1/integration/subscriptions/{id} over the version in
// If-Match: the settings replaced, the secret kept unless a new one is
// given; status paused pauses it, active resumes it (clearing its count of
// failures).
func (s *subscriptionRoutes) update(c *gin.Context) {
	id, ok := uuidParam(c, subscriptionIDMessage)
	if !ok {
		return
	}
	want, ok := requireIfMatch(c)
	if !ok {
		return
	}
	var b subscriptionBody
	if readJSON(c, &b) == nil {
		return
	}
	a := auditOf(c)
	a.about(audit.ActionUpdate, entitySubscription, id.String(), nil)
	ctx := c.Request.Context()
	current, err := s.store.Get(ctx, id)
	if err == nil {
		err = checkVersion(current.Version, want)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	sub := current
	b.apply(&sub)
	sub.UpdatedAt = s.now().UTC()
	if sub.Status == subscription.StatusPaused && current.Status != subscription.StatusPaused {
		sub.PausedReason = "paused by " + requester(c)
	}
	if !s.valid(c, sub) {
		return
	}
	stored, err := s.store.Update(ctx, a.forWrite(c, audit.ActionUpdate, http.StatusOK), sub, current.Version)
	if err != nil {
		s.fail(c, err)
		return
	}
	a.stored()
	c.Header("ETag", etag(stored.Version))
	c.JSON(http.StatusOK, subscriptionView(stored))
}

// remove is DELETE /v1/integration/subscriptions/{id}: the subscription
// and its deliveries are gone; nothing more is sent to it.
func (s *subscriptionRoutes) remove(c *gin.Context) {
	id, ok := uuidParam(c, subscriptionIDMessage)
	if !ok {
		return
	}
	a := auditOf(c)
	a.about(audit.ActionDelete, entitySubscription, id.String(), nil)
	if err := s.store.Delete(c.Request.Context(), a.forWrite(c, audit.ActionDelete, http.StatusNoContent), id); err != nil {
		s.fail(c, err)
		return
	}
	a.stored()
	c.Status(http.StatusNoContent)
}

// deliveries is GET /v1/integration/subscriptions/{id}/deliveries: the
// subscription's deliveries, newest first, by status; never their payloads.
func (s *subscriptionRoutes) deliveries(c *gin.Context) {
	id, ok := uuidParam(c, subscriptionIDMessage)
	if !ok {
		return
	}
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "status", "limit", "cursor")
	f := subscription.DeliveryFilter{SubscriptionID: id, Status: subscription.DeliveryStatus(c.Query("status")), Cursor: c.Query("cursor")}
	if f.Status != "" && !f.Status.Valid() {
		verr.Add("status", "must be pending, delivered, failed or dead")
	}
	f.Limit = limitParam(c, verr, 50, 200)
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionSearch, entitySubscription, id.String(), nil)
	ctx := c.Request.Context()
	if _, err := s.store.Get(ctx, id); err != nil {
		s.fail(c, err)
		return
	}
	page, err := s.store.ListDeliveries(ctx, f)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, pageBody(page.Deliveries, page.Next))
}

// replay is POST /v1/integration/subscriptions/{id}/deliveries/{deliveryId}/replay:
// the delivery is pending again, due now, with its attempts counted
// afresh; it is sent with the same event id, so the receiver can dedupe.
func (s *subscriptionRoutes) replay(c *gin.Context) {
	id, ok := uuidParam(c, subscriptionIDMessage)
	if !ok {
		return
	}
	deliveryID, err := uuid.Parse(c.Param("deliveryId"))
	if err != nil {
		fieldError(c, "deliveryId", "must be a delivery id (UUID)")
		return
	}
	a := auditOf(c)
	a.about(audit.ActionUpdate, entitySubscription, id.String(), nil)
	d, err := s.store.Replay(c.Request.Context(), a.forWrite(c, audit.ActionUpdate, http.StatusOK), id, deliveryID, s.now().UTC())
	if err != nil {
		s.fail(c, err)
		return
	}
	a.stored()
	c.JSON(http.StatusOK, d)
}
