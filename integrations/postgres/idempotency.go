package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
)

// errIdempotencyRace means a concurrent request with the same key committed
// first; the caller's transaction is retried and then reads its result.
var errIdempotencyRace = errors.New("idempotency race")

// claimIdempotency is the one Idempotency-Key mechanism of every store: run
// first inside the transaction of the write it guards, before any side
// effect. With nil idem it does nothing. A key seen before with the same
// body returns the resource the first request created (replay true); with
// another body, domain.ErrIdempotencyMismatch. A new key is stored naming
// resourceID, committing or rolling back with the write.
func claimIdempotency(ctx context.Context, tx pgx.Tx, idem *domain.Idempotency, resourceID uuid.UUID) (existing uuid.UUID, replay bool, err error) {
	if idem == nil {
		return uuid.Nil, false, nil
	}
	var stored []byte
	err = tx.QueryRow(ctx, `SELECT resource_id, request_hash FROM idempotency_keys WHERE scope = $1 AND key = $2`,
		idem.Scope, idem.Key).Scan(&existing, &stored)
	switch {
	case err == nil:
		if !bytes.Equal(stored, idem.Hash[:]) {
			return uuid.Nil, false, domain.ErrIdempotencyMismatch
		}
		return existing, true, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return uuid.Nil, false, fmt.Errorf("idempotency lookup: %w", err)
	}
	tag, err := tx.Exec(ctx, `
		INSERT INTO idempotency_keys (scope, key, request_hash, resource_id)
		VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
		idem.Scope, idem.Key, idem.Hash[:], resourceID)
	if err != nil {
		return uuid.Nil, false, fmt.Errorf("record idempotency key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return uuid.Nil, false, errIdempotencyRace
	}
	return uuid.Nil, false, nil
}

// withIdempotency runs fn in a transaction, once more if a concurrent
// request with the same key won the race (fn then sees the replay).
func withIdempotency(ctx context.Context, db interface {
	Begin(context.Context) (pgx.Tx, error)
}, fn func(tx pgx.Tx) error) error {
	err := pgx.BeginFunc(ctx, db, fn)
	if errors.Is(err, errIdempotencyRace) {
		err = pgx.BeginFunc(ctx, db, fn)
	}
	return err
}

// StepKeys claims the Idempotency-Keys of workflow steps (api.StepKeys).
type StepKeys struct{ pool *pgxpool.Pool }

// NewStepKeys returns the step key claims on pool.
func NewStepKeys(pool *pgxpool.Pool) *StepKeys { return &StepKeys{pool: pool} }

// ClaimStep records idem for a step on resource in a transaction of its
// own, or finds it recorded: replay true with the same body,
// domain.ErrIdempotencyMismatch with another.
func (k *StepKeys) ClaimStep(ctx context.Context, idem domain.Idempotency, resource uuid.UUID) (replay bool, err error) {
	err = withIdempotency(ctx, k.pool, func(tx pgx.Tx) error {
		_, replay, err = claimIdempotency(ctx, tx, &idem, resource)
		return err
	})
	if err != nil {
		return false, translate(err, "claim step Idempotency-Key")
	}
	return replay, nil
}
