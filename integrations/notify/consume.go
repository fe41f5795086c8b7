package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/zarish-sphere/zarish/integrations/kafka"
	"github.com/zarish-sphere/zarish/integrations/retry"
)

// consume reads topic as a member of group, over connections secured by
// sec (TLS, SASL: the zero value is plaintext), and hands each
// message to handle, committing it only once handle has returned nil: none
// is lost, and one read twice is handled twice, so handlers are idempotent.
// A message handle fails is retried with backoff, holding up its partition
// (of this group alone), until handle succeeds or ctx ends; a handler skips
// what it can never handle by returning nil.
func consume(ctx context.Context, brokers []string, sec kafka.Security, topic, group string, logger *slog.Logger,
	handle func(ctx context.Context, m kafkago.Message) error) {
	r := sec.NewReader(kafkago.ReaderConfig{
		Brokers:        brokers,
		GroupID:        group,
		Topic:          topic,
		StartOffset:    kafkago.FirstOffset,
		MinBytes:       1,
		MaxBytes:       10 << 20,
		MaxWait:        time.Second,
		CommitInterval: 0, // commit synchronously, after the handler has the message
		ErrorLogger: kafkago.LoggerFunc(func(msg string, args ...any) {
			logger.Debug("kafka reader: " + fmt.Sprintf(msg, args...))
		}),
	})
	defer r.Close()
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			logger.Warn("read a topic", "topic", topic, "group", group, "err", err)
			if !retry.Sleep(ctx, time.Second) {
				return
			}
			continue
		}
		for wait := 100 * time.Millisecond; ; wait = min(2*wait, 10*time.Second) {
			err := handle(ctx, m)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return // not committed: read again after a restart
			}
			logger.Warn("handle message; retrying", "group", group, "partition", m.Partition, "offset", m.Offset, "err", err)
			if !retry.Sleep(ctx, wait) {
				return
			}
		}
		if err := r.CommitMessages(ctx, m); err != nil {
			if ctx.Err() != nil {
				return
			}
			// Handled; if it is read again, handling it again changes nothing.
			logger.Warn("commit message", "group", group, "partition", m.Partition, "offset", m.Offset, "err", err)
		}
	}
}

// eventOf decodes a message's CloudEvent and its type (the ce_type header,
// else the envelope's).
func eventOf(m kafkago.Message) (kafka.CloudEvent, string, error) {
	var ev kafka.CloudEvent
	if err := json.Unmarshal(m.Value, &ev); err != nil {
		return ev, "", err
	}
	typ := header(m, kafka.HeaderType)
	if typ == "" {
		typ = ev.Type
	}
	return ev, typ, nil
}
