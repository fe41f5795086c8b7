package kafka

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/integrations/postgres"
)

func TestMessageIsStructuredCloudEvent(t *testing.T) {
	id := uuid.MustParse("0190f5a4-3c3e-7b6e-9d2a-1f3e5c7a9b0d")
	at := time.Date(2026, 3, 4, 5, 6, 7, 890123000, time.FixedZone("BDT", 6*3600))
	m, err := newMessage(postgres.OutboxEvent{
		ID:      id,
		Topic:   TopicClinical,
		Key:     "0190f5a4-0000-7000-8000-000000000001",
		Type:    "encounter.triaged",
		Source:  "/v1/clinical",
		Subject: "encounter/42",
		Time:    at,
		Data:    json.RawMessage(`{"acuity":2}`),

		TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.Topic != TopicClinical || string(m.Key) != "0190f5a4-0000-7000-8000-000000000001" || !m.Time.Equal(at) {
		t.Errorf("message topic %q key %q time %v", m.Topic, m.Key, m.Time)
	}
	headers := map[string]string{}
	for _, h := range m.Headers {
		headers[h.Key] = string(h.Value)
	}
	wantHeaders := map[string]string{
		"content-type": "application/cloudevents+json; charset=UTF-8",
		"ce_id":        id.String(),
		"ce_type":      "encounter.triaged",
		"traceparent":  "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	}
	for k, v := range wantHeaders {
		if headers[k] != v {
			t.Errorf("header %s = %q, want %q", k, headers[k], v)
		}
	}

	var doc map[string]any
	if err := json.Unmarshal(m.Value, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"specversion":     "1.0",
		"id":              id.String(),
		"source":          "/v1/clinical",
		"type":            "encounter.triaged",
		"subject":         "encounter/42",
		"time":            "2026-03-03T23:06:07.890123Z",
		"datacontenttype": "application/json",
		"partitionkey":    "0190f5a4-0000-7000-8000-000000000001",
		"traceparent":     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"data":            map[string]any{"acuity": float64(2)},
	}
	for k, v := range want {
		if got, _ := json.Marshal(doc[k]); string(got) != mustJSON(t, v) {
			t.Errorf("attribute %s = %s, want %s", k, got, mustJSON(t, v))
		}
	}
	if len(doc) != len(want) {
		t.Errorf("envelope has %d attributes, want %d: %s", len(doc), len(want), m.Value)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
