package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// OutboxRelayLockKey is the session advisory lock the outbox relay leader
// holds: 0x7a61726973680001, "zarish" followed by lock number 1. Only the
// holder publishes, so a patient's events reach Kafka in the order they were
// written. Advisory locks are per database, so relays of different databases
// never contend.
const OutboxRelayLockKey int64 = 0x7a61726973680001

// outboxChannel is the NOTIFY channel appendOutbox signals on commit.
const outboxChannel = "outbox"

// ErrLeadershipLost reports that the connection holding the relay lock broke,
// so the lock is gone and another relay may already be publishing.
var ErrLeadershipLost = errors.New("outbox relay leadership lost")

// How often Lead retries the lock while another relay holds it, and how often
// the leader checks that its lock connection is still alive.
const (
	leadRetryInterval = time.Second
	leadCheckInterval = time.Second
	leadCheckTimeout  = 5 * time.Second
)

// OutboxReader is the SQL side of the outbox relay: leader election, reading
// unsent events in order, marking them sent, and waking on commits.
type OutboxReader struct {
	pool   *pgxpool.Pool
	listen *notifyWaiter // LISTEN outbox, opened on the first wait
}

// NewOutboxReader returns a reader on pool. Close it before the pool: it may
// hold a LISTEN connection.
func NewOutboxReader(pool *pgxpool.Pool) *OutboxReader {
	return &OutboxReader{pool: pool, listen: &notifyWaiter{pool: pool, channel: outboxChannel}}
}

// AppendOutbox writes events for producers with no store transaction of their
// own. Given a pool it writes them in a transaction of their own; given an
// open pgx.Tx it writes them in a savepoint, so they commit or roll back with
// that transaction. Stores that change data call appendOutbox inside their own
// transaction instead.
func AppendOutbox(ctx context.Context, db interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}, events ...OutboxEvent) error {
	if len(events) == 0 {
		return nil
	}
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		return appendOutbox(ctx, tx, events...)
	})
}

// Lead takes the relay lock on a dedicated connection, trying again every
// second while another relay holds it, and calls run while holding it. The
// lock is released when run returns. If the lock connection breaks, run's
// context is cancelled and Lead returns an error wrapping ErrLeadershipLost.
// If ctx ends before the lock is taken, Lead returns ctx's error.
func (r *OutboxReader) Lead(ctx context.Context, run func(ctx context.Context) error) error {
	return leadWithLock(ctx, r.pool, OutboxRelayLockKey, ErrLeadershipLost, run)
}

// Unsent returns up to limit unsent events in insertion (seq) order. It reads
// every unsent row rather than resuming after the last one seen: transactions
// commit out of seq order, so a row with a lower seq can appear later.
func (r *OutboxReader) Unsent(ctx context.Context, limit int) ([]OutboxEvent, error) {
	rows, err := r.pool.Query(ctx, `
		SELECT id, topic, key, type, source, subject, time, data, traceparent
		FROM outbox
		WHERE sent_at IS NULL
		ORDER BY seq
		LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("read unsent outbox: %w", err)
	}
	events, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (OutboxEvent, error) {
		var e OutboxEvent
		err := row.Scan(&e.ID, &e.Topic, &e.Key, &e.Type, &e.Source, &e.Subject, &e.Time, &e.Data, &e.TraceParent)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("read unsent outbox: %w", err)
	}
	return events, nil
}

// MarkSent records that the events with ids reached Kafka.
func (r *OutboxReader) MarkSent(ctx context.Context, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := r.pool.Exec(ctx, `
		UPDATE outbox SET sent_at = now()
		WHERE id = ANY($1) AND sent_at IS NULL`, ids)
	if err != nil {
		return fmt.Errorf("mark %d outbox events sent: %w", len(ids), err)
	}
	return nil
}

// WaitForNotify blocks until a transaction that wrote outbox rows commits, or
// until timeout passes, and returns nil in both cases: either way it is time
// to look for unsent rows. It listens on a dedicated connection, opened on the
// first call and kept until Close; commits notified while nobody waits are
// delivered on the next call. It returns an error when ctx ends or the
// connection fails (the next call opens a new one).
func (r *OutboxReader) WaitForNotify(ctx context.Context, timeout time.Duration) error {
	return r.listen.wait(ctx, timeout)
}

// Close releases the LISTEN connection, if one is open, once any
// WaitForNotify in progress returns.
func (r *OutboxReader) Close() { r.listen.close() }

// Backlog reports how many events are unsent and when the oldest of them was
// written (the zero time when none are).
func (r *OutboxReader) Backlog(ctx context.Context) (count int64, oldest time.Time, err error) {
	var first *time.Time
	err = r.pool.QueryRow(ctx, `
		SELECT count(*),
		       (SELECT created_at FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT 1)
		FROM outbox
		WHERE sent_at IS NULL`).Scan(&count, &first)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("outbox backlog: %w", err)
	}
	if first != nil {
		oldest = *first
	}
	return count, oldest, nil
}

// purgeBatch bounds each PurgeSent delete so no single statement holds locks
// on a large part of the table.
const purgeBatch = 10_000

// PurgeSent deletes events sent more than olderThan ago and reports how many
// it deleted. Unsent events are never deleted.
func (r *OutboxReader) PurgeSent(ctx context.Context, olderThan time.Duration) (int64, error) {
	var total int64
	for {
		tag, err := r.pool.Exec(ctx, `
			DELETE FROM outbox
			WHERE id IN (
				SELECT id FROM outbox
				WHERE sent_at < now() - $1::float8 * interval '1 second'
				LIMIT $2)`, olderThan.Seconds(), purgeBatch)
		if err != nil {
			return total, fmt.Errorf("purge sent outbox: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < purgeBatch {
			return total, nil
		}
	}
}
