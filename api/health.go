package api

import (
	"context"
	"net/http"
	"sort"
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

func (s *server) healthBody(c *gin.Context) (HealthBody, bool) {
	results := s.Health.run(c.Request.Context())
	body := HealthBody{
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
	ok := true
	for _, n := range names {
		if err := results[n]; err != nil {
			ok = false
			body.Checks[n] = "unhealthy"
			if body.Errors == nil {
				body.Errors = map[string]string{}
			}
			body.Errors[n] = err.Error()
		} else {
			body.Checks[n] = "healthy"
		}
	}
	if !ok {
		body.Status = "degraded"
	}
	return body, ok
}

// health always answers 200 while the process runs (a liveness probe must not
// restart the API because a dependency is down); status says what is degraded.
func (s *server) health(c *gin.Context) {
	body, _ := s.healthBody(c)
	c.JSON(http.StatusOK, body)
}

// ready answers 503 until every dependency answers, so a load balancer sends
// traffic only to an instance that can serve it.
func (s *server) ready(c *gin.Context) {
	body, ok := s.healthBody(c)
	if !ok {
		body.Status = "unavailable"
		c.JSON(http.StatusServiceUnavailable, body)
		return
	}
	body.Status = "ready"
	c.JSON(http.StatusOK, body)
}
