package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/domain/notification"
	alertflow "github.com/zarish-sphere/zarish/workflows/alert"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// AlertStore is the alerts' read model, the escalation policies and the
// care-team directory.
type AlertStore interface {
	// RaiseAlert records a raise with its audit record and Idempotency-Key
	// and starts its escalation, in one transaction (alertflow.Raise).
	alertflow.RaiseStore
	// CurrentLocation is where the patient's open encounter has them: the
	// unit of an alert raised without one; domain.ErrNotFound for none.
	CurrentLocation(ctx context.Context, patientID uuid.UUID, encounterID *uuid.UUID) (alert.Location, error)
	ListAlerts(ctx context.Context, f alert.Filter) (alert.Page, error)
	GetAlert(ctx context.Context, id uuid.UUID) (alert.Record, error)
	CreatePolicy(ctx context.Context, rec *audit.Record, p alert.Policy) error
	GetPolicy(ctx context.Context, id string) (alert.Policy, error)
	ListPolicies(ctx context.Context) ([]alert.Policy, error)
	CreateRoutingRule(ctx context.Context, rec *audit.Record, r alert.RoutingRule) error
	ListRoutingRules(ctx context.Context) ([]alert.RoutingRule, error)
}

// CareTeam is the practitioner directory.
type CareTeam interface {
	CreatePractitioner(ctx context.Context, rec *audit.Record, p careteam.Practitioner) error
	GetPractitioner(ctx context.Context, id uuid.UUID) (careteam.Practitioner, error)
	ListPractitioners(ctx context.Context, unit string) ([]careteam.Practitioner, error)
	SetOnCall(ctx context.Context, rec *audit.Record, o careteam.OnCall) error
	ListOnCall(ctx context.Context, at time.Time) ([]careteam.OnCall, error)
}

// Deliveries is the notifications' delivery log: what became of each
// notification of an alert, the log an operator searches, and the requeue
// of a dead-lettered notification (with the request's audit record, stored
// in the same transaction).
type Deliveries interface {
	DeliveryStatus(ctx context.Context, alertID uuid.UUID) ([]notification.Status, error)
	ListDeliveries(ctx context.Context, f notification.Filter) (notification.Page, error)
	Requeue(ctx context.Context, id uuid.UUID, rec *audit.Record, by, reason string) (notification.Delivery, error)
}

// Alert error codes.
const (
	CodeNotARecipient = "NOT_A_RECIPIENT"
	CodeAlertClosed   = "ALERT_CLOSED"
	CodeNoPolicy      = "NO_ESCALATION_POLICY"
)

// alertDeliveries is what the alert routes read of the delivery log.
type alertDeliveries interface {
	DeliveryStatus(ctx context.Context, alertID uuid.UUID) ([]notification.Status, error)
}

// alertRoutes serve /v1/notifications/alerts: the read model (which also
// records raises), the delivery log, and the Temporal client that drives
// each alert's escalation.
type alertRoutes struct {
	*edge
	store      AlertStore
	deliveries alertDeliveries
	temporal   client.Client
	// directory says which units a practitioner works on, for who may
	// resolve an alert; nil lets only its recipients resolve it.
	directory practitionerDirectory
}

// practitionerDirectory finds a practitioner in the care-team directory.
type practitionerDirectory interface {
	GetPractitioner(ctx context.Context, id uuid.UUID) (careteam.Practitioner, error)
}

func (s *alertRoutes) routes() []Route {
	const scopeR, scopeW, entity = "system/Flag.read", "system/Flag.write", "Flag"
	update := func(name string, newReq func() alertflow.Request) Route {
		return Route{http.MethodPost, "/v1/notifications/alerts/:id/" + name, scopeW, entity, s.update(newReq)}
	}
	return []Route{
		{http.MethodPost, "/v1/notifications/alerts", scopeW, entity, s.raise},
		{http.MethodGet, "/v1/notifications/alerts", scopeR, entity, s.list},
		{http.MethodGet, "/v1/notifications/alerts/:id", scopeR, entity, s.get},
		update("acknowledge", func() alertflow.Request { return &alertflow.AcknowledgeRequest{} }),
		update("resolve", func() alertflow.Request { return &alertflow.ResolveRequest{} }),
	}
}

// raiseBody is POST /v1/notifications/alerts. Unit may be omitted when the
// patient has an open encounter: the alert goes to its current location.
type raiseBody struct {
	PatientID   uuid.UUID      `json:"patientId"`
	EncounterID *uuid.UUID     `json:"encounterId,omitempty"`
	Unit        string         `json:"unit,omitempty"`
	Severity    alert.Severity `json:"severity"`
	Category    string         `json:"category"`
	Message     string         `json:"message"`
	Source      string         `json:"source"`
	PolicyID    string         `json:"policyId,omitempty"`
}

// raise records the alert with the request's audit record and
// Idempotency-Key and starts its escalation, all in one transaction: an
// alert that cannot be recorded is refused and starts nothing. The answer
// is the alert the request resolved to — new, the open one for the same
// patient, category and source, or a repeated key's first — as it is now.
func (s *alertRoutes) raise(c *gin.Context) {
	var b raiseBody
	body := readJSON(c, &b)
	if body == nil {
		return
	}
	idem, ok := idempotencyOf(c, body)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	r := alert.Raise{
		PatientID: b.PatientID, EncounterID: b.EncounterID, Unit: strings.TrimSpace(b.Unit), Severity: b.Severity,
		Category: strings.TrimSpace(b.Category), Message: strings.TrimSpace(b.Message),
		Source: strings.TrimSpace(b.Source), PolicyID: strings.TrimSpace(b.PolicyID),
	}
	if r.Unit == "" && r.PatientID != uuid.Nil {
		loc, err := s.store.CurrentLocation(ctx, r.PatientID, r.EncounterID)
		switch {
		case errors.Is(err, domain.ErrNotFound):
			fieldError(c, "unit", "is required: the patient has no open encounter whose location the alert could go to")
			return
		case err != nil:
			s.fail(c, err)
			return
		}
		r.Unit, r.EncounterID = loc.Unit, &loc.EncounterID
	}
	a := auditOf(c)
	a.about(audit.ActionCreate, "Flag", "", &b.PatientID)
	raised, err := alertflow.Raise(ctx, s.temporal, s.store, alert.RaiseRequest{
		Raise: r, At: s.now().UTC(), Idempotency: idem, Audit: a.forWrite(c, audit.ActionCreate, http.StatusAccepted),
	})
	if errors.Is(err, alert.ErrNoPolicy) {
		abort(c, http.StatusUnprocessableEntity, CodeNoPolicy,
			"No escalation policy matches this alert's category and severity, so it would reach nobody: add a routing rule.")
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	a.stored()
	if raised.Replayed {
		c.Header("Idempotent-Replayed", "true")
	}
	c.Header("Location", "/v1/notifications/alerts/"+raised.Record.ID.String())
	c.JSON(http.StatusAccepted, s.view(c, raised.Record, true))
}

// view is the alert's view with its deliveries. After a write the answer
// must not fail on a read: bestEffort then answers without deliveries.
func (s *alertRoutes) view(c *gin.Context, rec alert.Record, bestEffort bool) alertflow.View {
	statuses, err := s.deliveries.DeliveryStatus(c.Request.Context(), rec.ID)
	if err != nil {
		if !bestEffort {
			s.fail(c, err)
			return alertflow.View{}
		}
		s.log.WarnContext(c.Request.Context(), "alert deliveries not read", "alertId", rec.ID, "error", err)
	}
	deliveries := make([]alert.Delivery, 0, len(statuses))
	for _, d := range statuses {
		deliveries = append(deliveries, alert.Delivery{NotificationID: d.NotificationID, PractitionerID: d.PractitionerID,
			Channel: d.Channel, Level: d.Level, Status: d.Status, Attempts: d.Attempts, LastError: d.LastError,
			DeliveredAt: d.DeliveredAt, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt})
	}
	return alertflow.ViewOfRecord(rec, deliveries)
}

func (s *alertRoutes) list(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "status", "active", "patientId", "recipient", "limit", "cursor")
	f := alert.Filter{Status: alert.Status(c.Query("status")), Cursor: c.Query("cursor"), Limit: 50}
	if f.Status != "" && !f.Status.Valid() {
		verr.Add("status", "must be open, acknowledged, resolved, exhausted or undeliverable")
	}
	if v := c.Query("active"); v != "" {
		active, err := strconv.ParseBool(v)
		if err != nil {
			verr.Add("active", "must be true or false")
		}
		f.Active = active
	}
	if p := optionalUUID(c, "patientId", verr); p != nil {
		f.PatientID = *p
	}
	if p := optionalUUID(c, "recipient", verr); p != nil {
		f.Recipient = *p
	}
	f.Limit = limitParam(c, verr, 50, 200)
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	var patient *uuid.UUID
	if f.PatientID != uuid.Nil {
		patient = &f.PatientID
	}
	a := auditOf(c)
	a.about(audit.ActionSearch, "Flag", "", patient)
	page, err := s.store.ListAlerts(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	for _, r := range page.Alerts {
		a.disclosed(r.PatientID)
	}
	c.JSON(http.StatusOK, pageBody(page.Alerts, page.Next))
}

func (s *alertRoutes) get(c *gin.Context) {
	id, ok := uuidParam(c, "must be an alert id (UUID)")
	if !ok {
		return
	}
	a := auditOf(c)
	a.about(audit.ActionRead, "Flag", id.String(), nil)
	rec, err := s.store.GetAlert(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	a.rec.PatientID = &rec.PatientID
	v := s.view(c, rec, false)
	if c.IsAborted() {
		return
	}
	c.JSON(http.StatusOK, v)
}

// update serves POST /v1/notifications/alerts/{id}/{acknowledge|resolve}: a
// Temporal Update whose validator refuses before anything reaches the
// workflow's history. The request's audit record goes with the Update and
// commits with the read-model write; the answer is the alert's view.
func (s *alertRoutes) update(newReq func() alertflow.Request) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := uuidParam(c, "must be an alert id (UUID)")
		if !ok {
			return
		}
		req := newReq()
		raw := readJSON(c, req)
		if raw == nil {
			return
		}
		ctx, ok := s.stepContext(c, raw, id)
		if !ok {
			return
		}
		who, ok := actor(c, "practitionerId", namedID(req.Actor()))
		if !ok {
			return
		}
		req.SetActor(who)
		if err := req.Validate(); err != nil {
			s.fail(c, err)
			return
		}
		if req.UpdateName() == alertflow.UpdateResolve && !s.mayResolve(c, id, who) {
			return
		}
		a := auditOf(c)
		a.about(audit.ActionUpdate, "Flag", id.String(), nil)
		state, err := alertflow.Update(ctx, s.temporal, id, process.WithAudit(req, a.forWrite(c, audit.ActionUpdate, http.StatusOK)))
		if err != nil {
			s.workflowFailure(c, err, "No such alert.", s.closedStatus(id))
			return
		}
		a.stored()
		rec, err := s.store.GetAlert(ctx, id)
		if err != nil {
			s.log.WarnContext(ctx, "alert changed, read model not read; answering from the workflow", "alertId", id, "error", err)
			c.JSON(http.StatusOK, alertflow.ViewOf(state))
			return
		}
		c.JSON(http.StatusOK, s.view(c, rec, true))
	}
}

// mayResolve answers 403 NOT_A_RECIPIENT unless who may resolve the alert
// (alert.Record.MayResolve): one of its recipients, whoever acknowledged
// it, a clinician of its unit, or a holder of a role its policy names. An
// alert the read model does not hold is left to the workflow (404). It
// reports false when it has answered.
func (s *alertRoutes) mayResolve(c *gin.Context, id, who uuid.UUID) bool {
	ctx := c.Request.Context()
	rec, err := s.store.GetAlert(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return true
	}
	if err != nil {
		s.fail(c, err)
		return false
	}
	resolver := alert.Resolver{PractitionerID: who}
	if s.directory != nil {
		switch p, err := s.directory.GetPractitioner(ctx, who); {
		case err == nil:
			resolver.Units, resolver.Roles = p.Units, p.Roles
		case !errors.Is(err, domain.ErrNotFound):
			s.fail(c, err)
			return false
		}
	}
	var resolverRoles []careteam.Role
	if rec.PolicyID != "" {
		switch p, err := s.store.GetPolicy(ctx, rec.PolicyID); {
		case err == nil:
			resolverRoles = p.ResolverRoles
		case !errors.Is(err, domain.ErrNotFound):
			s.fail(c, err)
			return false
		}
	}
	if !rec.MayResolve(resolver, resolverRoles) {
		abort(c, http.StatusForbidden, CodeNotARecipient,
			"Only the alert's recipients, whoever acknowledged it, the clinicians of its unit and the roles its policy names may resolve it.")
		return false
	}
	return true
}

// closedStatus reads the status of an alert whose workflow has closed.
func (s *alertRoutes) closedStatus(id uuid.UUID) closedStatus {
	return func(ctx context.Context) (string, bool) {
		rec, err := s.store.GetAlert(ctx, id)
		if err != nil {
			return "", false
		}
		return string(rec.Status), true
	}
}
