package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

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

// auditWrite completes rec, when not nil, with the entity a write that
// concerns no patient (the directory, policies) touched, and stores it in
// tx, so it commits with the write.
func auditWrite(ctx context.Context, tx pgx.Tx, rec *audit.Record, entityType, entityID string) error {
	if rec == nil {
		return nil
	}
	rec.EntityType = entityType
	rec.EntityID = entityID
	return AppendAudit(ctx, tx, *rec)
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

// listResources runs sql, whose one column is the resource of table, and
// decodes every row into T; no rows is an empty, non-nil slice.
func listResources[T any](ctx context.Context, q rowsQuerier, table, sql string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", table, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("list %s: %w", table, err)
		}
		v, err := decodeResource[T](table, raw, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", table, err)
	}
	return out, nil
}

// writeError translates a unique violation on a write of the resource kind
// with id to domain.ErrConflict, and wraps any other error with op.
func writeError(kind, op string, id uuid.UUID, err error) error {
	return translate(err, fmt.Sprintf("%s %s %s", op, kind, id))
}

// resourceEvent is a change of one patient's resource, published on the
// clinical topic keyed by the patient with the resource as its data.
type resourceEvent struct {
	Type      string // e.g. careplan.updated
	PatientID uuid.UUID
	Source    string // the API collection, e.g. /v1/clinical/care-plans
	Subject   string // e.g. CarePlan/<id>
	Time      time.Time
	Resource  any
	// Link is the API path of the resource, e.g. /v1/clinical/notes/<id>:
	// where a consumer of an event too large to carry it reads it.
	Link string
}

// appendResourceEvent writes e to the outbox in tx under a fresh id.
func appendResourceEvent(ctx context.Context, tx pgx.Tx, newID func() (uuid.UUID, error), e resourceEvent) error {
	id, err := newID()
	if err != nil {
		return fmt.Errorf("event id: %w", err)
	}
	data, err := json.Marshal(e.Resource)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", e.Type, err)
	}
	return appendOutbox(ctx, tx, OutboxEvent{
		ID:      id,
		Topic:   ClinicalTopic,
		Key:     e.PatientID.String(),
		Type:    e.Type,
		Source:  e.Source,
		Subject: e.Subject,
		Time:    e.Time,
		Data:    data,
		Link:    e.Link,
	})
}
