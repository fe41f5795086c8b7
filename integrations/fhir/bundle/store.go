package bundle

import (
	"context"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/patient"
)

// Store is what the importer needs of the database: one transaction per
// import, carried by the context Transaction hands its function (as
// ory/hydra carries fosite's), and bulk writes inside it. The lookups and
// writes run in that transaction, and fail outside one; PreviousResults
// may read what is committed.
type Store interface {
	// Transaction runs fn in one database transaction, committed when fn
	// returns nil and rolled back, leaving nothing behind, otherwise. fn
	// may run again from the start (a concurrent import claimed one of its
	// keys first, or the observations need a table partition created
	// outside the transaction): its only effects must be through the store.
	Transaction(ctx context.Context, fn func(ctx context.Context) error) error
	// FindPatients returns, for each identifier key (patient.IdentifierKey)
	// of keys that a stored patient carries, the first such patient
	// registered.
	FindPatients(ctx context.Context, keys []string) (map[string]uuid.UUID, error)
	// Claim stores each key, naming ids[i], unless it is stored already.
	// For each it returns ids[i] when claimed now, the id it named before
	// when stored with the same hash (a replay), or uuid.Nil when stored
	// with another hash.
	Claim(ctx context.Context, keys []domain.Idempotency, ids []uuid.UUID) ([]uuid.UUID, error)
	// NextMRNs allocates n medical record numbers.
	NextMRNs(ctx context.Context, n int) ([]string, error)
	// InsertPatients stores new patients with their patient.created events.
	InsertPatients(ctx context.Context, patients []patient.Patient) error
	// PreviousResults returns, by patient, the stored results the delta
	// checks of obs compare with (see observation.DeltaLookback).
	PreviousResults(ctx context.Context, obs []observation.Observation) (map[uuid.UUID][]observation.Result, error)
	// InsertObservations stores new observations with their events:
	// observation.recorded for each patient's, observation.critical for
	// each critical value.
	InsertObservations(ctx context.Context, obs []observation.Observation) error
	// Audit stores the request's audit record.
	Audit(ctx context.Context, rec audit.Record) error
}
