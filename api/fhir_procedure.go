package api

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/procedure"
	"github.com/zarish-sphere/zarish/integrations/fhir"
)

// fhirProcedures are the procedures Procedures and Appointments are made
// of, and the resource directory that names what a booking takes.
type fhirProcedures interface {
	Get(ctx context.Context, id uuid.UUID) (procedure.Procedure, error)
	List(ctx context.Context, f procedure.Filter) (procedure.Page, error)
	ListResources(ctx context.Context, kind procedure.ResourceKind, activeOnly bool) ([]procedure.Resource, error)
}

// Code systems of the procedure statuses.
const (
	systemEventStatus       = "http://hl7.org/fhir/event-status"
	systemAppointmentStatus = "http://hl7.org/fhir/appointmentstatus"
)

func (s *fhirRoutes) readProcedure(c *gin.Context) {
	if unserved(c, s.procedures != nil, "procedures") {
		return
	}
	readFHIR(s, c, entityProcedure, s.procedures.Get, func(p procedure.Procedure) (uuid.UUID, int, any) {
		return p.Request.PatientID, p.Version, fhir.FromProcedure(p)
	})
}

func (s *fhirRoutes) readAppointment(c *gin.Context) {
	if unserved(c, s.procedures != nil, "procedures") {
		return
	}
	directory, err := s.resourceDirectory(c.Request.Context())
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	readFHIR(s, c, "Appointment", s.procedures.Get, func(p procedure.Procedure) (uuid.UUID, int, any) {
		return p.Request.PatientID, p.Version, fhir.FromBooking(p, directory)
	})
}

// resourceDirectory is the procedure resource directory by id.
func (s *fhirRoutes) resourceDirectory(ctx context.Context) (map[uuid.UUID]procedure.Resource, error) {
	list, err := s.procedures.ListResources(ctx, "", false)
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]procedure.Resource, len(list))
	for _, r := range list {
		out[r.ID] = r
	}
	return out, nil
}

// searchProcedures answers GET /fhir/R4/Procedure: procedures newest
// request first, of a patient, in a Procedure.status (preparation is any
// status before the start; a cancellation is stopped after the start and
// not-done before it, so those pages hold only the procedures the code
// fits and may be shorter than _count).
func (s *fhirRoutes) searchProcedures(c *gin.Context, q url.Values) {
	statuses, none, err := statusParam(q, systemEventStatus, fhir.ProcedureStatuses, fhir.ProcedureStatusesOf)
	code := q.Get("status")
	keep := func(p procedure.Procedure) bool { return code == "" || fhir.ProcedureStatus(p) == trimSystem(code) }
	searchProceduresOf(s, c, q, statuses, none, err, keep, fhir.FromProcedure)
}

// searchAppointments answers GET /fhir/R4/Appointment: the procedures'
// bookings newest request first, of a patient, in an Appointment.status,
// whose slot starts within the date bounds.
func (s *fhirRoutes) searchAppointments(c *gin.Context, q url.Values) {
	statuses, none, err := statusParam(q, systemAppointmentStatus, fhir.AppointmentStatuses, oneStatus(fhir.AppointmentStatusOf))
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	if unserved(c, s.procedures != nil, "procedures") {
		return
	}
	directory, err := s.resourceDirectory(c.Request.Context())
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	searchProceduresOf(s, c, q, statuses, none, nil, nil, func(p procedure.Procedure) fhir.Appointment {
		return fhir.FromBooking(p, directory)
	})
}

// trimSystem is a token's code without its system.
func trimSystem(token string) string {
	return token[strings.LastIndexByte(token, '|')+1:]
}

// searchProceduresOf is a search of the procedures in statuses that keep
// keeps (nil keeps all), each answered as view makes it. date (when the
// search takes it) bounds the slot's start.
func searchProceduresOf[R fhir.Resource](s *fhirRoutes, c *gin.Context, q url.Values, statuses []procedure.Status, none bool,
	err error, keep func(procedure.Procedure) bool, view func(procedure.Procedure) R) {
	if unserved(c, s.procedures != nil, "procedures") {
		return
	}
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	f := procedure.Filter{}
	if f.Limit, err = countParam(q, procedure.DefaultPageSize, procedure.MaxPageSize); err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	if f.PatientID, err = patientParam(c, "patient", q.Get("patient")); err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	var from, to time.Time
	for _, v := range q["date"] {
		lo, hi, err := dateBound(v)
		if err != nil {
			s.fhirFail(c, err, nil)
			return
		}
		if !lo.IsZero() && lo.After(from) {
			from = lo
		}
		if !hi.IsZero() && (to.IsZero() || hi.Before(to)) {
			to = hi
		}
	}
	if !from.IsZero() {
		f.From = &from
	}
	if !to.IsZero() {
		f.To = &to
	}
	if none || (f.From != nil && f.To != nil && !from.Before(to)) {
		searchSet(c, q, []R{}, "")
		return
	}
	found, next, err := mergedPage(c.Request.Context(), statuses, f.Limit, q.Get(fhirCursor),
		func(ctx context.Context, st procedure.Status, cursor string, limit int) ([]procedure.Procedure, string, error) {
			g := f
			g.Status, g.Cursor, g.Limit = st, cursor, limit
			page, err := s.procedures.List(ctx, g)
			return page.Procedures, page.Next, err
		},
		func(p procedure.Procedure) (time.Time, uuid.UUID) { return p.Request.CreatedAt, p.Request.ID })
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	a := auditOf(c)
	out := make([]R, 0, len(found))
	for _, p := range found {
		if keep != nil && !keep(p) {
			continue
		}
		a.disclosed(p.Request.PatientID)
		out = append(out, view(p))
	}
	searchSet(c, q, out, next)
}
