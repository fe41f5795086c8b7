package notify_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/integrations/kafka"
	"github.com/zarish-sphere/zarish/integrations/notify"
	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// TestConsumersReadThroughSASL: against a broker that authenticates every
// client, a consumer given the credentials reads the clinical events, and
// one without them reads nothing.
func TestConsumersReadThroughSASL(t *testing.T) {
	b, err := kafka.StartBroker("127.0.0.1:0", testLogger(t), kafka.WithSASLUser(kafka.SASLSCRAMSHA256, "worker", "right-password"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sec, err := kafka.NewSecurity(nil, kafka.SASLSCRAMSHA256, "worker", "right-password")
	if err != nil {
		t.Fatal(err)
	}
	pub := kafka.NewPublisher([]string{b.Addr()}, testLogger(t), kafka.WithSecurity(sec))
	defer pub.Close()
	patient := uuid.Must(uuid.NewV7())
	ev := event(observation.EventCritical, patient.String(), observation.EventData{ID: uuid.Must(uuid.NewV7()), Version: 1,
		PatientID: patient, Code: observation.CodePotassium, Status: observation.StatusFinal, EffectiveAt: time.Now().UTC().Truncate(time.Second)})
	ev.Topic, ev.Source = kafka.TopicClinical, "/v1/observations"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := pub.Publish(ctx, []postgres.OutboxEvent{ev}); err != nil {
		t.Fatal(err)
	}

	run := func(c *notify.ObservationConsumer, a *alerter, wait time.Duration) {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		for ctx.Err() == nil && len(a.all()) == 0 {
			time.Sleep(50 * time.Millisecond)
		}
		cancel()
		<-done
	}
	without := &alerter{}
	run(notify.NewObservationConsumer([]string{b.Addr()}, without, testLogger(t)), without, 3*time.Second)
	if got := without.all(); len(got) != 0 {
		t.Fatalf("a consumer without credentials read %v", got)
	}
	with := &alerter{}
	run(notify.NewObservationConsumer([]string{b.Addr()}, with, testLogger(t)).WithKafkaSecurity(sec), with, 30*time.Second)
	if got := with.all(); len(got) != 1 || got[0] != "critical 2823-3" {
		t.Fatalf("the consumer with credentials asked %v", got)
	}
}
