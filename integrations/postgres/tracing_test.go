package postgres_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

var (
	spansOnce     sync.Once
	spanProvider  *sdktrace.TracerProvider
	spanRecording *tracetest.SpanRecorder
)

// recordSpans installs, once per test binary, a global tracer provider that
// records every span; tests pick out their own by trace id.
func recordSpans() (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	spansOnce.Do(func() {
		spanRecording = tracetest.NewSpanRecorder()
		spanProvider = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spanRecording))
		otel.SetTracerProvider(spanProvider)
	})
	return spanProvider, spanRecording
}

// Queries inside a traced operation become its client spans, with the
// statement and no values; failures are marked; queries outside one start
// no trace.
func TestQueriesAreTracedInsideAnOperation(t *testing.T) {
	tp, rec := recordSpans()
	pool := pgtest.NewPool(t)
	ctx := context.Background()

	if _, err := pool.Exec(ctx, `SELECT 1`); err != nil {
		t.Fatal(err)
	}
	before := len(rec.Ended())
	if _, err := pool.Exec(ctx, `SELECT 2`); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Ended()) - before; n != 0 {
		t.Fatalf("%d spans for a query outside any operation", n)
	}

	opCtx, op := tp.Tracer("test").Start(ctx, "operation")
	var n int
	if err := pool.QueryRow(opCtx, `-- how many
		SELECT $1::int + 1`, 41).Scan(&n); err != nil || n != 42 {
		t.Fatal(n, err)
	}
	if _, err := pool.Exec(opCtx, `SELECT * FROM no_such_table`); err == nil {
		t.Fatal("query on a missing table succeeded")
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT 1`)
	b.Queue(`SELECT 2`)
	if err := pool.SendBatch(opCtx, b).Close(); err != nil {
		t.Fatal(err)
	}
	op.End()

	spans := map[string]sdktrace.ReadOnlySpan{}
	var queries int
	for _, s := range rec.Ended() {
		if s.SpanContext().TraceID() != op.SpanContext().TraceID() || s.Name() == "operation" {
			continue
		}
		if s.Parent().SpanID() != op.SpanContext().SpanID() {
			t.Errorf("span %s is not a child of the operation", s.Name())
		}
		for _, a := range s.Attributes() {
			if a.Key == "db.query.text" {
				spans[a.Value.AsString()] = s
			}
		}
		if s.Name() == "postgresql SELECT" {
			queries++
		}
	}
	sum, ok := spans["-- how many\n\t\tSELECT $1::int + 1"]
	if !ok || sum.Status().Code == codes.Error {
		t.Fatalf("query span missing or failed: %v", spans)
	}
	var database string
	if err := pool.QueryRow(ctx, `SELECT current_database()`).Scan(&database); err != nil {
		t.Fatal(err)
	}
	namespace := ""
	for _, a := range sum.Attributes() {
		if a.Key == "db.namespace" {
			namespace = a.Value.AsString()
		}
	}
	if namespace != database {
		t.Fatalf("the query span's db.namespace is %q, want the database %q", namespace, database)
	}
	if bad := spans[`SELECT * FROM no_such_table`]; bad == nil || bad.Status().Code != codes.Error {
		t.Fatal("the failed query's span is not marked as an error")
	}
	if queries < 2 {
		t.Fatalf("%d SELECT spans, want the two queries", queries)
	}
	var batch bool
	for _, s := range rec.Ended() {
		if s.SpanContext().TraceID() == op.SpanContext().TraceID() && s.Name() == "postgresql batch" && len(s.Events()) == 2 {
			batch = true
		}
	}
	if !batch {
		t.Fatal("no batch span with its two statements")
	}
}

// An event written inside a traced operation keeps its traceparent for the
// relay to pass on; one written outside has none.
func TestOutboxKeepsTheWritersTrace(t *testing.T) {
	tp, _ := recordSpans()
	pool := pgtest.NewPool(t)
	store := postgres.NewPatientStore(pool)
	ctx, op := tp.Tracer("test").Start(context.Background(), "register")
	p, _, err := store.Register(ctx, nil, nil, func(mrn string) (patient.Patient, error) {
		return patient.NewPatient(uuid.Must(uuid.NewV7()), mrn, details("Traced", "Writer", "1980-01-02"), now)
	})
	op.End()
	if err != nil {
		t.Fatal(err)
	}
	untraced := register(t, store, details("Plain", "Writer", "1980-01-02"))

	events, err := postgres.NewOutboxReader(pool).Unsent(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	want := "00-" + op.SpanContext().TraceID().String() + "-"
	var seen int
	for _, e := range events {
		switch e.Key {
		case p.ID.String():
			seen++
			if !strings.HasPrefix(e.TraceParent, want) {
				t.Errorf("traced write's event has traceparent %q, want %s…", e.TraceParent, want)
			}
		case untraced.ID.String():
			seen++
			if e.TraceParent != "" {
				t.Errorf("untraced write's event has traceparent %q", e.TraceParent)
			}
		}
	}
	if seen != 2 {
		t.Fatalf("found %d of the 2 events", seen)
	}
}
