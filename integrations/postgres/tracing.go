package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// tracerName names the spans of the database client.
const tracerName = "github.com/zarish-sphere/zarish/integrations/postgres"

// queryTracer makes a client span of every query and batch that runs inside
// a traced operation (an API request, an activity). Queries outside one —
// the relay's and sealer's polls — start no trace of their own, so they do
// not flood the trace store. Statements carry placeholders, never values.
type queryTracer struct {
	// database is the pool's database name, the spans' db.namespace: read
	// once, as conn.Config() copies the whole configuration on each call.
	database string
}

var (
	_ pgx.QueryTracer = queryTracer{}
	_ pgx.BatchTracer = queryTracer{}
)

func (t queryTracer) start(ctx context.Context, name, sql string) context.Context {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	attrs := []attribute.KeyValue{attribute.String("db.system.name", "postgresql")}
	if t.database != "" {
		attrs = append(attrs, attribute.String("db.namespace", t.database))
	}
	if sql != "" {
		attrs = append(attrs, attribute.String("db.query.text", sql))
	}
	ctx, _ = otel.Tracer(tracerName).Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return ctx
}

func end(ctx context.Context, err error) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// TraceQueryStart opens the span of one statement.
func (t queryTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return t.start(ctx, spanName(data.SQL), data.SQL)
}

// TraceQueryEnd closes it, recording a failure.
func (queryTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	end(ctx, data.Err)
}

// TraceBatchStart opens the span of a batch; its statements are its children.
func (t queryTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return t.start(ctx, "postgresql batch", "")
}

// TraceBatchQuery records one statement of the batch as an event.
func (queryTracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	span.AddEvent("query", trace.WithAttributes(attribute.String("db.query.text", data.SQL)))
	if data.Err != nil {
		span.RecordError(data.Err)
	}
}

// TraceBatchEnd closes the batch's span.
func (queryTracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchEndData) {
	end(ctx, data.Err)
}

// spanName is "postgresql" and the statement's verb, e.g. "postgresql SELECT";
// leading comment lines are skipped.
func spanName(sql string) string {
	for line := range strings.Lines(sql) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "--") {
			continue
		}
		verb, _, _ := strings.Cut(line, " ")
		return "postgresql " + strings.ToUpper(strings.TrimRight(verb, "(;"))
	}
	return "postgresql"
}
