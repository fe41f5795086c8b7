package prescription_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/mocks"

	"github.com/zarish-sphere/zarish/domain/prescription"
	prescriptionwf "github.com/zarish-sphere/zarish/workflows/prescription"
)

// openStore lists the patient's open prescriptions.
type openStore struct {
	ids []uuid.UUID
	err error
}

func (s openStore) OpenIDs(_ context.Context, patientID, exclude uuid.UUID) ([]uuid.UUID, error) {
	if patientID != patient || exclude != uuid.Nil {
		return nil, errors.New("wrong patient or exclusion")
	}
	return s.ids, s.err
}

// A new allergy asks each of the patient's open prescriptions to check
// itself; one whose run has just ended is passed over, other failures are
// reported for the retry.
func TestRecheckForAllergy(t *testing.T) {
	ended, failing := activeRx(1), activeRx(2)
	c := &mocks.Client{}
	var asked []string
	c.On("SignalWorkflow", mock.Anything, mock.Anything, "", prescriptionwf.SignalRecheck, mock.Anything).Return(
		func(_ context.Context, workflowID, _, _ string, arg any) error {
			if r, ok := arg.(prescriptionwf.Recheck); !ok || r.Reason != prescription.ReasonNewAllergy || r.Cause != "allergy/7" {
				t.Errorf("signalled %s with %+v", workflowID, arg)
			}
			asked = append(asked, workflowID)
			switch workflowID {
			case prescriptionwf.WorkflowID(ended):
				return serviceerror.NewNotFound("workflow execution already completed")
			case prescriptionwf.WorkflowID(failing):
				return serviceerror.NewUnavailable("frontend down")
			}
			return nil
		})
	r := prescriptionwf.Rechecks{Client: c, Store: openStore{ids: []uuid.UUID{activeRx(0), ended, failing, otherRx}}}
	err := r.RecheckForAllergy(context.Background(), patient, "allergy/7")
	if len(asked) != 4 || asked[3] != prescriptionwf.WorkflowID(otherRx) {
		t.Fatalf("asked %v", asked)
	}
	if err == nil || !strings.Contains(err.Error(), failing.String()) || strings.Contains(err.Error(), ended.String()) {
		t.Fatalf("error %v, want only %s's", err, failing)
	}

	down := errors.New("connection refused")
	r = prescriptionwf.Rechecks{Client: &mocks.Client{}, Store: openStore{err: down}}
	if err := r.RecheckForAllergy(context.Background(), patient, "allergy/7"); !errors.Is(err, down) {
		t.Fatalf("store down: %v", err)
	}
}
