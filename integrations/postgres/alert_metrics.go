package postgres

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// AlertMetrics are the alerts' Prometheus metrics. They are read from the
// read model when scraped, so every process exporting them agrees and a
// restart loses nothing.
type AlertMetrics struct {
	pool *pgxpool.Pool
	log  *slog.Logger

	mu   sync.Mutex
	last float64 // the last count read, kept when a scrape cannot read

	undeliverable prometheus.CounterFunc
}

// NewAlertMetrics returns the metrics of the alerts on pool.
func NewAlertMetrics(pool *pgxpool.Pool, logger *slog.Logger) *AlertMetrics {
	m := &AlertMetrics{pool: pool, log: logger}
	m.undeliverable = prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "zarish_alerts_undeliverable_total",
		Help: "Alerts that no level of their policy could deliver (nobody to notify), sent to the fallback contact instead; alert on any increase.",
	}, m.countUndeliverable)
	return m
}

// Collectors are the metrics, for the caller's registry.
func (m *AlertMetrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.undeliverable}
}

func (m *AlertMetrics) countUndeliverable() float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var n int64
	err := m.pool.QueryRow(ctx, `SELECT count(*) FROM alerts WHERE status = 'undeliverable'`).Scan(&n)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.log.Warn("count undeliverable alerts", "error", err)
		return m.last
	}
	m.last = float64(n)
	return m.last
}
