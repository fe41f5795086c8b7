package alert

import (
	"context"
	"crypto/sha256"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
)

// RaiseIdempotency is the key that makes a raise asked by a process rather
// than a caller (a consumer of events, which may see an event twice) happen
// once per key within scope: a repeat, however late, answers the alert the
// first raise came to.
func RaiseIdempotency(scope, key string) domain.Idempotency {
	return domain.Idempotency{Scope: scope, Key: key, Hash: sha256.Sum256([]byte(key))}
}

// RaiseRequest is one request to raise an alert from outside a workflow, as
// the read model records it: the alert (its AlertID chosen by the store),
// when it was asked, the request's Idempotency-Key and its audit record,
// which commit in the same transaction as the alert's row.
type RaiseRequest struct {
	Raise       Raise
	At          time.Time
	Idempotency *domain.Idempotency // nil without an Idempotency-Key
	Audit       *audit.Record       // nil when nobody audits the request
}

// Raised is what a raise came to: the alert as recorded, and whether this
// request created it. Not created means the request was answered with an
// alert that already exists: the open alert for the same patient, category
// and source (deduplicated), or the first result of a repeated
// Idempotency-Key (Replayed).
type Raised struct {
	Record   Record
	Created  bool
	Replayed bool
}

// Engine is what recording a raise asks of the workflow engine, inside the
// transaction that stores the alert: whether an alert's escalation is
// running, and starting one. The row and the start stand or fall together:
// a row that cannot be stored starts nothing, and a start that fails rolls
// the row back.
type Engine interface {
	Running(ctx context.Context, alertID uuid.UUID) (bool, error)
	Start(ctx context.Context, r Raise) error
}

// Location is where an open encounter has its patient now: the unit an
// alert raised without one goes to.
type Location struct {
	EncounterID uuid.UUID
	Unit        string
}
