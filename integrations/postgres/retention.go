package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// RetentionLockKey is the session advisory lock the retention leader holds:
// "zarish" followed by lock number 5.
const RetentionLockKey int64 = 0x7a61726973680005

// ErrRetentionLeadershipLost reports that the connection holding the
// retention lock broke.
var ErrRetentionLeadershipLost = errors.New("retention leadership lost")

// retentionBatch bounds the rows one statement purges, so a first run over
// a year of rows holds no lock for long.
const retentionBatch = 5000

// RetentionPolicy is how long the engine keeps the working copies of
// patient data its machinery leaves behind, once they have done their job.
// A zero duration keeps them for ever. The clinical record itself — and the
// audit trail, which is never rewritten — is outside it.
type RetentionPolicy struct {
	// OutboxSent is how long an event stays in the outbox after Kafka took
	// it (the broker's topic retention governs it from then on).
	OutboxSent time.Duration
	// WorkflowStarts is how long a start row, which holds the workflow's
	// input, stays once its workflow started.
	WorkflowStarts time.Duration
	// Idempotency is how long an Idempotency-Key answers a repeated request
	// with its first result.
	Idempotency time.Duration
	// Notifications is how long a delivered or abandoned notification keeps
	// its text and address: after it, the delivery record (who, when, which
	// channel, the provider's receipt) stays and the copy of the message
	// goes; read inbox items older than it go.
	Notifications time.Duration
	// WebhookDeliveries is how long a delivered webhook's log entry stays.
	WebhookDeliveries time.Duration
}

// retentionRule purges one kind of row older than its cutoff, a batch at a
// time, reporting the rows it touched.
type retentionRule struct {
	name  string
	keep  func(RetentionPolicy) time.Duration
	query string // $1 is the cutoff, $2 the batch size
}

var retentionRules = []retentionRule{
	{"outbox", func(p RetentionPolicy) time.Duration { return p.OutboxSent }, `
		DELETE FROM outbox WHERE id IN (
			SELECT id FROM outbox WHERE sent_at IS NOT NULL AND sent_at < $1 LIMIT $2)`},
	{"workflow_starts", func(p RetentionPolicy) time.Duration { return p.WorkflowStarts }, `
		DELETE FROM workflow_starts WHERE id IN (
			SELECT id FROM workflow_starts WHERE started_at IS NOT NULL AND started_at < $1 LIMIT $2)`},
	{"idempotency_keys", func(p RetentionPolicy) time.Duration { return p.Idempotency }, `
		DELETE FROM idempotency_keys WHERE (scope, key) IN (
			SELECT scope, key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)`},
	{"notifications", func(p RetentionPolicy) time.Duration { return p.Notifications }, `
		UPDATE notifications SET subject = '', body = '', address = '', recipient_name = '', updated_at = now()
		WHERE id IN (
			SELECT id FROM notifications
			WHERE status IN ('delivered', 'dead') AND updated_at < $1 AND (body <> '' OR subject <> '' OR address <> '')
			LIMIT $2)`},
	{"inbox_items", func(p RetentionPolicy) time.Duration { return p.Notifications }, `
		DELETE FROM inbox_items WHERE id IN (
			SELECT id FROM inbox_items WHERE read_at IS NOT NULL AND read_at < $1 LIMIT $2)`},
	{"subscription_deliveries", func(p RetentionPolicy) time.Duration { return p.WebhookDeliveries }, `
		DELETE FROM subscription_deliveries WHERE id IN (
			SELECT id FROM subscription_deliveries WHERE status = 'delivered' AND updated_at < $1 LIMIT $2)`},
}

// Retention purges, on a schedule, what the policy no longer keeps. Several
// may run; one leads.
type Retention struct {
	pool   *pgxpool.Pool
	policy RetentionPolicy
	every  time.Duration
	log    *slog.Logger

	purged  *prometheus.CounterVec
	lastRun prometheus.Gauge
}

// NewRetention returns the purge of policy on pool, run every interval.
func NewRetention(pool *pgxpool.Pool, policy RetentionPolicy, every time.Duration, logger *slog.Logger) *Retention {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if every <= 0 {
		every = time.Hour
	}
	return &Retention{pool: pool, policy: policy, every: every, log: logger.With("component", "retention"),
		purged: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zarish_retention_purged_rows_total",
			Help: "Rows the retention policy purged (or, for notifications, stripped of their text), by table.",
		}, []string{"table"}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zarish_retention_last_run_timestamp_seconds",
			Help: "When this process last completed a retention run (Unix seconds); zero until it leads.",
		})}
}

// Collectors are the retention metrics, for the caller to register.
func (r *Retention) Collectors() []prometheus.Collector {
	return []prometheus.Collector{r.purged, r.lastRun}
}

// Purge applies the policy once, as of now, and returns the rows each
// table lost.
func (r *Retention) Purge(ctx context.Context, now time.Time) (map[string]int64, error) {
	out := map[string]int64{}
	for _, rule := range retentionRules {
		keep := rule.keep(r.policy)
		if keep <= 0 {
			continue
		}
		cutoff := now.Add(-keep)
		for {
			tag, err := r.pool.Exec(ctx, rule.query, cutoff, retentionBatch)
			if err != nil {
				return out, fmt.Errorf("retention of %s: %w", rule.name, err)
			}
			n := tag.RowsAffected()
			out[rule.name] += n
			r.purged.WithLabelValues(rule.name).Add(float64(n))
			if n < retentionBatch {
				break
			}
		}
	}
	return out, nil
}

// Run leads the purge until ctx ends: once on taking the lead, then every
// interval. A failed run is logged and tried again at the next.
func (r *Retention) Run(ctx context.Context) error {
	for {
		err := leadWithLock(ctx, r.pool, RetentionLockKey, ErrRetentionLeadershipLost, func(ctx context.Context) error {
			t := time.NewTicker(r.every)
			defer t.Stop()
			for {
				purged, err := r.Purge(ctx, time.Now())
				switch {
				case ctx.Err() != nil:
					return ctx.Err()
				case err != nil:
					r.log.WarnContext(ctx, "retention run failed", "error", err)
				default:
					r.lastRun.SetToCurrentTime()
					r.log.InfoContext(ctx, "retention run", "purged", purged)
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-t.C:
				}
			}
		})
		if ctx.Err() != nil {
			return nil
		}
		r.log.WarnContext(ctx, "retention stepped down", "error", err)
	}
}
