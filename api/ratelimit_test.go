package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/integrations/ratelimit"
	"github.com/zarish-sphere/zarish/integrations/ratelimit/ratelimittest"
)

// newLimitedAPI serves the router with limits; it returns the server, the
// audit store's records by request id and the metrics.
func newLimitedAPI(t *testing.T, limits RateLimits) (*httptest.Server, func(requestID string) []audit.Record, *Metrics) {
	t.Helper()
	d, store := testDeps(t, nil)
	d.RateLimits = limits
	srv := httptest.NewServer(NewRouter(d))
	t.Cleanup(srv.Close)
	return srv, func(id string) []audit.Record { return recordsFor(t, store, id) }, d.Metrics
}

// metric reads one series' value from /metrics.
func metric(t *testing.T, srv *httptest.Server, series string) string {
	t.Helper()
	r := call(t, srv, "GET", "/metrics", "", "")
	for _, line := range strings.Split(r.body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}

func TestClientOverBudgetGets429(t *testing.T) {
	srv, records, _ := newLimitedAPI(t, RateLimits{
		Limiter:   ratelimit.NewMemory(),
		Client:    ratelimit.PerMinute(60, 3),
		Anonymous: ratelimit.PerMinute(60, 3),
	})
	for i, want := range []string{"2", "1", "0"} {
		r := call(t, srv, "GET", "/v1/patients?name=xy", adminToken, "")
		if r.status != http.StatusOK || r.header.Get("RateLimit-Limit") != "3" || r.header.Get("RateLimit-Remaining") != want ||
			r.header.Get("RateLimit-Reset") == "" || r.header.Get("RateLimit-Policy") != "60;w=60;burst=3" {
			t.Fatalf("request %d: %d %v", i+1, r.status, r.header)
		}
	}
	r := call(t, srv, "GET", "/v1/patients?name=xy", adminToken, "", "X-Request-Id", "over-budget-1")
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("over budget: %d %s", r.status, r.body)
	}
	if e := decodeErr(t, r); e.Error != CodeRateLimitExceeded || e.Message == "" {
		t.Fatalf("envelope: %+v", e)
	}
	var body struct {
		RetryAfter json.Number `json:"retryAfter"`
	}
	if err := json.Unmarshal([]byte(r.body), &body); err != nil {
		t.Fatal(err)
	}
	retry, err := strconv.Atoi(string(body.RetryAfter))
	if err != nil || retry < 1 || r.header.Get("Retry-After") != strconv.Itoa(retry) {
		t.Fatalf("retryAfter %q, Retry-After %q", body.RetryAfter, r.header.Get("Retry-After"))
	}
	if r.header.Get("RateLimit-Remaining") != "0" || r.header.Get("RateLimit-Limit") != "3" || r.header.Get("RateLimit-Reset") == "" {
		t.Fatalf("429 headers: %v", r.header)
	}
	// The refusal is audited once, naming the client.
	recs := records("over-budget-1")
	if len(recs) != 1 || recs[0].Status != http.StatusTooManyRequests || recs[0].Actor.ClientID != "admin" ||
		recs[0].Outcome != audit.OutcomeFailure || recs[0].Route != "/v1/patients" {
		t.Fatalf("audit of the refusal: %+v", recs)
	}
	// Another client has its own budget.
	if r := call(t, srv, "GET", "/v1/patients?name=xy", readerToken, ""); r.status != http.StatusOK || r.header.Get("RateLimit-Remaining") != "2" {
		t.Fatalf("another client: %d %v", r.status, r.header)
	}
	// Health, readiness and metrics are never limited.
	for range 10 {
		for _, path := range []string{"/health", "/ready", "/metrics"} {
			if r := call(t, srv, "GET", path, adminToken, ""); r.status >= 400 || r.header.Get("RateLimit-Limit") != "" {
				t.Fatalf("%s: %d %v", path, r.status, r.header)
			}
		}
	}
	if v := metric(t, srv, `zarish_rate_limited_total{key_kind="client"}`); v != "1" {
		t.Fatalf("zarish_rate_limited_total{client} = %q", v)
	}
}

func TestCallsWithoutValidTokenAreLimitedByAddress(t *testing.T) {
	srv, records, _ := newLimitedAPI(t, RateLimits{
		Limiter:   ratelimit.NewMemory(),
		Client:    ratelimit.PerMinute(60, 5),
		Anonymous: ratelimit.PerMinute(60, 2),
		Token:     ratelimit.PerMinute(2, 2),
	})
	// No token, then a bad token: both spend the address's budget.
	if r := call(t, srv, "GET", "/v1/patients", "", ""); r.status != http.StatusUnauthorized || r.header.Get("RateLimit-Remaining") != "1" {
		t.Fatalf("no token: %d %v", r.status, r.header)
	}
	if r := call(t, srv, "GET", "/v1/patients", "forged", ""); r.status != http.StatusUnauthorized || r.header.Get("RateLimit-Remaining") != "0" {
		t.Fatalf("bad token: %d %v", r.status, r.header)
	}
	r := call(t, srv, "GET", "/v1/patients", "forged", "")
	if r.status != http.StatusTooManyRequests || r.header.Get("WWW-Authenticate") != "" {
		t.Fatalf("over budget without a token: %d %v", r.status, r.header)
	}
	if e := decodeErr(t, r); e.Error != CodeRateLimitExceeded {
		t.Fatalf("code %s", e.Error)
	}
	// The public documents share that budget; a verified client does not.
	if r := call(t, srv, "GET", "/v1/openapi.json", "", ""); r.status != http.StatusTooManyRequests {
		t.Fatalf("openapi.json over the address's budget: %d", r.status)
	}
	if r := call(t, srv, "GET", "/v1/patients?name=xy", adminToken, ""); r.status != http.StatusOK {
		t.Fatalf("a verified client from the same address: %d %s", r.status, r.body)
	}

	// The token endpoint has a budget of its own, and a refusal there is
	// audited as a login attempt.
	for i := range 2 {
		if r := call(t, srv, "POST", "/v1/auth/oauth2/token", "", ""); r.status == http.StatusTooManyRequests {
			t.Fatalf("token request %d refused", i+1)
		}
	}
	r = call(t, srv, "POST", "/v1/auth/oauth2/token", "", "", "X-Request-Id", "token-flood-1")
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "30" {
		t.Fatalf("token flood: %d %v", r.status, r.header)
	}
	recs := records("token-flood-1")
	if len(recs) != 1 || recs[0].Action != audit.ActionLogin || recs[0].Status != http.StatusTooManyRequests {
		t.Fatalf("audit of the refused token request: %+v", recs)
	}
	for kind, want := range map[string]string{"ip": "2", "token": "1", "client": "0"} {
		if v := metric(t, srv, `zarish_rate_limited_total{key_kind="`+kind+`"}`); v != want {
			t.Errorf("zarish_rate_limited_total{%s} = %q, want %s", kind, v, want)
		}
	}
}

// TestRateLimitFailsOpen: with the limiter's Redis down, requests are served,
// unlimited, and counted.
func TestRateLimitFailsOpen(t *testing.T) {
	closed := freePort(t)
	store, err := ratelimit.OpenRedis("redis://"+closed+"/0", ratelimit.WithTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	srv, _, _ := newLimitedAPI(t, RateLimits{
		Limiter:   store,
		Client:    ratelimit.PerMinute(60, 1),
		Anonymous: ratelimit.PerMinute(60, 1),
		Token:     ratelimit.PerMinute(1, 1),
	})
	for i := range 5 {
		r := call(t, srv, "GET", "/v1/patients?name=xy", adminToken, "")
		if r.status != http.StatusOK || r.header.Get("RateLimit-Remaining") != "" {
			t.Fatalf("request %d with the store down: %d %v", i+1, r.status, r.header)
		}
	}
	if v := metric(t, srv, "zarish_rate_limit_fail_open_total"); v != "5" {
		t.Fatalf("zarish_rate_limit_fail_open_total = %q, want 5", v)
	}
}

// TestReplicasShareBudgetThroughRedis: two API replicas on one Redis refuse a
// client once it has spent the budget across both.
func TestReplicasShareBudgetThroughRedis(t *testing.T) {
	prefix := fmt.Sprintf("test:api:%d:", time.Now().UnixNano())
	limits := func() RateLimits {
		return RateLimits{Limiter: ratelimittest.Open(t, prefix, "client:admin", "client:reader", "ip:127.0.0.1", "token:127.0.0.1"), Client: ratelimit.PerMinute(60, 4)}
	}
	a, _, _ := newLimitedAPI(t, limits())
	b, _, _ := newLimitedAPI(t, limits())
	for i, srv := range []*httptest.Server{a, b, a, b} {
		if r := call(t, srv, "GET", "/v1/patients?name=xy", adminToken, ""); r.status != http.StatusOK ||
			r.header.Get("RateLimit-Remaining") != strconv.Itoa(3-i) {
			t.Fatalf("request %d: %d %v", i+1, r.status, r.header)
		}
	}
	for _, srv := range []*httptest.Server{a, b} {
		if r := call(t, srv, "GET", "/v1/patients?name=xy", adminToken, ""); r.status != http.StatusTooManyRequests {
			t.Fatalf("over the shared budget: %d", r.status)
		}
	}
	if r := call(t, b, "GET", "/v1/patients?name=xy", readerToken, ""); r.status != http.StatusOK {
		t.Fatalf("another client: %d", r.status)
	}
}

// freePort is a local address nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// TestRouteGroupBudgets: a route group's budget is spent on top of the
// client's — each client its own — and the probes spend their group's
// budget by address; routes in no group spend only the client's.
func TestRouteGroupBudgets(t *testing.T) {
	srv, _, _ := newLimitedAPI(t, RateLimits{
		Limiter: ratelimit.NewMemory(),
		Client:  ratelimit.PerMinute(600, 100),
		Groups: []RouteGroup{
			{Prefix: "/v1/patients", Limit: ratelimit.PerMinute(60, 2)},
			{Prefix: "/v1/patients/:id/allergies", Limit: ratelimit.PerMinute(60, 5)},
			{Prefix: "/health", Limit: ratelimit.PerMinute(60, 1)},
		},
	})
	for i := range 2 {
		if r := call(t, srv, "GET", "/v1/patients?name=xy", adminToken, ""); r.status != http.StatusOK ||
			r.header.Get("RateLimit-Limit") != "2" || r.header.Get("RateLimit-Remaining") != strconv.Itoa(1-i) {
			t.Fatalf("patients search %d: %d %v", i, r.status, r.header)
		}
	}
	r := call(t, srv, "GET", "/v1/patients?name=xy", adminToken, "")
	if e := decodeErr(t, r); r.status != http.StatusTooManyRequests || e.Error != CodeRateLimitExceeded ||
		!strings.HasPrefix(e.Message, "The request budget of these routes is spent.") {
		t.Fatalf("over the group's budget: %d %s", r.status, r.body)
	}
	// A read of one patient is in the same group: /v1/patients/:id.
	if r := call(t, srv, "GET", "/v1/patients/0193a000-0000-7000-8000-000000000001", adminToken, ""); r.status != http.StatusTooManyRequests {
		t.Fatalf("a patient read after the group's budget: %d", r.status)
	}
	// The longest prefix decides: allergies have a group of their own.
	if r := call(t, srv, "GET", "/v1/patients/0193a000-0000-7000-8000-000000000001/allergies", adminToken, ""); r.status == http.StatusTooManyRequests ||
		r.header.Get("RateLimit-Limit") != "5" {
		t.Fatalf("allergies, their own group: %d %v", r.status, r.header)
	}
	// Another client has its own budget; a route in no group is not held up.
	if r := call(t, srv, "GET", "/v1/patients?name=xy", readerToken, ""); r.status != http.StatusOK {
		t.Fatalf("another client: %d", r.status)
	}
	// People signed in to one app spend budgets of their own.
	nadia, karim := practitionerToken(uuid.New()), practitionerToken(uuid.New())
	for range 2 {
		if r := call(t, srv, "GET", "/v1/patients?name=xy", nadia, ""); r.status != http.StatusOK {
			t.Fatalf("a user's search: %d %s", r.status, r.body)
		}
	}
	if r := call(t, srv, "GET", "/v1/patients?name=xy", nadia, ""); r.status != http.StatusTooManyRequests {
		t.Fatalf("the user over the group's budget: %d", r.status)
	}
	if r := call(t, srv, "GET", "/v1/patients?name=xy", karim, ""); r.status != http.StatusOK {
		t.Fatalf("another user of the same app: %d", r.status)
	}
	if r := call(t, srv, "GET", "/v1/audit/events", adminToken, ""); r.status == http.StatusTooManyRequests ||
		r.header.Get("RateLimit-Limit") != "100" {
		t.Fatalf("a route in no group: %d %v", r.status, r.header)
	}
	if r := call(t, srv, "GET", "/health", "", ""); r.status != http.StatusOK {
		t.Fatalf("first probe: %d", r.status)
	}
	if r := call(t, srv, "GET", "/health", "", ""); r.status != http.StatusTooManyRequests {
		t.Fatalf("second probe over the group's budget: %d", r.status)
	}
	if r := call(t, srv, "GET", "/ready", "", ""); r.status >= 400 || r.header.Get("RateLimit-Limit") != "" {
		t.Fatalf("/ready, in no group: %d %v", r.status, r.header)
	}
}
