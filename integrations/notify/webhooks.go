package notify

import (
	"context"
	"log/slog"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/zarish-sphere/zarish/integrations/kafka"
	"github.com/zarish-sphere/zarish/integrations/webhook"
)

// WebhookConsumer queues the clinical events for the subscriptions that
// want them: each event once per matching subscription, delivered by
// webhook.Deliverer.
type WebhookConsumer struct {
	brokers  []string
	security kafka.Security
	enqueuer *webhook.Enqueuer
	logger   *slog.Logger
}

// NewWebhookConsumer returns a consumer reading from the cluster at
// brokers and queuing through enqueuer.
func NewWebhookConsumer(brokers []string, enqueuer *webhook.Enqueuer, logger *slog.Logger) *WebhookConsumer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &WebhookConsumer{brokers: brokers, enqueuer: enqueuer, logger: logger.With("component", "webhooks")}
}

// Run consumes until ctx ends, then returns nil. A message is committed
// once its deliveries are queued.
func (c *WebhookConsumer) Run(ctx context.Context) error {
	consume(ctx, c.brokers, c.security, kafka.TopicClinical, webhook.GroupID, c.logger,
		func(ctx context.Context, m kafkago.Message) error { return c.enqueuer.HandleEvent(ctx, m.Value) })
	return nil
}

// WithKafkaSecurity has the consumer connect with sec (TLS, SASL).
func (c *WebhookConsumer) WithKafkaSecurity(sec kafka.Security) *WebhookConsumer {
	c.security = sec
	return c
}
