package notify_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zarish-sphere/zarish/domain/notification"
	"github.com/zarish-sphere/zarish/integrations/kafka"
	"github.com/zarish-sphere/zarish/integrations/notify"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// env is a migrated database, an embedded broker and a publisher to it.
type env struct {
	store  *postgres.NotificationStore
	broker *kafka.Broker
	pub    *kafka.Publisher
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	pool := pgtest.NewPool(tb)
	b, err := kafka.StartBroker("127.0.0.1:0", testLogger(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(b.Close)
	pub := kafka.NewPublisher([]string{b.Addr()}, testLogger(tb))
	tb.Cleanup(func() { _ = pub.Close() })
	return &env{store: postgres.NewNotificationStore(pool), broker: b, pub: pub}
}

// publish writes events to the notifications topic.
func (e *env) publish(tb testing.TB, events ...postgres.OutboxEvent) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.pub.Publish(ctx, events); err != nil {
		tb.Fatal(err)
	}
}

// request builds a notification.requested event for channel and address.
func request(channel, address string) (postgres.OutboxEvent, notify.Requested) {
	r := notify.Requested{
		NotificationID: uuid.Must(uuid.NewV7()),
		AlertID:        uuid.Must(uuid.NewV7()),
		PatientID:      uuid.Must(uuid.NewV7()),
		Severity:       "critical",
		Category:       "lab-critical-value",
		Level:          1,
		Channel:        channel,
		Recipient:      notify.Recipient{PractitionerID: "prac-" + uuid.NewString()[:8], Name: "Dr. Rahman"},
		Address:        address,
		Subject:        "Critical potassium 6.8 mmol/L",
		Body:           "Bed 12: potassium 6.8 mmol/L. Acknowledge in the app.",
		CreatedAt:      time.Now().UTC().Truncate(time.Microsecond),
	}
	return event(notify.EventNotificationRequested, r.PatientID.String(), r), r
}

// event wraps data in an event of type typ for the notifications topic.
func event(typ, key string, data any) postgres.OutboxEvent {
	raw, err := json.Marshal(data)
	if err != nil {
		panic(err)
	}
	return postgres.OutboxEvent{
		ID:     uuid.Must(uuid.NewV7()),
		Topic:  kafka.TopicNotifications,
		Key:    key,
		Type:   typ,
		Source: "/v1/alerts",
		Time:   time.Now(),
		Data:   raw,
	}
}

// running is a dispatcher running in the background of a test.
type running struct {
	d        *notify.Dispatcher
	registry *prometheus.Registry
	cancel   context.CancelFunc
	done     chan error
	once     sync.Once
}

func (e *env) run(tb testing.TB, cfg notify.Config, opts ...notify.Option) *running {
	tb.Helper()
	opts = append([]notify.Option{notify.WithPollInterval(50 * time.Millisecond)}, opts...)
	d, err := notify.NewDispatcher(cfg, e.store, []string{e.broker.Addr()}, testLogger(tb), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(d.Collectors()...)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{d: d, registry: reg, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- d.Run(ctx) }()
	tb.Cleanup(func() { r.stop(tb) })
	return r
}

// stop cancels the dispatcher and checks Run returns nil promptly; safe to
// call more than once.
func (r *running) stop(tb testing.TB) {
	tb.Helper()
	r.cancel()
	r.once.Do(func() {
		select {
		case err := <-r.done:
			if err != nil {
				tb.Errorf("Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			tb.Error("dispatcher did not stop within 20s of cancel")
		}
	})
}

// metric sums the samples of the named metric whose labels include want.
func (r *running) metric(tb testing.TB, name string, want ...string) float64 {
	tb.Helper()
	families, err := r.registry.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(want); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					if l.GetName() == want[i] && l.GetValue() == want[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
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

// waitStatus waits until notification id has status, and returns it.
func (e *env) waitStatus(tb testing.TB, id uuid.UUID, status string) notification.Notification {
	tb.Helper()
	var n notification.Notification
	eventually(tb, 30*time.Second, "notification "+id.String()+" "+status, func() bool {
		var err error
		n, err = e.store.Get(context.Background(), id)
		return err == nil && n.Status == status
	})
	return n
}

func outcomes(n notification.Notification) []string {
	var out []string
	for _, a := range n.AttemptLog {
		out = append(out, a.Outcome)
	}
	return out
}
