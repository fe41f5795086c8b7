package temporal

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// starterMetrics are the starter's Prometheus metrics.
type starterMetrics struct {
	started   prometheus.Counter
	failures  prometheus.Counter
	backlog   prometheus.Gauge
	oldestAge prometheus.GaugeFunc
	leader    prometheus.Gauge

	oldest atomic.Int64 // UnixNano of the oldest waiting start; 0 when none
}

func newStarterMetrics() *starterMetrics {
	m := &starterMetrics{
		started: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "zarish_workflow_starts_total",
			Help: "Workflow starts written by a commit that this starter handed to Temporal (or found running).",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "zarish_workflow_start_errors_total",
			Help: "Tries to start a workflow that Temporal refused or did not answer; each is retried with backoff.",
		}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zarish_workflow_starts_pending",
			Help: "Workflow starts committed but not yet started.",
		}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zarish_workflow_starter_leader",
			Help: "1 while this process holds the starter lock, else 0.",
		}),
	}
	m.oldestAge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "zarish_workflow_starts_oldest_pending_seconds",
		Help: "Age of the oldest workflow start not yet started; 0 when none wait.",
	}, func() float64 {
		oldest := m.oldest.Load()
		if oldest == 0 {
			return 0
		}
		return time.Since(time.Unix(0, oldest)).Seconds()
	})
	return m
}

func (m *starterMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.started, m.failures, m.backlog, m.oldestAge, m.leader}
}

func (m *starterMetrics) setBacklog(count int64, oldest time.Time) {
	m.backlog.Set(float64(count))
	if oldest.IsZero() {
		m.oldest.Store(0)
	} else {
		m.oldest.Store(oldest.UnixNano())
	}
}
