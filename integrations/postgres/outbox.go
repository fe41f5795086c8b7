package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/propagation"
)

// OutboxEvent is one event waiting to be published: the CloudEvent attributes
// and the Kafka topic and key it goes to.
type OutboxEvent struct {
	ID      uuid.UUID       // CloudEvent id, stable across retries
	Topic   string          // Kafka topic
	Key     string          // partition key: the patient id
	Type    string          // CloudEvent type, e.g. patient.created
	Source  string          // CloudEvent source, e.g. /v1/patients
	Subject string          // CloudEvent subject, e.g. the resource id
	Time    time.Time       // when the change happened
	Data    json.RawMessage // the event payload
	// TraceParent is the W3C traceparent of the operation that wrote the
	// event; appendOutbox takes it from the context. Empty when untraced.
	TraceParent string
	// Link is the API path that serves the resource the event is about,
	// e.g. /v1/clinical/notes/<id>; an event over outbox.MaxEventBytes is
	// written with its data replaced by a reference to it. Not stored: when
	// empty, the reference links to Source.
	Link string
}

// appendOutbox writes events inside tx, so they commit (or roll back) with the
// change they describe. An event whose id is already stored is skipped: a
// retried activity derives the same ids, and must not publish twice. Each
// event records the trace of ctx, if any, for the relay to pass on. An event
// over outbox.MaxEventBytes is written in its reference form (capEvent):
// never dropped, and never a reason to fail the write.
func appendOutbox(ctx context.Context, tx pgx.Tx, events ...OutboxEvent) error {
	trace := traceParent(ctx)
	for _, e := range events {
		if e.TraceParent == "" {
			e.TraceParent = trace
		}
		e, err := capEvent(e)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO outbox (id, topic, key, type, source, subject, time, data, traceparent)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (id) DO NOTHING`,
			e.ID, e.Topic, e.Key, e.Type, e.Source, e.Subject, e.Time, e.Data, e.TraceParent)
		if err != nil {
			return fmt.Errorf("append outbox %s: %w", e.Type, err)
		}
	}
	// Wake the relay now rather than at its next poll; delivered at commit.
	if _, err := tx.Exec(ctx, `SELECT pg_notify('outbox', '')`); err != nil {
		return fmt.Errorf("notify outbox: %w", err)
	}
	return nil
}

// traceParent is the W3C traceparent of the span in ctx, or "" outside one.
func traceParent(ctx context.Context) string {
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	return carrier.Get("traceparent")
}
