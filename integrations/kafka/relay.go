package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/retry"
)

// Outbox is the store side of the relay; *postgres.OutboxReader implements it.
type Outbox interface {
	// Lead calls run while this process is the one relay allowed to
	// publish, waiting for that first.
	Lead(ctx context.Context, run func(ctx context.Context) error) error
	// Unsent returns up to limit unsent events, oldest first.
	Unsent(ctx context.Context, limit int) ([]postgres.OutboxEvent, error)
	// MarkSent records that the events reached Kafka.
	MarkSent(ctx context.Context, ids []uuid.UUID) error
	// WaitForNotify returns when new events commit or timeout passes.
	WaitForNotify(ctx context.Context, timeout time.Duration) error
	// Backlog counts unsent events and dates the oldest.
	Backlog(ctx context.Context) (count int64, oldest time.Time, err error)
	// DeadLetter moves an unsent event the broker refused for good out of
	// the outbox, with the refusal, the publishes tried and its size.
	DeadLetter(ctx context.Context, id uuid.UUID, size int, cause string, attempts int) error
	// DeadLetterCount counts the dead letters waiting for an operator.
	DeadLetterCount(ctx context.Context) (int64, error)
}

// EventPublisher sends a batch of events, all or an error; *Publisher
// implements it.
type EventPublisher interface {
	Publish(ctx context.Context, events []postgres.OutboxEvent) error
}

// Relay publishes the outbox to Kafka: it reads unsent events in order,
// publishes them in batches and marks them sent, as the only relay of its
// database. When Kafka is unreachable it retries the same events with
// exponential backoff; nothing is marked sent until Kafka acknowledged it, so
// nothing is lost, and events may be published more than once. An event
// Kafka refuses for good (Permanent) never holds up the rest: the relay
// halves the batch until the refused events stand alone, publishes the
// others in order and moves those to the dead letters.
type Relay struct {
	outbox    Outbox
	publisher EventPublisher
	logger    *slog.Logger
	metrics   *relayMetrics

	batchSize       int
	pollInterval    time.Duration
	maxBackoff      time.Duration
	backlogInterval time.Duration
}

// RelayOption configures NewRelay.
type RelayOption func(*Relay)

// WithBatchSize sets how many events the relay reads and publishes at once;
// default DefaultBatchSize.
func WithBatchSize(n int) RelayOption {
	return func(r *Relay) {
		if n > 0 {
			r.batchSize = n
		}
	}
}

// WithPollInterval sets how long the relay waits for a commit notification
// before looking for unsent events anyway; default 500 ms.
func WithPollInterval(d time.Duration) RelayOption {
	return func(r *Relay) {
		if d > 0 {
			r.pollInterval = d
		}
	}
}

// WithMaxBackoff caps the wait between retries of a failed publish; default
// 5 s.
func WithMaxBackoff(d time.Duration) RelayOption {
	return func(r *Relay) {
		if d > 0 {
			r.maxBackoff = d
		}
	}
}

// WithBacklogInterval sets how often the backlog metrics are refreshed;
// default 5 s.
func WithBacklogInterval(d time.Duration) RelayOption {
	return func(r *Relay) {
		if d > 0 {
			r.backlogInterval = d
		}
	}
}

// NewRelay returns a relay from outbox to publisher.
func NewRelay(outbox Outbox, publisher EventPublisher, logger *slog.Logger, opts ...RelayOption) *Relay {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Relay{
		outbox:          outbox,
		publisher:       publisher,
		logger:          logger.With("component", "outbox-relay"),
		metrics:         newRelayMetrics(),
		batchSize:       DefaultBatchSize,
		pollInterval:    500 * time.Millisecond,
		maxBackoff:      5 * time.Second,
		backlogInterval: 5 * time.Second,
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Collectors returns the relay's metrics for the caller to register:
// published events, publish errors and dead-lettered events (counters), the
// backlog, the age of its oldest event and the dead letters waiting for an
// operator (gauges), and whether this process is the leader.
func (r *Relay) Collectors() []prometheus.Collector {
	return r.metrics.collectors()
}

// Run relays until ctx is cancelled, then returns nil. It waits to become the
// leader, and if it loses the lock it steps down and waits again.
func (r *Relay) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { r.watchBacklog(ctx) })

	return retry.Lead(ctx, r.logger, "outbox relay", func(ctx context.Context) error { return r.outbox.Lead(ctx, r.lead) })
}

// lead publishes while this relay holds the lock, until ctx ends.
func (r *Relay) lead(ctx context.Context) error {
	r.logger.Info("outbox relay leading", "batchSize", r.batchSize, "pollInterval", r.pollInterval)
	r.metrics.leader.Set(1)
	defer r.metrics.leader.Set(0)

	failures := 0
	for {
		n, err := r.relayBatch(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			failures++
			wait := retry.Backoff(failures, 100*time.Millisecond, r.maxBackoff)
			// Every failure counts in the metrics; the log gets the first
			// and then one in ten, not a line every few seconds of an outage.
			if failures == 1 || failures%10 == 0 {
				r.logger.Warn("outbox relay failed; retrying the same events", "err", err, "failures", failures, "retryIn", wait)
			}
			if !retry.Sleep(ctx, wait) {
				return nil
			}
			continue
		}
		if failures > 0 {
			r.logger.Info("outbox relay recovered", "failures", failures)
			failures = 0
		}
		if n == r.batchSize {
			continue // a full batch: more are probably waiting
		}
		if err := r.outbox.WaitForNotify(ctx, r.pollInterval); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			r.logger.Debug("outbox notifications unavailable; polling", "err", err)
			if !retry.Sleep(ctx, r.pollInterval) {
				return nil
			}
		}
	}
}

// relayBatch publishes the oldest unsent events and marks them sent (or
// dead-letters those refused for good), returning how many it read.
func (r *Relay) relayBatch(ctx context.Context) (int, error) {
	events, err := r.outbox.Unsent(ctx, r.batchSize)
	if err != nil || len(events) == 0 {
		return 0, err
	}
	if err := r.publish(ctx, events, 1); err != nil {
		return 0, err
	}
	r.logger.Debug("outbox events relayed", "count", len(events))
	return len(events), nil
}

// publish publishes events, tried the attempts-th time, and marks them sent.
// A part the broker refuses for good is halved and each half published in
// turn, so an event refused alone is dead-lettered and every other one is
// published, in order. A retryable failure ends the call: what was marked
// sent stays so, and the rest is retried.
func (r *Relay) publish(ctx context.Context, events []postgres.OutboxEvent, attempts int) error {
	err := r.publisher.Publish(ctx, events)
	if err == nil {
		return r.markSent(ctx, events)
	}
	r.metrics.errors.Inc()
	if !Permanent(err) || ctx.Err() != nil {
		return err
	}
	if len(events) == 1 {
		return r.deadLetter(ctx, events[0], err, attempts)
	}
	mid := len(events) / 2
	if err := r.publish(ctx, events[:mid], attempts+1); err != nil {
		return err
	}
	return r.publish(ctx, events[mid:], attempts+1)
}

// deadLetter moves e, refused for good with cause, out of the outbox.
func (r *Relay) deadLetter(ctx context.Context, e postgres.OutboxEvent, cause error, attempts int) error {
	size := len(e.Data)
	if m, err := newMessage(e); err == nil {
		size = len(m.Value)
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := r.outbox.DeadLetter(dctx, e.ID, size, cause.Error(), attempts); err != nil {
		return fmt.Errorf("event %s was refused for good (%v) but could not be dead-lettered: %w", e.ID, cause, err)
	}
	r.metrics.deadLetters.WithLabelValues(e.Topic).Inc()
	// The event id and type only: the data may hold clinical text.
	r.logger.Error("outbox event refused by Kafka for good; moved to the dead letters",
		"eventId", e.ID, "type", e.Type, "topic", e.Topic, "size", size, "attempts", attempts, "err", cause)
	return nil
}

// markSent records that Kafka has events, and counts them.
func (r *Relay) markSent(ctx context.Context, events []postgres.OutboxEvent) error {
	// Kafka has the events: record that even if ctx is ending now, or they
	// go out again.
	markCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	ids := make([]uuid.UUID, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	if err := r.outbox.MarkSent(markCtx, ids); err != nil {
		return fmt.Errorf("published %d events but could not mark them sent, so they will be published again: %w", len(ids), err)
	}

	topic, run := events[0].Topic, 0
	for _, e := range events {
		if e.Topic != topic {
			r.metrics.published.WithLabelValues(topic).Add(float64(run))
			topic, run = e.Topic, 0
		}
		run++
	}
	r.metrics.published.WithLabelValues(topic).Add(float64(run))
	return nil
}

// watchBacklog refreshes the backlog metrics until ctx ends, on every
// replica, leader or not.
func (r *Relay) watchBacklog(ctx context.Context) {
	for {
		count, oldest, err := r.outbox.Backlog(ctx)
		if err == nil {
			r.metrics.setBacklog(count, oldest)
		} else if ctx.Err() == nil {
			r.logger.Debug("outbox backlog unavailable", "err", err)
		}
		if dead, err := r.outbox.DeadLetterCount(ctx); err == nil {
			r.metrics.deadLetterRows.Set(float64(dead))
		} else if ctx.Err() == nil {
			r.logger.Debug("outbox dead letters uncounted", "err", err)
		}
		if !retry.Sleep(ctx, r.backlogInterval) {
			return
		}
	}
}

var (
	_ Outbox         = (*postgres.OutboxReader)(nil)
	_ EventPublisher = (*Publisher)(nil)
)
