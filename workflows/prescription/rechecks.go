package prescription

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/zarish-sphere/zarish/domain/prescription"
)

// OpenPrescriptions lists a patient's open prescriptions but exclude.
type OpenPrescriptions interface {
	OpenIDs(ctx context.Context, patientID, exclude uuid.UUID) ([]uuid.UUID, error)
}

// Rechecks asks a patient's open prescriptions to run their checks again
// when the patient changes outside them (integrations/notify
// PrescriptionRecheckConsumer).
type Rechecks struct {
	Client client.Client
	Store  OpenPrescriptions
}

// RecheckForAllergy signals every open prescription of the patient to check
// itself again, because the allergy cause names was recorded or changed. A
// prescription whose run has just ended needs nothing.
func (r Rechecks) RecheckForAllergy(ctx context.Context, patientID uuid.UUID, cause string) error {
	ids, err := r.Store.OpenIDs(ctx, patientID, uuid.Nil)
	if err != nil {
		return fmt.Errorf("open prescriptions of %s: %w", patientID, err)
	}
	var errs []error
	for _, id := range ids {
		err := AskRecheck(ctx, r.Client, id, Recheck{Reason: prescription.ReasonNewAllergy, Cause: cause})
		var missing *serviceerror.NotFound
		if err != nil && !errors.As(err, &missing) {
			errs = append(errs, fmt.Errorf("recheck prescription %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}
