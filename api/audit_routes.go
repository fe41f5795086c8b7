package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
)

// AuditStore is what the audit routes need: appending, querying, verifying
// the chain and the compliance reports.
type AuditStore interface {
	AuditLog
	Query(ctx context.Context, f audit.Filter) ([]audit.Record, string, error)
	Get(ctx context.Context, id uuid.UUID) (audit.Record, error)
	Verify(ctx context.Context, from, to time.Time) (audit.VerifyResult, error)
	Disclosures(ctx context.Context, patientID uuid.UUID, from, to time.Time) ([]audit.Record, error)
	UserActivity(ctx context.Context, actor string, from, to time.Time) ([]audit.Record, error)
	BreakGlass(ctx context.Context, from, to time.Time) ([]audit.Record, error)
}

// auditRoutes serve /v1/audit: the audit trail's search, submission,
// chain verification and compliance reports.
type auditRoutes struct {
	*edge
	store AuditStore
}

func (s *auditRoutes) routes() []Route {
	const scopeR, entity = "system/AuditEvent.read", "AuditEvent"
	return []Route{
		{http.MethodGet, "/v1/audit/events", scopeR, entity, s.searchAudit},
		{http.MethodPost, "/v1/audit/events", "system/AuditEvent.write", entity, s.submitAudit},
		{http.MethodGet, "/v1/audit/events/:id", scopeR, entity, s.getAudit},
		{http.MethodGet, "/v1/audit/verify", scopeR, entity, s.verifyAudit},
		{http.MethodGet, "/v1/audit/reports/disclosures", scopeR, entity, s.disclosuresReport},
		{http.MethodGet, "/v1/audit/reports/user-activity", scopeR, entity, s.userActivityReport},
		{http.MethodGet, "/v1/audit/reports/break-glass", scopeR, entity, s.breakGlassReport},
	}
}

// AuditPage is one page of audit records.
type AuditPage struct {
	Data []audit.Record `json:"data"`
	Next *string        `json:"next"`
}

// token serves the OAuth2 token endpoint; every request is a login attempt.
func (s *server) token(c *gin.Context) {
	auditOf(c).rec.Action = audit.ActionLogin
	auditOf(c).rec.EntityType = "Client"
	if !s.admit(c, keyToken, c.ClientIP(), s.RateLimits.Token) {
		return
	}
	// The token endpoint says whom a code exchange or refresh was for.
	ctx, note := access.WithAuditNote(c.Request.Context(), c.ClientIP())
	c.Request = c.Request.WithContext(ctx)
	s.Token.ServeHTTP(c.Writer, c.Request)
	applyNote(auditOf(c), note)
}

func wantsFHIR(c *gin.Context) bool {
	return strings.Contains(c.GetHeader("Accept"), "application/fhir+json") || c.Query("_format") == "fhir"
}

func wantsCSV(c *gin.Context) bool {
	return strings.Contains(c.GetHeader("Accept"), "text/csv") || c.Query("_format") == "csv"
}

// timeRange reads from/to (RFC 3339 or a date); to defaults to now, from to 30 days before it.
func (s *edge) timeRange(c *gin.Context, verr *domain.ValidationError) (time.Time, time.Time) {
	parse := func(name string, def time.Time) time.Time {
		v := c.Query(name)
		if v == "" {
			return def
		}
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t
		}
		if t, err := time.Parse(time.DateOnly, v); err == nil {
			if name == "to" {
				return t.AddDate(0, 0, 1) // a "to" date includes that whole day
			}
			return t
		}
		verr.Add(name, "must be an RFC 3339 time or a YYYY-MM-DD date")
		return def
	}
	to := parse("to", s.now().UTC().Add(time.Minute))
	from := parse("from", to.AddDate(0, 0, -30))
	if !from.Before(to) {
		verr.Add("from", "must be before to")
	}
	return from, to
}

func onlyParams(c *gin.Context, verr *domain.ValidationError, allowed ...string) {
	for k := range c.Request.URL.Query() {
		ok := k == "_format"
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			verr.Add(k, "is not a parameter of this route ("+strings.Join(allowed, ", ")+")")
		}
	}
}

func optionalUUID(c *gin.Context, name string, verr *domain.ValidationError) *uuid.UUID {
	v := c.Query(name)
	if v == "" {
		return nil
	}
	id, err := uuid.Parse(v)
	if err != nil {
		verr.Add(name, "must be a UUID")
		return nil
	}
	return &id
}

func (s *auditRoutes) searchAudit(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "patientId", "actor", "action", "entityType", "from", "to", "limit", "cursor")
	f := audit.Filter{
		PatientID:  optionalUUID(c, "patientId", verr),
		Actor:      c.Query("actor"),
		Action:     audit.Action(c.Query("action")),
		EntityType: c.Query("entityType"),
		Cursor:     c.Query("cursor"),
	}
	if f.Action != "" && !validAction(f.Action) {
		verr.Add("action", "is not an audit action")
	}
	f.From, f.To = s.timeRange(c, verr)
	f.Limit = limitParam(c, verr, 50, 500)
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionSearch, "AuditEvent", "", f.PatientID)
	records, next, err := s.store.Query(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	if wantsFHIR(c) {
		c.JSON(http.StatusOK, fhirBundle(records))
		return
	}
	page := AuditPage{Data: records}
	if page.Data == nil {
		page.Data = []audit.Record{}
	}
	if next != "" {
		page.Next = &next
	}
	c.JSON(http.StatusOK, page)
}

func validAction(a audit.Action) bool {
	for _, x := range audit.Actions {
		if x == a {
			return true
		}
	}
	return false
}

func (s *auditRoutes) getAudit(c *gin.Context) {
	id, ok := uuidParam(c, "must be an audit record id (UUID)")
	if !ok {
		return
	}
	auditOf(c).about(audit.ActionRead, "AuditEvent", id.String(), nil)
	r, err := s.store.Get(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	if wantsFHIR(c) {
		c.JSON(http.StatusOK, r.FHIR())
		return
	}
	c.JSON(http.StatusOK, r)
}

// submittedEvent is what a service or integration submits; the engine adds
// the id, the time, the request context, the submitter and the chain link.
type submittedEvent struct {
	Actor       *audit.ActorClaim `json:"actor,omitempty"`
	Action      audit.Action      `json:"action"`
	Outcome     audit.Outcome     `json:"outcome"`
	EntityType  string            `json:"entityType"`
	EntityID    string            `json:"entityId,omitempty"`
	PatientID   *uuid.UUID        `json:"patientId,omitempty"`
	SourceIP    string            `json:"sourceIp,omitempty"`
	UserAgent   string            `json:"userAgent,omitempty"`
	Purpose     string            `json:"purpose,omitempty"`
	Description string            `json:"description,omitempty"`
}

// submitAudit records a security event reported by a service; that record is
// this request's audit record. It is flagged as submitted and names its
// submitter from the token. The actor the body describes is the submitter's
// word (asserted): one claiming to be a user, session or client of this
// server is refused, naming the field; without one, the actor is the
// submitter itself.
func (s *auditRoutes) submitAudit(c *gin.Context) {
	var ev submittedEvent
	if readJSON(c, &ev) == nil {
		return
	}
	a := auditOf(c)
	rec := a.rec
	rec.Action, rec.Outcome = ev.Action, ev.Outcome
	rec.EntityType, rec.EntityID, rec.PatientID = ev.EntityType, ev.EntityID, ev.PatientID
	rec.Description = ev.Description
	if ev.SourceIP != "" {
		rec.SourceIP = ev.SourceIP
	}
	if ev.UserAgent != "" {
		rec.UserAgent = ev.UserAgent
	}
	if ev.Purpose != "" {
		rec.Purpose = ev.Purpose
	}
	rec.Status = http.StatusCreated
	rec, err := rec.Submit(submitterOf(c), actorOf(c), ev.Actor)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := s.store.Append(c.Request.Context(), rec); err != nil {
		s.fail(c, err)
		return
	}
	a.rec = rec
	a.stored()
	c.Header("Location", "/v1/audit/events/"+rec.ID.String())
	c.JSON(http.StatusCreated, rec)
}

// submitterOf is who submits a record, as the token proves it: the client,
// and a signed-in user with their practitioner (never a practitioner a
// machine client only asserted).
func submitterOf(c *gin.Context) audit.Submitter {
	p, _ := principal(c)
	by := audit.Submitter{ClientID: p.ClientID, UserID: p.UserID}
	if p.UserID != "" && !p.Asserted {
		by.PractitionerID = p.PractitionerID
	}
	return by
}

// VerifyBody is the chain verification report.
type VerifyBody struct {
	Intact   bool              `json:"intact"`
	From     time.Time         `json:"from"`
	To       time.Time         `json:"to"`
	Checked  int               `json:"checked"`
	Unsealed int               `json:"unsealed"`
	BrokenAt *audit.BrokenLink `json:"brokenAt,omitempty"`
}

func (s *auditRoutes) verifyAudit(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "from", "to")
	from, to := s.timeRange(c, verr)
	if c.Query("from") == "" {
		from = time.Unix(0, 0).UTC() // by default the whole chain
	}
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionRead, "AuditChain", "", nil)
	res, err := s.store.Verify(c.Request.Context(), from, to)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, VerifyBody{Intact: res.Intact, From: from, To: to, Checked: res.Checked,
		Unsealed: res.Unsealed, BrokenAt: res.BrokenAt})
}

// ReportBody is a compliance report in JSON.
type ReportBody struct {
	Report  string         `json:"report"`
	From    time.Time      `json:"from"`
	To      time.Time      `json:"to"`
	Count   int            `json:"count"`
	Records []audit.Record `json:"records"`
}

func (s *auditRoutes) report(c *gin.Context, name string, records []audit.Record, from, to time.Time) {
	if records == nil {
		records = []audit.Record{}
	}
	if wantsCSV(c) {
		c.Header("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		c.Status(http.StatusOK)
		c.Header("Content-Type", "text/csv; charset=utf-8")
		if err := audit.CSV(c.Writer, records); err != nil {
			s.fail(c, err)
		}
		return
	}
	c.JSON(http.StatusOK, ReportBody{Report: name, From: from, To: to, Count: len(records), Records: records})
}

func (s *auditRoutes) disclosuresReport(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "patientId", "from", "to")
	patient := optionalUUID(c, "patientId", verr)
	if patient == nil && c.Query("patientId") == "" {
		verr.Add("patientId", "is required")
	}
	from, to := s.timeRange(c, verr)
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionExport, "AuditEvent", "disclosures", patient)
	records, err := s.store.Disclosures(c.Request.Context(), *patient, from, to)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.report(c, "disclosures", records, from, to)
}

func (s *auditRoutes) userActivityReport(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "actor", "from", "to")
	actor := strings.TrimSpace(c.Query("actor"))
	if actor == "" {
		verr.Add("actor", "is required")
	}
	from, to := s.timeRange(c, verr)
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionExport, "AuditEvent", "user-activity", nil)
	records, err := s.store.UserActivity(c.Request.Context(), actor, from, to)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.report(c, "user-activity", records, from, to)
}

func (s *auditRoutes) breakGlassReport(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "from", "to")
	from, to := s.timeRange(c, verr)
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionExport, "AuditEvent", "break-glass", nil)
	records, err := s.store.BreakGlass(c.Request.Context(), from, to)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.report(c, "break-glass", records, from, to)
}

// fhirBundle renders records as a FHIR R4 searchset Bundle of AuditEvents.
func fhirBundle(records []audit.Record) map[string]any {
	entries := make([]map[string]any, 0, len(records))
	for _, r := range records {
		entries = append(entries, map[string]any{"fullUrl": "AuditEvent/" + r.ID.String(), "resource": r.FHIR()})
	}
	return map[string]any{"resourceType": "Bundle", "type": "searchset", "total": len(records), "entry": entries}
}
