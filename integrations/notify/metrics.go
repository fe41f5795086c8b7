package notify

import "github.com/prometheus/client_golang/prometheus"

// metrics are the dispatcher's Prometheus metrics; Dispatcher.Collectors
// exposes them for the caller's registry.
type metrics struct {
	requests   *prometheus.CounterVec
	delivered  *prometheus.CounterVec
	failed     *prometheus.CounterVec
	dead       *prometheus.CounterVec
	queueDepth prometheus.Gauge
	// deadLetters is read from the store, so it falls when an operator
	// requeues a notification and agrees across dispatchers.
	deadLetters *prometheus.GaugeVec
}

func newMetrics() *metrics {
	return &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zarish_notify_requests_total",
			Help: "Messages read from the notifications topic, by result: accepted, duplicate, skipped (another event type) or rejected (malformed).",
		}, []string{"result"}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zarish_notify_delivered_total",
			Help: "Notifications delivered, by channel.",
		}, []string{"channel"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zarish_notify_failed_attempts_total",
			Help: "Delivery attempts that failed, by channel (retried or dead-lettered).",
		}, []string{"channel"}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zarish_notify_dead_lettered_total",
			Help: "Notifications given up on (permanent failure or attempts exhausted), by channel.",
		}, []string{"channel"}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zarish_notify_queue_depth",
			Help: "Notifications accepted and waiting to be delivered.",
		}),
		deadLetters: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "zarish_notify_dead_letters",
			Help: "Notifications dead-lettered and not requeued (nobody has them), by channel; alert on any above zero.",
		}, []string{"channel"}),
	}
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.requests, m.delivered, m.failed, m.dead, m.queueDepth, m.deadLetters}
}
