package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkAlertFirstNotification measures, on the embedded stack, the time
// from POST /v1/notifications/alerts to the first notification arriving on
// the recipient's live in-app stream: the workflow start, recipient
// resolution, the outbox, the relay, Kafka, the dispatcher, the inbox and
// Server-Sent Events. It reports p50 and p99.
func BenchmarkAlertFirstNotification(b *testing.B) {
	// Measure the engine, not the request budget one client would spend.
	e := startE2E(b, devConfig(b, "RATE_LIMIT_PER_MINUTE", "0"))
	token := e.token(devClientID, "dev-secret", "")
	r := e.do(http.MethodPost, "/v1/patients", token, amina())
	var p patientJSON
	r.json(b, &p)
	r = e.do(http.MethodPost, "/v1/clinical/practitioners", token, map[string]any{
		"name": "Nurse Bench", "roles": []string{"nurse"}, "units": []string{"ward-b"}})
	var nurse struct {
		ID string `json:"id"`
	}
	r.json(b, &nurse)
	r = e.do(http.MethodPost, "/v1/notifications/policies", token, map[string]any{
		"id": "bench", "name": "in-app only",
		"levels": []map[string]any{{"recipients": []map[string]any{{"kind": "unit-role", "role": "nurse"}},
			"channels": []string{"inapp"}, "ackTimeoutSeconds": 3600}},
	})
	if r.status != http.StatusCreated {
		b.Fatalf("policy: %d %s", r.status, r.body)
	}
	stream := openStream(b, e, e.actingToken(), nurse.ID) // the ward app's, for the nurse

	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++
		start := time.Now()
		r := e.do(http.MethodPost, "/v1/notifications/alerts", token, map[string]any{
			"patientId": p.ID, "unit": "ward-b", "severity": "urgent", "category": "bench",
			"message": "benchmark alert", "source": fmt.Sprintf("bench/%d", i), "policyId": "bench"})
		var raised struct {
			ID string `json:"id"`
		}
		r.json(b, &raised)
		if r.status != http.StatusAccepted {
			b.Fatalf("raise: %d %s", r.status, r.body)
		}
		for waiting := true; waiting; {
			select {
			case data := <-stream:
				waiting = !strings.Contains(data, raised.ID)
			case <-time.After(30 * time.Second):
				b.Fatalf("alert %s: no notification within 30s", raised.ID)
			}
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
}
