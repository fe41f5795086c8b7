package prescription_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

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

// Ibuprofen placed after warfarin is held on the pair. A recheck naming the
// warfarin as the new medication (its event arriving late) must not lift
// that hold: the warfarin is the older order, so nobody else holds the pair.
func TestRecheckNamingAnOlderPrescriptionKeepsTheHold(t *testing.T) {
	older := activeRx(0) // created before rxID
	h := newHarness(t, patientOn(warfarin))
	var held, after prescriptionwf.State
	h.query(4*time.Minute, &held)
	h.recheck(5*time.Minute, prescriptionwf.Recheck{Reason: prescription.ReasonNewMedication, Cause: prescriptionwf.WorkflowID(older)})
	h.query(6*time.Minute, &after)
	h.stop(10 * time.Minute)
	h.run(h.input(ibuprofen))

	if held.Status != prescription.StatusOnHold || len(held.Standing()) != 1 {
		t.Fatalf("placed: %s, findings %+v", held.Status, held.Findings)
	}
	s := after.Standing()
	if after.Status != prescription.StatusOnHold || len(s) != 1 || s[0].Rule != "warfarin-nsaid" ||
		s[0].OtherPrescriptionID == nil || *s[0].OtherPrescriptionID != older || kinds(after) != "created held" {
		t.Fatalf("after the recheck naming the older order: %s, %s, findings %+v", after.Status, kinds(after), after.Findings)
	}
	if w := h.store.writtenKinds(); w != "held discontinued" {
		t.Fatalf("written %s", w)
	}
}

// A recheck naming a prescription placed after this one shows the pair
// without holding: the newer order's own checks hold it there.
func TestRecheckNamingANewerPrescriptionLeavesTheHoldToIt(t *testing.T) {
	newer := otherRx // created after rxID
	h := newHarness(t, patientOn())
	h.at(4*time.Minute, func() {
		c := patientOn(warfarin)
		c.Active[0] = newer
		h.store.set(c)
	})
	h.recheck(5*time.Minute, prescriptionwf.Recheck{Reason: prescription.ReasonNewMedication, Cause: prescriptionwf.WorkflowID(newer)})
	var after prescriptionwf.State
	h.query(6*time.Minute, &after)
	h.stop(10 * time.Minute)
	h.run(h.input(ibuprofen))

	if after.Status != prescription.StatusActive || len(after.Findings) != 1 || len(after.Standing()) != 0 ||
		kinds(after) != "created activated rechecked" || len(h.raised()) != 0 {
		t.Fatalf("after the recheck naming the newer order: %s, %s, findings %+v", after.Status, kinds(after), after.Findings)
	}
	f := after.Findings[0]
	if f.Rule != "warfarin-nsaid" || f.OtherPrescriptionID == nil || *f.OtherPrescriptionID != newer ||
		!strings.Contains(f.Detail, "held on the newer prescription "+newer.String()) {
		t.Fatalf("finding %+v", f)
	}
}
