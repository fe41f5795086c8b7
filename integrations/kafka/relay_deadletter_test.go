package kafka

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/outbox"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// bigEvent is an event about patient whose data is about n bytes.
func bigEvent(patient string, n int) postgres.OutboxEvent {
	e := clinicalEvent(patient, -1)
	e.Type = "note.created"
	e.Data = json.RawMessage(fmt.Sprintf(`{"id":%q,"patientId":%q,"text":%q}`, e.ID, patient, strings.Repeat("x", n)))
	return e
}

// One event the broker refuses (over its message limit) and one the writer
// cannot send at all (over a megabyte, stored behind the writers' cap) are
// moved to the dead letters; every event written before, between and after
// them is delivered, in each patient's order, and the backlog drains.
func TestRelayDeadLettersRefusedEventsAndDeliversTheRest(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	broker, err := StartBroker("127.0.0.1:0", testLogger(t), WithMaxMessageBytes(64<<10))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broker.Close)
	c := collect(t, broker.Addr(), TopicClinical)

	patients := []string{"patient-a", "patient-b", "patient-c"}
	var written []postgres.OutboxEvent
	for i := range 9 {
		written = append(written, clinicalEvent(patients[i%3], i))
	}
	// Refused by the broker: 100 KB is under the writers' cap, over the
	// broker's limit. In the same transaction as events before and after it.
	refused := bigEvent("patient-a", 100<<10)
	batch := append(append(append([]postgres.OutboxEvent{}, written[:4]...), refused), written[4:]...)
	if err := postgres.AppendOutbox(ctx, pool, batch...); err != nil {
		t.Fatal(err)
	}
	// Over a megabyte: no writer stores that any more (the cap turns it
	// into a reference), so it is inserted as a row from before the cap.
	huge := bigEvent("patient-b", 1_100_000)
	if _, err := pool.Exec(ctx, `
		INSERT INTO outbox (id, topic, key, type, source, subject, time, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		huge.ID, huge.Topic, huge.Key, huge.Type, huge.Source, huge.Subject, huge.Time, huge.Data); err != nil {
		t.Fatal(err)
	}
	var after []postgres.OutboxEvent
	for i := 9; i < 15; i++ {
		after = append(after, clinicalEvent(patients[i%3], i))
	}
	if err := postgres.AppendOutbox(ctx, pool, after...); err != nil {
		t.Fatal(err)
	}
	written = append(written, after...)

	relay := startRelay(t, pool, broker.Addr(), WithMaxBackoff(200*time.Millisecond), WithBacklogInterval(100*time.Millisecond))
	got := dedupe(c.waitFor(t, 30*time.Second, written...))
	for _, m := range got {
		if m.Event.ID == refused.ID.String() || m.Event.ID == huge.ID.String() {
			t.Fatalf("refused event %s was published", m.Event.ID)
		}
	}
	if len(got) != len(written) {
		t.Fatalf("got %d events, want the %d deliverable ones", len(got), len(written))
	}
	checkPatientOrder(t, got, written)

	eventually(t, 10*time.Second, "the backlog to drain and two dead letters counted", func() bool {
		return relay.metric(t, "zarish_outbox_backlog_events") == 0 &&
			relay.metric(t, "zarish_outbox_dead_letters_total") == 2 &&
			relay.metric(t, "zarish_outbox_dead_letter_events") == 2
	})

	page, err := postgres.NewDeadLetterStore(pool).List(ctx, outbox.DeadLetterFilter{Status: outbox.StatusDead})
	if err != nil {
		t.Fatal(err)
	}
	dead := map[uuid.UUID]outbox.DeadLetter{}
	for _, d := range page.DeadLetters {
		dead[d.ID] = d
	}
	for _, e := range []postgres.OutboxEvent{refused, huge} {
		d, ok := dead[e.ID]
		if !ok {
			t.Fatalf("event %s is not among the dead letters %+v", e.ID, page.DeadLetters)
		}
		if d.Topic != TopicClinical || d.Key != e.Key || d.Type != e.Type || d.Attempts < 2 || d.Size < len(e.Data) ||
			!strings.Contains(strings.ToLower(d.Error), "too large") || d.FailedAt.IsZero() {
			t.Errorf("dead letter %+v", d)
		}
	}
}
