package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/patient"
)

// PatientStore is what the patient routes need from storage.
type PatientStore interface {
	Register(ctx context.Context, idem *domain.Idempotency, rec *audit.Record, create func(mrn string) (patient.Patient, error)) (patient.Patient, bool, error)
	Get(ctx context.Context, id uuid.UUID) (patient.Patient, error)
	GetByMRN(ctx context.Context, mrn string) (patient.Patient, error)
	Update(ctx context.Context, id uuid.UUID, rec *audit.Record, change func(patient.Patient) (patient.Patient, error)) (patient.Patient, error)
	Search(ctx context.Context, c patient.Criteria) ([]patient.Patient, string, error)
	// Versions is every version of a patient, oldest first (FHIR history).
	Versions(ctx context.Context, id uuid.UUID) ([]patient.Patient, error)
}

// PatientPage is one page of search results.
type PatientPage struct {
	Data []patient.Patient `json:"data"`
	Next *string           `json:"next"`
}

// patientRoutes serve /v1/patients: the patient register.
type patientRoutes struct {
	*edge
	store PatientStore
}

func (s *patientRoutes) routes() []Route {
	const scopeR, scopeW, entity = "system/Patient.read", "system/Patient.write", "Patient"
	return []Route{
		{http.MethodPost, "/v1/patients", scopeW, entity, s.registerPatient},
		{http.MethodGet, "/v1/patients", scopeR, entity, s.searchPatients},
		{http.MethodGet, "/v1/patients/:id", scopeR, entity, s.getPatient},
		{http.MethodPut, "/v1/patients/:id", scopeW, entity, s.updatePatient},
		{http.MethodDelete, "/v1/patients/:id", scopeW, entity, s.deactivatePatient},
	}
}

// replaceBody is a PUT body: the editable details, plus the read-only fields a
// client echoes back from a GET, which must then match.
type replaceBody struct {
	patient.Details
	ID        *uuid.UUID `json:"id,omitempty"`
	MRN       *string    `json:"mrn,omitempty"`
	Version   *int       `json:"version,omitempty"`
	Active    *bool      `json:"active,omitempty"`
	CreatedAt *time.Time `json:"createdAt,omitempty"`
	UpdatedAt *time.Time `json:"updatedAt,omitempty"`
}

func (s *patientRoutes) registerPatient(c *gin.Context) {
	var d patient.Details
	body := readJSON(c, &d)
	if body == nil {
		return
	}
	d = d.Normalized()
	now := s.now()
	if err := d.Validate(now); err != nil {
		s.fail(c, err)
		return
	}
	idem, ok := idempotencyOf(c, body)
	if !ok {
		return
	}
	a := auditOf(c)
	p, created, err := s.store.Register(c.Request.Context(), idem, a.forWrite(c, audit.ActionCreate, http.StatusCreated), func(mrn string) (patient.Patient, error) {
		id, err := s.newID()
		if err != nil {
			return patient.Patient{}, err
		}
		return patient.NewPatient(id, mrn, d, now)
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	a.stored()
	if !created {
		c.Header("Idempotent-Replayed", "true")
	}
	c.Header("Location", "/v1/patients/"+p.ID.String())
	writePatient(c, http.StatusCreated, p)
}

// getPatient answers by id, or by MRN when the path holds only digits; a
// mistyped MRN is a 400 naming the check digit, not a 404.
func (s *patientRoutes) getPatient(c *gin.Context) {
	ref := c.Param("id")
	var (
		p   patient.Patient
		err error
	)
	if isDigits(ref) {
		if verr := patient.ValidateMRN(ref); verr != nil {
			fieldError(c, "id", mrnMessage(verr))
			return
		}
		p, err = s.store.GetByMRN(c.Request.Context(), ref)
	} else {
		id, ok := uuidParam(c, "is neither a patient id (UUID) nor an MRN")
		if !ok {
			return
		}
		p, err = s.store.Get(c.Request.Context(), id)
		auditOf(c).about(audit.ActionRead, "Patient", id.String(), &id)
	}
	if err == nil {
		auditOf(c).about(audit.ActionRead, "Patient", p.ID.String(), &p.ID)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	if notModified(c, p.Version) {
		return
	}
	writePatient(c, http.StatusOK, p)
}

func (s *patientRoutes) updatePatient(c *gin.Context) {
	id, ok := uuidParam(c, "is neither a patient id (UUID) nor an MRN")
	if !ok {
		return
	}
	version, ok := requireIfMatch(c)
	if !ok {
		return
	}
	var rb replaceBody
	if readJSON(c, &rb) == nil {
		return
	}
	d := rb.Details.Normalized()
	now := s.now()
	if err := d.Validate(now); err != nil {
		s.fail(c, err)
		return
	}
	a := auditOf(c)
	a.about(audit.ActionUpdate, "Patient", id.String(), &id)
	p, err := s.store.Update(c.Request.Context(), id, a.forWrite(c, audit.ActionUpdate, http.StatusOK), func(cur patient.Patient) (patient.Patient, error) {
		if err := checkVersion(cur.Version, version); err != nil {
			return cur, err
		}
		verr := &domain.ValidationError{}
		if rb.ID != nil && *rb.ID != cur.ID {
			verr.Add("id", "does not match the patient in the path")
		}
		if rb.MRN != nil && *rb.MRN != cur.MRN {
			verr.Add("mrn", "is assigned at registration and cannot change")
		}
		if rb.Active != nil && *rb.Active != cur.Active {
			verr.Add("active", "cannot be changed by PUT; DELETE deactivates a patient")
		}
		if err := verr.OrNil(); err != nil {
			return cur, err
		}
		return cur.Replace(d, now)
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	a.stored()
	writePatient(c, http.StatusOK, p)
}

// deactivatePatient marks the patient inactive; records are never erased.
// If-Match is honoured when sent.
func (s *patientRoutes) deactivatePatient(c *gin.Context) {
	id, ok := uuidParam(c, "is neither a patient id (UUID) nor an MRN")
	if !ok {
		return
	}
	version, ok := optionalIfMatch(c)
	if !ok {
		return
	}
	now := s.now()
	a := auditOf(c)
	a.about(audit.ActionDelete, "Patient", id.String(), &id)
	p, err := s.store.Update(c.Request.Context(), id, a.forWrite(c, audit.ActionDelete, http.StatusOK), func(cur patient.Patient) (patient.Patient, error) {
		if err := checkVersion(cur.Version, version); err != nil {
			return cur, err
		}
		next, _ := cur.Deactivate(now)
		return next, nil
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	a.stored()
	writePatient(c, http.StatusOK, p)
}

var searchParams = map[string]bool{
	"name": true, "birthDate": true, "mrn": true, "identifier": true, "phone": true,
	"active": true, "limit": true, "cursor": true,
}

func (s *patientRoutes) searchPatients(c *gin.Context) {
	q := c.Request.URL.Query()
	verr := &domain.ValidationError{}
	for k := range q {
		if !searchParams[k] {
			verr.Add(k, "is not a search parameter (name, birthDate, mrn, identifier, phone, active, limit, cursor)")
		}
	}
	crit := patient.Criteria{
		Name: q.Get("name"), BirthDate: q.Get("birthDate"), MRN: q.Get("mrn"),
		Identifier: q.Get("identifier"), Phone: q.Get("phone"), Cursor: q.Get("cursor"),
	}
	if v := q.Get("active"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			verr.Add("active", "must be true or false")
		} else {
			crit.Active = &b
		}
	}
	crit.Limit = limitParam(c, verr, patient.DefaultLimit, patient.MaxLimit)
	if err := crit.Validate(); err != nil {
		var cerr *domain.ValidationError
		if errors.As(err, &cerr) {
			verr.Fields = append(verr.Fields, cerr.Fields...)
		}
	}
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	a := auditOf(c)
	a.about(audit.ActionSearch, "Patient", "", nil)
	page, next, err := s.store.Search(c.Request.Context(), crit)
	if err != nil {
		s.fail(c, err)
		return
	}
	// A search discloses every patient it returns.
	for _, p := range page {
		a.rec.PatientIDs = append(a.rec.PatientIDs, p.ID)
	}
	out := PatientPage{Data: page}
	if out.Data == nil {
		out.Data = []patient.Patient{}
	}
	if next != "" {
		out.Next = &next
	}
	c.JSON(http.StatusOK, out)
}

func writePatient(c *gin.Context, status int, p patient.Patient) {
	c.Header("ETag", etag(p.Version))
	c.JSON(status, p)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func mrnMessage(err error) string {
	if errors.Is(err, patient.ErrMRNCheckDigit) {
		return "MRN check digit is wrong — the MRN was probably mistyped"
	}
	return "is not a valid MRN (digits with a trailing check digit)"
}
