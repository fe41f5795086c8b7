package kafka

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/zarish-sphere/zarish/integrations/postgres"
)

func TestBrokerCreatesTopicsUpFront(t *testing.T) {
	b := startTestBroker(t)
	conn, err := kafkago.DialContext(t.Context(), "tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	parts, err := conn.ReadPartitions(Topics...)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, p := range parts {
		count[p.Topic]++
		if net.JoinHostPort(p.Leader.Host, strconv.Itoa(p.Leader.Port)) != b.Addr() {
			t.Errorf("%s/%d led by %s:%d, want %s", p.Topic, p.ID, p.Leader.Host, p.Leader.Port, b.Addr())
		}
	}
	for _, topic := range Topics {
		if count[topic] != BrokerPartitions {
			t.Errorf("topic %s has %d partitions, want %d", topic, count[topic], BrokerPartitions)
		}
	}
}

// A consumer group (join, sync, fetch, offset commit) works against the
// broker, and a new member resumes after the committed offsets.
func TestBrokerServesConsumerGroups(t *testing.T) {
	ctx := t.Context()
	b := startTestBroker(t)
	pub := NewPublisher([]string{b.Addr()}, testLogger(t))
	defer pub.Close()

	var events []postgres.OutboxEvent
	for i := range 10 {
		events = append(events, clinicalEvent([]string{"patient-a", "patient-b", "patient-c"}[i%3], i))
	}
	if err := pub.Publish(ctx, events); err != nil {
		t.Fatal(err)
	}

	readGroup := func(n int) []string {
		t.Helper()
		r := kafkago.NewReader(kafkago.ReaderConfig{
			Brokers:     []string{b.Addr()},
			GroupID:     "zarish-test",
			Topic:       TopicClinical,
			StartOffset: kafkago.FirstOffset,
			MaxBytes:    10 << 20,
			MinBytes:    1,
			MaxWait:     time.Second,
		})
		defer r.Close()
		readCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		var ids []string
		for len(ids) < n {
			m, err := r.ReadMessage(readCtx) // commits as it reads
			if err != nil {
				t.Fatalf("group read after %d of %d messages: %v", len(ids), n, err)
			}
			ids = append(ids, headerValue(m, HeaderID))
		}
		return ids
	}

	got := readGroup(len(events))
	seen := map[string]bool{}
	for _, id := range got {
		seen[id] = true
	}
	for _, e := range events {
		if !seen[e.ID.String()] {
			t.Errorf("event %s not consumed by the group", e.ID)
		}
	}

	next := clinicalEvent("patient-a", 10)
	if err := pub.Publish(ctx, []postgres.OutboxEvent{next}); err != nil {
		t.Fatal(err)
	}
	if got := readGroup(1); got[0] != next.ID.String() {
		t.Errorf("a new group member read %s first, want the one event after the committed offsets (%s)", got[0], next.ID)
	}
}

func TestBrokerWithDataDirKeepsMessagesAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	first, err := StartBroker("127.0.0.1:0", testLogger(t), WithDataDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	pub := NewPublisher([]string{first.Addr()}, testLogger(t))
	e := clinicalEvent("patient-a", 1)
	if err := pub.Publish(t.Context(), []postgres.OutboxEvent{e}); err != nil {
		t.Fatal(err)
	}
	_ = pub.Close()
	first.Close()

	second, err := StartBroker("127.0.0.1:0", testLogger(t), WithDataDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	c := collect(t, second.Addr(), TopicClinical)
	if got := c.waitFor(t, 30*time.Second, e); len(got) != 1 {
		t.Fatalf("after restart got %d messages, want the 1 published before", len(got))
	}
}

func TestBrokerOnWildcardAddressAdvertisesLoopback(t *testing.T) {
	b, err := StartBroker("0.0.0.0:0", testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !strings.HasPrefix(b.Addr(), "127.0.0.1:") {
		t.Fatalf("Addr() = %s, want a loopback address clients can reach", b.Addr())
	}
	pub := NewPublisher([]string{b.Addr()}, testLogger(t))
	defer pub.Close()
	if err := pub.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func TestStartBrokerRejectsBadAddresses(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, addr := range []string{"9092", "127.0.0.1:port", "127.0.0.1:70000", taken.Addr().String()} {
		if b, err := StartBroker(addr, testLogger(t)); err == nil {
			b.Close()
			t.Errorf("StartBroker(%q) succeeded", addr)
		}
	}
}

func headerValue(m kafkago.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
