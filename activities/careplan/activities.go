// Package careplan holds the CarePlan workflow's activity: a thin read of the
// plan that tells the workflow whether the plan is still active, which
// activity occurrences are overdue and when the next one falls due.
package careplan

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/careplan"
)

// Store is what the activity needs from persistence.
type Store interface {
	Get(ctx context.Context, id uuid.UUID) (careplan.CarePlan, error)
}

// Activities are registered on the encounters task queue, beside the
// encounter's.
type Activities struct {
	store Store
}

// New returns the activities on store.
func New(store Store) *Activities { return &Activities{store: store} }

// ErrInvalidInput is the ApplicationError type of input no retry can fix.
const ErrInvalidInput = "InvalidInput"

// CheckRequest asks about a plan as of At, the workflow's time.
type CheckRequest struct {
	PlanID uuid.UUID `json:"planId"`
	At     time.Time `json:"at"`
}

// CheckResult is the plan as the reminders see it.
type CheckResult struct {
	// Active is false when the plan is not active (or does not exist): it
	// has nothing to remind of until it is active again.
	Active      bool       `json:"active"`
	Version     int        `json:"version,omitempty"`
	PatientID   uuid.UUID  `json:"patientId"`
	EncounterID *uuid.UUID `json:"encounterId,omitempty"`
	Unit        string     `json:"unit,omitempty"`
	// Overdue lists the open activity occurrences due at or before At.
	Overdue []careplan.OverdueActivity `json:"overdue,omitempty"`
	// NextDue is the earliest due time after At of an open activity.
	NextDue *time.Time `json:"nextDue,omitempty"`
}

// CheckCarePlan reads the plan and reports what is overdue at req.At and
// what falls due next. It only reads, so a retry is harmless.
func (a *Activities) CheckCarePlan(ctx context.Context, req CheckRequest) (CheckResult, error) {
	if req.PlanID == uuid.Nil || req.At.IsZero() {
		return CheckResult{}, invalid(errors.New("planId and at are required"))
	}
	p, err := a.store.Get(ctx, req.PlanID)
	if errors.Is(err, domain.ErrNotFound) {
		return CheckResult{}, nil
	}
	if err != nil {
		return CheckResult{}, err
	}
	res := CheckResult{Active: p.Status == careplan.StatusActive, Version: p.Version, PatientID: p.PatientID,
		EncounterID: p.EncounterID, Unit: p.Unit}
	if !res.Active {
		return res, nil
	}
	res.Overdue = careplan.Overdue(p, req.At)
	if next, ok := careplan.NextDue(p, req.At); ok {
		res.NextDue = &next
	}
	return res, nil
}

// invalid wraps err as a non-retryable ApplicationError.
func invalid(err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), ErrInvalidInput, err)
}
