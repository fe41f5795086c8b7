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
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careplan"
	"github.com/zarish-sphere/zarish/domain/outbox"
	careplanflow "github.com/zarish-sphere/zarish/workflows/careplan"
)

// CodeRemindersNotScheduled: a change to the care plan was saved, but the
// workflow that reminds of its activities could not be told; repeating the
// request schedules them. A new plan's reminders never fail this way: they
// start from the database once the plan commits.
const CodeRemindersNotScheduled = "REMINDERS_NOT_SCHEDULED"

// CarePlanStore is what the care-plan routes need from storage.
type CarePlanStore interface {
	// Create stores p with starts, the workflows to start once it commits.
	Create(ctx context.Context, idem *domain.Idempotency, rec *audit.Record, p careplan.CarePlan,
		starts ...outbox.WorkflowStart) (created careplan.CarePlan, replay bool, err error)
	Get(ctx context.Context, id uuid.UUID) (careplan.CarePlan, error)
	List(ctx context.Context, f careplan.Filter) (careplan.Page, error)
	Update(ctx context.Context, id uuid.UUID, rec *audit.Record, change func(careplan.CarePlan) (careplan.CarePlan, error)) (careplan.CarePlan, error)
}

const entityCarePlan = "CarePlan"

// carePlanRoutes serve /v1/clinical/care-plans: the plans' store and the
// Temporal client that tells each plan's workflow of a change.
type carePlanRoutes struct {
	*edge
	store    CarePlanStore
	temporal client.Client
}

func (s *carePlanRoutes) routes() []Route {
	const scopeR, scopeW = "system/CarePlan.read", "system/CarePlan.write"
	return []Route{
		{http.MethodPost, "/v1/clinical/care-plans", scopeW, entityCarePlan, s.createCarePlan},
		{http.MethodGet, "/v1/clinical/care-plans", scopeR, entityCarePlan, s.listCarePlans},
		{http.MethodGet, "/v1/clinical/care-plans/:id", scopeR, entityCarePlan, s.getCarePlan},
		{http.MethodPut, "/v1/clinical/care-plans/:id", scopeW, entityCarePlan, s.updateCarePlan},
		{http.MethodPost, "/v1/clinical/care-plans/:id/activities/:activityId/status", scopeW, entityCarePlan, s.setActivityStatus},
	}
}

// carePlanBody is what PUT /v1/clinical/care-plans/{id} replaces. Ids and
// times are read as text so that every malformed one is reported by name.
type carePlanBody struct {
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Unit        string         `json:"unit"`
	Status      string         `json:"status"`
	Period      periodBody     `json:"period"`
	Goals       []goalBody     `json:"goals"`
	Activities  []activityBody `json:"activities"`
}

// createCarePlanBody is POST /v1/clinical/care-plans.
type createCarePlanBody struct {
	PatientID   string `json:"patientId"`
	EncounterID string `json:"encounterId"`
	carePlanBody
}

type periodBody struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

type goalBody struct {
	ID          string `json:"id"`
	Description string `json:"description"`
	Target      string `json:"target"`
	DueDate     string `json:"dueDate"`
	Status      string `json:"status"`
	Achievement string `json:"achievement"`
}

type activityBody struct {
	ID          string       `json:"id"`
	Title       string       `json:"title"`
	Description string       `json:"description"`
	OwnerID     string       `json:"ownerId"`
	Status      string       `json:"status"`
	Schedule    scheduleBody `json:"schedule"`
}

type scheduleBody struct {
	DueAt  string `json:"dueAt"`
	Repeat string `json:"repeat"`
	Until  string `json:"until"`
}

// activityStatusBody is POST …/activities/{activityId}/status.
type activityStatusBody struct {
	Status string `json:"status"`
	By     string `json:"by"`
	Note   string `json:"note"`
}

// content parses the body's ids and times, recording malformed ones in verr;
// the domain checks the rest.
func (b carePlanBody) content(verr *domain.ValidationError) careplan.Content {
	c := careplan.Content{Title: b.Title, Description: b.Description, Unit: b.Unit, Status: careplan.Status(b.Status)}
	c.Period.Start = bodyTime(verr, "period.start", b.Period.Start)
	c.Period.End = optionalTime(verr, "period.end", b.Period.End)
	for i, g := range b.Goals {
		field := "goals[" + strconv.Itoa(i) + "]."
		c.Goals = append(c.Goals, careplan.Goal{ID: bodyUUID(verr, field+"id", g.ID), Description: g.Description,
			Target: g.Target, DueDate: g.DueDate, Status: careplan.GoalStatus(g.Status), Achievement: g.Achievement})
	}
	for i, a := range b.Activities {
		field := "activities[" + strconv.Itoa(i) + "]."
		c.Activities = append(c.Activities, careplan.ActivityInput{
			ID: bodyUUID(verr, field+"id", a.ID), Title: a.Title, Description: a.Description,
			OwnerID: bodyUUID(verr, field+"ownerId", a.OwnerID), Status: careplan.ActivityStatus(a.Status),
			Schedule: careplan.Schedule{DueAt: bodyTime(verr, field+"schedule.dueAt", a.Schedule.DueAt),
				Repeat: a.Schedule.Repeat, Until: optionalTime(verr, field+"schedule.until", a.Schedule.Until)},
		})
	}
	return c
}

// bodyTime parses an RFC 3339 time; empty is the zero time, left for the
// domain to report as missing.
func bodyTime(verr *domain.ValidationError, field, s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		verr.Add(field, "must be an RFC 3339 time such as 2026-11-25T09:00:00Z")
		return time.Time{}
	}
	return t
}

func optionalTime(verr *domain.ValidationError, field, s string) *time.Time {
	if s == "" {
		return nil
	}
	t := bodyTime(verr, field, s)
	if t.IsZero() {
		return nil
	}
	return &t
}

// withParseErrors reports the body's malformed fields together with the
// domain's validation errors; they come before any other refusal.
func withParseErrors(verr *domain.ValidationError, err error) error {
	if len(verr.Fields) == 0 {
		return err
	}
	var derr *domain.ValidationError
	if errors.As(err, &derr) {
		return mergeValidation(verr, err)
	}
	return verr
}

func (s *carePlanRoutes) createCarePlan(c *gin.Context) {
	var b createCarePlanBody
	body := readJSON(c, &b)
	if body == nil {
		return
	}
	idem, ok := idempotencyOf(c, body)
	if !ok {
		return
	}
	verr := &domain.ValidationError{}
	patientID := bodyUUID(verr, "patientId", b.PatientID)
	var encounterID *uuid.UUID
	if b.EncounterID != "" {
		if id := bodyUUID(verr, "encounterId", b.EncounterID); id != uuid.Nil {
			encounterID = &id
		}
	}
	content := b.content(verr)
	id, err := s.newID()
	if err != nil {
		s.fail(c, err)
		return
	}
	p, err := careplan.New(id, patientID, encounterID, content, s.newID, s.now())
	if err := mergeValidation(verr, err); err != nil {
		s.fail(c, err)
		return
	}
	// The reminders start from the database once the plan commits, so the
	// create never waits for, or fails with, Temporal.
	starts, err := careplanflow.Starts(p)
	if err != nil {
		s.fail(c, err)
		return
	}
	if author, ok := actingPractitioner(c); ok {
		for i := range starts {
			starts[i].SearchAttributes[careplanflow.SearchOwnerID.GetName()] = author.String()
		}
	}
	a := auditOf(c)
	a.about(audit.ActionCreate, entityCarePlan, p.ID.String(), &p.PatientID)
	created, replay, err := s.store.Create(c.Request.Context(), idem, a.forWrite(c, audit.ActionCreate, http.StatusCreated), p, starts...)
	if err != nil {
		s.carePlanFailure(c, err)
		return
	}
	// A replay answers the plan the key created, whose reminders the first
	// request's start row starts.
	a.stored()
	if replay {
		c.Header("Idempotent-Replayed", "true")
	}
	c.Header("Location", "/v1/clinical/care-plans/"+created.ID.String())
	writeCarePlan(c, http.StatusCreated, created)
}

func (s *carePlanRoutes) listCarePlans(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "patientId", "status", "overdue", "limit", "cursor")
	f := careplan.Filter{Cursor: c.Query("cursor"), Now: s.now()}
	if p := optionalUUID(c, "patientId", verr); p != nil {
		f.PatientID = *p
	}
	if status := careplan.Status(c.Query("status")); status != "" {
		if !status.Valid() {
			verr.Add("status", "must be draft, active, on-hold, revoked or completed")
		}
		f.Status = status
	}
	switch c.Query("overdue") {
	case "", "false":
	case "true":
		f.Overdue = true
	default:
		verr.Add("overdue", "must be true or false")
	}
	f.Limit = limitParam(c, verr, 50, 200)
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	a := auditOf(c)
	var patient *uuid.UUID
	if f.PatientID != uuid.Nil {
		patient = &f.PatientID
	}
	a.about(audit.ActionSearch, entityCarePlan, "", patient)
	page, err := s.store.List(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	// A list discloses every patient whose plans it returns.
	for _, p := range page.CarePlans {
		a.disclosed(p.PatientID)
	}
	c.JSON(http.StatusOK, pageBody(page.CarePlans, page.Next))
}

func (s *carePlanRoutes) getCarePlan(c *gin.Context) {
	id, ok := uuidParam(c, "is not a care plan id (UUID)")
	if !ok {
		return
	}
	a := auditOf(c)
	a.about(audit.ActionRead, entityCarePlan, id.String(), nil)
	p, err := s.store.Get(c.Request.Context(), id)
	if err != nil {
		s.carePlanFailure(c, err)
		return
	}
	a.rec.PatientID = &p.PatientID
	if notModified(c, p.Version) {
		return
	}
	writeCarePlan(c, http.StatusOK, p)
}

// updateCarePlan replaces the plan's content; If-Match is required. Existing
// activities (named by id) keep their history; new ones get ids.
func (s *carePlanRoutes) updateCarePlan(c *gin.Context) {
	id, ok := uuidParam(c, "is not a care plan id (UUID)")
	if !ok {
		return
	}
	version, ok := requireIfMatch(c)
	if !ok {
		return
	}
	var b carePlanBody
	if readJSON(c, &b) == nil {
		return
	}
	verr := &domain.ValidationError{}
	content := b.content(verr)
	now := s.now()
	a := auditOf(c)
	a.about(audit.ActionUpdate, entityCarePlan, id.String(), nil)
	p, err := s.store.Update(c.Request.Context(), id, a.forWrite(c, audit.ActionUpdate, http.StatusOK), func(cur careplan.CarePlan) (careplan.CarePlan, error) {
		if err := checkVersion(cur.Version, version); err != nil {
			return cur, err
		}
		next, err := cur.Revise(content, s.newID, now)
		return next, withParseErrors(verr, err)
	})
	if err != nil {
		s.carePlanFailure(c, err)
		return
	}
	a.stored()
	s.scheduleReminders(c, p, http.StatusOK)
}

// setActivityStatus records an activity's status change; If-Match is
// honoured when sent.
func (s *carePlanRoutes) setActivityStatus(c *gin.Context) {
	id, ok := uuidParam(c, "is not a care plan id (UUID)")
	if !ok {
		return
	}
	activityID, err := uuid.Parse(c.Param("activityId"))
	if err != nil {
		fieldError(c, "activityId", "is not an activity id (UUID)")
		return
	}
	version, ok := optionalIfMatch(c)
	if !ok {
		return
	}
	var b activityStatusBody
	if readJSON(c, &b) == nil {
		return
	}
	by, ok := actor(c, "by", b.By)
	if !ok {
		return
	}
	now := s.now()
	a := auditOf(c)
	a.about(audit.ActionUpdate, entityCarePlan, id.String(), nil)
	p, err := s.store.Update(c.Request.Context(), id, a.forWrite(c, audit.ActionUpdate, http.StatusOK), func(cur careplan.CarePlan) (careplan.CarePlan, error) {
		if err := checkVersion(cur.Version, version); err != nil {
			return cur, err
		}
		return cur.SetActivityStatus(activityID, careplan.ActivityStatus(b.Status), by, b.Note, now)
	})
	if err != nil {
		s.carePlanFailure(c, err)
		return
	}
	a.stored()
	s.scheduleReminders(c, p, http.StatusOK)
}

// scheduleReminders tells the plan's workflow about the change just
// committed, then answers with the plan. If the workflow cannot be told, the
// answer says so: the plan is saved, and repeating the request (the
// unchanged plan with its ETag) schedules them.
func (s *carePlanRoutes) scheduleReminders(c *gin.Context, p careplan.CarePlan, status int) {
	if err := careplanflow.Schedule(c.Request.Context(), s.temporal, p); err != nil {
		s.log.ErrorContext(c.Request.Context(), "care plan reminders not scheduled",
			"requestId", requestID(c), "carePlanId", p.ID, "error", err)
		c.Header("ETag", etag(p.Version))
		c.Header("Retry-After", "5")
		abort(c, http.StatusServiceUnavailable, CodeRemindersNotScheduled,
			"The care plan was saved (version "+strconv.Itoa(p.Version)+"), but its reminders could not be scheduled. "+
				"PUT the plan unchanged with its current ETag to schedule them.")
		return
	}
	writeCarePlan(c, status, p)
}

// carePlanFailure maps the care plan rules' refusals to statuses and codes,
// and everything else through fail.
func (s *carePlanRoutes) carePlanFailure(c *gin.Context, err error) {
	switch {
	case errors.Is(err, careplan.ErrInvalidTransition):
		reason := strings.TrimPrefix(err.Error(), careplan.ErrInvalidTransition.Error()+": ")
		abort(c, http.StatusConflict, CodeInvalidTransition, "The "+reason+".")
	case errors.Is(err, careplan.ErrActivityNotFound):
		abort(c, http.StatusNotFound, CodeNotFound, "No such activity in this care plan.")
	case errors.Is(err, domain.ErrNotFound):
		abort(c, http.StatusNotFound, CodeNotFound, "No such care plan.")
	default:
		s.fail(c, err)
	}
}

func writeCarePlan(c *gin.Context, status int, p careplan.CarePlan) {
	c.Header("ETag", etag(p.Version))
	c.JSON(status, p)
}
