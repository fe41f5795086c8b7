package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// BenchmarkPatientReadAudit measures a patient read through the router with
// and without its audit record, and reports the p50 and p99 of each; the
// difference is what auditing adds to a read.
func BenchmarkPatientReadAudit(b *testing.B) {
	pool := pgtest.NewPool(b)
	store := postgres.NewAuditStore(pool)
	deps := func(audited bool) Deps {
		d := Deps{
			Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
			Patients: postgres.NewPatientStore(pool),
			Verifier: stubVerifier{adminToken: {Subject: "admin", ClientID: "admin", Scopes: []string{"system/*.*"}}},
			Token:    http.NotFoundHandler(),
			JWKS:     http.NotFoundHandler(),
			Health:   NewHealth(nil, time.Second),
			Metrics:  NewMetrics(),
		}
		if audited {
			d.Audit = store
		}
		return d
	}
	plain, audited := NewRouter(deps(false)), NewRouter(deps(true))

	req := httptest.NewRequest("POST", "/v1/patients", strings.NewReader(patientBody("Bench", "Mark")))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	plain.ServeHTTP(rec, req)
	var p struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != 201 {
		b.Fatalf("register: %d %s", rec.Code, rec.Body)
	}

	for _, tc := range []struct {
		name string
		h    http.Handler
	}{{"unaudited", plain}, {"audited", audited}} {
		b.Run(tc.name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				req := httptest.NewRequestWithContext(context.Background(), "GET", "/v1/patients/"+p.ID, nil)
				req.Header.Set("Authorization", "Bearer "+adminToken)
				rec := httptest.NewRecorder()
				start := time.Now()
				tc.h.ServeHTTP(rec, req)
				lat = append(lat, time.Since(start))
				if rec.Code != 200 {
					b.Fatalf("read: %d %s", rec.Code, rec.Body)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
