package api

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careplan"
	"github.com/zarish-sphere/zarish/integrations/fhir"
)

// The care plans, alerts (Flags) and the audit trail (AuditEvents).

// fhirCarePlans are the care plans.
type fhirCarePlans interface {
	Get(ctx context.Context, id uuid.UUID) (careplan.CarePlan, error)
	List(ctx context.Context, f careplan.Filter) (careplan.Page, error)
}

// fhirAlerts are the alerts Flags are made of.
type fhirAlerts interface {
	GetAlert(ctx context.Context, id uuid.UUID) (alert.Record, error)
	ListAlerts(ctx context.Context, f alert.Filter) (alert.Page, error)
}

// fhirAuditTrail is the audit trail AuditEvents are made of.
type fhirAuditTrail interface {
	Get(ctx context.Context, id uuid.UUID) (audit.Record, error)
	Query(ctx context.Context, f audit.Filter) ([]audit.Record, string, error)
}

// Code systems of the statuses, and page bounds.
const (
	systemFlagStatus = "http://hl7.org/fhir/flag-status"
	// pageMax is the largest page the care plan and alert stores serve.
	pageMax = 200
	// auditEventMaxPage bounds an AuditEvent page, as GET /v1/audit/events does.
	auditEventMaxPage = 500
)

func (s *fhirRoutes) readCarePlan(c *gin.Context) {
	if unserved(c, s.carePlans != nil, "care plans") {
		return
	}
	readFHIR(s, c, entityCarePlan, s.carePlans.Get, func(p careplan.CarePlan) (uuid.UUID, int, any) {
		return p.PatientID, p.Version, fhir.FromCarePlan(p)
	})
}

// searchCarePlans answers GET /fhir/R4/CarePlan: care plans newest first,
// of a patient, in a status.
func (s *fhirRoutes) searchCarePlans(c *gin.Context, q url.Values) {
	if unserved(c, s.carePlans != nil, "care plans") {
		return
	}
	f := careplan.Filter{Cursor: q.Get(fhirCursor)}
	var err error
	if f.Limit, err = countParam(q, 50, pageMax); err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	if f.PatientID, err = patientParam(c, "patient", q.Get("patient")); err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	statuses, none, err := statusParam(q, systemRequestStatus, fhir.CarePlanStatuses, oneStatus(fhir.CarePlanStatusOf))
	switch {
	case err != nil:
		s.fhirFail(c, err, nil)
		return
	case none:
		searchSet(c, q, []fhir.CarePlan{}, "")
		return
	}
	f.Status = statuses[0]
	page, err := s.carePlans.List(c.Request.Context(), f)
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	a := auditOf(c)
	out := make([]fhir.CarePlan, 0, len(page.CarePlans))
	for _, p := range page.CarePlans {
		a.disclosed(p.PatientID)
		out = append(out, fhir.FromCarePlan(p))
	}
	searchSet(c, q, out, page.Next)
}

func (s *fhirRoutes) readFlag(c *gin.Context) {
	if unserved(c, s.alerts != nil, "alerts") {
		return
	}
	readFHIR(s, c, "Flag", s.alerts.GetAlert, func(r alert.Record) (uuid.UUID, int, any) {
		return r.PatientID, 0, fhir.FromAlert(r)
	})
}

// searchFlags answers GET /fhir/R4/Flag: alerts newest first, of a patient,
// active (open, acknowledged, exhausted or undeliverable: not handled) or
// inactive (resolved).
func (s *fhirRoutes) searchFlags(c *gin.Context, q url.Values) {
	if unserved(c, s.alerts != nil, "alerts") {
		return
	}
	f := alert.Filter{}
	var err error
	if f.Limit, err = countParam(q, 50, pageMax); err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	if f.PatientID, err = patientParam(c, "patient", q.Get("patient")); err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	statuses, none, err := statusParam(q, systemFlagStatus, fhir.FlagStatuses, fhir.FlagStatusesOf)
	switch {
	case err != nil:
		s.fhirFail(c, err, nil)
		return
	case none:
		searchSet(c, q, []fhir.Flag{}, "")
		return
	}
	found, next, err := mergedPage(c.Request.Context(), statuses, f.Limit, q.Get(fhirCursor),
		func(ctx context.Context, st alert.Status, cursor string, limit int) ([]alert.Record, string, error) {
			g := f
			g.Status, g.Cursor, g.Limit = st, cursor, limit
			page, err := s.alerts.ListAlerts(ctx, g)
			return page.Alerts, page.Next, err
		},
		func(r alert.Record) (time.Time, uuid.UUID) { return r.RaisedAt, r.ID })
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	a := auditOf(c)
	out := make([]fhir.Flag, 0, len(found))
	for _, r := range found {
		a.disclosed(r.PatientID)
		out = append(out, fhir.FromAlert(r))
	}
	searchSet(c, q, out, next)
}

func (s *fhirRoutes) readAuditEvent(c *gin.Context) {
	if unserved(c, s.auditTrail != nil, "audit trail") {
		return
	}
	readFHIR(s, c, "AuditEvent", s.auditTrail.Get, func(r audit.Record) (uuid.UUID, int, any) {
		patient := uuid.Nil
		if r.PatientID != nil {
			patient = *r.PatientID
		}
		return patient, 0, fhir.FromAuditRecord(r)
	})
}

// searchAuditEvents answers GET /fhir/R4/AuditEvent: the audit trail newest
// first, of a patient (the record's subject, or among the patients a search
// returned), recorded within the date bounds, of an agent (a person's
// Practitioner/<id>, or a user, client or practitioner id). The patients
// the records name are disclosed.
func (s *fhirRoutes) searchAuditEvents(c *gin.Context, q url.Values) {
	if unserved(c, s.auditTrail != nil, "audit trail") {
		return
	}
	f := audit.Filter{Cursor: q.Get(fhirCursor)}
	var err error
	if f.Limit, err = countParam(q, 50, auditEventMaxPage); err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	patient, err := patientParam(c, "patient", q.Get("patient"))
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	if patient != uuid.Nil {
		f.PatientID = &patient
	}
	if v := q.Get("agent"); v != "" {
		f.Actor = strings.TrimPrefix(v, "Practitioner/")
		if strings.Contains(f.Actor, "/") {
			s.fhirFail(c, invalidParam("agent", "agent must be Practitioner/<id>, or a user, client or practitioner id"), nil)
			return
		}
	}
	for _, v := range q["date"] {
		from, to, err := dateBound(v)
		if err != nil {
			s.fhirFail(c, err, nil)
			return
		}
		if !from.IsZero() && from.After(f.From) {
			f.From = from
		}
		if !to.IsZero() && (f.To.IsZero() || to.Before(f.To)) {
			f.To = to
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		searchSet(c, q, []fhir.AuditEvent{}, "")
		return
	}
	records, next, err := s.auditTrail.Query(c.Request.Context(), f)
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	a := auditOf(c)
	out := make([]fhir.AuditEvent, 0, len(records))
	for _, r := range records {
		if r.PatientID != nil {
			a.disclosed(*r.PatientID)
		}
		a.disclosed(r.PatientIDs...)
		out = append(out, fhir.FromAuditRecord(r))
	}
	searchSet(c, q, out, next)
}
