package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/subscription"
)

// GroupID is the Kafka consumer group of the enqueuers: each event of the
// clinical topic is enqueued by one of them.
const GroupID = "zarish-webhooks"

// Queue is what the Enqueuer needs of the subscription store
// (postgres.SubscriptionStore).
type Queue interface {
	Enqueue(ctx context.Context, ev subscription.Event, now time.Time) (int, error)
}

// Enqueuer turns each of our CloudEvents into a pending delivery for every
// subscription it matches.
type Enqueuer struct {
	queue  Queue
	now    func() time.Time
	logger *slog.Logger
}

// NewEnqueuer returns an enqueuer adding deliveries to queue.
func NewEnqueuer(queue Queue, logger *slog.Logger) *Enqueuer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Enqueuer{queue: queue, now: time.Now, logger: logger.With("component", "webhook")}
}

// envelope is the part of our CloudEvent (integrations/kafka.CloudEvent)
// a subscription is matched on: the type, the id, the patient (the data's
// patientId, else the partition key) and the data's category.
type envelope struct {
	ID           string `json:"id"`
	Type         string `json:"type"`
	PartitionKey string `json:"partitionkey"`
	Data         struct {
		PatientID string `json:"patientId"`
		Category  string `json:"category"`
	} `json:"data"`
}

// HandleEvent enqueues the CloudEvent whose structured JSON is body (a
// Kafka message's value) for every subscription it matches; call it once
// per message and commit the message once it returns nil. Handling an
// event twice enqueues it once. An event that is not one of our
// CloudEvents is logged (by offset-free ids only) and skipped with nil: it
// can never be enqueued; an error means the store failed, and the message
// should be retried.
func (e *Enqueuer) HandleEvent(ctx context.Context, body []byte) error {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		// Data that is not an object (an event of another shape) is not an
		// error of the envelope: read it again without it.
		var bare struct {
			ID           string `json:"id"`
			Type         string `json:"type"`
			PartitionKey string `json:"partitionkey"`
		}
		if err2 := json.Unmarshal(body, &bare); err2 != nil {
			e.logger.Error("event is not a CloudEvent; skipped", "err", err)
			return nil
		}
		env.ID, env.Type, env.PartitionKey = bare.ID, bare.Type, bare.PartitionKey
	}
	id, err := uuid.Parse(env.ID)
	if err != nil || env.Type == "" {
		e.logger.Error("event without an id or type; skipped", "id", env.ID, "type", env.Type)
		return nil
	}
	patient, err := uuid.Parse(env.Data.PatientID)
	if err != nil {
		patient, err = uuid.Parse(env.PartitionKey)
		if err != nil {
			patient = uuid.Nil
		}
	}
	ev := subscription.Event{ID: id, Type: env.Type, PatientID: patient, Category: env.Data.Category, Payload: body}
	n, err := e.queue.Enqueue(ctx, ev, e.now())
	if verr := (*domain.ValidationError)(nil); errors.As(err, &verr) {
		// A value PostgreSQL cannot hold (a NUL character): retrying
		// changes nothing.
		e.logger.Error("event cannot be stored; skipped", "event", id, "type", env.Type, "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("enqueue event %s: %w", id, err)
	}
	if n > 0 {
		e.logger.Debug("event enqueued", "event", id, "type", env.Type, "deliveries", n)
	}
	return nil
}
