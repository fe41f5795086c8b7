// Package telemetry sets up OpenTelemetry tracing for a process: the tracer
// provider and its exporter, and the W3C Trace Context propagator that
// carries a trace from an API request into Temporal workflows and
// activities, PostgreSQL queries and the events published to Kafka.
package telemetry

import (
	"context"
	"fmt"
	"os"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/zarish-sphere/zarish/config"
)

// Propagator is the context propagation every process uses: W3C Trace
// Context and Baggage.
var Propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// Setup installs the process-wide tracer provider the configuration asks for
// and returns the function that flushes and stops it. With the exporter
// "none" nothing is installed: the global provider stays as it is (a no-op
// unless a test installed one), and spans cost next to nothing.
func Setup(ctx context.Context, cfg config.Tracing, version, role string) (shutdown func(context.Context) error, err error) {
	otel.SetTextMapPropagator(Propagator)
	var exporter sdktrace.SpanExporter
	switch cfg.Exporter {
	case "", "none":
		return func(context.Context) error { return nil }, nil
	case "console":
		exporter, err = stdouttrace.New(stdouttrace.WithWriter(os.Stderr))
	case "otlp":
		exporter, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(cfg.Endpoint))
	default:
		return nil, fmt.Errorf("unknown trace exporter %q", cfg.Exporter)
	}
	if err != nil {
		return nil, fmt.Errorf("trace exporter %s: %w", cfg.Exporter, err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName(cfg.ServiceName),
		semconv.ServiceVersion(version),
		semconv.ServiceInstanceID(role+"-"+hostname()),
	))
	if err != nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}
