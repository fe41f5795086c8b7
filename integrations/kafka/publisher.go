package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// DefaultBatchSize is how many events the relay reads per batch and the
// publisher sends per write. Writes of a thousand messages reach about 100k
// messages/s against the embedded broker; a synchronous single-message write
// pays the Writer's batch timeout every time.
const DefaultBatchSize = 1000

// maxBatchBytes keeps each write's record batch for a partition under Kafka's
// default 1 MiB message.max.bytes.
const maxBatchBytes = 1_000_000

// clientID names the engine in broker logs and quotas.
const clientID = "zarish"

// Publisher writes outbox events to Kafka as CloudEvents, keyed by patient id.
//
// The kafka-go Writer's defaults do not suit an outbox: it would wait a second
// per synchronous write, not wait for acknowledgements and spread a patient's
// events over partitions round-robin. Publisher waits for all in-sync
// replicas, hashes the key to choose the partition, flushes after 5 ms and
// expects whole batches. kafka-go has no idempotent producer, so a retried
// write may duplicate messages; consumers dedupe on the event id.
type Publisher struct {
	brokers   []string
	security  Security
	writer    *kafkago.Writer
	transport *kafkago.Transport
	logger    *slog.Logger
}

// PublisherOption configures NewPublisher.
type PublisherOption func(*Publisher)

// WithSecurity has the publisher connect with s (TLS, SASL); plaintext
// without it.
func WithSecurity(s Security) PublisherOption {
	return func(p *Publisher) { p.security = s }
}

// NewPublisher returns a publisher to the cluster reachable at brokers
// (host:port each). Topics must exist: it never creates them.
func NewPublisher(brokers []string, logger *slog.Logger, opts ...PublisherOption) *Publisher {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "kafka-publisher")
	p := &Publisher{brokers: brokers, logger: logger}
	for _, o := range opts {
		o(p)
	}
	transport := p.security.Transport()
	p.transport = transport
	p.writer = &kafkago.Writer{
		Addr:                   kafkago.TCP(brokers...),
		Balancer:               &kafkago.Hash{},
		RequiredAcks:           kafkago.RequireAll,
		BatchSize:              DefaultBatchSize,
		BatchBytes:             maxBatchBytes,
		BatchTimeout:           5 * time.Millisecond,
		MaxAttempts:            3, // then the relay backs off and retries
		WriteBackoffMin:        100 * time.Millisecond,
		WriteBackoffMax:        time.Second,
		ReadTimeout:            10 * time.Second,
		WriteTimeout:           10 * time.Second,
		AllowAutoTopicCreation: false,
		Transport:              transport,
		ErrorLogger: kafkago.LoggerFunc(func(msg string, args ...any) {
			logger.Debug(fmt.Sprintf(msg, args...))
		}),
	}
	return p
}

// Publish writes events and returns once every one is acknowledged, or an
// error if any is not (some may have been written: retrying the whole batch
// is safe because consumers dedupe). A batch is sent in one write; one too
// large for a single produce request is split, in order, and the first failed
// part ends the call, so the events of a key never overtake one another.
func (p *Publisher) Publish(ctx context.Context, events []postgres.OutboxEvent) error {
	msgs := make([]kafkago.Message, len(events))
	for i, e := range events {
		m, err := newMessage(e)
		if err != nil {
			return err
		}
		msgs[i] = m
	}
	for start := 0; start < len(msgs); {
		end := chunkEnd(msgs, start, p.writer.BatchSize, maxBatchBytes)
		if err := p.writer.WriteMessages(ctx, msgs[start:end]...); err != nil {
			return fmt.Errorf("publish %d events: %w", end-start, firstWriteError(err))
		}
		start = end
	}
	return nil
}

// chunkEnd returns the end of the longest run of msgs from start that the
// Writer sends as a single record batch per partition: at most maxCount
// messages and maxBytes bytes (at least one message).
func chunkEnd(msgs []kafkago.Message, start, maxCount, maxBytes int) int {
	end, size := start, 0
	for end < len(msgs) && end-start < maxCount {
		n := messageSize(msgs[end])
		if end > start && size+n > maxBytes {
			break
		}
		size += n
		end++
	}
	return end
}

// messageSize over-estimates the bytes the Writer counts for m against
// BatchBytes.
func messageSize(m kafkago.Message) int {
	n := 64 + len(m.Key) + len(m.Value)
	for _, h := range m.Headers {
		n += 10 + len(h.Key) + len(h.Value)
	}
	return n
}

// firstWriteError reduces kafka-go's per-message WriteErrors to a count and
// the first cause.
func firstWriteError(err error) error {
	var werrs kafkago.WriteErrors
	if !errors.As(err, &werrs) {
		return err
	}
	for _, e := range werrs {
		if e != nil {
			return fmt.Errorf("%d of %d messages failed: %w", werrs.Count(), len(werrs), e)
		}
	}
	return err
}

// Ping asks the cluster for the metadata of every topic in Topics and reports
// an error if no broker answers or a topic is missing; for /ready.
func (p *Publisher) Ping(ctx context.Context) error {
	// A fresh transport: the writer's serves metadata from its cache.
	transport := p.security.Transport()
	defer transport.CloseIdleConnections()
	client := &kafkago.Client{Addr: kafkago.TCP(p.brokers...), Timeout: 5 * time.Second, Transport: transport}
	md, err := client.Metadata(ctx, &kafkago.MetadataRequest{Topics: Topics})
	if err != nil {
		return fmt.Errorf("kafka metadata: %w", err)
	}
	var errs []error
	for _, t := range md.Topics {
		if t.Error != nil {
			errs = append(errs, fmt.Errorf("topic %s: %w", t.Name, t.Error))
		}
	}
	if len(md.Topics) < len(Topics) {
		errs = append(errs, fmt.Errorf("kafka metadata lists %d of %d topics", len(md.Topics), len(Topics)))
	}
	return errors.Join(errs...)
}

// Close flushes pending writes and closes the publisher's connections.
func (p *Publisher) Close() error {
	err := p.writer.Close()
	p.transport.CloseIdleConnections()
	if err != nil {
		return fmt.Errorf("close kafka writer: %w", err)
	}
	return nil
}
