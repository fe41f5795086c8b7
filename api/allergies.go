package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/allergy"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/patient"
)

// CodeDuplicateAllergy: the patient already has an active allergy to the
// substance; the message names its id.
const CodeDuplicateAllergy = "DUPLICATE_ALLERGY"

// AllergyStore is what the allergy routes need from storage.
type AllergyStore interface {
	Create(ctx context.Context, rec *audit.Record, a allergy.Allergy) (allergy.Allergy, error)
	Get(ctx context.Context, id uuid.UUID) (allergy.Allergy, error)
	ListForPatient(ctx context.Context, patientID uuid.UUID, onlyActive bool) ([]allergy.Allergy, error)
	Update(ctx context.Context, id uuid.UUID, rec *audit.Record, change func(allergy.Allergy) (allergy.Allergy, error)) (allergy.Allergy, error)
	// Versions is every version of an allergy, oldest first (FHIR history).
	Versions(ctx context.Context, id uuid.UUID) ([]allergy.Allergy, error)
}

// AllergyList is a patient's allergies, oldest first.
type AllergyList struct {
	Data []allergy.Allergy `json:"data"`
}

// allergyBody is the body of POST and PUT: the recordable details, with
// recordedBy as text so a malformed id is reported by name.
type allergyBody struct {
	Substance          allergy.Substance          `json:"substance"`
	Category           allergy.Category           `json:"category"`
	Criticality        allergy.Criticality        `json:"criticality"`
	Type               allergy.Type               `json:"type"`
	ClinicalStatus     allergy.ClinicalStatus     `json:"clinicalStatus"`
	VerificationStatus allergy.VerificationStatus `json:"verificationStatus"`
	Reactions          []allergy.Reaction         `json:"reactions"`
	Onset              string                     `json:"onset"`
	Note               string                     `json:"note"`
	RecordedBy         string                     `json:"recordedBy"`
}

func (b allergyBody) details(verr *domain.ValidationError) allergy.Details {
	return allergy.Details{
		Substance: b.Substance, Category: b.Category, Criticality: b.Criticality, Type: b.Type,
		ClinicalStatus: b.ClinicalStatus, VerificationStatus: b.VerificationStatus, Reactions: b.Reactions,
		Onset: b.Onset, Note: b.Note, // RecordedBy: the acting practitioner (actor)
	}
}

const entityAllergy = "AllergyIntolerance"

// patientLookup is what a service reads of the patient register: the
// patient a request names, or domain.ErrNotFound.
type patientLookup interface {
	Get(ctx context.Context, id uuid.UUID) (patient.Patient, error)
}

// allergyRoutes serve a patient's allergies: their store, and the patient
// register that says whether the patient exists.
type allergyRoutes struct {
	*edge
	store    AllergyStore
	patients patientLookup
}

func (s *allergyRoutes) routes() []Route {
	const scopeR, scopeW = "system/AllergyIntolerance.read", "system/AllergyIntolerance.write"
	return []Route{
		{http.MethodPost, "/v1/patients/:id/allergies", scopeW, entityAllergy, s.recordAllergy},
		{http.MethodGet, "/v1/patients/:id/allergies", scopeR, entityAllergy, s.listAllergies},
		{http.MethodGet, "/v1/clinical/allergies/:id", scopeR, entityAllergy, s.getAllergy},
		{http.MethodPut, "/v1/clinical/allergies/:id", scopeW, entityAllergy, s.updateAllergy},
	}
}

// recordAllergy serves POST /v1/patients/{id}/allergies.
func (s *allergyRoutes) recordAllergy(c *gin.Context) {
	patientID, ok := uuidParam(c, "is not a patient id (UUID)")
	if !ok {
		return
	}
	var b allergyBody
	if readJSON(c, &b) == nil {
		return
	}
	verr := &domain.ValidationError{}
	d := b.details(verr)
	if d.RecordedBy, ok = actor(c, "recordedBy", b.RecordedBy); !ok {
		return
	}
	id, err := s.newID()
	if err != nil {
		s.fail(c, err)
		return
	}
	a, err := allergy.New(id, patientID, d, s.now())
	if err := mergeValidation(verr, err); err != nil {
		s.fail(c, err)
		return
	}
	audited := auditOf(c)
	audited.about(audit.ActionCreate, entityAllergy, a.ID.String(), &patientID)
	if _, err := s.patients.Get(c.Request.Context(), patientID); err != nil {
		s.allergyFailure(c, err, "No such patient.")
		return
	}
	a, err = s.store.Create(c.Request.Context(), audited.forWrite(c, audit.ActionCreate, http.StatusCreated), a)
	if err != nil {
		s.allergyFailure(c, err, "No such patient.")
		return
	}
	audited.stored()
	c.Header("Location", "/v1/clinical/allergies/"+a.ID.String())
	writeAllergy(c, http.StatusCreated, a)
}

// listAllergies serves GET /v1/patients/{id}/allergies, optionally only
// those of one clinical status.
func (s *allergyRoutes) listAllergies(c *gin.Context) {
	patientID, ok := uuidParam(c, "is not a patient id (UUID)")
	if !ok {
		return
	}
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "clinicalStatus")
	status := allergy.ClinicalStatus(c.Query("clinicalStatus"))
	if status != "" && !status.Valid() {
		verr.Add("clinicalStatus", "must be active, inactive or resolved")
	}
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionSearch, entityAllergy, "", &patientID)
	if _, err := s.patients.Get(c.Request.Context(), patientID); err != nil {
		s.allergyFailure(c, err, "No such patient.")
		return
	}
	all, err := s.store.ListForPatient(c.Request.Context(), patientID, false)
	if err != nil {
		s.fail(c, err)
		return
	}
	list := []allergy.Allergy{}
	for _, a := range all {
		if status == "" || a.ClinicalStatus == status {
			list = append(list, a)
		}
	}
	c.JSON(http.StatusOK, AllergyList{Data: list})
}

// getAllergy serves GET /v1/clinical/allergies/{id}; If-None-Match answers 304.
func (s *allergyRoutes) getAllergy(c *gin.Context) {
	id, ok := uuidParam(c, "is not an allergy id (UUID)")
	if !ok {
		return
	}
	audited := auditOf(c)
	audited.about(audit.ActionRead, entityAllergy, id.String(), nil)
	a, err := s.store.Get(c.Request.Context(), id)
	if err != nil {
		s.allergyFailure(c, err, "No such allergy.")
		return
	}
	audited.rec.PatientID = &a.PatientID
	if notModified(c, a.Version) {
		return
	}
	writeAllergy(c, http.StatusOK, a)
}

// updateAllergy serves PUT /v1/clinical/allergies/{id}: the body replaces
// the record's details; If-Match is required.
func (s *allergyRoutes) updateAllergy(c *gin.Context) {
	id, ok := uuidParam(c, "is not an allergy id (UUID)")
	if !ok {
		return
	}
	version, ok := requireIfMatch(c)
	if !ok {
		return
	}
	var b allergyBody
	if readJSON(c, &b) == nil {
		return
	}
	verr := &domain.ValidationError{}
	d := b.details(verr)
	if d.RecordedBy, ok = actor(c, "recordedBy", b.RecordedBy); !ok {
		return
	}
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	now := s.now()
	audited := auditOf(c)
	audited.about(audit.ActionUpdate, entityAllergy, id.String(), nil)
	a, err := s.store.Update(c.Request.Context(), id, audited.forWrite(c, audit.ActionUpdate, http.StatusOK), func(cur allergy.Allergy) (allergy.Allergy, error) {
		if err := checkVersion(cur.Version, version); err != nil {
			return cur, err
		}
		return cur.Revise(d, now)
	})
	if err != nil {
		s.allergyFailure(c, err, "No such allergy.")
		return
	}
	audited.stored()
	writeAllergy(c, http.StatusOK, a)
}

// allergyFailure answers a duplicate with 409 DUPLICATE_ALLERGY naming the
// existing record, a missing resource with notFound, and everything else
// through fail.
func (s *allergyRoutes) allergyFailure(c *gin.Context, err error, notFound string) {
	var dup *allergy.DuplicateError
	switch {
	case errors.As(err, &dup):
		abort(c, http.StatusConflict, CodeDuplicateAllergy,
			"The patient already has an active allergy to this substance: "+dup.ExistingID.String()+
				". Update that record instead of recording a second one.",
			domain.FieldError{Field: "substance", Message: "duplicates the active allergy " + dup.ExistingID.String()})
	case errors.Is(err, domain.ErrNotFound):
		abort(c, http.StatusNotFound, CodeNotFound, notFound)
	default:
		s.fail(c, err)
	}
}

func writeAllergy(c *gin.Context, status int, a allergy.Allergy) {
	c.Header("ETag", etag(a.Version))
	c.JSON(status, a)
}
