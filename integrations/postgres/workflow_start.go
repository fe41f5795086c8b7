package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain/outbox"
)

// WorkflowStarterLockKey is the session advisory lock the workflow starter
// leader holds: "zarish" followed by lock number 3.
const WorkflowStarterLockKey int64 = 0x7a61726973680003

// workflowStartChannel is the NOTIFY channel appendWorkflowStarts signals
// on commit, waking the starter.
const workflowStartChannel = "workflow_start"

// ErrStarterLeadershipLost reports that the connection holding the starter
// lock broke, so another starter may already be starting workflows.
var ErrStarterLeadershipLost = errors.New("workflow starter leadership lost")

// maxStartError bounds the stored error of a failed start.
const maxStartError = 2000

// appendWorkflowStarts writes starts inside tx, so each workflow is started
// if and only if the write it follows commits, and wakes the starter at
// commit.
func appendWorkflowStarts(ctx context.Context, tx pgx.Tx, starts ...outbox.WorkflowStart) error {
	if len(starts) == 0 {
		return nil
	}
	for _, st := range starts {
		if err := st.Valid(); err != nil {
			return err
		}
		id, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("workflow start id: %w", err)
		}
		var input []byte
		if len(st.Input) > 0 {
			input = st.Input
		}
		search := st.SearchAttributes
		if search == nil {
			search = map[string]string{}
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO workflow_starts (id, workflow_id, workflow_type, task_queue, input, search_attributes, next_attempt_at)
			VALUES ($1, $2, $3, $4, $5, $6, now() + $7::interval)`,
			id, st.WorkflowID, st.WorkflowType, st.TaskQueue, input, search, st.Grace); err != nil {
			return fmt.Errorf("record start of %s: %w", st.WorkflowID, err)
		}
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify('`+workflowStartChannel+`', '')`); err != nil {
		return fmt.Errorf("notify workflow starter: %w", err)
	}
	return nil
}

// WorkflowStartStore is the SQL side of the workflow starter: leader
// election, the pending starts, and their outcomes.
type WorkflowStartStore struct {
	pool   *pgxpool.Pool
	listen *notifyWaiter
}

// NewWorkflowStartStore returns a store on pool. Close it before the pool:
// it may hold a LISTEN connection.
func NewWorkflowStartStore(pool *pgxpool.Pool) *WorkflowStartStore {
	return &WorkflowStartStore{pool: pool, listen: &notifyWaiter{pool: pool, channel: workflowStartChannel}}
}

// AppendWorkflowStarts writes starts in a transaction of their own, or, given
// an open pgx.Tx, in a savepoint of it; for writers outside this package.
func AppendWorkflowStarts(ctx context.Context, db interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}, starts ...outbox.WorkflowStart) error {
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error { return appendWorkflowStarts(ctx, tx, starts...) })
}

// Lead calls run while this process holds the starter lock, waiting for it
// first; see OutboxReader.Lead.
func (s *WorkflowStartStore) Lead(ctx context.Context, run func(ctx context.Context) error) error {
	return leadWithLock(ctx, s.pool, WorkflowStarterLockKey, ErrStarterLeadershipLost, run)
}

// Pending returns up to limit starts not yet started whose next attempt is
// due, oldest first.
func (s *WorkflowStartStore) Pending(ctx context.Context, limit int) ([]outbox.PendingStart, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, workflow_id, workflow_type, task_queue, input, search_attributes, attempts, last_error, created_at
		FROM workflow_starts
		WHERE started_at IS NULL AND next_attempt_at <= now()
		ORDER BY next_attempt_at, seq
		LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("read pending workflow starts: %w", err)
	}
	starts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (outbox.PendingStart, error) {
		var p outbox.PendingStart
		var input []byte
		err := row.Scan(&p.ID, &p.WorkflowID, &p.WorkflowType, &p.TaskQueue, &input, &p.SearchAttributes,
			&p.Attempts, &p.LastError, &p.CreatedAt)
		if len(input) > 0 {
			p.Input = json.RawMessage(input)
		}
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("read pending workflow starts: %w", err)
	}
	return starts, nil
}

// MarkStarted records that Temporal runs the workflow of start id (runID is
// empty when it was running already).
func (s *WorkflowStartStore) MarkStarted(ctx context.Context, id uuid.UUID, runID string) error {
	_, err := s.pool.Exec(ctx, `
		UPDATE workflow_starts SET started_at = now(), run_id = $2, last_error = ''
		WHERE id = $1 AND started_at IS NULL`, id, runID)
	if err != nil {
		return fmt.Errorf("mark workflow start %s started: %w", id, err)
	}
	return nil
}

// MarkStartedByWorkflow records that the writer itself started workflowID,
// so the starter need not; a start already marked stays as it is.
func MarkStartedByWorkflow(ctx context.Context, db interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, workflowID string) error {
	_, err := db.Exec(ctx, `
		UPDATE workflow_starts SET started_at = now(), last_error = ''
		WHERE workflow_id = $1 AND started_at IS NULL`, workflowID)
	if err != nil {
		return fmt.Errorf("mark start of %s: %w", workflowID, err)
	}
	return nil
}

// MarkFailed records a failed try of start id and when to try again.
func (s *WorkflowStartStore) MarkFailed(ctx context.Context, id uuid.UUID, cause string, retryAt time.Time) error {
	if len(cause) > maxStartError {
		cause = strings.ToValidUTF8(cause[:maxStartError], "")
	}
	_, err := s.pool.Exec(ctx, `
		UPDATE workflow_starts SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3
		WHERE id = $1 AND started_at IS NULL`, id, cause, retryAt)
	if err != nil {
		return fmt.Errorf("record failed workflow start %s: %w", id, err)
	}
	return nil
}

// WaitForNotify blocks until a transaction that wrote starts commits, or
// timeout passes; see OutboxReader.WaitForNotify.
func (s *WorkflowStartStore) WaitForNotify(ctx context.Context, timeout time.Duration) error {
	return s.listen.wait(ctx, timeout)
}

// Backlog counts the starts not yet started and dates the oldest (the zero
// time when none wait).
func (s *WorkflowStartStore) Backlog(ctx context.Context) (count int64, oldest time.Time, err error) {
	var first *time.Time
	err = s.pool.QueryRow(ctx, `
		SELECT count(*), min(created_at) FROM workflow_starts WHERE started_at IS NULL`).Scan(&count, &first)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("workflow start backlog: %w", err)
	}
	if first != nil {
		oldest = *first
	}
	return count, oldest, nil
}

// Close releases the LISTEN connection, if one is open.
func (s *WorkflowStartStore) Close() { s.listen.close() }
