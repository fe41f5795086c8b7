package kafka

import (
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

func TestRelayPublishesCommittedEventsInOrder(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	broker := startTestBroker(t)
	clinical := collect(t, broker.Addr(), TopicClinical)
	audit := collect(t, broker.Addr(), TopicAudit)
	relay := startRelay(t, pool, broker.Addr())

	patients := []string{"patient-a", "patient-b", "patient-c", "patient-d", "patient-e"}
	var written []postgres.OutboxEvent
	for i := range 10 {
		// One transaction per round, an event for each patient.
		var round []postgres.OutboxEvent
		for _, p := range patients {
			round = append(round, clinicalEvent(p, i))
		}
		if err := postgres.AppendOutbox(ctx, pool, round...); err != nil {
			t.Fatal(err)
		}
		written = append(written, round...)
	}
	// A transaction that fails after writing its first event rolls it back.
	ghost := clinicalEvent("patient-a", 99)
	unstorable := clinicalEvent("patient-a", 98)
	unstorable.Data = []byte("not json")
	if err := postgres.AppendOutbox(ctx, pool, ghost, unstorable); err == nil {
		t.Fatal("appending an unstorable event succeeded")
	}
	auditEvent := clinicalEvent("patient-a", 100)
	auditEvent.Topic, auditEvent.Type = TopicAudit, "patient.read"
	if err := postgres.AppendOutbox(ctx, pool, auditEvent); err != nil {
		t.Fatal(err)
	}

	got := clinical.waitFor(t, 30*time.Second, written...)
	if len(got) != len(written) {
		t.Fatalf("got %d clinical messages, want exactly the %d committed events", len(got), len(written))
	}
	for _, m := range got {
		if m.Event.ID == ghost.ID.String() {
			t.Fatalf("the rolled-back event %s was published", ghost.ID)
		}
	}
	checkPatientOrder(t, got, written)
	if n := len(byPatient(got)); n != len(patients) {
		t.Errorf("messages carry %d distinct keys, want one per patient (%d)", n, len(patients))
	}

	// Each message is the CloudEvent of its outbox row.
	want := map[string]postgres.OutboxEvent{}
	for _, e := range written {
		want[e.ID.String()] = e
	}
	for _, m := range got {
		e := want[m.Event.ID]
		ce := m.Event
		if m.Key != e.Key || ce.PartitionKey != e.Key {
			t.Errorf("event %s: key %q, partitionkey %q; want the patient id %q", ce.ID, m.Key, ce.PartitionKey, e.Key)
		}
		if ce.SpecVersion != "1.0" || ce.Type != e.Type || ce.Source != e.Source || ce.Subject != e.Subject ||
			ce.DataContentType != "application/json" || !ce.Time.Equal(e.Time.Truncate(time.Microsecond)) {
			t.Errorf("event %s: envelope %+v does not match the outbox row %+v", ce.ID, ce, e)
		}
		// jsonb keeps the document, not its bytes: compare the values.
		var gotData, wantData any
		if err := json.Unmarshal(ce.Data, &gotData); err != nil {
			t.Fatalf("event %s: data: %v", ce.ID, err)
		}
		_ = json.Unmarshal(e.Data, &wantData)
		if !reflect.DeepEqual(gotData, wantData) {
			t.Errorf("event %s: data %s, want %s", ce.ID, ce.Data, e.Data)
		}
		if m.Headers[HeaderID] != ce.ID || m.Headers[HeaderType] != e.Type || m.Headers[HeaderContentType] != ContentType {
			t.Errorf("event %s: headers %v", ce.ID, m.Headers)
		}
	}

	if a := audit.waitFor(t, 10*time.Second, auditEvent); len(a) != 1 || a[0].Event.Type != "patient.read" {
		t.Errorf("audit topic got %+v, want the one audit event", a)
	}
	eventually(t, 5*time.Second, "published counter to reach 51", func() bool {
		return relay.metric(t, "zarish_outbox_published_events_total") == 51
	})
	if n := relay.metric(t, "zarish_outbox_publish_errors_total"); n != 0 {
		t.Errorf("publish errors = %v with Kafka up", n)
	}
	if n := relay.metric(t, "zarish_outbox_relay_leader"); n != 1 {
		t.Errorf("leader gauge = %v, want 1", n)
	}
}

func TestRelayDeliversEverythingAcrossKafkaOutage(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	first := startTestBroker(t)
	addr := first.Addr()
	relay := startRelay(t, pool, addr, WithMaxBackoff(500*time.Millisecond), WithBacklogInterval(100*time.Millisecond))

	patients := []string{"patient-a", "patient-b", "patient-c"}
	var before, during []postgres.OutboxEvent
	for i := range 21 {
		before = append(before, clinicalEvent(patients[i%3], i))
	}
	if err := postgres.AppendOutbox(ctx, pool, before...); err != nil {
		t.Fatal(err)
	}
	c1 := collect(t, addr, TopicClinical)
	gotBefore := c1.waitFor(t, 30*time.Second, before...)
	c1.stop()

	// Kafka goes away. Writes still commit; the relay keeps failing and
	// the backlog grows.
	first.Close()
	for i := 21; i < 60; i++ {
		e := clinicalEvent(patients[i%3], i)
		if err := postgres.AppendOutbox(ctx, pool, e); err != nil {
			t.Fatalf("write while Kafka is down: %v", err)
		}
		during = append(during, e)
	}
	eventually(t, 20*time.Second, "publish errors and a backlog of the outage's events", func() bool {
		return relay.metric(t, "zarish_outbox_publish_errors_total") >= 2 &&
			relay.metric(t, "zarish_outbox_backlog_events") == float64(len(during)) &&
			relay.metric(t, "zarish_outbox_oldest_unsent_seconds") > 0
	})

	// Kafka comes back (empty: the embedded broker kept nothing) on the
	// same address, and the backlog drains.
	second, err := StartBroker(addr, testLogger(t))
	if err != nil {
		t.Fatalf("restart the broker on %s: %v", addr, err)
	}
	defer second.Close()
	c2 := collect(t, addr, TopicClinical)
	gotDuring := c2.waitFor(t, 60*time.Second, during...)
	checkPatientOrder(t, dedupe(gotDuring), during)

	// After dedupe on the event id, each event arrived exactly once.
	all := append(append([]postgres.OutboxEvent{}, before...), during...)
	delivered := dedupe(append(gotBefore, gotDuring...))
	if len(delivered) != len(all) {
		t.Fatalf("%d distinct events delivered, want %d", len(delivered), len(all))
	}
	ids := map[string]bool{}
	for _, e := range all {
		ids[e.ID.String()] = true
	}
	for _, m := range delivered {
		if !ids[m.Event.ID] {
			t.Errorf("unexpected event %s delivered", m.Event.ID)
		}
	}
	eventually(t, 10*time.Second, "the backlog to drain", func() bool {
		return relay.metric(t, "zarish_outbox_backlog_events") == 0 &&
			relay.metric(t, "zarish_outbox_oldest_unsent_seconds") == 0
	})
}

func TestOnlyOneRelayPublishes(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.NewDatabase(t)
	poolA, poolB := connectTest(t, dsn), connectTest(t, dsn)
	broker := startTestBroker(t)
	c := collect(t, broker.Addr(), TopicClinical)
	a := startRelay(t, poolA, broker.Addr())
	b := startRelay(t, poolB, broker.Addr())

	leaders := func() float64 {
		return a.metric(t, "zarish_outbox_relay_leader") + b.metric(t, "zarish_outbox_relay_leader")
	}
	eventually(t, 10*time.Second, "a leader", func() bool { return leaders() == 1 })
	leader, follower := a, b
	if b.metric(t, "zarish_outbox_relay_leader") == 1 {
		leader, follower = b, a
	}

	var first []postgres.OutboxEvent
	for i := range 30 {
		e := clinicalEvent("patient-a", i)
		if err := postgres.AppendOutbox(ctx, poolA, e); err != nil {
			t.Fatal(err)
		}
		first = append(first, e)
	}
	got := c.waitFor(t, 30*time.Second, first...)
	if len(got) != len(first) {
		t.Fatalf("got %d messages for %d events: more than one relay published", len(got), len(first))
	}
	checkPatientOrder(t, got, first)
	if n := follower.metric(t, "zarish_outbox_published_events_total"); n != 0 {
		t.Fatalf("the follower published %v events", n)
	}
	if leaders() != 1 {
		t.Fatalf("%v relays lead at once", leaders())
	}

	// When the leader stops, the follower takes over.
	leader.stop(t)
	var second []postgres.OutboxEvent
	for i := 30; i < 40; i++ {
		e := clinicalEvent("patient-a", i)
		if err := postgres.AppendOutbox(ctx, poolB, e); err != nil {
			t.Fatal(err)
		}
		second = append(second, e)
	}
	got = c.waitFor(t, 30*time.Second, second...)
	if len(got) != len(first)+len(second) {
		t.Fatalf("got %d messages for %d events", len(got), len(first)+len(second))
	}
	checkPatientOrder(t, got, append(first, second...))
	if n := follower.metric(t, "zarish_outbox_published_events_total"); n != float64(len(second)) {
		t.Errorf("the new leader published %v events, want %d", n, len(second))
	}
}

// A transaction that takes its place in the outbox first but commits last is
// still published: the relay reads unsent rows, not rows after the last one
// it saw.
func TestRelayPublishesLateCommittedEvent(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	broker := startTestBroker(t)
	c := collect(t, broker.Addr(), TopicClinical)
	startRelay(t, pool, broker.Addr())

	slow, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback(context.Background())
	early := clinicalEvent("patient-a", 1)
	if err := postgres.AppendOutbox(ctx, slow, early); err != nil {
		t.Fatal(err)
	}

	later := clinicalEvent("patient-b", 2)
	if err := postgres.AppendOutbox(ctx, pool, later); err != nil {
		t.Fatal(err)
	}
	if got := c.waitFor(t, 30*time.Second, later); len(got) != 1 {
		t.Fatalf("before the slow commit, got %d messages, want only the committed one", len(got))
	}

	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got := c.waitFor(t, 30*time.Second, early)
	if len(got) != 2 || got[1].Event.ID != early.ID.String() {
		t.Fatalf("after the slow commit got %+v, want the late event published last", got)
	}
}

// The relay reacts to a commit at once rather than at its next poll.
func TestRelayWakesOnCommit(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	broker := startTestBroker(t)
	c := collect(t, broker.Addr(), TopicClinical)
	relay := startRelay(t, pool, broker.Addr(), WithPollInterval(time.Minute))
	eventually(t, 10*time.Second, "the relay to lead", func() bool {
		return relay.metric(t, "zarish_outbox_relay_leader") == 1
	})
	// Let it finish its first empty pass and start waiting.
	time.Sleep(500 * time.Millisecond)

	e := clinicalEvent("patient-a", 1)
	start := time.Now()
	if err := postgres.AppendOutbox(ctx, pool, e); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, 20*time.Second, e)
	if d := time.Since(start) - 300*time.Millisecond; d > 5*time.Second {
		t.Errorf("event took %v to arrive with a one-minute poll interval", d)
	}
}

func connectTest(tb testing.TB, dsn string) *pgxpool.Pool {
	tb.Helper()
	logger := slog.New(slog.DiscardHandler)
	pool, err := postgres.Connect(context.Background(), postgres.PoolConfig{URL: dsn, MaxConns: 4}, logger)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	if err := postgres.Migrate(context.Background(), pool, logger); err != nil {
		tb.Fatal(err)
	}
	return pool
}
