package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/encounter"
)

// encounterLookup reads an encounter's record.
type encounterLookup interface {
	GetEncounter(ctx context.Context, id uuid.UUID) (encounter.Record, error)
}

// patientKnown answers 422 for a patient the registry does not know: the
// check every order (prescription, diagnostic) makes of its patient.
func (s *edge) patientKnown(c *gin.Context, patients patientLookup, id uuid.UUID) bool {
	_, err := patients.Get(c.Request.Context(), id)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		abort(c, http.StatusUnprocessableEntity, CodeValidationFailed, "The request has invalid fields.",
			domain.FieldError{Field: "patientId", Message: "names no patient of the registry"})
		return false
	case err != nil:
		s.fail(c, err)
		return false
	}
	return true
}

// encounterUnit is the ward of the order's encounter, which must be the
// patient's and still open; "" without an encounter.
func (s *edge) encounterUnit(c *gin.Context, encounters encounterLookup, patientID uuid.UUID, id *uuid.UUID) (string, bool) {
	if id == nil {
		return "", true
	}
	rec, err := encounters.GetEncounter(c.Request.Context(), *id)
	switch {
	case errors.Is(err, domain.ErrNotFound) || err == nil && rec.PatientID != patientID:
		abort(c, http.StatusUnprocessableEntity, CodeValidationFailed, "The request has invalid fields.",
			domain.FieldError{Field: "encounterId", Message: "names no encounter of this patient"})
		return "", false
	case err != nil:
		s.fail(c, err)
		return "", false
	case rec.Status.Closed():
		abort(c, http.StatusUnprocessableEntity, CodeValidationFailed, "The request has invalid fields.",
			domain.FieldError{Field: "encounterId", Message: "names an encounter that has ended (" + string(rec.Status) + ")"})
		return "", false
	}
	return rec.Location, true
}
