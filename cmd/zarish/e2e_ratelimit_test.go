package main

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/zarish-sphere/zarish/integrations/ratelimit/ratelimittest"
)

// TestEndToEndRateLimit: a client over its budget gets 429 with the envelope
// and headers, the health checks spend only their route group's lenient
// budget — with the budget in the process, and in Redis.
func TestEndToEndRateLimit(t *testing.T) {
	limits := []string{"RATE_LIMIT_PER_MINUTE", "60", "RATE_LIMIT_BURST", "3"}
	t.Run("in process", func(t *testing.T) {
		checkBudget(t, startE2E(t, devConfig(t, limits...)))
	})
	t.Run("redis", func(t *testing.T) {
		// The stack keeps its budgets under the default prefix; start and
		// finish with the dev client's and this address's budgets full.
		ratelimittest.Open(t, "", "client:"+devClientID, "token:127.0.0.1", "ip:127.0.0.1",
			"group:/v1/patients|"+devClientID, "group:/health|127.0.0.1")
		checkBudget(t, startE2E(t, devConfig(t, append(limits, "REDIS_URL", ratelimittest.URL())...)))
	})
}

func checkBudget(t *testing.T, e *e2e) {
	t.Helper()
	token := e.token(devClientID, "dev-secret", "")
	for i := range 3 {
		r := e.do(http.MethodGet, "/v1/patients?name=amina", token, nil)
		if r.status != http.StatusOK || r.header.Get("RateLimit-Limit") != "3" || r.header.Get("RateLimit-Remaining") != strconv.Itoa(2-i) {
			t.Fatalf("request %d: %d %v", i+1, r.status, r.header)
		}
	}
	r := e.do(http.MethodGet, "/v1/patients?name=amina", token, nil)
	var env struct {
		errorJSON
		RetryAfter int `json:"retryAfter"`
	}
	r.json(t, &env)
	if r.status != http.StatusTooManyRequests || env.Error != "RATE_LIMIT_EXCEEDED" || env.RetryAfter < 1 ||
		r.header.Get("Retry-After") != strconv.Itoa(env.RetryAfter) || env.RequestID != r.header.Get("X-Request-Id") {
		t.Fatalf("over budget: %d %s %v", r.status, r.body, r.header)
	}
	left := 99
	for range 5 {
		r := e.do(http.MethodGet, "/health", "", nil)
		remaining, err := strconv.Atoi(r.header.Get("RateLimit-Remaining"))
		if r.status != http.StatusOK || r.header.Get("RateLimit-Limit") != "100" || err != nil || remaining > left || remaining < 90 {
			t.Fatalf("/health: %d %v", r.status, r.header)
		}
		left = remaining
	}
}
