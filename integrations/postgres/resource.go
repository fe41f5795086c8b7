package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
)

// querier runs a single-row query: a pool, a connection or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// loadResource reads the JSON resource column of the row with id in table
// (a constant of this package), locking the row when forUpdate.
func loadResource[T any](ctx context.Context, q querier, table string, id uuid.UUID, forUpdate bool) (T, error) {
	sql := `SELECT resource FROM ` + table + ` WHERE id = $1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	var raw []byte
	err := q.QueryRow(ctx, sql, id).Scan(&raw)
	return decodeResource[T](table, raw, err)
}

// decodeResource turns a scanned resource column into T: no rows is
// domain.ErrNotFound.
func decodeResource[T any](table string, raw []byte, err error) (T, error) {
	var v T
	if errors.Is(err, pgx.ErrNoRows) {
		return v, domain.ErrNotFound
	}
	if err != nil {
		return v, fmt.Errorf("load from %s: %w", table, err)
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("decode from %s: %w", table, err)
	}
	return v, nil
}

// auditEntity completes rec, when not nil, with the entity and patient a
// write concerns and stores it in tx, so it commits with the write.
func auditEntity(ctx context.Context, tx pgx.Tx, rec *audit.Record, entityType string, entityID, patientID uuid.UUID) error {
	if rec == nil {
		return nil
	}
	rec.PatientID = &patientID
	rec.EntityType = entityType
	rec.EntityID = entityID.String()
	return AppendAudit(ctx, tx, *rec)
}
