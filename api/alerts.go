package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	alertflow "github.com/zarish-sphere/zarish/workflows/alert"
)

// AlertStore is the alerts' read model, the escalation policies and the
// care-team directory.
type AlertStore interface {
	alertflow.ClosedAlertCounter
	ListAlerts(ctx context.Context, f postgres.AlertFilter) (postgres.AlertPage, error)
	GetAlert(ctx context.Context, id uuid.UUID) (alert.Record, error)
	CreatePolicy(ctx context.Context, p alert.Policy) error
	GetPolicy(ctx context.Context, id string) (alert.Policy, error)
	ListPolicies(ctx context.Context) ([]alert.Policy, error)
	CreateRoutingRule(ctx context.Context, r alert.RoutingRule) error
	ListRoutingRules(ctx context.Context) ([]alert.RoutingRule, error)
}

// CareTeam is the practitioner directory.
type CareTeam interface {
	CreatePractitioner(ctx context.Context, p careteam.Practitioner) error
	GetPractitioner(ctx context.Context, id uuid.UUID) (careteam.Practitioner, error)
	ListPractitioners(ctx context.Context, unit string) ([]careteam.Practitioner, error)
	SetOnCall(ctx context.Context, o careteam.OnCall) error
	ListOnCall(ctx context.Context, at time.Time) ([]careteam.OnCall, error)
}

// Deliveries is the notifications' delivery log: what became of each
// notification of an alert, the log an operator searches, and the requeue
// of a dead-lettered notification (with the request's audit record, stored
// in the same transaction).
type Deliveries interface {
	DeliveryStatus(ctx context.Context, alertID uuid.UUID) ([]postgres.NotificationStatus, error)
	ListDeliveries(ctx context.Context, f postgres.DeliveryFilter) (postgres.DeliveryPage, error)
	Requeue(ctx context.Context, id uuid.UUID, rec *audit.Record, by, reason string) (postgres.Delivery, error)
}

// Alert error codes.
const (
	CodeNotARecipient = "NOT_A_RECIPIENT"
	CodeAlertClosed   = "ALERT_CLOSED"
)

// raiseBody is POST /v1/notifications/alerts.
type raiseBody struct {
	PatientID   uuid.UUID      `json:"patientId"`
	EncounterID *uuid.UUID     `json:"encounterId,omitempty"`
	Unit        string         `json:"unit"`
	Severity    alert.Severity `json:"severity"`
	Category    string         `json:"category"`
	Message     string         `json:"message"`
	Source      string         `json:"source"`
	PolicyID    string         `json:"policyId,omitempty"`
}

// AlertView is an alert as the API shows it: the read model, the workflow's
// timeline and every notification's delivery status.
type AlertView struct {
	alert.Record
	Deliveries []postgres.NotificationStatus `json:"deliveries"`
	WorkflowID string                        `json:"workflowId"`
}

func (s *server) raiseAlert(c *gin.Context) {
	var b raiseBody
	if readJSON(c, &b) == nil {
		return
	}
	in := alertflow.Input{Raise: alert.Raise{
		PatientID: b.PatientID, EncounterID: b.EncounterID, Unit: strings.TrimSpace(b.Unit), Severity: b.Severity,
		Category: strings.TrimSpace(b.Category), Message: strings.TrimSpace(b.Message),
		Source: strings.TrimSpace(b.Source), PolicyID: b.PolicyID,
	}}
	if key := strings.TrimSpace(c.GetHeader("Idempotency-Key")); key != "" {
		// The same key from the same client always names the same alert.
		p, _ := principal(c)
		in.AlertID = uuid.NewSHA1(idempotencySpace, []byte(p.ClientID+"\x00"+key))
	}
	a := auditOf(c)
	a.about(audit.ActionCreate, "Flag", "", &b.PatientID)
	run, err := alertflow.Raise(c.Request.Context(), s.Temporal, s.Alerts, in)
	if err != nil {
		s.fail(c, err)
		return
	}
	id, err := uuid.Parse(strings.TrimPrefix(run.GetID(), "alert/"))
	if err != nil {
		s.fail(c, err)
		return
	}
	a.rec.EntityID = id.String()
	c.Header("Location", "/v1/notifications/alerts/"+id.String())
	c.JSON(http.StatusAccepted, gin.H{"id": id, "workflowId": run.GetID(), "status": alertflow.StatusOpen})
}

// idempotencySpace namespaces alert ids derived from Idempotency-Keys.
var idempotencySpace = uuid.MustParse("a7f0c1d2-5b3e-4c6f-8e9a-0b1c2d3e4f50")

func (s *server) listAlerts(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "status", "patientId", "limit", "cursor")
	f := postgres.AlertFilter{Status: alert.Status(c.Query("status")), Cursor: c.Query("cursor"), Limit: 50}
	switch f.Status {
	case "", alert.StatusOpen, alert.StatusAcknowledged, alert.StatusResolved, alert.StatusExhausted:
	default:
		verr.Add("status", "must be open, acknowledged, resolved or exhausted")
	}
	if p := optionalUUID(c, "patientId", verr); p != nil {
		f.PatientID = *p
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
	auditOf(c).about(audit.ActionSearch, "Flag", "", patient)
	page, err := s.Alerts.ListAlerts(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, pageBody(page.Alerts, page.Next))
}

func (s *server) getAlert(c *gin.Context) {
	id, ok := uuidParam(c, "must be an alert id (UUID)")
	if !ok {
		return
	}
	a := auditOf(c)
	a.about(audit.ActionRead, "Flag", id.String(), nil)
	rec, err := s.Alerts.GetAlert(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	a.rec.PatientID = &rec.PatientID
	deliveries, err := s.Deliveries.DeliveryStatus(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	if deliveries == nil {
		deliveries = []postgres.NotificationStatus{}
	}
	c.JSON(http.StatusOK, AlertView{Record: rec, Deliveries: deliveries, WorkflowID: alertflow.WorkflowID(id)})
}

func (s *server) acknowledgeAlert(c *gin.Context) {
	id, ok := uuidParam(c, "must be an alert id (UUID)")
	if !ok {
		return
	}
	var req alertflow.AcknowledgeRequest
	if readJSON(c, &req) == nil {
		return
	}
	if req.PractitionerID == uuid.Nil {
		fieldError(c, "practitionerId", "is required")
		return
	}
	auditOf(c).about(audit.ActionUpdate, "Flag", id.String(), nil)
	state, err := alertflow.Acknowledge(c.Request.Context(), s.Temporal, id, req)
	if err != nil {
		s.workflowFailure(c, err, "No such alert.",
			refusal{alert.ErrNotRecipient, http.StatusForbidden, CodeNotARecipient, "Only a practitioner who was notified of this alert may acknowledge it."},
			refusal{alert.ErrAlreadyAcked, http.StatusConflict, CodeConflict, "The alert is already acknowledged."},
			refusal{alert.ErrAlreadyClosed, http.StatusConflict, CodeAlertClosed, "The alert is already closed."})
		return
	}
	auditOf(c).rec.PatientID = &state.Raise.PatientID
	c.JSON(http.StatusOK, state)
}

// resolveBody is POST /v1/notifications/alerts/{id}/resolve.
type resolveBody struct {
	PractitionerID uuid.UUID `json:"practitionerId"`
	Note           string    `json:"note"`
}

func (s *server) resolveAlert(c *gin.Context) {
	id, ok := uuidParam(c, "must be an alert id (UUID)")
	if !ok {
		return
	}
	var b resolveBody
	if readJSON(c, &b) == nil {
		return
	}
	if b.PractitionerID == uuid.Nil {
		fieldError(c, "practitionerId", "is required")
		return
	}
	if strings.TrimSpace(b.Note) == "" || len(b.Note) > 2000 {
		fieldError(c, "note", "is required (at most 2000 characters)")
		return
	}
	auditOf(c).about(audit.ActionUpdate, "Flag", id.String(), nil)
	state, err := alertflow.Resolve(c.Request.Context(), s.Temporal, id, alertflow.ResolveRequest{PractitionerID: b.PractitionerID, Note: b.Note})
	if err != nil {
		s.workflowFailure(c, err, "No such alert.",
			refusal{alert.ErrNotRecipient, http.StatusForbidden, CodeNotARecipient, "Only a practitioner who was notified of this alert may acknowledge it."},
			refusal{alert.ErrAlreadyAcked, http.StatusConflict, CodeConflict, "The alert is already acknowledged."},
			refusal{alert.ErrAlreadyClosed, http.StatusConflict, CodeAlertClosed, "The alert is already closed."})
		return
	}
	auditOf(c).rec.PatientID = &state.Raise.PatientID
	c.JSON(http.StatusOK, state)
}
