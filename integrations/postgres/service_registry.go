package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain/registry"
)

// registryPrune is how long after its last heartbeat an instance's row is
// kept.
const registryPrune = 24 * time.Hour

// ServiceRegistry keeps the instances' heartbeats.
type ServiceRegistry struct {
	pool *pgxpool.Pool
}

// NewServiceRegistry returns the registry on pool.
func NewServiceRegistry(pool *pgxpool.Pool) *ServiceRegistry { return &ServiceRegistry{pool: pool} }

// Beat records that b is alive now (or, with b.Stopped, that it stopped).
func (s *ServiceRegistry) Beat(ctx context.Context, b registry.Heartbeat) error {
	md := b.Metadata
	if md == nil {
		md = map[string]string{}
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO service_instances (id, service, version, host, port, health_check, metadata, started_at, last_seen_at, stopped)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (service, id) DO UPDATE SET last_seen_at = EXCLUDED.last_seen_at, stopped = EXCLUDED.stopped,
			metadata = EXCLUDED.metadata, version = EXCLUDED.version`,
		b.ID, b.Service, b.Version, b.Host, b.Port, b.HealthCheck, md, b.StartedAt, b.LastSeen, b.Stopped)
	if err != nil {
		return fmt.Errorf("heartbeat of %s: %w", b.ID, err)
	}
	return nil
}

// Heartbeats are every instance heard from within the prune window, and
// prunes the older ones.
func (s *ServiceRegistry) Heartbeats(ctx context.Context, now time.Time) ([]registry.Heartbeat, error) {
	if _, err := s.pool.Exec(ctx, `DELETE FROM service_instances WHERE last_seen_at < $1`, now.Add(-registryPrune)); err != nil {
		return nil, fmt.Errorf("prune service instances: %w", err)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT id, service, version, host, port, health_check, metadata, started_at, last_seen_at, stopped
		FROM service_instances ORDER BY service, id`)
	if err != nil {
		return nil, fmt.Errorf("service instances: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (registry.Heartbeat, error) {
		var b registry.Heartbeat
		err := r.Scan(&b.ID, &b.Service, &b.Version, &b.Host, &b.Port, &b.HealthCheck, &b.Metadata, &b.StartedAt, &b.LastSeen, &b.Stopped)
		return b, err
	})
}

// Heartbeat beats for b every interval until ctx ends, then says b stopped.
// A failed beat is logged and tried at the next interval: the registry
// shows the instance unhealthy meanwhile, which is the truth as others see
// it.
func (s *ServiceRegistry) Heartbeat(ctx context.Context, b registry.Heartbeat, interval time.Duration, logger *slog.Logger) error {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	b.StartedAt = time.Now()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		b.LastSeen = time.Now()
		if err := s.Beat(ctx, b); err != nil && ctx.Err() == nil {
			logger.Warn("heartbeat not recorded", "service", b.Service, "error", err)
		}
		select {
		case <-ctx.Done():
			b.LastSeen, b.Stopped = time.Now(), true
			stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			if err := s.Beat(stop, b); err != nil {
				logger.Warn("stop not recorded in the service registry", "service", b.Service, "error", err)
			}
			return nil
		case <-t.C:
		}
	}
}
