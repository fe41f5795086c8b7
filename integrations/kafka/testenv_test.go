package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/zarish-sphere/zarish/integrations/postgres"
)

func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// startTestBroker starts an embedded broker on a free local port, closed when
// the test ends.
func startTestBroker(tb testing.TB) *Broker {
	tb.Helper()
	b, err := StartBroker("127.0.0.1:0", testLogger(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(b.Close)
	return b
}

// clinicalEvent is an event about patient; n orders a patient's events.
func clinicalEvent(patient string, n int) postgres.OutboxEvent {
	return postgres.OutboxEvent{
		ID:      uuid.Must(uuid.NewV7()),
		Topic:   TopicClinical,
		Key:     patient,
		Type:    "observation.recorded",
		Source:  "/v1/observations",
		Subject: fmt.Sprintf("observation/%d", n),
		Time:    time.Now(),
		Data:    json.RawMessage(fmt.Sprintf(`{"patientId":%q,"n":%d,"code":"8867-4","value":72,"unit":"/min"}`, patient, n)),
	}
}

// runningRelay is a relay running in the background of a test.
type runningRelay struct {
	relay    *Relay
	registry *prometheus.Registry
	cancel   context.CancelFunc
	done     chan error
	stopOnce sync.Once
}

// startRelay runs a relay from pool to the broker at addr until stop or the
// end of the test.
func startRelay(tb testing.TB, pool *pgxpool.Pool, addr string, opts ...RelayOption) *runningRelay {
	tb.Helper()
	reader := postgres.NewOutboxReader(pool)
	pub := NewPublisher([]string{addr}, testLogger(tb))
	relay := NewRelay(reader, pub, testLogger(tb), opts...)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(relay.Collectors()...)
	ctx, cancel := context.WithCancel(context.Background())
	rr := &runningRelay{relay: relay, registry: reg, cancel: cancel, done: make(chan error, 1)}
	go func() { rr.done <- relay.Run(ctx) }()
	tb.Cleanup(func() {
		rr.stop(tb)
		reader.Close()
		_ = pub.Close()
	})
	return rr
}

// stop cancels the relay and waits for Run to return nil; safe to call more
// than once.
func (rr *runningRelay) stop(tb testing.TB) {
	tb.Helper()
	rr.cancel()
	rr.stopOnce.Do(func() {
		select {
		case err := <-rr.done:
			if err != nil {
				tb.Errorf("relay Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			tb.Error("relay did not stop within 15s of cancel")
		}
	})
}

// metric sums the samples of the named metric.
func (rr *runningRelay) metric(tb testing.TB, name string) float64 {
	tb.Helper()
	families, err := rr.registry.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

// eventually polls cond every 20 ms until it holds or timeout passes.
func eventually(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// received is one message as a consumer sees it.
type received struct {
	Partition int
	Offset    int64
	Key       string
	Headers   map[string]string
	Event     CloudEvent
}

// collector reads every partition of a topic from the beginning, in the
// background, until stopped.
type collector struct {
	mu     sync.Mutex
	got    []received
	errs   []error
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func collect(tb testing.TB, addr, topic string) *collector {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{cancel: cancel}
	for p := range BrokerPartitions {
		r := kafkago.NewReader(kafkago.ReaderConfig{
			Brokers:   []string{addr},
			Topic:     topic,
			Partition: p,
			MinBytes:  1,
			MaxBytes:  10 << 20,
			MaxWait:   time.Second, // also the read deadline: room for a slow -race run
		})
		c.wg.Go(func() {
			defer r.Close()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					if ctx.Err() == nil {
						c.fail(fmt.Errorf("read partition %d: %w", p, err))
					}
					return
				}
				c.add(tb, m)
			}
		})
	}
	tb.Cleanup(c.stop)
	return c
}

func (c *collector) add(tb testing.TB, m kafkago.Message) {
	rec := received{Partition: m.Partition, Offset: m.Offset, Key: string(m.Key), Headers: map[string]string{}}
	for _, h := range m.Headers {
		rec.Headers[h.Key] = string(h.Value)
	}
	if err := json.Unmarshal(m.Value, &rec.Event); err != nil {
		c.fail(fmt.Errorf("message %d/%d is not a CloudEvent: %w: %s", m.Partition, m.Offset, err, m.Value))
		return
	}
	c.mu.Lock()
	c.got = append(c.got, rec)
	c.mu.Unlock()
}

func (c *collector) fail(err error) {
	c.mu.Lock()
	c.errs = append(c.errs, err)
	c.mu.Unlock()
}

// stop ends the readers; safe to call more than once.
func (c *collector) stop() {
	c.cancel()
	c.wg.Wait()
}

// messages returns what has arrived so far, per partition in offset order.
func (c *collector) messages(tb testing.TB) []received {
	tb.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := errors.Join(c.errs...); err != nil {
		tb.Fatal(err)
	}
	return slices.Clone(c.got)
}

// waitFor waits until every event in want has arrived, then a little longer
// so that anything published after them arrives too, and returns all
// messages.
func (c *collector) waitFor(tb testing.TB, timeout time.Duration, want ...postgres.OutboxEvent) []received {
	tb.Helper()
	missing := func() int {
		seen := map[string]bool{}
		for _, m := range c.messages(tb) {
			seen[m.Event.ID] = true
		}
		n := 0
		for _, e := range want {
			if !seen[e.ID.String()] {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(timeout)
	for n := missing(); n > 0; n = missing() {
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d events did not arrive within %v", n, len(want), timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	return c.messages(tb)
}

// dedupe keeps the first arrival of each event id, in arrival order per
// partition, as a consumer deduplicating on ce_id would.
func dedupe(msgs []received) []received {
	seen := map[string]bool{}
	var out []received
	for _, m := range msgs {
		id := m.Headers[HeaderID]
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, m)
	}
	return out
}

// byPatient groups messages by key, each group in offset order.
func byPatient(msgs []received) map[string][]received {
	out := map[string][]received{}
	for _, m := range msgs {
		out[m.Key] = append(out[m.Key], m)
	}
	for _, ms := range out {
		slices.SortFunc(ms, func(a, b received) int {
			if a.Partition != b.Partition {
				return a.Partition - b.Partition
			}
			return int(a.Offset - b.Offset)
		})
	}
	return out
}

// checkPatientOrder asserts each patient's events sit on one partition in the
// order they were written (their n).
func checkPatientOrder(tb testing.TB, msgs []received, written []postgres.OutboxEvent) {
	tb.Helper()
	order := map[string]int{}
	for i, e := range written {
		order[e.ID.String()] = i
	}
	for patient, ms := range byPatient(msgs) {
		for i, m := range ms {
			if m.Partition != ms[0].Partition {
				tb.Errorf("patient %s: events on partitions %d and %d", patient, ms[0].Partition, m.Partition)
			}
			if i > 0 && order[m.Event.ID] < order[ms[i-1].Event.ID] {
				tb.Errorf("patient %s: event %s (written #%d) at offset %d follows #%d",
					patient, m.Event.ID, order[m.Event.ID], m.Offset, order[ms[i-1].Event.ID])
			}
		}
	}
}
