// Package careplan holds the CarePlan workflow's activities: a thin read of
// the plan that tells the workflow whether the plan is still active, which
// activity occurrences are overdue and when the next one falls due; and the
// closing of reminders whose occurrence is no longer overdue.
package careplan

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/careplan"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// Store is what the activity needs from persistence.
type Store interface {
	Get(ctx context.Context, id uuid.UUID) (careplan.CarePlan, error)
}

// AlertResolver resolves an alert. Resolving one that does not exist or is
// already closed succeeds: there is nothing left to stop.
type AlertResolver interface {
	ResolveAlert(ctx context.Context, alertID, by uuid.UUID, note string) error
}

// Activities are registered on the encounters task queue, beside the
// encounter's.
type Activities struct {
	store  Store
	alerts AlertResolver
}

// New returns the activities on store, closing reminders through alerts.
func New(store Store, alerts AlertResolver) *Activities {
	return &Activities{store: store, alerts: alerts}
}

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

// SettleRequest names reminded occurrences of a plan that are no longer
// overdue, each with the alert that reminded of it.
type SettleRequest struct {
	PlanID  uuid.UUID  `json:"planId"`
	Settled []Reminder `json:"settled"`
}

// Reminder is one occurrence's alert.
type Reminder struct {
	Key     string    `json:"key"` // careplan.OverdueActivity.Key
	AlertID uuid.UUID `json:"alertId"`
}

// SettleReminders resolves the alert of each occurrence that is no longer
// overdue, in the name of whoever settled it (careplan.CarePlan.Settled), so
// a completed activity stops escalating. Resolving is idempotent, so a retry
// is harmless; an occurrence of an activity since removed is left alone.
func (a *Activities) SettleReminders(ctx context.Context, req SettleRequest) error {
	if req.PlanID == uuid.Nil {
		return invalid(errors.New("planId is required"))
	}
	p, err := a.store.Get(ctx, req.PlanID)
	if errors.Is(err, domain.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, r := range req.Settled {
		s, ok := p.Settled(r.Key)
		if !ok {
			continue
		}
		if err := a.alerts.ResolveAlert(ctx, r.AlertID, s.By, s.Note); err != nil {
			return fmt.Errorf("resolve reminder %s: %w", r.AlertID, err)
		}
	}
	return nil
}

// invalid wraps err as a non-retryable ApplicationError.
func invalid(err error) error { return process.InvalidInput(err) }
