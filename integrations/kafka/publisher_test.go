package kafka

import (
	"context"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/zarish-sphere/zarish/integrations/postgres"
)

func TestChunkEndKeepsEachWriteToOneBatchPerPartition(t *testing.T) {
	msg := func(n int) kafkago.Message { return kafkago.Message{Value: []byte(strings.Repeat("x", n))} }
	small := []kafkago.Message{msg(10), msg(10), msg(10), msg(10), msg(10)}
	tests := []struct {
		name     string
		msgs     []kafkago.Message
		start    int
		maxCount int
		maxBytes int
		want     int
	}{
		{"all fit", small, 0, 1000, 1 << 20, 5},
		{"count bound", small, 0, 2, 1 << 20, 2},
		{"count bound from the middle", small, 2, 2, 1 << 20, 4},
		{"byte bound", small, 0, 1000, 2 * messageSize(small[0]), 2},
		{"an oversized message goes alone", []kafkago.Message{msg(2000), msg(1)}, 0, 1000, 1000, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := chunkEnd(tt.msgs, tt.start, tt.maxCount, tt.maxBytes); got != tt.want {
				t.Errorf("chunkEnd = %d, want %d", got, tt.want)
			}
		})
	}
}

// A batch larger than one produce request still arrives whole and in order.
func TestPublishSplitsLargeBatchesInOrder(t *testing.T) {
	b := startTestBroker(t)
	c := collect(t, b.Addr(), TopicClinical)
	pub := NewPublisher([]string{b.Addr()}, testLogger(t))
	defer pub.Close()

	var events []postgres.OutboxEvent
	for i := range 3000 {
		e := clinicalEvent("patient-a", i)
		e.Data = []byte(`{"note":"` + strings.Repeat("x", 900) + `"}`) // ~2.7 MB in all
		events = append(events, e)
	}
	if err := pub.Publish(t.Context(), events); err != nil {
		t.Fatal(err)
	}
	got := c.waitFor(t, 60*time.Second, events...)
	if len(got) != len(events) {
		t.Fatalf("got %d messages, want %d", len(got), len(events))
	}
	checkPatientOrder(t, got, events)
}

func TestPublishRefusesUnknownTopic(t *testing.T) {
	b := startTestBroker(t)
	pub := NewPublisher([]string{b.Addr()}, testLogger(t))
	defer pub.Close()
	e := clinicalEvent("patient-a", 1)
	e.Topic = "zarish.unknown.v1"
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := pub.Publish(ctx, []postgres.OutboxEvent{e}); err == nil {
		t.Fatal("publishing to a topic that does not exist succeeded")
	}
}

func TestPingReportsBrokerState(t *testing.T) {
	b := startTestBroker(t)
	pub := NewPublisher([]string{b.Addr()}, testLogger(t))
	defer pub.Close()
	if err := pub.Ping(t.Context()); err != nil {
		t.Fatalf("Ping with the broker up: %v", err)
	}
	b.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := pub.Ping(ctx); err == nil {
		t.Fatal("Ping with the broker down succeeded")
	}
}
