package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	encounterflow "github.com/zarish-sphere/zarish/workflows/encounter"
)

// EncounterStore is the encounters' read model.
type EncounterStore interface {
	ListEncounters(ctx context.Context, f postgres.EncounterFilter) (postgres.EncounterPage, error)
	GetEncounter(ctx context.Context, id uuid.UUID) (encounter.Record, error)
}

// encounterRefusals are the validator's refusals of a transition.
var encounterRefusals = []refusal{
	{encounter.ErrOpenOrders, http.StatusConflict, CodeOpenOrders, ""},
	{encounter.ErrInvalidTransition, http.StatusConflict, CodeInvalidTransition, ""},
	{encounter.ErrInvalidArgument, http.StatusBadRequest, CodeValidationFailed, ""},
}

// Encounter error codes.
const (
	CodeInvalidTransition = "INVALID_TRANSITION"
	CodeOpenOrders        = "OPEN_ORDERS"
)

// ForcedDischargeMarker opens the audit description of a discharge that
// overrode open orders, so such discharges can be found in the audit trail.
const ForcedDischargeMarker = "FORCED DISCHARGE"

// maxAuditDescription is the longest description an audit record holds.
const maxAuditDescription = 2000

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

// encounterSpace namespaces encounter ids derived from Idempotency-Keys.
var encounterSpace = uuid.MustParse("3c9e1f52-7a4d-4b8e-9f10-6d2c5e8a1b74")

func (s *server) startEncounter(c *gin.Context) {
	var b startEncounterBody
	if readJSON(c, &b) == nil {
		return
	}
	if b.TriageDeadlineMinutes < 0 || b.ExpectedLengthHours < 0 {
		fieldError(c, "triageDeadlineMinutes", "must not be negative")
		return
	}
	id, err := s.NewID()
	if err != nil {
		s.fail(c, err)
		return
	}
	if key := strings.TrimSpace(c.GetHeader("Idempotency-Key")); key != "" {
		p, _ := principal(c)
		id = uuid.NewSHA1(encounterSpace, []byte(p.ClientID+"\x00"+key))
	}
	in := encounterflow.Input{
		EncounterID: id, PatientID: b.PatientID, Class: b.Class, Reason: strings.TrimSpace(b.Reason),
		Location: strings.TrimSpace(b.Location), Priority: b.Priority,
		TriageDeadline: time.Duration(b.TriageDeadlineMinutes * float64(time.Minute)),
		ExpectedLength: time.Duration(b.ExpectedLengthHours * float64(time.Hour)),
	}
	auditOf(c).about(audit.ActionCreate, "Encounter", id.String(), &b.PatientID)
	run, err := encounterflow.Start(c.Request.Context(), s.Temporal, in)
	if err != nil {
		s.workflowFailure(c, err, "No such encounter.", encounterRefusals...)
		return
	}
	c.Header("Location", "/v1/clinical/encounters/"+id.String())
	c.JSON(http.StatusCreated, gin.H{"id": id, "workflowId": run.GetID(), "status": encounter.StatusPlanned})
}

// transitionFor maps each transition route to its update and request type.
func transitionFor(name string) (update string, req func() any) {
	switch name {
	case "arrive":
		return encounterflow.UpdateArrive, func() any { return &encounterflow.ArriveRequest{} }
	case "triage":
		return encounterflow.UpdateTriage, func() any { return &encounterflow.TriageRequest{} }
	case "start":
		return encounterflow.UpdateStart, func() any { return &encounterflow.StartRequest{} }
	case "transfer":
		return encounterflow.UpdateTransfer, func() any { return &encounterflow.TransferRequest{} }
	case "discharge":
		return encounterflow.UpdateDischarge, func() any { return &encounterflow.DischargeRequest{} }
	case "cancel":
		return encounterflow.UpdateCancel, func() any { return &encounterflow.CancelRequest{} }
	}
	return "", nil
}

// transitionEncounter serves POST /v1/clinical/encounters/{id}/{transition}:
// a Temporal Update whose validator refuses an invalid transition before
// anything reaches the workflow's history.
func (s *server) transitionEncounter(name string) gin.HandlerFunc {
	update, newReq := transitionFor(name)
	return func(c *gin.Context) {
		id, ok := uuidParam(c, "must be an encounter id (UUID)")
		if !ok {
			return
		}
		req := newReq()
		if readJSON(c, req) == nil {
			return
		}
		if actor(req) == uuid.Nil {
			fieldError(c, "by", "is required: the practitioner making the change")
			return
		}
		auditOf(c).about(audit.ActionUpdate, "Encounter", id.String(), nil)
		state, err := encounterflow.Transition(c.Request.Context(), s.Temporal, id, update, req)
		if err != nil {
			s.workflowFailure(c, err, "No such encounter.", encounterRefusals...)
			return
		}
		a := auditOf(c)
		a.rec.PatientID = &state.Details.PatientID
		if update == encounterflow.UpdateDischarge {
			a.rec.Description = forcedDischarge(state)
		}
		c.JSON(http.StatusOK, state)
	}
}

// forcedDischarge describes, for the audit trail, a discharge that overrode
// open orders: which orders were left open and the reason given. It is empty
// for an ordinary discharge.
func forcedDischarge(s encounter.State) string {
	open := s.OpenOrders()
	if len(open) == 0 {
		return ""
	}
	orders := make([]string, len(open))
	for i, o := range open {
		orders[i] = string(o.Kind) + " " + o.ID.String()
	}
	d := ForcedDischargeMarker + " with " + strconv.Itoa(len(open)) + " open order(s) [" + strings.Join(orders, ", ") + "]: " + s.DischargeReason
	for len(d) > maxAuditDescription {
		_, size := utf8.DecodeLastRuneInString(d)
		d = d[:len(d)-size]
	}
	return d
}

func (s *server) listEncounters(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "patientId", "status", "class", "location", "from", "to", "limit", "cursor")
	f := postgres.EncounterFilter{Status: encounter.Status(c.Query("status")), Class: encounter.Class(c.Query("class")),
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
	auditOf(c).about(audit.ActionSearch, "Encounter", "", patient)
	page, err := s.Encounters.ListEncounters(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, pageBody(page.Encounters, page.Next))
}

func (s *server) getEncounter(c *gin.Context) {
	id, ok := uuidParam(c, "must be an encounter id (UUID)")
	if !ok {
		return
	}
	a := auditOf(c)
	a.about(audit.ActionRead, "Encounter", id.String(), nil)
	rec, err := s.Encounters.GetEncounter(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	a.rec.PatientID = &rec.PatientID
	c.JSON(http.StatusOK, rec)
}

// actor is who a transition request names as making the change.
func actor(req any) uuid.UUID {
	switch r := req.(type) {
	case *encounterflow.ArriveRequest:
		return r.By
	case *encounterflow.TriageRequest:
		return r.By
	case *encounterflow.StartRequest:
		return r.By
	case *encounterflow.TransferRequest:
		return r.By
	case *encounterflow.DischargeRequest:
		return r.By
	case *encounterflow.CancelRequest:
		return r.By
	}
	return uuid.Nil
}
