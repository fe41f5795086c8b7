package main

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/zarish-sphere/zarish/integrations/telemetry"
)

var (
	spansOnce     sync.Once
	spanRecording *tracetest.SpanRecorder
)

// recordSpans installs, once per test binary, a global tracer provider that
// records every span, as telemetry.Setup installs an exporting one in the
// binary; tests pick out their own spans by trace id.
func recordSpans() *tracetest.SpanRecorder {
	spansOnce.Do(func() {
		spanRecording = tracetest.NewSpanRecorder()
		otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spanRecording)))
		otel.SetTextMapPropagator(telemetry.Propagator)
	})
	return spanRecording
}

// TestEndToEndTrace follows one trace from an API request that starts an
// encounter through the Temporal workflow and its activities, their
// PostgreSQL queries, and onto the event the relay publishes to Kafka.
func TestEndToEndTrace(t *testing.T) {
	rec := recordSpans()
	e := startE2E(t, devConfig(t))
	token := e.token(devClientID, "dev-secret", "")
	r := e.do(http.MethodPost, "/v1/patients", token, amina())
	var p patientJSON
	r.json(t, &p)

	const traceID = "0af7651916cd43dd8448eb211c80319c"
	r = e.do(http.MethodPost, "/v1/clinical/encounters", token, map[string]any{
		"patientId": p.ID, "class": "outpatient", "reason": "follow-up", "location": "clinic-2"},
		"Traceparent", "00-"+traceID+"-b7ad6b7169203331-01")
	if r.status != http.StatusCreated {
		t.Fatalf("start encounter: %d %s", r.status, r.body)
	}
	if got := r.header.Get("Traceresponse"); !strings.HasPrefix(got, "00-"+traceID+"-") {
		t.Fatalf("Traceresponse %q", got)
	}

	// The API span, the workflow start, the workflow and activity tasks and
	// the activities' queries all belong to the caller's trace.
	want := []string{"POST /v1/clinical/encounters", "StartWorkflow:Encounter", "StartActivity:", "RunActivity:", "postgresql INSERT"}
	var names map[string]bool
	defer func() {
		if t.Failed() {
			t.Logf("spans of the trace: %v", names)
		}
	}()
	eventually(t, 20*time.Second, "the encounter's spans in the caller's trace", func() bool {
		names = map[string]bool{}
		for _, s := range rec.Ended() {
			if s.SpanContext().TraceID().String() == traceID {
				names[s.Name()] = true
			}
		}
		for _, w := range want {
			found := false
			for n := range names {
				if strings.HasPrefix(n, w) {
					found = true
				}
			}
			if !found {
				return false
			}
		}
		return true
	})

	// The event the workflow's activity wrote carries the trace on.
	events := readTopic(t, e.stack.KafkaAddress, "zarish.clinical.v1", p.ID, 2)
	created := events[1]
	if !strings.HasPrefix(created.Type, "encounter.") || !strings.HasPrefix(created.TraceParent, "00-"+traceID+"-") {
		t.Fatalf("event %s has traceparent %q, want the caller's trace %s", created.Type, created.TraceParent, traceID)
	}
}
