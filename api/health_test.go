package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/integrations/auth/access"
)

func TestHealthReusesOnlyHealthyResults(t *testing.T) {
	calls := 0
	var fail error
	h := NewHealth(map[string]Check{"database": func(context.Context) error { calls++; return fail }}, time.Second).
		ReuseHealthy(time.Hour)
	h.run(context.Background())
	h.run(context.Background())
	if calls != 1 {
		t.Fatalf("healthy result checked %d times, want reused", calls)
	}
	h = NewHealth(map[string]Check{"database": func(context.Context) error { calls++; return fail }}, time.Second).
		ReuseHealthy(time.Hour)
	calls, fail = 0, errors.New("down")
	h.run(context.Background())
	fail = nil
	if res := h.run(context.Background()); calls != 2 || res["database"] != nil {
		t.Fatalf("a failure must be checked again: calls %d, result %v", calls, res)
	}
}

// healthRouter serves the API over checks, /ready waiting for the database
// alone.
func healthRouter(t *testing.T, checks map[string]Check) *httptest.Server {
	t.Helper()
	verifier := stubVerifier{
		adminToken:     {Subject: "ops", ClientID: "ops", Scopes: access.RoleAdmin.Scopes(), Roles: []string{"admin"}},
		clinicianToken: {Subject: "dr", ClientID: "app", Scopes: access.RoleClinician.Scopes(), Roles: []string{"clinician"}},
	}
	srv := httptest.NewServer(NewRouter(Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Verifier: verifier,
		Health: NewHealth(checks, time.Second).ReadyOn("database"), Metrics: NewMetrics(), Now: time.Now, NewID: uuid.NewV7}))
	t.Cleanup(srv.Close)
	return srv
}

// TestReadyWaitsForTheDatabaseAlone: with Kafka down the API stays ready —
// the outbox keeps events until the broker returns — and /health shows the
// broker unhealthy; with PostgreSQL down it is not ready. The checks'
// error text, which names hosts, is shown only to an operator's token.
func TestReadyWaitsForTheDatabaseAlone(t *testing.T) {
	var dbDown error
	srv := healthRouter(t, map[string]Check{
		"database": func(context.Context) error { return dbDown },
		"kafka":    func(context.Context) error { return errors.New("dial tcp 10.20.30.40:9092: connection refused") },
	})
	var body HealthBody
	for _, path := range []string{"/ready", "/health"} {
		r := call(t, srv, http.MethodGet, path, "", "")
		if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &body) != nil ||
			body.Checks["kafka"] != "unhealthy" || body.Checks["database"] != "healthy" {
			t.Fatalf("%s with Kafka down: %d %s", path, r.status, r.body)
		}
		if strings.Contains(r.body, "10.20.30.40") || body.Errors != nil {
			t.Fatalf("%s shows the error text to anyone: %s", path, r.body)
		}
	}
	if r := call(t, srv, http.MethodGet, "/ready", clinicianToken, ""); strings.Contains(r.body, "10.20.30.40") {
		t.Fatalf("a clinician's token sees the error text: %s", r.body)
	}
	r := call(t, srv, http.MethodGet, "/health", adminToken, "")
	if json.Unmarshal([]byte(r.body), &body) != nil || body.Errors["kafka"] != "dial tcp 10.20.30.40:9092: connection refused" {
		t.Fatalf("an operator's /health: %s", r.body)
	}

	dbDown = errors.New("dial tcp 10.20.30.41:5432: connection refused")
	r = call(t, srv, http.MethodGet, "/ready", "", "")
	if r.status != http.StatusServiceUnavailable || json.Unmarshal([]byte(r.body), &body) != nil || body.Status != "unavailable" ||
		body.Checks["database"] != "unhealthy" || strings.Contains(r.body, "10.20.30.41") {
		t.Fatalf("/ready with PostgreSQL down: %d %s", r.status, r.body)
	}
	if r := call(t, srv, http.MethodGet, "/health", "", ""); r.status != http.StatusOK {
		t.Fatalf("/health with PostgreSQL down: %d", r.status)
	}
}

// TestOpsHandlerProbesARoleWithoutAPI: a worker's /health, /ready and
// /metrics, its readiness on its own checks.
func TestOpsHandlerProbesARoleWithoutAPI(t *testing.T) {
	var temporalDown error
	h := NewHealth(map[string]Check{"temporal": func(context.Context) error { return temporalDown }}, time.Second)
	srv := httptest.NewServer(OpsHandler("1.2.3", h, NewMetrics(), slog.New(slog.NewTextHandler(io.Discard, nil))))
	defer srv.Close()
	if r := call(t, srv, http.MethodGet, "/ready", "", ""); r.status != http.StatusOK || !strings.Contains(r.body, `"version":"1.2.3"`) {
		t.Fatalf("/ready: %d %s", r.status, r.body)
	}
	if r := call(t, srv, http.MethodGet, "/metrics", "", ""); r.status != http.StatusOK || !strings.Contains(r.body, "go_goroutines") {
		t.Fatalf("/metrics: %d", r.status)
	}
	temporalDown = errors.New("temporal frontend 10.0.0.9:7233 unavailable")
	r := call(t, srv, http.MethodGet, "/ready", "", "")
	if r.status != http.StatusServiceUnavailable || strings.Contains(r.body, "10.0.0.9") {
		t.Fatalf("/ready with Temporal down: %d %s", r.status, r.body)
	}
	if r := call(t, srv, http.MethodGet, "/health", "", ""); r.status != http.StatusOK || !strings.Contains(r.body, `"temporal":"unhealthy"`) {
		t.Fatalf("/health with Temporal down: %d %s", r.status, r.body)
	}
}
