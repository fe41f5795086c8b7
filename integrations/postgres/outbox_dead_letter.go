package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/outbox"
)

// entityDeadLetter names dead-lettered events in audit records.
const entityDeadLetter = "Endpoint"

// maxDeadLetterError bounds the stored refusal text.
const maxDeadLetterError = 2000

// DeadLetter moves the unsent event id from the outbox to the dead letters,
// atomically, with the refusal, how many publishes were tried and
// the event's encoded size; the relay calls it for an event the broker
// refused for good, so the events after it flow on. An event dead-lettered
// before (and requeued since) has its row updated and is dead again. An
// event no longer unsent in the outbox is left alone.
func (r *OutboxReader) DeadLetter(ctx context.Context, id uuid.UUID, size int, cause string, attempts int) error {
	if len(cause) > maxDeadLetterError {
		cause = strings.ToValidUTF8(cause[:maxDeadLetterError], "")
	}
	// One statement: the move is atomic.
	_, err := r.pool.Exec(ctx, `
		WITH moved AS (
			DELETE FROM outbox WHERE id = $1 AND sent_at IS NULL
			RETURNING id, topic, key, type, source, subject, time, data, traceparent, created_at
		)
		INSERT INTO outbox_dead_letters (id, topic, key, type, source, subject, time, data, traceparent,
		                                 size, error, attempts, written_at)
		SELECT id, topic, key, type, source, subject, time, data, traceparent, $2, $3, $4, created_at FROM moved
		ON CONFLICT (id) DO UPDATE SET
			data = excluded.data, size = excluded.size, error = excluded.error,
			attempts = outbox_dead_letters.attempts + excluded.attempts,
			failed_at = now(), status = 'dead'`,
		id, size, cause, attempts)
	if err != nil {
		return fmt.Errorf("dead-letter outbox event %s: %w", id, err)
	}
	return nil
}

// DeadLetterCount counts the dead letters waiting for an operator.
func (r *OutboxReader) DeadLetterCount(ctx context.Context) (int64, error) {
	var n int64
	if err := r.pool.QueryRow(ctx, `SELECT count(*) FROM outbox_dead_letters WHERE status = 'dead'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count outbox dead letters: %w", err)
	}
	return n, nil
}

// DeadLetterStore is the operator's side of the outbox dead letters: it
// lists them and requeues one into the outbox.
type DeadLetterStore struct {
	pool *pgxpool.Pool
}

// NewDeadLetterStore returns a store on pool.
func NewDeadLetterStore(pool *pgxpool.Pool) *DeadLetterStore {
	return &DeadLetterStore{pool: pool}
}

const deadLetterColumns = `id, topic, key, type, source, subject, time, written_at, failed_at, size,
	error, attempts, status, requeued_at, requeued_by, requeue_reason`

func scanDeadLetter(row pgx.Row) (outbox.DeadLetter, error) {
	var d outbox.DeadLetter
	err := row.Scan(&d.ID, &d.Topic, &d.Key, &d.Type, &d.Source, &d.Subject, &d.EventTime, &d.WrittenAt,
		&d.FailedAt, &d.Size, &d.Error, &d.Attempts, &d.Status, &d.RequeuedAt, &d.RequeuedBy, &d.RequeueReason)
	return d, err
}

type deadLetterCursor struct {
	FailedAt time.Time `json:"t"`
	ID       uuid.UUID `json:"id"`
}

// List returns a page of dead letters, newest failure first; ErrBadCursor
// for a cursor this store did not issue.
func (s *DeadLetterStore) List(ctx context.Context, f outbox.DeadLetterFilter) (outbox.DeadLetterPage, error) {
	q := newPageQuery(f.Limit)
	if f.Status != "" {
		q.where("status = " + q.arg(f.Status))
	}
	if f.Topic != "" {
		q.where("topic = " + q.arg(f.Topic))
	}
	if f.Type != "" {
		q.where("type = " + q.arg(f.Type))
	}
	if f.Cursor != "" {
		pos, err := decodeCursor(f.Cursor, func(p deadLetterCursor) bool { return p.ID != uuid.Nil })
		if err != nil {
			return outbox.DeadLetterPage{}, err
		}
		q.after("failed_at", pos.FailedAt, pos.ID)
	}
	rows, err := s.pool.Query(ctx, q.sql(`SELECT `+deadLetterColumns+` FROM outbox_dead_letters`, "failed_at"), q.args...)
	if err != nil {
		return outbox.DeadLetterPage{}, fmt.Errorf("list outbox dead letters: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (outbox.DeadLetter, error) { return scanDeadLetter(r) })
	if err != nil {
		return outbox.DeadLetterPage{}, fmt.Errorf("list outbox dead letters: %w", err)
	}
	var page outbox.DeadLetterPage
	page.DeadLetters, page.Next = cutPage(q, list, func(last outbox.DeadLetter) string {
		return encodeCursor(deadLetterCursor{FailedAt: last.FailedAt, ID: last.ID})
	})
	return page, nil
}

// Requeue puts dead letter id back into the outbox, under its own event id
// (consumers dedupe on it), and wakes the relay: in one transaction it
// writes the outbox row, marks the dead letter requeued by whom and why, and
// stores rec, the request's audit record, when not nil. A dead letter
// already requeued is outbox.ErrAlreadyRequeued; an unknown one
// domain.ErrNotFound.
func (s *DeadLetterStore) Requeue(ctx context.Context, id uuid.UUID, rec *audit.Record, by, reason string) (outbox.DeadLetter, error) {
	var d outbox.DeadLetter
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var status, key string
		err := tx.QueryRow(ctx, `SELECT status, key FROM outbox_dead_letters WHERE id = $1 FOR UPDATE`, id).Scan(&status, &key)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("outbox dead letter %s: %w", id, domain.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("requeue outbox dead letter %s: %w", id, err)
		}
		if status != outbox.StatusDead {
			return fmt.Errorf("outbox dead letter %s: %w", id, outbox.ErrAlreadyRequeued)
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO outbox (id, topic, key, type, source, subject, time, data, traceparent)
			SELECT id, topic, key, type, source, subject, time, data, traceparent
			FROM outbox_dead_letters WHERE id = $1
			ON CONFLICT (id) DO UPDATE SET sent_at = NULL`, id); err != nil {
			return fmt.Errorf("requeue outbox dead letter %s: %w", id, err)
		}
		d, err = scanDeadLetter(tx.QueryRow(ctx, `
			UPDATE outbox_dead_letters
			SET status = 'requeued', requeued_at = now(), requeued_by = $2, requeue_reason = $3
			WHERE id = $1
			RETURNING `+deadLetterColumns, id, by, reason))
		if err != nil {
			return fmt.Errorf("requeue outbox dead letter %s: %w", id, err)
		}
		if _, err := tx.Exec(ctx, `SELECT pg_notify('`+outboxChannel+`', '')`); err != nil {
			return fmt.Errorf("notify outbox: %w", err)
		}
		if rec == nil {
			return nil
		}
		rec.EntityType, rec.EntityID = entityDeadLetter, id.String()
		if patient, err := uuid.Parse(key); err == nil {
			rec.PatientID = &patient // the event goes downstream again
		}
		return AppendAudit(ctx, tx, *rec)
	})
	if err != nil {
		return outbox.DeadLetter{}, err
	}
	return d, nil
}
