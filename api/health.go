package api

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// Check reports whether one dependency answers.
type Check func(ctx context.Context) error

// Health runs the dependency checks for /health and /ready.
type Health struct {
	checks  map[string]Check
	started time.Time
	timeout time.Duration

	// reuse is how long an all-healthy result answers further probes
	// (HEALTH_CHECK_INTERVAL), so frequent probes do not each hit every
	// dependency; a failure is checked again on the next probe.
	reuse time.Duration
	mu    sync.Mutex
	at    time.Time
	ok    map[string]error
	// readyOn are the checks /ready waits for; nil means every check.
	readyOn []string
}

// ReadyOn makes /ready wait for the named checks alone: the others are
// reported, by /health and /ready alike, but hold no traffic back. The API
// is ready once PostgreSQL answers: the outbox exists so that a broker
// outage does not stop patient care.
func (h *Health) ReadyOn(names ...string) *Health {
	h.readyOn = names
	return h
}

// ReuseHealthy makes an all-healthy result answer probes for d.
func (h *Health) ReuseHealthy(d time.Duration) *Health {
	h.reuse = d
	return h
}

// NewHealth returns a checker over named checks (database, temporal, kafka).
func NewHealth(checks map[string]Check, timeout time.Duration) *Health {
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	return &Health{checks: checks, started: time.Now(), timeout: timeout}
}

type checkResult struct {
	name string
	err  error
}

// run checks every dependency in parallel, or reuses a recent healthy result.
func (h *Health) run(ctx context.Context) map[string]error {
	h.mu.Lock()
	if h.ok != nil && time.Since(h.at) < h.reuse {
		defer h.mu.Unlock()
		return h.ok
	}
	h.mu.Unlock()
	out := h.check(ctx)
	healthy := true
	for _, err := range out {
		healthy = healthy && err == nil
	}
	h.mu.Lock()
	if healthy {
		h.ok, h.at = out, time.Now()
	} else {
		h.ok = nil
	}
	h.mu.Unlock()
	return out
}

// check runs every check in parallel under the timeout.
func (h *Health) check(ctx context.Context) map[string]error {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	results := make(chan checkResult, len(h.checks))
	var wg sync.WaitGroup
	for name, check := range h.checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- checkResult{name, check(ctx)}
		}()
	}
	wg.Wait()
	close(results)
	out := map[string]error{}
	for r := range results {
		out[r.name] = r.err
	}
	return out
}

// HealthBody is the /health and /ready response.
type HealthBody struct {
	Status    string            `json:"status"`
	Version   string            `json:"version"`
	Timestamp time.Time         `json:"timestamp"`
	Checks    map[string]string `json:"checks"`
	Errors    map[string]string `json:"errors,omitempty"`
	Uptime    float64           `json:"uptime"` // seconds
}

// healthBody runs the checks: healthy when every one answers, ready when
// every one /ready waits for does.
func (s *server) healthBody(c *gin.Context) (body HealthBody, healthy, ready bool) {
	results := s.Health.run(c.Request.Context())
	body = HealthBody{
		Status:    "healthy",
		Version:   s.Version,
		Timestamp: s.Now().UTC(),
		Checks:    map[string]string{},
		Uptime:    time.Since(s.Health.started).Seconds(),
	}
	names := make([]string, 0, len(results))
	for n := range results {
		names = append(names, n)
	}
	sort.Strings(names)
	healthy, ready = true, true
	showErrors := s.operatorAsks(c)
	for _, n := range names {
		err := results[n]
		if err == nil {
			body.Checks[n] = "healthy"
			continue
		}
		healthy = false
		if s.Health.readyOn == nil || slices.Contains(s.Health.readyOn, n) {
			ready = false
		}
		body.Checks[n] = "unhealthy"
		if !showErrors {
			s.log.WarnContext(c.Request.Context(), "dependency unhealthy", "check", n, "error", err)
			continue
		}
		if body.Errors == nil {
			body.Errors = map[string]string{}
		}
		body.Errors[n] = err.Error()
	}
	if !healthy {
		body.Status = "degraded"
	}
	return body, healthy, ready
}

// operatorAsks reports whether the probe carries a valid token that reads
// the engine's endpoints (system/Endpoint.read, the admin role's): only
// then does the answer hold the dependencies' error text, which names
// hosts and internals. Anyone else sees healthy or unhealthy alone.
func (s *server) operatorAsks(c *gin.Context) bool {
	kind, token, found := strings.Cut(c.GetHeader("Authorization"), " ")
	if s.Verifier == nil || !found || !strings.EqualFold(kind, "Bearer") || strings.TrimSpace(token) == "" {
		return false
	}
	p, err := s.Verifier.Verify(c.Request.Context(), strings.TrimSpace(token))
	return err == nil && p.Allows(scopeOperations)
}

// scopeOperations reads the engine's own state: dead letters, and the
// error text of the health checks.
const scopeOperations = "system/Endpoint.read"

// health answers 200 while the process runs, with each dependency's state.
func (s *server) health(c *gin.Context) {
	body, _, _ := s.healthBody(c)
	c.JSON(http.StatusOK, body)
}

// ready answers 503 until the dependencies it waits for answer (see
// ReadyOn), so a load balancer sends traffic only to an instance that can
// serve it.
func (s *server) ready(c *gin.Context) {
	body, _, ok := s.healthBody(c)
	if !ok {
		body.Status = "unavailable"
		c.JSON(http.StatusServiceUnavailable, body)
		return
	}
	body.Status = "ready"
	c.JSON(http.StatusOK, body)
}

// OpsHandler serves /health, /ready and /metrics for a role that serves no
// API (worker, relay, notify, mllp) on METRICS_PORT, so an orchestrator
// probes every role the same way. Its answers never hold error text.
func OpsHandler(version string, h *Health, m *Metrics, log *slog.Logger) http.Handler {
	if h == nil {
		h = NewHealth(nil, 0)
	}
	s := &server{Deps: Deps{Version: version, Health: h, Metrics: m, Now: time.Now}, log: log}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	r.GET("/health", s.health)
	r.GET("/ready", s.ready)
	r.GET("/metrics", gin.WrapH(m.Handler()))
	return r
}
