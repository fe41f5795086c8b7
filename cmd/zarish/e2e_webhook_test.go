package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zarish-sphere/zarish/domain/subscription"
)

// TestEndToEndWebhookSubscription: a third party subscribes to observation
// events of one patient; a pulse recorded for that patient reaches its
// receiver through the outbox, Kafka and the deliverer, signed with the
// subscription's secret; an observation of another patient does not; the
// delivery log says delivered.
func TestEndToEndWebhookSubscription(t *testing.T) {
	e := startE2E(t, devConfig(t))
	admin := e.token(devClientID, "dev-secret", "")
	acting := e.actingToken()
	nurse := demoPractitionerID("nurse.nadia").String()
	const secret = "a-shared-secret-of-32-characters!"

	var (
		mu       sync.Mutex
		received []string
		bad      []string
	)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := subscription.Verify(secret, r.Header.Get(subscription.HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
			bad = append(bad, err.Error())
		}
		received = append(received, string(body))
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)

	register := func(family string) string {
		t.Helper()
		body := amina()
		body["name"] = map[string]any{"given": []string{"Amina"}, "family": family}
		delete(body, "identifiers")
		r := e.do(http.MethodPost, "/v1/patients", admin, body)
		var p patientJSON
		r.json(t, &p)
		if r.status != http.StatusCreated {
			t.Fatalf("register: %d %s", r.status, r.body)
		}
		return p.ID
	}
	watched, other := register("Rahmán"), register("Chowdhury")
	r := e.do(http.MethodPost, "/v1/integration/subscriptions", admin, map[string]any{
		"name": "vitals feed", "eventTypes": []string{"observation.*"}, "patientId": watched,
		"endpoint": receiver.URL + "/hook", "secret": secret})
	var sub struct {
		ID string `json:"id"`
	}
	r.json(t, &sub)
	if r.status != http.StatusCreated || strings.Contains(string(r.body), secret) {
		t.Fatalf("subscribe: %d %s", r.status, r.body)
	}
	for _, p := range []string{other, watched} {
		body := map[string]any{"patientId": p, "code": "8867-4", "value": map[string]any{"value": 88, "unit": "/min"},
			"effectiveAt": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)}
		if r := e.do(http.MethodPost, "/v1/observations", acting, body, onBehalfOf(nurse)...); r.status != http.StatusCreated {
			t.Fatalf("record: %d %s", r.status, r.body)
		}
	}
	eventually(t, 60*time.Second, "the watched patient's observation delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(received) > 0
	})
	time.Sleep(2 * time.Second) // room for a wrong delivery to arrive
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("deliveries with a bad signature: %v", bad)
	}
	for _, b := range received {
		if !strings.Contains(b, watched) || strings.Contains(b, other) || !strings.Contains(b, `"observation.recorded"`) {
			t.Fatalf("delivered %s", b)
		}
	}
	r = e.do(http.MethodGet, "/v1/integration/subscriptions/"+sub.ID+"/deliveries", admin, nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"delivered"`) {
		t.Fatalf("delivery log: %d %s", r.status, r.body)
	}
}
