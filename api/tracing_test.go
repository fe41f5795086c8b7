package api

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

var (
	spansOnce     sync.Once
	spanRecording *tracetest.SpanRecorder
)

// recordSpans installs, once per test binary, a global tracer provider that
// records every span and the W3C propagator; tests pick out their own spans
// by trace id.
func recordSpans() *tracetest.SpanRecorder {
	spansOnce.Do(func() {
		spanRecording = tracetest.NewSpanRecorder()
		otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spanRecording)))
		otel.SetTextMapPropagator(propagation.TraceContext{})
	})
	return spanRecording
}

func spansOfTrace(rec *tracetest.SpanRecorder, traceID string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.SpanContext().TraceID().String() == traceID {
			out = append(out, s)
		}
	}
	return out
}

// A request continues the caller's trace: its server span is named by the
// route pattern, is a child of the caller's span, and the database queries it
// makes are children of it.
func TestRequestsContinueTheCallersTrace(t *testing.T) {
	rec := recordSpans()
	srv := newTestAPI(t)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	const parent = "00f067aa0ba902b7"

	r := call(t, srv, http.MethodPost, "/v1/patients", adminToken, patientBody("Traced", "Person"),
		"Traceparent", "00-"+traceID+"-"+parent+"-01")
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	if !strings.HasPrefix(r.header.Get("Traceresponse"), "00-"+traceID+"-") {
		t.Fatalf("Traceresponse %q does not name the caller's trace", r.header.Get("Traceresponse"))
	}
	var server sdktrace.ReadOnlySpan
	spans := spansOfTrace(rec, traceID)
	for _, s := range spans {
		if s.Name() == "POST /v1/patients" {
			server = s
		}
	}
	if server == nil {
		t.Fatalf("no server span named by the route among %d spans", len(spans))
	}
	if server.Parent().SpanID().String() != parent {
		t.Fatalf("server span's parent %s, want the caller's %s", server.Parent().SpanID(), parent)
	}
	var queries int
	for _, s := range spans {
		if strings.HasPrefix(s.Name(), "postgresql") && s.Parent().SpanID() == server.SpanContext().SpanID() {
			queries++
		}
	}
	if queries == 0 {
		t.Fatal("the request's queries are not children of its span")
	}

	// Without a caller's trace a request starts its own; a path with an id
	// is still named by its pattern, and a 4xx is not a server error.
	r = call(t, srv, http.MethodGet, "/v1/patients/0193c0de-0000-7000-8000-000000000999", adminToken, "")
	if r.status != http.StatusNotFound {
		t.Fatalf("read missing patient: %d", r.status)
	}
	own := strings.Split(r.header.Get("Traceresponse"), "-")
	if len(own) != 4 || own[1] == traceID {
		t.Fatalf("Traceresponse %q", r.header.Get("Traceresponse"))
	}
	var found bool
	for _, s := range spansOfTrace(rec, own[1]) {
		if s.Name() == "GET /v1/patients/:id" {
			found = true
			if s.Status().Code == codes.Error || s.Parent().IsValid() {
				t.Fatalf("404 span: status %v, parent %v", s.Status(), s.Parent())
			}
		}
	}
	if !found {
		t.Fatal("no span named GET /v1/patients/:id")
	}
}
