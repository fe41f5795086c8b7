package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/outbox"
	encounterflow "github.com/zarish-sphere/zarish/workflows/encounter"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// EncounterStore is the encounters' read model.
type EncounterStore interface {
	// CreateEncounter stores a new encounter with its idempotency key, audit
	// record and workflow start row before its workflow starts; replay
	// reports a repeated key.
	CreateEncounter(ctx context.Context, idem *domain.Idempotency, rec *audit.Record, st encounter.State,
		starts ...outbox.WorkflowStart) (stored encounter.Record, replay bool, err error)
	// MarkStarted records that the API started the workflow itself.
	MarkStarted(ctx context.Context, workflowID string) error
	ListEncounters(ctx context.Context, f encounter.Filter) (encounter.Page, error)
	GetEncounter(ctx context.Context, id uuid.UUID) (encounter.Record, error)
}

// Encounter error codes.
const (
	CodeInvalidTransition = "INVALID_TRANSITION"
	CodeOpenOrders        = "OPEN_ORDERS"
)

// encounterRoutes serve /v1/clinical/encounters: the read model and the
// Temporal client that drives each encounter's workflow.
type encounterRoutes struct {
	*edge
	store    EncounterStore
	temporal client.Client
}

func (s *encounterRoutes) routes() []Route {
	const scopeR, scopeW, entity = "system/Encounter.read", "system/Encounter.write", "Encounter"
	transition := func(name string, newReq func() encounterflow.Request) Route {
		return Route{http.MethodPost, "/v1/clinical/encounters/:id/" + name, scopeW, entity, s.transition(newReq)}
	}
	return []Route{
		{http.MethodPost, "/v1/clinical/encounters", scopeW, entity, s.start},
		{http.MethodGet, "/v1/clinical/encounters", scopeR, entity, s.list},
		{http.MethodGet, "/v1/clinical/encounters/:id", scopeR, entity, s.get},
		transition("arrive", func() encounterflow.Request { return &encounterflow.ArriveRequest{} }),
		transition("triage", func() encounterflow.Request { return &encounterflow.TriageRequest{} }),
		transition("start", func() encounterflow.Request { return &encounterflow.StartRequest{} }),
		transition("transfer", func() encounterflow.Request { return &encounterflow.TransferRequest{} }),
		transition("discharge", func() encounterflow.Request { return &encounterflow.DischargeRequest{} }),
		transition("cancel", func() encounterflow.Request { return &encounterflow.CancelRequest{} }),
	}
}

// startEncounterBody is POST /v1/clinical/encounters.
type startEncounterBody struct {
	PatientID             uuid.UUID       `json:"patientId"`
	Class                 encounter.Class `json:"class"`
	Reason                string          `json:"reason,omitempty"`
	Location              string          `json:"location"`
	Priority              string          `json:"priority,omitempty"`
	TriageDeadlineMinutes float64         `json:"triageDeadlineMinutes,omitempty"`
	ExpectedLengthHours   float64         `json:"expectedLengthHours,omitempty"`
}

// start opens an encounter: its row, idempotency key, audit record and
// start row commit first, then the API starts its workflow at once (eager
// start, on this request's path) and marks the row; should that start fail,
// the workflow starter starts it from the row. A repeated Idempotency-Key
// with the same body answers the encounter the first request opened, as it
// is now.
func (s *encounterRoutes) start(c *gin.Context) {
	var b startEncounterBody
	body := readJSON(c, &b)
	if body == nil {
		return
	}
	if b.TriageDeadlineMinutes < 0 || b.ExpectedLengthHours < 0 {
		fieldError(c, "triageDeadlineMinutes", "must not be negative")
		return
	}
	idem, ok := idempotencyOf(c, body)
	if !ok {
		return
	}
	id, err := s.newID()
	if err != nil {
		s.fail(c, err)
		return
	}
	in := encounterflow.Input{
		EncounterID: id, PatientID: b.PatientID, Class: b.Class, Reason: strings.TrimSpace(b.Reason),
		Location: strings.TrimSpace(b.Location), Priority: b.Priority,
		TriageDeadline: time.Duration(b.TriageDeadlineMinutes * float64(time.Minute)),
		ExpectedLength: time.Duration(b.ExpectedLengthHours * float64(time.Hour)),
		// PostgreSQL keeps microseconds: the workflow's clock starts where
		// the row's does.
		CreatedAt: s.now().UTC().Truncate(time.Microsecond),
	}
	st, err := encounter.New(in.Details(), in.CreatedAt)
	if err != nil {
		s.fail(c, err)
		return
	}
	starts, err := encounterflow.Starts(in)
	if err != nil {
		s.fail(c, err)
		return
	}
	a := auditOf(c)
	a.about(audit.ActionCreate, "Encounter", id.String(), &b.PatientID)
	rec, replay, err := s.store.CreateEncounter(c.Request.Context(), idem, a.forWrite(c, audit.ActionCreate, http.StatusCreated), st, starts...)
	if err != nil {
		s.fail(c, err)
		return
	}
	a.stored()
	if !replay {
		s.startWorkflow(c.Request.Context(), in)
	}
	if replay {
		c.Header("Idempotent-Replayed", "true")
	}
	c.Header("Location", "/v1/clinical/encounters/"+rec.ID.String())
	c.JSON(http.StatusCreated, encounterflow.ViewOfRecord(rec))
}

// startWorkflow starts the new encounter's workflow right after its commit
// and marks its start row; a failure is left to the workflow starter, which
// starts it from the row after encounterflow.StartGrace.
func (s *encounterRoutes) startWorkflow(ctx context.Context, in encounterflow.Input) {
	if _, err := encounterflow.Start(ctx, s.temporal, in); err != nil {
		s.log.WarnContext(ctx, "encounter workflow not started now; the workflow starter will start it",
			"encounterId", in.EncounterID, "error", err)
		return
	}
	if err := s.store.MarkStarted(context.WithoutCancel(ctx), encounterflow.WorkflowID(in.EncounterID)); err != nil {
		s.log.WarnContext(ctx, "encounter workflow started, start row not marked; the starter will find it running",
			"encounterId", in.EncounterID, "error", err)
	}
}

// transition serves POST /v1/clinical/encounters/{id}/{transition}: a
// Temporal Update whose validator refuses an invalid transition before
// anything reaches the workflow's history. The request's audit record goes
// with the Update and commits with the read-model write.
func (s *encounterRoutes) transition(newReq func() encounterflow.Request) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := uuidParam(c, "must be an encounter id (UUID)")
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
		who, ok := actor(c, "by", namedID(req.Actor()))
		if !ok {
			return
		}
		req.SetActor(who)
		a := auditOf(c)
		a.about(audit.ActionUpdate, "Encounter", id.String(), nil)
		state, err := encounterflow.Transition(ctx, s.temporal, id,
			process.WithAudit(req, a.forWrite(c, audit.ActionUpdate, http.StatusOK)))
		if err != nil {
			s.workflowFailure(c, err, "No such encounter.", s.closedStatus(id))
			return
		}
		a.stored()
		c.JSON(http.StatusOK, encounterflow.ViewOf(state))
	}
}

// closedStatus reads the status of an encounter whose workflow has closed.
func (s *encounterRoutes) closedStatus(id uuid.UUID) closedStatus {
	return func(ctx context.Context) (string, bool) {
		rec, err := s.store.GetEncounter(ctx, id)
		if err != nil {
			return "", false
		}
		return string(rec.Status), true
	}
}

func (s *encounterRoutes) list(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "patientId", "status", "class", "location", "from", "to", "limit", "cursor")
	f := encounter.Filter{Status: encounter.Status(c.Query("status")), Class: encounter.Class(c.Query("class")),
		Location: c.Query("location"), Cursor: c.Query("cursor"), Limit: 50}
	if p := optionalUUID(c, "patientId", verr); p != nil {
		f.PatientID = *p
	}
	if c.Query("from") != "" || c.Query("to") != "" {
		f.From, f.To = s.timeRange(c, verr)
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
	a.about(audit.ActionSearch, "Encounter", "", patient)
	page, err := s.store.ListEncounters(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	for _, r := range page.Encounters {
		a.disclosed(r.PatientID)
	}
	c.JSON(http.StatusOK, pageBody(encounterflow.ViewsOfRecords(page.Encounters), page.Next))
}

func (s *encounterRoutes) get(c *gin.Context) {
	id, ok := uuidParam(c, "must be an encounter id (UUID)")
	if !ok {
		return
	}
	a := auditOf(c)
	a.about(audit.ActionRead, "Encounter", id.String(), nil)
	rec, err := s.store.GetEncounter(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	a.rec.PatientID = &rec.PatientID
	c.JSON(http.StatusOK, encounterflow.ViewOfRecord(rec))
}
