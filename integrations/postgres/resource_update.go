package postgres

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain/audit"
)

// resourceKind is one kind of JSON resource's part in updateResource: where
// it lives, what its audit records call it, how to read its id, patient and
// version, what a change must keep, and how a new version is saved with its
// event.
type resourceKind[T any] struct {
	table  string // a constant of this package
	entity string // the audit entity type, e.g. CarePlan
	id     func(T) uuid.UUID
	// patient is the patient the resource belongs to (the audit record's).
	patient func(T) uuid.UUID
	version func(T) int
	// keeps names what next changed that a change must keep (id, patient
	// …), "" when it kept everything.
	keeps func(current, next T) string
	// save writes next over current in tx, with its event.
	save func(ctx context.Context, tx pgx.Tx, current, next T) error
}

// updateResource is the one update of every resource store: in one
// transaction it locks and loads the resource with id, applies change, and
// — unless the change kept the version — checks the invariant (what must
// not change, the version bumped by one), saves the new version with its
// event, and stores the request's audit record rec (when not nil). An error
// from change aborts the write; an unchanged resource is still audited.
func updateResource[T any](ctx context.Context, pool *pgxpool.Pool, k resourceKind[T], id uuid.UUID, rec *audit.Record,
	change func(T) (T, error)) (T, error) {
	var updated T
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		current, err := loadResource[T](ctx, tx, k.table, id, true)
		if err != nil {
			return err
		}
		next, err := change(current)
		if err != nil {
			return err
		}
		if k.version(next) == k.version(current) {
			updated = current // nothing changed
			return auditEntity(ctx, tx, rec, k.entity, k.id(current), k.patient(current))
		}
		if what := k.keeps(current, next); what != "" || k.version(next) != k.version(current)+1 {
			if what == "" {
				what = "version"
			}
			return fmt.Errorf("%s %s: a change must keep its %s and bump the version by one", k.entity, id, what)
		}
		if err := k.save(ctx, tx, current, next); err != nil {
			return err
		}
		updated = next
		return auditEntity(ctx, tx, rec, k.entity, k.id(next), k.patient(next))
	})
	return updated, err
}
