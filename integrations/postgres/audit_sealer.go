package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/integrations/retry"
)

// AuditSealerLockKey is the session advisory lock the audit sealer leader
// holds: 0x7a61726973680002, "zarish" followed by lock number 2 (the outbox
// relay holds number 1). Only the holder seals, so one process appends the
// chain; the chain's primary key would refuse a second sealer's links anyway.
const AuditSealerLockKey int64 = 0x7a61726973680002

// ErrSealerLeadershipLost reports that the connection holding the sealer lock
// broke, so another sealer may already be sealing.
var ErrSealerLeadershipLost = errors.New("audit sealer leadership lost")

// sealCoalesce is the least time between two batches that were not full: at a
// steady trickle the sealer gathers records for this long rather than sealing
// each commit on its own.
const sealCoalesce = 20 * time.Millisecond

// AuditSealer appends every stored audit record to the hash chain: it reads
// the queue of unsealed records in insertion order, links each to the one
// before with audit.ChainHash, and in one transaction inserts the links into
// audit_seals and removes the records from the queue. Records are sealed in
// the order their transactions made them visible, so a transaction that
// commits late is sealed late, never skipped. One sealer per database leads
// (an advisory lock); the others wait.
type AuditSealer struct {
	pool    *pgxpool.Pool
	logger  *slog.Logger
	metrics *sealerMetrics

	batchSize         int
	pollInterval      time.Duration
	backlogInterval   time.Duration
	partitionInterval time.Duration
	monthsAhead       int
}

// AuditSealerOption configures NewAuditSealer.
type AuditSealerOption func(*AuditSealer)

// WithSealBatchSize sets how many records one seal transaction takes at most;
// default 2000.
func WithSealBatchSize(n int) AuditSealerOption {
	return func(s *AuditSealer) {
		if n > 0 {
			s.batchSize = n
		}
	}
}

// WithSealPollInterval sets how long the sealer waits for a commit
// notification before looking for unsealed records anyway; default 200 ms.
func WithSealPollInterval(d time.Duration) AuditSealerOption {
	return func(s *AuditSealer) {
		if d > 0 {
			s.pollInterval = d
		}
	}
}

// WithSealBacklogInterval sets how often the backlog and lag metrics are
// refreshed; default 5 s.
func WithSealBacklogInterval(d time.Duration) AuditSealerOption {
	return func(s *AuditSealer) {
		if d > 0 {
			s.backlogInterval = d
		}
	}
}

// WithAuditPartitions sets how often the leader creates upcoming monthly
// partitions (default hourly) and how many months ahead of the current one
// (default 2).
func WithAuditPartitions(every time.Duration, monthsAhead int) AuditSealerOption {
	return func(s *AuditSealer) {
		if every > 0 {
			s.partitionInterval = every
		}
		if monthsAhead >= 0 {
			s.monthsAhead = monthsAhead
		}
	}
}

// NewAuditSealer returns a sealer on pool.
func NewAuditSealer(pool *pgxpool.Pool, logger *slog.Logger, opts ...AuditSealerOption) *AuditSealer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &AuditSealer{
		pool:              pool,
		logger:            logger.With("component", "audit-sealer"),
		metrics:           newSealerMetrics(),
		batchSize:         2000,
		pollInterval:      200 * time.Millisecond,
		backlogInterval:   5 * time.Second,
		partitionInterval: time.Hour,
		monthsAhead:       2,
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Collectors returns the sealer's metrics for the caller to register: records
// sealed and seal failures (counters), the queue backlog and the seal lag —
// the age of the oldest unsealed record — (gauges), and whether this process
// leads.
func (s *AuditSealer) Collectors() []prometheus.Collector {
	return s.metrics.collectors()
}

// Run seals until ctx is cancelled, then returns nil. It waits to lead, and
// if it loses the lock it steps down and waits again. Every replica refreshes
// the backlog metrics, leader or not.
func (s *AuditSealer) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { s.watchBacklog(ctx) })

	return retry.Lead(ctx, s.logger, "audit sealer", s.lead)
}

// lead takes the sealer lock and seals while holding it. The lock connection
// also listens for commits, and every wait on it doubles as the check that
// the session, and so the lock, is still there.
func (s *AuditSealer) lead(ctx context.Context) error {
	conn, err := acquireAdvisoryLock(ctx, s.pool, AuditSealerLockKey)
	if err != nil {
		return err
	}
	// Closing the session releases the lock and the LISTEN together.
	defer closeSession(conn)
	if _, err := conn.Exec(ctx, "LISTEN "+auditChannel); err != nil {
		return fmt.Errorf("%w: listen: %v", ErrSealerLeadershipLost, err)
	}

	s.logger.Info("audit sealer leading", "batchSize", s.batchSize, "pollInterval", s.pollInterval)
	s.metrics.leader.Set(1)
	defer s.metrics.leader.Set(0)

	var (
		partitionsDue time.Time // zero: now
		lastBatch     time.Time
		lastCheck     = time.Now()
		failures      int
	)
	for {
		if !time.Now().Before(partitionsDue) {
			if err := EnsureAuditPartitions(ctx, s.pool, time.Now(), s.monthsAhead); err != nil && ctx.Err() == nil {
				s.logger.Error("audit partitions not created", "err", err)
			}
			partitionsDue = time.Now().Add(s.partitionInterval)
		}

		lastBatch = time.Now()
		n, err := s.SealOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			failures++
			s.metrics.errors.Inc()
			if failures == 1 || failures%10 == 0 {
				s.logger.Warn("audit seal failed; retrying", "err", err, "failures", failures)
			}
			if !retry.Sleep(ctx, min(time.Duration(failures)*100*time.Millisecond, 5*time.Second)) {
				return nil
			}
			continue
		}
		if failures > 0 {
			s.logger.Info("audit sealer recovered", "failures", failures)
			failures = 0
		}

		if n == s.batchSize {
			// A full batch: more are waiting. Now and then consume the
			// notifications meanwhile delivered and check the lock.
			if time.Since(lastCheck) > leadCheckInterval {
				err := waitAndDrain(ctx, conn, time.Millisecond)
				if err == nil {
					pctx, cancel := context.WithTimeout(ctx, leadCheckTimeout)
					err = conn.Ping(pctx)
					cancel()
				}
				if ctx.Err() != nil {
					return nil
				}
				if err != nil {
					return fmt.Errorf("%w: %v", ErrSealerLeadershipLost, err)
				}
				lastCheck = time.Now()
			}
			continue
		}
		if err := waitAndDrain(ctx, conn, s.pollInterval); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("%w: %v", ErrSealerLeadershipLost, err)
		}
		lastCheck = time.Now()
		if !retry.Sleep(ctx, time.Until(lastBatch.Add(sealCoalesce))) {
			return nil
		}
	}
}

// waitAndDrain waits up to timeout for a notification on conn, then consumes
// every notification already delivered, so a busy trail never piles them up
// in the server's queue. It returns an error only when the connection failed
// or ctx ended.
func waitAndDrain(ctx context.Context, conn *pgx.Conn, timeout time.Duration) error {
	wait := timeout
	for range 100_000 {
		wctx, cancel := context.WithTimeout(ctx, wait)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			wait = time.Millisecond // drain what is already there
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case wctx.Err() != nil && !conn.IsClosed():
			return nil
		default:
			return err
		}
	}
	return nil
}

// sealBatchSQL reads the oldest queued records in queue order.
const sealBatchSQL = `
	SELECT ` + auditColumns + `, q.seq
	FROM audit_unsealed q
	JOIN audit_events e ON e.id = q.event_id AND e.recorded_at = q.recorded_at
	ORDER BY q.seq
	LIMIT $1`

// SealOnce seals up to one batch of queued records and reports how many. Run
// calls it in a loop; a caller outside Run (an admin command, a test) is safe
// beside a running sealer — the chain's primary key refuses a second link
// with the same number, so one of two racing batches fails and is retried.
func (s *AuditSealer) SealOnce(ctx context.Context) (int, error) {
	var sealed int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		sealed = 0
		rows, err := tx.Query(ctx, sealBatchSQL, s.batchSize)
		if err != nil {
			return fmt.Errorf("read unsealed records: %w", err)
		}
		var (
			records []audit.Record
			seqs    []int64
		)
		for rows.Next() {
			var seq int64
			r, err := scanAuditRecord(rows, &seq)
			if err != nil {
				rows.Close()
				return fmt.Errorf("read unsealed record: %w", err)
			}
			records, seqs = append(records, r), append(seqs, seq)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read unsealed records: %w", err)
		}
		if len(records) == 0 {
			return nil
		}

		var (
			link int64
			prev = audit.Genesis
		)
		err = tx.QueryRow(ctx, `SELECT link, hash FROM audit_seals ORDER BY link DESC LIMIT 1`).Scan(&link, &prev)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("read chain head: %w", err)
		}
		n := len(records)
		links := make([]int64, n)
		eventIDs := make([]uuid.UUID, n)
		times := make([]time.Time, n)
		prevs := make([][]byte, n)
		hashes := make([][]byte, n)
		for i, r := range records {
			link++
			h := audit.ChainHash(prev, r)
			links[i], eventIDs[i], times[i], prevs[i], hashes[i] = link, r.ID, r.Time, prev, h
			prev = h
		}
		_, err = tx.Exec(ctx, `
			WITH sealed AS (
				INSERT INTO audit_seals (link, event_id, recorded_at, prev_hash, hash)
				SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::timestamptz[], $4::bytea[], $5::bytea[])
			)
			DELETE FROM audit_unsealed WHERE seq = ANY($6::bigint[])`,
			links, eventIDs, times, prevs, hashes, seqs)
		if err != nil {
			return fmt.Errorf("append %d links: %w", n, err)
		}
		sealed = n
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("seal audit records: %w", err)
	}
	s.metrics.sealed.Add(float64(sealed))
	return sealed, nil
}

// AuditBacklog reports how many audit records wait for the sealer and when
// the transaction that wrote the oldest of them began (the zero time when
// none wait).
func AuditBacklog(ctx context.Context, pool *pgxpool.Pool) (count int64, oldest time.Time, err error) {
	var first *time.Time
	err = pool.QueryRow(ctx, `SELECT count(*), min(queued_at) FROM audit_unsealed`).Scan(&count, &first)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("audit seal backlog: %w", err)
	}
	if first != nil {
		oldest = *first
	}
	return count, oldest, nil
}

// watchBacklog refreshes the backlog metrics until ctx ends.
func (s *AuditSealer) watchBacklog(ctx context.Context) {
	for {
		count, oldest, err := AuditBacklog(ctx, s.pool)
		if err == nil {
			s.metrics.setBacklog(count, oldest)
		} else if ctx.Err() == nil {
			s.logger.Debug("audit seal backlog unavailable", "err", err)
		}
		if !retry.Sleep(ctx, s.backlogInterval) {
			return
		}
	}
}

// sealerMetrics are the sealer's Prometheus metrics.
type sealerMetrics struct {
	sealed  prometheus.Counter
	errors  prometheus.Counter
	backlog prometheus.Gauge
	lag     prometheus.GaugeFunc
	leader  prometheus.Gauge

	oldest atomic.Int64 // UnixNano of the oldest unsealed record's queueing; 0 when none
}

func newSealerMetrics() *sealerMetrics {
	m := &sealerMetrics{
		sealed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "zarish_audit_sealed_records_total",
			Help: "Audit records the sealer appended to the hash chain.",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "zarish_audit_seal_errors_total",
			Help: "Seal batches that failed; each is retried.",
		}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zarish_audit_unsealed_records",
			Help: "Audit records stored but not yet sealed into the hash chain.",
		}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zarish_audit_sealer_leader",
			Help: "1 while this process holds the sealer lock and seals, else 0.",
		}),
	}
	m.lag = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "zarish_audit_seal_lag_seconds",
		Help: "Age of the oldest audit record not yet sealed; 0 when none wait.",
	}, func() float64 {
		oldest := m.oldest.Load()
		if oldest == 0 {
			return 0
		}
		return max(0, time.Since(time.Unix(0, oldest)).Seconds())
	})
	return m
}

func (m *sealerMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.sealed, m.errors, m.backlog, m.lag, m.leader}
}

func (m *sealerMetrics) setBacklog(count int64, oldest time.Time) {
	m.backlog.Set(float64(count))
	if oldest.IsZero() {
		m.oldest.Store(0)
	} else {
		m.oldest.Store(oldest.UnixNano())
	}
}

// acquireAdvisoryLock returns a session connection (sessionConn) holding
// the session advisory lock key, trying again every leadRetryInterval on
// the same session while another holds it, until ctx ends.
func acquireAdvisoryLock(ctx context.Context, pool *pgxpool.Pool, key int64) (*pgx.Conn, error) {
	var conn *pgx.Conn
	for {
		var err error
		if conn == nil {
			conn, err = sessionConn(ctx, pool)
		}
		if err == nil {
			var locked bool
			err = conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&locked)
			if err == nil && locked {
				return conn, nil
			}
			if err != nil {
				closeSession(conn)
				conn = nil
			}
		}
		if !retry.Sleep(ctx, leadRetryInterval) {
			if conn != nil {
				closeSession(conn)
			}
			return nil, fmt.Errorf("wait for advisory lock %#x: %w", key, ctx.Err())
		}
	}
}
