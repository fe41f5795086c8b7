package kafka

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// relayMetrics are the relay's Prometheus metrics; Relay.Collectors exposes
// them for the caller's registry.
type relayMetrics struct {
	published *prometheus.CounterVec
	errors    prometheus.Counter
	backlog   prometheus.Gauge
	oldestAge prometheus.GaugeFunc
	leader    prometheus.Gauge
	// deadLetters counts events moved to the dead letters, by topic;
	// deadLetterRows is how many wait for an operator.
	deadLetters    *prometheus.CounterVec
	deadLetterRows prometheus.Gauge

	oldest atomic.Int64 // UnixNano of the oldest unsent event's write; 0 when none
}

func newRelayMetrics() *relayMetrics {
	m := &relayMetrics{
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zarish_outbox_published_events_total",
			Help: "Outbox events the relay published to Kafka and marked sent, by topic.",
		}, []string{"topic"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "zarish_outbox_publish_errors_total",
			Help: "Writes of outbox events Kafka did not acknowledge; each is retried, or halved when refused for good.",
		}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zarish_outbox_backlog_events",
			Help: "Outbox events written but not yet published.",
		}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zarish_outbox_relay_leader",
			Help: "1 while this process holds the relay lock and publishes, else 0.",
		}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zarish_outbox_dead_letters_total",
			Help: "Outbox events Kafka refused for good, moved to the dead letters by this relay, by topic.",
		}, []string{"topic"}),
		deadLetterRows: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zarish_outbox_dead_letter_events",
			Help: "Dead-lettered outbox events waiting for an operator to requeue them.",
		}),
	}
	m.oldestAge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "zarish_outbox_oldest_unsent_seconds",
		Help: "Age of the oldest outbox event not yet published; 0 when none wait.",
	}, func() float64 {
		oldest := m.oldest.Load()
		if oldest == 0 {
			return 0
		}
		return time.Since(time.Unix(0, oldest)).Seconds()
	})
	return m
}

func (m *relayMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.published, m.errors, m.backlog, m.oldestAge, m.leader, m.deadLetters, m.deadLetterRows}
}

func (m *relayMetrics) setBacklog(count int64, oldest time.Time) {
	m.backlog.Set(float64(count))
	if oldest.IsZero() {
		m.oldest.Store(0)
	} else {
		m.oldest.Store(oldest.UnixNano())
	}
}
