// Package encounter holds the Encounter workflow's activities: thin,
// idempotent steps that record each change of an encounter in the read model
// and its event in the outbox, in one transaction.
package encounter

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// Store is what the activities need from persistence.
type Store interface {
	RecordCreated(ctx context.Context, s encounter.State) error
	RecordTransition(ctx context.Context, s encounter.State, e encounter.Entry, rec *audit.Record) error
}

// Activities are registered on the encounters task queue.
type Activities struct {
	store Store
}

// New returns the activities on store.
func New(store Store) *Activities { return &Activities{store: store} }

// CreatedRequest records a new encounter.
type CreatedRequest struct {
	State encounter.State `json:"state"`
}

// RecordCreated adds the encounter to the read model and writes encounter.created.
func (a *Activities) RecordCreated(ctx context.Context, req CreatedRequest) error {
	if err := req.State.Details.Validate(); err != nil {
		return invalid(err)
	}
	return translate(a.store.RecordCreated(ctx, req.State))
}

// TransitionRequest records one timeline entry: the state after it and the
// entry, whose seq is the idempotency key.
type TransitionRequest struct {
	State encounter.State `json:"state"`
	Entry encounter.Entry `json:"entry"`
	// Audit is the audit record of the request that asked for the change,
	// stored with it; nil for changes other processes signal.
	Audit *audit.Record `json:"audit,omitempty"`
}

// RecordTransition records the entry in the read model and, for a
// transition, writes its encounter.<kind> event (encounter.discharged with
// the encounter's summary).
func (a *Activities) RecordTransition(ctx context.Context, req TransitionRequest) error {
	if req.State.Details.EncounterID == uuid.Nil || req.Entry.Seq < 1 || req.Entry.Seq > len(req.State.Timeline) {
		return invalid(fmt.Errorf("entry %d is not in the timeline of encounter %s", req.Entry.Seq, req.State.Details.EncounterID))
	}
	rec := req.Audit
	if rec != nil && req.Entry.Kind == encounter.EventDischarged {
		if d := encounter.ForcedDischarge(req.State); d != "" {
			forced := *rec
			forced.Description = d
			rec = &forced
		}
	}
	return translate(a.store.RecordTransition(ctx, req.State, req.Entry, rec))
}

// invalid wraps err as a non-retryable ApplicationError.
func invalid(err error) error { return process.InvalidInput(err) }

// translate makes errors no retry can fix non-retryable: a missing encounter
// or invalid data. Anything else (a database outage) is retried.
func translate(err error) error {
	var v *domain.ValidationError
	if err != nil && (errors.Is(err, domain.ErrNotFound) || errors.As(err, &v)) {
		return invalid(err)
	}
	return err
}
