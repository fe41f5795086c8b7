package api

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/prescription"
)

// MedicationContext is what the medication checks read about a patient at
// a time: age and sex, active allergies, the latest weight, height and serum
// creatinine, and the open prescriptions except exclude (uuid.Nil for none).
// A patient the registry does not know is domain.ErrNotFound.
type MedicationContext interface {
	PatientContext(ctx context.Context, patientID, exclude uuid.UUID, at time.Time) (prescription.Context, error)
}
