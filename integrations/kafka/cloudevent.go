package kafka

import (
	"encoding/json"
	"fmt"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// Message headers set on every event. The value is a structured-mode
// CloudEvent (content-type says so); ce_id and ce_type repeat two attributes
// so consumers can dedupe and route without parsing the value.
const (
	HeaderContentType = "content-type"
	HeaderID          = "ce_id"
	HeaderType        = "ce_type"
	// HeaderTraceParent carries the W3C traceparent of the write that
	// produced the event, when it was traced.
	HeaderTraceParent = "traceparent"
)

// ContentType is the content-type header value of every message.
const ContentType = "application/cloudevents+json; charset=UTF-8"

// SpecVersion is the CloudEvents version of the envelope.
const SpecVersion = "1.0"

// CloudEvent is the CloudEvents 1.0 structured JSON envelope each message
// carries. The message key is the patient id, also in PartitionKey (the
// CloudEvents partitioning extension).
type CloudEvent struct {
	SpecVersion     string    `json:"specversion"`
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	Type            string    `json:"type"`
	Subject         string    `json:"subject,omitempty"`
	Time            time.Time `json:"time"` // RFC 3339 with nanoseconds, UTC
	DataContentType string    `json:"datacontenttype"`
	PartitionKey    string    `json:"partitionkey,omitempty"`
	// TraceParent is the CloudEvents distributed tracing extension: the W3C
	// traceparent of the operation that wrote the event.
	TraceParent string          `json:"traceparent,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
}

// NewCloudEvent wraps an outbox event in its envelope.
func NewCloudEvent(e postgres.OutboxEvent) CloudEvent {
	return CloudEvent{
		SpecVersion:     SpecVersion,
		ID:              e.ID.String(),
		Source:          e.Source,
		Type:            e.Type,
		Subject:         e.Subject,
		Time:            e.Time.UTC(),
		DataContentType: "application/json",
		PartitionKey:    e.Key,
		TraceParent:     e.TraceParent,
		Data:            e.Data,
	}
}

// newMessage builds the Kafka message for an outbox event.
func newMessage(e postgres.OutboxEvent) (kafkago.Message, error) {
	value, err := json.Marshal(NewCloudEvent(e))
	if err != nil {
		return kafkago.Message{}, fmt.Errorf("%w: event %s: %w", errUnencodable, e.ID, err)
	}
	headers := []kafkago.Header{
		{Key: HeaderContentType, Value: []byte(ContentType)},
		{Key: HeaderID, Value: []byte(e.ID.String())},
		{Key: HeaderType, Value: []byte(e.Type)},
	}
	if e.TraceParent != "" {
		headers = append(headers, kafkago.Header{Key: HeaderTraceParent, Value: []byte(e.TraceParent)})
	}
	return kafkago.Message{
		Topic:   e.Topic,
		Key:     []byte(e.Key),
		Value:   value,
		Time:    e.Time,
		Headers: headers,
	}, nil
}
