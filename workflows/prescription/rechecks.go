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
// when the patient changes outside them: an allergy recorded or changed, a
// prescription placed or ended (integrations/notify
// PrescriptionRecheckConsumer, from their events).
type Rechecks struct {
	Client client.Client
	Store  OpenPrescriptions
}

// ReasonEnded is the recheck reason of a prescription whose sibling closed.
const ReasonEnded = "another prescription ended"

// RecheckForAllergy signals every open prescription of the patient to check
// itself again, because the allergy cause names was recorded or changed.
func (r Rechecks) RecheckForAllergy(ctx context.Context, patientID uuid.UUID, cause string) error {
	return r.recheck(ctx, patientID, uuid.Nil, Recheck{Reason: prescription.ReasonNewAllergy, Cause: cause})
}

// RecheckForPrescription signals every other open prescription of the
// patient to check itself again, because prescription id was placed (ended
// false) or has ended.
func (r Rechecks) RecheckForPrescription(ctx context.Context, patientID, id uuid.UUID, ended bool) error {
	req := Recheck{Reason: prescription.ReasonNewMedication, Cause: workflowIDPrefix + id.String()}
	if ended {
		req.Reason = ReasonEnded
	}
	return r.recheck(ctx, patientID, id, req)
}

// recheck signals the patient's open prescriptions but exclude. A
// prescription whose run has just ended needs nothing.
func (r Rechecks) recheck(ctx context.Context, patientID, exclude uuid.UUID, req Recheck) error {
	ids, err := r.Store.OpenIDs(ctx, patientID, exclude)
	if err != nil {
		return fmt.Errorf("open prescriptions of %s: %w", patientID, err)
	}
	var errs []error
	for _, id := range ids {
		err := AskRecheck(ctx, r.Client, id, req)
		var missing *serviceerror.NotFound
		if err != nil && !errors.As(err, &missing) {
			errs = append(errs, fmt.Errorf("recheck prescription %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}
