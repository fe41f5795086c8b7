package api

import (
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the process's Prometheus registry and the HTTP series.
type Metrics struct {
	Registry *prometheus.Registry
	duration *prometheus.HistogramVec
	requests *prometheus.CounterVec
	conns    prometheus.Gauge
	// rateLimited counts 429 answers by the kind of budget spent;
	// rateLimitFailOpen the requests let through because the store failed.
	rateLimited       *prometheus.CounterVec
	rateLimitFailOpen prometheus.Counter
}

// NewMetrics creates a registry with the Go and process collectors and the
// HTTP series: http_request_duration_seconds, http_requests_total,
// active_connections, zarish_rate_limited_total and
// zarish_rate_limit_fail_open_total.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by method, route template and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route", "status"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests served, by method, route template and status.",
		}, []string{"method", "route", "status"}),
		conns: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "active_connections",
			Help: "Open client connections to the API.",
		}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zarish_rate_limited_total",
			Help: "Requests refused with 429, by the kind of budget spent: client, ip (no valid token) or token (the token endpoint).",
		}, []string{"key_kind"}),
		rateLimitFailOpen: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "zarish_rate_limit_fail_open_total",
			Help: "Requests let through unlimited because the rate limit store failed.",
		}),
	}
	for _, kind := range []string{keyClient, keyIP, keyToken} {
		m.rateLimited.WithLabelValues(kind)
	}
	m.Registry.MustRegister(m.duration, m.requests, m.conns, m.rateLimited, m.rateLimitFailOpen,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	// A collector that fails is left out of the answer rather than
	// answering 500 with its error text: /metrics is served to anyone who
	// reaches the port, and the failure is counted in
	// promhttp_metric_handler_errors_total.
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry, ErrorHandling: promhttp.ContinueOnError})
}

// ConnState counts open connections; set it as http.Server.ConnState.
func (m *Metrics) ConnState(_ net.Conn, state http.ConnState) {
	switch state {
	case http.StateNew:
		m.conns.Inc()
	case http.StateClosed, http.StateHijacked:
		m.conns.Dec()
	}
}

func (m *Metrics) middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		status := strconv.Itoa(c.Writer.Status())
		method := methodLabel(c.Request.Method)
		m.duration.WithLabelValues(method, route, status).Observe(time.Since(start).Seconds())
		m.requests.WithLabelValues(method, route, status).Inc()
	}
}

// methodLabel is the method as metrics and span names show it: a method
// HTTP defines for our use, or OTHER, so a client inventing methods
// (XYZZY1, XYZZY2, …) cannot create new series on the unauthenticated
// /metrics. Unmatched routes are likewise one route label, "unmatched".
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return method
	}
	return "OTHER"
}
