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
	"go.temporal.io/sdk/temporal"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/outbox"
	"github.com/zarish-sphere/zarish/domain/procedure"
	procedureflow "github.com/zarish-sphere/zarish/workflows/procedure"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// ProcedureStore is the procedures' read model and resource directory, and
// the busy times the availability search reads.
type ProcedureStore interface {
	CreateResource(ctx context.Context, rec *audit.Record, r procedure.Resource) error
	UpdateResource(ctx context.Context, rec *audit.Record, r procedure.Resource, expectedVersion int) (procedure.Resource, error)
	GetResource(ctx context.Context, id uuid.UUID) (procedure.Resource, error)
	ListResources(ctx context.Context, kind procedure.ResourceKind, activeOnly bool) ([]procedure.Resource, error)
	// Create stores a new request (requested) with its idempotency key,
	// audit record and workflow start row before its workflow starts.
	Create(ctx context.Context, idem *domain.Idempotency, rec *audit.Record, p procedure.Procedure,
		starts ...outbox.WorkflowStart) (stored procedure.Procedure, replay bool, err error)
	MarkStarted(ctx context.Context, workflowID string) error
	Get(ctx context.Context, id uuid.UUID) (procedure.Procedure, error)
	List(ctx context.Context, f procedure.Filter) (procedure.Page, error)
	Summaries(ctx context.Context, from, to time.Time) ([]procedure.Summary, error)
	Busy(ctx context.Context, resourceIDs []uuid.UUID, patientID uuid.UUID, span procedure.Period, now time.Time) (map[uuid.UUID][]procedure.Busy, error)
}

// Procedure error codes.
const (
	// CodeNoSlot: no slot in the window asked for; the details name why
	// and the nearest alternatives, and the booking (if any) stands.
	CodeNoSlot = "NO_SLOT"
	// CodeHoldLapsed: the hold lapsed before it was booked.
	CodeHoldLapsed = "HOLD_LAPSED"
	// CodeChecklistIncomplete: items of the safety checklist are not done.
	CodeChecklistIncomplete = "CHECKLIST_INCOMPLETE"
)

// Audit entity types of the procedure routes.
const (
	entityProcedure = "Procedure"
	entitySchedule  = "Schedule"
)

const (
	proceduresPath = "/v1/procedures"
	resourcesPath  = "/v1/procedures/resources"
)

// procedureRoutes serve /v1/procedures: the resource directory, the
// requests and their steps, availability, metrics and the read model.
type procedureRoutes struct {
	*edge
	store      ProcedureStore
	patients   patientLookup
	encounters cdsEncounters
	temporal   client.Client
}

func (s *procedureRoutes) routes() []Route {
	const (
		procR, procW   = "system/Procedure.read", "system/Procedure.write"
		schedR, schedW = "system/Schedule.read", "system/Schedule.write"
		one            = proceduresPath + "/:id"
	)
	step := func(path string, newBody func() procedureStepBody) Route {
		return Route{http.MethodPost, path, procW, entityProcedure, s.step(newBody)}
	}
	return []Route{
		{http.MethodPost, resourcesPath, schedW, entitySchedule, s.createResource},
		{http.MethodGet, resourcesPath, schedR, entitySchedule, s.listResources},
		{http.MethodGet, resourcesPath + "/:id", schedR, entitySchedule, s.getResource},
		{http.MethodPut, resourcesPath + "/:id", schedW, entitySchedule, s.updateResource},
		{http.MethodGet, proceduresPath + "/availability", schedR, entitySchedule, s.availability},
		{http.MethodGet, proceduresPath + "/metrics", procR, entityMeasureReport, s.metrics},
		{http.MethodPost, proceduresPath + "/requests", procW, entityProcedure, s.create},
		{http.MethodGet, proceduresPath, procR, entityProcedure, s.list},
		{http.MethodGet, one, procR, entityProcedure, s.get},
		step(one+"/book", func() procedureStepBody { return &bookBody{} }),
		step(one+"/reschedule", func() procedureStepBody { return &rescheduleBody{} }),
		step(one+"/checklist/:code", func() procedureStepBody { return &checkBody{} }),
		step(one+"/check-in", func() procedureStepBody { return &checkInBody{} }),
		step(one+"/start", func() procedureStepBody { return &startProcedureBody{} }),
		step(one+"/complete", func() procedureStepBody { return &completeBody{} }),
		step(one+"/cancel", func() procedureStepBody { return &cancelProcedureBody{} }),
	}
}

const procedureIDMessage = "must be a procedure id (UUID)"

// resourceBody is a resource as POST and PUT take it; durations in minutes.
type resourceBody struct {
	Kind            procedure.ResourceKind `json:"kind"`
	Name            string                 `json:"name"`
	Capabilities    []string               `json:"capabilities"`
	PractitionerID  *uuid.UUID             `json:"practitionerId"`
	Skills          []string               `json:"skills"`
	EquipmentKind   string                 `json:"equipmentKind"`
	TimeZone        string                 `json:"timeZone"`
	Hours           []procedure.Hours      `json:"hours"`
	Blocked         []procedure.Blocked    `json:"blocked"`
	TurnoverMinutes int                    `json:"turnoverMinutes"`
	Active          *bool                  `json:"active"`
}

func (b resourceBody) resource(id uuid.UUID) procedure.Resource {
	active := b.Active == nil || *b.Active
	return procedure.Resource{ID: id, Kind: b.Kind, Name: b.Name, Capabilities: b.Capabilities, PractitionerID: b.PractitionerID,
		Skills: b.Skills, EquipmentKind: b.EquipmentKind, TimeZone: b.TimeZone, Hours: b.Hours, Blocked: b.Blocked,
		Turnover: time.Duration(b.TurnoverMinutes) * time.Minute, Active: active}
}

// resourceFields are the API's names of the fields the domain names otherwise.
var resourceFields = map[string]string{"turnover": "turnoverMinutes"}

// validResource is the body's resource as the domain validates it, its
// fields in the API's names, and active unless the body says otherwise:
// NewResource returns every resource active.
func (b resourceBody) validResource(id uuid.UUID) (procedure.Resource, error) {
	r, err := procedure.NewResource(b.resource(id))
	if err != nil {
		return r, renameFields(err, resourceFields)
	}
	r.Active = b.Active == nil || *b.Active
	return r, nil
}

func (s *procedureRoutes) createResource(c *gin.Context) {
	var b resourceBody
	if readJSON(c, &b) == nil {
		return
	}
	id, err := s.newID()
	if err != nil {
		s.fail(c, err)
		return
	}
	r, err := b.validResource(id)
	if err != nil {
		s.fail(c, err)
		return
	}
	a := auditOf(c)
	a.about(audit.ActionCreate, entitySchedule, id.String(), nil)
	if err := s.store.CreateResource(c.Request.Context(), a.forWrite(c, audit.ActionCreate, http.StatusCreated), r); err != nil {
		s.fail(c, err)
		return
	}
	a.stored()
	stored, err := s.store.GetResource(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Location", resourcesPath+"/"+id.String())
	c.Header("ETag", etag(stored.Version))
	c.JSON(http.StatusCreated, resourceView(stored))
}

// ResourceView is a resource as the API shows it; durations in minutes.
type ResourceView struct {
	ID              uuid.UUID              `json:"id"`
	Kind            procedure.ResourceKind `json:"kind"`
	Name            string                 `json:"name"`
	Capabilities    []string               `json:"capabilities,omitempty"`
	PractitionerID  *uuid.UUID             `json:"practitionerId,omitempty"`
	Skills          []string               `json:"skills,omitempty"`
	EquipmentKind   string                 `json:"equipmentKind,omitempty"`
	TimeZone        string                 `json:"timeZone,omitempty"`
	Hours           []procedure.Hours      `json:"hours"`
	Blocked         []procedure.Blocked    `json:"blocked,omitempty"`
	TurnoverMinutes int                    `json:"turnoverMinutes"`
	Active          bool                   `json:"active"`
	Version         int                    `json:"version"`
}

func resourceView(r procedure.Resource) ResourceView {
	return ResourceView{ID: r.ID, Kind: r.Kind, Name: r.Name, Capabilities: r.Capabilities, PractitionerID: r.PractitionerID,
		Skills: r.Skills, EquipmentKind: r.EquipmentKind, TimeZone: r.TimeZone, Hours: r.Hours, Blocked: r.Blocked,
		TurnoverMinutes: int(r.Turnover / time.Minute), Active: r.Active, Version: r.Version}
}

func (s *procedureRoutes) getResource(c *gin.Context) {
	id, ok := uuidParam(c, "must be a resource id (UUID)")
	if !ok {
		return
	}
	auditOf(c).about(audit.ActionRead, entitySchedule, id.String(), nil)
	r, err := s.store.GetResource(c.Request.Context(), id)
	if errors.Is(err, domain.ErrNotFound) {
		abort(c, http.StatusNotFound, CodeNotFound, "No such resource.")
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	if notModified(c, r.Version) {
		return
	}
	c.Header("ETag", etag(r.Version))
	c.JSON(http.StatusOK, resourceView(r))
}

func (s *procedureRoutes) updateResource(c *gin.Context) {
	id, ok := uuidParam(c, "must be a resource id (UUID)")
	if !ok {
		return
	}
	want, ok := requireIfMatch(c)
	if !ok {
		return
	}
	var b resourceBody
	if readJSON(c, &b) == nil {
		return
	}
	r, err := b.validResource(id)
	if err != nil {
		s.fail(c, err)
		return
	}
	a := auditOf(c)
	a.about(audit.ActionUpdate, entitySchedule, id.String(), nil)
	ctx := c.Request.Context()
	current, err := s.store.GetResource(ctx, id)
	if err == nil {
		err = checkVersion(current.Version, want)
	}
	if err == nil && current.Kind != r.Kind {
		fieldError(c, "kind", "a "+string(current.Kind)+" stays a "+string(current.Kind)+"; add the new resource instead")
		return
	}
	var stored procedure.Resource
	if err == nil {
		stored, err = s.store.UpdateResource(ctx, a.forWrite(c, audit.ActionUpdate, http.StatusOK), r, current.Version)
	}
	switch {
	case errors.Is(err, domain.ErrNotFound):
		abort(c, http.StatusNotFound, CodeNotFound, "No such resource.")
		return
	case errors.Is(err, domain.ErrVersionMismatch):
		abort(c, http.StatusPreconditionFailed, CodePreconditionFailed, "The resource changed since that version; read it again.")
		return
	case err != nil:
		s.fail(c, err)
		return
	}
	a.stored()
	c.Header("ETag", etag(stored.Version))
	c.JSON(http.StatusOK, resourceView(stored))
}

func (s *procedureRoutes) listResources(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "kind", "active")
	kind := procedure.ResourceKind(c.Query("kind"))
	if kind != "" && !kind.Valid() {
		verr.Add("kind", "must be room, staff or equipment")
	}
	activeOnly := false
	if v := c.Query("active"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			verr.Add("active", "must be true or false")
		}
		activeOnly = b
	}
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionSearch, entitySchedule, "", nil)
	rs, err := s.store.ListResources(c.Request.Context(), kind, activeOnly)
	if err != nil {
		s.fail(c, err)
		return
	}
	views := make([]ResourceView, len(rs))
	for i, r := range rs {
		views[i] = resourceView(r)
	}
	c.JSON(http.StatusOK, pageBody(views, ""))
}

// procedureRequestBody is POST /v1/procedures/requests. The requester is the
// person acting, never a field.
type procedureRequestBody struct {
	PatientID               string                  `json:"patientId"`
	EncounterID             string                  `json:"encounterId"`
	Procedure               procedure.Coding        `json:"procedure"`
	DurationMinutes         int                     `json:"durationMinutes"`
	Requirements            []procedure.Requirement `json:"requirements"`
	Window                  procedure.Period        `json:"window"`
	Priority                procedure.Priority      `json:"priority"`
	PreferredPractitionerID *uuid.UUID              `json:"preferredPractitionerId"`
	Notes                   string                  `json:"notes"`
	// RemindersMinutes are the reminders before the start; empty is 24 h
	// and 2 h.
	RemindersMinutes []int `json:"remindersMinutes"`
}

// requestFields are the API's names of the fields the domain names
// otherwise: the duration, and the reminders (by index, up to the most a
// request holds).
var requestFields = func() map[string]string {
	names := map[string]string{"duration": "durationMinutes", "reminders": "remindersMinutes"}
	for i := range procedure.MaxReminders {
		names["reminders["+strconv.Itoa(i)+"]"] = "remindersMinutes[" + strconv.Itoa(i) + "]"
	}
	return names
}()

// create places a request: validated, stored requested with its key, audit
// record and workflow start row, the workflow started, and answered once
// its first search has run — 201 held with the slot, or unscheduled with
// why and the nearest alternatives.
func (s *procedureRoutes) create(c *gin.Context) {
	var b procedureRequestBody
	body := readJSON(c, &b)
	if body == nil {
		return
	}
	idem, ok := idempotencyOf(c, body)
	if !ok {
		return
	}
	requester, ok := actor(c, "", "")
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
	var reminders []time.Duration
	for i, m := range b.RemindersMinutes {
		if m < 1 || m > 14*24*60 {
			verr.Add("remindersMinutes["+strconv.Itoa(i)+"]", "must be between 1 minute and 14 days")
		}
		reminders = append(reminders, time.Duration(m)*time.Minute)
	}
	if len(b.RemindersMinutes) > 5 {
		verr.Add("remindersMinutes", "at most 5 reminders")
	}
	id, err := s.newID()
	if err != nil {
		s.fail(c, err)
		return
	}
	p, err := procedure.NewProcedure(procedure.Request{ID: id, PatientID: patientID, EncounterID: encounterID,
		Procedure: b.Procedure, Duration: time.Duration(b.DurationMinutes) * time.Minute, Requirements: b.Requirements,
		Window: b.Window, Priority: b.Priority, PreferredPractitionerID: b.PreferredPractitionerID, RequesterID: requester,
		Notes: b.Notes, CreatedAt: s.now().UTC().Truncate(time.Microsecond)}, reminders)
	if err = mergeValidation(verr, renameFields(err, requestFields)); err != nil {
		s.fail(c, err)
		return
	}
	if !s.patientKnown(c, s.patients, patientID) {
		return
	}
	unit, ok := s.encounterUnit(c, s.encounters, patientID, encounterID)
	if !ok {
		return
	}
	in := procedureflow.Input{Procedure: p, Unit: unit, AutoBook: p.Request.Priority == procedure.PriorityEmergency}
	starts, err := procedureflow.Starts(in)
	if err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	a := auditOf(c)
	a.about(audit.ActionCreate, entityProcedure, id.String(), &patientID)
	stored, replay, err := s.store.Create(ctx, idem, a.forWrite(c, audit.ActionCreate, http.StatusCreated), p, starts...)
	if err != nil {
		s.fail(c, err)
		return
	}
	a.stored()
	if replay {
		c.Header("Idempotent-Replayed", "true")
		c.Header("Location", proceduresPath+"/"+stored.Request.ID.String())
		c.JSON(http.StatusCreated, procedureView(stored))
		return
	}
	s.startWorkflow(ctx, in)
	state, err := procedureflow.AwaitScheduled(ctx, s.temporal, id)
	if err != nil {
		// The request is stored and its workflow will search; the answer
		// shows it as it stands.
		s.log.WarnContext(ctx, "procedure search not awaited", "procedureId", id, "error", err)
		state = stored
	}
	c.Header("Location", proceduresPath+"/"+id.String())
	c.JSON(http.StatusCreated, procedureView(state))
}

// startWorkflow starts the new request's workflow right after its commit
// and marks its start row; a failure is left to the workflow starter.
func (s *procedureRoutes) startWorkflow(ctx context.Context, in procedureflow.Input) {
	id := in.Procedure.Request.ID
	if _, err := procedureflow.Start(ctx, s.temporal, in); err != nil {
		s.log.WarnContext(ctx, "procedure workflow not started now; the workflow starter will start it", "procedureId", id, "error", err)
		return
	}
	if err := s.store.MarkStarted(context.WithoutCancel(ctx), procedureflow.WorkflowID(id)); err != nil {
		s.log.WarnContext(ctx, "procedure workflow started, start row not marked", "procedureId", id, "error", err)
	}
}

// ProcedureView is a procedure as the API shows it, its durations in
// minutes: the request's own view and the reminders shadow the state's.
type ProcedureView struct {
	procedureflow.View
	Request          requestView `json:"request"`
	Reminders        *struct{}   `json:"reminders,omitempty"` // always nil: remindersMinutes says it
	RemindersMinutes []int       `json:"remindersMinutes"`
}

// requestView is a request as the API shows it.
type requestView struct {
	procedure.Request
	Duration        *struct{} `json:"duration,omitempty"` // always nil: durationMinutes says it
	DurationMinutes int       `json:"durationMinutes"`
}

func procedureView(p procedure.Procedure) ProcedureView {
	v := ProcedureView{View: procedureflow.View{Procedure: p, WorkflowID: procedureflow.WorkflowID(p.Request.ID)},
		Request: requestView{Request: p.Request, DurationMinutes: int(p.Request.Duration / time.Minute)}, RemindersMinutes: []int{}}
	for _, d := range p.Reminders {
		v.RemindersMinutes = append(v.RemindersMinutes, int(d/time.Minute))
	}
	return v
}

// procedureStepBody is a step's body: who it names as acting, and the
// workflow request it asks for.
type procedureStepBody interface {
	named() uuid.UUID
	request(c *gin.Context) (procedureflow.Request, error)
}

type bookBody struct{ byField }

func (b *bookBody) request(*gin.Context) (procedureflow.Request, error) {
	return &procedureflow.BookRequest{}, nil
}

type rescheduleBody struct {
	byField
	Window procedure.Period `json:"window"`
	Reason string           `json:"reason"`
}

func (b *rescheduleBody) request(*gin.Context) (procedureflow.Request, error) {
	verr := &domain.ValidationError{}
	if b.Window.From.IsZero() {
		verr.Add("window.from", "required")
	}
	if b.Window.To.IsZero() {
		verr.Add("window.to", "required")
	}
	if strings.TrimSpace(b.Reason) == "" {
		verr.Add("reason", "required")
	}
	if err := verr.OrNil(); err != nil {
		return nil, err
	}
	return &procedureflow.RescheduleRequest{Window: b.Window, Reason: b.Reason}, nil
}

type checkBody struct {
	byField
	Note string `json:"note"`
}

func (b *checkBody) request(c *gin.Context) (procedureflow.Request, error) {
	return &procedureflow.CheckRequest{Code: c.Param("code"), Note: b.Note}, nil
}

type checkInBody struct{ byField }

func (b *checkInBody) request(*gin.Context) (procedureflow.Request, error) {
	return &procedureflow.CheckInRequest{}, nil
}

type startProcedureBody struct{ byField }

func (b *startProcedureBody) request(*gin.Context) (procedureflow.Request, error) {
	return &procedureflow.StartRequest{}, nil
}

type completeBody struct {
	byField
	Outcome       procedure.Outcome  `json:"outcome"`
	Complications []procedure.Coding `json:"complications"`
	StartedAt     time.Time          `json:"startedAt"`
	EndedAt       time.Time          `json:"endedAt"`
	Notes         string             `json:"notes"`
	Team          []uuid.UUID        `json:"team"`
}

func (b *completeBody) request(*gin.Context) (procedureflow.Request, error) {
	return &procedureflow.CompleteRequest{Completion: procedure.Completion{Outcome: b.Outcome, Complications: b.Complications,
		StartedAt: b.StartedAt, EndedAt: b.EndedAt, Notes: b.Notes, Team: b.Team}}, nil
}

type cancelProcedureBody struct {
	byField
	Reason string `json:"reason"`
}

func (b *cancelProcedureBody) request(*gin.Context) (procedureflow.Request, error) {
	if err := requiredText("reason", b.Reason); err != nil {
		return nil, err
	}
	return &procedureflow.CancelRequest{Reason: b.Reason}, nil
}

// step serves a procedure's step: the body read, the person acting from
// the token, the Update sent with the request's audit record.
func (s *procedureRoutes) step(newBody func() procedureStepBody) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := uuidParam(c, procedureIDMessage)
		if !ok {
			return
		}
		body := newBody()
		raw := readJSON(c, body)
		if raw == nil {
			return
		}
		ctx, ok := s.stepContext(c, raw, id)
		if !ok {
			return
		}
		who, ok := actor(c, "by", namedID(body.named()))
		if !ok {
			return
		}
		req, err := body.request(c)
		if err != nil {
			s.fail(c, err)
			return
		}
		req.SetActor(who)
		a := auditOf(c)
		a.about(audit.ActionUpdate, entityProcedure, id.String(), nil)
		state, err := procedureflow.Step(ctx, s.temporal, id,
			process.WithAudit(req, a.forWrite(c, audit.ActionUpdate, http.StatusOK)))
		if err != nil {
			s.stepFailure(c, err, id)
			return
		}
		a.stored()
		a.rec.PatientID = &state.Request.PatientID
		c.JSON(http.StatusOK, procedureView(state))
	}
}

// stepFailure answers a step the workflow refused: no slot is 409 NO_SLOT
// with why and the alternatives; the rest by the refusals table.
func (s *procedureRoutes) stepFailure(c *gin.Context, err error, id uuid.UUID) {
	var (
		none procedureflow.NoSlot
		app  *temporal.ApplicationError
	)
	if errors.As(err, &app) && app.Type() == procedureflow.RefusedNoSlot && app.HasDetails() && app.Details(&none) == nil {
		c.AbortWithStatusJSON(http.StatusConflict, gin.H{"error": CodeNoSlot, "message": none.Reason,
			"requestId": requestID(c), "search": none})
		return
	}
	s.workflowFailure(c, err, "No such procedure.", func(ctx context.Context) (string, bool) {
		p, err := s.store.Get(ctx, id)
		if err != nil {
			return "", false
		}
		return string(p.Status), true
	})
}

func (s *procedureRoutes) load(c *gin.Context, id uuid.UUID) (procedure.Procedure, bool) {
	p, err := s.store.Get(c.Request.Context(), id)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		abort(c, http.StatusNotFound, CodeNotFound, "No such procedure.")
		return p, false
	case err != nil:
		s.fail(c, err)
		return p, false
	}
	return p, true
}

func (s *procedureRoutes) get(c *gin.Context) {
	id, ok := uuidParam(c, procedureIDMessage)
	if !ok {
		return
	}
	a := auditOf(c)
	a.about(audit.ActionRead, entityProcedure, id.String(), nil)
	p, ok := s.load(c, id)
	if !ok {
		return
	}
	a.rec.PatientID = &p.Request.PatientID
	if notModified(c, p.Version) {
		return
	}
	c.Header("ETag", etag(p.Version))
	c.JSON(http.StatusOK, procedureView(p))
}

// list serves GET /v1/procedures: procedures by planned start, of a
// patient, in a status, on a resource, within from and to.
func (s *procedureRoutes) list(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "patientId", "status", "resource", "from", "to", "limit", "cursor")
	f := procedure.Filter{Cursor: c.Query("cursor"), Status: procedure.Status(c.Query("status"))}
	if p := optionalUUID(c, "patientId", verr); p != nil {
		f.PatientID = *p
	}
	if r := optionalUUID(c, "resource", verr); r != nil {
		f.ResourceID = *r
	}
	f.From, f.To = optionalTime(verr, "from", c.Query("from")), optionalTime(verr, "to", c.Query("to"))
	f.Limit = limitParam(c, verr, 50, 200)
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	if err := f.Check(); err != nil {
		s.fail(c, err)
		return
	}
	var patient *uuid.UUID
	if f.PatientID != uuid.Nil {
		patient = &f.PatientID
	}
	a := auditOf(c)
	a.about(audit.ActionSearch, entityProcedure, "", patient)
	page, err := s.store.List(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	views := make([]ProcedureView, len(page.Procedures))
	for i, p := range page.Procedures {
		a.disclosed(p.Request.PatientID)
		views[i] = procedureView(p)
	}
	c.JSON(http.StatusOK, pageBody(views, page.Next))
}

// availability serves GET /v1/procedures/availability: the free slots of a
// set of requirements over [from, to) and from now on, for a patient when
// one is named.
// requirements is a comma-separated list of room:<capability>,
// staff:<skill>[:<count>] and equipment:<kind>.
func (s *procedureRoutes) availability(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "requirements", "durationMinutes", "from", "to", "patientId", "limit")
	reqs := parseRequirements(c.Query("requirements"), verr)
	minutes, err := strconv.Atoi(c.DefaultQuery("durationMinutes", "60"))
	if err != nil || minutes < 5 || minutes > 24*60 {
		verr.Add("durationMinutes", "must be a number of minutes from 5 to 1440")
	}
	from, to := optionalTime(verr, "from", c.Query("from")), optionalTime(verr, "to", c.Query("to"))
	if from == nil {
		verr.Add("from", "required")
	}
	if to == nil {
		verr.Add("to", "required")
	}
	if from != nil && to != nil && (!from.Before(*to) || to.Sub(*from) > 31*24*time.Hour) {
		verr.Add("to", "must be after from, at most 31 days later")
	}
	var patientID uuid.UUID
	if p := optionalUUID(c, "patientId", verr); p != nil {
		patientID = *p
	}
	limit := limitParam(c, verr, 20, 200)
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	var patient *uuid.UUID
	if patientID != uuid.Nil {
		patient = &patientID
	}
	auditOf(c).about(audit.ActionSearch, entitySchedule, "", patient)
	all, err := s.store.ListResources(ctx, "", true)
	if err != nil {
		s.fail(c, err)
		return
	}
	var candidates []procedure.Resource
	var ids []uuid.UUID
	for _, r := range all {
		for _, q := range reqs {
			if r.Has(q) {
				candidates = append(candidates, r)
				ids = append(ids, r.ID)
				break
			}
		}
	}
	now := s.now()
	window := procedure.Period{From: *from, To: *to}
	if window.From.Before(now) {
		window.From = now // a slot that has begun is never booked
	}
	if !window.From.Before(window.To) {
		c.JSON(http.StatusOK, gin.H{"data": []procedure.Slot{}})
		return
	}
	busy, err := s.store.Busy(ctx, ids, patientID, window, now)
	if err != nil {
		s.fail(c, err)
		return
	}
	slots := procedure.Availability(procedure.Search{Request: procedure.Request{PatientID: patientID,
		Duration: time.Duration(minutes) * time.Minute, Requirements: reqs, Window: window}, Resources: candidates, Busy: busy}, limit)
	if slots == nil {
		slots = []procedure.Slot{}
	}
	c.JSON(http.StatusOK, gin.H{"data": slots})
}

// parseRequirements reads room:<capability>, staff:<skill>[:<count>] and
// equipment:<kind>, comma-separated.
func parseRequirements(s string, verr *domain.ValidationError) []procedure.Requirement {
	if strings.TrimSpace(s) == "" {
		verr.Add("requirements", "required: room:<capability>, staff:<skill>[:<count>], equipment:<kind>, comma-separated")
		return nil
	}
	var out []procedure.Requirement
	for i, part := range strings.Split(s, ",") {
		fields := strings.Split(strings.TrimSpace(part), ":")
		field := "requirements[" + strconv.Itoa(i) + "]"
		switch {
		case len(fields) == 2 && fields[0] == string(procedure.KindRoom):
			out = append(out, procedure.Requirement{Type: procedure.KindRoom, Capability: fields[1]})
		case len(fields) == 2 && fields[0] == string(procedure.KindEquipment):
			out = append(out, procedure.Requirement{Type: procedure.KindEquipment, Kind: fields[1]})
		case (len(fields) == 2 || len(fields) == 3) && fields[0] == string(procedure.KindStaff):
			q := procedure.Requirement{Type: procedure.KindStaff, Skill: fields[1], Count: 1}
			if len(fields) == 3 {
				n, err := strconv.Atoi(fields[2])
				if err != nil || n < 1 || n > 6 {
					verr.Add(field, "a staff count is 1 to 6")
				}
				q.Count = n
			}
			out = append(out, q)
		default:
			verr.Add(field, "must be room:<capability>, staff:<skill>[:<count>] or equipment:<kind>")
		}
	}
	if len(out) > 10 {
		verr.Add("requirements", "at most 10")
	}
	return out
}

// metrics serves GET /v1/procedures/metrics: the quality of the procedures
// planned within [from, to), of one room and one procedure code when given.
func (s *procedureRoutes) metrics(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "from", "to", "room", "procedure")
	from, to := optionalTime(verr, "from", c.Query("from")), optionalTime(verr, "to", c.Query("to"))
	now := s.now()
	if to == nil {
		to = &now
	}
	if from == nil {
		f := to.Add(-30 * 24 * time.Hour)
		from = &f
	}
	if !from.Before(*to) || to.Sub(*from) > 366*24*time.Hour {
		verr.Add("to", "must be after from, at most a year later")
	}
	var room uuid.UUID
	if r := optionalUUID(c, "room", verr); r != nil {
		room = *r
	}
	code := c.Query("procedure")
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionSearch, entityMeasureReport, "", nil)
	ctx := c.Request.Context()
	sums, err := s.store.Summaries(ctx, *from, *to)
	if err != nil {
		s.fail(c, err)
		return
	}
	kept := sums[:0]
	for _, sm := range sums {
		if (room == uuid.Nil || sm.RoomID == room) && (code == "" || sm.ProcedureCode == code) {
			kept = append(kept, sm)
		}
	}
	resources, err := s.store.ListResources(ctx, "", false)
	if err != nil {
		s.fail(c, err)
		return
	}
	capacity := map[uuid.UUID]time.Duration{}
	for _, r := range resources {
		capacity[r.ID] = procedure.OpenTime(r, procedure.Period{From: *from, To: *to})
	}
	c.JSON(http.StatusOK, procedure.Metrics(kept, *from, *to, capacity))
}
