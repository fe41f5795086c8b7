// Package procedure holds the ProcedureScheduling workflow's activities: the
// read-model write of each change with its events and audit record, and the
// allocations — the search for a slot over the resources' busy times, the
// hold, the booking, the swap of a reschedule and the release — which
// PostgreSQL keeps free of any overlap.
package procedure

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/procedure"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// Store is what the activities need from persistence.
type Store interface {
	// Record stores the procedure with a procedure.<kind> event for each
	// timeline entry it has not stored yet, and rec, in one transaction; a
	// version already stored writes nothing.
	Record(ctx context.Context, p procedure.Procedure, rec *audit.Record) error
	ListResources(ctx context.Context, kind procedure.ResourceKind, activeOnly bool) ([]procedure.Resource, error)
	Busy(ctx context.Context, resourceIDs []uuid.UUID, patientID uuid.UUID, span procedure.Period, now time.Time) (map[uuid.UUID][]procedure.Busy, error)
	Hold(ctx context.Context, procedureID uuid.UUID, allocs []procedure.Allocation, expiresAt time.Time) error
	Book(ctx context.Context, procedureID uuid.UUID, now time.Time) error
	Release(ctx context.Context, procedureID uuid.UUID) error
	Swap(ctx context.Context, procedureID uuid.UUID, allocs []procedure.Allocation) error
}

// TypeHoldLapsed is the ApplicationError type of a booking whose hold had
// lapsed: nothing was booked, and retrying will not change that.
const TypeHoldLapsed = "procedure.HoldLapsed"

// Activities are registered on the procedures task queue.
type Activities struct {
	store  Store
	now    func() time.Time
	alerts AlertResolver
}

// AlertResolver resolves an alert; one that does not exist or is closed
// needs nothing more.
type AlertResolver interface {
	ResolveAlert(ctx context.Context, alertID, by uuid.UUID, note string) error
}

// WithAlerts resolves the alerts a procedure raised through r.
func WithAlerts(r AlertResolver) Option { return func(a *Activities) { a.alerts = r } }

// Option configures the activities.
type Option func(*Activities)

// WithClock makes the activities read the time from now instead of the wall
// clock: a test environment's, whose time skips.
func WithClock(now func() time.Time) Option { return func(a *Activities) { a.now = now } }

// New returns the activities on store.
func New(store Store, opts ...Option) *Activities {
	a := &Activities{store: store, now: time.Now}
	for _, o := range opts {
		o(a)
	}
	return a
}

// RecordRequest records the procedure after its newest timeline entry.
type RecordRequest struct {
	Procedure procedure.Procedure `json:"procedure"`
	Audit     *audit.Record       `json:"audit,omitempty"`
}

// RecordProcedure writes the procedure to the read model with its events and
// audit record, in one transaction.
func (a *Activities) RecordProcedure(ctx context.Context, req RecordRequest) error {
	p := req.Procedure
	if p.Request.ID == uuid.Nil || p.Version < 1 || p.Version != len(p.Timeline) {
		return process.InvalidInput(errors.New("the procedure and its timeline are required"))
	}
	return translate(a.store.Record(ctx, p, req.Audit))
}

// HoldRequest asks for the earliest slot of the procedure in Window, held
// until ExpiresAt (booked at once when Booked, for a reschedule's swap).
// Bump lets an emergency take elective cases' slots when nothing else is
// free: then the answer names them instead of holding.
type HoldRequest struct {
	Procedure procedure.Procedure `json:"procedure"`
	Window    procedure.Period    `json:"window"`
	ExpiresAt time.Time           `json:"expiresAt"`
	Bump      bool                `json:"bump,omitempty"`
	// Swap books the new slot in place of the procedure's booked one, in
	// one transaction (a reschedule), instead of holding it.
	Swap bool `json:"swap,omitempty"`
}

// HoldResult is what a search found: the slot held (or swapped in), the
// elective procedures an emergency needs moved first, or why there is no
// slot.
type HoldResult struct {
	Held   bool                     `json:"held"`
	Slot   *procedure.Slot          `json:"slot,omitempty"`
	Bumps  []uuid.UUID              `json:"bumps,omitempty"`
	NoSlot *procedure.SearchOutcome `json:"noSlot,omitempty"`
}

// alternativesHorizon is how far past the window busy times are read, so a
// refusal can offer the nearest slots after it.
const alternativesHorizon = 14 * 24 * time.Hour

// holdAttempts bounds the searches one hold makes when other requests take
// the slot it found between its read and its write.
const holdAttempts = 8

// HoldSlot finds the earliest slot where every requirement of the
// procedure and its patient are free, and holds it (or swaps it in). The
// database refuses a slot another request took since the search read the
// busy times; the search then runs again on what is busy now.
func (a *Activities) HoldSlot(ctx context.Context, req HoldRequest) (HoldResult, error) {
	p := req.Procedure
	if p.Request.ID == uuid.Nil || !req.Window.From.Before(req.Window.To) {
		return HoldResult{}, process.InvalidInput(errors.New("the procedure and a window are required"))
	}
	all, err := a.store.ListResources(ctx, "", true)
	if err != nil {
		return HoldResult{}, err
	}
	var candidates []procedure.Resource
	for _, r := range all {
		if slices.ContainsFunc(p.Request.Requirements, r.Has) {
			candidates = append(candidates, r)
		}
	}
	ids := make([]uuid.UUID, len(candidates))
	for i, r := range candidates {
		ids[i] = r.ID
	}
	rq := p.Request
	rq.Window = req.Window
	for range holdAttempts {
		now := a.now()
		busy, err := a.store.Busy(ctx, ids, rq.PatientID, procedure.Period{From: req.Window.From, To: req.Window.To.Add(alternativesHorizon)}, now)
		if err != nil {
			return HoldResult{}, err
		}
		own(busy, rq.ID)
		s := procedure.Search{Request: rq, Resources: candidates, Busy: busy}
		found, err := procedure.FindSlot(s)
		var none *procedure.NoSlot
		if errors.As(err, &none) && req.Bump {
			s.Bump = true
			if bumped, berr := procedure.FindSlot(s); berr == nil && len(bumped.Bumps) > 0 {
				slot := withTeam(bumped.Slot, candidates)
				return HoldResult{Slot: &slot, Bumps: bumped.Bumps}, nil
			}
		}
		if errors.As(err, &none) {
			o := none.Outcome(now)
			return HoldResult{NoSlot: &o}, nil
		}
		if err != nil {
			return HoldResult{}, process.InvalidInput(err)
		}
		slot := withTeam(found.Slot, candidates)
		allocs := allocations(p, slot, candidates)
		if req.Swap {
			err = a.store.Swap(ctx, rq.ID, allocs)
		} else {
			err = a.store.Hold(ctx, rq.ID, allocs, req.ExpiresAt)
		}
		var taken *procedure.SlotTaken
		if errors.As(err, &taken) {
			continue // taken since the read: search again
		}
		if err != nil {
			return HoldResult{}, err
		}
		return HoldResult{Held: true, Slot: &slot}, nil
	}
	return HoldResult{}, fmt.Errorf("procedure %s: the slots found were taken %d times in a row", rq.ID, holdAttempts)
}

// own drops the procedure's own allocations from busy: a search for a new
// slot of a procedure holding one may reuse its time.
func own(busy map[uuid.UUID][]procedure.Busy, id uuid.UUID) {
	for k, spans := range busy {
		busy[k] = slices.DeleteFunc(spans, func(b procedure.Busy) bool { return b.ProcedureID == id })
	}
}

// withTeam is the slot with the practitioners of its staff resources.
func withTeam(s procedure.Slot, resources []procedure.Resource) procedure.Slot {
	s.Team = nil
	for _, group := range s.Resources {
		for _, id := range group {
			i := slices.IndexFunc(resources, func(r procedure.Resource) bool { return r.ID == id })
			if i >= 0 && resources[i].PractitionerID != nil && !slices.Contains(s.Team, *resources[i].PractitionerID) {
				s.Team = append(s.Team, *resources[i].PractitionerID)
			}
		}
	}
	return s
}

// allocations are the rows the slot takes: each chosen resource with its
// turnover, and the patient.
func allocations(p procedure.Procedure, s procedure.Slot, resources []procedure.Resource) []procedure.Allocation {
	rq := p.Request
	out := []procedure.Allocation{{ProcedureID: rq.ID, ResourceID: rq.PatientID, Kind: procedure.KindPatient,
		Period: s.Period, Priority: rq.Priority}}
	for _, group := range s.Resources {
		for _, id := range group {
			i := slices.IndexFunc(resources, func(r procedure.Resource) bool { return r.ID == id })
			if i < 0 {
				continue
			}
			r := resources[i]
			out = append(out, procedure.Allocation{ProcedureID: rq.ID, ResourceID: r.ID, Kind: r.Kind, Period: s.Period,
				Turnover: r.Turnover, Priority: rq.Priority})
		}
	}
	return out
}

// BookRequest confirms the procedure's hold.
type BookRequest struct {
	ProcedureID uuid.UUID `json:"procedureId"`
}

// BookHold turns the procedure's holds into bookings. A hold that lapsed is
// a TypeHoldLapsed refusal, never retried.
func (a *Activities) BookHold(ctx context.Context, req BookRequest) error {
	err := a.store.Book(ctx, req.ProcedureID, a.now())
	if errors.Is(err, procedure.ErrHoldLapsed) {
		return temporal.NewNonRetryableApplicationError(err.Error(), TypeHoldLapsed, err)
	}
	return err
}

// ReleaseRequest frees every allocation of a procedure.
type ReleaseRequest struct {
	ProcedureID uuid.UUID `json:"procedureId"`
}

// ReleaseSlot deletes the procedure's allocations; releasing twice is
// harmless.
func (a *Activities) ReleaseSlot(ctx context.Context, req ReleaseRequest) error {
	return a.store.Release(ctx, req.ProcedureID)
}

// ResolveRequest closes an alert a step made moot.
type ResolveRequest struct {
	AlertID uuid.UUID `json:"alertId"`
	By      uuid.UUID `json:"by"`
	Note    string    `json:"note"`
}

// ResolveAlert resolves the alert; resolving is idempotent, so a retry is
// harmless.
func (a *Activities) ResolveAlert(ctx context.Context, req ResolveRequest) error {
	if req.AlertID == uuid.Nil {
		return process.InvalidInput(errors.New("alertId is required"))
	}
	if a.alerts == nil {
		return process.InvalidInput(errors.New("no alert resolver is configured"))
	}
	return a.alerts.ResolveAlert(ctx, req.AlertID, req.By, req.Note)
}

// translate makes the store's final refusals non-retryable.
func translate(err error) error {
	var v *domain.ValidationError
	if err != nil && (errors.Is(err, domain.ErrNotFound) || errors.As(err, &v)) {
		return process.InvalidInput(err)
	}
	return err
}
