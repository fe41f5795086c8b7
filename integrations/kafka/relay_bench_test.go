package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// BenchmarkRelay measures how fast the relay drains a backlog of 20,000
// outbox rows (about 300 bytes of CloudEvent each) to the embedded broker:
// read, publish with acks from all replicas, mark sent.
func BenchmarkRelay(b *testing.B) {
	const backlog = 20_000
	ctx := context.Background()
	pool := pgtest.NewPool(b)
	broker := startTestBroker(b)
	reader := postgres.NewOutboxReader(pool)
	defer reader.Close()
	pub := NewPublisher([]string{broker.Addr()}, nil)
	defer pub.Close()

	patients := make([]string, 500)
	for i := range patients {
		patients[i] = fmt.Sprintf("0190f5a4-0000-7000-8000-%012d", i)
	}
	published := 0
	for b.Loop() {
		b.StopTimer()
		batch := make([]postgres.OutboxEvent, 0, 1000)
		for i := range backlog {
			e := clinicalEvent(patients[i%len(patients)], i)
			e.Data = json.RawMessage(fmt.Sprintf(`{"patientId":%q,"code":"8867-4","value":%d,"unit":"/min"}`, e.Key, 60+i%40))
			batch = append(batch, e)
			if len(batch) == cap(batch) {
				if err := postgres.AppendOutbox(ctx, pool, batch...); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		relay := NewRelay(reader, pub, nil)
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		b.StartTimer()

		go func() { done <- relay.Run(runCtx) }()
		for {
			n, _, err := reader.Backlog(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if n == 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}

		b.StopTimer()
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		published += backlog
		b.StartTimer()
	}
	rate := float64(published) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "events/s")
	b.Logf("drained %d outbox rows in %v: %.0f events/s", published, b.Elapsed().Round(time.Millisecond), rate)
}
